/* Unit tests of the alerts (src/train/notify.c): the events successive snapshots show (the end told once, a
 * non-finite loss, a stall at 5x the median step and not while paused; a watcher begun on a run that ended is
 * not told its end), the terminal's bytes (OSC 9 and 777,
 * tmux's passthrough, data that cannot end a sequence), the shell-free split of --on-event, and the hook
 * itself: the environment it gets (recorded by a hook to a file) and a hook that hangs, killed at its limit
 * with what it started while the caller never waits for it. */
/* unit: timed (it asserts on the clock, so make test runs it at normal priority: tests/tools/run-e2e.sh). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vggtop/train.h"
#include "testing.h"

static train_snapshot *snap_new(void)
{
    train_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->state = TRAIN_TRAINING;
    s->epochs = 10;
    s->batches = 100;
    snprintf(s->run_dir, sizeof s->run_dir, "runs/x");
    return s;
}

static int observe(notify_watch *w, const train_snapshot *s, double now, notify_event *ev)
{
    return notify_observe(w, s, now, ev, 8);
}

static void the_end_is_told_once(void **state)
{
    (void)state;
    static const struct {
        train_state st;
        int early, diverged;
        notify_kind want[2];
        int n;
    } cases[] = {
        {TRAIN_FINISHED, 0, 0, {NOTIFY_FINISHED}, 1},
        {TRAIN_FINISHED, 1, 0, {NOTIFY_EARLY_STOP}, 1},
        {TRAIN_STOPPED, 0, 0, {NOTIFY_STOPPED}, 1},
        {TRAIN_FAILED, 0, 0, {NOTIFY_FAILED}, 1},
        {TRAIN_FAILED, 0, 3, {NOTIFY_NONFINITE, NOTIFY_FAILED}, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        train_snapshot *s = snap_new();
        notify_watch w = {0};
        notify_event ev[8];
        assert_int_equal(observe(&w, s, 1, ev), 0);
        s->state = cases[i].st;
        s->early_stopped = cases[i].early;
        s->diverged = cases[i].diverged;
        s->n_history = 3;
        snprintf(s->message, sizeof s->message, "why it ended");
        int n = observe(&w, s, 2, ev);
        assert_int_equal(n, cases[i].n);
        for (int k = 0; k < n; k++)
            assert_int_equal(ev[k].kind, cases[i].want[k]);
        assert_int_equal(observe(&w, s, 3, ev), 0); /* told once */
        free(s);
    }
    assert_string_equal(notify_names[NOTIFY_EARLY_STOP], "early-stop");
    assert_string_equal(notify_names[NOTIFY_NONFINITE], "nonfinite");
}

/* Steps every 0.1 s (two per look, so each look measures 0.05 s a step), then none. */
static void a_stall_is_five_median_steps(void **state)
{
    (void)state;
    train_snapshot *s = snap_new();
    notify_watch w = {0};
    notify_event ev[8];
    double t = 10;
    for (int i = 0; i < 6; i++, t += 0.1) {
        s->batch = 2 * i;
        assert_int_equal(observe(&w, s, t, ev), 0);
    }
    assert_true(fabs(notify_median_step(&w) - 0.05) < 1e-9);
    t -= 0.1; /* the last step's time */
    assert_int_equal(observe(&w, s, t + 0.24, ev), 0); /* 4.8 median steps: not yet */
    s->state = TRAIN_PAUSED;
    assert_int_equal(observe(&w, s, t + 1, ev), 0); /* paused: no stall */
    s->state = TRAIN_EVALUATING;
    assert_int_equal(observe(&w, s, t + 1, ev), 0); /* a test-set pass is no step */
    s->state = TRAIN_TRAINING;
    assert_int_equal(observe(&w, s, t + 1, ev), 1);
    assert_int_equal(ev[0].kind, NOTIFY_STALL);
    assert_non_null(strstr(ev[0].text, "5x the median step, 0.050 s"));
    assert_int_equal(observe(&w, s, t + 2, ev), 0); /* once */
    s->batch++; /* the steps go on: a later stall is told again */
    assert_int_equal(observe(&w, s, t + 2.05, ev), 0);
    assert_int_equal(observe(&w, s, t + 9, ev), 1);
    free(s);
    /* Fewer than 3 step times: nothing to judge by. */
    s = snap_new();
    notify_watch w2 = {0};
    observe(&w2, s, 0, ev);
    s->batch = 1;
    observe(&w2, s, 0.1, ev);
    assert_int_equal(observe(&w2, s, 100, ev), 0);
    free(s);
}

