/* Unit tests of the callbacks (src/train/callbacks.c) against sequences worked out by hand from tf.keras
 * 2.12's algorithms (the expected epochs are written here, not computed), and of the replay that gives a
 * resumed run the state of one left alone. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vggtop/train.h"
#include "testing.h"

static train_epoch with(double val_loss, double val_acc)
{
    train_epoch r = {0};
    r.loss = r.val_loss = val_loss;
    r.acc = r.val_acc = val_acc;
    r.lr = 0.01;
    return r;
}

/* Runs a val_loss or val_acc sequence through the callbacks; returns the epoch (0-based) that stopped, -1. */
static int first_stop(const train_callbacks *cb, const double *v, int n, int acc, int *best_epoch)
{
    callbacks_state st;
    callbacks_begin(cb, &st);
    for (int e = 0; e < n; e++) {
        train_epoch r = acc ? with(1, v[e]) : with(v[e], 0);
        callbacks_actions a;
        callbacks_epoch_end(cb, &st, e, &r, 0.01, &a);
        if (a.stop) {
            if (best_epoch)
                *best_epoch = st.es_best_epoch;
            return e;
        }
    }
    return -1;
}

static void early_stopping_as_keras(void **state)
{
    (void)state;
    train_callbacks cb = {0};
    cb.es_monitor = TRAIN_MON_VAL_LOSS;
    cb.es_patience = 2;
    /* best 1.0 (e0), 0.9 (e1); e2 and e3 do not improve: wait reaches 2 at e3. */
    const double loss[] = {1.0, 0.9, 0.95, 0.92, 0.91, 0.85};
    int best = -1;
    assert_int_equal(first_stop(&cb, loss, 6, 0, &best), 3);
    assert_int_equal(best, 1);
    /* patience 0 stops at the first epoch that does not improve, never at the first epoch */
    cb.es_patience = 0;
    const double flat[] = {1.0, 1.0};
    assert_int_equal(first_stop(&cb, flat, 2, 0, NULL), 1);
    /* val_acc with auto mode maximises; min_delta 0.05: 0.14 is not 0.05 better than 0.1 */
    cb.es_monitor = TRAIN_MON_VAL_ACC;
    cb.es_min_delta = 0.05;
    cb.es_patience = 1;
    const double acc[] = {0.1, 0.14, 0.2, 0.22, 0.24, 0.26};
    assert_int_equal(first_stop(&cb, acc, 6, 1, NULL), 1);
    /* patience 2: e2 improves (0.15 > 0.1), e3 and e4 do not (0.17, 0.19 vs 0.2): stops at e4 */
    cb.es_patience = 2;
    assert_int_equal(first_stop(&cb, acc, 6, 1, &best), 4);
    assert_int_equal(best, 2);
    /* mode min on an acc monitor: lower is better */
    cb.es_mode = TRAIN_MODE_MIN;
    cb.es_min_delta = 0;
    cb.es_patience = 1;
    const double rising[] = {0.1, 0.2, 0.3};
    assert_int_equal(first_stop(&cb, rising, 3, 1, &best), 1);
    assert_int_equal(best, 0);
    /* off: never stops */
    cb.es_monitor = TRAIN_MON_NONE;
    assert_int_equal(first_stop(&cb, flat, 2, 0, NULL), -1);
}

static void reduce_lr_on_plateau_as_keras(void **state)
{
    (void)state;
    train_callbacks cb = {0};
    cb.rp_monitor = TRAIN_MON_VAL_LOSS;
    cb.rp_factor = 0.5;
    cb.rp_patience = 2;
    cb.rp_min_delta = 0;
    cb.rp_cooldown = 1;
    cb.rp_min_lr = 0.01;
    /* A loss that never moves from 1.0: cuts after e2, e4, e6, e8 (cooldown 1 makes every other wait count
     * from zero), the last one clamped to min_lr, and none once the rate is at min_lr. */
    const double want[] = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125, 0.01, 0.01, 0.01, 0.01};
    callbacks_state st;
    callbacks_begin(&cb, &st);
    double lr = 0.1;
    for (int e = 0; e < 12; e++) {
        train_epoch r = with(1.0, 0);
        callbacks_actions a;
        callbacks_epoch_end(&cb, &st, e, &r, lr, &a);
        lr = a.lr;
        if (fabs(lr - want[e]) > 1e-12)
            fail_msg("after epoch %d: lr %g, expected %g", e, lr, want[e]);
        assert_int_equal(a.stop, 0);
    }
    /* An improvement by more than min_delta resets the wait: never a cut. */
    callbacks_begin(&cb, &st);
    cb.rp_min_delta = 1e-4;
    lr = 0.1;
    for (int e = 0; e < 8; e++) {
        train_epoch r = with(1.0 - 0.01 * e, 0);
        callbacks_actions a;
        callbacks_epoch_end(&cb, &st, e, &r, lr, &a);
        assert_true(a.lr == lr);
    }
    /* ... but one by less than min_delta does not. */
    callbacks_begin(&cb, &st);
    lr = 0.1;
    for (int e = 0; e < 3; e++) {
        train_epoch r = with(1.0 - 0.00001 * e, 0);
        callbacks_actions a;
        callbacks_epoch_end(&cb, &st, e, &r, lr, &a);
        lr = a.lr;
    }
    assert_true(fabs(lr - 0.05) < 1e-12);
}

