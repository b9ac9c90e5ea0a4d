/* conv: the table of convolution backends, the two that need no library of their own (naive, the
 * reference loops of layers.c, and gemm, its im2col / shifted sgemm kernels), and the loops over the rows:
 * parsing a choice, the names, "auto"'s ranking and "timed". The oneDNN and winograd rows live in
 * onednn.c and winograd_plan.c, each variant with its rank. Which layer runs what is model.c's (plan_convs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

/* ---- naive: the definition, loop by loop ---------------------------------------------------------- */

static int naive_supports(const conv_geom *g, int algo)
{
    (void)g;
    return algo == CONV_ALGO_ANY;
}

static size_t no_workspace(const conv_geom *g)
{
    (void)g;
    return 0;
}

static int no_plan(conv_layer *cl, vt_err *err)
{
    (void)cl;
    (void)err;
    return VT_OK;
}

static void no_release(conv_layer *cl) { (void)cl; }

static void naive_forward(conv_layer *cl, float *out, float *ws, const float *x, const float *w, const float *b,
                          int n)
{
    (void)ws;
    conv_geom g = cl->g;
    g.n = n;
    conv2d_forward_naive(out, x, w, b, &g, cl->relu);
}

void conv_step_apply(float *w, float *grad, size_t count, const conv_step *s)
{
    for (size_t i = 0; i < count; i++) {
        w[i] = s->keep * w[i] - s->lr * grad[i];
        grad[i] = 0.0f;
    }
}

static void naive_backward(conv_layer *cl, float *dx, float *w, float *b, float *dw, float *db, float *ws,
                           float *dout, const float *out, const float *x, int n, const conv_step *step)
{
    (void)ws;
    conv_geom g = cl->g;
    g.n = n;
    conv2d_backward_naive(dx, dw, db, dout, out, x, w, &g, cl->relu);
    if (step) {
        conv_step_apply(w, dw, (size_t)g.kh * g.kw * g.c * g.oc, step);
        conv_step_apply(b, db, (size_t)g.oc, step);
    }
}

/* ---- gemm: im2col / shifted sgemm over OpenBLAS ------------------------------------------------- */

static size_t gemm_workspace(const conv_geom *g) { return conv_col_size(g); }

static void gemm_forward(conv_layer *cl, float *out, float *ws, const float *x, const float *w, const float *b,
                         int n)
{
    conv_geom g = cl->g;
    g.n = n;
    conv2d_forward(out, ws, x, w, b, &g, cl->relu);
}

static void gemm_backward(conv_layer *cl, float *dx, float *w, float *b, float *dw, float *db, float *ws,
                          float *dout, const float *out, const float *x, int n, const conv_step *step)
{
    conv_geom g = cl->g;
    g.n = n;
    if (step) {
        /* The step happens inside the gemm that computes the kernel gradient; db is the bias's scratch. */
        conv2d_backward_sgd(dx, w, b, db, ws, dout, out, x, &g, cl->relu, step->lr, step->keep);
        memset(db, 0, sizeof(float) * g.oc);
    } else {
        conv2d_backward(dx, dw, db, ws, dout, out, x, w, &g, cl->relu);
    }
}

/* On maps under GEMM_SMALL_SIDE a side with GEMM_SMALL_CHANNELS input channels or more (vgg16's 3x3 block5
 * at 48x48, vgg16-nopool's 2x2), gemm outranks the winograd backend and oneDNN's direct convolution: F(2x2)
 * has one to four tiles an image there, too few rows for its products against a transformed kernel of
 * 16 c x k floats, while im2col and one sgemm cover the whole batch (interleaved, vgg16-nopool trained
 * 17-24% faster with gemm on its 2x2 block5, three rounds; vgg16's 3x3 block5 layers 11-13 against 15-22 ms
 * forward, 24-31 against 34-45 backward), and oneDNN's direct convolution was slower still (15-21, 42-67).
 * Elsewhere gemm is what runs when nothing ranks higher: it runs every layer. */
#define GEMM_SMALL_SIDE 4
#define GEMM_SMALL_CHANNELS 32

static int gemm_rank(const conv_geom *g, int alone)
{
    (void)alone;
    return g->c >= GEMM_SMALL_CHANNELS && conv_min_side(g) < GEMM_SMALL_SIDE ? 40 : 10;
}

/* ---- the table ------------------------------------------------------------------------------------ */

/* Float rounding over sums in another order than the naive loops' (which sum in double): a few 1e-6 of the
 * largest value for up to 9 * 512 terms an output, or thousands for a kernel gradient entry. */
#define DIRECT_TOL 1e-4

static const conv_variant naive_variants[] = {{NULL, CONV_ALGO_ANY, NULL, 0.0, ""}};
static const conv_variant gemm_variants[] = {{NULL, CONV_ALGO_ANY, gemm_rank, DIRECT_TOL, ""}};

