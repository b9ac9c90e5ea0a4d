/* train/rundir: the files of a run directory, both ways: writing config.json, history.csv, progress.json,
 * predictions.csv, confusion.csv and report.txt (atomically), reading them back for --resume, the front end,
 * `vggtop watch` and the CLI commands, and listing the runs of a runs directory. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "train_internal.h"
#include "vggtop/metrics.h"

/* The program's version lives in main.c (cli.h); the unit tests link train without main, so the reference
 * is weak and config.json says "unknown" there. */
extern const char vggtop_version[] __attribute__((weak));

int run_path(char *buf, size_t size, const char *dir, const char *name, vt_err *err)
{
    if (snprintf(buf, size, "%s/%s", dir, name) >= (int)size)
        return vt_fail(err, VT_EUSAGE, "%s: path too long", dir);
    return VT_OK;
}

static const char *const state_names[] = {
    "idle", "loading", "training", "evaluating", "paused", "stopping", "stopped", "finished", "failed",
};

const char *train_state_name(train_state state)
{
    if ((int)state < 0 || (size_t)state >= sizeof state_names / sizeof state_names[0])
        return "unknown";
    return state_names[state];
}

static int state_from_name(const char *name, train_state *out)
{
    for (size_t i = 0; i < sizeof state_names / sizeof state_names[0]; i++)
        if (strcmp(state_names[i], name) == 0)
            return *out = (train_state)i, 0;
    return -1;
}

/* ---- writers ----------------------------------------------------------------------------------------- */

/* The columns of history.csv; runs made before top-5 accuracy have the first nine only. */
#define HISTORY_V1 "epoch,loss,acc,mse,val_loss,val_acc,val_mse,lr,seconds"
static const char history_header[] = HISTORY_V1 ",top_k_categorical_accuracy,val_top_k_categorical_accuracy";

void run_history_csv(FILE *f, const train_epoch *rows, int n)
{
    int top5 = 0; /* the top-5 columns, unless no row has them (a run from before them stays as it was) */
    for (int i = 0; i < n; i++)
        top5 |= !isnan(rows[i].top5) || !isnan(rows[i].val_top5);
    fprintf(f, "%s\n", top5 || n == 0 ? history_header : HISTORY_V1);
    for (int i = 0; i < n; i++) {
        const train_epoch *r = &rows[i];
        fprintf(f, "%d,%.8f,%.8f,%.8f,%.8f,%.8f,%.8f,%.8g,%.3f", i + 1, r->loss, r->acc, r->mse, r->val_loss,
                r->val_acc, r->val_mse, r->lr, r->seconds);
        if (top5)
            fprintf(f, ",%.8f,%.8f", r->top5, r->val_top5);
        fputc('\n', f);
    }
}

int run_write_history(const char *dir, const train_epoch *rows, int n, vt_err *err)
{
    char path[4200];
    int rc = run_path(path, sizeof path, dir, RUN_HISTORY, err);
    vt_afile af;
    if (rc || (rc = vt_afile_open(&af, path, err)))
        return rc;
    run_history_csv(af.f, rows, n);
    return vt_afile_commit(&af, err);
}

int run_write_progress(const char *dir, const train_snapshot *s, vt_err *err)
{
    char path[4200], stamp[32];
    int rc = run_path(path, sizeof path, dir, RUN_PROGRESS, err);
    if (rc)
        return rc;
    vt_utc_stamp(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "state", train_state_name(s->state));
    cJSON_AddStringToObject(o, "message", s->message);
    cJSON_AddNumberToObject(o, "epoch", s->epoch);
    cJSON_AddNumberToObject(o, "epochs", s->epochs);
    cJSON_AddNumberToObject(o, "epochs_done", s->epochs_done);
    cJSON_AddNumberToObject(o, "batch", (double)s->batch);
    cJSON_AddNumberToObject(o, "batches", (double)s->batches);
    cJSON_AddNumberToObject(o, "samples", (double)s->samples);
    /* JSON has no NaN: a missing running mean (no batch yet) is written as 0. */
    cJSON_AddNumberToObject(o, "loss", isfinite(s->loss) ? s->loss : 0);
    cJSON_AddNumberToObject(o, "acc", isfinite(s->acc) ? s->acc : 0);
    cJSON_AddNumberToObject(o, "mse", isfinite(s->mse) ? s->mse : 0);
    if (isfinite(s->top5))
        cJSON_AddNumberToObject(o, "top5", s->top5); /* optional: left out before the epoch's first step */
    cJSON_AddNumberToObject(o, "img_per_s", s->img_per_s);
    cJSON_AddNumberToObject(o, "ms_per_step", s->ms_per_step);
    if (s->ranks > 1)
        cJSON_AddNumberToObject(o, "ranks", s->ranks); /* optional: a data-parallel run */
    cJSON_AddNumberToObject(o, "elapsed", s->elapsed);
    cJSON_AddNumberToObject(o, "eta", s->eta);
    cJSON_AddNumberToObject(o, "eta_run", s->eta_run);
    cJSON_AddNumberToObject(o, "lr", s->lr);
    cJSON_AddNumberToObject(o, "eval_batch", (double)s->eval_batch);
    cJSON_AddNumberToObject(o, "eval_batches", (double)s->eval_batches);
    cJSON_AddNumberToObject(o, "eval_eta", s->eval_eta);
    cJSON_AddNumberToObject(o, "command_ack", (double)s->command_ack);
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    cJSON_AddStringToObject(o, "updated", stamp);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text)
        return vt_fail(err, VT_EIO, "%s: out of memory", path);
    size_t len = strlen(text);
    text[len] = '\n';
    rc = vt_write_file_atomic(path, text, len + 1, err);
    free(text);
    return rc;
}

static int read_optional(const char *dir, const char *name, char *path, size_t size, char **text, vt_err *err);
static char *next_line(char **cursor);

/* A per-epoch file: header, the rows of earlier epochs kept (later ones, left by a run killed after writing
 * them, go, and so does a line that is not a row), then this epoch's rows; written atomically. */
