/* train/settings: the table of `vggtop train`'s settings, one row each, and everything derived from it:
 * defaults, the one-field-at-a-time validator (the CLI's flags, the Setup form, config.json), the text a
 * form shows, the whole-config check, the settings' part of config.json both ways, `--help`'s option list
 * and the man page's. A new setting is a row here plus the code that uses it. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "train_internal.h"

#define SEED_MAX 9007199254740991.0 /* 2^53 - 1: exact in a JSON number */

static const char *const label_choices[] = {"fine", "coarse", NULL};

/* --conv: nn's own check of a backend choice (a name, or one per Conv2D layer). */
static int conv_check(const char *value, char *why, size_t size)
{
    vt_err err;
    if (!*value || nn_conv_check(value, &err) == VT_OK)
        return 0;
    snprintf(why, size, "%s", err.msg);
    return -1;
}
/* --on-event: a command line that splits (notify_split) and names a program that can run. */
static int on_event_check(const char *value, char *why, size_t size)
{
    if (!*value)
        return 0;
    char **argv;
    vt_err err;
    if (notify_split(value, &argv, &err) != VT_OK) {
        snprintf(why, size, "%s", err.msg);
        return -1;
    }
    int ok = notify_program_found(argv[0]);
    if (!ok)
        snprintf(why, size, "'%s' is not a program found on PATH or an executable file", argv[0]);
    free(argv);
    return ok ? 0 : -1;
}
static const char *const mode_choices[] = {"auto", "min", "max", NULL};
static const char *const schedule_choices[] = {"none", "step", "exponential", "cosine", NULL};
/* --allreduce-precision, in dist_precision's order. */
static const char *const allreduce_choices[] = {"float32", "bf16", "fp16", NULL};
/* Keras' class names (config.json said "SGD" before there was a choice), in nn_optimizer's order. */
static const char *const optimizer_choices[] = {"SGD", "Adam", "RMSprop", NULL};

#define AT(member) offsetof(train_config, member), sizeof(((train_config *)0)->member)

/* Form order. lo/hi bound numbers (TRAIN_F_LO_OPEN / _HI_OPEN exclude the bound) and text lengths come from
 * the field's size. */
