/* vggtop summary: prints the Keras `model.summary()` table of a model without allocating its weights. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vggtop/cli.h"
#include "vggtop/nn.h"

static void summary_usage(FILE *out)
{
    char names[128];
    model_names_join(names, sizeof names, " or ");
    fprintf(out, "usage: vggtop summary --model NAME [--input HxWxC] [--classes N] [--no-top] [--pooling avg|max]\n"
                 "\n"
                 "Prints the Keras-style summary of a model: each layer, its output shape and parameters.\n"
                 "\n"
                 "  -m, --model NAME     %s\n"
                 "  -i, --input HxWxC    input size (default 48x48x3 for vgg16/vgg19, 32x32x3 otherwise;\n"
                 "                       the VGGs need at least 32x32, channels 1 to 4)\n"
                 "  -c, --classes N      classes of the softmax output (default 100)\n"
                 "      --no-top         drop fc1 and fc2 (a Dense softmax output is kept so it can train)\n"
                 "      --pooling P      with --no-top: avg or max global pooling instead of Flatten\n"
                 "  -h, --help           this help\n",
            names);
}

/* "48x48x3" -> h, w, c; -1 unless it is exactly three positive decimal numbers joined by 'x'. */
static int parse_input(const char *s, int *h, int *w, int *c)
{
    long v[3];
    const char *p = s;
    for (int i = 0; i < 3; i++) {
        if (*p < '0' || *p > '9')
            return -1;
        long x = 0;
        while (*p >= '0' && *p <= '9') {
            x = x * 10 + (*p++ - '0');
            if (x > 1000000)
                return -1;
        }
        if (x < 1 || *p != (i < 2 ? 'x' : '\0'))
            return -1;
        v[i] = x;
        p++;
    }
    *h = (int)v[0];
    *w = (int)v[1];
    *c = (int)v[2];
    return 0;
}

int cli_summary(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},   {"input", required_argument, NULL, 'i'},
        {"classes", required_argument, NULL, 'c'}, {"no-top", no_argument, NULL, 'T'},
        {"pooling", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *name = NULL, *input = NULL, *pooling = NULL;
    long classes = 100;
    int no_top = 0, opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":m:i:c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'm': name = optarg; break;
        case 'i': input = optarg; break;
        case 'c':
            if (vt_parse_long(optarg, 1, 100000, &classes) != 0) {
                fprintf(stderr, "vggtop summary: --classes '%s': expected a whole number from 1 to 100000\n", optarg);
                return 2;
            }
            break;
        case 'T': no_top = 1; break;
        case 'p': pooling = optarg; break;
        case 'h': summary_usage(stdout); return 0;
        case ':':
            fprintf(stderr, "vggtop summary: %s needs a value (try vggtop summary --help)\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "vggtop summary: unknown option '%s' (try vggtop summary --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vggtop summary: unexpected argument '%s' (try vggtop summary --help)\n", argv[optind]);
        return 2;
    }
    if (!name) {
        char names[128];
        model_names_join(names, sizeof names, ", ");
        fprintf(stderr, "vggtop summary: --model is required (%s)\n", names);
        return 2;
    }
    model_config cfg;
    vt_err err;
    if (model_config_default(&cfg, name, &err) != VT_OK) {
        fprintf(stderr, "vggtop summary: --model: %s\n", err.msg);
        return 2;
    }
    if (input && parse_input(input, &cfg.height, &cfg.width, &cfg.channels) != 0) {
        fprintf(stderr, "vggtop summary: --input '%s': expected HxWxC, e.g. 48x48x3\n", input);
        return 2;
    }
    cfg.classes = (int)classes;
    cfg.include_top = !no_top;
    if (pooling) {
        if (strcmp(pooling, "avg") == 0)
            cfg.pooling = NN_POOL_AVG;
        else if (strcmp(pooling, "max") == 0)
            cfg.pooling = NN_POOL_MAX;
        else {
            fprintf(stderr, "vggtop summary: --pooling '%s': expected avg or max\n", pooling);
            return 2;
        }
    }
    char *text;
    if (model_summary_text(&cfg, &text, &err) != VT_OK) {
        fprintf(stderr, "vggtop summary: %s\n", err.msg);
        return vt_exit_status(err.code);
    }
    fputs(text, stdout);
    free(text);
    return 0;
}
