/* tui/views: screens 2 to 8 (Dashboard, Report, Confusion, ROC, Compare, Samples, Summary). Each has a
 * draw function that reads only the app's copies (the snapshot, the run's files, derived metrics) and a key
 * handler that returns H_* flags. Layouts are computed from the body rectangle, so every size from 80x24
 * up works and a resize simply redraws. */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tui_internal.h"

static void no_data(app *a, tui_rect body, const char *what)
{
    char line[256];
    const char *why = a->live ? "it appears after the first epoch's evaluation"
                      : a->dir[0] ? "this run has no predictions yet (no finished epoch)"
                                  : "no run yet: start one on the Setup screen (1), or open one on Compare (6)";
    snprintf(line, sizeof line, "%s: %s.", what, why);
    app_draw_wrapped(&a->grid, (tui_rect){body.top + 1, 2, 3, body.width - 4}, line, ROLE_DIM);
}

/* ---- 2 Dashboard ---------------------------------------------------------------------------------------- */

static double hist_buf[6][TRAIN_MAX_EPOCHS];
static double curve_x[TRAIN_CURVE_MAX], curve_l[TRAIN_CURVE_MAX], curve_a[TRAIN_CURVE_MAX];

/* Charts in braille tell their series apart by colour alone (every legend mark is a block): without colour
 * they draw with each series' own ASCII marker (*, o, +, ...) so the legend still says which is which. */
static int chart_utf8(const app *a) { return a->utf8 && a->depth != TUI_COLOR_NONE; }

static int state_running(train_state st)
{
    return st == TRAIN_LOADING || st == TRAIN_TRAINING || st == TRAIN_EVALUATING || st == TRAIN_PAUSED ||
           st == TRAIN_STOPPING;
}

/* "1 h 20 min left · done ≈ 14:05" (a date when it is not today). */
static void fmt_time_left(char *buf, size_t size, double left, int utf8)
{
    char d[32], when[32];
    time_t end = time(NULL) + (time_t)left;
    struct tm now_tm, end_tm;
    time_t now = time(NULL);
    localtime_r(&now, &now_tm);
    localtime_r(&end, &end_tm);
    strftime(when, sizeof when, end_tm.tm_yday == now_tm.tm_yday && end_tm.tm_year == now_tm.tm_year ? "%H:%M"
                                                                                                      : "%a %d %b %H:%M",
             &end_tm);
    snprintf(buf, size, "%s left %s done %s %s", vt_fmt_duration(d, sizeof d, left), utf8 ? "\xc2\xb7" : "-",
             utf8 ? "\xe2\x89\x88" : "~", when);
}

/* The table of the last epochs: as many as fit in `rows` (header included), the best val_acc marked. */
static const tui_column dash_cols[9] = {
    {"epoch", 5, 1}, {"loss", 7, 1}, {"acc", 6, 1}, {"mse", 10, 1}, {"val_loss", 8, 1},
    {"val_acc", 8, 1}, {"val_mse", 10, 1}, {"lr", 8, 1}, {"seconds", 7, 1},
};
static char dash_text[8][9][24];

static int dash_best(const train_snapshot *s)
{
    int best = -1;
    for (int i = 0; i < s->n_history; i++)
        if (isfinite(s->history[i].val_acc) && (best < 0 || s->history[i].val_acc > s->history[best].val_acc))
            best = i;
    return best;
}

static void dash_table(app *a, tui_rect r)
{
    const train_snapshot *s = a->snap;
    int best = dash_best(s), shown = r.height - 2;
    if (shown > 8)
        shown = 8;
    if (shown > s->n_history)
        shown = s->n_history;
    if (shown < 1 || best < 0)
        return;
    tui_grid_printf(&a->grid, r.top, r.left, r.width, ROLE_TITLE, TUI_BOLD,
                    "Last %d epoch%s - best val_acc %.4f at epoch %d (*)", shown, shown == 1 ? "" : "s",
                    s->history[best].val_acc, best + 1);
    const char *cells[8 * 9];
    int roles[8];
    for (int k = 0; k < shown; k++) {
        int e = s->n_history - shown + k;
        const train_epoch *h = &s->history[e];
        double v[9] = {e + 1, h->loss, h->acc, h->mse, h->val_loss, h->val_acc, h->val_mse, h->lr, h->seconds};
        snprintf(dash_text[k][0], 24, "%d", e + 1);
        for (int c = 1; c < 7; c++)
            vt_fmt_metric(dash_text[k][c], 24, v[c]);
        if (e == best)
            snprintf(dash_text[k][5], 24, "%.4f*", h->val_acc);
        snprintf(dash_text[k][7], 24, "%g", h->lr);
        snprintf(dash_text[k][8], 24, "%.1f", h->seconds);
        for (int c = 0; c < 9; c++)
            cells[k * 9 + c] = dash_text[k][c];
        roles[k] = e == best ? ROLE_GOOD : ROLE_DEFAULT;
    }
    tui_table t = {dash_cols, 9, cells, roles, shown, NULL, 0, -1, 0, 0, -1};
    tui_table_draw(&a->grid, (tui_rect){r.top + 1, r.left, shown + 1, r.width}, &t, a->utf8);
}

