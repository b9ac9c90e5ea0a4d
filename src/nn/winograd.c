/* winograd: the "winograd" convolution backend, 3x3 stride-1 'same' convolutions by Winograd's minimal
 * filtering algorithms F(2x2, 3x3), F(3x3, 3x3) and F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2016), on the model's NHWC tensors, for machines where oneDNN has none (oneDNN 2.x
 * offers Winograd only with AVX-512).
 *
 * An output tile of m x m pixels (m = 2, 3 or 4) comes from an input tile of a x a (a = m + 2):
 *   Y = A^T [ (G g G^T) (.) (B^T d B) ] A      per channel pair, (.) elementwise over the a x a points
 * so with U = G g G^T (the kernel, per input and output channel) and V = B^T d B (the input, per tile and
 * channel), each of the a*a points xi is one matrix product over channels, M[xi] = V[xi] U[xi]: a*a sgemm
 * calls replace the 9 taps of a direct convolution, 9 m^2 / a^2 = 2.25x (m = 2), 3.24x (m = 3) or 4x (m = 4) fewer
 * multiply-adds, for transforms that are passes over memory.
 *
 * Backward is the exact adjoint of that forward: dM = A dY A^T, then dU[xi] = V[xi]^T dM[xi] (summed over
 * tiles) and dg = G^T dU G for the kernel, dV[xi] = dM[xi] U[xi]^T and dd = B dV B^T (added over the
 * overlapping input tiles) for the input.
 *
 * The transformed kernel U is the layer's own and is kept while the model's weights generation stays the
 * same (conv_layer.wgen): computed once per training step for forward and backward, and once for a whole
 * inference pass.
 *
 * Work is split by images over nn's workers (src/nn/pool.c). Each worker takes its images a chunk at a
 * time, a chunk's tiles small enough that its V and M stay in cache between the transforms and the
 * gemms, and calls sgemm single-threaded (OpenBLAS is set to one thread for the duration, under the lock
 * that keeps other threads' sgemm calls and thread counts out meanwhile: nn_blas_single_begin). Where the CPU
 * has AVX2 and FMA and the layer's input at most SIMD_MAX_CHANNELS channels, the forward's products are
 * the backend's own (points_simd): OpenBLAS would pack both operands and clear the result at every call,
 * a fifth of the layer's time at 32 to 64 channels, while this kernel reads V as the transform left it
 * and U from a copy blocked once per weights generation, in chunks of tiles that fit the L2 cache. The
 * input gradient's products (dV = dM U^T) take the same kernel where the layer has at most
 * SIMD_MAX_CHANNELS output channels, with U transposed and blocked; the kernel gradient's (a sum over
 * tiles) stay with OpenBLAS. Above SIMD_MAX_CHANNELS both ways, F(3x3)'s forward (the small maps of the
 * deep layers) also takes the own kernel, over every tile of the batch at once (a big plan, see
 * winograd_internal.h), U blocked in the workspace, and on 3x3 maps its kernel gradient too, in one pass
 * into the weights (fused_grad_task). The kernel gradient is summed per worker and added up at the end, in
 * a fixed order: a run is repeatable at a fixed thread count. With mixed_bfloat16 (the f2-bf16 variant) every
 * product runs in bfloat16 instead, in src/nn/winograd_bf16.c's kernels. Shapes:
 *   x (n, h, w, c), out and dout (n, h, w, k), kernel (3, 3, c, k) (Keras), U and dU (a*a, c, k),
 *   a chunk's V (tiles, a*a, c) and M (tiles, a*a, k). */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"
#include "winograd_bf16.h"
#include "winograd_internal.h"

/* The file is compiled three times: as itself, the portable backend (SSE-width transforms, every product
 * through OpenBLAS); as src/nn/winograd_avx2.c, which defines WINO_ISA as NN_ISA_AVX2 and is compiled with AVX2
 * and FMA: eight-channel transforms and, up to SIMD_MAX_CHANNELS channels, its own product kernel; and as
 * src/nn/winograd_avx512.c (NN_ISA_AVX512, compiled with AVX-512F): sixteen-channel transforms and the product
 * kernel on 512-bit registers. src/nn/winograd_plan.c plans a layer, holds the backend's row and passes the
 * layer to the copy its plan names (nn_isa, src/nn/isa.c). */
#ifndef WINO_ISA
#define WINO_ISA NN_ISA_PORTABLE
#endif
#if WINO_ISA == NN_ISA_AVX512
#include <immintrin.h>
#define VL 16
#define KB KB_AVX512
#elif WINO_ISA == NN_ISA_AVX2
#include <immintrin.h>
#define VL 8
#define KB KB_AVX2
#else
#define VL 4
#define KB KB_AVX2 /* unused: the portable copy has no own kernel */
#endif

#include "winograd_tf.h"

/* ---- a layer's passes ------------------------------------------------------------------------------- */

/* What a task of the pool needs: the layer, its plan, the tensors and the workspace. */
typedef struct wino_job {
    const conv_layer *cl;
    const wino_plan *p;
    const float *x, *w, *b, *dout, *out;
    float *y, *dx, *ws;
    float *U, *Up, *Ut; /* the kernel's forms this pass reads (kernel_ready); NULL: not this pass's */
    int n;
    int used[NN_WORKERS_MAX];       /* backward: the workers whose dU holds a part of the kernel gradient */
    int lo[NN_WORKERS_MAX], hi[NN_WORKERS_MAX]; /* backward: each worker's share of the images */
} wino_job;

static float *ws_du(const wino_job *J, int wk) { return J->ws + (size_t)wk * J->p->u; }
/* U (float32; bf16 plans have only its packed forms): the plan's own, or (u_in_ws) its place after the
 * workers' chunks. */
