/* nn/keras_h5: the model's weights as a Keras HDF5 weights file, both ways. The layout is the legacy one
 * Keras 2's save_weights writes (and Keras 3's load_weights still reads), the one keras.applications' own
 * files have:
 *   /                     attrs layer_names (fixed-length strings, every layer in order), backend, keras_version
 *   /<layer>              attr weight_names: "<layer>/kernel:0", "<layer>/bias:0" (an empty float64 array
 *                         for a layer without weights, as numpy makes of an empty list)
 *   /<layer>/<layer>/kernel:0   float32, (kh, kw, cin, cout) for Conv2D, (in, out) for Dense
 *   /<layer>/<layer>/bias:0     float32, (cout)
 * Those are nn's own parameter layouts (nn.h), so a kernel is copied as it stands.
 *
 * Writing builds the file in memory (HDF5's core driver) and hands the image to vt_write_file_atomic, so a
 * reader sees the old file or the new one whole. Reading matches layers by name (Keras' by_name=True),
 * checks every shape against the model's before reading a float, reads into a copy of the parameters and
 * copies it in only when every layer was good: a refused file leaves the model as it was. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_internal.h"

#define KERAS_BACKEND "tensorflow"
#define KERAS_VERSION "2.15.0"
#define H5_MAX_BYTES (8LL << 30) /* vgg19 with its top is 575 MB */
#define H5_MAX_NAMES 4096        /* layer_names entries */
#define H5_NAME_MAX 256          /* bytes of one name */

/* HDF5 prints its error stack to stderr by default; vggtop says one line of its own instead. And HDF5 1.10
 * leaks a failed H5Fopen's file, over which its atexit clean-up then prints "infinite loop closing library":
 * the library is left to the process's end instead (H5dont_atexit must come before any other call). */
static void h5_quiet(void)
{
    static int done;
    if (!done) {
        H5dont_atexit();
        done = 1;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* ---- writing --------------------------------------------------------------------------------------- */

/* A string attribute as h5py makes one of Keras' bytes: an array of n fixed-length, null-padded ASCII
 * strings (numpy's 'S' dtype, sized to the longest), or with n == 0 one variable-length string (a scalar). */
static int put_strings(hid_t obj, const char *name, const char *const *s, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++)
        if (strlen(s[i]) > len)
            len = strlen(s[i]);
    char *buf = n ? calloc((size_t)n, len) : NULL;
    if (n && !buf)
        return -1;
    for (int i = 0; i < n; i++)
        memcpy(buf + (size_t)i * len, s[i], strlen(s[i]));
    hsize_t dim = (hsize_t)n;
    hid_t type = H5Tcopy(H5T_C_S1), space = n ? H5Screate_simple(1, &dim, NULL) : H5Screate(H5S_SCALAR);
    int ok = type >= 0 && space >= 0 &&
             (n ? H5Tset_size(type, len) >= 0 && H5Tset_strpad(type, H5T_STR_NULLPAD) >= 0
                : H5Tset_size(type, H5T_VARIABLE) >= 0);
    hid_t a = ok ? H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT) : -1;
    ok = a >= 0 && H5Awrite(a, type, n ? (const void *)buf : (const void *)s) >= 0;
    if (a >= 0)
        H5Aclose(a);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    free(buf);
    return ok ? 0 : -1;
}

/* weight_names of a layer without weights: numpy's empty array, float64 of shape (0,). */
static int put_empty(hid_t obj, const char *name)
{
    hsize_t dim = 0;
    double none = 0;
    hid_t space = H5Screate_simple(1, &dim, NULL);
    hid_t a = space >= 0 ? H5Acreate2(obj, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT) : -1;
    int ok = a >= 0 && H5Awrite(a, H5T_NATIVE_DOUBLE, &none) >= 0;
    if (a >= 0)
        H5Aclose(a);
    if (space >= 0)
        H5Sclose(space);
    return ok ? 0 : -1;
}