const train_field train_fields[] = {
    {"model", "Model", TRAIN_FIELD_CHOICE, model_names, "NAME", "the network to train", TRAIN_STORE_TEXT, AT(model),
     0, 0, 0, "cnn", "model", "required for a new run", NULL, NULL},
    {"data", "Data set", TRAIN_FIELD_TEXT, NULL, "PATH", "the data directory", TRAIN_STORE_TEXT, AT(data), 0, 0,
     TRAIN_F_EXISTS | TRAIN_F_LATER | TRAIN_F_RESUMABLE, "", "data.flag",
     "$VGGTOP_DATA, ./data/cifar-100-binary, Keras's and torchvision's cifar-100-python, then Fashion-MNIST",
     NULL, NULL},
    {"labels", "Labels", TRAIN_FIELD_CHOICE, label_choices, NULL, "CIFAR-100's 100 fine classes or 20 superclasses",
     TRAIN_STORE_INDEX, AT(coarse), 0, 0, 0, "fine", "data.labels", NULL, NULL, NULL},
    {"resize", "Resize", TRAIN_FIELD_INT, NULL, "N", "the image side given to the model",
     TRAIN_STORE_INT, AT(resize), 8, 512, TRAIN_F_AUTO, "auto", "data.resize",
     "auto, 48 for vgg16 and vgg19 as the seed, native for the others",
     "The VGGs need at least 32; smaller images are upscaled to that.", NULL},
    {"epochs", "Epochs", TRAIN_FIELD_INT, NULL, "N", "passes over the training set", TRAIN_STORE_INT, AT(epochs), 1,
     TRAIN_MAX_EPOCHS, TRAIN_F_RESUMABLE, "10", "training.epochs", NULL, NULL, NULL},
    {"batch-size", "Batch size", TRAIN_FIELD_INT, NULL, "N", "images per SGD step", TRAIN_STORE_INT, AT(batch_size),
     1, 4096, 0, "32", "training.batch_size", NULL, NULL, NULL},
    {"lr", "Learning rate", TRAIN_FIELD_FLOAT, NULL, "F", "the SGD learning rate", TRAIN_STORE_DOUBLE, AT(lr), 0, 10,
     TRAIN_F_LO_OPEN | TRAIN_F_RESUMABLE, "0.01", "training.optimizer.lr", NULL, NULL, NULL},
    {"momentum", "Momentum", TRAIN_FIELD_FLOAT, NULL, "F", "SGD's and RMSprop's momentum", TRAIN_STORE_DOUBLE, AT(momentum), 0, 1,
     TRAIN_F_HI_OPEN | TRAIN_F_RESUMABLE, "0", "training.optimizer.momentum", NULL, NULL, NULL},
    {"nesterov", "Nesterov", TRAIN_FIELD_BOOL, NULL, NULL, "Nesterov momentum", TRAIN_STORE_INT, AT(nesterov), 0, 1,
     TRAIN_F_RESUMABLE, "no", "training.optimizer.nesterov", NULL, NULL, NULL},
    {"weight-decay", "Weight decay", TRAIN_FIELD_FLOAT, NULL, "F", "decoupled weight decay", TRAIN_STORE_DOUBLE,
     AT(weight_decay), 0, 1, TRAIN_F_RESUMABLE, "0", "training.optimizer.weight_decay", NULL, NULL, NULL},
    {"augment", "Augment", TRAIN_FIELD_BOOL, NULL, NULL,
     "random crop with 4-pixel padding and horizontal flip of the training images", TRAIN_STORE_INT, AT(augment), 0,
     1, 0, "no", "data.augment", NULL, NULL, NULL},
    {"limit-train", "Limit train", TRAIN_FIELD_INT, NULL, "N", "use only the first N training images",
     TRAIN_STORE_LONG, AT(limit_train), 0, 1e9, 0, "0", "data.limit_train", "0, all", NULL, NULL},
    {"limit-test", "Limit test", TRAIN_FIELD_INT, NULL, "N", "use only the first N test images", TRAIN_STORE_LONG,
     AT(limit_test), 0, 1e9, 0, "0", "data.limit_test", "0, all", NULL, NULL},
    /* A folder of class folders' validation images (data.h's DATA_FOLDER); the CIFAR formats ignore both. */
    {"validation-split", "Val. split", TRAIN_FIELD_FLOAT, NULL, "F",
     "a folder of class folders: the fraction of its images held out for validation", TRAIN_STORE_DOUBLE,
     AT(validation_split), 0, 1, TRAIN_F_HI_OPEN | TRAIN_F_NEWER, "0", "data.validation_split", "0, none",
     "As Keras' validation_split with its seed: the files shuffled by --seed, the last F of them. Not needed with "
     "--val-data or a folder holding train/ and test/; refused for a data set with its own test split (CIFAR, "
     "IDX).", NULL},
    {"val-data", "Validation data", TRAIN_FIELD_TEXT, NULL, "DIR",
     "a folder of the same class folders, for validation", TRAIN_STORE_TEXT, AT(val_data), 0, 0,
     TRAIN_F_EXISTS | TRAIN_F_LATER | TRAIN_F_NEWER, "", "data.val_data", "none", NULL, NULL},
    {"seed", "Seed", TRAIN_FIELD_INT, NULL, "N", "the seed of the weights, the shuffling and the augmentation",
     TRAIN_STORE_U64, AT(seed), 0, SEED_MAX, 0, "1", "training.seed", NULL, NULL, NULL},
    {"threads", "Threads", TRAIN_FIELD_INT, NULL, "N", "threads of the computation (OpenBLAS, oneDNN, nn's own)", TRAIN_STORE_INT, AT(threads), 0, 256,
     TRAIN_F_RESUMABLE, "0", "training.threads", "0, one per core", NULL, NULL},
    {"conv", "Convolutions", TRAIN_FIELD_TEXT, NULL, "LIST",
     "the convolution backends: " NN_CONV_CHOICES ", or one per Conv2D layer, comma-separated",
     TRAIN_STORE_TEXT, AT(conv), 0, 0, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "", "training.conv",
     "$VGGTOP_CONV, else auto",
     "A run records the choice each layer resolved to, and --resume uses it again unless --conv is given, so a "
     "run stays bit for bit reproducible; checkpoints move between backends.",
     conv_check},
    {"precision", "Precision", TRAIN_FIELD_CHOICE, nn_precision_names, NULL,
     "Keras' dtype policy: mixed_bfloat16 runs the convolutions in bfloat16 and keeps the weights, loss and "
     "softmax in float32 (CPUs with AVX512_BF16 or AMX)",
     TRAIN_STORE_INDEX, AT(precision), 0, 0, TRAIN_F_NEWER, "float32", "training.precision", NULL,
     "A CPU without bfloat16 instructions refuses mixed_bfloat16 when the run starts; checkpoints hold float32 "
     "weights either way, so they load at either precision.",
     NULL},
    /* Starting weights (nn's keras_h5_load; src/train/weights.c). */
    {"weights", "Weights", TRAIN_FIELD_TEXT, NULL, "FILE",
     "start from a Keras HDF5 weights file, or 'imagenet' (vgg16, vgg19) for keras.applications' ImageNet weights",
     TRAIN_STORE_TEXT, AT(weights), 0, 0, TRAIN_F_NEWER | TRAIN_F_LATER, "", "training.weights", "none",
     "Layers are matched by name (Keras' by_name=True); a model layer missing from the file or of another shape "
     "is refused unless --skip-mismatch. With imagenet the images get Keras' caffe preprocessing (BGR, ImageNet "
     "means subtracted, no /255).",
     NULL},
    {"skip-mismatch", "Skip mismatch", TRAIN_FIELD_BOOL, NULL, NULL,
     "with --weights: leave layers missing from the file or of other shapes as initialised", TRAIN_STORE_INT,
     AT(skip_mismatch), 0, 1, TRAIN_F_NEWER, "no", "training.skip_mismatch", NULL, NULL, NULL},
    {"freeze-base", "Freeze base", TRAIN_FIELD_BOOL, NULL, NULL,
     "train only the top: the convolutional base's weights stay as loaded (Keras' base.trainable = False)",
     TRAIN_STORE_INT, AT(freeze_base), 0, 1, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "no", "training.freeze_base", NULL,
     NULL, NULL},
    {"runs", "Runs directory", TRAIN_FIELD_TEXT, NULL, "DIR", "the parent of new run directories", TRAIN_STORE_TEXT,
     AT(runs), 0, 0, TRAIN_F_NONEMPTY, "runs", "training.runs", NULL, NULL, NULL},
    {"run-dir", "Run directory", TRAIN_FIELD_TEXT, NULL, "DIR", "the exact run directory, new or empty",
     TRAIN_STORE_TEXT, AT(run_dir), 0, 0, TRAIN_F_LATER, "", NULL, "<runs>/<UTC time>-<model>",
     "A run that fails before it starts, such as one without data, leaves no directory behind.", NULL},
    /* Callbacks: Keras' names and defaults (src/train/callbacks.c); absent from runs made before them. */
    {"early-stop", "Early stop", TRAIN_FIELD_CHOICE, train_monitor_names, NULL,
     "stop when this value stops improving (Keras' EarlyStopping)", TRAIN_STORE_INDEX, AT(cb.es_monitor), 0, 0,
     TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "none", "training.callbacks.early_stopping.monitor", NULL, NULL, NULL},
    {"patience", "Patience", TRAIN_FIELD_INT, NULL, "N", "epochs without improvement before early stopping",
     TRAIN_STORE_INT, AT(cb.es_patience), 0, TRAIN_MAX_EPOCHS, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "0",
     "training.callbacks.early_stopping.patience", NULL, NULL, NULL},
    {"min-delta", "Min delta", TRAIN_FIELD_FLOAT, NULL, "F", "the smallest change early stopping counts as better",
     TRAIN_STORE_DOUBLE, AT(cb.es_min_delta), 0, 1e6, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "0",
     "training.callbacks.early_stopping.min_delta", NULL, NULL, NULL},
    {"mode", "Stop mode", TRAIN_FIELD_CHOICE, mode_choices, NULL,
     "whether lower or higher is better for early stopping (auto: higher for acc)", TRAIN_STORE_INDEX,
     AT(cb.es_mode), 0, 0, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "auto", "training.callbacks.early_stopping.mode", NULL, NULL, NULL},
    {"restore-best", "Restore best", TRAIN_FIELD_BOOL, NULL, NULL,
     "when early stopping ends the run, go back to the weights of its best epoch", TRAIN_STORE_INT,
     AT(cb.es_restore), 0, 1, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "no", "training.callbacks.early_stopping.restore_best_weights", NULL,
     NULL, NULL},
    {"reduce-lr", "Reduce LR on", TRAIN_FIELD_CHOICE, train_monitor_names, NULL,
     "cut the learning rate when this value stalls (Keras' ReduceLROnPlateau)", TRAIN_STORE_INDEX,
     AT(cb.rp_monitor), 0, 0, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "none", "training.callbacks.reduce_lr.monitor", NULL, NULL, NULL},
    {"lr-factor", "LR factor", TRAIN_FIELD_FLOAT, NULL, "F", "what each cut multiplies the rate by",
     TRAIN_STORE_DOUBLE, AT(cb.rp_factor), 0, 1, TRAIN_F_NEWER | TRAIN_F_RESUMABLE | TRAIN_F_LO_OPEN | TRAIN_F_HI_OPEN, "0.1",
     "training.callbacks.reduce_lr.factor", NULL, NULL, NULL},
    {"lr-patience", "LR patience", TRAIN_FIELD_INT, NULL, "N", "epochs without improvement before a cut",
     TRAIN_STORE_INT, AT(cb.rp_patience), 0, TRAIN_MAX_EPOCHS, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "10",
     "training.callbacks.reduce_lr.patience", NULL, NULL, NULL},
    {"lr-min-delta", "LR min delta", TRAIN_FIELD_FLOAT, NULL, "F", "the smallest change a cut counts as better",
     TRAIN_STORE_DOUBLE, AT(cb.rp_min_delta), 0, 1e6, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "0.0001",
     "training.callbacks.reduce_lr.min_delta", NULL, NULL, NULL},
    {"lr-cooldown", "LR cooldown", TRAIN_FIELD_INT, NULL, "N", "epochs after a cut before waiting again",
     TRAIN_STORE_INT, AT(cb.rp_cooldown), 0, TRAIN_MAX_EPOCHS, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "0",
     "training.callbacks.reduce_lr.cooldown", NULL, NULL, NULL},
    {"min-lr", "Min LR", TRAIN_FIELD_FLOAT, NULL, "F", "the lowest rate a cut goes to", TRAIN_STORE_DOUBLE,
     AT(cb.rp_min_lr), 0, 10, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "0", "training.callbacks.reduce_lr.min_lr", NULL, NULL, NULL},
    {"lr-mode", "LR mode", TRAIN_FIELD_CHOICE, mode_choices, NULL,
     "whether lower or higher is better for the cuts (auto: higher for acc)", TRAIN_STORE_INDEX, AT(cb.rp_mode), 0,
     0, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "auto", "training.callbacks.reduce_lr.mode", NULL, NULL, NULL},
    {"schedule", "LR schedule", TRAIN_FIELD_CHOICE, schedule_choices, NULL,
     "the rate of each epoch: step (times the factor every N epochs), exponential (factor^(epoch/N)) or cosine "
     "(down to its minimum, after a warm-up)",
     TRAIN_STORE_INDEX, AT(cb.schedule), 0, 0, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "none", "training.callbacks.schedule.name", NULL,
     NULL, NULL},
    {"schedule-every", "Sched. every", TRAIN_FIELD_INT, NULL, "N", "step and exponential: epochs per factor",
     TRAIN_STORE_INT, AT(cb.sched_every), 1, TRAIN_MAX_EPOCHS, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "10", "training.callbacks.schedule.every",
     NULL, NULL, NULL},
    {"schedule-factor", "Sched. factor", TRAIN_FIELD_FLOAT, NULL, "F", "step and exponential: the factor",
     TRAIN_STORE_DOUBLE, AT(cb.sched_factor), 0, 1, TRAIN_F_NEWER | TRAIN_F_RESUMABLE | TRAIN_F_LO_OPEN, "0.5",
     "training.callbacks.schedule.factor", NULL, NULL, NULL},
    {"warmup", "Warm-up", TRAIN_FIELD_INT, NULL, "N", "cosine: epochs of linear warm-up first", TRAIN_STORE_INT,
     AT(cb.sched_warmup), 0, TRAIN_MAX_EPOCHS, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "0", "training.callbacks.schedule.warmup", NULL, NULL, NULL},
    {"schedule-min-lr", "Sched. min LR", TRAIN_FIELD_FLOAT, NULL, "F", "cosine: the rate of the last epoch",
     TRAIN_STORE_DOUBLE, AT(cb.sched_min_lr), 0, 10, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "0", "training.callbacks.schedule.min_lr", NULL,
     NULL, NULL},
    {"save-best", "Save best", TRAIN_FIELD_CHOICE, train_monitor_names, NULL,
     "keep best.bin, the checkpoint of the best epoch by this value (Keras' ModelCheckpoint)", TRAIN_STORE_INDEX,
     AT(cb.best_monitor), 0, 0, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "none", "training.callbacks.model_checkpoint.monitor", NULL, NULL, NULL},
    /* Alerts (src/train/notify.c): of this session, not of the run; config.json does not keep them. */
    {"notify", "Notify", TRAIN_FIELD_BOOL, NULL, NULL,
     "at the end, a failure, a non-finite loss, an early stop or a stall: a terminal notification and a log line",
     TRAIN_STORE_INT, AT(notify), 0, 1, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "no", NULL, NULL,
     "The notification is OSC 9 and OSC 777 (wrapped for tmux's passthrough inside tmux) and a BEL, written to the "
     "terminal; a stall is no step for 5 times the median step time.",
     NULL},
    {"on-event", "On event", TRAIN_FIELD_TEXT, NULL, "CMD",
     "a command run at each of those events, with the event in its environment", TRAIN_STORE_TEXT, AT(on_event), 0,
     0, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "", NULL, "none",
     "Split into words without a shell (blanks separate, quotes group, a backslash keeps the next character); it "
     "gets VGGTOP_EVENT, VGGTOP_MESSAGE, VGGTOP_RUN_DIR, VGGTOP_EPOCH, VGGTOP_EPOCHS and the last epoch's "
     "VGGTOP_LOSS, VGGTOP_ACC, VGGTOP_VAL_LOSS and VGGTOP_VAL_ACC, and is killed past --hook-timeout.",
     on_event_check},
    {"hook-timeout", "Hook timeout", TRAIN_FIELD_INT, NULL, "SECONDS",
     "how long the --on-event command may run before it is killed (the run goes on)", TRAIN_STORE_INT,
     AT(hook_timeout), 1, 3600, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "30", NULL, NULL, NULL, NULL},
    /* The optimiser: Keras' names, defaults and rules (src/nn/optim.c); absent from runs made before them;
     * last, so the form's rows before them keep their places. */
    {"optimizer", "Optimizer", TRAIN_FIELD_CHOICE, optimizer_choices, NULL,
     "the optimizer: Keras' SGD, Adam or RMSprop (which uses --momentum too)", TRAIN_STORE_INDEX, AT(optimizer),
     0, 0, TRAIN_F_NEWER | TRAIN_F_ANY_CASE, "SGD", "training.optimizer.name", NULL,
     "Any case will do (adam). Keras' Adam and RMSprop default to a learning rate of 0.001; --lr's default stays "
     "SGD's 0.01, so give it.",
     NULL},
    {"beta1", "Beta 1", TRAIN_FIELD_FLOAT, NULL, "F", "Adam's decay of the first moment (beta_1)", TRAIN_STORE_DOUBLE,
     AT(beta1), 0, 1, TRAIN_F_NEWER | TRAIN_F_HI_OPEN | TRAIN_F_RESUMABLE, "0.9", "training.optimizer.beta_1", NULL, NULL, NULL},
    {"beta2", "Beta 2", TRAIN_FIELD_FLOAT, NULL, "F", "Adam's decay of the second moment (beta_2)",
     TRAIN_STORE_DOUBLE, AT(beta2), 0, 1, TRAIN_F_NEWER | TRAIN_F_HI_OPEN | TRAIN_F_RESUMABLE, "0.999", "training.optimizer.beta_2",
     NULL, NULL, NULL},
    {"rho", "Rho", TRAIN_FIELD_FLOAT, NULL, "F", "RMSprop's decay of the mean square", TRAIN_STORE_DOUBLE, AT(rho), 0,
     1, TRAIN_F_NEWER | TRAIN_F_HI_OPEN | TRAIN_F_RESUMABLE, "0.9", "training.optimizer.rho", NULL, NULL, NULL},
    {"epsilon", "Epsilon", TRAIN_FIELD_FLOAT, NULL, "F",
     "Adam's and RMSprop's epsilon (as Keras: added to sqrt(v), under RMSprop's root)", TRAIN_STORE_DOUBLE,
     AT(epsilon), 0, 1, TRAIN_F_NEWER | TRAIN_F_LO_OPEN | TRAIN_F_RESUMABLE, "1e-07", "training.optimizer.epsilon", NULL, NULL, NULL},
    /* Data-parallel runs only (mpirun); last, as the optimiser's rows. */
    {"allreduce-precision", "Allreduce width", TRAIN_FIELD_CHOICE, allreduce_choices, NULL,
     "the width the gradients travel at between ranks (mpirun): float32, or bf16 or fp16 at half the bytes",
     TRAIN_STORE_INDEX, AT(allreduce_precision), 0, 0, TRAIN_F_NEWER | TRAIN_F_RESUMABLE, "float32",
     "training.allreduce_precision", NULL,
     "Each rank rounds its gradient buckets to the narrow type; an Open MPI operation of vggtop's own adds two "
     "of them in float32 and rounds the sum back, so each step of the allreduce rounds once (N - 1 times for N "
     "ranks). bf16 keeps float32's range; fp16 keeps 3 more bits but flushes gradients below 6e-8 to zero and "
     "overflows past 65504. One process ignores it.",
     NULL},
    {NULL, NULL, 0, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};

const train_field *train_field_find(const char *name)
{
    for (int i = 0; name && train_fields[i].name; i++)
        if (strcmp(train_fields[i].name, name) == 0)
            return &train_fields[i];
    return NULL;
}

static void *slot(train_config *cfg, const train_field *f) { return (char *)cfg + f->offset; }
static const void *cslot(const train_config *cfg, const train_field *f) { return (const char *)cfg + f->offset; }

static int choice_index(const train_field *f, const char *value)
{
    for (int i = 0; f->choices[i]; i++)
        if ((f->flags & TRAIN_F_ANY_CASE ? strcasecmp : strcmp)(f->choices[i], value) == 0)
            return i;
    return -1;
}

/* "a, b or c" */
static void join_choices(char *buf, size_t size, const char *const *choices, const char *last)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; choices[i] && n < size; i++) {
        const char *sep = i == 0 ? "" : choices[i + 1] ? ", " : last;
        n += (size_t)snprintf(buf + n, size - n, "%s%s", sep, choices[i]);
    }
}

