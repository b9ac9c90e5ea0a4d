/* tui/app: the screen manager. One event loop (poll on the terminal, the engine's wake pipe, the Setup
 * probe's pipe and the download's), the snapshot copied once per loop, the screen shown prepared (its enter)
 * and then drawn from that copy with its frame (frame.c); keys dispatched through the key table to the screen
 * table's handlers. What feeds the screens lives beside it: a live run of this process (live.c), a run
 * directory followed from its files (follow.c) and what is computed from the predictions (derived.c). */
#include <curses.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui_internal.h"

/* ---- keys ---- */

void app_enter(app *a)
{
    const screen_ops *sc = app_screen(a);
    if (!a->help && sc->enter)
        sc->enter(a);
}

static int screen_key(app *a, int key, tui_action act)
{
    const screen_ops *sc = app_screen(a);
    if (sc->enter)
        sc->enter(a); /* keys may come before the first draw */
    int r = sc->key(a, key, act);
    if (r & H_DASHBOARD) /* a reaction: the screen asks, the app switches */
        a->screen = TUI_SCREEN_DASHBOARD;
    if (r & H_DIFF)
        a->screen = TUI_SCREEN_DIFF;
    return r & ~(H_DASHBOARD | H_DIFF);
}

static int ask_quit(app *a)
{
    if (app_training(a)) {
        a->confirm = CONFIRM_QUIT;
        return H_REDRAW;
    }
    return H_QUIT;
}

/* Stops the run shown: this process's engine, or another process's through commands.json. */
static void stop_run(app *a)
{
    if (a->tr && a->live) {
        trainer_stop(a->tr);
        app_set_status(a, ROLE_WARN, "stopping after this step; the checkpoint allows vggtop train --resume %s", a->dir);
        return;
    }
    run_command c = {0, RUN_CMD_STOP, 0};
    app_send_command(a, &c);
}

/* The key that answers the question on the status line. */
static int confirm_key(app *a, int key)
{
    int what = a->confirm;
    a->confirm = CONFIRM_NONE;
    int yes = key == 'y' || key == 'Y';
    if (what == CONFIRM_QUIT && key == 'D')
        return H_DETACH;
    if (what == CONFIRM_QUIT && yes)
        return H_QUIT;
    if (what == CONFIRM_STOP && yes && app_can_control(a))
        stop_run(a);
    else
        app_set_status(a, ROLE_DIM, "%s", what == CONFIRM_QUIT ? "not quitting" : "not stopping");
    return H_REDRAW;
}

/* The wheel: three rows up or down on the screen shown. */
static int mouse_key(app *a, int key)
{
    MEVENT ev;
    if (getmouse(&ev) != OK)
        return H_NONE;
    tui_action act = ev.bstate & BUTTON4_PRESSED ? ACT_UP : ev.bstate & BUTTON5_PRESSED ? ACT_DOWN : ACT_NONE;
    if (act == ACT_NONE)
        return H_NONE;
    int r = H_NONE;
    for (int i = 0; i < 3; i++)
        r |= screen_key(a, key, act);
    return r | H_REDRAW;
}

/* A key while the help overlay is up: it scrolls as the Summary's text does, whatever screen is under it
 * (the Dashboard has no PgUp/PgDn of its own, Samples no Up/Down); any other key closes it. */
static int help_key(app *a, int key)
{
    tui_action act = tui_key_action(key, TUI_SCREEN_SUMMARY);
    if (act == ACT_UP || act == ACT_DOWN || act == ACT_PGUP || act == ACT_PGDN) {
        /* Not past the last line: the overlay used to scroll on into blank pages. */
        app_scroll(&a->help_top, act, app_count_lines(app_help_text(a)), app_body_height(a) - 1);
    } else {
        a->help = 0;
    }
    return H_REDRAW;
}

