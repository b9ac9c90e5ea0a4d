/* Unit tests of plot (src/plot): the flags' parsers, PLplot's text escaping, and the three formats read back as
 * a reader would: the SVG's text (titles, axis labels, legend entries), its series (one polyline per series in
 * its colour, the first and last epoch at the ends of the axis), the PNG decoded here with zlib (its size, a
 * plot area that is not blank, the series' colours), the PDF's header and page count; and the atomic write
 * (nothing left behind by a document dropped or refused). The figures of run directories are tested end to end
 * by tests/e2e/cli_plot.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "testing.h"
#include "sweep_testing.h"
#include "vggtop/plot.h"

static char *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    vt_err err;
    assert_int_equal(vt_read_file(path, 64 << 20, &data, len, &err), VT_OK);
    return data;
}

/* The text of every <tspan> of a PLplot SVG, entities decoded (PLplot writes each character as &#x..;),
 * joined by '|'. */
static void svg_texts(const char *svg, char *out, size_t size)
{
    size_t j = 0;
    const char *p = svg;
    while ((p = strstr(p, "<tspan")) && j + 2 < size) {
        p = strchr(p, '>');
        if (!p)
            break;
        p++;
        while (*p && strncmp(p, "</tspan>", 8) != 0 && j + 5 < size) {
            if (strncmp(p, "&#x", 3) == 0) {
                unsigned long cp = strtoul(p + 3, (char **)&p, 16);
                p++; /* ';' */
                if (cp < 0x80)
                    out[j++] = (char)cp;
                else if (cp < 0x800) {
                    out[j++] = (char)(0xc0 | cp >> 6);
                    out[j++] = (char)(0x80 | (cp & 0x3f));
                } else {
                    out[j++] = (char)(0xe0 | cp >> 12);
                    out[j++] = (char)(0x80 | (cp >> 6 & 0x3f));
                    out[j++] = (char)(0x80 | (cp & 0x3f));
                }
            } else if (strncmp(p, "&amp;", 5) == 0) {
                out[j++] = '&';
                p += 5;
            } else {
                out[j++] = *p++;
            }
        }
        out[j++] = '|';
    }
    out[j] = '\0';
}

/* The points of the n-th polyline drawn in colour (e.g. "#FF0000") with the given width, into xs/ys; returns
 * how many polylines of that colour and width the SVG has. */
static int svg_series(const char *svg, const char *colour, const char *width, int nth, double *xs, double *ys,
                      int max, int *points)
{
    int count = 0;
    const char *p = svg;
    char want[64], stroke[64];
    snprintf(want, sizeof want, "stroke=\"%s\"", colour);
    snprintf(stroke, sizeof stroke, "stroke-width=\"%s\"", width);
    while ((p = strstr(p, "<polyline"))) {
        const char *end = strstr(p, "/>");
        assert_non_null(end);
        char tag[4096];
        size_t len = (size_t)(end - p) < sizeof tag - 1 ? (size_t)(end - p) : sizeof tag - 1;
        memcpy(tag, p, len);
        tag[len] = '\0';
        p = end;
        if (!strstr(tag, want) || !strstr(tag, stroke))
            continue;
        if (count++ != nth)
            continue;
        const char *q = strstr(tag, "points=\"");
        assert_non_null(q);
        q += 8;
        int n = 0;
        char *e;
        while (n < max) {
            double x = strtod(q, &e);
            if (e == q || *e != ',')
                break;
            ys[n] = strtod(e + 1, &e);
            xs[n++] = x;
            q = e;
        }
        *points = n;
    }
    return count;
}

/* The x extent of the axes' frame: the widest black line of the page. */
static void svg_frame(const char *svg, double *x0, double *x1)
{
    double xs[512], ys[512];
    int n = 0;
    *x0 = INFINITY;
    *x1 = -INFINITY;
    for (int k = 0; k < svg_series(svg, "#000000", "1.000000e+00", 0, xs, ys, 512, &n); k++) {
        svg_series(svg, "#000000", "1.000000e+00", k, xs, ys, 512, &n);
        for (int i = 0; i < n; i++) {
            *x0 = fmin(*x0, xs[i]);
            *x1 = fmax(*x1, xs[i]);
        }
    }
}

typedef struct lines_fixture {
    double x[6], train[6], val[6];
    plot_series s[2];
    plot_axes ax;
} lines_fixture;

