/* Placeholder until its issue lands: each command here reports that it is not built yet. */
#include <stdio.h>

#include "vggtop/cli.h"

int cli_evaluate(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "vggtop: %s: not implemented yet\n", argv[0]);
    return 2;
}

int cli_report(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "vggtop: %s: not implemented yet\n", argv[0]);
    return 2;
}

int cli_confusion(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "vggtop: %s: not implemented yet\n", argv[0]);
    return 2;
}

int cli_roc(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "vggtop: %s: not implemented yet\n", argv[0]);
    return 2;
}

int cli_compare(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "vggtop: %s: not implemented yet\n", argv[0]);
    return 2;
}

int cli_history(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "vggtop: %s: not implemented yet\n", argv[0]);
    return 2;
}

