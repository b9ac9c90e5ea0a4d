/* Unit tests of screens and key handlers against a fake front-end context (an app struct filled by hand, no
 * terminal, no engine). Dashboard: what it shows before an epoch's first step, the whole-run time left, the
 * test-set pass, the table of the last epochs with the best val_acc, the absence of an ETA on an ended run,
 * and what its keys say when there is nothing to control. Keys: the help overlay and the Summary stop at
 * their last line; S asks before it stops. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curses.h>

#include "../src/tui/tui_internal.h"

const char vggtop_version[] = "test";

static app *fake(train_state st)
{
    app *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->snap = calloc(1, sizeof *a->snap);
    assert_non_null(a->snap);
    a->utf8 = 1;
    a->depth = TUI_COLOR_256;
    a->rows = 40;
    a->cols = 100;
    assert_int_equal(tui_grid_init(&a->grid, a->rows, a->cols), 0);
    snprintf(a->dir, sizeof a->dir, "runs/x-mlp");
    a->screen = 2;
    a->following = 1;
    train_snapshot *s = a->snap;
    s->state = st;
    snprintf(s->model, sizeof s->model, "mlp");
    s->epoch = 2;
    s->epochs = 5;
    s->batches = 40;
    s->lr = 0.01;
    return a;
}

static void done(app *a)
{
    tui_grid_free(&a->grid);
    free(a->snap);
    free(a);
}

/* The whole grid as text, rows joined by '\n'. */
static char screen[40 * (100 * 4 + 1) + 1];
static const char *text_of(app *a)
{
    char row[100 * 4 + 1];
    screen[0] = '\0';
    for (int r = 0; r < a->grid.rows; r++) {
        tui_grid_row_utf8(&a->grid, r, row);
        strcat(screen, row);
        strcat(screen, "\n");
    }
    return screen;
}

static void draw(app *a)
{
    tui_grid_clear(&a->grid);
    dash_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
}

static void expect(app *a, const char *want)
{
    const char *t = text_of(a);
    if (!strstr(t, want)) {
        print_error("'%s' is not on the screen:\n%s", want, t);
        fail();
    }
}

static void reject(app *a, const char *bad)
{
    const char *t = text_of(a);
    if (strstr(t, bad)) {
        print_error("'%s' should not be on the screen:\n%s", bad, t);
        fail();
    }
}

static void before_the_first_step_shows_dashes_and_the_time_left(void **state)
{
    (void)state;
    app *a = fake(TRAIN_TRAINING);
    train_snapshot *s = a->snap;
    s->batch = 0;
    s->loss = s->acc = s->mse = NAN;
    s->eta_run = 4800;
    s->epochs_done = 1;
    draw(a);
    expect(a, "loss: - - acc: - - mse: - - lr: 0.01");
    expect(a, "- ms/step");
    expect(a, "1/5 epochs done - 1 h 20 min left · done ≈ ");
    reject(a, "nan");
    done(a);
}

static void the_table_marks_the_best_val_acc_and_keeps_small_mse(void **state)
{
    (void)state;
    app *a = fake(TRAIN_TRAINING);
    train_snapshot *s = a->snap;
    double va[3] = {0.5, 0.7, 0.6};
    for (int i = 0; i < 3; i++)
        s->history[i] = (train_epoch){1.0 - 0.1 * i, 0.4, 3.8e-05, 1.1, va[i], 0.02, 0.01, 12.5, NAN, NAN};
    s->n_history = s->epochs_done = 3;
    s->epoch = 4;
    s->batch = 5;
    s->loss = 0.5;
    s->acc = 0.75;
    s->mse = 3.8e-05;
    s->ms_per_step = 12.5;
    s->img_per_s = 2560;
    draw(a);
    expect(a, "best val_acc 0.7000 at epoch 2 (*)");
    expect(a, "0.7000*");
    expect(a, "3.8000e-05");
    expect(a, "mse: 3.8000e-05");
    expect(a, "12.5 ms/step - 2560 img/s");
    done(a);
}

static void the_test_set_pass_shows_its_progress(void **state)
{
    (void)state;
    app *a = fake(TRAIN_EVALUATING);
    train_snapshot *s = a->snap;
    s->batch = 40;
    s->eval_batch = 120;
    s->eval_batches = 313;
    s->eval_eta = 31;
    s->eta_run = 600;
    draw(a);
    expect(a, "test set: 120/313 [");
    expect(a, "] steps - ETA: 31s");
    expect(a, "10 min left");
    done(a);
}

