/* dense: the Dense layers' forward product y (n, out) = x (n, in) W at a training or inference batch, where
 * OpenBLAS is slow: it packs all of W (in, out) into its own layout at every call for only n rows of use
 * (vgg16's fc2: 32 x 4096 against 4096 x 4096, 9.3-10.7 ms forward on a 2-core Zen 4, about half of its
 * square-matrix rate). Here, on nn's own workers, for batches of up to DENSE_MAX_ROWS rows: x packed (FR
 * rows a column), then for a block of FWD_ROWS rows of W, every block of 2 VL of its columns in turn for
 * every group of FR rows of x, FR x 2 VL sums in registers, added over the row blocks in y; W read from
 * memory once, each column block's next part prefetched (the hardware follows few of the block's
 * streams). fc2: 6.6 ms.
 * The gradients stay with sgemm (dense_dyw, dense_xdy): the input gradient as a dot-product kernel along
 * W's rows took 19 ms against sgemm's 11.5 on fc2, and the kernel gradient, bound by W's 128 MB of traffic
 * with SGD's step fused in, was no faster (7.5-10 against 7.5-8.8 ms).
 *
 * The file is compiled three times like the winograd backend (src/nn/isa.c): as itself, the portable copy,
 * which only dispatches (sgemm there); as src/nn/dense_avx2.c (AVX2, FMA) and as src/nn/dense_avx512.c
 * (AVX-512F). The sums run in another order than sgemm's, so results differ from it in the last bits; a run
 * is repeatable at a fixed thread count and ISA. */
#include <cblas.h>
#include <stddef.h>
#include <string.h>

#include "nn_internal.h"

#ifndef DN_ISA
#define DN_ISA NN_ISA_PORTABLE
#endif

#if DN_ISA == NN_ISA_AVX512
#define VL 16
#define FR 12 /* forward: rows of x a group, two vectors of columns: 24 sums of 32 registers */
#elif DN_ISA == NN_ISA_AVX2
#define VL 8
#define FR 6 /* 12 sums of 16 registers */
#else
#define VL 4
#endif

#include "nn_vec.h"

#if DN_ISA != NN_ISA_PORTABLE
/* What a task of the pool needs. */
typedef struct dense_job {
    const float *x, *w;
    float *y;
    int n, in, out;
    int cols; /* the columns the kernel covers (a multiple of 2 VL); the rest go to sgemm */
} dense_job;

/* a in every lane: lane 0 shuffled everywhere, one broadcast (0 + a would be an addition the compiler must
 * keep, for a = -0; a loop over the lanes compiles to one masked broadcast a lane). */
TF vf splat(float a)
{
    const vf v = {a};
    return __builtin_shuffle(v, (vi){0});
}

/* W's rows a forward block sums over before the next column block: a block of W (FWD_ROWS rows of 2 VL
 * columns) stays in the L1 cache for every group of rows of x, and its pages in the TLB for the next
 * columns (a block down all 4096 rows of fc2's W touched 4096 pages and ran at half of sgemm's rate). */
#define FWD_ROWS 128

/* y rows r0..r0+nr-1 (nr <= FR), columns k0..k0+2VL-1, the sums over W's rows c0..c1-1 (added to y's unless
 * c0 is 0); xp: x's rows r0.. and columns c0..c1-1 packed column by column, FR floats each (zeros past nr). */
static void forward_block(const dense_job *J, const float *xp, int r0, int nr, int k0, int c0, int c1)
{
    vf s[FR][2];
#pragma GCC unroll 12
    for (int i = 0; i < FR; i++)
        s[i][0] = s[i][1] = (vf){0};
    if (c0 > 0)
        for (int i = 0; i < nr; i++) {
            const float *yr = J->y + (size_t)(r0 + i) * J->out + k0;
            memcpy(&s[i][0], yr, sizeof s[i][0]);
            memcpy(&s[i][1], yr + VL, sizeof s[i][1]);
        }
    const float *w = J->w + (size_t)c0 * J->out + k0;
    for (int c = c0; c < c1; c++, w += J->out, xp += FR) {
        vf b0, b1;
        memcpy(&b0, w, sizeof b0);
        memcpy(&b1, w + VL, sizeof b1);
        /* The next column block's part of this row: the hardware follows no more than a few of the
         * block's FWD_ROWS streams. */
        __builtin_prefetch(w + 2 * VL);
        __builtin_prefetch(w + 2 * VL + 16);
#pragma GCC unroll 12
        for (int i = 0; i < FR; i++) {
            const vf a = splat(xp[i]);
            s[i][0] += a * b0;
            s[i][1] += a * b1;
        }
    }
    for (int i = 0; i < nr; i++) {
        float *yr = J->y + (size_t)(r0 + i) * J->out + k0;
        memcpy(yr, &s[i][0], sizeof s[i][0]);
        memcpy(yr + VL, &s[i][1], sizeof s[i][1]);
    }
}

