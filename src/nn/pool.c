/* pool: nn's own worker threads, for the passes nn parallelises itself (the Winograd backend's transforms
 * and its per-thread products, src/nn/winograd.c; the 2x2 max pooling, src/nn/layers.c). OpenBLAS and oneDNN keep their own pools for their own
 * calls; these workers sleep on a condition variable between tasks, so the pools never spin against each
 * other.
 *
 * Workers are started by nn_pool_start (at planning time, never inside a training step, so a step
 * allocates nothing) and live for the rest of the process. A task runs on the caller (worker 0) and on
 * workers 1..n-1 at once; nn_pool_run returns when all are done. One task at a time: nn's passes run on
 * the thread that trains, and a second thread's model (the Setup screen's timing, say) waits its turn on
 * the run lock. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "nn_internal.h"

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    int started;        /* worker threads running (workers 1..started) */
    unsigned long gen;  /* bumped for each task */
    int active;         /* workers 1..active-1 take part in the current task */
    int pending;        /* of those, how many have not finished it */
    nn_task fn;
    void *arg;
    unsigned long born[NN_WORKERS_MAX]; /* gen when worker i was started: it takes every task after that */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, NULL, NULL, {0}};

/* Held for the whole of a task: one caller at a time. */
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker_main(void *p)
{
    const int id = (int)(intptr_t)p;
    pthread_mutex_lock(&pool.lock);
    unsigned long seen = pool.born[id];
    for (;;) {
        while (pool.gen == seen)
            pthread_cond_wait(&pool.wake, &pool.lock);
        seen = pool.gen;
        if (id >= pool.active)
            continue;
        nn_task fn = pool.fn;
        void *arg = pool.arg;
        const int n = pool.active;
        pthread_mutex_unlock(&pool.lock);
        fn(arg, id, n);
        pthread_mutex_lock(&pool.lock);
        if (--pool.pending == 0)
            pthread_cond_signal(&pool.done);
    }
    return NULL;
}

/* A forked child has the parent's memory but none of its threads: it starts its own when it needs them. */
static void pool_after_fork(void)
{
    pthread_mutex_init(&run_lock, NULL);
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
    pool.started = 0;
}

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static void register_fork(void) { pthread_atfork(NULL, NULL, pool_after_fork); }

int nn_pool_start(int workers, vt_err *err)
{
    pthread_once(&fork_once, register_fork);
    if (workers > NN_WORKERS_MAX)
        workers = NN_WORKERS_MAX;
    pthread_mutex_lock(&pool.lock);
    int rc = VT_OK;
    while (pool.started + 1 < workers) {
        pthread_t t;
        pool.born[pool.started + 1] = pool.gen;
        int e = vt_thread_start(&t, worker_main, (void *)(intptr_t)(pool.started + 1));
        if (e) {
            rc = vt_fail(err, VT_EIO, "cannot start nn's worker thread %d: %s", pool.started + 1, strerror(e));
            break;
        }
        pthread_detach(t);
        pool.started++;
    }
    pthread_mutex_unlock(&pool.lock);
    return rc;
}

int nn_pool_run(nn_task fn, void *arg, int workers)
{
    pthread_mutex_lock(&run_lock);
    pthread_mutex_lock(&pool.lock);
    if (workers > pool.started + 1)
        workers = pool.started + 1;
    if (workers < 1)
        workers = 1;
    if (workers > 1) {
        pool.fn = fn;
        pool.arg = arg;
        pool.active = workers;
        pool.pending = workers - 1;
        pool.gen++;
        pthread_cond_broadcast(&pool.wake);
    }
    pthread_mutex_unlock(&pool.lock);
    fn(arg, 0, workers);
    if (workers > 1) {
        pthread_mutex_lock(&pool.lock);
        while (pool.pending > 0)
            pthread_cond_wait(&pool.done, &pool.lock);
        pthread_mutex_unlock(&pool.lock);
    }
    pthread_mutex_unlock(&run_lock);
    return workers;
}
