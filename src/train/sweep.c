/* train/sweep: the plan of a sweep (many runs of `vggtop train` that differ in the settings swept) and its
 * file. Pure expansion: the train flags with lists or distributions in, trial t's flags out, the same for a
 * given plan and t whatever ran before (so a resumed sweep runs exactly the trials left). sweep.json keeps the
 * arguments as given and each trial's state, written atomically; the runner is src/cli/sweep.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "train_internal.h"

const char *const sweep_state_names[] = {"pending", "running", "done", "failed", "pruned", NULL};
const char *const sweep_prune_names[] = {"none", "median", "halving", NULL};

static const char *const dist_prefix[] = {"", "log:", "uniform:", "int:"};

void sweep_plan_free(sweep_plan *p)
{
    for (int i = 0; i < p->argc; i++)
        free(p->argv[i]);
    free(p->argv);
    for (int a = 0; a < p->n_axes; a++) {
        free(p->axes[a].values ? p->axes[a].values[0] : NULL); /* the list's copy, split in place */
        free(p->axes[a].values);
    }
    memset(p, 0, sizeof *p);
}

/* A distribution "log:LO:HI" (kind > 0) into the axis; -1 when it is not one of the form. */
static int parse_dist(const char *value, sweep_axis *ax)
{
    for (int k = SWEEP_LOG; k <= SWEEP_INT; k++) {
        size_t n = strlen(dist_prefix[k]);
        if (strncmp(value, dist_prefix[k], n) != 0)
            continue;
        char *end;
        ax->kind = (sweep_kind)k;
        ax->lo = strtod(value + n, &end);
        if (*end != ':')
            return -1;
        ax->hi = strtod(end + 1, &end);
        return *end || !(ax->lo < ax->hi) || (k == SWEEP_LOG && ax->lo <= 0) ? -1 : 1;
    }
    return 0;
}

/* A list "a,b,c" into the axis (at most SWEEP_MAX_VALUES, each by train's rules). */
static int parse_list(const char *flag, const char *value, sweep_axis *ax, vt_err *err)
{
    long n = 1;
    for (const char *c = value; *c; c++)
        n += *c == ',';
    if (n > SWEEP_MAX_VALUES)
        return vt_fail(err, VT_EUSAGE, "--%s: %ld values, more than the %d a list takes", flag, n, SWEEP_MAX_VALUES);
    char *copy = strdup(value);
    ax->values = malloc(sizeof *ax->values * (size_t)n);
    if (!copy || !ax->values) {
        free(copy);
        return vt_fail(err, VT_EIO, "out of memory");
    }
    ax->kind = SWEEP_LIST;
    ax->n = 0;
    for (char *v = copy, *next; v; v = next) {
        next = strchr(v, ',');
        if (next)
            *next++ = '\0';
        ax->values[ax->n++] = v;
        train_config scratch;
        train_config_default(&scratch);
        vt_err why;
        if (train_config_set(&scratch, flag, v, &why) != VT_OK)
            return vt_fail(err, VT_EUSAGE, "%s (in the list of --%s)", why.msg, flag);
    }
    return VT_OK;
}

