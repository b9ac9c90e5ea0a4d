/* Unit tests of the Diff screen (src/tui/diff.c) and of how Compare and Sweep open it, against tui_testing.h's
 * fake front-end context and the fixture runs of vggtop diff's tests: tests/fixtures/train/run (A) and the same
 * run with tests/fixtures/metrics/diff_b_predictions.csv (B). Covered: Compare's x marks and unmarks (A, then B,
 * a third refused, the marks on the rows) and d opens the screen; the table equals vggtop diff --csv's golden
 * file (tests/fixtures/metrics/diff_run.csv, computed from scikit-learn's reports) row for row, with the
 * accuracy pinned, the classes that got better and worse most and the pairs that grew and shrank; sort, reverse
 * and search; f on runs with superclasses (a fold of the same predictions counted here) and without; two runs of
 * other tasks named; Sweep's d (the selected trial against the best); Report's and Confusion's c (this run vs
 * the marked one); Compare listing a sweep folder's trials. */
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

/* Copies of the fixture runs in test_dir: a (the fixture) and b (its predictions changed). */
static void fixture_runs(void)
{
    sh("rm -rf %s/a %s/b && cp -R tests/fixtures/train/run %s/a && cp -R tests/fixtures/train/run %s/b", test_dir,
       test_dir, test_dir, test_dir);
    sh("cp tests/fixtures/metrics/diff_b_predictions.csv %s/b/predictions.csv", test_dir);
}

static app *diff_app(void)
{
    app *a = fake(TRAIN_FINISHED);
    a->screen = TUI_SCREEN_DIFF;
    return a;
}

static void draw_diff(app *a)
{
    tui_grid_clear(&a->grid);
    app_enter(a);
    app_draw(a);
}

static void finish(app *a)
{
    diff_close(a);
    done_with_run(a);
}

static void compare_marks_and_opens(void **state)
{
    (void)state;
    fixture_runs();
    app *a = fake(TRAIN_FINISHED);
    a->opt.runs_dir = test_dir;
    a->screen = TUI_SCREEN_COMPARE;
    compare_scan(a);
    assert_int_equal(a->cmp.n, 2);
    /* Tab passes the Diff screen by while no two runs are marked: from Sweep to Setup, and S-Tab back. */
    a->screen = TUI_SCREEN_SWEEP;
    app_handle_key(a, '\t');
    assert_int_equal(a->screen, TUI_SCREEN_SETUP);
    app_handle_key(a, KEY_BTAB);
    assert_int_equal(a->screen, TUI_SCREEN_SWEEP);
    a->screen = TUI_SCREEN_COMPARE;
    /* d with nothing marked: said, not opened. */
    assert_int_equal(app_handle_key(a, 'd') & H_REDRAW, H_REDRAW);
    assert_int_equal(a->screen, TUI_SCREEN_COMPARE);
    assert_non_null(strstr(a->status, "mark two runs"));
    int ia = strcmp(a->cmp.runs[0].name, "a") == 0 ? 0 : 1, ib = 1 - ia;
    a->cmp.sel = ia;
    app_handle_key(a, 'x');
    assert_int_equal(diff_marked(a, a->cmp.runs[ia].path), 'A');
    a->cmp.sel = ib;
    app_handle_key(a, 'x');
    assert_int_equal(diff_marked(a, a->cmp.runs[ib].path), 'B');
    /* Two marked: Tab reaches the Diff screen. */
    a->screen = TUI_SCREEN_SWEEP;
    app_handle_key(a, '\t');
    assert_int_equal(a->screen, TUI_SCREEN_DIFF);
    a->screen = TUI_SCREEN_COMPARE;
    /* The rows say which is which. */
    tui_grid_clear(&a->grid);
    app_draw(a);
    char want[64];
    snprintf(want, sizeof want, "%2dA a ", ia + 1);
    expect(a, want);
    snprintf(want, sizeof want, "%2dB b ", ib + 1);
    expect(a, want);
    /* A third mark is refused; x on A unmarks it and B becomes A. */
    diff_mark(a, "elsewhere");
    assert_int_equal(diff_marked(a, "elsewhere"), 0);
    assert_non_null(strstr(a->status, "two runs are marked already"));
    a->cmp.sel = ia;
    app_handle_key(a, 'x');
    assert_int_equal(a->dif.n_marked, 1);
    assert_int_equal(diff_marked(a, a->cmp.runs[ib].path), 'A');
    /* d with one marked and another selected: that one is B, and the Diff screen shows them. */
    app_handle_key(a, 'd');
    assert_int_equal(a->screen, TUI_SCREEN_DIFF);
    assert_int_equal(diff_marked(a, a->cmp.runs[ia].path), 'B');
    draw_diff(a);
    expect(a, "Diff: 4 classes, change = B - A");
    /* The tabs: at 100 columns every one numbered; at 80 the gaps go, and the tab past the digit keys that
     * would not fit drops its number, the last first (Sweep keeps its 10). */
    expect(a, "9Layers 10Sweep 11Diff");
    small(a);
    draw_diff(a);
    expect(a, "9Layers10SweepDiff");
    finish(a);
}

