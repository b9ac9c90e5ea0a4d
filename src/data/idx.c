/* idx: the IDX files of MNIST and Fashion-MNIST, raw or gzip-compressed (zlib reads both).
 *
 * An IDX file is a 4-byte magic (0, 0, element type, number of dimensions), one big-endian uint32 per
 * dimension, then the elements. We take unsigned bytes (type 0x08) only: images with 3 dimensions
 * (n, rows, cols) or 4 (n, rows, cols, channels), labels with 1 (n). Images and labels of a split come in
 * two files that must agree on n. The header is read first and checked before anything is allocated,
 * so a hostile header cannot make us allocate gigabytes, and a file whose data is shorter or longer
 * than its header says is refused. */
#include "data_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>

enum {
    MAX_SIDE = 4096,
    MAX_IMAGES = 10 * 1000 * 1000,
};
#define MAX_BYTES (2048.0 * 1024 * 1024) /* 2 GiB of pixels: beyond any data set this program trains on */

typedef struct idx_file {
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    gzFile gz;
    long long size; /* bytes on disk */
    int ndims;
    long dims[4];
} idx_file;

/* Finds "<prefix>-<what>-idxN-ubyte" (or MNIST's "<prefix>-<what>.idxN-ubyte"), with or without ".gz". */
static int idx_find(const char *dir, const char *prefix, const char *what, int ndims, char *path, size_t size)
{
    static const char *const seps[] = {"-", "."};
    static const char *const exts[] = {".gz", ""};
    for (int s = 0; s < 2; s++)
        for (int e = 0; e < 2; e++) {
            snprintf(path, size, "%s/%s-%s%sidx%d-ubyte%s", dir, prefix, what, seps[s], ndims, exts[e]);
            struct stat st;
            if (stat(path, &st) == 0)
                return 1;
        }
    /* Name the expected file in messages. */
    snprintf(path, size, "%s/%s-%s-idx%d-ubyte.gz", dir, prefix, what, ndims);
    return 0;
}

/* Reads exactly len bytes; distinguishes a short file from a corrupt gzip stream. */
static int gz_read_exact(idx_file *f, void *buf, size_t len, const char *what, vt_err *err)
{
    uint8_t *p = buf;
    while (len > 0) {
        unsigned chunk = len > (1u << 30) ? 1u << 30 : (unsigned)len;
        int got = gzread(f->gz, p, chunk);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(f->gz, &zerr);
            if (zerr == Z_ERRNO)
                return vt_fail(err, VT_EUSAGE, "%s: read error: %s", f->path, strerror(errno));
            return vt_fail(err, VT_EUSAGE, "%s: corrupt gzip stream (%s)", f->path, msg);
        }
        if (got == 0) {
            int zerr;
            const char *msg = gzerror(f->gz, &zerr);
            if (zerr != Z_OK && zerr != Z_STREAM_END)
                return vt_fail(err, VT_EUSAGE, "%s: corrupt or truncated gzip stream (%s)", f->path, msg);
            return vt_fail(err, VT_EUSAGE, "%s: truncated: the file ends inside its %s", f->path, what);
        }
        p += got;
        len -= (size_t)got;
    }
    return VT_OK;
}

/* Opens path and reads and checks its header: unsigned bytes with `ndims` dimensions (or ndims + 1 when
 * allow_channels, the last being 1..4 channels). */
