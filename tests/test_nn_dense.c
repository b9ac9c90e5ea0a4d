/* Unit tests of the Dense layers' products (src/nn/dense.c): the forward x W, the input gradient dy W^T and
 * the kernel gradient beta W + alpha x^T dy, and both gradients in one pass (dense_step), in every copy this
 * CPU runs (portable: sgemm; AVX2 and AVX-512: nn's own kernels on a million weights or more), against sums
 * in double over the models' Dense shapes at their batches and odd ones: column counts that fill no whole
 * block, one row, rows that fill no whole group, and a batch past each kernel's limit (sgemm again). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <cmocka.h>

#include "nn_testing.h"
#include "testing.h"

/* Float sums of up to 4096 terms of magnitude 1 against double ones: a few 1e-6 of the largest result. */
#define TOL 2e-5

static void check(const char *what, int isa, int n, int in, int out, const float *got, const double *want,
                  size_t len)
{
    double mx = 0;
    for (size_t i = 0; i < len; i++)
        mx = fabs(want[i]) > mx ? fabs(want[i]) : mx;
    for (size_t i = 0; i < len; i++)
        if (!(fabs(got[i] - want[i]) <= TOL * mx))
            fail_msg("%s (copy %d) n=%d in=%d out=%d [%zu]: %.7g, expected %.7g (largest %.3g)", what, isa, n, in,
                     out, i, (double)got[i], want[i], mx);
}

/* The sums in double: y = x W, dx = dy W^T and alpha x^T dy. One thread runs them, so ThreadSanitizer has
 * nothing to check here, and instrumented they were most of this binary's time under it (about a billion
 * multiply-adds over the shapes). */
#if defined(__GNUC__)
__attribute__((no_sanitize("thread")))
#endif
static void references(double *ry, double *rdx, double *rk, const float *x, const float *w, const float *dy,
                       int n, int in, int out, float alpha)
{
    for (int t = 0; t < n; t++)
        for (int j = 0; j < out; j++) {
            double s = 0;
            for (int c = 0; c < in; c++)
                s += (double)x[(size_t)t * in + c] * w[(size_t)c * out + j];
            ry[(size_t)t * out + j] = s;
        }
    for (int t = 0; t < n; t++)
        for (int c = 0; c < in; c++) {
            double s = 0;
            for (int j = 0; j < out; j++)
                s += (double)dy[(size_t)t * out + j] * w[(size_t)c * out + j];
            rdx[(size_t)t * in + c] = s;
        }
    for (int c = 0; c < in; c++)
        for (int j = 0; j < out; j++) {
            double s = 0;
            for (int t = 0; t < n; t++)
                s += (double)x[(size_t)t * in + c] * dy[(size_t)t * out + j];
            rk[(size_t)c * out + j] = (double)alpha * s;
        }
}