static void save_best_only_on_strict_improvement(void **state)
{
    (void)state;
    train_callbacks cb = {0};
    cb.best_monitor = TRAIN_MON_VAL_ACC;
    const double acc[] = {0.1, 0.3, 0.2, 0.3, 0.4};
    const int saves[] = {1, 1, 0, 0, 1};
    callbacks_state st;
    callbacks_begin(&cb, &st);
    for (int e = 0; e < 5; e++) {
        train_epoch r = with(1, acc[e]);
        callbacks_actions a;
        callbacks_epoch_end(&cb, &st, e, &r, 0.01, &a);
        assert_int_equal(a.save_best, saves[e]);
    }
    assert_int_equal(st.best_epoch, 4);
}

static void schedules_by_hand(void **state)
{
    (void)state;
    train_callbacks cb = {0};
    assert_true(callbacks_epoch_lr(&cb, 0.1, 0.07, 3, 10) == 0.07); /* no schedule: the rate in use */
    cb.schedule = TRAIN_SCHEDULE_STEP;
    cb.sched_every = 2;
    cb.sched_factor = 0.5;
    const double step[] = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025};
    for (int e = 0; e < 6; e++)
        assert_true(fabs(callbacks_epoch_lr(&cb, 0.1, 0.1, e, 6) - step[e]) < 1e-15);
    cb.schedule = TRAIN_SCHEDULE_EXPONENTIAL;
    cb.sched_factor = 0.25;
    assert_true(fabs(callbacks_epoch_lr(&cb, 0.1, 0.1, 1, 6) - 0.05) < 1e-15);
    assert_true(fabs(callbacks_epoch_lr(&cb, 0.1, 0.1, 2, 6) - 0.025) < 1e-15);
    cb.schedule = TRAIN_SCHEDULE_COSINE;
    cb.sched_warmup = 2;
    cb.sched_min_lr = 0;
    /* warm-up 0.1/3, 0.2/3; then 0.1 * (1 + cos(pi t)) / 2 for t = 0, 1/3, 2/3, 1 */
    const double cosine[] = {0.1 / 3, 0.2 / 3, 0.1, 0.075, 0.025, 0.0};
    for (int e = 0; e < 6; e++)
        if (fabs(callbacks_epoch_lr(&cb, 0.1, 0.1, e, 6) - cosine[e]) > 1e-12)
            fail_msg("cosine epoch %d: %g, expected %g", e, callbacks_epoch_lr(&cb, 0.1, 0.1, e, 6), cosine[e]);
}

/* Replaying the first k rows gives the state a run left alone had after k epochs, mid-patience included. */
static void replay_equals_uninterrupted(void **state)
{
    (void)state;
    train_callbacks cb = {0};
    cb.es_monitor = TRAIN_MON_VAL_LOSS;
    cb.es_patience = 5;
    cb.es_min_delta = 0.01;
    cb.rp_monitor = TRAIN_MON_VAL_ACC;
    cb.rp_patience = 2;
    cb.rp_factor = 0.5;
    cb.rp_cooldown = 1;
    cb.rp_min_delta = 0;
    cb.best_monitor = TRAIN_MON_VAL_ACC;
    train_epoch rows[9];
    const double loss[] = {2.0, 1.8, 1.79, 1.795, 1.7, 1.71, 1.705, 1.72, 1.69};
    const double acc[] = {0.1, 0.2, 0.2, 0.19, 0.25, 0.25, 0.24, 0.26, 0.26};
    callbacks_state live, replayed;
    callbacks_begin(&cb, &live);
    double lr = 0.1;
    int stopped = 0;
    for (int e = 0; e < 9; e++) {
        rows[e] = with(loss[e], acc[e]);
        rows[e].lr = lr;
        callbacks_actions a;
        callbacks_epoch_end(&cb, &live, e, &rows[e], lr, &a);
        lr = a.lr;
        stopped |= a.stop;
        char why[256] = "";
        assert_int_equal(callbacks_replay(&cb, &replayed, rows, e + 1, why, sizeof why), stopped);
        assert_memory_equal(&live, &replayed, sizeof live);
    }
    assert_true(lr < 0.1); /* the sequence did cut the rate: the replay covered a cooldown */
    /* A history that ended in an early stop replays as stopped, with the stop's reason. */
    cb.es_patience = 1;
    callbacks_begin(&cb, &live);
    int stop_at = -1;
    for (int e = 0; e < 9 && stop_at < 0; e++) {
        callbacks_actions a;
        callbacks_epoch_end(&cb, &live, e, &rows[e], rows[e].lr, &a);
        if (a.stop)
            stop_at = e;
    }
    assert_true(stop_at > 0);
    char why[256] = "";
    assert_int_equal(callbacks_replay(&cb, &replayed, rows, stop_at, why, sizeof why), 0);
    assert_int_equal(callbacks_replay(&cb, &replayed, rows, stop_at + 1, why, sizeof why), 1);
    assert_non_null(strstr(why, "early stopping at epoch"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(early_stopping_as_keras),
        cmocka_unit_test(reduce_lr_on_plateau_as_keras),
        cmocka_unit_test(save_best_only_on_strict_improvement),
        cmocka_unit_test(schedules_by_hand),
        cmocka_unit_test(replay_equals_uninterrupted),
    };
    return cmocka_run_group_tests_name("train", tests, NULL, NULL);
}
