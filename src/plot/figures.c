/* plot/figures: the seed's figures of run directories, drawn on plot's pages. Per run: accuracy, loss, mse and
 * top-5, train against validation per epoch; the confusion heatmap; the ROC curves of chosen classes with the
 * micro and macro averages, and their zoom on the upper-left corner; a grid of test images with their true and
 * predicted class; per-class F1 as sorted bars. Across runs: val_acc, val_loss and val_mse per epoch of every
 * run, with legends that tell the runs apart. Titles, labels and colours follow the seed (its matplotlib
 * calls: red train, green validation, "Num of Epochs"; scikit-learn's ROC example). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot_internal.h"
#include "vggtop/data.h"
#include "vggtop/metrics.h"

const char *const plot_figure_names[] = {"accuracy", "loss",    "mse", "top5",    "confusion", "roc",
                                         "roc-zoom", "samples", "f1",  "val_acc", "val_loss",  "val_mse",
                                         NULL};

void plot_view_default(plot_view *v)
{
    memset(v, 0, sizeof *v);
    v->n_roc_classes = 3; /* the seed draws classes 0, 1 and 2 */
    for (int i = 0; i < 3; i++)
        v->roc_classes[i] = i;
    v->samples_count = 16;
}

int plot_what_parse(const char *flag, const char *list, unsigned *mask, vt_err *err)
{
    *mask = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        char word[32];
        if (len == 0 || len >= sizeof word)
            goto bad;
        memcpy(word, p, len);
        word[len] = '\0';
        if (strcmp(word, "all") == 0)
            *mask |= PLOT_ALL_RUN | PLOT_ALL_COMPARE | PLOT_WHAT_ALL;
        else if (strcmp(word, "history") == 0)
            *mask |= PLOT_MASK(PLOT_FIG_ACCURACY) | PLOT_MASK(PLOT_FIG_LOSS) | PLOT_MASK(PLOT_FIG_MSE) |
                     PLOT_MASK(PLOT_FIG_TOP5);
        else if (strcmp(word, "compare") == 0)
            *mask |= PLOT_ALL_COMPARE;
        else {
            int i = 0;
            while (plot_figure_names[i] && strcmp(plot_figure_names[i], word) != 0)
                i++;
            if (!plot_figure_names[i])
                goto bad;
            *mask |= PLOT_MASK(i);
        }
        p += len;
        if (*p == ',')
            p++;
    }
    if (*mask)
        return VT_OK;
bad:;
    char shown[128];
    plot_text_shown(shown, sizeof shown, list);
    return vt_fail(err, VT_EUSAGE,
                   "%s: '%s' is not a list of figures: accuracy, loss, mse, top5, confusion, roc, roc-zoom, samples, "
                   "f1, val_acc, val_loss, val_mse, or history, compare, all",
                   flag, shown);
}

/* ---- history ------------------------------------------------------------------------------------------ */

/* The field of a history row that a figure draws (train, or validation with val = 1). */
static double history_value(const train_epoch *e, plot_figure fig, int val)
{
    switch (fig) {
    case PLOT_FIG_ACCURACY: return val ? e->val_acc : e->acc;
    case PLOT_FIG_LOSS: return val ? e->val_loss : e->loss;
    case PLOT_FIG_MSE: return val ? e->val_mse : e->mse;
    case PLOT_FIG_TOP5: return val ? e->val_top5 : e->top5;
    case PLOT_FIG_VAL_ACC: return e->val_acc;
    case PLOT_FIG_VAL_LOSS: return e->val_loss;
    case PLOT_FIG_VAL_MSE: return e->val_mse;
    default: return NAN;
    }
}

