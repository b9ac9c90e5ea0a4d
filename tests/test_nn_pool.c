/* Unit tests of nn's worker pool (src/nn/pool.c), of its users at several thread counts (the winograd and
 * smallmap backends and the 2x2 max pooling; run under ThreadSanitizer too, in make test: they are nn's only threads
 * of its own), of two callers at once, and of the transformed kernels the winograd backend keeps while the
 * weights stay the same. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nn_testing.h"
#include "testing.h"

/* Each worker adds its index + 1 into its own slot, and counts the calls. */
typedef struct tally {
    int calls[8];
    long sum[8];
    int workers_seen[8];
} tally;

static void count_task(void *arg, int worker, int workers)
{
    tally *t = arg;
    t->calls[worker]++;
    t->sum[worker] += worker + 1;
    t->workers_seen[worker] = workers;
}

static void every_worker_runs_each_task_once(void **state)
{
    (void)state;
    vt_err err;
    assert_int_equal(nn_pool_start(4, &err), VT_OK);
    tally t;
    memset(&t, 0, sizeof t);
    const int rounds = 500;
    for (int r = 0; r < rounds; r++) {
        int n = 1 + r % 4; /* 1..4 workers, changing from task to task */
        assert_int_equal(nn_pool_run(count_task, &t, n), n);
    }
    /* Worker w takes part in the rounds whose n exceeds w: rounds / 4 of each n. */
    for (int w = 0; w < 4; w++) {
        assert_int_equal(t.calls[w], rounds / 4 * (4 - w));
        assert_int_equal(t.sum[w], (long)(w + 1) * t.calls[w]);
    }
    assert_int_equal(t.calls[4], 0);
    /* More workers than started are capped at what runs; none is a single call on the caller. */
    memset(&t, 0, sizeof t);
    assert_int_equal(nn_pool_run(count_task, &t, 64), 4);
    assert_int_equal(t.workers_seen[0], 4);
    assert_int_equal(t.workers_seen[3], 4);
    assert_int_equal(nn_pool_run(count_task, &t, 0), 1);
    assert_int_equal(t.calls[0], 2);
}

/* A worker's writes are visible to the caller when nn_pool_run returns (and TSan sees the ordering). */
typedef struct fill {
    float *data;
    size_t n;
} fill;

static void fill_task(void *arg, int worker, int workers)
{
    fill *f = arg;
    size_t lo = f->n * (size_t)worker / (size_t)workers, hi = f->n * (size_t)(worker + 1) / (size_t)workers;
    for (size_t i = lo; i < hi; i++)
        f->data[i] += (float)i;
}

static void results_are_visible_after_the_run(void **state)
{
    (void)state;
    assert_int_equal(nn_pool_start(3, NULL), VT_OK);
    fill f = {calloc(10007, sizeof(float)), 10007};
    assert_non_null(f.data);
    for (int r = 0; r < 20; r++)
        nn_pool_run(fill_task, &f, 3);
    for (size_t i = 0; i < f.n; i++)
        if (f.data[i] != 20.0f * (float)i)
            fail_msg("element %zu is %g after 20 runs, expected %g", i, (double)f.data[i], 20.0 * (double)i);
    free(f.data);
}

/* The winograd backend at 1, 2 and 3 workers against the naive loops, and the same bits at a fixed count,
 * for a small map (every worker's images in one chunk: the kernel gradient's products split between the
 * workers) and a large one (several chunks a worker: a kernel-gradient sum per worker), in each of the
 * backend's copies this CPU has (AVX-512, AVX2, portable). The AVX2 and AVX-512 copies' own forward kernel
 * sums each output in a fixed order whatever the chunks, so their forward is the same bits at every worker
 * count; a CPU without AVX2 and FMA runs the portable copy whatever the cap, and that promise is not checked
 * there. */
