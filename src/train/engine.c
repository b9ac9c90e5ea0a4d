/* train/engine: the training thread. It loads the data set, builds (or restores) the model, runs the epochs
 * batch by batch, evaluates on the test set after each epoch, and keeps the run directory current. The
 * outside world sees it only through a snapshot copied under a mutex, a wake-up pipe, and four commands
 * (pause, resume, stop, learning rate) read between batches. The thread never exits the process. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train_internal.h"

struct trainer {
    train_config cfg;
    pthread_t thread;
    int started, joined;
    int wake[2];            /* self-pipe: [0] for the UI's poll, [1] written by the engine */

    pthread_mutex_t mu;     /* guards everything below */
    pthread_cond_t cond;    /* signalled when a command arrives (wakes a paused engine) */
    train_snapshot snap;
    int want_pause, want_stop;
    double want_lr;         /* > 0: apply before the next batch */
    int wake_pending;
    double last_wake;
    double suspended;       /* seconds the process was stopped (trainer_suspended), in all */
    vt_err error;
    train_state final_state;
    int made_dir;           /* make_run_dir created the run directory (a failed start removes it again) */
    int lock_fd;            /* run.lock, held while this trainer exists: the run is ours alone */
    train_dist *dist;       /* one rank of a data-parallel run (NULL: the process trains alone) */
};

/* ---- the checkpoint's extra blob: where the engine is, so a resumed run continues exactly ---------- */

#define BLOB_MAGIC "VTENGIN1"
#define BLOB_VERSION 2 /* 2 added correct5 to the header and the top-5 columns to the rows; 1 is still read */

/* All 8-byte fields: no padding, the same layout on every 64-bit and 32-bit target. */
typedef struct blob_header {
    char magic[8];
    int64_t version;
    int64_t epochs_done;   /* finished epochs; history rows that follow */
    int64_t batch_pos;     /* batches done of epoch epochs_done + 1 (0 at an epoch boundary) */
    double loss_sum, mse_sum;
    int64_t correct, n;    /* the partial epoch's step_stats */
    uint64_t rng[4];       /* unused since augmentation follows from (seed, epoch, image): written as 0 */
    double lr;             /* the learning rate in use (trainer_set_lr may have changed it) */
    double epoch_seconds;  /* time already spent in the partial epoch */
    uint64_t seed;
    int64_t batch_size;
    int64_t n_train;
    int64_t classes;
    int64_t correct5;      /* the partial epoch's top-5 hits (version 2 on) */
} blob_header;

/* Version 1: the header without correct5, history rows of 8 doubles (no top-5 columns). */
#define BLOB_V1_HEADER (sizeof(blob_header) - sizeof(int64_t))
#define BLOB_V1_ROW (8 * sizeof(double))

#define BLOB_MAX (sizeof(blob_header) + sizeof(train_epoch) * TRAIN_MAX_EPOCHS)

/* Engine-private state of one run. */
typedef struct job {
    trainer *t;
    train_config cfg;
    train_dist *d;          /* NULL when training alone */
    int owner;              /* this process writes the run directory and takes the commands (rank 0) */
    int step_batch;         /* the images one step of this process holds: the batch, or a rank's largest slice
                               of it (the model is sized for that: oneDNN runs a smaller batch at full cost) */
    int may_write;          /* 0 until the run actually starts (a resume: its checkpoint loaded and checked) */
    dev_t dir_dev;          /* the run directory this job locked: every write checks it is still the one */
    ino_t dir_ino;
    int dir_lost;           /* it was removed or replaced: nothing more is written, the run fails */
    callbacks_state cbs;    /* the callbacks' state (replayed from the history on --resume) */
    int top5_unknown;       /* the partial epoch resumed from a version 1 checkpoint: its top-5 is NaN */
    /* Layer health: every LAYER_SAMPLE_EVERY batches (and the epoch's first) one extra forward and backward
     * without an update measures each weighted layer; the epoch's means go to layers.csv. */
    int n_layers;
    int layer_samples;
    layer_stats layer_now[RUN_MAX_LAYERS];
    double layer_sum[RUN_MAX_LAYERS][4]; /* grad norm, dead share, activation mean, activation std */
    int early_stopped;      /* early stopping ended the run */
    char cb_reason[256];
    dataset *ds;
    model *m;
    model_config mc;
    sgd_config sgd;
    double lr;              /* the learning rate in use, exactly as given (sgd.lr is its float) */
    preprocess pp;
    long *order;
    float *x;
    int *y;
    float *probs;
    long batches;
    int epochs_done;
    long batch_pos;
    step_stats sums;
    double epoch_seconds;
    train_epoch history[TRAIN_MAX_EPOCHS];
    double last_progress;
    double run_start;
    double elapsed_before;  /* seconds the run worked in earlier sessions (a --resume) */
    double paused_total;    /* seconds paused in this session: not part of elapsed */
    double eval_seconds;    /* the last test-set pass, for the whole-run ETA (0: none yet) */
    double per_epoch;       /* the ETA's seconds per later epoch, evaluation included */
    long cmd_seen;          /* the last commands.json seq taken */
    double suspended_seen;  /* of t->suspended, what was already taken off */
    double cmd_next;        /* when to look at commands.json again */
    train_snapshot progress_copy;   /* the engine's copy for progress.json */
    unsigned char blob[BLOB_MAX];   /* the checkpoint's extra blob */
    size_t blob_len;                /* as loaded by load_checkpoint */
} job;

/* ---- publishing ---------------------------------------------------------------------------------------- */

/* Writes one byte to the wake pipe unless one is pending; batch progress at most every 50 ms. mu held. */
static void wake_locked(trainer *t, int force)
{
    double now = vt_now();
    if (t->wake_pending || (!force && now - t->last_wake < 0.05))
        return;
    if (vt_wake_signal(t->wake)) {
        t->wake_pending = 1;
        t->last_wake = now;
    }
}

static void set_state(trainer *t, train_state state, const char *message)
{
    pthread_mutex_lock(&t->mu);
    t->snap.state = state;
    if (message)
        snprintf(t->snap.message, sizeof t->snap.message, "%s", message);
    wake_locked(t, 1);
    pthread_mutex_unlock(&t->mu);
}

/* A copy of the snapshot for the engine's own file writes. */
static void snapshot_copy(trainer *t, train_snapshot *s)
{
    pthread_mutex_lock(&t->mu);
    *s = t->snap;
    pthread_mutex_unlock(&t->mu);
}

/* progress.json, at most every 0.5 s unless forced. A failed write is reported in the message but does not
 * stop training (the checkpoint write would catch a full disk). */
/* The run directory must still be the one whose lock this job holds: one deleted or replaced (another run
 * moved into its place) while training is never written into. */
