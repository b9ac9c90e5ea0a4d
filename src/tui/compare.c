/* tui/compare: screen 6, the runs of the runs directory (and the trials of the sweep folders in it): a table
 * and one chart of a validation metric; x marks two runs for the Diff screen, d shows it. */
#include <curses.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tui_internal.h"

/* ---- 6 Compare ----------------------------------------------------------------------------------------- */

#define CMP_MAX_SHOWN 8

void compare_free(app *a)
{
    for (int i = 0; i < a->cmp.n; i++)
        free(a->cmp.hist ? a->cmp.hist[i] : NULL);
    free(a->cmp.hist);
    free(a->cmp.hist_n);
    free(a->cmp.shown);
    free(a->cmp.runs);
    a->cmp.hist = NULL;
    a->cmp.hist_n = NULL;
    a->cmp.shown = NULL;
    a->cmp.runs = NULL;
    a->cmp.n = 0;
}

/* The table's height in rows (its header and the runs) for a body of body_h rows; the chart takes the rest. */
static int list_height(const app *a, int body_h)
{
    int list_h = a->cmp.n + 1 < body_h / 3 ? a->cmp.n + 1 : body_h / 3;
    return list_h < 4 ? 4 : list_h;
}

/* The table's first row for the selection and rows rows: the selection in view, and no empty rows below the
 * last run while runs above are scrolled off (a resize to a taller terminal left them scrolled). */
static int view_top(const app *a, int rows)
{
    int top = app_follow(a->cmp.top, a->cmp.sel, rows);
    if (top + rows > a->cmp.n)
        top = a->cmp.n - rows > 0 ? a->cmp.n - rows : 0;
    return top;
}

static void compare_load(app *a, int i)
{
    if (a->cmp.hist[i])
        return;
    run_data r;
    vt_err err;
    if (run_load(a->cmp.runs[i].path, RUN_PART_HISTORY, &r, &err) == VT_OK && r.n_history > 0) {
        a->cmp.hist[i] = r.history;
        a->cmp.hist_n[i] = r.n_history;
        r.history = NULL;
    }
    run_free(&r);
}

/* qsort order of the list: by name, so a sweep's trials ("lr/trial-001") sit where the sweep's name sorts. */
static int by_name(const void *x, const void *y)
{
    return strcmp(((const run_entry *)x)->name, ((const run_entry *)y)->name);
}

/* The runs of dir (run_list's) and the trials of each sweep folder in it (a folder with a sweep.json: its trials
 * are runs of that folder), those named "<sweep>/<trial>"; sorted by name. */
static int list_runs(const char *dir, run_entry **out, int *n, vt_err *err)
{
    int rc = run_list(dir, out, n, err), own = *n;
    DIR *d = rc == VT_OK ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char sub[VT_PATH_MAX], plan[VT_PATH_MAX + VT_PATH_EXTRA];
        if (e->d_name[0] == '.' || snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) >= (int)sizeof sub)
            continue;
        snprintf(plan, sizeof plan, "%s/%s", sub, SWEEP_PLAN);
        run_entry *trials = NULL;
        int m = 0;
        if (access(plan, F_OK) != 0 || run_list(sub, &trials, &m, err) != VT_OK || m == 0) {
            free(trials);
            continue;
        }
        run_entry *all = realloc(*out, sizeof *all * (size_t)(*n + m));
        if (!all) {
            free(trials);
            break;
        }
        for (int i = 0; i < m; i++) {
            char name[sizeof trials[i].name];
            snprintf(name, sizeof name, "%.100s/%.140s", e->d_name, trials[i].name);
            snprintf(trials[i].name, sizeof trials[i].name, "%s", name);
            all[*n + i] = trials[i];
        }
        *out = all;
        *n += m;
        free(trials);
    }
    if (d)
        closedir(d);
    if (rc == VT_OK && *n > own) /* trials were added: in run_list's order with the rest */
        qsort(*out, (size_t)*n, sizeof **out, by_name);
    return rc;
}