/* The groups of rows of x a worker packs at once: DENSE_MAX_ROWS rows. */
#define GROUPS ((DENSE_MAX_ROWS + FR - 1) / FR)

static void forward_task(void *arg, int wk, int nw)
{
    const dense_job *J = arg;
    int b0, b1;
    share(J->cols / (2 * VL), wk, nw, &b0, &b1);
    float xp[GROUPS][FWD_ROWS * FR];
    for (int c0 = 0; c0 < J->in; c0 += FWD_ROWS) {
        const int c1 = J->in - c0 < FWD_ROWS ? J->in : c0 + FWD_ROWS;
        for (int r0 = 0, g = 0; r0 < J->n; r0 += FR, g++)
            for (int c = c0; c < c1; c++)
                for (int i = 0; i < FR; i++)
                    xp[g][(c - c0) * FR + i] = r0 + i < J->n ? J->x[(size_t)(r0 + i) * J->in + c] : 0.0f;
        for (int b = b0; b < b1; b++)
            for (int r0 = 0, g = 0; r0 < J->n; r0 += FR, g++)
                forward_block(J, xp[g], r0, J->n - r0 < FR ? J->n - r0 : FR, b * 2 * VL, c0, c1);
    }
}

static void forward_impl(float *y, const float *x, const float *w, int n, int in, int out)
{
    dense_job J = {.x = x, .w = w, .y = y, .n = n, .in = in, .out = out, .cols = out / (2 * VL) * (2 * VL)};
    nn_pool_run(forward_task, &J, nn_threads());
    if (J.cols < out) /* the last columns, fewer than a block */
        nn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, out - J.cols, in, 1.0f, x, in, w + J.cols, out, 0.0f,
                 y + J.cols, out);
}

#endif

#if DN_ISA == NN_ISA_AVX512
void dense_xw_avx512(float *y, const float *x, const float *w, int n, int in, int out)
{
    forward_impl(y, x, w, n, in, out);
}
#elif DN_ISA == NN_ISA_AVX2
void dense_xw_avx2(float *y, const float *x, const float *w, int n, int in, int out)
{
    forward_impl(y, x, w, n, in, out);
}
#else
/* Below a million weights sgemm's packing costs little and it was as fast or faster (vgg16's predictions,
 * 4096 x 100: 0.21 against 0.22-0.25 ms), and so with few columns, which leave each worker few column blocks
 * for a packed block of x (cnn's fc1, 4096 x 512: 0.94-1.01 against 1.02-1.79 ms). Measured on a 2-core
 * Zen 4 (AVX-512): vgg16's fc1 (512 x 4096) 0.85 against 1.08 ms, fc2 6.6 against 9.5. */
#define DENSE_MIN_WEIGHTS ((size_t)1 << 20)
#define DENSE_MIN_COLUMNS 2048
/* The copy's kernel for this call, or NULL for sgemm. */
typedef void (*dense_fn)(float *y, const float *x, const float *w, int n, int in, int out);
static dense_fn kernel_for(int n, int in, int out)
{
#if defined(__x86_64__)
    const int isa = nn_isa();
    if (n > DENSE_MAX_ROWS || (size_t)in * out < DENSE_MIN_WEIGHTS || out < DENSE_MIN_COLUMNS ||
        isa == NN_ISA_PORTABLE)
        return NULL;
    return isa == NN_ISA_AVX512 ? dense_xw_avx512 : dense_xw_avx2;
#else
    (void)n, (void)in, (void)out;
    return NULL;
#endif
}

void dense_xw(float *y, const float *x, const float *w, int n, int in, int out)
{
    const dense_fn k = kernel_for(n, in, out);
    if (k)
        k(y, x, w, n, in, out);
    else
        nn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, out, in, 1.0f, x, in, w, out, 0.0f, y, out);
}

void dense_dyw(float *dx, const float *dy, const float *w, int n, int in, int out)
{
    nn_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, in, out, 1.0f, dy, out, w, out, 0.0f, dx, in);
}

void dense_xdy(float *dw, const float *x, const float *dy, int n, int in, int out, float alpha, float beta)
{
    nn_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, n, alpha, x, in, dy, out, beta, dw, out);
}
#endif
