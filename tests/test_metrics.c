/* Unit tests of metrics against scikit-learn 1.2.1: the committed fixtures of tests/tools/metrics_fixtures.py
 * (report text byte for byte, confusion matrices, curves point for point, AUCs) and of tests/tools/diff_fixtures.py
 * (two runs compared: both reports, the changes, the pairs that grew and shrank, fine and folded), plus
 * hand-derived cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <zlib.h>

#include "vggtop/metrics.h"
#include "vggtop/util.h"
#include "vggtop/train.h"

#include "../src/train/train_internal.h"
#include "testing.h"

#define FIXTURES "tests/fixtures/metrics/"

/* ---- fixture loading ------------------------------------------------------------------------------- */

typedef struct reader {
    unsigned char *data;
    size_t len, pos;
} reader;

static void *take(reader *r, size_t bytes)
{
    if (r->pos + bytes > r->len)
        fail_msg("fixture ends early: %zu bytes wanted at %zu of %zu", bytes, r->pos, r->len);
    void *p = r->data + r->pos;
    r->pos += bytes;
    return p;
}

static int32_t take_i32(reader *r)
{
    int32_t v;
    memcpy(&v, take(r, 4), 4);
    return v;
}

static uint32_t take_u32(reader *r)
{
    uint32_t v;
    memcpy(&v, take(r, 4), 4);
    return v;
}

static reader read_gz(const char *path)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        fail_msg("%s: cannot open (run the tests from the repository root)", path);
    reader r = {0};
    size_t cap = 1 << 20;
    r.data = malloc(cap);
    assert_non_null(r.data);
    for (;;) {
        if (r.len == cap) {
            cap *= 2;
            r.data = realloc(r.data, cap);
            assert_non_null(r.data);
        }
        int got = gzread(f, r.data + r.len, (unsigned)(cap - r.len));
        assert_true(got >= 0);
        if (got == 0)
            break;
        r.len += (size_t)got;
    }
    gzclose(f);
    return r;
}

static cJSON *read_json(const char *path)
{
    char *text;
    vt_err err;
    if (vt_read_file(path, 0, &text, NULL, &err) != VT_OK)
        fail_msg("%s", err.msg);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j)
        fail_msg("%s: not JSON", path);
    return j;
}

static double json_num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsNull(v))
        return NAN;
    if (!cJSON_IsNumber(v))
        fail_msg("fixture: %s is not a number", key);
    return v->valuedouble;
}

/* Fails with the first differing line when two texts differ. */
static void expect_text(const char *got, const char *want, const char *what)
{
    if (strcmp(got, want) == 0)
        return;
    size_t i = 0, line = 1, start = 0;
    for (; got[i] && got[i] == want[i]; i++)
        if (got[i] == '\n') {
            line++;
            start = i + 1;
        }
    print_error("%s differs at line %zu:\n got: %.*s\nwant: %.*s\n--- got whole:\n%s--- want whole:\n%s", what, line,
                (int)strcspn(got + start, "\n"), got + start, (int)strcspn(want + start, "\n"), want + start, got, want);
    fail();
}

/* Same value, NaN equal to NaN; within tol (absolute). */
static int close_to(double got, double want, double tol)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    return fabs(got - want) <= tol;
}

/* The CRC of an array as the fixture script takes it: float64 little-endian, NaN canonical. */
static uint32_t crc_of(const double *a, long n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    for (long i = 0; i < n; i++) {
        double v = isnan(a[i]) ? NAN : a[i];
        if (v == 0.0)
            v = fabs(v) * (signbit(a[i]) ? -1.0 : 1.0);
        crc = crc32(crc, (const Bytef *)&v, sizeof v);
    }
    return (uint32_t)crc;
}

/* Checks one curve record of the fixture against ours: point count, bit-exact CRCs, and when stored
 * the points themselves (fpr/tpr within 1e-12, thresholds exactly). */
static void expect_curve(reader *r, int full, const roc_curve *got, const char *what)
{
    long m = take_i32(r);
    uint32_t crc_fpr = take_u32(r), crc_tpr = take_u32(r), crc_thr = take_u32(r);
    if (got->n != m)
        fail_msg("%s: %ld points, sklearn has %ld", what, got->n, m);
    if (full) {
        const double *fpr = take(r, (size_t)m * 8), *tpr = take(r, (size_t)m * 8);
        const float *thr = got->thresholds ? take(r, (size_t)m * 4) : NULL;
        for (long i = 0; i < m; i++) {
            double f, t;
            memcpy(&f, fpr + i, 8);
            memcpy(&t, tpr + i, 8);
            if (!close_to(got->fpr[i], f, 1e-12) || !close_to(got->tpr[i], t, 1e-12))
                fail_msg("%s point %ld: (%.17g, %.17g), sklearn (%.17g, %.17g)", what, i, got->fpr[i], got->tpr[i], f,
                         t);
            if (thr) {
                float th;
                memcpy(&th, thr + i, 4);
                if (got->thresholds[i] != (double)th)
                    fail_msg("%s threshold %ld: %.9g, sklearn %.9g", what, i, got->thresholds[i], (double)th);
            }
        }
    }
    if (crc_of(got->fpr, m) != crc_fpr || crc_of(got->tpr, m) != crc_tpr)
        fail_msg("%s: fpr/tpr are not bit for bit sklearn's", what);
    if (got->thresholds && crc_of(got->thresholds, m) != crc_thr)
        fail_msg("%s: thresholds are not bit for bit sklearn's", what);
}