static void an_ended_run_has_no_eta_and_nothing_to_control(void **state)
{
    (void)state;
    app *a = fake(TRAIN_STOPPED);
    train_snapshot *s = a->snap;
    s->batch = 10;
    s->loss = 0.5;
    s->eta = 12;
    s->eta_run = 999;
    snprintf(s->message, sizeof s->message, "stopped after 1 epoch and 10 steps; continue with vggtop train --resume "
             "runs/a-very-long-folder-name-that-does-not-fit-on-one-row-of-a-small-terminal-at-all/x-mlp-2");
    a->cols = 80;
    tui_grid_resize(&a->grid, a->rows, a->cols);
    draw(a);
    reject(a, "ETA");
    reject(a, "left");
    /* the long command wraps onto the next row instead of being cut */
    expect(a, "x-mlp-2");
    assert_false(app_can_control(a));
    assert_int_equal(dash_key(a, 0, ACT_PAUSE), H_REDRAW);
    assert_non_null(strstr(a->status, "the run has ended"));
    assert_int_equal(dash_key(a, 0, ACT_SORT), H_NONE);
    done(a);
}

static void help_and_summary_stop_at_their_last_line(void **state)
{
    (void)state;
    app *a = fake(TRAIN_FINISHED);
    a->rows = 24; /* body: rows 3..22 (tabs, header, status above, footer below): 20 rows, 19 of text */
    a->cols = 80;
    a->help = 1;
    char *help = tui_keys_help();
    int lines = 0;
    for (const char *p = help; *p; p++)
        lines += *p == '\n';
    free(help);
    for (int i = 0; i < 40; i++)
        app_handle_key(a, KEY_NPAGE);
    assert_int_equal(a->help_top, lines - 19);
    app_handle_key(a, KEY_UP);
    assert_int_equal(a->help_top, lines - 20);
    app_handle_key(a, 'x'); /* any other key closes it */
    assert_int_equal(a->help, 0);

    /* Summary: 30 lines in 19 rows: the last page starts at line 11 (0-based). */
    char text[400] = "";
    for (int i = 1; i <= 30; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "line %d\n", i);
    a->facts.summary = strdup(text);
    a->screen = 8;
    for (int i = 0; i < 5; i++)
        app_handle_key(a, KEY_NPAGE);
    assert_int_equal(a->text_top, 11);
    app_handle_key(a, KEY_HOME);
    assert_int_equal(a->text_top, 0);
    app_handle_key(a, KEY_END);
    assert_int_equal(a->text_top, 11);
    app_handle_key(a, KEY_DOWN);
    assert_int_equal(a->text_top, 11);
    free(a->facts.summary);
    done(a);
}

static void stop_asks_first(void **state)
{
    (void)state;
    app *a = fake(TRAIN_STOPPED); /* nothing to control: S says so and asks nothing */
    a->screen = 2;
    app_handle_key(a, 'S');
    assert_int_equal(a->confirm, CONFIRM_NONE);
    assert_non_null(strstr(a->status, "the run has ended"));
    done(a);
}

/* Compare: a run with no finished epoch shows "-" (it showed "nan nan"). */
static void compare_shows_dashes_for_a_run_without_epochs(void **state)
{
    (void)state;
    app *a = fake(TRAIN_FINISHED);
    a->n_runs = 2;
    a->runs = calloc(2, sizeof *a->runs);
    a->run_hist = calloc(2, sizeof *a->run_hist);
    a->run_hist_n = calloc(2, sizeof *a->run_hist_n);
    a->run_shown = calloc(2, 1);
    assert_true(a->runs && a->run_hist && a->run_hist_n && a->run_shown);
    snprintf(a->runs[0].name, sizeof a->runs[0].name, "20261201T100000Z-cnn");
    snprintf(a->runs[0].model, sizeof a->runs[0].model, "cnn");
    a->runs[0].epochs = 5;
    a->runs[0].best_val_acc = a->runs[0].last_val_acc = NAN;
    snprintf(a->runs[1].name, sizeof a->runs[1].name, "20261201T110000Z-mlp");
    snprintf(a->runs[1].model, sizeof a->runs[1].model, "mlp");
    a->runs[1].epochs = a->runs[1].epochs_done = 1;
    a->runs[1].best_val_acc = a->runs[1].last_val_acc = 0.8125;
    tui_grid_clear(&a->grid);
    compare_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    a->runs[1].seconds = 125;
    tui_grid_clear(&a->grid);
    compare_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "     -      -   0/5          -        -");
    /* the time column: seconds per epoch and in all (Keras' ETA format) */
    expect(a, "   125   2:05   1/1     0.8125   0.8125");
    reject(a, "nan");
    compare_free(a);
    done(a);
}

