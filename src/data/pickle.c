/* data/pickle: the CIFAR-100 python version (cifar-100-python/train, test, meta), as keras.datasets caches
 * it in ~/.keras/datasets and torchvision in ./data, unpacked or as the cifar-100-python.tar.gz itself.
 *
 * Each file is a pickle (protocol 2 written by Python 2 for the originals; 3 to 5 for re-pickled copies) of
 * a dict: b"data" a numpy uint8 array (N, 3072) of R, G, B 32x32 planes per row, b"fine_labels" and
 * b"coarse_labels" lists of ints, and in meta b"fine_label_names" and b"coarse_label_names" lists of
 * strings. The reader interprets the data opcodes only. It imports and calls nothing: the only globals it
 * accepts are numpy's array reconstructors and dtype, which it recognises by name and evaluates itself
 * (REDUCE and BUILD are accepted on those and nothing else); every other global or opcode is a data error.
 *
 * Values are nodes referred to by index (the stack, the memo and containers hold indexes), so nothing is
 * recursive and shared references cost nothing. Nodes live in blocks that never move: a pointer to a node
 * stays good while more nodes are made. Byte strings point into the file's buffer.
 *
 * Memory is bounded by what the file may legitimately hold: a file's size by its role (train, test, meta),
 * and its values, stack depth and container items by its images (a CIFAR-100 file holds a few values per
 * image), checked as they are made, so a hostile file is refused long before it costs more than a real one. */
#include "data_internal.h"

#include <archive.h>
#include <archive_entry.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { SIDE = 32, PLANE = SIDE * SIDE, PIXELS = 3 * PLANE };
#define MARK_SLOT UINT32_MAX
#define MAX_MEMO (1u << 24)
enum { BLOCK = 4096 }; /* nodes per block */

typedef enum {
    PV_NONE = 1, PV_BOOL, PV_INT, PV_BYTES, PV_STR, PV_TUPLE, PV_LIST, PV_DICT, PV_GLOBAL, PV_ARRAY, PV_DTYPE,
} pv_kind;

/* The globals a CIFAR-100 pickle needs, and nothing else. */
typedef enum { G_RECONSTRUCT = 1, G_NDARRAY, G_DTYPE, G_FROMBUFFER } pv_global;

static const struct {
    const char *module, *name;
    pv_global g;
} allowed[] = {
    {"numpy.core.multiarray", "_reconstruct", G_RECONSTRUCT}, /* ndarray.__reduce__ */
    {"numpy._core.multiarray", "_reconstruct", G_RECONSTRUCT}, /* the same in numpy 2 */
    {"numpy", "ndarray", G_NDARRAY},
    {"numpy", "dtype", G_DTYPE},
    {"numpy.core.numeric", "_frombuffer", G_FROMBUFFER},       /* ndarray.__reduce_ex__(5) */
    {"numpy._core.numeric", "_frombuffer", G_FROMBUFFER},
};

static const char *const kind_names[] = {"?", "None", "bool", "int", "bytes", "str", "tuple", "list", "dict",
                                         "global", "numpy array", "numpy dtype"};

typedef struct pnode {
    uint8_t kind;
    uint8_t sub;           /* PV_GLOBAL: pv_global; PV_ARRAY: 1 once built; PV_DTYPE: 1 when uint8 */
    uint8_t fortran;       /* PV_ARRAY */
    uint8_t ndim;          /* PV_ARRAY */
    int64_t i;             /* PV_INT, PV_BOOL */
    const uint8_t *p;      /* PV_BYTES, PV_STR, PV_ARRAY (its bytes) */
    size_t len;
    int64_t shape[4];      /* PV_ARRAY */
    uint32_t *items;       /* PV_TUPLE, PV_LIST: the items; PV_DICT: key, value, key, value ... */
    size_t n, cap;
} pnode;

typedef struct unpickler {
    const char *label;     /* for messages: the file (or tarball:member) */
    const uint8_t *buf;
    size_t len, at, op_at;
    pnode **blocks;        /* node k is blocks[k / BLOCK][k % BLOCK] */
    size_t n_nodes, cap_blocks;
    size_t max_values;     /* nodes, stack slots and container items at most (values_for) */
    size_t n_items;        /* container items so far */
    uint32_t *stack;
    size_t sp, cap_stack;
    uint32_t *memo;        /* key -> node, MARK_SLOT where unset */
    size_t n_memo;
    size_t memo_count;     /* keys set: MEMOIZE's next key, as len(memo) in Python */
    vt_err *err;
} unpickler;

