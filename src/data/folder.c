/* data/folder: a user's own images as a data set, in the layout of Keras' image_dataset_from_directory: one
 * sub-folder per class (sorted by name: the class index), PNG and JPEG files inside (at any depth below it),
 * every other file ignored and counted. The validation images come from a second folder of the same class
 * folders (--val-data), from DIR/train + DIR/test (or val, validation) when DIR holds just those two, or
 * from --validation-split F of one folder, held out as Keras does (the files shuffled by the seed, the last
 * F of them). Each image is decoded by image.c (predict's decoder) and resized with resize.c's bicubic to
 * side x side; the result is cached as one binary file (CACHE_NAME in the folder, else under
 * $XDG_CACHE_HOME/vggtop or ~/.cache/vggtop when the folder is read-only), rebuilt when a file's name, size
 * or time changes. A file that does not decode is an error naming it, as it is in Keras (there at the
 * first batch that meets it); so are a class folder without images and a folder of one class. */
#include "data_internal.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_MAGIC "VTFOLDR1"
#define CACHE_VERSION 1u
#define FOLDER_MAX_FILES (1L << 24)
#define FOLDER_MAX_CLASSES 100000
#define FOLDER_MAX_DEPTH 16
#define FOLDER_DEFAULT_SIDE 32 /* CIFAR's */

typedef struct folder_file {
    char *rel;            /* "class/sub/name.jpg", below the root */
    int label;
    long long size;
    long long mtime_ns;
} folder_file;

/* What a class-folder root holds, in Keras' order: classes by name, each class's files by name. */
typedef struct folder_list {
    const char *root;
    int classes;
    char **class_raw;     /* the folder names as found (escaped only when shown) */
    long n, cap;
    folder_file *files;
    long ignored;         /* files below the class folders that are not .png, .jpg or .jpeg */
} folder_list;

/* The header of a cache file; the pixels (n, side, side, 3) follow. */
typedef struct cache_header {
    char magic[8];
    uint32_t version, side, channels, reserved;
    uint64_t listing;     /* folder_listing_print of the folder at this side */
    uint64_t n;
    uint64_t pixels;      /* FNV-1a of the pixels */
} cache_header;

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

#define FNV_START 0xcbf29ce484222325ull

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int by_rel(const void *a, const void *b)
{
    const folder_file *x = a, *y = b;
    return x->label != y->label ? (x->label > y->label) - (x->label < y->label) : strcmp(x->rel, y->rel);
}

static void list_free(folder_list *l)
{
    names_free(l->class_raw, l->classes);
    for (long i = 0; i < l->n; i++)
        free(l->files[i].rel);
    free(l->files);
    memset(l, 0, sizeof *l);
}

static int add_file(folder_list *l, const char *rel, int label, const struct stat *st, vt_err *err)
{
    if (l->n == FOLDER_MAX_FILES)
        return vt_fail(err, VT_EUSAGE, "%s: more than %ld images", l->root, FOLDER_MAX_FILES);
    if (l->n == l->cap) {
        long cap = l->cap ? 2 * l->cap : 256;
        folder_file *f = realloc(l->files, (size_t)cap * sizeof *f);
        if (!f)
            return vt_fail(err, VT_EIO, "%s: out of memory listing the images", l->root);
        l->files = f;
        l->cap = cap;
    }
    folder_file *f = &l->files[l->n];
    if (!(f->rel = strdup(rel)))
        return vt_fail(err, VT_EIO, "%s: out of memory listing the images", l->root);
    f->label = label;
    f->size = st->st_size;
    f->mtime_ns = (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
    l->n++;
    return VT_OK;
}

/* Every image file below root/rel (a class folder), depth-first; sub-folders that are links are not followed
 * (Keras' follow_links=False), hidden entries (".name") are skipped. */
static int walk_class(folder_list *l, const char *rel, int label, int depth, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA], sub[VT_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", l->root, rel);
    DIR *d = opendir(path);
    if (!d)
        return vt_fail(err, VT_EUSAGE, "%s: %s", path, strerror(errno));
    int rc = VT_OK;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", rel, e->d_name) >= sizeof sub) {
            rc = vt_fail(err, VT_EUSAGE, "%s/%s/%.100s...: path too long", l->root, rel, e->d_name);
            break;
        }
        snprintf(path, sizeof path, "%s/%s", l->root, sub);
        struct stat st;
        if (lstat(path, &st) != 0) {
            rc = vt_fail(err, VT_EUSAGE, "%s: %s", path, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            if (depth >= FOLDER_MAX_DEPTH)
                rc = vt_fail(err, VT_EUSAGE, "%s: folders nested more than %d deep", path, FOLDER_MAX_DEPTH);
            else
                rc = walk_class(l, sub, label, depth + 1, err);
        } else if (!is_image_name(e->d_name)) {
            l->ignored++;
        } else if (stat(path, &st) != 0) { /* a link to an image counts as the image */
            rc = vt_fail(err, VT_EUSAGE, "%s: %s", path, strerror(errno));
        } else {
            rc = add_file(l, sub, label, &st, err);
        }
    }
    closedir(d);
    return rc;
}

