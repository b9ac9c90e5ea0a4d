/* Unit tests of a folder of class folders as a data set (src/data/folder.c, through data_open): the committed
 * fixture tests/fixtures/data/folder/images (three classes of PNG and JPEG files of odd sizes, one in a
 * sub-folder, and files Keras ignores; made by tests/tools/data_folder_fixture.py) gives OpenCV's
 * imread + resize(INTER_CUBIC) pixels within one grey level, in Keras' order, with the folder names as
 * classes; --validation-split holds out the seed's shuffle's last F; the train/test layout and --val-data give
 * the second folder's images (train/, val/ and test/ together are refused, not read as three classes); the cache is written in the folder, read again, rebuilt when a file changes or
 * the cache is damaged, and written under $XDG_CACHE_HOME when the folder has no room for it; the fingerprint
 * ignores the side, --limit-train and a copy's times but not a renamed file or another split; and an empty
 * class folder, a single class, a file that does not decode, a PNG declaring 100,000 x 100,000 pixels and a
 * folder without validation images are refused with one line naming them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <png.h>

#include "vggtop/data.h"
#include "testing.h"

#define FIXTURE "tests/fixtures/data/folder"
enum { SIDE = 16, N = 9, PER = SIDE * SIDE * 3 };

static uint8_t expected[N][PER]; /* OpenCV's pixels of the fixture's nine images, in Keras' order */
static const int expected_label[N] = {0, 0, 0, 1, 1, 1, 2, 2, 2};

static int load_expected(void **state)
{
    (void)state;
    FILE *f = fopen(FIXTURE "/expected_16.bin", "rb");
    char magic[8];
    int ok = f && fread(magic, 8, 1, f) == 1 && memcmp(magic, "VTFOLD16", 8) == 0 &&
             fread(expected, sizeof expected, 1, f) == 1;
    if (f)
        fclose(f);
    return ok ? test_dir_setup(state) : -1;
}

/* A fresh copy of the fixture's images at test_dir/name; its path in a buffer of the caller's (at()'s are
 * reused after four calls). */
static const char *fresh_copy(const char *name, char dir[256])
{
    snprintf(dir, 256, "%s", at(name));
    sh("rm -rf '%s' && cp -r " FIXTURE "/images '%s'", dir, dir);
    return dir;
}

static data_options folder_options(const char *dir, double split, uint64_t seed)
{
    data_options o = {0};
    o.path = dir;
    o.validation_split = split;
    o.seed = seed;
    o.folder_side = SIDE;
    return o;
}

static dataset *open_ok(const data_options *o)
{
    dataset *ds = NULL;
    vt_err err;
    int rc = data_open(o, &ds, &err);
    if (rc != VT_OK)
        fail_msg("data_open: %s", err.msg);
    return ds;
}

/* The fixture image i has pixels within one grey level of OpenCV's. */
static void assert_image(const uint8_t *got, int i)
{
    for (int p = 0; p < PER; p++)
        if (abs((int)got[p] - (int)expected[i][p]) > 1)
            fail_msg("image %d byte %d: %d, OpenCV %d", i, p, got[p], expected[i][p]);
}

static void refused(const data_options *o, const char *want)
{
    dataset *ds = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(data_open(o, &ds, &err), VT_EUSAGE);
    assert_null(ds);
    if (!strstr(err.msg, want))
        fail_msg("message '%s' lacks '%s'", err.msg, want);
    assert_null(strchr(err.msg, '\n'));
}

