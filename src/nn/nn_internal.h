/* nn_internal: what the nn sources share and nothing outside nn sees: the convolution backend seam.
 *
 * Every Conv2D layer of a sized model (model_set_batch) is a conv_layer: its geometry at the model's
 * largest batch, the backend that runs it and that backend's plan (its state: oneDNN primitives and
 * memories, created once, so a training step allocates nothing). Backends are rows of one table
 * (conv_backends, src/nn/conv.c): {name, supports, plan, release, forward, backward}; a new backend is a
 * row plus its own file.
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

/* A momentum-free SGD step fused into a backward pass: w = keep * w - lr * dL/dw (keep = 1 - lr * wd). */
typedef struct conv_step {
    float lr, keep;
} conv_step;

struct conv_backend;

typedef struct conv_layer {
    const struct conv_backend *be;
    int algo;          /* the backend's variant (oneDNN: CONV_ALGO_DIRECT or CONV_ALGO_WINOGRAD), else 0 */
    conv_geom g;       /* at the model's max batch; g.n is that batch */
    int relu;
    int first;         /* the model's first layer: its input gradient is never asked for */
    int chain_in;      /* the input comes from the previous layer in the backend's own layout */
    int chain_out;     /* the output stays in the backend's layout for the next layer (or pooling) */
    int pool_after;    /* a 2x2 max pooling follows and runs inside the backend (chain_out is then 1) */
    struct conv_layer *prev, *next; /* neighbours in a chain (NULL at its ends) */
    void *state;       /* the backend's plan */
    /* The model's weights generation at this pass (model.c bumps it whenever the weights may have changed):
     * a backend may reuse what it derived from the kernel while it is unchanged. 0: unknown, derive anew. */
    unsigned long wgen;
} conv_layer;

/* Variants: oneDNN's direct and Winograd algorithms; the winograd backend's output tile sides (F(2x2, 3x3)
 * and F(4x4, 3x3)). */
enum { CONV_ALGO_ANY = 0, CONV_ALGO_DIRECT = 1, CONV_ALGO_WINOGRAD = 2, CONV_ALGO_F2 = 3, CONV_ALGO_F4 = 4 };

typedef struct conv_backend {
    const char *name;
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
} conv_backend;

/* The table, NULL-terminated, in the order of conv_backend_names. */
extern const conv_backend *const conv_backends[];
const conv_backend *conv_backend_find(const char *name);

/* The oneDNN backend's row and its pooling inside a chain (src/nn/onednn.c). */
extern const conv_backend conv_backend_onednn;
/* 2x2 stride-2 max pooling of the blocked output of cl (cl->pool_after): forward keeps the result in
 * cl's pool memory (and writes NHWC out (n, oh/2, ow/2, oc) when the chain ends there: !cl->chain_out is
 * about the pool's output then); backward takes dout of the pool (NHWC when the chain ends there) into
 * cl's blocked diff_dst. */
void onednn_pool_forward(conv_layer *cl, float *out, int n);
void onednn_pool_backward(conv_layer *cl, const float *dout, int n);
/* The last forward's output of cl (n images) into out (n, oh, ow, oc) where the chain keeps it blocked
 * (chain_out or pool_after); returns 0 when forward wrote out itself already. Not for training steps: for
 * model_layer_stats. */
int onednn_output_nhwc(conv_layer *cl, float *out, int n);
/* oneDNN's OpenMP threads for the calling thread (nn_set_threads records the count; every oneDNN call
 * applies it, since OpenMP's thread count is per calling thread). */
void onednn_apply_threads(void);

/* The Winograd backend's row (src/nn/winograd.c). */
extern const conv_backend conv_backend_winograd;
/* Whether layers planned from now on may run in the backend's AVX2 copy (src/nn/winograd_avx2.c: eight-
 * channel transforms and its own product kernel) where the CPU has AVX2 and FMA; on by default. The tests
 * turn it off to check the portable copy (four channels, every product through OpenBLAS). Returns whether
 * they will run in the AVX2 copy: on, and this CPU has AVX2 and FMA. */
int winograd_set_simd(int on);

/* nn's own worker threads (src/nn/pool.c). nn_pool_start makes sure workers - 1 threads run beside the
 * caller (call it when planning, not in a step); nn_pool_run runs fn(arg, worker, n) on the caller (worker
 * 0) and n - 1 of them at once, n = min(workers, threads started + 1), and returns n when all are done. */
#define NN_WORKERS_MAX 64 /* workers at most, the caller included */
typedef void (*nn_task)(void *arg, int worker, int workers);
int nn_pool_start(int workers, vt_err *err);
int nn_pool_run(nn_task fn, void *arg, int workers);

/* The thread count nn_set_threads chose (blas.c). */
int nn_threads(void);

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
