/* Unit tests of the front end's runs: the Compare screen (dashes for a run without epochs; the first choice of
 * runs at 80x24, the newest by the time they last wrote; the state column, the rounded time, val_top5, a
 * resize; another run opened while one trains, the live run named by its row) and the run follower (the last
 * epoch's files read when a run of this process ends; vggtop watch's report of the state a command led to, and
 * of a deleted run directory). Against tui_testing.h's fake front-end context; the run directories are copies
 * of tests/fixtures/train/run, a tiny Fashion-MNIST run, or written here. */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curses.h>

#include "../src/tui/tui_internal.h"
#include "testing.h"
#include "tui_testing.h"
#include "vggtop/nn.h"

const char vggtop_version[] = "test";

/* Compare: a run with no finished epoch shows "-" (it showed "nan nan"). */
static void compare_shows_dashes_for_a_run_without_epochs(void **state)
{
    (void)state;
    app *a = fake(TRAIN_FINISHED);
    a->cmp.n = 2;
    a->cmp.runs = calloc(2, sizeof *a->cmp.runs);
    a->cmp.hist = calloc(2, sizeof *a->cmp.hist);
    a->cmp.hist_n = calloc(2, sizeof *a->cmp.hist_n);
    a->cmp.shown = calloc(2, 1);
    assert_true(a->cmp.runs && a->cmp.hist && a->cmp.hist_n && a->cmp.shown);
    snprintf(a->cmp.runs[0].name, sizeof a->cmp.runs[0].name, "20261201T100000Z-cnn");
    snprintf(a->cmp.runs[0].model, sizeof a->cmp.runs[0].model, "cnn");
    a->cmp.runs[0].epochs = 5;
    a->cmp.runs[0].best_val_acc = a->cmp.runs[0].last_val_acc = NAN;
    snprintf(a->cmp.runs[1].name, sizeof a->cmp.runs[1].name, "20261201T110000Z-mlp");
    snprintf(a->cmp.runs[1].model, sizeof a->cmp.runs[1].model, "mlp");
    a->cmp.runs[1].epochs = a->cmp.runs[1].epochs_done = 1;
    a->cmp.runs[1].best_val_acc = a->cmp.runs[1].last_val_acc = 0.8125;
    tui_grid_clear(&a->grid);
    compare_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    a->cmp.runs[1].seconds = 125;
    tui_grid_clear(&a->grid);
    compare_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "     -      -   0/5              -            -");
    /* the time column: seconds per epoch and in all (Keras' ETA format) */
    expect(a, "   125   2:05   1/1         0.8125       0.8125");
    reject(a, "nan");
    compare_free(a);
    done(a);
}

/* A runs folder (made in runs) of 9 copies of the fixture run, 2026120<i>T000000Z-mlp for i = 1..9. */
static void nine_runs(char runs[TMPDIR_SIZE], const char *name)
{
    assert_int_equal(tmpdir_make(runs, name), 0);
    for (int i = 1; i <= 9; i++)
        sh("cp -r tests/fixtures/train/run %s/2026120%dT000000Z-mlp", runs, i);
}

/* Compare at 80x24: the runs chosen for the chart at first are on the table's 5 rows, the newest selected
 * (the newest five sat below the rows shown, off screen). A runs folder of 9 copies of the fixture run, runs
 * 3, 6 and 8 without an epoch. */
