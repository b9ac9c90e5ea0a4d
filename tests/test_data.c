/* Unit tests of the data module: loaders on tiny files written here in the exact CIFAR-100, CIFAR-10 and
 * IDX formats (raw and gzip), every bad-input case of issue 3, where data sets are looked for, the
 * embedded class names against assets/, and shuffling, statistics and batches. Pixel and label
 * expectations come from the formulas the files were written with, not from the loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "../src/data/data_internal.h"
#include "vggtop/data.h"

#include "testing.h"

/* ---- helpers ----------------------------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    if (test_dir_make("data") != 0)
        return -1;
    unsetenv("VGGTOP_DATA");
    setenv("HOME", test_dir, 1); /* the machine's Keras cache (~/.keras/datasets) must not be found */
    return 0;
}

static void mkdir_at(const char *name) { assert_int_equal(mkdir(at(name), 0755), 0); }

/* The pixel a test file holds at record r, channel ch, row y, column x. */
static uint8_t pixel(long r, int ch, int y, int x) { return (uint8_t)(r * 7 + ch * 50 + y * 3 + x * 5); }

/* CIFAR-100 fine label of record r, and its superclass from the published table. */
static int fine_of(long r) { return (int)((r * 37 + 19) % 100); }

/* n records of CIFAR-100 (label_bytes 2) or CIFAR-10 (1), R, G, B planes; first is the first record's
 * index in the pixel() pattern. */
static void write_cifar(const char *path, int label_bytes, long first, long n)
{
    size_t rec = (size_t)label_bytes + 3072;
    uint8_t *buf = malloc(rec * (size_t)n);
    assert_non_null(buf);
    for (long i = 0; i < n; i++) {
        long r = first + i;
        uint8_t *p = buf + rec * (size_t)i;
        if (label_bytes == 2) {
            p[0] = (uint8_t)names_cifar100_fine_to_coarse[fine_of(r)];
            p[1] = (uint8_t)fine_of(r);
        } else {
            p[0] = (uint8_t)(r % 10);
        }
        for (int ch = 0; ch < 3; ch++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    p[label_bytes + ch * 1024 + y * 32 + x] = pixel(r, ch, y, x);
    }
    write_file(path, buf, rec * (size_t)n);
    free(buf);
}

static void make_cifar100(const char *dir, long n_train, long n_test)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/train.bin", dir);
    write_cifar(path, 2, 0, n_train);
    snprintf(path, sizeof path, "%s/test.bin", dir);
    write_cifar(path, 2, 1000, n_test);
}

static void make_cifar10(const char *dir, long per_batch, long n_test)
{
    char path[1024];
    for (int b = 1; b <= 5; b++) {
        snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, b);
        write_cifar(path, 1, (b - 1) * per_batch, per_batch);
    }
    snprintf(path, sizeof path, "%s/test_batch.bin", dir);
    write_cifar(path, 1, 1000, n_test);
}

/* An IDX file: magic 00 00 type ndims, big-endian dims, then data; gzip-compressed when gz. */
static void write_idx(const char *path, int type, int ndims, const uint32_t *dims, const uint8_t *data, size_t len,
                      int gz)
{
    uint8_t head[4 + 16] = {0, 0, (uint8_t)type, (uint8_t)ndims};
    for (int i = 0; i < ndims; i++) {
        head[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        head[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        head[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        head[7 + 4 * i] = (uint8_t)dims[i];
    }
    size_t hl = 4 + 4 * (size_t)ndims;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, head, (unsigned)hl), (int)hl);
        if (len)
            assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(head, 1, hl, f), hl);
        if (len)
            assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

/* n images of h x w (grey, pixel(r, 0, y, x)) and labels r % classes, as prefix-images-idx3-ubyte[.gz]. */
static void make_idx_split(const char *dir, const char *prefix, long first, uint32_t n, uint32_t h, uint32_t w,
                           int classes, int gz)
{
    uint8_t *img = malloc((size_t)n * h * w), *lab = malloc(n);
    assert_non_null(img);
    assert_non_null(lab);
    for (uint32_t i = 0; i < n; i++) {
        lab[i] = (uint8_t)((first + i) % classes);
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++)
                img[((size_t)i * h + y) * w + x] = pixel(first + i, 0, (int)y, (int)x);
    }
    char path[1024];
    uint32_t dims[3] = {n, h, w};
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "");
    write_idx(path, 0x08, 3, dims, img, (size_t)n * h * w, gz);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, prefix, gz ? ".gz" : "");
    write_idx(path, 0x08, 1, dims, lab, n, gz);
    free(img);
    free(lab);
}

static void make_idx(const char *dir, uint32_t n_train, uint32_t n_test, int classes, int gz)
{
    make_idx_split(dir, "train", 0, n_train, 28, 28, classes, gz);
    make_idx_split(dir, "t10k", 500, n_test, 28, 28, classes, gz);
}

/* data_open on dir must fail with VT_EUSAGE, leave *out NULL, and say every one of the words. */
static void expect_failure(const data_options *opt, const char *word1, const char *word2)
{
    dataset *ds = (dataset *)1;
    vt_err err;
    vt_err_clear(&err);
    int rc = data_open(opt, &ds, &err);
    if (rc != VT_EUSAGE)
        fail_msg("expected a usage error mentioning '%s', got rc %d: %s", word1, rc, err.msg);
    assert_null(ds);
    assert_null(strchr(err.msg, '\n'));
    if (!strstr(err.msg, word1) || (word2 && !strstr(err.msg, word2)))
        fail_msg("error '%s' does not mention '%s' and '%s'", err.msg, word1, word2 ? word2 : "");
}

static void expect_dir_failure(const char *dir, const char *word1, const char *word2)
{
    data_options opt = {.path = dir};
    expect_failure(&opt, word1, word2);
}

static dataset *open_dir(const char *dir, int coarse, int resize, int min_size)
{
    data_options opt = {.path = dir, .coarse = coarse, .resize = resize, .min_size = min_size};
    dataset *ds = NULL;
    vt_err err;
    int rc = data_open(&opt, &ds, &err);
    if (rc)
        fail_msg("data_open(%s): %s", dir, err.msg);
    return ds;
}

/* ---- loading ----------------------------------------------------------------------------------------- */

