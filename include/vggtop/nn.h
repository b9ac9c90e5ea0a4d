/* nn: the neural-network core. Layers (forward and backward), the five models as data tables, SGD,
 * Keras-style summaries, and checkpoints. float32 throughout; activations are NHWC (Keras' channels_last):
 * an input batch is (N, H, W, C) row-major, so a Keras output shape (None, 48, 48, 64) is literally the
 * memory layout. Backward passes compute true gradients (dL/dx, not negated) and accumulate them into
 * the model's gradient block, which is zero when each pass starts.
 *
 * The model owns a few large blocks (parameters, gradients, optimiser state, activations, one im2col
 * workspace sized for the largest layer); layers own nothing. Nothing allocates inside a training step. */
#ifndef VGGTOP_NN_H
#define VGGTOP_NN_H

#include <stddef.h>
#include <stdint.h>

#include "vggtop/util.h"

/* ---- models ---------------------------------------------------------------------------------------- */

typedef enum { NN_POOL_NONE = 0, NN_POOL_AVG, NN_POOL_MAX } nn_pooling;

/* The most classes a model's softmax may have, from what memory allows: the largest top (VGG's 4096-wide
 * fc2) to that many classes, with its gradients and momentum in float, stays under 4 GiB (4096 x 87381 x 12
 * bytes). ImageNet-21k's 21,841 fit. A data set, and so a run, has at most VT_MAX_CLASSES. */
#define NN_MAX_CLASSES 87381
#define NN_MAX_CLASSES_TEXT "87381"

typedef struct model_config {
    char name[32];   /* "vgg16", "vgg19", "vgg16-nopool", "cnn", "mlp" */
    int height, width, channels;
    int classes;
    int include_top; /* 1: Flatten + fc1 + fc2 + predictions (keras.applications' default) */
    nn_pooling pooling; /* with include_top == 0: none, global avg or global max; then a softmax
                           Dense(classes) head is still added so the model can train (documented) */
    uint64_t seed;   /* weight initialisation: same seed, same weights, bit for bit */
    int freeze_base; /* 1: the Conv2D layers (the convolutional base) do not train, as Keras' base.trainable =
                        False: training steps leave their weights bit for bit as they are (no gradient, no
                        update, no weight decay) and the summary counts them as non-trainable. Not stored in
                        checkpoints (a training setting: config.json records it) */
} model_config;

/* The model names, in the order the UI lists them; NULL-terminated. */
extern const char *const model_names[];

/* "vgg16, vgg19, vgg16-nopool, cnn<last>mlp" into buf (last: ", " or " or "), for messages and help. */
void model_names_join(char *buf, size_t size, const char *last);
/* A model's smallest input side (32 for the VGGs: keras.applications' rule; what pooling needs for the
 * others), and the side the seed resizes its images to (48 for vgg16 and vgg19; 0: native). 0 for an
 * unknown name. */
int model_min_side(const char *name);
int model_default_resize(const char *name);

/* Fills cfg with a model's defaults: 48x48x3 for vgg16/vgg19, 32x32x3 for the others; 100 classes,
 * include_top 1, seed 1. Returns VT_EUSAGE for an unknown name. */
int model_config_default(model_config *cfg, const char *name, vt_err *err);
/* Checks a config without allocating: unknown model, input below a model's minimum (32x32 for the VGGs),
 * an input that pooling would shrink to nothing, classes < 1, channels not 1..4. One line in err. */
int model_config_check(const model_config *cfg, vt_err *err);

/* One row of the Keras summary table. */
typedef struct layer_info {
    char name[40];  /* Keras layer name: "input_1", "block1_conv1", "fc1", "predictions" */
    char type[32];  /* Keras class: "InputLayer", "Conv2D", "MaxPooling2D", "Flatten", "Dense", ... */
    int rank;       /* 4: (None, h, w, c); 2: (None, c) */
    int h, w, c;
    long long params;
} layer_info;

/* Plans a model without allocating its weights: fills up to max rows, returns the number of rows
 * (which may exceed max), or a negative vt error code. total may be NULL. */
int model_plan(const model_config *cfg, layer_info *rows, int max, long long *total, vt_err *err);
/* The Keras `model.summary()` text (Model: "vgg16", the table, Total/Trainable/Non-trainable params with
 * thousands separators; the base's as non-trainable with freeze_base), malloc'ed. */
