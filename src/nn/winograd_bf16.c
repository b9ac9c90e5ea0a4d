/* winograd_bf16: the winograd backend's products in bfloat16 (see winograd_bf16.h). The Makefile compiles
 * this file with AVX-512F, BW and BF16; the backend calls it only where wbf_cpu() holds. */
#include "winograd_bf16.h"

size_t wbf_ub_words(int a2, int c, int k)
{
    const size_t kp = ((size_t)k + WBF_KB - 1) / WBF_KB * WBF_KB;
    return (size_t)a2 * (size_t)(c / 2) * kp;
}

size_t wbf_utb_words(int a2, int c, int k) { return wbf_ub_words(a2, k, c); }

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

/* The words and halves are written over floats (wbf_to_bf16 in place) and read back as words: types that
 * may alias any other. */
typedef uint32_t __attribute__((may_alias)) word_t;
typedef uint16_t __attribute__((may_alias)) half_t;

int wbf_cpu(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
}

static __mmask16 first(int n) { return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1); }

void wbf_to_bf16(float *buf, size_t n)
{
    half_t *dst = (half_t *)buf;
    size_t i = 0;
    /* Ascending: block i's 64 bytes of bfloat16 land below every float still to be read. */
    for (; i + 32 <= n; i += 32) {
        const __m512 lo = _mm512_loadu_ps(buf + i), hi = _mm512_loadu_ps(buf + i + 16);
        _mm512_storeu_si512(dst + i, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    for (; i < n; i += 16) { /* the same rounding; each block still read before it is written over */
        const __mmask16 m = first((int)(n - i)); /* n - i < 32 */
        _mm512_mask_cvtepi32_storeu_epi16(dst + i, m, wbf_round(_mm512_maskz_loadu_ps(m, buf + i)));
    }
}

/* Up to 16 words from two float rows: word j = bf16(r0[j]) | bf16(r1[j]) << 16 (r1 NULL: zeros), j < n. */
static void pair16(const float *r0, const float *r1, int n, uint32_t *dst)
{
    const __mmask16 m = first(n);
    const __m512 a = _mm512_maskz_loadu_ps(m, r0), b = r1 ? _mm512_maskz_loadu_ps(m, r1) : _mm512_setzero_ps();
    /* cvtne2ps_pbh(b, a): bf16 lanes 0-15 from a, 16-31 from b; interleaving them gives the pairs. */
    const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(b, a);
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                         21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    _mm512_mask_storeu_epi32(dst, m, _mm512_permutexvar_epi16(idx, both));
}

void wbf_pair_tiles(const float *X, int tiles, int a2, int width, uint32_t *out)
{
    const int pairs = (tiles + 1) / 2;
    for (int p = 0; p < pairs; p++)
        for (int xi = 0; xi < a2; xi++) {
            const float *r0 = X + ((size_t)(2 * p) * a2 + xi) * width;
            const float *r1 = 2 * p + 1 < tiles ? r0 + (size_t)a2 * width : NULL;
            uint32_t *dst = out + ((size_t)xi * pairs + p) * width;
            for (int j = 0; j < width; j += 16)
                pair16(r0 + j, r1 ? r1 + j : NULL, width - j, dst + j);
        }
}

/* o[i][0..nk) (= or +=, beta) sum over s < steps of the pairs a[i][s * as] times u[s * us + 0..nk), for the
 * rows i < nr (nr <= 6, nk <= 32): twelve accumulators, each step two loads of u, six broadcasts and twelve
 * vdpbf16ps. Rows past nr are read (a[] points them at a real row) but not written. */
static void rows6(int steps, const word_t *const *a, size_t as, const uint32_t *u, size_t us, float *const *o,
                  int nr, int nk, int beta)
{
    const word_t *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5];
    const __mmask16 m0 = first(nk), m1 = first(nk - 16);
    __m512 s00 = _mm512_setzero_ps(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00,
           s40 = s00, s41 = s00, s50 = s00, s51 = s00;
    for (int s = 0; s < steps; s++, u += us) {
        const __m512bh b0 = (__m512bh)_mm512_maskz_loadu_epi32(m0, u), b1 = (__m512bh)_mm512_maskz_loadu_epi32(m1, u + 16);
        const size_t at = (size_t)s * as;
#define ROW(i)                                                                                                    \
    {                                                                                                             \
        const __m512bh x = (__m512bh)_mm512_set1_epi32((int)a##i[at]);                                          \
        s##i##0 = _mm512_dpbf16_ps(s##i##0, x, b0);                                                               \
        s##i##1 = _mm512_dpbf16_ps(s##i##1, x, b1);                                                               \
    }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
    }
    const __m512 r[6][2] = {{s00, s01}, {s10, s11}, {s20, s21}, {s30, s31}, {s40, s41}, {s50, s51}};
    for (int i = 0; i < nr; i++) {
        __m512 v0 = r[i][0], v1 = r[i][1];
        if (beta) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, o[i]));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, o[i] + 16));
        }
        _mm512_mask_storeu_ps(o[i], m0, v0);
        _mm512_mask_storeu_ps(o[i] + 16, m1, v1);
    }
}

