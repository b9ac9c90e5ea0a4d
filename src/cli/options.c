/* cli/options: what every command shares: parsing its option table with getopt_long, its --help and man
 * page option list from the same table, the one place a command's error line is printed and turned into
 * the exit status, and the --csv/--json output of the commands that write one table. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "vggtop/train.h"

const char *cli_who(const cli_command *c, char *buf, size_t size)
{
    snprintf(buf, size, "vggtop%s%s", c->name[0] ? " " : "", c->name);
    return buf;
}

/* The error line with its control bytes shown as ls shows odd file names (\e, \t, \xNN): a message names
 * the user's files, and "photos/x\e[2J.png" must not clear the terminal or break the one line. */
static void print_escaped(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p != 0x7f)
            fputc(*p, f);
        else if (*p == 0x1b || *p == '\t' || *p == '\n' || *p == '\r')
            fprintf(f, "\\%c", *p == 0x1b ? 'e' : *p == '\t' ? 't' : *p == '\n' ? 'n' : 'r');
        else
            fprintf(f, "\\x%02x", *p);
    }
}

int cli_command_run(const cli_command *c, int argc, char **argv)
{
    vt_err err;
    vt_err_clear(&err);
    int code = c->run(argc, argv, &err);
    if (code != VT_OK && err.msg[0]) {
        /* The line is put together first and written at once: stderr is unbuffered, and under mpirun a
         * write per piece let Open MPI's own banner land in the middle of it. */
        char who[64], *line = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&line, &len);
        FILE *out = f ? f : stderr;
        fprintf(out, "%s: ", cli_who(c, who, sizeof who));
        print_escaped(out, err.msg);
        fputc('\n', out);
        if (f && fclose(f) == 0 && line)
            fwrite(line, 1, len, stderr);
        free(line);
    }
    return vt_exit_status(code);
}

int cli_flag_setting(const char *setting, const char *flag, const char *value, int *out, vt_err *err)
{
    double v;
    int rc = train_setting_parse(setting, flag, value, &v, err);
    if (rc == VT_OK)
        *out = (int)v;
    return rc;
}

/* ---- parsing ---------------------------------------------------------------------------------------------- */

/* getopt_long's tables from ours: longs[] gets --help last, shorts "+:h" and a letter (with ':' when it takes
 * a value) per row whose key is a letter. */
static void getopt_tables(const cli_command *c, const cli_option *opts, struct option *longs, char *shorts)
{
    int n = 0, s = 0;
    if (c->flags & CLI_IN_ORDER)
        shorts[s++] = '+';
    shorts[s++] = ':';
    shorts[s++] = 'h';
    for (; opts[n].name && n < CLI_MAX_OPTIONS; n++) {
        int arg = opts[n].metavar ? required_argument : no_argument;
        longs[n] = (struct option){opts[n].name, arg, NULL, opts[n].key};
        if (opts[n].key < CLI_LONG_ONLY) {
            shorts[s++] = (char)opts[n].key;
            if (arg == required_argument)
                shorts[s++] = ':';
        }
    }
    longs[n++] = (struct option){"help", no_argument, NULL, 'h'};
    longs[n] = (struct option){NULL, 0, NULL, 0};
    shorts[s] = '\0';
}

/* "--digits 3" given to a command without --digits: when another command has it, say so (its value is not
 * the problem). */
static int foreign_option(const char *who, const char *cmd, const char *arg, vt_err *err)
{
    size_t len = strcspn(arg + 2, "=");
    for (int i = 0; cli_commands[i]; i++)
        for (const cli_option *o = cli_commands[i]->options; o && o->name; o++)
            if (strlen(o->name) == len && strncmp(o->name, arg + 2, len) == 0)
                return vt_fail(err, VT_EUSAGE, "--%s is not an option of %s (see %s --help)", o->name, cmd, who);
    return vt_fail(err, VT_EUSAGE, "unknown option '%s' (see %s --help)", arg, who);
}

static const cli_option *option_of(const cli_option *opts, int key)
{
    for (int i = 0; i < CLI_MAX_OPTIONS && opts[i].name; i++)
        if (opts[i].key == key)
            return &opts[i];
    return NULL;
}

/* What o's value names, "folder", "file" or "path", or NULL when it is no path. "--data ''" (an unset shell
 * variable, say) would read as no --data at all and quietly take the default, so such an option given an
 * empty value is refused. */
