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
/* Takes the run's lock (<dir>/run.lock, created when missing) for this process, which will have the run
 * `role` ("trained" or "evaluated", for the messages): VT_OK with *fd to keep open for as long as the process
 * writes the run; VT_EUSAGE naming the holder's pid and role ("is being trained by process 123") when another
 * process holds it (*holder: its pid, -1 when unknown). */
int run_lock_take(const char *dir, const char *role, int *fd, long *holder, vt_err *err);
void run_lock_release(int fd);

/* The data options a config asks for: resize resolved ("auto": 48 for vgg16/vgg19, native otherwise) and
 * the model's minimum side (32 for vgg16/vgg19). path points into cfg. */
void train_data_options(const train_config *cfg, data_options *opt);
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

/* Parses config.json into run->config and the data set's description in run. */
int run_read_config(const char *dir, run_data *run, vt_err *err);

/* Writes config.json: every setting, the data set and the model's input. created: the run's creation time
 * (kept on --resume), NULL for now. */
int train_write_config(const char *dir, const train_config *cfg, const dataset *ds, const model_config *mc,
                       long long params, const char *created, vt_err *err);

/* Run-directory writers (all atomic). */
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

/* Keras' categorical cross-entropy, accuracy, mse and top-5 accuracy of n predictions, into row's val_loss,
 * val_acc, val_mse and val_top5. */
void train_val_metrics(const float *probs, const int *y, long n, int C, train_epoch *row);

/* Predicts split DATA_TEST of ds with m in batches of batch (m sized for it). probs: (n_test, classes).
 * stop (may be NULL) is asked before every batch; when it says so, *stopped is set and the rest is left. */
int train_predict_test(model *m, const dataset *ds, int batch, float *x_buf, float *probs, int (*stop)(void *),
                       void *arg, int *stopped, vt_err *err);

/* Removes "<name>.tmp.<pid>" leftovers of a process killed while writing (never another live writer's:
 * only files whose pid is not running). */
void run_clean_temporaries(const char *dir);

#endif