/* One number as the screen shows it: 4 decimals, the changes signed. */
static void fmt4(char *buf, size_t size, double v, int sign)
{
    snprintf(buf, size, sign ? "%+.4f" : "%.4f", v);
}

/* The screen's table, row by row, is vggtop diff --csv's (the golden file's rows, in its order). */
static void table_equals_vggtop_diff(void **state)
{
    (void)state;
    fixture_runs();
    app *a = diff_app();
    diff_set(a, at("a"), at("b"));
    draw_diff(a);
    assert_int_equal(a->dif.have, 1);
    FILE *f = fopen("tests/fixtures/metrics/diff_run.csv", "r");
    assert_non_null(f);
    char line[1024];
    assert_non_null(fgets(line, sizeof line, f)); /* the header */
    int row = 0;
    while (fgets(line, sizeof line, f)) {
        char name[64];
        double v[9];
        long sa, sb;
        assert_int_equal(sscanf(line, "%63[^,],%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%ld,%ld", name, &v[0], &v[1], &v[2],
                                &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &sa, &sb),
                         12);
        assert_true(row < 4);
        char(*t)[DIFF_TEXT] = a->dif.text[row];
        assert_string_equal(t[0], name);
        /* The screen's columns: F1, recall, precision, each A, B, change; the CSV's: precision, recall, F1. */
        for (int m = 0; m < 3; m++)
            for (int k = 0; k < 3; k++) {
                char want[32];
                fmt4(want, sizeof want, v[(2 - m) * 3 + k], k == 2);
                assert_string_equal(t[1 + m * 3 + k], want);
            }
        assert_int_equal(sa, sb);
        char sup[16];
        snprintf(sup, sizeof sup, "%ld", sa);
        assert_string_equal(t[10], sup);
        row++;
    }
    fclose(f);
    assert_int_equal(row, 4);
    /* vggtop diff's text: accuracy 0.683 -> 0.667; cat +0.048 better most, dog -0.120 worse most; owl -> dog
     * grew from 1 to 3 (tests/e2e/cli_diff.sh). */
    expect(a, " accuracy          0.6833  0.6667 -0.0167 ");
    expect(a, "better most: cat +0.0484, owl +0.0155");
    expect(a, "worse most:  dog -0.1201, red fox -0.0451");
    expect(a, "grew:   owl -> dog +2 (1 -> 3)");
    expect(a, "shrank: ");
    finish(a);
}