void dash_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    const train_snapshot *s = a->snap;
    if (!a->live && !a->dir[0]) {
        no_data(a, body, "Dashboard");
        return;
    }
    int y = body.top, w = body.width, running = state_running(s->state);
    int started = s->batch > 0 && isfinite(s->loss);
    char prog[256], eta[32], ela[32], l[32], ac[32], ms[32], line[512];
    long batches = s->batches > 0 ? s->batches : 1;
    int bar = w >= 100 ? 30 : 20;
    if (running && s->state != TRAIN_PAUSED) {
        tui_progress_text(prog, sizeof prog, s->batch, batches, bar, s->epoch_elapsed, s->eta);
    } else {
        vt_fmt_progbar(prog, sizeof prog, s->batch, batches, bar); /* no ETA: the clock does not run */
    }
    tui_grid_printf(g, y, 1, w - 2, ROLE_VALUE, 0, "Epoch %d/%d", s->epoch, s->epochs);
    tui_grid_text(g, y, 14, w - 15, ROLE_DEFAULT, 0, prog);
    y++;
    /* Before the first step of an epoch there is no mean yet: "-", not nan (which reads as divergence). */
    char mse[32];
    tui_grid_printf(g, y++, 1, w - 2, ROLE_DEFAULT, 0, "loss: %s - acc: %s - mse: %s - lr: %g",
                    vt_fmt_metric(l, sizeof l, started ? s->loss : NAN), vt_fmt_metric(ac, sizeof ac, started ? s->acc : NAN),
                    vt_fmt_metric(mse, sizeof mse, started ? s->mse : NAN), s->lr);
    vt_fmt_eta(ela, sizeof ela, s->elapsed);
    if (started && s->ms_per_step > 0)
        snprintf(ms, sizeof ms, "%.1f ms/step - %.0f img/s", s->ms_per_step, s->img_per_s);
    else
        snprintf(ms, sizeof ms, "- ms/step - - img/s");
    int role = s->state == TRAIN_FAILED ? ROLE_BAD : s->state == TRAIN_PAUSED || s->state == TRAIN_STOPPED ? ROLE_WARN
                                                                                                            : ROLE_LABEL;
    tui_grid_printf(g, y++, 1, w - 2, role, 0, "%s - %s - elapsed %s", train_state_name(s->state), ms, ela);
    /* The whole run: the test-set pass while it runs, the time left and the wall-clock finish. */
    int n = 0;
    if (s->state == TRAIN_EVALUATING && s->eval_batches > 0) {
        n += snprintf(line + n, sizeof line - (size_t)n, "test set: ");
        n += vt_fmt_progbar(line + n, sizeof line - (size_t)n, s->eval_batch, s->eval_batches, 20);
        n += snprintf(line + n, sizeof line - (size_t)n, " steps - ETA: %s - ", vt_fmt_eta(eta, sizeof eta, s->eval_eta));
    }
    n += snprintf(line + n, sizeof line - (size_t)n, "%d/%d epochs done", s->epochs_done, s->epochs);
    if (running && s->state != TRAIN_PAUSED && s->eta_run > 0) {
        char left[128];
        fmt_time_left(left, sizeof left, s->eta_run, a->utf8);
        snprintf(line + n, sizeof line - (size_t)n, " - %s", left);
    } else if (s->state == TRAIN_PAUSED) {
        snprintf(line + n, sizeof line - (size_t)n, " - paused: no time passes");
    }
    tui_grid_text(g, y++, 1, w - 2, ROLE_VALUE, 0, line);
    /* The engine's last word (a hint after a failure, how a stopped run resumes): wrapped, never cut. */
    y += app_draw_wrapped(g, (tui_rect){y, 1, 3, w - 2}, s->message,
                          s->state == TRAIN_FAILED || s->state == TRAIN_STOPPED ? ROLE_WARN : ROLE_DIM);

    int h = body.top + body.height - y;
    int table_rows = s->n_history > 0 ? (h >= 24 ? 8 : h >= 18 ? 5 : 4) : 0;
    if (table_rows > s->n_history + 2)
        table_rows = s->n_history + 2;
    if (table_rows) {
        dash_table(a, (tui_rect){y, 1, table_rows, w - 2});
        y += table_rows;
        h -= table_rows;
    }
    int two_rows = h >= 16;
    int top_h = two_rows ? h * 1 / 2 : h, bot_h = h - top_h;
    int n_h = s->n_history;
    for (int i = 0; i < n_h; i++) {
        hist_buf[0][i] = s->history[i].loss;
        hist_buf[1][i] = s->history[i].val_loss;
        hist_buf[2][i] = s->history[i].acc;
        hist_buf[3][i] = s->history[i].val_acc;
    }
    tui_series loss[2] = {{"loss", NULL, hist_buf[0], n_h, ROLE_SERIES0, '*'},
                          {"val_loss", NULL, hist_buf[1], n_h, ROLE_SERIES0 + 1, 'o'}};
    tui_series acc[2] = {{"acc", NULL, hist_buf[2], n_h, ROLE_SERIES0, '*'},
                         {"val_acc", NULL, hist_buf[3], n_h, ROLE_SERIES0 + 1, 'o'}};
    tui_chart cl = {"Loss per epoch", loss, 2, 0, 0, 0, 0, 0, 0, 3, 1, 1, "epoch", 1};
    tui_chart ca = {"Accuracy per epoch", acc, 2, 0, 1, 0, 0, 0, 1, 2, 1, 1, "epoch", 1};
    int m = s->n_curve;
    for (int i = 0; i < m; i++) {
        curve_x[i] = (double)s->curve_batch[i];
        curve_l[i] = s->curve_loss[i];
        curve_a[i] = s->curve_acc[i];
    }
    char tl[64], ta[64];
    snprintf(tl, sizeof tl, "Epoch %d: running loss by step", s->epoch);
    snprintf(ta, sizeof ta, "Epoch %d: running acc by step", s->epoch);
    tui_series rl = {"loss", curve_x, curve_l, m, ROLE_SERIES0 + 2, '*'};
    tui_series ra = {"acc", curve_x, curve_a, m, ROLE_SERIES0 + 2, '*'};
    tui_chart cr1 = {tl, &rl, 1, 1, 0, 0, (double)batches, 0, 0, 3, 0, 0, "step", 0};
    /* Accuracy lives in [0, 1]: a fixed range, so one point does not get an axis of 0.900..1.100. */
    tui_chart cr2 = {ta, &ra, 1, 1, 1, 0, (double)batches, 0, 1, 2, 0, 0, "step", 0};
    int half = w / 2;
    if (two_rows) {
        tui_chart_draw(g, (tui_rect){y, 0, top_h, half - 1}, &cl, chart_utf8(a));
        tui_chart_draw(g, (tui_rect){y, half, top_h, w - half}, &ca, chart_utf8(a));
        y += top_h;
        tui_chart_draw(g, (tui_rect){y, 0, bot_h, half - 1}, &cr1, chart_utf8(a));
        tui_chart_draw(g, (tui_rect){y, half, bot_h, w - half}, &cr2, chart_utf8(a));
    } else if (top_h >= 5) {
        /* Short terminals: loss and accuracy per epoch (the running curves need the room of a taller one). */
        tui_chart_draw(g, (tui_rect){y, 0, top_h, half - 1}, &cl, chart_utf8(a));
        tui_chart_draw(g, (tui_rect){y, half, top_h, w - half}, &ca, chart_utf8(a));
    }
}

