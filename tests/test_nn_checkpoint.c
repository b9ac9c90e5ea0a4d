/* Unit tests of nn's checkpoints: the round trip of parameters, velocity and the caller's blob, the header
 * layout, and every way a file can be wrong (each must fail with one line naming the file and leave the
 * model untouched). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "vggtop/nn.h"

#include "nn_testing.h"
#include "testing.h"

typedef struct fixture {
    char dir[TMPDIR_SIZE];
    char path[128];
    model *m;         /* trained a few steps with momentum, saved to path */
    unsigned char *bytes; /* the saved file */
    size_t len;
} fixture;

static const char blob[] = "epoch=3;rng=12345";

static model_config small_config(const char *name, int classes)
{
    model_config cfg;
    assert_int_equal(model_config_default(&cfg, name, NULL), VT_OK);
    cfg.height = cfg.width = 8;
    cfg.channels = 3;
    cfg.classes = classes;
    return cfg;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (tmpdir_make(f->dir, "nn-ck") != 0)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/model.ck", f->dir);
    model_config cfg = small_config("cnn", 5);
    if (model_create(&cfg, &f->m, NULL) || model_set_batch(f->m, 4, NULL))
        return -1;
    float x[4 * 8 * 8 * 3];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)((i * 37) % 101) / 101.0f;
    int y[4] = {0, 1, 2, 3};
    sgd_config s;
    sgd_config_default(&s);
    s.momentum = 0.9f;
    step_stats st = {0};
    for (int t = 0; t < 2; t++)
        if (model_train_step(f->m, x, y, 4, &s, &st, NULL))
            return -1;
    vt_err err;
    if (checkpoint_save(f->path, f->m, blob, sizeof blob, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    char *data;
    if (vt_read_file(f->path, 0, &data, &f->len, NULL))
        return -1;
    f->bytes = (unsigned char *)data;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (tmpdir_remove(f->dir) != 0)
        return -1;
    model_destroy(f->m);
    free(f->bytes);
    free(f);
    return 0;
}

static void round_trip(void **state)
{
    fixture *f = *state;
    model_config cfg;
    vt_err err;
    assert_int_equal(checkpoint_read_config(f->path, &cfg, &err), VT_OK);
    assert_string_equal(cfg.name, "cnn");
    assert_int_equal(cfg.height, 8);
    assert_int_equal(cfg.classes, 5);
    assert_int_equal(cfg.include_top, 1);
    assert_int_equal(cfg.seed, 1);
    cfg.seed = 99; /* different starting weights, overwritten by the load */
    model *m2;
    assert_int_equal(model_create(&cfg, &m2, NULL), VT_OK);
    size_t P = (size_t)model_param_count(m2);
    assert_memory_not_equal(model_params(m2), model_params(f->m), sizeof(float) * P);
    char extra[64] = {0};
    size_t extra_len = 0;
    assert_int_equal(checkpoint_load(f->path, m2, extra, sizeof extra, &extra_len, &err), VT_OK);
    assert_memory_equal(model_params(m2), model_params(f->m), sizeof(float) * P);
    assert_memory_equal(model_velocity(m2), model_velocity(f->m), sizeof(float) * P);
    assert_int_equal(extra_len, sizeof blob);
    assert_string_equal(extra, blob);
    /* A smaller buffer gets the blob's start; the stored length is still reported. */
    char small[4];
    assert_int_equal(checkpoint_load(f->path, m2, small, sizeof small, &extra_len, &err), VT_OK);
    assert_memory_equal(small, blob, 4);
    assert_int_equal(extra_len, sizeof blob);
    /* No blob at all. */
    char path2[160];
    snprintf(path2, sizeof path2, "%s/noextra.ck", f->dir);
    assert_int_equal(checkpoint_save(path2, m2, NULL, 0, &err), VT_OK);
    assert_int_equal(checkpoint_load(path2, m2, NULL, 0, &extra_len, &err), VT_OK);
    assert_int_equal(extra_len, 0);
    model_destroy(m2);
}

static void header_layout(void **state)
{
    fixture *f = *state;
    size_t P = (size_t)model_param_count(f->m);
    assert_int_equal(f->len, 96 + 8 * P + 8 + sizeof blob + 4); /* SGD's: no second moments */
    assert_memory_equal(f->bytes, "VGGTOPCK", 8);
    assert_int_equal(f->bytes[8], 2); /* version 2, little-endian */
    assert_int_equal(f->bytes[9] | f->bytes[10] | f->bytes[11], 0);
    assert_string_equal((const char *)f->bytes + 12, "cnn");
    assert_memory_equal(f->bytes + 96, model_params(f->m), 4 * P);
    assert_int_equal(f->bytes[68] | f->bytes[69] | f->bytes[70] | f->bytes[71], 0); /* no second moments */
    assert_int_equal(f->bytes[96 + 8 * P], 2); /* the optimiser's steps (two in setup) */
    /* The stored CRC is zlib's crc32 of everything before it. */
    uLong crc = crc32(0L, f->bytes, (uInt)(f->len - 4));
    const unsigned char *t = f->bytes + f->len - 4;
    assert_int_equal((uint32_t)crc, (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 |
                                        (uint32_t)t[3] << 24);
}

static void write_bytes(const char *path, const unsigned char *bytes, size_t len)
{
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(bytes, 1, len, out), len);
    fclose(out);
}

/* Writes bytes to a file in the fixture's folder, tries to read and load it, and expects VT_EUSAGE with one
 * line naming the file and containing needle, with the target model unchanged. */
static void expect_rejected(fixture *f, const unsigned char *bytes, size_t len, const char *needle, model *target)
{
    char path[160];
    snprintf(path, sizeof path, "%s/bad.ck", f->dir);
    write_bytes(path, bytes, len);
    size_t P = (size_t)model_param_count(target);
    float *before = malloc(sizeof(float) * P), *vbefore = malloc(sizeof(float) * P);
    memcpy(before, model_params(target), sizeof(float) * P);
    memcpy(vbefore, model_velocity(target), sizeof(float) * P);
    vt_err err;
    char extra[64];
    size_t extra_len = 12345;
    vt_err_clear(&err);
    assert_int_equal(checkpoint_load(path, target, extra, sizeof extra, &extra_len, &err), VT_EUSAGE);
    if (!strstr(err.msg, path) || !strstr(err.msg, needle))
        fail_msg("message '%s' should name %s and say '%s'", err.msg, path, needle);
    assert_null(strchr(err.msg, '\n'));
    assert_memory_equal(model_params(target), before, sizeof(float) * P);
    assert_memory_equal(model_velocity(target), vbefore, sizeof(float) * P);
    assert_int_equal(extra_len, 12345);
    free(before);
    free(vbefore);
}

static void corrupt_files_rejected(void **state)
{
    fixture *f = *state;
    model_config cfg = small_config("cnn", 5);
    cfg.seed = 7;
    model *m2;
    assert_int_equal(model_create(&cfg, &m2, NULL), VT_OK);
    unsigned char *b = malloc(f->len + 1);
    const size_t P = (size_t)model_param_count(f->m);

    expect_rejected(f, f->bytes, 0, "truncated", m2);
    expect_rejected(f, f->bytes, 50, "truncated", m2);
    expect_rejected(f, f->bytes, 96 + 10, "truncated", m2);
    expect_rejected(f, f->bytes, f->len - 1, "truncated", m2);

    memcpy(b, f->bytes, f->len);
    b[f->len] = 0;
    expect_rejected(f, b, f->len + 1, "trailing", m2);

    memcpy(b, f->bytes, f->len);
    b[0] = 'X';
    expect_rejected(f, b, f->len, "magic", m2);

    memcpy(b, f->bytes, f->len);
    b[8] = 3;
    expect_rejected(f, b, f->len, "version 3", m2);
    memcpy(b, f->bytes, f->len);
    b[68] = 2; /* two second moment blocks */
    expect_rejected(f, b, f->len, "moment blocks", m2);

    /* One flipped bit anywhere in the body: parameters, velocity, blob, the checksum itself. */
    const size_t spots[] = {96, 96 + 4 * P / 2, 96 + 4 * P + 3, 96 + 8 * P + 2, f->len - 1};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        memcpy(b, f->bytes, f->len);
        b[spots[i]] ^= 0x10;
        expect_rejected(f, b, f->len, "checksum", m2);
    }

    /* A header edited to another shape no longer matches its parameter count. */
    memcpy(b, f->bytes, f->len);
    b[44 + 12] = 6; /* classes 5 -> 6 */
    expect_rejected(f, b, f->len, "parameter count", m2);
    memcpy(b, f->bytes, f->len);
    b[44 + 8] = 9; /* channels 3 -> 9 */
    expect_rejected(f, b, f->len, "channels", m2);
    memcpy(b, f->bytes, f->len);
    memcpy(b + 12, "resnet", 7);
    expect_rejected(f, b, f->len, "unknown model", m2);

    /* Intact files for another model or another shape. */
    model_config other = small_config("cnn", 6);
    model *m3;
    assert_int_equal(model_create(&other, &m3, NULL), VT_OK);
    expect_rejected(f, f->bytes, f->len, "6 classes", m3);
    model_destroy(m3);
    other = small_config("mlp", 5);
    assert_int_equal(model_create(&other, &m3, NULL), VT_OK);
    expect_rejected(f, f->bytes, f->len, "the model is mlp", m3);
    model_destroy(m3);

    vt_err err;
    model_config got;
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none.ck", f->dir);
    assert_int_equal(checkpoint_read_config(missing, &got, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, missing));
    assert_int_equal(checkpoint_read_config(f->dir, &got, &err), VT_EUSAGE); /* a directory */
    free(b);
    model_destroy(m2);
}

