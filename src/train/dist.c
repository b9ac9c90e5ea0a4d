/* train/dist: data-parallel training over Open MPI. A process started by mpirun (OMPI_COMM_WORLD_SIZE set)
 * is one rank of N; every other process never initialises MPI. MPI is initialised on the main thread at
 * MPI_THREAD_SERIALIZED (the engine thread then makes every MPI call while the main thread makes none,
 * and the main thread finalises after joining it), and every collective is non-blocking and waited for by
 * polling with a deadline, so a dead or hung rank ends the run with one line instead of a hang.
 *
 * The gradient allreduce is bucketed and overlapped with the backward pass: nn calls grads_ready as each
 * layer's gradients are final; a bucket (split.c) goes out as a non-blocking MPI_Iallreduce at once, and
 * each later call drives Open MPI's progress (it has no progress thread) while the earlier layers run. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <mpi.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "dist_shm.h"
#include "train_internal.h"

#define DIST_MAX_REQ 256                  /* in-flight requests of one step: buckets and the metric sums */
#define DIST_BUCKET_FLOATS ((size_t)1 << 20) /* 4 MB: large enough to amortise a message, small enough to overlap */
#define DIST_TIMEOUT 60.0                 /* seconds a collective may wait beyond 10 of the slowest steps
                                             (VGGTOP_DIST_TIMEOUT sets another) */
#define DIST_STOP_GRACE 0.5 /* after a stop was asked, beyond 2 of the slowest steps: mpirun sends SIGKILL 1 s after its SIGTERM */
#define DIST_KILL_MARGIN 0.3 /* a rank told to stop gives up this long before mpirun's SIGKILL, to say why first */

struct train_dist {
    MPI_Comm comm;        /* a copy of MPI_COMM_WORLD whose errors return instead of aborting */
    int rank, size, local_size;
    int broken;           /* a collective failed or timed out: no more MPI calls, no MPI_Finalize */
    int (*stop_asked)(void *);
    void *stop_arg;
    double slowest;       /* the slowest step so far (the deadlines grow with it) */
    double timeout;       /* DIST_TIMEOUT or VGGTOP_DIST_TIMEOUT */
    double sigkill_after; /* mpirun's SIGKILL follows its SIGTERM after this many seconds (odls_base_sigkill_timeout) */
    size_t bucket_floats; /* DIST_BUCKET_FLOATS unless a test asks for smaller buckets */
    /* --allreduce-precision: the buckets travel as 16-bit values (half, the size of the gradient block) and
     * are added by half_op (float32 sums rounded back); DIST_FLOAT32 sends the gradients themselves. */
    dist_precision precision;
    uint16_t *half;
    size_t half_cap;
    MPI_Op half_op[3];
    /* the step in flight */
    MPI_Request req[DIST_MAX_REQ];
    int nreq;
    grad_buckets buckets;
    float *grads;
    int failed;           /* an MPI call of the step returned an error */
    dist_timing timing;
    /* Open MPI 4.1 does not tell a rank that a peer died: the waits watch the processes of the ranks on this
     * host themselves (pid 0: another host, where mpirun's SIGTERM after the death has to do). */
    int *peer_pid;
    double next_peer_check;
    /* Every rank on this host: the gradient blocks in a shared window (dist_shm.h); shm_off when
     * VGGTOP_DIST_SHM=0 asks for MPI's allreduce instead, or a rank could not map its part. */
    dist_shm *shm;
    int shm_off;
};

/* A rank on this host whose process is gone, or -1. */
static int dead_peer(train_dist *d)
{
    for (int r = 0; r < d->size; r++)
        if (r != d->rank && d->peer_pid[r] > 0 && kill((pid_t)d->peer_pid[r], 0) != 0 && errno == ESRCH)
            return r;
    return -1;
}

static int lost(train_dist *d, const char *what, const char *why, vt_err *err)
{
    d->broken = 1;
    return vt_fail(err, VT_EIO, "rank %d of %d: %s during %s (a rank died or hangs)",
                   d->rank, d->size, why, what);
}

