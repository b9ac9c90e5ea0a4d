/* nn/onnx: the model as an ONNX graph (opset 13), serialised by protobuf-c from ONNX's own onnx.proto (the
 * Makefile runs protoc-c on it; no hand-written encoder). The graph takes what vggtop's model takes, an
 * NHWC float batch (N, H, W, C) already prepared (the doc string says how), and gives the softmax
 * probabilities (N, classes):
 *   Transpose to NCHW (models with convolutions), Conv 'same' + Relu per Conv2D (kernels turned from Keras'
 *   HWIO to ONNX's OIHW), MaxPool per pooling, at Flatten a Transpose back to NHWC so the Dense kernels keep
 *   Keras' row order, GlobalAveragePool/GlobalMaxPool + Flatten for --no-top heads, Gemm (transB, + Relu) per
 *   Dense,
 *   Softmax last.
 * Every protobuf-c object is allocated from one arena freed after the file is written. */
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"
#include "onnx.pb-c.h"

#define ONNX_OPSET 13
#define ONNX_IR_VERSION 7 /* the IR version of opset 13 (ONNX 1.8) */

typedef struct builder {
    void **blocks; /* the arena: every allocation, freed together */
    size_t nblocks, cap;
    int failed;    /* an allocation failed: the graph is not written */
    Onnx__NodeProto *nodes[4 * NN_MAX_LAYERS + 8];
    size_t nnodes;
    Onnx__TensorProto *inits[2 * NN_MAX_LAYERS];
    size_t ninits;
    const char *cur; /* the tensor the next node takes */
} builder;

