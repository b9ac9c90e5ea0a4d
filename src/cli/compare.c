/* cli/compare: `vggtop compare RUN_DIR...`, each run's best and last val_acc and val_loss and its time, then
 * one metric of all runs per epoch as an ASCII chart (the front end's chart, drawn to text). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "vggtop/train.h"
#include "vggtop/tui.h"

/* The most runs one comparison takes. */
enum { MAX_RUNS = 64 };

static const cli_option options[] = {
    {"metric", RUN_O_METRIC, "NAME", "the charted metric: val_acc (default), val_loss, val_mse, val_top5, acc, loss, mse or top5",
     NULL,
     NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

static double metric_of(const train_epoch *r, const char *metric)
{
    if (strcmp(metric, "loss") == 0)
        return r->loss;
    if (strcmp(metric, "acc") == 0)
        return r->acc;
    if (strcmp(metric, "mse") == 0)
        return r->mse;
    if (strcmp(metric, "val_loss") == 0)
        return r->val_loss;
    if (strcmp(metric, "val_mse") == 0)
        return r->val_mse;
    if (strcmp(metric, "top5") == 0)
        return r->top5;
    if (strcmp(metric, "val_top5") == 0)
        return r->val_top5;
    return r->val_acc;
}

#define CHART_H 18
#define CHART_W 70

/* The front end's line chart (tui_chart_draw, ASCII mode: each run's points joined by its marker), printed
 * as text, then a legend line per run with its whole directory. */
static void print_chart(run_data *runs, int n, const char *metric)
{
    static const char symbols[] = "*+ox#@%=~^"; /* '&' is the chart's mark where runs meet */
    if (n < 1)
        return;
    int epochs = 0;
    for (int i = 0; i < n; i++)
        if (runs[i].n_history > epochs)
            epochs = runs[i].n_history;
    tui_series *series = calloc((size_t)n, sizeof *series);
    double *values = calloc((size_t)n * (size_t)(epochs ? epochs : 1), sizeof *values);
    tui_grid g = {0};
    if (epochs == 0 || !series || !values || tui_grid_init(&g, CHART_H, CHART_W) != 0) {
        free(series);
        free(values);
        return;
    }
    for (int i = 0; i < n; i++) {
        double *y = values + (size_t)i * (size_t)epochs;
        for (int e = 0; e < runs[i].n_history; e++)
            y[e] = metric_of(&runs[i].history[e], metric);
        series[i] = (tui_series){NULL, NULL, y, runs[i].n_history, ROLE_DEFAULT, symbols[i % (sizeof symbols - 1)]};
    }
    tui_chart chart = {NULL, series, n, 1, 0, 1, epochs > 1 ? epochs : 2, 0, 0, 4, 0, 1, NULL, 1};
    tui_chart_draw(&g, (tui_rect){0, 0, CHART_H, CHART_W}, &chart, 0);
    printf("\n%s per epoch\n", metric);
    char *line = malloc((size_t)CHART_W * 4 + 1);
    for (int r = 0; line && r < CHART_H; r++) {
        tui_grid_row_utf8(&g, r, line);
        size_t len = strlen(line);
        while (len > 0 && line[len - 1] == ' ')
            line[--len] = '\0';
        printf("%s%s\n", line, r == CHART_H - 1 ? "  (epoch)" : "");
    }
    /* Where two runs' curves meet the chart draws '&' (the later one would hide the earlier): say so. */
    int met = 0;
    for (int r = 0; r < CHART_H; r++)
        for (int col = 0; col < CHART_W; col++)
            met |= tui_grid_at(&g, r, col)->ch == '&';
    free(line);
    for (int i = 0; i < n; i++)
        printf("  %c  %s\n", symbols[i % (sizeof symbols - 1)], runs[i].dir);
    if (met)
        printf("  &  two or more runs in the same place\n");
    tui_grid_free(&g);
    free(series);
    free(values);
}

/* Loads the runs that have a finished epoch into runs (kept of them); the others are left out with a note:
 * `vggtop compare runs/<all>` meets runs just started or stopped early, which is no failure of the whole.
 * When none is left, that is the one line said (the notes would only repeat it). */
static int load_runs(char **dirs, int n, run_data *runs, int *kept, vt_err *err)
{
    *kept = 0;
    int left_out[MAX_RUNS], n_left = 0;
    for (int i = 0; i < n; i++) {
        int rc = cli_load_run(dirs[i], RUN_PART_CONFIG, &runs[*kept], err);
        if (rc)
            return rc;
        run_free(&runs[*kept]);
        if ((rc = run_load(dirs[i], RUN_PART_CONFIG | RUN_PART_HISTORY | RUN_PART_PROGRESS, &runs[*kept], err)) !=
            VT_OK) {
            run_free(&runs[*kept]);
            return rc;
        }
        if (runs[*kept].n_history == 0) {
            left_out[n_left++] = i;
            run_free(&runs[*kept]);
            continue;
        }
        (*kept)++;
    }
    if (*kept == 0)
        return vt_fail(err, VT_EUSAGE, "none of the runs has a finished epoch yet%s%s", n == 1 ? ": " : "",
                       n == 1 ? dirs[0] : "");
    for (int k = 0; k < n_left; k++)
        fprintf(stderr, "vggtop compare: note: %s has no finished epoch yet; left out\n", dirs[left_out[k]]);
    return VT_OK;
}

static void print_table(const run_data *runs, int n)
{
    int width = 3;
    for (int i = 0; i < n; i++)
        if ((int)strlen(runs[i].dir) > width)
            width = (int)strlen(runs[i].dir);
    printf("%-*s  %-12s %-8s %6s  %-14s %8s  %-15s %8s  %7s %8s\n", width, "run", "model", "state", "epochs",
           "best val_acc", "last", "best val_loss", "last", "s/epoch", "total");
    for (int i = 0; i < n; i++) {
        const run_data *r = &runs[i];
        int ba = 0, bl = 0;
        for (int e = 1; e < r->n_history; e++) {
            if (r->history[e].val_acc > r->history[ba].val_acc)
                ba = e;
            if (r->history[e].val_loss < r->history[bl].val_loss)
                bl = e;
        }
        const train_epoch *last = &r->history[r->n_history - 1];
        char epochs[24];
        snprintf(epochs, sizeof epochs, "%d/%d", r->n_history, r->config.epochs);
        /* The time per epoch and in all: the other half of the seed's comparison. */
        double seconds = 0;
        for (int e = 0; e < r->n_history; e++)
            seconds += r->history[e].seconds;
        char total[32], best_acc[40], best_loss[40];
        vt_fmt_eta(total, sizeof total, round(seconds)); /* 10.775 s is 11s; the ETA's format truncates */
        snprintf(best_acc, sizeof best_acc, "%.4f (%d)", r->history[ba].val_acc, ba + 1);
        snprintf(best_loss, sizeof best_loss, "%.4f (%d)", r->history[bl].val_loss, bl + 1);
        printf("%-*s  %-12s %-8s %6s  %-14s %8.4f  %-15s %8.4f  %7.1f %8s\n", width, r->dir,
               (r->parts & RUN_PART_CONFIG) ? r->config.model : "?", run_state_word(r), epochs, best_acc,
               last->val_acc, best_loss, last->val_loss, seconds / r->n_history, total);
    }
}

static int cmd_compare(int argc, char **argv, vt_err *err)
{
    run_opts o;
    int done;
    int rc = cli_run_parse(&cli_compare_command, argc, argv, 1, MAX_RUNS, &o, &done, err);
    if (rc != VT_OK || done)
        return rc;
    int n = argc - optind, kept = 0;
    run_data *runs = calloc((size_t)n, sizeof *runs);
    if (!runs)
        return vt_fail(err, VT_EIO, "out of memory");
    if ((rc = load_runs(argv + optind, n, runs, &kept, err)) == VT_OK) {
        print_table(runs, kept);
        print_chart(runs, kept, o.metric);
    }
    for (int i = 0; i < kept; i++)
        run_free(&runs[i]);
    free(runs);
    return rc;
}

const cli_command cli_compare_command = {
    .name = "compare",
    .run = cmd_compare,
    .summary = "compare the histories of several runs",
    .usage = "usage: vggtop compare RUN_DIR... [--metric NAME]\n",
    .about = "A table of each run's state (live, killed, finished...), best and last val_acc and val_loss and its\n"
             "time, then an ASCII chart of one metric per epoch for all runs (one symbol per run, with a legend), as\n"
             "the seed's final comparison charts.\n",
    .options = options,
    .flags = CLI_NO_MODEL,
};
