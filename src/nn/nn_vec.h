/* nn_vec: what nn's kernels built in copies (winograd.c, smallmap.c; src/nn/isa.c) share: a vector of VL
 * floats, which the including file defines for its copy (4: one SSE register on any x86-64, and what the
 * compiler makes of it elsewhere; 8: one AVX register; 16: one AVX-512 register), its loads and stores of
 * the first n lanes and the ReLU's mask (the split of a loop between nn's workers is nn_internal.h's
 * share). Included once per copy (each is its own translation unit). */
#ifndef VGGTOP_NN_VEC_H
#define VGGTOP_NN_VEC_H

#include <string.h>

typedef float vf __attribute__((vector_size(VL * 4)));
typedef int vi __attribute__((vector_size(VL * 4)));

/* Inlined into callers that pass shapes as compile-time constants, so small loops unroll and tiles stay in
 * registers. */
#define TF static inline __attribute__((always_inline))

/* The first n lanes from p, the rest zero; and back. */
TF vf vload(const float *p, int n)
{
    vf v = {0};
    memcpy(&v, p, sizeof(float) * (size_t)n);
    return v;
}

TF void vstore(float *p, vf v, int n) { memcpy(p, &v, sizeof(float) * (size_t)n); }

/* v where keep > 0, else 0 (the ReLU and its gradient's mask). */
TF vf vpositive(vf v, vf keep)
{
    const vf zero = {0};
    return (vf)((vi)v & (keep > zero));
}

#endif
