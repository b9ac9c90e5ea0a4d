/* train/run_layers: layers.csv, the health of each weighted layer after every epoch (weight and gradient
 * norms, update ratio, dead ReLUs, activations), and the vanishing-gradient verdict read from it. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

/* One layers.csv row: norms and ratios at least 0, a share of dead ReLUs in 0..1, NaN where there is none. */
static int parse_layer_row(const char *line, void *row, char *why, size_t size)
{
    run_layer_row r;
    const char *p = line;
    long epoch;
    if (!run_field_whole(&p, 0, "the epoch", 1, TRAIN_MAX_EPOCHS, &epoch, why, size))
        return 0;
    r.epoch = (int)epoch;
    size_t len = strcspn(p, ",");
    if (len == 0 || len >= sizeof r.layer || p[len] != ',')
        return snprintf(why, size, "the layer name is not 1 to %zu bytes", sizeof r.layer - 1), 0;
    memcpy(r.layer, p, len);
    r.layer[len] = '\0';
    char bad[96];
    if (vt_check_label(r.layer, bad, sizeof bad) != 0)
        return snprintf(why, size, "the layer name: %s", bad), 0;
    p += len + 1;
    const double big = DBL_MAX;
    if (!run_field_number(&p, 0, "weight_norm", 0, big, 1, &r.weight_norm, why, size) ||
        !run_field_number(&p, 0, "grad_norm", 0, big, 1, &r.grad_norm, why, size) ||
        !run_field_number(&p, 0, "update_ratio", 0, big, 1, &r.update_ratio, why, size) ||
        !run_field_number(&p, 0, "dead_relu", 0, 1, 1, &r.dead_relu, why, size) ||
        !run_field_number(&p, 0, "act_mean", -big, big, 1, &r.act_mean, why, size) ||
        !run_field_number(&p, 1, "act_std", 0, big, 1, &r.act_std, why, size))
        return 0;
    *(run_layer_row *)row = r;
    return 1;
}

static const rows_kind layer_rows = {RUN_LAYERS, LAYERS_HEADER, sizeof(run_layer_row), RUN_MAX_LAYERS,
                                     parse_layer_row};

int run_write_layers(const char *dir, int epoch, const run_layer_row *rows, int n, vt_err *err)
{
    vt_buf b = {0};
    for (int i = 0; i < n; i++)
        vt_buf_printf(&b, "%d,%s,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n", epoch, rows[i].layer, rows[i].weight_norm,
                      rows[i].grad_norm, rows[i].update_ratio, rows[i].dead_relu, rows[i].act_mean, rows[i].act_std);
    char *text = vt_buf_take(&b);
    if (!text)
        return vt_fail(err, VT_EIO, "%s/%s: out of memory", dir, RUN_LAYERS);
    int rc = run_write_rows(dir, &layer_rows, epoch, text, err);
    free(text);
    return rc;
}

int run_read_layers(const char *dir, run_layer_row **rows, long *n, vt_err *err)
{
    void *out;
    int rc = run_read_rows(dir, &layer_rows, &out, n, err);
    *rows = out;
    return rc;
}

int run_layer_vanishing(const run_layer_row *rows, long n, long i)
{
    double top = 0, first = NAN; /* the largest gradient of row i's epoch; the layer's in its first epoch */
    for (long k = 0; k < n; k++) {
        if (rows[k].epoch == rows[i].epoch && rows[k].grad_norm > top)
            top = rows[k].grad_norm;
        if (isnan(first) && strcmp(rows[k].layer, rows[i].layer) == 0)
            first = rows[k].grad_norm;
    }
    return rows[i].grad_norm < RUN_VANISHING * top || rows[i].grad_norm < RUN_VANISHING * first;
}

char *run_layers_advice(char *buf, size_t size, int flagged)
{
    snprintf(buf, size, "%d layer%s receive%s almost no gradient. Without batch normalisation a deep VGG often "
             "starts so: try fewer layers (vgg16 for vgg19, or cnn), the custom VGG (vgg16-nopool), --momentum 0.9, "
             "or another --lr.", flagged, flagged == 1 ? "" : "s", flagged == 1 ? "s" : "");
    return buf;
}
