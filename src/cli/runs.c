/* cli/runs: what the commands that read run directories share (evaluate, report, confusion, roc, history,
 * compare, diff, layers; one file each): their option parser and loading a run with the errors they all give.
 * Everything but evaluate works from the run directory's files alone (predictions.csv, config.json,
 * history.csv), so a run can be inspected on a machine without its data set. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli_internal.h"
#include "vggtop/train.h"

static int set_option(void *ctx, int key, const char *value, vt_err *err)
{
    static const char *const metrics[] = {"loss", "acc", "mse", "top5", "val_loss", "val_acc", "val_mse", "val_top5", NULL};
    run_opts *o = ctx;
    int metric;
    switch (key) {
    case RUN_O_DIGITS: return vt_flag_int("--digits", value, 0, 10, &o->digits, err);
    case RUN_O_TOP: return vt_flag_int("--top", value, 1, 100000, &o->top, err);
    case RUN_O_EPOCH: return vt_flag_int("--epoch", value, 1, TRAIN_MAX_EPOCHS, &o->epoch, err);
    case RUN_O_THREADS: return cli_flag_setting("threads", "--threads", value, &o->threads, err);
    case RUN_O_METRIC:
        if (vt_flag_choice("--metric", value, metrics, &metric, err) != VT_OK)
            return VT_EUSAGE;
        o->metric = metrics[metric];
        return VT_OK;
    case RUN_O_CSV: o->csv = 1; return VT_OK;
    case RUN_O_JSON: o->json = 1; return VT_OK;
    case RUN_O_COARSE: o->coarse = 1; return VT_OK;
    case RUN_O_ALL: o->all = 1; return VT_OK;
    case RUN_O_BEST: o->best = 1; return VT_OK;
    case RUN_O_HISTORY: o->history = value; return VT_OK;
    case RUN_O_DATA: return vt_flag_path("--data", value, &o->data, err);
    }
    return vt_fail(err, VT_EINTERNAL, "option %d has no parser", key);
}

int cli_run_parse(const cli_command *c, int argc, char **argv, int min_dirs, int max_dirs, run_opts *o, int *done,
                  vt_err *err)
{
    memset(o, 0, sizeof *o);
    o->digits = -1;
    o->top = 20;
    o->threads = -1;
    o->metric = "val_acc";
    int rc = cli_parse(c, c->options, argc, argv, set_option, o, done, err);
    if (rc != VT_OK || *done)
        return rc;
    if (o->csv && o->json)
        return vt_fail(err, VT_EUSAGE, "--csv and --json exclude each other");
    int dirs = argc - optind;
    if (dirs > max_dirs && max_dirs > 1)
        return vt_fail(err, VT_EUSAGE, "%d run directories, more than the %d it compares at once", dirs, max_dirs);
    const char *what = max_dirs == 1                     ? "one RUN_DIR"
                       : min_dirs == 2 && max_dirs == 2 ? "two run directories, RUN_A and RUN_B"
                                                        : "one or more RUN_DIRs";
    return cli_positional(c, argc, argv, min_dirs, max_dirs, what, err);
}

int cli_load_run(const char *dir, int parts, run_data *run, vt_err *err)
{
    return cli_load_run_sound(dir, parts, 0, run, err);
}

int cli_load_run_sound(const char *dir, int need, int want, run_data *run, vt_err *err)
{
    int parts = need;
    int rc = run_load_sound(dir, need, want, run, err);
    if (rc != VT_OK) {
        run_free(run);
        return rc;
    }
    if (run->damaged)
        fprintf(stderr, "vggtop: %s (not used; the rest is shown)\n", run->damage);
    /* A progress.json that says the run is busy while its process is gone (killed) reads as stopped, with the
     * command that resumes it, as the front end shows it. */
    run_progress *p = &run->progress;
    if (run_is_dead(run, p->message, sizeof p->message))
        p->state = TRAIN_STOPPED;
    if ((parts & RUN_PART_PREDICTIONS) && !(run->parts & RUN_PART_PREDICTIONS))
        rc = vt_fail(err, VT_EUSAGE, "%s: no %s yet (it appears after the first epoch; or run vggtop evaluate %s)",
                     dir, RUN_PREDICTIONS, dir);
    else if ((parts & RUN_PART_HISTORY) && (!(run->parts & RUN_PART_HISTORY) || run->n_history == 0)) {
        if ((run->parts & RUN_PART_PROGRESS) && p->state == TRAIN_STOPPED)
            rc = vt_fail(err, VT_EUSAGE, "%s: no epoch finished before the run stopped (%s)", dir,
                         p->message[0] ? p->message : "vggtop train --resume continues it");
        else
            rc = vt_fail(err, VT_EUSAGE, "%s: no %s yet (it appears after the first epoch)", dir, RUN_HISTORY);
    }
    if (rc != VT_OK)
        run_free(run);
    return rc;
}

const char *cli_name_or_number(char *const *names, int c, char *buf, size_t size)
{
    if (names && names[c] && names[c][0])
        return names[c];
    snprintf(buf, size, "%d", c);
    return buf;
}

