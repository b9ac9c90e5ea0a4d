/* Unit tests of mixed precision (src/nn/precision.c, the bf16 variant of src/nn/onednn.c, plan_convs in
 * src/nn/model.c): the policy names; on a CPU where oneDNN runs bfloat16 (its effective ISA says so, lowered
 * by ONEDNN_MAX_CPU_ISA when set), each bf16 layer forward and backward against the float32 naive loops
 * within bf16's tolerance, whole models at mixed_bfloat16 against float32, and checkpoints moving between
 * the precisions; on a CPU without it, the refusal, which is the branch such a CPU runs (not a skip). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vggtop/nn.h"
#include "nn_testing.h"
#include "testing.h"
#include "../src/nn/winograd_bf16.h"

/* bf16 keeps 8 significant bits: inputs and kernels rounded to it put each product off by up to 2^-7
 * relative, and sums of them by about 1% of their largest term; a wrong tap or offset is off by the
 * order of the values themselves (test_nn_conv's comparison_catches_a_wrong_kernel). */
#define BF16_TOL 3e-2

/* What oneDNN itself says it can run here: the oracle the refusal is held to. */
static int onednn_has_bf16(void)
{
    return (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
}

static void names_parse_back(void **state)
{
    (void)state;
    nn_precision p;
    vt_err err;
    assert_int_equal(nn_precision_parse("float32", &p, "--precision", &err), VT_OK);
    assert_int_equal(p, NN_PREC_FLOAT32);
    assert_int_equal(nn_precision_parse("mixed_bfloat16", &p, "--precision", &err), VT_OK);
    assert_int_equal(p, NN_PREC_MIXED_BF16);
    assert_string_equal(nn_precision_name(p), "mixed_bfloat16");
    assert_int_equal(nn_precision_parse("bfloat16", &p, "--precision", &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "--precision"));
    assert_non_null(strstr(err.msg, NN_PRECISION_CHOICES));
    assert_int_equal(nn_precision_check(NN_PREC_FLOAT32, &err), VT_OK);
}

/* mixed_bfloat16 is taken exactly where oneDNN runs bf16; elsewhere refused in one line, and a model keeps
 * float32. */
static void available_or_refused(void **state)
{
    (void)state;
    vt_err err;
    model_config cfg;
    model *m;
    assert_int_equal(model_config_default(&cfg, "cnn", NULL), VT_OK);
    assert_int_equal(model_create(&cfg, &m, &err), VT_OK);
    int rc = model_set_precision(m, NN_PREC_MIXED_BF16, &err);
    if (onednn_has_bf16()) {
        assert_int_equal(nn_precision_check(NN_PREC_MIXED_BF16, &err), VT_OK);
        assert_int_equal(rc, VT_OK);
        assert_int_equal(model_get_precision(m), NN_PREC_MIXED_BF16);
    } else {
        assert_int_equal(nn_precision_check(NN_PREC_MIXED_BF16, &err), VT_EUSAGE);
        assert_int_equal(rc, VT_EUSAGE);
        assert_non_null(strstr(err.msg, "mixed_bfloat16"));
        assert_null(strchr(err.msg, '\n'));
        assert_int_equal(model_get_precision(m), NN_PREC_FLOAT32);
        /* Named directly, the variant is refused too, with its hint. */
        assert_int_equal(model_set_conv(m, "onednn:bf16", &err), VT_OK);
        assert_int_equal(model_set_batch(m, 2, &err), VT_EUSAGE);
        assert_non_null(strstr(err.msg, "bfloat16"));
    }
    model_destroy(m);
}

/* Whether this CPU has the instructions of the winograd backend's bfloat16 products (from cpuid, not from
 * the backend). */
static int cpu_has_avx512_bf16(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
}

/* One bf16 layer of be's variant algo (planned for N images, run on n) forward, and backward onto non-zero
 * gradients, against the naive float32 loops. The ReLU's mask comes from the layer's own output (one
 * flipped entry would move dx by a whole |w * dout|, see test_nn_conv). Returns 0 where the variant cannot
 * run the layer. */
static int layer_case(const conv_backend *be, int algo, int N, int n, int h, int w, int c, int oc, int relu,
                      uint64_t seed)
{
    conv_layer cl;
    memset(&cl, 0, sizeof cl);
    conv_geom_init(&cl.g, N, h, w, c, oc, 3, 3, 1, 1);
    cl.be = be;
    cl.algo = algo;
    cl.relu = relu;
    if (!cl.be->supports(&cl.g, algo))
        return 0; /* where oneDNN has no optimised bf16 kernel the layer stays float32 in a model */
    char label[32];
    conv_label(label, sizeof label, be, algo);
    vt_err err;
    if (cl.be->plan(&cl, &err) != VT_OK)
        fail_msg("%s %dx%dx%d -> %d: %s", label, h, w, c, oc, err.msg);
    const size_t wsn = be->workspace ? be->workspace(&cl.g) : 0;
    float *scratch = wsn ? malloc(sizeof(float) * wsn) : NULL;
    conv_geom g;
    conv_geom_init(&g, n, h, w, c, oc, 3, 3, 1, 1);
    size_t xs = (size_t)n * h * w * c, os = (size_t)n * g.oh * g.ow * oc, ws = (size_t)9 * c * oc;
    float *x = randf(xs, seed, -1, 1), *k = randf(ws, seed + 1, -0.3f, 0.3f), *b = randf(oc, seed + 2, -0.2f, 0.2f);
    float *r = randf(os, seed + 3, -1, 1), *dw0 = randf(ws, seed + 4, -1, 1), *db0 = randf(oc, seed + 5, -1, 1);
    float *out = malloc(sizeof(float) * os), *ref = malloc(sizeof(float) * os), *dout = malloc(sizeof(float) * os);
    float *dx = calloc(xs, sizeof(float)), *dxr = calloc(xs, sizeof(float));
    float *dw = malloc(sizeof(float) * ws), *dwr = malloc(sizeof(float) * ws);
    float *db = malloc(sizeof(float) * oc), *dbr = malloc(sizeof(float) * oc);
    char what[128];
#define WHAT(part) (snprintf(what, sizeof what, "%s %dx%dx%d->%d n=%d/%d %s", label, h, w, c, oc, n, N, part), what)
    conv2d_forward_naive(ref, x, k, b, &g, relu);
    cl.be->forward(&cl, out, scratch, x, k, b, n);
    assert_close(WHAT("forward"), out, ref, os, BF16_TOL);
    memcpy(dw, dw0, sizeof(float) * ws), memcpy(dwr, dw0, sizeof(float) * ws);
    memcpy(db, db0, sizeof(float) * oc), memcpy(dbr, db0, sizeof(float) * oc);
    memcpy(dout, r, sizeof(float) * os);
    conv2d_backward_naive(dxr, dwr, dbr, dout, out, x, k, &g, relu);
    memcpy(dout, r, sizeof(float) * os);
    cl.be->backward(&cl, dx, k, b, dw, db, scratch, dout, out, x, n, NULL);
    assert_close(WHAT("dx"), dx, dxr, xs, BF16_TOL);
    assert_close(WHAT("dw"), dw, dwr, ws, BF16_TOL);
    assert_close(WHAT("db"), db, dbr, (size_t)oc, BF16_TOL);
#undef WHAT
    cl.be->release(&cl);
    free(scratch);
    free(x), free(k), free(b), free(r), free(dw0), free(db0), free(out), free(ref), free(dout);
    free(dx), free(dxr), free(dw), free(dwr), free(db), free(dbr);
    return 1;
}

/* The models' Conv2D shapes that bf16 takes (cnn, vgg16 at 48 and 32: the 512-channel maps of 6x6 and
 * below stay float32, so one of them is enough) and odd ones: few channels, a partial batch, no ReLU. */
static void layers_match_naive(void **state)
{
    (void)state;
    if (!onednn_has_bf16())
        return; /* available_or_refused checks this CPU's branch */
    static const int shapes[][7] = {
        /* N, n, h, w, c, oc, relu */
        {1, 1, 48, 48, 3, 64, 1},   {1, 1, 48, 48, 64, 64, 1},  {1, 1, 24, 24, 64, 128, 1},
        {1, 1, 12, 12, 128, 256, 1}, {1, 1, 12, 12, 256, 256, 1}, {1, 1, 6, 6, 256, 512, 1},
        {1, 1, 3, 3, 512, 512, 1},  {1, 1, 32, 32, 3, 32, 1},   {1, 1, 16, 16, 32, 64, 1},
        {5, 3, 8, 8, 16, 8, 1},     {3, 2, 6, 6, 8, 16, 0},     {4, 4, 5, 7, 32, 32, 1},
    };
    size_t ran = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *d = shapes[s];
        ran += (size_t)layer_case(&conv_backend_onednn, CONV_ALGO_BF16, d[0], d[1], d[2], d[3], d[4], d[5], d[6],
                                  3000 + s);
    }
    fprintf(stderr, "bf16 layers checked: %zu of %zu shapes\n", ran, sizeof shapes / sizeof shapes[0]);
    assert_true(ran >= 9); /* the VGG and cnn shapes at least: oneDNN has bf16 kernels for them here */
}

