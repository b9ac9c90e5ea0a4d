/* smallmap_avx2: the smallmap backend's passes built once more for AVX2 and FMA (the Makefile's
 * flags for this file). Nothing here runs unless the portable copy (smallmap.c) planned the layer for it,
 * which it does only where nn_isa (src/nn/isa.c) names this copy. */
#if defined(__x86_64__)
#include "nn_internal.h"
#define SM_ISA NN_ISA_AVX2
#include "smallmap.c"
#else
typedef int smallmap_avx2_unused; /* not an x86-64 build: the portable copy alone */
#endif
