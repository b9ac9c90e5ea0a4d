/* Unit tests of nn's models: parameter counts (Keras' published numbers and hand sums), configs and their
 * errors, whole-model gradients against finite differences, SGD against Keras' update formulas, overfitting
 * a fixed batch, bit-for-bit determinism, and inference. */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "vggtop/nn.h"
#include "nn_testing.h"
#include "testing.h"


static int *randlabels(int n, int classes, uint64_t seed)
{
    int *y = malloc(sizeof(int) * n);
    assert_non_null(y);
    vt_rng r;
    vt_rng_seed(&r, seed);
    for (int i = 0; i < n; i++)
        y[i] = (int)vt_rng_below(&r, (uint32_t)classes);
    return y;
}

static model_config config(const char *name, int h, int w, int c, int classes)
{
    model_config cfg;
    assert_int_equal(model_config_default(&cfg, name, NULL), VT_OK);
    cfg.height = h;
    cfg.width = w;
    cfg.channels = c;
    cfg.classes = classes;
    return cfg;
}

static long long plan_total(const model_config *cfg)
{
    long long total = -1;
    vt_err err;
    int rows = model_plan(cfg, NULL, 0, &total, &err);
    if (rows < 0)
        fail_msg("model_plan(%s): %s", cfg->name, err.msg);
    return total;
}

/* ---- parameter counts ----------------------------------------------------------------------------- */

static void keras_published_param_counts(void **state)
{
    (void)state;
    /* keras.applications with weights=None, classes=100 (and vgg16 without block5_pool at 32x32). */
    model_config a = config("vgg16", 48, 48, 3, 100), b = config("vgg19", 48, 48, 3, 100),
                 c = config("vgg16-nopool", 32, 32, 3, 100);
    assert_int_equal(plan_total(&a), 34006948LL);
    assert_int_equal(plan_total(&b), 39316644LL);
    assert_int_equal(plan_total(&c), 40298404LL);
    /* include_top=False: the published 14,714,688 of VGG16's base (20,024,384 for VGG19), plus the Dense
     * softmax head vggtop keeps so the model can train: 512 * 100 + 100 after global pooling. */
    a.include_top = 0;
    a.pooling = NN_POOL_AVG;
    assert_int_equal(plan_total(&a), 14714688LL + 51300);
    b.include_top = 0;
    b.pooling = NN_POOL_MAX;
    assert_int_equal(plan_total(&b), 20024384LL + 51300);
    /* No top, no pooling: Flatten of block5_pool (1x1x512 at 48x48) then the head. */
    a.pooling = NN_POOL_NONE;
    assert_int_equal(plan_total(&a), 14714688LL + 51300);
}

static void baseline_param_counts(void **state)
{
    (void)state;
    /* cnn at 32x32x3, 100 classes, by hand: convs 3*9*32+32, 32*9*32+32, 32*9*64+64, 64*9*64+64;
     * Flatten 8*8*64 = 4096; fc1 4096*512+512; predictions 512*100+100. */
    model_config cnn = config("cnn", 32, 32, 3, 100);
    assert_int_equal(plan_total(&cnn), 896 + 9248 + 18496 + 36928 + 2097664 + 51300);
    /* mlp at 28x28x1 (Fashion-MNIST), 10 classes: 784*512+512, 512*256+256, 256*10+10. */
    model_config mlp = config("mlp", 28, 28, 1, 10);
    assert_int_equal(plan_total(&mlp), 401920 + 131328 + 2570);
    /* The model object agrees with the plan. */
    model *m;
    assert_int_equal(model_create(&mlp, &m, NULL), VT_OK);
    assert_int_equal(model_param_count(m), 401920 + 131328 + 2570);
    model_destroy(m);
}

static void plan_rows_are_keras_layers(void **state)
{
    (void)state;
    model_config cfg = config("vgg16", 48, 48, 3, 100);
    layer_info rows[40];
    int n = model_plan(&cfg, rows, 40, NULL, NULL);
    assert_int_equal(n, 1 + 13 + 5 + 1 + 3); /* input, convs, pools, flatten, fc1 fc2 predictions */
    assert_string_equal(rows[0].name, "input_1");
    assert_string_equal(rows[0].type, "InputLayer");
    assert_string_equal(rows[1].name, "block1_conv1");
    assert_int_equal(rows[1].params, 1792);
    assert_int_equal(rows[1].h, 48);
    assert_int_equal(rows[1].c, 64);
    assert_string_equal(rows[3].name, "block1_pool");
    assert_string_equal(rows[3].type, "MaxPooling2D");
    assert_int_equal(rows[3].h, 24);
    assert_string_equal(rows[18].name, "block5_pool");
    assert_int_equal(rows[18].h, 1);
    assert_string_equal(rows[19].name, "flatten");
    assert_int_equal(rows[19].rank, 2);
    assert_int_equal(rows[19].c, 512);
    assert_string_equal(rows[20].name, "fc1");
    assert_int_equal(rows[20].params, 2101248);
    assert_string_equal(rows[22].name, "predictions");
    assert_int_equal(rows[22].c, 100);
    /* More rows than room: the count is still returned, only max rows written. */
    assert_int_equal(model_plan(&cfg, rows, 3, NULL, NULL), 23);
    /* vgg16-nopool ends its base at block5_conv3, 2x2x512. */
    model_config np = config("vgg16-nopool", 32, 32, 3, 100);
    n = model_plan(&np, rows, 40, NULL, NULL);
    assert_int_equal(n, 22);
    assert_string_equal(rows[17].name, "block5_conv3");
    assert_string_equal(rows[18].name, "flatten");
    assert_int_equal(rows[18].c, 2048);
}

static void expect_summary(const model_config *cfg, const char *fixture)
{
    char *text;
    assert_int_equal(model_summary_text(cfg, &text, NULL), VT_OK);
    FILE *f = fopen(fixture, "r");
    assert_non_null(f);
    char want[16384];
    size_t len = fread(want, 1, sizeof want - 1, f);
    want[len] = '\0';
    fclose(f);
    assert_string_equal(text, want);
    free(text);
}

