/* onednn: the oneDNN convolution backend (Debian's libdnnl, C API, 2.x).
 *
 * Each layer's plan holds oneDNN primitives created once, at model_set_batch, for the model's largest
 * batch N: convolution forward (bias and ReLU fused as a post-op), backward data and backward weights,
 * and when a max pooling follows, its forward and backward. Activations live in the layout oneDNN
 * prefers (blocked, nChw8c with AVX2, nChw16c with AVX-512): consecutive oneDNN layers share memories
 * (layer i's output, or its pooling's, is layer i+1's input; layer i+1's input gradient is layer i's output
 * gradient), so the model's NHWC tensors are reordered only where a chain starts (the input) and ends
 * (Flatten, a global pooling, a layer of another backend).
 *
 * Weights stay in Keras' layout (kh, kw, cin, cout) in the model's parameter block, which is what
 * checkpoints hold: each forward reorders them into a blocked copy (a few MB, small beside the
 * activations), and the kernel gradient comes back through a reorder into the model's gradient block in
 * Keras' layout (added to it, or as the scratch of a fused SGD step), so the parameters, gradients and
 * velocity never depend on the backend.
 *
 * A batch smaller than N (the last of an epoch) runs through the same primitives: its images are
 * reordered one by one into the first n image slots of the blocked memories, the remaining slots get zero
 * input and zero gradient, so they add nothing to the kernel and bias gradients. That costs the compute of
 * a full batch once an epoch, and keeps every primitive planned ahead: nothing allocates in a step. */
#include <dnnl.h>
#include <dnnl_debug.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

/* ---- engine, threads ------------------------------------------------------------------------------ */

static dnnl_engine_t engine;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

static void engine_init(void)
{
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
        engine = NULL;
}

static dnnl_engine_t get_engine(void)
{
    pthread_once(&engine_once, engine_init);
    return engine;
}

void onednn_apply_threads(void)
{
    /* omp_set_num_threads changes the calling thread's count only (an OpenMP ICV), and the training
     * engine runs the model on a thread of its own: so every entry into oneDNN checks. Reading the count
     * allocates nothing; setting it allocates once per thread (libgomp's task ICVs), at plan time. */
    int want = nn_threads();
    if (omp_get_max_threads() != want)
        omp_set_num_threads(want);
}

/* ---- plans ---------------------------------------------------------------------------------------- */

/* A reorder between a model tensor (NHWC, or Keras' hwio kernel) and a oneDNN memory, for the whole batch
 * and, at a batch below N, image by image through batch-1 views. */
typedef struct dn_boundary {
    dnnl_primitive_t full, one;
    dnnl_memory_t user_full, user_one; /* the model's side; handles set at each call */
    dnnl_memory_t blk, blk_one;        /* the oneDNN side: the layer's memory and a one-image view */
    size_t user_image, blk_image;      /* bytes of one image on each side */
    int to_blk;                        /* direction: user -> blocked */
} dn_boundary;

typedef struct dn_plan {
    dnnl_stream_t stream;
    dnnl_primitive_desc_t fwd_pd, bwdd_pd, bwdw_pd, pfwd_pd, pbwd_pd, relu_pd;
    dnnl_primitive_t fwd, bwdd, bwdw, pfwd, pbwd, relu_bwd;
    /* Memories; *_own says this plan created it (others belong to the neighbour in the chain). */
    dnnl_memory_t src, dst, diff_dst, diff_src, wei, bwdd_wei, diff_wei, bias, diff_bias, scratch;
    dnnl_memory_t pool_dst, pool_ws, pool_diff_dst;
    dnnl_memory_t user_w, user_dw; /* the Keras kernel and its gradient (the model's block; handles per call) */
    int src_own, diff_src_own, pool_diff_dst_own;
    /* Kernel to blocked (forward, backward data) and its gradient back to Keras' layout: overwriting (a
     * step's scratch) or adding (a sum post-op: model_loss_grad's accumulated gradients). */
    dnnl_primitive_t w_reorder, bwdd_w_reorder, dw_reorder, dw_add_reorder;
    /* Links within a chain where the neighbour's layout differs from ours (NULL when equal). */
    dnnl_primitive_t link_in, link_back;
    dnnl_memory_t link_in_from, link_back_to;
    dn_boundary in, out, dout, dx; /* at the ends of a chain */
    dn_boundary peek;              /* the conv's own output to NHWC where it stays blocked (for stats) */
    int has_in, has_out, has_dout, has_dx, has_peek;
    size_t w_count;
    int n;                         /* the batch the primitives are for */
    size_t src_bytes;              /* of the blocked input */
} dn_plan;

/* Where planning failed: the call, as written, and oneDNN's status; each step of onednn_plan fills it. */
typedef struct plan_fail {
    const char *what;
    dnnl_status_t status;
} plan_fail;

/* In a plan step (with a plan_fail *f): a failing call ends the step with its status, named in *f. */
#define TRY(call)                                                                                             \
    do {                                                                                                      \
        dnnl_status_t st_ = (call);                                                                           \
        if (st_ != dnnl_success) {                                                                            \
            f->what = #call;                                                                                  \
            f->status = st_;                                                                                  \
            return st_;                                                                                       \
        }                                                                                                     \
    } while (0)

