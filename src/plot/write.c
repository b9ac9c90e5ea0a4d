/* plot/write: `vggtop plot`'s work without its flags: loads the runs, picks the folder, writes every figure
 * asked for as its own file and says which it wrote and which it skipped (and why). */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plot_internal.h"

/* The folder figures go to: the one asked for, else the run's figures/ (one run) or ./figures (several);
 * made when missing (one level), and it must be a writable folder. */
static int out_dir(const plot_job *job, char *dir, size_t size, vt_err *err)
{
    if (job->out)
        snprintf(dir, size, "%s", job->out);
    else if (job->n_runs == 1)
        snprintf(dir, size, "%s/figures", job->runs[0]);
    else
        snprintf(dir, size, "figures");
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT || mkdir(dir, 0777) != 0)
            return vt_fail(err, VT_EUSAGE, "%s: cannot make the folder for the figures: %s", dir, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        return vt_fail(err, VT_EUSAGE, "%s: not a folder (--out names the folder the figures go to)", dir);
    }
    if (access(dir, W_OK | X_OK) != 0)
        return vt_fail(err, VT_EUSAGE, "%s: cannot write figures there: %s", dir, strerror(errno));
    return VT_OK;
}

/* "<dir>/<prefix><name>.<ext>"; prefix is the run's folder name when several runs share the folder. */
static void figure_path(char *buf, size_t size, const char *dir, const char *run, const char *name, plot_format f)
{
    char copy[VT_PATH_MAX], *base = "";
    if (run) {
        snprintf(copy, sizeof copy, "%s", run);
        size_t len = strlen(copy);
        while (len > 1 && copy[len - 1] == '/')
            copy[--len] = '\0';
        base = basename(copy);
    }
    if (snprintf(buf, size, "%s/%s%s%s.%s", dir, base, *base ? "-" : "", name, plot_format_names[f]) >= (int)size)
        buf[0] = '\0'; /* too long: plot_open refuses the empty name with one line */
}

static int write_one(const plot_job *job, const char *path, plot_figure fig, const run_data *runs, int n,
                     vt_err *err)
{
    plot_doc *d;
    int rc = plot_open(&d, path, &job->opts, err);
    if (rc != VT_OK)
        return rc;
    rc = fig >= PLOT_FIG_VAL_ACC ? plot_compare_figure(d, fig, runs, n, err)
                                 : plot_run_figure(d, fig, &runs[0], &job->view, err);
    if (rc != VT_OK) {
        plot_abort(d);
        return rc;
    }
    return plot_close(d, err);
}

/* A sweep folder's one figure, sweep.<format>: best val_acc against each swept setting. */
static int write_sweep(const plot_job *job, plot_report_fn report, void *ctx, vt_err *err)
{
    char dir[VT_PATH_MAX], path[VT_PATH_MAX + VT_PATH_EXTRA];
    int rc = out_dir(job, dir, sizeof dir, err);
    if (rc != VT_OK)
        return rc;
    figure_path(path, sizeof path, dir, job->out ? job->runs[0] : NULL, "sweep", job->opts.format);
    plot_doc *d;
    if ((rc = plot_open(&d, path, &job->opts, err)) != VT_OK)
        return rc;
    if ((rc = plot_sweep_figure(d, job->runs[0], err)) != VT_OK) {
        plot_abort(d);
        return rc;
    }
    if ((rc = plot_close(d, err)) == VT_OK)
        report(ctx, path, 0);
    return rc;
}

int plot_write(const plot_job *job, plot_report_fn report, void *ctx, vt_err *err)
{
    if (job->n_runs < 1)
        return vt_fail(err, VT_EUSAGE, "give at least one run directory");
    if (job->n_runs == 1 && plot_is_sweep(job->runs[0]))
        return write_sweep(job, report, ctx, err);
    run_data *runs = calloc((size_t)job->n_runs, sizeof *runs);
    if (!runs)
        return vt_fail(err, VT_EIO, "out of memory");
    int rc = VT_OK, loaded = 0;
    for (; loaded < job->n_runs && rc == VT_OK; loaded++)
        rc = run_load(job->runs[loaded], RUN_PART_CONFIG | RUN_PART_HISTORY | RUN_PART_PREDICTIONS, &runs[loaded], err);
    char dir[VT_PATH_MAX], path[VT_PATH_MAX + VT_PATH_EXTRA], why[700];
    if (rc == VT_OK)
        rc = out_dir(job, dir, sizeof dir, err);
    int written = 0, skipped_named = 0;
    unsigned what = job->what;
    /* Comparisons of one run are drawn only when asked for by name. */
    int compare = job->n_runs > 1 || !(what & PLOT_WHAT_ALL);
    for (int r = 0; rc == VT_OK && r < job->n_runs; r++)
        for (int f = 0; rc == VT_OK && f < PLOT_FIG_VAL_ACC; f++) {
            if (!(what & PLOT_MASK(f)))
                continue;
            if (!plot_run_has(&runs[r], (plot_figure)f, why, sizeof why)) {
                report(ctx, why, 1);
                skipped_named |= !(what & PLOT_WHAT_ALL);
                continue;
            }
            figure_path(path, sizeof path, dir, job->n_runs > 1 || job->out ? job->runs[r] : NULL,
                        plot_figure_names[f], job->opts.format);
            rc = write_one(job, path, (plot_figure)f, &runs[r], 1, err);
            if (rc == VT_OK) {
                report(ctx, path, 0);
                written++;
            }
        }
    for (int f = PLOT_FIG_VAL_ACC; rc == VT_OK && compare && f <= PLOT_FIG_VAL_MSE; f++) {
        if (!(what & PLOT_MASK(f)))
            continue;
        int with = 0;
        for (int r = 0; r < job->n_runs; r++)
            with += plot_run_has(&runs[r], (plot_figure)f, why, sizeof why);
        if (with == 0) {
            snprintf(why, sizeof why, "no run has a finished epoch: no %s comparison", plot_figure_names[f]);
            report(ctx, why, 1);
            skipped_named |= !(what & PLOT_WHAT_ALL);
            continue;
        }
        char name[64];
        snprintf(name, sizeof name, "compare-%s", plot_figure_names[f]);
        figure_path(path, sizeof path, dir, NULL, name, job->opts.format);
        rc = write_one(job, path, (plot_figure)f, runs, job->n_runs, err);
        if (rc == VT_OK) {
            report(ctx, path, 0);
            written++;
        }
    }
    if (rc == VT_OK && written == 0)
        rc = vt_fail(err, VT_EUSAGE, "no figure written: the runs have none of the figures asked for");
    else if (rc == VT_OK && skipped_named)
        rc = vt_fail(err, VT_EUSAGE, "some figures asked for by name could not be drawn (see above)");
    for (int r = 0; r < loaded; r++)
        run_free(&runs[r]);
    free(runs);
    return rc;
}
