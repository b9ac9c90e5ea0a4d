/* winograd_bf16: the winograd backend's products in bfloat16 (mixed_bfloat16), for CPUs with AVX512_BF16.
 * Winograd's transforms stay float32 (src/nn/winograd.c); what goes to bfloat16 are the operands of the a*a
 * products over channels, which are most of a layer's time, and vdpbf16ps does twice the multiply-adds of
 * a float32 FMA. It multiplies pairs: each 32-bit lane of its operands holds two bfloat16 numbers, the
 * pair it sums over, so every operand is laid out with the sum's index paired:
 *   forward    M[t][xi] (k) = V[t][xi] (c) U[xi]:      V in pairs of channels (its natural order,
 *                                                       wbf_to_bf16), U as Ub (a*a, kp / 32, c / 2, 32)
 *   input grad dV[t][xi] (c) = dM[t][xi] (k) U[xi]^T:  dM in pairs of channels, U as Utb (a*a, cp / 32,
 *                                                       k / 2, 32)
 *   kernel grad dU[xi] (c, k) += sum over t of V[t][xi]^T dM[t][xi]: V and dM in pairs of tiles
 *                                                       (wbf_pair_tiles: (a*a, tiles / 2, width))
 * with sums in float32. Nothing here runs unless wbf_cpu() says the CPU has the instructions. */
#ifndef VGGTOP_NN_WINOGRAD_BF16_H
#define VGGTOP_NN_WINOGRAD_BF16_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>

/* Each lane of v to bfloat16 as vcvtneps2bf16 rounds (to nearest, ties to even; a NaN stays a quiet NaN; a
 * subnormal becomes a zero of its sign), in the low 16 bits of its lane: nn's one copy of that rounding where
 * the instruction is not at hand (the winograd backend's AVX-512 copy, built without AVX512_BF16, and the
 * tails of winograd_bf16.c). */
static inline __attribute__((target("avx512f"), always_inline)) __m512i wbf_round(__m512 v)
{
    const __m512i b = _mm512_castps_si512(v), hi = _mm512_srli_epi32(b, 16);
    const __m512i odd = _mm512_and_si512(hi, _mm512_set1_epi32(1));
    const __m512i up = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(b, _mm512_set1_epi32(0x7fff)), odd), 16);
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    const __mmask16 sub = _mm512_testn_epi32_mask(b, _mm512_set1_epi32(0x7f800000));
    const __m512i r = _mm512_mask_or_epi32(up, nan, hi, _mm512_set1_epi32(0x40));
    return _mm512_mask_and_epi32(r, sub, hi, _mm512_set1_epi32(0x8000));
}
#endif

/* Output (or input) channels per block of Ub and Utb. */
#define WBF_KB 32

/* Whether this CPU has AVX512_BF16 (and the AVX-512F and BW it comes with). */
int wbf_cpu(void);

/* n floats at buf (n even) rounded to bfloat16 (to nearest, ties to even) in place: buf's first n / 2 32-bit
 * words then hold them in order, pairs of neighbours. */
void wbf_to_bf16(float *buf, size_t n);

/* X (tiles, a2, width) floats to out (a2, (tiles + 1) / 2, width) words, each the bfloat16 pair of tiles 2p
 * and 2p + 1 at one point and column (a zero for the missing tile of an odd count). */
void wbf_pair_tiles(const float *X, int tiles, int a2, int width, uint32_t *out);

/* The packed kernels' sizes in words (written by the winograd backend, src/nn/winograd.c): Ub[xi][kb][cp][j]
 * the pair of input channels 2cp, 2cp + 1 at output channel kb * 32 + j (zero past k); Utb[xi][cb][kq][j]
 * the pair of output channels 2kq, 2kq + 1 at input channel cb * 32 + j (zero past c). c and k are even. */
size_t wbf_ub_words(int a2, int c, int k);
size_t wbf_utb_words(int a2, int c, int k);

/* out[t][xi] (width floats) = in[t][xi] (depth / 2 pairs) times the packed kernel P (Ub or Utb of
 * depth, width) for every tile t < tiles and point xi < a2: the forward's and the input gradient's products.
 * in's tile rows are a2 * depth / 2 words apart, out's a2 * width floats. */
void wbf_points(const uint32_t *in, const uint32_t *P, float *out, int tiles, int a2, int depth, int width);

/* dU[xi] (c, k) = beta dU[xi] + sum over the pairs p < pairs of VP[xi][p]^T DP[xi][p], for the points xi0..xi1
 * (VP (a2, pairs, c), DP (a2, pairs, k) from wbf_pair_tiles; beta 0 or 1). */
void wbf_kernel_grad(const uint32_t *VP, const uint32_t *DP, float *dU, int pairs, int xi0, int xi1, int c, int k,
                     int beta);

#endif
