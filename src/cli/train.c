/* cli/train: `vggtop train`, headless training for batch jobs, logs and SSH. It drives the engine of
 * src/train exactly as the front end does (snapshot + wake pipe) and prints Keras-style lines: the model
 * summary, `Epoch 1/10`, a progress bar redrawn in place on a terminal, and one line per epoch in logs.
 * Signals: SIGINT/SIGTERM stop after the current batch with a checkpoint (exit 130/143), a second SIGINT
 * exits at once (every file is written atomically, so none is left half-written); SIGHUP is ignored so a
 * dropped SSH session does not end the run. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vggtop/cli.h"
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

static void usage(FILE *out)
{
    char resume[256];
    train_resume_usage(resume, sizeof resume);
    fprintf(out, "usage: vggtop train --model NAME [OPTIONS]\n"
                 "       vggtop train --resume RUN_DIR %s\n\n"
                 "Trains a model with SGD, evaluating on the test set after every epoch, and writes a run directory\n"
                 "(config.json, history.csv, progress.json, checkpoint.bin, predictions.csv, report.txt, confusion.csv).\n\n"
                 "options:\n",
            resume);
    char *options = train_fields_help();
    fputs(options ? options : "  (out of memory listing the options)\n", out);
    free(options);
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

static void print_progress(const train_snapshot *s, int tty)
{
    char line[512], part[64];
    int n = vt_fmt_progbar(line, sizeof line, s->batch, s->batches, 30);
    vt_fmt_eta(part, sizeof part, s->eta);
    n += snprintf(line + n, sizeof line - (size_t)n, " - ETA: %s", part);
    if (s->samples > 0) {
        fmt_metric(part, sizeof part, "loss", s->loss);
        n += snprintf(line + n, sizeof line - (size_t)n, "%s", part);
        fmt_metric(part, sizeof part, "acc", s->acc);
        n += snprintf(line + n, sizeof line - (size_t)n, "%s", part);
        fmt_metric(part, sizeof part, "mse", s->mse);
        n += snprintf(line + n, sizeof line - (size_t)n, "%s", part);
        fmt_metric(part, sizeof part, "top_k_categorical_accuracy", s->top5);
        snprintf(line + n, sizeof line - (size_t)n, "%s", part);
    }
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
    int n = snprintf(line, sizeof line, "evaluating on the test set: ");
    n += vt_fmt_progbar(line + n, sizeof line - (size_t)n, s->eval_batch, s->eval_batches, 30);
    snprintf(line + n, sizeof line - (size_t)n, " steps - ETA: %s", vt_fmt_eta(eta, sizeof eta, s->eval_eta));
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

/* The getopt table, one long option per row of train_fields (BOOL rows are bare flags), then --resume and
 * --help. A row's getopt value is OPT_BASE plus its index in train_fields. */
enum { OPT_BASE = 256, MAX_OPTIONS = 64 };

static void build_options(struct option *opts)
{
    int n = 0;
    for (int i = 0; train_fields[i].name && n < MAX_OPTIONS - 3; i++)
        opts[n++] = (struct option){train_fields[i].name,
                                    train_fields[i].kind == TRAIN_FIELD_BOOL ? no_argument : required_argument, NULL,
                                    OPT_BASE + i};
    opts[n++] = (struct option){"resume", required_argument, NULL, 'R'};
    opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    opts[n] = (struct option){NULL, 0, NULL, 0};
}

