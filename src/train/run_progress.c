/* train/run_progress: progress.json, the engine's state twice a second (state, epoch and batch, running
 * means, rates, ETAs, the evaluation's progress, the last command taken): written by the engine, read by the
 * front end, `vggtop watch` and `vggtop ctl` with every number range-checked. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "train_internal.h"

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

int run_write_progress(const char *dir, const train_snapshot *s, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA], stamp[32];
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
    return run_write_json(path, o, err);
}

/* The numbers every progress.json has, each with the range it can have, checked before it reaches arithmetic
 * or formatting (a progress.json edited to hold 1e300 must not overflow a renderer). */
static int read_required(const cJSON *o, run_progress *p, const char *path, vt_err *err)
{
    const double big = 1e15, forever = 1e10; /* counts; seconds (300 years) */
    const struct {
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
        if (!cJSON_IsNumber(v))
            return vt_fail(err, VT_EUSAGE, "%s: \"%s\" is missing or not a number", path, nums[i].key);
        double x = v->valuedouble;
        if (!(x >= nums[i].lo && x <= nums[i].hi) || (!nums[i].d && x != floor(x)))
            return vt_fail(err, VT_EUSAGE, "%s: \"%s\" is %g, not %s in %g..%g", path, nums[i].key, x,
                           nums[i].d ? "a number" : "a whole number", nums[i].lo, nums[i].hi);
        if (nums[i].d)
            *nums[i].d = x;
        else if (nums[i].l)
            *nums[i].l = (long)x;
        else
            *nums[i].i = (int)x;
    }
    return VT_OK;
}

/* An optional number of o: 1 with it in *out when it is there and lo <= it <= hi (below hi when open). */
static int optional_number(const cJSON *o, const char *key, double lo, double hi, int open, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && (open ? v->valuedouble < hi : v->valuedouble <= hi)))
        return 0;
    *out = v->valuedouble;
    return 1;
}

/* The numbers written later than the rest (the top-5, ranks, the evaluation's progress, the command channel):
 * absent or out of range, each keeps its default. */
static void read_optional_numbers(const cJSON *o, run_progress *p)
{
    const double forever = 1e10;
    double v;
    p->eta_run = optional_number(o, "eta_run", 0, forever, 0, &v) ? v : p->eta;
    p->top5 = optional_number(o, "top5", 0, 1, 0, &v) ? v : NAN;
    p->ranks = optional_number(o, "ranks", 1, 1 << 20, 0, &v) && v == floor(v) ? (int)v : 1;
    if (optional_number(o, "eval_batch", 0, 1e15, 1, &v))
        p->eval_batch = (long)v;
    if (optional_number(o, "eval_batches", 0, 1e15, 1, &v))
        p->eval_batches = (long)v;
    if (optional_number(o, "eval_eta", 0, forever, 0, &v))
        p->eval_eta = v;
    if (optional_number(o, "command_ack", 0, 1e15, 1, &v))
        p->command_ack = (long)v;
}

int run_read_progress(const char *dir, run_data *run, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA], *text;
    int rc = run_read_optional(dir, RUN_PROGRESS, path, sizeof path, &text, err);
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
    if (!cJSON_IsString(state) || state_from_name(state->valuestring, &p->state) != 0)
        rc = vt_fail(err, VT_EUSAGE, "%s: \"state\" is missing or not a known state", path);
    if (rc || (rc = read_required(o, p, path, err))) {
        cJSON_Delete(o);
        return rc;
    }
    read_optional_numbers(o, p);
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
