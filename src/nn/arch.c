/* arch: the five architectures as data tables (filters per block, pool markers, kernel and pool sizes, the
 * top's widths), their configs and checks, and the layer list a config gives (arch_build_layers), which
 * the model runs (model.c) and the summary prints (summary.c). */
#include <stdio.h>
#include <string.h>

#include "nn_internal.h"

#define POOL 0  /* a max pooling in a features table (the arch's pool size, stride the same) */
#define END (-1)

typedef struct arch {
    const char *name;
    int default_side; /* default input: side x side x 3 */
    int min_side;     /* Keras' minimum input for the VGGs; for the others what the pooling needs */
    int resize;       /* the side the seed upscales images to for this model (48 for VGG-16/19), 0: native */
    int has_base;     /* a convolutional base: include_top 0 and pooling are allowed */
    const int *features; /* filters of each 'same' ReLU Conv2D (stride 1), POOL markers, END */
    int kernel;       /* the Conv2D kernels' side (3: kernel_size=(3, 3), as keras.applications' VGGs) */
    int pool;         /* the max poolings' side and stride (2: pool_size=(2, 2), strides=(2, 2)) */
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
    {"vgg16", 48, 32, 48, 1, vgg16_features, 3, 2, {4096, 4096}},
    {"vgg19", 48, 32, 48, 1, vgg19_features, 3, 2, {4096, 4096}},
    {"vgg16-nopool", 32, 32, 0, 1, vgg16_nopool_features, 3, 2, {4096, 4096}},
    {"cnn", 32, 4, 0, 1, cnn_features, 3, 2, {512, 0}},
    {"mlp", 32, 1, 0, 0, mlp_features, 0, 0, {512, 256}},
};

const char *const model_names[] = {"vgg16", "vgg19", "vgg16-nopool", "cnn", "mlp", NULL};

#define MAX_SIDE 4096
#define MAX_CLASSES NN_MAX_CLASSES

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

static void add_layer(nn_layer *ls, int *count, layer_kind kind, const char *name, int h, int w, int c, int rank)
{
    if (*count < NN_MAX_LAYERS) {
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

/* A 'valid' pooling window of size and stride over side pixels. */
static int pool_side(int side, int size, int stride) { return side < size ? 0 : (side - size) / stride + 1; }

/* A 'same' convolution at stride: ceil(side / stride) (Keras). */
static int same_side(int side, int stride) { return (side + stride - 1) / stride; }

int arch_build_layers(const model_config *cfg, nn_layer *ls)
{
    const arch *a = find_arch(cfg->name);
    int count = 0, h = cfg->height, w = cfg->width, c = cfg->channels;
    char name[40];
    add_layer(ls, &count, L_INPUT, "input_1", h, w, c, 4);
    int block = 1, conv = 1;
    for (const int *f = a->features; *f != END; f++) {
        if (*f == POOL) {
            h = pool_side(h, a->pool, a->pool);
            w = pool_side(w, a->pool, a->pool);
            snprintf(name, sizeof name, "block%d_pool", block);
            add_layer(ls, &count, L_POOL, name, h, w, c, 4);
            ls[count - 1].k = ls[count - 1].stride = a->pool;
            block++;
            conv = 1;
        } else {
            const int stride = 1;
            h = same_side(h, stride);
            w = same_side(w, stride);
            c = *f;
            snprintf(name, sizeof name, "block%d_conv%d", block, conv++);
            add_layer(ls, &count, L_CONV, name, h, w, c, 4);
            ls[count - 1].relu = 1;
            ls[count - 1].k = a->kernel;
            ls[count - 1].stride = stride;
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
            l->w_count = (size_t)l->k * l->k * l->in_c * l->c;
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

size_t arch_param_count(const nn_layer *ls, int count)
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

size_t arch_frozen_count(const model_config *cfg, const nn_layer *ls, int count)
{
    size_t n = 0;
    for (int i = 0; cfg->freeze_base && i < count; i++)
        if (ls[i].kind == L_CONV)
            n += ls[i].w_count + ls[i].b_count;
    return n;
}

long long model_trainable_count(const model_config *cfg)
{
    nn_layer ls[NN_MAX_LAYERS];
    if (model_config_check(cfg, NULL))
        return 0;
    int count = arch_build_layers(cfg, ls);
    return (long long)(arch_param_count(ls, count) - arch_frozen_count(cfg, ls, count));
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
    if (cfg->freeze_base != 0 && cfg->freeze_base != 1)
        return vt_fail(err, VT_EUSAGE, "%s: freeze_base must be 0 or 1", cfg->name);
    if (!a->has_base && cfg->freeze_base)
        return vt_fail(err, VT_EUSAGE, "%s has no convolutional base to freeze (no --freeze-base)", cfg->name);
    if (cfg->include_top && cfg->pooling != NN_POOL_NONE)
        return vt_fail(err, VT_EUSAGE, "%s: global pooling replaces the top; use it with --no-top", cfg->name);
    /* Every dense kernel must stay addressable: in * out below 2^31 keeps sgemm's int sizes valid. */
    nn_layer ls[NN_MAX_LAYERS];
    int count = arch_build_layers(cfg, ls);
    for (int i = 0; i < count; i++) {
        size_t in = (size_t)ls[i].in_h * ls[i].in_w * ls[i].in_c;
        if (ls[i].kind == L_DENSE && in * (size_t)ls[i].c >= (size_t)1 << 31)
            return vt_fail(err, VT_EUSAGE, "%s: input %dx%dx%d makes %s too large (%zu x %d weights); use a "
                           "smaller input", cfg->name, cfg->height, cfg->width, cfg->channels, ls[i].name, in,
                           ls[i].c);
    }
    return VT_OK;
}