static int bad(unpickler *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(unpickler *u, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return vt_fail(u->err, VT_EUSAGE, "%s: not a CIFAR-100 python pickle: byte %zu: %s", u->label, u->op_at, what);
}

static int oom(unpickler *u) { return vt_fail(u->err, VT_EIO, "%s: out of memory", u->label); }

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

static pnode *node_at(const unpickler *u, uint32_t idx) { return &u->blocks[idx / BLOCK][idx % BLOCK]; }

/* A new node of kind; its index in *idx. */
static int node_new(unpickler *u, pv_kind kind, uint32_t *idx)
{
    if (u->n_nodes >= u->max_values)
        return bad(u, "more values than a CIFAR-100 file holds (%zu)", u->max_values);
    if (u->n_nodes % BLOCK == 0) {
        size_t b = u->n_nodes / BLOCK;
        if (grow((void **)&u->blocks, &u->cap_blocks, b + 1, sizeof *u->blocks))
            return oom(u);
        if (!(u->blocks[b] = malloc(BLOCK * sizeof *u->blocks[b])))
            return oom(u);
    }
    pnode *n = node_at(u, (uint32_t)u->n_nodes);
    memset(n, 0, sizeof *n);
    n->kind = (uint8_t)kind;
    *idx = (uint32_t)u->n_nodes++;
    return VT_OK;
}

static int push(unpickler *u, uint32_t idx)
{
    if (u->sp >= u->max_values)
        return bad(u, "a stack deeper than a CIFAR-100 file needs (%zu)", u->max_values);
    if (grow((void **)&u->stack, &u->cap_stack, u->sp + 1, sizeof *u->stack))
        return oom(u);
    u->stack[u->sp++] = idx;
    return VT_OK;
}

static int push_new(unpickler *u, pv_kind kind, pnode **out)
{
    uint32_t idx;
    int rc = node_new(u, kind, &idx);
    if (rc || (rc = push(u, idx)))
        return rc;
    *out = node_at(u, idx);
    return VT_OK;
}

/* Pops one value (not a mark). */
static int pop(unpickler *u, uint32_t *idx)
{
    if (u->sp == 0 || u->stack[u->sp - 1] == MARK_SLOT)
        return bad(u, "the stack is empty");
    *idx = u->stack[--u->sp];
    return VT_OK;
}

/* The values above the topmost mark: their first stack slot in *from, their count in *n (the mark stays). */
static int since_mark(unpickler *u, size_t *from, size_t *n)
{
    size_t i = u->sp;
    while (i > 0 && u->stack[i - 1] != MARK_SLOT)
        i--;
    if (i == 0)
        return bad(u, "no MARK before this opcode");
    *from = i;
    *n = u->sp - i;
    return VT_OK;
}

/* Counts n container items against the file's bound. */
static int items_take(unpickler *u, size_t n)
{
    if (n > 2 * u->max_values - u->n_items)
        return bad(u, "more list and dict items than a CIFAR-100 file holds (%zu)", 2 * u->max_values);
    u->n_items += n;
    return VT_OK;
}

static int add_item(unpickler *u, pnode *c, uint32_t item)
{
    int rc = items_take(u, 1);
    if (rc)
        return rc;
    if (grow((void **)&c->items, &c->cap, c->n + 1, sizeof *c->items))
        return oom(u);
    c->items[c->n++] = item;
    return VT_OK;
}

/* A container (tuple, list, dict) from the values above the mark, which is removed. */
static int collect(unpickler *u, pv_kind kind)
{
    size_t from = 0, n = 0;
    int rc = since_mark(u, &from, &n);
    if (rc)
        return rc;
    if (kind == PV_DICT && n % 2)
        return bad(u, "a dict from an odd number of values");
    uint32_t idx;
    if ((rc = node_new(u, kind, &idx)) || (rc = items_take(u, n)))
        return rc;
    pnode *c = node_at(u, idx);
    if (n && !(c->items = malloc(n * sizeof *c->items)))
        return oom(u);
    if (n)
        memcpy(c->items, &u->stack[from], n * sizeof *c->items);
    c->n = c->cap = n;
    u->sp = from - 1;
    return push(u, idx);
}

static int tuple_of(unpickler *u, size_t n)
{
    if (u->sp < n)
        return bad(u, "the stack is empty");
    for (size_t k = 0; k < n; k++)
        if (u->stack[u->sp - 1 - k] == MARK_SLOT)
            return bad(u, "a MARK inside a tuple");
    uint32_t idx;
    int rc = node_new(u, PV_TUPLE, &idx);
    if (rc || (rc = items_take(u, n)))
        return rc;
    pnode *c = node_at(u, idx);
    if (n && !(c->items = malloc(n * sizeof *c->items)))
        return oom(u);
    if (n)
        memcpy(c->items, &u->stack[u->sp - n], n * sizeof *c->items);
    c->n = c->cap = n;
    u->sp -= n;
    return push(u, idx);
}

/* Reads n bytes of the opcode's argument. */
static int take(unpickler *u, size_t n, const uint8_t **p)
{
    if (n > u->len - u->at)
        return bad(u, "the file ends inside an opcode (truncated?)");
    *p = u->buf + u->at;
    u->at += n;
    return VT_OK;
}

static int take_uint(unpickler *u, int bytes, uint64_t *v)
{
    const uint8_t *p = NULL;
    int rc = take(u, (size_t)bytes, &p);
    if (rc)
        return rc;
    *v = 0;
    for (int k = bytes - 1; k >= 0; k--)
        *v = *v << 8 | p[k];
    return VT_OK;
}

/* A string argument of a length read in `bytes` bytes; signed: BINSTRING's length is an int32. */
static int push_string(unpickler *u, pv_kind kind, int bytes, int is_signed)
{
    uint64_t n = 0;
    int rc = take_uint(u, bytes, &n);
    if (rc)
        return rc;
    if (is_signed && n & 0x80000000u)
        return bad(u, "a negative string length");
    const uint8_t *p = NULL;
    if (n > u->len - u->at)
        return bad(u, "a string of %llu bytes runs past the end of the file (truncated?)", (unsigned long long)n);
    if ((rc = take(u, (size_t)n, &p)))
        return rc;
    pnode *node = NULL;
    if ((rc = push_new(u, kind, &node)))
        return rc;
    node->p = p;
    node->len = (size_t)n;
    return VT_OK;
}

static int push_int(unpickler *u, int64_t v)
{
    pnode *node;
    int rc = push_new(u, PV_INT, &node);
    if (!rc)
        node->i = v;
    return rc;
}

static int memo_put(unpickler *u, uint64_t key)
{
    if (u->sp == 0 || u->stack[u->sp - 1] == MARK_SLOT)
        return bad(u, "memoizing an empty stack");
    /* Picklers number the memo from 0 up, one key per value at most: a key far beyond the values read is
     * not a pickler's (and would make a 5-byte opcode allocate megabytes). */
    if (key >= MAX_MEMO || key > u->n_nodes + 256)
        return bad(u, "memo key %llu is beyond the values read", (unsigned long long)key);
    if (key >= u->n_memo) {
        size_t cap = u->n_memo, need = (size_t)key + 1;
        if (grow((void **)&u->memo, &cap, need, sizeof *u->memo))
            return oom(u);
        for (size_t k = u->n_memo; k < cap; k++)
            u->memo[k] = MARK_SLOT;
        u->n_memo = cap;
    }
    if (u->memo[key] == MARK_SLOT)
        u->memo_count++;
    u->memo[key] = u->stack[u->sp - 1];
    return VT_OK;
}

static int memo_get(unpickler *u, uint64_t key)
{
    if (key >= u->n_memo || u->memo[key] == MARK_SLOT)
        return bad(u, "memo key %llu was never stored", (unsigned long long)key);
    return push(u, u->memo[key]);
}

static int text_is(const pnode *n, const char *s)
{
    return (n->kind == PV_BYTES || n->kind == PV_STR) && n->len == strlen(s) && memcmp(n->p, s, n->len) == 0;
}

/* GLOBAL and STACK_GLOBAL: only the allowed names, by string comparison; nothing is imported. */
static int push_global(unpickler *u, const uint8_t *module, size_t ml, const uint8_t *name, size_t nl)
{
    for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++)
        if (strlen(allowed[k].module) == ml && memcmp(allowed[k].module, module, ml) == 0 &&
            strlen(allowed[k].name) == nl && memcmp(allowed[k].name, name, nl) == 0) {
            pnode *node;
            int rc = push_new(u, PV_GLOBAL, &node);
            if (!rc)
                node->sub = (uint8_t)allowed[k].g;
            return rc;
        }
    char shown[160];
    size_t j = 0;
    for (size_t k = 0; k < ml + 1 + nl && j + 1 < sizeof shown; k++) {
        unsigned char c = k < ml ? module[k] : k == ml ? '.' : name[k - ml - 1];
        shown[j++] = c >= 32 && c < 127 ? (char)c : '?';
    }
    shown[j] = '\0';
    return bad(u, "global '%s' is refused (a CIFAR-100 pickle holds numpy arrays, lists and strings only)", shown);
}