static int write_epoch_rows(const char *dir, const rows_kind *k, int epoch, const char *rows, vt_err *err)
{
    char path[4200], *old = NULL;
    int rc = read_optional(dir, k->name, path, sizeof path, &old, err);
    if (rc)
        return rc;
    vt_afile af;
    if ((rc = vt_afile_open(&af, path, err))) {
        free(old);
        return rc;
    }
    fprintf(af.f, "%s\n", k->header);
    char *cursor = old, *line = old ? next_line(&cursor) : NULL; /* the old header */
    union {
        run_class_row c;
        run_layer_row l;
    } row;
    char why[128];
    while (line && (line = next_line(&cursor)))
        if (k->parse(line, &row, why, sizeof why) && row.c.epoch < epoch)
            fprintf(af.f, "%s\n", line);
    fputs(rows, af.f);
    free(old);
    return vt_afile_commit(&af, err);
}

static const rows_kind per_class_rows, layer_rows;

/* per_class.csv's rows of an epoch: sklearn's precision, recall, F1 and support of every class
 * (labels=range(C), zero_division=0), from the confusion matrix. */
static int write_per_class(const char *dir, int epoch, const long *cm, int C, vt_err *err)
{
    report r;
    if (metrics_report(cm, C, 1, &r) != 0)
        return vt_fail(err, VT_EIO, "%s/%s: out of memory", dir, RUN_PER_CLASS);
    vt_buf b = {0};
    for (int i = 0; i < r.n_labels; i++)
        vt_buf_printf(&b, "%d,%d,%.8f,%.8f,%.8f,%ld\n", epoch, r.labels[i], r.rows[i].precision, r.rows[i].recall,
                      r.rows[i].f1, r.rows[i].support);
    metrics_report_free(&r);
    char *rows = vt_buf_take(&b);
    if (!rows)
        return vt_fail(err, VT_EIO, "%s/%s: out of memory", dir, RUN_PER_CLASS);
    int rc = write_epoch_rows(dir, &per_class_rows, epoch, rows, err);
    free(rows);
    return rc;
}

int run_read_rows(const char *dir, const rows_kind *k, void **rows, long *n, vt_err *err)
{
    *rows = NULL;
    *n = 0;
    char path[4200], *text, *cursor, *line;
    int rc = read_optional(dir, k->name, path, sizeof path, &text, err);
    if (rc || !text)
        return rc;
    cursor = text;
    line = next_line(&cursor);
    if (!line || strcmp(line, k->header) != 0) {
        free(text);
        return vt_fail(err, VT_EUSAGE, "%s: line 1: expected the header \"%s\"", path, k->header);
    }
    /* At most a row a line, and at most per_epoch rows of each epoch: the lesser bounds the allocation. */
    long cap = 1, most = (long)k->per_epoch * TRAIN_MAX_EPOCHS;
    for (const char *p = cursor; *p; p++)
        cap += *p == '\n';
    cap = cap < most ? cap : most;
    char *out = malloc(k->row_size * (size_t)cap);
    int *per = calloc(TRAIN_MAX_EPOCHS + 1, sizeof *per);
    long count = 0;
    int lineno = 1;
    char why[160];
    while (!rc && out && per && (line = next_line(&cursor))) {
        lineno++;
        if (!*line)
            continue;
        char *row = out + (size_t)count * k->row_size;
        if (count == cap)
            rc = vt_fail(err, VT_EUSAGE, "%s: line %d: more than %ld rows", path, lineno, cap);
        else if (!k->parse(line, row, why, sizeof why))
            rc = vt_fail(err, VT_EUSAGE, "%s: line %d: %s", path, lineno, why);
        else if (++per[*(const int *)row] > k->per_epoch)
            rc = vt_fail(err, VT_EUSAGE, "%s: line %d: more than %d rows of epoch %d", path, lineno, k->per_epoch,
                         *(const int *)row);
        else
            count++;
    }
    if (!rc && (!out || !per))
        rc = vt_fail(err, VT_EIO, "%s: out of memory", path);
    free(per);
    free(text);
    if (rc) {
        free(out);
        return rc;
    }
    *rows = out;
    *n = count;
    return VT_OK;
}

int run_field_whole(const char **p, int last, const char *name, long lo, long hi, long *out, char *why,
                       size_t size)
{
    char *end;
    errno = 0;
    long v = strtol(*p, &end, 10);
    if (end == *p || errno || *end != (last ? '\0' : ',') || v < lo || v > hi)
        return snprintf(why, size, "%s is not a whole number in %ld..%ld", name, lo, hi), 0;
    *out = v;
    *p = end + !last;
    return 1;
}

int run_field_number(const char **p, int last, const char *name, double lo, double hi, int nan_ok, double *out,
                        char *why, size_t size)
{
    char *end;
    double v = strtod(*p, &end); /* underflow (a subnormal) is a number, not an error: errno is not asked */
    if (end == *p || *end != (last ? '\0' : ',') || (isnan(v) ? !nan_ok : !(v >= lo && v <= hi)))
        return snprintf(why, size, "%s is not a number in %g..%g%s", name, lo, hi, nan_ok ? " (or nan)" : ""), 0;
    *out = v;
    *p = end + !last;
    return 1;
}

int run_write_layers(const char *dir, int epoch, const run_layer_row *rows, int n, vt_err *err)
{
    vt_buf b = {0};
    for (int i = 0; i < n; i++)
        vt_buf_printf(&b, "%d,%s,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n", epoch, rows[i].layer, rows[i].weight_norm,
                      rows[i].grad_norm, rows[i].update_ratio, rows[i].dead_relu, rows[i].act_mean, rows[i].act_std);
    char *text = vt_buf_take(&b);
    if (!text)
        return vt_fail(err, VT_EIO, "%s/%s: out of memory", dir, RUN_LAYERS);
    int rc = write_epoch_rows(dir, &layer_rows, epoch, text, err);
    free(text);
    return rc;
}

