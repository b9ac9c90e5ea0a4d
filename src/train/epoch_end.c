/* train/epoch_end: the end of an epoch: the test-set pass (each rank its slice, rank 0 gathering), the
 * epoch's history row, its records (layers.csv, the evaluation files), the callbacks as Keras runs them,
 * the checkpoint and history.csv, and the snapshot. */
#include <math.h>
#include <string.h>

#include "job.h"

/* The test-set pass of an epoch end: train_predict_test asks stop_wanted before every step, which is where
 * its progress (steps done, the pass's ETA) is published and commands.json is looked at. */
typedef struct eval_pass {
    job *j;
    int e;          /* 0-based epoch evaluated */
    long done, total;
    double start;
    /* Data-parallel: before each of the first `agreed` steps (the smallest rank slice's step count, the same
     * on every rank) the ranks agree on a stop, so a stop asked for during a long evaluation is as prompt as
     * in one process. rc and err: that exchange failed (a lost rank). */
    long agreed;
    int rc;
    vt_err err;
} eval_pass;

static int stop_wanted(void *arg)
{
    eval_pass *ev = arg;
    job *j = ev->j;
    trainer *t = j->t;
    int took = job_take_command_file(j);
    ev->start += job_take_suspended(j);
    pthread_mutex_lock(&t->mu);
    train_snapshot_eval(&t->snap, ev->done, ev->total, vt_now() - ev->start, j->cfg.epochs - ev->e - 1,
                        j->per_epoch);
    t->snap.elapsed = job_elapsed(j);
    job_wake_locked(t, took);
    int stop = t->want_stop;
    pthread_mutex_unlock(&t->mu);
    vt_err ignored; /* a lost directory fails the epoch's records */
    job_write_progress(j, took, &ignored);
    long step = ev->done++;
    if (!j->d)
        return stop;
    if (step >= ev->agreed)
        return 0; /* a rank's last step that another rank's slice lacks: it stops with the next epoch */
    double v = stop;
    if ((ev->rc = dist_allreduce(j->d, &v, 1, 1, "the evaluation's stop", &ev->err)) != VT_OK)
        return 1;
    return v > 0;
}

/* Predicts the test set into j->probs: each rank its slice, rank 0 gathering them. */
static int test_pass(job *j, int e, int *stopped, vt_err *err)
{
    trainer *t = j->t;
    const dataset *ds = j->ds;
    long from = 0, to = ds->n_test;
    if (j->d)
        dist_slice(ds->n_test, train_dist_size(j->d), train_dist_rank(j->d), &from, &to);
    const long bs = j->step_batch, smallest = ds->n_test / train_dist_size(j->d);
    eval_pass ev = {.j = j, .e = e, .total = (to - from + bs - 1) / bs, .start = vt_now(),
                    .agreed = (smallest + bs - 1) / bs};
    pthread_mutex_lock(&t->mu);
    t->snap.eval_batch = 0;
    t->snap.eval_batches = ev.total;
    t->snap.eval_eta = j->eval_seconds;
    pthread_mutex_unlock(&t->mu);
    job_set_state(t, TRAIN_EVALUATING, "evaluating on the test set");
    vt_err ignored;
    job_write_progress(j, 1, &ignored);
    int rc = train_predict_test(j->m, ds, &j->pp, from, to, j->step_batch, j->x, j->probs, stop_wanted, &ev, stopped, err);
    if (!rc && ev.rc) {
        *err = ev.err;
        *stopped = 0;
        return ev.rc;
    }
    if (rc || *stopped)
        return rc;
    if (j->d && (rc = dist_gather_rows(j->d, j->probs, ds->n_test, ds->classes, err)))
        return rc;
    j->eval_seconds = vt_now() - ev.start;
    return VT_OK;
}

/* The epoch's history row (all but its seconds): rank 0's metrics for every rank (the callbacks then decide
 * the same on each), the training's means. A loss that is not finite fails the run. */
static int epoch_row(job *j, int e, train_epoch *row, vt_err *err)
{
    const dataset *ds = j->ds;
    train_val_metrics(j->probs, ds->test_y, ds->n_test, ds->classes, row);
    int rc;
    if (j->d && (rc = dist_bcast(j->d, row, sizeof *row, "the epoch's evaluation", err)))
        return rc;
    row->loss = j->sums.loss_sum / (double)j->sums.n;
    row->acc = (double)j->sums.correct / (double)j->sums.n;
    row->mse = j->sums.mse_sum / (double)j->sums.n;
    row->top5 = j->top5_unknown ? NAN : (double)j->sums.correct5 / (double)j->sums.n;
    j->top5_unknown = 0;
    row->lr = j->lr;
    /* Weights that overflowed give NaN outputs on the test set even when the clipped training loss stayed
     * finite: that is divergence too, and the checkpoint of the last good epoch must not be replaced. */
    if (!isfinite(row->val_loss) || !isfinite(row->loss)) {
        job_mark_diverged(j, e);
        return vt_fail(err, VT_EUSAGE, "epoch %d (lr %g): the %s loss is not finite (training diverged); lower the "
                       "learning rate (--lr); the run stopped, its last good checkpoint is kept", e + 1, j->lr,
                       isfinite(row->loss) ? "validation" : "training");
    }
    return VT_OK;
}

