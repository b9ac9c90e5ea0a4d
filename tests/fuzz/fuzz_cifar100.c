/* libFuzzer harness of the CIFAR-100 loader: parts 0 and 1 are train.bin and test.bin; with option bit 2,
 * parts 2 and 3 are fine_label_names.txt and coarse_label_names.txt. Bit 0: coarse labels; bit 1: keep
 * only the first training record; bits 3-4: resize to native, 16, 40 or 48. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const files[] = {"train.bin", "test.bin", "fine_label_names.txt", "coarse_label_names.txt",
                                        NULL};
    static const int sides[4] = {0, 16, 40, 48};
    fuzz_parts p;
    fuzz_split(data, size, &p);
    const char *dir = fuzz_dir("cifar-100-binary");
    fuzz_remove(dir, files);
    for (int i = 0; i < ((p.opts & 4) ? 4 : 2); i++)
        fuzz_write(dir, files[i], p.part[i], p.len[i], 0);
    data_options opt = {.path = dir, .coarse = p.opts & 1, .limit_train = (p.opts & 2) ? 1 : 0,
                        .resize = sides[(p.opts >> 3) & 3]};
    fuzz_open(&opt);
    return 0;
}