static void geom_dims(const conv_geom *g, int n, dnnl_dims_t src, dnnl_dims_t wei, dnnl_dims_t bias,
                      dnnl_dims_t dst, dnnl_dims_t strides, dnnl_dims_t pl, dnnl_dims_t pr)
{
    src[0] = n, src[1] = g->c, src[2] = g->h, src[3] = g->w;
    wei[0] = g->oc, wei[1] = g->c, wei[2] = g->kh, wei[3] = g->kw;
    bias[0] = g->oc;
    dst[0] = n, dst[1] = g->oc, dst[2] = g->oh, dst[3] = g->ow;
    strides[0] = strides[1] = g->stride;
    pl[0] = g->pad_top, pl[1] = g->pad_left;
    pr[0] = (g->oh - 1) * g->stride + g->kh - g->h - g->pad_top;
    pr[1] = (g->ow - 1) * g->stride + g->kw - g->w - g->pad_left;
}

static dnnl_alg_kind_t alg_of(int algo)
{
    return algo == CONV_ALGO_WINOGRAD ? dnnl_convolution_winograd : dnnl_convolution_direct;
}

/* The activations' and kernel's type inside the primitives: bfloat16 for the bf16 variant (mixed
 * precision: the bias, the kernel gradient and the model's tensors stay float32), else float32. */
static dnnl_data_type_t dt_of(int algo)
{
    return algo == CONV_ALGO_BF16 ? dnnl_bf16 : dnnl_f32;
}

/* The forward primitive descriptor for g at batch n, layouts left to oneDNN, bias + ReLU fused. */
static dnnl_status_t make_fwd_pd(dnnl_primitive_desc_t *pd, const conv_geom *g, int n, int algo, int relu)
{
    dnnl_dims_t sd, wd, bd, dd, st, pl, pr;
    geom_dims(g, n, sd, wd, bd, dd, st, pl, pr);
    dnnl_memory_desc_t src, wei, bias, dst;
    dnnl_memory_desc_init_by_tag(&src, 4, sd, dt_of(algo), dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&wei, 4, wd, dt_of(algo), dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_x);
    dnnl_memory_desc_init_by_tag(&dst, 4, dd, dt_of(algo), dnnl_format_tag_any);
    dnnl_convolution_desc_t desc;
    dnnl_status_t s = dnnl_convolution_forward_desc_init(&desc, dnnl_forward_training, alg_of(algo), &src, &wei,
                                                         &bias, &dst, st, pl, pr);
    if (s != dnnl_success)
        return s;
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    dnnl_primitive_attr_create(&attr);
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    dnnl_post_ops_create(&po);
    if (relu)
        dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    dnnl_primitive_attr_set_post_ops(attr, po);
    s = dnnl_primitive_desc_create(pd, &desc, attr, get_engine(), NULL);
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    return s;
}

