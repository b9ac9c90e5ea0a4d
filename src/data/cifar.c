/* cifar: the binary versions of CIFAR-100 and CIFAR-10.
 *
 * CIFAR-100 (cifar-100-binary/train.bin, test.bin): records of 3,074 bytes, a coarse label byte, a fine
 * label byte, then 32x32 red, 32x32 green, 32x32 blue (row-major planes). CIFAR-10
 * (cifar-10-batches-bin/data_batch_1..5.bin, test_batch.bin): records of 3,073 bytes, one label byte and
 * the same planes. We keep images as (32, 32, 3) interleaved, so each record is transposed on the way in.
 * File sizes are checked before anything is read: a file that is empty, not a whole number of records,
 * or larger than the official one is refused with the reason. */
#include "data_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { SIDE = 32, PLANE = SIDE * SIDE, PIXELS = 3 * PLANE, CHUNK = 512 };

/* One CIFAR file's layout. */
typedef struct cifar_kind {
    const char *set;     /* "CIFAR-100", for messages */
    int label_bytes;     /* 2: coarse, fine; 1: label */
    int classes;         /* range of the last label byte */
    int coarse_classes;  /* range of the first label byte when there are two */
} cifar_kind;

static const cifar_kind K100 = {"CIFAR-100", 2, 100, 20};
static const cifar_kind K10 = {"CIFAR-10", 1, 10, 0};

void raw_split_free(raw_split *s)
{
    free(s->x);
    free(s->y);
    free(s->coarse);
    memset(s, 0, sizeof *s);
}

/* Checks a file's size and returns how many records it holds. */
static int cifar_count(const char *path, const cifar_kind *k, long max_records, long *records, vt_err *err)
{
    const long rec = k->label_bytes + PIXELS;
    long long size;
    int rc = vt_file_size(path, &size, err);
    if (rc)
        return rc;
    if (size % rec != 0)
        return vt_fail(err, VT_EUSAGE,
                       "%s: %lld bytes is not a whole number of %ld-byte %s records (truncated or not %s?)", path,
                       size, rec, k->set, k->set);
    if (size / rec > max_records)
        return vt_fail(err, VT_EUSAGE, "%s: %lld records, more than the %ld of %s's file (not a %s file?)", path,
                       size / rec, max_records, k->set, k->set);
    *records = (long)(size / rec);
    return VT_OK;
}

/* Reads the first count records of path into x (count, 32, 32, 3), y and (two label bytes) coarse,
 * checking every label. */
static int cifar_read(const char *path, const cifar_kind *k, long count, uint8_t *x, int *y, uint8_t *coarse,
                      vt_err *err)
{
    const size_t rec = (size_t)k->label_bytes + PIXELS;
    FILE *f;
    int rc = vt_fopen_regular(path, 0, &f, NULL, err); /* its size was checked by cifar_count */
    if (rc)
        return rc;
    uint8_t *buf = malloc(rec * CHUNK);
    if (!buf) {
        fclose(f);
        return vt_fail(err, VT_EIO, "%s: out of memory", path);
    }
    for (long done = 0; done < count && rc == VT_OK;) {
        size_t want = (size_t)(count - done < CHUNK ? count - done : CHUNK);
        size_t got = fread(buf, rec, want, f);
        if (got != want) {
            rc = ferror(f) ? vt_fail(err, VT_EUSAGE, "%s: read error after record %ld", path, done + (long)got)
                           : vt_fail(err, VT_EUSAGE, "%s: ends at record %ld, shorter than its size said", path,
                                     done + (long)got);
            break;
        }
        for (size_t r = 0; r < got; r++, done++) {
            const uint8_t *in = buf + r * rec;
            int label = in[k->label_bytes - 1];
            if (k->label_bytes == 2 && in[0] >= k->coarse_classes) {
                rc = vt_fail(err, VT_EUSAGE, "%s: record %ld: coarse label %d is out of range 0..%d", path, done,
                             in[0], k->coarse_classes - 1);
                break;
            }
            if (label >= k->classes) {
                rc = vt_fail(err, VT_EUSAGE, "%s: record %ld: %slabel %d is out of range 0..%d", path, done,
                             k->label_bytes == 2 ? "fine " : "", label, k->classes - 1);
                break;
            }
            y[done] = label;
            if (coarse)
                coarse[done] = in[0];
            /* planes (3, 32, 32) -> interleaved (32, 32, 3) */
            const uint8_t *planes = in + k->label_bytes;
            uint8_t *out = x + (size_t)done * PIXELS;
            for (int p = 0; p < PLANE; p++) {
                out[3 * p + 0] = planes[p];
                out[3 * p + 1] = planes[PLANE + p];
                out[3 * p + 2] = planes[2 * PLANE + p];
            }
        }
    }
    free(buf);
    fclose(f);
    return rc;
}

static int split_alloc(raw_split *s, long n, int with_coarse, const char *path, vt_err *err)
{
    s->h = s->w = SIDE;
    s->c = 3;
    s->n = n;
    s->x = malloc((size_t)n * PIXELS);
    s->y = malloc((size_t)n * sizeof *s->y);
    s->coarse = with_coarse ? malloc((size_t)n) : NULL;
    if (!s->x || !s->y || (with_coarse && !s->coarse)) {
        raw_split_free(s);
        return vt_fail(err, VT_EIO, "%s: out of memory for %ld images", path, n);
    }
    return VT_OK;
}

int cifar100_load(const char *dir, data_split split, long limit, raw_split *s, vt_err *err)
{
    memset(s, 0, sizeof *s);
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    snprintf(path, sizeof path, "%s/%s", dir, split == DATA_TRAIN ? "train.bin" : "test.bin");
    long records;
    int rc = cifar_count(path, &K100, split == DATA_TRAIN ? 50000 : 10000, &records, err);
    if (rc)
        return rc;
    long n = limit > 0 && limit < records ? limit : records;
    if ((rc = split_alloc(s, n, 1, path, err)))
        return rc;
    s->n_file = records;
    if ((rc = cifar_read(path, &K100, n, s->x, s->y, s->coarse, err)))
        raw_split_free(s);
    return rc;
}

int cifar10_load(const char *dir, data_split split, long limit, raw_split *s, vt_err *err)
{
    memset(s, 0, sizeof *s);
    enum { MAX_FILES = 5 };
    char paths[MAX_FILES][VT_PATH_MAX + VT_PATH_EXTRA];
    long records[MAX_FILES], total = 0;
    int files = split == DATA_TRAIN ? MAX_FILES : 1;
    /* Check every file before reading any, so a bad fifth batch fails fast. */
    for (int i = 0; i < files; i++) {
        if (split == DATA_TRAIN)
            snprintf(paths[i], sizeof paths[i], "%s/data_batch_%d.bin", dir, i + 1);
        else
            snprintf(paths[i], sizeof paths[i], "%s/test_batch.bin", dir);
        int rc = cifar_count(paths[i], &K10, 10000, &records[i], err);
        if (rc)
            return rc;
        total += records[i];
    }
    long n = limit > 0 && limit < total ? limit : total;
    int rc = split_alloc(s, n, 0, paths[0], err);
    if (rc)
        return rc;
    s->n_file = total;
    long done = 0;
    for (int i = 0; i < files && done < n && rc == VT_OK; i++) {
        long take = n - done < records[i] ? n - done : records[i];
        rc = cifar_read(paths[i], &K10, take, s->x + (size_t)done * PIXELS, s->y + done, NULL, err);
        done += take;
    }
    if (rc)
        raw_split_free(s);
    return rc;
}
