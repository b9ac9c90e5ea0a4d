/* blas: the thread count of nn's two pools (OpenBLAS's, oneDNN's OpenMP), the one door to OpenBLAS's sgemm
 * (nn_sgemm) and to its thread count, the OpenBLAS kernel name and kernel choice. */
#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_internal.h"

static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* What nn_set_threads last chose; 0 until then (OpenBLAS and OpenMP both start with one per core). */
static int threads_chosen;

/* OpenBLAS 0.3.21 (pthread build) keeps its thread count in one global that openblas_set_num_threads writes
 * and every sgemm reads, with no lock and no per-call count. Held shared by each sgemm nn calls and
 * exclusively by whatever changes the count, so a gemm layer, a Setup timing or a run's start on one thread
 * never meets the one-thread count of a winograd pass on another, and never changes it under that pass.
 * Writers first: a train of sgemm calls on one thread cannot keep a waiting pass out. */
static pthread_rwlock_t blas_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
/* The count a single-threaded pass restores (under blas_lock held exclusively). */
static int count_before_single;

void nn_set_threads(int n)
{
    if (n <= 0)
        n = cores();
    pthread_rwlock_wrlock(&blas_lock);
    openblas_set_num_threads(n);
    __atomic_store_n(&threads_chosen, n, __ATOMIC_RELAXED);
    pthread_rwlock_unlock(&blas_lock);
    onednn_apply_threads();
}

void nn_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    pthread_rwlock_rdlock(&blas_lock);
    cblas_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    pthread_rwlock_unlock(&blas_lock);
}

void nn_blas_single_begin(void)
{
    pthread_rwlock_wrlock(&blas_lock);
    count_before_single = openblas_get_num_threads();
    openblas_set_num_threads(1);
}

void nn_blas_single_end(void)
{
    openblas_set_num_threads(count_before_single);
    pthread_rwlock_unlock(&blas_lock);
}

int nn_threads(void)
{
    int n = __atomic_load_n(&threads_chosen, __ATOMIC_RELAXED);
    return n > 0 ? n : cores();
}

int nn_get_threads(void)
{
    pthread_rwlock_rdlock(&blas_lock);
    int n = openblas_get_num_threads();
    pthread_rwlock_unlock(&blas_lock);
    return n;
}

const char *nn_blas_core(void)
{
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}

/* OpenBLAS falls back to one of these when it does not know the CPU model (0.3.21 does not know Sapphire
 * or Emerald Rapids, for one): kernels from before AVX2. */
static const char *const generic_cores[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", NULL};
/* Kernels of 256-bit AVX2 registers: on a CPU with AVX-512 they leave half of each multiply-add unused (on a
 * 2-core Zen 5, OPENBLAS_CORETYPE=Haswell ran sgemm at 208 GFLOP/s against Cooperlake's 376). */
static const char *const avx2_cores[] = {"Haswell", "Zen", "SandyBridge", NULL};

static int core_in(const char *core, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(core, list[i]) == 0)
            return 1;
    return 0;
}

const char *nn_blas_suggest_core(void)
{
    const char *core = nn_blas_core();
    const int generic = core_in(core, generic_cores), avx2 = core_in(core, avx2_cores);
    if (!generic && !avx2)
        return NULL;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (generic && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    return NULL;
}

/* OpenBLAS picks its kernel when the library loads, before main, so the only way to apply a better one is to
 * start the program again with OPENBLAS_CORETYPE set. The binary, the unit tests and bench all call this
 * first thing, so the tests run the kernel users run. */
void nn_blas_choose_kernel(char **argv)
{
    if (!argv || getenv("VGGTOP_RESTARTED"))
        return; /* once: this is the restarted program, or a child that inherits what it set */
    int changed = 0;
    const char *automatic = getenv("VGGTOP_BLAS_AUTO");
    if (!getenv("OPENBLAS_CORETYPE") && !(automatic && strcmp(automatic, "0") == 0)) {
        const char *core = nn_blas_suggest_core();
        if (core) {
            setenv("OPENBLAS_CORETYPE", core, 1);
            setenv("VGGTOP_BLAS_AUTO", "chosen", 1);
            changed = 1;
        }
    }
    /* Both thread pools (OpenBLAS's own, and libgomp's that oneDNN runs on) spin while idle by default, and
     * on a 2-core machine each pool's spinning takes the cores the other needs: passive waits measured 1.2-5x
     * faster training (see the README's Speed section). Both are read only when the libraries load, hence
     * the restart; a value the user set is kept. */
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
        changed = 1;
    }
    if (!getenv("OPENBLAS_THREAD_TIMEOUT")) {
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1); /* the shortest spin OpenBLAS allows (2^4 cycles) */
        changed = 1;
    }
    if (!changed)
        return;
    setenv("VGGTOP_RESTARTED", "1", 1);
    execv("/proc/self/exe", argv);
    /* No restart possible: carry on as loaded (the variables stay for child processes). */
    unsetenv("VGGTOP_RESTARTED");
    if (automatic == NULL && getenv("VGGTOP_BLAS_AUTO")) {
        unsetenv("OPENBLAS_CORETYPE");
        unsetenv("VGGTOP_BLAS_AUTO");
    }
}

const char *nn_blas_chooser(void)
{
    const char *coretype = getenv("OPENBLAS_CORETYPE"), *automatic = getenv("VGGTOP_BLAS_AUTO");
    if (!coretype)
        return "OPENBLAS_CORETYPE unset";
    if (automatic && strcmp(automatic, "chosen") == 0)
        return "chosen by vggtop from the CPU's features";
    return "from OPENBLAS_CORETYPE";
}
