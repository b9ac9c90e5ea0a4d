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
    fprintf(out,
            "usage: vggtop train --model NAME [OPTIONS]\n"
            "       vggtop train --resume RUN_DIR [--epochs N] [--threads N]\n\n"
            "Trains a model with SGD, evaluating on the test set after every epoch, and writes a run directory\n"
            "(config.json, history.csv, progress.json, checkpoint.bin, predictions.csv, report.txt, confusion.csv).\n\n"
            "options:\n"
            "  --model NAME        vgg16, vgg19, vgg16-nopool, cnn or mlp (required for a new run)\n"
            "  --data PATH         data directory (default: $VGGTOP_DATA, ./data/cifar-100-binary, then Fashion-MNIST)\n"
            "  --labels fine|coarse  CIFAR-100 labels (default fine)\n"
            "  --epochs N          passes over the training set (default 10)\n"
            "  --batch-size N      images per step (default 32)\n"
            "  --lr F              SGD learning rate (default 0.01)\n"
            "  --momentum F        SGD momentum (default 0)\n"
            "  --nesterov          Nesterov momentum\n"
            "  --weight-decay F    decoupled weight decay (default 0)\n"
            "  --resize N          image side for the model: 0 native (default: 48 for vgg16/vgg19, else native)\n"
            "  --augment           random crop and horizontal flip of training images\n"
            "  --limit-train N     use the first N training images (default all)\n"
            "  --limit-test N      use the first N test images (default all)\n"
            "  --seed N            weights, shuffling and augmentation (default 1)\n"
            "  --threads N         OpenBLAS threads (default 0: one per core)\n"
            "  --runs DIR          parent of the run directory (default runs)\n"
            "  --run-dir DIR       the exact run directory\n"
            "  --resume RUN_DIR    continue a stopped or killed run from its checkpoint\n"
            "  -h, --help          this help\n\n"
            "Ctrl-C or SIGTERM stops after the current batch with a checkpoint (exit 130/143); a second Ctrl-C\n"
            "exits at once. SIGHUP is ignored: the run survives a dropped SSH session.\n");
}

/* Keras' ETA and per-sample formats. The epoch line's bar counts samples, and so does its time: Keras 2.2
 * wrote that per-sample time as "us/step", Keras 2.3 as "us/sample"; "sample" it is here, since the
 * Dashboard's ms/step is per batch and the two must not be confused. */
