/* Unit tests of the convolution backend table (src/nn/conv.c and the rows in onednn.c, winograd.c): the
 * names and choices built from the rows, parsing, and the ranking behind "auto" and a backend named alone,
 * on made-up layer shapes and made-up CPUs (what oneDNN can run there), so every expectation holds on any
 * machine: nothing here asks this CPU what it picks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vggtop/nn.h"
#include "nn_testing.h"

/* ---- names ------------------------------------------------------------------------------------------- */

/* The literal that static help tables use says what the rows say. */
static void choices_come_from_the_rows(void **state)
{
    (void)state;
    char buf[512];
    conv_choices_join(buf, sizeof buf);
    assert_string_equal(buf, NN_CONV_CHOICES);
}

/* Every ranked variant's label parses back to it; "auto", "timed" and the reference parse; wrong names and
 * variants do not. */
static void labels_parse_back(void **state)
{
    (void)state;
    conv_pick picks[32], p;
    int n = conv_variants_ranked(picks, 32);
    assert_true(n >= 5); /* gemm, oneDNN's two, the winograd backend's two tiles */
    for (int i = 0; i < n; i++) {
        char label[32];
        conv_label(label, sizeof label, picks[i].be, picks[i].algo);
        assert_int_equal(conv_pick_parse(label, strlen(label), &p), 0);
        assert_ptr_equal(p.be, picks[i].be);
        assert_int_equal(p.algo, picks[i].algo);
        assert_null(strstr(label, "naive")); /* the reference is never chosen */
    }
    assert_int_equal(conv_pick_parse("auto", 4, &p), 0);
    assert_null(p.be);
    assert_false(p.timed);
    assert_int_equal(conv_pick_parse("timed", 5, &p), 0);
    assert_true(p.timed);
    assert_int_equal(conv_pick_parse("naive", 5, &p), 0);
    assert_string_equal(p.be->name, "naive");
    assert_int_equal(conv_pick_parse("onednn", 6, &p), 0);
    assert_int_equal(p.algo, CONV_ALGO_ANY);
    const char *bad[] = {"", "cudnn", "gemm:direct", "onednn:", "onednn:f4", "winograd:f5", "timed:x", "auto:f2"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        assert_int_equal(conv_pick_parse(bad[k], strlen(bad[k]), &p), -1);
}

/* ---- the ranking on made-up CPUs ---------------------------------------------------------------------- */

/* What a CPU's libraries can run: oneDNN's optimised direct kernels from direct_min_c input channels
 * (below that, or without oneDNN, only its reference loops), its Winograd (AVX-512 in oneDNN 2.x) for 3x3
 * stride-1 kernels. The other backends' answers depend on the shape only, so they are asked. */
typedef struct fake_cpu {
    const char *name;
    int onednn, onednn_winograd, direct_min_c;
} fake_cpu;

static const fake_cpu AVX512 = {"AVX-512", 1, 1, 1};
static const fake_cpu AVX2 = {"AVX2", 1, 0, 1};
static const fake_cpu AVX2_DEEP = {"AVX2, direct kernels from 8 channels", 1, 0, 8};
static const fake_cpu NO_ONEDNN = {"no oneDNN", 0, 0, 1};

static int fake_can(void *ctx, const conv_backend *be, int algo, const conv_geom *g)
{
    const fake_cpu *cpu = ctx;
    if (strcmp(be->name, "onednn") != 0)
        return be->supports(g, algo);
    if (algo == CONV_ALGO_DIRECT)
        return cpu->onednn && g->c >= cpu->direct_min_c;
    if (algo == CONV_ALGO_WINOGRAD)
        return cpu->onednn_winograd && g->kh == 3 && g->kw == 3 && g->stride == 1;
    return 0;
}

typedef struct rank_case {
    const fake_cpu *cpu;
    int side, c, k, stride; /* input side x side x c, a k x k kernel, 'same' */
    const char *choice;     /* as model_set_conv takes one entry */
    const char *want;       /* what it resolves to, NULL: it cannot run */
} rank_case;

/* The rule as it stands (the ranks in the rows): the winograd backend's F(4x4) on output maps of 8x8 or
 * more from 32 input channels; oneDNN's Winograd where oneDNN has it on the other maps of 8x8 or more from 8
 * input channels;
 * the winograd backend's F(3x3) on maps of 6x6 and 3x3 from 32 input channels; the unrolled backend on maps of
 * 2x2 and under with 32+ input channels; gemm on the other maps under 4x4 with 32+ input channels; the
 * winograd backend's F(2x2) from 32 input channels below 8x8; oneDNN's direct convolution where it has
 * optimised kernels; else gemm. A change of a rank
 * that changes a VGG's choice shows here. */
static const rank_case cases[] = {
    /* AVX-512: the winograd backend's F(4x4) on the large maps from 32 channels, oneDNN's Winograd below */
    {&AVX512, 48, 3, 3, 1, "auto", "onednn:direct"}, /* too few input channels for Winograd's products */
    {&AVX512, 48, 7, 3, 1, "auto", "onednn:direct"},
    {&AVX512, 48, 8, 3, 1, "auto", "onednn:winograd"},
    {&AVX512, 48, 31, 3, 1, "auto", "onednn:winograd"},
    {&AVX512, 48, 64, 3, 1, "auto", "winograd:f4"},
    {&AVX512, 8, 256, 3, 1, "auto", "winograd:f4"},
    {&AVX512, 6, 256, 3, 1, "auto", "winograd:f3"},
    {&AVX512, 4, 512, 3, 1, "auto", "winograd:f2"},
    {&AVX512, 3, 512, 3, 1, "auto", "winograd:f3"},
    {&AVX512, 3, 16, 3, 1, "auto", "onednn:direct"}, /* too few channels for F(3x3)'s products */
    {&AVX512, 2, 512, 3, 1, "auto", "unrolled"},
    {&AVX512, 1, 512, 3, 1, "auto", "unrolled"},
    {&AVX512, 2, 16, 3, 1, "auto", "onednn:direct"},
    {&AVX512, 6, 3, 3, 1, "auto", "onednn:direct"},
    {&AVX512, 16, 64, 5, 1, "auto", "onednn:direct"}, /* no Winograd for 5x5 kernels */
    /* AVX2: the winograd backend from 32 channels, oneDNN's direct convolution below */
    {&AVX2, 48, 3, 3, 1, "auto", "onednn:direct"},
    {&AVX2, 48, 64, 3, 1, "auto", "winograd:f4"},
    {&AVX2, 32, 32, 3, 1, "auto", "winograd:f4"},
    {&AVX2, 16, 31, 3, 1, "auto", "onednn:direct"},
    {&AVX2, 8, 256, 3, 1, "auto", "winograd:f4"},
    {&AVX2, 6, 256, 3, 1, "auto", "winograd:f3"},
    {&AVX2, 4, 512, 3, 1, "auto", "winograd:f2"},
    {&AVX2, 3, 512, 3, 1, "auto", "winograd:f3"},
    {&AVX2, 2, 512, 3, 1, "auto", "unrolled"},
    {&AVX2, 32, 64, 3, 2, "auto", "onednn:direct"}, /* stride 2: no Winograd */
    {&AVX2_DEEP, 32, 3, 3, 1, "auto", "gemm"},
    {&AVX2_DEEP, 32, 8, 3, 1, "auto", "onednn:direct"},
    {&NO_ONEDNN, 48, 3, 3, 1, "auto", "gemm"},
    {&NO_ONEDNN, 48, 64, 3, 1, "auto", "winograd:f4"},
    {&NO_ONEDNN, 16, 64, 5, 1, "auto", "gemm"},
    {&NO_ONEDNN, 2, 64, 3, 1, "auto", "unrolled"},
    /* "onednn" alone: Winograd from 8x8 where it has it, else direct, else gemm */
    {&AVX512, 8, 256, 3, 1, "onednn", "onednn:winograd"},
    {&AVX512, 48, 3, 3, 1, "onednn", "onednn:direct"},
    {&AVX512, 4, 512, 3, 1, "onednn", "onednn:direct"},
    {&AVX2, 48, 64, 3, 1, "onednn", "onednn:direct"},
    {&AVX2_DEEP, 32, 3, 3, 1, "onednn", "gemm"},
    {&NO_ONEDNN, 48, 64, 3, 1, "onednn", "gemm"},
    /* "winograd" alone: F(4x4) from 8x8, F(3x3) on 6x6 and 3x3, F(2x2) on the other maps below 8x8, at any
     * channels; an error where it cannot run */
    {&AVX2, 48, 3, 3, 1, "winograd", "winograd:f4"},
    {&AVX2, 6, 3, 3, 1, "winograd", "winograd:f3"},
    {&AVX2, 5, 3, 3, 1, "winograd", "winograd:f2"},
    {&AVX512, 2, 512, 3, 1, "winograd", "winograd:f2"},
    {&AVX2, 16, 64, 5, 1, "winograd", NULL},
    /* named variants: exactly that, or an error */
    {&AVX2, 48, 64, 3, 1, "onednn:winograd", NULL},
    {&AVX512, 48, 64, 3, 1, "onednn:winograd", "onednn:winograd"},
    {&AVX2_DEEP, 32, 3, 3, 1, "onednn:direct", NULL},
    {&AVX2, 2, 512, 3, 1, "winograd:f4", "winograd:f4"},
    {&NO_ONEDNN, 48, 3, 3, 1, "gemm", "gemm"},
    {&NO_ONEDNN, 48, 3, 3, 1, "naive", "naive"},
};

static void ranking_on_made_up_cpus(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const rank_case *rc = &cases[k];
        conv_geom g;
        conv_geom_init(&g, 32, rc->side, rc->side, rc->c, 64, rc->k, rc->k, rc->stride, 1);
        conv_pick p;
        assert_int_equal(conv_pick_parse(rc->choice, strlen(rc->choice), &p), 0);
        int r = conv_choose(&p, &g, fake_can, (void *)rc->cpu);
        char got[32] = "(cannot run)";
        if (r == 0)
            conv_label(got, sizeof got, p.be, p.algo);
        const char *want = rc->want ? rc->want : "(cannot run)";
        if (strcmp(got, want) != 0)
            fail_msg("%s on %s, %dx%dx%d, %dx%d kernel, stride %d: %s, expected %s", rc->choice, rc->cpu->name,
                     rc->side, rc->side, rc->c, rc->k, rc->k, rc->stride, got, want);
    }
}