/* Compares our JSON report with sklearn's output_dict: same keys in the same order, same numbers. */
static void expect_json_report(const char *ours, const cJSON *want, const char *what)
{
    cJSON *got = cJSON_Parse(ours);
    if (!got)
        fail_msg("%s: our JSON does not parse", what);
    const cJSON *g = got->child, *w = want->child;
    for (; g && w; g = g->next, w = w->next) {
        if (strcmp(g->string, w->string) != 0)
            fail_msg("%s: key \"%s\", sklearn \"%s\"", what, g->string, w->string);
        if (cJSON_IsNumber(w)) {
            if (!cJSON_IsNumber(g) || g->valuedouble != w->valuedouble)
                fail_msg("%s: %s = %.17g, sklearn %.17g", what, w->string, g->valuedouble, w->valuedouble);
            continue;
        }
        const cJSON *gi = g->child, *wi = w->child;
        for (; gi && wi; gi = gi->next, wi = wi->next)
            if (strcmp(gi->string, wi->string) != 0 || gi->valuedouble != wi->valuedouble)
                fail_msg("%s: %s/%s = %.17g, sklearn %s = %.17g", what, g->string, gi->string, gi->valuedouble,
                         wi->string, wi->valuedouble);
        if (gi || wi)
            fail_msg("%s: %s has different fields", what, g->string);
    }
    if (g || w)
        fail_msg("%s: different number of entries", what);
    cJSON_Delete(got);
}

/* per_class.csv, as the engine writes it after an epoch, holds sklearn's classification_report(labels=range(C))
 * per-class values (to its 8 decimals). */
static void per_class_equals_sklearn(const int *y, const float *probs, long n, int C, const cJSON *dict,
                                     const char *name)
{
    char dir[TMPDIR_SIZE];
    assert_int_equal(tmpdir_make(dir, "per-class"), 0);
    vt_err err;
    assert_int_equal(run_write_evaluation(dir, 3, 0, 1, y, probs, n, C, NULL, &err), VT_OK);
    run_class_row *rows;
    long k;
    assert_int_equal(run_read_per_class(dir, &rows, &k, &err), VT_OK);
    assert_int_equal(k, C);
    for (long i = 0; i < k; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", rows[i].cls);
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(dict, key);
        assert_non_null(want);
        assert_int_equal(rows[i].epoch, 3);
        double p = json_num(want, "precision"), r = json_num(want, "recall"), f = json_num(want, "f1-score");
        if (fabs(rows[i].precision - p) > 5e-9 || fabs(rows[i].recall - r) > 5e-9 || fabs(rows[i].f1 - f) > 5e-9 ||
            rows[i].support != (long)json_num(want, "support"))
            fail_msg("%s: per_class.csv class %d: %g %g %g %ld, sklearn %g %g %g", name, rows[i].cls,
                     rows[i].precision, rows[i].recall, rows[i].f1, rows[i].support, p, r, f);
    }
    free(rows);
    tmpdir_remove(dir);
}

/* ---- one fixture case -------------------------------------------------------------------------------- */

