/* Unit tests of nn's Keras HDF5 weights (src/nn/keras_h5.c) and of a frozen base: save then load is bit
 * exact; a file of other shapes is refused with one line naming the layer and both shapes and leaves the
 * model as it was, or is loaded in part with NN_H5_SKIP_MISMATCH; NN_H5_BASE_ONLY reads the Conv2D layers
 * alone; files that are not HDF5, truncated, with a non-float kernel or a kernel declared as 2^40 floats
 * (made here with HDF5's own API) are refused; with freeze_base, training steps (plain, momentum, weight
 * decay) leave the base bit for bit as it was while the top trains, and the summary counts the base as
 * non-trainable. The Keras layout itself, against h5py's, is tests/e2e/nn_keras.sh's. */
#include <hdf5.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vggtop/nn.h"

#include "nn_testing.h"
#include "testing.h"

static model_config config(const char *name, int classes, uint64_t seed)
{
    model_config cfg;
    assert_int_equal(model_config_default(&cfg, name, NULL), VT_OK);
    cfg.height = cfg.width = strncmp(name, "vgg", 3) == 0 ? 32 : 8;
    cfg.include_top = strncmp(name, "vgg", 3) != 0; /* the base and a softmax head: keeps the file small */
    cfg.channels = 3;
    cfg.classes = classes;
    cfg.seed = seed;
    return cfg;
}

static model *make(const char *name, int classes, uint64_t seed)
{
    model_config cfg = config(name, classes, seed);
    model *m = NULL;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    return m;
}

static float *copy_params(model *m)
{
    size_t n = (size_t)model_param_count(m);
    float *p = malloc(sizeof(float) * n);
    assert_non_null(p);
    memcpy(p, model_params(m), sizeof(float) * n);
    return p;
}

static void assert_params(model *m, const float *want)
{
    assert_memory_equal(model_params(m), want, sizeof(float) * (size_t)model_param_count(m));
}

static void assert_one_line(const vt_err *err, const char *part)
{
    assert_null(strchr(err->msg, '\n'));
    if (!strstr(err->msg, part))
        fail_msg("'%s' not in '%s'", part, err->msg);
}

static void round_trip_is_bit_exact(void **state)
{
    (void)state;
    static const char *const names[] = {"cnn", "mlp", "vgg16"};
    for (int i = 0; i < 3; i++) {
        model *a = make(names[i], 7, 11), *b = make(names[i], 7, 12);
        const char *path = at("round.h5");
        vt_err err;
        assert_int_equal(keras_h5_save(path, a, &err), VT_OK);
        int loaded = -1;
        assert_int_equal(keras_h5_load(path, b, 0, &loaded, &err), VT_OK);
        assert_int_equal(loaded, names[i][0] == 'm' ? 3 : names[i][0] == 'c' ? 6 : 14);
        float *want = copy_params(a);
        assert_params(b, want);
        free(want);
        model_destroy(a);
        model_destroy(b);
    }
}

static void other_shapes_are_refused_or_skipped(void **state)
{
    (void)state;
    model *ten = make("cnn", 10, 1), *five = make("cnn", 5, 2);
    vt_err err;
    assert_int_equal(keras_h5_save(at("ten.h5"), ten, &err), VT_OK);
    float *before = copy_params(five);
    assert_int_equal(keras_h5_load(at("ten.h5"), five, 0, NULL, &err), VT_EUSAGE);
    assert_one_line(&err, "layer predictions: 'predictions/kernel:0' has shape (512, 10) in the file, (512, 5) in "
                          "the model");
    assert_params(five, before);
    /* Skipped: the base and fc1 come from the file, predictions stays as it was. */
    int loaded = 0;
    assert_int_equal(keras_h5_load(at("ten.h5"), five, NN_H5_SKIP_MISMATCH, &loaded, &err), VT_OK);
    assert_int_equal(loaded, 5);
    const float *p = model_params(five), *q = model_params(ten);
    size_t top = (size_t)(model_param_count(five) - 512 * 5 - 5); /* predictions' kernel and bias come last */
    assert_memory_equal(p, q, sizeof(float) * top);
    assert_memory_equal(p + top, before + top, sizeof(float) * (512 * 5 + 5));
    /* A file without a model layer: refused, or that layer left alone. */
    model *mlp = make("mlp", 10, 3);
    assert_int_equal(keras_h5_load(at("ten.h5"), mlp, 0, NULL, &err), VT_EUSAGE);
    assert_one_line(&err, "ten.h5: layer fc1: 'fc1/kernel:0' has shape (256, 512) in the file, (192, 512)");
    free(before);
    model_destroy(ten);
    model_destroy(five);
    model_destroy(mlp);
}

