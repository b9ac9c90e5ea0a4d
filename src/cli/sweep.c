/* cli/sweep: `vggtop sweep`, many runs of one plan in one folder. The plan (src/train/sweep.c) expands the
 * train flags' lists (a grid) or distributions (random trials); each trial is an ordinary run directory,
 * DIR/trial-NNN, trained by a child `vggtop train`, one after another or --parallel N at once (the cores split
 * between them), optionally pruned (--prune median or halving). sweep.json keeps the plan and each
 * trial's state (written atomically before and after each trial), so `--resume DIR` after a kill, a reboot or
 * Ctrl-C continues: a trial that was running resumes from its checkpoint (or starts again when it had none),
 * finished trials are never run again. `--status DIR` prints the leaderboard. */
#include <errno.h>
#include <math.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_internal.h"
#include "vggtop/train.h"

enum { O_RUNS = CLI_LONG_ONLY, O_METHOD, O_TRIALS, O_RESUME, O_STATUS, O_PARALLEL, O_PRUNE, O_NOTIFY, O_ON_EVENT,
       O_HOOK_TIMEOUT };

static const cli_option options[] = {
    {"runs", O_RUNS, "DIR", "the sweep's folder (new): its plan, sweep.json, and one run directory per trial", NULL,
     NULL},
    {"method", O_METHOD, "grid|random", "every combination of the lists (default), or --trials random draws", NULL,
     NULL},
    {"trials", O_TRIALS, "N", "random: how many trials (default 10)", NULL, NULL},
    {"resume", O_RESUME, "DIR", "continue the sweep in DIR after a kill, a reboot or Ctrl-C", NULL, NULL},
    {"status", O_STATUS, "DIR", "the leaderboard of the sweep in DIR, best val_acc first, and exit", NULL, NULL},
    {"parallel", O_PARALLEL, "N",
     "trials at once (default 1), the cores split between them: each gets --threads cores/N unless the plan "
     "sets --threads, and more threads than cores in all is refused",
     NULL, NULL},
    {"prune", O_PRUNE, "none|median|halving",
     "median: stop a trial whose val_acc at an epoch is below the median of the finished trials' at that epoch "
     "(Optuna's median pruner; it waits for 2 finished trials); halving: successive halving over epochs "
     "(Hyperband's inner loop, asynchronous as Optuna's): at epochs 1, 3, 9, 27, ... only the top third of the "
     "trials that reached that epoch go on (at least the best); a stopped trial is marked pruned and keeps its files",
     NULL, NULL},
    {"notify", O_NOTIFY, NULL,
     "the sweep's events as terminal notifications (through SSH and tmux, as vggtop train --notify's) and log "
     "lines: a trial finished, failed or pruned, the sweep finished (of this session: sweep.json does not keep it)",
     NULL, NULL},
    {"on-event", O_ON_EVENT, "CMD",
     "run CMD at each of those events, as vggtop train --on-event does (VGGTOP_EVENT finished, failed, pruned "
     "or sweep-finished; VGGTOP_RUN_DIR the trial's run, or the sweep's folder at its end)", NULL, NULL},
    {"hook-timeout", O_HOOK_TIMEOUT, "SECONDS", "how long the --on-event command may run before it is killed "
     "(default 30)", NULL, NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

enum { MAX_PARALLEL = 64 }; /* trials at once */

typedef struct sweep_args {
    const char *runs, *resume, *status;
    int random, trials, parallel, prune;
    int notify, hook_timeout; /* the alerts: --notify, --on-event (NULL none), --hook-timeout */
    const char *on_event;
    int first_train; /* argv index of the first train flag */
} sweep_args;

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

/* The sweep's own options first, then the train flags (the first argument that is not one of its own). */
static int parse(int argc, char **argv, sweep_args *a, int *done, vt_err *err)
{
    static const char *const methods[] = {"grid", "random", NULL};
    memset(a, 0, sizeof *a);
    a->trials = 10;
    a->parallel = 1;
    static train_config scratch; /* --on-event and --hook-timeout by train's rules */
    train_config_default(&scratch);
    a->hook_timeout = scratch.hook_timeout;
    *done = 0;
    int i = 1;
    for (int used = 2; i < argc; i += used) {
        const char *o = argv[i];
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            cli_help(&cli_sweep_command, stdout);
            *done = 1;
            return VT_OK;
        }
        int own = -1;
        for (int k = 0; options[k].name; k++)
            if (strncmp(o, "--", 2) == 0 && strcmp(o + 2, options[k].name) == 0)
                own = options[k].key;
        if (own < 0)
            break;
        used = own == O_NOTIFY ? 1 : 2;
        if (own == O_NOTIFY) {
            a->notify = 1;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return vt_fail(err, VT_EUSAGE, "%s needs a value", o);
        int rc = VT_OK, m;
        switch (own) {
        case O_RUNS: rc = vt_flag_path("--runs", v, &a->runs, err); break;
        case O_RESUME: rc = vt_flag_path("--resume", v, &a->resume, err); break;
        case O_STATUS: rc = vt_flag_path("--status", v, &a->status, err); break;
        case O_TRIALS: rc = vt_flag_int("--trials", v, 1, SWEEP_MAX_TRIALS, &a->trials, err); break;
        case O_PARALLEL: rc = vt_flag_int("--parallel", v, 1, MAX_PARALLEL, &a->parallel, err); break;
        case O_PRUNE: rc = vt_flag_choice("--prune", v, sweep_prune_names, &a->prune, err); break;
        case O_ON_EVENT:
            if ((rc = train_config_set(&scratch, "on-event", v, err)) == VT_OK)
                a->on_event = v;
            break;
        case O_HOOK_TIMEOUT:
            if ((rc = train_config_set(&scratch, "hook-timeout", v, err)) == VT_OK)
                a->hook_timeout = scratch.hook_timeout;
            break;
        case O_METHOD:
            if ((rc = vt_flag_choice("--method", v, methods, &m, err)) == VT_OK)
                a->random = m == 1;
            break;
        }
        if (rc != VT_OK)
            return VT_EUSAGE;
    }
    a->first_train = i;
    int modes = !!a->runs + !!a->resume + !!a->status;
    if (modes != 1)
        return vt_fail(err, VT_EUSAGE, "give one of --runs DIR (a new sweep), --resume DIR or --status DIR");
    if (!a->runs && a->prune)
        return vt_fail(err, VT_EUSAGE, "--prune belongs to a new sweep (--runs): the plan keeps it");
    if (a->status && a->parallel > 1)
        return vt_fail(err, VT_EUSAGE, "--status runs nothing: --parallel belongs to --runs and --resume");
    if (a->status && (a->notify || a->on_event))
        return vt_fail(err, VT_EUSAGE, "--status runs nothing: --notify and --on-event belong to --runs and --resume");
    if (!a->runs && i < argc)
        return vt_fail(err, VT_EUSAGE, "--%s takes no train flags: the sweep's plan has them (%s)",
                       a->resume ? "resume" : "status", argv[i]);
    if (a->runs && i == argc)
        return vt_fail(err, VT_EUSAGE, "no train flags to sweep (vggtop sweep --runs DIR --model mlp --lr 0.1,0.01)");
    return VT_OK;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

/* Trial t's command: train --resume when its directory has a checkpoint; else train anew (a directory left
 * by a trial killed before its first checkpoint holds nothing to keep: it goes). */
static int trial_argv(const char *dir, int t, char **args, int threads, char ***out, char *tdir, size_t size)
{
    sweep_trial_dir(dir, t, tdir, size);
    char ck[VT_PATH_MAX + 128];
    snprintf(ck, sizeof ck, "%s/%s", tdir, RUN_CHECKPOINT);
    int resume = access(ck, F_OK) == 0;
    if (!resume && access(tdir, F_OK) == 0)
        nftw(tdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    int n = 0;
    while (!resume && args[n])
        n++;
    char **v = malloc(sizeof *v * (size_t)(n + 7) + 16);
    if (!v)
        return -1;
    int k = 0;
    v[k++] = "vggtop";
    v[k++] = "train";
    for (int i = 0; i < n; i++)
        v[k++] = args[i];
    if (threads > 0) { /* --parallel's share of the cores (a resume may change the threads too) */
        char *num = (char *)(v + n + 7);
        snprintf(num, 16, "%d", threads);
        v[k++] = "--threads";
        v[k++] = num;
    }
    v[k++] = resume ? "--resume" : "--run-dir";
    v[k++] = tdir;
    v[k] = NULL;
    *out = v;
    return resume;
}

/* Starts trial t's child vggtop train (which dies with the sweep): its pid, or -1. */
static pid_t start_child(char **v)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* a killed sweep takes its trials down; --resume continues them */
        execv("/proc/self/exe", v);
        _exit(127);
    }
    return pid;
}

/* The trials under way: at most parallel at once. */
typedef struct pool {
    const char *dir;
    sweep_plan *p;
    sweep_state *states;
    int parallel, threads; /* threads: each trial's --threads when the plan gives none (0: train's own) */
    pid_t pid[MAX_PARALLEL];
    int trial[MAX_PARALLEL], pruned[MAX_PARALLEL], seen_epochs[MAX_PARALLEL];
    int forwarded;
    notify_sink *sink; /* --notify, --on-event: NULL when neither */
    int pause_sent[MAX_PARALLEL]; /* vggtop ctl pause: the trial in slot k took it */
    double pause_next;            /* when to try again the trials that did not yet (still loading) */
} pool;

/* One event of the sweep: its log line, then the terminal's notification and the hook (with the trial's run,
 * t >= 0, or the sweep's folder, t < 0: its directory and, for a trial, its last epoch). */
static void tell(pool *pl, notify_kind kind, int t, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void tell(pool *pl, notify_kind kind, int t, const char *fmt, ...)
{
    if (!pl->sink)
        return;
    notify_event e = {.kind = kind};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.text, sizeof e.text, fmt, ap);
    va_end(ap);
    printf("Event: %s: %s\n", notify_names[kind], e.text);
    fflush(stdout);
    train_snapshot *s = calloc(1, sizeof *s);
    run_data run;
    vt_err err;
    if (!s)
        return;
    if (t >= 0) {
        sweep_trial_dir(pl->dir, t, s->run_dir, sizeof s->run_dir);
        if (run_load(s->run_dir, RUN_PART_CONFIG | RUN_PART_HISTORY, &run, &err) == VT_OK) {
            s->epochs = run.config.epochs;
            s->n_history = run.n_history < TRAIN_MAX_EPOCHS ? run.n_history : TRAIN_MAX_EPOCHS;
            memcpy(s->history, run.history, sizeof *s->history * (size_t)s->n_history);
        }
        run_free(&run);
    } else
        snprintf(s->run_dir, sizeof s->run_dir, "%s", pl->dir);
    if (notify_sink_tell(pl->sink, &e, s, &err) != VT_OK)
        printf("Event: %s\n", err.msg);
    free(s);
}

/* Trial t's swept values as its flags ("--lr 0.1 --momentum 0"). */
static void trial_values(const sweep_plan *p, int t, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int a = 0; a < p->n_axes && n < size; a++) {
        char val[64];
        sweep_value(p, t, a, val, sizeof val);
        n += (size_t)snprintf(buf + n, size - n, "%s--%s %s", a ? " " : "", p->axes[a].flag, val);
    }
}

/* Trial t started in slot k: its line, its state saved first. */
static int pool_start(pool *pl, int k, int t, vt_err *err)
{
    char **args = sweep_trial_args(pl->p, t), **v = NULL, tdir[VT_PATH_MAX + 64];
    int resume = args ? trial_argv(pl->dir, t, args, pl->threads, &v, tdir, sizeof tdir) : -1;
    if (resume < 0) {
        free(args);
        return vt_fail(err, VT_EIO, "out of memory");
    }
    printf("Trial %d/%d%s:", t + 1, pl->p->trials, resume ? " (resumed)" : "");
    for (int a = 0; a < pl->p->n_axes; a++) {
        char val[64];
        sweep_value(pl->p, t, a, val, sizeof val);
        printf(" --%s %s", pl->p->axes[a].flag, val);
    }
    printf(" (%s)\n", tdir);
    fflush(stdout);
    pl->states[t] = SWEEP_RUNNING;
    int rc = sweep_save(pl->dir, pl->p, pl->states, err);
    pid_t pid = rc == VT_OK ? start_child(v) : -1;
    free(v);
    free(args);
    if (rc == VT_OK && pid < 0)
        rc = vt_fail(err, VT_EIO, "cannot start trial %d: %s", t + 1, strerror(errno));
    pl->pid[k] = pid > 0 ? pid : 0;
    pl->trial[k] = t;
    pl->pruned[k] = pl->seen_epochs[k] = pl->pause_sent[k] = 0;
    return rc;
}

/* The val_acc of epoch e (1-based) of trial t's run, NaN when it has none yet. */
static double val_acc_at(const char *dir, int t, int e)
{
    char tdir[VT_PATH_MAX + 64];
    sweep_trial_dir(dir, t, tdir, sizeof tdir);
    run_data run;
    vt_err err;
    double v = NAN;
    if (run_load(tdir, RUN_PART_HISTORY, &run, &err) == VT_OK && run.n_history >= e)
        v = run.history[e - 1].val_acc;
    run_free(&run);
    return v;
}

/* --prune: a running trial's newest epoch judged against the others at that epoch. median: below the median of
 * the finished trials'; halving: at a rung (epochs 1, 3, 9, ...), not among the top 1/3 of every trial that
 * reached it (running, pruned or finished). Stopped with SIGTERM (it keeps its files and checkpoint) and marked
 * pruned. */
static void pool_prune(pool *pl, int k)
{
    int t = pl->trial[k], e = pl->seen_epochs[k] + 1, halving = pl->p->prune == SWEEP_PRUNE_HALVING;
    double v = val_acc_at(pl->dir, t, e);
    if (isnan(v))
        return;
    pl->seen_epochs[k] = e;
    if (halving && !sweep_halving_rung(e))
        return;
    double *others = malloc(sizeof *others * (size_t)pl->p->trials);
    int n = 0;
    for (int u = 0; others && u < pl->p->trials; u++)
        if (u != t && (halving ? pl->states[u] != SWEEP_PENDING : pl->states[u] == SWEEP_DONE) &&
            !isnan(others[n] = val_acc_at(pl->dir, u, e)))
            n++;
    int prune = others && (halving ? sweep_prune_halving(v, others, n) : sweep_prune_median(v, others, n));
    if (prune && halving)
        printf("Trial %d pruned at rung epoch %d: val_acc %.4f is not among the top 1/%d of the %d trials there\n",
               t + 1, e, v, SWEEP_HALVING_ETA, n + 1);
    else if (prune)
        printf("Trial %d pruned at epoch %d: val_acc %.4f is below the median of %d finished trials\n", t + 1, e, v, n);
    if (prune) {
        fflush(stdout);
        kill(pl->pid[k], SIGTERM);
        pl->pruned[k] = 1;
    }
    free(others);
}

/* A child that ended: its trial's state (a signal's stop stays running, for --resume; so does the sweep). */
static void pool_ended(pool *pl, int k, int status)
{
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status), t = pl->trial[k];
    sweep_state *st = &pl->states[t];
    if (pl->pruned[k])
        *st = SWEEP_PRUNED;
    else if (code == 0)
        *st = SWEEP_DONE;
    else if (code != 130 && code != 143 && code > 0)
        *st = SWEEP_FAILED;
    else if (!got_signal)
        got_signal = SIGTERM;
    pl->pid[k] = 0;
    if (*st == SWEEP_RUNNING)
        return;
    char values[512];
    trial_values(pl->p, t, values, sizeof values);
    sweep_row r;
    sweep_row_read(pl->dir, t, *st, &r);
    if (*st == SWEEP_FAILED)
        tell(pl, NOTIFY_FAILED, t, "trial %d/%d (%s) failed with status %d", t + 1, pl->p->trials, values, code);
    else if (*st == SWEEP_PRUNED)
        tell(pl, NOTIFY_PRUNED, t, "trial %d/%d (%s) pruned after %d epochs, best val_acc %.4f", t + 1,
             pl->p->trials, values, r.epochs, r.best);
    else
        tell(pl, NOTIFY_FINISHED, t, "trial %d/%d (%s) finished, best val_acc %.4f at epoch %d", t + 1,
             pl->p->trials, values, r.best, r.best_epoch);
}

