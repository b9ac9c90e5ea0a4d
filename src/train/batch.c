/* train/batch: one batch of the epoch loop (this rank's slice filled, the step, the ranks' check) and the
 * layer health measured beside it for layers.csv. */
#include <math.h>
#include <string.h>

#include "job.h"

/* Measures the layers on the batch in j->x (gradients of the mean loss, the ReLU outputs) and adds it to the
 * epoch's sums. Changes nothing the step after it computes. model_grad_norms, not model_loss_grad: the whole
 * gradient block (136 MB for vgg16), which the fused plain-SGD step never touches, would stay resident. */
static void sample_layers(job *j, int n)
{
    vt_err ignored;
    if (model_grad_norms(j->m, j->x, j->y, n, &ignored) != VT_OK)
        return; /* a non-finite loss: the step itself says so */
    int k = model_layer_stats(j->m, n, j->layer_now, RUN_MAX_LAYERS);
    j->n_layers = k < RUN_MAX_LAYERS ? k : RUN_MAX_LAYERS;
    for (int i = 0; i < j->n_layers; i++) {
        const layer_stats *s = &j->layer_now[i];
        const double v[4] = {s->g_norm, s->dead, s->act_mean, s->act_std};
        for (int q = 0; q < 4; q++)
            j->layer_sum[i][q] += v[q];
    }
    j->layer_samples++;
}

int job_record_layers(job *j, int epoch, vt_err *err)
{
    if (!j->layer_samples)
        return VT_OK;
    layer_stats end[RUN_MAX_LAYERS];
    int k = model_layer_stats(j->m, 0, end, RUN_MAX_LAYERS);
    run_layer_row rows[RUN_MAX_LAYERS];
    for (int i = 0; i < j->n_layers && i < k; i++) {
        double d = j->layer_samples;
        rows[i] = (run_layer_row){epoch, "", end[i].w_norm, j->layer_sum[i][0] / d, 0, j->layer_sum[i][1] / d,
                                  j->layer_sum[i][2] / d, j->layer_sum[i][3] / d};
        memcpy(rows[i].layer, end[i].name, sizeof rows[i].layer); /* both 40 bytes, NUL-terminated */
        rows[i].layer[sizeof rows[i].layer - 1] = '\0';
        rows[i].update_ratio = end[i].w_norm > 0 ? j->lr * rows[i].grad_norm / end[i].w_norm : NAN;
    }
    int rc = j->rec->ops->layers(j->rec, epoch, rows, j->n_layers < k ? j->n_layers : k, err);
    j->layer_samples = 0;
    memset(j->layer_sum, 0, sizeof j->layer_sum);
    return rc;
}

int job_batch(job *j, int e, long b, long first, double *busy, double *paused, vt_err *err)
{
    const dataset *ds = j->ds;
    const int bs = j->cfg.batch_size;
    long start = b * bs;
    int n = (int)(ds->n_train - start < bs ? ds->n_train - start : bs);
    long lo = 0, hi = n; /* this rank's slice of the batch (all of it when training alone) */
    if (j->d)
        dist_slice(n, train_dist_size(j->d), train_dist_rank(j->d), &lo, &hi);
    double t0 = vt_now(); /* batch assembly counts: img/s is what the user gets */
    if (hi > lo)
        data_fill_batch(ds, DATA_TRAIN, j->order + start + lo, (int)(hi - lo), &j->pp, j->x, j->y);
    *busy += vt_now() - t0;
    /* Outside the timed part, so rates stay the training's own; only where layers.csv is kept. */
    if (j->rec->keeps && hi > lo && (b - first) % LAYER_SAMPLE_EVERY == 0)
        sample_layers(j, (int)(hi - lo));
    t0 = vt_now();
    int rc = j->d ? dist_train_step(j->d, j->m, j->x, j->y, (int)(hi - lo), n, &j->sgd, &j->sums, err)
                  : model_train_step(j->m, j->x, j->y, n, &j->sgd, &j->sums, err);
    long step = (long)e * j->batches + b + 1;
    if (!rc && j->d && step % DIST_CHECK_EVERY == 0)
        rc = dist_check_weights(j->d, model_params(j->m), (size_t)model_param_count(j->m), step, err);
    *busy += vt_now() - t0;
    /* A Ctrl-Z during a step (reported once the process runs again) is no step time. */
    double stopped = job_take_suspended(j);
    *busy = *busy > stopped ? *busy - stopped : 0;
    *paused += stopped;
    if (!rc && !isfinite(j->sums.loss_sum))
        rc = vt_fail(err, VT_EUSAGE, "the loss is not finite (%g): lower the learning rate (--lr)", j->sums.loss_sum);
    if (rc && (j->sums.nonfinite || !isfinite(j->sums.loss_sum)))
        job_mark_diverged(j, e);
    if (rc) {
        char why[512];
        snprintf(why, sizeof why, "%s", err->msg);
        vt_fail(err, rc, "epoch %d, batch %ld (lr %g): %s; the run stopped, its last good checkpoint is kept", e + 1,
                b + 1, j->lr, why);
    }
    return rc;
}
