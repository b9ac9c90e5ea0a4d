/* layers: the forward/backward kernels of every layer the models use, over plain float arrays (NHWC
 * activations, Keras weight layouts). Backward kernels add into dw/db and overwrite dx. The fast
 * convolution is im2col + one sgemm over the batch; the naive loops next to it are the reference the
 * tests hold it to. Nothing here allocates. */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "vggtop/nn.h"
#include "nn_internal.h"

/* Four floats at a time with GCC's vector extensions (SSE on any x86-64), for the element-wise loops that
 * -O2 leaves scalar: comparisons give all-ones or zero lanes, so a ReLU or a "which pixel was the maximum"
 * is a bitwise and, with no data-dependent branch to mispredict. Element-wise only: the results are the
 * same bits as the scalar loops'. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f v4_load(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void v4_store(float *p, v4f v) { memcpy(p, &v, sizeof v); }
static inline v4f v4_max(v4f a, v4f b)
{
    v4i gt = a > b;
    return (v4f)((gt & (v4i)a) | (~gt & (v4i)b));
}
static inline v4f v4_select(v4i mask, v4f a) { return (v4f)(mask & (v4i)a); }
static inline v4f v4_zero_where(v4i mask, v4f a) { return (v4f)(~mask & (v4i)a); }

/* ---- convolution geometry ------------------------------------------------------------------------- */

void conv_geom_init(conv_geom *g, int n, int h, int w, int c, int oc, int kh, int kw, int stride, int same)
{
    g->n = n;
    g->h = h;
    g->w = w;
    g->c = c;
    g->oc = oc;
    g->kh = kh;
    g->kw = kw;
    g->stride = stride;
    if (same) {
        /* Keras/TensorFlow 'same': output ceil(in / stride), total padding split with the extra row or
         * column at the bottom/right. */
        g->oh = (h + stride - 1) / stride;
        g->ow = (w + stride - 1) / stride;
        int pad_h = (g->oh - 1) * stride + kh - h;
        int pad_w = (g->ow - 1) * stride + kw - w;
        g->pad_top = pad_h > 0 ? pad_h / 2 : 0;
        g->pad_left = pad_w > 0 ? pad_w / 2 : 0;
    } else {
        g->oh = (h - kh) / stride + 1;
        g->ow = (w - kw) / stride + 1;
        g->pad_top = 0;
        g->pad_left = 0;
    }
}

/* A 1x1, stride 1, unpadded convolution's im2col matrix is its input itself. */
static int conv_is_pointwise(const conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->stride == 1 && g->pad_top == 0 && g->pad_left == 0;
}

/* The batch goes through im2col and sgemm a chunk of output lines at a time (a line is one output row
 * of one image; the lines of the batch, image after image, are contiguous in NHWC): enough lines for about
 * CONV_CHUNK_ROWS matrix rows (output pixels), so sgemm stays efficient, and no more, so the columns just
 * written are still in cache when sgemm reads them. Memory bandwidth is what limits the wide early layers:
 * for VGG's block1_conv2 at 32x32 the whole batch's columns are 75 MB. A chunk may end inside an image
 * and the next one start there; from block4 on (a few pixels an image) a chunk spans many images. */
#ifndef CONV_CHUNK_ROWS
#define CONV_CHUNK_ROWS 1024
#endif
#ifndef CONV_CHUNK_ROWS_NARROW
#define CONV_CHUNK_ROWS_NARROW 512
#endif

static int conv_chunk_lines(const conv_geom *g)
{
    int lines = g->n * g->oh, rows = g->oc <= 64 ? CONV_CHUNK_ROWS_NARROW : CONV_CHUNK_ROWS;
    int k = g->ow > 0 ? rows / g->ow : lines;
    return k < 1 ? 1 : k > lines ? lines : k;
}

/* The shifted forward pass, for stride-1 convolutions over wide images with many input channels (VGG's
 * block1_conv2: 48x48, 64 -> 64), where im2col's copy, single-threaded, costs a third of the layer: the
 * chunk's images are copied once into a zero-padded buffer (hp, wp) = (oh + kh - 1, ow + kw - 1), and in
 * that layout the input of kernel tap (ky, kx) for output pixel q = oy*wp + ox is row q + ky*wp + kx, so
 * one sgemm per tap with K = c (A's rows c floats apart) accumulates the whole chunk's output on the padded
 * grid; the kw - 1 columns and kh - 1 rows of the grid past each image's output are computed and dropped.
 * The sgemm at K = 64 over ~10,000 rows measured 215 GFLOP/s against 190 for im2col's K = 576 over 512
 * rows, before im2col's own cost. */
#ifndef CONV_SHIFT_ROWS
#define CONV_SHIFT_ROWS 10000
#endif

static int conv_use_shift(const conv_geom *g)
{
    return g->stride == 1 && g->c >= 32 && g->oh * g->ow >= 1024 && !conv_is_pointwise(g);
}

