/* data/unpickle: the pickle reader under the CIFAR-100 python loader (pickle.c). It interprets the data
 * opcodes only. It imports and calls nothing: the only globals it accepts are numpy's array reconstructors
 * and dtype, which it recognises by name and evaluates itself (REDUCE and BUILD are accepted on those and
 * nothing else); every other global or opcode is a data error.
 *
 * Values are nodes referred to by index (the stack, the memo and containers hold indexes), so nothing is
 * recursive and shared references cost nothing. Nodes live in blocks that never move: a pointer to a node
 * stays good while more nodes are made. Byte strings point into the file's buffer.
 *
 * Memory is bounded by the caller's max_values (nodes, stack slots and container items), checked as they are
 * made, so a hostile file is refused long before it costs more than a real one. */
#include "data_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MEMO (1u << 24)
enum { BLOCK = 4096 }; /* nodes per block */

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

const char *const unpickle_kind_names[PV_DTYPE + 1] = {"?", "None", "bool", "int", "bytes", "str", "tuple", "list", "dict",
                                         "global", "numpy array", "numpy dtype"};


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

int unpickle_oom(unpickler *u) { return vt_fail(u->err, VT_EIO, "%s: out of memory", u->label); }

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
            return unpickle_oom(u);
        if (!(u->blocks[b] = malloc(BLOCK * sizeof *u->blocks[b])))
            return unpickle_oom(u);
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
        return unpickle_oom(u);
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
        return unpickle_oom(u);
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
        return unpickle_oom(u);
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
        return unpickle_oom(u);
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
            return unpickle_oom(u);
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

int unpickle_text_is(const pnode *n, const char *s)
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

const pnode *unpickle_node(const unpickler *u, uint32_t idx) { return node_at(u, idx); }