static int dir_check(job *j, vt_err *err)
{
    struct stat st;
    if (!j->dir_lost && stat(j->cfg.run_dir, &st) == 0 && st.st_dev == j->dir_dev && st.st_ino == j->dir_ino)
        return VT_OK;
    j->dir_lost = 1;
    return vt_fail(err, VT_EIO, "%s: the run directory was removed or replaced while training; nothing more is "
                   "written to it (the run stops)", j->cfg.run_dir);
}

static void write_progress(job *j, int force)
{
    vt_err lost;
    if (!j->may_write || dir_check(j, &lost) != VT_OK)
        return;
    double now = vt_now();
    if (!force && now - j->last_progress < 0.5)
        return;
    j->last_progress = now;
    snapshot_copy(j->t, &j->progress_copy);
    vt_err err;
    if (run_write_progress(j->cfg.run_dir, &j->progress_copy, &err) != VT_OK ||
        run_write_curve(j->cfg.run_dir, &j->progress_copy, &err) != VT_OK) {
        pthread_mutex_lock(&j->t->mu);
        snprintf(j->t->snap.message, sizeof j->t->snap.message, "%s", err.msg);
        pthread_mutex_unlock(&j->t->mu);
    }
}

/* The time the process was stopped since the last call (Ctrl-Z): it leaves elapsed, and the caller takes it
 * off its own clocks. mu not held. */
static double take_suspended(job *j)
{
    pthread_mutex_lock(&j->t->mu);
    double d = j->t->suspended - j->suspended_seen;
    j->suspended_seen = j->t->suspended;
    pthread_mutex_unlock(&j->t->mu);
    j->paused_total += d;
    return d;
}

/* Seconds the run has worked: earlier sessions, then this one without its pauses. */
static double run_elapsed(const job *j) { return j->elapsed_before + vt_now() - j->run_start - j->paused_total; }

static void take_lr_locked(job *j);

/* Takes a command another process left in commands.json (vggtop ctl, vggtop watch), at most every 0.2 s,
 * through the same calls the front end of this process uses. mu not held. Returns 1 when one was taken
 * (the caller writes progress.json at once, so the sender sees the acknowledgement). */
static int take_command_file(job *j)
{
    double now = vt_now();
    if (!j->owner || now < j->cmd_next)
        return 0;
    j->cmd_next = now + 0.2;
    run_command c;
    vt_err err;
    if (run_command_read(j->cfg.run_dir, &c, &err) != VT_OK || c.seq <= j->cmd_seen)
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
    wake_locked(t, 1);
    pthread_mutex_unlock(&t->mu);
    return 1;
}

/* ---- checkpoints --------------------------------------------------------------------------------------- */

static int save_checkpoint_as(job *j, const char *name, vt_err *err)
{
    if (!j->owner)
        return VT_OK;
    if (dir_check(j, err) != VT_OK)
        return VT_EIO;
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
    char path[4200];
    int rc = run_path(path, sizeof path, j->cfg.run_dir, name, err);
    if (rc)
        return rc;
    return checkpoint_save(path, j->m, buf, sizeof h + sizeof(train_epoch) * (size_t)j->epochs_done, err);
}

static int save_checkpoint(job *j, vt_err *err) { return save_checkpoint_as(j, RUN_CHECKPOINT, err); }

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

static int take_blob(job *j, const char *path, vt_err *err);

/* Restores the model and the engine's position from checkpoint.bin, checking it belongs to this run. */
static int load_checkpoint(job *j, vt_err *err)
{
    unsigned char *buf = j->blob;
    char path[4200];
    int rc = run_path(path, sizeof path, j->cfg.run_dir, RUN_CHECKPOINT, err);
    if (rc)
        return rc;
    model_config stored;
    if ((rc = checkpoint_read_config(path, &stored, err)))
        return rc;
    if (strcmp(stored.name, j->mc.name) != 0 || stored.height != j->mc.height || stored.width != j->mc.width ||
        stored.channels != j->mc.channels || stored.classes != j->mc.classes)
        return vt_fail(err, VT_EUSAGE, "%s: holds a %s for %dx%dx%d input and %d classes, but the run is a %s for "
                       "%dx%dx%d and %d classes",
                       path, stored.name, stored.height, stored.width, stored.channels, stored.classes, j->mc.name,
                       j->mc.height, j->mc.width, j->mc.channels, j->mc.classes);
    size_t len = 0;
    if ((rc = checkpoint_load(path, j->m, buf, BLOB_MAX, &len, err)))
        return rc;
    j->blob_len = len;
    return take_blob(j, path, err);
}

/* The engine's position from the checkpoint's blob (j->blob, j->blob_len bytes), checked against the run. */
static int take_blob(job *j, const char *path, vt_err *err)
{
    const unsigned char *buf = j->blob;
    size_t len = j->blob_len;
    blob_header h;
    memset(&h, 0, sizeof h);
    if (len < 16)
        return vt_fail(err, VT_EUSAGE, "%s: no training state in it (not written by vggtop train?)", path);
    memcpy(&h, buf, 16);
    if (memcmp(h.magic, BLOB_MAGIC, 8) != 0)
        return vt_fail(err, VT_EUSAGE, "%s: its training state is not vggtop's", path);
    if (h.version != BLOB_VERSION && h.version != 1)
        return vt_fail(err, VT_EUSAGE, "%s: training state version %lld, this vggtop reads 1 and %d", path,
                       (long long)h.version, BLOB_VERSION);
    size_t hsize = h.version == 1 ? BLOB_V1_HEADER : sizeof h, rsize = h.version == 1 ? BLOB_V1_ROW : sizeof(train_epoch);
    if (len < hsize)
        return vt_fail(err, VT_EUSAGE, "%s: training state has a bad length", path);
    memcpy(&h, buf, hsize);
    if (h.epochs_done < 0 || h.epochs_done > TRAIN_MAX_EPOCHS || len != hsize + rsize * (size_t)h.epochs_done)
        return vt_fail(err, VT_EUSAGE, "%s: training state has a bad length", path);
    /* The rows, in this version's layout (a version 1 row has no top-5: NaN). */
    for (int64_t e = 0; e < h.epochs_done; e++) {
        train_epoch row;
        row.top5 = row.val_top5 = NAN;
        memcpy(&row, buf + hsize + rsize * (size_t)e, rsize);
        j->history[e] = row;
    }
    if (h.seed != j->cfg.seed || h.batch_size != j->cfg.batch_size || h.n_train != j->ds->n_train ||
        h.classes != j->ds->classes)
        return vt_fail(err, VT_EUSAGE, "%s: made with seed %llu, batch size %lld, %lld training images, %lld classes; "
                       "the run now has %llu, %d, %ld, %d (same data and settings are needed to resume)",
                       path, (unsigned long long)h.seed, (long long)h.batch_size, (long long)h.n_train,
                       (long long)h.classes, (unsigned long long)j->cfg.seed, j->cfg.batch_size, j->ds->n_train,
                       j->ds->classes);
    /* batch_pos == batches: the epoch trained, stopped during its evaluation (resuming evaluates it). */
    if (h.batch_pos < 0 || h.batch_pos > j->batches || h.n < 0 || h.correct < 0 || h.correct > h.n ||
        !isfinite(h.loss_sum) || !isfinite(h.mse_sum) || !(h.epoch_seconds >= 0 && h.epoch_seconds < 1e12))
        return vt_fail(err, VT_EUSAGE, "%s: training state out of range (position, sums or time)", path);
    /* The rate now, not the one set: the setting's range, but 0 too, where a cosine schedule ends. */
    const train_field *lr_rule = train_field_find("lr");
    if (!(h.lr == 0 || train_field_in_range(lr_rule, h.lr))) {
        char what[256];
        train_field_describe(lr_rule, what, sizeof what);
        return vt_fail(err, VT_EUSAGE, "%s: its learning rate %g is neither 0 nor %s", path, h.lr, what);
    }
    for (int64_t e = 0; e < h.epochs_done; e++) {
        const train_epoch row = j->history[e];
        const double v[] = {row.loss, row.acc, row.mse, row.val_loss, row.val_acc, row.val_mse, row.lr, row.seconds};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
            if (!isfinite(v[k]))
                return vt_fail(err, VT_EUSAGE, "%s: the history of epoch %lld holds a value that is not finite", path,
                               (long long)e + 1);
    }
    if (h.epochs_done > j->cfg.epochs)
        return vt_fail(err, VT_EUSAGE, "--epochs: %d, but the run has already done %lld (give at least that many)",
                       j->cfg.epochs, (long long)h.epochs_done);
    j->epochs_done = (int)h.epochs_done;
    j->batch_pos = (long)h.batch_pos;
    j->sums = (step_stats){h.loss_sum, h.mse_sum, h.correct, h.correct5, h.n};
    j->top5_unknown = h.version == 1 && h.n > 0; /* a version 1 partial epoch never counted its top-5 hits */
    j->lr = h.lr;
    j->sgd.lr = (float)h.lr;
    j->epoch_seconds = h.epoch_seconds;
    return VT_OK;
}

