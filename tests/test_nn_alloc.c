/* Unit test of nn's promise that a training step allocates nothing: this binary replaces malloc, calloc,
 * realloc and aligned allocation with counting wrappers around glibc's own (__libc_*), then counts the
 * calls made during training steps and inference after a warm-up step (OpenBLAS sets up its buffers on its
 * first call). It runs OpenBLAS on one thread: its threaded driver itself mallocs small job descriptors on
 * every multi-threaded call (99 in the steps below at two threads), which is OpenBLAS's doing, not nn's.
 * Likewise oneDNN 2.6: every dnnl_primitive_execute builds a std::unordered_map of its arguments on the
 * heap and frees it on return (a handful of small blocks per primitive, the same number every step),
 * whatever was planned ahead; the binary is linked with -Wl,--wrap=dnnl_primitive_execute, so allocations
 * made inside that call are counted apart and must only be the same from step to step (no growth, no
 * buffer sized at run time), while nn's own must be zero.
 * Under AddressSanitizer, which owns malloc itself, the counting is skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dnnl.h>

#include "vggtop/nn.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNTING 0
#else
#define COUNTING 1
#endif

static volatile long allocations, dnnl_allocations;
static __thread int in_dnnl_execute; /* inside oneDNN's dnnl_primitive_execute on this thread */

dnnl_status_t __real_dnnl_primitive_execute(const_dnnl_primitive_t p, dnnl_stream_t s, int nargs,
                                            const dnnl_exec_arg_t *args);
dnnl_status_t __wrap_dnnl_primitive_execute(const_dnnl_primitive_t p, dnnl_stream_t s, int nargs,
                                            const dnnl_exec_arg_t *args);

dnnl_status_t __wrap_dnnl_primitive_execute(const_dnnl_primitive_t p, dnnl_stream_t s, int nargs,
                                            const dnnl_exec_arg_t *args)
{
    in_dnnl_execute++;
    dnnl_status_t st = __real_dnnl_primitive_execute(p, s, nargs, args);
    in_dnnl_execute--;
    return st;
}

static void __attribute__((unused)) count(void)
{
    if (in_dnnl_execute)
        __atomic_add_fetch(&dnnl_allocations, 1, __ATOMIC_RELAXED);
    else
        __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
}

#if COUNTING
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);

void *malloc(size_t size)
{
    count();
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    count();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    count();
    return __libc_realloc(p, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    count();
    void *p = __libc_memalign(align, size);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
    count();
    return __libc_memalign(align, size);
}
#endif

/* A training step with and without momentum and an inference pass, three times after a warm-up. */
static void run_steps(model *m, const float *x, const int *y, float *probs, long *nn_count, long *dnnl_count)
{
    sgd_config plain, momentum;
    sgd_config_default(&plain);
    sgd_config_default(&momentum);
    momentum.momentum = 0.9f;
    momentum.nesterov = 1;
    momentum.weight_decay = 0.01f;
    step_stats st = {0};
    long before = allocations, dnnl_before = dnnl_allocations;
    assert_int_equal(model_train_step(m, x, y, 8, &plain, &st, NULL), VT_OK);
    assert_int_equal(model_train_step(m, x, y, 5, &momentum, &st, NULL), VT_OK);
    assert_int_equal(model_predict(m, x, 8, probs, NULL), VT_OK);
    *nn_count = allocations - before;
    *dnnl_count = dnnl_allocations - dnnl_before;
}

static void steps_allocate_nothing(void **state)
{
    (void)state;
    if (!COUNTING)
        skip();
    const char *names[] = {"cnn", "cnn", "mlp"}, *convs[] = {"gemm", "onednn", "auto"};
    for (int k = 0; k < 3; k++) {
        model_config cfg;
        assert_int_equal(model_config_default(&cfg, names[k], NULL), VT_OK);
        cfg.height = cfg.width = 12;
        cfg.classes = 7;
        model *m;
        long c0 = allocations;
        assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
        assert_true(allocations > c0); /* the wrappers do count */
        assert_int_equal(model_set_conv(m, convs[k], NULL), VT_OK);
        assert_int_equal(model_set_batch(m, 8, NULL), VT_OK);
        static float x[8 * 12 * 12 * 3], probs[8 * 7];
        for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
            x[i] = (float)(i % 17) / 17.0f;
        const int y[8] = {0, 1, 2, 3, 4, 5, 6, 0};
        long nn_count, dnnl_count, dnnl_first;
        /* Warm-up: OpenBLAS allocates its work buffers on first use, OpenMP its thread state. */
        run_steps(m, x, y, probs, &nn_count, &dnnl_first);
        run_steps(m, x, y, probs, &nn_count, &dnnl_first);
        for (int t = 0; t < 3; t++) {
            run_steps(m, x, y, probs, &nn_count, &dnnl_count);
            if (nn_count != 0)
                fail_msg("%s (%s): %ld allocations during training steps", names[k], convs[k], nn_count);
            if (dnnl_count != dnnl_first)
                fail_msg("%s (%s): oneDNN's executions allocated %ld blocks, then %ld", names[k], convs[k],
                         dnnl_first, dnnl_count);
        }
        if (dnnl_count)
            print_message("%s (%s): oneDNN's dnnl_primitive_execute: %ld transient allocations per round, the same "
                          "each round\n", names[k], convs[k], dnnl_count);
        model_destroy(m);
    }
}

int main(void)
{
    nn_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(steps_allocate_nothing),
    };
    return cmocka_run_group_tests_name("nn", tests, NULL, NULL);
}