int dash_key(app *a, tui_action act)
{
    const train_snapshot *s = a->snap;
    if (act == ACT_RESUME_RUN) {
        if (!app_can_resume(a)) {
            app_set_status(a, ROLE_DIM, "Enter resumes a stopped or killed run from its checkpoint; this run is %s%s",
                           a->live ? "live" : train_state_name(s->state),
                           s->state == TRAIN_STOPPED && !a->run.has_checkpoint ? " without a checkpoint" : "");
            return H_REDRAW;
        }
        train_config cfg = a->run.config;
        cfg.resume = 1;
        snprintf(cfg.run_dir, sizeof cfg.run_dir, "%s", a->dir);
        return app_start_run(a, &cfg);
    }
    if (act != ACT_PAUSE && act != ACT_STOP && act != ACT_LR_UP && act != ACT_LR_DOWN)
        return H_NONE;
    if (!app_can_control(a)) {
        train_state st = s->state;
        int ended = st == TRAIN_STOPPED || st == TRAIN_FINISHED || st == TRAIN_FAILED;
        app_set_status(a, ROLE_WARN, "%s", !a->dir[0] ? "no live run: start one on the Setup screen (1)"
                                           : ended ? (app_can_resume(a) ? "the run has ended: Enter resumes it"
                                                                        : "the run has ended: there is nothing to control")
                                                   : "no process trains this run now: there is nothing to control");
        return H_REDRAW;
    }
    vt_err err;
    if (!(a->tr && a->live)) {
        /* Another process trains it: through its run directory's commands.json. */
        run_command c = {0, RUN_CMD_NONE, 0};
        if (act == ACT_PAUSE)
            c.kind = s->state == TRAIN_PAUSED ? RUN_CMD_RESUME : RUN_CMD_PAUSE;
        else if (act == ACT_STOP)
            c.kind = RUN_CMD_STOP;
        else {
            const train_field *rule = train_field_find("lr");
            c.kind = RUN_CMD_LR;
            c.lr = s->lr * (act == ACT_LR_UP ? 2.0 : 0.5);
            if (!train_field_in_range(rule, c.lr)) {
                char what[128];
                train_field_describe(rule, what, sizeof what);
                app_set_status(a, ROLE_BAD, "learning rate %g is not %s", c.lr, what);
                return H_REDRAW;
            }
        }
        app_send_command(a, &c);
        return H_REDRAW;
    }
    switch (act) {
    case ACT_PAUSE:
        if (s->state == TRAIN_PAUSED) {
            trainer_resume(a->tr);
            app_set_status(a, ROLE_GOOD, "resumed");
        } else {
            trainer_pause(a->tr);
            app_set_status(a, ROLE_WARN, "pausing after this step (p resumes)");
        }
        break;
    case ACT_STOP:
        trainer_stop(a->tr);
        app_set_status(a, ROLE_WARN, "stopping after this step; the checkpoint allows vggtop train --resume %s",
                       a->dir);
        break;
    default: {
        double lr;
        if (trainer_scale_lr(a->tr, act == ACT_LR_UP ? 2.0 : 0.5, &lr, &err) != VT_OK)
            app_set_status(a, ROLE_BAD, "%s", err.msg);
        else
            app_set_status(a, ROLE_GOOD, "learning rate %g from the next step", lr);
    }
    }
    return H_REDRAW;
}

/* ---- 3 Report ------------------------------------------------------------------------------------------ */

static const tui_column rep_cols[6] = {
    {"#", 3, 1}, {"class", 20, 0}, {"precision", 9, 1}, {"recall", 9, 1}, {"f1-score", 9, 1}, {"support", 8, 1},
};

static const app *sort_app; /* qsort has no context argument */

static double rep_value(const app *a, int row, int col)
{
    const class_scores *c = &a->rep.rows[row];
    switch (col) {
    case 2: return c->precision;
    case 3: return c->recall;
    case 4: return c->f1;
    case 5: return (double)c->support;
    default: return a->rep.labels[row];
    }
}

static int rep_cmp(const void *pa, const void *pb)
{
    const app *a = sort_app;
    int ra = *(const int *)pa, rb = *(const int *)pb, r;
    if (a->rep_sort == 1) {
        r = strcasecmp(app_class_name(a, a->rep.labels[ra]), app_class_name(a, a->rep.labels[rb]));
    } else {
        double x = rep_value(a, ra, a->rep_sort), y = rep_value(a, rb, a->rep_sort);
        r = x < y ? -1 : x > y ? 1 : 0;
    }
    if (a->rep_desc)
        r = -r;
    return r ? r : ra - rb;
}

static void rep_sort_rows(app *a)
{
    if (!a->have_rep || !a->rep_order)
        return;
    sort_app = a;
    qsort(a->rep_order, (size_t)a->rep.n_labels, sizeof *a->rep_order, rep_cmp);
}

void report_reset(app *a)
{
    free(a->rep_order);
    a->rep_order = NULL;
    if (!a->have_rep)
        return;
    a->rep_order = malloc(sizeof *a->rep_order * (size_t)(a->rep.n_labels > 0 ? a->rep.n_labels : 1));
    if (!a->rep_order)
        return;
    for (int i = 0; i < a->rep.n_labels; i++)
        a->rep_order[i] = i;
    rep_sort_rows(a);
    if (a->rep_sel >= a->rep.n_labels)
        a->rep_sel = a->rep.n_labels - 1;
    if (a->rep_sel < 0)
        a->rep_sel = 0;
}

static int rep_visible(const app *a) { return app_body_height(a) - 1 - 1 - 4; }

void report_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    if (!a->have_rep || !a->rep_order) {
        no_data(a, body, "Report");
        return;
    }
    const report *r = &a->rep;
    int n = r->n_labels;
    /* Which evaluation this is: the predictions are rewritten after every epoch (accuracy is pinned below). */
    char which[32] = "";
    if (a->snap->epochs_done > 0)
        snprintf(which, sizeof which, " (epoch %d)", a->snap->epochs_done);
    tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD, "Report: %d classes, %ld images%s, sorted by %s%s",
                    n, r->total, which, rep_cols[a->rep_sort].title, a->rep_desc ? " (desc)" : "");
    char(*text)[6][24] = malloc(sizeof *text * (size_t)(n > 0 ? n : 1));
    const char **cells = malloc(sizeof *cells * 6 * (size_t)(n > 0 ? n : 1));
    int *roles = malloc(sizeof *roles * (size_t)(n > 0 ? n : 1));
    if (!text || !cells || !roles) {
        free(text);
        free(cells);
        free(roles);
        return;
    }
    double macro = r->macro.f1;
    for (int i = 0; i < n; i++) {
        int row = a->rep_order[i];
        const class_scores *c = &r->rows[row];
        snprintf(text[i][0], 24, "%d", r->labels[row]);
        snprintf(text[i][1], 24, "%s", app_class_name(a, r->labels[row]));
        snprintf(text[i][2], 24, "%.4f", c->precision);
        snprintf(text[i][3], 24, "%.4f", c->recall);
        snprintf(text[i][4], 24, "%.4f", c->f1);
        snprintf(text[i][5], 24, "%ld", c->support);
        for (int k = 0; k < 6; k++)
            cells[i * 6 + k] = text[i][k];
        /* weak: F1 below half the macro F1; strong: above the midpoint between the macro F1 and 1 */
        roles[i] = c->f1 < 0.5 * macro ? ROLE_BAD : c->f1 > (macro + 1) / 2 ? ROLE_GOOD : ROLE_DEFAULT;
    }
    char pin[3][6][24];
    snprintf(pin[0][1], 24, "accuracy");
    pin[0][0][0] = pin[0][2][0] = pin[0][3][0] = '\0';
    snprintf(pin[0][4], 24, "%.4f", r->accuracy);
    snprintf(pin[0][5], 24, "%ld", r->total);
    const class_scores *avg[2] = {&r->macro, &r->weighted};
    for (int k = 0; k < 2; k++) {
        pin[k + 1][0][0] = '\0';
        snprintf(pin[k + 1][1], 24, "%s", k ? "weighted avg" : "macro avg");
        snprintf(pin[k + 1][2], 24, "%.4f", avg[k]->precision);
        snprintf(pin[k + 1][3], 24, "%.4f", avg[k]->recall);
        snprintf(pin[k + 1][4], 24, "%.4f", avg[k]->f1);
        snprintf(pin[k + 1][5], 24, "%ld", avg[k]->support);
    }
    const char *pinned[18];
    for (int i = 0; i < 18; i++)
        pinned[i] = pin[i / 6][i % 6];
    tui_table t = {rep_cols, 6, cells, roles, n, pinned, 3, a->rep_sort, a->rep_desc, a->rep_top, a->rep_sel};
    tui_rect tr = {body.top + 1, 1, body.height - 1, body.width - 2};
    int visible = tui_table_draw(g, tr, &t, a->utf8);
    tui_table_follow(&t, visible);
    if (t.top != a->rep_top) {
        a->rep_top = t.top;
        tui_table_draw(g, tr, &t, a->utf8);
    }
    free(text);
    free(cells);
    free(roles);
}

