/* Placeholder until its issue lands: each command here reports that it is not built yet. */
#include <stdio.h>

#include "vggtop/cli.h"

int cli_ui(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "vggtop: %s: not implemented yet\n", argc > 0 ? argv[0] : "vggtop");
    return 2;
}

int cli_watch(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "vggtop: %s: not implemented yet\n", argc > 0 ? argv[0] : "vggtop");
    return 2;
}