/* Waits for n requests, polling (Open MPI progresses only inside its calls) with a deadline. */
static int dist_wait(train_dist *d, MPI_Request *reqs, int n, const char *what, vt_err *err)
{
    double start = vt_now(), stop_at = 0, last = start;
    for (;;) {
        int done = 0;
        if (MPI_Testall(n, reqs, &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
            return lost(d, what, "Open MPI lost the connection", err);
        if (done)
            return VT_OK;
        double now = vt_now();
        /* Polls come a fraction of a millisecond apart: a gap of a second is a process stopped (Ctrl-Z on
         * mpirun stops every rank), whose time is no rank's silence. */
        if (now - last > 1.0) {
            start += now - last;
            if (stop_at > 0)
                stop_at += now - last;
        }
        last = now;
        double limit = start + d->timeout + 10 * d->slowest;
        if (now >= d->next_peer_check) {
            d->next_peer_check = now + 0.1;
            int dead = dead_peer(d);
            if (dead >= 0) {
                char why[96];
                snprintf(why, sizeof why, "rank %d (process %d on this host) is gone", dead, d->peer_pid[dead]);
                return lost(d, what, why, err);
            }
        }
        /* A stop asked (SIGTERM, which mpirun sends when a rank died, then SIGKILL 1 s later) shortens the
         * wait to what a live rank could still need, once a step has shown how long that is. */
        if (d->timing.steps > 0 && d->stop_asked && d->stop_asked(d->stop_arg)) {
            if (stop_at == 0)
                stop_at = now;
            double grace = stop_at + DIST_STOP_GRACE + 2 * d->slowest;
            /* A peer dead on another host (no pid here to watch) shows only as mpirun's SIGTERM: the wait
             * ends before the SIGKILL that follows it, so that this rank still says what happened. */
            double killed = stop_at + d->sigkill_after - DIST_KILL_MARGIN;
            grace = killed < grace ? killed : grace;
            limit = grace < limit ? grace : limit;
        }
        if (now > limit) {
            char why[64];
            snprintf(why, sizeof why, "no answer for %.0f s", now - start);
            return lost(d, what, why, err);
        }
        /* Open MPI moves a large message a fragment per test: yield (free when the core is idle, and it
         * lets another process have it when not) for the first half second, then sleep between tests. */
        if (now - start < 0.5)
            sched_yield();
        else {
            struct timespec ts = {0, 200000L};
            nanosleep(&ts, NULL);
        }
    }
}

static int check_usable(train_dist *d, vt_err *err)
{
    return d->broken ? vt_fail(err, VT_EIO, "rank %d of %d: the ranks lost each other earlier", d->rank, d->size)
                     : VT_OK;
}

/* The MPI operations of the half-width buckets: MPI_UINT16_T values, added in float32 and rounded back. */
static void sum_bf16(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    dist_half_sum(DIST_BF16, in, inout, (size_t)*len);
}

static void sum_fp16(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    dist_half_sum(DIST_FP16, in, inout, (size_t)*len);
}

/* ---- the process ---------------------------------------------------------------------------------------- */

/* A bad VGGTOP_DIST_* setting: every rank refuses it, rank 0 alone says so (the ranks' lines would
 * interleave in mpirun's output). */
static int env_refused(vt_err *err, const char *fmt, const char *value)
{
    const char *rank = getenv("OMPI_COMM_WORLD_RANK");
    if (rank && strcmp(rank, "0") != 0) {
        if (err)
            *err = (vt_err){.code = VT_EUSAGE};
        return VT_EUSAGE;
    }
    return vt_fail(err, VT_EUSAGE, fmt, value);
}

int train_dist_start(train_dist **out, vt_err *err)
{
    *out = NULL;
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    if (!size || !*size)
        return VT_OK; /* not under mpirun: MPI is never touched */
    double timeout = DIST_TIMEOUT;
    const char *t = getenv("VGGTOP_DIST_TIMEOUT"), *shm = getenv("VGGTOP_DIST_SHM");
    if (t && *t) {
        char *end;
        errno = 0;
        timeout = strtod(t, &end);
        if (errno || *end || !(timeout >= 1 && timeout <= 86400))
            return env_refused(err, "VGGTOP_DIST_TIMEOUT: '%.40s' is not a number of seconds in 1..86400", t);
    }
    if (shm && *shm && strcmp(shm, "0") != 0 && strcmp(shm, "1") != 0)
        return env_refused(err, "VGGTOP_DIST_SHM: '%.40s' is not 0 (MPI's allreduce) or 1 (shared memory, the default)",
                           shm);
    /* Open MPI's non-blocking allreduce (libnbc) mallocs a scratch copy of every bucket and frees it when the
     * bucket is done. Left to glibc, a 4 MB block is a fresh mmap each time and its first touch faults page by
     * page: on 2 ranks of vgg16-nopool that was 35,000 faults a step and a quarter of the CPU in the kernel.
     * Blocks up to 32 MB (the most glibc allows) now come from the heap, and up to 512 MB of freed heap is
     * kept for the next step's buckets instead of going back to the system. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        return vt_fail(err, VT_EIO, "MPI_Init_thread failed (OMPI_COMM_WORLD_SIZE=%s)", size);
    if (provided < MPI_THREAD_SERIALIZED) {
        MPI_Finalize();
        return vt_fail(err, VT_EIO, "this Open MPI gives thread level %d; the training thread needs "
                       "MPI_THREAD_SERIALIZED", provided);
    }
    train_dist *d = calloc(1, sizeof *d);
    if (!d) {
        MPI_Finalize();
        return vt_fail(err, VT_EIO, "out of memory for the MPI state");
    }
    d->bucket_floats = DIST_BUCKET_FLOATS;
    d->timeout = timeout;
    d->shm_off = shm && strcmp(shm, "0") == 0;
    /* mpirun passes its --mca settings on as OMPI_MCA_* variables; Open MPI's default is 1 s. */
    const char *kill_after = getenv("OMPI_MCA_odls_base_sigkill_timeout");
    d->sigkill_after = kill_after && atof(kill_after) >= 1 ? atof(kill_after) : 1.0;
    MPI_Comm_dup(MPI_COMM_WORLD, &d->comm);
    MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
    MPI_Op_create(sum_bf16, 1, &d->half_op[DIST_BF16]);
    MPI_Op_create(sum_fp16, 1, &d->half_op[DIST_FP16]);
    MPI_Comm_rank(d->comm, &d->rank);
    MPI_Comm_size(d->comm, &d->size);
    MPI_Comm local;
    MPI_Comm_split_type(d->comm, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &d->local_size);
    /* The pids of the ranks on this host, by world rank. */
    int local_size = d->local_size;
    int *mine = calloc((size_t)local_size, 2 * sizeof(int));
    d->peer_pid = calloc((size_t)d->size, sizeof(int));
    if (!mine || !d->peer_pid) {
        free(mine);
        train_dist_end(d);
        return vt_fail(err, VT_EIO, "out of memory for the MPI state");
    }
    int me[2] = {d->rank, (int)getpid()};
    MPI_Allgather(me, 2, MPI_INT, mine, 2, MPI_INT, local);
    for (int i = 0; i < local_size; i++)
        if (mine[2 * i] >= 0 && mine[2 * i] < d->size)
            d->peer_pid[mine[2 * i]] = mine[2 * i + 1];
    free(mine);
    MPI_Comm_free(&local);
    *out = d;
    return VT_OK;
}

void train_dist_end(train_dist *d)
{
    if (!d)
        return;
    /* After a lost rank MPI_Finalize would wait for it forever: the process just exits. */
    if (!d->broken) {
        dist_shm_close(d->shm);
        MPI_Op_free(&d->half_op[DIST_BF16]);
        MPI_Op_free(&d->half_op[DIST_FP16]);
        MPI_Comm_free(&d->comm);
        MPI_Finalize();
    }
    free(d->peer_pid);
    free(d->half);
    free(d);
}

int train_dist_rank(const train_dist *d) { return d ? d->rank : 0; }
int train_dist_size(const train_dist *d) { return d ? d->size : 1; }

int dist_threads_default(const train_dist *d)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return dist_threads_per_rank(cores > 0 ? (int)cores : 1, d ? d->local_size : 1);
}

void dist_set_stop_probe(train_dist *d, int (*stop_asked)(void *), void *arg)
{
    d->stop_asked = stop_asked;
    d->stop_arg = arg;
}

/* ---- collectives ---------------------------------------------------------------------------------------- */

/* root's bytes to every rank, in pieces an int counts. */
static int bcast_from(train_dist *d, int root, void *buf, size_t bytes, const char *what, vt_err *err)
{
    int rc = check_usable(d, err);
    for (size_t off = 0; !rc && off < bytes;) {
        int n = bytes - off > INT_MAX / 2 ? INT_MAX / 2 : (int)(bytes - off);
        MPI_Request r;
        if (MPI_Ibcast((char *)buf + off, n, MPI_BYTE, root, d->comm, &r) != MPI_SUCCESS)
            return lost(d, what, "Open MPI refused a broadcast", err);
        rc = dist_wait(d, &r, 1, what, err);
        off += (size_t)n;
    }
    return rc;
}

int dist_bcast(train_dist *d, void *buf, size_t bytes, const char *what, vt_err *err)
{
    return bcast_from(d, 0, buf, bytes, what, err);
}

/* This host's name as Open MPI knows it (the UTS name), cut to DIST_HOST_MAX - 1 bytes: it only labels. */
static void host_name(char out[DIST_HOST_MAX])
{
    char name[MPI_MAX_PROCESSOR_NAME + 1] = "";
    int len = 0;
    MPI_Get_processor_name(name, &len);
    size_t n = strnlen(name, DIST_HOST_MAX - 1);
    memcpy(out, name, n);
    out[n] = '\0';
}

int dist_agree(train_dist *d, int rc, vt_err *err)
{
    /* The maximum of size - rank over the failing ranks picks the lowest of them. */
    double v = rc ? (double)(d->size - d->rank) : 0;
    vt_err lost;
    if (dist_allreduce(d, &v, 1, 1, "the start", &lost))
        return rc ? rc : (*err = lost, lost.code);
    if (v == 0)
        return VT_OK;
    const int root = d->size - (int)v;
    struct {
        int code;
        char host[DIST_HOST_MAX];
        char msg[sizeof err->msg];
    } why;
    memset(&why, 0, sizeof why);
    if (d->rank == root) {
        why.code = rc;
        host_name(why.host);
        snprintf(why.msg, sizeof why.msg, "%s", err->msg);
    }
    if (bcast_from(d, root, &why, sizeof why, "the start", &lost))
        return rc ? rc : (*err = lost, lost.code);
    if (d->rank != 0)
        return vt_fail(err, why.code, "%s", "");
    if (root == 0)
        return rc;
    return vt_fail(err, why.code, "rank %d of %d on host %s: %s", root, d->size, why.host, why.msg);
}

int dist_allreduce(train_dist *d, double *v, int n, int max, const char *what, vt_err *err)
{
    int rc = check_usable(d, err);
    if (rc)
        return rc;
    MPI_Request r;
    if (MPI_Iallreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, max ? MPI_MAX : MPI_SUM, d->comm, &r) != MPI_SUCCESS)
        return lost(d, what, "Open MPI refused an allreduce", err);
    return dist_wait(d, &r, 1, what, err);
}

