/* cli/sweep_run: vggtop sweep's runner. The plan's trials, each a child `vggtop train` (--parallel N at once,
 * the cores split between them, children that die with the sweep) or, under mpirun, trained in-process by every
 * rank (rank 0 drives, the others follow the command lines it shares); each trial's state saved before and after
 * it; --prune median or halving judging each new epoch; vggtop ctl's commands (pause, resume, stop, more) taken
 * from the folder's channel; the alerts of --notify and --on-event. */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sweep_internal.h"

enum { SHARE_WAIT = -2 }; /* under mpirun, rank 0's word to the others between trials: a pause, keep waiting */

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

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

void sweep_run_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: the wait for the trial wakes to forward it */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGHUP, SIG_IGN);
}

/* One event of the sweep: its log line, then the terminal's notification and the hook (with the trial's run,
 * t >= 0, or the sweep's folder, t < 0: its directory and, for a trial, its last epoch). */
static void tell(pool *pl, const notify_event *e, int t)
{
    if (!pl->sink)
        return;
    printf("Event: %s: %s\n", notify_names[e->kind], e->text);
    fflush(stdout);
    train_snapshot *s = sweep_event_snapshot(pl->dir, t);
    vt_err err;
    if (s && notify_sink_tell(pl->sink, e, s, &err) != VT_OK)
        printf("Event: %s\n", err.msg);
    free(s);
}

/* A NULL-terminated list of words as one block (the list, then the texts): free it whole; NULL out of memory. */
static char **words_copy(char **w)
{
    size_t n = 0, len = 0;
    for (; w[n]; n++)
        len += strlen(w[n]) + 1;
    char **v = malloc(sizeof *v * (n + 1) + len);
    char *text = v ? (char *)(v + n + 1) : NULL;
    for (size_t i = 0; v && i < n; i++) {
        v[i] = text;
        text = stpcpy(text, w[i]) + 1;
    }
    if (v)
        v[n] = NULL;
    return v;
}

static int trial_begin(pool *pl, int t, char ***v, vt_err *err)
{
    char **args = sweep_trial_args(pl->p, t), **words = NULL, tdir[VT_PATH_MAX + 64];
    int resume = args ? trial_argv(pl->dir, t, args, pl->threads, &words, tdir, sizeof tdir) : -1;
    *v = resume >= 0 ? words_copy(words) : NULL; /* words point into args and tdir */
    free(words);
    free(args);
    if (!*v)
        return vt_fail(err, VT_EIO, "out of memory");
    printf("Trial %d/%d%s:", t + 1, pl->p->trials, resume ? " (resumed)" : "");
    for (int a = 0; a < pl->p->n_axes; a++) {
        char val[64];
        sweep_value(pl->p, t, a, val, sizeof val);
        printf(" --%s %s", pl->p->axes[a].flag, val);
    }
    printf(" (%s)\n", tdir);
    fflush(stdout);
    pl->states[t] = SWEEP_RUNNING;
    return sweep_save(pl->dir, pl->p, pl->states, err);
}