/* One layers.csv row: norms and ratios at least 0, a share of dead ReLUs in 0..1, NaN where there is none. */
static int parse_layer_row(const char *line, void *row, char *why, size_t size)
{
    run_layer_row r;
    const char *p = line;
    long epoch;
    if (!run_field_whole(&p, 0, "the epoch", 1, TRAIN_MAX_EPOCHS, &epoch, why, size))
        return 0;
    r.epoch = (int)epoch;
    size_t len = strcspn(p, ",");
    if (len == 0 || len >= sizeof r.layer || p[len] != ',')
        return snprintf(why, size, "the layer name is not 1 to %zu bytes", sizeof r.layer - 1), 0;
    memcpy(r.layer, p, len);
    r.layer[len] = '\0';
    char bad[96];
    if (vt_check_label(r.layer, bad, sizeof bad) != 0)
        return snprintf(why, size, "the layer name: %s", bad), 0;
    p += len + 1;
    const double big = DBL_MAX;
    if (!run_field_number(&p, 0, "weight_norm", 0, big, 1, &r.weight_norm, why, size) ||
        !run_field_number(&p, 0, "grad_norm", 0, big, 1, &r.grad_norm, why, size) ||
        !run_field_number(&p, 0, "update_ratio", 0, big, 1, &r.update_ratio, why, size) ||
        !run_field_number(&p, 0, "dead_relu", 0, 1, 1, &r.dead_relu, why, size) ||
        !run_field_number(&p, 0, "act_mean", -big, big, 1, &r.act_mean, why, size) ||
        !run_field_number(&p, 1, "act_std", 0, big, 1, &r.act_std, why, size))
        return 0;
    *(run_layer_row *)row = r;
    return 1;
}

static const rows_kind layer_rows = {RUN_LAYERS, LAYERS_HEADER, sizeof(run_layer_row), RUN_MAX_LAYERS,
                                     parse_layer_row};

int run_read_layers(const char *dir, run_layer_row **rows, long *n, vt_err *err)
{
    void *out;
    int rc = run_read_rows(dir, &layer_rows, &out, n, err);
    *rows = out;
    return rc;
}

int run_layer_vanishing(const run_layer_row *rows, long n, long i)
{
    double top = 0, first = NAN; /* the largest gradient of row i's epoch; the layer's in its first epoch */
    for (long k = 0; k < n; k++) {
        if (rows[k].epoch == rows[i].epoch && rows[k].grad_norm > top)
            top = rows[k].grad_norm;
        if (isnan(first) && strcmp(rows[k].layer, rows[i].layer) == 0)
            first = rows[k].grad_norm;
    }
    return rows[i].grad_norm < RUN_VANISHING * top || rows[i].grad_norm < RUN_VANISHING * first;
}

char *run_layers_advice(char *buf, size_t size, int flagged)
{
    snprintf(buf, size, "%d layer%s receive%s almost no gradient. Without batch normalisation a deep VGG often "
             "starts so: try fewer layers (vgg16 for vgg19, or cnn), the custom VGG (vgg16-nopool), --momentum 0.9, "
             "or another --lr.", flagged, flagged == 1 ? "" : "s", flagged == 1 ? "s" : "");
    return buf;
}

int run_write_evaluation(const char *dir, int epoch, long batch, int history, const int *y_true, const float *probs,
                         long n, int C, const char *const *names, vt_err *err)
{
    char path[4200];
    int rc = VT_OK;
    int *y_pred = malloc(sizeof(int) * (size_t)(n ? n : 1));
    long *cm = calloc((size_t)C * (size_t)C, sizeof *cm);
    if (!y_pred || !cm) {
        free(y_pred);
        free(cm);
        return vt_fail(err, VT_EIO, "%s: out of memory for the evaluation", dir);
    }
    metrics_argmax(probs, n, C, y_pred);
    metrics_confusion(y_true, y_pred, n, C, cm);

    /* Which weights the predictions are of, first: a reader that sees predictions.csv change reads both. */
    char pos[64];
    int len = snprintf(pos, sizeof pos, "{\"epoch\": %d, \"batch\": %ld}\n", epoch < 0 ? -1 : epoch,
                       epoch < 0 ? 0 : batch);
    if (!(rc = run_path(path, sizeof path, dir, RUN_PRED_EPOCH, err)))
        rc = vt_write_file_atomic(path, pos, (size_t)len, err);
    vt_afile af;
    if (!rc && !(rc = run_path(path, sizeof path, dir, RUN_PREDICTIONS, err)) &&
        !(rc = vt_afile_open(&af, path, err))) {
        fputs("index,true,pred", af.f);
        for (int c = 0; c < C; c++)
            fprintf(af.f, ",p%d", c);
        fputc('\n', af.f);
        for (long i = 0; i < n; i++) {
            fprintf(af.f, "%ld,%d,%d", i, y_true[i], y_pred[i]);
            /* %.9g: every float32 reads back bit for bit, so ROC curves from the file equal the in-memory ones. */
            for (int c = 0; c < C; c++)
                fprintf(af.f, ",%.9g", (double)probs[(size_t)i * (size_t)C + (size_t)c]);
            fputc('\n', af.f);
        }
        rc = vt_afile_commit(&af, err);
    }
    if (!rc && !(rc = run_path(path, sizeof path, dir, RUN_CONFUSION, err)) && !(rc = vt_afile_open(&af, path, err))) {
        for (int t = 0; t < C; t++)
            for (int p = 0; p < C; p++)
                fprintf(af.f, "%ld%c", cm[(size_t)t * (size_t)C + (size_t)p], p + 1 < C ? ',' : '\n');
        rc = vt_afile_commit(&af, err);
    }
    if (!rc && history)
        rc = write_per_class(dir, epoch, cm, C, err);
    if (!rc && !(rc = run_path(path, sizeof path, dir, RUN_REPORT, err))) {
        report r;
        char *text = NULL;
        if (metrics_report(cm, C, 0, &r) == 0) {
            text = metrics_report_text(&r, names, 2);
            metrics_report_free(&r);
        }
        if (!text)
            rc = vt_fail(err, VT_EIO, "%s: out of memory for the report", path);
        else {
            rc = vt_write_file_atomic(path, text, strlen(text), err);
            free(text);
        }
    }
    free(y_pred);
    free(cm);
    return rc;
}

