/* model: the five architectures as data tables, their Keras-style plan and summary, and the model object
 * that owns parameters, gradients, SGD velocity, activations and the im2col workspace; the forward and
 * backward passes over the layer list, the SGD step and inference. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

/* ---- architectures as data ------------------------------------------------------------------------ */

#define POOL 0  /* a 2x2 stride-2 max pooling in a features table */
#define END (-1)

typedef struct arch {
    const char *name;
    int default_side; /* default input: side x side x 3 */
    int min_side;     /* Keras' minimum input for the VGGs; for the others what the pooling needs */
    int resize;       /* the side the seed upscales images to for this model (48 for VGG-16/19), 0: native */
    int has_base;     /* a convolutional base: include_top 0 and pooling are allowed */
    const int *features; /* filters of each 3x3 'same' ReLU Conv2D, POOL markers, END */
    int hidden[2];    /* the top's hidden Dense ReLU widths (fc1, fc2), 0 for none */
} arch;

static const int vgg16_features[] = {64,  64,  POOL, 128, 128, POOL, 256, 256, 256, POOL,
                                     512, 512, 512,  POOL, 512, 512, 512, POOL, END};
static const int vgg19_features[] = {64,  64,  POOL, 128, 128, POOL, 256, 256, 256, 256, POOL, 512, 512,
                                     512, 512, POOL, 512, 512, 512, 512, POOL, END};
static const int vgg16_nopool_features[] = {64,  64,  POOL, 128, 128, POOL, 256, 256, 256, POOL,
                                            512, 512, 512,  POOL, 512, 512, 512, END};
static const int cnn_features[] = {32, 32, POOL, 64, 64, POOL, END};
static const int mlp_features[] = {END};

static const arch archs[] = {
    {"vgg16", 48, 32, 48, 1, vgg16_features, {4096, 4096}},
    {"vgg19", 48, 32, 48, 1, vgg19_features, {4096, 4096}},
    {"vgg16-nopool", 32, 32, 0, 1, vgg16_nopool_features, {4096, 4096}},
    {"cnn", 32, 4, 0, 1, cnn_features, {512, 0}},
    {"mlp", 32, 1, 0, 0, mlp_features, {512, 256}},
};

const char *const model_names[] = {"vgg16", "vgg19", "vgg16-nopool", "cnn", "mlp", NULL};

#define MAX_SIDE 4096
#define MAX_CLASSES VT_MAX_CLASSES
#define MAX_LAYERS 64
#define CONV_CHOICE_MAX 1024

static const arch *find_arch(const char *name)
{
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (strcmp(archs[i].name, name) == 0)
            return &archs[i];
    return NULL;
}

int model_min_side(const char *name)
{
    const arch *a = find_arch(name);
    return a ? a->min_side : 0;
}

int model_default_resize(const char *name)
{
    const arch *a = find_arch(name);
    return a ? a->resize : 0;
}

void model_names_join(char *buf, size_t size, const char *last)
{
    size_t n = 0;
    if (size)
        buf[0] = '\0';
    for (int i = 0; model_names[i] && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i == 0 ? "" : model_names[i + 1] ? ", " : last,
                              model_names[i]);
}

/* ---- the layer list ------------------------------------------------------------------------------- */

typedef enum { L_INPUT, L_CONV, L_POOL, L_FLATTEN, L_DENSE, L_GAP, L_GMP } layer_kind;

typedef struct nn_layer {
    layer_kind kind;
    char name[40];
    int in_h, in_w, in_c; /* input, NHWC (rank 2 layers: in_h = in_w = 1) */
    int h, w, c;          /* output */
    int rank;             /* Keras output rank: 4 or 2 */
    int relu;
    size_t w_off, b_off, w_count, b_count; /* in the parameter block */
    size_t act_off;       /* this layer's output in the activation block, per image (L_CONV, L_POOL, ...) */
} nn_layer;

static void add_layer(nn_layer *ls, int *count, layer_kind kind, const char *name, int h, int w, int c, int rank)
{
    if (*count < MAX_LAYERS) {
        nn_layer *l = &ls[*count];
        memset(l, 0, sizeof *l);
        l->kind = kind;
        snprintf(l->name, sizeof l->name, "%s", name);
        if (*count > 0) {
            l->in_h = ls[*count - 1].h;
            l->in_w = ls[*count - 1].w;
            l->in_c = ls[*count - 1].c;
        }
        l->h = h;
        l->w = w;
        l->c = c;
        l->rank = rank;
    }
    (*count)++;
}

/* Builds the layer list of a checked config. Returns the number of layers. */
static int build_layers(const model_config *cfg, nn_layer *ls)
{
    const arch *a = find_arch(cfg->name);
    int count = 0, h = cfg->height, w = cfg->width, c = cfg->channels;
    char name[40];
    add_layer(ls, &count, L_INPUT, "input_1", h, w, c, 4);
    int block = 1, conv = 1;
    for (const int *f = a->features; *f != END; f++) {
        if (*f == POOL) {
            h /= 2;
            w /= 2;
            snprintf(name, sizeof name, "block%d_pool", block);
            add_layer(ls, &count, L_POOL, name, h, w, c, 4);
            block++;
            conv = 1;
        } else {
            c = *f;
            snprintf(name, sizeof name, "block%d_conv%d", block, conv++);
            add_layer(ls, &count, L_CONV, name, h, w, c, 4);
            ls[count - 1].relu = 1;
        }
    }
    if (cfg->include_top || cfg->pooling == NN_POOL_NONE) {
        add_layer(ls, &count, L_FLATTEN, "flatten", 1, 1, h * w * c, 2);
        c = h * w * c;
    } else if (cfg->pooling == NN_POOL_AVG) {
        add_layer(ls, &count, L_GAP, "global_average_pooling2d", 1, 1, c, 2);
    } else {
        add_layer(ls, &count, L_GMP, "global_max_pooling2d", 1, 1, c, 2);
    }
    if (cfg->include_top) {
        for (int i = 0; i < 2 && a->hidden[i]; i++) {
            snprintf(name, sizeof name, "fc%d", i + 1);
            add_layer(ls, &count, L_DENSE, name, 1, 1, a->hidden[i], 2);
            ls[count - 1].relu = 1;
        }
    }
    add_layer(ls, &count, L_DENSE, "predictions", 1, 1, cfg->classes, 2);

    /* Parameter and activation offsets. */
    size_t poff = 0, aoff = 0;
    for (int i = 0; i < count; i++) {
        nn_layer *l = &ls[i];
        if (l->kind == L_CONV) {
            l->w_count = (size_t)9 * l->in_c * l->c;
            l->b_count = (size_t)l->c;
        } else if (l->kind == L_DENSE) {
            l->w_count = (size_t)l->in_h * l->in_w * l->in_c * l->c;
            l->b_count = (size_t)l->c;
        }
        l->w_off = poff;
        l->b_off = poff + l->w_count;
        poff += l->w_count + l->b_count;
        if (l->kind != L_INPUT && l->kind != L_FLATTEN) {
            l->act_off = aoff;
            aoff += (size_t)l->h * l->w * l->c;
        }
    }
    return count;
}

