/* tui/samples: screen 7, test images with their true and predicted class and the top-5 probabilities, and
 * first, with --image FILE, the user's own image with the top 5 the run's model gives it. */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tui_internal.h"

/* ---- 7 Samples ------------------------------------------------------------------------------------------- */

#define SAMPLES_TEXT 43 /* the columns right of the image: a margin and "0.1234 <20-column bar> class name" */

/* --image FILE for the run shown: its pixels at the model's input size (what the model sees) and the run's
 * probabilities (run_predict_files, as vggtop predict); a file that cannot be read or a run without a
 * checkpoint leaves the reason in image_err, shown in the image's place. Once per run, and again after the
 * run's predictions were reloaded (a watched run's new epoch, with its new checkpoint). */
static void samples_load_image(app *a)
{
    samples_view *v = &a->smp;
    int same_run = strcmp(v->image_dir, a->dir) == 0;
    if (!a->opt.image || (same_run && !v->image_stale))
        return;
    v->image_stale = 0;
    free(v->image);
    free(v->image_probs);
    v->image = NULL;
    v->image_probs = NULL;
    v->image_err[0] = '\0';
    snprintf(v->image_dir, sizeof v->image_dir, "%s", a->dir);
    if (!same_run)
        v->sample = -1; /* shown first */
    vt_err err;
    uint8_t *rgb = NULL;
    int h, w, side_h = a->run.height > 0 ? a->run.height : 32, side_w = a->run.width > 0 ? a->run.width : 32;
    const char *file = a->opt.image;
    int rc = image_read(file, IMAGE_MAX_PIXELS, &rgb, &h, &w, &err);
    if (!rc && !(v->image = malloc((size_t)side_h * (size_t)side_w * 3)))
        rc = vt_fail(&err, VT_EIO, "out of memory for %s", file);
    if (!rc && image_resize_bicubic(rgb, h, w, 3, v->image, side_h, side_w) != 0)
        rc = vt_fail(&err, VT_EIO, "out of memory resizing %s", file);
    free(rgb);
    if (!rc)
        rc = run_predict_files(a->dir, 0, &file, 1, &v->image_probs, &v->image_classes, &err);
    if (rc) {
        free(v->image);
        v->image = NULL;
        snprintf(v->image_err, sizeof v->image_err, "%s", err.msg);
        return;
    }
    v->image_h = side_h;
    v->image_w = side_w;
}

/* The screen's enter: loads the run's test images (once per run; native size: what a person looks at, not
 * what the model was fed). Called before a key too, so keys typed right after 7, before the first frame, move
 * through the images instead of being dropped. */
void samples_enter(app *a)
{
    if (!a->have_run || !(a->run.parts & RUN_PART_CONFIG))
        return;
    samples_load_image(a);
    if (a->smp.test && strcmp(a->smp.test_dir, a->dir) == 0)
        return;
    if (a->smp.test_err[0] && strcmp(a->smp.test_dir, a->dir) == 0)
        return;
    if (a->smp.test)
        data_destroy(a->smp.test);
    a->smp.test = NULL;
    a->smp.test_err[0] = '\0';
    snprintf(a->smp.test_dir, sizeof a->smp.test_dir, "%s", a->dir);
    /* --data says where the data set is now, when it has moved since the run was trained. */
    data_options opt;
    train_data_view_options(&a->run, a->opt.data_dir, &opt);
    vt_err err;
    if (data_open(&opt, &a->smp.test, &err) != VT_OK) {
        a->smp.test = NULL;
        snprintf(a->smp.test_err, sizeof a->smp.test_err, "%s", err.msg);
    } else if (train_data_check(&a->run.config, a->smp.test, NULL, 0, &err) != VT_OK) {
        data_destroy(a->smp.test); /* another set's images beside this run's predictions would mislead */
        a->smp.test = NULL;
        snprintf(a->smp.test_err, sizeof a->smp.test_err, "%s", err.msg);
    }
}

/* The first index: -1 (the user's image) with --image. */
static long samples_first(const app *a) { return a->opt.image ? -1 : 0; }

void samples_reset(app *a, int classes_changed)
{
    if (classes_changed)
        a->smp.sample = samples_first(a);
    a->smp.image_stale = 1;
}

void samples_close(app *a)
{
    if (a->smp.test)
        data_destroy(a->smp.test);
    a->smp.test = NULL;
    free(a->smp.image);
    free(a->smp.image_probs);
    a->smp.image = NULL;
    a->smp.image_probs = NULL;
    a->smp.image_dir[0] = '\0';
}

