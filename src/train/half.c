/* train/half: the half-width encodings of --allreduce-precision, free of MPI so the unit tests run them under
 * the sanitizers. A gradient bucket travels as bf16 (float32's sign, exponent and top 7 mantissa bits) or IEEE
 * fp16 (5 exponent bits, 10 mantissa bits, subnormals down to 2^-24); both round to nearest, ties to even, as
 * a float32 cast does. dist.c's MPI operation adds two encoded buckets in float32 and rounds the sum back:
 * each hop of the allreduce rounds once.
 * The buckets are encoded, summed and decoded 16 (AVX-512) or 8 (AVX2 with F16C) values at a time where the
 * CPU has them (asked at run time: the build targets any x86-64), else one at a time; the vector code gives
 * the scalar code's bits (tests/test_train_half.c compares them). */
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HALF_X86 1
#endif

#include "train_internal.h"

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The top 16 bits of a float32, rounded: adding 0x7fff plus the kept part's lowest bit carries into it
 * exactly when the dropped half is above one half, or is one half and the kept part is odd. A NaN stays a
 * (quiet) NaN instead of rounding into infinity. */
static uint16_t bf16_from_float(float f)
{
    uint32_t u = float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* Rounds q + r / 2^shift to nearest, ties to even. */
static uint32_t round_shifted(uint32_t v, int shift)
{
    uint32_t q = v >> shift, r = v & ((1u << shift) - 1u), half = 1u << (shift - 1);
    return q + (r > half || (r == half && (q & 1u)));
}

static uint16_t fp16_from_float(float f)
{
    uint32_t u = float_bits(f), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u); /* NaN */
    if (a >= 0x477ff000u)
        return (uint16_t)(sign | 0x7c00u); /* 65520 and above round to infinity (65504 is the largest) */
    if (a >= 0x38800000u)                  /* 2^-14 and above: normal; the exponent rebiased from 127 to 15 */
        return (uint16_t)(sign | round_shifted(a - 0x38000000u, 13)); /* a carry moves into the exponent, rightly */
    if (a <= 0x33000000u)
        return (uint16_t)sign; /* 2^-25 and below round to zero (2^-25, a tie, to the even zero) */
    /* Subnormal: the value in units of 2^-24 is the full mantissa (with its leading 1) shifted right by
     * 126 - exponent, 14..24 places. */
    uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
    return (uint16_t)(sign | round_shifted(m, (int)(126 - e)));
}

static float fp16_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f) /* infinity, or a NaN made quiet (as F16C's conversion does) with its payload kept */
        return bits_float(sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0));
    if (e == 0) {
        float v = (float)m * 0x1p-24f;
        return sign ? -v : v;
    }
    return bits_float(sign | ((e + 112u) << 23) | (m << 13));
}

uint16_t dist_half_from_float(dist_precision p, float f)
{
    return p == DIST_FP16 ? fp16_from_float(f) : bf16_from_float(f);
}

float dist_half_to_float(dist_precision p, uint16_t h)
{
    return p == DIST_FP16 ? fp16_to_float(h) : bits_float((uint32_t)h << 16);
}

/* ---- 8 and 16 at a time ---------------------------------------------------------------------------- */

#ifdef HALF_X86
/* 8 encoded values to float32, exactly: bf16 is the top half of a float32; F16C's conversion is exact. */
__attribute__((target("avx2,f16c"))) static __m256 load8(dist_precision p, const uint16_t *h)
{
    __m128i v = _mm_loadu_si128((const __m128i *)h);
    if (p == DIST_FP16)
        return _mm256_cvtph_ps(v);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16));
}

/* A NaN of F16C's conversion (its payload kept) becomes fp16_from_float's sign | 0x7e00. */
__attribute__((target("avx2"))) static __m128i fp16_nan8(__m128i h)
{
    __m128i nan = _mm_cmpgt_epi16(_mm_and_si128(h, _mm_set1_epi16(0x7fff)), _mm_set1_epi16(0x7c00));
    __m128i quiet = _mm_or_si128(_mm_and_si128(h, _mm_set1_epi16((short)0x8000)), _mm_set1_epi16(0x7e00));
    return _mm_blendv_epi8(h, quiet, nan);
}

/* 8 float32 to 8 encoded values, rounded as bf16_from_float and fp16_from_float do. */
__attribute__((target("avx2,f16c"))) static void store8(dist_precision p, __m256 f, uint16_t *h)
{
    __m128i out;
    if (p == DIST_FP16)
        out = fp16_nan8(_mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    else {
        __m256i u = _mm256_castps_si256(f);
        __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
        __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff))), 16);
        __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)),
                                         _mm256_set1_epi32(0x7f800000));
        r = _mm256_blendv_epi8(r, _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40)), nan);
        /* lanes of 0..0xffff to 16 bits: packus packs within 128-bit halves, the permute joins them */
        out = _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08));
    }
    _mm_storeu_si128((__m128i *)h, out);
}

