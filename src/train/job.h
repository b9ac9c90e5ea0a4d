/* train/job: what the engine's files share (engine.c the thread, the loop and the commands; prepare.c the
 * start of a run; batch.c one batch; epoch_end.c the end of an epoch; blob.c the checkpoint's training
 * state). Nothing outside the engine includes it. */
#ifndef VGGTOP_TRAIN_JOB_H
#define VGGTOP_TRAIN_JOB_H

#include <pthread.h>
#include <stdint.h>

#include "train_internal.h"

struct trainer {
    train_config cfg;
    pthread_t thread;
    int started, joined;
    int wake[2];            /* self-pipe: [0] for the UI's poll, [1] written by the engine */
    recorder *rec;          /* where the run's files go (nothing, for an MPI rank other than 0) */

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
    train_dist *dist;       /* one rank of a data-parallel run (NULL: the process trains alone) */
};

/* The checkpoint's extra blob (blob.c): where the engine is, so a resumed run continues exactly. The header,
 * then the history's rows (train_epoch) of the finished epochs. */
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

#define BLOB_MAX (sizeof(blob_header) + sizeof(train_epoch) * TRAIN_MAX_EPOCHS)

#define LAYER_SAMPLE_EVERY 200 /* batches between two measurements of the layers' health */
#define DIST_CHECK_EVERY 200   /* steps between the ranks' comparisons of their weights */

/* Engine-private state of one run. */
typedef struct job {
    trainer *t;
    train_config cfg;
    recorder *rec;          /* t->rec */
    train_dist *d;          /* NULL when training alone */
    int step_batch;         /* the images one step of this process holds: the batch, or a rank's largest slice
                               of it (the model is sized for that: oneDNN runs a smaller batch at full cost) */
    int may_write;          /* 0 until the run actually starts (a resume: its checkpoint loaded and checked) */
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
    long cmd_seen;          /* the last commands.json seq taken (0: none yet in this session) */
    double suspended_seen;  /* of t->suspended, what was already taken off */
    double cmd_next;        /* when to look at commands.json again */
    train_snapshot progress_copy;   /* the engine's copy for progress.json */
    unsigned char blob[BLOB_MAX];   /* the checkpoint's extra blob */
    size_t blob_len;                /* as restored */
    int blob_taken;                 /* this process took its position from the blob (rank 0 on --resume) */
} job;

/* ---- publishing (engine.c) ---- */
/* One byte to the wake pipe unless one is pending; batch progress at most every 50 ms. mu held. */
void job_wake_locked(trainer *t, int force);
void job_set_state(trainer *t, train_state state, const char *message);
/* progress.json and curve.csv, at most every 0.5 s unless forced. A failed write goes to the message and
 * does not stop training (the checkpoint's write would catch a full disk); a lost run directory does: its
 * error is returned. */
int job_write_progress(job *j, int force, vt_err *err);
/* The seconds the process was stopped since the last call (Ctrl-Z), taken off elapsed. mu not held. */
double job_take_suspended(job *j);
/* Seconds the run has worked: earlier sessions, then this one without its pauses. */
double job_elapsed(const job *j);
/* Takes a command another process left (vggtop ctl), at most every 0.2 s: 1 when one was taken. */
int job_take_command_file(job *j);

/* ---- the start (prepare.c) ---- */
/* Loads data and model, creates or restores the run's records, publishes what was loaded. */
int job_prepare(job *j, vt_err *err);
/* Rank 0's weights and optimiser state (velocity, second moment, step count) to every rank. */
int job_share_weights(job *j, vt_err *err);

/* ---- one batch (batch.c) ---- */
/* Trains batch b of epoch e (0-based; first: the session's first batch of it): this rank's slice of it
 * filled, the layers sampled now and then, the step, every DIST_CHECK_EVERY steps the ranks' weights
 * compared. The seconds it took (filling and stepping) are added to *busy, the time the process was stopped
 * meanwhile (Ctrl-Z) moved from *busy to *paused. A failure's err names the epoch and batch. */
int job_batch(job *j, int e, long b, long first, double *busy, double *paused, vt_err *err);
/* The epoch's layers.csv rows (weight norms at its end, the sampled means of the rest) to the recorder. */
int job_record_layers(job *j, int epoch, vt_err *err);

/* ---- the end of an epoch (epoch_end.c) ---- */
/* Evaluates epoch e, records it, runs the callbacks, checkpoints. A stop asked for during the test-set pass
 * leaves it: *stopped is set and nothing is recorded. */
int job_finish_epoch(job *j, int e, double epoch_start, int *stopped, vt_err *err);
/* Epoch e (from 0) diverged, at its end or at a batch: the snapshot says so, for the alerts (the failure's
 * cause, as data). */
void job_mark_diverged(job *j, int e);

/* ---- the checkpoint (blob.c) ---- */
/* The run's checkpoint `name` of the model and the engine's position (j->blob as scratch). */
int job_save_checkpoint(job *j, const char *name, vt_err *err);
/* On --resume: the model and the position from checkpoint.bin, checked to belong to this run (a recorder
 * that holds none leaves both, and blob_taken 0). */
int job_load_checkpoint(job *j, vt_err *err);
/* The position from the blob in j->blob (blob_len bytes), checked against the run; what names it. */
int job_take_blob(job *j, const char *what, vt_err *err);

#endif
