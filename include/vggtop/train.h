/* train: the training engine on its own thread, run directories, checkpoints and resume.
 *
 * Everything here is plain data: the front end and the CLI include this header and never see a tensor
 * (they never include nn.h). The engine publishes its state as a fixed-size snapshot copied under a
 * mutex (cmus style); commands go back as flags read between batches; a self-pipe wakes a poll() loop.
 *
 * A run directory is the durable record of a run, with fixed file names:
 *   config.json      every setting, the data set (shape, class names, CIFAR-100 coarse names and map)
 *   history.csv      epoch,loss,acc,mse,val_loss,val_acc,val_mse,lr,seconds,top_k_categorical_accuracy,
 *                    val_top_k_categorical_accuracy (one row per finished epoch; the first 9 columns in older runs)
 *   progress.json    the latest per-batch state (rewritten atomically at most ~2x per second)
 *   checkpoint.bin   weights, optimiser state, position, RNG state, history (nn.h checkpoint format)
 *   predictions.csv  index,true,pred,p0,...,p{C-1} of the test set at the last evaluation
 *   report.txt       the classification report of that evaluation
 *   confusion.csv    C x C counts, rows = true class
 *   curve.csv        epoch,batch,loss,acc: the running curve of the epoch in progress (at most
 *                    TRAIN_CURVE_MAX rows, thinned as the epoch grows), so a watcher sees the whole epoch
 *   commands.json    written by other processes (vggtop ctl, vggtop watch): a command for the engine, which
 *                    reads it between batches and acknowledges its "seq" in progress.json's "command_ack"
 * Every file is written atomically (util.h vt_afile_*). */
#ifndef VGGTOP_TRAIN_H
#define VGGTOP_TRAIN_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "vggtop/util.h"

#define TRAIN_MAX_EPOCHS 1000 /* bounded history in snapshots and checkpoints */
#define TRAIN_CURVE_MAX 512   /* points of the in-epoch running curve */

/* Fixed file names inside a run directory. */
#define RUN_CONFIG "config.json"
#define RUN_HISTORY "history.csv"
#define RUN_PROGRESS "progress.json"
#define RUN_CHECKPOINT "checkpoint.bin"
#define RUN_PREDICTIONS "predictions.csv"
#define RUN_PRED_EPOCH "predictions.json" /* {"epoch": N, "batch": B}: the weights predictions.csv is of */
#define RUN_REPORT "report.txt"
#define RUN_CONFUSION "confusion.csv"
#define RUN_CURVE "curve.csv"
#define RUN_COMMANDS "commands.json"
#define RUN_LOCK "run.lock"
#define RUN_PER_CLASS "per_class.csv" /* epoch,class,precision,recall,f1,support after every epoch */
#define PER_CLASS_HEADER "epoch,class,precision,recall,f1,support"
#define RUN_LAYERS "layers.csv"       /* per weighted layer and epoch: norms, update ratio, dead ReLUs */
#define LAYERS_HEADER "epoch,layer,weight_norm,grad_norm,update_ratio,dead_relu,act_mean,act_std"
#define RUN_BEST "best.bin"               /* --save-best: the checkpoint of the best epoch */
#define RUN_ES_BEST "early_stop_best.bin" /* --restore-best: the weights early stopping goes back to */

/* The largest run-directory files vggtop reads; a larger one is refused before anything is allocated. */
#define RUN_MAX_CONFIG_BYTES (16LL << 20)
#define RUN_MAX_HISTORY_BYTES (4LL << 20)
#define RUN_MAX_PROGRESS_BYTES (1LL << 20)
#define RUN_MAX_PREDICTIONS_BYTES (1LL << 30)
#define RUN_MAX_PER_CLASS_BYTES (64LL << 20) /* 1000 epochs of 1000 classes */
#define RUN_MAX_LAYERS_BYTES (16LL << 20)    /* 1000 epochs of RUN_MAX_LAYERS layers */
/* The most weighted layers of a model that layers.csv has a row of, each epoch. */
#define RUN_MAX_LAYERS 64
/* The most test images of one class per_class.csv may count (so an epoch's VT_MAX_CLASSES sum in a long). */
#define RUN_MAX_SUPPORT 1000000000000000L

/* ---- settings ------------------------------------------------------------------------------------ */

/* ---- history ------------------------------------------------------------------------------------------- */

/* One finished epoch: the seed's Keras history row. */
typedef struct train_epoch {
    double loss, acc, mse;             /* means over the epoch's training samples */
    double val_loss, val_acc, val_mse; /* on the test set after the epoch */
    double lr;                         /* the learning rate at the end of the epoch */
    double seconds;                    /* wall time of the epoch, evaluation included */
    double top5, val_top5;             /* Keras' top_k_categorical_accuracy (k = 5), train and test; NaN in
                                          runs made before vggtop measured it */
} train_epoch;

/* ---- callbacks (Keras' EarlyStopping, ReduceLROnPlateau, ModelCheckpoint and a schedule) ------------- */

/* What a callback watches: 0 is off. */
typedef enum { TRAIN_MON_NONE = 0, TRAIN_MON_VAL_LOSS, TRAIN_MON_VAL_ACC, TRAIN_MON_LOSS, TRAIN_MON_ACC } train_monitor;
/* "none", "val_loss", "val_acc", "loss", "acc", by train_monitor; NULL-terminated. */
extern const char *const train_monitor_names[];
typedef enum { TRAIN_MODE_AUTO = 0, TRAIN_MODE_MIN, TRAIN_MODE_MAX } train_mode;
typedef enum { TRAIN_SCHEDULE_NONE = 0, TRAIN_SCHEDULE_STEP, TRAIN_SCHEDULE_EXPONENTIAL, TRAIN_SCHEDULE_COSINE } train_schedule;

typedef struct train_callbacks {
    int es_monitor;        /* train_monitor; 0: no early stopping */
    int es_patience;       /* 0 */
    double es_min_delta;   /* 0 */
    int es_mode;           /* train_mode */
    int es_restore;        /* restore the best epoch's weights when it stops */
    int rp_monitor;        /* ReduceLROnPlateau; 0: off */
    double rp_factor;      /* 0.1 */
    int rp_patience;       /* 10 */
    double rp_min_delta;   /* 1e-4 */
    int rp_cooldown;       /* 0 */
    double rp_min_lr;      /* 0 */
    int rp_mode;           /* train_mode */
    int schedule;          /* train_schedule */
    int sched_every;       /* step and exponential: epochs per factor (10) */
    double sched_factor;   /* 0.5 */
    int sched_warmup;      /* cosine: epochs of linear warm-up (0) */
    double sched_min_lr;   /* cosine: the rate it ends at (0) */
    int best_monitor;      /* ModelCheckpoint(save_best_only) into best.bin; 0: off */
} train_callbacks;

/* The callbacks' state. It is a function of the history alone (callbacks_replay), so a resumed run gets it
 * back exactly without storing it. */
typedef struct callbacks_state {
    double es_best;
    int es_wait, es_best_epoch, es_stopped_epoch;
    double rp_best;
    int rp_wait, rp_cooldown;
    double best_value;
    int best_epoch;
} callbacks_state;

/* What an epoch's end asks for. */
typedef struct callbacks_actions {
    int stop;              /* early stopping: end the run (a normal end) */
    int restore_best;      /* ... with the weights of es_best_epoch */
    int es_improved;       /* this epoch is early stopping's new best (keep its weights for restore_best) */
    int save_best;         /* write best.bin: this epoch is the best of best_monitor so far */
    double lr;             /* the learning rate from the next epoch on */
    char reason[256];      /* why it stopped or changed the rate ("" when nothing happened) */
} callbacks_actions;

