/* cli/runs: the commands that read run directories: evaluate (re-predict the test set from the
 * checkpoint), report, confusion, roc, history and compare. Everything but evaluate works from the run
 * directory's files alone (predictions.csv, config.json, history.csv), so a run can be inspected on a
 * machine without its data set. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>

#include "vggtop/cli.h"
#include "vggtop/metrics.h"
#include "vggtop/train.h"
#include "vggtop/tui.h"

/* Options shared by the run commands; each command says which it accepts. */
typedef struct run_opts {
    int digits;
    int csv, json, coarse, all, best;
    int epoch;             /* report --epoch N: 0 when not given */
    const char *history;   /* report --history CLASS */
    const char *data;      /* evaluate --data DIR */
    int top;
    int threads;
    const char *metric;
} run_opts;

enum { O_DIGITS = 256, O_CSV, O_JSON, O_COARSE, O_TOP, O_THREADS, O_METRIC, O_ALL, O_BEST, O_EPOCH, O_HISTORY, O_DATA };

static const struct option run_options[] = {
    {"digits", required_argument, NULL, O_DIGITS}, {"csv", no_argument, NULL, O_CSV},
    {"json", no_argument, NULL, O_JSON},           {"coarse", no_argument, NULL, O_COARSE},
    {"top", required_argument, NULL, O_TOP},       {"threads", required_argument, NULL, O_THREADS},
    {"metric", required_argument, NULL, O_METRIC}, {"all", no_argument, NULL, O_ALL},
    {"best", no_argument, NULL, O_BEST},           {"epoch", required_argument, NULL, O_EPOCH},
    {"history", required_argument, NULL, O_HISTORY}, {"data", required_argument, NULL, O_DATA},
    {"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0},
};

/* A whole number flag in [lo, hi] into *out; 0, or 2 after one line on stderr. */
static int int_flag(const char *cmd, const char *flag, const char *value, long lo, long hi, int *out)
{
    long l;
    vt_err err;
    if (vt_flag_long(flag, value, lo, hi, &l, &err) != VT_OK) {
        fprintf(stderr, "vggtop %s: %s\n", cmd, err.msg);
        return 2;
    }
    *out = (int)l;
    return 0;
}

/* --threads and the like take the rule of vggtop train's setting of the same name. */
static int setting_flag(const char *cmd, const char *setting, const char *flag, const char *value, int *out)
{
    double v;
    vt_err err;
    if (train_setting_parse(setting, flag, value, &v, &err) != VT_OK) {
        fprintf(stderr, "vggtop %s: %s\n", cmd, err.msg);
        return 2;
    }
    *out = (int)v;
    return 0;
}

/* Parses argv for a command accepting the options in `allowed` (their names, space-separated) and
 * between min_dirs and max_dirs run directories. Returns -1 to go on, else the exit status. */
static int parse_run_args(int argc, char **argv, const char *allowed, const char *help, int min_dirs, int max_dirs,
                          run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->digits = -1; /* each command's own default */
    o->top = 20;
    o->threads = -1;
    o->metric = "val_acc";
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", run_options, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return 0;
        }
        if (c == ':') {
            fprintf(stderr, "vggtop %s: %s needs a value (see vggtop %s --help)\n", argv[0], argv[optind - 1], argv[0]);
            return 2;
        }
        const char *name = NULL;
        for (int i = 0; run_options[i].name; i++)
            if (run_options[i].val == c)
                name = run_options[i].name;
        char word[32];
        snprintf(word, sizeof word, " %s ", name ? name : "");
        char list[128];
        snprintf(list, sizeof list, " %s ", allowed);
        if (c == '?' || !name) {
            fprintf(stderr, "vggtop %s: unknown option '%s' (see vggtop %s --help)\n", argv[0], argv[optind - 1],
                    argv[0]);
            return 2;
        }
        if (!strstr(list, word)) { /* an option of another command: name it, not its value */
            fprintf(stderr, "vggtop %s: --%s is not an option of %s (see vggtop %s --help)\n", argv[0], name, argv[0],
                    argv[0]);
            return 2;
        }
        switch (c) {
        case O_DIGITS:
            if (int_flag(argv[0], "--digits", optarg, 0, 10, &o->digits))
                return 2;
            break;
        case O_TOP:
            if (int_flag(argv[0], "--top", optarg, 1, 100000, &o->top))
                return 2;
            break;
        case O_THREADS:
            if (setting_flag(argv[0], "threads", "--threads", optarg, &o->threads))
                return 2;
            break;
        case O_METRIC: {
            static const char *const metrics[] = {"loss", "acc", "mse", "val_loss", "val_acc", "val_mse", NULL};
            int ok = 0;
            for (int i = 0; metrics[i]; i++)
                ok |= strcmp(optarg, metrics[i]) == 0;
            if (!ok) {
                fprintf(stderr, "vggtop %s: --metric: '%s' is not one of loss, acc, mse, val_loss, val_acc, val_mse\n",
                        argv[0], optarg);
                return 2;
            }
            o->metric = optarg;
            break;
        }
        case O_CSV: o->csv = 1; break;
        case O_JSON: o->json = 1; break;
        case O_COARSE: o->coarse = 1; break;
        case O_ALL: o->all = 1; break;
        case O_BEST: o->best = 1; break;
        case O_EPOCH:
            if (int_flag(argv[0], "--epoch", optarg, 1, TRAIN_MAX_EPOCHS, &o->epoch))
                return 2;
            break;
        case O_HISTORY: o->history = optarg; break;
        case O_DATA: o->data = optarg; break;
        }
    }
    if (o->csv && o->json) {
        fprintf(stderr, "vggtop %s: --csv and --json exclude each other\n", argv[0]);
        return 2;
    }
    int dirs = argc - optind;
    if (dirs > max_dirs && max_dirs > 1) {
        fprintf(stderr, "vggtop %s: %d run directories, more than the %d it compares at once\n", argv[0], dirs,
                max_dirs);
        return 2;
    }
    if (dirs < min_dirs || dirs > max_dirs) {
        fprintf(stderr, "vggtop %s: expected %s (see vggtop %s --help)\n", argv[0],
                max_dirs == 1 ? "one RUN_DIR" : "one or more RUN_DIRs", argv[0]);
        return 2;
    }
    return -1;
}