/* What the ranking gives vgg16's Conv2D layers on the two kinds of CPU, layer by layer: at 48x48 (vgg19's
 * shapes too) and at 32x32 (vgg16-nopool's, with its 2x2 block5). */
static void models_rank_as_documented(void **state)
{
    (void)state;
    static const struct {
        const fake_cpu *cpu;
        int side;
        const char *want;
    } models[] = {
        {&AVX512, 48,
         "onednn:direct,winograd:f4,winograd:f4,winograd:f4,winograd:f4,winograd:f4,winograd:f4,"
         "winograd:f3,winograd:f3,winograd:f3,winograd:f3,winograd:f3,winograd:f3"},
        {&AVX2, 48,
         "onednn:direct,winograd:f4,winograd:f4,winograd:f4,winograd:f4,winograd:f4,winograd:f4,winograd:f3,"
         "winograd:f3,winograd:f3,winograd:f3,winograd:f3,winograd:f3"},
        {&AVX2, 32,
         "onednn:direct,winograd:f4,winograd:f4,winograd:f4,winograd:f4,winograd:f4,winograd:f4,winograd:f2,"
         "winograd:f2,winograd:f2,unrolled,unrolled,unrolled"},
    };
    static const int filters[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512};
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        char got[512] = "";
        size_t len = 0;
        int side = models[k].side, c = 3;
        for (size_t f = 0; f < sizeof filters / sizeof filters[0]; f++) {
            if (!filters[f]) {
                side /= 2;
                continue;
            }
            conv_geom g;
            conv_geom_init(&g, 32, side, side, c, filters[f], 3, 3, 1, 1);
            conv_pick p = {NULL, CONV_ALGO_ANY, 0};
            assert_int_equal(conv_choose(&p, &g, fake_can, (void *)models[k].cpu), 0);
            len += (size_t)snprintf(got + len, sizeof got - len, "%s", len ? "," : "");
            len += (size_t)conv_label(got + len, sizeof got - len, p.be, p.algo);
            c = filters[f];
        }
        if (strcmp(got, models[k].want) != 0)
            fail_msg("vgg16 at %dx%d on %s:\n  %s\nexpected\n  %s", models[k].side, models[k].side,
                     models[k].cpu->name, got, models[k].want);
    }
}

/* oneDNN is asked only about variants that would win: each question builds primitive descriptors. */
static int counting_can(void *ctx, const conv_backend *be, int algo, const conv_geom *g)
{
    if (strcmp(be->name, "onednn") == 0)
        (*(int *)ctx)++;
    return fake_can((void *)&AVX512, be, algo, g);
}

static void onednn_asked_only_when_it_could_win(void **state)
{
    (void)state;
    conv_geom g;
    conv_geom_init(&g, 32, 2, 2, 512, 512, 3, 3, 1, 1); /* unrolled outranks oneDNN's direct convolution here */
    int asked = 0;
    conv_pick p = {NULL, CONV_ALGO_ANY, 0};
    assert_int_equal(conv_choose(&p, &g, counting_can, &asked), 0);
    assert_string_equal(p.be->name, "unrolled");
    assert_int_equal(asked, 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_testing_start(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(choices_come_from_the_rows),
        cmocka_unit_test(labels_parse_back),
        cmocka_unit_test(ranking_on_made_up_cpus),
        cmocka_unit_test(models_rank_as_documented),
        cmocka_unit_test(onednn_asked_only_when_it_could_win),
    };
    return cmocka_run_group_tests_name("nn_backends", tests, NULL, NULL);
}
