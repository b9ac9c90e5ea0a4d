/* cli/train: `vggtop train`, headless training for batch jobs, logs and SSH. It drives the engine of
 * src/train exactly as the front end does (snapshot + wake pipe) and prints Keras-style lines: the model
 * summary, `Epoch 1/10`, a progress bar redrawn in place on a terminal, and one line per epoch in logs.
 * Signals: SIGINT/SIGTERM stop after the current batch with a checkpoint (exit 130/143), a second SIGINT
 * exits at once (every file is written atomically, so none is left half-written); SIGHUP is ignored so a
 * dropped SSH session does not end the run. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_internal.h"
#include "vggtop/train.h"

static volatile sig_atomic_t got_int, got_term;

static void on_signal(int sig)
{
    if (sig == SIGINT) {
        if (got_int)
            _exit(130); /* the second Ctrl-C: at once; atomic writes leave only a stray *.tmp.<pid> */
        got_int = 1;
    } else
        got_term = 1;
}

/* --progress: how the epoch in progress is shown. auto: a bar in place on a terminal of one process, lines
 * otherwise (under mpirun each rank's output is a pty, so isatty says yes even with the log in a file). */
typedef enum { PROGRESS_AUTO, PROGRESS_BAR, PROGRESS_LINES } progress_mode;
static const char *const progress_names[] = {"auto", "bar", "lines", NULL};
#define PROGRESS_HELP                                                                                              \
    "how the epoch in progress is shown: bar (redrawn in place), lines (a line per epoch, for logs) or auto (a bar "\
    "on a terminal, lines in a log and whenever mpirun starts more than one process) (default auto)"

#define ALLOW_BATCH_HELP                                                                                           \
    "with --resume: let --batch-size change, from the start of an epoch (the steps of an epoch change, and with "  \
    "them what a learning rate does)"

static void usage(FILE *out)
{
    fprintf(out, "usage: vggtop train --model NAME [OPTIONS]\n"
                 "       vggtop train --resume RUN_DIR [--epochs N] [--lr F] [OPTIONS]\n\n"
                 "Trains a model with SGD, evaluating on the test set after every epoch, and writes a run directory\n"
                 "(config.json, history.csv, progress.json, checkpoint.bin, predictions.csv, report.txt, confusion.csv).\n\n"
                 "options:\n");
    char *options = train_fields_help();
    fputs(options ? options : "  (out of memory listing the options)\n", out);
    free(options);
    vt_buf b = {0};
    train_help_entry(&b, "--allow-batch-change", ALLOW_BATCH_HELP);
    train_help_entry(&b, "--progress MODE", PROGRESS_HELP);
    char *progress = vt_buf_take(&b);
    fputs(progress ? progress : "", out);
    free(progress);
    fprintf(out, "  -h, --help           this help\n\n"
                 "Ctrl-C or SIGTERM stops after the current step with a checkpoint (exit 130/143); a second Ctrl-C\n"
                 "exits at once. SIGHUP is ignored: the run survives a dropped SSH session.\n\n"
                 "Under Open MPI (mpirun -np N vggtop train ...) the N processes train one run data-parallel:\n"
                 "--batch-size is the global batch, rank 0 writes the run directory (see man vggtop, TRAINING).\n");
}

/* Keras' current progress bar counts steps (batches) and gives the time per step, "62ms/step"; so do this
 * log and the Dashboard, in the same words (they used to disagree: samples and us/sample here). */
static void fmt_metric(char *buf, size_t size, const char *name, double v)
{
    char num[32];
    snprintf(buf, size, " - %s: %s", name, vt_fmt_metric(num, sizeof num, v));
}

/* The in-place bar of the epoch in progress, fitted to width columns (0: no limit) so that it never wraps
 * (a wrapped line scrolls: '\r' goes back to its last row only). Fields go in the order Keras' own bar can
 * spare them: the long top-k name, then mse, a shorter bar, acc, the bar itself; the steps, the ETA and the
 * loss stay, cut at width - 1 as a last resort. */