static int conv_shift_images(const conv_geom *g)
{
    int grid = (g->oh + g->kh - 1) * (g->ow + g->kw - 1);
    int k = CONV_SHIFT_ROWS / grid;
    return k < 1 ? 1 : k > g->n ? g->n : k;
}

/* The kernel gradient's chunk: the same, except where the shifted pass does forward and dx, where im2col
 * is left only for dw and sgemm's sum over pixels wants longer chunks. */
#ifndef CONV_DW_ROWS
#define CONV_DW_ROWS 1024
#endif

static int conv_dw_chunk_lines(const conv_geom *g)
{
    if (!conv_use_shift(g))
        return conv_chunk_lines(g);
    int lines = g->n * g->oh, k = CONV_DW_ROWS / g->ow;
    return k < 1 ? 1 : k > lines ? lines : k;
}

size_t conv_col_size(const conv_geom *g)
{
    size_t col = (size_t)conv_dw_chunk_lines(g) * g->ow * g->kh * g->kw * g->c;
    if (conv_use_shift(g)) {
        size_t grid = (size_t)(g->oh + g->kh - 1) * (g->ow + g->kw - 1);
        size_t shift = (size_t)conv_shift_images(g) * grid * (g->c + g->oc);
        if (shift > col)
            col = shift;
    }
    return col;
}

/* ---- im2col / col2im ------------------------------------------------------------------------------ */

/* For output column ox, the kernel columns kx whose input column lies inside the image: [*kx0, *kx1). */
static void valid_kx(const conv_geom *g, int ox, int *kx0, int *kx1)
{
    int ix0 = ox * g->stride - g->pad_left;
    int lo = ix0 < 0 ? -ix0 : 0;
    int hi = g->w - ix0;
    if (hi > g->kw)
        hi = g->kw;
    if (hi < lo)
        hi = lo;
    *kx0 = lo;
    *kx1 = hi;
}

/* col: (count*ow, kh*kw*c), the rows of output lines [first, first + count) of the batch (line l is
 * output row l % oh of image l / oh); x: (n, h, w, c), the whole batch. For a fixed kernel row ky the
 * kernel's columns read consecutive pixels of one input row, which NHWC stores contiguously: one memcpy
 * per (pixel, ky). */
static void im2col_lines(float *col, const float *x, const conv_geom *g, int first, int count)
{
    const int c = g->c, kw = g->kw;
    const size_t row_len = (size_t)g->kh * kw * c;
    float *row = col;
    for (int l = first; l < first + count; l++) {
        const int n = l / g->oh, oy = l % g->oh;
        const float *img = x + (size_t)n * g->h * g->w * c;
        for (int ox = 0; ox < g->ow; ox++, row += row_len) {
            int kx0, kx1;
            valid_kx(g, ox, &kx0, &kx1);
            int ix0 = ox * g->stride - g->pad_left;
            for (int ky = 0; ky < g->kh; ky++) {
                float *dst = row + (size_t)ky * kw * c;
                int iy = oy * g->stride - g->pad_top + ky;
                if (iy < 0 || iy >= g->h || kx1 <= kx0) {
                    memset(dst, 0, sizeof(float) * kw * c);
                    continue;
                }
                if (kx0 > 0)
                    memset(dst, 0, sizeof(float) * kx0 * c);
                memcpy(dst + (size_t)kx0 * c, img + ((size_t)iy * g->w + ix0 + kx0) * c,
                       sizeof(float) * (kx1 - kx0) * c);
                if (kx1 < kw)
                    memset(dst + (size_t)kx1 * c, 0, sizeof(float) * (kw - kx1) * c);
            }
        }
    }
}

/* The adjoint of im2col_lines: every column entry of lines [first, first + count) is added back onto the
 * input pixel it was copied from; dx is the whole batch's. */
static void col2im_add_lines(float *dx, const float *col, const conv_geom *g, int first, int count)
{
    const int c = g->c, kw = g->kw;
    const size_t row_len = (size_t)g->kh * kw * c;
    const float *row = col;
    for (int l = first; l < first + count; l++) {
        const int n = l / g->oh, oy = l % g->oh;
        float *img = dx + (size_t)n * g->h * g->w * c;
        for (int ox = 0; ox < g->ow; ox++, row += row_len) {
            int kx0, kx1;
            valid_kx(g, ox, &kx0, &kx1);
            int ix0 = ox * g->stride - g->pad_left;
            for (int ky = 0; ky < g->kh; ky++) {
                int iy = oy * g->stride - g->pad_top + ky;
                if (iy < 0 || iy >= g->h)
                    continue;
                const float *src = row + ((size_t)ky * kw + kx0) * c;
                float *dst = img + ((size_t)iy * g->w + ix0 + kx0) * c;
                size_t len = (size_t)(kx1 - kx0) * c, i = 0;
                for (; i + 4 <= len; i += 4)
                    v4_store(dst + i, v4_load(dst + i) + v4_load(src + i));
                for (; i < len; i++)
                    dst[i] += src[i];
            }
        }
    }
}