/* A number of the row's kind as the messages write it: whole numbers without a fraction. */
static void fmt_bound(char *buf, size_t size, const train_field *f, double v)
{
    if (f->kind == TRAIN_FIELD_FLOAT)
        snprintf(buf, size, "%g", v);
    else
        snprintf(buf, size, "%.0f", v);
}

int train_field_describe(const train_field *f, char *buf, size_t size)
{
    char lo[32], hi[32];
    fmt_bound(lo, sizeof lo, f, f->lo);
    fmt_bound(hi, sizeof hi, f, f->hi);
    switch (f->kind) {
    case TRAIN_FIELD_CHOICE: {
        char list[256];
        join_choices(list, sizeof list, f->choices, " or ");
        return snprintf(buf, size, "%s", list);
    }
    case TRAIN_FIELD_BOOL: return snprintf(buf, size, "yes or no");
    case TRAIN_FIELD_TEXT: return snprintf(buf, size, "%s", f->flags & TRAIN_F_NONEMPTY ? "a non-empty name" : "text");
    case TRAIN_FIELD_FLOAT:
        return snprintf(buf, size, "a number in %c%s, %s%c", f->flags & TRAIN_F_LO_OPEN ? '(' : '[', lo, hi,
                        f->flags & TRAIN_F_HI_OPEN ? ')' : ']');
    case TRAIN_FIELD_INT:
        if (f->flags & TRAIN_F_AUTO)
            return snprintf(buf, size, "auto, 0 (native) or a whole number in %s..%s", lo, hi);
        return snprintf(buf, size, "a whole number in %s..%s", lo, hi);
    }
    return snprintf(buf, size, "?");
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "yes", "on", "true", NULL};
    static const char *const no[] = {"0", "no", "off", "false", NULL};
    for (int i = 0; yes[i]; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
    for (int i = 0; no[i]; i++)
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    return -1;
}

