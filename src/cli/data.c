/* cli/data: `vggtop data`, which data set the program finds and what it holds. It loads the whole set, so it also
 * checks every file (a bad file gives the same one-line error training would). With --download it
 * fetches CIFAR-100 first (data_fetch), showing its progress as a bar on a terminal and as plain lines
 * otherwise. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"
#include "vggtop/data.h"
#include "vggtop/train.h"

enum { SHOWN_NAMES = 10 };

static void resize_doc(char *buf, size_t size)
{
    const train_field *rule = train_field_find("resize");
    snprintf(buf, size, "show the images as resized to N x N (bicubic, as OpenCV's INTER_CUBIC), %g to %g as vggtop "
             "train takes", rule->lo, rule->hi);
}

static const cli_option options[] = {
    {"data", 'd', "DIR", "a CIFAR-100 (binary or python), CIFAR-10 or IDX (Fashion-MNIST, MNIST) folder, or a folder "
                         "of class folders of PNG and JPEG images (your own); without it: "
                         "$VGGTOP_DATA, " DATA_DEFAULT_DIR ", ~/.keras/datasets/cifar-100-python, "
                         "./data/cifar-100-python, the cifar-100-python.tar.gz of either, then " DATA_PACKAGE_DIR
                         " (Debian's dataset-fashion-mnist); with --download: where to install it", NULL, NULL},
    {"labels", 'l', "fine|coarse", "CIFAR-100 only: fine (100 classes, the default) or coarse (20 superclasses)", NULL,
     NULL},
    {"resize", 'r', "N", NULL, NULL, resize_doc},
    {"validation-split", 'v', "F", "a folder of class folders: hold out F of its images for validation, as vggtop "
                                   "train --validation-split does", NULL, NULL},
    {"val-data", 'V', "DIR", "a folder of class folders: its validation images, from this folder of the same classes",
     NULL, NULL},
    {"seed", 's', "N", "with --validation-split: the seed that picks the images held out (default 1, as train's)", NULL,
     NULL},
    {"download", 'D', NULL, "fetch CIFAR-100's binary version (168.5 MB) into " DATA_DEFAULT_DIR " or --data DIR, "
                            "check it (size, MD5, every file) and unpack it; Ctrl-C or a cut connection keeps the "
                            "partial file, and the next run resumes it", NULL, NULL},
    {"url", 'u', "URL", "with --download: a mirror or a local copy (http, https or file://); default "
                        DATA_CIFAR100_URL, NULL, NULL},
    {"md5", 'm', "HEX", "with --download: the tarball's MD5 when a mirror repackaged it (then its size is not "
                        "checked); default " DATA_CIFAR100_MD5, NULL, NULL},
    {"timeout", 't', "S", "with --download: give an attempt up after S seconds without connecting or under 1 kB/s "
                          "(default 30); a timeout, a cut connection or an HTTP 5xx, 408 or 429 is tried again after 1 "
                          "and 2 seconds, 3 attempts in a row without progress (new bytes kept) in all", NULL, NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

/* "apple, aquarium_fish, ... (90 more)" */
static void print_names(const char *label, char **names, int n)
{
    printf("%-13s", label);
    for (int i = 0; i < n && i < SHOWN_NAMES; i++)
        printf("%s%s", i ? ", " : "", names[i]);
    if (n > SHOWN_NAMES)
        printf(", ... (%d more)", n - SHOWN_NAMES);
    printf("\n");
}

/* ---- --download ---- */

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }
static int interrupted(void *arg)
{
    (void)arg;
    return got_signal != 0;
}

typedef struct shown {
    int tty;
    data_fetch_phase phase;
    int tenth;     /* plain lines: the last tenth of the bytes reported */
    double next;   /* plain lines with an unknown total: the next time to report */
    int bar_open;  /* a bar is on the terminal's current line */
} shown;