/* Compare at 80x24: the runs chosen for the chart at first are on the table's 5 rows, the newest selected
 * (the newest five sat below the rows shown, off screen). A runs folder of 9 copies of the fixture run, runs
 * 3, 6 and 8 without an epoch. */
static void compare_shows_its_first_choice_at_80x24(void **state)
{
    (void)state;
    char runs[] = "/tmp/vggtop-cmp-XXXXXX";
    assert_non_null(mkdtemp(runs));
    char cmd[8300];
    for (int i = 1; i <= 9; i++) {
        snprintf(cmd, sizeof cmd, "cp -r tests/fixtures/train/run %s/2026120%dT000000Z-mlp%s", runs, i,
                 i == 3 || i == 6 || i == 8 ? " && rm %s/2026120%dT000000Z-mlp/history.csv" : "");
        char full[8400];
        snprintf(full, sizeof full, cmd, runs, i);
        assert_int_equal(system(full), 0);
    }
    app *a = fake(TRAIN_FINISHED);
    a->rows = 24;
    a->cols = 80;
    tui_grid_resize(&a->grid, a->rows, a->cols);
    a->opt.runs_dir = runs;
    compare_scan(a);
    assert_int_equal(a->n_runs, 9);
    int chosen = 0;
    for (int i = 0; i < a->n_runs; i++)
        chosen += a->run_shown[i];
    assert_true(chosen >= 3);
    assert_int_equal(a->run_sel, 8); /* the newest with an epoch (index 8: run 9) */
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
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", runs);
    assert_int_equal(system(cmd), 0);
}

/* Compare's Enter on another run while this process trains one: the other run's files are shown and the live
 * run is parked, training on (it was refused: "browse other runs when it has finished"); Enter on the live
 * run's row brings it back. The trainer is created, not started: it stays in a running state (idle). */
static void compare_opens_another_run_while_one_trains(void **state)
{
    (void)state;
    char runs[] = "/tmp/vggtop-browse-XXXXXX";
    assert_non_null(mkdtemp(runs));
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
    a->n_runs = 2;
    a->runs = calloc(2, sizeof *a->runs);
    a->run_hist = calloc(2, sizeof *a->run_hist);
    a->run_hist_n = calloc(2, sizeof *a->run_hist_n);
    a->run_shown = calloc(2, 1);
    assert_true(a->runs && a->run_hist && a->run_hist_n && a->run_shown);
    snprintf(a->runs[0].path, sizeof a->runs[0].path, "tests/fixtures/train/run");
    snprintf(a->runs[1].path, sizeof a->runs[1].path, "%s", a->dir);
    a->screen = 6;
    a->run_sel = 0;
    app_handle_key(a, '\n');
    assert_int_equal(a->screen, 2);
    assert_string_equal(a->dir, "tests/fixtures/train/run");
    assert_int_equal(a->live, 0);
    assert_non_null(a->parked);
    assert_true(app_training(a));
    assert_int_equal(a->C, 4); /* the fixture's predictions */
    assert_non_null(strstr(a->status, "the live run trains on"));
    /* a new run is refused while the parked one trains */
    app_start_run(a, &cfg);
    assert_non_null(strstr(a->status, "a run is live"));
    a->screen = 6;
    a->run_sel = 1;
    app_handle_key(a, '\n');
    assert_int_equal(a->screen, 2);
    assert_int_equal(a->live, 1);
    assert_null(a->parked);
    assert_string_equal(a->dir, a->runs[1].path);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", a->dir);
    trainer_destroy(a->tr);
    compare_free(a);
    if (a->have_run)
        run_free(&a->run);
    free(a->parked_snap);
    free(a->cm);
    free(a->roc_drawn);
    free(a->rep_order);
    free(a->rep_text);
    free(a->rep_cells);
    free(a->rep_roles);
    done(a);
    char cmd[8300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", runs);
    assert_int_equal(system(cmd), 0);
}

/* Confusion: the most confused pairs with whole names and the share of the true class (names were cut at 11
 * characters), and the scale's legend. 3 classes; row 0 (support 4): 2 right, 2 predicted as class 2. */
static void confusion_names_shares_and_scale(void **state)
{
    (void)state;
    app *a = fake(TRAIN_FINISHED);
    a->depth = TUI_COLOR_NONE;
    a->utf8 = 0;
    static long cm[9] = {2, 0, 2, 0, 3, 1, 0, 0, 4};
    static char n0[] = "aquarium_fish_long", n1[] = "bee", n2[] = "sweet_pepper_red";
    static char *names[3] = {n0, n1, n2};
    a->cm = cm;
    a->C = 3;
    a->names = names;
    a->screen = 4;
    confusion_enter(a);
    tui_grid_clear(&a->grid);
    confusion_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "aquarium_fish_long > sweet_pepper_red 2 (50%)");
    expect(a, "bee > sweet_pepper_red 1 (25%)");
    /* the ramp of the nine levels, two columns each, between 0 and the largest count (4) */
    expect(a, "0 ..::--==++**##%%@@ 4");
    /* column labels: 6-column cells at 100 columns, names cut to 5 (the sixth holds the cursor's marker) */
    expect(a, "predicted    aquar");
    expect(a, "bee   sweet");
    app_handle_key(a, 'n');
    tui_grid_clear(&a->grid);
    confusion_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "row-normalised (%)");
    expect(a, "@@ 100%");
    expect(a, "50"); /* row 0's share of class 2, in its cell */
    confusion_reset(a);
    a->cm = NULL; /* static: not the app's to free */
    a->names = NULL;
    done(a);
}

