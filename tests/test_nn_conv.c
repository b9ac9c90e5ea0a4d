/* Unit tests of the convolution backends (src/nn/conv.c, src/nn/onednn.c, src/nn/winograd.c): every backend and variant this
 * machine supports against the naive loops, forward and both backward passes, on the Conv2D shapes of all
 * five models and odd ones; then whole models on oneDNN (its blocked chains and pooling) against gemm,
 * partial batches, the choice API (model_set_conv, VGGTOP_CONV), checkpoints moving between backends, and
 * bit-for-bit repeatability at a fixed backend and thread count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include <cmocka.h>

#include "vggtop/nn.h"
#include "nn_testing.h"
#include "testing.h"

/* ---- one layer against the naive loops ------------------------------------------------------------ */

/* The naive reference of one case: forward, the accumulating backward (onto non-zero dw, db) and the
 * backward with a fused step. The ReLU masks must be those of the output of the backend under test: where
 * an output lies within rounding of zero, the reference's own output could fall on the other side, and one
 * flipped mask entry moves dx by a whole |w * dout|. The naive backward is computed once per case with the
 * reference's mask, and again for a backend only when its mask differs (the naive loops are most of this
 * binary's time, the more so under ASan). */
typedef struct layer_ref {
    conv_geom g; /* at n */
    int relu;
    float *x, *w, *b, *r, *dw0, *db0; /* inputs: x, kernel, bias, dout, the gradients accumulated onto */
    float *out;                       /* naive forward */
    float *dx, *dw, *db;              /* naive backward with out's mask, dw and db accumulated onto dw0, db0 */
} layer_ref;

static void ref_backward(const layer_ref *c, const float *mask_out, float *dx, float *dw, float *db)
{
    size_t os = (size_t)c->g.n * c->g.oh * c->g.ow * c->g.oc;
    float *d = malloc(sizeof(float) * os);
    memcpy(d, c->r, sizeof(float) * os);
    conv2d_backward_naive(dx, dw, db, d, mask_out, c->x, c->w, &c->g, c->relu);
    free(d);
}

/* Whether only oneDNN's cases run: tests/e2e/nn_kernels.sh sets VGGTOP_TEST_ONEDNN_ONLY=1 when it runs this
 * binary again with oneDNN capped at AVX2 (ONEDNN_MAX_CPU_ISA). nn's own kernels (naive, gemm, winograd,
 * smallmap) ignore that cap, so their cases would repeat the unit tests' run bit for bit. */
static int onednn_only(void)
{
    const char *e = getenv("VGGTOP_TEST_ONEDNN_ONLY");
    return e && strcmp(e, "0") != 0;
}

static int skipped_under_cap(const char *backend)
{
    return onednn_only() && strcmp(backend, "onednn") != 0;
}

/* The copy the cases of the backends built in copies run in (NN_ISA_PORTABLE, NN_ISA_AVX2, NN_ISA_AVX512),
 * for the messages. */
static int isa_copy;

/* Plans v for an N-image batch standalone (NHWC in and out), runs it on the case's n <= N images and holds
 * every result to the naive loops. */