void run_clean_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *tmp = strstr(e->d_name, ".tmp.");
        if (!tmp)
            continue;
        char *end;
        long pid = strtol(tmp + 5, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid())
            continue;
        /* Called by the run lock's holder, the only writer of the run's own files; a pid past Linux's limit
         * is nobody (and kill() of it would mean something else), a live one may be a vggtop ctl's. */
        if (pid <= 4194304 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

/* ---- readers ----------------------------------------------------------------------------------------- */

/* Reads a whole file when it exists: VT_OK with *text NULL when it does not. */
/* The largest each run-directory file may be (the README's Checks and the man page give them): far above
 * what vggtop writes, so that a file past it is something else, refused before anything is allocated. */
static long long run_file_max(const char *name)
{
    static const struct {
        const char *name;
        long long max;
    } limits[] = {
        {RUN_CONFIG, RUN_MAX_CONFIG_BYTES},
        {RUN_HISTORY, RUN_MAX_HISTORY_BYTES},
        {RUN_PROGRESS, RUN_MAX_PROGRESS_BYTES},
        {RUN_PREDICTIONS, RUN_MAX_PREDICTIONS_BYTES},
        {RUN_PER_CLASS, RUN_MAX_PER_CLASS_BYTES},
        {RUN_LAYERS, RUN_MAX_LAYERS_BYTES},
    };
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
        if (strcmp(limits[i].name, name) == 0)
            return limits[i].max;
    return RUN_MAX_PROGRESS_BYTES;
}

/* Reads a run file that may be absent (*text stays NULL). Present means anything lstat sees, so a dangling
 * link or a loop is reported as what it is, not taken for "no such file yet". */
static int read_optional(const char *dir, const char *name, char *path, size_t size, char **text, vt_err *err)
{
    *text = NULL;
    int rc = run_path(path, size, dir, name, err);
    if (rc)
        return rc;
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT)
        return VT_OK;
    return vt_read_file(path, run_file_max(name), text, NULL, err);
}

/* Splits the next line off *cursor (NUL-terminating it); NULL at the end. */
static char *next_line(char **cursor)
{
    char *s = *cursor;
    if (!s || !*s)
        return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *cursor = nl + 1;
    } else
        *cursor = s + strlen(s);
    size_t len = strlen(s);
    if (len && s[len - 1] == '\r')
        s[len - 1] = '\0';
    return s;
}

static int read_history(const char *dir, run_data *run, vt_err *err)
{
    char path[4200], *text;
    int rc = read_optional(dir, RUN_HISTORY, path, sizeof path, &text, err);
    if (rc || !text)
        return rc;
    char *cursor = text, *line = next_line(&cursor);
    int cols = line && strcmp(line, history_header) == 0 ? 11 : line && strcmp(line, HISTORY_V1) == 0 ? 9 : 0;
    if (!cols) {
        free(text);
        return vt_fail(err, VT_EUSAGE, "%s: line 1: expected the header \"%s\"", path, history_header);
    }
    int cap = 16, n = 0, lineno = 1;
    train_epoch *rows = malloc(sizeof *rows * (size_t)cap);
    while (!rc && rows && (line = next_line(&cursor))) {
        lineno++;
        if (!*line)
            continue;
        double v[11] = {0, 0, 0, 0, 0, 0, 0, 0, 0, NAN, NAN};
        char *p = line, *end;
        int k = 0;
        for (; k < cols; k++) {
            errno = 0;
            v[k] = strtod(p, &end);
            if (end == p || errno)
                break;
            p = end;
            if (k < cols - 1 && *p++ != ',')
                break;
        }
        if (k < cols || *p) {
            rc = vt_fail(err, VT_EUSAGE, "%s: line %d: expected %d comma-separated numbers", path, lineno, cols);
            break;
        }
        if (v[0] != n + 1) {
            rc = vt_fail(err, VT_EUSAGE, "%s: line %d: epoch %g out of sequence (expected %d)", path, lineno, v[0], n + 1);
            break;
        }
        if (n == TRAIN_MAX_EPOCHS) {
            rc = vt_fail(err, VT_EUSAGE, "%s: more than %d epochs", path, TRAIN_MAX_EPOCHS);
            break;
        }
        if (n == cap) {
            train_epoch *bigger = realloc(rows, sizeof *rows * (size_t)(cap *= 2));
            if (!bigger) {
                free(rows);
                rows = NULL;
                break;
            }
            rows = bigger;
        }
        rows[n++] = (train_epoch){v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]};
    }
    free(text);
    if (!rows)
        return vt_fail(err, VT_EIO, "%s: out of memory", path);
    if (rc) {
        free(rows);
        return rc;
    }
    run->history = rows;
    run->n_history = n;
    run->parts |= RUN_PART_HISTORY;
    return VT_OK;
}

