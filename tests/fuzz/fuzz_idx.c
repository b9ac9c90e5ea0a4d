/* libFuzzer harness of the IDX loader (MNIST, Fashion-MNIST), raw and gzip: parts 0-3 are the training
 * images, training labels, test images and test labels. Option bits 0-3: gzip-compress that part, so
 * the fuzzed bytes reach the IDX parser through zlib; a part that itself starts with gzip's magic is
 * written as it is under the .gz name, so zlib's inflate gets fuzzed streams too. Bit 4: a folder
 * named fashion-mnist (10 classes) or not (classes from the labels); bits 5-6: native size, upscale to
 * a 32 minimum, resize to 20 or 48; bit 7: limit both splits to 2 images. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const stems[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    static const char *const files[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                                        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", NULL};
    fuzz_parts p;
    fuzz_split(data, size, &p);
    static char dirs[2][300];
    if (!dirs[0][0]) {
        snprintf(dirs[0], sizeof dirs[0], "%s", fuzz_dir("fashion-mnist"));
        snprintf(dirs[1], sizeof dirs[1], "%s/../plain-idx", dirs[0]);
        if (mkdir(dirs[1], 0700) != 0)
            abort();
    }
    const char *dir = dirs[(p.opts & 16) ? 0 : 1];
    fuzz_remove(dirs[0], files);
    fuzz_remove(dirs[1], files);
    for (int i = 0; i < 4; i++) {
        char name[64];
        int gz = (p.opts >> i) & 1;
        int gz_name = gz || (p.len[i] >= 2 && p.part[i][0] == 0x1f && p.part[i][1] == 0x8b);
        snprintf(name, sizeof name, "%s%s", stems[i], gz_name ? ".gz" : "");
        fuzz_write(dir, name, p.part[i], p.len[i], gz);
    }
    int mode = (p.opts >> 5) & 3;
    data_options opt = {.path = dir, .min_size = mode == 1 ? 32 : 0, .resize = mode == 2 ? 20 : mode == 3 ? 48 : 0,
                        .limit_train = (p.opts & 128) ? 2 : 0, .limit_test = (p.opts & 128) ? 2 : 0};
    fuzz_open(&opt);
    return 0;
}