static int idx_open(idx_file *f, const char *path, int ndims, int allow_channels, vt_err *err)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    int fd;
    int rc = vt_open_regular(path, 0, &fd, &f->size, err);
    if (rc)
        return rc;
    if (f->size == 0) {
        close(fd);
        return vt_fail(err, VT_EUSAGE, "%s: the file is empty", path);
    }
    f->gz = gzdopen(fd, "rb");
    if (!f->gz) {
        close(fd);
        return vt_fail(err, VT_EIO, "%s: out of memory opening it", path);
    }
    gzbuffer(f->gz, 256 * 1024);
    uint8_t magic[4];
    rc = gz_read_exact(f, magic, 4, "header", err);
    if (rc)
        return rc;
    if (magic[0] != 0 || magic[1] != 0)
        return vt_fail(err, VT_EUSAGE, "%s: not an IDX file (magic %02x %02x %02x %02x, expected 00 00 08 %02x)",
                       path, magic[0], magic[1], magic[2], magic[3], ndims);
    if (magic[2] != 0x08)
        return vt_fail(err, VT_EUSAGE, "%s: IDX element type 0x%02x, expected 0x08 (unsigned bytes)", path,
                       magic[2]);
    if (magic[3] != ndims && !(allow_channels && magic[3] == ndims + 1))
        return vt_fail(err, VT_EUSAGE, "%s: %d dimensions, expected %d (%s)", path, magic[3], ndims,
                       ndims == 1 ? "labels: n" : "images: n, rows, columns");
    f->ndims = magic[3];
    uint8_t d[16];
    if ((rc = gz_read_exact(f, d, 4 * (size_t)f->ndims, "header", err)))
        return rc;
    for (int i = 0; i < f->ndims; i++) {
        unsigned long v = (unsigned long)d[4 * i] << 24 | (unsigned long)d[4 * i + 1] << 16 |
                          (unsigned long)d[4 * i + 2] << 8 | d[4 * i + 3];
        f->dims[i] = (long)v;
    }
    if (f->dims[0] == 0)
        return vt_fail(err, VT_EUSAGE, "%s: the header says it holds no %s", path, ndims == 1 ? "labels" : "images");
    if (f->dims[0] > MAX_IMAGES)
        return vt_fail(err, VT_EUSAGE, "%s: the header says %ld items, more than %d (not an IDX data set?)", path,
                       f->dims[0], MAX_IMAGES);
    for (int i = 1; i < f->ndims; i++) {
        long max = i == 3 ? 4 : MAX_SIDE;
        if (f->dims[i] < 1 || f->dims[i] > max)
            return vt_fail(err, VT_EUSAGE, "%s: dimension %d is %ld, expected 1..%ld", path, i + 1, f->dims[i], max);
    }
    if (f->ndims > 1 && (double)f->dims[0] * f->dims[1] * f->dims[2] * (f->ndims == 4 ? f->dims[3] : 1) > MAX_BYTES)
        return vt_fail(err, VT_EUSAGE, "%s: the header says %ld images of %ldx%ld, more than 2 GiB", path, f->dims[0],
                       f->dims[1], f->dims[2]);
    return VT_OK;
}

/* Before allocating for `items` items of `item` bytes: a raw file must be exactly that long, and a gzip
 * file cannot hold more than deflate's best ratio (1032:1) allows, so a 30-byte file cannot make us
 * allocate gigabytes. */
static int idx_check_size(const idx_file *f, long items, size_t item, vt_err *err)
{
    double need = 4.0 + 4.0 * f->ndims + (double)items * (double)item;
    if (gzdirect(f->gz)) {
        if ((double)f->size < need)
            return vt_fail(err, VT_EUSAGE, "%s: truncated: the header says %ld items (%.0f bytes), the file has %lld",
                           f->path, items, need, f->size);
        if ((double)f->size > need)
            return vt_fail(err, VT_EUSAGE, "%s: longer than its header says (%ld items, %.0f bytes): the file has %lld",
                           f->path, items, need, f->size);
    } else if (need > (double)f->size * 1032.0 + 1024.0) {
        return vt_fail(err, VT_EUSAGE,
                       "%s: truncated: the header says %ld items (%.0f bytes), more than %lld compressed bytes can hold",
                       f->path, items, need, f->size);
    }
    return VT_OK;
}

static void idx_close(idx_file *f)
{
    if (f->gz)
        gzclose(f->gz);
    f->gz = NULL;
}