int cli_progress_line(char *buf, size_t size, const train_snapshot *s, int width)
{
    const char *names[] = {"loss", "acc", "mse", "top_k_categorical_accuracy"};
    const double values[] = {s->loss, s->acc, s->mse, s->top5};
    /* stage: 0 all, 1 no top-k, 2 no mse, 3 bar of 10, 4 no acc, 5 no bar */
    static const int metrics_of[] = {4, 3, 2, 2, 1, 1}, bar_of[] = {30, 30, 30, 10, 10, 0};
    int n = 0;
    for (int stage = 0; stage < 6; stage++) {
        char part[64];
        n = bar_of[stage] ? vt_fmt_progbar(buf, size, s->batch, s->batches, bar_of[stage])
                          : snprintf(buf, size, "%ld/%ld", s->batch, s->batches);
        vt_fmt_eta(part, sizeof part, s->eta);
        n += snprintf(buf + n, size - (size_t)n, " - ETA: %s", part);
        for (int i = 0; s->samples > 0 && i < metrics_of[stage] && n < (int)size; i++) {
            fmt_metric(part, sizeof part, names[i], values[i]);
            n += snprintf(buf + n, size - (size_t)n, "%s", part);
        }
        if (n >= (int)size)
            n = (int)size - 1;
        if (width <= 0 || n < width)
            return n;
    }
    if (width - 1 < n)
        buf[n = width - 1] = '\0';
    return n;
}

/* The terminal's width, or 0 when it is not known (a log: no limit). */
static int terminal_width(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *cols = getenv("COLUMNS");
    return cols && atoi(cols) > 0 ? atoi(cols) : 0;
}

static void print_progress(const train_snapshot *s, int tty)
{
    char line[512];
    cli_progress_line(line, sizeof line, s, terminal_width());
    if (tty) {
        printf("\r%s\033[K", line);
        fflush(stdout);
    }
}

/* The test-set pass after an epoch (minutes for a VGG on 10,000 images): its steps and ETA, in place on a
 * terminal, and in a log one line every 10 s of it, so neither looks hung. */
static void print_eval_progress(const train_snapshot *s, int tty)
{
    char line[256], eta[32];
    int width = tty ? terminal_width() : 0, n = 0;
    for (int bar = 30; bar > 0; bar = bar == 30 ? 10 : 0) { /* a shorter bar where 30 would wrap */
        n = snprintf(line, sizeof line, "evaluating on the test set: ");
        n += vt_fmt_progbar(line + n, sizeof line - (size_t)n, s->eval_batch, s->eval_batches, bar);
        n += snprintf(line + n, sizeof line - (size_t)n, " steps - ETA: %s", vt_fmt_eta(eta, sizeof eta, s->eval_eta));
        if (width <= 0 || n < width)
            break;
    }
    if (width > 0 && n >= width && n < (int)sizeof line)
        line[width - 1] = '\0';
    if (tty)
        printf("\r%s\033[K", line);
    else
        printf("%s\n", line);
    fflush(stdout);
}

static void print_epoch_line(const train_snapshot *s, const train_epoch *r, int tty)
{
    char line[768], part[64];
    int n = vt_fmt_progbar(line, sizeof line, s->batches, s->batches, 30);
    vt_fmt_per_unit(part, sizeof part, s->batches ? r->seconds / (double)s->batches : 0, "step");
    n += snprintf(line + n, sizeof line - (size_t)n, " - %.0fs %s", r->seconds, part);
    /* Keras' order: loss, then the compiled metrics (acc, mse, top-5), then the same with val_. */
    const char *names[] = {"loss",     "acc",     "mse",     "top_k_categorical_accuracy",
                           "val_loss", "val_acc", "val_mse", "val_top_k_categorical_accuracy"};
    double values[] = {r->loss, r->acc, r->mse, r->top5, r->val_loss, r->val_acc, r->val_mse, r->val_top5};
    for (int i = 0; i < 8; i++) {
        if (isnan(values[i]) && (i == 3 || i == 7))
            continue; /* an epoch from before top-5 was measured */
        fmt_metric(part, sizeof part, names[i], values[i]);
        n += snprintf(line + n, sizeof line - (size_t)n, "%s", part);
    }
    if (tty)
        printf("\r%s\033[K\n", line); /* over the in-place bar, clearing what is left of it */
    else
        printf("%s\n", line);
    fflush(stdout);
}

