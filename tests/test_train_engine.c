/* Unit tests of the training engine on its thread (also run under ThreadSanitizer): a tiny mlp on the
 * first images of Fashion-MNIST (Debian's dataset-fashion-mnist). Checked against independent
 * computations: the history's val_acc and val_loss recomputed here from predictions.csv, confusion.csv
 * against the predictions, a stopped-and-resumed run against the same run left alone, commands (pause,
 * learning rate, stop) through the snapshot, and clear failures for bad checkpoints and run directories. */
#include <math.h>
#include <poll.h>
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
#include <zlib.h>

#include "vggtop/nn.h"
#include "vggtop/train.h"

#include "nn_testing.h"
#include "testing.h"
#include "train_testing.h"

static train_snapshot snap; /* 80 KB: static, not on the stack */

/* Runs a config to its end; returns the final state. An ended run is nobody's: the trainer (which a front end
 * keeps to show the result) no longer holds its lock. */
static train_state run_to_end(const train_config *c, vt_err *err)
{
    trainer *t;
    assert_int_equal(trainer_create(c, &t, err), VT_OK);
    assert_int_equal(trainer_start(t, err), VT_OK);
    train_state s = trainer_join(t);
    assert_int_equal(run_live_pid(c->run_dir), 0);
    trainer_error(t, err);
    trainer_destroy(t);
    return s;
}

/* Waits on the wake pipe until pred holds for the snapshot (or the run has ended). */
static void wait_for(trainer *t, int (*pred)(const train_snapshot *))
{
    struct pollfd p = {trainer_wake_fd(t), POLLIN, 0};
    for (;;) {
        trainer_snapshot(t, &snap);
        if (pred(&snap) || snap.state == TRAIN_FINISHED || snap.state == TRAIN_FAILED || snap.state == TRAIN_STOPPED)
            return;
        poll(&p, 1, 5); /* not only on wakes: batch progress wakes at most every 50 ms */
    }
}

static void read_file(const char *dir, const char *name, char **text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    vt_err err;
    if (vt_read_file(path, 0, text, NULL, &err) != VT_OK)
        fail_msg("%s", err.msg);
}

static void a_run_writes_a_complete_run_directory(void **state)
{
    (void)state;
    train_config c;
    tiny_config(&c, "complete");
    vt_err err;
    assert_int_equal(run_to_end(&c, &err), TRAIN_FINISHED);

    run_data r;
    assert_int_equal(run_load(c.run_dir, RUN_PART_ALL, &r, &err), VT_OK);
    assert_int_equal(r.parts, RUN_PART_ALL);
    assert_true(r.has_checkpoint);
    assert_string_equal(r.dataset, "Fashion-MNIST");
    assert_int_equal(r.classes, 10);
    assert_int_equal(r.height, 28);
    assert_int_equal(r.channels, 1);
    assert_int_equal(r.n_train, 256);
    assert_int_equal(r.n_test, 100);
    assert_string_equal(r.class_names[9], "Ankle boot");
    assert_int_equal(r.n_history, 2);
    assert_int_equal(r.progress.state, TRAIN_FINISHED);
    assert_int_equal(r.progress.epochs_done, 2);
    assert_int_equal(r.n_pred, 100);
    assert_int_equal(r.pred_classes, 10);

    /* val_acc and val_loss of the last epoch, recomputed from predictions.csv: Keras' accuracy and its
     * cross-entropy with probabilities clipped to [1e-7, 1 - 1e-7]. */
    long correct = 0;
    double loss = 0, mse = 0;
    for (long i = 0; i < r.n_pred; i++) {
        const float *p = r.probs + i * 10;
        int best = 0;
        double sum = 0;
        for (int k = 0; k < 10; k++) {
            best = p[k] > p[best] ? k : best;
            sum += p[k];
            mse += ((k == r.y_true[i]) - p[k]) * ((k == r.y_true[i]) - p[k]) / 10.0;
        }
        assert_true(fabs(sum - 1) < 1e-5); /* softmax rows */
        assert_int_equal(best, r.y_pred[i]);
        correct += best == r.y_true[i];
        double q = fmin(fmax(p[r.y_true[i]], 1e-7), 1 - 1e-7);
        loss -= log(q);
    }
    const train_epoch *last = &r.history[1];
    assert_true(fabs(last->val_acc - (double)correct / 100) < 1e-7);
    assert_true(fabs(last->val_loss - loss / 100) < 1e-6);
    assert_true(fabs(last->val_mse - mse / 100) < 1e-6);
    /* Training metrics are means over the epoch's samples: in range, and the seed's lr. */
    for (int e = 0; e < 2; e++) {
        assert_true(r.history[e].loss > 0 && r.history[e].loss < 20);
        assert_true(r.history[e].acc >= 0 && r.history[e].acc <= 1);
        assert_true(r.history[e].lr == 0.01);
        assert_true(r.history[e].seconds >= 0);
    }
    /* The labels are the data set's: the first 100 test labels of Fashion-MNIST, in order. */
    assert_true(r.y_true[0] == 9 && r.y_true[1] == 2 && r.y_true[2] == 1); /* t10k: ankle boot, pullover, trouser */

    /* confusion.csv: 10 rows of 10 counts, rows = true class, from the same predictions. */
    char *text;
    read_file(c.run_dir, "confusion.csv", &text);
    long cm[100] = {0}, expect[100] = {0};
    char *p = text;
    for (int k = 0; k < 100; k++) {
        cm[k] = strtol(p, &p, 10);
        assert_true(*p == (k % 10 == 9 ? '\n' : ','));
        p++;
    }
    assert_int_equal(*p, '\0');
    free(text);
    for (long i = 0; i < r.n_pred; i++)
        expect[r.y_true[i] * 10 + r.y_pred[i]]++;
    assert_memory_equal(cm, expect, sizeof cm);
    /* report.txt: the classification report with the class names. */
    read_file(c.run_dir, "report.txt", &text);
    assert_non_null(strstr(text, "precision"));
    assert_non_null(strstr(text, "Ankle boot"));
    assert_non_null(strstr(text, "weighted avg"));
    free(text);
    run_free(&r);

    /* A second run into the same directory is refused. */
    trainer *t;
    assert_int_equal(trainer_create(&c, &t, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "already holds a run"));
    assert_non_null(strstr(err.msg, "--resume"));
}

