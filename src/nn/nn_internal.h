/* nn_internal: what the nn sources share and nothing outside nn sees: the layer list, SGD's update, and
 * the convolution backend seam.
 *
 * Every Conv2D layer of a sized model (model_set_batch) is a conv_layer: its geometry at the model's
 * largest batch, the backend that runs it and that backend's plan (its state: oneDNN primitives and
 * memories, created once, so a training step allocates nothing). Backends are rows of one table
 * (conv_backends, src/nn/conv.c): {name, variants (each with how "auto" ranks it), supports, workspace,
 * plan, release, forward, backward, and for a backend that chains its pooling}; parsing a choice, "auto",
 * "timed", the names and the tests' list of variants are loops over the rows. So a new backend is its own
 * file, its row in conv_backends (declared below), and its names in NN_CONV_CHOICES (test_nn_backends
 * fails until they are there; then regenerate the man page, as test_train asks).
 *
 * Tensors at the seam are the model's: NHWC activations, Keras kernels (kh, kw, cin, cout). A backend may
 * keep a layer's input or output in a layout of its own between layers of the same backend (oneDNN's
 * blocked layout, see onednn.c): chain_in / chain_out say so, and then the float pointers on that side are
 * not read or written. */
#ifndef VGGTOP_NN_INTERNAL_H
#define VGGTOP_NN_INTERNAL_H

#include <cblas.h>
#include <stddef.h>

#include "vggtop/nn.h"

/* ---- the layer list (arch.c builds it from a config; model.c runs it; summary.c prints it) ---------- */

#define NN_MAX_LAYERS 64

typedef enum { L_INPUT, L_CONV, L_POOL, L_FLATTEN, L_DENSE, L_GAP, L_GMP } layer_kind;

typedef struct nn_layer {
    layer_kind kind;
    char name[40];
    int in_h, in_w, in_c; /* input, NHWC (rank 2 layers: in_h = in_w = 1) */
    int h, w, c;          /* output */
    int rank;             /* Keras output rank: 4 or 2 */
    int relu;
    int k, stride;        /* L_CONV: kernel side ('same' padding) and stride; L_POOL: window side and stride */
    size_t w_off, b_off, w_count, b_count; /* in the parameter block */
    size_t act_off;       /* this layer's output in the activation block, per image (L_CONV, L_POOL, ...) */
} nn_layer;

/* The layer list of a checked config into ls (NN_MAX_LAYERS rows): shapes, parameter and activation
 * offsets. Returns the number of layers. */
int arch_build_layers(const model_config *cfg, nn_layer *ls);
size_t arch_param_count(const nn_layer *ls, int count);
/* The parameters a frozen base holds (0 without freeze_base): every Conv2D layer's, which come first in the
 * parameter block, so the frozen ones are its first arch_frozen_count floats. */
size_t arch_frozen_count(const model_config *cfg, const nn_layer *ls, int count);

/* The squared norm of a dense layer's kernel gradient, computed rows at a time in ws (layers.c). */
double dense_grad_norm2(const float *dout, const float *x, int n, int in_dim, int out_dim, float *ws,
                        size_t ws_floats);

/* ---- SGD (sgd.c) and the other optimisers (optim.c) ------------------------------------------------ */

/* VT_EUSAGE for settings out of range. */
int sgd_check(const sgd_config *sgd, vt_err *err);
/* One Keras SGD update of count parameters w from gradients g (velocity v), zeroing g as it goes. */
void sgd_update(float *restrict w, float *restrict g, float *restrict v, size_t count, const sgd_config *s);
/* One update by s->kind of count parameters w from gradients g, zeroing g: v is the velocity block (SGD's
 * velocity, Adam's m, RMSprop's momentum), v2 the second moment (Adam's v, RMSprop's mean square; NULL for
 * SGD), t the step's number from 1 (Adam's bias correction). */
void optim_update(float *restrict w, float *restrict g, float *restrict v, float *restrict v2, size_t count,
                  const sgd_config *s, long long t);

