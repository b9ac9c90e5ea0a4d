/* Helpers shared by the test binaries that run nn (tests/test_nn*.c, tests/test_train*.c), on top of
 * testing.h's (which this includes): the OpenBLAS kernel and oneDNN ISA named at start, random arrays, the convolution
 * variants every backend test runs, and a tolerance check. Include after <cmocka.h>. */
#ifndef VGGTOP_TESTS_NN_TESTING_H
#define VGGTOP_TESTS_NN_TESTING_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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

/* First thing in main: the OpenBLAS kernel the binary would run (nn_blas_choose_kernel may restart the test
 * binary with OPENBLAS_CORETYPE set) and oneDNN's instruction set, named on stderr so
 * tests/e2e/nn_kernels.sh can check which ran. */
static inline void nn_testing_start(char **argv)
{
    nn_blas_choose_kernel(argv);
    fprintf(stderr, "OpenBLAS core: %s (%s)\n", nn_blas_core(), nn_blas_chooser());
    fprintf(stderr, "oneDNN ISA: %s\n", nn_testing_onednn_isa());
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

/* The convolution backends and variants every backend test runs: each that this machine supports at g
 * (oneDNN's Winograd only with AVX-512). The naive reference is not in the list: it is what they are held
 * to. */
typedef struct conv_variant {
    const char *label; /* as model_set_conv takes it */
    const char *backend;
    int algo;
    double tol; /* allowed error, times the largest |value| of the reference */
} conv_variant;

/* The tolerances, relative to the largest magnitude of the reference array: gemm and oneDNN's direct
 * convolution sum the same products as the naive loops in float, in another order (blocked over channels,
 * split across threads), and the reference sums in double: their difference is float rounding over sums of
 * up to 9 * 512 terms for an output, or batch * pixels (thousands) for a kernel gradient entry, a few 1e-6
 * of the largest value, so 1e-4 leaves room. Winograd F(4x4, 3x3) transforms tiles with coefficients up to
 * 5.25 / 8 and back, which multiplies the rounding error by about 10 to 100 (Lavin & Gray 2016, and oneDNN's
 * own test tolerances for it): 2e-3. A wrong kernel (an offset, a transpose, a missed tap) is off by the
 * order of the values themselves. */
static const conv_variant conv_variants[] __attribute__((unused)) = {
    {"gemm", "gemm", CONV_ALGO_ANY, 1e-4},
    {"onednn:direct", "onednn", CONV_ALGO_DIRECT, 1e-4},
    {"onednn:winograd", "onednn", CONV_ALGO_WINOGRAD, 2e-3},
    {"winograd:f2", "winograd", CONV_ALGO_F2, 2e-3},
    {"winograd:f4", "winograd", CONV_ALGO_F4, 2e-3},
};
#define CONV_VARIANTS ((int)(sizeof conv_variants / sizeof conv_variants[0]))

static inline const conv_backend *conv_variant_backend(const conv_variant *v, const conv_geom *g)
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

#endif