void callbacks_begin(const train_callbacks *cb, callbacks_state *st);
/* After epoch `epoch` (0-based) with its history row, trained at rate lr. */
void callbacks_epoch_end(const train_callbacks *cb, callbacks_state *st, int epoch, const train_epoch *row,
                         double lr, callbacks_actions *out);
/* The state after the first n history rows, as if they had just been trained (resume). 1 when they ended in
 * an early stop, which is part of the state: the run is over (its reason into reason), as it was when it
 * stopped; 0 otherwise. */
int callbacks_replay(const train_callbacks *cb, callbacks_state *st, const train_epoch *rows, int n, char *reason,
                     size_t size);
/* The rate of epoch `epoch` (0-based) of `epochs` under the schedule (lr0: the configured rate); lr_now when
 * there is no schedule. */
double callbacks_epoch_lr(const train_callbacks *cb, double lr0, double lr_now, int epoch, int epochs);

/* Every setting of `vggtop train`. Strings are fixed arrays so a config can be copied by value. */
typedef struct train_config {
    char model[32];        /* "vgg16", "vgg19", "vgg16-nopool", "cnn", "mlp" */
    char data[VT_PATH_MAX];       /* --data; "": $VGGTOP_DATA, then the places of data.h's search */
    int coarse;            /* --labels coarse: CIFAR-100's 20 superclasses */
    double validation_split;      /* --validation-split: a folder of class folders' held-out fraction (0: none) */
    char val_data[VT_PATH_MAX];   /* --val-data: its validation folder ("": none); absolute once a run starts */
    int resize;            /* -1: the model's default (48 for vgg16/vgg19, native otherwise); 0: native */
    int epochs;            /* 10 */
    int batch_size;        /* 32 */
    double lr;             /* 0.01 */
    double momentum;       /* 0 */
    int nesterov;          /* 0 */
    double weight_decay;   /* 0 */
    int augment;           /* random crop + horizontal flip of training images */
    long limit_train;      /* 0: all */
    long limit_test;       /* 0: all */
    uint64_t seed;         /* 1: weights, shuffling and augmentation all follow from it */
    int threads;           /* OpenBLAS and oneDNN threads; 0: one per core */
    char conv[512];        /* the convolution backends (nn's model_set_conv): "" for $VGGTOP_CONV or auto; after
                              the run starts, the choice per layer it resolved to (what --resume reuses) */
    int precision;         /* nn_precision: 0 float32, 1 mixed_bfloat16 (Keras' dtype policy names) */
    char weights[VT_PATH_MAX];    /* --weights: a Keras HDF5 file or "imagenet" to start from; "": none */
    int skip_mismatch;     /* --skip-mismatch: layers the file lacks or shapes differently stay as initialised */
    int freeze_base;       /* --freeze-base: only the top (Dense layers) trains */
    char runs[VT_PATH_MAX];       /* parent of new run directories ("runs") */
    char run_dir[VT_PATH_MAX];    /* an exact run directory; "": <runs>/<UTC timestamp>-<model> */
    int resume;            /* 1: continue the run in run_dir from its checkpoint (config from config.json) */
    train_callbacks cb;    /* all off by default */
    /* The data set a run was made with, from its config.json (data.path, absolute, and data.fingerprint as 16
     * hex digits); no flag sets them. "" for a new run and for runs made before the check. */
    char made_data[VT_PATH_MAX];
    char made_fingerprint[24];
    /* A --resume that changes settings (no setting of the table: set by vggtop train and the engine). */
    int resume_lr;          /* --lr given: it replaces the rate the checkpoint holds (a plateau's cut, ctl lr) */
    int allow_batch_change; /* --allow-batch-change: another --batch-size, from the start of an epoch */
    int resume_epoch;       /* the epochs done and the steps of the next when this session took the run up: */
    long resume_batch;      /* config.json's "changes" say from where a changed setting holds */
    /* Alerts of this session (not part of the run: config.json does not keep them; src/train/notify.c). */
    int notify;            /* a terminal notification and a log line at each event */
    char on_event[1024];   /* a command run at each event ("": none), split by notify_split */
    int hook_timeout;      /* seconds on_event may run before it is killed */
    /* The optimiser, Keras' names and defaults (nn's sgd_config; momentum and weight_decay above are shared) */
    int optimizer;         /* nn_optimizer: 0 sgd, 1 adam, 2 rmsprop */
    double beta1, beta2;   /* Adam: 0.9, 0.999 */
    double rho;            /* RMSprop: 0.9 */
    double epsilon;        /* Adam and RMSprop: 1e-7 */
    int allreduce_precision; /* the width gradients travel at between ranks: 0 float32, 1 bf16, 2 fp16 */
} train_config;

/* ---- the settings table ------------------------------------------------------------------------------ */

/* What a setting is to a form: free text, a number, yes/no, or one of a list. */
typedef enum { TRAIN_FIELD_TEXT, TRAIN_FIELD_INT, TRAIN_FIELD_FLOAT, TRAIN_FIELD_BOOL, TRAIN_FIELD_CHOICE } train_field_kind;
/* How it is stored in train_config: a char array, int, long, uint64_t, double, or a CHOICE's index (int). */
typedef enum {
    TRAIN_STORE_TEXT,
    TRAIN_STORE_INT,
    TRAIN_STORE_LONG,
    TRAIN_STORE_U64,
    TRAIN_STORE_DOUBLE,
    TRAIN_STORE_INDEX,
} train_store;

#define TRAIN_F_RESUMABLE 1u /* --resume may change it */
#define TRAIN_F_LO_OPEN 2u   /* the range excludes lo: (lo, hi] */
#define TRAIN_F_HI_OPEN 4u   /* the range excludes hi */
#define TRAIN_F_AUTO 8u      /* "auto" (or empty) stores -1, and 0 is allowed below lo */
#define TRAIN_F_NONEMPTY 16u /* text that must not be empty */
#define TRAIN_F_EXISTS 32u   /* a path that must exist when given (on the command line and in the form) */
#define TRAIN_F_LATER 64u    /* not part of train_config_check: checked when used */
#define TRAIN_F_NEWER 128u   /* added after the first config.json files: a file without it means the default */
#define TRAIN_F_ANY_CASE 256u /* a CHOICE matched whatever the case ("adam" for Keras' "Adam") */

/* One setting of `vggtop train`: one row of train_fields drives its flag, its validation, its form field,
 * its place in config.json, its --help line and its man-page entry. */
typedef struct train_field {
    const char *name;    /* the long flag without dashes: "batch-size" */
    const char *label;   /* the form's label: "Batch size" */
    train_field_kind kind;
    const char *const *choices; /* TRAIN_FIELD_CHOICE: NULL-terminated names; else NULL */
    const char *metavar; /* "N", "F", "PATH"; NULL for a BOOL (a bare flag) or a CHOICE (its names) */
    const char *help;    /* one line, without range or default */
    train_store store;
    size_t offset, size; /* of the field in train_config */
    double lo, hi;       /* INT and FLOAT: the range */
    unsigned flags;      /* TRAIN_F_* */
    const char *def;     /* the default, as a user would type it */
    const char *json;    /* its key path in config.json ("training.optimizer.lr"); NULL: not stored there */
    const char *doc_default; /* what --help and the man page say of the default, when def is not it */
    const char *more;    /* a further sentence for the man page, or NULL */
    /* A further rule the row's kind cannot say (the convolution backends' names), or NULL: 0, or -1 with the
     * reason in why. */
    int (*check)(const char *value, char *why, size_t size);
} train_field;

