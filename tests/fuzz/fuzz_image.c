/* libFuzzer harness of vggtop predict's image reader (src/data/image.c, on libpng and libjpeg-turbo): the
 * input is the whole file, PNG or JPEG by its first bytes. image_read must give an image within the pixel
 * cap or fail with one line, never crash, leak or read out of bounds. (Not a data set: fuzz_common.h's
 * folder of parts is not needed.) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vggtop/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[300];
    if (!path[0]) {
        /* run-fuzz.sh points TMPDIR into its build folder and empties it, so nothing piles up in /tmp. */
        const char *tmp = getenv("TMPDIR");
        char dir[256];
        snprintf(dir, sizeof dir, "%s/vggtop-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof path, "%s/image", dir);
    }
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
    uint8_t *rgb = NULL;
    int h = 0, w = 0;
    vt_err err;
    int rc = image_read(path, 1 << 20, &rgb, &h, &w, &err);
    if (rc == VT_OK && (!rgb || h < 1 || w < 1 || (long long)h * w > (1 << 20)))
        abort();
    if (rc != VT_OK && (rgb || strchr(err.msg, '\n')))
        abort();
    free(rgb);
    return 0;
}
