/* train/dist_shm: the ranks' gradient blocks in one shared window, added up in place (dist_shm.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "dist_shm.h"

#define SHM_ALIGN 16     /* floats: parts start on a 64-byte line, so no two ranks write one cache line */
#define SHM_BLOCK 8192   /* floats added up at a time: 32 KB of each rank's block stays in L1/L2 for the copies */

struct dist_shm {
    MPI_Win win;       /* the gradient blocks, one a rank */
    MPI_Win state_win; /* rank 0's part alone: the weights, the velocity and the second moment (or not) */
    int rank, size;
    size_t n;     /* floats per rank */
    int states;   /* blocks of the state window: 2 (weights, velocity) or 3 (and the second moment) */
    float **slot; /* every rank's block, as this process sees it */
};

/* Whether the folder Open MPI backs shared windows with (/dev/shm unless osc_sm_backing_directory says
 * otherwise) has room for the window: a tmpfs too small (a container's 64 MB /dev/shm) would take the
 * sparse backing file and then kill the ranks with SIGBUS on the first write past its size. */
static int room_for(size_t bytes)
{
    const char *dir = getenv("OMPI_MCA_osc_sm_backing_directory");
    struct statvfs fs;
    if (statvfs(dir && *dir ? dir : "/dev/shm", &fs) != 0)
        return 0;
    return (double)fs.f_bavail * (double)fs.f_frsize >= 1.1 * (double)bytes + (64 << 20);
}

void dist_shm_open(MPI_Comm comm, model *m, dist_shm **out)
{
    *out = NULL;
    dist_shm *s = calloc(1, sizeof *s);
    int bad = !s;
    if (s) {
        MPI_Comm_rank(comm, &s->rank);
        MPI_Comm_size(comm, &s->size);
        s->n = (size_t)model_param_count(m);
        s->slot = calloc((size_t)s->size, sizeof *s->slot);
        s->states = model_moment2(m) ? 3 : 2;
        bad = !s->slot || !room_for(sizeof(float) * s->n * (size_t)(s->size + s->states));
    }
    /* Every rank learns whether all have room before any maps its part, and again after: any failure sends
     * all of them back to MPI's allreduce. Each part is its own page-aligned mapping
     * ("alloc_shared_noncontig"). */
    int any_bad = 1;
    MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_MAX, comm);
    if (any_bad) {
        if (s)
            free(s->slot);
        free(s);
        return;
    }
    MPI_Info info;
    MPI_Info_create(&info);
    MPI_Info_set(info, "alloc_shared_noncontig", "true");
    float *mine = NULL, *state = NULL;
    MPI_Win win = MPI_WIN_NULL, state_win = MPI_WIN_NULL;
    MPI_Aint bytes = (MPI_Aint)(sizeof(float) * (s->n ? s->n : 1));
    MPI_Aint state_bytes = s->rank == 0 ? (MPI_Aint)(sizeof(float) * (s->n ? s->n : 1) * (size_t)s->states) : 0;
    int made = MPI_Win_allocate_shared(bytes, (int)sizeof(float), info, comm, &mine, &win) == MPI_SUCCESS;
    int state_made = MPI_Win_allocate_shared(state_bytes, (int)sizeof(float), info, comm, &state, &state_win) ==
                     MPI_SUCCESS;
    MPI_Info_free(&info);
    bad = bad || !made || !mine || !state_made;
    if (!bad) {
        MPI_Aint sz;
        int unit;
        state = NULL;
        bad = MPI_Win_shared_query(state_win, 0, &sz, &unit, &state) != MPI_SUCCESS || !state ||
              (size_t)sz < sizeof(float) * s->n * (size_t)s->states;
    }
    for (int r = 0; !bad && r < s->size; r++) {
        MPI_Aint sz;
        int unit;
        void *base = NULL;
        bad = MPI_Win_shared_query(win, r, &sz, &unit, &base) != MPI_SUCCESS || !base ||
              (size_t)sz < sizeof(float) * s->n;
        if (!bad)
            s->slot[r] = base;
    }
    MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_MAX, comm);
    if (any_bad) {
        if (made)
            MPI_Win_free(&win);
        if (state_made)
            MPI_Win_free(&state_win);
        free(s->slot);
        free(s);
        return;
    }
    s->win = win;
    s->state_win = state_win;
    MPI_Win_lock_all(MPI_MODE_NOCHECK, win);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, state_win);
    model_use_grads(m, s->slot[s->rank]);
    /* Rank 0 copies the weights and state (every rank has the same since the start), then all point there. */
    model_use_state(m, state, state + s->n, s->states == 3 ? state + 2 * s->n : NULL, s->rank == 0);
    MPI_Win_sync(state_win);
    MPI_Barrier(comm);
    MPI_Win_sync(state_win);
    *out = s;
}

void dist_shm_close(dist_shm *s)
{
    if (!s)
        return;
    MPI_Win_unlock_all(s->win);
    MPI_Win_free(&s->win);
    MPI_Win_unlock_all(s->state_win);
    MPI_Win_free(&s->state_win);
    free(s->slot);
    free(s);
}

int dist_shm_holds(const dist_shm *s, model *m)
{
    return s && (size_t)model_param_count(m) == s->n && model_grads(m) == s->slot[s->rank];
}

void dist_shm_sync(dist_shm *s)
{
    MPI_Win_sync(s->win);
    MPI_Win_sync(s->state_win);
}

static void add_into(float *restrict acc, const float *restrict x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        acc[i] += x[i];
}

void dist_shm_reduce_step(dist_shm *s, model *m, const sgd_config *sgd, long long t)
{
    size_t part = (s->n + (size_t)s->size - 1) / (size_t)s->size;
    part = (part + SHM_ALIGN - 1) / SHM_ALIGN * SHM_ALIGN;
    size_t lo = part * (size_t)s->rank, hi = lo + part;
    if (hi > s->n)
        hi = s->n;
    for (size_t b = lo; b < hi; b += SHM_BLOCK) {
        size_t len = hi - b < SHM_BLOCK ? hi - b : SHM_BLOCK;
        float *acc = s->slot[0] + b; /* rank 0's block takes the sum: rank order, whoever adds */
        for (int r = 1; r < s->size; r++)
            add_into(acc, s->slot[r] + b, len);
        model_apply_part(m, sgd, acc, b, b + len, t); /* while the sums are in cache; it zeroes them */
        for (int r = 1; r < s->size; r++)
            memset(s->slot[r] + b, 0, sizeof(float) * len);
    }
}
