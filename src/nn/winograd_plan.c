/* winograd_plan: the winograd backend's plan of a layer (its tiles, chunks, workspace and kernel copies, in
 * src/nn/winograd_internal.h's wino_plan), its row in the backend table and how "auto" ranks its tiles. The
 * passes are src/nn/winograd.c's, in the copy the plan names. */
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"
#include "winograd_bf16.h"
#include "winograd_internal.h"
#include "winograd_tf.h" /* the tiles' matrices (VL unset: no transforms) */

static int algo_bf16(int algo) { return algo == CONV_ALGO_F2_BF16; }
static const wino_mats *mats_of(int algo) { return algo == CONV_ALGO_F4 ? &F4 : algo == CONV_ALGO_F3 ? &F3 : &F2; }

static void plan_layout(wino_plan *p, const conv_geom *g, int algo, int workers)
{
    const wino_mats *f = mats_of(algo);
    p->f = f;
    p->th = (g->oh + f->m - 1) / f->m;
    p->tw = (g->ow + f->m - 1) / f->m;
    const int per_image = p->th * p->tw;
    int ipc = (CHUNK_TILES + per_image - 1) / per_image;
    const int share = (g->n + workers - 1) / workers;
    p->ipc = ipc < share ? ipc : share > 0 ? share : 1;
    p->workers = workers;
    const size_t a2 = (size_t)f->a * f->a;
    p->u = a2 * g->c * g->oc;
    p->kpad = ((size_t)g->oc + 15) & ~(size_t)15;
    p->chunk = a2 * (size_t)p->ipc * per_image * ((size_t)g->c + g->oc);
    p->pchunk = a2 * (((size_t)p->ipc * per_image + 1) / 2) * ((size_t)g->c + g->oc);
    p->isa = nn_isa();
    p->bf16 = algo_bf16(algo);
    p->u_in_ws = algo == CONV_ALGO_F3;
    p->kb = p->isa == NN_ISA_AVX512 ? KB_AVX512 : KB_AVX2;
    /* (the one-chunk passes: more than one worker, each one's images in one chunk) */
    p->big = !p->bf16 && p->isa != NN_ISA_PORTABLE && p->u_in_ws && g->c > SIMD_MAX_CHANNELS &&
             g->oc > SIMD_MAX_CHANNELS && g->c % p->kb == 0 && g->oc % p->kb == 0 && workers > 1 &&
             (g->n + workers - 1) / workers <= p->ipc;
    p->own = p->bf16 || p->big || (p->isa != NN_ISA_PORTABLE && g->c <= SIMD_MAX_CHANNELS);
    p->kp = ((size_t)g->oc + p->kb - 1) / p->kb * p->kb;
    p->own_dx = p->bf16 || (p->isa != NN_ISA_PORTABLE && g->oc <= SIMD_MAX_CHANNELS);
    p->cp = ((size_t)g->c + p->kb - 1) / p->kb * p->kb;
    const size_t tile_bytes = sizeof(float) * a2 * ((size_t)g->c + g->oc);
    size_t ft = FWD_CHUNK_BYTES / tile_bytes / 6 * 6;
    const size_t most = (size_t)p->ipc * per_image; /* what the workspace's chunk holds */
    p->ftiles = (int)(ft < 6 ? 6 : ft > most ? most : ft);
}

static int plan_workers(void)
{
    int n = nn_threads();
    return n < 1 ? 1 : n > NN_WORKERS_MAX ? NN_WORKERS_MAX : n;
}

/* Workspace: per worker its kernel-gradient sum dU, its bias-gradient sum, its chunk and (bf16) its pairs. */
static size_t plan_floats(const wino_plan *p)
{
    return (size_t)p->workers * (p->u + p->kpad + p->chunk + (p->bf16 ? p->pchunk : 0)) + (p->u_in_ws ? p->u : 0);
}

/* The bfloat16 variants: the AVX-512 copy on a CPU with AVX512_BF16, channels in pairs. */
static int bf16_runs(const conv_geom *g)
{
    return nn_isa() == NN_ISA_AVX512 && wbf_cpu() && g->c % 2 == 0 && g->oc % 2 == 0;
}

static int wino_supports(const conv_geom *g, int algo)
{
    const int named = algo == CONV_ALGO_ANY || algo == CONV_ALGO_F2 || algo == CONV_ALGO_F3 || algo == CONV_ALGO_F4 ||
                      (algo_bf16(algo) && bf16_runs(g));
    return named && g->kh == 3 && g->kw == 3 && g->stride == 1 && g->pad_top == 1 && g->pad_left == 1 &&
           g->oh == g->h && g->ow == g->w;
}

