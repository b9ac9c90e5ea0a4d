/* cli/evaluate: `vggtop evaluate RUN_DIR`, the test set predicted again from a run's checkpoint. */
#include <getopt.h>
#include <stdio.h>

#include "cli_internal.h"
#include "vggtop/train.h"

static const cli_option options[] = {
    {"threads", RUN_O_THREADS, "N", "threads of the computation (default: the run's setting)", NULL, NULL},
    {"best", RUN_O_BEST, NULL, "the best epoch's checkpoint (best.bin, kept by vggtop train --save-best) instead of "
                               "the last", NULL, NULL},
    {"data", RUN_O_DATA, "DIR", "the run's data set at another path (it moved since training, or this machine keeps "
                                "it elsewhere)", "It must be the data set the run was made with (config.json keeps its fingerprint), with as many test images as then.",
     NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

static int cmd_evaluate(int argc, char **argv, vt_err *err)
{
    run_opts o;
    int done;
    int rc = cli_run_parse(&cli_evaluate_command, argc, argv, 1, 1, &o, &done, err);
    if (rc != VT_OK || done)
        return rc;
    train_epoch m;
    long n;
    rc = run_evaluate(argv[optind], o.data, o.threads, o.best ? RUN_BEST : RUN_CHECKPOINT, &m, &n, err);
    if (rc != VT_OK)
        return rc;
    train_config cfg;
    char note[200];
    vt_err ignored;
    if (train_config_load(argv[optind], &cfg, &ignored) == VT_OK &&
        train_data_check(&cfg, NULL, note, sizeof note, &ignored) == VT_OK && note[0])
        fprintf(stderr, "vggtop evaluate: %s\n", note);
    printf("%ld test images - val_loss: %.4f - val_acc: %.4f - val_mse: %.4f - val_top_k_categorical_accuracy: %.4f\n",
           n, m.val_loss, m.val_acc, m.val_mse, m.val_top5);
    return VT_OK;
}

const cli_command cli_evaluate_command = {
    .name = "evaluate",
    .run = cmd_evaluate,
    .summary = "re-evaluate a run's checkpoint on the test set",
    .usage = "usage: vggtop evaluate RUN_DIR [--threads N] [--best] [--data DIR]\n",
    .about = "Loads the run's checkpoint and data set, predicts the test set again, rewrites predictions.csv,\n"
             "predictions.json (the epoch of the weights), report.txt and confusion.csv, and prints val_loss, val_acc\n"
             "and val_mse.\n",
    .options = options,
};