static void the_split_is_the_seeds_and_the_pixels_opencvs(void **state)
{
    (void)state;
    char dir[256];
    fresh_copy("split", dir);
    data_options o = folder_options(dir, 0.34, 7);
    dataset *ds = open_ok(&o);
    assert_int_equal(ds->format, DATA_FOLDER);
    assert_string_equal(ds->name, "split");
    /* "split/" and "split/." name it as "split" does (they showed as "split/" and ".", in every header) */
    static const char *const tails[] = {"/", "/.", "//"};
    for (size_t k = 0; k < sizeof tails / sizeof tails[0]; k++) {
        char other[300];
        snprintf(other, sizeof other, "%s%s", dir, tails[k]);
        data_options p = folder_options(other, 0.34, 7);
        dataset *d2 = open_ok(&p);
        assert_string_equal(d2->name, "split");
        data_destroy(d2);
    }
    assert_int_equal(ds->classes, 3);
    assert_string_equal(ds->class_names[0], "ant");
    assert_string_equal(ds->class_names[1], "bee");
    assert_string_equal(ds->class_names[2], "cat");
    assert_int_equal(ds->height, SIDE);
    assert_int_equal(ds->width, SIDE);
    assert_int_equal(ds->channels, 3);
    /* Keras: int(0.34 * 9) = 3 validation images, the last three of the shuffled files. */
    assert_int_equal(ds->n_test, 3);
    assert_int_equal(ds->n_train, 6);
    long order[N];
    data_shuffle(order, N, 7, -1);
    for (long i = 0; i < ds->n_train; i++) {
        assert_int_equal(ds->train_y[i], expected_label[order[i]]);
        assert_image(ds->train_x + i * PER, (int)order[i]);
    }
    for (long i = 0; i < ds->n_test; i++) {
        assert_int_equal(ds->test_y[i], expected_label[order[6 + i]]);
        assert_image(ds->test_x + i * PER, (int)order[6 + i]);
    }
    /* notes.txt and not-really.gif are counted; the hidden file is not a file of the set at all. */
    if (!strstr(ds->notice, "2 other files ignored") || !strstr(ds->notice, "--validation-split 0.34 with seed 7"))
        fail_msg("notice: %s", ds->notice);
    uint64_t print = ds->fingerprint;
    data_destroy(ds);

    /* Another seed holds out other images, and is another data set to a run. */
    o.seed = 8;
    ds = open_ok(&o);
    long other[N];
    data_shuffle(other, N, 8, -1);
    assert_memory_not_equal(order + 6, other + 6, 3 * sizeof(long));
    for (long i = 0; i < ds->n_test; i++)
        assert_image(ds->test_x + i * PER, (int)other[6 + i]);
    assert_true(ds->fingerprint != print);
    data_destroy(ds);

    /* The side and --limit-train change nothing of which set it is. */
    o = folder_options(dir, 0.34, 7);
    o.folder_side = 24;
    o.limit_train = 2;
    ds = open_ok(&o);
    assert_int_equal(ds->height, 24);
    assert_int_equal(ds->n_train, 2);
    assert_int_equal(ds->n_train_file, 6);
    assert_true(ds->fingerprint == print);
    data_destroy(ds);

    /* A copy elsewhere (new times) is the same set; a renamed file is not. */
    sh("cp -r '%s' '%s'", dir, at("split-copy"));
    o = folder_options(at("split-copy"), 0.34, 7);
    ds = open_ok(&o);
    assert_true(ds->fingerprint == print);
    data_destroy(ds);
    sh("mv '%s/bee/b3.png' '%s/bee/b4.png'", at("split-copy"), at("split-copy"));
    ds = open_ok(&o);
    assert_true(ds->fingerprint != print);
    data_destroy(ds);
}