/* Loads parts of a run, printing the error; predictions are required when asked for. A progress.json that
 * says the run is busy while its process is gone (killed) reads as stopped, with the command that resumes
 * it, as the front end shows it. */
static int load_run(const char *cmd, const char *dir, int parts, run_data *run)
{
    vt_err err;
    if (run_load(dir, parts, run, &err) != VT_OK) {
        fprintf(stderr, "vggtop %s: %s\n", cmd, err.msg);
        run_free(run);
        return vt_exit_status(err.code);
    }
    run_progress *p = &run->progress;
    if (run_is_dead(run, p->message, sizeof p->message))
        p->state = TRAIN_STOPPED;
    if ((parts & RUN_PART_PREDICTIONS) && !(run->parts & RUN_PART_PREDICTIONS)) {
        fprintf(stderr, "vggtop %s: %s: no %s yet (it appears after the first epoch; or run vggtop evaluate %s)\n",
                cmd, dir, RUN_PREDICTIONS, dir);
        run_free(run);
        return 2;
    }
    if ((parts & RUN_PART_HISTORY) && (!(run->parts & RUN_PART_HISTORY) || run->n_history == 0)) {
        if ((run->parts & RUN_PART_PROGRESS) && p->state == TRAIN_STOPPED)
            fprintf(stderr, "vggtop %s: %s: no epoch finished before the run stopped (%s)\n", cmd, dir,
                    p->message[0] ? p->message : "vggtop train --resume continues it");
        else
            fprintf(stderr, "vggtop %s: %s: no %s yet (it appears after the first epoch)\n", cmd, dir, RUN_HISTORY);
        run_free(run);
        return 2;
    }
    return 0;
}

/* names[c] when there is one, else the class number written into buf. */
static const char *name_or_number(char *const *names, int c, char *buf, size_t size)
{
    if (names && names[c] && names[c][0])
        return names[c];
    snprintf(buf, size, "%d", c);
    return buf;
}

static const char *class_name(const run_data *run, int c, char *buf, size_t size)
{
    return name_or_number(c < run->classes ? run->class_names : NULL, c, buf, size);
}

/* ---- evaluate ------------------------------------------------------------------------------------------- */

static const char evaluate_help[] =
    "usage: vggtop evaluate RUN_DIR [--threads N] [--best] [--data DIR]\n\n"
    "Loads the run's checkpoint and data set, predicts the test set again, rewrites predictions.csv,\n"
    "predictions.json (the epoch of the weights), report.txt and confusion.csv, and prints val_loss, val_acc\n"
    "and val_mse.\n\n"
    "  --threads N   threads of the computation (default: the run's setting)\n"
    "  --best        the best epoch's checkpoint (best.bin, kept by vggtop train --save-best) instead of the last\n"
    "  --data DIR    the run's data set at another path (it moved, or this machine keeps it elsewhere)\n";

