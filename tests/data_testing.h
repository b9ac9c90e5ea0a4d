/* Helpers shared by the data test binaries (tests/test_data*.c): a fresh temporary directory per test and
 * paths inside it. Include after <cmocka.h>. */
#ifndef VGGTOP_TESTS_DATA_TESTING_H
#define VGGTOP_TESTS_DATA_TESTING_H

#include <stdio.h>
#include <stdlib.h>

static char root[64]; /* the test's temporary directory */

/* Makes root from a template such as "/tmp/vggtop-data-XXXXXX"; 0, or -1. */
static inline int tmp_root_make(const char *pattern)
{
    snprintf(root, sizeof root, "%s", pattern);
    return mkdtemp(root) ? 0 : -1;
}

static inline int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

/* root/name, in one of four rotating buffers (so a call can take two or three paths). */
static inline const char *at(const char *name)
{
    static char paths[4][512];
    static int turn;
    char *p = paths[turn++ % 4];
    snprintf(p, 512, "%s/%s", root, name);
    return p;
}

#endif
