/* Unit tests of nn's optimisers (src/nn/optim.c, sgd.c): SGD with momentum and Nesterov, Adam and RMSprop
 * stepped on the gradients of tests/fixtures/nn/torch_optim.txt must follow PyTorch's optimisers step by
 * step (tests/tools/nn_optim_fixture.py maps Keras' settings to PyTorch's); the settings' check; and a
 * model trained with Adam through a checkpoint goes on exactly as one trained straight through. */
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

static const char *const cases[] = {"sgd_momentum", "sgd_nesterov",     "adam_defaults", "adam_tuned",
                                    "rmsprop",      "rmsprop_momentum", "rmsprop_eps"};

/* Steps one case of the fixture and compares each step's weights, as their change from the start, with
 * PyTorch's: float32 against float64, so within 1e-4 of the largest change (a misplaced epsilon or a
 * missed bias correction moves them by 1e-3 to 1e-1 of it). */
static void run_case(FILE *f, const char *name)
{
    char key[96];
    size_t ns = 0, nw0 = 0, ng = 0, nw = 0;
    snprintf(key, sizeof key, "%s_settings", name);
    float *set = nn_fixture_array(f, key, &ns);
    snprintf(key, sizeof key, "%s_w0", name);
    float *w0 = nn_fixture_array(f, key, &nw0);
    snprintf(key, sizeof key, "%s_g", name);
    float *g = nn_fixture_array(f, key, &ng);
    snprintf(key, sizeof key, "%s_w", name);
    float *want = nn_fixture_array(f, key, &nw);
    assert_int_equal(ns, 9);
    const size_t P = nw0, T = nw / P;
    assert_int_equal(ng, T * P);
    sgd_config s;
    sgd_config_default(&s);
    s.kind = (nn_optimizer)set[0];
    s.lr = set[1];
    s.momentum = set[2];
    s.nesterov = set[3] != 0.0f;
    s.weight_decay = set[4];
    s.beta1 = set[5];
    s.beta2 = set[6];
    s.rho = set[7];
    s.epsilon = set[8];
    assert_int_equal(sgd_check(&s, NULL), VT_OK);
    float *w = malloc(sizeof(float) * P), *grad = malloc(sizeof(float) * P);
    float *v = calloc(P, sizeof(float)), *v2 = calloc(P, sizeof(float));
    float *got = malloc(sizeof(float) * P), *exp = malloc(sizeof(float) * P);
    memcpy(w, w0, sizeof(float) * P);
    for (size_t t = 0; t < T; t++) {
        memcpy(grad, g + t * P, sizeof(float) * P);
        optim_update(w, grad, v, s.kind == NN_OPT_SGD ? NULL : v2, P, &s, (long long)t + 1);
        for (size_t i = 0; i < P; i++) {
            assert_true(grad[i] == 0.0f); /* used gradients are cleared */
            got[i] = w[i] - w0[i];
            exp[i] = want[t * P + i] - w0[i];
        }
        char what[128];
        snprintf(what, sizeof what, "%s, step %zu: change of w", name, t + 1);
        assert_close(what, got, exp, P, 1e-4);
    }
    free(set);
    free(w0);
    free(g);
    free(want);
    free(w);
    free(grad);
    free(v);
    free(v2);
    free(got);
    free(exp);
}

static void optimizers_match_pytorch(void **state)
{
    (void)state;
    FILE *f = fopen("tests/fixtures/nn/torch_optim.txt", "r");
    assert_non_null(f);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        run_case(f, cases[c]);
    fclose(f);
}

static void settings_checked(void **state)
{
    (void)state;
    sgd_config s;
    sgd_config_default(&s);
    assert_int_equal(s.kind, NN_OPT_SGD);
    assert_true(s.beta1 == 0.9f && s.beta2 == 0.999f && s.rho == 0.9f && s.epsilon == 1e-7f);
    vt_err err;
    const sgd_config ok = s;
    s.beta1 = 1.0f;
    assert_int_equal(sgd_check(&s, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "beta_1"));
    s = ok;
    s.beta2 = -0.1f;
    assert_int_equal(sgd_check(&s, &err), VT_EUSAGE);
    s = ok;
    s.rho = NAN;
    assert_int_equal(sgd_check(&s, &err), VT_EUSAGE);
    s = ok;
    s.epsilon = 0.0f;
    assert_int_equal(sgd_check(&s, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "epsilon"));
    s = ok;
    s.kind = (nn_optimizer)7;
    assert_int_equal(sgd_check(&s, &err), VT_EUSAGE);
}