int cli_evaluate(int argc, char **argv)
{
    run_opts o;
    int rc = parse_run_args(argc, argv, "threads best data", evaluate_help, 1, 1, &o);
    if (rc >= 0)
        return rc;
    const char *dir = argv[optind];
    train_epoch m;
    long n;
    vt_err err;
    if ((rc = run_evaluate(dir, o.data, o.threads, o.best ? RUN_BEST : RUN_CHECKPOINT, &m, &n, &err)) != VT_OK) {
        fprintf(stderr, "vggtop evaluate: %s\n", err.msg);
        return vt_exit_status(rc);
    }
    printf("%ld test images - val_loss: %.4f - val_acc: %.4f - val_mse: %.4f - val_top_k_categorical_accuracy: %.4f\n",
           n, m.val_loss, m.val_acc, m.val_mse, m.val_top5);
    return 0;
}

/* ---- report ------------------------------------------------------------------------------------------------ */

static const char report_help[] =
    "usage: vggtop report RUN_DIR [--digits N] [--csv | --json] [--all] [--epoch N | --history CLASS]\n\n"
    "The classification report of the run's last evaluation (predictions.csv), as scikit-learn's\n"
    "classification_report prints it, with the class names of config.json.\n\n"
    "  --digits N       decimals of the text report (default 2)\n"
    "  --csv            class,precision,recall,f1-score,support\n"
    "  --json           scikit-learn's output_dict shape\n"
    "  --all            a row for every class, even one absent from the test set (labels=range(C))\n"
    "  --epoch N        the report of epoch N's evaluation, from per_class.csv (every class: labels=range(C))\n"
    "  --history CLASS  one class (its name or number) epoch by epoch: precision, recall, F1, support\n";

/* The confusion matrix of a run's predictions (malloc'ed C*C). */
static long *run_confusion(const run_data *run)
{
    int C = run->pred_classes;
    long *cm = calloc((size_t)C * (size_t)C, sizeof *cm);
    if (cm)
        metrics_confusion(run->y_true, run->y_pred, run->n_pred, C, cm);
    return cm;
}

/* A class by name or number. -1 when it is neither. */
static int find_class(const run_data *run, const char *what)
{
    for (int c = 0; run->class_names && c < run->classes; c++)
        if (strcmp(run->class_names[c], what) == 0)
            return c;
    long v;
    return vt_parse_long(what, 0, run->classes - 1, &v) == 0 ? (int)v : -1;
}