/* One flag of the plan: fixed (checked), a list or a distribution (an axis). *used: arguments taken. */
static int plan_flag(sweep_plan *p, int argc, char **argv, int random, int *used, vt_err *err)
{
    const char *name = argv[0] + 2;
    const train_field *f = strncmp(argv[0], "--", 2) == 0 ? train_field_find(name) : NULL;
    if (!f)
        return vt_fail(err, VT_EUSAGE, "'%s' is not a setting of vggtop train (see vggtop train --help)", argv[0]);
    if (strcmp(name, "run-dir") == 0 || strcmp(name, "runs") == 0)
        return vt_fail(err, VT_EUSAGE, "--%s belongs to the sweep: --runs DIR is its folder, each trial a run in it",
                       name);
    *used = f->kind == TRAIN_FIELD_BOOL ? 1 : 2;
    if (*used == 1)
        return VT_OK;
    if (argc < 2)
        return vt_fail(err, VT_EUSAGE, "--%s needs a value (or a list of them)", name);
    const char *value = argv[1];
    sweep_axis ax = {.flag = name};
    int dist = parse_dist(value, &ax);
    if (dist < 0)
        return vt_fail(err, VT_EUSAGE, "--%s %s: a distribution is log:LO:HI (0 < LO < HI), uniform:LO:HI or "
                       "int:LO:HI", name, value);
    if (dist && !random)
        return vt_fail(err, VT_EUSAGE, "--%s %s: a distribution needs --method random (a grid takes lists)", name,
                       value);
    /* conv's own value is a comma-separated list (one backend a layer): never swept by commas. */
    if (!dist && (!strchr(value, ',') || strcmp(name, "conv") == 0)) {
        train_config scratch;
        train_config_default(&scratch);
        return train_config_set(&scratch, name, value, err) == VT_OK ? VT_OK : VT_EUSAGE;
    }
    if (p->n_axes == SWEEP_MAX_AXES)
        return vt_fail(err, VT_EUSAGE, "more than %d swept settings", SWEEP_MAX_AXES);
    int rc = dist ? VT_OK : parse_list(name, value, &ax, err);
    p->axes[p->n_axes++] = ax; /* freed with the plan, also on failure */
    if (rc == VT_OK && dist) { /* both ends of a distribution by train's rules */
        char end[2][64];
        snprintf(end[0], sizeof end[0], ax.kind == SWEEP_INT ? "%.0f" : "%.17g", ax.lo);
        snprintf(end[1], sizeof end[1], ax.kind == SWEEP_INT ? "%.0f" : "%.17g", ax.hi);
        for (int i = 0; i < 2 && rc == VT_OK; i++) {
            train_config scratch;
            train_config_default(&scratch);
            vt_err why;
            if (train_config_set(&scratch, name, end[i], &why) != VT_OK)
                rc = vt_fail(err, VT_EUSAGE, "%s (an end of --%s %s)", why.msg, name, value);
        }
    }
    return rc;
}

/* The trials of the plan: the grid's product (refused past SWEEP_MAX_TRIALS, with the count) or --trials. */
static int count_trials(sweep_plan *p, int random_trials, vt_err *err)
{
    if (p->random) {
        p->trials = random_trials;
        return VT_OK;
    }
    double n = 1;
    for (int a = 0; a < p->n_axes; a++)
        n *= p->axes[a].n;
    if (n > SWEEP_MAX_TRIALS)
        return vt_fail(err, VT_EUSAGE, "the grid has %.0f trials, more than the %d a sweep takes", n,
                       SWEEP_MAX_TRIALS);
    p->trials = (int)n;
    return VT_OK;
}

int sweep_plan_make(int argc, char **argv, int random_trials, sweep_plan *p, vt_err *err)
{
    memset(p, 0, sizeof *p);
    p->random = random_trials > 0;
    p->seed = 1;
    p->argv = calloc((size_t)argc + 1, sizeof *p->argv);
    if (!p->argv)
        return vt_fail(err, VT_EIO, "out of memory");
    for (int i = 0; i < argc; i++)
        if (!(p->argv[p->argc++] = strdup(argv[i]))) {
            sweep_plan_free(p);
            return vt_fail(err, VT_EIO, "out of memory");
        }
    int rc = VT_OK;
    for (int i = 0, used = 0; rc == VT_OK && i < argc; i += used) {
        rc = plan_flag(p, argc - i, p->argv + i, p->random, &used, err);
        if (rc == VT_OK && strcmp(p->argv[i], "--seed") == 0 && used == 2 && !strchr(p->argv[i + 1], ','))
            p->seed = strtoull(p->argv[i + 1], NULL, 10);
    }
    if (rc == VT_OK)
        rc = count_trials(p, random_trials, err);
    if (rc != VT_OK)
        sweep_plan_free(p);
    return rc;
}

void sweep_value(const sweep_plan *p, int t, int a, char *buf, size_t size)
{
    const sweep_axis *ax = &p->axes[a];
    if (!p->random) {
        int stride = 1; /* the last axis fastest */
        for (int b = a + 1; b < p->n_axes; b++)
            stride *= p->axes[b].n;
        snprintf(buf, size, "%s", ax->values[(t / stride) % ax->n]);
        return;
    }
    vt_rng rng;
    vt_rng_seed(&rng, vt_seed_mix(p->seed, (uint64_t)t * SWEEP_MAX_AXES + (uint64_t)a));
    double u = vt_rng_uniform(&rng);
    switch (ax->kind) {
    case SWEEP_LIST: snprintf(buf, size, "%s", ax->values[vt_rng_below(&rng, (uint32_t)ax->n)]); break;
    case SWEEP_LOG: snprintf(buf, size, "%.4g", exp(log(ax->lo) + u * (log(ax->hi) - log(ax->lo)))); break;
    case SWEEP_UNIFORM: snprintf(buf, size, "%.4g", ax->lo + u * (ax->hi - ax->lo)); break;
    case SWEEP_INT:
        snprintf(buf, size, "%.0f", ax->lo + (double)vt_rng_below(&rng, (uint32_t)(ax->hi - ax->lo + 1)));
        break;
    }
}