static void a_validation_folder_or_layout_gives_the_test_images(void **state)
{
    (void)state;
    /* DIR/train + DIR/test: all of each, in Keras' order. */
    char dir[256];
    snprintf(dir, sizeof dir, "%s", at("layout"));
    sh("mkdir -p '%s' && cp -r " FIXTURE "/images '%s/train' && cp -r " FIXTURE "/images '%s/test' && rm '%s/test/cat/c1.png'",
       dir, dir, dir, dir);
    data_options o = folder_options(dir, 0, 1);
    dataset *ds = open_ok(&o);
    assert_int_equal(ds->n_train, N);
    assert_int_equal(ds->n_test, N - 1);
    for (long i = 0; i < N; i++) {
        assert_int_equal(ds->train_y[i], expected_label[i]);
        assert_image(ds->train_x + i * PER, (int)i);
    }
    assert_image(ds->test_x + 6 * PER, 7); /* c1 is gone: c2 comes seventh */
    assert_string_equal(ds->name, "layout");
    data_destroy(ds);
    o.validation_split = 0.2;
    refused(&o, "already holds train/ and test/");

    /* --val-data: a second folder of the same classes. */
    char train[512], val[512];
    snprintf(train, sizeof train, "%s/train", dir);
    snprintf(val, sizeof val, "%s/test", dir);
    o = folder_options(train, 0, 1);
    o.val_path = val;
    ds = open_ok(&o);
    assert_int_equal(ds->n_test, N - 1);
    data_destroy(ds);
    o.validation_split = 0.5;
    refused(&o, "give one");

    /* Other classes in the validation folder; no validation images at all. */
    sh("mv '%s/cat' '%s/cow'", val, val);
    o = folder_options(train, 0, 1);
    o.val_path = val;
    refused(&o, "needs the same classes");
    o = folder_options(train, 0, 1);
    refused(&o, "needs validation images");
    o.validation_split = 0.05; /* int(0.05 * 9) = 0 */
    refused(&o, "leaves no validation image");

    /* train/, val/ and test/: not three classes of every image (they were, with --validation-split), but which
     * is which, with or without a flag. */
    sh("cp -r '%s' '%s/val'", val, dir);
    o = folder_options(dir, 0, 1);
    char want[1200];
    snprintf(want, sizeof want, "(--data %s/train --val-data %s/val), not one class each", dir, dir);
    refused(&o, want);
    o.validation_split = 0.3;
    refused(&o, want);
}

static int cache_says(const data_options *o, const char *want)
{
    dataset *ds = open_ok(o);
    int found = strstr(ds->notice, want) != NULL;
    if (!found)
        print_message("notice: %s\n", ds->notice);
    for (long i = 0; i < ds->n_train; i++)
        assert_image(ds->train_x + i * PER, (int)i);
    data_destroy(ds);
    return found;
}

static void the_cache_is_made_once_and_rebuilt_when_the_folder_changes(void **state)
{
    (void)state;
    char dir[256];
    fresh_copy("cache", dir);
    sh("mkdir -p '%s/val' && cp -r " FIXTURE "/images/* '%s/val/'", test_dir, test_dir);
    data_options o = folder_options(dir, 0, 1);
    o.val_path = at("val");
    char cache[600];
    snprintf(cache, sizeof cache, "%s/.vggtop-cache-%d.bin", dir, SIDE);
    assert_true(cache_says(&o, "decoded and cached in"));
    struct stat st;
    assert_int_equal(stat(cache, &st), 0);
    assert_int_equal(st.st_size, 48 + N * PER); /* a header, then the pixels: compact */
    assert_true(cache_says(&o, "; read from the cache"));

    /* A file rewritten (same name and size, new time) and a damaged cache are both decoded again. */
    sh("touch -d '2001-01-01' '%s/bee/b1.PNG'", dir);
    assert_true(cache_says(&o, "; decoded and cached in"));
    assert_true(cache_says(&o, "; read from the cache"));
    sh("printf 'X' | dd of='%s' bs=1 seek=100 conv=notrunc status=none", cache);
    assert_true(cache_says(&o, "; decoded and cached in"));

    /* No room in the folder (a directory where the cache file would go): the user's cache directory. */
    sh("rm -f '%s' && mkdir '%s' && mkdir -p '%s'", cache, cache, at("xdg"));
    setenv("XDG_CACHE_HOME", at("xdg"), 1);
    assert_true(cache_says(&o, "cached in"));
    sh("ls '%s/vggtop/' | grep -q '^folder-[0-9a-f]*-16.bin$'", at("xdg"));
    assert_true(cache_says(&o, "; read from the cache"));
    unsetenv("XDG_CACHE_HOME");
}

/* A PNG header declaring w x h RGB pixels, then the start of an image chunk (where libpng's header reading
 * stops), and nothing more. */