static void fixture_case(void **state)
{
    const char *name = *state;
    char path[256];
    snprintf(path, sizeof path, FIXTURES "%s.json", name);
    cJSON *exp = read_json(path);
    snprintf(path, sizeof path, FIXTURES "%s.bin.gz", name);
    reader r = read_gz(path);

    long n = take_i32(&r);
    int C = take_i32(&r), quantised = take_i32(&r), full = take_i32(&r);
    assert_int_equal(n, (long)json_num(exp, "n"));
    assert_int_equal(C, (int)json_num(exp, "C"));
    int *y = malloc((size_t)n * sizeof *y), *pred = malloc((size_t)n * sizeof *pred);
    float *probs = malloc((size_t)n * C * sizeof *probs);
    long *cm = malloc((size_t)C * C * sizeof *cm);
    assert_true(y && pred && probs && cm);
    memcpy(y, take(&r, (size_t)n * 4), (size_t)n * 4);
    if (quantised) {
        const unsigned char *k = take(&r, (size_t)n * C * 2);
        for (long i = 0; i < n * C; i++)
            probs[i] = (float)(k[2 * i] | k[2 * i + 1] << 8) / 65536.0f;
    } else {
        memcpy(probs, take(&r, (size_t)n * C * 4), (size_t)n * C * 4);
    }

    /* Confusion matrix and its views. */
    metrics_argmax(probs, n, C, pred);
    metrics_confusion(y, pred, n, C, cm);
    const cJSON *jcm = cJSON_GetObjectItemCaseSensitive(exp, "confusion");
    assert_int_equal(cJSON_GetArraySize(jcm), C * C);
    int idx = 0;
    for (const cJSON *v = jcm->child; v; v = v->next, idx++)
        if (cm[idx] != (long)v->valuedouble)
            fail_msg("%s: confusion[%d][%d] = %ld, sklearn %ld", name, idx / C, idx % C, cm[idx], (long)v->valuedouble);
    const char *views[2] = {"confusion_true", "confusion_pred"};
    for (int by_col = 0; by_col < 2; by_col++) {
        const cJSON *jv = cJSON_GetObjectItemCaseSensitive(exp, views[by_col]);
        if (!jv)
            continue;
        double *norm = malloc((size_t)C * C * sizeof *norm);
        metrics_confusion_normalize(cm, C, by_col, norm);
        idx = 0;
        for (const cJSON *v = jv->child; v; v = v->next, idx++)
            if (norm[idx] != v->valuedouble)
                fail_msg("%s: %s[%d] = %.17g, sklearn %.17g", name, views[by_col], idx, norm[idx], v->valuedouble);
        free(norm);
    }
    const cJSON *jmap = cJSON_GetObjectItemCaseSensitive(exp, "fold_map");
    if (jmap) {
        int K = (int)json_num(exp, "fold_k");
        int *map = malloc((size_t)C * sizeof *map);
        long *folded = malloc((size_t)K * K * sizeof *folded);
        idx = 0;
        for (const cJSON *v = jmap->child; v; v = v->next)
            map[idx++] = (int)v->valuedouble;
        metrics_confusion_fold(cm, C, map, K, folded);
        idx = 0;
        for (const cJSON *v = cJSON_GetObjectItemCaseSensitive(exp, "folded")->child; v; v = v->next, idx++)
            assert_int_equal(folded[idx], (long)v->valuedouble);
        free(map);
        free(folded);
    }

    /* Classification reports: text + note, and the output_dict. */
    const char **names = NULL;
    const cJSON *jnames = cJSON_GetObjectItemCaseSensitive(exp, "names");
    if (cJSON_IsArray(jnames)) {
        names = calloc((size_t)C, sizeof *names);
        idx = 0;
        for (const cJSON *v = jnames->child; v; v = v->next)
            names[idx++] = v->valuestring;
    }
    const cJSON *rep;
    cJSON_ArrayForEach(rep, cJSON_GetObjectItemCaseSensitive(exp, "reports"))
    {
        int all_labels = (int)json_num(rep, "all_labels"), digits = (int)json_num(rep, "digits");
        int use_names = (int)json_num(rep, "names");
        report rp;
        assert_int_equal(metrics_report(cm, C, all_labels, &rp), 0);
        const char *const *nm = use_names ? names : NULL;
        char *text = metrics_report_text(&rp, nm, digits);
        const char *want_text = cJSON_GetObjectItemCaseSensitive(rep, "text")->valuestring;
        const char *want_note = cJSON_GetObjectItemCaseSensitive(rep, "note")->valuestring;
        char *want = malloc(strlen(want_text) + strlen(want_note) + 1);
        strcpy(want, want_text);
        strcat(want, want_note);
        char what[128];
        snprintf(what, sizeof what, "%s report (all_labels=%d, names=%d, digits=%d)", name, all_labels, use_names,
                 digits);
        expect_text(text, want, what);
        char *json = metrics_report_json(&rp, nm);
        expect_json_report(json, cJSON_GetObjectItemCaseSensitive(rep, "dict"), what);
        free(json);
        if (all_labels && !use_names) /* the dict is keyed by class number */
            per_class_equals_sklearn(y, probs, n, C, cJSON_GetObjectItemCaseSensitive(rep, "dict"), name);
        free(want);
        free(text);
        metrics_report_free(&rp);
    }

    /* Most confused pairs. */
    confused_pair pairs[15];
    int np_got = metrics_confused_pairs(cm, C, pairs, 15);
    const cJSON *jp = cJSON_GetObjectItemCaseSensitive(exp, "pairs");
    assert_int_equal(np_got, cJSON_GetArraySize(jp));
    idx = 0;
    for (const cJSON *v = jp->child; v; v = v->next, idx++) {
        assert_int_equal(pairs[idx].true_class, cJSON_GetArrayItem(v, 0)->valueint);
        assert_int_equal(pairs[idx].pred_class, cJSON_GetArrayItem(v, 1)->valueint);
        assert_int_equal(pairs[idx].count, cJSON_GetArrayItem(v, 2)->valueint);
        assert_true(pairs[idx].share == cJSON_GetArrayItem(v, 3)->valuedouble);
    }

    /* ROC: every class, micro, macro; the AUCs. */
    roc_curve *curves = calloc((size_t)C, sizeof *curves);
    const cJSON *jauc = cJSON_GetObjectItemCaseSensitive(exp, "auc_class");
    for (int c = 0; c < C; c++) {
        char what[96];
        snprintf(what, sizeof what, "%s ROC of class %d", name, c);
        assert_int_equal(metrics_roc_class(probs, y, n, C, c, &curves[c]), 0);
        expect_curve(&r, full, &curves[c], what);
        const cJSON *a = cJSON_GetArrayItem(jauc, c);
        double want_auc = cJSON_IsNull(a) ? NAN : a->valuedouble;
        if (!close_to(curves[c].auc, want_auc, 1e-9))
            fail_msg("%s: AUC %.17g, sklearn %.17g", what, curves[c].auc, want_auc);
    }
    roc_curve micro, macro;
    assert_int_equal(metrics_roc_micro(probs, y, n, C, &micro), 0);
    expect_curve(&r, full, &micro, "micro ROC");
    assert_true(close_to(micro.auc, json_num(exp, "auc_micro"), 1e-9));
    assert_int_equal(metrics_roc_macro(curves, C, &macro), 0);
    assert_null(macro.thresholds);
    expect_curve(&r, full, &macro, "macro ROC");
    assert_true(close_to(macro.auc, json_num(exp, "auc_macro_interp"), 1e-9));
    assert_true(close_to(metrics_auc_macro_mean(curves, C), json_num(exp, "auc_macro_mean"), 1e-9));
    assert_int_equal(r.pos, r.len);

    /* Scalars. */
    assert_true(metrics_top_k(probs, y, n, C, 1) == json_num(exp, "top1"));
    assert_true(metrics_top_k(probs, y, n, C, 5) == json_num(exp, "top5"));
    assert_true(metrics_accuracy(y, pred, n) == json_num(exp, "top1"));
    double mse = metrics_mse(probs, y, n, C), want_mse = json_num(exp, "mse");
    assert_true(fabs(mse - want_mse) <= 1e-12 * want_mse);
    double ll = metrics_log_loss(probs, y, n, C), want_ll = json_num(exp, "log_loss");
    if (!(fabs(ll - want_ll) <= 1e-12 * want_ll))
        fail_msg("%s: log loss %.17g, sklearn %.17g", name, ll, want_ll);

    for (int c = 0; c < C; c++)
        metrics_roc_free(&curves[c]);
    metrics_roc_free(&micro);
    metrics_roc_free(&macro);
    free(curves);
    free(names);
    free(cm);
    free(probs);
    free(pred);
    free(y);
    free(r.data);
    cJSON_Delete(exp);
}