static void base_only_reads_the_convolutions(void **state)
{
    (void)state;
    model *a = make("cnn", 10, 1), *b = make("cnn", 10, 2);
    vt_err err;
    assert_int_equal(keras_h5_save(at("base.h5"), a, &err), VT_OK);
    float *before = copy_params(b);
    int loaded = 0;
    assert_int_equal(keras_h5_load(at("base.h5"), b, NN_H5_BASE_ONLY, &loaded, &err), VT_OK);
    assert_int_equal(loaded, 4);
    model_config frozen = config("cnn", 10, 1);
    frozen.freeze_base = 1;
    size_t conv = (size_t)(model_param_count(a) - model_trainable_count(&frozen));
    assert_memory_equal(model_params(b), model_params(a), sizeof(float) * conv);
    assert_memory_equal(model_params(b) + conv, before + conv,
                        sizeof(float) * ((size_t)model_param_count(b) - conv));
    free(before);
    model_destroy(a);
    model_destroy(b);
}

/* Replaces the kernel of layer in the file at path with a dataset of type and dims made by HDF5 itself. */
static void replace_kernel(const char *path, const char *layer, hid_t type, int rank, const hsize_t *dims)
{
    char name[128];
    snprintf(name, sizeof name, "%s/%s/kernel:0", layer, layer);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    assert_true(H5Ldelete(f, name, H5P_DEFAULT) >= 0);
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t ds = H5Dcreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(ds >= 0); /* never written: HDF5 allocates a contiguous dataset's storage only then */
    H5Dclose(ds);
    H5Sclose(space);
    H5Fclose(f);
}

static void hostile_files_are_refused(void **state)
{
    (void)state;
    model *a = make("cnn", 10, 1), *b = make("cnn", 10, 2);
    vt_err err;
    float *before = copy_params(b);
    write_text(at("text.h5"), "not an HDF5 file at all, but long enough to hold a superblock's worth of bytes\n");
    assert_int_equal(keras_h5_load(at("text.h5"), b, 0, NULL, &err), VT_EUSAGE);
    assert_one_line(&err, "text.h5: not an HDF5 file");
    assert_int_equal(keras_h5_load(at("none.h5"), b, 0, NULL, &err), VT_EUSAGE);
    assert_one_line(&err, "none.h5");
    /* Truncated: cut a saved file short. */
    assert_int_equal(keras_h5_save(at("good.h5"), a, &err), VT_OK);
    FILE *f = fopen(at("good.h5"), "rb");
    assert_non_null(f);
    static unsigned char head[3000];
    assert_int_equal(fread(head, 1, sizeof head, f), sizeof head);
    fclose(f);
    write_file(at("cut.h5"), head, sizeof head);
    assert_int_equal(keras_h5_load(at("cut.h5"), b, 0, NULL, &err), VT_EUSAGE);
    assert_one_line(&err, "cut.h5: truncated: 3000 bytes");
    /* A kernel of integers, and one declared as 2^40 floats. */
    assert_int_equal(keras_h5_save(at("int.h5"), a, &err), VT_OK);
    hsize_t dims[2] = {256, 512};
    replace_kernel(at("int.h5"), "fc1", H5T_STD_I32LE, 2, dims);
    assert_int_equal(keras_h5_load(at("int.h5"), b, 0, NULL, &err), VT_EUSAGE);
    assert_one_line(&err, "layer fc1: 'fc1/kernel:0' is not floating point");
    assert_int_equal(keras_h5_save(at("huge.h5"), a, &err), VT_OK);
    hsize_t huge[2] = {(hsize_t)1 << 20, (hsize_t)1 << 20};
    replace_kernel(at("huge.h5"), "fc1", H5T_IEEE_F32LE, 2, huge);
    assert_int_equal(keras_h5_load(at("huge.h5"), b, 0, NULL, &err), VT_EUSAGE);
    assert_one_line(&err, "'fc1/kernel:0' has shape (1048576, 1048576) in the file, (256, 512) in the model");
    assert_params(b, before);
    free(before);
    model_destroy(a);
    model_destroy(b);
}