static const conv_backend naive_row = {
    .name = "naive",
    .variants = naive_variants,
    .nvariants = 1,
    .supports = naive_supports,
    .workspace = no_workspace,
    .plan = no_plan,
    .release = no_release,
    .forward = naive_forward,
    .backward = naive_backward,
};
static const conv_backend gemm_row = {
    .name = "gemm",
    .variants = gemm_variants,
    .nvariants = 1,
    .supports = naive_supports,
    .workspace = gemm_workspace,
    .plan = no_plan,
    .release = no_release,
    .forward = gemm_forward,
    .backward = gemm_backward,
};

/* In the order the help lists them (NN_CONV_CHOICES): the fast backends, gemm, the reference. */
const conv_backend *const conv_backends[] = {&conv_backend_onednn, &conv_backend_winograd, &conv_backend_smallmap,
                                             &conv_backend_unrolled, &gemm_row, &naive_row, NULL};

const conv_backend *conv_backend_find(const char *name)
{
    for (int i = 0; conv_backends[i]; i++)
        if (strcmp(conv_backends[i]->name, name) == 0)
            return conv_backends[i];
    return NULL;
}

const char *nn_conv_default(void)
{
    const char *env = getenv("VGGTOP_CONV");
    return env && *env ? env : "auto";
}

/* ---- names ---------------------------------------------------------------------------------------- */

int conv_pick_parse(const char *s, size_t len, conv_pick *out)
{
    char name[32];
    if (len == 0 || len >= sizeof name)
        return -1;
    memcpy(name, s, len);
    name[len] = '\0';
    *out = (conv_pick){NULL, CONV_ALGO_ANY, strcmp(name, "timed") == 0};
    if (out->timed || strcmp(name, "auto") == 0)
        return 0;
    char *colon = strchr(name, ':');
    if (colon)
        *colon = '\0';
    if (!(out->be = conv_backend_find(name)))
        return -1;
    if (!colon)
        return 0;
    for (int k = 0; k < out->be->nvariants; k++) {
        const conv_variant *v = &out->be->variants[k];
        if (v->name && strcmp(v->name, colon + 1) == 0) {
            out->algo = v->algo;
            return 0;
        }
    }
    return -1;
}

static const conv_variant *variant_of(const conv_backend *be, int algo)
{
    for (int k = 0; k < be->nvariants; k++)
        if (be->variants[k].algo == algo)
            return &be->variants[k];
    return NULL;
}

int conv_label(char *buf, size_t cap, const conv_backend *be, int algo)
{
    const conv_variant *v = variant_of(be, algo);
    const char *vname = v && v->name ? v->name : "";
    return snprintf(buf, cap, "%s%s%s", be->name, *vname ? ":" : "", vname);
}

int conv_variants_ranked(conv_pick *out, int max)
{
    int k = 0;
    for (int i = 0; conv_backends[i]; i++)
        for (int j = 0; j < conv_backends[i]->nvariants; j++) {
            const conv_variant *v = &conv_backends[i]->variants[j];
            if (!v->rank)
                continue;
            if (k < max)
                out[k] = (conv_pick){conv_backends[i], v->algo, 0};
            k++;
        }
    return k;
}