static int mid_epoch_two(const train_snapshot *s) { return s->epoch == 2 && s->batch >= 5; }
static int is_paused(const train_snapshot *s) { return s->state == TRAIN_PAUSED; }

static void stopped_and_resumed_equals_uninterrupted(void **state)
{
    (void)state;
    vt_err err;
    train_config whole, part;
    tiny_config(&whole, "whole");
    whole.epochs = 3;
    whole.limit_train = 1024;
    whole.augment = 1; /* the augmentation generator must be restored too */
    whole.momentum = 0.9; /* and the optimiser's velocity */
    assert_int_equal(run_to_end(&whole, &err), TRAIN_FINISHED);

    part = whole;
    snprintf(part.run_dir, sizeof part.run_dir, "%s/part", test_dir);
    trainer *t;
    assert_int_equal(trainer_create(&part, &t, &err), VT_OK);
    assert_int_equal(trainer_start(t, &err), VT_OK);
    /* Pause somewhere in epoch 2, then stop there: the checkpoint records the position in the epoch. */
    wait_for(t, mid_epoch_two);
    trainer_pause(t);
    wait_for(t, is_paused);
    assert_int_equal(snap.state, TRAIN_PAUSED);
    assert_int_equal(run_live_pid(part.run_dir), (long)getpid()); /* a paused run is still this process's */
    trainer_stop(t);
    assert_int_equal(trainer_join(t), TRAIN_STOPPED);
    assert_int_equal(run_live_pid(part.run_dir), 0); /* a stopped one is anyone's to resume */
    trainer_snapshot(t, &snap);
    long stopped_at = snap.batch;
    int stopped_epochs = snap.epochs_done; /* 1 unless the pause landed after epoch 2's last batch */
    assert_true(stopped_epochs == 1 || stopped_epochs == 2);
    trainer_destroy(t);

    train_config again;
    assert_int_equal(train_config_load(part.run_dir, &again, &err), VT_OK);
    again.resume = 1;
    assert_int_equal(trainer_create(&again, &t, &err), VT_OK);
    assert_int_equal(trainer_start(t, &err), VT_OK);
    assert_int_equal(trainer_join(t), TRAIN_FINISHED);
    trainer_snapshot(t, &snap);
    print_message("stopped after %d epochs and %ld batches, resumed\n", stopped_epochs, stopped_at);
    assert_int_equal(snap.resumed_epochs, stopped_epochs);
    assert_int_equal(snap.resumed_batch, stopped_at == snap.batches ? 0 : stopped_at);
    /* elapsed goes on across the resume: at least the time of the three epochs (it restarted at 0). */
    double epochs_time = snap.history[0].seconds + snap.history[1].seconds + snap.history[2].seconds;
    assert_true(snap.elapsed >= epochs_time - 1e-6);
    assert_true(snap.eta == 0 && snap.eta_run == 0); /* nothing is left of an ended run */
    trainer_destroy(t);

    run_data a, b;
    assert_int_equal(run_load(whole.run_dir, RUN_PART_HISTORY | RUN_PART_PREDICTIONS, &a, &err), VT_OK);
    assert_int_equal(run_load(part.run_dir, RUN_PART_HISTORY | RUN_PART_PREDICTIONS, &b, &err), VT_OK);
    assert_int_equal(a.n_history, 3);
    assert_int_equal(b.n_history, 3);
    for (int e = 0; e < 3; e++) {
        /* Every column but seconds, bit for bit (same seed, same thread count). */
        const train_epoch *x = &a.history[e], *y = &b.history[e];
        if (x->loss != y->loss || x->acc != y->acc || x->mse != y->mse || x->val_loss != y->val_loss ||
            x->val_acc != y->val_acc || x->val_mse != y->val_mse || x->lr != y->lr)
            fail_msg("epoch %d differs after a stop at batch %ld: loss %.9f vs %.9f, val_loss %.9f vs %.9f", e + 1,
                     stopped_at, x->loss, y->loss, x->val_loss, y->val_loss);
    }
    assert_memory_equal(a.probs, b.probs, sizeof(float) * 100 * 10);
    run_free(&a);
    run_free(&b);

    /* Resuming a finished run with no more epochs does nothing and says so; asking for fewer is refused. */
    again.epochs = 3;
    assert_int_equal(run_to_end(&again, &err), TRAIN_FINISHED);
    again.epochs = 2;
    assert_int_equal(run_to_end(&again, &err), TRAIN_FAILED);
    assert_non_null(strstr(err.msg, "--epochs"));
}