/* Whole numbers: digits only (an optional '-'), no exponent or fraction. */
static int parse_whole(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    if (!*s || (s[0] != '-' && (s[0] < '0' || s[0] > '9')))
        return -1;
    if (s[0] == '-') {
        long long v = strtoll(s, &end, 10);
        if (*end || errno || (double)v < lo || (double)v > hi)
            return -1;
        *out = (double)v;
        return 0;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || (double)v < lo || (double)v > hi)
        return -1;
    *out = (double)v;
    return 0;
}

int train_field_in_range(const train_field *f, double v)
{
    if (!(v >= f->lo && v <= f->hi))
        return 0;
    if ((f->flags & TRAIN_F_LO_OPEN) && v == f->lo)
        return 0;
    if ((f->flags & TRAIN_F_HI_OPEN) && v == f->hi)
        return 0;
    return 1;
}

static void store_number(train_config *cfg, const train_field *f, double v)
{
    switch (f->store) {
    case TRAIN_STORE_INT: *(int *)slot(cfg, f) = (int)v; break;
    case TRAIN_STORE_LONG: *(long *)slot(cfg, f) = (long)v; break;
    case TRAIN_STORE_U64: *(uint64_t *)slot(cfg, f) = (uint64_t)v; break;
    case TRAIN_STORE_DOUBLE: *(double *)slot(cfg, f) = v; break;
    case TRAIN_STORE_INDEX: *(int *)slot(cfg, f) = (int)v; break;
    case TRAIN_STORE_TEXT: break;
    }
}