void im2col(float *col, const float *x, const conv_geom *g) { im2col_lines(col, x, g, 0, g->n * g->oh); }

void col2im_add(float *dx, const float *col, const conv_geom *g)
{
    col2im_add_lines(dx, col, g, 0, g->n * g->oh);
}

/* ---- bias, ReLU ----------------------------------------------------------------------------------- */

void bias_act(float *out, const float *b, size_t rows, int cols, int relu)
{
    const int c4 = cols & ~3;
    const v4f zero = {0.0f, 0.0f, 0.0f, 0.0f};
    for (size_t r = 0; r < rows; r++) {
        float *o = out + r * cols;
        int j = 0;
        for (; j < c4; j += 4) {
            v4f v = v4_load(o + j) + v4_load(b + j);
            v4_store(o + j, relu ? v4_zero_where(v < zero, v) : v); /* NaN passes: a diverged run shows */
        }
        for (; j < cols; j++) {
            float v = o[j] + b[j];
            o[j] = relu && v < 0.0f ? 0.0f : v;
        }
    }
}

/* dout (rows, cols): zeroed where the ReLU was off (out <= 0) when relu; db (cols) += column sums. */
void bias_act_backward(float *db, float *dout, const float *out, size_t rows, int cols, int relu)
{
    const int c4 = cols & ~3;
    const v4f zero = {0.0f, 0.0f, 0.0f, 0.0f};
    for (size_t r = 0; r < rows; r++) {
        float *d = dout + r * cols;
        const float *o = out + r * cols;
        int j = 0;
        for (; j < c4; j += 4) {
            v4f v = v4_load(d + j);
            if (relu) {
                v = v4_select(v4_load(o + j) > zero, v);
                v4_store(d + j, v);
            }
            v4_store(db + j, v4_load(db + j) + v);
        }
        for (; j < cols; j++) {
            if (relu && !(o[j] > 0.0f))
                d[j] = 0.0f;
            db[j] += d[j];
        }
    }
}

void relu_forward(float *out, const float *x, size_t count)
{
    for (size_t i = 0; i < count; i++)
        out[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void relu_backward(float *dx, const float *dout, const float *out, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dx[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

/* ---- Conv2D --------------------------------------------------------------------------------------- */

/* xpad (k, hp, wp, c) = images [first, first + k) of x (n, h, w, c), zero-padded for a stride-1 g. */
static void pad_images(float *xpad, const float *x, const conv_geom *g, int first, int k)
{
    const int c = g->c, hp = g->oh + g->kh - 1, wp = g->ow + g->kw - 1;
    const int right = wp - g->pad_left - g->w;
    float *dst = xpad;
    for (int i = first; i < first + k; i++) {
        const float *img = x + (size_t)i * g->h * g->w * c;
        for (int py = 0; py < hp; py++, dst += (size_t)wp * c) {
            int iy = py - g->pad_top;
            if (iy < 0 || iy >= g->h) {
                memset(dst, 0, sizeof(float) * wp * c);
                continue;
            }
            memset(dst, 0, sizeof(float) * g->pad_left * c);
            memcpy(dst + (size_t)g->pad_left * c, img + (size_t)iy * g->w * c, sizeof(float) * g->w * c);
            if (right > 0)
                memset(dst + (size_t)(g->pad_left + g->w) * c, 0, sizeof(float) * right * c);
        }
    }
}

/* conv2d_forward for conv_use_shift(g): ws holds the padded chunk (k, hp, wp, c), then its output grid
 * (k, hp, wp, oc), of which rows oy < oh, columns ox < ow are the output. */
static void conv_forward_shift(float *out, float *ws, const float *x, const float *w, const float *b,
                               const conv_geom *g, int relu)
{
    const int c = g->c, oc = g->oc, hp = g->oh + g->kh - 1, wp = g->ow + g->kw - 1, per = conv_shift_images(g);
    const size_t grid_px = (size_t)hp * wp;
    float *xpad = ws, *grid = ws + (size_t)per * grid_px * c;
    for (int i = 0; i < g->n; i += per) {
        const int k = g->n - i < per ? g->n - i : per;
        /* The last row any tap reads is the chunk's last padded pixel. */
        const int rows = (int)((k - 1) * grid_px) + (g->oh - 1) * wp + g->ow;
        pad_images(xpad, x, g, i, k);
        for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++) {
                int t = ky * g->kw + kx;
                nn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, oc, c, 1.0f,
                         xpad + ((size_t)ky * wp + kx) * c, c, w + (size_t)t * c * oc, oc, t == 0 ? 0.0f : 1.0f,
                         grid, oc);
            }
        for (int j = 0; j < k; j++)
            for (int oy = 0; oy < g->oh; oy++) {
                float *o = out + (((size_t)(i + j) * g->oh + oy) * g->ow) * oc;
                memcpy(o, grid + (j * grid_px + (size_t)oy * wp) * oc, sizeof(float) * g->ow * oc);
                bias_act(o, b, g->ow, oc, relu);
            }
    }
}

/* dx (n, h, w, c) = the input gradient for conv_use_shift(g), the shifted pass run backwards: dout goes
 * onto the zeroed output grid (k, hp, wp, oc), one sgemm per tap adds grid . w_tap^T into the padded
 * input gradient (k, hp, wp, c) at the tap's offset, and its interior is dx. Same workspace as forward. */
static void conv_dx_shift(float *dx, float *ws, const float *dout, const float *w, const conv_geom *g)
{
    const int c = g->c, oc = g->oc, hp = g->oh + g->kh - 1, wp = g->ow + g->kw - 1, per = conv_shift_images(g);
    const size_t grid_px = (size_t)hp * wp;
    float *dxpad = ws, *grid = ws + (size_t)per * grid_px * c;
    for (int i = 0; i < g->n; i += per) {
        const int k = g->n - i < per ? g->n - i : per;
        const int rows = (int)((k - 1) * grid_px) + (g->oh - 1) * wp + g->ow;
        memset(grid, 0, sizeof(float) * k * grid_px * oc);
        memset(dxpad, 0, sizeof(float) * k * grid_px * c);
        for (int j = 0; j < k; j++)
            for (int oy = 0; oy < g->oh; oy++)
                memcpy(grid + (j * grid_px + (size_t)oy * wp) * oc,
                       dout + (((size_t)(i + j) * g->oh + oy) * g->ow) * oc, sizeof(float) * g->ow * oc);
        for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++) {
                int t = ky * g->kw + kx;
                nn_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, c, oc, 1.0f, grid, oc,
                         w + (size_t)t * c * oc, oc, 1.0f, dxpad + ((size_t)ky * wp + kx) * c, c);
            }
        for (int j = 0; j < k; j++)
            for (int iy = 0; iy < g->h; iy++)
                memcpy(dx + (((size_t)(i + j) * g->h + iy) * g->w) * c,
                       dxpad + (j * grid_px + (size_t)(iy + g->pad_top) * wp + g->pad_left) * c,
                       sizeof(float) * g->w * c);
    }
}

