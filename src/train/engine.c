/* train/engine: the training thread, its epoch loop and its commands. The thread prepares the run
 * (prepare.c), trains the epochs batch by batch (batch.c), ends each with its evaluation (epoch_end.c), and
 * keeps the run's records through its recorder (recorder.c). The outside world sees it only through a
 * snapshot copied under a mutex, a wake-up pipe, and four commands (pause, resume, stop, learning rate) read
 * between batches. The thread never exits the process. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

/* ---- publishing ---------------------------------------------------------------------------------------- */

void job_wake_locked(trainer *t, int force)
{
    double now = vt_now();
    if (t->wake_pending || (!force && now - t->last_wake < 0.05))
        return;
    if (vt_wake_signal(t->wake)) {
        t->wake_pending = 1;
        t->last_wake = now;
    }
}

void job_set_state(trainer *t, train_state state, const char *message)
{
    pthread_mutex_lock(&t->mu);
    t->snap.state = state;
    if (message)
        snprintf(t->snap.message, sizeof t->snap.message, "%s", message);
    job_wake_locked(t, 1);
    pthread_mutex_unlock(&t->mu);
}

int job_write_progress(job *j, int force, vt_err *err)
{
    if (!j->may_write)
        return VT_OK;
    int rc = j->rec->ops->check(j->rec, err);
    if (rc)
        return rc;
    double now = vt_now();
    if (!force && now - j->last_progress < 0.5)
        return VT_OK;
    j->last_progress = now;
    trainer *t = j->t;
    pthread_mutex_lock(&t->mu);
    j->progress_copy = t->snap; /* the engine's own copy: the file is written without the lock */
    pthread_mutex_unlock(&t->mu);
    vt_err failed;
    if (j->rec->ops->progress(j->rec, &j->progress_copy, &failed) != VT_OK) {
        pthread_mutex_lock(&t->mu);
        snprintf(t->snap.message, sizeof t->snap.message, "%s", failed.msg);
        pthread_mutex_unlock(&t->mu);
    }
    return VT_OK;
}

double job_take_suspended(job *j)
{
    pthread_mutex_lock(&j->t->mu);
    double d = j->t->suspended - j->suspended_seen;
    j->suspended_seen = j->t->suspended;
    pthread_mutex_unlock(&j->t->mu);
    j->paused_total += d;
    return d;
}

double job_elapsed(const job *j) { return j->elapsed_before + vt_now() - j->run_start - j->paused_total; }

/* ---- commands ------------------------------------------------------------------------------------------ */

/* A new learning rate, from the next batch on (also taken while paused, so the rate shows at once). mu held. */
static void take_lr_locked(job *j)
{
    trainer *t = j->t;
    if (t->want_lr > 0) {
        j->lr = t->want_lr;
        j->sgd.lr = (float)j->lr;
        t->snap.lr = j->lr;
        t->want_lr = 0;
        snprintf(t->snap.message, sizeof t->snap.message, "learning rate set to %g", j->lr);
        job_wake_locked(t, 1);
    }
}

/* Takes a command another process left in commands.json (vggtop ctl, vggtop watch), through the same calls
 * the front end of this process uses; the caller writes progress.json at once, so the sender sees the
 * acknowledgement. mu not held. */
int job_take_command_file(job *j)
{
    double now = vt_now();
    if (now < j->cmd_next)
        return 0;
    j->cmd_next = now + 0.2;
    run_command c;
    vt_err err;
    if (j->rec->ops->command(j->rec, &c, &err) != VT_OK || c.seq == 0 || c.seq == j->cmd_seen)
        return 0;
    j->cmd_seen = c.seq;
    trainer *t = j->t;
    switch (c.kind) {
    case RUN_CMD_PAUSE: trainer_pause(t); break;
    case RUN_CMD_RESUME: trainer_resume(t); break;
    case RUN_CMD_STOP: trainer_stop(t); break;
    case RUN_CMD_LR: trainer_set_lr(t, c.lr, &err); break; /* checked by run_command_read */
    default: break;
    }
    pthread_mutex_lock(&t->mu);
    take_lr_locked(j); /* a new rate is in force by the time the acknowledgement says the command was taken */
    t->snap.command_ack = c.seq;
    job_wake_locked(t, 1);
    pthread_mutex_unlock(&t->mu);
    return 1;
}