int model_summary_text(const model_config *cfg, char **text, vt_err *err);
/* Forward FLOPs of one image (a multiply-add counts 2). Training is taken as 3x this. */
double model_flops_per_image(const model_config *cfg);

typedef struct model model;

/* Allocates and initialises parameters like Keras (glorot_uniform kernels, zero biases) from cfg->seed. */
int model_create(const model_config *cfg, model **out, vt_err *err);
void model_destroy(model *m);
const model_config *model_get_config(const model *m);
long long model_param_count(const model *m);
/* The parameters of a model of cfg that training updates: all, or with freeze_base those of the top. */
long long model_trainable_count(const model_config *cfg);
/* Sizes activations and the workspace for batches of up to max_batch (call again to change it). */
int model_set_batch(model *m, int max_batch, vt_err *err);

/* ---- convolution backends ------------------------------------------------------------------------ */
/* Each Conv2D layer runs on one of a table of backends, chosen when the model is sized (model_set_batch).
 * The backends, their variants and how "auto" ranks them are rows of one table, in one place:
 * conv_backends in src/nn/conv.c, each row in its backend's own file (src/nn/nn_internal.h says how a rank
 * works; tests/test_nn_backends.c shows what the ranking gives on made-up CPUs). The names a choice may
 * hold are NN_CONV_CHOICES. Parameters, gradients and SGD velocity stay in Keras' layout whatever the
 * backend, so checkpoints move freely between them. */

/* Every entry a choice may hold, for messages and help texts (static tables need it as a literal): the
 * rows' names, which a unit test checks it against. */
#define NN_CONV_CHOICES                                                                                         \
    "auto, timed, onednn, onednn:direct, onednn:winograd, onednn:bf16, winograd, winograd:f2, winograd:f3, "      \
    "winograd:f4, winograd:f2-bf16, smallmap, unrolled, gemm or naive"
/* The choice a new model starts with: the VGGTOP_CONV environment variable when set, else "auto". The one
 * place nn reads that variable. */
const char *nn_conv_default(void);
/* Chooses the convolutions' backends, per Conv2D layer:
 *   "auto"    the ranking of the rows (src/nn/conv.c), a fixed rule of the layer's shape and of what this
 *             CPU's libraries can run, the same on every run here (it may differ on another CPU);
 *   "timed"   each variant "auto" may choose timed on the layer for a few iterations at model_set_batch (a
 *             few seconds for a VGG), the fastest kept: the choice then varies between runs, so record it
 *             (model_conv_choice) and set it again on resume;
 *   a backend of several variants named alone ("onednn"): the best of its own variants by its row's
 *             ranks; the layers none of them can run go to gemm where its row says so, else are an error;
 *   "backend:variant", "gemm", "naive": exactly that, an error if it cannot run a layer here;
 * one entry for every layer, or a comma-separated list with one entry per Conv2D layer in order (what
 * model_conv_choice gives: reuse it on resume). A sized model is planned again at once. VT_EUSAGE with a
 * message naming the bad entry; then the model keeps its previous choice. */
int model_set_conv(model *m, const char *choice, vt_err *err);
/* Checks a choice's names without a model (a list's length is checked against a model by model_set_conv):
 * VT_EUSAGE with the message model_set_conv would give. For flags and settings files. */
int nn_conv_check(const char *choice, vt_err *err);
/* The choice in effect as that list ("onednn:direct,onednn:direct,gemm,..."; "" for a model without
 * convolutions), after model_set_batch; before it, the choice as set. Returns the length written (or
 * needed, like snprintf). */
int model_conv_choice(const model *m, char *buf, size_t cap);
/* The backend of row `layer` of model_plan ("onednn:direct", "gemm", ...), NULL for a row that is not a
 * Conv2D or before model_set_batch. */
const char *model_layer_backend(const model *m, int layer);

/* ---- precision (precision.c) ---------------------------------------------------------------------- */
/* Keras' dtype policies: "float32", and "mixed_bfloat16" where the CPU has bfloat16 instructions
 * (AVX512_BF16 or AMX): the convolutions run in bfloat16 on oneDNN (inputs, kernels and outputs rounded to
 * bf16, sums in float32), while the parameters (the master weights), gradients, optimiser state, the Dense
 * layers, softmax and loss stay float32, as Keras' policy keeps variables, softmax and loss in float32.
 * The layers where oneDNN has no optimised bf16 kernel, or one far slower than float32's, keep their
 * float32 backend (the measured rule: precision_takes_bf16 in src/nn/precision.c). Checkpoints hold float32
 * either way, so they move freely between precisions. */
