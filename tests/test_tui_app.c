/* Unit tests of screens and key handlers against a fake front-end context (tui_testing.h: an app struct filled
 * by hand, no terminal, no engine); Compare and the run follower are in test_tui_runs.c. Confusion (column
 * labels as wide as the names, cells built on enter, one arrow, "none"), Setup (values cut by columns, the run
 * directory checked as typed, "(limited)", help and errors in the rows they need, the estimate in tenths, the
 * summary squeezed with its Param #, e on a choice), Samples (scaled image, your own image first), ROC (the list follows in the
 * keys), Report and Layers (the keys keep the cursor in view, the draw changes no state; Report's title names
 * the predictions' epoch; a search that stops matching), wrapping. Dashboard: what it shows while loading and
 * before an epoch's first step, the whole-run time left, the test-set pass, the table of the last epochs in
 * vggtop history's order with the best val_acc, accuracy fitted to its data (z: 0-1), the absence of an ETA on
 * an ended run, and what its keys say when there is nothing to control. Frame: the help overlay wrapped and
 * the Summary stop at their last line; S asks before it stops; the footer offers keys that work; the
 * small-terminal notice whole. */
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
#include "tui_testing.h"

const char vggtop_version[] = "test";

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
    expect(a, "loss, acc, top5 and mse: after the first step - lr: 0.01");
    reject(a, "loss: -");
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
    reject(a, "ranks");
    s->ranks = 4; /* a data-parallel run: the rate is the ranks' together */
    draw(a);
    expect(a, "12.5 ms/step - 2560 img/s on 4 ranks");
    done(a);
}

/* The Dashboard's accuracy chart is fitted to its data (issue 21: CIFAR-100's first epochs, acc 0.006-0.05,
 * were one flat row on the 0.00 line of a 0-1 axis); z shows 0-1 and back. */
static void dashboard_accuracy_is_fitted_and_z_shows_0_to_1(void **state)
{
    (void)state;
    app *a = fake(TRAIN_TRAINING);
    train_snapshot *s = a->snap;
    double acc[3] = {0.006, 0.02, 0.05}, val[3] = {0.01, 0.03, 0.04};
    for (int i = 0; i < 3; i++)
        s->history[i] = (train_epoch){4.6 - 0.1 * i, acc[i], 0.01, 4.5, val[i], 0.01, 0.01, 12.5, NAN, NAN};
    s->n_history = s->epochs_done = 3;
    s->epoch = 4;
    draw(a);
    expect(a, "0.05│");
    expect(a, "0.01│");
    a->screen = 2;
    app_handle_key(a, 'z');
    draw(a);
    reject(a, "0.05│");
    expect(a, "0.00│");
    app_handle_key(a, 'z');
    draw(a);
    expect(a, "0.05│");
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
    /* the epoch's bar is full during the pass (it stayed at the step before the last: 39/40), without a time
     * per step that counts the pass's time as training's; the rate beside the state says it is training's */
    s->batch = 39;
    s->epoch_elapsed = 100;
    s->ms_per_step = 12.5;
    s->loss = 0.5;
    s->img_per_s = 2560;
    draw(a);
    expect(a, "40/40 [");
    reject(a, "39/40");
    reject(a, "2s/step");
    expect(a, "evaluating - training: 12.5 ms/step - 2560 img/s");
    done(a);
}

/* While the data set loads there is no epoch and no step: the Dashboard says so (issue 21: "Epoch 0/5 0/1
 * [...] ETA: 0s"). */