/* The class folders of root (non-hidden sub-folders, links followed), sorted. */
static int list_classes(folder_list *l, vt_err *err)
{
    DIR *d = opendir(l->root);
    if (!d)
        return vt_fail(err, VT_EUSAGE, "%s: %s", l->root, strerror(errno));
    int cap = 0, rc = VT_OK;
    struct dirent *e;
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    while (!rc && (e = readdir(d))) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", l->root, e->d_name);
        if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (l->classes == FOLDER_MAX_CLASSES) {
            rc = vt_fail(err, VT_EUSAGE, "%s: more than %d class folders", l->root, FOLDER_MAX_CLASSES);
        } else if (l->classes == cap) {
            cap = cap ? 2 * cap : 16;
            char **c = realloc(l->class_raw, (size_t)cap * sizeof *c);
            if (!c)
                rc = vt_fail(err, VT_EIO, "%s: out of memory", l->root);
            else
                l->class_raw = c;
        }
        if (!rc && !(l->class_raw[l->classes++] = strdup(e->d_name))) {
            l->classes--;
            rc = vt_fail(err, VT_EIO, "%s: out of memory", l->root);
        }
    }
    closedir(d);
    if (!rc && l->classes)
        qsort(l->class_raw, (size_t)l->classes, sizeof *l->class_raw, by_name);
    return rc;
}

/* Lists root and checks it is a usable set of classes. */
static int folder_list_read(const char *root, folder_list *l, vt_err *err)
{
    memset(l, 0, sizeof *l);
    l->root = root;
    int rc = list_classes(l, err);
    if (!rc && l->classes == 0)
        rc = vt_fail(err, VT_EUSAGE, "%s: no class folders (expected one sub-folder per class, holding PNG or JPEG "
                     "files)", root);
    if (!rc && l->classes == 1)
        rc = vt_fail(err, VT_EUSAGE, "%s: one class folder (%.200s): a classifier needs at least two", root,
                     l->class_raw[0]);
    for (int c = 0; !rc && c < l->classes; c++) {
        long before = l->n;
        rc = walk_class(l, l->class_raw[c], c, 0, err);
        if (!rc && l->n == before)
            rc = vt_fail(err, VT_EUSAGE, "%s/%s: a class folder without a PNG or JPEG file (add images or remove the "
                         "folder)", root, l->class_raw[c]);
    }
    if (!rc)
        qsort(l->files, (size_t)l->n, sizeof *l->files, by_rel);
    if (rc)
        list_free(l);
    return rc;
}

/* Which files the folder holds, by name, label and size, and with times too when `times` (the cache's key,
 * which must change when a file is rewritten in place; a run's fingerprint leaves the times out, so that a
 * copy of the folder is the same data set). */
static uint64_t folder_listing_print(const folder_list *l, int times, uint64_t h)
{
    h = fnv(h, &l->classes, sizeof l->classes);
    for (int c = 0; c < l->classes; c++)
        h = fnv(h, l->class_raw[c], strlen(l->class_raw[c]) + 1);
    for (long i = 0; i < l->n; i++) {
        const folder_file *f = &l->files[i];
        h = fnv(h, f->rel, strlen(f->rel) + 1);
        h = fnv(h, &f->label, sizeof f->label);
        h = fnv(h, &f->size, sizeof f->size);
        if (times)
            h = fnv(h, &f->mtime_ns, sizeof f->mtime_ns);
    }
    return h;
}

