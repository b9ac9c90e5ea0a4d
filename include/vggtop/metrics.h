/* metrics: evaluation numbers that equal scikit-learn's. Pure functions: arrays in, numbers (or
 * malloc'ed text) out; no I/O, no UI. Labels are ints in [0, C); probabilities are (n, C) row-major
 * float32 as the model emits them; every sum is accumulated in double. */
#ifndef VGGTOP_METRICS_H
#define VGGTOP_METRICS_H

#include <stddef.h>

/* ---- confusion matrix ------------------------------------------------------------------------------ */

/* cm: C*C counts, cm[t*C + p], rows = true class, columns = predicted (sklearn's orientation). */
void metrics_confusion(const int *y_true, const int *y_pred, long n, int C, long *cm);
/* Row-normalised (recall view) or column-normalised (precision view) copy; an all-zero row/column gives 0s. */
void metrics_confusion_normalize(const long *cm, int C, int by_columns, double *out);
/* Folds a fine C*C matrix into a coarse K*K one through map[fine] = coarse. */
void metrics_confusion_fold(const long *cm, int C, const int *map, int K, long *out);

/* ---- classification report ------------------------------------------------------------------------- */

typedef struct class_scores {
    double precision, recall, f1;
    long support;
} class_scores;

typedef struct report {
    int n_labels;           /* rows of the per-class table */
    int *labels;            /* the class index of each row */
    class_scores *rows;
    double accuracy;        /* over all samples */
    class_scores macro, weighted;
    long total;
    int ill_defined_precision; /* classes with no predicted samples (sklearn's UndefinedMetricWarning) */
    int ill_defined_recall;    /* classes with no true samples */
} report;

/* The report of sklearn's classification_report(y_true, y_pred) from a confusion matrix.
 * all_labels = 1: every class 0..C-1 is a row (labels=range(C)); 0: only the classes present in y_true or
 * y_pred (sklearn's default). Returns 0, or -1 when out of memory. */
int metrics_report(const long *cm, int C, int all_labels, report *out);
void metrics_report_free(report *r);
/* The same text as sklearn's classification_report(..., digits=digits, target_names=names) (names may be
 * NULL: the class numbers), then a note for ill-defined precision/recall as sklearn warns. malloc'ed. */
char *metrics_report_text(const report *r, const char *const *names, int digits);
/* CSV (header class,precision,recall,f1-score,support) and JSON (sklearn's output_dict=True shape). */
char *metrics_report_csv(const report *r, const char *const *names);
char *metrics_report_json(const report *r, const char *const *names);

/* ---- ROC --------------------------------------------------------------------------------------------- */

typedef struct roc_curve {
    long n;          /* points */
    double *fpr, *tpr, *thresholds; /* thresholds[0] is +inf, as sklearn >= 1.3 (1 + max in older) */
    double auc;      /* trapezoidal; NaN when a class has no positives or no negatives */
} roc_curve;

/* One-vs-rest ROC of class cls, with sklearn's roc_curve semantics (drop_intermediate=True). */
int metrics_roc_class(const float *probs, const int *y_true, long n, int C, int cls, roc_curve *out);
/* Micro average: all n*C (one-hot, score) pairs pooled. */
int metrics_roc_micro(const float *probs, const int *y_true, long n, int C, roc_curve *out);
/* Macro average as the seed's recipe: each class's TPR interpolated onto the union of all FPRs, averaged,
 * AUC of that curve. per_class: the C curves from metrics_roc_class. */
int metrics_roc_macro(const roc_curve *per_class, int C, roc_curve *out);
/* roc_auc_score(average='macro'): the mean of the per-class AUCs (classes with NaN AUC are skipped). */
double metrics_auc_macro_mean(const roc_curve *per_class, int C);
void metrics_roc_free(roc_curve *c);
/* Area under any (x, y) polyline by the trapezoidal rule (sklearn.metrics.auc). */
double metrics_auc(const double *x, const double *y, long n);

/* ---- scalar metrics ---------------------------------------------------------------------------------- */

double metrics_accuracy(const int *y_true, const int *y_pred, long n);
/* Share of samples whose true class is among the k highest probabilities (ties: lower index first). */
double metrics_top_k(const float *probs, const int *y_true, long n, int C, int k);
/* Keras' mse metric: mean over samples and classes of (onehot - p)^2. */
double metrics_mse(const float *probs, const int *y_true, long n, int C);
/* sklearn's log_loss (probabilities clipped to [1e-15, 1 - 1e-15] as float64). */
double metrics_log_loss(const float *probs, const int *y_true, long n, int C);
void metrics_argmax(const float *probs, long n, int C, int *y_pred);

/* ---- most confused pairs ------------------------------------------------------------------------------ */

typedef struct confused_pair {
    int true_class, pred_class;
    long count;
    double share; /* count / support of the true class */
} confused_pair;

/* The off-diagonal cells by count (ties: by true then predicted class), at most max; returns how many. */
int metrics_confused_pairs(const long *cm, int C, confused_pair *out, int max);

#endif