/* report --epoch N and --history CLASS, from per_class.csv. */
static int report_per_class(const char *cmd, const char *dir, const run_opts *o)
{
    if (o->epoch && o->history) {
        fprintf(stderr, "vggtop %s: --epoch and --history exclude each other\n", cmd);
        return 2;
    }
    run_data run;
    int rc = load_run(cmd, dir, RUN_PART_CONFIG, &run);
    if (rc)
        return rc;
    run_class_row *rows;
    long n;
    vt_err err;
    if (run_read_per_class(dir, &rows, &n, &err) != VT_OK) {
        fprintf(stderr, "vggtop %s: %s\n", cmd, err.msg);
        run_free(&run);
        return vt_exit_status(err.code);
    }
    int cls = o->history ? find_class(&run, o->history) : -1;
    rc = 0;
    if (o->history && cls < 0) {
        fprintf(stderr, "vggtop %s: --history: '%s' is neither a class name of %s nor a number in 0..%d\n", cmd,
                o->history, dir, run.classes - 1);
        rc = 2;
    } else if (o->history) {
        long found = 0;
        for (long i = 0; i < n; i++)
            found += rows[i].cls == cls;
        char b[16];
        if (found == 0) { /* no per_class.csv (a run from before it), or none of this class's rows */
            fprintf(stderr, "vggtop %s: %s: no evaluation of class %s in %s\n", cmd, dir,
                    class_name(&run, cls, b, sizeof b), RUN_PER_CLASS);
            free(rows);
            run_free(&run);
            return 2;
        }
        printf("%s (class %d) by epoch\n%5s %9s %9s %9s %9s\n", class_name(&run, cls, b, sizeof b), cls, "epoch",
               "precision", "recall", "f1-score", "support");
        double prev = NAN;
        for (long i = 0; i < n; i++) {
            if (rows[i].cls != cls)
                continue;
            const char *trend = isnan(prev) || rows[i].f1 == prev ? "" : rows[i].f1 > prev ? " up" : " down";
            printf("%5d %9.*f %9.*f %9.*f %9ld%s\n", rows[i].epoch, o->digits < 0 ? 4 : o->digits, rows[i].precision,
                   o->digits < 0 ? 4 : o->digits, rows[i].recall, o->digits < 0 ? 4 : o->digits, rows[i].f1,
                   rows[i].support, trend);
            prev = rows[i].f1;
        }
    } else {
        class_scores *sc = malloc(sizeof *sc * (size_t)(n ? n : 1));
        int *labels = malloc(sizeof *labels * (size_t)(n ? n : 1));
        int k = 0;
        for (long i = 0; sc && labels && i < n; i++)
            if (rows[i].epoch == o->epoch && rows[i].cls < run.classes) {
                sc[k] = (class_scores){rows[i].precision, rows[i].recall, rows[i].f1, rows[i].support};
                labels[k++] = rows[i].cls;
            }
        report r;
        char *text = NULL;
        if (!sc || !labels) {
            fprintf(stderr, "vggtop %s: out of memory\n", cmd);
            rc = 1;
        } else if (k == 0) {
            fprintf(stderr, "vggtop %s: %s: no evaluation of epoch %d in %s\n", cmd, dir, o->epoch, RUN_PER_CLASS);
            rc = 2;
        } else if (metrics_report_from_scores(sc, labels, k, &r) == 0) {
            const char *const *names = (const char *const *)run.class_names;
            text = o->csv ? metrics_report_csv(&r, names) : o->json ? metrics_report_json(&r, names)
                                                                    : metrics_report_text(&r, names, o->digits < 0 ? 2 : o->digits);
            metrics_report_free(&r);
            if (text && !o->csv && !o->json)
                printf("epoch %d\n", o->epoch);
            if (text)
                fputs(text, stdout);
            else
                rc = 1;
            free(text);
        } else
            rc = 1;
        free(sc);
        free(labels);
    }
    free(rows);
    run_free(&run);
    return rc;
}

int cli_report(int argc, char **argv)
{
    run_opts o;
    int rc = parse_run_args(argc, argv, "digits csv json all epoch history", report_help, 1, 1, &o);
    if (rc >= 0)
        return rc;
    if (o.epoch || o.history)
        return report_per_class(argv[0], argv[optind], &o);
    run_data run;
    if ((rc = load_run(argv[0], argv[optind], RUN_PART_CONFIG | RUN_PART_PREDICTIONS, &run)))
        return rc;
    long *cm = run_confusion(&run);
    report r;
    char *text = NULL;
    if (cm && metrics_report(cm, run.pred_classes, o.all, &r) == 0) {
        const char *const *names = (const char *const *)run.class_names;
        text = o.csv ? metrics_report_csv(&r, names) : o.json ? metrics_report_json(&r, names)
                                                             : metrics_report_text(&r, names, o.digits < 0 ? 2 : o.digits);
        metrics_report_free(&r);
    }
    free(cm);
    run_free(&run);
    if (!text) {
        fprintf(stderr, "vggtop report: out of memory\n");
        return 1;
    }
    fputs(text, stdout);
    if (*text && text[strlen(text) - 1] != '\n')
        putchar('\n');
    free(text);
    return 0;
}

/* ---- confusion --------------------------------------------------------------------------------------------- */

static const char confusion_help[] =
    "usage: vggtop confusion RUN_DIR [--top N] [--csv] [--coarse]\n\n"
    "The most confused pairs of the run's last evaluation (true -> predicted, count, share of the true\n"
    "class), or with --csv the whole matrix (rows = true class, columns = predicted, as confusion.csv).\n\n"
    "  --top N    pairs to list (default 20)\n"
    "  --csv      the C x C matrix of counts\n"
    "  --coarse   CIFAR-100: fold the 100 fine classes into the 20 superclasses first\n";

