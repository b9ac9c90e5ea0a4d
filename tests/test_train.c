/* Unit tests of train's settings and run-directory reading: the field validator (every field, good and bad
 * values, the message naming the field), config.json round trips, and run_load / run_list on run
 * directories written by hand here (expected values are the ones written, never the reader's output),
 * including every kind of malformed file. The engine itself is tested in test_train_engine.c, its epoch loop
 * in test_train_loop.c. */
#include <math.h>
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

#include "vggtop/train.h"

#include <cJSON.h>

#include "../src/train/train_internal.h"
#include "nn_testing.h"
#include "testing.h"

/* Writes text to dir/name. */
static void write_in(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_text(path, text);
}

static void make_dir(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", test_dir, name);
    mkdir(out, 0755);
}

/* ---- settings ---------------------------------------------------------------------------------------- */

static void defaults_are_the_seeds(void **state)
{
    (void)state;
    train_config c;
    train_config_default(&c);
    /* The seed's fit(batch_size=32, epochs=10) with Keras' SGD defaults (lr 0.01, no momentum). */
    assert_int_equal(c.epochs, 10);
    assert_int_equal(c.batch_size, 32);
    assert_true(c.lr == 0.01);
    assert_true(c.momentum == 0.0);
    assert_int_equal(c.nesterov, 0);
    assert_true(c.weight_decay == 0.0);
    /* Keras' optimizer defaults (Adam's beta_1, beta_2, RMSprop's rho, their epsilon), SGD chosen. */
    assert_int_equal(c.optimizer, NN_OPT_SGD);
    assert_true(c.beta1 == 0.9 && c.beta2 == 0.999 && c.rho == 0.9 && c.epsilon == 1e-7);
    assert_int_equal(c.resize, -1);
    assert_string_equal(c.runs, "runs");
    assert_string_equal(c.run_dir, "");
    vt_err err;
    assert_int_equal(train_config_check(&c, &err), VT_OK);
}

/* The Setup screen gives a label 15 columns (src/tui/setup.c, draw_form): "Validation split" showed as
 * "Validation spli". */
static void every_label_fits_the_form(void **state)
{
    (void)state;
    for (const train_field *f = train_fields; f->name; f++)
        if (strlen(f->label) > 15)
            fail_msg("the label '%s' (%s) is wider than the Setup screen's 15 columns", f->label, f->name);
}

static void every_field_round_trips(void **state)
{
    (void)state;
    /* A value for every field, as a user would type it, and what the form shows afterwards. */
    static const char *const cases[][3] = {
        {"model", "vgg19", "vgg19"},          {"data", "/tmp", "/tmp"},
        {"labels", "coarse", "coarse"},       {"resize", "64", "64"},
        {"epochs", "3", "3"},                 {"batch-size", "128", "128"},
        {"lr", "0.05", "0.05"},               {"momentum", "0.9", "0.9"},
        {"nesterov", "yes", "yes"},           {"weight-decay", "0.0005", "0.0005"},
        {"augment", "on", "yes"},             {"limit-train", "5000", "5000"},
        {"limit-test", "1000", "1000"},       {"seed", "9007199254740991", "9007199254740991"},
        {"threads", "2", "2"},                {"runs", "elsewhere", "elsewhere"},
        {"run-dir", "r/one", "r/one"},        {"resize", "auto", "auto"},
        {"early-stop", "val_acc", "val_acc"}, {"patience", "3", "3"},
        {"min-delta", "0.001", "0.001"},      {"mode", "max", "max"},
        {"restore-best", "yes", "yes"},       {"reduce-lr", "loss", "loss"},
        {"lr-factor", "0.2", "0.2"},          {"lr-patience", "4", "4"},
        {"lr-min-delta", "0", "0"},           {"lr-cooldown", "2", "2"},
        {"min-lr", "1e-05", "1e-05"},         {"lr-mode", "min", "min"},
        {"schedule", "cosine", "cosine"},     {"schedule-every", "5", "5"},
        {"schedule-factor", "0.9", "0.9"},    {"warmup", "2", "2"},
        {"schedule-min-lr", "0.0001", "0.0001"}, {"save-best", "val_loss", "val_loss"},
        {"conv", "gemm", "gemm"},             {"weights", "imagenet", "imagenet"},
        {"precision", "mixed_bfloat16", "mixed_bfloat16"},
        {"skip-mismatch", "yes", "yes"},      {"freeze-base", "on", "yes"},
        {"notify", "yes", "yes"},             {"on-event", "sh -c 'exit 0'", "sh -c 'exit 0'"},
        {"hook-timeout", "5", "5"},
        {"optimizer", "adam", "Adam"},        {"beta1", "0.8", "0.8"},
        {"beta2", "0.99", "0.99"},            {"rho", "0.95", "0.95"},
        {"epsilon", "1e-08", "1e-08"},        {"optimizer", "RMSprop", "RMSprop"},
        {"validation-split", "0.2", "0.2"},   {"val-data", "/tmp", "/tmp"},
        {"allreduce-precision", "bf16", "bf16"}, {"allreduce-precision", "fp16", "fp16"},
    };
    train_config c;
    train_config_default(&c);
    vt_err err;
    int covered = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(train_config_set(&c, cases[i][0], cases[i][1], &err), VT_OK);
        char buf[128];
        assert_int_equal(train_config_get(&c, cases[i][0], buf, sizeof buf), 0);
        assert_string_equal(buf, cases[i][2]);
    }
    /* Every field of the form table is among the cases. */
    for (int f = 0; train_fields[f].name; f++) {
        int found = 0;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            found |= strcmp(cases[i][0], train_fields[f].name) == 0;
        assert_true(found);
        assert_non_null(train_fields[f].label);
        assert_non_null(train_fields[f].help);
        covered++;
    }
    assert_int_equal(covered, 51); /* the 17 of the first version, the callbacks' 18, conv, the alerts' 3, issue
                                     * 24's 3, the optimizer's 5, an image folder's validation 2, precision and
                                     * allreduce-precision */
    assert_true(c.validation_split == 0.2);
    assert_string_equal(c.val_data, "/tmp");
    assert_int_equal(c.optimizer, NN_OPT_RMSPROP);
    assert_int_equal(c.allreduce_precision, DIST_FP16);
    assert_true(c.epsilon == 1e-8);
    assert_int_equal(c.coarse, 1);
    assert_int_equal(c.nesterov, 1);
    assert_int_equal(c.augment, 1);
    assert_int_equal(c.skip_mismatch, 1);
    assert_int_equal(c.freeze_base, 1);
    assert_true(c.seed == 9007199254740991ULL);
    char buf[8];
    assert_int_equal(train_config_get(&c, "no-such-field", buf, sizeof buf), -1);
}