static size_t wino_workspace(const conv_geom *g)
{
    static const int algos[] = {CONV_ALGO_F2, CONV_ALGO_F3, CONV_ALGO_F4, CONV_ALGO_F2_BF16};
    size_t most = 0;
    for (int i = 0; i < (bf16_runs(g) ? 4 : 3); i++) {
        wino_plan p;
        plan_layout(&p, g, algos[i], plan_workers());
        most = plan_floats(&p) > most ? plan_floats(&p) : most;
    }
    return most;
}

static int wino_plan_layer(conv_layer *cl, vt_err *err)
{
    if (cl->algo == CONV_ALGO_ANY)
        cl->algo = CONV_ALGO_F4;
    wino_plan *p = calloc(1, sizeof *p);
    if (!p)
        return vt_fail(err, VT_EIO, "out of memory for a Winograd plan");
    plan_layout(p, &cl->g, cl->algo, plan_workers());
    p->own_dx = p->own_dx && !cl->first;
    const size_t a2 = (size_t)p->f->a * p->f->a;
    const size_t up = p->own && !p->bf16 && !p->big ? a2 * cl->g.c * p->kp : 0;
    const size_t ut = p->own_dx && !p->bf16 && !p->big ? a2 * p->cp * cl->g.oc : 0;
    const size_t ub = p->bf16 ? wbf_ub_words((int)a2, cl->g.c, cl->g.oc) : 0;
    const size_t utb = p->bf16 && p->own_dx ? wbf_utb_words((int)a2, cl->g.c, cl->g.oc) : 0;
    p->U = p->bf16 || p->u_in_ws ? NULL : malloc(sizeof(float) * p->u); /* (bf16: packed only; u_in_ws) */
    p->Up = up ? aligned_alloc(64, sizeof(float) * up) : NULL;
    p->Ut = ut ? aligned_alloc(64, sizeof(float) * ut) : NULL;
    p->Ub = ub ? aligned_alloc(64, sizeof(uint32_t) * ub) : NULL;
    p->Utb = utb ? aligned_alloc(64, sizeof(uint32_t) * utb) : NULL;
    int rc = (!p->bf16 && !p->u_in_ws && !p->U) || (up && !p->Up) || (ut && !p->Ut) || (ub && !p->Ub) || (utb && !p->Utb)
                 ? vt_fail(err, VT_EIO, "out of memory for a Winograd kernel of %zu floats",
                           (!p->bf16 && !p->u_in_ws ? p->u : 0) + up + ut + ub + utb)
                 : nn_pool_start(p->workers, err);
    if (rc) {
        free(p->U);
        free(p->Up);
        free(p->Ut);
        free(p->Ub);
        free(p->Utb);
        free(p);
        return rc;
    }
    if (up) /* the padding columns stay zero */
        memset(p->Up, 0, sizeof(float) * up);
    if (ut)
        memset(p->Ut, 0, sizeof(float) * ut);
    if (ub) /* and those of the packed forms */
        memset(p->Ub, 0, sizeof(uint32_t) * ub);
    if (utb)
        memset(p->Utb, 0, sizeof(uint32_t) * utb);
    cl->state = p;
    return VT_OK;
}

static void wino_release(conv_layer *cl)
{
    wino_plan *p = cl->state;
    if (p) {
        free(p->U);
        free(p->Up);
        free(p->Ut);
        free(p->Ub);
        free(p->Utb);
    }
    free(cl->state);
    cl->state = NULL;
}

/* The copies by WINO_ISA: what a plan's isa says to run. */
#if defined(__x86_64__)
static const conv_passes *const wino_copies[] = {&winograd_portable_passes, &winograd_avx2_passes,
                                                 &winograd_avx512_passes};
#else
static const conv_passes *const wino_copies[] = {&winograd_portable_passes};
#endif

static void wino_forward(conv_layer *cl, float *out, float *ws, const float *x, const float *w, const float *b, int n)
{
    wino_copies[((const wino_plan *)cl->state)->isa]->forward(cl, out, ws, x, w, b, n);
}

static void wino_backward(conv_layer *cl, float *dx, float *w, float *b, float *dw, float *db, float *ws,
                          float *dout, const float *out, const float *x, int n, const conv_step *step)
{
    wino_copies[((const wino_plan *)cl->state)->isa]->backward(cl, dx, w, b, dw, db, ws, dout, out, x, n, step);
}

