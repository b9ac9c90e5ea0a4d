/* Unit test of nn's promise that a training step allocates nothing. This binary replaces malloc, calloc,
 * realloc and aligned allocation with wrappers around glibc's own (__libc_*) that attribute each call to its
 * caller by the return address: a call made from inside libopenblas is OpenBLAS's business (its threaded
 * driver mallocs job descriptors on every multi-threaded call, and its AVX-512 kernels allocate inside sgemm),
 * every other call counts against nn. So the test runs the kernel and the thread count the product runs
 * (nn_testing_start, nn_set_threads(0)), whatever OpenBLAS does inside.
 * oneDNN 2.6 is attributed by another route: each dnnl_primitive_execute builds a std::unordered_map of its
 * arguments on the heap (through libstdc++'s operator new, so the return address is libstdc++'s) and frees
 * it on return, whatever was planned ahead, and its OpenMP worker threads do likewise for their part. The binary is linked with -Wl,--wrap=dnnl_primitive_execute, and
 * allocations made inside that call count apart: they must be the same number from round to round (no
 * growth, no buffer sized at run time), while nn's own must be zero. Under AddressSanitizer or
 * ThreadSanitizer, which own malloc themselves, the counting is skipped. */
#include <dlfcn.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dnnl.h>

#include "vggtop/nn.h"

#include "nn_testing.h"
#include "testing.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNTING 0
#else
#define COUNTING 1
#endif

/* Libraries whose own allocations are not nn's: matched against the loaded objects' file names. */
static const char *const foreign_libraries[] = {"libopenblas", NULL};

#define MAX_RANGES 64
static struct {
    uintptr_t lo, hi;
} foreign[MAX_RANGES];
static int n_foreign;

static volatile long allocations; /* by anything but the foreign libraries */
static volatile long foreign_allocations;
static volatile long dnnl_allocations; /* while a primitive executes */
/* Process-wide, not per thread: a primitive's work runs on OpenMP's worker threads too, and nn runs one
 * thing at a time (no sgemm overlaps a primitive), so whatever allocates meanwhile is oneDNN's. */
static volatile int in_dnnl_execute;

dnnl_status_t __real_dnnl_primitive_execute(const_dnnl_primitive_t p, dnnl_stream_t s, int nargs,
                                            const dnnl_exec_arg_t *args);
dnnl_status_t __wrap_dnnl_primitive_execute(const_dnnl_primitive_t p, dnnl_stream_t s, int nargs,
                                            const dnnl_exec_arg_t *args);

dnnl_status_t __wrap_dnnl_primitive_execute(const_dnnl_primitive_t p, dnnl_stream_t s, int nargs,
                                            const dnnl_exec_arg_t *args)
{
    __atomic_add_fetch(&in_dnnl_execute, 1, __ATOMIC_SEQ_CST);
    dnnl_status_t st = __real_dnnl_primitive_execute(p, s, nargs, args);
    __atomic_sub_fetch(&in_dnnl_execute, 1, __ATOMIC_SEQ_CST);
    return st;
}

/* Records the executable segments of every loaded object named in foreign_libraries. Runs before counting
 * starts: dl_iterate_phdr is not something to call from inside malloc. */
static int note_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    int match = 0;
    for (int i = 0; foreign_libraries[i]; i++)
        match |= info->dlpi_name && strstr(info->dlpi_name, foreign_libraries[i]) != NULL;
    for (int i = 0; match && i < info->dlpi_phnum && n_foreign < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            foreign[n_foreign].lo = info->dlpi_addr + ph->p_vaddr;
            foreign[n_foreign].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
            n_foreign++;
        }
    }
    return 0;
}

#if COUNTING
static void count(const void *caller)
{
    if (__atomic_load_n(&in_dnnl_execute, __ATOMIC_SEQ_CST)) {
        __atomic_add_fetch(&dnnl_allocations, 1, __ATOMIC_RELAXED);
        return;
    }
    uintptr_t a = (uintptr_t)caller;
    for (int i = 0; i < n_foreign; i++)
        if (a >= foreign[i].lo && a < foreign[i].hi) {
            __atomic_add_fetch(&foreign_allocations, 1, __ATOMIC_RELAXED);
            return;
        }
    __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
}

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);