/* The settings in form order, terminated by a row whose name is NULL: model, data, labels, resize, epochs,
 * batch-size, lr, momentum, nesterov, weight-decay, augment, limit-train, limit-test, validation-split,
 * val-data, seed, threads, conv, precision, weights, skip-mismatch, freeze-base, runs, run-dir, then the
 * callbacks'. */
extern const train_field train_fields[];

/* The row of a setting, or NULL. */
const train_field *train_field_find(const char *name);
/* What a valid value of f is, as messages say it: "a whole number in 1..1000", "a number in (0, 10]". */
int train_field_describe(const train_field *f, char *buf, size_t size);
/* Parses value for another command's flag by the rule of the setting named setting (bench --threads by
 * "threads", data --resize by "resize"): the same check and message, naming flag. *out: the number (-1 for
 * resize's auto). VT_EUSAGE with one line. */
int train_setting_parse(const char *setting, const char *flag, const char *value, double *out, vt_err *err);
/* Whether v is inside f's range (INT and FLOAT rows). Other flags than train's (bench --threads, evaluate
 * --threads, data --resize) take their ranges from here too. */
int train_field_in_range(const train_field *f, double v);
/* The flags --resume may change (TRAIN_F_RESUMABLE rows), as text: "--epochs and --threads". */
void train_resumable_names(char *buf, size_t size);
/* A setting's one-line documentation: its help, range and default ("passes over the training set, 1 to 1000
 * (default 10)"), as --help, the man page and the Setup form show it. */
int train_field_doc(const train_field *f, char *buf, size_t size);
/* The option lines of `vggtop train --help` and the man page's option list (roff), from the table, --resume
 * included; malloc'ed, NULL when out of memory. */
char *train_fields_help(void);
char *train_fields_man(void);
/* One option line of a --help in that layout: the flag in 20 columns, the text wrapped to 100 (for the other
 * commands whose options are settings, so a setting's text is written once). */
void train_help_entry(vt_buf *b, const char *flag, const char *text);

/* Every row's default: the seed's (epochs 10, batch 32, SGD lr 0.01, momentum 0, seed 1, resize auto,
 * threads 0, runs "runs"), and model "cnn" (the CLI requires --model; the front end starts there). */
void train_config_default(train_config *cfg);

/* Parses value into the field name of cfg (the validator of a form, one field at a time, and of the CLI).
 * On a bad value cfg is unchanged and err holds one line naming the field ("--epochs: '0' is not a whole
 * number in 1..1000"); VT_EUSAGE. Booleans accept 1/0, yes/no, on/off, true/false; resize accepts "auto". */
int train_config_set(train_config *cfg, const char *name, const char *value, vt_err *err);
/* The field's current value as text (what a form shows); returns 0, or -1 for an unknown name. */
int train_config_get(const train_config *cfg, const char *name, char *buf, size_t size);
/* Checks the whole config against the table, and what depends on several fields (--resize below a VGG's
 * 32). */
int train_config_check(const train_config *cfg, vt_err *err);
/* Whether ds is the data set the run of cfg was made with (cfg->made_fingerprint): VT_OK, or VT_EUSAGE with one
 * line naming both places and --data. A run made before the check passes, with note (when not NULL) saying
 * the check could not be made; else note is "" (ds NULL: the note alone). */
struct dataset;
int train_data_check(const train_config *cfg, const struct dataset *ds, char *note, size_t size, vt_err *err);
/* Reads a run directory's config.json into cfg (resume = 0, run_dir = dir). */
int train_config_load(const char *run_dir, train_config *cfg, vt_err *err);

/* The model names in the order to list them (nn's table), NULL-terminated. */
const char *const *train_model_names(void);

/* The Keras model summary (malloc'ed text) and parameter count of cfg's model for a data set whose
 * native images are height x width x channels with `classes` classes (cfg->resize and the VGGs'
 * 32-pixel minimum applied as training would). params may be NULL. */
int train_model_summary(const train_config *cfg, int height, int width, int channels, int classes, char **text,
                        long long *params, vt_err *err);
/* Estimated seconds of one epoch of n_train images: builds the model and times a few training steps on
 * random data (blocks for those steps: about a second for the small models, several for the VGGs).
 * cancelled (may be NULL) is asked before each layer of a step; when it returns non-zero the estimate stops early,
 * returning VT_OK with *seconds NaN (a superseded request, or a quitting front end, waits one layer at most). */
int train_estimate_epoch_seconds(const train_config *cfg, int height, int width, int channels, int classes,
                                 long n_train, int (*cancelled)(void *), void *arg, double *seconds, vt_err *err);

/* The test-set pass of an epoch, estimated from the epoch's training time (train_seconds for n_train images):
 * predicting takes about a third of a training step per image (forward only). The engine's whole-run ETA
 * before the first evaluation and the Setup screen's estimate both use it. */
double train_eval_seconds(double train_seconds, long n_train, long n_test);

/* ---- the engine -------------------------------------------------------------------------------------- */

typedef enum {
    TRAIN_IDLE = 0,   /* created, not started */
    TRAIN_LOADING,    /* loading the data set, building the model, reading a checkpoint */
    TRAIN_TRAINING,
    TRAIN_EVALUATING, /* predicting the test set at an epoch end, writing the run files */
    TRAIN_PAUSED,
    TRAIN_STOPPING,   /* a stop was asked: finishing the batch, writing the checkpoint */
    TRAIN_STOPPED,    /* stopped before the last epoch; the checkpoint allows --resume */
    TRAIN_FINISHED,   /* every epoch done */
    TRAIN_FAILED,     /* message holds the error (e.g. a non-finite loss, with a hint) */
} train_state;

/* "idle", "loading", "training", ... */
const char *train_state_name(train_state state);


