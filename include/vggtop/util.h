/* util: what every module shares: error reporting, a seeded random generator, atomic file writes,
 * time, and number formatting. Nothing here knows about tensors, data sets or terminals. */
#ifndef VGGTOP_UTIL_H
#define VGGTOP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Error codes returned by library functions; main turns them into exit statuses. */
enum {
    VT_OK = 0,
    VT_EIO = 1,       /* the system failed us: cannot write, out of memory */
    VT_EUSAGE = 2,    /* the user's input is wrong: a flag, a file, a checkpoint (exit status 2) */
    VT_EINTERNAL = 3, /* a bug */
    VT_ESIGINT = 4,   /* stopped by SIGINT (Ctrl-C) after saving what it had (exit status 130) */
    VT_ESIGTERM = 5,  /* stopped by SIGTERM (exit status 143) */
};

/* The size of every path buffer. Buffers that hold a path plus a suffix (".tmp.<pid>", "/train.bin") are
 * VT_PATH_MAX + VT_PATH_EXTRA, so a path that fits VT_PATH_MAX always fits with its suffix. */
#define VT_PATH_MAX 4096
#define VT_PATH_EXTRA 256

/* One error: a code and a single line that names what is wrong (a file, a flag) and, where it helps, a hint. */
typedef struct vt_err {
    int code;
    char msg[512];
} vt_err;