static size_t layers_param_count(const nn_layer *ls, int count)
{
    size_t total = 0;
    for (int i = 0; i < count; i++)
        total += ls[i].w_count + ls[i].b_count;
    return total;
}

/* ---- configs -------------------------------------------------------------------------------------- */

int model_config_default(model_config *cfg, const char *name, vt_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    const arch *a = find_arch(name);
    if (!a) {
        char names[128];
        model_names_join(names, sizeof names, ", ");
        return vt_fail(err, VT_EUSAGE, "unknown model '%s' (models: %s)", name, names);
    }
    snprintf(cfg->name, sizeof cfg->name, "%s", name);
    cfg->height = cfg->width = a->default_side;
    cfg->channels = 3;
    cfg->classes = 100;
    cfg->include_top = 1;
    cfg->pooling = NN_POOL_NONE;
    cfg->seed = 1;
    return VT_OK;
}

int model_config_check(const model_config *cfg, vt_err *err)
{
    if (memchr(cfg->name, '\0', sizeof cfg->name) == NULL)
        return vt_fail(err, VT_EUSAGE, "model name is not terminated");
    const arch *a = find_arch(cfg->name);
    if (!a) {
        char names[128];
        model_names_join(names, sizeof names, ", ");
        return vt_fail(err, VT_EUSAGE, "unknown model '%s' (models: %s)", cfg->name, names);
    }
    if (cfg->channels < 1 || cfg->channels > 4)
        return vt_fail(err, VT_EUSAGE, "%s: %d input channels; 1 to 4 are supported", cfg->name, cfg->channels);
    if (cfg->height < 1 || cfg->width < 1 || cfg->height > MAX_SIDE || cfg->width > MAX_SIDE)
        return vt_fail(err, VT_EUSAGE, "%s: input %dx%d is out of range (1 to %d pixels a side)", cfg->name,
                       cfg->height, cfg->width, MAX_SIDE);
    if (cfg->height < a->min_side || cfg->width < a->min_side)
        return vt_fail(err, VT_EUSAGE, "%s: input %dx%d is too small; the minimum is %dx%d%s", cfg->name,
                       cfg->height, cfg->width, a->min_side, a->min_side,
                       a->min_side == 32 ? " (keras.applications' rule)" : " (its pooling would leave nothing)");
    if (cfg->classes < 1 || cfg->classes > MAX_CLASSES)
        return vt_fail(err, VT_EUSAGE, "%s: %d classes; 1 to %d are supported", cfg->name, cfg->classes,
                       MAX_CLASSES);
    if (cfg->include_top != 0 && cfg->include_top != 1)
        return vt_fail(err, VT_EUSAGE, "%s: include_top must be 0 or 1", cfg->name);
    if (cfg->pooling != NN_POOL_NONE && cfg->pooling != NN_POOL_AVG && cfg->pooling != NN_POOL_MAX)
        return vt_fail(err, VT_EUSAGE, "%s: unknown pooling %d", cfg->name, (int)cfg->pooling);
    if (!a->has_base && !cfg->include_top)
        return vt_fail(err, VT_EUSAGE, "%s has no convolutional base, so it always has its top (no --no-top)",
                       cfg->name);
    if (cfg->include_top && cfg->pooling != NN_POOL_NONE)
        return vt_fail(err, VT_EUSAGE, "%s: global pooling replaces the top; use it with --no-top", cfg->name);
    /* Every dense kernel must stay addressable: in * out below 2^31 keeps sgemm's int sizes valid. */
    nn_layer ls[MAX_LAYERS];
    int count = build_layers(cfg, ls);
    for (int i = 0; i < count; i++) {
        size_t in = (size_t)ls[i].in_h * ls[i].in_w * ls[i].in_c;
        if (ls[i].kind == L_DENSE && in * (size_t)ls[i].c >= (size_t)1 << 31)
            return vt_fail(err, VT_EUSAGE, "%s: input %dx%dx%d makes %s too large (%zu x %d weights); use a "
                           "smaller input", cfg->name, cfg->height, cfg->width, cfg->channels, ls[i].name, in,
                           ls[i].c);
    }
    return VT_OK;
}

/* ---- plan, summary, FLOPs ------------------------------------------------------------------------- */

static const char *kind_class(layer_kind k)
{
    switch (k) {
    case L_INPUT: return "InputLayer";
    case L_CONV: return "Conv2D";
    case L_POOL: return "MaxPooling2D";
    case L_FLATTEN: return "Flatten";
    case L_DENSE: return "Dense";
    case L_GAP: return "GlobalAveragePooling2D";
    case L_GMP: return "GlobalMaxPooling2D";
    }
    return "?";
}

