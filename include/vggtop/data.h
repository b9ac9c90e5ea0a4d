/* data: data set loaders (CIFAR-100, CIFAR-10, IDX/Fashion-MNIST), OpenCV-equivalent bicubic resize,
 * shuffling and batch assembly. Images are kept as uint8, (N, H, W, C) interleaved (HWC per image), already
 * resized to the size the model needs; a batch is made float (N, H, W, C) only when it is assembled. */
#ifndef VGGTOP_DATA_H
#define VGGTOP_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "vggtop/util.h"

typedef enum { DATA_CIFAR100 = 1, DATA_CIFAR10, DATA_IDX, DATA_CIFAR100_PYTHON, DATA_FOLDER } data_format;
typedef enum { DATA_TRAIN = 0, DATA_TEST = 1 } data_split;

/* Where the data set came from, in the order they are tried. */
typedef enum {
    DATA_FROM_FLAG = 1, DATA_FROM_ENV, DATA_FROM_DEFAULT_DIR, DATA_FROM_PACKAGE,
    DATA_FROM_KERAS,      /* keras.datasets.cifar100's cache under $HOME */
    DATA_FROM_TORCHVISION /* torchvision.datasets.CIFAR100(root="./data") */
} data_source;

/* The places tried after --data and $VGGTOP_DATA, in this order: the binary version, the python version
 * (unpacked, in Keras's cache then torchvision's folder; then the tarball of either), then Fashion-MNIST. */
#define DATA_DEFAULT_DIR "./data/cifar-100-binary"
#define DATA_KERAS_DIR "~/.keras/datasets/cifar-100-python"       /* ~ is $HOME */
#define DATA_TORCHVISION_DIR "./data/cifar-100-python"
#define DATA_PYTHON_TARBALL "cifar-100-python.tar.gz"               /* in ~/.keras/datasets or ./data */
#define DATA_PACKAGE_DIR "/usr/share/datasets/fashion-mnist" /* Debian's dataset-fashion-mnist */

typedef struct data_options {
    const char *path;  /* --data; NULL: $VGGTOP_DATA, then the places above */
    const char *path_what; /* who named path, for its errors: NULL "--data"; "the run's data set" (config.json) */
    int coarse;        /* CIFAR-100: 1 = 20 coarse labels, 0 = 100 fine labels */
    int resize;        /* 0: native size; N: bicubic resize to N x N at load time */
    int min_size;      /* a model's minimum side (32 for vgg16/vgg19): smaller images are upscaled to it,
                          and data_open says so in dataset.notice */
    long limit_train;  /* 0: all; N: the first N */
    long limit_test;
    /* A folder of class folders (DATA_FOLDER, a user's own images): where its validation images come from and
     * the side its images are resized to. Other formats ignore these. */
    double validation_split; /* F in (0, 1): the last F of the files, shuffled by seed, as Keras; 0: none */
    const char *val_path;    /* a second folder of the same class folders for validation; NULL: none */
    uint64_t seed;           /* the shuffle of --validation-split (a run's seed) */
    int folder_side;         /* the side images are resized to; 0: resize, else 32 or min_size if larger */
} data_options;

typedef struct dataset {
    char name[32];        /* "CIFAR-100", "CIFAR-10", "Fashion-MNIST", "MNIST", "IDX" */
    char path[VT_PATH_MAX];     /* the directory loaded (or cifar-100-python.tar.gz) */
    data_format format;
    data_source source;
    char notice[1024];    /* what the user should be told, one line: an upscale, and how to get
                             CIFAR-100 when it is not the one loaded; "" when nothing to say */
    int orig_height, orig_width;
    int height, width, channels; /* after resizing: what the model gets */
    int classes;
    int coarse;           /* CIFAR-100: the labels are the 20 superclasses (--labels coarse) */
    char **class_names;   /* classes strings, from the data set's files or the lists built in (assets/) */
    /* CIFAR-100 only (else 0/NULL), with fine or coarse labels alike: the 20 superclasses and each fine
     * class's superclass, for folding a fine confusion matrix into a coarse one. */
    int coarse_classes;
    char **coarse_names;  /* coarse_classes strings */
    int *fine_to_coarse;  /* 100 entries, indexed by fine class (not by `classes` when coarse is 1) */
    long n_train, n_test;           /* images kept, after --limit-train / --limit-test */
    long n_train_file, n_test_file; /* images the files hold */
    uint8_t *train_x, *test_x; /* (n, height, width, channels) */
    int *train_y, *test_y;     /* in [0, classes) */
    /* Which data set this is, cheaply: FNV-1a over the files' image counts, the native size, and the first
     * training image and the first and last test image kept (native pixels, with their labels). Two sets of
     * one format and size differ in it; the same set read with the same labels and --limit-test, at any
     * --resize or --limit-train gives the same value (a run's config.json keeps it to refuse another set). */
    uint64_t fingerprint;
} dataset;

