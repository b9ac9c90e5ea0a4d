/* vggtop bench: how fast this machine trains and evaluates, in one run.
 *
 * 1. the references: cblas_sgemm GFLOP/s on a large square product (what the BLAS can do here) and the FMA
 *    limit (what the cores can issue at all, bench_fma.c);
 * 2. per model, on random inputs: training img/s (forward + backward + SGD step), inference img/s, the
 *    achieved GFLOP/s (model_flops_per_image, a multiply-add = 2 FLOPs, training = 3x forward) and that as
 *    a share of the sgemm reference, and the peak resident memory while the model ran;
 * 3. the data pipeline on the data set `vggtop train` would use: load, load + bicubic resize, and batch
 *    assembly (data_fill_batch);
 * 4. the metrics: confusion matrix, classification report and every ROC curve on 10,000 x 100 random
 *    probabilities.
 * Parts 3 and 4 (what does not train) are in bench_data.c; this file has the rest and the command.
 * Every rate is a median over repeated timings, so a brief stall on a shared machine does not move it. */
#include <cblas.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench_internal.h"
#include "cli_internal.h"
#include "vggtop/data.h"
#include "vggtop/nn.h"
#include "vggtop/train.h"
#include "vggtop/util.h"

/* Side of the square sgemm reference product and how many times it is timed (after one warm-up). */
enum { SGEMM_N = 2048, SGEMM_REPS = 5 };

/* The FMA limit of this CPU at the bench's thread count (bench_fma_limit), GFLOP/s; 0 when not measured. */
static double fma_limit;

static void model_doc(char *buf, size_t size)
{
    char names[128];
    model_names_join(names, sizeof names, ", ");
    snprintf(buf, size, "%s, or all (default all)", names);
}

/* --conv is vggtop train's setting: its row's text, so the backend list is written once. */
static void conv_doc(char *buf, size_t size) { train_field_doc(train_field_find("conv"), buf, size); }
/* --precision likewise, so float32 and mixed_bfloat16 can be compared on one machine. */
static void precision_doc(char *buf, size_t size) { train_field_doc(train_field_find("precision"), buf, size); }

enum { O_MODEL = CLI_LONG_ONLY, O_BATCH, O_STEPS, O_WARMUP, O_THREADS, O_DATA, O_SKIP, O_LAYERS, O_CONV, O_PRECISION, O_DIST };

