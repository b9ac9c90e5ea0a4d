/* smallmap: the "smallmap" convolution backend, a direct 3x3 stride-1 'same' convolution for the deep
 * layers' small maps (vgg16's 6x6 block4 and 3x3 block5 at 48x48, vgg16-nopool's 4x4 and 2x2), where a
 * map has too few pixels to carry the vector width: the batch and the channels carry it instead.
 *
 * Forward is one matrix product without an im2col copy: the rows are the batch's output pixels, taken as
 * the same pixel (y, x) of R images at a time, so every row of such a group has the same kernel taps inside
 * the image (the taps outside are skipped, not multiplied by padding); the depth is the 9 taps times the
 * input channels, read where the input holds them; the columns are the output channels, KBL (two vector
 * registers) at a time, from the kernel packed as (k / KBL, 9, c, KBL). A block of R rows by KBL columns
 * sums in 2R registers. The input gradient is the same product run backwards: rows the input pixels, taps
 * mirrored, the kernel packed transposed as (c / KBL, 9, k, KBL). The kernel gradient dW[t] (c x k) is a
 * product over the pixels: a block of R input channels by KBL output channels sums x (R contiguous
 * floats broadcast) times dy (KBL floats) over every image and pixel where tap t lands inside, and is
 * written once, added to dw or (a fused step) applied to w.
 *
 * The packed kernel goes in the model's shared workspace, packed anew at each pass (9 c k floats, a
 * fraction of the pass's time), so the backend keeps no memory of its own. Work is split between nn's
 * workers by column blocks (each worker reads only its blocks of the packed kernel, which stay in its L2
 * cache across the pixel groups); each output is summed by one worker in a fixed order, so results are
 * the same bits at any thread count. Shapes: x (n, h, w, c), out and dout (n, h, w, k), kernel (3, 3, c, k)
 * (Keras).
 *
 * The file is compiled three times, like winograd.c: as itself (the portable copy, four-float vectors,
 * which holds the row), as smallmap_avx2.c (AVX2 and FMA) and smallmap_avx512.c (AVX-512F); a layer's
 * plan takes the copy nn_isa names (src/nn/isa.c). The copies are compiled with -ffp-contract=fast, so a
 * multiply-add is one FMA instruction where the CPU has them. */
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

#ifndef SM_ISA
#define SM_ISA NN_ISA_PORTABLE
#endif
/* VL floats a vector; R rows (images, or input channels for the kernel gradient) by 2 VL columns a block:
 * 2R accumulators, two loads and R broadcasts for 2R multiply-adds, within the copy's registers (16 AVX
 * registers: R = 6; 32 AVX-512 registers: R = 8, which also divides batch 32). */
#if SM_ISA == NN_ISA_AVX512
#define VL 16
#define R 8
#elif SM_ISA == NN_ISA_AVX2
#define VL 8
#define R 6
#else
#define VL 4
#define R 6
#endif
#define KBL (2 * VL)

#include "nn_vec.h"

/* A layer's plan: the copy it runs in and how many workers share it. */
typedef struct sm_plan {
    int isa, workers;
} sm_plan;

/* The column blocks of a width at the copy's KBL. */
static int blocks_of(int width, int kbl) { return (width + kbl - 1) / kbl; }

/* ---- packing the kernel --------------------------------------------------------------------------- */

/* What a pass of the pool needs. */
typedef struct sm_job {
    const conv_geom *g;
    const float *w, *x, *src, *bias; /* the kernel (packing), the input (kernel gradient), the product's */
    float *dst, *pk;
    int n, relu, transposed;
    const conv_step *step;
} sm_job;

/* pk = the kernel w (9, c, k) packed for the forward, (k / KBL, 9, c, KBL), or transposed for the input
 * gradient, (c / KBL, 9, k, KBL); zero past the last column. This worker's blocks of columns. */