typedef enum nn_precision { NN_PREC_FLOAT32 = 0, NN_PREC_MIXED_BF16 } nn_precision;

#define NN_PRECISION_CHOICES "float32 or mixed_bfloat16"
/* The policy names in nn_precision's order, NULL-terminated (the train setting's choices). */
extern const char *const nn_precision_names[];
/* "float32", "mixed_bfloat16". */
const char *nn_precision_name(nn_precision p);
/* Parses a policy name: VT_EUSAGE naming `what` (a flag or a settings key) and the choices. */
int nn_precision_parse(const char *name, nn_precision *out, const char *what, vt_err *err);
/* Whether p can run on this CPU: float32 always; mixed_bfloat16 where the CPU has AVX512_BF16 or AMX-BF16
 * (cpuid) and oneDNN agrees to create optimised bf16 convolutions (not with ONEDNN_MAX_CPU_ISA below
 * AVX512_CORE_BF16). VT_EUSAGE with one line saying which is missing. */
int nn_precision_check(nn_precision p, vt_err *err);
/* Sets the model's precision (after nn_precision_check; VT_EUSAGE as it gives); a sized model is planned
 * again at once. */
int model_set_precision(model *m, nn_precision p, vt_err *err);
nn_precision model_get_precision(const model *m);

/* ---- training -------------------------------------------------------------------------------------- */

/* The optimisers, Keras' names (src/nn/optim.c has their update rules). */
typedef enum nn_optimizer { NN_OPT_SGD, NN_OPT_ADAM, NN_OPT_RMSPROP } nn_optimizer;

/* The optimiser and its settings, Keras' defaults: SGD with lr 0.01, momentum 0, no Nesterov; Adam's
 * beta_1 0.9, beta_2 0.999; RMSprop's rho 0.9 (and momentum, shared with SGD's); epsilon 1e-7 for both.
 * weight_decay is Keras' decoupled form for all three (w -= lr * wd * w before each update). */
typedef struct sgd_config {
    float lr;
    float momentum;
    int nesterov;
    float weight_decay;
    nn_optimizer kind;
    float beta1, beta2; /* Adam */
    float rho;          /* RMSprop */
    float epsilon;      /* Adam (added to sqrt(v)) and RMSprop (added to v under the root), as Keras */
} sgd_config;

void sgd_config_default(sgd_config *sgd);

/* Sums over the batch, so callers can average over an epoch exactly as Keras' running means do. */
typedef struct step_stats {
    double loss_sum; /* categorical cross-entropy, natural log, probabilities clipped to [1e-7, 1-1e-7] */
    double mse_sum;  /* per sample: mean over classes of (onehot - p)^2 */
    long long correct; /* argmax(p) == y */
    long long correct5; /* y among the 5 highest probabilities: fewer than 5 classes above p[y] (Keras'
                           top_k_categorical_accuracy with k = 5, in_top_k: ties at the boundary count in) */
    long long n;
    int nonfinite; /* set when a step failed because its loss was not finite (training diverged) */
} step_stats;

/* One SGD step on a batch (the update consumes the gradients: afterwards the gradient block reads zero).
 * x: (n, H, W, C) float, y: n labels in [0, classes), n <= max_batch.
 * Adds this batch into *stats (which the caller zeroes). Returns VT_OK, or VT_EUSAGE with a message when
 * the loss is not finite (the weights are then left as they were before the step, and stats->nonfinite is
 * set), or on a bad batch. */
int model_train_step(model *m, const float *x, const int *y, int n, const sgd_config *sgd, step_stats *stats,
                     vt_err *err);
/* A question asked before each layer of a pass, forward or backward (NULL: none). When it answers non-zero the step
 * ends there and model_train_step returns VT_OK without adding to the statistics, the weights partly
 * updated: for a model that is thrown away after (the Setup screen's timing, which must stop within a layer,
 * not a whole VGG step, when the user quits). */