static const cli_option options[] = {
    {"model", O_MODEL, "NAME|all", NULL, NULL, model_doc},
    {"batch-size", O_BATCH, "N", "images per step (default 32)", NULL, NULL},
    {"steps", O_STEPS, "N", "timed steps per model (default: 5 for the VGGs, 30 cnn, 100 mlp)", NULL, NULL},
    {"warmup", O_WARMUP, "N", "untimed steps before them (default 1)", NULL, NULL},
    {"threads", O_THREADS, "N", "OpenBLAS, oneDNN and nn's own threads (default 0: as many as cores)", NULL, NULL},
    {"data", O_DATA, "DIR",
     "the data set for the pipeline timing (default: as vggtop train finds it); a directory that cannot be used is a "
     "usage error", NULL, NULL},
    {"skip", O_SKIP, "PARTS",
     "leave out some of: sgemm, models, data, metrics (comma-separated); without the reference the %sgemm columns "
     "show -", NULL, NULL},
    {"layers", O_LAYERS, NULL, "also time every layer of each model, forward and backward (a profile)",
     "The profile: training steps (the default SGD, whose backward passes include the weight update) timed layer by "
     "layer inside the step, on the backends the model chose: each layer's backend, forward and backward "
     "milliseconds per batch and GFLOP/s, the share of the CPU's FMA limit (%FMA: direct-convolution FLOPs, so "
     "Winograd layers can pass 100), totals per layer type, and the rest of the step (softmax, loss) as the step "
     "minus the layers. Reorders at the ends of a oneDNN chain count in the layer that does them.",
     NULL},
    {"conv", O_CONV, "BACKENDS", NULL, NULL, conv_doc},
    {"precision", O_PRECISION, "POLICY", NULL, NULL, precision_doc},
    {"dist", O_DIST, NULL,
     "also project each model's data-parallel efficiency (ring allreduce) at 8, 32 and 128 ranks on 1, 10, 25 and "
     "100 Gbit/s links from its measured step, and print the efficiency measured over emulated links and on one "
     "host where there is one",
     "The model's link share, hop latency and overlap are fitted to steps measured over emulated links (network "
     "namespaces shaped by tbf, without added latency: the test kernel has no netem); docs/SCALING.md has the runs.",
     NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

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

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- memory ------------------------------------------------------------------------------------------ */

/* Peak resident memory is read as VmHWM from /proc/self/status, which the kernel lets a process reset
 * (writing 5 to /proc/self/clear_refs), so each model gets its own peak. The reset sets it to what is
 * resident then, so the heap the models before left free goes back to the system first (malloc_trim):
 * without it, cnn after the VGGs showed 96-101 MiB, alone 78. Where the reset is not possible the fallback
 * is getrusage's ru_maxrss: the process's peak so far, which only grows. */
static int hwm_resettable = -1;

static void peak_reset(void)
{
    malloc_trim(0);
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
        gflops = 2.0 * n * n * (double)n / bench_median(t, SGEMM_REPS) / 1e9;
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
    double plan_secs; /* model_set_batch: planning, and with "auto" timing the backends per layer */
    char conv[1024];  /* the convolution backend of each Conv2D layer (model_conv_choice) */
} model_result;

static void print_model_row(const model_result *r, double sgemm);
static void print_dist_projection(const model_result *r, int batch);
static int bench_layers(model *m, const model_config *cfg, const bench_opts *o, int steps, const float *x,
                        const int *y, vt_err *err);

/* Times one model on random inputs and prints its row (and with --layers its profile); returns a vt code
 * with err filled. */
static int bench_model(const char *name, const bench_opts *o, double sgemm, model_result *res, vt_err *err)
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

    if ((rc = model_create(cfg, &m, err)) != VT_OK)
        goto done;
    if ((rc = model_set_precision(m, o->precision, err)) != VT_OK ||
        (o->conv && (rc = model_set_conv(m, o->conv, err)) != VT_OK))
        goto done;
    double t_plan = vt_now();
    if ((rc = model_set_batch(m, o->batch, err)) != VT_OK)
        goto done;
    res->plan_secs = vt_now() - t_plan;
    model_conv_choice(m, res->conv, sizeof res->conv);
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
    res->train_ips = o->batch / bench_median(t, res->steps);
    /* Untimed: the layer-health pass train makes on one batch in 200 (layers.csv), so the peak is a training
     * run's too (it once made the whole gradient block resident: 136 MB more for vgg16). */
    layer_stats health[RUN_MAX_LAYERS];
    if ((rc = model_grad_norms(m, x, y, o->batch, err)) != VT_OK)
        goto done;
    model_layer_stats(m, o->batch, health, RUN_MAX_LAYERS);

    for (int s = -o->warmup; s < res->steps; s++) {
        double t0 = vt_now();
        if ((rc = model_predict(m, x, o->batch, probs, err)) != VT_OK)
            goto done;
        if (s >= 0)
            t[s] = vt_now() - t0;
    }
    res->infer_ips = o->batch / bench_median(t, res->steps);
    res->peak_mib = peak_mib();
    print_model_row(res, sgemm);
    if (o->dist)
        print_dist_projection(res, o->batch);
    if (o->layers)
        rc = bench_layers(m, cfg, o, res->steps, x, y, err);

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
    if (r->conv[0])
        printf("  conv: %s (planned in %.2f s)\n", r->conv, r->plan_secs);
    fflush(stdout);
}

/* ---- 2a. data-parallel projection (--dist) ------------------------------------------------------------ */

/* Efficiencies measured over emulated links (tests/tools/multihost_links.sh: hosts as network namespaces on
 * one 2-core machine, cables shaped by tbf, a batch of 32 (cnn) or 8 (vgg16-nopool) per rank): the compute
 * of the same ranks on an unshaped cable over the step. docs/SCALING.md has the runs. */
static const struct {
    const char *model;
    int ranks;
    double gbit, efficiency;
} measured_dist[] = {
    {"cnn", 2, 1, 0.54},           {"cnn", 2, 10, 0.90},          {"cnn", 2, 25, 0.83},
    {"cnn", 3, 1, 0.36},           {"cnn", 3, 10, 0.72},          {"cnn", 3, 25, 0.70},
    {"vgg16-nopool", 2, 1, 0.26},  {"vgg16-nopool", 2, 10, 0.74}, {"vgg16-nopool", 2, 25, 0.75},
    {"vgg16-nopool", 3, 1, 0.17},  {"vgg16-nopool", 3, 10, 0.65}, {"vgg16-nopool", 3, 25, 0.65},
};

/* 2 ranks sharing one 2-core host (the gradients summed in shared memory), against one process of 2 threads:
 * the median of three interleaved rounds on a Zen 4 (docs/SCALING.md, "Two ranks on one host"). */
static const struct {
    const char *model;
    int ranks;
    double efficiency;
} measured_one_host[] = {{"vgg16-nopool", 2, 0.83}};

/* What `mpirun -np N vggtop train` would make of this model on a cluster: each rank computes the measured
 * step on --batch-size images (the global batch grows with N), then the gradients (params x 4 bytes) are
 * summed by ring allreduce (train_ring_seconds) at the share of the link, with the hop latency, and the
 * overlap of the backward pass that train_link_fitted has from the measurements; then the measured
 * efficiencies of this model, where there are some. */
static void print_dist_projection(const model_result *r, int batch)
{
    static const int ranks[] = {8, 32, 128};
    static const double gbits[] = {1, 10, 25, 100};
    const size_t ng = sizeof gbits / sizeof gbits[0];
    const train_link_model *fit = &train_link_fitted;
    /* the fitted link with the overlap assumed before the measurements: what hiding the allreduce would give */
    const train_link_model hidden = {fit->share, train_link_assumed.overlap, fit->hop};
    const double step = batch / r->train_ips, bytes = 4.0 * (double)r->params;
    printf("  dist: %.1f MB of gradients, %.1f ms per step of %d images per rank; ring allreduce at %.0f%% of the "
           "link and %.0f us per hop, %.0f%% of the step hiding it (fitted to emulated links); efficiency as fitted "
           "/ with %.0f%% of the step hiding it:\n",
           bytes / 1e6, 1e3 * step, batch, 100 * fit->share, 1e6 * fit->hop, 100 * fit->overlap, 100 * hidden.overlap);
    printf("  %-6s", "ranks");
    for (size_t g = 0; g < ng; g++)
        printf(" %10.0f Gbit/s", gbits[g]);
    printf("\n");
    for (size_t k = 0; k < sizeof ranks / sizeof ranks[0]; k++) {
        printf("  %-6d", ranks[k]);
        for (size_t g = 0; g < ng; g++)
            printf("   %5.1f%% / %5.1f%%", 100 * train_dist_efficiency(step, bytes, ranks[k], gbits[g], fit),
                   100 * train_dist_efficiency(step, bytes, ranks[k], gbits[g], &hidden));
        printf("\n");
    }
    for (int n = 2; n <= 3; n++) {
        int shown = 0;
        for (size_t i = 0; i < sizeof measured_dist / sizeof measured_dist[0]; i++) {
            if (strcmp(measured_dist[i].model, r->cfg.name) != 0 || measured_dist[i].ranks != n)
                continue;
            if (!shown++)
                printf("  measured, %d ranks on emulated hosts sharing 2 cores:", n);
            printf("%s %.0f Gbit/s %.0f%%", shown > 1 ? "," : "", measured_dist[i].gbit,
                   100 * measured_dist[i].efficiency);
        }
        if (shown)
            printf("\n");
    }
    for (size_t i = 0; i < sizeof measured_one_host / sizeof measured_one_host[0]; i++)
        if (strcmp(measured_one_host[i].model, r->cfg.name) == 0)
            printf("  measured, %d ranks on one 2-core host (shared memory): %.0f%% of one process of 2 threads\n",
                   measured_one_host[i].ranks, 100 * measured_one_host[i].efficiency);
    fflush(stdout);
}

/* ---- 2b. per-layer profile (--layers) ----------------------------------------------------------------- */

/* Whole training steps (model_train_step_timed, Keras' default SGD: with momentum 0 the backward passes
 * include the weight update) on random inputs, with nn timing each layer, forward and backward, on the
 * backends the model chose; the rest of the step (softmax and loss, batch checks) is the step minus the
 * layers. */

enum { LT_CONV, LT_POOL, LT_DENSE, LT_OTHER, LT_COUNT };
static const char *const layer_type_names[LT_COUNT] = {"Conv2D", "MaxPooling2D", "Dense", "other"};

static int layer_type(const char *type)
{
    return strcmp(type, "Conv2D") == 0 ? LT_CONV : strcmp(type, "MaxPooling2D") == 0 ? LT_POOL
           : strcmp(type, "Dense") == 0 ? LT_DENSE : LT_OTHER;
}

/* Multiply-adds of a layer's forward pass per image: what its GFLOP/s columns count. */
static double layer_macs(const layer_info *row, const layer_info *in)
{
    size_t in_sz = in->rank == 4 ? (size_t)in->h * in->w * in->c : (size_t)in->c;
    if (strcmp(row->type, "Conv2D") == 0)
        return (double)row->h * row->w * row->c * 9.0 * in->c;
    if (strcmp(row->type, "Dense") == 0)
        return (double)in_sz * row->c;
    return 0.0;
}

/* Layer i's row of the profile: its forward and backward medians f and bk (seconds) at batch n, their
 * rates and share of the FMA limit, and its share of the step. */
static void print_layer_row(model *m, const layer_info *rows, int i, int n, double f, double bk, double step_secs)
{
    const layer_info *r = &rows[i];
    char shape[48], gf[16] = "-", gb[16] = "-", pf[16] = "-";
    if (r->rank == 4)
        snprintf(shape, sizeof shape, "(%d,%d,%d)", r->h, r->w, r->c);
    else
        snprintf(shape, sizeof shape, "(%d)", r->c);
    double macs = layer_macs(r, &rows[i - 1]) * n;
    if (macs > 0 && f > 0 && bk > 0) {
        snprintf(gf, sizeof gf, "%.1f", 2 * macs / f / 1e9);
        snprintf(gb, sizeof gb, "%.1f", (i == 1 ? 2 : 4) * macs / bk / 1e9);
        if (fma_limit > 0) /* the layer's forward + backward FLOPs a second, as a share of the limit */
            snprintf(pf, sizeof pf, "%.1f", 100.0 * (i == 1 ? 4 : 6) * macs / (f + bk) / 1e9 / fma_limit);
    }
    const char *be = model_layer_backend(m, i);
    printf("  %-14s %-13s %-15s %-16s %9.2f %9.2f %8s %8s %6s %7.1f\n", r->name, r->type, shape, be ? be : "-",
           1e3 * f, 1e3 * bk, gf, gb, pf, 100 * (f + bk) / step_secs);
}

static int bench_layers(model *m, const model_config *cfg, const bench_opts *o, int steps, const float *x,
                        const int *y, vt_err *err)
{
    enum { MAX_ROWS = 64 };
    layer_info rows[MAX_ROWS];
    int nrows = model_plan(cfg, rows, MAX_ROWS, NULL, err);
    if (nrows < 0)
        return -nrows;
    if (nrows > MAX_ROWS)
        return vt_fail(err, VT_EINTERNAL, "bench: %s has %d layers, more than %d", cfg->name, nrows, MAX_ROWS);
    const int n = o->batch;
    double *tf = calloc((size_t)nrows * steps, sizeof *tf), *tb = calloc((size_t)nrows * steps, sizeof *tb);
    double *tstep = calloc((size_t)steps, sizeof *tstep), *col = calloc((size_t)steps, sizeof *col);
    double fwd[MAX_ROWS], bwd[MAX_ROWS];
    int rc = VT_OK;
    if (!tf || !tb || !tstep || !col) {
        rc = vt_fail(err, VT_EIO, "bench --layers: %s: out of memory", cfg->name);
        goto done;
    }
    sgd_config sgd;
    sgd_config_default(&sgd);
    for (int s = -o->warmup; s < steps; s++) {
        step_stats st = {0};
        double t0 = vt_now();
        if ((rc = model_train_step_timed(m, x, y, n, &sgd, &st, fwd, bwd, err)) != VT_OK)
            goto done;
        if (s < 0)
            continue;
        tstep[s] = vt_now() - t0;
        for (int i = 0; i < nrows; i++) {
            tf[(size_t)i * steps + s] = fwd[i];
            tb[(size_t)i * steps + s] = bwd[i];
        }
    }

    double step_secs = bench_median(tstep, steps);
    printf("\nlayers of %s, batch %d: milliseconds per batch, median of %d training steps; GFLOP/s of the "
           "layer's multiply-adds (backward: 2x forward, 1x for the first layer)\n", cfg->name, n, steps);
    printf("  %-14s %-13s %-15s %-16s %9s %9s %8s %8s %6s %7s\n", "layer", "type", "output", "backend", "fwd_ms",
           "bwd_ms", "fwd_GF/s", "bwd_GF/s", "%FMA", "%step");
    double by_type[LT_COUNT][2] = {{0}}, sum = 0;
    for (int i = 1; i < nrows; i++) {
        const layer_info *r = &rows[i];
        double f = bench_median(tf + (size_t)i * steps, steps), bk = bench_median(tb + (size_t)i * steps, steps);
        int type = layer_type(r->type);
        by_type[type][0] += f;
        by_type[type][1] += bk;
        sum += f + bk;
        print_layer_row(m, rows, i, n, f, bk, step_secs);
    }
    printf("  by type:\n");
    for (int t = 0; t < LT_COUNT; t++)
        if (by_type[t][0] + by_type[t][1] > 0)
            printf("  %-14s %-13s %-15s %-16s %9.2f %9.2f %8s %8s %6s %7.1f\n", "", layer_type_names[t], "", "",
                   1e3 * by_type[t][0], 1e3 * by_type[t][1], "", "", "",
                   100 * (by_type[t][0] + by_type[t][1]) / step_secs);
    printf("  %-61s %9.2f %35s %7.1f\n", "layers, forward + backward", 1e3 * sum, "", 100 * sum / step_secs);
    printf("  %-61s %9.2f %35s %7.1f\n", "rest of the step (softmax, loss, checks)", 1e3 * (step_secs - sum), "",
           100 * (step_secs - sum) / step_secs);
    printf("  %-61s %9.2f\n", "training step (model_train_step, median)", 1e3 * step_secs);
    if (fma_limit > 0)
        printf("  %%FMA: the layer's forward + backward FLOPs a second as a share of this CPU's FMA limit, "
               "%.0f GFLOP/s; FLOPs of the direct convolution, so Winograd layers, which do fewer, can pass 100\n",
               fma_limit);
    fflush(stdout);
done:
    free(tf);
    free(tb);
    free(tstep);
    free(col);
    return rc;
}

/* ---- the command ------------------------------------------------------------------------------------- */

static int parse_skip(const char *arg, int *skip, vt_err *err)
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
        if (!found)
            return vt_fail(err, VT_EUSAGE, "--skip: unknown part '%.*s' (sgemm, models, data or metrics)", (int)len, p);
        p += len + (p[len] == ',');
    }
    return VT_OK;
}

