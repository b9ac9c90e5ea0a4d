/* winograd: the "winograd" convolution backend, 3x3 stride-1 'same' convolutions by Winograd's minimal
 * filtering algorithms F(2x2, 3x3) and F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2016), on the model's NHWC tensors, for machines where oneDNN has none (oneDNN 2.x
 * offers Winograd only with AVX-512).
 *
 * An output tile of m x m pixels (m = 2 or 4) comes from an input tile of a x a (a = m + 2):
 *   Y = A^T [ (G g G^T) (.) (B^T d B) ] A      per channel pair, (.) elementwise over the a x a points
 * so with U = G g G^T (the kernel, per input and output channel) and V = B^T d B (the input, per tile and
 * channel), each of the a*a points xi is one matrix product over channels, M[xi] = V[xi] U[xi]: a*a sgemm
 * calls replace the 9 taps of a direct convolution, 9 m^2 / a^2 = 2.25x (m = 2) or 4x (m = 4) fewer
 * multiply-adds, for transforms that are passes over memory.
 *
 * Backward is the exact adjoint of that forward: dM = A dY A^T, then dU[xi] = V[xi]^T dM[xi] (summed over
 * tiles) and dg = G^T dU G for the kernel, dV[xi] = dM[xi] U[xi]^T and dd = B dV B^T (added over the
 * overlapping input tiles) for the input.
 *
 * Work is split by images over nn's workers (src/nn/pool.c). Each worker takes its images a chunk at a
 * time, a chunk's tiles small enough that its V and M stay in cache between the transforms and the
 * gemms, and calls sgemm single-threaded (OpenBLAS is set to one thread for the duration). The kernel
 * gradient is summed per worker and added up at the end, in a fixed order: a run is repeatable at a fixed
 * thread count. Shapes:
 *   x (n, h, w, c), out and dout (n, h, w, k), kernel (3, 3, c, k) (Keras), U and dU (a*a, c, k),
 *   a chunk's V (a*a, tiles, c) and M (a*a, tiles, k). */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

typedef struct wino_mats {
    int m, a;
    float bt[6][6]; /* B^T (a x a) */
    float g[6][3];  /* G (a x 3) */
    float at[4][6]; /* A^T (m x a) */
} wino_mats;

/* The matrices of Lavin & Gray (2016), section 4.1 and 4.2. */
static const wino_mats F2 = {2, 4,
                             {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
                             {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}},
                             {{1, 1, 1, 0}, {0, 1, -1, -1}}};