int model_plan(const model_config *cfg, layer_info *rows, int max, long long *total, vt_err *err)
{
    int rc = model_config_check(cfg, err);
    if (rc)
        return -rc;
    nn_layer ls[MAX_LAYERS];
    int count = build_layers(cfg, ls);
    for (int i = 0; i < count && i < max; i++) {
        layer_info *r = &rows[i];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", ls[i].name);
        snprintf(r->type, sizeof r->type, "%s", kind_class(ls[i].kind));
        r->rank = ls[i].rank;
        r->h = ls[i].h;
        r->w = ls[i].w;
        r->c = ls[i].c;
        r->params = (long long)(ls[i].w_count + ls[i].b_count);
    }
    if (total)
        *total = (long long)layers_param_count(ls, count);
    return count;
}

/* Appends to a growing string; on allocation failure the buffer is dropped and later appends do nothing. */
/* Keras' layout for a sequential-like model (tf.keras 2.9 - 2.12): 65 columns, fields ending at 29, 55
 * and 65, each cut to its width less 2 (the last to its full width); text that does not fit continues on
 * the next line; a leading space; a blank line between layers. */
#define SUMMARY_WIDTH 65

static void sb_row(vt_buf *b, const char *name, const char *shape, const char *params)
{
    static const int cut[3] = {27, 24, 10};
    const char *left[3] = {name, shape, params};
    while (*left[0] || *left[1] || *left[2]) {
        int len[3];
        for (int i = 0; i < 3; i++)
            len[i] = (int)strnlen(left[i], (size_t)cut[i]);
        /* Columns: a space, the name in 1..28, the shape in 29..54, the parameters in 55..64. */
        vt_buf_printf(b, " %-28.*s%-26.*s%-10.*s\n", len[0], left[0], len[1], left[1], len[2], left[2]);
        for (int i = 0; i < 3; i++)
            left[i] += len[i];
    }
}

int model_summary_text(const model_config *cfg, char **text, vt_err *err)
{
    *text = NULL;
    int rc = model_config_check(cfg, err);
    if (rc)
        return rc;
    nn_layer ls[MAX_LAYERS];
    int count = build_layers(cfg, ls);
    char rule[SUMMARY_WIDTH + 1], dbl[SUMMARY_WIDTH + 1];
    memset(rule, '_', SUMMARY_WIDTH);
    memset(dbl, '=', SUMMARY_WIDTH);
    rule[SUMMARY_WIDTH] = dbl[SUMMARY_WIDTH] = '\0';

    vt_buf b = {0};
    vt_buf_printf(&b, "Model: \"%s\"\n%s\n", cfg->name, rule);
    sb_row(&b, "Layer (type)", "Output Shape", "Param #");
    vt_buf_printf(&b, "%s\n", dbl);
    for (int i = 0; i < count; i++) {
        const nn_layer *l = &ls[i];
        char name[96], shape[64], params[32];
        snprintf(name, sizeof name, "%s (%s)", l->name, kind_class(l->kind));
        if (l->kind == L_INPUT)
            snprintf(shape, sizeof shape, "[(None, %d, %d, %d)]", l->h, l->w, l->c);
        else if (l->rank == 4)
            snprintf(shape, sizeof shape, "(None, %d, %d, %d)", l->h, l->w, l->c);
        else
            snprintf(shape, sizeof shape, "(None, %d)", l->c);
        snprintf(params, sizeof params, "%zu", l->w_count + l->b_count);
        if (i > 0)
            vt_buf_printf(&b, "%*s\n", SUMMARY_WIDTH, "");
        sb_row(&b, name, shape, params);
    }
    char num[32];
    long long total = (long long)layers_param_count(ls, count);
    vt_buf_printf(&b, "%s\n", dbl);
    vt_buf_printf(&b, "Total params: %s\n", vt_fmt_thousands(num, sizeof num, total));
    vt_buf_printf(&b, "Trainable params: %s\n", vt_fmt_thousands(num, sizeof num, total));
    vt_buf_printf(&b, "Non-trainable params: 0\n%s\n", rule);
    *text = vt_buf_take(&b);
    if (!*text)
        return vt_fail(err, VT_EIO, "out of memory formatting the summary of %s", cfg->name);
    return VT_OK;
}

double model_flops_per_image(const model_config *cfg)
{
    if (model_config_check(cfg, NULL))
        return 0.0;
    nn_layer ls[MAX_LAYERS];
    int count = build_layers(cfg, ls);
    double flops = 0.0;
    for (int i = 0; i < count; i++)
        if (ls[i].kind == L_CONV || ls[i].kind == L_DENSE)
            flops += 2.0 * (double)ls[i].w_count * ls[i].h * ls[i].w;
    return flops;
}

/* ---- the model object ----------------------------------------------------------------------------- */

struct model {
    model_config cfg;
    int nlayers;
    nn_layer layers[MAX_LAYERS];
    size_t nparams;
    float *params, *grads, *velocity;
    int grads_zero;        /* the gradient block is all zero (fresh, or cleared by the last SGD update) */
    int max_batch;
    size_t act_per_image;  /* floats of all layer outputs of one image */
    size_t max_per_image;  /* floats of the largest activation (input included) of one image */
    float *acts;           /* (max_batch, act_per_image): every layer's output, layer after layer */
    float *dbuf[2];        /* ping-pong gradient buffers, max_batch * max_per_image each */
    float *col;            /* the shared convolution workspace (im2col), for the largest layer */
    size_t col_floats;
    float *probs;          /* (max_batch, classes) */
    const float *outs[MAX_LAYERS]; /* this pass's output of each layer (input and Flatten alias others) */
    char conv_req[CONV_CHOICE_MAX]; /* the convolution backends as asked for (model_set_conv) */
    conv_layer convs[MAX_LAYERS];   /* per layer index: be is NULL but for planned Conv2D layers */
    unsigned long wgen;             /* the weights' generation: bumped whenever they may have changed */
    char conv_label[MAX_LAYERS][24]; /* each planned Conv2D's backend, "onednn:direct" */
    double *prof_fwd, *prof_bwd;    /* model_train_step_timed's per-layer seconds, NULL otherwise */
    int slice_of;                   /* model_grad_slice: the whole batch the pass's images are a slice of */
    nn_grads_ready ready;           /* and its hook, called as each layer's gradients are final */
    void *ready_ctx;
    int (*cancelled)(void *);       /* model_set_cancel's question, asked before each layer of a step */
    void *cancel_arg;
    int was_cancelled;              /* the step in progress was cancelled */
};