/* A folder of class folders is a data set too (one sub-folder per class, sorted by name: the class index;
 * PNG and JPEG files below each, other files ignored and counted): its images are decoded and resized to
 * data_options.folder_side once, cached as one binary file in the folder (.vggtop-cache-<side>.bin, or under
 * $XDG_CACHE_HOME/vggtop, ~/.cache/vggtop when the folder is read-only) and read from there while no file's
 * name, size or time has changed. Its fingerprint covers every file's name, label and size, the split, and the
 * bytes of the first training and the first and last test file. An empty class folder, a single class, a file
 * that does not decode and a folder that cannot be read are refused with one line naming them.
 *
 * Finds, checks and loads a data set. Every problem (missing directory, truncated file, bad IDX magic,
 * labels out of range, corrupt gzip, a pickle that is not plain data, ...) is one line in err naming the
 * file, VT_EUSAGE, nothing leaked (VT_EIO when out of memory). The format is judged by the files a directory
 * holds (train.bin + test.bin, train + test + meta, data_batch_N.bin + test_batch.bin,
 * *-images-idx3-ubyte[.gz]) or by a file named cifar-100-python.tar.gz; a directory holding exactly one known
 * data set folder (cifar-100-binary, cifar-100-python, cifar-10-batches-bin, fashion-mnist) stands for it. Resizing runs on
 * a few threads, joined before returning. A limit reads only the first N records of a CIFAR file. */
int data_open(const data_options *opt, dataset **out, vt_err *err);
void data_destroy(dataset *ds);
/* The side an image folder's images are resized to under opt: folder_side, else resize, else 32 (CIFAR's) or
 * min_size when larger. */
int data_folder_side(const data_options *opt);
/* The directory data_open would use for opt, and where it came from, without loading anything. Any thread
 * may call it (and data_open) while others do: it keeps nothing between calls. */
int data_locate(const data_options *opt, char *dir, size_t size, data_source *source, vt_err *err);
const char *data_source_name(data_source source); /* "--data", "$VGGTOP_DATA", ... */
const char *data_format_name(data_format format);  /* "CIFAR-100 binary", "CIFAR-100 python", ... */

/* ---- download.c: getting CIFAR-100 (vggtop data --download, the Setup screen's d key) ---------------- */

#define DATA_CIFAR100_URL "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
#define DATA_CIFAR100_MD5 "03b5dce01913d631647c71ecec9e9cb8" /* published on the CIFAR page */
#define DATA_CIFAR100_BYTES 168513733LL

typedef enum {
    FETCH_CHECKING_TARGET = 1, /* is the data set already there? */
    FETCH_CONNECTING,
    FETCH_DOWNLOADING,
    FETCH_RETRYING,            /* waiting before the next attempt; message says why */
    FETCH_VERIFYING,           /* size and MD5 */
    FETCH_EXTRACTING,
    FETCH_CHECKING_DATA,       /* the data_open check of the unpacked files */
    FETCH_DONE,
} data_fetch_phase;

/* What a download reports as it goes (plain data, copied by the caller). */
typedef struct data_fetch_progress {
    data_fetch_phase phase;
    long long done, total;  /* bytes of the tarball on disk, and its full size (0 while unknown) */
    long long resumed_from; /* bytes a previous attempt or run had left, 0 when starting afresh */
    double rate;            /* bytes per second over the last few seconds (0 while unknown) */
    double eta;             /* seconds left, < 0 while unknown */
    int attempt, attempts;  /* attempt of attempts in a row without progress */
    char message[256];      /* the phase in words: "retrying in 2 s: connection cut (attempt 2 of 3)" */
} data_fetch_progress;

typedef struct data_fetch_options {
    const char *dir;     /* the data set folder to create; NULL: DATA_DEFAULT_DIR */
    const char *url;     /* NULL: $VGGTOP_CIFAR100_URL, else DATA_CIFAR100_URL (http, https or file) */
    const char *md5;     /* 32 hex digits; NULL: $VGGTOP_CIFAR100_MD5, else DATA_CIFAR100_MD5 (and then the
                            size is checked too) */
    int timeout;         /* seconds to connect and without a byte before giving up an attempt; 0: 30 */
    int file;            /* 1: one file, not the data set: dir is its path, url and md5 are required, and the
                            verified download ("<dir>.part", resumed as the tarball is) is renamed to it
                            without unpacking (keras.applications' weights); an existing file is refused */
    /* Called from the downloading thread, at most about 10 times a second and at each phase change. */
    void (*progress)(const data_fetch_progress *p, void *arg);
    /* Polled as it goes; nonzero stops the download (the partial file is kept for a resume). */
    int (*cancelled)(void *arg);
    void *arg;
} data_fetch_options;