static void sort_search_and_fold(void **state)
{
    (void)state;
    fixture_runs();
    app *a = diff_app();
    diff_set(a, at("a"), at("b"));
    draw_diff(a);
    expect(a, "sorted by change of F1 (desc)");
    /* r: the most worsened first. */
    app_handle_key(a, 'r');
    draw_diff(a);
    assert_string_equal(a->dif.text[0][0], "dog");
    expect(a, "sorted by change of F1");
    reject(a, "(desc)");
    /* s from the F1 change goes to recall A, the largest first. */
    app_handle_key(a, 's');
    draw_diff(a);
    assert_int_equal(a->dif.sort, 4);
    assert_string_equal(a->dif.text[0][0], "owl"); /* recall 0.8421 in A */
    /* / finds a class as it is typed; Esc goes back; n finds the next. */
    a->dif.sel = 0;
    app_handle_key(a, '/');
    assert_non_null(app_search_typed(a));
    app_handle_key(a, 'f'); /* typed, not fold */
    app_handle_key(a, 'o');
    assert_string_equal(a->dif.text[a->dif.sel][0], "red fox");
    app_handle_key(a, 27);
    assert_int_equal(a->dif.sel, 0);
    assert_null(app_search_typed(a));
    /* f without superclasses: said. */
    app_handle_key(a, 'f');
    assert_int_equal(a->dif.coarse, 0);
    assert_non_null(strstr(a->status, "no superclasses"));
    finish(a);

    /* The same runs with two superclasses (cat and dog: pets, red fox and owl: wild): f shows them, and their
     * numbers are the diff of the folded matrices, counted here from the runs' predictions. */
    for (int i = 0; i < 2; i++)
        sh("cd %s/%c && python3 -c \"import json; c = json.load(open('config.json')); "
           "c['data']['coarse_names'] = ['pets', 'wild']; c['data']['fine_to_coarse'] = [0, 0, 1, 1]; "
           "json.dump(c, open('config.json', 'w'))\"",
           test_dir, 'a' + i);
    a = diff_app();
    diff_set(a, at("a"), at("b"));
    draw_diff(a);
    app_handle_key(a, 'f');
    draw_diff(a);
    assert_int_equal(a->dif.coarse, 1);
    expect(a, "Diff: 2 superclasses");
    long cm[2][16] = {{0}}, fold[2][4] = {{0}};
    static const int map[4] = {0, 0, 1, 1};
    for (int i = 0; i < 2; i++) {
        metrics_confusion(a->dif.run[i].y_true, a->dif.run[i].y_pred, a->dif.run[i].n_pred, 4, cm[i]);
        metrics_confusion_fold(cm[i], 4, map, 2, fold[i]);
    }
    metrics_diff want;
    assert_int_equal(metrics_diff_runs(fold[0], fold[1], 2, 20, &want), 0);
    for (int r = 0; r < 2; r++) {
        const class_change *c = &want.classes[r];
        char f1[32];
        assert_string_equal(a->dif.text[r][0], c->cls ? "wild" : "pets");
        fmt4(f1, sizeof f1, c->f1, 1);
        assert_string_equal(a->dif.text[r][3], f1);
    }
    metrics_diff_free(&want);
    app_handle_key(a, 'f');
    draw_diff(a);
    expect(a, "Diff: 4 classes");
    finish(a);
}

static void refusals_are_named(void **state)
{
    (void)state;
    fixture_runs();
    app *a = diff_app();
    draw_diff(a);
    expect(a, "No runs to compare: mark two runs on Compare");
    /* Another task: 3 classes in B. */
    sh("cd %s/b && python3 -c \"import json; c = json.load(open('config.json')); c['classes'] = 3; "
       "c['data']['class_names'] = ['cat', 'dog', 'red fox']; json.dump(c, open('config.json', 'w'))\" && "
       "awk -F, 'NR == 1 {print \"index,true,pred,p0,p1,p2\"; next} {t = $2 %% 3; p = $3 %% 3; "
       "print $1 \",\" t \",\" p \",0.4,0.3,0.3\"}' predictions.csv >p && mv p predictions.csv",
       test_dir);
    diff_set(a, at("a"), at("b"));
    draw_diff(a);
    assert_int_equal(a->dif.have, 0);
    expect(a, "No diff:");
    expect(a, "has 4 classes and");
    /* A run with no predictions. */
    sh("rm %s/b/predictions.csv", test_dir);
    diff_set(a, at("a"), at("b"));
    draw_diff(a);
    expect(a, "no predictions yet");
    finish(a);
}

