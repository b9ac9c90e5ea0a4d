/* Helpers shared by the test binaries that run nn (tests/test_nn*.c, tests/test_train*.c); include after
 * <cmocka.h>. */
#ifndef VGGTOP_TESTS_NN_TESTING_H
#define VGGTOP_TESTS_NN_TESTING_H

#include <stdio.h>
#include <stdlib.h>

#include "vggtop/nn.h"
#include "vggtop/util.h"

/* First thing in main: the OpenBLAS kernel the binary would run (nn_blas_choose_kernel may restart the test
 * binary with OPENBLAS_CORETYPE set), named on stderr so tests/e2e/blas_kernels.sh can check which ran. */
static inline void nn_testing_start(char **argv)
{
    nn_blas_choose_kernel(argv);
    fprintf(stderr, "OpenBLAS core: %s (%s)\n", nn_blas_core(), nn_blas_chooser());
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

#endif