/* ---- hand-derived cases ------------------------------------------------------------------------------- */

/* sklearn's roc_curve docstring example, checked by hand: y = [1, 1, 2, 2] (class 1 of two here),
 * scores [0.1, 0.4, 0.35, 0.8] -> fpr [0, 0, .5, .5, 1], tpr [0, .5, .5, 1, 1], thresholds
 * [1.8, .8, .4, .35, .1]. */
static void roc_docstring_example(void **state)
{
    (void)state;
    const float s[4] = {0.1f, 0.4f, 0.35f, 0.8f};
    float probs[8];
    for (int i = 0; i < 4; i++) {
        probs[2 * i] = 1.0f - s[i];
        probs[2 * i + 1] = s[i];
    }
    const int y[4] = {0, 0, 1, 1};
    roc_curve c;
    assert_int_equal(metrics_roc_class(probs, y, 4, 2, 1, &c), 0);
    const double fpr[5] = {0, 0, 0.5, 0.5, 1}, tpr[5] = {0, 0.5, 0.5, 1, 1};
    const float thr[5] = {1.8f, 0.8f, 0.4f, 0.35f, 0.1f};
    assert_int_equal(c.n, 5);
    for (int i = 0; i < 5; i++) {
        assert_true(c.fpr[i] == fpr[i]);
        assert_true(c.tpr[i] == tpr[i]);
        assert_true(c.thresholds[i] == (double)thr[i]);
    }
    assert_true(c.auc == 0.75);
    metrics_roc_free(&c);
}

/* Ties and straight runs: scores 0.9 (pos), 0.5 x 2 (pos, neg), 0.2, 0.1 (neg). Distinct thresholds
 * 0.9, 0.5, 0.2, 0.1 give (fps, tps) = (0,1) (1,2) (2,2) (3,2); (2,2) lies on the straight run from
 * (1,2) to (3,2) and is dropped. */
static void roc_ties_and_dropped_points(void **state)
{
    (void)state;
    const float s[5] = {0.5f, 0.9f, 0.2f, 0.5f, 0.1f};
    const int y[5] = {1, 1, 0, 0, 0};
    float probs[10];
    for (int i = 0; i < 5; i++) {
        probs[2 * i] = 0.0f;
        probs[2 * i + 1] = s[i];
    }
    roc_curve c;
    assert_int_equal(metrics_roc_class(probs, y, 5, 2, 1, &c), 0);
    const double fpr[4] = {0, 0, 1.0 / 3, 1}, tpr[4] = {0, 0.5, 1, 1};
    assert_int_equal(c.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_true(c.fpr[i] == fpr[i]);
        assert_true(c.tpr[i] == tpr[i]);
    }
    assert_true(c.thresholds[0] == (double)1.9f);
    /* Area: the rise from 1/2 to 1 over fpr 0..1/3 is a trapezoid of 1/4, then 2/3 at height 1. */
    assert_true(fabs(c.auc - (0.25 + 2.0 / 3)) < 1e-15);
    metrics_roc_free(&c);
}

