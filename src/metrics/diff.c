/* diff: two runs' evaluations compared class by class (vggtop diff): both per-class reports, their changes
 * sorted by the change of F1, and the confusion pairs that grew and shrank most; as text, CSV and JSON.
 * Every score is metrics_report's (so sklearn's); every change is B - A. */
#include "vggtop/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"
#include "vggtop/util.h"

/* qsort orders: F1 change descending, then class; pairs by change (grew: descending, shrank: ascending),
 * then true, then predicted class. */
static int by_f1_change(const void *x, const void *y)
{
    const class_change *a = x, *b = y;
    if (a->f1 != b->f1)
        return a->f1 > b->f1 ? -1 : 1;
    return (a->cls > b->cls) - (a->cls < b->cls);
}

static int by_cell(const pair_change *a, const pair_change *b)
{
    if (a->true_class != b->true_class)
        return a->true_class < b->true_class ? -1 : 1;
    return (a->pred_class > b->pred_class) - (a->pred_class < b->pred_class);
}

static int by_growth(const void *x, const void *y)
{
    const pair_change *a = x, *b = y;
    long ca = a->b - a->a, cb = b->b - b->a;
    return ca != cb ? (ca > cb ? -1 : 1) : by_cell(a, b);
}

static int by_fall(const void *x, const void *y)
{
    const pair_change *a = x, *b = y;
    long ca = a->b - a->a, cb = b->b - b->a;
    return ca != cb ? (ca < cb ? -1 : 1) : by_cell(a, b);
}

/* The changed off-diagonal cells of one sign (+1 grew, -1 shrank), sorted, the first top kept in *out
 * (malloc'ed, NULL when none); *n_all: how many changed that way. -1 when out of memory. */
static int changed_pairs(const long *cm_a, const long *cm_b, int C, int sign, int top, pair_change **out, int *n,
                         int *n_all)
{
    *out = NULL;
    *n = *n_all = 0;
    long count = 0;
    for (long i = 0; i < (long)C * C; i++)
        count += i / C != i % C && (cm_b[i] - cm_a[i]) * sign > 0;
    if (count == 0)
        return 0;
    pair_change *all = malloc((size_t)count * sizeof *all);
    if (!all)
        return -1;
    long k = 0;
    for (long i = 0; i < (long)C * C; i++)
        if (i / C != i % C && (cm_b[i] - cm_a[i]) * sign > 0)
            all[k++] = (pair_change){(int)(i / C), (int)(i % C), cm_a[i], cm_b[i]};
    qsort(all, (size_t)count, sizeof *all, sign > 0 ? by_growth : by_fall);
    *n_all = (int)count;
    *n = count < top ? (int)count : top;
    *out = all;
    return 0;
}

int metrics_diff_runs(const long *cm_a, const long *cm_b, int C, int top, metrics_diff *out)
{
    memset(out, 0, sizeof *out);
    if (C < 1 || top < 0)
        return -1;
    out->C = C;
    out->classes = malloc((size_t)C * sizeof *out->classes);
    if (!out->classes || metrics_report(cm_a, C, 1, &out->a) != 0 || metrics_report(cm_b, C, 1, &out->b) != 0 ||
        changed_pairs(cm_a, cm_b, C, 1, top, &out->grew, &out->n_grew, &out->n_grew_all) != 0 ||
        changed_pairs(cm_a, cm_b, C, -1, top, &out->shrank, &out->n_shrank, &out->n_shrank_all) != 0) {
        metrics_diff_free(out);
        return -1;
    }
    /* labels=range(C): row c of each report is class c. */
    for (int c = 0; c < C; c++) {
        const class_scores *a = &out->a.rows[c], *b = &out->b.rows[c];
        out->classes[c] = (class_change){c, *a, *b, b->precision - a->precision, b->recall - a->recall, b->f1 - a->f1};
    }
    qsort(out->classes, (size_t)C, sizeof *out->classes, by_f1_change);
    return 0;
}

