/* fuzz_common: what the libFuzzer harnesses of the data loaders share. An input is one option byte,
 * three little-endian uint16 part lengths, then the bytes of up to four parts (the last takes the rest);
 * each harness writes the parts as the files of one data set folder and calls data_open on it, which
 * must either succeed or fail with one line, never crash, leak or read out of bounds. */
#ifndef VGGTOP_FUZZ_COMMON_H
#define VGGTOP_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "vggtop/data.h"

typedef struct fuzz_parts {
    uint8_t opts;
    const uint8_t *part[4];
    size_t len[4];
} fuzz_parts;

static void fuzz_split(const uint8_t *data, size_t size, fuzz_parts *p)
{
    memset(p, 0, sizeof *p);
    if (size < 7)
        return;
    p->opts = data[0];
    size_t at = 7;
    for (int i = 0; i < 4; i++) {
        size_t want = i < 3 ? (size_t)(data[1 + 2 * i] | data[2 + 2 * i] << 8) : size - at;
        size_t left = size - at;
        p->len[i] = want < left ? want : left;
        p->part[i] = data + at;
        at += p->len[i];
    }
}

/* The folder every iteration writes into; made once, emptied by each harness of its own files. */
static const char *fuzz_dir(const char *name)
{
    static char dir[256];
    if (!dir[0]) {
        /* run-fuzz.sh points TMPDIR into its build folder and empties it, so nothing piles up in /tmp. */
        const char *tmp = getenv("TMPDIR");
        char base[200];
        snprintf(base, sizeof base, "%s/vggtop-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(base))
            abort();
        snprintf(dir, sizeof dir, "%s/%s", base, name);
        if (mkdir(dir, 0700) != 0)
            abort();
    }
    return dir;
}

static void fuzz_write(const char *dir, const char *name, const uint8_t *data, size_t len, int gz)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (gz) {
        gzFile f = gzopen(path, "wb1");
        if (!f)
            abort();
        if (len && gzwrite(f, data, (unsigned)len) != (int)len)
            abort();
        gzclose(f);
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (len && fwrite(data, 1, len, f) != len)
        abort();
    fclose(f);
}

static void fuzz_remove(const char *dir, const char *const *names)
{
    char path[512];
    for (int i = 0; names[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
}

/* Opens dir and checks the contract: success gives a consistent data set, failure a one-line message. */
static void fuzz_open(const data_options *opt)
{
    dataset *ds = NULL;
    vt_err err;
    vt_err_clear(&err);
    int rc = data_open(opt, &ds, &err);
    if (rc == VT_OK) {
        if (!ds || ds->classes < 1 || ds->n_train < 1 || ds->n_test < 1 || ds->height < 1 || ds->width < 1)
            abort();
        for (long i = 0; i < ds->n_train; i++)
            if (ds->train_y[i] < 0 || ds->train_y[i] >= ds->classes)
                abort();
        for (long i = 0; i < ds->n_test; i++)
            if (ds->test_y[i] < 0 || ds->test_y[i] >= ds->classes)
                abort();
        /* One batch through the whole pipeline, augmented. */
        long idx[2] = {0, ds->n_train - 1};
        size_t image = (size_t)ds->height * (size_t)ds->width * (size_t)ds->channels;
        float *x = malloc(2 * image * sizeof *x);
        int y[2];
        preprocess pp = {.augment = 1};
        vt_rng rng;
        vt_rng_seed(&rng, 1);
        if (!x)
            abort();
        data_fill_batch(ds, DATA_TRAIN, idx, 2, &pp, x, y);
        free(x);
        data_destroy(ds);
    } else {
        if (ds || !err.msg[0] || strchr(err.msg, '\n'))
            abort();
    }
}

#endif
