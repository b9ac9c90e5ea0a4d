/* train_internal: what the files of src/train share and nobody else needs. Includes nn.h and data.h,
 * which the public train.h never does. */
#ifndef VGGTOP_TRAIN_INTERNAL_H
#define VGGTOP_TRAIN_INTERNAL_H

#include <stdio.h>

#include "vggtop/data.h"
#include "vggtop/nn.h"
#include "vggtop/train.h"

/* "<dir>/<name>" into buf; VT_EUSAGE when it does not fit. */
int run_path(char *buf, size_t size, const char *dir, const char *name, vt_err *err);
/* Takes the run's lock (<dir>/run.lock, created when missing) for this process: VT_OK with *fd to keep open
 * for as long as the process writes the run; VT_EUSAGE naming the holder's pid and role ("is being trained by
 * process 123") when another process holds it (*holder: its pid, -1 when unknown). The file's contents are
 * left alone: a process that then refuses leaves the run as it found it. */
int run_lock_take(const char *dir, int *fd, long *holder, vt_err *err);
/* Writes this process's pid and `role` ("trained" or "evaluated", for the messages) into the lock held in fd:
 * called once the process is sure to write the run. */
int run_lock_claim(int fd, const char *dir, const char *role, vt_err *err);
void run_lock_release(int fd);

/* A path made absolute (as it is, when realpath fails: a message still names it), and a data set's
 * fingerprint as config.json keeps it. */
void train_path_absolute(const char *path, char *buf, size_t size);
void train_data_fingerprint(const dataset *ds, char *buf, size_t size);
/* The side a data set of native side n is given to cfg's model (resize and minimum applied). */
int train_input_side(const train_config *cfg, int native);
/* The model config of cfg for images of height x width x channels and `classes` classes. */
int train_model_config(const train_config *cfg, int height, int width, int channels, int classes, model_config *mc,
                       vt_err *err);

/* The settings' part of config.json: every row of train_fields with a JSON key, at that key (objects on the
 * path are created). -1 when out of memory. */
struct cJSON;
int train_settings_to_json(const train_config *cfg, struct cJSON *root);
/* Reads every row's key back into cfg through the row's own validator; VT_EUSAGE naming path and the key. */
int train_settings_from_json(const struct cJSON *root, train_config *cfg, const char *path, vt_err *err);

struct cJSON;

/* ---- the run directory's files (rundir.c and one file per family) ---------------------------------------- */

/* The largest size file `name` of a run may have (RUN_MAX_*_BYTES; progress.json's for a name not listed). */
long long run_file_max(const char *name);
/* Reads file `name` of dir when it is there: VT_OK with *text NULL when it is not (as lstat sees it); its path
 * into path. */
int run_read_optional(const char *dir, const char *name, char *path, size_t size, char **text, vt_err *err);
/* Writes root as text (and a final newline) to path atomically, and frees root. */
int run_write_json(const char *path, struct cJSON *root, vt_err *err);
/* Splits the next line off *cursor (NUL-terminating it, a CR before the LF dropped); NULL at the end. */
char *run_next_line(char **cursor);
/* The readers of run_load's parts: each sets its RUN_PART_* bit in run->parts when its file is there. */
int run_read_history(const char *dir, run_data *run, vt_err *err);
int run_read_progress(const char *dir, run_data *run, vt_err *err);
/* predictions.csv and predictions.json. */
int run_read_predictions(const char *dir, run_data *run, vt_err *err);

/* A rows file of a run directory (per_class.csv, layers.csv, curve.csv): its name, its header, and the parser of
 * one line into a row_size-byte row (0 with the reason in why for a line that is not one). Every row struct
 * starts with its epoch (an int). */
typedef struct rows_kind {
    const char *name, *header;
    size_t row_size;
    int per_epoch; /* the most rows an epoch may have */
    int (*parse)(const char *line, void *row, char *why, size_t size);
} rows_kind;
/* Writes an epoch's rows (lines of text) into k's file: the header, the rows of earlier epochs kept (later ones,
 * left by a run killed after writing them, go, and so does a line that is not a row), then these; atomically. */
