/* resize: bicubic resampling of uint8 images that equals OpenCV's cv2.resize(..., INTER_CUBIC).
 *
 * What OpenCV does, and so what we do:
 * - pixel centres map onto each other: source x = (dx + 0.5) * (sw / dw) - 0.5, computed in double and
 *   rounded to float; the integer part picks 4 taps (x-1 .. x+2), the fraction their weights;
 * - the weights are Keys' cubic convolution kernel with A = -0.75 (not the -0.5 of most other libraries),
 *   turned into 11-bit fixed point (x 2048, rounded to nearest);
 * - taps past the border repeat the edge pixel (BORDER_REPLICATE);
 * - rows are resampled horizontally into ints, then columns vertically; the sum (scaled by 2048 * 2048)
 *   is rounded and saturated to [0, 255].
 * OpenCV's SIMD vertical pass rounds in float, its scalar tail in integers; we follow both (see
 * resize_plan_run), which matches Debian's OpenCV 4.6 exactly on the fixtures in tests/fixtures/data/
 * (the contract, and the test, is within one grey level). Downscaling uses the same 4 taps (no
 * anti-aliasing), exactly as OpenCV does. */
#include "data_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The vertical pass uses SSE2 on x86-64, else GCC/clang vector extensions (same arithmetic). */
#if defined(__SSE2__) && !defined(VT_RESIZE_PORTABLE)
#define RESIZE_SSE2 1
#include <emmintrin.h>
#else
#define RESIZE_SSE2 0
#endif

enum { COEF_BITS = 11, COEF_SCALE = 1 << COEF_BITS };

/* Keys' kernel weights of the 4 taps at offsets -1, 0, 1, 2 for a fraction x in [0, 1), in float as
 * OpenCV computes them (the last is 1 minus the others, so they sum to 1 exactly in float). */