/* Every trial of the plan ran: the sweep's own event, with its best trial. */
static void tell_end(pool *pl)
{
    int count[SWEEP_PRUNED + 1] = {0}, best = -1;
    double best_acc = 0;
    for (int t = 0; t < pl->p->trials; t++) {
        count[pl->states[t]]++;
        sweep_row r;
        sweep_row_read(pl->dir, t, pl->states[t], &r);
        if (r.epochs > 0 && (best < 0 || r.best > best_acc)) {
            best = t;
            best_acc = r.best;
        }
    }
    char values[512] = "";
    if (best >= 0)
        trial_values(pl->p, best, values, sizeof values);
    tell(pl, NOTIFY_SWEEP_END, -1, "sweep %s finished: %d done, %d failed, %d pruned; best trial %d (%s), val_acc %.4f",
         pl->dir, count[SWEEP_DONE], count[SWEEP_FAILED], count[SWEEP_PRUNED], best + 1, values, best_acc);
}

/* Sends pause (or resume) on to the trial of slot k through its run's commands.json; 1 when it was sent. */
static int pass_on(pool *pl, int k, run_command_kind kind)
{
    char tdir[VT_PATH_MAX + 64];
    sweep_trial_dir(pl->dir, pl->trial[k], tdir, sizeof tdir);
    run_command c = {0, kind, 0};
    vt_err ignored;
    return run_command_send(tdir, &c, &ignored) == VT_OK;
}

