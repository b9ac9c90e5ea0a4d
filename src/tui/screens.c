/* tui/screens: the screen table. One row per screen, in tab order: its name and its digit key's help, the
 * shared moving keys it takes, and what the app calls it for (draw, keys, enter, a change of predictions, a
 * change of its run file, the end). The tabs, the digit keys, where the moving keys work, the help's groups
 * and every per-screen call of the app read this table, so a new screen is its own file plus a row here (and
 * its value in tui.h's tui_screen; its own keys, if any, are rows of the key table). */
#include "tui_internal.h"

/* The shared moving keys a screen takes (tui.h's TUI_KEYS_*). */
#define ROWS TUI_KEYS_ROWS
#define PAGES TUI_KEYS_PAGES
#define CURSOR TUI_KEYS_CURSOR
#define WHEEL TUI_KEYS_WHEEL

const screen_ops app_screens[TUI_N_SCREENS] = {
    {TUI_SCREEN_SETUP, "Setup", "pick the model and its settings, start a run", ROWS | PAGES | WHEEL,
     setup_draw, setup_key, NULL, NULL, NULL, NULL, setup_close, NULL, NULL},
    {TUI_SCREEN_DASHBOARD, "Dashboard", "live charts and progress of the run", ROWS,
     dash_draw, dash_key, NULL, NULL, NULL, dash_forget, NULL, dash_save_figure, NULL},
    {TUI_SCREEN_REPORT, "Report", "per-class precision, recall, F1 and support", ROWS | PAGES | WHEEL | CURSOR,
     report_draw, report_key, report_enter, report_reset, RUN_PER_CLASS, report_load_history, report_close,
     report_save_figure, NULL},
    {TUI_SCREEN_CONFUSION, "Confusion", "the confusion matrix as a heatmap", ROWS | PAGES | WHEEL | CURSOR,
     confusion_draw, confusion_key, confusion_enter, confusion_changed, NULL, NULL, confusion_reset,
     confusion_save_figure, NULL},
    {TUI_SCREEN_ROC, "ROC", "per-class, micro and macro ROC curves and AUC", ROWS | PAGES | WHEEL,
     roc_draw, roc_key, roc_enter, roc_reset, NULL, NULL, roc_close, roc_save_figure, NULL},
    {TUI_SCREEN_COMPARE, "Compare", "validation curves of several runs", ROWS | PAGES | WHEEL,
     compare_draw, compare_key, NULL, NULL, NULL, NULL, compare_free, compare_save_figure, NULL},
    {TUI_SCREEN_SAMPLES, "Samples", "test images with their predictions", PAGES | CURSOR,
     samples_draw, samples_key, samples_enter, samples_reset, NULL, NULL, samples_close, samples_save_figure, NULL},
    {TUI_SCREEN_SUMMARY, "Summary", "the Keras summary of the model", ROWS | PAGES | WHEEL,
     summary_draw, summary_key, summary_prepare, NULL, NULL, NULL, summary_close, NULL, NULL},
    {TUI_SCREEN_LAYERS, "Layers", "gradient norm and dead ReLUs per layer, vanishing gradients flagged",
     ROWS | PAGES | WHEEL | CURSOR,
     layers_draw, layers_key, layers_enter, NULL, RUN_LAYERS, layers_load, layers_free, NULL, NULL},
    {TUI_SCREEN_SWEEP, "Sweep", "a sweep's leaderboard and val_acc against each swept setting",
     ROWS | PAGES | WHEEL, sweep_draw, sweep_key, sweep_enter, NULL, NULL, NULL, sweep_close, sweep_save_figure,
     NULL},
    {TUI_SCREEN_DIFF, "Diff", "two runs compared class by class (the runs marked on Compare, or Sweep's d)",
     ROWS | PAGES | WHEEL, diff_draw, diff_key, diff_enter, NULL, NULL, NULL, diff_close, NULL, diff_skipped},
};

const char *tui_screen_name(tui_screen s)
{
    return s >= TUI_SCREEN_SETUP && s < TUI_SCREEN_END ? app_screens[s - 1].name : "?";
}

const screen_ops *app_screen(const app *a) { return &app_screens[a->screen - 1]; }

void app_screens_reset(app *a, int classes_changed)
{
    for (int i = 0; i < TUI_N_SCREENS; i++)
        if (app_screens[i].reset)
            app_screens[i].reset(a, classes_changed);
}

void app_screens_close(app *a)
{
    for (int i = 0; i < TUI_N_SCREENS; i++)
        if (app_screens[i].free)
            app_screens[i].free(a);
}