static void bad_values_are_refused_and_named(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"model", "vgg17"},     {"labels", "medium"},   {"resize", "4"},        {"resize", "-3"},
        {"resize", "600"},      {"epochs", "0"},        {"epochs", "1001"},     {"epochs", "2.5"},
        {"epochs", ""},         {"batch-size", "0"},    {"batch-size", "x"},    {"lr", "0"},
        {"lr", "-0.1"},         {"lr", "11"},           {"lr", "nan"},          {"lr", "0.01x"},
        {"momentum", "1"},      {"momentum", "-0.5"},   {"nesterov", "maybe"},  {"weight-decay", "2"},
        {"augment", "2"},       {"limit-train", "-1"},  {"limit-test", "1e3"},  {"seed", "-1"},
        {"seed", "9007199254740992"}, {"threads", "257"}, {"runs", ""},
        {"data", "/nonexistent/vggtop-data"}, {"conv", "fast"}, {"conv", "gemm,warp"},
        {"optimizer", "adamw"}, {"beta1", "1"},         {"beta2", "-0.1"},      {"rho", "1"},
        {"epsilon", "0"},       {"epsilon", "2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        train_config c, before;
        train_config_default(&c);
        before = c;
        vt_err err;
        vt_err_clear(&err);
        assert_int_equal(train_config_set(&c, bad[i][0], bad[i][1], &err), VT_EUSAGE);
        /* One line, naming the flag; the config untouched. */
        char flag[40];
        snprintf(flag, sizeof flag, "--%s", bad[i][0]);
        if (!strstr(err.msg, flag))
            fail_msg("%s=%s: message \"%s\" does not name %s", bad[i][0], bad[i][1], err.msg, flag);
        assert_null(strchr(err.msg, '\n'));
        assert_memory_equal(&c, &before, sizeof c);
    }
    vt_err err;
    train_config c;
    train_config_default(&c);
    assert_int_equal(train_config_set(&c, "colour", "red", &err), VT_EUSAGE);
}

static void check_catches_cross_field_errors(void **state)
{
    (void)state;
    train_config c;
    train_config_default(&c);
    vt_err err;
    /* 24x24 is fine for the small models, below the VGGs' 32x32 minimum. */
    c.resize = 24;
    assert_int_equal(train_config_check(&c, &err), VT_OK);
    strcpy(c.model, "vgg16");
    assert_int_equal(train_config_check(&c, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "--resize"));
    /* vgg16-nopool is a VGG too: the same 32x32 minimum (Fashion-MNIST's 28x28 used to fail to build). */
    strcpy(c.model, "vgg16-nopool");
    assert_int_equal(train_config_check(&c, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "--resize"));
    c.resize = -1;
    assert_int_equal(train_config_check(&c, &err), VT_OK);
    /* The model built for 28x28x1 Fashion-MNIST: upscaled to the minimum, not to vgg16's and vgg19's 48. */
    char *text = NULL;
    assert_int_equal(train_model_summary(&c, 28, 28, 1, 10, &text, NULL, &err), VT_OK);
    assert_non_null(strstr(text, "[(None, 32, 32, 1)]"));
    free(text);
    strcpy(c.model, "vgg16");
    /* A config built in code gets the validator's messages too. */
    c.epochs = 0;
    assert_int_equal(train_config_check(&c, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "--epochs"));
    c.epochs = 1;
    strcpy(c.model, "resnet");
    assert_int_equal(train_config_check(&c, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "--model"));
    strcpy(c.model, "mlp");
    c.resume = 1;
    assert_int_equal(train_config_check(&c, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "--resume"));
}

static void model_names_listed(void **state)
{
    (void)state;
    const char *const *names = train_model_names();
    const char *want[] = {"vgg16", "vgg19", "vgg16-nopool", "cnn", "mlp"};
    int n = 0;
    for (; names[n]; n++) {
        int found = 0;
        for (int i = 0; i < 5; i++)
            found |= strcmp(names[n], want[i]) == 0;
        assert_true(found);
    }
    assert_int_equal(n, 5);
    assert_string_equal(train_state_name(TRAIN_PAUSED), "paused");
    assert_string_equal(train_state_name(TRAIN_FAILED), "failed");
}

static void summary_for_the_setup_screen(void **state)
{
    (void)state;
    train_config c;
    train_config_default(&c);
    strcpy(c.model, "vgg16");
    char *text = NULL;
    long long params = 0;
    vt_err err;
    /* keras.applications.VGG16(weights=None, input_shape=(48, 48, 3), classes=100): the seed's model.
     * Conv blocks 14,714,688 + fc1 (512*4096+4096) + fc2 (4096*4096+4096) + predictions (4096*100+100). */
    assert_int_equal(train_model_summary(&c, 32, 32, 3, 100, &text, &params, &err), VT_OK);
    assert_true(params == 14714688LL + 2101248 + 16781312 + 409700);
    assert_non_null(strstr(text, "(None, 48, 48, 64)")); /* "auto" resizes 32x32 CIFAR to the seed's 48 */
    free(text);
    /* The cnn on 28x28x1 Fashion-MNIST: native size. */
    strcpy(c.model, "mlp");
    assert_int_equal(train_model_summary(&c, 28, 28, 1, 10, &text, &params, &err), VT_OK);
    assert_non_null(strstr(text, "28"));
    free(text);
}

/* The Setup screen's epoch-time estimate stops as soon as its request is superseded (or the front end
 * quits): a cancelled estimate is NaN and asks before every step, an uncancelled one is a time. */
static int calls;
static int cancel_now(void *arg)
{
    (void)arg;
    calls++;
    return 1;
}
static int cancel_never(void *arg)
{
    (void)arg;
    calls++;
    return 0;
}

static void estimate_can_be_cancelled(void **state)
{
    (void)state;
    train_config c;
    train_config_default(&c);
    strcpy(c.model, "mlp");
    c.batch_size = 4;
    double s = 0;
    vt_err err;
    calls = 0;
    assert_int_equal(train_estimate_epoch_seconds(&c, 8, 8, 1, 3, 100, cancel_now, NULL, &s, &err), VT_OK);
    assert_true(isnan(s));
    assert_int_equal(calls, 1); /* asked before the first (warm-up) step, and it stopped there */
    calls = 0;
    assert_int_equal(train_estimate_epoch_seconds(&c, 8, 8, 1, 3, 100, cancel_never, NULL, &s, &err), VT_OK);
    assert_true(isfinite(s) && s > 0);
    assert_true(calls >= 3); /* before the warm-up step and before each of at least two timed steps */
    assert_int_equal(train_estimate_epoch_seconds(&c, 8, 8, 1, 3, 100, NULL, NULL, &s, &err), VT_OK);
    assert_true(isfinite(s) && s > 0);
}

/* ---- run directories --------------------------------------------------------------------------------- */

static const char config_json[] =
    "{\"program\": \"vggtop\", \"version\": \"0.1.0\", \"created\": \"2026-11-27T20:00:00Z\",\n"
    " \"model\": \"cnn\", \"input_shape\": [32, 32, 3], \"classes\": 3, \"params\": 1234,\n"
    " \"data\": {\"flag\": \"\", \"name\": \"CIFAR-100\", \"path\": \"/d\", \"labels\": \"fine\", \"resize\": -1,\n"
    "          \"native_size\": [32, 32], \"augment\": true, \"limit_train\": 100, \"limit_test\": 4,\n"
    "          \"n_train\": 100, \"n_test\": 4, \"class_names\": [\"apple\", \"bed\", \"cattle\"],\n"
    "          \"coarse_names\": [\"fruit\", \"things\"], \"fine_to_coarse\": [0, 1, 1]},\n"
    " \"training\": {\"epochs\": 5, \"batch_size\": 16, \"optimizer\": {\"name\": \"SGD\", \"lr\": 0.02,\n"
    "              \"momentum\": 0.9, \"nesterov\": true, \"weight_decay\": 0.001}, \"seed\": 77, \"threads\": 1,\n"
    "              \"runs\": \"runs\"}}\n";