int plot_run_has(const run_data *run, plot_figure fig, char *why, size_t size)
{
    int history = fig <= PLOT_FIG_TOP5 || fig >= PLOT_FIG_VAL_ACC;
    if (history) {
        if (!(run->parts & RUN_PART_HISTORY) || run->n_history == 0) {
            snprintf(why, size, "%s/history.csv has no finished epoch", run->dir);
            return 0;
        }
        int any = 0;
        for (int i = 0; i < run->n_history; i++)
            any |= isfinite(history_value(&run->history[i], fig, 0)) || isfinite(history_value(&run->history[i], fig, 1));
        if (!any) {
            snprintf(why, size, "%s/history.csv does not record %s", run->dir, plot_figure_names[fig]);
            return 0;
        }
        return 1;
    }
    if (!(run->parts & RUN_PART_PREDICTIONS) || run->n_pred == 0) {
        snprintf(why, size, "%s/predictions.csv is missing: no %s figure (vggtop evaluate %s writes it)", run->dir,
                 plot_figure_names[fig], run->dir);
        return 0;
    }
    return 1;
}

static int history_figure(plot_doc *d, plot_figure fig, const run_data *run, vt_err *err)
{
    static const char *const titles[] = {"Training Accuracy vs Validation Accuracy", "Training Loss vs Validation Loss",
                                         "Training MSE vs Validation MSE",
                                         "Training Top-5 Accuracy vs Validation Top-5 Accuracy"};
    static const char *const ylabels[] = {"Accuracy", "Loss", "MSE", "Top-5 accuracy"};
    int n = run->n_history;
    double *x = malloc(3 * (size_t)n * sizeof *x);
    if (!x)
        return vt_fail(err, VT_EIO, "out of memory");
    double *train = x + n, *val = x + 2 * n;
    for (int i = 0; i < n; i++) {
        x[i] = i + 1;
        train[i] = history_value(&run->history[i], fig, 0);
        val[i] = history_value(&run->history[i], fig, 1);
    }
    plot_series s[2] = {{"train", n, x, train, 0xff0000, PLOT_SOLID, 0, n < 20},
                        {"validation", n, x, val, 0x008000, PLOT_SOLID, 0, n < 20}};
    plot_axes ax;
    plot_axes_init(&ax, titles[fig], "Num of Epochs", ylabels[fig]);
    ax.x_integer = 1;
    if (n == 1) {
        ax.xmin = 0.5;
        ax.xmax = 1.5;
    }
    int rc = plot_lines(d, &ax, s, 2, err);
    free(x);
    return rc;
}

/* ---- predictions -------------------------------------------------------------------------------------- */

static const char *const *class_names(const run_data *run)
{
    return run->class_names && run->classes == run->pred_classes ? (const char *const *)run->class_names : NULL;
}

static int confusion_figure(plot_doc *d, const run_data *run, const plot_view *v, vt_err *err)
{
    int C = run->pred_classes;
    int fold = v->fold && run->coarse_classes > 0 && run->fine_to_coarse && run->coarse_names && C == run->classes;
    int K = fold ? run->coarse_classes : C;
    long *cm = calloc((size_t)C * C, sizeof *cm), *folded = fold ? calloc((size_t)K * K, sizeof *folded) : NULL;
    double *values = malloc((size_t)K * K * sizeof *values);
    int rc = VT_OK;
    if (!cm || !values || (fold && !folded)) {
        rc = vt_fail(err, VT_EIO, "out of memory");
        goto done;
    }
    metrics_confusion(run->y_true, run->y_pred, run->n_pred, C, cm);
    const long *m = cm;
    if (fold) {
        metrics_confusion_fold(cm, C, run->fine_to_coarse, K, folded);
        m = folded;
    }
    if (v->normalize)
        metrics_confusion_normalize(m, K, 0, values);
    else
        for (long i = 0; i < (long)K * K; i++)
            values[i] = (double)m[i];
    const char *const *names = fold ? (const char *const *)run->coarse_names : class_names(run);
    plot_heatmap_spec h = {v->normalize ? "Confusion Matrix (normalised over the true class)" : "Confusion Matrix",
                           "Predicted label",
                           "True label",
                           v->normalize ? "share of the true class" : "images",
                           K,
                           K,
                           values,
                           names,
                           names,
                           K <= 12, /* numbers in the cells while they fit */
                           v->normalize ? "%.2f" : "%.0f"};
    rc = plot_heatmap(d, &h, err);
done:
    free(cm);
    free(folded);
    free(values);
    return rc;
}