static void compare_shows_its_first_choice_at_80x24(void **state)
{
    (void)state;
    char runs[TMPDIR_SIZE];
    nine_runs(runs, "cmp");
    static const int no_epoch[3] = {3, 6, 8};
    for (int k = 0; k < 3; k++)
        sh("rm %s/2026120%dT000000Z-mlp/history.csv", runs, no_epoch[k]);
    app *a = fake(TRAIN_FINISHED);
    a->rows = 24;
    a->cols = 80;
    tui_grid_resize(&a->grid, a->rows, a->cols);
    a->opt.runs_dir = runs;
    compare_scan(a);
    assert_int_equal(a->cmp.n, 9);
    int chosen = 0;
    for (int i = 0; i < a->cmp.n; i++)
        chosen += a->cmp.shown[i];
    assert_true(chosen >= 3);
    assert_int_equal(a->cmp.sel, 8); /* the newest with an epoch (index 8: run 9) */
    tui_grid_clear(&a->grid);
    compare_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    const char *t = text_of(a);
    int on_screen = 0;
    for (const char *p = t; (p = strstr(p, "[x]")); p++)
        on_screen++;
    assert_int_equal(on_screen, chosen);
    expect(a, "[x]  9  20261209T000000Z"); /* the stamp: the name's first 17 columns at 80 */
    compare_free(a);
    done(a);
    assert_int_equal(tmpdir_remove(runs), 0);
}

/* Compare (issue 21): a state column tells a live, a killed and a finished run apart at 80 and 100 columns;
 * the total time is rounded (10.775 s is 11s, it said 10s); m reaches val_top5; the newest runs are the ones
 * that wrote last, whatever their names; a resize to a taller terminal shows the rows scrolled off. A runs
 * folder of 9 copies of the fixture run, run 1 the one written last. */
static void compare_states_times_and_the_newest_by_time(void **state)
{
    (void)state;
    char runs[TMPDIR_SIZE];
    nine_runs(runs, "cmpt");
    for (int i = 1; i <= 9; i++)
        sh("touch -d '2026-12-0%d 12:00' %s/2026120%dT000000Z-mlp/history.csv", i, runs, i);
    sh("touch -d '2026-12-20 12:00' %s/20261201T000000Z-mlp/history.csv", runs);
    app *a = small(fake(TRAIN_FINISHED));
    a->opt.runs_dir = runs;
    compare_scan(a);
    assert_int_equal(a->cmp.n, 9);
    assert_int_equal(a->cmp.sel, 0); /* run 1 wrote last (the name order picked run 9) */
    assert_true(a->cmp.shown[0]);
    snprintf(a->cmp.runs[0].state, sizeof a->cmp.runs[0].state, "live");
    snprintf(a->cmp.runs[1].state, sizeof a->cmp.runs[1].state, "killed");
    snprintf(a->cmp.runs[2].state, sizeof a->cmp.runs[2].state, "finished");
    a->cmp.runs[2].seconds = 10.775;
    a->cmp.runs[2].epochs_done = 3;
    tui_grid_clear(&a->grid);
    compare_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "state");
    expect(a, "best val_acc");
    expect(a, "20261201T000000Z-mlp live");
    expect(a, "20261202T000000Z-mlp killed");
    expect(a, "20261203T000000Z-mlp finished    11s   3/4");
    /* m: val_acc, val_loss, val_mse, then val_top5 */
    a->screen = 6;
    for (int k = 0; k < 3; k++)
        app_handle_key(a, 'm');
    tui_grid_clear(&a->grid);
    compare_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "val_top5 per epoch");
    /* scrolled to the last run at 80x24, then the terminal grows: all nine rows show */
    a->cmp.sel = 8;
    app_handle_key(a, KEY_DOWN);
    assert_true(a->cmp.top > 0);
    a->rows = 40;
    a->cols = 100;
    tui_grid_resize(&a->grid, a->rows, a->cols);
    tui_grid_clear(&a->grid);
    compare_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "  1  20261201T000000Z-mlp");
    expect(a, "  9  20261209T000000Z-mlp");
    expect(a, "mlp          finished"); /* the model column from 100 columns */
    compare_free(a);
    done(a);
    assert_int_equal(tmpdir_remove(runs), 0);
}

/* A run this process trained shows its last epoch once it ends (issue 21: the loop stopped looking at the
 * screens' files the moment the run ended, just after the engine renamed the last epoch's layers.csv and
 * per_class.csv into place: Layers said "epoch 1 of 1" of a run of 2). A tiny mlp on Fashion-MNIST runs to
 * its end; the screens' files count as read (their mtimes taken) with nothing loaded, as a loop that looked
 * just before the rename leaves them; the end's live_update reads them. */