static int read_progress(const char *dir, run_data *run, vt_err *err)
{
    char path[4200], *text;
    int rc = read_optional(dir, RUN_PROGRESS, path, sizeof path, &text, err);
    if (rc || !text)
        return rc;
    cJSON *o = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return vt_fail(err, VT_EUSAGE, "%s: not a JSON object (truncated or edited?)", path);
    }
    run_progress *p = &run->progress;
    memset(p, 0, sizeof *p);
    cJSON *state = cJSON_GetObjectItemCaseSensitive(o, "state");
    if (!cJSON_IsString(state) || state_from_name(state->valuestring, &p->state) != 0) {
        cJSON_Delete(o);
        return vt_fail(err, VT_EUSAGE, "%s: \"state\" is missing or not a known state", path);
    }
    /* Every number with the range it can have, checked before it reaches arithmetic or formatting (a
     * progress.json edited to hold 1e300 must not overflow a renderer). */
    const double big = 1e15, forever = 1e10; /* counts; seconds (300 years) */
    struct {
        const char *key;
        double *d;
        long *l;
        int *i;
        double lo, hi;
    } nums[] = {
        {"epoch", NULL, NULL, &p->epoch, 0, TRAIN_MAX_EPOCHS},
        {"epochs", NULL, NULL, &p->epochs, 0, TRAIN_MAX_EPOCHS},
        {"epochs_done", NULL, NULL, &p->epochs_done, 0, TRAIN_MAX_EPOCHS},
        {"batch", NULL, &p->batch, NULL, 0, big},
        {"batches", NULL, &p->batches, NULL, 0, big},
        {"samples", NULL, &p->samples, NULL, 0, big},
        {"loss", &p->loss, NULL, NULL, 0, 1e30},
        {"acc", &p->acc, NULL, NULL, 0, 1},
        {"mse", &p->mse, NULL, NULL, 0, 1e30},
        {"img_per_s", &p->img_per_s, NULL, NULL, 0, 1e12},
        {"ms_per_step", &p->ms_per_step, NULL, NULL, 0, forever},
        {"elapsed", &p->elapsed, NULL, NULL, 0, forever},
        {"eta", &p->eta, NULL, NULL, 0, forever},
        {"lr", &p->lr, NULL, NULL, 0, 10},
        {"pid", NULL, &p->pid, NULL, 0, 4194304}, /* Linux's PID_MAX_LIMIT */
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(o, nums[i].key);
        if (!cJSON_IsNumber(v)) {
            cJSON_Delete(o);
            return vt_fail(err, VT_EUSAGE, "%s: \"%s\" is missing or not a number", path, nums[i].key);
        }
        double x = v->valuedouble;
        if (!(x >= nums[i].lo && x <= nums[i].hi) || (!nums[i].d && x != floor(x))) {
            cJSON_Delete(o);
            return vt_fail(err, VT_EUSAGE, "%s: \"%s\" is %g, not %s in %g..%g", path, nums[i].key, x,
                           nums[i].d ? "a number" : "a whole number", nums[i].lo, nums[i].hi);
        }
        if (nums[i].d)
            *nums[i].d = x;
        else if (nums[i].l)
            *nums[i].l = (long)x;
        else
            *nums[i].i = (int)x;
    }
    cJSON *eta_run = cJSON_GetObjectItemCaseSensitive(o, "eta_run"); /* optional: later than the rest */
    p->eta_run = cJSON_IsNumber(eta_run) && eta_run->valuedouble >= 0 && eta_run->valuedouble <= forever
                     ? eta_run->valuedouble
                     : p->eta;
    /* Optional too (written since the evaluation progress and the command channel came). */
    cJSON *v;
    p->top5 = NAN;
    if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(o, "top5")) && v->valuedouble >= 0 && v->valuedouble <= 1)
        p->top5 = v->valuedouble;
    p->ranks = 1;
    if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(o, "ranks")) && v->valuedouble >= 1 &&
        v->valuedouble <= 1 << 20 && v->valuedouble == floor(v->valuedouble))
        p->ranks = (int)v->valuedouble;
    if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(o, "eval_batch")) && v->valuedouble >= 0 &&
        v->valuedouble < 1e15)
        p->eval_batch = (long)v->valuedouble;
    if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(o, "eval_batches")) && v->valuedouble >= 0 &&
        v->valuedouble < 1e15)
        p->eval_batches = (long)v->valuedouble;
    if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(o, "eval_eta")) && v->valuedouble >= 0 &&
        v->valuedouble <= forever)
        p->eval_eta = v->valuedouble;
    if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(o, "command_ack")) && v->valuedouble >= 0 &&
        v->valuedouble < 1e15)
        p->command_ack = (long)v->valuedouble;
    cJSON *msg = cJSON_GetObjectItemCaseSensitive(o, "message");
    if (cJSON_IsString(msg))
        snprintf(p->message, sizeof p->message, "%s", msg->valuestring);
    cJSON *upd = cJSON_GetObjectItemCaseSensitive(o, "updated");
    if (cJSON_IsString(upd))
        snprintf(p->updated, sizeof p->updated, "%s", upd->valuestring);
    /* Shown as they are, so nothing in them may drive the terminal. */
    vt_scrub_text(p->message);
    vt_scrub_text(p->updated);
    cJSON_Delete(o);
    run->parts |= RUN_PART_PROGRESS;
    return VT_OK;
}

/* predictions.json: absent (runs made before it) is an unknown epoch. */
static int read_pred_epoch(const char *dir, run_data *run, vt_err *err)
{
    char path[4200], *text;
    run->pred_epoch = -1;
    run->pred_batch = 0;
    int rc = read_optional(dir, RUN_PRED_EPOCH, path, sizeof path, &text, err);
    if (rc || !text)
        return rc;
    cJSON *o = cJSON_Parse(text), *e = cJSON_GetObjectItemCaseSensitive(o, "epoch"),
          *b = cJSON_GetObjectItemCaseSensitive(o, "batch");
    free(text);
    int ok = cJSON_IsNumber(e) && cJSON_IsNumber(b) && e->valuedouble >= -1 && e->valuedouble <= TRAIN_MAX_EPOCHS &&
             e->valuedouble == (int)e->valuedouble && b->valuedouble >= 0 && b->valuedouble < 1e15 &&
             b->valuedouble == (long)b->valuedouble;
    if (ok) {
        run->pred_epoch = (int)e->valuedouble;
        run->pred_batch = (long)b->valuedouble;
    }
    cJSON_Delete(o);
    return ok ? VT_OK : vt_fail(err, VT_EUSAGE, "%s: not {\"epoch\": N, \"batch\": B} (truncated or edited?)", path);
}