static float *ws_u(const wino_job *J)
{
    const wino_plan *p = J->p;
    return p->u_in_ws ? J->ws + (size_t)p->workers * (p->u + p->kpad + p->chunk) : p->U;
}
static float *ws_db(const wino_job *J, int wk) { return J->ws + J->p->u * (size_t)J->p->workers + (size_t)wk * J->p->kpad; }
static float *ws_chunk(const wino_job *J, int wk)
{
    const wino_plan *p = J->p;
    return J->ws + p->u * (size_t)p->workers + (size_t)p->workers * p->kpad + (size_t)wk * p->chunk;
}
/* When every worker's images fit one chunk (the deep layers' small maps), the workers' chunks are laid end to
 * end instead: one V of every tile of the batch (tile T = image * th * tw + its place), then one M (or dM),
 * so that a point's product takes every tile in one call. Worker wk's first tile of V and of M. */
static float *oc_v(const wino_job *J, int wk)
{
    const wino_plan *p = J->p;
    return ws_chunk(J, 0) + (size_t)J->lo[wk] * p->th * p->tw * p->f->a * p->f->a * J->cl->g.c;
}
static float *oc_m(const wino_job *J, int wk)
{
    const wino_plan *p = J->p;
    const size_t a2 = (size_t)p->f->a * p->f->a, per_image = (size_t)p->th * p->tw;
    const size_t v_all = (size_t)p->workers * p->ipc * J->cl->g.c; /* V's room: every worker's chunk of tiles */
    return ws_chunk(J, 0) + a2 * per_image * (v_all + (size_t)J->lo[wk] * J->cl->g.oc);
}
#if WINO_ISA == NN_ISA_AVX512
/* bf16: a worker's V and dM in pairs of tiles (wbf_pair_tiles) for the kernel gradient, after the chunks. */
static uint32_t *ws_pairs(const wino_job *J, int wk)
{
    const wino_plan *p = J->p;
    return (uint32_t *)(J->ws + (size_t)p->workers * (p->u + p->kpad + p->chunk) + (size_t)wk * p->pchunk);
}
#endif

/* The pixels of tile r (row-major over th x tw) of an image (h, w, c) at base, from its corner y0, x0 =
 * (tile position) * m - pad: side x side pointers, NULL outside the image. */
static void tile_pixels(const float **px, const float *base, int h, int w, int c, int y0, int x0, int side)
{
    for (int p = 0; p < side; p++)
        for (int q = 0; q < side; q++) {
            const int y = y0 + p, x = x0 + q;
            px[p * side + q] = y >= 0 && y < h && x >= 0 && x < w ? base + ((size_t)y * w + x) * c : NULL;
        }
}

/* U (a*a, c, k) for the input channels of this worker's share. */
static void kernel_task(void *arg, int wk, int nw)
{
    const wino_job *J = arg;
    const conv_geom *g = &J->cl->g;
    const wino_plan *p = J->p;
    const size_t CK = (size_t)g->c * g->oc, CKp = (size_t)g->c * p->kp, CKt = p->cp * g->oc;
    int c0, c1;
    share(g->c, wk, nw, &c0, &c1);
    for (int c = c0; c < c1; c++)
        for (int k0 = 0; k0 < g->oc; k0 += VL) {
            const int nk = g->oc - k0 < VL ? g->oc - k0 : VL;
            const size_t at = (size_t)c * g->oc + k0;
            float *up = J->Up ? J->Up + (size_t)(k0 / KB) * g->c * KB + (size_t)c * KB + k0 % KB : NULL;
            float *ut = J->Ut ? J->Ut + (size_t)(c / KB) * g->oc * KB + (size_t)k0 * KB + c % KB : NULL;
            DISPATCH(p->f, nk, kernel_in, J->U ? J->U + at : NULL, up, ut, J->w + at, CK, CKp, CKt);
        }
}

/* Big plans' forward: Up (a*a, k / KB, c, KB) from the kernel, each worker a share of the column blocks,
 * written row after row: a*a streams, each going forward (in kernel_task's order, c outer, the writes jump
 * from block to block, 16 blocks of every point at 512 channels, and took three times as long). */
static void blocked_task(void *arg, int wk, int nw)
{
    const wino_job *J = arg;
    const conv_geom *g = &J->cl->g;
    const size_t CK = (size_t)g->c * g->oc;
    int b0, b1;
    share(g->oc / KB, wk, nw, &b0, &b1);
    for (int b = b0; b < b1; b++)
        for (int c = 0; c < g->c; c++)
            for (int k = b * KB; k < (b + 1) * KB; k += VL)
                DISPATCH(J->p->f, VL, kernel_in, NULL, J->Up + ((size_t)b * g->c + c) * KB + k % KB, NULL,
                         J->w + (size_t)c * g->oc + k, CK, CK, 0);
}

/* Tiles t0..t0+cnt-1 of x (counted over the images, row-major in each) into V (tiles, a*a, c). */
static void tiles_in(const wino_job *J, float *V, long t0, int cnt)
{
    const conv_geom *g = &J->cl->g;
    const wino_plan *p = J->p;
    const int per_image = p->th * p->tw, m = p->f->m, a = p->f->a;
    const size_t tile = (size_t)a * a * g->c;
    for (int t = 0; t < cnt; t++) {
        const long T = t0 + t;
        const int r = (int)(T % per_image);
        const float *px[36];
        tile_pixels(px, J->x + (size_t)(T / per_image) * g->h * g->w * g->c, g->h, g->w, g->c,
                    (r / p->tw) * m - g->pad_top, (r % p->tw) * m - g->pad_left, a);
        for (int c0 = 0; c0 < g->c; c0 += VL) {
            const int nc = g->c - c0 < VL ? g->c - c0 : VL;
            DISPATCH(p->f, nc, tile_in, V + t * tile + c0, (size_t)g->c, px, c0);
        }
    }
}

/* Every tile of images n0..n0+cnt-1 of x into V. */
static void chunk_in(const wino_job *J, float *V, int n0, int cnt)
{
    const long per_image = (long)J->p->th * J->p->tw;
    tiles_in(J, V, n0 * per_image, (int)(cnt * per_image));
}

