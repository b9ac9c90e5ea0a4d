/* train/curve: curve.csv, the running loss and accuracy of the epoch in progress, so a front end that opens
 * the run later (vggtop watch after a reattach) draws the whole epoch, not only what came after it. The
 * engine rewrites it with progress.json; it holds the snapshot's curve, which is bounded (TRAIN_CURVE_MAX
 * points) and thinned by halving as an epoch grows, so the file never exceeds ~20 KB. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

static const char curve_header[] = "epoch,batch,loss,acc";

int run_write_curve(const char *dir, const train_snapshot *s, vt_err *err)
{
    char path[4200];
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

int run_read_curve(const char *dir, int *epoch, long *batch, float *loss, float *acc, int max, int *n, vt_err *err)
{
    *n = 0;
    *epoch = 0;
    char path[4200];
    int rc = run_path(path, sizeof path, dir, RUN_CURVE, err);
    if (rc)
        return rc;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? VT_OK : vt_fail(err, VT_EIO, "%s: %s", path, strerror(errno));
    char line[256];
    int lineno = 0, count = 0;
    rc = VT_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno == 1) {
            if (strncmp(line, curve_header, sizeof curve_header - 1) != 0)
                rc = vt_fail(err, VT_EUSAGE, "%s: line 1: expected the header %s", path, curve_header);
            if (rc)
                break;
            continue;
        }
        int e, used = 0;
        long b;
        double l, a;
        if (sscanf(line, "%d,%ld,%lf,%lf%n", &e, &b, &l, &a, &used) != 4 || (line[used] != '\n' && line[used]) ||
            e < 1 || e > TRAIN_MAX_EPOCHS || b < 1 || (count && (e != *epoch || b <= batch[count - 1]))) {
            rc = vt_fail(err, VT_EUSAGE, "%s: line %d: expected epoch,batch,loss,acc with growing batches", path,
                         lineno);
            break;
        }
        if (count == max)
            break; /* more than asked for: keep the first max */
        *epoch = e;
        batch[count] = b;
        loss[count] = (float)l;
        acc[count] = (float)a;
        count++;
    }
    fclose(f);
    *n = rc ? 0 : count;
    return rc;
}