/* Whether to pause and to stop, and the rate, as this process's commands have them or, in a data-parallel
 * run, as the ranks agree: rank 0's pause and rate, a stop asked of any rank (SIGTERM may reach only one).
 * Every rank calls it at the same batch boundaries. */
static int sync_commands(job *j, int *pause, int *stop, vt_err *err)
{
    trainer *t = j->t;
    pthread_mutex_lock(&t->mu);
    take_lr_locked(j);
    *stop = t->want_stop;
    *pause = t->want_pause && !t->want_stop;
    pthread_mutex_unlock(&t->mu);
    if (!j->d)
        return VT_OK;
    const int rank0 = train_dist_rank(j->d) == 0;
    double v[3] = {*stop, *pause, rank0 ? j->lr : 0};
    int rc = dist_allreduce(j->d, v, 3, 1, "the exchange of commands", err);
    if (rc)
        return rc;
    *stop = v[0] > 0;
    *pause = v[1] > 0 && !*stop;
    if (!rank0 && v[2] != j->lr) {
        j->lr = v[2];
        j->sgd.lr = (float)v[2];
        pthread_mutex_lock(&t->mu);
        t->snap.lr = v[2];
        pthread_mutex_unlock(&t->mu);
    }
    return VT_OK;
}

/* Commands from the file, then as the ranks agree. */
static int poll_commands(job *j, int *pause, int *stop, vt_err *err)
{
    vt_err ignored;
    if (job_take_command_file(j))
        job_write_progress(j, 1, &ignored);
    return sync_commands(j, pause, stop, err);
}

/* Waits while paused: woken by this process's commands at once, and every 0.3 s to look at commands.json
 * (and, with ranks, to tell them the run is still paused). */
static int wait_paused(job *j, int *stop, vt_err *err)
{
    trainer *t = j->t;
    int pause = 1;
    while (pause) {
        pthread_mutex_lock(&t->mu);
        if (t->want_pause && !t->want_stop) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 300000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&t->cond, &t->mu, &until);
        }
        pthread_mutex_unlock(&t->mu);
        if (poll_commands(j, &pause, stop, err))
            return -1;
    }
    return 0;
}

/* Takes the commands between two batches. Returns 1 when a stop was asked, -1 with err when the ranks lost
 * each other. Blocks while paused (every rank, while rank 0 is). */
static int take_commands(job *j, double *paused_for, vt_err *err)
{
    trainer *t = j->t;
    int pause, stop;
    if (poll_commands(j, &pause, &stop, err))
        return -1;
    if (!pause)
        return stop;
    pthread_mutex_lock(&t->mu);
    train_state before = t->snap.state;
    double since = vt_now();
    t->snap.state = TRAIN_PAUSED;
    snprintf(t->snap.message, sizeof t->snap.message, "paused");
    job_wake_locked(t, 1);
    pthread_mutex_unlock(&t->mu);
    vt_err ignored;
    job_write_progress(j, 1, &ignored);
    if (wait_paused(j, &stop, err))
        return -1;
    pthread_mutex_lock(&t->mu);
    t->snap.state = before;
    snprintf(t->snap.message, sizeof t->snap.message, "%s", stop ? "" : "resumed");
    *paused_for += vt_now() - since;
    j->paused_total += vt_now() - since;
    job_wake_locked(t, 1);
    pthread_mutex_unlock(&t->mu);
    return stop;
}

static int stop_probe(void *arg)
{
    trainer *t = arg;
    pthread_mutex_lock(&t->mu);
    int stop = t->want_stop;
    pthread_mutex_unlock(&t->mu);
    return stop;
}

/* ---- the epoch loop -------------------------------------------------------------------------------------- */

/* Epoch e's start (at j->batch_pos, 0 unless resumed inside it): its rate, order and augmentation, the
 * snapshot and progress.json. */
