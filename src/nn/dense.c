/* dense: the Dense layers' forward product y (n, out) = x (n, in) W at a training or inference batch, where
 * OpenBLAS is slow: it packs all of W (in, out) into its own layout at every call for only n rows of use
 * (vgg16's fc2: 32 x 4096 against 4096 x 4096, 9.3-10.7 ms forward on a 2-core Zen 4, about half of its
 * square-matrix rate). Here, on nn's own workers, for batches of up to DENSE_MAX_ROWS rows: x packed (FR
 * rows a column), then for a block of FWD_ROWS rows of W, every block of 2 VL of its columns in turn for
 * every group of FR rows of x, FR x 2 VL sums in registers, added over the row blocks in y; W read from
 * memory once, each column block's next part prefetched (the hardware follows few of the block's
 * streams). fc2 at batch 32 on a 2-core Zen 4: 5.5 ms (195 GFLOP/s, the sgemm reference's rate on square
 * matrices), against 9.4 for sgemm.
 * The backward (dense_step) takes both gradients in one pass over W, block by block of its rows: the input
 * gradient's sums for those rows, W read from memory once, then the kernel gradient or SGD's step on them
 * while they are in the cache, with dy packed twice (along the batch for the first, in panels of columns for
 * the second) and x transposed. fc2 on a 2-core Zen 4, fastest of 31: 12.8-13.7 ms against 18.9-19.4 for
 * sgemm's two products (dense_dyw and dense_xdy with the step fused, which stay for the other shapes).
 *
 * The file is compiled three times like the winograd backend (src/nn/isa.c): as itself, the portable copy,
 * which only dispatches (sgemm there); as src/nn/dense_avx2.c (AVX2, FMA) and as src/nn/dense_avx512.c
 * (AVX-512F). The sums run in another order than sgemm's, so results differ from it in the last bits; a run
 * is repeatable at a fixed thread count and ISA. */
#include <cblas.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "nn_internal.h"

#ifndef DN_ISA
#define DN_ISA NN_ISA_PORTABLE
#endif

#if DN_ISA == NN_ISA_AVX512
#define VL 16
#define FR 8 /* forward: rows of x a group, two vectors of columns: 16 sums of 32 registers (12 rows, 24 sums,
                 * ran 10% slower at batch 32: three groups, the last a third empty; fc2 6.1-6.2 against 5.5-5.6
                 * ms on a 2-core Zen 4, fc1 0.73-0.77 against 0.66-0.70) */
#elif DN_ISA == NN_ISA_AVX2
#define VL 8
#define FR 6 /* 12 sums of 16 registers (four rows: 9.8 ms against 7.8 for fc2 on the Zen 4) */
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

/* ---- backward: dx = dy W^T and the step t = beta t + alpha x^T dy in one pass over W ------------------ */

/* Block by block of W's rows: first those rows dotted with every row of dy (dx's columns), reading them from
 * memory, then the step on them while they are still in the cache, in tiles of SW rows and SV vectors of
 * columns. Rows of W, x and dy lie 16 KB apart in the models' shapes (4,096 columns), so all of them fall in
 * one set of the L1 cache: the step reads x and dy from packed copies, and its tiles are few rows wide
 * (SW rows of SV lines each stay within the cache's ways); read in place they ran at a third of the rate. */
#if VL == 16
#define ACC 24 /* sums a tile keeps in registers: 24 of AVX-512's 32 */
#define SW 6
#else
#define ACC 12 /* of AVX2's 16 */
#define SW 3
#endif
#define SV 4
#define STEP_ROWS_MAX 12 /* W's rows a block, at most: the input gradient's streams from memory */
#define STEP_CHUNK_BYTES (512 << 10)
#define STEP_PF 512      /* floats ahead in W's rows that the input gradient prefetches (2 KB) */

typedef struct step_job {
    float *dx, *t;
    const float *w, *x, *dy;
    float *dyt; /* dy transposed: nb floats (the batch, zero past n) a column of dy */
    float *xt;  /* x transposed: n floats a column of x */
    float *dyp; /* dy in panels of SV VL columns (zero past out), each panel's n rows one after the other */
    int n, nb, in, out, panels;
    int chunk; /* panels of columns a pass over the rows takes (step_blocks) */
    float alpha, beta;
} step_job;

/* Columns c0..c1-1 of src (rows of src_ld floats) as rows of dst, ld floats each: the first rows from src's
 * rows, zeros after them up to ld; src read a cache line of columns at a time down its rows. */
