/* checkpoint: a model's config, parameters and optimiser state plus the caller's opaque blob, in one file:
 *
 *   offset  size  field (integers little-endian)
 *        0     8  magic "VGGTOPCK"
 *        8     4  format version (2; version 1 is read too)
 *       12    32  model name, NUL-padded
 *       44    28  height, width, channels, classes, include_top, pooling (int32 each), then the count M
 *                 (0 or 1) of second moment blocks (version 1: reserved 0)
 *       72     8  seed (uint64)
 *       80     8  parameter count P (uint64)
 *       88     8  extra length E (uint64)
 *       96   4*P  parameters (float32, the model's block order)
 *          4*P  velocity (float32, same order; SGD's velocity, Adam's m, RMSprop's momentum)
 *        M*4*P  second moments (Adam's v, RMSprop's mean square)
 *            8  optimiser steps taken (uint64; version 2 only: a version 1 file is SGD's, its count 0)
 *            E  extra
 *            4  CRC-32 (zlib) of every byte before it
 *
 * Written through vt_afile (a temporary file renamed into place). Read in two passes over one open file:
 * the first checks the header, the size and the checksum, the second copies into the model, so a bad
 * file never touches it. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "vggtop/nn.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoints store float32 arrays as they are in memory: a little-endian host is assumed"
#endif

#define CK_MAGIC "VGGTOPCK"
#define CK_VERSION 2u
#define CK_HEADER 96

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void encode_header(unsigned char *h, const model_config *cfg, uint64_t params, uint64_t extra, int moments)
{
    memset(h, 0, CK_HEADER);
    memcpy(h, CK_MAGIC, 8);
    put_u32(h + 8, CK_VERSION);
    memcpy(h + 12, cfg->name, strnlen(cfg->name, 31));
    const int32_t fields[7] = {cfg->height, cfg->width, cfg->channels, cfg->classes, cfg->include_top,
                               (int32_t)cfg->pooling, moments};
    for (int i = 0; i < 7; i++)
        put_u32(h + 44 + 4 * i, (uint32_t)fields[i]);
    put_u64(h + 72, cfg->seed);
    put_u64(h + 80, params);
    put_u64(h + 88, extra);
}

/* Writes len bytes and folds them into the running CRC. */
static int write_crc(FILE *f, const void *data, size_t len, uLong *crc)
{
    const unsigned char *p = data;
    while (len > 0) {
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        *crc = crc32(*crc, p, chunk);
        if (fwrite(p, 1, chunk, f) != chunk)
            return -1;
        p += chunk;
        len -= chunk;
    }
    return 0;
}

int checkpoint_save(const char *path, const model *m, const void *extra, size_t extra_len, vt_err *err)
{
    model *mm = (model *)m; /* the accessors are not const; nothing is written */
    const model_config *cfg = model_get_config(m);
    uint64_t count = (uint64_t)model_param_count(m);
    unsigned char header[CK_HEADER];
    float *moment2 = model_moment2(mm);
    encode_header(header, cfg, count, extra_len, moment2 != NULL);
    unsigned char steps[8];
    put_u64(steps, (uint64_t)model_iterations(m));
    vt_afile af;
    int rc = vt_afile_open(&af, path, err);
    if (rc)
        return rc;
    uLong crc = crc32(0L, Z_NULL, 0);
    if (write_crc(af.f, header, sizeof header, &crc) || write_crc(af.f, model_params(mm), 4 * count, &crc) ||
        write_crc(af.f, model_velocity(mm), 4 * count, &crc) ||
        (moment2 && write_crc(af.f, moment2, 4 * count, &crc)) || write_crc(af.f, steps, sizeof steps, &crc) ||
        (extra_len && write_crc(af.f, extra, extra_len, &crc))) {
        int saved = errno;
        vt_afile_abort(&af);
        return vt_fail(err, VT_EIO, "%s: write failed: %s", path, strerror(saved));
    }
    unsigned char tail[4];
    put_u32(tail, (uint32_t)crc);
    if (fwrite(tail, 1, 4, af.f) != 4) {
        int saved = errno;
        vt_afile_abort(&af);
        return vt_fail(err, VT_EIO, "%s: write failed: %s", path, strerror(saved));
    }
    return vt_afile_commit(&af, err);
}

/* An open checkpoint whose header, size and checksum have been verified. */
typedef struct ck_file {
    FILE *f;
    model_config cfg;
    uint64_t params, extra;
    uint32_t version;
    int moments; /* second moment blocks (0 or 1) */
} ck_file;