/* The whole run's time left is known from the second epoch's first moment on, before any of its batches
 * (watchers of a run used to read no time left at the start of every epoch). */
static void the_time_left_survives_an_epoch_start(void **state)
{
    (void)state;
    vt_err err;
    train_config c;
    tiny_config(&c, "eta-start");
    c.epochs = 1;
    assert_int_equal(run_to_end(&c, &err), TRAIN_FINISHED);
    train_config again;
    assert_int_equal(train_config_load(c.run_dir, &again, &err), VT_OK);
    again.resume = 1;
    again.epochs = 3;
    trainer *t;
    assert_int_equal(trainer_create(&again, &t, &err), VT_OK);
    trainer_pause(t); /* taken before the first batch of epoch 2 */
    assert_int_equal(trainer_start(t, &err), VT_OK);
    wait_for(t, is_paused);
    assert_int_equal(snap.state, TRAIN_PAUSED);
    assert_int_equal(snap.epoch, 2);
    assert_int_equal(snap.batch, 0);
    run_data r;
    assert_int_equal(run_load(c.run_dir, RUN_PART_HISTORY, &r, &err), VT_OK);
    assert_int_equal(r.n_history, 1);
    /* Two epochs to go, each as long as the one done. */
    assert_true(r.history[0].seconds > 0);
    assert_true(fabs(snap.eta_run - 2 * r.history[0].seconds) <= 2 * 0.0005 + 1e-9); /* history.csv: ms */
    run_free(&r);
    trainer_stop(t);
    assert_int_equal(trainer_join(t), TRAIN_STOPPED);
    trainer_destroy(t);
}

static int is_evaluating(const train_snapshot *s) { return s->state == TRAIN_EVALUATING; }
static int eval_moved(const train_snapshot *s) { return s->state == TRAIN_EVALUATING && s->eval_batch >= 2; }

/* A stop during the test-set evaluation takes effect there (it used to wait for the whole evaluation:
 * many minutes for a VGG on CIFAR-100's 10,000 test images): the epoch's training is checkpointed, and
 * --resume evaluates it and ends with the history of the run left alone. */
static void a_stop_during_evaluation_is_prompt_and_resumable(void **state)
{
    (void)state;
    vt_err err;
    train_config whole, part;
    tiny_config(&whole, "eval-whole");
    whole.limit_test = 10000; /* hundreds of prediction batches: time to stop between two of them */
    whole.epochs = 1;
    assert_int_equal(run_to_end(&whole, &err), TRAIN_FINISHED);

    part = whole;
    snprintf(part.run_dir, sizeof part.run_dir, "%s/eval-stop", test_dir);
    trainer *t;
    assert_int_equal(trainer_create(&part, &t, &err), VT_OK);
    assert_int_equal(trainer_start(t, &err), VT_OK);
    wait_for(t, is_evaluating);
    assert_int_equal(snap.state, TRAIN_EVALUATING);
    /* The test-set pass publishes its progress: 10000 images in steps of 32. */
    wait_for(t, eval_moved);
    assert_int_equal(snap.eval_batches, (10000 + 31) / 32);
    assert_true(snap.eval_batch >= 1 && snap.eval_batch < snap.eval_batches);
    assert_true(snap.eval_eta > 0);
    assert_true(snap.eta_run >= snap.eval_eta);
    trainer_stop(t);
    assert_int_equal(trainer_join(t), TRAIN_STOPPED);
    trainer_snapshot(t, &snap);
    assert_int_equal(snap.epochs_done, 0);
    trainer_destroy(t);
    char path[4200];
    snprintf(path, sizeof path, "%s/predictions.csv", part.run_dir);
    assert_int_equal(access(path, F_OK), -1); /* the evaluation was left, not written half */

    train_config again;
    assert_int_equal(train_config_load(part.run_dir, &again, &err), VT_OK);
    again.resume = 1;
    assert_int_equal(trainer_create(&again, &t, &err), VT_OK);
    assert_int_equal(trainer_start(t, &err), VT_OK);
    assert_int_equal(trainer_join(t), TRAIN_FINISHED);
    trainer_snapshot(t, &snap);
    assert_int_equal(snap.resumed_epochs, 0);
    assert_int_equal(snap.n_history, 1);
    trainer_destroy(t);
    run_data a, b;
    assert_int_equal(run_load(whole.run_dir, RUN_PART_HISTORY, &a, &err), VT_OK);
    assert_int_equal(run_load(part.run_dir, RUN_PART_HISTORY, &b, &err), VT_OK);
    assert_int_equal(a.n_history, 1);
    assert_int_equal(b.n_history, 1);
    assert_true(a.history[0].loss == b.history[0].loss && a.history[0].acc == b.history[0].acc);
    assert_true(a.history[0].val_loss == b.history[0].val_loss && a.history[0].val_acc == b.history[0].val_acc);
    assert_true(a.history[0].val_mse == b.history[0].val_mse && a.history[0].lr == b.history[0].lr);
    run_free(&a);
    run_free(&b);
}