void job_mark_diverged(job *j, int e)
{
    pthread_mutex_lock(&j->t->mu);
    j->t->snap.diverged = e + 1;
    pthread_mutex_unlock(&j->t->mu);
}

/* The callbacks, as Keras runs them at the epoch's end: best.bin, the early-stopping best, a cut rate, a
 * stop (with restore_best_weights the weights of the best epoch, from the copy kept when it was the best).
 * The new rate goes into the checkpoint, so a resume carries on with it. */
static int run_callbacks(job *j, int e, const train_epoch *row, vt_err *err)
{
    callbacks_actions act;
    callbacks_epoch_end(&j->cfg.cb, &j->cbs, e, row, j->lr, &act);
    int rc;
    if (act.save_best && (rc = job_save_checkpoint(j, RUN_BEST, err)))
        return rc;
    if (act.es_improved && j->cfg.cb.es_restore && (rc = job_save_checkpoint(j, RUN_ES_BEST, err)))
        return rc;
    if (act.lr != j->lr) {
        j->lr = act.lr;
        j->sgd.lr = (float)act.lr;
    }
    if (act.stop && act.restore_best) {
        size_t len; /* j->blob is scratch here: the checkpoint below writes it anew */
        if ((rc = j->rec->ops->restore(j->rec, RUN_ES_BEST, j->m, j->blob, BLOB_MAX, &len, err)) ||
            (j->d && (rc = job_share_weights(j, err))))
            return rc;
    }
    if (act.stop)
        j->early_stopped = 1;
    snprintf(j->cb_reason, sizeof j->cb_reason, "%s", act.reason);
    return VT_OK;
}

/* The finished epoch into the snapshot. */
static void publish_epoch(job *j, int e, const train_epoch *row)
{
    trainer *t = j->t;
    pthread_mutex_lock(&t->mu);
    train_snapshot *s = &t->snap;
    s->history[e] = *row;
    s->n_history = s->epochs_done = j->epochs_done;
    s->eval_generation++;
    s->eval_batch = s->eval_batches = 0;
    s->eval_eta = 0;
    s->last_val_acc = row->val_acc;
    if (e == 0 || row->val_acc > s->best_val_acc || isnan(s->best_val_acc))
        s->best_val_acc = row->val_acc;
    if (j->cb_reason[0]) {
        snprintf(s->message, sizeof s->message, "%s", j->cb_reason);
        snprintf(s->note, sizeof s->note, "%s", j->cb_reason);
        s->note_epoch = e + 1;
    } else
        snprintf(s->message, sizeof s->message, "epoch %d: val_loss %.4f, val_acc %.4f", e + 1, row->val_loss,
                 row->val_acc);
    s->lr = j->lr;
    s->early_stopped = j->early_stopped;
    job_wake_locked(t, 1);
    pthread_mutex_unlock(&t->mu);
}

/* After an epoch: predict the test set, record the evaluation, append the history row, checkpoint. A stop
 * asked for during the prediction (the whole test set through a VGG can take many minutes) leaves it:
 * *stopped is set, and the caller checkpoints the epoch's training so --resume only evaluates. */
int job_finish_epoch(job *j, int e, double epoch_start, int *stopped, vt_err *err)
{
    const dataset *ds = j->ds;
    train_epoch row;
    int rc = test_pass(j, e, stopped, err);
    if (rc || *stopped || (rc = epoch_row(j, e, &row, err)) || (rc = job_record_layers(j, e + 1, err)) ||
        (rc = j->rec->ops->evaluation(j->rec, e + 1, ds->test_y, j->probs, ds->n_test, ds->classes,
                                      (const char *const *)ds->class_names, err)))
        return rc;
    row.seconds = j->epoch_seconds + (vt_now() - epoch_start);
    j->history[e] = row;
    j->epochs_done = e + 1;
    j->batch_pos = 0;
    j->sums = (step_stats){0};
    j->epoch_seconds = 0;
    /* The checkpoint carries the history, so it goes first: history.csv can always be rebuilt from it. */
    if ((rc = run_callbacks(j, e, &row, err)) || (rc = job_save_checkpoint(j, RUN_CHECKPOINT, err)) ||
        (rc = j->rec->ops->history(j->rec, j->history, j->epochs_done, err)))
        return rc;
    publish_epoch(j, e, &row);
    return VT_OK;
}