/* While paused, the running trials are paused too: each as soon as it takes commands (a trial still loading its
 * data does not yet); tried again every half second. */
static void pool_pause_trials(pool *pl)
{
    if (!pl->p->paused || vt_now() < pl->pause_next)
        return;
    pl->pause_next = vt_now() + 0.5;
    for (int k = 0; k < pl->parallel; k++)
        if (pl->pid[k] && !pl->pause_sent[k])
            pl->pause_sent[k] = pass_on(pl, k, RUN_CMD_PAUSE);
}

/* A command of vggtop ctl SWEEP_DIR, taken once (its seq acknowledged in sweep.json): pause (no trial starts;
 * the running ones pause), resume, stop (as SIGTERM: the trials stop with their checkpoints), more N. */
static int pool_command(pool *pl, vt_err *err)
{
    sweep_command c;
    vt_err why;
    if (sweep_command_read(pl->dir, &c, &why) != VT_OK || c.kind == SWEEP_CMD_NONE || c.seq == pl->p->command_ack)
        return VT_OK;
    int running = 0;
    for (int k = 0; k < pl->parallel; k++)
        running += pl->pid[k] != 0;
    if (c.kind == SWEEP_CMD_PAUSE && !pl->p->paused) {
        pl->p->paused = 1;
        memset(pl->pause_sent, 0, sizeof pl->pause_sent);
        pl->pause_next = 0;
        printf("Paused: no trial starts until vggtop ctl %s resume; %d running trial%s pause\n", pl->dir, running,
               running == 1 ? "" : "s");
    } else if (c.kind == SWEEP_CMD_RESUME && pl->p->paused) {
        pl->p->paused = 0;
        for (int k = 0; k < pl->parallel; k++)
            if (pl->pid[k] && pl->pause_sent[k])
                pass_on(pl, k, RUN_CMD_RESUME);
        printf("Resumed\n");
    } else if (c.kind == SWEEP_CMD_STOP) {
        printf("Stopping: the running trials stop with their checkpoints\n");
        got_signal = SIGTERM;
    } else if (c.kind == SWEEP_CMD_MORE) {
        if (sweep_add_trials(pl->p, &pl->states, c.more, &why) == VT_OK)
            printf("%d more trials: %d in all\n", c.more, pl->p->trials);
        else
            printf("Not taken: %s\n", why.msg);
    }
    fflush(stdout);
    pool_pause_trials(pl);
    pl->p->command_ack = c.seq;
    return sweep_save(pl->dir, pl->p, pl->states, err);
}