/* Downloads the CIFAR-100 binary tarball to "<dir>.tar.gz.part" (resuming what a previous run left, with an
 * HTTP Range request), checks its size and MD5, unpacks it into "<dir>.tmp.<pid>" refusing every member
 * that is not one of the data set's files (absolute paths, "..", links, anything else), checks the result
 * as data_open does and only then renames it to dir and deletes the tarball. A dir that already holds
 * CIFAR-100 is left alone (VT_OK, nothing fetched). installed gets dir. Errors: VT_EUSAGE for a bad option,
 * an HTTP error, a wrong checksum or tarball (nothing installed, the tarball deleted); VT_EIO for network
 * failures after the retries, a cancel and the disk (the partial file is kept); one line in err. */
int data_fetch(const data_fetch_options *opt, char *installed, size_t size, vt_err *err);

/* The MD5 of a regular file as 32 lower-case hex digits (libcrypto's EVP, as the download checks). */
int data_file_md5(const char *path, char hex[33], vt_err *err);

/* The same on a thread of its own, for the front end: it copies opt's strings (progress, cancelled and arg
 * are ignored) and publishes its progress under a mutex; the UI polls a snapshot. A self-pipe wakes it. */
typedef struct data_fetch_job data_fetch_job;
typedef struct data_fetch_status {
    data_fetch_progress progress;
    int finished;        /* the thread is done: rc, err and installed are final */
    int rc;
    vt_err err;
    char installed[VT_PATH_MAX];
} data_fetch_status;

int data_fetch_start(const data_fetch_options *opt, data_fetch_job **out, vt_err *err);
void data_fetch_poll(data_fetch_job *job, data_fetch_status *st); /* drains the wake pipe, copies the state */
void data_fetch_cancel(data_fetch_job *job);                      /* returns at once; poll until finished */
int data_fetch_wake_fd(const data_fetch_job *job);
void data_fetch_destroy(data_fetch_job *job);                     /* cancels, joins and frees */


/* Bicubic resampling equal to OpenCV's cv2.resize(..., interpolation=INTER_CUBIC) on uint8 images
 * (HWC interleaved, c channels): within +-1 grey level (bit-exact on the test fixtures). 0, or -1 when
 * out of memory for its coefficient tables (dst untouched). */
int image_resize_bicubic(const uint8_t *src, int sh, int sw, int c, uint8_t *dst, int dh, int dw);

/* A PNG or JPEG file (told apart by its first bytes) as *rgb (h, w, 3) 8-bit RGB, malloc'ed, converted as
 * OpenCV's imread(IMREAD_COLOR): greyscale to three equal channels, a palette expanded, alpha dropped,
 * 16-bit samples to their high byte. More than max_pixels (w * h, from the header) is refused before any
 * pixel is allocated; so is a truncated or damaged file. VT_EUSAGE with one line naming the file. */
#define IMAGE_MAX_PIXELS (64LL << 20)
int image_read(const char *path, long long max_pixels, uint8_t **rgb, int *h, int *w, vt_err *err);

/* The order of the training set in one epoch: a permutation of [0, n) that depends only on (seed, epoch),
 * so a resumed run sees the same batches. */
void data_shuffle(long *order, long n, uint64_t seed, int epoch);

typedef struct preprocess {
    int standardize;        /* 0: x / 255 (the seed's); 1: per-channel (x/255 - mean) / std */
    int caffe;              /* Keras' "caffe" mode, what ImageNet VGG weights expect (3 channels): RGB -> BGR,
                               the ImageNet means (B 103.939, G 116.779, R 123.68) subtracted, no / 255 */
    float mean[4], std[4];  /* per channel, of the training set, from data_channel_stats */
    int augment;            /* random crop with 4-pixel padding and horizontal flip (training only) */
    uint64_t aug_stream;    /* with augment: the epoch's stream (vt_seed_mix(seed, epoch) or the like); each
                               image's draws come from vt_seed_mix(aug_stream, its index) alone */
} preprocess;

/* Per-channel mean and (population) standard deviation of the training images scaled to [0, 1]. */
void data_channel_stats(const dataset *ds, float *mean, float *std);

/* n images src (n, height, width, channels) uint8 into x as data_fill_batch prepares test images (pp's
 * normalisation, never augmentation): for images that are not a data set's (vggtop predict). */
void data_fill_images(const uint8_t *src, int n, int height, int width, int channels, const preprocess *pp, float *x);

/* Assembles a batch: x gets (n, height, width, channels) floats, y the n labels of the images idx[0..n)
 * of split (y may be NULL). pp NULL means x / 255. Augmentation applies to DATA_TRAIN only: image idx[i]
 * draws 3 numbers from a generator seeded with vt_seed_mix(pp->aug_stream, idx[i]), in this order: crop
 * row offset and column offset in [0, 8] of the image zero-padded by 4 pixels, then a flip bit
 * (vt_rng_below(rng, 2)). So an image's augmentation depends on the stream and its index only, never on
 * the batch it lands in, the batch size or how a batch is split between processes; nothing carries over
 * from one batch to the next. Allocates nothing; reads ds only, so threads may fill batches at once. */
void data_fill_batch(const dataset *ds, data_split split, const long *idx, int n, const preprocess *pp, float *x,
                     int *y);

#endif