void *malloc(size_t size)
{
    count(__builtin_return_address(0));
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    count(__builtin_return_address(0));
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    count(__builtin_return_address(0));
    return __libc_realloc(p, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    count(__builtin_return_address(0));
    void *p = __libc_memalign(align, size);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
    count(__builtin_return_address(0));
    return __libc_memalign(align, size);
}
#endif

/* The attribution itself: OpenBLAS is found among the loaded objects, and a call from here counts. */
static void attribution_finds_openblas(void **state)
{
    (void)state;
    if (!COUNTING)
        skip();
    assert_true(n_foreign > 0);
    long before = allocations;
    void *volatile p = malloc(64);
    assert_non_null(p);
    free(p);
    assert_int_equal(allocations - before, 1);
    uintptr_t sgemm = (uintptr_t)dlsym(RTLD_DEFAULT, "cblas_sgemm");
    assert_true(sgemm != 0);
    int inside = 0;
    for (int i = 0; i < n_foreign; i++)
        inside |= sgemm >= foreign[i].lo && sgemm < foreign[i].hi;
    assert_true(inside);
}

/* A training step without and with momentum (the second on a smaller batch) and an inference pass. */
typedef struct round_counts {
    long nn, foreign, dnnl;
} round_counts;

static round_counts run_round(model *m, const float *x, const int *y, float *probs)
{
    sgd_config plain, momentum;
    sgd_config_default(&plain);
    sgd_config_default(&momentum);
    momentum.momentum = 0.9f;
    momentum.nesterov = 1;
    momentum.weight_decay = 0.01f;
    step_stats st = {0};
    round_counts before = {allocations, foreign_allocations, dnnl_allocations};
    assert_int_equal(model_train_step(m, x, y, 8, &plain, &st, NULL), VT_OK);
    assert_int_equal(model_train_step(m, x, y, 5, &momentum, &st, NULL), VT_OK);
    assert_int_equal(model_predict(m, x, 8, probs, NULL), VT_OK);
    return (round_counts){allocations - before.nn, foreign_allocations - before.foreign,
                          dnnl_allocations - before.dnnl};
}

static void steps_allocate_nothing(void **state)
{
    (void)state;
    if (!COUNTING)
        skip();
    /* cnn on each convolution backend a training run may use, and mlp (no convolutions). */
    const char *names[] = {"cnn", "cnn", "cnn", "mlp"}, *convs[] = {"gemm", "onednn", "auto", "auto"};
    for (int k = 0; k < 4; k++) {
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
        /* Warm-up: OpenBLAS allocates its work buffers on first use, OpenMP its threads' state. */
        run_round(m, x, y, probs);
        round_counts first = run_round(m, x, y, probs), total = {0, 0, 0};
        for (int t = 0; t < 3; t++) {
            round_counts r = run_round(m, x, y, probs);
            if (r.dnnl != first.dnnl)
                fail_msg("%s (%s): oneDNN's executions allocated %ld blocks in one round, then %ld", names[k],
                         convs[k], first.dnnl, r.dnnl);
            total.nn += r.nn;
            total.foreign += r.foreign;
            total.dnnl += r.dnnl;
        }
        char choice[256];
        model_conv_choice(m, choice, sizeof choice);
        fprintf(stderr, "%s (%s: %s): %ld allocations by nn, %ld inside OpenBLAS (%s, %d threads), %ld transient "
                "ones inside oneDNN's primitive executions during the steps\n", names[k], convs[k], choice,
                total.nn, total.foreign, nn_blas_core(), nn_get_threads(), total.dnnl);
        if (total.nn != 0)
            fail_msg("%s (%s): %ld allocations during training steps", names[k], convs[k], total.nn);
        model_destroy(m);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_testing_start(argv);
    nn_set_threads(0); /* as many threads as cores, as vggtop train runs by default */
    dl_iterate_phdr(note_object, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(attribution_finds_openblas),
        cmocka_unit_test(steps_allocate_nothing),
    };
    return cmocka_run_group_tests_name("nn", tests, NULL, NULL);
}
