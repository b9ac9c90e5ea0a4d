/* Unit tests of the half-width gradient encodings of --allreduce-precision (src/train/half.c): bf16 and fp16
 * from float32 round to nearest with ties to even at every boundary (bf16's 16 dropped bits, fp16's 13, its
 * subnormals and its overflow), keep signs, infinities and NaNs, and decode exactly; the MPI operation's sum
 * rounds the float32 sum once. Where the compiler has _Float16, fp16 also agrees with its conversions over a
 * million random floats of every magnitude. The vector code (AVX2 with F16C, AVX-512: each that this CPU runs)
 * encodes, sums and decodes to the scalar code's bits, over every special value and random bit patterns. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../src/train/train_internal.h"

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void bf16_rounds_to_nearest_even(void **state)
{
    (void)state;
    static const struct {
        uint32_t in;
        uint16_t out;
    } cases[] = {
        {0x3f800000, 0x3f80}, /* 1 */
        {0x3f807fff, 0x3f80}, /* just below half an ulp: down */
        {0x3f808000, 0x3f80}, /* a tie, kept part even: down */
        {0x3f808001, 0x3f81}, /* just above half: up */
        {0x3f818000, 0x3f82}, /* a tie, kept part odd: up to even */
        {0xbf818000, 0xbf82}, /* the same, negative */
        {0x7f7fffff, 0x7f80}, /* the largest float rounds to infinity */
        {0x7f800000, 0x7f80}, /* infinity */
        {0x80000000, 0x8000}, /* -0 */
        {0x00000001, 0x0000}, /* the smallest subnormal: to zero */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(dist_half_from_float(DIST_BF16, from_bits(cases[i].in)), cases[i].out);
    uint16_t nan = dist_half_from_float(DIST_BF16, from_bits(0x7f800001)); /* a NaN whose payload is in the low bits */
    assert_true(isnan(dist_half_to_float(DIST_BF16, nan)));
    assert_true(dist_half_to_float(DIST_BF16, 0x3f82) == 1.015625f);
    assert_true(dist_half_to_float(DIST_BF16, 0xc2f7) == -123.5f);
}