/* Confusion at 80 columns with 10 classes: 3-column cells, the columns numbered (no room for names); the
 * cells are built on entering the screen, never in the draw. */
static void confusion_numbers_its_columns_when_names_do_not_fit(void **state)
{
    (void)state;
    app *a = fake(TRAIN_FINISHED);
    a->cols = 80;
    a->rows = 24;
    tui_grid_resize(&a->grid, a->rows, a->cols);
    static long cm[100];
    static char buf[10][24];
    static char *names[10];
    for (int i = 0; i < 10; i++) {
        cm[i * 10 + i] = 5;
        snprintf(buf[i], sizeof buf[i], "class_%d", i);
        names[i] = buf[i];
    }
    a->cm = cm;
    a->C = 10;
    a->names = names;
    tui_grid_clear(&a->grid);
    confusion_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "no predictions yet"); /* not built: the draw does not build it */
    a->screen = 4;
    app_handle_key(a, KEY_RIGHT);
    tui_grid_clear(&a->grid);
    confusion_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "predicted");
    expect(a, " 7  8  9");
    reject(a, "pred 0..");
    expect(a, "true class_0 → predicted class_1");
    confusion_reset(a);
    a->cm = NULL;
    a->names = NULL;
    done(a);
}

/* Samples without the images (the data set moved): true, predicted and top-5 still come from the run's
 * predictions, with a line saying why there is no picture (it showed only the error). */
static void samples_without_images_show_the_predictions(void **state)
{
    (void)state;
    app *a = fake(TRAIN_FINISHED);
    a->screen = 7;
    static int yt[2] = {1, 2}, yp[2] = {1, 0};
    static float probs[6] = {0.1f, 0.7f, 0.2f, 0.5f, 0.2f, 0.3f};
    static char n0[] = "apple", n1[] = "bee", n2[] = "camel";
    static char *names[3] = {n0, n1, n2};
    a->C = 3;
    a->names = names;
    a->run.n_pred = 2;
    a->run.y_true = yt;
    a->run.y_pred = yp;
    a->run.probs = probs;
    snprintf(a->test_err, sizeof a->test_err, "/gone/data: no such directory");
    tui_grid_clear(&a->grid);
    samples_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "Test image 1 of 2 (1 misclassified)");
    expect(a, "true:      bee (1)");
    expect(a, "0.7000");
    expect(a, "No image: /gone/data: no such directory");
    assert_int_equal(samples_key(a, 0, ACT_RIGHT), H_REDRAW); /* keys move through them too */
    tui_grid_clear(&a->grid);
    samples_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "predicted: apple (0)  - wrong");
    a->names = NULL;
    a->run.y_true = a->run.y_pred = NULL;
    a->run.probs = NULL;
    done(a);
}