static void variant_case(const conv_test_variant *v, const layer_ref *c, int N)
{
    const conv_geom *g = &c->g;
    conv_layer cl;
    memset(&cl, 0, sizeof cl);
    conv_geom_init(&cl.g, N, g->h, g->w, g->c, g->oc, 3, 3, 1, 1);
    cl.be = conv_variant_backend(v, &cl.g);
    if (!cl.be)
        return; /* not on this machine (oneDNN's Winograd without AVX-512) */
    cl.algo = v->algo;
    cl.relu = c->relu;
    vt_err err;
    /* The winograd backend splits images and channels over nn's workers and sums their kernel gradients:
     * planned at two threads, so that split is what is checked (batch 1 leaves a worker without images). */
    const int split = strcmp(v->backend, "winograd") == 0;
    if (split)
        nn_set_threads(2);
    if (cl.be->plan(&cl, &err) != VT_OK)
        fail_msg("%s: %dx%dx%d -> %d: %s", v->label, g->h, g->w, g->c, g->oc, err.msg);
    const int n = g->n, oc = g->oc;
    size_t xs = (size_t)n * g->h * g->w * g->c, os = (size_t)n * g->oh * g->ow * oc, ws = (size_t)9 * g->c * oc;
    float *out = malloc(sizeof(float) * os), *col = calloc(cl.be->workspace(&cl.g) + 1, sizeof(float));
    float *dout = malloc(sizeof(float) * os), *dx = calloc(xs, sizeof(float)), *dxr = calloc(xs, sizeof(float));
    float *dw = malloc(sizeof(float) * ws), *dwr = malloc(sizeof(float) * ws);
    float *db = malloc(sizeof(float) * oc), *dbr = malloc(sizeof(float) * oc);
    char what[128];
#define WHAT(part) (snprintf(what, sizeof what, "%.31s (copy %d) %dx%dx%d->%d n=%d/%d %s", v->label, isa_copy, \
                             g->h, g->w, g->c, oc, n, N, part), what)
    cl.be->forward(&cl, out, col, c->x, c->w, c->b, n);
    assert_close(WHAT("forward"), out, c->out, os, v->tol);

    memcpy(dout, c->r, sizeof(float) * os);
    memcpy(dw, c->dw0, sizeof(float) * ws); /* both accumulate onto the same start */
    memcpy(db, c->db0, sizeof(float) * oc);
    memcpy(dwr, c->dw0, sizeof(float) * ws);
    memcpy(dbr, c->db0, sizeof(float) * oc);
    int same_mask = 1;
    for (size_t i = 0; c->relu && same_mask && i < os; i++)
        same_mask = (out[i] > 0.0f) == (c->out[i] > 0.0f);
    if (same_mask) {
        memcpy(dxr, c->dx, sizeof(float) * xs);
        memcpy(dwr, c->dw, sizeof(float) * ws);
        memcpy(dbr, c->db, sizeof(float) * oc);
    } else {
        ref_backward(c, out, dxr, dwr, dbr);
    }
    cl.be->backward(&cl, dx, c->w, c->b, dw, db, col, dout, out, c->x, n, NULL);
    assert_close(WHAT("dx"), dx, dxr, xs, v->tol);
    assert_close(WHAT("dw"), dw, dwr, ws, v->tol);
    assert_close(WHAT("db"), db, dbr, (size_t)oc, v->tol);

    /* The fused step: w = keep * w - lr * dL/dw, scratch left zero; dx from the weights before it. */
    const conv_step step = {0.1f, 0.99f};
    memset(dw, 0, sizeof(float) * ws);
    memset(db, 0, sizeof(float) * oc);
    float *w2 = malloc(sizeof(float) * ws), *b2 = malloc(sizeof(float) * oc);
    memcpy(w2, c->w, sizeof(float) * ws);
    memcpy(b2, c->b, sizeof(float) * oc);
    memcpy(dout, c->r, sizeof(float) * os);
    memset(dx, 0, sizeof(float) * xs);
    cl.be->forward(&cl, out, col, c->x, w2, b2, n);
    cl.be->backward(&cl, dx, w2, b2, dw, db, col, dout, out, c->x, n, &step);
    /* The same forward again, so the same mask: the gradient is the accumulated one less its start (within
     * a rounding of dw0's size, far below the tolerance). */
    for (size_t i = 0; i < ws; i++)
        dwr[i] = step.keep * c->w[i] - step.lr * (dwr[i] - c->dw0[i]);
    for (int i = 0; i < oc; i++)
        dbr[i] = step.keep * c->b[i] - step.lr * (dbr[i] - c->db0[i]);
    assert_close(WHAT("stepped w"), w2, dwr, ws, v->tol);
    assert_close(WHAT("stepped b"), b2, dbr, (size_t)oc, v->tol);
    assert_close(WHAT("stepped dx"), dx, dxr, xs, v->tol);
    for (size_t i = 0; i < ws; i++)
        if (dw[i] != 0.0f)
            fail_msg("%s: the kernel-gradient scratch was left non-zero at %zu", v->label, i);
    for (int i = 0; i < oc; i++)
        if (db[i] != 0.0f)
            fail_msg("%s: the bias-gradient scratch was left non-zero at %d", v->label, i);
#undef WHAT
    cl.be->release(&cl);
    if (split)
        nn_set_threads(1);
    free(out), free(col), free(dout), free(dx), free(dxr), free(dw), free(dwr), free(db), free(dbr), free(w2);
    free(b2);
}

/* One shape through every variant; N >= n is the batch the backends are planned for. With one_tile, the
 * winograd backend runs only the tile "auto" gives such a map (F(4x4) from 8x8 up, F(3x3) on 6x6 and 3x3,
 * else F(2x2)): the models' 512-channel
 * shapes through both tiles were most of this binary's time under ASan, and the odd shapes run both. */