static void transpose(float *dst, int ld, const float *src, int rows, int src_ld, int c0, int c1)
{
    for (int k0 = c0; k0 < c1; k0 += 16) {
        const int k1 = c1 - k0 < 16 ? c1 : k0 + 16;
        for (int i = 0; i < ld; i++)
            for (int k = k0; k < k1; k++)
                dst[(size_t)k * ld + i] = i < rows ? src[(size_t)i * src_ld + k] : 0.0f;
    }
}

/* Each worker packs its share of dy's columns, x's columns and the panels. */
static void step_pack(void *arg, int wk, int nw)
{
    const step_job *J = arg;
    int a, b;
    share(J->out, wk, nw, &a, &b);
    transpose(J->dyt, J->nb, J->dy, J->n, J->out, a, b);
    share(J->in, wk, nw, &a, &b);
    transpose(J->xt, J->n, J->x, J->n, J->in, a, b);
    share(J->panels, wk, nw, &a, &b);
    for (int p = a; p < b; p++) {
        const int k0 = p * SV * VL, m = J->out - k0 < SV * VL ? J->out - k0 : SV * VL;
        for (int i = 0; i < J->n; i++) {
            float *d = J->dyp + ((size_t)p * J->n + i) * SV * VL;
            memcpy(d, J->dy + (size_t)i * J->out + k0, sizeof(float) * m);
            memset(d + m, 0, sizeof(float) * (SV * VL - m));
        }
    }
}

/* R x V sums of zero. */
TF void sums_zero(vf (*s)[4], const int R, const int V)
{
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            s[r][v] = (vf){0};
}

/* The R rows c0.. of a matrix of stride floats a row, rows past nr (the last block's) repeating row c0. */
TF void rows_from(const float **row, const float *base, size_t stride, int c0, int nr, const int R)
{
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
        row[r] = base + (size_t)(c0 + (r < nr ? r : 0)) * stride;
}

/* s[r][v] += a[r][i] b[v] for R rows and V vectors of b (from bp): R broadcasts, V loads, R V FMAs. */
TF void rank1(vf (*s)[4], const float *bp, const float *const *a, int i, const int R, const int V)
{
    vf b[4];
#pragma GCC unroll 4
    for (int v = 0; v < V; v++)
        memcpy(&b[v], bp + v * VL, sizeof b[v]);
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        const vf x = splat(a[r][i]);
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            s[r][v] += x * b[v];
    }
}

/* dx's columns c0..c0+nr-1 (nr <= R): W's rows c0.. dotted with every row of dy over columns kc0..kc1-1,
 * R x NBV sums in registers, stored (kc0 0) or added to dx (rows past nr repeat row c0 and are not stored). */
TF void step_dx(const step_job *J, int c0, int nr, int kc0, int kc1, const int R, const int NBV)
{
    vf s[STEP_ROWS_MAX][4];
    sums_zero(s, R, NBV);
    const float *wr[STEP_ROWS_MAX];
    rows_from(wr, J->w, (size_t)J->out, c0, nr, R);
    const float *d = J->dyt + (size_t)kc0 * NBV * VL;
    for (int k0 = kc0; k0 < kc1; k0 += 16) {
        /* R streams: more than the hardware follows. */
#pragma GCC unroll 12
        for (int r = 0; r < R; r++)
            __builtin_prefetch(wr[r] + k0 + STEP_PF);
        const int k1 = kc1 - k0 < 16 ? kc1 : k0 + 16;
        for (int k = k0; k < k1; k++, d += NBV * VL)
            rank1(s, d, wr, k, R, NBV);
    }
    for (int r = 0; r < nr; r++)
        for (int i = 0; i < J->n; i++) {
            float *o = &J->dx[(size_t)i * J->in + c0 + r];
            *o = kc0 == 0 ? s[r][i / VL][i % VL] : *o + s[r][i / VL][i % VL];
        }
}

/* t's rows c0..c0+nr-1 (nr <= SW), panel p's columns: beta t + alpha x^T dy, SW x SV sums in registers
 * (rows past nr repeat row c0 and are not stored). */