static int check_model_name(const char *name, vt_err *err)
{
    for (int i = 0; model_names[i]; i++)
        if (strcmp(name, model_names[i]) == 0)
            return VT_OK;
    char list[128];
    model_names_join(list, sizeof list, ", ");
    return vt_fail(err, VT_EUSAGE, "--model: unknown model '%s' (one of %s, all)", name, list);
}

static int set_option(void *ctx, int key, const char *value, vt_err *err)
{
    bench_opts *o = ctx;
    vt_err why;
    switch (key) {
    case O_MODEL:
        o->model = strcmp(value, "all") == 0 ? NULL : value;
        return o->model ? check_model_name(value, err) : VT_OK;
    case O_BATCH: return cli_flag_setting("batch-size", "--batch-size", value, &o->batch, err);
    case O_STEPS: return vt_flag_int("--steps", value, 1, 100000, &o->steps, err);
    case O_WARMUP: return vt_flag_int("--warmup", value, 0, 100000, &o->warmup, err);
    case O_THREADS: return cli_flag_setting("threads", "--threads", value, &o->threads, err);
    case O_DATA: return vt_flag_path("--data", value, &o->data, err);
    case O_SKIP: return parse_skip(value, &o->skip, err);
    case O_LAYERS: o->layers = 1; return VT_OK;
    case O_DIST: o->dist = 1; return VT_OK;
    case O_CONV:
        if (nn_conv_check(value, &why) != VT_OK)
            return vt_fail(err, VT_EUSAGE, "--conv: %s", why.msg);
        o->conv = value;
        return VT_OK;
    case O_PRECISION: {
        nn_precision p;
        int rc = nn_precision_parse(value, &p, "--precision", err);
        if (rc == VT_OK && (rc = nn_precision_check(p, err)) == VT_OK)
            o->precision = p;
        return rc;
    }
    }
    return vt_fail(err, VT_EINTERNAL, "option %d has no parser", key);
}

