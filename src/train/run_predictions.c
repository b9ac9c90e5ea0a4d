/* train/run_predictions: the evaluation files of a run: predictions.csv (every test image's probabilities)
 * with predictions.json (which weights they are of), confusion.csv, report.txt and per_class.csv's rows of
 * an epoch; written after every epoch and by `vggtop evaluate`, read back with every value checked. */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "train_internal.h"
#include "vggtop/metrics.h"

/* One per_class.csv row: scores in 0..1 and a support of at most RUN_MAX_SUPPORT images. */
static int parse_class_row(const char *line, void *row, char *why, size_t size)
{
    run_class_row r;
    const char *p = line;
    long epoch, cls;
    if (!run_field_whole(&p, 0, "the epoch", 1, TRAIN_MAX_EPOCHS, &epoch, why, size) ||
        !run_field_whole(&p, 0, "the class", 0, VT_MAX_CLASSES - 1, &cls, why, size) ||
        !run_field_number(&p, 0, "precision", 0, 1, 0, &r.precision, why, size) ||
        !run_field_number(&p, 0, "recall", 0, 1, 0, &r.recall, why, size) ||
        !run_field_number(&p, 0, "f1", 0, 1, 0, &r.f1, why, size) ||
        !run_field_whole(&p, 1, "support", 0, RUN_MAX_SUPPORT, &r.support, why, size))
        return 0;
    r.epoch = (int)epoch;
    r.cls = (int)cls;
    *(run_class_row *)row = r;
    return 1;
}

static const rows_kind per_class_rows = {RUN_PER_CLASS, PER_CLASS_HEADER, sizeof(run_class_row), VT_MAX_CLASSES,
                                         parse_class_row};