/* After reading everything the header announced: the file must end here. */
static int idx_expect_end(idx_file *f, vt_err *err)
{
    uint8_t extra;
    int got = gzread(f->gz, &extra, 1);
    if (got > 0)
        return vt_fail(err, VT_EUSAGE, "%s: longer than its header says (%ld items): extra bytes at the end", f->path,
                       f->dims[0]);
    int zerr;
    const char *msg = gzerror(f->gz, &zerr);
    if (got < 0 || (zerr != Z_OK && zerr != Z_STREAM_END))
        return vt_fail(err, VT_EUSAGE, "%s: corrupt gzip stream at its end (%s)", f->path, msg);
    return VT_OK;
}

int idx_load(const char *dir, data_split split, long limit, int classes, raw_split *s, vt_err *err)
{
    memset(s, 0, sizeof *s);
    const char *prefix = split == DATA_TRAIN ? "train" : "t10k";
    char ipath[VT_PATH_MAX + VT_PATH_EXTRA], lpath[VT_PATH_MAX + VT_PATH_EXTRA];
    if (!idx_find(dir, prefix, "images", 3, ipath, sizeof ipath))
        return vt_fail(err, VT_EUSAGE, "%s: missing (the %s images of an IDX data set)", ipath,
                       split == DATA_TRAIN ? "training" : "test");
    if (!idx_find(dir, prefix, "labels", 1, lpath, sizeof lpath))
        return vt_fail(err, VT_EUSAGE, "%s: missing (the labels for %s)", lpath, ipath);
    idx_file im, lb;
    memset(&lb, 0, sizeof lb);
    int rc = idx_open(&im, ipath, 3, 1, err);
    if (rc == VT_OK)
        rc = idx_open(&lb, lpath, 1, 0, err);
    if (rc == VT_OK && lb.dims[0] != im.dims[0])
        rc = vt_fail(err, VT_EUSAGE, "%s: %ld labels, but %s holds %ld images", lpath, lb.dims[0], ipath, im.dims[0]);
    size_t image = (size_t)im.dims[1] * (size_t)im.dims[2] * (size_t)(im.ndims == 4 ? im.dims[3] : 1);
    if (rc == VT_OK)
        rc = idx_check_size(&im, im.dims[0], image, err);
    if (rc == VT_OK)
        rc = idx_check_size(&lb, lb.dims[0], 1, err);
    if (rc) {
        idx_close(&im);
        idx_close(&lb);
        return rc;
    }
    long total = im.dims[0];
    long n = limit > 0 && limit < total ? limit : total;
    s->n = n;
    s->n_file = total;
    s->h = (int)im.dims[1];
    s->w = (int)im.dims[2];
    s->c = im.ndims == 4 ? (int)im.dims[3] : 1;
    s->x = malloc((size_t)n * image);
    s->y = malloc((size_t)n * sizeof *s->y);
    /* Every label is read and checked, even under a limit (they are small), so the classes an unknown IDX
     * set has do not depend on --limit-train. */
    uint8_t *labels = malloc((size_t)total);
    if (!s->x || !s->y || !labels)
        rc = vt_fail(err, VT_EIO, "%s: out of memory for %ld images", ipath, n);
    if (rc == VT_OK)
        rc = gz_read_exact(&im, s->x, (size_t)n * image, "images", err);
    if (rc == VT_OK)
        rc = gz_read_exact(&lb, labels, (size_t)total, "labels", err);
    /* Only when all images were wanted do we insist on the image file's exact end (a limit reads a prefix). */
    if (rc == VT_OK && n == total)
        rc = idx_expect_end(&im, err);
    if (rc == VT_OK)
        rc = idx_expect_end(&lb, err);
    s->label_max = 0;
    for (long i = 0; rc == VT_OK && i < total; i++) {
        if (classes > 0 && labels[i] >= classes)
            rc = vt_fail(err, VT_EUSAGE, "%s: label %d of image %ld is out of range 0..%d", lpath, labels[i], i,
                         classes - 1);
        s->label_max = labels[i] > s->label_max ? labels[i] : s->label_max;
        if (i < n)
            s->y[i] = labels[i];
    }
    free(labels);
    idx_close(&im);
    idx_close(&lb);
    if (rc)
        raw_split_free(s);
    return rc;
}