static const pnode *at_(const unpickler *u, uint32_t idx) { return node_at(u, idx); }

/* A shape tuple of 1 to 4 non-negative ints. */
static int read_shape(unpickler *u, const pnode *t, pnode *arr)
{
    if (t->kind != PV_TUPLE || t->n < 1 || t->n > 4)
        return bad(u, "an array shape that is not a tuple of 1 to 4 ints");
    for (size_t k = 0; k < t->n; k++) {
        const pnode *d = at_(u, t->items[k]);
        if (d->kind != PV_INT || d->i < 0 || d->i > (1LL << 32))
            return bad(u, "an array dimension that is not an int from 0 to 2^32");
        arr->shape[k] = d->i;
    }
    arr->ndim = (uint8_t)t->n;
    return VT_OK;
}

static int op_reduce(unpickler *u)
{
    uint32_t ai = 0, fi = 0;
    int rc;
    if ((rc = pop(u, &ai)) || (rc = pop(u, &fi)))
        return rc;
    const pnode *f = at_(u, fi), *args = at_(u, ai);
    if (f->kind != PV_GLOBAL)
        return bad(u, "REDUCE calls a %s (only numpy's array and dtype constructors are evaluated)",
                   kind_names[f->kind]);
    if (args->kind != PV_TUPLE)
        return bad(u, "REDUCE's arguments are a %s, not a tuple", kind_names[args->kind]);
    uint32_t idx;
    switch ((pv_global)f->sub) {
    case G_RECONSTRUCT: {
        /* _reconstruct(ndarray, (0,), b'b'): an empty array, filled by the BUILD that follows */
        if (args->n != 3 || at_(u, args->items[0])->kind != PV_GLOBAL || at_(u, args->items[0])->sub != G_NDARRAY)
            return bad(u, "_reconstruct's arguments are not (numpy.ndarray, shape, typecode)");
        if ((rc = node_new(u, PV_ARRAY, &idx)))
            return rc;
        return push(u, idx);
    }
    case G_DTYPE: {
        /* dtype('u1', False, True) */
        if (args->n < 1 || (at_(u, args->items[0])->kind != PV_BYTES && at_(u, args->items[0])->kind != PV_STR))
            return bad(u, "numpy.dtype's first argument is not a type string");
        int u1 = text_is(at_(u, args->items[0]), "u1") || text_is(at_(u, args->items[0]), "|u1");
        if ((rc = node_new(u, PV_DTYPE, &idx)))
            return rc;
        node_at(u, idx)->sub = (uint8_t)u1;
        return push(u, idx);
    }
    case G_FROMBUFFER: {
        /* _frombuffer(buffer, dtype, shape, order): protocol 5's in-band arrays */
        if (args->n != 4)
            return bad(u, "_frombuffer's arguments are not (buffer, dtype, shape, order)");
        const pnode *b = at_(u, args->items[0]), *dt = at_(u, args->items[1]), *order = at_(u, args->items[3]);
        if (b->kind != PV_BYTES || dt->kind != PV_DTYPE || !(text_is(order, "C") || text_is(order, "F")))
            return bad(u, "_frombuffer's arguments are not (bytes, dtype, shape, 'C' or 'F')");
        if ((rc = node_new(u, PV_ARRAY, &idx)))
            return rc;
        pnode *arr = node_at(u, idx);
        if ((rc = read_shape(u, at_(u, args->items[2]), arr)))
            return rc;
        arr->p = b->p;
        arr->len = b->len;
        arr->fortran = text_is(order, "F");
        arr->i = dt->sub; /* dtype is uint8 */
        arr->sub = 1;
        return push(u, idx);
    }
    case G_NDARRAY: return bad(u, "REDUCE calls numpy.ndarray itself");
    }
    return bad(u, "REDUCE on an unknown global");
}