static void cubic_weights(float x, float w[4])
{
    const float A = -0.75f;
    w[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
    w[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
    w[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
    w[3] = 1.f - w[0] - w[1] - w[2];
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The taps of one axis: for each destination index, 4 clamped source indices and fixed-point weights. */
static void plan_axis(int src, int dst, int *idx, short *wt)
{
    /* OpenCV stores the inverse scale and inverts it again; keep the same double rounding. */
    double scale = 1.0 / ((double)dst / src);
    for (int d = 0; d < dst; d++) {
        float f = (float)((d + 0.5) * scale - 0.5);
        int s = (int)floorf(f);
        f -= (float)s;
        float w[4];
        cubic_weights(f, w);
        for (int k = 0; k < 4; k++) {
            idx[d * 4 + k] = clampi(s - 1 + k, 0, src - 1);
            float v = rintf(w[k] * COEF_SCALE); /* round half to even, as cvRound */
            wt[d * 4 + k] = (short)(v > 32767.f ? 32767 : v < -32768.f ? -32768 : v);
        }
    }
}

int resize_plan_init(resize_plan *p, int sh, int sw, int c, int dh, int dw)
{
    memset(p, 0, sizeof *p);
    p->sh = sh, p->sw = sw, p->c = c, p->dh = dh, p->dw = dw;
    p->xcol = malloc(sizeof(int) * 4 * (size_t)dw);
    p->alpha = malloc(sizeof(short) * 4 * (size_t)dw);
    p->yrow = malloc(sizeof(int) * 4 * (size_t)dh);
    p->beta = malloc(sizeof(short) * 4 * (size_t)dh);
    p->rows = malloc(sizeof(int) * (size_t)sh * (size_t)dw * (size_t)c);
    if (!p->xcol || !p->alpha || !p->yrow || !p->beta || !p->rows) {
        resize_plan_free(p);
        return -1;
    }
    plan_axis(sw, dw, p->xcol, p->alpha);
    for (int i = 0; i < 4 * dw; i++)
        p->xcol[i] *= c;
    plan_axis(sh, dh, p->yrow, p->beta);
    return 0;
}

void resize_plan_free(resize_plan *p)
{
    free(p->xcol);
    free(p->alpha);
    free(p->yrow);
    free(p->beta);
    free(p->rows);
    memset(p, 0, sizeof *p);
}

/* One source row (sw, c) -> (dw, c) ints scaled by 2048. Written out for 1 and 3 channels (grey, RGB)
 * so the compiler unrolls them; the general loop serves 2 and 4. */
#define HRESIZE_ROW(name, C)                                                                                 \
    static void name(const resize_plan *p, const uint8_t *s, int *d)                                          \
    {                                                                                                         \
        const int c = (C);                                                                                    \
        for (int dx = 0; dx < p->dw; dx++, d += c) {                                                          \
            const int *col = p->xcol + dx * 4;                                                                \
            const short *a = p->alpha + dx * 4;                                                               \
            const uint8_t *s0 = s + col[0], *s1 = s + col[1], *s2 = s + col[2], *s3 = s + col[3];             \
            for (int ch = 0; ch < c; ch++)                                                                    \
                d[ch] = s0[ch] * a[0] + s1[ch] * a[1] + s2[ch] * a[2] + s3[ch] * a[3];                        \
        }                                                                                                     \
    }
HRESIZE_ROW(hresize_row1, 1)
HRESIZE_ROW(hresize_row3, 3)
HRESIZE_ROW(hresize_rowc, p->c)

static void hresize_row(const resize_plan *p, const uint8_t *s, int *d)
{
    if (p->c == 3)
        hresize_row3(p, s, d);
    else if (p->c == 1)
        hresize_row1(p, s, d);
    else
        hresize_rowc(p, s, d);
}

#if !RESIZE_SSE2
/* Four lanes of float through GCC/clang vector extensions (NEON on arm64, scalar code elsewhere). */
typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));
typedef uint8_t v4b __attribute__((vector_size(4)));

static inline v4f load4(const int *p)
{
    v4i v;
    memcpy(&v, p, sizeof v);
    return __builtin_convertvector(v, v4f);
}
#endif

void resize_plan_run(resize_plan *p, const uint8_t *src, uint8_t *dst)
{
    const int n = p->dw * p->c;
    const size_t srow = (size_t)p->sw * (size_t)p->c;
    for (int y = 0; y < p->sh; y++)
        hresize_row(p, src + (size_t)y * srow, p->rows + (size_t)y * (size_t)n);
    for (int dy = 0; dy < p->dh; dy++) {
        const int *r0 = p->rows + (size_t)p->yrow[dy * 4 + 0] * (size_t)n;
        const int *r1 = p->rows + (size_t)p->yrow[dy * 4 + 1] * (size_t)n;
        const int *r2 = p->rows + (size_t)p->yrow[dy * 4 + 2] * (size_t)n;
        const int *r3 = p->rows + (size_t)p->yrow[dy * 4 + 3] * (size_t)n;
        const int b0 = p->beta[dy * 4 + 0], b1 = p->beta[dy * 4 + 1];
        const int b2 = p->beta[dy * 4 + 2], b3 = p->beta[dy * 4 + 3];
        uint8_t *out = dst + (size_t)dy * (size_t)n;
        /* OpenCV's SIMD loop (16 bytes at a time) drops the two fixed-point scales into the weights and
         * sums in float, rounding half to even; its scalar tail sums in ints and rounds ties up. Doing
         * the same, in the same order, makes us equal to it bit for bit, not just within one level. */
        const float sc = 1.f / (float)(COEF_SCALE * COEF_SCALE);
        const float f0 = (float)b0 * sc, f1 = (float)b1 * sc, f2 = (float)b2 * sc, f3 = (float)b3 * sc;
        const int simd_end = n / 16 * 16;
        int i = 0;
#if RESIZE_SSE2
        /* x86-64: OpenCV's own instructions (cvtps2dq rounds half to even; the packs saturate to 0..255). */
        const __m128 w0 = _mm_set1_ps(f0), w1 = _mm_set1_ps(f1), w2 = _mm_set1_ps(f2), w3 = _mm_set1_ps(f3);
        for (; i < simd_end; i += 16) {
            __m128i q[4];
            for (int k = 0; k < 4; k++) {
                const int j = i + 4 * k;
                __m128 v = _mm_add_ps(_mm_mul_ps(_mm_cvtepi32_ps(_mm_loadu_si128((const __m128i *)(r0 + j))), w0),
                                      _mm_mul_ps(_mm_cvtepi32_ps(_mm_loadu_si128((const __m128i *)(r1 + j))), w1));
                v = _mm_add_ps(v, _mm_mul_ps(_mm_cvtepi32_ps(_mm_loadu_si128((const __m128i *)(r2 + j))), w2));
                v = _mm_add_ps(v, _mm_mul_ps(_mm_cvtepi32_ps(_mm_loadu_si128((const __m128i *)(r3 + j))), w3));
                q[k] = _mm_cvtps_epi32(v);
            }
            __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(q[0], q[1]), _mm_packs_epi32(q[2], q[3]));
            _mm_storeu_si128((__m128i *)(out + i), bytes);
        }
#else
        /* Adding and subtracting 1.5 * 2^23 rounds a float below 2^22 to an integer, half to even (in the
         * default rounding mode), like rintf and cvRound; our sums stay within -100..400. */
        const float magic = 12582912.0f;
        for (; i < simd_end; i += 4) {
            v4f v = load4(r0 + i) * f0 + load4(r1 + i) * f1;
            v = v + load4(r2 + i) * f2;
            v = v + load4(r3 + i) * f3;
            v = (v + magic) - magic;
            v4i q = __builtin_convertvector(v, v4i);
            q = q & ~(q < 0);
            v4i over = q > 255;
            q = (q & ~over) | (over & 255);
            v4b bytes = __builtin_convertvector(q, v4b);
            memcpy(out + i, &bytes, sizeof bytes);
        }
#endif
        for (; i < n; i++) {
            /* |sum| <= 255 * 2816 * 2816 < 2^31: the weights' absolute sum peaks at 1.375 * 2048. GCC
             * shifts negative ints arithmetically (floor), as OpenCV's FixedPtCast relies on. */
            int v = r0[i] * b0 + r1[i] * b1 + r2[i] * b2 + r3[i] * b3;
            out[i] = (uint8_t)clampi((v + (1 << (2 * COEF_BITS - 1))) >> (2 * COEF_BITS), 0, 255);
        }
    }
}

int image_resize_bicubic(const uint8_t *src, int sh, int sw, int c, uint8_t *dst, int dh, int dw)
{
    resize_plan p;
    if (resize_plan_init(&p, sh, sw, c, dh, dw) != 0)
        return -1;
    resize_plan_run(&p, src, dst);
    resize_plan_free(&p);
    return 0;
}

/* ---- many images on a few threads ---------------------------------------------------------------- */

typedef struct resize_job {
    const uint8_t *src;
    uint8_t *dst;
    long first, count;
    int sh, sw, c, dh, dw;
    int failed;
} resize_job;

static void *resize_worker(void *arg)
{
    resize_job *j = arg;
    resize_plan p;
    if (resize_plan_init(&p, j->sh, j->sw, j->c, j->dh, j->dw) != 0) {
        j->failed = 1;
        return NULL;
    }
    const size_t in = (size_t)j->sh * (size_t)j->sw * (size_t)j->c;
    const size_t out = (size_t)j->dh * (size_t)j->dw * (size_t)j->c;
    for (long i = j->first; i < j->first + j->count; i++)
        resize_plan_run(&p, j->src + (size_t)i * in, j->dst + (size_t)i * out);
    resize_plan_free(&p);
    return NULL;
}

int resize_images(const uint8_t *src, long n, int sh, int sw, int c, uint8_t *dst, int dh, int dw, int threads)
{
    enum { MAX_THREADS = 8 };
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (n < 256L * threads) /* not worth a thread */
        threads = 1;
    resize_job jobs[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    long per = n / threads, rest = n % threads, first = 0;
    for (int t = 0; t < threads; t++) {
        long count = per + (t < rest ? 1 : 0);
        jobs[t] = (resize_job){src, dst, first, count, sh, sw, c, dh, dw, 0};
        first += count;
    }
    /* Job 0 runs on this thread; a helper that cannot start has its share done here too. */
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&tid[t], NULL, resize_worker, &jobs[t]) == 0;
    resize_worker(&jobs[0]);
    int failed = jobs[0].failed;
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            resize_worker(&jobs[t]);
        failed |= jobs[t].failed;
    }
    return failed ? -1 : 0;
}