static void summary_text_matches_keras_layout(void **state)
{
    (void)state;
    model_config cfg = config("vgg16", 48, 48, 3, 100);
    char *text;
    assert_int_equal(model_summary_text(&cfg, &text, NULL), VT_OK);
    assert_non_null(strstr(text, "Model: \"vgg16\"\n"));
    assert_non_null(strstr(text, " Layer (type)                Output Shape              Param #   \n"));
    assert_non_null(strstr(text, " input_1 (InputLayer)        [(None, 48, 48, 3)]       0         \n"));
    assert_non_null(strstr(text, " block1_conv1 (Conv2D)       (None, 48, 48, 64)        1792      \n"));
    assert_non_null(strstr(text, " fc2 (Dense)                 (None, 4096)              16781312  \n"));
    assert_non_null(strstr(text, "Total params: 34,006,948\nTrainable params: 34,006,948\n"
                                 "Non-trainable params: 0\n"));
    free(text);
    /* Whole texts against tests/fixtures/nn/ (tests/tools/nn_summary_fixture.py lays Keras' table out on its own;
     * the vgg16 one wraps a long layer name onto a second line as Keras does). */
    model_config cnn = config("cnn", 28, 28, 1, 10);
    expect_summary(&cnn, "tests/fixtures/nn/summary_cnn.txt");
    model_config notop = config("vgg16", 48, 48, 3, 100);
    notop.include_top = 0;
    notop.pooling = NN_POOL_AVG;
    expect_summary(&notop, "tests/fixtures/nn/summary_vgg16_notop.txt");
}

static void flops_by_hand(void **state)
{
    (void)state;
    /* mlp 28x28x1, 10 classes: 2 * (784*512 + 512*256 + 256*10). */
    model_config mlp = config("mlp", 28, 28, 1, 10);
    assert_float_equal(model_flops_per_image(&mlp), 2.0 * (784 * 512 + 512 * 256 + 256 * 10), 0.5);
    /* cnn 8x8x3, 5 classes: convs 2*64*(27*32 + 288*32) + 2*16*(288*64 + 576*64); fc1 2*(4*64)*512;
     * predictions 2*512*5. */
    model_config cnn = config("cnn", 8, 8, 3, 5);
    double want = 2.0 * 64 * (27 * 32 + 288 * 32) + 2.0 * 16 * (288 * 64 + 576 * 64) + 2.0 * 256 * 512 +
                  2.0 * 512 * 5;
    assert_float_equal(model_flops_per_image(&cnn), want, 0.5);
}

/* ---- configs -------------------------------------------------------------------------------------- */

static void config_defaults_and_errors(void **state)
{
    (void)state;
    model_config cfg;
    vt_err err;
    assert_int_equal(model_config_default(&cfg, "vgg19", &err), VT_OK);
    assert_int_equal(cfg.height, 48);
    assert_int_equal(cfg.classes, 100);
    assert_int_equal(cfg.include_top, 1);
    assert_int_equal(model_config_default(&cfg, "mlp", &err), VT_OK);
    assert_int_equal(cfg.height, 32);
    assert_int_equal(model_config_default(&cfg, "resnet50", &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "resnet50"));
    for (int i = 0; model_names[i]; i++)
        assert_int_equal(model_config_default(&cfg, model_names[i], &err), VT_OK);

    struct {
        const char *name;
        int h, w, c, classes, top;
        nn_pooling pool;
        const char *needle;
    } bad[] = {
        {"vgg16", 28, 28, 3, 100, 1, NN_POOL_NONE, "32x32"},
        {"vgg16-nopool", 32, 16, 3, 100, 1, NN_POOL_NONE, "32x32"},
        {"vgg19", 48, 48, 0, 100, 1, NN_POOL_NONE, "channels"},
        {"vgg19", 48, 48, 5, 100, 1, NN_POOL_NONE, "channels"},
        {"cnn", 32, 32, 3, 0, 1, NN_POOL_NONE, "classes"},
        {"cnn", 3, 3, 1, 10, 1, NN_POOL_NONE, "too small"},
        {"mlp", 28, 28, 1, 10, 0, NN_POOL_NONE, "no-top"},
        {"vgg16", 48, 48, 3, 100, 1, NN_POOL_AVG, "no-top"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(model_config_default(&cfg, bad[i].name, NULL), VT_OK);
        cfg.height = bad[i].h;
        cfg.width = bad[i].w;
        cfg.channels = bad[i].c;
        cfg.classes = bad[i].classes;
        cfg.include_top = bad[i].top;
        cfg.pooling = bad[i].pool;
        vt_err_clear(&err);
        assert_int_equal(model_config_check(&cfg, &err), VT_EUSAGE);
        if (!strstr(err.msg, bad[i].needle))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].needle);
        assert_null(strchr(err.msg, '\n'));
        model *m = (model *)1;
        assert_int_equal(model_create(&cfg, &m, NULL), VT_EUSAGE);
        assert_null(m);
        assert_true(model_plan(&cfg, NULL, 0, NULL, NULL) < 0);
    }
    /* The minimum sizes themselves are fine. */
    model_config ok = config("vgg16", 32, 32, 1, 1);
    assert_int_equal(model_config_check(&ok, NULL), VT_OK);
    ok = config("cnn", 4, 4, 4, 2);
    assert_int_equal(model_config_check(&ok, NULL), VT_OK);
}

/* ---- whole-model gradients ------------------------------------------------------------------------ */

typedef struct grad_ctx {
    model *m;
    const float *x;
    const int *y;
    int n;
} grad_ctx;

static double model_loss(grad_ctx *c)
{
    double loss;
    model_weights_changed(c->m); /* check_entry writes the weights through a kept pointer */
    assert_int_equal(model_loss_grad(c->m, c->x, c->y, c->n, NULL, &loss, NULL), VT_OK);
    return loss;
}

/* Checks the analytic derivative a of the mean loss w.r.t. p[i] against finite differences with step 1e-3.
 * The model computes in float; its loss carries about 3e-8 of rounding noise, so a difference quotient
 * carries about 3e-5. A network of ReLUs and max pools is piecewise smooth: when a kink lies inside the
 * step, the central difference mixes two slopes, but then a lies close to one of the one-sided quotients
 * (the slope on its own side). So a passes when it matches the central quotient within 2% or either
 * one-sided quotient within 3% (their O(eps) curvature error is covered by the 3e-4). A wrong backward
 * (a missed layer, swapped offsets, a wrong transpose) is off by the order of the gradient itself. */