int run_write_rows(const char *dir, const rows_kind *k, int epoch, const char *rows, vt_err *err);
/* Reads one (absent: 0 rows) into *rows, malloc'ed: the header, then at most one row a line (blank lines
 * skipped) and per_epoch rows an epoch, so both the file and the limit bound the allocation; VT_EUSAGE naming
 * the file, the line and the reason. */
int run_read_rows(const char *dir, const rows_kind *k, void **rows, long *n, vt_err *err);
/* A row's fields, left to right, each range-checked before anything computes with it: *p moves past the field
 * and its comma (the last field must end the line); 0 with "NAME is not a ... in LO..HI" in why. A whole
 * number; a number (NaN, written "nan", only when nan_ok; a subnormal is a number). */
int run_field_whole(const char **p, int last, const char *name, long lo, long hi, long *out, char *why, size_t size);
int run_field_number(const char **p, int last, const char *name, double lo, double hi, int nan_ok, double *out,
                     char *why, size_t size);

/* Parses config.json into run->config and the data set's description in run (run_config.c, as the writer below). */
int run_read_config(const char *dir, run_data *run, vt_err *err);

/* The ranks of a data-parallel run, for config.json: n of them, each one's host and threads. */
#define DIST_HOST_MAX 64
typedef struct run_ranks {
    int n;
    const char (*hosts)[DIST_HOST_MAX];
    const int *threads;
} run_ranks;

/* Writes config.json: every setting, the data set and the model's input; with ranks (NULL when training
 * alone) a "distributed" object: {"ranks": n, "hosts": [...], "threads_per_rank": [...]}. created: the run's
 * creation time (kept on --resume), NULL for now. */
int train_write_config(const char *dir, const train_config *cfg, const dataset *ds, const model_config *mc,
                       long long params, const char *created, const run_ranks *ranks, vt_err *err);

/* Run-directory writers (all atomic), each beside its file's reader: run_history.c, run_progress.c, curve.c,
 * run_predictions.c. */
int run_write_history(const char *dir, const train_epoch *rows, int n, vt_err *err);
int run_write_progress(const char *dir, const train_snapshot *snap, vt_err *err);
/* curve.csv from the snapshot's running curve (src/train/curve.c). */
int run_write_curve(const char *dir, const train_snapshot *snap, vt_err *err);
/* predictions.csv, confusion.csv and report.txt from n test predictions of C classes, and predictions.json:
 * the weights' position (after epoch finished epochs and batch batches of the next; epoch < 0: unknown); with
 * history (an epoch's own evaluation, not `vggtop evaluate`) that epoch's rows of per_class.csv too. */
int run_write_evaluation(const char *dir, int epoch, long batch, int history, const int *y_true, const float *probs,
                         long n, int C, const char *const *names, vt_err *err);
/* The position a checkpoint's extra blob records (its first 32 bytes are enough): finished epochs and batches
 * of the next. -1 when the blob is not the engine's. */
int train_blob_position(const void *blob, size_t len, int *epochs_done, long *batch_pos);

/* ---- the snapshot's derived numbers (snapshot.c): rates, ETAs and the running curve, in one place ---- */

/* Where the epoch loop is after a batch, for train_snapshot_batch. */
typedef struct train_clock {
    int epoch, epochs;         /* 0-based epoch in progress, of epochs */
    long batch, batches;       /* batches done of it (a count: b + 1), of batches an epoch */
    long done_here;            /* of them, done in this session (a resumed epoch began at batch - done_here) */
    long samples_here;         /* images trained in this session's part of the epoch (all ranks) */
    double busy;               /* seconds those batches took (filling and stepping) */
    double eval_seconds;       /* the last test-set pass (0: none yet) */
    double last_epoch_seconds; /* the previous epoch's length, evaluation included (epoch > 0) */
    long n_test;
} train_clock;

/* An epoch's start (e 0-based, from batch first, samples done before this session): the running numbers
 * cleared and the curve emptied; the run's time left from the last epoch's length (nothing before the first
 * epoch's first batch), so the header keeps an ETA over every epoch start. */
void train_snapshot_epoch(train_snapshot *s, int e, int epochs, long first, long samples, double last_epoch_seconds);
/* After a batch: the running means of sums (top-5 NaN when unknown), img/s and ms per step, the epoch's and
 * the run's time left, and the curve's point (every curve_every batches; a full curve keeps every other point
 * and doubles the stride). Returns the seconds a later epoch is expected to take, its test-set pass included
 * (before the first pass: a third of a training step's time per test image). */