/* out: (n, oh, ow, oc) = col (P, K) . w (K, oc) with P = n*oh*ow, K = kh*kw*c, a chunk of lines at a
 * time, each chunk's bias and ReLU right after its sgemm, while its output is still in cache. */
void conv2d_forward(float *out, float *col, const float *x, const float *w, const float *b, const conv_geom *g,
                    int relu)
{
    const int K = g->kh * g->kw * g->c, N = g->oc;
    if (conv_is_pointwise(g)) {
        nn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->n * g->oh * g->ow, N, K, 1.0f, x, K, w, N, 0.0f,
                 out, N);
        bias_act(out, b, (size_t)g->n * g->oh * g->ow, N, relu);
        return;
    }
    if (conv_use_shift(g)) {
        conv_forward_shift(out, col, x, w, b, g, relu);
        return;
    }
    const int lines = g->n * g->oh, per = conv_chunk_lines(g);
    const size_t line_out = (size_t)g->ow * N;
    for (int l = 0; l < lines; l += per) {
        const int cnt = lines - l < per ? lines - l : per;
        float *o = out + l * line_out;
        im2col_lines(col, x, g, l, cnt);
        nn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cnt * g->ow, N, K, 1.0f, col, K, w, N, 0.0f, o, N);
        bias_act(o, b, (size_t)cnt * g->ow, N, relu);
    }
}

/* The weight part of the backward pass, after the bias, a chunk of lines at a time: first
 * dx (n, h, w, c) = col2im(dout . w^T) from w as it is, then dw (K, oc) = dw_beta * dw + dw_alpha *
 * col^T . dout. dw may be w itself (the fused SGD step), which is why every dx chunk comes first. */
static void conv_backward_weights(float *dx, float *dw, float dw_alpha, float dw_beta, float *col,
                                  const float *dout, const float *x, const float *w, const conv_geom *g)
{
    const int K = g->kh * g->kw * g->c, N = g->oc;
    if (conv_is_pointwise(g)) {
        const int P = g->n * g->oh * g->ow;
        if (dx)
            nn_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, K, N, 1.0f, dout, N, w, N, 0.0f, dx, K);
        nn_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, P, dw_alpha, x, K, dout, N, dw_beta, dw, N);
        return;
    }
    const int lines = g->n * g->oh, per = conv_chunk_lines(g);
    const size_t line_out = (size_t)g->ow * N;
    if (dx && conv_use_shift(g)) {
        conv_dx_shift(dx, col, dout, w, g);
    } else if (dx) {
        memset(dx, 0, sizeof(float) * g->n * g->h * g->w * g->c);
        for (int l = 0; l < lines; l += per) {
            const int cnt = lines - l < per ? lines - l : per;
            nn_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cnt * g->ow, K, N, 1.0f, dout + l * line_out, N,
                     w, N, 0.0f, col, K);
            col2im_add_lines(dx, col, g, l, cnt);
        }
    }
    /* The workspace was reused since the forward pass: rebuild the columns, chunk by chunk. */
    const int dper = conv_dw_chunk_lines(g);
    for (int l = 0; l < lines; l += dper) {
        const int cnt = lines - l < dper ? lines - l : dper;
        im2col_lines(col, x, g, l, cnt);
        nn_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, cnt * g->ow, dw_alpha, col, K,
                 dout + l * line_out, N, l == 0 ? dw_beta : 1.0f, dw, N);
    }
}