static void begin_epoch(job *j, int e)
{
    trainer *t = j->t;
    const train_config *cfg = &j->cfg;
    if (j->batch_pos == 0) {
        j->sums = (step_stats){0};
        j->epoch_seconds = 0;
        if (cfg->cb.schedule) { /* Keras' LearningRateScheduler, at the epoch's beginning */
            j->lr = callbacks_epoch_lr(&cfg->cb, cfg->lr, j->lr, e, cfg->epochs);
            j->sgd.lr = (float)j->lr;
        }
    }
    data_shuffle(j->order, j->ds->n_train, cfg->seed, e);
    /* Like the order, the augmentation follows from the seed and the epoch alone (and each image's index):
     * nothing of it needs to be in the checkpoint. */
    j->pp.aug_stream = vt_seed_mix(vt_seed_mix(cfg->seed, 0xa06), (uint64_t)e);
    pthread_mutex_lock(&t->mu);
    train_snapshot_epoch(&t->snap, e, cfg->epochs, j->batch_pos, j->sums.n, e > 0 ? j->history[e - 1].seconds : 0);
    snprintf(t->snap.message, sizeof t->snap.message, "epoch %d/%d", e + 1, cfg->epochs);
    job_wake_locked(t, 1);
    pthread_mutex_unlock(&t->mu);
    /* Each epoch's start is written at once: with epochs shorter than the 0.5 s between writes, progress.json
     * would otherwise keep saying "evaluating" for the whole run. */
    vt_err ignored;
    job_write_progress(j, 1, &ignored);
}

/* Where an epoch is, for the snapshot's rates and ETAs. */
typedef struct epoch_run {
    int e;
    long first;         /* the session's first batch of it */
    long n0;            /* samples of it done before this session (a resumed epoch) */
    double start;       /* when this session began it */
    double busy;        /* time in batches (assembly and step) this session: rates and the ETA */
    double paused;      /* time paused or stopped (Ctrl-Z) since start */
} epoch_run;

/* Batch b done: the snapshot, then progress.json. Fails only when the run directory was lost. */
static int publish_batch(job *j, const epoch_run *er, long b, vt_err *err)
{
    trainer *t = j->t;
    const int e = er->e;
    const train_clock c = {e, j->cfg.epochs, b + 1, j->batches, b + 1 - er->first, j->sums.n - er->n0, er->busy,
                           j->eval_seconds, e > 0 ? j->history[e - 1].seconds : 0, j->ds->n_test};
    pthread_mutex_lock(&t->mu);
    train_snapshot *s = &t->snap;
    j->per_epoch = train_snapshot_batch(s, &j->sums, j->top5_unknown, &c);
    if (j->d) {
        dist_timing tm = dist_get_timing(j->d);
        s->allreduce_wait = tm.step_seconds > 0 ? tm.wait_seconds / tm.step_seconds : NAN;
        s->dist_step_ms = tm.steps > 0 ? 1e3 * tm.step_seconds / (double)tm.steps : NAN;
        s->dist_shared = tm.shared;
    }
    s->elapsed = job_elapsed(j);
    s->epoch_elapsed = j->epoch_seconds + vt_now() - er->start - er->paused;
    job_wake_locked(t, b + 1 == j->batches);
    pthread_mutex_unlock(&t->mu);
    return job_write_progress(j, 0, err);
}

/* The epoch's batches from er->first on. TRAIN_TRAINING when they all ran, else how the run ends. */
static train_state train_batches(job *j, epoch_run *er, vt_err *err)
{
    for (long b = er->first; b < j->batches; b++) {
        int cmd = take_commands(j, &er->paused, err);
        if (cmd < 0)
            return TRAIN_FAILED;
        if (cmd) {
            /* Stop mid-epoch: the checkpoint records the position, so --resume continues from here. */
            j->batch_pos = b;
            j->epoch_seconds += vt_now() - er->start - er->paused;
            return job_save_checkpoint(j, RUN_CHECKPOINT, err) ? TRAIN_FAILED : TRAIN_STOPPED;
        }
        if (job_batch(j, er->e, b, er->first, &er->busy, &er->paused, err) || publish_batch(j, er, b, err))
            return TRAIN_FAILED;
    }
    return TRAIN_TRAINING;
}

