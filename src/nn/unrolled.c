/* unrolled: the "unrolled" convolution backend, for the smallest maps (vgg16-nopool's 2x2 block5): the
 * whole layer as one matrix product with the kernel unrolled over the map.
 *
 * On a map of P pixels a convolution is a linear map from an image's P c inputs to its P' k outputs
 * (P' output pixels), whose matrix W' (P c, P' k) holds, in the block of input pixel p and output pixel
 * p', the kernel tap that joins them (c x k floats of the Keras kernel) or zeros where no tap does. On a
 * 2x2 map with a 3x3 'same' kernel every pixel reaches every output through one tap, so W' has no zeros
 * and the product does exactly the convolution's multiply-adds (16 c k an image, against im2col's 36 c k,
 * which multiplies the taps that fall on the padding too). NHWC images are already the rows of that
 * product, so forward is the Dense layers' product y = x W' (src/nn/dense.c: nn's own kernel, W' read from
 * memory once), bias and ReLU; backward is their one-pass backward (dx = dy W'^T and dW' = x^T dy) and dW'
 * folded back onto the 9 taps (the sum of its blocks that each tap fills).
 *
 * W' is the layer's own (P c P' k floats: 16 MB at 2x2 with 512 channels in and out), derived when the
 * weights generation changes: once a training step (the forward after the step; the backward reuses it)
 * and once for any number of inference batches. dW' goes in the model's shared workspace. A run is
 * repeatable at any thread count: the Dense kernels sum each output in a fixed order, and the fold adds a
 * tap's blocks in a fixed order on one worker. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "nn_internal.h"

/* Maps of up to UNROLL_MAX_PIXELS pixels in and out: 2x2 (and 1x2, 2x1, 1x1). At 3x3, W' would be 81 c k
 * floats (85 MB at 512 channels), three times the winograd backend's F(3x3) products. And W' of at most
 * UNROLL_MAX_FLOATS (64 MB: 1,024 channels in and out at 2x2). */
#define UNROLL_MAX_PIXELS 4
#define UNROLL_MAX_FLOATS ((size_t)1 << 24)

typedef struct un_plan {
    float *wu;         /* W' (P c, P' k), mapped (wu_bytes) */
    size_t wu_bytes;
    unsigned long gen; /* the weights generation wu was derived at; 0: none */
} un_plan;

/* What a pool task needs: the layer, its kernel and the matrix. */
typedef struct un_job {
    const conv_layer *cl;
    const float *w, *dwu;
    float *wu, *dw;
} un_job;

static size_t un_rows(const conv_geom *g) { return (size_t)g->h * g->w * g->c; }
static size_t un_cols(const conv_geom *g) { return (size_t)g->oh * g->ow * g->oc; }

static int un_supports(const conv_geom *g, int algo)
{
    return algo == CONV_ALGO_ANY && g->h * g->w <= UNROLL_MAX_PIXELS && g->oh * g->ow <= UNROLL_MAX_PIXELS &&
           un_rows(g) * un_cols(g) <= UNROLL_MAX_FLOATS;
}

/* The tap that joins input pixel (iy, ix) to output pixel (oy, ox), or -1 where none does. */
static int tap_of(const conv_geom *g, int iy, int ix, int oy, int ox)
{
    const int ky = iy - oy * g->stride + g->pad_top, kx = ix - ox * g->stride + g->pad_left;
    return ky >= 0 && ky < g->kh && kx >= 0 && kx < g->kw ? ky * g->kw + kx : -1;
}

/* dW' for the backward. */
static size_t un_workspace(const conv_geom *g) { return un_rows(g) * un_cols(g); }

/* For the input channels in this worker's share, every pair of pixels in a fixed order: derive (J->dw
 * NULL) puts in W' the block of each pair, the row of the tap that joins them or zeros; fold adds each
 * such block of dW' to its tap's rows of dw (kh, kw, c, k). */
static void pairs_task(void *arg, int wk, int nw)
{
    const un_job *J = arg;
    const conv_geom *g = &J->cl->g;
    const size_t k = (size_t)g->oc, cols = un_cols(g);
    int c0, c1;
    share(g->c, wk, nw, &c0, &c1);
    for (int p = 0; p < g->h * g->w; p++)
        for (int q = 0; q < g->oh * g->ow; q++) {
            const int t = tap_of(g, p / g->w, p % g->w, q / g->ow, q % g->ow);
            if (t < 0 && J->dw)
                continue; /* no tap: nothing to fold */
            for (int c = c0; c < c1; c++) {
                const size_t block = ((size_t)p * g->c + c) * cols + q * k, row = ((size_t)t * g->c + c) * k;
                if (t < 0) {
                    memset(J->wu + block, 0, sizeof(float) * k);
                } else if (!J->dw) {
                    memcpy(J->wu + block, J->w + row, sizeof(float) * k);
                } else {
                    float *d = J->dw + row;
                    const float *s = J->dwu + block;
                    for (size_t j = 0; j < k; j++)
                        d[j] += s[j];
                }
            }
        }
}

