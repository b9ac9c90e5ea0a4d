/* train/config: the settings of a run: defaults, the one-field-at-a-time validator shared by the CLI and
 * the front end's form, config.json (written with every setting and the data set's names; read back for
 * --resume and by every reader of a run directory), and the model summary and time estimate the Setup
 * screen shows. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <cJSON.h>

#include "train_internal.h"

/* The program's version lives in main.c (cli.h); the unit tests link train without main, so the reference
 * is weak and config.json says "unknown" there. */
extern const char vggtop_version[] __attribute__((weak));

#define SEED_MAX 9007199254740991.0 /* 2^53 - 1: exact in a JSON number */

const train_field train_fields[] = {
    {"model", "Model", TRAIN_FIELD_CHOICE, "vgg16|vgg19|vgg16-nopool|cnn|mlp", "the network to train"},
    {"data", "Data set", TRAIN_FIELD_TEXT, NULL,
     "a data directory; empty: $VGGTOP_DATA, ./data/cifar-100-binary, then Fashion-MNIST"},
    {"labels", "Labels", TRAIN_FIELD_CHOICE, "fine|coarse", "CIFAR-100's 100 fine classes or 20 superclasses"},
    {"resize", "Resize", TRAIN_FIELD_INT, NULL, "image side fed to the model: auto (48 for the VGGs), 0 native, or N"},
    {"epochs", "Epochs", TRAIN_FIELD_INT, NULL, "passes over the training set (1..1000)"},
    {"batch-size", "Batch size", TRAIN_FIELD_INT, NULL, "images per SGD step (1..4096)"},
    {"lr", "Learning rate", TRAIN_FIELD_FLOAT, NULL, "SGD step size (0..10]"},
    {"momentum", "Momentum", TRAIN_FIELD_FLOAT, NULL, "SGD momentum [0..1)"},
    {"nesterov", "Nesterov", TRAIN_FIELD_BOOL, NULL, "Nesterov momentum"},
    {"weight-decay", "Weight decay", TRAIN_FIELD_FLOAT, NULL, "decoupled weight decay [0..1]"},
    {"augment", "Augment", TRAIN_FIELD_BOOL, NULL, "random 4-pixel crop and horizontal flip of training images"},
    {"limit-train", "Limit train", TRAIN_FIELD_INT, NULL, "use the first N training images (0: all)"},
    {"limit-test", "Limit test", TRAIN_FIELD_INT, NULL, "use the first N test images (0: all)"},
    {"seed", "Seed", TRAIN_FIELD_INT, NULL, "weights, shuffling and augmentation follow from it"},
    {"threads", "Threads", TRAIN_FIELD_INT, NULL, "OpenBLAS threads (0: one per core)"},
    {"runs", "Runs directory", TRAIN_FIELD_TEXT, NULL, "parent of new run directories"},
    {"run-dir", "Run directory", TRAIN_FIELD_TEXT, NULL, "an exact run directory (empty: <runs>/<time>-<model>)"},
    {NULL, NULL, 0, NULL, NULL},
};

void train_config_default(train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->model, "cnn");
    cfg->resize = -1;
    cfg->epochs = 10;
    cfg->batch_size = 32;
    cfg->lr = 0.01;
    cfg->seed = 1;
    strcpy(cfg->runs, "runs");
}

const char *const *train_model_names(void) { return model_names; }

static int is_model(const char *name)
{
    for (int i = 0; model_names[i]; i++)
        if (strcmp(model_names[i], name) == 0)
            return 1;
    return 0;
}

static int is_vgg(const char *model) { return strcmp(model, "vgg16") == 0 || strcmp(model, "vgg19") == 0; }

/* The smallest input side a model accepts: keras.applications' 32 for every VGG, vgg16-nopool included
 * (the seed's upscaling default of 48 is vgg16's and vgg19's alone). */
static int min_side(const char *model) { return is_vgg(model) || strcmp(model, "vgg16-nopool") == 0 ? 32 : 0; }

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

