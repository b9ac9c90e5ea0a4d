/* libFuzzer harness of the CIFAR-100 python loader (src/data/pickle.c and its reader, unpickle.c): parts 0, 1
 * and 2 are the pickles train, test and meta of a cifar-100-python folder. Bit 0: coarse labels; bit 1: keep
 * only the first training image; bits 3-4: resize to native, 16, 40 or 48. Any input must load or fail with one
 * line. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const files[] = {"train", "test", "meta", NULL};
    static const int sides[4] = {0, 16, 40, 48};
    fuzz_parts p;
    fuzz_split(data, size, &p);
    const char *dir = fuzz_dir("cifar-100-python");
    fuzz_remove(dir, files);
    for (int i = 0; i < 3; i++)
        fuzz_write(dir, files[i], p.part[i], p.len[i], 0);
    data_options opt = {.path = dir, .coarse = p.opts & 1, .limit_train = (p.opts & 2) ? 1 : 0,
                        .resize = sides[(p.opts >> 3) & 3]};
    fuzz_open(&opt);
    return 0;
}