static int op_build(unpickler *u)
{
    uint32_t si = 0;
    int rc = pop(u, &si);
    if (rc)
        return rc;
    if (u->sp == 0 || u->stack[u->sp - 1] == MARK_SLOT)
        return bad(u, "BUILD without an object");
    pnode *obj = node_at(u, u->stack[u->sp - 1]);
    const pnode *st = at_(u, si);
    if (obj->kind == PV_DTYPE) {
        if (st->kind != PV_TUPLE)
            return bad(u, "a dtype's state is not a tuple");
        return VT_OK; /* byte order, sizes and flags of a one-byte type: nothing to keep */
    }
    if (obj->kind != PV_ARRAY || obj->sub)
        return bad(u, "BUILD on a %s (only numpy arrays and dtypes are built)",
                   obj->kind == PV_ARRAY ? "numpy array already built" : kind_names[obj->kind]);
    /* ndarray.__setstate__((version, shape, dtype, is_fortran, raw bytes)), the version optional */
    if (st->kind != PV_TUPLE || (st->n != 5 && st->n != 4))
        return bad(u, "an array's state is not (version, shape, dtype, fortran, data)");
    size_t o = st->n - 4;
    const pnode *shape = at_(u, st->items[o]), *dt = at_(u, st->items[o + 1]), *fort = at_(u, st->items[o + 2]),
                *data = at_(u, st->items[o + 3]);
    if (dt->kind != PV_DTYPE || (fort->kind != PV_BOOL && fort->kind != PV_INT) || data->kind != PV_BYTES)
        return bad(u, "an array's state is not (version, shape, dtype, fortran, bytes)");
    if ((rc = read_shape(u, shape, obj)))
        return rc;
    obj->fortran = fort->i != 0;
    obj->i = dt->sub;
    obj->p = data->p;
    obj->len = data->len;
    obj->sub = 1;
    return VT_OK;
}

static int append_to(unpickler *u, uint32_t target, const uint32_t *items, size_t n)
{
    pnode *c = node_at(u, target);
    if (c->kind != PV_LIST)
        return bad(u, "APPEND to a %s", kind_names[c->kind]);
    for (size_t k = 0; k < n; k++) {
        int rc = add_item(u, c, items[k]);
        if (rc)
            return rc;
    }
    return VT_OK;
}

static int setitems_to(unpickler *u, uint32_t target, const uint32_t *items, size_t n)
{
    pnode *c = node_at(u, target);
    if (c->kind != PV_DICT)
        return bad(u, "SETITEM on a %s", kind_names[c->kind]);
    if (n % 2)
        return bad(u, "SETITEMS with an odd number of values");
    for (size_t k = 0; k < n; k++) {
        int rc = add_item(u, c, items[k]);
        if (rc)
            return rc;
    }
    return VT_OK;
}

