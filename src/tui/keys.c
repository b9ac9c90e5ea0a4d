/* tui/keys: the ONE key table. Dispatch (tui_key_action), the footer, the `?` help screen and the man page's
 * key list (tui_keys_man, checked against man/vggtop.1 by a test) all read it, so they cannot drift. */
#include "vggtop/tui.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vggtop/util.h"

#define S(n) (1u << ((n) - 1))
#define ALL TUI_ALL_SCREENS
#define SCROLLING (S(1) | S(3) | S(6) | S(8) | S(9))
#define CURSOR (S(3) | S(4) | S(7) | S(9)) /* Left/Right move a cursor, an image or an epoch */

const char *const tui_screen_names[TUI_N_SCREENS] = {"Setup", "Dashboard", "Report", "Confusion", "ROC",
                                                     "Compare", "Samples", "Summary", "Layers"};

const tui_key tui_keys[] = {
    /* everywhere */
    {'1', ACT_SCREEN1, "1", NULL, "Setup: pick the model and its settings, start a run", ALL},
    {'2', ACT_SCREEN2, "2", NULL, "Dashboard: live charts and progress of the run", ALL},
    {'3', ACT_SCREEN3, "3", NULL, "Report: per-class precision, recall, F1 and support", ALL},
    {'4', ACT_SCREEN4, "4", NULL, "Confusion: the confusion matrix as a heatmap", ALL},
    {'5', ACT_SCREEN5, "5", NULL, "ROC: per-class, micro and macro ROC curves and AUC", ALL},
    {'6', ACT_SCREEN6, "6", NULL, "Compare: validation curves of several runs", ALL},
    {'7', ACT_SCREEN7, "7", NULL, "Samples: test images with their predictions", ALL},
    {'8', ACT_SCREEN8, "8", NULL, "Summary: the Keras summary of the model", ALL},
    {'9', ACT_SCREEN9, "9", NULL, "Layers: gradient norm and dead ReLUs per layer, vanishing gradients flagged", ALL},
    {'\t', ACT_NEXT_SCREEN, "Tab", "Next", "next screen", ALL},
    {KEY_BTAB, ACT_PREV_SCREEN, "S-Tab", NULL, "previous screen", ALL},
    {'?', ACT_HELP, "?", "Help", "show every key (any key closes it)", ALL},
    {KEY_F(1), ACT_HELP, "F1", NULL, "show every key", ALL},
    {'q', ACT_QUIT, "q", "Quit", "quit (asks first while a run is live)", ALL},
    {'D', ACT_DETACH, "D", "Detach", "quit and leave the run training (in the background), printing the vggtop watch "
     "line to come back with", ALL},
    /* moving */
    {KEY_UP, ACT_UP, "Up", NULL, "previous field, row, class or run", ALL & ~S(7)},
    {'k', ACT_UP, "k", NULL, "the same as Up", ALL & ~S(7)},
    {KEY_DOWN, ACT_DOWN, "Down", NULL, "next field, row, class or run", ALL & ~S(7)},
    {'j', ACT_DOWN, "j", NULL, "the same as Down", ALL & ~S(7)},
    {KEY_PPAGE, ACT_PGUP, "PgUp", NULL, "one page up (Samples: 10 images back)", ALL & ~S(2)},
    {KEY_NPAGE, ACT_PGDN, "PgDn", NULL, "one page down (Samples: 10 images on)", ALL & ~S(2)},
    {KEY_HOME, ACT_HOME, "Home", NULL, "the first row, cell or image", ALL & ~S(2)},
    {KEY_END, ACT_END, "End", NULL, "the last row, cell or image", ALL & ~S(2)},
    {KEY_MOUSE, ACT_NONE, "Wheel", NULL, "the mouse wheel scrolls as Up and Down", SCROLLING | S(4) | S(5)},
    /* Setup */
    {KEY_LEFT, ACT_LEFT, "Left", NULL, "Setup: previous choice of the field (model, labels, yes/no)", S(1)},
    {KEY_RIGHT, ACT_RIGHT, "Right", NULL, "Setup: next choice of the field", S(1)},
    {' ', ACT_RIGHT, "Space", NULL, "Setup: next choice of the field", S(1)},
    {'e', ACT_TOGGLE, "e", "Edit", "Setup: edit the field: type, Enter accepts a valid value, Esc cancels", S(1)},
    {'\n', ACT_ENTER, "Enter", "Train", "Setup: start training with these settings", S(1)},
    {'t', ACT_REFRESH, "t", "Time", "Setup: measure the time per epoch of these settings now", S(1)},
    {'d', ACT_DOWNLOAD, "d", "Get CIFAR", "Setup: download CIFAR-100 into ./data/cifar-100-binary and switch to it", S(1)},
    {'c', ACT_CANCEL, "c", NULL, "Setup: cancel the download (the next d resumes it)", S(1)},
    /* Dashboard */
    {'p', ACT_PAUSE, "p", "Pause", "Dashboard: pause or resume training (also a run another vggtop trains)", S(2)},
    {'S', ACT_STOP, "S", "Stop", "Dashboard: stop after this step and save a checkpoint (asks first)", S(2)},
    {'\n', ACT_RESUME_RUN, "Enter", "Resume", "Dashboard: resume a stopped or killed run from its checkpoint", S(2)},
    {'+', ACT_LR_UP, "+", "LR*2", "Dashboard: double the learning rate", S(2)},
    {'-', ACT_LR_DOWN, "-", "LR/2", "Dashboard: halve the learning rate", S(2)},
    /* Report */
    {'s', ACT_SORT, "s", "Sort", "Report: sort by the next column", S(3)},
    {'r', ACT_REVERSE, "r", "Reverse", "Report: reverse the sort order", S(3)},
    {'/', ACT_SEARCH, "/", "Search", "Report: find a class by name (Enter keeps, Esc cancels)", S(3)},
    {'n', ACT_SEARCH_NEXT, "n", "Next", "Report: the next class matching the search", S(3)},
    {'v', ACT_VIEW, "v", "Heatmap", "Report: the table or the class x epoch heatmap (from per_class.csv)", S(3)},
    {'m', ACT_METRIC, "m", "Metric", "Report: the heatmap and the trend marks show F1 or recall", S(3)},
    /* Confusion, Samples, Report's heatmap, Layers */
    {KEY_LEFT, ACT_LEFT, "Left", NULL, "previous cell, image or epoch (Confusion, Samples, Report's heatmap, Layers)",
     CURSOR},
    {KEY_RIGHT, ACT_RIGHT, "Right", NULL, "next cell, image or epoch", CURSOR},
    {'h', ACT_LEFT, "h", NULL, "the same as Left", CURSOR},
    {'l', ACT_RIGHT, "l", NULL, "the same as Right", CURSOR},
    {'n', ACT_NORMALIZE, "n", "Norm", "Confusion: counts or row-normalised shares", S(4)},
    {'f', ACT_FOLD, "f", "Fold", "Confusion: fold CIFAR-100 to its 20 superclasses", S(4)},
    /* ROC */
    {' ', ACT_TOGGLE, "Space", "Draw", "ROC: draw or hide the selected class; Compare: the selected run", S(5) | S(6)},
    {'a', ACT_ALL, "a", "None", "ROC: hide every class curve (micro and macro stay)", S(5)},
    {'z', ACT_ZOOM, "z", "Zoom", "ROC: zoom on the upper-left corner (FPR 0-0.2, TPR 0.8-1)", S(5)},
    /* Compare */
    {'m', ACT_METRIC, "m", "Metric", "Compare: chart val_acc, val_loss or val_mse", S(6)},
    {'\n', ACT_ENTER, "Enter", "Open", "Compare: open the selected run on every screen", S(6)},
    {'r', ACT_REFRESH, "r", "Rescan", "Compare: read the runs directory again", S(6)},
    /* Samples */
    {'m', ACT_MISSED, "m", "Missed", "Samples: step through every image or only the misclassified", S(7)},
};