static void print_start(const train_config *cfg, const train_snapshot *s)
{
    printf("Data: %s, %ld training and %ld test images, %dx%dx%d, %d classes\n", s->dataset, s->n_train, s->n_test,
           s->height, s->width, s->channels, s->classes);
    if (s->notice[0])
        printf("%s\n", s->notice);
    char *summary = NULL;
    vt_err err;
    if (train_model_summary(cfg, s->height, s->width, s->channels, s->classes, &summary, NULL, &err) == VT_OK) {
        fputs(summary, stdout);
        if (summary[0] && summary[strlen(summary) - 1] != '\n')
            putchar('\n');
    }
    free(summary);
    if (s->conv[0])
        printf("Convolutions: %s\n", s->conv);
    printf("Run directory: %s\n", s->run_dir);
    if (s->ranks > 1)
        printf("Ranks: %d (global batch %d, about %d images per rank and step)\n", s->ranks, cfg->batch_size,
               (cfg->batch_size + s->ranks - 1) / s->ranks);
    if (s->resumed_epochs || s->resumed_batch)
        printf("Resuming after epoch %d%s\n", s->resumed_epochs, s->resumed_batch ? " (mid-epoch)" : "");
    fflush(stdout);
}

/* The option table, one row per row of train_fields (BOOL rows are bare flags) with the key FIELD + its index,
 * then --resume. Its text is the settings table's, through usage() and train_fields_man. */
enum { FIELD = CLI_LONG_ONLY, RESUME = CLI_LONG_ONLY + CLI_MAX_OPTIONS, PROGRESS, ALLOW_BATCH };


static void build_options(cli_option *opts)
{
    int n = 0;
    for (int i = 0; train_fields[i].name && n < CLI_MAX_OPTIONS - 4; i++)
        opts[n++] = (cli_option){train_fields[i].name, FIELD + i,
                                 train_fields[i].kind == TRAIN_FIELD_BOOL ? NULL
                                 : train_fields[i].metavar                ? train_fields[i].metavar
                                                                          : "VALUE",
                                 NULL, NULL, NULL};
    opts[n++] = (cli_option){"resume", RESUME, "RUN_DIR", NULL, NULL, NULL};
    opts[n++] = (cli_option){"progress", PROGRESS, "bar|lines|auto", NULL, NULL, NULL};
    opts[n++] = (cli_option){"allow-batch-change", ALLOW_BATCH, NULL, NULL, NULL, NULL};
    opts[n] = (cli_option){NULL, 0, NULL, NULL, NULL, NULL};
}

typedef struct train_args {
    const char *resume;
    int progress; /* progress_mode */
    int allow_batch;
    const char *values[CLI_MAX_OPTIONS]; /* by train_fields index: the value given, NULL when not given */
} train_args;

static int set_option(void *ctx, int key, const char *value, vt_err *err)
{
    train_args *a = ctx;
    if (key == PROGRESS) {
        for (a->progress = 0; progress_names[a->progress]; a->progress++)
            if (strcmp(value, progress_names[a->progress]) == 0)
                return VT_OK;
        return vt_fail(err, VT_EUSAGE, "--progress: '%s' is not bar, lines or auto", value);
    }
    if (key == ALLOW_BATCH)
        a->allow_batch = 1;
    else if (key == RESUME)
        a->resume = value;
    else
        a->values[key - FIELD] = value ? value : "yes";
    return VT_OK;
}

static const char *given(const train_args *a, const char *name)
{
    return a->values[train_field_find(name) - train_fields];
}

/* A resumed run keeps what makes it the run it is (model, data set, labels, resize, seed, batch size unless
 * --allow-batch-change); the rows marked resumable (epochs, the optimiser's numbers, callbacks, threads) may
 * change, and config.json lists each change with the epoch it holds from. A flag that repeats the run's own
 * value changes nothing and is taken. */
