/* tui/live: a live run of this process: starting one (a new run, or resuming), its snapshot taken once per
 * loop, parking it while Compare shows another run's files, commands to a followed run's process, and the two
 * ways of leaving it training: D (a background vggtop train --resume) and a hang-up (it finishes here). */
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui_internal.h"

int app_training(const app *a) { return (a->tr && a->live) || a->parked; }

int app_browse(app *a, const char *dir, vt_err *err)
{
    int park = a->tr && a->live;
    if (park && !a->parked_snap && !(a->parked_snap = calloc(1, sizeof *a->parked_snap)))
        return vt_fail(err, VT_EIO, "out of memory");
    if (park) {
        snprintf(a->parked_dir, sizeof a->parked_dir, "%s", a->dir);
        a->parked = a->tr;
        a->tr = NULL;
        a->live = 0;
    }
    int rc = app_open_dir(a, dir, 1, err);
    if (rc != VT_OK)
        app_return_live(a);
    return rc;
}

void app_return_live(app *a)
{
    if (!a->parked)
        return;
    a->tr = a->parked;
    a->parked = NULL;
    a->live = 1;
    a->following = 0;
    app_command_end(a, 0);
    a->cmd_seq = 0;
    snprintf(a->dir, sizeof a->dir, "%s", a->parked_dir);
    if (a->have_run)
        run_free(&a->run);
    a->have_run = 0;
    derived_free(a);
    a->C = 0;
    live_update(a); /* its snapshot, and its files read again */
}

/* The parked run trains on unseen: its snapshot keeps its wake pipe drained, and its end is said (and the
 * trainer given back) when it comes. */
void live_watch_parked(app *a)
{
    trainer_snapshot(a->parked, a->parked_snap);
    if (app_state_running(a->parked_snap->state))
        return;
    app_set_status(a, a->parked_snap->state == TRAIN_FAILED ? ROLE_BAD : ROLE_GOOD, "the live run %s: %s",
                   train_state_name(a->parked_snap->state), a->parked_dir);
    trainer_destroy(a->parked);
    a->parked = NULL;
    compare_scan(a);
}

int app_start_training(app *a) { return app_start_run(a, &a->cfg); }

int app_start_run(app *a, const train_config *cfg)
{
    if (app_training(a)) {
        if (a->parked)
            app_set_status(a, ROLE_WARN, "a run is live: stop it first (6 Compare, Enter on its row, %d, then S)",
                           compare_live_row(a));
        else
            app_set_status(a, ROLE_WARN, "a run is live: stop it first (Dashboard, S)");
        return H_REDRAW;
    }
    vt_err err;
    if (train_config_check(cfg, &err) != VT_OK) {
        app_set_status(a, ROLE_BAD, "%s", err.msg);
        return H_REDRAW;
    }
    if (a->tr) {
        trainer_destroy(a->tr);
        a->tr = NULL;
    }
    if (trainer_create(cfg, &a->tr, &err) != VT_OK || trainer_start(a->tr, &err) != VT_OK) {
        trainer_destroy(a->tr);
        a->tr = NULL;
        app_set_status(a, ROLE_BAD, "%s", err.msg);
        return H_REDRAW;
    }
    app_command_end(a, 0); /* before the followed run's dir is forgotten */
    a->live = 1;
    a->following = 0;
    a->dir[0] = '\0';
    if (a->have_run)
        run_free(&a->run);
    a->have_run = 0;
    derived_free(a);
    a->C = 0;
    a->eval_seen = 0;
    follow_forget(a);
    a->screen = 2;
    a->cmd_seq = 0;
    app_set_status(a, ROLE_GOOD, "%s %s: p pauses, S stops with a checkpoint, D detaches",
                   cfg->resume ? "resuming" : "training", cfg->model);
    return H_REDRAW;
}

void app_command_end(app *a, int taken)
{
    if (a->cmd_sent == 0)
        return;
    run_command_finish(a->dir, &a->cmd, taken);
    a->cmd_sent = 0;
}

void app_send_command(app *a, run_command *c)
{
    vt_err err;
    app_command_end(a, 1); /* an earlier command still unacknowledged: the new one replaces it */
    if (run_command_send_nowait(a->dir, c, &err) != VT_OK) {
        app_set_status(a, ROLE_BAD, "%s", err.msg);
        return;
    }
    a->cmd = *c;
    a->cmd_sent = vt_now();
    a->cmd_seq = c->seq;
    a->cmd_acked = 0;
    snprintf(a->cmd_name, sizeof a->cmd_name, "%s", run_command_name(c->kind));
    app_set_status(a, ROLE_DIM, "sent %s to process %ld: it takes it between two steps", a->cmd_name,
                   a->holder_pid > 0 ? a->holder_pid : a->run.progress.pid);
}


int app_can_control(const app *a)
{
    if (a->tr && a->live)
        return 1;
    /* A followed run: its progress.json names a live process in a running state. */
    return a->following && a->have_run && (a->run.parts & RUN_PART_PROGRESS) && app_state_running(a->snap->state) &&
           a->snap->state != TRAIN_IDLE;
}

