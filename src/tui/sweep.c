/* tui/sweep: screen 10, a sweep's live leaderboard (vggtop watch SWEEP_DIR): a row per trial (its number, the
 * swept values, the best val_acc and its epoch, the state, the time; the rows and their sort are train's
 * sweep_board, the ones `vggtop sweep --status` prints), sortable by any column (s, r), Enter opening the
 * trial's run on the Dashboard; under it a panel per swept setting with a point per trial (x its value, y its
 * best val_acc), so which value mattered shows at a glance. The folder is read by sweep_poll about once a
 * second (train writes sweep.json and each trial's history atomically), never in a draw; the trials that ended
 * since the last look are told to the alerts (--notify, --on-event). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui_internal.h"
#include "vggtop/plot.h"

static void free_view(sweep_view *v)
{
    free(v->rows);
    free(v->text);
    free(v->cells);
    free(v->roles);
    for (int a = 0; a < SWEEP_MAX_AXES; a++) {
        free(v->panels[a].x);
        v->panels[a].x = v->panels[a].y = NULL;
        v->panels[a].n = 0;
    }
    v->rows = NULL;
    v->text = NULL;
    v->cells = NULL;
    v->roles = NULL;
    v->n = 0;
    if (v->have_plan)
        sweep_plan_free(&v->plan);
    v->have_plan = 0;
}

void sweep_close(app *a) { free_view(&a->swp); }

int sweep_open(app *a, const char *dir)
{
    char plan[VT_PATH_MAX + 32];
    snprintf(plan, sizeof plan, "%s/%s", dir, SWEEP_PLAN);
    if (access(plan, F_OK) != 0)
        return 0;
    free_view(&a->swp);
    snprintf(a->swp.dir, sizeof a->swp.dir, "%s", dir);
    a->swp.sort = -1; /* the best val_acc's column, once the plan says where it is */
    a->swp.desc = 1;
    a->swp.sel = a->swp.top = 0;
    a->swp.next = 0;
    a->swp.err[0] = '\0';
    sweep_poll(a, vt_now());
    return 1;
}

/* The folder's plan and rows into fresh memory, sorted as shown; VT_OK, or the error of sweep.json. */
static int read_folder(sweep_view *v, sweep_plan *p, sweep_row **rows, vt_err *err)
{
    sweep_state *states;
    int rc = sweep_load(v->dir, p, &states, err);
    if (rc != VT_OK)
        return rc;
    *rows = malloc(sizeof **rows * (size_t)p->trials);
    if (!*rows) {
        free(states);
        sweep_plan_free(p);
        return vt_fail(err, VT_EIO, "out of memory");
    }
    for (int t = 0; t < p->trials; t++)
        sweep_row_read(v->dir, t, states[t], &(*rows)[t]);
    free(states);
    if (v->sort < 0 || v->sort >= SWEEP_COLS(p->n_axes)) /* the first look, or a plan of fewer columns */
        v->sort = SWEEP_COL_BEST(p->n_axes);
    sweep_rows_sort(*rows, p->trials, p, v->sort, v->desc);
    return VT_OK;
}

/* The trials that ended since the last look (the shown rows are the last look's) and, when they were the last,
 * the sweep's end: told by the alerts (--notify, --on-event) as vggtop sweep tells them. */
static void tell_ends(app *a, const sweep_plan *p, const sweep_row *rows, int n)
{
    const sweep_view *v = &a->swp;
    int ended = 0, open = 0;
    for (int i = 0; i < n; i++) {
        sweep_state before = SWEEP_PENDING;
        for (int k = 0; k < v->n; k++)
            if (v->rows[k].t == rows[i].t)
                before = v->rows[k].state;
        int was_open = before == SWEEP_PENDING || before == SWEEP_RUNNING;
        open += rows[i].state == SWEEP_PENDING || rows[i].state == SWEEP_RUNNING;
        notify_event e;
        if (was_open && sweep_trial_event(p, &rows[i], 0, &e)) {
            alerts_tell(a, &e, rows[i].t);
            ended++;
        }
    }
    notify_event e;
    if (ended && !open) {
        sweep_end_event(v->dir, p, rows, n, &e);
        alerts_tell(a, &e, -1);
    }
}

