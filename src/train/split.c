/* train/split: the arithmetic of data-parallel training, free of MPI so the unit tests run it under the
 * sanitizers: which images of a batch a rank takes, how the gradient block is cut into allreduce buckets
 * as the backward pass completes it, and how many threads a rank gets. dist.c does the MPI side. */
#include "train_internal.h"

void dist_slice(long n, int size, int rank, long *lo, long *hi)
{
    long base = n / size, extra = n % size;
    *lo = rank * base + (rank < extra ? rank : extra);
    *hi = *lo + base + (rank < extra);
}

int dist_threads_per_rank(int cores, int local_ranks)
{
    if (local_ranks < 1)
        local_ranks = 1;
    int per = cores / local_ranks;
    return per > 0 ? per : 1;
}

void grad_buckets_begin(grad_buckets *b, size_t total, size_t cap)
{
    b->cap = cap > 0 ? cap : 1;
    b->unsent = total;
}

size_t grad_buckets_ready(grad_buckets *b, size_t from, size_t *off)
{
    if (from >= b->unsent || (b->unsent - from < b->cap && from > 0))
        return 0; /* nothing new, or too little to be worth a message yet (the rest of the block flushes it) */
    size_t count = b->unsent - from;
    *off = from;
    b->unsent = from;
    return count;
}

double train_ring_seconds(double bytes, int ranks, double gbit_s, double latency)
{
    if (ranks < 2)
        return 0;
    double steps = 2.0 * (ranks - 1);
    return steps * (bytes / ranks / (gbit_s * 1e9 / 8) + latency);
}

const train_link_model train_link_assumed = {1.0, 2.0 / 3.0, 25e-6};
/* Fitted by tests/tools/fit_dist.py to tests/tools/multihost_links.sh's runs (docs/SCALING.md has the table):
 * the ring moved 42% of the shaped rate, and nothing of it hid behind the backward pass (Open MPI has no
 * progress thread, and the ranks shared 2 cores). The hop stays 25 us: cables with a delay
 * (tests/tools/wire.c) showed a ring hop costing about twice the one-way delay, so this is a cable of about
 * 12 us one way (docs/SCALING.md, "Latency"). */
const train_link_model train_link_fitted = {0.42, 0.0, 25e-6};

double train_dist_efficiency(double step, double bytes, int ranks, double gbit_s, const train_link_model *m)
{
    double exposed = train_ring_seconds(bytes, ranks, m->share * gbit_s, m->hop) - m->overlap * step;
    return step / (step + (exposed > 0 ? exposed : 0));
}