/* Parses value into f's field of cfg. On a bad value cfg is unchanged and why holds the reason without the
 * field's name ("'0' is not a whole number in 1..1000"). check_path: a TRAIN_F_EXISTS path must exist (the
 * CLI and the form; not config.json, whose data set may have moved since). */
static int parse_into(train_config *cfg, const train_field *f, const char *value, int check_path, char *why,
                      size_t size)
{
    char what[256], bad[128];
    train_field_describe(f, what, sizeof what);
    /* Printable text before a message quotes it: config.json's values reach the terminal this way. */
    if (vt_check_text(value, strlen(value), bad, sizeof bad) != 0)
        return snprintf(why, size, "not printable text (%s)", bad), -1;
    double v;
    int b;
    switch (f->kind) {
    case TRAIN_FIELD_TEXT:
        if (strlen(value) >= f->size)
            return snprintf(why, size, "longer than %zu characters", f->size - 1), -1;
        if ((f->flags & TRAIN_F_NONEMPTY) && !*value)
            return snprintf(why, size, "'' is not %s", what), -1;
        if (f->check && f->check(value, why, size) != 0)
            return -1;
        if ((f->flags & TRAIN_F_EXISTS) && check_path && *value) {
            struct stat st;
            if (stat(value, &st) != 0)
                return snprintf(why, size, "%.300s: %s", value, strerror(errno)), -1;
        }
        strcpy(slot(cfg, f), value);
        return 0;
    case TRAIN_FIELD_CHOICE: {
        int i = choice_index(f, value);
        if (i < 0)
            return snprintf(why, size, "'%.200s' is not %s", value, what), -1;
        if (f->store == TRAIN_STORE_INDEX)
            store_number(cfg, f, i);
        else if (strlen(value) < f->size)
            strcpy(slot(cfg, f), value);
        return 0;
    }
    case TRAIN_FIELD_BOOL:
        if (parse_bool(value, &b) != 0)
            return snprintf(why, size, "'%.200s' is not %s", value, what), -1;
        store_number(cfg, f, b);
        return 0;
    case TRAIN_FIELD_INT:
        if ((f->flags & TRAIN_F_AUTO) && (!*value || strcmp(value, "auto") == 0)) {
            store_number(cfg, f, -1);
            return 0;
        }
        if (parse_whole(value, (f->flags & TRAIN_F_AUTO) ? 0 : f->lo, f->hi, &v) != 0 ||
            (!((f->flags & TRAIN_F_AUTO) && v == 0) && !train_field_in_range(f, v)))
            return snprintf(why, size, "'%.200s' is not %s", value, what), -1;
        store_number(cfg, f, v);
        return 0;
    case TRAIN_FIELD_FLOAT:
        if (vt_parse_double(value, f->lo, f->hi, &v) != 0 || !train_field_in_range(f, v))
            return snprintf(why, size, "'%.200s' is not %s", value, what), -1;
        store_number(cfg, f, v);
        return 0;
    }
    return snprintf(why, size, "unknown kind of setting"), -1;
}