int dist_barrier(train_dist *d, const char *what, vt_err *err)
{
    int rc = check_usable(d, err);
    if (rc)
        return rc;
    MPI_Request r;
    if (MPI_Ibarrier(d->comm, &r) != MPI_SUCCESS)
        return lost(d, what, "Open MPI refused a barrier", err);
    return dist_wait(d, &r, 1, what, err);
}

int dist_gather_rows(train_dist *d, float *rows, long n, int width, vt_err *err)
{
    int rc = check_usable(d, err);
    if (rc)
        return rc;
    if ((double)n * width > INT_MAX / 2)
        return vt_fail(err, VT_EUSAGE, "%ld predictions of %d classes are too many to gather in one message", n,
                       width);
    int *counts = malloc(sizeof(int) * 2 * (size_t)d->size);
    if (!counts)
        return vt_fail(err, VT_EIO, "out of memory gathering the predictions");
    int *displs = counts + d->size;
    for (int r = 0; r < d->size; r++) {
        long lo, hi;
        dist_slice(n, d->size, r, &lo, &hi);
        counts[r] = (int)((hi - lo) * width);
        displs[r] = (int)(lo * width);
    }
    MPI_Request req;
    const void *send = d->rank == 0 ? MPI_IN_PLACE : rows + displs[d->rank];
    if (MPI_Igatherv(send, counts[d->rank], MPI_FLOAT, rows, counts, displs, MPI_FLOAT, 0, d->comm, &req) !=
        MPI_SUCCESS)
        rc = lost(d, "the gathering of the test-set predictions", "Open MPI refused a gather", err);
    else
        rc = dist_wait(d, &req, 1, "the gathering of the test-set predictions", err);
    free(counts);
    return rc;
}