/* Glorot uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)); each layer draws from its own
 * stream of the seed, so one layer's weights do not depend on the sizes of the others. */
static void init_params(model *m)
{
    memset(m->params, 0, sizeof(float) * m->nparams);
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        if (!l->w_count)
            continue;
        double fan_in, fan_out;
        if (l->kind == L_CONV) {
            fan_in = 9.0 * l->in_c;
            fan_out = 9.0 * l->c;
        } else {
            fan_in = (double)l->in_h * l->in_w * l->in_c;
            fan_out = l->c;
        }
        double limit = sqrt(6.0 / (fan_in + fan_out));
        vt_rng rng;
        vt_rng_seed(&rng, vt_seed_mix(m->cfg.seed, (uint64_t)i));
        float *w = m->params + l->w_off;
        for (size_t k = 0; k < l->w_count; k++)
            w[k] = (float)((2.0 * vt_rng_uniform(&rng) - 1.0) * limit);
    }
}

int model_create(const model_config *cfg, model **out, vt_err *err)
{
    *out = NULL;
    int rc = model_config_check(cfg, err);
    if (rc)
        return rc;
    model *m = calloc(1, sizeof *m);
    if (!m)
        return vt_fail(err, VT_EIO, "out of memory creating %s", cfg->name);
    m->cfg = *cfg;
    m->nlayers = build_layers(cfg, m->layers);
    m->nparams = layers_param_count(m->layers, m->nlayers);
    m->params = malloc(sizeof(float) * m->nparams);
    m->grads = calloc(m->nparams, sizeof(float));
    m->velocity = calloc(m->nparams, sizeof(float));
    m->grads_zero = 1;
    if (!m->params || !m->grads || !m->velocity) {
        size_t count = m->nparams;
        model_destroy(m);
        return vt_fail(err, VT_EIO, "out of memory allocating the %zu parameters of %s", count, cfg->name);
    }
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        size_t sz = (size_t)l->h * l->w * l->c;
        if (l->kind != L_INPUT && l->kind != L_FLATTEN)
            m->act_per_image += sz;
        if (sz > m->max_per_image)
            m->max_per_image = sz;
    }
    init_params(m);
    m->wgen = 1;
    snprintf(m->conv_req, sizeof m->conv_req, "%s", nn_conv_default());
    *out = m;
    return VT_OK;
}

static void release_convs(model *m)
{
    for (int i = 0; i < m->nlayers; i++) {
        conv_layer *cl = &m->convs[i];
        if (cl->be)
            cl->be->release(cl);
        memset(cl, 0, sizeof *cl);
        m->conv_label[i][0] = '\0';
    }
}

static void free_batch_buffers(model *m)
{
    release_convs(m);
    free(m->acts);
    free(m->dbuf[0]);
    free(m->dbuf[1]);
    free(m->col);
    free(m->probs);
    m->acts = m->dbuf[0] = m->dbuf[1] = m->col = m->probs = NULL;
    m->col_floats = 0;
    m->max_batch = 0;
}

void model_destroy(model *m)
{
    if (!m)
        return;
    free_batch_buffers(m);
    free(m->params);
    free(m->grads);
    free(m->velocity);
    free(m);
}

const model_config *model_get_config(const model *m) { return &m->cfg; }
long long model_param_count(const model *m) { return (long long)m->nparams; }
/* Whoever asks for the weights may change them (a checkpoint, another rank's copy): a new generation. */
float *model_params(model *m)
{
    m->wgen++;
    return m->params;
}

void model_weights_changed(model *m) { m->wgen++; }
float *model_grads(model *m) { return m->grads; }
float *model_velocity(model *m) { return m->velocity; }

static void layer_conv_geom(const nn_layer *l, int n, conv_geom *g)
{
    conv_geom_init(g, n, l->in_h, l->in_w, l->in_c, l->c, 3, 3, 1, 1);
}

/* ---- convolution backends per layer ------------------------------------------------------------- */

static int conv_count(const model *m)
{
    int k = 0;
    for (int i = 0; i < m->nlayers; i++)
        k += m->layers[i].kind == L_CONV;
    return k;
}

/* The entries of a comma-separated choice string: the first MAX_LAYERS into picks, their count in *count. */
static int parse_list(const char *choice, conv_pick *picks, int *count, vt_err *err)
{
    if (strlen(choice) >= CONV_CHOICE_MAX)
        return vt_fail(err, VT_EUSAGE, "convolution backend list is too long (%zu characters)", strlen(choice));
    int k = 0;
    const char *p = choice;
    for (;;) {
        size_t len = strcspn(p, ",");
        conv_pick pick;
        if (conv_pick_parse(p, len, &pick) != 0)
            return vt_fail(err, VT_EUSAGE, "unknown convolution backend '%.*s' (%s)", (int)len, p,
                           NN_CONV_CHOICES);
        if (k < MAX_LAYERS)
            picks[k] = pick;
        k++;
        if (!p[len])
            break;
        p += len + 1;
    }
    *count = k;
    return VT_OK;
}

/* picks[k] for the k-th Conv2D layer from a choice string: one entry for all, or one per layer. */
static int parse_choice(const model *m, const char *choice, conv_pick *picks, vt_err *err)
{
    const int want = conv_count(m);
    int k, rc = parse_list(choice, picks, &k, err);
    if (rc)
        return rc;
    if (k == 1)
        for (int i = 1; i < want; i++)
            picks[i] = picks[0];
    else if (k != want)
        return vt_fail(err, VT_EUSAGE, "%d convolution backends listed for the %d Conv2D layers of %s (one "
                       "for all, or one per layer)", k, want, m->cfg.name);
    return VT_OK;
}