/* ---- layer health ---------------------------------------------------------------------------------------- */

#define LAYER_SAMPLE_EVERY 200
#define DIST_CHECK_EVERY 200 /* steps between the ranks' comparisons of their weights */

/* Measures the layers on the batch in j->x (gradients of the mean loss, the ReLU outputs) and adds it to the
 * epoch's sums. Changes nothing the step after it computes: the model_loss_grad gradients are cleared by it. */
static void sample_layers(job *j, int n)
{
    vt_err ignored;
    if (model_loss_grad(j->m, j->x, j->y, n, NULL, NULL, &ignored) != VT_OK)
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

/* The epoch's layers.csv rows: weight norms at its end, the sampled means of the rest. */
static int write_layers(job *j, int epoch, vt_err *err)
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
    int rc = run_write_layers(j->cfg.run_dir, epoch, rows, j->n_layers < k ? j->n_layers : k, err);
    j->layer_samples = 0;
    memset(j->layer_sum, 0, sizeof j->layer_sum);
    return rc;
}

/* ---- ranks ------------------------------------------------------------------------------------------------- */

/* Rank 0's weights and SGD velocity to every rank (after it read them from a checkpoint). */
static int share_weights(job *j, vt_err *err)
{
    size_t bytes = sizeof(float) * (size_t)model_param_count(j->m);
    int rc = dist_bcast(j->d, model_params(j->m), bytes, "the sharing of the weights", err);
    return rc ? rc : dist_bcast(j->d, model_velocity(j->m), bytes, "the sharing of the weights", err);
}

/* Whether every rank got here without error: a failure on one (rank 0 refusing a checkpoint) fails all, the
 * others with an empty message (the failing rank says why). */
static int ranks_agree(job *j, int rc, vt_err *err)
{
    if (!j->d)
        return rc;
    double v = rc ? 1 : 0;
    vt_err lost;
    if (dist_allreduce(j->d, &v, 1, 1, "the start", &lost))
        return rc ? rc : (*err = lost, lost.code);
    if (!rc && v > 0)
        return vt_fail(err, VT_EUSAGE, "%s", "");
    return rc;
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
        (rc = share_weights(j, err)))
        return rc;
    return j->owner ? VT_OK : take_blob(j, "rank 0's " RUN_CHECKPOINT, err);
}

static int stop_probe(void *arg)
{
    trainer *t = arg;
    pthread_mutex_lock(&t->mu);
    int stop = t->want_stop;
    pthread_mutex_unlock(&t->mu);
    return stop;
}

/* ---- evaluation ------------------------------------------------------------------------------------------ */

void train_val_metrics(const float *probs, const int *y, long n, int C, train_epoch *row)
{
    /* Keras: cross-entropy with probabilities clipped to [1e-7, 1 - 1e-7]; accuracy of the argmax (first
     * maximum on ties); mse as the mean over samples and classes of (onehot - p)^2; top-5 as in_top_k (fewer
     * than 5 classes strictly above the true one). */
    double l = 0, m = 0;
    long correct = 0, correct5 = 0;
    for (long i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * (size_t)C;
        double q = p[y[i]];
        q = q < 1e-7 ? 1e-7 : q > 1 - 1e-7 ? 1 - 1e-7 : q;
        l -= log(q);
        int best = 0, above = 0;
        double row_se = 0;
        for (int c = 0; c < C; c++) {
            if (p[c] > p[best])
                best = c;
            above += p[c] > p[y[i]];
            double d = (c == y[i]) - (double)p[c];
            row_se += d * d;
        }
        m += row_se / C;
        correct += best == y[i];
        correct5 += above < 5;
    }
    row->val_loss = n ? l / n : NAN;
    row->val_acc = n ? (double)correct / n : NAN;
    row->val_mse = n ? m / n : NAN;
    row->val_top5 = n ? (double)correct5 / n : NAN;
}

int train_predict_test(model *m, const dataset *ds, long from, long to, int batch, float *x_buf, float *probs,
                       int (*stop)(void *), void *arg, int *stopped, vt_err *err)
{
    if (stopped)
        *stopped = 0;
    long idx[4096];
    int y[4096];
    preprocess pp = {0};
    if (batch > 4096)
        batch = 4096;
    for (long start = from; start < to; start += batch) {
        if (stop && stop(arg)) {
            *stopped = 1;
            return VT_OK;
        }
        int n = (int)(to - start < batch ? to - start : batch);
        for (int i = 0; i < n; i++)
            idx[i] = start + i;
        data_fill_batch(ds, DATA_TEST, idx, n, &pp, x_buf, y);
        int rc = model_predict(m, x_buf, n, probs + (size_t)start * (size_t)ds->classes, err);
        if (rc)
            return rc;
    }
    return VT_OK;
}