void model_set_cancel(model *m, int (*cancelled)(void *), void *arg);
/* model_train_step that also records how long each layer took: fwd[i] and bwd[i] get the seconds of row
 * i of model_plan (rows without a kernel, and the input, get 0; a chained backend's reorders count in the
 * layer that does them). fwd and bwd hold model_plan's row count each. */
int model_train_step_timed(model *m, const float *x, const int *y, int n, const sgd_config *sgd,
                           step_stats *stats, double *fwd, double *bwd, vt_err *err);
/* Adds part into sum. */
void step_stats_add(step_stats *sum, const step_stats *part);

/* ---- data-parallel steps (the engine's MPI side lives in train; nn knows nothing of it) ------------- */

/* Called during a backward pass each time a layer's gradients are final: the gradient block from float
 * `from` to its end is then complete (layers finish last to first, and each layer's kernel and bias come
 * after those of the layers before it), so it may be sent while the earlier layers run. */
typedef void (*nn_grads_ready)(void *ctx, size_t from);
/* Forward and backward of a slice of n images of a batch of total (0 <= n <= total): zeroes the gradient
 * block and fills it with this slice's share of the gradient of the mean loss over the whole batch, so the
 * slices' blocks sum to that gradient. ready (may be NULL) is called as the layers finish, from(0) last;
 * with n == 0 the block is zero and ready(ctx, 0) is called at once. Adds the slice into *stats. A
 * non-finite loss gives VT_EUSAGE. */
int model_grad_slice(model *m, const float *x, const int *y, int n, int total, nn_grads_ready ready, void *ctx,
                     step_stats *stats, vt_err *err);
/* The SGD update from the gradient block as it stands (summed over the slices), as model_train_step's;
 * consumes the block (zero afterwards). VT_EUSAGE for settings out of range. */
int model_apply_grads(model *m, const sgd_config *sgd, vt_err *err);

/* Inference. probs: (n, classes) softmax outputs. */
int model_predict(model *m, const float *x, int n, float *probs, vt_err *err);

/* ---- layer health ---------------------------------------------------------------------------------- */

/* One weighted layer (Conv2D, Dense) after a pass: why a deep net without batch norm learns or not. */
typedef struct layer_stats {
    char name[40];      /* Keras' layer name */
    double w_norm;      /* L2 norm of its kernel */
    double g_norm;      /* L2 norm of the kernel's gradient of the mean loss (NaN unless the last call was
                           model_loss_grad or model_grad_norms: the fused plain-SGD step never forms the
                           gradient) */
    int relu;
    double dead;        /* share of its ReLU outputs that are 0 over the pass's images (NaN without ReLU) */
    double act_mean, act_std; /* of its output over the pass's images */
} layer_stats;

/* The stats of every weighted layer, in order, from the last pass of n images; fills up to max, returns how
 * many layers there are. */
int model_layer_stats(const model *m, int n, layer_stats *out, int max);

/* ---- checkpoints ----------------------------------------------------------------------------------- */

/* A checkpoint holds the config, parameters, optimiser state and an opaque blob of the caller's (the
 * training engine's epoch, RNG state, ...). Header: magic "VGGTOPCK", format version, sizes; a CRC-32 over
 * everything; written atomically. */
int checkpoint_save(const char *path, const model *m, const void *extra, size_t extra_len, vt_err *err);
/* Reads the config stored in a checkpoint (to create the right model before loading). */
int checkpoint_read_config(const char *path, model_config *cfg, vt_err *err);
/* Loads into m, which must have the same config; extra gets at most extra_cap bytes, *extra_len the
 * stored length. Truncated, corrupt, other-version or other-model files give VT_EUSAGE and leave m as
 * it was. */
int checkpoint_load(const char *path, model *m, void *extra, size_t extra_cap, size_t *extra_len, vt_err *err);

/* ---- Keras HDF5 weights (keras_h5.c) ------------------------------------------------------------------ */

/* The weights as the legacy Keras HDF5 file `model.save_weights("x.h5")` writes (Keras 2; Keras 3 loads it):
 * root attributes layer_names, backend, keras_version; a group per layer named as keras.applications names
 * it, with its weight_names attribute and datasets "<layer>/kernel:0" and "<layer>/bias:0" in Keras'
 * layouts. Written atomically. */
