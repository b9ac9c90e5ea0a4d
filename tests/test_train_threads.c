/* Unit tests of what nn and data share between threads, for the case of a run started from the Setup
 * screen before its probe is done (app_start_run does not cancel the probe): the probe locating the data
 * set and timing the model (train_estimate_epoch_seconds) on its thread while the run's engine starts on
 * another (nn_set_threads, data_open) and trains. Both must finish, and ThreadSanitizer (make test runs
 * every test_train* binary under it) must see no race:
 *   - OpenBLAS's thread count, which the timing's winograd backend sets to one and back around each of
 *     its passes while the run's start sets it too (nn_set_threads) and the run's gemm layers read it;
 *   - the data set's location, which data_locate built in buffers of its own shared by every caller.
 * OpenBLAS is not built with ThreadSanitizer, which therefore cannot see OpenBLAS's own thread count. This
 * binary is linked with -Wl,--wrap for openblas_set_num_threads, openblas_get_num_threads and cblas_sgemm
 * (see the Makefile), and the wrappers keep a copy of the count here, where TSan sees it: each write
 * where OpenBLAS writes its count, each read where OpenBLAS reads it, without a lock, as OpenBLAS does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>
#include <cmocka.h>
#include <pthread.h>

#include "vggtop/data.h"
#include "vggtop/nn.h"
#include "vggtop/train.h"

#include "nn_testing.h"
#include "testing.h"

#define FASHION "/usr/share/datasets/fashion-mnist"

/* ---- OpenBLAS's thread count, where TSan sees it -------------------------------------------------- */

static int blas_count;               /* OpenBLAS's own (blas_cpu_number), as it is written and read */
static __thread int blas_count_seen; /* what this thread's last sgemm read */
static int blas_count_changes;       /* how many times it was set (atomic: the test waits on it) */

void __real_openblas_set_num_threads(int n);
int __real_openblas_get_num_threads(void);
void __real_cblas_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k,
                        float alpha, const float *a, blasint lda, const float *b, blasint ldb, float beta, float *c,
                        blasint ldc);

void __wrap_openblas_set_num_threads(int n)
{
    blas_count = n;
    __real_openblas_set_num_threads(n);
    __atomic_add_fetch(&blas_count_changes, 1, __ATOMIC_RELEASE);
}

int __wrap_openblas_get_num_threads(void)
{
    blas_count_seen = blas_count;
    return __real_openblas_get_num_threads();
}

