/* model: the model object that owns parameters, gradients, optimiser state, activations and the im2col
 * workspace; the backend of each Conv2D layer (model_set_conv: choosing is conv.c's); the forward and
 * backward passes over the layer list (arch.c builds it), the training step and inference. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

#define CONV_CHOICE_MAX 1024

/* ---- the model object ----------------------------------------------------------------------------- */

struct model {
    model_config cfg;
    int nlayers;
    nn_layer layers[NN_MAX_LAYERS];
    size_t nparams;
    size_t frozen;         /* the first `frozen` parameters (a frozen base's) never train */
    float *params, *grads, *velocity;
    float *moment2;        /* Adam's v, RMSprop's mean square: made by the first step that needs it */
    long long iterations;  /* optimiser steps taken (Keras' iterations) */
    int grads_zero;        /* the gradient block is all zero (fresh, or cleared by the last SGD update) */
    int grads_lent;        /* the gradient block is the caller's (model_use_grads): not freed here */
    int state_lent;        /* so are the weights and the optimiser's state (model_use_state) */
    int max_batch;
    size_t act_per_image;  /* floats of all layer outputs of one image */
    size_t max_per_image;  /* floats of the largest activation (input included) of one image */
    float *acts;           /* (max_batch, act_per_image): every layer's output, layer after layer */
    float *dbuf[2];        /* ping-pong gradient buffers, max_batch * max_per_image each */
    float *col;            /* the shared convolution workspace (im2col), for the largest layer */
    size_t col_floats;
    float *probs;          /* (max_batch, classes) */
    const float *outs[NN_MAX_LAYERS]; /* this pass's output of each layer (input and Flatten alias others) */
    char conv_req[CONV_CHOICE_MAX]; /* the convolution backends as asked for (model_set_conv) */
    nn_precision prec;              /* mixed_bfloat16: plan_convs puts the layers bf16 suits on a bf16 variant */
    conv_layer convs[NN_MAX_LAYERS];   /* per layer index: be is NULL but for planned Conv2D layers */
    unsigned long wgen;             /* the weights' generation: bumped whenever they may have changed */
    char conv_label[NN_MAX_LAYERS][24]; /* each planned Conv2D's backend, "onednn:direct" */
    double *prof_fwd, *prof_bwd;    /* model_train_step_timed's per-layer seconds, NULL otherwise */
    int slice_of;                   /* model_grad_slice: the whole batch the pass's images are a slice of */
    nn_grads_ready ready;           /* and its hook, called as each layer's gradients are final */
    void *ready_ctx;
    int (*cancelled)(void *);       /* model_set_cancel's question, asked before each layer of a step */
    void *cancel_arg;
    int was_cancelled;              /* the step in progress was cancelled */
    /* model_grad_norms: while norms_only, backward forms each kernel gradient in gscratch (gscratch_floats)
     * and keeps its squared norm in gnorm2[layer]; gnorm_valid until the next forward pass */
    int norms_only, gnorm_valid;
    float *gscratch;
    size_t gscratch_floats;
    double gnorm2[NN_MAX_LAYERS];
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
            fan_in = (double)l->k * l->k * l->in_c;
            fan_out = (double)l->k * l->k * l->c;
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
    m->nlayers = arch_build_layers(cfg, m->layers);
    m->nparams = arch_param_count(m->layers, m->nlayers);
    m->frozen = arch_frozen_count(cfg, m->layers, m->nlayers);
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

/* The weights and the optimiser's state, unless they are the caller's (model_use_state). */
static void free_state(model *m)
{
    if (!m->state_lent) {
        free(m->params);
        free(m->velocity);
        free(m->moment2);
    }
}

void model_destroy(model *m)
{
    if (!m)
        return;
    free_batch_buffers(m);
    if (!m->grads_lent)
        free(m->grads);
    free_state(m);
    free(m->gscratch);
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

void model_use_grads(model *m, float *block)
{
    memcpy(block, m->grads, sizeof(float) * m->nparams);
    if (!m->grads_lent)
        free(m->grads);
    m->grads = block;
    m->grads_lent = 1;
}

void model_use_state(model *m, float *params, float *velocity, float *moment2, int copy)
{
    const size_t bytes = sizeof(float) * m->nparams;
    if (copy) {
        memcpy(params, m->params, bytes);
        memcpy(velocity, m->velocity, bytes);
        if (moment2 && m->moment2)
            memcpy(moment2, m->moment2, bytes);
    }
    free_state(m);
    m->params = params;
    m->velocity = velocity;
    m->moment2 = moment2;
    m->state_lent = 1;
    m->wgen++;
}

void model_apply_part(model *m, const sgd_config *sgd, float *g, size_t lo, size_t hi, long long t)
{
    const size_t from = lo < m->frozen ? (m->frozen < hi ? m->frozen : hi) : lo;
    if (from > lo)
        memset(g, 0, sizeof(float) * (from - lo)); /* a frozen base takes no step */
    if (from < hi)
        optim_update(m->params + from, g + (from - lo), m->velocity + from, m->moment2 ? m->moment2 + from : NULL,
                     hi - from, sgd, t);
}

void model_step_done(model *m)
{
    m->iterations++;
    m->wgen++;
    m->grads_zero = 1;
}
float *model_velocity(model *m) { return m->velocity; }
float *model_moment2(model *m) { return m->moment2; }
long long model_iterations(const model *m) { return m->iterations; }
void model_set_iterations(model *m, long long iterations) { m->iterations = iterations; }

int model_need_moment2(model *m, vt_err *err)
{
    if (!m->moment2 && !(m->moment2 = calloc(m->nparams, sizeof(float))))
        return vt_fail(err, VT_EIO, "out of memory allocating the optimizer's second moments of %s", m->cfg.name);
    return VT_OK;
}

/* The optimiser's check, and the second moment block for Adam and RMSprop. */
static int optim_ready(model *m, const sgd_config *sgd, vt_err *err)
{
    int rc = sgd_check(sgd, err);
    if (!rc && sgd->kind != NN_OPT_SGD)
        rc = model_need_moment2(m, err);
    return rc;
}

static void layer_conv_geom(const nn_layer *l, int n, conv_geom *g)
{
    conv_geom_init(g, n, l->in_h, l->in_w, l->in_c, l->c, l->k, l->k, l->stride, 1);
}

/* ---- convolution backends per layer ------------------------------------------------------------- */

static int conv_count(const model *m)
{
    int k = 0;
    for (int i = 0; i < m->nlayers; i++)
        k += m->layers[i].kind == L_CONV;
    return k;
}

/* The entries of a comma-separated choice string: the first NN_MAX_LAYERS into picks, their count in *count. */
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
        if (k < NN_MAX_LAYERS)
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
    conv_pick picks[NN_MAX_LAYERS];
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
 * layers of a backend that chains (pool_forward set: oneDNN) and the max pooling between them, then plans
 * in layer order. */
static int plan_convs(model *m, vt_err *err)
{
    conv_pick picks[NN_MAX_LAYERS];
    int rc = parse_choice(m, m->conv_req, picks, err);
    if (rc)
        return rc;
    release_convs(m);
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
        if (m->prec == NN_PREC_MIXED_BF16)
            precision_bf16_pick(&cl->g, &cl->be, &cl->algo);
    }
    /* Chains: a layer of a chaining backend whose output (or that of the max pooling right after it) feeds
     * another layer of the same backend hands it over in the backend's layout. */
    for (int i = 0; i < m->nlayers; i++) {
        conv_layer *cl = &m->convs[i];
        if (!cl->be || !cl->be->pool_forward)
            continue;
        int j = i + 1;
        if (j < m->nlayers && m->layers[j].kind == L_POOL) {
            cl->pool_after = 1;
            cl->pool_size = m->layers[j].k;
            cl->pool_stride = m->layers[j].stride;
            j++;
        }
        if (j < m->nlayers && m->convs[j].be == cl->be) {
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
    conv_pick picks[NN_MAX_LAYERS];
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

int model_set_precision(model *m, nn_precision p, vt_err *err)
{
    int rc = nn_precision_check(p, err);
    if (rc != VT_OK || p == m->prec)
        return rc;
    nn_precision old = m->prec;
    m->prec = p;
    if (m->max_batch == 0 || (rc = plan_convs(m, err)) == VT_OK)
        return rc;
    vt_err ignore;
    m->prec = old;
    if (plan_convs(m, &ignore) != VT_OK) /* as model_set_conv: the old plan worked, only memory can fail it */
        free_batch_buffers(m);
    return rc;
}

nn_precision model_get_precision(const model *m)
{
    return m->prec;
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
     * (kh * kw * c + oc) times rows must stay below 2^31; the other layers are held to the bound of a 3x3
     * convolution's, as they always were. */
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        const size_t taps = l->kind == L_CONV ? (size_t)l->k * l->k : 9;
        size_t rows = (size_t)max_batch * l->h * l->w, cols = taps * l->in_c + l->c;
        if (rows * cols >= (size_t)INT_MAX)
            return vt_fail(err, VT_EUSAGE, "batch size %d is too large for %s at %dx%dx%d (layer %s); use a "
                           "smaller batch", max_batch, m->cfg.name, m->cfg.height, m->cfg.width, m->cfg.channels,
                           l->name);
    }
    conv_pick picks[NN_MAX_LAYERS];
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

/* The sum of squares of a[0..count), in order, in double (layer health's norms). */
static double sum_squares(const float *a, size_t count)
{
    double s = 0;
    for (size_t j = 0; j < count; j++)
        s += (double)a[j] * a[j];
    return s;
}

/* Runs the layers on x (n, H, W, C); leaves each output in m->outs and the softmax in m->probs. */
static void forward(model *m, const float *x, int n)
{
    m->was_cancelled = 0; /* a pass starts: forward, then the backward of the same step */
    m->gnorm_valid = 0;
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
                m->convs[i - 1].be->pool_forward(&m->convs[i - 1], out, n);
            else
                maxpool2d_forward(out, in, n, l->in_h, l->in_w, l->in_c, l->k, l->stride);
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

/* Layer i's backward pass from d (its output's gradient) into target (its input's; NULL for the first
 * layer without dx); returns where the gradient below now is (the same memory for Flatten). gw, gb: where
 * its kernel and bias gradients go; with step, the step is taken inside. */
static float *layer_backward(model *m, int i, float *target, float *d, float *dx, float *gw, float *gb, int n,
                             const sgd_config *step, const conv_step *cstep)
{
    const nn_layer *l = &m->layers[i];
    const float *in = m->outs[i - 1];
    float *w = m->params + l->w_off, *b = m->params + l->b_off;
    switch (l->kind) {
    case L_CONV: {
        conv_layer *cl = &m->convs[i];
        cl->wgen = m->wgen; /* the forward's: the kernel before this backward's step */
        cl->be->backward(cl, target, w, b, gw, gb, m->col, d, m->outs[i], in, n, step ? cstep : NULL);
        break;
    }
    case L_POOL:
        if (m->convs[i - 1].pool_after)
            m->convs[i - 1].be->pool_backward(&m->convs[i - 1], d, n);
        else if (target)
            maxpool2d_backward(target, d, in, n, l->in_h, l->in_w, l->in_c, l->k, l->stride);
        break;
    case L_FLATTEN:
        if (i == 1 && dx)
            memcpy(dx, d, sizeof(float) * (size_t)n * l->c);
        target = d; /* the same memory, read as (n, h, w, c) */
        break;
    case L_DENSE:
        if (step)
            dense_backward_sgd(target, w, b, gb, d, m->outs[i], in, n, l->in_h * l->in_w * l->in_c, l->c,
                               l->relu, cstep->lr, cstep->keep);
        else
            dense_backward(target, m->norms_only ? NULL : gw, gb, d, m->outs[i], in, w, n,
                           l->in_h * l->in_w * l->in_c, l->c, l->relu);
        if (m->norms_only)
            m->gnorm2[i] = dense_grad_norm2(d, in, n, l->in_h * l->in_w * l->in_c, l->c, m->gscratch,
                                            m->gscratch_floats);
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
    return target;
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
        if (l->w_count && l->w_off < m->frozen && !dx) {
            /* A frozen base: nothing below this layer trains, so the pass ends; their gradients stay zero. */
            if (m->ready)
                m->ready(m->ready_ctx, 0);
            return;
        }
        float *target = i == 1 ? dx : (d == m->dbuf[0] ? m->dbuf[1] : m->dbuf[0]);
        float *gw = m->grads + l->w_off, *gb = m->grads + l->b_off;
        if (m->norms_only && l->w_count) { /* the kernel's gradient (conv) or the bias's (dense) in the scratch */
            gw = m->gscratch;
            gb = l->kind == L_CONV ? gw + l->w_count : gw;
            memset(gw, 0, sizeof(float) * (l->kind == L_CONV ? l->w_count + l->b_count : l->b_count));
        }
        double t0 = m->prof_bwd ? vt_now() : 0.0;
        target = layer_backward(m, i, target, d, dx, gw, gb, n, step, &cstep);
        if (step && l->kind == L_DENSE)
            memset(gb, 0, sizeof(float) * l->b_count); /* the bias scratch (a backend clears its own) */
        if (m->norms_only && l->kind == L_CONV)
            m->gnorm2[i] = sum_squares(gw, l->w_count);
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
    if (crossentropy_stats(local, m->probs, y, n, m->cfg.classes)) {
        local->nonfinite = 1;
        return vt_fail(err, VT_EUSAGE, "%s: the loss is not finite (training diverged); lower the learning "
                       "rate (--lr)", m->cfg.name);
    }
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

/* The scratch of model_grad_norms: the largest Conv2D's kernel and bias, and at least 256 rows of the widest
 * Dense kernel (its gradient is formed rows at a time). */
static int make_gscratch(model *m, vt_err *err)
{
    if (m->gscratch)
        return VT_OK;
    size_t floats = 1;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        size_t need = l->kind == L_CONV ? l->w_count + l->b_count : l->kind == L_DENSE ? (size_t)l->c * 256 : 0;
        floats = need > floats ? need : floats;
    }
    if (!(m->gscratch = malloc(sizeof(float) * floats)))
        return vt_fail(err, VT_EIO, "out of memory for the gradient norms of %s", m->cfg.name);
    m->gscratch_floats = floats;
    return VT_OK;
}

int model_grad_norms(model *m, const float *x, const int *y, int n, vt_err *err)
{
    step_stats local = {0};
    int rc = make_gscratch(m, err);
    if (!rc)
        rc = forward_checked(m, x, y, n, &local, err);
    if (rc)
        return rc;
    m->norms_only = 1;
    backward(m, y, n, NULL, NULL);
    m->norms_only = 0;
    m->gnorm_valid = !m->was_cancelled;
    return VT_OK;
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


void step_stats_add(step_stats *sum, const step_stats *part)
{
    sum->loss_sum += part->loss_sum;
    sum->mse_sum += part->mse_sum;
    sum->correct += part->correct;
    sum->correct5 += part->correct5;
    sum->n += part->n;
    sum->nonfinite |= part->nonfinite;
}

/* The optimizer's step t on the whole gradient block, which it consumes (a frozen base, the first `frozen`,
 * takes none; its gradients, which model_loss_grad's dx pass may have filled, are cleared). */
static void update(model *m, const sgd_config *sgd, long long t)
{
    model_apply_part(m, sgd, m->grads, 0, m->nparams, t);
    m->wgen++;
    m->grads_zero = 1;
}

int model_train_step(model *m, const float *x, const int *y, int n, const sgd_config *sgd, step_stats *stats,
                     vt_err *err)
{
    step_stats local = {0};
    int rc = optim_ready(m, sgd, err);
    if (rc)
        return rc;
    if (sgd->kind == NN_OPT_SGD && sgd->momentum == 0.0f) {
        /* Plain SGD needs no velocity and no gradient block: each layer steps inside its backward pass. */
        if ((rc = forward_checked(m, x, y, n, &local, err)) != VT_OK) {
            stats->nonfinite |= local.nonfinite;
            return rc;
        }
        backward(m, y, n, NULL, sgd);
        m->wgen++;
        if (!m->grads_zero) { /* left over from a model_loss_grad */
            memset(m->grads, 0, sizeof(float) * m->nparams);
            m->grads_zero = 1;
        }
    } else {
        if ((rc = loss_and_grads(m, x, y, n, NULL, &local, err)) != VT_OK) {
            stats->nonfinite |= local.nonfinite;
            return rc;
        }
        if (m->was_cancelled)
            return VT_OK;
        update(m, sgd, m->iterations + 1);
    }
    m->iterations++;
    step_stats_add(stats, &local);
    return VT_OK;
}

int model_apply_grads(model *m, const sgd_config *sgd, vt_err *err)
{
    int rc = optim_ready(m, sgd, err);
    if (rc)
        return rc;
    update(m, sgd, ++m->iterations);
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
            const float *w = m->params + l->w_off;
            s->w_norm = sqrt(sum_squares(w, l->w_count));
            /* only after model_grad_norms, or model_loss_grad (whose gradients are in the block) */
            s->g_norm = m->gnorm_valid ? sqrt(m->gnorm2[i])
                      : m->grads_zero  ? NAN
                                       : sqrt(sum_squares(m->grads + l->w_off, l->w_count));
            /* The layer's output for the last pass's n images: (n, h, w, c). A oneDNN layer inside a chain
             * left it in its blocked layout: it is reordered into the first gradient buffer (max_batch *
             * max_per_image floats, free between passes, hence the casts), not into the layer's slot of the
             * activation block, which training never touches for such a layer: filling those slots made
             * 53 MB of vgg16's activation block resident for the sampling alone. */
            size_t count = (size_t)n * (size_t)l->h * (size_t)l->w * (size_t)l->c;
            const float *o = m->outs[i];
            const conv_layer *cl = &m->convs[i];
            if (o && cl->be && cl->be->output_nhwc && (cl->chain_out || cl->pool_after) &&
                cl->be->output_nhwc((conv_layer *)cl, m->dbuf[0], n))
                o = m->dbuf[0];
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