/* Display position of the first class whose name contains the search, from position `from` on. */
static int rep_find(const app *a, int from)
{
    int n = a->rep.n_labels;
    for (int k = 0; k < n; k++) {
        int i = (from + k) % n;
        if (strcasestr(app_class_name(a, a->rep.labels[a->rep_order[i]]), a->search))
            return i;
    }
    return -1;
}

static void rep_clamp(app *a)
{
    int n = a->rep.n_labels;
    if (a->rep_sel >= n)
        a->rep_sel = n - 1;
    if (a->rep_sel < 0)
        a->rep_sel = 0;
    tui_table t = {0};
    t.n_rows = n;
    t.selected = a->rep_sel;
    t.top = a->rep_top;
    tui_table_follow(&t, rep_visible(a));
    a->rep_top = t.top;
}

int report_key(app *a, int key, tui_action act)
{
    if (!a->have_rep || !a->rep_order) {
        a->searching = 0;
        return H_NONE;
    }
    if (a->searching) {
        size_t len = strlen(a->search);
        if (key == 27) {
            a->searching = 0;
            a->rep_sel = a->search_saved_sel;
        } else if (key == '\n' || key == '\r' || key == KEY_ENTER) {
            a->searching = 0;
        } else if (key == KEY_BACKSPACE || key == 127 || key == 8) {
            if (len)
                a->search[len - 1] = '\0';
        } else if (key >= 32 && key < 127 && len + 1 < sizeof a->search) {
            a->search[len] = (char)key;
            a->search[len + 1] = '\0';
        }
        if (a->searching && a->search[0]) {
            int i = rep_find(a, 0);
            if (i >= 0)
                a->rep_sel = i;
        }
        if (!a->searching && a->search[0] && rep_find(a, 0) < 0)
            app_set_status(a, ROLE_WARN, "no class matches '%s'", a->search);
        rep_clamp(a);
        return H_REDRAW;
    }
    int page = rep_visible(a) > 1 ? rep_visible(a) - 1 : 1;
    switch (act) {
    case ACT_UP: a->rep_sel--; break;
    case ACT_DOWN: a->rep_sel++; break;
    case ACT_PGUP: a->rep_sel -= page; break;
    case ACT_PGDN: a->rep_sel += page; break;
    case ACT_HOME: a->rep_sel = 0; break;
    case ACT_END: a->rep_sel = a->rep.n_labels - 1; break;
    case ACT_SORT:
        a->rep_sort = (a->rep_sort + 1) % 6;
        a->rep_desc = a->rep_sort >= 2; /* numbers: the largest first */
        rep_sort_rows(a);
        break;
    case ACT_REVERSE:
        a->rep_desc = !a->rep_desc;
        rep_sort_rows(a);
        break;
    case ACT_SEARCH:
        a->searching = 1;
        a->search[0] = '\0';
        a->search_saved_sel = a->rep_sel;
        break;
    case ACT_SEARCH_NEXT:
        if (!a->search[0]) {
            app_set_status(a, ROLE_DIM, "/ starts a search");
            break;
        }
        {
            int i = rep_find(a, a->rep_sel + 1);
            if (i >= 0)
                a->rep_sel = i;
            else
                app_set_status(a, ROLE_WARN, "no class matches '%s'", a->search);
        }
        break;
    default: return H_NONE;
    }
    rep_clamp(a);
    return H_REDRAW;
}

/* ---- 4 Confusion --------------------------------------------------------------------------------------- */

#define CM_LABEL 12
#define CM_PANEL 30

/* The matrix shown: fine or folded, counts; names of its classes. Returns K (0: nothing). */
static int cm_view(app *a, long **counts, const char *const **names)
{
    if (!a->cm || a->C <= 0)
        return 0;
    const run_data *r = &a->run;
    if (a->cm_fold && r->coarse_classes > 0 && r->fine_to_coarse && r->classes == a->C) {
        int K = r->coarse_classes;
        long *f = calloc((size_t)K * (size_t)K, sizeof *f);
        if (!f)
            return 0;
        metrics_confusion_fold(a->cm, a->C, r->fine_to_coarse, K, f);
        *counts = f;
        *names = (const char *const *)r->coarse_names;
        return K;
    }
    *counts = a->cm;
    *names = (const char *const *)a->names;
    return a->C;
}