double train_snapshot_batch(train_snapshot *s, const step_stats *sums, int top5_unknown, const train_clock *c);
/* During a test-set pass: done of total steps after spent seconds; the run's time left adds later_epochs
 * epochs of per_epoch seconds. */
void train_snapshot_eval(train_snapshot *s, long done, long total, double spent, int later_epochs, double per_epoch);

/* ---- the recorder: every write of the engine into its run directory (recorder.c) ------------------------- */

/* The engine never names a run-directory file itself: config.json, progress.json and curve.csv, layers.csv,
 * the evaluation files, history.csv, the checkpoints, the directory itself and its removal all go through
 * one of these. The directory recorder writes them (through the run files' writers), the null recorder of an
 * MPI rank other than 0 writes nothing, and a test's recorder keeps them in memory. A new run file is one
 * entry here, its writer beside its reader (run_*.c, a row of rundir.c's table), and one call in the engine. */
typedef struct recorder recorder;
typedef struct recorder_ops {
    /* The run directory of a new run (cfg->run_dir picked when empty, made, refused when it holds a run) or
     * of a run to resume (checked), locked for this process; on the caller's thread, before the engine's. */
    int (*open)(recorder *r, train_config *cfg, vt_err *err);
    /* VT_OK while the directory is still the one locked; VT_EIO naming it once it was removed or replaced
     * (from then on every write fails so). */
    int (*check)(recorder *r, vt_err *err);
    /* A resume whose checkpoint was taken, before its first write: leftovers of a killed writer go; the run's
     * creation stamp (from config.json; "" when unknown) into created. */
    int (*resume)(recorder *r, char *created, size_t size, vt_err *err);
    int (*config)(recorder *r, const train_config *cfg, const dataset *ds, const model_config *mc,
                  long long params, const char *created, const run_ranks *ranks, vt_err *err);
    /* progress.json and the running curve (curve.csv) of the snapshot. */
    int (*progress)(recorder *r, const train_snapshot *s, vt_err *err);
    int (*layers)(recorder *r, int epoch, const run_layer_row *rows, int n, vt_err *err);
    /* An epoch's evaluation: n test predictions of C classes (run_write_evaluation with its history rows). */
    int (*evaluation)(recorder *r, int epoch, const int *y_true, const float *probs, long n, int C,
                      const char *const *names, vt_err *err);
    int (*history)(recorder *r, const train_epoch *rows, int n, vt_err *err);
    /* Checkpoint `name` (RUN_CHECKPOINT, RUN_BEST, RUN_ES_BEST) of m with the engine's blob. */
    int (*checkpoint)(recorder *r, const char *name, const model *m, const void *blob, size_t len, vt_err *err);
    /* Checkpoint `name` into m (checked to be of m's shape) and its blob into blob (cap bytes): *len 0 when
     * this recorder holds no checkpoints (the null recorder: rank 0 shares its own). */
    int (*restore)(recorder *r, const char *name, model *m, void *blob, size_t cap, size_t *len, vt_err *err);
    /* The newest command another process left (run_command_read); kind NONE and seq 0 when there is none. */
    int (*command)(recorder *r, run_command *c, vt_err *err);
    /* A new run that failed before its config.json was written is no run: its files and directory go. */
    void (*discard)(recorder *r);
    /* The run has ended (finished, stopped or failed) and nothing more is written: the lock goes now, not when
     * the process that trained it (a front end showing the result) lets the trainer go, so that `evaluate`
     * and `train --resume` from another shell are let in. */
    void (*release)(recorder *r);
    /* Releases the lock (when release has not) and frees the recorder. */
    void (*destroy)(recorder *r);
} recorder_ops;

struct recorder {
    const recorder_ops *ops;
    int keeps; /* 0: nothing is kept (the null recorder): the engine skips measurements only a record reads */
};

/* The recorder of a run directory (cfg->run_dir once opened). */
int recorder_dir_create(recorder **out, vt_err *err);
/* The recorder that writes nothing (one shared instance; destroy does nothing). */
recorder *recorder_null(void);
/* trainer_create_dist with the run's records going to rec (opened here, destroyed with the trainer, also when
 * this fails). */