static long samples_count(const app *a)
{
    long n = a->run.n_pred;
    if (a->smp.test && a->smp.test->n_test < n)
        n = a->smp.test->n_test;
    return n;
}

static int missed(const app *a, long i) { return i >= 0 && a->run.y_true[i] != a->run.y_pred[i]; }

/* The five most probable classes of pr (a->C probabilities), each with its probability as a bar (the true
 * class t in green; -1: none known); returns the next row. */
static int draw_top5(app *a, int y, int x, int tw, const float *pr, int t)
{
    tui_grid *g = &a->grid;
    tui_grid_text(g, y++, x, tw, ROLE_LABEL, 0, "top 5:");
    int top[5], k5 = a->C < 5 ? a->C : 5;
    for (int k = 0; k < k5; k++) {
        int best = -1;
        for (int c = 0; c < a->C; c++) {
            int used = 0;
            for (int j = 0; j < k; j++)
                used |= top[j] == c;
            if (!used && (best < 0 || pr[c] > pr[best]))
                best = c;
        }
        top[k] = best;
        char bar[3 * 20 + 5 + 20]; /* full blocks in UTF-8 mode, '#' in ASCII; padded to 20 columns */
        int len = (int)lrint(pr[best] * 20), at = 0;
        if (len < 0)
            len = 0;
        if (len > 20)
            len = 20;
        for (int b = 0; b < len; b++)
            at += a->utf8 ? tui_utf8_encode(0x2588, bar + at) : (bar[at] = '#', 1);
        for (int b = len; b < 20; b++)
            bar[at++] = ' ';
        bar[at] = '\0';
        tui_grid_printf(g, y++, x, tw, best == t ? ROLE_GOOD : ROLE_DEFAULT, 0, "%6.4f %s %s", pr[best], bar,
                        app_class_name(a, best));
    }
    return y;
}

/* The largest scale at which an h x w image fits the body beside the text. */
static int image_scale(tui_rect body, int h, int w)
{
    int scale = 1;
    while ((scale + 1) * w + SAMPLES_TEXT <= body.width && ((scale + 1) * h + 1) / 2 <= body.height - 1)
        scale++;
    return scale;
}

/* Sample -1: the user's own image (--image) and the run's top 5 for it, or why there is none. */
static void draw_own_image(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    const samples_view *v = &a->smp;
    tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD, "Your image: %s", a->opt.image);
    int x = 2, y = body.top + 1;
    if (v->image && v->image_probs && v->image_classes == a->C) {
        int scale = image_scale(body, v->image_h, v->image_w);
        tui_image_draw(g, body.top + 1, 1, v->image, v->image_h, v->image_w, 3, scale, a->depth, a->utf8);
        x = v->image_w * scale + 3;
        int tw = body.width - x - 1, best = 0;
        for (int c = 1; c < a->C; c++)
            best = v->image_probs[c] > v->image_probs[best] ? c : best;
        tui_grid_printf(g, y++, x, tw, ROLE_GOOD, TUI_BOLD, "predicted: %s (%d)", app_class_name(a, best), best);
        y = draw_top5(a, y + 1, x, tw, v->image_probs, -1) + 1;
        tui_grid_text(g, y, x, tw, ROLE_DIM, 0, "Right: the run's test images");
        return;
    }
    char why[700];
    snprintf(why, sizeof why, "No prediction: %s", v->image_err[0] ? v->image_err : "the run's classes changed since");
    int used = app_draw_wrapped(g, (tui_rect){y + 1, x, body.height - 3, body.width - x - 1}, why, ROLE_WARN);
    tui_grid_text(g, y + 2 + used, x, body.width - x - 1, ROLE_DIM, 0, "Right: the run's test images");
}