/* The winograd backend's bfloat16 products (f2-bf16) on the models' shapes past the first layer
 * and odd ones: channels that fill no block of 32, tile counts that leave a tile unpaired, a partial batch,
 * no ReLU, a batch whose images fit one chunk a worker (the small maps' path) and one that takes several.
 * On a CPU without AVX512_BF16 they are refused (the branch such a CPU runs). */
static void winograd_bf16_matches_naive(void **state)
{
    (void)state;
    static const int shapes[][7] = {
        /* N, n, h, w, c, oc, relu */
        {1, 1, 48, 48, 64, 64, 1},   {1, 1, 24, 24, 64, 128, 1}, {2, 2, 12, 12, 128, 256, 1},
        {2, 2, 6, 6, 256, 512, 1},   {2, 2, 3, 3, 512, 512, 1},  {2, 2, 16, 16, 32, 64, 1},
        {5, 3, 8, 8, 16, 8, 1},      {3, 2, 6, 6, 8, 16, 0},     {4, 4, 5, 7, 34, 38, 1},
        {3, 3, 9, 9, 2, 6, 1},       {16, 16, 6, 6, 64, 96, 1},  {1, 1, 10, 10, 40, 70, 0},
    };
    const int runs = cpu_has_avx512_bf16() && nn_isa() == NN_ISA_AVX512;
    size_t ran = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *d = shapes[s];
        ran += (size_t)layer_case(&conv_backend_winograd, CONV_ALGO_F2_BF16, d[0], d[1], d[2], d[3], d[4], d[5],
                                  d[6], 4000 + s);
    }
    assert_int_equal(ran, runs ? sizeof shapes / sizeof shapes[0] : 0);
    /* Odd channel counts have no pairs: refused even where the instructions are. */
    conv_geom g;
    conv_geom_init(&g, 1, 8, 8, 3, 64, 3, 3, 1, 1);
    assert_false(conv_backend_winograd.supports(&g, CONV_ALGO_F2_BF16));
}

