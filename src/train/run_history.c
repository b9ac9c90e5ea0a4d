/* train/run_history: history.csv, one row an epoch as Keras' CSVLogger writes it (runs made before top-5
 * accuracy have the first nine columns only), written whole and read back with every number checked. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

/* The columns of history.csv; runs made before top-5 accuracy have the first nine only. */
#define HISTORY_V1 "epoch,loss,acc,mse,val_loss,val_acc,val_mse,lr,seconds"
static const char history_header[] = HISTORY_V1 ",top_k_categorical_accuracy,val_top_k_categorical_accuracy";

void run_history_csv(FILE *f, const train_epoch *rows, int n)
{
    int top5 = 0; /* the top-5 columns, unless no row has them (a run from before them stays as it was) */
    for (int i = 0; i < n; i++)
        top5 |= !isnan(rows[i].top5) || !isnan(rows[i].val_top5);
    fprintf(f, "%s\n", top5 || n == 0 ? history_header : HISTORY_V1);
    for (int i = 0; i < n; i++) {
        const train_epoch *r = &rows[i];
        fprintf(f, "%d,%.8f,%.8f,%.8f,%.8f,%.8f,%.8f,%.8g,%.3f", i + 1, r->loss, r->acc, r->mse, r->val_loss,
                r->val_acc, r->val_mse, r->lr, r->seconds);
        if (top5)
            fprintf(f, ",%.8f,%.8f", r->top5, r->val_top5);
        fputc('\n', f);
    }
}

int run_write_history(const char *dir, const train_epoch *rows, int n, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    int rc = run_path(path, sizeof path, dir, RUN_HISTORY, err);
    vt_afile af;
    if (rc || (rc = vt_afile_open(&af, path, err)))
        return rc;
    run_history_csv(af.f, rows, n);
    return vt_afile_commit(&af, err);
}

int run_read_history(const char *dir, run_data *run, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA], *text;
    int rc = run_read_optional(dir, RUN_HISTORY, path, sizeof path, &text, err);
    if (rc || !text)
        return rc;
    char *cursor = text, *line = run_next_line(&cursor);
    int cols = line && strcmp(line, history_header) == 0 ? 11 : line && strcmp(line, HISTORY_V1) == 0 ? 9 : 0;
    if (!cols) {
        free(text);
        return vt_fail(err, VT_EUSAGE, "%s: line 1: expected the header \"%s\"", path, history_header);
    }
    int cap = 16, n = 0, lineno = 1;
    train_epoch *rows = malloc(sizeof *rows * (size_t)cap);
    while (!rc && rows && (line = run_next_line(&cursor))) {
        lineno++;
        if (!*line)
            continue;
        double v[11] = {0, 0, 0, 0, 0, 0, 0, 0, 0, NAN, NAN};
        char *p = line, *end;
        int k = 0;
        for (; k < cols; k++) {
            errno = 0;
            v[k] = strtod(p, &end);
            if (end == p || errno)
                break;
            p = end;
            if (k < cols - 1 && *p++ != ',')
                break;
        }
        if (k < cols || *p) {
            rc = vt_fail(err, VT_EUSAGE, "%s: line %d: expected %d comma-separated numbers", path, lineno, cols);
            break;
        }
        if (v[0] != n + 1) {
            rc = vt_fail(err, VT_EUSAGE, "%s: line %d: epoch %g out of sequence (expected %d)", path, lineno, v[0], n + 1);
            break;
        }
        if (n == TRAIN_MAX_EPOCHS) {
            rc = vt_fail(err, VT_EUSAGE, "%s: more than %d epochs", path, TRAIN_MAX_EPOCHS);
            break;
        }
        if (n == cap) {
            train_epoch *bigger = realloc(rows, sizeof *rows * (size_t)(cap *= 2));
            if (!bigger) {
                free(rows);
                rows = NULL;
                break;
            }
            rows = bigger;
        }
        rows[n++] = (train_epoch){v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]};
    }
    free(text);
    if (!rows)
        return vt_fail(err, VT_EIO, "%s: out of memory", path);
    if (rc) {
        free(rows);
        return rc;
    }
    run->history = rows;
    run->n_history = n;
    run->parts |= RUN_PART_HISTORY;
    return VT_OK;
}