/* W' is mapped, not malloc'ed: glibc raises its threshold for mapping to the size of the largest mapped
 * block freed (up to 32 MB), and after a 16 MB W' went the next model's buffers under that size came from
 * the heap and stayed resident when freed (`vggtop bench`: cnn after vgg16-nopool peaked at 198 MiB
 * against 95). */
static int un_plan_layer(conv_layer *cl, vt_err *err)
{
    un_plan *p = calloc(1, sizeof *p);
    const size_t bytes = sizeof(float) * un_rows(&cl->g) * un_cols(&cl->g);
    void *wu = p ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : MAP_FAILED;
    if (wu == MAP_FAILED) {
        free(p);
        return vt_fail(err, VT_EIO, "out of memory for an unrolled plan (%zu MB)", bytes >> 20);
    }
    p->wu = wu;
    p->wu_bytes = bytes;
    int rc = nn_pool_start(nn_threads(), err);
    if (rc) {
        munmap(wu, bytes);
        free(p);
        return rc;
    }
    cl->state = p;
    return VT_OK;
}

static void un_release(conv_layer *cl)
{
    un_plan *p = cl->state;
    if (p)
        munmap(p->wu, p->wu_bytes);
    free(p);
    cl->state = NULL;
}

/* W' for the kernel w, unless it holds it already (same weights generation; 0 is unknown). */
static void derive(conv_layer *cl, const float *w)
{
    un_plan *p = cl->state;
    if (cl->wgen != 0 && p->gen == cl->wgen)
        return;
    un_job J = {.cl = cl, .w = w, .wu = p->wu};
    nn_pool_run(pairs_task, &J, nn_threads());
    p->gen = cl->wgen;
}

static void un_forward(conv_layer *cl, float *out, float *ws, const float *x, const float *w, const float *b, int n)
{
    (void)ws;
    const un_plan *p = cl->state;
    derive(cl, w);
    dense_xw(out, x, p->wu, n, (int)un_rows(&cl->g), (int)un_cols(&cl->g));
    bias_act(out, b, (size_t)n * cl->g.oh * cl->g.ow, cl->g.oc, cl->relu);
}

static void un_backward(conv_layer *cl, float *dx, float *w, float *b, float *dw, float *db, float *ws, float *dout,
                        const float *out, const float *x, int n, const conv_step *step)
{
    const conv_geom *g = &cl->g;
    const un_plan *p = cl->state;
    derive(cl, w); /* the forward's, unless the weights changed since */
    bias_act_backward(db, dout, out, (size_t)n * g->oh * g->ow, g->oc, cl->relu);
    dense_step(dx, ws, p->wu, x, dout, n, (int)un_rows(g), (int)un_cols(g), 1.0f, 0.0f);
    un_job J = {.cl = cl, .dwu = ws, .dw = dw};
    nn_pool_run(pairs_task, &J, nn_threads());
    if (step) {
        conv_step_apply(w, dw, (size_t)g->kh * g->kw * g->c * g->oc, step);
        conv_step_apply(b, db, (size_t)g->oc, step);
    }
}

/* Above gemm's 40 on the maps it serves, from 32 channels (as gemm's rule for small maps). Measured on a
 * 2-core Zen 4 inside training steps (vgg16-nopool's block5, 2x2, 512 channels): see docs/SPEED.md. */
static int un_rank(const conv_geom *g, int alone)
{
    (void)alone;
    return g->c >= 32 && un_supports(g, CONV_ALGO_ANY) ? 45 : 0;
}

/* Direct sums in float, another order than the naive loops' (as gemm). */
static const conv_variant un_variants[] = {{NULL, CONV_ALGO_ANY, un_rank, 1e-4, ""}};

const conv_backend conv_backend_unrolled = {
    .name = "unrolled",
    .variants = un_variants,
    .nvariants = 1,
    .supports = un_supports,
    .workspace = un_workspace,
    .plan = un_plan_layer,
    .release = un_release,
    .forward = un_forward,
    .backward = un_backward,
};