/* Sweep's d: the selected trial (A) against the best (B). The fixture sweep's trials have histories but no
 * predictions, so the screen names that; the marks are what d chose. */
static char *grid[] = {"--lr", "0.1,0.01", "--epochs", "2"};
static const sweep_state states[2] = {SWEEP_DONE, SWEEP_DONE};
static const double acc[2][SWEEP_FIXTURE_EPOCHS] = {{0.5, 0.6}, {0.7, 0.8}};
static const int epochs[2] = {2, 2};

static void sweep_diffs_against_the_best(void **state)
{
    (void)state;
    sweep_plan p;
    sweep_fixture(at("sw"), 4, grid, states, acc, epochs, &p);
    sweep_plan_free(&p);
    app *a = fake(TRAIN_FINISHED);
    a->dir[0] = '\0';
    a->screen = TUI_SCREEN_SWEEP;
    assert_int_equal(sweep_open(a, at("sw")), 1);
    sweep_enter(a);
    /* The best first: d on it says so. */
    assert_int_equal(a->swp.rows[a->swp.sel].t, 1);
    app_handle_key(a, 'd');
    assert_int_equal(a->screen, TUI_SCREEN_SWEEP);
    assert_non_null(strstr(a->status, "is the best"));
    app_handle_key(a, KEY_DOWN);
    app_handle_key(a, 'd');
    assert_int_equal(a->screen, TUI_SCREEN_DIFF);
    char t1[VT_PATH_MAX], t2[VT_PATH_MAX];
    sweep_trial_dir(at("sw"), 0, t1, sizeof t1);
    sweep_trial_dir(at("sw"), 1, t2, sizeof t2);
    assert_int_equal(diff_marked(a, t1), 'A');
    assert_int_equal(diff_marked(a, t2), 'B');
    draw_diff(a);
    expect(a, "No diff: ");
    expect(a, "trial-001");
    sweep_close(a);
    finish(a);
}

/* Report and Confusion, "this run vs that run": run b shown, run a marked on Compare. Report's c adds a's F1
 * and the change (b's minus a's: vggtop diff a b's f1 change, diff_run.csv), the title names a; Confusion's c
 * shows b's counts minus a's (owl -> dog: 3 here, 1 there, +2) and the pairs that grew and shrank. */
static void report_and_confusion_versus(void **state)
{
    (void)state;
    fixture_runs();
    app *a = fake(TRAIN_FINISHED);
    vt_err err;
    assert_int_equal(app_open_dir(a, at("b"), 0, &err), VT_OK);
    a->screen = TUI_SCREEN_REPORT;
    /* c with no other run marked: said, nothing shown. */
    app_handle_key(a, 'c');
    assert_int_equal(a->vs.on_report, 0);
    assert_non_null(strstr(a->status, "mark one on Compare"));
    diff_mark(a, at("b")); /* the run shown is never its own other */
    assert_null(versus_other(a));
    diff_mark(a, at("a"));
    assert_string_equal(versus_other(a), at("a"));
    app_handle_key(a, 'c');
    draw_diff(a);
    char want[200];
    snprintf(want, sizeof want, "vs %s", at("a"));
    expect(a, want);
    expect(a, "f1 vs");
    /* Sorted by F1 (desc): dog 0.6207 ... The cat row: b's 0.7407, a's 0.6923, +0.0484. */
    int found = 0;
    for (int i = 0; i < a->rep.n_labels; i++) {
        char(*t)[24] = a->rpt.text[i];
        if (strcmp(t[1], "cat") == 0) {
            assert_string_equal(t[4], "0.7407");
            assert_string_equal(t[6], "0.6923");
            assert_string_equal(t[7], "+0.0484");
            found = 1;
        }
    }
    assert_true(found);
    /* s reaches the change column: the largest change first, cat (+0.0484) then owl (+0.0155). */
    while (a->rpt.sort != 7)
        app_handle_key(a, 's');
    draw_diff(a);
    assert_string_equal(a->rpt.text[0][1], "cat");
    assert_string_equal(a->rpt.text[1][1], "owl");
    /* c again: the table as before, and a sort on the gone columns falls back to F1. */
    app_handle_key(a, 'c');
    draw_diff(a);
    reject(a, "f1 vs");
    assert_int_equal(a->rpt.sort, 4);

    a->screen = TUI_SCREEN_CONFUSION;
    app_handle_key(a, 'c');
    a->conf.row = 3; /* owl */
    a->conf.col = 1; /* dog */
    draw_diff(a);
    snprintf(want, sizeof want, "Confusion: this run minus %s, counts", at("a"));
    expect(a, want);
    expect(a, "true owl \u2192 predicted dog: 3 here, 1 there, +2");
    expect(a, "Grew most (here vs there)");
    expect(a, "owl \u2192 dog +2 (1 \u2192 3)");
    expect(a, "Shrank most");
    assert_true(a->conf.versus);
    assert_true(fabs(a->conf.cells[3 * 4 + 1] - 2) < 1e-12);
    /* Row shares: the difference of the two rows' shares. */
    app_handle_key(a, 'n');
    draw_diff(a);
    expect(a, "row shares (%)");
    app_handle_key(a, 'c');
    draw_diff(a);
    expect(a, "Confusion matrix: rows true");
    versus_close(a);
    confusion_reset(a);
    finish(a);
}

