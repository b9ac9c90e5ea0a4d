/* isa: which copy of nn's own SIMD kernels this CPU runs. A backend with such kernels (winograd) is built
 * three times (portable, AVX2 and FMA, AVX-512F; see the Makefile); a layer's plan takes the copy nn_isa
 * names, so the rule for which CPU gets which copy lives here once. */
#include "nn_internal.h"

/* The best copy plans may take (the tests lower it to run the others on a CPU that has better). */
static int isa_cap = NN_ISA_AVX512;

/* AVX-512F (with AVX2 and FMA, which every such CPU has): the AVX-512 copy; AVX2 and FMA: the AVX2 copy;
 * anything else, or a build for another architecture: the portable one. */
static int cpu_isa(void)
{
#if defined(__x86_64__)
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx2 && __builtin_cpu_supports("avx512f"))
        return NN_ISA_AVX512;
    if (avx2)
        return NN_ISA_AVX2;
#endif
    return NN_ISA_PORTABLE;
}

int nn_isa(void)
{
    const int cpu = cpu_isa(), cap = __atomic_load_n(&isa_cap, __ATOMIC_RELAXED);
    return cpu < cap ? cpu : cap;
}

int nn_set_isa_cap(int cap)
{
    __atomic_store_n(&isa_cap, cap, __ATOMIC_RELAXED);
    return nn_isa();
}