int sweep_poll(app *a, double now)
{
    sweep_view *v = &a->swp;
    if (!v->dir[0] || now < v->next)
        return 0;
    v->next = now + 1;
    sweep_plan p;
    sweep_row *rows;
    vt_err err;
    if (read_folder(v, &p, &rows, &err) != VT_OK) {
        int changed = strcmp(v->err, err.msg) != 0;
        snprintf(v->err, sizeof v->err, "%s", err.msg); /* the last rows read stay shown */
        return changed;
    }
    int changed = v->err[0] || !v->have_plan || p.trials != v->n || memcmp(rows, v->rows, sizeof *rows * (size_t)v->n);
    int trial = v->n > 0 && v->sel < v->n ? v->rows[v->sel].t : -1;
    v->err[0] = '\0';
    if (!changed) {
        sweep_plan_free(&p);
        free(rows);
        return 0;
    }
    if (v->have_plan)
        tell_ends(a, &p, rows, p.trials);
    int sort = v->sort, desc = v->desc, top = v->top;
    free_view(v);
    v->plan = p;
    v->have_plan = 1;
    v->rows = rows;
    v->n = p.trials;
    v->sort = sort;
    v->desc = desc;
    v->top = top;
    v->sel = 0;
    for (int i = 0; i < v->n; i++) /* the cursor stays on its trial */
        if (v->rows[i].t == trial)
            v->sel = i;
    v->dirty = 1;
    return 1;
}

/* Trial row r's texts into its cells: trial, values, best val_acc, its epoch, state (with epochs), time. */
static void row_texts(const sweep_view *v, const sweep_row *r, char (*text)[SWEEP_TEXT])
{
    int k = 0, n_axes = v->plan.n_axes;
    snprintf(text[k++], SWEEP_TEXT, "%d", r->t + 1);
    for (int a = 0; a < n_axes; a++)
        sweep_value(&v->plan, r->t, a, text[k++], SWEEP_TEXT);
    if (r->epochs > 0) {
        snprintf(text[k++], SWEEP_TEXT, "%.4f", r->best);
        snprintf(text[k++], SWEEP_TEXT, "%d", r->best_epoch);
    } else {
        snprintf(text[k++], SWEEP_TEXT, "-");
        snprintf(text[k++], SWEEP_TEXT, "-");
    }
    if (r->of > 0) /* the epochs done of the run's --epochs */
        snprintf(text[k++], SWEEP_TEXT, "%s %d/%d", sweep_state_names[r->state], r->epochs, r->of);
    else if (r->epochs > 0)
        snprintf(text[k++], SWEEP_TEXT, "%s %d", sweep_state_names[r->state], r->epochs);
    else
        snprintf(text[k++], SWEEP_TEXT, "%s", sweep_state_names[r->state]);
    if (r->epochs > 0)
        vt_fmt_eta(text[k], SWEEP_TEXT, round(r->seconds));
    else
        snprintf(text[k], SWEEP_TEXT, "-");
}

static int state_role(sweep_state s)
{
    return s == SWEEP_DONE ? ROLE_DEFAULT : s == SWEEP_RUNNING ? ROLE_GOOD : s == SWEEP_FAILED ? ROLE_BAD
           : s == SWEEP_PRUNED ? ROLE_WARN : ROLE_DIM;
}

/* Panel a's points and title: "val_acc by model (1 mlp, 2 cnn)", "val_acc by lr (log10)". */
static void panel_build(sweep_view *v, int a)
{
    sweep_panel *pn = &v->panels[a];
    const sweep_plan *p = &v->plan;
    plot_sweep_axis_kind(p, a, &pn->categorical, &pn->log);
    int len = snprintf(pn->title, sizeof pn->title, "val_acc by %s%s", p->axes[a].flag, pn->log ? " (log10)" : "");
    for (int i = 0; pn->categorical && i < p->axes[a].n && len < (int)sizeof pn->title; i++)
        len += snprintf(pn->title + len, sizeof pn->title - (size_t)len, "%s%d %s", i ? ", " : " (", i + 1,
                        p->axes[a].values[i]);
    if (pn->categorical && len < (int)sizeof pn->title)
        snprintf(pn->title + len, sizeof pn->title - (size_t)len, ")");
    pn->n = 0;
    pn->sel_x = pn->sel_y = NAN;
    for (int i = 0; pn->x && i < v->n; i++) {
        const sweep_row *r = &v->rows[i];
        if (r->epochs == 0)
            continue;
        char value[SWEEP_TEXT];
        sweep_value(p, r->t, a, value, sizeof value);
        double x = plot_sweep_x(p, a, pn->categorical, pn->log, value);
        pn->x[pn->n] = x;
        pn->y[pn->n++] = r->best;
        pn->x[pn->n] = pn->y[pn->n] = NAN;
        pn->n++;
        if (i == v->sel) {
            pn->sel_x = x;
            pn->sel_y = r->best;
        }
    }
    pn->fixed_x = 0;
    pn->xmin = INFINITY;
    pn->xmax = -INFINITY;
    for (int i = 0; pn->log && i < pn->n; i += 2)
        if (isfinite(pn->x[i])) {
            pn->fixed_x = 1;
            pn->xmin = fmin(pn->xmin, floor(pn->x[i]));
            pn->xmax = fmax(pn->xmax, ceil(pn->x[i]));
        }
    if (pn->fixed_x && pn->xmax == pn->xmin)
        pn->xmax = pn->xmin + 1;
}