/* ---- decoding on a few threads ------------------------------------------------------------------------ */

typedef struct decode_job {
    const folder_list *l;
    int side;
    uint8_t *pixels;      /* (n, side, side, 3) */
    pthread_mutex_t lock;
    long next;            /* the next file to take */
    long failed;          /* the lowest file that failed, or n */
    vt_err err;           /* its message */
} decode_job;

static int decode_one(const folder_list *l, long i, int side, uint8_t *dst, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    snprintf(path, sizeof path, "%s/%s", l->root, l->files[i].rel);
    uint8_t *rgb;
    int h, w;
    int rc = image_read(path, IMAGE_MAX_PIXELS, &rgb, &h, &w, err);
    if (rc)
        return rc;
    if (h == side && w == side)
        memcpy(dst, rgb, (size_t)side * (size_t)side * 3);
    else if (image_resize_bicubic(rgb, h, w, 3, dst, side, side) != 0)
        rc = vt_fail(err, VT_EIO, "%s: out of memory resizing it", path);
    free(rgb);
    return rc;
}

/* Files are taken in increasing order; after a failure at k only files below k are still taken, so when all
 * are joined the failure reported is the first file that fails, whatever the threads did. */
static void *decode_worker(void *arg)
{
    decode_job *j = arg;
    const size_t per = (size_t)j->side * (size_t)j->side * 3;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        long i = j->next < j->failed ? j->next++ : -1;
        pthread_mutex_unlock(&j->lock);
        if (i < 0)
            return NULL;
        vt_err err;
        if (decode_one(j->l, i, j->side, j->pixels + (size_t)i * per, &err) != VT_OK) {
            pthread_mutex_lock(&j->lock);
            if (i < j->failed) {
                j->failed = i;
                j->err = err;
            }
            pthread_mutex_unlock(&j->lock);
        }
    }
}

static int decode_all(const folder_list *l, int side, uint8_t *pixels, vt_err *err)
{
    enum { MAX_THREADS = 4 };
    decode_job j = {.l = l, .side = side, .pixels = pixels, .next = 0, .failed = l->n};
    pthread_mutex_init(&j.lock, NULL);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 1; t < threads; t++)
        started[t] = vt_thread_start(&tid[t], decode_worker, &j) == 0;
    decode_worker(&j);
    for (int t = 1; t < threads; t++)
        if (started[t])
            pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&j.lock);
    if (j.failed < l->n) {
        *err = j.err;
        return j.err.code ? j.err.code : VT_EUSAGE;
    }
    return VT_OK;
}

/* ---- the cache ---------------------------------------------------------------------------------------- */

/* The two places a folder's cache may be: in it, else in the user's cache directory under a name made from
 * the folder's absolute path. */
static void cache_paths(const char *root, int side, char *inside, char *outside, size_t size)
{
    snprintf(inside, size, "%s/.vggtop-cache-%d.bin", root, side);
    outside[0] = '\0';
    char base[VT_PATH_MAX];
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(base, sizeof base, "%s/vggtop", xdg);
    else if (home && *home)
        snprintf(base, sizeof base, "%s/.cache/vggtop", home);
    else
        return;
    char *abs = realpath(root, NULL);
    const char *key = abs ? abs : root;
    snprintf(outside, size, "%s/folder-%016llx-%d.bin", base, (unsigned long long)fnv(FNV_START, key, strlen(key)),
             side);
    free(abs);
}

/* The pixels of a cache file made from exactly this listing at this side, or 0 (no such file, stale or
 * damaged: the caller decodes again). */
static int cache_read(const char *path, uint64_t listing, long n, int side, uint8_t *pixels)
{
    const size_t bytes = (size_t)n * (size_t)side * (size_t)side * 3;
    FILE *f;
    long long size;
    vt_err err;
    if (vt_fopen_regular(path, 0, &f, &size, &err) != VT_OK)
        return 0;
    cache_header h;
    int ok = size == (long long)(sizeof h + bytes) && fread(&h, sizeof h, 1, f) == 1 &&
             memcmp(h.magic, CACHE_MAGIC, 8) == 0 && h.version == CACHE_VERSION && h.side == (uint32_t)side &&
             h.channels == 3 && h.listing == listing && h.n == (uint64_t)n && fread(pixels, 1, bytes, f) == bytes &&
             fnv(FNV_START, pixels, bytes) == h.pixels;
    fclose(f);
    return ok;
}