int train_config_set(train_config *cfg, const char *name, const char *value, vt_err *err)
{
    const train_field *f = train_field_find(name);
    if (!f)
        return vt_fail(err, VT_EUSAGE, "--%s: no such setting", name ? name : "");
    char why[480];
    if (parse_into(cfg, f, value ? value : "", 1, why, sizeof why) != 0)
        return vt_fail(err, VT_EUSAGE, "--%s: %s", f->name, why);
    return VT_OK;
}

/* The number in f's field, as a double (exact for every stored kind within the rows' ranges). */
static double number_of(const train_config *cfg, const train_field *f)
{
    switch (f->store) {
    case TRAIN_STORE_INT:
    case TRAIN_STORE_INDEX: return *(const int *)cslot(cfg, f);
    case TRAIN_STORE_LONG: return (double)*(const long *)cslot(cfg, f);
    case TRAIN_STORE_U64: return (double)*(const uint64_t *)cslot(cfg, f);
    case TRAIN_STORE_DOUBLE: return *(const double *)cslot(cfg, f);
    case TRAIN_STORE_TEXT: break;
    }
    return NAN;
}

static int format_field(const train_config *cfg, const train_field *f, char *buf, size_t size)
{
    double v = number_of(cfg, f);
    switch (f->kind) {
    case TRAIN_FIELD_TEXT: return snprintf(buf, size, "%s", (const char *)cslot(cfg, f));
    case TRAIN_FIELD_CHOICE:
        if (f->store == TRAIN_STORE_TEXT)
            return snprintf(buf, size, "%s", (const char *)cslot(cfg, f));
        for (int i = 0; f->choices[i]; i++)
            if (i == (int)v)
                return snprintf(buf, size, "%s", f->choices[i]);
        return snprintf(buf, size, "?");
    case TRAIN_FIELD_BOOL: return snprintf(buf, size, "%s", v != 0 ? "yes" : "no");
    case TRAIN_FIELD_INT:
        if ((f->flags & TRAIN_F_AUTO) && v < 0)
            return snprintf(buf, size, "auto");
        return snprintf(buf, size, "%.0f", v);
    case TRAIN_FIELD_FLOAT: return snprintf(buf, size, "%g", v);
    }
    return snprintf(buf, size, "?");
}

int train_config_get(const train_config *cfg, const char *name, char *buf, size_t size)
{
    const train_field *f = train_field_find(name);
    if (!f)
        return -1;
    format_field(cfg, f, buf, size);
    return 0;
}

void train_config_default(train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    char why[480];
    for (int i = 0; train_fields[i].name; i++)
        parse_into(cfg, &train_fields[i], train_fields[i].def, 0, why, sizeof why);
}

/* A field's stored value against its row, without a round trip through text (which %g would round). */
static int check_field(const train_config *cfg, const train_field *f, char *why, size_t size)
{
    char text[VT_PATH_MAX + VT_PATH_EXTRA];
    if (f->kind == TRAIN_FIELD_FLOAT || (f->kind == TRAIN_FIELD_INT && f->store != TRAIN_STORE_INDEX)) {
        double v = number_of(cfg, f);
        int ok = train_field_in_range(f, v) || ((f->flags & TRAIN_F_AUTO) && (v == -1 || v == 0));
        if (!ok) {
            char what[256];
            train_field_describe(f, what, sizeof what);
            format_field(cfg, f, text, sizeof text);
            return snprintf(why, size, "'%.200s' is not %s", text, what), -1;
        }
        return 0;
    }
    if (f->store == TRAIN_STORE_TEXT && !memchr(cslot(cfg, f), '\0', f->size))
        return snprintf(why, size, "not terminated"), -1;
    train_config scratch = *cfg;
    format_field(cfg, f, text, sizeof text);
    return parse_into(&scratch, f, text, 0, why, size);
}

int train_config_check(const train_config *cfg, vt_err *err)
{
    char why[480];
    for (int i = 0; train_fields[i].name; i++) {
        const train_field *f = &train_fields[i];
        if (!(f->flags & TRAIN_F_LATER) && check_field(cfg, f, why, sizeof why) != 0)
            return vt_fail(err, VT_EUSAGE, "--%s: %s", f->name, why);
    }
    int min = model_min_side(cfg->model);
    if (cfg->resize > 0 && cfg->resize < min)
        return vt_fail(err, VT_EUSAGE, "--resize: %d is below %s's minimum input of %dx%d", cfg->resize, cfg->model,
                       min, min);
    if (cfg->resume && !cfg->run_dir[0])
        return vt_fail(err, VT_EUSAGE, "--resume: no run directory given");
    if (cfg->cb.schedule && cfg->cb.rp_monitor)
        return vt_fail(err, VT_EUSAGE, "--schedule and --reduce-lr exclude each other (both set the learning rate)");
    if (cfg->cb.es_restore && !cfg->cb.es_monitor)
        return vt_fail(err, VT_EUSAGE, "--restore-best: only with --early-stop");
    return VT_OK;
}