void sweep_enter(app *a)
{
    sweep_view *v = &a->swp;
    if (!v->dirty || !v->have_plan)
        return;
    v->dirty = 0;
    int cols = SWEEP_COLS(v->plan.n_axes);
    size_t n = (size_t)(v->n > 0 ? v->n : 1);
    if (!v->text) {
        v->text = malloc(sizeof *v->text * n * (size_t)cols);
        v->cells = malloc(sizeof *v->cells * n * (size_t)cols);
        v->roles = malloc(sizeof *v->roles * n);
        for (int ax = 0; ax < v->plan.n_axes; ax++) {
            v->panels[ax].x = malloc(sizeof(double) * 4 * n); /* x and y: 2 slots a trial each */
            v->panels[ax].y = v->panels[ax].x ? v->panels[ax].x + 2 * n : NULL;
        }
    }
    if (!v->text || !v->cells || !v->roles)
        return;
    for (int i = 0; i < v->n; i++) {
        row_texts(v, &v->rows[i], v->text + (size_t)i * (size_t)cols);
        for (int c = 0; c < cols; c++)
            v->cells[(size_t)i * (size_t)cols + (size_t)c] = v->text[(size_t)i * (size_t)cols + (size_t)c];
        v->roles[i] = state_role(v->rows[i].state);
    }
    for (int ax = 0; ax < v->plan.n_axes; ax++)
        panel_build(v, ax);
}

/* The table's rows in a body of height rows (the panels take the rest when there is room for them). */
static int table_height(const sweep_view *v, int height)
{
    int want = v->n + 2, half = v->plan.n_axes > 0 && height >= 16 ? height / 2 : height - 1;
    return want < half ? want : half;
}

static void draw_panels(app *a, tui_rect r)
{
    sweep_view *v = &a->swp;
    int n = v->plan.n_axes, w = n > 0 ? r.width / n : 0;
    if (w < 24) /* as many as fit, each 24 columns wide at least */
        w = 24;
    for (int ax = 0; ax < n && (ax + 1) * w <= r.width; ax++) {
        const sweep_panel *pn = &v->panels[ax];
        tui_series s[2] = {{NULL, pn->x, pn->y, pn->n, ROLE_SERIES0, '*'},
                           {NULL, &pn->sel_x, &pn->sel_y, 1, ROLE_SERIES0 + 1, '@'}};
        tui_chart c = {pn->title, s, 2, pn->fixed_x, 0, pn->xmin, pn->xmax, 0, 0, 3, 0, pn->categorical, NULL, 0};
        /* ASCII markers: a trial is one point, which a braille dot would make too small to see */
        tui_chart_draw(&a->grid, (tui_rect){r.top, r.left + ax * w, r.height, w - 1}, &c, 0);
    }
}

void sweep_draw(app *a, tui_rect body)
{
    sweep_view *v = &a->swp;
    tui_grid *g = &a->grid;
    if (!v->dir[0]) {
        app_draw_wrapped(g, (tui_rect){body.top + 1, 2, 3, body.width - 4},
                         "No sweep: vggtop watch SWEEP_DIR opens the folder of a vggtop sweep here.", ROLE_DIM);
        return;
    }
    int done = 0, running = 0;
    for (int i = 0; i < v->n; i++) {
        done += v->rows[i].state == SWEEP_DONE;
        running += v->rows[i].state == SWEEP_RUNNING;
    }
    char line[VT_PATH_MAX + 256];
    if (v->have_plan)
        snprintf(line, sizeof line, "%s sweep of %d trials: %d done, %d running (s sorts, r reverses, Enter opens)",
                 v->plan.random ? "random" : "grid", v->n, done, running);
    else
        snprintf(line, sizeof line, "%s", v->err);
    tui_grid_text(g, body.top, 1, body.width - 2, v->have_plan ? ROLE_TITLE : ROLE_BAD, TUI_BOLD, line);
    if (!v->have_plan || !v->cells)
        return;
    int y = body.top + 1;
    if (v->err[0]) /* read before, unreadable now: the last rows stay, and why they are stale */
        tui_grid_text(g, y++, 1, body.width - 2, ROLE_BAD, 0, v->err);
    tui_column cols[SWEEP_COLS(SWEEP_MAX_AXES)];
    int k = 0;
    cols[k++] = (tui_column){"trial", 6, 1}; /* room for the sort mark */
    for (int ax = 0; ax < v->plan.n_axes; ax++) {
        int w = (int)strlen(v->plan.axes[ax].flag) + 2;
        cols[k++] = (tui_column){v->plan.axes[ax].flag, w < 10 ? 10 : w, 1};
    }
    cols[k++] = (tui_column){"best val_acc", 13, 1};
    cols[k++] = (tui_column){"epoch", 6, 1};
    cols[k++] = (tui_column){"state", 14, 0};
    cols[k++] = (tui_column){"time", 8, 1};
    int height = body.top + body.height - y, th = table_height(v, height);
    tui_table t = {cols, k, v->cells, v->roles, v->n, NULL, 0, v->sort, v->desc, v->top, v->sel};
    app_draw_table(a, (tui_rect){y, 1, th, body.width - 2}, t);
    if (height - th >= 8)
        draw_panels(a, (tui_rect){y + th + 1, 1, height - th - 1, body.width - 2});
}