void conv_choices_join(char *buf, size_t cap)
{
    const char *names[64];
    char labels[64][32];
    int n = 0;
    names[n++] = "auto";
    names[n++] = "timed";
    for (int i = 0; conv_backends[i]; i++) {
        const conv_backend *be = conv_backends[i];
        if (be->nvariants > 1 && n < 64)
            names[n++] = be->name; /* named alone: "auto" among its variants */
        for (int j = 0; j < be->nvariants && n < 64; j++) {
            conv_label(labels[n], sizeof labels[n], be, be->variants[j].algo);
            names[n] = labels[n];
            n++;
        }
    }
    size_t len = 0;
    if (cap)
        buf[0] = '\0';
    for (int k = 0; k < n && len < cap; k++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", k == 0 ? "" : k == n - 1 ? " or " : ", ", names[k]);
}

const char *conv_pick_hint(const conv_pick *p)
{
    const conv_variant *v = p->be ? variant_of(p->be, p->algo) : NULL;
    return v && v->hint ? v->hint : "";
}

/* ---- choosing ------------------------------------------------------------------------------------- */

int conv_supported(void *ctx, const conv_backend *be, int algo, const conv_geom *g)
{
    (void)ctx;
    return be->supports(g, algo);
}

int conv_rank_pick(const conv_geom *g, const conv_backend *only, conv_can_fn can, void *ctx, conv_pick *out)
{
    /* The candidates by rank, highest first, ties in table order; the first that can run g wins, so later
     * ones are never asked (oneDNN answers by creating primitive descriptors). */
    enum { MAX_CANDS = 32 };
    conv_pick cand[MAX_CANDS];
    int rank[MAX_CANDS], n = 0;
    for (int i = 0; conv_backends[i]; i++) {
        const conv_backend *be = conv_backends[i];
        for (int j = 0; j < be->nvariants && n < MAX_CANDS && (!only || be == only); j++) {
            const conv_variant *v = &be->variants[j];
            int r = v->rank ? v->rank(g, only != NULL) : 0, k = n++;
            for (; k > 0 && rank[k - 1] < r; k--) { /* insertion: stable, so ties keep table order */
                rank[k] = rank[k - 1];
                cand[k] = cand[k - 1];
            }
            rank[k] = r;
            cand[k] = (conv_pick){be, v->algo, 0};
        }
    }
    for (int k = 0; k < n && rank[k] > 0; k++)
        if (can(ctx, cand[k].be, cand[k].algo, g)) {
            *out = cand[k];
            return 0;
        }
    return -1;
}

/* Seconds of one forward + backward (with a fused step) of a standalone plan of be/algo for a layer like
 * tmpl, the best of a few runs on random data, or -1 when it cannot run. Only at model_set_batch. */
static double time_candidate(const conv_layer *tmpl, int first, const conv_backend *be, int algo)
{
    conv_layer cl = *tmpl;
    cl.be = be;
    cl.algo = algo;
    if (!be->supports(&cl.g, algo) || be->plan(&cl, NULL) != VT_OK)
        return -1.0;
    const conv_geom *g = &cl.g;
    size_t xs = (size_t)g->n * g->h * g->w * g->c, os = (size_t)g->n * g->oh * g->ow * g->oc;
    size_t ws = (size_t)g->kh * g->kw * g->c * g->oc, wsz = be->workspace(g);
    float *x = malloc(sizeof(float) * xs), *dx = malloc(sizeof(float) * xs), *out = malloc(sizeof(float) * os);
    float *dout = malloc(sizeof(float) * os), *w = malloc(sizeof(float) * ws), *dw = calloc(ws, sizeof(float));
    float *b = calloc((size_t)g->oc, sizeof(float)), *db = calloc((size_t)g->oc, sizeof(float));
    float *col = malloc(sizeof(float) * (wsz ? wsz : 1));
    double best = -1.0;
    if (x && dx && out && dout && w && dw && b && db && col) {
        vt_rng rng;
        vt_rng_seed(&rng, 99);
        for (size_t k = 0; k < xs; k++)
            x[k] = (float)vt_rng_uniform(&rng);
        for (size_t k = 0; k < ws; k++)
            w[k] = 0.05f * ((float)vt_rng_uniform(&rng) - 0.5f);
        const conv_step step = {0.0f, 1.0f}; /* lr 0: the timing leaves the weights as they are */
        const double budget = 0.25;          /* seconds per candidate, at most a few runs */
        double spent = 0.0;
        for (int r = 0; r < 4 && spent < budget; r++) {
            for (size_t k = 0; k < os; k++)
                dout[k] = 1e-3f * (float)((k * 2654435761u) % 1000) - 0.5e-3f;
            double t0 = vt_now();
            be->forward(&cl, out, col, x, w, b, g->n);
            be->backward(&cl, first ? NULL : dx, w, b, dw, db, col, dout, out, x, g->n, &step);
            double t = vt_now() - t0;
            spent += t;
            if (r > 0 && (best < 0 || t < best)) /* r == 0 warms up */
                best = t;
        }
        if (best < 0)
            best = spent;
    }
    free(x);
    free(dx);
    free(out);
    free(dout);
    free(w);
    free(dw);
    free(b);
    free(db);
    free(col);
    be->release(&cl);
    return best;
}

/* "timed": gemm first (the fallback, and what stays when nothing else runs), then every other ranked
 * variant in table order; the fastest kept, ties to the earlier (noisy on a shared machine: the run
 * records the result and reuses it). */
static void timed_pick(conv_pick *p, const conv_layer *tmpl, int first)
{
    const conv_backend *gemm = &gemm_row;
    *p = (conv_pick){gemm, CONV_ALGO_ANY, 0};
    double best = time_candidate(tmpl, first, gemm, CONV_ALGO_ANY);
    conv_pick cands[32];
    int n = conv_variants_ranked(cands, 32);
    for (int k = 0; k < n && k < 32; k++) {
        if (cands[k].be == gemm)
            continue;
        double t = time_candidate(tmpl, first, cands[k].be, cands[k].algo);
        if (t >= 0 && (best < 0 || t < best)) {
            best = t;
            *p = cands[k];
        }
    }
}

int conv_choose(conv_pick *p, const conv_geom *g, conv_can_fn can, void *ctx)
{
    if (!p->be) /* "auto": gemm runs everything, so something is always found */
        return conv_rank_pick(g, NULL, can, ctx, p);
    if (p->algo == CONV_ALGO_ANY && p->be->nvariants > 1) { /* a backend named alone */
        const conv_backend *be = p->be;
        if (conv_rank_pick(g, be, can, ctx, p) == 0)
            return 0;
        if (!be->alone_falls_back)
            return -1;
        *p = (conv_pick){&gemm_row, CONV_ALGO_ANY, 0};
        return 0;
    }
    return can(ctx, p->be, p->algo, g) ? 0 : -1;
}

int conv_resolve(conv_pick *p, const conv_layer *tmpl, int first)
{
    if (!p->timed)
        return conv_choose(p, &tmpl->g, conv_supported, NULL);
    timed_pick(p, tmpl, first);
    return 0;
}