static void loading_shows_no_placeholders(void **state)
{
    (void)state;
    app *a = fake(TRAIN_LOADING);
    train_snapshot *s = a->snap;
    s->epoch = 0;
    s->batches = 0;
    s->batch = 0;
    s->loss = s->acc = s->mse = s->top5 = NAN;
    draw(a);
    expect(a, "Epoch -/5");
    expect(a, "loading the data set...");
    reject(a, "0/1");
    reject(a, "ETA: 0s");
    /* the header leaves out the data set it does not know yet (it said "data set ?") */
    a->live = 1;
    tui_grid_clear(&a->grid);
    app_draw_header(a);
    expect(a, "live loading · mlp");
    reject(a, "?");
    reject(a, "float32"); /* the default precision goes unsaid */
    /* a mixed_bfloat16 run names its precision beside the model */
    snprintf(s->precision, sizeof s->precision, "mixed_bfloat16");
    tui_grid_clear(&a->grid);
    app_draw_header(a);
    expect(a, "live loading · mlp mixed_bfloat16");
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
    /* the overlay's text is wrapped to the 78 columns it has (it cut lines at 80): every line fits, and the
     * key table's longest help (D's) is there to its last word */
    const char *help = app_help_text(a);
    int lines = 0, col = 0;
    for (const char *p = help; *p; p++) {
        lines += *p == '\n';
        col = *p == '\n' ? 0 : col + ((*p & 0xc0) != 0x80);
        assert_true(col <= 78);
    }
    assert_non_null(strstr(help, "line to come back with"));
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
    assert_int_equal(a->sum.text_top, 11);
    app_handle_key(a, KEY_HOME);
    assert_int_equal(a->sum.text_top, 0);
    app_handle_key(a, KEY_END);
    assert_int_equal(a->sum.text_top, 11);
    app_handle_key(a, KEY_DOWN);
    assert_int_equal(a->sum.text_top, 11);
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





/* A terminal smaller than the front end needs gets its notice whole (issue 21: at 40x10 the line was cut). */
static void the_small_terminal_notice_is_whole_at_40x10(void **state)
{
    (void)state;
    app *a = fake(TRAIN_IDLE);
    a->rows = 10;
    a->cols = 40;
    tui_grid_resize(&a->grid, a->rows, a->cols);
    tui_grid_clear(&a->grid);
    app_draw_too_small(a);
    const char *t = text_of(a);
    for (const char *w = "enlarge the terminal to at least 80x24 (now 40x10)"; *w;) {
        size_t n = strcspn(w, " ");
        char word[64];
        snprintf(word, sizeof word, "%.*s", (int)n, w);
        if (!strstr(t, word)) {
            print_error("'%s' is not on the screen:\n%s", word, t);
            fail();
        }
        w += n + (w[n] == ' ');
    }
    done(a);
}

/* The footer offers only keys that work (issue 21): while a Setup field is edited the table's keys type into
 * it, so it offers Enter and Esc (it offered q Quit and t Time); a watched run that has ended has nothing to
 * detach from (it offered D Detach). */
static void footer_offers_only_keys_that_work(void **state)
{
    (void)state;
    app *a = fake(TRAIN_IDLE);
    a->dir[0] = '\0';
    a->following = 0;
    setup_init(a);
    a->screen = 1;
    while (strcmp(train_fields[a->form.field].name, "epochs") != 0)
        a->form.field++;
    app_handle_key(a, 'e');
    assert_int_equal(a->form.editing, 1);
    tui_grid_clear(&a->grid);
    app_draw_footer(a);
    expect(a, "Enter Accept Esc Cancel");
    reject(a, "q Quit");
    reject(a, "t Time");
    app_handle_key(a, 27);
    tui_grid_clear(&a->grid);
    app_draw_footer(a);
    expect(a, "q Quit");
    /* e on a choice (the model) changes nothing and says how it changes (it stepped it silently) */
    a->form.field = 0;
    char model[32];
    snprintf(model, sizeof model, "%s", a->cfg.model);
    app_handle_key(a, 'e');
    assert_string_equal(a->cfg.model, model);
    assert_int_equal(a->form.editing, 0);
    assert_non_null(strstr(a->status, "is a choice: Left/Right or Space change it"));
    done(a);

    a = fake(TRAIN_FINISHED); /* watching a finished run */
    a->following = 1;
    a->have_run = 1;
    a->run.parts = RUN_PART_PROGRESS;
    a->screen = 2;
    tui_grid_clear(&a->grid);
    app_draw_footer(a);
    reject(a, "D Detach");
    a->snap->state = TRAIN_TRAINING; /* and one that trains: D leaves it training */
    tui_grid_clear(&a->grid);
    app_draw_footer(a);
    expect(a, "D Detach");
    done(a);
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
    /* one arrow style (ASCII here: ->, as the cursor's line and vggtop confusion) */
    expect(a, "Most confused (true -> pred)");
    expect(a, "aquarium_fish_long -> sweet_pepper_red 2 (50%)");
    expect(a, "bee -> sweet_pepper_red 1 (25%)");
    /* the row labels whole: as wide as the longest name (they were cut at 12) */
    expect(a, "\naquarium_fish_long ");
    expect(a, "\nsweet_pepper_red ");
    /* the ramp of the nine levels, two columns each, between 0 and the largest count (4) */
    expect(a, "0 ..::--==++**##%%@@ 4");
    /* column labels: 6-column cells at 100 columns, names cut to 5 (the sixth holds the cursor's marker) */
    expect(a, "predicted          aquar");
    expect(a, "bee   sweet");
    app_handle_key(a, 'n');
    tui_grid_clear(&a->grid);
    confusion_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "row-normalised (%)");
    expect(a, "@@ 100%");
    expect(a, "50"); /* row 0's share of class 2, in its cell */
    /* every image right: the list says so (it was empty, without a word) */
    static long right[9] = {2, 0, 0, 0, 3, 0, 0, 0, 4};
    confusion_reset(a);
    a->cm = right;
    confusion_enter(a);
    tui_grid_clear(&a->grid);
    confusion_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "none: every test image is");
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

/* A finished run on the Samples screen with two test images' predictions (3 classes: apple, bee, camel;
 * image 1 right, image 2 wrong) and no images of its data set. */
static app *samples_fake(void)
{
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
    return a;
}

static void samples_fake_done(app *a)
{
    a->names = NULL;
    a->run.y_true = a->run.y_pred = NULL;
    a->run.probs = NULL;
    done(a);
}

/* Samples without the images (the data set moved): true, predicted and top-5 still come from the run's
 * predictions, with a line saying why there is no picture (it showed only the error). */
static void samples_without_images_show_the_predictions(void **state)
{
    (void)state;
    app *a = samples_fake();
    snprintf(a->smp.test_err, sizeof a->smp.test_err, "/gone/data: no such directory");
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
    samples_fake_done(a);
}