int cli_confusion(int argc, char **argv)
{
    run_opts o;
    int rc = parse_run_args(argc, argv, "top csv coarse", confusion_help, 1, 1, &o);
    if (rc >= 0)
        return rc;
    run_data run;
    if ((rc = load_run(argv[0], argv[optind], RUN_PART_CONFIG | RUN_PART_PREDICTIONS, &run)))
        return rc;
    int C = run.pred_classes;
    long *cm = run_confusion(&run);
    char **names = run.class_names;
    if (cm && o.coarse) {
        if (!run.fine_to_coarse || run.classes != C) {
            fprintf(stderr, "vggtop confusion: --coarse: %s has no superclasses (only CIFAR-100 with fine labels)\n",
                    argv[optind]);
            free(cm);
            run_free(&run);
            return 2;
        }
        long *folded = calloc((size_t)run.coarse_classes * (size_t)run.coarse_classes, sizeof *folded);
        if (folded)
            metrics_confusion_fold(cm, C, run.fine_to_coarse, run.coarse_classes, folded);
        free(cm);
        cm = folded;
        C = run.coarse_classes;
        names = run.coarse_names;
    }
    confused_pair *pairs = cm ? malloc(sizeof *pairs * (size_t)o.top) : NULL;
    if (!cm || !pairs) {
        fprintf(stderr, "vggtop confusion: out of memory\n");
        free(cm);
        free(pairs);
        run_free(&run);
        return 1;
    }
    if (o.csv) {
        for (int t = 0; t < C; t++)
            for (int p = 0; p < C; p++)
                printf("%ld%c", cm[(size_t)t * (size_t)C + (size_t)p], p + 1 < C ? ',' : '\n');
    } else {
        int n = metrics_confused_pairs(cm, C, pairs, o.top);
        long total = 0, right = 0;
        for (int t = 0; t < C; t++)
            for (int p = 0; p < C; p++) {
                total += cm[(size_t)t * (size_t)C + (size_t)p];
                right += t == p ? cm[(size_t)t * (size_t)C + (size_t)p] : 0;
            }
        printf("%ld test images, %ld misclassified; most confused pairs (true -> predicted):\n", total, total - right);
        int width = 4;
        char b1[16], b2[16];
        for (int i = 0; i < n; i++) {
            int len = (int)strlen(name_or_number(names, pairs[i].true_class, b1, sizeof b1));
            width = len > width ? len : width;
        }
        for (int i = 0; i < n; i++) {
            const char *tn = name_or_number(names, pairs[i].true_class, b1, sizeof b1);
            const char *pn = name_or_number(names, pairs[i].pred_class, b2, sizeof b2);
            printf("%4ld  %*s -> %-*s %5.1f%% of %s\n", pairs[i].count, width, tn, width, pn, 100.0 * pairs[i].share,
                   tn);
        }
        if (n == 0)
            printf("  (none: every test image is classified correctly)\n");
    }
    free(pairs);
    free(cm);
    run_free(&run);
    return 0;
}

/* ---- roc ------------------------------------------------------------------------------------------------------ */

static const char roc_help[] =
    "usage: vggtop roc RUN_DIR [--digits N]\n\n"
    "One-vs-rest ROC AUC of every class from the run's last evaluation (predictions.csv), the micro\n"
    "average (all class/score pairs pooled), the macro average of the interpolated curves (the seed's\n"
    "recipe), and the mean of the per-class AUCs (roc_auc_score's macro).\n\n"
    "  --digits N   decimals (default 4)\n";

int cli_roc(int argc, char **argv)
{
    run_opts o;
    int rc = parse_run_args(argc, argv, "digits", roc_help, 1, 1, &o);
    if (rc >= 0)
        return rc;
    int digits = o.digits < 0 ? 4 : o.digits;
    run_data run;
    if ((rc = load_run(argv[0], argv[optind], RUN_PART_CONFIG | RUN_PART_PREDICTIONS, &run)))
        return rc;
    if (run.n_pred == 0) { /* an empty test set: nothing to score is a normal answer, not an error */
        printf("no test predictions in %s: no ROC curve to compute\n", argv[optind]);
        run_free(&run);
        return 0;
    }
    int C = run.pred_classes;
    roc_curve *curves = calloc((size_t)C, sizeof *curves);
    roc_curve micro = {0}, macro = {0};
    int bad = !curves;
    for (int c = 0; !bad && c < C; c++)
        bad = metrics_roc_class(run.probs, run.y_true, run.n_pred, C, c, &curves[c]) != 0;
    bad = bad || metrics_roc_micro(run.probs, run.y_true, run.n_pred, C, &micro) != 0 ||
          metrics_roc_macro(curves, C, &macro) != 0;
    if (bad) {
        fprintf(stderr, "vggtop roc: out of memory\n");
        rc = 1;
    } else {
        int width = 5;
        char b[16];
        for (int c = 0; c < C; c++) {
            int len = (int)strlen(class_name(&run, c, b, sizeof b));
            if (len > width)
                width = len;
        }
        printf("%5s  %-*s  %s\n", "class", width, "name", "auc");
        for (int c = 0; c < C; c++) {
            if (isnan(curves[c].auc))
                printf("%5d  %-*s  n/a (no positive or no negative samples)\n", c, width, class_name(&run, c, b, sizeof b));
            else
                printf("%5d  %-*s  %.*f\n", c, width, class_name(&run, c, b, sizeof b), digits, curves[c].auc);
        }
        printf("\nmicro-average AUC:              %.*f\n", digits, micro.auc);
        printf("macro-average AUC:              %.*f\n", digits, macro.auc);
        printf("mean of per-class AUCs:         %.*f\n", digits, metrics_auc_macro_mean(curves, C));
    }
    for (int c = 0; curves && c < C; c++)
        metrics_roc_free(&curves[c]);
    free(curves);
    metrics_roc_free(&micro);
    metrics_roc_free(&macro);
    run_free(&run);
    return rc;
}