/* ---- the convolution backend seam ----------------------------------------------------------------- */

/* A momentum-free SGD step fused into a backward pass: w = keep * w - lr * dL/dw (keep = 1 - lr * wd). */
typedef struct conv_step {
    float lr, keep;
} conv_step;
/* That step on count floats of w from the gradient grad, which it clears for the next step (src/nn/conv.c:
 * the backends that take the step after their kernel gradient). */
void conv_step_apply(float *w, float *grad, size_t count, const conv_step *s);

struct conv_backend;

typedef struct conv_layer {
    const struct conv_backend *be;
    int algo;          /* the backend's variant (oneDNN: CONV_ALGO_DIRECT or CONV_ALGO_WINOGRAD), else 0 */
    conv_geom g;       /* at the model's max batch; g.n is that batch */
    int relu;
    int first;         /* the model's first layer: its input gradient is never asked for */
    int chain_in;      /* the input comes from the previous layer in the backend's own layout */
    int chain_out;     /* the output stays in the backend's layout for the next layer (or pooling) */
    int pool_after;    /* a max pooling follows and runs inside the backend (chain_out is then 1) */
    int pool_size, pool_stride; /* its window side and stride */
    struct conv_layer *prev, *next; /* neighbours in a chain (NULL at its ends) */
    void *state;       /* the backend's plan */
    /* The model's weights generation at this pass (model.c bumps it whenever the weights may have changed):
     * a backend may reuse what it derived from the kernel while it is unchanged. 0: unknown, derive anew. */
    unsigned long wgen;
} conv_layer;

/* Variants: oneDNN's direct and Winograd algorithms; the winograd backend's output tile sides (F(2x2, 3x3)
 * and F(4x4, 3x3)). An id only has to be distinct within its backend (and not CONV_ALGO_ANY, which names a
 * backend alone): a new backend may number its own. */
enum {
    CONV_ALGO_ANY = 0,
    CONV_ALGO_DIRECT = 1,
    CONV_ALGO_WINOGRAD = 2,
    CONV_ALGO_F2 = 3,
    CONV_ALGO_F4 = 4,
    CONV_ALGO_BF16 = 5,   /* oneDNN's direct convolution in bfloat16 (mixed precision) */
    CONV_ALGO_F2_BF16 = 6, /* the winograd backend's F(2x2) with its products in bfloat16 (mixed precision) */
    CONV_ALGO_F3 = 7       /* its F(3x3, 3x3) */
};

/* The output map's smaller side, what the ranks look at. */
static inline int conv_min_side(const conv_geom *g) { return g->oh < g->ow ? g->oh : g->ow; }

/* One variant of a backend: what a choice names "backend:name" and conv_layer.algo holds.
 *
 * How "auto" chooses (the one place the rule lives; nn.h points here): every variant's rank at the layer's
 * geometry, the highest rank among the variants that can run the layer here (supports) wins, ties to the
 * first in table order. A rank is a number on one scale across backends, so a variant's rank function
 * says where it stands against the others and why (the measurements are beside it, in its backend's
 * file). A backend named alone ("onednn", "winograd") takes its own variant of the highest rank with
 * alone set, which may drop a condition that is about the other backends. */
typedef struct conv_variant {
    const char *name; /* after the colon ("direct", "f4"); NULL: the backend's only variant, named alone */
    int algo;         /* CONV_ALGO_* */
    /* Its rank at g, 0 where it is not to be taken; NULL: never chosen by "auto" or "timed", only named (the
     * reference loops). */
    int (*rank)(const conv_geom *g, int alone);
    /* Its agreement with the naive loops that the tests hold it to: the error allowed, times the largest
     * magnitude of the reference (float rounding for direct sums; Winograd's transforms multiply it). */
    double tol;
    /* Appended to "cannot run layer X here" when it was named and cannot (why, and what to try). */
    const char *hint;
} conv_variant;