static const dnnl_memory_desc_t *pd_md(const_dnnl_primitive_desc_t pd, dnnl_query_t what)
{
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

static int is_reference(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    return !impl || strncmp(impl, "ref", 3) == 0;
}

/* The backward data and backward weights descriptors of g hinted by the forward fwd, layouts left to oneDNN:
 * the input gradient and the kernel in the forward's type, the kernel and bias gradients in float32 (the
 * model's gradient block; oneDNN accumulates them in float32 whatever the type of the inputs). */
static dnnl_status_t make_bwd_pds(const_dnnl_primitive_desc_t fwd, const conv_geom *g, int algo,
                                  const_dnnl_primitive_attr_t attr, dnnl_primitive_desc_t *bwdd,
                                  dnnl_primitive_desc_t *bwdw)
{
    dnnl_dims_t sd, wd, bd, dd, st, pl, pr;
    geom_dims(g, g->n, sd, wd, bd, dd, st, pl, pr);
    dnnl_memory_desc_t any_src, any_wei, any_dwei, bias_md;
    dnnl_memory_desc_init_by_tag(&any_src, 4, sd, dt_of(algo), dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&any_wei, 4, wd, dt_of(algo), dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&any_dwei, 4, wd, dnnl_f32, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&bias_md, 1, bd, dnnl_f32, dnnl_x);
    const dnnl_memory_desc_t *src_md = pd_md(fwd, dnnl_query_src_md), *dst_md = pd_md(fwd, dnnl_query_dst_md);
    dnnl_convolution_desc_t d;
    dnnl_status_t s = dnnl_convolution_backward_data_desc_init(&d, alg_of(algo), &any_src, &any_wei, dst_md, st, pl,
                                                               pr);
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(bwdd, &d, attr, get_engine(), fwd);
    if (s == dnnl_success)
        s = dnnl_convolution_backward_weights_desc_init(&d, alg_of(algo), src_md, &any_dwei, &bias_md, dst_md, st,
                                                        pl, pr);
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(bwdw, &d, attr, get_engine(), fwd);
    return s;
}

/* Whether oneDNN has an optimised (not reference) implementation of the forward pass and both backward
 * passes of g: its reference loops are orders of magnitude slower than gemm (block5's 2x2 maps' kernel
 * gradient takes 8 s at batch 32 on AVX2). For the bf16 variant this is also where a CPU without bf16
 * instructions (or oneDNN capped below them, ONEDNN_MAX_CPU_ISA=AVX2) says no: oneDNN 2.x then has only
 * its reference bf16 kernels. */
static int onednn_supports(const conv_geom *g, int algo)
{
    if (!get_engine() || algo == CONV_ALGO_ANY)
        return 0;
    dnnl_primitive_desc_t fwd = NULL, bwdd = NULL, bwdw = NULL;
    int ok = make_fwd_pd(&fwd, g, g->n, algo, 1) == dnnl_success && !is_reference(fwd) &&
             make_bwd_pds(fwd, g, algo, NULL, &bwdd, &bwdw) == dnnl_success && !is_reference(bwdd) &&
             !is_reference(bwdw);
    dnnl_primitive_desc_destroy(bwdw);
    dnnl_primitive_desc_destroy(bwdd);
    dnnl_primitive_desc_destroy(fwd);
    return ok;
}

static size_t onednn_workspace(const conv_geom *g)
{
    (void)g;
    return 0;
}

/* A batch-1 view of md (batch N outermost, not blocked): the same strides, one image. Returns 0 when md
 * does not split by image. */
static int image_view(const dnnl_memory_desc_t *md, dnnl_memory_desc_t *one)
{
    if (md->format_kind != dnnl_blocked)
        return 0;
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    for (int k = 0; k < b->inner_nblks; k++)
        if (b->inner_idxs[k] == 0)
            return 0;
    size_t size = dnnl_memory_desc_get_size(md);
    if (md->padded_dims[0] != md->dims[0] || (size_t)b->strides[0] * dnnl_data_type_size(md->data_type) * md->dims[0] != size)
        return 0;
    *one = *md;
    one->dims[0] = one->padded_dims[0] = 1;
    return 1;
}

/* Sets up a boundary between the model's tensor (tag, dims at batch N) and the memory blk. */
static dnnl_status_t boundary_init(dn_boundary *bd, dnnl_memory_t blk, const dnnl_dims_t dims, int ndims,
                                   dnnl_format_tag_t tag, int to_blk, int per_image)
{
    dnnl_status_t s;
    const dnnl_memory_desc_t *bmd;
    dnnl_memory_get_memory_desc(blk, &bmd);
    dnnl_memory_desc_t umd, umd1, bmd1;
    dnnl_memory_desc_init_by_tag(&umd, ndims, dims, dnnl_f32, tag);
    memset(bd, 0, sizeof *bd);
    bd->blk = blk;
    bd->to_blk = to_blk;
    if ((s = dnnl_memory_create(&bd->user_full, &umd, get_engine(), DNNL_MEMORY_NONE)) != dnnl_success)
        return s;
    dnnl_primitive_desc_t pd;
    s = to_blk ? dnnl_reorder_primitive_desc_create(&pd, &umd, get_engine(), bmd, get_engine(), NULL)
               : dnnl_reorder_primitive_desc_create(&pd, bmd, get_engine(), &umd, get_engine(), NULL);
    if (s != dnnl_success)
        return s;
    s = dnnl_primitive_create(&bd->full, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success || !per_image)
        return s;
    if (!image_view(bmd, &bmd1))
        return dnnl_unimplemented;
    dnnl_dims_t d1;
    memcpy(d1, dims, sizeof(dnnl_dims_t));
    d1[0] = 1;
    dnnl_memory_desc_init_by_tag(&umd1, ndims, d1, dnnl_f32, tag);
    bd->user_image = dnnl_memory_desc_get_size(&umd1);
    bd->blk_image = dnnl_memory_desc_get_size(&bmd1);
    if ((s = dnnl_memory_create(&bd->user_one, &umd1, get_engine(), DNNL_MEMORY_NONE)) != dnnl_success ||
        (s = dnnl_memory_create(&bd->blk_one, &bmd1, get_engine(), DNNL_MEMORY_NONE)) != dnnl_success)
        return s;
    s = to_blk ? dnnl_reorder_primitive_desc_create(&pd, &umd1, get_engine(), &bmd1, get_engine(), NULL)
               : dnnl_reorder_primitive_desc_create(&pd, &bmd1, get_engine(), &umd1, get_engine(), NULL);
    if (s != dnnl_success)
        return s;
    s = dnnl_primitive_create(&bd->one, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

static void boundary_release(dn_boundary *bd)
{
    dnnl_primitive_destroy(bd->full);
    dnnl_primitive_destroy(bd->one);
    dnnl_memory_destroy(bd->user_full);
    dnnl_memory_destroy(bd->user_one);
    dnnl_memory_destroy(bd->blk_one);
    memset(bd, 0, sizeof *bd);
}

static void exec_reorder(dnnl_stream_t s, dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to)
{
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    dnnl_primitive_execute(r, s, 2, args);
}

/* Moves n images between user (the model's tensor) and the blocked memory; at n < N the blocked slots
 * n..N-1 are zeroed when writing into them (zero input, zero gradient). */
static void boundary_run(dn_plan *p, dn_boundary *bd, const float *user, int n)
{
    dnnl_memory_t from, to;
    if (n == p->n) {
        dnnl_memory_set_data_handle(bd->user_full, (void *)user);
        from = bd->to_blk ? bd->user_full : bd->blk;
        to = bd->to_blk ? bd->blk : bd->user_full;
        exec_reorder(p->stream, bd->full, from, to);
        return;
    }
    void *base;
    dnnl_memory_get_data_handle(bd->blk, &base);
    for (int i = 0; i < n; i++) {
        dnnl_memory_set_data_handle(bd->user_one, (char *)user + (size_t)i * bd->user_image);
        dnnl_memory_set_data_handle(bd->blk_one, (char *)base + (size_t)i * bd->blk_image);
        from = bd->to_blk ? bd->user_one : bd->blk_one;
        to = bd->to_blk ? bd->blk_one : bd->user_one;
        exec_reorder(p->stream, bd->one, from, to);
    }
    if (bd->to_blk)
        memset((char *)base + (size_t)n * bd->blk_image, 0, (size_t)(p->n - n) * bd->blk_image);
}

static dnnl_status_t new_memory(dnnl_memory_t *mem, const dnnl_memory_desc_t *md)
{
    dnnl_status_t s = dnnl_memory_create(mem, md, get_engine(), DNNL_MEMORY_ALLOCATE);
    if (s == dnnl_success) { /* never NaN garbage in the unused image slots or the padding */
        void *h;
        dnnl_memory_get_data_handle(*mem, &h);
        memset(h, 0, dnnl_memory_desc_get_size(md));
    }
    return s;
}

/* A reorder primitive from md a to md b. */
static dnnl_status_t new_reorder(dnnl_primitive_t *r, const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, a, get_engine(), b, get_engine(), NULL);
    if (s != dnnl_success)
        return s;
    s = dnnl_primitive_create(r, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

static size_t scratch_size(const_dnnl_primitive_desc_t pd)
{
    return pd ? dnnl_memory_desc_get_size(pd_md(pd, dnnl_query_scratchpad_md)) : 0;
}

/* What a chained neighbour hands over: the previous layer's output memory and output-gradient memory
 * (its pooling's when it pools). */
static dnnl_memory_t chain_out_mem(const conv_layer *prev)
{
    const dn_plan *q = prev->state;
    return prev->pool_after ? q->pool_dst : q->dst;
}

static dnnl_memory_t chain_diff_mem(const conv_layer *prev)
{
    const dn_plan *q = prev->state;
    return prev->pool_after ? q->pool_diff_dst : q->diff_dst;
}

static void onednn_release(conv_layer *cl);

/* A primitive attribute with the scratchpad left to the plan (one shared memory, see plan_scratchpad). */
static dnnl_status_t user_scratchpad_attr(dnnl_primitive_attr_t *attr)
{
    dnnl_status_t s = dnnl_primitive_attr_create(attr);
    if (s == dnnl_success)
        dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
    return s;
}

/* The convolution's three passes: forward (bias and ReLU fused), then backward data and weights hinted by
 * it, layouts left to oneDNN; the backward passes must read the forward's layouts (the chain shares them). */
static dnnl_status_t plan_passes(dn_plan *p, const conv_layer *cl, plan_fail *f)
{
    TRY(make_fwd_pd(&p->fwd_pd, &cl->g, cl->g.n, cl->algo, cl->relu));
    TRY(dnnl_primitive_create(&p->fwd, p->fwd_pd));
    const dnnl_memory_desc_t *src_md = pd_md(p->fwd_pd, dnnl_query_src_md);
    const dnnl_memory_desc_t *dst_md = pd_md(p->fwd_pd, dnnl_query_dst_md);
    dnnl_primitive_attr_t attr;
    TRY(user_scratchpad_attr(&attr));
    dnnl_status_t s = make_bwd_pds(p->fwd_pd, &cl->g, cl->algo, attr, &p->bwdd_pd, &p->bwdw_pd);
    dnnl_primitive_attr_destroy(attr);
    TRY(s);
    TRY(dnnl_primitive_create(&p->bwdd, p->bwdd_pd));
    TRY(dnnl_primitive_create(&p->bwdw, p->bwdw_pd));
    if (!dnnl_memory_desc_equal(pd_md(p->bwdd_pd, dnnl_query_diff_dst_md), dst_md) ||
        !dnnl_memory_desc_equal(pd_md(p->bwdw_pd, dnnl_query_diff_dst_md), dst_md) ||
        !dnnl_memory_desc_equal(pd_md(p->bwdw_pd, dnnl_query_src_md), src_md)) {
        f->what = "oneDNN's backward layouts (they differ from the forward's)";
        return f->status = dnnl_unimplemented;
    }
    return dnnl_success;
}

/* The ReLU's gradient, in place on the output gradient and from the output (dst > 0), on oneDNN's threads.
 * oneDNN wants a forward eltwise descriptor as the hint. */
static dnnl_status_t plan_relu(dn_plan *p, plan_fail *f)
{
    const dnnl_memory_desc_t *dst_md = pd_md(p->fwd_pd, dnnl_query_dst_md);
    dnnl_eltwise_desc_t edesc;
    dnnl_primitive_desc_t hint = NULL;
    TRY(dnnl_eltwise_forward_desc_init(&edesc, dnnl_forward_training, dnnl_eltwise_relu_use_dst_for_bwd, dst_md,
                                       0.0f, 0.0f));
    TRY(dnnl_primitive_desc_create(&hint, &edesc, NULL, get_engine(), NULL));
    dnnl_status_t s = dnnl_eltwise_backward_desc_init(&edesc, dnnl_eltwise_relu_use_dst_for_bwd, dst_md, dst_md,
                                                      0.0f, 0.0f);
    dnnl_primitive_attr_t attr;
    if (s == dnnl_success && (s = user_scratchpad_attr(&attr)) == dnnl_success) {
        s = dnnl_primitive_desc_create(&p->relu_pd, &edesc, attr, get_engine(), hint);
        dnnl_primitive_attr_destroy(attr);
    }
    dnnl_primitive_desc_destroy(hint);
    TRY(s);
    TRY(dnnl_primitive_create(&p->relu_bwd, p->relu_pd));
    return dnnl_success;
}

/* A reorder from md a to md b that adds into b (a sum post-op). */
static dnnl_status_t new_add_reorder(dnnl_primitive_t *r, const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_primitive_attr_create(&attr);
    if (s != dnnl_success)
        return s;
    dnnl_post_ops_create(&po);
    dnnl_post_ops_append_sum(po, 1.0f);
    dnnl_primitive_attr_set_post_ops(attr, po);
    s = dnnl_reorder_primitive_desc_create(&pd, a, get_engine(), b, get_engine(), attr);
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success)
        return s;
    s = dnnl_primitive_create(r, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

/* The layer's own memories: the output and its gradient, the kernel's blocked copies and their reorders
 * from Keras' hwio (the backward data pass may want another layout than the forward), the kernel
 * gradient's reorders back (overwriting, or adding), the bias and its gradient. */
static dnnl_status_t plan_weights(dn_plan *p, const conv_geom *g, plan_fail *f)
{
    dnnl_dims_t sd, wd, bd, dd, st, pl, pr;
    geom_dims(g, g->n, sd, wd, bd, dd, st, pl, pr);
    const dnnl_memory_desc_t *dst_md = pd_md(p->fwd_pd, dnnl_query_dst_md);
    const dnnl_memory_desc_t *wei_md = pd_md(p->fwd_pd, dnnl_query_weights_md);
    const dnnl_memory_desc_t *bwdd_wei_md = pd_md(p->bwdd_pd, dnnl_query_weights_md);
    const dnnl_memory_desc_t *dwei_md = pd_md(p->bwdw_pd, dnnl_query_diff_weights_md);
    dnnl_memory_desc_t hwio, bias_md;
    dnnl_memory_desc_init_by_tag(&hwio, 4, wd, dnnl_f32, dnnl_hwio);
    dnnl_memory_desc_init_by_tag(&bias_md, 1, bd, dnnl_f32, dnnl_x);
    TRY(new_memory(&p->dst, dst_md));
    TRY(new_memory(&p->diff_dst, dst_md));
    TRY(new_memory(&p->wei, wei_md));
    TRY(dnnl_memory_create(&p->user_w, &hwio, get_engine(), DNNL_MEMORY_NONE));
    TRY(new_reorder(&p->w_reorder, &hwio, wei_md));
    if (!dnnl_memory_desc_equal(bwdd_wei_md, wei_md)) {
        TRY(new_memory(&p->bwdd_wei, bwdd_wei_md));
        TRY(new_reorder(&p->bwdd_w_reorder, &hwio, bwdd_wei_md));
    }
    TRY(new_memory(&p->diff_wei, dwei_md));
    TRY(dnnl_memory_create(&p->user_dw, &hwio, get_engine(), DNNL_MEMORY_NONE));
    TRY(new_reorder(&p->dw_reorder, dwei_md, &hwio));
    TRY(new_add_reorder(&p->dw_add_reorder, dwei_md, &hwio));
    TRY(dnnl_memory_create(&p->bias, &bias_md, get_engine(), DNNL_MEMORY_NONE));
    TRY(new_memory(&p->diff_bias, &bias_md));
    return dnnl_success;
}

/* One side of a chain link: the neighbour's memory theirs where its layout is md, else a memory of our
 * own (*own set) and a reorder *link between the two (from theirs when in, else to theirs; *other: theirs). */
static dnnl_status_t chain_link(dnnl_memory_t theirs, const dnnl_memory_desc_t *md, int in, dnnl_memory_t *mine,
                                int *own, dnnl_primitive_t *link, dnnl_memory_t *other)
{
    const dnnl_memory_desc_t *their_md;
    dnnl_memory_get_memory_desc(theirs, &their_md);
    if (dnnl_memory_desc_equal(their_md, md)) {
        *mine = theirs;
        return dnnl_success;
    }
    dnnl_status_t s = new_memory(mine, md);
    if (s != dnnl_success)
        return s;
    *own = 1;
    *other = theirs;
    return in ? new_reorder(link, their_md, md) : new_reorder(link, md, their_md);
}

/* The input and its gradient: the previous layer's memories in a chain (through a link reorder where its
 * layout is not ours), else our own, with boundaries from and to the model's NHWC tensors. */
static dnnl_status_t plan_input(dn_plan *p, const conv_layer *cl, plan_fail *f)
{
    dnnl_dims_t sd, wd, bd, dd, st, pl, pr;
    geom_dims(&cl->g, cl->g.n, sd, wd, bd, dd, st, pl, pr);
    const dnnl_memory_desc_t *src_md = pd_md(p->fwd_pd, dnnl_query_src_md);
    const dnnl_memory_desc_t *bwdd_src_md = pd_md(p->bwdd_pd, dnnl_query_diff_src_md);
    p->src_bytes = dnnl_memory_desc_get_size(src_md);
    if (!cl->chain_in) {
        TRY(new_memory(&p->src, src_md));
        p->src_own = 1;
        TRY(boundary_init(&p->in, p->src, sd, 4, dnnl_nhwc, 1, 1));
        p->has_in = 1;
        TRY(new_memory(&p->diff_src, bwdd_src_md));
        p->diff_src_own = 1;
        TRY(boundary_init(&p->dx, p->diff_src, sd, 4, dnnl_nhwc, 0, 1));
        p->has_dx = 1;
        return dnnl_success;
    }
    TRY(chain_link(chain_out_mem(cl->prev), src_md, 1, &p->src, &p->src_own, &p->link_in, &p->link_in_from));
    TRY(chain_link(chain_diff_mem(cl->prev), bwdd_src_md, 0, &p->diff_src, &p->diff_src_own, &p->link_back,
                   &p->link_back_to));
    return dnnl_success;
}

/* The max pooling after the layer ('valid', cl->pool_size at cl->pool_stride), in the same layout: its two
 * passes, its output, workspace and output gradient. */
static dnnl_status_t plan_pool(dn_plan *p, const conv_layer *cl, plan_fail *f)
{
    const dnnl_memory_desc_t *dst_md = pd_md(p->fwd_pd, dnnl_query_dst_md);
    const dnnl_dim_t *dd = dst_md->dims;
    const int ps = cl->pool_size, pt = cl->pool_stride;
    dnnl_dims_t pdims = {dd[0], dd[1], (dd[2] - ps) / pt + 1, (dd[3] - ps) / pt + 1};
    dnnl_dims_t pst = {pt, pt}, ker = {ps, ps}, zero = {0, 0};
    dnnl_dims_t ppr = {(pdims[2] - 1) * pt + ps - dd[2], (pdims[3] - 1) * pt + ps - dd[3]};
    dnnl_memory_desc_t pdst;
    dnnl_memory_desc_init_by_tag(&pdst, 4, pdims, dst_md->data_type, dnnl_format_tag_any);
    dnnl_pooling_desc_t pdesc;
    TRY(dnnl_pooling_forward_desc_init(&pdesc, dnnl_forward_training, dnnl_pooling_max, dst_md, &pdst, pst, ker,
                                       zero, ppr));
    dnnl_primitive_attr_t attr;
    TRY(user_scratchpad_attr(&attr));
    dnnl_status_t s = dnnl_primitive_desc_create(&p->pfwd_pd, &pdesc, attr, get_engine(), NULL);
    if (s == dnnl_success) {
        const dnnl_memory_desc_t *pout = pd_md(p->pfwd_pd, dnnl_query_dst_md);
        s = dnnl_pooling_backward_desc_init(&pdesc, dnnl_pooling_max, dst_md, pout, pst, ker, zero, ppr);
        if (s == dnnl_success)
            s = dnnl_primitive_desc_create(&p->pbwd_pd, &pdesc, attr, get_engine(), p->pfwd_pd);
    }
    dnnl_primitive_attr_destroy(attr);
    TRY(s);
    TRY(dnnl_primitive_create(&p->pfwd, p->pfwd_pd));
    TRY(dnnl_primitive_create(&p->pbwd, p->pbwd_pd));
    const dnnl_memory_desc_t *out_md = pd_md(p->pfwd_pd, dnnl_query_dst_md);
    TRY(new_memory(&p->pool_dst, out_md));
    TRY(new_memory(&p->pool_ws, pd_md(p->pfwd_pd, dnnl_query_workspace_md)));
    TRY(new_memory(&p->pool_diff_dst, out_md));
    p->pool_diff_dst_own = 1;
    return dnnl_success;
}

/* The end of a chain: the output (the pooling's, when it pools) goes back to NHWC and the output gradient
 * comes from it; where the output stays blocked, a way to read it as NHWC (onednn_output_nhwc). */
static dnnl_status_t plan_output(dn_plan *p, const conv_layer *cl, plan_fail *f)
{
    const dnnl_dim_t *dd = pd_md(p->fwd_pd, dnnl_query_dst_md)->dims;
    if (!cl->chain_out) {
        dnnl_memory_t outm = cl->pool_after ? p->pool_dst : p->dst;
        dnnl_memory_t doutm = cl->pool_after ? p->pool_diff_dst : p->diff_dst;
        const dnnl_dim_t *od = cl->pool_after ? pd_md(p->pfwd_pd, dnnl_query_dst_md)->dims : dd;
        TRY(boundary_init(&p->out, outm, od, 4, dnnl_nhwc, 0, 1));
        p->has_out = 1;
        TRY(boundary_init(&p->dout, doutm, od, 4, dnnl_nhwc, 1, 1));
        p->has_dout = 1;
    }
    if (cl->chain_out || cl->pool_after) {
        TRY(boundary_init(&p->peek, p->dst, dd, 4, dnnl_nhwc, 0, 1));
        p->has_peek = 1;
    }
    return dnnl_success;
}

/* One scratchpad for all of the layer's primitives (they run one after another). */
static dnnl_status_t plan_scratchpad(dn_plan *p, plan_fail *f)
{
    size_t scratch = scratch_size(p->fwd_pd);
    const_dnnl_primitive_desc_t pds[5] = {p->bwdd_pd, p->bwdw_pd, p->pfwd_pd, p->pbwd_pd, p->relu_pd};
    for (int k = 0; k < 5; k++)
        if (scratch_size(pds[k]) > scratch)
            scratch = scratch_size(pds[k]);
    dnnl_dims_t sdims = {(dnnl_dim_t)(scratch ? scratch : 1)};
    dnnl_memory_desc_t smd;
    dnnl_memory_desc_init_by_tag(&smd, 1, sdims, dnnl_u8, dnnl_x);
    TRY(new_memory(&p->scratch, &smd));
    return dnnl_success;
}

/* The stream the layer's primitives run on, with oneDNN's threads applied first. */
static dnnl_status_t plan_stream(dn_plan *p, plan_fail *f)
{
    onednn_apply_threads();
    TRY(dnnl_stream_create(&p->stream, get_engine(), dnnl_stream_default_flags));
    return dnnl_success;
}

/* The layer's plan, step by step; a failed step leaves nothing behind and names the oneDNN call. */
static int onednn_plan(conv_layer *cl, vt_err *err)
{
    const conv_geom *g = &cl->g;
    plan_fail fl = {"the oneDNN CPU engine", dnnl_runtime_error}, *f = &fl;
    dn_plan *p = calloc(1, sizeof *p);
    if (!p)
        return vt_fail(err, VT_EIO, "out of memory planning a oneDNN convolution");
    cl->state = p;
    p->n = g->n;
    p->w_count = (size_t)g->kh * g->kw * g->c * g->oc;
    dnnl_status_t s = get_engine() ? plan_stream(p, f) : dnnl_runtime_error;
    if (s == dnnl_success)
        s = plan_passes(p, cl, f);
    if (s == dnnl_success && cl->relu)
        s = plan_relu(p, f);
    if (s == dnnl_success)
        s = plan_weights(p, g, f);
    if (s == dnnl_success)
        s = plan_input(p, cl, f);
    if (s == dnnl_success && cl->pool_after)
        s = plan_pool(p, cl, f);
    if (s == dnnl_success)
        s = plan_output(p, cl, f);
    if (s == dnnl_success)
        s = plan_scratchpad(p, f);
    if (s == dnnl_success)
        return VT_OK;
    onednn_release(cl);
    return vt_fail(err, VT_EUSAGE, "oneDNN cannot run a %dx%dx%d -> %d convolution%s: %s failed (%s)", g->h, g->w,
                   g->c, g->oc, cl->algo == CONV_ALGO_WINOGRAD ? " with Winograd" : "", fl.what,
                   dnnl_status2str(fl.status));
}

static void onednn_release(conv_layer *cl)
{
    dn_plan *p = cl->state;
    if (!p)
        return;
    dnnl_primitive_t prims[] = {p->fwd, p->bwdd, p->bwdw, p->pfwd, p->pbwd, p->relu_bwd, p->w_reorder,
                                p->bwdd_w_reorder, p->dw_reorder, p->dw_add_reorder, p->link_in, p->link_back};
    for (size_t k = 0; k < sizeof prims / sizeof prims[0]; k++)
        dnnl_primitive_destroy(prims[k]);
    dnnl_primitive_desc_t pds[] = {p->fwd_pd, p->bwdd_pd, p->bwdw_pd, p->pfwd_pd, p->pbwd_pd, p->relu_pd};
    for (size_t k = 0; k < sizeof pds / sizeof pds[0]; k++)
        dnnl_primitive_desc_destroy(pds[k]);
    boundary_release(&p->in);
    boundary_release(&p->out);
    boundary_release(&p->dout);
    boundary_release(&p->dx);
    boundary_release(&p->peek);
    dnnl_memory_t mems[] = {p->dst, p->diff_dst, p->wei, p->bwdd_wei, p->diff_wei, p->bias, p->diff_bias,
                            p->scratch, p->pool_dst, p->pool_ws, p->user_w, p->user_dw,
                            p->src_own ? p->src : NULL, p->diff_src_own ? p->diff_src : NULL,
                            p->pool_diff_dst_own ? p->pool_diff_dst : NULL};
    for (size_t k = 0; k < sizeof mems / sizeof mems[0]; k++)
        dnnl_memory_destroy(mems[k]);
    dnnl_stream_destroy(p->stream);
    free(p);
    cl->state = NULL;
}

/* ---- forward and backward ------------------------------------------------------------------------- */

static void onednn_forward(conv_layer *cl, float *out, float *ws, const float *x, const float *w, const float *b,
                           int n)
{
    (void)ws;
    dn_plan *p = cl->state;
    onednn_apply_threads();
    if (p->has_in)
        boundary_run(p, &p->in, x, n);
    else if (p->link_in)
        exec_reorder(p->stream, p->link_in, p->link_in_from, p->src);
    dnnl_memory_set_data_handle(p->user_w, (void *)w);
    dnnl_memory_set_data_handle(p->bias, (void *)b);
    exec_reorder(p->stream, p->w_reorder, p->user_w, p->wei);
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, p->src},      {DNNL_ARG_WEIGHTS, p->wei},
                              {DNNL_ARG_BIAS, p->bias},    {DNNL_ARG_DST, p->dst},
                              {DNNL_ARG_SCRATCHPAD, p->scratch}};
    dnnl_primitive_execute(p->fwd, p->stream, 5, args);
    if (p->has_out && !cl->pool_after)
        boundary_run(p, &p->out, out, n);
    dnnl_stream_wait(p->stream);
}

static int onednn_output_nhwc(conv_layer *cl, float *out, int n)
{
    dn_plan *p = cl->state;
    if (!p->has_peek)
        return 0;
    onednn_apply_threads();
    boundary_run(p, &p->peek, out, n);
    dnnl_stream_wait(p->stream);
    return 1;
}

static void onednn_pool_forward(conv_layer *cl, float *out, int n)
{
    dn_plan *p = cl->state;
    onednn_apply_threads();
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, p->dst}, {DNNL_ARG_DST, p->pool_dst},
                              {DNNL_ARG_WORKSPACE, p->pool_ws}, {DNNL_ARG_SCRATCHPAD, p->scratch}};
    dnnl_primitive_execute(p->pfwd, p->stream, 4, args);
    if (p->has_out)
        boundary_run(p, &p->out, out, n);
    dnnl_stream_wait(p->stream);
}

static void onednn_pool_backward(conv_layer *cl, const float *dout, int n)
{
    dn_plan *p = cl->state;
    onednn_apply_threads();
    if (p->has_dout)
        boundary_run(p, &p->dout, dout, n);
    dnnl_exec_arg_t args[] = {{DNNL_ARG_DIFF_DST, p->pool_diff_dst}, {DNNL_ARG_DIFF_SRC, p->diff_dst},
                              {DNNL_ARG_WORKSPACE, p->pool_ws}, {DNNL_ARG_SCRATCHPAD, p->scratch}};
    dnnl_primitive_execute(p->pbwd, p->stream, 4, args);
    dnnl_stream_wait(p->stream);
}

static void onednn_backward(conv_layer *cl, float *dx, float *w, float *b, float *dw, float *db, float *ws,
                            float *dout, const float *out, const float *x, int n, const conv_step *step)
{
    (void)ws;
    (void)out;
    (void)x;
    dn_plan *p = cl->state;
    onednn_apply_threads();
    if (p->has_dout && !cl->pool_after)
        boundary_run(p, &p->dout, dout, n);
    /* The ReLU's gradient: zero where the output was not positive (in place; padding stays zero). */
    if (cl->relu) {
        dnnl_exec_arg_t args[] = {{DNNL_ARG_DST, p->dst}, {DNNL_ARG_DIFF_DST, p->diff_dst},
                                  {DNNL_ARG_DIFF_SRC, p->diff_dst}, {DNNL_ARG_SCRATCHPAD, p->scratch}};
        dnnl_primitive_execute(p->relu_bwd, p->stream, 4, args);
    }
    /* The input gradient from the kernel as it was in the forward pass, before any step. */
    if (dx || cl->chain_in) {
        dnnl_memory_t wmem = p->wei;
        if (p->bwdd_wei) {
            dnnl_memory_set_data_handle(p->user_w, w);
            exec_reorder(p->stream, p->bwdd_w_reorder, p->user_w, p->bwdd_wei);
            wmem = p->bwdd_wei;
        }
        dnnl_exec_arg_t args[] = {{DNNL_ARG_DIFF_DST, p->diff_dst}, {DNNL_ARG_WEIGHTS, wmem},
                                  {DNNL_ARG_DIFF_SRC, p->diff_src}, {DNNL_ARG_SCRATCHPAD, p->scratch}};
        dnnl_primitive_execute(p->bwdd, p->stream, 4, args);
        if (p->link_back)
            exec_reorder(p->stream, p->link_back, p->diff_src, p->link_back_to);
        if (p->has_dx && dx)
            boundary_run(p, &p->dx, dx, n);
    }
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, p->src},
                              {DNNL_ARG_DIFF_DST, p->diff_dst},
                              {DNNL_ARG_DIFF_WEIGHTS, p->diff_wei},
                              {DNNL_ARG_DIFF_BIAS, p->diff_bias},
                              {DNNL_ARG_SCRATCHPAD, p->scratch}};
    dnnl_primitive_execute(p->bwdw, p->stream, 5, args);
    /* The kernel gradient into the model's block in Keras' layout: added to it, or (a step) into the
     * scratch that the step then consumes and clears. */
    dnnl_memory_set_data_handle(p->user_dw, dw);
    exec_reorder(p->stream, step ? p->dw_reorder : p->dw_add_reorder, p->diff_wei, p->user_dw);
    dnnl_stream_wait(p->stream);
    const float *gb;
    dnnl_memory_get_data_handle(p->diff_bias, (void **)&gb);
    const int oc = cl->g.oc;
    if (step) {
        const float lr = step->lr, keep = step->keep;
        for (size_t i = 0; i < p->w_count; i++) {
            w[i] = keep * w[i] - lr * dw[i];
            dw[i] = 0.0f;
        }
        for (int i = 0; i < oc; i++)
            b[i] = keep * b[i] - lr * gb[i];
    } else {
        for (int i = 0; i < oc; i++)
            db[i] += gb[i];
    }
}

