/* vggtop bench: how fast this machine trains and evaluates, in one run.
 *
 * 1. the reference: cblas_sgemm GFLOP/s on a large square product (what the BLAS can do here);
 * 2. per model, on random inputs: training img/s (forward + backward + SGD step), inference img/s, the
 *    achieved GFLOP/s (model_flops_per_image, a multiply-add = 2 FLOPs, training = 3x forward) and that as
 *    a share of the sgemm reference, and the peak resident memory while the model ran;
 * 3. the data pipeline on the data set `vggtop train` would use: load, load + bicubic resize, and batch
 *    assembly (data_fill_batch);
 * 4. the metrics: confusion matrix, classification report and every ROC curve on 10,000 x 100 random
 *    probabilities.
 * Every rate is a median over repeated timings, so a brief stall on a shared machine does not move it. */
#include <cblas.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vggtop/cli.h"
#include "vggtop/data.h"
#include "vggtop/metrics.h"
#include "vggtop/nn.h"
#include "vggtop/train.h"
#include "vggtop/util.h"

/* The parts of a bench run, for --skip. */
enum { PART_SGEMM = 1, PART_MODELS = 2, PART_DATA = 4, PART_METRICS = 8 };

typedef struct bench_opts {
    const char *model; /* one model name, or NULL for all of them */
    int batch;
    int steps;  /* timed steps per model; 0: each model's default (default_steps) */
    int warmup; /* untimed steps before them */
    int threads; /* OpenBLAS threads; 0: as many as cores */
    const char *data; /* --data DIR, NULL: the default search */
    int skip;   /* PART_* bits */
    int layers; /* --layers: also time each layer of the models, forward and backward */
} bench_opts;

/* Side of the square sgemm reference product and how many times it is timed (after one warm-up). */
enum { SGEMM_N = 2048, SGEMM_REPS = 5 };
/* Metrics workload: random probabilities for this many samples and classes, timed this many times. */
enum { METRICS_N = 10000, METRICS_C = 100, METRICS_REPS = 3 };
/* Images batched when timing data_fill_batch (at most: fewer when the training set is smaller). */
enum { DATA_BATCH_IMAGES = 20000 };

static void usage(FILE *out)
{
    char names[128];
    model_names_join(names, sizeof names, ", ");
    fprintf(out,
            "usage: vggtop bench [--model NAME|all] [--batch-size N] [--steps N] [--warmup N] [--threads N]\n"
            "                    [--data DIR] [--skip PART[,PART...]] [--layers]\n"
            "Measures this machine: the cblas_sgemm reference, training and inference speed of each model on\n"
            "random inputs, the data pipeline and the metrics.\n\n"
            "  --model NAME|all   %s, or all (default all)\n"
            "  --batch-size N     images per step (default 32)\n"
            "  --steps N          timed steps per model (default: 5 for the VGGs, 30 cnn, 100 mlp)\n"
            "  --warmup N         untimed steps before them (default 1)\n"
            "  --threads N        OpenBLAS threads (default 0: as many as cores)\n"
            "  --data DIR         the data set for the pipeline timing (default: as vggtop train finds it)\n"
            "  --skip PARTS       leave out some of: sgemm, models, data, metrics (comma-separated)\n"
            "  --layers           also time every layer of each model, forward and backward (a profile)\n",
            names);
}

/* Default timed steps: enough for a stable median, few enough that `vggtop bench` takes about a minute. */
static int default_steps(const char *name)
{
    if (strcmp(name, "mlp") == 0)
        return 100;
    if (strcmp(name, "cnn") == 0)
        return 30;
    return 5;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n), n >= 1; sorts v. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- memory ------------------------------------------------------------------------------------------ */

/* Peak resident memory is read as VmHWM from /proc/self/status, which the kernel lets a process reset
 * (writing 5 to /proc/self/clear_refs), so each model gets its own peak. Where that is not possible the
 * fallback is getrusage's ru_maxrss: the process's peak so far, which only grows. */
static int hwm_resettable = -1;

static void peak_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    int ok = f && fputs("5", f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (hwm_resettable != 0)
        hwm_resettable = ok;
}