static void lines_fixture_init(lines_fixture *f)
{
    for (int i = 0; i < 6; i++) {
        f->x[i] = i + 1;
        f->train[i] = 0.1 + 0.1 * i;
        f->val[i] = 0.05 + 0.08 * i;
    }
    f->s[0] = (plot_series){"train", 6, f->x, f->train, 0xff0000, PLOT_SOLID, 0, 0};
    f->s[1] = (plot_series){"validation", 6, f->x, f->val, 0x008000, PLOT_SOLID, 0, 0};
    plot_axes_init(&f->ax, "Training Accuracy vs Validation Accuracy", "Num of Epochs", "Accuracy");
    f->ax.x_integer = 1;
}

static void write_lines(const char *path, plot_format format, int pages)
{
    lines_fixture f;
    lines_fixture_init(&f);
    plot_opts o;
    plot_opts_default(&o);
    o.format = format;
    plot_doc *d;
    vt_err err;
    assert_int_equal(plot_open(&d, path, &o, &err), VT_OK);
    for (int i = 0; i < pages; i++)
        assert_int_equal(plot_lines(d, &f.ax, f.s, 2, &err), VT_OK);
    assert_int_equal(plot_pages(d), pages);
    assert_int_equal(plot_close(d, &err), VT_OK);
}

static void svg_holds_the_text_and_the_series(void **state)
{
    (void)state;
    write_lines(at("acc.svg"), PLOT_SVG, 1);
    size_t len;
    char *svg = slurp(at("acc.svg"), &len);
    assert_non_null(strstr(svg, "<svg"));
    char texts[8192];
    svg_texts(svg, texts, sizeof texts);
    assert_non_null(strstr(texts, "|Training Accuracy vs Validation Accuracy|"));
    assert_non_null(strstr(texts, "|Num of Epochs|"));
    assert_non_null(strstr(texts, "|Accuracy|"));
    assert_non_null(strstr(texts, "|train|validation|")); /* the legend, in order */
    /* One line per series at the data's width (1.5), and one legend sample each at 2. */
    double xs[64], ys[64], vx[64], vy[64];
    int n = 0, m = 0;
    assert_int_equal(svg_series(svg, "#FF0000", "1.500000e+00", 0, xs, ys, 64, &n), 1);
    assert_int_equal(svg_series(svg, "#008000", "1.500000e+00", 0, vx, vy, 64, &m), 1);
    assert_int_equal(svg_series(svg, "#FF0000", "2.000000e+00", 0, vx, vy, 64, &m), 1);
    svg_series(svg, "#008000", "1.500000e+00", 0, vx, vy, 64, &m);
    assert_int_equal(n, 6);
    assert_int_equal(m, 6);
    /* Epoch 1 and epoch 6 are the axis' ends; the epochs are evenly spaced. */
    double x0, x1;
    svg_frame(svg, &x0, &x1);
    assert_true(fabs(xs[0] - x0) < 0.05);
    assert_true(fabs(xs[5] - x1) < 0.05);
    assert_true(fabs((xs[3] - xs[2]) - (x1 - x0) / 5) < 0.05);
    /* Train rises faster than validation: at epoch 6 it is further from epoch 1's level. */
    assert_true(fabs(ys[5] - ys[0]) > fabs(vy[5] - vy[0]));
    free(svg);
}

