/* data/pickle: the CIFAR-100 python version (cifar-100-python/train, test, meta), as keras.datasets caches
 * it in ~/.keras/datasets and torchvision in ./data, unpacked or as the cifar-100-python.tar.gz itself.
 *
 * Each file is a pickle (protocol 2 written by Python 2 for the originals; 3 to 5 for re-pickled copies) of
 * a dict: b"data" a numpy uint8 array (N, 3072) of R, G, B 32x32 planes per row, b"fine_labels" and
 * b"coarse_labels" lists of ints, and in meta b"fine_label_names" and b"coarse_label_names" lists of
 * strings, read by unpickle.c. Memory is bounded by what each file may legitimately hold: its size by its
 * role (train, test, meta), and its values by its images (a CIFAR-100 file holds a few values per image). */
#include "data_internal.h"

#include <archive.h>
#include <archive_entry.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { SIDE = 32, PLANE = SIDE * SIDE, PIXELS = 3 * PLANE };

/* ---- from values to a data set --------------------------------------------------------------------------- */

/* The value of key in dict d (bytes or str keys alike), NULL when absent; the last one set wins, as in a
 * Python dict. */
static const pnode *dict_get(const unpickler *u, const pnode *d, const char *key)
{
    const pnode *v = NULL;
    for (size_t k = 0; k + 1 < d->n; k += 2)
        if (unpickle_text_is(unpickle_node(u, d->items[k]), key))
            v = unpickle_node(u, d->items[k + 1]);
    return v;
}

static int want_dict(unpickler *u, uint32_t top, const pnode **d)
{
    *d = unpickle_node(u, top);
    if ((*d)->kind != PV_DICT)
        return vt_fail(u->err, VT_EUSAGE, "%s: the pickle holds a %s, not CIFAR-100's dict", u->label,
                       unpickle_kind_names[(*d)->kind]);
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
                       unpickle_kind_names[l->kind]);
    if ((long)l->n != n)
        return vt_fail(u->err, VT_EUSAGE, "%s: '%s' has %zu labels for %ld images", u->label, key, l->n, n);
    for (size_t k = 0; k < l->n; k++) {
        const pnode *x = unpickle_node(u, l->items[k]);
        if (x->kind != PV_INT)
            return vt_fail(u->err, VT_EUSAGE, "%s: '%s'[%zu] is a %s, not an int", u->label, key, k,
                           unpickle_kind_names[x->kind]);
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
                       a->kind == PV_ARRAY ? "numpy array never built" : unpickle_kind_names[a->kind]);
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
        return unpickle_oom(u);
    for (long r = 0; r < keep; r++) {
        s->y[r] = (int)unpickle_node(u, fine->items[r])->i;
        s->coarse[r] = (uint8_t)unpickle_node(u, coarse->items[r])->i;
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
        const pnode *x = unpickle_node(u, l->items[k]);
        if ((x->kind != PV_BYTES && x->kind != PV_STR) || x->len == 0)
            return vt_fail(u->err, VT_EUSAGE, "%s: '%s'[%d] is not a name", u->label, key, k);
        raw[k] = (char *)x->p;
        lens[k] = x->len;
    }
    if (!(*out = names_escape_all(raw, lens, n)))
        return unpickle_oom(u);
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
    int rc = unpickle_run(&u, &top);
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
    unpickle_free(&u);
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
