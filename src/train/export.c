/* train/export: several runs' numbers as one tidy table, for pandas and spreadsheets: a row per run and epoch
 * (history.csv with the run's folder, model and the settings that differ between the runs), or per run, epoch
 * and class (per_class.csv), as CSV or JSON lines. Also the settings that tell runs apart, which the figures'
 * legends use too; and a run's weights as a Keras HDF5 file or its model as an ONNX graph. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "train_internal.h"

/* The settings that can tell runs apart, in the order they are named. */
typedef enum { S_LR, S_BATCH, S_MOMENTUM, S_DECAY, S_INPUT, S_AUGMENT, S_SEED, S_COUNT } setting;
/* Column names: Keras' argument names (learning_rate, as SGD's; lr stays history.csv's per-epoch rate). */
static const char *const setting_names[] = {"learning_rate", "batch_size", "momentum", "weight_decay", "input", "augment", "seed"};
static const char *const setting_short[] = {"lr", "batch", "momentum", "decay", "", "", "seed"};

static int differs(const run_data *a, const run_data *b, setting s)
{
    switch (s) {
    case S_LR: return a->config.lr != b->config.lr;
    case S_BATCH: return a->config.batch_size != b->config.batch_size;
    case S_MOMENTUM: return a->config.momentum != b->config.momentum;
    case S_DECAY: return a->config.weight_decay != b->config.weight_decay;
    case S_INPUT: return a->height != b->height || a->width != b->width;
    case S_AUGMENT: return a->config.augment != b->config.augment;
    default: return a->config.seed != b->config.seed;
    }
}

/* The value of a setting as a table shows it: "0.01", "32", "48x48", "1". */
static void value_of(const run_data *r, setting s, char *buf, size_t size)
{
    switch (s) {
    case S_LR: snprintf(buf, size, "%g", r->config.lr); break;
    case S_BATCH: snprintf(buf, size, "%d", r->config.batch_size); break;
    case S_MOMENTUM: snprintf(buf, size, "%g", r->config.momentum); break;
    case S_DECAY: snprintf(buf, size, "%g", r->config.weight_decay); break;
    case S_INPUT: snprintf(buf, size, "%dx%d", r->height, r->width); break;
    case S_AUGMENT: snprintf(buf, size, "%d", r->config.augment); break;
    default: snprintf(buf, size, "%llu", (unsigned long long)r->config.seed); break;
    }
}

unsigned run_settings_differing(const run_data *runs, int n)
{
    unsigned mask = 0;
    for (int s = 0; s < S_COUNT; s++)
        for (int i = 1; i < n; i++)
            if (differs(&runs[0], &runs[i], (setting)s))
                mask |= 1u << s;
    return mask;
}

void run_settings_label(const run_data *run, unsigned mask, char *buf, size_t size)
{
    snprintf(buf, size, "%s", run->config.model);
    for (int s = 0; s < S_COUNT; s++) {
        if (!(mask & 1u << s))
            continue;
        char v[64];
        value_of(run, (setting)s, v, sizeof v);
        size_t len = strlen(buf);
        if (s == S_AUGMENT)
            snprintf(buf + len, size - len, ", %saugment", run->config.augment ? "" : "no ");
        else
            snprintf(buf + len, size - len, ", %s%s%s", setting_short[s], *setting_short[s] ? " " : "", v);
    }
}

/* ---- the tables --------------------------------------------------------------------------------------- */

void run_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* A JSON string (the text was checked to be printable UTF-8 when read; quotes and backslashes escaped). */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* A number: empty in CSV and null in JSON when NaN (a metric a run did not record). */
static void number(FILE *f, int json, double v, const char *fmt)
{
    if (isnan(v))
        fputs(json ? "null" : "", f);
    else
        fprintf(f, fmt, v);
}

typedef struct column {
    const char *name;
} column;

static void header(FILE *f, int json, const column *cols, int n)
{
    if (json)
        return;
    for (int i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        fputs(cols[i].name, f);
    }
    fputc('\n', f);
}

static void row_begin(FILE *f, int json) { fputs(json ? "{" : "", f); }
static void row_end(FILE *f, int json) { fputs(json ? "}\n" : "\n", f); }

static void cell_text(FILE *f, int json, int first, const char *name, const char *v)
{
    if (!first)
        fputs(json ? ", " : ",", f);
    if (json) {
        json_string(f, name);
        fputs(": ", f);
        json_string(f, v);
    } else {
        run_csv_field(f, v);
    }
}

static void cell_number(FILE *f, int json, const char *name, double v, const char *fmt)
{
    fputs(json ? ", " : ",", f);
    if (json) {
        json_string(f, name);
        fputs(": ", f);
    }
    number(f, json, v, fmt);
}

/* The run columns every row starts with: run, model and the settings that differ. */
static int run_columns(column *cols, unsigned mask)
{
    int n = 0;
    cols[n++] = (column){"run"};
    cols[n++] = (column){"model"};
    for (int s = 0; s < S_COUNT; s++)
        if (mask & 1u << s)
            cols[n++] = (column){setting_names[s]};
    return n;
}