static void layer_case_tiles(int N, int n, int h, int w, int c, int oc, int relu, uint64_t seed, int one_tile)
{
    layer_ref ref = {.relu = relu};
    conv_geom_init(&ref.g, n, h, w, c, oc, 3, 3, 1, 1);
    size_t xs = (size_t)n * h * w * c, os = (size_t)n * ref.g.oh * ref.g.ow * oc, ws = (size_t)9 * c * oc;
    ref.x = randf(xs, seed, -1.0f, 1.0f);
    ref.w = randf(ws, seed + 1, -0.3f, 0.3f);
    ref.b = randf((size_t)oc, seed + 2, -0.2f, 0.2f);
    ref.r = randf(os, seed + 3, -1.0f, 1.0f);
    ref.dw0 = randf(ws, seed + 4, -1.0f, 1.0f);
    ref.db0 = randf((size_t)oc, seed + 5, -1.0f, 1.0f);
    ref.out = malloc(sizeof(float) * os);
    conv2d_forward_naive(ref.out, ref.x, ref.w, ref.b, &ref.g, relu);
    ref.dx = malloc(sizeof(float) * xs);
    ref.dw = malloc(sizeof(float) * ws);
    ref.db = malloc(sizeof(float) * (size_t)oc);
    memcpy(ref.dw, ref.dw0, sizeof(float) * ws);
    memcpy(ref.db, ref.db0, sizeof(float) * (size_t)oc);
    ref_backward(&ref, ref.out, ref.dx, ref.dw, ref.db);
    const int side = h < w ? h : w;
    const int tile = side >= 8 ? CONV_ALGO_F4 : side % 3 == 0 ? CONV_ALGO_F3 : CONV_ALGO_F2;
    /* The backends built in copies (winograd, smallmap) run the best one the CPU has: AVX-512 (sixteen
     * floats a vector), AVX2 (eight), or portable (four; the winograd backend's products through
     * OpenBLAS). Every shape runs each copy this CPU has, the best one with every other variant, the lower
     * ones forced. */
    const int best = nn_set_isa_cap(NN_ISA_AVX512);
    /* The portable copy on the models' deepest shapes (256 and 512 channels) runs the code of their 128-
     * channel ones, four floats at a time: a third of this binary's time for nothing new. Under
     * AddressSanitizer those shapes run the best copy alone (the optimised build runs the AVX2 copy on them,
     * and the sanitizer the lower copies on every other shape): they were half of its 110 s in make test. */
    int lowest = one_tile && (c > 128 || oc > 128) && best > NN_ISA_PORTABLE ? NN_ISA_AVX2 : NN_ISA_PORTABLE;
#if defined(__SANITIZE_ADDRESS__)
    if (c > 128 || oc > 128) /* (and the odd shapes over 128 channels: 4 s more for the big plans' two) */
        lowest = best;
#endif
    for (int isa = best; isa >= lowest; isa--) {
        assert_int_equal(nn_set_isa_cap(isa), isa);
        isa_copy = isa;
        for (int v = 0; v < CONV_VARIANTS; v++) {
            const conv_test_variant *cv = &conv_variants[v];
            const int wino = strcmp(cv->backend, "winograd") == 0;
            const int copies = conv_backend_find(cv->backend)->in_copies;
            if ((one_tile && wino && cv->algo != tile) || (isa != best && !copies))
                continue;
            if (skipped_under_cap(cv->backend))
                continue;
            variant_case(cv, &ref, N);
        }
    }
    nn_set_isa_cap(NN_ISA_AVX512);
    free(ref.x), free(ref.w), free(ref.b), free(ref.r), free(ref.dw0), free(ref.db0), free(ref.out);
    free(ref.dx), free(ref.dw), free(ref.db);
}

static void layer_case(int N, int n, int h, int w, int c, int oc, int relu, uint64_t seed)
{
    layer_case_tiles(N, n, h, w, c, oc, relu, seed, 0);
}

/* The distinct Conv2D shapes of the five models (h, w, c, oc): vgg16 and vgg19 at 48x48 (the same
 * shapes), vgg16-nopool at 32x32, cnn at 32x32 (mlp has none); one image each, the naive loops are slow. */
static const int model_shapes[][4] = {
    {48, 48, 3, 64},   {48, 48, 64, 64},  {24, 24, 64, 128}, {24, 24, 128, 128}, {12, 12, 128, 256},
    {12, 12, 256, 256}, {6, 6, 256, 512}, {6, 6, 512, 512},  {3, 3, 512, 512},   {32, 32, 3, 64},
    {32, 32, 64, 64},  {16, 16, 64, 128}, {16, 16, 128, 128}, {8, 8, 128, 256},   {8, 8, 256, 256},
    {4, 4, 256, 512},  {4, 4, 512, 512},  {2, 2, 512, 512},  {32, 32, 3, 32},    {32, 32, 32, 32},
    {16, 16, 32, 64},  {16, 16, 64, 64},
};

static void backends_match_naive_model_shapes(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof model_shapes / sizeof model_shapes[0]; s++) {
        const int *d = model_shapes[s];
        layer_case_tiles(1, 1, d[0], d[1], d[2], d[3], 1, 1000 + s, 1);
    }
}

/* 1 to 4 channels in and out, 2x2 and 3x3 maps (and odd rectangles), batches 1 and 5, with and without
 * the ReLU; batches smaller than the planned one (the last batch of an epoch); and one deeper layer. */