/* ---- PNG, decoded here ---- */

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decodes an 8-bit RGB or RGBA PNG into RGB pixels (malloc'ed). */
static unsigned char *png_decode(const unsigned char *png, size_t len, int *w, int *h)
{
    assert_true(len > 33 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    *w = (int)be32(png + 16);
    *h = (int)be32(png + 20);
    int depth = png[24], type = png[25];
    assert_int_equal(depth, 8);
    assert_true(type == 2 || type == 6);
    int bpp = type == 6 ? 4 : 3;
    size_t idat_len = 0;
    unsigned char *idat = NULL;
    for (size_t at = 8; at + 12 <= len;) {
        uint32_t n = be32(png + at);
        if (memcmp(png + at + 4, "IDAT", 4) == 0) {
            idat = realloc(idat, idat_len + n);
            memcpy(idat + idat_len, png + at + 8, n);
            idat_len += n;
        }
        at += 12 + n;
    }
    size_t stride = (size_t)*w * bpp, raw_len = (stride + 1) * (size_t)*h;
    unsigned char *raw = malloc(raw_len);
    uLongf out_len = raw_len;
    assert_int_equal(uncompress(raw, &out_len, idat, idat_len), Z_OK);
    assert_int_equal(out_len, raw_len);
    free(idat);
    unsigned char *pix = malloc(stride * (size_t)*h), *rgb = malloc((size_t)*w * *h * 3);
    for (int y = 0; y < *h; y++) {
        unsigned char *row = raw + y * (stride + 1), *cur = pix + y * stride, *prev = y ? cur - stride : NULL;
        for (size_t i = 0; i < stride; i++) {
            int a = i >= (size_t)bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0,
                c = prev && i >= (size_t)bpp ? prev[i - bpp] : 0, x = row[1 + i];
            switch (row[0]) {
            case 0: cur[i] = (unsigned char)x; break;
            case 1: cur[i] = (unsigned char)(x + a); break;
            case 2: cur[i] = (unsigned char)(x + b); break;
            case 3: cur[i] = (unsigned char)(x + (a + b) / 2); break;
            case 4: cur[i] = (unsigned char)(x + paeth(a, b, c)); break;
            default: fail_msg("PNG filter %d", row[0]);
            }
        }
        for (int x = 0; x < *w; x++)
            memcpy(rgb + ((size_t)y * *w + x) * 3, cur + (size_t)x * bpp, 3);
    }
    free(raw);
    free(pix);
    return rgb;
}

static long count_near(const unsigned char *rgb, long n, unsigned colour, int tolerance)
{
    long k = 0;
    int r = colour >> 16 & 255, g = colour >> 8 & 255, b = colour & 255;
    for (long i = 0; i < n; i++)
        if (abs(rgb[3 * i] - r) <= tolerance && abs(rgb[3 * i + 1] - g) <= tolerance && abs(rgb[3 * i + 2] - b) <= tolerance)
            k++;
    return k;
}

static void png_has_its_size_and_colours(void **state)
{
    (void)state;
    write_lines(at("acc.png"), PLOT_PNG, 1);
    size_t len;
    unsigned char *png = (unsigned char *)slurp(at("acc.png"), &len);
    int w, h;
    unsigned char *rgb = png_decode(png, len, &w, &h);
    assert_int_equal(w, 1200); /* 8 x 6 inches at 150 dpi */
    assert_int_equal(h, 900);
    long n = (long)w * h;
    long white = count_near(rgb, n, 0xffffff, 0), dark = count_near(rgb, n, 0x000000, 60);
    assert_true(white > n / 2);  /* a white page */
    assert_true(dark > 2000);    /* frame, ticks, text */
    assert_true(count_near(rgb, n, 0xff0000, 40) > 300); /* the train series and its legend sample */
    assert_true(count_near(rgb, n, 0x008000, 40) > 300);
    free(rgb);
    free(png);
}

static void pdf_holds_one_page_per_figure(void **state)
{
    (void)state;
    write_lines(at("three.pdf"), PLOT_PDF, 3);
    size_t len;
    char *pdf = slurp(at("three.pdf"), &len);
    assert_memory_equal(pdf, "%PDF", 4);
    int pages = 0;
    for (const char *p = pdf; (p = memmem(p, len - (size_t)(p - pdf), "/Type /Page", 11)); p += 11)
        pages += p[11] != 's';
    assert_int_equal(pages, 3);
    free(pdf);
}

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void a_dropped_or_refused_document_leaves_nothing(void **state)
{
    (void)state;
    plot_opts o;
    plot_opts_default(&o);
    plot_doc *d;
    vt_err err;
    mkdir(at("out"), 0755);
    assert_int_equal(plot_open(&d, at("out/a.png"), &o, &err), VT_OK);
    plot_abort(d);
    assert_int_equal(entries(at("out")), 0);
    /* A PNG holds one figure: a second page is refused and the document can still be dropped. */
    lines_fixture f;
    lines_fixture_init(&f);
    assert_int_equal(plot_open(&d, at("out/b.png"), &o, &err), VT_OK);
    assert_int_equal(plot_lines(d, &f.ax, f.s, 2, &err), VT_OK);
    assert_int_equal(plot_lines(d, &f.ax, f.s, 2, &err), VT_EINTERNAL);
    plot_abort(d);
    assert_int_equal(entries(at("out")), 0);
    /* A document with no figure is not written. */
    assert_int_equal(plot_open(&d, at("out/c.svg"), &o, &err), VT_OK);
    assert_int_equal(plot_close(d, &err), VT_EINTERNAL);
    assert_int_equal(entries(at("out")), 0);
    /* A folder that does not exist: one line naming the file. */
    assert_int_equal(plot_open(&d, at("missing/a.png"), &o, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "missing/a.png"));
    /* Too many pixels are refused before anything is allocated. */
    o.dpi = 2400;
    assert_int_equal(plot_open(&d, at("out/big.png"), &o, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "pixels"));
    assert_int_equal(entries(at("out")), 0);
}

static void flags_are_checked(void **state)
{
    (void)state;
    plot_format f;
    plot_opts o;
    unsigned mask;
    vt_err err;
    plot_opts_default(&o);
    assert_int_equal(plot_format_parse("--format", "svg", &f, &err), VT_OK);
    assert_int_equal(f, PLOT_SVG);
    assert_int_equal(plot_format_parse("--format", "jpeg", &f, &err), VT_EUSAGE);
    assert_string_equal(err.msg, "--format: 'jpeg' is not a format: png, svg or pdf");
    assert_int_equal(plot_size_parse("--size", "10x7.5", &o, &err), VT_OK);
    assert_true(o.width_in == 10 && o.height_in == 7.5);
    assert_int_equal(plot_size_parse("--size", "0x5", &o, &err), VT_EUSAGE);
    assert_int_equal(plot_size_parse("--size", "big", &o, &err), VT_EUSAGE);
    assert_int_equal(plot_size_parse("--size", "5x500", &o, &err), VT_EUSAGE);
    assert_int_equal(plot_what_parse("--what", "roc,f1", &mask, &err), VT_OK);
    assert_int_equal(mask, PLOT_MASK(PLOT_FIG_ROC) | PLOT_MASK(PLOT_FIG_F1));
    assert_int_equal(plot_what_parse("--what", "history", &mask, &err), VT_OK);
    assert_int_equal(mask, PLOT_MASK(PLOT_FIG_ACCURACY) | PLOT_MASK(PLOT_FIG_LOSS) | PLOT_MASK(PLOT_FIG_MSE) |
                               PLOT_MASK(PLOT_FIG_TOP5));
    assert_int_equal(plot_what_parse("--what", "roc,,f1", &mask, &err), VT_EUSAGE);
    assert_int_equal(plot_what_parse("--what", "rocs", &mask, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "'rocs' is not a list of figures"));
}

static void text_escapes_plplots_escape_character(void **state)
{
    (void)state;
    char buf[16];
    plot_text(buf, sizeof buf, "a#b");
    assert_string_equal(buf, "a##b");
    plot_text(buf, 4, "##"); /* cut before half an escape */
    assert_string_equal(buf, "##");
    plot_text(buf, sizeof buf, "class 7");
    assert_string_equal(buf, "class 7");
}

static void run_labels_tell_runs_apart(void **state)
{
    (void)state;
    run_data runs[3];
    memset(runs, 0, sizeof runs);
    for (int i = 0; i < 3; i++) {
        train_config_default(&runs[i].config);
        snprintf(runs[i].config.model, sizeof runs[i].config.model, "%s", i == 2 ? "vgg16" : "cnn");
    }
    runs[1].config.lr = 0.1;
    char labels[3][PLOT_LABEL];
    plot_run_labels(runs, 3, labels);
    assert_string_equal(labels[0], "cnn, lr 0.01");
    assert_string_equal(labels[1], "cnn, lr 0.1");
    assert_string_equal(labels[2], "vgg16, lr 0.01");
    /* Equal settings: the creation time tells them apart. */
    runs[1].config.lr = 0.01;
    snprintf(runs[0].created, sizeof runs[0].created, "2026-12-01T10:00:00Z");
    snprintf(runs[1].created, sizeof runs[1].created, "2026-12-02T10:00:00Z");
    plot_run_labels(runs, 2, labels);
    assert_string_equal(labels[0], "cnn, 2026-12-01T10:00:00Z");
    assert_string_equal(labels[1], "cnn, 2026-12-02T10:00:00Z");
}

/* ---- a sweep's figure ---- */

static void report_nothing(void *ctx, const char *text, int note)
{
    (void)note;
    snprintf(ctx, VT_PATH_MAX, "%s", text);
}

/* A 3 lr x 2 models grid (trials 5 and 6 not run): vggtop plot SWEEP_DIR's figure has a panel per setting (lr
 * on log10, the models by place, named in the title), every trial with an epoch a point, and the best trial
 * (2: 0.8) named and marked; the Sweep screen's x for each value is the figure's. */
static void sweep_figure_plots_each_setting(void **state)
{
    (void)state;
    static char *grid[] = {"--lr", "0.1,0.01,0.001", "--model", "mlp,cnn", "--epochs", "3"};
    static const sweep_state states[6] = {SWEEP_DONE, SWEEP_DONE, SWEEP_PRUNED, SWEEP_RUNNING, SWEEP_PENDING,
                                          SWEEP_PENDING};
    static const double acc[6][SWEEP_FIXTURE_EPOCHS] = {{0.5, 0.6, 0.55}, {0.7, 0.8, 0.75}, {0.2}, {0.3, 0.4}, {0},
                                                        {0}};
    static const int epochs[6] = {3, 3, 1, 2, 0, 0};
    sweep_plan p;
    sweep_fixture(at("sw"), 6, grid, states, acc, epochs, &p);
    int categorical, log;
    plot_sweep_axis_kind(&p, 0, &categorical, &log);
    assert_int_equal(categorical, 0);
    assert_int_equal(log, 1);
    assert_true(fabs(plot_sweep_x(&p, 0, categorical, log, "0.01") + 2) < 1e-12);
    plot_sweep_axis_kind(&p, 1, &categorical, &log);
    assert_int_equal(categorical, 1);
    assert_true(plot_sweep_x(&p, 1, categorical, log, "cnn") == 2);
    assert_true(isnan(plot_sweep_x(&p, 1, categorical, log, "vgg16")));
    sweep_plan_free(&p);
    assert_int_equal(plot_is_sweep(at("sw")), 1);
    assert_int_equal(plot_is_sweep(test_dir), 0);

    /* vggtop plot SWEEP_DIR --format svg: sw/figures/sweep.svg. */
    const char *runs[1] = {at("sw")};
    plot_job job;
    memset(&job, 0, sizeof job);
    plot_opts_default(&job.opts);
    plot_view_default(&job.view);
    job.opts.format = PLOT_SVG;
    job.runs = runs;
    job.n_runs = 1;
    job.what = PLOT_ALL_RUN | PLOT_ALL_COMPARE | PLOT_WHAT_ALL;
    char said[VT_PATH_MAX] = "";
    vt_err err;
    assert_int_equal(plot_write(&job, report_nothing, said, &err), VT_OK);
    assert_string_equal(said, at("sw/figures/sweep.svg"));
    size_t len;
    char *svg = slurp(said, &len);
    char texts[8192];
    svg_texts(svg, texts, sizeof texts);
    assert_non_null(strstr(texts, "|val_acc by lr|"));
    assert_non_null(strstr(texts, "|lr (log10)|"));
    assert_non_null(strstr(texts, "|val_acc by model (1 mlp, 2 cnn)|"));
    assert_non_null(strstr(texts, "|best val_acc|"));
    assert_non_null(strstr(texts, "|trials|best: trial 2 (0.8000)|"));
    free(svg);
    /* The screen's P writes the same drawing as a PNG: a page that is not blank, in the best trial's red. */
    plot_doc *d;
    plot_opts o;
    plot_opts_default(&o);
    assert_int_equal(plot_open(&d, at("sweep.png"), &o, &err), VT_OK);
    assert_int_equal(plot_sweep_figure(d, at("sw"), &err), VT_OK);
    assert_int_equal(plot_close(d, &err), VT_OK);
    unsigned char *png = (unsigned char *)slurp(at("sweep.png"), &len);
    int w, h;
    unsigned char *rgb = png_decode(png, len, &w, &h);
    assert_true(count_near(rgb, (long)w * h, 0xd62728, 30) > 50); /* the best trial's mark and legend sample */
    assert_true(count_near(rgb, (long)w * h, 0x1f77b4, 30) > 100); /* the trials */
    free(rgb);
    free(png);

    /* A sweep with no finished epoch, and a folder that is no sweep, are refused naming why. */
    static const int none[6] = {0};
    sweep_fixture(at("empty"), 6, grid, states, acc, none, &p);
    sweep_plan_free(&p);
    assert_int_equal(plot_open(&d, at("empty.png"), &o, &err), VT_OK);
    assert_int_equal(plot_sweep_figure(d, at("empty"), &err), VT_EUSAGE);
    plot_abort(d);
    assert_non_null(strstr(err.msg, "no trial has finished an epoch"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(svg_holds_the_text_and_the_series, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(png_has_its_size_and_colours, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(pdf_holds_one_page_per_figure, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(a_dropped_or_refused_document_leaves_nothing, test_dir_setup,
                                        test_dir_teardown),
        cmocka_unit_test(flags_are_checked),
        cmocka_unit_test(text_escapes_plplots_escape_character),
        cmocka_unit_test(run_labels_tell_runs_apart),
        cmocka_unit_test_setup_teardown(sweep_figure_plots_each_setting, test_dir_setup, test_dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