static int fail_ck(ck_file *ck, vt_err *err, const char *path, const char *what)
{
    if (ck->f)
        fclose(ck->f);
    ck->f = NULL;
    return vt_fail(err, VT_EUSAGE, "%s: not a usable vggtop checkpoint: %s", path, what);
}

/* The float32 arrays after the header (parameters, velocity, second moments), and the bytes of the step
 * count after them. */
static uint64_t ck_floats(const ck_file *ck) { return (2 + (uint64_t)ck->moments) * ck->params; }
static uint64_t ck_steps_len(const ck_file *ck) { return ck->version == 1 ? 0 : 8; }

/* The header h (read already): magic, version, the config and the sizes, checked against the model the
 * config gives and against file_size. */
static int ck_check_header(ck_file *ck, const unsigned char *h, long long file_size, const char *path, vt_err *err)
{
    if (memcmp(h, CK_MAGIC, 8) != 0)
        return fail_ck(ck, err, path, "wrong magic (expected \"VGGTOPCK\")");
    uint32_t version = get_u32(h + 8);
    if (version != 1 && version != CK_VERSION) {
        char what[96];
        snprintf(what, sizeof what, "format version %u, this vggtop reads versions 1 and %u", version,
                 CK_VERSION);
        return fail_ck(ck, err, path, what);
    }
    if (memchr(h + 12, '\0', 32) == NULL)
        return fail_ck(ck, err, path, "model name not terminated");
    memcpy(ck->cfg.name, h + 12, 32);
    int32_t fields[7];
    for (int i = 0; i < 7; i++)
        fields[i] = (int32_t)get_u32(h + 44 + 4 * i);
    ck->cfg.height = fields[0];
    ck->cfg.width = fields[1];
    ck->cfg.channels = fields[2];
    ck->cfg.classes = fields[3];
    ck->cfg.include_top = fields[4];
    ck->cfg.pooling = (nn_pooling)fields[5];
    ck->version = version;
    if (fields[6] < 0 || fields[6] > (version == 1 ? 0 : 1))
        return fail_ck(ck, err, path, "bad count of optimizer moment blocks");
    ck->moments = fields[6];
    ck->cfg.seed = get_u64(h + 72);
    ck->params = get_u64(h + 80);
    ck->extra = get_u64(h + 88);
    vt_err cerr;
    if (model_config_check(&ck->cfg, &cerr) != VT_OK) {
        char what[600];
        snprintf(what, sizeof what, "bad config: %s", cerr.msg);
        return fail_ck(ck, err, path, what);
    }
    long long expect = 0;
    model_plan(&ck->cfg, NULL, 0, &expect, NULL);
    if (ck->params != (uint64_t)expect)
        return fail_ck(ck, err, path, "parameter count does not match its model");
    if (ck->extra > ((uint64_t)1 << 40))
        return fail_ck(ck, err, path, "implausible extra length");
    uint64_t size = CK_HEADER + ck_floats(ck) * 4 + ck_steps_len(ck) + ck->extra + 4;
    if ((uint64_t)file_size < size)
        return fail_ck(ck, err, path, "truncated");
    if ((uint64_t)file_size > size)
        return fail_ck(ck, err, path, "trailing bytes after the checksum");
    return VT_OK;
}

/* Pass 1 over the rest of the file: the checksum over everything before the last 4 bytes (the header h
 * included), and the parameters and velocity all finite. */
static int ck_check_body(ck_file *ck, const unsigned char *h, const char *path, vt_err *err)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, h, CK_HEADER);
    static const size_t chunk = 1 << 20;
    unsigned char *buf = malloc(chunk);
    if (!buf) {
        fclose(ck->f);
        ck->f = NULL;
        return vt_fail(err, VT_EIO, "%s: out of memory", path);
    }
    uint64_t floats = ck_floats(ck), left = 4 * floats + ck_steps_len(ck) + ck->extra, at = 0, bad = UINT64_MAX;
    while (left > 0) {
        size_t want = left < chunk ? (size_t)left : chunk;
        if (fread(buf, 1, want, ck->f) != want) {
            free(buf);
            return fail_ck(ck, err, path, "read error or truncated");
        }
        crc = crc32(crc, buf, (uInt)want);
        /* The parameters and the velocity (floats from the header on; chunks are whole floats) must be
         * finite: a file that passes its checksum can still hold NaN weights a diverged run wrote by hand. */
        for (size_t i = 0; i + 4 <= want && at < floats && bad == UINT64_MAX; i += 4, at++) {
            float v;
            memcpy(&v, buf + i, 4);
            if (!isfinite(v))
                bad = at;
        }
        left -= want;
    }
    free(buf);
    unsigned char tail[4];
    if (fread(tail, 1, 4, ck->f) != 4)
        return fail_ck(ck, err, path, "truncated checksum");
    if (get_u32(tail) != (uint32_t)crc)
        return fail_ck(ck, err, path, "checksum mismatch (the file is corrupt)");
    if (bad != UINT64_MAX) {
        char what[128];
        snprintf(what, sizeof what, "%s %llu is not a finite number (NaN or infinite)",
                 bad < ck->params ? "parameter" : bad < 2 * ck->params ? "velocity value" : "second moment",
                 (unsigned long long)(bad % ck->params));
        return fail_ck(ck, err, path, what);
    }
    return VT_OK;
}