/* Trial t started in slot k: a child vggtop train. */
static int pool_start(pool *pl, int k, int t, vt_err *err)
{
    char **v = NULL;
    int rc = trial_begin(pl, t, &v, err);
    pid_t pid = rc == VT_OK ? start_child(v) : -1;
    free(v);
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

/* A trial that ended with exit status code: its state (a signal's stop stays running, for --resume; so does the
 * sweep), its event. */
static void trial_end(pool *pl, int t, int code, int pruned)
{
    sweep_state *st = &pl->states[t];
    if (pruned)
        *st = SWEEP_PRUNED;
    else if (code == 0)
        *st = SWEEP_DONE;
    else if (code != 130 && code != 143 && code > 0)
        *st = SWEEP_FAILED;
    else if (!got_signal)
        got_signal = SIGTERM;
    if (*st == SWEEP_RUNNING)
        return;
    sweep_row r;
    notify_event e;
    sweep_row_read(pl->dir, t, *st, &r);
    if (sweep_trial_event(pl->p, &r, code, &e))
        tell(pl, &e, t);
}

/* The child of slot k ended with status (waitpid's). */
static void pool_ended(pool *pl, int k, int status)
{
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    pl->pid[k] = 0;
    trial_end(pl, pl->trial[k], code, pl->pruned[k]);
}

/* Every trial of the plan ran: the sweep's own event, with its best trial. */
static void tell_end(pool *pl)
{
    sweep_row *rows = pl->sink ? malloc(sizeof *rows * (size_t)pl->p->trials) : NULL;
    if (!rows)
        return;
    for (int t = 0; t < pl->p->trials; t++)
        sweep_row_read(pl->dir, t, pl->states[t], &rows[t]);
    notify_event e;
    sweep_end_event(pl->dir, pl->p, rows, pl->p->trials, &e);
    tell(pl, &e, -1);
    free(rows);
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

/* The trials' loop ended with rc: a stop says how to go on; every trial having run, the sweep's event. */
static int trials_over(pool *pl, int rc, vt_err *err)
{
    if (rc == VT_OK && got_signal)
        return vt_fail(err, got_signal == SIGINT ? VT_ESIGINT : VT_ESIGTERM,
                       "stopped; vggtop sweep --resume %s continues it", pl->dir);
    if (rc == VT_OK)
        tell_end(pl);
    return rc;
}

/* Whether trial t's run says it was stopped (progress.json), rather than finished. */
static int trial_stopped(const pool *pl, int t)
{
    char tdir[VT_PATH_MAX + 64];
    sweep_trial_dir(pl->dir, t, tdir, sizeof tdir);
    run_data run;
    vt_err err;
    int stopped = run_load(tdir, RUN_PART_PROGRESS, &run, &err) == VT_OK && (run.parts & RUN_PART_PROGRESS) &&
                  run.progress.state == TRAIN_STOPPED;
    run_free(&run);
    return stopped;
}

/* Under mpirun: the trials one after another, each trained in this process by every rank (rank 0 here, the
 * others in sweep_run_worker), its command line shared; vggtop ctl's commands taken between trials (a pause there
 * keeps the other ranks waiting, told so every second, under their timeout). */
static int run_trials_dist(pool *pl, vt_err *err)
{
    int rc = VT_OK;
    for (int t = 0; rc == VT_OK && !got_signal && t < pl->p->trials; t++) {
        rc = pool_command(pl, err);
        while (rc == VT_OK && pl->p->paused && !got_signal) {
            int wait = SHARE_WAIT;
            rc = train_dist_share_words(pl->d, &wait, NULL, err);
            sleep(1);
            rc = rc == VT_OK ? pool_command(pl, err) : rc;
        }
        if (rc != VT_OK || got_signal || (pl->states[t] != SWEEP_PENDING && pl->states[t] != SWEEP_RUNNING))
            continue;
        char **v = NULL, **words;
        int go = -1, n = 0;
        if ((rc = trial_begin(pl, t, &v, err)) != VT_OK || (words = v + 1, /* "train", ... */
                                                           rc = train_dist_share_words(pl->d, &go, &words, err))) {
            free(v);
            break;
        }
        while (words[n])
            n++;
        vt_err why;
        vt_err_clear(&why);
        int code = vt_exit_status(cli_train_in(pl->d, n, words, &why));
        if (code != 0 && why.msg[0])
            fprintf(stderr, "vggtop train: %s\n", why.msg);
        free(v);
        sweep_run_signals(); /* train's were set for the trial */
        /* A stop that mpirun's signal brought to another rank first ends this rank's trial without a signal of its
         * own (yet): stopped, not done, and the sweep stops with it. */
        if (code == 0 && trial_stopped(pl, t))
            code = 143;
        trial_end(pl, t, code, 0);
        rc = sweep_save(pl->dir, pl->p, pl->states, err);
    }
    return trials_over(pl, rc, err);
}

int sweep_run_trials(pool *pl, vt_err *err)
{
    if (pl->d)
        return run_trials_dist(pl, err);
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
    return trials_over(pl, rc, err);
}

/* A rank other than 0 under mpirun: each trial's command line from rank 0, trained together, until rank 0 says
 * the sweep ended. */
int sweep_run_worker(struct train_dist *d, vt_err *err)
{
    for (;;) {
        int status;
        char **words = NULL;
        int rc = train_dist_share_words(d, &status, &words, err);
        if (rc != VT_OK || status >= 0)
            return rc;
        if (status == SHARE_WAIT)
            continue;
        int n = 0;
        while (words[n])
            n++;
        vt_err ignored; /* rank 0 says what went wrong */
        cli_train_in(d, n, words, &ignored);
        free(words);
    }
}
