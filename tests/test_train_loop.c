/* Unit tests of the epoch loop against an in-memory recorder (also run under ThreadSanitizer): a tiny mlp on
 * the first images of Fashion-MNIST (Debian's dataset-fashion-mnist) trains while the recorder keeps every
 * record the engine makes, in order, instead of writing a run directory. Checked: the order of the records
 * (config first; per epoch its layers, its evaluation, its checkpoint, then the history; the last progress
 * says the run ended), their values against computations made here (each epoch's val_acc from the
 * predictions it recorded, the checkpoints' positions), a command taken through the recorder, a failed new
 * run discarded, and the null recorder of the ranks other than 0 writing nothing. The snapshot's derived
 * numbers (rates, ETAs, the curve's thinning) are checked on their own. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vggtop/nn.h"
#include "vggtop/train.h"

#include "../src/train/train_internal.h"
#include "nn_testing.h"
#include "testing.h"
#include "train_testing.h"

/* ---- the in-memory recorder ---------------------------------------------------------------------------- */

typedef enum { EV_OPEN, EV_CONFIG, EV_PROGRESS, EV_LAYERS, EV_EVALUATION, EV_HISTORY, EV_CHECKPOINT,
               EV_DISCARD } ev_kind;

/* One record, with what the checks need of it. */
typedef struct event {
    ev_kind kind;
    int epoch;          /* LAYERS, EVALUATION: the epoch; HISTORY: its rows; CHECKPOINT: epochs done in its blob */
    long batch;         /* CHECKPOINT: batches done of the next epoch, from its blob */
    int n;              /* LAYERS: rows; EVALUATION: predictions */
    train_state state;  /* PROGRESS */
    int epochs_done;    /* PROGRESS */
    long command_ack;   /* PROGRESS */
    double value;       /* EVALUATION: accuracy recomputed here from its predictions; HISTORY: its last val_acc */
    char name[32];      /* CHECKPOINT */
} event;

#define MAX_EVENTS 4096

typedef struct mem_recorder {
    recorder base;
    event ev[MAX_EVENTS];
    int n, overflow;
    int stop_after_history; /* its command channel holds a stop (seq 1) once a history was recorded */
    int histories;
} mem_recorder;

static mem_recorder mem; /* ~300 KB: static, not on the stack; read by the test after the engine's thread ended */