/* Everything the UI shows, as plain data. Fixed size (about 80 KB): copy it once per UI loop. */
typedef struct train_snapshot {
    train_state state;
    char message[512];     /* the latest status or error line ("" when nothing to say) */
    char model[32];
    char dataset[32];      /* "CIFAR-100", "Fashion-MNIST", ... ("" until loaded) */
    char conv[512];        /* the convolution backend of each Conv2D layer ("" until loaded) */
    char precision[16];    /* the run's precision setting as train_config_get gives it ("float32", ...) */
    char notice[1024];     /* the data set's notice (what is in use, how to get CIFAR-100) */
    char run_dir[VT_PATH_MAX];
    int height, width, channels, classes; /* the model's input and outputs (0 until loaded) */
    long long params;
    long n_train, n_test;

    int resumed_epochs;    /* epochs already done when this session started (a --resume; else 0) */
    long resumed_batch;    /* and batches done of the next epoch */
    int epoch;             /* 1-based epoch in progress (epochs_done when none is) */
    int epochs;
    int epochs_done;
    long batch;            /* batches done in the current epoch */
    long batches;          /* batches per epoch */
    long samples;          /* samples done in the current epoch */
    double loss, acc, mse; /* running means of the current epoch */
    double top5;           /* and its running top-5 accuracy */
    double img_per_s;      /* training throughput of the current epoch (of all ranks together) */
    int ranks;             /* processes of a data-parallel run (mpirun -np N); 1 alone */
    double allreduce_wait; /* with ranks: the share of the step time spent waiting for the gradient allreduce
                              after the backward pass (what overlapping did not hide); NaN alone */
    double dist_step_ms;   /* with ranks: the mean step (slice gradient, allreduce, update) in ms; NaN alone */
    int dist_shared;       /* with ranks: the last step's gradients were added up in shared memory (one host) */
    double ms_per_step;
    double elapsed;        /* seconds the run has worked, over every session (--resume continues it; time
                            * paused does not count) */
    double epoch_elapsed;  /* seconds into the current epoch */
    double eta;            /* seconds left in the current epoch */
    double eta_run;        /* seconds left in the whole run, test-set passes included (later epochs at the
                            * last epoch's pace) */
    long eval_batch;       /* EVALUATING: test-set steps done, of eval_batches, and the seconds left */
    long eval_batches;
    double eval_eta;
    long command_ack;      /* the "seq" of the last commands.json the engine took (0: none) */
    double lr;             /* the learning rate in use */

    int n_history;         /* == epochs_done */
    train_epoch history[TRAIN_MAX_EPOCHS];

    /* The running curve of the current epoch: a point every curve_every batches (the stride doubles
     * when the array fills), reset at each epoch start. */
    int n_curve;
    long curve_every;
    long curve_batch[TRAIN_CURVE_MAX];
    float curve_loss[TRAIN_CURVE_MAX];
    float curve_acc[TRAIN_CURVE_MAX];

    /* What a callback did at the end of epoch note_epoch (1-based; 0: nothing yet): a cut learning rate, an
     * early stop. The CLI prints it after that epoch's line. */
    int note_epoch;
    char note[256];

    /* Incremented each time predictions.csv, report.txt and confusion.csv are rewritten: reload them. */
    unsigned long eval_generation;
    double last_val_acc, best_val_acc;

    /* What ended the run besides its state, for the alerts: the epoch (1-based) whose loss was not finite
     * (the run then fails), and whether a callback stopped it early. 0 when not. */
    int diverged;
    int early_stopped;
} train_snapshot;

typedef struct trainer trainer;

/* Checks cfg and prepares an engine; loads nothing yet (that happens on the thread, state LOADING).
 * With cfg->resume, cfg->run_dir must hold config.json and checkpoint.bin. */
int trainer_create(const train_config *cfg, trainer **out, vt_err *err);
/* Whether dir can take a new run: new, or an empty directory (not a file, not a folder with files, not a
 * run); the error names flag ("--run-dir"). trainer_create checks it; the Setup screen checks as you type. */
int train_check_new_run_dir(const char *dir, const char *flag, vt_err *err);
/* Starts the training thread (signals are blocked on it: the process's handlers run on the caller's). */
int trainer_start(trainer *t, vt_err *err);
/* Asks the thread to stop (as trainer_stop), waits for it, frees everything. NULL is fine. */
void trainer_destroy(trainer *t);

/* Copies the current state (and drains the wake pipe). Never blocks for longer than a copy. */
void trainer_snapshot(trainer *t, train_snapshot *snap);
/* The read end of a non-blocking self-pipe that becomes readable when the snapshot changed (at most
 * ~20 times per second for batch progress, at once for state changes). Poll it with the terminal. */
int trainer_wake_fd(const trainer *t);
/* Waits until the thread has ended; returns its final state (STOPPED, FINISHED or FAILED). */
train_state trainer_join(trainer *t);
/* The error of a FAILED run (a copy of vt_err), VT_OK otherwise. */
int trainer_error(trainer *t, vt_err *err);

/* The process was stopped (Ctrl-Z) for about seconds: that time is taken off the step times, the ETAs and
 * elapsed. The owner's loop reports it (util.h vt_stop_watch_tick). */
void trainer_suspended(trainer *t, double seconds);

/* Commands, taken between batches. */
void trainer_pause(trainer *t);
void trainer_resume(trainer *t);
/* Stops after the current batch, writing the checkpoint (with the position inside the epoch, so
 * `--resume` continues from that batch) and the run files. */
void trainer_stop(trainer *t);
/* Changes the learning rate from the next batch on (kept in the checkpoint). VT_EUSAGE when lr is not
 * in (0, 10]. */
int trainer_set_lr(trainer *t, double lr, vt_err *err);
/* Multiplies the learning rate by factor, starting from a change not yet applied if there is one (two
 * presses of the Dashboard's + before the next batch give 4x, not 2x); the new rate goes to *lr. VT_EUSAGE
 * when the result is not in (0, 10]. */
int trainer_scale_lr(trainer *t, double factor, double *lr, vt_err *err);

/* ---- data-parallel training (src/train/dist.c, Open MPI) ------------------------------------------- */
/* `mpirun -np N vggtop train ...` runs N ranks of one run: --batch-size is the global batch, each rank takes
 * a slice of every batch, the gradients are summed by allreduce and every rank takes the same step. Rank 0
 * owns the run directory and takes the commands; the others write nothing. */
typedef struct train_dist train_dist;

/* Under mpirun (OMPI_COMM_WORLD_SIZE set) initialises MPI (MPI_THREAD_SERIALIZED: the training thread makes
 * the calls) and gives this rank's state; otherwise *out = NULL and MPI is never touched. Call on the main
 * thread before any other thread exists. */
int train_dist_start(train_dist **out, vt_err *err);
/* Finalises MPI (skipped after a lost rank, which would make MPI_Finalize wait forever); NULL is fine. */
void train_dist_end(train_dist *d);
/* This rank and the number of ranks (0 and 1 for NULL). */
int train_dist_rank(const train_dist *d);
int train_dist_size(const train_dist *d);
/* Rank 0's *status (-1: go on, else the exit status every rank returns) and, to go on, its config to every
 * rank (only rank 0 reads the command line and, on --resume, config.json). */
int train_dist_share_config(train_dist *d, int *status, train_config *cfg, vt_err *err);
/* Rank 0's *status to every rank and, when it is -1, rank 0's words (*words, NULL-terminated: a command line)
 * too: the others get a copy, malloc'ed in one block (free(*words)); vggtop sweep's trials under mpirun. */
int train_dist_share_words(train_dist *d, int *status, char ***words, vt_err *err);
/* trainer_create for one rank of d (NULL: trainer_create): rank 0 picks, creates and locks the run
 * directory and tells the others its name. A failure on rank 0 fails every rank (the others with an empty
 * message: rank 0 says why). */
int trainer_create_dist(const train_config *cfg, train_dist *d, trainer **out, vt_err *err);

/* Seconds a ring allreduce of bytes takes over ranks joined by links of gbit_s, with latency seconds per
 * hop: 2 (N - 1) steps, each sending bytes / N (reduce-scatter, then allgather). 0 for one rank. */
double train_ring_seconds(double bytes, int ranks, double gbit_s, double latency);
/* `vggtop bench --dist`'s model of a data-parallel step: the ring runs at `share` of the link's rate with
 * `hop` seconds per hop, and hides behind `overlap` of the step's compute (the backward pass it overlaps). */
typedef struct train_link_model {
    double share, overlap, hop;
} train_link_model;
/* The model fitted to steps measured over emulated links (tests/tools/fit_dist.py, docs/SCALING.md), and
 * the one before any measurement (the whole link, two thirds of the step, 25 us). */
extern const train_link_model train_link_fitted, train_link_assumed;
/* The efficiency of a step of `step` seconds of compute whose bytes of gradients go round a ring of ranks
 * over links of gbit_s: step / (step + what of the ring the overlap does not hide); 1 for one rank. */