const int tui_n_keys = (int)(sizeof tui_keys / sizeof tui_keys[0]);

tui_action tui_key_action(int key, int screen)
{
    if (key == KEY_ENTER || key == '\r')
        key = '\n';
    for (int i = 0; i < tui_n_keys; i++)
        if (tui_keys[i].key == key && (tui_keys[i].screens & S(screen)))
            return tui_keys[i].action;
    return ACT_NONE;
}

/* The groups of the help screen and the man page: keys that work everywhere, the moving keys that work on
 * most screens, then each screen's own keys. */
enum { GROUP_ALL = 0, GROUP_MOVING = TUI_N_SCREENS + 1, N_GROUPS = TUI_N_SCREENS + 2 };

static int is_moving(const tui_key *k) { return k->screens != ALL && __builtin_popcount(k->screens) >= 4; }

static int in_group(const tui_key *k, int group)
{
    if (group == GROUP_ALL)
        return k->screens == ALL;
    if (group == GROUP_MOVING)
        return is_moving(k);
    return k->screens != ALL && !is_moving(k) && (k->screens & S(group));
}

/* Groups in the order shown: everywhere, moving, then screens 1..TUI_N_SCREENS. */
static int group_at(int i) { return i == 0 ? GROUP_ALL : i == 1 ? GROUP_MOVING : i - 1; }

