/* train/predict: a run's model outside training: loaded from its checkpoint (for export --keras and
 * predict), and run on a user's own image files, prepared as the run's test images were. */
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

int train_load_run_model(const char *dir, int best, model **m, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    snprintf(path, sizeof path, "%s/%s", dir, best ? RUN_BEST : RUN_CHECKPOINT);
    model_config mc;
    unsigned char extra[32]; /* the engine's state is not needed: the loader takes what fits */
    size_t len;
    *m = NULL;
    int rc = checkpoint_read_config(path, &mc, err);
    if (!rc)
        rc = model_create(&mc, m, err);
    if (!rc)
        rc = checkpoint_load(path, *m, extra, sizeof extra, &len, err);
    if (rc) {
        model_destroy(*m);
        *m = NULL;
    }
    return rc;
}

/* rgb (h, w, 3) as the model's input (H, W, C) into dst: greyscale by OpenCV's fixed-point BT.601 weights
 * when C is 1, then the bicubic resize training's images get. */
static int to_input(const uint8_t *rgb, int h, int w, const model_config *mc, uint8_t *dst, const char *file,
                    vt_err *err)
{
    const int C = mc->channels;
    if (C != 1 && C != 3)
        return vt_fail(err, VT_EUSAGE, "%s: the model takes %d channels; images give 1 or 3", file, C);
    uint8_t *src = (uint8_t *)rgb, *grey = NULL;
    if (C == 1) {
        if (!(grey = malloc((size_t)h * (size_t)w)))
            return vt_fail(err, VT_EIO, "out of memory for %s", file);
        for (size_t p = 0; p < (size_t)h * (size_t)w; p++)
            grey[p] = (uint8_t)((rgb[3 * p] * 4899 + rgb[3 * p + 1] * 9617 + rgb[3 * p + 2] * 1868 + 8192) >> 14);
        src = grey;
    }
    int rc = VT_OK;
    if (h == mc->height && w == mc->width)
        memcpy(dst, src, (size_t)h * (size_t)w * (size_t)C);
    else if (image_resize_bicubic(src, h, w, C, dst, mc->height, mc->width) != 0)
        rc = vt_fail(err, VT_EIO, "out of memory resizing %s", file);
    free(grey);
    return rc;
}

/* One file through m into probs (classes). */
static int predict_one(model *m, const char *file, const preprocess *pp, uint8_t *pixels, float *x, float *probs,
                       vt_err *err)
{
    const model_config *mc = model_get_config(m);
    uint8_t *rgb = NULL;
    int h, w;
    int rc = image_read(file, IMAGE_MAX_PIXELS, &rgb, &h, &w, err);
    if (!rc)
        rc = to_input(rgb, h, w, mc, pixels, file, err);
    free(rgb);
    if (rc)
        return rc;
    data_fill_images(pixels, 1, mc->height, mc->width, mc->channels, pp, x);
    return model_predict(m, x, 1, probs, err);
}

int run_predict_files(const char *dir, int best, const char *const *files, int n, float **probs, int *classes,
                      vt_err *err)
{
    *probs = NULL;
    run_data run;
    int rc = run_load(dir, RUN_PART_CONFIG, &run, err);
    if (rc)
        return rc;
    preprocess pp;
    train_preprocess(&run.config, &pp);
    pp.augment = 0;
    model *m = NULL;
    rc = train_load_run_model(dir, best, &m, err);
    run_free(&run);
    if (rc)
        return rc;
    const model_config *mc = model_get_config(m);
    const size_t image = (size_t)mc->height * (size_t)mc->width * (size_t)mc->channels;
    uint8_t *pixels = malloc(image);
    float *x = malloc(sizeof(float) * image);
    float *out = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1) * (size_t)mc->classes);
    if (!pixels || !x || !out)
        rc = vt_fail(err, VT_EIO, "out of memory for %d predictions", n);
    if (!rc)
        rc = model_set_batch(m, 1, err);
    for (int i = 0; !rc && i < n; i++)
        rc = predict_one(m, files[i], &pp, pixels, x, out + (size_t)i * (size_t)mc->classes, err);
    *classes = mc->classes;
    free(pixels);
    free(x);
    model_destroy(m);
    if (rc)
        free(out);
    else
        *probs = out;
    return rc;
}
