/* cli/report: `vggtop report RUN_DIR`, the classification report of a run's last evaluation, of an earlier
 * epoch (--epoch, from per_class.csv) or one class epoch by epoch (--history). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "vggtop/metrics.h"
#include "vggtop/train.h"

static const cli_option options[] = {
    {"digits", RUN_O_DIGITS, "N", "decimals of the text report (default 2)", NULL, NULL},
    {"csv", RUN_O_CSV, NULL, "class,precision,recall,f1-score,support", NULL, NULL},
    {"json", RUN_O_JSON, NULL, "scikit-learn's output_dict shape", NULL, NULL},
    {"all", RUN_O_ALL, NULL, "a row for every class, even one absent from the test set (labels=range(C))", NULL,
     NULL},
    {"epoch", RUN_O_EPOCH, "N",
     "the report of epoch N's evaluation, from per_class.csv (every class: labels=range(C))", NULL, NULL},
    {"history", RUN_O_HISTORY, "CLASS",
     "one class (its name or number) epoch by epoch: precision, recall, F1, support",
     "Either of --epoch and --history exits with status 2 when per_class.csv has no such epoch or class (a run from "
     "before the file existed has none).",
     NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

/* The report of r as the options ask for it, printed; VT_EIO when out of memory. */
static int print_report(const report *r, char *const *class_names, const run_opts *o, const char *title,
                        vt_err *err)
{
    const char *const *names = (const char *const *)class_names;
    char *text = o->csv    ? metrics_report_csv(r, names)
                 : o->json ? metrics_report_json(r, names)
                           : metrics_report_text(r, names, o->digits < 0 ? 2 : o->digits);
    if (!text)
        return vt_fail(err, VT_EIO, "out of memory");
    if (title && !o->csv && !o->json)
        printf("%s\n", title);
    fputs(text, stdout);
    if (*text && text[strlen(text) - 1] != '\n')
        putchar('\n');
    free(text);
    return VT_OK;
}

/* A class by name or number. -1 when it is neither. */
static int find_class(const run_data *run, const char *what)
{
    for (int c = 0; run->class_names && c < run->classes; c++)
        if (strcmp(run->class_names[c], what) == 0)
            return c;
    long v;
    return vt_parse_long(what, 0, run->classes - 1, &v) == 0 ? (int)v : -1;
}

/* --history CLASS: the class's rows of per_class.csv, epoch by epoch, with the F1's trend. */
static int class_history(const char *dir, const run_data *run, const run_class_row *rows, long n, const run_opts *o,
                         vt_err *err)
{
    int cls = find_class(run, o->history);
    if (cls < 0)
        return vt_fail(err, VT_EUSAGE, "--history: '%s' is neither a class name of %s nor a number in 0..%d",
                       o->history, dir, run->classes - 1);
    long found = 0;
    for (long i = 0; i < n; i++)
        found += rows[i].cls == cls;
    char b[16];
    if (found == 0) /* no per_class.csv (a run from before it), or none of this class's rows */
        return vt_fail(err, VT_EUSAGE, "%s: no evaluation of class %s in %s", dir, run_class_name(run, cls, b, sizeof b),
                       RUN_PER_CLASS);
    printf("%s (class %d) by epoch\n%5s %9s %9s %9s %9s\n", run_class_name(run, cls, b, sizeof b), cls, "epoch",
           "precision", "recall", "f1-score", "support");
    int d = o->digits < 0 ? 4 : o->digits;
    double prev = NAN;
    for (long i = 0; i < n; i++) {
        if (rows[i].cls != cls)
            continue;
        const char *trend = isnan(prev) || rows[i].f1 == prev ? "" : rows[i].f1 > prev ? " up" : " down";
        printf("%5d %9.*f %9.*f %9.*f %9ld%s\n", rows[i].epoch, d, rows[i].precision, d, rows[i].recall, d, rows[i].f1,
               rows[i].support, trend);
        prev = rows[i].f1;
    }
    return VT_OK;
}

/* --epoch N: the report from that epoch's rows of per_class.csv. */
static int epoch_report(const char *dir, const run_data *run, const run_class_row *rows, long n, const run_opts *o,
                        vt_err *err)
{
    class_scores *sc = malloc(sizeof *sc * (size_t)(n ? n : 1));
    int *labels = malloc(sizeof *labels * (size_t)(n ? n : 1));
    int k = 0, rc = VT_OK;
    for (long i = 0; sc && labels && i < n; i++)
        if (rows[i].epoch == o->epoch && rows[i].cls < run->classes) {
            sc[k] = (class_scores){rows[i].precision, rows[i].recall, rows[i].f1, rows[i].support};
            labels[k++] = rows[i].cls;
        }
    report r;
    if (!sc || !labels)
        rc = vt_fail(err, VT_EIO, "out of memory");
    else if (k == 0)
        rc = vt_fail(err, VT_EUSAGE, "%s: no evaluation of epoch %d in %s", dir, o->epoch, RUN_PER_CLASS);
    else if (metrics_report_from_scores(sc, labels, k, &r) != 0)
        rc = VT_EIO;
    else {
        char title[32];
        snprintf(title, sizeof title, "epoch %d", o->epoch);
        rc = print_report(&r, run->class_names, o, title, err);
        metrics_report_free(&r);
    }
    free(sc);
    free(labels);
    return rc;
}

/* report --epoch N and --history CLASS, from per_class.csv. */
static int report_per_class(const char *dir, const run_opts *o, vt_err *err)
{
    if (o->epoch && o->history)
        return vt_fail(err, VT_EUSAGE, "--epoch and --history exclude each other");
    run_data run;
    int rc = cli_load_run(dir, RUN_PART_CONFIG, &run, err);
    if (rc)
        return rc;
    run_class_row *rows;
    long n;
    if ((rc = run_read_per_class(dir, &rows, &n, err)) == VT_OK) {
        rc = o->history ? class_history(dir, &run, rows, n, o, err) : epoch_report(dir, &run, rows, n, o, err);
        free(rows);
    }
    run_free(&run);
    return rc;
}

static int cmd_report(int argc, char **argv, vt_err *err)
{
    run_opts o;
    int done;
    int rc = cli_run_parse(&cli_report_command, argc, argv, 1, 1, &o, &done, err);
    if (rc != VT_OK || done)
        return rc;
    if (o.epoch || o.history)
        return report_per_class(argv[optind], &o, err);
    run_data run;
    if ((rc = cli_load_run(argv[optind], RUN_PART_CONFIG | RUN_PART_PREDICTIONS, &run, err)))
        return rc;
    int C = run.pred_classes;
    long *cm = calloc((size_t)C * (size_t)C, sizeof *cm);
    report r;
    rc = vt_fail(err, VT_EIO, "out of memory");
    if (cm) {
        metrics_confusion(run.y_true, run.y_pred, run.n_pred, C, cm);
        if (metrics_report(cm, C, o.all, &r) == 0) {
            rc = print_report(&r, run.class_names, &o, NULL, err);
            metrics_report_free(&r);
        }
    }
    free(cm);
    run_free(&run);
    return rc;
}

const cli_command cli_report_command = {
    .name = "report",
    .run = cmd_report,
    .summary = "print a run's per-class classification report",
    .usage = "usage: vggtop report RUN_DIR [--digits N] [--csv | --json] [--all] [--epoch N | --history CLASS]\n",
    .about = "The classification report of the run's last evaluation (predictions.csv), as scikit-learn's\n"
             "classification_report prints it, with the class names of config.json.\n",
    .options = options,
    .flags = CLI_NO_MODEL,
};