static int set_text(char *dst, size_t size, const char *name, const char *value, vt_err *err)
{
    if (strlen(value) >= size)
        return vt_fail(err, VT_EUSAGE, "--%s: longer than %zu characters", name, size - 1);
    strcpy(dst, value);
    return VT_OK;
}

int train_config_set(train_config *cfg, const char *name, const char *value, vt_err *err)
{
    long l;
    double d;
    int b;
    if (!value)
        value = "";
    if (strcmp(name, "model") == 0) {
        if (!is_model(value))
            return vt_fail(err, VT_EUSAGE, "--model: unknown model '%s' (vgg16, vgg19, vgg16-nopool, cnn, mlp)",
                           value);
        return set_text(cfg->model, sizeof cfg->model, name, value, err);
    }
    if (strcmp(name, "data") == 0) {
        struct stat st;
        if (*value && stat(value, &st) != 0)
            return vt_fail(err, VT_EUSAGE, "--data: %s: %s", value, strerror(errno));
        return set_text(cfg->data, sizeof cfg->data, name, value, err);
    }
    if (strcmp(name, "labels") == 0) {
        if (strcmp(value, "fine") == 0)
            cfg->coarse = 0;
        else if (strcmp(value, "coarse") == 0)
            cfg->coarse = 1;
        else
            return vt_fail(err, VT_EUSAGE, "--labels: '%s' is neither fine nor coarse", value);
        return VT_OK;
    }
    if (strcmp(name, "resize") == 0) {
        if (strcmp(value, "auto") == 0 || *value == '\0') {
            cfg->resize = -1;
            return VT_OK;
        }
        if (vt_parse_long(value, 0, 512, &l) != 0 || (l > 0 && l < 8))
            return vt_fail(err, VT_EUSAGE, "--resize: '%s' is not auto, 0 (native) or a side in 8..512", value);
        cfg->resize = (int)l;
        return VT_OK;
    }
    if (strcmp(name, "epochs") == 0) {
        if (vt_parse_long(value, 1, TRAIN_MAX_EPOCHS, &l) != 0)
            return vt_fail(err, VT_EUSAGE, "--epochs: '%s' is not a whole number in 1..%d", value, TRAIN_MAX_EPOCHS);
        cfg->epochs = (int)l;
        return VT_OK;
    }
    if (strcmp(name, "batch-size") == 0) {
        if (vt_parse_long(value, 1, 4096, &l) != 0)
            return vt_fail(err, VT_EUSAGE, "--batch-size: '%s' is not a whole number in 1..4096", value);
        cfg->batch_size = (int)l;
        return VT_OK;
    }
    if (strcmp(name, "lr") == 0) {
        if (vt_parse_double(value, 0, 10, &d) != 0 || d <= 0)
            return vt_fail(err, VT_EUSAGE, "--lr: '%s' is not a number in (0, 10]", value);
        cfg->lr = d;
        return VT_OK;
    }
    if (strcmp(name, "momentum") == 0) {
        if (vt_parse_double(value, 0, 1, &d) != 0 || d >= 1)
            return vt_fail(err, VT_EUSAGE, "--momentum: '%s' is not a number in [0, 1)", value);
        cfg->momentum = d;
        return VT_OK;
    }
    if (strcmp(name, "nesterov") == 0 || strcmp(name, "augment") == 0) {
        if (parse_bool(value, &b) != 0)
            return vt_fail(err, VT_EUSAGE, "--%s: '%s' is not yes or no", name, value);
        *(name[0] == 'n' ? &cfg->nesterov : &cfg->augment) = b;
        return VT_OK;
    }
    if (strcmp(name, "weight-decay") == 0) {
        if (vt_parse_double(value, 0, 1, &d) != 0)
            return vt_fail(err, VT_EUSAGE, "--weight-decay: '%s' is not a number in [0, 1]", value);
        cfg->weight_decay = d;
        return VT_OK;
    }
    if (strcmp(name, "limit-train") == 0 || strcmp(name, "limit-test") == 0) {
        if (vt_parse_long(value, 0, 1000000000L, &l) != 0)
            return vt_fail(err, VT_EUSAGE, "--%s: '%s' is not a whole number in 0..1000000000", name, value);
        *(strcmp(name, "limit-train") == 0 ? &cfg->limit_train : &cfg->limit_test) = l;
        return VT_OK;
    }
    if (strcmp(name, "seed") == 0) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (!*value || *end || errno || value[0] == '-' || (double)v > SEED_MAX)
            return vt_fail(err, VT_EUSAGE, "--seed: '%s' is not a whole number in 0..9007199254740991", value);
        cfg->seed = v;
        return VT_OK;
    }
    if (strcmp(name, "threads") == 0) {
        if (vt_parse_long(value, 0, 256, &l) != 0)
            return vt_fail(err, VT_EUSAGE, "--threads: '%s' is not a whole number in 0..256", value);
        cfg->threads = (int)l;
        return VT_OK;
    }
    if (strcmp(name, "runs") == 0) {
        if (!*value)
            return vt_fail(err, VT_EUSAGE, "--runs: empty directory name");
        return set_text(cfg->runs, sizeof cfg->runs, name, value, err);
    }
    if (strcmp(name, "run-dir") == 0)
        return set_text(cfg->run_dir, sizeof cfg->run_dir, name, value, err);
    return vt_fail(err, VT_EUSAGE, "--%s: no such setting", name);
}