/* dout: (P, oc); db += column sums; dx = col2im(dout . w^T) (im2col's adjoint); dw (K, oc) += col^T . dout. */
void conv2d_backward(float *dx, float *dw, float *db, float *col, float *dout, const float *out, const float *x,
                     const float *w, const conv_geom *g, int relu)
{
    bias_act_backward(db, dout, out, (size_t)g->n * g->oh * g->ow, g->oc, relu);
    conv_backward_weights(dx, dw, 1.0f, 1.0f, col, dout, x, w, g);
}

/* The SGD step w = keep * w - lr * dL/dw (keep = 1 - lr * decay) applied inside the gemm that computes the
 * gradient, and likewise for b: no gradient block, no separate update pass. */
void conv2d_backward_sgd(float *dx, float *w, float *b, float *db, float *col, float *dout, const float *out,
                         const float *x, const conv_geom *g, int relu, float lr, float keep)
{
    memset(db, 0, sizeof(float) * g->oc);
    bias_act_backward(db, dout, out, (size_t)g->n * g->oh * g->ow, g->oc, relu);
    for (int j = 0; j < g->oc; j++)
        b[j] = keep * b[j] - lr * db[j];
    conv_backward_weights(dx, w, -lr, keep, col, dout, x, w, g);
}

/* The definition, loop by loop: out[n,oy,ox,o] = b[o] + sum_{ky,kx,ci} x[n,iy,ix,ci] * w[ky,kx,ci,o], each sum
 * in double in the order ky, kx, ci. Blocks of output channels are the innermost loop (running sums on the
 * stack: a step allocates nothing) only so that the kernel is read in its stored order: every sum sees its
 * terms in the same order as the plain nest. */
void conv2d_forward_naive(float *out, const float *x, const float *w, const float *b, const conv_geom *g,
                          int relu)
{
    enum { BLOCK = 64 };
    double s[BLOCK];
    for (int n = 0; n < g->n; n++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int o0 = 0; o0 < g->oc; o0 += BLOCK) {
                    int m = g->oc - o0 < BLOCK ? g->oc - o0 : BLOCK;
                    for (int o = 0; o < m; o++)
                        s[o] = b[o0 + o];
                    for (int ky = 0; ky < g->kh; ky++)
                        for (int kx = 0; kx < g->kw; kx++) {
                            int iy = oy * g->stride - g->pad_top + ky;
                            int ix = ox * g->stride - g->pad_left + kx;
                            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w)
                                continue;
                            for (int ci = 0; ci < g->c; ci++) {
                                double xv = x[(((size_t)n * g->h + iy) * g->w + ix) * g->c + ci];
                                const float *wr = w + (((size_t)ky * g->kw + kx) * g->c + ci) * g->oc + o0;
                                for (int o = 0; o < m; o++)
                                    s[o] += xv * wr[o];
                            }
                        }
                    float *orow = out + (((size_t)n * g->oh + oy) * g->ow + ox) * g->oc + o0;
                    for (int o = 0; o < m; o++) {
                        float v = (float)s[o];
                        orow[o] = relu && v < 0.0f ? 0.0f : v;
                    }
                }
}

/* dL/dx (overwritten; NULL: not wanted), dL/dw and dL/db (accumulated) from dout, which the ReLU's mask
 * (from out) zeroes in place. Each accumulator receives its terms in the order of the plain nest over
 * (n, oy, ox, o, ky, kx, ci); the output channel is innermost so the kernel is read in its stored order. */