/* Setup: a long value keeps its end, cut at whole characters with "…" for its head (cut by bytes, a split
 * 'ß' showed as ??, and the head went without a mark); at 80 columns the value has 19 columns. */
static void setup_cuts_values_by_columns(void **state)
{
    (void)state;
    app *a = fake(TRAIN_IDLE);
    a->cols = 80;
    a->rows = 24;
    tui_grid_resize(&a->grid, a->rows, a->cols);
    a->dir[0] = '\0';
    a->following = 0;
    setup_init(a);
    snprintf(a->cfg.data, sizeof a->cfg.data, "/mnt/ßßßßßßßßßßßßßßßßßßßß/cifar-100-binary");
    a->screen = 1;
    tui_grid_clear(&a->grid);
    setup_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "…ß/cifar-100-binary");
    reject(a, "?");
    done(a);
}

/* Setup's "(limited)": only when the limit cuts the training split. A limit of exactly its size cuts
 * nothing (it said "(limited)" for --limit-train 60000 on Fashion-MNIST's 60000). */
static void setup_says_limited_only_when_the_limit_cuts(void **state)
{
    (void)state;
    app *a = fake(TRAIN_IDLE);
    a->dir[0] = '\0';
    a->following = 0;
    setup_init(a);
    a->facts.done_data = 1;
    snprintf(a->facts.dataset, sizeof a->facts.dataset, "Fashion-MNIST");
    a->facts.n_train = a->facts.n_train_file = 60000;
    a->facts.classes = 10;
    a->cfg.limit_train = 60000;
    tui_grid_clear(&a->grid);
    setup_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "(all of them)");
    reject(a, "(limited)");
    a->cfg.limit_train = 5000;
    a->facts.n_train = 5000;
    tui_grid_clear(&a->grid);
    setup_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "(limited)");
    done(a);
}

/* Setup's run-directory field refuses, as it is typed, a file and a folder with files in it (they were taken
 * and refused only when Enter started the run); a new folder is fine. */
