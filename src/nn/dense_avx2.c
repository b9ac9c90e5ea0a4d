/* dense_avx2: the Dense forward kernel built for AVX2 and FMA (the Makefile's flags for this file). Nothing
 * here runs unless the portable copy (dense.c) sends a product here, which it does only where nn_isa
 * (src/nn/isa.c) names this copy. */
#if defined(__x86_64__)
#include "nn_internal.h"
#define DN_ISA NN_ISA_AVX2
#include "dense.c"
#else
typedef int dense_avx2_unused; /* not an x86-64 build: the portable copy alone */
#endif