double train_dist_efficiency(double step, double bytes, int ranks, double gbit_s, const train_link_model *m);

/* ---- run directories (read side: the UI, `vggtop watch` and the CLI commands) ----------------------- */

/* The latest per-batch state of a run, from progress.json. */
typedef struct run_progress {
    train_state state;
    char message[512];
    int epoch, epochs, epochs_done;
    long batch, batches, samples;
    double loss, acc, mse, img_per_s, ms_per_step, elapsed, eta, lr;
    double top5;           /* the running top-5 accuracy (NaN when progress.json has none) */
    double eta_run;        /* seconds left in the whole run */
    long eval_batch, eval_batches; /* test-set steps done and in all, while evaluating (else 0) */
    double eval_eta;
    long command_ack;      /* the last command taken from commands.json */
    int ranks;             /* processes of a data-parallel run (1 when absent) */
    long pid;              /* the training process (rank 0's) */
    char updated[32];      /* UTC ISO 8601 time of the write */
} run_progress;

enum {
    RUN_PART_CONFIG = 1,
    RUN_PART_HISTORY = 2,
    RUN_PART_PROGRESS = 4,
    RUN_PART_PREDICTIONS = 8,
    RUN_PART_ALL = 15,
};

typedef struct run_data {
    char dir[VT_PATH_MAX];
    int parts;             /* RUN_PART_* bits of the files found and read */
    int damaged;           /* run_load_sound: RUN_PART_* bits of files present but unusable (not in parts) */
    char damage[600];      /* ... the first one's reason, naming the file ("" when none) */
    int has_checkpoint;

    /* config.json */
    train_config config;
    char version[32];      /* of the program that wrote it */
    char created[32];      /* UTC ISO 8601 */
    char dataset[32];
    char dataset_path[VT_PATH_MAX];
    int height, width, channels; /* the model's input */
    int classes;
    long long params;
    long n_train, n_test;
    char **class_names;    /* classes strings */
    int coarse_classes;    /* CIFAR-100 fine labels only (else 0/NULL) */
    char **coarse_names;
    int *fine_to_coarse;

    /* history.csv */
    int n_history;
    train_epoch *history;

    /* progress.json */
    run_progress progress;

    /* predictions.csv: n_pred rows, probs (n_pred, pred_classes) row-major */
    long n_pred;
    int pred_classes;
    int *y_true, *y_pred;
    float *probs;
    /* predictions.json: the weights they are of, after pred_epoch finished epochs and pred_batch batches of
     * the next (pred_epoch -1: unknown, as in runs made before vggtop wrote the file) */
    int pred_epoch;
    long pred_batch;
} run_data;

/* The data options that open a run's test images as the run saw them, to show them (the Samples screen, the
 * samples figure): native size (an image folder at the run's input side, where its cache is), one training
 * image, the run's labels, --limit-test and validation images; data_dir (--data) when the set has moved. */
struct data_options;
/* The data options a config asks for: resize resolved ("auto": 48 for vgg16/vgg19, native otherwise), the
 * model's minimum side (32 for vgg16/vgg19), an image folder's validation images. path points into cfg. */
void train_data_options(const train_config *cfg, struct data_options *opt);
void train_data_view_options(const run_data *run, const char *data_dir, struct data_options *opt);

/* Class c's name in a run ("apple"), or its number written into buf when the run has no name for it. */
const char *run_class_name(const run_data *run, int c, char *buf, size_t size);

/* Reads the parts asked for (RUN_PART_* bits) of a run directory. A missing file is not an error (its
 * bit stays clear in out->parts); a malformed one is VT_EUSAGE with one line naming the file and line.
 * A directory that does not exist, or has none of the files, is VT_EUSAGE. run_free out afterwards even
 * on error (what was read stays usable). */
int run_load(const char *dir, int parts, run_data *out, vt_err *err);
/* The same for a reader that uses what is sound: the parts in need as run_load reads them (a damaged one is
 * the error), those in want read when they can be: a damaged one is left out of out->parts, its bit set in
 * out->damaged and its reason in out->damage, for the caller to name. */
int run_load_sound(const char *dir, int need, int want, run_data *out, vt_err *err);
void run_free(run_data *run);

/* One run of a runs directory, for the Compare screen. */
typedef struct run_entry {
    char name[256];        /* the directory name: "20261127T201500Z-cnn" */
    char path[VT_PATH_MAX];
    char model[32];
    char dataset[32];
    int epochs_done, epochs;
    double best_val_acc, last_val_acc; /* NaN with no finished epoch */
    double last_val_loss;
    double seconds;        /* the finished epochs' time, in all (0 with none) */
    int has_checkpoint;
    char state[16];        /* run_state_word: "live", "killed", "finished", "stopped", "failed" or "-" */
    double mtime;          /* when the run last wrote its history (else its config), seconds since 1970 */
    char damage[512];      /* "" for a readable run; else why it could not be read (it is listed, not shown) */
} run_entry;

/* Whether a process writes the run right now (trains or evaluates it): it holds <dir>/run.lock. The pid it
 * wrote there (> 0), -1 when held with no pid to show, 0 when nobody holds it (finished, stopped, or its
 * process was killed: the kernel drops the lock with the process). This, never a pid from progress.json,
 * decides whether a run is live. */
long run_live_pid(const char *dir);
/* run_live_pid, and what the holder does ("trained", "evaluated"; "" when it has not said) into role. */
long run_live_holder(const char *dir, char *role, size_t size);

/* Whether a run whose progress.json says it is loading, training, evaluating or paused was killed (nobody
 * holds its lock): 1, with msg saying how to go on (resume, or start again when it never wrote a
 * checkpoint); the caller shows it as stopped. */
int run_is_dead(const run_data *run, char *msg, size_t size);

/* A run's state in one word for the tables that list runs (compare, the Compare screen): "live" while a
 * process holds its lock, "killed" when progress.json says busy and nobody holds it, else progress.json's
 * state ("finished", "stopped", "failed"), "-" without one. run was loaded with RUN_PART_PROGRESS. */
const char *run_state_word(const run_data *run);

/* One row of per_class.csv: a class's scores after an epoch (sklearn's definitions, zero_division = 0). */
typedef struct run_class_row {
    int epoch, cls;
    double precision, recall, f1;
    long support;
} run_class_row;

/* Reads per_class.csv (absent: 0 rows); *rows malloc'ed. */
int run_read_per_class(const char *dir, run_class_row **rows, long *n, vt_err *err);

/* One row of layers.csv: a weighted layer (Keras' name) over an epoch. weight_norm: the L2 norm of its kernel
 * at the epoch's end; grad_norm: of the gradient of the mean loss, averaged over the sampled batches (one in
 * 200 and each epoch's first); update_ratio: lr x grad_norm / weight_norm, the relative size of a plain SGD
 * step; dead_relu: the share of its ReLU outputs that are 0 (NaN without ReLU); act_mean and act_std of its
 * outputs. */
typedef struct run_layer_row {
    int epoch;
    char layer[40];
    double weight_norm, grad_norm, update_ratio, dead_relu, act_mean, act_std;
} run_layer_row;

/* Writes epoch's rows into layers.csv (rows of later epochs are dropped); reads it back (absent: 0 rows). */
int run_write_layers(const char *dir, int epoch, const run_layer_row *rows, int n, vt_err *err);
int run_read_layers(const char *dir, run_layer_row **rows, long *n, vt_err *err);