/* The test-set pass of an epoch end: train_predict_test asks stop_wanted before every step, which is where
 * its progress (steps done, the pass's ETA) is published and commands.json is looked at. */
typedef struct eval_pass {
    job *j;
    int e;          /* 0-based epoch evaluated */
    long done, total;
    double start;
    /* Data-parallel: before each of the first `agreed` steps (the smallest rank slice's step count, the same
     * on every rank) the ranks agree on a stop, so a stop asked for during a long evaluation is as prompt as
     * in one process. rc and err: that exchange failed (a lost rank). */
    long agreed;
    int rc;
    vt_err err;
} eval_pass;

static int stop_wanted(void *arg)
{
    eval_pass *ev = arg;
    job *j = ev->j;
    trainer *t = j->t;
    int took = take_command_file(j);
    ev->start += take_suspended(j);
    double now = vt_now(), spent = now - ev->start;
    pthread_mutex_lock(&t->mu);
    train_snapshot *s = &t->snap;
    s->eval_batch = ev->done;
    s->eval_batches = ev->total;
    s->eval_eta = ev->done > 0 ? spent * (double)(ev->total - ev->done) / (double)ev->done : s->eval_eta;
    s->eta_run = s->eval_eta + (double)(j->cfg.epochs - ev->e - 1) * j->per_epoch;
    s->elapsed = run_elapsed(j);
    wake_locked(t, took);
    int stop = t->want_stop;
    pthread_mutex_unlock(&t->mu);
    write_progress(j, took);
    long step = ev->done++;
    if (!j->d)
        return stop;
    if (step >= ev->agreed)
        return 0; /* a rank's last step that another rank's slice lacks: it stops with the next epoch */
    double v = stop;
    if ((ev->rc = dist_allreduce(j->d, &v, 1, 1, "the evaluation's stop", &ev->err)) != VT_OK)
        return 1;
    return v > 0;
}

/* After an epoch: predict the test set, write the evaluation files, append the history row, checkpoint.
 * A stop asked for during the prediction (the whole test set through a VGG can take many minutes) leaves
 * it: *stopped is set, and the caller checkpoints the epoch's training so --resume only evaluates. */
static int finish_epoch(job *j, int e, double epoch_start, int *stopped, vt_err *err)
{
    trainer *t = j->t;
    const dataset *ds = j->ds;
    /* Each rank predicts its slice of the test set; rank 0 gathers them and judges the epoch for all. */
    long from = 0, to = ds->n_test;
    if (j->d)
        dist_slice(ds->n_test, train_dist_size(j->d), train_dist_rank(j->d), &from, &to);
    const long bs = j->step_batch, smallest = ds->n_test / train_dist_size(j->d);
    eval_pass ev = {.j = j, .e = e, .total = (to - from + bs - 1) / bs, .start = vt_now(),
                    .agreed = (smallest + bs - 1) / bs};
    pthread_mutex_lock(&t->mu);
    t->snap.eval_batch = 0;
    t->snap.eval_batches = ev.total;
    t->snap.eval_eta = j->eval_seconds;
    pthread_mutex_unlock(&t->mu);
    set_state(t, TRAIN_EVALUATING, "evaluating on the test set");
    write_progress(j, 1);
    int rc = train_predict_test(j->m, ds, from, to, j->step_batch, j->x, j->probs, stop_wanted, &ev, stopped,
                                err);
    if (!rc && ev.rc) {
        *err = ev.err;
        *stopped = 0;
        return ev.rc;
    }
    if (rc || *stopped)
        return rc;
    if (j->d && (rc = dist_gather_rows(j->d, j->probs, ds->n_test, ds->classes, err)))
        return rc;
    j->eval_seconds = vt_now() - ev.start;
    train_epoch row;
    train_val_metrics(j->probs, ds->test_y, ds->n_test, ds->classes, &row);
    /* Rank 0's metrics for every rank: the callbacks then decide the same on each. */
    if (j->d && (rc = dist_bcast(j->d, &row, sizeof row, "the epoch's evaluation", err)))
        return rc;
    row.loss = j->sums.loss_sum / (double)j->sums.n;
    row.acc = (double)j->sums.correct / (double)j->sums.n;
    row.mse = j->sums.mse_sum / (double)j->sums.n;
    row.top5 = j->top5_unknown ? NAN : (double)j->sums.correct5 / (double)j->sums.n;
    j->top5_unknown = 0;
    row.lr = j->lr;
    /* Weights that overflowed give NaN outputs on the test set even when the clipped training loss stayed
     * finite: that is divergence too, and the checkpoint of the last good epoch must not be replaced. */
    if (!isfinite(row.val_loss) || !isfinite(row.loss))
        return vt_fail(err, VT_EUSAGE, "epoch %d (lr %g): the %s loss is not finite (training diverged); lower the "
                       "learning rate (--lr); the run stopped, its last good checkpoint is kept", e + 1, j->lr,
                       isfinite(row.loss) ? "validation" : "training");
    if (j->owner && ((rc = dir_check(j, err)) || (rc = write_layers(j, e + 1, err)) ||
                     (rc = run_write_evaluation(j->cfg.run_dir, e + 1, 0, 1, ds->test_y, j->probs, ds->n_test,
                                                ds->classes, (const char *const *)ds->class_names, err))))
        return rc;
    row.seconds = j->epoch_seconds + (vt_now() - epoch_start);
    j->history[e] = row;
    j->epochs_done = e + 1;
    j->batch_pos = 0;
    j->sums = (step_stats){0};
    j->epoch_seconds = 0;
    /* The callbacks, as Keras runs them at the epoch's end: best.bin, the early-stopping best, a cut rate,
     * a stop. The new rate goes into the checkpoint, so a resume carries on with it. */
    callbacks_actions act;
    callbacks_epoch_end(&j->cfg.cb, &j->cbs, e, &row, j->lr, &act);
    if (act.save_best && (rc = save_checkpoint_as(j, RUN_BEST, err)))
        return rc;
    if (act.es_improved && j->cfg.cb.es_restore && (rc = save_checkpoint_as(j, RUN_ES_BEST, err)))
        return rc;
    if (act.lr != j->lr) {
        j->lr = act.lr;
        j->sgd.lr = (float)act.lr;
    }
    if (act.stop && act.restore_best) {
        /* Keras' restore_best_weights: the weights of the best epoch, from the copy kept when it was the best. */
        char path[4200];
        unsigned char *scratch = j->blob;
        size_t len;
        if (j->owner && ((rc = run_path(path, sizeof path, j->cfg.run_dir, RUN_ES_BEST, err)) ||
                         (rc = checkpoint_load(path, j->m, scratch, BLOB_MAX, &len, err))))
            return rc;
        if (j->d && (rc = share_weights(j, err)))
            return rc;
    }
    if (act.stop)
        j->early_stopped = 1;
    snprintf(j->cb_reason, sizeof j->cb_reason, "%s", act.reason);
    /* The checkpoint carries the history, so it goes first: history.csv can always be rebuilt from it. */
    if ((rc = save_checkpoint(j, err)) ||
        (j->owner && (rc = run_write_history(j->cfg.run_dir, j->history, j->epochs_done, err))))
        return rc;
    pthread_mutex_lock(&t->mu);
    t->snap.history[e] = row;
    t->snap.n_history = t->snap.epochs_done = j->epochs_done;
    t->snap.eval_generation++;
    t->snap.eval_batch = t->snap.eval_batches = 0;
    t->snap.eval_eta = 0;
    t->snap.last_val_acc = row.val_acc;
    if (e == 0 || row.val_acc > t->snap.best_val_acc || isnan(t->snap.best_val_acc))
        t->snap.best_val_acc = row.val_acc;
    if (j->cb_reason[0]) {
        snprintf(t->snap.message, sizeof t->snap.message, "%s", j->cb_reason);
        snprintf(t->snap.note, sizeof t->snap.note, "%s", j->cb_reason);
        t->snap.note_epoch = e + 1;
    }
    else
        snprintf(t->snap.message, sizeof t->snap.message, "epoch %d: val_loss %.4f, val_acc %.4f", e + 1, row.val_loss,
                 row.val_acc);
    t->snap.lr = j->lr;
    wake_locked(t, 1);
    pthread_mutex_unlock(&t->mu);
    return VT_OK;
}