static void backends_match_naive_odd_shapes(void **state)
{
    (void)state;
    static const int odd[][7] = {
        /* N, n, h, w, c, oc, relu */
        {1, 1, 2, 2, 1, 1, 1}, {5, 5, 2, 2, 4, 3, 1}, {5, 5, 3, 3, 2, 4, 0}, {1, 1, 3, 3, 3, 2, 1},
        {5, 5, 3, 3, 4, 1, 1}, {5, 5, 5, 7, 3, 2, 1}, {5, 3, 3, 3, 4, 4, 1}, {5, 1, 2, 2, 2, 3, 1},
        {4, 3, 8, 8, 16, 8, 1}, {3, 2, 6, 6, 8, 16, 0},
        /* maps of 1x3 and 1x1 (the unrolled backend's W' with blocks no tap fills, and with one block) */
        {3, 2, 1, 3, 5, 6, 1}, {2, 2, 1, 1, 3, 4, 0},
        /* Over 128 channels each way (OpenBLAS's products), both workers with images: winograd's one-chunk
         * passes, every point's product over the two workers' tiles at once. */
        {4, 3, 3, 3, 136, 132, 1},
        /* Over 128 channels each way in whole blocks of the own kernel's columns: F(3x3)'s forward on the own
         * kernel over every tile of the batch (big plans), U blocked in the workspace; on 6x6 and 3x3 maps. */
        {4, 3, 3, 3, 160, 192, 1}, {3, 3, 6, 6, 192, 160, 0},
    };
    for (size_t s = 0; s < sizeof odd / sizeof odd[0]; s++) {
        const int *d = odd[s];
        layer_case(d[0], d[1], d[2], d[3], d[4], d[5], d[6], 2000 + s);
    }
}

/* A test must be able to fail: the comparison catches a kernel with one tap's weights swapped. */
static void comparison_catches_a_wrong_kernel(void **state)
{
    (void)state;
    conv_geom g;
    conv_geom_init(&g, 2, 4, 4, 3, 5, 3, 3, 1, 1);
    size_t xs = (size_t)2 * 16 * 3, os = (size_t)2 * 16 * 5, ws = (size_t)9 * 3 * 5;
    float *x = randf(xs, 1, -1, 1), *w = randf(ws, 2, -1, 1), *b = randf(5, 3, -1, 1);
    float *a = malloc(sizeof(float) * os), *r = malloc(sizeof(float) * os);
    conv2d_forward_naive(r, x, w, b, &g, 0);
    float t = w[0];
    w[0] = w[ws - 1];
    w[ws - 1] = t;
    conv2d_forward_naive(a, x, w, b, &g, 0);
    double mx = 0, worst = 0;
    for (size_t i = 0; i < os; i++) {
        mx = fmax(mx, fabs(r[i]));
        worst = fmax(worst, fabs(a[i] - r[i]));
    }
    assert_true(worst > conv_variants_max_tol() * mx * 10);
    free(x), free(w), free(b), free(a), free(r);
}

/* ---- whole models: oneDNN's chains against gemm ---------------------------------------------------- */

static model_config config(const char *name, int h, int classes)
{
    model_config cfg;
    assert_int_equal(model_config_default(&cfg, name, NULL), VT_OK);
    cfg.height = cfg.width = h;
    cfg.classes = classes;
    return cfg;
}

static int *labels(int n, int classes, uint64_t seed)
{
    int *y = malloc(sizeof(int) * n);
    vt_rng r;
    vt_rng_seed(&r, seed);
    for (int i = 0; i < n; i++)
        y[i] = (int)vt_rng_below(&r, (uint32_t)classes);
    return y;
}

static model *sized(const model_config *cfg, const char *conv, int batch)
{
    model *m;
    vt_err err;
    assert_int_equal(model_create(cfg, &m, &err), VT_OK);
    if (model_set_conv(m, conv, &err) != VT_OK || model_set_batch(m, batch, &err) != VT_OK)
        fail_msg("%s with %s: %s", cfg->name, conv, err.msg);
    return m;
}

/* Whether every ReLU layer of a and b zeroed the same number of outputs in their last pass of n images. */
static int same_relu_counts(const model *a, const model *b, int n)
{
    layer_stats sa[64], sb[64];
    int k = model_layer_stats(a, n, sa, 64);
    assert_int_equal(model_layer_stats(b, n, sb, 64), k);
    for (int i = 0; i < k && i < 64; i++)
        if (sa[i].relu && sa[i].dead != sb[i].dead)
            return 0;
    return 1;
}

/* Loss, every parameter's gradient and dL/dx of a oneDNN model against the gemm one, at the planned batch
 * and below it. The tolerance is the per-layer one compounded through up to 16 layers: 2e-3 of each
 * array's largest entry (2e-2 with Winograd).
 *
 * The forward is continuous, the gradient is not: where a pre-activation lies within rounding of zero, the
 * two models' ReLU masks can differ, and one flipped output of vgg19's last convolution moved every
 * layer's gradient by 3% (of its L2 norm) in one such case. So the loss is always compared, and the
 * gradients for inputs whose every ReLU layer zeroed the same number of outputs in both: up to four
 * input draws, and a failure when none gives equal masks. */
