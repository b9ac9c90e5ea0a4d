/* data_internal: what the files of src/data share and nothing outside needs: the loaders' common
 * result, the resampling plan, and the embedded class-name tables. */
#ifndef VGGTOP_DATA_INTERNAL_H
#define VGGTOP_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vggtop/data.h"

/* ---- resize.c ------------------------------------------------------------------------------------ */

/* OpenCV's INTER_CUBIC on uint8, planned once for a (sh, sw) -> (dh, dw) shape and reused for every
 * image of a data set. Coefficients are 11-bit fixed point as OpenCV's uint8 path uses them. */
typedef struct resize_plan {
    int sh, sw, c, dh, dw;
    int *xcol;     /* (dw, 4): the clamped source column of each tap, times c */
    short *alpha;  /* (dw, 4): horizontal tap weights, sum ~ 2048 */
    int *yrow;     /* (dh, 4): the clamped source row of each tap */
    short *beta;   /* (dh, 4): vertical tap weights */
    int *rows;     /* (sh, dw * c): the horizontally resampled rows of the current image */
} resize_plan;

int resize_plan_init(resize_plan *p, int sh, int sw, int c, int dh, int dw);
void resize_plan_free(resize_plan *p);
/* src: (sh, sw, c), dst: (dh, dw, c). Uses p->rows, so one plan per thread. */
void resize_plan_run(resize_plan *p, const uint8_t *src, uint8_t *dst);
/* Resizes n images, on up to `threads` threads (1: the calling thread only). 0, or -1 when out of memory. */
int resize_images(const uint8_t *src, long n, int sh, int sw, int c, uint8_t *dst, int dh, int dw, int threads);

/* ---- unpickle.c: the pickle reader of pickle.c --------------------------------------------------- */

typedef enum {
    PV_NONE = 1, PV_BOOL, PV_INT, PV_BYTES, PV_STR, PV_TUPLE, PV_LIST, PV_DICT, PV_GLOBAL, PV_ARRAY, PV_DTYPE,
} pv_kind;

typedef struct pnode {
    uint8_t kind;
    uint8_t sub;           /* PV_GLOBAL: pv_global; PV_ARRAY: 1 once built; PV_DTYPE: 1 when uint8 */
    uint8_t fortran;       /* PV_ARRAY */
    uint8_t ndim;          /* PV_ARRAY */
    int64_t i;             /* PV_INT, PV_BOOL */
    const uint8_t *p;      /* PV_BYTES, PV_STR, PV_ARRAY (its bytes) */
    size_t len;
    int64_t shape[4];      /* PV_ARRAY */
    uint32_t *items;       /* PV_TUPLE, PV_LIST: the items; PV_DICT: key, value, key, value ... */
    size_t n, cap;
} pnode;

typedef struct unpickler {
    const char *label;     /* for messages: the file (or tarball:member) */
    const uint8_t *buf;
    size_t len, at, op_at;
    pnode **blocks;        /* node k is blocks[k / BLOCK][k % BLOCK] */
    size_t n_nodes, cap_blocks;
    size_t max_values;     /* nodes, stack slots and container items at most (values_for) */
    size_t n_items;        /* container items so far */
    uint32_t *stack;
    size_t sp, cap_stack;
    uint32_t *memo;        /* key -> node, MARK_SLOT where unset */
    size_t n_memo;
    size_t memo_count;     /* keys set: MEMOIZE's next key, as len(memo) in Python */
    vt_err *err;
} unpickler;
#define MARK_SLOT UINT32_MAX

/* Reads the pickle in u->buf (u set up with label, buf, len, max_values and err; the rest zero): *top is the
 * node of its one value. VT_EUSAGE with one line naming u->label and the offset for anything else. */
int unpickle_run(unpickler *u, uint32_t *top);
void unpickle_free(unpickler *u);
/* Node idx (stays valid while more are made). */
const pnode *unpickle_node(const unpickler *u, uint32_t idx);
/* Whether n is a bytes or str value equal to s. */
int unpickle_text_is(const pnode *n, const char *s);
/* VT_EIO "<label>: out of memory". */
int unpickle_oom(unpickler *u);
/* "None", "bool", ... "numpy dtype" by pv_kind. */
extern const char *const unpickle_kind_names[PV_DTYPE + 1];

/* ---- names.c ------------------------------------------------------------------------------------- */

/* The class names of the known data sets, embedded so the binary finds them from anywhere. The text
 * files under assets/ hold the same lists for people (a test checks they agree). */
extern const char *const names_cifar100_fine[100];
extern const char *const names_cifar100_coarse[20];
extern const int names_cifar100_fine_to_coarse[100];
extern const char *const names_cifar10[10];
extern const char *const names_fashion_mnist[10];
extern const char *const names_mnist[10];

