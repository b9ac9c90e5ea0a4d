/* winograd_tf: the winograd backend's matrices (F(2x2), F(3x3) and F(4x4) for 3x3 kernels) and its
 * transforms of VL channels at a time, included by src/nn/winograd.c once per copy (VL and KB defined
 * there for the copy's registers): B^T d B of the input tiles, A^T M A of the output tiles, G g G^T of the
 * kernel, and each one's adjoint for the backward pass. */
#ifndef VGGTOP_NN_WINOGRAD_TF_H
#define VGGTOP_NN_WINOGRAD_TF_H

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
/* F(3x3, 3x3) by the same construction (Toom-Cook at the points 0, 1, -1, 2 and infinity): a 5 x 5 tile for
 * 3 x 3 outputs, 25 products for 81 of the direct convolution; the 3x3 maps of vgg16's block 5 are one tile
 * an image. Its transforms multiply bf16's rounding about twice as much as F(2x2)'s, and F(4x4)'s seven
 * times (simulated: the worst error of a tile over 128 channels 1.5%, 2.8% and 12% of its largest output). */
static const wino_mats F3 = {3, 5,
                             {{2, -1, -2, 1, 0}, {0, -2, -1, 1, 0}, {0, 2, -3, 1, 0}, {0, -1, 0, 1, 0}, {0, 2, -1, -2, 1}},
                             {{1.0f / 2, 0, 0},
                              {-1.0f / 2, -1.0f / 2, -1.0f / 2},
                              {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                              {1.0f / 6, 1.0f / 3, 2.0f / 3},
                              {0, 0, 1}},
                             {{1, 1, 1, 1, 0}, {0, 1, -1, 2, 0}, {0, 1, 1, 4, 1}}};

/* ---- the transforms, VL channels at a time ----------------------------------------------------------- */
#ifdef VL /* (src/nn/winograd_plan.c wants the matrices alone) */

#include "nn_vec.h"

/* o[r] = sum_c M[r][c] x[c], r < rows, c < cols, where M[r][c] is m[r * ld + c], or (t) m[c * ld + r]. */
TF void tf1(const float *m, int ld, int rows, int cols, int t, vf *o, const vf *x)
{
#pragma GCC unroll 6
    for (int r = 0; r < rows; r++) {
        vf acc = {0};
        int any = 0;
#pragma GCC unroll 6
        for (int c = 0; c < cols; c++) {
            const float e = t ? m[c * ld + r] : m[r * ld + c];
            if (e == 0.0f)
                continue;
            const vf term = e == 1.0f ? x[c] : e == -1.0f ? -x[c] : e * x[c];
            acc = any ? acc + term : term;
            any = 1;
        }
        o[r] = acc;
    }
}

/* o (rows x rows) = M x M^T for x (cols x cols), M as in tf1: o[i][j] = sum_p,q M[i][p] M[j][q] x[p][q].
 * Every transform here is one of these: B^T d B, A^T M A, G g G^T and their adjoints. */
TF void tf2(const float *m, int ld, int rows, int cols, int t, vf *o, const vf *x)
{
    vf u[6 * 6], col[6], res[6];
#pragma GCC unroll 6
    for (int p = 0; p < cols; p++) /* u[p][j] = sum_q M[j][q] x[p][q] */
        tf1(m, ld, rows, cols, t, u + p * rows, x + p * cols);
#pragma GCC unroll 6
    for (int j = 0; j < rows; j++) {
#pragma GCC unroll 6
        for (int p = 0; p < cols; p++)
            col[p] = u[p * rows + j];
        tf1(m, ld, rows, cols, t, res, col);
#pragma GCC unroll 6
        for (int i = 0; i < rows; i++)
            o[i * rows + j] = res[i];
    }
}

#define TF_IN(f) &(f)->bt[0][0], 6, (f)->a, (f)->a, 0
#define TF_IN_ADJ(f) &(f)->bt[0][0], 6, (f)->a, (f)->a, 1
#define TF_OUT(f) &(f)->at[0][0], 6, (f)->m, (f)->a, 0
#define TF_OUT_ADJ(f) &(f)->at[0][0], 6, (f)->a, (f)->m, 1
#define TF_KER(f) &(f)->g[0][0], 3, (f)->a, 3, 0
#define TF_KER_ADJ(f) &(f)->g[0][0], 3, 3, (f)->a, 1

/* V[xi * C] (nc floats each, xi < a*a) = B^T d B of the tile whose a x a pixels are src[] (NULL outside the
 * image), at channel c0. */
TF void tile_in(const wino_mats *f, float *V, size_t C, const float *const *src, int c0, int nc)
{
    const int a2 = f->a * f->a;
    vf d[36], v[36];
#pragma GCC unroll 36
    for (int e = 0; e < a2; e++)
        d[e] = src[e] ? vload(src[e] + c0, nc) : (vf){0};
    tf2(TF_IN(f), v, d);
#pragma GCC unroll 36
    for (int e = 0; e < a2; e++)
        vstore(V + e * C, v[e], nc);
}

/* The adjoint of tile_in: B dV B^T added into the tile's pixels dst[] (NULL outside the image). */
TF void tile_in_adjoint(const wino_mats *f, float *const *dst, const float *dV, size_t C, int c0, int nc)
{
    const int a2 = f->a * f->a;
    vf d[36], v[36];
#pragma GCC unroll 36
    for (int e = 0; e < a2; e++)
        v[e] = vload(dV + e * C, nc);
    tf2(TF_IN_ADJ(f), d, v);
#pragma GCC unroll 36
    for (int e = 0; e < a2; e++)
        if (dst[e])
            vstore(dst[e] + c0, vload(dst[e] + c0, nc) + d[e], nc);
}

/* The output tile from M[xi * K] (xi < a*a): A^T M A + b, then the ReLU, into dst[] (m x m pixels, NULL
 * outside the image), at channel k0. */
TF void tile_out(const wino_mats *f, float *const *dst, const float *M, size_t K, const float *b, int relu, int k0,
                 int nk)
{
    const int a2 = f->a * f->a, m2 = f->m * f->m;
    vf v[36], y[16];
#pragma GCC unroll 36
    for (int e = 0; e < a2; e++)
        v[e] = vload(M + e * K, nk);
    tf2(TF_OUT(f), y, v);
    const vf bias = vload(b + k0, nk);
#pragma GCC unroll 16
    for (int e = 0; e < m2; e++) {
        if (!dst[e])
            continue;
        vf o = y[e] + bias;
        if (relu)
            o = vpositive(o, o);
        vstore(dst[e] + k0, o, nk);
    }
}

/* The adjoint of tile_out: dM = A dY A^T into dM[xi * K], dY the gradient at the tile's pixels dy[] (NULL
 * outside the image), masked where out[] was not positive when relu; dY's sum over the tile added to db. */
TF void tile_out_adjoint(const wino_mats *f, float *dM, size_t K, vf *db, const float *const *dy,
                         const float *const *out, int relu, int k0, int nk)
{
    const int a2 = f->a * f->a, m2 = f->m * f->m;
    vf g[16], v[36];
    const vf zero = {0};
#pragma GCC unroll 16
    for (int e = 0; e < m2; e++) {
        if (!dy[e]) {
            g[e] = zero;
            continue;
        }
        vf d = vload(dy[e] + k0, nk);
        if (relu)
            d = vpositive(d, vload(out[e] + k0, nk));
        g[e] = d;
        *db += d;
    }
    tf2(TF_OUT_ADJ(f), v, g);
#pragma GCC unroll 36
    for (int e = 0; e < a2; e++)
        vstore(dM + e * K, v[e], nk);
}

/* U[xi * CK] = G g G^T for the kernel taps w[t * CK] (t < 9, (kh, kw) order), at one (c, k0..) spot, unless
 * U is NULL; the same into Up[xi * CKp] unless Up is NULL (the blocked copy), and lane j into
 * Ut[xi * CKt + j * KB] unless Ut is NULL (the blocked transpose). */
TF void kernel_in(const wino_mats *f, float *U, float *Up, float *Ut, const float *w, size_t CK, size_t CKp,
                  size_t CKt, int nk)
{
    const int a2 = f->a * f->a;
    vf g[9], v[36];
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++)
        g[t] = vload(w + t * CK, nk);
    tf2(TF_KER(f), v, g);
    if (U)
#pragma GCC unroll 36
        for (int e = 0; e < a2; e++)
            vstore(U + e * CK, v[e], nk);
    if (Up)
#pragma GCC unroll 36
        for (int e = 0; e < a2; e++)
            vstore(Up + e * CKp, v[e], nk);
    if (Ut)
        for (int e = 0; e < a2; e++)
            for (int j = 0; j < nk; j++)
                Ut[e * CKt + (size_t)j * KB] = v[e][j];
}