static const wino_mats F4 = {4, 6,
                             {{4, 0, -5, 0, 1, 0},
                              {0, -4, -4, 1, 1, 0},
                              {0, 4, -4, -1, 1, 0},
                              {0, -2, -1, 2, 1, 0},
                              {0, 2, -1, -2, 1, 0},
                              {0, 4, 0, -5, 0, 1}},
                             {{1.0f / 4, 0, 0},
                              {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                              {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                              {1.0f / 24, 1.0f / 12, 1.0f / 6},
                              {1.0f / 24, -1.0f / 12, 1.0f / 6},
                              {0, 0, 1}},
                             {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}}};

/* Channels per block of the transforms: their inner loops run over a block, which the compiler vectorises. */
#define CB 16
/* Tiles per chunk a worker aims for: the gemms want rows, the cache wants few. */
#define CHUNK_TILES 192

typedef struct wino_plan {
    const wino_mats *f;
    int th, tw;       /* tiles per image, down and across */
    int ipc;          /* images per chunk */
    int workers;
    size_t u;         /* floats of U: a*a*c*k */
    size_t kpad;      /* floats of a worker's bias-gradient sum (k rounded up) */
    size_t chunk;     /* floats of a worker's V and M */
} wino_plan;

static const wino_mats *mats_of(int algo) { return algo == CONV_ALGO_F4 ? &F4 : &F2; }

static void plan_layout(wino_plan *p, const conv_geom *g, int algo, int workers)
{
    const wino_mats *f = mats_of(algo);
    p->f = f;
    p->th = (g->oh + f->m - 1) / f->m;
    p->tw = (g->ow + f->m - 1) / f->m;
    const int per_image = p->th * p->tw;
    int ipc = (CHUNK_TILES + per_image - 1) / per_image;
    const int share = (g->n + workers - 1) / workers;
    p->ipc = ipc < share ? ipc : share > 0 ? share : 1;
    p->workers = workers;
    const size_t a2 = (size_t)f->a * f->a;
    p->u = a2 * g->c * g->oc;
    p->kpad = ((size_t)g->oc + 15) & ~(size_t)15;
    p->chunk = a2 * (size_t)p->ipc * per_image * ((size_t)g->c + g->oc);
}

static int plan_workers(void)
{
    int n = nn_threads();
    return n < 1 ? 1 : n > 64 ? 64 : n;
}

/* Workspace: U, then per worker its kernel-gradient sum dU, its bias-gradient sum and its chunk. */
static size_t plan_floats(const wino_plan *p) { return p->u + (size_t)p->workers * (p->u + p->kpad + p->chunk); }

static int wino_supports(const conv_geom *g, int algo)
{
    return (algo == CONV_ALGO_ANY || algo == CONV_ALGO_F2 || algo == CONV_ALGO_F4) && g->kh == 3 && g->kw == 3 &&
           g->stride == 1 && g->pad_top == 1 && g->pad_left == 1 && g->oh == g->h && g->ow == g->w;
}

static size_t wino_workspace(const conv_geom *g)
{
    wino_plan a, b;
    plan_layout(&a, g, CONV_ALGO_F2, plan_workers());
    plan_layout(&b, g, CONV_ALGO_F4, plan_workers());
    size_t fa = plan_floats(&a), fb = plan_floats(&b);
    return fa > fb ? fa : fb;
}

static int wino_plan_layer(conv_layer *cl, vt_err *err)
{
    if (cl->algo == CONV_ALGO_ANY)
        cl->algo = CONV_ALGO_F4;
    wino_plan *p = malloc(sizeof *p);
    if (!p)
        return vt_fail(err, VT_EIO, "out of memory for a Winograd plan");
    plan_layout(p, &cl->g, cl->algo, plan_workers());
    int rc = nn_pool_start(p->workers, err);
    if (rc) {
        free(p);
        return rc;
    }
    cl->state = p;
    return VT_OK;
}

static void wino_release(conv_layer *cl)
{
    free(cl->state);
    cl->state = NULL;
}

/* ---- the transforms, a block of nc <= CB channels at a time ------------------------------------------ */

/* Each takes the matrices as a compile-time constant (the callers pass &F2 or &F4 to an inlined copy), so
 * the small loops unroll and the zero coefficients drop out. */
#define TF static inline __attribute__((always_inline))

/* V[xi * vstride] (nc floats each) = B^T d B of the tile whose rows and columns start at y0, x0 in image
 * img (n, h, w, c) of x, channels c0.., zero outside the image. */
TF void tile_in(const wino_mats *f, float *V, size_t vstride, const float *img, const conv_geom *g, int y0, int x0,
                int c0, int nc, const float *zeros)
{
    const int a = f->a;
    const float *src[6][6];
    for (int p = 0; p < a; p++)
        for (int q = 0; q < a; q++) {
            int y = y0 + p, x = x0 + q;
            src[p][q] = y >= 0 && y < g->h && x >= 0 && x < g->w ? img + ((size_t)y * g->w + x) * g->c + c0 : zeros;
        }
    float t[6][6][CB];
#pragma GCC unroll 6
    for (int i = 0; i < a; i++)
#pragma GCC unroll 6
        for (int q = 0; q < a; q++) {
            float *o = t[i][q];
            for (int c = 0; c < nc; c++)
                o[c] = 0.0f;
#pragma GCC unroll 6
            for (int p = 0; p < a; p++) {
                const float s = f->bt[i][p];
                if (s == 0.0f)
                    continue;
                const float *d = src[p][q];
                for (int c = 0; c < nc; c++)
                    o[c] += s * d[c];
            }
        }
#pragma GCC unroll 6
    for (int i = 0; i < a; i++)
#pragma GCC unroll 6
        for (int j = 0; j < a; j++) {
            float acc[CB];
            for (int c = 0; c < nc; c++)
                acc[c] = 0.0f;
#pragma GCC unroll 6
            for (int q = 0; q < a; q++) {
                const float s = f->bt[j][q];
                if (s == 0.0f)
                    continue;
                for (int c = 0; c < nc; c++)
                    acc[c] += s * t[i][q][c];
            }
            memcpy(V + (size_t)(i * a + j) * vstride, acc, sizeof(float) * nc);
        }
}

/* The adjoint of tile_in: the tile's input gradient B dV B^T added into dimg (n, h, w, c) where it lies in
 * the image. */
TF void tile_in_adjoint(const wino_mats *f, float *dimg, const float *dV, size_t vstride, const conv_geom *g, int y0,
                        int x0, int c0, int nc)
{
    const int a = f->a;
    float t[6][6][CB];
#pragma GCC unroll 6
    for (int p = 0; p < a; p++)
#pragma GCC unroll 6
        for (int j = 0; j < a; j++) {
            float *o = t[p][j];
            for (int c = 0; c < nc; c++)
                o[c] = 0.0f;
#pragma GCC unroll 6
            for (int i = 0; i < a; i++) {
                const float s = f->bt[i][p];
                if (s == 0.0f)
                    continue;
                const float *d = dV + (size_t)(i * a + j) * vstride;
                for (int c = 0; c < nc; c++)
                    o[c] += s * d[c];
            }
        }
#pragma GCC unroll 6
    for (int p = 0; p < a; p++) {
        const int y = y0 + p;
        if (y < 0 || y >= g->h)
            continue;
#pragma GCC unroll 6
        for (int q = 0; q < a; q++) {
            const int x = x0 + q;
            if (x < 0 || x >= g->w)
                continue;
            float *o = dimg + ((size_t)y * g->w + x) * g->c + c0;
#pragma GCC unroll 6
            for (int j = 0; j < a; j++) {
                const float s = f->bt[j][q];
                if (s == 0.0f)
                    continue;
                for (int c = 0; c < nc; c++)
                    o[c] += s * t[p][j][c];
            }
        }
    }
}

/* The output tile at y0, x0 of image img (n, h, w, k), channels k0.. (nk of them): A^T M A + b, then the
 * ReLU, written where it lies in the image. */
TF void tile_out(const wino_mats *f, float *img, const float *M, size_t mstride, const float *b, const conv_geom *g,
                 int y0, int x0, int k0, int nk, int relu)
{
    const int a = f->a, m = f->m;
    float t[4][6][CB];
#pragma GCC unroll 4
    for (int r = 0; r < m; r++)
#pragma GCC unroll 6
        for (int j = 0; j < a; j++) {
            float *o = t[r][j];
            for (int c = 0; c < nk; c++)
                o[c] = 0.0f;
#pragma GCC unroll 6
            for (int i = 0; i < a; i++) {
                const float s = f->at[r][i];
                if (s == 0.0f)
                    continue;
                const float *d = M + (size_t)(i * a + j) * mstride;
                for (int c = 0; c < nk; c++)
                    o[c] += s * d[c];
            }
        }
#pragma GCC unroll 4
    for (int r = 0; r < m; r++) {
        const int y = y0 + r;
        if (y >= g->oh)
            break;
#pragma GCC unroll 4
        for (int s = 0; s < m; s++) {
            const int x = x0 + s;
            if (x >= g->ow)
                break;
            float acc[CB];
            for (int c = 0; c < nk; c++)
                acc[c] = b[c];
#pragma GCC unroll 6
            for (int j = 0; j < a; j++) {
                const float e = f->at[s][j];
                if (e == 0.0f)
                    continue;
                for (int c = 0; c < nk; c++)
                    acc[c] += e * t[r][j][c];
            }
            float *o = img + ((size_t)y * g->ow + x) * g->oc + k0;
            if (relu)
                for (int c = 0; c < nk; c++)
                    o[c] = acc[c] > 0.0f ? acc[c] : 0.0f;
            else
                memcpy(o, acc, sizeof(float) * nk);
        }
    }
}

/* The adjoint of tile_out: dM = A dY A^T for the tile, dY the output gradient (masked where the output was
 * not positive when relu, zero outside the image); its sum over the tile's pixels is added to db. */
TF void tile_out_adjoint(const wino_mats *f, float *dM, size_t mstride, float *db, const float *dimg,
                         const float *oimg, const conv_geom *g, int y0, int x0, int k0, int nk, int relu)
{
    const int a = f->a, m = f->m;
    float dy[4][4][CB];
#pragma GCC unroll 4
    for (int r = 0; r < m; r++)
#pragma GCC unroll 4
        for (int s = 0; s < m; s++) {
            const int y = y0 + r, x = x0 + s;
            float *o = dy[r][s];
            if (y >= g->oh || x >= g->ow) {
                for (int c = 0; c < nk; c++)
                    o[c] = 0.0f;
                continue;
            }
            const size_t at = ((size_t)y * g->ow + x) * g->oc + k0;
            const float *d = dimg + at;
            if (relu) {
                const float *out = oimg + at;
                for (int c = 0; c < nk; c++)
                    o[c] = out[c] > 0.0f ? d[c] : 0.0f;
            } else {
                memcpy(o, d, sizeof(float) * nk);
            }
            for (int c = 0; c < nk; c++)
                db[c] += o[c];
        }
    float t[6][4][CB];
#pragma GCC unroll 6
    for (int i = 0; i < a; i++)
#pragma GCC unroll 4
        for (int s = 0; s < m; s++) {
            float *o = t[i][s];
            for (int c = 0; c < nk; c++)
                o[c] = 0.0f;
#pragma GCC unroll 4
            for (int r = 0; r < m; r++) {
                const float e = f->at[r][i];
                if (e == 0.0f)
                    continue;
                for (int c = 0; c < nk; c++)
                    o[c] += e * dy[r][s][c];
            }
        }
#pragma GCC unroll 6
    for (int i = 0; i < a; i++)
#pragma GCC unroll 6
        for (int j = 0; j < a; j++) {
            float acc[CB];
            for (int c = 0; c < nk; c++)
                acc[c] = 0.0f;
#pragma GCC unroll 4
            for (int s = 0; s < m; s++) {
                const float e = f->at[s][j];
                if (e == 0.0f)
                    continue;
                for (int c = 0; c < nk; c++)
                    acc[c] += e * t[i][s][c];
            }
            memcpy(dM + (size_t)(i * a + j) * mstride, acc, sizeof(float) * nk);
        }
}

/* U[xi][c][k0..] = G g G^T for input channel c, output channels k0.. (nk of them); w: (3, 3, C, K). */
TF void kernel_in(const wino_mats *f, float *U, const float *w, size_t ck, size_t ustride)
{
    const int a = f->a;
    float t[6][3][CB];
#pragma GCC unroll 6
    for (int i = 0; i < a; i++)
#pragma GCC unroll 3
        for (int q = 0; q < 3; q++) {
            float *o = t[i][q];
            for (int c = 0; c < CB; c++)
                o[c] = 0.0f;
#pragma GCC unroll 3
            for (int p = 0; p < 3; p++) {
                const float s = f->g[i][p];
                if (s == 0.0f)
                    continue;
                const float *d = w + (size_t)(p * 3 + q) * ck;
                for (int c = 0; c < CB; c++)
                    o[c] += s * d[c];
            }
        }
#pragma GCC unroll 6
    for (int i = 0; i < a; i++)
#pragma GCC unroll 6
        for (int j = 0; j < a; j++) {
            float acc[CB];
            for (int c = 0; c < CB; c++)
                acc[c] = 0.0f;
#pragma GCC unroll 3
            for (int q = 0; q < 3; q++) {
                const float s = f->g[j][q];
                if (s == 0.0f)
                    continue;
                for (int c = 0; c < CB; c++)
                    acc[c] += s * t[i][q][c];
            }
            memcpy(U + (size_t)(i * a + j) * ustride, acc, sizeof acc);
        }
}

/* The adjoint of kernel_in, summed over the workers' dU: dg[p][q] = G^T (sum dU) G for one (c, k0..)
 * block, into dg[(p * 3 + q) * ck]. */
TF void kernel_in_adjoint(const wino_mats *f, float dg[9][CB], float *const *dU, int parts, size_t ustride)
{
    const int a = f->a;
    float t[3][6][CB];
    for (int p = 0; p < 3; p++)
        for (int j = 0; j < a; j++)
            for (int c = 0; c < CB; c++)
                t[p][j][c] = 0.0f;
#pragma GCC unroll 6
    for (int i = 0; i < a; i++)
#pragma GCC unroll 6
        for (int j = 0; j < a; j++) {
            float s[CB];
            memcpy(s, dU[0] + (size_t)(i * a + j) * ustride, sizeof s);
            for (int w = 1; w < parts; w++) {
                const float *d = dU[w] + (size_t)(i * a + j) * ustride;
                for (int c = 0; c < CB; c++)
                    s[c] += d[c];
            }
#pragma GCC unroll 3
            for (int p = 0; p < 3; p++) {
                const float e = f->g[i][p];
                if (e == 0.0f)
                    continue;
                for (int c = 0; c < CB; c++)
                    t[p][j][c] += e * s[c];
            }
        }
#pragma GCC unroll 3
    for (int p = 0; p < 3; p++)
#pragma GCC unroll 3
        for (int q = 0; q < 3; q++) {
            float *o = dg[p * 3 + q];
            for (int c = 0; c < CB; c++)
                o[c] = 0.0f;
#pragma GCC unroll 6
            for (int j = 0; j < a; j++) {
                const float e = f->g[j][q];
                if (e == 0.0f)
                    continue;
                for (int c = 0; c < CB; c++)
                    o[c] += e * t[p][j][c];
            }
        }
}

/* ---- a layer's passes ------------------------------------------------------------------------------- */

/* What a task of the pool needs: the layer, its plan, the tensors and the workspace. */
typedef struct wino_job {
    const conv_layer *cl;
    const wino_plan *p;
    const float *x, *w, *b, *dout, *out;
    float *y, *dx, *ws;
    int n;
    int used[64]; /* backward: the workers that summed into their dU */
} wino_job;

static float *ws_u(const wino_job *J) { return J->ws; }
static float *ws_du(const wino_job *J, int wk) { return J->ws + J->p->u + (size_t)wk * J->p->u; }
static float *ws_db(const wino_job *J, int wk)
{
    return J->ws + J->p->u * (1 + (size_t)J->p->workers) + (size_t)wk * J->p->kpad;
}
static float *ws_chunk(const wino_job *J, int wk)
{
    const wino_plan *p = J->p;
    return J->ws + p->u * (1 + (size_t)p->workers) + (size_t)p->workers * p->kpad + (size_t)wk * p->chunk;
}

/* The share [lo, hi) of count items of worker wk of nw. */
static void share(int count, int wk, int nw, int *lo, int *hi)
{
    *lo = (int)((long)count * wk / nw);
    *hi = (int)((long)count * (wk + 1) / nw);
}

/* U for input channels of this worker's share; the kernel's channel blocks of CB (k is a multiple of CB
 * when the layer is planned, see kernel_blocks; the rest goes through a padded copy). */
static void kernel_task(void *arg, int wk, int nw)
{
    const wino_job *J = arg;
    const conv_geom *g = &J->cl->g;
    const size_t ck = (size_t)g->c * g->oc;
    int c0, c1;
    share(g->c, wk, nw, &c0, &c1);
    float *U = ws_u(J);
    for (int c = c0; c < c1; c++)
        for (int k0 = 0; k0 < g->oc; k0 += CB) {
            const int nk = g->oc - k0 < CB ? g->oc - k0 : CB;
            const float *src = J->w + (size_t)c * g->oc + k0;
            float pad[9][CB], blk[36][CB];
            size_t stride = ck;
            if (nk < CB) { /* a partial block: through a zero-padded copy */
                memset(pad, 0, sizeof pad);
                for (int t = 0; t < 9; t++)
                    memcpy(pad[t], src + t * ck, sizeof(float) * nk);
                src = pad[0];
                stride = CB;
            }
            if (J->p->f == &F4)
                kernel_in(&F4, blk[0], src, stride, CB);
            else
                kernel_in(&F2, blk[0], src, stride, CB);
            const int a2 = J->p->f->a * J->p->f->a;
            for (int xi = 0; xi < a2; xi++)
                memcpy(U + ((size_t)xi * g->c + c) * g->oc + k0, blk[xi], sizeof(float) * nk);
        }
}

/* Every tile of images n0..n0+cnt-1 of x into V (a*a, tiles, c). */
static void chunk_in(const wino_job *J, float *V, int n0, int cnt)
{
    const conv_geom *g = &J->cl->g;
    const wino_plan *p = J->p;
    const int tiles = cnt * p->th * p->tw, m = p->f->m;
    static const float zeros[CB];
    const size_t vstride = (size_t)tiles * g->c;
    for (int t = 0; t < tiles; t++) {
        const int img = n0 + t / (p->th * p->tw), r = t % (p->th * p->tw);
        const int y0 = (r / p->tw) * m - g->pad_top, x0 = (r % p->tw) * m - g->pad_left;
        const float *src = J->x + (size_t)img * g->h * g->w * g->c;
        for (int c0 = 0; c0 < g->c; c0 += CB) {
            const int nc = g->c - c0 < CB ? g->c - c0 : CB;
            float *dst = V + (size_t)t * g->c + c0;
            if (p->f == &F4)
                tile_in(&F4, dst, vstride, src, g, y0, x0, c0, nc, zeros);
            else
                tile_in(&F2, dst, vstride, src, g, y0, x0, c0, nc, zeros);
        }
    }
}

static void forward_task(void *arg, int wk, int nw)
{
    const wino_job *J = arg;
    const conv_geom *g = &J->cl->g;
    const wino_plan *p = J->p;
    const int a2 = p->f->a * p->f->a, m = p->f->m, per_image = p->th * p->tw;
    int lo, hi;
    share(J->n, wk, nw, &lo, &hi);
    float *V = ws_chunk(J, wk);
    const float *U = ws_u(J);
    for (int n0 = lo; n0 < hi; n0 += p->ipc) {
        const int cnt = hi - n0 < p->ipc ? hi - n0 : p->ipc, tiles = cnt * per_image;
        float *M = V + (size_t)a2 * tiles * g->c;
        chunk_in(J, V, n0, cnt);
        for (int xi = 0; xi < a2; xi++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tiles, g->oc, g->c, 1.0f,
                        V + (size_t)xi * tiles * g->c, g->c, U + (size_t)xi * g->c * g->oc, g->oc, 0.0f,
                        M + (size_t)xi * tiles * g->oc, g->oc);
        const size_t mstride = (size_t)tiles * g->oc;
        for (int t = 0; t < tiles; t++) {
            const int img = n0 + t / per_image, r = t % per_image;
            const int y0 = (r / p->tw) * m, x0 = (r % p->tw) * m;
            float *dst = J->y + (size_t)img * g->oh * g->ow * g->oc;
            for (int k0 = 0; k0 < g->oc; k0 += CB) {
                const int nk = g->oc - k0 < CB ? g->oc - k0 : CB;
                const float *src = M + (size_t)t * g->oc + k0;
                if (p->f == &F4)
                    tile_out(&F4, dst, src, mstride, J->b + k0, g, y0, x0, k0, nk, J->cl->relu);
                else
                    tile_out(&F2, dst, src, mstride, J->b + k0, g, y0, x0, k0, nk, J->cl->relu);
            }
        }
    }
}

static void backward_task(void *arg, int wk, int nw)
{
    wino_job *J = arg;
    const conv_geom *g = &J->cl->g;
    const wino_plan *p = J->p;
    const int a2 = p->f->a * p->f->a, m = p->f->m, per_image = p->th * p->tw;
    int lo, hi;
    share(J->n, wk, nw, &lo, &hi);
    float *V = ws_chunk(J, wk), *dU = ws_du(J, wk), *db = ws_db(J, wk);
    const float *U = ws_u(J);
    memset(db, 0, sizeof(float) * g->oc);
    J->used[wk] = lo < hi;
    if (J->dx && lo < hi)
        memset(J->dx + (size_t)lo * g->h * g->w * g->c, 0, sizeof(float) * (size_t)(hi - lo) * g->h * g->w * g->c);
    for (int n0 = lo; n0 < hi; n0 += p->ipc) {
        const int cnt = hi - n0 < p->ipc ? hi - n0 : p->ipc, tiles = cnt * per_image;
        float *dM = V + (size_t)a2 * tiles * g->c;
        const size_t mstride = (size_t)tiles * g->oc;
        chunk_in(J, V, n0, cnt);
        for (int t = 0; t < tiles; t++) {
            const int img = n0 + t / per_image, r = t % per_image;
            const int y0 = (r / p->tw) * m, x0 = (r % p->tw) * m;
            const size_t at = (size_t)img * g->oh * g->ow * g->oc;
            for (int k0 = 0; k0 < g->oc; k0 += CB) {
                const int nk = g->oc - k0 < CB ? g->oc - k0 : CB;
                float *dst = dM + (size_t)t * g->oc + k0;
                if (p->f == &F4)
                    tile_out_adjoint(&F4, dst, mstride, db + k0, J->dout + at, J->out + at, g, y0, x0, k0, nk,
                                     J->cl->relu);
                else
                    tile_out_adjoint(&F2, dst, mstride, db + k0, J->dout + at, J->out + at, g, y0, x0, k0, nk,
                                     J->cl->relu);
            }
        }
        const float beta = n0 == lo ? 0.0f : 1.0f;
        for (int xi = 0; xi < a2; xi++)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g->c, g->oc, tiles, 1.0f,
                        V + (size_t)xi * tiles * g->c, g->c, dM + (size_t)xi * mstride, g->oc, beta,
                        dU + (size_t)xi * g->c * g->oc, g->oc);
        if (!J->dx)
            continue;
        /* dV overwrites V, whose last use was the kernel gradient above. */
        for (int xi = 0; xi < a2; xi++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tiles, g->c, g->oc, 1.0f, dM + (size_t)xi * mstride,
                        g->oc, U + (size_t)xi * g->c * g->oc, g->oc, 0.0f, V + (size_t)xi * tiles * g->c, g->c);
        const size_t vstride = (size_t)tiles * g->c;
        for (int t = 0; t < tiles; t++) {
            const int img = n0 + t / per_image, r = t % per_image;
            const int y0 = (r / p->tw) * m - g->pad_top, x0 = (r % p->tw) * m - g->pad_left;
            float *dst = J->dx + (size_t)img * g->h * g->w * g->c;
            for (int c0 = 0; c0 < g->c; c0 += CB) {
                const int nc = g->c - c0 < CB ? g->c - c0 : CB;
                const float *src = V + (size_t)t * g->c + c0;
                if (p->f == &F4)
                    tile_in_adjoint(&F4, dst, src, vstride, g, y0, x0, c0, nc);
                else
                    tile_in_adjoint(&F2, dst, src, vstride, g, y0, x0, c0, nc);
            }
        }
    }
}