void __wrap_cblas_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k,
                        float alpha, const float *a, blasint lda, const float *b, blasint ldb, float beta, float *c,
                        blasint ldc)
{
    blas_count_seen = blas_count; /* how many threads this product is split over */
    __real_cblas_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* ---- the probe's thread ---------------------------------------------------------------------------- */

/* An environment variable set (value) or unset (NULL) for one test, and put back after. */
typedef struct env_saved {
    const char *name;
    int was_set;
    char value[4096];
} env_saved;

static void env_swap(env_saved *e, const char *name, const char *value)
{
    const char *old = getenv(name);
    e->name = name;
    e->was_set = old != NULL;
    snprintf(e->value, sizeof e->value, "%s", old ? old : "");
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

static void env_restore(const env_saved *e)
{
    if (e->was_set)
        setenv(e->name, e->value, 1);
    else
        unsetenv(e->name);
}

typedef struct probe_job {
    int run_over;    /* set (atomically) when the run has ended: the probe stops */
    int estimate;    /* 1: time the model, as the probe does for the Setup screen; 0: locate the data set */
    int rounds;      /* how many times it did */
    int rc;          /* the first error, VT_OK if none */
    char msg[512];   /* its message */
    data_source source; /* where data_locate found the data set, the last time */
    char dir[4096];
} probe_job;

static int run_over(void *arg) { return __atomic_load_n(&((probe_job *)arg)->run_over, __ATOMIC_ACQUIRE); }

/* Times a cnn on 32x32x3 images again and again (on the winograd backend: VGGTOP_CONV), or locates the data
 * set again and again, until the run is over. */
static void *probe_main(void *arg)
{
    probe_job *p = arg;
    train_config cfg;
    train_config_default(&cfg);
    strcpy(cfg.model, "cnn");
    cfg.batch_size = 4;
    while (!run_over(p) && p->rc == VT_OK) {
        vt_err err;
        vt_err_clear(&err);
        if (p->estimate) {
            double seconds;
            p->rc = train_estimate_epoch_seconds(&cfg, 32, 32, 3, 10, 1000, run_over, p, &seconds, &err);
        } else {
            p->rc = data_locate(NULL, p->dir, sizeof p->dir, &p->source, &err);
        }
        if (p->rc != VT_OK)
            snprintf(p->msg, sizeof p->msg, "%s", err.msg);
        p->rounds++;
    }
    return NULL;
}

/* The run: a tiny mlp on the first images of Fashion-MNIST (data: "" for the places data_locate looks),
 * started while the probe works, to its end. */
static void run_beside_probe(probe_job *p, const char *data, const char *name)
{
    train_config c;
    train_config_default(&c);
    strcpy(c.model, "mlp");
    snprintf(c.data, sizeof c.data, "%s", data);
    c.limit_train = 256;
    c.limit_test = 64;
    c.epochs = 1;
    c.batch_size = 32;
    c.threads = 1; /* OpenBLAS's and OpenMP's own threads would only confuse TSan (test_train_engine.c) */
    snprintf(c.run_dir, sizeof c.run_dir, "%s", at(name));

    const int changes = __atomic_load_n(&blas_count_changes, __ATOMIC_ACQUIRE);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, probe_main, p), 0);
    /* The timing is under way when the run starts: its first winograd pass has set OpenBLAS's count and
     * set it back (nothing else sets it meanwhile). */
    for (int ms = 0; p->estimate && __atomic_load_n(&blas_count_changes, __ATOMIC_ACQUIRE) < changes + 2; ms++) {
        if (ms == 60000)
            fail_msg("the timing did not start a winograd pass within a minute");
        usleep(1000);
    }
    vt_err err;
    trainer *tr;
    assert_int_equal(trainer_create(&c, &tr, &err), VT_OK);
    assert_int_equal(trainer_start(tr, &err), VT_OK);
    train_state s = trainer_join(tr);
    trainer_error(tr, &err);
    trainer_destroy(tr);
    __atomic_store_n(&p->run_over, 1, __ATOMIC_RELEASE);
    assert_int_equal(pthread_join(t, NULL), 0);
    if (s != TRAIN_FINISHED)
        fail_msg("the run beside the probe ended in state %d: %s", (int)s, err.msg);
    if (p->rc != VT_OK)
        fail_msg("the probe failed: %s", p->msg);
    assert_true(p->rounds >= 1);
}

/* The Setup screen's timing of a model on the winograd backend, while a run starts and trains on gemm. */
static void timing_while_a_run_starts(void **state)
{
    (void)state;
    env_saved conv;
    env_swap(&conv, "VGGTOP_CONV", "winograd"); /* read by both threads' models, set before either starts */
    probe_job p = {.estimate = 1};
    run_beside_probe(&p, FASHION, "timed");
    env_restore(&conv);
}

/* The probe locating the data set while the run's engine opens it, both by the places data_locate looks:
 * here (a directory without ./data) and $HOME (one without a Keras cache) hold none, so both go on to
 * Debian's Fashion-MNIST, past the Keras cache's paths under $HOME. */
static void data_located_while_a_run_starts(void **state)
{
    (void)state;
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    env_saved home, data;
    env_swap(&data, "VGGTOP_DATA", NULL); /* the places data_locate looks after it are the point */
    env_swap(&home, "HOME", test_dir);
    assert_int_equal(chdir(test_dir), 0);
    probe_job p = {.estimate = 0};
    run_beside_probe(&p, "", "located");
    assert_int_equal(chdir(cwd), 0);
    env_restore(&home);
    env_restore(&data);
    assert_int_equal(p.source, DATA_FROM_PACKAGE);
    assert_string_equal(p.dir, FASHION);
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_testing_start(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timing_while_a_run_starts),
        cmocka_unit_test(data_located_while_a_run_starts),
    };
    return cmocka_run_group_tests_name("train_threads", tests, test_dir_setup, test_dir_teardown);
}