static void fmt_eta(char *buf, size_t size, double s)
{
    long e = (long)(s + 0.5);
    if (e > 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", e / 3600, e % 3600 / 60, e % 60);
    else if (e > 60)
        snprintf(buf, size, "%ld:%02ld", e / 60, e % 60);
    else
        snprintf(buf, size, "%lds", e);
}

static void fmt_per_sample(char *buf, size_t size, double s)
{
    if (s >= 1)
        snprintf(buf, size, "%.0fs/sample", s);
    else if (s >= 1e-3)
        snprintf(buf, size, "%.0fms/sample", s * 1e3);
    else
        snprintf(buf, size, "%.0fus/sample", s * 1e6);
}

static void fmt_metric(char *buf, size_t size, const char *name, double v)
{
    if (fabs(v) > 1e-3 || v == 0)
        snprintf(buf, size, " - %s: %.4f", name, v);
    else
        snprintf(buf, size, " - %s: %.4e", name, v);
}

/* "  64/2000 [=====>........................]" as Keras' Progbar draws it (30 columns). */
static int fmt_bar(char *buf, size_t size, long current, long target)
{
    int digits = snprintf(NULL, 0, "%ld", target);
    int n = snprintf(buf, size, "%*ld/%ld [", digits, current, target);
    int width = target > 0 ? (int)(30.0 * (double)current / (double)target) : 30;
    if (width > 30)
        width = 30;
    for (int i = 0; i < 30 && n + 2 < (int)size; i++) {
        char c = '.';
        if (i < width - 1)
            c = '=';
        else if (i == width - 1)
            c = current < target ? '>' : '=';
        buf[n++] = c;
    }
    buf[n++] = ']';
    buf[n] = '\0';
    return n;
}

static void print_progress(const train_snapshot *s, int tty)
{
    char line[512], part[64];
    int n = fmt_bar(line, sizeof line, s->samples, s->n_train);
    fmt_eta(part, sizeof part, s->eta);
    n += snprintf(line + n, sizeof line - (size_t)n, " - ETA: %s", part);
    if (s->samples > 0) {
        fmt_metric(part, sizeof part, "loss", s->loss);
        n += snprintf(line + n, sizeof line - (size_t)n, "%s", part);
        fmt_metric(part, sizeof part, "acc", s->acc);
        n += snprintf(line + n, sizeof line - (size_t)n, "%s", part);
        fmt_metric(part, sizeof part, "mse", s->mse);
        snprintf(line + n, sizeof line - (size_t)n, "%s", part);
    }
    if (tty) {
        printf("\r%s\033[K", line);
        fflush(stdout);
    }
}

static void print_epoch_line(const train_snapshot *s, const train_epoch *r, int tty)
{
    char line[768], part[64];
    int n = fmt_bar(line, sizeof line, s->n_train, s->n_train);
    fmt_per_sample(part, sizeof part, s->n_train ? r->seconds / (double)s->n_train : 0);
    n += snprintf(line + n, sizeof line - (size_t)n, " - %.0fs %s", r->seconds, part);
    const char *names[] = {"loss", "acc", "mse", "val_loss", "val_acc", "val_mse"};
    double values[] = {r->loss, r->acc, r->mse, r->val_loss, r->val_acc, r->val_mse};
    for (int i = 0; i < 6; i++) {
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
    printf("Run directory: %s\n", s->run_dir);
    if (s->resumed_epochs || s->resumed_batch)
        printf("Resuming after epoch %d%s\n", s->resumed_epochs, s->resumed_batch ? " (mid-epoch)" : "");
    fflush(stdout);
}

/* The option table; each long option's index into it is its getopt value minus OPT_BASE. */
enum { OPT_BASE = 256 };
static const struct option options[] = {
    {"model", required_argument, NULL, OPT_BASE + 0},
    {"data", required_argument, NULL, OPT_BASE + 1},
    {"labels", required_argument, NULL, OPT_BASE + 2},
    {"epochs", required_argument, NULL, OPT_BASE + 3},
    {"batch-size", required_argument, NULL, OPT_BASE + 4},
    {"lr", required_argument, NULL, OPT_BASE + 5},
    {"momentum", required_argument, NULL, OPT_BASE + 6},
    {"nesterov", no_argument, NULL, OPT_BASE + 7},
    {"weight-decay", required_argument, NULL, OPT_BASE + 8},
    {"resize", required_argument, NULL, OPT_BASE + 9},
    {"augment", no_argument, NULL, OPT_BASE + 10},
    {"limit-train", required_argument, NULL, OPT_BASE + 11},
    {"limit-test", required_argument, NULL, OPT_BASE + 12},
    {"seed", required_argument, NULL, OPT_BASE + 13},
    {"threads", required_argument, NULL, OPT_BASE + 14},
    {"runs", required_argument, NULL, OPT_BASE + 15},
    {"run-dir", required_argument, NULL, OPT_BASE + 16},
    {"resume", required_argument, NULL, 'R'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Parses argv into cfg. Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, train_config *cfg)
{
    train_config_default(cfg);
    const char *resume = NULL;
    int given[OPT_BASE + 32] = {0};
    const char *values[OPT_BASE + 32] = {0};
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
        if (c == '?' || c < OPT_BASE) {
            fprintf(stderr, "vggtop train: unknown option '%s' (see vggtop train --help)\n", argv[optind - 1]);
            return 2;
        }
        given[c] = 1;
        values[c] = optarg ? optarg : "yes";
    }
    if (optind < argc) {
        fprintf(stderr, "vggtop train: unexpected argument '%s' (see vggtop train --help)\n", argv[optind]);
        return 2;
    }
    if (given[OPT_BASE + 15] && given[OPT_BASE + 16]) {
        fprintf(stderr, "vggtop train: --runs and --run-dir exclude each other\n");
        return 2;
    }
    if (resume) {
        /* A resumed run keeps its settings; only more epochs or another thread count make sense. */
        for (int i = 0; options[i].name; i++) {
            int v = options[i].val;
            if (v >= OPT_BASE && given[v] && strcmp(options[i].name, "epochs") != 0 &&
                strcmp(options[i].name, "threads") != 0) {
                fprintf(stderr, "vggtop train: --%s cannot change a resumed run (only --epochs and --threads can)\n",
                        options[i].name);
                return 2;
            }
        }
        if (train_config_load(resume, cfg, &err) != VT_OK) {
            fprintf(stderr, "vggtop train: --resume: %s\n", err.msg);
            return 2;
        }
        cfg->resume = 1;
    } else if (!given[OPT_BASE + 0]) {
        fprintf(stderr, "vggtop train: --model is required (vgg16, vgg19, vgg16-nopool, cnn, mlp)\n");
        return 2;
    }
    for (int i = 0; options[i].name; i++) {
        int v = options[i].val;
        if (v >= OPT_BASE && given[v] && train_config_set(cfg, options[i].name, values[v], &err) != VT_OK) {
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

int cli_train(int argc, char **argv)
{
    train_config cfg;
    int status = parse(argc, argv, &cfg);
    if (status >= 0)
        return status;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);

    vt_err err;
    trainer *t;
    if (trainer_create(&cfg, &t, &err) != VT_OK || trainer_start(t, &err) != VT_OK) {
        fprintf(stderr, "vggtop train: %s\n", err.msg);
        return err.code == VT_EIO ? 1 : 2;
    }
    int tty = isatty(STDOUT_FILENO);
    train_snapshot *s = malloc(sizeof *s);
    if (!s) {
        trainer_destroy(t);
        fprintf(stderr, "vggtop train: out of memory\n");
        return 1;
    }
    int started = 0, printed_rows = 0, header = 0, stop_sent = 0;
    double last_bar = 0;
    struct pollfd pfd = {trainer_wake_fd(t), POLLIN, 0};
    for (;;) {
        poll(&pfd, 1, 250);
        if ((got_int || got_term) && !stop_sent) {
            trainer_stop(t);
            stop_sent = 1;
            fprintf(stderr, "%svggtop train: stopping after this batch and saving a checkpoint%s\n", tty ? "\n" : "",
                    got_int ? " (Ctrl-C again quits at once)" : "");
        }
        trainer_snapshot(t, s);
        int done = s->state == TRAIN_FINISHED || s->state == TRAIN_STOPPED || s->state == TRAIN_FAILED;
        if (!started && s->classes > 0) {
            print_start(&cfg, s);
            started = 1;
            printed_rows = header = s->resumed_epochs;
        }
        if (started) {
            while (printed_rows < s->n_history) {
                if (header < printed_rows + 1)
                    printf("Epoch %d/%d\n", ++header, s->epochs);
                print_epoch_line(s, &s->history[printed_rows], tty);
                printed_rows++;
            }
            if (!done && s->epoch > printed_rows && s->epoch > header) {
                header = s->epoch;
                printf("Epoch %d/%d\n", header, s->epochs);
                fflush(stdout);
            }
            if (tty && !done && s->epoch == header && s->epoch > printed_rows && vt_now() - last_bar > 0.1) {
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
    if (final == TRAIN_FAILED) {
        fprintf(stderr, "vggtop train: %s\n", err.msg);
        rc = err.code == VT_EIO ? 1 : 2;
    } else if (final == TRAIN_STOPPED) {
        fprintf(stderr, "vggtop train: %s\n", s->message);
        rc = got_int ? 130 : 143;
    } else if (cfg.resume && s->resumed_epochs == s->n_history)
        printf("Nothing to do: %s\n", s->message);
    else
        printf("Finished: %d epoch%s in %s\n", s->n_history, s->n_history == 1 ? "" : "s", s->run_dir);
    fflush(stdout);
    free(s);
    trainer_destroy(t);
    return rc;
}