static const char history_csv[] = "epoch,loss,acc,mse,val_loss,val_acc,val_mse,lr,seconds\n"
                                  "1,1.5,0.25,0.3,1.4,0.5,0.28,0.02,10.5\n"
                                  "2,1.1,0.5,0.2,1.2,0.75,0.22,0.01,9.25\n";

static const char progress_json[] = "{\"state\": \"training\", \"message\": \"epoch 3/5\", \"epoch\": 3, \"epochs\": 5,"
                                    " \"epochs_done\": 2, \"batch\": 4, \"batches\": 7, \"samples\": 64,"
                                    " \"loss\": 0.9, \"acc\": 0.6, \"mse\": 0.1, \"img_per_s\": 120.5,"
                                    " \"ms_per_step\": 130, \"elapsed\": 33, \"eta\": 4.5, \"lr\": 0.01, \"pid\": 4242,"
                                    " \"updated\": \"2026-11-27T20:01:00Z\"}\n";

static const char predictions_csv[] = "index,true,pred,p0,p1,p2\n"
                                      "0,0,0,0.7,0.2,0.1\n"
                                      "1,1,2,0.1,0.3,0.6\n"
                                      "2,2,2,0,0.25,0.75\n"
                                      "3,1,1,0.125,0.5,0.375\n";

static void write_good_run(const char *dir)
{
    write_in(dir, "config.json", config_json);
    write_in(dir, "history.csv", history_csv);
    write_in(dir, "progress.json", progress_json);
    write_in(dir, "predictions.csv", predictions_csv);
}

static void run_load_reads_every_part(void **state)
{
    (void)state;
    char dir[256];
    make_dir(dir, sizeof dir, "good");
    write_good_run(dir);
    run_data r;
    vt_err err;
    assert_int_equal(run_load(dir, RUN_PART_ALL, &r, &err), VT_OK);
    assert_int_equal(r.parts, RUN_PART_ALL);
    assert_int_equal(r.has_checkpoint, 0);
    /* config.json */
    assert_string_equal(r.config.model, "cnn");
    assert_string_equal(r.dataset, "CIFAR-100");
    assert_int_equal(r.height, 32);
    assert_int_equal(r.channels, 3);
    assert_int_equal(r.classes, 3);
    assert_int_equal(r.config.epochs, 5);
    assert_int_equal(r.config.batch_size, 16);
    assert_true(r.config.lr == 0.02);
    assert_true(r.config.momentum == 0.9);
    assert_int_equal(r.config.nesterov, 1);
    assert_int_equal(r.config.optimizer, NN_OPT_SGD); /* "name": "SGD", and no Adam or RMSprop keys: defaults */
    assert_true(r.config.beta2 == 0.999 && r.config.epsilon == 1e-7);
    assert_int_equal(r.config.augment, 1);
    assert_true(r.config.seed == 77);
    assert_int_equal(r.config.limit_test, 4);
    assert_string_equal(r.config.run_dir, dir);
    assert_string_equal(r.class_names[2], "cattle");
    assert_int_equal(r.coarse_classes, 2);
    assert_string_equal(r.coarse_names[1], "things");
    assert_int_equal(r.fine_to_coarse[2], 1);
    /* history.csv */
    assert_int_equal(r.n_history, 2);
    assert_true(r.history[0].loss == 1.5 && r.history[0].val_acc == 0.5 && r.history[0].seconds == 10.5);
    assert_true(r.history[1].acc == 0.5 && r.history[1].val_mse == 0.22 && r.history[1].lr == 0.01);
    /* progress.json */
    assert_int_equal(r.progress.state, TRAIN_TRAINING);
    assert_int_equal(r.progress.epoch, 3);
    assert_int_equal(r.progress.batch, 4);
    assert_int_equal(r.progress.batches, 7);
    assert_true(r.progress.img_per_s == 120.5);
    assert_true(r.progress.eta == 4.5 && r.progress.eta_run == 4.5); /* no eta_run: the epoch's */
    assert_int_equal(r.progress.pid, 4242);
    assert_string_equal(r.progress.message, "epoch 3/5");
    assert_true(isnan(r.progress.top5)); /* a progress.json from before the running top-5: none */
    /* predictions.csv */
    assert_int_equal(r.n_pred, 4);
    assert_int_equal(r.pred_classes, 3);
    assert_int_equal(r.y_true[1], 1);
    assert_int_equal(r.y_pred[1], 2);
    assert_true(r.probs[1 * 3 + 2] == 0.6f);
    assert_true(r.probs[3 * 3 + 0] == 0.125f);
    run_free(&r);

    /* Only the parts asked for. */
    assert_int_equal(run_load(dir, RUN_PART_HISTORY, &r, &err), VT_OK);
    assert_int_equal(r.parts, RUN_PART_HISTORY);
    assert_null(r.y_true);
    run_free(&r);
    /* train_config_load gives the settings alone. */
    train_config c;
    assert_int_equal(train_config_load(dir, &c, &err), VT_OK);
    assert_int_equal(c.batch_size, 16);
    assert_int_equal(c.resume, 0);
}

/* progress.json carries the running top-5 accuracy once the epoch has it, and leaves it out before. */
static void progress_carries_the_running_top5(void **state)
{
    (void)state;
    char dir[256];
    make_dir(dir, sizeof dir, "top5");
    train_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->state = TRAIN_TRAINING;
    s->epoch = s->epochs = 1;
    s->batch = 3;
    s->loss = 1;
    s->acc = 0.25;
    s->top5 = 0.625;
    vt_err err;
    assert_int_equal(run_write_progress(dir, s, &err), VT_OK);
    run_data r;
    assert_int_equal(run_load(dir, RUN_PART_PROGRESS, &r, &err), VT_OK);
    assert_true(r.progress.top5 == 0.625);
    run_free(&r);
    s->top5 = NAN;
    assert_int_equal(run_write_progress(dir, s, &err), VT_OK);
    assert_int_equal(run_load(dir, RUN_PART_PROGRESS, &r, &err), VT_OK);
    assert_true(isnan(r.progress.top5));
    run_free(&r);
    free(s);
}

/* predictions.json says which weights predictions.csv is of (vggtop evaluate --best: best.bin's epoch, no
 * per_class.csv rows); a run without the file (made before it) reads as an unknown epoch, a bad one is refused. */
