/* tui/dash: screen 2, the Dashboard: the epoch's Keras progress line, the whole run's time left and finish, the
 * test-set pass, the system line of the training process (sysinfo.c, sampled by dash_sample from the loop),
 * the table of the last epochs, the per-epoch and running charts; p/S/+/- control the run
 * shown (this process's engine, or another's through commands.json), Enter resumes a stopped one. */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tui_internal.h"

/* ---- 2 Dashboard ---------------------------------------------------------------------------------------- */

static double hist_buf[6][TRAIN_MAX_EPOCHS];
static double curve_x[TRAIN_CURVE_MAX], curve_l[TRAIN_CURVE_MAX], curve_a[TRAIN_CURVE_MAX];


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

/* The table of the last epochs: as many as fit in `rows` (header included), the best val_acc marked; the
 * top-5 columns where the width allows. The columns in history.csv's order; dash_table shows them in
 * `vggtop history`'s. */
static const tui_column dash_cols[11] = {
    {"epoch", 5, 1}, {"loss", 7, 1}, {"acc", 6, 1}, {"mse", 10, 1}, {"val_loss", 8, 1},
    {"val_acc", 8, 1}, {"val_mse", 10, 1}, {"lr", 8, 1}, {"seconds", 7, 1}, {"top5", 6, 1}, {"val_top5", 8, 1},
};
static char dash_text[8][11][24];

/* ---- the system line ---- */

void dash_rate_add(dash_rate *r, double t, double images)
{
    r->t[r->head] = t;
    r->images[r->head] = images;
    r->head = (r->head + 1) % DASH_RATE_POINTS;
    if (r->n < DASH_RATE_POINTS)
        r->n++;
}

double dash_rate_get(const dash_rate *r)
{
    if (r->n < 2)
        return -1;
    int newest = (r->head + DASH_RATE_POINTS - 1) % DASH_RATE_POINTS, oldest = newest;
    for (int k = 1; k < r->n; k++) {
        int i = (newest + DASH_RATE_POINTS - k) % DASH_RATE_POINTS;
        if (r->t[i] < r->t[newest] - 60)
            break;
        oldest = i;
    }
    double dt = r->t[newest] - r->t[oldest];
    return oldest == newest || dt <= 0 ? -1 : (r->images[newest] - r->images[oldest]) / dt;
}

int dash_sample(app *a, double now)
{
    if (now < a->dash.next)
        return 0;
    a->dash.next = now + 1.0;
    const train_snapshot *s = a->snap;
    /* The training process: this one for a live run; a watched run's, the holder of its lock, while it runs. */
    long pid = a->tr && a->live ? (long)getpid()
               : a->following && a->have_run && state_running(s->state) ? a->holder_pid : 0;
    if (pid <= 0) {
        a->dash.have_sys = 0;
        a->dash.rate.n = 0;
        return 0;
    }
    /* The images trained so far: the epochs before this one (their size is the training set's) and this one's. */
    dash_rate_add(&a->dash.rate, now,
                  (double)(s->epoch > 1 ? s->epoch - 1 : 0) * (double)s->n_train + (double)s->samples);
    a->dash.have_sys = tui_sysinfo_sample(pid, &a->dash.prev, &a->dash.sys) == 0;
    return a->screen == TUI_SCREEN_DASHBOARD;
}

void dash_forget(app *a)
{
    a->dash.have_sys = 0;
    a->dash.rate.n = 0;
    a->dash.prev.valid = 0;
}

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
    /* `vggtop history`'s order (Keras' History: the metrics, then their val_ twins, then lr): top5 after mse and
     * val_top5 after val_mse where the width of all eleven columns and their gaps allows, else without them. */
    static const int wide[11] = {0, 1, 2, 3, 9, 4, 5, 6, 10, 7, 8}, narrow[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    int nc = r.width >= 93 ? 11 : 9;
    const int *order = nc == 11 ? wide : narrow;
    tui_column cols[11];
    for (int c = 0; c < nc; c++)
        cols[c] = dash_cols[order[c]];
    const char *cells[8 * 11];
    int roles[8];
    for (int k = 0; k < shown; k++) {
        int e = s->n_history - shown + k;
        const train_epoch *h = &s->history[e];
        double v[11] = {e + 1, h->loss, h->acc, h->mse, h->val_loss, h->val_acc, h->val_mse, h->lr, h->seconds,
                        h->top5, h->val_top5};
        snprintf(dash_text[k][0], 24, "%d", e + 1);
        for (int c = 1; c < 7; c++)
            vt_fmt_metric(dash_text[k][c], 24, v[c]);
        if (e == best)
            snprintf(dash_text[k][5], 24, "%.4f*", h->val_acc);
        snprintf(dash_text[k][7], 24, "%g", h->lr);
        snprintf(dash_text[k][8], 24, "%.1f", h->seconds);
        for (int c = 9; c < 11; c++)
            vt_fmt_metric(dash_text[k][c], 24, v[c]);
        for (int c = 0; c < nc; c++)
            cells[k * nc + c] = dash_text[k][order[c]];
        roles[k] = e == best ? ROLE_GOOD : ROLE_DEFAULT;
    }
    tui_table t = {cols, nc, cells, roles, shown, NULL, 0, -1, 0, 0, -1};
    tui_table_draw(&a->grid, (tui_rect){r.top + 1, r.left, shown + 1, r.width}, &t, a->utf8);
}

