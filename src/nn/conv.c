/* conv: the table of convolution backends and the two that need no library of their own: naive (the
 * reference loops of layers.c) and gemm (its im2col / shifted sgemm kernels). The oneDNN row lives in
 * onednn.c. Choosing a backend per layer (model_set_conv, "auto") is in model.c, which owns the layers. */
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

/* w = keep * w - lr * grad over count floats, and the gradient scratch cleared for the next step. */
static void step_apply(float *w, float *grad, size_t count, const conv_step *s)
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
        step_apply(w, dw, (size_t)g.kh * g.kw * g.c * g.oc, step);
        step_apply(b, db, (size_t)g.oc, step);
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

/* ---- the table ------------------------------------------------------------------------------------ */

static const conv_backend naive_row = {"naive", naive_supports, no_workspace, no_plan, no_release,
                                       naive_forward, naive_backward};
static const conv_backend gemm_row = {"gemm", naive_supports, gemm_workspace, no_plan, no_release,
                                      gemm_forward, gemm_backward};

/* The order is the order of conv_backend_names. */
const conv_backend *const conv_backends[] = {&naive_row, &gemm_row, &conv_backend_onednn, &conv_backend_winograd,
                                             NULL};
const char *const conv_backend_names[] = {"naive", "gemm", "onednn", "winograd", NULL};

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