void confusion_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    long *cm;
    const char *const *names;
    int K = cm_view(a, &cm, &names);
    if (!K) {
        no_data(a, body, "Confusion matrix");
        return;
    }
    if (a->cm_row >= K)
        a->cm_row = K - 1;
    if (a->cm_col >= K)
        a->cm_col = K - 1;
    double *v = malloc(sizeof *v * (size_t)K * (size_t)K);
    confused_pair *pairs = malloc(sizeof *pairs * (size_t)(body.height > 0 ? body.height : 1));
    if (!v || !pairs) {
        free(v);
        free(pairs);
        if (cm != a->cm)
            free(cm);
        return;
    }
    if (a->cm_norm)
        metrics_confusion_normalize(cm, K, 0, v);
    else
        for (long i = 0; i < (long)K * K; i++)
            v[i] = (double)cm[i];
    tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD,
                    "Confusion matrix: rows true, columns predicted, %s%s", a->cm_norm ? "row-normalised" : "counts",
                    K != a->C ? ", 20 superclasses" : "");
    /* The cell under the cursor, in words. */
    long support = 0;
    for (int j = 0; j < K; j++)
        support += cm[(long)a->cm_row * K + j];
    long count = cm[(long)a->cm_row * K + a->cm_col];
    tui_grid_printf(g, body.top + 1, 1, body.width - 2, ROLE_VALUE, 0, "true %s %s predicted %s: %ld, %.0f%% of %s",
                    names[a->cm_row], a->utf8 ? "\u2192" : "->", names[a->cm_col], count,
                    support ? 100.0 * (double)count / (double)support : 0.0, names[a->cm_row]);
    /* Cells as wide as the room allows (up to 6 characters), with their numbers when those fit. */
    int avail = body.width - CM_PANEL - 1;
    int cw = (avail - CM_LABEL - 1) / K;
    if (cw > 6)
        cw = 6;
    if (cw < 1)
        cw = 1;
    long maxc = 0;
    for (long i = 0; i < (long)K * K; i++)
        if (cm[i] > maxc)
            maxc = cm[i];
    char digits[32];
    int nd = a->cm_norm ? 3 : snprintf(digits, sizeof digits, "%ld", maxc);
    int need = CM_LABEL + 1 + K * cw;
    tui_rect hr = {body.top + 3, 0, body.height - 3, need < avail ? need : avail};
    int room = a->depth == TUI_COLOR_256 ? cw - 1 : cw - 2;
    tui_heatmap h = {v, K, K, 0, a->cm_row, a->cm_col, a->cm_row0, a->cm_col0, names, CM_LABEL, cw, nd <= room,
                     a->cm_norm};
    int vis_r = K < hr.height ? K : hr.height;
    int vis_c = K < (hr.width - CM_LABEL - 1) / cw ? K : (hr.width - CM_LABEL - 1) / cw;
    tui_heatmap_follow(&h, vis_r, vis_c);
    a->cm_row0 = h.row0;
    a->cm_col0 = h.col0;
    tui_heatmap_draw(g, hr, &h, a->depth, &vis_r, &vis_c);
    /* A marker over the cursor's column, and the first visible column's number. */
    tui_grid_printf(g, body.top + 2, 0, CM_LABEL, ROLE_DIM, 0, "pred %d..", h.col0);
    tui_grid_put(g, body.top + 2, CM_LABEL + 1 + (a->cm_col - h.col0) * cw + cw - 1, a->utf8 ? 0x25bc : 'v',
                 ROLE_CURSOR, 0);

    int px = hr.left + hr.width + 2, pw = body.width - px - 1;
    tui_grid_text(g, body.top + 3, px, pw, ROLE_LABEL, TUI_BOLD, "Most confused (true > pred)");
    int np = metrics_confused_pairs(cm, K, pairs, body.height - 5);
    for (int i = 0; i < np; i++) {
        char line[128];
        snprintf(line, sizeof line, "%-11.11s>%-11.11s %4ld", names[pairs[i].true_class], names[pairs[i].pred_class],
                 pairs[i].count);
        tui_grid_text(g, body.top + 4 + i, px, pw, ROLE_DEFAULT, 0, line);
    }
    free(v);
    free(pairs);
    if (cm != a->cm)
        free(cm);
}

int confusion_key(app *a, tui_action act)
{
    long *cm;
    const char *const *names;
    int K = cm_view(a, &cm, &names);
    if (cm != a->cm)
        free(cm);
    if (!K)
        return H_NONE;
    int page = app_body_height(a) - 4;
    switch (act) {
    case ACT_UP: a->cm_row--; break;
    case ACT_DOWN: a->cm_row++; break;
    case ACT_LEFT: a->cm_col--; break;
    case ACT_RIGHT: a->cm_col++; break;
    case ACT_PGUP: a->cm_row -= page; break;
    case ACT_PGDN: a->cm_row += page; break;
    case ACT_HOME: a->cm_row = a->cm_col = 0; break;
    case ACT_END: a->cm_row = a->cm_col = K - 1; break;
    case ACT_NORMALIZE: a->cm_norm = !a->cm_norm; break;
    case ACT_FOLD:
        if (a->run.coarse_classes > 0 && a->run.fine_to_coarse && a->run.classes == a->C) {
            a->cm_fold = !a->cm_fold;
            a->cm_row = a->cm_col = a->cm_row0 = a->cm_col0 = 0;
        } else {
            app_set_status(a, ROLE_DIM, "folding needs CIFAR-100 with fine labels");
        }
        return H_REDRAW;
    default: return H_NONE;
    }
    K = cm_view(a, &cm, &names);
    if (cm != a->cm)
        free(cm);
    if (a->cm_row < 0)
        a->cm_row = 0;
    if (a->cm_col < 0)
        a->cm_col = 0;
    if (a->cm_row >= K)
        a->cm_row = K - 1;
    if (a->cm_col >= K)
        a->cm_col = K - 1;
    return H_REDRAW;
}

/* ---- 5 ROC ------------------------------------------------------------------------------------------------- */

#define ROC_LIST 30
#define ROC_MAX_DRAWN 5

void roc_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    if (!a->have_roc) {
        no_data(a, body, "ROC curves");
        return;
    }
    tui_grid_printf(g, body.top, 1, ROC_LIST, ROLE_LABEL, 0, "micro-average AUC %.4f", a->micro.auc);
    tui_grid_printf(g, body.top + 1, 1, ROC_LIST, ROLE_LABEL, 0, "macro-average AUC %.4f", a->macro.auc);
    int list_h = body.height - 3;
    if (a->roc_sel < a->roc_top)
        a->roc_top = a->roc_sel;
    if (a->roc_sel >= a->roc_top + list_h)
        a->roc_top = a->roc_sel - list_h + 1;
    /* The list is the classes' legend: a drawn class shows its curve's letter (in its colour), so the chart's
     * own legend keeps to micro, macro and chance and fits 80 columns. */
    static const char markers[ROC_MAX_DRAWN] = {'a', 'b', 'c', 'd', 'e'};
    int letter_of[4096];
    for (int c = 0, k = 0; c < a->C && c < 4096; c++)
        letter_of[c] = a->roc_drawn[c] && k < ROC_MAX_DRAWN ? k++ : -1;
    for (int i = 0; i < list_h && a->roc_top + i < a->C; i++) {
        int c = a->roc_top + i;
        int role = c == a->roc_sel ? ROLE_SELECT : a->roc_drawn[c] ? ROLE_VALUE : ROLE_DEFAULT;
        int k = c < 4096 ? letter_of[c] : -1;
        tui_grid_printf(g, body.top + 3 + i, 1, ROC_LIST, role, 0, "[%c] %-17.17s %6.4f", k >= 0 ? markers[k] : ' ',
                        app_class_name(a, c), a->roc[c].auc);
        if (k >= 0 && c != a->roc_sel)
            tui_grid_put(g, body.top + 3 + i, 2, (uint32_t)(unsigned char)markers[k], ROLE_SERIES0 + 2 + k, 0);
    }
    tui_series s[ROC_MAX_DRAWN + 3];
    char names[ROC_MAX_DRAWN + 2][48];
    static const double diag[2] = {0, 1};
    int n = 0;
    snprintf(names[0], sizeof names[0], "micro %.3f", a->micro.auc);
    snprintf(names[1], sizeof names[1], "macro %.3f", a->macro.auc);
    s[n++] = (tui_series){names[0], a->micro.fpr, a->micro.tpr, (int)a->micro.n, ROLE_SERIES0, '*'};
    s[n++] = (tui_series){names[1], a->macro.fpr, a->macro.tpr, (int)a->macro.n, ROLE_SERIES0 + 1, '+'};
    for (int c = 0; c < a->C && n < ROC_MAX_DRAWN + 2; c++)
        if (a->roc_drawn[c]) {
            s[n] = (tui_series){NULL, a->roc[c].fpr, a->roc[c].tpr, (int)a->roc[c].n, ROLE_SERIES0 + n,
                                markers[n - 2]};
            n++;
        }
    s[n++] = (tui_series){"chance", diag, diag, 2, ROLE_FRAME, '.'};
    tui_chart c = {a->roc_zoom ? "ROC, zoomed: FPR 0-0.2, TPR 0.8-1 (z: whole)" : "ROC: TPR against FPR (z zooms)",
                   s, n, 1, 1, 0, a->roc_zoom ? 0.2 : 1, a->roc_zoom ? 0.8 : 0, 1, 2, 1, 0, "FPR", 0};
    tui_chart_draw(g, (tui_rect){body.top, ROC_LIST + 2, body.height, body.width - ROC_LIST - 2}, &c, chart_utf8(a));
}