/* What vcvtneps2bf16 makes of f: the bfloat16 nearest to it, ties to the even one, a NaN a NaN, a subnormal a
 * zero of its sign (the instruction treats them as zeros): of the two bfloat16 numbers around f (its bits
 * cut to 16, and the next one up in magnitude, 2^128 past the largest), whichever is nearer, in double. */
static uint16_t nearest_bf16(float f)
{
    if (f != f)
        return 0x7fc0;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7f800000u) == 0)
        return (uint16_t)((u >> 16) & 0x8000u);
    if (isinf(f))
        return (uint16_t)(u >> 16);
    const uint32_t lo = u & 0xffff0000u, hi = lo + 0x10000u;
    float fl, fh;
    memcpy(&fl, &lo, sizeof fl);
    memcpy(&fh, &hi, sizeof fh);
    const double past = (hi & 0x7f800000u) == 0x7f800000u ? copysign(ldexp(1.0, 128), f) : (double)fh;
    const double dl = fabs((double)f - fl), dh = fabs(past - f);
    if (dl != dh)
        return (uint16_t)((dl < dh ? lo : hi) >> 16);
    return (uint16_t)(((lo >> 16) & 1 ? hi : lo) >> 16);
}

/* wbf_to_bf16 (in place) on lengths that end inside its 32-float blocks and past them, on ties, the largest
 * floats, infinities, NaNs, zeros and subnormals, against nearest_bf16. */