/* A class's name into buf (the run's name for it, or its number). */
static void class_label(const run_data *run, int c, char *buf, size_t size)
{
    char num[16];
    snprintf(buf, size, "%s", run_class_name(run, c, num, sizeof num));
}

static int roc_figure(plot_doc *d, const run_data *run, const plot_view *v, int zoom, vt_err *err)
{
    int C = run->pred_classes;
    roc_curve *curves = NULL, micro, macro;
    if (metrics_roc_all(run->probs, run->y_true, run->n_pred, C, &curves, &micro, &macro) != 0)
        return vt_fail(err, VT_EIO, "%s: the ROC curves cannot be computed (out of memory)", run->dir);
    /* scikit-learn's example: micro deep pink and macro navy, dotted and thick; the classes in aqua, dark
     * orange and cornflower blue; the chance diagonal black and dashed. */
    static const unsigned class_colours[] = {0x00ffff, 0xff8c00, 0x6495ed};
    plot_series s[3 + PLOT_MAX_ROC];
    char labels[2 + PLOT_MAX_ROC][200];
    static const double diag[] = {0, 1};
    int n = 0;
    snprintf(labels[0], sizeof labels[0], "micro-average ROC curve (area = %.2f)", micro.auc);
    snprintf(labels[1], sizeof labels[1], "macro-average ROC curve (area = %.2f)", macro.auc);
    s[n++] = (plot_series){labels[0], micro.n, micro.fpr, micro.tpr, 0xff1493, PLOT_DOTTED, 3, 0};
    s[n++] = (plot_series){labels[1], macro.n, macro.fpr, macro.tpr, 0x000080, PLOT_DOTTED, 3, 0};
    for (int i = 0; i < v->n_roc_classes && i < PLOT_MAX_ROC; i++) {
        int c = v->roc_classes[i];
        if (c < 0 || c >= C || !isfinite(curves[c].auc))
            continue;
        char name[120];
        class_label(run, c, name, sizeof name);
        snprintf(labels[2 + i], sizeof labels[2 + i], "ROC curve of class %s (area = %.2f)", name, curves[c].auc);
        s[n++] = (plot_series){labels[2 + i], curves[c].n, curves[c].fpr, curves[c].tpr,
                               class_colours[i % 3], PLOT_SOLID, 2, 0};
    }
    s[n++] = (plot_series){NULL, 2, diag, diag, 0x000000, PLOT_DASHED, 1.5, 0};
    plot_axes ax;
    plot_axes_init(&ax,
                   zoom ? "ROC curves, zoomed in at the upper left corner"
                        : "Some extension of Receiver operating characteristic to multi-class",
                   "False Positive Rate", "True Positive Rate");
    ax.xmin = 0;
    ax.xmax = zoom ? 0.2 : 1.0;
    ax.ymin = zoom ? 0.8 : 0.0;
    ax.ymax = zoom ? 1.0 : 1.05;
    ax.legend = PLOT_LEGEND_LOWER_RIGHT;
    int rc = plot_lines(d, &ax, s, n, err);
    metrics_roc_all_free(curves, C, &micro, &macro);
    return rc;
}