static int cache_write(const char *path, uint64_t listing, long n, int side, const uint8_t *pixels)
{
    const size_t bytes = (size_t)n * (size_t)side * (size_t)side * 3;
    cache_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CACHE_MAGIC, 8);
    h.version = CACHE_VERSION;
    h.side = (uint32_t)side;
    h.channels = 3;
    h.listing = listing;
    h.n = (uint64_t)n;
    h.pixels = fnv(FNV_START, pixels, bytes);
    vt_afile af;
    vt_err err;
    if (vt_afile_open(&af, path, &err) != VT_OK)
        return -1;
    if (fwrite(&h, sizeof h, 1, af.f) != 1 || fwrite(pixels, 1, bytes, af.f) != bytes) {
        vt_afile_abort(&af);
        return -1;
    }
    return vt_afile_commit(&af, &err) == VT_OK ? 0 : -1;
}

/* The folder's images at side x side, from its cache or decoded (and then cached); *how says which, for the
 * notice. */
static int folder_pixels(const folder_list *l, int side, uint8_t **out, char *how, size_t size, vt_err *err)
{
    const size_t bytes = (size_t)l->n * (size_t)side * (size_t)side * 3;
    uint8_t *pixels = malloc(bytes);
    if (!pixels)
        return vt_fail(err, VT_EIO, "%s: out of memory for %ld images of %dx%d (%.1f GiB; try a smaller --resize)",
                       l->root, l->n, side, side, (double)bytes / (1024.0 * 1024 * 1024));
    uint64_t listing = folder_listing_print(l, 1, fnv(FNV_START, &side, sizeof side));
    char inside[VT_PATH_MAX + VT_PATH_EXTRA], outside[VT_PATH_MAX + VT_PATH_EXTRA];
    cache_paths(l->root, side, inside, outside, sizeof inside);
    if (cache_read(inside, listing, l->n, side, pixels) || (outside[0] && cache_read(outside, listing, l->n, side, pixels))) {
        snprintf(how, size, "read from the cache");
        *out = pixels;
        return VT_OK;
    }
    int rc = decode_all(l, side, pixels, err);
    if (rc) {
        free(pixels);
        return rc;
    }
    const char *where = NULL;
    if (access(l->root, W_OK) == 0 && cache_write(inside, listing, l->n, side, pixels) == 0) {
        where = inside;
    } else if (outside[0]) {
        char dir[VT_PATH_MAX + VT_PATH_EXTRA];
        snprintf(dir, sizeof dir, "%s", outside);
        *strrchr(dir, '/') = '\0';
        vt_err ignored;
        if (vt_mkdirs(dir, &ignored) == 0 && cache_write(outside, listing, l->n, side, pixels) == 0)
            where = outside;
    }
    if (where)
        snprintf(how, size, "decoded and cached in %.300s", where);
    else
        snprintf(how, size, "decoded (no writable place for the cache)");
    *out = pixels;
    return VT_OK;
}

/* ---- the data set --------------------------------------------------------------------------------------- */

static int is_subdir(const char *dir, const char *name)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* DIR/train and DIR/<test name> when DIR holds those two sub-folders and no other: the test folder's name,
 * else NULL. */
static const char *split_layout(const char *dir)
{
    static const char *const tests[] = {"test", "val", "validation"};
    if (!is_subdir(dir, "train"))
        return NULL;
    const char *found = NULL;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (is_subdir(dir, tests[i])) {
            if (found)
                return NULL;
            found = tests[i];
        }
    if (!found)
        return NULL;
    DIR *d = opendir(dir);
    int others = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && strcmp(e->d_name, "train") != 0 && strcmp(e->d_name, found) != 0 &&
            is_subdir(dir, e->d_name))
            others++;
    if (d)
        closedir(d);
    return others ? NULL : found;
}

/* The validation folder to suggest when dir's sub-folders are train/ and two or more of test/, val/,
 * validation/ and nothing else (a three-way split, which split_layout leaves alone): read as class folders,
 * they would make classes named "test", "train" and "val" of every image. Else NULL. */