/* On a terminal: one bar redrawn in place. Otherwise: a line per phase and per tenth of the bytes. */
static void show_progress(const data_fetch_progress *p, void *arg)
{
    shown *s = arg;
    char line[400];
    int changed = p->phase != s->phase;
    s->phase = p->phase;
    if (p->phase == FETCH_DOWNLOADING) {
        if (s->tty) {
            vt_fmt_transfer(line, sizeof line, p->done, p->total, p->rate, p->eta, 30);
            printf("\r%s\033[K", line);
            s->bar_open = 1;
            fflush(stdout);
            return;
        }
        int tenth = p->total > 0 ? (int)(10 * p->done / p->total) : 0;
        double now = vt_now();
        if (!changed && (p->total > 0 ? tenth <= s->tenth : now < s->next))
            return;
        s->tenth = tenth;
        s->next = now + 10;
        vt_fmt_transfer(line, sizeof line, p->done, p->total, p->rate, p->eta, 0);
        printf("downloading: %s\n", line);
        fflush(stdout);
        return;
    }
    if (!changed && p->phase != FETCH_RETRYING)
        return;
    if (p->phase == FETCH_CONNECTING && s->bar_open)
        return; /* a retry's reconnect: the bar's line stays */
    if (s->bar_open) {
        printf("\n");
        s->bar_open = 0;
    }
    printf("%s\n", p->message);
    fflush(stdout);
}