#if WINO_ISA != NN_ISA_PORTABLE
/* The register of the copy's own kernel (VL floats) and its four operations. */
#if WINO_ISA == NN_ISA_AVX512
typedef __m512 vreg;
#define VR_ZERO _mm512_setzero_ps
#define VR_LOAD _mm512_loadu_ps
#define VR_STORE _mm512_storeu_ps
#define VR_FMA_BROADCAST(s, p, b) _mm512_fmadd_ps(_mm512_set1_ps(*(p)), b, s)
#else
typedef __m256 vreg;
#define VR_ZERO _mm256_setzero_ps
#define VR_LOAD _mm256_loadu_ps
#define VR_STORE _mm256_storeu_ps
#define VR_FMA_BROADCAST(s, p, b) _mm256_fmadd_ps(_mm256_broadcast_ss(p), b, s)
#endif

/* o[i][0..nk) = sum over c < C of a[i][c] * u[c * KB + 0..nk), for the rows i < nr (nr <= 6, nk <= KB =
 * 2 VL): one point's products for six tiles and a block of KB output channels, in twelve registers, each
 * step two loads of u and six broadcasts for twelve FMAs. Rows past nr are read (a[] points them at a real
 * row) but not written. */
static void rows6(int C, const float *const *a, const float *u, float *const *o, int nr, int nk)
{
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5];
    vreg s00 = VR_ZERO(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00, s40 = s00,
         s41 = s00, s50 = s00, s51 = s00;
    for (int c = 0; c < C; c++, u += KB) {
        const vreg b0 = VR_LOAD(u), b1 = VR_LOAD(u + VL);
#define ROW(i)                                                                                                    \
    s##i##0 = VR_FMA_BROADCAST(s##i##0, a##i + c, b0);                                                          \
    s##i##1 = VR_FMA_BROADCAST(s##i##1, a##i + c, b1);
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
    }
    const vreg s[6][2] = {{s00, s01}, {s10, s11}, {s20, s21}, {s30, s31}, {s40, s41}, {s50, s51}};
    float part[KB];
    for (int i = 0; i < nr; i++) {
        float *dst = nk == KB ? o[i] : part; /* the last block of a layer may be partial */
        VR_STORE(dst, s[i][0]);
        VR_STORE(dst + VL, s[i][1]);
        if (nk < KB)
            memcpy(o[i], part, sizeof(float) * (size_t)nk);
    }
}
#endif

#if WINO_ISA != NN_ISA_PORTABLE
/* M[t][xi] (k floats) = V[t][xi] (c floats) U[xi] for every tile t < tiles and point x0 <= xi < x1 of a chunk,
 * U as the blocked Up (a2, kp / KB, c, KB): the forward's products without OpenBLAS, which would pack V and
 * U at every call and clear M first (at 32 to 64 channels, a fifth of the layer's time). */
static void points_simd(const float *V, const float *Up, float *M, int tiles, int x0, int x1, int a2, int C, int K,
                        int kp)
{
    const size_t vrow = (size_t)a2 * C, mrow = (size_t)a2 * K;
    for (int xi = x0; xi < x1; xi++)
        for (int k0 = 0; k0 < K; k0 += KB) {
            const float *u = Up + ((size_t)xi * kp + k0) * C;
            const int nk = K - k0 < KB ? K - k0 : KB;
            for (int t = 0; t < tiles; t += 6) {
                const int nr = tiles - t < 6 ? tiles - t : 6;
                const float *a[6];
                float *o[6];
                for (int i = 0; i < 6; i++) {
                    const int row = t + (i < nr ? i : nr - 1);
                    a[i] = V + row * vrow + (size_t)xi * C;
                    o[i] = M + row * mrow + (size_t)xi * K + k0;
                }
                rows6(C, a, u, o, nr, nk);
            }
        }
}
#endif

/* Points x0..x1-1 of those products through OpenBLAS. */
static void sgemm_points(const wino_job *J, int transposed, const float *in, float *out, int tiles, int x0, int x1)
{
    const int a2 = J->p->f->a * J->p->f->a, C = J->cl->g.c, K = J->cl->g.oc;
    const int depth = transposed ? K : C, width = transposed ? C : K;
    for (int xi = x0; xi < x1; xi++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposed ? CblasTrans : CblasNoTrans, tiles, width, depth, 1.0f,
                    in + (size_t)xi * depth, a2 * depth, J->U + (size_t)xi * C * K, K, 0.0f,
                    out + (size_t)xi * width, a2 * width);
}

/* The a*a products of a chunk's tiles with the kernel: the forward's M[t][xi] = V[t][xi] U[xi] (k floats
 * from c), or (transposed) the input gradient's dV[t][xi] = dM[t][xi] U[xi]^T (c floats from k); with the
 * own kernel (own, AVX2 copy only) on U's blocked copy for that direction, else through OpenBLAS. */
static void products(const wino_job *J, int own, int transposed, const float *in, float *out, int tiles)
{
    const wino_plan *p = J->p;
    const int a2 = p->f->a * p->f->a;
#if WINO_ISA != NN_ISA_PORTABLE
    const int depth = transposed ? J->cl->g.oc : J->cl->g.c, width = transposed ? J->cl->g.c : J->cl->g.oc;
#endif
#if WINO_ISA == NN_ISA_AVX512
    if (p->bf16) { /* in is in bfloat16 already (wbf_to_bf16) */
        wbf_points((const uint32_t *)in, transposed ? p->Utb : p->Ub, out, tiles, a2, depth, width);
        return;
    }
#endif
#if WINO_ISA != NN_ISA_PORTABLE
    if (own) {
        points_simd(in, transposed ? J->Ut : J->Up, out, tiles, 0, a2, a2, depth, width,
                    (int)(transposed ? p->cp : p->kp));
        return;
    }
#else
    (void)own;
#endif
    sgemm_points(J, transposed, in, out, tiles, 0, a2);
}

/* Tiles t0..t0+cnt-1 (counted over the images) of the output from their products M (cnt, a*a, k): bias,
 * ReLU and the output transform. */