static void check_entry(grad_ctx *c, float *p, size_t i, double a, const char *what)
{
    const float eps = 1e-3f;
    float old = p[i], up = old + eps, down = old - eps;
    double l0 = model_loss(c);
    p[i] = up;
    double lp = model_loss(c);
    p[i] = down;
    double lm = model_loss(c);
    p[i] = old;
    double central = (lp - lm) / ((double)up - (double)down);
    double right = (lp - l0) / ((double)up - (double)old), left = (l0 - lm) / ((double)old - (double)down);
    if (fabs(central - a) <= 2e-2 * fabs(a) + 1e-4)
        return;
    if (fabs(right - a) <= 3e-2 * fabs(a) + 3e-4 || fabs(left - a) <= 3e-2 * fabs(a) + 3e-4)
        return;
    fail_msg("%s[%zu]: analytic %.6g, numeric central %.6g, left %.6g, right %.6g", what, i, a, central, left,
             right);
}

/* The k largest |g| entries (where a wrong backward shows most) and k random ones of an array. */
static void check_array(grad_ctx *c, float *p, const float *g, size_t len, int k, uint64_t seed, const char *what)
{
    float *work = malloc(sizeof(float) * len);
    memcpy(work, g, sizeof(float) * len);
    for (int j = 0; j < k; j++) {
        size_t best = 0;
        for (size_t i = 0; i < len; i++)
            if (fabsf(work[i]) > fabsf(work[best]))
                best = i;
        check_entry(c, p, best, g[best], what);
        work[best] = 0.0f; /* so the next pick is another entry */
    }
    vt_rng r;
    vt_rng_seed(&r, seed);
    for (int j = 0; j < k; j++) {
        size_t i = vt_rng_below(&r, (uint32_t)len);
        check_entry(c, p, i, g[i], what);
    }
    free(work);
}

/* conv: the convolution backends (model_set_conv), NULL for the default the binary would use. */
static void check_model_grads_on(const model_config *cfg, int n, uint64_t seed, const char *conv)
{
    model *m;
    vt_err err;
    assert_int_equal(model_create(cfg, &m, &err), VT_OK);
    if (conv)
        assert_int_equal(model_set_conv(m, conv, &err), VT_OK);
    assert_int_equal(model_set_batch(m, n, &err), VT_OK);
    size_t image = (size_t)cfg->height * cfg->width * cfg->channels;
    float *x = randf(image * n, seed, 0.0f, 1.0f);
    int *y = randlabels(n, cfg->classes, seed + 1);
    grad_ctx c = {m, x, y, n};
    size_t P = (size_t)model_param_count(m);
    float *g = malloc(sizeof(float) * P), *dx = malloc(sizeof(float) * image * n);
    double loss;
    assert_int_equal(model_loss_grad(m, x, y, n, dx, &loss, &err), VT_OK);
    assert_true(isfinite(loss) && loss > 0.0);
    memcpy(g, model_grads(m), sizeof(float) * P);

    /* Walk the arrays in plan order: each layer with parameters has its kernel, then its bias. */
    layer_info rows[64];
    int nrows = model_plan(cfg, rows, 64, NULL, NULL);
    size_t off = 0;
    for (int r = 0; r < nrows; r++) {
        if (!rows[r].params)
            continue;
        size_t bias = (size_t)rows[r].c, kernel = (size_t)rows[r].params - bias;
        char what[200];
        snprintf(what, sizeof what, "%.31s (%.40s) %.39s kernel", cfg->name, conv ? conv : nn_conv_default(),
                 rows[r].name);
        check_array(&c, model_params(m) + off, g + off, kernel, 4, seed + off, what);
        off += kernel;
        snprintf(what, sizeof what, "%.31s (%.40s) %.39s bias", cfg->name, conv ? conv : nn_conv_default(),
                 rows[r].name);
        check_array(&c, model_params(m) + off, g + off, bias, 4, seed + off, what);
        off += bias;
    }
    assert_int_equal(off, P);
    /* dL/dx, which the first layer computes only when asked. */
    char what[64];
    snprintf(what, sizeof what, "%s dx", cfg->name);
    check_array(&c, x, dx, image * n, 6, seed + 7, what);
    free(g);
    free(dx);
    free(x);
    free(y);
    model_destroy(m);
}

static void check_model_grads(const model_config *cfg, int n, uint64_t seed)
{
    check_model_grads_on(cfg, n, seed, NULL);
}

static void model_grad_cnn(void **state)
{
    (void)state;
    model_config cfg = config("cnn", 8, 8, 3, 5);
    check_model_grads(&cfg, 3, 101);
}

/* The same checks through every convolution backend this machine has (for oneDNN: its blocked layout
 * from the input to Flatten, with the max pooling inside the chain). */
static void model_grad_cnn_every_backend(void **state)
{
    (void)state;
    model_config cfg = config("cnn", 8, 8, 3, 5);
    conv_geom g;
    conv_geom_init(&g, 3, 8, 8, 3, 32, 3, 3, 1, 1);
    for (int v = 0; v < CONV_VARIANTS; v++)
        if (conv_variant_backend(&conv_variants[v], &g))
            check_model_grads_on(&cfg, 3, 101, conv_variants[v].label); /* model_grad_cnn's data */
    model_config gap = config("cnn", 6, 6, 2, 4);
    gap.include_top = 0;
    gap.pooling = NN_POOL_MAX;
    check_model_grads_on(&gap, 2, 121, "onednn");
}

static void model_grad_cnn_global_pooling(void **state)
{
    (void)state;
    model_config cfg = config("cnn", 6, 6, 2, 4);
    cfg.include_top = 0;
    cfg.pooling = NN_POOL_AVG;
    check_model_grads(&cfg, 2, 202);
    cfg.pooling = NN_POOL_MAX;
    check_model_grads(&cfg, 2, 303);
    cfg.pooling = NN_POOL_NONE;
    check_model_grads(&cfg, 2, 404);
}

static void model_grad_mlp(void **state)
{
    (void)state;
    model_config cfg = config("mlp", 4, 4, 1, 6);
    check_model_grads(&cfg, 4, 505);
}

/* Two models of one config (one seed), each sized for batches of up to `batch`. */
static void twins(const model_config *cfg, int batch, model **a, model **b)
{
    assert_int_equal(model_create(cfg, a, NULL), VT_OK);
    assert_int_equal(model_create(cfg, b, NULL), VT_OK);
    assert_int_equal(model_set_batch(*a, batch, NULL), VT_OK);
    assert_int_equal(model_set_batch(*b, batch, NULL), VT_OK);
}