/* ---- history ------------------------------------------------------------------------------------------------ */

static const char history_help[] =
    "usage: vggtop history RUN_DIR [--csv]\n\n"
    "The run's per-epoch history (history.csv): loss, acc, mse and their val_ twins, learning rate, seconds.\n\n"
    "  --csv   print history.csv as it is\n";

int cli_history(int argc, char **argv)
{
    run_opts o;
    int rc = parse_run_args(argc, argv, "csv", history_help, 1, 1, &o);
    if (rc >= 0)
        return rc;
    run_data run;
    if ((rc = load_run(argv[0], argv[optind], RUN_PART_CONFIG | RUN_PART_HISTORY | RUN_PART_PROGRESS, &run)))
        return rc;
    if (o.csv) {
        run_history_csv(stdout, run.history, run.n_history);
    } else {
        if (run.parts & RUN_PART_CONFIG)
            printf("%s on %s: %d of %d epochs\n", run.config.model, run.dataset, run.n_history, run.config.epochs);
        printf("%5s %8s %7s %7s %7s %9s %8s %8s %8s %9s %8s\n", "epoch", "loss", "acc", "mse", "top5", "val_loss",
               "val_acc", "val_mse", "val_top5", "lr", "seconds");
        for (int i = 0; i < run.n_history; i++) {
            const train_epoch *r = &run.history[i];
            char t5[16] = "-", v5[16] = "-"; /* "-": an epoch from before vggtop measured top-5 */
            if (!isnan(r->top5))
                snprintf(t5, sizeof t5, "%.4f", r->top5);
            if (!isnan(r->val_top5))
                snprintf(v5, sizeof v5, "%.4f", r->val_top5);
            printf("%5d %8.4f %7.4f %7.4f %7s %9.4f %8.4f %8.4f %8s %9.3g %8.1f\n", i + 1, r->loss, r->acc, r->mse, t5,
                   r->val_loss, r->val_acc, r->val_mse, v5, r->lr, r->seconds);
        }
        if ((run.parts & RUN_PART_PROGRESS) && run.progress.state != TRAIN_FINISHED)
            printf("state: %s%s%s\n", train_state_name(run.progress.state), run.progress.message[0] ? ": " : "",
                   run.progress.message);
    }
    run_free(&run);
    return 0;
}

/* ---- compare ------------------------------------------------------------------------------------------------- */

static const char compare_help[] =
    "usage: vggtop compare RUN_DIR... [--metric NAME]\n\n"
    "A table of each run's best and last val_acc and val_loss, then an ASCII chart of one metric per epoch\n"
    "for all runs (one symbol per run, with a legend), as the seed's final comparison charts.\n\n"
    "  --metric NAME   the charted metric: val_acc (default), val_loss, val_mse, acc, loss or mse\n";

static double metric_of(const train_epoch *r, const char *metric)
{
    if (strcmp(metric, "loss") == 0)
        return r->loss;
    if (strcmp(metric, "acc") == 0)
        return r->acc;
    if (strcmp(metric, "mse") == 0)
        return r->mse;
    if (strcmp(metric, "val_loss") == 0)
        return r->val_loss;
    if (strcmp(metric, "val_mse") == 0)
        return r->val_mse;
    return r->val_acc;
}

#define CHART_H 18
#define CHART_W 70

/* The front end's line chart (tui_chart_draw, ASCII mode: each run's points joined by its marker), printed
 * as text, then a legend line per run with its whole directory. */
