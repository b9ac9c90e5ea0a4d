/* cli/diff: `vggtop diff RUN_A RUN_B`, what changed from one run's last evaluation to another's: every class's
 * precision, recall and F1 in both with the change, sorted by the change of F1, the classes that got better and
 * worse most, and the confusion pairs that grew and shrank most; --coarse for CIFAR-100's 20 superclasses.
 * The numbers are metrics_diff_runs' (src/metrics/diff.c); this file loads, checks and prints. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "vggtop/metrics.h"
#include "vggtop/train.h"

/* The classes named on the "better most" and "worse most" lines. */
enum { DIFF_NAMED = 5 };

static const cli_option options[] = {
    {"digits", RUN_O_DIGITS, "N", "decimals of the text (default 3)", NULL, NULL},
    {"top", RUN_O_TOP, "N", "confusion pairs listed of those that grew and of those that shrank (default 20)", NULL,
     NULL},
    {"coarse", RUN_O_COARSE, NULL, "CIFAR-100: both runs' confusion matrices folded into the 20 superclasses first",
     NULL, NULL},
    {"csv", RUN_O_CSV, NULL,
     "the per-class table: class,precision_a,precision_b,precision_change,recall_a,recall_b,recall_change,f1_a,f1_b,"
     "f1_change,support_a,support_b",
     NULL, NULL},
    {"json", RUN_O_JSON, NULL, "everything: accuracy, macro and weighted F1, the classes, the pairs that grew and shrank",
     NULL, NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

/* The two runs must be of the same classes: the same count and, where both name them, the same names. */
static int check_classes(char **dirs, const run_data *a, const run_data *b, int coarse, vt_err *err)
{
    if (a->pred_classes != b->pred_classes)
        return vt_fail(err, VT_EUSAGE, "%s has %d classes and %s %d: not the same task", dirs[0], a->pred_classes,
                       dirs[1], b->pred_classes);
    for (int c = 0; a->class_names && b->class_names && c < a->classes && c < b->classes; c++)
        if (strcmp(a->class_names[c], b->class_names[c]) != 0)
            return vt_fail(err, VT_EUSAGE, "class %d is '%s' in %s and '%s' in %s: not the same classes", c,
                           a->class_names[c], dirs[0], b->class_names[c], dirs[1]);
    for (int i = 0; coarse && i < 2; i++) {
        const run_data *r = i ? b : a;
        if (!r->fine_to_coarse || r->classes != r->pred_classes)
            return vt_fail(err, VT_EUSAGE, "--coarse: %s has no superclasses (only CIFAR-100 with fine labels)",
                           dirs[i]);
    }
    /* Another test set (another --limit-test, another data set of the same classes) still compares class by
     * class; the pair counts are then counts of other images. Said, not refused. */
    if (a->n_pred != b->n_pred || memcmp(a->y_true, b->y_true, sizeof *a->y_true * (size_t)a->n_pred) != 0)
        fprintf(stderr, "vggtop diff: note: the runs were evaluated on different test sets (%ld and %ld images)\n",
                a->n_pred, b->n_pred);
    return VT_OK;
}

static int print_diff(char **dirs, const run_data *a, const run_data *b, const run_opts *o, vt_err *err)
{
    metrics_diff d;
    if (metrics_diff_predictions(a->y_true, a->y_pred, a->n_pred, b->y_true, b->y_pred, b->n_pred, a->pred_classes,
                                 o->coarse ? a->fine_to_coarse : NULL, a->coarse_classes, o->top, &d) != 0)
        return vt_fail(err, VT_EIO, "out of memory");
    const char *const *names = (const char *const *)(o->coarse ? a->coarse_names : a->class_names);
    char *text = o->csv    ? metrics_diff_csv(&d, names)
                 : o->json ? metrics_diff_json(&d, names)
                           : metrics_diff_text(&d, names, o->digits < 0 ? 3 : o->digits, DIFF_NAMED);
    int rc = text ? VT_OK : vt_fail(err, VT_EIO, "out of memory");
    if (text && !o->csv && !o->json)
        for (int i = 0; i < 2; i++) {
            const run_data *r = i ? b : a;
            printf("%c  %s", i ? 'B' : 'A', dirs[i]);
            if (r->pred_epoch >= 0)
                printf("  (the evaluation after epoch %d)", r->pred_epoch);
            printf("\n");
        }
    if (text)
        fputs(text, stdout);
    free(text);
    metrics_diff_free(&d);
    return rc;
}

static int cmd_diff(int argc, char **argv, vt_err *err)
{
    run_opts o;
    int done;
    int rc = cli_run_parse(&cli_diff_command, argc, argv, 2, 2, &o, &done, err);
    if (rc != VT_OK || done)
        return rc;
    char **dirs = argv + optind;
    run_data a, b;
    if ((rc = cli_load_run(dirs[0], RUN_PART_CONFIG | RUN_PART_PREDICTIONS, &a, err)) != VT_OK)
        return rc;
    if ((rc = cli_load_run(dirs[1], RUN_PART_CONFIG | RUN_PART_PREDICTIONS, &b, err)) != VT_OK) {
        run_free(&a);
        return rc;
    }
    if ((rc = check_classes(dirs, &a, &b, o.coarse, err)) == VT_OK)
        rc = print_diff(dirs, &a, &b, &o, err);
    run_free(&a);
    run_free(&b);
    return rc;
}

const cli_command cli_diff_command = {
    .name = "diff",
    .run = cmd_diff,
    .summary = "what changed class by class from one run to another",
    .usage = "usage: vggtop diff RUN_A RUN_B [--digits N] [--top N] [--coarse] [--csv | --json]\n",
    .about = "Both runs' last evaluations (predictions.csv) compared: every class's precision, recall and F1 in A\n"
             "and B with the change (B - A), the most improved F1 first, the classes that got better and worse\n"
             "most, and the confusion pairs (true -> predicted) whose counts grew and shrank most.\n",
    .options = options,
    .flags = CLI_NO_MODEL,
};