/* Runs the opcodes to STOP; *top gets the one value left. */
static int unpickle(unpickler *u, uint32_t *top)
{
    int rc = VT_OK;
    uint64_t v = 0;
    const uint8_t *p = NULL;
    pnode *node = NULL;
    while (rc == VT_OK) {
        u->op_at = u->at;
        if (u->at >= u->len)
            return bad(u, "the file ends before the pickle's STOP (truncated?)");
        uint8_t op = u->buf[u->at++];
        switch (op) {
        case 0x80: /* PROTO */
            if ((rc = take_uint(u, 1, &v)))
                break;
            if (v < 2 || v > 5)
                rc = bad(u, "pickle protocol %llu (2 to 5 are read)", (unsigned long long)v);
            break;
        case 0x95: /* FRAME: a length hint only */
            rc = take_uint(u, 8, &v);
            break;
        case '.': /* STOP */
            if (u->sp != 1 || u->stack[0] == MARK_SLOT)
                return bad(u, "STOP with %zu values on the stack, not one", u->sp);
            *top = u->stack[0];
            return VT_OK;
        case '(': rc = push(u, MARK_SLOT); break;
        case '0': { uint32_t x = 0; rc = pop(u, &x); break; } /* POP */
        case '1': { /* POP_MARK */
            size_t from = 0, n = 0;
            if (!(rc = since_mark(u, &from, &n)))
                u->sp = from - 1;
            break;
        }
        case '2': /* DUP */
            if (u->sp == 0 || u->stack[u->sp - 1] == MARK_SLOT)
                rc = bad(u, "DUP of an empty stack");
            else
                rc = push(u, u->stack[u->sp - 1]);
            break;
        case 'N': rc = push_new(u, PV_NONE, &node); break;
        case 0x88: /* NEWTRUE */
        case 0x89: /* NEWFALSE */
            if (!(rc = push_new(u, PV_BOOL, &node)))
                node->i = op == 0x88;
            break;
        case 'J': /* BININT: int32 */
            if (!(rc = take_uint(u, 4, &v)))
                rc = push_int(u, (int64_t)(int32_t)(uint32_t)v);
            break;
        case 'K': if (!(rc = take_uint(u, 1, &v))) rc = push_int(u, (int64_t)v); break; /* BININT1 */
        case 'M': if (!(rc = take_uint(u, 2, &v))) rc = push_int(u, (int64_t)v); break; /* BININT2 */
        case 0x8a: { /* LONG1: n little-endian two's complement bytes */
            if ((rc = take_uint(u, 1, &v)))
                break;
            size_t n = (size_t)v;
            if (n > 8) {
                rc = bad(u, "an int of %zu bytes", n);
                break;
            }
            if ((rc = take(u, n, &p)))
                break;
            uint64_t x = 0;
            for (size_t k = n; k-- > 0;)
                x = x << 8 | p[k];
            if (n > 0 && n < 8 && (p[n - 1] & 0x80))
                x |= ~0ULL << (8 * n);
            rc = push_int(u, (int64_t)x);
            break;
        }
        case 'T': rc = push_string(u, PV_BYTES, 4, 1); break;    /* BINSTRING (Python 2 str) */
        case 'U': rc = push_string(u, PV_BYTES, 1, 0); break;    /* SHORT_BINSTRING */
        case 'B': rc = push_string(u, PV_BYTES, 4, 0); break;    /* BINBYTES */
        case 'C': rc = push_string(u, PV_BYTES, 1, 0); break;    /* SHORT_BINBYTES */
        case 0x8e: rc = push_string(u, PV_BYTES, 8, 0); break;   /* BINBYTES8 */
        case 0x96: rc = push_string(u, PV_BYTES, 8, 0); break;   /* BYTEARRAY8 */
        case 'X': rc = push_string(u, PV_STR, 4, 0); break;      /* BINUNICODE */
        case 0x8c: rc = push_string(u, PV_STR, 1, 0); break;     /* SHORT_BINUNICODE */
        case 0x8d: rc = push_string(u, PV_STR, 8, 0); break;     /* BINUNICODE8 */
        case ')': rc = tuple_of(u, 0); break;                    /* EMPTY_TUPLE */
        case 0x85: rc = tuple_of(u, 1); break;                   /* TUPLE1 */
        case 0x86: rc = tuple_of(u, 2); break;                   /* TUPLE2 */
        case 0x87: rc = tuple_of(u, 3); break;                   /* TUPLE3 */
        case 't': rc = collect(u, PV_TUPLE); break;              /* TUPLE */
        case ']': rc = push_new(u, PV_LIST, &node); break;       /* EMPTY_LIST */
        case 'l': rc = collect(u, PV_LIST); break;               /* LIST */
        case '}': rc = push_new(u, PV_DICT, &node); break;       /* EMPTY_DICT */
        case 'd': rc = collect(u, PV_DICT); break;               /* DICT */
        case 'a': { /* APPEND */
            uint32_t x = 0;
            if ((rc = pop(u, &x)))
                break;
            if (u->sp == 0 || u->stack[u->sp - 1] == MARK_SLOT)
                rc = bad(u, "APPEND without a list");
            else
                rc = append_to(u, u->stack[u->sp - 1], &x, 1);
            break;
        }
        case 's': { /* SETITEM */
            uint32_t kv[2] = {0, 0};
            if ((rc = pop(u, &kv[1])) || (rc = pop(u, &kv[0])))
                break;
            if (u->sp == 0 || u->stack[u->sp - 1] == MARK_SLOT)
                rc = bad(u, "SETITEM without a dict");
            else
                rc = setitems_to(u, u->stack[u->sp - 1], kv, 2);
            break;
        }
        case 'e': /* APPENDS */
        case 'u': { /* SETITEMS */
            size_t from = 0, n = 0;
            if ((rc = since_mark(u, &from, &n)))
                break;
            if (from < 2 || u->stack[from - 2] == MARK_SLOT) {
                rc = bad(u, "%s without a %s", op == 'e' ? "APPENDS" : "SETITEMS", op == 'e' ? "list" : "dict");
                break;
            }
            uint32_t target = u->stack[from - 2];
            rc = op == 'e' ? append_to(u, target, &u->stack[from], n) : setitems_to(u, target, &u->stack[from], n);
            u->sp = from - 1;
            break;
        }
        case 'q': if (!(rc = take_uint(u, 1, &v))) rc = memo_put(u, v); break;   /* BINPUT */
        case 'r': if (!(rc = take_uint(u, 4, &v))) rc = memo_put(u, v); break;   /* LONG_BINPUT */
        case 0x94: rc = memo_put(u, u->memo_count); break;                      /* MEMOIZE */
        case 'h': if (!(rc = take_uint(u, 1, &v))) rc = memo_get(u, v); break;   /* BINGET */
        case 'j': if (!(rc = take_uint(u, 4, &v))) rc = memo_get(u, v); break;   /* LONG_BINGET */
        case 'c': { /* GLOBAL: "module\nname\n" */
            const uint8_t *m = u->buf + u->at, *end = u->buf + u->len;
            const uint8_t *nl1 = memchr(m, '\n', (size_t)(end - m));
            const uint8_t *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1)) : NULL;
            if (!nl2) {
                rc = bad(u, "GLOBAL without its two lines (truncated?)");
                break;
            }
            u->at = (size_t)(nl2 + 1 - u->buf);
            rc = push_global(u, m, (size_t)(nl1 - m), nl1 + 1, (size_t)(nl2 - nl1 - 1));
            break;
        }
        case 0x93: { /* STACK_GLOBAL: module and name strings on the stack */
            uint32_t ni = 0, mi = 0;
            if ((rc = pop(u, &ni)) || (rc = pop(u, &mi)))
                break;
            const pnode *m = at_(u, mi), *n = at_(u, ni);
            if (m->kind != PV_STR || n->kind != PV_STR)
                rc = bad(u, "STACK_GLOBAL of values that are not strings");
            else
                rc = push_global(u, m->p, m->len, n->p, n->len);
            break;
        }
        case 'R': rc = op_reduce(u); break;
        case 'b': rc = op_build(u); break;
        default:
            if (op == 'i' || op == 'o' || op == 0x81 || op == 0x92 || op == 'P' || op == 'Q' || op == 0x82 ||
                op == 0x83 || op == 0x84 || op == 0x97 || op == 0x98)
                rc = bad(u, "opcode 0x%02x creates objects or reads outside data: refused", op);
            else
                rc = bad(u, "opcode 0x%02x is not one of the data opcodes read here (a protocol 0/1 pickle, or "
                         "not a pickle)", op);
        }
    }
    return rc;
}