static int run_trials(pool *pl, vt_err *err)
{
    int rc = VT_OK, next = 0, running = 1;
    while (running || (pl->p->paused && !got_signal && rc == VT_OK && next < pl->p->trials)) {
        running = 0;
        rc = rc == VT_OK ? pool_command(pl, err) : rc;
        pool_pause_trials(pl);
        for (int k = 0; k < pl->parallel; k++) {
            while (!pl->pid[k] && rc == VT_OK && !got_signal && !pl->p->paused && next < pl->p->trials) {
                if (pl->states[next] == SWEEP_PENDING || pl->states[next] == SWEEP_RUNNING)
                    rc = pool_start(pl, k, next, err);
                next++;
            }
            running += pl->pid[k] != 0;
        }
        /* A signal to the sweep alone reaches the trials this way: each stops with a checkpoint. SIGTERM also
         * after a Ctrl-C, which the trials got from the terminal already: a second SIGINT would make train
         * exit at once, without its checkpoint. */
        if (got_signal && !pl->forwarded) {
            for (int k = 0; k < pl->parallel; k++)
                if (pl->pid[k])
                    kill(pl->pid[k], SIGTERM);
            pl->forwarded = 1;
        }
        if (pl->sink && notify_sink_poll(pl->sink))
            printf("Event: the --on-event command ran past its %g s limit and was killed; the sweep goes on\n",
                   pl->sink->timeout);
        for (int k = 0; k < pl->parallel; k++) {
            int status;
            if (pl->pid[k] && waitpid(pl->pid[k], &status, WNOHANG) == pl->pid[k]) {
                pool_ended(pl, k, status);
                int saved = sweep_save(pl->dir, pl->p, pl->states, err);
                rc = rc == VT_OK ? saved : rc;
            } else if (pl->pid[k] && pl->p->prune && !pl->pruned[k])
                pool_prune(pl, k);
        }
        if (running || pl->p->paused)
            nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    if (rc == VT_OK && got_signal)
        return vt_fail(err, got_signal == SIGINT ? VT_ESIGINT : VT_ESIGTERM,
                       "stopped; vggtop sweep --resume %s continues it", pl->dir);
    if (rc == VT_OK)
        tell_end(pl);
    return rc;
}

static int print_status(const char *dir, vt_err *err)
{
    sweep_plan p;
    sweep_state *states;
    int rc = sweep_load(dir, &p, &states, err);
    if (rc != VT_OK)
        return rc;
    sweep_row *rows = malloc(sizeof *rows * (size_t)p.trials);
    if (!rows) {
        free(states);
        sweep_plan_free(&p);
        return vt_fail(err, VT_EIO, "out of memory");
    }
    for (int t = 0; t < p.trials; t++)
        sweep_row_read(dir, t, states[t], &rows[t]);
    sweep_rows_sort(rows, p.trials, &p, SWEEP_COL_BEST(p.n_axes), 1);
    printf("%s: %s sweep of %d trials, best val_acc first\n%5s", dir, p.random ? "random" : "grid", p.trials, "trial");
    for (int a = 0; a < p.n_axes; a++)
        printf("  %12s", p.axes[a].flag);
    printf("  %-8s %13s %7s %8s\n", "state", "best val_acc", "epochs", "time");
    for (int i = 0; i < p.trials; i++) {
        const sweep_row *r = &rows[i];
        printf("%5d", r->t + 1);
        for (int a = 0; a < p.n_axes; a++) {
            char val[64];
            sweep_value(&p, r->t, a, val, sizeof val);
            printf("  %12s", val);
        }
        char time[32], epochs[32], best[32] = "-";
        vt_fmt_eta(time, sizeof time, r->seconds);
        snprintf(epochs, sizeof epochs, "%d/%d", r->epochs, r->of);
        if (r->epochs > 0)
            snprintf(best, sizeof best, "%.4f (%3d)", r->best, r->best_epoch);
        printf("  %-8s %13s %7s %8s\n", sweep_state_names[r->state], best, epochs, r->epochs ? time : "-");
    }
    free(rows);
    free(states);
    sweep_plan_free(&p);
    return VT_OK;
}

/* Each trial's threads under --parallel: the cores over the trials when the plan sets none; the plan's own
 * when they fit (all of its values times the trials at once within the cores); -1 (err filled) when not. */
static int trial_threads(const sweep_plan *p, int parallel, vt_err *err)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cores = cores > 0 ? cores : 1;
    if (parallel > cores)
        return vt_fail(err, VT_EUSAGE, "--parallel %d: more trials at once than the %ld cores", parallel, cores), -1;
    for (int i = 0; i + 1 < p->argc; i++) {
        if (strcmp(p->argv[i], "--threads") != 0)
            continue;
        for (const char *v = p->argv[i + 1]; *v; v += *v == ',') {
            long n = strtol(v, (char **)&v, 10);
            if (parallel > 1 && (n == 0 || n * parallel > cores))
                return vt_fail(err, VT_EUSAGE, "--threads %s with --parallel %d: more threads than the %ld cores "
                               "(leave --threads out to split them)", p->argv[i + 1], parallel, cores), -1;
        }
        return 0;
    }
    return parallel > 1 ? (int)(cores / parallel) : 0;
}

