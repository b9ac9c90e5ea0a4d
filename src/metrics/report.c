/* report: sklearn's classification_report from a confusion matrix, as a struct and as text, CSV and
 * JSON. The text is byte for byte what scikit-learn 1.2.1 prints, widths and rounding included. */
#include "vggtop/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"
#include "vggtop/util.h"

/* precision_recall_fscore_support's division: 0 where the denominator is 0 (zero_division="warn"). */
static double prf_divide(long num, long den) { return den == 0 ? 0.0 : (double)num / (double)den; }

/* F1 exactly as sklearn writes it with beta = 1: (1 + beta2) * p * r / (beta2 * p + r), 0 when p = r = 0. */
static double f1_of(double p, double r)
{
    double denom = 1.0 * p + r;
    if (denom == 0.0)
        denom = 1.0;
    return 2.0 * p * r / denom;
}

/* The macro and weighted averages of out's rows, as np.average takes them: pairwise sums of the per-class
 * values (weighted: of value * support) divided by the count (weighted: by the total support true_sum);
 * buf: 4 C doubles of scratch. */
static void report_averages(report *out, double *buf, int C, long true_sum)
{
    int L = out->n_labels;
    double *pv = buf, *rv = buf + C, *fv = buf + 2 * C, *sv = buf + 3 * C;
    for (int i = 0; i < L; i++) {
        pv[i] = out->rows[i].precision;
        rv[i] = out->rows[i].recall;
        fv[i] = out->rows[i].f1;
    }
    out->macro.precision = L ? metrics_pairwise_sum(pv, L) / L : 0.0;
    out->macro.recall = L ? metrics_pairwise_sum(rv, L) / L : 0.0;
    out->macro.f1 = L ? metrics_pairwise_sum(fv, L) / L : 0.0;
    out->macro.support = true_sum;
    out->weighted.support = true_sum;
    if (true_sum > 0) {
        double *vals[3] = {pv, rv, fv};
        double *dst[3] = {&out->weighted.precision, &out->weighted.recall, &out->weighted.f1};
        for (int k = 0; k < 3; k++) {
            for (int i = 0; i < L; i++)
                sv[i] = vals[k][i] * (double)out->rows[i].support;
            *dst[k] = metrics_pairwise_sum(sv, L) / (double)true_sum;
        }
    }
}

int metrics_report(const long *cm, int C, int all_labels, report *out)
{
    memset(out, 0, sizeof *out);
    if (C < 1)
        return -1;
    long *tp = calloc((size_t)C, sizeof *tp), *pred = calloc((size_t)C, sizeof *pred);
    long *truth = calloc((size_t)C, sizeof *truth);
    out->labels = malloc((size_t)C * sizeof *out->labels);
    out->rows = malloc((size_t)C * sizeof *out->rows);
    double *buf = malloc(4 * (size_t)C * sizeof *buf);
    if (!tp || !pred || !truth || !out->labels || !out->rows || !buf)
        goto oom;

    for (int t = 0; t < C; t++)
        for (int p = 0; p < C; p++) {
            long v = cm[(long)t * C + p];
            truth[t] += v;
            pred[p] += v;
            if (t == p)
                tp[t] = v;
        }
    int present = 0;
    for (int c = 0; c < C; c++)
        present += truth[c] > 0 || pred[c] > 0;
    /* sklearn's labels: unique_labels(y_true, y_pred), or range(C) when all_labels. */
    long tp_sum = 0, pred_sum = 0, true_sum = 0;
    for (int c = 0; c < C; c++) {
        if (!all_labels && truth[c] == 0 && pred[c] == 0)
            continue;
        int i = out->n_labels++;
        out->labels[i] = c;
        class_scores *s = &out->rows[i];
        s->precision = prf_divide(tp[c], pred[c]);
        s->recall = prf_divide(tp[c], truth[c]);
        s->f1 = f1_of(s->precision, s->recall);
        s->support = truth[c];
        out->ill_defined_precision += pred[c] == 0;
        out->ill_defined_recall += truth[c] == 0;
        tp_sum += tp[c];
        pred_sum += pred[c];
        true_sum += truth[c];
    }
    out->total = true_sum;
    out->micro_is_accuracy = out->n_labels == present;
    /* The "accuracy" of output_dict is the micro precision, tp / predicted samples. */
    out->accuracy = prf_divide(tp_sum, pred_sum);

    report_averages(out, buf, C, true_sum);
    free(tp);
    free(pred);
    free(truth);
    free(buf);
    return 0;
oom:
    free(tp);
    free(pred);
    free(truth);
    free(buf);
    metrics_report_free(out);
    return -1;
}