static void pack_task(void *arg, int wk, int nw)
{
    const sm_job *J = arg;
    const int C = J->g->c, K = J->g->oc, depth = J->transposed ? K : C, width = J->transposed ? C : K;
    int b0, b1;
    share(blocks_of(width, KBL), wk, nw, &b0, &b1);
    for (int b = b0; b < b1; b++)
        for (int t = 0; t < 9; t++)
            for (int d = 0; d < depth; d++) {
                float *o = J->pk + (((size_t)b * 9 + t) * depth + d) * KBL;
                for (int j = 0; j < KBL; j++) {
                    const int col = b * KBL + j;
                    const int c = J->transposed ? col : d, k = J->transposed ? d : col;
                    o[j] = col < width ? J->w[((size_t)t * C + c) * K + k] : 0.0f;
                }
            }
}

/* ---- the product over taps: forward and input gradient -------------------------------------------- */

/* Depth of a sub-panel of the packed kernel: DC x KBL floats (16 KB with AVX-512), which stay in the L1
 * cache while every pixel group of the batch passes over them; the output block is loaded and stored once
 * per sub-panel (2R registers for 2R DC multiply-adds). */
#define DC 128

/* The lanes of a block's column range: full (nk = KBL) or the layer's last, partial one. */
TF void block_load(vf v[2], const float *p, int nk)
{
    v[0] = vload(p, nk < VL ? nk : VL);
    v[1] = nk > VL ? vload(p + VL, nk - VL) : (vf){0};
}

TF void block_store(float *p, const vf v[2], int nk)
{
    vstore(p, v[0], nk < VL ? nk : VL);
    if (nk > VL)
        vstore(p + VL, v[1], nk - VL);
}

/* o[r][0..nk) += sum over d < dn of a[r][d] * B[d][0..nk) for the rows r < nr; rows past nr repeat the
 * last (read, not written). B: a sub-panel (dn, KBL). */
TF void panel_block(float *const *o, const float *const *a, const float *B, int dn, int nr, int nk)
{
    vf acc[R][2];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        block_load(acc[r], o[r], nk);
    for (int d = 0; d < dn; d++, B += KBL) {
        const vf b0 = vload(B, VL), b1 = vload(B + VL, VL);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            acc[r][0] += b0 * a[r][d];
            acc[r][1] += b1 * a[r][d];
        }
    }
    for (int r = 0; r < nr; r++)
        block_store(o[r], acc[r], nk);
}

/* A sub-panel (depth d0..d0+dn of tap t) over every pixel group: dst (n, h, w, width) at columns col..
 * += the tap's pixels of src (n, h, w, depth), which are (y + sign (ky - 1), x + sign (kx - 1)) for output
 * pixel (y, x), the groups whose tap lies outside skipped. */
static void panel_pass(const sm_job *J, const float *B, int t, int d0, int dn, int col, int nk)
{
    const conv_geom *g = J->g;
    const int depth = J->transposed ? g->oc : g->c, width = J->transposed ? g->c : g->oc;
    const int sign = J->transposed ? -1 : 1, h = g->h, w = g->w;
    const size_t img = (size_t)h * w;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const int sy = y + sign * (t / 3 - 1), sx = x + sign * (t % 3 - 1);
            if (sy < 0 || sy >= h || sx < 0 || sx >= w)
                continue;
            for (int n0 = 0; n0 < J->n; n0 += R) {
                const int nr = J->n - n0 < R ? J->n - n0 : R;
                const float *a[R];
                float *o[R];
                for (int r = 0; r < R; r++) {
                    const size_t i = (size_t)(n0 + (r < nr ? r : nr - 1)) * img;
                    a[r] = J->src + (i + (size_t)sy * w + sx) * depth + d0;
                    o[r] = J->dst + (i + (size_t)y * w + x) * width + col;
                }
                if (nk == KBL)
                    panel_block(o, a, B, dn, nr, KBL);
                else
                    panel_block(o, a, B, dn, nr, nk);
            }
        }
}

/* One pass of the product: dst (n, h, w, width) = the taps of src (n, h, w, depth) times the packed kernel
 * J->pk, plus the bias and the ReLU (forward), for this worker's column blocks: each block's columns start
 * at the bias, take the sub-panels one after another, and go through the ReLU at the end. */
