/* cli/sweep_internal: what vggtop sweep's command (sweep.c: options, the plan, --status) and its runner
 * (sweep_run.c: the trials as children or, under mpirun, in-process on every rank; pruning; ctl's commands;
 * the alerts) share. */
#ifndef VGGTOP_CLI_SWEEP_INTERNAL_H
#define VGGTOP_CLI_SWEEP_INTERNAL_H

#include <sys/types.h>

#include "cli_internal.h"
#include "vggtop/train.h"

enum { MAX_PARALLEL = 64 }; /* trials at once */

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
    struct train_dist *d;         /* under mpirun: the ranks that train each trial in-process */
} pool;

/* SIGINT and SIGTERM to the sweep (no SA_RESTART: the wait for a trial wakes to pass them on), SIGHUP ignored. */
void sweep_run_signals(void);
/* Runs the plan's pending and running trials (children, or under pl->d in-process); VT_OK when every one ran,
 * VT_ESIGINT/VT_ESIGTERM after a stop (the running ones left running for --resume). */
int sweep_run_trials(pool *pl, vt_err *err);
/* A rank other than 0 under mpirun: trains each trial rank 0 shares, until it says the sweep ended. */
int sweep_run_worker(struct train_dist *d, vt_err *err);

#endif
