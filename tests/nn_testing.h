/* Helpers shared by the nn test binaries (tests/test_nn*.c); include after <cmocka.h>. */
#ifndef VGGTOP_TESTS_NN_TESTING_H
#define VGGTOP_TESTS_NN_TESTING_H

#include <stdlib.h>

#include "vggtop/util.h"

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