static void fp16_rounds_to_nearest_even(void **state)
{
    (void)state;
    static const struct {
        float in;
        uint16_t out;
    } cases[] = {
        {1.0f, 0x3c00},
        {-2.0f, 0xc000},
        {1.0f + 0x1p-11f, 0x3c00},            /* a tie, even: down */
        {1.0f + 3 * 0x1p-11f, 0x3c02},        /* a tie, odd: up */
        {1.0f + 0x1p-11f + 0x1p-20f, 0x3c01}, /* above the tie: up */
        {65504.0f, 0x7bff},                   /* the largest fp16 */
        {65519.0f, 0x7bff},                   /* below the tie with 65536: down */
        {65520.0f, 0x7c00},                   /* the tie: to infinity, the even side */
        {-1e9f, 0xfc00},
        {0x1p-14f, 0x0400},                   /* the smallest normal */
        {0x1p-14f - 0x1p-25f, 0x0400},        /* a tie just below it, odd subnormal 0x3ff: up into the normals */
        {0x1p-24f, 0x0001},                   /* the smallest subnormal */
        {0x1p-25f, 0x0000},                   /* a tie with zero: down to even */
        {0x1p-25f + 0x1p-40f, 0x0001},        /* above the tie */
        {3 * 0x1p-25f, 0x0002},               /* a tie between 1 and 2 units: up to even */
        {-0x1p-26f, 0x8000},                  /* to -0 */
        {0.1f, 0x2e66},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(dist_half_from_float(DIST_FP16, cases[i].in), cases[i].out);
    assert_true(dist_half_to_float(DIST_FP16, 0x0001) == 0x1p-24f);
    assert_true(dist_half_to_float(DIST_FP16, 0x83ff) == -1023 * 0x1p-24f);
    assert_true(dist_half_to_float(DIST_FP16, 0x7bff) == 65504.0f);
    assert_true(isinf(dist_half_to_float(DIST_FP16, 0xfc00)) && dist_half_to_float(DIST_FP16, 0xfc00) < 0);
    assert_true(isnan(dist_half_to_float(DIST_FP16, dist_half_from_float(DIST_FP16, NAN))));
}

/* Every 16-bit value decodes and encodes back to itself (NaNs to a NaN). */
static void every_half_survives_a_round_trip(void **state)
{
    (void)state;
    for (int p = DIST_BF16; p <= DIST_FP16; p++)
        for (uint32_t h = 0; h <= 0xffff; h++) {
            float f = dist_half_to_float((dist_precision)p, (uint16_t)h);
            if (isnan(f))
                assert_true(isnan(dist_half_to_float((dist_precision)p, dist_half_from_float((dist_precision)p, f))));
            else
                assert_int_equal(dist_half_from_float((dist_precision)p, f), h);
        }
}

/* The encoding of a bucket, its sum (one rounding of the float32 sum) and its decoding. */
static void bucket_sums_round_once(void **state)
{
    (void)state;
    const float a[] = {1.0f, 0.1f, -3.0f, 1e-3f}, b[] = {0x1p-9f, 0.2f, 3.0f, 2e-3f};
    for (int p = DIST_BF16; p <= DIST_FP16; p++) {
        uint16_t ha[4], hb[4];
        float out[4];
        dist_half_encode((dist_precision)p, a, ha, 4);
        dist_half_encode((dist_precision)p, b, hb, 4);
        dist_half_sum((dist_precision)p, ha, hb, 4);
        dist_half_decode((dist_precision)p, hb, out, 4);
        for (int i = 0; i < 4; i++) {
            float exact = dist_half_to_float((dist_precision)p, dist_half_from_float((dist_precision)p, a[i])) +
                          dist_half_to_float((dist_precision)p, dist_half_from_float((dist_precision)p, b[i]));
            assert_true(out[i] == dist_half_to_float((dist_precision)p, dist_half_from_float((dist_precision)p, exact)));
            assert_true(fabsf(out[i] - (a[i] + b[i])) <= fabsf(a[i] + b[i]) * (p == DIST_BF16 ? 0x1p-7f : 0x1p-10f));
        }
    }
    /* 1 + 0.75 bf16 ulp (2^-7) rounds up, where cutting the float32 sum to 16 bits would give 1. */
    uint16_t x = dist_half_from_float(DIST_BF16, 1.5f * 0x1p-8f), y = dist_half_from_float(DIST_BF16, 1.0f);
    dist_half_sum(DIST_BF16, &x, &y, 1);
    assert_true(dist_half_to_float(DIST_BF16, y) == 1.0f + 0x1p-7f);
}

#ifdef __FLT16_MAX__
/* fp16 agrees with the compiler's float-to-_Float16 conversion (round to nearest even) everywhere. */
static void fp16_agrees_with_the_compiler(void **state)
{
    (void)state;
    uint32_t s = 12345;
    for (int i = 0; i < 1000000; i++) {
        s = s * 1664525u + 1013904223u;
        /* exponents 2^-30..2^20 mostly, the rest anywhere */
        uint32_t bits = i % 4 ? (s & 0x807fffffu) | ((97u + (s >> 8) % 52u) << 23) : s;
        float f = from_bits(bits);
        _Float16 h = (_Float16)f;
        uint16_t want;
        memcpy(&want, &h, sizeof want);
        if (isnan(f))
            continue;
        assert_int_equal(dist_half_from_float(DIST_FP16, f), want);
        assert_true(dist_half_to_float(DIST_FP16, want) == (float)h);
    }
}
#endif

/* Bit patterns for the vector tests: every 16-bit value's float (zeros, subnormals, infinities, NaNs, the
 * rounding ties of both encodings) and as many random ones; n is no multiple of 16, so the tails run too. */
#define VEC_N (2 * 65536 + 13)
static void vector_inputs(dist_precision p, float *x, uint16_t *a, uint16_t *b)
{
    uint32_t s = 2024;
    for (size_t i = 0; i < VEC_N; i++) {
        s = s * 1664525u + 1013904223u;
        uint32_t bits = i < 65536 ? (uint32_t)i << 16 | (s >> 16) : s;
        x[i] = from_bits(i % 3 ? bits : (bits & 0x807fffffu) | ((103u + (s >> 9) % 40u) << 23));
        a[i] = i < 65536 ? (uint16_t)i : (uint16_t)(s >> 16);
        b[i] = (uint16_t)(s * 2654435761u >> 16);
        if (i % 5 == 0) /* neighbours: sums that cancel or carry */
            b[i] = (uint16_t)(a[i] ^ (p == DIST_FP16 ? 0x8001u : 0x8000u));
    }
}

static void the_vector_code_gives_the_scalar_bits(void **state)
{
    (void)state;
    float *x = malloc(sizeof(float) * VEC_N), *fx = malloc(sizeof(float) * VEC_N),
          *fv = malloc(sizeof(float) * VEC_N);
    uint16_t *a = malloc(sizeof(uint16_t) * VEC_N), *b = malloc(sizeof(uint16_t) * VEC_N),
             *hs = malloc(sizeof(uint16_t) * VEC_N), *hv = malloc(sizeof(uint16_t) * VEC_N);
    assert_non_null(x && fx && fv && a && b && hs && hv);
    int kinds = 0;
    for (half_isa isa = HALF_AVX2; isa <= dist_half_isa(); isa++)
        for (int p = DIST_BF16; p <= DIST_FP16; p++, kinds++) {
            const dist_precision q = (dist_precision)p;
            vector_inputs(q, x, a, b);
            dist_half_encode_isa(HALF_SCALAR, q, x, hs, VEC_N);
            dist_half_encode_isa(isa, q, x, hv, VEC_N);
            assert_memory_equal(hs, hv, sizeof(uint16_t) * VEC_N);
            dist_half_decode_isa(HALF_SCALAR, q, a, fx, VEC_N);
            dist_half_decode_isa(isa, q, a, fv, VEC_N);
            for (size_t i = 0; i < VEC_N; i++) /* bits, not values: -0 and NaN payloads count */
                assert_memory_equal(&fx[i], &fv[i], sizeof(float));
            memcpy(hs, b, sizeof(uint16_t) * VEC_N);
            memcpy(hv, b, sizeof(uint16_t) * VEC_N);
            dist_half_sum_isa(HALF_SCALAR, q, a, hs, VEC_N);
            dist_half_sum_isa(isa, q, a, hv, VEC_N);
            for (size_t i = 0; i < VEC_N; i++) {
                /* Two NaNs: which one's sign and payload the sum keeps is the compiler's choice of operand
                 * order in the scalar code; it must be a NaN. */
                if (isnan(dist_half_to_float(q, a[i])) && isnan(dist_half_to_float(q, b[i])))
                    assert_true(isnan(dist_half_to_float(q, hs[i])) && isnan(dist_half_to_float(q, hv[i])));
                else if (hs[i] != hv[i])
                    fail_msg("isa %d, %s: %04x + %04x is %04x, the scalar code's %04x", (int)isa,
                             q == DIST_FP16 ? "fp16" : "bf16", a[i], b[i], hv[i], hs[i]);
            }
        }
    /* The public functions take the best kind: the scalar bits again. */
    vector_inputs(DIST_BF16, x, a, b);
    dist_half_encode(DIST_BF16, x, hv, VEC_N);
    dist_half_encode_isa(HALF_SCALAR, DIST_BF16, x, hs, VEC_N);
    assert_memory_equal(hs, hv, sizeof(uint16_t) * VEC_N);
    print_message("compared %d vector kinds with the scalar code\n", kinds);
    free(x), free(fx), free(fv), free(a), free(b), free(hs), free(hv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bf16_rounds_to_nearest_even),
        cmocka_unit_test(fp16_rounds_to_nearest_even),
        cmocka_unit_test(every_half_survives_a_round_trip),
        cmocka_unit_test(bucket_sums_round_once),
        cmocka_unit_test(the_vector_code_gives_the_scalar_bits),
#ifdef __FLT16_MAX__
        cmocka_unit_test(fp16_agrees_with_the_compiler),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