void conv2d_backward_naive(float *dx, float *dw, float *db, float *dout, const float *out, const float *x,
                           const float *w, const conv_geom *g, int relu)
{
    if (dx)
        memset(dx, 0, sizeof(float) * (size_t)g->n * g->h * g->w * g->c);
    for (int n = 0; n < g->n; n++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                size_t oi = (((size_t)n * g->oh + oy) * g->ow + ox) * g->oc;
                float *d = dout + oi;
                for (int o = 0; o < g->oc; o++) {
                    if (relu && out[oi + o] <= 0.0f)
                        d[o] = 0.0f;
                    db[o] += d[o];
                }
                for (int ky = 0; ky < g->kh; ky++)
                    for (int kx = 0; kx < g->kw; kx++) {
                        int iy = oy * g->stride - g->pad_top + ky;
                        int ix = ox * g->stride - g->pad_left + kx;
                        if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w)
                            continue;
                        for (int ci = 0; ci < g->c; ci++) {
                            size_t xi = (((size_t)n * g->h + iy) * g->w + ix) * g->c + ci;
                            size_t wi = (((size_t)ky * g->kw + kx) * g->c + ci) * g->oc;
                            float xv = x[xi], acc = dx ? dx[xi] : 0.0f;
                            for (int o = 0; o < g->oc; o++) {
                                dw[wi + o] += xv * d[o];
                                acc += w[wi + o] * d[o];
                            }
                            if (dx)
                                dx[xi] = acc;
                        }
                    }
            }
}

/* ---- MaxPooling2D --------------------------------------------------------------------------------- */

/* The models' pooling, 2x2 with stride 2: output rows [r0, r1) of the n * (h / 2) rows, each output the
 * maximum of its window's four pixels taken in row-major order (the general loop's order and comparisons,
 * so the same bits, NaN included). */
static void maxpool2x2_rows(float *out, const float *x, int h, int w, int c, long r0, long r1)
{
    const int oh = h / 2, ow = w / 2, c4 = c & ~3;
    for (long r = r0; r < r1; r++) {
        const long b = r / oh;
        const int oy = (int)(r % oh);
        for (int ox = 0; ox < ow; ox++) {
            float *o = out + ((size_t)r * ow + ox) * c;
            const float *p0 = x + (((size_t)b * h + 2 * oy) * w + 2 * ox) * c, *p1 = p0 + c, *p2 = p0 + (size_t)w * c;
            const float *p3 = p2 + c;
            int ch = 0;
            for (; ch < c4; ch += 4) {
                v4f m = v4_load(p0 + ch);
                m = v4_max(v4_load(p1 + ch), m);
                m = v4_max(v4_load(p2 + ch), m);
                m = v4_max(v4_load(p3 + ch), m);
                v4_store(o + ch, m);
            }
            for (; ch < c; ch++) {
                float m = p0[ch];
                m = p1[ch] > m ? p1[ch] : m;
                m = p2[ch] > m ? p2[ch] : m;
                o[ch] = p3[ch] > m ? p3[ch] : m;
            }
        }
    }
}

/* A pooling pass split by output rows over nn's workers; maps under POOL_SPLIT_FLOATS input floats run on
 * the caller alone (waking the workers would cost more than they save). */
#define POOL_SPLIT_FLOATS (64 * 1024)

typedef struct pool_job {
    float *out, *dx;
    const float *x, *dout;
    int n, h, w, c;
} pool_job;

static void pool_rows(const pool_job *J, int wk, int nw, long *r0, long *r1)
{
    const long rows = (long)J->n * (J->h / 2);
    *r0 = rows * wk / nw;
    *r1 = rows * (wk + 1) / nw;
}

static int pool_workers(const pool_job *J)
{
    return (size_t)J->n * J->h * J->w * J->c < POOL_SPLIT_FLOATS ? 1 : nn_threads();
}

static void pool_forward_task(void *arg, int wk, int nw)
{
    const pool_job *J = arg;
    long r0, r1;
    pool_rows(J, wk, nw, &r0, &r1);
    maxpool2x2_rows(J->out, J->x, J->h, J->w, J->c, r0, r1);
}

/* x: (n, h, w, c) -> out: (n, oh, ow, c), each output the maximum of a size x size window. */
void maxpool2d_forward(float *out, const float *x, int n, int h, int w, int c, int size, int stride)
{
    if (size == 2 && stride == 2) {
        pool_job J = {.out = out, .x = x, .n = n, .h = h, .w = w, .c = c};
        nn_pool_run(pool_forward_task, &J, pool_workers(&J));
        return;
    }
    const int oh = (h - size) / stride + 1, ow = (w - size) / stride + 1;
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                float *o = out + (((size_t)b * oh + oy) * ow + ox) * c;
                const float *first = x + (((size_t)b * h + oy * stride) * w + ox * stride) * c;
                memcpy(o, first, sizeof(float) * c);
                for (int ky = 0; ky < size; ky++)
                    for (int kx = 0; kx < size; kx++) {
                        const float *p = x + (((size_t)b * h + oy * stride + ky) * w + ox * stride + kx) * c;
                        for (int ch = 0; ch < c; ch++)
                            o[ch] = p[ch] > o[ch] ? p[ch] : o[ch];
                    }
            }
}

/* The common 2x2, stride 2 case: each window's four pixels in row-major order, and the gradient g goes to
 * the first one equal to the maximum (what is left of g after a pixel is g - given: exactly g or 0).
 * Windows do not overlap, so each covered pixel is written once; an odd last row or column is zeroed. */