/* The end of epoch e: its evaluation, then whether the run goes on (TRAIN_TRAINING) or how it ends. */
static train_state end_epoch(job *j, const epoch_run *er, vt_err *err)
{
    j->epoch_seconds -= er->paused;
    int stopped = 0;
    if (job_finish_epoch(j, er->e, er->start, &stopped, err))
        return TRAIN_FAILED;
    if (stopped) {
        j->batch_pos = j->batches;
        j->epoch_seconds += vt_now() - er->start; /* paused already taken off above */
        return job_save_checkpoint(j, RUN_CHECKPOINT, err) ? TRAIN_FAILED : TRAIN_STOPPED;
    }
    if (j->early_stopped)
        return TRAIN_FINISHED; /* a normal end, with its reason in the message */
    int pause, stop;
    if (sync_commands(j, &pause, &stop, err))
        return TRAIN_FAILED;
    return stop && er->e + 1 < j->cfg.epochs ? TRAIN_STOPPED : TRAIN_TRAINING;
}

/* Runs the epochs. Returns the final state; err filled when FAILED. */
static train_state job_train(job *j, vt_err *err)
{
    if (j->early_stopped) /* a resumed run that early stopping had ended */
        return TRAIN_FINISHED;
    for (int e = j->epochs_done; e < j->cfg.epochs; e++) {
        epoch_run er = {.e = e, .first = j->batch_pos, .start = vt_now()};
        begin_epoch(j, e);
        er.n0 = j->sums.n;
        train_state s = train_batches(j, &er, err);
        if (s == TRAIN_TRAINING)
            s = end_epoch(j, &er, err);
        if (s != TRAIN_TRAINING)
            return s;
    }
    return TRAIN_FINISHED;
}

/* ---- the thread ---------------------------------------------------------------------------------------- */

/* The final message and state into the snapshot. */
static void publish_end(job *j, train_state final, const vt_err *err)
{
    trainer *t = j->t;
    char *msg = t->snap.message;
    const size_t size = sizeof t->snap.message;
    const int n = j->epochs_done;
    const char *es = n == 1 ? "" : "s";
    char dir[sizeof j->cfg.run_dir]; /* the command works from any folder */
    train_path_absolute(j->cfg.run_dir, dir, sizeof dir);
    pthread_mutex_lock(&t->mu);
    if (final == TRAIN_FAILED) {
        t->error = *err;
        snprintf(msg, size, "%s", err->msg);
    } else if (final == TRAIN_STOPPED)
        snprintf(msg, size, "stopped after %d epoch%s and %ld step%s; continue with vggtop train --resume %.400s", n,
                 es, j->batch_pos, j->batch_pos == 1 ? "" : "s", dir);
    else if (j->early_stopped)
        snprintf(msg, size, "finished after %d epoch%s: %s", n, es, j->cb_reason);
    else if (j->cfg.resume && t->snap.resumed_epochs == n)
        snprintf(msg, size, "the run had already done its %d epoch%s (give --epochs with --resume to train further)",
                 n, es);
    else
        snprintf(msg, size, "finished %d epoch%s", n, es);
    t->snap.state = final;
    t->snap.elapsed = job_elapsed(j);
    t->snap.eta = t->snap.eta_run = t->snap.eval_eta = 0;
    t->final_state = final;
    pthread_mutex_unlock(&t->mu);
}

/* The run's end: the last progress.json, the ranks' farewell, a failed new run's directory removed. */
static void end_run(job *j, train_state final, vt_err *err)
{
    trainer *t = j->t;
    if (final == TRAIN_FAILED && j->d && dist_broken(j->d) && train_dist_rank(j->d) == 0) {
        char why[sizeof err->msg], dir[sizeof j->cfg.run_dir];
        snprintf(why, sizeof why, "%s", err->msg);
        train_path_absolute(j->cfg.run_dir, dir, sizeof dir);
        vt_fail(err, err->code, "%s; continue from the last checkpoint with vggtop train --resume %.1000s", why, dir);
    }
    publish_end(j, final, err);
    vt_err ignored;
    job_write_progress(j, 1, &ignored);
    /* The others end once rank 0 has written everything: mpirun ends the job when the first rank exits
     * with a non-zero status. A failed rank does not wait: its exit makes mpirun stop the others. */
    if (j->d && final != TRAIN_FAILED)
        dist_barrier(j->d, "the end of the run", &ignored);
    /* A new run that failed before writing config.json (no data set, a model too big) is no run: leave no
     * directory behind to clutter the runs folder and the Compare screen. */
    if (final == TRAIN_FAILED && !j->cfg.resume)
        j->rec->ops->discard(j->rec);
    j->rec->ops->release(j->rec);
    pthread_mutex_lock(&t->mu);
    job_wake_locked(t, 1);
    pthread_mutex_unlock(&t->mu);
}

