/* tui/versus: "this run vs that run" on Report and Confusion. The other run is one marked on Compare (x) that
 * is not the run shown; its predictions are read here (when the vs mode is on and the other run or the classes
 * changed, never in a draw) into a confusion matrix and a report of the same classes as the run shown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui_internal.h"

const char *versus_other(const app *a)
{
    for (int i = a->dif.n_marked - 1; i >= 0; i--)
        if (strcmp(a->dif.mark[i], a->dir) != 0)
            return a->dif.mark[i];
    return NULL;
}

void versus_close(app *a)
{
    versus_view *v = &a->vs;
    free(v->cm);
    v->cm = NULL;
    if (v->have)
        metrics_report_free(&v->rep);
    v->have = 0;
    v->dir[0] = '\0';
    v->C = 0;
}

int versus_toggle(app *a, int *on)
{
    if (!*on && !versus_other(a)) {
        app_set_status(a, ROLE_WARN, "no run to compare with: mark one on Compare (x), then c here");
        return H_REDRAW;
    }
    *on = !*on;
    if (*on)
        versus_close(a); /* read afresh: the other run may have evaluated since */
    return H_REDRAW;
}

/* Reads run dir's predictions into v: its C x C matrix and report. 0, or -1 with v->err said. */
static int versus_load(versus_view *v, const char *dir, int C)
{
    run_data r;
    vt_err err;
    snprintf(v->dir, sizeof v->dir, "%s", dir);
    v->C = C;
    if (run_load(dir, RUN_PART_CONFIG | RUN_PART_PREDICTIONS, &r, &err) != VT_OK) {
        snprintf(v->err, sizeof v->err, "%s", err.msg);
        return -1;
    }
    int rc = -1;
    if (!(r.parts & RUN_PART_PREDICTIONS) || r.n_pred < 1)
        snprintf(v->err, sizeof v->err, "%s has no predictions yet", dir);
    else if (r.pred_classes != C)
        snprintf(v->err, sizeof v->err, "%s has %d classes, this run %d: not the same task", dir, r.pred_classes, C);
    else if (!(v->cm = calloc((size_t)C * (size_t)C, sizeof *v->cm)))
        snprintf(v->err, sizeof v->err, "out of memory");
    else {
        metrics_confusion(r.y_true, r.y_pred, r.n_pred, C, v->cm);
        rc = metrics_report(v->cm, C, 1, &v->rep);
        if (rc != 0)
            snprintf(v->err, sizeof v->err, "out of memory");
    }
    run_free(&r);
    return rc;
}

int versus_ready(app *a)
{
    versus_view *v = &a->vs;
    const char *other = versus_other(a);
    if (!other || a->C < 1) {
        versus_close(a);
        snprintf(v->err, sizeof v->err, "no run to compare with: mark one on Compare (x)");
        return 0;
    }
    if (strcmp(other, v->dir) == 0 && v->C == a->C)
        return v->have;
    versus_close(a);
    v->err[0] = '\0';
    v->have = versus_load(v, other, a->C) == 0;
    v->gen++;
    return v->have;
}