int app_can_resume(const app *a)
{
    if (a->live || !a->dir[0] || !a->have_run || !(a->run.parts & RUN_PART_CONFIG))
        return 0;
    return a->snap->state == TRAIN_STOPPED && a->run.has_checkpoint;
}

/* Takes the engine's snapshot; reloads the run files when an evaluation rewrote them. */
void live_update(app *a)
{
    trainer_snapshot(a->tr, a->snap);
    if (a->snap->run_dir[0] && strcmp(a->dir, a->snap->run_dir) != 0)
        snprintf(a->dir, sizeof a->dir, "%s", a->snap->run_dir);
    if (a->dir[0] && (a->snap->eval_generation != a->eval_seen || !a->have_run)) {
        run_data fresh;
        vt_err err;
        int rc = run_load(a->dir, RUN_PART_CONFIG | RUN_PART_PREDICTIONS, &fresh, &err);
        if (rc == VT_OK && (fresh.parts & RUN_PART_CONFIG)) {
            if (a->have_run)
                run_free(&a->run);
            a->run = fresh;
            a->have_run = 1;
            a->eval_seen = a->snap->eval_generation;
            derived_compute(a);
            compare_scan(a); /* the live run is on Compare with its new epoch, without r */
        } else {
            run_free(&fresh);
        }
    }
    if (!app_state_running(a->snap->state)) {
        a->live = 0;
        /* The engine renamed the last epoch's per_class.csv and layers.csv into place just before it ended,
         * after this loop's last look: read every screen's file once more (Layers said "epoch 3 of 3" of a
         * run of 4, the Report's trend marks compared the two epochs before the last). */
        follow_forget(a);
        if (a->snap->state == TRAIN_FAILED)
            app_set_status(a, ROLE_BAD, "%s", a->snap->message[0] ? a->snap->message : "the run failed");
        else
            app_set_status(a, ROLE_GOOD, "run %s: %s", train_state_name(a->snap->state), a->dir);
        compare_scan(a);
    }
}

/* SIGHUP: the terminal is gone. Leave curses without touching it again and let a live run finish (its run
 * directory stays current). SIGTERM or SIGINT still stop it the clean way: after the batch, with a
 * checkpoint. Returns the exit status. */
int live_hang_up(app *a)
{
    term_close();
    app_return_live(a);
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > 2)
            close(fd);
    }
    if (!(a->tr && a->live))
        return 0;
    int status = 0;
    for (;;) {
        if (term_got_term || term_got_int) {
            status = term_got_term ? 143 : 130;
            trainer_stop(a->tr);
        }
        struct pollfd p = {trainer_wake_fd(a->tr), POLLIN, 0};
        poll(&p, 1, 500);
        trainer_snapshot(a->tr, a->snap);
        if (a->snap->state >= TRAIN_STOPPED)
            break;
    }
    trainer_join(a->tr);
    return status;
}

/* D: leave the run training and give the terminal back. A run of this process stops after its step with a
 * checkpoint and goes on at once in a background `vggtop train --resume` (its log in the run directory's
 * train.log), which resumes it exactly; a followed run simply goes on. tui_run then prints the `vggtop watch`
 * line to come back with. */
int live_detach(app *a)
{
    a->detached = 1;
    app_return_live(a); /* D leaves this process's run training, shown or parked */
    if (!(a->tr && a->live))
        return 0;
    app_set_status(a, ROLE_WARN, "detaching: finishing the step and saving a checkpoint...");
    a->confirm = CONFIRM_NONE;
    app_enter(a);
    app_draw(a);
    trainer_stop(a->tr);
    train_state st = trainer_join(a->tr);
    trainer_snapshot(a->tr, a->snap);
    a->live = 0;
    trainer_destroy(a->tr); /* and with it the run's lock, which the background process takes */
    a->tr = NULL;
    if (st != TRAIN_STOPPED)
        return 0; /* it finished (or failed) in that step: nothing goes on */
    char log[VT_PATH_MAX + VT_PATH_EXTRA];
    snprintf(log, sizeof log, "%s/train.log", a->dir);
    /* posix_spawn, not fork: no atfork handlers run (OpenBLAS's would stop its thread pool), and the child
     * starts in its own session (no terminal, so no SIGHUP), stdin from /dev/null, output to train.log. */
    char *argv[] = {"vggtop", "train", "--resume", a->dir, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    pid_t pid = -1;
    if (posix_spawn_file_actions_init(&fa) == 0) {
        if (posix_spawnattr_init(&at) == 0) {
            sigset_t all, none;
            sigfillset(&all);
            sigemptyset(&none);
            posix_spawnattr_setsigdefault(&at, &all);
            posix_spawnattr_setsigmask(&at, &none);
            posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
            posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
            /* Never through a link into another file, nor blocking on a FIFO (the spawn would wait on it). */
            posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log,
                                             O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK, 0644);
            posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
            if (posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, environ) != 0)
                pid = -1;
            posix_spawnattr_destroy(&at);
        }
        posix_spawn_file_actions_destroy(&fa);
    }
    a->detached_pid = pid > 0 ? (long)pid : -1;
    return 0;
}

