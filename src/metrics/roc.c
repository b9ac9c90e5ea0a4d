/* roc: one-vs-rest, micro- and macro-averaged ROC curves and their areas, as sklearn 1.2.1's roc_curve
 * and auc and the seed's macro recipe compute them. The scores are sorted once per curve by an LSD radix
 * sort on 33-bit keys (the float's order-preserving bits, then the positive flag), so 10,000 x 100
 * probabilities take 100 sorts of 10,000 and one of 1,000,000 keys. */
#include "vggtop/metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"

/* A float's bits mapped so that unsigned order is numeric order (-0.0 taken as +0.0, as numpy's
 * comparisons do). */
static uint32_t float_key(float f)
{
    if (f == 0.0f)
        f = 0.0f;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static float key_float(uint32_t k)
{
    uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Sorts keys[0..n) ascending on their low 33 bits, three passes of 11 bits; tmp holds n keys. */
static void radix_sort33(uint64_t *keys, uint64_t *tmp, long n)
{
    enum { BITS = 11, BUCKETS = 1 << BITS };
    long count[BUCKETS];
    uint64_t *src = keys, *dst = tmp;
    for (int pass = 0; pass < 3; pass++) {
        int shift = pass * BITS;
        memset(count, 0, sizeof count);
        for (long i = 0; i < n; i++)
            count[(src[i] >> shift) & (BUCKETS - 1)]++;
        long pos = 0;
        for (int b = 0; b < BUCKETS; b++) {
            long c = count[b];
            count[b] = pos;
            pos += c;
        }
        for (long i = 0; i < n; i++)
            dst[count[(src[i] >> shift) & (BUCKETS - 1)]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    /* Three passes: the sorted keys are in tmp. */
    memcpy(keys, src, (size_t)n * sizeof *keys);
}

static void roc_empty(roc_curve *c)
{
    memset(c, 0, sizeof *c);
    c->auc = NAN;
}

void metrics_roc_free(roc_curve *c)
{
    free(c->fpr);
    free(c->tpr);
    free(c->thresholds);
    roc_empty(c);
}

int metrics_roc_all(const float *probs, const int *y_true, long n, int C, roc_curve **per_class, roc_curve *micro,
                    roc_curve *macro)
{
    roc_empty(micro);
    roc_empty(macro);
    *per_class = C > 0 ? calloc((size_t)C, sizeof **per_class) : NULL;
    int bad = !*per_class;
    for (int c = 0; !bad && c < C; c++)
        bad = metrics_roc_class(probs, y_true, n, C, c, &(*per_class)[c]) != 0;
    bad = bad || metrics_roc_micro(probs, y_true, n, C, micro) != 0 || metrics_roc_macro(*per_class, C, macro) != 0;
    if (bad) {
        metrics_roc_all_free(*per_class, C, micro, macro);
        *per_class = NULL;
        return -1;
    }
    return 0;
}

void metrics_roc_all_free(roc_curve *per_class, int C, roc_curve *micro, roc_curve *macro)
{
    for (int c = 0; per_class && c < C; c++)
        metrics_roc_free(&per_class[c]);
    free(per_class);
    if (micro)
        metrics_roc_free(micro);
    if (macro)
        metrics_roc_free(macro);
}

static int roc_alloc(roc_curve *c, long n, int with_thresholds)
{
    roc_empty(c);
    c->fpr = malloc((size_t)n * sizeof *c->fpr);
    c->tpr = malloc((size_t)n * sizeof *c->tpr);
    c->thresholds = with_thresholds ? malloc((size_t)n * sizeof *c->thresholds) : NULL;
    if (!c->fpr || !c->tpr || (with_thresholds && !c->thresholds)) {
        metrics_roc_free(c);
        return -1;
    }
    c->n = n;
    return 0;
}

/* The curve of n sorted keys (score key << 1 | positive), as sklearn's _binary_clf_curve and roc_curve:
 * one point per distinct score from the highest down (fps, tps counted at or above it), points in the
 * middle of straight runs dropped (second differences of fps and tps both 0), then (0, 0) prepended with
 * threshold max + 1. */
static int roc_from_sorted(const uint64_t *keys, long n, roc_curve *out)
{
    /* Distinct scores, highest first: their cumulative counts and score keys. */
    long *fps = malloc((size_t)n * sizeof *fps), *tps = malloc((size_t)n * sizeof *tps);
    uint32_t *score = malloc((size_t)n * sizeof *score);
    if (!fps || !tps || !score) {
        free(fps);
        free(tps);
        free(score);
        roc_empty(out);
        return -1;
    }
    long m = 0, fp = 0, tp = 0;
    for (long i = n - 1; i >= 0; i--) {
        uint32_t s = (uint32_t)(keys[i] >> 1);
        if (keys[i] & 1)
            tp++;
        else
            fp++;
        if (i == 0 || (uint32_t)(keys[i - 1] >> 1) != s) {
            fps[m] = fp;
            tps[m] = tp;
            score[m] = s;
            m++;
        }
    }
    /* drop_intermediate: keep the ends and every corner. */
    long kept = 0;
    for (long i = 0; i < m; i++) {
        int keep = m <= 2 || i == 0 || i == m - 1 || fps[i + 1] - 2 * fps[i] + fps[i - 1] != 0 ||
                   tps[i + 1] - 2 * tps[i] + tps[i - 1] != 0;
        if (keep) {
            fps[kept] = fps[i];
            tps[kept] = tps[i];
            score[kept] = score[i];
            kept++;
        }
    }
    int rc = roc_alloc(out, kept + 1, 1);
    if (rc == 0) {
        double neg = (double)fps[kept - 1], pos = (double)tps[kept - 1];
        out->fpr[0] = 0.0;
        out->tpr[0] = 0.0;
        /* numpy adds 1 to a float32 threshold in float32. */
        out->thresholds[0] = (double)(key_float(score[0]) + 1.0f);
        for (long i = 0; i < kept; i++) {
            out->fpr[i + 1] = neg > 0 ? (double)fps[i] / neg : NAN;
            out->tpr[i + 1] = pos > 0 ? (double)tps[i] / pos : NAN;
            out->thresholds[i + 1] = (double)key_float(score[i]);
        }
        if (neg <= 0)
            out->fpr[0] = NAN;
        if (pos <= 0)
            out->tpr[0] = NAN;
        out->auc = metrics_auc(out->fpr, out->tpr, out->n);
    }
    free(fps);
    free(tps);
    free(score);
    return rc;
}

/* Sorts the n keys and builds their curve; frees nothing of the caller's. */
static int roc_from_keys(uint64_t *keys, long n, roc_curve *out)
{
    uint64_t *tmp = malloc((size_t)n * sizeof *tmp);
    if (!tmp) {
        roc_empty(out);
        return -1;
    }
    radix_sort33(keys, tmp, n);
    free(tmp);
    return roc_from_sorted(keys, n, out);
}

/* probs (n, C): the key of column cls of row i, or 0 with *bad set for a NaN or a bad label. */
static uint64_t sample_key(const float *probs, const int *y_true, long i, int C, int cls, int *bad)
{
    float s = probs[i * (long)C + cls];
    int t = y_true[i];
    if (isnan(s) || t < 0 || t >= C)
        *bad = 1;
    return ((uint64_t)float_key(s) << 1) | (uint64_t)(t == cls);
}

int metrics_roc_class(const float *probs, const int *y_true, long n, int C, int cls, roc_curve *out)
{
    roc_empty(out);
    if (n < 1 || C < 1 || cls < 0 || cls >= C)
        return -1;
    uint64_t *keys = malloc((size_t)n * sizeof *keys);
    if (!keys)
        return -1;
    int bad = 0;
    for (long i = 0; i < n; i++)
        keys[i] = sample_key(probs, y_true, i, C, cls, &bad);
    int rc = bad ? -1 : roc_from_keys(keys, n, out);
    free(keys);
    return rc;
}

int metrics_roc_micro(const float *probs, const int *y_true, long n, int C, roc_curve *out)
{
    roc_empty(out);
    if (n < 1 || C < 1)
        return -1;
    long total = n * (long)C;
    uint64_t *keys = malloc((size_t)total * sizeof *keys);
    if (!keys)
        return -1;
    int bad = 0;
    for (long i = 0; i < n; i++)
        for (int c = 0; c < C; c++)
            keys[i * C + c] = sample_key(probs, y_true, i, C, c, &bad);
    int rc = bad ? -1 : roc_from_keys(keys, total, out);
    free(keys);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* np.interp(x, xp, fp) for one x, with j the last index where xp[j] <= x (xp[0] <= x): the value at
 * an exact or final knot, otherwise slope * (x - xp[j]) + fp[j] written as numpy writes it. */
static double interp_at(double x, const double *xp, const double *fp, long len, long j)
{
    if (j >= len - 1)
        return fp[len - 1];
    if (xp[j] == x)
        return fp[j];
    double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    double v = slope * (x - xp[j]) + fp[j];
    if (isnan(v)) {
        v = slope * (x - xp[j + 1]) + fp[j + 1];
        if (isnan(v) && fp[j] == fp[j + 1])
            v = fp[j];
    }
    return v;
}

int metrics_roc_macro(const roc_curve *per_class, int C, roc_curve *out)
{
    roc_empty(out);
    /* all_fpr = np.unique(concatenate(fpr of the defined classes)). */
    long total = 0;
    int valid = 0;
    for (int c = 0; c < C; c++)
        if (!isnan(per_class[c].auc)) {
            total += per_class[c].n;
            valid++;
        }
    if (valid == 0)
        return 0;
    double *all = malloc((size_t)total * sizeof *all);
    if (!all)
        return -1;
    long k = 0;
    for (int c = 0; c < C; c++)
        if (!isnan(per_class[c].auc)) {
            memcpy(all + k, per_class[c].fpr, (size_t)per_class[c].n * sizeof *all);
            k += per_class[c].n;
        }
    qsort(all, (size_t)total, sizeof *all, cmp_double);
    long u = 0;
    for (long i = 0; i < total; i++)
        if (u == 0 || all[i] != all[u - 1])
            all[u++] = all[i];
    if (roc_alloc(out, u, 0) != 0) {
        free(all);
        return -1;
    }
    memcpy(out->fpr, all, (size_t)u * sizeof *all);
    free(all);
    /* mean_tpr: 0 + interp of class 0 + interp of class 1 + ..., then / the number of classes. */
    memset(out->tpr, 0, (size_t)u * sizeof *out->tpr);
    for (int c = 0; c < C; c++) {
        const roc_curve *pc = &per_class[c];
        if (isnan(pc->auc))
            continue;
        long j = 0;
        for (long i = 0; i < u; i++) {
            double x = out->fpr[i];
            while (j + 1 < pc->n && pc->fpr[j + 1] <= x)
                j++;
            out->tpr[i] += interp_at(x, pc->fpr, pc->tpr, pc->n, j);
        }
    }
    for (long i = 0; i < u; i++)
        out->tpr[i] /= valid;
    out->auc = metrics_auc(out->fpr, out->tpr, u);
    return 0;
}

double metrics_auc_macro_mean(const roc_curve *per_class, int C)
{
    double *aucs = malloc((size_t)(C > 0 ? C : 1) * sizeof *aucs);
    if (!aucs)
        return NAN;
    int valid = 0;
    for (int c = 0; c < C; c++)
        if (!isnan(per_class[c].auc))
            aucs[valid++] = per_class[c].auc;
    double mean = valid ? metrics_pairwise_sum(aucs, valid) / valid : NAN;
    free(aucs);
    return mean;
}

/* The trapezoid between points i and i + 1, as np.trapz writes it: dx * (y[i+1] + y[i]) / 2. */
static double trapezoid(const double *x, const double *y, long i)
{
    return (x[i + 1] - x[i]) * (y[i + 1] + y[i]) / 2.0;
}

/* metrics_pairwise_sum over the n trapezoids starting at i0, without materialising them. */
static double trapz_pairwise(const double *x, const double *y, long i0, long n)
{
    if (n < 8) {
        double res = 0.0;
        for (long i = 0; i < n; i++)
            res += trapezoid(x, y, i0 + i);
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++)
            r[j] = trapezoid(x, y, i0 + j);
        long i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += trapezoid(x, y, i0 + i + j);
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += trapezoid(x, y, i0 + i);
        return res;
    }
    long n2 = n / 2;
    n2 -= n2 % 8;
    return trapz_pairwise(x, y, i0, n2) + trapz_pairwise(x, y, i0 + n2, n - n2);
}

double metrics_auc(const double *x, const double *y, long n)
{
    if (n < 2)
        return NAN;
    int any_down = 0, all_down = 1;
    for (long i = 0; i + 1 < n; i++) {
        double dx = x[i + 1] - x[i];
        any_down |= dx < 0;
        all_down &= dx <= 0;
    }
    double direction = 1.0;
    if (any_down) {
        if (!all_down)
            return NAN;
        direction = -1.0;
    }
    return direction * trapz_pairwise(x, y, 0, n - 1);
}
