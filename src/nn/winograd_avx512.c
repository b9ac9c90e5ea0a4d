/* winograd_avx512: the winograd backend's passes built once more with AVX-512F (the Makefile gives this
 * file -mavx512f -mavx2 -mfma): transforms sixteen channels at a time and the own product kernel on 512-bit
 * registers. Nothing here runs unless the plan (winograd_plan.c) named this copy for the layer, which it
 * does only where the CPU reports AVX-512F (nn_isa, src/nn/isa.c). */
#if defined(__x86_64__)
#include "nn_internal.h"
#define WINO_ISA NN_ISA_AVX512
#include "winograd.c"
#else
typedef int winograd_avx512_unused; /* not an x86-64 build: the portable copy alone */
#endif
