/* train/blob: the training state a checkpoint carries besides the weights (the blob of job.h): written with
 * every checkpoint, read back and checked against the run on --resume, so a resumed run continues at the
 * same batch with the same sums, rate and history. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "job.h"

/* Version 1: the header without correct5, history rows of 8 doubles (no top-5 columns). */
#define BLOB_V1_HEADER (sizeof(blob_header) - sizeof(int64_t))
#define BLOB_V1_ROW (8 * sizeof(double))

int job_save_checkpoint(job *j, const char *name, vt_err *err)
{
    unsigned char *buf = j->blob;
    blob_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, BLOB_MAGIC, 8);
    h.version = BLOB_VERSION;
    h.epochs_done = j->epochs_done;
    h.batch_pos = j->batch_pos;
    h.loss_sum = j->sums.loss_sum;
    h.mse_sum = j->sums.mse_sum;
    h.correct = j->sums.correct;
    h.correct5 = j->sums.correct5;
    h.n = j->sums.n;
    /* h.rng stays zero: augmentation no longer has a generator that runs on (see data_fill_batch) */
    h.lr = j->lr;
    h.epoch_seconds = j->epoch_seconds;
    h.seed = j->cfg.seed;
    h.batch_size = j->cfg.batch_size;
    h.n_train = j->ds->n_train;
    h.classes = j->ds->classes;
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, j->history, sizeof(train_epoch) * (size_t)j->epochs_done);
    return j->rec->ops->checkpoint(j->rec, name, j->m, buf, sizeof h + sizeof(train_epoch) * (size_t)j->epochs_done,
                                   err);
}

int train_blob_position(const void *blob, size_t len, int *epochs_done, long *batch_pos)
{
    blob_header h;
    size_t need = offsetof(blob_header, batch_pos) + sizeof h.batch_pos; /* the same in versions 1 and 2 */
    if (len < need)
        return -1;
    memcpy(&h, blob, need);
    if (memcmp(h.magic, BLOB_MAGIC, 8) != 0 || (h.version != BLOB_VERSION && h.version != 1) || h.epochs_done < 0 ||
        h.epochs_done > TRAIN_MAX_EPOCHS || h.batch_pos < 0)
        return -1;
    *epochs_done = (int)h.epochs_done;
    *batch_pos = (long)h.batch_pos;
    return 0;
}

int job_load_checkpoint(job *j, vt_err *err)
{
    int rc = j->rec->ops->restore(j->rec, RUN_CHECKPOINT, j->m, j->blob, BLOB_MAX, &j->blob_len, err);
    if (rc || !j->blob_len)
        return rc;
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    if ((rc = run_path(path, sizeof path, j->cfg.run_dir, RUN_CHECKPOINT, err)))
        return rc;
    j->blob_taken = 1;
    return job_take_blob(j, path, err);
}

/* The header and the history rows of a blob, in this version's layout (a version 1 row has no top-5: NaN). */
static int read_blob(job *j, const char *path, blob_header *h, vt_err *err)
{
    const unsigned char *buf = j->blob;
    size_t len = j->blob_len;
    memset(h, 0, sizeof *h);
    if (len < 16)
        return vt_fail(err, VT_EUSAGE, "%s: no training state in it (not written by vggtop train?)", path);
    memcpy(h, buf, 16);
    if (memcmp(h->magic, BLOB_MAGIC, 8) != 0)
        return vt_fail(err, VT_EUSAGE, "%s: its training state is not vggtop's", path);
    if (h->version != BLOB_VERSION && h->version != 1)
        return vt_fail(err, VT_EUSAGE, "%s: training state version %lld, this vggtop reads 1 and %d", path,
                       (long long)h->version, BLOB_VERSION);
    size_t hsize = h->version == 1 ? BLOB_V1_HEADER : sizeof *h;
    size_t rsize = h->version == 1 ? BLOB_V1_ROW : sizeof(train_epoch);
    if (len < hsize)
        return vt_fail(err, VT_EUSAGE, "%s: training state has a bad length", path);
    memcpy(h, buf, hsize);
    if (h->epochs_done < 0 || h->epochs_done > TRAIN_MAX_EPOCHS || len != hsize + rsize * (size_t)h->epochs_done)
        return vt_fail(err, VT_EUSAGE, "%s: training state has a bad length", path);
    for (int64_t e = 0; e < h->epochs_done; e++) {
        train_epoch row;
        row.top5 = row.val_top5 = NAN;
        memcpy(&row, buf + hsize + rsize * (size_t)e, rsize);
        j->history[e] = row;
    }
    return VT_OK;
}

/* A rate the run may be at: the --lr setting's range, or 0 where the run's schedule ends there (cosine down to
 * --min-lr 0), as the flags would have it. */
static int rate_in_range(const train_config *cfg, double lr)
{
    if (lr == 0)
        return cfg->cb.schedule == TRAIN_SCHEDULE_COSINE && cfg->cb.sched_min_lr == 0;
    return train_field_in_range(train_field_find("lr"), lr);
}