/* ---- config.json ---------------------------------------------------------------------------------------- */

/* The object that holds key path's last part ("training.optimizer.lr": root.training.optimizer), created
 * when create is set; *leaf gets the last part. */
static cJSON *json_parent(cJSON *root, const char *path, int create, const char **leaf)
{
    cJSON *obj = root;
    const char *p = path;
    for (const char *dot; obj && (dot = strchr(p, '.')); p = dot + 1) {
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(dot - p), p);
        cJSON *next = cJSON_GetObjectItemCaseSensitive(obj, key);
        if (!next && create)
            next = cJSON_AddObjectToObject(obj, key);
        obj = cJSON_IsObject(next) ? next : NULL;
    }
    *leaf = p;
    return obj;
}

int train_settings_to_json(const train_config *cfg, cJSON *root)
{
    for (int i = 0; train_fields[i].name; i++) {
        const train_field *f = &train_fields[i];
        const char *leaf;
        if (!f->json)
            continue;
        cJSON *obj = json_parent(root, f->json, 1, &leaf);
        if (!obj)
            return -1;
        char text[VT_PATH_MAX + VT_PATH_EXTRA];
        cJSON *item;
        switch (f->kind) {
        case TRAIN_FIELD_TEXT:
        case TRAIN_FIELD_CHOICE:
            format_field(cfg, f, text, sizeof text);
            item = cJSON_AddStringToObject(obj, leaf, text);
            break;
        case TRAIN_FIELD_BOOL: item = cJSON_AddBoolToObject(obj, leaf, number_of(cfg, f) != 0); break;
        default: item = cJSON_AddNumberToObject(obj, leaf, number_of(cfg, f)); break;
        }
        if (!item)
            return -1;
    }
    return 0;
}

int train_settings_from_json(const cJSON *root, train_config *cfg, const char *path, vt_err *err)
{
    char why[480];
    for (int i = 0; train_fields[i].name; i++) {
        const train_field *f = &train_fields[i];
        const char *leaf;
        if (!f->json)
            continue;
        cJSON *obj = json_parent((cJSON *)root, f->json, 0, &leaf);
        cJSON *item = obj ? cJSON_GetObjectItemCaseSensitive(obj, leaf) : NULL;
        if (!item && (f->flags & TRAIN_F_NEWER))
            continue; /* a run made before the setting existed: its default, which is what that run had */
        const char *expected = f->kind == TRAIN_FIELD_BOOL                               ? "true or false"
                               : f->kind == TRAIN_FIELD_TEXT || f->kind == TRAIN_FIELD_CHOICE ? "a string"
                                                                                          : "a number";
        int ok = f->kind == TRAIN_FIELD_BOOL ? cJSON_IsBool(item)
                 : f->kind == TRAIN_FIELD_TEXT || f->kind == TRAIN_FIELD_CHOICE ? cJSON_IsString(item)
                                                                             : cJSON_IsNumber(item);
        if (!ok)
            return vt_fail(err, VT_EUSAGE, "%s: \"%s\" is %s, expected %s", path, f->json,
                           item ? "of the wrong type" : "missing", expected);
        char text[64];
        const char *value = text;
        if (cJSON_IsBool(item))
            value = cJSON_IsTrue(item) ? "yes" : "no";
        else if (cJSON_IsString(item))
            value = item->valuestring;
        else if ((f->flags & TRAIN_F_AUTO) && item->valuedouble == -1)
            value = "auto";
        else if (isfinite(item->valuedouble))
            snprintf(text, sizeof text, f->kind == TRAIN_FIELD_FLOAT ? "%.17g" : "%.0f", item->valuedouble);
        else
            value = "a non-finite number";
        if (f->kind == TRAIN_FIELD_INT && cJSON_IsNumber(item) && item->valuedouble != floor(item->valuedouble))
            snprintf(text, sizeof text, "%.17g", item->valuedouble); /* refused below as not whole */
        if (parse_into(cfg, f, value, 0, why, sizeof why) != 0)
            return vt_fail(err, VT_EUSAGE, "%s: \"%s\": %s", path, f->json, why);
    }
    return VT_OK;
}

/* ---- --help and the man page ------------------------------------------------------------------------------ */

/* What a row says of its range and default, after its help: ", 1 to 1000 (default 10)". */
static void range_and_default(const train_field *f, char *buf, size_t size)
{
    char lo[32], hi[32], range[300] = "";
    fmt_bound(lo, sizeof lo, f, f->lo);
    fmt_bound(hi, sizeof hi, f, f->hi);
    if (f->kind == TRAIN_FIELD_INT && !(f->flags & TRAIN_F_AUTO))
        snprintf(range, sizeof range, ", %s to %s", lo, hi);
    else if (f->kind == TRAIN_FIELD_INT)
        snprintf(range, sizeof range, ": auto, 0 (native) or %s to %s", lo, hi);
    else if (f->kind == TRAIN_FIELD_FLOAT)
        snprintf(range, sizeof range, ", in %c%s, %s%c", f->flags & TRAIN_F_LO_OPEN ? '(' : '[', lo, hi,
                 f->flags & TRAIN_F_HI_OPEN ? ')' : ']');
    else if (f->kind == TRAIN_FIELD_CHOICE && f->store == TRAIN_STORE_TEXT) {
        char list[256];
        join_choices(list, sizeof list, f->choices, " or ");
        snprintf(range, sizeof range, ": %s", list);
    }
    if (f->kind == TRAIN_FIELD_BOOL)
        snprintf(buf, size, "%s", range);
    else if (f->doc_default)
        snprintf(buf, size, "%s (%s%s)", range, strncmp(f->doc_default, "required", 8) == 0 ? "" : "default ",
                 f->doc_default);
    else
        snprintf(buf, size, "%s (default %s)", range, f->def);
}

