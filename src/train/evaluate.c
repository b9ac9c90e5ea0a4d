/* train/evaluate: the test-set pass and its metrics (the engine's after every epoch, and `vggtop evaluate
 * RUN_DIR`'s: the checkpoint of a run, predicted again on its test set). */
#include <math.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

#include "train_internal.h"

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

int train_predict_test(model *m, const dataset *ds, const preprocess *pp, long from, long to, int batch,
                       float *x_buf, float *probs, int (*stop)(void *), void *arg, int *stopped, vt_err *err)
{
    if (stopped)
        *stopped = 0;
    long idx[4096];
    int y[4096];
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
        data_fill_batch(ds, DATA_TEST, idx, n, pp, x_buf, y);
        int rc = model_predict(m, x_buf, n, probs + (size_t)start * (size_t)ds->classes, err);
        if (rc)
            return rc;
    }
    return VT_OK;
}

/* The run to evaluate: its config (and test-set size), locked for this process, and the path of the
 * checkpoint, which must be there. */
static int open_run(const char *dir, const char *checkpoint, train_config *cfg, long *n_test, int *lock_fd,
                    char *path, size_t size, vt_err *err)
{
    *lock_fd = -1;
    run_data run;
    int rc = run_load(dir, RUN_PART_CONFIG, &run, err);
    if (!rc && !(run.parts & RUN_PART_CONFIG))
        rc = vt_fail(err, VT_EUSAGE, "%s: no %s: not a run directory", dir, RUN_CONFIG);
    /* The run is this process's while it evaluates: a training process (which evaluates each epoch itself)
     * or another evaluate holds the lock, and is named. */
    if (!rc)
        rc = run_lock_take(dir, lock_fd, NULL, err);
    struct stat st;
    if (!rc)
        rc = run_path(path, size, dir, checkpoint, err);
    if (!rc && lstat(path, &st) != 0 && errno == ENOENT)
        rc = strcmp(checkpoint, RUN_BEST) == 0
                 ? vt_fail(err, VT_EUSAGE, "%s: no %s (the run was not trained with --save-best, or has no epoch yet)",
                           dir, RUN_BEST)
                 : vt_fail(err, VT_EUSAGE, "%s: no %s yet (the run has not finished an epoch)", dir, checkpoint);
    *cfg = run.config;
    *n_test = run.n_test;
    run_free(&run);
    if (rc) {
        run_lock_release(*lock_fd);
        *lock_fd = -1;
    }
    return rc;
}

/* The model of cfg for ds with the checkpoint's weights (checked to be that model), and the position its
 * training state records (*epoch -1 when unknown). */
static int load_model(const train_config *cfg, const dataset *ds, const char *path, model **m, int *epoch,
                      long *batch, vt_err *err)
{
    model_config mc, stored;
    int rc = train_model_config(cfg, ds->height, ds->width, ds->channels, ds->classes, &mc, err);
    if (!rc)
        rc = checkpoint_read_config(path, &stored, err);
    if (!rc && (strcmp(stored.name, mc.name) != 0 || stored.height != mc.height || stored.width != mc.width ||
                stored.channels != mc.channels || stored.classes != mc.classes))
        rc = vt_fail(err, VT_EUSAGE, "%s: holds a %s for %dx%dx%d and %d classes, but %s describes a %s for %dx%dx%d "
                     "and %d classes", path, stored.name, stored.height, stored.width, stored.channels, stored.classes,
                     RUN_CONFIG, mc.name, mc.height, mc.width, mc.channels, mc.classes);
    if (!rc)
        rc = model_create(&mc, m, err);
    if (!rc)
        rc = model_set_batch(*m, cfg->batch_size, err);
    if (rc)
        return rc;
    /* The engine's blob is not needed here; a small buffer is enough to satisfy the loader. */
    size_t len;
    unsigned char extra[32];
    rc = checkpoint_load(path, *m, extra, sizeof extra, &len, err);
    /* Which weights these are (best.bin's epoch is not the last): recorded in predictions.json. */
    if (!rc && train_blob_position(extra, len < sizeof extra ? len : sizeof extra, epoch, batch) != 0)
        *epoch = -1;
    return rc;
}

