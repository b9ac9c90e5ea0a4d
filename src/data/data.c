/* data: which data set runs (--data, $VGGTOP_DATA, ./data/cifar-100-binary, the python version in Keras's
 * cache or torchvision's folder, Debian's Fashion-MNIST),
 * format detection, opening a data set (load, check, name the classes, resize once), and the per-epoch
 * work of training: the shuffle, channel statistics and batch assembly. The file formats themselves
 * live in cifar.c, pickle.c and idx.c, the resampling in resize.c, the download in download.c. */
#include "data_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A file named cifar-100-python.tar.gz (the python version's tarball, read without unpacking). */
static int is_python_tarball(const char *path)
{
    size_t n = strlen(path), t = strlen(DATA_PYTHON_TARBALL);
    return n >= t && strcmp(path + n - t, DATA_PYTHON_TARBALL) == 0 && (n == t || path[n - t - 1] == '/') &&
           is_file(path);
}

/* "~/x" with $HOME; 0 when there is no $HOME. */
static int home_path(char *out, size_t size, const char *tilde)
{
    const char *home = getenv("HOME");
    if (!home || !*home || tilde[0] != '~')
        return 0;
    return (size_t)snprintf(out, size, "%s%s", home, tilde + 1) < size;
}

/* Present is what lstat sees: a dangling link or a loop in place of a data file is the data set's broken file,
 * which its loader then names, not a sign that no data set is there. */
static int exists(const char *dir, const char *name)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

const char *data_source_name(data_source source)
{
    switch (source) {
    case DATA_FROM_FLAG: return "--data";
    case DATA_FROM_ENV: return "$VGGTOP_DATA";
    case DATA_FROM_DEFAULT_DIR: return "the default directory " DATA_DEFAULT_DIR;
    case DATA_FROM_PACKAGE: return "Debian's dataset-fashion-mnist package";
    case DATA_FROM_KERAS: return "Keras's cache ~/.keras/datasets";
    case DATA_FROM_TORCHVISION: return "torchvision's folder ./data";
    }
    return "?";
}

const char *data_format_name(data_format format)
{
    switch (format) {
    case DATA_CIFAR100: return "CIFAR-100 binary";
    case DATA_CIFAR10: return "CIFAR-10 binary";
    case DATA_CIFAR100_PYTHON: return "CIFAR-100 python";
    case DATA_IDX: return "IDX";
    case DATA_FOLDER: return "image folder";
    }
    return "?";
}

/* A directory named by the user must be one; say which setting named it. */
static int check_dir(const char *what, const char *path, vt_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return vt_fail(err, VT_EUSAGE, "%s %s: %s", what, path, strerror(errno));
    if (is_python_tarball(path))
        return VT_OK;
    if (!S_ISDIR(st.st_mode))
        return vt_fail(err, VT_EUSAGE, "%s %s: not a directory (give the folder that holds the data files)", what,
                       path);
    return VT_OK;
}