/* Tab (step 1) and S-Tab (-1): the next or previous screen that is not passed by now. */
static void tab(app *a, int step)
{
    for (int k = 0; k < TUI_N_SCREENS; k++) {
        a->screen = (a->screen - 1 + step + TUI_N_SCREENS) % TUI_N_SCREENS + 1;
        const screen_ops *sc = app_screen(a);
        if (!sc->skipped || !sc->skipped(a))
            return;
    }
}

int app_handle_key(app *a, int key)
{
    if (key == KEY_RESIZE)
        return H_REDRAW;
    if (a->confirm)
        return confirm_key(a, key);
    /* A field being edited (Setup) or a search being typed (Report, Diff) takes every key. */
    if ((a->screen == TUI_SCREEN_SETUP && a->form.editing) || app_search_typed(a))
        return screen_key(a, key, ACT_NONE) | H_REDRAW;
    if (key == KEY_MOUSE)
        return mouse_key(a, key);
    if (a->help)
        return help_key(a, key);
    a->status[0] = '\0';
    tui_action act = tui_key_action(key, a->screen);
    if (act == ACT_STOP && a->screen == TUI_SCREEN_DASHBOARD && app_can_control(a)) {
        a->confirm = CONFIRM_STOP; /* as q asks before it stops a run */
        return H_REDRAW;
    }
    if (act >= ACT_SCREEN1 && act <= ACT_SCREEN9) {
        a->screen = act - ACT_SCREEN1 + 1;
        return H_REDRAW;
    }
    switch (act) {
    case ACT_NEXT_SCREEN:
    case ACT_PREV_SCREEN: tab(a, act == ACT_NEXT_SCREEN ? 1 : -1); return H_REDRAW;
    case ACT_HELP: a->help = 1; a->help_top = 0; app_help_text(a); return H_REDRAW;
    case ACT_QUIT: return ask_quit(a);
    case ACT_SAVE_FIGURE: return app_save_figure(a);
    case ACT_DETACH:
        if (a->live || a->following)
            return H_DETACH;
        app_set_status(a, ROLE_DIM, "no run to detach from: D leaves a run training and quits");
        return H_REDRAW;
    default: break;
    }
    return screen_key(a, key, act) | H_REDRAW;
}

/* ---- the loop ---- */

/* The signal handlers' flags: 1 with *status set when the loop ends, else 0 (*redraw set after Ctrl-C). */
static int loop_signals(app *a, int *status, int *redraw)
{
    if (term_got_hup) {
        *status = live_hang_up(a);
        return 1;
    }
    if (term_got_term) {
        app_return_live(a);
        if (a->tr && a->live)
            trainer_stop(a->tr);
        *status = 143;
        return 1;
    }
    if (term_got_int) {
        term_got_int = 0;
        *status = 0;
        if (ask_quit(a) & H_QUIT)
            return 1;
        *redraw = 1;
    }
    return 0;
}

/* Everything that changes without a key: the engine's snapshot, the parked run, the followed files, the
 * system line, the status line's timeout, the probe's answer. 1 when the screen changed. */
static int loop_update(app *a)
{
    int redraw = 0;
    double stopped = vt_stop_watch_tick(&a->tick, a->live ? 0.5 : 1.25); /* Ctrl-Z */
    if (a->tr && a->live)
        trainer_suspended(a->tr, stopped);
    if (a->parked) {
        trainer_suspended(a->parked, stopped);
        live_watch_parked(a);
    }
    if (a->tr && a->live) {
        live_update(a); /* the one copy of the engine's state this loop draws from */
        redraw = 1;
    }
    if (a->live || a->following)
        follow_files(a);
    redraw |= dash_sample(a, vt_now());
    redraw |= sweep_poll(a, vt_now());
    redraw |= follow_poll(a);
    redraw |= alerts_observe(a, vt_now()); /* after the snapshot and the files: the events they show */
    redraw |= app_status_expire(a, vt_now());
    if (a->pr && a->facts.generation != a->probe_gen) {
        probe_get(a->pr, &a->facts);
        redraw = 1;
    }
    return redraw;
}