void compare_scan(app *a)
{
    /* A rescan (r, or the live run's new epoch) keeps the user's choice of runs on the chart. */
    int n_kept = 0;
    char (*kept)[256] = a->cmp.n > 0 ? calloc((size_t)a->cmp.n, sizeof *kept) : NULL;
    for (int i = 0; kept && i < a->cmp.n; i++)
        if (a->cmp.shown && a->cmp.shown[i])
            snprintf(kept[n_kept++], sizeof kept[0], "%s", a->cmp.runs[i].name);
    compare_free(a);
    vt_err err;
    const char *dir = a->opt.runs_dir ? a->opt.runs_dir : "runs";
    if (list_runs(dir, &a->cmp.runs, &a->cmp.n, &err) != VT_OK) {
        a->cmp.runs = NULL;
        a->cmp.n = 0;
        free(kept);
        return;
    }
    int n = a->cmp.n > 0 ? a->cmp.n : 1;
    a->cmp.hist = calloc((size_t)n, sizeof *a->cmp.hist);
    a->cmp.hist_n = calloc((size_t)n, sizeof *a->cmp.hist_n);
    a->cmp.shown = calloc((size_t)n, 1);
    if (!a->cmp.hist || !a->cmp.hist_n || !a->cmp.shown) {
        compare_free(a);
        free(kept);
        return;
    }
    /* The newest five with a finished epoch are on the chart to begin with (an empty run draws nothing and
     * would push one with a curve off it); their histories are read now, not while drawing. */
    for (int i = 0; i < a->cmp.n; i++)
        for (int k = 0; k < n_kept; k++)
            if (strcmp(a->cmp.runs[i].name, kept[k]) == 0) {
                a->cmp.shown[i] = 1;
                compare_load(a, i);
            }
    free(kept);
    /* ... and on the table too: at 80x24 it has 5 rows. The newest are the runs that wrote last (names need
     * not be stamps), taken newest first while they fit in the rows together with the ones taken; the newest
     * is selected, the table scrolled to show them all. */
    int rows = list_height(a, app_body_height(a)) - 1, newest = -1, lo = a->cmp.n, hi = -1;
    for (int k = 0; k < 5 && n_kept == 0; k++) {
        int best = -1;
        for (int i = 0; i < a->cmp.n; i++)
            if (a->cmp.runs[i].epochs_done > 0 && !a->cmp.shown[i] &&
                (best < 0 || a->cmp.runs[i].mtime > a->cmp.runs[best].mtime))
                best = i;
        if (best < 0)
            break;
        int l = best < lo ? best : lo, h = best > hi ? best : hi;
        if (h - l + 1 > rows) {
            a->cmp.shown[best] = 2; /* passed over: not chosen, not looked at again */
            k--;
            continue;
        }
        lo = l;
        hi = h;
        if (newest < 0)
            newest = best;
        a->cmp.shown[best] = 1;
        compare_load(a, best);
    }
    for (int i = 0; i < a->cmp.n; i++)
        a->cmp.shown[i] = a->cmp.shown[i] == 1;
    if (newest >= 0) {
        a->cmp.sel = newest;
        a->cmp.top = hi - rows + 1 > 0 ? hi - rows + 1 : 0;
        if (a->cmp.top > lo)
            a->cmp.top = lo;
    }
    if (a->cmp.sel >= a->cmp.n)
        a->cmp.sel = a->cmp.n > 0 ? a->cmp.n - 1 : 0;
    a->cmp.top = view_top(a, rows);
}

enum { CMP_METRICS = 4 };
static const char *const cmp_metric_name[CMP_METRICS] = {"val_acc", "val_loss", "val_mse", "val_top5"};

static double metric_of(const train_epoch *h, int metric)
{
    return metric == 0 ? h->val_acc : metric == 1 ? h->val_loss : metric == 2 ? h->val_mse : h->val_top5;
}

int compare_live_row(const app *a)
{
    const char *live = a->parked ? a->parked_dir : a->live ? a->dir : NULL;
    for (int i = 0; live && i < a->cmp.n; i++)
        if (strcmp(a->cmp.runs[i].path, live) == 0)
            return i + 1;
    return 0;
}

/* One row of the table into line: the wide form (from 100 columns) has the model and the seconds per epoch;
 * the narrow one leaves them out (the run's name ends with its model) so the state and both val_acc fit. */
