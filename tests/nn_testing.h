/* Helpers shared by the test binaries that run nn (tests/test_nn*.c, tests/test_train*.c), on top of
 * testing.h's (which this includes): the OpenBLAS kernel and oneDNN ISA named at start, random arrays, the convolution
 * variants every backend test runs, and a tolerance check. Include after <cmocka.h>. */
#ifndef VGGTOP_TESTS_NN_TESTING_H
#define VGGTOP_TESTS_NN_TESTING_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dnnl.h>

#include "vggtop/nn.h"
#include "vggtop/util.h"
#include "../src/nn/nn_internal.h"
#include "testing.h"

/* The highest instruction set oneDNN dispatches to here: what the CPU has, lowered by ONEDNN_MAX_CPU_ISA (or
 * DNNL_MAX_CPU_ISA) when set. */
static inline const char *nn_testing_onednn_isa(void)
{
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

/* n floats uniform in [lo, hi) from seed; the caller frees. */
static inline float *randf(size_t n, uint64_t seed, float lo, float hi)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    assert_non_null(p);
    vt_rng r;
    vt_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        p[i] = lo + (hi - lo) * (float)vt_rng_uniform(&r);
    return p;
}

/* The convolution backends and variants every backend test runs: every variant the rows of conv_backends
 * let "auto" or "timed" choose (conv_variants_ranked), so a new backend's row is tested without an edit
 * here; each test skips those this machine cannot run at its shape (oneDNN's Winograd only with AVX-512).
 * The naive reference is not in the list: it is what they are held to, within each variant's tol (its
 * row's: float rounding for direct sums, ten to a hundred times that through Winograd's transforms; a wrong
 * kernel, an offset, a transpose or a missed tap, is off by the order of the values themselves). */
typedef struct conv_test_variant {
    char label[32]; /* as model_set_conv takes it */
    const char *backend;
    int algo;
    double tol; /* allowed error, times the largest |value| of the reference */
} conv_test_variant;

#define CONV_VARIANTS_MAX 32
static conv_test_variant conv_variants[CONV_VARIANTS_MAX] __attribute__((unused));
static int conv_variants_n __attribute__((unused));
#define CONV_VARIANTS conv_variants_n

/* Fills conv_variants from the rows (nn_testing_start does). */
static inline void conv_variants_load(void)
{
    conv_pick picks[CONV_VARIANTS_MAX];
    int n = conv_variants_ranked(picks, CONV_VARIANTS_MAX);
    if (n < 1 || n > CONV_VARIANTS_MAX) {
        fprintf(stderr, "%d ranked convolution variants: raise CONV_VARIANTS_MAX\n", n);
        exit(1);
    }
    for (int i = 0; i < n; i++) {
        conv_test_variant *v = &conv_variants[i];
        conv_label(v->label, sizeof v->label, picks[i].be, picks[i].algo);
        v->backend = picks[i].be->name;
        v->algo = picks[i].algo;
        for (int k = 0; k < picks[i].be->nvariants; k++)
            if (picks[i].be->variants[k].algo == v->algo)
                v->tol = picks[i].be->variants[k].tol;
        if (!(v->tol > 0.0)) {
            fprintf(stderr, "%s: no tolerance in its row\n", v->label);
            exit(1);
        }
    }
    conv_variants_n = n;
}

/* First thing in main: the OpenBLAS kernel the binary would run (nn_blas_choose_kernel may restart the test
 * binary with OPENBLAS_CORETYPE set) and oneDNN's instruction set, named on stderr so tests/e2e/nn_kernels.sh
 * can check which ran; then the convolution variants to test. */
static inline void nn_testing_start(char **argv)
{
    nn_blas_choose_kernel(argv);
    fprintf(stderr, "OpenBLAS core: %s (%s)\n", nn_blas_core(), nn_blas_chooser());
    fprintf(stderr, "oneDNN ISA: %s\n", nn_testing_onednn_isa());
    conv_variants_load();
}

/* The loosest tolerance of them all. */
static inline double conv_variants_max_tol(void)
{
    double t = 0.0;
    for (int i = 0; i < conv_variants_n; i++)
        t = conv_variants[i].tol > t ? conv_variants[i].tol : t;
    return t;
}

static inline const conv_backend *conv_variant_backend(const conv_test_variant *v, const conv_geom *g)
{
    const conv_backend *be = conv_backend_find(v->backend);
    assert_non_null(be);
    return be->supports(g, v->algo) ? be : NULL;
}

/* Fails unless |got - want| <= tol * max |want| entry by entry. */
static inline void assert_close(const char *what, const float *got, const float *want, size_t n, double tol)
{
    double mx = 0.0;
    for (size_t i = 0; i < n; i++)
        mx = fabs(want[i]) > mx ? fabs(want[i]) : mx;
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= tol * mx))
            fail_msg("%s[%zu]: %.7g, expected %.7g (allowed %.3g: %.1e of the largest, %.3g)", what, i,
                     (double)got[i], (double)want[i], tol * mx, tol, mx);
}

/* A checkpoint carried from a to b (of one config, on other backends or precisions): two steps of s on a,
 * its checkpoint (in a temporary file) loaded into b gives b a's parameters and velocity bit for bit; then
 * one more step on each, whose losses must agree within loss_tol (relative). x, y: a batch of n. */
static inline void checkpoint_carries_over(model *a, model *b, const float *x, const int *y, int n,
                                           const sgd_config *s, double loss_tol)
{
    char path[] = "/tmp/vggtop-test-checkpoint-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    step_stats st = {0};
    for (int t = 0; t < 2; t++)
        assert_int_equal(model_train_step(a, x, y, n, s, &st, NULL), VT_OK);
    vt_err err;
    size_t len, P = (size_t)model_param_count(a);
    assert_int_equal(checkpoint_save(path, a, NULL, 0, &err), VT_OK);
    assert_int_equal(checkpoint_load(path, b, NULL, 0, &len, &err), VT_OK);
    unlink(path);
    assert_memory_equal(model_params(a), model_params(b), sizeof(float) * P);
    assert_memory_equal(model_velocity(a), model_velocity(b), sizeof(float) * P);
    step_stats sa = {0}, sb = {0};
    assert_int_equal(model_train_step(a, x, y, n, s, &sa, NULL), VT_OK);
    assert_int_equal(model_train_step(b, x, y, n, s, &sb, NULL), VT_OK);
    assert_true(fabs(sa.loss_sum - sb.loss_sum) < loss_tol * sa.loss_sum);
}

/* The array called name in a fixture file of the PyTorch scripts (tests/tools/nn_*fixture.py): lines
 * `name count` then count numbers, for each array. Fails the test when it is missing; the caller frees. */
static inline float *nn_fixture_array(FILE *f, const char *name, size_t *count)
{
    rewind(f);
    char key[64];
    size_t n;
    while (fscanf(f, "%63s %zu", key, &n) == 2) {
        float *a = malloc(sizeof(float) * (n ? n : 1));
        assert_non_null(a);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(fscanf(f, "%f", &a[i]), 1);
        if (strcmp(key, name) == 0) {
            *count = n;
            return a;
        }
        free(a);
    }
    fail_msg("fixture array %s missing", name);
    return NULL;
}

#endif