/* Waits for a key, the engine, the probe or the download (or the timeout); -1 on a poll error, else 1 when a
 * wake fd fired (a redraw is due), 2 when the wait timed out. */
static int loop_wait(app *a)
{
    struct pollfd fds[4];
    int n = 0;
    fds[n++] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
    int fetch_at = -1;
    if (a->fetch) {
        fetch_at = n;
        fds[n++] = (struct pollfd){data_fetch_wake_fd(a->fetch), POLLIN, 0};
    }
    if (a->tr && a->live)
        fds[n++] = (struct pollfd){trainer_wake_fd(a->tr), POLLIN, 0};
    if (a->pr)
        fds[n++] = (struct pollfd){probe_wake_fd(a->pr), POLLIN, 0};
    int timeout = a->following ? 500 : a->live ? 250 : 1000;
    int pr = poll(fds, (nfds_t)n, timeout);
    if (pr < 0 && errno != EINTR)
        return -1;
    int woke = 0;
    for (int i = 1; i < n; i++)
        if (fds[i].revents)
            woke = 1;
    if (a->pr && fds[n - 1].revents)
        probe_get(a->pr, &a->facts);
    if (fetch_at >= 0 && fds[fetch_at].revents)
        setup_fetch_update(a); /* the snapshot the next draw shows */
    return pr == 0 ? 2 : woke;
}

/* The keys typed: 1 with *status set when one ends the loop (quit, detach), else 0 (*redraw set as they ask). */
static int loop_keys(app *a, int *status, int *redraw)
{
    int key;
    while ((key = getch()) != ERR) {
        int r = app_handle_key(a, key);
        if (r & H_DETACH) {
            *status = live_detach(a);
            return 1;
        }
        if (r & H_QUIT) {
            app_return_live(a);
            if (a->tr && a->live) {
                app_set_status(a, ROLE_WARN, "stopping: finishing the step and saving a checkpoint...");
                a->confirm = CONFIRM_NONE;
                app_enter(a);
                app_draw(a);
                trainer_stop(a->tr);
            }
            *status = 0;
            return 1;
        }
        if (r & H_REDRAW)
            *redraw = 1;
    }
    return 0;
}

static int run_loop(app *a)
{
    int redraw = 1, status = 0;
    for (;;) {
        if (loop_signals(a, &status, &redraw))
            return status;
        redraw |= loop_update(a);
        term_size(&a->rows, &a->cols);
        if (redraw) {
            app_enter(a); /* what the screen shows is prepared here, so the draw only draws */
            app_draw(a);
        }
        alerts_flush(a); /* the frame is on the terminal: a notification's bytes go after it */
        redraw = 0;
        int woke = loop_wait(a);
        if (woke < 0)
            return 1;
        redraw = woke == 1 || (woke == 2 && a->live); /* a timeout: a live run's elapsed time moves on */
        if (loop_keys(a, &status, &redraw))
            return status;
    }
}

/* The runs directory of vggtop watch runs/<run> without --runs: runs/, to compare the run with its siblings. */
static const char *runs_parent(const char *watch_dir)
{
    static char parent[VT_PATH_MAX];
    snprintf(parent, sizeof parent, "%s", watch_dir);
    size_t len = strlen(parent);
    while (len > 1 && parent[len - 1] == '/')
        parent[--len] = '\0';
    char *slash = strrchr(parent, '/');
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    return parent;
}

