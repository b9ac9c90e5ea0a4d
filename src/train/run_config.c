/* train/run_config: config.json, what a run is (every setting, the data set with its class names, the model's
 * input and size, the ranks of a data-parallel run): written when a run starts, read back for --resume,
 * `vggtop evaluate`, the front end and the CLI with every key checked. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "train_internal.h"

/* The program's version lives in main.c (cli.h); the unit tests link train without main, so the reference
 * is weak and config.json says "unknown" there. */
extern const char vggtop_version[] __attribute__((weak));

static cJSON *string_array(char *const *names, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(names && names[i] ? names[i] : ""));
    return a;
}

/* config.json's "changes": those of the file being replaced, then a row for every setting this --resume
 * changed ({"epoch": epochs done, "batch": steps of the next, "setting", "from", "to"}, values as typed). The
 * data set's path is no setting here (a moved set is the same set: its fingerprint says so). */
static cJSON *resume_changes(const char *path, const train_config *cfg)
{
    cJSON *changes = NULL, *old = NULL;
    char *text = NULL;
    vt_err ignored;
    train_config before;
    train_config_default(&before);
    if (cfg->resume && vt_read_file(path, run_file_max(RUN_CONFIG), &text, NULL, &ignored) == VT_OK)
        old = cJSON_Parse(text);
    free(text);
    const cJSON *kept = cJSON_GetObjectItemCaseSensitive(old, "changes");
    changes = cJSON_IsArray(kept) ? cJSON_Duplicate(kept, 1) : cJSON_CreateArray();
    if (!old || train_settings_from_json(old, &before, path, &ignored) != VT_OK) {
        cJSON_Delete(old);
        return changes;
    }
    for (int i = 0; changes && train_fields[i].name; i++) {
        const train_field *f = &train_fields[i];
        char from[4096], to[4096];
        if (!f->json || strcmp(f->name, "data") == 0 || train_config_get(&before, f->name, from, sizeof from) != 0 ||
            train_config_get(cfg, f->name, to, sizeof to) != 0 || strcmp(from, to) == 0)
            continue;
        cJSON *row = cJSON_CreateObject();
        cJSON_AddNumberToObject(row, "epoch", cfg->resume_epoch);
        cJSON_AddNumberToObject(row, "batch", (double)cfg->resume_batch);
        cJSON_AddStringToObject(row, "setting", f->name);
        cJSON_AddStringToObject(row, "from", from);
        cJSON_AddStringToObject(row, "to", to);
        cJSON_AddItemToArray(changes, row);
    }
    cJSON_Delete(old);
    return changes;
}

int train_write_config(const char *dir, const train_config *cfg, const dataset *ds, const model_config *mc,
                       long long params, const char *created, const run_ranks *ranks, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA], stamp[32];
    int rc = run_path(path, sizeof path, dir, RUN_CONFIG, err);
    if (rc)
        return rc;
    vt_utc_stamp(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ");

    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "program", "vggtop");
    cJSON_AddStringToObject(root, "version", vggtop_version ? vggtop_version : "unknown");
    cJSON_AddStringToObject(root, "created", created && *created ? created : stamp);
    /* Every setting at its key of the settings table (model, data.*, training.*), then what the run found. */
    if (train_settings_to_json(cfg, root) != 0) {
        cJSON_Delete(root);
        return vt_fail(err, VT_EIO, "%s: out of memory", path);
    }
    int shape[3] = {mc->height, mc->width, mc->channels};
    cJSON_AddItemToObject(root, "input_shape", cJSON_CreateIntArray(shape, 3));
    cJSON_AddNumberToObject(root, "classes", mc->classes);
    cJSON_AddNumberToObject(root, "params", (double)params);
    cJSON_AddNumberToObject(root, "trainable_params", (double)model_trainable_count(mc));

    cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    cJSON_AddStringToObject(data, "name", ds->name);
    char abs[VT_PATH_MAX], print[24];
    train_path_absolute(ds->path, abs, sizeof abs);
    train_data_fingerprint(ds, print, sizeof print);
    cJSON_AddStringToObject(data, "path", abs);
    cJSON_AddStringToObject(data, "fingerprint", print);
    int orig[2] = {ds->orig_height, ds->orig_width};
    cJSON_AddItemToObject(data, "native_size", cJSON_CreateIntArray(orig, 2));
    cJSON_AddNumberToObject(data, "n_train", (double)ds->n_train);
    cJSON_AddNumberToObject(data, "n_test", (double)ds->n_test);
    preprocess pp;
    train_preprocess(cfg, &pp);
    cJSON_AddStringToObject(data, "preprocessing", pp.caffe ? "caffe" : "x / 255"); /* what the weights expect */
    cJSON_AddItemToObject(data, "class_names", string_array(ds->class_names, ds->classes));
    if (ds->coarse_classes > 0 && ds->coarse_names && ds->fine_to_coarse && !cfg->coarse) {
        cJSON_AddItemToObject(data, "coarse_names", string_array(ds->coarse_names, ds->coarse_classes));
        cJSON_AddItemToObject(data, "fine_to_coarse", cJSON_CreateIntArray(ds->fine_to_coarse, ds->classes));
    }
    cJSON *changes = resume_changes(path, cfg);
    if (changes && cJSON_GetArraySize(changes) > 0)
        cJSON_AddItemToObject(root, "changes", changes);
    else
        cJSON_Delete(changes);
    if (ranks) {
        cJSON *dist = cJSON_AddObjectToObject(root, "distributed");
        cJSON_AddNumberToObject(dist, "ranks", ranks->n);
        cJSON *hosts = cJSON_AddArrayToObject(dist, "hosts");
        for (int r = 0; r < ranks->n; r++)
            cJSON_AddItemToArray(hosts, cJSON_CreateString(ranks->hosts[r]));
        cJSON_AddItemToObject(dist, "threads_per_rank", cJSON_CreateIntArray(ranks->threads, ranks->n));
    }

    return run_write_json(path, root, err);
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