static void roc_rejects_bad_input(void **state)
{
    (void)state;
    float probs[4] = {0.5f, 0.5f, NAN, 0.1f};
    const int y[2] = {0, 1}, bad_y[2] = {0, 2};
    roc_curve c;
    assert_int_equal(metrics_roc_class(probs, y, 2, 2, 0, &c), -1);
    assert_int_equal(c.n, 0);
    assert_null(c.fpr);
    probs[2] = 0.3f;
    assert_int_equal(metrics_roc_class(probs, bad_y, 2, 2, 0, &c), -1);
    assert_int_equal(metrics_roc_class(probs, y, 2, 2, 2, &c), -1);
    assert_int_equal(metrics_roc_class(probs, y, 0, 2, 0, &c), -1);
    assert_int_equal(metrics_roc_micro(probs, bad_y, 2, 2, &c), -1);
    /* A class without positives: tpr NaN, AUC NaN; the macro average leaves it out. */
    const int one_class[2] = {0, 0};
    roc_curve per[2];
    assert_int_equal(metrics_roc_class(probs, one_class, 2, 2, 0, &per[0]), 0);
    assert_int_equal(metrics_roc_class(probs, one_class, 2, 2, 1, &per[1]), 0);
    assert_true(isnan(per[0].auc) && isnan(per[0].fpr[1]));
    assert_true(isnan(per[1].auc) && isnan(per[1].tpr[1]));
    assert_true(isnan(metrics_auc_macro_mean(per, 2)));
    assert_int_equal(metrics_roc_macro(per, 2, &c), 0);
    assert_int_equal(c.n, 0);
    assert_true(isnan(c.auc));
    metrics_roc_free(&per[0]);
    metrics_roc_free(&per[1]);
}

static void auc_of_polylines(void **state)
{
    (void)state;
    const double x[3] = {0, 1, 3}, y[3] = {1, 3, 3};
    assert_true(metrics_auc(x, y, 3) == 2.0 + 6.0);
    const double xd[3] = {3, 1, 0};
    const double yd[3] = {3, 3, 1};
    assert_true(metrics_auc(xd, yd, 3) == 8.0);
    const double xm[3] = {0, 2, 1};
    assert_true(isnan(metrics_auc(xm, y, 3)));
    assert_true(isnan(metrics_auc(x, y, 1)));
}

/* y_true [0, 1, 2, 2], y_pred [0, 2, 2, 2]: class 0 p = r = f = 1; class 1 never predicted: 0, 0, 0;
 * class 2 p = 2/3, r = 1, f = 0.8; accuracy 3/4; macro (5/9, 2/3, 0.6); weighted (7/12, 3/4, 0.65). */
static void report_by_hand(void **state)
{
    (void)state;
    const int y[4] = {0, 1, 2, 2}, p[4] = {0, 2, 2, 2};
    long cm[9];
    metrics_confusion(y, p, 4, 3, cm);
    const long want_cm[9] = {1, 0, 0, 0, 0, 1, 0, 0, 2};
    assert_memory_equal(cm, want_cm, sizeof cm);
    report r;
    assert_int_equal(metrics_report(cm, 3, 0, &r), 0);
    assert_int_equal(r.n_labels, 3);
    assert_int_equal(r.ill_defined_precision, 1);
    assert_int_equal(r.ill_defined_recall, 0);
    assert_true(r.accuracy == 0.75);
    assert_true(fabs(r.rows[2].precision - 2.0 / 3) < 1e-15 && fabs(r.rows[2].f1 - 0.8) < 1e-15);
    assert_true(fabs(r.macro.precision - 5.0 / 9) < 1e-15 && fabs(r.weighted.f1 - 0.65) < 1e-15);
    const char *names[3] = {"zero", "one, or \"uno\"", "two"};
    char *csv = metrics_report_csv(&r, names);
    /* Shortest round-trip decimals, as Python's repr: 2/3 -> 0.6666666666666666, 0.8 (2*(2/3)/(5/3)
     * rounds to 0.8000000000000002 in double), 5/9 -> 0.5555555555555555. */
    expect_text(csv,
                "class,precision,recall,f1-score,support\n"
                "zero,1,1,1,1\n"
                "\"one, or \"\"uno\"\"\",0,0,0,1\n"
                "two,0.6666666666666666,1,0.8,2\n"
                "accuracy,,,0.75,4\n"
                "macro avg,0.5555555555555555,0.6666666666666666,0.6,4\n"
                "weighted avg,0.5833333333333333,0.75,0.65,4\n",
                "CSV");
    free(csv);
    char *text = metrics_report_text(&r, NULL, 2);
    expect_text(text,
                "              precision    recall  f1-score   support\n"
                "\n"
                "           0       1.00      1.00      1.00         1\n"
                "           1       0.00      0.00      0.00         1\n"
                "           2       0.67      1.00      0.80         2\n"
                "\n"
                "    accuracy                           0.75         4\n"
                "   macro avg       0.56      0.67      0.60         4\n"
                "weighted avg       0.58      0.75      0.65         4\n"
                "\n"
                "note: precision and F-score are ill-defined and set to 0.0 for 1 class with no predicted samples\n",
                "hand report");
    free(text);
    metrics_report_free(&r);
    /* With all 5 labels of a 5-class problem, classes 3 and 4 are absent from both: "micro avg". */
    long cm5[25] = {0};
    metrics_confusion(y, p, 4, 5, cm5);
    assert_int_equal(metrics_report(cm5, 5, 1, &r), 0);
    assert_int_equal(r.n_labels, 5);
    assert_int_equal(r.micro_is_accuracy, 0);
    assert_int_equal(r.ill_defined_precision, 3);
    assert_int_equal(r.ill_defined_recall, 2);
    metrics_report_free(&r);
}

