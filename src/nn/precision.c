/* precision: Keras' dtype policies (float32, mixed_bfloat16), their names, whether this CPU can run them,
 * and which convolutions mixed_bfloat16 runs in bf16 (the rule plan_convs in model.c asks; the bf16 kernels
 * are the oneDNN row's bf16 variant, src/nn/onednn.c). */
#include <cpuid.h>
#include <string.h>

#include "nn_internal.h"

const char *const nn_precision_names[] = {"float32", "mixed_bfloat16", NULL};

const char *nn_precision_name(nn_precision p)
{
    return p == NN_PREC_MIXED_BF16 ? nn_precision_names[1] : nn_precision_names[0];
}

int nn_precision_parse(const char *name, nn_precision *out, const char *what, vt_err *err)
{
    for (int k = 0; k < 2; k++)
        if (name && strcmp(name, nn_precision_names[k]) == 0) {
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

/* Measured with oneDNN 2.6 on a 2-core Zen 5 (AVX512_BF16), vgg16 at batch 32, on a busy machine: the bf16
 * direct convolution runs forward and backward about 3x as fast as the float32 direct one (130-170 GFLOP/s
 * against 45-60), except its kernel gradient with 512 input and 512 output channels on maps of 6x6 and
 * below: 100-450 ms a layer inside training steps (5-25 GFLOP/s), 10-40x its forward, where the float32
 * backends take 40-90 ms. (The same primitive timed alone took 15-40 ms: it seems to suffer from the
 * machine's load far more than the others, which was not pinned down.) Those layers keep their float32
 * backend. */
int precision_takes_bf16(const conv_geom *g)
{
    if (g->c >= 512 && g->oc >= 512 && conv_min_side(g) <= 6)
        return 0;
    return conv_backend_onednn.supports(g, CONV_ALGO_BF16);
}
