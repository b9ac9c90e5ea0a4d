/* metrics: evaluation numbers that equal scikit-learn's. Pure functions: arrays in, numbers (or
 * malloc'ed text) out; no I/O, no UI. Labels are ints in [0, C); probabilities are (n, C) row-major
 * float32 as the model emits them; every sum is accumulated in double.
 *
 * The reference is Debian 12's scikit-learn 1.2.1 (with numpy 1.24) given the same float32 arrays:
 * tests/tools/metrics_fixtures.py generates the fixtures the unit tests compare against. Where numpy sums an
 * array (means, weighted averages, the trapezoidal rule) we sum in numpy's pairwise order, so the numbers
 * are the same bits, not only close. Where sklearn raises (a class without positives in roc_auc_score)
 * we skip that class and say so below. */
#ifndef VGGTOP_METRICS_H
#define VGGTOP_METRICS_H

#include <stddef.h>

/* ---- confusion matrix ------------------------------------------------------------------------------ */

/* cm: C*C counts, cm[t*C + p], rows = true class, columns = predicted (sklearn's orientation).
 * Pairs with a label outside [0, C) are not counted. */
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
    /* 1 when the rows are exactly the classes present in y_true or y_pred: the summary line is
     * "accuracy". 0 (all_labels with a class absent from both): sklearn prints "micro avg" instead, whose
     * precision, recall and F1 all equal the accuracy. */
    int micro_is_accuracy;
} report;

/* The report of sklearn's classification_report(y_true, y_pred) from a confusion matrix.
 * all_labels = 1: every class 0..C-1 is a row (labels=range(C)); 0: only the classes present in y_true or
 * y_pred (sklearn's default). Returns 0, or -1 when out of memory or C < 1. */
int metrics_report(const long *cm, int C, int all_labels, report *out);
void metrics_report_free(report *r);
/* A report from stored per-class scores (per_class.csv of one epoch: every class, labels=range(C)): the rows
 * as given, macro and weighted averages as metrics_report computes them, accuracy = sum of recall x support
 * over the total support. Returns 0, or -1 when out of memory or n < 1. */
int metrics_report_from_scores(const class_scores *rows, const int *labels, int n, report *out);
/* The same text as sklearn's classification_report(..., digits=digits, target_names=names), byte for
 * byte. names: NULL (the class numbers) or C names indexed by class (names[r->labels[i]] heads row i);
 * UTF-8, widths counted in code points as Python does. Where sklearn would warn (UndefinedMetricWarning)
 * a blank line and one note line per kind follow the table, e.g.
 * "note: precision and F-score are ill-defined and set to 0.0 for 3 classes with no predicted samples".
 * malloc'ed; NULL when out of memory. */
char *metrics_report_text(const report *r, const char *const *names, int digits);
/* CSV (header class,precision,recall,f1-score,support; then the accuracy row with empty precision and
 * recall, macro avg, weighted avg) and JSON (sklearn's output_dict=True shape). Numbers are written
 * with the fewest digits that read back to the same double. malloc'ed; NULL when out of memory. */
char *metrics_report_csv(const report *r, const char *const *names);
char *metrics_report_json(const report *r, const char *const *names);

/* ---- ROC --------------------------------------------------------------------------------------------- */

typedef struct roc_curve {
    long n;          /* points */
    /* thresholds follow sklearn 1.2.1 (the installed reference): thresholds[0] is max(score) + 1 computed
     * in float32, like numpy on float32 scores (sklearn >= 1.3 uses +inf). NULL for the macro curve. */
    double *fpr, *tpr, *thresholds;
    double auc;      /* trapezoidal; NaN when a class has no positives or no negatives */
} roc_curve;

/* The functions below return 0, or -1 when out of memory or when the input is unusable (n < 1, C < 1,
 * cls outside [0, C), a label outside [0, C), a NaN score); on -1 *out is empty (n = 0, NULL arrays).
 * A curve of a class with no positives has tpr all NaN (no negatives: fpr all NaN), as sklearn's. */

/* One-vs-rest ROC of class cls, with sklearn's roc_curve semantics (drop_intermediate=True): thresholds
 * at the distinct scores in decreasing order, an initial point (0, 0). */
int metrics_roc_class(const float *probs, const int *y_true, long n, int C, int cls, roc_curve *out);
/* Micro average: all n*C (one-hot, score) pairs pooled, as roc_curve(onehot.ravel(), probs.ravel()). */
int metrics_roc_micro(const float *probs, const int *y_true, long n, int C, roc_curve *out);
/* Macro average as the seed's recipe: each class's TPR interpolated (np.interp) onto the union of all
 * FPRs, averaged, AUC of that curve. per_class: the C curves from metrics_roc_class. Classes whose curve
 * is undefined (NaN AUC) are left out of the union and the average (the recipe would give NaN). */
int metrics_roc_macro(const roc_curve *per_class, int C, roc_curve *out);
/* roc_auc_score(onehot, probs, average='macro'): the mean of the per-class AUCs. Classes with NaN AUC are
 * skipped (sklearn raises instead); NaN when no class has both positives and negatives. */
double metrics_auc_macro_mean(const roc_curve *per_class, int C);
void metrics_roc_free(roc_curve *c);