/* A string of the file into dst: it fits, and is printable text (it may be shown, and is written back as JSON). */
static void jcopy(jctx *c, char *dst, size_t size, const char *src, const char *key)
{
    if (c->rc)
        return;
    char why[128];
    if (strlen(src) >= size)
        c->rc = vt_fail(c->err, VT_EUSAGE, "%s: \"%s\" is too long", c->path, key);
    else if (vt_check_text(src, size, why, sizeof why) != 0)
        c->rc = vt_fail(c->err, VT_EUSAGE, "%s: \"%s\": %s", c->path, key, why);
    else
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
        char why[128] = "";
        names[i] = strdup(cJSON_IsString(item) ? item->valuestring : "");
        if (!names[i] || !cJSON_IsString(item) || vt_check_label(names[i], why, sizeof why) != 0) {
            c->rc = vt_fail(c->err, VT_EUSAGE, "%s: \"%s\"[%d] is not a class name%s%s", c->path, key, i,
                            why[0] ? ": " : "", why);
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

/* "input_shape": [height, width, channels], each 1..4096. */
static void read_shape(jctx *c, const cJSON *root, run_data *run)
{
    cJSON *shape = jget(c, root, "input_shape", cJSON_IsArray, "[height, width, channels]");
    if (!shape)
        return;
    if (cJSON_GetArraySize(shape) != 3) {
        c->rc = vt_fail(c->err, VT_EUSAGE, "%s: \"input_shape\" must have 3 numbers", c->path);
        return;
    }
    int dims[3];
    for (int i = 0; i < 3; i++) {
        cJSON *d = cJSON_GetArrayItem(shape, i);
        double v = cJSON_IsNumber(d) ? d->valuedouble : 0;
        dims[i] = v >= 1 && v <= 4096 ? (int)v : 0;
        if (dims[i] < 1 || dims[i] > 4096)
            c->rc = vt_fail(c->err, VT_EUSAGE, "%s: \"input_shape\" holds a bad size", c->path);
    }
    run->height = dims[0];
    run->width = dims[1];
    run->channels = dims[2];
}

/* CIFAR-100's superclasses: "coarse_names" and "fine_to_coarse" (a superclass for each class) of data. */
static void read_coarse(jctx *c, const cJSON *data, run_data *run)
{
    const char *path = c->path;
    vt_err *err = c->err;
    cJSON *names = cJSON_GetObjectItemCaseSensitive(data, "coarse_names");
    int k = cJSON_IsArray(names) ? cJSON_GetArraySize(names) : 0;
    if (k < 1 || k > VT_MAX_CLASSES)
        c->rc = vt_fail(err, VT_EUSAGE, "%s: \"coarse_names\" is not an array of 1 to %d names", path, VT_MAX_CLASSES);
    else if ((run->coarse_names = jnames(c, data, "coarse_names", k)))
        run->coarse_classes = k; /* so that a failure below frees every name */
    cJSON *map = jget(c, data, "fine_to_coarse", cJSON_IsArray, "an array of superclass numbers");
    if (map && cJSON_GetArraySize(map) != run->classes)
        c->rc = vt_fail(err, VT_EUSAGE, "%s: \"fine_to_coarse\" has %d entries, expected %d", path,
                        cJSON_GetArraySize(map), run->classes);
    if (c->rc)
        return;
    run->fine_to_coarse = malloc(sizeof(int) * (size_t)run->classes);
    if (!run->fine_to_coarse)
        c->rc = vt_fail(err, VT_EIO, "%s: out of memory", path);
    for (int i = 0; !c->rc && i < run->classes; i++) {
        cJSON *v = cJSON_GetArrayItem(map, i);
        double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
        int x = d >= 0 && d < k && d == floor(d) ? (int)d : -1;
        if (x < 0)
            c->rc = vt_fail(err, VT_EUSAGE, "%s: \"fine_to_coarse\"[%d] is not a superclass 0..%d", path, i, k - 1);
        else
            run->fine_to_coarse[i] = x;
    }
    if (!c->rc)
        run->coarse_classes = k;
}

/* data.fingerprint, in runs made since the check: the data set to find again, at data.path (absolute), where
 * --resume and evaluate look first (a relative --data, or the search from another folder, finds another). */
static void read_made(jctx *c, const cJSON *data, run_data *run)
{
    train_config *cfg = &run->config;
    const cJSON *print = cJSON_GetObjectItemCaseSensitive(data, "fingerprint");
    if (c->rc || !print)
        return;
    jcopy(c, cfg->made_fingerprint, sizeof cfg->made_fingerprint, jstr(c, data, "fingerprint"), "data.fingerprint");
    if (!c->rc && (strlen(cfg->made_fingerprint) != 16 || strspn(cfg->made_fingerprint, "0123456789abcdef") != 16))
        c->rc = vt_fail(c->err, VT_EUSAGE, "%s: \"data.fingerprint\" is not 16 hex digits", c->path);
    if (!c->rc && run->dataset_path[0] == '/') {
        memcpy(cfg->made_data, run->dataset_path, sizeof cfg->made_data);
        memcpy(cfg->data, run->dataset_path, sizeof cfg->data);
    }
}

/* Parses config.json into run (the config and the data set's description). */
int run_read_config(const char *dir, run_data *run, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    int rc = run_path(path, sizeof path, dir, RUN_CONFIG, err);
    if (rc)
        return rc;
    char *text;
    rc = vt_read_file(path, run_file_max(RUN_CONFIG), &text, NULL, err);
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
    c.rc = train_settings_from_json(root, cfg, path, err);
    jcopy(&c, run->version, sizeof run->version, jstr(&c, root, "version"), "version");
    jcopy(&c, run->created, sizeof run->created, jstr(&c, root, "created"), "created");
    read_shape(&c, root, run);
    run->classes = (int)jnum(&c, root, "classes", 1, VT_MAX_CLASSES);
    run->params = (long long)jnum(&c, root, "params", 0, 1e13);

    cJSON *data = jget(&c, root, "data", cJSON_IsObject, "an object");
    jcopy(&c, run->dataset, sizeof run->dataset, jstr(&c, data, "name"), "data.name");
    jcopy(&c, run->dataset_path, sizeof run->dataset_path, jstr(&c, data, "path"), "data.path");
    read_made(&c, data, run);
    run->n_train = (long)jnum(&c, data, "n_train", 0, 1e10);
    run->n_test = (long)jnum(&c, data, "n_test", 0, 1e10);
    if (!c.rc)
        run->class_names = jnames(&c, data, "class_names", run->classes);
    if (!c.rc && data && cJSON_GetObjectItemCaseSensitive(data, "coarse_names"))
        read_coarse(&c, data, run);

    cJSON_Delete(root);
    if (!c.rc && snprintf(cfg->run_dir, sizeof cfg->run_dir, "%s", dir) >= (int)sizeof cfg->run_dir)
        c.rc = vt_fail(err, VT_EUSAGE, "%s: path too long", dir);
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