static void the_last_epoch_is_read_when_the_run_ends(void **state)
{
    (void)state;
    char runs[TMPDIR_SIZE];
    assert_int_equal(tmpdir_make(runs, "lastepoch"), 0);
    nn_set_threads(1);
    train_config cfg;
    train_config_default(&cfg);
    snprintf(cfg.model, sizeof cfg.model, "mlp");
    snprintf(cfg.data, sizeof cfg.data, "/usr/share/datasets/fashion-mnist");
    cfg.limit_train = 64;
    cfg.limit_test = 32;
    cfg.epochs = 2;
    cfg.batch_size = 32;
    cfg.threads = 1;
    snprintf(cfg.run_dir, sizeof cfg.run_dir, "%s/run", runs);
    app *a = fake(TRAIN_TRAINING);
    a->following = 0;
    vt_err err;
    assert_int_equal(trainer_create(&cfg, &a->tr, &err), VT_OK);
    assert_int_equal(trainer_start(a->tr, &err), VT_OK);
    assert_int_equal(trainer_join(a->tr), TRAIN_FINISHED);
    a->live = 1;
    snprintf(a->dir, sizeof a->dir, "%s", cfg.run_dir);
    for (int i = 0; i < TUI_N_SCREENS; i++) {
        struct stat st;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", a->dir, app_screens[i].run_file ? app_screens[i].run_file : "-");
        if (app_screens[i].run_file && stat(path, &st) == 0)
            a->mt_files[i] = st.st_mtim;
    }
    live_update(a);
    assert_int_equal(a->live, 0);
    assert_int_equal(a->lay.last, 2);
    assert_int_equal(a->lay.epoch, 2);
    assert_int_equal(a->rpt.epochs, 2);
    done_with_run(a);
    assert_int_equal(tmpdir_remove(runs), 0);
}

/* A progress.json of a run in state st whose last command taken is ack (pid 1: never a trainer here). */
static void write_progress(const char *dir, const char *st, long ack)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/progress.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"state\": \"%s\", \"message\": \"\", \"epoch\": 2, \"epochs\": 4, \"epochs_done\": 1, "
               "\"batch\": 3, \"batches\": 8, \"samples\": 96, \"loss\": 1, \"acc\": 0.5, \"mse\": 0.1, "
               "\"img_per_s\": 100, \"ms_per_step\": 10, \"elapsed\": 5, \"eta\": 5, \"lr\": 0.01, \"pid\": 1, "
               "\"command_ack\": %ld}\n", st, ack);
    fclose(f);
    usleep(20000); /* the next write gets another mtime */
}

/* vggtop watch (issue 21): after p resumes a paused run, the report names the state it led to (it said "took
 * resume (now paused)": the engine acknowledges before its state changes); a watched run directory that is
 * deleted stops reading "watching training". The run's lock is held here, as its trainer would. */
