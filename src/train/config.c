/* train/config: what a run's settings mean for the data set and the model (resize, minimum input, the model
 * config), the default run directory, and the model summary and time estimate the Setup screen shows. The
 * settings themselves are the table in settings.c; config.json is read and written by run_config.c. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "train_internal.h"

/* Model facts (default resize, minimum input) come from nn's tables. */
static int min_side(const char *model) { return model_min_side(model); }

void train_data_options(const train_config *cfg, data_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->path = cfg->data[0] ? cfg->data : NULL;
    opt->coarse = cfg->coarse;
    opt->resize = cfg->resize >= 0 ? cfg->resize : model_default_resize(cfg->model);
    opt->min_size = min_side(cfg->model);
    opt->limit_train = cfg->limit_train;
    opt->limit_test = cfg->limit_test;
    opt->validation_split = cfg->validation_split;
    opt->val_path = cfg->val_data[0] ? cfg->val_data : NULL;
    opt->seed = cfg->seed;
}

void train_data_view_options(const run_data *run, const char *data_dir, data_options *opt)
{
    train_data_options(&run->config, opt);
    opt->path = data_dir ? data_dir : run->dataset_path[0] ? run->dataset_path : NULL;
    opt->path_what = data_dir ? NULL : "the run's data set";
    opt->resize = 0;
    opt->min_size = 0;
    opt->limit_train = 1;
    opt->folder_side = run->height;
}

int train_input_side(const train_config *cfg, int native)
{
    data_options opt;
    train_data_options(cfg, &opt);
    int side = opt.resize > 0 ? opt.resize : native;
    return side < opt.min_size ? opt.min_size : side;
}

int train_model_config(const train_config *cfg, int height, int width, int channels, int classes, model_config *mc,
                       vt_err *err)
{
    int rc = model_config_default(mc, cfg->model, err);
    if (rc)
        return rc;
    mc->height = height;
    mc->width = width;
    mc->channels = channels;
    mc->classes = classes;
    mc->seed = cfg->seed;
    mc->freeze_base = cfg->freeze_base;
    return model_config_check(mc, err);
}

void run_default_dir(const train_config *cfg, char *buf, size_t size)
{
    char stamp[32];
    vt_utc_stamp(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ");
    snprintf(buf, size, "%s/%s-%s", cfg->runs, stamp, cfg->model);
}

/* ---- the Setup screen's helpers ---------------------------------------------------------------------- */

int train_model_summary(const train_config *cfg, int height, int width, int channels, int classes, char **text,
                        long long *params, vt_err *err)
{
    *text = NULL;
    model_config mc;
    int rc = train_model_config(cfg, train_input_side(cfg, height), train_input_side(cfg, width), channels, classes,
                                &mc, err);
    if (rc)
        return rc;
    if (params) {
        rc = model_plan(&mc, NULL, 0, params, err);
        if (rc < 0)
            return -rc;
    }
    return model_summary_text(&mc, text, err);
}

double train_eval_seconds(double train_seconds, long n_train, long n_test)
{
    if (!(train_seconds > 0) || n_train <= 0 || n_test <= 0)
        return 0;
    return train_seconds / (double)n_train * (double)n_test / 3;
}

int train_estimate_epoch_seconds(const train_config *cfg, int height, int width, int channels, int classes,
                                 long n_train, int (*cancelled)(void *), void *arg, double *seconds, vt_err *err)
{
    *seconds = NAN;
    model_config mc;
    int rc = train_model_config(cfg, train_input_side(cfg, height), train_input_side(cfg, width), channels, classes,
                                &mc, err);
    if (rc)
        return rc;
    model *m;
    rc = model_create(&mc, &m, err);
    if (rc)
        return rc;
    int batch = cfg->batch_size;
    rc = model_set_batch(m, batch, err);
    model_set_cancel(m, cancelled, arg); /* within a layer, not a whole step (1.3 s for a VGG-16 on 128 images) */
    size_t per = (size_t)mc.height * (size_t)mc.width * (size_t)mc.channels;
    float *x = rc ? NULL : malloc(sizeof(float) * per * (size_t)batch);
    int *y = rc ? NULL : malloc(sizeof(int) * (size_t)batch);
    if (!rc && (!x || !y))
        rc = vt_fail(err, VT_EIO, "out of memory for a batch of %d", batch);
    if (!rc) {
        vt_rng rng;
        vt_rng_seed(&rng, 12345);
        for (size_t i = 0; i < per * (size_t)batch; i++)
            x[i] = (float)vt_rng_uniform(&rng);
        for (int i = 0; i < batch; i++)
            y[i] = (int)vt_rng_below(&rng, (uint32_t)classes);
        sgd_config sgd;
        sgd_config_default(&sgd);
        sgd.lr = 1e-4f;
        step_stats st = {0};
        /* The first step pays for page faults and OpenBLAS warm-up: time the following ones. */
        int steps = 0, stop = cancelled && cancelled(arg);
        if (!stop)
            rc = model_train_step(m, x, y, batch, &sgd, &st, err);
        double t0 = vt_now();
        while (!rc && !stop && !(stop = cancelled && cancelled(arg)) && (steps < 2 || vt_now() - t0 < 0.5) &&
               steps < 20) {
            rc = model_train_step(m, x, y, batch, &sgd, &st, err);
            steps++;
        }
        stop = stop || (cancelled && cancelled(arg)); /* a step cut short times nothing */
        if (!rc && !stop) {
            double per_step = (vt_now() - t0) / steps;
            *seconds = per_step * ceil((double)n_train / batch);
        }
    }
    free(x);
    free(y);
    model_destroy(m);
    return rc;
}

void train_path_absolute(const char *path, char *buf, size_t size)
{
    char *abs = realpath(path, NULL);
    snprintf(buf, size, "%s", abs ? abs : path);
    free(abs);
}

void train_data_fingerprint(const dataset *ds, char *buf, size_t size)
{
    snprintf(buf, size, "%016llx", (unsigned long long)ds->fingerprint);
}

int train_data_check(const train_config *cfg, const dataset *ds, char *note, size_t size, vt_err *err)
{
    if (note && size)
        note[0] = '\0';
    if (!cfg->made_fingerprint[0]) {
        if (note)
            snprintf(note, size, "The data set could not be checked against the run's: its %s predates the data "
                     "set's fingerprint.", RUN_CONFIG);
        return VT_OK;
    }
    if (!ds)
        return VT_OK;
    char found[24], here[VT_PATH_MAX];
    train_data_fingerprint(ds, found, sizeof found);
    if (strcmp(found, cfg->made_fingerprint) == 0)
        return VT_OK;
    train_path_absolute(ds->path, here, sizeof here);
    return vt_fail(err, VT_EUSAGE, "%.1500s is not the data set this run was made with (%.1500s): give --data the "
                   "place of that one", here, cfg->made_data[0] ? cfg->made_data : "its path is not recorded");
}