int metrics_report_from_scores(const class_scores *rows, const int *labels, int n, report *out)
{
    memset(out, 0, sizeof *out);
    if (n < 1)
        return -1;
    out->labels = malloc((size_t)n * sizeof *out->labels);
    out->rows = malloc((size_t)n * sizeof *out->rows);
    double *buf = malloc(4 * (size_t)n * sizeof *buf);
    if (!out->labels || !out->rows || !buf) {
        free(buf);
        metrics_report_free(out);
        return -1;
    }
    out->n_labels = n;
    memcpy(out->labels, labels, (size_t)n * sizeof *labels);
    memcpy(out->rows, rows, (size_t)n * sizeof *rows);
    double *pv = buf, *rv = buf + n, *fv = buf + 2 * n, *sv = buf + 3 * n;
    double hits = 0;
    long total = 0;
    for (int i = 0; i < n; i++) {
        pv[i] = rows[i].precision;
        rv[i] = rows[i].recall;
        fv[i] = rows[i].f1;
        hits += round(rows[i].recall * (double)rows[i].support); /* true positives: recall x support, whole */
        total += rows[i].support;
    }
    out->total = total;
    out->micro_is_accuracy = 1;
    out->accuracy = total ? hits / (double)total : 0.0;
    out->macro = (class_scores){metrics_pairwise_sum(pv, n) / n, metrics_pairwise_sum(rv, n) / n,
                                metrics_pairwise_sum(fv, n) / n, total};
    out->weighted.support = total;
    double *vals[3] = {pv, rv, fv};
    double *dst[3] = {&out->weighted.precision, &out->weighted.recall, &out->weighted.f1};
    for (int k = 0; total > 0 && k < 3; k++) {
        for (int i = 0; i < n; i++)
            sv[i] = vals[k][i] * (double)rows[i].support;
        *dst[k] = metrics_pairwise_sum(sv, n) / (double)total;
    }
    free(buf);
    return 0;
}

void metrics_report_free(report *r)
{
    free(r->labels);
    free(r->rows);
    r->labels = NULL;
    r->rows = NULL;
    r->n_labels = 0;
}

int metrics_utf8_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

void metrics_put_right(vt_buf *b, const char *s, int width)
{
    int pad = width - metrics_utf8_width(s);
    vt_buf_printf(b, "%*s%s", pad > 0 ? pad : 0, "", s);
}

const char *metrics_class_name(const char *const *names, int c, char *num, size_t size)
{
    if (names && names[c])
        return names[c];
    snprintf(num, size, "%d", c);
    return num;
}

/* One row: heading, then " {:>9.{digits}f}" three times and " {:>9}" for the support. */
static void text_row(vt_buf *b, const char *name, int width, int digits, const class_scores *s)
{
    metrics_put_right(b, name, width);
    vt_buf_printf(b, "  %9.*f %9.*f %9.*f %9ld\n", digits, s->precision, digits, s->recall, digits, s->f1, s->support);
}

char *metrics_report_text(const report *r, const char *const *names, int digits)
{
    if (digits < 0)
        digits = 0;
    char num[16];
    int width = (int)strlen("weighted avg");
    for (int i = 0; i < r->n_labels; i++) {
        int w = metrics_utf8_width(metrics_class_name(names, r->labels[i], num, sizeof num));
        if (w > width)
            width = w;
    }
    if (digits > width)
        width = digits;

    vt_buf b = {0};
    vt_buf_printf(&b, "%*s  %9s %9s %9s %9s\n\n", width, "", "precision", "recall", "f1-score", "support");
    for (int i = 0; i < r->n_labels; i++)
        text_row(&b, metrics_class_name(names, r->labels[i], num, sizeof num), width, digits, &r->rows[i]);
    vt_buf_printf(&b, "\n");
    if (r->micro_is_accuracy) {
        /* sklearn prints the micro F1, which is the accuracy up to the last bit of 2pr / (p + r). */
        metrics_put_right(&b, "accuracy", width);
        vt_buf_printf(&b, "  %9s %9s %9.*f %9ld\n", "", "", digits, f1_of(r->accuracy, r->accuracy), r->total);
    } else {
        class_scores micro = {r->accuracy, r->accuracy, f1_of(r->accuracy, r->accuracy), r->total};
        text_row(&b, "micro avg", width, digits, &micro);
    }
    text_row(&b, "macro avg", width, digits, &r->macro);
    text_row(&b, "weighted avg", width, digits, &r->weighted);
    if (r->ill_defined_precision || r->ill_defined_recall)
        vt_buf_printf(&b, "\n");
    if (r->ill_defined_precision)
        vt_buf_printf(&b, "note: precision and F-score are ill-defined and set to 0.0 for %d %s with no predicted samples\n",
                  r->ill_defined_precision, r->ill_defined_precision == 1 ? "class" : "classes");
    if (r->ill_defined_recall)
        vt_buf_printf(&b, "note: recall and F-score are ill-defined and set to 0.0 for %d %s with no true samples\n",
                  r->ill_defined_recall, r->ill_defined_recall == 1 ? "class" : "classes");
    return vt_buf_take(&b);
}