int dist_ranks_describe(train_dist *d, int threads, char (*hosts)[DIST_HOST_MAX], int *thread_counts, vt_err *err)
{
    int rc = check_usable(d, err);
    if (rc)
        return rc;
    char mine[DIST_HOST_MAX];
    host_name(mine);
    MPI_Request req[2];
    if (MPI_Igather(mine, DIST_HOST_MAX, MPI_CHAR, hosts, DIST_HOST_MAX, MPI_CHAR, 0, d->comm, &req[0]) !=
            MPI_SUCCESS ||
        MPI_Igather(&threads, 1, MPI_INT, thread_counts, 1, MPI_INT, 0, d->comm, &req[1]) != MPI_SUCCESS)
        return lost(d, "the exchange of host names", "Open MPI refused a gather", err);
    return dist_wait(d, req, 2, "the exchange of host names", err);
}

int dist_check_weights(train_dist *d, const float *params, size_t count, long step, vt_err *err)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    const unsigned char *p = (const unsigned char *)params;
    for (size_t left = count * sizeof(float); left > 0;) {
        uInt n = left > (1u << 30) ? (1u << 30) : (uInt)left;
        crc = crc32(crc, p, n);
        p += n;
        left -= n;
    }
    /* The largest checksum and the largest complement: equal on every rank exactly when the checksums are. */
    double v[2] = {(double)crc, (double)(0xffffffffUL - crc)};
    int rc = dist_allreduce(d, v, 2, 1, "the weight check", err);
    if (rc)
        return rc;
    if (v[0] != (double)crc || v[1] != (double)(0xffffffffUL - crc))
        return vt_fail(err, VT_EINTERNAL, "after step %ld the ranks' weights differ (checksum %08lx on rank %d): "
                       "the ranks no longer train one model (different binaries or libraries on the hosts?); the "
                       "run stopped", step, (unsigned long)crc, d->rank);
    return VT_OK;
}