static const char *three_way_split(const char *dir)
{
    static const char *const tests[] = {"val", "validation", "test"};
    if (!is_subdir(dir, "train"))
        return NULL;
    const char *pick = NULL;
    int found = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (is_subdir(dir, tests[i])) {
            found++;
            pick = pick ? pick : tests[i];
        }
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && found >= 2 && (e = readdir(d)))
        if (e->d_name[0] != '.' && is_subdir(dir, e->d_name) && strcmp(e->d_name, "train") != 0 &&
            strcmp(e->d_name, "val") != 0 && strcmp(e->d_name, "validation") != 0 && strcmp(e->d_name, "test") != 0)
            found = 0; /* another folder: perhaps a class after all */
    if (d)
        closedir(d);
    return found >= 2 ? pick : NULL;
}

/* Whether some file at depth 2 or 3 below dir is an image (dir/class/x.png, dir/train/class/x.png,
 * dir/class/sub/x.png): a folder of class folders, as far as format detection goes. Looks at a bounded
 * number of entries. */
static int holds_image(const char *dir, int depth, int *budget)
{
    DIR *d = opendir(dir);
    if (!d)
        return depth == 1 && errno == EACCES; /* a folder it may not read: the loader names the reason */
    int found = 0;
    struct dirent *e;
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    while (!found && (*budget)-- > 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            found = depth < 3 && holds_image(path, depth + 1, budget);
        else
            found = depth >= 2 && is_image_name(e->d_name);
    }
    closedir(d);
    return found;
}

int folder_detect(const char *dir)
{
    int budget = 4096;
    return holds_image(dir, 1, &budget);
}

int folder_flat(const char *dir)
{
    DIR *d = opendir(dir);
    int found = 0, budget = 4096;
    struct dirent *e;
    while (d && !found && budget-- > 0 && (e = readdir(d)))
        found = e->d_name[0] != '.' && is_image_name(e->d_name);
    if (d)
        closedir(d);
    return found;
}

/* Puts the images of pixels (n, side, side, 3) in the order of the permutation order[0..n) in place
 * (image i becomes the one at order[i]), following its cycles: one image of spare room, not a second copy of
 * the set (a folder of 50,000 photos at 224x224 is 7.5 GB). -1 when out of memory. */
static int permute_images(uint8_t *pixels, const long *order, long n, size_t per)
{
    uint8_t *spare = malloc(per), *done = calloc((size_t)n, 1);
    if (!spare || !done) {
        free(spare);
        free(done);
        return -1;
    }
    for (long start = 0; start < n; start++) {
        if (done[start])
            continue;
        memcpy(spare, pixels + (size_t)start * per, per);
        long j = start;
        for (long k = order[j]; k != start; j = k, k = order[j]) {
            memcpy(pixels + (size_t)j * per, pixels + (size_t)k * per, per);
            done[j] = 1;
        }
        memcpy(pixels + (size_t)j * per, spare, per);
        done[j] = 1;
    }
    free(spare);
    free(done);
    return 0;
}

/* The raw split of the files idx[0..n) of l, keeping the first `limit` (0: all), taking over *pixels (n
 * images at side, already in idx's order; NULL afterwards), shrunk to the images kept. */
static int take_split(const folder_list *l, uint8_t **pixels, int side, const long *idx, long n, long limit,
                      raw_split *s, vt_err *err)
{
    const size_t per = (size_t)side * (size_t)side * 3;
    s->n_file = n;
    s->n = limit > 0 && limit < n ? limit : n;
    s->h = s->w = side;
    s->c = 3;
    s->x = *pixels;
    *pixels = NULL;
    uint8_t *kept = realloc(s->x, (size_t)s->n * per);
    if (kept)
        s->x = kept; /* else the larger block serves as well */
    if (!(s->y = malloc((size_t)s->n * sizeof *s->y)))
        return vt_fail(err, VT_EIO, "%s: out of memory for %ld images", l->root, s->n);
    for (long i = 0; i < s->n; i++)
        s->y[i] = l->files[idx[i]].label;
    s->label_max = l->classes - 1;
    return VT_OK;
}

/* The splits from the pixels of each folder: a folder each as they are, or one folder put in the seed's
 * order, its last count[1] images copied out as the test split. */