static void *engine_main(void *arg)
{
    job *j = arg;
    vt_err err, ignored;
    vt_err_clear(&err);
    j->run_start = vt_now();
    j->may_write = !j->cfg.resume; /* a new run's directory is its own from the start */
    if (j->d)
        dist_set_stop_probe(j->d, stop_probe, j->t);
    job_set_state(j->t, TRAIN_LOADING, "loading the data set");
    job_write_progress(j, 1, &ignored);
    train_state final = job_prepare(j, &err) ? TRAIN_FAILED : job_train(j, &err);
    end_run(j, final, &err);
    if (j->m)
        model_destroy(j->m);
    if (j->ds)
        data_destroy(j->ds);
    free(j->order);
    free(j->x);
    free(j->y);
    free(j->probs);
    free(j);
    return NULL;
}

/* ---- the public side --------------------------------------------------------------------------------- */

/* Rank 0's run directory (or its failure to make one) to the other ranks. */
static int share_run_dir(trainer *t, int rc, vt_err *err)
{
    struct {
        int32_t rc;
        char dir[sizeof t->cfg.run_dir];
    } msg = {rc, ""};
    snprintf(msg.dir, sizeof msg.dir, "%s", t->cfg.run_dir);
    vt_err lost;
    if (dist_bcast(t->dist, &msg, sizeof msg, "the start", &lost))
        return rc ? rc : (*err = lost, lost.code);
    if (train_dist_rank(t->dist) == 0 || rc)
        return rc;
    if (msg.rc)
        return vt_fail(err, msg.rc, "%s", ""); /* rank 0 says why */
    memcpy(t->cfg.run_dir, msg.dir, sizeof msg.dir);
    return VT_OK;
}

int trainer_create(const train_config *cfg, trainer **out, vt_err *err)
{
    return trainer_create_dist(cfg, NULL, out, err);
}

int trainer_create_dist(const train_config *cfg, train_dist *d, trainer **out, vt_err *err)
{
    /* Rank 0 keeps the run's records; the others write nothing (and may not even see the directory). */
    recorder *rec = recorder_null();
    *out = NULL;
    int rc = train_dist_rank(d) == 0 ? recorder_dir_create(&rec, err) : VT_OK;
    return rc ? rc : trainer_create_recorded(cfg, d, rec, out, err);
}

/* The snapshot before the thread starts. */
static void snapshot_init(trainer *t)
{
    train_snapshot *s = &t->snap;
    s->state = TRAIN_IDLE;
    snprintf(s->model, sizeof s->model, "%s", t->cfg.model);
    train_config_get(&t->cfg, "precision", s->precision, sizeof s->precision);
    snprintf(s->run_dir, sizeof s->run_dir, "%s", t->cfg.run_dir);
    s->epochs = t->cfg.epochs;
    s->lr = t->cfg.lr;
    s->loss = s->acc = s->mse = s->top5 = NAN;
    s->best_val_acc = s->last_val_acc = NAN;
    s->curve_every = 1;
    s->ranks = train_dist_size(t->dist);
    s->allreduce_wait = s->dist_step_ms = NAN;
    t->final_state = TRAIN_IDLE;
}

int trainer_create_recorded(const train_config *cfg, train_dist *d, recorder *rec, trainer **out, vt_err *err)
{
    *out = NULL;
    /* The other ranks have rank 0's config, which rank 0 checks: one verdict for all. */
    int rc = train_dist_rank(d) == 0 ? train_config_check(cfg, err) : VT_OK;
    trainer *t = calloc(1, sizeof *t);
    if (!t && !rc)
        rc = vt_fail(err, VT_EIO, "out of memory for the trainer");
    if (t) {
        t->cfg = *cfg;
        t->dist = d;
        t->rec = rec;
    }
    if (!rc)
        rc = rec->ops->open(rec, &t->cfg, err);
    if (d && t)
        rc = share_run_dir(t, rc, err);
    if (!rc)
        rc = vt_wake_open(t->wake, err);
    if (rc) {
        rec->ops->destroy(rec);
        free(t);
        return rc;
    }
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cond, NULL);
    snapshot_init(t);
    *out = t;
    return VT_OK;
}