int roc_key(app *a, tui_action act)
{
    if (!a->have_roc)
        return H_NONE;
    int page = app_body_height(a) - 4;
    switch (act) {
    case ACT_UP: a->roc_sel--; break;
    case ACT_DOWN: a->roc_sel++; break;
    case ACT_PGUP: a->roc_sel -= page; break;
    case ACT_PGDN: a->roc_sel += page; break;
    case ACT_HOME: a->roc_sel = 0; break;
    case ACT_END: a->roc_sel = a->C - 1; break;
    case ACT_ZOOM: a->roc_zoom = !a->roc_zoom; break;
    case ACT_ALL: memset(a->roc_drawn, 0, (size_t)a->C); break;
    case ACT_TOGGLE: {
        int drawn = 0;
        for (int c = 0; c < a->C; c++)
            drawn += a->roc_drawn[c];
        int sel = a->roc_sel;
        if (!a->roc_drawn[sel] && drawn >= ROC_MAX_DRAWN)
            app_set_status(a, ROLE_WARN, "at most %d classes at once: hide one first (a hides all)", ROC_MAX_DRAWN);
        else
            a->roc_drawn[sel] = !a->roc_drawn[sel];
        break;
    }
    default: return H_NONE;
    }
    if (a->roc_sel < 0)
        a->roc_sel = 0;
    if (a->roc_sel >= a->C)
        a->roc_sel = a->C - 1;
    return H_REDRAW;
}

/* ---- 6 Compare ----------------------------------------------------------------------------------------- */

#define CMP_MAX_SHOWN 8

void compare_free(app *a)
{
    for (int i = 0; i < a->n_runs; i++)
        free(a->run_hist ? a->run_hist[i] : NULL);
    free(a->run_hist);
    free(a->run_hist_n);
    free(a->run_shown);
    free(a->runs);
    a->run_hist = NULL;
    a->run_hist_n = NULL;
    a->run_shown = NULL;
    a->runs = NULL;
    a->n_runs = 0;
}

static void compare_load(app *a, int i)
{
    if (a->run_hist[i])
        return;
    run_data r;
    vt_err err;
    if (run_load(a->runs[i].path, RUN_PART_HISTORY, &r, &err) == VT_OK && r.n_history > 0) {
        a->run_hist[i] = r.history;
        a->run_hist_n[i] = r.n_history;
        r.history = NULL;
    }
    run_free(&r);
}

void compare_scan(app *a)
{
    /* A rescan (r, or the live run's new epoch) keeps the user's choice of runs on the chart. */
    int n_kept = 0;
    char (*kept)[256] = a->n_runs > 0 ? calloc((size_t)a->n_runs, sizeof *kept) : NULL;
    for (int i = 0; kept && i < a->n_runs; i++)
        if (a->run_shown && a->run_shown[i])
            snprintf(kept[n_kept++], sizeof kept[0], "%s", a->runs[i].name);
    compare_free(a);
    vt_err err;
    const char *dir = a->opt.runs_dir ? a->opt.runs_dir : "runs";
    if (run_list(dir, &a->runs, &a->n_runs, &err) != VT_OK) {
        a->runs = NULL;
        a->n_runs = 0;
        free(kept);
        return;
    }
    int n = a->n_runs > 0 ? a->n_runs : 1;
    a->run_hist = calloc((size_t)n, sizeof *a->run_hist);
    a->run_hist_n = calloc((size_t)n, sizeof *a->run_hist_n);
    a->run_shown = calloc((size_t)n, 1);
    if (!a->run_hist || !a->run_hist_n || !a->run_shown) {
        compare_free(a);
        free(kept);
        return;
    }
    /* The newest five with a finished epoch are on the chart to begin with (an empty run draws nothing and
     * would push one with a curve off it); their histories are read now, not while drawing. */
    for (int i = 0; i < a->n_runs; i++)
        for (int k = 0; k < n_kept; k++)
            if (strcmp(a->runs[i].name, kept[k]) == 0) {
                a->run_shown[i] = 1;
                compare_load(a, i);
            }
    free(kept);
    for (int i = a->n_runs - 1, k = 0; i >= 0 && k < 5 && n_kept == 0; i--) {
        if (a->runs[i].epochs_done <= 0)
            continue;
        a->run_shown[i] = 1;
        compare_load(a, i);
        k++;
    }
    if (a->run_sel >= a->n_runs)
        a->run_sel = a->n_runs > 0 ? a->n_runs - 1 : 0;
}

static const char *const cmp_metric_name[3] = {"val_acc", "val_loss", "val_mse"};

