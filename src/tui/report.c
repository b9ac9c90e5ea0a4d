/* tui/report: screen 3, the per-class classification report: sortable, searchable, with the averages pinned,
 * each class's F1 (or recall) marked up or down since the previous epoch; v turns it into a class x epoch
 * heatmap of F1 or recall (m) from per_class.csv, its rows in the table's order. */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tui_internal.h"

/* ---- 3 Report ------------------------------------------------------------------------------------------ */

/* The last two in the vs mode (c) only: the other run's F1 and this run's minus it. */
static const tui_column rep_cols[REPORT_COLS] = {
    {"#", 3, 1},        {"class", 20, 0},   {"precision", 9, 1}, {"recall", 9, 1},
    {"f1-score", 9, 1}, {"support", 8, 1},  {"f1 vs", 8, 1},     {"change", 8, 1},
};

static int rep_ncols(const app *a) { return a->rpt.versus ? REPORT_COLS : 6; }

/* The other run's F1 of class cls (the vs mode). */
static double other_f1(const app *a, int cls) { return a->vs.rep.rows[cls].f1; }

static const app *sort_app; /* qsort has no context argument */

static double rep_value(const app *a, int row, int col)
{
    const class_scores *c = &a->rep.rows[row];
    switch (col) {
    case 2: return c->precision;
    case 3: return c->recall;
    case 4: return c->f1;
    case 5: return (double)c->support;
    case 6: return other_f1(a, a->rep.labels[row]);
    case 7: return c->f1 - other_f1(a, a->rep.labels[row]);
    default: return a->rep.labels[row];
    }
}

static int rep_cmp(const void *pa, const void *pb)
{
    const app *a = sort_app;
    int ra = *(const int *)pa, rb = *(const int *)pb, r;
    if (a->rpt.sort == 1) {
        r = strcasecmp(app_class_name(a, a->rep.labels[ra]), app_class_name(a, a->rep.labels[rb]));
    } else {
        double x = rep_value(a, ra, a->rpt.sort), y = rep_value(a, rb, a->rpt.sort);
        r = x < y ? -1 : x > y ? 1 : 0;
    }
    if (a->rpt.desc)
        r = -r;
    return r ? r : ra - rb;
}

static void rep_sort_rows(app *a)
{
    if (!a->have_rep || !a->rpt.order)
        return;
    sort_app = a;
    qsort(a->rpt.order, (size_t)a->rep.n_labels, sizeof *a->rpt.order, rep_cmp);
    a->rpt.dirty = 1; /* the heatmap's rows follow the table's */
}

/* ---- the history: per_class.csv ---- */

void report_free_history(app *a)
{
    free(a->rpt.f1);
    free(a->rpt.recall);
    free(a->rpt.heat);
    free(a->rpt.trend);
    free(a->rpt.labels);
    a->rpt.f1 = a->rpt.recall = a->rpt.heat = NULL;
    a->rpt.trend = NULL;
    a->rpt.labels = NULL;
    a->rpt.epochs = a->rpt.classes = 0;
}

void report_load_history(app *a)
{
    int was_last = a->rpt.heat_col >= a->rpt.epochs - 1; /* the cursor on the latest epoch stays on the latest */
    report_free_history(a);
    a->rpt.dirty = 1;
    run_class_row *rows = NULL;
    long n = 0;
    vt_err err;
    a->rpt.err[0] = '\0';
    if (!a->dir[0])
        return;
    if (run_read_per_class(a->dir, &rows, &n, &err) != VT_OK) {
        snprintf(a->rpt.err, sizeof a->rpt.err, "%s", err.msg);
        return;
    }
    int E = 0, C = 0;
    for (long i = 0; i < n; i++) {
        E = rows[i].epoch > E ? rows[i].epoch : E;
        C = rows[i].cls + 1 > C ? rows[i].cls + 1 : C;
    }
    size_t cells = (size_t)E * (size_t)C;
    a->rpt.f1 = malloc(sizeof *a->rpt.f1 * (cells ? cells : 1));
    a->rpt.recall = malloc(sizeof *a->rpt.recall * (cells ? cells : 1));
    if (n > 0 && a->rpt.f1 && a->rpt.recall) {
        for (size_t i = 0; i < cells; i++)
            a->rpt.f1[i] = a->rpt.recall[i] = NAN;
        for (long i = 0; i < n; i++) {
            size_t at = (size_t)(rows[i].epoch - 1) * (size_t)C + (size_t)rows[i].cls;
            a->rpt.f1[at] = rows[i].f1;
            a->rpt.recall[at] = rows[i].recall;
        }
        a->rpt.epochs = E;
        a->rpt.classes = C;
    }
    free(rows);
    if (was_last || a->rpt.heat_col >= E)
        a->rpt.heat_col = E > 0 ? E - 1 : 0;
}