/* ---- loaders ------------------------------------------------------------------------------------- */

/* One split as a loader returns it: native-size images (n, h, w, c), labels, and for CIFAR-100 the coarse
 * label of each record too. */
typedef struct raw_split {
    long n;          /* images kept (after the limit) */
    long n_file;     /* images in the file(s) */
    int h, w, c;
    uint8_t *x;
    int *y;          /* fine label for CIFAR-100 */
    uint8_t *coarse; /* CIFAR-100 only */
    int label_max;   /* IDX: the largest label in the whole file, limit or not */
} raw_split;

void raw_split_free(raw_split *s);

/* Each loader reads split `split` of the data set in dir, keeping the first `limit` images (0: all), and
 * checks every label it keeps. On error: one line in err naming the file, s left empty. */
int cifar100_load(const char *dir, data_split split, long limit, raw_split *s, vt_err *err);
int cifar10_load(const char *dir, data_split split, long limit, raw_split *s, vt_err *err);
/* The CIFAR-100 python version (pickle.c): path is a folder holding train, test and meta, or a
 * cifar-100-python.tar.gz (read in memory, nothing unpacked). Also returns meta's class names (100 fine,
 * 20 coarse). Checked as strictly as the binary files; on error everything is freed. */
int cifar100_python_load(const char *path, long limit_train, long limit_test, raw_split *tr, raw_split *te,
                         char ***fine, char ***coarse, vt_err *err);
/* classes: labels must be below it (0: any byte). */
int idx_load(const char *dir, data_split split, long limit, int classes, raw_split *s, vt_err *err);

/* unpack.c: a new "<target>.tmp.XXXXXX" folder (dir, size bytes) next to target, made by mkdtemp, opened to
 * 0755 and locked through *fd (flock, held until the caller closes *fd) while a download unpacks into it. */
int data_tmpdir_make(const char *target, char *dir, size_t size, int *fd, vt_err *err);
/* Removes what unpacking may have written in dir (only the data set's file names) and dir itself, through
 * the folder: a link in its place is not followed. */
void data_tmpdir_remove(const char *dir);
/* Removes the "<target>.tmp.XXXXXX" folders no download holds locked (left by one killed mid-unpack), and
 * returns how many went. */
int data_tmpdir_sweep(const char *target);
/* unpack.c: unpacks a cifar-100-binary.tar.gz into dir (an empty folder), writing only the data set's
 * files (messages name the tarball as label, e.g. its URL); every other member (absolute, "..", a link, an unexpected name or type, a duplicate, one larger
 * than CIFAR-100's) is refused with one line. On error dir may hold some of the files (the caller removes
 * it). */
int data_unpack_cifar100(const char *tarball, const char *label, const char *dir, vt_err *err);
/* Opens a gzip'ed tar file for reading with libarchive, through vt_open_regular (never a FIFO or a device):
 * *out and *fd (the caller closes both: archive_read_free, then close). label names it in messages. */
struct archive;
int data_tar_open(const char *path, const char *label, struct archive **out, int *fd, vt_err *err);
/* The next member of a data_tar_open'ed tarball: 1 with *e, 0 at its end, or minus the error code with err
 * filled (not a valid tarball). */
struct archive_entry;
int data_tar_next(struct archive *ar, const char *label, struct archive_entry **e, vt_err *err);

/* folder.c: a folder of class folders (data.h's DATA_FOLDER). folder_detect: whether dir looks like one (an
 * image two or three levels below it); folder_flat: whether dir holds images itself (one class folder, or
 * a flat folder: not a data set, but worth saying so). folder_load: both
 * splits at that side, the class names (escaped), the data set's fingerprint and a one-line notice (how the
 * validation images were chosen, whether the cache was used, files ignored); one line in err naming the
 * folder or file on error. */
int folder_detect(const char *dir);
int folder_flat(const char *dir);
int folder_load(const data_options *opt, const char *dir, raw_split *tr, raw_split *te, char ***names, int *classes,
                uint64_t *print, char *notice, size_t size, vt_err *err);

/* Which format dir holds (0 when none), judged by the files present. */
data_format data_detect(const char *dir);

/* Reads a names file (one name per line, blank lines at the end ignored) and checks it has `expect`
 * names. *names is NULL when the file does not exist (then the embedded list is used). */
int names_read(const char *path, int expect, char ***names, vt_err *err);
char **names_copy(const char *const *names, int n);
/* n names made fit to show and to write as JSON from raw bytes (lens[i] bytes each, or NUL-terminated when
 * lens is NULL): printable UTF-8 kept, the rest escaped, long ones cut (vt_label_escape). NULL when out of
 * memory. */
char **names_escape_all(char *const *raw, const size_t *lens, int n);
void names_free(char **names, int n);

#endif