static void tiles_out(const wino_job *J, const float *M, long t0, int cnt)
{
    const conv_geom *g = &J->cl->g;
    const wino_plan *p = J->p;
    const int a2 = p->f->a * p->f->a, m = p->f->m, per_image = p->th * p->tw;
    for (int t = 0; t < cnt; t++) {
        const long T = t0 + t;
        const int r = (int)(T % per_image);
        float *px[16];
        tile_pixels((const float **)px, J->y + (size_t)(T / per_image) * g->oh * g->ow * g->oc, g->oh, g->ow, g->oc,
                    (r / p->tw) * m, (r % p->tw) * m, m);
        const float *src = M + (size_t)t * a2 * g->oc;
        for (int k0 = 0; k0 < g->oc; k0 += VL) {
            const int nk = g->oc - k0 < VL ? g->oc - k0 : VL;
            DISPATCH(p->f, nk, tile_out, px, src + k0, (size_t)g->oc, J->b, J->cl->relu, k0);
        }
    }
}

/* Forward, chunk by chunk of the worker's share of the tiles: V, the products M, then the output tiles. */
static void forward_task(void *arg, int wk, int nw)
{
    const wino_job *J = arg;
    const conv_geom *g = &J->cl->g;
    const wino_plan *p = J->p;
    const int a2 = p->f->a * p->f->a, per_image = p->th * p->tw;
    int lo, hi;
    share(J->n, wk, nw, &lo, &hi);
    float *V = ws_chunk(J, wk);
#if WINO_ISA != NN_ISA_PORTABLE
    const int own = p->own;
#else
    const int own = 0;
#endif
    const int step = own ? p->ftiles : p->ipc * per_image;
    for (long t0 = (long)lo * per_image; t0 < (long)hi * per_image; t0 += step) {
        const int tiles = (long)hi * per_image - t0 < step ? (int)((long)hi * per_image - t0) : step;
        float *M = V + (size_t)a2 * tiles * g->c;
        tiles_in(J, V, t0, tiles);
#if WINO_ISA == NN_ISA_AVX512
        if (p->bf16)
            wbf_to_bf16(V, (size_t)a2 * tiles * g->c);
#endif
        products(J, own, 0, V, M, tiles);
        tiles_out(J, M, t0, tiles);
    }
}

/* Worker wk's images' tiles in the one layout: the count (0: it has none) and the first (*t0). */
static int one_chunk_tiles(const wino_job *J, int wk, long *t0)
{
    const long per_image = (long)J->p->th * J->p->tw;
    *t0 = J->lo[wk] * per_image;
    return (int)((J->hi[wk] - J->lo[wk]) * per_image);
}

/* Worker wk's share of the points, over every tile of the batch: the forward's M = V U, or (transposed) the
 * input gradient's dV = dM U^T, in place of V. */
static void one_chunk_points(const wino_job *J, int wk, int nw, int transposed)
{
    const wino_plan *p = J->p;
    const int a2 = p->f->a * p->f->a, tiles = J->n * p->th * p->tw;
    int x0, x1;
    share(a2, wk, nw, &x0, &x1);
    float *V = oc_v(J, 0), *M = oc_m(J, 0);
#if WINO_ISA != NN_ISA_PORTABLE
    if (p->big && !transposed) {
        points_simd(V, J->Up, M, tiles, x0, x1, a2, J->cl->g.c, J->cl->g.oc, (int)p->kp);
        return;
    }
#endif
    sgemm_points(J, transposed, transposed ? M : V, transposed ? V : M, tiles, x0, x1);
}

/* Forward when every worker's images fit one chunk and OpenBLAS multiplies (deep layers, small maps): the
 * workers transform their images into the one V (one_chunk_in), split the a*a products between them, each
 * over every tile of the batch (one_chunk_products), and write their images' outputs (one_chunk_out).
 * OpenBLAS packs a point's U (c x k) at every call: once a point instead of once a worker and a point, and
 * twice the rows a call (block5 of vgg16 at 48x48, 32 tiles, 25 points at 512 channels, one core: 63
 * GFLOP/s in one call against 48 in two of 16 tiles). */
static void one_chunk_in(void *arg, int wk, int nw)
{
    wino_job *J = arg;
    share(J->n, wk, nw, &J->lo[wk], &J->hi[wk]);
    long t0;
    const int cnt = one_chunk_tiles(J, wk, &t0);
    if (cnt > 0)
        tiles_in(J, oc_v(J, wk), t0, cnt);
}

static void one_chunk_products(void *arg, int wk, int nw) { one_chunk_points(arg, wk, nw, 0); }

static void one_chunk_out(void *arg, int wk, int nw)
{
    (void)nw;
    long t0;
    const int cnt = one_chunk_tiles(arg, wk, &t0);
    if (cnt > 0)
        tiles_out(arg, oc_m(arg, wk), t0, cnt);
}

/* dM (tiles, a*a, k) of images n0..n0+cnt-1 from the output gradient (masked by the ReLU), and its sums
 * over the pixels added to db. */
static void chunk_out_adjoint(const wino_job *J, float *dM, float *db, int n0, int cnt)
{
    const conv_geom *g = &J->cl->g;
    const wino_plan *p = J->p;
    const int a2 = p->f->a * p->f->a, m = p->f->m, per_image = p->th * p->tw;
    for (int t = 0; t < cnt * per_image; t++) {
        const int r = t % per_image;
        const size_t img = (size_t)(n0 + t / per_image) * g->oh * g->ow * g->oc;
        const float *dy[16], *out[16];
        const int y0 = (r / p->tw) * m, x0 = (r % p->tw) * m;
        tile_pixels(dy, J->dout + img, g->oh, g->ow, g->oc, y0, x0, m);
        tile_pixels(out, J->out + img, g->oh, g->ow, g->oc, y0, x0, m);
        float *dst = dM + (size_t)t * a2 * g->oc;
        for (int k0 = 0; k0 < g->oc; k0 += VL) {
            const int nk = g->oc - k0 < VL ? g->oc - k0 : VL;
            vf s = vload(db + k0, VL);
            DISPATCH(p->f, nk, tile_out_adjoint, dst + k0, (size_t)g->oc, &s, dy, out, J->cl->relu, k0);
            vstore(db + k0, s, VL);
        }
    }
}

/* Tiles t0..t0+cnt-1 (counted over the images) of the input gradient from their dV (cnt, a*a, c): B dV B^T
 * added into dx. */