void wbf_points(const uint32_t *in, const uint32_t *P, float *out, int tiles, int a2, int depth, int width)
{
    const int d2 = depth / 2, nkb = (width + WBF_KB - 1) / WBF_KB;
    const size_t irow = (size_t)a2 * d2, orow = (size_t)a2 * width;
    for (int xi = 0; xi < a2; xi++)
        for (int kb = 0; kb < nkb; kb++) {
            const uint32_t *u = P + ((size_t)xi * nkb + kb) * d2 * WBF_KB;
            const int nk = width - kb * WBF_KB < WBF_KB ? width - kb * WBF_KB : WBF_KB;
            for (int t = 0; t < tiles; t += 6) {
                const int nr = tiles - t < 6 ? tiles - t : 6;
                const word_t *a[6];
                float *o[6];
                for (int i = 0; i < 6; i++) {
                    const int row = t + (i < nr ? i : nr - 1);
                    a[i] = in + row * irow + (size_t)xi * d2;
                    o[i] = out + row * orow + (size_t)xi * width + kb * WBF_KB;
                }
                rows6(d2, a, 1, u, WBF_KB, o, nr, nk, 0);
            }
        }
}

void wbf_kernel_grad(const uint32_t *VP, const uint32_t *DP, float *dU, int pairs, int xi0, int xi1, int c, int k,
                     int beta)
{
    for (int xi = xi0; xi < xi1; xi++) {
        const uint32_t *vp = VP + (size_t)xi * pairs * c, *dp = DP + (size_t)xi * pairs * k;
        float *du = dU + (size_t)xi * c * k;
        for (int k0 = 0; k0 < k; k0 += WBF_KB) {
            const int nk = k - k0 < WBF_KB ? k - k0 : WBF_KB;
            for (int c0 = 0; c0 < c; c0 += 6) {
                const int nr = c - c0 < 6 ? c - c0 : 6;
                const word_t *a[6];
                float *o[6];
                for (int i = 0; i < 6; i++) {
                    const int ch = c0 + (i < nr ? i : nr - 1);
                    a[i] = vp + ch;
                    o[i] = du + (size_t)ch * k + k0;
                }
                rows6(pairs, a, (size_t)c, dp + k0, (size_t)k, o, nr, nk, beta);
            }
        }
    }
}
#else
/* Not an x86-64 build: no bfloat16 products, and wbf_cpu() says so. */
int wbf_cpu(void) { return 0; }
void wbf_to_bf16(float *buf, size_t n) { (void)buf, (void)n; }
void wbf_pair_tiles(const float *X, int tiles, int a2, int width, uint32_t *out)
{
    (void)X, (void)tiles, (void)a2, (void)width, (void)out;
}
void wbf_points(const uint32_t *in, const uint32_t *P, float *out, int tiles, int a2, int depth, int width)
{
    (void)in, (void)P, (void)out, (void)tiles, (void)a2, (void)depth, (void)width;
}
void wbf_kernel_grad(const uint32_t *VP, const uint32_t *DP, float *dU, int pairs, int xi0, int xi1, int c, int k,
                     int beta)
{
    (void)VP, (void)DP, (void)dU, (void)pairs, (void)xi0, (void)xi1, (void)c, (void)k, (void)beta;
}
#endif