static inline void step_dw(const step_job *J, int c0, int nr, int p)
{
    vf s[SW][SV];
    sums_zero(s, SW, SV);
    const float *xr[SW];
    rows_from(xr, J->xt, (size_t)J->n, c0, nr, SW);
    /* The same rows' next panel of t, which the loads below would otherwise wait for (about a third of the
     * tile's time from the L2 cache). */
    if (p + 1 < J->panels) /* (the next chunk's first panel too: the cache keeps it for a while) */
        for (int r = 0; r < nr; r++)
            for (int v = 0; v < SV; v++)
                __builtin_prefetch(J->t + (size_t)(c0 + r) * J->out + (p + 1) * SV * VL + v * VL, 1);
    const float *dp = J->dyp + (size_t)p * J->n * SV * VL;
    for (int i = 0; i < J->n; i++, dp += SV * VL)
        rank1(s, dp, xr, i, SW, SV);
    const vf alpha = splat(J->alpha), beta = splat(J->beta);
    const int k0 = p * SV * VL, lanes = J->out - k0 < SV * VL ? J->out - k0 : SV * VL;
    const int keep = J->beta != 0.0f; /* BLAS's rule: beta 0 does not read t */
    if (lanes == SV * VL && nr == SW) {
        /* A whole tile: loads and stores of constant size (vload's would call memcpy). */
#pragma GCC unroll 12
        for (int r = 0; r < SW; r++) {
            float *tr = J->t + (size_t)(c0 + r) * J->out + k0;
#pragma GCC unroll 4
            for (int v = 0; v < SV; v++) {
                vf o = alpha * s[r][v];
                if (keep) {
                    vf old;
                    memcpy(&old, tr + v * VL, sizeof old);
                    o += beta * old;
                }
                memcpy(tr + v * VL, &o, sizeof o);
            }
        }
        return;
    }
    for (int r = 0; r < nr; r++) {
        float *tr = J->t + (size_t)(c0 + r) * J->out + k0;
        for (int v = 0; v < SV; v++) {
            const int m = lanes - v * VL > VL ? VL : lanes - v * VL;
            if (m <= 0)
                break;
            vf o = alpha * s[r][v];
            if (keep)
                o += beta * vload(tr + v * VL, m);
            vstore(tr + v * VL, o, m);
        }
    }
}

/* The blocks of R rows (a multiple of SW) of worker wk, NBV vectors of batch, a chunk of J->chunk panels of
 * columns at a time: the two packed copies of a chunk of dy (dyt's and dyp's parts), read again for every
 * block, stay in the L2 cache (the whole of both, 1 MB at fc2's shape, went back to L3 every block). */
TF void step_blocks(const step_job *J, int wk, int nw, const int R, const int NBV)
{
    int b0, b1;
    share((J->in + R - 1) / R, wk, nw, &b0, &b1);
    for (int p0 = 0; p0 < J->panels; p0 += J->chunk) {
        const int p1 = J->panels - p0 < J->chunk ? J->panels : p0 + J->chunk;
        const int kc0 = p0 * SV * VL, kc1 = p1 * SV * VL < J->out ? p1 * SV * VL : J->out;
        for (int b = b0; b < b1; b++) {
            const int c0 = b * R, nr = J->in - c0 < R ? J->in - c0 : R;
            if (J->dx)
                step_dx(J, c0, nr, kc0, kc1, R, NBV);
            for (int p = p0; p < p1; p++)
                for (int r0 = 0; r0 < nr; r0 += SW)
                    step_dw(J, c0 + r0, nr - r0 < SW ? nr - r0 : SW, p);
        }
    }
}

/* R rows a block for NBV vectors of batch: R x NBV sums within ACC, and R rows of W, 16 KB apart in the
 * models, within the L1 cache's 8 ways where the sums allow it (fc2 on a 2-core Zen 4: 12.8-13.7 ms with 6
 * rows, 13.4-14.6 with 12). */
static void step_task(void *arg, int wk, int nw)
{
    const step_job *J = arg;
    switch (J->nb / VL) {
    case 1:
        step_blocks(J, wk, nw, 12, 1);
        break;
    case 2:
        step_blocks(J, wk, nw, 6, 2);
        break;
    case 3:
        step_blocks(J, wk, nw, ACC / 3 / SW * SW, 3);
        break;
    default:
        step_blocks(J, wk, nw, ACC / 4 / SW * SW, 4);
        break;
    }
}

/* 0, or -1 for an empty batch, a batch past 4 vectors or when the packed copies do not fit in memory (the
 * caller runs sgemm). */