/* `vggtop --image cat.jpg` with no run yet: Samples says where the image will be (it said only "no run yet"). */
static void samples_without_a_run_say_where_your_image_goes(void **state)
{
    (void)state;
    app *a = fake(TRAIN_IDLE);
    a->dir[0] = '\0';
    a->following = 0;
    a->screen = 7;
    a->opt.image = "photos/cat.png";
    tui_grid_clear(&a->grid);
    samples_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "Samples: no run yet");
    expect(a, "Your image (photos/cat.png) comes first here");
    done(a);
}

/* Samples with --image: the user's own image comes first, with the top 5 the run gives it and no true class;
 * Right goes on to the test images, Left and Home come back; an image that could not be predicted says why. */
static void samples_show_your_own_image_first(void **state)
{
    (void)state;
    app *a = samples_fake();
    a->opt.image = "photos/cat.png";
    samples_reset(a, 1);
    assert_int_equal(a->smp.sample, -1);
    a->smp.image = calloc(8 * 8 * 3, 1);
    a->smp.image_probs = malloc(3 * sizeof(float));
    assert_non_null(a->smp.image);
    assert_non_null(a->smp.image_probs);
    a->smp.image_probs[0] = 0.25f, a->smp.image_probs[1] = 0.15f, a->smp.image_probs[2] = 0.6f;
    a->smp.image_classes = 3;
    a->smp.image_h = a->smp.image_w = 8;
    tui_grid_clear(&a->grid);
    samples_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "Your image: photos/cat.png");
    expect(a, "predicted: camel (2)");
    expect(a, "0.6000");
    expect(a, "0.2500");
    reject(a, "true:");
    assert_int_equal(samples_key(a, 0, ACT_LEFT), H_REDRAW); /* nothing before it */
    assert_int_equal(a->smp.sample, -1);
    assert_int_equal(samples_key(a, 0, ACT_RIGHT), H_REDRAW);
    tui_grid_clear(&a->grid);
    samples_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "Test image 1 of 2");
    expect(a, "true:      bee (1)");
    assert_int_equal(samples_key(a, 0, ACT_RIGHT), H_REDRAW);
    assert_int_equal(samples_key(a, 0, ACT_HOME), H_REDRAW);
    assert_int_equal(a->smp.sample, -1);
    /* In misclassified-only mode Right from it goes to the first misclassified image. */
    assert_int_equal(samples_key(a, 0, ACT_MISSED), H_REDRAW);
    assert_int_equal(a->smp.sample, 1);
    samples_close(a);
    assert_null(a->smp.image);
    snprintf(a->smp.image_err, sizeof a->smp.image_err, "photos/cat.png: not a PNG or JPEG image");
    a->smp.sample = -1;
    tui_grid_clear(&a->grid);
    samples_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "No prediction: photos/cat.png: not a PNG or JPEG image");
    expect(a, "Right: the run's test images");
    samples_fake_done(a);
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

/* Setup at 80x24: End moves to the last field and the keys scroll the form to it (16 rows of fields); the
 * draw shows it without changing the form's first row (it scrolled the form itself). */
static void setup_form_scrolls_in_the_keys(void **state)
{
    (void)state;
    app *a = fake(TRAIN_IDLE);
    a->rows = 24;
    a->cols = 80;
    tui_grid_resize(&a->grid, a->rows, a->cols);
    a->dir[0] = '\0';
    a->following = 0;
    setup_init(a);
    a->screen = 1;
    int nf = 0;
    while (train_fields[nf].name)
        nf++;
    app_handle_key(a, KEY_END);
    assert_int_equal(a->form.field, nf - 1);
    /* 20 body rows: the title, the fields, and the last field's help in as many rows as it takes (at least 3;
     * it was cut at 3) in the form's 35 columns */
    char doc[800];
    train_field_doc(&train_fields[nf - 1], doc, sizeof doc);
    int need = app_draw_wrapped(NULL, (tui_rect){0, 1, 20, 35}, doc, ROLE_DIM);
    assert_int_equal(a->form.field_top, nf - (20 - 1 - (need < 3 ? 3 : need)));
    a->form.field_top = 0; /* the draw follows the cursor in a copy */
    tui_grid_clear(&a->grid);
    setup_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    assert_int_equal(a->form.field_top, 0);
    expect(a, train_fields[nf - 1].label);
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
    /* --validation-split 0.5 of a folder of one image per class: "1 training image", not "1 training images" */
    a->cfg.limit_train = 0;
    a->facts.n_train = a->facts.n_train_file = 1;
    tui_grid_clear(&a->grid);
    setup_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "10 classes, 1 training"); /* the line wraps after it at 100 columns */
    expect(a, " image ");
    reject(a, "images");
    done(a);
}

/* Setup's estimate of a fast model (issue 21): tenths, or "<1 s", where it said "0 s per epoch ... 2 s for 5
 * epochs"; and "1 epoch", not "1 epochs". */
static void setup_estimate_shows_tenths_and_under_a_second(void **state)
{
    (void)state;
    app *a = fake(TRAIN_IDLE);
    a->dir[0] = '\0';
    a->following = 0;
    setup_init(a);
    a->facts.done_estimate = 1;
    a->facts.seconds = 0.3;
    a->cfg.epochs = 5;
    tui_grid_clear(&a->grid);
    setup_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "Estimate: <1 s per epoch");
    expect(a, "pass, 1.5 s"); /* the line wraps after it at 100 columns */
    expect(a, "for 5 epochs");
    a->cfg.epochs = 1;
    a->facts.seconds = 2.34;
    tui_grid_clear(&a->grid);
    setup_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    expect(a, "Estimate: 2.3 s per epoch");
    expect(a, "s for 1 epoch ");
    reject(a, "1 epochs");
    done(a);
}

