/* Unit tests of the Sweep screen (src/tui/sweep.c) against tui_testing.h's fake front-end context and a fixture
 * sweep (sweep_testing.h): the leaderboard best first with its columns, the sort keys (s the next column, r
 * the order) keeping the cursor on its trial, the panels' points (a list of words on a categorical x, a
 * learning rate on log10, numbers as they are; only trials with an epoch; the selected one marked), the folder
 * read again only when it changed (and a hand-broken sweep.json named while the last rows stay), Enter on a
 * trial not started, the screen without a sweep, and the trials' ends and the sweep's told to the alerts. */
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
#include <curses.h>

#include "../src/tui/tui_internal.h"
#include "testing.h"
#include "sweep_testing.h"
#include "tui_testing.h"

const char vggtop_version[] = "test";

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* 3 lr x 2 models: trial t is lr index t / 2, model t % 2. Trials 5 and 6 have not run. */
static char *grid[] = {"--lr", "0.1,0.01,0.001", "--model", "mlp,cnn", "--epochs", "3"};
static const sweep_state states[6] = {SWEEP_DONE, SWEEP_DONE, SWEEP_PRUNED, SWEEP_RUNNING, SWEEP_PENDING, SWEEP_PENDING};
static const double acc[6][SWEEP_FIXTURE_EPOCHS] = {{0.5, 0.6, 0.55}, {0.7, 0.8, 0.75}, {0.2}, {0.3, 0.4}, {0}, {0}};
static const int epochs[6] = {3, 3, 1, 2, 0, 0};

static app *open_fixture(const char *name)
{
    sweep_plan p;
    sweep_fixture(at(name), ARGC(grid), grid, states, acc, epochs, &p);
    sweep_plan_free(&p);
    app *a = fake(TRAIN_FINISHED);
    a->dir[0] = '\0';
    a->following = 0;
    a->screen = TUI_SCREEN_SWEEP;
    assert_int_equal(sweep_open(a, at(name)), 1);
    return a;
}

static void draw_sweep(app *a)
{
    tui_grid_clear(&a->grid);
    sweep_enter(a);
    app_draw(a);
}

/* The trial on display row i. */
static int trial_at(const app *a, int i) { return a->swp.rows[i].t + 1; }

static void leaderboard_best_first(void **state)
{
    (void)state;
    app *a = open_fixture("board");
    assert_int_equal(a->swp.n, 6);
    int want[6] = {2, 1, 4, 3, 5, 6};
    for (int i = 0; i < 6; i++)
        assert_int_equal(trial_at(a, i), want[i]);
    draw_sweep(a);
    expect(a, "grid sweep of 6 trials: 2 done, 1 running");
    expect(a, "best val_acc");
    expect(a, "      2        0.1        cnn        0.8000      2 done 3               6s");
    expect(a, "      4       0.01        cnn        0.4000      2 running 2            4s");
    expect(a, "      5      0.001        mlp             -      - pending               -");
    expect(a, "val_acc by lr (log10)");
    expect(a, "val_acc by model (1 mlp, 2 cnn)");
    sweep_close(a);
    done(a);
}

/* s: the next column (the trial, then lr, ascending); r: the other way; the cursor stays on its trial. */
static void sort_keys_keep_the_trial(void **state)
{
    (void)state;
    app *a = open_fixture("sort");
    assert_int_equal(app_handle_key(a, KEY_DOWN) & H_REDRAW, H_REDRAW);
    assert_int_equal(trial_at(a, a->swp.sel), 1);
    assert_int_equal(tui_key_action('s', TUI_SCREEN_SWEEP), ACT_SORT);
    int cols = SWEEP_COLS(a->swp.plan.n_axes), presses = 0;
    while (a->swp.sort != SWEEP_COL_AXIS) { /* the best, epoch, state, time, then around to the trial, then lr */
        app_handle_key(a, 's');
        assert_true(++presses <= cols);
    }
    assert_int_equal(a->swp.desc, 0);
    int want[6] = {1, 2, 3, 4, 5, 6}; /* lr 0.1, 0.1, 0.01, 0.01, 0.001, 0.001: as numbers, ties by trial */
    app_handle_key(a, 'r');
    assert_int_equal(a->swp.desc, 1);
    for (int i = 0; i < 6; i++)
        assert_int_equal(trial_at(a, i), want[i]);
    app_handle_key(a, 'r'); /* ascending: 0.001 first */
    assert_int_equal(trial_at(a, 0), 5);
    assert_int_equal(trial_at(a, 5), 2);
    assert_int_equal(trial_at(a, a->swp.sel), 1);
    draw_sweep(a);
    expect(a, "lr▲");
    sweep_close(a);
    done(a);
}

