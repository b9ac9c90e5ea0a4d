/* tui/derived: what the screens show that is computed from the run's predictions (predictions.csv, or the
 * live run's evaluation): the confusion matrix (C x C counts), the classification report, the class names, and
 * the ROC curves (a sort per class, so only when the ROC screen first asks). The screens' own views of them
 * are dropped through the screen table's reset when they change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui_internal.h"

const char *app_class_name(const app *a, int cls)
{
    if (a->names && cls >= 0 && cls < a->C)
        return a->names[cls];
    return "?";
}

void derived_free(app *a)
{
    free(a->cm);
    a->cm = NULL;
    if (a->have_rep)
        metrics_report_free(&a->rep);
    a->have_rep = 0;
    if (a->roc) {
        for (int i = 0; i < a->C; i++)
            metrics_roc_free(&a->roc[i]);
        free(a->roc);
        a->roc = NULL;
    }
    if (a->have_roc) {
        metrics_roc_free(&a->micro);
        metrics_roc_free(&a->macro);
    }
    a->have_roc = 0;
    if (a->owned_names) {
        for (int i = 0; i < a->C; i++)
            free(a->owned_names[i]);
        free(a->owned_names);
        a->owned_names = NULL;
    }
    a->names = NULL;
    app_screens_reset(a, 0);
}

void derived_compute(app *a)
{
    int oldC = a->C;
    derived_free(a);
    a->C = 0;
    if (!a->have_run || !(a->run.parts & RUN_PART_PREDICTIONS) || a->run.n_pred <= 0)
        return;
    int C = a->run.pred_classes;
    a->C = C;
    a->cm = calloc((size_t)C * (size_t)C, sizeof *a->cm);
    if (!a->cm) {
        a->C = 0;
        return;
    }
    metrics_confusion(a->run.y_true, a->run.y_pred, a->run.n_pred, C, a->cm);
    /* The classes present in y_true or y_pred, as sklearn's default and report.txt: the same numbers everywhere. */
    a->have_rep = metrics_report(a->cm, C, 0, &a->rep) == 0;
    if (a->run.class_names && a->run.classes == C) {
        a->names = a->run.class_names;
    } else {
        a->owned_names = calloc((size_t)C, sizeof *a->owned_names);
        for (int i = 0; a->owned_names && i < C; i++) {
            char b[16];
            snprintf(b, sizeof b, "%d", i);
            a->owned_names[i] = strdup(b);
        }
        a->names = a->owned_names;
    }
    app_screens_reset(a, C != oldC);
}

void derived_roc(app *a)
{
    if (a->have_roc || a->C <= 0)
        return;
    a->roc = calloc((size_t)a->C, sizeof *a->roc);
    if (!a->roc)
        return;
    for (int c = 0; c < a->C; c++)
        metrics_roc_class(a->run.probs, a->run.y_true, a->run.n_pred, a->C, c, &a->roc[c]);
    metrics_roc_micro(a->run.probs, a->run.y_true, a->run.n_pred, a->C, &a->micro);
    metrics_roc_macro(a->roc, a->C, &a->macro);
    a->have_roc = 1;
}