/* The screen is gone: says what the seconds until exit are for (a VGG step can take many). */
static void say_goodbye(const app *a)
{
    if (a->detached && a->detached_pid > 0)
        fprintf(stderr, "vggtop: the run goes on in process %ld (log: %s/train.log); come back with:\n"
                "  vggtop watch %s\n", a->detached_pid, a->dir, a->dir);
    else if (a->detached && a->detached_pid < 0)
        fprintf(stderr, "vggtop: could not start the background process; continue the run with vggtop train "
                "--resume %s\n", a->dir);
    else if (a->detached && a->dir[0] && a->following)
        fprintf(stderr, "vggtop: the run goes on; come back with:\n  vggtop watch %s\n", a->dir);
    else if (a->detached && a->dir[0])
        fprintf(stderr, "vggtop: the run %s: %s\n", train_state_name(a->snap->state), a->snap->message);
    else if (!term_got_hup && a->tr && a->live)
        fprintf(stderr, "vggtop: stopping the run after its step and saving a checkpoint; continue it with "
                "vggtop train --resume %s\n", a->dir);
    else if (!term_got_hup && a->pr && probe_busy(a->pr))
        fprintf(stderr, "vggtop: finishing the Setup screen's timing step...\n");
}

/* The terminal's part of tui_run: the loop from the first frame to the last; the exit status. */
static int run_terminal(app *a)
{
    term_signals_install();
    vt_stop_watch_install();
    tui_grid_init(&a->grid, 0, 0);
    term_size(&a->rows, &a->cols); /* Compare places its first choice of runs in the rows there are */
    compare_scan(a);
    if (a->pr) {
        a->probe_gen++;
        probe_request(a->pr, &a->cfg, 1);
    }
    int status = run_loop(a);
    if (!term_got_hup)
        term_clear();
    term_close();
    tui_grid_free(&a->grid);
    say_goodbye(a);
    return status;
}

static void app_destroy(app *a)
{
    app_command_end(a, 0); /* quitting before the run took a command: taken back */
    /* Waits for a stopping run to write its checkpoint. */
    trainer_destroy(a->tr);
    trainer_destroy(a->parked);
    free(a->parked_snap);
    free(a->help_text);
    probe_destroy(a->pr);
    free(a->facts.summary);
    if (a->have_run)
        run_free(&a->run);
    derived_free(a);
    app_screens_close(a); /* a download still running is cancelled (its partial file kept) and joined */
    alerts_close(a);
    free(a->snap);
    free(a);
}

int tui_run(const tui_options *opt, int *exit_status, vt_err *err)
{
    *exit_status = 0;
    app *a = calloc(1, sizeof *a);
    if (!a)
        return vt_fail(err, VT_EIO, "out of memory");
    a->opt = *opt;
    a->snap = calloc(1, sizeof *a->snap);
    a->screen = TUI_SCREEN_SETUP;
    a->curve_epoch = -1;
    int rc = a->snap ? VT_OK : vt_fail(err, VT_EIO, "out of memory");
    /* vggtop watch SWEEP_DIR: the sweep's leaderboard, and its trials (runs of that folder) on Compare;
     * --runs SWEEP_DIR shows it on the Sweep screen too. */
    int sweep = opt->watch_dir && sweep_open(a, opt->watch_dir);
    if (opt->watch_dir && !opt->runs_dir)
        a->opt.runs_dir = sweep ? opt->watch_dir : runs_parent(opt->watch_dir);
    if (!sweep && opt->runs_dir)
        sweep_open(a, opt->runs_dir);
    setup_init(a);
    if (sweep)
        a->screen = TUI_SCREEN_SWEEP;
    else if (!rc && opt->watch_dir) {
        rc = app_open_dir(a, opt->watch_dir, 1, err);
        a->screen = TUI_SCREEN_DASHBOARD;
        if (!rc) {
            a->cfg = a->run.config;
            a->cfg.resume = 0;
        }
    }
    if (!rc && !opt->watch_dir)
        rc = probe_create(&a->pr, err);
    if (!rc)
        rc = alerts_open(a, err);
    if (!rc)
        rc = term_open(opt->ascii, &a->depth, &a->utf8, err);
    int status = rc ? 0 : run_terminal(a);
    app_destroy(a);
    *exit_status = status;
    return rc;
}