/* Steps of each kind of update on a frozen cnn: the base's floats never change, the top's do. */
static void a_frozen_base_does_not_train(void **state)
{
    (void)state;
    model_config cfg = config("cnn", 4, 5);
    cfg.freeze_base = 1;
    model *m = NULL;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    assert_int_equal(model_set_batch(m, 4, NULL), VT_OK);
    const size_t n = (size_t)model_param_count(m), top = (size_t)model_trainable_count(&cfg);
    assert_true(top > 0 && top < n);
    const size_t base = n - top;
    float *before = copy_params(m);
    float *x = randf(4 * 8 * 8 * 3, 9, 0.0f, 1.0f);
    const int y[4] = {0, 1, 2, 3};
    sgd_config plain, momentum, decay;
    sgd_config_default(&plain);
    plain.lr = 0.1f;
    momentum = plain;
    momentum.momentum = 0.9f;
    decay = momentum;
    decay.weight_decay = 0.01f;
    const sgd_config *kinds[] = {&plain, &momentum, &decay};
    for (int k = 0; k < 3; k++) {
        step_stats st = {0};
        vt_err err;
        assert_int_equal(model_train_step(m, x, y, 4, kinds[k], &st, &err), VT_OK);
        /* model_loss_grad fills the base's gradients too (for dx); the update still skips them. */
        float dx[4 * 8 * 8 * 3];
        assert_int_equal(model_loss_grad(m, x, y, 4, dx, NULL, &err), VT_OK);
        assert_int_equal(model_apply_grads(m, kinds[k], &err), VT_OK);
    }
    assert_memory_equal(model_params(m), before, sizeof(float) * base);
    size_t changed = 0;
    for (size_t i = base; i < n; i++)
        changed += model_params(m)[i] != before[i];
    assert_true(changed > top / 2);
    char *text = NULL;
    assert_int_equal(model_summary_text(&cfg, &text, NULL), VT_OK);
    char line[96];
    snprintf(line, sizeof line, "Non-trainable params: %zu,%03zu\n", base / 1000, base % 1000);
    assert_non_null(strstr(text, line));
    free(text);
    free(x);
    free(before);
    model_destroy(m);
    /* A model without a convolutional base has nothing to freeze. */
    model_config mlp = config("mlp", 4, 1);
    mlp.freeze_base = 1;
    vt_err err;
    assert_int_equal(model_config_check(&mlp, &err), VT_EUSAGE);
    assert_one_line(&err, "mlp has no convolutional base to freeze");
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_testing_start(argv);
    nn_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_is_bit_exact),
        cmocka_unit_test(other_shapes_are_refused_or_skipped),
        cmocka_unit_test(base_only_reads_the_convolutions),
        cmocka_unit_test(hostile_files_are_refused),
        cmocka_unit_test(a_frozen_base_does_not_train),
    };
    return cmocka_run_group_tests(tests, test_dir_setup, test_dir_teardown);
}