int keras_h5_save(const char *path, const model *m, vt_err *err);

#define NN_H5_SKIP_MISMATCH 1u /* layers missing from the file or of other shapes are left as they are */
#define NN_H5_BASE_ONLY 2u     /* only the Conv2D layers are read (a "notop" file into a model with a top) */
/* Loads such a file by layer name (Keras' by_name=True; also a whole-model file's /model_weights). A model
 * layer with weights that is missing from the file, or whose kernel or bias has another shape, is refused
 * with one line naming the file, the layer and both shapes, unless NN_H5_SKIP_MISMATCH; so is a file that
 * is not HDF5, truncated, or holds non-float weights. Every shape is checked before a float is read, and a
 * refused file leaves m as it was. *loaded (may be NULL) gets the number of layers read. VT_EUSAGE. */
int keras_h5_load(const char *path, model *m, unsigned flags, int *loaded, vt_err *err);

/* ---- ONNX (onnx.c) ------------------------------------------------------------------------------------ */

/* The model as an ONNX file (opset 13): input "input" (N, H, W, C) float32, prepared as for model_predict;
 * output "probabilities" (N, classes), the softmax. doc goes into the model's and graph's doc strings (how
 * to prepare the input), and nmeta key/value pairs into its metadata_props. Written atomically. */
int onnx_save(const char *path, const model *m, const char *doc, const char *const *keys,
              const char *const *values, int nmeta, vt_err *err);

/* ---- lower-level access (tests, tools) -------------------------------------------------------------- */

/* The parameter and gradient blocks: every layer's kernel then bias, in layer order, Keras' layouts
 * (Conv2D kernel (kh, kw, cin, cout), Dense kernel (in, out)).
 * Backends keep what they derive from the weights (the winograd backend's transformed kernels) while the
 * weights stay the same: asking for model_params counts as changing them, and a caller that keeps the
 * pointer and writes through it after a pass calls model_weights_changed before the next one. */
float *model_params(model *m);
void model_weights_changed(model *m);
float *model_grads(model *m);
/* The gradient block moves to the caller's memory (nparams floats; another rank's process may read it):
 * the gradients so far are copied there, and model_destroy leaves it to the caller. */
void model_use_grads(model *m, float *block);
/* The weights, the velocity and (when the optimiser has one, else NULL) the second moment move to the
 * caller's memory (nparams floats each), for the ranks of one host to keep one copy between them: with copy
 * the current values are copied there (one rank does), without it the blocks already hold them. model_destroy
 * leaves them to the caller. */
void model_use_state(model *m, float *params, float *velocity, float *moment2, int copy);
/* The optimiser's step t (from 1), as model_apply_grads takes it, on the parameters [lo, hi) alone, from the
 * gradients g (hi - lo floats, zeroed after use); a frozen base takes none. When every part of the step is
 * taken (by whichever rank), model_step_done counts the step on each rank's model. */
void model_apply_part(model *m, const sgd_config *sgd, float *g, size_t lo, size_t hi, long long t);
void model_step_done(model *m);
/* The SGD velocity block (same layout; zero until a step with momentum > 0); Adam's first moment m and
 * RMSprop's momentum live there too. */
float *model_velocity(model *m);
/* The second moment block (same layout): Adam's v, RMSprop's mean square; NULL when the model's
 * optimiser never needed one (checkpoints then leave it out). */
float *model_moment2(model *m);
/* Makes the second moment block (zeroed) if there is none. */
int model_need_moment2(model *m, vt_err *err);
/* The optimiser steps taken (Keras' iterations: Adam's bias correction counts them). */
long long model_iterations(const model *m);
void model_set_iterations(model *m, long long iterations);
/* Forward and backward without an update: zeroes the gradient block, fills it with the gradient of the
 * mean loss over the batch, and (when dx is not NULL) writes dL/dx, (n, H, W, C), too. *loss gets the
 * mean categorical cross-entropy (may be NULL). Non-finite loss gives VT_EUSAGE. */
int model_loss_grad(model *m, const float *x, const int *y, int n, float *dx, double *loss, vt_err *err);
/* model_loss_grad for layer health (model_layer_stats' g_norm), without the gradient block: each layer's
 * kernel gradient is formed in one scratch buffer the size of the largest Conv2D's (a Dense kernel's rows
 * at a time) and only its norm kept, so a training run that samples its layers makes no more of its memory
 * resident than its steps do. The norms equal model_loss_grad's bit for bit. */
