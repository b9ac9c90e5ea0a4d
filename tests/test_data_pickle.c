/* Unit tests of the CIFAR-100 python version (src/data/pickle.c and its reader, unpickle.c) and where it is
 * looked for. The fixtures in tests/fixtures/data/ come from tests/tools/cifar100_pickles.py: the Python 2
 * protocol 2 files as cPickle wrote them, the same dicts re-pickled by Python 3 at protocols 3, 4 and 5, the
 * tarball, the same images in the binary version, and train files that must be refused. Every python copy must
 * load equal to the binary one; every bad file, truncation and byte flip must fail with one line, never crash
 * (ASan). */
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

#include "../src/data/data_internal.h"
#include "vggtop/data.h"

#include "testing.h"

#define FIX "tests/fixtures/data"

static char repo[256], home[200];

static int setup(void **state)
{
    (void)state;
    if (test_dir_make("pickle") != 0 || !getcwd(repo, sizeof repo))
        return -1;
    /* No VGGTOP_DATA, and a $HOME of our own: the machine's Keras cache must not count. */
    unsetenv("VGGTOP_DATA");
    snprintf(home, sizeof home, "%s/home", test_dir);
    mkdir(home, 0755);
    setenv("HOME", home, 1);
    return 0;
}

/* Back to the top folder first: some tests work inside test_dir. */
static int teardown(void **state)
{
    if (chdir(repo) != 0)
        return -1;
    return test_dir_teardown(state);
}

static dataset *open_ok(const char *path, int coarse, long limit_train)
{
    data_options o = {.path = path, .coarse = coarse, .limit_train = limit_train};
    dataset *ds = NULL;
    vt_err err;
    vt_err_clear(&err);
    if (data_open(&o, &ds, &err) != VT_OK)
        fail_msg("%s: %s", path, err.msg);
    return ds;
}

static void assert_same_data(const dataset *a, const dataset *b)
{
    assert_int_equal(a->n_train, b->n_train);
    assert_int_equal(a->n_test, b->n_test);
    assert_int_equal(a->classes, b->classes);
    assert_int_equal(a->height, b->height);
    assert_int_equal(a->channels, b->channels);
    size_t image = (size_t)a->height * (size_t)a->width * (size_t)a->channels;
    assert_memory_equal(a->train_x, b->train_x, (size_t)a->n_train * image);
    assert_memory_equal(a->test_x, b->test_x, (size_t)a->n_test * image);
    assert_memory_equal(a->train_y, b->train_y, (size_t)a->n_train * sizeof *a->train_y);
    assert_memory_equal(a->test_y, b->test_y, (size_t)a->n_test * sizeof *a->test_y);
    assert_memory_equal(a->fine_to_coarse, b->fine_to_coarse, 100 * sizeof *a->fine_to_coarse);
    for (int c = 0; c < a->classes; c++)
        assert_string_equal(a->class_names[c], b->class_names[c]);
    for (int c = 0; c < a->coarse_classes; c++)
        assert_string_equal(a->coarse_names[c], b->coarse_names[c]);
}

/* ---- the good copies ------------------------------------------------------------------------------------ */

static void every_python_copy_equals_the_binary_one(void **state)
{
    (void)state;
    static const char *const copies[] = {FIX "/cifar-100-python", FIX "/cifar-100-python-p3",
                                         FIX "/cifar-100-python-p4", FIX "/cifar-100-python-p5",
                                         FIX "/cifar-100-python.tar.gz"};
    for (int coarse = 0; coarse < 2; coarse++) {
        dataset *bin = open_ok(FIX "/cifar-100-python-as-binary", coarse, 0);
        assert_int_equal(bin->format, DATA_CIFAR100);
        assert_int_equal(bin->n_train, 3);
        for (size_t k = 0; k < sizeof copies / sizeof copies[0]; k++) {
            dataset *py = open_ok(copies[k], coarse, 0);
            assert_int_equal(py->format, DATA_CIFAR100_PYTHON);
            assert_string_equal(py->name, "CIFAR-100");
            assert_string_equal(py->notice, "");
            assert_int_equal(py->coarse, coarse);
            assert_same_data(py, bin);
            data_destroy(py);
        }
        data_destroy(bin);
    }
    /* The names come from meta (the built-in list is the same text, so check one against assets too). */
    dataset *py = open_ok(FIX "/cifar-100-python", 0, 0);
    assert_string_equal(py->class_names[0], "apple");
    assert_string_equal(py->class_names[99], "worm");
    assert_string_equal(py->coarse_names[19], "vehicles_2");
    assert_string_equal(data_format_name(py->format), "CIFAR-100 python");
    data_destroy(py);
}