static int read_predictions(const char *dir, run_data *run, vt_err *err)
{
    char path[4200], *text;
    int rc = read_optional(dir, RUN_PREDICTIONS, path, sizeof path, &text, err);
    if (rc || !text)
        return rc;
    char *cursor = text, *line = next_line(&cursor);
    /* The header names the classes: index,true,pred,p0,...,p{C-1}. */
    int C = 0;
    if (line && strncmp(line, "index,true,pred", 15) == 0) {
        const char *p = line + 15;
        while (*p == ',' && C <= VT_MAX_CLASSES) {
            char want[24];
            int len = snprintf(want, sizeof want, ",p%d", C);
            if (strncmp(p, want, (size_t)len) != 0 || (p[len] != ',' && p[len] != '\0'))
                break;
            p += len;
            C++;
        }
        if (*p)
            C = 0;
    }
    if (C < 1 || C > VT_MAX_CLASSES) {
        free(text);
        return vt_fail(err, VT_EUSAGE, "%s: line 1: expected the header index,true,pred,p0,... with 1 to %d classes",
                       path, VT_MAX_CLASSES);
    }
    /* Rows: count the lines first so the arrays are allocated once. */
    long cap = 0;
    for (const char *s = cursor; *s; s++)
        cap += *s == '\n';
    cap += 1;
    int *yt = malloc(sizeof(int) * (size_t)cap), *yp = malloc(sizeof(int) * (size_t)cap);
    float *probs = malloc(sizeof(float) * (size_t)cap * (size_t)C);
    if (!yt || !yp || !probs) {
        free(yt);
        free(yp);
        free(probs);
        free(text);
        return vt_fail(err, VT_EIO, "%s: out of memory", path);
    }
    long n = 0;
    int lineno = 1;
    while (!rc && (line = next_line(&cursor))) {
        lineno++;
        if (!*line)
            continue;
        /* errno is not asked: the ranges catch an overflow, and a subnormal probability (ERANGE from strtof)
         * is one the softmax gave. */
        char *p = line, *end;
        long idx = strtol(p, &end, 10);
        int ok = end != p && *end == ',' && idx == n;
        long t = ok ? strtol(p = end + 1, &end, 10) : -1;
        ok = ok && end != p && *end == ',' && t >= 0 && t < C;
        long pr = ok ? strtol(p = end + 1, &end, 10) : -1;
        ok = ok && end != p && pr >= 0 && pr < C;
        for (int c = 0; ok && c < C; c++) {
            ok = *end == ',';
            p = end + 1;
            float v = strtof(p, &end);
            ok = ok && end != p && v >= 0.0f && v <= 1.0f;
            probs[(size_t)n * (size_t)C + (size_t)c] = v;
        }
        if (!ok || *end) {
            rc = vt_fail(err, VT_EUSAGE, "%s: line %d: expected %ld,true,pred and %d probabilities in [0, 1]", path,
                         lineno, n, C);
            break;
        }
        yt[n] = (int)t;
        yp[n] = (int)pr;
        n++;
    }
    free(text);
    if (rc) {
        free(yt);
        free(yp);
        free(probs);
        return rc;
    }
    run->y_true = yt;
    run->y_pred = yp;
    run->probs = probs;
    run->n_pred = n;
    run->pred_classes = C;
    run->parts |= RUN_PART_PREDICTIONS;
    return read_pred_epoch(dir, run, err);
}

int run_load(const char *dir, int parts, run_data *out, vt_err *err)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(dir, &st) != 0)
        return vt_fail(err, VT_EUSAGE, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return vt_fail(err, VT_EUSAGE, "%s: not a directory", dir);
    if (strlen(dir) >= sizeof out->dir)
        return vt_fail(err, VT_EUSAGE, "%s: path too long", dir);
    strcpy(out->dir, dir);
    char path[4200];
    int rc = run_path(path, sizeof path, dir, RUN_CHECKPOINT, err);
    if (rc)
        return rc;
    /* Present is what lstat sees: an unreadable or odd checkpoint.bin is reported as what it is when it is
     * read, not taken for "no checkpoint yet". */
    struct stat ck;
    out->has_checkpoint = lstat(path, &ck) == 0;
    if ((parts & RUN_PART_CONFIG) && !(rc = run_path(path, sizeof path, dir, RUN_CONFIG, err)) &&
        access(path, F_OK) == 0) {
        rc = run_read_config(dir, out, err);
        if (!rc)
            out->parts |= RUN_PART_CONFIG;
    }
    if (!rc && (parts & RUN_PART_HISTORY))
        rc = read_history(dir, out, err);
    if (!rc && (parts & RUN_PART_PROGRESS))
        rc = read_progress(dir, out, err);
    if (!rc && (parts & RUN_PART_PREDICTIONS))
        rc = read_predictions(dir, out, err);
    if (rc)
        return rc;
    /* Predictions must agree with the config's class count (an edited or foreign file otherwise). */
    if ((out->parts & RUN_PART_CONFIG) && (out->parts & RUN_PART_PREDICTIONS) && out->pred_classes != out->classes)
        return vt_fail(err, VT_EUSAGE, "%s/%s: %d classes, but %s says %d", dir, RUN_PREDICTIONS, out->pred_classes,
                       RUN_CONFIG, out->classes);
    /* A file cut at a line end parses cleanly: only the test-set size in config.json catches it. */
    if ((out->parts & RUN_PART_CONFIG) && (out->parts & RUN_PART_PREDICTIONS) && out->n_test > 0 &&
        out->n_pred != out->n_test)
        return vt_fail(err, VT_EUSAGE, "%s/%s: %ld rows, but %s says %ld test images (truncated? vggtop evaluate %s "
                       "writes it again)", dir, RUN_PREDICTIONS, out->n_pred, RUN_CONFIG, out->n_test, dir);
    if (!out->parts && !out->has_checkpoint)
        return vt_fail(err, VT_EUSAGE, "%s: no %s, %s or %s here: not a run directory", dir, RUN_CONFIG, RUN_HISTORY,
                       RUN_PROGRESS);
    return VT_OK;
}