static int data_download(const data_fetch_options *fo, vt_err *err)
{
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    shown s = {.tty = isatty(STDOUT_FILENO), .tenth = -1};
    data_fetch_options o = *fo;
    o.progress = show_progress;
    o.cancelled = interrupted;
    o.arg = &s;
    char dir[VT_PATH_MAX];
    int rc = data_fetch(&o, dir, sizeof dir, err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (s.bar_open)
        printf("\n");
    fflush(stdout);
    if (rc != VT_OK && got_signal)
        return vt_signal_code(got_signal); /* err says what was kept for the next run */
    return rc;
}

typedef struct data_opts {
    data_options view;
    data_fetch_options fetch;
    int download;
    const char *fetch_only, *view_only; /* a flag of one mode, for the mix-up message */
} data_opts;

static int set_option(void *ctx, int key, const char *value, vt_err *err)
{
    data_opts *o = ctx;
    int rc = VT_OK;
    double coarse;
    switch (key) {
    case 'd': return vt_flag_path("--data", value, &o->view.path, err);
    case 'D': o->download = 1; return VT_OK;
    case 'u': o->fetch.url = value; o->fetch_only = "--url"; return VT_OK;
    case 'm': o->fetch.md5 = value; o->fetch_only = "--md5"; return VT_OK;
    case 't':
        if (vt_flag_int("--timeout", value, 1, 3600, &o->fetch.timeout, err) != VT_OK)
            return vt_fail(err, VT_EUSAGE, "--timeout: '%.200s' is not a whole number in 1..3600 (seconds)", value);
        o->fetch_only = "--timeout";
        return VT_OK;
    case 'l':
        if ((rc = train_setting_parse("labels", "--labels", value, &coarse, err)) == VT_OK)
            o->view.coarse = coarse != 0;
        o->view_only = "--labels";
        return rc;
    case 'v':
    case 's': {
        /* The rules of vggtop train's settings of the same name. */
        double v;
        const char *name = key == 'v' ? "validation-split" : "seed";
        char flag[32];
        snprintf(flag, sizeof flag, "--%s", name);
        if ((rc = train_setting_parse(name, flag, value, &v, err)) != VT_OK)
            return rc;
        if (key == 'v')
            o->view.validation_split = v;
        else
            o->view.seed = (uint64_t)v;
        o->view_only = key == 'v' ? "--validation-split" : "--seed";
        return VT_OK;
    }
    case 'V':
        o->view_only = "--val-data";
        return vt_flag_path("--val-data", value, &o->view.val_path, err);
    case 'r':
        /* A side in vggtop train's range for --resize (without a model, auto and 0 mean nothing here). */
        rc = vt_flag_int("--resize", value, (int)train_field_find("resize")->lo, (int)train_field_find("resize")->hi,
                         &o->view.resize, err);
        o->view_only = "--resize";
        return rc;
    }
    return vt_fail(err, VT_EINTERNAL, "option %d has no parser", key);
}

static int parse(int argc, char **argv, data_opts *o, int *done, vt_err *err)
{
    memset(o, 0, sizeof *o);
    o->view.seed = 1; /* vggtop train's default */
    int rc = cli_parse(&cli_data_command, options, argc, argv, set_option, o, done, err);
    if (rc != VT_OK || *done)
        return rc;
    if (optind < argc)
        return vt_fail(err, VT_EUSAGE, "unexpected argument '%s' (the folder goes after --data)", argv[optind]);
    if (!o->download && o->fetch_only)
        return vt_fail(err, VT_EUSAGE, "%s goes with --download", o->fetch_only);
    if (o->download && o->view_only)
        return vt_fail(err, VT_EUSAGE, "%s does not go with --download (run vggtop data %s after it)", o->view_only,
                       o->view_only);
    return VT_OK;
}

static void print_dataset(const dataset *ds)
{
    char a[32], b[32];
    printf("%-13s%s", "data set", ds->name);
    if (ds->coarse_classes > 0)
        printf(", %s labels", ds->coarse ? "coarse" : "fine");
    printf("\n%-13s%s\n", "format", data_format_name(ds->format));
    printf("%-13s%s\n", "path", ds->path);
    printf("%-13s%s\n", "found by", data_source_name(ds->source));
    printf("%-13s%dx%dx%d (%s)", "image shape", ds->height, ds->width, ds->channels,
           ds->channels == 1 ? "grey" : ds->channels == 3 ? "RGB" : "channels");
    if (ds->height != ds->orig_height || ds->width != ds->orig_width)
        printf(", resized from %dx%d (bicubic)", ds->orig_height, ds->orig_width);
    printf("\n%-13s%d\n", "classes", ds->classes);
    printf("%-13s%s image%s\n", "train", vt_fmt_thousands(a, sizeof a, ds->n_train), ds->n_train == 1 ? "" : "s");
    printf("%-13s%s image%s\n", "test", vt_fmt_thousands(b, sizeof b, ds->n_test), ds->n_test == 1 ? "" : "s");
    print_names("class names", ds->class_names, ds->classes);
    if (ds->coarse_classes > 0 && !ds->coarse)
        print_names("superclasses", ds->coarse_names, ds->coarse_classes);
    if (ds->notice[0])
        printf("\nnote: %s\n", ds->notice);
}

static int cmd_data(int argc, char **argv, vt_err *err)
{
    data_opts o;
    int done;
    int rc = parse(argc, argv, &o, &done, err);
    if (rc != VT_OK || done)
        return rc;
    if (o.download) {
        o.fetch.dir = o.view.path;
        return data_download(&o.fetch, err);
    }
    dataset *ds;
    if ((rc = data_open(&o.view, &ds, err)) != VT_OK)
        return rc;
    print_dataset(ds);
    data_destroy(ds);
    return VT_OK;
}

const cli_command cli_data_command = {
    .name = "data",
    .run = cmd_data,
    .summary = "show which data set is found and what it holds",
    .usage = "usage: vggtop data [--data DIR] [--labels fine|coarse] [--resize N]\n"
             "       vggtop data --data DIR [--validation-split F [--seed N] | --val-data DIR] [--resize N]\n"
             "       vggtop data --download [--data DIR] [--url URL] [--md5 HEX] [--timeout S]\n",
    .about = "Shows which data set vggtop finds and what it holds: format, path, where the path came from,\n"
             "image shape, classes, training and test sizes and the first class names. It reads every file,\n"
             "so it also checks them. With --download it fetches CIFAR-100 first. A folder of class folders\n"
             "(your own images) needs its validation images chosen as vggtop train does.\n",
    .options = options,
    .notes = "Proxies: libcurl's http_proxy, https_proxy, ALL_PROXY and NO_PROXY variables.\n",
    .flags = CLI_NO_MODEL,
};