/* A run's C x C confusion matrix, folded into K x K when map is not NULL: malloc'ed, NULL when out of memory. */
static long *confusion_of(const int *y_true, const int *y_pred, long n, int C, const int *map, int K)
{
    long *cm = calloc((size_t)C * (size_t)C, sizeof *cm);
    if (!cm || !map) {
        if (cm)
            metrics_confusion(y_true, y_pred, n, C, cm);
        return cm;
    }
    metrics_confusion(y_true, y_pred, n, C, cm);
    long *folded = calloc((size_t)K * (size_t)K, sizeof *folded);
    if (folded)
        metrics_confusion_fold(cm, C, map, K, folded);
    free(cm);
    return folded;
}

int metrics_diff_predictions(const int *true_a, const int *pred_a, long n_a, const int *true_b, const int *pred_b,
                             long n_b, int C, const int *fine_to_coarse, int K, int top, metrics_diff *out)
{
    memset(out, 0, sizeof *out);
    if (C < 1 || (fine_to_coarse && K < 1))
        return -1;
    long *cm_a = confusion_of(true_a, pred_a, n_a, C, fine_to_coarse, K);
    long *cm_b = confusion_of(true_b, pred_b, n_b, C, fine_to_coarse, K);
    int rc = cm_a && cm_b ? metrics_diff_runs(cm_a, cm_b, fine_to_coarse ? K : C, top, out) : -1;
    free(cm_a);
    free(cm_b);
    return rc;
}

void metrics_diff_free(metrics_diff *d)
{
    metrics_report_free(&d->a);
    metrics_report_free(&d->b);
    free(d->classes);
    free(d->grew);
    free(d->shrank);
    memset(d, 0, sizeof *d);
}

/* ---- text ------------------------------------------------------------------------------------------------ */

/* "  0.6500    0.6333   -0.0167": A, B and the change of one number. */
static void text_triple(vt_buf *b, double va, double vb, int digits)
{
    vt_buf_printf(b, " %8.*f %8.*f %+8.*f", digits, va, digits, vb, digits, vb - va);
}

static void text_summary(vt_buf *b, const metrics_diff *d, int digits)
{
    vt_buf_printf(b, "%-12s %8s %8s %8s\n", "", "A", "B", "change");
    vt_buf_printf(b, "%-12s", "accuracy");
    text_triple(b, d->a.accuracy, d->b.accuracy, digits);
    vt_buf_printf(b, "\n%-12s", "macro F1");
    text_triple(b, d->a.macro.f1, d->b.macro.f1, digits);
    vt_buf_printf(b, "\n%-12s", "weighted F1");
    text_triple(b, d->a.weighted.f1, d->b.weighted.f1, digits);
    vt_buf_printf(b, "\n");
}

/* The per-class table: precision, recall and F1 as A, B, change; the support (A's, and B's when it differs). */
static void text_classes(vt_buf *b, const metrics_diff *d, const char *const *names, int digits)
{
    char num[16];
    int width = (int)strlen("class");
    for (int c = 0; c < d->C; c++) {
        int w = metrics_utf8_width(metrics_class_name(names, c, num, sizeof num));
        width = w > width ? w : width;
    }
    vt_buf_printf(b, "\nper class, the most improved F1 first (change = B - A):\n");
    metrics_put_right(b, "class", width);
    vt_buf_printf(b, " %8s %8s %8s %8s %8s %8s %8s %8s %8s %9s\n", "prec A", "prec B", "change", "recall A",
                  "recall B", "change", "f1 A", "f1 B", "change", "support");
    for (int i = 0; i < d->C; i++) {
        const class_change *r = &d->classes[i];
        metrics_put_right(b, metrics_class_name(names, r->cls, num, sizeof num), width);
        text_triple(b, r->a.precision, r->b.precision, digits);
        text_triple(b, r->a.recall, r->b.recall, digits);
        text_triple(b, r->a.f1, r->b.f1, digits);
        if (r->a.support == r->b.support)
            vt_buf_printf(b, " %9ld\n", r->a.support);
        else
            vt_buf_printf(b, " %4ld>%-4ld\n", r->a.support, r->b.support);
    }
}

