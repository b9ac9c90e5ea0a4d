/* mpi_step: one data-parallel SGD step checked against one process, run by tests/e2e/mpi.sh under
 * `mpirun -np 2` (it is no cmocka binary: it needs MPI's ranks). Each model named on the command line gets
 * a global batch of 33 random images (the ranks' slices differ in size); every rank takes its slice through
 * dist_train_step, the very step vggtop train runs, and a model of the same seed in the same process takes
 * the whole batch through model_train_step. With lr 1 and momentum 0.5 the SGD velocity after one step is
 * exactly minus the gradient, so comparing velocities compares the summed gradient with the one-process
 * gradient. Bounds (float32, only the summation order differs): relative L2 error of the gradient below
 * 1e-5, of the weights after the update below 1e-6; the batch's loss sum to 1e-7 (the forward pass of a slice may round differently from the whole batch's: BLAS blocks by batch size). Then one rank's
 * weights are nudged and the weight check must stop every rank. Exit 0 when all holds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vggtop/nn.h"
#include "../src/train/train_internal.h"

static double rel_l2(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return s > 0 ? sqrt(d / s) : INFINITY;
}

static int check_model(train_dist *d, const char *name, int side, int channels)
{
    const int N = 33, classes = 10, rank = train_dist_rank(d);
    model_config cfg;
    vt_err err;
    if (model_config_default(&cfg, name, &err) != VT_OK)
        return fprintf(stderr, "mpi_step: %s\n", err.msg), 1;
    cfg.height = cfg.width = side;
    cfg.channels = channels;
    cfg.classes = classes;
    cfg.seed = 11;
    model *ref, *m;
    if (model_create(&cfg, &ref, &err) || model_create(&cfg, &m, &err) || model_set_batch(ref, N, &err) ||
        model_set_batch(m, N, &err))
        return fprintf(stderr, "mpi_step: %s\n", err.msg), 1;
    size_t image = (size_t)side * side * channels, P = (size_t)model_param_count(m);
    float *x = malloc(sizeof(float) * image * N);
    int *y = malloc(sizeof(int) * N);
    vt_rng rng;
    vt_rng_seed(&rng, 5);
    for (size_t i = 0; i < image * N; i++)
        x[i] = (float)vt_rng_uniform(&rng);
    for (int i = 0; i < N; i++)
        y[i] = (int)(vt_rng_next(&rng) % classes);
    sgd_config sgd;
    sgd_config_default(&sgd);
    sgd.lr = 1.0f;
    sgd.momentum = 0.5f;
    step_stats whole = {0}, sum = {0};
    long lo, hi;
    dist_slice(N, train_dist_size(d), rank, &lo, &hi);
    int bad = 0;
    if (model_train_step(ref, x, y, N, &sgd, &whole, &err) ||
        dist_train_step(d, m, x + lo * image, y + lo, (int)(hi - lo), N, &sgd, &sum, &err)) {
        fprintf(stderr, "mpi_step: %s: %s\n", name, err.msg);
        bad = 1;
    } else {
        double eg = rel_l2(model_velocity(m), model_velocity(ref), P);
        double ew = rel_l2(model_params(m), model_params(ref), P);
        double el = fabs(sum.loss_sum - whole.loss_sum) / fabs(whole.loss_sum);
        printf("mpi_step: rank %d: %s: %ld of %d images here; gradient relative error %.2e (bound 1e-5), weights "
               "%.2e (bound 1e-6), loss sum %.2e (bound 1e-7)\n", rank, name, hi - lo, N, eg, ew, el);
        bad = !(eg < 1e-5) || !(ew < 1e-6) || !(el < 1e-7) || sum.n != N || sum.correct != whole.correct;
        if (bad)
            fprintf(stderr, "mpi_step: rank %d: %s: out of bounds (n %lld, correct %lld vs %lld)\n", rank, name,
                    sum.n, sum.correct, whole.correct);
    }
    if (!bad && dist_check_weights(d, model_params(m), P, 1, &err) != VT_OK) {
        fprintf(stderr, "mpi_step: %s: equal weights failed the check: %s\n", name, err.msg);
        bad = 1;
    }
    if (!bad && dist_shares_state(d, m))
        printf("mpi_step: rank %d: %s: one copy of the weights on this host: no nudge for the weight check\n", rank,
               name);
    else if (!bad) {
        if (rank == 1)
            model_params(m)[P / 2] += 1e-3f;
        if (dist_check_weights(d, model_params(m), P, 2, &err) != VT_EINTERNAL || !strstr(err.msg, "differ")) {
            fprintf(stderr, "mpi_step: rank %d: %s: the weight check missed a nudged weight\n", rank, name);
            bad = 1;
        }
    }
    free(x);
    free(y);
    model_destroy(ref);
    model_destroy(m);
    return bad;
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_blas_choose_kernel(argv);
    train_dist *d;
    vt_err err;
    if (train_dist_start(&d, &err) != VT_OK || !d) {
        fprintf(stderr, "mpi_step: %s\n", d ? err.msg : "run me under mpirun -np 2");
        return 1;
    }
    nn_set_threads(1);
    int bad = check_model(d, "mlp", 8, 1) | check_model(d, "cnn", 8, 3);
    /* Buckets of 4,096 floats: many allreduces in flight while the backward pass goes on. */
    dist_set_bucket_floats(d, 4096);
    bad |= check_model(d, "mlp", 8, 1) | check_model(d, "cnn", 8, 3);
    train_dist_end(d);
    return bad;
}