static void model_matches_gemm(const model_config *cfg, const char *conv, double tol)
{
    const int N = 4;
    model *a = sized(cfg, "gemm", N), *b = sized(cfg, conv, N);
    size_t image = (size_t)cfg->height * cfg->width * cfg->channels, P = (size_t)model_param_count(a);
    float *dxa = malloc(sizeof(float) * image * N), *dxb = malloc(sizeof(float) * image * N);
    float *pa = malloc(sizeof(float) * N * cfg->classes), *pb = malloc(sizeof(float) * N * cfg->classes);
    layer_info rows[64];
    int nrows = model_plan(cfg, rows, 64, NULL, NULL);
    for (int n = N; n >= N - 1; n--) {
        float *x = NULL;
        int *y = NULL, draw = 0;
        for (;; draw++) {
            free(x), free(y);
            if (draw == 4)
                fail_msg("%s %s n=%d: the ReLU masks differ from gemm's for all four inputs", cfg->name, conv, n);
            x = randf(image * N, 31 + 100 * (uint64_t)draw, 0.0f, 1.0f);
            y = labels(N, cfg->classes, 32 + 100 * (uint64_t)draw);
            double la, lb;
            vt_err err;
            assert_int_equal(model_loss_grad(a, x, y, n, dxa, &la, &err), VT_OK);
            assert_int_equal(model_loss_grad(b, x, y, n, dxb, &lb, &err), VT_OK);
            if (fabs(la - lb) > tol * fabs(la))
                fail_msg("%s %s n=%d: loss %.7g, gemm %.7g", cfg->name, conv, n, lb, la);
            if (same_relu_counts(a, b, n))
                break;
        }
        size_t off = 0;
        for (int r = 0; r < nrows; r++) {
            if (!rows[r].params)
                continue;
            size_t bias = (size_t)rows[r].c, kernel = (size_t)rows[r].params - bias;
            char what[256];
            snprintf(what, sizeof what, "%.31s %.60s n=%d %.39s kernel gradient", cfg->name, conv, n, rows[r].name);
            assert_close(what, model_grads(b) + off, model_grads(a) + off, kernel, tol);
            snprintf(what, sizeof what, "%.31s %.60s n=%d %.39s bias gradient", cfg->name, conv, n, rows[r].name);
            assert_close(what, model_grads(b) + off + kernel, model_grads(a) + off + kernel, bias, tol);
            off += kernel + bias;
        }
        assert_int_equal(off, P);
        char what[96];
        snprintf(what, sizeof what, "%s %s n=%d dx", cfg->name, conv, n);
        assert_close(what, dxb, dxa, image * n, tol);
        assert_int_equal(model_predict(a, x, n, pa, NULL), VT_OK);
        assert_int_equal(model_predict(b, x, n, pb, NULL), VT_OK);
        snprintf(what, sizeof what, "%s %s n=%d probabilities", cfg->name, conv, n);
        assert_close(what, pb, pa, (size_t)n * cfg->classes, tol);
        free(x), free(y);
    }
    free(dxa), free(dxb), free(pa), free(pb);
    model_destroy(a);
    model_destroy(b);
}

static void models_on_onednn_match_gemm(void **state)
{
    (void)state;
    /* Small inputs keep the VGGs' every layer and pooling (32x32 is their minimum): vgg16 pools down to
     * 1x1, vgg16-nopool ends its chain at 2x2 before Flatten. */
    model_config cfgs[] = {config("cnn", 16, 10), config("vgg16", 32, 10), config("vgg19", 32, 10),
                           config("vgg16-nopool", 32, 10), config("mlp", 8, 10)};
    /* The VGGs without fc1 and fc2 (Flatten, then the Dense head: vgg16-nopool's chain still ends at 2x2
     * before Flatten): their 4096-wide layers are no convolution (test_nn_dense has them), and making their
     * 20-25 M weights twice per case was most of this binary's time under ASan. */
    for (int k = 1; k <= 3; k++)
        cfgs[k].include_top = 0;
    for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
        model_matches_gemm(&cfgs[k], "onednn", 2e-3);
        model_matches_gemm(&cfgs[k], "auto", 2e-2); /* may use Winograd: its error compounded */
    }
    /* A chain ending in global pooling, and a one-channel input. */
    model_config gap = config("cnn", 8, 5);
    gap.include_top = 0;
    gap.pooling = NN_POOL_MAX;
    gap.channels = 1;
    model_matches_gemm(&gap, "onednn", 2e-3);
    /* Backends mixed layer by layer: chains that start and end inside the model. */
    model_config cnn = config("cnn", 16, 10);
    model_matches_gemm(&cnn, "gemm,onednn,onednn,gemm", 2e-3);
    model_matches_gemm(&cnn, "onednn,gemm,onednn,onednn", 2e-3);
    model_matches_gemm(&cnn, "naive,onednn,naive,onednn", 2e-3);
    /* The winograd backend on whole models (its two tiles by map size), and beside oneDNN's chains. */
    model_matches_gemm(&cnn, "winograd", 2e-3);
    model_matches_gemm(&cnn, "winograd,onednn,onednn,winograd", 2e-3);
    model_matches_gemm(&cnn, "onednn,winograd:f2,onednn,gemm", 2e-3);
}