static void maxpool2x2_backward_rows(float *dx, const float *dout, const float *x, int h, int w, int c, long r0,
                                     long r1)
{
    const int oh = h / 2, ow = w / 2, c4 = c & ~3;
    for (long r = r0; r < r1; r++) {
        const long b = r / oh;
        const int oy = (int)(r % oh);
        for (int ox = 0; ox < ow; ox++) {
            const float *d = dout + (((size_t)b * oh + oy) * ow + ox) * c;
            const size_t o0 = (((size_t)b * h + 2 * oy) * w + 2 * ox) * c;
            const size_t off[4] = {o0, o0 + c, o0 + (size_t)w * c, o0 + (size_t)w * c + c};
            int ch = 0;
            for (; ch < c4; ch += 4) {
                v4f p[4], m, g = v4_load(d + ch);
                for (int k = 0; k < 4; k++)
                    p[k] = v4_load(x + off[k] + ch);
                m = v4_max(v4_max(p[0], p[1]), v4_max(p[2], p[3]));
                for (int k = 0; k < 4; k++) {
                    v4f a = v4_select(p[k] == m, g);
                    v4_store(dx + off[k] + ch, a);
                    g -= a;
                }
            }
            for (; ch < c; ch++) {
                float p[4], m, g = d[ch];
                for (int k = 0; k < 4; k++)
                    p[k] = x[off[k] + ch];
                m = p[0];
                for (int k = 1; k < 4; k++)
                    m = p[k] > m ? p[k] : m;
                for (int k = 0; k < 4; k++) {
                    float a = p[k] == m ? g : 0.0f;
                    dx[off[k] + ch] = a;
                    g -= a;
                }
            }
        }
    }
}

static void pool_backward_task(void *arg, int wk, int nw)
{
    const pool_job *J = arg;
    long r0, r1;
    pool_rows(J, wk, nw, &r0, &r1);
    maxpool2x2_backward_rows(J->dx, J->dout, J->x, J->h, J->w, J->c, r0, r1);
}

/* dx (n, h, w, c) = 0, then each dout goes to the first (row-major) maximum of its window in x. */
void maxpool2d_backward(float *dx, const float *dout, const float *x, int n, int h, int w, int c, int size,
                        int stride)
{
    if (size == 2 && stride == 2) {
        if ((h & 1) || (w & 1)) /* the odd last row or column no window covers */
            memset(dx, 0, sizeof(float) * (size_t)n * h * w * c);
        pool_job J = {.dx = dx, .dout = dout, .x = x, .n = n, .h = h, .w = w, .c = c};
        nn_pool_run(pool_backward_task, &J, pool_workers(&J));
        return;
    }
    const int oh = (h - size) / stride + 1, ow = (w - size) / stride + 1;
    memset(dx, 0, sizeof(float) * (size_t)n * h * w * c);
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                const float *d = dout + (((size_t)b * oh + oy) * ow + ox) * c;
                size_t base = (((size_t)b * h + oy * stride) * w + ox * stride) * c;
                for (int ch = 0; ch < c; ch++) {
                    size_t best = base + ch;
                    for (int ky = 0; ky < size; ky++)
                        for (int kx = 0; kx < size; kx++) {
                            size_t i = base + ((size_t)ky * w + kx) * c + ch;
                            if (x[i] > x[best])
                                best = i;
                        }
                    dx[best] += d[ch];
                }
            }
}

/* ---- Dense ---------------------------------------------------------------------------------------- */

void dense_forward(float *out, const float *x, const float *w, const float *b, int n, int in_dim, int out_dim,
                   int relu)
{
    dense_xw(out, x, w, n, in_dim, out_dim);
    bias_act(out, b, (size_t)n, out_dim, relu);
}

void dense_backward(float *dx, float *dw, float *db, float *dout, const float *out, const float *x, const float *w,
                    int n, int in_dim, int out_dim, int relu)
{
    bias_act_backward(db, dout, out, (size_t)n, out_dim, relu);
    if (dw)
        dense_step(dx, dw, w, x, dout, n, in_dim, out_dim, 1.0f, 1.0f);
    else if (dx)
        dense_dyw(dx, dout, w, n, in_dim, out_dim);
}

/* The squared norm of dense_backward's kernel gradient x^T . dout (in_dim, out_dim) for dout as it left it,
 * without the whole gradient: rows of it at a time in ws (ws_floats, at least out_dim), summed in the order
 * a loop over the whole gradient would (each element computed as the full gemm computes it). */
double dense_grad_norm2(const float *dout, const float *x, int n, int in_dim, int out_dim, float *ws,
                        size_t ws_floats)
{
    const int rows = (int)(ws_floats / (size_t)out_dim);
    double sum = 0;
    for (int r0 = 0; r0 < in_dim; r0 += rows) {
        const int m = in_dim - r0 < rows ? in_dim - r0 : rows;
        nn_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, out_dim, n, 1.0f, x + r0, in_dim, dout, out_dim, 0.0f,
                 ws, out_dim);
        for (size_t j = 0; j < (size_t)m * (size_t)out_dim; j++)
            sum += (double)ws[j] * ws[j];
    }
    return sum;
}