/* A class's score after epoch (1-based) in the metric shown, NaN when per_class.csv has none. */
static double pc_score(const app *a, int epoch, int cls)
{
    if (epoch < 1 || epoch > a->rpt.epochs || cls < 0 || cls >= a->rpt.classes)
        return NAN;
    return (a->rpt.show_recall ? a->rpt.recall : a->rpt.f1)[(size_t)(epoch - 1) * (size_t)a->rpt.classes + (size_t)cls];
}

/* A score as the table shows it; with trends, followed by the mark (or a blank), so the column stays aligned. */
static void score_cell(const app *a, char *buf, size_t size, double v, int trend, int marked)
{
    const char *mark = trend > 0 ? (a->utf8 ? "\u25b2" : "^") : trend < 0 ? (a->utf8 ? "\u25bc" : "v") : " ";
    if (marked)
        snprintf(buf, size, "%.4f %s", v, mark);
    else
        snprintf(buf, size, "%.4f", v);
}

void report_free(app *a)
{
    free(a->rpt.order);
    free(a->rpt.text);
    free(a->rpt.cells);
    free(a->rpt.roles);
    a->rpt.order = NULL;
    a->rpt.text = NULL;
    a->rpt.cells = NULL;
    a->rpt.roles = NULL;
}

void report_close(app *a)
{
    report_free(a);
    report_free_history(a);
}

void report_reset(app *a, int classes_changed)
{
    (void)classes_changed; /* the table is sized for every new report */
    report_free(a);
    if (!a->have_rep)
        return;
    /* Everything the table needs, sized once per report (the draw used to malloc it every frame). */
    size_t n = (size_t)(a->rep.n_labels > 0 ? a->rep.n_labels : 1);
    a->rpt.order = malloc(sizeof *a->rpt.order * n);
    a->rpt.text = malloc(sizeof *a->rpt.text * n);
    a->rpt.cells = malloc(sizeof *a->rpt.cells * REPORT_COLS * n);
    a->rpt.roles = malloc(sizeof *a->rpt.roles * n);
    if (!a->rpt.order || !a->rpt.text || !a->rpt.cells || !a->rpt.roles) {
        report_free(a);
        return;
    }
    for (int i = 0; i < a->rep.n_labels; i++)
        a->rpt.order[i] = i;
    rep_sort_rows(a);
    if (a->rpt.sel >= a->rep.n_labels)
        a->rpt.sel = a->rep.n_labels - 1;
    if (a->rpt.sel < 0)
        a->rpt.sel = 0;
}

