/* train/curve: curve.csv, the running loss and accuracy of the epoch in progress, so a front end that opens
 * the run later (vggtop watch after a reattach) draws the whole epoch, not only what came after it. The
 * engine rewrites it with progress.json; it holds the snapshot's curve, which is bounded (TRAIN_CURVE_MAX
 * points) and thinned by halving as an epoch grows, so the file never exceeds ~20 KB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

static const char curve_header[] = "epoch,batch,loss,acc";

int run_write_curve(const char *dir, const train_snapshot *s, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    int rc = run_path(path, sizeof path, dir, RUN_CURVE, err);
    vt_afile af;
    if (rc || (rc = vt_afile_open(&af, path, err)))
        return rc;
    fprintf(af.f, "%s\n", curve_header);
    int n = s->n_curve < TRAIN_CURVE_MAX ? s->n_curve : TRAIN_CURVE_MAX;
    for (int i = 0; i < n; i++)
        fprintf(af.f, "%d,%ld,%.6g,%.6g\n", s->epoch, s->curve_batch[i], (double)s->curve_loss[i],
                (double)s->curve_acc[i]);
    return vt_afile_commit(&af, err);
}

/* One curve.csv row. */
typedef struct curve_row {
    int epoch;
    long batch;
    double loss, acc;
} curve_row;

static int parse_curve_row(const char *line, void *row, char *why, size_t size)
{
    curve_row r;
    const char *p = line;
    long epoch;
    if (!run_field_whole(&p, 0, "the epoch", 1, TRAIN_MAX_EPOCHS, &epoch, why, size) ||
        !run_field_whole(&p, 0, "the batch", 1, 1000000000000000L, &r.batch, why, size) ||
        !run_field_number(&p, 0, "loss", 0, 1e30, 0, &r.loss, why, size) ||
        !run_field_number(&p, 1, "acc", 0, 1, 0, &r.acc, why, size))
        return 0;
    r.epoch = (int)epoch;
    *(curve_row *)row = r;
    return 1;
}

static const rows_kind curve_rows = {RUN_CURVE, curve_header, sizeof(curve_row), TRAIN_CURVE_MAX,
                                     parse_curve_row};

int run_read_curve(const char *dir, int *epoch, long *batch, float *loss, float *acc, int max, int *n, vt_err *err)
{
    *n = 0;
    *epoch = 0;
    void *out;
    long count;
    int rc = run_read_rows(dir, &curve_rows, &out, &count, err);
    const curve_row *rows = out;
    for (long i = 1; !rc && i < count; i++)
        if (rows[i].epoch != rows[0].epoch || rows[i].batch <= rows[i - 1].batch)
            rc = vt_fail(err, VT_EUSAGE, "%s/%s: line %ld: expected the same epoch and growing batches", dir,
                         RUN_CURVE, i + 2); /* the header, then a row a line (the writer leaves no blank one) */
    for (long i = 0; !rc && i < count && i < max; i++) {
        *epoch = rows[i].epoch;
        batch[i] = rows[i].batch;
        loss[i] = (float)rows[i].loss;
        acc[i] = (float)rows[i].acc;
        *n = (int)i + 1; /* more than asked for: the first max */
    }
    free(out);
    if (rc)
        *epoch = 0;
    return rc;
}