static void unpickler_free(unpickler *u)
{
    for (size_t k = 0; k < u->n_nodes; k++)
        free(node_at(u, (uint32_t)k)->items);
    for (size_t b = 0; b * BLOCK < u->n_nodes; b++)
        free(u->blocks[b]);
    free(u->blocks);
    free(u->stack);
    free(u->memo);
}

/* ---- from values to a data set --------------------------------------------------------------------------- */

/* The value of key in dict d (bytes or str keys alike), NULL when absent; the last one set wins, as in a
 * Python dict. */
static const pnode *dict_get(const unpickler *u, const pnode *d, const char *key)
{
    const pnode *v = NULL;
    for (size_t k = 0; k + 1 < d->n; k += 2)
        if (text_is(at_(u, d->items[k]), key))
            v = at_(u, d->items[k + 1]);
    return v;
}

static int want_dict(unpickler *u, uint32_t top, const pnode **d)
{
    *d = at_(u, top);
    if ((*d)->kind != PV_DICT)
        return vt_fail(u->err, VT_EUSAGE, "%s: the pickle holds a %s, not CIFAR-100's dict", u->label,
                       kind_names[(*d)->kind]);
    return VT_OK;
}

/* A list of n ints in [0, classes). */
static int label_list(unpickler *u, const pnode *d, const char *key, long n, int classes, const pnode **out)
{
    const pnode *l = dict_get(u, d, key);
    if (!l)
        return vt_fail(u->err, VT_EUSAGE, "%s: no '%s' in the dict", u->label, key);
    if (l->kind != PV_LIST)
        return vt_fail(u->err, VT_EUSAGE, "%s: '%s' is a %s, not a list of labels", u->label, key,
                       kind_names[l->kind]);
    if ((long)l->n != n)
        return vt_fail(u->err, VT_EUSAGE, "%s: '%s' has %zu labels for %ld images", u->label, key, l->n, n);
    for (size_t k = 0; k < l->n; k++) {
        const pnode *x = at_(u, l->items[k]);
        if (x->kind != PV_INT)
            return vt_fail(u->err, VT_EUSAGE, "%s: '%s'[%zu] is a %s, not an int", u->label, key, k,
                           kind_names[x->kind]);
        if (x->i < 0 || x->i >= classes)
            return vt_fail(u->err, VT_EUSAGE, "%s: record %zu: %s %lld is out of range 0..%d", u->label, k,
                           strcmp(key, "fine_labels") == 0 ? "fine label" : "coarse label", (long long)x->i,
                           classes - 1);
    }
    *out = l;
    return VT_OK;
}