static void product_task(void *arg, int wk, int nw)
{
    const sm_job *J = arg;
    const conv_geom *g = J->g;
    const int depth = J->transposed ? g->oc : g->c, width = J->transposed ? g->c : g->oc;
    const size_t rows = (size_t)J->n * g->h * g->w;
    int b0, b1;
    share(blocks_of(width, KBL), wk, nw, &b0, &b1);
    for (int b = b0; b < b1; b++) {
        const int col = b * KBL, nk = width - col < KBL ? width - col : KBL;
        vf bias[2] = {{0}, {0}};
        if (J->bias)
            block_load(bias, J->bias + col, nk);
        for (size_t i = 0; i < rows; i++)
            block_store(J->dst + i * width + col, bias, nk);
        for (int t = 0; t < 9; t++)
            for (int d0 = 0; d0 < depth; d0 += DC)
                panel_pass(J, J->pk + ((size_t)b * 9 * depth + (size_t)t * depth + d0) * KBL, t, d0,
                           depth - d0 < DC ? depth - d0 : DC, col, nk);
        if (J->relu)
            for (size_t i = 0; i < rows; i++) {
                vf v[2];
                block_load(v, J->dst + i * width + col, nk);
                v[0] = vpositive(v[0], v[0]);
                v[1] = vpositive(v[1], v[1]);
                block_store(J->dst + i * width + col, v, nk);
            }
    }
}

/* ---- the kernel gradient -------------------------------------------------------------------------- */

/* Bytes of the output gradient's block columns a chunk of images may take: they stay in the L1 cache while
 * every tap and input channel of the block passes over them. */
#define DY_CHUNK_BYTES (16 * 1024)

/* acc (R input channels c0.. by KBL output channels col..) += sum over images n0..n1-1 and the pixels
 * (y, x) where tap t lands inside of x[n, y + ky - 1, x + kx - 1, c0 + r] * dy[n, y, x, col..]; channels
 * past nr repeat the last, columns past nk read as zero. */
TF void kernel_block(vf acc[R][2], const sm_job *J, int t, int c0, int nr, int n0, int n1, int col, int nk)
{
    const conv_geom *g = J->g;
    const int C = g->c, K = g->oc, h = g->h, w = g->w, dy = t / 3 - 1, dx = t % 3 - 1;
    int off[R];
    for (int r = 0; r < R; r++)
        off[r] = c0 + (r < nr ? r : nr - 1);
    /* The images innermost: on 2x2 to 6x6 maps a row of pixels is too short a loop. */
    const size_t xi = (size_t)h * w * C, di = (size_t)h * w * K;
    for (int y = dy < 0 ? 1 : 0; y < (dy > 0 ? h - 1 : h); y++)
        for (int x = dx < 0 ? 1 : 0; x < (dx > 0 ? w - 1 : w); x++) {
            const float *a = J->x + (size_t)n0 * xi + ((size_t)(y + dy) * w + x + dx) * C;
            const float *d = J->src + (size_t)n0 * di + ((size_t)y * w + x) * K + col;
            for (int n = n0; n < n1; n++, a += xi, d += di) {
                vf b[2];
                block_load(b, d, nk);
#pragma GCC unroll 8
                for (int r = 0; r < R; r++) {
                    acc[r][0] += b[0] * a[off[r]];
                    acc[r][1] += b[1] * a[off[r]];
                }
            }
        }
}

/* The kernel gradient's sums into J->pk (9, c, k), for this worker's column blocks, a chunk of images at a
 * time: every tap and input channel's block of the chunk added to the sums of the chunks before. */