/* Fills err (which may be NULL) with code and a printf-style message; returns code. */
int vt_fail(vt_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void vt_err_clear(vt_err *err);

/* The process exit status of an error code, as the man page documents it: VT_OK 0, VT_EUSAGE 2 (a usage or
 * data error), VT_EIO and VT_EINTERNAL 1 (the system failed us, or a bug did), VT_ESIGINT 130 and
 * VT_ESIGTERM 143 (128 + the signal, as a shell reports it). Every command maps through it. */
int vt_exit_status(int code);
/* The code of a stop by signal sig: VT_ESIGTERM for SIGTERM, else VT_ESIGINT. */
int vt_signal_code(int sig);

/* The command-line flag parsers: each fills *out, or returns VT_EUSAGE with one line naming the flag and
 * what it takes ("--top: 'x' is not a whole number in 1..100000") and leaves *out alone. */
int vt_flag_long(const char *flag, const char *value, long lo, long hi, long *out, vt_err *err);
int vt_flag_int(const char *flag, const char *value, int lo, int hi, int *out, vt_err *err);
/* what names the unit in the message ("a number of seconds in 0..86400"); NULL: "a number". */
int vt_flag_double(const char *flag, const char *value, double lo, double hi, const char *what, double *out,
                   vt_err *err);
/* One of the NULL-terminated names: *out gets its index ("--metric: 'x' is not one of loss, acc, mse"). */
int vt_flag_choice(const char *flag, const char *value, const char *const *names, int *out, vt_err *err);
/* A path shorter than VT_PATH_MAX (*out is value; "" stays allowed: the commands read it as not given). */
int vt_flag_path(const char *flag, const char *value, const char **out, vt_err *err);

/* xoshiro256** seeded through splitmix64: the same seed gives the same stream on every machine. */
typedef struct vt_rng {
    uint64_t s[4];
} vt_rng;

void vt_rng_seed(vt_rng *rng, uint64_t seed);
uint64_t vt_rng_next(vt_rng *rng);
/* Uniform double in [0, 1) with 53 random bits. */
double vt_rng_uniform(vt_rng *rng);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint32_t vt_rng_below(vt_rng *rng, uint32_t n);
/* A seed derived from a base seed and a stream number (an epoch, a layer), for independent streams. */
uint64_t vt_seed_mix(uint64_t seed, uint64_t stream);

/* Atomic file writes: everything goes to "<path>.tmp.<pid>", which is fsync'ed and renamed over path only
 * on commit, so a reader (or a crash) sees either the old file whole or the new one whole. */
typedef struct vt_afile {
    FILE *f;
    char path[VT_PATH_MAX];
    char tmp[VT_PATH_MAX + VT_PATH_EXTRA];
} vt_afile;

int vt_afile_open(vt_afile *af, const char *path, vt_err *err);
/* Flushes, fsyncs, renames over the target, fsyncs the directory. Closes af whether it succeeds or not. */
int vt_afile_commit(vt_afile *af, vt_err *err);
/* Closes and removes the temporary file; the target is untouched. Safe to call after a failed commit. */
void vt_afile_abort(vt_afile *af);
/* Whole-buffer convenience over the three calls above. */
int vt_write_file_atomic(const char *path, const void *data, size_t len, vt_err *err);

/* Every file vggtop reads is opened through these: never blocking (a FIFO returns at once), never anything
 * but a regular file (a FIFO, device, socket or directory is refused, naming what it is), and never larger
 * than max bytes (max <= 0: no limit), all checked before anything is allocated from it. *size (may be NULL)
 * gets the size. VT_EUSAGE with one line naming the file and the real reason (no such file, a loop of
 * symbolic links, permission denied, ...). */
int vt_open_regular(const char *path, long long max, int *fd, long long *size, vt_err *err);
int vt_fopen_regular(const char *path, long long max, FILE **f, long long *size, vt_err *err);

/* A label (a class name) fit to print and to write as JSON: valid UTF-8 without control characters (C0,
 * DEL, C1), at most VT_MAX_LABEL bytes. 0, or -1 with the reason in why ("byte 3 is a control character
 * (0x1b)"). */
#define VT_MAX_LABEL 256
int vt_check_label(const char *s, char *why, size_t size);
/* A label made fit from len raw bytes (a data set's class name): what is not printable UTF-8 escaped as ls
 * shows odd file names (\e, \t, \n, \r, \xff; a backslash as \\), cut with an ellipsis to VT_MAX_LABEL bytes,
 * so it passes vt_check_label. Allocated (free it); NULL when out of memory. */
char *vt_label_escape(const void *s, size_t len);
/* The same for any text read from a file that will be printed (a data set's name, a path): at most max
 * bytes. */
int vt_check_text(const char *s, size_t max, char *why, size_t size);
/* Replaces every byte that is not part of printable UTF-8 with '?', in place: for text that is only shown
 * (a status message read back from progress.json), so a file cannot drive the terminal. */
void vt_scrub_text(char *s);
/* The most classes any data set, model or run file may have. */
#define VT_MAX_CLASSES 1000

/* Reads a whole regular file of at most max bytes into a NUL-terminated malloc'ed buffer (caller frees);
 * len may be NULL. */
int vt_read_file(const char *path, long long max, char **data, size_t *len, vt_err *err);

/* The size of a regular, non-empty file; VT_EUSAGE naming the file when it is missing, unreadable, not a
 * regular file or empty. */
int vt_file_size(const char *path, long long *size, vt_err *err);

/* The current UTC time through strftime's fmt, e.g. "%Y-%m-%dT%H:%M:%SZ". Returns buf. */
char *vt_utc_stamp(char *buf, size_t size, const char *fmt);

/* Monotonic seconds, for rates and ETAs. */
double vt_now(void);

/* Ctrl-Z: the time a process spent stopped (SIGTSTP/SIGSTOP until SIGCONT), which must count neither as step
 * time nor as elapsed. vt_stop_watch_install sets a SIGCONT handler (it only sets a flag); a loop calls
 * vt_stop_watch_tick once per iteration with the longest it can have waited since its previous call: after a
 * SIGCONT it returns the seconds beyond that wait (the time stopped, give or take the wait), else 0. *last
 * holds the previous call's time (0 before the first). */
void vt_stop_watch_install(void);
double vt_stop_watch_tick(double *last, double max_wait);

/* Keras' Progbar formats, for the CLI's log and the front end alike. The ETA: "1:02:05" above an hour,
 * "2:05" above a minute, else "59s" (whole seconds truncated, as Keras' '%d'). */
char *vt_fmt_eta(char *buf, size_t size, double seconds);
/* The time per unit: "2s/step", "35ms/sample", "800us/step" (Keras' three ranges). */
char *vt_fmt_per_unit(char *buf, size_t size, double seconds, const char *unit);
/* The bar: "  64/2000 [=>............................]" (the count right-aligned to the target's digits,
 * width characters inside the brackets, '>' at the head while current < target). Returns the length. */
int vt_fmt_progbar(char *buf, size_t size, long current, long target, int width);
/* A byte count as a download shows it: "812 B", "40.2 kB", "168.5 MB", "1.50 GB" (SI units). Returns buf. */
char *vt_fmt_bytes(char *buf, size_t size, long long bytes);
/* A download's progress, the same bar over bytes: "[=====>....]  25%  42.1 MB of 168.5 MB, 5.2 MB/s, ETA: 24s";
 * bar_width 0: no bar (plain lines for a log); total 0 (unknown): "42.1 MB, 5.2 MB/s"; rate <= 0 or eta < 0
 * leave those parts out. Returns buf. */
char *vt_fmt_transfer(char *buf, size_t size, long long done, long long total, double rate, double eta,
                      int bar_width);

/* A metric as the log and the front end print it: "0.1234" (4 decimals), "3.8000e-05" when that would show
 * only zeros (|v| < 1e-3, v != 0), "-" when v is NaN (no batch yet). Returns buf. */
char *vt_fmt_metric(char *buf, size_t size, double v);
/* A long duration for people: "45 s", "12 min", "1 h 20 min", "2 d 3 h" ("-" for a negative or NaN).
 * Returns buf. */
char *vt_fmt_duration(char *buf, size_t size, double seconds);

/* 34006948 -> "34,006,948". Returns buf. */
char *vt_fmt_thousands(char *buf, size_t size, long long value);

/* Parses a whole decimal integer or float; returns 0 on success, -1 when s is not entirely a number
 * or out of [lo, hi]. */
int vt_parse_long(const char *s, long lo, long hi, long *out);
int vt_parse_double(const char *s, double lo, double hi, double *out);

/* A growing string: start from {0}, append, then take the malloc'ed text (the caller frees it). Out of
 * memory sticks: later appends do nothing and vt_buf_take gives NULL. */
typedef struct vt_buf {
    char *s;
    size_t len, cap;
    int failed;
} vt_buf;

void vt_buf_printf(vt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vt_buf_add(vt_buf *b, const char *text);
/* Appends text for a man page: every minus as \- (a minus the reader can type), every backslash as \e. */
void vt_buf_roff(vt_buf *b, const char *text);
/* The text ("" when nothing was appended), or NULL after a failed allocation; b is empty afterwards. */
char *vt_buf_take(vt_buf *b);

/* A background thread that wakes a poll() loop (the training engine, the Setup screen's helper): a
 * self-pipe, both ends non-blocking and close-on-exec; the worker writes a byte, the poller drains. */
int vt_wake_open(int fds[2], vt_err *err);
void vt_wake_close(int fds[2]);
/* Writes one byte to fds[1]; a full pipe already wakes the reader. Returns 1 when the byte went in. */
int vt_wake_signal(const int fds[2]);
void vt_wake_drain(const int fds[2]);
/* pthread_create with every signal blocked in the new thread, so the process's handlers run on the caller's
 * (the UI's or the CLI's) thread and never on a worker. 0 or the pthread error number. */
int vt_thread_start(void *thread /* pthread_t * */, void *(*fn)(void *), void *arg);

/* mkdir -p; 0 on success. */
int vt_mkdirs(const char *path, vt_err *err);

#endif
