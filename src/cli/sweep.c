/* cli/sweep: `vggtop sweep`, many runs of one plan in one folder: its options, the plan made (src/train/sweep.c
 * expands the train flags' lists into a grid, or distributions into random trials) or read back, the folder
 * locked, and the leaderboard (--status). Each trial is an ordinary run directory, DIR/trial-NNN, trained by the
 * runner (sweep_run.c: a child `vggtop train` each, --parallel N at once, or under mpirun data-parallel on every
 * rank), optionally pruned (--prune median or halving). sweep.json keeps the plan and each trial's state
 * (written atomically before and after each trial), so `--resume DIR` after a kill, a reboot or Ctrl-C
 * continues: a trial that was running resumes from its checkpoint (or starts again when it had none), finished
 * trials are never run again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sweep_internal.h"

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


typedef struct sweep_args {
    const char *runs, *resume, *status;
    int random, trials, parallel, prune;
    int notify, hook_timeout; /* the alerts: --notify, --on-event (NULL none), --hook-timeout */
    const char *on_event;
    int first_train; /* argv index of the first train flag */
} sweep_args;


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
static int start_or_resume(const sweep_args *a, int argc, char **argv, struct train_dist *d, vt_err *err)
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
    if (threads >= 0 && d && p.prune) {
        vt_fail(err, VT_EUSAGE, "%s: its plan prunes (--prune %s), which a sweep under mpirun does not: resume it "
                "without mpirun", dir, sweep_prune_names[p.prune]);
        threads = -1;
    }
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
        /* A command left in the folder's channel is an earlier session's (ctl sends only to a running sweep): it
         * is never taken. */
        sweep_command stale;
        vt_err ignored;
        if (sweep_command_read(dir, &stale, &ignored) == VT_OK && stale.seq)
            p.command_ack = stale.seq;
        sweep_run_signals();
        pool pl = {.dir = dir, .p = &p, .states = states, .parallel = a->parallel, .threads = threads, .d = d};
        notify_sink sink;
        if (a->notify || a->on_event) {
            vt_err why;
            if (notify_sink_open(&sink, a->notify, a->on_event, a->hook_timeout, &why) != VT_OK)
                fprintf(stderr, "vggtop sweep: %s; no command runs at the events\n", why.msg);
            pl.sink = &sink;
        }
        rc = sweep_run_trials(&pl, err);
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

/* `mpirun -np N vggtop sweep ...`: every rank parsed the same command line; the trials run one after another,
 * each data-parallel over the N ranks. */
static int sweep_ranks(const sweep_args *a, int argc, char **argv, vt_err *err)
{
    if (a->parallel > 1 || a->prune)
        return vt_fail(err, VT_EUSAGE, "under mpirun each trial takes every rank: --%s is for a sweep without mpirun",
                       a->parallel > 1 ? "parallel" : "prune");
    struct train_dist *d;
    int rc = train_dist_start(&d, err);
    if (rc != VT_OK)
        return rc;
    if (train_dist_rank(d) > 0)
        rc = sweep_run_worker(d, err);
    else {
        rc = start_or_resume(a, argc, argv, d, err);
        int end = rc; /* >= 0: the others end too */
        vt_err ignored;
        train_dist_share_words(d, &end, NULL, &ignored);
    }
    train_dist_end(d);
    return rc;
}

static int cmd_sweep(int argc, char **argv, vt_err *err)
{
    sweep_args a;
    int done;
    int rc = parse(argc, argv, &a, &done, err);
    if (rc != VT_OK || done)
        return rc;
    /* Under mpirun each trial is data-parallel over the ranks (a child train would start MPI in a world it is
     * no rank of); rank 0 alone speaks. */
    const char *ranks = getenv("OMPI_COMM_WORLD_SIZE"), *rank = getenv("OMPI_COMM_WORLD_RANK");
    if (!a.status && ranks && atoi(ranks) > 1) {
        rc = sweep_ranks(&a, argc, argv, err);
        if (rank && atoi(rank) > 0 && rc == VT_EUSAGE)
            err->msg[0] = '\0';
        return rc;
    }
    return a.status ? print_status(a.status, err) : start_or_resume(&a, argc, argv, NULL, err);
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
             "DIR/trial-NNN, trained in turn; sweep.json keeps the plan and each trial's state. Under Open MPI\n"
             "(mpirun -np N vggtop sweep ...) each trial is trained data-parallel by the N processes.\n",
    .options = options,
    .notes = "The sweep's own options come first, then the train flags. Ctrl-C stops the running trial with a\n"
             "checkpoint; --resume DIR continues with it, and runs no finished trial again.\n",
};