int nn_conv_check(const char *choice, vt_err *err)
{
    conv_pick picks[MAX_LAYERS];
    int k;
    return parse_list(choice, picks, &k, err);
}

static void layer_conv_setup(const model *m, int i, conv_layer *cl)
{
    const nn_layer *l = &m->layers[i];
    memset(cl, 0, sizeof *cl);
    layer_conv_geom(l, m->max_batch, &cl->g);
    cl->relu = l->relu;
}

/* Resolves a pick for layer i into a backend and variant (conv_resolve: "auto" and a backend named alone
 * by the rows' ranks, "timed" by timing them); a named variant that cannot run the layer is an error. */
static int resolve_pick(model *m, int i, conv_pick *p, vt_err *err)
{
    conv_layer tmpl;
    layer_conv_setup(m, i, &tmpl);
    if (conv_resolve(p, &tmpl, i == 1) == 0)
        return VT_OK;
    char label[32];
    conv_label(label, sizeof label, p->be, p->algo);
    return vt_fail(err, VT_EUSAGE, "%s: the %s convolution backend cannot run layer %s here%s", m->cfg.name, label,
                   m->layers[i].name, conv_pick_hint(p));
}

/* Plans every Conv2D layer for m->max_batch from m->conv_req: resolves the picks, links consecutive
 * layers of a backend that chains (oneDNN) and the max pooling between them, then plans in layer order. */
static int plan_convs(model *m, vt_err *err)
{
    conv_pick picks[MAX_LAYERS];
    int rc = parse_choice(m, m->conv_req, picks, err);
    if (rc)
        return rc;
    release_convs(m);
    const conv_backend *onednn = conv_backend_find("onednn");
    int k = 0;
    for (int i = 0; i < m->nlayers; i++) {
        if (m->layers[i].kind != L_CONV)
            continue;
        conv_pick p = picks[k++];
        if ((rc = resolve_pick(m, i, &p, err)) != VT_OK)
            return rc;
        conv_layer *cl = &m->convs[i];
        layer_conv_setup(m, i, cl);
        cl->be = p.be;
        cl->algo = p.algo;
    }
    /* Chains: a oneDNN layer whose output (or that of the max pooling right after it) feeds another oneDNN
     * layer hands it over in the blocked layout. */
    for (int i = 0; i < m->nlayers; i++) {
        conv_layer *cl = &m->convs[i];
        if (!cl->be || cl->be != onednn)
            continue;
        int j = i + 1;
        if (j < m->nlayers && m->layers[j].kind == L_POOL) {
            cl->pool_after = 1;
            j++;
        }
        if (j < m->nlayers && m->convs[j].be == onednn) {
            cl->chain_out = 1;
            cl->next = &m->convs[j];
            m->convs[j].chain_in = 1;
            m->convs[j].prev = cl;
        }
    }
    size_t ws = 0;
    for (int i = 0; i < m->nlayers; i++) {
        conv_layer *cl = &m->convs[i];
        if (!cl->be)
            continue;
        if ((rc = cl->be->plan(cl, err)) != VT_OK) {
            cl->be = NULL; /* not planned: nothing to release */
            release_convs(m);
            return rc;
        }
        conv_label(m->conv_label[i], sizeof m->conv_label[i], cl->be, cl->algo);
        if (cl->be->workspace(&cl->g) > ws)
            ws = cl->be->workspace(&cl->g);
    }
    /* The shared workspace, for the largest layer of the backends chosen. */
    if (!m->col || ws > m->col_floats) {
        free(m->col);
        m->col_floats = 0;
        if (!(m->col = malloc(sizeof(float) * (ws ? ws : 1)))) {
            release_convs(m);
            return vt_fail(err, VT_EIO, "out of memory for the %zu-float convolution workspace of %s", ws,
                           m->cfg.name);
        }
        m->col_floats = ws;
    }
    return VT_OK;
}

int model_set_conv(model *m, const char *choice, vt_err *err)
{
    conv_pick picks[MAX_LAYERS];
    int rc = parse_choice(m, choice, picks, err);
    if (rc)
        return rc;
    char old[CONV_CHOICE_MAX];
    snprintf(old, sizeof old, "%s", m->conv_req);
    snprintf(m->conv_req, sizeof m->conv_req, "%s", choice);
    if (m->max_batch == 0)
        return VT_OK;
    if ((rc = plan_convs(m, err)) != VT_OK) {
        vt_err ignore;
        snprintf(m->conv_req, sizeof m->conv_req, "%s", old);
        if (plan_convs(m, &ignore) != VT_OK) /* the old choice planned before: only memory can fail it */
            free_batch_buffers(m);
    }
    return rc;
}

int model_conv_choice(const model *m, char *buf, size_t cap)
{
    if (m->max_batch == 0)
        return snprintf(buf, cap, "%s", m->conv_req);
    size_t len = 0;
    int first = 1;
    for (int i = 0; i < m->nlayers; i++) {
        if (m->layers[i].kind != L_CONV)
            continue;
        int w = snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, "%s%s", first ? "" : ",",
                         m->conv_label[i]);
        len += (size_t)w;
        first = 0;
    }
    if (first && cap)
        buf[0] = '\0';
    return (int)len;
}

const char *model_layer_backend(const model *m, int layer)
{
    if (layer < 0 || layer >= m->nlayers || !m->convs[layer].be)
        return NULL;
    return m->conv_label[layer];
}