static void confusion_views_fold_and_pairs(void **state)
{
    (void)state;
    /* rows = true: class 0 -> 5 right, 3 as 1, 2 as 2; class 1 -> 3 as 0; class 2 -> nothing. */
    const long cm[9] = {5, 3, 2, 3, 4, 0, 0, 0, 0};
    double rows[9], cols[9];
    metrics_confusion_normalize(cm, 3, 0, rows);
    metrics_confusion_normalize(cm, 3, 1, cols);
    assert_true(rows[1] == 0.3 && rows[3] == 3.0 / 7 && rows[8] == 0.0);
    assert_true(cols[0] == 5.0 / 8 && cols[2] == 1.0 && cols[5] == 0.0);
    const int map[3] = {0, 0, 1};
    long folded[4];
    metrics_confusion_fold(cm, 3, map, 2, folded);
    const long want_fold[4] = {15, 2, 0, 0};
    assert_memory_equal(folded, want_fold, sizeof folded);
    confused_pair pairs[2];
    /* Off-diagonal: (0,1) 3, (1,0) 3, (0,2) 2: ties by count go to the lower true class. */
    assert_int_equal(metrics_confused_pairs(cm, 3, pairs, 2), 2);
    assert_int_equal(pairs[0].true_class, 0);
    assert_int_equal(pairs[0].pred_class, 1);
    assert_true(pairs[0].share == 0.3);
    assert_int_equal(pairs[1].true_class, 1);
    assert_int_equal(pairs[1].pred_class, 0);
    assert_true(pairs[1].share == 3.0 / 7);
    assert_int_equal(metrics_confused_pairs(cm, 3, pairs, 0), 0);
}

static void scalars_by_hand(void **state)
{
    (void)state;
    /* Row 0: true 2 ties with class 0 at 0.4, so it ranks second; row 1: true 0 is the lowest. */
    const float probs[6] = {0.4f, 0.2f, 0.4f, 0.1f, 0.6f, 0.3f};
    const int y[2] = {2, 0};
    assert_true(metrics_top_k(probs, y, 2, 3, 1) == 0.0);
    assert_true(metrics_top_k(probs, y, 2, 3, 2) == 0.5);
    assert_true(metrics_top_k(probs, y, 2, 3, 3) == 1.0);
    int pred[2];
    metrics_argmax(probs, 2, 3, pred);
    assert_int_equal(pred[0], 0);
    assert_int_equal(pred[1], 1);
    /* mse: row 0 (0.16 + 0.04 + 0.36) / 3, row 1 (0.81 + 0.36 + 0.09) / 3, in float32 inputs. */
    double p[6];
    for (int i = 0; i < 6; i++)
        p[i] = probs[i];
    double want = (p[0] * p[0] + p[1] * p[1] + (1 - p[2]) * (1 - p[2]) + (1 - p[3]) * (1 - p[3]) + p[4] * p[4] +
                   p[5] * p[5]) / 6;
    assert_true(fabs(metrics_mse(probs, y, 2, 3) - want) < 1e-15);
    /* log loss: rows sum to 1 (in float32, nearly): -(ln 0.4 + ln 0.1) / 2. */
    assert_true(fabs(metrics_log_loss(probs, y, 2, 3) - (-(log(0.4) + log(0.1)) / 2)) < 1e-7);
    /* A zero probability is clipped to the float64 epsilon, not to -inf. */
    const float sure[4] = {1.0f, 0.0f, 1.0f, 0.0f};
    const int wrong[2] = {1, 0};
    assert_true(fabs(metrics_log_loss(sure, wrong, 2, 2) - (-log(2.220446049250313e-16) / 2)) < 1e-9);
    const int same[2] = {1, 0};
    const int y2[2] = {1, 1};
    assert_true(metrics_accuracy(y2, same, 2) == 0.5);
}

/* ---- two runs compared (vggtop diff) --------------------------------------------------------------------- */

/* An int array of a fixture as a malloc'ed C array of *n ints. */
static int *json_ints(const cJSON *obj, const char *key, long *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    assert_true(cJSON_IsArray(a));
    *n = cJSON_GetArraySize(a);
    int *out = malloc(sizeof *out * (size_t)(*n ? *n : 1));
    assert_non_null(out);
    long i = 0;
    for (const cJSON *v = a->child; v; v = v->next)
        out[i++] = v->valueint;
    return out;
}

/* The same double as sklearn's, bit for bit (the reports are; a change is the same subtraction). */
static void expect_same(double got, double want, const char *what, int i)
{
    if (got != want)
        fail_msg("%s of row %d: %.17g, sklearn %.17g", what, i, got, want);
}

/* The pairs vggtop lists against the fixture's: [true, predicted, count in A, count in B] each. */
static void expect_pairs(const pair_change *p, int n, int n_all, const cJSON *want, const cJSON *exp, const char *key)
{
    char all_key[16];
    snprintf(all_key, sizeof all_key, "n_%s", key);
    assert_int_equal(n_all, (int)json_num(exp, all_key));
    assert_int_equal(n, cJSON_GetArraySize(want));
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(want, i);
        const long got[4] = {p[i].true_class, p[i].pred_class, p[i].a, p[i].b};
        for (int k = 0; k < 4; k++)
            if (got[k] != (long)cJSON_GetArrayItem(v, k)->valuedouble)
                fail_msg("%s pair %d field %d: %ld, sklearn %g", key, i, k, got[k], cJSON_GetArrayItem(v, k)->valuedouble);
    }
}