static void predictions_record_their_epoch(void **state)
{
    (void)state;
    char dir[256];
    make_dir(dir, sizeof dir, "predepoch");
    static const int y[4] = {0, 1, 2, 1};
    static const float probs[12] = {0.7f, 0.2f, 0.1f, 0.1f, 0.3f, 0.6f, 0, 0.25f, 0.75f, 0.125f, 0.5f, 0.375f};
    vt_err err;
    assert_int_equal(run_write_evaluation(dir, 7, 5, 0, y, probs, 4, 3, NULL, &err), VT_OK);
    run_data r;
    assert_int_equal(run_load(dir, RUN_PART_PREDICTIONS, &r, &err), VT_OK);
    assert_int_equal(r.n_pred, 4);
    assert_int_equal(r.pred_epoch, 7);
    assert_int_equal(r.pred_batch, 5);
    run_free(&r);
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, RUN_PER_CLASS);
    assert_int_not_equal(stat(path, &st), 0); /* evaluate adds no history */
    snprintf(path, sizeof path, "%s/%s", dir, RUN_PRED_EPOCH);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(run_load(dir, RUN_PART_PREDICTIONS, &r, &err), VT_OK);
    assert_int_equal(r.n_pred, 4);
    assert_int_equal(r.pred_epoch, -1);
    run_free(&r);
    write_in(dir, RUN_PRED_EPOCH, "{\"epoch\": \"seven\"}\n");
    assert_int_equal(run_load(dir, RUN_PART_PREDICTIONS, &r, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "predictions.json"));
    run_free(&r);
}

/* The vanishing rule of vggtop layers and the Layers screen: below 1% of the epoch's largest gradient, or of
 * the layer's own in its first epoch; exactly 1% is not below. */
static void layer_vanishing_rule(void **state)
{
    (void)state;
    run_layer_row rows[6] = {
        {1, "a", 1, 1, 0, 0, 0, 0},     {1, "b", 1, 2, 0, 0, 0, 0},    {1, "c", 1, 100, 0, 0, 0, 0},
        {2, "a", 1, 0.005, 0, 0, 0, 0}, {2, "b", 1, 0.01, 0, 0, 0, 0}, {2, "c", 1, 1, 0, 0, 0, 0},
    };
    int want[6] = {0, 0, 0, 1, 1, 0}; /* epoch 1: a is 1% of c's 100, not below; epoch 2: b is below 1% of 2 */
    for (int i = 0; i < 6; i++)
        assert_int_equal(run_layer_vanishing(rows, 6, i), want[i]);
    rows[0].grad_norm = 0.99; /* now below 1% of 100 */
    assert_int_equal(run_layer_vanishing(rows, 6, 0), 1);
}

/* layers.csv and per_class.csv: every number range-checked before anything computes with it, each bad row one
 * line naming the line and the field; a damaged row is dropped when the next epoch rewrites the file. */