/* Rebuilds what the heatmap and the trend marks show, after a load, a sort or m (never in the draw). */
static void history_build(app *a)
{
    free(a->rpt.heat);
    free(a->rpt.trend);
    free(a->rpt.labels);
    a->rpt.heat = NULL;
    a->rpt.trend = NULL;
    a->rpt.labels = NULL;
    if (!a->have_rep || !a->rpt.order || a->rpt.epochs < 1)
        return;
    int n = a->rep.n_labels, E = a->rpt.epochs;
    a->rpt.heat = malloc(sizeof *a->rpt.heat * (size_t)(n > 0 ? n : 1) * (size_t)E);
    a->rpt.trend = calloc((size_t)(n > 0 ? n : 1), sizeof *a->rpt.trend);
    a->rpt.labels = malloc(sizeof *a->rpt.labels * (size_t)(n > 0 ? n : 1));
    if (!a->rpt.heat || !a->rpt.trend || !a->rpt.labels) {
        report_free_history(a);
        return;
    }
    for (int i = 0; i < n; i++) {
        int cls = a->rep.labels[a->rpt.order[i]];
        a->rpt.labels[i] = app_class_name(a, cls);
        for (int e = 0; e < E; e++) {
            double v = pc_score(a, e + 1, cls);
            a->rpt.heat[(size_t)i * (size_t)E + (size_t)e] = isnan(v) ? 0 : v;
        }
        /* Up or down by at least the table's last digit: 0.4000 to 0.4000 is no change. */
        double now = pc_score(a, E, cls), before = pc_score(a, E - 1, cls);
        a->rpt.trend[i] = now > before + 5e-5 ? 1 : now < before - 5e-5 ? -1 : 0;
    }
}

/* Whether the table marks each class up or down since the previous epoch. */
static int rep_marked(const app *a) { return a->rpt.trend && a->rpt.epochs >= 2; }

/* The table's texts and roles, in display order, with the trend marks (never in the draw). */
static void table_build(app *a)
{
    const report *r = &a->rep;
    int n = r->n_labels;
    char(*text)[REPORT_COLS][24] = a->rpt.text;
    int nc = rep_ncols(a);
    const char **cells = a->rpt.cells;
    int *roles = a->rpt.roles;
    double macro = r->macro.f1;
    int marked = rep_marked(a);
    for (int i = 0; i < n; i++) {
        int row = a->rpt.order[i];
        const class_scores *c = &r->rows[row];
        snprintf(text[i][0], 24, "%d", r->labels[row]);
        snprintf(text[i][1], 24, "%s", app_class_name(a, r->labels[row]));
        snprintf(text[i][2], 24, "%.4f", c->precision);
        int trend = marked ? a->rpt.trend[i] : 0;
        score_cell(a, text[i][3], 24, c->recall, trend, marked && a->rpt.show_recall);
        score_cell(a, text[i][4], 24, c->f1, trend, marked && !a->rpt.show_recall);
        snprintf(text[i][5], 24, "%ld", c->support);
        if (a->rpt.versus) {
            snprintf(text[i][6], 24, "%.4f", other_f1(a, r->labels[row]));
            snprintf(text[i][7], 24, "%+.4f", c->f1 - other_f1(a, r->labels[row]));
        }
        for (int k = 0; k < nc; k++)
            cells[i * nc + k] = text[i][k];
        /* weak: F1 below half the macro F1; strong: above the midpoint between the macro F1 and 1 */
        roles[i] = c->f1 < 0.5 * macro ? ROLE_BAD : c->f1 > (macro + 1) / 2 ? ROLE_GOOD : ROLE_DEFAULT;
    }
}

static int rep_visible(const app *a) { return app_body_height(a) - 1 - 1 - 4; }

#define HEAT_LABEL 16 /* the class names' columns */

/* The heatmap in body: its cells' width, the rows and columns that fit (*vis_r, *vis_c) and its first row and
 * column moved to show the cursor (the keys keep them; the draw uses this copy). */
static tui_heatmap heat_fit(const app *a, tui_rect body, int *vis_r, int *vis_c)
{
    int E = a->rpt.epochs, n = a->rep.n_labels, avail = body.width - 2 - HEAT_LABEL - 1, height = body.height - 4;
    int cw = E * 3 <= avail ? 3 : E * 2 <= avail ? 2 : 1;
    *vis_r = n < height ? n : height;
    *vis_c = E < avail / cw ? E : avail / cw;
    tui_heatmap h = {a->rpt.heat, n, E, 1, a->rpt.sel, a->rpt.heat_col, a->rpt.heat_row0, a->rpt.heat_col0,
                     a->rpt.labels, HEAT_LABEL, cw, 0, 0, 0};
    tui_heatmap_follow(&h, *vis_r, *vis_c);
    return h;
}

