/* cli/roc: `vggtop roc RUN_DIR`, one-vs-rest ROC AUC per class and its micro and macro averages; with --csv the
 * curves' points themselves, so the seed's ROC figure can be drawn elsewhere. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "vggtop/metrics.h"
#include "vggtop/train.h"

static const cli_option options[] = {
    {"digits", RUN_O_DIGITS, "N", "decimals (default 4)", NULL, NULL},
    {"csv", RUN_O_CSV, NULL, "the curves' points, tidy: class,fpr,tpr,threshold (each class, then micro and macro)",
     NULL, NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

static void print_aucs(const run_data *run, const roc_curve *curves, int C, double micro, double macro, int digits)
{
    int width = 5;
    char b[16];
    for (int c = 0; c < C; c++) {
        int len = (int)strlen(run_class_name(run, c, b, sizeof b));
        if (len > width)
            width = len;
    }
    printf("%5s  %-*s  %s\n", "class", width, "name", "auc");
    for (int c = 0; c < C; c++) {
        if (isnan(curves[c].auc))
            printf("%5d  %-*s  n/a (no positive or no negative samples)\n", c, width,
                   run_class_name(run, c, b, sizeof b));
        else
            printf("%5d  %-*s  %.*f\n", c, width, run_class_name(run, c, b, sizeof b), digits, curves[c].auc);
    }
    printf("\nmicro AUC:                      %.*f\n", digits, micro);
    printf("macro AUC (interpolated):       %.*f\n", digits, macro);
    printf("macro AUC (mean):               %.*f\n", digits, metrics_auc_macro_mean(curves, C));
}

/* A number of the CSV: "nan" for NaN (a class without positives has no TPR), as pandas and numpy read it. */
static void print_number(double v, const char *end)
{
    if (isnan(v))
        printf("nan%s", end);
    else
        printf("%.9g%s", v, end);
}

/* One curve's rows; name quoted when it holds a comma or a quote (CSV's rule). No thresholds: the column empty. */
static void print_curve_rows(const char *name, const roc_curve *c)
{
    int quote = strpbrk(name, ",\"") != NULL;
    for (long i = 0; i < c->n; i++) {
        if (quote) {
            putchar('"');
            for (const char *p = name; *p; p++)
                printf(*p == '"' ? "\"\"" : "%c", *p);
            putchar('"');
        } else {
            fputs(name, stdout);
        }
        putchar(',');
        print_number(c->fpr[i], ",");
        print_number(c->tpr[i], ",");
        if (c->thresholds)
            print_number(c->thresholds[i], "");
        putchar('\n');
    }
}

/* The tidy CSV of every curve: each class's (by name), then "micro" and "macro" (which has no thresholds). */
static void print_points(const run_data *run, const roc_curve *curves, int C, const roc_curve *micro,
                         const roc_curve *macro)
{
    char b[16];
    printf("class,fpr,tpr,threshold\n");
    for (int c = 0; c < C; c++)
        print_curve_rows(run_class_name(run, c, b, sizeof b), &curves[c]);
    print_curve_rows("micro", micro);
    print_curve_rows("macro", macro);
}

static int cmd_roc(int argc, char **argv, vt_err *err)
{
    run_opts o;
    int done;
    int rc = cli_run_parse(&cli_roc_command, argc, argv, 1, 1, &o, &done, err);
    if (rc != VT_OK || done)
        return rc;
    run_data run;
    if ((rc = cli_load_run(argv[optind], RUN_PART_CONFIG | RUN_PART_PREDICTIONS, &run, err)))
        return rc;
    if (run.n_pred == 0) { /* an empty test set: nothing to score is a normal answer, not an error */
        printf("no test predictions in %s: no ROC curve to compute\n", argv[optind]);
        run_free(&run);
        return VT_OK;
    }
    int C = run.pred_classes;
    roc_curve *curves = calloc((size_t)C, sizeof *curves);
    roc_curve micro = {0}, macro = {0};
    int bad = !curves;
    for (int c = 0; !bad && c < C; c++)
        bad = metrics_roc_class(run.probs, run.y_true, run.n_pred, C, c, &curves[c]) != 0;
    bad = bad || metrics_roc_micro(run.probs, run.y_true, run.n_pred, C, &micro) != 0 ||
          metrics_roc_macro(curves, C, &macro) != 0;
    if (bad)
        rc = vt_fail(err, VT_EIO, "out of memory");
    else if (o.csv)
        print_points(&run, curves, C, &micro, &macro);
    else
        print_aucs(&run, curves, C, micro.auc, macro.auc, o.digits < 0 ? 4 : o.digits);
    for (int c = 0; curves && c < C; c++)
        metrics_roc_free(&curves[c]);
    free(curves);
    metrics_roc_free(&micro);
    metrics_roc_free(&macro);
    run_free(&run);
    return rc;
}

const cli_command cli_roc_command = {
    .name = "roc",
    .run = cmd_roc,
    .summary = "print a run's per-class, micro and macro ROC AUC",
    .usage = "usage: vggtop roc RUN_DIR [--digits N] [--csv]\n",
    .about = "One-vs-rest ROC AUC of every class from the run's last evaluation (predictions.csv), the micro\n"
             "average (all class/score pairs pooled), the macro average of the interpolated curves (the seed's\n"
             "recipe), and the mean of the per-class AUCs (roc_auc_score's macro). --csv prints the curves' points\n"
             "instead (roc_curve's fpr, tpr and thresholds; the macro curve has no thresholds).\n",
    .options = options,
    .flags = CLI_NO_MODEL,
};