static int split_from(unpickler *u, uint32_t top, data_split split, long limit, raw_split *s)
{
    const pnode *d, *fine, *coarse;
    int rc = want_dict(u, top, &d);
    if (rc)
        return rc;
    const pnode *a = dict_get(u, d, "data");
    if (!a)
        return vt_fail(u->err, VT_EUSAGE, "%s: no 'data' in the dict", u->label);
    if (a->kind != PV_ARRAY || !a->sub)
        return vt_fail(u->err, VT_EUSAGE, "%s: 'data' is a %s, not a numpy array", u->label,
                       a->kind == PV_ARRAY ? "numpy array never built" : kind_names[a->kind]);
    if (!a->i)
        return vt_fail(u->err, VT_EUSAGE, "%s: 'data' is not an array of uint8", u->label);
    if (a->ndim != 2 || a->shape[1] != PIXELS)
        return vt_fail(u->err, VT_EUSAGE, "%s: 'data' is not an array of N rows of 3072 bytes", u->label);
    if (a->fortran && a->shape[0] > 1)
        return vt_fail(u->err, VT_EUSAGE, "%s: 'data' is in Fortran order (CIFAR-100's rows are C order)", u->label);
    long max = split == DATA_TRAIN ? 50000 : 10000;
    long n = (long)a->shape[0];
    if (n < 1)
        return vt_fail(u->err, VT_EUSAGE, "%s: 'data' holds no images", u->label);
    if (n > max)
        return vt_fail(u->err, VT_EUSAGE, "%s: %ld images, more than the %ld of CIFAR-100's file", u->label, n, max);
    if (a->len != (size_t)n * PIXELS)
        return vt_fail(u->err, VT_EUSAGE, "%s: 'data' has %zu bytes for %ld images of 3072", u->label, a->len, n);
    if ((rc = label_list(u, d, "fine_labels", n, 100, &fine)) ||
        (rc = label_list(u, d, "coarse_labels", n, 20, &coarse)))
        return rc;
    long keep = limit > 0 && limit < n ? limit : n;
    s->h = s->w = SIDE;
    s->c = 3;
    s->n = keep;
    s->n_file = n;
    s->x = malloc((size_t)keep * PIXELS);
    s->y = malloc((size_t)keep * sizeof *s->y);
    s->coarse = malloc((size_t)keep);
    if (!s->x || !s->y || !s->coarse)
        return oom(u);
    for (long r = 0; r < keep; r++) {
        s->y[r] = (int)at_(u, fine->items[r])->i;
        s->coarse[r] = (uint8_t)at_(u, coarse->items[r])->i;
        /* planes (3, 32, 32) -> interleaved (32, 32, 3), as the binary loader does */
        const uint8_t *planes = a->p + (size_t)r * PIXELS;
        uint8_t *out = s->x + (size_t)r * PIXELS;
        for (int q = 0; q < PLANE; q++) {
            out[3 * q + 0] = planes[q];
            out[3 * q + 1] = planes[PLANE + q];
            out[3 * q + 2] = planes[2 * PLANE + q];
        }
    }
    return VT_OK;
}

static int name_list(unpickler *u, const pnode *d, const char *key, int n, char ***out)
{
    const pnode *l = dict_get(u, d, key);
    if (!l)
        return vt_fail(u->err, VT_EUSAGE, "%s: no '%s' in the dict", u->label, key);
    if (l->kind != PV_LIST || (int)l->n != n)
        return vt_fail(u->err, VT_EUSAGE, "%s: '%s' is not a list of %d names", u->label, key, n);
    /* n <= 100: the names' bytes, escaped and cut as every data set's are (names.c). */
    char *raw[100];
    size_t lens[100];
    for (int k = 0; k < n; k++) {
        const pnode *x = at_(u, l->items[k]);
        if ((x->kind != PV_BYTES && x->kind != PV_STR) || x->len == 0)
            return vt_fail(u->err, VT_EUSAGE, "%s: '%s'[%d] is not a name", u->label, key, k);
        raw[k] = (char *)x->p;
        lens[k] = x->len;
    }
    if (!(*out = names_escape_all(raw, lens, n)))
        return oom(u);
    return VT_OK;
}

/* One file's bytes: which file it is decides what it must hold. */
typedef struct py_set {
    long limit_train, limit_test;
    raw_split *tr, *te;
    char **fine, **coarse;
    unsigned seen; /* 1 train, 2 test, 4 meta */
} py_set;

static const char *const py_files[3] = {"train", "test", "meta"};

/* What each file may hold: its images (meta holds 120 names), so its values (a few per image: the pixels,
 * two labels and a file name) and its bytes (the pixels, and room for the rest). */
static const long py_images[3] = {50000, 10000, 1000};

static size_t values_for(int which) { return 4 * (size_t)py_images[which] + 4096; }

static long long bytes_for(int which) { return (long long)py_images[which] * (PIXELS + 320) + (1LL << 20); }