/* Whether argv[i] is the value of a swept flag (its axis gives it instead). */
static int swept_at(const sweep_plan *p, int i)
{
    for (int a = 0; i > 0 && a < p->n_axes; a++)
        if (p->argv[i - 1] + 2 == p->axes[a].flag)
            return 1;
    return 0;
}

char **sweep_trial_args(const sweep_plan *p, int t)
{
    enum { VALUE = 64 };
    size_t n = (size_t)p->argc + 1;
    char **v = malloc(n * sizeof *v + (size_t)p->n_axes * VALUE);
    if (!v)
        return NULL;
    char *text = (char *)(v + n);
    int k = 0;
    for (int i = 0; i < p->argc; i++) {
        if (!swept_at(p, i)) {
            v[k++] = p->argv[i];
            continue;
        }
        for (int a = 0; a < p->n_axes; a++)
            if (p->argv[i - 1] + 2 == p->axes[a].flag) {
                char *slot = text + (size_t)a * VALUE;
                sweep_value(p, t, a, slot, VALUE);
                v[k++] = slot;
            }
    }
    v[k] = NULL;
    return v;
}

/* ---- the sweep folder ------------------------------------------------------------------------------------ */

void sweep_trial_dir(const char *dir, int t, char *buf, size_t size)
{
    snprintf(buf, size, "%s/trial-%03d", dir, t + 1);
}

int sweep_lock(const char *dir, int *fd, vt_err *err)
{
    int rc = run_lock_take(dir, fd, NULL, err);
    return rc ? rc : run_lock_claim(*fd, dir, "swept", err);
}