/* One diff (d, of C classes; freed here) against a fixture's "expect": every class row in sklearn's order, the
 * summary, the pairs. */
static void expect_diff_of(metrics_diff d, int C, const cJSON *exp)
{
    assert_int_equal(d.C, C);
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(exp, "rows");
    assert_int_equal(cJSON_GetArraySize(rows), C);
    for (int i = 0; i < C; i++) {
        const cJSON *r = cJSON_GetArrayItem(rows, i);
        const class_change *g = &d.classes[i];
        assert_int_equal(g->cls, (int)json_num(r, "class"));
        const cJSON *ja = cJSON_GetObjectItemCaseSensitive(r, "a"), *jb = cJSON_GetObjectItemCaseSensitive(r, "b");
        const cJSON *jc = cJSON_GetObjectItemCaseSensitive(r, "change");
        const double got[9] = {g->a.precision, g->a.recall, g->a.f1, g->b.precision, g->b.recall, g->b.f1,
                               g->precision, g->recall, g->f1};
        static const char *const what[3] = {"precision", "recall", "f1"};
        for (int k = 0; k < 3; k++) {
            expect_same(got[k], cJSON_GetArrayItem(ja, k)->valuedouble, what[k], i);
            expect_same(got[3 + k], cJSON_GetArrayItem(jb, k)->valuedouble, what[k], i);
            expect_same(got[6 + k], cJSON_GetArrayItem(jc, k)->valuedouble, what[k], i);
        }
        assert_int_equal(g->a.support, (long)cJSON_GetArrayItem(ja, 3)->valuedouble);
        assert_int_equal(g->b.support, (long)cJSON_GetArrayItem(jb, 3)->valuedouble);
    }
    const double sums[6] = {d.a.accuracy, d.b.accuracy, d.a.macro.f1, d.b.macro.f1, d.a.weighted.f1, d.b.weighted.f1};
    static const char *const keys[3] = {"accuracy", "macro_f1", "weighted_f1"};
    for (int k = 0; k < 3; k++)
        for (int run = 0; run < 2; run++)
            expect_same(sums[2 * k + run],
                        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(exp, keys[k]), run)->valuedouble, keys[k],
                        run);
    expect_pairs(d.grew, d.n_grew, d.n_grew_all, cJSON_GetObjectItemCaseSensitive(exp, "grew"), exp, "grew");
    expect_pairs(d.shrank, d.n_shrank, d.n_shrank_all, cJSON_GetObjectItemCaseSensitive(exp, "shrank"), exp, "shrank");
    metrics_diff_free(&d);
}

/* The same of two confusion matrices (metrics_diff_runs). */
static void expect_diff(const long *cm_a, const long *cm_b, int C, const cJSON *exp)
{
    metrics_diff d;
    assert_int_equal(metrics_diff_runs(cm_a, cm_b, C, 40, &d), 0);
    expect_diff_of(d, C, exp);
}

/* tests/tools/diff_fixtures.py's cases: two runs' predictions of the same test set, and with a fine -> coarse
 * map the same compared after folding both matrices (the superclass view). */
static void diff_fixture_case(void **state)
{
    char path[256];
    snprintf(path, sizeof path, FIXTURES "diff_%s.json", (const char *)*state);
    cJSON *j = read_json(path);
    int C = (int)json_num(j, "C");
    long n, na, nb, nm;
    int *y = json_ints(j, "y", &n), *a = json_ints(j, "a", &na), *b = json_ints(j, "b", &nb);
    assert_true(na == n && nb == n);
    long *cm_a = calloc((size_t)C * (size_t)C, sizeof *cm_a), *cm_b = calloc((size_t)C * (size_t)C, sizeof *cm_b);
    assert_true(cm_a && cm_b);
    metrics_confusion(y, a, n, C, cm_a);
    metrics_confusion(y, b, n, C, cm_b);
    expect_diff(cm_a, cm_b, C, cJSON_GetObjectItemCaseSensitive(j, "expect"));
    /* From the predictions (vggtop diff's and the Diff screen's way): the same. */
    metrics_diff d;
    assert_int_equal(metrics_diff_predictions(y, a, n, y, b, n, C, NULL, 0, 40, &d), 0);
    expect_diff_of(d, C, cJSON_GetObjectItemCaseSensitive(j, "expect"));
    if (cJSON_GetObjectItemCaseSensitive(j, "map")) {
        int K = (int)json_num(j, "K");
        int *map = json_ints(j, "map", &nm);
        assert_int_equal(nm, C);
        long *fa = calloc((size_t)K * (size_t)K, sizeof *fa), *fb = calloc((size_t)K * (size_t)K, sizeof *fb);
        assert_true(fa && fb);
        metrics_confusion_fold(cm_a, C, map, K, fa);
        metrics_confusion_fold(cm_b, C, map, K, fb);
        expect_diff(fa, fb, K, cJSON_GetObjectItemCaseSensitive(j, "expect_coarse"));
        assert_int_equal(metrics_diff_predictions(y, a, n, y, b, n, C, map, K, 40, &d), 0);
        expect_diff_of(d, K, cJSON_GetObjectItemCaseSensitive(j, "expect_coarse"));
        free(fa);
        free(fb);
        free(map);
    }
    free(cm_a);
    free(cm_b);
    free(y);
    free(a);
    free(b);
    cJSON_Delete(j);
}