/* A version 1 file (before the optimiser state: no step count) still loads, as SGD's at step 0. */
static void version_1_loads(void **state)
{
    fixture *f = *state;
    const size_t P = (size_t)model_param_count(f->m), body = 96 + 8 * P;
    size_t len = f->len - 8;
    unsigned char *b = malloc(len);
    memcpy(b, f->bytes, body);
    memcpy(b + body, f->bytes + body + 8, sizeof blob);
    b[8] = 1;
    uLong crc = crc32(0L, b, (uInt)(len - 4));
    for (int i = 0; i < 4; i++)
        b[len - 4 + i] = (unsigned char)(crc >> (8 * i));
    char path[160];
    snprintf(path, sizeof path, "%s/v1.ck", f->dir);
    write_bytes(path, b, len);
    model_config cfg = small_config("cnn", 5);
    model *m2;
    assert_int_equal(model_create(&cfg, &m2, NULL), VT_OK);
    model_set_iterations(m2, 9);
    char extra[64] = {0};
    vt_err err;
    assert_int_equal(checkpoint_load(path, m2, extra, sizeof extra, NULL, &err), VT_OK);
    assert_memory_equal(model_params(m2), model_params(f->m), sizeof(float) * P);
    assert_memory_equal(model_velocity(m2), model_velocity(f->m), sizeof(float) * P);
    assert_int_equal(model_iterations(m2), 0);
    assert_null(model_moment2(m2));
    assert_string_equal(extra, blob);
    b[68] = 1; /* a version 1 file has no second moments */
    write_bytes(path, b, len);
    assert_int_equal(checkpoint_load(path, m2, extra, sizeof extra, NULL, &err), VT_EUSAGE);
    model_destroy(m2);
    free(b);
}

static void save_failure_leaves_old_file(void **state)
{
    fixture *f = *state;
    vt_err err;
    char path[160];
    snprintf(path, sizeof path, "%s/no/such/dir/x.ck", f->dir);
    assert_int_equal(checkpoint_save(path, f->m, NULL, 0, &err), VT_EIO);
    assert_null(strchr(err.msg, '\n'));
    assert_int_not_equal(access(path, F_OK), 0);
    /* Saving again over the fixture's file replaces it whole, with no temporary left behind. */
    assert_int_equal(checkpoint_save(f->path, f->m, blob, sizeof blob, &err), VT_OK);
    char *data;
    size_t len;
    assert_int_equal(vt_read_file(f->path, 0, &data, &len, NULL), VT_OK);
    assert_int_equal(len, f->len);
    assert_memory_equal(data, f->bytes, len);
    free(data);
    char tmp[200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", f->path, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_testing_start(argv);
    nn_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(header_layout),
        cmocka_unit_test(corrupt_files_rejected),
        cmocka_unit_test(version_1_loads),
        cmocka_unit_test(save_failure_leaves_old_file),
    };
    return cmocka_run_group_tests_name("nn", tests, setup, teardown);
}