static void cifar100_fine_labels_and_hwc_pixels(void **state)
{
    (void)state;
    make_cifar100(test_dir, 7, 3);
    dataset *ds = open_dir(test_dir, 0, 0, 0);
    assert_string_equal(ds->name, "CIFAR-100");
    assert_int_equal(ds->format, DATA_CIFAR100);
    assert_int_equal(ds->source, DATA_FROM_FLAG);
    assert_string_equal(ds->path, test_dir);
    assert_int_equal(ds->height, 32);
    assert_int_equal(ds->width, 32);
    assert_int_equal(ds->channels, 3);
    assert_int_equal(ds->classes, 100);
    assert_int_equal(ds->n_train, 7);
    assert_int_equal(ds->n_test, 3);
    assert_int_equal(ds->n_train_file, 7);
    assert_string_equal(ds->notice, ""); /* CIFAR-100 at native size: nothing to say */
    for (long r = 0; r < 7; r++) {
        assert_int_equal(ds->train_y[r], fine_of(r));
        for (int y = 0; y < 32; y += 5)
            for (int x = 0; x < 32; x += 3)
                for (int ch = 0; ch < 3; ch++)
                    assert_int_equal(ds->train_x[((r * 32 + y) * 32 + x) * 3 + ch], pixel(r, ch, y, x));
    }
    assert_int_equal(ds->test_y[2], fine_of(1002));
    assert_int_equal(ds->test_x[(2 * 32 * 32 + 31 * 32 + 31) * 3 + 2], pixel(1002, 2, 31, 31));
    /* No names files: the built-in lists. */
    assert_string_equal(ds->class_names[19], "cattle");
    assert_string_equal(ds->class_names[0], "apple");
    assert_string_equal(ds->class_names[99], "worm");
    assert_int_equal(ds->coarse_classes, 20);
    assert_string_equal(ds->coarse_names[11], "large_omnivores_and_herbivores");
    assert_int_equal(ds->fine_to_coarse[19], 11); /* cattle, unseen in these records: the table */
    for (long r = 0; r < 7; r++)
        assert_int_equal(ds->fine_to_coarse[fine_of(r)], names_cifar100_fine_to_coarse[fine_of(r)]);
    data_destroy(ds);
}

static void cifar100_coarse_labels(void **state)
{
    (void)state;
    make_cifar100(test_dir, 5, 4);
    dataset *ds = open_dir(test_dir, 1, 0, 0);
    assert_int_equal(ds->classes, 20);
    assert_int_equal(ds->coarse, 1);
    for (long r = 0; r < 5; r++)
        assert_int_equal(ds->train_y[r], names_cifar100_fine_to_coarse[fine_of(r)]);
    for (long r = 0; r < 4; r++)
        assert_int_equal(ds->test_y[r], names_cifar100_fine_to_coarse[fine_of(1000 + r)]);
    assert_string_equal(ds->class_names[17], "trees");
    assert_string_equal(ds->class_names[0], "aquatic_mammals");
    data_destroy(ds);
}

static void cifar100_names_from_its_files(void **state)
{
    (void)state;
    make_cifar100(test_dir, 2, 2);
    char text[2000] = "";
    for (int i = 0; i < 100; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "fine%d\r\n", i);
    strcat(text, "\n\n"); /* blank lines at the end are fine */
    write_text(at("fine_label_names.txt"), text);
    dataset *ds = open_dir(test_dir, 0, 0, 0);
    assert_string_equal(ds->class_names[42], "fine42");
    assert_string_equal(ds->class_names[99], "fine99");
    data_destroy(ds);
}

/* Odd names do not refuse the data set: they are escaped as ls shows odd file names, and a long one is cut
 * with an ellipsis, so every name is printable UTF-8 of at most 256 bytes. */
static void odd_names_are_escaped_and_cut(void **state)
{
    (void)state;
    make_cifar100(test_dir, 2, 2);
    char text[4000] = "";
    for (int i = 0; i < 100; i++) {
        const char *odd = i == 9 ? "x\033[2Jy" : i == 10 ? "caf\xff" : i == 11 ? "tab\there" : i == 12 ? "a\\b" : NULL;
        if (odd)
            snprintf(text + strlen(text), sizeof text - strlen(text), "%s\n", odd);
        else if (i == 13) {
            size_t at = strlen(text);
            memset(text + at, 'w', 300);
            strcpy(text + at + 300, "\n");
        } else
            snprintf(text + strlen(text), sizeof text - strlen(text), "fine%d\n", i);
    }
    write_text(at("fine_label_names.txt"), text);
    dataset *ds = open_dir(test_dir, 0, 0, 0);
    assert_string_equal(ds->class_names[9], "x\\e[2Jy");
    assert_string_equal(ds->class_names[10], "caf\\xff");
    assert_string_equal(ds->class_names[11], "tab\\there");
    assert_string_equal(ds->class_names[12], "a\\\\b");
    const char *cut = ds->class_names[13];
    assert_int_equal(strlen(cut), VT_MAX_LABEL);
    assert_string_equal(cut + strlen(cut) - 3, "\xe2\x80\xa6");
    assert_int_equal(strspn(cut, "w"), VT_MAX_LABEL - 3);
    char why[128];
    for (int i = 0; i < 100; i++)
        assert_int_equal(vt_check_label(ds->class_names[i], why, sizeof why), 0);
    data_destroy(ds);
    /* The cut never splits a character, nor an escape. */
    char e[260];
    for (int k = 0; k < 260; k += 2)
        e[k] = (char)0xc3, e[k + 1] = (char)0xa9; /* 130 times U+00E9 */
    char *s = vt_label_escape(e, sizeof e);
    assert_non_null(s);
    assert_int_equal(vt_check_label(s, why, sizeof why), 0);
    assert_int_equal(strlen(s), 2 * 126 + 3); /* 126 characters of 2 bytes and the ellipsis */
    free(s);
    char ff[200];
    memset(ff, 0xff, sizeof ff);
    s = vt_label_escape(ff, sizeof ff); /* 4 bytes an escape: 63 of them, then the ellipsis */
    assert_int_equal(strlen(s), 4 * 63 + 3);
    assert_int_equal(vt_check_label(s, why, sizeof why), 0);
    free(s);
}

static void cifar100_limits_take_the_first(void **state)
{
    (void)state;
    make_cifar100(test_dir, 9, 6);
    data_options opt = {.path = test_dir, .limit_train = 4, .limit_test = 100};
    dataset *ds;
    vt_err err;
    assert_int_equal(data_open(&opt, &ds, &err), VT_OK);
    assert_int_equal(ds->n_train, 4);
    assert_int_equal(ds->n_train_file, 9);
    assert_int_equal(ds->n_test, 6); /* a limit above the size takes all */
    assert_int_equal(ds->train_y[3], fine_of(3));
    assert_int_equal(ds->train_x[(3 * 1024 + 40) * 3], pixel(3, 0, 1, 8));
    data_destroy(ds);
}