static void commands_reach_the_engine(void **state)
{
    (void)state;
    vt_err err;
    train_config c;
    tiny_config(&c, "commands");
    trainer *t;
    assert_int_equal(trainer_create(&c, &t, &err), VT_OK);
    trainer_snapshot(t, &snap);
    assert_int_equal(snap.state, TRAIN_IDLE);
    assert_string_equal(snap.model, "mlp");
    assert_string_equal(snap.run_dir, c.run_dir);
    assert_int_equal(snap.epochs, 2);
    /* Paused before the first batch: the learning rate changes while nothing trains. */
    trainer_pause(t);
    assert_int_equal(trainer_start(t, &err), VT_OK);
    wait_for(t, is_paused);
    assert_int_equal(snap.state, TRAIN_PAUSED);
    assert_int_equal(snap.batch, 0);
    assert_int_equal(snap.samples, 0);
    assert_int_equal(trainer_set_lr(t, 0, &err), VT_EUSAGE);
    assert_int_equal(trainer_set_lr(t, 11, &err), VT_EUSAGE);
    assert_int_equal(trainer_set_lr(t, 0.005, &err), VT_OK);
    /* Scaling starts from the change not yet applied (the Dashboard's + used to double the rate in use,
     * so two presses before the next batch doubled it once): x2, x2 give 0.02; out of range is refused
     * and leaves the pending rate alone; x1/4 brings it back to 0.005. */
    double lr = 0;
    assert_int_equal(trainer_scale_lr(t, 2, &lr, &err), VT_OK);
    assert_true(lr == 0.01);
    assert_int_equal(trainer_scale_lr(t, 2, &lr, &err), VT_OK);
    assert_true(lr == 0.02);
    assert_int_equal(trainer_scale_lr(t, 1000, &lr, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "learning rate"));
    assert_int_equal(trainer_scale_lr(t, 0.25, &lr, &err), VT_OK);
    assert_true(lr == 0.005);
    trainer_resume(t);
    assert_int_equal(trainer_join(t), TRAIN_FINISHED);
    trainer_snapshot(t, &snap);
    assert_int_equal(snap.state, TRAIN_FINISHED);
    assert_string_equal(snap.message, "finished 2 epochs");
    assert_int_equal(snap.n_history, 2);
    assert_int_equal(snap.epochs_done, 2);
    assert_int_equal(snap.batches, 8);
    assert_int_equal(snap.batch, 8);
    assert_int_equal(snap.samples, 256);
    assert_true(snap.lr == 0.005);
    assert_true(snap.history[0].lr == 0.005 && snap.history[1].lr == 0.005);
    assert_int_equal(snap.eval_generation, 2);
    assert_true(snap.best_val_acc >= snap.history[0].val_acc && snap.best_val_acc >= snap.history[1].val_acc);
    assert_true(snap.last_val_acc == snap.history[1].val_acc);
    assert_true(snap.n_curve >= 1 && snap.n_curve <= TRAIN_CURVE_MAX);
    assert_int_equal(snap.curve_batch[snap.n_curve - 1], 8);
    assert_int_equal(snap.classes, 10);
    assert_string_equal(snap.dataset, "Fashion-MNIST");
    assert_true(snap.params > 0);
    assert_int_equal(trainer_error(t, &err), VT_OK);
    trainer_destroy(t);

    /* A stop before the first batch still leaves a checkpoint to resume from. */
    tiny_config(&c, "stop-at-once");
    assert_int_equal(trainer_create(&c, &t, &err), VT_OK);
    trainer_stop(t);
    assert_int_equal(trainer_start(t, &err), VT_OK);
    assert_int_equal(trainer_join(t), TRAIN_STOPPED);
    trainer_snapshot(t, &snap);
    assert_non_null(strstr(snap.message, "stopped after 0 epochs and 0 steps;")); /* plurals by hand */
    trainer_destroy(t);
    tiny_config(&c, "one-epoch");
    c.limit_train = 32;
    c.epochs = 1;
    assert_int_equal(trainer_create(&c, &t, &err), VT_OK);
    assert_int_equal(trainer_start(t, &err), VT_OK);
    assert_int_equal(trainer_join(t), TRAIN_FINISHED);
    trainer_snapshot(t, &snap);
    assert_string_equal(snap.message, "finished 1 epoch"); /* not "1 epochs" */
    trainer_destroy(t);
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint.bin", c.run_dir);
    assert_int_equal(access(path, R_OK), 0);
    trainer_destroy(NULL);
}

