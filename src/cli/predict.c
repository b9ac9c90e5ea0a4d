/* cli/predict: `vggtop predict RUN IMAGE|FOLDER...`, a run's model on a user's own PNG and JPEG files: the
 * top classes with their probabilities per image, as text, CSV (one table for a folder) or JSON lines (the
 * work is run_predict_files in src/train/predict.c). */
#include <cJSON.h>
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli_internal.h"
#include "vggtop/train.h"

enum { O_BEST = CLI_LONG_ONLY, O_CSV, O_JSON, O_TOP };

static const cli_option options[] = {
    {"best", O_BEST, NULL, "the weights of best.bin (--save-best) instead of the last checkpoint", NULL, NULL},
    {"top", O_TOP, "N", "how many classes per image, most probable first (1 to 100, default 5)", NULL, NULL},
    {"csv", O_CSV, "FILE", "one CSV table instead: a row per image with its top classes and probabilities ('-': "
                           "standard output)", NULL, NULL},
    {"json", O_JSON, "FILE", "JSON lines instead, one object per image with its top classes and every class's "
                             "probability ('-': standard output)", NULL, NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

typedef struct predict_args {
    int best, top, json;
    const char *out;
    char **files; /* the images, folders expanded */
    int n, cap;
} predict_args;

static int set_option(void *ctx, int key, const char *value, vt_err *err)
{
    predict_args *a = ctx;
    switch (key) {
    case O_BEST: a->best = 1; return VT_OK;
    case O_TOP: return vt_flag_int("--top", value, 1, 100, &a->top, err);
    case O_CSV:
    case O_JSON: return cli_table_flag(value, key == O_JSON, &a->out, &a->json, err);
    }
    return vt_fail(err, VT_EINTERNAL, "option %d has no parser", key);
}

static int add_file(predict_args *a, const char *path, vt_err *err)
{
    if (a->n == a->cap) {
        int cap = a->cap ? 2 * a->cap : 16;
        char **more = realloc(a->files, sizeof *more * (size_t)cap);
        if (!more)
            return vt_fail(err, VT_EIO, "out of memory");
        a->files = more;
        a->cap = cap;
    }
    if (!(a->files[a->n] = strdup(path)))
        return vt_fail(err, VT_EIO, "out of memory");
    a->n++;
    return VT_OK;
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

static int by_name(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* A folder's PNG and JPEG files (by their names), sorted; other arguments as they are. Sub-folders are not
 * read (a folder of class folders is one folder per argument): a folder of only sub-folders says so. */
static int add_argument(predict_args *a, const char *arg, vt_err *err)
{
    struct stat st;
    if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode))
        return add_file(a, arg, err);
    DIR *d = opendir(arg);
    if (!d)
        return vt_fail(err, VT_EUSAGE, "%s: cannot read the folder", arg);
    int first = a->n, rc = VT_OK;
    char sub[256] = "";
    struct dirent *e;
    while (rc == VT_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[VT_PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", arg, e->d_name);
        if (is_image_name(e->d_name))
            rc = add_file(a, path, err);
        else if (!sub[0] && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            snprintf(sub, sizeof sub, "%s", e->d_name);
    }
    closedir(d);
    if (rc == VT_OK && a->n == first && sub[0])
        rc = vt_fail(err, VT_EUSAGE, "%s: no .png, .jpg or .jpeg files in the folder (its sub-folders are not read: "
                     "name them, e.g. %s/%.100s)", arg, arg, sub);
    else if (rc == VT_OK && a->n == first)
        rc = vt_fail(err, VT_EUSAGE, "%s: no .png, .jpg or .jpeg files in the folder", arg);
    if (rc == VT_OK)
        qsort(a->files + first, (size_t)(a->n - first), sizeof *a->files, by_name);
    return rc;
}

/* The indices of the k highest of p (classes), highest first, ties to the lower index. */
static void top_k(const float *p, int classes, int k, int *idx)
{
    for (int r = 0; r < k; r++) {
        int best = -1;
        for (int c = 0; c < classes; c++) {
            int taken = 0;
            for (int q = 0; q < r; q++)
                taken |= idx[q] == c;
            if (!taken && (best < 0 || p[c] > p[best]))
                best = c;
        }
        idx[r] = best;
    }
}

typedef struct results {
    const predict_args *a;
    const float *probs;
    int classes;
    char **names;
} results;

static int write_results(FILE *f, void *ctx, vt_err *err)
{
    (void)err;
    const results *res = ctx;
    const predict_args *a = res->a;
    const float *probs = res->probs;
    const int classes = res->classes;
    char **names = res->names;
    int k = a->top < classes ? a->top : classes, idx[100];
    if (a->out && !a->json) {
        fprintf(f, "file");
        for (int r = 1; r <= k; r++)
            fprintf(f, ",class_%d,p_%d", r, r);
        fputc('\n', f);
    }
    for (int i = 0; i < a->n; i++) {
        const float *p = probs + (size_t)i * (size_t)classes;
        top_k(p, classes, k, idx);
        if (a->out && a->json) {
            cJSON *o = cJSON_CreateObject(), *top = cJSON_AddArrayToObject(o, "top");
            cJSON_AddStringToObject(o, "file", a->files[i]);
            for (int r = 0; r < k; r++) {
                cJSON *t = cJSON_CreateObject();
                cJSON_AddStringToObject(t, "class", names[idx[r]]);
                cJSON_AddNumberToObject(t, "index", idx[r]);
                cJSON_AddNumberToObject(t, "probability", p[idx[r]]);
                cJSON_AddItemToArray(top, t);
            }
            cJSON *all = cJSON_AddArrayToObject(o, "probabilities");
            for (int c = 0; c < classes; c++)
                cJSON_AddItemToArray(all, cJSON_CreateNumber(p[c]));
            char *line = cJSON_PrintUnformatted(o);
            fprintf(f, "%s\n", line ? line : "{}");
            free(line);
            cJSON_Delete(o);
        } else if (a->out) {
            run_csv_field(f, a->files[i]);
            for (int r = 0; r < k; r++) {
                fputc(',', f);
                run_csv_field(f, names[idx[r]]);
                fprintf(f, ",%.9g", (double)p[idx[r]]);
            }
            fputc('\n', f);
        } else {
            fprintf(f, "%s\n", a->files[i]);
            for (int r = 0; r < k; r++)
                fprintf(f, "  %d. %-24s %6.2f%%\n", r + 1, names[idx[r]], 100.0 * p[idx[r]]);
        }
    }
    return VT_OK;
}

static int predict_and_write(const char *dir, predict_args *a, vt_err *err)
{
    run_data run;
    int rc = run_load(dir, RUN_PART_CONFIG, &run, err);
    if (rc)
        return rc;
    float *probs = NULL;
    int classes = 0;
    rc = run_predict_files(dir, a->best, (const char *const *)a->files, a->n, &probs, &classes, err);
    if (rc == VT_OK && (classes != run.classes || !run.class_names))
        rc = vt_fail(err, VT_EUSAGE, "%s: the checkpoint has %d classes, config.json %d", dir, classes, run.classes);
    results res = {a, probs, classes, run.class_names};
    if (rc == VT_OK)
        rc = cli_write_to(a->out, write_results, &res, err);
    free(probs);
    run_free(&run);
    return rc;
}

/* RUN_DIR as it is, or a run's checkpoint file: its folder, and best.bin sets best. */
static int run_of(const char *arg, char *dir, size_t size, int *best, vt_err *err)
{
    struct stat st;
    snprintf(dir, size, "%s", arg);
    if (stat(arg, &st) != 0 || !S_ISREG(st.st_mode))
        return VT_OK;
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    if (strcmp(base, RUN_BEST) != 0 && strcmp(base, RUN_CHECKPOINT) != 0)
        return vt_fail(err, VT_EUSAGE, "%s: give a run directory, or its %s or %s", arg, RUN_CHECKPOINT, RUN_BEST);
    *best |= strcmp(base, RUN_BEST) == 0;
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, size, ".");
    return VT_OK;
}

static int cmd_predict(int argc, char **argv, vt_err *err)
{
    predict_args a;
    memset(&a, 0, sizeof a);
    a.top = 5;
    int done;
    int rc = cli_parse(&cli_predict_command, options, argc, argv, set_option, &a, &done, err);
    if (rc != VT_OK || done)
        return rc;
    if ((rc = cli_positional(&cli_predict_command, argc, argv, 2, 100000, "RUN_DIR and at least one IMAGE", err)))
        return rc;
    for (int i = optind + 1; rc == VT_OK && i < argc; i++)
        rc = add_argument(&a, argv[i], err);
    char dir[VT_PATH_MAX];
    if (rc == VT_OK)
        rc = run_of(argv[optind], dir, sizeof dir, &a.best, err);
    if (rc == VT_OK)
        rc = predict_and_write(dir, &a, err);
    for (int i = 0; i < a.n; i++)
        free(a.files[i]);
    free(a.files);
    return rc;
}

const cli_command cli_predict_command = {
    .name = "predict",
    .run = cmd_predict,
    .summary = "classify your own PNG and JPEG images with a run's model",
    .usage = "usage: vggtop predict RUN_DIR|CHECKPOINT IMAGE|FOLDER... [--best] [--top N] [--csv FILE|- | --json FILE|-]\n",
    .about = "Prints each image's most probable classes. An image of any size is converted as OpenCV's imread\n"
             "converts (greyscale to colour or colour to greyscale as the model takes it, alpha dropped, 16-bit\n"
             "to 8), resized to the model's input with the bicubic resize training uses and prepared as the run's\n"
             "test images were (x / 255, or caffe's with ImageNet weights), so an image of the test set gives the\n"
             "probabilities evaluate gives it. A folder stands for its .png, .jpg and .jpeg files; a run's\n"
             "checkpoint.bin or best.bin stands for its run.\n",
    .options = options,
    .notes = "Exit status 2 for a bad flag, a run that cannot be read, or an image that is not a PNG or JPEG,\n"
             "is truncated or damaged, or has more than 64 Mpx; nothing is written then.\n",
};