int train_config_get(const train_config *cfg, const char *name, char *buf, size_t size)
{
    if (strcmp(name, "model") == 0)
        snprintf(buf, size, "%s", cfg->model);
    else if (strcmp(name, "data") == 0)
        snprintf(buf, size, "%s", cfg->data);
    else if (strcmp(name, "labels") == 0)
        snprintf(buf, size, "%s", cfg->coarse ? "coarse" : "fine");
    else if (strcmp(name, "resize") == 0) {
        if (cfg->resize < 0)
            snprintf(buf, size, "auto");
        else
            snprintf(buf, size, "%d", cfg->resize);
    } else if (strcmp(name, "epochs") == 0)
        snprintf(buf, size, "%d", cfg->epochs);
    else if (strcmp(name, "batch-size") == 0)
        snprintf(buf, size, "%d", cfg->batch_size);
    else if (strcmp(name, "lr") == 0)
        snprintf(buf, size, "%g", cfg->lr);
    else if (strcmp(name, "momentum") == 0)
        snprintf(buf, size, "%g", cfg->momentum);
    else if (strcmp(name, "nesterov") == 0)
        snprintf(buf, size, "%s", cfg->nesterov ? "yes" : "no");
    else if (strcmp(name, "weight-decay") == 0)
        snprintf(buf, size, "%g", cfg->weight_decay);
    else if (strcmp(name, "augment") == 0)
        snprintf(buf, size, "%s", cfg->augment ? "yes" : "no");
    else if (strcmp(name, "limit-train") == 0)
        snprintf(buf, size, "%ld", cfg->limit_train);
    else if (strcmp(name, "limit-test") == 0)
        snprintf(buf, size, "%ld", cfg->limit_test);
    else if (strcmp(name, "seed") == 0)
        snprintf(buf, size, "%llu", (unsigned long long)cfg->seed);
    else if (strcmp(name, "threads") == 0)
        snprintf(buf, size, "%d", cfg->threads);
    else if (strcmp(name, "runs") == 0)
        snprintf(buf, size, "%s", cfg->runs);
    else if (strcmp(name, "run-dir") == 0)
        snprintf(buf, size, "%s", cfg->run_dir);
    else
        return -1;
    return 0;
}