static void epoch_rows_files_check_their_numbers(void **state)
{
    (void)state;
    char dir[256];
    make_dir(dir, sizeof dir, "rowsfiles");
    static const struct {
        const char *file, *row, *why; /* why NULL: the row is good */
    } cases[] = {
        {RUN_LAYERS, "1,fc1,24.8,2.6,0.001,0.5,0.18,0.29", NULL},
        {RUN_LAYERS, "1,predictions,4.4,1.4,0.003,nan,-0.04,0.46", NULL},
        {RUN_LAYERS, "1,fc1,1e300,1e-320,0,0,-1e300,0", NULL},
        {RUN_LAYERS, "4294967297,fc1,24.8,2.6,0.001,0.5,0.18,0.29", "line 2: the epoch is not a whole number"},
        {RUN_LAYERS, "0,fc1,24.8,2.6,0.001,0.5,0.18,0.29", "line 2: the epoch"},
        {RUN_LAYERS, "1,fc1,24.8,2.6,0.001,-5,0.18,0.29", "line 2: dead_relu is not a number in 0..1"},
        {RUN_LAYERS, "1,fc1,24.8,2.6,0.001,1.5,0.18,0.29", "line 2: dead_relu"},
        {RUN_LAYERS, "1,fc1,-1e308,2.6,0.001,0.5,0.18,0.29", "line 2: weight_norm"},
        {RUN_LAYERS, "1,fc1,24.8,inf,0.001,0.5,0.18,0.29", "line 2: grad_norm"},
        {RUN_LAYERS, "1,fc1,24.8,2.6,0.001,0.5,0.18,-1", "line 2: act_std"},
        {RUN_LAYERS, "1,f\033]0;x\007,24.8,2.6,0.001,0.5,0.18,0.29", "line 2: the layer name: byte 2 is a control"},
        {RUN_LAYERS, "1,fc1,24.8,2.6,0.001,0.5,0.18,0.29,", "line 2: act_std"},
        {RUN_PER_CLASS, "1,0,0.33333333,0.5,0.4,8", NULL},
        {RUN_PER_CLASS, "1,0,0.3,0.5,0.4,9223372036854775807", "line 2: support is not a whole number"},
        {RUN_PER_CLASS, "1,0,0.3,0.5,0.4,99999999999999999999999", "line 2: support"},
        {RUN_PER_CLASS, "4294967297,0,0.3,0.5,0.4,8", "line 2: the epoch"},
        {RUN_PER_CLASS, "1,4294967296,0.3,0.5,0.4,8", "line 2: the class is not a whole number in 0..999"},
        {RUN_PER_CLASS, "1,0,nan,0.5,0.4,8", "line 2: precision"},
        {RUN_PER_CLASS, "1,0,0.3,0.5,0.4,8\n1,0,0.3,0.5,0.4,8", "epoch 1 has class 0 twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        int layers = strcmp(cases[i].file, RUN_LAYERS) == 0;
        snprintf(text, sizeof text, "%s\n%s\n", layers ? LAYERS_HEADER : PER_CLASS_HEADER, cases[i].row);
        write_in(dir, cases[i].file, text);
        void *rows = NULL;
        long n = -1;
        vt_err err = {0, ""};
        int rc = layers ? run_read_layers(dir, (run_layer_row **)&rows, &n, &err)
                        : run_read_per_class(dir, (run_class_row **)&rows, &n, &err);
        if (!cases[i].why) {
            if (rc != VT_OK)
                fail_msg("%s: %s: %s", cases[i].file, cases[i].row, err.msg);
            assert_int_equal(n, 1);
        } else {
            if (rc != VT_EUSAGE || !strstr(err.msg, cases[i].why) || !strstr(err.msg, cases[i].file))
                fail_msg("%s: %s: rc %d, '%s' (expected '%s')", cases[i].file, cases[i].row, rc, err.msg,
                         cases[i].why);
            assert_null(rows);
        }
        free(rows);
    }
    /* At most RUN_MAX_LAYERS rows an epoch (what the engine writes), so a file of many small rows cannot make
     * the reader and the Layers screen allocate for all of them. */
    char many[RUN_MAX_LAYERS * 40 + 200];
    int len = snprintf(many, sizeof many, "%s\n", LAYERS_HEADER);
    for (int i = 0; i <= RUN_MAX_LAYERS; i++)
        len += snprintf(many + len, sizeof many - (size_t)len, "1,l%d,1,1,0,0.5,0,1\n", i);
    write_in(dir, RUN_LAYERS, many);
    run_layer_row *lrows = NULL;
    long ln;
    vt_err lerr;
    assert_int_equal(run_read_layers(dir, &lrows, &ln, &lerr), VT_EUSAGE);
    assert_non_null(strstr(lerr.msg, "line 66: more than 64 rows of epoch 1"));
    assert_null(lrows);
    /* The next epoch's write keeps the good rows of earlier epochs and drops a damaged one. */
    write_in(dir, RUN_LAYERS, LAYERS_HEADER "\n1,fc1,1,1,0,0.5,0,1\n1,fc2,1,1,0,-7,0,1\n2,fc1,1,1,0,0.5,0,1\n");
    run_layer_row now = {2, "fc1", 3, 2, 0.01, 0.25, 0, 1};
    vt_err err;
    assert_int_equal(run_write_layers(dir, 2, &now, 1, &err), VT_OK);
    run_layer_row *rows;
    long n;
    assert_int_equal(run_read_layers(dir, &rows, &n, &err), VT_OK);
    assert_int_equal(n, 2);
    assert_true(rows[0].epoch == 1 && strcmp(rows[0].layer, "fc1") == 0);
    assert_true(rows[1].epoch == 2 && rows[1].weight_norm == 3);
    free(rows);
}

/* vggtop reads back the predictions it writes, a subnormal probability too (a softmax whose logits are more
 * than 87 apart gives one): strtof's ERANGE for it is no error. */
static void predictions_read_back_subnormal_probabilities(void **state)
{
    (void)state;
    char dir[256];
    make_dir(dir, sizeof dir, "subnormal");
    static const int y[2] = {0, 1};
    const float tiny = 6.05e-39f; /* below FLT_MIN */
    const float probs[4] = {1 - tiny, tiny, 1e-45f, 1};
    vt_err err;
    assert_int_equal(run_write_evaluation(dir, 1, 0, 0, y, probs, 2, 2, NULL, &err), VT_OK);
    run_data r;
    if (run_load(dir, RUN_PART_PREDICTIONS, &r, &err) != VT_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(r.n_pred, 2);
    assert_true(r.probs[1] == tiny && r.probs[2] == 1e-45f);
    run_free(&r);
}

static void missing_files_are_absent_parts(void **state)
{
    (void)state;
    char dir[256];
    make_dir(dir, sizeof dir, "partial");
    write_in(dir, "history.csv", "epoch,loss,acc,mse,val_loss,val_acc,val_mse,lr,seconds\n");
    run_data r;
    vt_err err;
    assert_int_equal(run_load(dir, RUN_PART_ALL, &r, &err), VT_OK);
    assert_int_equal(r.parts, RUN_PART_HISTORY);
    assert_int_equal(r.n_history, 0);
    run_free(&r);

    char empty[256];
    make_dir(empty, sizeof empty, "empty");
    assert_int_equal(run_load(empty, RUN_PART_ALL, &r, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "not a run directory"));
    run_free(&r);
    assert_int_equal(run_load("/nonexistent/vggtop-run", RUN_PART_ALL, &r, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "/nonexistent/vggtop-run"));
    run_free(&r);
    train_config c;
    assert_int_equal(train_config_load(dir, &c, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "config.json"));
}

static void malformed_files_give_one_clear_line(void **state)
{
    (void)state;
    /* file, content, a fragment the message must hold */
    static const char *const cases[][3] = {
        {"history.csv", "epoch,loss\n1,2\n", "line 1"},
        {"history.csv", "epoch,loss,acc,mse,val_loss,val_acc,val_mse,lr,seconds\n1,1,1,1,1,1,1,1\n", "line 2"},
        {"history.csv", "epoch,loss,acc,mse,val_loss,val_acc,val_mse,lr,seconds\n1,1,1,1,1,1,1,1,x\n", "line 2"},
        {"history.csv", "epoch,loss,acc,mse,val_loss,val_acc,val_mse,lr,seconds\n1,1,1,1,1,1,1,1,1,1\n", "line 2"},
        {"history.csv", "epoch,loss,acc,mse,val_loss,val_acc,val_mse,lr,seconds\n2,1,1,1,1,1,1,1,1\n", "sequence"},
        {"predictions.csv", "index,true,pred\n", "line 1"},
        {"predictions.csv", "index,true,pred,p0,p2\n", "line 1"},
        {"predictions.csv", "index,true,pred,p0,p1\n0,0,0,0.5,0.5\n1,2,0,0.5,0.5\n", "line 3"},
        {"predictions.csv", "index,true,pred,p0,p1\n0,0,0,0.5,1.5\n", "line 2"},
        {"predictions.csv", "index,true,pred,p0,p1\n0,0,0,0.5\n", "line 2"},
        {"predictions.csv", "index,true,pred,p0,p1\n5,0,0,0.5,0.5\n", "line 2"},
        {"progress.json", "{\"state\": \"training\", \"epoch\": 1", "progress.json"},
        {"progress.json", "{\"state\": \"dancing\"}", "state"},
        {"progress.json", "{\"state\": \"training\", \"epoch\": \"one\"}", "epoch"},
        {"config.json", "{\"model\": \"cnn\"", "config.json"},
        {"config.json", "[1, 2]", "config.json"},
        {"config.json", "{\"model\": \"alexnet\"}", "alexnet"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[256], name[32];
        snprintf(name, sizeof name, "bad%zu", i);
        make_dir(dir, sizeof dir, name);
        write_in(dir, cases[i][0], cases[i][1]);
        run_data r;
        vt_err err;
        vt_err_clear(&err);
        int rc = run_load(dir, RUN_PART_ALL, &r, &err);
        run_free(&r);
        if (rc != VT_EUSAGE || !strstr(err.msg, cases[i][0]) || !strstr(err.msg, cases[i][2]) ||
            strchr(err.msg, '\n'))
            fail_msg("case %zu (%s): rc %d, message \"%s\"", i, cases[i][0], rc, err.msg);
    }
    /* A config.json missing a key names the key. */
    char dir[256];
    make_dir(dir, sizeof dir, "nokey");
    char text[sizeof config_json];
    strcpy(text, config_json);
    char *key = strstr(text, "\"batch_size\"");
    memcpy(key, "\"batch_sixe\"", 12);
    write_in(dir, "config.json", text);
    run_data r;
    vt_err err;
    assert_int_equal(run_load(dir, RUN_PART_CONFIG, &r, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "batch_size"));
    run_free(&r);
    /* Predictions with another class count than config.json. */
    make_dir(dir, sizeof dir, "mismatch");
    write_in(dir, "config.json", config_json);
    write_in(dir, "predictions.csv", "index,true,pred,p0,p1\n0,0,0,0.5,0.5\n");
    assert_int_equal(run_load(dir, RUN_PART_ALL, &r, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "classes"));
    run_free(&r);
    /* Predictions cut at a line end: 3 rows where config.json says 4 test images. */
    make_dir(dir, sizeof dir, "shortpred");
    write_in(dir, "config.json", config_json);
    write_in(dir, "predictions.csv", "index,true,pred,p0,p1,p2\n0,0,0,0.7,0.2,0.1\n1,1,2,0.1,0.3,0.6\n"
                                       "2,2,2,0,0.25,0.75\n");
    assert_int_equal(run_load(dir, RUN_PART_ALL, &r, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "predictions.csv"));
    assert_non_null(strstr(err.msg, "3 rows"));
    assert_null(strchr(err.msg, '\n'));
    run_free(&r);
}

static void run_list_sorts_and_summarises(void **state)
{
    (void)state;
    char runs[256], a[300], b[300], junk[300];
    make_dir(runs, sizeof runs, "runs");
    snprintf(b, sizeof b, "%s/20261127T210000Z-cnn", runs);
    snprintf(a, sizeof a, "%s/20261127T200000Z-mlp", runs);
    snprintf(junk, sizeof junk, "%s/notes", runs);
    mkdir(a, 0755);
    mkdir(b, 0755);
    mkdir(junk, 0755);
    write_good_run(b);
    write_in(a, "config.json", config_json);
    write_in(a, "history.csv", "epoch,loss,acc,mse,val_loss,val_acc,val_mse,lr,seconds\n");
    run_entry *e;
    int n;
    vt_err err;
    assert_int_equal(run_list(runs, &e, &n, &err), VT_OK);
    assert_int_equal(n, 2); /* "notes" has no config.json */
    assert_string_equal(e[0].name, "20261127T200000Z-mlp");
    assert_string_equal(e[1].name, "20261127T210000Z-cnn");
    assert_int_equal(e[0].epochs_done, 0);
    assert_true(e[0].best_val_acc != e[0].best_val_acc); /* NaN: no epoch */
    assert_int_equal(e[1].epochs_done, 2);
    assert_int_equal(e[1].epochs, 5);
    assert_true(e[1].best_val_acc == 0.75 && e[1].last_val_acc == 0.75 && e[1].last_val_loss == 1.2);
    assert_string_equal(e[1].model, "cnn");
    assert_string_equal(e[1].dataset, "CIFAR-100");
    free(e);
    assert_int_equal(run_list("/nonexistent/vggtop-runs", &e, &n, &err), VT_OK);
    assert_int_equal(n, 0);
}

static void default_dir_is_utc_stamp_and_model(void **state)
{
    (void)state;
    train_config c;
    train_config_default(&c);
    strcpy(c.model, "vgg19");
    strcpy(c.runs, "/x/runs");
    char buf[256];
    run_default_dir(&c, buf, sizeof buf);
    /* /x/runs/YYYYMMDDTHHMMSSZ-vgg19 */
    assert_int_equal(strlen(buf), strlen("/x/runs/") + 16 + strlen("-vgg19"));
    assert_memory_equal(buf, "/x/runs/20", 10);
    assert_int_equal(buf[8 + 8], 'T');
    assert_int_equal(buf[8 + 15], 'Z');
    assert_string_equal(buf + 8 + 16, "-vgg19");
}


/* ---- the settings table ---------------------------------------------------------------------------------- */

/* A value other than the default for every row, as text a user would type. */
static const char *other_value(const train_field *f, char *buf, size_t size)
{
    switch (f->kind) {
    case TRAIN_FIELD_CHOICE: {
        int n = 0;
        while (f->choices[n])
            n++;
        assert_true(n >= 2);
        snprintf(buf, size, "%s", strcmp(f->choices[n - 1], f->def) == 0 ? f->choices[0] : f->choices[n - 1]);
        break;
    }
    case TRAIN_FIELD_BOOL: snprintf(buf, size, "%s", strcmp(f->def, "yes") == 0 ? "no" : "yes"); break;
    case TRAIN_FIELD_INT: snprintf(buf, size, "%.0f", f->hi); break;
    case TRAIN_FIELD_FLOAT: snprintf(buf, size, "%.17g", (f->flags & TRAIN_F_HI_OPEN) ? f->hi * 0.75 : f->hi); break;
    case TRAIN_FIELD_TEXT: {
        /* a path, or for a row with a rule of its own (the convolution backends) a value the rule takes */
        char why[256];
        snprintf(buf, size, "%s", !f->check || f->check("/tmp", why, sizeof why) == 0 ? "/tmp" : "gemm");
        break;
    }
    }
    return buf;
}

static void every_row_is_consistent(void **state)
{
    (void)state;
    train_config c;
    train_config_default(&c);
    vt_err err;
    assert_int_equal(train_config_check(&c, &err), VT_OK);
    for (int i = 0; train_fields[i].name; i++) {
        const train_field *f = &train_fields[i];
        assert_ptr_equal(train_field_find(f->name), f);
        assert_true(f->offset + f->size <= sizeof(train_config));
        assert_non_null(f->label);
        assert_non_null(f->help);
        assert_non_null(f->def);
        assert_true((f->kind == TRAIN_FIELD_CHOICE) == (f->choices != NULL));
        if (f->kind == TRAIN_FIELD_INT || f->kind == TRAIN_FIELD_FLOAT)
            assert_true(f->lo < f->hi);
        /* The default, typed in, is what the default config holds. */
        char shown[4200];
        assert_int_equal(train_config_get(&c, f->name, shown, sizeof shown), 0);
        train_config again = c;
        assert_int_equal(train_config_set(&again, f->name, f->def, &err), VT_OK);
        assert_memory_equal(&again, &c, sizeof c);
        /* No two rows share a flag or a JSON key. */
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(train_fields[j].name, f->name);
            if (f->json && train_fields[j].json)
                assert_string_not_equal(train_fields[j].json, f->json);
        }
        /* A number just outside the range is refused with the range in the message. */
        if (f->kind == TRAIN_FIELD_INT) {
            char bad[64], what[256];
            snprintf(bad, sizeof bad, "%.0f", f->hi + 1);
            assert_int_equal(train_config_set(&again, f->name, bad, &err), VT_EUSAGE);
            train_field_describe(f, what, sizeof what);
            assert_non_null(strstr(err.msg, what));
        }
    }
}

static void help_lists_every_setting(void **state)
{
    (void)state;
    char *help = train_fields_help();
    assert_non_null(help);
    for (int i = 0; train_fields[i].name; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "  --%s ", train_fields[i].name);
        if (!strstr(help, flag))
            fail_msg("--help does not list --%s", train_fields[i].name);
    }
    /* Every line fits 100 columns. */
    for (const char *line = help; *line;) {
        size_t len = strcspn(line, "\n");
        assert_true(len <= 100);
        line += len + (line[len] == '\n');
    }
    /* The --resume line names exactly the resumable rows. */
    const char *resume = strstr(help, "--resume RUN_DIR");
    assert_non_null(resume);
    for (int i = 0; train_fields[i].name; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", train_fields[i].name);
        const char *at = strstr(resume, flag);
        int named = at && (at[strlen(flag)] == ' ' || at[strlen(flag)] == '\n' || at[strlen(flag)] == ',');
        assert_int_equal(named, (train_fields[i].flags & TRAIN_F_RESUMABLE) != 0);
    }
    free(help);
}

static void man_page_options_match_table(void **state)
{
    (void)state;
    assert_man_section(".\\\" options: generated by train_fields_man", ".\\\" end of options", train_fields_man());
}

/* Every row with a JSON key goes into config.json and comes back equal, so a new row round-trips by itself. */
static void settings_round_trip_through_config_json(void **state)
{
    (void)state;
    train_config c, back;
    train_config_default(&c);
    vt_err err;
    for (int i = 0; train_fields[i].name; i++) {
        char v[64];
        if (train_fields[i].json)
            assert_int_equal(train_config_set(&c, train_fields[i].name, other_value(&train_fields[i], v, sizeof v),
                                              &err), VT_OK);
    }
    cJSON *root = cJSON_CreateObject();
    assert_int_equal(train_settings_to_json(&c, root), 0);
    train_config_default(&back);
    assert_int_equal(train_settings_from_json(root, &back, "config.json", &err), VT_OK);
    for (int i = 0; train_fields[i].name; i++) {
        const train_field *f = &train_fields[i];
        if (f->json && memcmp((char *)&c + f->offset, (char *)&back + f->offset, f->size) != 0)
            fail_msg("--%s did not come back from config.json", f->name);
    }
    /* A bad value in the file names the file and the key, with the row's own rule. */
    cJSON *tr = cJSON_GetObjectItemCaseSensitive(root, "training");
    assert_non_null(tr);
    cJSON_ReplaceItemInObjectCaseSensitive(tr, "epochs", cJSON_CreateNumber(0));
    assert_int_equal(train_settings_from_json(root, &back, "run/config.json", &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "run/config.json"));
    assert_non_null(strstr(err.msg, "training.epochs"));
    assert_non_null(strstr(err.msg, "1..1000"));
    cJSON_ReplaceItemInObjectCaseSensitive(tr, "epochs", cJSON_CreateNumber(2.5));
    assert_int_equal(train_settings_from_json(root, &back, "run/config.json", &err), VT_EUSAGE);
    cJSON_DeleteItemFromObjectCaseSensitive(tr, "epochs");
    assert_int_equal(train_settings_from_json(root, &back, "run/config.json", &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "missing"));
    cJSON_Delete(root);
}

/* One process per run: the lock is taken once, a second taker is refused with the holder's pid, and "live" is
 * the lock being held, whatever progress.json says. */
static void the_run_lock_lets_one_in(void **state)
{
    (void)state;
    char dir[TMPDIR_SIZE];
    assert_int_equal(tmpdir_make(dir, "lock"), 0);
    assert_int_equal(run_live_pid(dir), 0);
    int fd, fd2;
    long holder;
    vt_err err;
    assert_int_equal(run_lock_take(dir, &fd, NULL, &err), VT_OK);
    /* Held but not claimed (a process that may still refuse): in use, by nobody named; the file untouched. */
    assert_int_equal(run_live_pid(dir), -1);
    assert_int_equal(run_lock_take(dir, &fd2, &holder, &err), VT_EUSAGE);
    assert_int_equal(holder, -1);
    assert_int_equal(run_lock_claim(fd, dir, "trained", &err), VT_OK);
    assert_int_equal(run_live_pid(dir), (long)getpid());
    assert_int_equal(run_lock_take(dir, &fd2, &holder, &err), VT_EUSAGE);
    assert_int_equal(holder, (long)getpid());
    assert_non_null(strstr(err.msg, "is being trained by process"));
    run_lock_release(fd);
    assert_int_equal(run_live_pid(dir), 0);
    assert_int_equal(run_lock_take(dir, &fd2, NULL, &err), VT_OK);
    run_lock_release(fd2);
    /* A FIFO in its place is refused, not waited on. */
    char lock[TMPDIR_SIZE + 16];
    snprintf(lock, sizeof lock, "%s/run.lock", dir);
    unlink(lock);
    assert_int_equal(mkfifo(lock, 0600), 0);
    assert_int_equal(run_lock_take(dir, &fd, NULL, &err), VT_EUSAGE);
    assert_int_equal(run_live_pid(dir), 0);
    unlink(lock);
    tmpdir_remove(dir);
}

/* A refusal leaves a run without run.lock as it found it (issue 22): a lock file the process made and never
 * claimed goes with the lock; one it found, or claimed, stays. */
static void an_unclaimed_lock_gives_its_file_back(void **state)
{
    (void)state;
    char dir[TMPDIR_SIZE], lock[TMPDIR_SIZE + 16];
    assert_int_equal(tmpdir_make(dir, "lock"), 0);
    snprintf(lock, sizeof lock, "%s/run.lock", dir);
    int fd;
    vt_err err;
    struct stat st;
    assert_int_equal(run_lock_take(dir, &fd, NULL, &err), VT_OK);
    assert_int_equal(stat(lock, &st), 0); /* made to be locked */
    run_lock_release(fd);                 /* refused: never claimed */
    assert_int_not_equal(stat(lock, &st), 0);
    assert_int_equal(errno, ENOENT);
    /* Claimed: the file stays, as it must for the run's next holder and the messages. */
    assert_int_equal(run_lock_take(dir, &fd, NULL, &err), VT_OK);
    assert_int_equal(run_lock_claim(fd, dir, "trained", &err), VT_OK);
    run_lock_release(fd);
    assert_int_equal(stat(lock, &st), 0);
    /* Found there, not made: a refusal leaves it (and what it says) as it was. */
    assert_int_equal(run_lock_take(dir, &fd, NULL, &err), VT_OK);
    run_lock_release(fd);
    assert_int_equal(stat(lock, &st), 0);
    assert_true(st.st_size > 0);
    unlink(lock);
    tmpdir_remove(dir);
}

/* The test-set pass's estimate (Setup and the whole-run ETA before the first evaluation): 60 s for 1000
 * training images is 60 ms an image; 500 test images at a third of that: 60 / 1000 * 500 / 3 = 10 s.
 * Nothing to estimate from gives 0. */
static void eval_estimate_counts_the_test_set(void **state)
{
    (void)state;
    assert_true(fabs(train_eval_seconds(60, 1000, 500) - 10) < 1e-9);
    assert_true(train_eval_seconds(0, 1000, 500) == 0);
    assert_true(train_eval_seconds(60, 0, 500) == 0);
    assert_true(train_eval_seconds(NAN, 1000, 500) == 0);
}

/* curve.csv: read back as the engine writes it; a damaged one is one clear line. */
static void curve_file_reads_back(void **state)
{
    (void)state;
    char dir[TMPDIR_SIZE];
    assert_int_equal(tmpdir_make(dir, "curve"), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/curve.csv", dir);
    long b[4];
    float l[4], a[4];
    int epoch, n;
    vt_err err;
    assert_int_equal(run_read_curve(dir, &epoch, b, l, a, 4, &n, &err), VT_OK); /* no file: no points */
    assert_int_equal(n, 0);
    const char *good = "epoch,batch,loss,acc\n3,1,2.5,0.125\n3,2,2.25,0.25\n3,4,2,0.5\n";
    assert_int_equal(vt_write_file_atomic(path, good, strlen(good), &err), VT_OK);
    assert_int_equal(run_read_curve(dir, &epoch, b, l, a, 4, &n, &err), VT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(epoch, 3);
    assert_true(b[0] == 1 && b[1] == 2 && b[2] == 4);
    assert_true(l[1] == 2.25f && a[2] == 0.5f);
    const char *bad = "epoch,batch,loss,acc\n3,2,2.5,0.125\n3,1,2.25,0.25\n";
    assert_int_equal(vt_write_file_atomic(path, bad, strlen(bad), &err), VT_OK);
    assert_int_equal(run_read_curve(dir, &epoch, b, l, a, 4, &n, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "curve.csv: line 3"));
    assert_int_equal(n, 0);
    /* Numbers are checked before they reach a float (1e300 would not fit one). */
    const char *huge = "epoch,batch,loss,acc\n3,1,1e300,0.125\n";
    assert_int_equal(vt_write_file_atomic(path, huge, strlen(huge), &err), VT_OK);
    assert_int_equal(run_read_curve(dir, &epoch, b, l, a, 4, &n, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "curve.csv: line 2: loss is not a number"));
    /* A FIFO in its place (vggtop watch reads it) is refused at once, not waited on; the alarm fails the test
     * instead of hanging it if it ever is. */
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(20);
    assert_int_equal(run_read_curve(dir, &epoch, b, l, a, 4, &n, &err), VT_EUSAGE);
    alarm(0);
    assert_non_null(strstr(err.msg, "FIFO"));
    unlink(path);
    tmpdir_remove(dir);
}

/* ---- data-parallel arithmetic (split.c) ------------------------------------------------------------- */

/* Every image of a batch goes to exactly one rank, in order, the shares differing by at most one. */
static void slices_cover_the_batch_once(void **state)
{
    (void)state;
    const long sizes[] = {0, 1, 5, 32, 33, 10000};
    for (int ranks = 1; ranks <= 7; ranks++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            long next = 0, smallest = sizes[k], largest = 0;
            for (int r = 0; r < ranks; r++) {
                long lo, hi;
                dist_slice(sizes[k], ranks, r, &lo, &hi);
                assert_int_equal(lo, next);
                assert_true(hi >= lo);
                next = hi;
                smallest = hi - lo < smallest ? hi - lo : smallest;
                largest = hi - lo > largest ? hi - lo : largest;
            }
            assert_int_equal(next, sizes[k]);
            assert_true(largest - smallest <= 1);
        }
    long lo, hi;
    dist_slice(33, 2, 0, &lo, &hi);
    assert_true(lo == 0 && hi == 17);
    dist_slice(33, 2, 1, &lo, &hi);
    assert_true(lo == 17 && hi == 33);
}

/* Layers finishing from the end of a block of 100 floats (kernels and biases at 90, 60, 55, 10, 0): buckets
 * of at least 30 go as soon as they fill, the rest when the first layer is done; every float exactly once. */
static void buckets_send_each_gradient_once(void **state)
{
    (void)state;
    grad_buckets b;
    grad_buckets_begin(&b, 100, 30);
    const size_t ready[] = {90, 60, 55, 10, 0, 0};
    const size_t want_count[] = {0, 40, 0, 50, 10, 0}, want_off[] = {0, 60, 0, 10, 0, 0};
    for (int i = 0; i < 6; i++) {
        size_t off = 12345, n = grad_buckets_ready(&b, ready[i], &off);
        assert_int_equal(n, want_count[i]);
        if (n)
            assert_int_equal(off, want_off[i]);
    }
    /* A cap above the block: one bucket, all of it, at the end. */
    grad_buckets_begin(&b, 100, 1000);
    size_t off = 0;
    assert_int_equal(grad_buckets_ready(&b, 50, &off), 0);
    assert_int_equal(grad_buckets_ready(&b, 0, &off), 100);
    assert_int_equal(off, 0);
}

static void threads_split_the_host(void **state)
{
    (void)state;
    assert_int_equal(dist_threads_per_rank(8, 2), 4);
    assert_int_equal(dist_threads_per_rank(8, 3), 2);
    assert_int_equal(dist_threads_per_rank(2, 4), 1); /* oversubscribed: one each */
    assert_int_equal(dist_threads_per_rank(2, 0), 2);
}

/* By hand: 2 (N - 1) steps of bytes / N each, plus a latency per step. */
static void ring_allreduce_time(void **state)
{
    (void)state;
    assert_true(fabs(train_ring_seconds(1e9, 4, 8, 0) - 1.5) < 1e-12); /* 8 Gbit/s: 1 GB/s */
    assert_true(fabs(train_ring_seconds(1e9, 4, 8, 1e-3) - 1.506) < 1e-12);
    assert_true(train_ring_seconds(1e9, 1, 8, 1e-3) == 0);
}

/* bench --dist's efficiency: 1 GB round 4 ranks at half of 16 Gbit/s takes 1.5 s; a step of 1 s hides half
 * a second of it, or a whole second, or all of it when the ring is short enough. */
static void dist_efficiency_hides_the_overlap(void **state)
{
    (void)state;
    const train_link_model half = {0.5, 0.5, 0}, whole = {0.5, 1, 0};
    assert_true(fabs(train_dist_efficiency(1, 1e9, 4, 16, &half) - 0.5) < 1e-12);
    assert_true(fabs(train_dist_efficiency(1, 1e9, 4, 16, &whole) - 1 / 1.5) < 1e-12);
    assert_true(train_dist_efficiency(1, 1e6, 4, 16, &whole) == 1);
    assert_true(train_dist_efficiency(1, 1e9, 1, 16, &half) == 1);
    /* the fitted model is a model: a share of the link, an overlap of the step, a latency */
    assert_true(train_link_fitted.share > 0 && train_link_fitted.share <= 1);
    assert_true(train_link_fitted.overlap >= 0 && train_link_fitted.overlap <= 1 && train_link_fitted.hop >= 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_testing_start(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_the_seeds),
        cmocka_unit_test(every_field_round_trips),
        cmocka_unit_test(every_label_fits_the_form),
        cmocka_unit_test(bad_values_are_refused_and_named),
        cmocka_unit_test(every_row_is_consistent),
        cmocka_unit_test(help_lists_every_setting),
        cmocka_unit_test(man_page_options_match_table),
        cmocka_unit_test(settings_round_trip_through_config_json),
        cmocka_unit_test(the_run_lock_lets_one_in),
        cmocka_unit_test(an_unclaimed_lock_gives_its_file_back),
        cmocka_unit_test(check_catches_cross_field_errors),
        cmocka_unit_test(model_names_listed),
        cmocka_unit_test(summary_for_the_setup_screen),
        cmocka_unit_test(estimate_can_be_cancelled),
        cmocka_unit_test(run_load_reads_every_part),
        cmocka_unit_test(epoch_rows_files_check_their_numbers),
        cmocka_unit_test(predictions_read_back_subnormal_probabilities),
        cmocka_unit_test(progress_carries_the_running_top5),
        cmocka_unit_test(predictions_record_their_epoch),
        cmocka_unit_test(layer_vanishing_rule),
        cmocka_unit_test(missing_files_are_absent_parts),
        cmocka_unit_test(malformed_files_give_one_clear_line),
        cmocka_unit_test(run_list_sorts_and_summarises),
        cmocka_unit_test(default_dir_is_utc_stamp_and_model),
        cmocka_unit_test(eval_estimate_counts_the_test_set),
        cmocka_unit_test(curve_file_reads_back),
        cmocka_unit_test(slices_cover_the_batch_once),
        cmocka_unit_test(buckets_send_each_gradient_once),
        cmocka_unit_test(threads_split_the_host),
        cmocka_unit_test(ring_allreduce_time),
        cmocka_unit_test(dist_efficiency_hides_the_overlap),
    };
    return cmocka_run_group_tests_name("train", tests, test_dir_setup, test_dir_teardown);
}