int sweep_save(const char *dir, const sweep_plan *p, const sweep_state *states, vt_err *err)
{
    cJSON *j = cJSON_CreateObject(), *args = cJSON_CreateArray(), *st = cJSON_CreateArray();
    cJSON_AddItemToObject(j, "args", args);
    cJSON_AddItemToObject(j, "states", st);
    cJSON_AddStringToObject(j, "method", p->random ? "random" : "grid");
    cJSON_AddNumberToObject(j, "trials", p->trials);
    cJSON_AddStringToObject(j, "prune", sweep_prune_names[p->prune]);
    cJSON_AddBoolToObject(j, "paused", p->paused);
    cJSON_AddNumberToObject(j, "command_ack", (double)p->command_ack);
    for (int i = 0; i < p->argc; i++)
        cJSON_AddItemToArray(args, cJSON_CreateString(p->argv[i]));
    for (int t = 0; t < p->trials; t++)
        cJSON_AddItemToArray(st, cJSON_CreateString(sweep_state_names[states[t]]));
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    char path[VT_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", dir, SWEEP_PLAN);
    int rc = text ? vt_write_file_atomic(path, text, strlen(text), err) : vt_fail(err, VT_EIO, "out of memory");
    free(text);
    return rc;
}

/* sweep.json's states against the plan: one known name a trial. */
static int load_states(const cJSON *st, const sweep_plan *p, sweep_state *states)
{
    if (!cJSON_IsArray(st) || cJSON_GetArraySize(st) != p->trials)
        return -1;
    int t = 0;
    for (const cJSON *v = st->child; v; v = v->next, t++) {
        int k = 0;
        while (sweep_state_names[k] && !(cJSON_IsString(v) && strcmp(v->valuestring, sweep_state_names[k]) == 0))
            k++;
        if (!sweep_state_names[k])
            return -1;
        states[t] = (sweep_state)k;
    }
    return 0;
}

/* sweep.json's "prune": absent (a sweep made before the pruners) SWEEP_PRUNE_NONE, else its name's; -1 for
 * another. */
static int prune_of(const cJSON *v)
{
    if (!v)
        return SWEEP_PRUNE_NONE;
    for (int k = 0; cJSON_IsString(v) && sweep_prune_names[k]; k++)
        if (strcmp(v->valuestring, sweep_prune_names[k]) == 0)
            return k;
    return -1;
}

/* sweep.json's "paused" and "command_ack" (absent in a sweep made before ctl knew sweeps: false and 0); 0 when
 * either is something else. */
static int read_control(const cJSON *j, sweep_plan *p)
{
    const cJSON *paused = cJSON_GetObjectItemCaseSensitive(j, "paused");
    const cJSON *ack = cJSON_GetObjectItemCaseSensitive(j, "command_ack");
    if ((paused && !cJSON_IsBool(paused)) ||
        (ack && !(cJSON_IsNumber(ack) && ack->valuedouble >= 0 && ack->valuedouble <= 1e15)))
        return 0;
    p->paused = cJSON_IsTrue(paused);
    p->command_ack = ack ? (long)ack->valuedouble : 0;
    return 1;
}

int sweep_halving_rung(int epoch)
{
    for (long r = SWEEP_HALVING_MIN; r <= epoch; r *= SWEEP_HALVING_ETA)
        if (r == epoch)
            return 1;
    return 0;
}

int sweep_prune_halving(double v, const double *others, int n)
{
    int above = 0; /* the values better than v: v goes on while fewer than the rung's top 1/eta are */
    for (int i = 0; i < n; i++)
        above += others[i] > v;
    int kept = (n + 1) / SWEEP_HALVING_ETA;
    return above >= (kept > 0 ? kept : 1);
}

int sweep_prune_median(double v, const double *others, int n)
{
    if (n < 2)
        return 0;
    double *s = malloc(sizeof *s * (size_t)n);
    if (!s)
        return 0;
    memcpy(s, others, sizeof *s * (size_t)n);
    double median = train_median(s, n);
    free(s);
    return v < median;
}

int sweep_json_read(const char *dir, const char *name, size_t limit, cJSON **out, char *path, size_t size,
                    vt_err *err)
{
    char *text;
    *out = NULL;
    snprintf(path, size, "%s/%s", dir, name);
    int rc = vt_read_file(path, limit, &text, NULL, err);
    if (rc != VT_OK)
        return rc;
    *out = cJSON_Parse(text);
    free(text);
    return VT_OK;
}

int sweep_load(const char *dir, sweep_plan *p, sweep_state **states, vt_err *err)
{
    memset(p, 0, sizeof *p);
    *states = NULL;
    char path[VT_PATH_MAX + 32];
    cJSON *j;
    int rc = sweep_json_read(dir, SWEEP_PLAN, 16 << 20, &j, path, sizeof path, err);
    if (rc != VT_OK)
        return rc;
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(j, "args");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(j, "method");
    const cJSON *trials = cJSON_GetObjectItemCaseSensitive(j, "trials");
    int random = cJSON_IsString(method) && strcmp(method->valuestring, "random") == 0;
    int n = cJSON_IsArray(args) ? cJSON_GetArraySize(args) : -1;
    char **argv = n >= 0 ? calloc((size_t)n + 1, sizeof *argv) : NULL;
    int ok = argv && cJSON_IsNumber(trials) && trials->valuedouble >= 1 && trials->valuedouble <= SWEEP_MAX_TRIALS &&
             cJSON_IsString(method) && (random || strcmp(method->valuestring, "grid") == 0);
    int i = 0;
    for (const cJSON *v = ok ? args->child : NULL; v; v = v->next)
        ok &= cJSON_IsString(v) && (argv[i++] = v->valuestring) != NULL;
    vt_err why;
    if (!ok || (rc = sweep_plan_make(n, argv, random ? (int)trials->valuedouble : 0, p, &why)) != VT_OK)
        rc = vt_fail(err, VT_EUSAGE, "%s: not a sweep's plan (%s)", path, ok ? why.msg : "edited by hand?");
    else if ((p->prune = prune_of(cJSON_GetObjectItemCaseSensitive(j, "prune"))) < 0) {
        rc = vt_fail(err, VT_EUSAGE, "%s: \"prune\" is none, median or halving (edited by hand?)", path);
        sweep_plan_free(p);
    } else if (!read_control(j, p)) {
        rc = vt_fail(err, VT_EUSAGE, "%s: \"paused\" is true or false and \"command_ack\" a count (edited by hand?)",
                     path);
        sweep_plan_free(p);
    } else if (!(*states = malloc(sizeof **states * (size_t)p->trials)) ||
             load_states(cJSON_GetObjectItemCaseSensitive(j, "states"), p, *states) != 0) {
        rc = vt_fail(err, VT_EUSAGE, "%s: its states do not match its %d trials (edited by hand?)", path, p->trials);
        free(*states);
        *states = NULL;
        sweep_plan_free(p);
    }
    free(argv);
    cJSON_Delete(j);
    return rc;
}