/* The panels: lr on log10 (0.1 at -1), the models categorical (mlp 1, cnn 2), a point per trial with an epoch
 * (NaN between points: no lines), the selected trial's point, and round decades for the log axis. */
static void panels_place_the_trials(void **state)
{
    (void)state;
    app *a = open_fixture("panels");
    sweep_enter(a);
    const sweep_panel *lr = &a->swp.panels[0], *model = &a->swp.panels[1];
    assert_true(lr->log);
    assert_false(lr->categorical);
    assert_true(model->categorical);
    assert_int_equal(lr->n, 8); /* 4 trials with an epoch, a point and a gap each */
    for (int i = 0; i < lr->n; i += 2) {
        assert_true(isnan(lr->x[i + 1]));
        int t = -1;
        for (int k = 0; k < 6; k++)
            if (a->swp.rows[k].epochs > 0 && a->swp.rows[k].best == lr->y[i])
                t = a->swp.rows[k].t;
        assert_true(t >= 0);
        assert_float_equal(lr->x[i], log10(t / 2 == 0 ? 0.1 : t / 2 == 1 ? 0.01 : 0.001), 1e-12);
        assert_float_equal(model->x[i], (t % 2 + 1), 0);
    }
    assert_float_equal(lr->sel_x, -1, 1e-12); /* trial 2, the best, selected */
    assert_float_equal(lr->sel_y, 0.8, 1e-12);
    assert_float_equal(model->sel_x, 2, 0);
    assert_true(lr->fixed_x);
    assert_float_equal(lr->xmin, -2, 0); /* trials at 0.1 and 0.01 only */
    assert_float_equal(lr->xmax, -1, 0);
    assert_false(model->fixed_x);
    sweep_close(a);
    done(a);
}

/* Read again when due and changed: a new epoch moves a trial up; no change, no redraw; sweep.json broken by
 * hand is named and the last rows stay. */