/* One shape against sums in double, computed once, in every copy from best down. */
static void products_case(int best, int n, int in, int out, uint64_t seed)
{
    float *x = randf((size_t)n * in, seed, -1, 1), *w = randf((size_t)in * out, seed + 1, -1, 1);
    float *dy = randf((size_t)n * out, seed + 2, -1, 1), *w0 = randf((size_t)in * out, seed + 3, -1, 1);
    float *y = malloc(sizeof(float) * n * out), *dx = malloc(sizeof(float) * n * in);
    float *k = malloc(sizeof(float) * in * out);
    double *ry = malloc(sizeof(double) * n * out), *rdx = malloc(sizeof(double) * n * in);
    double *rk = malloc(sizeof(double) * in * out);
    /* The step's result is mostly beta w0: the alpha x^T dy part is held to the tolerance on its own scale. */
    const float alpha = -0.01f, beta = 0.999f;
    references(ry, rdx, rk, x, w, dy, n, in, out, alpha);
    for (int isa = best; isa >= NN_ISA_PORTABLE; isa--) {
        nn_set_isa_cap(isa);
        memset(y, 0xff, sizeof(float) * n * out); /* NaN everywhere: every element must be written */
        memset(dx, 0xff, sizeof(float) * n * in);
        dense_xw(y, x, w, n, in, out);
        check("x W", isa, n, in, out, y, ry, (size_t)n * out);
        dense_dyw(dx, dy, w, n, in, out);
        check("dy W^T", isa, n, in, out, dx, rdx, (size_t)n * in);
        memcpy(k, w0, sizeof(float) * in * out);
        dense_xdy(k, x, dy, n, in, out, alpha, beta);
        for (size_t i = 0; i < (size_t)in * out; i++)
            k[i] -= beta * w0[i];
        check("beta W + alpha x^T dy", isa, n, in, out, k, rk, (size_t)in * out);
        /* Both gradients in one pass: dx from W before the step, the step on W itself (SGD's), on a
         * gradient beside it, and with beta 0 (t not read: NaN there must not show). */
        memcpy(k, w, sizeof(float) * in * out);
        memset(dx, 0xff, sizeof(float) * n * in);
        dense_step(dx, k, k, x, dy, n, in, out, alpha, beta);
        check("dense_step: dy W^T", isa, n, in, out, dx, rdx, (size_t)n * in);
        for (size_t i = 0; i < (size_t)in * out; i++)
            k[i] -= beta * w[i];
        check("dense_step: beta W + alpha x^T dy on W", isa, n, in, out, k, rk, (size_t)in * out);
        memset(k, 0xff, sizeof(float) * in * out);
        dense_step(NULL, k, w, x, dy, n, in, out, alpha, 0.0f);
        check("dense_step: alpha x^T dy, beta 0", isa, n, in, out, k, rk, (size_t)in * out);
    }
    nn_set_isa_cap(NN_ISA_AVX512);
    free(x), free(w), free(dy), free(w0), free(y), free(dx), free(k), free(ry), free(rdx), free(rk);
}

static void products_match_double(void **state)
{
    (void)state;
    static const int shapes[][3] = {
        /* n, in, out */
        {32, 256, 4096}, {32, 2048, 100}, {32, 256, 128}, {32, 128, 100}, /* the models' kinds of Dense */
        /* odd ones with the own kernel (a million weights, 512 columns or more): columns that fill no
         * whole block, a row, rows that fill no whole group, 64 rows; and 65 rows (sgemm) */
        {1, 257, 4111}, {13, 256, 4100}, {64, 256, 4096}, {65, 20, 33}, {13, 7, 5}, {5, 1, 1},
        /* the backward's kernel: batches of 1 to 4 vectors of either copy, rows that fill no block, columns
         * that fill no panel */
        {20, 300, 4096}, {32, 4100, 300}, {40, 262, 4097}, {33, 1030, 1030}, {7, 2100, 520},
    };
    const int best = nn_set_isa_cap(NN_ISA_AVX512);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        products_case(best, shapes[s][0], shapes[s][1], shapes[s][2], 100 + 10 * s);
}

/* The kernel gradient added up (alpha = beta = 1) onto what dw held: twice the same batch is twice its
 * gradient. */
static void gradient_adds_up(void **state)
{
    (void)state;
    const int n = 32, in = 70, out = 50;
    float *x = randf((size_t)n * in, 1, -1, 1), *dy = randf((size_t)n * out, 2, -1, 1);
    float *once = calloc((size_t)in * out, sizeof(float)), *twice = calloc((size_t)in * out, sizeof(float));
    dense_xdy(once, x, dy, n, in, out, 1.0f, 1.0f);
    dense_xdy(twice, x, dy, n, in, out, 1.0f, 1.0f);
    dense_xdy(twice, x, dy, n, in, out, 1.0f, 1.0f);
    double any = 0;
    for (size_t i = 0; i < (size_t)in * out; i++) {
        assert_float_equal(twice[i], 2 * once[i], 1e-5);
        any += fabs(once[i]);
    }
    assert_true(any > 1.0);
    free(x), free(dy), free(once), free(twice);
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_testing_start(argv);
    vt_err err;
    nn_set_threads(3); /* three workers: the columns and rows split unevenly between them */
    assert_int_equal(nn_pool_start(3, &err), VT_OK);
    /* OpenBLAS (the portable copy's and the large batch's sgemm) on one thread: its own threads' handovers
     * are invisible to ThreadSanitizer, which this binary runs under too (make test). */
    openblas_set_num_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(products_match_double),
        cmocka_unit_test(gradient_adds_up),
    };
    return cmocka_run_group_tests_name("nn_dense", tests, NULL, NULL);
}