int model_set_batch(model *m, int max_batch, vt_err *err)
{
    if (max_batch < 1 || max_batch > 65536)
        return vt_fail(err, VT_EUSAGE, "batch size %d is out of range (1 to 65536)", max_batch);
    if (max_batch == m->max_batch)
        return VT_OK;
    /* sgemm takes int sizes: the rows of every layer's matrices (batch x pixels) and its im2col columns
     * times rows must stay below 2^31. */
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        size_t rows = (size_t)max_batch * l->h * l->w, cols = (size_t)9 * l->in_c + l->c;
        if (rows * cols >= (size_t)INT_MAX)
            return vt_fail(err, VT_EUSAGE, "batch size %d is too large for %s at %dx%dx%d (layer %s); use a "
                           "smaller batch", max_batch, m->cfg.name, m->cfg.height, m->cfg.width, m->cfg.channels,
                           l->name);
    }
    conv_pick picks[MAX_LAYERS];
    int rc = parse_choice(m, m->conv_req, picks, err);
    if (rc)
        return rc;
    free_batch_buffers(m);
    size_t b = (size_t)max_batch;
    m->acts = malloc(sizeof(float) * b * m->act_per_image);
    m->dbuf[0] = malloc(sizeof(float) * b * m->max_per_image);
    m->dbuf[1] = malloc(sizeof(float) * b * m->max_per_image);
    m->probs = malloc(sizeof(float) * b * m->cfg.classes);
    if (!m->acts || !m->dbuf[0] || !m->dbuf[1] || !m->probs) {
        free_batch_buffers(m);
        return vt_fail(err, VT_EIO, "out of memory sizing %s for batches of %d (try a smaller --batch)",
                       m->cfg.name, max_batch);
    }
    m->max_batch = max_batch;
    /* nn's workers, for the pooling layers and the winograd backend (started once, here, not in a step). */
    if ((rc = nn_pool_start(nn_threads(), err)) != VT_OK || (rc = plan_convs(m, err)) != VT_OK) {
        free_batch_buffers(m);
        return rc;
    }
    return VT_OK;
}

/* Whether the step in progress is to end now (model_set_cancel). */
static int cancel_now(model *m)
{
    if (m->cancelled && !m->was_cancelled)
        m->was_cancelled = m->cancelled(m->cancel_arg) != 0;
    return m->was_cancelled;
}

void model_set_cancel(model *m, int (*cancelled)(void *), void *arg)
{
    m->cancelled = cancelled;
    m->cancel_arg = arg;
}

/* Runs the layers on x (n, H, W, C); leaves each output in m->outs and the softmax in m->probs. */
static void forward(model *m, const float *x, int n)
{
    m->was_cancelled = 0; /* a pass starts: forward, then the backward of the same step */
    m->outs[0] = x;
    for (int i = 1; i < m->nlayers; i++) {
        if (cancel_now(m))
            return;
        const nn_layer *l = &m->layers[i];
        const float *in = m->outs[i - 1];
        float *out = m->acts + (size_t)n * l->act_off;
        const float *w = m->params + l->w_off, *b = m->params + l->b_off;
        double t0 = m->prof_fwd ? vt_now() : 0.0;
        switch (l->kind) {
        case L_CONV: {
            conv_layer *cl = &m->convs[i];
            cl->wgen = m->wgen;
            cl->be->forward(cl, out, m->col, in, w, b, n);
            break;
        }
        case L_POOL:
            if (m->convs[i - 1].pool_after) /* the pooling runs in the convolution's backend */
                onednn_pool_forward(&m->convs[i - 1], out, n);
            else
                maxpool2d_forward(out, in, n, l->in_h, l->in_w, l->in_c, 2, 2);
            break;
        case L_FLATTEN:
            out = (float *)in; /* NHWC is already flat; the pointer is never written through */
            break;
        case L_DENSE:
            dense_forward(out, in, w, b, n, l->in_h * l->in_w * l->in_c, l->c, l->relu);
            break;
        case L_GAP:
            global_avgpool_forward(out, in, n, l->in_h, l->in_w, l->in_c);
            break;
        case L_GMP:
            global_maxpool_forward(out, in, n, l->in_h, l->in_w, l->in_c);
            break;
        case L_INPUT:
            break;
        }
        if (m->prof_fwd)
            m->prof_fwd[i] = vt_now() - t0;
        m->outs[i] = out;
    }
    softmax_forward(m->probs, m->outs[m->nlayers - 1], n, m->cfg.classes);
}

/* Back from the loss to the first layer. Without step: adds the gradients into m->grads (which the caller
 * zeroed). With a momentum-free step: applies it layer by layer inside the kernels' gradient gemms (using
 * the bias slots of m->grads as scratch, cleared again after use). dx (n, H, W, C) gets dL/dx when not
 * NULL; otherwise the first layer skips its input gradient. */
static void backward(model *m, const int *y, int n, float *dx, const sgd_config *step)
{
    const float lr = step ? step->lr : 0.0f, keep = step ? 1.0f - step->lr * step->weight_decay : 1.0f;
    const conv_step cstep = {lr, keep};
    float *d = m->dbuf[0];
    softmax_crossentropy_backward(d, m->probs, y, n, m->cfg.classes);
    if (m->slice_of > n) { /* a slice of a larger batch: the gradient of its share of that batch's mean loss */
        const float share = (float)n / (float)m->slice_of;
        for (size_t k = 0; k < (size_t)n * m->cfg.classes; k++)
            d[k] *= share;
    }
    for (int i = m->nlayers - 1; i >= 1; i--) {
        if (cancel_now(m))
            return;
        const nn_layer *l = &m->layers[i];
        const float *in = m->outs[i - 1];
        float *target = i == 1 ? dx : (d == m->dbuf[0] ? m->dbuf[1] : m->dbuf[0]);
        float *gw = m->grads + l->w_off, *gb = m->grads + l->b_off;
        float *w = m->params + l->w_off, *b = m->params + l->b_off;
        double t0 = m->prof_bwd ? vt_now() : 0.0;
        switch (l->kind) {
        case L_CONV: {
            conv_layer *cl = &m->convs[i];
            cl->wgen = m->wgen; /* the forward's: the kernel before this backward's step */
            cl->be->backward(cl, target, w, b, gw, gb, m->col, d, m->outs[i], in, n, step ? &cstep : NULL);
            break;
        }
        case L_POOL:
            if (m->convs[i - 1].pool_after)
                onednn_pool_backward(&m->convs[i - 1], d, n);
            else if (target)
                maxpool2d_backward(target, d, in, n, l->in_h, l->in_w, l->in_c, 2, 2);
            break;
        case L_FLATTEN:
            if (i == 1 && dx)
                memcpy(dx, d, sizeof(float) * (size_t)n * l->c);
            target = d; /* the same memory, read as (n, h, w, c) */
            break;
        case L_DENSE:
            if (step)
                dense_backward_sgd(target, w, b, gb, d, m->outs[i], in, n, l->in_h * l->in_w * l->in_c, l->c,
                                   l->relu, lr, keep);
            else
                dense_backward(target, gw, gb, d, m->outs[i], in, w, n, l->in_h * l->in_w * l->in_c, l->c,
                               l->relu);
            break;
        case L_GAP:
            if (target)
                global_avgpool_backward(target, d, n, l->in_h, l->in_w, l->in_c);
            break;
        case L_GMP:
            if (target)
                global_maxpool_backward(target, d, in, n, l->in_h, l->in_w, l->in_c);
            break;
        case L_INPUT:
            break;
        }
        if (step && l->kind == L_DENSE)
            memset(gb, 0, sizeof(float) * l->b_count); /* the bias scratch (a backend clears its own) */
        if (m->prof_bwd)
            m->prof_bwd[i] = vt_now() - t0;
        if (m->ready && l->w_count + l->b_count > 0)
            m->ready(m->ready_ctx, l->w_off); /* this layer's kernel and bias, and every later layer's, are final */
        d = target;
    }
}