static void format_row(const app *a, int i, int wide, int name_w, char *line, size_t size)
{
    const run_entry *e = &a->cmp.runs[i];
    char best[32], last[32], per[16], total[16], model[16] = "";
    if (e->epochs_done > 0) { /* "-" for a run with no finished epoch, not "nan" */
        snprintf(per, sizeof per, "%.0f", e->seconds / e->epochs_done);
        vt_fmt_eta(total, sizeof total, round(e->seconds)); /* 10.775 s is 11s, not 10s */
    } else {
        snprintf(per, sizeof per, "-");
        snprintf(total, sizeof total, "-");
    }
    if (wide)
        snprintf(model, sizeof model, " %-12.12s", e->model);
    int mark = diff_marked(a, e->path); /* A or B: marked for the Diff screen (x) */
    int n = snprintf(line, size, "[%c] %2d%c %-*.*s%s %-8.8s", a->cmp.shown[i] ? 'x' : ' ', i + 1, mark ? mark : ' ',
                     name_w, name_w, e->name, model, e->state[0] ? e->state : "-");
    if (wide)
        n += snprintf(line + n, size - (size_t)n, " %5s", per);
    snprintf(line + n, size - (size_t)n, " %6s %3d/%-3d %12s %12s", total, e->epochs_done, e->epochs,
             vt_fmt_metric(best, sizeof best, e->best_val_acc), vt_fmt_metric(last, sizeof last, e->last_val_acc));
}

void compare_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    const char *dir = a->opt.runs_dir ? a->opt.runs_dir : "runs";
    if (a->cmp.n == 0) {
        char line[4200];
        snprintf(line, sizeof line, "No runs in %s yet (r rescans).", dir);
        tui_grid_text(g, body.top + 1, 2, body.width - 4, ROLE_DIM, 0, line);
        return;
    }
    int list_h = list_height(a, body.height);
    int chart_h = body.height - list_h;
    static double ys[CMP_MAX_SHOWN][TRAIN_MAX_EPOCHS];
    static char names[CMP_MAX_SHOWN][48];
    tui_series s[CMP_MAX_SHOWN];
    static const char markers[CMP_MAX_SHOWN] = {'*', 'o', '+', 'x', '#', '@', '%', '&'};
    int n = 0;
    for (int i = 0; i < a->cmp.n && n < CMP_MAX_SHOWN; i++) {
        if (!a->cmp.shown[i])
            continue;
        int m = a->cmp.hist_n[i] < TRAIN_MAX_EPOCHS ? a->cmp.hist_n[i] : TRAIN_MAX_EPOCHS;
        for (int e = 0; e < m; e++)
            ys[n][e] = metric_of(&a->cmp.hist[i][e], a->cmp.metric);
        snprintf(names[n], sizeof names[n], "%d:%s", i + 1, a->cmp.runs[i].model);
        s[n] = (tui_series){names[n], NULL, ys[n], m, ROLE_SERIES0 + n, markers[n]};
        n++;
    }
    char title[96];
    snprintf(title, sizeof title, "%s per epoch (m: metric)", cmp_metric_name[a->cmp.metric]);
    tui_chart c = {title, s, n, 0, 0, 0, 0, 0, 0, a->cmp.metric == 2 ? 4 : 3, 1, 1, "epoch", 1};
    tui_chart_draw(g, (tui_rect){body.top, 0, chart_h, body.width}, &c, app_chart_utf8(a));
    int y = body.top + chart_h;
    /* The run's name takes what the fixed columns leave: its first 17 characters, the UTC stamp, are what
     * tells runs apart. The state tells a live run from a killed and a finished one. */
    int wide = body.width >= 100;
    int name_w = body.width - 2 - (wide ? 78 : 58);
    name_w = name_w < 17 ? 17 : name_w > 40 ? 40 : name_w;
    char line[512];
    int n_head = snprintf(line, sizeof line, "     #  %-*s%s %-8s", name_w, "run", wide ? " model       " : "", "state");
    if (wide)
        n_head += snprintf(line + n_head, sizeof line - (size_t)n_head, " %5s", "s/ep");
    snprintf(line + n_head, sizeof line - (size_t)n_head, " %6s %7s %12s %12s", "total", "epochs", "best val_acc",
             "last val_acc");
    tui_grid_text(g, y++, 1, body.width - 2, ROLE_HEADER, 0, line);
    int rows = list_h - 1, top = view_top(a, rows); /* the keys keep cmp.top */
    for (int k = 0; k < rows && top + k < a->cmp.n; k++) {
        int i = top + k;
        const run_entry *e = &a->cmp.runs[i];
        int role = i == a->cmp.sel ? ROLE_SELECT : strcmp(e->path, a->dir) == 0 ? ROLE_VALUE
                   : a->parked && strcmp(e->path, a->parked_dir) == 0 ? ROLE_GOOD : ROLE_DEFAULT;
        format_row(a, i, wide, name_w, line, sizeof line);
        tui_grid_text(g, y++, 1, body.width - 2, role, 0, line);
    }
}

