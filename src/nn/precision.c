/* precision: Keras' dtype policies (float32, mixed_bfloat16), their names, and whether this CPU can run
 * them. What a policy changes in a pass is model.c's (plan_convs) and the oneDNN row's (its bf16 variant). */
#include <cpuid.h>
#include <string.h>

#include "nn_internal.h"

static const char *const precision_names[] = {"float32", "mixed_bfloat16"};

const char *nn_precision_name(nn_precision p)
{
    return p == NN_PREC_MIXED_BF16 ? precision_names[1] : precision_names[0];
}

int nn_precision_parse(const char *name, nn_precision *out, const char *what, vt_err *err)
{
    for (int k = 0; k < 2; k++)
        if (name && strcmp(name, precision_names[k]) == 0) {
            *out = (nn_precision)k;
            return VT_OK;
        }
    return vt_fail(err, VT_EUSAGE, "%s: unknown precision '%s' (expected %s)", what, name ? name : "",
                   NN_PRECISION_CHOICES);
}

/* cpuid leaf 7: sub-leaf 1 EAX bit 5 is AVX512_BF16, sub-leaf 0 EDX bit 22 AMX-BF16. */
static int cpu_has_bf16(void)
{
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    int amx = (d >> 22) & 1;
    unsigned max_sub = a;
    int avx512 = 0;
    if (max_sub >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        avx512 = (a >> 5) & 1;
    }
    return avx512 || amx;
}

int nn_precision_check(nn_precision p, vt_err *err)
{
    if (p != NN_PREC_MIXED_BF16)
        return VT_OK;
    if (!cpu_has_bf16())
        return vt_fail(err, VT_EUSAGE,
                       "--precision mixed_bfloat16 needs a CPU with AVX512_BF16 or AMX, and this one has neither "
                       "(use float32)");
    /* A VGG block-3 layer: where oneDNN has its bf16 kernels, it has them for this one. */
    conv_geom g;
    conv_geom_init(&g, 32, 12, 12, 256, 256, 3, 3, 1, 1);
    if (!conv_backend_onednn.supports(&g, CONV_ALGO_BF16))
        return vt_fail(err, VT_EUSAGE,
                       "--precision mixed_bfloat16: oneDNN has no optimised bfloat16 convolution here (is "
                       "ONEDNN_MAX_CPU_ISA set below AVX512_CORE_BF16?); use float32");
    return VT_OK;
}