typedef struct conv_backend {
    const char *name;
    const conv_variant *variants; /* nvariants of them */
    int nvariants;
    /* Named alone, the layers none of its variants can run go to gemm (oneDNN's reference-only shapes);
     * else that is an error. */
    int alone_falls_back;
    /* Built in copies, one per nn_isa (winograd, smallmap): a layer runs the copy nn_isa named when it was
     * planned, and the tests run every copy the CPU has. */
    int in_copies;
    /* Can this backend (with algo) run g here? algo CONV_ALGO_ANY asks for any variant. */
    int (*supports)(const conv_geom *g, int algo);
    /* Floats of the model's shared workspace the layer needs at g (0 for none). */
    size_t (*workspace)(const conv_geom *g);
    /* Creates cl->state for cl->g; called in layer order, so cl->prev is already planned. */
    int (*plan)(conv_layer *cl, vt_err *err);
    void (*release)(conv_layer *cl);
    /* out (n, oh, ow, oc) = relu(x (*) w + b), n <= g.n; ws: the shared workspace. */
    void (*forward)(conv_layer *cl, float *out, float *ws, const float *x, const float *w, const float *b, int n);
    /* After forward on the same batch. dout (n, oh, ow, oc) may be overwritten (masked by the ReLU).
     * Without step: dw (kh, kw, c, oc) += dL/dw, db += dL/db. With step: w and b take the step, and dw, db
     * are scratch (zero on entry, left zero). dx (n, h, w, c) = dL/dx unless NULL (cl->first). */
    void (*backward)(conv_layer *cl, float *dx, float *w, float *b, float *dw, float *db, float *ws, float *dout,
                     const float *out, const float *x, int n, const conv_step *step);
    /* A backend that chains (oneDNN; NULL for the others): consecutive layers of it, and the max pooling
     * right after one, hand over in its own layout (chain_in, chain_out, pool_after), and these run the
     * pooling of such a layer (cl->pool_size at cl->pool_stride). pool_forward keeps the result in the
     * backend's layout (and writes NHWC out (n, pooled oh, pooled ow, oc) when the chain ends there:
     * !cl->chain_out is about the pool's output then); pool_backward takes dout of the pool (NHWC when the
     * chain ends there) back to the layer's output gradient. */
    void (*pool_forward)(conv_layer *cl, float *out, int n);
    void (*pool_backward)(conv_layer *cl, const float *dout, int n);
    /* The last forward's output of cl (n images) into out (n, oh, ow, oc) where the chain keeps it in its own
     * layout (chain_out or pool_after); returns 0 when forward wrote out itself already. Not for training
     * steps: for model_layer_stats. */
    int (*output_nhwc)(conv_layer *cl, float *out, int n);
} conv_backend;

/* The table, NULL-terminated: naive, gemm, then the rows of the backends' own files. */
extern const conv_backend *const conv_backends[];
const conv_backend *conv_backend_find(const char *name);

/* One entry of a choice: a backend and its variant; be NULL is "auto" (or "timed"); a backend of several
 * variants with algo CONV_ALGO_ANY is that backend named alone. */
typedef struct conv_pick {
    const conv_backend *be;
    int algo;
    int timed;
} conv_pick;

/* Parses one entry of a choice, len characters at s: "auto", "timed", "gemm", "onednn", "onednn:direct",
 * ... Returns 0, or -1 for a name no row has. */
int conv_pick_parse(const char *s, size_t len, conv_pick *out);
/* "onednn:direct", "gemm": the name a choice gives the variant; returns what snprintf does. */
int conv_label(char *buf, size_t cap, const conv_backend *be, int algo);
/* Every variant "auto" and "timed" may choose (rank not NULL), in table order, into out (up to max); returns
 * how many there are. The tests run each. */
int conv_variants_ranked(conv_pick *out, int max);
/* The choices a model_set_conv entry may name, "auto, timed, onednn, onednn:direct, ..., gemm or naive",
 * into buf: NN_CONV_CHOICES must say the same (a test checks). */
void conv_choices_join(char *buf, size_t cap);