int model_grad_norms(model *m, const float *x, const int *y, int n, vt_err *err);

/* ---- layers ---------------------------------------------------------------------------------------- */
/* Plain kernels over float *: outputs first, then inputs, then sizes. Activations are NHWC. Backward
 * kernels ADD their weight and bias gradients into dw/db (so a step zeroes them once) and OVERWRITE dx.
 * Flatten has no kernel: an NHWC (n, h, w, c) block already is the (n, h*w*c) matrix Keras' Flatten gives. */

/* Geometry of a 2-D convolution: input (n, h, w, c), kernel (kh, kw, c, oc), output (n, oh, ow, oc). */
typedef struct conv_geom {
    int n, h, w, c;
    int oc, kh, kw, stride;
    int pad_top, pad_left; /* zero padding before the first row / column */
    int oh, ow;
} conv_geom;

/* Fills g; same != 0 is Keras' padding='same' (output ceil(h / stride)), else 'valid'. */
void conv_geom_init(conv_geom *g, int n, int h, int w, int c, int oc, int kh, int kw, int stride, int same);
/* Floats of the im2col workspace for g. The convolution kernels run im2col and sgemm a chunk of output
 * lines (rows of oh, image after image) at a time (about 512 output pixels when oc <= 64, else 1024, so the
 * columns are still in cache when sgemm reads them): this is (k*ow, kh*kw*c) for that chunk of k lines. */
size_t conv_col_size(const conv_geom *g);

/* col: (n*oh*ow, kh*kw*c) for all g->n images of x, a row per output pixel, columns in kernel order
 * (ky, kx, ci); x: (n, h, w, c). */
void im2col(float *col, const float *x, const conv_geom *g);
/* dx (n, h, w, c) += the columns of col scattered back to their pixels (the adjoint of im2col). */
void col2im_add(float *dx, const float *col, const conv_geom *g);

/* out: (n, oh, ow, oc) = x (*) w + b, then max(0, .) when relu. col is the im2col workspace
 * (conv_col_size floats); im2col and sgemm run a chunk of output lines at a time. */
void conv2d_forward(float *out, float *col, const float *x, const float *w, const float *b, const conv_geom *g,
                    int relu);
/* dout: (n, oh, ow, oc) (masked in place by out > 0 when relu); dw (kh, kw, c, oc) += ; db (oc) += ;
 * dx (n, h, w, c) = (skipped when NULL, as for a first layer). */
void conv2d_backward(float *dx, float *dw, float *db, float *col, float *dout, const float *out, const float *x,
                     const float *w, const conv_geom *g, int relu);
/* conv2d_backward fused with a plain SGD step (no momentum): w = keep * w - lr * dL/dw and b likewise, with
 * keep = 1 - lr * weight_decay, inside the gemm that computes the kernel gradient; dx comes from the
 * weights before the step. db is scratch for the bias gradient (oc floats, overwritten). */
void conv2d_backward_sgd(float *dx, float *w, float *b, float *db, float *col, float *dout, const float *out,
                         const float *x, const conv_geom *g, int relu, float lr, float keep);
/* The slow, obviously correct loops the tests compare the fast pair against (same contract, no workspace). */
void conv2d_forward_naive(float *out, const float *x, const float *w, const float *b, const conv_geom *g,
                          int relu);
void conv2d_backward_naive(float *dx, float *dw, float *db, float *dout, const float *out, const float *x,
                           const float *w, const conv_geom *g, int relu);

/* Max pooling, 'valid': x (n, h, w, c) -> out (n, (h-size)/stride+1, (w-size)/stride+1, c). */
void maxpool2d_forward(float *out, const float *x, int n, int h, int w, int c, int size, int stride);
/* The gradient goes to the first maximum of each window (row-major), as TensorFlow's MaxPoolGrad. */
void maxpool2d_backward(float *dx, const float *dout, const float *x, int n, int h, int w, int c, int size,
                        int stride);

/* out (n, out_dim) = x (n, in_dim) . w (in_dim, out_dim) + b, then max(0, .) when relu. */
void dense_forward(float *out, const float *x, const float *w, const float *b, int n, int in_dim, int out_dim,
                   int relu);