static void rounding_to_bf16(void **state)
{
    (void)state;
    if (!cpu_has_avx512_bf16())
        return; /* its instructions are not here; nothing in vggtop calls it then */
    static const uint32_t special[] = {0x3f808000u, 0x3f818000u, 0xbf808000u, 0x7f7fffffu, 0xff7fffffu,
                                       0x7f800000u, 0xff800000u, 0x7fc00001u, 0xffa00000u, 0x00000000u,
                                       0x80000000u, 0x00000001u, 0x807fffffu, 0x3f7fffffu, 0x3effff80u};
    const size_t ns = sizeof special / sizeof special[0];
    static const size_t lengths[] = {2, 16, 18, 32, 46, 64, 98};
    vt_rng r;
    vt_rng_seed(&r, 77);
    for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
        const size_t n = lengths[l];
        float buf[98], want[98];
        for (size_t i = 0; i < n; i++) {
            /* The specials last: in the tail of the lengths that have one, in a block of 32 in the others. */
            uint32_t u = n - i <= ns ? special[n - i - 1] : (uint32_t)vt_rng_next(&r);
            memcpy(&buf[i], &u, sizeof u);
            want[i] = buf[i];
        }
        wbf_to_bf16(buf, n);
        const uint16_t *got = (const uint16_t *)buf;
        for (size_t i = 0; i < n; i++) {
            const uint16_t w = nearest_bf16(want[i]);
            const int both_nan = (w & 0x7f80) == 0x7f80 && (w & 0x7f) && (got[i] & 0x7f80) == 0x7f80 && (got[i] & 0x7f);
            if (got[i] != w && !both_nan)
                fail_msg("n = %zu, element %zu (%a): bfloat16 0x%04x, expected 0x%04x", n, i, (double)want[i], got[i],
                         w);
        }
    }
}

static model *sized(const model_config *cfg, nn_precision p, const char *conv, int batch)
{
    model *m;
    vt_err err;
    assert_int_equal(model_create(cfg, &m, &err), VT_OK);
    if (model_set_precision(m, p, &err) != VT_OK || model_set_conv(m, conv, &err) != VT_OK ||
        model_set_batch(m, batch, &err) != VT_OK)
        fail_msg("%s at %s with %s: %s", cfg->name, nn_precision_name(p), conv, err.msg);
    return m;
}

/* A whole model in bf16 against float32: the loss, the probabilities and each layer's gradient, through
 * oneDNN's bf16 chains and pooling (conv "onednn:bf16": every layer) and through the precision's own rule
 * (auto). Each layer's gradient must point the same way (cosine) at the same length, loosely: a bf16 forward
 * flips the ReLU masks of the outputs within its rounding of zero, and each flip moves the gradient below
 * it by a whole |w * dout|; through vgg16's 13 convolutions at batch 4 the first layer's gradient moved by
 * 30% of its norm, through cnn's four by 12% (cosines about 0.95 and 0.99). A wrong kernel, a transposed one or a
 * lost chain leaves a cosine near 0. */
#define GRAD_COSINE 0.8
static void model_matches_float32(const model_config *cfg, const char *conv)
{
    const int N = 4;
    model *a = sized(cfg, NN_PREC_FLOAT32, "gemm", N), *b = sized(cfg, NN_PREC_MIXED_BF16, conv, N);
    size_t image = (size_t)cfg->height * cfg->width * cfg->channels, P = (size_t)model_param_count(a);
    float *x = randf(image * N, 51, 0, 1);
    int y[4] = {0, 1, 2, 3};
    double la, lb;
    vt_err err;
    assert_int_equal(model_loss_grad(a, x, y, N, NULL, &la, &err), VT_OK);
    assert_int_equal(model_loss_grad(b, x, y, N, NULL, &lb, &err), VT_OK);
    if (fabs(la - lb) > 2e-2 * fabs(la))
        fail_msg("%s %s: loss %.7g at mixed_bfloat16, %.7g at float32", cfg->name, conv, lb, la);
    layer_info rows[64];
    int nrows = model_plan(cfg, rows, 64, NULL, NULL);
    size_t off = 0;
    for (int r = 0; r < nrows; r++) {
        double dot = 0, na = 0, nb = 0;
        for (size_t i = off; i < off + (size_t)rows[r].params; i++) {
            const double ga = model_grads(a)[i], gb = model_grads(b)[i];
            dot += ga * gb, na += ga * ga, nb += gb * gb;
        }
        off += (size_t)rows[r].params;
        const double cosine = dot / sqrt(na * nb), ratio = sqrt(nb / na);
        if (rows[r].params && !(cosine >= GRAD_COSINE && fabs(ratio - 1) <= 1 - GRAD_COSINE))
            fail_msg("%s %s: %s's gradient at cosine %.3f and %.3f times the norm of float32's", cfg->name, conv,
                     rows[r].name, cosine, ratio);
    }
    assert_int_equal(off, P);
    float pa[4 * 10], pb[4 * 10];
    assert_int_equal(model_predict(a, x, N, pa, NULL), VT_OK);
    assert_int_equal(model_predict(b, x, N, pb, NULL), VT_OK);
    assert_close("probabilities", pb, pa, (size_t)N * cfg->classes, BF16_TOL);
    free(x);
    model_destroy(a);
    model_destroy(b);
}