/* ---- the step ------------------------------------------------------------------------------------------- */

/* nn's hook: the block from `from` on is final. Sends a bucket when one is full, and drives the requests
 * already out. */
static void grads_ready(void *ctx, size_t from)
{
    train_dist *d = ctx;
    size_t off, count = grad_buckets_ready(&d->buckets, from, &off);
    while (count > 0 && !d->failed) {
        /* A ready block goes out a bucket at a time: one message of a whole Dense layer (fc1 is 100 MB) would
         * need a scratch block too large for the heap. */
        int n = (int)(count > d->bucket_floats ? d->bucket_floats : count);
        if (d->nreq == DIST_MAX_REQ - 1) { /* keep the last slot for the metric sums: wait for the ones out */
            int done = 0;
            while (!done && MPI_Testall(d->nreq, d->req, &done, MPI_STATUSES_IGNORE) == MPI_SUCCESS)
                ;
            d->nreq = 0;
        }
        int sent;
        if (d->precision == DIST_FLOAT32)
            sent = MPI_Iallreduce(MPI_IN_PLACE, d->grads + off, n, MPI_FLOAT, MPI_SUM, d->comm, &d->req[d->nreq++]);
        else {
            dist_half_encode(d->precision, d->grads + off, d->half + off, (size_t)n);
            sent = MPI_Iallreduce(MPI_IN_PLACE, d->half + off, n, MPI_UINT16_T, d->half_op[d->precision], d->comm,
                                  &d->req[d->nreq++]);
        }
        if (sent != MPI_SUCCESS)
            d->failed = 1;
        off += (size_t)n;
        count -= (size_t)n;
    }
    int done;
    if (d->nreq && MPI_Testall(d->nreq, d->req, &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
        d->failed = 1;
}

/* The exchange through MPI: the buckets went out during the backward pass (grads_ready); the metric sums
 * join them, and all are waited for. */
static int exchange_mpi(train_dist *d, double *sums, size_t nparams, vt_err *err)
{
    grads_ready(d, 0); /* what is left (all of it when the pass failed before its backward) */
    if (!d->failed && MPI_Iallreduce(MPI_IN_PLACE, sums, 5, MPI_DOUBLE, MPI_SUM, d->comm, &d->req[d->nreq++]) !=
                          MPI_SUCCESS)
        d->failed = 1;
    if (d->failed)
        return lost(d, "the gradient allreduce", "Open MPI refused an allreduce", err);
    int rc = dist_wait(d, d->req, d->nreq, "the gradient allreduce", err);
    if (!rc && d->precision != DIST_FLOAT32)
        dist_half_decode(d->precision, d->half, d->grads, nparams);
    d->nreq = 0;
    return rc;
}

/* The exchange and the step through the shared windows (dist_shm.h): the metric sums' allreduce ends only
 * when every rank has its gradients; then this rank adds up and steps its part (unless the loss is not
 * finite somewhere: then no rank steps), and after a barrier every rank has the whole step. */
static int exchange_shm(train_dist *d, model *m, const sgd_config *sgd, double *sums, vt_err *err)
{
    MPI_Request r;
    dist_shm_sync(d->shm);
    if (MPI_Iallreduce(MPI_IN_PLACE, sums, 5, MPI_DOUBLE, MPI_SUM, d->comm, &r) != MPI_SUCCESS)
        return lost(d, "the gradient exchange", "Open MPI refused an allreduce", err);
    int rc = dist_wait(d, &r, 1, "the gradient exchange", err);
    if (rc)
        return rc;
    if (!isfinite(sums[0]))
        return VT_OK; /* every rank sees the same sums and stops */
    dist_shm_sync(d->shm);
    dist_shm_reduce_step(d->shm, m, sgd, model_iterations(m) + 1);
    dist_shm_sync(d->shm);
    if (MPI_Ibarrier(d->comm, &r) != MPI_SUCCESS)
        return lost(d, "the gradient exchange", "Open MPI refused a barrier", err);
    rc = dist_wait(d, &r, 1, "the gradient exchange", err);
    dist_shm_sync(d->shm);
    if (!rc)
        model_step_done(m);
    return rc;
}

/* Whether this step's gradients go through the shared window: float32 gradients, every rank on this host;
 * the window is made (collectively) for each model the ranks train. */
static int use_shm(train_dist *d, model *m)
{
    if (d->shm_off || d->precision != DIST_FLOAT32 || d->size < 2 || d->local_size != d->size)
        return 0;
    if (!dist_shm_holds(d->shm, m)) {
        dist_shm_close(d->shm);
        dist_shm_open(d->comm, m, &d->shm);
        d->shm_off = !d->shm; /* a rank could not map its part: MPI's allreduce from now on, on every rank */
    }
    return d->shm != NULL;
}

int dist_train_step(train_dist *d, model *m, const float *x, const int *y, int n, int total, const sgd_config *sgd,
                    step_stats *stats, vt_err *err)
{
    int rc = check_usable(d, err);
    if (rc)
        return rc;
    double t0 = vt_now();
    if (sgd->kind != NN_OPT_SGD && (rc = model_need_moment2(m, err))) /* before the state is shared */
        return rc;
    const int shm = use_shm(d, m);
    d->grads = model_grads(m);
    d->nreq = 0;
    d->failed = 0;
    const size_t nparams = (size_t)model_param_count(m);
    if (d->precision != DIST_FLOAT32 && d->half_cap < nparams) {
        uint16_t *half = realloc(d->half, sizeof *half * nparams);
        if (!half)
            return vt_fail(err, VT_EIO, "out of memory for the %zu half-width gradients", nparams);
        d->half = half;
        d->half_cap = nparams;
    }
    grad_buckets_begin(&d->buckets, nparams, d->bucket_floats);
    step_stats local = {0};
    /* Every rank goes through the exchange even when its own loss is not finite: the others would wait for it.
     * The sums then carry the NaN to every rank, and each stops with the same message. */
    vt_err step_err;
    vt_err_clear(&step_err);
    int step_rc = model_grad_slice(m, x, y, n, total, shm ? NULL : grads_ready, d, &local, &step_err);
    if (step_rc)
        local.loss_sum = NAN;
    double sums[5] = {local.loss_sum, local.mse_sum, (double)local.correct, (double)local.correct5, (double)local.n};
    double t1 = vt_now();
    if ((rc = shm ? exchange_shm(d, m, sgd, sums, err) : exchange_mpi(d, sums, nparams, err)))
        return rc;
    double t2 = vt_now();
    if (!isfinite(sums[0])) {
        stats->nonfinite = 1;
        if (step_rc)
            *err = step_err;
        else
            vt_fail(err, VT_EUSAGE, "the loss is not finite on another rank (training diverged); lower the learning "
                    "rate (--lr)");
        return VT_EUSAGE;
    }
    if (!shm && (rc = model_apply_grads(m, sgd, err)))
        return rc;
    stats->loss_sum += sums[0];
    stats->mse_sum += sums[1];
    stats->correct += (long long)sums[2];
    stats->correct5 += (long long)sums[3];
    stats->n += (long long)sums[4];
    double t3 = vt_now();
    if (t3 - t0 > d->slowest)
        d->slowest = t3 - t0;
    d->timing.steps++;
    d->timing.shared = shm;
    d->timing.step_seconds += t3 - t0;
    d->timing.wait_seconds += t2 - t1;
    return VT_OK;
}

dist_timing dist_get_timing(const train_dist *d) { return d->timing; }
void dist_set_bucket_floats(train_dist *d, size_t floats) { d->bucket_floats = floats; }
void dist_set_precision(train_dist *d, dist_precision p) { d->precision = p; }
int dist_broken(const train_dist *d) { return d->broken; }
int dist_shares_state(const train_dist *d, model *m) { return d && dist_shm_holds(d->shm, m); }

int train_dist_share_config(train_dist *d, int *status, train_config *cfg, vt_err *err)
{
    int rc = dist_bcast(d, status, sizeof *status, "the start", err);
    if (!rc && *status < 0)
        rc = dist_bcast(d, cfg, sizeof *cfg, "the start", err);
    return rc;
}

int train_dist_share_words(train_dist *d, int *status, char ***words, vt_err *err)
{
    int rc = dist_bcast(d, status, sizeof *status, "the next trial", err);
    if (rc || *status != -1)
        return rc;
    /* The words as one text, each ended by its NUL: its length, then the text. */
    long len = 0, n = 0;
    for (char **w = d->rank == 0 ? *words : NULL; w && *w; w++, n++)
        len += (long)strlen(*w) + 1;
    long size[2] = {n, len};
    if ((rc = dist_bcast(d, size, sizeof size, "the next trial", err)))
        return rc;
    char *text = malloc((size_t)size[1] + 1);
    if (!text)
        return vt_fail(err, VT_EIO, "out of memory");
    for (char **w = d->rank == 0 ? *words : NULL, *at = text; w && *w; w++)
        at = stpcpy(at, *w) + 1;
    if ((rc = dist_bcast(d, text, (size_t)size[1], "the next trial", err)) || d->rank == 0) {
        free(text);
        return rc;
    }
    char **v = malloc(sizeof *v * (size_t)(size[0] + 1) + (size_t)size[1]);
    if (!v) {
        free(text);
        return vt_fail(err, VT_EIO, "out of memory");
    }
    char *copy = (char *)(v + size[0] + 1);
    memcpy(copy, text, (size_t)size[1]);
    free(text);
    for (long i = 0; i < size[0]; i++, copy += strlen(copy) + 1)
        v[i] = copy;
    v[size[0]] = NULL;
    *words = v;
    return VT_OK;
}