/* Keeps the cursor inside the table and visible in the table and the heatmap (after a key, and on enter:
 * a resize or a new report). */
static void rep_follow(app *a)
{
    int n = a->rep.n_labels;
    if (a->rpt.sel >= n)
        a->rpt.sel = n - 1;
    if (a->rpt.sel < 0)
        a->rpt.sel = 0;
    a->rpt.top = app_follow(a->rpt.top, a->rpt.sel, rep_visible(a));
    if (a->rpt.heat) {
        int vis_r, vis_c;
        tui_heatmap h = heat_fit(a, (tui_rect){app_body_top(a), 0, app_body_height(a), a->cols}, &vis_r, &vis_c);
        a->rpt.heat_row0 = h.row0;
        a->rpt.heat_col0 = h.col0;
    }
}

/* Rebuilds what the screen shows when dirty, and keeps the cursor in view. */
void report_enter(app *a)
{
    /* The vs mode: the other run's columns when it is on and the other run could be read (its load's gen). */
    int versus = a->have_rep && a->vs.on_report && versus_ready(a);
    if (versus != a->rpt.versus || (versus && a->vs.gen != a->rpt.versus_gen)) {
        a->rpt.versus = versus;
        a->rpt.versus_gen = a->vs.gen;
        if (a->rpt.sort >= rep_ncols(a))
            a->rpt.sort = 4;
        rep_sort_rows(a);
    }
    if (a->rpt.dirty) {
        a->rpt.dirty = 0;
        history_build(a);
        if (a->have_rep && a->rpt.order)
            table_build(a);
    }
    if (a->have_rep && a->rpt.order)
        rep_follow(a);
}

/* v: one row per class (the table's order and selection), one column per epoch, the cursor in words above
 * it, the epochs numbered over the columns and the scale under them. */
static void heat_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    const char *metric = a->rpt.show_recall ? "recall" : "F1";
    tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD, "History: %s per class and epoch, sorted by %s%s",
                    metric, rep_cols[a->rpt.sort].title, a->rpt.desc ? " (desc)" : "");
    int E = a->rpt.epochs, n = a->rep.n_labels;
    if (!a->rpt.heat || E < 1 || n < 1) {
        app_draw_wrapped(g, (tui_rect){body.top + 2, 2, 4, body.width - 4},
                         a->rpt.err[0] ? a->rpt.err
                                      : "No per-class history: per_class.csv is written after each epoch's evaluation "
                                        "(runs made before vggtop kept it have none). v shows the table.",
                         a->rpt.err[0] ? ROLE_BAD : ROLE_DIM);
        return;
    }
    int cls = a->rep.labels[a->rpt.order[a->rpt.sel]], col = a->rpt.heat_col, vis_r, vis_c;
    double v = pc_score(a, col + 1, cls), before = pc_score(a, col, cls);
    char now[32] = "-", prev[64] = "";
    if (!isnan(v))
        snprintf(now, sizeof now, "%.4f", v);
    if (!isnan(v) && !isnan(before))
        snprintf(prev, sizeof prev, " (%+.4f since epoch %d)", v - before, col);
    tui_grid_printf(g, body.top + 1, 1, body.width - 2, ROLE_VALUE, 0, "%s, epoch %d: %s %s%s", app_class_name(a, cls),
                    col + 1, metric, now, prev);
    tui_rect hr = {body.top + 3, 1, body.height - 4, body.width - 2};
    tui_heatmap h = heat_fit(a, body, &vis_r, &vis_c);
    int cw = h.cell_width;
    tui_heatmap_draw(g, hr, &h, a->depth, &vis_r, &vis_c);
    /* The epochs over their columns: every 1st, 2nd, 5th, 10th, ... as the numbers fit, and the cursor's. */
    static const int steps[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
    char num[16];
    int x0 = hr.left + HEAT_LABEL + 1, len = snprintf(num, sizeof num, "%d", E), step = 1;
    for (int k = 0; k < 10 && steps[k] * cw < len + 1; k++)
        step = steps[k + 1 < 10 ? k + 1 : k];
    tui_grid_text(g, body.top + 2, hr.left, HEAT_LABEL, ROLE_DIM, 0, "epoch");
    for (int j = 0; j < vis_c; j++) {
        int e = h.col0 + j;
        if ((e + 1) % step == 0 || e == 0)
            tui_grid_printf(g, body.top + 2, x0 + j * cw, len, ROLE_DIM, 0, "%d", e + 1);
    }
    tui_grid_printf(g, body.top + 2, x0 + (col - h.col0) * cw, len, ROLE_CURSOR, 0, "%d", col + 1);
    /* The scale: the nine levels from 0 to 1. */
    static const double levels[9] = {0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5};
    tui_heatmap scale = {levels, 1, 9, 9, -1, -1, 0, 0, NULL, 0, 2, 0, 0, 0};
    int bottom = body.top + body.height - 1;
    tui_grid_text(g, bottom, 1, 2, ROLE_DIM, 0, "0");
    tui_heatmap_draw(g, (tui_rect){bottom, 3, 1, 18}, &scale, a->depth, NULL, NULL);
    tui_grid_printf(g, bottom, 22, body.width - 23, ROLE_DIM, 0, "1   %s; Left/Right: epoch, m: %s, v: the table", metric,
                    a->rpt.show_recall ? "F1" : "recall");
}