/* Whether a variant can run g: be->supports in a model (conv_supported), a made-up CPU in the tests. */
typedef int (*conv_can_fn)(void *ctx, const conv_backend *be, int algo, const conv_geom *g);
int conv_supported(void *ctx, const conv_backend *be, int algo, const conv_geom *g);
/* The ranking: the variant of the highest rank at g among those `can` allows, over every row ("auto": only
 * NULL) or over only's variants (only named alone). Returns 0 with *out set, or -1 when none can. */
int conv_rank_pick(const conv_geom *g, const conv_backend *only, conv_can_fn can, void *ctx, conv_pick *out);
/* Resolves p at g but for "timed": "auto" and a backend named alone by the ranking, a named variant as it
 * is; can says what runs here. Returns 0, or -1 when p names a variant that cannot run g. */
int conv_choose(conv_pick *p, const conv_geom *g, conv_can_fn can, void *ctx);
/* Resolves p for a layer planned like tmpl (geometry at the model's batch, relu; first: the model's first
 * layer, no input gradient): "auto" and a backend named alone by the ranking, "timed" by timing every
 * ranked variant on the layer for a few runs (the fastest kept), a named variant as it is. Returns 0, or -1
 * when p names a variant that cannot run the layer here (conv_pick_hint says why). */
int conv_resolve(conv_pick *p, const conv_layer *tmpl, int first);
/* The hint of a named variant that cannot run a layer ("" for none). */
const char *conv_pick_hint(const conv_pick *p);

/* The oneDNN backend's row (src/nn/onednn.c). */
extern const conv_backend conv_backend_onednn;
/* oneDNN's OpenMP threads for the calling thread (nn_set_threads records the count; every oneDNN call
 * applies it, since OpenMP's thread count is per calling thread). */
void onednn_apply_threads(void);
/* The bfloat16 variant a layer of g runs in a mixed_bfloat16 model: the winograd backend's f2-bf16 or
 * oneDNN's bf16 direct convolution, where they run here and are not slower than the float32 backends (the
 * measured rule is in precision.c); *be and *algo (the float32 choice on entry) are left alone where none is. */
void precision_bf16_pick(const conv_geom *g, const struct conv_backend **be, int *algo);

/* The Winograd backend's row (src/nn/winograd_plan.c), and the small maps' direct convolution's
 * (src/nn/smallmap.c). */
extern const conv_backend conv_backend_winograd;
extern const conv_backend conv_backend_smallmap;
extern const conv_backend conv_backend_unrolled;
/* A backend built in copies (one per nn_isa): each copy's two passes, as its row's. */
typedef struct conv_passes {
    void (*forward)(conv_layer *cl, float *out, float *ws, const float *x, const float *w, const float *b, int n);
    void (*backward)(conv_layer *cl, float *dx, float *w, float *b, float *dw, float *db, float *ws, float *dout,
                     const float *out, const float *x, int n, const conv_step *step);
} conv_passes;
/* A layer's output (rows, cols) plus the bias b (cols), then max(0, .) when relu; and its output gradient
 * dout masked where out was not positive (relu), its column sums added to db (src/nn/layers.c). */
void bias_act(float *out, const float *b, size_t rows, int cols, int relu);
void bias_act_backward(float *db, float *dout, const float *out, size_t rows, int cols, int relu);
/* The copies of nn's own SIMD kernels (src/nn/isa.c): portable (SSE-width vectors, what any CPU runs),
 * AVX2 and FMA, AVX-512F. A backend built in copies (winograd: winograd.c, winograd_avx2.c,
 * winograd_avx512.c) plans each layer for the copy nn_isa names: the best this CPU runs, but not above the
 * cap nn_set_isa_cap last set (NN_ISA_AVX512 at start; the tests lower it to check the others). Returns
 * that copy. */
#define NN_ISA_PORTABLE 0
#define NN_ISA_AVX2 1
#define NN_ISA_AVX512 2
int nn_isa(void);
int nn_set_isa_cap(int cap);

