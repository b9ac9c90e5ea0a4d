/* vggtop bench: the FMA limit of this CPU, the physical ceiling the per-layer GFLOP/s are measured against.
 *
 * Each of the bench's threads runs a loop of independent fused multiply-adds on the widest vectors the CPU
 * has (AVX-512: 16 floats, AVX2 + FMA: 8; otherwise SSE multiply then add, 4), all threads at once, so the
 * sum is what the cores together can issue: two FMA pipes a core on Zen 4/5 and most Xeons. ACC independent
 * accumulators cover the FMA latency (4 cycles x 2 pipes = 8 in flight). The loop is a few hundred
 * milliseconds of work, timed several times, and the best rate is the limit (a stall only lowers a rate). */
#include <immintrin.h>
#include <pthread.h>
#include <string.h>

#include "bench_internal.h"
#include "vggtop/util.h"

enum { ACC = 12, FMA_ROUNDS = 3 }; /* ACC is also the unroll count of the loops below */
/* Iterations of the inner loop per timing: ACC FMAs each, about 0.1 s a thread at AVX-512 on a 3 GHz core. */
#define FMA_ITERS 40000000L

typedef struct fma_job {
    long iters;
    float sink; /* keeps the accumulators alive */
} fma_job;

/* One loop per vector width: ACC accumulators, each x = x * a + b per iteration (x shrinks towards a fixed
 * point, so nothing overflows or goes subnormal); the first lane of each is summed so none is dead code. */
#define FMA_LOOP(name, isa, vec, set1, step)                                                               \
    __attribute__((target(isa))) static float name(long iters)                                                \
    {                                                                                                         \
        vec acc[ACC], a = set1(0.999999f), b = set1(1e-7f);                                                   \
        for (int k = 0; k < ACC; k++)                                                                         \
            acc[k] = set1((float)k);                                                                          \
        for (long i = 0; i < iters; i++) {                                                                    \
            _Pragma("GCC unroll 12") for (int k = 0; k < ACC; k++) acc[k] = step(acc[k], a, b);               \
        }                                                                                                     \
        float s = 0, lane;                                                                                    \
        for (int k = 0; k < ACC; k++) {                                                                       \
            memcpy(&lane, &acc[k], sizeof lane);                                                              \
            s += lane;                                                                                        \
        }                                                                                                     \
        return s;                                                                                             \
    }

#define SSE_MUL_ADD(x, a, b) _mm_add_ps(_mm_mul_ps(x, a), b)
FMA_LOOP(fma_loop_avx512, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps)
FMA_LOOP(fma_loop_avx2, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps)
FMA_LOOP(fma_loop_sse, "sse2", __m128, _mm_set1_ps, SSE_MUL_ADD)

/* The widest loop this CPU runs and its floats per vector. */
static float (*fma_pick(int *lanes, const char **isa))(long)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        *lanes = 16;
        *isa = "AVX-512";
        return fma_loop_avx512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *lanes = 8;
        *isa = "AVX2+FMA";
        return fma_loop_avx2;
    }
    *lanes = 4;
    *isa = "SSE (no FMA)";
    return fma_loop_sse;
}

static float (*fma_loop)(long);

static void *fma_thread(void *arg)
{
    fma_job *job = arg;
    job->sink = fma_loop(job->iters);
    return NULL;
}

double bench_fma_limit(int threads, const char **isa)
{
    enum { MAX_THREADS = 256 };
    int lanes;
    fma_loop = fma_pick(&lanes, isa);
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    pthread_t tid[MAX_THREADS];
    fma_job jobs[MAX_THREADS];
    double best = 0;
    for (int round = 0; round <= FMA_ROUNDS; round++) { /* round 0 warms the clocks up, untimed */
        long iters = round == 0 ? FMA_ITERS / 4 : FMA_ITERS;
        int started = 0;
        double t0 = vt_now();
        for (int t = 0; t < threads; t++) {
            jobs[t] = (fma_job){.iters = iters};
            if (t > 0 && pthread_create(&tid[t], NULL, fma_thread, &jobs[t]) != 0)
                break;
            started = t + 1;
        }
        fma_thread(&jobs[0]);
        for (int t = 1; t < started; t++)
            pthread_join(tid[t], NULL);
        double secs = vt_now() - t0;
        /* an FMA is 2 FLOPs a lane; the SSE loop's multiply and add are 2 FLOPs too */
        double gflops = (double)started * (double)iters * ACC * lanes * 2.0 / secs / 1e9;
        if (round > 0 && gflops > best)
            best = gflops;
    }
    return best;
}