void run_free(run_data *run)
{
    if (!run)
        return;
    if (run->class_names)
        for (int i = 0; i < run->classes; i++)
            free(run->class_names[i]);
    free(run->class_names);
    if (run->coarse_names)
        for (int i = 0; i < run->coarse_classes; i++)
            free(run->coarse_names[i]);
    free(run->coarse_names);
    free(run->fine_to_coarse);
    free(run->history);
    free(run->y_true);
    free(run->y_pred);
    free(run->probs);
    memset(run, 0, sizeof *run);
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const run_entry *)a)->name, ((const run_entry *)b)->name);
}

int run_list(const char *runs_dir, run_entry **entries, int *n, vt_err *err)
{
    *entries = NULL;
    *n = 0;
    DIR *d = opendir(runs_dir);
    if (!d) {
        if (errno == ENOENT)
            return VT_OK;
        return vt_fail(err, VT_EUSAGE, "%s: %s", runs_dir, strerror(errno));
    }
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof((run_entry *)0)->name)
            continue;
        char path[4096], cfgpath[4200];
        if (snprintf(path, sizeof path, "%s/%s", runs_dir, e->d_name) >= (int)sizeof path)
            continue;
        snprintf(cfgpath, sizeof cfgpath, "%s/%s", path, RUN_CONFIG);
        if (access(cfgpath, F_OK) != 0)
            continue;
        run_data run;
        vt_err why;
        vt_err_clear(&why);
        /* A damaged run is listed as damaged (model "?", the reason in damage) and nothing else is read from
         * it, so one bad folder never stops the others from showing. */
        int bad = run_load(path, RUN_PART_CONFIG | RUN_PART_HISTORY, &run, &why);
        if (*n == cap) {
            run_entry *bigger = realloc(*entries, sizeof **entries * (size_t)(cap = cap ? cap * 2 : 16));
            if (!bigger) {
                run_free(&run);
                closedir(d);
                free(*entries);
                *entries = NULL;
                *n = 0;
                return vt_fail(err, VT_EIO, "%s: out of memory listing runs", runs_dir);
            }
            *entries = bigger;
        }
        run_entry *r = &(*entries)[(*n)++];
        memset(r, 0, sizeof *r);
        strcpy(r->name, e->d_name);
        strcpy(r->path, path);
        snprintf(r->model, sizeof r->model, "%s", (run.parts & RUN_PART_CONFIG) && !bad ? run.config.model : "?");
        snprintf(r->dataset, sizeof r->dataset, "%s", bad ? "" : run.dataset);
        if (bad)
            snprintf(r->damage, sizeof r->damage, "%s", why.msg);
        r->epochs = run.config.epochs;
        r->epochs_done = run.n_history;
        r->has_checkpoint = run.has_checkpoint;
        r->best_val_acc = r->last_val_acc = r->last_val_loss = NAN;
        r->seconds = 0;
        for (int i = 0; i < run.n_history; i++) {
            if (isnan(r->best_val_acc) || run.history[i].val_acc > r->best_val_acc)
                r->best_val_acc = run.history[i].val_acc;
            r->seconds += run.history[i].seconds;
        }
        if (run.n_history) {
            r->last_val_acc = run.history[run.n_history - 1].val_acc;
            r->last_val_loss = run.history[run.n_history - 1].val_loss;
        }
        run_free(&run);
    }
    closedir(d);
    if (*n > 1)
        qsort(*entries, (size_t)*n, sizeof **entries, entry_cmp);
    return VT_OK;
}

/* One per_class.csv row: scores in 0..1 and a support of at most RUN_MAX_SUPPORT images. */
static int parse_class_row(const char *line, void *row, char *why, size_t size)
{
    run_class_row r;
    const char *p = line;
    long epoch, cls;
    if (!run_field_whole(&p, 0, "the epoch", 1, TRAIN_MAX_EPOCHS, &epoch, why, size) ||
        !run_field_whole(&p, 0, "the class", 0, VT_MAX_CLASSES - 1, &cls, why, size) ||
        !run_field_number(&p, 0, "precision", 0, 1, 0, &r.precision, why, size) ||
        !run_field_number(&p, 0, "recall", 0, 1, 0, &r.recall, why, size) ||
        !run_field_number(&p, 0, "f1", 0, 1, 0, &r.f1, why, size) ||
        !run_field_whole(&p, 1, "support", 0, RUN_MAX_SUPPORT, &r.support, why, size))
        return 0;
    r.epoch = (int)epoch;
    r.cls = (int)cls;
    *(run_class_row *)row = r;
    return 1;
}

static const rows_kind per_class_rows = {RUN_PER_CLASS, PER_CLASS_HEADER, sizeof(run_class_row), VT_MAX_CLASSES,
                                         parse_class_row};