int trainer_start(trainer *t, vt_err *err)
{
    if (t->started)
        return vt_fail(err, VT_EINTERNAL, "the trainer was already started");
    job *j = calloc(1, sizeof *j);
    if (!j)
        return vt_fail(err, VT_EIO, "out of memory for the training job");
    j->t = t;
    j->cfg = t->cfg;
    j->d = t->dist;
    j->rec = t->rec;
    /* Signals go to the caller's thread (the CLI's handlers, the UI's loop), never to the engine. */
    int rc = vt_thread_start(&t->thread, engine_main, j);
    if (rc != 0) {
        free(j);
        return vt_fail(err, VT_EIO, "cannot start the training thread: %s", strerror(rc));
    }
    t->started = 1;
    return VT_OK;
}

train_state trainer_join(trainer *t)
{
    if (t->started && !t->joined) {
        pthread_join(t->thread, NULL);
        t->joined = 1;
    }
    pthread_mutex_lock(&t->mu);
    train_state s = t->final_state;
    pthread_mutex_unlock(&t->mu);
    return s;
}

void trainer_destroy(trainer *t)
{
    if (!t)
        return;
    trainer_stop(t);
    trainer_join(t);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cond);
    vt_wake_close(t->wake);
    t->rec->ops->destroy(t->rec);
    free(t);
}
void trainer_snapshot(trainer *t, train_snapshot *snap)
{
    pthread_mutex_lock(&t->mu);
    *snap = t->snap;
    vt_wake_drain(t->wake);
    t->wake_pending = 0;
    pthread_mutex_unlock(&t->mu);
}

int trainer_wake_fd(const trainer *t) { return t->wake[0]; }

int trainer_error(trainer *t, vt_err *err)
{
    pthread_mutex_lock(&t->mu);
    vt_err e = t->error;
    pthread_mutex_unlock(&t->mu);
    if (err)
        *err = e;
    return e.code;
}

static void command(trainer *t, int *flag, int value, const char *message)
{
    pthread_mutex_lock(&t->mu);
    *flag = value;
    if (message && t->snap.state != TRAIN_FINISHED && t->snap.state != TRAIN_FAILED &&
        t->snap.state != TRAIN_STOPPED) {
        if (flag == &t->want_stop)
            t->snap.state = TRAIN_STOPPING;
        snprintf(t->snap.message, sizeof t->snap.message, "%s", message);
        job_wake_locked(t, 1);
    }
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

void trainer_suspended(trainer *t, double seconds)
{
    if (!(seconds > 0))
        return;
    pthread_mutex_lock(&t->mu);
    t->suspended += seconds;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

void trainer_pause(trainer *t) { command(t, &t->want_pause, 1, "pausing after this step"); }
void trainer_resume(trainer *t) { command(t, &t->want_pause, 0, NULL); }
void trainer_stop(trainer *t) { command(t, &t->want_stop, 1, "stopping after this step"); }

int trainer_scale_lr(trainer *t, double factor, double *lr, vt_err *err)
{
    pthread_mutex_lock(&t->mu);
    double next = (t->want_lr > 0 ? t->want_lr : t->snap.lr) * factor;
    const train_field *rule = train_field_find("lr");
    int ok = train_field_in_range(rule, next);
    if (ok) {
        t->want_lr = next;
        pthread_cond_broadcast(&t->cond);
    }
    pthread_mutex_unlock(&t->mu);
    *lr = next;
    char what[256];
    train_field_describe(rule, what, sizeof what);
    return ok ? VT_OK : vt_fail(err, VT_EUSAGE, "learning rate %g is not %s", next, what);
}

int trainer_set_lr(trainer *t, double lr, vt_err *err)
{
    const train_field *rule = train_field_find("lr");
    if (!train_field_in_range(rule, lr)) {
        char what[256];
        train_field_describe(rule, what, sizeof what);
        return vt_fail(err, VT_EUSAGE, "learning rate %g is not %s", lr, what);
    }
    pthread_mutex_lock(&t->mu);
    t->want_lr = lr;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
    return VT_OK;
}
