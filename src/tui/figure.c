/* tui/figure: P saves the chart of the screen shown as a PNG file, as it is shown (the same run or runs, zoom,
 * classes, normalisation, image), into the run directory's figures/ folder, and says the path on the status
 * line. Each screen with a chart has a save hook in the screen table (screens.c); the drawing is plot's, the
 * same as `vggtop plot` writes. Runs on a key press: files are read and written here, never in a draw. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tui_internal.h"
#include "vggtop/plot.h"

/* The folder: base's figures/ (the run's, or the sweep's; made when missing); why when there is no run or it
 * cannot be made. */
static int figures_dir(const char *base, char *dir, size_t size, vt_err *err)
{
    if (!base[0])
        return vt_fail(err, VT_EUSAGE, "no run is shown: nothing to save");
    if (snprintf(dir, size, "%s/figures", base) >= (int)size)
        return vt_fail(err, VT_EUSAGE, "%s: the path is too long", base);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return vt_fail(err, VT_EUSAGE, "%s: cannot make the folder: %s", dir, strerror(errno));
    return VT_OK;
}

/* Writes one figure (drawn by draw_fn with ctx) to <run>/figures/<name>.png; the path into out. */
typedef int (*draw_fn)(plot_doc *d, void *ctx, vt_err *err);

/* The same into base's figures/. */
static int save_in(const char *base, const char *name, draw_fn draw, void *ctx, char *out, size_t size, vt_err *err)
{
    char dir[VT_PATH_MAX + VT_PATH_EXTRA];
    int rc = figures_dir(base, dir, sizeof dir, err);
    if (rc != VT_OK)
        return rc;
    if (snprintf(out, size, "%s/%s.png", dir, name) >= (int)size)
        return vt_fail(err, VT_EUSAGE, "%s: the path is too long", dir);
    plot_opts o;
    plot_opts_default(&o);
    plot_doc *d;
    if ((rc = plot_open(&d, out, &o, err)) != VT_OK)
        return rc;
    if ((rc = draw(d, ctx, err)) != VT_OK) {
        plot_abort(d);
        return rc;
    }
    return plot_close(d, err);
}

static int save_one(app *a, const char *name, draw_fn draw, void *ctx, char *out, size_t size, vt_err *err)
{
    return save_in(a->dir, name, draw, ctx, out, size, err);
}

/* ---- one run's figures: the run shown, with the history a live run has in its snapshot ---- */

typedef struct run_figure {
    const run_data *run;
    plot_figure fig;
    plot_view view;
} run_figure;

static int draw_run_figure(plot_doc *d, void *ctx, vt_err *err)
{
    run_figure *f = ctx;
    return plot_run_figure(d, f->fig, f->run, &f->view, err);
}

/* The run as the screens show it: a live run's finished epochs come from the snapshot. */
static run_data shown_run(const app *a)
{
    run_data r = a->run;
    if (a->snap && a->snap->n_history > r.n_history) {
        r.history = a->snap->history;
        r.n_history = a->snap->n_history;
        r.parts |= RUN_PART_HISTORY;
    }
    return r;
}

static int save_run_figure(app *a, plot_figure fig, const char *name, const plot_view *v, char *out, size_t size,
                           vt_err *err)
{
    run_data r = shown_run(a);
    run_figure f = {&r, fig, *v};
    char why[600];
    if (!plot_run_has(&r, fig, why, sizeof why))
        return vt_fail(err, VT_EUSAGE, "%s", why);
    return save_one(a, name, draw_run_figure, &f, out, size, err);
}

static plot_view view_default(const app *a)
{
    plot_view v;
    plot_view_default(&v);
    v.data_dir = a->opt.data_dir;
    return v;
}

/* ---- the screens' hooks ---- */

int dash_save_figure(app *a, char *out, size_t size, vt_err *err)
{
    /* The Dashboard's two charts: accuracy and loss per epoch. */
    plot_view v = view_default(a);
    char first[VT_PATH_MAX + VT_PATH_EXTRA];
    int rc = save_run_figure(a, PLOT_FIG_ACCURACY, "accuracy", &v, first, sizeof first, err);
    if (rc != VT_OK)
        return rc;
    char second[VT_PATH_MAX + VT_PATH_EXTRA];
    if ((rc = save_run_figure(a, PLOT_FIG_LOSS, "loss", &v, second, sizeof second, err)) != VT_OK)
        return rc;
    snprintf(out, size, "%s and loss.png", first);
    return VT_OK;
}

int confusion_save_figure(app *a, char *out, size_t size, vt_err *err)
{
    plot_view v = view_default(a);
    v.normalize = a->conf.norm;
    v.fold = a->conf.fold;
    char name[64];
    snprintf(name, sizeof name, "confusion%s%s", v.fold ? "-superclasses" : "", v.normalize ? "-normalized" : "");
    return save_run_figure(a, PLOT_FIG_CONFUSION, name, &v, out, size, err);
}

int roc_save_figure(app *a, char *out, size_t size, vt_err *err)
{
    plot_view v = view_default(a);
    v.n_roc_classes = 0;
    for (int c = 0; a->rv.drawn && c < a->C && v.n_roc_classes < PLOT_MAX_ROC; c++)
        if (a->rv.drawn[c])
            v.roc_classes[v.n_roc_classes++] = c;
    return save_run_figure(a, a->rv.zoom ? PLOT_FIG_ROC_ZOOM : PLOT_FIG_ROC, a->rv.zoom ? "roc-zoom" : "roc", &v, out,
                           size, err);
}

