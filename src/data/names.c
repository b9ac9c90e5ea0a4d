/* names: the class names of the data sets we know, embedded so the binary needs no files at run time
 * (assets/ holds the same lists as text, for people and for the test that compares the two), the reader of
 * a data set's own names file, and the one place every data set's names are made fit to show and to write
 * as JSON: an odd name is escaped and cut (vt_label_escape), never a reason to refuse the data set. */
#include "data_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const names_cifar100_fine[100] = {
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl",
    "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair",
    "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin",
    "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard", "lamp",
    "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
    "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck",
    "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger",
    "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman",
    "worm",
};

const char *const names_cifar100_coarse[20] = {
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
    "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
    "vehicles_1", "vehicles_2",
};

/* The superclass of each fine class, from the CIFAR-100 page's table of superclasses. */
const int names_cifar100_fine_to_coarse[100] = {
    4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11,
    6, 11, 5, 10, 7, 6, 13, 15, 3, 15, 0, 11, 1, 10, 12, 14, 16, 9, 11, 5,
    5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4, 18, 17,
    10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13,
    16, 19, 2, 4, 6, 19, 5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13,
};

const char *const names_cifar10[10] = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
};

/* Zalando's labels, in label order. */
const char *const names_fashion_mnist[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

const char *const names_mnist[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

char **names_copy(const char *const *names, int n)
{
    char **out = calloc((size_t)n, sizeof *out);
    if (!out)
        return NULL;
    for (int i = 0; i < n; i++) {
        out[i] = strdup(names[i]);
        if (!out[i]) {
            names_free(out, i);
            return NULL;
        }
    }
    return out;
}

void names_free(char **names, int n)
{
    if (!names)
        return;
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int names_read(const char *path, int expect, char ***names, vt_err *err)
{
    *names = NULL;
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT)
        return VT_OK; /* no names file: the built-in names serve */
    char *text;
    size_t len;
    int rc = vt_read_file(path, 64 * 1024, &text, &len, err);
    if (rc)
        return rc;
    if (strlen(text) != len) {
        free(text);
        return vt_fail(err, VT_EUSAGE, "%s: not a text file (it holds a NUL byte)", path);
    }
    /* Split into lines (\n or \r\n), dropping blank lines at the end only: a blank line in the middle
     * would shift every later class, so it is an error. */
    char *lines[1024];
    int n = 0, lineno = 0, blank_seen = 0;
    for (char *line = text; line && *line;) {
        lineno++;
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r')
            line[--l] = '\0';
        if (l == 0) {
            blank_seen = 1;
        } else {
            if (blank_seen) {
                free(text);
                return vt_fail(err, VT_EUSAGE, "%s: line %d: a blank line before it would shift the class names",
                               path, lineno);
            }
            if (n == (int)(sizeof lines / sizeof lines[0]) || n >= expect) {
                free(text);
                return vt_fail(err, VT_EUSAGE, "%s: more than the %d class names the images have", path, expect);
            }
            lines[n++] = line;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (n != expect) {
        free(text);
        return vt_fail(err, VT_EUSAGE, "%s: %d class names, but the images have %d classes", path, n, expect);
    }
    *names = names_escape_all(lines, NULL, n);
    free(text);
    if (!*names)
        return vt_fail(err, VT_EIO, "%s: out of memory", path);
    return VT_OK;
}

char **names_escape_all(char *const *raw, const size_t *lens, int n)
{
    char **out = calloc((size_t)n, sizeof *out);
    for (int i = 0; out && i < n; i++)
        if (!(out[i] = vt_label_escape(raw[i], lens ? lens[i] : strlen(raw[i])))) {
            names_free(out, i);
            out = NULL;
        }
    return out;
}