static void write_png_header(const char *path, unsigned w, unsigned h)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    static const unsigned char zeros[8] = {0};
    png_write_chunk(png, (png_const_bytep) "IDAT", zeros, sizeof zeros);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static void hostile_folders_are_refused_naming_what_is_wrong(void **state)
{
    (void)state;
    char dir[256];
    fresh_copy("hostile", dir);
    data_options o = folder_options(dir, 0.3, 1);
    char want[600];

    sh("mkdir '%s/dog'", dir);
    snprintf(want, sizeof want, "%s/dog: a class folder without a PNG or JPEG file", dir);
    refused(&o, want);
    sh("echo text > '%s/dog/readme.txt'", dir);
    refused(&o, want);
    sh("rm -r '%s/dog'", dir);

    sh("printf 'not a png' > '%s/bee/broken.png'", dir);
    snprintf(want, sizeof want, "%s/bee/broken.png: not a PNG or JPEG image", dir);
    refused(&o, want);
    sh("rm '%s/bee/broken.png' && head -c 300 '%s/ant/a2.jpg' > '%s/ant/a0.jpg'", dir, dir, dir);
    snprintf(want, sizeof want, "%s/ant/a0.jpg: ", dir);
    refused(&o, want);
    sh("rm '%s/ant/a0.jpg'", dir);

    char huge[512];
    snprintf(huge, sizeof huge, "%s/cat/huge.png", dir);
    write_png_header(huge, 100000, 100000);
    snprintf(want, sizeof want, "%s: 100000x100000 pixels, more than", huge);
    refused(&o, want);
    sh("rm '%s'", huge);

    /* Nothing was cached from the refused attempts; the folder itself still opens. */
    snprintf(want, sizeof want, "%s/.vggtop-cache-%d.bin", dir, SIDE);
    assert_int_equal(access(want, F_OK), -1);
    data_destroy(open_ok(&o));

    sh("rm -r '%s/bee' '%s/cat'", dir, dir);
    snprintf(want, sizeof want, "%s: one class folder (ant)", dir);
    refused(&o, want);
    sh("rm -r '%s/ant' && mkdir '%s/empty'", dir, dir);
    o.path = at("hostile/empty");
    refused(&o, "no data set here");
    /* Images without class folders (one class's folder given, or a flat folder): say what layout is needed
     * (it said "no data set here: expected CIFAR-100 ..."). */
    sh("cp " FIXTURE "/images/cat/*.png '%s/empty/'", dir);
    refused(&o, "images with no class folders: put each class's images in a sub-folder named after it");

    /* A class folder this process may not read (root reads everything: nothing to see there). */
    if (geteuid() != 0) {
        fresh_copy("locked", dir);
        o = folder_options(dir, 0.3, 1);
        sh("chmod 000 '%s/bee'", dir);
        snprintf(want, sizeof want, "%s/bee: Permission denied", dir);
        refused(&o, want);
        sh("chmod 755 '%s/bee' && chmod 000 '%s'", dir, dir);
        snprintf(want, sizeof want, "%s: Permission denied", dir);
        refused(&o, want);
        sh("chmod 755 '%s'", dir);
    }
}

static void other_data_sets_are_not_folders(void **state)
{
    (void)state;
    /* A parent of a CIFAR-100 folder still stands for it, not for a folder of one class. */
    sh("mkdir -p '%s' && cp -r tests/fixtures/data/cifar-100-python-as-binary '%s/cifar-100-binary'", at("parent"),
       at("parent"));
    data_options o = {0};
    o.path = at("parent");
    dataset *ds = open_ok(&o);
    assert_int_equal(ds->format, DATA_CIFAR100);
    data_destroy(ds);
    /* data_folder_side: the folder side, else --resize, else 32 or the model's minimum. */
    data_options s = {0};
    assert_int_equal(data_folder_side(&s), 32);
    s.min_size = 40;
    assert_int_equal(data_folder_side(&s), 40);
    s.resize = 48;
    assert_int_equal(data_folder_side(&s), 48);
    s.folder_side = 20;
    assert_int_equal(data_folder_side(&s), 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_split_is_the_seeds_and_the_pixels_opencvs),
        cmocka_unit_test(a_validation_folder_or_layout_gives_the_test_images),
        cmocka_unit_test(the_cache_is_made_once_and_rebuilt_when_the_folder_changes),
        cmocka_unit_test(hostile_folders_are_refused_naming_what_is_wrong),
        cmocka_unit_test(other_data_sets_are_not_folders),
    };
    return cmocka_run_group_tests(tests, load_expected, test_dir_teardown);
}