/* The kernel gradient from the workers' dU, for input channels of this worker's share: added to dw, or
 * (a step) applied to w. */
typedef struct wino_finish {
    wino_job *J;
    float *w, *dw;
    const conv_step *step;
} wino_finish;

static void finish_task(void *arg, int wk, int nw)
{
    const wino_finish *F = arg;
    const wino_job *J = F->J;
    const conv_geom *g = &J->cl->g;
    const size_t ck = (size_t)g->c * g->oc;
    float *parts[64];
    int np = 0;
    for (int i = 0; i < J->p->workers; i++)
        if (J->used[i])
            parts[np++] = ws_du(J, i);
    int c0, c1;
    share(g->c, wk, nw, &c0, &c1);
    const int a2 = J->p->f->a * J->p->f->a;
    for (int c = c0; c < c1; c++)
        for (int k0 = 0; k0 < g->oc; k0 += CB) {
            const int nk = g->oc - k0 < CB ? g->oc - k0 : CB;
            float in[64][36][CB], dg[9][CB];
            float *src[64];
            size_t stride = ck;
            for (int i = 0; i < np; i++)
                src[i] = parts[i] + (size_t)c * g->oc + k0;
            if (nk < CB) { /* a partial block: through zero-padded copies */
                for (int i = 0; i < np; i++) {
                    memset(in[i], 0, sizeof in[i]);
                    for (int xi = 0; xi < a2; xi++)
                        memcpy(in[i][xi], src[i] + xi * ck, sizeof(float) * nk);
                    src[i] = in[i][0];
                }
                stride = CB;
            }
            if (J->p->f == &F4)
                kernel_in_adjoint(&F4, dg, src, np, stride);
            else
                kernel_in_adjoint(&F2, dg, src, np, stride);
            for (int t = 0; t < 9; t++) {
                float *d = F->step ? F->w + t * ck + (size_t)c * g->oc + k0 : F->dw + t * ck + (size_t)c * g->oc + k0;
                if (F->step) {
                    const float lr = F->step->lr, keep = F->step->keep;
                    for (int e = 0; e < nk; e++)
                        d[e] = keep * d[e] - lr * dg[t][e];
                } else {
                    for (int e = 0; e < nk; e++)
                        d[e] += dg[t][e];
                }
            }
        }
}