void dense_backward_sgd(float *dx, float *w, float *b, float *db, float *dout, const float *out, const float *x,
                        int n, int in_dim, int out_dim, int relu, float lr, float keep)
{
    memset(db, 0, sizeof(float) * out_dim);
    bias_act_backward(db, dout, out, (size_t)n, out_dim, relu);
    for (int j = 0; j < out_dim; j++)
        b[j] = keep * b[j] - lr * db[j];
    /* dx from the weights before the step, then the step inside the gradient's product. */
    dense_step(dx, w, w, x, dout, n, in_dim, out_dim, -lr, keep);
}

/* ---- Softmax and categorical cross-entropy -------------------------------------------------------- */

void softmax_forward(float *probs, const float *logits, int n, int classes)
{
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * classes;
        float *p = probs + (size_t)i * classes;
        float mx = z[0];
        for (int j = 1; j < classes; j++)
            mx = z[j] > mx ? z[j] : mx;
        double sum = 0.0;
        for (int j = 0; j < classes; j++) {
            p[j] = expf(z[j] - mx);
            sum += p[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < classes; j++)
            p[j] *= inv;
    }
}

int crossentropy_stats(step_stats *stats, const float *probs, const int *y, int n, int classes)
{
    const float eps = 1e-7f;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * classes;
        int best = 0;
        double se = 0.0;
        for (int j = 0; j < classes; j++) {
            if (!isfinite(p[j]))
                bad = 1;
            if (p[j] > p[best])
                best = j;
            double t = (j == y[i] ? 1.0 : 0.0) - p[j];
            se += t * t;
        }
        int above = 0;
        for (int j = 0; j < classes; j++)
            above += p[j] > p[y[i]];
        stats->correct5 += above < 5;
        float pt = p[y[i]];
        pt = pt < eps ? eps : pt > 1.0f - eps ? 1.0f - eps : pt;
        double loss = -log((double)pt);
        if (!isfinite(loss))
            bad = 1;
        stats->loss_sum += loss;
        stats->mse_sum += se / classes;
        stats->correct += best == y[i];
    }
    stats->n += n;
    return bad;
}

void softmax_crossentropy_backward(float *dlogits, const float *probs, const int *y, int n, int classes)
{
    const float scale = 1.0f / (float)n;
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * classes;
        float *d = dlogits + (size_t)i * classes;
        for (int j = 0; j < classes; j++)
            d[j] = (p[j] - (j == y[i] ? 1.0f : 0.0f)) * scale;
    }
}

/* ---- global pooling ------------------------------------------------------------------------------- */

void global_avgpool_forward(float *out, const float *x, int n, int h, int w, int c)
{
    const int hw = h * w;
    for (int b = 0; b < n; b++) {
        float *o = out + (size_t)b * c;
        for (int ch = 0; ch < c; ch++)
            o[ch] = 0.0f;
        for (int p = 0; p < hw; p++) {
            const float *px = x + ((size_t)b * hw + p) * c;
            for (int ch = 0; ch < c; ch++)
                o[ch] += px[ch];
        }
        for (int ch = 0; ch < c; ch++)
            o[ch] /= (float)hw;
    }
}

void global_avgpool_backward(float *dx, const float *dout, int n, int h, int w, int c)
{
    const int hw = h * w;
    for (int b = 0; b < n; b++)
        for (int p = 0; p < hw; p++) {
            float *d = dx + ((size_t)b * hw + p) * c;
            for (int ch = 0; ch < c; ch++)
                d[ch] = dout[(size_t)b * c + ch] / (float)hw;
        }
}

void global_maxpool_forward(float *out, const float *x, int n, int h, int w, int c)
{
    const int hw = h * w;
    for (int b = 0; b < n; b++) {
        float *o = out + (size_t)b * c;
        memcpy(o, x + (size_t)b * hw * c, sizeof(float) * c);
        for (int p = 1; p < hw; p++) {
            const float *px = x + ((size_t)b * hw + p) * c;
            for (int ch = 0; ch < c; ch++)
                o[ch] = px[ch] > o[ch] ? px[ch] : o[ch];
        }
    }
}

void global_maxpool_backward(float *dx, const float *dout, const float *x, int n, int h, int w, int c)
{
    const int hw = h * w;
    memset(dx, 0, sizeof(float) * (size_t)n * hw * c);
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            size_t best = (size_t)b * hw * c + ch;
            for (int p = 1; p < hw; p++) {
                size_t i = ((size_t)b * hw + p) * c + ch;
                if (x[i] > x[best])
                    best = i;
            }
            dx[best] += dout[(size_t)b * c + ch];
        }
}
