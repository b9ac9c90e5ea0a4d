/* train/prepare: the start of a run on the engine's thread: the data set, the model and the buffers, on
 * --resume the checkpoint (rank 0 reads it, every rank takes it), config.json, and the snapshot of what was
 * loaded. In a data-parallel run every rank calls the same steps, so that a failure on one fails all. */
#include <stdlib.h>
#include <string.h>

#include "job.h"

/* Whether every rank got here without error: a failure on one (rank 0 refusing a checkpoint, a data set
 * missing on another host) fails all, and rank 0 alone says why (dist_agree). */
static int ranks_agree(job *j, int rc, vt_err *err)
{
    return j->d ? dist_agree(j->d, rc, err) : rc;
}

int job_share_weights(job *j, vt_err *err)
{
    size_t bytes = sizeof(float) * (size_t)model_param_count(j->m);
    /* Adam's and RMSprop's second moment and the step count (Adam's bias correction) as well: with only the
     * weights and velocity, the other ranks would step otherwise than rank 0 after a resume. */
    long long state[2] = {model_iterations(j->m), model_moment2(j->m) != NULL};
    int rc = dist_bcast(j->d, state, sizeof state, "the sharing of the weights", err);
    if (!rc && state[1])
        rc = model_need_moment2(j->m, err);
    /* Ranks on one host that keep one copy of the weights (dist_shm.h) already see rank 0's: the bcast above
     * came after rank 0 wrote them. */
    if (!rc && dist_shares_state(j->d, j->m)) {
        model_set_iterations(j->m, state[0]);
        return VT_OK;
    }
    if (rc || (rc = dist_bcast(j->d, model_params(j->m), bytes, "the sharing of the weights", err)) ||
        (rc = dist_bcast(j->d, model_velocity(j->m), bytes, "the sharing of the weights", err)))
        return rc;
    model_set_iterations(j->m, state[0]);
    return state[1] ? dist_bcast(j->d, model_moment2(j->m), bytes, "the sharing of the weights", err) : VT_OK;
}

/* Rank 0's position in the run (from its checkpoint) to the others, who check it as rank 0 did. */
static int share_position(job *j, vt_err *err)
{
    uint64_t len = j->blob_len;
    int rc = dist_bcast(j->d, &len, sizeof len, "the sharing of the checkpoint", err);
    if (rc)
        return rc;
    if (len > BLOB_MAX)
        return vt_fail(err, VT_EINTERNAL, "rank 0 sent a training state of %llu bytes", (unsigned long long)len);
    j->blob_len = (size_t)len;
    if ((rc = dist_bcast(j->d, j->blob, j->blob_len, "the sharing of the checkpoint", err)) ||
        (rc = job_share_weights(j, err)))
        return rc;
    return j->blob_taken ? VT_OK : job_take_blob(j, "rank 0's " RUN_CHECKPOINT, err);
}

/* config.json, with the ranks' hosts and threads in a data-parallel run. */
static int record_config(job *j, const char *created, vt_err *err)
{
    int n = j->d ? train_dist_size(j->d) : 0, rc = VT_OK;
    char (*hosts)[DIST_HOST_MAX] = n ? calloc((size_t)n, DIST_HOST_MAX) : NULL;
    int *threads = n ? calloc((size_t)n, sizeof(int)) : NULL;
    if (n && (!hosts || !threads))
        rc = vt_fail(err, VT_EIO, "out of memory for the ranks' host names");
    rc = ranks_agree(j, rc, err);
    if (!rc && n)
        rc = dist_ranks_describe(j->d, nn_get_threads(), hosts, threads, err);
    run_ranks ranks = {n, (const char (*)[DIST_HOST_MAX])hosts, threads};
    if (!rc)
        rc = j->rec->ops->config(j->rec, &j->cfg, j->ds, &j->mc, model_param_count(j->m), created,
                                 n ? &ranks : NULL, err);
    free(hosts);
    free(threads);
    return rc;
}