static void tiles_in_adjoint(const wino_job *J, const float *dV, long t0, int cnt)
{
    const conv_geom *g = &J->cl->g;
    const wino_plan *p = J->p;
    const int a2 = p->f->a * p->f->a, m = p->f->m, a = p->f->a, per_image = p->th * p->tw;
    for (int t = 0; t < cnt; t++) {
        const long T = t0 + t;
        const int r = (int)(T % per_image);
        float *px[36];
        tile_pixels((const float **)px, J->dx + (size_t)(T / per_image) * g->h * g->w * g->c, g->h, g->w, g->c,
                    (r / p->tw) * m - g->pad_top, (r % p->tw) * m - g->pad_left, a);
        const float *src = dV + (size_t)t * a2 * g->c;
        for (int c0 = 0; c0 < g->c; c0 += VL) {
            const int nc = g->c - c0 < VL ? g->c - c0 : VL;
            DISPATCH(p->f, nc, tile_in_adjoint, px, src + c0, (size_t)g->c, c0);
        }
    }
}

/* The input gradient of images n0..n0+cnt-1: dV = dM U^T over V (its last use was the kernel gradient),
 * then B dV B^T added into dx. */
static void chunk_dgrad(const wino_job *J, float *V, float *dM, int n0, int cnt)
{
    const conv_geom *g = &J->cl->g;
    const wino_plan *p = J->p;
    const int a2 = p->f->a * p->f->a, per_image = p->th * p->tw, tiles = cnt * per_image;
#if WINO_ISA != NN_ISA_PORTABLE
    const int own = p->own_dx;
#else
    const int own = 0;
#endif
    /* With the own kernel, the products and the adjoint transform go a cache-sized part of the chunk at a
     * time; OpenBLAS takes the whole chunk's products first. */
    const int step = own ? p->ftiles : tiles;
    /* bf16: dM in bfloat16, in place, half a float a number. */
    const size_t dm_tile = p->bf16 ? (size_t)a2 * g->oc / 2 : (size_t)a2 * g->oc;
#if WINO_ISA == NN_ISA_AVX512
    if (p->bf16)
        wbf_to_bf16(dM, (size_t)tiles * a2 * g->oc);
#endif
    for (int t0 = 0; t0 < tiles; t0 += step) {
        const int part = tiles - t0 < step ? tiles - t0 : step;
        float *Vp = V + (size_t)t0 * a2 * g->c;
        const float *dMp = dM + (size_t)t0 * dm_tile;
        products(J, own, 1, dMp, Vp, part);
        tiles_in_adjoint(J, Vp, (long)n0 * per_image + t0, part);
    }
}

/* The start of a worker's backward: its share [lo, hi) of the images, its bias-gradient sum cleared and
 * its part of dx zeroed. */
static void backward_start(wino_job *J, int wk, int nw)
{
    const conv_geom *g = &J->cl->g;
    share(J->n, wk, nw, &J->lo[wk], &J->hi[wk]);
    const int lo = J->lo[wk], hi = J->hi[wk];
    memset(ws_db(J, wk), 0, sizeof(float) * J->p->kpad);
    if (J->dx && lo < hi)
        memset(J->dx + (size_t)lo * g->h * g->w * g->c, 0, sizeof(float) * (size_t)(hi - lo) * g->h * g->w * g->c);
}

/* Backward chunk by chunk: each worker sums the kernel gradient of its images into its own dU. */
static void backward_task(void *arg, int wk, int nw)
{
    wino_job *J = arg;
    const conv_geom *g = &J->cl->g;
    const wino_plan *p = J->p;
    const int a2 = p->f->a * p->f->a, per_image = p->th * p->tw;
    backward_start(J, wk, nw);
    const int lo = J->lo[wk], hi = J->hi[wk];
    float *V = ws_chunk(J, wk), *dU = ws_du(J, wk), *db = ws_db(J, wk);
    J->used[wk] = lo < hi;
    for (int n0 = lo; n0 < hi; n0 += p->ipc) {
        const int cnt = hi - n0 < p->ipc ? hi - n0 : p->ipc, tiles = cnt * per_image;
        float *dM = V + (size_t)a2 * tiles * g->c;
        chunk_in(J, V, n0, cnt);
        chunk_out_adjoint(J, dM, db, n0, cnt);
        const float beta = n0 == lo ? 0.0f : 1.0f;
#if WINO_ISA == NN_ISA_AVX512
        if (p->bf16) {
            uint32_t *VP = ws_pairs(J, wk), *DP = VP + (size_t)a2 * ((tiles + 1) / 2) * g->c;
            wbf_pair_tiles(V, tiles, a2, g->c, VP);
            wbf_pair_tiles(dM, tiles, a2, g->oc, DP);
            wbf_kernel_grad(VP, DP, dU, (tiles + 1) / 2, 0, a2, g->c, g->oc, beta != 0.0f);
        } else
#endif
        for (int xi = 0; xi < a2; xi++)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g->c, g->oc, tiles, 1.0f, V + (size_t)xi * g->c,
                        a2 * g->c, dM + (size_t)xi * g->oc, a2 * g->oc, beta, dU + (size_t)xi * g->c * g->oc, g->oc);
        if (J->dx)
            chunk_dgrad(J, V, dM, n0, cnt);
    }
}

/* Backward when every worker's images fit one chunk (the small maps of the deep layers, where a chunk's
 * tiles are few and the kernel gradient, a*a c x k floats, is large): the workers first transform their
 * images and output gradients (one_chunk_start), then split the a*a kernel-gradient products between them,
 * each over every tile of the batch, into one dU (one_chunk_kernel), then take the input gradient
 * (one_chunk_input, or one_chunk_dv and one_chunk_dx). One dU, written once and read once, instead of one
 * per worker added up. */
