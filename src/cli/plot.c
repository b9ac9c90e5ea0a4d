/* cli/plot: `vggtop plot RUN_DIR... [--out DIR] [--format png|svg|pdf] [--what LIST] ...`, the seed's figures as
 * files (the work is plot_write in src/plot). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "vggtop/plot.h"

enum { O_OUT = CLI_LONG_ONLY, O_FORMAT, O_WHAT, O_SIZE, O_DPI, O_TITLE, O_NORMALIZE, O_FOLD, O_CLASSES, O_SAMPLES,
       O_MISSED, O_DATA };

static const cli_option options[] = {
    {"out", O_OUT, "DIR", "the folder the figures go to (default: RUN_DIR/figures for one run, ./figures for several)",
     NULL, NULL},
    {"format", O_FORMAT, "png|svg|pdf", "the files' format (default png; svg and pdf are vector graphics)", NULL, NULL},
    {"what", O_WHAT, "LIST",
     "the figures, comma-separated: accuracy, loss, mse, top5, confusion, roc, roc-zoom, samples, f1, val_acc, "
     "val_loss, val_mse, or history (the first four), compare (the last three), all (default: what the runs have; "
     "the comparisons with two runs or more)", NULL, NULL},
    {"size", O_SIZE, "WxH", "the figures' size in inches (default 8x6, the seed's)", NULL, NULL},
    {"dpi", O_DPI, "N", "PNG pixels per inch, 30 to 1200 (default 150: 1200x900 pixels)", NULL, NULL},
    {"title", O_TITLE, "TEXT", "one title for every figure written, instead of the seed's", NULL, NULL},
    {"normalize", O_NORMALIZE, NULL, "the confusion matrix normalised over each true class", NULL, NULL},
    {"fold", O_FOLD, NULL, "the confusion matrix of CIFAR-100's 20 superclasses", NULL, NULL},
    {"classes", O_CLASSES, "LIST", "the classes on the ROC figures, by number (default 0,1,2 as the seed)", NULL, NULL},
    {"samples", O_SAMPLES, "N", "test images on the samples figure, 1 to 36 (default 16)", NULL, NULL},
    {"misclassified", O_MISSED, NULL, "only misclassified test images on the samples figure", NULL, NULL},
    {"data", O_DATA, "DIR", "where the run's data set is now (for the test images), when it has moved", NULL, NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

static int parse_classes(const char *value, plot_view *v, vt_err *err)
{
    v->n_roc_classes = 0;
    const char *p = value;
    while (*p) {
        char *end;
        long c = strtol(p, &end, 10);
        if (end == p || c < 0 || c >= VT_MAX_CLASSES || (*end && *end != ',') || v->n_roc_classes >= PLOT_MAX_ROC)
            return vt_fail(err, VT_EUSAGE, "--classes: '%.64s' is not a list of at most %d class numbers (e.g. 0,1,2)",
                           value, PLOT_MAX_ROC);
        v->roc_classes[v->n_roc_classes++] = (int)c;
        p = *end ? end + 1 : end;
    }
    if (v->n_roc_classes == 0)
        return vt_fail(err, VT_EUSAGE, "--classes: give at least one class number");
    return VT_OK;
}

static int set_option(void *ctx, int key, const char *value, vt_err *err)
{
    plot_job *job = ctx;
    switch (key) {
    case O_OUT: return vt_flag_path("--out", value, &job->out, err);
    case O_FORMAT: return plot_format_parse("--format", value, &job->opts.format, err);
    case O_WHAT: return plot_what_parse("--what", value, &job->what, err);
    case O_SIZE: return plot_size_parse("--size", value, &job->opts, err);
    case O_DPI: return vt_flag_int("--dpi", value, 30, 1200, &job->opts.dpi, err);
    case O_TITLE: job->opts.title = value; return VT_OK;
    case O_NORMALIZE: job->view.normalize = 1; return VT_OK;
    case O_FOLD: job->view.fold = 1; return VT_OK;
    case O_CLASSES: return parse_classes(value, &job->view, err);
    case O_SAMPLES: return vt_flag_int("--samples", value, 1, PLOT_MAX_SAMPLES, &job->view.samples_count, err);
    case O_MISSED: job->view.misclassified = 1; return VT_OK;
    case O_DATA: return vt_flag_path("--data", value, &job->view.data_dir, err);
    }
    return vt_fail(err, VT_EINTERNAL, "option %d has no parser", key);
}

static void report(void *ctx, const char *text, int note)
{
    (void)ctx;
    if (note)
        fprintf(stderr, "vggtop plot: skipped: %s\n", text);
    else
        printf("%s\n", text);
}

static int cmd_plot(int argc, char **argv, vt_err *err)
{
    plot_job job;
    memset(&job, 0, sizeof job);
    plot_opts_default(&job.opts);
    plot_view_default(&job.view);
    job.what = PLOT_ALL_RUN | PLOT_ALL_COMPARE | PLOT_WHAT_ALL;
    int done;
    int rc = cli_parse(&cli_plot_command, options, argc, argv, set_option, &job, &done, err);
    if (rc != VT_OK || done)
        return rc;
    if ((rc = cli_positional(&cli_plot_command, argc, argv, 1, 4096, "at least one RUN_DIR", err)) != VT_OK)
        return rc;
    int w, h;
    plot_pixels(&job.opts, &w, &h);
    if (job.opts.format == PLOT_PNG && (w > PLOT_MAX_PIXELS || h > PLOT_MAX_PIXELS))
        return vt_fail(err, VT_EUSAGE, "--size and --dpi: %dx%d pixels is larger than %d a side", w, h, PLOT_MAX_PIXELS);
    job.runs = (const char *const *)argv + optind;
    job.n_runs = argc - optind;
    return plot_write(&job, report, NULL, err);
}

const cli_command cli_plot_command = {
    .name = "plot",
    .run = cmd_plot,
    .summary = "write a run's figures (accuracy, loss, confusion, ROC, ...) as PNG, SVG or PDF files",
    .usage = "usage: vggtop plot RUN_DIR... | SWEEP_DIR [--out DIR] [--format png|svg|pdf] [--what LIST]\n"
             "                   [--size WxH] [--dpi N] [--title TEXT] [--normalize] [--fold] [--classes LIST]\n"
             "                   [--samples N] [--misclassified] [--data DIR]\n",
    .about = "Writes the seed's figures of each run as files and prints each path: accuracy, loss, mse and top-5\n"
             "(train against validation per epoch), the confusion heatmap, ROC curves with the micro and macro\n"
             "averages and their zoom on the upper-left corner, test images with their true and predicted class,\n"
             "per-class F1 sorted; with several runs, val_acc, val_loss and val_mse of every run on one chart each.\n"
             "A sweep folder (vggtop sweep's) gets one figure, sweep.<format>: each trial's best val_acc against each\n"
             "swept setting, a panel a setting, the best trial marked (the Sweep screen's panels; P there saves it).\n",
    .options = options,
    .notes = "A figure a run lacks the file for is skipped with one line naming it. Exit status 2 for a bad flag, a\n"
             "run directory that cannot be read, a folder that cannot be written, or a figure asked for by name\n"
             "that cannot be drawn; a file is written whole or not at all.\n",
    .flags = CLI_NO_MODEL,
};
