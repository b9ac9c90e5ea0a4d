/* winograd_avx2: the winograd backend's passes built once more with AVX2 and FMA (the Makefile gives this
 * file -mavx2 -mfma): transforms eight channels at a time and the forward's own product kernel. Nothing
 * here runs unless the plan (winograd_plan.c) named this copy for the layer, which it does only where the
 * CPU reports both extensions. */
#if defined(__x86_64__)
#include "nn_internal.h"
#define WINO_ISA NN_ISA_AVX2
#include "winograd.c"
#else
typedef int winograd_avx2_unused; /* not an x86-64 build: the portable copy alone */
#endif