/* "--labels fine|coarse", "--epochs N", "--nesterov" */
static void flag_text(const train_field *f, char *buf, size_t size)
{
    if (f->kind == TRAIN_FIELD_BOOL)
        snprintf(buf, size, "--%s", f->name);
    else if (f->metavar)
        snprintf(buf, size, "--%s %s", f->name, f->metavar);
    else {
        char list[256];
        join_choices(list, sizeof list, f->choices, "|");
        for (char *p = list; (p = strstr(p, ", ")); )
            memmove(p + 1, p + 2, strlen(p + 2) + 1), *p = '|';
        snprintf(buf, size, "--%s %s", f->name, list);
    }
}

/* "--epochs and --threads" */
static void resumable_list(char *buf, size_t size, const char *bold_open, const char *bold_close)
{
    const char *names[64];
    int n = 0;
    for (int i = 0; train_fields[i].name && n < 64; i++)
        if (train_fields[i].flags & TRAIN_F_RESUMABLE)
            names[n++] = train_fields[i].name;
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s--%s%s", i == 0 ? "" : i == n - 1 ? " and " : ", ",
                                bold_open, names[i], bold_close);
}

static void flag_text(const train_field *f, char *buf, size_t size);

void train_resumable_names(char *buf, size_t size) { resumable_list(buf, size, "", ""); }

/* One option of --help: the flag in 20 columns, then the text wrapped at word ends to 100 columns. */
#define HELP_INDENT 23
#define HELP_WIDTH 100

void train_help_entry(vt_buf *b, const char *flag, const char *text)
{
    int col = HELP_INDENT;
    vt_buf_printf(b, "  %-20s", flag);
    if ((int)strlen(flag) > 20)
        vt_buf_printf(b, "\n%*s", HELP_INDENT, "");
    else
        vt_buf_add(b, " ");
    for (const char *p = text; *p;) {
        size_t word = strcspn(p, " ");
        if (col > HELP_INDENT && col + 1 + (int)word > HELP_WIDTH) {
            vt_buf_printf(b, "\n%*s", HELP_INDENT, "");
            col = HELP_INDENT;
        } else if (col > HELP_INDENT) {
            vt_buf_add(b, " ");
            col++;
        }
        vt_buf_printf(b, "%.*s", (int)word, p);
        col += (int)word;
        p += word;
        while (*p == ' ')
            p++;
    }
    vt_buf_add(b, "\n");
}

int train_field_doc(const train_field *f, char *buf, size_t size)
{
    char tail[400];
    range_and_default(f, tail, sizeof tail);
    return snprintf(buf, size, "%s%s", f->help, tail);
}

char *train_fields_help(void)
{
    vt_buf b = {0};
    char flag[300], list[1024], text[1200];
    for (int i = 0; train_fields[i].name; i++) {
        flag_text(&train_fields[i], flag, sizeof flag);
        train_field_doc(&train_fields[i], text, sizeof text);
        train_help_entry(&b, flag, text);
    }
    train_resumable_names(list, sizeof list);
    snprintf(text, sizeof text, "continue a stopped or killed run from its checkpoint with its own settings, of which "
             "only %s may change (config.json lists each change with its epoch)", list);
    train_help_entry(&b, "--resume RUN_DIR", text);
    return vt_buf_take(&b);
}

/* roff: every '-' escaped, so man prints a minus the user can type. */
static void roff(vt_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '-')
            vt_buf_printf(b, "\\-");
        else if (*s == '\\')
            vt_buf_printf(b, "\\e");
        else
            vt_buf_printf(b, "%c", *s);
    }
}

char *train_fields_man(void)
{
    vt_buf b = {0};
    char text[800], list[2048];
    for (int i = 0; train_fields[i].name; i++) {
        const train_field *f = &train_fields[i];
        vt_buf_printf(&b, ".TP\n");
        if (f->kind == TRAIN_FIELD_BOOL) {
            vt_buf_printf(&b, ".B \\-\\-");
            roff(&b, f->name);
        } else {
            char flag[300];
            flag_text(f, flag, sizeof flag);
            vt_buf_printf(&b, ".BI \\-\\-");
            roff(&b, f->name);
            vt_buf_printf(&b, " \" ");
            roff(&b, strchr(flag, ' ') + 1);
            vt_buf_printf(&b, "\"");
        }
        vt_buf_printf(&b, "\n");
        train_field_doc(f, text, sizeof text);
        roff(&b, text);
        vt_buf_printf(&b, "\n");
        if (f->more) {
            roff(&b, f->more);
            vt_buf_printf(&b, "\n");
        }
    }
    resumable_list(list, sizeof list, "\\fB", "\\fR");
    vt_buf_printf(&b, ".TP\n.BI \\-\\-resume \" RUN_DIR\"\n");
    vt_buf_printf(&b, "continue a stopped or killed run from its checkpoint with its own settings, of which only ");
    for (const char *p = list; *p; p++)
        vt_buf_printf(&b, *p == '-' ? "\\-" : "%c", *p);
    vt_buf_printf(&b, " may change (config.json lists each change with its epoch)\n");
    return vt_buf_take(&b);
}

const char *const *train_model_names(void) { return model_names; }

int train_setting_parse(const char *setting, const char *flag, const char *value, double *out, vt_err *err)
{
    const train_field *f = train_field_find(setting);
    if (!f)
        return vt_fail(err, VT_EINTERNAL, "%s: no setting '%s'", flag, setting);
    train_config scratch;
    train_config_default(&scratch);
    char why[480];
    if (parse_into(&scratch, f, value ? value : "", 1, why, sizeof why) != 0)
        return vt_fail(err, VT_EUSAGE, "%s: %s", flag, why);
    *out = number_of(&scratch, f);
    return VT_OK;
}