/* The shape of a layer's kernel (rank 4 or 2) and bias (rank 1), as Keras has them. */
static int kernel_dims(const nn_layer *l, hsize_t *d)
{
    if (l->kind == L_CONV) {
        d[0] = d[1] = (hsize_t)l->k;
        d[2] = (hsize_t)l->in_c;
        d[3] = (hsize_t)l->c;
        return 4;
    }
    d[0] = (hsize_t)l->in_h * (hsize_t)l->in_w * (hsize_t)l->in_c;
    d[1] = (hsize_t)l->c;
    return 2;
}

static int put_dataset(hid_t g, const char *name, int rank, const hsize_t *dims, const float *v)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    hid_t space = H5Screate_simple(rank, dims, NULL);
    int ok = lcpl >= 0 && space >= 0 && H5Pset_create_intermediate_group(lcpl, 1) >= 0;
    hid_t ds = ok ? H5Dcreate2(g, name, H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT) : -1;
    ok = ds >= 0 && H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0;
    if (ds >= 0)
        H5Dclose(ds);
    if (space >= 0)
        H5Sclose(space);
    if (lcpl >= 0)
        H5Pclose(lcpl);
    return ok ? 0 : -1;
}

/* One layer's group: its weight_names and, for Conv2D and Dense, its kernel and bias. */
static int put_layer(hid_t file, const nn_layer *l, const float *params)
{
    hid_t g = H5Gcreate2(file, l->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return -1;
    int rc;
    if (!l->w_count) {
        rc = put_empty(g, "weight_names");
    } else {
        char kname[2 * sizeof l->name], bname[2 * sizeof l->name];
        snprintf(kname, sizeof kname, "%s/kernel:0", l->name);
        snprintf(bname, sizeof bname, "%s/bias:0", l->name);
        const char *names[2] = {kname, bname};
        hsize_t kd[4], bd = (hsize_t)l->b_count;
        int rank = kernel_dims(l, kd);
        rc = put_strings(g, "weight_names", names, 2);
        if (!rc)
            rc = put_dataset(g, kname, rank, kd, params + l->w_off);
        if (!rc)
            rc = put_dataset(g, bname, 1, &bd, params + l->b_off);
    }
    H5Gclose(g);
    return rc;
}

/* The whole file in memory, built on HDF5's core driver; *image malloc'ed. */
static int build_image(const model_config *cfg, const float *params, void **image, size_t *size)
{
    nn_layer ls[NN_MAX_LAYERS];
    int n = arch_build_layers(cfg, ls);
    const char *names[NN_MAX_LAYERS];
    for (int i = 0; i < n; i++)
        names[i] = ls[i].name;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_core(fapl, 1 << 20, 0) < 0) {
        if (fapl >= 0)
            H5Pclose(fapl);
        return -1;
    }
    hid_t f = H5Fcreate("vggtop-keras-export.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0)
        return -1;
    const char *backend = KERAS_BACKEND, *version = KERAS_VERSION;
    int rc = put_strings(f, "layer_names", names, n) || put_strings(f, "backend", &backend, 0) ||
             put_strings(f, "keras_version", &version, 0) ? -1 : 0;
    for (int i = 0; !rc && i < n; i++)
        rc = put_layer(f, &ls[i], params);
    ssize_t len = rc || H5Fflush(f, H5F_SCOPE_GLOBAL) < 0 ? -1 : H5Fget_file_image(f, NULL, 0);
    *image = len > 0 ? malloc((size_t)len) : NULL;
    if (!*image || H5Fget_file_image(f, *image, (size_t)len) != len) {
        free(*image);
        *image = NULL;
        rc = -1;
    }
    *size = (size_t)len;
    H5Fclose(f);
    return rc;
}

int keras_h5_save(const char *path, const model *m, vt_err *err)
{
    h5_quiet();
    void *image = NULL;
    size_t size = 0;
    /* model_params is not const (asking counts as a change for the backends); nothing is written here. */
    if (build_image(model_get_config(m), model_params((model *)m), &image, &size))
        return vt_fail(err, VT_EIO, "%s: HDF5 could not build the Keras weights file (out of memory?)", path);
    int rc = vt_write_file_atomic(path, image, size, err);
    free(image);
    return rc;
}

/* ---- reading --------------------------------------------------------------------------------------- */

/* The n strings of a string attribute (fixed or variable length) as one malloc'ed block of n rows of
 * H5_NAME_MAX bytes. -1 when it is missing, not strings, or too large. */
static int get_strings(hid_t obj, const char *name, char **out, int *n)
{
    *out = NULL;
    *n = 0;
    if (H5Aexists(obj, name) <= 0)
        return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t type = a >= 0 ? H5Aget_type(a) : -1, space = a >= 0 ? H5Aget_space(a) : -1;
    hssize_t count = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    int rc = -1;
    if (type >= 0 && H5Tget_class(type) == H5T_STRING && count >= 0 && count <= H5_MAX_NAMES) {
        char *rows = calloc((size_t)count + 1, H5_NAME_MAX);
        int vlen = H5Tis_variable_str(type) > 0;
        size_t len = H5Tget_size(type);
        hid_t mem = H5Tcopy(H5T_C_S1);
        if (rows && mem >= 0 && (vlen || (len > 0 && len < H5_NAME_MAX))) {
            if (vlen) {
                char **ptrs = calloc((size_t)count + 1, sizeof *ptrs);
                if (ptrs && H5Tset_size(mem, H5T_VARIABLE) >= 0 && H5Aread(a, mem, ptrs) >= 0) {
                    for (hssize_t i = 0; i < count; i++)
                        snprintf(rows + i * H5_NAME_MAX, H5_NAME_MAX, "%s", ptrs[i] ? ptrs[i] : "");
                    H5Dvlen_reclaim(mem, space, H5P_DEFAULT, ptrs);
                    rc = 0;
                }
                free(ptrs);
            } else {
                char *raw = calloc((size_t)count + 1, len);
                /* Null-padded, as numpy's 'S' strings: a name of exactly len bytes keeps its last byte. */
                if (raw && H5Tset_size(mem, len) >= 0 && H5Tset_strpad(mem, H5T_STR_NULLPAD) >= 0 &&
                    H5Aread(a, mem, raw) >= 0) {
                    for (hssize_t i = 0; i < count; i++)
                        memcpy(rows + i * H5_NAME_MAX, raw + (size_t)i * len, len); /* the row's tail is 0 */
                    rc = 0;
                }
                free(raw);
            }
        }
        if (mem >= 0)
            H5Tclose(mem);
        if (rc)
            free(rows);
        else
            *out = rows, *n = (int)count;
    } else if (type >= 0 && count == 0) {
        rc = 0; /* an empty array (numpy's float64 of a layer without weights) */
    }
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

/* "(3, 3, 3, 64)" */
static void shape_text(char *buf, size_t size, int rank, const hsize_t *d)
{
    size_t n = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < rank && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
    if (n < size)
        snprintf(buf + n, size - n, "%s)", rank == 1 ? "," : "");
}

enum { LOAD_OK = 0, LOAD_REFUSED = 1, LOAD_SKIPPED = 2 };

/* One weight of layer l from dataset `name` of group g (a path under it, "fc1/kernel:0") into dst: its type
 * and shape checked against want before anything is read. LOAD_SKIPPED for a mis-shaped weight under skip. */
static int read_weight(hid_t g, const char *path, const nn_layer *l, const char *name, int rank, const hsize_t *want,
                       float *dst, int skip, vt_err *err)
{
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    if (ds < 0)
        return vt_fail(err, VT_EUSAGE, "%s: layer %s: no dataset '%s'", path, l->name, name), LOAD_REFUSED;
    hid_t type = H5Dget_type(ds), space = H5Dget_space(ds);
    int frank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t have[H5S_MAX_RANK];
    int rc = LOAD_OK;
    char hs[160], ws[160];
    if (type < 0 || H5Tget_class(type) != H5T_FLOAT) {
        rc = LOAD_REFUSED;
        vt_fail(err, VT_EUSAGE, "%s: layer %s: '%s' is not floating point", path, l->name, name);
    } else if (frank < 0 || H5Sget_simple_extent_dims(space, have, NULL) < 0) {
        rc = LOAD_REFUSED;
        vt_fail(err, VT_EUSAGE, "%s: layer %s: '%s' has no readable shape", path, l->name, name);
    } else {
        int same = frank == rank;
        for (int i = 0; same && i < rank; i++)
            same = have[i] == want[i];
        if (!same) {
            shape_text(hs, sizeof hs, frank, have);
            shape_text(ws, sizeof ws, rank, want);
            rc = skip ? LOAD_SKIPPED : LOAD_REFUSED;
            vt_fail(err, VT_EUSAGE, "%s: layer %s: '%s' has shape %s in the file, %s in the model%s", path,
                    l->name, name, hs, ws, skip ? "" : " (--skip-mismatch skips such layers)");
        } else if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0) {
            rc = LOAD_REFUSED;
            vt_fail(err, VT_EUSAGE, "%s: layer %s: '%s' cannot be read (truncated or corrupt file)", path,
                    l->name, name);
        }
    }
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(ds);
    return rc;
}

/* Whether name is among the n rows of names. */
static int listed(const char *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names + (size_t)i * H5_NAME_MAX, name) == 0)
            return 1;
    return 0;
}