static void winograd_case(int n, int h, int w, int c, int k)
{
    conv_geom g;
    conv_geom_init(&g, n, h, w, c, k, 3, 3, 1, 1);
    size_t xs = (size_t)n * h * w * c, os = (size_t)n * h * w * k, ws = (size_t)9 * c * k;
    float *x = randf(xs, 1, -1, 1), *wt = randf(ws, 2, -0.3f, 0.3f), *b = randf((size_t)k, 3, -0.1f, 0.1f);
    float *r = randf(os, 4, -1, 1), *ref = malloc(sizeof(float) * os), *dref = malloc(sizeof(float) * xs);
    float *dwref = calloc(ws, sizeof(float)), *dbref = calloc((size_t)k, sizeof(float));
    float *d = malloc(sizeof(float) * os);
    conv2d_forward_naive(ref, x, wt, b, &g, 1);
    memcpy(d, r, sizeof(float) * os);
    conv2d_backward_naive(dref, dwref, dbref, d, ref, x, wt, &g, 1);
    float *first_dw = NULL, *first_out = malloc(sizeof(float) * os);
    for (int cap = NN_ISA_AVX512; cap >= NN_ISA_PORTABLE; cap--)
    for (int algo = CONV_ALGO_F2; algo <= CONV_ALGO_F4; algo++)
        for (int threads = 1; threads <= 3; threads++) {
            nn_set_threads(threads);
            const int own = nn_set_isa_cap(cap) != NN_ISA_PORTABLE; /* a copy with the own kernel runs */
            for (int again = 0; again < 2; again++) {
                conv_layer cl;
                memset(&cl, 0, sizeof cl);
                cl.g = g;
                cl.relu = 1;
                cl.be = conv_backend_find("winograd");
                cl.algo = algo;
                vt_err err;
                assert_int_equal(cl.be->plan(&cl, &err), VT_OK);
                float *col = calloc(cl.be->workspace(&g) + 1, sizeof(float)), *out = malloc(sizeof(float) * os);
                float *dx = malloc(sizeof(float) * xs), *dw = calloc(ws, sizeof(float));
                float *db = calloc((size_t)k, sizeof(float));
                cl.be->forward(&cl, out, col, x, wt, b, n);
                assert_close("forward", out, ref, os, 2e-3);
                if (threads == 1 && again == 0)
                    memcpy(first_out, out, sizeof(float) * os);
                else if (own)
                    assert_memory_equal(out, first_out, sizeof(float) * os);
                memcpy(d, r, sizeof(float) * os);
                cl.be->backward(&cl, dx, (float *)wt, b, dw, db, col, d, out, x, n, NULL);
                assert_close("dx", dx, dref, xs, 2e-3);
                assert_close("dw", dw, dwref, ws, 2e-3);
                assert_close("db", db, dbref, (size_t)k, 2e-3);
                if (again == 0) {
                    free(first_dw);
                    first_dw = dw;
                } else {
                    assert_memory_equal(dw, first_dw, sizeof(float) * ws); /* the same bits at this count */
                    free(dw);
                }
                cl.be->release(&cl);
                free(col), free(out), free(dx), free(db);
            }
        }
    nn_set_threads(1);
    nn_set_isa_cap(NN_ISA_AVX512);
    free(first_dw), free(first_out);
    free(x), free(wt), free(b), free(r), free(ref), free(dref), free(dwref), free(dbref), free(d);
}

static void winograd_at_several_thread_counts(void **state)
{
    (void)state;
    winograd_case(5, 6, 7, 8, 12);
    winograd_case(6, 40, 40, 4, 4); /* F(4x4): 100 tiles an image, 2 images a chunk */
}

/* The smallmap backend at 1, 2 and 3 workers, in each of its copies this CPU has, with and without a fused
 * step: against the naive loops, and the same bits at every worker count (each output, input gradient and
 * kernel gradient entry is summed by one worker in a fixed order). 5 images (not a multiple of any copy's
 * rows), 40 output channels (a partial column block in every copy). */