void compare_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    const char *dir = a->opt.runs_dir ? a->opt.runs_dir : "runs";
    if (a->n_runs == 0) {
        char line[4200];
        snprintf(line, sizeof line, "No runs in %s yet (r rescans).", dir);
        tui_grid_text(g, body.top + 1, 2, body.width - 4, ROLE_DIM, 0, line);
        return;
    }
    int list_h = a->n_runs + 1 < body.height / 3 ? a->n_runs + 1 : body.height / 3;
    if (list_h < 4)
        list_h = 4;
    int chart_h = body.height - list_h;
    static double ys[CMP_MAX_SHOWN][TRAIN_MAX_EPOCHS];
    static char names[CMP_MAX_SHOWN][48];
    tui_series s[CMP_MAX_SHOWN];
    static const char markers[CMP_MAX_SHOWN] = {'*', 'o', '+', 'x', '#', '@', '%', '&'};
    int n = 0;
    for (int i = 0; i < a->n_runs && n < CMP_MAX_SHOWN; i++) {
        if (!a->run_shown[i])
            continue;
        int m = a->run_hist_n[i] < TRAIN_MAX_EPOCHS ? a->run_hist_n[i] : TRAIN_MAX_EPOCHS;
        for (int e = 0; e < m; e++) {
            const train_epoch *h = &a->run_hist[i][e];
            ys[n][e] = a->cmp_metric == 0 ? h->val_acc : a->cmp_metric == 1 ? h->val_loss : h->val_mse;
        }
        snprintf(names[n], sizeof names[n], "%d:%s", i + 1, a->runs[i].model);
        s[n] = (tui_series){names[n], NULL, ys[n], m, ROLE_SERIES0 + n, markers[n]};
        n++;
    }
    char title[96];
    snprintf(title, sizeof title, "%s per epoch (m: metric)", cmp_metric_name[a->cmp_metric]);
    tui_chart c = {title, s, n, 0, 0, 0, 0, 0, 0, a->cmp_metric == 2 ? 4 : 3, 1, 1, "epoch", 1};
    tui_chart_draw(g, (tui_rect){body.top, 0, chart_h, body.width}, &c, chart_utf8(a));
    int y = body.top + chart_h;
    /* The run's name takes what the fixed columns leave (61 of them): at 80 columns the last ones used to be
     * cut off. Its first 17 characters, the UTC stamp, are what tells runs apart. */
    int name_w = body.width - 2 - 61;
    name_w = name_w < 17 ? 17 : name_w > 40 ? 40 : name_w;
    tui_grid_printf(g, y++, 1, body.width - 2, ROLE_HEADER, 0, "     #  %-*s %-12s %-13s %7s %8s %8s", name_w, "run",
                    "model", "data", "epochs", "best acc", "last acc");
    int rows = list_h - 1;
    if (a->run_sel < a->run_top)
        a->run_top = a->run_sel;
    if (a->run_sel >= a->run_top + rows)
        a->run_top = a->run_sel - rows + 1;
    for (int k = 0; k < rows && a->run_top + k < a->n_runs; k++) {
        int i = a->run_top + k;
        const run_entry *e = &a->runs[i];
        int role = i == a->run_sel ? ROLE_SELECT : strcmp(e->path, a->dir) == 0 ? ROLE_VALUE : ROLE_DEFAULT;
        char best[32], last[32]; /* "-" for a run with no finished epoch, not "nan" */
        tui_grid_printf(g, y++, 1, body.width - 2, role, 0, "[%c] %2d  %-*.*s %-12.12s %-13.13s %3d/%-3d %8s %8s",
                        a->run_shown[i] ? 'x' : ' ', i + 1, name_w, name_w, e->name, e->model, e->dataset,
                        e->epochs_done, e->epochs, vt_fmt_metric(best, sizeof best, e->best_val_acc),
                        vt_fmt_metric(last, sizeof last, e->last_val_acc));
    }
}

int compare_key(app *a, tui_action act)
{
    if (act == ACT_REFRESH) {
        compare_scan(a);
        app_set_status(a, ROLE_DIM, "%d runs", a->n_runs);
        return H_REDRAW;
    }
    if (act == ACT_METRIC) {
        a->cmp_metric = (a->cmp_metric + 1) % 3;
        return H_REDRAW;
    }
    if (a->n_runs == 0)
        return H_NONE;
    int page = app_body_height(a) / 3 - 1;
    switch (act) {
    case ACT_UP: a->run_sel--; break;
    case ACT_DOWN: a->run_sel++; break;
    case ACT_PGUP: a->run_sel -= page; break;
    case ACT_PGDN: a->run_sel += page; break;
    case ACT_HOME: a->run_sel = 0; break;
    case ACT_END: a->run_sel = a->n_runs - 1; break;
    case ACT_TOGGLE: {
        int shown = 0;
        for (int i = 0; i < a->n_runs; i++)
            shown += a->run_shown[i];
        if (!a->run_shown[a->run_sel] && shown >= CMP_MAX_SHOWN)
            app_set_status(a, ROLE_WARN, "at most %d runs on the chart", CMP_MAX_SHOWN);
        else
            a->run_shown[a->run_sel] = !a->run_shown[a->run_sel];
        if (a->run_shown[a->run_sel])
            compare_load(a, a->run_sel);
        break;
    }
    case ACT_ENTER: {
        const run_entry *e = &a->runs[a->run_sel];
        if (a->live && strcmp(e->path, a->dir) == 0) {
            a->screen = 2;
            return H_REDRAW;
        }
        if (a->live) {
            app_set_status(a, ROLE_WARN, "a run is live here: browse other runs when it has finished");
            return H_REDRAW;
        }
        vt_err err;
        char path[4096];
        snprintf(path, sizeof path, "%s", e->path);
        if (app_open_dir(a, path, 1, &err) != VT_OK)
            app_set_status(a, ROLE_BAD, "%s", err.msg);
        else {
            app_set_status(a, ROLE_GOOD, "opened %s", path);
            a->screen = 2;
        }
        return H_REDRAW;
    }
    default: return H_NONE;
    }
    if (a->run_sel < 0)
        a->run_sel = 0;
    if (a->run_sel >= a->n_runs)
        a->run_sel = a->n_runs - 1;
    return H_REDRAW;
}

/* ---- 7 Samples ------------------------------------------------------------------------------------------- */

/* Loads the run's test images (native size: what a person looks at, not what the model was fed). */
static void samples_load(app *a)
{
    if (!a->have_run || !(a->run.parts & RUN_PART_CONFIG))
        return;
    if (a->test && strcmp(a->test_dir, a->dir) == 0)
        return;
    if (a->test_err[0] && strcmp(a->test_dir, a->dir) == 0)
        return;
    if (a->test)
        data_destroy(a->test);
    a->test = NULL;
    a->test_err[0] = '\0';
    snprintf(a->test_dir, sizeof a->test_dir, "%s", a->dir);
    data_options opt = {a->run.dataset_path[0] ? a->run.dataset_path : NULL, a->run.config.coarse, 0, 0, 1,
                        a->run.config.limit_test};
    vt_err err;
    if (data_open(&opt, &a->test, &err) != VT_OK) {
        a->test = NULL;
        snprintf(a->test_err, sizeof a->test_err, "%s", err.msg);
    }
}

static long samples_count(const app *a)
{
    long n = a->run.n_pred;
    if (a->test && a->test->n_test < n)
        n = a->test->n_test;
    return n;
}

static int missed(const app *a, long i) { return a->run.y_true[i] != a->run.y_pred[i]; }