static int ck_open(ck_file *ck, const char *path, vt_err *err)
{
    memset(ck, 0, sizeof *ck);
    long long file_size;
    int rc = vt_fopen_regular(path, 0, &ck->f, &file_size, err);
    if (rc)
        return rc;
    unsigned char h[CK_HEADER];
    if (fread(h, 1, CK_HEADER, ck->f) != CK_HEADER)
        return fail_ck(ck, err, path, "truncated header");
    if ((rc = ck_check_header(ck, h, file_size, path, err)) != VT_OK)
        return rc;
    return ck_check_body(ck, h, path, err);
}

int checkpoint_read_config(const char *path, model_config *cfg, vt_err *err)
{
    ck_file ck;
    int rc = ck_open(&ck, path, err);
    if (rc)
        return rc;
    fclose(ck.f);
    *cfg = ck.cfg;
    return VT_OK;
}

/* The settings that shape the parameters; the seed only decides their starting values. */
static int same_shape(const model_config *a, const model_config *b)
{
    return strcmp(a->name, b->name) == 0 && a->height == b->height && a->width == b->width &&
           a->channels == b->channels && a->classes == b->classes && a->include_top == b->include_top &&
           a->pooling == b->pooling;
}

int checkpoint_load(const char *path, model *m, void *extra, size_t extra_cap, size_t *extra_len, vt_err *err)
{
    ck_file ck;
    int rc = ck_open(&ck, path, err);
    if (rc)
        return rc;
    const model_config *mc = model_get_config(m);
    if (!same_shape(&ck.cfg, mc)) {
        fclose(ck.f);
        return vt_fail(err, VT_EUSAGE, "%s: checkpoint is for %s %dx%dx%d, %d classes, top %d, pooling %d; the "
                       "model is %s %dx%dx%d, %d classes, top %d, pooling %d", path, ck.cfg.name, ck.cfg.height,
                       ck.cfg.width, ck.cfg.channels, ck.cfg.classes, ck.cfg.include_top, (int)ck.cfg.pooling,
                       mc->name, mc->height, mc->width, mc->channels, mc->classes, mc->include_top,
                       (int)mc->pooling);
    }
    /* Pass 2: the file verified, copy it in. */
    size_t count = (size_t)ck.params;
    size_t keep = ck.extra < extra_cap ? (size_t)ck.extra : extra_cap;
    if (ck.moments && (rc = model_need_moment2(m, err)) != VT_OK) {
        fclose(ck.f);
        return rc;
    }
    float *moment2 = model_moment2(m);
    unsigned char steps[8] = {0};
    size_t steps_len = (size_t)ck_steps_len(&ck);
    if (fseek(ck.f, CK_HEADER, SEEK_SET) != 0 || fread(model_params(m), 4, count, ck.f) != count ||
        fread(model_velocity(m), 4, count, ck.f) != count ||
        (ck.moments && fread(moment2, 4, count, ck.f) != count) ||
        (steps_len && fread(steps, 1, steps_len, ck.f) != steps_len) ||
        (keep && fread(extra, 1, keep, ck.f) != keep)) {
        fclose(ck.f);
        return vt_fail(err, VT_EIO, "%s: read failed after verification (the file changed?)", path);
    }
    fclose(ck.f);
    /* A file without second moments (SGD's, or version 1) leaves none behind from before the load. */
    if (!ck.moments && moment2)
        memset(moment2, 0, sizeof(float) * count);
    model_set_iterations(m, (long long)(get_u64(steps) & INT64_MAX));
    if (extra_len)
        *extra_len = (size_t)ck.extra;
    return VT_OK;
}