static const char *path_kind(const cli_option *o)
{
    static const char *const kinds[][2] = {
        {"DIR", "folder"}, {"RUN_DIR", "folder"}, {"FILE", "file"}, {"PATH", "path"}};
    for (size_t i = 0; o && o->metavar && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(o->metavar, kinds[i][0]) == 0)
            return kinds[i][1];
    return NULL;
}

int cli_parse(const cli_command *c, const cli_option *opts, int argc, char **argv, cli_set_fn set, void *ctx,
              int *done, vt_err *err)
{
    struct option longs[CLI_MAX_OPTIONS + 2];
    char shorts[2 * CLI_MAX_OPTIONS + 8], who[64];
    getopt_tables(c, opts, longs, shorts);
    cli_who(c, who, sizeof who);
    *done = 0;
    opterr = 0;
    optind = 0; /* GNU: start over from argv[1], so a command can run more than once in a process */
    int ch, li = -1;
    while ((ch = getopt_long(argc, argv, shorts, longs, &li)) != -1) {
        if (ch == 'h') {
            cli_help(c, stdout);
            *done = 1;
            return VT_OK;
        }
        /* "--model --epochs 2": getopt takes "--epochs" as the model, and "2" would be blamed instead. */
        if (optarg && li >= 0 && longs[li].has_arg == required_argument && strncmp(optarg, "--", 2) == 0 &&
            optarg[2])
            return vt_fail(err, VT_EUSAGE, "--%s needs a value, not the option '%s' (see %s --help)", longs[li].name,
                           optarg, who);
        li = -1;
        if (ch == ':')
            return vt_fail(err, VT_EUSAGE, "%s needs a value (see %s --help)", argv[optind - 1], who);
        if (ch == '?') {
            const char *arg = argv[optind - 1];
            if (strncmp(arg, "--", 2) == 0 && c->name[0])
                return foreign_option(who, c->name, arg, err);
            return vt_fail(err, VT_EUSAGE, "unknown option '%s' (see %s --help)", arg, who);
        }
        const char *kind = optarg && !optarg[0] ? path_kind(option_of(opts, ch)) : NULL;
        if (kind)
            return vt_fail(err, VT_EUSAGE, "--%s: '' is no %s: give one, or leave the option out (see %s --help)",
                           option_of(opts, ch)->name, kind, who);
        int rc = set(ctx, ch, optarg, err);
        if (rc != VT_OK)
            return rc;
    }
    return VT_OK;
}

int cli_positional(const cli_command *c, int argc, char **argv, int min, int max, const char *what, vt_err *err)
{
    int left = argc - optind;
    if (left >= min && left <= max)
        return VT_OK;
    char who[64];
    cli_who(c, who, sizeof who);
    if (max == 0)
        return vt_fail(err, VT_EUSAGE, "unexpected argument '%s' (see %s --help)", argv[optind], who);
    return vt_fail(err, VT_EUSAGE, "expected %s (see %s --help)", what, who);
}

/* ---- help and man page -------------------------------------------------------------------------------------- */