static void limits_and_the_parent_folder(void **state)
{
    (void)state;
    dataset *py = open_ok(FIX "/cifar-100-python", 0, 2);
    dataset *bin = open_ok(FIX "/cifar-100-python-as-binary", 0, 2);
    assert_int_equal(py->n_train, 2);
    assert_int_equal(py->n_train_file, 3);
    assert_same_data(py, bin);
    data_destroy(py);
    data_destroy(bin);
    /* A folder holding only cifar-100-python stands for it (as ~/.keras/datasets does). */
    sh("mkdir -p '%s/keras' && cp -r " FIX "/cifar-100-python '%s/keras/'", test_dir, test_dir);
    char path[256];
    snprintf(path, sizeof path, "%s/keras", test_dir);
    py = open_ok(path, 0, 0);
    assert_int_equal(py->format, DATA_CIFAR100_PYTHON);
    assert_non_null(strstr(py->path, "keras/cifar-100-python"));
    data_destroy(py);
}

/* ---- where it is looked for ------------------------------------------------------------------------------ */

static void locate(const char *want_dir_end, data_source want_source)
{
    char dir[4096];
    data_source src;
    vt_err err;
    vt_err_clear(&err);
    if (data_locate(NULL, dir, sizeof dir, &src, &err) != VT_OK)
        fail_msg("%s", err.msg);
    size_t n = strlen(dir), m = strlen(want_dir_end);
    if (n < m || strcmp(dir + n - m, want_dir_end) != 0)
        fail_msg("found %s, expected ...%s", dir, want_dir_end);
    assert_int_equal(src, want_source);
}

static void search_order_binary_keras_torchvision_tarballs(void **state)
{
    (void)state;
    sh("mkdir -p '%s/work/data' '%s/.keras/datasets'", test_dir, home);
    char work[256];
    snprintf(work, sizeof work, "%s/work", test_dir);
    assert_int_equal(chdir(work), 0);
    /* From the last resort to the first: each new copy wins over the ones before. */
    sh("cp '%s/" FIX "/cifar-100-python.tar.gz' data/", repo);
    locate("./data/cifar-100-python.tar.gz", DATA_FROM_TORCHVISION);
    dataset *ds = open_ok(NULL, 0, 0);
    assert_int_equal(ds->format, DATA_CIFAR100_PYTHON);
    assert_int_equal(ds->source, DATA_FROM_TORCHVISION);
    data_destroy(ds);
    sh("cp '%s/" FIX "/cifar-100-python.tar.gz' '%s/.keras/datasets/'", repo, home);
    locate("/home/.keras/datasets/cifar-100-python.tar.gz", DATA_FROM_KERAS);
    sh("cp -r '%s/" FIX "/cifar-100-python' data/", repo);
    locate("./data/cifar-100-python", DATA_FROM_TORCHVISION);
    sh("cp -r '%s/" FIX "/cifar-100-python-p4' '%s/.keras/datasets/cifar-100-python'", repo, home);
    locate("/home/.keras/datasets/cifar-100-python", DATA_FROM_KERAS);
    ds = open_ok(NULL, 0, 0);
    assert_int_equal(ds->source, DATA_FROM_KERAS);
    assert_string_equal(data_source_name(ds->source), "Keras's cache ~/.keras/datasets");
    data_destroy(ds);
    sh("cp -r '%s/" FIX "/cifar-100-python-as-binary' data/cifar-100-binary", repo);
    locate("./data/cifar-100-binary", DATA_FROM_DEFAULT_DIR);
    /* --data may name the tarball itself. */
    char tar[4200];
    snprintf(tar, sizeof tar, "%s/.keras/datasets/cifar-100-python.tar.gz", home);
    ds = open_ok(tar, 1, 0);
    assert_int_equal(ds->classes, 20);
    data_destroy(ds);
    /* Without $HOME the Keras cache is skipped, not an error. */
    sh("rm -rf data/cifar-100-binary data/cifar-100-python data/cifar-100-python.tar.gz");
    unsetenv("HOME");
    char dir[4096];
    data_source src;
    vt_err err;
    int rc = data_locate(NULL, dir, sizeof dir, &src, &err);
    if (rc == VT_OK)
        assert_int_equal(src, DATA_FROM_PACKAGE); /* Debian's Fashion-MNIST, when installed */
    else
        assert_non_null(strstr(err.msg, "vggtop data --download"));
    setenv("HOME", home, 1);
}

