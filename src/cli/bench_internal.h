/* cli/bench internal: what the two files of `vggtop bench` share (bench.c: the command, the sgemm reference
 * and the models; bench_data.c: the data pipeline and the metrics). */
#ifndef VGGTOP_CLI_BENCH_INTERNAL_H
#define VGGTOP_CLI_BENCH_INTERNAL_H

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
    const char *conv; /* --conv: the convolution backends (model_set_conv); NULL: nn_conv_default() */
    int precision;    /* --precision: nn_precision (float32 unless asked) */
    int dist;   /* --dist: project data-parallel scaling from each model's measured step */
} bench_opts;

/* Median of v[0..n), n >= 1; sorts v. */
double bench_median(double *v, int n);

/* The FMA limit: GFLOP/s of fused multiply-adds on the widest vectors this CPU has, threads at once (the best
 * of a few timings); *isa names those vectors. In bench_fma.c. */
double bench_fma_limit(int threads, const char **isa);

/* 3. The data pipeline at side x side: VT_OK, or the code of a data set that cannot be opened (err says why). */
int bench_data(const bench_opts *o, int side, vt_err *err);
/* 4. The metrics on METRICS_N x METRICS_C random probabilities; VT_EIO when out of memory. */
int bench_metrics(vt_err *err);

#endif