/* The vs mode's words at the title's right end: which run the F1 vs column is, or why there is none; returns
 * the columns used (at most half the row). */
static int versus_title(app *a, tui_rect body)
{
    char line[sizeof a->vs.err + 16];
    if (a->rpt.versus)
        snprintf(line, sizeof line, "vs %s", a->vs.dir);
    else
        snprintf(line, sizeof line, "vs: %s", a->vs.err);
    int w = app_text_columns(line), room = body.width / 2;
    w = w < room ? w : room;
    return app_draw_tail(a, body.top, body.left + body.width - 1 - w, w, a->rpt.versus ? ROLE_VALUE : ROLE_BAD,
                         TUI_BOLD, line);
}

void report_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    if (!a->have_rep || !a->rpt.order) {
        app_no_data(a, body, "Report");
        return;
    }
    if (a->rpt.heatmap) {
        heat_draw(a, body);
        return;
    }
    const report *r = &a->rep;
    int n = r->n_labels;
    /* Which weights made the predictions (accuracy is pinned below): training rewrites them after every epoch,
     * vggtop evaluate --best with best.bin's; predictions.json says which (without it: the last epoch). */
    int epoch = a->run.pred_epoch < 0 ? a->snap->epochs_done : a->run.pred_epoch;
    long batch = a->run.pred_epoch < 0 ? 0 : a->run.pred_batch;
    char which[64] = "";
    if (batch > 0)
        snprintf(which, sizeof which, " (epoch %d + %ld batches)", epoch, batch);
    else if (epoch > 0)
        snprintf(which, sizeof which, " (epoch %d)", epoch);
    int vs_w = a->vs.on_report ? versus_title(a, body) + 2 : 0;
    tui_grid_printf(g, body.top, 1, body.width - 2 - vs_w, ROLE_TITLE, TUI_BOLD,
                    "Report: %d classes, %ld images%s, sorted by %s%s", n, r->total, which, rep_cols[a->rpt.sort].title,
                    a->rpt.desc ? " (desc)" : "");
    int marked = rep_marked(a);
    char pin[3][REPORT_COLS][24];
    snprintf(pin[0][1], 24, "accuracy");
    pin[0][0][0] = pin[0][2][0] = pin[0][3][0] = '\0';
    score_cell(a, pin[0][4], 24, r->accuracy, 0, marked && !a->rpt.show_recall);
    snprintf(pin[0][5], 24, "%ld", r->total);
    const class_scores *avg[2] = {&r->macro, &r->weighted};
    for (int k = 0; k < 2; k++) {
        pin[k + 1][0][0] = '\0';
        snprintf(pin[k + 1][1], 24, "%s", k ? "weighted avg" : "macro avg");
        snprintf(pin[k + 1][2], 24, "%.4f", avg[k]->precision);
        score_cell(a, pin[k + 1][3], 24, avg[k]->recall, 0, marked && a->rpt.show_recall);
        score_cell(a, pin[k + 1][4], 24, avg[k]->f1, 0, marked && !a->rpt.show_recall);
        snprintf(pin[k + 1][5], 24, "%ld", avg[k]->support);
    }
    int nc = rep_ncols(a);
    double other[3] = {a->vs.rep.accuracy, a->vs.rep.macro.f1, a->vs.rep.weighted.f1},
           mine[3] = {r->accuracy, r->macro.f1, r->weighted.f1};
    for (int k = 0; a->rpt.versus && k < 3; k++) {
        snprintf(pin[k][6], 24, "%.4f", other[k]);
        snprintf(pin[k][7], 24, "%+.4f", mine[k] - other[k]);
    }
    const char *pinned[3 * REPORT_COLS];
    for (int i = 0; i < 3 * nc; i++)
        pinned[i] = pin[i / nc][i % nc];
    tui_table t = {rep_cols, nc, a->rpt.cells, a->rpt.roles, n, pinned, 3, a->rpt.sort, a->rpt.desc, a->rpt.top,
                   a->rpt.sel};
    app_draw_table(a, (tui_rect){body.top + 1, 1, body.height - 1, body.width - 2}, t);
}