/* ---- bad files ------------------------------------------------------------------------------------------- */

/* Loads a folder holding the good test and meta and `train` as given: must fail with words in one line. */
static void expect_bad_train(const void *train, size_t len, const char *words)
{
    sh("rm -rf '%s/bad' && cp -r '%s/" FIX "/cifar-100-python' '%s/bad'", test_dir, repo, test_dir);
    char path[256];
    snprintf(path, sizeof path, "%s/bad/train", test_dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(train, 1, len, f), len);
    fclose(f);
    snprintf(path, sizeof path, "%s/bad", test_dir);
    data_options o = {.path = path};
    dataset *ds = NULL;
    vt_err err;
    vt_err_clear(&err);
    int rc = data_open(&o, &ds, &err);
    if (rc == VT_OK) {
        data_destroy(ds);
        if (words)
            fail_msg("accepted a train file that should say '%s'", words);
        return;
    }
    assert_null(ds);
    assert_true(err.msg[0] != '\0');
    assert_null(strchr(err.msg, '\n'));
    if (words && !strstr(err.msg, words))
        fail_msg("expected '%s' in: %s", words, err.msg);
}

static void bad_variants_are_refused_with_the_reason(void **state)
{
    (void)state;
    static const struct {
        const char *file, *words;
    } cases[] = {
        {"fine_label_100", "bad/train: record 1: fine label 100 is out of range 0..99"},
        {"coarse_label_20", "record 0: coarse label 20 is out of range 0..19"},
        {"labels_too_few", "'fine_labels' has 2 labels for 3 images"},
        {"label_not_int", "'fine_labels'[1] is a bytes, not an int"},
        {"data_float32", "'data' is not an array of uint8"},
        {"data_wrong_shape", "'data' is not an array of N rows of 3072 bytes"},
        {"data_short", "'data' has 9215 bytes for 3 images of 3072"},
        {"data_is_bytes", "'data' is a bytes, not a numpy array"},
        {"no_data", "no 'data' in the dict"},
        {"not_a_dict", "the pickle holds a list, not CIFAR-100's dict"},
        {"truncated", "(truncated?)"},
        {"no_stop", "the file ends before the pickle's STOP (truncated?)"},
        {"protocol_1", "pickle protocol 1 (2 to 5 are read)"},
        {"protocol_0_text", "byte 2: opcode 0x70 is not one of the data opcodes"},
        {"global_os_system", "byte 2: global 'os.system' is refused"},
        {"stack_global_eval", "global 'builtins.eval' is refused"},
        {"reduce_on_list", "REDUCE calls a list"},
        {"build_on_dict", "BUILD on a dict (only numpy arrays and dtypes are built)"},
        {"newobj", "opcode 0x81 creates objects or reads outside data: refused"},
        {"inst", "opcode 0x69 creates objects"},
        {"persistent_id", "opcode 0x51 creates objects"},
        {"memo_never_stored", "memo key 7 was never stored"},
        {"two_values_at_stop", "STOP with 2 values on the stack, not one"},
        {"setitems_odd", "SETITEMS with an odd number of values"},
        {"ndarray_called", "REDUCE calls numpy.ndarray itself"},
        {"negative_binstring", "a negative string length"},
        {"huge_binbytes8", "runs past the end of the file"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[512], *buf;
        size_t len;
        vt_err err;
        snprintf(path, sizeof path, "%s/" FIX "/pickle-bad/%s", repo, cases[k].file);
        assert_int_equal(vt_read_file(path, 1LL << 30, &buf, &len, &err), VT_OK);
        expect_bad_train(buf, len, cases[k].words);
        free(buf);
    }
    /* A missing meta, and an empty train. */
    sh("rm -rf '%s/nometa' && cp -r '%s/" FIX "/cifar-100-python' '%s/nometa' && rm '%s/nometa/meta'", test_dir, repo,
       test_dir, test_dir);
    char path[256];
    snprintf(path, sizeof path, "%s/nometa", test_dir);
    data_options o = {.path = path};
    dataset *ds;
    vt_err err;
    assert_int_equal(data_open(&o, &ds, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "no data set here"));
    expect_bad_train("", 0, "empty");
}

/* Every prefix of the real-format train file, and byte flips all over it: an error or (rarely, a flip inside
 * pixel data) a load, never a crash or a leak. */
static void truncations_and_flips_never_crash(void **state)
{
    (void)state;
    char path[512], *buf;
    size_t len;
    vt_err err;
    snprintf(path, sizeof path, "%s/" FIX "/cifar-100-python/train", repo);
    assert_int_equal(vt_read_file(path, 1LL << 30, &buf, &len, &err), VT_OK);
    for (size_t cut = 0; cut < len; cut += cut < 400 ? 1 : 97)
        expect_bad_train(buf, cut, cut ? "" : "empty");
    vt_rng rng;
    vt_rng_seed(&rng, 12);
    for (int k = 0; k < 300; k++) {
        size_t at = vt_rng_below(&rng, (uint32_t)len);
        /* Flips land in the opcodes before the pixels (the first ~400 bytes) most of the time. */
        if (k % 4)
            at = vt_rng_below(&rng, 400);
        char old = buf[at];
        buf[at] = (char)vt_rng_below(&rng, 256);
        expect_bad_train(buf, len, NULL);
        buf[at] = old;
    }
    free(buf);
}

/* ---- memory: generated pickles ---------------------------------------------------------------------------- */

/* A pickle buffer the tests write opcode by opcode. */
typedef struct pbuf {
    uint8_t *b;
    size_t n, cap;
} pbuf;

static void put(pbuf *p, const void *bytes, size_t n)
{
    if (p->n + n > p->cap) {
        p->cap = (p->n + n) * 2;
        p->b = realloc(p->b, p->cap);
        assert_non_null(p->b);
    }
    memcpy(p->b + p->n, bytes, n);
    p->n += n;
}

static void put_s(pbuf *p, const char *s) { put(p, s, strlen(s)); }

/* SHORT_BINBYTES of s */
static void put_short_bytes(pbuf *p, const char *s)
{
    uint8_t h[2] = {'C', (uint8_t)strlen(s)};
    put(p, h, 2);
    put_s(p, s);
}

/* A protocol-5 train file of one image, its pixels as _frombuffer(bytes, dtype('u1'), (1, 3072), 'C'), after
 * `pad` throwaway values (NONE, POP): the pad moves the array node onto every growth step of the reader. */
static void frombuffer_pickle(pbuf *p, size_t pad)
{
    p->n = 0;
    put(p, "\x80\x05}", 3);
    for (size_t k = 0; k < pad; k++)
        put_s(p, "N0");
    put_s(p, "(");
    put_short_bytes(p, "data");
    put_s(p, "cnumpy.core.numeric\n_frombuffer\n(");
    uint8_t len[5] = {'B', 0x00, 0x0c, 0, 0}; /* BINBYTES of 3072 */
    put(p, len, 5);
    for (int k = 0; k < 3072; k++)
        put(p, &(uint8_t){(uint8_t)k}, 1);
    put_s(p, "cnumpy\ndtype\n");
    put_short_bytes(p, "u1");
    put(p, "\x85R", 2);                  /* TUPLE1, REDUCE: the dtype */
    put(p, "K\x01M\x00\x0c\x86", 6);     /* (1, 3072) */
    put(p, "\x8c\x01" "C", 3);           /* 'C' */
    put_s(p, "tR");                      /* the four arguments, REDUCE: the array */
    put_short_bytes(p, "fine_labels");
    put(p, "]K\x03" "a", 4);
    put_short_bytes(p, "coarse_labels");
    put(p, "]K\x04" "a", 4);
    put_s(p, "u.");
}

/* The array of _frombuffer is made while its arguments are read: with the reader's value storage growing at
 * that very node, every pad from 0 to 300 must load the one image unchanged (ASan sees any stale pointer). */
static void frombuffer_at_every_growth_step(void **state)
{
    (void)state;
    pbuf p = {0};
    for (size_t pad = 0; pad < 300; pad++) {
        frombuffer_pickle(&p, pad);
        sh("rm -rf '%s/fb' && cp -r '%s/" FIX "/cifar-100-python' '%s/fb'", test_dir, repo, test_dir);
        char path[256];
        snprintf(path, sizeof path, "%s/fb/train", test_dir);
        write_file(path, p.b, p.n);
        snprintf(path, sizeof path, "%s/fb", test_dir);
        dataset *ds = open_ok(path, 0, 0);
        assert_int_equal(ds->n_train, 1);
        assert_int_equal(ds->train_y[0], 3);
        assert_int_equal(ds->train_x[0], 0);     /* red (0, 0) is byte 0 */
        assert_int_equal(ds->train_x[3], 1);     /* red (0, 1) is byte 1 */
        data_destroy(ds);
    }
    free(p.b);
}

/* Values that no CIFAR-100 file holds are refused when they are read, long before the file is done: each
 * NONE is a one-byte opcode that once cost a ~90-byte value; so does a stack of marks, and a list grown by
 * the same value over and over. */
static void values_beyond_a_cifar_file_are_refused_early(void **state)
{
    (void)state;
    static const struct {
        const char *unit, *words;
    } floods[] = {
        {"N0", "more values than a CIFAR-100 file holds"},
        {"(", "a stack deeper than a CIFAR-100 file needs"},
        {"h\x00" "a", "more list and dict items than a CIFAR-100 file holds"},
    };
    pbuf p = {0};
    for (size_t f = 0; f < sizeof floods / sizeof floods[0]; f++) {
        p.n = 0;
        put(&p, "\x80\x02]q\x00", 5); /* a memoized list to append to */
        size_t unit = f == 2 ? 3 : strlen(floods[f].unit);
        for (int k = 0; k < 2000000; k++)
            put(&p, floods[f].unit, unit);
        put_s(&p, ".");
        expect_bad_train(p.b, p.n, floods[f].words);
    }
    free(p.b);
}

/* A tarball member larger than the file it names can be is refused from its header, before it is read: a
 * small .tar.gz of zeros inflates to any size. */
static void tarball_members_bounded_by_their_file(void **state)
{
    (void)state;
    sh("cd '%s' && rm -rf z && mkdir -p z/cifar-100-python && truncate -s 40M z/cifar-100-python/meta && "
       "tar czf cifar-100-python.tar.gz -C z cifar-100-python",
       test_dir);
    char path[256];
    snprintf(path, sizeof path, "%s/cifar-100-python.tar.gz", test_dir);
    data_options o = {.path = path};
    dataset *ds = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(data_open(&o, &ds, &err), VT_EUSAGE);
    if (!strstr(err.msg, "cifar-100-python/meta: larger than"))
        fail_msg("%s", err.msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_python_copy_equals_the_binary_one, setup, teardown),
        cmocka_unit_test_setup_teardown(limits_and_the_parent_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(search_order_binary_keras_torchvision_tarballs, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_variants_are_refused_with_the_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(truncations_and_flips_never_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(frombuffer_at_every_growth_step, setup, teardown),
        cmocka_unit_test_setup_teardown(values_beyond_a_cifar_file_are_refused_early, setup, teardown),
        cmocka_unit_test_setup_teardown(tarball_members_bounded_by_their_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