/* Writes text to dir/name through a rename, as the engine may read the file at any moment (commands.json). */
static void write_atomically(const char *dir, const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    vt_err err;
    if (vt_write_file_atomic(path, text, strlen(text), &err) != VT_OK)
        fail_msg("%s", err.msg);
}

static long ack_of(const train_snapshot *s) { return s->command_ack; }
static long want_ack;
static int acked(const train_snapshot *s) { return ack_of(s) >= want_ack; }

/* commands.json, as vggtop ctl writes it (this process cannot send through run_command_send: it refuses a run
 * no other process trains), reaches the engine while it is paused and is acknowledged; an old seq is not taken
 * twice, and a malformed file is ignored by the engine and refused clearly by the reader. */
static void the_commands_file_reaches_the_engine(void **state)
{
    (void)state;
    vt_err err;
    run_command c;
    assert_int_equal(run_command_parse("lr", "0.5", &c, &err), VT_OK);
    assert_true(c.kind == RUN_CMD_LR && c.lr == 0.5);
    assert_int_equal(run_command_parse("lr", "11", &c, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "lr: '11'"));
    assert_int_equal(run_command_parse("pause", "3", &c, &err), VT_EUSAGE);
    assert_int_equal(run_command_parse("fly", NULL, &c, &err), VT_EUSAGE);
    assert_int_equal(run_command_parse("stop", NULL, &c, &err), VT_OK);
    assert_int_equal(c.kind, RUN_CMD_STOP);

    train_config cfg;
    tiny_config(&cfg, "ctl-file");
    cfg.epochs = 50;
    trainer *t;
    assert_int_equal(run_command_send(cfg.run_dir, &c, &err), VT_EUSAGE); /* no run there yet */
    assert_non_null(strstr(err.msg, cfg.run_dir));
    assert_int_equal(trainer_create(&cfg, &t, &err), VT_OK);
    trainer_pause(t);
    assert_int_equal(trainer_start(t, &err), VT_OK);
    wait_for(t, is_paused);
    write_atomically(cfg.run_dir, RUN_COMMANDS, "{\"seq\": 1, \"command\": \"lr\", \"lr\": 0.0625}\n");
    want_ack = 1;
    wait_for(t, acked);
    assert_int_equal(snap.command_ack, 1);
    assert_true(snap.lr == 0.0625); /* taken while paused */
    assert_int_equal(snap.state, TRAIN_PAUSED);
    assert_int_equal(run_command_read(cfg.run_dir, &c, &err), VT_OK);
    assert_int_equal(c.seq, 1);
    /* A malformed file: the reader says what is wrong, the engine stays paused. */
    write_atomically(cfg.run_dir, RUN_COMMANDS, "{\"seq\": 2, \"command\": \"dance\"}");
    assert_int_equal(run_command_read(cfg.run_dir, &c, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, RUN_COMMANDS));
    usleep(700000);
    trainer_snapshot(t, &snap);
    assert_int_equal(snap.command_ack, 1);
    assert_int_equal(snap.state, TRAIN_PAUSED);
    /* progress.json carries the acknowledgement for other processes. */
    run_data r;
    assert_int_equal(run_load(cfg.run_dir, RUN_PART_PROGRESS, &r, &err), VT_OK);
    assert_int_equal(r.progress.command_ack, 1);
    run_free(&r);
    write_atomically(cfg.run_dir, RUN_COMMANDS, "{\"seq\": 3, \"command\": \"stop\"}");
    assert_int_equal(trainer_join(t), TRAIN_STOPPED);
    trainer_snapshot(t, &snap);
    assert_int_equal(snap.command_ack, 3);
    trainer_destroy(t);

    /* Resumed, the engine does not take the old command again (it would stop at once). */
    train_config again;
    assert_int_equal(train_config_load(cfg.run_dir, &again, &err), VT_OK);
    again.resume = 1;
    again.epochs = 1;
    assert_int_equal(run_to_end(&again, &err), TRAIN_FINISHED);
}

static void copy_file(const char *from, const char *to)
{
    char *data;
    size_t len;
    vt_err err;
    assert_int_equal(vt_read_file(from, 0, &data, &len, &err), VT_OK);
    assert_int_equal(vt_write_file_atomic(to, data, len, &err), VT_OK);
    free(data);
}

/* Rewrites the int64 at byte `at` of the engine's blob inside a checkpoint and fixes the CRC, so the file
 * passes nn's checks and only the engine's own validation can refuse it. Layout (nn/checkpoint.c): extra
 * length E at offset 88, the blob just before the 4-byte CRC-32 of everything before it. */