/* ---- slices of a batch (data-parallel training) ----------------------------------------------------- */

typedef struct ready_log {
    size_t from[64];
    int n;
} ready_log;

static void log_ready(void *ctx, size_t from)
{
    ready_log *log = ctx;
    assert_true(log->n < 64);
    log->from[log->n++] = from;
}

/* The gradients of the slices [0, 3), [3, 5), [5, 7) of a batch of 7, summed, are the gradient of the batch's
 * mean loss (relative L2 error below 1e-6: float32 summation order), and the hook reports the block complete
 * from ever lower offsets, ending at 0. */
static void slices_sum_to_the_batch_gradient(const char *name, int side, int channels)
{
    model_config cfg = config(name, side, side, channels, 5);
    model *m;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    assert_int_equal(model_set_batch(m, 7, NULL), VT_OK);
    size_t P = (size_t)model_param_count(m), image = (size_t)side * side * channels;
    float *x = randf(7 * image, 31, 0, 1);
    int *y = randlabels(7, 5, 32);
    assert_int_equal(model_loss_grad(m, x, y, 7, NULL, NULL, NULL), VT_OK);
    double *whole = malloc(sizeof(double) * P), *sum = calloc(P, sizeof(double));
    for (size_t i = 0; i < P; i++)
        whole[i] = model_grads(m)[i];
    const int cuts[] = {0, 3, 5, 7};
    step_stats st = {0};
    for (int k = 0; k < 3; k++) {
        ready_log log = {{0}, 0};
        int n = cuts[k + 1] - cuts[k];
        assert_int_equal(model_grad_slice(m, x + cuts[k] * image, y + cuts[k], n, 7, log_ready, &log, &st, NULL),
                         VT_OK);
        assert_true(log.n >= 1);
        for (int i = 1; i < log.n; i++)
            assert_true(log.from[i] < log.from[i - 1]);
        assert_int_equal(log.from[log.n - 1], 0);
        for (size_t i = 0; i < P; i++)
            sum[i] += model_grads(m)[i];
    }
    assert_int_equal(st.n, 7);
    double diff = 0, norm = 0;
    for (size_t i = 0; i < P; i++) {
        diff += (sum[i] - whole[i]) * (sum[i] - whole[i]);
        norm += whole[i] * whole[i];
    }
    assert_true(norm > 0);
    assert_true(sqrt(diff / norm) < 1e-6);
    /* An empty slice: a zero share, ready at once. */
    ready_log log = {{0}, 0};
    assert_int_equal(model_grad_slice(m, x, y, 0, 7, log_ready, &log, &st, NULL), VT_OK);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.from[0], 0);
    for (size_t i = 0; i < P; i++)
        assert_true(model_grads(m)[i] == 0.0f);
    free(whole);
    free(sum);
    free(x);
    free(y);
    model_destroy(m);
}

static void slices_sum_mlp(void **state)
{
    (void)state;
    slices_sum_to_the_batch_gradient("mlp", 4, 1);
}

static void slices_sum_cnn(void **state)
{
    (void)state;
    slices_sum_to_the_batch_gradient("cnn", 8, 3);
}

/* ---- the state kept elsewhere, stepped in parts (ranks sharing one host) -------------------------------- */

/* Two models of one seed take two Adam steps with momentum's block from the same batch: one with
 * model_apply_grads, the other with its weights, velocity and second moment moved into blocks of the test's
 * (model_use_state) and each step taken in three parts of its gradient block (model_apply_part, then
 * model_step_done). The weights, both moments and the step count are the same, bit for bit, and the parts
 * zero the gradients they used. Under ASan this also checks that model_destroy leaves the lent blocks. */
static void state_stepped_in_parts(void **state)
{
    (void)state;
    model_config cfg = config("cnn", 8, 8, 3, 5);
    model *a, *b;
    twins(&cfg, 6, &a, &b);
    sgd_config s;
    sgd_config_default(&s);
    s.kind = NN_OPT_ADAM;
    s.lr = 0.01f;
    s.weight_decay = 0.004f;
    assert_int_equal(model_need_moment2(a, NULL), VT_OK);
    assert_int_equal(model_need_moment2(b, NULL), VT_OK);
    const size_t P = (size_t)model_param_count(a), image = 8 * 8 * 3;
    float *blocks = malloc(sizeof(float) * 3 * P);
    model_use_state(b, blocks, blocks + P, blocks + 2 * P, 1);
    assert_true(model_params(b) == blocks && model_velocity(b) == blocks + P && model_moment2(b) == blocks + 2 * P);
    assert_memory_equal(model_params(a), blocks, sizeof(float) * P);
    float *x = randf(6 * image, 41, 0, 1);
    int *y = randlabels(6, 5, 42);
    for (int step = 0; step < 2; step++) {
        assert_int_equal(model_loss_grad(a, x, y, 6, NULL, NULL, NULL), VT_OK);
        assert_int_equal(model_apply_grads(a, &s, NULL), VT_OK);
        assert_int_equal(model_loss_grad(b, x, y, 6, NULL, NULL, NULL), VT_OK);
        float *g = model_grads(b); /* where a rank's sums are: the parts zero them, as model_step_done says */
        const size_t cut[] = {0, P / 3, P / 2 + 7, P};
        for (int k = 0; k < 3; k++)
            model_apply_part(b, &s, g + cut[k], cut[k], cut[k + 1], model_iterations(b) + 1);
        for (size_t i = 0; i < P; i++)
            assert_true(g[i] == 0.0f);
        model_step_done(b);
    }
    assert_int_equal(model_iterations(a), 2);
    assert_int_equal(model_iterations(b), 2);
    assert_memory_equal(model_params(a), model_params(b), sizeof(float) * P);
    assert_memory_equal(model_velocity(a), model_velocity(b), sizeof(float) * P);
    assert_memory_equal(model_moment2(a), model_moment2(b), sizeof(float) * P);
    model_destroy(a);
    model_destroy(b);
    /* The blocks are the test's still: readable after the model is gone. */
    volatile float keep = blocks[P - 1] + blocks[2 * P];
    (void)keep;
    free(blocks);
    free(x);
    free(y);
}

/* ---- SGD ------------------------------------------------------------------------------------------ */

/* One step of model_train_step against Keras' formulas applied by hand in double to the gradient the
 * model reports. */