/* Layer l from the file's group of its name into params (the staging copy). A layer missing from the file,
 * or with another number of weights, is refused (LOAD_SKIPPED under skip). */
static int read_layer(hid_t root, const char *path, const char *names, int n, const nn_layer *l, float *params,
                      int skip, vt_err *err)
{
    if (!listed(names, n, l->name) || H5Lexists(root, l->name, H5P_DEFAULT) <= 0) {
        vt_fail(err, VT_EUSAGE, "%s: layer %s is not in the file%s", path, l->name,
                skip ? "" : " (--skip-mismatch leaves such layers as initialised)");
        return skip ? LOAD_SKIPPED : LOAD_REFUSED;
    }
    hid_t g = H5Gopen2(root, l->name, H5P_DEFAULT);
    if (g < 0)
        return vt_fail(err, VT_EUSAGE, "%s: layer %s is not an HDF5 group", path, l->name), LOAD_REFUSED;
    char *wn = NULL;
    int count = 0, rc;
    if (get_strings(g, "weight_names", &wn, &count)) {
        rc = LOAD_REFUSED;
        vt_fail(err, VT_EUSAGE, "%s: layer %s has no readable weight_names attribute", path, l->name);
    } else if (count != 2) {
        rc = skip ? LOAD_SKIPPED : LOAD_REFUSED;
        vt_fail(err, VT_EUSAGE, "%s: layer %s has %d weights in the file, 2 (kernel and bias) in the model", path,
                l->name, count);
    } else {
        hsize_t kd[4], bd = (hsize_t)l->b_count;
        int rank = kernel_dims(l, kd);
        rc = read_weight(g, path, l, wn, rank, kd, params + l->w_off, skip, err);
        if (rc == LOAD_OK)
            rc = read_weight(g, path, l, wn + H5_NAME_MAX, 1, &bd, params + l->b_off, skip, err);
    }
    free(wn);
    H5Gclose(g);
    return rc;
}