static void watch_reports_the_state_a_command_led_to_and_a_deleted_dir(void **state)
{
    (void)state;
    char dir[TMPDIR_SIZE];
    assert_int_equal(tmpdir_make(dir, "watchack"), 0);
    sh("cp tests/fixtures/train/run/* %s/", dir);
    write_progress(dir, "paused", 0);
    char lock[4200];
    snprintf(lock, sizeof lock, "%s/run.lock", dir);
    int fd = open(lock, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    app *a = fake(TRAIN_IDLE);
    vt_err err;
    assert_int_equal(app_open_dir(a, dir, 1, &err), VT_OK);
    assert_int_equal(a->snap->state, TRAIN_PAUSED);
    a->cmd_seq = 7;
    snprintf(a->cmd_name, sizeof a->cmd_name, "%s", run_command_name(RUN_CMD_RESUME));
    write_progress(dir, "paused", 7); /* acknowledged, still paused */
    a->next_poll = 0;
    follow_poll(a);
    assert_null(strstr(a->status, "took resume (now paused)"));
    write_progress(dir, "training", 7);
    a->next_poll = 0;
    follow_poll(a);
    assert_non_null(strstr(a->status, "the run took resume (now training)"));
    assert_int_equal(a->snap->state, TRAIN_TRAINING);
    /* the directory deleted (its process gone with it) */
    close(fd);
    sh("rm -rf %s", dir);
    a->next_poll = 0;
    follow_poll(a);
    assert_int_equal(a->snap->state, TRAIN_STOPPED);
    assert_non_null(strstr(a->status, "is gone (deleted or moved)"));
    done_with_run(a);
}

/* Compare's Enter on another run while this process trains one: the other run's files are shown and the live
 * run is parked, training on (it was refused: "browse other runs when it has finished"); Enter on the live
 * run's row brings it back. The trainer is created, not started: it stays in a running state (idle). */
static void compare_opens_another_run_while_one_trains(void **state)
{
    (void)state;
    char runs[TMPDIR_SIZE];
    assert_int_equal(tmpdir_make(runs, "browse"), 0);
    app *a = fake(TRAIN_TRAINING);
    a->following = 0;
    train_config cfg;
    train_config_default(&cfg);
    snprintf(cfg.model, sizeof cfg.model, "mlp");
    snprintf(cfg.runs, sizeof cfg.runs, "%s", runs);
    vt_err err;
    assert_int_equal(trainer_create(&cfg, &a->tr, &err), VT_OK);
    a->live = 1;
    trainer_snapshot(a->tr, a->snap);
    snprintf(a->dir, sizeof a->dir, "%s", a->snap->run_dir);
    a->cmp.n = 2;
    a->cmp.runs = calloc(2, sizeof *a->cmp.runs);
    a->cmp.hist = calloc(2, sizeof *a->cmp.hist);
    a->cmp.hist_n = calloc(2, sizeof *a->cmp.hist_n);
    a->cmp.shown = calloc(2, 1);
    assert_true(a->cmp.runs && a->cmp.hist && a->cmp.hist_n && a->cmp.shown);
    snprintf(a->cmp.runs[0].path, sizeof a->cmp.runs[0].path, "tests/fixtures/train/run");
    snprintf(a->cmp.runs[1].path, sizeof a->cmp.runs[1].path, "%s", a->dir);
    a->screen = 6;
    a->cmp.sel = 0;
    app_handle_key(a, '\n');
    assert_int_equal(a->screen, 2);
    assert_string_equal(a->dir, "tests/fixtures/train/run");
    assert_int_equal(a->live, 0);
    assert_non_null(a->parked);
    assert_true(app_training(a));
    assert_int_equal(a->C, 4); /* the fixture's predictions */
    assert_non_null(strstr(a->status, "the live run trains on"));
    /* named by its row in the table (2), not by the screen's key (6) */
    assert_non_null(strstr(a->status, "Enter on its row, 2, returns"));
    /* a new run is refused while the parked one trains */
    app_start_run(a, &cfg);
    assert_non_null(strstr(a->status, "a run is live"));
    a->screen = 6;
    a->cmp.sel = 1;
    app_handle_key(a, '\n');
    assert_int_equal(a->screen, 2);
    assert_int_equal(a->live, 1);
    assert_null(a->parked);
    assert_string_equal(a->dir, a->cmp.runs[1].path);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", a->dir);
    done_with_run(a);
    assert_int_equal(tmpdir_remove(runs), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compare_shows_dashes_for_a_run_without_epochs),
        cmocka_unit_test(compare_shows_its_first_choice_at_80x24),
        cmocka_unit_test(compare_states_times_and_the_newest_by_time),
        cmocka_unit_test(the_last_epoch_is_read_when_the_run_ends),
        cmocka_unit_test(watch_reports_the_state_a_command_led_to_and_a_deleted_dir),
        cmocka_unit_test(compare_opens_another_run_while_one_trains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
