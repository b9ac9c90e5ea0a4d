/* train/half: the half-width encodings of --allreduce-precision, free of MPI so the unit tests run them under
 * the sanitizers. A gradient bucket travels as bf16 (float32's sign, exponent and top 7 mantissa bits) or IEEE
 * fp16 (5 exponent bits, 10 mantissa bits, subnormals down to 2^-24); both round to nearest, ties to even, as
 * a float32 cast does. dist.c's MPI operation adds two encoded buckets in float32 and rounds the sum back:
 * each hop of the allreduce rounds once. */
#include <string.h>

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
    if (e == 0x1f)
        return bits_float(sign | 0x7f800000u | (m << 13));
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

void dist_half_encode(dist_precision p, const float *x, uint16_t *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h[i] = dist_half_from_float(p, x[i]);
}

void dist_half_decode(dist_precision p, const uint16_t *h, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = dist_half_to_float(p, h[i]);
}

void dist_half_sum(dist_precision p, const uint16_t *in, uint16_t *inout, size_t n)
{
    for (size_t i = 0; i < n; i++)
        inout[i] = dist_half_from_float(p, dist_half_to_float(p, in[i]) + dist_half_to_float(p, inout[i]));
}