/* A new sweep: its folder made (or an empty one taken) and locked, the plan saved, then the trials. */
static int start_or_resume(const sweep_args *a, int argc, char **argv, vt_err *err)
{
    const char *dir = a->runs ? a->runs : a->resume;
    char plan[VT_PATH_MAX + 32];
    snprintf(plan, sizeof plan, "%s/%s", dir, SWEEP_PLAN);
    if (a->runs && access(plan, F_OK) == 0)
        return vt_fail(err, VT_EUSAGE, "--runs: %s already holds a sweep (vggtop sweep --resume %s continues it)", dir,
                       dir);
    if (a->resume && access(plan, F_OK) != 0)
        return vt_fail(err, VT_EUSAGE, "--resume: %s holds no %s (not a sweep's folder?)", dir, SWEEP_PLAN);
    sweep_plan p;
    sweep_state *states = NULL;
    int rc = a->runs ? sweep_plan_make(argc - a->first_train, argv + a->first_train, a->random ? a->trials : 0, &p, err)
                     : sweep_load(dir, &p, &states, err);
    if (rc != VT_OK)
        return rc;
    if (a->runs)
        p.prune = a->prune;
    p.paused = 0; /* a pause was the session's that ended (its trials stopped with it) */
    int threads = trial_threads(&p, a->parallel, err), fd = -1;
    if (threads < 0) {
        free(states);
        sweep_plan_free(&p);
        return VT_EUSAGE;
    }
    if (a->runs && !(states = calloc((size_t)p.trials, sizeof *states)))
        rc = vt_fail(err, VT_EIO, "out of memory");
    else if ((a->runs && (rc = vt_mkdirs(dir, err)) != VT_OK) || (rc = sweep_lock(dir, &fd, err)) != VT_OK)
        ;
    else if (!a->runs || (rc = sweep_save(dir, &p, states, err)) == VT_OK) {
        struct sigaction sa = {0};
        sa.sa_handler = on_signal; /* no SA_RESTART: the wait for the trial wakes to forward it */
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGHUP, SIG_IGN);
        pool pl = {.dir = dir, .p = &p, .states = states, .parallel = a->parallel, .threads = threads};
        notify_sink sink;
        if (a->notify || a->on_event) {
            vt_err why;
            if (notify_sink_open(&sink, a->notify, a->on_event, a->hook_timeout, &why) != VT_OK)
                fprintf(stderr, "vggtop sweep: %s; no command runs at the events\n", why.msg);
            pl.sink = &sink;
        }
        rc = run_trials(&pl, err);
        states = pl.states; /* vggtop ctl more: grown */
        if (pl.sink && notify_sink_close(pl.sink))
            printf("Event: the --on-event command ran past its %g s limit and was killed\n", sink.timeout);
        if (rc == VT_OK)
            print_status(dir, err);
    }
    if (fd >= 0)
        close(fd);
    free(states);
    sweep_plan_free(&p);
    return rc;
}