int train_config_check(const train_config *cfg, vt_err *err)
{
    /* Every field again through its own validator, so a config built in code gets the same messages. */
    for (int i = 0; train_fields[i].name; i++) {
        char value[4200];
        train_config scratch = *cfg;
        if (strcmp(train_fields[i].name, "data") == 0 || strcmp(train_fields[i].name, "run-dir") == 0)
            continue; /* checked when used: a data set may be mounted later, a run dir is created */
        train_config_get(cfg, train_fields[i].name, value, sizeof value);
        int rc = train_config_set(&scratch, train_fields[i].name, value, err);
        if (rc)
            return rc;
    }
    if (cfg->resize > 0 && cfg->resize < min_side(cfg->model))
        return vt_fail(err, VT_EUSAGE, "--resize: %d is below %s's minimum input of 32x32", cfg->resize, cfg->model);
    if (cfg->resume && !cfg->run_dir[0])
        return vt_fail(err, VT_EUSAGE, "--resume: no run directory given");
    return VT_OK;
}

int run_path(char *buf, size_t size, const char *dir, const char *name, vt_err *err)
{
    if (snprintf(buf, size, "%s/%s", dir, name) >= (int)size)
        return vt_fail(err, VT_EUSAGE, "%s: path too long", dir);
    return VT_OK;
}

void train_data_options(const train_config *cfg, data_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->path = cfg->data[0] ? cfg->data : NULL;
    opt->coarse = cfg->coarse;
    opt->resize = cfg->resize >= 0 ? cfg->resize : (is_vgg(cfg->model) ? 48 : 0);
    opt->min_size = min_side(cfg->model);
    opt->limit_train = cfg->limit_train;
    opt->limit_test = cfg->limit_test;
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
    return model_config_check(mc, err);
}

void run_default_dir(const train_config *cfg, char *buf, size_t size)
{
    char stamp[32];
    vt_utc_stamp(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ");
    snprintf(buf, size, "%s/%s-%s", cfg->runs, stamp, cfg->model);
}

/* ---- config.json ---------------------------------------------------------------------------------- */

static cJSON *string_array(char *const *names, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(names && names[i] ? names[i] : ""));
    return a;
}

