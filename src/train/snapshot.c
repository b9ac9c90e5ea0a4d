/* train/snapshot: the numbers of the snapshot that the engine derives rather than counts: the running means,
 * img/s, ms per step, the epoch's and the whole run's time left (the test-set passes included), and the
 * running curve with its thinning. Pure functions of the snapshot and the loop's clock: the engine calls them
 * under its mutex, and the unit tests call them alone. */
#include <math.h>

#include "train_internal.h"

void train_snapshot_epoch(train_snapshot *s, int e, int epochs, long first, long samples, double last_epoch_seconds)
{
    s->state = TRAIN_TRAINING;
    s->epoch = e + 1;
    s->batch = first;
    s->samples = samples;
    s->loss = s->acc = s->mse = s->top5 = NAN;
    s->img_per_s = s->ms_per_step = s->eta = 0;
    /* Until this epoch's first batch, the whole run's time left follows from the last epoch's length: the
     * header must not lose it for the first moments of every epoch. */
    s->eta_run = e > 0 ? (double)(epochs - e) * last_epoch_seconds : 0;
    s->n_curve = 0;
    s->curve_every = 1;
}

/* The point of batch (a count) on the curve, when the stride takes it. */
static void curve_add(train_snapshot *s, long batch)
{
    if (batch % s->curve_every != 0)
        return;
    if (s->n_curve == TRAIN_CURVE_MAX) {
        /* Full: keep every other point and halve the sampling rate. */
        for (int i = 0; i < TRAIN_CURVE_MAX / 2; i++) {
            s->curve_batch[i] = s->curve_batch[2 * i + 1];
            s->curve_loss[i] = s->curve_loss[2 * i + 1];
            s->curve_acc[i] = s->curve_acc[2 * i + 1];
        }
        s->n_curve = TRAIN_CURVE_MAX / 2;
        s->curve_every *= 2;
    }
    if (batch % s->curve_every == 0) {
        s->curve_batch[s->n_curve] = batch;
        s->curve_loss[s->n_curve] = (float)s->loss;
        s->curve_acc[s->n_curve] = (float)s->acc;
        s->n_curve++;
    }
}

double train_snapshot_batch(train_snapshot *s, const step_stats *sums, int top5_unknown, const train_clock *c)
{
    const double n = (double)sums->n, here = (double)c->done_here;
    s->batch = c->batch;
    s->samples = sums->n;
    s->loss = sums->loss_sum / n;
    s->acc = (double)sums->correct / n;
    s->mse = sums->mse_sum / n;
    s->top5 = top5_unknown ? NAN : (double)sums->correct5 / n;
    s->ms_per_step = 1000.0 * c->busy / here;
    s->img_per_s = c->busy > 0 ? (double)c->samples_here / c->busy : 0;
    s->eta = (double)(c->batches - c->batch) * c->busy / here;
    /* The test-set pass counts: the last one's time, or before the first a prediction at a third of a
     * training step per image (forward only). */
    double eval = c->eval_seconds > 0 ? c->eval_seconds : train_eval_seconds(c->busy, c->samples_here, c->n_test);
    double per_epoch = c->epoch > 0 ? c->last_epoch_seconds : (double)c->batches * c->busy / here + eval;
    s->eta_run = s->eta + eval + (double)(c->epochs - c->epoch - 1) * per_epoch;
    curve_add(s, c->batch);
    return per_epoch;
}

void train_snapshot_eval(train_snapshot *s, long done, long total, double spent, int later_epochs, double per_epoch)
{
    s->eval_batch = done;
    s->eval_batches = total;
    s->eval_eta = done > 0 ? spent * (double)(total - done) / (double)done : s->eval_eta;
    s->eta_run = s->eval_eta + (double)later_epochs * per_epoch;
}