/* ---- the choice API --------------------------------------------------------------------------------- */

/* model_set_conv(m, choice) is taken and resolves to want. */
static void expect_choice(model *m, const char *choice, const char *want)
{
    vt_err err;
    char buf[256];
    if (model_set_conv(m, choice, &err) != VT_OK)
        fail_msg("model_set_conv(%s): %s", choice, err.msg);
    model_conv_choice(m, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void choice_api(void **state)
{
    (void)state;
    model_config cfg = config("cnn", 8, 3);
    model *m;
    vt_err err;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    char buf[256];
    assert_int_equal(model_set_conv(m, "gemm", &err), VT_OK);
    model_conv_choice(m, buf, sizeof buf);
    assert_string_equal(buf, "gemm"); /* as set, before sizing */
    assert_int_equal(model_set_batch(m, 2, &err), VT_OK);
    model_conv_choice(m, buf, sizeof buf);
    assert_string_equal(buf, "gemm,gemm,gemm,gemm");
    assert_null(model_layer_backend(m, 0));
    assert_string_equal(model_layer_backend(m, 1), "gemm");
    assert_null(model_layer_backend(m, 3)); /* block1_pool */

    assert_int_equal(model_set_conv(m, "onednn:direct,gemm,naive,onednn:direct", &err), VT_OK);
    model_conv_choice(m, buf, sizeof buf);
    assert_string_equal(buf, "onednn:direct,gemm,naive,onednn:direct");
    assert_int_equal(model_conv_choice(m, buf, 4), (int)strlen("onednn:direct,gemm,naive,onednn:direct"));
    assert_int_equal(strlen(buf), 3);

    /* Errors name the bad entry and leave the previous choice. */
    assert_int_equal(model_set_conv(m, "cudnn", &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "'cudnn'"));
    assert_int_equal(model_set_conv(m, "gemm:direct", &err), VT_EUSAGE);
    assert_int_equal(model_set_conv(m, "gemm,gemm", &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "2 convolution backends listed for the 4 Conv2D layers"));
    assert_int_equal(model_set_conv(m, "gemm,,gemm,gemm", &err), VT_EUSAGE);
    model_conv_choice(m, buf, sizeof buf);
    assert_string_equal(buf, "onednn:direct,gemm,naive,onednn:direct");

    /* "timed" and "auto" resolve to lists that model_set_conv takes back unchanged (what --resume does);
     * "auto" is a rule, so it resolves the same way every time. */
    char resolved[256];
    assert_int_equal(model_set_conv(m, "timed", &err), VT_OK);
    model_conv_choice(m, resolved, sizeof resolved);
    assert_null(strstr(resolved, "timed"));
    assert_null(strstr(resolved, "naive"));
    assert_int_equal(model_set_conv(m, "auto", &err), VT_OK);
    model_conv_choice(m, resolved, sizeof resolved);
    assert_null(strstr(resolved, "auto"));
    assert_null(strstr(resolved, "naive"));
    assert_int_equal(model_set_conv(m, "auto", &err), VT_OK);
    model_conv_choice(m, buf, sizeof buf);
    assert_string_equal(buf, resolved);
    assert_int_equal(model_set_conv(m, resolved, &err), VT_OK);
    model_conv_choice(m, buf, sizeof buf);
    assert_string_equal(buf, resolved);

    /* Winograd: planned where oneDNN has it (AVX-512), else a usage error that says why. */
    conv_geom g;
    conv_geom_init(&g, 2, 8, 8, 32, 32, 3, 3, 1, 1);
    int wino = conv_backend_find("onednn")->supports(&g, CONV_ALGO_WINOGRAD);
    int rc = model_set_conv(m, "gemm,onednn:winograd,gemm,gemm", &err);
    if (wino) {
        assert_int_equal(rc, VT_OK);
    } else {
        assert_int_equal(rc, VT_EUSAGE);
        assert_non_null(strstr(err.msg, "AVX-512"));
        model_conv_choice(m, buf, sizeof buf);
        assert_string_equal(buf, resolved);
    }

    /* The winograd backend: F(4x4) from 8x8 maps up, F(2x2) below; "auto" takes it where the input has
     * 32 channels or more (here all but block1_conv1: 3, 32, 32, 64 on maps of 8, 8, 4, 4), F(4x4) even
     * where oneDNN's own Winograd is there, and otherwise resolves as "onednn" does. */
    expect_choice(m, "winograd", "winograd:f4,winograd:f4,winograd:f2,winograd:f2");
    assert_int_equal(model_set_conv(m, "onednn", &err), VT_OK);
    char want[400], onednn[300];
    model_conv_choice(m, onednn, sizeof onednn);
    *strchr(onednn, ',') = '\0';
    snprintf(want, sizeof want, "%s,winograd:f4,winograd:f2,winograd:f2", onednn);
    expect_choice(m, "auto", want);
    /* On maps of 2x2 (here 4, 4, 2, 2) "auto" gives the deep layers the unrolled backend, not F(2x2). */
    model_config tiny = config("cnn", 4, 3);
    model *t;
    assert_int_equal(model_create(&tiny, &t, NULL), VT_OK);
    assert_int_equal(model_set_batch(t, 2, &err), VT_OK);
    assert_int_equal(model_set_conv(t, "onednn", &err), VT_OK);
    model_conv_choice(t, onednn, sizeof onednn);
    *strchr(onednn, ',') = '\0';
    snprintf(want, sizeof want, "%s,winograd:f2,unrolled,unrolled", onednn);
    expect_choice(t, "auto", want);
    model_destroy(t);
    expect_choice(m, "winograd:f2,winograd:f4,gemm,winograd:f4", "winograd:f2,winograd:f4,gemm,winograd:f4");
    assert_int_equal(model_set_conv(m, "winograd:f5", &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "'winograd:f5'"));
    assert_int_equal(model_set_conv(m, "onednn:f4", &err), VT_EUSAGE);
    model_destroy(m);

    /* Names checked without a model, as flags are. */
    assert_int_equal(nn_conv_check("auto", &err), VT_OK);
    assert_int_equal(nn_conv_check("onednn:direct,gemm,naive,timed", &err), VT_OK);
    assert_int_equal(nn_conv_check("gemm,cudnn", &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "'cudnn'"));
    assert_int_equal(nn_conv_check("", &err), VT_EUSAGE);
    assert_int_equal(nn_conv_check("onednn:", &err), VT_EUSAGE);

    /* A model without convolutions has an empty list. */
    model_config mlp = config("mlp", 4, 3);
    assert_int_equal(model_create(&mlp, &m, NULL), VT_OK);
    assert_int_equal(model_set_batch(m, 2, NULL), VT_OK);
    assert_int_equal(model_conv_choice(m, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    model_destroy(m);
}

static void conv_environment_variable(void **state)
{
    (void)state;
    const char *old = getenv("VGGTOP_CONV");
    char saved[256] = "";
    if (old)
        snprintf(saved, sizeof saved, "%s", old);
    unsetenv("VGGTOP_CONV");
    assert_string_equal(nn_conv_default(), "auto");
    setenv("VGGTOP_CONV", "naive", 1);
    assert_string_equal(nn_conv_default(), "naive");
    model_config cfg = config("cnn", 8, 3);
    model *m;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    assert_int_equal(model_set_batch(m, 2, NULL), VT_OK);
    char buf[128];
    model_conv_choice(m, buf, sizeof buf);
    assert_string_equal(buf, "naive,naive,naive,naive");
    model_destroy(m);
    /* A bad value is refused when the model is sized, with the message of model_set_conv. */
    setenv("VGGTOP_CONV", "fast", 1);
    vt_err err;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    assert_int_equal(model_set_batch(m, 2, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "'fast'"));
    model_destroy(m);
    if (old)
        setenv("VGGTOP_CONV", saved, 1);
    else
        unsetenv("VGGTOP_CONV");
}

/* ---- checkpoints between backends, repeatability ---------------------------------------------------- */

static void checkpoint_moves_between_backends(void **state)
{
    (void)state;
    const char *pairs[][2] = {{"onednn", "gemm"},   {"gemm", "onednn"},   {"winograd", "onednn"},
                              {"gemm", "winograd"}, {"smallmap", "gemm"}, {"winograd", "smallmap"}};
    model_config cfg = config("cnn", 16, 10);
    const int N = 8;
    float *x = randf((size_t)N * 16 * 16 * 3, 41, 0, 1);
    int *y = labels(N, 10, 42);
    sgd_config s;
    sgd_config_default(&s);
    s.momentum = 0.9f; /* so the velocity is saved too */
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        model *a = sized(&cfg, pairs[k][0], N), *b = sized(&cfg, pairs[k][1], N);
        /* Both continue alike: the same step on either backend gives the same weights within rounding. */
        checkpoint_carries_over(a, b, x, y, N, &s, 1e-4);
        size_t P = (size_t)model_param_count(a);
        assert_close("weights after a step on the other backend", model_params(b), model_params(a), P, 1e-4);
        model_destroy(a);
        model_destroy(b);
    }
    free(x);
    free(y);
}

/* Resume on a backend at a fixed thread count: two steps, a checkpoint, a fresh model loading it and a
 * third step give the bits of three steps left alone (momentum on, so the velocity must round-trip too). */
static void resume_is_bit_identical_on(const char *conv)
{
    nn_set_threads(2);
    model_config cfg = config("cnn", 16, 10);
    const int N = 8;
    float *x = randf((size_t)N * 16 * 16 * 3, 61, 0, 1);
    int *y = labels(N, 10, 62);
    sgd_config s;
    sgd_config_default(&s);
    s.momentum = 0.9f;
    char path[] = "/tmp/vggtop-test-resume-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    model *a = sized(&cfg, conv, N), *b = sized(&cfg, conv, N);
    step_stats st = {0};
    for (int t = 0; t < 2; t++) {
        assert_int_equal(model_train_step(a, x, y, N, &s, &st, NULL), VT_OK);
        assert_int_equal(model_train_step(b, x, y, N, &s, &st, NULL), VT_OK);
    }
    vt_err err;
    assert_int_equal(checkpoint_save(path, b, NULL, 0, &err), VT_OK);
    model_destroy(b);
    b = sized(&cfg, conv, N);
    size_t len;
    assert_int_equal(checkpoint_load(path, b, NULL, 0, &len, &err), VT_OK);
    step_stats sa = {0}, sb = {0};
    assert_int_equal(model_train_step(a, x, y, N, &s, &sa, NULL), VT_OK);
    assert_int_equal(model_train_step(b, x, y, N, &s, &sb, NULL), VT_OK);
    size_t P = (size_t)model_param_count(a);
    assert_memory_equal(model_params(a), model_params(b), sizeof(float) * P);
    assert_memory_equal(model_velocity(a), model_velocity(b), sizeof(float) * P);
    assert_true(sa.loss_sum == sb.loss_sum);
    model_destroy(a);
    model_destroy(b);
    unlink(path);
    free(x);
    free(y);
    nn_set_threads(1);
}

static void resume_is_bit_identical_on_onednn(void **state)
{
    (void)state;
    resume_is_bit_identical_on("onednn");
}

static void resume_is_bit_identical_on_winograd(void **state)
{
    (void)state;
    resume_is_bit_identical_on("winograd");
    resume_is_bit_identical_on("smallmap");
}

/* Two identical runs at a fixed backend and thread count give the same bits: oneDNN's direct
 * convolution and the winograd and smallmap backends split their work over threads by a fixed rule and sum
 * in a fixed order. */
static void same_bits_on(const char *conv)
{
    nn_set_threads(2);
    model_config cfg = config("vgg16", 32, 10);
    cfg.include_top = 0; /* fc1 and fc2 (20 M weights, no convolution) were most of this test's time under ASan */
    const int N = 6;
    float *x = randf((size_t)N * 32 * 32 * 3, 51, 0, 1);
    int *y = labels(N, 10, 52);
    sgd_config s;
    sgd_config_default(&s);
    model *a = sized(&cfg, conv, N), *b = sized(&cfg, conv, N);
    char ca[512], cb[512];
    model_conv_choice(a, ca, sizeof ca);
    model_conv_choice(b, cb, sizeof cb);
    assert_string_equal(ca, cb); /* "onednn" and "winograd" are fixed rules: the same shapes, the same choice */
    step_stats sa = {0}, sb = {0};
    for (int t = 0; t < 3; t++) {
        s.momentum = t < 2 ? 0.0f : 0.9f;
        assert_int_equal(model_train_step(a, x, y, t == 1 ? N - 1 : N, &s, &sa, NULL), VT_OK);
        assert_int_equal(model_train_step(b, x, y, t == 1 ? N - 1 : N, &s, &sb, NULL), VT_OK);
    }
    size_t P = (size_t)model_param_count(a);
    assert_memory_equal(model_params(a), model_params(b), sizeof(float) * P);
    assert_memory_equal(model_velocity(a), model_velocity(b), sizeof(float) * P);
    assert_true(sa.loss_sum == sb.loss_sum);
    free(x);
    free(y);
    model_destroy(a);
    model_destroy(b);
    nn_set_threads(1);
}

static void same_bits_at_fixed_backend_and_threads(void **state)
{
    (void)state;
    same_bits_on("onednn");
    if (onednn_only())
        return;
    same_bits_on("winograd");
    /* smallmap on the small maps only (4x4 and 2x2 at 32x32), where it is meant to run. */
    same_bits_on("gemm,gemm,gemm,gemm,gemm,gemm,gemm,smallmap,smallmap,smallmap,smallmap,smallmap,smallmap");
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_testing_start(argv);
    nn_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backends_match_naive_model_shapes),
        cmocka_unit_test(backends_match_naive_odd_shapes),
        cmocka_unit_test(comparison_catches_a_wrong_kernel),
        cmocka_unit_test(models_on_onednn_match_gemm),
        cmocka_unit_test(choice_api),
        cmocka_unit_test(conv_environment_variable),
        cmocka_unit_test(checkpoint_moves_between_backends),
        cmocka_unit_test(resume_is_bit_identical_on_onednn),
        cmocka_unit_test(resume_is_bit_identical_on_winograd),
        cmocka_unit_test(same_bits_at_fixed_backend_and_threads),
    };
    return cmocka_run_group_tests_name("nn_conv", tests, NULL, NULL);
}