int train_write_config(const char *dir, const train_config *cfg, const dataset *ds, const model_config *mc,
                       long long params, const char *created, vt_err *err)
{
    char path[4200], stamp[32];
    int rc = run_path(path, sizeof path, dir, RUN_CONFIG, err);
    if (rc)
        return rc;
    vt_utc_stamp(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ");

    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "program", "vggtop");
    cJSON_AddStringToObject(root, "version", vggtop_version ? vggtop_version : "unknown");
    cJSON_AddStringToObject(root, "created", created && *created ? created : stamp);
    cJSON_AddStringToObject(root, "model", cfg->model);
    int shape[3] = {mc->height, mc->width, mc->channels};
    cJSON_AddItemToObject(root, "input_shape", cJSON_CreateIntArray(shape, 3));
    cJSON_AddNumberToObject(root, "classes", mc->classes);
    cJSON_AddNumberToObject(root, "params", (double)params);

    cJSON *data = cJSON_AddObjectToObject(root, "data");
    cJSON_AddStringToObject(data, "flag", cfg->data);
    cJSON_AddStringToObject(data, "name", ds->name);
    cJSON_AddStringToObject(data, "path", ds->path);
    cJSON_AddStringToObject(data, "labels", cfg->coarse ? "coarse" : "fine");
    cJSON_AddNumberToObject(data, "resize", cfg->resize);
    int orig[2] = {ds->orig_height, ds->orig_width};
    cJSON_AddItemToObject(data, "native_size", cJSON_CreateIntArray(orig, 2));
    cJSON_AddBoolToObject(data, "augment", cfg->augment);
    cJSON_AddNumberToObject(data, "limit_train", (double)cfg->limit_train);
    cJSON_AddNumberToObject(data, "limit_test", (double)cfg->limit_test);
    cJSON_AddNumberToObject(data, "n_train", (double)ds->n_train);
    cJSON_AddNumberToObject(data, "n_test", (double)ds->n_test);
    cJSON_AddItemToObject(data, "class_names", string_array(ds->class_names, ds->classes));
    if (ds->coarse_classes > 0 && ds->coarse_names && ds->fine_to_coarse && !cfg->coarse) {
        cJSON_AddItemToObject(data, "coarse_names", string_array(ds->coarse_names, ds->coarse_classes));
        cJSON_AddItemToObject(data, "fine_to_coarse", cJSON_CreateIntArray(ds->fine_to_coarse, ds->classes));
    }

    cJSON *tr = cJSON_AddObjectToObject(root, "training");
    cJSON_AddNumberToObject(tr, "epochs", cfg->epochs);
    cJSON_AddNumberToObject(tr, "batch_size", cfg->batch_size);
    cJSON *opt = cJSON_AddObjectToObject(tr, "optimizer");
    cJSON_AddStringToObject(opt, "name", "SGD");
    cJSON_AddNumberToObject(opt, "lr", cfg->lr);
    cJSON_AddNumberToObject(opt, "momentum", cfg->momentum);
    cJSON_AddBoolToObject(opt, "nesterov", cfg->nesterov);
    cJSON_AddNumberToObject(opt, "weight_decay", cfg->weight_decay);
    cJSON_AddNumberToObject(tr, "seed", (double)cfg->seed);
    cJSON_AddNumberToObject(tr, "threads", cfg->threads);
    cJSON_AddStringToObject(tr, "runs", cfg->runs);

    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return vt_fail(err, VT_EIO, "%s: out of memory", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* cJSON's buffer has room for its NUL: swap it for a newline */
    rc = vt_write_file_atomic(path, text, len + 1, err);
    free(text);
    return rc;
}

/* Typed getters that name the file and the key when something is missing or of the wrong type. */
typedef struct jctx {
    const char *path;
    vt_err *err;
    int rc;
} jctx;

static cJSON *jget(jctx *c, const cJSON *obj, const char *key, int (*is)(const cJSON *), const char *what)
{
    if (c->rc)
        return NULL;
    cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item || !is(item)) {
        c->rc = vt_fail(c->err, VT_EUSAGE, "%s: \"%s\" is %s, expected %s", c->path, key,
                        item ? "of the wrong type" : "missing", what);
        return NULL;
    }
    return item;
}

static double jnum(jctx *c, const cJSON *obj, const char *key, double lo, double hi)
{
    cJSON *item = jget(c, obj, key, cJSON_IsNumber, "a number");
    if (!item)
        return 0;
    double v = item->valuedouble;
    if (!(v >= lo && v <= hi)) {
        c->rc = vt_fail(c->err, VT_EUSAGE, "%s: \"%s\" is %g, outside %g..%g", c->path, key, v, lo, hi);
        return 0;
    }
    return v;
}

static const char *jstr(jctx *c, const cJSON *obj, const char *key)
{
    cJSON *item = jget(c, obj, key, cJSON_IsString, "a string");
    return item ? item->valuestring : "";
}

static int jbool(jctx *c, const cJSON *obj, const char *key)
{
    cJSON *item = jget(c, obj, key, cJSON_IsBool, "true or false");
    return item ? cJSON_IsTrue(item) : 0;
}

static void jcopy(jctx *c, char *dst, size_t size, const char *src, const char *key)
{
    if (c->rc)
        return;
    if (strlen(src) >= size) {
        c->rc = vt_fail(c->err, VT_EUSAGE, "%s: \"%s\" is too long", c->path, key);
        return;
    }
    strcpy(dst, src);
}

