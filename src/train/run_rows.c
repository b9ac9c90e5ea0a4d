/* train/run_rows: the rows files of a run directory (per_class.csv, layers.csv, curve.csv; see rows_kind):
 * an epoch's rows written in place of any the file held for that epoch or later, the file read back with
 * every field range-checked. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

/* A per-epoch file: header, the rows of earlier epochs kept (later ones, left by a run killed after writing
 * them, go, and so does a line that is not a row), then this epoch's rows; written atomically. */
int run_write_rows(const char *dir, const rows_kind *k, int epoch, const char *rows, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA], *old = NULL;
    int rc = run_read_optional(dir, k->name, path, sizeof path, &old, err);
    if (rc)
        return rc;
    void *row = malloc(k->row_size); /* an old line parsed, to keep it or not: any kind's row fits */
    vt_afile af;
    if (!row || (rc = vt_afile_open(&af, path, err))) {
        free(row);
        free(old);
        return rc ? rc : vt_fail(err, VT_EIO, "%s: out of memory", path);
    }
    fprintf(af.f, "%s\n", k->header);
    char *cursor = old, *line = old ? run_next_line(&cursor) : NULL; /* the old header */
    char why[128];
    while (line && (line = run_next_line(&cursor)))
        if (k->parse(line, row, why, sizeof why) && *(const int *)row < epoch)
            fprintf(af.f, "%s\n", line);
    fputs(rows, af.f);
    free(row);
    free(old);
    return vt_afile_commit(&af, err);
}

int run_read_rows(const char *dir, const rows_kind *k, void **rows, long *n, vt_err *err)
{
    *rows = NULL;
    *n = 0;
    char path[VT_PATH_MAX + VT_PATH_EXTRA], *text, *cursor, *line;
    int rc = run_read_optional(dir, k->name, path, sizeof path, &text, err);
    if (rc || !text)
        return rc;
    cursor = text;
    line = run_next_line(&cursor);
    if (!line || strcmp(line, k->header) != 0) {
        free(text);
        return vt_fail(err, VT_EUSAGE, "%s: line 1: expected the header \"%s\"", path, k->header);
    }
    /* At most a row a line, and at most per_epoch rows of each epoch: the lesser bounds the allocation. */
    long cap = 1, most = (long)k->per_epoch * TRAIN_MAX_EPOCHS;
    for (const char *p = cursor; *p; p++)
        cap += *p == '\n';
    cap = cap < most ? cap : most;
    char *out = malloc(k->row_size * (size_t)cap);
    int *per = calloc(TRAIN_MAX_EPOCHS + 1, sizeof *per);
    long count = 0;
    int lineno = 1;
    char why[160];
    while (!rc && out && per && (line = run_next_line(&cursor))) {
        lineno++;
        if (!*line)
            continue;
        char *row = out + (size_t)count * k->row_size;
        if (count == cap)
            rc = vt_fail(err, VT_EUSAGE, "%s: line %d: more than %ld rows", path, lineno, cap);
        else if (!k->parse(line, row, why, sizeof why))
            rc = vt_fail(err, VT_EUSAGE, "%s: line %d: %s", path, lineno, why);
        else if (++per[*(const int *)row] > k->per_epoch)
            rc = vt_fail(err, VT_EUSAGE, "%s: line %d: more than %d rows of epoch %d", path, lineno, k->per_epoch,
                         *(const int *)row);
        else
            count++;
    }
    if (!rc && (!out || !per))
        rc = vt_fail(err, VT_EIO, "%s: out of memory", path);
    free(per);
    free(text);
    if (rc) {
        free(out);
        return rc;
    }
    *rows = out;
    *n = count;
    return VT_OK;
}

int run_field_whole(const char **p, int last, const char *name, long lo, long hi, long *out, char *why,
                       size_t size)
{
    char *end;
    errno = 0;
    long v = strtol(*p, &end, 10);
    if (end == *p || errno || *end != (last ? '\0' : ',') || v < lo || v > hi)
        return snprintf(why, size, "%s is not a whole number in %ld..%ld", name, lo, hi), 0;
    *out = v;
    *p = end + !last;
    return 1;
}

int run_field_number(const char **p, int last, const char *name, double lo, double hi, int nan_ok, double *out,
                        char *why, size_t size)
{
    char *end;
    double v = strtod(*p, &end); /* underflow (a subnormal) is a number, not an error: errno is not asked */
    if (end == *p || *end != (last ? '\0' : ',') || (isnan(v) ? !nan_ok : !(v >= lo && v <= hi)))
        return snprintf(why, size, "%s is not a number in %g..%g%s", name, lo, hi, nan_ok ? " (or nan)" : ""), 0;
    *out = v;
    *p = end + !last;
    return 1;
}