int trainer_create_recorded(const train_config *cfg, train_dist *d, recorder *rec, trainer **out, vt_err *err);

/* Keras' categorical cross-entropy, accuracy, mse and top-5 accuracy of n predictions, into row's val_loss,
 * val_acc, val_mse and val_top5. */
void train_val_metrics(const float *probs, const int *y, long n, int C, train_epoch *row);

/* Predicts images [from, to) of split DATA_TEST of ds with m in batches of batch (m sized for it) into their
 * rows of probs (n_test, classes), the images prepared by pp (train_preprocess's; its augmentation applies to
 * training images only). stop (may be NULL) is asked before every batch; when it says so, *stopped is set
 * and the rest is left. */
int train_predict_test(model *m, const dataset *ds, const preprocess *pp, long from, long to, int batch,
                       float *x_buf, float *probs, int (*stop)(void *), void *arg, int *stopped, vt_err *err);

/* ---- a run's model outside training (predict.c) ---------------------------------------------------------- */

/* The model of a run's RUN_CHECKPOINT (RUN_BEST with best) with its weights, created from the config the
 * checkpoint holds (no data set needed). VT_EUSAGE naming a missing or damaged checkpoint. */
int train_load_run_model(const char *dir, int best, model **m, vt_err *err);

/* ---- starting weights (weights.c) ---------------------------------------------------------------------- */

/* The images' preparation a run's settings ask for: x / 255, or Keras' caffe mode with ImageNet weights. */
void train_preprocess(const train_config *cfg, preprocess *pp);
/* --weights: loads a Keras HDF5 file into m (by layer name; --skip-mismatch), or for "imagenet" the
 * keras.applications file of m's model from the Keras cache (~/.keras/models; downloaded there when it is
 * not, from keras.applications' address or $VGGTOP_IMAGENET_URL), checked against its MD5.
 * Nothing when cfg->weights is empty. VT_EUSAGE with one line. */
int train_load_weights(const train_config *cfg, model *m, vt_err *err);

/* Removes "<name>.tmp.<pid>" leftovers of a process killed while writing (never another live writer's:
 * only files whose pid is not running). */
void run_clean_temporaries(const char *dir);

/* ---- data-parallel training: the arithmetic (split.c, no MPI) -------------------------------------- */

/* Rank `rank`'s share [*lo, *hi) of n items over size ranks: contiguous, in rank order, the first n % size
 * ranks one item more. */
void dist_slice(long n, int size, int rank, long *lo, long *hi);
/* The default threads of a rank: the host's cores over the ranks on the host, at least 1. */
int dist_threads_per_rank(int cores, int local_ranks);

/* The gradient block cut into allreduce buckets as a backward pass completes it from its end: floats from
 * `unsent` on are sent. */
typedef struct grad_buckets {
    size_t cap;     /* floats a bucket gathers before it goes (the last may be smaller) */
    size_t unsent;
} grad_buckets;
void grad_buckets_begin(grad_buckets *b, size_t total, size_t cap);
/* The block from `from` on is final: the size of the bucket to send now, starting at *off, or 0 to wait for
 * more. from == 0 sends all that is left. */
size_t grad_buckets_ready(grad_buckets *b, size_t from, size_t *off);

/* --allreduce-precision: the width the gradient buckets travel at (the order of the setting's choices). */
typedef enum { DIST_FLOAT32, DIST_BF16, DIST_FP16 } dist_precision;
/* One float32 to bf16 or fp16 and back (half.c): round to nearest, ties to even; fp16 keeps subnormals,
 * overflows to infinity past 65504; a NaN stays a NaN. */
uint16_t dist_half_from_float(dist_precision p, float f);
float dist_half_to_float(dist_precision p, uint16_t h);
/* n of them: x to h, h to x; inout[i] = the rounded float32 sum of in[i] and inout[i] (the MPI operation). */
void dist_half_encode(dist_precision p, const float *x, uint16_t *h, size_t n);
void dist_half_decode(dist_precision p, const uint16_t *h, float *x, size_t n);
void dist_half_sum(dist_precision p, const uint16_t *in, uint16_t *inout, size_t n);
/* The instructions the three above use, the best this CPU has (asked each call): the same bits from each. The
 * _isa forms take it from the caller, so that a test compares every kind the CPU runs with the scalar code. */