static int parse_args(int argc, char **argv, bench_opts *o, int *done, vt_err *err)
{
    memset(o, 0, sizeof *o);
    o->batch = 32;
    o->warmup = 1;
    int rc = cli_parse(&cli_bench_command, options, argc, argv, set_option, o, done, err);
    if (rc != VT_OK || *done)
        return rc;
    if ((rc = cli_positional(&cli_bench_command, argc, argv, 0, 0, NULL, err)) != VT_OK)
        return rc;
    if (o->skip == (PART_SGEMM | PART_MODELS | PART_DATA | PART_METRICS))
        return vt_fail(err, VT_EUSAGE, "--skip %s leaves nothing to measure", "sgemm,models,data,metrics");
    if ((o->skip & PART_MODELS) && (o->layers || o->dist))
        return vt_fail(err, VT_EUSAGE, "%s the models, which --skip models leaves out",
                       o->layers ? "--layers profiles" : "--dist projects");
    if (o->data && !(o->skip & PART_DATA)) { /* a wrong --data is a usage error: say so before measuring */
        data_options opt = {0};
        opt.path = o->data;
        char dir[VT_PATH_MAX];
        data_source source;
        if (data_locate(&opt, dir, sizeof dir, &source, err) != VT_OK)
            return VT_EUSAGE;
    }
    return VT_OK;
}

