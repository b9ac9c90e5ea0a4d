/* plot/sweep: a sweep's figure, each trial's best val_acc against each swept setting (a panel a setting), the
 * best trial marked, as the Sweep screen plots it; and where a setting's values lie on an x axis, which that
 * screen reads too. The sweep folder is read through train's sweep readers (sweep.json, the trials' runs). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot_internal.h"

void plot_sweep_axis_kind(const sweep_plan *p, int a, int *categorical, int *log)
{
    const sweep_axis *ax = &p->axes[a];
    *categorical = 0;
    *log = ax->kind == SWEEP_LOG;
    if (ax->kind != SWEEP_LIST)
        return;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < ax->n; i++) {
        char *end;
        double x = strtod(ax->values[i], &end);
        if (end == ax->values[i] || *end || !isfinite(x)) {
            *categorical = 1;
            return;
        }
        lo = fmin(lo, x);
        hi = fmax(hi, x);
    }
    *log = lo > 0 && hi / lo >= 10;
}

double plot_sweep_x(const sweep_plan *p, int a, int categorical, int log, const char *text)
{
    if (categorical) {
        for (int i = 0; i < p->axes[a].n; i++)
            if (strcmp(p->axes[a].values[i], text) == 0)
                return i + 1;
        return NAN;
    }
    double x = strtod(text, NULL);
    return log ? log10(x) : x;
}

int plot_is_sweep(const char *dir)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    snprintf(path, sizeof path, "%s/%s", dir, SWEEP_PLAN);
    return access(path, F_OK) == 0;
}

/* One panel's texts: "val_acc by model (1 mlp, 2 cnn)" or "val_acc by lr", and its x label. */
static void panel_texts(const sweep_plan *p, int a, int categorical, int log, char *title, size_t tsize,
                        char *xlabel, size_t xsize)
{
    size_t len = (size_t)snprintf(title, tsize, "val_acc by %s", p->axes[a].flag);
    for (int i = 0; categorical && i < p->axes[a].n && len < tsize; i++)
        len += (size_t)snprintf(title + len, tsize - len, "%s%d %s", i ? ", " : " (", i + 1, p->axes[a].values[i]);
    if (categorical && len < tsize)
        snprintf(title + len, tsize - len, ")");
    snprintf(xlabel, xsize, "%s%s", p->axes[a].flag, log ? " (log10)" : categorical ? " (its place in the list)" : "");
}

/* The x range of a panel: a list's places 1..places with half a place around them, else the points' range
 * with a margin, so that no point sits on the frame. */
static void x_room(plot_axes *ax, const double *x, long n, int places)
{
    if (places > 0) {
        ax->xmin = 0.5;
        ax->xmax = places + 0.5;
        ax->x_integer = 1;
        return;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (long i = 0; i < n; i++)
        if (isfinite(x[i])) {
            lo = fmin(lo, x[i]);
            hi = fmax(hi, x[i]);
        }
    double pad = hi > lo ? 0.06 * (hi - lo) : 0.5 * (fabs(lo) + 0.1);
    ax->xmin = lo - pad;
    ax->xmax = hi + pad;
}

/* The panels of plan p and its trials' rows: x and y hold 2 slots a trial for each setting (a point, then a
 * gap); best is the best trial's row. */
static int draw_panels(plot_doc *d, const sweep_plan *p, const sweep_row *rows, int best, double *x, double *y,
                       vt_err *err)
{
    int n = p->n_axes, T = p->trials;
    plot_axes axes[SWEEP_MAX_AXES];
    plot_series series[SWEEP_MAX_AXES][2];
    const plot_series *s[SWEEP_MAX_AXES];
    int counts[SWEEP_MAX_AXES];
    char titles[SWEEP_MAX_AXES][200], xlabels[SWEEP_MAX_AXES][80], best_label[64];
    double bx[SWEEP_MAX_AXES], by = rows[best].best, lo = by, hi = by;
    for (int t = 0; t < T; t++)
        if (rows[t].epochs > 0 && isfinite(rows[t].best))
            lo = fmin(lo, rows[t].best);
    snprintf(best_label, sizeof best_label, "best: trial %d (%.4f)", rows[best].t + 1, by);
    for (int a = 0; a < n; a++) {
        int categorical, log;
        plot_sweep_axis_kind(p, a, &categorical, &log);
        panel_texts(p, a, categorical, log, titles[a], sizeof titles[a], xlabels[a], sizeof xlabels[a]);
        double *xa = x + (size_t)a * 2 * (size_t)T, *ya = y + (size_t)a * 2 * (size_t)T;
        long k = 0;
        for (int t = 0; t < T; t++) {
            if (rows[t].epochs == 0)
                continue;
            char value[64];
            sweep_value(p, rows[t].t, a, value, sizeof value);
            xa[k] = plot_sweep_x(p, a, categorical, log, value);
            ya[k++] = rows[t].best;
            xa[k] = ya[k] = NAN;
            k++;
            if (t == best)
                bx[a] = xa[k - 2];
        }
        plot_axes_init(&axes[a], titles[a], xlabels[a], a == 0 ? "best val_acc" : "");
        x_room(&axes[a], xa, k, categorical ? p->axes[a].n : 0);
        /* Room above the points for the legend, which would hide the best one. */
        axes[a].ymin = lo - 0.05 * (hi - lo + 0.01);
        axes[a].ymax = hi + 0.35 * (hi - lo + 0.01);
        axes[a].legend = PLOT_LEGEND_UPPER_RIGHT;
        series[a][0] = (plot_series){"trials", k, xa, ya, 0x1f77b4, PLOT_SOLID, 0, 1};
        series[a][1] = (plot_series){best_label, 1, &bx[a], &by, 0xd62728, PLOT_SOLID, 0, 1};
        s[a] = series[a];
        counts[a] = 2;
    }
    return plot_line_panels(d, axes, s, counts, n, err);
}

int plot_sweep_figure(plot_doc *d, const char *dir, vt_err *err)
{
    sweep_plan p;
    sweep_state *states = NULL;
    int rc = sweep_load(dir, &p, &states, err);
    if (rc != VT_OK)
        return rc;
    int T = p.trials > 0 ? p.trials : 1;
    sweep_row *rows = calloc((size_t)T, sizeof *rows);
    double *x = malloc(sizeof *x * 4 * (size_t)T * (size_t)(p.n_axes > 0 ? p.n_axes : 1));
    int best = -1;
    for (int t = 0; rows && t < p.trials; t++) {
        sweep_row_read(dir, t, states[t], &rows[t]);
        if (rows[t].epochs > 0 && !isnan(rows[t].best) && (best < 0 || rows[t].best > rows[best].best))
            best = t;
    }
    if (!rows || !x)
        rc = vt_fail(err, VT_EIO, "out of memory");
    else if (p.n_axes == 0)
        rc = vt_fail(err, VT_EUSAGE, "%s/%s: the sweep varies no setting: nothing to plot against", dir, SWEEP_PLAN);
    else if (best < 0)
        rc = vt_fail(err, VT_EUSAGE, "%s: no trial has finished an epoch yet: nothing to plot", dir);
    else
        rc = draw_panels(d, &p, rows, best, x, x + 2 * (size_t)T * (size_t)p.n_axes, err);
    free(x);
    free(rows);
    free(states);
    sweep_plan_free(&p);
    return rc;
}