static int check_batch(model *m, const int *y, int n, vt_err *err)
{
    if (m->max_batch == 0)
        return vt_fail(err, VT_EINTERNAL, "%s: model_set_batch was not called", m->cfg.name);
    if (n < 1 || n > m->max_batch)
        return vt_fail(err, VT_EINTERNAL, "%s: batch of %d outside 1..%d", m->cfg.name, n, m->max_batch);
    for (int i = 0; y && i < n; i++)
        if (y[i] < 0 || y[i] >= m->cfg.classes)
            return vt_fail(err, VT_EUSAGE, "label %d is outside 0..%d for %s with %d classes", y[i],
                           m->cfg.classes - 1, m->cfg.name, m->cfg.classes);
    return VT_OK;
}

/* Checks the batch, runs forward and adds the loss into *local; a non-finite loss is an error. */
static int forward_checked(model *m, const float *x, const int *y, int n, step_stats *local, vt_err *err)
{
    int rc = check_batch(m, y, n, err);
    if (rc)
        return rc;
    forward(m, x, n);
    if (m->was_cancelled)
        return VT_OK; /* no loss to check: the step ends */
    if (crossentropy_stats(local, m->probs, y, n, m->cfg.classes))
        return vt_fail(err, VT_EUSAGE, "%s: the loss is not finite (training diverged); lower the learning "
                       "rate (--lr)", m->cfg.name);
    return VT_OK;
}

/* Forward, loss check, zeroed gradients, backward. */
static int loss_and_grads(model *m, const float *x, const int *y, int n, float *dx, step_stats *local, vt_err *err)
{
    int rc = forward_checked(m, x, y, n, local, err);
    if (rc)
        return rc;
    if (!m->grads_zero)
        memset(m->grads, 0, sizeof(float) * m->nparams);
    backward(m, y, n, dx, NULL);
    m->grads_zero = 0;
    return VT_OK;
}

int model_loss_grad(model *m, const float *x, const int *y, int n, float *dx, double *loss, vt_err *err)
{
    step_stats local = {0};
    int rc = loss_and_grads(m, x, y, n, dx, &local, err);
    if (loss)
        *loss = rc ? NAN : local.loss_sum / n;
    return rc;
}

int model_grad_slice(model *m, const float *x, const int *y, int n, int total, nn_grads_ready ready, void *ctx,
                     step_stats *stats, vt_err *err)
{
    if (n < 0 || total < 1 || n > total)
        return vt_fail(err, VT_EINTERNAL, "%s: a slice of %d images of a batch of %d", m->cfg.name, n, total);
    step_stats local = {0};
    int rc = VT_OK;
    if (n == 0) { /* nothing of this batch here: a zero share, ready at once */
        memset(m->grads, 0, sizeof(float) * m->nparams);
        m->grads_zero = 0;
        if (ready)
            ready(ctx, 0);
    } else {
        m->slice_of = total;
        m->ready = ready;
        m->ready_ctx = ctx;
        rc = loss_and_grads(m, x, y, n, NULL, &local, err);
        m->slice_of = 0;
        m->ready = NULL;
        m->ready_ctx = NULL;
    }
    if (!rc)
        step_stats_add(stats, &local);
    return rc;
}


void sgd_config_default(sgd_config *sgd)
{
    sgd->lr = 0.01f;
    sgd->momentum = 0.0f;
    sgd->nesterov = 0;
    sgd->weight_decay = 0.0f;
}

/* Keras' SGD (tf.keras.optimizers.SGD, TF >= 2.11): with decay first w -= lr * wd * w, then
 *   momentum 0:  w -= lr * g
 *   momentum:    v = momentum * v - lr * g;  w += v                      (classic)
 *                                            w += momentum * v - lr * g  (Nesterov)
 * One loop per case, free of branches so the compiler can vectorise it. It is bound by memory bandwidth,
 * so it also zeroes each gradient once used: the next step then needs no separate pass to clear them. */
static void sgd_update(float *restrict w, float *restrict g, float *restrict v, size_t count, const sgd_config *s)
{
    const float lr = s->lr, mom = s->momentum, decay = s->lr * s->weight_decay;
    if (decay != 0.0f)
        for (size_t i = 0; i < count; i++)
            w[i] -= decay * w[i];
    if (mom == 0.0f) {
        for (size_t i = 0; i < count; i++) {
            w[i] -= lr * g[i];
            g[i] = 0.0f;
        }
    } else if (!s->nesterov) {
        for (size_t i = 0; i < count; i++) {
            v[i] = mom * v[i] - lr * g[i];
            w[i] += v[i];
            g[i] = 0.0f;
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            v[i] = mom * v[i] - lr * g[i];
            w[i] += mom * v[i] - lr * g[i];
            g[i] = 0.0f;
        }
    }
}