static void sgd_case(const sgd_config *s, int steps)
{
    model_config cfg = config("mlp", 3, 3, 1, 4);
    model *m;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    assert_int_equal(model_set_batch(m, 5, NULL), VT_OK);
    size_t P = (size_t)model_param_count(m);
    float *x = randf(5 * 9, 9, 0, 1);
    int *y = randlabels(5, 4, 10);
    double *w = malloc(sizeof(double) * P), *v = calloc(P, sizeof(double));
    for (size_t i = 0; i < P; i++)
        w[i] = model_params(m)[i];
    for (int t = 0; t < steps; t++) {
        assert_int_equal(model_loss_grad(m, x, y, 5, NULL, NULL, NULL), VT_OK);
        const float *g = model_grads(m);
        for (size_t i = 0; i < P; i++) {
            double wi = w[i];
            wi -= s->lr * s->weight_decay * wi;
            if (s->momentum == 0.0f) {
                wi -= s->lr * g[i];
            } else {
                v[i] = s->momentum * v[i] - s->lr * g[i];
                wi += s->nesterov ? s->momentum * v[i] - s->lr * g[i] : v[i];
            }
            w[i] = wi;
        }
        step_stats st = {0};
        assert_int_equal(model_train_step(m, x, y, 5, s, &st, NULL), VT_OK);
        assert_int_equal(st.n, 5);
        for (size_t i = 0; i < P; i++) /* the update consumed the gradients */
            assert_true(model_grads(m)[i] == 0.0f);
        for (size_t i = 0; i < P; i++)
            assert_float_equal(model_params(m)[i], w[i], 1e-6 * (1.0 + fabs(w[i])));
        if (s->momentum != 0.0f)
            for (size_t i = 0; i < P; i++)
                assert_float_equal(model_velocity(m)[i], v[i], 1e-6 * (1.0 + fabs(v[i])));
    }
    free(w);
    free(v);
    free(x);
    free(y);
    model_destroy(m);
}

static void sgd_matches_keras_formulas(void **state)
{
    (void)state;
    sgd_config s;
    sgd_config_default(&s);
    assert_float_equal(s.lr, 0.01f, 0);
    assert_float_equal(s.momentum, 0.0f, 0);
    assert_int_equal(s.nesterov, 0);
    sgd_case(&s, 2);
    s.lr = 0.1f;
    s.momentum = 0.9f;
    sgd_case(&s, 3);
    s.nesterov = 1;
    sgd_case(&s, 3);
    s.weight_decay = 0.05f;
    sgd_case(&s, 2);
    s.momentum = 0.0f;
    s.nesterov = 0;
    sgd_case(&s, 2);
}

static void nonfinite_loss_leaves_weights(void **state)
{
    (void)state;
    model_config cfg = config("mlp", 2, 2, 1, 3);
    model *m;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    assert_int_equal(model_set_batch(m, 2, NULL), VT_OK);
    size_t P = (size_t)model_param_count(m);
    float *before = malloc(sizeof(float) * P);
    memcpy(before, model_params(m), sizeof(float) * P);
    float x[8] = {1, 2, NAN, 4, 1, 1, 1, 1};
    int y[2] = {0, 1};
    sgd_config s;
    sgd_config_default(&s);
    step_stats st = {0};
    vt_err err;
    assert_int_equal(model_train_step(m, x, y, 2, &s, &st, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "not finite"));
    assert_memory_equal(model_params(m), before, sizeof(float) * P);
    assert_int_equal(st.n, 0);
    assert_int_equal(st.nonfinite, 1); /* what the engine reports as divergence (the alerts' "nonfinite") */
    /* The same with momentum (the gradient block and the optimizer's step after it). */
    s.momentum = 0.9f;
    step_stats sm = {0};
    assert_int_equal(model_train_step(m, x, y, 2, &s, &sm, &err), VT_EUSAGE);
    assert_memory_equal(model_params(m), before, sizeof(float) * P);
    assert_int_equal(sm.nonfinite, 1);
    s.momentum = 0.0f;
    /* A label out of range is the caller's data error, caught before anything runs: no divergence. */
    int bad[2] = {0, 3};
    float ok[8] = {0};
    step_stats sb = {0};
    assert_int_equal(model_train_step(m, ok, bad, 2, &s, &sb, &err), VT_EUSAGE);
    assert_memory_equal(model_params(m), before, sizeof(float) * P);
    assert_int_equal(sb.nonfinite, 0);
    free(before);
    model_destroy(m);
}

/* ---- training behaviour --------------------------------------------------------------------------- */

/* 64 fixed random images with random labels: a model that can memorise them drives the training loss
 * (which starts near ln 10 = 2.30) below 0.05. */
static void overfit_64(const char *name, int side, int epochs, float lr)
{
    model_config cfg = config(name, side, side, 3, 10);
    model *m;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    assert_int_equal(model_set_batch(m, 16, NULL), VT_OK);
    size_t image = (size_t)side * side * 3;
    float *x = randf(image * 64, 77, 0, 1);
    int *y = randlabels(64, 10, 78);
    sgd_config s;
    sgd_config_default(&s);
    s.lr = lr;
    s.momentum = 0.9f;
    step_stats st = {0};
    double first = 0.0;
    for (int e = 0; e < epochs; e++) {
        memset(&st, 0, sizeof st);
        for (int b = 0; b < 64; b += 16)
            assert_int_equal(model_train_step(m, x + b * image, y + b, 16, &s, &st, NULL), VT_OK);
        if (e == 0)
            first = st.loss_sum / st.n;
    }
    double last = st.loss_sum / st.n;
    if (!(first > 1.5 && last < 0.05))
        fail_msg("%s: loss %.4f -> %.4f after %d epochs (want < 0.05)", name, first, last, epochs);
    assert_int_equal(st.correct, 64);
    /* Inference agrees: every one of the 64 is predicted right. */
    float *p = malloc(sizeof(float) * 64 * 10);
    assert_int_equal(model_predict(m, x, 64, p, NULL), VT_OK);
    for (int i = 0; i < 64; i++) {
        int best = 0;
        double sum = 0.0;
        for (int k = 0; k < 10; k++) {
            sum += p[i * 10 + k];
            if (p[i * 10 + k] > p[i * 10 + best])
                best = k;
        }
        assert_int_equal(best, y[i]);
        assert_float_equal(sum, 1.0, 1e-5);
    }
    free(p);
    free(x);
    free(y);
    model_destroy(m);
}

