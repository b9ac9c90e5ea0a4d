/* metrics: the confusion matrix and its views, the most confused pairs, and the scalar metrics
 * (accuracy, top-k, Keras' mse, sklearn's log loss). The report is in report.c, ROC curves in roc.c. */
#include "vggtop/metrics.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"

/* numpy's pairwise_sum (umath loops_utils): below 8 elements a plain loop from 0.0; up to 128 eight
 * interleaved accumulators combined as a tree, then the remainder; above, split at a multiple of 8. */
double metrics_pairwise_sum(const double *a, long n)
{
    if (n < 8) {
        double res = 0.0;
        for (long i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++)
            r[j] = a[j];
        long i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    long n2 = n / 2;
    n2 -= n2 % 8;
    return metrics_pairwise_sum(a, n2) + metrics_pairwise_sum(a + n2, n - n2);
}

/* ---- confusion matrix ---------------------------------------------------------------------------- */

void metrics_confusion(const int *y_true, const int *y_pred, long n, int C, long *cm)
{
    memset(cm, 0, (size_t)C * (size_t)C * sizeof *cm);
    for (long i = 0; i < n; i++) {
        int t = y_true[i], p = y_pred[i];
        if (t >= 0 && t < C && p >= 0 && p < C)
            cm[(long)t * C + p]++;
    }
}

/* cm (C, C) -> out (C, C): each row (or column) divided by its sum, as confusion_matrix(normalize='true'
 * or 'pred') does; an empty row or column stays 0. */
void metrics_confusion_normalize(const long *cm, int C, int by_columns, double *out)
{
    for (int a = 0; a < C; a++) {
        long sum = 0;
        for (int b = 0; b < C; b++)
            sum += by_columns ? cm[(long)b * C + a] : cm[(long)a * C + b];
        for (int b = 0; b < C; b++) {
            long idx = by_columns ? (long)b * C + a : (long)a * C + b;
            out[idx] = sum ? (double)cm[idx] / (double)sum : 0.0;
        }
    }
}

/* cm (C, C), map: C entries in [0, K) -> out (K, K). Fine classes mapped outside [0, K) are dropped. */
void metrics_confusion_fold(const long *cm, int C, const int *map, int K, long *out)
{
    memset(out, 0, (size_t)K * (size_t)K * sizeof *out);
    for (int t = 0; t < C; t++) {
        int ct = map[t];
        if (ct < 0 || ct >= K)
            continue;
        for (int p = 0; p < C; p++) {
            int cp = map[p];
            if (cp >= 0 && cp < K)
                out[(long)ct * K + cp] += cm[(long)t * C + p];
        }
    }
}

/* ---- most confused pairs ------------------------------------------------------------------------- */

/* Is a ranked before b: more samples first, then by true class, then by predicted class. */
static int pair_before(const confused_pair *a, const confused_pair *b)
{
    if (a->count != b->count)
        return a->count > b->count;
    if (a->true_class != b->true_class)
        return a->true_class < b->true_class;
    return a->pred_class < b->pred_class;
}

/* Keeps the best `max` cells in out, sorted, by insertion: max is a screenful, C*C at most 10,000. */
int metrics_confused_pairs(const long *cm, int C, confused_pair *out, int max)
{
    int have = 0;
    if (max <= 0)
        return 0;
    for (int t = 0; t < C; t++) {
        long support = 0;
        for (int p = 0; p < C; p++)
            support += cm[(long)t * C + p];
        for (int p = 0; p < C; p++) {
            long count = cm[(long)t * C + p];
            if (p == t || count <= 0)
                continue;
            confused_pair cand = {t, p, count, (double)count / (double)support};
            if (have == max && !pair_before(&cand, &out[have - 1]))
                continue;
            int i = have < max ? have++ : have - 1;
            while (i > 0 && pair_before(&cand, &out[i - 1])) {
                out[i] = out[i - 1];
                i--;
            }
            out[i] = cand;
        }
    }
    return have;
}

/* ---- scalar metrics ------------------------------------------------------------------------------ */

double metrics_accuracy(const int *y_true, const int *y_pred, long n)
{
    if (n <= 0)
        return NAN;
    long hits = 0;
    for (long i = 0; i < n; i++)
        hits += y_true[i] == y_pred[i];
    return (double)hits / (double)n;
}

void metrics_argmax(const float *probs, long n, int C, int *y_pred)
{
    for (long i = 0; i < n; i++) {
        const float *row = probs + i * (long)C;
        int best = 0;
        for (int j = 0; j < C; j++) {
            if (isnan(row[j])) {
                best = j;
                break;
            }
            if (row[j] > row[best])
                best = j;
        }
        y_pred[i] = best;
    }
}

/* probs (n, C). The true class t of a row ranks after every class scoring higher and after every
 * lower-indexed class scoring the same; it is a hit when fewer than k classes rank before it. */
double metrics_top_k(const float *probs, const int *y_true, long n, int C, int k)
{
    if (n <= 0)
        return NAN;
    long hits = 0;
    for (long i = 0; i < n; i++) {
        const float *row = probs + i * (long)C;
        int t = y_true[i];
        if (t < 0 || t >= C)
            continue;
        float pt = row[t];
        int before = 0;
        for (int j = 0; j < C && before < k; j++)
            before += row[j] > pt || (row[j] == pt && j < t);
        hits += before < k;
    }
    return (double)hits / (double)n;
}

/* probs (n, C): mean over samples of the mean over classes of (onehot - p)^2, in double. */
double metrics_mse(const float *probs, const int *y_true, long n, int C)
{
    if (n <= 0 || C <= 0)
        return NAN;
    double total = 0.0;
    for (long i = 0; i < n; i++) {
        const float *row = probs + i * (long)C;
        double s = 0.0;
        for (int j = 0; j < C; j++) {
            double d = (j == y_true[i] ? 1.0 : 0.0) - (double)row[j];
            s += d * d;
        }
        total += s / C;
    }
    return total / (double)n;
}

/* probs (n, C). sklearn: clip to [eps, 1 - eps], divide each row by its sum, -log of the true class's
 * share, mean over rows (numpy's pairwise sum over the per-row losses). */
double metrics_log_loss(const float *probs, const int *y_true, long n, int C)
{
    if (n <= 0 || C <= 0)
        return NAN;
    double *loss = malloc((size_t)n * sizeof *loss);
    double *row64 = malloc((size_t)C * sizeof *row64);
    if (!loss || !row64) {
        free(loss);
        free(row64);
        return NAN;
    }
    const double eps = DBL_EPSILON, hi = 1.0 - DBL_EPSILON;
    for (long i = 0; i < n; i++) {
        const float *row = probs + i * (long)C;
        for (int j = 0; j < C; j++) {
            double p = row[j];
            row64[j] = p < eps ? eps : p > hi ? hi : p;
        }
        double sum = metrics_pairwise_sum(row64, C);
        int t = y_true[i];
        loss[i] = t >= 0 && t < C ? -log(row64[t] / sum) : NAN;
    }
    double mean = metrics_pairwise_sum(loss, n) / (double)n;
    free(loss);
    free(row64);
    return mean;
}