/* An epoch's report sums its classes' supports: each class once (at most VT_MAX_CLASSES of RUN_MAX_SUPPORT). */
int run_read_per_class(const char *dir, run_class_row **rows, long *n, vt_err *err)
{
    void *out;
    int rc = run_read_rows(dir, &per_class_rows, &out, n, err);
    *rows = out;
    unsigned char *seen = rc ? NULL : calloc((size_t)(TRAIN_MAX_EPOCHS + 1) * VT_MAX_CLASSES / 8 + 1, 1);
    if (!rc && !seen)
        rc = vt_fail(err, VT_EIO, "%s/%s: out of memory", dir, RUN_PER_CLASS);
    for (long i = 0; !rc && i < *n; i++) {
        size_t bit = (size_t)(*rows)[i].epoch * VT_MAX_CLASSES + (size_t)(*rows)[i].cls;
        if (seen[bit / 8] & (1u << (bit % 8)))
            rc = vt_fail(err, VT_EUSAGE, "%s/%s: epoch %d has class %d twice", dir, RUN_PER_CLASS, (*rows)[i].epoch,
                         (*rows)[i].cls);
        seen[bit / 8] |= (unsigned char)(1u << (bit % 8));
    }
    free(seen);
    if (rc) {
        free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

/* per_class.csv's rows of an epoch: sklearn's precision, recall, F1 and support of every class
 * (labels=range(C), zero_division=0), from the confusion matrix. */
static int write_per_class(const char *dir, int epoch, const long *cm, int C, vt_err *err)
{
    report r;
    if (metrics_report(cm, C, 1, &r) != 0)
        return vt_fail(err, VT_EIO, "%s/%s: out of memory", dir, RUN_PER_CLASS);
    vt_buf b = {0};
    for (int i = 0; i < r.n_labels; i++)
        vt_buf_printf(&b, "%d,%d,%.8f,%.8f,%.8f,%ld\n", epoch, r.labels[i], r.rows[i].precision, r.rows[i].recall,
                      r.rows[i].f1, r.rows[i].support);
    metrics_report_free(&r);
    char *rows = vt_buf_take(&b);
    if (!rows)
        return vt_fail(err, VT_EIO, "%s/%s: out of memory", dir, RUN_PER_CLASS);
    int rc = run_write_rows(dir, &per_class_rows, epoch, rows, err);
    free(rows);
    return rc;
}

int run_write_evaluation(const char *dir, int epoch, long batch, int history, const int *y_true, const float *probs,
                         long n, int C, const char *const *names, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    int rc = VT_OK;
    int *y_pred = malloc(sizeof(int) * (size_t)(n ? n : 1));
    long *cm = calloc((size_t)C * (size_t)C, sizeof *cm);
    if (!y_pred || !cm) {
        free(y_pred);
        free(cm);
        return vt_fail(err, VT_EIO, "%s: out of memory for the evaluation", dir);
    }
    metrics_argmax(probs, n, C, y_pred);
    metrics_confusion(y_true, y_pred, n, C, cm);

    /* Which weights the predictions are of, first: a reader that sees predictions.csv change reads both. */
    char pos[64];
    int len = snprintf(pos, sizeof pos, "{\"epoch\": %d, \"batch\": %ld}\n", epoch < 0 ? -1 : epoch,
                       epoch < 0 ? 0 : batch);
    if (!(rc = run_path(path, sizeof path, dir, RUN_PRED_EPOCH, err)))
        rc = vt_write_file_atomic(path, pos, (size_t)len, err);
    vt_afile af;
    if (!rc && !(rc = run_path(path, sizeof path, dir, RUN_PREDICTIONS, err)) &&
        !(rc = vt_afile_open(&af, path, err))) {
        fputs("index,true,pred", af.f);
        for (int c = 0; c < C; c++)
            fprintf(af.f, ",p%d", c);
        fputc('\n', af.f);
        for (long i = 0; i < n; i++) {
            fprintf(af.f, "%ld,%d,%d", i, y_true[i], y_pred[i]);
            /* %.9g: every float32 reads back bit for bit, so ROC curves from the file equal the in-memory ones. */
            for (int c = 0; c < C; c++)
                fprintf(af.f, ",%.9g", (double)probs[(size_t)i * (size_t)C + (size_t)c]);
            fputc('\n', af.f);
        }
        rc = vt_afile_commit(&af, err);
    }
    if (!rc && !(rc = run_path(path, sizeof path, dir, RUN_CONFUSION, err)) && !(rc = vt_afile_open(&af, path, err))) {
        for (int t = 0; t < C; t++)
            for (int p = 0; p < C; p++)
                fprintf(af.f, "%ld%c", cm[(size_t)t * (size_t)C + (size_t)p], p + 1 < C ? ',' : '\n');
        rc = vt_afile_commit(&af, err);
    }
    if (!rc && history)
        rc = write_per_class(dir, epoch, cm, C, err);
    if (!rc && !(rc = run_path(path, sizeof path, dir, RUN_REPORT, err))) {
        report r;
        char *text = NULL;
        if (metrics_report(cm, C, 0, &r) == 0) {
            text = metrics_report_text(&r, names, 2);
            metrics_report_free(&r);
        }
        if (!text)
            rc = vt_fail(err, VT_EIO, "%s: out of memory for the report", path);
        else {
            rc = vt_write_file_atomic(path, text, strlen(text), err);
            free(text);
        }
    }
    free(y_pred);
    free(cm);
    return rc;
}

/* predictions.json: absent (runs made before it) is an unknown epoch. */
static int read_pred_epoch(const char *dir, run_data *run, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA], *text;
    run->pred_epoch = -1;
    run->pred_batch = 0;
    int rc = run_read_optional(dir, RUN_PRED_EPOCH, path, sizeof path, &text, err);
    if (rc || !text)
        return rc;
    cJSON *o = cJSON_Parse(text), *e = cJSON_GetObjectItemCaseSensitive(o, "epoch"),
          *b = cJSON_GetObjectItemCaseSensitive(o, "batch");
    free(text);
    int ok = cJSON_IsNumber(e) && cJSON_IsNumber(b) && e->valuedouble >= -1 && e->valuedouble <= TRAIN_MAX_EPOCHS &&
             e->valuedouble == (int)e->valuedouble && b->valuedouble >= 0 && b->valuedouble < 1e15 &&
             b->valuedouble == (long)b->valuedouble;
    if (ok) {
        run->pred_epoch = (int)e->valuedouble;
        run->pred_batch = (long)b->valuedouble;
    }
    cJSON_Delete(o);
    return ok ? VT_OK : vt_fail(err, VT_EUSAGE, "%s: not {\"epoch\": N, \"batch\": B} (truncated or edited?)", path);
}

/* The classes predictions.csv's header names (index,true,pred,p0,...,p{C-1}); 0 when it is not that. */
static int header_classes(const char *line)
{
    int C = 0;
    if (!line || strncmp(line, "index,true,pred", 15) != 0)
        return 0;
    const char *p = line + 15;
    while (*p == ',' && C <= VT_MAX_CLASSES) {
        char want[24];
        int len = snprintf(want, sizeof want, ",p%d", C);
        if (strncmp(p, want, (size_t)len) != 0 || (p[len] != ',' && p[len] != '\0'))
            break;
        p += len;
        C++;
    }
    return *p ? 0 : C;
}

/* Row n of predictions.csv: its index n, the true and predicted classes (0..C-1) and C probabilities in
 * [0, 1] into *t, *pred and p; 0 when the line is not that. */
static int parse_prediction(char *line, long n, int C, int *t, int *pred, float *p)
{
    /* errno is not asked: the ranges catch an overflow, and a subnormal probability (ERANGE from strtof) is
     * one the softmax gave. */
    char *s = line, *end;
    long idx = strtol(s, &end, 10);
    int ok = end != s && *end == ',' && idx == n;
    long tv = ok ? strtol(s = end + 1, &end, 10) : -1;
    ok = ok && end != s && *end == ',' && tv >= 0 && tv < C;
    long pr = ok ? strtol(s = end + 1, &end, 10) : -1;
    ok = ok && end != s && pr >= 0 && pr < C;
    for (int c = 0; ok && c < C; c++) {
        ok = *end == ',';
        s = end + 1;
        float v = strtof(s, &end);
        ok = ok && end != s && v >= 0.0f && v <= 1.0f;
        p[c] = v;
    }
    *t = (int)tv;
    *pred = (int)pr;
    return ok && !*end;
}

int run_read_predictions(const char *dir, run_data *run, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA], *text;
    int rc = run_read_optional(dir, RUN_PREDICTIONS, path, sizeof path, &text, err);
    if (rc || !text)
        return rc;
    char *cursor = text, *line = run_next_line(&cursor);
    int C = header_classes(line);
    if (C < 1 || C > VT_MAX_CLASSES) {
        free(text);
        return vt_fail(err, VT_EUSAGE, "%s: line 1: expected the header index,true,pred,p0,... with 1 to %d classes",
                       path, VT_MAX_CLASSES);
    }
    /* Rows: count the lines first so the arrays are allocated once. */
    long cap = 0;
    for (const char *s = cursor; *s; s++)
        cap += *s == '\n';
    cap += 1;
    int *yt = malloc(sizeof(int) * (size_t)cap), *yp = malloc(sizeof(int) * (size_t)cap);
    float *probs = malloc(sizeof(float) * (size_t)cap * (size_t)C);
    if (!yt || !yp || !probs) {
        free(yt);
        free(yp);
        free(probs);
        free(text);
        return vt_fail(err, VT_EIO, "%s: out of memory", path);
    }
    long n = 0;
    int lineno = 1;
    while (!rc && (line = run_next_line(&cursor))) {
        lineno++;
        if (!*line)
            continue;
        if (!parse_prediction(line, n, C, &yt[n], &yp[n], probs + (size_t)n * (size_t)C)) {
            rc = vt_fail(err, VT_EUSAGE, "%s: line %d: expected %ld,true,pred and %d probabilities in [0, 1]", path,
                         lineno, n, C);
            break;
        }
        n++;
    }
    free(text);
    if (rc) {
        free(yt);
        free(yp);
        free(probs);
        return rc;
    }
    run->y_true = yt;
    run->y_pred = yp;
    run->probs = probs;
    run->n_pred = n;
    run->pred_classes = C;
    run->parts |= RUN_PART_PREDICTIONS;
    return read_pred_epoch(dir, run, err);
}