static void wino_forward(conv_layer *cl, float *out, float *ws, const float *x, const float *w, const float *b, int n)
{
    wino_job J = {.cl = cl, .p = cl->state, .x = x, .w = w, .b = b, .y = out, .ws = ws, .n = n};
    openblas_set_num_threads(1);
    nn_pool_run(kernel_task, &J, J.p->workers);
    nn_pool_run(forward_task, &J, J.p->workers);
    openblas_set_num_threads(nn_threads());
}

static void wino_backward(conv_layer *cl, float *dx, float *w, float *b, float *dw, float *db, float *ws,
                          float *dout, const float *out, const float *x, int n, const conv_step *step)
{
    wino_job J = {.cl = cl, .p = cl->state, .x = x, .w = w, .dout = dout, .out = out, .dx = dx, .ws = ws, .n = n};
    openblas_set_num_threads(1);
    nn_pool_run(kernel_task, &J, J.p->workers); /* U of the kernel before the step */
    nn_pool_run(backward_task, &J, J.p->workers);
    wino_finish F = {&J, w, dw, step};
    nn_pool_run(finish_task, &F, J.p->workers);
    openblas_set_num_threads(nn_threads());
    /* The bias gradient, the workers' sums added in a fixed order. */
    const int oc = cl->g.oc;
    for (int k = 0; k < oc; k++) {
        float s = 0.0f;
        for (int i = 0; i < J.p->workers; i++)
            s += J.used[i] ? ws_db(&J, i)[k] : 0.0f;
        if (step)
            b[k] = step->keep * b[k] - step->lr * s;
        else
            db[k] += s;
    }
}

const conv_backend conv_backend_winograd = {"winograd", wino_supports, wino_workspace, wino_plan_layer,
                                            wino_release, wino_forward, wino_backward};