/* ---- the run --------------------------------------------------------------------------------------------- */

/* config.json (rank 0), with the ranks' hosts and threads in a data-parallel run. */
static int write_config(job *j, const char *created, vt_err *err)
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
    if (!rc && j->owner)
        rc = train_write_config(j->cfg.run_dir, &j->cfg, j->ds, &j->mc, model_param_count(j->m), created,
                                n ? &ranks : NULL, err);
    free(hosts);
    free(threads);
    return rc;
}

/* The data set, the model and the buffers. */
static int prepare_model(job *j, vt_err *err)
{
    train_config *cfg = &j->cfg;
    nn_set_threads(cfg->threads ? cfg->threads : j->d ? dist_threads_default(j->d) : 0);
    data_options opt;
    train_data_options(cfg, &opt);
    int rc = data_open(&opt, &j->ds, err);
    if (rc)
        return rc;
    dataset *ds = j->ds;
    if (ds->n_train < 1 || ds->n_test < 1)
        return vt_fail(err, VT_EUSAGE, "%s: no training or no test images", ds->path);
    const int ranks = train_dist_size(j->d);
    j->step_batch = (cfg->batch_size + ranks - 1) / ranks;
    if ((rc = train_model_config(cfg, ds->height, ds->width, ds->channels, ds->classes, &j->mc, err)) ||
        (rc = model_create(&j->mc, &j->m, err)) ||
        (rc = model_set_conv(j->m, cfg->conv[0] ? cfg->conv : nn_conv_default(), err)) ||
        (rc = model_set_batch(j->m, j->step_batch, err)))
        return rc;
    /* The choice each layer resolved to: config.json records it, --resume sets it again (bit for bit), and
     * every rank takes rank 0's (a timed choice may differ between ranks, and so would their arithmetic). */
    char choice[sizeof cfg->conv];
    if (model_conv_choice(j->m, choice, sizeof choice) < (int)sizeof choice)
        snprintf(cfg->conv, sizeof cfg->conv, "%s", choice);
    if (j->d && ((rc = dist_bcast(j->d, cfg->conv, sizeof cfg->conv, "the start", err)) ||
                 (!j->owner && cfg->conv[0] && (rc = model_set_conv(j->m, cfg->conv, err)))))
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
    j->pp.augment = cfg->augment;
    return VT_OK;
}

/* Loads data and model, creates or restores the run directory. */
static int job_prepare(job *j, vt_err *err)
{
    trainer *t = j->t;
    train_config *cfg = &j->cfg;
    int rc = ranks_agree(j, prepare_model(j, err), err);
    if (rc)
        return rc;
    dataset *ds = j->ds;
    callbacks_begin(&cfg->cb, &j->cbs);

    char created[32] = "";
    /* A command left from an earlier session was taken then (or superseded): only newer ones count. */
    run_command old_cmd;
    vt_err cmd_err;
    if (j->owner && run_command_read(cfg->run_dir, &old_cmd, &cmd_err) == VT_OK)
        j->cmd_seen = old_cmd.seq;
    if (cfg->resume) {
        /* Nothing is written to a run being resumed until its checkpoint is known good: a refused resume
         * (wrong --epochs, a damaged checkpoint) leaves the run as it was. Rank 0 reads it, for every rank:
         * the position is in global batches, so any number of ranks continues it. */
        if ((rc = ranks_agree(j, j->owner ? load_checkpoint(j, err) : VT_OK, err)) ||
            (j->d && (rc = ranks_agree(j, share_position(j, err), err))))
            return rc;
        j->may_write = j->owner;
        callbacks_replay(&cfg->cb, &j->cbs, j->history, j->epochs_done);
        if (j->owner) {
            run_clean_temporaries(cfg->run_dir);
            if ((rc = run_write_history(cfg->run_dir, j->history, j->epochs_done, err)))
                return rc;
            run_data old;
            vt_err ignored;
            if (run_load(cfg->run_dir, RUN_PART_CONFIG, &old, &ignored) == VT_OK)
                snprintf(created, sizeof created, "%s", old.created);
            run_free(&old);
        }
    }
    if ((rc = write_config(j, created, err)))
        return rc;

    pthread_mutex_lock(&t->mu);
    train_snapshot *s = &t->snap;
    snprintf(s->dataset, sizeof s->dataset, "%s", ds->name);
    snprintf(s->conv, sizeof s->conv, "%s", cfg->conv);
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
    s->elapsed = run_elapsed(j);
    for (int e = 0; e < j->epochs_done; e++)
        if (e == 0 || j->history[e].val_acc > s->best_val_acc)
            s->best_val_acc = j->history[e].val_acc;
    if (j->epochs_done)
        s->last_val_acc = j->history[j->epochs_done - 1].val_acc;
    pthread_mutex_unlock(&t->mu);
    return VT_OK;
}

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
        wake_locked(t, 1);
    }
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
    double v[3] = {*stop, *pause, j->owner ? j->lr : 0};
    int rc = dist_allreduce(j->d, v, 3, 1, "the exchange of commands", err);
    if (rc)
        return rc;
    *stop = v[0] > 0;
    *pause = v[1] > 0 && !*stop;
    if (!j->owner && v[2] != j->lr) {
        j->lr = v[2];
        j->sgd.lr = (float)v[2];
        pthread_mutex_lock(&t->mu);
        t->snap.lr = v[2];
        pthread_mutex_unlock(&t->mu);
    }
    return VT_OK;
}