/* The vanishing-gradient rule of `vggtop layers` and the Layers screen: row i's gradient norm is below
 * RUN_VANISHING (1%) of the largest layer's in its epoch, or of the same layer's in its first epoch (rows
 * as run_read_layers returns them, in epoch order). */
#define RUN_VANISHING 0.01
int run_layer_vanishing(const run_layer_row *rows, long n, long i);
/* What to try when `flagged` layers vanish: "2 layers receive almost no gradient. ... try ..." */
char *run_layers_advice(char *buf, size_t size, int flagged);

/* history.csv's text for n rows: what run directories hold and `vggtop history --csv` prints (the top-5
 * columns when any row has them). */
void run_history_csv(FILE *f, const train_epoch *rows, int n);

/* The settings that tell runs apart (lr, batch size, momentum, weight decay, input size, augmentation, seed):
 * a mask of those that differ between the n runs; and a run's label of its model and those settings
 * ("cnn, lr 0.05, batch 64"), for legends. */
unsigned run_settings_differing(const run_data *runs, int n);
void run_settings_label(const run_data *run, unsigned mask, char *buf, size_t size);
/* The runs' history as one tidy table: a row per run and epoch with the run's folder, model and the settings
 * that differ, then epoch and every metric (lr, seconds), as CSV with a header or (json 1) JSON lines, a NaN
 * (not recorded) empty or null. Runs loaded with RUN_PART_CONFIG | RUN_PART_HISTORY. */
void run_export_history(FILE *f, const run_data *runs, int n, int json);
/* The same for per_class.csv: a row per run, epoch and class (number and name) with precision, recall, F1 and
 * support. VT_EUSAGE naming a damaged per_class.csv. */
int run_export_per_class(FILE *f, const run_data *runs, int n, int json, vt_err *err);
/* A CSV field into f: quoted when it holds a comma, quote or line break (RFC 4180). */
void run_csv_field(FILE *f, const char *s);
/* A run's weights (RUN_CHECKPOINT, or RUN_BEST with best) as a Keras HDF5 weights file at out (nn's
 * keras_h5_save: atomic). VT_EUSAGE for a run without that checkpoint or a damaged one. */
int run_export_keras(const char *dir, int best, const char *out, vt_err *err);
/* The run's model as an ONNX graph at out (nn's onnx_save), its preparation of the input in the doc string and
 * class_names (a JSON array), preprocessing and input_layout in the metadata. */
int run_export_onnx(const char *dir, int best, const char *out, vt_err *err);
/* The n image files (PNG or JPEG, any size) through a run's model (best: best.bin): each converted to the
 * model's channels (greyscale as OpenCV's cvtColor), resized to its input with the bicubic resize training
 * uses and prepared as the run's test images are (x / 255, or caffe with ImageNet weights). probs gets
 * (n, run classes), malloc'ed; *classes the class count. The first file that cannot be read stops it:
 * VT_EUSAGE with one line naming it. */
int run_predict_files(const char *dir, int best, const char *const *files, int n, float **probs, int *classes,
                      vt_err *err);

/* Lists the run directories (those holding a config.json) of runs_dir, sorted by name (oldest first).
 * A missing runs_dir gives 0 entries. *entries is malloc'ed (free with free). */
int run_list(const char *runs_dir, run_entry **entries, int *n, vt_err *err);

/* Re-evaluates a run's checkpoint (RUN_CHECKPOINT, or RUN_BEST for --best) on its test set (`vggtop evaluate`): loads config.json, the data set
 * and checkpoint.bin, predicts, rewrites predictions.csv, report.txt and confusion.csv, and fills the
 * val_loss, val_acc and val_mse of *out (the other fields 0). threads < 0: the run's own setting. data: where
 * the data set is now (--data), NULL: where the run found it. */
int run_evaluate(const char *dir, const char *data, int threads, const char *checkpoint, train_epoch *out,
                 long *n_test, vt_err *err);

/* The running curve of the epoch in progress from curve.csv: at most max points into batch/loss/acc, *n of
 * them, and the epoch they belong to. A missing file gives *n = 0 and VT_OK; a malformed one VT_EUSAGE. */
int run_read_curve(const char *dir, int *epoch, long *batch, float *loss, float *acc, int max, int *n, vt_err *err);

/* ---- the command channel (src/train/control.c): control a run from any process ---------------------- */

typedef enum { RUN_CMD_NONE = 0, RUN_CMD_PAUSE, RUN_CMD_RESUME, RUN_CMD_STOP, RUN_CMD_LR } run_command_kind;

typedef struct run_command {
    long seq;              /* 1, 2, ...: each new command has the next number */
    run_command_kind kind;
    double lr;             /* RUN_CMD_LR: the new learning rate */
} run_command;

/* "pause", "resume", "stop", "lr" ("" for NONE). */
const char *run_command_name(run_command_kind kind);
/* Parses a command as `vggtop ctl` takes it: verb "pause", "resume", "stop", or "lr" with value (the lr
 * setting's rule). VT_EUSAGE with one line otherwise. */
int run_command_parse(const char *verb, const char *value, run_command *out, vt_err *err);
/* Sends cmd to the run training in dir: VT_EUSAGE when no live process trains it (ended, killed, evaluated,
 * or not a run directory); otherwise writes commands.json atomically with the next seq (also set in cmd).
 * Senders take turns (a lock on the run directory), so no two write the same seq. */
int run_command_send(const char *dir, run_command *cmd, vt_err *err);
/* The same, and other senders are kept out until run_command_finish: a sender that waits for the
 * acknowledgement holds the channel, so the command acknowledged is its own. */
int run_command_send_held(const char *dir, run_command *cmd, vt_err *err);
/* run_command_send_held without waiting for another sender's turn to end (VT_EIO at once, one line): for a
 * front end, whose screen must not freeze while `vggtop ctl` waits for its own acknowledgement. */
int run_command_send_nowait(const char *dir, run_command *cmd, vt_err *err);
/* Ends a held send. A command the run did not take (taken 0) is taken back: commands.json is left as it was
 * before it was sent. */
void run_command_finish(const char *dir, const run_command *cmd, int taken);
/* The largest seq; the next after it is 1 again (the engine takes any seq other than the last it took). */
#define RUN_COMMAND_SEQ_MAX 999999999999999L
/* Reads commands.json; a missing file gives kind NONE and seq 0. VT_EUSAGE when it is malformed. */
int run_command_read(const char *dir, run_command *out, vt_err *err);

/* "<runs>/<YYYYMMDDTHHMMSSZ>-<model>" for now, UTC. */
void run_default_dir(const train_config *cfg, char *buf, size_t size);

/* ---- alerts: the events of a run, told to the terminal and to a command (src/train/notify.c) ------------- */

typedef enum {
    NOTIFY_FINISHED,   /* every epoch done */
    NOTIFY_EARLY_STOP, /* finished before the last epoch: a callback stopped it */
    NOTIFY_STOPPED,    /* stopped (a signal, vggtop ctl stop); --resume continues it */
    NOTIFY_FAILED,
    NOTIFY_NONFINITE,  /* the loss was not finite (the run fails too: both are told) */
    NOTIFY_STALL,      /* no step for 5x the median step time (told once until the steps go on) */
    NOTIFY_PRUNED,     /* vggtop sweep: a trial stopped by its pruner (its trials' ends are the kinds above) */
    NOTIFY_SWEEP_END,  /* vggtop sweep: every trial of the plan ran */
} notify_kind;