/* Setup's model summary at 80x24 keeps its Param # column (issue 21: the 65-column Keras table was cut at the
 * right panel's 42 columns): the layer rows are squeezed, each with its parameter count. */
static void setup_summary_keeps_its_params(void **state)
{
    (void)state;
    FILE *f = fopen("tests/fixtures/nn/summary_cnn.txt", "r");
    assert_non_null(f);
    static char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    app *a = small(fake(TRAIN_IDLE));
    a->dir[0] = '\0';
    a->following = 0;
    setup_init(a);
    a->rows = 40; /* tall enough for the summary's first layers under the facts */
    tui_grid_resize(&a->grid, a->rows, a->cols);
    a->facts.done_summary = 1;
    a->facts.summary = text;
    tui_grid_clear(&a->grid);
    setup_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    a->facts.summary = NULL;
    expect(a, "Param #");
    expect(a, "(28, 28, 32)    9248 \n");
    expect(a, "(512) 1606144 \n"); /* fc1: the widest count, whole */
    expect(a, " block1_conv2  "); /* its type left out: the row keeps its count */
    expect(a, " fc1 (Dense) "); /* a short name keeps its type */
    done(a);
}

/* Setup's run-directory field refuses, as it is typed, a file and a folder with files in it (they were taken
 * and refused only when Enter started the run); a new folder is fine. */
static void setup_refuses_a_used_run_dir_as_you_type(void **state)
{
    (void)state;
    char dir[TMPDIR_SIZE];
    assert_int_equal(tmpdir_make(dir, "rundir"), 0);
    char file[TMPDIR_SIZE + 16];
    snprintf(file, sizeof file, "%s/notes.txt", dir);
    write_text(file, "x\n");
    app *a = fake(TRAIN_IDLE);
    a->dir[0] = '\0';
    a->following = 0;
    setup_init(a);
    a->screen = 1;
    while (strcmp(train_fields[a->form.field].name, "run-dir") != 0)
        a->form.field++;
    app_handle_key(a, 'e');
    assert_int_equal(a->form.editing, 1);
    for (const char *p = dir; *p; p++)
        app_handle_key(a, *p);
    assert_non_null(strstr(a->form.edit_err, "is not empty"));
    app_handle_key(a, '\n'); /* refused: still editing */
    assert_int_equal(a->form.editing, 1);
    /* the whole message, its fix at the end included, under the fields at 80x24 (it was cut at three rows) */
    small(a);
    tui_grid_clear(&a->grid);
    setup_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    {
        const char *err = a->form.edit_err, *last = strrchr(err, ' ');
        assert_non_null(last);
        expect(a, last + 1);
    }
    for (const char *p = "/notes.txt"; *p; p++)
        app_handle_key(a, *p);
    assert_non_null(strstr(a->form.edit_err, "is a file"));
    for (int i = 0; i < 10; i++)
        app_handle_key(a, KEY_BACKSPACE);
    for (const char *p = "/new"; *p; p++)
        app_handle_key(a, *p);
    assert_string_equal(a->form.edit_err, "");
    done(a);
    assert_int_equal(tmpdir_remove(dir), 0);
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
    app *a = samples_fake(); /* its first image, with the data set's one test image */
    a->rows = 40;
    a->cols = 120;
    tui_grid_free(&a->grid);
    assert_int_equal(tui_grid_init(&a->grid, a->rows, a->cols), 0);
    static uint8_t pixels[32 * 32 * 3];
    static dataset ds;
    ds.height = ds.width = 32;
    ds.channels = 3;
    ds.n_test = 1;
    ds.test_x = pixels;
    a->smp.test = &ds;
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
    a->smp.test = NULL;
    samples_fake_done(a);
}

/* ROC: the class list follows its cursor through the key handler, and its draw changes no state (it moved
 * the list's first row itself). 40 classes at 80x24: 17 rows of the list in the body of 20. */