static void cifar100_resized_at_load_time(void **state)
{
    (void)state;
    make_cifar100(test_dir, 3, 2);
    dataset *ds = open_dir(test_dir, 0, 48, 32);
    assert_int_equal(ds->height, 48);
    assert_int_equal(ds->width, 48);
    assert_int_equal(ds->orig_height, 32);
    assert_int_equal(ds->orig_width, 32);
    /* Each stored image is the resize of the interleaved record (the resize itself is checked against
     * OpenCV in test_data_resize). */
    uint8_t native[32 * 32 * 3], want[48 * 48 * 3];
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++)
            for (int ch = 0; ch < 3; ch++)
                native[(y * 32 + x) * 3 + ch] = pixel(1001, ch, y, x);
    assert_int_equal(image_resize_bicubic(native, 32, 32, 3, want, 48, 48), 0);
    assert_memory_equal(ds->test_x + sizeof want, want, sizeof want);
    data_destroy(ds);
}

/* The fingerprint tells two sets of one size apart by a pixel of the last test image, and is the same for
 * one set opened at another --resize or --limit-train (what Samples and a resumed run open it with). */
static void fingerprint_tells_sets_apart(void **state)
{
    (void)state;
    make_cifar100(test_dir, 6, 4);
    dataset *ds = open_dir(test_dir, 0, 0, 1);
    uint64_t print = ds->fingerprint;
    data_destroy(ds);
    ds = open_dir(test_dir, 0, 48, 32);
    assert_true(ds->fingerprint == print);
    data_destroy(ds);
    data_options opt = {.path = test_dir, .limit_train = 2, .min_size = 1};
    vt_err err;
    assert_int_equal(data_open(&opt, &ds, &err), VT_OK);
    assert_true(ds->fingerprint == print);
    data_destroy(ds);
    ds = open_dir(test_dir, 1, 0, 1); /* coarse labels: another view */
    assert_true(ds->fingerprint != print);
    data_destroy(ds);
    /* One byte of the last test image's last pixel. */
    char path[1024];
    snprintf(path, sizeof path, "%s/test.bin", test_dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 4 * 3074 - 1, SEEK_SET), 0);
    int c = fgetc(f);
    assert_int_equal(fseek(f, 4 * 3074 - 1, SEEK_SET), 0);
    fputc(c ^ 1, f);
    fclose(f);
    ds = open_dir(test_dir, 0, 0, 1);
    assert_true(ds->fingerprint != print);
    data_destroy(ds);
}

static void cifar10_batches_and_meta_names(void **state)
{
    (void)state;
    make_cifar10(test_dir, 3, 4);
    write_text(at("batches.meta.txt"), "a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\n\n");
    dataset *ds = open_dir(test_dir, 0, 0, 0);
    assert_string_equal(ds->name, "CIFAR-10");
    assert_int_equal(ds->format, DATA_CIFAR10);
    assert_int_equal(ds->classes, 10);
    assert_int_equal(ds->n_train, 15);
    assert_int_equal(ds->n_test, 4);
    for (long r = 0; r < 15; r++) {
        assert_int_equal(ds->train_y[r], r % 10);
        assert_int_equal(ds->train_x[((r * 32 + 7) * 32 + 9) * 3 + 1], pixel(r, 1, 7, 9));
    }
    assert_string_equal(ds->class_names[3], "a3");
    assert_null(ds->fine_to_coarse);
    assert_non_null(strstr(ds->notice, "cifar-100-binary.tar.gz"));
    data_destroy(ds);
    /* Without the meta file: the built-in names. A limit spans batches. */
    unlink(at("batches.meta.txt"));
    data_options opt = {.path = test_dir, .limit_train = 5};
    vt_err err;
    assert_int_equal(data_open(&opt, &ds, &err), VT_OK);
    assert_string_equal(ds->class_names[3], "cat");
    assert_int_equal(ds->n_train, 5);
    assert_int_equal(ds->train_y[4], 4);
    assert_int_equal(ds->train_x[(4 * 1024) * 3], pixel(4, 0, 0, 0));
    data_destroy(ds);
}

static void idx_raw_and_gzip_fashion_names_and_upscale(void **state)
{
    (void)state;
    mkdir_at("Fashion-raw");
    mkdir_at("fashion-gz");
    make_idx(at("Fashion-raw"), 6, 3, 10, 0);
    make_idx(at("fashion-gz"), 6, 3, 10, 1);
    dataset *a = open_dir(at("Fashion-raw"), 0, 0, 0), *b = open_dir(at("fashion-gz"), 0, 0, 32);
    assert_string_equal(a->name, "Fashion-MNIST");
    assert_int_equal(a->format, DATA_IDX);
    assert_int_equal(a->channels, 1);
    assert_int_equal(a->height, 28);
    assert_int_equal(a->n_train, 6);
    assert_int_equal(a->n_test, 3);
    assert_string_equal(a->class_names[9], "Ankle boot");
    assert_string_equal(a->class_names[0], "T-shirt/top");
    for (long r = 0; r < 6; r++) {
        assert_int_equal(a->train_y[r], r % 10);
        assert_int_equal(a->train_x[(r * 28 + 27) * 28 + 13], pixel(r, 0, 27, 13));
    }
    assert_int_equal(a->test_y[1], 501 % 10);
    /* The gzip copy, upscaled to a model's 32x32 minimum, and the notice says so. */
    assert_int_equal(b->height, 32);
    assert_int_equal(b->width, 32);
    assert_int_equal(b->orig_height, 28);
    assert_non_null(strstr(b->notice, "upscaled from 28x28 to 32x32"));
    assert_non_null(strstr(b->notice, "not CIFAR-100"));
    uint8_t want[32 * 32];
    assert_int_equal(image_resize_bicubic(a->train_x + 5 * 784, 28, 28, 1, want, 32, 32), 0);
    assert_memory_equal(b->train_x + 5 * 1024, want, sizeof want);
    data_destroy(a);
    data_destroy(b);
    /* A VGG's default 48x48 on 28x28 images: still said, since the model could not take them as they are. */
    dataset *c = open_dir(at("fashion-gz"), 0, 48, 32);
    assert_int_equal(c->height, 48);
    assert_non_null(strstr(c->notice, "upscaled from 28x28 to 48x48 (bicubic): the model needs at least 32x32"));
    data_destroy(c);
}

