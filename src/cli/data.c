/* vggtop data: which data set the program finds and what it holds. It loads the whole set, so it also
 * checks every file (a bad file gives the same one-line error training would). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "vggtop/cli.h"
#include "vggtop/data.h"
#include "vggtop/train.h"

enum { SHOWN_NAMES = 10 };

static void data_usage(FILE *out)
{
    fprintf(out, "usage: vggtop data [--data DIR] [--labels fine|coarse] [--resize N]\n"
                 "\n"
                 "Shows which data set vggtop finds and what it holds: format, path, where the path came from,\n"
                 "image shape, classes, training and test sizes and the first class names. It reads every file,\n"
                 "so it also checks them.\n"
                 "\n"
                 "  -d, --data DIR       a CIFAR-100, CIFAR-10 or IDX (Fashion-MNIST, MNIST) folder; without it:\n"
                 "                       $VGGTOP_DATA, then " DATA_DEFAULT_DIR ", then\n"
                 "                       " DATA_PACKAGE_DIR " (Debian's dataset-fashion-mnist)\n"
                 "  -l, --labels L       CIFAR-100 only: fine (100 classes, the default) or coarse (20 superclasses)\n"
                 "  -r, --resize N       show the images as resized to N x N (bicubic, as OpenCV's INTER_CUBIC)\n"
                 "  -h, --help           this help\n");
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

int cli_data(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},
        {"labels", required_argument, NULL, 'l'},
        {"resize", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    data_options o = {0};
    long resize = 0;
    vt_err err;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":d:l:r:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'd': o.path = optarg; break;
        case 'l': {
            double coarse;
            if (train_setting_parse("labels", "--labels", optarg, &coarse, &err) != VT_OK) {
                fprintf(stderr, "vggtop data: %s\n", err.msg);
                return 2;
            }
            o.coarse = coarse != 0;
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

    dataset *ds;
    vt_err_clear(&err);
    int rc = data_open(&o, &ds, &err);
    if (rc) {
        fprintf(stderr, "vggtop data: %s\n", err.msg);
        return vt_exit_status(rc);
    }
    char a[32], b[32];
    printf("%-13s%s", "data set", ds->name);
    if (ds->format == DATA_CIFAR100)
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
    if (ds->format == DATA_CIFAR100 && !ds->coarse)
        print_names("superclasses", ds->coarse_names, ds->coarse_classes);
    if (ds->notice[0])
        printf("\nnote: %s\n", ds->notice);
    data_destroy(ds);
    return 0;
}