/* nn's own worker threads (src/nn/pool.c). nn_pool_start makes sure workers - 1 threads run beside the
 * caller (call it when planning, not in a step); nn_pool_run runs fn(arg, worker, n) on the caller (worker
 * 0) and n - 1 of them at once, n = min(workers, threads started + 1), and returns n when all are done. */
#define NN_WORKERS_MAX 64 /* workers at most, the caller included */
typedef void (*nn_task)(void *arg, int worker, int workers);
int nn_pool_start(int workers, vt_err *err);
int nn_pool_run(nn_task fn, void *arg, int workers);
/* The share [lo, hi) of count items of worker wk of nw. */
static inline void share(int count, int wk, int nw, int *lo, int *hi)
{
    *lo = (int)((long)count * wk / nw);
    *hi = (int)((long)count * (wk + 1) / nw);
}

/* The thread count nn_set_threads chose (blas.c). */
int nn_threads(void);

/* The Dense layers' products (src/nn/dense.c): the forward on nn's workers with the kernel of the copy
 * nn_isa names (AVX2, AVX-512) at batches of up to DENSE_MAX_ROWS rows and wide kernels of a million
 * weights or more, else sgemm; the gradients through sgemm. W is (in, out), row-major.
 *   dense_xw:  y (n, out) = x (n, in) W
 *   dense_dyw: dx (n, in) = dy (n, out) W^T
 *   dense_xdy: dw (in, out) = beta dw + alpha x^T dy */
#define DENSE_MAX_ROWS 64
void dense_xw(float *y, const float *x, const float *w, int n, int in, int out);
void dense_dyw(float *dx, const float *dy, const float *w, int n, int in, int out);
void dense_xdy(float *dw, const float *x, const float *dy, int n, int in, int out, float alpha, float beta);
/* The backward of a Dense layer in one pass over W: dx (n, in) = dy W^T from W as it was (none when dx is
 * NULL), then t = beta t + alpha x^T dy, where t may be W itself (SGD's step) or its gradient. With the
 * kernel of the copy nn_isa names (which returns -1 to decline) at batches of up to 4 vectors (64 rows in
 * the AVX-512 copy, 32 in the AVX2 one) and a million weights or more, else dense_dyw and dense_xdy. */
void dense_step(float *dx, float *t, const float *w, const float *x, const float *dy, int n, int in, int out,
                float alpha, float beta);
/* floats of the calling thread's scratch for dense_step's copies (kept for its next call, released when the
 * thread ends), or NULL when it cannot be had. */
float *dense_scratch(size_t floats);
int dense_step_avx2(float *dx, float *t, const float *w, const float *x, const float *dy, int n, int in, int out,
                    float alpha, float beta);
int dense_step_avx512(float *dx, float *t, const float *w, const float *x, const float *dy, int n, int in, int out,
                      float alpha, float beta);
/* The forward kernel of each copy (dense_avx2.c, dense_avx512.c), which dense_xw picks. */
void dense_xw_avx2(float *y, const float *x, const float *w, int n, int in, int out);
void dense_xw_avx512(float *y, const float *x, const float *w, int n, int in, int out);

/* OpenBLAS's thread count is one process-wide variable (blas.c), and the training thread, the Setup
 * screen's timing and the engine's start may all run nn at once: every change to the count and every
 * sgemm nn calls go through these, so no call runs with a count another thread set for its own pass.
 *   nn_sgemm: cblas_sgemm with the count as nn_set_threads left it (waits while another thread's
 *     single-threaded pass runs). Every sgemm of nn's layers goes through it.
 *   nn_blas_single_begin ... nn_blas_single_end: OpenBLAS at one thread, for a pass whose products run on
 *     nn's own workers at once (the winograd backend); other threads' sgemm and nn_set_threads wait for its
 *     end. Inside it, the workers call cblas_sgemm itself: nn_sgemm would wait for the pass's own end. */
void nn_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
void nn_blas_single_begin(void);
void nn_blas_single_end(void);

#endif