void metrics_put_number(vt_buf *b, double v)
{
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v || isnan(v))
            break;
    }
    vt_buf_printf(b, "%s", tmp);
}

void metrics_put_csv_field(vt_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        vt_buf_printf(b, "%s", s);
        return;
    }
    vt_buf_printf(b, "\"");
    for (; *s; s++)
        vt_buf_printf(b, *s == '"' ? "\"\"" : "%c", *s);
    vt_buf_printf(b, "\"");
}

static void csv_row(vt_buf *b, const char *name, const class_scores *s)
{
    metrics_put_csv_field(b, name);
    vt_buf_printf(b, ",");
    metrics_put_number(b, s->precision);
    vt_buf_printf(b, ",");
    metrics_put_number(b, s->recall);
    vt_buf_printf(b, ",");
    metrics_put_number(b, s->f1);
    vt_buf_printf(b, ",%ld\n", s->support);
}

char *metrics_report_csv(const report *r, const char *const *names)
{
    char num[16];
    vt_buf b = {0};
    vt_buf_printf(&b, "class,precision,recall,f1-score,support\n");
    for (int i = 0; i < r->n_labels; i++)
        csv_row(&b, metrics_class_name(names, r->labels[i], num, sizeof num), &r->rows[i]);
    if (r->micro_is_accuracy) {
        vt_buf_printf(&b, "accuracy,,,");
        metrics_put_number(&b, r->accuracy);
        vt_buf_printf(&b, ",%ld\n", r->total);
    } else {
        class_scores micro = {r->accuracy, r->accuracy, f1_of(r->accuracy, r->accuracy), r->total};
        csv_row(&b, "micro avg", &micro);
    }
    csv_row(&b, "macro avg", &r->macro);
    csv_row(&b, "weighted avg", &r->weighted);
    return vt_buf_take(&b);
}

void metrics_put_json_string(vt_buf *b, const char *s)
{
    vt_buf_printf(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            vt_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            vt_buf_printf(b, "\\u%04x", c);
        else
            vt_buf_printf(b, "%c", c);
    }
    vt_buf_printf(b, "\"");
}

/* "name": {"precision": p, "recall": r, "f1-score": f, "support": n} (cJSON's printer rounds the last
 * digit away, so the numbers are written here, exactly). */
static void json_row(vt_buf *b, const char *name, const class_scores *s, int last)
{
    vt_buf_printf(b, "  ");
    metrics_put_json_string(b, name);
    vt_buf_printf(b, ": {\"precision\": ");
    metrics_put_number(b, s->precision);
    vt_buf_printf(b, ", \"recall\": ");
    metrics_put_number(b, s->recall);
    vt_buf_printf(b, ", \"f1-score\": ");
    metrics_put_number(b, s->f1);
    vt_buf_printf(b, ", \"support\": %ld}%s\n", s->support, last ? "" : ",");
}

char *metrics_report_json(const report *r, const char *const *names)
{
    char num[16];
    vt_buf b = {0};
    vt_buf_printf(&b, "{\n");
    for (int i = 0; i < r->n_labels; i++)
        json_row(&b, metrics_class_name(names, r->labels[i], num, sizeof num), &r->rows[i], 0);
    if (r->micro_is_accuracy) {
        vt_buf_printf(&b, "  \"accuracy\": ");
        metrics_put_number(&b, r->accuracy);
        vt_buf_printf(&b, ",\n");
    } else {
        class_scores micro = {r->accuracy, r->accuracy, f1_of(r->accuracy, r->accuracy), r->total};
        json_row(&b, "micro avg", &micro, 0);
    }
    json_row(&b, "macro avg", &r->macro, 0);
    json_row(&b, "weighted avg", &r->weighted, 1);
    vt_buf_printf(&b, "}\n");
    return vt_buf_take(&b);
}