/* The events' names as --on-event's VGGTOP_EVENT gives them: "finished", "early-stop", "stopped", "failed",
 * "nonfinite", "stall", "pruned", "sweep-finished". */
extern const char *const notify_names[];

typedef struct notify_event {
    notify_kind kind;
    char text[320]; /* one line: what happened, for the notification and the log */
} notify_event;

/* A watcher of successive snapshots: plain state, start from {0}. */
#define NOTIFY_STEPS 64
typedef struct notify_watch {
    int seen;            /* a snapshot was observed */
    long step;           /* steps done when last seen (epochs_done * batches + batch) */
    double step_time;    /* when that count last grew (vt_now seconds) */
    double per_step[NOTIFY_STEPS]; /* seconds per step of the last NOTIFY_STEPS observed increases */
    int n_per_step, next;
    int stalled, nonfinite, ended; /* told already */
} notify_watch;

/* The events snapshot s shows at time now (seconds, any clock) after the ones observed before, into out (at
 * most max); returns how many. The end (finished, early stop, stopped, failed) is told once; a stall once
 * until the steps go on; a stall is only judged while training with at least 3 step times measured. */
int notify_observe(notify_watch *w, const train_snapshot *s, double now, notify_event *out, int max);
/* The median of the step times measured (seconds); 0 when none. */
double notify_median_step(const notify_watch *w);

/* The bytes that make a terminal show a notification: OSC 9 (iTerm2, Windows Terminal, kitty...), OSC 777
 * (rxvt, foot, VTE...), each ended by BEL, then a lone BEL (a terminal that knows neither rings). Inside tmux
 * (tmux nonzero) each OSC is wrapped in tmux's passthrough (ESC P tmux; ... ESC \, every ESC doubled). title
 * and body are cleaned: control characters and ';' become spaces, so data never ends or forges a sequence.
 * Returns the length (at most size - 1, NUL-terminated). */
size_t notify_terminal_bytes(char *buf, size_t size, const char *title, const char *body, int tmux);

/* A command line split into words without a shell: words are separated by blanks; '...' keeps everything
 * inside as it is; "..." too, except that \" and \\ stand for " and \; outside quotes \ keeps the next
 * character. No variables, globs, pipes or redirections. *argv is malloc'ed (free with free(*argv): one block),
 * NULL-terminated. VT_EUSAGE naming the problem for an empty command or an open quote. */
int notify_split(const char *cmd, char ***argv, vt_err *err);
/* Whether name runs: with a '/', an executable file; else one found in a directory of $PATH. */
int notify_program_found(const char *name);

/* The --on-event commands under way: each starts in its own process group with the event in its environment
 * (VGGTOP_EVENT, VGGTOP_MESSAGE, VGGTOP_RUN_DIR, VGGTOP_EPOCH, VGGTOP_EPOCHS, VGGTOP_LOSS, VGGTOP_ACC,
 * VGGTOP_VAL_LOSS, VGGTOP_VAL_ACC: the last finished epoch's, empty before one) and stdin from /dev/null, and
 * is killed (SIGKILL to its group) once it runs past its time limit. Nothing waits for it in between. */
typedef struct notify_hooks notify_hooks;
int notify_hooks_create(const char *cmd, double timeout, notify_hooks **out, vt_err *err);
void notify_hooks_destroy(notify_hooks *h);
/* Starts the command for e; VT_EIO with the reason when it could not start (the run goes on). */
int notify_hook_start(notify_hooks *h, const notify_event *e, const train_snapshot *s, vt_err *err);
/* Reaps the commands that ended and kills those past their limit at time now (vt_now); the count killed. */
int notify_hooks_poll(notify_hooks *h, double now);
/* Waits for every command still running, each at most until its limit (then killed); the count killed. */
int notify_hooks_wait(notify_hooks *h);

/* Where a session's events go (vggtop train, watch and the front end, sweep): with notify, the terminal's
 * notification (notify_terminal_bytes, wrapped for tmux when $TMUX is set) written to term_fd; with a command,
 * the hooks. The caller writes its own log line (a log, the front end's status line) and, with curses, calls
 * notify_sink_tell after its screen is flushed, so the bytes never land inside curses' output. */
typedef struct notify_sink {
    int term_fd, close_fd, tmux; /* -1: no terminal; close_fd: /dev/tty, opened here */
    notify_hooks *hooks;
    double timeout;
} notify_sink;
/* The terminal: stdout or stderr when either is one, else the process's terminal (a log redirected, the user
 * still at the terminal), none without. cmd "" or NULL: no hooks. VT_OK; the command's error (err filled)
 * leaves the sink without hooks, usable. */
int notify_sink_open(notify_sink *k, int notify, const char *cmd, double timeout, vt_err *err);
/* Tells e: the terminal's bytes (a terminal gone, e.g. a dropped SSH session: no more), then the command with
 * s's run directory and last epoch. VT_EIO with why the command did not start. */
int notify_sink_tell(notify_sink *k, const notify_event *e, const train_snapshot *s, vt_err *err);
/* The commands reaped, those past their limit killed (the count); _close waits for the rest, then frees. */
int notify_sink_poll(notify_sink *k);
int notify_sink_close(notify_sink *k);
/* Starts watching a run another process trains from its first snapshot s: what s shows already (a run that
 * ended, a loss that was not finite) is not news and is not told. */
void notify_watch_begin(notify_watch *w, const train_snapshot *s, double now);

/* ---- sweeps: many runs of one plan (src/train/sweep.c) --------------------------------------------------- */

#define SWEEP_MAX_VALUES 1000  /* values of one list */
#define SWEEP_MAX_TRIALS 10000 /* trials of one sweep */
#define SWEEP_MAX_AXES 16
#define SWEEP_PLAN "sweep.json"   /* in the sweep folder: the plan and each trial's state */

typedef enum { SWEEP_LIST = 0, SWEEP_LOG, SWEEP_UNIFORM, SWEEP_INT } sweep_kind;

/* A swept setting: a list ("0.1,0.03,0.01") or, for random sweeps, a distribution ("log:1e-4:1e-1",
 * "uniform:0:0.9", "int:16:128"). values point into the plan's copy of the arguments. */
typedef struct sweep_axis {
    const char *flag;   /* the setting's name, "lr" */
    sweep_kind kind;
    int n;              /* SWEEP_LIST: its values */
    char **values;
    double lo, hi;
} sweep_axis;

typedef struct sweep_plan {
    int random;         /* --method random: each trial draws every axis from the seed; else the grid */
    int prune;          /* SWEEP_PRUNE_*: --prune none, median or halving */
    int trials;         /* grid: the product of the lists; random: --trials */
    uint64_t seed;      /* train's --seed when given (one value), else 1 */
    int argc;           /* the train flags as given (axes and fixed settings), copied */
    char **argv;
    int n_axes;
    sweep_axis axes[SWEEP_MAX_AXES];
    int paused;         /* vggtop ctl DIR pause: no trial starts (the running sweep's, saved for ctl to see) */
    long command_ack;   /* the last command of the folder's channel the sweep took (0: none) */
} sweep_plan;

/* The plan of train flags argv[0..argc) ("--lr", "0.1,0.01", "--model", "mlp", ...; a BOOL setting is a bare
 * flag): every value checked with train's rules (a list's each value), lists of at most SWEEP_MAX_VALUES
 * (refused with the count), at most SWEEP_MAX_TRIALS trials; --run-dir, --runs and --resume belong to the
 * sweep. random_trials: 0 for a grid, else the trials of a random sweep. VT_EUSAGE with one line. */