static int cmd_sweep(int argc, char **argv, vt_err *err)
{
    sweep_args a;
    int done;
    int rc = parse(argc, argv, &a, &done, err);
    if (rc != VT_OK || done)
        return rc;
    return a.status ? print_status(a.status, err) : start_or_resume(&a, argc, argv, err);
}

const cli_command cli_sweep_command = {
    .name = "sweep",
    .run = cmd_sweep,
    .summary = "train many runs of one plan (a grid or random trials), resumable",
    .usage = "usage: vggtop sweep --runs DIR [--method grid|random] [--trials N] [--parallel N] [--prune none|median|halving] "
             "[--notify] [--on-event CMD] TRAIN_FLAGS...\n"
             "       vggtop sweep --resume DIR [--parallel N] [--notify] [--on-event CMD]\n"
             "       vggtop sweep --status DIR\n",
    .about = "Any train flag may take a list (--lr 0.1,0.03,0.01 --model mlp,cnn); with --method random also a\n"
             "distribution (--lr log:1e-4:1e-1, uniform:LO:HI, int:LO:HI). Each trial is a run directory,\n"
             "DIR/trial-NNN, trained in turn; sweep.json keeps the plan and each trial's state.\n",
    .options = options,
    .notes = "The sweep's own options come first, then the train flags. Ctrl-C stops the running trial with a\n"
             "checkpoint; --resume DIR continues with it, and runs no finished trial again.\n",
};