static const char *group_title(int group)
{
    return group == GROUP_ALL ? "Everywhere" : group == GROUP_MOVING ? "Moving" : tui_screen_names[group - 1];
}

static int group_empty(int group)
{
    for (int i = 0; i < tui_n_keys; i++)
        if (in_group(&tui_keys[i], group))
            return 0;
    return 1;
}

static const char *group_suffix(int group) { return group == GROUP_ALL || group == GROUP_MOVING ? "" : " screen"; }

/* roff: a '-' must be "\-" and a backslash "\e"; a leading '.' or '\'' is protected by "\&". */
static void roff_add(vt_buf *b, const char *text)
{
    char one[2] = {0, 0};
    if (text[0] == '.' || text[0] == '\'')
        vt_buf_add(b, "\\&");
    for (const char *p = text; *p; p++) {
        if (*p == '-')
            vt_buf_add(b, "\\-");
        else if (*p == '\\')
            vt_buf_add(b, "\\e");
        else {
            one[0] = *p;
            vt_buf_add(b, one);
        }
    }
}

char *tui_keys_man(void)
{
    vt_buf b = {0};
    for (int gi = 0; gi < N_GROUPS; gi++) {
        int group = group_at(gi);
        if (group_empty(group))
            continue;
        vt_buf_add(&b, ".SS ");
        vt_buf_add(&b, group_title(group));
        vt_buf_add(&b, group_suffix(group));
        vt_buf_add(&b, "\n");
        for (int i = 0; i < tui_n_keys; i++) {
            if (!in_group(&tui_keys[i], group))
                continue;
            vt_buf_add(&b, ".TP\n.B ");
            roff_add(&b, tui_keys[i].label);
            vt_buf_add(&b, "\n");
            roff_add(&b, tui_keys[i].help);
            vt_buf_add(&b, "\n");
        }
    }
    return vt_buf_take(&b);
}

char *tui_keys_help(void)
{
    vt_buf b = {0};
    char line[256];
    for (int gi = 0; gi < N_GROUPS; gi++) {
        int group = group_at(gi);
        if (group_empty(group))
            continue;
        snprintf(line, sizeof line, "%s%s\n", group_title(group), group_suffix(group));
        vt_buf_add(&b, line);
        for (int i = 0; i < tui_n_keys; i++) {
            if (!in_group(&tui_keys[i], group))
                continue;
            snprintf(line, sizeof line, "  %-6s %s\n", tui_keys[i].label, tui_keys[i].help);
            vt_buf_add(&b, line);
        }
        vt_buf_add(&b, "\n");
    }
    return vt_buf_take(&b);
}

void tui_footer_draw(tui_grid *g, int row, int screen, const char *(*brief)(const tui_key *k, void *ctx), void *ctx)
{
    tui_grid_fill(g, (tui_rect){row, 0, 1, g->cols}, ' ', ROLE_KEYLABEL, 0);
    int x = 0;
    /* This screen's own keys first (they matter most), then the global ones that have a word. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < tui_n_keys; i++) {
            const tui_key *k = &tui_keys[i];
            int global = k->screens == ALL;
            if (!k->brief || !(k->screens & S(screen)) || global != (pass == 1))
                continue;
            const char *word = brief ? brief(k, ctx) : k->brief;
            if (!word)
                continue;
            int need = (int)(strlen(k->label) + strlen(word)) + 2;
            if (x + need > g->cols)
                continue;
            x += tui_grid_text(g, row, x, -1, ROLE_KEY, 0, k->label);
            x += tui_grid_text(g, row, x, -1, ROLE_KEYLABEL, 0, " ");
            x += tui_grid_text(g, row, x, -1, ROLE_KEYLABEL, 0, word);
            x += 1;
        }
}