static int make_splits(const folder_list *L, uint8_t **pixels, int side, long *const idx[2], const long count[2],
                       int two, const data_options *opt, raw_split *tr, raw_split *te, vt_err *err)
{
    const size_t per = (size_t)side * (size_t)side * 3;
    uint8_t *test = NULL;
    if (two) {
        test = pixels[1];
        pixels[1] = NULL;
    } else {
        if (permute_images(pixels[0], idx[0], count[0] + count[1], per) != 0 ||
            !(test = malloc((size_t)count[1] * per)))
            return vt_fail(err, VT_EIO, "%s: out of memory splitting the images", L[0].root);
        memcpy(test, pixels[0] + (size_t)count[0] * per, (size_t)count[1] * per);
    }
    int rc = take_split(&L[0], &pixels[0], side, idx[0], count[0], opt->limit_train, tr, err);
    if (!rc)
        rc = take_split(two ? &L[1] : &L[0], &test, side, idx[1], count[1], opt->limit_test, te, err);
    free(test);
    return rc;
}

/* A file's bytes into the fingerprint (a rewritten image of the same size is another data set). */
static uint64_t print_file(uint64_t h, const folder_list *l, long i)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA], *data;
    size_t len;
    vt_err err;
    snprintf(path, sizeof path, "%s/%s", l->root, l->files[i].rel);
    if (vt_read_file(path, 256LL << 20, &data, &len, &err) != VT_OK)
        return h;
    h = fnv(h, data, len);
    free(data);
    return h;
}

static int same_classes(const folder_list *a, const folder_list *b, vt_err *err)
{
    for (int c = 0; c < a->classes || c < b->classes; c++)
        if (c >= a->classes || c >= b->classes || strcmp(a->class_raw[c], b->class_raw[c]) != 0)
            return vt_fail(err, VT_EUSAGE, "%s: its class folders are not %s's (class %d is %.200s there, %.200s "
                           "here): the validation folder needs the same classes", b->root, a->root, c,
                           c < a->classes ? a->class_raw[c] : "missing", c < b->classes ? b->class_raw[c] : "missing");
    return VT_OK;
}

int data_folder_side(const data_options *opt)
{
    if (opt->folder_side > 0)
        return opt->folder_side;
    if (opt->resize > 0)
        return opt->resize;
    return opt->min_size > FOLDER_DEFAULT_SIDE ? opt->min_size : FOLDER_DEFAULT_SIDE;
}

/* The train and test lists, and how the validation images were chosen (for the notice). */
static int folder_lists(const data_options *opt, const char *dir, folder_list *tr, folder_list *te, char *roots,
                        size_t size, char *how, size_t hsize, vt_err *err)
{
    const char *val = opt->val_path && *opt->val_path ? opt->val_path : NULL;
    const char *test_name = val ? NULL : split_layout(dir);
    double split = opt->validation_split;
    if (split < 0 || split >= 1)
        return vt_fail(err, VT_EUSAGE, "--validation-split %g: expected a fraction in [0, 1)", split);
    if (val && split > 0)
        return vt_fail(err, VT_EUSAGE, "--validation-split and --val-data both choose the validation images: give "
                       "one");
    const char *three = test_name ? NULL : three_way_split(dir);
    if (three)
        return vt_fail(err, VT_EUSAGE, "%s holds train/ and more than one of val/, validation/ and test/: say which to "
                       "train on and which validates (--data %s/train --val-data %s/%s), not one class each", dir, dir,
                       dir, three);
    if (test_name && split > 0)
        return vt_fail(err, VT_EUSAGE, "--validation-split: %s already holds train/ and %s/ (drop the flag, or give "
                       "--data %s/train)", dir, test_name, dir);
    if (!val && !test_name && !(split > 0))
        return vt_fail(err, VT_EUSAGE, "%s: a folder of class folders needs validation images: --validation-split F "
                       "(e.g. 0.2), --val-data DIR, or the layout DIR/train + DIR/test", dir);
    int rc;
    if (val || test_name) {
        snprintf(roots, size, "%s%s", dir, test_name ? "/train" : "");
        snprintf(roots + size, size, "%s%s%s", val ? val : dir, test_name ? "/" : "", test_name ? test_name : "");
        if ((rc = folder_list_read(roots, tr, err)))
            return rc;
        if ((rc = folder_list_read(roots + size, te, err)) || (rc = same_classes(tr, te, err))) {
            list_free(tr);
            list_free(te);
            return rc;
        }
        snprintf(how, hsize, "validation images from %.300s", roots + size);
        return VT_OK;
    }
    snprintf(roots, size, "%s", dir);
    if ((rc = folder_list_read(roots, tr, err)))
        return rc;
    snprintf(how, hsize, "--validation-split %g with seed %llu", split, (unsigned long long)opt->seed);
    return VT_OK;
}

