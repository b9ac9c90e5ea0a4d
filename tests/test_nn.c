/* Unit tests of nn's layer kernels: every backward against central finite differences of its forward,
 * the im2col convolution against the naive loops, softmax and cross-entropy against hand-derived values,
 * and a conv+pool+dense stack against PyTorch (tests/tools/nn_torch_fixture.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "vggtop/nn.h"
#include "nn_testing.h"
#include "testing.h"


static float *zerof(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    assert_non_null(p);
    return p;
}

/* Distinct values spaced 0.01 apart in a random order: no two entries of a pooling window are within a
 * finite-difference step of each other, so the max never switches during a check. */
static float *distinctf(size_t n, uint64_t seed)
{
    float *p = malloc(sizeof(float) * n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = -0.5f * (float)n * 0.01f + 0.01f * (float)i + 0.005f; /* never exactly 0 */
    vt_rng r;
    vt_rng_seed(&r, seed);
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = vt_rng_below(&r, (uint32_t)(i + 1));
        float t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    return p;
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* The scalar every check differentiates: L = sum(out * R) for a fixed random R, so dL/dout = R. */
typedef double (*loss_fn)(void *ctx);

/* Central differences of f w.r.t. p[i] against the analytic g[i], for all entries (or an evenly strided
 * sample of 150 of them). The error allowed is tol times the largest |g|: a wrong backward (a transposed
 * kernel, a missed term, an off-by-one window) is off by the order of the gradient itself. */
static void check_grad(const char *what, loss_fn f, void *ctx, float *p, const float *g, size_t count, float eps,
                       double tol)
{
    double gmax = 0.0;
    for (size_t i = 0; i < count; i++)
        gmax = fmax(gmax, fabs(g[i]));
    assert_true(gmax > 0.0); /* an all-zero gradient would check nothing */
    size_t step = count > 150 ? count / 150 : 1;
    for (size_t i = 0; i < count; i += step) {
        float old = p[i];
        float up = old + eps, down = old - eps;
        p[i] = up;
        double lp = f(ctx);
        p[i] = down;
        double lm = f(ctx);
        p[i] = old;
        double num = (lp - lm) / ((double)up - (double)down);
        if (fabs(num - g[i]) > tol * gmax)
            fail_msg("%s[%zu]: analytic %.6g, numeric %.6g (largest |g| %.3g)", what, i, (double)g[i], num, gmax);
    }
}

/* ---- Conv2D --------------------------------------------------------------------------------------- */

typedef struct conv_case {
    conv_geom g;
    int relu;
    float *x, *w, *b, *out, *col, *r;
    conv_layer *cl; /* a planned backend's layer, or NULL: the gemm kernels */
} conv_case;

static double conv_loss(void *ctx)
{
    conv_case *c = ctx;
    if (c->cl)
        c->cl->be->forward(c->cl, c->out, c->col, c->x, c->w, c->b, c->g.n);
    else
        conv2d_forward(c->out, c->col, c->x, c->w, c->b, &c->g, c->relu);
    return dot(c->out, c->r, (size_t)c->g.n * c->g.oh * c->g.ow * c->g.oc);
}

static void conv_case_run(int n, int h, int w, int ci, int oc, int kh, int kw, int stride, int same, int relu,
                          uint64_t seed)
{
    conv_case c = {.relu = relu};
    conv_geom_init(&c.g, n, h, w, ci, oc, kh, kw, stride, same);
    size_t xs = (size_t)n * h * w * ci, ws = (size_t)kh * kw * ci * oc, os = (size_t)n * c.g.oh * c.g.ow * oc;
    c.x = randf(xs, seed, -1.0f, 1.0f);
    c.w = randf(ws, seed + 1, -0.5f, 0.5f);
    c.b = randf((size_t)oc, seed + 2, -0.2f, 0.2f);
    c.r = randf(os, seed + 3, -1.0f, 1.0f);
    c.out = zerof(os);
    c.col = zerof(conv_col_size(&c.g));
    float *dx = zerof(xs), *dw = zerof(ws), *db = zerof((size_t)oc), *dout = zerof(os);

    conv_loss(&c);
    memcpy(dout, c.r, sizeof(float) * os);
    conv2d_backward(dx, dw, db, c.col, dout, c.out, c.x, c.w, &c.g, relu);
    check_grad("conv dx", conv_loss, &c, c.x, dx, xs, 1e-3f, 1e-2);
    check_grad("conv dw", conv_loss, &c, c.w, dw, ws, 1e-3f, 1e-2);
    check_grad("conv db", conv_loss, &c, c.b, db, (size_t)oc, 1e-3f, 1e-2);

    /* Weight gradients accumulate: a second backward doubles them; dx is overwritten, not doubled. */
    float *dw1 = malloc(sizeof(float) * ws), *dx1 = malloc(sizeof(float) * xs);
    memcpy(dw1, dw, sizeof(float) * ws);
    memcpy(dx1, dx, sizeof(float) * xs);
    memcpy(dout, c.r, sizeof(float) * os);
    conv2d_backward(dx, dw, db, c.col, dout, c.out, c.x, c.w, &c.g, relu);
    for (size_t i = 0; i < ws; i++)
        assert_float_equal(dw[i], 2.0f * dw1[i], 1e-5f * (1.0f + fabsf(dw1[i])));
    for (size_t i = 0; i < xs; i++)
        assert_float_equal(dx[i], dx1[i], 1e-6f);

    free(dw1);
    free(dx1);
    free(c.x);
    free(c.w);
    free(c.b);
    free(c.r);
    free(c.out);
    free(c.col);
    free(dx);
    free(dw);
    free(db);
    free(dout);
}

/* A planned layer (cl, its ReLU) on n images against central differences of its own forward at step eps
 * (tol: check_grad's), kernel entries drawn from +-wmax; label names it in the messages. */
static void planned_grads(conv_layer *cl, int n, float wmax, float eps, double tol, uint64_t seed, const char *label)
{
    conv_case c = {.g = cl->g, .relu = cl->relu, .cl = cl};
    c.g.n = n;
    const conv_geom *g = &c.g;
    size_t xs = (size_t)n * g->h * g->w * g->c, ws = (size_t)9 * g->c * g->oc, os = (size_t)n * g->h * g->w * g->oc;
    c.x = randf(xs, seed, -1.0f, 1.0f);
    c.w = randf(ws, seed + 1, -wmax, wmax);
    c.b = randf((size_t)g->oc, seed + 2, -0.2f, 0.2f);
    c.r = randf(os, seed + 3, -1.0f, 1.0f);
    c.out = zerof(os);
    c.col = zerof(cl->be->workspace(&cl->g));
    float *dx = zerof(xs), *dw = zerof(ws), *db = zerof((size_t)g->oc), *dout = zerof(os);
    conv_loss(&c);
    memcpy(dout, c.r, sizeof(float) * os);
    cl->be->backward(cl, dx, c.w, c.b, dw, db, c.col, dout, c.out, c.x, n, NULL);
    char what[96];
    snprintf(what, sizeof what, "%.80s dx", label);
    check_grad(what, conv_loss, &c, c.x, dx, xs, eps, tol);
    snprintf(what, sizeof what, "%.80s dw", label);
    check_grad(what, conv_loss, &c, c.w, dw, ws, eps, tol);
    snprintf(what, sizeof what, "%.80s db", label);
    check_grad(what, conv_loss, &c, c.b, db, (size_t)g->oc, eps, tol);
    free(c.x), free(c.w), free(c.b), free(c.r), free(c.out), free(c.col);
    free(dx), free(dw), free(db), free(dout);
}

/* Every convolution backend and variant this machine runs (each copy of those built in copies, the lower
 * ones forced), its backward against central differences of its own forward, on a 3x3 'same' layer small
 * enough to difference every entry: 2 images of 5x5, 6 channels in, 5 out, with the ReLU. */
static void backend_grads_match_finite_differences(void **state)
{
    (void)state;
    const int n = 2, h = 5, w = 5, ci = 6, oc = 5;
    const int best = nn_set_isa_cap(NN_ISA_AVX512);
    for (int v = 0; v < CONV_VARIANTS; v++)
        for (int isa = best; isa >= NN_ISA_PORTABLE; isa--) {
            conv_layer cl;
            memset(&cl, 0, sizeof cl);
            conv_geom_init(&cl.g, n, h, w, ci, oc, 3, 3, 1, 1);
            cl.relu = 1;
            cl.be = conv_variant_backend(&conv_variants[v], &cl.g);
            if (!cl.be || (isa != best && !cl.be->in_copies))
                continue;
            cl.algo = conv_variants[v].algo;
            nn_set_isa_cap(isa);
            vt_err err;
            assert_int_equal(cl.be->plan(&cl, &err), VT_OK);
            char label[64];
            snprintf(label, sizeof label, "%.31s (copy %d)", conv_variants[v].label, isa);
            planned_grads(&cl, n, 0.5f, 1e-3f, 1e-2, 70 + (uint64_t)v, label);
            cl.be->release(&cl);
        }
    nn_set_isa_cap(NN_ISA_AVX512);
}

/* The winograd backend's F(3x3) over 128 channels each way (big plans: the forward's products over every tile
 * of the batch on its own kernel, and on these few tiles the kernel gradient in one pass into dw), on both
 * ISA copies this machine has, at two threads (the plans split points and column blocks between them). No
 * ReLU: the loss is linear in every entry, so a large step keeps the rounding of 160 channels' sums out of
 * the difference. A sample of 150 entries of each array. */
static void winograd_big_grads_match_finite_differences(void **state)
{
    (void)state;
    static const int shapes[][5] = {{2, 3, 3, 160, 192}, {1, 6, 6, 192, 160}}; /* n, h, w, c, oc */
    const int best = nn_set_isa_cap(NN_ISA_AVX512);
    size_t nshapes = sizeof shapes / sizeof shapes[0];
    /* The copies with big plans (the portable one has none: its F(3x3) is test_nn_conv's and the small
     * layers' above), or the portable one on a CPU without AVX2. */
    int lowest = best > NN_ISA_AVX2 ? NN_ISA_AVX2 : best;
#if defined(__SANITIZE_ADDRESS__)
    /* Instrumented, each shape and copy took about 3 s (this binary's other tests together: 1 s): the 3x3
     * shape on the best copy alone; the optimised build runs every one. */
    nshapes = 1;
    lowest = best;
#endif
    nn_set_threads(2);
    for (size_t s = 0; s < nshapes; s++)
        for (int isa = best; isa >= lowest; isa--) {
            const int n = shapes[s][0], h = shapes[s][1], w = shapes[s][2], ci = shapes[s][3], oc = shapes[s][4];
            conv_layer cl;
            memset(&cl, 0, sizeof cl);
            conv_geom_init(&cl.g, n + 1, h, w, ci, oc, 3, 3, 1, 1); /* planned for one image more */
            cl.be = conv_backend_find("winograd");
            cl.algo = CONV_ALGO_F3;
            nn_set_isa_cap(isa);
            vt_err err;
            assert_int_equal(cl.be->plan(&cl, &err), VT_OK);
            char label[64];
            snprintf(label, sizeof label, "winograd:f3 %dx%dx%d->%d (copy %d)", h, w, ci, oc, isa);
            planned_grads(&cl, n, 0.05f, 0.05f, 1e-3, 80 + s, label);
            cl.be->release(&cl);
        }
    nn_set_threads(1);
    nn_set_isa_cap(NN_ISA_AVX512);
}

static void conv_grad_3x3_same_relu(void **state)
{
    (void)state;
    conv_case_run(2, 5, 4, 3, 4, 3, 3, 1, 1, 1, 11);
}

static void conv_grad_3x3_same_linear(void **state)
{
    (void)state;
    conv_case_run(2, 4, 5, 2, 3, 3, 3, 1, 1, 0, 21);
}

static void conv_grad_general_shapes(void **state)
{
    (void)state;
    conv_case_run(1, 7, 6, 2, 3, 3, 2, 2, 1, 0, 31); /* stride 2, 'same', non-square kernel */
    conv_case_run(2, 6, 7, 3, 2, 2, 3, 1, 0, 0, 41); /* 'valid' */
    conv_case_run(2, 3, 3, 4, 5, 1, 1, 1, 0, 1, 51); /* 1x1: the no-im2col path */
    conv_case_run(1, 2, 2, 1, 2, 3, 3, 1, 1, 0, 61); /* kernel wider than the image */
    conv_case_run(5, 20, 20, 2, 3, 3, 3, 1, 1, 0, 71); /* in chunks of 3 and 2 images (linear: a bias
                                                       * step would cross many of 6000 ReLU kinks) */
}

/* The fast (im2col + sgemm) pair and the naive loops agree on outputs and on every gradient. */
static void conv_fast_equals_naive(void **state)
{
    (void)state;
    const int shapes[][9] = {
        /* n h w c oc kh kw stride same */
        {3, 8, 8, 3, 16, 3, 3, 1, 1}, {2, 9, 7, 4, 8, 3, 3, 2, 1}, {2, 6, 6, 5, 7, 2, 2, 2, 0},
        {1, 5, 5, 64, 3, 3, 3, 1, 1}, {2, 4, 4, 3, 6, 1, 1, 1, 0}, {1, 7, 5, 2, 3, 5, 3, 1, 1},
        /* Big enough to be processed in chunks of output lines (about 512 pixels when oc <= 64, else 1024):
         * chunks of 15 lines over 32-line images, 25 over 20, a stride-2 case (24 lines over 20, the last
         * chunk short) and a wide one (oc 65: 42 lines over 24), so chunks end inside images and span
         * image boundaries. */
        {3, 32, 33, 2, 3, 3, 3, 1, 1}, {7, 20, 20, 2, 4, 3, 3, 1, 1}, {3, 40, 41, 2, 3, 3, 3, 2, 1},
        {2, 24, 24, 2, 65, 3, 3, 1, 1},
        /* The shifted forward pass (stride 1, c >= 32, at least 1024 output pixels): 'same' 3x3 in two
         * chunks of images (8 + 1), 'valid', and an even kernel padded only at the bottom/right. */
        {9, 32, 32, 32, 2, 3, 3, 1, 1}, {1, 36, 34, 32, 3, 3, 3, 1, 0}, {2, 33, 32, 33, 3, 2, 2, 1, 1},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *v = shapes[s];
        conv_geom g;
        conv_geom_init(&g, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
        size_t xs = (size_t)g.n * g.h * g.w * g.c, ws = (size_t)g.kh * g.kw * g.c * g.oc;
        size_t os = (size_t)g.n * g.oh * g.ow * g.oc;
        float *x = randf(xs, 100 + s, -1, 1), *w = randf(ws, 200 + s, -1, 1), *b = randf(g.oc, 300 + s, -1, 1);
        float *r = randf(os, 400 + s, -1, 1), *col = zerof(conv_col_size(&g));
        float *o1 = zerof(os), *o2 = zerof(os), *d1 = zerof(os), *d2 = zerof(os);
        float *dx1 = zerof(xs), *dx2 = zerof(xs), *dw1 = zerof(ws), *dw2 = zerof(ws);
        float *db1 = zerof(g.oc), *db2 = zerof(g.oc);
        for (int relu = 0; relu <= 1; relu++) {
            conv2d_forward(o1, col, x, w, b, &g, relu);
            conv2d_forward_naive(o2, x, w, b, &g, relu);
            for (size_t i = 0; i < os; i++)
                assert_float_equal(o1[i], o2[i], 1e-4f * (1.0f + fabsf(o2[i])));
            memcpy(d1, r, sizeof(float) * os);
            memcpy(d2, r, sizeof(float) * os);
            memset(dw1, 0, sizeof(float) * ws);
            memset(dw2, 0, sizeof(float) * ws);
            memset(db1, 0, sizeof(float) * g.oc);
            memset(db2, 0, sizeof(float) * g.oc);
            conv2d_backward(dx1, dw1, db1, col, d1, o1, x, w, &g, relu);
            conv2d_backward_naive(dx2, dw2, db2, d2, o2, x, w, &g, relu);
            for (size_t i = 0; i < xs; i++)
                assert_float_equal(dx1[i], dx2[i], 1e-4f * (1.0f + fabsf(dx2[i])));
            for (size_t i = 0; i < ws; i++)
                assert_float_equal(dw1[i], dw2[i], 1e-4f * (1.0f + fabsf(dw2[i])));
            for (int i = 0; i < g.oc; i++)
                assert_float_equal(db1[i], db2[i], 1e-4f * (1.0f + fabsf(db2[i])));
        }
        free(x), free(w), free(b), free(r), free(col), free(o1), free(o2), free(d1), free(d2);
        free(dx1), free(dx2), free(dw1), free(dw2), free(db1), free(db2);
    }
}

/* The fused SGD variants give what the plain backward plus the update formula give: w' = keep * w - lr * dw,
 * b' = keep * b - lr * db, and the same dx (from the weights before the step). */
static void backward_sgd_equals_backward_then_step(void **state)
{
    (void)state;
    const float lr = 0.1f, keep = 1.0f - 0.1f * 0.02f;
    for (int shape = 0; shape < 3; shape++) {
        conv_geom g;
        if (shape == 0)
            conv_geom_init(&g, 2, 3, 4, 5, 6, 1, 1, 1, 0); /* 1x1: no im2col */
        else if (shape == 1)
            conv_geom_init(&g, 2, 5, 4, 3, 6, 3, 3, 1, 1);
        else
            conv_geom_init(&g, 7, 20, 20, 2, 3, 3, 3, 1, 1); /* in chunks of 3, 3 and 1 images */
        size_t xs = (size_t)g.n * g.h * g.w * g.c, ws = (size_t)g.kh * g.kw * g.c * g.oc;
        size_t os = (size_t)g.n * g.oh * g.ow * g.oc;
        float *x = randf(xs, 1, -1, 1), *w = randf(ws, 2, -1, 1), *b = randf(g.oc, 3, -1, 1);
        float *r = randf(os, 4, -1, 1), *col = zerof(conv_col_size(&g)), *out = zerof(os);
        float *d1 = zerof(os), *d2 = zerof(os), *dx1 = zerof(xs), *dx2 = zerof(xs), *dw = zerof(ws);
        float *db = zerof(g.oc), *scratch = zerof(g.oc), *w2 = malloc(sizeof(float) * ws);
        float *b2 = malloc(sizeof(float) * g.oc);
        conv2d_forward(out, col, x, w, b, &g, 1);
        memcpy(d1, r, sizeof(float) * os);
        memcpy(d2, r, sizeof(float) * os);
        conv2d_backward(dx1, dw, db, col, d1, out, x, w, &g, 1);
        memcpy(w2, w, sizeof(float) * ws);
        memcpy(b2, b, sizeof(float) * g.oc);
        conv2d_backward_sgd(dx2, w2, b2, scratch, col, d2, out, x, &g, 1, lr, keep);
        for (size_t i = 0; i < xs; i++)
            assert_float_equal(dx2[i], dx1[i], 1e-6);
        for (size_t i = 0; i < ws; i++)
            assert_float_equal(w2[i], keep * w[i] - lr * dw[i], 1e-6);
        for (int i = 0; i < g.oc; i++)
            assert_float_equal(b2[i], keep * b[i] - lr * db[i], 1e-6);
        free(x), free(w), free(b), free(r), free(col), free(out), free(d1), free(d2), free(dx1), free(dx2);
        free(dw), free(db), free(scratch), free(w2), free(b2);
    }
    /* Dense: (3, 7) -> (3, 5). */
    float *x = randf(21, 5, -1, 1), *w = randf(35, 6, -1, 1), *b = randf(5, 7, -1, 1), *r = randf(15, 8, -1, 1);
    float out[15], d1[15], d2[15], dx1[21], dx2[21], dw[35] = {0}, db[5] = {0}, scratch[5], w2[35], b2[5];
    dense_forward(out, x, w, b, 3, 7, 5, 1);
    memcpy(d1, r, sizeof d1);
    memcpy(d2, r, sizeof d2);
    dense_backward(dx1, dw, db, d1, out, x, w, 3, 7, 5, 1);
    memcpy(w2, w, sizeof w2);
    memcpy(b2, b, sizeof b2);
    dense_backward_sgd(dx2, w2, b2, scratch, d2, out, x, 3, 7, 5, 1, lr, keep);
    for (int i = 0; i < 21; i++)
        assert_float_equal(dx2[i], dx1[i], 1e-6);
    for (int i = 0; i < 35; i++)
        assert_float_equal(w2[i], keep * w[i] - lr * dw[i], 1e-6);
    for (int i = 0; i < 5; i++)
        assert_float_equal(b2[i], keep * b[i] - lr * db[i], 1e-6);
    free(x), free(w), free(b), free(r);
}

/* A hand-computed convolution: 3x3 input 1..9, one 3x3 kernel of ones, 'same' → each output the sum of
 * its 3x3 neighbourhood; corner (0,0) = 1+2+4+5 = 12, centre = 45. */
static void conv_hand_values(void **state)
{
    (void)state;
    float x[9], w[9], b[1] = {0.5f}, out[9], col[81];
    for (int i = 0; i < 9; i++) {
        x[i] = (float)(i + 1);
        w[i] = 1.0f;
    }
    conv_geom g;
    conv_geom_init(&g, 1, 3, 3, 1, 1, 3, 3, 1, 1);
    assert_int_equal(g.oh, 3);
    assert_int_equal(g.pad_top, 1);
    conv2d_forward(out, col, x, w, b, &g, 0);
    const float expect[9] = {12, 21, 16, 27, 45, 33, 24, 39, 28};
    for (int i = 0; i < 9; i++)
        assert_float_equal(out[i], expect[i] + 0.5f, 1e-5f);
    /* Keras 'same' with stride 2 on an even side pads only at the bottom/right: 4 -> 2, pad_top 0. */
    conv_geom_init(&g, 1, 4, 4, 1, 1, 3, 3, 2, 1);
    assert_int_equal(g.oh, 2);
    assert_int_equal(g.pad_top, 0);
}

/* ---- pooling -------------------------------------------------------------------------------------- */

typedef struct pool_case {
    int n, h, w, c, kind; /* 0 max 2x2, 1 global avg, 2 global max */
    float *x, *out, *r;
    size_t os;
} pool_case;

static double pool_loss(void *ctx)
{
    pool_case *p = ctx;
    if (p->kind == 0)
        maxpool2d_forward(p->out, p->x, p->n, p->h, p->w, p->c, 2, 2);
    else if (p->kind == 1)
        global_avgpool_forward(p->out, p->x, p->n, p->h, p->w, p->c);
    else
        global_maxpool_forward(p->out, p->x, p->n, p->h, p->w, p->c);
    return dot(p->out, p->r, p->os);
}

static void pool_case_run(int kind, int n, int h, int w, int c)
{
    pool_case p = {n, h, w, c, kind, NULL, NULL, NULL, 0};
    size_t xs = (size_t)n * h * w * c;
    p.os = kind == 0 ? (size_t)n * (h / 2) * (w / 2) * c : (size_t)n * c;
    p.x = distinctf(xs, 7 + kind);
    p.r = randf(p.os, 8 + kind, -1, 1);
    p.out = zerof(p.os);
    float *dx = randf(xs, 9, -1, 1); /* garbage: the backward must overwrite it */
    pool_loss(&p);
    if (kind == 0)
        maxpool2d_backward(dx, p.r, p.x, n, h, w, c, 2, 2);
    else if (kind == 1)
        global_avgpool_backward(dx, p.r, n, h, w, c);
    else
        global_maxpool_backward(dx, p.r, p.x, n, h, w, c);
    check_grad(kind == 0 ? "maxpool dx" : kind == 1 ? "gap dx" : "gmp dx", pool_loss, &p, p.x, dx, xs, 1e-3f,
               1e-2);
    free(p.x), free(p.r), free(p.out), free(dx);
}

static void maxpool_grad(void **state)
{
    (void)state;
    pool_case_run(0, 2, 4, 6, 3);
    pool_case_run(0, 1, 5, 5, 2); /* odd sides: the last row and column are dropped ('valid') */
    pool_case_run(0, 2, 4, 5, 9); /* 9 channels: four at a time, then one */
}

static void maxpool_hand_values(void **state)
{
    (void)state;
    /* One 4x4 single-channel image; 2x2 windows. */
    const float x[16] = {1, 3, 2, 0, 4, 2, 1, 7, 0, 0, 5, 5, 9, -1, 5, 6};
    float out[4], dx[16];
    maxpool2d_forward(out, x, 1, 4, 4, 1, 2, 2);
    assert_float_equal(out[0], 4, 0);
    assert_float_equal(out[1], 7, 0);
    assert_float_equal(out[2], 9, 0);
    assert_float_equal(out[3], 6, 0);
    /* The bottom-right window holds 5, 5, 5, 6: the gradient goes to the 6 alone. The top-left goes to 4. */
    const float d[4] = {1, 2, 3, 4};
    maxpool2d_backward(dx, d, x, 1, 4, 4, 1, 2, 2);
    const float expect[16] = {0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 4};
    for (int i = 0; i < 16; i++)
        assert_float_equal(dx[i], expect[i], 0);
    /* Ties go to the first maximum in row-major order, one channel at a time or four. */
    const float t[4] = {2, 2, 2, 2};
    float tdx[4];
    maxpool2d_backward(tdx, d, t, 1, 2, 2, 1, 2, 2);
    assert_float_equal(tdx[0], 1, 0);
    assert_float_equal(tdx[1] + tdx[2] + tdx[3], 0, 0);
    /* (1, 2, 2, 4): channel k has its maximum 5 at pixels k.. (ties from pixel k on), so it goes to pixel k. */
    float t4[16], d4[4] = {1, 2, 3, 4}, dx4[16];
    for (int p = 0; p < 4; p++)
        for (int k = 0; k < 4; k++)
            t4[p * 4 + k] = p >= k ? 5.0f : (float)p;
    maxpool2d_backward(dx4, d4, t4, 1, 2, 2, 4, 2, 2);
    for (int p = 0; p < 4; p++)
        for (int k = 0; k < 4; k++)
            assert_float_equal(dx4[p * 4 + k], p == k ? d4[k] : 0.0f, 0);
}

static void global_pool_grad(void **state)
{
    (void)state;
    pool_case_run(1, 2, 3, 4, 5);
    pool_case_run(2, 2, 3, 4, 5);
}

/* ---- Dense, ReLU ---------------------------------------------------------------------------------- */

typedef struct dense_case {
    int n, in, out, relu;
    float *x, *w, *b, *y, *r;
} dense_case;

static double dense_loss(void *ctx)
{
    dense_case *d = ctx;
    dense_forward(d->y, d->x, d->w, d->b, d->n, d->in, d->out, d->relu);
    return dot(d->y, d->r, (size_t)d->n * d->out);
}

static void dense_case_run(int n, int in, int out, int relu)
{
    dense_case d = {n, in, out, relu, NULL, NULL, NULL, NULL, NULL};
    d.x = randf((size_t)n * in, 1, -1, 1);
    d.w = randf((size_t)in * out, 2, -1, 1);
    d.b = randf(out, 3, -0.5f, 0.5f);
    d.r = randf((size_t)n * out, 4, -1, 1);
    d.y = zerof((size_t)n * out);
    float *dx = zerof((size_t)n * in), *dw = zerof((size_t)in * out), *db = zerof(out);
    float *dy = zerof((size_t)n * out);
    dense_loss(&d);
    memcpy(dy, d.r, sizeof(float) * n * out);
    dense_backward(dx, dw, db, dy, d.y, d.x, d.w, n, in, out, relu);
    check_grad("dense dx", dense_loss, &d, d.x, dx, (size_t)n * in, 1e-3f, 1e-2);
    check_grad("dense dw", dense_loss, &d, d.w, dw, (size_t)in * out, 1e-3f, 1e-2);
    check_grad("dense db", dense_loss, &d, d.b, db, out, 1e-3f, 1e-2);
    free(d.x), free(d.w), free(d.b), free(d.r), free(d.y), free(dx), free(dw), free(db), free(dy);
}

static void dense_grad(void **state)
{
    (void)state;
    dense_case_run(3, 7, 5, 0);
    dense_case_run(4, 6, 8, 1);
}

static void dense_hand_values(void **state)
{
    (void)state;
    /* x (1, 2) = [1, 2]; w (2, 3) = [[1, 0, -1], [2, 1, -3]]; b = [0, 1, 0]  ->  [5, 3, -7]; ReLU [5, 3, 0]. */
    const float x[2] = {1, 2}, w[6] = {1, 0, -1, 2, 1, -3}, b[3] = {0, 1, 0};
    float y[3];
    dense_forward(y, x, w, b, 1, 2, 3, 1);
    assert_float_equal(y[0], 5, 0);
    assert_float_equal(y[1], 3, 0);
    assert_float_equal(y[2], 0, 0);
}

typedef struct relu_case {
    float *x, *y, *r;
    size_t n;
} relu_case;

static double relu_loss(void *ctx)
{
    relu_case *c = ctx;
    relu_forward(c->y, c->x, c->n);
    return dot(c->y, c->r, c->n);
}

static void relu_grad(void **state)
{
    (void)state;
    relu_case c = {distinctf(50, 3), zerof(50), randf(50, 4, -1, 1), 50};
    float *dx = zerof(50);
    relu_loss(&c);
    relu_backward(dx, c.r, c.y, c.n);
    check_grad("relu dx", relu_loss, &c, c.x, dx, c.n, 1e-3f, 1e-2);
    for (size_t i = 0; i < c.n; i++)
        assert_true(c.x[i] > 0 ? dx[i] == c.r[i] : dx[i] == 0.0f);
    free(c.x), free(c.y), free(c.r), free(dx);
}

/* ---- Softmax and cross-entropy -------------------------------------------------------------------- */

static void softmax_hand_values(void **state)
{
    (void)state;
    /* softmax([0, ln 2, ln 3]) = [1, 2, 3] / 6, shifted or not. */
    const float z[6] = {0.0f, logf(2), logf(3), 100.0f, 100.0f + logf(2), 100.0f + logf(3)};
    float p[6];
    softmax_forward(p, z, 2, 3);
    for (int r = 0; r < 2; r++) {
        assert_float_equal(p[3 * r + 0], 1.0 / 6, 1e-6);
        assert_float_equal(p[3 * r + 1], 2.0 / 6, 1e-6);
        assert_float_equal(p[3 * r + 2], 3.0 / 6, 1e-6);
    }
    /* Labels 2 and 0: loss -ln(1/2) - ln(1/6); mse per sample: ((1/6)^2 + (1/3)^2 + (1/2)^2) / 3 and
     * ((5/6)^2 + (1/3)^2 + (1/2)^2) / 3; argmax is class 2 for both, so one correct. */
    const int y[2] = {2, 0};
    step_stats st = {0};
    assert_int_equal(crossentropy_stats(&st, p, y, 2, 3), 0);
    assert_float_equal(st.loss_sum, log(2.0) + log(6.0), 1e-5);
    double m1 = (1.0 / 36 + 1.0 / 9 + 1.0 / 4) / 3, m2 = (25.0 / 36 + 1.0 / 9 + 1.0 / 4) / 3;
    assert_float_equal(st.mse_sum, m1 + m2, 1e-5);
    assert_int_equal(st.correct, 1);
    assert_int_equal(st.n, 2);
    /* With 3 classes every label is in the top 5. */
    assert_int_equal(st.correct5, 2);
}

/* Top-5 by hand, as tf.math.in_top_k: the true class counts when fewer than 5 classes are strictly above it,
 * so ties at the boundary count in. */
static void top5_like_in_top_k(void **state)
{
    (void)state;
    /* 7 classes: probabilities .30 .20 .15 .10 .10 .10 .05 */
    const float p[7] = {0.30f, 0.20f, 0.15f, 0.10f, 0.10f, 0.10f, 0.05f};
    const int y[4] = {0, 5, 6, 3};
    step_stats st = {0};
    crossentropy_stats(&st, p, y, 1, 7);
    assert_int_equal(st.correct5, 1); /* class 0: nobody above */
    /* class 5 (0.10): 3 above it, so in; class 3 too (a tie with 4 and 5 straddles the boundary) */
    float q[21];
    for (int i = 0; i < 21; i++)
        q[i] = p[i % 7];
    step_stats s2 = {0};
    crossentropy_stats(&s2, q, y + 1, 3, 7);
    assert_int_equal(s2.correct5, 2); /* 5 in, 6 out (6 classes above 0.05), 3 in */
    assert_int_equal(s2.correct, 0);
}

static void crossentropy_clips_like_keras(void **state)
{
    (void)state;
    /* p_true = 0 is clipped to 1e-7: loss -ln(1e-7) = 16.118..., finite. */
    const float p[2] = {1.0f, 0.0f};
    const int y[1] = {1};
    step_stats st = {0};
    assert_int_equal(crossentropy_stats(&st, p, y, 1, 2), 0);
    assert_float_equal(st.loss_sum, -log((double)1e-7f), 1e-4);
    /* A NaN probability is reported, not clipped into a finite loss. */
    const float q[2] = {NAN, 0.5f};
    step_stats s2 = {0};
    assert_int_not_equal(crossentropy_stats(&s2, q, y, 1, 2), 0);
}

typedef struct ce_case {
    float *z, *p;
    int *y, n, k;
} ce_case;

static double ce_loss(void *ctx)
{
    ce_case *c = ctx;
    softmax_forward(c->p, c->z, c->n, c->k);
    step_stats st = {0};
    crossentropy_stats(&st, c->p, c->y, c->n, c->k);
    return st.loss_sum / c->n;
}

static void softmax_crossentropy_grad(void **state)
{
    (void)state;
    int y[4] = {0, 3, 2, 4};
    ce_case c = {randf(20, 5, -2, 2), zerof(20), y, 4, 5};
    float *dz = zerof(20);
    ce_loss(&c);
    softmax_crossentropy_backward(dz, c.p, c.y, c.n, c.k);
    check_grad("softmax+ce dlogits", ce_loss, &c, c.z, dz, 20, 1e-3f, 1e-2);
    free(c.z), free(c.p), free(dz);
}

/* ---- PyTorch reference ---------------------------------------------------------------------------- */

/* tests/fixtures/nn/torch_stack.txt, written by tests/tools/nn_torch_fixture.py: named float arrays of a
 * Conv2D(3x3 same, ReLU) -> MaxPool 2x2 -> Flatten -> Dense -> softmax cross-entropy stack, NHWC and
 * Keras layouts, with PyTorch's loss and gradients (read by nn_fixture_array). */
static void matches_pytorch_stack(void **state)
{
    (void)state;
    FILE *f = fopen("tests/fixtures/nn/torch_stack.txt", "r");
    assert_non_null(f);
    size_t nx = 0, nw1 = 0, nb1 = 0, nw2 = 0, nb2 = 0, ny = 0, nl = 0, ndw1 = 0, ndb1 = 0, ndw2 = 0, ndb2 = 0,
           ndx = 0, ndims = 0;
    float *dims = nn_fixture_array(f, "dims", &ndims); /* n h w c filters classes */
    assert_int_equal(ndims, 6);
    int n = (int)dims[0], h = (int)dims[1], w = (int)dims[2], c = (int)dims[3], k = (int)dims[4],
        classes = (int)dims[5];
    float *x = nn_fixture_array(f, "x", &nx), *w1 = nn_fixture_array(f, "conv_w", &nw1);
    float *b1 = nn_fixture_array(f, "conv_b", &nb1), *w2 = nn_fixture_array(f, "dense_w", &nw2);
    float *b2 = nn_fixture_array(f, "dense_b", &nb2), *yf = nn_fixture_array(f, "y", &ny);
    float *loss = nn_fixture_array(f, "loss", &nl), *tdw1 = nn_fixture_array(f, "conv_dw", &ndw1);
    float *tdb1 = nn_fixture_array(f, "conv_db", &ndb1), *tdw2 = nn_fixture_array(f, "dense_dw", &ndw2);
    float *tdb2 = nn_fixture_array(f, "dense_db", &ndb2), *tdx = nn_fixture_array(f, "dx", &ndx);
    fclose(f);
    assert_int_equal(nx, (size_t)n * h * w * c);
    int ph = h / 2, pw = w / 2, flat = ph * pw * k;
    assert_int_equal(nw2, (size_t)flat * classes);

    /* The stack once per convolution backend (and variant) this machine supports, the naive one too. */
    for (int v = -1; v < CONV_VARIANTS; v++) {
        conv_layer cl;
        memset(&cl, 0, sizeof cl);
        conv_geom_init(&cl.g, n, h, w, c, k, 3, 3, 1, 1);
        cl.relu = 1;
        cl.be = v < 0 ? conv_backend_find("naive") : conv_variant_backend(&conv_variants[v], &cl.g);
        if (!cl.be)
            continue;
        cl.algo = v < 0 ? CONV_ALGO_ANY : conv_variants[v].algo;
        const char *label = v < 0 ? "naive" : conv_variants[v].label;
        /* PyTorch's own error against the float64 truth is about 1e-7 relative; the backends add theirs. */
        const double tol = v < 0 ? 1e-4 : 1e-4 + conv_variants[v].tol;
        vt_err err;
        if (cl.be->plan(&cl, &err) != VT_OK)
            fail_msg("%s: %s", label, err.msg);
        float *col = zerof(cl.be->workspace(&cl.g)), *a1 = zerof((size_t)n * h * w * k);
        float *a2 = zerof((size_t)n * flat), *z = zerof((size_t)n * classes), *p = zerof((size_t)n * classes);
        int *y = malloc(sizeof(int) * n);
        for (int i = 0; i < n; i++)
            y[i] = (int)yf[i];
        cl.be->forward(&cl, a1, col, x, w1, b1, n);
        maxpool2d_forward(a2, a1, n, h, w, k, 2, 2);
        dense_forward(z, a2, w2, b2, n, flat, classes, 0);
        softmax_forward(p, z, n, classes);
        step_stats st = {0};
        assert_int_equal(crossentropy_stats(&st, p, y, n, classes), 0);
        if (fabs(st.loss_sum / n - loss[0]) > tol * fabs(loss[0]))
            fail_msg("%s: loss %.7g, PyTorch %.7g", label, st.loss_sum / n, (double)loss[0]);

        float *dz = zerof((size_t)n * classes), *da2 = zerof((size_t)n * flat), *da1 = zerof((size_t)n * h * w * k);
        float *dx = zerof(nx), *dw1 = zerof(nw1), *db1 = zerof(nb1), *dw2 = zerof(nw2), *db2 = zerof(nb2);
        softmax_crossentropy_backward(dz, p, y, n, classes);
        dense_backward(da2, dw2, db2, dz, z, a2, w2, n, flat, classes, 0);
        maxpool2d_backward(da1, da2, a1, n, h, w, k, 2, 2);
        cl.be->backward(&cl, dx, w1, b1, dw1, db1, col, da1, a1, x, n, NULL);
        const struct {
            const char *what;
            const float *got, *want;
            size_t n;
        } cmp[] = {{"conv dw", dw1, tdw1, ndw1}, {"conv db", db1, tdb1, ndb1}, {"dense dw", dw2, tdw2, ndw2},
                   {"dense db", db2, tdb2, ndb2}, {"dx", dx, tdx, ndx}};
        for (size_t j = 0; j < sizeof cmp / sizeof cmp[0]; j++) {
            char what[64];
            snprintf(what, sizeof what, "%s: %s", label, cmp[j].what);
            assert_close(what, cmp[j].got, cmp[j].want, cmp[j].n, tol);
        }
        cl.be->release(&cl);
        free(col), free(a1), free(a2), free(z), free(p), free(y), free(dz), free(da2), free(da1), free(dx);
        free(dw1), free(db1), free(dw2), free(db2);
    }
    free(dims), free(x), free(w1), free(b1), free(w2), free(b2), free(yf), free(loss), free(tdw1), free(tdb1);
    free(tdw2), free(tdb2), free(tdx);
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_testing_start(argv);
    nn_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv_grad_3x3_same_relu),
        cmocka_unit_test(conv_grad_3x3_same_linear),
        cmocka_unit_test(conv_grad_general_shapes),
        cmocka_unit_test(backend_grads_match_finite_differences),
        cmocka_unit_test(winograd_big_grads_match_finite_differences),
        cmocka_unit_test(conv_fast_equals_naive),
        cmocka_unit_test(conv_hand_values),
        cmocka_unit_test(backward_sgd_equals_backward_then_step),
        cmocka_unit_test(maxpool_grad),
        cmocka_unit_test(maxpool_hand_values),
        cmocka_unit_test(global_pool_grad),
        cmocka_unit_test(dense_grad),
        cmocka_unit_test(dense_hand_values),
        cmocka_unit_test(relu_grad),
        cmocka_unit_test(softmax_hand_values),
        cmocka_unit_test(crossentropy_clips_like_keras),
        cmocka_unit_test(top5_like_in_top_k),
        cmocka_unit_test(softmax_crossentropy_grad),
        cmocka_unit_test(matches_pytorch_stack),
    };
    return cmocka_run_group_tests_name("nn", tests, NULL, NULL);
}