static void kernel_task(void *arg, int wk, int nw)
{
    const sm_job *J = arg;
    const int C = J->g->c, K = J->g->oc;
    const size_t per_image = (size_t)J->g->h * J->g->w * KBL * sizeof(float);
    const int chunk = per_image >= DY_CHUNK_BYTES ? 1 : (int)(DY_CHUNK_BYTES / per_image);
    int b0, b1;
    share(blocks_of(K, KBL), wk, nw, &b0, &b1);
    for (int b = b0; b < b1; b++) {
        const int col = b * KBL, nk = K - col < KBL ? K - col : KBL;
        for (int n0 = 0; n0 < J->n; n0 += chunk) {
            const int n1 = J->n - n0 < chunk ? J->n : n0 + chunk;
            for (int t = 0; t < 9; t++)
                for (int c0 = 0; c0 < C; c0 += R) {
                    const int nr = C - c0 < R ? C - c0 : R;
                    float *o[R];
                    vf acc[R][2];
                    for (int r = 0; r < R; r++) {
                        o[r] = J->pk + ((size_t)t * C + c0 + (r < nr ? r : nr - 1)) * K + col;
                        if (n0 == 0)
                            acc[r][0] = acc[r][1] = (vf){0};
                        else
                            block_load(acc[r], o[r], nk);
                    }
                    if (nk == KBL)
                        kernel_block(acc, J, t, c0, nr, n0, n1, col, KBL);
                    else
                        kernel_block(acc, J, t, c0, nr, n0, n1, col, nk);
                    for (int r = 0; r < nr; r++)
                        block_store(o[r], acc[r], nk);
                }
        }
    }
}

/* The kernel gradient's sums (J->pk) added to dw, or (a step) applied to w: J->dst, this worker's share. */
static void kernel_apply_task(void *arg, int wk, int nw)
{
    const sm_job *J = arg;
    const size_t count = (size_t)9 * J->g->c * J->g->oc;
    const size_t lo = count * (size_t)wk / (size_t)nw, hi = count * (size_t)(wk + 1) / (size_t)nw;
    const conv_step *s = J->step;
    for (size_t i = lo; i < hi; i++)
        J->dst[i] = s ? s->keep * J->dst[i] - s->lr * J->pk[i] : J->dst[i] + J->pk[i];
}

/* ---- a layer's passes ----------------------------------------------------------------------------- */

static void forward_impl(conv_layer *cl, float *out, float *ws, const float *x, const float *w, const float *b,
                         int n)
{
    const sm_plan *p = cl->state;
    sm_job J = {.g = &cl->g, .w = w, .src = x, .bias = b, .dst = out, .pk = ws, .n = n, .relu = cl->relu};
    nn_pool_run(pack_task, &J, p->workers);
    nn_pool_run(product_task, &J, p->workers);
}

static void backward_impl(conv_layer *cl, float *dx, float *w, float *b, float *dw, float *db, float *ws,
                          float *dout, const float *out, const float *x, int n, const conv_step *step)
{
    const sm_plan *p = cl->state;
    const conv_geom *g = &cl->g;
    /* dout masked by the ReLU and its sums over the pixels: the bias gradient (db is the scratch with a
     * step, zero on entry). */
    bias_act_backward(db, dout, out, (size_t)n * g->oh * g->ow, g->oc, cl->relu);
    if (step)
        for (int k = 0; k < g->oc; k++) {
            b[k] = step->keep * b[k] - step->lr * db[k];
            db[k] = 0.0f;
        }
    if (dx) { /* from the kernel before the step */
        sm_job D = {.g = g, .w = w, .src = dout, .dst = dx, .pk = ws, .n = n, .transposed = 1};
        nn_pool_run(pack_task, &D, p->workers);
        nn_pool_run(product_task, &D, p->workers);
    }
    sm_job K = {.g = g, .x = x, .src = dout, .dst = step ? w : dw, .pk = ws, .n = n, .step = step};
    nn_pool_run(kernel_task, &K, p->workers);
    nn_pool_run(kernel_apply_task, &K, p->workers);
}