/* The end-of-file address the superblock at the start of head (got bytes) records, base address added; 0
 * when it cannot be read. Superblock versions 0 and 1 put it after 16 (20) bytes of versions and sizes and
 * the base and free-space addresses; versions 2 and 3 after 4 bytes and the base and extension addresses. */
static unsigned long long superblock_eof(const unsigned char *head, size_t got)
{
    if (got < 16)
        return 0;
    int version = head[8];
    int osize = version <= 1 ? head[13] : head[9];
    size_t at = version == 0 ? 24 : version == 1 ? 28 : 12; /* the base address */
    if ((osize != 2 && osize != 4 && osize != 8) || version > 3 || at + 3 * (size_t)osize > got)
        return 0;
    unsigned long long base = 0, eof = 0;
    for (int i = osize - 1; i >= 0; i--) {
        base = base << 8 | head[at + (size_t)i];
        eof = eof << 8 | head[at + 2 * (size_t)osize + (size_t)i];
    }
    return base + eof;
}

/* The file's checks before HDF5 opens it: a regular file of a sane size that starts with HDF5's signature
 * (HDF5 also allows a user block before it; Keras and h5py never write one) and is as long as its superblock
 * says (a truncated download is named as such). */
static int check_signature(const char *path, vt_err *err)
{
    int fd;
    long long size;
    int rc = vt_open_regular(path, H5_MAX_BYTES, &fd, &size, err);
    if (rc)
        return rc;
    static const unsigned char magic[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char head[64] = {0};
    ssize_t got = read(fd, head, sizeof head);
    close(fd);
    if (got < 8 || memcmp(head, magic, sizeof magic) != 0)
        return vt_fail(err, VT_EUSAGE, "%s: not an HDF5 file (no HDF5 signature)", path);
    unsigned long long eof = superblock_eof(head, (size_t)got);
    if (eof > (unsigned long long)size)
        return vt_fail(err, VT_EUSAGE, "%s: truncated: %lld bytes, its HDF5 superblock says %llu", path, size, eof);
    return VT_OK;
}

/* Every layer of the staging copy; *loaded counts the layers read. */
static int read_layers(hid_t root, const char *path, const model_config *cfg, float *params, unsigned flags,
                       int *loaded, vt_err *err)
{
    char *names = NULL;
    int n = 0;
    if (get_strings(root, "layer_names", &names, &n) || n == 0) {
        free(names);
        return vt_fail(err, VT_EUSAGE, "%s: no layer_names attribute: not a Keras weights file", path);
    }
    nn_layer ls[NN_MAX_LAYERS];
    int count = arch_build_layers(cfg, ls), rc = VT_OK;
    const int skip = (flags & NN_H5_SKIP_MISMATCH) != 0;
    for (int i = 0; i < count && rc == VT_OK; i++) {
        if (!ls[i].w_count || ((flags & NN_H5_BASE_ONLY) && ls[i].kind != L_CONV))
            continue;
        vt_err why;
        int r = read_layer(root, path, names, n, &ls[i], params, skip, &why);
        if (r == LOAD_REFUSED)
            rc = (*err = why, VT_EUSAGE);
        else if (r == LOAD_OK)
            (*loaded)++;
    }
    free(names);
    return rc;
}

int keras_h5_load(const char *path, model *m, unsigned flags, int *loaded, vt_err *err)
{
    int got = 0, rc = check_signature(path, err);
    if (loaded)
        *loaded = 0;
    if (rc)
        return rc;
    h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return vt_fail(err, VT_EUSAGE, "%s: HDF5 cannot open it (truncated or corrupt)", path);
    /* A whole-model file (model.save) keeps the same layout under /model_weights. */
    hid_t root = H5Lexists(f, "model_weights", H5P_DEFAULT) > 0 ? H5Gopen2(f, "model_weights", H5P_DEFAULT)
                                                                 : H5Gopen2(f, "/", H5P_DEFAULT);
    size_t count = (size_t)model_param_count(m);
    float *stage = malloc(sizeof(float) * count);
    if (root < 0 || !stage) {
        rc = root < 0 ? vt_fail(err, VT_EUSAGE, "%s: HDF5 cannot read its root group", path)
                      : vt_fail(err, VT_EIO, "out of memory for the %zu weights of %s", count,
                                model_get_config(m)->name);
    } else {
        memcpy(stage, model_params(m), sizeof(float) * count); /* layers not read keep their values */
        rc = read_layers(root, path, model_get_config(m), stage, flags, &got, err);
        if (rc == VT_OK && got == 0)
            rc = vt_fail(err, VT_EUSAGE, "%s: none of the model's layers matched the file's", path);
        if (rc == VT_OK)
            memcpy(model_params(m), stage, sizeof(float) * count);
    }
    free(stage);
    if (root >= 0)
        H5Gclose(root);
    H5Fclose(f);
    if (loaded)
        *loaded = got;
    return rc;
}