/* The epoch's Keras progress line and its running means (before the first step: "-", not nan, which reads
 * as divergence); returns the next row. */
static int draw_epoch(app *a, int y, int w, int running)
{
    tui_grid *g = &a->grid;
    const train_snapshot *s = a->snap;
    int started = s->batch > 0 && isfinite(s->loss);
    char prog[256], l[32], ac[32], mse[32], t5[32];
    long batches = s->batches > 0 ? s->batches : 1;
    /* The test-set pass comes after the epoch's last step: its bar is full (it stayed at 19/20). */
    long batch = s->state == TRAIN_EVALUATING && s->batches > 0 ? s->batches : s->batch;
    int bar = w >= 100 ? 30 : 20;
    if (s->epoch <= 0 || s->batches <= 0) /* loading: no epoch, no steps to count yet ("Epoch 0/5 0/1 ... 0s") */
        snprintf(prog, sizeof prog, "%s", s->state == TRAIN_LOADING ? "loading the data set..." : "no step yet");
    else if (running && s->state != TRAIN_PAUSED && s->state != TRAIN_EVALUATING)
        tui_progress_text(prog, sizeof prog, batch, batches, bar, s->epoch_elapsed, s->eta);
    else /* no ETA: the clock does not run; nor a time per step while the test-set pass runs (its time would */
        vt_fmt_progbar(prog, sizeof prog, batch, batches, bar); /* count as training's, beside training's own) */
    if (s->epoch > 0)
        tui_grid_printf(g, y, 1, w - 2, ROLE_VALUE, 0, "Epoch %d/%d", s->epoch, s->epochs);
    else
        tui_grid_printf(g, y, 1, w - 2, ROLE_VALUE, 0, "Epoch -/%d", s->epochs);
    tui_grid_text(g, y, 14, w - 15, s->epoch > 0 && s->batches > 0 ? ROLE_DEFAULT : ROLE_DIM, 0, prog);
    y++;
    if (!started) /* "loss: - - acc: -" read as a list of dashes */
        tui_grid_printf(g, y++, 1, w - 2, ROLE_DIM, 0, "loss, acc, top5 and mse: after the first step - lr: %g", s->lr);
    else
        tui_grid_printf(g, y++, 1, w - 2, ROLE_DEFAULT, 0, "loss: %s - acc: %s - top5: %s - mse: %s - lr: %g",
                        vt_fmt_metric(l, sizeof l, s->loss), vt_fmt_metric(ac, sizeof ac, s->acc),
                        vt_fmt_metric(t5, sizeof t5, s->top5), vt_fmt_metric(mse, sizeof mse, s->mse), s->lr);
    return y;
}

/* The state, the rate and the elapsed time; then the whole run: the test-set pass while it runs, the epochs
 * done, the time left and the wall-clock finish. Returns the next row. */
static int draw_run(app *a, int y, int w, int running)
{
    tui_grid *g = &a->grid;
    const train_snapshot *s = a->snap;
    int started = s->batch > 0 && isfinite(s->loss);
    char ela[32], ms[64], eta[32], line[512];
    vt_fmt_eta(ela, sizeof ela, s->elapsed);
    char ranks[32] = ""; /* a data-parallel run: the rate is all ranks' together */
    if (s->ranks > 1)
        snprintf(ranks, sizeof ranks, " on %d ranks", s->ranks);
    if (started && s->ms_per_step > 0) /* training's rate, said so while the test set is evaluated */
        snprintf(ms, sizeof ms, "%s%.1f ms/step - %.0f img/s%s", s->state == TRAIN_EVALUATING ? "training: " : "",
                 s->ms_per_step, s->img_per_s, ranks);
    else
        snprintf(ms, sizeof ms, "- ms/step - - img/s");
    int role = s->state == TRAIN_FAILED ? ROLE_BAD : s->state == TRAIN_PAUSED || s->state == TRAIN_STOPPED ? ROLE_WARN
                                                                                                            : ROLE_LABEL;
    tui_grid_printf(g, y++, 1, w - 2, role, 0, "%s - %s - elapsed %s", train_state_name(s->state), ms, ela);
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
    return y;
}

