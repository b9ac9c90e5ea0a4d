/* train/notify: the alerts of a run (--notify, --on-event). It watches the engine's snapshots (plain data: no
 * engine internals, no UI), names the events (finished, early stop, stopped, failed, a non-finite loss, a
 * stall), makes the terminal's notification bytes, splits the hook's command line without a shell and runs it
 * with a time limit. Whoever drives the engine (vggtop train) calls it from its loop. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "train_internal.h"

extern char **environ;

const char *const notify_names[] = {"finished", "early-stop", "stopped", "failed", "nonfinite", "stall", "pruned",
                                    "sweep-finished", NULL};

/* ---- events ------------------------------------------------------------------------------------------------ */

static int by_value(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

double train_median(double *v, int n)
{
    if (n < 1)
        return NAN;
    qsort(v, (size_t)n, sizeof v[0], by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double notify_median_step(const notify_watch *w)
{
    if (w->n_per_step == 0)
        return 0;
    double v[NOTIFY_STEPS];
    memcpy(v, w->per_step, sizeof v[0] * (size_t)w->n_per_step);
    return train_median(v, w->n_per_step);
}

static int add(notify_event *out, int n, int max, notify_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int add(notify_event *out, int n, int max, notify_kind kind, const char *fmt, ...)
{
    if (n >= max)
        return n;
    out[n].kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out[n].text, sizeof out[n].text, fmt, ap);
    va_end(ap);
    return n + 1;
}

/* Step times: each growth of the step count seen gives (time since the last growth) / (steps grown). */
static void track_steps(notify_watch *w, const train_snapshot *s, double now)
{
    long step = (long)s->epochs_done * s->batches + s->batch;
    if (!w->seen || step < w->step) { /* the first look, or a new session's count */
        w->step = step;
        w->step_time = now;
        return;
    }
    if (step == w->step)
        return;
    /* Only growth seen while training measures a step: a resume or a pause in between would not. */
    if (w->step_time > 0 && s->state == TRAIN_TRAINING) {
        w->per_step[w->next] = (now - w->step_time) / (double)(step - w->step);
        w->next = (w->next + 1) % NOTIFY_STEPS;
        if (w->n_per_step < NOTIFY_STEPS)
            w->n_per_step++;
    }
    w->step = step;
    w->step_time = now;
    w->stalled = 0;
}

static int ending(notify_watch *w, const train_snapshot *s, notify_event *out, int n, int max)
{
    if (s->diverged && !w->nonfinite) {
        w->nonfinite = 1;
        n = add(out, n, max, NOTIFY_NONFINITE, "the loss of epoch %d is not finite (training diverged)", s->diverged);
    }
    int end = s->state == TRAIN_FINISHED || s->state == TRAIN_STOPPED || s->state == TRAIN_FAILED;
    if (!end || w->ended)
        return n;
    w->ended = 1;
    if (s->state == TRAIN_FAILED)
        return add(out, n, max, NOTIFY_FAILED, "failed: %s", s->message);
    if (s->state == TRAIN_STOPPED)
        return add(out, n, max, NOTIFY_STOPPED, "stopped after %d of %d epochs: %s", s->n_history, s->epochs,
                   s->message);
    if (s->early_stopped)
        return add(out, n, max, NOTIFY_EARLY_STOP, "stopped early after %d of %d epochs, val_acc %.4f: %s",
                   s->n_history, s->epochs, s->last_val_acc, s->note);
    return add(out, n, max, NOTIFY_FINISHED, "finished %d epochs, val_acc %.4f (best %.4f)", s->n_history,
               s->last_val_acc, s->best_val_acc);
}

int notify_observe(notify_watch *w, const train_snapshot *s, double now, notify_event *out, int max)
{
    track_steps(w, s, now);
    w->seen = 1;
    int n = ending(w, s, out, 0, max);
    /* A stall: training (not paused, not evaluating, not loading), and no step for 5x the median step. */
    if (s->state == TRAIN_TRAINING && !w->stalled && w->n_per_step >= 3) {
        double median = notify_median_step(w), idle = now - w->step_time;
        if (idle > 5 * median) {
            w->stalled = 1;
            n = add(out, n, max, NOTIFY_STALL, "no step for %.1f s (5x the median step, %.3f s)", idle, median);
        }
    }
    return n;
}

/* ---- terminal bytes ------------------------------------------------------------------------------------- */

typedef struct out_buf {
    char *p;
    size_t size, len;
} out_buf;

static void put(out_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n && b->len + 1 < b->size; i++)
        b->p[b->len++] = s[i];
    b->p[b->len] = '\0';
}

/* Text inside an OSC: control characters (ESC, BEL, C1 bytes are not: UTF-8 passes) and ';' as spaces. */
static void put_clean(out_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        put(b, c < 0x20 || c == 0x7f || c == ';' ? " " : s, 1);
    }
}

/* One OSC sequence: ESC ] <body> BEL, inside tmux ESC P tmux; ESC ESC ] <body> BEL ESC \ (ESC doubled). */
static void put_osc(out_buf *b, const char *kind, const char *title, const char *body, int tmux)
{
    const char *start = tmux ? "\033Ptmux;\033\033]" : "\033]";
    put(b, start, strlen(start));
    put(b, kind, strlen(kind));
    if (title) {
        put_clean(b, title);
        put(b, ";", 1);
    }
    put_clean(b, body);
    put(b, "\a", 1);
    if (tmux)
        put(b, "\033\\", 2);
}

size_t notify_terminal_bytes(char *buf, size_t size, const char *title, const char *body, int tmux)
{
    if (size == 0)
        return 0;
    out_buf b = {buf, size, 0};
    buf[0] = '\0';
    char both[400];
    snprintf(both, sizeof both, "%s: %s", title, body);
    put_osc(&b, "9;", NULL, both, tmux);
    put_osc(&b, "777;notify;", title, body, tmux);
    put(&b, "\a", 1);
    return b.len;
}

/* ---- the hook's command line ----------------------------------------------------------------------------- */

int notify_split(const char *cmd, char ***argv, vt_err *err)
{
    *argv = NULL;
    size_t len = strlen(cmd);
    /* One block: at most len / 2 + 1 words (each a character and a blank) and their text with NULs. */
    size_t words_max = len / 2 + 2;
    char **v = malloc(words_max * sizeof *v + len + 1);
    if (!v)
        return vt_fail(err, VT_EIO, "out of memory");
    char *text = (char *)(v + words_max), *o = text;
    size_t n = 0;
    const char *p = cmd;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        v[n++] = o;
        char quote = 0;
        for (; *p && (quote || (*p != ' ' && *p != '\t')); p++) {
            if (quote == '\'' && *p != '\'')
                *o++ = *p;
            else if (quote == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
                *o++ = *++p;
            else if (quote && *p == quote)
                quote = 0;
            else if (quote)
                *o++ = *p;
            else if (*p == '\'' || *p == '"')
                quote = *p;
            else if (*p == '\\' && p[1])
                *o++ = *++p;
            else
                *o++ = *p;
        }
        *o++ = '\0';
        if (quote) {
            free(v);
            return vt_fail(err, VT_EUSAGE, "--on-event: an open %s quote in '%s'", quote == '"' ? "double" : "single",
                           cmd);
        }
    }
    v[n] = NULL;
    if (n == 0) {
        free(v);
        return vt_fail(err, VT_EUSAGE, "--on-event: an empty command");
    }
    *argv = v;
    return VT_OK;
}

int notify_program_found(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        char full[VT_PATH_MAX + VT_PATH_EXTRA];
        /* An empty entry is the current directory, as execvp takes it. */
        snprintf(full, sizeof full, "%.*s/%s", n ? (int)n : 1, n ? path : ".", name);
        if (access(full, X_OK) == 0)
            return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

/* ---- the hook's processes -------------------------------------------------------------------------------- */

enum { HOOKS_MAX = 8 }; /* at once: a run has a handful of events; more waits for a slot */

struct notify_hooks {
    char **argv;
    double timeout;
    pid_t pid[HOOKS_MAX];
    double deadline[HOOKS_MAX];
};

int notify_hooks_create(const char *cmd, double timeout, notify_hooks **out, vt_err *err)
{
    *out = NULL;
    notify_hooks *h = calloc(1, sizeof *h);
    if (!h)
        return vt_fail(err, VT_EIO, "out of memory");
    int rc = notify_split(cmd, &h->argv, err);
    if (rc != VT_OK) {
        free(h);
        return rc;
    }
    h->timeout = timeout;
    *out = h;
    return VT_OK;
}

void notify_hooks_destroy(notify_hooks *h)
{
    if (!h)
        return;
    notify_hooks_wait(h);
    free(h->argv);
    free(h);
}

/* The fewest digits that read back as v ("0.542", not "0.54200000000000004"); "" for NaN (no value). */
static void shortest(char *buf, size_t size, double v)
{
    buf[0] = '\0';
    for (int prec = 1; !isnan(v) && prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
}

/* The variables a hook gets, in this order. */
static const char *const hook_vars[] = {"VGGTOP_EVENT",  "VGGTOP_MESSAGE", "VGGTOP_RUN_DIR",
                                        "VGGTOP_EPOCH",  "VGGTOP_EPOCHS",  "VGGTOP_LOSS",
                                        "VGGTOP_ACC",    "VGGTOP_VAL_LOSS", "VGGTOP_VAL_ACC"};
enum { HOOK_VARS = sizeof hook_vars / sizeof hook_vars[0] };

/* Whether an environment entry ("NAME=value") sets one of hook_vars: inherited ones are left out. */
static int is_hook_var(const char *entry)
{
    for (int i = 0; i < HOOK_VARS; i++) {
        size_t n = strlen(hook_vars[i]);
        if (strncmp(entry, hook_vars[i], n) == 0 && entry[n] == '=')
            return 1;
    }
    return 0;
}

/* The environment of a hook: this process's, without hook_vars, then the event's (vars holds their text). */
static char **hook_environment(const notify_event *e, const train_snapshot *s, char (*vars)[4400])
{
    const train_epoch *last = s->n_history > 0 ? &s->history[s->n_history - 1] : NULL;
    char value[HOOK_VARS][4200];
    snprintf(value[0], sizeof value[0], "%s", notify_names[e->kind]);
    snprintf(value[1], sizeof value[1], "%s", e->text);
    snprintf(value[2], sizeof value[2], "%s", s->run_dir);
    snprintf(value[3], sizeof value[3], "%d", s->n_history);
    snprintf(value[4], sizeof value[4], "%d", s->epochs);
    const double metrics[4] = {last ? last->loss : 0, last ? last->acc : 0, last ? last->val_loss : 0,
                               last ? last->val_acc : 0};
    for (int i = 0; i < 4; i++) /* the last finished epoch's; empty before one */
        shortest(value[5 + i], sizeof value[5 + i], last ? metrics[i] : NAN);
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = malloc((n + HOOK_VARS + 1) * sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!is_hook_var(environ[i]))
            env[k++] = environ[i];
    for (int i = 0; i < HOOK_VARS; i++) {
        snprintf(vars[i], sizeof vars[i], "%.20s=%.4200s", hook_vars[i], value[i]);
        env[k++] = vars[i];
    }
    env[k] = NULL;
    return env;
}

/* A free slot, after reaping what ended; -1 when all run. */
static int free_slot(notify_hooks *h)
{
    notify_hooks_poll(h, vt_now());
    for (int i = 0; i < HOOKS_MAX; i++)
        if (h->pid[i] == 0)
            return i;
    return -1;
}

int notify_hook_start(notify_hooks *h, const notify_event *e, const train_snapshot *s, vt_err *err)
{
    int slot = free_slot(h);
    if (slot < 0)
        return vt_fail(err, VT_EIO, "--on-event: %d commands still run; this %s event is not told", HOOKS_MAX,
                       notify_names[e->kind]);
    static char vars[HOOK_VARS][4400]; /* the caller's thread alone starts hooks */
    char **env = hook_environment(e, s, vars);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    if (!env || posix_spawn_file_actions_init(&fa) != 0) {
        free(env);
        return vt_fail(err, VT_EIO, "out of memory");
    }
    posix_spawnattr_init(&attr);
    /* Its own process group, so the kill at the limit reaches what it started too; stdin from nowhere. */
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, h->argv[0], &fa, &attr, h->argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(env);
    if (rc != 0)
        return vt_fail(err, VT_EIO, "--on-event: cannot run %s: %s", h->argv[0], strerror(rc));
    h->pid[slot] = pid;
    h->deadline[slot] = vt_now() + h->timeout;
    return VT_OK;
}

int notify_hooks_poll(notify_hooks *h, double now)
{
    int killed = 0;
    for (int i = 0; i < HOOKS_MAX; i++) {
        if (h->pid[i] == 0)
            continue;
        int status;
        pid_t got = waitpid(h->pid[i], &status, WNOHANG);
        if (got == h->pid[i] || (got < 0 && errno == ECHILD)) {
            h->pid[i] = 0;
            continue;
        }
        if (now >= h->deadline[i]) {
            kill(-h->pid[i], SIGKILL);
            waitpid(h->pid[i], &status, 0);
            h->pid[i] = 0;
            killed++;
        }
    }
    return killed;
}

int notify_hooks_wait(notify_hooks *h)
{
    int killed = 0;
    for (;;) {
        killed += notify_hooks_poll(h, vt_now());
        int running = 0;
        for (int i = 0; i < HOOKS_MAX; i++)
            running += h->pid[i] != 0;
        if (!running)
            return killed;
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
}

/* ---- the sink: terminal and hooks of a session ------------------------------------------------------------- */

int notify_sink_open(notify_sink *k, int notify, const char *cmd, double timeout, vt_err *err)
{
    memset(k, 0, sizeof *k);
    k->term_fd = k->close_fd = -1;
    k->timeout = timeout;
    if (notify) {
        k->term_fd = isatty(STDOUT_FILENO) ? STDOUT_FILENO : isatty(STDERR_FILENO) ? STDERR_FILENO : -1;
        if (k->term_fd < 0)
            k->term_fd = k->close_fd = open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC);
        const char *tmux = getenv("TMUX");
        k->tmux = tmux && *tmux;
    }
    return cmd && cmd[0] ? notify_hooks_create(cmd, timeout, &k->hooks, err) : VT_OK;
}

int notify_sink_tell(notify_sink *k, const notify_event *e, const train_snapshot *s, vt_err *err)
{
    char bytes[2048];
    size_t len = k->term_fd >= 0 ? notify_terminal_bytes(bytes, sizeof bytes, "vggtop", e->text, k->tmux) : 0;
    if (len && write(k->term_fd, bytes, len) < 0)
        k->term_fd = -1;
    return k->hooks ? notify_hook_start(k->hooks, e, s, err) : VT_OK;
}

int notify_sink_poll(notify_sink *k) { return k->hooks ? notify_hooks_poll(k->hooks, vt_now()) : 0; }

int notify_sink_close(notify_sink *k)
{
    int killed = k->hooks ? notify_hooks_wait(k->hooks) : 0;
    notify_hooks_destroy(k->hooks);
    if (k->close_fd >= 0)
        close(k->close_fd);
    k->hooks = NULL;
    k->term_fd = k->close_fd = -1;
    return killed;
}

void notify_watch_begin(notify_watch *w, const train_snapshot *s, double now)
{
    notify_event ignored[8];
    memset(w, 0, sizeof *w);
    notify_observe(w, s, now, ignored, 8);
}