static char **jnames(jctx *c, const cJSON *obj, const char *key, int n)
{
    cJSON *a = jget(c, obj, key, cJSON_IsArray, "an array of names");
    if (!a)
        return NULL;
    if (cJSON_GetArraySize(a) != n) {
        c->rc = vt_fail(c->err, VT_EUSAGE, "%s: \"%s\" has %d names, expected %d", c->path, key, cJSON_GetArraySize(a),
                        n);
        return NULL;
    }
    char **names = calloc((size_t)n, sizeof *names);
    if (!names) {
        c->rc = vt_fail(c->err, VT_EIO, "%s: out of memory", c->path);
        return NULL;
    }
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, a)
    {
        names[i] = strdup(cJSON_IsString(item) ? item->valuestring : "");
        if (!names[i] || !cJSON_IsString(item)) {
            c->rc = vt_fail(c->err, VT_EUSAGE, "%s: \"%s\"[%d] is not a string", c->path, key, i);
            for (int j = 0; j <= i; j++)
                free(names[j]);
            free(names);
            return NULL;
        }
        i++;
    }
    return names;
}

static void free_names(char **names, int n)
{
    if (!names)
        return;
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Parses config.json into run (the config and the data set's description). */
int run_read_config(const char *dir, run_data *run, vt_err *err)
{
    char path[4200];
    int rc = run_path(path, sizeof path, dir, RUN_CONFIG, err);
    if (rc)
        return rc;
    char *text;
    rc = vt_read_file(path, &text, NULL, err);
    if (rc)
        return rc;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return vt_fail(err, VT_EUSAGE, "%s: not a JSON object (truncated or edited?)", path);
    }
    jctx c = {path, err, VT_OK};
    train_config *cfg = &run->config;
    train_config_default(cfg);
    jcopy(&c, cfg->model, sizeof cfg->model, jstr(&c, root, "model"), "model");
    if (!c.rc && !is_model(cfg->model))
        c.rc = vt_fail(err, VT_EUSAGE, "%s: unknown model '%s'", path, cfg->model);
    jcopy(&c, run->version, sizeof run->version, jstr(&c, root, "version"), "version");
    jcopy(&c, run->created, sizeof run->created, jstr(&c, root, "created"), "created");
    cJSON *shape = jget(&c, root, "input_shape", cJSON_IsArray, "[height, width, channels]");
    if (shape) {
        if (cJSON_GetArraySize(shape) != 3)
            c.rc = vt_fail(err, VT_EUSAGE, "%s: \"input_shape\" must have 3 numbers", path);
        else {
            int dims[3];
            for (int i = 0; i < 3; i++) {
                cJSON *d = cJSON_GetArrayItem(shape, i);
                dims[i] = cJSON_IsNumber(d) ? (int)d->valuedouble : 0;
                if (dims[i] < 1 || dims[i] > 4096)
                    c.rc = vt_fail(err, VT_EUSAGE, "%s: \"input_shape\" holds a bad size", path);
            }
            run->height = dims[0];
            run->width = dims[1];
            run->channels = dims[2];
        }
    }
    run->classes = (int)jnum(&c, root, "classes", 1, 100000);
    run->params = (long long)jnum(&c, root, "params", 0, 1e13);

    cJSON *data = jget(&c, root, "data", cJSON_IsObject, "an object");
    jcopy(&c, cfg->data, sizeof cfg->data, jstr(&c, data, "flag"), "data.flag");
    jcopy(&c, run->dataset, sizeof run->dataset, jstr(&c, data, "name"), "data.name");
    jcopy(&c, run->dataset_path, sizeof run->dataset_path, jstr(&c, data, "path"), "data.path");
    const char *labels = jstr(&c, data, "labels");
    cfg->coarse = strcmp(labels, "coarse") == 0;
    cfg->resize = (int)jnum(&c, data, "resize", -1, 512);
    cfg->augment = jbool(&c, data, "augment");
    cfg->limit_train = (long)jnum(&c, data, "limit_train", 0, 1e9);
    cfg->limit_test = (long)jnum(&c, data, "limit_test", 0, 1e9);
    run->n_train = (long)jnum(&c, data, "n_train", 0, 1e10);
    run->n_test = (long)jnum(&c, data, "n_test", 0, 1e10);
    if (!c.rc)
        run->class_names = jnames(&c, data, "class_names", run->classes);
    if (!c.rc && data && cJSON_GetObjectItemCaseSensitive(data, "coarse_names")) {
        cJSON *names = cJSON_GetObjectItemCaseSensitive(data, "coarse_names");
        int k = cJSON_IsArray(names) ? cJSON_GetArraySize(names) : 0;
        if (k < 1)
            c.rc = vt_fail(err, VT_EUSAGE, "%s: \"coarse_names\" is not a non-empty array", path);
        else
            run->coarse_names = jnames(&c, data, "coarse_names", k);
        cJSON *map = jget(&c, data, "fine_to_coarse", cJSON_IsArray, "an array of superclass numbers");
        if (map && cJSON_GetArraySize(map) != run->classes)
            c.rc = vt_fail(err, VT_EUSAGE, "%s: \"fine_to_coarse\" has %d entries, expected %d", path,
                           cJSON_GetArraySize(map), run->classes);
        if (!c.rc) {
            run->fine_to_coarse = malloc(sizeof(int) * (size_t)run->classes);
            if (!run->fine_to_coarse)
                c.rc = vt_fail(err, VT_EIO, "%s: out of memory", path);
            for (int i = 0; !c.rc && i < run->classes; i++) {
                cJSON *v = cJSON_GetArrayItem(map, i);
                int x = cJSON_IsNumber(v) ? (int)v->valuedouble : -1;
                if (x < 0 || x >= k)
                    c.rc = vt_fail(err, VT_EUSAGE, "%s: \"fine_to_coarse\"[%d] is not a superclass 0..%d", path, i,
                                   k - 1);
                else
                    run->fine_to_coarse[i] = x;
            }
            if (!c.rc)
                run->coarse_classes = k;
        }
    }

    cJSON *tr = jget(&c, root, "training", cJSON_IsObject, "an object");
    cfg->epochs = (int)jnum(&c, tr, "epochs", 1, TRAIN_MAX_EPOCHS);
    cfg->batch_size = (int)jnum(&c, tr, "batch_size", 1, 4096);
    cJSON *opt = jget(&c, tr, "optimizer", cJSON_IsObject, "an object");
    cfg->lr = jnum(&c, opt, "lr", 1e-30, 10);
    cfg->momentum = jnum(&c, opt, "momentum", 0, 0.999999);
    cfg->nesterov = jbool(&c, opt, "nesterov");
    cfg->weight_decay = jnum(&c, opt, "weight_decay", 0, 1);
    cfg->seed = (uint64_t)jnum(&c, tr, "seed", 0, SEED_MAX);
    cfg->threads = (int)jnum(&c, tr, "threads", 0, 256);
    jcopy(&c, cfg->runs, sizeof cfg->runs, jstr(&c, tr, "runs"), "training.runs");
    cJSON_Delete(root);
    if (!c.rc)
        jcopy(&c, cfg->run_dir, sizeof cfg->run_dir, dir, "run_dir");
    if (c.rc) {
        free_names(run->class_names, run->classes);
        free_names(run->coarse_names, run->coarse_classes);
        free(run->fine_to_coarse);
        run->class_names = run->coarse_names = NULL;
        run->fine_to_coarse = NULL;
        run->coarse_classes = 0;
    }
    return c.rc;
}

int train_config_load(const char *run_dir, train_config *cfg, vt_err *err)
{
    run_data run;
    int rc = run_load(run_dir, RUN_PART_CONFIG, &run, err);
    if (!rc && !(run.parts & RUN_PART_CONFIG))
        rc = vt_fail(err, VT_EUSAGE, "%s: no %s here: not a run directory", run_dir, RUN_CONFIG);
    if (!rc)
        *cfg = run.config;
    run_free(&run);
    return rc;
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