/* The model for the data set and its batch, on this rank alone. */
static int build_model(job *j, vt_err *err)
{
    const train_config *cfg = &j->cfg;
    const dataset *ds = j->ds;
    int rc;
    if ((rc = train_model_config(cfg, ds->height, ds->width, ds->channels, ds->classes, &j->mc, err)) ||
        (rc = model_create(&j->mc, &j->m, err)) ||
        (!cfg->resume && (rc = train_load_weights(cfg, j->m, err))) ||
        (rc = model_set_precision(j->m, (nn_precision)cfg->precision, err)) ||
        (rc = model_set_conv(j->m, cfg->conv[0] ? cfg->conv : nn_conv_default(), err)))
        return rc;
    return model_set_batch(j->m, j->step_batch, err);
}

/* The model for the data set, its convolutions as rank 0 resolved them. */
static int make_model(job *j, vt_err *err)
{
    train_config *cfg = &j->cfg;
    j->step_batch = (cfg->batch_size + train_dist_size(j->d) - 1) / train_dist_size(j->d);
    /* --weights may be missing on one host: every rank stops here, before the broadcast below. */
    int rc = ranks_agree(j, build_model(j, err), err);
    if (rc)
        return rc;
    /* The choice each layer resolved to: config.json records it, --resume sets it again (bit for bit), and
     * every rank takes rank 0's (a timed choice may differ between ranks, and so would their arithmetic). */
    char choice[sizeof cfg->conv], mine[sizeof cfg->conv];
    if (model_conv_choice(j->m, choice, sizeof choice) < (int)sizeof choice)
        snprintf(cfg->conv, sizeof cfg->conv, "%s", choice);
    memcpy(mine, cfg->conv, sizeof mine);
    if (!j->d || (rc = dist_bcast(j->d, cfg->conv, sizeof cfg->conv, "the start", err)))
        return rc;
    /* Rank 0's choice may be one this host's CPU cannot run: then every rank stops, and rank 0 says which. */
    rc = strcmp(mine, cfg->conv) != 0 && cfg->conv[0] ? model_set_conv(j->m, cfg->conv, err) : VT_OK;
    return ranks_agree(j, rc, err);
}

/* The data set, the model and the buffers. */
static int prepare_model(job *j, vt_err *err)
{
    train_config *cfg = &j->cfg;
    nn_set_threads(cfg->threads ? cfg->threads : j->d ? dist_threads_default(j->d) : 0);
    /* config.json keeps the validation folder absolute, as data.path, for evaluate and --resume from elsewhere. */
    if (cfg->val_data[0]) {
        char abs[VT_PATH_MAX];
        train_path_absolute(cfg->val_data, abs, sizeof abs);
        memcpy(cfg->val_data, abs, sizeof abs);
    }
    data_options opt;
    train_data_options(cfg, &opt);
    /* The data set may be missing (or unreadable) on one host: every rank stops here, before any training. */
    int rc = ranks_agree(j, data_open(&opt, &j->ds, err), err);
    if (rc)
        return rc;
    dataset *ds = j->ds;
    if (ds->n_train < 1 || ds->n_test < 1)
        return vt_fail(err, VT_EUSAGE, "%s: no training or no test images", ds->path);
    /* A resumed run goes on with the data set it was made with, or not at all; the notice says when a run
     * from before the check could not be checked. */
    char note[200];
    if (cfg->resume && (rc = train_data_check(cfg, ds, note, sizeof note, err)))
        return rc;
    if (cfg->resume && note[0]) {
        size_t len = strlen(ds->notice);
        snprintf(ds->notice + len, sizeof ds->notice - len, "%s%s", len ? " " : "", note);
    }
    if ((rc = make_model(j, err)))
        return rc;
    j->batches = (ds->n_train + cfg->batch_size - 1) / cfg->batch_size;
    size_t per = (size_t)ds->height * (size_t)ds->width * (size_t)ds->channels;
    j->order = malloc(sizeof(long) * (size_t)ds->n_train);
    j->x = malloc(sizeof(float) * per * (size_t)cfg->batch_size);
    j->y = malloc(sizeof(int) * (size_t)cfg->batch_size);
    j->probs = malloc(sizeof(float) * (size_t)ds->n_test * (size_t)ds->classes);
    if (!j->order || !j->x || !j->y || !j->probs)
        return vt_fail(err, VT_EIO, "out of memory for a batch of %d and %ld test predictions", cfg->batch_size,
                       ds->n_test);
    sgd_config_default(&j->sgd);
    j->lr = cfg->lr;
    j->sgd.lr = (float)cfg->lr;
    j->sgd.momentum = (float)cfg->momentum;
    j->sgd.nesterov = cfg->nesterov;
    j->sgd.weight_decay = (float)cfg->weight_decay;
    j->sgd.kind = (nn_optimizer)cfg->optimizer;
    j->sgd.beta1 = (float)cfg->beta1;
    j->sgd.beta2 = (float)cfg->beta2;
    j->sgd.rho = (float)cfg->rho;
    j->sgd.epsilon = (float)cfg->epsilon;
    train_preprocess(cfg, &j->pp);
    if (j->d)
        dist_set_precision(j->d, (dist_precision)cfg->allreduce_precision);
    return VT_OK;
}