static void idx_unknown_set_counts_its_classes(void **state)
{
    (void)state;
    make_idx(test_dir, 8, 4, 4, 1);
    dataset *ds = open_dir(test_dir, 0, 0, 0);
    assert_string_equal(ds->name, "IDX");
    assert_int_equal(ds->classes, 4);
    assert_string_equal(ds->class_names[3], "3");
    data_destroy(ds);
    /* The first 2 training images show labels 0 and 1 only; the set still has 4 classes. */
    data_options opt = {.path = test_dir, .limit_train = 2};
    vt_err err;
    assert_int_equal(data_open(&opt, &ds, &err), VT_OK);
    assert_int_equal(ds->n_train, 2);
    assert_int_equal(ds->classes, 4);
    data_destroy(ds);
    /* MNIST by its folder name: digits. */
    mkdir_at("mnist");
    make_idx(at("mnist"), 3, 2, 10, 0);
    ds = open_dir(at("mnist"), 0, 0, 0);
    assert_string_equal(ds->name, "MNIST");
    assert_string_equal(ds->class_names[7], "7");
    data_destroy(ds);
}

static void idx_four_dims_hold_channels(void **state)
{
    (void)state;
    const uint32_t n = 2, h = 3, w = 5, c = 3;
    uint8_t img[2 * 3 * 5 * 3], lab[2] = {1, 0};
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (uint8_t)(i * 3);
    uint32_t dims[4] = {n, h, w, c};
    write_idx(at("train-images-idx3-ubyte"), 0x08, 4, dims, img, sizeof img, 0);
    write_idx(at("train-labels-idx1-ubyte"), 0x08, 1, dims, lab, 2, 0);
    write_idx(at("t10k-images-idx3-ubyte"), 0x08, 4, dims, img, sizeof img, 0);
    write_idx(at("t10k-labels-idx1-ubyte"), 0x08, 1, dims, lab, 2, 0);
    dataset *ds = open_dir(test_dir, 0, 0, 0);
    assert_int_equal(ds->channels, 3);
    assert_int_equal(ds->height, 3);
    assert_int_equal(ds->width, 5);
    assert_memory_equal(ds->train_x, img, sizeof img);
    assert_int_equal(ds->classes, 2);
    data_destroy(ds);
}

/* Debian's dataset-fashion-mnist (installed by make test). Expected values from Python's gzip module on
 * the same files: the first labels, pixel sums, and OpenCV's 28 -> 32 INTER_CUBIC of the first image. */