static void one_chunk_start(void *arg, int wk, int nw)
{
    wino_job *J = arg;
    backward_start(J, wk, nw);
    const int lo = J->lo[wk], hi = J->hi[wk];
    if (lo < hi) {
        float *V = oc_v(J, wk), *dM = oc_m(J, wk);
        chunk_in(J, V, lo, hi - lo);
        chunk_out_adjoint(J, dM, ws_db(J, wk), lo, hi - lo);
#if WINO_ISA == NN_ISA_AVX512
        const wino_plan *p = J->p;
        const size_t tiles = (size_t)(hi - lo) * p->th * p->tw, a2 = (size_t)p->f->a * p->f->a;
        if (p->bf16) {
            uint32_t *VP = ws_pairs(J, wk);
            wbf_pair_tiles(V, (int)tiles, (int)a2, J->cl->g.c, VP);
            wbf_pair_tiles(dM, (int)tiles, (int)a2, J->cl->g.oc, VP + a2 * ((tiles + 1) / 2) * J->cl->g.c);
        }
#endif
    }
    J->used[wk] = wk == 0; /* the one dU is worker 0's */
}

static void one_chunk_kernel(void *arg, int wk, int nw)
{
    wino_job *J = arg;
    const conv_geom *g = &J->cl->g;
    const wino_plan *p = J->p;
    const int a2 = p->f->a * p->f->a;
    float *dU = ws_du(J, 0);
    int x0, x1;
    share(a2, wk, nw, &x0, &x1);
#if WINO_ISA == NN_ISA_AVX512
    if (p->bf16) { /* each worker's pairs of tiles in turn, in a fixed order */
        for (int xi = x0; xi < x1; xi++) {
            int added = 0;
            for (int q = 0; q < p->workers; q++) {
                const int pairs = ((J->hi[q] - J->lo[q]) * p->th * p->tw + 1) / 2;
                if (pairs == 0)
                    continue;
                const uint32_t *VP = ws_pairs(J, q);
                wbf_kernel_grad(VP, VP + (size_t)a2 * pairs * g->c, dU, pairs, xi, xi + 1, g->c, g->oc, added);
                added = 1;
            }
            if (!added) /* no images at all */
                memset(dU + (size_t)xi * g->c * g->oc, 0, sizeof(float) * g->c * g->oc);
        }
        return;
    }
#endif
    const float *V = oc_v(J, 0), *dM = oc_m(J, 0);
    for (int xi = x0; xi < x1; xi++) /* every tile of the batch in one call */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g->c, g->oc, J->n * p->th * p->tw, 1.0f,
                    V + (size_t)xi * g->c, a2 * g->c, dM + (size_t)xi * g->oc, a2 * g->oc, 0.0f,
                    dU + (size_t)xi * g->c * g->oc, g->oc);
}

/* The input gradient: each worker its images' (the own kernels, bfloat16), or, where OpenBLAS multiplies,
 * the products split by points over every tile (one_chunk_dv) and then each worker its images' transforms
 * (one_chunk_dx), as in the forward. */
static void one_chunk_input(void *arg, int wk, int nw)
{
    (void)nw;
    wino_job *J = arg;
    const int lo = J->lo[wk], hi = J->hi[wk];
    if (lo < hi)
        chunk_dgrad(J, oc_v(J, wk), oc_m(J, wk), lo, hi - lo);
}

static void one_chunk_dv(void *arg, int wk, int nw) { one_chunk_points(arg, wk, nw, 1); }

static void one_chunk_dx(void *arg, int wk, int nw)
{
    (void)nw;
    long t0;
    const int cnt = one_chunk_tiles(arg, wk, &t0);
    if (cnt > 0)
        tiles_in_adjoint(arg, oc_v(arg, wk), t0, cnt);
}

/* The kernel gradient from the workers' dU, for input channels of this worker's share: added to dw, or
 * (a step) applied to w. */
typedef struct wino_finish {
    wino_job *J;
    float *w, *dw;
    const conv_step *step;
} wino_finish;

/* The kernel gradient's nine taps dg at one spot (at, nk channels; the taps CK floats apart): added to dw,
 * or (a step) applied to w. */
TF void taps_apply(const wino_finish *F, const vf *dg, size_t at, size_t CK, int nk)
{
    for (int t = 0; t < 9; t++) {
        float *d = (F->step ? F->w : F->dw) + t * CK + at;
        vf v = vload(d, nk);
        if (F->step)
            v = F->step->keep * v - F->step->lr * dg[t];
        else
            v += dg[t];
        vstore(d, v, nk);
    }
}

static void finish_task(void *arg, int wk, int nw)
{
    const wino_finish *F = arg;
    const wino_job *J = F->J;
    const conv_geom *g = &J->cl->g;
    const size_t CK = (size_t)g->c * g->oc;
    float *parts[NN_WORKERS_MAX], *src[NN_WORKERS_MAX];
    int np = 0;
    for (int i = 0; i < J->p->workers; i++)
        if (J->used[i])
            parts[np++] = ws_du(J, i);
    if (np == 0)
        return;
    int c0, c1;
    share(g->c, wk, nw, &c0, &c1);
    for (int c = c0; c < c1; c++)
        for (int k0 = 0; k0 < g->oc; k0 += VL) {
            const int nk = g->oc - k0 < VL ? g->oc - k0 : VL;
            const size_t at = (size_t)c * g->oc + k0;
            for (int i = 0; i < np; i++)
                src[i] = parts[i] + at;
            vf dg[9];
            DISPATCH(J->p->f, nk, kernel_in_adjoint, dg, src, np, CK);
            taps_apply(F, dg, at, CK, nk);
        }
}

/* The most bytes of V and dM (the batch's) for the fused kernel gradient below. */
#define FUSED_MAX_BYTES (4u << 20)

#if WINO_ISA != NN_ISA_PORTABLE
/* Output channels a block of the fused kernel gradient sums at once: two registers a row (four, 24 sums of
 * AVX-512's 32 registers, were no faster). */
#define GV 2
#define GKB (GV * VL)

/* o[i][0..GKB) = sum over t < tiles of v[t * vrow + i] d[t * drow + 0..GKB), i < 6 (rows past nr read row
 * nr - 1, and o has room for six): one point's kernel gradient for six input channels and a block of GKB
 * output channels, in registers. */