/* The adjoint of kernel_in over the workers' parts: dg = G^T (sum of dU[i][xi * CK]) G, at one spot. */
TF void kernel_in_adjoint(const wino_mats *f, vf *dg, float *const *dU, int parts, size_t CK, int nk)
{
    const int a2 = f->a * f->a;
    vf v[36];
#pragma GCC unroll 36
    for (int e = 0; e < a2; e++) {
        vf s = vload(dU[0] + e * CK, nk);
        for (int i = 1; i < parts; i++)
            s += vload(dU[i] + e * CK, nk);
        v[e] = s;
    }
    tf2(TF_KER_ADJ(f), dg, v);
}

/* Calls fn's inlined copy for the layer's matrices and a whole or partial channel block (nc, last). */
#define DISPATCH(f, nc, fn, ...)                                                                                \
    do {                                                                                                     \
        if ((f)->m == 4 && (nc) == VL)                                                                       \
            fn(&F4, __VA_ARGS__, VL);                                                                        \
        else if ((f)->m == 4)                                                                                \
            fn(&F4, __VA_ARGS__, nc);                                                                        \
        else if ((f)->m == 3 && (nc) == VL)                                                                  \
            fn(&F3, __VA_ARGS__, VL);                                                                        \
        else if ((f)->m == 3)                                                                                \
            fn(&F3, __VA_ARGS__, nc);                                                                        \
        else if ((nc) == VL)                                                                                 \
            fn(&F2, __VA_ARGS__, VL);                                                                        \
        else                                                                                                 \
            fn(&F2, __VA_ARGS__, nc);                                                                        \
    } while (0)

#endif /* VL */

#endif