/* --resume: the checkpoint (rank 0 reads it, for every rank: the position is in global batches, so any number
 * of ranks continues it), then the records may be written. Nothing is written to a run being resumed until
 * its checkpoint is known good: a refused resume (wrong --epochs, a damaged checkpoint) leaves it as it was. */
static int resume(job *j, char *created, size_t size, vt_err *err)
{
    int rc;
    if ((rc = ranks_agree(j, job_load_checkpoint(j, err), err)) ||
        (j->d && (rc = ranks_agree(j, share_position(j, err), err))))
        return rc;
    if ((rc = ranks_agree(j, j->rec->ops->resume(j->rec, created, size, err), err)))
        return rc;
    j->may_write = 1;
    j->cfg.resume_epoch = j->epochs_done; /* where changed settings start, for config.json */
    j->cfg.resume_batch = j->batch_pos;
    /* A run that early stopping ended stays ended, however it was stopped after that (killed after the
     * stopping epoch's checkpoint, or resumed when finished). */
    j->early_stopped = callbacks_replay(&j->cfg.cb, &j->cbs, j->history, j->epochs_done, j->cb_reason,
                                        sizeof j->cb_reason);
    return j->rec->ops->history(j->rec, j->history, j->epochs_done, err);
}

/* What was loaded (and restored), into the snapshot. */
static void publish_loaded(job *j)
{
    trainer *t = j->t;
    const dataset *ds = j->ds;
    pthread_mutex_lock(&t->mu);
    train_snapshot *s = &t->snap;
    snprintf(s->dataset, sizeof s->dataset, "%s", ds->name);
    snprintf(s->conv, sizeof s->conv, "%s", j->cfg.conv);
    snprintf(s->notice, sizeof s->notice, "%s", ds->notice);
    s->height = ds->height;
    s->width = ds->width;
    s->channels = ds->channels;
    s->classes = ds->classes;
    s->params = model_param_count(j->m);
    s->n_train = ds->n_train;
    s->n_test = ds->n_test;
    s->batches = j->batches;
    s->lr = j->lr;
    s->epochs_done = s->n_history = j->epochs_done;
    s->resumed_epochs = j->epochs_done;
    s->resumed_batch = j->batch_pos;
    s->epoch = j->epochs_done;
    memcpy(s->history, j->history, sizeof(train_epoch) * (size_t)j->epochs_done);
    s->command_ack = j->cmd_seen;
    /* elapsed goes on from where the earlier sessions left it: their epochs and the partial one. */
    j->elapsed_before = j->epoch_seconds;
    for (int e = 0; e < j->epochs_done; e++)
        j->elapsed_before += j->history[e].seconds;
    s->elapsed = job_elapsed(j);
    for (int e = 0; e < j->epochs_done; e++)
        if (e == 0 || j->history[e].val_acc > s->best_val_acc)
            s->best_val_acc = j->history[e].val_acc;
    if (j->epochs_done)
        s->last_val_acc = j->history[j->epochs_done - 1].val_acc;
    pthread_mutex_unlock(&t->mu);
}

int job_prepare(job *j, vt_err *err)
{
    int rc = ranks_agree(j, prepare_model(j, err), err);
    if (rc)
        return rc;
    callbacks_begin(&j->cfg.cb, &j->cbs);
    char created[32] = "";
    if ((j->cfg.resume && (rc = resume(j, created, sizeof created, err))) || (rc = record_config(j, created, err)))
        return rc;
    publish_loaded(j);
    return VT_OK;
}