int data_locate(const data_options *opt, char *dir, size_t size, data_source *source, vt_err *err)
{
    const char *env = getenv("VGGTOP_DATA");
    const char *path;
    /* The Keras cache's folder and tarball under $HOME: this call's own, since the engine, the Setup screen's
     * probe and the download all locate data sets on threads of their own at once. */
    char keras_dir[VT_PATH_MAX], keras_tar[VT_PATH_MAX];
    int rc = VT_OK;
    if (opt && opt->path && *opt->path) {
        path = opt->path;
        *source = DATA_FROM_FLAG;
        rc = check_dir(opt->path_what ? opt->path_what : "--data", path, err);
        if (rc && opt->path_what) { /* a user who gave no --data is told the flag that would fix it */
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err->msg);
            vt_fail(err, rc, "%.400s (give --data DIR where it is now)", why);
        }
    } else if (env && *env) {
        path = env;
        *source = DATA_FROM_ENV;
        rc = check_dir("$VGGTOP_DATA", path, err);
    } else if (is_dir(DATA_DEFAULT_DIR)) {
        path = DATA_DEFAULT_DIR;
        *source = DATA_FROM_DEFAULT_DIR;
    } else {
        /* The python version: unpacked first (Keras's cache, torchvision's folder), then either's tarball. */
        int home = home_path(keras_dir, sizeof keras_dir, DATA_KERAS_DIR) &&
                   home_path(keras_tar, sizeof keras_tar, "~/.keras/datasets/" DATA_PYTHON_TARBALL);
        path = NULL;
        if (home && is_dir(keras_dir)) {
            path = keras_dir;
            *source = DATA_FROM_KERAS;
        } else if (is_dir(DATA_TORCHVISION_DIR)) {
            path = DATA_TORCHVISION_DIR;
            *source = DATA_FROM_TORCHVISION;
        } else if (home && is_python_tarball(keras_tar)) {
            path = keras_tar;
            *source = DATA_FROM_KERAS;
        } else if (is_python_tarball("./data/" DATA_PYTHON_TARBALL)) {
            path = "./data/" DATA_PYTHON_TARBALL;
            *source = DATA_FROM_TORCHVISION;
        } else if (is_dir(DATA_PACKAGE_DIR)) {
            path = DATA_PACKAGE_DIR;
            *source = DATA_FROM_PACKAGE;
        } else {
            return vt_fail(err, VT_EUSAGE,
                           "no data set: no --data, no $VGGTOP_DATA, no CIFAR-100 in " DATA_DEFAULT_DIR ", "
                           DATA_KERAS_DIR " or " DATA_TORCHVISION_DIR ", and no " DATA_PACKAGE_DIR
                           " (vggtop data --download fetches CIFAR-100)");
        }
    }
    if (rc)
        return rc;
    if ((size_t)snprintf(dir, size, "%s", path) >= size)
        return vt_fail(err, VT_EUSAGE, "%s: path too long", path);
    return VT_OK;
}

data_format data_detect(const char *dir)
{
    if (is_python_tarball(dir))
        return DATA_CIFAR100_PYTHON;
    if (exists(dir, "train.bin") && exists(dir, "test.bin"))
        return DATA_CIFAR100;
    if (exists(dir, "train") && exists(dir, "test") && exists(dir, "meta"))
        return DATA_CIFAR100_PYTHON;
    if (exists(dir, "data_batch_1.bin") && exists(dir, "test_batch.bin"))
        return DATA_CIFAR10;
    static const char *const idx_names[] = {"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte",
                                            "train-images.idx3-ubyte.gz", "train-images.idx3-ubyte"};
    for (size_t i = 0; i < sizeof idx_names / sizeof idx_names[0]; i++)
        if (exists(dir, idx_names[i]))
            return DATA_IDX;
    return 0;
}

/* A directory that holds no data set itself but exactly one known data set folder (the parent of an
 * unpacked archive, e.g. ./data) stands for that folder. */
static void descend_into_known_folder(char *dir, size_t size)
{
    static const char *const folders[] = {"cifar-100-binary", "cifar-100-python", "cifar-10-batches-bin",
                                          "fashion-mnist"};
    if (data_detect(dir))
        return;
    char found[VT_PATH_MAX + VT_PATH_EXTRA] = "", path[VT_PATH_MAX + VT_PATH_EXTRA];
    int count = 0;
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, folders[i]);
        if (is_dir(path) && data_detect(path)) {
            count++;
            snprintf(found, sizeof found, "%s", path);
        }
    }
    if (count == 1 && strlen(found) < size)
        memcpy(dir, found, strlen(found) + 1);
}

/* MNIST and Fashion-MNIST share a format; only the folder name tells them apart (and gives the names). */
static const char *idx_identity(const char *dir)
{
    char lower[VT_PATH_MAX];
    size_t i = 0;
    for (; dir[i] && i < sizeof lower - 1; i++)
        lower[i] = (char)tolower((unsigned char)dir[i]);
    lower[i] = '\0';
    if (strstr(lower, "fashion"))
        return "Fashion-MNIST";
    if (strstr(lower, "mnist"))
        return "MNIST";
    return "IDX";
}

