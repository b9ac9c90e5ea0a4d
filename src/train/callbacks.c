/* train/callbacks: Keras' epoch-end callbacks as pure functions over a small state that the checkpoint
 * carries (unlike Keras' BackupAndRestore, which loses it): EarlyStopping, ReduceLROnPlateau,
 * ModelCheckpoint(save_best_only) and a learning-rate schedule. The rules are tf.keras 2.12's:
 *
 * EarlyStopping: wait += 1 every epoch; an improvement (current - min_delta better than best) sets best and
 *   best_epoch and resets wait to 0; otherwise when wait >= patience (and it is not the first epoch) training
 *   stops, restoring the best epoch's weights when asked.
 * ReduceLROnPlateau: in cooldown, the counter goes down and wait is 0; an improvement (better than
 *   best by min_delta) sets best and wait 0; otherwise, out of cooldown, wait += 1 and at patience the rate
 *   becomes max(lr * factor, min_lr) when lr > min_lr, the cooldown starts and wait is 0.
 * ModelCheckpoint: save when current is better than the best so far (no min_delta).
 * mode auto is max for a monitor with "acc" in its name, min otherwise. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "vggtop/train.h"

const char *const train_monitor_names[] = {"none", "val_loss", "val_acc", "loss", "acc", NULL};

static double monitor_value(int m, const train_epoch *row)
{
    switch ((train_monitor)m) {
    case TRAIN_MON_NONE: break;
    case TRAIN_MON_VAL_LOSS: return row->val_loss;
    case TRAIN_MON_VAL_ACC: return row->val_acc;
    case TRAIN_MON_LOSS: return row->loss;
    case TRAIN_MON_ACC: return row->acc;
    }
    return NAN;
}

/* 1 when larger is better: the mode given, or auto's rule on the monitor's name. */
static int maximise(int m, int mode)
{
    if (mode == TRAIN_MODE_MAX)
        return 1;
    if (mode == TRAIN_MODE_MIN)
        return 0;
    return strstr(train_monitor_names[m], "acc") != NULL;
}

void callbacks_begin(const train_callbacks *cb, callbacks_state *st)
{
    memset(st, 0, sizeof *st);
    st->es_best = maximise(cb->es_monitor, cb->es_mode) ? -INFINITY : INFINITY;
    st->rp_best = maximise(cb->rp_monitor, cb->rp_mode) ? -INFINITY : INFINITY;
    st->best_value = maximise(cb->best_monitor, TRAIN_MODE_AUTO) ? -INFINITY : INFINITY;
    st->es_best_epoch = st->best_epoch = -1;
}

double callbacks_epoch_lr(const train_callbacks *cb, double lr0, double lr_now, int epoch, int epochs)
{
    switch (cb->schedule) {
    case TRAIN_SCHEDULE_NONE: return lr_now;
    case TRAIN_SCHEDULE_STEP: return lr0 * pow(cb->sched_factor, floor((double)epoch / cb->sched_every));
    case TRAIN_SCHEDULE_EXPONENTIAL: return lr0 * pow(cb->sched_factor, (double)epoch / cb->sched_every);
    case TRAIN_SCHEDULE_COSINE: {
        int warm = cb->sched_warmup;
        if (epoch < warm)
            return lr0 * (double)(epoch + 1) / (double)(warm + 1);
        int span = epochs - warm;
        double t = span > 1 ? (double)(epoch - warm) / (double)(span - 1) : 0;
        return cb->sched_min_lr + 0.5 * (lr0 - cb->sched_min_lr) * (1 + cos(M_PI * t));
    }
    }
    return lr_now;
}

void callbacks_epoch_end(const train_callbacks *cb, callbacks_state *st, int epoch, const train_epoch *row,
                         double lr, callbacks_actions *out)
{
    memset(out, 0, sizeof *out);
    out->lr = lr;

    /* ModelCheckpoint(save_best_only=True) */
    if (cb->best_monitor) {
        double v = monitor_value(cb->best_monitor, row);
        int up = maximise(cb->best_monitor, TRAIN_MODE_AUTO);
        if (isfinite(v) && (up ? v > st->best_value : v < st->best_value)) {
            st->best_value = v;
            st->best_epoch = epoch;
            out->save_best = 1;
        }
    }

    /* ReduceLROnPlateau */
    if (cb->rp_monitor) {
        double v = monitor_value(cb->rp_monitor, row);
        int up = maximise(cb->rp_monitor, cb->rp_mode);
        if (st->rp_cooldown > 0) {
            st->rp_cooldown--;
            st->rp_wait = 0;
        }
        int better = up ? v > st->rp_best + cb->rp_min_delta : v < st->rp_best - cb->rp_min_delta;
        if (better) {
            st->rp_best = v;
            st->rp_wait = 0;
        } else if (st->rp_cooldown == 0) {
            st->rp_wait++;
            if (st->rp_wait >= cb->rp_patience && (float)lr > (float)cb->rp_min_lr) {
                double next = lr * cb->rp_factor;
                out->lr = next > cb->rp_min_lr ? next : cb->rp_min_lr;
                st->rp_cooldown = cb->rp_cooldown;
                st->rp_wait = 0;
                snprintf(out->reason, sizeof out->reason, "epoch %d: %s did not improve for %d epochs: learning rate "
                         "%g -> %g", epoch + 1, train_monitor_names[cb->rp_monitor], cb->rp_patience, lr, out->lr);
            }
        }
    }

    /* EarlyStopping */
    if (cb->es_monitor) {
        double v = monitor_value(cb->es_monitor, row);
        int up = maximise(cb->es_monitor, cb->es_mode);
        st->es_wait++;
        double delta = fabs(cb->es_min_delta);
        if (up ? v - delta > st->es_best : v + delta < st->es_best) {
            st->es_best = v;
            st->es_best_epoch = epoch;
            st->es_wait = 0;
            out->es_improved = 1;
        } else if (st->es_wait >= cb->es_patience && epoch > 0) {
            out->stop = 1;
            out->restore_best = cb->es_restore && st->es_best_epoch >= 0;
            st->es_stopped_epoch = epoch;
            size_t used = strlen(out->reason); /* a rate cut of the same epoch stays said */
            snprintf(out->reason + used, sizeof out->reason - used, "%searly stopping at epoch %d: %s has not improved on %.4f "
                     "(epoch %d) for %d epoch%s%s", used ? "; " : "", epoch + 1, train_monitor_names[cb->es_monitor], st->es_best,
                     st->es_best_epoch + 1, st->es_wait, st->es_wait == 1 ? "" : "s",
                     out->restore_best ? "; the weights of that epoch are restored" : "");
        }
    }
}

int callbacks_replay(const train_callbacks *cb, callbacks_state *st, const train_epoch *rows, int n, char *reason,
                     size_t size)
{
    callbacks_begin(cb, st);
    callbacks_actions act;
    int stopped = 0;
    for (int e = 0; e < n; e++) {
        callbacks_epoch_end(cb, st, e, &rows[e], rows[e].lr, &act);
        if (act.stop && !stopped && reason && size)
            snprintf(reason, size, "%s", act.reason);
        stopped |= act.stop;
    }
    return stopped;
}