/* An epoch's report sums its classes' supports: each class once (at most VT_MAX_CLASSES of RUN_MAX_SUPPORT). */
int run_read_per_class(const char *dir, run_class_row **rows, long *n, vt_err *err)
{
    void *out;
    int rc = run_read_rows(dir, &per_class_rows, &out, n, err);
    *rows = out;
    unsigned char *seen = rc ? NULL : calloc((size_t)(TRAIN_MAX_EPOCHS + 1) * VT_MAX_CLASSES / 8 + 1, 1);
    if (!rc && !seen)
        rc = vt_fail(err, VT_EIO, "%s/%s: out of memory", dir, RUN_PER_CLASS);
    for (long i = 0; !rc && i < *n; i++) {
        size_t bit = (size_t)(*rows)[i].epoch * VT_MAX_CLASSES + (size_t)(*rows)[i].cls;
        if (seen[bit / 8] & (1u << (bit % 8)))
            rc = vt_fail(err, VT_EUSAGE, "%s/%s: epoch %d has class %d twice", dir, RUN_PER_CLASS, (*rows)[i].epoch,
                         (*rows)[i].cls);
        seen[bit / 8] |= (unsigned char)(1u << (bit % 8));
    }
    free(seen);
    if (rc) {
        free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

int run_is_dead(const run_data *run, char *msg, size_t size)
{
    const run_progress *p = &run->progress;
    if (!(run->parts & RUN_PART_PROGRESS) || p->state == TRAIN_STOPPED || p->state == TRAIN_FINISHED ||
        p->state == TRAIN_FAILED || p->state == TRAIN_IDLE || run_live_pid(run->dir) != 0)
        return 0;
    if (run->has_checkpoint)
        snprintf(msg, size, "its process %ld is gone: vggtop train --resume %.400s", p->pid, run->dir);
    else /* killed before its first checkpoint: nothing to resume from */
        snprintf(msg, size, "its process %ld is gone before writing a checkpoint; start the run again", p->pid);
    return 1;
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
                       long long params, const char *created, const run_ranks *ranks, vt_err *err)
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
    /* Every setting at its key of the settings table (model, data.*, training.*), then what the run found. */
    if (train_settings_to_json(cfg, root) != 0) {
        cJSON_Delete(root);
        return vt_fail(err, VT_EIO, "%s: out of memory", path);
    }
    int shape[3] = {mc->height, mc->width, mc->channels};
    cJSON_AddItemToObject(root, "input_shape", cJSON_CreateIntArray(shape, 3));
    cJSON_AddNumberToObject(root, "classes", mc->classes);
    cJSON_AddNumberToObject(root, "params", (double)params);

    cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    cJSON_AddStringToObject(data, "name", ds->name);
    cJSON_AddStringToObject(data, "path", ds->path);
    int orig[2] = {ds->orig_height, ds->orig_width};
    cJSON_AddItemToObject(data, "native_size", cJSON_CreateIntArray(orig, 2));
    cJSON_AddNumberToObject(data, "n_train", (double)ds->n_train);
    cJSON_AddNumberToObject(data, "n_test", (double)ds->n_test);
    cJSON_AddItemToObject(data, "class_names", string_array(ds->class_names, ds->classes));
    if (ds->coarse_classes > 0 && ds->coarse_names && ds->fine_to_coarse && !cfg->coarse) {
        cJSON_AddItemToObject(data, "coarse_names", string_array(ds->coarse_names, ds->coarse_classes));
        cJSON_AddItemToObject(data, "fine_to_coarse", cJSON_CreateIntArray(ds->fine_to_coarse, ds->classes));
    }
    cJSON *opt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "training"), "optimizer");
    cJSON_AddStringToObject(opt, "name", "SGD");
    if (ranks) {
        cJSON *dist = cJSON_AddObjectToObject(root, "distributed");
        cJSON_AddNumberToObject(dist, "ranks", ranks->n);
        cJSON *hosts = cJSON_AddArrayToObject(dist, "hosts");
        for (int r = 0; r < ranks->n; r++)
            cJSON_AddItemToArray(hosts, cJSON_CreateString(ranks->hosts[r]));
        cJSON_AddItemToObject(dist, "threads_per_rank", cJSON_CreateIntArray(ranks->threads, ranks->n));
    }

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

/* Parses config.json into run (the config and the data set's description). */
int run_read_config(const char *dir, run_data *run, vt_err *err)
{
    char path[4200];
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
    cJSON *shape = jget(&c, root, "input_shape", cJSON_IsArray, "[height, width, channels]");
    if (shape) {
        if (cJSON_GetArraySize(shape) != 3)
            c.rc = vt_fail(err, VT_EUSAGE, "%s: \"input_shape\" must have 3 numbers", path);
        else {
            int dims[3];
            for (int i = 0; i < 3; i++) {
                cJSON *d = cJSON_GetArrayItem(shape, i);
                double v = cJSON_IsNumber(d) ? d->valuedouble : 0;
                dims[i] = v >= 1 && v <= 4096 ? (int)v : 0;
                if (dims[i] < 1 || dims[i] > 4096)
                    c.rc = vt_fail(err, VT_EUSAGE, "%s: \"input_shape\" holds a bad size", path);
            }
            run->height = dims[0];
            run->width = dims[1];
            run->channels = dims[2];
        }
    }
    run->classes = (int)jnum(&c, root, "classes", 1, VT_MAX_CLASSES);
    run->params = (long long)jnum(&c, root, "params", 0, 1e13);

    cJSON *data = jget(&c, root, "data", cJSON_IsObject, "an object");
    jcopy(&c, run->dataset, sizeof run->dataset, jstr(&c, data, "name"), "data.name");
    jcopy(&c, run->dataset_path, sizeof run->dataset_path, jstr(&c, data, "path"), "data.path");
    run->n_train = (long)jnum(&c, data, "n_train", 0, 1e10);
    run->n_test = (long)jnum(&c, data, "n_test", 0, 1e10);
    if (!c.rc)
        run->class_names = jnames(&c, data, "class_names", run->classes);
    if (!c.rc && data && cJSON_GetObjectItemCaseSensitive(data, "coarse_names")) {
        cJSON *names = cJSON_GetObjectItemCaseSensitive(data, "coarse_names");
        int k = cJSON_IsArray(names) ? cJSON_GetArraySize(names) : 0;
        if (k < 1 || k > VT_MAX_CLASSES)
            c.rc = vt_fail(err, VT_EUSAGE, "%s: \"coarse_names\" is not an array of 1 to %d names", path,
                           VT_MAX_CLASSES);
        else if ((run->coarse_names = jnames(&c, data, "coarse_names", k)))
            run->coarse_classes = k; /* so that a failure below frees every name */
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
                double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
                int x = d >= 0 && d < k && d == floor(d) ? (int)d : -1;
                if (x < 0)
                    c.rc = vt_fail(err, VT_EUSAGE, "%s: \"fine_to_coarse\"[%d] is not a superclass 0..%d", path, i,
                                   k - 1);
                else
                    run->fine_to_coarse[i] = x;
            }
            if (!c.rc)
                run->coarse_classes = k;
        }
    }

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