static int f1_figure(plot_doc *d, const run_data *run, vt_err *err)
{
    int C = run->pred_classes;
    long *cm = calloc((size_t)C * C, sizeof *cm);
    report r;
    memset(&r, 0, sizeof r);
    if (!cm || (metrics_confusion(run->y_true, run->y_pred, run->n_pred, C, cm), metrics_report(cm, C, 1, &r)) != 0) {
        free(cm);
        return vt_fail(err, VT_EIO, "out of memory");
    }
    free(cm);
    double *values = malloc((size_t)r.n_labels * sizeof *values);
    const char **names = malloc((size_t)r.n_labels * sizeof *names);
    char (*num)[16] = malloc((size_t)r.n_labels * sizeof *num);
    int *order = malloc((size_t)r.n_labels * sizeof *order);
    int rc = VT_OK;
    if (!values || !names || !num || !order) {
        rc = vt_fail(err, VT_EIO, "out of memory");
        goto done;
    }
    /* Sorted by F1, best first; ties in class order. */
    for (int i = 0; i < r.n_labels; i++)
        order[i] = i;
    for (int i = 1; i < r.n_labels; i++) {
        int k = order[i], j = i;
        while (j > 0 && r.rows[order[j - 1]].f1 < r.rows[k].f1) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }
    const char *const *cn = class_names(run);
    for (int i = 0; i < r.n_labels; i++) {
        int row = order[i];
        values[i] = r.rows[row].f1;
        snprintf(num[i], sizeof num[i], "%d", r.labels[row]);
        names[i] = cn ? cn[r.labels[row]] : num[i];
    }
    plot_bars_spec b = {"F1-score per class, sorted", "class", "F1-score", r.n_labels, values, names, 0, 1.0, 0x1f77b4};
    rc = plot_bars(d, &b, err);
done:
    free(values);
    free(names);
    free(num);
    free(order);
    metrics_report_free(&r);
    return rc;
}

int plot_open_test_images(const run_data *run, const char *data_dir, dataset **out, vt_err *err)
{
    /* --data says where the data set is now, when it has moved since the run was trained. */
    data_options opt;
    train_data_view_options(run, data_dir, &opt);
    int rc = data_open(&opt, out, err);
    if (!rc && (rc = train_data_check(&run->config, *out, NULL, 0, err))) {
        data_destroy(*out);
        *out = NULL;
    }
    return rc;
}

static int samples_figure(plot_doc *d, const run_data *run, const plot_view *v, vt_err *err)
{
    dataset *ds = NULL;
    int rc = plot_open_test_images(run, v->data_dir, &ds, err);
    if (rc != VT_OK)
        return rc;
    long n = run->n_pred < ds->n_test ? run->n_pred : ds->n_test;
    int want = v->samples_count > 0 ? v->samples_count : 16;
    if (want > PLOT_MAX_SAMPLES)
        want = PLOT_MAX_SAMPLES;
    plot_image images[PLOT_MAX_SAMPLES];
    char captions[PLOT_MAX_SAMPLES][260];
    int k = 0;
    size_t stride = (size_t)ds->height * ds->width * ds->channels;
    for (long i = v->samples_first < 0 ? 0 : v->samples_first; i < n && k < want; i++) {
        int wrong = run->y_true[i] != run->y_pred[i];
        if (v->misclassified && !wrong)
            continue;
        char t[120], p[120];
        class_label(run, run->y_true[i], t, sizeof t);
        class_label(run, run->y_pred[i], p, sizeof p);
        snprintf(captions[k], sizeof captions[k], "true: %s\npred: %s (%.2f)", t, p,
                 run->probs[(size_t)i * run->pred_classes + (size_t)run->y_pred[i]]);
        images[k] = (plot_image){ds->height, ds->width, ds->channels, ds->test_x + (size_t)i * stride, captions[k],
                                 wrong};
        k++;
    }
    if (k == 0) {
        data_destroy(ds);
        return vt_fail(err, VT_EUSAGE, "%s: no %stest image to show", run->dir, v->misclassified ? "misclassified " : "");
    }
    int cols = k <= 4 ? k : k <= 9 ? 3 : k <= 16 ? 4 : k <= 25 ? 5 : 6;
    rc = plot_images(d, v->misclassified ? "Misclassified test images: true and predicted class"
                                         : "Test images: true and predicted class",
                     images, k, cols, err);
    data_destroy(ds);
    return rc;
}