/* d: row sel's trial (A) against the trial with the best val_acc (B), on the Diff screen: the changes are what
 * the best did better. */
static int diff_best(app *a, int sel)
{
    const sweep_view *v = &a->swp;
    int best = -1;
    for (int i = 0; i < v->n; i++)
        if (!isnan(v->rows[i].best) && (best < 0 || v->rows[i].best > v->rows[best].best))
            best = i;
    if (best < 0 || isnan(v->rows[sel].best)) {
        app_set_status(a, ROLE_WARN, "%s", best < 0 ? "no trial has finished an epoch yet"
                                                   : "this trial has no finished epoch to compare");
        return H_REDRAW;
    }
    if (best == sel) {
        app_set_status(a, ROLE_DIM, "trial %d is the best: select another to compare with it", v->rows[sel].t + 1);
        return H_REDRAW;
    }
    char dirs[2][VT_PATH_MAX];
    sweep_trial_dir(v->dir, v->rows[sel].t, dirs[0], sizeof dirs[0]);
    sweep_trial_dir(v->dir, v->rows[best].t, dirs[1], sizeof dirs[1]);
    diff_set(a, dirs[0], dirs[1]);
    app_set_status(a, ROLE_GOOD, "trial %d (A) against the best, trial %d (B)", v->rows[sel].t + 1,
                   v->rows[best].t + 1);
    return H_REDRAW | H_DIFF;
}

int sweep_key(app *a, int key, tui_action act)
{
    (void)key;
    sweep_view *v = &a->swp;
    if (!v->have_plan || v->n == 0)
        return H_NONE;
    int visible = table_height(v, app_body_height(a) - 1) - 1;
    int trial = v->rows[v->sel].t;
    if (app_list_move(&v->sel, act, v->n, visible > 1 ? visible : 1)) {
        v->top = app_follow(v->top, v->sel, visible);
        v->dirty = 1; /* the panels mark the selected trial */
        return H_REDRAW;
    }
    if (act == ACT_SORT || act == ACT_REVERSE) {
        if (act == ACT_SORT) {
            v->sort = (v->sort + 1) % SWEEP_COLS(v->plan.n_axes);
            v->desc = v->sort == SWEEP_COL_BEST(v->plan.n_axes); /* the best first; everything else ascending */
        } else
            v->desc = !v->desc;
        sweep_rows_sort(v->rows, v->n, &v->plan, v->sort, v->desc);
        for (int i = 0; i < v->n; i++)
            if (v->rows[i].t == trial)
                v->sel = i;
        v->top = app_follow(v->top, v->sel, visible);
        v->dirty = 1;
        return H_REDRAW;
    }
    if (act == ACT_DIFF)
        return diff_best(a, v->sel);
    if (act != ACT_ENTER)
        return H_NONE;
    char tdir[VT_PATH_MAX];
    sweep_trial_dir(v->dir, trial, tdir, sizeof tdir);
    if (access(tdir, F_OK) != 0) {
        app_set_status(a, ROLE_WARN, "trial %d has not started (%s)", trial + 1, sweep_state_names[v->rows[v->sel].state]);
        return H_REDRAW;
    }
    vt_err err;
    if (app_browse(a, tdir, &err) != VT_OK) {
        app_set_status(a, ROLE_BAD, "%s", err.msg);
        return H_REDRAW;
    }
    /* From the Dashboard back past Setup, and past Diff when it shows two marked runs. */
    app_set_status(a, ROLE_GOOD, "opened trial %d, %s (S-Tab %s returns to the Sweep)", trial + 1, tdir,
                   diff_skipped(a) ? "twice" : "three times");
    return H_REDRAW | H_DASHBOARD;
}