/* A shape tuple of 1 to 4 non-negative ints. */
static int read_shape(unpickler *u, const pnode *t, pnode *arr)
{
    if (t->kind != PV_TUPLE || t->n < 1 || t->n > 4)
        return bad(u, "an array shape that is not a tuple of 1 to 4 ints");
    for (size_t k = 0; k < t->n; k++) {
        const pnode *d = unpickle_node(u, t->items[k]);
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
    const pnode *f = unpickle_node(u, fi), *args = unpickle_node(u, ai);
    if (f->kind != PV_GLOBAL)
        return bad(u, "REDUCE calls a %s (only numpy's array and dtype constructors are evaluated)",
                   unpickle_kind_names[f->kind]);
    if (args->kind != PV_TUPLE)
        return bad(u, "REDUCE's arguments are a %s, not a tuple", unpickle_kind_names[args->kind]);
    uint32_t idx;
    switch ((pv_global)f->sub) {
    case G_RECONSTRUCT: {
        /* _reconstruct(ndarray, (0,), b'b'): an empty array, filled by the BUILD that follows */
        if (args->n != 3 || unpickle_node(u, args->items[0])->kind != PV_GLOBAL || unpickle_node(u, args->items[0])->sub != G_NDARRAY)
            return bad(u, "_reconstruct's arguments are not (numpy.ndarray, shape, typecode)");
        if ((rc = node_new(u, PV_ARRAY, &idx)))
            return rc;
        return push(u, idx);
    }
    case G_DTYPE: {
        /* dtype('u1', False, True) */
        if (args->n < 1 || (unpickle_node(u, args->items[0])->kind != PV_BYTES && unpickle_node(u, args->items[0])->kind != PV_STR))
            return bad(u, "numpy.dtype's first argument is not a type string");
        int u1 = unpickle_text_is(unpickle_node(u, args->items[0]), "u1") || unpickle_text_is(unpickle_node(u, args->items[0]), "|u1");
        if ((rc = node_new(u, PV_DTYPE, &idx)))
            return rc;
        node_at(u, idx)->sub = (uint8_t)u1;
        return push(u, idx);
    }
    case G_FROMBUFFER: {
        /* _frombuffer(buffer, dtype, shape, order): protocol 5's in-band arrays */
        if (args->n != 4)
            return bad(u, "_frombuffer's arguments are not (buffer, dtype, shape, order)");
        const pnode *b = unpickle_node(u, args->items[0]), *dt = unpickle_node(u, args->items[1]), *order = unpickle_node(u, args->items[3]);
        if (b->kind != PV_BYTES || dt->kind != PV_DTYPE || !(unpickle_text_is(order, "C") || unpickle_text_is(order, "F")))
            return bad(u, "_frombuffer's arguments are not (bytes, dtype, shape, 'C' or 'F')");
        if ((rc = node_new(u, PV_ARRAY, &idx)))
            return rc;
        pnode *arr = node_at(u, idx);
        if ((rc = read_shape(u, unpickle_node(u, args->items[2]), arr)))
            return rc;
        arr->p = b->p;
        arr->len = b->len;
        arr->fortran = unpickle_text_is(order, "F");
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
    const pnode *st = unpickle_node(u, si);
    if (obj->kind == PV_DTYPE) {
        if (st->kind != PV_TUPLE)
            return bad(u, "a dtype's state is not a tuple");
        return VT_OK; /* byte order, sizes and flags of a one-byte type: nothing to keep */
    }
    if (obj->kind != PV_ARRAY || obj->sub)
        return bad(u, "BUILD on a %s (only numpy arrays and dtypes are built)",
                   obj->kind == PV_ARRAY ? "numpy array already built" : unpickle_kind_names[obj->kind]);
    /* ndarray.__setstate__((version, shape, dtype, is_fortran, raw bytes)), the version optional */
    if (st->kind != PV_TUPLE || (st->n != 5 && st->n != 4))
        return bad(u, "an array's state is not (version, shape, dtype, fortran, data)");
    size_t o = st->n - 4;
    const pnode *shape = unpickle_node(u, st->items[o]), *dt = unpickle_node(u, st->items[o + 1]), *fort = unpickle_node(u, st->items[o + 2]),
                *data = unpickle_node(u, st->items[o + 3]);
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
        return bad(u, "APPEND to a %s", unpickle_kind_names[c->kind]);
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
        return bad(u, "SETITEM on a %s", unpickle_kind_names[c->kind]);
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
/* LONG1: n little-endian two's complement bytes. */
static int op_long1(unpickler *u)
{
    uint64_t v = 0;
    const uint8_t *p = NULL;
    int rc = take_uint(u, 1, &v);
    if (rc)
        return rc;
    size_t n = (size_t)v;
    if (n > 8)
        return bad(u, "an int of %zu bytes", n);
    if ((rc = take(u, n, &p)))
        return rc;
    uint64_t x = 0;
    for (size_t k = n; k-- > 0;)
        x = x << 8 | p[k];
    if (n > 0 && n < 8 && (p[n - 1] & 0x80))
        x |= ~0ULL << (8 * n);
    return push_int(u, (int64_t)x);
}

/* APPEND: the top value onto the list under it. */
static int op_append(unpickler *u)
{
    uint32_t x = 0;
    int rc = pop(u, &x);
    if (rc)
        return rc;
    if (u->sp == 0 || u->stack[u->sp - 1] == MARK_SLOT)
        return bad(u, "APPEND without a list");
    return append_to(u, u->stack[u->sp - 1], &x, 1);
}

/* SETITEM: the top key and value into the dict under them. */
static int op_setitem(unpickler *u)
{
    uint32_t kv[2] = {0, 0};
    int rc;
    if ((rc = pop(u, &kv[1])) || (rc = pop(u, &kv[0])))
        return rc;
    if (u->sp == 0 || u->stack[u->sp - 1] == MARK_SLOT)
        return bad(u, "SETITEM without a dict");
    return setitems_to(u, u->stack[u->sp - 1], kv, 2);
}

/* APPENDS (list 1) or SETITEMS (0): the values since the mark into the list or dict under it. */
static int op_appends(unpickler *u, int list)
{
    size_t from = 0, n = 0;
    int rc = since_mark(u, &from, &n);
    if (rc)
        return rc;
    if (from < 2 || u->stack[from - 2] == MARK_SLOT)
        return bad(u, "%s without a %s", list ? "APPENDS" : "SETITEMS", list ? "list" : "dict");
    uint32_t target = u->stack[from - 2];
    rc = list ? append_to(u, target, &u->stack[from], n) : setitems_to(u, target, &u->stack[from], n);
    u->sp = from - 1;
    return rc;
}

/* GLOBAL: "module\nname\n" inline. */
static int op_global(unpickler *u)
{
    const uint8_t *m = u->buf + u->at, *end = u->buf + u->len;
    const uint8_t *nl1 = memchr(m, '\n', (size_t)(end - m));
    const uint8_t *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1)) : NULL;
    if (!nl2)
        return bad(u, "GLOBAL without its two lines (truncated?)");
    u->at = (size_t)(nl2 + 1 - u->buf);
    return push_global(u, m, (size_t)(nl1 - m), nl1 + 1, (size_t)(nl2 - nl1 - 1));
}

/* STACK_GLOBAL: module and name strings on the stack. */
static int op_stack_global(unpickler *u)
{
    uint32_t ni = 0, mi = 0;
    int rc;
    if ((rc = pop(u, &ni)) || (rc = pop(u, &mi)))
        return rc;
    const pnode *m = unpickle_node(u, mi), *n = unpickle_node(u, ni);
    if (m->kind != PV_STR || n->kind != PV_STR)
        return bad(u, "STACK_GLOBAL of values that are not strings");
    return push_global(u, m->p, m->len, n->p, n->len);
}

/* POP_MARK: everything down to the mark, and the mark. */
static int op_pop_mark(unpickler *u)
{
    size_t from = 0, n = 0;
    int rc = since_mark(u, &from, &n);
    if (!rc)
        u->sp = from - 1;
    return rc;
}

/* DUP: the top value again. */
static int op_dup(unpickler *u)
{
    if (u->sp == 0 || u->stack[u->sp - 1] == MARK_SLOT)
        return bad(u, "DUP of an empty stack");
    return push(u, u->stack[u->sp - 1]);
}

/* Every other opcode: those that build objects or read outside the data by name, and the unknown. */
static int op_refused(unpickler *u, uint8_t op)
{
    if (op == 'i' || op == 'o' || op == 0x81 || op == 0x92 || op == 'P' || op == 'Q' || op == 0x82 || op == 0x83 ||
        op == 0x84 || op == 0x97 || op == 0x98)
        return bad(u, "opcode 0x%02x creates objects or reads outside data: refused", op);
    return bad(u, "opcode 0x%02x is not one of the data opcodes read here (a protocol 0/1 pickle, or not a "
               "pickle)", op);
}

int unpickle_run(unpickler *u, uint32_t *top)
{
    int rc = VT_OK;
    uint64_t v = 0;
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
        case '1': rc = op_pop_mark(u); break;
        case '2': rc = op_dup(u); break;
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
        case 0x8a: rc = op_long1(u); break;
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
        case 'a': rc = op_append(u); break;
        case 's': rc = op_setitem(u); break;
        case 'e': /* APPENDS */
        case 'u': rc = op_appends(u, op == 'e'); break; /* SETITEMS */
        case 'q': if (!(rc = take_uint(u, 1, &v))) rc = memo_put(u, v); break;   /* BINPUT */
        case 'r': if (!(rc = take_uint(u, 4, &v))) rc = memo_put(u, v); break;   /* LONG_BINPUT */
        case 0x94: rc = memo_put(u, u->memo_count); break;                      /* MEMOIZE */
        case 'h': if (!(rc = take_uint(u, 1, &v))) rc = memo_get(u, v); break;   /* BINGET */
        case 'j': if (!(rc = take_uint(u, 4, &v))) rc = memo_get(u, v); break;   /* LONG_BINGET */
        case 'c': rc = op_global(u); break;
        case 0x93: rc = op_stack_global(u); break;
        case 'R': rc = op_reduce(u); break;
        case 'b': rc = op_build(u); break;
        default: rc = op_refused(u, op);
        }
    }
    return rc;
}

void unpickle_free(unpickler *u)
{
    for (size_t k = 0; k < u->n_nodes; k++)
        free(node_at(u, (uint32_t)k)->items);
    for (size_t b = 0; b * BLOCK < u->n_nodes; b++)
        free(u->blocks[b]);
    free(u->blocks);
    free(u->stack);
    free(u->memo);
}
