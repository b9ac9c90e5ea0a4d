/* cli/history: `vggtop history RUN_DIR`, a run's per-epoch history. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>

#include "cli_internal.h"
#include "vggtop/train.h"

static const cli_option options[] = {
    {"csv", RUN_O_CSV, NULL, "print history.csv as it is", NULL, NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

static void print_table(const run_data *run)
{
    if (run->parts & RUN_PART_CONFIG)
        printf("%s on %s: %d of %d epoch%s\n", run->config.model, run->dataset, run->n_history, run->config.epochs,
               run->config.epochs == 1 ? "" : "s");
    printf("%5s %8s %7s %7s %7s %9s %8s %8s %8s %9s %8s\n", "epoch", "loss", "acc", "mse", "top5", "val_loss",
           "val_acc", "val_mse", "val_top5", "lr", "seconds");
    for (int i = 0; i < run->n_history; i++) {
        const train_epoch *r = &run->history[i];
        char t5[16] = "-", v5[16] = "-"; /* "-": an epoch from before vggtop measured top-5 */
        if (!isnan(r->top5))
            snprintf(t5, sizeof t5, "%.4f", r->top5);
        if (!isnan(r->val_top5))
            snprintf(v5, sizeof v5, "%.4f", r->val_top5);
        printf("%5d %8.4f %7.4f %7.4f %7s %9.4f %8.4f %8.4f %8s %9.3g %8.1f\n", i + 1, r->loss, r->acc, r->mse, t5,
               r->val_loss, r->val_acc, r->val_mse, v5, r->lr, r->seconds);
    }
    if ((run->parts & RUN_PART_PROGRESS) && run->progress.state != TRAIN_FINISHED)
        printf("state: %s%s%s\n", train_state_name(run->progress.state), run->progress.message[0] ? ": " : "",
               run->progress.message);
}

static int cmd_history(int argc, char **argv, vt_err *err)
{
    run_opts o;
    int done;
    int rc = cli_run_parse(&cli_history_command, argc, argv, 1, 1, &o, &done, err);
    if (rc != VT_OK || done)
        return rc;
    run_data run;
    /* history.csv is what it shows; a damaged config.json or progress.json is named and done without. */
    if ((rc = cli_load_run_sound(argv[optind], RUN_PART_HISTORY, RUN_PART_CONFIG | RUN_PART_PROGRESS, &run, err)))
        return rc;
    if (o.csv)
        run_history_csv(stdout, run.history, run.n_history);
    else
        print_table(&run);
    run_free(&run);
    return VT_OK;
}

const cli_command cli_history_command = {
    .name = "history",
    .run = cmd_history,
    .summary = "print a run's per-epoch history",
    .usage = "usage: vggtop history RUN_DIR [--csv]\n",
    .about = "The run's per-epoch history (history.csv): loss, acc, mse and their val_ twins, learning rate,\n"
             "seconds.\n",
    .options = options,
    .flags = CLI_NO_MODEL,
};
