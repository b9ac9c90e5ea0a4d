/* libFuzzer harness of the CIFAR-10 loader: part 0 is every data_batch_N.bin (1 to 5, the same bytes),
 * part 1 test_batch.bin, part 2 batches.meta.txt (option bit 2). Bit 1: a training limit of 3 records
 * (across batches); bits 3-4: resize to native, 16, 40 or 48; bit 5: drop data_batch_5.bin. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const files[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                        "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin",
                                        "batches.meta.txt", NULL};
    static const int sides[4] = {0, 16, 40, 48};
    fuzz_parts p;
    fuzz_split(data, size, &p);
    const char *dir = fuzz_dir("cifar-10-batches-bin");
    fuzz_remove(dir, files);
    for (int b = 0; b < ((p.opts & 32) ? 4 : 5); b++)
        fuzz_write(dir, files[b], p.part[0], p.len[0], 0);
    fuzz_write(dir, files[5], p.part[1], p.len[1], 0);
    if (p.opts & 4)
        fuzz_write(dir, files[6], p.part[2], p.len[2], 0);
    data_options opt = {.path = dir, .limit_train = (p.opts & 2) ? 3 : 0, .resize = sides[(p.opts >> 3) & 3]};
    fuzz_open(&opt);
    return 0;
}