static event *record(recorder *r, ev_kind kind)
{
    mem_recorder *m = (mem_recorder *)r;
    static event spare;
    if (m->n == MAX_EVENTS) {
        m->overflow = 1;
        return &spare;
    }
    event *e = &m->ev[m->n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    return e;
}

static int mem_open(recorder *r, train_config *cfg, vt_err *err)
{
    (void)cfg, (void)err;
    record(r, EV_OPEN);
    return VT_OK;
}

static int mem_check(recorder *r, vt_err *err) { return (void)r, (void)err, VT_OK; }
static int mem_resume(recorder *r, char *created, size_t size, vt_err *err)
{
    return (void)r, (void)created, (void)size, (void)err, VT_OK;
}

static int mem_config(recorder *r, const train_config *cfg, const dataset *ds, const model_config *mc,
                      long long params, const char *created, const run_ranks *ranks, vt_err *err)
{
    (void)cfg, (void)ds, (void)mc, (void)created, (void)ranks, (void)err;
    record(r, EV_CONFIG)->n = (int)params;
    return VT_OK;
}

static int mem_progress(recorder *r, const train_snapshot *s, vt_err *err)
{
    (void)err;
    event *e = record(r, EV_PROGRESS);
    e->state = s->state;
    e->epoch = s->epoch;
    e->epochs_done = s->epochs_done;
    e->command_ack = s->command_ack;
    return VT_OK;
}

static int mem_layers(recorder *r, int epoch, const run_layer_row *rows, int n, vt_err *err)
{
    (void)err;
    event *e = record(r, EV_LAYERS);
    e->epoch = epoch;
    e->n = n;
    for (int i = 0; i < n; i++)
        if (rows[i].epoch != epoch || !(rows[i].weight_norm > 0))
            e->n = -1; /* a row of another epoch, or a layer without weights */
    return VT_OK;
}

static int mem_evaluation(recorder *r, int epoch, const int *y_true, const float *probs, long n, int C,
                          const char *const *names, vt_err *err)
{
    (void)names, (void)err;
    event *e = record(r, EV_EVALUATION);
    e->epoch = epoch;
    e->n = (int)n;
    long correct = 0;
    for (long i = 0; i < n; i++) {
        int best = 0;
        for (int c = 1; c < C; c++)
            best = probs[i * C + c] > probs[i * C + best] ? c : best;
        correct += best == y_true[i];
    }
    e->value = (double)correct / (double)n;
    return VT_OK;
}

static int mem_history(recorder *r, const train_epoch *rows, int n, vt_err *err)
{
    (void)err;
    event *e = record(r, EV_HISTORY);
    e->epoch = n;
    e->value = n ? rows[n - 1].val_acc : NAN;
    ((mem_recorder *)r)->histories++;
    return VT_OK;
}

static int mem_checkpoint(recorder *r, const char *name, const model *m, const void *blob, size_t len, vt_err *err)
{
    (void)m, (void)err;
    event *e = record(r, EV_CHECKPOINT);
    snprintf(e->name, sizeof e->name, "%s", name);
    if (train_blob_position(blob, len, &e->epoch, &e->batch) != 0)
        e->epoch = -1;
    return VT_OK;
}

static int mem_restore(recorder *r, const char *name, model *m, void *blob, size_t cap, size_t *len, vt_err *err)
{
    (void)r, (void)name, (void)m, (void)blob, (void)cap;
    *len = 0;
    return vt_fail(err, VT_EINTERNAL, "the memory recorder restores nothing");
}

static int mem_command(recorder *r, run_command *c, vt_err *err)
{
    (void)err;
    const mem_recorder *m = (const mem_recorder *)r;
    *c = m->stop_after_history && m->histories > 0 ? (run_command){1, RUN_CMD_STOP, 0} : (run_command){0, 0, 0};
    return VT_OK;
}

static void mem_discard(recorder *r) { record(r, EV_DISCARD); }
static void mem_destroy(recorder *r) { (void)r; }

static const recorder_ops mem_ops = {
    .open = mem_open,
    .check = mem_check,
    .resume = mem_resume,
    .config = mem_config,
    .progress = mem_progress,
    .layers = mem_layers,
    .evaluation = mem_evaluation,
    .history = mem_history,
    .checkpoint = mem_checkpoint,
    .restore = mem_restore,
    .command = mem_command,
    .discard = mem_discard,
    .release = mem_destroy,
    .destroy = mem_destroy,
};

/* ---- fixtures ------------------------------------------------------------------------------------------ */

static int setup(void **state)
{
    memset(&mem, 0, sizeof mem);
    mem.base = (recorder){&mem_ops, 1};
    return train_testing_setup(state);
}

/* Runs cfg with its records going to rec; the final state, the last snapshot into *snap. */
static train_state run_recorded(const train_config *cfg, recorder *rec, train_snapshot *snap, vt_err *err)
{
    trainer *t;
    assert_int_equal(trainer_create_recorded(cfg, NULL, rec, &t, err), VT_OK);
    assert_int_equal(trainer_start(t, err), VT_OK);
    train_state s = trainer_join(t);
    trainer_snapshot(t, snap);
    trainer_error(t, err);
    trainer_destroy(t);
    return s;
}

/* The index of the first event of kind from `from` on (-1: none). */
static int find(ev_kind kind, int from)
{
    for (int i = from; i < mem.n; i++)
        if (mem.ev[i].kind == kind)
            return i;
    return -1;
}

static int count(ev_kind kind)
{
    int k = 0;
    for (int i = 0; i < mem.n; i++)
        k += mem.ev[i].kind == kind;
    return k;
}

static train_snapshot snap; /* 80 KB: static, not on the stack */

/* ---- the tests ----------------------------------------------------------------------------------------- */

static void each_epoch_is_recorded_in_order(void **state)
{
    (void)state;
    train_config c;
    tiny_config(&c, "memory");
    vt_err err;
    assert_int_equal(run_recorded(&c, &mem.base, &snap, &err), TRAIN_FINISHED);
    assert_false(mem.overflow);
    /* Nothing reached the disk: the run directory was the recorder's to make, and it made none. */
    assert_int_not_equal(access(c.run_dir, F_OK), 0);

    /* Opened first, then the first progress (loading) and the config before any epoch's record. */
    assert_int_equal(mem.ev[0].kind, EV_OPEN);
    assert_int_equal(mem.ev[1].kind, EV_PROGRESS);
    assert_int_equal(mem.ev[1].state, TRAIN_LOADING);
    int cfg_at = find(EV_CONFIG, 0);
    assert_true(cfg_at > 1);
    assert_int_equal(count(EV_CONFIG), 1);
    assert_true(mem.ev[cfg_at].n > 0); /* the model's parameters */
    assert_true(find(EV_LAYERS, 0) > cfg_at);

    /* Each epoch: its layers, its evaluation, its checkpoint (at the epoch's end), its history, in order. */
    int at = cfg_at;
    for (int e = 1; e <= 2; e++) {
        int layers = find(EV_LAYERS, at + 1), eval = find(EV_EVALUATION, at + 1), ck = find(EV_CHECKPOINT, at + 1),
            hist = find(EV_HISTORY, at + 1);
        assert_true(layers > at && eval > layers && ck > eval && hist > ck);
        assert_int_equal(mem.ev[layers].epoch, e);
        assert_true(mem.ev[layers].n > 0); /* the mlp's weighted layers, each a row of this epoch */
        assert_int_equal(mem.ev[eval].epoch, e);
        assert_int_equal(mem.ev[eval].n, 100);
        assert_string_equal(mem.ev[ck].name, RUN_CHECKPOINT);
        assert_int_equal(mem.ev[ck].epoch, e);
        assert_int_equal(mem.ev[ck].batch, 0);
        assert_int_equal(mem.ev[hist].epoch, e);
        /* The history's val_acc is the accuracy of the predictions the epoch recorded. */
        assert_true(fabs(mem.ev[hist].value - mem.ev[eval].value) < 1e-12);
        assert_true(fabs(snap.history[e - 1].val_acc - mem.ev[eval].value) < 1e-12);
        /* An epoch's start is written at once: a progress record of this epoch before its evaluation. */
        int p = find(EV_PROGRESS, at + 1);
        assert_true(p > at && p < eval);
        assert_int_equal(mem.ev[p].epoch, e);
        at = hist;
    }
    assert_int_equal(count(EV_EVALUATION), 2);
    assert_int_equal(count(EV_HISTORY), 2);
    assert_int_equal(count(EV_CHECKPOINT), 2); /* no --save-best, no early stopping */
    assert_int_equal(count(EV_DISCARD), 0);

    /* The progress records' epochs never go back, and the last one says the run finished. */
    int last_epoch = 0;
    for (int i = 0; i < mem.n; i++)
        if (mem.ev[i].kind == EV_PROGRESS) {
            assert_true(mem.ev[i].epoch >= last_epoch);
            last_epoch = mem.ev[i].epoch;
        }
    assert_int_equal(mem.ev[mem.n - 1].kind, EV_PROGRESS);
    assert_int_equal(mem.ev[mem.n - 1].state, TRAIN_FINISHED);
    assert_int_equal(mem.ev[mem.n - 1].epochs_done, 2);
}

/* A command the recorder's channel holds (as commands.json would) is taken between batches: the run stops
 * with a checkpoint of where it is, and the last progress acknowledges the command. */
static void a_command_through_the_recorder_stops_the_run(void **state)
{
    (void)state;
    train_config c;
    tiny_config(&c, "command");
    c.epochs = 500; /* far more than run before the channel is looked at again (every 0.2 s) */
    mem.stop_after_history = 1;
    vt_err err;
    assert_int_equal(run_recorded(&c, &mem.base, &snap, &err), TRAIN_STOPPED);
    assert_false(mem.overflow);
    const event *last = &mem.ev[mem.n - 1];
    assert_int_equal(last->kind, EV_PROGRESS);
    assert_int_equal(last->state, TRAIN_STOPPED);
    assert_int_equal(last->command_ack, 1);
    /* The stop came after the first history; the last checkpoint holds where the run stopped. */
    int ck = -1;
    for (int i = 0; i < mem.n; i++)
        if (mem.ev[i].kind == EV_CHECKPOINT)
            ck = i;
    assert_true(ck > find(EV_HISTORY, 0));
    assert_int_equal(mem.ev[ck].epoch, snap.epochs_done);
    assert_true(mem.ev[ck].batch >= 0 && mem.ev[ck].batch <= snap.batches);
    assert_true(snap.epochs_done >= 1 && snap.epochs_done < 500);
    print_message("stopped after %d epochs and %ld batches\n", snap.epochs_done, mem.ev[ck].batch);
}

/* A new run that fails before its config (a data set that is not there) is discarded, and never configured. */
static void a_failed_new_run_is_discarded(void **state)
{
    (void)state;
    train_config c;
    tiny_config(&c, "failed");
    snprintf(c.data, sizeof c.data, "%s", test_dir); /* a directory with no data set in it */
    vt_err err;
    assert_int_equal(run_recorded(&c, &mem.base, &snap, &err), TRAIN_FAILED);
    assert_true(err.msg[0] != '\0');
    assert_int_equal(count(EV_CONFIG), 0);
    assert_int_equal(count(EV_CHECKPOINT), 0);
    int discard = find(EV_DISCARD, 0);
    assert_true(discard > 0);
    /* The failure's progress first (a watcher sees why), then the discard. */
    assert_int_equal(mem.ev[discard - 1].kind, EV_PROGRESS);
    assert_int_equal(mem.ev[discard - 1].state, TRAIN_FAILED);
}

/* The null recorder (an MPI rank other than 0) trains the same run and writes nothing at all. */
static void the_null_recorder_writes_nothing(void **state)
{
    (void)state;
    train_config c;
    tiny_config(&c, "null");
    c.epochs = 1;
    vt_err err;
    assert_int_equal(run_recorded(&c, recorder_null(), &snap, &err), TRAIN_FINISHED);
    assert_int_equal(snap.epochs_done, 1);
    assert_true(snap.history[0].val_acc > 0);
    assert_int_not_equal(access(c.run_dir, F_OK), 0);
}

/* Rates and ETAs after a batch, from a clock whose numbers are easy to follow. */
static void the_snapshot_derives_rates_and_time_left(void **state)
{
    (void)state;
    memset(&snap, 0, sizeof snap);
    train_snapshot_epoch(&snap, 0, 3, 0, 0, 0);
    assert_int_equal(snap.state, TRAIN_TRAINING);
    assert_int_equal(snap.epoch, 1);
    assert_true(isnan(snap.loss) && snap.eta_run == 0 && snap.n_curve == 0 && snap.curve_every == 1);
    /* 10 of 100 batches done in 0.1 s, 320 images: 10 ms a step, 3200 img/s, 0.9 s left of the epoch. */
    step_stats sums = {.loss_sum = 20.0, .mse_sum = 1.0, .correct = 160, .correct5 = 300, .n = 320};
    train_clock c = {.epoch = 0, .epochs = 3, .batch = 10, .batches = 100, .done_here = 10, .samples_here = 320,
                     .busy = 0.1, .eval_seconds = 0.5, .n_test = 1000};
    double per_epoch = train_snapshot_batch(&snap, &sums, 0, &c);
    assert_true(fabs(snap.loss - 20.0 / 320) < 1e-12 && fabs(snap.acc - 0.5) < 1e-12);
    assert_true(fabs(snap.top5 - 300.0 / 320) < 1e-12);
    assert_true(fabs(snap.ms_per_step - 10) < 1e-9);
    assert_true(fabs(snap.img_per_s - 3200) < 1e-6);
    assert_true(fabs(snap.eta - 0.9) < 1e-9);
    /* A later epoch: 100 batches of 10 ms and the 0.5 s test pass; the run: 0.9 + 0.5 + 2 * 1.5. */
    assert_true(fabs(per_epoch - 1.5) < 1e-9);
    assert_true(fabs(snap.eta_run - 4.4) < 1e-9);
    assert_int_equal(snap.n_curve, 1);
    assert_int_equal(snap.curve_batch[0], 10);
    /* From the second epoch on, later epochs take as long as the last one did. */
    c.epoch = 1;
    c.last_epoch_seconds = 2.0;
    per_epoch = train_snapshot_batch(&snap, &sums, 1, &c);
    assert_true(isnan(snap.top5));
    assert_true(fabs(per_epoch - 2.0) < 1e-12 && fabs(snap.eta_run - (0.9 + 0.5 + 2.0)) < 1e-9);
    /* An epoch's start keeps the run's time left: two epochs left at 2 s each. */
    train_snapshot_epoch(&snap, 1, 3, 0, 0, 2.0);
    assert_true(fabs(snap.eta_run - 4.0) < 1e-12);
    /* The test pass: 10 of 40 steps in 1 s leave 3 s, then one later epoch of 2 s. */
    train_snapshot_eval(&snap, 10, 40, 1.0, 1, 2.0);
    assert_true(fabs(snap.eval_eta - 3.0) < 1e-12 && fabs(snap.eta_run - 5.0) < 1e-12);
}

/* The running curve stays within TRAIN_CURVE_MAX points however long the epoch: a full curve keeps every
 * other point and doubles its stride, so the points stay evenly spread over the whole epoch. */
static void the_curve_thins_by_halving(void **state)
{
    (void)state;
    memset(&snap, 0, sizeof snap);
    train_snapshot_epoch(&snap, 0, 1, 0, 0, 0);
    const long batches = 5 * TRAIN_CURVE_MAX + 3;
    step_stats sums = {0};
    train_clock c = {.epochs = 1, .batches = batches, .busy = 1, .n_test = 1};
    for (long b = 1; b <= batches; b++) {
        sums.loss_sum += 1.0 / (double)b;
        sums.n += 1;
        c.batch = c.done_here = c.samples_here = b;
        train_snapshot_batch(&snap, &sums, 0, &c);
        assert_true(snap.n_curve >= 1 && snap.n_curve <= TRAIN_CURVE_MAX);
    }
    assert_int_equal(snap.curve_every, 8); /* 512, 1024 and 2048 batches filled it: three halvings */
    for (int i = 0; i < snap.n_curve; i++)
        assert_int_equal(snap.curve_batch[i], (long)(i + 1) * snap.curve_every);
    assert_int_equal(snap.n_curve, batches / 8);
    /* Each point holds the running loss at its batch: the mean of 1/k for k <= batch. */
    double mean = 0;
    for (long k = 1; k <= snap.curve_batch[0]; k++)
        mean += 1.0 / (double)k;
    assert_true(fabs(snap.curve_loss[0] - mean / (double)snap.curve_batch[0]) < 1e-6);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (train_testing_start(argv))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(each_epoch_is_recorded_in_order, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(a_command_through_the_recorder_stops_the_run, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(a_failed_new_run_is_discarded, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(the_null_recorder_writes_nothing, setup, test_dir_teardown),
        cmocka_unit_test(the_snapshot_derives_rates_and_time_left),
        cmocka_unit_test(the_curve_thins_by_halving),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