static void grad6(int tiles, const float *v, size_t vrow, int nr, const float *d, size_t drow, float *o)
{
    vreg s[6][GV];
    int at[6];
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
#pragma GCC unroll 4
        for (int j = 0; j < GV; j++)
            s[i][j] = VR_ZERO();
        at[i] = i < nr ? i : nr - 1;
    }
    for (int t = 0; t < tiles; t++, v += vrow, d += drow) {
        vreg b[GV];
#pragma GCC unroll 4
        for (int j = 0; j < GV; j++)
            b[j] = VR_LOAD(d + j * VL);
#pragma GCC unroll 6
        for (int i = 0; i < 6; i++)
#pragma GCC unroll 4
            for (int j = 0; j < GV; j++)
                s[i][j] = VR_FMA_BROADCAST(s[i][j], v + at[i], b[j]);
    }
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++)
#pragma GCC unroll 4
        for (int j = 0; j < GV; j++)
            VR_STORE(o + i * GKB + j * VL, s[i][j]);
}

/* Big plans' kernel gradient in one pass, no dU, where the batch's V and dM are few (FUSED_MAX_BYTES): for
 * each block of GKB output channels (the worker's share) and six input channels at a time, the a*a points'
 * sums over every tile of the batch into a small block in the L1 cache, then G^T dU G of it added to dw or
 * (a step) applied to w. The one-chunk passes through OpenBLAS write dU (a*a c k floats, 26 MB at 512
 * channels) after clearing it, and finish_task reads it back. Each sum is one worker's, in a fixed order.
 *
 * Each block of output channels reads all of V again, a tile's rows a*a c floats apart. On vgg16's 3x3
 * maps at 512 channels (batch 32: 32 tiles, V and dM 3.3 MB) the backward took 9.5-10.1 ms against 10.7-11.3
 * (2-core Zen 4, fastest of 21, three interleaved rounds); on its 6x6 maps (128 tiles, 13 MB) 30-37 against
 * 25-26, with four registers a row, with prefetching and with V and dM laid out point by point alike. */
static void fused_grad_task(void *arg, int wk, int nw)
{
    const wino_finish *F = arg;
    const wino_job *J = F->J;
    const conv_geom *g = &J->cl->g;
    const wino_plan *p = J->p;
    const int a2 = p->f->a * p->f->a, C = g->c, K = g->oc, tiles = J->n * p->th * p->tw;
    const size_t vrow = (size_t)a2 * C, mrow = (size_t)a2 * K, CK = (size_t)C * K;
    const float *V = oc_v(J, 0), *dM = oc_m(J, 0);
    float buf[36 * 6 * GKB];
    int b0, b1;
    share(K / GKB, wk, nw, &b0, &b1);
    for (int b = b0; b < b1; b++)
        for (int c0 = 0; c0 < C; c0 += 6) {
            const int nr = C - c0 < 6 ? C - c0 : 6;
            for (int xi = 0; xi < a2; xi++)
                grad6(tiles, V + (size_t)xi * C + c0, vrow, nr, dM + (size_t)xi * K + (size_t)b * GKB, mrow,
                      buf + (size_t)xi * 6 * GKB);
            for (int i = 0; i < nr; i++)
                for (int v = 0; v < GKB; v += VL) {
                    float *src = buf + i * GKB + v;
                    vf dg[9];
                    DISPATCH(p->f, VL, kernel_in_adjoint, dg, &src, 1, (size_t)6 * GKB);
                    taps_apply(F, dg, (size_t)(c0 + i) * K + (size_t)b * GKB + v, CK, VL);
                }
        }
}
#endif

#if WINO_ISA == NN_ISA_AVX512
/* bf16: U straight into its packed forms, no float32 copy. */
typedef unsigned vu __attribute__((vector_size(VL * 4)));
TF vu bf16_bits(vf v) { return (vu)wbf_round((__m512)v); }

/* G g G^T of F(2x2) for the input channels c and c + 1 (c even) at output channels k0..k0+nk-1 (k0 a
 * multiple of VL, nk even): Ub's words pair the two channels, Utb's (where the layer has an input
 * gradient) pair neighbouring output channels of one input channel. */
TF void kernel_pair_bf16(const wino_job *J, int c, int k0, int nk)
{
    const wino_plan *p = J->p;
    /* The blocks wbf_points reads (WBF_KB channels, src/nn/winograd_bf16.h). */
    const int C = J->cl->g.c, K = J->cl->g.oc, nkb = (K + WBF_KB - 1) / WBF_KB, ncb = (C + WBF_KB - 1) / WBF_KB;
    const size_t CK = (size_t)C * K;
    vf g0[9], g1[9], v0[16], v1[16];
    for (int t = 0; t < 9; t++) {
        g0[t] = vload(J->w + t * CK + (size_t)c * K + k0, nk);
        g1[t] = vload(J->w + t * CK + (size_t)(c + 1) * K + k0, nk);
    }
    tf2(TF_KER(&F2), v0, g0);
    tf2(TF_KER(&F2), v1, g1);
    for (int e = 0; e < 16; e++) {
        const vu r0 = bf16_bits(v0[e]), r1 = bf16_bits(v1[e]), words = r0 | (r1 << 16);
        memcpy(p->Ub + (((size_t)e * nkb + k0 / WBF_KB) * (C / 2) + c / 2) * WBF_KB + k0 % WBF_KB, &words,
               sizeof(float) * nk);
        if (!p->Utb)
            continue;
        /* Pairs of neighbouring output channels: the even lanes below, the odd ones above, nk / 2 words
         * down Utb's column (WBF_KB words apart), for c and c + 1 side by side. */
        uint32_t *col =
            p->Utb + ((size_t)e * ncb + c / WBF_KB) * (K / 2) * WBF_KB + (size_t)(k0 / 2) * WBF_KB + c % WBF_KB;
        const vu even = {0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14};
        const vu odd = even + 1;
        const vu t0 = __builtin_shuffle(r0, even) | (__builtin_shuffle(r0, odd) << 16);
        const vu t1 = __builtin_shuffle(r1, even) | (__builtin_shuffle(r1, odd) << 16);
        const __m512i down = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                                _mm512_set1_epi32(WBF_KB));
        const __mmask16 m = (__mmask16)((1u << (nk / 2)) - 1);
        _mm512_mask_i32scatter_epi32(col, m, down, (__m512i)t0, 4);
        _mm512_mask_i32scatter_epi32(col + 1, m, down, (__m512i)t1, 4);
    }
}