static int load_resumed(const train_args *a, train_config *cfg, vt_err *err)
{
    vt_err why;
    if (train_config_load(a->resume, cfg, &why) != VT_OK)
        return vt_fail(err, why.code, "--resume: %s", why.msg);
    for (int i = 0; train_fields[i].name; i++) {
        const char *name = train_fields[i].name;
        int batch = strcmp(name, "batch-size") == 0;
        if (!a->values[i] || (train_fields[i].flags & TRAIN_F_RESUMABLE) || (batch && a->allow_batch))
            continue;
        static train_config same; /* 20 kB: off the stack */
        char now[VT_PATH_MAX], asked[VT_PATH_MAX];
        same = *cfg;
        if (train_config_set(&same, name, a->values[i], &why) == VT_OK && train_config_get(cfg, name, now, sizeof now) == 0 &&
            train_config_get(&same, name, asked, sizeof asked) == 0 && strcmp(now, asked) == 0)
            continue;
        return vt_fail(err, VT_EUSAGE, "--%s cannot change a resumed run: it would make it another run (%s)", name,
                       batch ? "--allow-batch-change lets it change from the start of an epoch"
                             : "vggtop train --help lists what --resume may change");
    }
    cfg->resume = 1;
    cfg->resume_lr = given(a, "lr") != NULL;
    cfg->allow_batch_change = a->allow_batch;
    return VT_OK;
}

/* Parses argv into cfg and *progress (a progress_mode); *done after --help. */
static int parse(int argc, char **argv, train_config *cfg, int *progress, int *done, vt_err *err)
{
    train_config_default(cfg);
    cli_option options[CLI_MAX_OPTIONS];
    build_options(options);
    train_args a;
    memset(&a, 0, sizeof a);
    int rc = cli_parse(&cli_train_command, options, argc, argv, set_option, &a, done, err);
    *progress = a.progress;
    if (rc != VT_OK || *done || (rc = cli_positional(&cli_train_command, argc, argv, 0, 0, NULL, err)) != VT_OK)
        return rc;
    if (given(&a, "runs") && given(&a, "run-dir"))
        return vt_fail(err, VT_EUSAGE, "--runs and --run-dir exclude each other");
    if (a.allow_batch && !a.resume)
        return vt_fail(err, VT_EUSAGE, "--allow-batch-change goes with --resume (a new run takes any --batch-size)");
    if (a.resume && (rc = load_resumed(&a, cfg, err)) != VT_OK)
        return rc;
    struct stat st;
    if (a.resume && !given(&a, "data") && cfg->data[0] && stat(cfg->data, &st) != 0) /* it said "--data PATH: ..." */
        return vt_fail(err, VT_EUSAGE, "the run's data set %s: %s (give --data DIR where it is now)", cfg->data,
                       strerror(errno));
    if (!a.resume && !given(&a, "model")) {
        char names[256];
        train_field_describe(train_field_find("model"), names, sizeof names);
        return vt_fail(err, VT_EUSAGE, "--model is required (%s)", names);
    }
    for (int i = 0; train_fields[i].name; i++)
        if (a.values[i] && (rc = train_config_set(cfg, train_fields[i].name, a.values[i], err)) != VT_OK)
            return VT_EUSAGE;
    return train_config_check(cfg, err) == VT_OK ? VT_OK : VT_EUSAGE;
}

static int train_run(const train_config *cfg, train_dist *d, int progress, vt_err *err);

/* Under mpirun every rank runs this; rank 0 reads the command line for all, and alone prints. */
static int train_ranks(train_dist *d, int argc, char **argv, vt_err *err)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    train_config cfg;
    /* What every rank does: -1 go on, else stop with this code (rank 0 alone has the message). */
    int status = -1, done = 0, progress = PROGRESS_AUTO, rc;
    if (train_dist_rank(d) == 0 && ((rc = parse(argc, argv, &cfg, &progress, &done, err)) != VT_OK || done))
        status = rc;
    if (d && train_dist_share_config(d, &status, &cfg, err) != VT_OK)
        status = VT_EIO;
    return status >= 0 ? status : train_run(&cfg, d, progress, err);
}

static int cmd_train(int argc, char **argv, vt_err *err)
{
    train_dist *d;
    int rc = train_dist_start(&d, err);
    if (rc != VT_OK)
        return rc;
    rc = train_ranks(d, argc, argv, err);
    train_dist_end(d);
    return rc;
}