static void print_chart(run_data *runs, int n, const char *metric)
{
    static const char symbols[] = "*+ox#@%=~^"; /* '&' is the chart's mark where runs meet */
    if (n < 1)
        return;
    int epochs = 0;
    for (int i = 0; i < n; i++)
        if (runs[i].n_history > epochs)
            epochs = runs[i].n_history;
    tui_series *series = calloc((size_t)n, sizeof *series);
    double *values = calloc((size_t)n * (size_t)(epochs ? epochs : 1), sizeof *values);
    tui_grid g = {0};
    if (epochs == 0 || !series || !values || tui_grid_init(&g, CHART_H, CHART_W) != 0) {
        free(series);
        free(values);
        return;
    }
    for (int i = 0; i < n; i++) {
        double *y = values + (size_t)i * (size_t)epochs;
        for (int e = 0; e < runs[i].n_history; e++)
            y[e] = metric_of(&runs[i].history[e], metric);
        series[i] = (tui_series){NULL, NULL, y, runs[i].n_history, ROLE_DEFAULT, symbols[i % (sizeof symbols - 1)]};
    }
    tui_chart chart = {NULL, series, n, 1, 0, 1, epochs > 1 ? epochs : 2, 0, 0, 4, 0, 1, NULL, 1};
    tui_chart_draw(&g, (tui_rect){0, 0, CHART_H, CHART_W}, &chart, 0);
    printf("\n%s per epoch\n", metric);
    char *line = malloc((size_t)CHART_W * 4 + 1);
    for (int r = 0; line && r < CHART_H; r++) {
        tui_grid_row_utf8(&g, r, line);
        size_t len = strlen(line);
        while (len > 0 && line[len - 1] == ' ')
            line[--len] = '\0';
        printf("%s%s\n", line, r == CHART_H - 1 ? "  (epoch)" : "");
    }
    /* Where two runs' curves meet the chart draws '&' (the later one would hide the earlier): say so. */
    int met = 0;
    for (int r = 0; r < CHART_H; r++)
        for (int col = 0; col < CHART_W; col++)
            met |= tui_grid_at(&g, r, col)->ch == '&';
    free(line);
    for (int i = 0; i < n; i++)
        printf("  %c  %s\n", symbols[i % (sizeof symbols - 1)], runs[i].dir);
    if (met)
        printf("  &  two or more runs in the same place\n");
    tui_grid_free(&g);
    free(series);
    free(values);
}

int cli_compare(int argc, char **argv)
{
    run_opts o;
    int rc = parse_run_args(argc, argv, "metric", compare_help, 1, 64, &o);
    if (rc >= 0)
        return rc;
    rc = 0;
    int n = argc - optind;
    run_data *runs = calloc((size_t)n, sizeof *runs);
    if (!runs) {
        fprintf(stderr, "vggtop compare: out of memory\n");
        return 1;
    }
    /* `vggtop compare runs/<all>` meets runs that have no finished epoch yet (just started, or stopped early):
     * they are left out with a note, not a failure of the whole comparison. */
    int kept = 0;
    for (int i = 0; i < n && !rc; i++) {
        const char *dir = argv[optind + i];
        rc = load_run(argv[0], dir, RUN_PART_CONFIG, &runs[kept]);
        if (rc)
            break;
        run_free(&runs[kept]);
        vt_err err;
        if (run_load(dir, RUN_PART_CONFIG | RUN_PART_HISTORY, &runs[kept], &err) != VT_OK) {
            fprintf(stderr, "vggtop compare: %s\n", err.msg);
            run_free(&runs[kept]);
            rc = vt_exit_status(err.code);
            break;
        }
        if (runs[kept].n_history == 0) {
            fprintf(stderr, "vggtop compare: note: %s has no finished epoch yet; left out\n", dir);
            run_free(&runs[kept]);
            continue;
        }
        kept++;
    }
    if (!rc && kept == 0) {
        fprintf(stderr, "vggtop compare: none of the runs has a finished epoch yet\n");
        rc = 2;
    }
    n = kept;
    if (!rc) {
        int width = 3;
        for (int i = 0; i < n; i++)
            if ((int)strlen(runs[i].dir) > width)
                width = (int)strlen(runs[i].dir);
        printf("%-*s  %-12s %6s  %14s %8s  %15s %8s  %7s %8s\n", width, "run", "model", "epochs", "best val_acc",
               "last", "best val_loss", "last", "s/epoch", "total");
        for (int i = 0; i < n; i++) {
            run_data *r = &runs[i];
            int ba = 0, bl = 0;
            for (int e = 1; e < r->n_history; e++) {
                if (r->history[e].val_acc > r->history[ba].val_acc)
                    ba = e;
                if (r->history[e].val_loss < r->history[bl].val_loss)
                    bl = e;
            }
            const train_epoch *last = &r->history[r->n_history - 1];
            char epochs[24];
            snprintf(epochs, sizeof epochs, "%d/%d", r->n_history, r->config.epochs);
            /* The time per epoch and in all: the other half of the seed's comparison. */
            double seconds = 0;
            for (int e = 0; e < r->n_history; e++)
                seconds += r->history[e].seconds;
            char total[32];
            vt_fmt_eta(total, sizeof total, seconds);
            printf("%-*s  %-12s %6s  %8.4f (%3d) %8.4f  %9.4f (%3d) %8.4f  %7.1f %8s\n", width, r->dir,
                   (r->parts & RUN_PART_CONFIG) ? r->config.model : "?", epochs, r->history[ba].val_acc, ba + 1,
                   last->val_acc, r->history[bl].val_loss, bl + 1, last->val_loss, seconds / r->n_history, total);
        }
        print_chart(runs, n, o.metric);
    }
    for (int i = 0; i < n; i++)
        run_free(&runs[i]);
    free(runs);
    return rc;
}