/* Parses argv into cfg. Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, train_config *cfg)
{
    train_config_default(cfg);
    struct option options[MAX_OPTIONS];
    build_options(options);
    const char *resume = NULL;
    const char *values[MAX_OPTIONS] = {0}; /* by train_fields index: the value given, NULL when not given */
    vt_err err;
    opterr = 0;
    optind = 1;
    int c, li = -1;
    while ((c = getopt_long(argc, argv, ":h", options, &li)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        /* "--model --epochs 2": getopt takes "--epochs" as the model, and "2" would be blamed instead. */
        if (optarg && li >= 0 && options[li].has_arg == required_argument && strncmp(optarg, "--", 2) == 0 &&
            optarg[2]) {
            fprintf(stderr, "vggtop train: --%s needs a value, not the option '%s' (see vggtop train --help)\n",
                    options[li].name, optarg);
            return 2;
        }
        li = -1;
        if (c == 'R') {
            resume = optarg;
            continue;
        }
        if (c == ':') {
            fprintf(stderr, "vggtop train: %s needs a value (see vggtop train --help)\n", argv[optind - 1]);
            return 2;
        }
        if (c == '?' || c < OPT_BASE || c >= OPT_BASE + MAX_OPTIONS) {
            fprintf(stderr, "vggtop train: unknown option '%s' (see vggtop train --help)\n", argv[optind - 1]);
            return 2;
        }
        values[c - OPT_BASE] = optarg ? optarg : "yes";
    }
    if (optind < argc) {
        fprintf(stderr, "vggtop train: unexpected argument '%s' (see vggtop train --help)\n", argv[optind]);
        return 2;
    }
    const train_field *runs = train_field_find("runs"), *run_dir = train_field_find("run-dir");
    if (values[runs - train_fields] && values[run_dir - train_fields]) {
        fprintf(stderr, "vggtop train: --runs and --run-dir exclude each other\n");
        return 2;
    }
    if (resume) {
        /* A resumed run keeps its settings; only the rows marked resumable (more epochs, another thread count)
         * may change. */
        for (int i = 0; train_fields[i].name; i++) {
            if (values[i] && !(train_fields[i].flags & TRAIN_F_RESUMABLE)) {
                char list[256];
                train_resumable_names(list, sizeof list);
                fprintf(stderr, "vggtop train: --%s cannot change a resumed run (only %s can)\n",
                        train_fields[i].name, list);
                return 2;
            }
        }
        if (train_config_load(resume, cfg, &err) != VT_OK) {
            fprintf(stderr, "vggtop train: --resume: %s\n", err.msg);
            return vt_exit_status(err.code);
        }
        cfg->resume = 1;
    } else if (!values[train_field_find("model") - train_fields]) {
        char names[256];
        train_field_describe(train_field_find("model"), names, sizeof names);
        fprintf(stderr, "vggtop train: --model is required (%s)\n", names);
        return 2;
    }
    for (int i = 0; train_fields[i].name; i++) {
        if (values[i] && train_config_set(cfg, train_fields[i].name, values[i], &err) != VT_OK) {
            fprintf(stderr, "vggtop train: %s\n", err.msg);
            return 2;
        }
    }
    if (train_config_check(cfg, &err) != VT_OK) {
        fprintf(stderr, "vggtop train: %s\n", err.msg);
        return 2;
    }
    return -1;
}

static int train_run(train_config *cfg, train_dist *d);

/* Under mpirun every rank runs this; rank 0 reads the command line for all, and alone prints. */
int cli_train(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);

    vt_err err;
    train_dist *d;
    if (train_dist_start(&d, &err) != VT_OK) {
        fprintf(stderr, "vggtop train: %s\n", err.msg);
        return vt_exit_status(err.code);
    }
    train_config cfg;
    int status = train_dist_rank(d) == 0 ? parse(argc, argv, &cfg) : -1;
    if (d && train_dist_share_config(d, &status, &cfg, &err) != VT_OK) {
        fprintf(stderr, "vggtop train: %s\n", err.msg);
        status = 1;
    }
    if (status < 0)
        status = train_run(&cfg, d);
    train_dist_end(d);
    return status;
}