/* Takes the commands between two batches. Returns 1 when a stop was asked, -1 with err when the ranks lost
 * each other. Blocks while paused (every rank, while rank 0 is). */
static int take_commands(job *j, double *paused_for, vt_err *err)
{
    trainer *t = j->t;
    if (take_command_file(j))
        write_progress(j, 1);
    int pause, stop;
    if (sync_commands(j, &pause, &stop, err))
        return -1;
    if (!pause)
        return stop;
    pthread_mutex_lock(&t->mu);
    train_state before = t->snap.state;
    double since = vt_now();
    t->snap.state = TRAIN_PAUSED;
    snprintf(t->snap.message, sizeof t->snap.message, "paused");
    wake_locked(t, 1);
    pthread_mutex_unlock(&t->mu);
    write_progress(j, 1);
    while (pause) {
        /* Woken by this process's commands at once, and every 0.3 s to look at commands.json (and, with ranks,
         * to tell them the run is still paused). */
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
        if (take_command_file(j))
            write_progress(j, 1);
        if (sync_commands(j, &pause, &stop, err))
            return -1;
    }
    pthread_mutex_lock(&t->mu);
    t->snap.state = before;
    snprintf(t->snap.message, sizeof t->snap.message, "%s", stop ? "" : "resumed");
    *paused_for += vt_now() - since;
    j->paused_total += vt_now() - since;
    wake_locked(t, 1);
    pthread_mutex_unlock(&t->mu);
    return stop;
}

/* Runs the epochs. Returns the final state; err filled when FAILED. */
static train_state job_train(job *j, vt_err *err)
{
    trainer *t = j->t;
    train_config *cfg = &j->cfg;
    const dataset *ds = j->ds;
    int bs = cfg->batch_size;
    for (int e = j->epochs_done; e < cfg->epochs; e++) {
        double epoch_start = vt_now(), paused = 0;
        long first = j->batch_pos;
        if (first == 0) {
            j->sums = (step_stats){0};
            j->epoch_seconds = 0;
        }
        long n0 = j->sums.n; /* samples of this epoch done before this session (a resumed epoch) */
        if (first == 0 && cfg->cb.schedule) { /* Keras' LearningRateScheduler, at the epoch's beginning */
            j->lr = callbacks_epoch_lr(&cfg->cb, cfg->lr, j->lr, e, cfg->epochs);
            j->sgd.lr = (float)j->lr;
        }
        data_shuffle(j->order, ds->n_train, cfg->seed, e);
        /* Like the order, the augmentation follows from the seed and the epoch alone (and each image's
         * index): nothing of it needs to be in the checkpoint. */
        j->pp.aug_stream = vt_seed_mix(vt_seed_mix(cfg->seed, 0xa06), (uint64_t)e);
        pthread_mutex_lock(&t->mu);
        train_snapshot *s = &t->snap;
        s->state = TRAIN_TRAINING;
        s->epoch = e + 1;
        s->batch = first;
        s->samples = j->sums.n;
        s->loss = s->acc = s->mse = s->top5 = NAN;
        s->img_per_s = s->ms_per_step = s->eta = 0;
        /* Until this epoch's first batch, the whole run's time left follows from the last epoch's length: the
         * header must not lose it for the first moments of every epoch. */
        s->eta_run = e > 0 ? (double)(cfg->epochs - e) * j->history[e - 1].seconds : 0;
        s->n_curve = 0;
        s->curve_every = 1;
        snprintf(s->message, sizeof s->message, "epoch %d/%d", e + 1, cfg->epochs);
        wake_locked(t, 1);
        pthread_mutex_unlock(&t->mu);
        /* Each epoch's start is written at once: with epochs shorter than the 0.5 s between writes, progress.json
         * would otherwise keep saying "evaluating" for the whole run. */
        write_progress(j, 1);

        double busy = 0; /* time in batches (assembly and step) this session: rates and the ETA */
        for (long b = first; b < j->batches; b++) {
            int cmd = take_commands(j, &paused, err);
            if (cmd < 0)
                return TRAIN_FAILED;
            if (cmd) {
                /* Stop mid-epoch: the checkpoint records the position, so --resume continues from here. */
                j->batch_pos = b;
                j->epoch_seconds += vt_now() - epoch_start - paused;
                int rc = save_checkpoint(j, err);
                return rc ? TRAIN_FAILED : TRAIN_STOPPED;
            }
            long start = b * bs;
            int n = (int)(ds->n_train - start < bs ? ds->n_train - start : bs);
            long lo = 0, hi = n; /* this rank's slice of the batch (all of it when training alone) */
            if (j->d)
                dist_slice(n, train_dist_size(j->d), train_dist_rank(j->d), &lo, &hi);
            double t0 = vt_now(); /* batch assembly counts: img/s is what the user gets */
            if (hi > lo)
                data_fill_batch(ds, DATA_TRAIN, j->order + start + lo, (int)(hi - lo), &j->pp, j->x, j->y);
            busy += vt_now() - t0;
            if (j->owner && hi > lo && (b - first) % LAYER_SAMPLE_EVERY == 0)
                sample_layers(j, (int)(hi - lo)); /* outside the timed part: rates stay the training's own */
            t0 = vt_now();
            int rc = j->d ? dist_train_step(j->d, j->m, j->x, j->y, (int)(hi - lo), n, &j->sgd, &j->sums, err)
                          : model_train_step(j->m, j->x, j->y, n, &j->sgd, &j->sums, err);
            long step = (long)e * j->batches + b + 1;
            if (!rc && j->d && step % DIST_CHECK_EVERY == 0)
                rc = dist_check_weights(j->d, model_params(j->m), (size_t)model_param_count(j->m), step, err);
            busy += vt_now() - t0;
            /* A Ctrl-Z during a step (reported once the process runs again) is no step time. */
            double stopped = take_suspended(j);
            busy = busy > stopped ? busy - stopped : 0;
            paused += stopped;
            if (!rc && !isfinite(j->sums.loss_sum))
                rc = vt_fail(err, VT_EUSAGE, "the loss is not finite (%g): lower the learning rate (--lr)",
                             j->sums.loss_sum);
            if (rc) {
                char why[512];
                snprintf(why, sizeof why, "%s", err->msg);
                vt_fail(err, rc, "epoch %d, batch %ld (lr %g): %s; the run stopped, its last good checkpoint is "
                        "kept", e + 1, b + 1, j->lr, why);
                return TRAIN_FAILED;
            }
            long done_here = b + 1 - first;
            pthread_mutex_lock(&t->mu);
            s->batch = b + 1;
            s->samples = j->sums.n;
            s->loss = j->sums.loss_sum / (double)j->sums.n;
            s->acc = (double)j->sums.correct / (double)j->sums.n;
            s->mse = j->sums.mse_sum / (double)j->sums.n;
            s->top5 = j->top5_unknown ? NAN : (double)j->sums.correct5 / (double)j->sums.n;
            s->ms_per_step = 1000.0 * busy / (double)done_here;
            if (j->d) {
                dist_timing tm = dist_get_timing(j->d);
                s->allreduce_wait = tm.step_seconds > 0 ? tm.wait_seconds / tm.step_seconds : NAN;
            }
            s->img_per_s = busy > 0 ? (double)(j->sums.n - n0) / busy : 0;
            s->eta = (double)(j->batches - b - 1) * busy / (double)done_here;
            /* The test-set pass counts: the last one's time, or before the first a prediction at a third of a
             * training step per image (forward only). */
            double eval = j->eval_seconds > 0 ? j->eval_seconds
                                              : train_eval_seconds(busy, j->sums.n - n0, ds->n_test);
            j->per_epoch = e > 0 ? j->history[e - 1].seconds : (double)j->batches * busy / (double)done_here + eval;
            s->eta_run = s->eta + eval + (double)(cfg->epochs - e - 1) * j->per_epoch;
            s->elapsed = run_elapsed(j);
            s->epoch_elapsed = j->epoch_seconds + vt_now() - epoch_start - paused;
            if ((b + 1) % s->curve_every == 0) {
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
                if ((b + 1) % s->curve_every == 0) {
                    s->curve_batch[s->n_curve] = b + 1;
                    s->curve_loss[s->n_curve] = (float)s->loss;
                    s->curve_acc[s->n_curve] = (float)s->acc;
                    s->n_curve++;
                }
            }
            wake_locked(t, b + 1 == j->batches);
            pthread_mutex_unlock(&t->mu);
            write_progress(j, 0);
            if (j->dir_lost) {
                dir_check(j, err); /* says what happened */
                return TRAIN_FAILED;
            }
        }
        j->epoch_seconds -= paused;
        int stopped = 0;
        int rc = finish_epoch(j, e, epoch_start, &stopped, err);
        if (rc)
            return TRAIN_FAILED;
        if (stopped) {
            j->batch_pos = j->batches;
            j->epoch_seconds += vt_now() - epoch_start; /* paused already taken off above */
            return save_checkpoint(j, err) ? TRAIN_FAILED : TRAIN_STOPPED;
        }
        if (j->early_stopped)
            return TRAIN_FINISHED; /* a normal end, with its reason in the message */
        int pause, stop;
        if (sync_commands(j, &pause, &stop, err))
            return TRAIN_FAILED;
        if (stop && e + 1 < cfg->epochs)
            return TRAIN_STOPPED;
    }
    return TRAIN_FINISHED;
}