static void kernel_task_bf16(void *arg, int wk, int nw)
{
    const wino_job *J = arg;
    int p0, p1;
    share(J->cl->g.c / 2, wk, nw, &p0, &p1);
    for (int cp = p0; cp < p1; cp++)
        for (int k0 = 0; k0 < J->cl->g.oc; k0 += VL) {
            if (J->cl->g.oc - k0 >= VL) /* a constant count: whole loads and stores, no copy loops */
                kernel_pair_bf16(J, 2 * cp, k0, VL);
            else
                kernel_pair_bf16(J, 2 * cp, k0, J->cl->g.oc - k0);
        }
}
#endif

/* U for the kernel w, unless the plan holds it already: same weights generation (inference batch after
 * batch, the backward after its forward). A generation of 0 is unknown: always derived anew. A big plan has
 * room for one form in the workspace and derives the one its pass reads, form (FORM_UP: its forward's, FORM_U:
 * its input gradient's, 0: none), at every pass; other plans derive all of theirs, whatever form says. */
enum { FORM_U = 1, FORM_UP = 2 };

static void kernel_ready(conv_layer *cl, wino_job *J, int form)
{
    wino_plan *p = cl->state;
    if (p->big) { /* (a big plan's U is in the workspace: u_in_ws) */
        float *at = ws_u(J);
        J->U = form == FORM_U ? at : NULL;
        J->Up = form == FORM_UP ? at : NULL;
        J->Ut = NULL;
        if (J->Up)
            nn_pool_run(blocked_task, J, p->workers);
        else if (J->U)
            nn_pool_run(kernel_task, J, p->workers);
        p->ugen = 0;
        return;
    }
    J->U = ws_u(J);
    J->Up = p->Up;
    J->Ut = p->Ut;
    if (cl->wgen != 0 && p->ugen == cl->wgen && !p->u_in_ws) /* the workspace is every layer's */
        return;
#if WINO_ISA == NN_ISA_AVX512
    if (p->bf16)
        nn_pool_run(kernel_task_bf16, J, p->workers);
    else
#endif
        nn_pool_run(kernel_task, J, p->workers);
    p->ugen = cl->wgen;
}

/* Whether every worker's share of n images fits one chunk (the one-chunk passes above). */
static int one_chunk(const wino_plan *p, int n)
{
    return p->workers > 1 && (n + p->workers - 1) / p->workers <= p->ipc;
}

static void forward_impl(conv_layer *cl, float *out, float *ws, const float *x, const float *w, const float *b, int n)
{
    wino_job J = {.cl = cl, .p = cl->state, .x = x, .w = w, .b = b, .y = out, .ws = ws, .n = n};
    nn_blas_single_begin();
    kernel_ready(cl, &J, J.p->own ? FORM_UP : FORM_U);
    if (one_chunk(J.p, n) && (!J.p->own || J.p->big) && !J.p->bf16) {
        nn_pool_run(one_chunk_in, &J, J.p->workers);
        nn_pool_run(one_chunk_products, &J, J.p->workers);
        nn_pool_run(one_chunk_out, &J, J.p->workers);
    } else {
        nn_pool_run(forward_task, &J, J.p->workers);
    }
    nn_blas_single_end();
}

static void backward_impl(conv_layer *cl, float *dx, float *w, float *b, float *dw, float *db, float *ws,
                          float *dout, const float *out, const float *x, int n, const conv_step *step)
{
    wino_job J = {.cl = cl, .p = cl->state, .x = x, .w = w, .dout = dout, .out = out, .dx = dx, .ws = ws, .n = n};
    nn_blas_single_begin();
    kernel_ready(cl, &J, dx ? FORM_U : 0); /* U of the kernel before the step */
    wino_finish F = {&J, w, dw, step};
    /* big plans: the kernel gradient straight into w or dw (fused_grad_task), before dV takes V's place */
    const size_t vdm = sizeof(float) * (size_t)n * J.p->th * J.p->tw * J.p->f->a * J.p->f->a * (cl->g.c + cl->g.oc);
    const int fused = J.p->big && one_chunk(J.p, n) && vdm <= FUSED_MAX_BYTES;
    if (one_chunk(J.p, n)) {
        nn_pool_run(one_chunk_start, &J, J.p->workers);
#if WINO_ISA != NN_ISA_PORTABLE
        if (fused)
            nn_pool_run(fused_grad_task, &F, J.p->workers);
        else
#endif
            nn_pool_run(one_chunk_kernel, &J, J.p->workers);
        if (dx && (J.p->own_dx || J.p->bf16)) {
            nn_pool_run(one_chunk_input, &J, J.p->workers);
        } else if (dx) {
            nn_pool_run(one_chunk_dv, &J, J.p->workers);
            nn_pool_run(one_chunk_dx, &J, J.p->workers);
        }
    } else {
        nn_pool_run(backward_task, &J, J.p->workers);
    }
    if (!fused)
        nn_pool_run(finish_task, &F, J.p->workers);
    if (step) /* the kernel has changed: U is stale whatever the generation says */
        ((wino_plan *)cl->state)->ugen = 0;
    nn_blas_single_end();
    /* The bias gradient, the workers' sums added in a fixed order. */
    const int oc = cl->g.oc;
    for (int k = 0; k < oc; k++) {
        float s = 0.0f;
        for (int i = 0; i < J.p->workers; i++) /* each cleared its sum, images or not */
            s += ws_db(&J, i)[k];
        if (step)
            b[k] = step->keep * b[k] - step->lr * s;
        else
            db[k] += s;
    }
}

#if WINO_ISA == NN_ISA_AVX512
const conv_passes winograd_avx512_passes = {forward_impl, backward_impl};
#elif WINO_ISA == NN_ISA_AVX2
const conv_passes winograd_avx2_passes = {forward_impl, backward_impl};
#else
const conv_passes winograd_portable_passes = {forward_impl, backward_impl};
#endif