/* A small cnn, its batch set, and a batch of made-up images. */
static model *small_model(float *x, int *y)
{
    model_config cfg;
    assert_int_equal(model_config_default(&cfg, "cnn", NULL), VT_OK);
    cfg.height = cfg.width = 8;
    cfg.channels = 3;
    cfg.classes = 5;
    model *m;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    assert_int_equal(model_set_batch(m, 4, NULL), VT_OK);
    for (size_t i = 0; i < 4 * 8 * 8 * 3; i++)
        x[i] = (float)((i * 37) % 101) / 101.0f;
    for (int i = 0; i < 4; i++)
        y[i] = i;
    return m;
}

/* Adam's moments and step count go through a checkpoint: three steps straight equal one step, a save, a
 * load into a fresh model and two more, bit for bit. */
static void adam_resumes_through_a_checkpoint(void **state)
{
    (void)state;
    for (int kind = NN_OPT_ADAM; kind <= NN_OPT_RMSPROP; kind++) {
        float x[4 * 8 * 8 * 3];
        int y[4];
        sgd_config s;
        sgd_config_default(&s);
        s.kind = (nn_optimizer)kind;
        s.lr = 0.01f;
        s.momentum = kind == NN_OPT_RMSPROP ? 0.5f : 0.0f;
        step_stats st = {0};
        model *a = small_model(x, y), *b = small_model(x, y);
        for (int t = 0; t < 3; t++)
            assert_int_equal(model_train_step(a, x, y, 4, &s, &st, NULL), VT_OK);
        assert_int_equal(model_iterations(a), 3);
        assert_non_null(model_moment2(a));
        char dir[TMPDIR_SIZE], path[TMPDIR_SIZE + 16];
        assert_int_equal(tmpdir_make(dir, "nn-optim"), 0);
        snprintf(path, sizeof path, "%s/b.ck", dir);
        assert_int_equal(model_train_step(b, x, y, 4, &s, &st, NULL), VT_OK);
        vt_err err;
        assert_int_equal(checkpoint_save(path, b, NULL, 0, &err), VT_OK);
        model_destroy(b);
        b = small_model(x, y);
        assert_int_equal(checkpoint_load(path, b, NULL, 0, NULL, &err), VT_OK);
        assert_int_equal(model_iterations(b), 1);
        for (int t = 0; t < 2; t++)
            assert_int_equal(model_train_step(b, x, y, 4, &s, &st, NULL), VT_OK);
        const size_t P = (size_t)model_param_count(a);
        assert_memory_equal(model_params(a), model_params(b), sizeof(float) * P);
        assert_memory_equal(model_moment2(a), model_moment2(b), sizeof(float) * P);
        /* A checkpoint without the second moments (SGD's) clears those left in the model it loads into. */
        model *c = small_model(x, y);
        assert_int_equal(checkpoint_save(path, c, NULL, 0, &err), VT_OK);
        assert_int_equal(checkpoint_load(path, b, NULL, 0, NULL, &err), VT_OK);
        assert_int_equal(model_iterations(b), 0);
        for (size_t i = 0; i < P; i++)
            assert_true(model_moment2(b)[i] == 0.0f);
        model_destroy(c);
        model_destroy(a);
        model_destroy(b);
        assert_int_equal(tmpdir_remove(dir), 0);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_testing_start(argv);
    nn_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(optimizers_match_pytorch),
        cmocka_unit_test(settings_checked),
        cmocka_unit_test(adam_resumes_through_a_checkpoint),
    };
    return cmocka_run_group_tests_name("nn", tests, NULL, NULL);
}