/* ---- layers -------------------------------------------------------------------------------------------------- */

static const char layers_help[] =
    "usage: vggtop layers RUN_DIR [--epoch N] [--csv]\n\n"
    "Layer health of an epoch (default the last) from layers.csv: per weighted layer its weight and gradient\n"
    "norms, the update ratio (lr x gradient / weight), the share of dead (zero) ReLU outputs and the mean and\n"
    "std of its outputs. A layer is flagged as vanishing when its gradient norm is below 1% of the largest\n"
    "layer's that epoch, or below 1% of its own in the first epoch.\n\n"
    "  --epoch N   that epoch's rows\n"
    "  --csv       the rows of layers.csv as they are (every epoch, or the one asked for)\n";

int cli_layers(int argc, char **argv)
{
    run_opts o;
    int rc = parse_run_args(argc, argv, "epoch csv", layers_help, 1, 1, &o);
    if (rc >= 0)
        return rc;
    const char *dir = argv[optind];
    run_data run;
    if ((rc = load_run(argv[0], dir, RUN_PART_CONFIG, &run)))
        return rc;
    run_free(&run);
    run_layer_row *rows;
    long n;
    vt_err err;
    if (run_read_layers(dir, &rows, &n, &err) != VT_OK) {
        fprintf(stderr, "vggtop layers: %s\n", err.msg);
        return vt_exit_status(err.code);
    }
    int last = 0;
    for (long i = 0; i < n; i++)
        last = rows[i].epoch > last ? rows[i].epoch : last;
    int epoch = o.epoch ? o.epoch : last;
    if (n == 0 || (o.epoch && o.epoch > last)) {
        fprintf(stderr, "vggtop layers: %s: no layer statistics%s in %s yet (they are written after each epoch)\n", dir,
                o.epoch ? " of that epoch" : "", RUN_LAYERS);
        free(rows);
        return 2;
    }
    if (o.csv) {
        printf("%s\n", LAYERS_HEADER);
        for (long i = 0; i < n; i++)
            if (!o.epoch || rows[i].epoch == epoch)
                printf("%d,%s,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n", rows[i].epoch, rows[i].layer, rows[i].weight_norm,
                       rows[i].grad_norm, rows[i].update_ratio, rows[i].dead_relu, rows[i].act_mean, rows[i].act_std);
        free(rows);
        return 0;
    }
    printf("epoch %d of %s\n%-16s %10s %10s %10s %8s %10s %10s  %s\n", epoch, dir, "layer", "weight", "gradient",
           "update", "dead", "act mean", "act std", "");
    int flagged = 0;
    for (long i = 0; i < n; i++) {
        if (rows[i].epoch != epoch)
            continue;
        int vanishing = run_layer_vanishing(rows, n, i);
        flagged += vanishing;
        char dead[16] = "-";
        if (!isnan(rows[i].dead_relu))
            snprintf(dead, sizeof dead, "%.1f%%", 100 * rows[i].dead_relu);
        printf("%-16s %10.4g %10.4g %10.3g %8s %10.4g %10.4g  %s\n", rows[i].layer, rows[i].weight_norm,
               rows[i].grad_norm, rows[i].update_ratio, dead, rows[i].act_mean, rows[i].act_std,
               vanishing ? "vanishing" : "");
    }
    char advice[512];
    if (flagged)
        printf("\n%s\n", run_layers_advice(advice, sizeof advice, flagged));
    free(rows);
    return 0;
}