/* Every curve of a run's predictions at once: the C per-class curves (malloc'ed, *per_class), the micro and
 * the macro average. 0, or -1 as the functions above (nothing left allocated). Free with metrics_roc_all_free. */
int metrics_roc_all(const float *probs, const int *y_true, long n, int C, roc_curve **per_class, roc_curve *micro,
                    roc_curve *macro);
void metrics_roc_all_free(roc_curve *per_class, int C, roc_curve *micro, roc_curve *macro);
/* Area under any (x, y) polyline by the trapezoidal rule (sklearn.metrics.auc): x increasing or
 * decreasing; NaN when x is neither or n < 2. */
double metrics_auc(const double *x, const double *y, long n);

/* ---- scalar metrics ---------------------------------------------------------------------------------- */

double metrics_accuracy(const int *y_true, const int *y_pred, long n);
/* Share of samples whose true class is among the k highest probabilities. Ties are broken towards the
 * lower class index, as argmax does, so top-1 equals the accuracy of metrics_argmax (Keras'
 * categorical_accuracy); sklearn's top_k_accuracy_score agrees whenever scores do not tie. */
double metrics_top_k(const float *probs, const int *y_true, long n, int C, int k);
/* Keras' mse metric: mean over samples and classes of (onehot - p)^2. */
double metrics_mse(const float *probs, const int *y_true, long n, int C);
/* sklearn 1.2.1's log_loss(y_true, probs.astype(float64), labels=range(C)): probabilities clipped to
 * [eps, 1 - eps] with eps the float64 epsilon (eps='auto'), each row renormalised to sum to 1, the mean
 * of -log(p[true]). */
double metrics_log_loss(const float *probs, const int *y_true, long n, int C);
/* np.argmax per row: the first index of the maximum (a NaN counts as the maximum). */
void metrics_argmax(const float *probs, long n, int C, int *y_pred);

/* ---- most confused pairs ------------------------------------------------------------------------------ */

typedef struct confused_pair {
    int true_class, pred_class;
    long count;
    double share; /* count / support of the true class (row sum of cm) */
} confused_pair;

/* The off-diagonal cells by count (ties: by true then predicted class), at most max; returns how many. */
int metrics_confused_pairs(const long *cm, int C, confused_pair *out, int max);

/* ---- two runs compared (vggtop diff) ------------------------------------------------------------------- */

/* One class in run A and run B: its rows of both reports (labels=range(C)) and the changes, B - A. */
typedef struct class_change {
    int cls;
    class_scores a, b;
    double precision, recall, f1;
} class_change;

/* One off-diagonal cell of the confusion matrices (true_class predicted as pred_class) in both runs. */
typedef struct pair_change {
    int true_class, pred_class;
    long a, b; /* the counts; the change is b - a */
} pair_change;

typedef struct metrics_diff {
    int C;
    report a, b;           /* each run's whole report, every class a row (labels=range(C)) */
    class_change *classes; /* C rows sorted by the F1 change, the most improved first (ties: by class) */
    /* The cells that grew (b > a, largest growth first) and shrank (b < a, largest fall first), ties by true
     * then predicted class; at most the top asked for, of n_grew_all and n_shrank_all. */
    pair_change *grew, *shrank;
    int n_grew, n_shrank, n_grew_all, n_shrank_all;
} metrics_diff;

/* Run A's and run B's C*C confusion matrices (the same classes; their test sets may differ) compared: every
 * class's precision, recall and F1 in both and their change, sorted by the change of F1, and the top confusion
 * pairs that grew and shrank. Returns 0, or -1 when out of memory or C < 1 or top < 0 (*out then empty). */
int metrics_diff_runs(const long *cm_a, const long *cm_b, int C, int top, metrics_diff *out);
/* The same from two runs' predictions (true and predicted labels in [0, C) of n_a and n_b images): their
 * confusion matrices, folded first into K superclasses by fine_to_coarse (C entries) when it is not NULL, so
 * out->C is then K. One function for vggtop diff and the front end's Diff screen. 0, or -1 as above. */
int metrics_diff_predictions(const int *true_a, const int *pred_a, long n_a, const int *true_b, const int *pred_b,
                             long n_b, int C, const int *fine_to_coarse, int K, int top, metrics_diff *out);
void metrics_diff_free(metrics_diff *d);
/* The diff as text: the accuracy and the macro and weighted F1 of both runs, the per-class table (digits
 * decimals), the `named` classes that got better and worse most, and the pairs ("cat -> dog  3 -> 17  +14").
 * names: NULL or C names indexed by class. malloc'ed; NULL when out of memory. */
char *metrics_diff_text(const metrics_diff *d, const char *const *names, int digits, int named);
/* CSV: class,precision_a,precision_b,precision_change,recall_a,...,f1_change,support_a,support_b in the sorted
 * order; JSON: {"accuracy": {"a", "b", "change"}, "macro_f1", "weighted_f1", "classes": [...], "grew": [...],
 * "shrank": [...]}. Numbers with the fewest digits that read back to the same double. malloc'ed or NULL. */
char *metrics_diff_csv(const metrics_diff *d, const char *const *names);
char *metrics_diff_json(const metrics_diff *d, const char *const *names);

#endif
