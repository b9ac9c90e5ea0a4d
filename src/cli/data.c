/* vggtop data: which data set the program finds and what it holds. It loads the whole set, so it also
 * checks every file (a bad file gives the same one-line error training would). With --download it
 * fetches CIFAR-100 first (data_fetch), showing its progress as a bar on a terminal and as plain lines
 * otherwise. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vggtop/cli.h"
#include "vggtop/data.h"
#include "vggtop/train.h"

enum { SHOWN_NAMES = 10 };

static void data_usage(FILE *out)
{
    fprintf(out, "usage: vggtop data [--data DIR] [--labels fine|coarse] [--resize N]\n"
                 "       vggtop data --download [--data DIR] [--url URL] [--md5 HEX] [--timeout S]\n"
                 "\n"
                 "Shows which data set vggtop finds and what it holds: format, path, where the path came from,\n"
                 "image shape, classes, training and test sizes and the first class names. It reads every file,\n"
                 "so it also checks them.\n"
                 "\n"
                 "  -d, --data DIR       a CIFAR-100 (binary or python), CIFAR-10 or IDX (Fashion-MNIST, MNIST)\n"
                 "                       folder; without it: $VGGTOP_DATA, " DATA_DEFAULT_DIR ",\n"
                 "                       ~/.keras/datasets/cifar-100-python, ./data/cifar-100-python, the\n"
                 "                       cifar-100-python.tar.gz of either, then " DATA_PACKAGE_DIR "\n"
                 "                       (Debian's dataset-fashion-mnist)\n"
                 "  -l, --labels L       CIFAR-100 only: fine (100 classes, the default) or coarse (20 superclasses)\n"
                 "  -r, --resize N       show the images as resized to N x N (bicubic, as OpenCV's INTER_CUBIC)\n"
                 "  -h, --help           this help\n"
                 "\n"
                 "Download (CIFAR-100's binary version, 168.5 MB, into " DATA_DEFAULT_DIR " or --data DIR):\n"
                 "  -D, --download       fetch, check (size, MD5, every file) and unpack it; Ctrl-C or a cut\n"
                 "                       connection keeps the partial file, and the next run resumes it\n"
                 "  -u, --url URL        a mirror or a local copy (http, https or file://); default\n"
                 "                       " DATA_CIFAR100_URL "\n"
                 "  -m, --md5 HEX        the tarball's MD5 when a mirror repackaged it (then its size is not\n"
                 "                       checked); default " DATA_CIFAR100_MD5 "\n"
                 "  -t, --timeout S      give an attempt up after S seconds without connecting or without a byte\n"
                 "                       (default 30); a timeout, a cut connection or an HTTP 5xx is tried\n"
                 "                       again, 3 attempts in a row without progress in all\n"
                 "Proxies: libcurl's http_proxy, https_proxy, ALL_PROXY and NO_PROXY variables.\n");
}

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

static int data_download(const data_fetch_options *fo)
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
    vt_err err;
    vt_err_clear(&err);
    int rc = data_fetch(&o, dir, sizeof dir, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (s.bar_open)
        printf("\n");
    fflush(stdout);
    if (rc) {
        fprintf(stderr, "vggtop data: %s\n", err.msg);
        if (got_signal)
            return got_signal == SIGTERM ? 143 : 130;
        return vt_exit_status(rc);
    }
    return 0;
}

int cli_data(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},
        {"labels", required_argument, NULL, 'l'},
        {"resize", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {"download", no_argument, NULL, 'D'},
        {"url", required_argument, NULL, 'u'},
        {"md5", required_argument, NULL, 'm'},
        {"timeout", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    data_options o = {0};
    data_fetch_options fo = {0};
    int download = 0;
    const char *fetch_only = NULL, *view_only = NULL; /* a flag of one mode, for the mix-up message */
    long resize = 0, timeout = 0;
    vt_err err;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":d:l:r:hDu:m:t:", opts, NULL)) != -1) {
        switch (opt) {
        case 'd': o.path = optarg; break;
        case 'D': download = 1; break;
        case 'u': fo.url = optarg; fetch_only = "--url"; break;
        case 'm': fo.md5 = optarg; fetch_only = "--md5"; break;
        case 't':
            if (vt_flag_long("--timeout", optarg, 1, 3600, &timeout, &err) != VT_OK) {
                fprintf(stderr, "vggtop data: %s (seconds)\n", err.msg);
                return 2;
            }
            fo.timeout = (int)timeout;
            fetch_only = "--timeout";
            break;
        case 'l': {
            double coarse;
            if (train_setting_parse("labels", "--labels", optarg, &coarse, &err) != VT_OK) {
                fprintf(stderr, "vggtop data: %s\n", err.msg);
                return 2;
            }
            o.coarse = coarse != 0;
            view_only = "--labels";
            break;
        }
        case 'r': {
            /* A side in vggtop train's range for --resize (without a model, auto and 0 mean nothing here). */
            const train_field *rule = train_field_find("resize");
            if (vt_flag_long("--resize", optarg, (long)rule->lo, (long)rule->hi, &resize, &err) != VT_OK) {
                fprintf(stderr, "vggtop data: %s\n", err.msg);
                return 2;
            }
            o.resize = (int)resize;
            view_only = "--resize";
            break;
        }
        case 'h': data_usage(stdout); return 0;
        case ':':
            fprintf(stderr, "vggtop data: %s needs a value (try vggtop data --help)\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "vggtop data: unknown option '%s' (try vggtop data --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vggtop data: unexpected argument '%s' (the folder goes after --data)\n", argv[optind]);
        return 2;
    }
    if (!download && fetch_only) {
        fprintf(stderr, "vggtop data: %s goes with --download\n", fetch_only);
        return 2;
    }
    if (download && view_only) {
        fprintf(stderr, "vggtop data: %s does not go with --download (run vggtop data %s after it)\n", view_only,
                view_only);
        return 2;
    }
    if (download) {
        fo.dir = o.path;
        return data_download(&fo);
    }

    dataset *ds;
    vt_err_clear(&err);
    int rc = data_open(&o, &ds, &err);
    if (rc) {
        fprintf(stderr, "vggtop data: %s\n", err.msg);
        return vt_exit_status(rc);
    }
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
    printf("%-13s%s images\n", "train", vt_fmt_thousands(a, sizeof a, ds->n_train));
    printf("%-13s%s images\n", "test", vt_fmt_thousands(b, sizeof b, ds->n_test));
    print_names("class names", ds->class_names, ds->classes);
    if (ds->coarse_classes > 0 && !ds->coarse)
        print_names("superclasses", ds->coarse_names, ds->coarse_classes);
    if (ds->notice[0])
        printf("\nnote: %s\n", ds->notice);
    data_destroy(ds);
    return 0;
}