#if SM_ISA == NN_ISA_AVX512
const conv_passes smallmap_avx512_passes = {forward_impl, backward_impl};
#elif SM_ISA == NN_ISA_AVX2
const conv_passes smallmap_avx2_passes = {forward_impl, backward_impl};
#else
static const conv_passes portable_passes = {forward_impl, backward_impl};
#if defined(__x86_64__)
extern const conv_passes smallmap_avx2_passes, smallmap_avx512_passes;
static const conv_passes *const sm_copies[] = {&portable_passes, &smallmap_avx2_passes, &smallmap_avx512_passes};
#else
static const conv_passes *const sm_copies[] = {&portable_passes};
#endif
static int sm_supports(const conv_geom *g, int algo)
{
    return algo == CONV_ALGO_ANY && g->kh == 3 && g->kw == 3 && g->stride == 1 && g->pad_top == 1 &&
           g->pad_left == 1 && g->oh == g->h && g->ow == g->w;
}

/* The packed kernel, for either direction, at the widest copy's blocks (KBL = 32, AVX-512). */
static size_t sm_workspace(const conv_geom *g)
{
    const size_t kp = (size_t)blocks_of(g->oc, 32) * 32, cp = (size_t)blocks_of(g->c, 32) * 32;
    const size_t fwd = 9 * (size_t)g->c * kp, bwd = 9 * (size_t)g->oc * cp;
    return fwd > bwd ? fwd : bwd;
}

static int sm_plan_layer(conv_layer *cl, vt_err *err)
{
    sm_plan *p = calloc(1, sizeof *p);
    if (!p)
        return vt_fail(err, VT_EIO, "out of memory for a smallmap plan");
    int n = nn_threads();
    p->workers = n < 1 ? 1 : n > NN_WORKERS_MAX ? NN_WORKERS_MAX : n;
    p->isa = nn_isa();
    int rc = nn_pool_start(p->workers, err);
    if (rc) {
        free(p);
        return rc;
    }
    cl->state = p;
    return VT_OK;
}

static void sm_release(conv_layer *cl)
{
    free(cl->state);
    cl->state = NULL;
}

static void sm_forward(conv_layer *cl, float *out, float *ws, const float *x, const float *w, const float *b, int n)
{
    sm_copies[((const sm_plan *)cl->state)->isa]->forward(cl, out, ws, x, w, b, n);
}

static void sm_backward(conv_layer *cl, float *dx, float *w, float *b, float *dw, float *db, float *ws, float *dout,
                        const float *out, const float *x, int n, const conv_step *step)
{
    sm_copies[((const sm_plan *)cl->state)->isa]->backward(cl, dx, w, b, dw, db, ws, dout, out, x, n, step);
}

/* Measured on the AVX-512 Zen 5 (batch 32, 512 channels in and out, one thread, CPU time, so that the
 * machine's other load counts less; best of 3, two rounds), milliseconds forward / backward with dx:
 *   3x3 (vgg16's block5):        smallmap 12.8 / 29.6, gemm 14.3 / 28.0, winograd:f2 15.0 / 32.0
 *   2x2 (vgg16-nopool's block5): smallmap  6.5 / 12.3, gemm  6.8 / 12.7
 *   4x4 (vgg16-nopool's block4): smallmap 22.1 / 52.5, gemm 24.2 / 47.5, winograd:f2 16.0 / 33.2
 *   6x6 (vgg16's block4):        smallmap 50.2 / 128,  gemm 56.3 / 111,  winograd:f2 35.8 / 71.5
 * Its inner loop is what it should be (two loads, R broadcasts and 2R FMAs a step), yet it reached about
 * 110 GF/s of direct multiply-adds on one core, a third of the core's FMA limit: no better than gemm on
 * the maps under 4x4 and behind F(2x2) from 4x4 up. So "auto" leaves it out (rank 0) until it is clearly
 * ahead; "timed" times it on every layer with the others, and it can be named. */
static int sm_rank(const conv_geom *g, int alone)
{
    (void)g;
    (void)alone;
    return 0;
}

static const conv_variant sm_variants[] = {{NULL, CONV_ALGO_ANY, sm_rank, 1e-4, ""}};

const conv_backend conv_backend_smallmap = {
    .name = "smallmap",
    .variants = sm_variants,
    .nvariants = 1,
    .in_copies = 1,
    .supports = sm_supports,
    .workspace = sm_workspace,
    .plan = sm_plan_layer,
    .release = sm_release,
    .forward = sm_forward,
    .backward = sm_backward,
};
#endif