static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    size_t len = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            kib = strtol(line + len + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

/* Peak RSS in MiB since the last peak_reset (or since the start, see above). */
static double peak_mib(void)
{
    long kib = hwm_resettable == 1 ? status_kib("VmHWM") : -1;
    if (kib < 0) {
        struct rusage ru;
        hwm_resettable = 0;
        kib = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0; /* Linux: KiB */
    }
    return kib / 1024.0;
}

/* The 1-minute load average, -1 when unknown: a bench on a busy machine should say so. */
static double load_average(void)
{
    double l;
    return getloadavg(&l, 1) == 1 ? l : -1.0;
}

/* ---- 1. the sgemm reference --------------------------------------------------------------------------- */

/* GFLOP/s of C = A * B with n x n float matrices (2 n^3 FLOPs), median of SGEMM_REPS; -1 when out of memory. */
static double bench_sgemm(int n)
{
    size_t nn = (size_t)n * n;
    float *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    double gflops = -1;
    if (a && b && c) {
        vt_rng rng;
        vt_rng_seed(&rng, 7);
        for (size_t i = 0; i < nn; i++) {
            a[i] = (float)vt_rng_uniform(&rng) - 0.5f;
            b[i] = (float)vt_rng_uniform(&rng) - 0.5f;
        }
        double t[SGEMM_REPS];
        for (int r = -1; r < SGEMM_REPS; r++) { /* r == -1: warm-up (thread start, page faults) */
            double t0 = vt_now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            if (r >= 0)
                t[r] = vt_now() - t0;
        }
        gflops = 2.0 * n * n * (double)n / median(t, SGEMM_REPS) / 1e9;
    }
    free(a);
    free(b);
    free(c);
    return gflops;
}

/* ---- 2. the models ----------------------------------------------------------------------------------- */

typedef struct model_result {
    model_config cfg;
    long long params;
    double flops;     /* forward FLOPs per image */
    int steps;
    double train_ips, infer_ips; /* images per second, medians */
    double peak_mib;
} model_result;

/* Times one model on random inputs; returns a vt code with err filled. */
static int bench_model(const char *name, const bench_opts *o, model_result *res, vt_err *err)
{
    memset(res, 0, sizeof *res);
    int rc = model_config_default(&res->cfg, name, err);
    if (rc != VT_OK)
        return rc;
    const model_config *cfg = &res->cfg;
    res->steps = o->steps > 0 ? o->steps : default_steps(name);
    res->flops = model_flops_per_image(cfg);

    peak_reset();
    size_t per_image = (size_t)cfg->height * cfg->width * cfg->channels;
    float *x = malloc((size_t)o->batch * per_image * sizeof *x);
    float *probs = malloc((size_t)o->batch * cfg->classes * sizeof *probs);
    int *y = malloc((size_t)o->batch * sizeof *y);
    double *t = malloc((size_t)res->steps * sizeof *t);
    model *m = NULL;
    if (!x || !probs || !y || !t) {
        rc = vt_fail(err, VT_EIO, "bench: %s: out of memory for a batch of %d", name, o->batch);
        goto done;
    }
    vt_rng rng;
    vt_rng_seed(&rng, vt_seed_mix(1, (uint64_t)o->batch));
    for (size_t i = 0; i < (size_t)o->batch * per_image; i++)
        x[i] = (float)vt_rng_uniform(&rng); /* the range of x / 255 */
    for (int i = 0; i < o->batch; i++)
        y[i] = (int)vt_rng_below(&rng, (uint32_t)cfg->classes);

    if ((rc = model_create(cfg, &m, err)) != VT_OK || (rc = model_set_batch(m, o->batch, err)) != VT_OK)
        goto done;
    res->params = model_param_count(m);

    sgd_config sgd;
    sgd_config_default(&sgd);
    for (int s = -o->warmup; s < res->steps; s++) {
        step_stats st = {0};
        double t0 = vt_now();
        if ((rc = model_train_step(m, x, y, o->batch, &sgd, &st, err)) != VT_OK)
            goto done;
        if (s >= 0)
            t[s] = vt_now() - t0;
    }
    res->train_ips = o->batch / median(t, res->steps);

    for (int s = -o->warmup; s < res->steps; s++) {
        double t0 = vt_now();
        if ((rc = model_predict(m, x, o->batch, probs, err)) != VT_OK)
            goto done;
        if (s >= 0)
            t[s] = vt_now() - t0;
    }
    res->infer_ips = o->batch / median(t, res->steps);
    res->peak_mib = peak_mib();

done:
    model_destroy(m);
    free(x);
    free(probs);
    free(y);
    free(t);
    return rc;
}

static void print_model_header(void)
{
    printf("%-13s %-9s %11s %9s %5s %11s %7s %6s %11s %7s %6s %8s\n", "model", "input", "params", "GFLOP/img",
           "steps", "train_img/s", "GFLOP/s", "%sgemm", "infer_img/s", "GFLOP/s", "%sgemm", "peak_MiB");
}

static void print_model_row(const model_result *r, double sgemm)
{
    char input[32], params[32], pct_t[16] = "-", pct_i[16] = "-";
    snprintf(input, sizeof input, "%dx%dx%d", r->cfg.height, r->cfg.width, r->cfg.channels);
    vt_fmt_thousands(params, sizeof params, r->params);
    double gt = 3.0 * r->flops * r->train_ips / 1e9, gi = r->flops * r->infer_ips / 1e9;
    if (sgemm > 0) {
        snprintf(pct_t, sizeof pct_t, "%.1f", 100.0 * gt / sgemm);
        snprintf(pct_i, sizeof pct_i, "%.1f", 100.0 * gi / sgemm);
    }
    printf("%-13s %-9s %11s %9.4f %5d %11.1f %7.1f %6s %11.1f %7.1f %6s %8.1f\n", r->cfg.name, input, params,
           r->flops / 1e9, r->steps, r->train_ips, gt, pct_t, r->infer_ips, gi, pct_i, r->peak_mib);
    fflush(stdout);
}

/* ---- 2b. per-layer profile (--layers) ----------------------------------------------------------------- */

/* Each layer of the model's plan is run alone through the nn kernels that model_train_step calls with
 * Keras' default SGD (momentum 0: the backward kernels fused with the weight update) on random inputs of
 * its shapes, forward and backward, and timed; the rest of a training step (softmax and loss, batch checks)
 * is the measured step time minus the layers. */

enum { LT_CONV, LT_POOL, LT_DENSE, LT_COUNT };
static const char *const layer_type_names[LT_COUNT] = {"Conv2D", "MaxPooling2D", "Dense"};

typedef struct layer_prof {
    const layer_info *row, *in; /* the layer and the one feeding it */
    int type;                   /* LT_*, or -1 for a layer without a kernel (Flatten) */
    conv_geom g;
    int in_dim, relu, first;    /* Dense sizes; relu; first: no input gradient (as model_train_step) */
    double fwd_flops, bwd_flops; /* per batch */
    double *tf, *tb;            /* per timed step */
} layer_prof;

static size_t row_size(const layer_info *r) { return r->rank == 4 ? (size_t)r->h * r->w * r->c : (size_t)r->c; }

static void fill_uniform(float *v, size_t n, float lo, float hi, vt_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * (float)vt_rng_uniform(rng);
}

/* Each repetition runs one whole training step of the model and then every layer alone, so the shares are
 * measured under the same load even on a shared machine. */
static int bench_layers(const model_config *cfg, const bench_opts *o, int steps, vt_err *err)
{
    enum { MAX_ROWS = 64 };
    layer_info rows[MAX_ROWS];
    int nrows = model_plan(cfg, rows, MAX_ROWS, NULL, err);
    if (nrows < 0)
        return -nrows;
    if (nrows > MAX_ROWS)
        return vt_fail(err, VT_EINTERNAL, "bench: %s has %d layers, more than %d", cfg->name, nrows, MAX_ROWS);
    const int n = o->batch;
    layer_prof lp[MAX_ROWS] = {0};
    size_t max_act = 0, max_w = 0, max_col = 0, max_bias = 0;
    for (int i = 1; i < nrows; i++) {
        layer_prof *p = &lp[i];
        p->row = &rows[i];
        p->in = &rows[i - 1];
        p->type = -1;
        p->first = i == 1;
        size_t in_sz = row_size(p->in), out_sz = row_size(p->row);
        if (strcmp(p->row->type, "Conv2D") == 0) {
            p->type = LT_CONV;
            p->relu = 1;
            conv_geom_init(&p->g, n, p->in->h, p->in->w, p->in->c, p->row->c, 3, 3, 1, 1);
            double macs = (double)n * p->g.oh * p->g.ow * p->g.oc * 9.0 * p->g.c;
            p->fwd_flops = 2 * macs;
            p->bwd_flops = (p->first ? 2 : 4) * macs; /* dW, and dX unless first */
            if (conv_col_size(&p->g) > max_col)
                max_col = conv_col_size(&p->g);
            if ((size_t)9 * p->g.c * p->g.oc > max_w)
                max_w = (size_t)9 * p->g.c * p->g.oc;
        } else if (strcmp(p->row->type, "MaxPooling2D") == 0) {
            p->type = LT_POOL;
        } else if (strcmp(p->row->type, "Dense") == 0) {
            p->type = LT_DENSE;
            p->in_dim = (int)in_sz;
            p->relu = strcmp(p->row->name, "predictions") != 0;
            double macs = (double)n * p->in_dim * p->row->c;
            p->fwd_flops = 2 * macs;
            p->bwd_flops = (p->first ? 2 : 4) * macs;
            if ((size_t)p->in_dim * p->row->c > max_w)
                max_w = (size_t)p->in_dim * p->row->c;
        } else if (strcmp(p->row->type, "Flatten") != 0) {
            return vt_fail(err, VT_EINTERNAL, "bench --layers: no timing for %s layers (%s)", p->row->type,
                           p->row->name);
        }
        if (in_sz * n > max_act)
            max_act = in_sz * n;
        if (out_sz * n > max_act)
            max_act = out_sz * n;
        if ((size_t)p->row->c > max_bias)
            max_bias = (size_t)p->row->c;
    }

    int rc = VT_OK;
    model *m = NULL;
    int *y = malloc((size_t)n * sizeof *y);
    double *tstep = malloc((size_t)steps * sizeof *tstep);
    float *x = malloc(max_act * sizeof *x), *out = malloc(max_act * sizeof *out);
    float *dout = malloc(max_act * sizeof *dout), *dx = malloc(max_act * sizeof *dx);
    float *w = malloc((max_w + 1) * sizeof *w);
    float *b = calloc(max_bias + 1, sizeof *b), *db = calloc(max_bias + 1, sizeof *db);
    float *col = malloc((max_col + 1) * sizeof *col);
    double *times = calloc((size_t)2 * nrows * steps, sizeof *times);
    if (!y || !tstep || !x || !out || !dout || !dx || !w || !b || !db || !col || !times) {
        rc = vt_fail(err, VT_EIO, "bench --layers: %s: out of memory", cfg->name);
        goto done;
    }
    for (int i = 1; i < nrows; i++) {
        lp[i].tf = times + (size_t)2 * i * steps;
        lp[i].tb = lp[i].tf + steps;
    }
    vt_rng rng;
    vt_rng_seed(&rng, 5);
    fill_uniform(x, max_act, 0.0f, 1.0f, &rng);
    fill_uniform(w, max_w + 1, -0.05f, 0.05f, &rng);
    for (int i = 0; i < n; i++)
        y[i] = (int)vt_rng_below(&rng, (uint32_t)cfg->classes);
    if ((rc = model_create(cfg, &m, err)) != VT_OK || (rc = model_set_batch(m, n, err)) != VT_OK)
        goto done;
    sgd_config sgd;
    sgd_config_default(&sgd);

    for (int s = -o->warmup; s < steps; s++) {
        step_stats st = {0};
        double t0 = vt_now();
        if ((rc = model_train_step(m, x, y, n, &sgd, &st, err)) != VT_OK)
            goto done;
        if (s >= 0)
            tstep[s] = vt_now() - t0;
        for (int i = 1; i < nrows; i++) { /* forward, input to output */
            layer_prof *p = &lp[i];
            double t0 = vt_now();
            if (p->type == LT_CONV)
                conv2d_forward(out, col, x, w, b, &p->g, p->relu);
            else if (p->type == LT_POOL)
                maxpool2d_forward(out, x, n, p->in->h, p->in->w, p->in->c, 2, 2);
            else if (p->type == LT_DENSE)
                dense_forward(out, x, w, b, n, p->in_dim, p->row->c, p->relu);
            if (s >= 0)
                p->tf[s] = vt_now() - t0;
        }
        for (int i = nrows - 1; i >= 1; i--) { /* backward, output to input */
            layer_prof *p = &lp[i];
            fill_uniform(dout, row_size(p->row) * n, -1e-3f, 1e-3f, &rng);
            float *target = p->first ? NULL : dx;
            double t0 = vt_now();
            if (p->type == LT_CONV)
                conv2d_backward_sgd(target, w, b, db, col, dout, out, x, &p->g, p->relu, sgd.lr, 1.0f);
            else if (p->type == LT_POOL)
                maxpool2d_backward(dx, dout, x, n, p->in->h, p->in->w, p->in->c, 2, 2);
            else if (p->type == LT_DENSE)
                dense_backward_sgd(target, w, b, db, dout, out, x, n, p->in_dim, p->row->c, p->relu, sgd.lr, 1.0f);
            if (s >= 0)
                p->tb[s] = vt_now() - t0;
        }
    }

    double step_secs = median(tstep, steps);
    printf("\nlayers of %s, batch %d: milliseconds per batch, median of %d; GFLOP/s of the layer's sgemms\n",
           cfg->name, n, steps);
    printf("  %-14s %-13s %-15s %9s %9s %8s %8s %7s\n", "layer", "type", "output", "fwd_ms", "bwd_ms", "fwd_GF/s",
           "bwd_GF/s", "%step");
    double by_type[LT_COUNT][2] = {{0}}, sum = 0;
    for (int i = 1; i < nrows; i++) {
        layer_prof *p = &lp[i];
        if (p->type < 0)
            continue;
        double f = median(p->tf, steps), bk = median(p->tb, steps);
        by_type[p->type][0] += f;
        by_type[p->type][1] += bk;
        sum += f + bk;
        char shape[48], gf[16] = "-", gb[16] = "-";
        if (p->row->rank == 4)
            snprintf(shape, sizeof shape, "(%d,%d,%d)", p->row->h, p->row->w, p->row->c);
        else
            snprintf(shape, sizeof shape, "(%d)", p->row->c);
        if (p->fwd_flops > 0) {
            snprintf(gf, sizeof gf, "%.1f", p->fwd_flops / f / 1e9);
            snprintf(gb, sizeof gb, "%.1f", p->bwd_flops / bk / 1e9);
        }
        printf("  %-14s %-13s %-15s %9.2f %9.2f %8s %8s %7.1f\n", p->row->name, p->row->type, shape, 1e3 * f,
               1e3 * bk, gf, gb, 100 * (f + bk) / step_secs);
    }
    printf("  by type:\n");
    for (int t = 0; t < LT_COUNT; t++)
        if (by_type[t][0] + by_type[t][1] > 0)
            printf("  %-14s %-13s %-15s %9.2f %9.2f %8s %8s %7.1f\n", "", layer_type_names[t], "", 1e3 * by_type[t][0],
                   1e3 * by_type[t][1], "", "", 100 * (by_type[t][0] + by_type[t][1]) / step_secs);
    printf("  %-44s %9.2f %28s %7.1f\n", "layers, forward + backward", 1e3 * sum, "", 100 * sum / step_secs);
    printf("  %-44s %9.2f %28s %7.1f\n", "rest of the step (softmax, loss, checks)", 1e3 * (step_secs - sum), "",
           100 * (step_secs - sum) / step_secs);
    printf("  %-44s %9.2f\n", "training step (model_train_step, median)", 1e3 * step_secs);
    fflush(stdout);
done:
    model_destroy(m);
    free(y);
    free(tstep);
    free(x);
    free(out);
    free(dout);
    free(dx);
    free(w);
    free(b);
    free(db);
    free(col);
    free(times);
    return rc;
}

/* ---- 3. the data pipeline ---------------------------------------------------------------------------- */

/* Seconds to assemble `count` training images in batches of o->batch with preprocessing pp. */
static double time_fill(const dataset *ds, const bench_opts *o, const preprocess *pp, long count)
{
    long *order = malloc((size_t)ds->n_train * sizeof *order);
    size_t per_image = (size_t)ds->height * ds->width * ds->channels;
    float *x = malloc((size_t)o->batch * per_image * sizeof *x);
    int *y = malloc((size_t)o->batch * sizeof *y);
    double secs = -1;
    if (order && x && y) {
        vt_rng rng;
        vt_rng_seed(&rng, 3);
        data_shuffle(order, ds->n_train, 1, 0);
        double t0 = vt_now();
        for (long i = 0; i < count; i += o->batch) {
            int n = count - i < o->batch ? (int)(count - i) : o->batch;
            data_fill_batch(ds, DATA_TRAIN, order + i, n, pp, x, y);
        }
        secs = vt_now() - t0;
    }
    free(order);
    free(x);
    free(y);
    return secs;
}

static void print_stage(const char *what, double secs, double images)
{
    char rate[32] = "-";
    if (secs > 0)
        vt_fmt_thousands(rate, sizeof rate, llround(images / secs));
    printf("  %-48s %9.3f %12s\n", what, secs, rate);
}

/* The pipeline of `vggtop train`: data_open (load), data_open with the resize the models need (load +
 * bicubic resize), then data_fill_batch (normalise + batch). `side` is the largest model input benched.
 * Returns VT_OK, or the code of a data set that cannot be opened (then err says why). */
static int bench_data(const bench_opts *o, int side, vt_err *err)
{
    data_options opt = {0};
    opt.path = o->data;
    dataset *ds = NULL;
    double t0 = vt_now();
    int rc = data_open(&opt, &ds, err);
    double t_load = vt_now() - t0;
    if (rc != VT_OK)
        return rc;
    char ntr[32], nte[32];
    double images = (double)(ds->n_train + ds->n_test);
    printf("data: %s (%s) from %s: %s train + %s test images, %dx%dx%d\n", ds->name, data_source_name(ds->source),
           ds->path, vt_fmt_thousands(ntr, sizeof ntr, ds->n_train), vt_fmt_thousands(nte, sizeof nte, ds->n_test),
           ds->height, ds->width, ds->channels);
    printf("  %-48s %9s %12s\n", "stage", "seconds", "img/s");
    print_stage("load (data_open, default options)", t_load, images);
    data_destroy(ds);
    ds = NULL;

    opt.resize = side;
    t0 = vt_now();
    rc = data_open(&opt, &ds, err);
    double t_resize = vt_now() - t0;
    if (rc != VT_OK)
        return rc;
    char what[96];
    snprintf(what, sizeof what, "load + bicubic resize to %dx%d", side, side);
    print_stage(what, t_resize, images);

    long count = ds->n_train < DATA_BATCH_IMAGES ? ds->n_train : DATA_BATCH_IMAGES;
    preprocess plain = {0};
    double t_plain = time_fill(ds, o, &plain, count);
    snprintf(what, sizeof what, "batch %dx%d, x/255 (data_fill_batch)", side, side);
    print_stage(what, t_plain, (double)count);

    preprocess full = {0};
    full.standardize = 1;
    full.augment = 1;
    data_channel_stats(ds, full.mean, full.std);
    double t_full = time_fill(ds, o, &full, count);
    snprintf(what, sizeof what, "batch %dx%d, standardize + augment", side, side);
    print_stage(what, t_full, (double)count);

    /* One epoch of the whole pipeline: every image loaded and resized, the training set batched. */
    if (t_plain > 0) {
        double epoch = t_resize + t_plain * (double)ds->n_train / (double)count;
        print_stage("pipeline: load + resize + one epoch of batches", epoch, (double)ds->n_train);
    }
    if (ds->notice[0])
        printf("  note: %s\n", ds->notice);
    data_destroy(ds);
    return VT_OK;
}

/* ---- 4. the metrics ---------------------------------------------------------------------------------- */

enum { MS_CONFUSION, MS_REPORT, MS_ROC_CLASS, MS_ROC_MICRO, MS_ROC_MACRO, MS_COUNT };

/* One timed pass of the metrics on probs (n, c); secs[MS_*] gets each stage's seconds. */
static int metrics_pass(const float *probs, const int *y, long n, int c, int *pred, long *cm, roc_curve *curves,
                        double secs[MS_COUNT])
{
    double t0 = vt_now();
    metrics_argmax(probs, n, c, pred);
    metrics_confusion(y, pred, n, c, cm);
    double t1 = vt_now();
    report r;
    if (metrics_report(cm, c, 1, &r) != 0)
        return -1;
    char *text = metrics_report_text(&r, NULL, 2);
    metrics_report_free(&r);
    if (!text)
        return -1;
    free(text);
    double t2 = vt_now();
    int rc = 0;
    int made = 0;
    for (; made < c && rc == 0; made++)
        rc = metrics_roc_class(probs, y, n, c, made, &curves[made]);
    double t3 = vt_now();
    roc_curve micro = {0}, macro = {0};
    if (rc == 0)
        rc = metrics_roc_micro(probs, y, n, c, &micro);
    double t4 = vt_now();
    if (rc == 0)
        rc = metrics_roc_macro(curves, c, &macro);
    double t5 = vt_now();
    metrics_roc_free(&micro);
    metrics_roc_free(&macro);
    for (int k = 0; k < made; k++)
        metrics_roc_free(&curves[k]);
    secs[MS_CONFUSION] = t1 - t0;
    secs[MS_REPORT] = t2 - t1;
    secs[MS_ROC_CLASS] = t3 - t2;
    secs[MS_ROC_MICRO] = t4 - t3;
    secs[MS_ROC_MACRO] = t5 - t4;
    return rc;
}

static int bench_metrics(vt_err *err)
{
    const long n = METRICS_N;
    const int c = METRICS_C;
    float *probs = malloc((size_t)n * c * sizeof *probs);
    int *y = malloc((size_t)n * sizeof *y), *pred = malloc((size_t)n * sizeof *pred);
    long *cm = malloc((size_t)c * c * sizeof *cm);
    roc_curve *curves = calloc((size_t)c, sizeof *curves);
    int rc = VT_OK;
    if (!probs || !y || !pred || !cm || !curves) {
        rc = vt_fail(err, VT_EIO, "bench: out of memory for the metrics workload");
        goto done;
    }
    /* Each row: positive random scores scaled to sum to 1, like a softmax output. */
    vt_rng rng;
    vt_rng_seed(&rng, 11);
    for (long i = 0; i < n; i++) {
        double sum = 0;
        for (int k = 0; k < c; k++)
            sum += probs[i * c + k] = (float)(vt_rng_uniform(&rng) + 1e-6);
        for (int k = 0; k < c; k++)
            probs[i * c + k] = (float)(probs[i * c + k] / sum);
        y[i] = (int)vt_rng_below(&rng, (uint32_t)c);
    }
    double secs[MS_COUNT][METRICS_REPS];
    for (int r = 0; r < METRICS_REPS; r++) {
        double one[MS_COUNT];
        if (metrics_pass(probs, y, n, c, pred, cm, curves, one) != 0) {
            rc = vt_fail(err, VT_EIO, "bench: the metrics failed (out of memory)");
            goto done;
        }
        for (int s = 0; s < MS_COUNT; s++)
            secs[s][r] = one[s];
    }
    char ns[32];
    printf("metrics: %s samples x %d classes, random probabilities, median of %d\n",
           vt_fmt_thousands(ns, sizeof ns, n), c, METRICS_REPS);
    printf("  %-48s %9s\n", "stage", "seconds");
    static const char *const names[MS_COUNT] = {
        "argmax + confusion matrix", "classification report (+ text)", "ROC curves, one per class",
        "ROC micro average", "ROC macro average"};
    double total = 0;
    for (int s = 0; s < MS_COUNT; s++) {
        double med = median(secs[s], METRICS_REPS);
        total += med;
        printf("  %-48s %9.3f\n", names[s], med);
    }
    printf("  %-48s %9.3f\n", "total", total);
done:
    free(probs);
    free(y);
    free(pred);
    free(cm);
    free(curves);
    return rc;
}

/* ---- the command ------------------------------------------------------------------------------------- */

/* A whole-number flag into an int, with vt_flag_long's message; --batch-size and --threads take the rules of
 * vggtop train's settings of the same name. */
static int parse_int_flag(const char *flag, const char *arg, long lo, long hi, int *out)
{
    long v;
    vt_err err;
    if (vt_flag_long(flag, arg, lo, hi, &v, &err) != VT_OK) {
        fprintf(stderr, "vggtop bench: %s\n", err.msg);
        return VT_EUSAGE;
    }
    *out = (int)v;
    return VT_OK;
}

static int parse_setting_flag(const char *setting, const char *flag, const char *arg, int *out)
{
    double v;
    vt_err err;
    if (train_setting_parse(setting, flag, arg, &v, &err) != VT_OK) {
        fprintf(stderr, "vggtop bench: %s\n", err.msg);
        return VT_EUSAGE;
    }
    *out = (int)v;
    return VT_OK;
}

static int parse_skip(const char *arg, int *skip)
{
    static const struct { const char *name; int bit; } parts[] = {
        {"sgemm", PART_SGEMM}, {"models", PART_MODELS}, {"data", PART_DATA}, {"metrics", PART_METRICS}};
    const char *p = arg;
    while (*p) {
        size_t len = strcspn(p, ",");
        int found = 0;
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
            if (strlen(parts[i].name) == len && strncmp(p, parts[i].name, len) == 0) {
                *skip |= parts[i].bit;
                found = 1;
            }
        if (!found) {
            fprintf(stderr, "vggtop bench: --skip: unknown part '%.*s' (sgemm, models, data or metrics)\n",
                    (int)len, p);
            return VT_EUSAGE;
        }
        p += len + (p[len] == ',');
    }
    return VT_OK;
}

static int check_model_name(const char *name)
{
    for (int i = 0; model_names[i]; i++)
        if (strcmp(name, model_names[i]) == 0)
            return VT_OK;
    char list[128];
    model_names_join(list, sizeof list, ", ");
    fprintf(stderr, "vggtop bench: --model: unknown model '%s' (one of %s, all)\n", name, list);
    return VT_EUSAGE;
}

/* Parses argv into o; returns VT_OK, VT_EUSAGE after printing one line, or -1 for --help (printed). */
static int parse_args(int argc, char **argv, bench_opts *o)
{
    static const struct option longs[] = {
        {"model", required_argument, NULL, 'm'},   {"batch-size", required_argument, NULL, 'b'},
        {"steps", required_argument, NULL, 's'},   {"warmup", required_argument, NULL, 'w'},
        {"threads", required_argument, NULL, 't'}, {"data", required_argument, NULL, 'd'},
        {"skip", required_argument, NULL, 'k'},    {"layers", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->batch = 32;
    o->warmup = 1;
    opterr = 0;
    optind = 0; /* GNU: rescan from argv[1], so the command can run more than once in a process */
    int ch, rc = VT_OK;
    while (rc == VT_OK && (ch = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (ch) {
        case 'm':
            if (strcmp(optarg, "all") == 0)
                o->model = NULL;
            else if ((rc = check_model_name(optarg)) == VT_OK)
                o->model = optarg;
            break;
        case 'b': rc = parse_setting_flag("batch-size", "--batch-size", optarg, &o->batch); break;
        case 's': rc = parse_int_flag("--steps", optarg, 1, 100000, &o->steps); break;
        case 'w': rc = parse_int_flag("--warmup", optarg, 0, 100000, &o->warmup); break;
        case 't': rc = parse_setting_flag("threads", "--threads", optarg, &o->threads); break;
        case 'd': o->data = optarg; break;
        case 'k': rc = parse_skip(optarg, &o->skip); break;
        case 'l': o->layers = 1; break;
        case 'h': usage(stdout); return -1;
        case ':':
            fprintf(stderr, "vggtop bench: %s needs a value (try vggtop bench --help)\n", argv[optind - 1]);
            return VT_EUSAGE;
        default:
            fprintf(stderr, "vggtop bench: unknown option '%s' (try vggtop bench --help)\n", argv[optind - 1]);
            return VT_EUSAGE;
        }
    }
    if (rc == VT_OK && optind < argc) {
        fprintf(stderr, "vggtop bench: unexpected argument '%s' (try vggtop bench --help)\n", argv[optind]);
        return VT_EUSAGE;
    }
    return rc;
}

/* Says what went wrong and gives the exit status of its code. */
static int exit_status(const vt_err *err)
{
    fprintf(stderr, "vggtop bench: %s\n", err->msg);
    return vt_exit_status(err->code);
}

int cli_bench(int argc, char **argv)
{
    bench_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc != VT_OK)
        return rc < 0 ? 0 : 2;

    if (o.data && !(o.skip & PART_DATA)) { /* a wrong --data is a usage error: say so before measuring */
        data_options opt = {0};
        opt.path = o.data;
        char dir[4096];
        data_source source;
        vt_err err;
        if (data_locate(&opt, dir, sizeof dir, &source, &err) != VT_OK) {
            fprintf(stderr, "vggtop bench: %s\n", err.msg);
            return 2;
        }
    }
    nn_set_threads(o.threads);
    /* The kernel decides the model speeds more than anything in vggtop: say which one runs and who chose it. */
    const char *chooser = nn_blas_chooser();
    printf("vggtop bench: OpenBLAS core %s (%s), %d threads; batch %d; random inputs; medians after %d warm-up "
           "step%s\n",
           nn_blas_core(), chooser, nn_get_threads(), o.batch, o.warmup, o.warmup == 1 ? "" : "s");
    const char *better = nn_blas_suggest_core();
    if (better)
        printf("note: OpenBLAS runs its generic %s kernel, but this CPU can run %s, several times faster: "
               "unset VGGTOP_BLAS_AUTO (vggtop then picks it) or set OPENBLAS_CORETYPE=%s\n",
               nn_blas_core(), better, better);
    double load_start = load_average();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores > 0 && load_start > 0.5 * (double)cores)
        printf("note: load average %.2f on %ld cores: other processes compete for the CPUs, so the rates are "
               "lower and noisier than on an idle machine\n", load_start, cores);
    double sgemm = -1;
    if (!(o.skip & PART_SGEMM)) {
        sgemm = bench_sgemm(SGEMM_N);
        if (sgemm < 0) {
            fprintf(stderr, "vggtop bench: out of memory for the %dx%d sgemm\n", SGEMM_N, SGEMM_N);
            return 1;
        }
        printf("reference: cblas_sgemm %dx%dx%d: %.1f GFLOP/s (median of %d)\n", SGEMM_N, SGEMM_N, SGEMM_N,
               sgemm, SGEMM_REPS);
    }

    vt_err err;
    vt_err_clear(&err);
    int side = 0; /* largest model input: what the data pipeline resizes to */
    if (!(o.skip & PART_MODELS)) {
        printf("\n");
        print_model_header();
        for (int i = 0; model_names[i]; i++) {
            if (o.model && strcmp(o.model, model_names[i]) != 0)
                continue;
            model_result res;
            if (bench_model(model_names[i], &o, &res, &err) != VT_OK)
                return exit_status(&err);
            print_model_row(&res, sgemm);
            if (o.layers && bench_layers(&res.cfg, &o, res.steps, &err) != VT_OK)
                return exit_status(&err);
            if (res.cfg.height > side)
                side = res.cfg.height;
        }
        printf("GFLOP/s: model_flops_per_image x img/s (a multiply-add = 2 FLOPs, training = 3x forward); "
               "%%sgemm: share of the reference.\n");
        printf("peak_MiB: %s\n\n",
               hwm_resettable == 1
                   ? "the process's VmHWM (/proc/self/status) while the model ran, reset before each model"
                   : "getrusage ru_maxrss, the process's peak so far (not per model: no /proc/self/clear_refs)");
    }

    if (!(o.skip & PART_DATA)) {
        if (side == 0) { /* models skipped: resize for the models that were asked for */
            for (int i = 0; model_names[i]; i++) {
                model_config cfg;
                if ((!o.model || strcmp(o.model, model_names[i]) == 0) &&
                    model_config_default(&cfg, model_names[i], NULL) == VT_OK && cfg.height > side)
                    side = cfg.height;
            }
        }
        if (bench_data(&o, side, &err) != VT_OK) {
            if (o.data) /* the set asked for by name is broken: a data error */
                return exit_status(&err);
            /* No data set found is not a failure of the bench: say why, measure the rest. */
            printf("data: not measured: %s\n", err.msg);
            vt_err_clear(&err);
        }
        printf("\n");
    }

    if (!(o.skip & PART_METRICS) && bench_metrics(&err) != VT_OK)
        return exit_status(&err);
    printf("load average: %.2f at the start, %.2f at the end (%ld cores)\n", load_start, load_average(), cores);
    return 0;
}