/* An epoch's row as an epoch makes it: fractions in [0, 1] (top-5 NaN when unmeasured), losses and errors not
 * negative, a rate the run may be at, a time. */
static int row_in_range(const train_config *cfg, const train_epoch *r)
{
    const double frac[] = {r->acc, r->val_acc};
    const double pos[] = {r->loss, r->val_loss, r->mse, r->val_mse};
    for (size_t k = 0; k < 2; k++)
        if (!(frac[k] >= 0 && frac[k] <= 1))
            return 0;
    for (size_t k = 0; k < 4; k++)
        if (!(pos[k] >= 0 && isfinite(pos[k])))
            return 0;
    if (!(isnan(r->top5) || (r->top5 >= 0 && r->top5 <= 1)) || !(isnan(r->val_top5) || (r->val_top5 >= 0 &&
                                                                                         r->val_top5 <= 1)))
        return 0;
    return rate_in_range(cfg, r->lr) && r->seconds >= 0 && r->seconds < 1e12;
}

/* Whether the blob's numbers belong to this run and are in range. */
static int check_blob(const job *j, const char *path, const blob_header *h, vt_err *err)
{
    /* Another batch size (--allow-batch-change) only from the start of an epoch: a position inside one counts
     * batches of the old size. */
    int new_batch = h->batch_size != j->cfg.batch_size && j->cfg.allow_batch_change;
    if (new_batch && h->batch_pos != 0)
        return vt_fail(err, VT_EUSAGE, "--batch-size: the run stopped inside epoch %lld, after %lld steps of %lld; "
                       "another batch size can start only with an epoch (resume it to the epoch's end first)",
                       (long long)h->epochs_done + 1, (long long)h->batch_pos, (long long)h->batch_size);
    if (h->seed != j->cfg.seed || (h->batch_size != j->cfg.batch_size && !new_batch) || h->n_train != j->ds->n_train ||
        h->classes != j->ds->classes)
        return vt_fail(err, VT_EUSAGE, "%s: made with seed %llu, batch size %lld, %lld training images, %lld classes; "
                       "the run now has %llu, %d, %ld, %d (same data and settings are needed to resume)",
                       path, (unsigned long long)h->seed, (long long)h->batch_size, (long long)h->n_train,
                       (long long)h->classes, (unsigned long long)j->cfg.seed, j->cfg.batch_size, j->ds->n_train,
                       j->ds->classes);
    /* batch_pos == batches: the epoch trained, stopped during its evaluation (resuming evaluates it). */
    if (h->batch_pos < 0 || h->batch_pos > j->batches || h->n < 0 || h->n > (int64_t)j->ds->n_train ||
        h->correct < 0 || h->correct > h->n || h->correct5 < 0 || h->correct5 > h->n || !isfinite(h->loss_sum) ||
        h->loss_sum < 0 || !isfinite(h->mse_sum) || h->mse_sum < 0 ||
        !(h->epoch_seconds >= 0 && h->epoch_seconds < 1e12))
        return vt_fail(err, VT_EUSAGE, "%s: training state out of range (position, sums or time)", path);
    /* The rate now, not the one set: checked as --lr is, 0 only where the run's cosine schedule ends. */
    if (!rate_in_range(&j->cfg, h->lr)) {
        char what[256];
        train_field_describe(train_field_find("lr"), what, sizeof what);
        return vt_fail(err, VT_EUSAGE, "%s: its learning rate %g is not %s%s", path, h->lr, what,
                       h->lr == 0 ? " (0 only where a cosine schedule ends)" : "");
    }
    for (int64_t e = 0; e < h->epochs_done; e++)
        if (!row_in_range(&j->cfg, &j->history[e]))
            return vt_fail(err, VT_EUSAGE, "%s: the history of epoch %lld holds a value out of range (a fraction "
                           "outside 0..1, a negative or infinite loss, a rate --lr would refuse)", path,
                           (long long)e + 1);
    if (h->epochs_done > j->cfg.epochs)
        return vt_fail(err, VT_EUSAGE, "--epochs: %d, but the run has already done %lld (to train further, give "
                       "more: --epochs %lld or more)", j->cfg.epochs, (long long)h->epochs_done,
                       (long long)h->epochs_done + 1); /* "at least that many" trained nothing when given */
    return VT_OK;
}

int job_take_blob(job *j, const char *path, vt_err *err)
{
    blob_header h;
    int rc = read_blob(j, path, &h, err);
    if (rc || (rc = check_blob(j, path, &h, err)))
        return rc;
    j->epochs_done = (int)h.epochs_done;
    j->batch_pos = (long)h.batch_pos;
    j->sums = (step_stats){
        .loss_sum = h.loss_sum, .mse_sum = h.mse_sum, .correct = h.correct, .correct5 = h.correct5, .n = h.n};
    j->top5_unknown = h.version == 1 && h.n > 0; /* a version 1 partial epoch never counted its top-5 hits */
    j->lr = j->cfg.resume_lr ? j->cfg.lr : h.lr; /* --resume --lr: the rate given from now on */
    j->sgd.lr = (float)j->lr;
    j->epoch_seconds = h.epoch_seconds;
    return VT_OK;
}
