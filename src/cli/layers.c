/* cli/layers: `vggtop layers RUN_DIR`, the layer health of an epoch from layers.csv. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_internal.h"
#include "vggtop/train.h"

static const cli_option options[] = {
    {"epoch", RUN_O_EPOCH, "N", "that epoch's rows (default the last)", NULL, NULL},
    {"csv", RUN_O_CSV, NULL, "the rows of layers.csv as they are (every epoch, or the one asked for)", NULL, NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

static void print_health(const char *dir, const run_layer_row *rows, long n, int epoch)
{
    printf("epoch %d of %s\n%-16s %10s %10s %10s %8s %10s %10s\n", epoch, dir, "layer", "weight", "gradient", "update",
           "dead", "act mean", "act std");
    int flagged = 0;
    for (long i = 0; i < n; i++) {
        if (rows[i].epoch != epoch)
            continue;
        int vanishing = run_layer_vanishing(rows, n, i);
        flagged += vanishing;
        char dead[16] = "-";
        if (!isnan(rows[i].dead_relu))
            snprintf(dead, sizeof dead, "%.1f%%", 100 * rows[i].dead_relu);
        /* the flag only where it is: no trailing blanks on the other rows */
        printf("%-16s %10.4g %10.4g %10.3g %8s %10.4g %10.4g%s\n", rows[i].layer, rows[i].weight_norm,
               rows[i].grad_norm, rows[i].update_ratio, dead, rows[i].act_mean, rows[i].act_std,
               vanishing ? "  vanishing" : "");
    }
    char advice[512];
    if (flagged)
        printf("\n%s\n", run_layers_advice(advice, sizeof advice, flagged));
}

static int cmd_layers(int argc, char **argv, vt_err *err)
{
    run_opts o;
    int done;
    int rc = cli_run_parse(&cli_layers_command, argc, argv, 1, 1, &o, &done, err);
    if (rc != VT_OK || done)
        return rc;
    const char *dir = argv[optind];
    run_data run;
    if ((rc = cli_load_run(dir, RUN_PART_CONFIG, &run, err)))
        return rc;
    run_free(&run);
    run_layer_row *rows;
    long n;
    if ((rc = run_read_layers(dir, &rows, &n, err)) != VT_OK)
        return rc;
    int last = 0;
    for (long i = 0; i < n; i++)
        last = rows[i].epoch > last ? rows[i].epoch : last;
    int epoch = o.epoch ? o.epoch : last;
    if (n == 0 || (o.epoch && o.epoch > last))
        rc = vt_fail(err, VT_EUSAGE, "%s: no layer statistics%s in %s yet (they are written after each epoch)", dir,
                     o.epoch ? " of that epoch" : "", RUN_LAYERS);
    else if (o.csv) {
        printf("%s\n", LAYERS_HEADER);
        for (long i = 0; i < n; i++)
            if (!o.epoch || rows[i].epoch == epoch)
                printf("%d,%s,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n", rows[i].epoch, rows[i].layer, rows[i].weight_norm,
                       rows[i].grad_norm, rows[i].update_ratio, rows[i].dead_relu, rows[i].act_mean, rows[i].act_std);
    } else
        print_health(dir, rows, n, epoch);
    free(rows);
    return rc;
}

const cli_command cli_layers_command = {
    .name = "layers",
    .run = cmd_layers,
    .summary = "print a run's layer health per epoch (gradient norms, dead ReLUs)",
    .usage = "usage: vggtop layers RUN_DIR [--epoch N] [--csv]\n",
    .about = "Layer health of an epoch (default the last) from layers.csv: per weighted layer its weight and\n"
             "gradient norms, the update ratio (lr x gradient / weight), the share of dead (zero) ReLU outputs and\n"
             "the mean and std of its outputs. A layer is flagged as vanishing when its gradient norm is below 1% of\n"
             "the largest layer's that epoch, or below 1% of its own in the first epoch.\n",
    .options = options,
    .flags = CLI_NO_MODEL,
};
