/* precision: Keras' dtype policies (float32, mixed_bfloat16), their names, whether this CPU can run them,
 * and which convolutions mixed_bfloat16 runs in bf16 (the rule plan_convs in model.c asks; the bf16 kernels
 * are the winograd row's f2-bf16 variant, src/nn/winograd_plan.c, and the oneDNN row's bf16, src/nn/onednn.c). */
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

/* Which bf16 kernel a layer takes. The winograd backend's F(2x2) with bfloat16 products (f2-bf16) first,
 * wherever it runs (3x3 'same' layers with even channel counts, AVX512_BF16): on a quiet 2-core Zen 4,
 * vgg16 at 48x48, batch 32, forward + backward per layer, it beat both float32's choice (F(4x4) or F(2x2)
 * Winograd, gemm on 3x3 maps) and oneDNN's bf16 direct convolution on every layer past the first:
 * block1_conv2 31.2 ms (float32 31.9, onednn:bf16 37.0), block2 13.7 and 24.5 (15.2 and 28.0; 18.4 and
 * 34.9), block3 12.9 and 24.4 (14.9 and 29.6; 17.3 and 33.9), block4 13.7 and 26.6 (23.3 and 45.0; 18.3 and
 * 43.4), block5 15.0 (21.2; 24.0).
 *
 * Elsewhere (the first layer's 3 channels) oneDNN's bf16 direct convolution, which there runs about twice
 * as fast as float32's direct one (vgg16: 2.9 against 6.2 ms), except on the 512-channel maps of 6x6 and
 * below, where its kernel gradient was measured (oneDNN 2.6, a busy Zen 5) at 100-450 ms a layer inside
 * training steps, 10-40x its forward, against 40-90 ms for float32's backends: those keep float32. */
void precision_bf16_pick(const conv_geom *g, const conv_backend **be, int *algo)
{
    if (conv_backend_winograd.supports(g, CONV_ALGO_F2_BF16)) {
        *be = &conv_backend_winograd;
        *algo = CONV_ALGO_F2_BF16;
    } else if (!(g->c >= 512 && g->oc >= 512 && conv_min_side(g) <= 6) &&
               conv_backend_onednn.supports(g, CONV_ALGO_BF16)) {
        *be = &conv_backend_onednn;
        *algo = CONV_ALGO_BF16;
    }
}