static void mlp_overfits_64_samples(void **state)
{
    (void)state;
    overfit_64("mlp", 8, 60, 0.05f);
}

static void cnn_overfits_64_samples(void **state)
{
    (void)state;
    overfit_64("cnn", 8, 60, 0.02f);
}

/* A choice such as "timed" may resolve differently for two models ("auto" is a fixed rule, but the rule's inputs
 * are this CPU's): runs are repeatable at a fixed per-layer choice, which b takes from a here as
 * `vggtop train --resume` does. */
static void same_conv_choice(model *b, const model *a)
{
    char choice[1024];
    vt_err err;
    model_conv_choice(a, choice, sizeof choice);
    if (model_set_conv(b, choice, &err) != VT_OK)
        fail_msg("model_set_conv(%s): %s", choice, err.msg);
}

static void same_seed_same_run(void **state)
{
    (void)state;
    model_config cfg = config("cnn", 8, 8, 3, 10);
    model *a, *b, *c;
    assert_int_equal(model_create(&cfg, &a, NULL), VT_OK);
    assert_int_equal(model_create(&cfg, &b, NULL), VT_OK);
    cfg.seed = 2;
    assert_int_equal(model_create(&cfg, &c, NULL), VT_OK);
    size_t P = (size_t)model_param_count(a);
    assert_memory_equal(model_params(a), model_params(b), sizeof(float) * P);
    assert_memory_not_equal(model_params(a), model_params(c), sizeof(float) * P);
    /* Glorot uniform bounds: block1_conv1's limit sqrt(6 / (27 + 288)); biases zero. */
    double limit = sqrt(6.0 / (27 + 288)), mx = 0.0;
    for (int i = 0; i < 27 * 32; i++)
        mx = fmax(mx, fabs(model_params(a)[i]));
    assert_true(mx <= limit && mx > 0.9 * limit);
    for (int i = 27 * 32; i < 27 * 32 + 32; i++)
        assert_float_equal(model_params(a)[i], 0.0f, 0);

    assert_int_equal(model_set_batch(a, 8, NULL), VT_OK);
    assert_int_equal(model_set_batch(b, 8, NULL), VT_OK);
    same_conv_choice(b, a);
    float *x = randf(8 * 8 * 8 * 3, 5, 0, 1);
    int *y = randlabels(8, 10, 6);
    sgd_config s;
    sgd_config_default(&s);
    s.momentum = 0.9f;
    step_stats sa = {0}, sb = {0};
    for (int t = 0; t < 5; t++) {
        s.momentum = t < 3 ? 0.0f : 0.9f; /* both the fused plain step and the momentum update */
        assert_int_equal(model_train_step(a, x, y, 8, &s, &sa, NULL), VT_OK);
        assert_int_equal(model_train_step(b, x, y, 8, &s, &sb, NULL), VT_OK);
    }
    assert_memory_equal(model_params(a), model_params(b), sizeof(float) * P);
    assert_memory_equal(model_velocity(a), model_velocity(b), sizeof(float) * P);
    assert_true(sa.loss_sum == sb.loss_sum);
    /* And training moved the weights at all. */
    assert_memory_not_equal(model_params(a), model_params(c), sizeof(float) * P);
    free(x);
    free(y);
    model_destroy(a);
    model_destroy(b);
    model_destroy(c);
}

/* At a fixed thread count above one, too: OpenBLAS gives each thread a fixed block of the output. */
static void same_seed_same_run_two_threads(void **state)
{
    (void)state;
    nn_set_threads(2);
    model_config cfg = config("cnn", 16, 16, 3, 10);
    model *a, *b;
    twins(&cfg, 16, &a, &b);
    same_conv_choice(b, a);
    float *x = randf(16 * 16 * 16 * 3, 15, 0, 1);
    int *y = randlabels(16, 10, 16);
    sgd_config s;
    sgd_config_default(&s);
    step_stats sa = {0}, sb = {0};
    for (int t = 0; t < 3; t++) {
        assert_int_equal(model_train_step(a, x, y, 16, &s, &sa, NULL), VT_OK);
        assert_int_equal(model_train_step(b, x, y, 16, &s, &sb, NULL), VT_OK);
    }
    assert_memory_equal(model_params(a), model_params(b), sizeof(float) * (size_t)model_param_count(a));
    free(x);
    free(y);
    model_destroy(a);
    model_destroy(b);
    nn_set_threads(1);
}

static void predict_in_chunks_equals_whole(void **state)
{
    (void)state;
    model_config cfg = config("cnn", 8, 8, 1, 7);
    model *m;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    float *x = randf(10 * 64, 3, 0, 1);
    float p1[70], p2[70];
    vt_err err;
    assert_int_equal(model_predict(m, x, 10, p1, &err), VT_EINTERNAL); /* no batch size yet */
    assert_int_equal(model_set_batch(m, 10, NULL), VT_OK);
    assert_int_equal(model_predict(m, x, 10, p1, NULL), VT_OK);
    assert_int_equal(model_set_batch(m, 3, NULL), VT_OK); /* 10 = 3 + 3 + 3 + 1 */
    assert_int_equal(model_predict(m, x, 10, p2, NULL), VT_OK);
    for (int i = 0; i < 70; i++)
        assert_float_equal(p1[i], p2[i], 1e-6);
    assert_int_equal(model_set_batch(m, 0, &err), VT_EUSAGE);
    free(x);
    model_destroy(m);
    /* A batch whose im2col matrix would pass sgemm's int sizes is refused before anything is allocated:
     * block1_conv2 at 1024x1024 has 2^20 pixels an image, times 9*32 + 32 = 320 columns, times 8 images
     * > 2^31. */
    model_config big = config("cnn", 1024, 1024, 3, 10);
    big.include_top = 0;
    big.pooling = NN_POOL_AVG;
    assert_int_equal(model_create(&big, &m, NULL), VT_OK);
    assert_int_equal(model_set_batch(m, 8, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "smaller batch"));
    model_destroy(m);
}


/* Layer health against a naive reference: the norms from the parameter and gradient blocks directly, and the
 * first convolution's dead-ReLU share, mean and std from conv2d_forward_naive on the same input. */