/* The test set through m, its metrics into out (and its size into *n_test), and the evaluation files (only
 * when the predictions are finite numbers: good files are never replaced by bad ones). */
static int predict_and_write(const char *dir, int lock_fd, const char *path, const train_config *cfg,
                             const dataset *ds, model *m, int epoch, long batch, train_epoch *out, long *n_test,
                             vt_err *err)
{
    size_t per = (size_t)ds->height * (size_t)ds->width * (size_t)ds->channels;
    float *x = malloc(sizeof(float) * per * (size_t)cfg->batch_size);
    float *probs = malloc(sizeof(float) * (size_t)ds->n_test * (size_t)ds->classes);
    int rc = x && probs ? VT_OK : vt_fail(err, VT_EIO, "out of memory for %ld test predictions", ds->n_test);
    preprocess pp;
    train_preprocess(cfg, &pp);
    if (!rc)
        rc = train_predict_test(m, ds, &pp, 0, ds->n_test, cfg->batch_size, x, probs, NULL, NULL, NULL, err);
    if (!rc) {
        train_val_metrics(probs, ds->test_y, ds->n_test, ds->classes, out);
        *n_test = ds->n_test;
        if (!isfinite(out->val_loss) || !isfinite(out->val_mse))
            rc = vt_fail(err, VT_EUSAGE, "%s: its predictions are not finite numbers (the weights overflow); %s, "
                         "%s and %s were left as they were", path, RUN_PREDICTIONS, RUN_REPORT, RUN_CONFUSION);
        else if (!(rc = run_lock_claim(lock_fd, dir, "evaluated", err)))
            rc = run_write_evaluation(dir, epoch, batch, 0, ds->test_y, probs, ds->n_test, ds->classes,
                                      (const char *const *)ds->class_names, err);
    }
    free(x);
    free(probs);
    return rc;
}

int run_evaluate(const char *dir, const char *data, int threads, const char *checkpoint, train_epoch *out,
                 long *n_test, vt_err *err)
{
    memset(out, 0, sizeof *out);
    *n_test = 0;
    train_config cfg;
    long expect_test;
    int lock_fd;
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    int rc = open_run(dir, checkpoint, &cfg, &expect_test, &lock_fd, path, sizeof path, err);
    if (rc)
        return rc;
    nn_set_threads(threads >= 0 ? threads : cfg.threads);
    if (data && snprintf(cfg.data, sizeof cfg.data, "%s", data) >= (int)sizeof cfg.data) {
        run_lock_release(lock_fd);
        return vt_fail(err, VT_EUSAGE, "--data: path too long");
    }
    data_options opt;
    train_data_options(&cfg, &opt);
    dataset *ds = NULL;
    model *m = NULL;
    int epoch = -1;
    long batch = 0;
    if (!data)
        opt.path_what = "the run's data set"; /* from its config.json, not from a --data the user gave */
    if ((rc = data_open(&opt, &ds, err))) {
        run_lock_release(lock_fd);
        return rc;
    }
    rc = train_data_check(&cfg, ds, NULL, 0, err);
    if (!rc && ds->n_test != expect_test)
        rc = vt_fail(err, VT_EUSAGE, "%s: %ld test images now, %ld when the run was made (was --data or the data set "
                     "changed?)", ds->path, ds->n_test, expect_test);
    if (!rc)
        rc = load_model(&cfg, ds, path, &m, &epoch, &batch, err);
    if (!rc)
        rc = predict_and_write(dir, lock_fd, path, &cfg, ds, m, epoch, batch, out, n_test, err);
    if (m)
        model_destroy(m);
    data_destroy(ds);
    run_lock_release(lock_fd);
    return rc;
}