/* "better most: cat +0.048, owl +0.015": up to named classes from one end of the sorted table. */
static void text_most(vt_buf *b, const metrics_diff *d, const char *const *names, int digits, int named, int sign)
{
    char num[16];
    vt_buf_printf(b, "%s", sign > 0 ? "better most:" : "worse most: ");
    int k = 0;
    for (int i = 0; i < d->C && k < named; i++) {
        const class_change *r = &d->classes[sign > 0 ? i : d->C - 1 - i];
        if (r->f1 * sign <= 0)
            break;
        vt_buf_printf(b, "%s %s %+.*f", k++ ? "," : "", metrics_class_name(names, r->cls, num, sizeof num), digits,
                      r->f1);
    }
    vt_buf_printf(b, "%s\n", k ? "" : " none");
}

/* "  cat -> dog      3 -> 17   +14", the cells of one list, and how many more there are. */
static void text_pairs(vt_buf *b, const char *title, const pair_change *p, int n, int n_all,
                       const char *const *names)
{
    char n1[16], n2[16];
    vt_buf_printf(b, "\nconfusion pairs that %s (true -> predicted: count in A -> in B, change):\n", title);
    int wt = 4, wp = 4; /* the widest true and predicted names */
    for (int i = 0; i < n; i++) {
        int w = metrics_utf8_width(metrics_class_name(names, p[i].true_class, n1, sizeof n1));
        wt = w > wt ? w : wt;
        w = metrics_utf8_width(metrics_class_name(names, p[i].pred_class, n2, sizeof n2));
        wp = w > wp ? w : wp;
    }
    for (int i = 0; i < n; i++) {
        vt_buf_printf(b, "  ");
        metrics_put_right(b, metrics_class_name(names, p[i].true_class, n1, sizeof n1), wt);
        const char *pn = metrics_class_name(names, p[i].pred_class, n2, sizeof n2);
        int pad = wp - metrics_utf8_width(pn);
        vt_buf_printf(b, " -> %s%*s %5ld -> %-5ld %+5ld\n", pn, pad > 0 ? pad : 0, "", p[i].a, p[i].b, p[i].b - p[i].a);
    }
    if (n == 0)
        vt_buf_printf(b, "  (none)\n");
    else if (n_all > n)
        vt_buf_printf(b, "  (%d more)\n", n_all - n);
}

char *metrics_diff_text(const metrics_diff *d, const char *const *names, int digits, int named)
{
    vt_buf b = {0};
    text_summary(&b, d, digits);
    text_classes(&b, d, names, digits);
    vt_buf_printf(&b, "\n");
    text_most(&b, d, names, digits, named, 1);
    text_most(&b, d, names, digits, named, -1);
    text_pairs(&b, "grew most", d->grew, d->n_grew, d->n_grew_all, names);
    text_pairs(&b, "shrank most", d->shrank, d->n_shrank, d->n_shrank_all, names);
    return vt_buf_take(&b);
}

/* ---- CSV and JSON ---------------------------------------------------------------------------------------- */

/* ",a,b,change" (CSV) or "a, b, change" (JSON's array inside). */
static void put_triple(vt_buf *b, double va, double vb, const char *sep)
{
    metrics_put_number(b, va);
    vt_buf_add(b, sep);
    metrics_put_number(b, vb);
    vt_buf_add(b, sep);
    metrics_put_number(b, vb - va);
}