/* d: the Diff screen of the two marked runs; with one marked, of it and the selected run (marked then). */
static int open_diff(app *a)
{
    const char *sel = a->cmp.runs[a->cmp.sel].path;
    if (a->dif.n_marked == 1 && !diff_marked(a, sel))
        diff_mark(a, sel);
    if (a->dif.n_marked < 2) {
        app_set_status(a, ROLE_WARN, "mark two runs with x (A, then B), or one and select another, then d");
        return H_REDRAW;
    }
    a->dif.stale = 1; /* read afresh: the runs may have evaluated since */
    return H_REDRAW | H_DIFF;
}

int compare_key(app *a, int key, tui_action act)
{
    (void)key;
    if (act == ACT_REFRESH) {
        compare_scan(a);
        app_set_status(a, ROLE_DIM, "%d runs", a->cmp.n);
        return H_REDRAW;
    }
    if (act == ACT_METRIC) {
        a->cmp.metric = (a->cmp.metric + 1) % CMP_METRICS;
        return H_REDRAW;
    }
    if (a->cmp.n == 0)
        return H_NONE;
    int rows = list_height(a, app_body_height(a)) - 1, page = rows;
    if (app_list_move(&a->cmp.sel, act, a->cmp.n, page)) {
        a->cmp.top = view_top(a, rows);
        return H_REDRAW;
    }
    switch (act) {
    case ACT_TOGGLE: {
        int shown = 0;
        for (int i = 0; i < a->cmp.n; i++)
            shown += a->cmp.shown[i];
        if (!a->cmp.shown[a->cmp.sel] && shown >= CMP_MAX_SHOWN)
            app_set_status(a, ROLE_WARN, "at most %d runs on the chart", CMP_MAX_SHOWN);
        else
            a->cmp.shown[a->cmp.sel] = !a->cmp.shown[a->cmp.sel];
        if (a->cmp.shown[a->cmp.sel])
            compare_load(a, a->cmp.sel);
        break;
    }
    case ACT_MARK: diff_mark(a, a->cmp.runs[a->cmp.sel].path); break;
    case ACT_DIFF: return open_diff(a);
    case ACT_ENTER: {
        const run_entry *e = &a->cmp.runs[a->cmp.sel];
        if (a->parked && strcmp(e->path, a->parked_dir) == 0) {
            app_return_live(a);
            return H_REDRAW | H_DASHBOARD;
        }
        if (a->live && strcmp(e->path, a->dir) == 0)
            return H_REDRAW | H_DASHBOARD;
        /* Another run, even while this process trains one: its files are shown read-only and the live run
         * trains on, parked (Enter on its row brings it back). */
        vt_err err;
        char path[VT_PATH_MAX];
        snprintf(path, sizeof path, "%s", e->path);
        if (app_browse(a, path, &err) != VT_OK) {
            app_set_status(a, ROLE_BAD, "%s", err.msg);
            return H_REDRAW;
        }
        if (a->parked)
            app_set_status(a, ROLE_GOOD, "opened %s; the live run trains on (Enter on its row, %d, returns)", path,
                           compare_live_row(a));
        else
            app_set_status(a, ROLE_GOOD, "opened %s", path);
        return H_REDRAW | H_DASHBOARD; /* the app switches; a screen never does */
    }
    default: return H_NONE;
    }
    a->cmp.top = view_top(a, rows);
    return H_REDRAW;
}
