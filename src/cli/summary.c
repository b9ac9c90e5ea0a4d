/* cli/summary: `vggtop summary`, the Keras `model.summary()` table of a model, without allocating its
 * weights. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "vggtop/nn.h"

static void model_doc(char *buf, size_t size) { model_names_join(buf, size, " or "); }

static const cli_option options[] = {
    {"model", 'm', "NAME", NULL, NULL, model_doc},
    {"input", 'i', "HxWxC", "input size (default 48x48x3 for vgg16/vgg19, 32x32x3 otherwise; the VGGs need at least "
                            "32x32, channels 1 to 4)", NULL, NULL},
    {"classes", 'c', "N", "classes of the softmax output, 1 to " NN_MAX_CLASSES_TEXT " (default 100; the most whose "
                          "4096-wide top, with its gradients and momentum, fits in 4 GiB)", NULL, NULL},
    {"no-top", 'T' + CLI_LONG_ONLY, NULL, "drop fc1 and fc2 (a Dense softmax output is kept so it can train)", NULL,
     NULL},
    {"pooling", 'p' + CLI_LONG_ONLY, "avg|max", "with --no-top: avg or max global pooling instead of Flatten", NULL,
     NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

typedef struct summary_opts {
    const char *model, *input;
    int classes, no_top, pooling; /* pooling: -1 not given, else an nn pooling */
} summary_opts;

static int set_option(void *ctx, int key, const char *value, vt_err *err)
{
    static const char *const poolings[] = {"avg", "max", NULL};
    summary_opts *o = ctx;
    int i;
    switch (key) {
    case 'm': o->model = value; return VT_OK;
    case 'i': o->input = value; return VT_OK;
    case 'c': return vt_flag_int("--classes", value, 1, NN_MAX_CLASSES, &o->classes, err);
    case 'T' + CLI_LONG_ONLY: o->no_top = 1; return VT_OK;
    case 'p' + CLI_LONG_ONLY:
        if (vt_flag_choice("--pooling", value, poolings, &i, err) != VT_OK)
            return vt_fail(err, VT_EUSAGE, "--pooling '%s': expected avg or max", value);
        o->pooling = i == 0 ? NN_POOL_AVG : NN_POOL_MAX;
        return VT_OK;
    }
    return vt_fail(err, VT_EINTERNAL, "option %d has no parser", key);
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

static int cmd_summary(int argc, char **argv, vt_err *err)
{
    summary_opts o = {NULL, NULL, 100, 0, -1};
    int done;
    int rc = cli_parse(&cli_summary_command, options, argc, argv, set_option, &o, &done, err);
    if (rc != VT_OK || done || (rc = cli_positional(&cli_summary_command, argc, argv, 0, 0, NULL, err)) != VT_OK)
        return rc;
    if (!o.model) {
        char names[128];
        model_names_join(names, sizeof names, ", ");
        return vt_fail(err, VT_EUSAGE, "--model is required (%s)", names);
    }
    model_config cfg;
    vt_err why;
    if (model_config_default(&cfg, o.model, &why) != VT_OK)
        return vt_fail(err, VT_EUSAGE, "--model: %s", why.msg);
    if (o.input && parse_input(o.input, &cfg.height, &cfg.width, &cfg.channels) != 0)
        return vt_fail(err, VT_EUSAGE, "--input '%s': expected HxWxC, e.g. 48x48x3", o.input);
    cfg.classes = o.classes;
    cfg.include_top = !o.no_top;
    if (o.pooling >= 0)
        cfg.pooling = o.pooling;
    char *text;
    if ((rc = model_summary_text(&cfg, &text, err)) != VT_OK)
        return rc;
    fputs(text, stdout);
    free(text);
    return VT_OK;
}

const cli_command cli_summary_command = {
    .name = "summary",
    .run = cmd_summary,
    .summary = "print the Keras-style summary of a model",
    .usage = "usage: vggtop summary --model NAME [--input HxWxC] [--classes N] [--no-top] [--pooling avg|max]\n",
    .about = "Prints the Keras-style summary of a model: each layer, its output shape and parameters.\n",
    .options = options,
    .flags = CLI_NO_MODEL,
};