/* The first lines: the BLAS kernel (it decides the model speeds more than anything in vggtop: which one runs
 * and who chose it) and a busy machine. Returns the load average at the start. */
static double print_preamble(const bench_opts *o, long cores)
{
    printf("vggtop bench: OpenBLAS core %s (%s), %d threads; batch %d; %s; random inputs; medians after %d "
           "warm-up step%s\n",
           nn_blas_core(), nn_blas_chooser(), nn_get_threads(), o->batch, nn_precision_name(o->precision), o->warmup,
           o->warmup == 1 ? "" : "s");
    const char *better = nn_blas_suggest_core();
    if (better) {
        /* Who held the better kernel back: the user's OPENBLAS_CORETYPE, or VGGTOP_BLAS_AUTO=0. */
        const char *held = getenv("OPENBLAS_CORETYPE") ? "OPENBLAS_CORETYPE" : "VGGTOP_BLAS_AUTO";
        printf("note: OpenBLAS runs its %s kernel, but this CPU can run %s, up to twice as fast (several times "
               "against a generic kernel): unset %s (vggtop then picks it) or set OPENBLAS_CORETYPE=%s\n",
               nn_blas_core(), better, held, better);
    }
    double load = load_average();
    if (cores > 0 && load > 0.5 * (double)cores)
        printf("note: load average %.2f on %ld cores: other processes compete for the CPUs, so the rates are "
               "lower and noisier than on an idle machine\n", load, cores);
    return load;
}