static void patch_blob(const char *path, size_t at, int64_t value)
{
    char *data;
    size_t len;
    vt_err err;
    assert_int_equal(vt_read_file(path, 0, &data, &len, &err), VT_OK);
    uint64_t extra = 0;
    for (int i = 7; i >= 0; i--)
        extra = extra << 8 | (unsigned char)data[88 + i];
    assert_true(extra >= at + 8 && extra + 4 + 96 <= len);
    unsigned char *blob = (unsigned char *)data + len - 4 - extra;
    for (int i = 0; i < 8; i++)
        blob[at + (size_t)i] = (unsigned char)((uint64_t)value >> (8 * i));
    uLong crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)data, (uInt)(len - 4));
    for (int i = 0; i < 4; i++)
        data[len - 4 + (size_t)i] = (char)(crc >> (8 * i));
    assert_int_equal(vt_write_file_atomic(path, data, len, &err), VT_OK);
    free(data);
}

/* Rewrites a checkpoint's training state in the version 1 layout: the header without its last 8 bytes
 * (correct5), each history row without its last two doubles (the top-5 columns), version 1, a new extra
 * length and CRC. */
static void to_blob_version_1(const char *path)
{
    char *data;
    size_t len;
    vt_err err;
    assert_int_equal(vt_read_file(path, 0, &data, &len, &err), VT_OK);
    uint64_t extra = 0;
    for (int i = 7; i >= 0; i--)
        extra = extra << 8 | (unsigned char)data[88 + i];
    size_t start = len - 4 - extra, head = 19 * 8, row = 10 * 8, old_row = 8 * 8; /* blob_header: 19 fields of 8 */
    int64_t epochs;
    memcpy(&epochs, data + start + 16, 8);
    assert_int_equal(extra, head + (size_t)epochs * row);
    char *out = malloc(len);
    assert_non_null(out);
    memcpy(out, data, start);
    size_t n = start;
    memcpy(out + n, data + start, head - 8);
    int64_t one = 1;
    memcpy(out + n + 8, &one, 8);
    n += head - 8;
    for (int64_t e = 0; e < epochs; e++, n += old_row)
        memcpy(out + n, data + start + head + (size_t)e * row, old_row);
    uint64_t new_extra = n - start;
    for (int i = 0; i < 8; i++)
        out[88 + i] = (char)(new_extra >> (8 * i));
    uLong crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)out, (uInt)n);
    for (int i = 0; i < 4; i++)
        out[n + (size_t)i] = (char)(crc >> (8 * i));
    assert_int_equal(vt_write_file_atomic(path, out, n + 4, &err), VT_OK);
    free(out);
    free(data);
}

static void bad_checkpoints_fail_clearly(void **state)
{
    (void)state;
    vt_err err;
    train_config c, other;
    tiny_config(&c, "victim");
    c.epochs = 1;
    assert_int_equal(run_to_end(&c, &err), TRAIN_FINISHED);
    tiny_config(&other, "other");
    other.epochs = 1;
    strcpy(other.model, "cnn");
    strcpy(other.conv, "onednn"); /* see the diverging run below */
    other.limit_train = 32;
    other.limit_test = 10;
    assert_int_equal(run_to_end(&other, &err), TRAIN_FINISHED);

    char ck[4200], saved[512], other_ck[4200];
    snprintf(ck, sizeof ck, "%s/checkpoint.bin", c.run_dir);
    snprintf(saved, sizeof saved, "%s/saved.bin", test_dir);
    snprintf(other_ck, sizeof other_ck, "%s/checkpoint.bin", other.run_dir);
    copy_file(ck, saved);
    train_config r;
    assert_int_equal(train_config_load(c.run_dir, &r, &err), VT_OK);
    r.resume = 1;
    r.epochs = 2;

    /* Truncated: half the file. */
    struct stat st;
    assert_int_equal(stat(saved, &st), 0);
    assert_int_equal(truncate(ck, st.st_size / 2), 0);
    assert_int_equal(run_to_end(&r, &err), TRAIN_FAILED);
    assert_int_equal(err.code, VT_EUSAGE);
    assert_non_null(strstr(err.msg, "checkpoint.bin"));

    /* Another model's checkpoint. */
    copy_file(other_ck, ck);
    assert_int_equal(run_to_end(&r, &err), TRAIN_FAILED);
    assert_int_equal(err.code, VT_EUSAGE);
    assert_non_null(strstr(err.msg, "cnn"));
    assert_non_null(strstr(err.msg, "mlp"));

    /* A flipped byte in the middle (the CRC catches it). */
    copy_file(saved, ck);
    FILE *f = fopen(ck, "r+b");
    assert_non_null(f);
    fseek(f, st.st_size / 2, SEEK_SET);
    int byte = fgetc(f);
    fseek(f, st.st_size / 2, SEEK_SET);
    fputc(byte ^ 0x40, f);
    fclose(f);
    assert_int_equal(run_to_end(&r, &err), TRAIN_FAILED);
    assert_non_null(strstr(err.msg, "checkpoint.bin"));

    /* A whole file whose training state is wrong: the engine's own checks (blob offsets: 0 magic, 8 version,
     * 16 epochs done, 24 batch position). */
    static const struct {
        size_t at;
        int64_t value;
        const char *says;
    } blob_cases[] = {
        {0, 0x4b434f4c42544f4eLL, "not vggtop's"}, {8, 3, "version 3"}, {16, 5, "bad length"},
        {24, 1000, "out of range"}, {24, -1, "out of range"},
    };
    for (size_t i = 0; i < sizeof blob_cases / sizeof blob_cases[0]; i++) {
        copy_file(saved, ck);
        patch_blob(ck, blob_cases[i].at, blob_cases[i].value);
        if (run_to_end(&r, &err) != TRAIN_FAILED || !strstr(err.msg, blob_cases[i].says) ||
            !strstr(err.msg, "checkpoint.bin"))
            fail_msg("blob case %zu: \"%s\"", i, err.msg);
    }
    /* The same patch with the blob's own value again is accepted: the helper itself is sound. */
    copy_file(saved, ck);
    patch_blob(ck, 8, 2);
    assert_int_equal(run_to_end(&r, &err), TRAIN_FINISHED);
    /* A version 1 training state (before top-5 accuracy: a header 8 bytes shorter, rows of 8 doubles) is
     * still read: the run resumes, its old epochs with NaN top-5. */
    copy_file(saved, ck);
    to_blob_version_1(ck);
    assert_int_equal(run_to_end(&r, &err), TRAIN_FINISHED);
    run_data after;
    assert_int_equal(run_load(r.run_dir, RUN_PART_HISTORY, &after, &err), VT_OK);
    assert_int_equal(after.n_history, 2);
    assert_true(isnan(after.history[0].top5));
    assert_true(after.history[1].top5 >= after.history[1].acc && after.history[1].top5 <= 1);
    assert_true(after.history[1].val_top5 >= after.history[1].val_acc);
    run_free(&after);
    copy_file(saved, ck);

    /* Settings that changed since the checkpoint (another batch size) are refused, not trained on. */
    copy_file(saved, ck);
    train_config changed = r;
    changed.batch_size = 16;
    assert_int_equal(run_to_end(&changed, &err), TRAIN_FAILED);
    assert_non_null(strstr(err.msg, "batch size"));

    /* The whole file again: the run continues. */
    assert_int_equal(run_to_end(&r, &err), TRAIN_FINISHED);
    run_data d;
    assert_int_equal(run_load(c.run_dir, RUN_PART_HISTORY, &d, &err), VT_OK);
    assert_int_equal(d.n_history, 2);
    run_free(&d);

    /* No checkpoint, or not a run directory at all. */
    train_config none;
    tiny_config(&none, "never-ran");
    none.resume = 1;
    trainer *t;
    assert_int_equal(trainer_create(&none, &t, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "--resume"));
}