typedef enum { HALF_SCALAR, HALF_AVX2, HALF_AVX512 } half_isa;
half_isa dist_half_isa(void);
void dist_half_encode_isa(half_isa isa, dist_precision p, const float *x, uint16_t *h, size_t n);
void dist_half_decode_isa(half_isa isa, dist_precision p, const uint16_t *h, float *x, size_t n);
void dist_half_sum_isa(half_isa isa, dist_precision p, const uint16_t *in, uint16_t *inout, size_t n);

/* ---- data-parallel training: the MPI side (dist.c) -------------------------------------------------- */

/* The threads a rank takes by default (dist_threads_per_rank of this host; d may be NULL). */
int dist_threads_default(const train_dist *d);
/* stop_asked(arg) says a stop was asked (SIGTERM): the waits then give up sooner. */
void dist_set_stop_probe(train_dist *d, int (*stop_asked)(void *), void *arg);
/* The collectives, each waited for with a deadline (VT_EIO with one line naming what when a rank is lost):
 * rank 0's bytes to all; v[0..n) summed (or their maximum) over the ranks, in place; a barrier; each rank's
 * dist_slice of n rows of width floats gathered into rows on rank 0; every rank's host name and threads
 * into hosts and thread_counts on rank 0 (size entries). what names the moment for the message. */
int dist_bcast(train_dist *d, void *buf, size_t bytes, const char *what, vt_err *err);
int dist_allreduce(train_dist *d, double *v, int n, int max, const char *what, vt_err *err);
int dist_barrier(train_dist *d, const char *what, vt_err *err);
int dist_gather_rows(train_dist *d, float *rows, long n, int width, vt_err *err);
int dist_ranks_describe(train_dist *d, int threads, char (*hosts)[DIST_HOST_MAX], int *thread_counts, vt_err *err);
/* After a step each rank took on its own (opening the data set, which may be missing on one host): rc is this
 * rank's result, and every rank returns the error of the lowest failing rank, rank 0 with its message (prefixed
 * "rank R of N on host H: " when R is another rank), the others with an empty one, so that one line is printed. */
int dist_agree(train_dist *d, int rc, vt_err *err);
/* Compares a checksum of the weights over the ranks: VT_EINTERNAL with a clear line when they differ. */
int dist_check_weights(train_dist *d, const float *params, size_t count, long step, vt_err *err);
/* One SGD step of a global batch of total images of which x, y hold this rank's n: the slice's gradient,
 * its buckets allreduced as the backward pass completes them, the update; *stats gets the whole batch's
 * sums (the same on every rank). */
int dist_train_step(train_dist *d, model *m, const float *x, const int *y, int n, int total, const sgd_config *sgd,
                    step_stats *stats, vt_err *err);
/* Where the steps' time went: the share spent waiting for the allreduce after the backward pass is what
 * the overlap did not hide. */
typedef struct dist_timing {
    long steps;
    double step_seconds, wait_seconds;
    int shared; /* the last step's gradients went through the shared window (dist_shm.h), not MPI's allreduce */
} dist_timing;
dist_timing dist_get_timing(const train_dist *d);
/* --allreduce-precision: the width of the buckets from the next step on (float32 by default). */
void dist_set_precision(train_dist *d, dist_precision p);
/* The floats an allreduce bucket gathers (1 Mi floats, 4 MB, by default; tests make them small). */
void dist_set_bucket_floats(train_dist *d, size_t floats);
/* Whether the ranks lost each other (a collective failed or timed out). */
int dist_broken(const train_dist *d);
/* Whether m's weights and optimiser state are the one copy the ranks of this host share (dist_shm.h). */
int dist_shares_state(const train_dist *d, model *m);

/* The median of v[0..n) (sorted in place), NaN when n < 1 (notify.c: the step times; sweep.c: the pruner). */
double train_median(double *v, int n);

/* A sweep folder's JSON file dir/name (sweep.c's sweep.json, sweep_control.c's commands.json), at most limit
 * bytes, parsed into *out (NULL when it is not JSON: the caller names what it expected); its path into path. */
int sweep_json_read(const char *dir, const char *name, size_t limit, struct cJSON **out, char *path, size_t size,
                    vt_err *err);

#endif