/* The seed's experiment at these rates: 10 epochs of vgg16 at 48x48, each training on CIFAR-100's 50,000
 * images and evaluating its 10,000 (the data pipeline and the per-epoch metrics left out: bench's data part
 * shows they are a small share). The seed's own GPU took 171-173 s an epoch, 29 minutes. */
static void print_seed_estimate(const model_result *r, int batch)
{
    enum { EPOCHS = 10, TRAIN_IMAGES = 50000, TEST_IMAGES = 10000 };
    double train = EPOCHS * TRAIN_IMAGES / r->train_ips, val = EPOCHS * TEST_IMAGES / r->infer_ips;
    printf("the seed's experiment (10 epochs of vgg16 at 48x48, 50,000 + 10,000 images, batch %d) at these "
           "rates: %.0f min (training %.0f, validation %.0f); the seed's GPU took 29 min\n",
           batch, (train + val) / 60, train / 60, val / 60);
}

/* Every model asked for, a row each; *side gets the largest input (what the data pipeline resizes to). */
static int bench_models(const bench_opts *o, double sgemm, int *side, vt_err *err)
{
    model_result seed = {0};
    printf("\n");
    print_model_header();
    for (int i = 0; model_names[i]; i++) {
        if (o->model && strcmp(o->model, model_names[i]) != 0)
            continue;
        model_result res;
        int rc = bench_model(model_names[i], o, sgemm, &res, err);
        if (rc != VT_OK)
            return rc;
        if (strcmp(res.cfg.name, "vgg16") == 0)
            seed = res;
        if (res.cfg.height > *side)
            *side = res.cfg.height;
    }
    printf("GFLOP/s: model_flops_per_image x img/s (a multiply-add = 2 FLOPs, training = 3x forward); "
           "%%sgemm: share of the reference.\n");
    if (seed.train_ips > 0 && seed.infer_ips > 0)
        print_seed_estimate(&seed, o->batch);
    printf("peak_MiB: %s\n\n",
           hwm_resettable == 1
               ? "the process's VmHWM (/proc/self/status) while the model ran, reset before each model"
               : "getrusage ru_maxrss, the process's peak so far (not per model: no /proc/self/clear_refs)");
    return VT_OK;
}

