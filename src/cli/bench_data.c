/* cli/bench_data: the parts of `vggtop bench` that do not train (src/cli/bench.c has the rest): the data
 * pipeline on the data set vggtop train would use, and the metrics on random probabilities. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_internal.h"
#include "vggtop/data.h"
#include "vggtop/metrics.h"

/* Metrics workload: random probabilities for this many samples and classes, timed this many times. */
enum { METRICS_N = 10000, METRICS_C = 100, METRICS_REPS = 3 };
/* Images batched when timing data_fill_batch (at most: fewer when the training set is smaller). */
enum { DATA_BATCH_IMAGES = 20000 };

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
int bench_data(const bench_opts *o, int side, vt_err *err)
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

int bench_metrics(vt_err *err)
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
        double med = bench_median(secs[s], METRICS_REPS);
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