/* "-d, --data DIR" or "--digits N". */
static void flag_text(const cli_option *o, char *buf, size_t size)
{
    int n = 0;
    if (o->key < CLI_LONG_ONLY)
        n = snprintf(buf, size, "-%c, ", o->key);
    snprintf(buf + n, size - (size_t)n, "--%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
}

static const char *help_of(const cli_option *o, char *buf, size_t size)
{
    if (!o->doc)
        return o->help;
    o->doc(buf, size);
    return buf;
}

char *cli_options_help(const cli_option *opts)
{
    vt_buf b = {0};
    char flag[128], doc[1024];
    for (const cli_option *o = opts; o->name; o++) {
        flag_text(o, flag, sizeof flag);
        train_help_entry(&b, flag, help_of(o, doc, sizeof doc));
    }
    train_help_entry(&b, "-h, --help", "this help");
    return vt_buf_take(&b);
}

void cli_help(const cli_command *c, FILE *out)
{
    if (c->help) {
        c->help(out);
        return;
    }
    fputs(c->usage, out);
    if (c->about)
        fprintf(out, "\n%s", c->about);
    char *options = cli_options_help(c->options);
    fprintf(out, "\n%s", options ? options : "  (out of memory listing the options)\n");
    free(options);
    if (c->notes)
        fprintf(out, "\n%s", c->notes);
}

char *cli_options_man(const cli_command *c)
{
    if (!c->options)
        return c->man_options ? c->man_options() : NULL;
    vt_buf b = {0};
    char doc[1024];
    for (const cli_option *o = c->options; o->name; o++) {
        int short_flag = o->key < CLI_LONG_ONLY;
        vt_buf_add(&b, o->metavar ? ".TP\n.BI " : short_flag ? ".TP\n.BR " : ".TP\n.B ");
        if (short_flag)
            vt_buf_printf(&b, "\\-%c \", \" ", o->key);
        vt_buf_roff(&b, "--");
        vt_buf_roff(&b, o->name);
        if (o->metavar) {
            vt_buf_add(&b, " \" ");
            vt_buf_roff(&b, o->metavar);
            vt_buf_add(&b, "\"");
        }
        vt_buf_add(&b, "\n");
        const char *help = help_of(o, doc, sizeof doc);
        vt_buf_roff(&b, help);
        /* --help's line has no full stop; the man page's further sentences need one after it */
        vt_buf_add(&b, o->more && help[0] && help[strlen(help) - 1] != '.' ? ".\n" : "\n");
        if (o->more) {
            vt_buf_roff(&b, o->more);
            vt_buf_add(&b, "\n");
        }
    }
    return vt_buf_take(&b);
}

/* One word of a synopsis in its font: a flag or a literal word bold, a placeholder (RUN_DIR, N, HxWxC) italic. */
static void synopsis_word(vt_buf *b, const char *word, size_t len)
{
    char w[128];
    snprintf(w, sizeof w, "%.*s", (int)len, word);
    size_t dots = len > 3 && strcmp(w + len - 3, "...") == 0 ? 3 : 0; /* RUN_DIR...: the dots are roman */
    w[len - dots] = '\0';
    vt_buf_add(b, w[0] >= 'A' && w[0] <= 'Z' ? "\\fI" : "\\fB");
    vt_buf_roff(b, w);
    vt_buf_add(b, dots ? "\\fR..." : "\\fR");
}

char *cli_synopsis_man(const cli_command *c)
{
    if (!c->usage)
        return NULL;
    vt_buf b = {0};
    const char *p = c->usage;
    if (strncmp(p, "usage: ", 7) == 0)
        p += 7;
    for (int first = 1; *p; first = 0) {
        size_t len = strcspn(p, "\n");
        const char *q = p, *end = p + len;
        while (q < end && *q == ' ')
            q++;
        /* A line of its own for each form (it starts with "vggtop"); a continuation joins the line before. */
        if (!first)
            vt_buf_add(&b, strncmp(q, "vggtop", 6) == 0 ? "\n.br\n" : " ");
        /* "vggtop report" in one bold run, then word by word. */
        size_t head = strncmp(q, "vggtop ", 7) == 0 && c->name[0] ? 7 + strlen(c->name) : 0;
        if (head) {
            vt_buf_add(&b, "\\fB");
            vt_buf_roff(&b, "vggtop ");
            vt_buf_roff(&b, c->name);
            vt_buf_add(&b, "\\fR");
            q += head;
        }
        while (q < end) {
            size_t sep = strspn(q, " []|,");
            if (sep > (size_t)(end - q))
                sep = (size_t)(end - q);
            vt_buf_printf(&b, "%.*s", (int)sep, q);
            q += sep;
            size_t word = strcspn(q, " []|,\n");
            if (word > (size_t)(end - q))
                word = (size_t)(end - q);
            if (word)
                synopsis_word(&b, q, word);
            q += word;
        }
        p = *end ? end + 1 : end;
    }
    vt_buf_add(&b, "\n");
    return vt_buf_take(&b);
}

int cli_table_flag(const char *value, int json, const char **out, int *is_json, vt_err *err)
{
    if (*out)
        return vt_fail(err, VT_EUSAGE, "give one of --csv and --json");
    if (!*value)
        return vt_fail(err, VT_EUSAGE, "--%s: give a file name or '-'", json ? "json" : "csv");
    *out = value;
    *is_json = json;
    return VT_OK;
}

int cli_write_to(const char *out, int (*write)(FILE *f, void *ctx, vt_err *err), void *ctx, vt_err *err)
{
    if (!out || strcmp(out, "-") == 0)
        return write(stdout, ctx, err);
    vt_afile af;
    if (vt_afile_open(&af, out, err) != VT_OK)
        return err->code = VT_EUSAGE; /* a place the user named that cannot take the file */
    int rc = write(af.f, ctx, err);
    if (rc != VT_OK) {
        vt_afile_abort(&af);
        return rc;
    }
    return vt_afile_commit(&af, err);
}