static void roc_list_follows_the_cursor_in_the_keys(void **state)
{
    (void)state;
    enum { C = 40, N = 80 };
    app *a = fake(TRAIN_FINISHED);
    a->rows = 24;
    a->cols = 80;
    tui_grid_resize(&a->grid, a->rows, a->cols);
    static float probs[N * C];
    static int yt[N], yp[N];
    for (int i = 0; i < N; i++) {
        yt[i] = yp[i] = i % C;
        for (int c = 0; c < C; c++)
            probs[i * C + c] = c == yt[i] ? 0.5f : 0.5f / (C - 1);
    }
    a->run.probs = probs;
    a->run.y_true = yt;
    a->run.y_pred = yp;
    a->run.n_pred = N;
    static char buf[C][16];
    static char *names[C];
    for (int c = 0; c < C; c++) {
        snprintf(buf[c], sizeof buf[c], "c%d", c);
        names[c] = buf[c];
    }
    a->names = names;
    a->C = C;
    a->rv.drawn = calloc(C, 1);
    assert_non_null(a->rv.drawn);
    a->screen = 5;
    for (int i = 0; i < 25; i++)
        app_handle_key(a, KEY_DOWN);
    assert_int_equal(a->rv.sel, 25);
    int top = a->rv.top;
    assert_true(top > 0 && top <= 25 && 25 < top + a->rows - 7);
    a->rv.top = 0; /* a draw shows row 25 from a copy, and leaves rv.top alone */
    tui_grid_clear(&a->grid);
    roc_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    assert_int_equal(a->rv.top, 0);
    expect(a, "[ ] c25 ");
    for (int c = 0; c < C; c++)
        metrics_roc_free(&a->roc[c]);
    free(a->roc);
    metrics_roc_free(&a->micro);
    metrics_roc_free(&a->macro);
    free(a->rv.drawn);
    a->names = NULL;
    a->run.probs = NULL;
    a->run.y_true = a->run.y_pred = NULL;
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

/* ---- Report's history, Layers, the system line ---- */

/* The row of the grid holding `word` (the first), as text. */
static char row_text[100 * 4 + 1];
static const char *row_with(app *a, const char *word)
{
    for (int r = 0; r < a->grid.rows; r++)
        if (strstr(tui_grid_row_utf8(&a->grid, r, row_text), word))
            return row_text;
    print_error("no row holds '%s':\n%s", word, text_of(a));
    fail();
    return NULL;
}

/* A temporary run directory holding one file. */
static void write_run_file(app *a, const char *name, const char *text)
{
    if (!a->dir[0] || strncmp(a->dir, "/tmp/", 5) != 0) {
        assert_int_equal(tmpdir_make(a->dir, "test-tui"), 0);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", a->dir, name);
    write_text(path, text);
}

static void remove_run_dir(app *a) { tmpdir_remove(a->dir); }

/* Three classes; the report (of the latest predictions) from a confusion matrix, the history of two epochs. */
static app *fake_report(void)
{
    app *a = fake(TRAIN_FINISHED);
    a->screen = 3;
    static long cm[9] = {2, 1, 0, 0, 3, 1, 1, 0, 2};
    static char n0[] = "apple", n1[] = "bee", n2[] = "camel";
    static char *names[3] = {n0, n1, n2};
    a->cm = cm;
    a->C = 3;
    a->names = names;
    assert_int_equal(metrics_report(cm, 3, 0, &a->rep), 0);
    a->have_rep = 1;
    report_reset(a, 0);
    /* F1: apple 0.2 -> 0.5 (up), bee 0.6 -> 0.4 (down), camel 0.5 -> 0.5; recall: apple down, camel up. */
    write_run_file(a, RUN_PER_CLASS, PER_CLASS_HEADER "\n"
                   "1,0,0.1,0.3,0.2,3\n1,1,0.7,0.5,0.6,4\n1,2,0.5,0.5,0.5,3\n"
                   "2,0,0.9,0.25,0.5,3\n2,1,0.4,0.5,0.4,4\n2,2,0.3,0.9,0.5,3\n");
    report_load_history(a);
    return a;
}

static void done_report(app *a)
{
    remove_run_dir(a);
    report_free_history(a);
    metrics_report_free(&a->rep);
    report_free(a);
    a->cm = NULL;
    a->names = NULL;
    done(a);
}

/* Draws the screen shown as the app does: its enter first. */
static void draw_screen(app *a)
{
    const screen_ops *sc = &app_screens[a->screen - 1];
    if (sc->enter)
        sc->enter(a);
    tui_grid_clear(&a->grid);
    sc->draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
}

/* The table marks F1 (or, with m, recall) up or down since the previous epoch; ASCII without UTF-8. */
static void report_marks_each_class_trend(void **state)
{
    (void)state;
    app *a = fake_report();
    draw_screen(a);
    /* apple's F1 in the table is 2/3 (the report of the predictions), bee's 3/4, camel's 2/3 */
    assert_non_null(strstr(row_with(a, "apple"), "0.6667 \u25b2"));
    assert_non_null(strstr(row_with(a, "bee"), "0.7500 \u25bc"));
    assert_null(strstr(row_with(a, "camel"), "\u25b2"));
    assert_null(strstr(row_with(a, "camel"), "\u25bc"));
    /* the pinned rows keep the column aligned: a blank where a mark would be */
    assert_non_null(strstr(row_with(a, "macro avg"), "0.6944   "));
    assert_int_equal(report_key(a, 'm', ACT_METRIC), H_REDRAW);
    a->utf8 = 0;
    draw_screen(a);
    assert_non_null(strstr(row_with(a, "apple"), "0.6667 v"));
    assert_non_null(strstr(row_with(a, "camel"), "0.6667 ^"));
    assert_null(strstr(row_with(a, "bee"), " ^"));
    done_report(a);
}

/* v: the class x epoch heatmap in the table's order, its cursor named; Left/Right move it, m switches metric. */
static void report_heatmap_of_the_history(void **state)
{
    (void)state;
    app *a = fake_report();
    a->depth = TUI_COLOR_NONE; /* the density ramp, so the levels are characters */
    assert_int_equal(report_key(a, 'v', ACT_VIEW), H_REDRAW);
    draw_screen(a);
    expect(a, "History: F1 per class and epoch, sorted by #");
    expect(a, "apple, epoch 2: F1 0.5000 (+0.3000 since epoch 1)");
    /* three columns a cell; F1 0.2 is level 1 + floor(9 x 0.2) = 2 (':'), 0.5 level 5 ('+'), 0.6 level 6
     * ('*'), 0.4 level 4 ('=') */
    expect(a, " apple            :::+++");
    expect(a, " bee              ***===");
    expect(a, "epoch            1  2");
    assert_int_equal(report_key(a, KEY_LEFT, ACT_LEFT), H_REDRAW);
    assert_int_equal(report_key(a, KEY_LEFT, ACT_LEFT), H_REDRAW); /* stays on the first epoch */
    assert_int_equal(report_key(a, 'm', ACT_METRIC), H_REDRAW);
    draw_screen(a);
    expect(a, "apple, epoch 1: recall 0.3000");
    reject(a, "since epoch");
    /* sorted by F1, highest first: bee (0.75), then apple and camel (2/3, by their number) */
    for (int i = 0; i < 4; i++)
        report_key(a, 's', ACT_SORT);
    report_key(a, KEY_DOWN, ACT_DOWN);
    draw_screen(a);
    char row[400];
    assert_non_null(strstr(tui_grid_row_utf8(&a->grid, 3 + 3, row), " bee "));
    assert_non_null(strstr(tui_grid_row_utf8(&a->grid, 3 + 4, row), " apple "));
    expect(a, "apple, epoch 1: recall 0.3000"); /* the cursor follows the selected class */
    /* the table's Left/Right do nothing */
    report_key(a, 'v', ACT_VIEW);
    assert_int_equal(report_key(a, KEY_RIGHT, ACT_RIGHT), H_NONE);
    done_report(a);
}

/* The title names the epoch of the predictions: predictions.json's (vggtop evaluate --best), else the last. */
static void report_title_names_the_predictions_epoch(void **state)
{
    (void)state;
    app *a = fake_report();
    a->snap->epochs_done = 5;
    a->run.pred_epoch = -1; /* no predictions.json: a run made before it */
    draw_screen(a);
    expect(a, "Report: 3 classes, 10 images (epoch 5), sorted by #");
    a->run.pred_epoch = 2;
    draw_screen(a);
    expect(a, "Report: 3 classes, 10 images (epoch 2), sorted by #");
    a->run.pred_batch = 7; /* a checkpoint of an interrupted epoch */
    draw_screen(a);
    expect(a, "(epoch 2 + 7 batches)");
    done_report(a);
}

/* Report's keys keep the cursor visible in the table and in the heatmap; its draw changes none of the
 * screen's state (a first row left behind by the keys is only the draw's copy). 40 classes at 80x24. */
static void report_keys_follow_and_the_draw_changes_nothing(void **state)
{
    (void)state;
    enum { C = 40 };
    app *a = small(fake(TRAIN_FINISHED));
    a->screen = 3;
    static long cm[C * C];
    static char buf[C][16];
    static char *names[C];
    for (int c = 0; c < C; c++) {
        cm[c * C + c] = 3;
        cm[c * C + (c + 1) % C] = 1;
        snprintf(buf[c], sizeof buf[c], "k%02d", c);
        names[c] = buf[c];
    }
    a->cm = cm;
    a->C = C;
    a->names = names;
    assert_int_equal(metrics_report(cm, C, 0, &a->rep), 0);
    a->have_rep = 1;
    report_reset(a, 0);
    static char csv[C * 2 * 64 + 256];
    int len = snprintf(csv, sizeof csv, "%s\n", PER_CLASS_HEADER);
    for (int e = 1; e <= 2; e++)
        for (int c = 0; c < C; c++)
            len += snprintf(csv + len, sizeof csv - (size_t)len, "%d,%d,0.5,0.5,0.%d,4\n", e, c, e + 2);
    write_run_file(a, RUN_PER_CLASS, csv);
    report_load_history(a);
    for (int i = 0; i < 30; i++)
        app_handle_key(a, KEY_DOWN);
    assert_int_equal(a->rpt.sel, 30);
    int visible = app_body_height(a) - 6;
    assert_true(a->rpt.top > 0 && a->rpt.top <= 30 && 30 < a->rpt.top + visible);
    a->rpt.top = 0; /* as a resize could leave it: the draw shows row 30 from a copy */
    report_view before = a->rpt;
    tui_grid_clear(&a->grid);
    report_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    assert_memory_equal(&before, &a->rpt, sizeof before);
    expect(a, " 30 k30 ");
    /* the heatmap: Down moves its first row in the key, the draw leaves it */
    app_handle_key(a, 'v');
    assert_int_equal(a->rpt.heatmap, 1);
    app_handle_key(a, KEY_DOWN);
    int rows = a->rows - 4 - 4; /* the body less the title, the cursor line, the epochs and the scale */
    assert_true(a->rpt.heat_row0 > 0 && a->rpt.heat_row0 <= 31 && 31 < a->rpt.heat_row0 + rows);
    a->rpt.heat_row0 = 0;
    before = a->rpt;
    tui_grid_clear(&a->grid);
    report_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    assert_memory_equal(&before, &a->rpt, sizeof before);
    expect(a, "k31, epoch 2: F1 0.4000");
    expect(a, " k31 ");
    /* a search that stops matching leaves the cursor where the search started (issue 21: "k3" went to k30,
     * then "k3x" matched nothing and the list stayed moved) */
    app_handle_key(a, 'v');
    a->rpt.sel = 20;
    app_handle_key(a, '/');
    app_handle_key(a, 'k');
    app_handle_key(a, '3');
    assert_int_equal(a->rpt.sel, 30);
    app_handle_key(a, 'x');
    assert_int_equal(a->rpt.sel, 20);
    app_handle_key(a, '\n');
    assert_int_equal(a->rpt.sel, 20);
    assert_non_null(strstr(a->status, "no class matches 'k3x'"));
    a->cm = NULL;
    done_report(a);
}

/* Layers: the epoch's rows with numbers and bars, the vanishing flag by train's rule, the advice; Left goes
 * back an epoch. */
static void layers_table_flags_vanishing_gradients(void **state)
{
    (void)state;
    app *a = fake(TRAIN_FINISHED);
    a->screen = 9;
    /* epoch 2: block1_conv1 is below 1% of the largest (predictions, 1.0) and of its own first epoch;
     * block2_conv1 at 0.01 is not below 1% of 1.0 but is below 1% of its own 2.0 in epoch 1. */
    write_run_file(a, RUN_LAYERS, LAYERS_HEADER "\n"
                   "1,block1_conv1,10,1,0.001,0.25,0.1,0.2\n1,block2_conv1,10,2,0.002,0.125,0.1,0.2\n"
                   "1,predictions,5,4,0.01,nan,0,1\n"
                   "2,block1_conv1,10,0.005,0.001,0.5,0.1,0.2\n2,block2_conv1,10,0.01,0.002,0,0.1,0.2\n"
                   "2,predictions,5,1,0.01,nan,0,1\n");
    layers_load(a);
    draw_screen(a);
    expect(a, "Layers: epoch 2 of 2 (Left/Right), 3 layers");
    /* 100 columns: the bars share 53, 35 for the gradient (a log scale of 4 decades), 18 for dead ReLUs */
    char full[35 * 3 + 1] = "", want[400];
    for (int i = 0; i < 35; i++)
        strcat(full, "\u2588");
    snprintf(want, sizeof want, "predictions              1 %s      -", full);
    expect(a, want);
    /* 0.01 of 1.0 is 2 decades down: half the bar, 17.5 cells (17 blocks and a half block) */
    assert_non_null(strstr(row_with(a, "block2_conv1"), "0.01 \u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588"
                           "\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u258c "));
    assert_non_null(strstr(row_with(a, "block2_conv1"), "vanishing"));
    assert_non_null(strstr(row_with(a, "block1_conv1"), "50.0% \u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588 "));
    assert_non_null(strstr(row_with(a, "block1_conv1"), "vanishing"));
    assert_null(strstr(row_with(a, "predictions"), "vanishing"));
    expect(a, "2 layers receive almost no gradient");
    expect(a, "vgg16-nopool");
    expect(a, "--momentum 0.9");
    /* epoch 1: nothing vanishes, no advice; ASCII bars */
    a->utf8 = 0;
    assert_int_equal(layers_key(a, KEY_LEFT, ACT_LEFT), H_REDRAW);
    draw_screen(a);
    expect(a, "Layers: epoch 1 of 2");
    reject(a, "vanishing ");
    reject(a, "almost no gradient");
    /* block1_conv1's 1 of 4 is 0.6 decades down: 1 - 0.602/4 of 35 cells, 29.7 rounded to 30 '#' */
    assert_non_null(strstr(row_with(a, "block1_conv1"), " ############################## "));
    /* 80 columns: the flag still shows */
    a->utf8 = 1;
    a->cols = 80;
    a->rows = 24;
    tui_grid_resize(&a->grid, a->rows, a->cols);
    layers_key(a, KEY_RIGHT, ACT_RIGHT);
    draw_screen(a);
    const char *r = row_with(a, "block1_conv1");
    assert_non_null(strstr(r, "vanishing"));
    /* a malformed file: the screen says what is wrong with it */
    write_run_file(a, RUN_LAYERS, "garbage\n");
    layers_load(a);
    draw_screen(a);
    expect(a, "layers.csv: line 1: expected the header");
    remove_run_dir(a);
    layers_free(a);
    done(a);
}

/* Layers' keys keep the cursor visible, its draw changes none of the screen's state. 30 layers at 80x24. */
static void layers_keys_follow_and_the_draw_changes_nothing(void **state)
{
    (void)state;
    app *a = small(fake(TRAIN_FINISHED));
    a->screen = 9;
    static char csv[30 * 64 + 128];
    int len = snprintf(csv, sizeof csv, "%s\n", LAYERS_HEADER);
    for (int i = 0; i < 30; i++)
        len += snprintf(csv + len, sizeof csv - (size_t)len, "1,dense_%02d,10,1,0.001,0.25,0.1,0.2\n", i);
    write_run_file(a, RUN_LAYERS, csv);
    layers_load(a);
    for (int i = 0; i < 25; i++)
        app_handle_key(a, KEY_DOWN);
    assert_int_equal(a->lay.sel, 25);
    int visible = app_body_height(a) - 2 - 1; /* the title lines and the header; nothing flagged, no advice */
    assert_true(a->lay.top > 0 && a->lay.top <= 25 && 25 < a->lay.top + visible);
    assert_int_equal(a->lay.top, 25 - visible + 1); /* as far as it must, no further */
    layers_enter(a); /* the texts, as the app builds them before every draw */
    a->lay.top = 0;
    layers_view before = a->lay;
    tui_grid_clear(&a->grid);
    layers_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
    assert_memory_equal(&before, &a->lay, sizeof before);
    expect(a, "dense_25 ");
    remove_run_dir(a);
    layers_free(a);
    done(a);
}

/* The system line: CPU per core, memory, threads and the last minute's images per second. */
static void dashboard_system_line_and_top5(void **state)
{
    (void)state;
    dash_rate r = {0};
    assert_true(dash_rate_get(&r) < 0);
    dash_rate_add(&r, 0, 0);
    assert_true(dash_rate_get(&r) < 0);
    dash_rate_add(&r, 30, 3000);
    dash_rate_add(&r, 70, 11000); /* t = 0 is more than a minute old: (11000 - 3000) / 40 */
    assert_true(fabs(dash_rate_get(&r) - 200) < 1e-9);

    app *a = fake(TRAIN_TRAINING);
    train_snapshot *s = a->snap;
    s->batch = 5;
    s->loss = 0.5;
    s->acc = 0.25;
    s->top5 = 0.625;
    s->mse = 0.01;
    for (int i = 0; i < 2; i++)
        s->history[i] = (train_epoch){1, 0.1, 0.02, 1.1, 0.2, 0.02, 0.01, 3, 0.375, 0.5 + 0.25 * i};
    s->n_history = s->epochs_done = 2;
    a->dash.have_sys = 1;
    a->dash.sys =
        (tui_sysinfo){.cores = 2, .has_cpu = 1, .cpu = {0.5, 0.25}, .cpu_total = 0.75, .rss_kb = 2048, .threads = 7};
    a->dash.rate = r;
    draw(a);
    expect(a, "system: cpu 50% 25% - rss 2 MiB - 7 threads - 200 img/s over the last minute");
    expect(a, "top5: 0.6250");
    /* vggtop history's order (issue 21: the Dashboard had top5 and val_top5 last) */
    expect(a, "epoch    loss    acc        mse   top5 val_loss  val_acc    val_mse val_top5");
    expect(a, "0.3750");
    expect(a, "0.7500");
    a->cols = 80;
    tui_grid_resize(&a->grid, a->rows, a->cols);
    draw(a);
    reject(a, "val_top5"); /* no room at 80 columns */

    /* Sampling a followed run's process (this one, as the holder of its lock): at most once a second; the
     * pid progress.json claims is not the one sampled. */
    a->dash.have_sys = 0;
    a->have_run = 1;
    a->run.parts = RUN_PART_PROGRESS;
    a->run.progress.pid = 4000000;
    a->holder_pid = 0;
    a->dash.next = 0;
    assert_int_equal(dash_sample(a, 99.0), 0); /* nobody holds the lock */
    assert_int_equal(a->dash.have_sys, 0);
    a->holder_pid = (long)getpid();
    a->dash.next = 0;
    assert_int_equal(dash_sample(a, 100.0), 1);
    assert_int_equal(a->dash.have_sys, 1);
    assert_true(a->dash.sys.threads >= 1 && a->dash.sys.rss_kb > 0);
    assert_int_equal(dash_sample(a, 100.5), 0);
    s->state = TRAIN_FINISHED; /* nobody trains it: no line */
    dash_sample(a, 101.0);
    assert_int_equal(a->dash.have_sys, 0);
    done(a);
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
        cmocka_unit_test(setup_estimate_shows_tenths_and_under_a_second),
        cmocka_unit_test(dashboard_accuracy_is_fitted_and_z_shows_0_to_1),
        cmocka_unit_test(the_small_terminal_notice_is_whole_at_40x10),
        cmocka_unit_test(loading_shows_no_placeholders),
        cmocka_unit_test(footer_offers_only_keys_that_work),
        cmocka_unit_test(setup_summary_keeps_its_params),
        cmocka_unit_test(confusion_names_shares_and_scale),
        cmocka_unit_test(confusion_numbers_its_columns_when_names_do_not_fit),
        cmocka_unit_test(samples_without_images_show_the_predictions),
        cmocka_unit_test(samples_show_your_own_image_first),
        cmocka_unit_test(samples_without_a_run_say_where_your_image_goes),
        cmocka_unit_test(line_editor),
        cmocka_unit_test(roc_list_follows_the_cursor_in_the_keys),
        cmocka_unit_test(samples_scale_the_image_up_on_a_large_terminal),
        cmocka_unit_test(setup_cuts_values_by_columns),
        cmocka_unit_test(setup_form_scrolls_in_the_keys),
        cmocka_unit_test(setup_says_limited_only_when_the_limit_cuts),
        cmocka_unit_test(setup_refuses_a_used_run_dir_as_you_type),
        cmocka_unit_test(wrapping_breaks_a_url_at_a_slash),
        cmocka_unit_test(report_marks_each_class_trend),
        cmocka_unit_test(report_heatmap_of_the_history),
        cmocka_unit_test(report_keys_follow_and_the_draw_changes_nothing),
        cmocka_unit_test(report_title_names_the_predictions_epoch),
        cmocka_unit_test(layers_table_flags_vanishing_gradients),
        cmocka_unit_test(layers_keys_follow_and_the_draw_changes_nothing),
        cmocka_unit_test(dashboard_system_line_and_top5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