static void poll_reads_changes(void **state)
{
    (void)state;
    app *a = open_fixture("poll");
    double now = vt_now() + 10;
    assert_int_equal(sweep_poll(a, now), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/trial-004/%s", at("poll"), RUN_HISTORY);
    train_epoch rows[3] = {{1, 0.5, 0.1, 1, 0.3, 0.1, 0.01, 2, NAN, NAN}, {1, 0.5, 0.1, 1, 0.4, 0.1, 0.01, 2, NAN, NAN},
                           {1, 0.5, 0.1, 1, 0.95, 0.1, 0.01, 2, NAN, NAN}};
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    run_history_csv(f, rows, 3);
    fclose(f);
    assert_int_equal(sweep_poll(a, now + 0.5), 0); /* not due yet */
    assert_int_equal(sweep_poll(a, now + 2), 1);
    assert_int_equal(trial_at(a, 0), 4);
    snprintf(path, sizeof path, "%s/%s", at("poll"), SWEEP_PLAN);
    write_text(path, "{\"args\": [\"--lr\", ");
    assert_int_equal(sweep_poll(a, now + 4), 1);
    assert_non_null(strstr(a->swp.err, SWEEP_PLAN));
    assert_int_equal(a->swp.n, 6);
    draw_sweep(a);
    expect(a, "not a sweep's plan");
    expect(a, "0.9500");
    sweep_close(a);
    done(a);
}

/* Enter on a trial that has not started says so and stays; with no sweep the screen says how to open one. */
static void enter_and_no_sweep(void **state)
{
    (void)state;
    app *a = open_fixture("enter");
    app_handle_key(a, KEY_END);
    assert_int_equal(trial_at(a, a->swp.sel), 6);
    app_handle_key(a, '\n');
    assert_int_equal(a->screen, TUI_SCREEN_SWEEP);
    assert_non_null(strstr(a->status, "trial 6 has not started"));
    sweep_close(a);
    done(a);
    a = fake(TRAIN_FINISHED);
    a->screen = TUI_SCREEN_SWEEP;
    assert_int_equal(sweep_open(a, test_dir), 0);
    draw_sweep(a);
    expect(a, "No sweep: vggtop watch SWEEP_DIR");
    done(a);
}

/* With --notify or --on-event (alerts on), the trials that ended since the last look are told as vggtop sweep
 * tells them, and the sweep's end once none is left; the first look tells nothing (old news). */
static void ends_are_told(void **state)
{
    (void)state;
    app *a = open_fixture("tell");
    a->alerts.on = 1; /* no terminal, no hook: the kept events are what is checked */
    a->alerts.sink.term_fd = a->alerts.sink.close_fd = -1;
    assert_int_equal(a->alerts.n_pending, 0);
    sweep_plan p;
    sweep_state *st;
    vt_err err;
    assert_int_equal(sweep_load(at("tell"), &p, &st, &err), VT_OK);
    st[3] = SWEEP_DONE;
    assert_int_equal(sweep_save(at("tell"), &p, st, &err), VT_OK);
    double now = vt_now() + 10;
    assert_int_equal(sweep_poll(a, now), 1);
    assert_int_equal(a->alerts.n_pending, 1);
    assert_int_equal(a->alerts.pending[0].kind, NOTIFY_FINISHED);
    assert_int_equal(a->alerts.trial[0], 3);
    assert_string_equal(a->alerts.pending[0].text, "trial 4/6 (--lr 0.01 --model cnn) finished, best val_acc 0.4000 at epoch 2");
    assert_non_null(strstr(a->status, "finished: trial 4/6"));
    a->alerts.n_pending = 0;
    st[4] = SWEEP_FAILED;
    st[5] = SWEEP_PRUNED;
    assert_int_equal(sweep_save(at("tell"), &p, st, &err), VT_OK);
    assert_int_equal(sweep_poll(a, now + 2), 1);
    assert_int_equal(a->alerts.n_pending, 3);
    assert_int_equal(a->alerts.pending[0].kind + a->alerts.pending[1].kind, NOTIFY_FAILED + NOTIFY_PRUNED);
    assert_int_equal(a->alerts.pending[2].kind, NOTIFY_SWEEP_END);
    assert_int_equal(a->alerts.trial[2], -1);
    assert_non_null(strstr(a->alerts.pending[2].text, "finished: 3 done, 1 failed, 2 pruned; best trial 2 (--lr 0.1 "
                                                      "--model cnn), val_acc 0.8000"));
    a->alerts.n_pending = 0;
    assert_int_equal(sweep_poll(a, now + 4), 0); /* nothing new: nothing told */
    assert_int_equal(a->alerts.n_pending, 0);
    /* A trial opened from the Sweep screen: its end is the sweep's news (told above), not told again as the
     * run shown's; a run outside the sweep still is. */
    const char *shown[] = {"tell/trial-001", "elsewhere"};
    for (int k = 0; k < 2; k++) {
        snprintf(a->dir, sizeof a->dir, "%s", at(shown[k]));
        a->snap->state = TRAIN_TRAINING;
        assert_int_equal(alerts_observe(a, now + 5), 0); /* begins: nothing is news */
        a->snap->state = TRAIN_FINISHED;
        assert_int_equal(alerts_observe(a, now + 6), k);
        assert_int_equal(a->alerts.n_pending, k);
        a->alerts.n_pending = 0;
    }
    free(st);
    sweep_plan_free(&p);
    sweep_close(a);
    done(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(leaderboard_best_first),
        cmocka_unit_test(sort_keys_keep_the_trial),
        cmocka_unit_test(panels_place_the_trials),
        cmocka_unit_test(poll_reads_changes),
        cmocka_unit_test(enter_and_no_sweep),
        cmocka_unit_test(ends_are_told),
    };
    return cmocka_run_group_tests_name("tui_sweep", tests, test_dir_setup, test_dir_teardown);
}