static int step_impl(float *dx, float *t, const float *w, const float *x, const float *dy, int n, int in, int out,
                     float alpha, float beta)
{
    if (n < 1 || n > 4 * VL)
        return -1;
    const int nb = (n + VL - 1) / VL * VL, panels = (out + SV * VL - 1) / (SV * VL);
    const size_t dyt_n = (size_t)out * nb, xt_n = (size_t)in * n, dyp_n = (size_t)panels * SV * VL * n;
    float *buf = dense_scratch(dyt_n + xt_n + dyp_n);
    if (!buf)
        return -1;
    /* Half of a 1 MB L2 cache for a chunk's two copies of dy. */
    const int chunk = (int)((STEP_CHUNK_BYTES / sizeof(float)) / ((size_t)(nb + n) * SV * VL));
    step_job J = {.dx = dx, .t = t, .w = w, .x = x, .dy = dy, .dyt = buf, .xt = buf + dyt_n,
                  .dyp = buf + dyt_n + xt_n, .n = n, .nb = nb, .in = in, .out = out, .panels = panels,
                  .chunk = chunk > 0 ? chunk : 1, .alpha = alpha, .beta = beta};
    nn_pool_run(step_pack, &J, nn_threads());
    nn_pool_run(step_task, &J, nn_threads());
    return 0;
}

#endif

#if DN_ISA == NN_ISA_AVX512
int dense_step_avx512(float *dx, float *t, const float *w, const float *x, const float *dy, int n, int in, int out,
                      float alpha, float beta)
{
    return step_impl(dx, t, w, x, dy, n, in, out, alpha, beta);
}
void dense_xw_avx512(float *y, const float *x, const float *w, int n, int in, int out)
{
    forward_impl(y, x, w, n, in, out);
}
#elif DN_ISA == NN_ISA_AVX2
int dense_step_avx2(float *dx, float *t, const float *w, const float *x, const float *dy, int n, int in, int out,
                    float alpha, float beta)
{
    return step_impl(dx, t, w, x, dy, n, in, out, alpha, beta);
}
void dense_xw_avx2(float *y, const float *x, const float *w, int n, int in, int out)
{
    forward_impl(y, x, w, n, in, out);
}
#else
/* Below a million weights sgemm's packing costs little and it was as fast or faster (vgg16's predictions,
 * 4096 x 100: 0.21 against 0.22-0.25 ms). Measured on a 2-core Zen 4 (AVX-512): vgg16's fc1 (512 x 4096)
 * 0.85 against 1.08 ms, fc2 6.6 against 9.5; cnn's fc1 (4096 x 512, 16 column blocks for two workers)
 * 1.13-1.33 against 1.49-1.53 inside training steps (called alone, with W in the cache, both took 0.9). */
#define DENSE_MIN_WEIGHTS ((size_t)1 << 20)
#define DENSE_MIN_COLUMNS 512
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

/* The backward's packed copies, per calling thread: mapped, grown when a call needs more, unmapped when the
 * thread ends. Not malloc'ed at each call: glibc raises its threshold for mapping to the largest mapped
 * block freed, and the heap then kept later buffers of up to that size resident after they were freed. */
typedef struct scratch {
    void *p;
    size_t bytes;
} scratch;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_ok;

static void scratch_drop(void *v)
{
    scratch *s = v;
    munmap(s->p, s->bytes);
    free(s);
}

static void scratch_init(void) { scratch_ok = pthread_key_create(&scratch_key, scratch_drop) == 0; }

float *dense_scratch(size_t floats)
{
    pthread_once(&scratch_once, scratch_init);
    if (!scratch_ok)
        return NULL;
    scratch *s = pthread_getspecific(scratch_key);
    if (!s && (!(s = calloc(1, sizeof *s)) || pthread_setspecific(scratch_key, s) != 0)) {
        free(s);
        return NULL;
    }
    const size_t bytes = sizeof(float) * floats;
    if (s->bytes < bytes) {
        if (s->bytes)
            munmap(s->p, s->bytes);
        s->bytes = 0;
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        s->p = p;
        s->bytes = bytes;
    }
    return s->p;
}

void dense_step(float *dx, float *t, const float *w, const float *x, const float *dy, int n, int in, int out,
                float alpha, float beta)
{
#if defined(__x86_64__)
    const int isa = nn_isa();
    if ((size_t)in * out >= DENSE_MIN_WEIGHTS && isa != NN_ISA_PORTABLE &&
        (isa == NN_ISA_AVX512 ? dense_step_avx512 : dense_step_avx2)(dx, t, w, x, dy, n, in, out, alpha, beta) == 0)
        return;
#endif
    if (dx)
        dense_dyw(dx, dy, w, n, in, out);
    dense_xdy(t, x, dy, n, in, out, alpha, beta);
}
#endif