__attribute__((target("avx512f,avx2,f16c"))) static __m512 load16(dist_precision p, const uint16_t *h)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)h);
    if (p == DIST_FP16)
        return _mm512_cvtph_ps(v);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
}

__attribute__((target("avx512f,avx2,f16c"))) static void store16(dist_precision p, __m512 f, uint16_t *h)
{
    __m256i out;
    if (p == DIST_FP16) {
        out = _mm512_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        out = _mm256_set_m128i(fp16_nan8(_mm256_extracti128_si256(out, 1)), fp16_nan8(_mm256_castsi256_si128(out)));
    } else {
        __m512i u = _mm512_castps_si512(f);
        __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
        __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff))), 16);
        __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                                _mm512_set1_epi32(0x7f800000));
        r = _mm512_mask_blend_epi32(nan, r, _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40)));
        out = _mm512_cvtepi32_epi16(r);
    }
    _mm256_storeu_si256((__m256i *)h, out);
}

/* Each returns how many values it did (a multiple of its width); the scalar loop does the rest. */
__attribute__((target("avx2,f16c"))) static size_t sum8(dist_precision p, const uint16_t *in, uint16_t *inout,
                                                         size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        store8(p, _mm256_add_ps(load8(p, in + i), load8(p, inout + i)), inout + i);
    return i;
}

__attribute__((target("avx512f,avx2,f16c"))) static size_t sum16(dist_precision p, const uint16_t *in,
                                                                  uint16_t *inout, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        store16(p, _mm512_add_ps(load16(p, in + i), load16(p, inout + i)), inout + i);
    return i;
}

__attribute__((target("avx2,f16c"))) static size_t encode8(dist_precision p, const float *x, uint16_t *h, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        store8(p, _mm256_loadu_ps(x + i), h + i);
    return i;
}

__attribute__((target("avx512f,avx2,f16c"))) static size_t encode16(dist_precision p, const float *x, uint16_t *h,
                                                                     size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        store16(p, _mm512_loadu_ps(x + i), h + i);
    return i;
}

__attribute__((target("avx2,f16c"))) static size_t decode8(dist_precision p, const uint16_t *h, float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, load8(p, h + i));
    return i;
}

__attribute__((target("avx512f,avx2,f16c"))) static size_t decode16(dist_precision p, const uint16_t *h, float *x,
                                                                     size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i, load16(p, h + i));
    return i;
}
#endif

half_isa dist_half_isa(void)
{
#ifdef HALF_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c"))
        return __builtin_cpu_supports("avx512f") ? HALF_AVX512 : HALF_AVX2;
#endif
    return HALF_SCALAR;
}

void dist_half_encode_isa(half_isa isa, dist_precision p, const float *x, uint16_t *h, size_t n)
{
    (void)isa; /* without x86 there is only the scalar code */
    size_t i = 0;
#ifdef HALF_X86
    i = isa == HALF_AVX512 ? encode16(p, x, h, n) : isa == HALF_AVX2 ? encode8(p, x, h, n) : 0;
#endif
    for (; i < n; i++)
        h[i] = dist_half_from_float(p, x[i]);
}

void dist_half_decode_isa(half_isa isa, dist_precision p, const uint16_t *h, float *x, size_t n)
{
    (void)isa; /* without x86 there is only the scalar code */
    size_t i = 0;
#ifdef HALF_X86
    i = isa == HALF_AVX512 ? decode16(p, h, x, n) : isa == HALF_AVX2 ? decode8(p, h, x, n) : 0;
#endif
    for (; i < n; i++)
        x[i] = dist_half_to_float(p, h[i]);
}

void dist_half_sum_isa(half_isa isa, dist_precision p, const uint16_t *in, uint16_t *inout, size_t n)
{
    (void)isa; /* without x86 there is only the scalar code */
    size_t i = 0;
#ifdef HALF_X86
    i = isa == HALF_AVX512 ? sum16(p, in, inout, n) : isa == HALF_AVX2 ? sum8(p, in, inout, n) : 0;
#endif
    for (; i < n; i++)
        inout[i] = dist_half_from_float(p, dist_half_to_float(p, in[i]) + dist_half_to_float(p, inout[i]));
}

void dist_half_encode(dist_precision p, const float *x, uint16_t *h, size_t n)
{
    dist_half_encode_isa(dist_half_isa(), p, x, h, n);
}

void dist_half_decode(dist_precision p, const uint16_t *h, float *x, size_t n)
{
    dist_half_decode_isa(dist_half_isa(), p, h, x, n);
}

void dist_half_sum(dist_precision p, const uint16_t *in, uint16_t *inout, size_t n)
{
    dist_half_sum_isa(dist_half_isa(), p, in, inout, n);
}