static void *engine_main(void *arg)
{
    job *j = arg;
    trainer *t = j->t;
    vt_err err;
    vt_err_clear(&err);
    j->run_start = vt_now();
    j->may_write = j->owner && !j->cfg.resume; /* a new run's directory is its own from the start */
    if (j->d)
        dist_set_stop_probe(j->d, stop_probe, t);
    struct stat dir_st;
    if (!j->owner)
        ; /* another rank's: it never writes there, and may not even see it (another host) */
    else if (stat(j->cfg.run_dir, &dir_st) == 0) { /* locked by trainer_create already: this is the run's own */
        j->dir_dev = dir_st.st_dev;
        j->dir_ino = dir_st.st_ino;
    } else
        j->dir_lost = 1;
    set_state(t, TRAIN_LOADING, "loading the data set");
    write_progress(j, 1);
    train_state final = job_prepare(j, &err) ? TRAIN_FAILED : job_train(j, &err);
    if (final == TRAIN_FAILED && j->d && dist_broken(j->d) && j->owner) {
        char why[sizeof err.msg];
        snprintf(why, sizeof why, "%s", err.msg);
        vt_fail(&err, err.code, "%s; continue from the last checkpoint with vggtop train --resume %s", why,
                j->cfg.run_dir);
    }

    pthread_mutex_lock(&t->mu);
    if (final == TRAIN_FAILED) {
        t->error = err;
        snprintf(t->snap.message, sizeof t->snap.message, "%s", err.msg);
    } else if (final == TRAIN_STOPPED)
        snprintf(t->snap.message, sizeof t->snap.message, "stopped after %d epoch%s and %ld step%s; continue with "
                 "vggtop train --resume %.400s", j->epochs_done, j->epochs_done == 1 ? "" : "s", j->batch_pos,
                 j->batch_pos == 1 ? "" : "s", j->cfg.run_dir);
    else if (j->early_stopped)
        snprintf(t->snap.message, sizeof t->snap.message, "finished after %d epoch%s: %s", j->epochs_done,
                 j->epochs_done == 1 ? "" : "s", j->cb_reason);
    else if (j->cfg.resume && t->snap.resumed_epochs == j->epochs_done)
        snprintf(t->snap.message, sizeof t->snap.message, "the run had already done its %d epoch%s (give --epochs "
                 "with --resume to train further)", j->epochs_done, j->epochs_done == 1 ? "" : "s");
    else
        snprintf(t->snap.message, sizeof t->snap.message, "finished %d epoch%s", j->epochs_done,
                 j->epochs_done == 1 ? "" : "s");
    t->snap.state = final;
    t->snap.elapsed = run_elapsed(j);
    t->snap.eta = t->snap.eta_run = t->snap.eval_eta = 0;
    t->final_state = final;
    pthread_mutex_unlock(&t->mu);
    write_progress(j, 1);
    /* The others end once rank 0 has written everything: mpirun ends the job when the first rank exits
     * with a non-zero status. A failed rank does not wait: its exit makes mpirun stop the others. */
    vt_err ignored;
    if (j->d && final != TRAIN_FAILED)
        dist_barrier(j->d, "the end of the run", &ignored);
    /* A new run that failed before writing config.json (no data set, a model too big) is no run: leave no
     * directory behind to clutter the runs folder and the Compare screen. */
    char cfgpath[4200], progpath[4200];
    if (final == TRAIN_FAILED && j->owner && !j->cfg.resume && !j->dir_lost &&
        !run_path(cfgpath, sizeof cfgpath, j->cfg.run_dir, RUN_CONFIG, &ignored) &&
        !run_path(progpath, sizeof progpath, j->cfg.run_dir, RUN_PROGRESS, &ignored) && access(cfgpath, F_OK) != 0) {
        char lockpath[4200];
        unlink(progpath);
        char curvepath[4200];
        if (!run_path(curvepath, sizeof curvepath, j->cfg.run_dir, RUN_CURVE, &ignored))
            unlink(curvepath);
        if (!run_path(lockpath, sizeof lockpath, j->cfg.run_dir, RUN_LOCK, &ignored))
            unlink(lockpath); /* still held by this process until the trainer goes; nobody else can want it */
        if (t->made_dir)
            rmdir(j->cfg.run_dir);
    }
    pthread_mutex_lock(&t->mu);
    wake_locked(t, 1);
    pthread_mutex_unlock(&t->mu);

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

/* Whether dir holds anything but the run's lock. */
static int holds_files(const char *dir)
{
    DIR *d = opendir(dir);
    int entries = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && strcmp(e->d_name, RUN_LOCK) != 0;
    if (d)
        closedir(d);
    return entries;
}

int train_check_new_run_dir(const char *dir, const char *flag, vt_err *err)
{
    char cfgpath[4200], ckpath[4200];
    if (run_path(cfgpath, sizeof cfgpath, dir, RUN_CONFIG, err) ||
        run_path(ckpath, sizeof ckpath, dir, RUN_CHECKPOINT, err))
        return VT_EUSAGE;
    if (access(cfgpath, F_OK) == 0 || access(ckpath, F_OK) == 0)
        return vt_fail(err, VT_EUSAGE, "%s: %s already holds a run (continue it with --resume %s, or pick another "
                       "directory)", flag, dir, dir);
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
        return vt_fail(err, VT_EUSAGE, "%s: %s is a file, not a directory", flag, dir);
    /* An exact directory must be new or empty: `--run-dir runs` (meant as --runs) would otherwise mix a run's
     * files with the runs beside it. */
    if (access(dir, F_OK) == 0 && holds_files(dir))
        return vt_fail(err, VT_EUSAGE, "%s: %s is not empty (a new run needs a new or empty directory; --runs %s "
                       "puts each run in its own folder under it)", flag, dir, dir);
    return VT_OK;
}

/* Picks and creates the run directory of a new run (refusing one that already holds a run), or checks the one
 * to resume, and takes its lock before anything is written: one process per run directory. *made says
 * whether the directory itself is new. */
static int make_run_dir(train_config *cfg, int *made, int *lock_fd, vt_err *err)
{
    *made = 0;
    *lock_fd = -1;
    char cfgpath[4200], ckpath[4200];
    if (cfg->resume) {
        if (run_path(cfgpath, sizeof cfgpath, cfg->run_dir, RUN_CONFIG, err) ||
            run_path(ckpath, sizeof ckpath, cfg->run_dir, RUN_CHECKPOINT, err))
            return VT_EUSAGE;
        if (access(cfgpath, R_OK) != 0)
            return vt_fail(err, VT_EUSAGE, "--resume: %s: no readable %s (not a run directory?)", cfg->run_dir,
                           RUN_CONFIG);
        struct stat st;
        if (lstat(ckpath, &st) != 0 && errno == ENOENT)
            return vt_fail(err, VT_EUSAGE, "--resume: %s: no %s yet (the run never finished an epoch or stopped)",
                           cfg->run_dir, RUN_CHECKPOINT);
        /* Two processes writing one run directory would interleave their files: the lock lets one in. */
        int rc = run_lock_take(cfg->run_dir, "trained", lock_fd, NULL, err);
        if (rc)
            return rc;
        return VT_OK;
    }
    const char *flag = cfg->run_dir[0] ? "--run-dir" : "--runs";
    if (!cfg->run_dir[0]) {
        char base[4096];
        run_default_dir(cfg, base, sizeof base);
        snprintf(cfg->run_dir, sizeof cfg->run_dir, "%s", base);
        /* Two runs started in the same second get -2, -3, ... */
        for (int i = 2; access(cfg->run_dir, F_OK) == 0 && i < 1000; i++)
            if (snprintf(cfg->run_dir, sizeof cfg->run_dir, "%s-%d", base, i) >= (int)sizeof cfg->run_dir)
                return vt_fail(err, VT_EUSAGE, "--runs: %s: path too long", cfg->runs);
    }
    int rc = train_check_new_run_dir(cfg->run_dir, flag, err);
    if (rc)
        return rc;
    vt_err mk;
    int existed = access(cfg->run_dir, F_OK) == 0;
    if (vt_mkdirs(cfg->run_dir, &mk) != VT_OK) {
        /* A full disk or a read-only one is the system's failure (exit 1); a bad path is the user's (2). */
        int e = errno;
        return vt_fail(err, e == ENOSPC || e == EDQUOT || e == EROFS || e == EIO ? VT_EIO : VT_EUSAGE, "%s: %s", flag,
                       mk.msg);
    }
    *made = !existed;
    rc = run_lock_take(cfg->run_dir, "trained", lock_fd, NULL, err);
    /* Checked again under the lock: another process may have started a run there since. */
    if (!rc && holds_files(cfg->run_dir)) {
        run_lock_release(*lock_fd);
        *lock_fd = -1;
        rc = vt_fail(err, VT_EUSAGE, "%s: %s was taken by another run just now", flag, cfg->run_dir);
    }
    if (rc && *made) {
        char lockpath[4200];
        if (!run_path(lockpath, sizeof lockpath, cfg->run_dir, RUN_LOCK, &mk) && !holds_files(cfg->run_dir))
            unlink(lockpath), rmdir(cfg->run_dir);
        *made = 0;
    }
    return rc;
}

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
    *out = NULL;
    /* The other ranks have rank 0's config, which rank 0 checks: one verdict for all. */
    int rank = train_dist_rank(d), rc = rank == 0 ? train_config_check(cfg, err) : VT_OK;
    trainer *t = calloc(1, sizeof *t);
    if (!t && !rc)
        rc = vt_fail(err, VT_EIO, "out of memory for the trainer");
    if (t) {
        t->cfg = *cfg;
        t->dist = d;
        t->lock_fd = -1;
    }
    if (!rc && rank == 0)
        rc = make_run_dir(&t->cfg, &t->made_dir, &t->lock_fd, err);
    if (d && t)
        rc = share_run_dir(t, rc, err);
    if (rc) {
        if (t)
            run_lock_release(t->lock_fd);
        free(t);
        return rc;
    }
    if ((rc = vt_wake_open(t->wake, err)) != VT_OK) {
        run_lock_release(t->lock_fd);
        free(t);
        return rc;
    }
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cond, NULL);
    train_snapshot *s = &t->snap;
    s->state = TRAIN_IDLE;
    snprintf(s->model, sizeof s->model, "%s", t->cfg.model);
    snprintf(s->run_dir, sizeof s->run_dir, "%s", t->cfg.run_dir);
    s->epochs = t->cfg.epochs;
    s->lr = t->cfg.lr;
    s->loss = s->acc = s->mse = s->top5 = NAN;
    s->best_val_acc = s->last_val_acc = NAN;
    s->curve_every = 1;
    s->ranks = train_dist_size(t->dist);
    s->allreduce_wait = NAN;
    t->final_state = TRAIN_IDLE;
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
    j->owner = train_dist_rank(t->dist) == 0;
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
    run_lock_release(t->lock_fd);
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
        wake_locked(t, 1);
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