static void smallmap_at_several_thread_counts(void **state)
{
    (void)state;
    const int n = 5, h = 3, w = 4, c = 20, k = 40;
    conv_geom g;
    conv_geom_init(&g, n, h, w, c, k, 3, 3, 1, 1);
    size_t xs = (size_t)n * h * w * c, os = (size_t)n * h * w * k, ws = (size_t)9 * c * k;
    float *x = randf(xs, 11, -1, 1), *wt = randf(ws, 12, -0.3f, 0.3f), *b = randf((size_t)k, 13, -0.1f, 0.1f);
    float *r = randf(os, 14, -1, 1), *ref = malloc(sizeof(float) * os), *dref = malloc(sizeof(float) * xs);
    float *dwref = calloc(ws, sizeof(float)), *dbref = calloc((size_t)k, sizeof(float));
    float *d = malloc(sizeof(float) * os);
    conv2d_forward_naive(ref, x, wt, b, &g, 1);
    memcpy(d, r, sizeof(float) * os);
    conv2d_backward_naive(dref, dwref, dbref, d, ref, x, wt, &g, 1);
    const int best = nn_set_isa_cap(NN_ISA_AVX512);
    for (int isa = best; isa >= NN_ISA_PORTABLE; isa--) {
        float *first = NULL; /* out, dx, dw, stepped w of one worker */
        const size_t all = os + xs + 2 * ws;
        for (int threads = 1; threads <= 3; threads++) {
            nn_set_threads(threads);
            nn_set_isa_cap(isa);
            conv_layer cl;
            memset(&cl, 0, sizeof cl);
            cl.g = g;
            cl.relu = 1;
            cl.be = conv_backend_find("smallmap");
            vt_err err;
            assert_int_equal(cl.be->plan(&cl, &err), VT_OK);
            float *got = calloc(all, sizeof(float)), *col = calloc(cl.be->workspace(&g) + 1, sizeof(float));
            float *out = got, *dx = got + os, *dw = dx + xs, *w2 = dw + ws;
            float *db = calloc((size_t)k, sizeof(float)), *b2 = malloc(sizeof(float) * k);
            cl.be->forward(&cl, out, col, x, wt, b, n);
            memcpy(d, r, sizeof(float) * os);
            cl.be->backward(&cl, dx, wt, b, dw, db, col, d, out, x, n, NULL);
            assert_close("forward", out, ref, os, 1e-4);
            assert_close("dx", dx, dref, xs, 1e-4);
            assert_close("dw", dw, dwref, ws, 1e-4);
            assert_close("db", db, dbref, (size_t)k, 1e-4);
            const conv_step step = {0.1f, 0.99f};
            memcpy(w2, wt, sizeof(float) * ws);
            memcpy(b2, b, sizeof(float) * k);
            memset(db, 0, sizeof(float) * k);
            float *scratch = calloc(ws, sizeof(float));
            memcpy(d, r, sizeof(float) * os);
            cl.be->backward(&cl, NULL, w2, b2, scratch, db, col, d, out, x, n, &step);
            if (!first)
                first = got;
            else if (memcmp(got, first, sizeof(float) * all) != 0)
                fail_msg("copy %d at %d workers: not the same bits as at one", isa, threads);
            if (got != first)
                free(got);
            cl.be->release(&cl);
            free(col), free(db), free(b2), free(scratch);
        }
        free(first);
    }
    nn_set_threads(1);
    nn_set_isa_cap(NN_ISA_AVX512);
    free(x), free(wt), free(b), free(r), free(ref), free(dref), free(dwref), free(dbref), free(d);
}

/* The winograd backend keeps its transformed kernel while the weights generation stays: the same
 * generation reuses it (a kernel changed behind its back is not seen), a new one derives it anew. */