static int py_take(py_set *ps, int which, const char *label, const uint8_t *buf, size_t len, vt_err *err)
{
    unpickler u = {.label = label, .buf = buf, .len = len, .max_values = values_for(which), .err = err};
    uint32_t top = 0;
    int rc = unpickle(&u, &top);
    if (rc == VT_OK) {
        if (which == 2) {
            const pnode *d;
            if (!(rc = want_dict(&u, top, &d)) && !(rc = name_list(&u, d, "fine_label_names", 100, &ps->fine)))
                rc = name_list(&u, d, "coarse_label_names", 20, &ps->coarse);
        } else {
            raw_split *s = which == 0 ? ps->tr : ps->te;
            rc = split_from(&u, top, which == 0 ? DATA_TRAIN : DATA_TEST, which == 0 ? ps->limit_train : ps->limit_test,
                            s);
        }
    }
    unpickler_free(&u);
    if (rc == VT_OK)
        ps->seen |= 1u << which;
    return rc;
}

/* The tarball: cifar-100-python/{train,test,meta}, each read into memory as it comes; other members are
 * skipped (nothing is written anywhere). */
static int from_tarball(const char *path, py_set *ps, vt_err *err)
{
    struct archive *ar;
    int fd;
    int rc = data_tar_open(path, path, &ar, &fd, err);
    if (rc)
        return rc;
    for (;;) {
        struct archive_entry *e;
        int r = data_tar_next(ar, path, &e, err);
        if (r <= 0) {
            rc = -r;
            break;
        }
        const char *name = archive_entry_pathname(e);
        int which = -1;
        for (int k = 0; name && k < 3; k++) {
            char want[64];
            snprintf(want, sizeof want, "cifar-100-python/%s", py_files[k]);
            if (strcmp(name, want) == 0 || (strncmp(name, "./", 2) == 0 && strcmp(name + 2, want) == 0))
                which = k;
        }
        if (which < 0 || archive_entry_filetype(e) != AE_IFREG)
            continue;
        char label[VT_PATH_MAX + VT_PATH_EXTRA];
        snprintf(label, sizeof label, "%s:%s", path, name);
        if (ps->seen & (1u << which)) {
            rc = vt_fail(err, VT_EUSAGE, "%s: appears twice", label);
            break;
        }
        /* Refused from the header, before a byte is inflated: a small .tar.gz may inflate to any size. */
        la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
        if (size < 0 || size > bytes_for(which)) {
            rc = size < 0 ? vt_fail(err, VT_EUSAGE, "%s: no size in the tarball", label)
                          : vt_fail(err, VT_EUSAGE, "%s: larger than %lld bytes: not a CIFAR-100 python %s file",
                                    label, bytes_for(which), py_files[which]);
            break;
        }
        uint8_t *buf = malloc(size ? (size_t)size : 1);
        if (!buf) {
            rc = vt_fail(err, VT_EIO, "%s: out of memory", label);
            break;
        }
        size_t got = 0;
        while (got < (size_t)size) {
            la_ssize_t n = archive_read_data(ar, buf + got, (size_t)size - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (got != (size_t)size)
            rc = vt_fail(err, VT_EUSAGE, "%s: truncated in the tarball (%s)", label,
                         archive_error_string(ar) ? archive_error_string(ar) : "short read");
        else
            rc = py_take(ps, which, label, buf, got, err);
        free(buf);
        if (rc)
            break;
    }
    archive_read_free(ar);
    close(fd);
    return rc;
}

int cifar100_python_load(const char *path, long limit_train, long limit_test, raw_split *tr, raw_split *te,
                         char ***fine, char ***coarse, vt_err *err)
{
    memset(tr, 0, sizeof *tr);
    memset(te, 0, sizeof *te);
    *fine = *coarse = NULL;
    py_set ps = {limit_train, limit_test, tr, te, NULL, NULL, 0};
    struct stat st;
    int rc = VT_OK;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        rc = from_tarball(path, &ps, err);
        for (int k = 0; rc == VT_OK && k < 3; k++)
            if (!(ps.seen & (1u << k)))
                rc = vt_fail(err, VT_EUSAGE, "%s: no cifar-100-python/%s in it: not the CIFAR-100 python version", path,
                             py_files[k]);
    } else {
        for (int k = 0; rc == VT_OK && k < 3; k++) {
            char file[VT_PATH_MAX + VT_PATH_EXTRA];
            snprintf(file, sizeof file, "%s/%s", path, py_files[k]);
            long long size;
            char *buf;
            size_t len;
            if ((rc = vt_file_size(file, &size, err)))
                break;
            if (size > bytes_for(k)) {
                rc = vt_fail(err, VT_EUSAGE, "%s: larger than %lld bytes: not a CIFAR-100 python %s file", file,
                             bytes_for(k), py_files[k]);
                break;
            }
            if ((rc = vt_read_file(file, bytes_for(k), &buf, &len, err)))
                break;
            rc = py_take(&ps, k, file, (const uint8_t *)buf, len, err);
            free(buf);
        }
    }
    if (rc) {
        raw_split_free(tr);
        raw_split_free(te);
        names_free(ps.fine, ps.fine ? 100 : 0);
        names_free(ps.coarse, ps.coarse ? 20 : 0);
        return rc;
    }
    *fine = ps.fine;
    *coarse = ps.coarse;
    return VT_OK;
}
