/* summary: what a config gives without a model: the plan (model_plan's rows), the Keras `model.summary()`
 * text and the forward FLOPs, all from the layer list of arch.c. */
#include <stdio.h>
#include <string.h>

#include "nn_internal.h"

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
    nn_layer ls[NN_MAX_LAYERS];
    int count = arch_build_layers(cfg, ls);
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
        *total = (long long)arch_param_count(ls, count);
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
    nn_layer ls[NN_MAX_LAYERS];
    int count = arch_build_layers(cfg, ls);
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
    long long total = (long long)arch_param_count(ls, count);
    vt_buf_printf(&b, "%s\n", dbl);
    vt_buf_printf(&b, "Total params: %s\n", vt_fmt_thousands(num, sizeof num, total));
    long long frozen = (long long)arch_frozen_count(cfg, ls, count);
    vt_buf_printf(&b, "Trainable params: %s\n", vt_fmt_thousands(num, sizeof num, total - frozen));
    vt_buf_printf(&b, "Non-trainable params: %s\n%s\n", vt_fmt_thousands(num, sizeof num, frozen), rule);
    *text = vt_buf_take(&b);
    if (!*text)
        return vt_fail(err, VT_EIO, "out of memory formatting the summary of %s", cfg->name);
    return VT_OK;
}

double model_flops_per_image(const model_config *cfg)
{
    if (model_config_check(cfg, NULL))
        return 0.0;
    nn_layer ls[NN_MAX_LAYERS];
    int count = arch_build_layers(cfg, ls);
    double flops = 0.0;
    for (int i = 0; i < count; i++)
        if (ls[i].kind == L_CONV || ls[i].kind == L_DENSE)
            flops += 2.0 * (double)ls[i].w_count * ls[i].h * ls[i].w;
    return flops;
}