static void setup_refuses_a_used_run_dir_as_you_type(void **state)
{
    (void)state;
    char dir[] = "/tmp/vggtop-rundir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[64], cmd[128];
    snprintf(file, sizeof file, "%s/notes.txt", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("x\n", f);
    fclose(f);
    app *a = fake(TRAIN_IDLE);
    a->dir[0] = '\0';
    a->following = 0;
    setup_init(a);
    a->screen = 1;
    while (strcmp(train_fields[a->field].name, "run-dir") != 0)
        a->field++;
    app_handle_key(a, 'e');
    assert_int_equal(a->editing, 1);
    for (const char *p = dir; *p; p++)
        app_handle_key(a, *p);
    assert_non_null(strstr(a->edit_err, "is not empty"));
    app_handle_key(a, '\n'); /* refused: still editing */
    assert_int_equal(a->editing, 1);
    for (const char *p = "/notes.txt"; *p; p++)
        app_handle_key(a, *p);
    assert_non_null(strstr(a->edit_err, "is a file"));
    for (int i = 0; i < 10; i++)
        app_handle_key(a, KEY_BACKSPACE);
    for (const char *p = "/new"; *p; p++)
        app_handle_key(a, *p);
    assert_string_equal(a->edit_err, "");
    done(a);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Wrapping: a word longer than the row (a URL) breaks after a '/' or '-', not at the width mid-word. */
static void wrapping_breaks_a_url_at_a_slash(void **state)
{
    (void)state;
    app *a = fake(TRAIN_IDLE);
    tui_grid_clear(&a->grid);
    int n = app_draw_wrapped(&a->grid, (tui_rect){0, 0, 5, 30},
                             "cannot download https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz", 0);
    assert_int_equal(n, 3);
    char row[30 * 4 + 1];
    tui_grid_row_utf8(&a->grid, 1, row);
    assert_non_null(strstr(row, "https://www.cs.toronto.edu/ "));
    tui_grid_row_utf8(&a->grid, 2, row);
    assert_non_null(strstr(row, "~kriz/cifar-100-binary.tar.gz"));
    done(a);
}

/* Samples at 120x40: a 32x32 image twice its size (64 columns, 32 rows), the text beside it; it stayed at
 * 32 columns there (half the width was its limit). */
static void samples_scale_the_image_up_on_a_large_terminal(void **state)
{
    (void)state;
    app *a = fake(TRAIN_FINISHED);
    a->rows = 40;
    a->cols = 120;
    tui_grid_free(&a->grid);
    assert_int_equal(tui_grid_init(&a->grid, a->rows, a->cols), 0);
    static int yt[1] = {1}, yp[1] = {1};
    static float probs[3] = {0.1f, 0.7f, 0.2f};
    static char n0[] = "apple", n1[] = "bee", n2[] = "camel";
    static char *names[3] = {n0, n1, n2};
    static uint8_t pixels[32 * 32 * 3];
    static dataset ds;
    ds.height = ds.width = 32;
    ds.channels = 3;
    ds.n_test = 1;
    ds.test_x = pixels;
    a->test = &ds;
    a->C = 3;
    a->names = names;
    a->run.n_pred = 1;
    a->run.y_true = yt;
    a->run.y_pred = yp;
    a->run.probs = probs;
    tui_grid_clear(&a->grid);
    samples_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    char row[120 * 4 + 1];
    tui_grid_row_utf8(&a->grid, 4, row);
    const char *t = strstr(row, "true:");
    assert_non_null(t);
    int col = 0; /* the column of "true:": characters before it */
    for (const char *p = row; p < t; p++)
        col += ((unsigned char)*p & 0xc0) != 0x80;
    assert_int_equal(col, 2 * 32 + 3);
    a->test = NULL;
    a->names = NULL;
    a->run.y_true = a->run.y_pred = NULL;
    a->run.probs = NULL;
    done(a);
}

/* The one line editor: printable keys append within the size, Backspace and Ctrl-U edit, others are left. */
static void line_editor(void **state)
{
    (void)state;
    char buf[4] = "";
    assert_int_equal(app_line_edit(buf, sizeof buf, 'a'), 1);
    assert_int_equal(app_line_edit(buf, sizeof buf, 'b'), 1);
    assert_int_equal(app_line_edit(buf, sizeof buf, 'c'), 1);
    assert_int_equal(app_line_edit(buf, sizeof buf, 'd'), 1); /* full: taken, unchanged */
    assert_string_equal(buf, "abc");
    assert_int_equal(app_line_edit(buf, sizeof buf, KEY_BACKSPACE), 1);
    assert_string_equal(buf, "ab");
    assert_int_equal(app_line_edit(buf, sizeof buf, '\n'), 0);
    assert_int_equal(app_line_edit(buf, sizeof buf, 27), 0);
    assert_int_equal(app_line_edit(buf, sizeof buf, 21), 1);
    assert_string_equal(buf, "");
    assert_int_equal(app_line_edit(buf, sizeof buf, 127), 1); /* nothing to delete */
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(before_the_first_step_shows_dashes_and_the_time_left),
        cmocka_unit_test(the_table_marks_the_best_val_acc_and_keeps_small_mse),
        cmocka_unit_test(the_test_set_pass_shows_its_progress),
        cmocka_unit_test(an_ended_run_has_no_eta_and_nothing_to_control),
        cmocka_unit_test(help_and_summary_stop_at_their_last_line),
        cmocka_unit_test(stop_asks_first),
        cmocka_unit_test(compare_shows_dashes_for_a_run_without_epochs),
        cmocka_unit_test(compare_opens_another_run_while_one_trains),
        cmocka_unit_test(compare_shows_its_first_choice_at_80x24),
        cmocka_unit_test(confusion_names_shares_and_scale),
        cmocka_unit_test(confusion_numbers_its_columns_when_names_do_not_fit),
        cmocka_unit_test(samples_without_images_show_the_predictions),
        cmocka_unit_test(line_editor),
        cmocka_unit_test(samples_scale_the_image_up_on_a_large_terminal),
        cmocka_unit_test(setup_cuts_values_by_columns),
        cmocka_unit_test(setup_says_limited_only_when_the_limit_cuts),
        cmocka_unit_test(setup_refuses_a_used_run_dir_as_you_type),
        cmocka_unit_test(wrapping_breaks_a_url_at_a_slash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