/* The charts in r: loss and accuracy per epoch, and (tall enough) the epoch's running loss and accuracy by
 * step under them. */
static void draw_charts(app *a, tui_rect r)
{
    tui_grid *g = &a->grid;
    const train_snapshot *s = a->snap;
    int two_rows = r.height >= 16, y = r.top, w = r.width, half = w / 2;
    int top_h = two_rows ? r.height * 1 / 2 : r.height, bot_h = r.height - top_h;
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
    /* Accuracy fitted to its data as the loss is (CIFAR-100's first epochs, 0.006-0.05, were one flat row on
     * 0.00 of a 0-1 axis); z shows 0-1. */
    tui_chart ca = {"Accuracy per epoch", acc, 2, 0, a->acc_full, 0, 0, 0, 1, 2, 1, 1, "epoch", 1};
    if (!two_rows && top_h < 5)
        return;
    /* Short terminals: loss and accuracy per epoch only (the running curves need the room of a taller one). */
    tui_chart_draw(g, (tui_rect){y, 0, top_h, half - 1}, &cl, app_chart_utf8(a));
    tui_chart_draw(g, (tui_rect){y, half, top_h, w - half}, &ca, app_chart_utf8(a));
    if (!two_rows)
        return;
    y += top_h;
    int m = s->n_curve;
    for (int i = 0; i < m; i++) {
        curve_x[i] = (double)s->curve_batch[i];
        curve_l[i] = s->curve_loss[i];
        curve_a[i] = s->curve_acc[i];
    }
    double batches = (double)(s->batches > 0 ? s->batches : 1);
    char tl[64], ta[64];
    snprintf(tl, sizeof tl, "Epoch %d: running loss by step", s->epoch);
    snprintf(ta, sizeof ta, "Epoch %d: running acc by step", s->epoch);
    tui_series rl = {"loss", curve_x, curve_l, m, ROLE_SERIES0 + 2, '*'};
    tui_series ra = {"acc", curve_x, curve_a, m, ROLE_SERIES0 + 2, '*'};
    tui_chart cr1 = {tl, &rl, 1, 1, 0, 0, batches, 0, 0, 3, 0, 0, "step", 0};
    tui_chart cr2 = {ta, &ra, 1, 1, a->acc_full, 0, batches, 0, 1, 2, 0, 0, "step", 0};
    tui_chart_draw(g, (tui_rect){y, 0, bot_h, half - 1}, &cr1, app_chart_utf8(a));
    tui_chart_draw(g, (tui_rect){y, half, bot_h, w - half}, &cr2, app_chart_utf8(a));
}

void dash_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    const train_snapshot *s = a->snap;
    if (!a->live && !a->dir[0]) {
        app_no_data(a, body, "Dashboard");
        return;
    }
    int w = body.width, running = state_running(s->state);
    int y = draw_epoch(a, body.top, w, running);
    y = draw_run(a, y, w, running);
    /* The training process beside it (while one runs), sampled outside the draw. */
    if (a->dash.have_sys) {
        char sys[512];
        tui_grid_text(g, y, 1, w - 2, ROLE_LABEL, 0, "system:");
        tui_grid_text(g, y++, 9, w - 10, ROLE_DIM, 0,
                      tui_sysinfo_line(sys, sizeof sys, &a->dash.sys, dash_rate_get(&a->dash.rate)));
    }
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
    draw_charts(a, (tui_rect){y, 0, h, w});
}

int dash_key(app *a, int key, tui_action act)
{
    (void)key;
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
    if (act == ACT_ZOOM) {
        a->acc_full = !a->acc_full;
        app_set_status(a, ROLE_DIM, "accuracy charts: %s",
                       a->acc_full ? "0-1 (z: fitted to the data)" : "fitted to the data (z: 0-1)");
        return H_REDRAW;
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