int folder_load(const data_options *opt, const char *dir, raw_split *tr, raw_split *te, char ***names, int *classes,
                uint64_t *print, char *notice, size_t size, vt_err *err)
{
    const int side = data_folder_side(opt);
    folder_list L[2];
    char roots[2 * VT_PATH_MAX], how[400], got[2][400];
    memset(L, 0, sizeof L);
    int rc = folder_lists(opt, dir, &L[0], &L[1], roots, VT_PATH_MAX, how, sizeof how, err);
    if (rc)
        return rc;
    int two = L[1].n > 0;
    uint8_t *pixels[2] = {NULL, NULL};
    long *idx[2] = {NULL, NULL}, count[2] = {0, 0};
    for (int k = 0; !rc && k < 1 + two; k++)
        rc = folder_pixels(&L[k], side, &pixels[k], got[k], sizeof got[k], err);
    /* Which files each split takes: all of each folder, or the seed's shuffle of one folder cut at the end. */
    if (!rc) {
        long n = L[0].n, n_val = two ? 0 : (long)(opt->validation_split * (double)n);
        if (!two && (n_val < 1 || n_val >= n))
            rc = vt_fail(err, VT_EUSAGE, "--validation-split %g of %ld images leaves %s", opt->validation_split, n,
                         n_val < 1 ? "no validation image" : "no training image");
        idx[0] = malloc(sizeof(long) * (size_t)n);
        idx[1] = malloc(sizeof(long) * (size_t)(two ? L[1].n : n));
        if (!rc && (!idx[0] || !idx[1]))
            rc = vt_fail(err, VT_EIO, "out of memory");
        if (!rc && two) {
            for (long i = 0; i < n; i++)
                idx[0][i] = i;
            for (long i = 0; i < L[1].n; i++)
                idx[1][i] = i;
            count[0] = n;
            count[1] = L[1].n;
        } else if (!rc) {
            data_shuffle(idx[0], n, opt->seed, -1); /* epoch -1: a stream no training epoch uses */
            memcpy(idx[1], idx[0] + (n - n_val), sizeof(long) * (size_t)n_val);
            count[0] = n - n_val;
            count[1] = n_val;
        }
    }
    const folder_list *test_list = two ? &L[1] : &L[0];
    if (!rc)
        rc = make_splits(L, pixels, side, idx, count, two, opt, tr, te, err);
    if (!rc && !(*names = names_escape_all(L[0].class_raw, NULL, L[0].classes)))
        rc = vt_fail(err, VT_EIO, "out of memory for class names");
    if (!rc) {
        *classes = L[0].classes;
        /* The files of both folders (names, labels, sizes), the split, and the bytes of the first training and
         * the first and last test image kept: independent of the side, the times and --limit-train. */
        uint64_t h = folder_listing_print(&L[0], 0, FNV_START);
        if (two)
            h = folder_listing_print(&L[1], 0, h);
        h = fnv(h, idx[1], sizeof(long) * (size_t)count[1]);
        h = print_file(h, &L[0], idx[0][0]);
        h = print_file(h, test_list, idx[1][0]);
        *print = print_file(h, test_list, idx[1][te->n - 1]);
        long ignored = L[0].ignored + L[1].ignored;
        char other[64] = "";
        if (ignored)
            snprintf(other, sizeof other, "; %ld other file%s ignored", ignored, ignored == 1 ? "" : "s");
        snprintf(notice, size, "%ld images in %d classes, resized to %dx%d; %s; %s%s%s%s.", L[0].n + L[1].n,
                 L[0].classes, side, side, how, got[0], two ? ", validation images " : "", two ? got[1] : "", other);
    }
    for (int k = 0; k < 2; k++) {
        free(pixels[k]);
        free(idx[k]);
        list_free(&L[k]);
    }
    return rc;
}
