/* train/weights: where a new run's weights start (--weights) and how its images are prepared to match them.
 * A Keras HDF5 file is nn's keras_h5_load; "imagenet" is keras.applications' published file for vgg16 or
 * vgg19, found in the Keras cache (~/.keras/models, where keras.utils.get_file keeps it) or downloaded there
 * (data_fetch, as vggtop data --download: resumed, MD5 checked) and checked against the MD5
 * keras.applications checks. ImageNet weights expect Keras' caffe preprocessing, which
 * train_preprocess then applies to every image of the run (config.json records the weights, so evaluate
 * prepares its images the same way). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train_internal.h"

/* keras.applications' files: the convolutional base alone ("notop") and the whole net with its ImageNet
 * top (224x224x3 input, 1000 classes). */
typedef struct imagenet_file {
    const char *model;
    int top;
    const char *name;
    const char *md5;
} imagenet_file;

static const imagenet_file imagenet_files[] = {
    {"vgg16", 0, "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc"},
    {"vgg16", 1, "vgg16_weights_tf_dim_ordering_tf_kernels.h5", "64373286793e3c8b2b4e3219cbf3544b"},
    {"vgg19", 0, "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "253f8cb515780f3b799900260a226db6"},
    {"vgg19", 1, "vgg19_weights_tf_dim_ordering_tf_kernels.h5", "cbe5617147190e668d6c5d5026f83318"},
};

static int is_imagenet(const train_config *cfg) { return strcmp(cfg->weights, "imagenet") == 0; }

void train_preprocess(const train_config *cfg, preprocess *pp)
{
    memset(pp, 0, sizeof *pp);
    pp->caffe = is_imagenet(cfg);
    pp->augment = cfg->augment;
}

/* The keras.applications file for m: with its top only when m is the ImageNet net itself. */
static const imagenet_file *imagenet_for(const model_config *mc)
{
    const int top = mc->include_top && mc->height == 224 && mc->width == 224 && mc->channels == 3 &&
                    mc->classes == 1000;
    for (size_t i = 0; i < sizeof imagenet_files / sizeof imagenet_files[0]; i++)
        if (strcmp(imagenet_files[i].model, mc->name) == 0 && imagenet_files[i].top == top)
            return &imagenet_files[i];
    return NULL;
}

/* keras.applications' own address for f (where keras.utils.get_file fetches it from), or a folder of
 * $VGGTOP_IMAGENET_URL's (a mirror; the tests' file:// fixture). */
static void imagenet_url(const imagenet_file *f, char *url, size_t size)
{
    const char *env = getenv("VGGTOP_IMAGENET_URL");
    if (env && *env)
        snprintf(url, size, "%s/%s", env, f->name);
    else
        snprintf(url, size, "https://storage.googleapis.com/tensorflow/keras-applications/%s/%s", f->model, f->name);
}

/* f in the Keras cache, downloaded there first when it is not (as keras.utils.get_file does), checked
 * against its MD5 ($VGGTOP_IMAGENET_MD5 replaces it, for the tests' fixture). */
static int imagenet_path(const imagenet_file *f, char *path, size_t size, vt_err *err)
{
    const char *home = getenv("HOME");
    if (!home || !*home)
        return vt_fail(err, VT_EUSAGE, "--weights imagenet: no $HOME, so no Keras cache (~/.keras/models)");
    if ((size_t)snprintf(path, size, "%s/.keras/models/%s", home, f->name) >= size)
        return vt_fail(err, VT_EUSAGE, "--weights imagenet: $HOME is too long");
    const char *env = getenv("VGGTOP_IMAGENET_MD5");
    const char *want = env && *env ? env : f->md5;
    struct stat st;
    if (stat(path, &st) != 0) {
        char url[VT_PATH_MAX];
        imagenet_url(f, url, sizeof url);
        data_fetch_options opt = {.dir = path, .url = url, .md5 = want, .file = 1};
        vt_err why;
        if (data_fetch(&opt, NULL, 0, &why) != VT_OK)
            return vt_fail(err, VT_EUSAGE, "--weights imagenet: %s is not in the Keras cache and the download "
                           "failed: %.600s", f->name, why.msg);
    }
    char have[33];
    int rc = data_file_md5(path, have, err);
    if (rc)
        return rc;
    if (strcmp(have, want) != 0)
        return vt_fail(err, VT_EUSAGE, "%s: MD5 %s, expected %s: not keras.applications' file", path, have, want);
    return VT_OK;
}

int train_load_weights(const train_config *cfg, model *m, vt_err *err)
{
    if (!cfg->weights[0])
        return VT_OK;
    const model_config *mc = model_get_config(m);
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    unsigned flags = cfg->skip_mismatch ? NN_H5_SKIP_MISMATCH : 0u;
    if (is_imagenet(cfg)) {
        const imagenet_file *f = imagenet_for(mc);
        if (!f)
            return vt_fail(err, VT_EUSAGE, "--weights imagenet: keras.applications has ImageNet weights for vgg16 "
                           "and vgg19, not %s", mc->name);
        if (mc->channels != 3)
            return vt_fail(err, VT_EUSAGE, "--weights imagenet: the ImageNet weights take 3 channels (RGB), the "
                           "data set has %d", mc->channels);
        int rc = imagenet_path(f, path, sizeof path, err);
        if (rc)
            return rc;
        if (!f->top)
            flags |= NN_H5_BASE_ONLY; /* the top is the run's own, initialised from its seed */
    } else {
        snprintf(path, sizeof path, "%s", cfg->weights);
    }
    return keras_h5_load(path, m, flags, NULL, err);
}
