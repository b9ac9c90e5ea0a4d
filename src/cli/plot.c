/* cli/plot: `vggtop plot RUN... [--out DIR] [--format png|svg|pdf] [--what LIST] ...`, the seed's figures as
 * files (the work is plot_write in src/plot). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vggtop/cli.h"
#include "vggtop/plot.h"

static const char plot_help[] =
    "usage: vggtop plot RUN_DIR... [OPTIONS]\n"
    "Writes the seed's figures of each run as image files: accuracy, loss, mse and top-5 (train against\n"
    "validation), the confusion heatmap, ROC curves and their zoom, test images with their classes, per-class F1;\n"
    "and with several runs val_acc, val_loss and val_mse of every run on one chart each. Prints each file written.\n"
    "  --out DIR         the folder (default: RUN_DIR/figures for one run, ./figures for several)\n"
    "  --format F        png (default), svg or pdf\n"
    "  --what LIST       figures, comma-separated: accuracy, loss, mse, top5, confusion, roc, roc-zoom, samples,\n"
    "                    f1, val_acc, val_loss, val_mse, or history, compare, all (default)\n"
    "  --size WxH        the figure's size in inches (default 8x6, the seed's)\n"
    "  --dpi N           PNG pixels per inch (default 150: 1200x900 pixels)\n"
    "  --title TEXT      one title for every figure written\n"
    "  --normalize       the confusion matrix normalised over each true class\n"
    "  --fold            the confusion matrix of CIFAR-100's 20 superclasses\n"
    "  --classes LIST    the classes on the ROC figures, by number (default 0,1,2 as the seed)\n"
    "  --samples N       test images on the samples figure (default 16, at most 36)\n"
    "  --misclassified   only misclassified test images\n"
    "  --data DIR        where the run's data set is now (for the test images), when it has moved\n"
    "Exit status 2 for a bad flag, a run directory that cannot be read, a folder that cannot be written, or a\n"
    "figure asked for by name that a run lacks the files for (each skipped figure is one line on stderr).\n";

enum { O_OUT = 256, O_FORMAT, O_WHAT, O_SIZE, O_DPI, O_TITLE, O_NORMALIZE, O_FOLD, O_CLASSES, O_SAMPLES, O_MISSED, O_DATA };

static const struct option plot_options[] = {
    {"out", required_argument, NULL, O_OUT},         {"format", required_argument, NULL, O_FORMAT},
    {"what", required_argument, NULL, O_WHAT},       {"size", required_argument, NULL, O_SIZE},
    {"dpi", required_argument, NULL, O_DPI},         {"title", required_argument, NULL, O_TITLE},
    {"normalize", no_argument, NULL, O_NORMALIZE},   {"fold", no_argument, NULL, O_FOLD},
    {"classes", required_argument, NULL, O_CLASSES}, {"samples", required_argument, NULL, O_SAMPLES},
    {"misclassified", no_argument, NULL, O_MISSED},  {"data", required_argument, NULL, O_DATA},
    {"help", no_argument, NULL, 'h'},                {NULL, 0, NULL, 0},
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

static int parse(int argc, char **argv, plot_job *job, int *done, vt_err *err)
{
    *done = 0;
    memset(job, 0, sizeof *job);
    plot_opts_default(&job->opts);
    plot_view_default(&job->view);
    job->what = PLOT_ALL_RUN | PLOT_ALL_COMPARE | PLOT_WHAT_ALL;
    opterr = 0;
    optind = 1;
    int c;
    long l;
    while ((c = getopt_long(argc, argv, ":h", plot_options, NULL)) != -1) {
        int rc = VT_OK;
        switch (c) {
        case 'h':
            fputs(plot_help, stdout);
            *done = 1;
            return VT_OK;
        case ':':
            return vt_fail(err, VT_EUSAGE, "%s needs a value (see vggtop plot --help)", argv[optind - 1]);
        case '?':
            return vt_fail(err, VT_EUSAGE, "unknown option '%.64s' (see vggtop plot --help)", argv[optind - 1]);
        case O_OUT: job->out = optarg; break;
        case O_FORMAT: rc = plot_format_parse("--format", optarg, &job->opts.format, err); break;
        case O_WHAT: rc = plot_what_parse("--what", optarg, &job->what, err); break;
        case O_SIZE: rc = plot_size_parse("--size", optarg, &job->opts, err); break;
        case O_DPI:
            rc = vt_flag_long("--dpi", optarg, 30, 1200, &l, err);
            job->opts.dpi = (int)l;
            break;
        case O_TITLE: job->opts.title = optarg; break;
        case O_NORMALIZE: job->view.normalize = 1; break;
        case O_FOLD: job->view.fold = 1; break;
        case O_CLASSES: rc = parse_classes(optarg, &job->view, err); break;
        case O_SAMPLES:
            rc = vt_flag_long("--samples", optarg, 1, PLOT_MAX_SAMPLES, &l, err);
            job->view.samples_count = (int)l;
            break;
        case O_MISSED: job->view.misclassified = 1; break;
        case O_DATA: job->view.data_dir = optarg; break;
        default: return vt_fail(err, VT_EINTERNAL, "option %d has no handler", c);
        }
        if (rc != VT_OK)
            return rc;
    }
    if (optind >= argc)
        return vt_fail(err, VT_EUSAGE, "give at least one run directory (see vggtop plot --help)");
    int w, h;
    plot_pixels(&job->opts, &w, &h);
    if (job->opts.format == PLOT_PNG && (w > PLOT_MAX_PIXELS || h > PLOT_MAX_PIXELS))
        return vt_fail(err, VT_EUSAGE, "--size and --dpi: %dx%d pixels is larger than %d a side", w, h, PLOT_MAX_PIXELS);
    job->runs = (const char *const *)argv + optind;
    job->n_runs = argc - optind;
    return VT_OK;
}

static void report(void *ctx, const char *text, int note)
{
    (void)ctx;
    if (note)
        fprintf(stderr, "vggtop plot: skipped: %s\n", text);
    else
        printf("%s\n", text);
}

int cli_plot(int argc, char **argv)
{
    plot_job job;
    int done;
    vt_err err;
    int rc = parse(argc, argv, &job, &done, &err);
    if (rc == VT_OK && !done)
        rc = plot_write(&job, report, NULL, &err);
    if (rc != VT_OK)
        fprintf(stderr, "vggtop plot: %s\n", err.msg);
    return vt_exit_status(rc);
}