int cli_train_in(train_dist *d, int argc, char **argv, vt_err *err) { return train_ranks(d, argc, argv, err); }

/* What one look at the snapshot prints: the start, finished epochs, the next epoch's header, and on a terminal
 * the progress bar in place (in a log, a line every 10 s of a long evaluation). */
typedef struct printer {
    int tty, started, printed_rows, header;
    double last_bar, last_eval_line;
} printer;

static void print_snapshot(printer *p, const train_config *cfg, const train_snapshot *s, int done)
{
    if (!p->started && s->classes > 0) {
        print_start(cfg, s);
        p->started = 1;
        p->printed_rows = p->header = s->resumed_epochs;
    }
    if (!p->started)
        return;
    while (p->printed_rows < s->n_history) {
        if (p->header < p->printed_rows + 1)
            printf("Epoch %d/%d\n", ++p->header, s->epochs);
        print_epoch_line(s, &s->history[p->printed_rows], p->tty);
        p->printed_rows++;
        if (s->note_epoch == p->printed_rows && s->note[0])
            printf("%s\n", s->note);
    }
    if (!done && s->epoch > p->printed_rows && s->epoch > p->header) {
        p->header = s->epoch;
        printf("Epoch %d/%d\n", p->header, s->epochs);
        fflush(stdout);
    }
    int evaluating = s->state == TRAIN_EVALUATING && s->eval_batches > 0;
    if (!evaluating)
        p->last_eval_line = 0;
    if (evaluating && !p->tty && p->last_eval_line == 0)
        p->last_eval_line = vt_now(); /* the first log line after 10 s: short passes print none */
    if (evaluating && (p->tty ? vt_now() - p->last_bar > 0.1 : vt_now() - p->last_eval_line >= 10)) {
        print_eval_progress(s, p->tty);
        p->last_bar = p->last_eval_line = vt_now();
    } else if (p->tty && !done && !evaluating && s->epoch == p->header && s->epoch > p->printed_rows &&
               vt_now() - p->last_bar > 0.1) {
        print_progress(s, p->tty);
        p->last_bar = vt_now();
    }
}

/* The code of a run that ended in state final: a stop by signal is 130/143, a stop asked for through the run
 * directory (vggtop ctl, vggtop watch) is no signal: it succeeded. */
static int finish(const train_config *cfg, const train_snapshot *s, train_state final, int quiet, vt_err *err)
{
    if (s->ranks > 1 && !quiet && !isnan(s->allreduce_wait))
        printf("Ranks: %d; waiting for the gradient %s after the backward pass: %.1f%% of the step time "
               "(%.1f of %.1f ms)\n", s->ranks, s->dist_shared ? "sums (shared memory)" : "allreduce",
               100.0 * s->allreduce_wait, s->allreduce_wait * s->dist_step_ms, s->dist_step_ms);
    int stopped = got_int ? VT_ESIGINT : got_term ? VT_ESIGTERM : VT_OK;
    if (final == TRAIN_FAILED) /* err is empty on a rank that failed because another did: that one says why */
        return err->code;
    vt_err_clear(err);
    if (final == TRAIN_STOPPED) {
        if (!quiet)
            fprintf(stderr, "vggtop train: %s\n", s->message);
        return stopped;
    }
    if (quiet)
        return VT_OK;
    if (cfg->resume && s->resumed_epochs == s->n_history)
        printf("Nothing to do: %s\n", s->message);
    else if (s->n_history < s->epochs)
        printf("Finished: %d of %d epochs in %s (stopped early, as the line above says)\n", s->n_history, s->epochs,
               s->run_dir);
    else
        printf("Finished: %d epoch%s in %s\n", s->n_history, s->n_history == 1 ? "" : "s", s->run_dir);
    return VT_OK;
}

/* --notify and --on-event (src/train/notify.c): the events each look at the snapshot shows, told as a log line,
 * a terminal notification and the hook's command; the hooks reaped, and killed past their limit, as the loop
 * goes (the run never waits for them until it ended). */
typedef struct alerts {
    int on;
    notify_watch watch;
    notify_sink sink;
} alerts;