static void layer_stats_equal_naive_reference(void **state)
{
    (void)state;
    model_config cfg;
    assert_int_equal(model_config_default(&cfg, "cnn", NULL), VT_OK);
    cfg.height = cfg.width = 12;
    cfg.classes = 7;
    model *m;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    assert_int_equal(model_set_batch(m, 4, NULL), VT_OK);
    const int n = 4, side = 12;
    float *x = randf((size_t)n * side * side * 3, 11, -1, 1);
    const int y[4] = {0, 3, 6, 2};
    layer_stats st[16];
    /* Before any gradient: no gradient norm to give. */
    assert_int_equal(model_predict(m, x, n, (float[28]){0}, NULL), VT_OK);
    int k = model_layer_stats(m, n, st, 16);
    assert_true(isnan(st[0].g_norm));
    assert_int_equal(model_loss_grad(m, x, y, n, NULL, NULL, NULL), VT_OK);
    assert_int_equal(model_layer_stats(m, n, st, 16), k);
    layer_info rows[32];
    int nrows = model_plan(&cfg, rows, 32, NULL, NULL);
    const float *p = model_params(m), *g = model_grads(m);
    int w = 0;
    for (int r = 0; r < nrows; r++) {
        if (rows[r].params == 0)
            continue;
        size_t kernel = (size_t)rows[r].params - (size_t)rows[r].c;
        double ww = 0, gg = 0;
        for (size_t j = 0; j < kernel; j++) {
            ww += (double)p[j] * p[j];
            gg += (double)g[j] * g[j];
        }
        assert_string_equal(st[w].name, rows[r].name);
        assert_float_equal(st[w].w_norm, sqrt(ww), 1e-9 * sqrt(ww));
        assert_float_equal(st[w].g_norm, sqrt(gg), 1e-9 * sqrt(gg) + 1e-30);
        assert_true(st[w].g_norm > 0);
        p += rows[r].params;
        g += rows[r].params;
        w++;
    }
    assert_int_equal(w, k);
    /* block1_conv1: 3x3 'same' ReLU, 3 -> 32 channels */
    conv_geom geo;
    conv_geom_init(&geo, n, side, side, 3, 32, 3, 3, 1, 1);
    float *out = malloc(sizeof(float) * (size_t)n * side * side * 32);
    assert_non_null(out);
    conv2d_forward_naive(out, x, model_params(m), model_params(m) + 3 * 3 * 3 * 32, &geo, 1);
    size_t count = (size_t)n * side * side * 32, zeros = 0;
    double sum = 0, sq = 0;
    for (size_t j = 0; j < count; j++) {
        zeros += out[j] == 0.0f;
        sum += out[j];
        sq += (double)out[j] * out[j];
    }
    double mean = sum / count, sd = sqrt(sq / count - mean * mean);
    assert_true(st[0].relu);
    /* a few outputs within rounding of 0 may fall either side between the fast and the naive convolution */
    assert_float_equal(st[0].dead, (double)zeros / count, 4.0 / count);
    assert_float_equal(st[0].act_mean, mean, 1e-5);
    assert_float_equal(st[0].act_std, sd, 1e-5);
    assert_true(st[0].dead > 0.05 && st[0].dead < 0.95); /* the test data exercises both sides of the ReLU */
    assert_true(isnan(st[k - 1].dead)); /* predictions: softmax, no ReLU */
    free(out);
    free(x);
    model_destroy(m);
}

/* model_grad_norms gives model_loss_grad's gradient norms bit for bit, without writing the gradient block:
 * on cnn (Conv2D kernels in the scratch) and mlp (a 432-row Dense kernel, formed 256 rows at a time). */
static void grad_norms_equal_loss_grads_without_the_block(void **state)
{
    (void)state;
    const char *const names[] = {"cnn", "mlp"};
    for (int c = 0; c < 2; c++) {
        model_config cfg;
        assert_int_equal(model_config_default(&cfg, names[c], NULL), VT_OK);
        cfg.height = cfg.width = 12;
        cfg.channels = 3;
        cfg.classes = 7;
        model *m;
        assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
        assert_int_equal(model_set_batch(m, 4, NULL), VT_OK);
        const int n = 4;
        float *x = randf((size_t)n * 12 * 12 * 3, 5 + (uint64_t)c, -1, 1);
        const int y[4] = {1, 3, 6, 2};
        layer_stats a[16], b[16];
        assert_int_equal(model_grad_norms(m, x, y, n, NULL), VT_OK);
        int k = model_layer_stats(m, n, a, 16);
        const size_t P = (size_t)model_param_count(m);
        const float *g = model_grads(m);
        for (size_t i = 0; i < P; i++)
            if (g[i] != 0.0f)
                fail_msg("%s: model_grad_norms wrote gradient %zu", names[c], i);
        assert_int_equal(model_loss_grad(m, x, y, n, NULL, NULL, NULL), VT_OK);
        assert_int_equal(model_layer_stats(m, n, b, 16), k);
        for (int i = 0; i < k; i++) {
            assert_true(a[i].g_norm > 0);
            if (memcmp(&a[i].g_norm, &b[i].g_norm, sizeof(double)) != 0)
                fail_msg("%s, %s: gradient norm %.17g, model_loss_grad's %.17g", names[c], a[i].name, a[i].g_norm,
                         b[i].g_norm);
        }
        /* The norms last until the next pass: after a prediction there are none. */
        assert_int_equal(model_grad_norms(m, x, y, n, NULL), VT_OK);
        assert_int_equal(model_predict(m, x, n, (float[28]){0}, NULL), VT_OK);
        sgd_config s;
        sgd_config_default(&s);
        step_stats st = {0};
        assert_int_equal(model_train_step(m, x, y, n, &s, &st, NULL), VT_OK);
        model_layer_stats(m, n, a, 16);
        assert_true(isnan(a[0].g_norm));
        free(x);
        model_destroy(m);
    }
}

/* The pages of [p, p + bytes) that are resident, leaving out the first and last 2 MiB (a transparent huge page
 * around malloc's chunk header may be). */
static size_t resident_pages(const void *p, size_t bytes)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE), skip = (size_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + skip + page - 1) / page * page, hi = ((uintptr_t)p + bytes - skip) / page * page;
    assert_true(hi > lo);
    size_t pages = (hi - lo) / page, resident = 0;
    unsigned char *vec = malloc(pages);
    assert_non_null(vec);
    assert_int_equal(mincore((void *)lo, hi - lo, vec), 0);
    for (size_t i = 0; i < pages; i++)
        resident += vec[i] & 1;
    free(vec);
    return resident;
}