static void winograd_kernel_kept_per_generation(void **state)
{
    (void)state;
    conv_geom g;
    conv_geom_init(&g, 2, 8, 8, 16, 8, 3, 3, 1, 1);
    size_t xs = (size_t)2 * 64 * 16, os = (size_t)2 * 64 * 8, ws = (size_t)9 * 16 * 8;
    float *x = randf(xs, 7, -1, 1), *w = randf(ws, 8, -0.3f, 0.3f), *b = randf(8, 9, -0.1f, 0.1f);
    float *a = malloc(sizeof(float) * os), *c = malloc(sizeof(float) * os), *r = malloc(sizeof(float) * os);
    conv_layer cl;
    memset(&cl, 0, sizeof cl);
    cl.g = g;
    cl.be = conv_backend_find("winograd");
    cl.algo = CONV_ALGO_F4;
    assert_int_equal(cl.be->plan(&cl, NULL), VT_OK);
    float *col = calloc(cl.be->workspace(&g) + 1, sizeof(float));
    cl.wgen = 7;
    cl.be->forward(&cl, a, col, x, w, b, 2);
    for (size_t i = 0; i < ws; i++)
        w[i] *= 2.0f;
    cl.be->forward(&cl, c, col, x, w, b, 2); /* generation 7 still: the kernel of the first pass */
    assert_memory_equal(a, c, sizeof(float) * os);
    cl.wgen = 8;
    cl.be->forward(&cl, c, col, x, w, b, 2);
    conv2d_forward_naive(r, x, w, b, &g, 0);
    assert_close("forward after a new generation", c, r, os, 2e-3);
    cl.wgen = 0; /* unknown: always anew */
    for (size_t i = 0; i < ws; i++)
        w[i] *= 0.5f;
    cl.be->forward(&cl, c, col, x, w, b, 2);
    assert_close("forward at generation 0", c, a, os, 2e-3);
    cl.be->release(&cl);
    free(x), free(w), free(b), free(a), free(c), free(r), free(col);
}

/* Through a model: weights written through model_params (as a checkpoint load does) are what the next
 * predictions use, and a training step's change is seen by the next pass. */
static void model_sees_new_weights(void **state)
{
    (void)state;
    model_config cfg;
    assert_int_equal(model_config_default(&cfg, "cnn", NULL), VT_OK);
    cfg.height = cfg.width = 8;
    cfg.classes = 5;
    const int n = 4;
    float *x = randf((size_t)n * 64 * 3, 11, 0, 1);
    float p1[20], p2[20], p3[20];
    model *m, *fresh;
    assert_int_equal(model_create(&cfg, &m, NULL), VT_OK);
    assert_int_equal(model_create(&cfg, &fresh, NULL), VT_OK);
    assert_int_equal(model_set_conv(m, "winograd", NULL), VT_OK);
    assert_int_equal(model_set_batch(m, n, NULL), VT_OK);
    assert_int_equal(model_set_batch(fresh, n, NULL), VT_OK);
    assert_int_equal(model_predict(m, x, n, p1, NULL), VT_OK);
    /* Scale every weight, as loading another checkpoint would change them. */
    const size_t P = (size_t)model_param_count(m);
    float *w = model_params(m);
    for (size_t i = 0; i < P; i++)
        w[i] *= 1.5f;
    memcpy(model_params(fresh), w, sizeof(float) * P);
    assert_int_equal(model_predict(m, x, n, p2, NULL), VT_OK);
    assert_int_equal(model_predict(fresh, x, n, p3, NULL), VT_OK);
    assert_close("predictions after new weights", p2, p3, 20, 2e-3);
    double moved = 0;
    for (int i = 0; i < 20; i++)
        moved = fmax(moved, fabs(p2[i] - p1[i]));
    assert_true(moved > 1e-4); /* the new weights did change the predictions */
    /* A training step changes the weights inside nn: the next prediction is of the new ones. */
    int y[4] = {0, 1, 2, 3};
    sgd_config s;
    sgd_config_default(&s);
    s.lr = 0.5f;
    step_stats st = {0};
    assert_int_equal(model_train_step(m, x, y, n, &s, &st, NULL), VT_OK);
    assert_int_equal(model_predict(m, x, n, p2, NULL), VT_OK);
    memcpy(model_params(fresh), model_params(m), sizeof(float) * P);
    assert_int_equal(model_predict(fresh, x, n, p3, NULL), VT_OK);
    assert_close("predictions after a step", p2, p3, 20, 2e-3);
    model_destroy(m);
    model_destroy(fresh);
    free(x);
}

/* 2x2 stride-2 max pooling split by rows over 1, 2 and 3 workers, against loops written here: each output
 * the largest of its window, its gradient to the first pixel (row-major) holding it and 0 elsewhere, the
 * odd last row and column 0. Values are small integers, so windows tie often; the map (3 x 33 x 31 x 37) is
 * large enough to be split and has a channel count that leaves a tail past the four-wide loop. */