int samples_save_figure(app *a, char *out, size_t size, vt_err *err)
{
    plot_view v = view_default(a);
    v.samples_first = a->smp.sample;
    v.misclassified = a->smp.missed_only;
    char name[64];
    snprintf(name, sizeof name, "samples-%ld%s", a->smp.sample + 1, v.misclassified ? "-misclassified" : "");
    return save_run_figure(a, PLOT_FIG_SAMPLES, name, &v, out, size, err);
}

/* Report: the table's F1 as sorted bars; the heatmap view: every class's F1 (or recall) per epoch. */
typedef struct heat_ctx {
    const app *a;
} heat_ctx;

static int draw_report_heatmap(plot_doc *d, void *ctx, vt_err *err)
{
    const app *a = ((heat_ctx *)ctx)->a;
    const report_view *rv = &a->rpt;
    int rows = rv->classes, cols = rv->epochs;
    double *values = malloc((size_t)rows * cols * sizeof *values);
    const char **names = malloc((size_t)rows * sizeof *names);
    char (*epochs)[12] = malloc((size_t)cols * sizeof *epochs);
    const char **epoch_names = malloc((size_t)cols * sizeof *epoch_names);
    int rc;
    if (!values || !names || !epochs || !epoch_names) {
        rc = vt_fail(err, VT_EIO, "out of memory");
    } else {
        /* The classes in class order, epochs left to right (f1 and recall are epoch-major). */
        const double *src = rv->show_recall ? rv->recall : rv->f1;
        for (int r = 0; r < rows; r++) {
            names[r] = app_class_name(a, r);
            for (int c = 0; c < cols; c++)
                values[(size_t)r * cols + c] = src[(size_t)c * rows + r];
        }
        for (int c = 0; c < cols; c++) {
            snprintf(epochs[c], sizeof epochs[c], "%d", c + 1);
            epoch_names[c] = epochs[c];
        }
        plot_heatmap_spec h = {rv->show_recall ? "Recall per class and epoch" : "F1-score per class and epoch",
                               "Epoch", "Class", rv->show_recall ? "recall" : "F1-score", rows, cols, values,
                               names, epoch_names, 0, NULL};
        rc = plot_heatmap(d, &h, err);
    }
    free(values);
    free(names);
    free(epochs);
    free(epoch_names);
    return rc;
}

int report_save_figure(app *a, char *out, size_t size, vt_err *err)
{
    if (!a->rpt.heatmap) {
        plot_view v = view_default(a);
        return save_run_figure(a, PLOT_FIG_F1, "f1", &v, out, size, err);
    }
    if (a->rpt.epochs < 1 || a->rpt.classes < 1 || !a->rpt.f1)
        return vt_fail(err, VT_EUSAGE, "%s/per_class.csv has no epoch: no heatmap to save", a->dir);
    heat_ctx ctx = {a};
    return save_one(a, a->rpt.show_recall ? "per-class-recall" : "per-class-f1", draw_report_heatmap, &ctx, out, size,
                    err);
}

/* Compare: the runs on the chart and the metric charted, their files read afresh. */
typedef struct compare_ctx {
    run_data *runs;
    int n;
    plot_figure fig;
} compare_ctx;

static int draw_compare(plot_doc *d, void *ctx, vt_err *err)
{
    compare_ctx *c = ctx;
    return plot_compare_figure(d, c->fig, c->runs, c->n, err);
}

int compare_save_figure(app *a, char *out, size_t size, vt_err *err)
{
    compare_view *v = &a->cmp;
    run_data *runs = calloc((size_t)(v->n > 0 ? v->n : 1), sizeof *runs);
    if (!runs)
        return vt_fail(err, VT_EIO, "out of memory");
    int n = 0, rc = VT_OK;
    for (int i = 0; i < v->n && rc == VT_OK; i++) {
        if (!v->shown || !v->shown[i])
            continue;
        rc = run_load(v->runs[i].path, RUN_PART_CONFIG | RUN_PART_HISTORY, &runs[n], err);
        n++;
    }
    static const plot_figure figs[] = {PLOT_FIG_VAL_ACC, PLOT_FIG_VAL_LOSS, PLOT_FIG_VAL_MSE};
    if (rc == VT_OK && n == 0)
        rc = vt_fail(err, VT_EUSAGE, "no run is on the chart (Space puts the selected one on it)");
    if (rc == VT_OK) {
        compare_ctx c = {runs, n, figs[v->metric >= 0 && v->metric < 3 ? v->metric : 0]};
        char name[64];
        snprintf(name, sizeof name, "compare-%s", plot_figure_names[c.fig]);
        rc = save_one(a, name, draw_compare, &c, out, size, err);
    }
    for (int i = 0; i < n; i++)
        run_free(&runs[i]);
    free(runs);
    return rc;
}

/* ---- the Sweep screen: its panels, from the sweep folder as vggtop plot SWEEP_DIR draws them ---- */

static int draw_sweep(plot_doc *d, void *ctx, vt_err *err) { return plot_sweep_figure(d, ctx, err); }

int sweep_save_figure(app *a, char *out, size_t size, vt_err *err)
{
    if (!a->swp.dir[0])
        return vt_fail(err, VT_EUSAGE, "no sweep is shown: nothing to save");
    return save_in(a->swp.dir, "sweep", draw_sweep, a->swp.dir, out, size, err);
}

int app_save_figure(app *a)
{
    const screen_ops *sc = app_screen(a);
    if (!sc->save)
        return H_NONE;
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    vt_err err;
    vt_err_clear(&err);
    if (sc->save(a, path, sizeof path, &err) == VT_OK)
        app_set_status(a, ROLE_GOOD, "saved %s", path);
    else
        app_set_status(a, ROLE_BAD, "no figure saved: %s", err.msg);
    return H_REDRAW;
}