static void *grab(builder *b, size_t size)
{
    if (b->nblocks == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        void **more = realloc(b->blocks, sizeof *more * cap);
        if (!more) {
            b->failed = 1;
            return NULL;
        }
        b->blocks = more;
        b->cap = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (!p)
        b->failed = 1;
    else
        b->blocks[b->nblocks++] = p;
    return p;
}

static char *text(builder *b, const char *s)
{
    char *p = grab(b, strlen(s) + 1);
    if (p)
        strcpy(p, s);
    return p;
}

static Onnx__AttributeProto *attr_ints(builder *b, const char *name, const int64_t *v, size_t n, int scalar)
{
    Onnx__AttributeProto *a = grab(b, sizeof *a);
    int64_t *copy = grab(b, sizeof(int64_t) * n);
    if (!a || !copy)
        return NULL;
    *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    a->name = text(b, name);
    a->has_type = 1;
    if (scalar) {
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->has_i = 1;
        a->i = v[0];
    } else {
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        memcpy(copy, v, sizeof(int64_t) * n);
        a->n_ints = n;
        a->ints = copy;
    }
    return a;
}

/* A node op(inputs) -> out, which becomes the current tensor. */
static void node(builder *b, const char *op, const char *const *in, size_t nin, const char *out,
                 Onnx__AttributeProto **attrs, size_t nattrs)
{
    Onnx__NodeProto *n = grab(b, sizeof *n);
    char **ins = grab(b, sizeof(char *) * nin), **outs = grab(b, sizeof(char *));
    Onnx__AttributeProto **as = grab(b, sizeof *as * (nattrs ? nattrs : 1));
    if (!n || !ins || !outs || !as || b->nnodes == sizeof b->nodes / sizeof b->nodes[0]) {
        b->failed = 1;
        return;
    }
    *n = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
    for (size_t i = 0; i < nin; i++)
        ins[i] = text(b, in[i]);
    for (size_t i = 0; i < nattrs; i++)
        b->failed |= !(as[i] = attrs[i]);
    outs[0] = text(b, out);
    n->n_input = nin;
    n->input = ins;
    n->n_output = 1;
    n->output = outs;
    n->name = outs[0];
    n->op_type = text(b, op);
    n->n_attribute = nattrs;
    n->attribute = as;
    b->nodes[b->nnodes++] = n;
    b->cur = outs[0];
}

/* One input node, no attributes. */
static void unary(builder *b, const char *op, const char *out) { node(b, op, &b->cur, 1, out, NULL, 0); }

static void transpose(builder *b, const int64_t *perm, const char *out)
{
    Onnx__AttributeProto *a = attr_ints(b, "perm", perm, 4, 0);
    node(b, "Transpose", &b->cur, 1, out, &a, 1);
}

/* A float initializer of the given dims; data is copied (the model's parameters stay the model's). */
static const char *initializer(builder *b, const char *name, const int64_t *dims, size_t ndims, const float *data)
{
    Onnx__TensorProto *t = grab(b, sizeof *t);
    int64_t *d = grab(b, sizeof(int64_t) * ndims);
    size_t count = 1;
    for (size_t i = 0; i < ndims; i++)
        count *= (size_t)dims[i];
    float *v = grab(b, sizeof(float) * count);
    if (!t || !d || !v || b->ninits == sizeof b->inits / sizeof b->inits[0]) {
        b->failed = 1;
        return name;
    }
    *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    memcpy(d, dims, sizeof(int64_t) * ndims);
    memcpy(v, data, sizeof(float) * count);
    t->n_dims = ndims;
    t->dims = d;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->n_float_data = count;
    t->float_data = v;
    t->name = text(b, name);
    b->inits[b->ninits++] = t;
    return t->name;
}

/* Conv2D: kernel (k, k, cin, cout) HWIO -> (cout, cin, k, k) OIHW; 'same' padding at stride 1. */
static void conv(builder *b, const nn_layer *l, const float *params)
{
    const size_t k = (size_t)l->k, ci = (size_t)l->in_c, co = (size_t)l->c;
    float *oihw = grab(b, sizeof(float) * k * k * ci * co);
    if (!oihw)
        return;
    const float *hwio = params + l->w_off;
    for (size_t y = 0; y < k; y++)
        for (size_t x = 0; x < k; x++)
            for (size_t i = 0; i < ci; i++)
                for (size_t o = 0; o < co; o++)
                    oihw[((o * ci + i) * k + y) * k + x] = hwio[((y * k + x) * ci + i) * co + o];
    char wname[64], bname[64], relu[64];
    snprintf(wname, sizeof wname, "%s/kernel", l->name);
    snprintf(bname, sizeof bname, "%s/bias", l->name);
    snprintf(relu, sizeof relu, "%s/relu", l->name);
    const int64_t wd[4] = {(int64_t)co, (int64_t)ci, (int64_t)k, (int64_t)k}, bd[1] = {(int64_t)co};
    const int64_t ks[2] = {l->k, l->k}, pads[4] = {l->k / 2, l->k / 2, l->k / 2, l->k / 2}, st[2] = {1, 1};
    const char *in[3] = {b->cur, initializer(b, wname, wd, 4, oihw), initializer(b, bname, bd, 1, params + l->b_off)};
    Onnx__AttributeProto *attrs[3] = {attr_ints(b, "kernel_shape", ks, 2, 0), attr_ints(b, "pads", pads, 4, 0),
                                      attr_ints(b, "strides", st, 2, 0)};
    node(b, "Conv", in, 3, l->name, attrs, 3);
    if (l->relu)
        unary(b, "Relu", relu);
}

/* Dense: Gemm with transB = 1 and the kernel as (out, in), Keras' (in, out) turned: the form every runtime
 * (OpenCV's dnn among them) reads as a fully connected layer. */
static void dense(builder *b, const nn_layer *l, const float *params)
{
    const size_t in = (size_t)l->in_h * (size_t)l->in_w * (size_t)l->in_c, out = (size_t)l->c;
    float *oi = grab(b, sizeof(float) * in * out);
    if (!oi)
        return;
    const float *io = params + l->w_off;
    for (size_t i = 0; i < in; i++)
        for (size_t o = 0; o < out; o++)
            oi[o * in + i] = io[i * out + o];
    char wname[64], bname[64], relu[64];
    snprintf(wname, sizeof wname, "%s/kernel", l->name);
    snprintf(bname, sizeof bname, "%s/bias", l->name);
    snprintf(relu, sizeof relu, "%s/relu", l->name);
    const int64_t wd[2] = {(int64_t)out, (int64_t)in}, bd[1] = {(int64_t)out}, one = 1;
    const char *inputs[3] = {b->cur, initializer(b, wname, wd, 2, oi), initializer(b, bname, bd, 1, params + l->b_off)};
    Onnx__AttributeProto *trans = attr_ints(b, "transB", &one, 1, 1);
    node(b, "Gemm", inputs, 3, l->name, &trans, 1);
    if (l->relu)
        unary(b, "Relu", relu);
}

/* The nodes of every layer; NCHW inside the convolutional part, NHWC at its ends. */
static void build_nodes(builder *b, const nn_layer *ls, int count, const float *params)
{
    static const int64_t to_nchw[4] = {0, 3, 1, 2}, to_nhwc[4] = {0, 2, 3, 1};
    int nchw = 0;
    b->cur = "input";
    for (int i = 0; i < count && !b->failed; i++) {
        const nn_layer *l = &ls[i];
        const int64_t one = 1;
        Onnx__AttributeProto *axis = attr_ints(b, "axis", &one, 1, 1);
        if ((l->kind == L_CONV || l->kind == L_POOL || l->kind == L_GAP || l->kind == L_GMP) && !nchw) {
            transpose(b, to_nchw, "input/nchw");
            nchw = 1;
        }
        switch (l->kind) {
        case L_CONV: conv(b, l, params); break;
        case L_POOL: {
            const int64_t ks[2] = {l->k, l->k}, st[2] = {l->stride, l->stride};
            Onnx__AttributeProto *attrs[2] = {attr_ints(b, "kernel_shape", ks, 2, 0), attr_ints(b, "strides", st, 2, 0)};
            node(b, "MaxPool", &b->cur, 1, l->name, attrs, 2);
            break;
        }
        case L_FLATTEN:
            if (nchw)
                transpose(b, to_nhwc, "flatten/nhwc"); /* Keras flattens NHWC: the Dense rows follow it */
            node(b, "Flatten", &b->cur, 1, l->name, &axis, 1);
            break;
        case L_GAP:
        case L_GMP:
            unary(b, l->kind == L_GAP ? "GlobalAveragePool" : "GlobalMaxPool", l->name);
            node(b, "Flatten", &b->cur, 1, "global_pool/flatten", &axis, 1);
            break;
        case L_DENSE: dense(b, l, params); break;
        case L_INPUT: break;
        }
    }
    const int64_t last = 1;
    Onnx__AttributeProto *axis = attr_ints(b, "axis", &last, 1, 1);
    node(b, "Softmax", &b->cur, 1, "probabilities", &axis, 1);
}

/* A float tensor's value info: (N, d1, ...) with N symbolic. */
static Onnx__ValueInfoProto *value_info(builder *b, const char *name, const int64_t *dims, size_t ndims)
{
    Onnx__ValueInfoProto *v = grab(b, sizeof *v);
    Onnx__TypeProto *t = grab(b, sizeof *t);
    Onnx__TypeProto__Tensor *tt = grab(b, sizeof *tt);
    Onnx__TensorShapeProto *s = grab(b, sizeof *s);
    Onnx__TensorShapeProto__Dimension **d = grab(b, sizeof *d * (ndims + 1));
    if (!v || !t || !tt || !s || !d)
        return NULL;
    *v = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
    *t = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
    *tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
    *s = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
    for (size_t i = 0; i <= ndims; i++) {
        if (!(d[i] = grab(b, sizeof *d[i])))
            return NULL;
        *d[i] = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        if (i == 0) {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d[i]->dim_param = text(b, "N");
        } else {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d[i]->dim_value = dims[i - 1];
        }
    }
    s->n_dim = ndims + 1;
    s->dim = d;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = s;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->name = text(b, name);
    v->type = t;
    return v;
}

/* The model around the graph: IR version, opset, producer, doc string and the caller's metadata. */
static Onnx__ModelProto *model_proto(builder *b, const model_config *cfg, Onnx__GraphProto *g, const char *doc,
                                     const char *const *keys, const char *const *values, int nmeta)
{
    Onnx__ModelProto *mp = grab(b, sizeof *mp);
    Onnx__OperatorSetIdProto *ops = grab(b, sizeof *ops), **opsv = grab(b, sizeof *opsv);
    Onnx__StringStringEntryProto **meta = grab(b, sizeof *meta * (size_t)(nmeta > 0 ? nmeta : 1));
    if (!mp || !ops || !opsv || !meta)
        return NULL;
    *mp = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
    *ops = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
    ops->domain = text(b, "");
    ops->has_version = 1;
    ops->version = ONNX_OPSET;
    opsv[0] = ops;
    for (int i = 0; i < nmeta; i++) {
        if (!(meta[i] = grab(b, sizeof *meta[i])))
            return NULL;
        *meta[i] = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
        meta[i]->key = text(b, keys[i]);
        meta[i]->value = text(b, values[i]);
    }
    mp->has_ir_version = 1;
    mp->ir_version = ONNX_IR_VERSION;
    mp->n_opset_import = 1;
    mp->opset_import = opsv;
    mp->producer_name = text(b, "vggtop");
    mp->producer_version = text(b, "0.1.0");
    mp->doc_string = text(b, doc ? doc : "");
    mp->graph = g;
    mp->n_metadata_props = (size_t)(nmeta > 0 ? nmeta : 0);
    mp->metadata_props = meta;
    g->name = text(b, cfg->name);
    g->doc_string = mp->doc_string;
    return mp;
}

static int build_and_pack(builder *b, const model *m, const char *doc, const char *const *keys,
                          const char *const *values, int nmeta, uint8_t **buf, size_t *len)
{
    const model_config *cfg = model_get_config(m);
    nn_layer ls[NN_MAX_LAYERS];
    int count = arch_build_layers(cfg, ls);
    for (int i = 0; i < count; i++)
        if (ls[i].kind == L_CONV && (ls[i].stride != 1 || ls[i].k % 2 == 0))
            return -1; /* 'same' padding is symmetric only for odd kernels at stride 1 (all of vggtop's) */
    build_nodes(b, ls, count, model_params((model *)m)); /* read only: model_params is not const */
    Onnx__GraphProto *g = grab(b, sizeof *g);
    Onnx__ValueInfoProto **in = grab(b, sizeof *in), **out = grab(b, sizeof *out);
    if (!g || !in || !out)
        return -1;
    *g = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
    const int64_t in_dims[3] = {cfg->height, cfg->width, cfg->channels}, out_dims[1] = {cfg->classes};
    in[0] = value_info(b, "input", in_dims, 3);
    out[0] = value_info(b, "probabilities", out_dims, 1);
    g->n_node = b->nnodes;
    g->node = b->nodes;
    g->n_initializer = b->ninits;
    g->initializer = b->inits;
    g->n_input = 1;
    g->input = in;
    g->n_output = 1;
    g->output = out;
    Onnx__ModelProto *mp = model_proto(b, cfg, g, doc, keys, values, nmeta);
    if (!mp || b->failed || !in[0] || !out[0])
        return -1;
    *len = onnx__model_proto__get_packed_size(mp);
    if (!(*buf = malloc(*len ? *len : 1)))
        return -1;
    return onnx__model_proto__pack(mp, *buf) == *len ? 0 : -1;
}

int onnx_save(const char *path, const model *m, const char *doc, const char *const *keys,
              const char *const *values, int nmeta, vt_err *err)
{
    builder b;
    memset(&b, 0, sizeof b);
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = build_and_pack(&b, m, doc, keys, values, nmeta, &buf, &len)
                 ? vt_fail(err, VT_EIO, "%s: out of memory building the ONNX graph of %s", path,
                           model_get_config(m)->name)
                 : vt_write_file_atomic(path, buf, len, err);
    free(buf);
    for (size_t i = 0; i < b.nblocks; i++)
        free(b.blocks[i]);
    free(b.blocks);
    return rc;
}