static void pooling_at_several_thread_counts(void **state)
{
    (void)state;
    const int n = 3, h = 33, w = 31, c = 37, oh = h / 2, ow = w / 2;
    const size_t xs = (size_t)n * h * w * c, os = (size_t)n * oh * ow * c;
    float *x = randf(xs, 11, 0.0f, 1.0f), *d = randf(os, 12, -1.0f, 1.0f);
    for (size_t i = 0; i < xs; i++)
        x[i] = (float)(int)(x[i] * 5.0f); /* 0..4 */
    float *want = malloc(sizeof(float) * os), *dwant = calloc(xs, sizeof(float));
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                for (int ch = 0; ch < c; ch++) {
                    size_t best = 0;
                    float m = 0;
                    for (int k = 0; k < 4; k++) {
                        size_t at = (((size_t)b * h + 2 * oy + k / 2) * w + 2 * ox + k % 2) * c + ch;
                        if (k == 0 || x[at] > m)
                            m = x[at], best = at;
                    }
                    size_t o = (((size_t)b * oh + oy) * ow + ox) * c + ch;
                    want[o] = m;
                    dwant[best] = d[o];
                }
    vt_err err;
    assert_int_equal(nn_pool_start(3, &err), VT_OK);
    float *out = malloc(sizeof(float) * os), *dx = malloc(sizeof(float) * xs);
    for (int threads = 1; threads <= 3; threads++) {
        nn_set_threads(threads);
        memset(out, 0xff, sizeof(float) * os); /* NaN: whatever is not written shows */
        memset(dx, 0xff, sizeof(float) * xs);
        maxpool2d_forward(out, x, n, h, w, c, 2, 2);
        maxpool2d_backward(dx, d, x, n, h, w, c, 2, 2);
        assert_memory_equal(out, want, sizeof(float) * os);
        assert_memory_equal(dx, dwant, sizeof(float) * xs);
    }
    nn_set_threads(1);
    free(x), free(d), free(want), free(dwant), free(out), free(dx);
}

/* Two threads calling nn_pool_run at once (a model trained while another is timed): the run lock takes one
 * task at a time, and each sees its own workers finish. */
typedef struct caller {
    long sums[3];
    int bad;
} caller;

static void add_task(void *arg, int worker, int workers)
{
    caller *c = arg;
    (void)workers;
    c->sums[worker] += worker + 1;
}

static void *call_many(void *arg)
{
    caller *c = arg;
    for (int r = 0; r < 300; r++) {
        long before = c->sums[0] + c->sums[1] + c->sums[2];
        int got = nn_pool_run(add_task, c, 3);
        long after = c->sums[0] + c->sums[1] + c->sums[2];
        if (after - before != (long)got * (got + 1) / 2)
            c->bad++;
    }
    return NULL;
}

static void two_callers_take_turns(void **state)
{
    (void)state;
    vt_err err;
    assert_int_equal(nn_pool_start(3, &err), VT_OK);
    caller a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, call_many, &a), 0);
    call_many(&b);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(a.bad, 0);
    assert_int_equal(b.bad, 0);
    assert_int_equal(a.sums[0], 300);
    assert_int_equal(b.sums[0], 300);
    assert_int_equal(a.sums[2], 900); /* every task had its three workers */
    assert_int_equal(b.sums[2], 900);
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_testing_start(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_worker_runs_each_task_once),
        cmocka_unit_test(results_are_visible_after_the_run),
        cmocka_unit_test(winograd_at_several_thread_counts),
        cmocka_unit_test(winograd_kernel_kept_per_generation),
        cmocka_unit_test(smallmap_at_several_thread_counts),
        cmocka_unit_test(model_sees_new_weights),
        cmocka_unit_test(pooling_at_several_thread_counts),
        cmocka_unit_test(two_callers_take_turns),
    };
    return cmocka_run_group_tests_name("nn_pool", tests, NULL, NULL);
}