static model_config config(const char *name, int h, int top)
{
    model_config cfg;
    assert_int_equal(model_config_default(&cfg, name, NULL), VT_OK);
    cfg.height = cfg.width = h;
    cfg.classes = 10;
    cfg.include_top = top;
    return cfg;
}

static void models_match_float32(void **state)
{
    (void)state;
    if (!onednn_has_bf16())
        return; /* available_or_refused checks this CPU's branch */
    model_config cnn = config("cnn", 16, 1), vgg = config("vgg16", 32, 0), nopool = config("vgg16-nopool", 32, 1);
    model_matches_float32(&cnn, "onednn:bf16");
    model_matches_float32(&cnn, "auto");
    model_matches_float32(&vgg, "onednn:bf16");
    model_matches_float32(&vgg, "auto");
    model_matches_float32(&nopool, "auto");
    /* The rule (a test of the rule, not of a pick: bf16 runs here): the first layer's 3 channels on oneDNN's
     * bf16, the others on the winograd backend's bfloat16 products where the CPU has AVX512_BF16 (this
     * test's own look at cpuid), else on oneDNN's. */
    model *m = sized(&vgg, NN_PREC_MIXED_BF16, "auto", 2);
    assert_string_equal(model_layer_backend(m, 1), "onednn:bf16");
    assert_string_equal(model_layer_backend(m, 2), cpu_has_avx512_bf16() ? "winograd:f2-bf16" : "onednn:bf16");
    model_destroy(m);
}

/* A checkpoint holds float32 masters whatever the precision: a mixed_bfloat16 model's loads into a float32
 * one bit for bit, and the other way round, and both go on alike. */
static void checkpoints_move_between_precisions(void **state)
{
    (void)state;
    if (!onednn_has_bf16())
        return; /* available_or_refused checks this CPU's branch */
    model_config cfg = config("cnn", 16, 1);
    const int N = 8;
    float *x = randf((size_t)N * 16 * 16 * 3, 61, 0, 1);
    int y[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    sgd_config s;
    sgd_config_default(&s);
    s.momentum = 0.9f;
    const nn_precision order[2][2] = {{NN_PREC_MIXED_BF16, NN_PREC_FLOAT32}, {NN_PREC_FLOAT32, NN_PREC_MIXED_BF16}};
    for (int k = 0; k < 2; k++) {
        model *a = sized(&cfg, order[k][0], "auto", N), *b = sized(&cfg, order[k][1], "auto", N);
        checkpoint_carries_over(a, b, x, y, N, &s, 2e-2);
        model_destroy(a);
        model_destroy(b);
    }
    free(x);
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_testing_start(argv);
    nn_set_threads(1);
    fprintf(stderr, "bfloat16 in oneDNN here: %s\n", onednn_has_bf16() ? "yes" : "no (the refusal is tested)");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_parse_back),
        cmocka_unit_test(available_or_refused),
        cmocka_unit_test(layers_match_naive),
        cmocka_unit_test(winograd_bf16_matches_naive),
        cmocka_unit_test(rounding_to_bf16),
        cmocka_unit_test(models_match_float32),
        cmocka_unit_test(checkpoints_move_between_precisions),
    };
    return cmocka_run_group_tests_name("nn_bf16", tests, NULL, NULL);
}