static int sgd_check(const sgd_config *sgd, vt_err *err)
{
    if (!isfinite(sgd->lr) || sgd->lr < 0.0f || !isfinite(sgd->momentum) || sgd->momentum < 0.0f ||
        sgd->momentum >= 1.0f || !isfinite(sgd->weight_decay) || sgd->weight_decay < 0.0f)
        return vt_fail(err, VT_EUSAGE, "SGD settings out of range: lr %g, momentum %g (0 to <1), weight decay %g",
                       (double)sgd->lr, (double)sgd->momentum, (double)sgd->weight_decay);
    return VT_OK;
}

void step_stats_add(step_stats *sum, const step_stats *part)
{
    sum->loss_sum += part->loss_sum;
    sum->mse_sum += part->mse_sum;
    sum->correct += part->correct;
    sum->correct5 += part->correct5;
    sum->n += part->n;
}

int model_train_step(model *m, const float *x, const int *y, int n, const sgd_config *sgd, step_stats *stats,
                     vt_err *err)
{
    step_stats local = {0};
    int rc = sgd_check(sgd, err);
    if (rc)
        return rc;
    if (sgd->momentum == 0.0f) {
        /* Plain SGD needs no velocity and no gradient block: each layer steps inside its backward pass. */
        if ((rc = forward_checked(m, x, y, n, &local, err)) != VT_OK)
            return rc;
        backward(m, y, n, NULL, sgd);
        m->wgen++;
        if (!m->grads_zero) { /* left over from a model_loss_grad */
            memset(m->grads, 0, sizeof(float) * m->nparams);
            m->grads_zero = 1;
        }
    } else {
        if ((rc = loss_and_grads(m, x, y, n, NULL, &local, err)) != VT_OK)
            return rc;
        if (m->was_cancelled)
            return VT_OK;
        sgd_update(m->params, m->grads, m->velocity, m->nparams, sgd);
        m->wgen++;
        m->grads_zero = 1;
    }
    step_stats_add(stats, &local);
    return VT_OK;
}

int model_apply_grads(model *m, const sgd_config *sgd, vt_err *err)
{
    int rc = sgd_check(sgd, err);
    if (rc)
        return rc;
    sgd_update(m->params, m->grads, m->velocity, m->nparams, sgd);
    m->wgen++;
    m->grads_zero = 1;
    return VT_OK;
}

int model_train_step_timed(model *m, const float *x, const int *y, int n, const sgd_config *sgd,
                           step_stats *stats, double *fwd, double *bwd, vt_err *err)
{
    memset(fwd, 0, sizeof(double) * m->nlayers);
    memset(bwd, 0, sizeof(double) * m->nlayers);
    m->prof_fwd = fwd;
    m->prof_bwd = bwd;
    int rc = model_train_step(m, x, y, n, sgd, stats, err);
    m->prof_fwd = m->prof_bwd = NULL;
    return rc;
}

int model_predict(model *m, const float *x, int n, float *probs, vt_err *err)
{
    if (m->max_batch == 0)
        return vt_fail(err, VT_EINTERNAL, "%s: model_set_batch was not called", m->cfg.name);
    const size_t image = (size_t)m->cfg.height * m->cfg.width * m->cfg.channels;
    for (int start = 0; start < n; start += m->max_batch) {
        int k = n - start < m->max_batch ? n - start : m->max_batch;
        forward(m, x + (size_t)start * image, k);
        memcpy(probs + (size_t)start * m->cfg.classes, m->probs, sizeof(float) * (size_t)k * m->cfg.classes);
    }
    return VT_OK;
}

/* ---- layer health --------------------------------------------------------------------------------- */

int model_layer_stats(const model *m, int n, layer_stats *out, int max)
{
    int k = 0;
    if (n > m->max_batch)
        n = m->max_batch;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        if (!l->w_count)
            continue;
        if (k < max) {
            layer_stats *s = &out[k];
            memset(s, 0, sizeof *s);
            snprintf(s->name, sizeof s->name, "%s", l->name);
            const float *w = m->params + l->w_off, *g = m->grads + l->w_off;
            double ww = 0, gg = 0;
            for (size_t j = 0; j < l->w_count; j++) {
                ww += (double)w[j] * w[j];
                gg += (double)g[j] * g[j];
            }
            s->w_norm = sqrt(ww);
            s->g_norm = m->grads_zero ? NAN : sqrt(gg); /* only after model_loss_grad */
            /* The layer's output for the last pass's n images: (n, h, w, c). A oneDNN layer inside a chain
             * left it in its blocked layout: it is reordered into the layer's slot of the activation block
             * (scratch that no pass reads for such a layer, hence the cast). */
            size_t count = (size_t)n * (size_t)l->h * (size_t)l->w * (size_t)l->c;
            const float *o = m->outs[i];
            const conv_layer *cl = &m->convs[i];
            if (o && cl->be && cl->be == conv_backend_find("onednn") && (cl->chain_out || cl->pool_after))
                onednn_output_nhwc((conv_layer *)cl, (float *)o, n);
            double sum = 0, sq = 0;
            size_t zeros = 0;
            for (size_t j = 0; o && j < count; j++) {
                sum += o[j];
                sq += (double)o[j] * o[j];
                zeros += o[j] == 0.0f;
            }
            s->relu = l->relu;
            s->dead = l->relu && count ? (double)zeros / (double)count : NAN;
            s->act_mean = count ? sum / (double)count : NAN;
            double var = count ? sq / (double)count - s->act_mean * s->act_mean : NAN;
            s->act_std = var > 0 ? sqrt(var) : 0;
        }
        k++;
    }
    return k;
}