char *metrics_diff_csv(const metrics_diff *d, const char *const *names)
{
    char num[16];
    vt_buf b = {0};
    vt_buf_add(&b, "class,precision_a,precision_b,precision_change,recall_a,recall_b,recall_change,f1_a,f1_b,"
                   "f1_change,support_a,support_b\n");
    for (int i = 0; i < d->C; i++) {
        const class_change *r = &d->classes[i];
        metrics_put_csv_field(&b, metrics_class_name(names, r->cls, num, sizeof num));
        vt_buf_add(&b, ",");
        put_triple(&b, r->a.precision, r->b.precision, ",");
        vt_buf_add(&b, ",");
        put_triple(&b, r->a.recall, r->b.recall, ",");
        vt_buf_add(&b, ",");
        put_triple(&b, r->a.f1, r->b.f1, ",");
        vt_buf_printf(&b, ",%ld,%ld\n", r->a.support, r->b.support);
    }
    return vt_buf_take(&b);
}

/* "key": {"a": A, "b": B, "change": B - A} */
static void json_triple(vt_buf *b, const char *key, double va, double vb)
{
    vt_buf_printf(b, "\"%s\": {\"a\": ", key);
    metrics_put_number(b, va);
    vt_buf_add(b, ", \"b\": ");
    metrics_put_number(b, vb);
    vt_buf_add(b, ", \"change\": ");
    metrics_put_number(b, vb - va);
    vt_buf_add(b, "}");
}

static void json_pairs(vt_buf *b, const char *key, const pair_change *p, int n, const char *const *names)
{
    char num[16];
    vt_buf_printf(b, "  \"%s\": [", key);
    for (int i = 0; i < n; i++) {
        vt_buf_printf(b, "%s\n    {\"true\": ", i ? "," : "");
        metrics_put_json_string(b, metrics_class_name(names, p[i].true_class, num, sizeof num));
        vt_buf_add(b, ", \"predicted\": ");
        metrics_put_json_string(b, metrics_class_name(names, p[i].pred_class, num, sizeof num));
        vt_buf_printf(b, ", \"a\": %ld, \"b\": %ld, \"change\": %ld}", p[i].a, p[i].b, p[i].b - p[i].a);
    }
    vt_buf_add(b, n ? "\n  ]" : "]");
}

char *metrics_diff_json(const metrics_diff *d, const char *const *names)
{
    char num[16];
    vt_buf b = {0};
    vt_buf_add(&b, "{\n  ");
    json_triple(&b, "accuracy", d->a.accuracy, d->b.accuracy);
    vt_buf_add(&b, ",\n  ");
    json_triple(&b, "macro_f1", d->a.macro.f1, d->b.macro.f1);
    vt_buf_add(&b, ",\n  ");
    json_triple(&b, "weighted_f1", d->a.weighted.f1, d->b.weighted.f1);
    vt_buf_add(&b, ",\n  \"classes\": [");
    for (int i = 0; i < d->C; i++) {
        const class_change *r = &d->classes[i];
        vt_buf_printf(&b, "%s\n    {\"class\": ", i ? "," : "");
        metrics_put_json_string(&b, metrics_class_name(names, r->cls, num, sizeof num));
        vt_buf_printf(&b, ", \"index\": %d, ", r->cls);
        json_triple(&b, "precision", r->a.precision, r->b.precision);
        vt_buf_add(&b, ", ");
        json_triple(&b, "recall", r->a.recall, r->b.recall);
        vt_buf_add(&b, ", ");
        json_triple(&b, "f1-score", r->a.f1, r->b.f1);
        vt_buf_printf(&b, ", \"support\": {\"a\": %ld, \"b\": %ld}}", r->a.support, r->b.support);
    }
    vt_buf_add(&b, "\n  ],\n");
    json_pairs(&b, "grew", d->grew, d->n_grew, names);
    vt_buf_add(&b, ",\n");
    json_pairs(&b, "shrank", d->shrank, d->n_shrank, names);
    vt_buf_add(&b, "\n}\n");
    return vt_buf_take(&b);
}