static void terminal_bytes(void **state)
{
    (void)state;
    char buf[512];
    size_t n = notify_terminal_bytes(buf, sizeof buf, "vggtop", "finished 2 epochs", 0);
    const char *plain = "\033]9;vggtop: finished 2 epochs\a\033]777;notify;vggtop;finished 2 epochs\a\a";
    assert_int_equal(n, strlen(plain));
    assert_string_equal(buf, plain);
    notify_terminal_bytes(buf, sizeof buf, "vggtop", "done", 1);
    assert_string_equal(buf, "\033Ptmux;\033\033]9;vggtop: done\a\033\\"
                             "\033Ptmux;\033\033]777;notify;vggtop;done\a\033\\\a");
    /* A message from data (a class name, a path) cannot end the sequence, start another or add a field. */
    notify_terminal_bytes(buf, sizeof buf, "vg;top", "a\033]0;x\ab;c\n", 0);
    assert_string_equal(buf, "\033]9;vg top: a ]0 x b c \a\033]777;notify;vg top;a ]0 x b c \a\a");
    /* Cut to the buffer, NUL-terminated. */
    assert_int_equal(notify_terminal_bytes(buf, 8, "vggtop", "done", 0), 7);
    assert_int_equal(strlen(buf), 7);
}

static void split_without_a_shell(void **state)
{
    (void)state;
    char **v;
    vt_err err;
    assert_int_equal(notify_split("  mail -s 'run done' \"a \\\"b\\\" \\\\c\" d\\ e $HOME *.c | x  ", &v, &err), VT_OK);
    const char *want[] = {"mail", "-s", "run done", "a \"b\" \\c", "d e", "$HOME", "*.c", "|", "x"};
    for (int i = 0; i < 9; i++)
        assert_string_equal(v[i], want[i]);
    assert_null(v[9]);
    free(v);
    assert_int_equal(notify_split("a '' b", &v, &err), VT_OK);
    assert_string_equal(v[1], "");
    free(v);
    assert_int_equal(notify_split("echo 'open", &v, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "open single quote"));
    assert_null(v);
    assert_int_equal(notify_split(" \t ", &v, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "empty"));
    assert_true(notify_program_found("sh"));
    assert_false(notify_program_found("vggtop-no-such-program"));
    assert_false(notify_program_found("/nonexistent/hook"));
    /* The setting refuses what cannot run, and a broken command line, before the run starts. */
    train_config cfg;
    train_config_default(&cfg);
    assert_int_equal(train_config_set(&cfg, "on-event", "vggtop-no-such-program --x", &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "vggtop-no-such-program"));
    assert_int_equal(train_config_set(&cfg, "on-event", "sh -c 'oops", &err), VT_EUSAGE);
    assert_int_equal(train_config_set(&cfg, "on-event", "sh -c 'exit 0'", &err), VT_OK);
    assert_int_equal(cfg.hook_timeout, 30);
}

static void the_hook_records_its_environment(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh -c 'env > \"$1\"' hook %s", at("env.txt"));
    notify_hooks *h;
    vt_err err;
    assert_int_equal(notify_hooks_create(cmd, 10, &h, &err), VT_OK);
    train_snapshot *s = snap_new();
    s->n_history = 2;
    s->history[1] = (train_epoch){.loss = 1.25, .acc = 0.5, .val_loss = 1.5, .val_acc = 0.625};
    setenv("VGGTOP_EVENT", "inherited", 1); /* the event's own value wins */
    notify_event e = {NOTIFY_FINISHED, "finished 2 epochs; \"quoted\" $(not run)"};
    assert_int_equal(notify_hook_start(h, &e, s, &err), VT_OK);
    assert_int_equal(notify_hooks_wait(h), 0);
    unsetenv("VGGTOP_EVENT");
    char *text;
    assert_int_equal(vt_read_file(at("env.txt"), 0, &text, NULL, &err), VT_OK);
    const char *want[] = {"\nVGGTOP_EVENT=finished\n", "\nVGGTOP_MESSAGE=finished 2 epochs; \"quoted\" $(not run)\n",
                          "\nVGGTOP_RUN_DIR=runs/x\n", "\nVGGTOP_EPOCH=2\n", "\nVGGTOP_EPOCHS=10\n",
                          "\nVGGTOP_LOSS=1.25\n", "\nVGGTOP_ACC=0.5\n", "\nVGGTOP_VAL_LOSS=1.5\n",
                          "\nVGGTOP_VAL_ACC=0.625\n", "\nPATH="};
    char *all = malloc(strlen(text) + 2);
    assert_non_null(all);
    sprintf(all, "\n%s", text);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(all, want[i]))
            fail_msg("the hook's environment lacks %s:\n%s", want[i] + 1, text);
    assert_null(strstr(all, "inherited"));
    free(all);
    free(text);
    notify_hooks_destroy(h);
    free(s);
}