/* The data pipeline at side (0: the models were skipped, so the largest input of those asked for). */
static int bench_pipeline(const bench_opts *o, int side, vt_err *err)
{
    for (int i = 0; side == 0 && model_names[i]; i++) {
        model_config cfg;
        if ((!o->model || strcmp(o->model, model_names[i]) == 0) &&
            model_config_default(&cfg, model_names[i], NULL) == VT_OK && cfg.height > side)
            side = cfg.height;
    }
    int rc = bench_data(o, side, err);
    if (rc != VT_OK && o->data) /* the set asked for by name is broken: a data error */
        return rc;
    if (rc != VT_OK) { /* No data set found is not a failure of the bench: say why, measure the rest. */
        printf("data: not measured: %s\n", err->msg);
        vt_err_clear(err);
    }
    printf("\n");
    return VT_OK;
}

static int cmd_bench(int argc, char **argv, vt_err *err)
{
    bench_opts o;
    int done;
    int rc = parse_args(argc, argv, &o, &done, err);
    if (rc != VT_OK || done)
        return rc;
    nn_set_threads(o.threads);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    double load_start = print_preamble(&o, cores);
    double sgemm = -1;
    if (!(o.skip & PART_SGEMM)) {
        if ((sgemm = bench_sgemm(SGEMM_N)) < 0)
            return vt_fail(err, VT_EIO, "out of memory for the %dx%d sgemm", SGEMM_N, SGEMM_N);
        printf("reference: cblas_sgemm %dx%dx%d: %.1f GFLOP/s (median of %d)\n", SGEMM_N, SGEMM_N, SGEMM_N,
               sgemm, SGEMM_REPS);
    }
    if (!(o.skip & PART_SGEMM) || o.layers) {
        const char *isa;
        fma_limit = bench_fma_limit(nn_get_threads(), &isa);
        printf("reference: FMA limit, %d thread%s of %s fused multiply-adds: %.1f GFLOP/s (best of 3)\n",
               nn_get_threads(), nn_get_threads() == 1 ? "" : "s", isa, fma_limit);
    }
    int side = 0;
    if (!(o.skip & PART_MODELS) && (rc = bench_models(&o, sgemm, &side, err)) != VT_OK)
        return rc;
    if (!(o.skip & PART_DATA) && (rc = bench_pipeline(&o, side, err)) != VT_OK)
        return rc;
    if (!(o.skip & PART_METRICS) && (rc = bench_metrics(err)) != VT_OK)
        return rc;
    printf("load average: %.2f at the start, %.2f at the end (%ld cores)\n", load_start, load_average(), cores);
    return VT_OK;
}

const cli_command cli_bench_command = {
    .name = "bench",
    .run = cmd_bench,
    .summary = "measure training and inference speed on this machine",
    .usage = "usage: vggtop bench [--model NAME|all] [--batch-size N] [--steps N] [--warmup N] [--threads N]\n"
             "                    [--data DIR] [--skip PART[,PART...]] [--layers] [--conv BACKENDS]\n"
             "                    [--precision POLICY] [--dist]\n",
    .about = "Measures this machine: the cblas_sgemm reference, training and inference speed of each model on\n"
             "random inputs, the data pipeline and the metrics.\n",
    .options = options,
};