/* The class name at display position i (the search's). */
static const char *rep_name_at(const app *a, int i) { return app_class_name(a, a->rep.labels[a->rpt.order[i]]); }

int report_key(app *a, int key, tui_action act)
{
    if (!a->have_rep || !a->rpt.order) {
        a->rpt.search.on = 0;
        return H_NONE;
    }
    if (a->rpt.search.on) {
        app_search_key(a, &a->rpt.search, key, &a->rpt.sel, a->rep.n_labels, rep_name_at);
        rep_follow(a);
        return H_REDRAW;
    }
    int page = rep_visible(a) > 1 ? rep_visible(a) - 1 : 1;
    if (app_list_move(&a->rpt.sel, act, a->rep.n_labels, page)) {
        rep_follow(a);
        return H_REDRAW;
    }
    switch (act) {
    case ACT_SORT:
        a->rpt.sort = (a->rpt.sort + 1) % rep_ncols(a);
        a->rpt.desc = a->rpt.sort >= 2; /* numbers: the largest first */
        rep_sort_rows(a);
        break;
    case ACT_REVERSE:
        a->rpt.desc = !a->rpt.desc;
        rep_sort_rows(a);
        break;
    case ACT_VIEW: a->rpt.heatmap = !a->rpt.heatmap; break;
    case ACT_VERSUS:
        versus_toggle(a, &a->vs.on_report);
        report_enter(a);
        break;
    case ACT_METRIC:
        a->rpt.show_recall = !a->rpt.show_recall;
        a->rpt.dirty = 1;
        break;
    case ACT_LEFT:
    case ACT_RIGHT:
        if (!a->rpt.heatmap)
            return H_NONE;
        a->rpt.heat_col += act == ACT_LEFT ? -1 : 1;
        if (a->rpt.heat_col >= a->rpt.epochs)
            a->rpt.heat_col = a->rpt.epochs - 1;
        if (a->rpt.heat_col < 0)
            a->rpt.heat_col = 0;
        break;
    case ACT_SEARCH: app_search_start(&a->rpt.search, a->rpt.sel); break;
    case ACT_SEARCH_NEXT: app_search_next(a, &a->rpt.search, &a->rpt.sel, a->rep.n_labels, rep_name_at); break;
    default: return H_NONE;
    }
    rep_follow(a);
    return H_REDRAW;
}