/* A hook that hangs, and starts a child that hangs too: the caller polls without waiting, and at the limit
 * both are killed (the child holds the pipe's write end: reading it to its end proves the child is gone). */
static void a_hanging_hook_is_killed_at_its_limit(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh -c 'sleep 60 & echo $! > \"$1\"; sleep 60' hook %s", at("child.pid"));
    notify_hooks *h;
    vt_err err;
    assert_int_equal(notify_hooks_create(cmd, 0.5, &h, &err), VT_OK);
    train_snapshot *s = snap_new();
    notify_event e = {NOTIFY_STALL, "no step"};
    double t0 = vt_now();
    assert_int_equal(notify_hook_start(h, &e, s, &err), VT_OK);
    assert_int_equal(notify_hooks_poll(h, vt_now()), 0); /* running, and the caller goes on */
    assert_true(vt_now() - t0 < 0.4);
    usleep(200 * 1000);
    assert_int_equal(notify_hooks_wait(h), 1);
    double took = vt_now() - t0;
    assert_true(took >= 0.5 && took < 5);
    char *pid_text;
    assert_int_equal(vt_read_file(at("child.pid"), 0, &pid_text, NULL, &err), VT_OK);
    pid_t child = (pid_t)atol(pid_text);
    free(pid_text);
    assert_true(child > 0);
    /* The group's SIGKILL reached the grandchild: it is gone (or a zombie of init's, reaped at once). */
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        char path[64], st[256] = "";
        snprintf(path, sizeof path, "/proc/%ld/stat", (long)child);
        FILE *f = fopen(path, "r");
        gone = !f || (fgets(st, sizeof st, f) && strstr(st, ") Z "));
        if (f)
            fclose(f);
        if (!gone)
            usleep(20 * 1000);
    }
    assert_true(gone);
    /* A program that cannot start is an error of that event, not of the run. */
    notify_hooks_destroy(h);
    assert_int_equal(notify_hooks_create("/nonexistent/hook", 1, &h, &err), VT_OK);
    assert_int_equal(notify_hook_start(h, &e, s, &err), VT_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/hook"));
    notify_hooks_destroy(h);
    free(s);
}

/* A watcher begun on a run as it is (vggtop watch, a run opened in the front end): an end or a non-finite loss
 * already there is not told; an end that comes later is. */
static void a_watch_begins_without_old_news(void **state)
{
    (void)state;
    train_snapshot *s = snap_new();
    notify_watch w;
    notify_event ev[8];
    s->state = TRAIN_FINISHED;
    s->diverged = 2;
    notify_watch_begin(&w, s, 1);
    assert_int_equal(observe(&w, s, 2, ev), 0);
    s->state = TRAIN_TRAINING;
    s->diverged = 0;
    notify_watch_begin(&w, s, 3);
    assert_int_equal(observe(&w, s, 4, ev), 0);
    s->state = TRAIN_STOPPED;
    assert_int_equal(observe(&w, s, 5, ev), 1);
    assert_int_equal(ev[0].kind, NOTIFY_STOPPED);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_end_is_told_once),
        cmocka_unit_test(a_stall_is_five_median_steps),
        cmocka_unit_test(a_watch_begins_without_old_news),
        cmocka_unit_test(terminal_bytes),
        cmocka_unit_test(split_without_a_shell),
        cmocka_unit_test(the_hook_records_its_environment),
        cmocka_unit_test(a_hanging_hook_is_killed_at_its_limit),
    };
    return cmocka_run_group_tests_name("train_notify", tests, test_dir_setup, test_dir_teardown);
}