static void debian_fashion_mnist_package(void **state)
{
    (void)state;
    if (access(DATA_PACKAGE_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0)
        skip();
    data_options opt = {.path = DATA_PACKAGE_DIR, .limit_train = 1000, .limit_test = 10};
    dataset *ds;
    vt_err err;
    assert_int_equal(data_open(&opt, &ds, &err), VT_OK);
    assert_string_equal(ds->name, "Fashion-MNIST");
    assert_int_equal(ds->n_train_file, 60000);
    assert_int_equal(ds->n_test_file, 10000);
    const int train10[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, test10[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    for (int i = 0; i < 10; i++) {
        assert_int_equal(ds->train_y[i], train10[i]);
        assert_int_equal(ds->test_y[i], test10[i]);
    }
    long sum0 = 0, sum1 = 0, tsum0 = 0;
    for (int p = 0; p < 784; p++) {
        sum0 += ds->train_x[p];
        sum1 += ds->train_x[784 + p];
        tsum0 += ds->test_x[p];
    }
    assert_int_equal(sum0, 76247);
    assert_int_equal(sum1, 84598);
    assert_int_equal(tsum0, 33456);
    assert_int_equal(ds->train_x[14 * 28 + 14], 217);
    float mean[4], std[4];
    data_channel_stats(ds, mean, std); /* numpy: x[:1000] / 255, mean and std */
    assert_float_equal(mean[0], 0.28290317627050826, 1e-6);
    assert_float_equal(std[0], 0.35307930282808875, 1e-6);
    data_destroy(ds);
    opt.min_size = 32;
    opt.limit_train = 600; /* enough images for the resize to use more than one thread */
    assert_int_equal(data_open(&opt, &ds, &err), VT_OK);
    const uint8_t row16[10] = {0, 0, 0, 61, 250, 227, 218, 222, 223, 221}; /* cv2 row 16, columns 10..19 */
    for (int x = 0; x < 10; x++)
        assert_in_range(ds->train_x[16 * 32 + 10 + x], row16[x] > 0 ? row16[x] - 1 : 0, row16[x] + 1);
    data_destroy(ds);
}

/* ---- where the data set comes from ------------------------------------------------------------------- */

static void locate_order_flag_env_default_package(void **state)
{
    (void)state;
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    mkdir_at("flag");
    mkdir_at("env");
    assert_int_equal(chdir(test_dir), 0);
    data_options opt = {.path = at("flag")};
    char dir[4096];
    data_source src;
    vt_err err;
    assert_int_equal(data_locate(&opt, dir, sizeof dir, &src, &err), VT_OK);
    assert_int_equal(src, DATA_FROM_FLAG);
    assert_string_equal(dir, at("flag"));
    setenv("VGGTOP_DATA", at("env"), 1);
    assert_int_equal(data_locate(&opt, dir, sizeof dir, &src, &err), VT_OK);
    assert_int_equal(src, DATA_FROM_FLAG); /* the flag wins */
    opt.path = NULL;
    assert_int_equal(data_locate(&opt, dir, sizeof dir, &src, &err), VT_OK);
    assert_int_equal(src, DATA_FROM_ENV);
    assert_string_equal(dir, at("env"));
    setenv("VGGTOP_DATA", at("nowhere"), 1);
    assert_int_equal(data_locate(&opt, dir, sizeof dir, &src, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "$VGGTOP_DATA"));
    assert_non_null(strstr(err.msg, "nowhere"));
    unsetenv("VGGTOP_DATA");
    /* No ./data/cifar-100-binary here: Debian's package, if installed. */
    int has_package = access(DATA_PACKAGE_DIR, F_OK) == 0;
    int rc = data_locate(&opt, dir, sizeof dir, &src, &err);
    if (has_package) {
        assert_int_equal(rc, VT_OK);
        assert_int_equal(src, DATA_FROM_PACKAGE);
        assert_string_equal(dir, DATA_PACKAGE_DIR);
    } else {
        assert_int_equal(rc, VT_EUSAGE);
        assert_non_null(strstr(err.msg, "dataset-fashion-mnist"));
    }
    /* ./data/cifar-100-binary beats the package, and loads as CIFAR-100. */
    mkdir_at("data");
    mkdir_at("data/cifar-100-binary");
    make_cifar100(at("data/cifar-100-binary"), 2, 1);
    assert_int_equal(data_locate(&opt, dir, sizeof dir, &src, &err), VT_OK);
    assert_int_equal(src, DATA_FROM_DEFAULT_DIR);
    assert_string_equal(dir, DATA_DEFAULT_DIR);
    dataset *ds;
    assert_int_equal(data_open(&opt, &ds, &err), VT_OK);
    assert_string_equal(ds->name, "CIFAR-100");
    assert_int_equal(ds->source, DATA_FROM_DEFAULT_DIR);
    data_destroy(ds);
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(data_source_name(DATA_FROM_ENV), "$VGGTOP_DATA");
}

static void parent_folder_stands_for_the_unpacked_archive(void **state)
{
    (void)state;
    mkdir_at("cifar-100-binary");
    make_cifar100(at("cifar-100-binary"), 2, 2);
    dataset *ds = open_dir(test_dir, 0, 0, 0);
    assert_string_equal(ds->name, "CIFAR-100");
    assert_string_equal(ds->path, at("cifar-100-binary"));
    assert_string_equal(data_format_name(ds->format), "CIFAR-100 binary");
    data_destroy(ds);
    /* Two data sets below: which one is meant is not clear, so neither is taken. */
    mkdir_at("cifar-10-batches-bin");
    make_cifar10(at("cifar-10-batches-bin"), 1, 1);
    expect_dir_failure(test_dir, "no data set here", NULL);
}

/* ---- bad input: one line naming the file, VT_EUSAGE, nothing half-made ------------------------------- */

static void bad_directory(void **state)
{
    (void)state;
    expect_dir_failure(at("missing"), "--data", "missing");
    write_text(at("plain"), "x");
    expect_dir_failure(at("plain"), "not a directory", NULL);
    mkdir_at("empty");
    expect_dir_failure(at("empty"), "no data set here", "empty");
}

static void bad_cifar_sizes(void **state)
{
    (void)state;
    make_cifar100(test_dir, 3, 2);
    /* truncated: a record count that is not whole */
    assert_int_equal(truncate(at("train.bin"), 3 * 3074 - 100), 0);
    expect_dir_failure(test_dir, "train.bin", "not a whole number");
    /* empty */
    assert_int_equal(truncate(at("train.bin"), 0), 0);
    expect_dir_failure(test_dir, "train.bin", "empty");
    /* oversized: more records than CIFAR-100's test.bin has (a sparse file: nothing is read) */
    make_cifar100(test_dir, 3, 2);
    assert_int_equal(truncate(at("test.bin"), 10001L * 3074), 0);
    expect_dir_failure(test_dir, "test.bin", "more than the 10000");
    /* unreadable: not a regular file */
    unlink(at("test.bin"));
    mkdir_at("test.bin");
    expect_dir_failure(test_dir, "test.bin", "not a regular file");
    /* unreadable: no permission (root reads anything, so only as another user) */
    if (geteuid() != 0) {
        rmdir(at("test.bin"));
        make_cifar100(test_dir, 3, 2);
        assert_int_equal(chmod(at("train.bin"), 0), 0);
        expect_dir_failure(test_dir, "train.bin", "Permission denied");
    }
}

static void bad_cifar_labels(void **state)
{
    (void)state;
    make_cifar100(test_dir, 4, 2);
    FILE *f = fopen(at("train.bin"), "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 2 * 3074 + 1, SEEK_SET), 0); /* record 2's fine label */
    fputc(100, f);
    fclose(f);
    expect_dir_failure(test_dir, "train.bin", "record 2: fine label 100 is out of range 0..99");
    make_cifar100(test_dir, 4, 2);
    f = fopen(at("test.bin"), "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 3074, SEEK_SET), 0); /* record 1's coarse label */
    fputc(20, f);
    fclose(f);
    expect_dir_failure(test_dir, "test.bin", "coarse label 20 is out of range 0..19");
    /* A fine class under two superclasses: the coarse labels disagree with the fine ones. */
    make_cifar100(test_dir, 4, 2);
    f = fopen(at("test.bin"), "r+b");
    assert_non_null(f);
    uint8_t two[2] = {(uint8_t)((names_cifar100_fine_to_coarse[fine_of(2)] + 1) % 20), (uint8_t)fine_of(2)};
    assert_int_equal(fseek(f, 3074, SEEK_SET), 0);
    fwrite(two, 1, 2, f);
    fclose(f);
    expect_dir_failure(test_dir, "test.bin", "superclass");
    /* CIFAR-10: label 10 */
    char dir10[512];
    snprintf(dir10, sizeof dir10, "%s", at("c10"));
    mkdir_at("c10");
    make_cifar10(dir10, 2, 2);
    f = fopen(at("c10/data_batch_4.bin"), "r+b");
    assert_non_null(f);
    fputc(10, f);
    fclose(f);
    expect_dir_failure(dir10, "data_batch_4.bin", "label 10 is out of range 0..9");
    /* CIFAR-10: a batch missing */
    make_cifar10(dir10, 2, 2);
    unlink(at("c10/data_batch_3.bin"));
    expect_dir_failure(dir10, "data_batch_3.bin", "cannot open");
}

static void bad_names_files(void **state)
{
    (void)state;
    make_cifar100(test_dir, 2, 2);
    write_text(at("coarse_label_names.txt"), "a\nb\nc\n");
    expect_dir_failure(test_dir, "coarse_label_names.txt", "3 class names, but the images have 20 classes");
    unlink(at("coarse_label_names.txt"));
    char text[2000] = "";
    for (int i = 0; i < 100; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s%d\n", i == 50 ? "\n" : "", i);
    write_text(at("fine_label_names.txt"), text);
    expect_dir_failure(test_dir, "fine_label_names.txt", "blank line");
    write_file(at("fine_label_names.txt"), "a\0b\n", 4);
    expect_dir_failure(test_dir, "fine_label_names.txt", "NUL");
    char *big = malloc(70000);
    assert_non_null(big);
    memset(big, 'x', 70000);
    write_file(at("fine_label_names.txt"), big, 70000);
    free(big);
    expect_dir_failure(test_dir, "fine_label_names.txt", "too large");
    unlink(at("fine_label_names.txt"));
    mkdir_at("fine_label_names.txt");
    expect_dir_failure(test_dir, "fine_label_names.txt", "not a regular file");
}

static void bad_idx_headers(void **state)
{
    (void)state;
    make_idx(test_dir, 4, 2, 10, 0);
    uint32_t dims[3] = {4, 28, 28};
    uint8_t zeros[4 * 28 * 28] = {0};
    /* wrong magic */
    write_file(at("train-images-idx3-ubyte"), "\x1f\x00\x08\x03", 4);
    expect_dir_failure(test_dir, "train-images-idx3-ubyte", "not an IDX file");
    /* wrong dimension count: images with 2 */
    write_idx(at("train-images-idx3-ubyte"), 0x08, 2, dims, zeros, 4 * 28, 0);
    expect_dir_failure(test_dir, "train-images-idx3-ubyte", "2 dimensions, expected 3");
    /* labels with 3 */
    make_idx(test_dir, 4, 2, 10, 0);
    write_idx(at("t10k-labels-idx1-ubyte"), 0x08, 3, dims, zeros, sizeof zeros, 0);
    expect_dir_failure(test_dir, "t10k-labels-idx1-ubyte", "3 dimensions, expected 1");
    /* wrong element type (0x0D: float) */
    make_idx(test_dir, 4, 2, 10, 0);
    write_idx(at("train-images-idx3-ubyte"), 0x0D, 3, dims, zeros, sizeof zeros, 0);
    expect_dir_failure(test_dir, "train-images-idx3-ubyte", "element type 0x0d");
    /* a header promising no images */
    uint32_t none[3] = {0, 28, 28};
    write_idx(at("train-images-idx3-ubyte"), 0x08, 3, none, NULL, 0, 0);
    expect_dir_failure(test_dir, "train-images-idx3-ubyte", "holds no images");
    /* a header promising more than 2 GiB: refused before allocating */
    uint32_t huge[3] = {9000000, 4000, 4000};
    write_idx(at("train-images-idx3-ubyte"), 0x08, 3, huge, zeros, 16, 0);
    expect_dir_failure(test_dir, "train-images-idx3-ubyte", "more than 2 GiB");
    uint32_t zero_side[3] = {4, 0, 28};
    write_idx(at("train-images-idx3-ubyte"), 0x08, 3, zero_side, zeros, 16, 0);
    expect_dir_failure(test_dir, "train-images-idx3-ubyte", "dimension 2 is 0");
    /* empty */
    write_file(at("train-images-idx3-ubyte"), "", 0);
    expect_dir_failure(test_dir, "train-images-idx3-ubyte", "empty");
    /* a labels file missing */
    make_idx(test_dir, 4, 2, 10, 0);
    unlink(at("t10k-labels-idx1-ubyte"));
    expect_dir_failure(test_dir, "t10k-labels-idx1-ubyte", "missing");
}

static void bad_idx_data(void **state)
{
    (void)state;
    /* labels that disagree with the images: 4 images, 3 labels */
    make_idx(test_dir, 4, 2, 10, 0);
    uint32_t three[1] = {3};
    uint8_t lab[3] = {0, 1, 2};
    write_idx(at("train-labels-idx1-ubyte"), 0x08, 1, three, lab, 3, 0);
    expect_dir_failure(test_dir, "train-labels-idx1-ubyte", "3 labels, but");
    /* truncated: the header says 4 images, the file holds 3.5 */
    make_idx(test_dir, 4, 2, 10, 0);
    assert_int_equal(truncate(at("train-images-idx3-ubyte"), 16 + 784 * 3 + 392), 0);
    expect_dir_failure(test_dir, "train-images-idx3-ubyte", "truncated");
    /* oversized: bytes past what the header says */
    make_idx(test_dir, 4, 2, 10, 0);
    FILE *f = fopen(at("t10k-images-idx3-ubyte"), "ab");
    assert_non_null(f);
    fputs("extra", f);
    fclose(f);
    expect_dir_failure(test_dir, "t10k-images-idx3-ubyte", "longer than its header says");
    /* labels out of range for Fashion-MNIST's 10 classes */
    mkdir_at("fashion");
    make_idx(at("fashion"), 4, 2, 10, 1);
    uint32_t four[1] = {4};
    uint8_t bad[4] = {1, 2, 10, 3};
    write_idx(at("fashion/train-labels-idx1-ubyte.gz"), 0x08, 1, four, bad, 4, 1);
    expect_dir_failure(at("fashion"), "train-labels-idx1-ubyte.gz", "label 10 of image 2 is out of range 0..9");
    /* an unknown IDX set: test labels beyond the training ones */
    make_idx(test_dir, 4, 2, 3, 0);
    uint32_t two[1] = {2};
    uint8_t hi[2] = {0, 5};
    write_idx(at("t10k-labels-idx1-ubyte"), 0x08, 1, two, hi, 2, 0);
    expect_dir_failure(test_dir, "t10k-labels-idx1-ubyte", "label 5 of image 1 is out of range 0..2");
    /* test images of another size than the training images */
    make_idx(test_dir, 4, 2, 3, 0);
    make_idx_split(test_dir, "t10k", 0, 2, 20, 28, 3, 0);
    expect_dir_failure(test_dir, "test images are 20x28x1", NULL);
}

static void bad_gzip_streams(void **state)
{
    (void)state;
    make_idx(test_dir, 40, 2, 10, 1);
    char *gz;
    size_t len;
    vt_err err;
    assert_int_equal(vt_read_file(at("train-images-idx3-ubyte.gz"), 0, &gz, &len, &err), VT_OK);
    assert_true(len > 200);
    /* corrupt: bytes changed inside the deflate stream */
    char *bad = malloc(len);
    assert_non_null(bad);
    memcpy(bad, gz, len);
    for (size_t i = len / 2; i < len / 2 + 16; i++)
        bad[i] = (char)(bad[i] ^ 0x5a);
    write_file(at("train-images-idx3-ubyte.gz"), bad, len);
    expect_dir_failure(test_dir, "train-images-idx3-ubyte.gz", "gzip");
    /* a bad CRC in the trailer only */
    memcpy(bad, gz, len);
    bad[len - 6] = (char)(bad[len - 6] ^ 1);
    write_file(at("train-images-idx3-ubyte.gz"), bad, len);
    expect_dir_failure(test_dir, "train-images-idx3-ubyte.gz", "gzip");
    /* truncated: the stream cut short */
    write_file(at("train-images-idx3-ubyte.gz"), gz, len - 40);
    expect_dir_failure(test_dir, "train-images-idx3-ubyte.gz", NULL);
    /* a tiny gzip file whose header promises 784 MB: refused before allocating */
    uint32_t many[3] = {1000000, 28, 28};
    write_idx(at("train-images-idx3-ubyte.gz"), 0x08, 3, many, (const uint8_t *)"0123456789abcdef", 16, 1);
    write_idx(at("train-labels-idx1-ubyte.gz"), 0x08, 1, many, (const uint8_t *)"0123", 4, 1);
    expect_dir_failure(test_dir, "train-images-idx3-ubyte.gz", "compressed bytes can hold");
    /* not gzip at all under a .gz name: read as it is, so its header is judged */
    write_text(at("train-images-idx3-ubyte.gz"), "PK\3\4 a zip file");
    expect_dir_failure(test_dir, "train-images-idx3-ubyte.gz", "not an IDX file");
    free(bad);
    free(gz);
}

static void bad_options(void **state)
{
    (void)state;
    make_idx(test_dir, 4, 2, 10, 0);
    data_options opt = {.path = test_dir, .coarse = 1};
    expect_failure(&opt, "--labels coarse", "only CIFAR-100");
    data_options small = {.path = test_dir, .resize = 16, .min_size = 32};
    expect_failure(&small, "--resize 16", "minimum");
    data_options neg = {.path = test_dir, .limit_test = -1};
    expect_failure(&neg, "--limit-test", NULL);
    /* A set with its own test split takes no held-out or second validation folder (once ignored silently). */
    data_options split = {.path = test_dir, .validation_split = 0.2};
    expect_failure(&split, "--validation-split", "own test set");
    data_options val = {.path = test_dir, .val_path = test_dir};
    expect_failure(&val, "--val-data", "only a folder of class folders");
}

/* ---- names ------------------------------------------------------------------------------------------- */

static void check_asset(const char *file, const char *const *names, int n)
{
    char path[256], *text;
    vt_err err;
    snprintf(path, sizeof path, "assets/%s", file);
    assert_int_equal(vt_read_file(path, 0, &text, NULL, &err), VT_OK);
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    for (int i = 0; i < n; i++) {
        assert_non_null(line);
        assert_string_equal(line, names[i]);
        line = strtok_r(NULL, "\n", &save);
    }
    assert_null(line);
    free(text);
}

static void embedded_names_agree_with_assets(void **state)
{
    (void)state;
    check_asset("cifar100_fine.txt", names_cifar100_fine, 100);
    check_asset("cifar100_coarse.txt", names_cifar100_coarse, 20);
    check_asset("cifar10.txt", names_cifar10, 10);
    check_asset("fashion_mnist.txt", names_fashion_mnist, 10);
}

static int coarse_of(const char *fine)
{
    for (int i = 0; i < 100; i++)
        if (strcmp(names_cifar100_fine[i], fine) == 0)
            return names_cifar100_fine_to_coarse[i];
    return -1;
}

/* The published table: 20 superclasses of 5 classes each (spot checks from the CIFAR page). */
static void fine_to_coarse_is_the_published_table(void **state)
{
    (void)state;
    int count[20] = {0};
    for (int i = 0; i < 100; i++) {
        assert_in_range(names_cifar100_fine_to_coarse[i], 0, 19);
        count[names_cifar100_fine_to_coarse[i]]++;
    }
    for (int k = 0; k < 20; k++)
        assert_int_equal(count[k], 5);
    assert_string_equal(names_cifar100_coarse[coarse_of("cattle")], "large_omnivores_and_herbivores");
    assert_string_equal(names_cifar100_coarse[coarse_of("maple_tree")], "trees");
    assert_string_equal(names_cifar100_coarse[coarse_of("lawn_mower")], "vehicles_2");
    assert_string_equal(names_cifar100_coarse[coarse_of("pickup_truck")], "vehicles_1");
    assert_string_equal(names_cifar100_coarse[coarse_of("whale")], "aquatic_mammals");
    assert_string_equal(names_cifar100_coarse[coarse_of("keyboard")], "household_electrical_devices");
    assert_string_equal(names_cifar100_coarse[coarse_of("worm")], "non-insect_invertebrates");
    assert_string_equal(names_cifar100_coarse[coarse_of("mushroom")], "fruit_and_vegetables");
}

/* ---- shuffle, statistics, batches -------------------------------------------------------------------- */

static void shuffle_is_a_permutation_of_seed_and_epoch(void **state)
{
    (void)state;
    enum { N = 1000 };
    long a[N], b[N], c[N], d[N];
    data_shuffle(a, N, 42, 3);
    data_shuffle(b, N, 42, 3);
    data_shuffle(c, N, 42, 4);
    data_shuffle(d, N, 43, 3);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    assert_memory_not_equal(a, d, sizeof a);
    char seen[N] = {0};
    long fixed = 0;
    for (long i = 0; i < N; i++) {
        assert_in_range(a[i], 0, N - 1);
        assert_int_equal(seen[a[i]], 0);
        seen[a[i]] = 1;
        fixed += a[i] == i;
    }
    assert_true(fixed < 10); /* a random permutation fixes 1 point on average */
    /* Every position sees every value about equally often over many epochs (uniform shuffle). */
    enum { M = 5, EPOCHS = 5000 };
    int hits[M][M] = {{0}};
    long e[M];
    for (int ep = 0; ep < EPOCHS; ep++) {
        data_shuffle(e, M, 7, ep);
        for (int i = 0; i < M; i++)
            hits[i][e[i]]++;
    }
    for (int i = 0; i < M; i++)
        for (int v = 0; v < M; v++)
            assert_in_range(hits[i][v], 850, 1150);
}

/* A hand-made data set: 2 images of 2 x 3 with 2 channels. */
static dataset *tiny_dataset(void)
{
    static uint8_t x[2 * 2 * 3 * 2] = {0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100,
                                       255, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    static int y[2] = {1, 0};
    static dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.height = 2;
    ds.width = 3;
    ds.channels = 2;
    ds.classes = 2;
    ds.n_train = ds.n_test = 2;
    ds.train_x = ds.test_x = x;
    ds.train_y = ds.test_y = y;
    return &ds;
}

static void channel_stats_by_hand(void **state)
{
    (void)state;
    dataset *ds = tiny_dataset();
    float mean[4], std[4];
    data_channel_stats(ds, mean, std);
    /* channel 0: 0 10 30 50 70 90 255 1 3 5 7 9 -> sum 530; channel 1: 255 20 40 60 80 100 0 2 4 6 8 10 -> 585 */
    double m0 = 530.0 / 12 / 255, m1 = 585.0 / 12 / 255;
    double s0 = 0, s1 = 0;
    const double c0[12] = {0, 10, 30, 50, 70, 90, 255, 1, 3, 5, 7, 9};
    const double c1[12] = {255, 20, 40, 60, 80, 100, 0, 2, 4, 6, 8, 10};
    for (int i = 0; i < 12; i++) {
        s0 += (c0[i] / 255 - m0) * (c0[i] / 255 - m0);
        s1 += (c1[i] / 255 - m1) * (c1[i] / 255 - m1);
    }
    assert_float_equal(mean[0], m0, 1e-6);
    assert_float_equal(mean[1], m1, 1e-6);
    assert_float_equal(std[0], sqrt(s0 / 12), 1e-6);
    assert_float_equal(std[1], sqrt(s1 / 12), 1e-6);
}

static void fill_batch_scales_and_standardizes(void **state)
{
    (void)state;
    dataset *ds = tiny_dataset();
    long idx[3] = {1, 0, 1};
    float x[3 * 12];
    int y[3];
    data_fill_batch(ds, DATA_TEST, idx, 3, NULL, x, y);
    assert_int_equal(y[0], 0);
    assert_int_equal(y[1], 1);
    assert_true(x[0] == 1.0f);            /* image 1, pixel 0, channel 0 = 255 */
    assert_true(x[12 + 1] == 1.0f);       /* image 0, channel 1 = 255 */
    assert_true(x[12 + 2] == 10.0f / 255.0f);
    assert_true(x[24 + 11] == 10.0f / 255.0f);
    preprocess pp = {.standardize = 1, .mean = {0.5f, 0.25f}, .std = {0.5f, 2.0f}};
    data_fill_batch(ds, DATA_TRAIN, idx, 1, &pp, x, NULL);
    assert_float_equal(x[0], (1.0 - 0.5) / 0.5, 1e-6);
    assert_float_equal(x[1], (0.0 - 0.25) / 2.0, 1e-6);
    assert_float_equal(x[5], (4.0 / 255 - 0.25) / 2.0, 1e-6);
}

/* Augmentation as documented in data.h: per image, a row offset and a column offset in [0, 8], then a
 * flip bit; out(r, c) = padded(r + dy - 4, (flip ? W-1-c : c) + dx - 4), 0 outside the image. */
static void fill_batch_augments_training_images_only(void **state)
{
    (void)state;
    enum { H = 6, W = 5, C = 1, N = 40 };
    uint8_t img[N * H * W];
    int lab[N];
    for (int i = 0; i < N * H * W; i++)
        img[i] = (uint8_t)(1 + i % 251); /* never 0, so padding is visible */
    for (int i = 0; i < N; i++)
        lab[i] = i % 3;
    dataset ds = {.height = H, .width = W, .channels = C, .classes = 3, .n_train = N, .n_test = N,
                  .train_x = img, .test_x = img, .train_y = lab, .test_y = lab};
    long idx[N];
    for (int i = 0; i < N; i++)
        idx[i] = (i * 7) % N;
    preprocess pp = {.augment = 1, .aug_stream = 99};
    float x[N * H * W];
    data_fill_batch(&ds, DATA_TRAIN, idx, N, &pp, x, NULL);
    int flips = 0, shifted = 0;
    for (int i = 0; i < N; i++) {
        /* image idx[i]'s own generator: the stream mixed with its index, 3 draws */
        vt_rng mirror;
        vt_rng_seed(&mirror, vt_seed_mix(99, (uint64_t)idx[i]));
        int dy = (int)vt_rng_below(&mirror, 9) - 4, dx = (int)vt_rng_below(&mirror, 9) - 4;
        int flip = (int)vt_rng_below(&mirror, 2);
        flips += flip;
        shifted += dy != 0 || dx != 0;
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++) {
                int sy = r + dy, sx = (flip ? W - 1 - c : c) + dx;
                int v = sy >= 0 && sy < H && sx >= 0 && sx < W ? img[(idx[i] * H + sy) * W + sx] : 0;
                assert_true(x[(i * H + r) * W + c] == (float)v / 255.0f);
            }
    }
    assert_in_range(flips, 8, 32);
    assert_true(shifted > 30);
    /* An image's augmentation does not depend on its batch: the same images in another order and split
     * into two batches of other sizes come out the same. */
    long rev[N];
    float y[N * H * W];
    for (int i = 0; i < N; i++)
        rev[i] = idx[N - 1 - i];
    data_fill_batch(&ds, DATA_TRAIN, rev, 13, &pp, y, NULL);
    data_fill_batch(&ds, DATA_TRAIN, rev + 13, N - 13, &pp, y + 13 * H * W, NULL);
    for (int i = 0; i < N; i++)
        assert_memory_equal(y + (size_t)i * H * W, x + (size_t)(N - 1 - i) * H * W, sizeof(float) * H * W);
    /* Another stream (another epoch) augments differently. */
    pp.aug_stream = 100;
    data_fill_batch(&ds, DATA_TRAIN, idx, N, &pp, y, NULL);
    assert_true(memcmp(x, y, sizeof x) != 0);
    /* The test split is never augmented. */
    data_fill_batch(&ds, DATA_TEST, idx, 2, &pp, x, NULL);
    for (int k = 0; k < H * W; k++)
        assert_true(x[k] == (float)img[idx[0] * H * W + k] / 255.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(cifar100_fine_labels_and_hwc_pixels, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(cifar100_coarse_labels, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(odd_names_are_escaped_and_cut, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(cifar100_names_from_its_files, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(cifar100_limits_take_the_first, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(cifar100_resized_at_load_time, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(fingerprint_tells_sets_apart, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(cifar10_batches_and_meta_names, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(idx_raw_and_gzip_fashion_names_and_upscale, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(idx_unknown_set_counts_its_classes, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(idx_four_dims_hold_channels, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(debian_fashion_mnist_package, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(locate_order_flag_env_default_package, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(parent_folder_stands_for_the_unpacked_archive, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(bad_directory, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(bad_cifar_sizes, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(bad_cifar_labels, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(bad_names_files, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(bad_idx_headers, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(bad_idx_data, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(bad_gzip_streams, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(bad_options, setup, test_dir_teardown),
        cmocka_unit_test(embedded_names_agree_with_assets),
        cmocka_unit_test(fine_to_coarse_is_the_published_table),
        cmocka_unit_test(shuffle_is_a_permutation_of_seed_and_epoch),
        cmocka_unit_test(channel_stats_by_hand),
        cmocka_unit_test(fill_batch_scales_and_standardizes),
        cmocka_unit_test(fill_batch_augments_training_images_only),
    };
    return cmocka_run_group_tests_name("data", tests, NULL, NULL);
}