/* ---- the row ------------------------------------------------------------------------------------- */

/* Winograd F(4x4, 3x3) works on 4x4 output tiles, 6x6 input tiles: on small maps most of a tile is
 * padding. Measured with oneDNN 2.6 on AVX-512 (2-core Xeon, vgg16-nopool, batch 32): Winograd 2-3x faster
 * than direct from 32x32 down to 8x8 maps, 3x slower on 2x2. So it ranks first from 8x8 up, where oneDNN
 * has it (AVX-512), but for the winograd backend's F(4x4) from 32 input channels (winograd.c: as fast, and
 * 200-250 MiB less memory); 4x4 and below are left to the others. Nor on a layer of fewer than 8 input
 * channels (the first, on RGB images): its products have 3 terms, and oneDNN's direct convolution was 2-3x
 * faster there both ways (Zen 4, batch 32: vgg16's block1_conv1 forward 2.2-2.4 against 4.7-5.7 ms, backward
 * 3.8 against 6.2-6.9; vgg16-nopool's 1.1 against 3.1-3.3 and 1.8 against 3.2; cnn's 0.6 against 2.2 and
 * 0.8 against 1.7, its inference 28% faster), with 12-30 MiB less memory. */
#define WINOGRAD_MIN_SIDE 8
#define WINOGRAD_MIN_CHANNELS 8