int plot_run_figure(plot_doc *d, plot_figure fig, const run_data *run, const plot_view *v, vt_err *err)
{
    char why[600];
    if (!plot_run_has(run, fig, why, sizeof why))
        return vt_fail(err, VT_EUSAGE, "%s", why);
    switch (fig) {
    case PLOT_FIG_ACCURACY:
    case PLOT_FIG_LOSS:
    case PLOT_FIG_MSE:
    case PLOT_FIG_TOP5: return history_figure(d, fig, run, err);
    case PLOT_FIG_CONFUSION: return confusion_figure(d, run, v, err);
    case PLOT_FIG_ROC: return roc_figure(d, run, v, 0, err);
    case PLOT_FIG_ROC_ZOOM: return roc_figure(d, run, v, 1, err);
    case PLOT_FIG_SAMPLES: return samples_figure(d, run, v, err);
    case PLOT_FIG_F1: return f1_figure(d, run, err);
    default: return vt_fail(err, VT_EINTERNAL, "%s is not a figure of one run", plot_figure_names[fig]);
    }
}

/* ---- across runs -------------------------------------------------------------------------------------- */

/* Legend labels that tell runs apart: the model, then each setting that differs between the runs
 * (run_settings_label), and the creation date when the labels would still be equal. */
void plot_run_labels(const run_data *runs, int n, char (*labels)[PLOT_LABEL])
{
    unsigned mask = run_settings_differing(runs, n);
    for (int i = 0; i < n; i++)
        run_settings_label(&runs[i], mask, labels[i], PLOT_LABEL);
    /* Labels still equal get the run's creation time (all of a colliding group, found before any is changed). */
    if (n < 2)
        return;
    int *same = calloc((size_t)n, sizeof *same);
    for (int i = 0; same && i < n; i++)
        for (int j = 0; j < n; j++)
            same[i] |= i != j && strcmp(labels[i], labels[j]) == 0;
    for (int i = 0; same && i < n; i++)
        if (same[i]) {
            size_t len = strlen(labels[i]);
            snprintf(labels[i] + len, PLOT_LABEL - len, ", %s", runs[i].created[0] ? runs[i].created : runs[i].dir);
        }
    free(same);
}

int plot_compare_figure(plot_doc *d, plot_figure fig, const run_data *runs, int n, vt_err *err)
{
    static const char *const titles[] = {"Validation Accuracy of the models", "Validation Loss of the models",
                                         "Validation MSE of the models"};
    static const char *const ylabels[] = {"val_acc", "val_loss", "val_mse"};
    if (fig < PLOT_FIG_VAL_ACC || fig > PLOT_FIG_VAL_MSE)
        return vt_fail(err, VT_EINTERNAL, "%s is not a comparison", plot_figure_names[fig]);
    if (n > PLOT_MAX_SERIES)
        n = PLOT_MAX_SERIES;
    plot_series *s = calloc((size_t)n, sizeof *s);
    char (*labels)[PLOT_LABEL] = calloc((size_t)n, sizeof *labels);
    double *xs = NULL, *ys = NULL;
    long total = 0;
    for (int i = 0; i < n; i++)
        total += runs[i].n_history;
    xs = malloc((size_t)(total + 1) * sizeof *xs);
    ys = malloc((size_t)(total + 1) * sizeof *ys);
    int rc = VT_OK;
    if (!s || !labels || !xs || !ys) {
        rc = vt_fail(err, VT_EIO, "out of memory");
        goto done;
    }
    plot_run_labels(runs, n, labels);
    long at = 0;
    for (int i = 0; i < n; i++) {
        for (int e = 0; e < runs[i].n_history; e++) {
            xs[at + e] = e + 1;
            ys[at + e] = history_value(&runs[i].history[e], fig, 1);
        }
        s[i] = (plot_series){labels[i], runs[i].n_history, xs + at, ys + at, PLOT_AUTO_COLOUR, PLOT_SOLID, 0,
                             runs[i].n_history < 20};
        at += runs[i].n_history;
    }
    plot_axes ax;
    plot_axes_init(&ax, titles[fig - PLOT_FIG_VAL_ACC], "Num of Epochs", ylabels[fig - PLOT_FIG_VAL_ACC]);
    ax.x_integer = 1;
    ax.legend = n > 6 ? PLOT_LEGEND_OUTSIDE : PLOT_LEGEND_BEST;
    rc = plot_lines(d, &ax, s, n, err);
done:
    free(s);
    free(labels);
    free(xs);
    free(ys);
    return rc;
}