/* Measured on this project's AVX2 machine (2-core Zen 3, batch 32, with OpenBLAS's Zen sgemm): F(4x4) 1.6-2.6x
 * faster than oneDNN's direct convolution on 8x8 to 48x48 maps, F(2x2) 1.5-2x on 6x6 down to 2x2 (where
 * F(4x4)'s tile is mostly padding, and its transformed kernel, 36 c x k floats, outweighs the few tiles).
 * Inputs of few channels leave its products no depth: on the first layer's 3 it is 3-4x slower than
 * oneDNN. On cnn's 32 (32x32 and 16x16 maps), with its own AVX2 forward kernel, it is faster than oneDNN's
 * direct convolution both ways (block1_conv2: forward 4.0 against 4.6 ms, backward 10.1 against 12.6;
 * block2_conv1: 2.0 against 2.9, 4.3 against 6.2). So from MIN_CHANNELS input channels it ranks above
 * oneDNN's direct convolution (and below gemm on maps under 4 a side); F(4x4) from F4_MIN_SIDE up, F(2x2)
 * below, which is also how "winograd" named alone chooses, at any channels.
 *
 * Against oneDNN's Winograd (AVX-512 only in oneDNN 2.x, so where it runs, this backend runs its AVX-512
 * copy): on the 2-core Zen 5, vgg16 at 48x48, batch 32, blocks 1-3 but the first layer (64 to 256
 * channels, 48x48 to 12x12), interleaved with `--conv auto` and `--conv winograd`, three rounds on a busy
 * machine, each round's time of those layers over that of blocks 4-5 (the same backends in both runs):
 * 0.83, 0.83, 0.83 with F(4x4)'s AVX-512 copy, 0.86, 0.83, 0.86 with oneDNN's Winograd (and 0.94, 0.85,
 * 0.85 with the AVX2 copy); the quietest round, 166 against 292 ms forward and backward. At least a tie,
 * and the bench process's peak 460 MiB against 725: oneDNN's Winograd keeps 200-250 MiB of its own. So
 * F(4x4) from MIN_CHANNELS channels ranks above oneDNN's Winograd (rank 50, onednn.c), which keeps the
 * first layer (3 channels: no depth for the products). */
#define WINOGRAD_F4_MIN_SIDE 8
#define WINOGRAD_MIN_CHANNELS 32

static int f4_rank(const conv_geom *g, int alone)
{
    if (conv_min_side(g) < WINOGRAD_F4_MIN_SIDE)
        return 0;
    return g->c >= WINOGRAD_MIN_CHANNELS ? 55 : alone ? 30 : 0;
}

/* F(3x3) on maps of 3 and 6 a side (vgg16's and vgg19's blocks 4 and 5 at 48x48), where its 5 x 5 tiles
 * fit the map exactly: 25 products an image at 3x3 (F(2x2): 64; gemm: 81 multiply-adds), 100 at 6x6
 * (F(2x2): 144). Measured on a quiet 2-core Zen 4 (AVX-512), vgg16, batch 32, forward + backward:
 * block4 36.9 ms a layer against F(2x2)'s 45.0, block5 16.6 against gemm's 21.2 (which outranks F(2x2)
 * there, conv.c). On 12x12 F(4x4) stays faster (29.6 against 35). */
static int f3_rank(const conv_geom *g, int alone)
{
    const int side = conv_min_side(g);
    return side < WINOGRAD_F4_MIN_SIDE && side % 3 == 0 && (alone || g->c >= WINOGRAD_MIN_CHANNELS) ? 45 : 0;
}

static int f2_rank(const conv_geom *g, int alone)
{
    return conv_min_side(g) < WINOGRAD_F4_MIN_SIDE && (alone || g->c >= WINOGRAD_MIN_CHANNELS) ? 30 : 0;
}

/* Both tiles transform with coefficients that multiply float rounding by 10 to 100. */
#define BF16_HINT " (bfloat16 products need AVX512_BF16 and even channel counts; try --precision float32)"
static const conv_variant wino_variants[] = {
    {"f2", CONV_ALGO_F2, f2_rank, 2e-3, ""},
    {"f3", CONV_ALGO_F3, f3_rank, 2e-3, ""},
    {"f4", CONV_ALGO_F4, f4_rank, 2e-3, ""},
    /* F(2x2) with its products in bfloat16 (mixed precision): never ranked, what a model at mixed_bfloat16
     * runs where the precision's rule says (precision.c). Its error against the exact convolution is that
     * of bf16's rounding, 0.3-0.5% of the largest output on vgg16's shapes; the larger tiles' transforms
     * multiply that rounding (F(3x3) to 2-4%, and 8% in a kernel gradient; F(4x4) to 6-8%), so they have no
     * bf16 form. */
    {"f2-bf16", CONV_ALGO_F2_BF16, NULL, 3e-2, BF16_HINT},
};

const conv_backend conv_backend_winograd = {
    .name = "winograd",
    .variants = wino_variants,
    .nvariants = 4,
    .in_copies = 1,
    .supports = wino_supports,
    .workspace = wino_workspace,
    .plan = wino_plan_layer,
    .release = wino_release,
    .forward = wino_forward,
    .backward = wino_backward,
};