static void run_cells(FILE *f, int json, const run_data *r, unsigned mask)
{
    cell_text(f, json, 1, "run", r->dir);
    cell_text(f, json, 0, "model", r->config.model);
    for (int s = 0; s < S_COUNT; s++)
        if (mask & 1u << s) {
            char v[64];
            value_of(r, (setting)s, v, sizeof v);
            if (s == S_INPUT || !json) {
                cell_text(f, json, 0, setting_names[s], v);
            } else { /* a number in JSON */
                fputs(", ", f);
                json_string(f, setting_names[s]);
                fprintf(f, ": %s", v);
            }
        }
}

void run_export_history(FILE *f, const run_data *runs, int n, int json)
{
    unsigned mask = run_settings_differing(runs, n);
    static const char *const metrics[] = {"loss", "acc", "mse", "val_loss", "val_acc", "val_mse",
                                          "top_k_categorical_accuracy", "val_top_k_categorical_accuracy", "lr",
                                          "seconds"};
    column cols[32];
    int nc = run_columns(cols, mask);
    cols[nc++] = (column){"epoch"};
    for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++)
        cols[nc++] = (column){metrics[m]};
    header(f, json, cols, nc);
    for (int i = 0; i < n; i++)
        for (int e = 0; e < runs[i].n_history; e++) {
            const train_epoch *h = &runs[i].history[e];
            double v[] = {h->loss, h->acc, h->mse, h->val_loss, h->val_acc, h->val_mse, h->top5, h->val_top5,
                          h->lr, h->seconds};
            row_begin(f, json);
            run_cells(f, json, &runs[i], mask);
            cell_number(f, json, "epoch", e + 1, "%.0f");
            for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++)
                cell_number(f, json, metrics[m], v[m], m == 9 ? "%.3f" : "%.8g");
            row_end(f, json);
        }
}

int run_export_per_class(FILE *f, const run_data *runs, int n, int json, vt_err *err)
{
    unsigned mask = run_settings_differing(runs, n);
    column cols[32];
    int nc = run_columns(cols, mask);
    static const char *const tail[] = {"epoch", "class", "class_name", "precision", "recall", "f1", "support"};
    for (size_t k = 0; k < sizeof tail / sizeof tail[0]; k++)
        cols[nc++] = (column){tail[k]};
    header(f, json, cols, nc);
    for (int i = 0; i < n; i++) {
        run_class_row *rows = NULL;
        long m = 0;
        int rc = run_read_per_class(runs[i].dir, &rows, &m, err);
        if (rc != VT_OK)
            return rc;
        for (long k = 0; k < m; k++) {
            const run_class_row *r = &rows[k];
            char num[16];
            snprintf(num, sizeof num, "%d", r->cls);
            const char *name = runs[i].class_names && r->cls < runs[i].classes ? runs[i].class_names[r->cls] : num;
            row_begin(f, json);
            run_cells(f, json, &runs[i], mask);
            cell_number(f, json, "epoch", r->epoch, "%.0f");
            cell_number(f, json, "class", r->cls, "%.0f");
            cell_text(f, json, 0, "class_name", name);
            cell_number(f, json, "precision", r->precision, "%.8g");
            cell_number(f, json, "recall", r->recall, "%.8g");
            cell_number(f, json, "f1", r->f1, "%.8g");
            cell_number(f, json, "support", (double)r->support, "%.0f");
            row_end(f, json);
        }
        free(rows);
    }
    return VT_OK;
}

int run_export_keras(const char *dir, int best, const char *out, vt_err *err)
{
    model *m = NULL;
    int rc = train_load_run_model(dir, best, &m, err);
    if (!rc)
        rc = keras_h5_save(out, m, err);
    model_destroy(m);
    return rc;
}

int run_export_onnx(const char *dir, int best, const char *out, vt_err *err)
{
    run_data run;
    int rc = run_load(dir, RUN_PART_CONFIG, &run, err);
    if (rc)
        return rc;
    model *m = NULL;
    rc = train_load_run_model(dir, best, &m, err);
    preprocess pp;
    train_preprocess(&run.config, &pp);
    char *names = NULL;
    cJSON *list = cJSON_CreateArray();
    for (int c = 0; list && run.class_names && c < run.classes; c++)
        cJSON_AddItemToArray(list, cJSON_CreateString(run.class_names[c]));
    if (!rc && !(names = list ? cJSON_PrintUnformatted(list) : NULL))
        rc = vt_fail(err, VT_EIO, "out of memory");
    char doc[1024];
    const model_config *mc = m ? model_get_config(m) : NULL;
    if (!rc) {
        snprintf(doc, sizeof doc, "vggtop %s trained on %s. Input 'input': float32 (N, %d, %d, %d), NHWC (Keras' "
                 "channels_last), the image resized to %dx%d with bicubic interpolation, %s. Output "
                 "'probabilities': (N, %d) softmax, class i named by the metadata's class_names[i].",
                 mc->name, run.dataset, mc->height, mc->width, mc->channels, mc->height, mc->width,
                 pp.caffe ? "channels in BGR order with the ImageNet means 103.939, 116.779, 123.68 subtracted "
                            "(Keras' caffe preprocessing, pixel values 0 to 255)"
                          : "pixel values divided by 255 (0 to 1)",
                 mc->classes);
        const char *keys[] = {"class_names", "preprocessing", "input_layout"};
        const char *values[] = {names, pp.caffe ? "caffe" : "x / 255", "NHWC"};
        rc = onnx_save(out, m, doc, keys, values, 3, err);
    }
    free(names);
    cJSON_Delete(list);
    model_destroy(m);
    run_free(&run);
    return rc;
}