static int winograd_rank(const conv_geom *g, int alone)
{
    (void)alone;
    return conv_min_side(g) >= WINOGRAD_MIN_SIDE && g->c >= WINOGRAD_MIN_CHANNELS ? 50 : 0;
}

/* The direct convolution, where oneDNN has optimised kernels for it (supports), ranks below the winograd
 * backend and gemm's small maps, above gemm elsewhere. */
static int direct_rank(const conv_geom *g, int alone)
{
    (void)g;
    (void)alone;
    return 20;
}

static const conv_variant onednn_variants[] = {
    {"direct", CONV_ALGO_DIRECT, direct_rank, 1e-4, " (oneDNN has only its reference kernels for it; try auto)"},
    /* Winograd's transforms (coefficients up to 5.25 / 8) multiply the rounding error by 10 to 100 (Lavin &
     * Gray 2016, and oneDNN's own test tolerances for it). */
    {"winograd", CONV_ALGO_WINOGRAD, winograd_rank, 2e-3,
     " (oneDNN 2.x has Winograd only with AVX-512; try onednn:direct or auto)"},
    /* The direct convolution in bfloat16 (mixed precision): never ranked, what a model at mixed_bfloat16
     * runs (model.c). bf16 keeps 8 significant bits: its products are off by up to 2^-8 relative, and the
     * float32 sums of them by about that times the largest term. */
    {"bf16", CONV_ALGO_BF16, NULL, 3e-2,
     " (oneDNN has bfloat16 kernels only on CPUs with AVX512_BF16 or AMX; try --precision float32)"},
};

const conv_backend conv_backend_onednn = {
    .name = "onednn",
    .variants = onednn_variants,
    .nvariants = 3,
    .alone_falls_back = 1, /* "onednn": gemm where it has only its reference kernels */
    .supports = onednn_supports,
    .workspace = onednn_workspace,
    .plan = onednn_plan,
    .release = onednn_release,
    .forward = onednn_forward,
    .backward = onednn_backward,
    .pool_forward = onednn_pool_forward,
    .pool_backward = onednn_pool_backward,
    .output_nhwc = onednn_output_nhwc,
};
