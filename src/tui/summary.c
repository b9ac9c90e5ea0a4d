/* tui/summary: screen 8, the Keras summary of the run's model (or the Setup screen's choice). */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tui_internal.h"

/* ---- 8 Summary ----------------------------------------------------------------------------------------- */

void summary_prepare(app *a)
{
    if (!(a->have_run && (a->run.parts & RUN_PART_CONFIG)))
        return;
    char key[64];
    snprintf(key, sizeof key, "%s/%d/%d/%d/%d", a->run.config.model, a->run.height, a->run.width, a->run.channels,
             a->run.classes);
    if (a->sum.model_text && strcmp(key, a->sum.model_text_for) == 0)
        return;
    free(a->sum.model_text);
    a->sum.model_text = NULL;
    vt_err err;
    train_config cfg = a->run.config;
    cfg.resize = 0; /* run.height is already the model's input */
    if (train_model_summary(&cfg, a->run.height, a->run.width, a->run.channels, a->run.classes, &a->sum.model_text,
                            NULL, &err) != VT_OK) {
        free(a->sum.model_text);
        a->sum.model_text = strdup(err.msg);
    }
    snprintf(a->sum.model_text_for, sizeof a->sum.model_text_for, "%s", key);
}

void summary_close(app *a)
{
    free(a->sum.model_text);
    a->sum.model_text = NULL;
}

/* The text shown: the run's model (summary_prepare), else the Setup screen's choice. */
static const char *summary_current(const app *a)
{
    if (a->have_run && (a->run.parts & RUN_PART_CONFIG))
        return a->sum.model_text;
    return a->facts.summary;
}

void summary_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    const char *text = summary_current(a);
    if (!text) {
        tui_grid_text(g, body.top + 1, 2, body.width - 4, ROLE_DIM, 0,
                      a->live ? "loading the model..." : "no model yet: pick one on the Setup screen (1)");
        return;
    }
    tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD, "Model summary (%s)",
                    a->have_run ? a->run.config.model : a->cfg.model);
    tui_text_draw(g, (tui_rect){body.top + 1, 1, body.height - 1, body.width - 2}, text, a->sum.text_top, ROLE_DEFAULT);
}

int summary_key(app *a, int key, tui_action act)
{
    (void)key;
    /* Not past the last line (it used to scroll into blank pages). */
    return app_scroll(&a->sum.text_top, act, app_count_lines(summary_current(a)), app_body_height(a) - 1);
}