/* A hand-made pair: ties in the F1 change go to the lower class, --top cuts the pairs, and the text, CSV and
 * JSON say what the struct holds. */
static void diff_by_hand(void **state)
{
    (void)state;
    /* rows = true. A: cat 8 right, 2 as dog; dog 10 right; owl 5 right, 5 as cat.
     *              B: cat 8 right, 2 as owl; dog 10 right; owl 5 right, 5 as dog. */
    const long cm_a[9] = {8, 2, 0, 0, 10, 0, 5, 0, 5}, cm_b[9] = {8, 0, 2, 0, 10, 0, 0, 5, 5};
    const char *const names[3] = {"cat", "dog", "owl"};
    metrics_diff d;
    int y[1] = {0};
    assert_int_equal(metrics_diff_predictions(y, y, 1, y, y, 1, 0, NULL, 0, 1, &d), -1); /* no classes */
    assert_null(d.classes);
    assert_int_equal(metrics_diff_predictions(y, y, 1, y, y, 1, 3, y, 0, 1, &d), -1);    /* a map to nothing */
    assert_int_equal(metrics_diff_runs(cm_a, cm_b, 3, 1, &d), 0);
    /* cat: p 8/13 -> 8/8; dog: p 10/12 -> 10/15; owl: p 5/5 -> 5/7. */
    assert_int_equal(d.classes[0].cls, 0);
    assert_true(d.classes[0].precision == 1.0 - 8.0 / 13 && d.classes[0].recall == 0.0);
    assert_int_equal(d.classes[2].cls, 1);
    assert_true(d.classes[2].f1 < d.classes[1].f1);
    assert_int_equal(d.n_grew_all, 2); /* cat -> owl +2, owl -> dog +5 */
    assert_int_equal(d.n_grew, 1);
    assert_int_equal(d.grew[0].true_class, 2);
    assert_int_equal(d.grew[0].pred_class, 1);
    assert_int_equal(d.n_shrank_all, 2);
    assert_int_equal(d.shrank[0].true_class, 2); /* owl -> cat -5 before cat -> dog -2 */
    assert_int_equal(d.shrank[0].pred_class, 0);
    char *text = metrics_diff_text(&d, names, 2, 5), *csv = metrics_diff_csv(&d, names);
    char *json = metrics_diff_json(&d, names);
    assert_true(text && csv && json);
    assert_non_null(strstr(text, "  owl -> dog      0 -> 5        +5\n"));
    assert_non_null(strstr(text, "  owl -> cat      5 -> 0        -5\n  (1 more)\n"));
    assert_non_null(strstr(text, "better most: cat +"));
    assert_non_null(strstr(text, "worse most:  dog -"));
    assert_true(strncmp(csv, "class,precision_a,", 18) == 0 && strstr(csv, "\ncat,0.6153846153846154,1,"));
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    const cJSON *grew = cJSON_GetObjectItemCaseSensitive(j, "grew");
    assert_int_equal(cJSON_GetArraySize(grew), 1);
    assert_int_equal((int)json_num(cJSON_GetArrayItem(grew, 0), "change"), 5);
    assert_true(json_num(cJSON_GetObjectItemCaseSensitive(j, "accuracy"), "change") == 0.0);
    cJSON_Delete(j);
    free(text);
    free(csv);
    free(json);
    metrics_diff_free(&d);
    /* Nothing changed: no pairs either way; unusable input is refused. */
    assert_int_equal(metrics_diff_runs(cm_a, cm_a, 3, 20, &d), 0);
    assert_true(d.n_grew_all == 0 && d.n_shrank_all == 0 && d.grew == NULL);
    metrics_diff_free(&d);
    assert_int_equal(metrics_diff_runs(cm_a, cm_b, 0, 20, &d), -1);
    assert_int_equal(metrics_diff_runs(cm_a, cm_b, 3, -1, &d), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        {"fixture random10", fixture_case, NULL, NULL, (void *)"random10"},
        {"fixture cifar100", fixture_case, NULL, NULL, (void *)"cifar100"},
        {"fixture never_predicted", fixture_case, NULL, NULL, (void *)"never_predicted"},
        {"fixture absent_true", fixture_case, NULL, NULL, (void *)"absent_true"},
        {"fixture ties", fixture_case, NULL, NULL, (void *)"ties"},
        {"fixture binary", fixture_case, NULL, NULL, (void *)"binary"},
        {"fixture names", fixture_case, NULL, NULL, (void *)"names"},
        {"fixture perfect", fixture_case, NULL, NULL, (void *)"perfect"},
        cmocka_unit_test(roc_docstring_example),
        cmocka_unit_test(roc_ties_and_dropped_points),
        cmocka_unit_test(roc_rejects_bad_input),
        cmocka_unit_test(auc_of_polylines),
        cmocka_unit_test(report_by_hand),
        cmocka_unit_test(confusion_views_fold_and_pairs),
        cmocka_unit_test(scalars_by_hand),
        {"diff fixture random10", diff_fixture_case, NULL, NULL, (void *)"random10"},
        {"diff fixture fine100 (and its 20 superclasses)", diff_fixture_case, NULL, NULL, (void *)"fine100"},
        cmocka_unit_test(diff_by_hand),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