void samples_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    if (a->C <= 0) {
        app_no_data(a, body, "Samples");
        if (a->opt.image) { /* `vggtop --image cat.jpg` before any run: say where the image went */
            char line[VT_PATH_MAX + 96];
            snprintf(line, sizeof line, "Your image (%s) comes first here, with the top 5 the run's model gives it, "
                     "once there is a run.", a->opt.image);
            app_draw_wrapped(g, (tui_rect){body.top + 5, 2, 3, body.width - 4}, line, ROLE_DIM);
        }
        return;
    }
    /* Without its images (the data set moved, or this machine has none) a run still has its predictions:
     * true, predicted and top-5 come from predictions.csv, and a line says why there is no picture. */
    if (a->smp.sample < 0 && a->opt.image) {
        draw_own_image(a, body);
        return;
    }
    long n = samples_count(a);
    if (n <= 0) {
        tui_grid_text(g, body.top + 1, 2, body.width - 4, ROLE_DIM, 0, "no test images in this run");
        return;
    }
    long i = a->smp.sample < 0 ? 0 : a->smp.sample >= n ? n - 1 : a->smp.sample; /* the keys keep it in range */
    const dataset *ds = a->smp.test;
    int x = 2;
    if (ds) {
        int h = ds->height, w = ds->width, ch = ds->channels;
        /* As large as the body allows beside the 43 columns of the text (a 32x32 image at 120x40 is 64
         * columns wide: half the width used to be its limit, which kept it at 32 columns there). */
        int scale = image_scale(body, h, w);
        const uint8_t *img = ds->test_x + (size_t)i * (size_t)h * (size_t)w * (size_t)ch;
        tui_image_draw(g, body.top + 1, 1, img, h, w, ch, scale, a->depth, a->utf8);
        x = w * scale + 3;
    }
    int tw = body.width - x - 1, y = body.top + 1;
    int t = a->run.y_true[i], p = a->run.y_pred[i];
    long nm = 0, before = 0; /* misclassified in all, and up to this image */
    for (long k = 0; k < n; k++) {
        nm += missed(a, k);
        before += k <= i && missed(a, k);
    }
    if (a->smp.missed_only && missed(a, i))
        /* counted among the misclassified (it said "14 of 500" for the 14th of 448) */
        tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD,
                        "Misclassified image %ld of %ld (test image %ld of %ld)", before, nm, i + 1, n);
    else
        tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD, "Test image %ld of %ld (%ld misclassified)",
                        i + 1, n, nm);
    tui_grid_printf(g, y++, x, tw, ROLE_LABEL, 0, "true:      %s (%d)", app_class_name(a, t), t);
    tui_grid_printf(g, y++, x, tw, t == p ? ROLE_GOOD : ROLE_BAD, TUI_BOLD, "predicted: %s (%d)%s", app_class_name(a, p),
                    p, t == p ? "" : "  - wrong");
    y++;
    y = draw_top5(a, y, x, tw, a->run.probs + (size_t)i * (size_t)a->C, t) + 1;
    /* Two short lines: one long one lost its end at 80 columns. */
    tui_grid_text(g, y++, x, tw, ROLE_DIM, 0, "Left/Right: previous/next image");
    tui_grid_text(g, y++, x, tw, ROLE_DIM, 0, a->smp.missed_only ? "m: every image" : "m: only the misclassified");
    if (!ds) {
        char why[700];
        snprintf(why, sizeof why, "No image: %s", a->smp.test_err[0] ? a->smp.test_err : "the run's test images are not here");
        app_draw_wrapped(g, (tui_rect){y + 1, x, body.top + body.height - y - 1, tw}, why, ROLE_WARN);
    }
}

int samples_key(app *a, int key, tui_action act)
{
    (void)key;
    if (a->C <= 0)
        return act == ACT_MISSED ? (a->smp.missed_only = !a->smp.missed_only, H_REDRAW) : H_NONE;
    long n = samples_count(a);
    if (n <= 0)
        return H_NONE;
    long step = 0;
    switch (act) {
    case ACT_LEFT: step = -1; break;
    case ACT_RIGHT: step = 1; break;
    case ACT_PGUP: step = -10; break;
    case ACT_PGDN: step = 10; break;
    case ACT_HOME:
        a->smp.sample = samples_first(a); /* the own image stays first, in either mode */
        step = a->smp.missed_only && a->smp.sample == 0 && !missed(a, 0) ? 1 : 0;
        break;
    case ACT_END: a->smp.sample = n - 1; step = a->smp.missed_only && n > 0 && !missed(a, n - 1) ? -1 : 0; break;
    case ACT_MISSED:
        a->smp.missed_only = !a->smp.missed_only;
        step = a->smp.missed_only && n > 0 && !missed(a, a->smp.sample) ? 1 : 0;
        break;
    default: return H_NONE;
    }
    if (step && a->smp.missed_only) {
        /* move |step| misclassified images in that direction */
        long dir = step > 0 ? 1 : -1, left = step > 0 ? step : -step, i = a->smp.sample, found = a->smp.sample;
        while (left > 0) {
            i += dir;
            if (i < 0 || i >= n)
                break;
            if (missed(a, i)) {
                found = i;
                left--;
            }
        }
        if (found == a->smp.sample && left > 0)
            app_set_status(a, ROLE_DIM, "no more misclassified images that way");
        a->smp.sample = found;
    } else {
        a->smp.sample += step;
    }
    if (a->smp.sample >= n)
        a->smp.sample = n - 1;
    if (a->smp.sample < samples_first(a))
        a->smp.sample = samples_first(a);
    return H_REDRAW;
}