int sweep_plan_make(int argc, char **argv, int random_trials, sweep_plan *p, vt_err *err);
void sweep_plan_free(sweep_plan *p);
/* Trial t's value of axis a (grid: mixed radix, the last axis fastest; random: drawn from the seed and t
 * alone, so a trial is the same whatever ran before it), as train takes it. */
void sweep_value(const sweep_plan *p, int t, int a, char *buf, size_t size);
/* Trial t's train flags (the fixed ones as given, the axes' values), malloc'ed NULL-terminated (one block,
 * free it whole); NULL when out of memory. */
char **sweep_trial_args(const sweep_plan *p, int t);

/* The state of the trials, as sweep.json keeps them. */
typedef enum { SWEEP_PENDING = 0, SWEEP_RUNNING, SWEEP_DONE, SWEEP_FAILED, SWEEP_PRUNED } sweep_state;
extern const char *const sweep_state_names[]; /* "pending", "running", "done", "failed", "pruned" */

/* sweep.json in dir, atomically: the plan's arguments, method, trials and pruner, and each trial's state. */
int sweep_save(const char *dir, const sweep_plan *p, const sweep_state *states, vt_err *err);
/* Reads it back: the plan made again from its arguments and *states (malloc'ed, p->trials). VT_EUSAGE naming
 * the file for one edited by hand into something else. */
int sweep_load(const char *dir, sweep_plan *p, sweep_state **states, vt_err *err);
/* The sweep folder's lock (held while a sweep runs in it): VT_EUSAGE naming the holder when another has it. */
int sweep_lock(const char *dir, int *fd, vt_err *err);
/* The pruners of --prune, as sweep.json names them: "none", "median", "halving" (NULL-terminated). */
enum { SWEEP_PRUNE_NONE = 0, SWEEP_PRUNE_MEDIAN, SWEEP_PRUNE_HALVING };
extern const char *const sweep_prune_names[];
/* Successive halving over epochs (Hyperband's inner loop, asynchronous as Optuna's SuccessiveHalvingPruner):
 * the rungs are epochs SWEEP_HALVING_MIN x SWEEP_HALVING_ETA^k (1, 3, 9, 27, ...); a trial that reaches a rung
 * goes on when its val_acc there, v, is among the top 1/eta of the values of every trial that reached that rung
 * (others, n of them, and its own; at least the best one goes on), and stops otherwise. */
#define SWEEP_HALVING_MIN 1
#define SWEEP_HALVING_ETA 3
int sweep_halving_rung(int epoch);
int sweep_prune_halving(double v, const double *others, int n);
/* Optuna's median pruner: whether a trial whose val_acc at an epoch is v should stop, given the val_acc at that
 * epoch of the n trials finished before (others); it needs at least 2 of them. */
int sweep_prune_median(double v, const double *others, int n);
/* The directory of trial t: dir/trial-NNN. */
void sweep_trial_dir(const char *dir, int t, char *buf, size_t size);

/* ---- controlling a sweep (src/train/sweep_control.c): vggtop ctl SWEEP_DIR ------------------------------ */

typedef enum { SWEEP_CMD_NONE = 0, SWEEP_CMD_PAUSE, SWEEP_CMD_RESUME, SWEEP_CMD_STOP, SWEEP_CMD_MORE } sweep_command_kind;
typedef struct sweep_command {
    long seq;           /* 1, 2, ...: the next after the last sent or taken */
    sweep_command_kind kind;
    int more;           /* SWEEP_CMD_MORE: trials to add */
} sweep_command;
/* "pause", "resume", "stop", or "more" with a count (1..SWEEP_MAX_TRIALS). VT_EUSAGE with one line else. */
int sweep_command_parse(const char *verb, const char *value, sweep_command *out, vt_err *err);
/* Sends cmd to the sweep running in dir through dir/commands.json (written atomically, its seq set):
 * VT_EUSAGE when no sweep runs there. Senders take turns (an flock on the folder). */
int sweep_command_send(const char *dir, sweep_command *cmd, vt_err *err);
/* Reads dir/commands.json; none gives kind NONE and seq 0. VT_EUSAGE when malformed. */
int sweep_command_read(const char *dir, sweep_command *out, vt_err *err);
/* Adds n pending trials to a random sweep's plan (*states grown): VT_EUSAGE for a grid (its trials are its
 * lists' product) or past SWEEP_MAX_TRIALS, with the count. */
int sweep_add_trials(sweep_plan *p, sweep_state **states, int n, vt_err *err);

/* ---- a sweep's leaderboard (src/train/sweep_board.c): `vggtop sweep --status` and the Sweep screen ---- */

/* One trial as the leaderboard shows it, read from its run directory (a trial not started: no epochs). */
typedef struct sweep_row {
    int t;              /* the trial, 0-based */
    sweep_state state;  /* as sweep.json keeps it */
    int epochs, of;     /* epochs finished, of the run's --epochs (0 and 0 before its config.json) */
    double best;        /* the best val_acc (NaN with no finished epoch) and its epoch (1-based) */
    int best_epoch;
    double seconds;     /* the finished epochs' time */
} sweep_row;

/* Trial t's row of the sweep in dir. */
void sweep_row_read(const char *dir, int t, sweep_state state, sweep_row *r);

/* The leaderboard's columns in order, the sort keys: the trial, each swept value (SWEEP_COL_AXIS + a), the
 * best val_acc, its epoch, the state, the time. */
enum { SWEEP_COL_TRIAL = 0, SWEEP_COL_AXIS = 1 };
/* The column of the best val_acc, its epoch, the state and the time for a plan of n_axes axes. */
#define SWEEP_COL_BEST(n_axes) (SWEEP_COL_AXIS + (n_axes))
#define SWEEP_COL_EPOCH(n_axes) (SWEEP_COL_AXIS + (n_axes) + 1)
#define SWEEP_COL_STATE(n_axes) (SWEEP_COL_AXIS + (n_axes) + 2)
#define SWEEP_COL_TIME(n_axes) (SWEEP_COL_AXIS + (n_axes) + 3)
#define SWEEP_COLS(n_axes) (SWEEP_COL_AXIS + (n_axes) + 4)
/* Sorts rows by column col (desc: largest first): swept values as numbers when both are, else as text; a
 * trial with no finished epoch after every trial with one when sorting by its best val_acc or epoch (either
 * way); ties by trial. */
void sweep_rows_sort(sweep_row *rows, int n, const sweep_plan *p, int col, int desc);
/* The events of a sweep as vggtop sweep --notify and the front end watching a sweep tell them. A trial's end
 * from its row: finished, failed (code: its exit status, 0 when not known) or pruned, "trial 3/12 (--lr 0.1)
 * finished, best val_acc 0.8250 at epoch 3"; 0 for a trial that has not ended, else 1. */
int sweep_trial_event(const sweep_plan *p, const sweep_row *r, int code, notify_event *e);
/* The sweep's end from its rows (any order): "sweep DIR finished: 9 done, 1 failed, 2 pruned; best trial 4
 * (--lr 0.1), val_acc 0.8300". */
void sweep_end_event(const char *dir, const sweep_plan *p, const sweep_row *rows, int n, notify_event *e);
/* What an event's hook is given: trial t's run (its directory, epochs and history), or for t < 0 the folder;
 * malloc'ed, NULL out of memory. */
train_snapshot *sweep_event_snapshot(const char *dir, int t);

#endif