static void bad_data_and_divergence_fail_clearly(void **state)
{
    (void)state;
    vt_err err;
    train_config c;
    tiny_config(&c, "no-data");
    strcpy(c.data, test_dir); /* a directory with no data set in it */
    assert_int_equal(run_to_end(&c, &err), TRAIN_FAILED);
    assert_int_equal(err.code, VT_EUSAGE);
    assert_true(strlen(err.msg) > 0);
    assert_null(strchr(err.msg, '\n'));
    /* A new run that never started leaves no directory behind (it would show in Compare as a broken run);
     * an empty directory the user made stays, emptied again. */
    struct stat st;
    assert_int_equal(stat(c.run_dir, &st), -1);
    char made[300], prog[340];
    snprintf(made, sizeof made, "%s/made-by-user", test_dir);
    assert_int_equal(mkdir(made, 0755), 0);
    strcpy(c.run_dir, made);
    assert_int_equal(run_to_end(&c, &err), TRAIN_FAILED);
    snprintf(prog, sizeof prog, "%s/progress.json", made);
    assert_int_equal(stat(made, &st), 0);
    assert_int_equal(stat(prog, &st), -1);
    /* A default directory under runs/: the same, and a runs folder that cannot be made names --runs. */
    c.run_dir[0] = '\0';
    snprintf(c.runs, sizeof c.runs, "%s/runs-parent", test_dir);
    assert_int_equal(run_to_end(&c, &err), TRAIN_FAILED);
    assert_int_equal(rmdir(c.runs), 0); /* empty: the run's own folder is gone */
    trainer *bad;
    snprintf(c.runs, sizeof c.runs, "/proc/vggtop-no-such/runs");
    assert_int_equal(trainer_create(&c, &bad, &err), VT_EUSAGE);
    assert_true(strncmp(err.msg, "--runs:", 7) == 0);
    /* An exact run directory must be new or empty: the runs folder itself is refused. */
    tiny_config(&c, "");
    c.run_dir[strlen(c.run_dir) - 1] = '\0'; /* test_dir, which holds the other tests' runs */
    assert_int_equal(trainer_create(&c, &bad, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "not empty"));
    assert_non_null(strstr(err.msg, "--runs"));

    /* After a good first epoch, a learning rate far too high makes the cnn diverge: the run fails with a
     * hint, the checkpoint of the last finished epoch is kept whole, and a resume with a sane learning
     * rate carries on from it. */
    tiny_config(&c, "diverge");
    strcpy(c.model, "cnn");
    /* oneDNN's convolutions, not "auto"'s winograd backend: these runs are about the engine, and the
     * winograd backend's loops under ThreadSanitizer took this binary from 28 s to 80 s. Its threads are
     * checked under ThreadSanitizer by test_nn_pool. */
    strcpy(c.conv, "onednn");
    /* With momentum lr 10 ends in a NaN on every kernel tried (OpenBLAS's Prescott, Haswell, SkylakeX, Zen
     * and Cooperlake cores, oneDNN at AVX2 and AVX-512); without it the loss stayed finite through epoch 3
     * on some (a Zen 4 with OpenBLAS's Cooperlake core, once the first layer moved to oneDNN's direct
     * convolution). */
    c.momentum = 0.9;
    c.limit_train = 128;
    c.limit_test = 20;
    c.epochs = 1;
    assert_int_equal(run_to_end(&c, &err), TRAIN_FINISHED);
    train_config again;
    assert_int_equal(train_config_load(c.run_dir, &again, &err), VT_OK);
    again.resume = 1;
    again.epochs = 3;
    trainer *t;
    assert_int_equal(trainer_create(&again, &t, &err), VT_OK);
    trainer_pause(t); /* taken before the first batch: the new rate applies from epoch 2's first batch */
    assert_int_equal(trainer_set_lr(t, 10, &err), VT_OK);
    assert_int_equal(trainer_start(t, &err), VT_OK);
    trainer_resume(t);
    assert_int_equal(trainer_join(t), TRAIN_FAILED);
    trainer_error(t, &err);
    trainer_snapshot(t, &snap);
    trainer_destroy(t);
    print_message("lr 10: %s\n", err.msg);
    assert_int_equal(err.code, VT_EUSAGE);
    assert_non_null(strstr(err.msg, "not finite"));
    assert_non_null(strstr(err.msg, "--lr"));
    assert_null(strchr(err.msg, '\n'));
    assert_int_equal(snap.state, TRAIN_FAILED);
    assert_string_equal(snap.message, err.msg);
    assert_true(snap.epochs_done >= 1 && snap.epochs_done < 3);
    assert_int_equal(snap.diverged, snap.epochs_done + 1); /* the alerts' "nonfinite": the epoch that failed */
    assert_int_equal(snap.early_stopped, 0);
    run_data d;
    assert_int_equal(run_load(c.run_dir, RUN_PART_HISTORY | RUN_PART_PROGRESS, &d, &err), VT_OK);
    assert_int_equal(d.n_history, snap.epochs_done);
    assert_int_equal(d.progress.state, TRAIN_FAILED);
    run_free(&d);

    /* The kept checkpoint is the last finished epoch's: evaluating it gives that epoch's val_ numbers. */
    train_epoch ev;
    long n_test;
    assert_int_equal(run_load(c.run_dir, RUN_PART_HISTORY, &d, &err), VT_OK);
    assert_int_equal(run_evaluate(c.run_dir, NULL, 1, RUN_CHECKPOINT, &ev, &n_test, &err), VT_OK);
    assert_int_equal(n_test, 20);
    print_message("evaluate: %.9f %.9f, history: %.9f %.9f\n", ev.val_loss, ev.val_acc, d.history[d.n_history - 1].val_loss, d.history[d.n_history - 1].val_acc);
    assert_true(fabs(ev.val_loss - d.history[d.n_history - 1].val_loss) < 1e-7); /* csv: 8 decimals */
    assert_true(fabs(ev.val_acc - d.history[d.n_history - 1].val_acc) < 1e-9);
    run_free(&d);

    /* And it carries on with a sane learning rate. */
    assert_int_equal(trainer_create(&again, &t, &err), VT_OK);
    trainer_pause(t);
    assert_int_equal(trainer_set_lr(t, 0.01, &err), VT_OK);
    assert_int_equal(trainer_start(t, &err), VT_OK);
    trainer_resume(t);
    assert_int_equal(trainer_join(t), TRAIN_FINISHED);
    trainer_destroy(t);
    assert_int_equal(run_load(c.run_dir, RUN_PART_HISTORY, &d, &err), VT_OK);
    assert_int_equal(d.n_history, 3);
    assert_true(d.history[2].lr == 0.01 && isfinite(d.history[2].val_loss));
    run_free(&d);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (train_testing_start(argv))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_run_writes_a_complete_run_directory),
        cmocka_unit_test(stopped_and_resumed_equals_uninterrupted),
        cmocka_unit_test(a_stop_during_evaluation_is_prompt_and_resumable),
        cmocka_unit_test(the_time_left_survives_an_epoch_start),
        cmocka_unit_test(commands_reach_the_engine),
        cmocka_unit_test(the_commands_file_reaches_the_engine),
        cmocka_unit_test(bad_checkpoints_fail_clearly),
        cmocka_unit_test(bad_data_and_divergence_fail_clearly),
    };
    return cmocka_run_group_tests_name("train", tests, train_testing_setup, test_dir_teardown);
}