void samples_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    if (a->C <= 0) {
        no_data(a, body, "Samples");
        return;
    }
    samples_load(a);
    if (!a->test) {
        tui_grid_text(g, body.top + 1, 2, body.width - 4, ROLE_BAD, 0, a->test_err[0] ? a->test_err : "no test images");
        return;
    }
    long n = samples_count(a);
    if (n <= 0) {
        tui_grid_text(g, body.top + 1, 2, body.width - 4, ROLE_DIM, 0, "no test images in this run");
        return;
    }
    if (a->sample >= n)
        a->sample = n - 1;
    if (a->sample < 0)
        a->sample = 0;
    long i = a->sample;
    const dataset *ds = a->test;
    int h = ds->height, w = ds->width, ch = ds->channels;
    int scale = 1;
    while ((scale + 1) * w <= body.width / 2 && ((scale + 1) * h + 1) / 2 <= body.height - 1)
        scale++;
    const uint8_t *img = ds->test_x + (size_t)i * (size_t)h * (size_t)w * (size_t)ch;
    tui_image_draw(g, body.top + 1, 1, img, h, w, ch, scale, a->depth, a->utf8);
    int x = w * scale + 3, tw = body.width - x - 1, y = body.top + 1;
    int t = a->run.y_true[i], p = a->run.y_pred[i];
    long nm = 0, before = 0; /* misclassified in all, and up to this image */
    for (long k = 0; k < n; k++) {
        nm += missed(a, k);
        before += k <= i && missed(a, k);
    }
    if (a->missed_only && missed(a, i))
        /* counted among the misclassified (it said "14 of 500" for the 14th of 448) */
        tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD,
                        "Misclassified image %ld of %ld (test image %ld of %ld)", before, nm, i + 1, n);
    else
        tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD, "Test image %ld of %ld (%ld misclassified)",
                        i + 1, n, nm);
    tui_grid_printf(g, y++, x, tw, ROLE_LABEL, 0, "true:      %s (%d)", app_class_name(a, t), t);
    tui_grid_printf(g, y++, x, tw, t == p ? ROLE_GOOD : ROLE_BAD, TUI_BOLD, "predicted: %s (%d)%s", app_class_name(a, p),
                    p, t == p ? "" : "  - wrong");
    y++;
    tui_grid_text(g, y++, x, tw, ROLE_LABEL, 0, "top 5:");
    const float *pr = a->run.probs + (size_t)i * (size_t)a->C;
    int top[5], k5 = a->C < 5 ? a->C : 5;
    for (int k = 0; k < k5; k++) {
        int best = -1;
        for (int c = 0; c < a->C; c++) {
            int used = 0;
            for (int j = 0; j < k; j++)
                used |= top[j] == c;
            if (!used && (best < 0 || pr[c] > pr[best]))
                best = c;
        }
        top[k] = best;
        char bar[3 * 20 + 5 + 20]; /* full blocks in UTF-8 mode, '#' in ASCII; padded to 20 columns */
        int len = (int)lrint(pr[best] * 20), at = 0;
        if (len < 0)
            len = 0;
        if (len > 20)
            len = 20;
        for (int b = 0; b < len; b++)
            at += a->utf8 ? tui_utf8_encode(0x2588, bar + at) : (bar[at] = '#', 1);
        for (int b = len; b < 20; b++)
            bar[at++] = ' ';
        bar[at] = '\0';
        tui_grid_printf(g, y++, x, tw, best == t ? ROLE_GOOD : ROLE_DEFAULT, 0, "%6.4f %s %s", pr[best], bar,
                        app_class_name(a, best));
    }
    y++;
    /* Two short lines: one long one lost its end at 80 columns. */
    tui_grid_text(g, y++, x, tw, ROLE_DIM, 0, "Left/Right: previous/next image");
    tui_grid_text(g, y++, x, tw, ROLE_DIM, 0, a->missed_only ? "m: every image" : "m: only the misclassified");
}

int samples_key(app *a, tui_action act)
{
    if (a->C <= 0 || !a->test)
        return act == ACT_MISSED ? (a->missed_only = !a->missed_only, H_REDRAW) : H_NONE;
    long n = samples_count(a);
    if (n <= 0)
        return H_NONE;
    long step = 0;
    switch (act) {
    case ACT_LEFT: step = -1; break;
    case ACT_RIGHT: step = 1; break;
    case ACT_PGUP: step = -10; break;
    case ACT_PGDN: step = 10; break;
    case ACT_HOME: a->sample = 0; step = a->missed_only && n > 0 && !missed(a, 0) ? 1 : 0; break;
    case ACT_END: a->sample = n - 1; step = a->missed_only && n > 0 && !missed(a, n - 1) ? -1 : 0; break;
    case ACT_MISSED:
        a->missed_only = !a->missed_only;
        step = a->missed_only && n > 0 && !missed(a, a->sample) ? 1 : 0;
        break;
    default: return H_NONE;
    }
    if (step && a->missed_only) {
        /* move |step| misclassified images in that direction */
        long dir = step > 0 ? 1 : -1, left = step > 0 ? step : -step, i = a->sample, found = a->sample;
        while (left > 0) {
            i += dir;
            if (i < 0 || i >= n)
                break;
            if (missed(a, i)) {
                found = i;
                left--;
            }
        }
        if (found == a->sample && left > 0)
            app_set_status(a, ROLE_DIM, "no more misclassified images that way");
        a->sample = found;
    } else {
        a->sample += step;
    }
    if (a->sample >= n)
        a->sample = n - 1;
    if (a->sample < 0)
        a->sample = 0;
    return H_REDRAW;
}

/* ---- 8 Summary ----------------------------------------------------------------------------------------- */

void summary_prepare(app *a)
{
    if (!(a->have_run && (a->run.parts & RUN_PART_CONFIG)))
        return;
    char key[64];
    snprintf(key, sizeof key, "%s/%d/%d/%d/%d", a->run.config.model, a->run.height, a->run.width, a->run.channels,
             a->run.classes);
    if (a->model_text && strcmp(key, a->model_text_for) == 0)
        return;
    free(a->model_text);
    a->model_text = NULL;
    vt_err err;
    train_config cfg = a->run.config;
    cfg.resize = 0; /* run.height is already the model's input */
    if (train_model_summary(&cfg, a->run.height, a->run.width, a->run.channels, a->run.classes, &a->model_text, NULL,
                            &err) != VT_OK) {
        free(a->model_text);
        a->model_text = strdup(err.msg);
    }
    snprintf(a->model_text_for, sizeof a->model_text_for, "%s", key);
}

/* The text shown: the run's model (summary_prepare), else the Setup screen's choice. */
static const char *summary_current(const app *a)
{
    if (a->have_run && (a->run.parts & RUN_PART_CONFIG))
        return a->model_text;
    return a->facts.summary;
}

void summary_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    const char *text = summary_current(a);
    if (!text) {
        tui_grid_text(g, body.top + 1, 2, body.width - 4, ROLE_DIM, 0,
                      a->live ? "loading the model..." : "no model yet: pick one on the Setup screen (1)");
        return;
    }
    tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD, "Model summary (%s)",
                    a->have_run ? a->run.config.model : a->cfg.model);
    tui_text_draw(g, (tui_rect){body.top + 1, 1, body.height - 1, body.width - 2}, text, a->text_top, ROLE_DEFAULT);
}

int summary_key(app *a, tui_action act)
{
    summary_prepare(a);
    /* Not past the last line (it used to scroll into blank pages). */
    return app_scroll(&a->text_top, act, app_count_lines(summary_current(a)), app_body_height(a) - 1);
}