void data_destroy(dataset *ds)
{
    if (!ds)
        return;
    names_free(ds->class_names, ds->classes);
    names_free(ds->coarse_names, ds->coarse_classes);
    free(ds->fine_to_coarse);
    free(ds->train_x);
    free(ds->test_x);
    free(ds->train_y);
    free(ds->test_y);
    free(ds);
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

/* Resizes a split in place of its pixels (the native copy is freed). */
static int resize_split(raw_split *s, int h, int w, const char *dir, vt_err *err)
{
    if (s->h == h && s->w == w)
        return VT_OK;
    size_t per = (size_t)h * (size_t)w * (size_t)s->c;
    uint8_t *dst = malloc((size_t)s->n * per);
    if (!dst || resize_images(s->x, s->n, s->h, s->w, s->c, dst, h, w, online_cpus()) != 0) {
        free(dst);
        return vt_fail(err, VT_EIO, "%s: out of memory resizing %ld images to %dx%d (%.1f GiB; try a smaller --resize "
                       "or --limit-train)", dir, s->n, h, w, (double)s->n * (double)per / (1024.0 * 1024 * 1024));
    }
    free(s->x);
    s->x = dst;
    s->h = h;
    s->w = w;
    return VT_OK;
}

/* CIFAR-100's fine -> coarse map, from the records themselves (both labels are in every record); fine
 * classes no kept record shows take the published table's superclass. A fine class seen under two
 * superclasses means the file is not CIFAR-100 as published. */
static int derive_fine_to_coarse(const raw_split *tr, const raw_split *te, const char *dir, int python, int *map,
                                 vt_err *err)
{
    int seen[100];
    for (int f = 0; f < 100; f++)
        seen[f] = -1;
    const raw_split *splits[2] = {tr, te};
    const char *files[2] = {python ? "train" : "train.bin", python ? "test" : "test.bin"};
    for (int k = 0; k < 2; k++)
        for (long i = 0; i < splits[k]->n; i++) {
            int f = splits[k]->y[i], c = splits[k]->coarse[i];
            if (seen[f] < 0)
                seen[f] = c;
            else if (seen[f] != c)
                return vt_fail(err, VT_EUSAGE,
                               "%s/%s: record %ld puts fine class %d (%s) in superclass %d, earlier records in %d",
                               dir, files[k], i, f, names_cifar100_fine[f], c, seen[f]);
        }
    for (int f = 0; f < 100; f++)
        map[f] = seen[f] >= 0 ? seen[f] : names_cifar100_fine_to_coarse[f];
    return VT_OK;
}

/* Class names: the data set's own file when it has one, else the built-in list. */
static int class_names(const char *dir, const char *file, const char *const *builtin, int n, char ***out,
                       vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int rc = names_read(path, n, out, err);
    if (rc)
        return rc;
    if (!*out && !(*out = names_copy(builtin, n)))
        return vt_fail(err, VT_EIO, "out of memory for class names");
    return VT_OK;
}

static char **numbered_names(int n)
{
    char **names = calloc((size_t)n, sizeof *names);
    for (int i = 0; names && i < n; i++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%d", i);
        if (!(names[i] = strdup(buf))) {
            names_free(names, i);
            return NULL;
        }
    }
    return names;
}

/* FNV-1a 64 over len bytes, from h. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* dataset.fingerprint of the splits before resizing: record i of s is its label and h*w*c pixels. */
static uint64_t fingerprint(const raw_split *tr, const raw_split *te)
{
    long head[5] = {tr->n_file, te->n_file, tr->h, tr->w, tr->c};
    uint64_t h = fnv1a(0xcbf29ce484222325ull, head, sizeof head);
    const raw_split *splits[3] = {tr, te, te};
    for (int k = 0; k < 3; k++) {
        const raw_split *s = splits[k];
        long i = k == 2 ? s->n - 1 : 0; /* the first training, the first and the last test image */
        size_t per = (size_t)s->h * (size_t)s->w * (size_t)s->c;
        if (s->n < 1)
            continue;
        h = fnv1a(h, &s->y[i], sizeof s->y[i]);
        h = fnv1a(h, s->x + (size_t)i * per, per);
    }
    return h;
}

/* A folder of class folders (folder.c); the folder's own name stands for the data set ("flowers"), cut to fit
 * and made printable; that of its absolute path, so "flowers/" and "." (inside it) are "flowers" too. */
static int open_folder(const data_options *opt, dataset *ds, raw_split *tr, raw_split *te, char *notice,
                       size_t size, vt_err *err)
{
    char *abs = realpath(ds->path, NULL);
    const char *path = abs ? abs : ds->path, *base = strrchr(path, '/');
    base = base && base[1] ? base + 1 : path;
    char *shown = vt_label_escape(base, strlen(base));
    snprintf(ds->name, sizeof ds->name, "%s", shown ? shown : "image folder");
    free(shown);
    free(abs);
    return folder_load(opt, ds->path, tr, te, &ds->class_names, &ds->classes, &ds->fingerprint, notice, size, err);
}

/* The options that are wrong whatever the data set. */
static int check_options(const data_options *opt, vt_err *err)
{
    if (opt->resize < 0 || opt->resize > 1024)
        return vt_fail(err, VT_EUSAGE, "--resize %d: expected 0 (native size) or a side of 1..1024 pixels",
                       opt->resize);
    if (opt->resize > 0 && opt->resize < opt->min_size)
        return vt_fail(err, VT_EUSAGE, "--resize %d: below the model's minimum input of %dx%d", opt->resize,
                       opt->min_size, opt->min_size);
    if (opt->limit_train < 0 || opt->limit_test < 0)
        return vt_fail(err, VT_EUSAGE, "--limit-%s %ld: expected 0 (all) or a positive count",
                       opt->limit_train < 0 ? "train" : "test",
                       opt->limit_train < 0 ? opt->limit_train : opt->limit_test);
    return VT_OK;
}

/* CIFAR-100, binary or python: its fine (or with --labels coarse, coarse) labels and names, and the map from
 * fine to coarse classes. */
static int open_cifar100(const data_options *opt, dataset *ds, raw_split *tr, raw_split *te, vt_err *err)
{
    const char *dir = ds->path;
    int rc;
    int python = ds->format == DATA_CIFAR100_PYTHON;
    char **fine = NULL; /* the python version's meta names */
    snprintf(ds->name, sizeof ds->name, "CIFAR-100");
    if (python) {
        if ((rc = cifar100_python_load(dir, opt->limit_train, opt->limit_test, tr, te, &fine, &ds->coarse_names,
                                       err)))
            return rc;
    } else if ((rc = cifar100_load(dir, DATA_TRAIN, opt->limit_train, tr, err)) ||
               (rc = cifar100_load(dir, DATA_TEST, opt->limit_test, te, err))) {
        return rc;
    }
    ds->coarse_classes = 20;
    if (!(ds->fine_to_coarse = malloc(100 * sizeof *ds->fine_to_coarse)) ||
        (rc = derive_fine_to_coarse(tr, te, dir, python, ds->fine_to_coarse, err)) ||
        (!python &&
         (rc = class_names(dir, "coarse_label_names.txt", names_cifar100_coarse, 20, &ds->coarse_names, err)))) {
        names_free(fine, fine ? 100 : 0);
        return rc ? rc : vt_fail(err, VT_EIO, "out of memory");
    }
    if (opt->coarse) {
        ds->coarse = 1;
        ds->classes = 20;
        for (long i = 0; i < tr->n; i++)
            tr->y[i] = tr->coarse[i];
        for (long i = 0; i < te->n; i++)
            te->y[i] = te->coarse[i];
        names_free(fine, fine ? 100 : 0);
        if (!(ds->class_names = names_copy((const char *const *)ds->coarse_names, 20)))
            return vt_fail(err, VT_EIO, "out of memory");
    } else {
        ds->classes = 100;
        if (python)
            ds->class_names = fine;
        else if ((rc = class_names(dir, "fine_label_names.txt", names_cifar100_fine, 100, &ds->class_names, err)))
            return rc;
    }
    return VT_OK;
}

/* MNIST, Fashion-MNIST or another IDX set (as many classes as its training labels show). */
static int open_idx(const data_options *opt, dataset *ds, raw_split *tr, raw_split *te, vt_err *err)
{
    const char *dir = ds->path;
    int rc;
    const char *id = idx_identity(dir);
    snprintf(ds->name, sizeof ds->name, "%s", id);
    int known = strcmp(id, "IDX") != 0; /* MNIST and Fashion-MNIST have 10 classes */
    if ((rc = idx_load(dir, DATA_TRAIN, opt->limit_train, known ? 10 : 0, tr, err)))
        return rc;
    if (known) {
        ds->classes = 10;
    } else {
        /* An unknown IDX set has as many classes as its training labels show (all of them, not only
         * the first --limit-train). */
        ds->classes = tr->label_max + 1;
    }
    if ((rc = idx_load(dir, DATA_TEST, opt->limit_test, ds->classes, te, err)))
        return rc;
    ds->class_names = !known                        ? numbered_names(ds->classes)
                      : strcmp(id, "MNIST") == 0    ? names_copy(names_mnist, 10)
                                                    : names_copy(names_fashion_mnist, 10);
    if (!ds->class_names)
        return vt_fail(err, VT_EIO, "out of memory for class names");
    return VT_OK;
}

/* The size the model gets (--resize, else native, upscaled to the model's minimum when smaller), both splits
 * resized to it, and the notice of what was done (folder: the folder's own notice after it). */
static int fit_size(const data_options *opt, dataset *ds, raw_split *tr, raw_split *te, const char *folder_notice,
                    vt_err *err)
{
    const char *dir = ds->path;
    int rc;
    ds->orig_height = tr->h;
    ds->orig_width = tr->w;
    ds->channels = tr->c;
    int h = tr->h, w = tr->w;
    char upscale[200] = "";
    if (opt->resize > 0) {
        h = w = opt->resize;
    } else if (h < opt->min_size || w < opt->min_size) {
        h = h < opt->min_size ? opt->min_size : h;
        w = w < opt->min_size ? opt->min_size : w;
    }
    /* Said whether the resize was asked for or not: the model could not take these images as they are. */
    if (tr->h < opt->min_size || tr->w < opt->min_size)
        snprintf(upscale, sizeof upscale, "%s images are upscaled from %dx%d to %dx%d (bicubic): the model needs at "
                 "least %dx%d. ", ds->name, tr->h, tr->w, h, w, opt->min_size, opt->min_size);
    if ((rc = resize_split(tr, h, w, dir, err)) || (rc = resize_split(te, h, w, dir, err)))
        return rc;
    ds->height = h;
    ds->width = w;
    if (ds->format == DATA_FOLDER)
        snprintf(ds->notice, sizeof ds->notice, "%s%.800s", upscale, folder_notice);
    else if (ds->format != DATA_CIFAR100 && ds->format != DATA_CIFAR100_PYTHON)
        snprintf(ds->notice, sizeof ds->notice,
                 "%sUsing %s from %.200s, not CIFAR-100. For CIFAR-100, run vggtop data --download (it fetches "
                 "and checks cifar-100-binary.tar.gz into " DATA_DEFAULT_DIR "), or pass --data DIR.",
                 upscale, ds->name, ds->source == DATA_FROM_PACKAGE ? data_source_name(ds->source) : dir);
    else
        snprintf(ds->notice, sizeof ds->notice, "%.*s", upscale[0] ? (int)strlen(upscale) - 1 : 0, upscale);
    return VT_OK;
}

static int open_checked(const data_options *opt, dataset *ds, raw_split *tr, raw_split *te, vt_err *err)
{
    data_options none = {0};
    if (!opt)
        opt = &none;
    int rc = check_options(opt, err);
    if (rc)
        return rc;
    rc = data_locate(opt, ds->path, sizeof ds->path, &ds->source, err);
    if (rc)
        return rc;
    descend_into_known_folder(ds->path, sizeof ds->path);
    const char *dir = ds->path;
    ds->format = data_detect(dir);
    if (!ds->format && folder_detect(dir))
        ds->format = DATA_FOLDER;
    ds->coarse = 0;
    char folder_notice[sizeof ds->notice] = "";
    if ((opt->validation_split > 0 || opt->val_path) && ds->format && ds->format != DATA_FOLDER)
        return vt_fail(err, VT_EUSAGE, "%s: only a folder of class folders takes %s; %s brings its own test set, "
                       "which is the validation data", dir, opt->val_path ? "--val-data" : "--validation-split",
                       data_format_name(ds->format));
    if (opt->coarse && ds->format && ds->format != DATA_CIFAR100 && ds->format != DATA_CIFAR100_PYTHON)
        return vt_fail(err, VT_EUSAGE, "--labels coarse: only CIFAR-100 has coarse labels, and %s is %s", dir,
                       data_format_name(ds->format));
    switch (ds->format) {
    case DATA_CIFAR100:
    case DATA_CIFAR100_PYTHON:
        if ((rc = open_cifar100(opt, ds, tr, te, err)))
            return rc;
        break;
    case DATA_CIFAR10:
        snprintf(ds->name, sizeof ds->name, "CIFAR-10");
        if ((rc = cifar10_load(dir, DATA_TRAIN, opt->limit_train, tr, err)) ||
            (rc = cifar10_load(dir, DATA_TEST, opt->limit_test, te, err)))
            return rc;
        ds->classes = 10;
        if ((rc = class_names(dir, "batches.meta.txt", names_cifar10, 10, &ds->class_names, err)))
            return rc;
        break;
    case DATA_IDX:
        if ((rc = open_idx(opt, ds, tr, te, err)))
            return rc;
        break;
    case DATA_FOLDER:
        if ((rc = open_folder(opt, ds, tr, te, folder_notice, sizeof folder_notice, err)))
            return rc;
        break;
    default:
        if (folder_flat(dir))
            return vt_fail(err, VT_EUSAGE, "%s (from %s): images with no class folders: put each class's images in a "
                           "sub-folder named after it (%s/cat/1.jpg, %s/dog/1.jpg, ...)", dir,
                           data_source_name(ds->source), dir, dir);
        return vt_fail(err, VT_EUSAGE,
                       "%s (from %s): no data set here: expected CIFAR-100 (train.bin, test.bin), CIFAR-10 "
                       "(data_batch_1..5.bin, test_batch.bin), IDX (train-images-idx3-ubyte[.gz] ...) or a "
                       "folder of class folders holding PNG or JPEG images",
                       dir, data_source_name(ds->source));
    }
    if (te->h != tr->h || te->w != tr->w || te->c != tr->c)
        return vt_fail(err, VT_EUSAGE, "%s: the test images are %dx%dx%d but the training images %dx%dx%d", dir,
                       te->h, te->w, te->c, tr->h, tr->w, tr->c);

    if (ds->format != DATA_FOLDER)
        ds->fingerprint = fingerprint(tr, te);
    return fit_size(opt, ds, tr, te, folder_notice, err);
}

int data_open(const data_options *opt, dataset **out, vt_err *err)
{
    *out = NULL;
    dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return vt_fail(err, VT_EIO, "out of memory");
    raw_split tr = {0}, te = {0};
    int rc = open_checked(opt, ds, &tr, &te, err);
    if (rc) {
        raw_split_free(&tr);
        raw_split_free(&te);
        data_destroy(ds);
        return rc;
    }
    ds->n_train = tr.n;
    ds->n_test = te.n;
    ds->n_train_file = tr.n_file;
    ds->n_test_file = te.n_file;
    ds->train_x = tr.x;
    ds->train_y = tr.y;
    ds->test_x = te.x;
    ds->test_y = te.y;
    free(tr.coarse);
    free(te.coarse);
    *out = ds;
    return VT_OK;
}

/* ---- training-time work ---------------------------------------------------------------------------- */

void data_shuffle(long *order, long n, uint64_t seed, int epoch)
{
    vt_rng rng;
    vt_rng_seed(&rng, vt_seed_mix(seed, (uint64_t)(unsigned)epoch));
    for (long i = 0; i < n; i++)
        order[i] = i;
    /* Fisher-Yates from the end: each of the n! orders equally likely. */
    for (long i = n - 1; i > 0; i--) {
        long j = (long)vt_rng_below(&rng, (uint32_t)(i + 1));
        long t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

void data_channel_stats(const dataset *ds, float *mean, float *std)
{
    /* Exact integer sums of v and v^2 per channel; only the final division is floating point. */
    uint64_t sum[4] = {0}, sq[4] = {0};
    const int c = ds->channels;
    const size_t pixels = (size_t)ds->n_train * (size_t)ds->height * (size_t)ds->width;
    const uint8_t *x = ds->train_x;
    for (size_t p = 0; p < pixels; p++)
        for (int k = 0; k < c; k++) {
            unsigned v = x[p * (size_t)c + (size_t)k];
            sum[k] += v;
            sq[k] += v * v;
        }
    for (int k = 0; k < c; k++) {
        double n = pixels ? (double)pixels : 1.0;
        double m = (double)sum[k] / n / 255.0;
        double var = (double)sq[k] / n / (255.0 * 255.0) - m * m;
        mean[k] = (float)m;
        std[k] = (float)(var > 0 ? sqrt(var) : 0.0);
    }
}

/* The value of every byte in every channel, so the per-pixel work is one lookup, and the source channel of
 * each output channel (reversed for caffe's BGR). x / 255 is divided, not multiplied by 1/255, to be the
 * same float as the seed's x.astype('float32') / 255. */
static void build_lut(const preprocess *pp, int C, float lut[4][256], int from[4])
{
    static const float bgr_mean[3] = {103.939f, 116.779f, 123.68f};
    const int caffe = pp && pp->caffe && C == 3;
    for (int k = 0; k < 4; k++)
        from[k] = caffe && k < 3 ? 2 - k : k;
    for (int k = 0; k < C; k++)
        for (int v = 0; v < 256; v++) {
            float f = (float)v / 255.0f;
            if (caffe)
                f = (float)v - bgr_mean[k];
            else if (pp && pp->standardize)
                f = pp->std[k] > 0 ? (f - pp->mean[k]) / pp->std[k] : f - pp->mean[k];
            lut[k][v] = f;
        }
}

void data_fill_images(const uint8_t *src, int n, int height, int width, int channels, const preprocess *pp, float *x)
{
    float lut[4][256];
    int from[4];
    build_lut(pp, channels, lut, from);
    const size_t pixels = (size_t)n * (size_t)height * (size_t)width, C = (size_t)channels;
    for (size_t p = 0; p < pixels; p++)
        for (size_t k = 0; k < C; k++)
            x[p * C + k] = lut[k][src[p * C + (size_t)from[k]]];
}

void data_fill_batch(const dataset *ds, data_split split, const long *idx, int n, const preprocess *pp, float *x,
                     int *y)
{
    const int H = ds->height, W = ds->width, C = ds->channels;
    const size_t image = (size_t)H * (size_t)W * (size_t)C;
    const uint8_t *base = split == DATA_TRAIN ? ds->train_x : ds->test_x;
    const int *labels = split == DATA_TRAIN ? ds->train_y : ds->test_y;
    float lut[4][256];
    int from[4];
    build_lut(pp, C, lut, from);
    const int augment = pp && pp->augment && split == DATA_TRAIN;
    enum { PAD = 4 };
    for (int i = 0; i < n; i++) {
        const uint8_t *src = base + (size_t)idx[i] * image;
        float *dst = x + (size_t)i * image;
        if (y)
            y[i] = labels[idx[i]];
        if (!augment) {
            for (size_t p = 0; p < (size_t)H * (size_t)W; p++)
                for (int k = 0; k < C; k++)
                    dst[p * (size_t)C + (size_t)k] = lut[k][src[p * (size_t)C + (size_t)from[k]]];
            continue;
        }
        /* Crop an H x W window at (dy, dx) of the image padded by PAD zero pixels on every side, then
         * mirror it left-right with probability 1/2. */
        vt_rng rng;
        vt_rng_seed(&rng, vt_seed_mix(pp->aug_stream, (uint64_t)idx[i]));
        int dy = (int)vt_rng_below(&rng, 2 * PAD + 1) - PAD;
        int dx = (int)vt_rng_below(&rng, 2 * PAD + 1) - PAD;
        int flip = (int)vt_rng_below(&rng, 2);
        for (int r = 0; r < H; r++)
            for (int col = 0; col < W; col++) {
                int sy = r + dy, sx = (flip ? W - 1 - col : col) + dx;
                int inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
                const uint8_t *s = src + ((size_t)(inside ? sy : 0) * (size_t)W + (size_t)(inside ? sx : 0)) * (size_t)C;
                float *d = dst + ((size_t)r * (size_t)W + (size_t)col) * (size_t)C;
                for (int k = 0; k < C; k++)
                    d[k] = lut[k][inside ? s[from[k]] : 0];
            }
    }
}