/* dout (n, out_dim) masked in place when relu; dw += x^T . dout (or NULL); db += column sums; dx = dout . w^T
 * (or NULL). */
void dense_backward(float *dx, float *dw, float *db, float *dout, const float *out, const float *x, const float *w,
                    int n, int in_dim, int out_dim, int relu);

/* dense_backward fused with a plain SGD step, as conv2d_backward_sgd (db: out_dim floats of scratch). */
void dense_backward_sgd(float *dx, float *w, float *b, float *db, float *dout, const float *out, const float *x,
                        int n, int in_dim, int out_dim, int relu, float lr, float keep);

/* out = max(0, x) over count floats; dx = dout where out > 0, else 0. */
void relu_forward(float *out, const float *x, size_t count);
void relu_backward(float *dx, const float *dout, const float *out, size_t count);

/* probs (n, classes) = softmax of logits (n, classes), max-subtracted. */
void softmax_forward(float *probs, const float *logits, int n, int classes);
/* Categorical cross-entropy on softmax outputs with Keras' clipping to [1e-7, 1 - 1e-7]; adds the loss,
 * the mse metric and the counts of correct argmaxes and of top-5 hits into *stats (n too). Returns 0 when every loss is finite. */
int crossentropy_stats(step_stats *stats, const float *probs, const int *y, int n, int classes);
/* The fused softmax + cross-entropy backward for the MEAN loss over the batch: dlogits = (p - onehot(y)) / n.
 * (The clipping only guards the log; the gradient is that of the unclipped loss, as TensorFlow's
 * softmax_cross_entropy_with_logits.) */
void softmax_crossentropy_backward(float *dlogits, const float *probs, const int *y, int n, int classes);

/* Global pooling over the pixels: x (n, h, w, c) -> out (n, c). */
void global_avgpool_forward(float *out, const float *x, int n, int h, int w, int c);
void global_avgpool_backward(float *dx, const float *dout, int n, int h, int w, int c);
void global_maxpool_forward(float *out, const float *x, int n, int h, int w, int c);
/* The gradient goes to the first maximum of each channel. */
void global_maxpool_backward(float *dx, const float *dout, const float *x, int n, int h, int w, int c);

/* ---- threads ------------------------------------------------------------------------------------- */

/* Threads for OpenBLAS and for oneDNN's OpenMP pool alike (0: as many as cores); call it while no nn work
 * is running. nn's only parallelism is inside sgemm and oneDNN's primitives: its other loops run on the
 * calling thread. OpenMP's count is per calling thread, so nn applies it on each thread that runs a model. */
void nn_set_threads(int n);
int nn_get_threads(void);
/* The OpenBLAS kernel in use, e.g. "SkylakeX" (openblas_get_corename). */
const char *nn_blas_core(void);
/* When OpenBLAS runs a kernel below what this CPU can run (a generic pre-AVX2 one because it does not know
 * the CPU model, or an AVX2 one on a CPU with AVX-512), the kernel that matches the CPU's features
 * ("SkylakeX" with AVX-512, "Haswell" with AVX2 and FMA); else NULL. The kernel is chosen when the library
 * loads, so only a restart with OPENBLAS_CORETYPE set can apply it. */
const char *nn_blas_suggest_core(void);
/* Starts the program once more (execv of /proc/self/exe with argv) with the environment its libraries
 * read only when they load, where it is unset: OPENBLAS_CORETYPE from nn_blas_suggest_core (unless
 * VGGTOP_BLAS_AUTO is "0"; VGGTOP_BLAS_AUTO=chosen then says vggtop chose it), and passive idle waits for
 * both thread pools, OMP_WAIT_POLICY=PASSIVE (libgomp, under oneDNN) and OPENBLAS_THREAD_TIMEOUT=4.
 * VGGTOP_RESTARTED=1 marks the restarted program. Returns when nothing is to be done or the restart failed.
 * The binary and every test binary call it first, so the tests run what users run. */
void nn_blas_choose_kernel(char **argv);
/* Who chose the kernel in use, for bench's header: "OPENBLAS_CORETYPE unset", "from OPENBLAS_CORETYPE" or
 * "chosen by vggtop from the CPU's features". */
const char *nn_blas_chooser(void);

#endif
