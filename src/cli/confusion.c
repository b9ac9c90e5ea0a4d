/* cli/confusion: `vggtop confusion RUN_DIR`, the most confused pairs of a run's last evaluation or its whole
 * confusion matrix, optionally folded into CIFAR-100's superclasses. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "vggtop/metrics.h"
#include "vggtop/train.h"

static const cli_option options[] = {
    {"top", RUN_O_TOP, "N", "pairs to list (default 20)", NULL, NULL},
    {"csv", RUN_O_CSV, NULL, "the C x C matrix of counts (rows = true class, as confusion.csv)", NULL, NULL},
    {"coarse", RUN_O_COARSE, NULL, "CIFAR-100: fold the 100 fine classes into the 20 superclasses first", NULL, NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

/* The pairs, most confused first, with the share of the true class. */
static void print_pairs(const long *cm, int C, char *const *names, confused_pair *pairs, int top)
{
    int n = metrics_confused_pairs(cm, C, pairs, top);
    long total = 0, right = 0;
    for (int t = 0; t < C; t++)
        for (int p = 0; p < C; p++) {
            total += cm[(size_t)t * (size_t)C + (size_t)p];
            right += t == p ? cm[(size_t)t * (size_t)C + (size_t)p] : 0;
        }
    printf("%ld test images, %ld misclassified; most confused pairs (true -> predicted):\n", total, total - right);
    int width = 4;
    char b1[16], b2[16];
    for (int i = 0; i < n; i++) {
        int len = (int)strlen(cli_name_or_number(names, pairs[i].true_class, b1, sizeof b1));
        width = len > width ? len : width;
    }
    for (int i = 0; i < n; i++) {
        const char *tn = cli_name_or_number(names, pairs[i].true_class, b1, sizeof b1);
        const char *pn = cli_name_or_number(names, pairs[i].pred_class, b2, sizeof b2);
        printf("%4ld  %*s -> %-*s %5.1f%% of %s\n", pairs[i].count, width, tn, width, pn, 100.0 * pairs[i].share, tn);
    }
    if (n == 0)
        printf("  (none: every test image is classified correctly)\n");
}

static int cmd_confusion(int argc, char **argv, vt_err *err)
{
    run_opts o;
    int done;
    int rc = cli_run_parse(&cli_confusion_command, argc, argv, 1, 1, &o, &done, err);
    if (rc != VT_OK || done)
        return rc;
    run_data run;
    if ((rc = cli_load_run(argv[optind], RUN_PART_CONFIG | RUN_PART_PREDICTIONS, &run, err)))
        return rc;
    int C = run.pred_classes;
    long *cm = calloc((size_t)C * (size_t)C, sizeof *cm);
    char **names = run.class_names;
    if (cm)
        metrics_confusion(run.y_true, run.y_pred, run.n_pred, C, cm);
    if (cm && o.coarse && (!run.fine_to_coarse || run.classes != C)) {
        rc = vt_fail(err, VT_EUSAGE, "--coarse: %s has no superclasses (only CIFAR-100 with fine labels)",
                     argv[optind]);
    } else if (cm && o.coarse) {
        long *folded = calloc((size_t)run.coarse_classes * (size_t)run.coarse_classes, sizeof *folded);
        if (folded)
            metrics_confusion_fold(cm, C, run.fine_to_coarse, run.coarse_classes, folded);
        free(cm);
        cm = folded;
        C = run.coarse_classes;
        names = run.coarse_names;
    }
    confused_pair *pairs = cm && rc == VT_OK ? malloc(sizeof *pairs * (size_t)o.top) : NULL;
    if (rc == VT_OK && (!cm || !pairs))
        rc = vt_fail(err, VT_EIO, "out of memory");
    else if (rc == VT_OK && o.csv) {
        for (int t = 0; t < C; t++)
            for (int p = 0; p < C; p++)
                printf("%ld%c", cm[(size_t)t * (size_t)C + (size_t)p], p + 1 < C ? ',' : '\n');
    } else if (rc == VT_OK)
        print_pairs(cm, C, names, pairs, o.top);
    free(pairs);
    free(cm);
    run_free(&run);
    return rc;
}

const cli_command cli_confusion_command = {
    .name = "confusion",
    .run = cmd_confusion,
    .summary = "print a run's most confused pairs or its confusion matrix",
    .usage = "usage: vggtop confusion RUN_DIR [--top N] [--csv] [--coarse]\n",
    .about = "The most confused pairs of the run's last evaluation (true -> predicted, count, share of the true\n"
             "class), or with --csv the whole matrix (rows = true class, columns = predicted, as confusion.csv).\n",
    .options = options,
    .flags = CLI_NO_MODEL,
};