static void alerts_open(alerts *a, const train_config *cfg, int quiet, vt_err *err)
{
    memset(a, 0, sizeof *a);
    a->on = !quiet && (cfg->notify || cfg->on_event[0]);
    if (a->on && notify_sink_open(&a->sink, cfg->notify, cfg->on_event, cfg->hook_timeout, err) != VT_OK) {
        fprintf(stderr, "vggtop train: %s; no command runs at the events\n", err->msg);
        vt_err_clear(err);
    }
}

static void alerts_tick(alerts *a, const train_snapshot *s, int tty)
{
    if (!a->on)
        return;
    notify_event ev[8];
    int n = notify_observe(&a->watch, s, vt_now(), ev, 8);
    for (int i = 0; i < n; i++) {
        /* The log line first (over an in-place bar on a terminal), then the terminal's notification. */
        printf("%sEvent: %s: %s\n", tty ? "\r\033[K" : "", notify_names[ev[i].kind], ev[i].text);
        fflush(stdout);
        vt_err err;
        if (notify_sink_tell(&a->sink, &ev[i], s, &err) != VT_OK)
            printf("Event: %s\n", err.msg);
    }
    if (notify_sink_poll(&a->sink))
        printf("Event: the --on-event command ran past its %g s limit and was killed; the run goes on\n",
               a->sink.timeout);
}

/* The last look: the end's events, then the hooks waited for (each at most until its limit). */
static void alerts_close(alerts *a, const train_snapshot *s)
{
    if (!a->on)
        return;
    alerts_tick(a, s, 0);
    if (notify_sink_close(&a->sink))
        printf("Event: the --on-event command ran past its %g s limit and was killed\n", a->sink.timeout);
    fflush(stdout);
}

static int train_run(const train_config *cfg, train_dist *d, int progress, vt_err *err)
{
    trainer *t;
    /* The other ranks print only their errors; rank 0 prints the run. */
    int quiet = train_dist_rank(d) > 0;
    int rc = trainer_create_dist(cfg, d, &t, err);
    if (rc != VT_OK || (rc = trainer_start(t, err)) != VT_OK)
        return rc;
    train_snapshot *s = malloc(sizeof *s);
    if (!s) {
        trainer_destroy(t);
        return vt_fail(err, VT_EIO, "out of memory");
    }
    int bar = progress == PROGRESS_BAR ||
              (progress == PROGRESS_AUTO && isatty(STDOUT_FILENO) && train_dist_size(d) <= 1);
    printer p = {.tty = !quiet && bar};
    alerts al;
    alerts_open(&al, cfg, quiet, err);
    int stop_sent = 0;
    struct pollfd pfd = {trainer_wake_fd(t), POLLIN, 0};
    vt_stop_watch_install();
    double tick = 0;
    for (int done = 0; !done;) {
        poll(&pfd, 1, 250);
        trainer_suspended(t, vt_stop_watch_tick(&tick, 0.5)); /* Ctrl-Z: no step time */
        if ((got_int || got_term) && !stop_sent) {
            trainer_stop(t);
            stop_sent = 1;
            if (!quiet)
                fprintf(stderr, "%svggtop train: stopping after this step and saving a checkpoint%s\n",
                        p.tty ? "\n" : "", got_int ? " (Ctrl-C again quits at once)" : "");
        }
        trainer_snapshot(t, s);
        done = s->state == TRAIN_FINISHED || s->state == TRAIN_STOPPED || s->state == TRAIN_FAILED;
        if (!quiet)
            print_snapshot(&p, cfg, s, done);
        alerts_tick(&al, s, p.tty && p.header > p.printed_rows);
    }
    train_state final = trainer_join(t);
    trainer_error(t, err);
    trainer_snapshot(t, s);
    if (p.tty && p.header > p.printed_rows)
        printf("\n");
    rc = finish(cfg, s, final, quiet, err);
    alerts_close(&al, s);
    fflush(stdout);
    free(s);
    trainer_destroy(t);
    return rc;
}

const cli_command cli_train_command = {
    .name = "train",
    .run = cmd_train,
    .summary = "train a model headless (Keras-style progress), writing a run directory",
    .help = usage,
    .man_options = train_fields_man,
};