/* Compare pointed at a folder holding runs and a sweep folder lists the sweep's trials too, named
 * "<sweep>/<trial>" in name order, and they can be marked and compared as any run. */
static void compare_lists_a_sweeps_trials(void **state)
{
    (void)state;
    sh("rm -rf %s/runs && mkdir -p %s/runs/sw && cp -R tests/fixtures/train/run %s/runs/a && "
       "cp -R tests/fixtures/train/run %s/runs/sw/trial-001 && cp -R tests/fixtures/train/run %s/runs/sw/trial-002 && "
       "cp tests/fixtures/metrics/diff_b_predictions.csv %s/runs/sw/trial-002/predictions.csv && "
       "cp -R tests/fixtures/train/run %s/runs/z && echo '{}' > %s/runs/sw/sweep.json",
       test_dir, test_dir, test_dir, test_dir, test_dir, test_dir, test_dir, test_dir);
    app *a = fake(TRAIN_FINISHED);
    a->opt.runs_dir = at("runs");
    a->screen = TUI_SCREEN_COMPARE;
    compare_scan(a);
    assert_int_equal(a->cmp.n, 4);
    static const char *const names[4] = {"a", "sw/trial-001", "sw/trial-002", "z"};
    for (int i = 0; i < 4; i++)
        assert_string_equal(a->cmp.runs[i].name, names[i]);
    assert_string_equal(a->cmp.runs[2].path, at("runs/sw/trial-002"));
    tui_grid_clear(&a->grid);
    app_draw(a);
    expect(a, " sw/trial-002 ");
    /* Without a sweep.json the folder is not a sweep: its runs are not listed. */
    sh("rm %s/runs/sw/sweep.json", test_dir);
    compare_scan(a);
    assert_int_equal(a->cmp.n, 2);
    sh("echo '{}' > %s/runs/sw/sweep.json", test_dir);
    compare_scan(a);
    a->cmp.sel = 1;
    app_handle_key(a, 'x');
    a->cmp.sel = 2;
    app_handle_key(a, 'd');
    assert_int_equal(a->screen, TUI_SCREEN_DIFF);
    draw_diff(a);
    expect(a, "better most: cat +0.0484, owl +0.0155");
    finish(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compare_marks_and_opens),
        cmocka_unit_test(table_equals_vggtop_diff),
        cmocka_unit_test(sort_search_and_fold),
        cmocka_unit_test(refusals_are_named),
        cmocka_unit_test(sweep_diffs_against_the_best),
        cmocka_unit_test(report_and_confusion_versus),
        cmocka_unit_test(compare_lists_a_sweeps_trials),
    };
    return cmocka_run_group_tests(tests, test_dir_setup, test_dir_teardown);
}