static int train_run(train_config *cfg_in, train_dist *d)
{
    train_config cfg = *cfg_in;
    vt_err err;
    trainer *t;
    /* The other ranks print only their errors; rank 0 prints the run. */
    int quiet = train_dist_rank(d) > 0;
    if (trainer_create_dist(&cfg, d, &t, &err) != VT_OK || trainer_start(t, &err) != VT_OK) {
        if (err.msg[0])
            fprintf(stderr, "vggtop train: %s\n", err.msg);
        return vt_exit_status(err.code);
    }
    int tty = !quiet && isatty(STDOUT_FILENO);
    train_snapshot *s = malloc(sizeof *s);
    if (!s) {
        trainer_destroy(t);
        fprintf(stderr, "vggtop train: out of memory\n");
        return 1;
    }
    int started = 0, printed_rows = 0, header = 0, stop_sent = 0;
    double last_bar = 0, last_eval_line = 0;
    struct pollfd pfd = {trainer_wake_fd(t), POLLIN, 0};
    vt_stop_watch_install();
    double tick = 0;
    for (;;) {
        poll(&pfd, 1, 250);
        trainer_suspended(t, vt_stop_watch_tick(&tick, 0.5)); /* Ctrl-Z: no step time */
        if ((got_int || got_term) && !stop_sent) {
            trainer_stop(t);
            stop_sent = 1;
            if (!quiet)
                fprintf(stderr, "%svggtop train: stopping after this step and saving a checkpoint%s\n", tty ? "\n" : "",
                    got_int ? " (Ctrl-C again quits at once)" : "");
        }
        trainer_snapshot(t, s);
        int done = s->state == TRAIN_FINISHED || s->state == TRAIN_STOPPED || s->state == TRAIN_FAILED;
        if (quiet)
            ; /* nothing to print */
        else if (!started && s->classes > 0) {
            print_start(&cfg, s);
            started = 1;
            printed_rows = header = s->resumed_epochs;
        }
        if (started && !quiet) {
            while (printed_rows < s->n_history) {
                if (header < printed_rows + 1)
                    printf("Epoch %d/%d\n", ++header, s->epochs);
                print_epoch_line(s, &s->history[printed_rows], tty);
                printed_rows++;
                if (s->note_epoch == printed_rows && s->note[0])
                    printf("%s\n", s->note);
            }
            if (!done && s->epoch > printed_rows && s->epoch > header) {
                header = s->epoch;
                printf("Epoch %d/%d\n", header, s->epochs);
                fflush(stdout);
            }
            int evaluating = s->state == TRAIN_EVALUATING && s->eval_batches > 0;
            if (!evaluating)
                last_eval_line = 0;
            if (evaluating && !tty && last_eval_line == 0)
                last_eval_line = vt_now(); /* the first log line after 10 s: short passes print none */
            if (evaluating && (tty ? vt_now() - last_bar > 0.1 : vt_now() - last_eval_line >= 10)) {
                print_eval_progress(s, tty);
                last_bar = last_eval_line = vt_now();
            } else if (tty && !done && !evaluating && s->epoch == header && s->epoch > printed_rows &&
                       vt_now() - last_bar > 0.1) {
                print_progress(s, tty);
                last_bar = vt_now();
            }
        }
        if (done)
            break;
    }
    train_state final = trainer_join(t);
    trainer_error(t, &err);
    trainer_snapshot(t, s);
    if (tty && header > printed_rows)
        printf("\n");
    int rc = 0;
    if (s->ranks > 1 && !quiet && !isnan(s->allreduce_wait))
        printf("Ranks: %d; waiting for the gradient allreduce after the backward pass: %.1f%% of the step time\n",
               s->ranks, 100.0 * s->allreduce_wait);
    if (final == TRAIN_FAILED) {
        if (err.msg[0]) /* empty on a rank that failed because another did: that one says why */
            fprintf(stderr, "vggtop train: %s\n", err.msg);
        rc = vt_exit_status(err.code);
    } else if (quiet)
        rc = final == TRAIN_STOPPED ? (got_int ? 130 : got_term ? 143 : 0) : 0;
    else if (final == TRAIN_STOPPED) {
        fprintf(stderr, "vggtop train: %s\n", s->message);
        /* A stop asked for through the run directory (vggtop ctl, vggtop watch) is no signal: it succeeded. */
        rc = got_int ? 130 : got_term ? 143 : 0;
    } else if (cfg.resume && s->resumed_epochs == s->n_history)
        printf("Nothing to do: %s\n", s->message);
    else if (s->n_history < s->epochs)
        printf("Finished: %d of %d epochs in %s (stopped early, as the line above says)\n", s->n_history, s->epochs,
               s->run_dir);
    else
        printf("Finished: %d epoch%s in %s\n", s->n_history, s->n_history == 1 ? "" : "s", s->run_dir);
    fflush(stdout);
    free(s);
    trainer_destroy(t);
    return rc;
}
