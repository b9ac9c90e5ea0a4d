/* tui/probe: a helper thread that answers the Setup screen's questions about a configuration: which data
 * set it loads (name, shape, classes, notice), the model's Keras summary and parameter count, and the
 * measured time per epoch. Loading a data set and timing training steps take seconds, which the UI thread
 * must never wait for. A newer request supersedes an older one; a self-pipe wakes the UI. */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui_internal.h"

struct probe {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int quit;
    int pending;           /* a request waits */
    int busy;              /* answering a request */
    train_config cfg;      /* the pending request */
    int estimate;
    unsigned long gen;     /* of the pending request */
    probe_result res;      /* the latest answer */
    int pipe_fd[2];
};

static void wake(probe *p) { vt_wake_signal(p->pipe_fd); }

/* Publishes part of an answer, unless a newer request came in meanwhile. Returns 1 when superseded. */
static int publish(probe *p, unsigned long gen, const probe_result *r)
{
    pthread_mutex_lock(&p->mu);
    int stale = p->pending || p->gen != gen;
    if (!stale) {
        free(p->res.summary);
        p->res = *r;
        p->res.summary = r->summary ? strdup(r->summary) : NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (!stale)
        wake(p);
    return stale;
}

/* The estimate's cancel test: a newer request or quitting makes the running one pointless. */
static int superseded(void *arg)
{
    probe *p = arg;
    pthread_mutex_lock(&p->mu);
    int stop = p->quit || p->pending;
    pthread_mutex_unlock(&p->mu);
    return stop;
}

static void answer(probe *p, const train_config *cfg, int estimate, unsigned long gen)
{
    probe_result r;
    memset(&r, 0, sizeof r);
    r.generation = gen;
    r.seconds = NAN;
    vt_err err;
    vt_err_clear(&err);
    /* The test split as the run will use it (its size goes into the estimate: the test-set pass after each
     * epoch); it is a fifth of CIFAR-100's training split, quick to read. */
    data_options opt;
    train_data_options(cfg, &opt);
    opt.folder_side = data_folder_side(&opt); /* an image folder at the side training gives it (its cache) */
    opt.resize = 0;
    opt.min_size = 0;
    dataset *ds = NULL;
    if (data_open(&opt, &ds, &err) != VT_OK) {
        snprintf(r.error, sizeof r.error, "%s", err.msg);
        r.done_data = r.done_summary = r.done_estimate = 1;
        publish(p, gen, &r);
        return;
    }
    snprintf(r.dataset, sizeof r.dataset, "%s", ds->name);
    snprintf(r.notice, sizeof r.notice, "%s", ds->notice);
    r.height = ds->orig_height;
    r.width = ds->orig_width;
    r.channels = ds->channels;
    r.classes = ds->classes;
    r.n_train = ds->n_train;
    r.n_train_file = ds->n_train_file;
    r.n_test = ds->n_test;
    data_destroy(ds);
    r.done_data = 1;
    if (publish(p, gen, &r))
        return;
    if (train_model_summary(cfg, r.height, r.width, r.channels, r.classes, &r.summary, &r.params, &err) != VT_OK)
        snprintf(r.error, sizeof r.error, "%s", err.msg);
    r.done_summary = 1;
    int stale = publish(p, gen, &r);
    if (!stale && estimate && !r.error[0]) {
        double s = NAN;
        int rc = train_estimate_epoch_seconds(cfg, r.height, r.width, r.channels, r.classes, r.n_train, superseded,
                                              p, &s, &err);
        if (rc != VT_OK)
            snprintf(r.error, sizeof r.error, "%s", err.msg);
        r.seconds = s;
    }
    r.done_estimate = 1;
    if (!stale)
        publish(p, gen, &r);
    free(r.summary);
}

static void *probe_main(void *arg)
{
    probe *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->pending && !p->quit)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->quit)
            break;
        train_config cfg = p->cfg;
        int estimate = p->estimate;
        unsigned long gen = p->gen;
        p->pending = 0;
        p->busy = 1;
        pthread_mutex_unlock(&p->mu);
        answer(p, &cfg, estimate, gen);
        pthread_mutex_lock(&p->mu);
        p->busy = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int probe_create(probe **out, vt_err *err)
{
    probe *p = calloc(1, sizeof *p);
    if (!p)
        return vt_fail(err, VT_EIO, "out of memory");
    if (vt_wake_open(p->pipe_fd, err) != VT_OK) {
        free(p);
        return err ? err->code : VT_EIO;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->res.seconds = NAN;
    /* The UI thread owns the signals: the helper runs with them blocked. */
    if (vt_thread_start(&p->thread, probe_main, p) != 0) {
        vt_wake_close(p->pipe_fd);
        free(p);
        return vt_fail(err, VT_EIO, "cannot start the setup helper thread");
    }
    *out = p;
    return VT_OK;
}

void probe_destroy(probe *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    free(p->res.summary);
    vt_wake_close(p->pipe_fd);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

int probe_busy(probe *p)
{
    pthread_mutex_lock(&p->mu);
    int busy = p->busy;
    pthread_mutex_unlock(&p->mu);
    return busy;
}

void probe_request(probe *p, const train_config *cfg, int estimate)
{
    pthread_mutex_lock(&p->mu);
    p->cfg = *cfg;
    p->estimate = estimate;
    p->gen++;
    p->pending = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void probe_get(probe *p, probe_result *out)
{
    vt_wake_drain(p->pipe_fd);
    pthread_mutex_lock(&p->mu);
    free(out->summary);
    *out = p->res;
    out->summary = p->res.summary ? strdup(p->res.summary) : NULL;
    pthread_mutex_unlock(&p->mu);
}

int probe_wake_fd(const probe *p) { return p->pipe_fd[0]; }
