/* Helpers of the front end's screen tests (tests/test_tui_app.c, tests/test_tui_runs.c): a fake front-end
 * context (an app struct filled by hand: no terminal, no engine), its grid as text, and what is or is not on
 * it. Include after <cmocka.h>, testing.h and src/tui/tui_internal.h. */
#ifndef VGGTOP_TESTS_TUI_TESTING_H
#define VGGTOP_TESTS_TUI_TESTING_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline app *fake(train_state st)
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

/* The fake at 80x24. */
static inline app *small(app *a)
{
    a->rows = 24;
    a->cols = 80;
    tui_grid_resize(&a->grid, a->rows, a->cols);
    return a;
}

static inline void done(app *a)
{
    free(a->help_text);
    tui_grid_free(&a->grid);
    free(a->snap);
    free(a);
}

/* done, for a fake that opened a run: its trainer (if any), the screens' views of the run and the run. */
static inline void done_with_run(app *a)
{
    trainer_destroy(a->tr);
    derived_free(a);
    compare_free(a);
    layers_free(a);
    report_free_history(a);
    if (a->have_run)
        run_free(&a->run);
    free(a->parked_snap);
    free(a->cm);
    free(a->rv.drawn);
    report_free(a);
    done(a);
}

/* The whole grid as text, rows joined by '\n'. */
static char screen[40 * (100 * 4 + 1) + 1];
static inline const char *text_of(app *a)
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

static inline void draw(app *a)
{
    tui_grid_clear(&a->grid);
    dash_draw(a, (tui_rect){3, 0, a->rows - 4, a->cols});
}

static inline void expect(app *a, const char *want)
{
    const char *t = text_of(a);
    if (!strstr(t, want)) {
        print_error("'%s' is not on the screen:\n%s", want, t);
        fail();
    }
}

static inline void reject(app *a, const char *bad)
{
    const char *t = text_of(a);
    if (strstr(t, bad)) {
        print_error("'%s' should not be on the screen:\n%s", bad, t);
        fail();
    }
}

#endif