/* The memory goal of layer health in training (issue 21): a sampling pass and its stats leave the gradient
 * block (vgg16's 136 MB) untouched, so not resident, where plain SGD's fused steps never touch it either;
 * model_loss_grad, which layer health used before, makes it all resident. The block is mmap'ed (the
 * threshold fixed at 1 MiB), so its pages are resident only once written. */
static void grad_norms_leave_the_block_unmapped(void **state)
{
    (void)state;
    mallopt(M_MMAP_THRESHOLD, 1 << 20); /* (a sanitizer's allocator maps large blocks by itself) */
    model_config cfg;
    assert_int_equal(model_config_default(&cfg, "vgg16", NULL), VT_OK);
    cfg.height = cfg.width = 32;
    cfg.classes = 10;
    model *m;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    assert_int_equal(model_set_batch(m, 2, NULL), VT_OK);
    float *x = randf(2 * 32 * 32 * 3, 3, 0, 1);
    const int y[2] = {4, 7};
    const size_t bytes = sizeof(float) * (size_t)model_param_count(m);
    sgd_config s;
    sgd_config_default(&s);
    step_stats st = {0};
    layer_stats ls[32];
    assert_int_equal(model_train_step(m, x, y, 2, &s, &st, NULL), VT_OK);
    /* What the fused steps leave: at most the conv kernels a oneDNN layer writes there, never the Dense. */
    size_t before = resident_pages(model_grads(m), bytes);
    assert_true(before < bytes / (size_t)sysconf(_SC_PAGESIZE) / 2);
    assert_int_equal(model_grad_norms(m, x, y, 2, NULL), VT_OK);
    assert_true(model_layer_stats(m, 2, ls, 32) > 0 && ls[0].g_norm > 0);
    assert_int_equal(model_train_step(m, x, y, 2, &s, &st, NULL), VT_OK);
    assert_int_equal(resident_pages(model_grads(m), bytes), before);
    assert_int_equal(model_loss_grad(m, x, y, 2, NULL, NULL, NULL), VT_OK);
    size_t after = resident_pages(model_grads(m), bytes);
    if (!(after > before))
        fail_msg("the check cannot see the block's pages: %zu resident before, %zu after model_loss_grad", before,
                 after);
    free(x);
    model_destroy(m);
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

static void threads_and_core(void **state)
{
    (void)state;
    nn_set_threads(1);
    assert_int_equal(nn_get_threads(), 1);
    nn_set_threads(0);
    assert_true(nn_get_threads() >= 1);
    assert_non_null(nn_blas_core());
    assert_true(strlen(nn_blas_core()) > 0);
    nn_set_threads(1);
}

/* model_set_cancel: the question is asked before each layer; a step told to stop before its first layer
 * leaves the weights and the statistics as they were (with momentum too: no update from stale gradients);
 * asked to stop at the third question, the step ends there (no more questions). Without it, the step
 * trains. */
static int questions;
static int stop_at;
static int stop_when(void *arg)
{
    (void)arg;
    return ++questions >= stop_at;
}

static void a_step_stops_at_a_layer_when_cancelled(void **state)
{
    (void)state;
    model_config cfg = config("mlp", 3, 3, 1, 4);
    model *m;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    assert_int_equal(model_set_batch(m, 5, NULL), VT_OK);
    size_t P = (size_t)model_param_count(m);
    float *x = randf(5 * 9, 9, 0, 1);
    int *y = randlabels(5, 4, 10);
    float *before = malloc(sizeof(float) * P);
    memcpy(before, model_params(m), sizeof(float) * P);
    sgd_config s;
    sgd_config_default(&s);
    s.lr = 0.1f;
    s.momentum = 0.9f;
    model_set_cancel(m, stop_when, NULL);
    questions = 0;
    stop_at = 1;
    step_stats st = {0};
    assert_int_equal(model_train_step(m, x, y, 5, &s, &st, NULL), VT_OK);
    assert_int_equal(questions, 1);
    assert_int_equal(st.n, 0);
    assert_memory_equal(model_params(m), before, sizeof(float) * P);
    questions = 0;
    stop_at = 3;
    assert_int_equal(model_train_step(m, x, y, 5, &s, &st, NULL), VT_OK);
    assert_int_equal(questions, 3);
    assert_int_equal(st.n, 0);
    model_set_cancel(m, NULL, NULL);
    assert_int_equal(model_train_step(m, x, y, 5, &s, &st, NULL), VT_OK);
    assert_int_equal(st.n, 5);
    assert_true(memcmp(model_params(m), before, sizeof(float) * P) != 0);
    free(before);
    free(x);
    free(y);
    model_destroy(m);
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_testing_start(argv);
    nn_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keras_published_param_counts),
        cmocka_unit_test(baseline_param_counts),
        cmocka_unit_test(plan_rows_are_keras_layers),
        cmocka_unit_test(summary_text_matches_keras_layout),
        cmocka_unit_test(flops_by_hand),
        cmocka_unit_test(config_defaults_and_errors),
        cmocka_unit_test(model_grad_cnn),
        cmocka_unit_test(model_grad_cnn_every_backend),
        cmocka_unit_test(model_grad_cnn_global_pooling),
        cmocka_unit_test(model_grad_mlp),
        cmocka_unit_test(slices_sum_mlp),
        cmocka_unit_test(slices_sum_cnn),
        cmocka_unit_test(sgd_matches_keras_formulas),
        cmocka_unit_test(nonfinite_loss_leaves_weights),
        cmocka_unit_test(mlp_overfits_64_samples),
        cmocka_unit_test(cnn_overfits_64_samples),
        cmocka_unit_test(same_seed_same_run),
        cmocka_unit_test(same_seed_same_run_two_threads),
        cmocka_unit_test(predict_in_chunks_equals_whole),
        cmocka_unit_test(threads_and_core),
        cmocka_unit_test(layer_stats_equal_naive_reference),
        cmocka_unit_test(grad_norms_equal_loss_grads_without_the_block),
        cmocka_unit_test(grad_norms_leave_the_block_unmapped),
        cmocka_unit_test(a_step_stops_at_a_layer_when_cancelled),
        cmocka_unit_test(state_stepped_in_parts),
    };
    return cmocka_run_group_tests_name("nn", tests, NULL, NULL);
}
