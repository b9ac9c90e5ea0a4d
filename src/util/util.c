/* util: errors, random numbers, atomic files, time and formatting shared by every module. */
#include "vggtop/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int vt_fail(vt_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void vt_err_clear(vt_err *err)
{
    if (err) {
        err->code = VT_OK;
        err->msg[0] = '\0';
    }
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void vt_rng_seed(vt_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t vt_rng_next(vt_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double vt_rng_uniform(vt_rng *rng) { return (double)(vt_rng_next(rng) >> 11) * 0x1.0p-53; }

uint32_t vt_rng_below(vt_rng *rng, uint32_t n)
{
    /* Lemire's multiply-shift with rejection of the biased low range. */
    uint64_t m = (uint64_t)(uint32_t)(vt_rng_next(rng) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)(uint32_t)(vt_rng_next(rng) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

uint64_t vt_seed_mix(uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);
    splitmix64(&x);
    return splitmix64(&x);
}

int vt_afile_open(vt_afile *af, const char *path, vt_err *err)
{
    memset(af, 0, sizeof *af);
    if (strlen(path) >= sizeof af->path)
        return vt_fail(err, VT_EUSAGE, "%s: path too long", path);
    strcpy(af->path, path);
    snprintf(af->tmp, sizeof af->tmp, "%s.tmp.%ld", path, (long)getpid());
    /* The name is predictable: a link or a FIFO put there is neither followed nor waited on. */
    int fd = open(af->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
        errno = EEXIST;
    }
    if (fd >= 0)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    if (fd < 0 || !(af->f = fdopen(fd, "wb"))) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return vt_fail(err, VT_EIO, "%s: cannot create: %s", af->tmp, strerror(e));
    }
    return VT_OK;
}

static void fsync_dir_of(const char *path)
{
    char dir[VT_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int vt_afile_commit(vt_afile *af, vt_err *err)
{
    if (!af->f)
        return vt_fail(err, VT_EINTERNAL, "%s: file not open", af->path);
    int failed = ferror(af->f) || fflush(af->f) != 0 || fsync(fileno(af->f)) != 0;
    int saved = errno;
    if (fclose(af->f) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    af->f = NULL;
    if (failed) {
        unlink(af->tmp);
        return vt_fail(err, VT_EIO, "%s: write failed: %s", af->path, strerror(saved));
    }
    if (rename(af->tmp, af->path) != 0) {
        saved = errno;
        unlink(af->tmp);
        return vt_fail(err, VT_EIO, "%s: cannot replace: %s", af->path, strerror(saved));
    }
    fsync_dir_of(af->path);
    return VT_OK;
}

void vt_afile_abort(vt_afile *af)
{
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
    }
    if (af->tmp[0])
        unlink(af->tmp);
}

int vt_write_file_atomic(const char *path, const void *data, size_t len, vt_err *err)
{
    vt_afile af;
    int rc = vt_afile_open(&af, path, err);
    if (rc)
        return rc;
    if (len && fwrite(data, 1, len, af.f) != len) {
        int saved = errno;
        vt_afile_abort(&af);
        return vt_fail(err, VT_EIO, "%s: write failed: %s", path, strerror(saved));
    }
    return vt_afile_commit(&af, err);
}

/* What a file that is not a regular one is, for the messages. */
static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

int vt_open_regular(const char *path, long long max, int *fd, long long *size, vt_err *err)
{
    *fd = -1;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. */
    int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (f < 0) {
        int e = errno;
        if (e == ENOENT)
            return vt_fail(err, VT_EUSAGE, "%s: cannot open: no such file", path);
        if (e == ELOOP)
            return vt_fail(err, VT_EUSAGE, "%s: cannot open: a loop of symbolic links", path);
        return vt_fail(err, VT_EUSAGE, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(f, &st) != 0) {
        int e = errno;
        close(f);
        return vt_fail(err, VT_EUSAGE, "%s: cannot read: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(f);
        return vt_fail(err, VT_EUSAGE, "%s: %s%s, not a regular file", path,
                       S_ISDIR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ||
                               S_ISSOCK(st.st_mode)
                           ? "is "
                           : "",
                       file_kind(st.st_mode));
    }
    if (max > 0 && (long long)st.st_size > max) {
        close(f);
        return vt_fail(err, VT_EUSAGE, "%s: too large: %lld bytes, more than the %lld this kind of file may have",
                       path, (long long)st.st_size, max);
    }
    fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK);
    *fd = f;
    if (size)
        *size = (long long)st.st_size;
    return VT_OK;
}

int vt_fopen_regular(const char *path, long long max, FILE **out, long long *size, vt_err *err)
{
    *out = NULL;
    int fd;
    int rc = vt_open_regular(path, max, &fd, size, err);
    if (rc)
        return rc;
    *out = fdopen(fd, "rb");
    if (!*out) {
        close(fd);
        return vt_fail(err, VT_EIO, "%s: out of memory opening it", path);
    }
    return VT_OK;
}

int vt_read_file(const char *path, long long max, char **data, size_t *len, vt_err *err)
{
    *data = NULL;
    FILE *f;
    long long size;
    int rc = vt_fopen_regular(path, max, &f, &size, err);
    if (rc)
        return rc;
    /* The size fstat gave, plus what a file still being appended to adds, up to max: never more. */
    size_t cap = (size_t)size + 1, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || (max > 0 && (long long)n > max))
            break;
        char *bigger = realloc(buf, cap * 2 + 1);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return vt_fail(err, VT_EIO, "%s: out of memory reading the file", path);
    if (bad) {
        free(buf);
        return vt_fail(err, VT_EUSAGE, "%s: read error", path);
    }
    if (max > 0 && (long long)n > max) {
        free(buf);
        return vt_fail(err, VT_EUSAGE, "%s: grew past the %lld bytes this kind of file may have", path, max);
    }
    buf[n] = '\0';
    *data = buf;
    if (len)
        *len = n;
    return VT_OK;
}

int vt_file_size(const char *path, long long *size, vt_err *err)
{
    int fd;
    int rc = vt_open_regular(path, 0, &fd, size, err);
    if (rc)
        return rc;
    close(fd);
    if (*size == 0)
        return vt_fail(err, VT_EUSAGE, "%s: the file is empty", path);
    return VT_OK;
}

char *vt_utc_stamp(char *buf, size_t size, const char *fmt)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    if (strftime(buf, size, fmt, &tm) == 0 && size)
        buf[0] = '\0';
    return buf;
}

double vt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

char *vt_fmt_thousands(char *buf, size_t size, long long value)
{
    char digits[32];
    unsigned long long v = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
    int n = snprintf(digits, sizeof digits, "%llu", v);
    char out[48];
    int o = 0;
    if (value < 0)
        out[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    snprintf(buf, size, "%s", out);
    return buf;
}

int vt_parse_long(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int vt_parse_double(const char *s, double lo, double hi, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int vt_mkdirs(const char *path, vt_err *err)
{
    char buf[VT_PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return vt_fail(err, VT_EUSAGE, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return vt_fail(err, VT_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return vt_fail(err, VT_EUSAGE, "%s: not a directory", path);
    return VT_OK;
}

/* ---- growing strings ------------------------------------------------------------------------------------ */

static int buf_reserve(vt_buf *b, size_t more)
{
    if (b->failed)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        free(b->s);
        b->s = NULL;
        b->len = b->cap = 0;
        b->failed = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void vt_buf_printf(vt_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void vt_buf_add(vt_buf *b, const char *text)
{
    size_t n = strlen(text);
    if (buf_reserve(b, n) != 0)
        return;
    memcpy(b->s + b->len, text, n + 1);
    b->len += n;
}

void vt_buf_roff(vt_buf *b, const char *text)
{
    for (const char *p = text; *p; p++)
        vt_buf_add(b, *p == '-' ? "\\-" : *p == '\\' ? "\\e" : (char[2]){*p, '\0'});
}

char *vt_buf_take(vt_buf *b)
{
    if (!b->s && buf_reserve(b, 0) == 0)
        b->s[0] = '\0';
    char *s = b->failed ? NULL : b->s;
    b->s = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
    return s;
}

/* ---- exit statuses and flags ---------------------------------------------------------------------------- */

int vt_exit_status(int code)
{
    switch (code) {
    case VT_OK: return 0;
    case VT_EUSAGE: return 2;
    case VT_ESIGINT: return 128 + SIGINT;
    case VT_ESIGTERM: return 128 + SIGTERM;
    default: return 1; /* VT_EIO, VT_EINTERNAL and anything unknown: not the user's input */
    }
}

int vt_flag_long(const char *flag, const char *value, long lo, long hi, long *out, vt_err *err)
{
    if (vt_parse_long(value, lo, hi, out) != 0)
        return vt_fail(err, VT_EUSAGE, "%s: '%.200s' is not a whole number in %ld..%ld", flag, value, lo, hi);
    return VT_OK;
}

int vt_signal_code(int sig) { return sig == SIGTERM ? VT_ESIGTERM : VT_ESIGINT; }

int vt_flag_int(const char *flag, const char *value, int lo, int hi, int *out, vt_err *err)
{
    long v;
    int rc = vt_flag_long(flag, value, lo, hi, &v, err);
    if (rc == VT_OK)
        *out = (int)v;
    return rc;
}

int vt_flag_double(const char *flag, const char *value, double lo, double hi, const char *what, double *out,
                   vt_err *err)
{
    if (vt_parse_double(value, lo, hi, out) != 0)
        return vt_fail(err, VT_EUSAGE, "%s: '%.200s' is not %s in %g..%g", flag, value, what ? what : "a number", lo,
                       hi);
    return VT_OK;
}

int vt_flag_choice(const char *flag, const char *value, const char *const *names, int *out, vt_err *err)
{
    char list[400] = "";
    size_t len = 0;
    for (int i = 0; names[i]; i++) {
        if (strcmp(value, names[i]) == 0) {
            *out = i;
            return VT_OK;
        }
        if (len < sizeof list)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", names[i]);
    }
    return vt_fail(err, VT_EUSAGE, "%s: '%.200s' is not one of %s", flag, value, list);
}

int vt_flag_path(const char *flag, const char *value, const char **out, vt_err *err)
{
    if (strlen(value) >= VT_PATH_MAX)
        return vt_fail(err, VT_EUSAGE, "%s: the path is longer than %d bytes", flag, VT_PATH_MAX - 1);
    *out = value;
    return VT_OK;
}

/* ---- Keras' progress formats ------------------------------------------------------------------------------ */

char *vt_fmt_eta(char *buf, size_t size, double s)
{
    if (!(s > 0))
        s = 0;
    long t = s < 1e12 ? (long)s : 999999999999L; /* Python's '%d' of a float truncates */
    if (s > 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, (t % 3600) / 60, t % 60);
    else if (s > 60)
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
    else
        snprintf(buf, size, "%lds", t);
    return buf;
}

char *vt_fmt_per_unit(char *buf, size_t size, double s, const char *unit)
{
    if (s >= 1 || s == 0)
        snprintf(buf, size, "%.0fs/%s", s, unit);
    else if (s >= 1e-3)
        snprintf(buf, size, "%.0fms/%s", s * 1e3, unit);
    else
        snprintf(buf, size, "%.0fus/%s", s * 1e6, unit);
    return buf;
}

/* Keras' bar inside brackets, at n of buf: prog_width = int(width * current / target); '=' * (prog_width - 1),
 * then '>' while running or '=' when done, then '.' to the full width. Returns the new length. */
static int fmt_bar(char *buf, size_t size, int n, double current, double target, int width)
{
    int pw = target > 0 ? (int)((double)width * current / target) : 0;
    if (pw > width)
        pw = width;
    if ((size_t)n + 1 < size)
        buf[n++] = '[';
    for (int i = 0; i < width && (size_t)n + 2 < size; i++)
        buf[n++] = i < pw - 1 ? '=' : i == pw - 1 ? (current < target ? '>' : '=') : '.';
    if ((size_t)n + 1 < size)
        buf[n++] = ']';
    buf[n] = '\0';
    return n;
}

static volatile sig_atomic_t got_cont;

static void on_cont(int sig)
{
    (void)sig;
    got_cont = 1;
}

void vt_stop_watch_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_cont;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCONT, &sa, NULL);
}

double vt_stop_watch_tick(double *last, double max_wait)
{
    double now = vt_now(), gap = 0;
    if (got_cont) {
        got_cont = 0;
        if (*last > 0 && now - *last > max_wait)
            gap = now - *last - max_wait;
    }
    *last = now;
    return gap;
}

char *vt_fmt_metric(char *buf, size_t size, double v)
{
    if (isnan(v))
        snprintf(buf, size, "-");
    else if (fabs(v) >= 1e-3 || v == 0 || !isfinite(v))
        snprintf(buf, size, "%.4f", v);
    else
        snprintf(buf, size, "%.4e", v);
    return buf;
}

char *vt_fmt_duration(char *buf, size_t size, double s)
{
    if (!(s >= 0) || !isfinite(s)) {
        snprintf(buf, size, "-");
        return buf;
    }
    long t = s < 1e12 ? lround(s) : 999999999999L;
    long m = (t + 30) / 60; /* whole minutes, rounded */
    if (t < 60)
        snprintf(buf, size, "%ld s", t);
    else if (m < 60)
        snprintf(buf, size, "%ld min", m);
    else if (m < 24 * 60 && m % 60)
        snprintf(buf, size, "%ld h %ld min", m / 60, m % 60);
    else if (m < 24 * 60)
        snprintf(buf, size, "%ld h", m / 60);
    else if ((m + 30) / 60 % 24)
        snprintf(buf, size, "%ld d %ld h", (m + 30) / 60 / 24, (m + 30) / 60 % 24);
    else
        snprintf(buf, size, "%ld d", (m + 30) / 60 / 24);
    return buf;
}

int vt_fmt_progbar(char *buf, size_t size, long current, long target, int width)
{
    if (size == 0)
        return 0;
    int digits = snprintf(NULL, 0, "%ld", target);
    int n = snprintf(buf, size, "%*ld/%ld ", digits, current, target);
    if (n < 0 || (size_t)n >= size)
        return (int)strlen(buf);
    return fmt_bar(buf, size, n, (double)current, (double)target, width);
}

char *vt_fmt_bytes(char *buf, size_t size, long long b)
{
    if (b < 1000)
        snprintf(buf, size, "%lld B", b);
    else if (b < 1000000)
        snprintf(buf, size, "%.1f kB", (double)b / 1e3);
    else if (b < 1000000000)
        snprintf(buf, size, "%.1f MB", (double)b / 1e6);
    else
        snprintf(buf, size, "%.2f GB", (double)b / 1e9);
    return buf;
}

char *vt_fmt_transfer(char *buf, size_t size, long long done, long long total, double rate, double eta,
                      int bar_width)
{
    char a[32], b[32], r[32], t[32];
    if (size == 0)
        return buf;
    buf[0] = '\0';
    size_t n = 0;
    if (total > 0 && bar_width > 0) {
        n = (size_t)fmt_bar(buf, size, 0, (double)done, (double)total, bar_width);
        snprintf(buf + n, size - n, " ");
    }
    n = strlen(buf);
    if (total > 0)
        snprintf(buf + n, size - n, "%3d%%  %s of %s", (int)(100.0 * (double)done / (double)total),
                 vt_fmt_bytes(a, sizeof a, done), vt_fmt_bytes(b, sizeof b, total));
    else
        snprintf(buf + n, size - n, "%s", vt_fmt_bytes(a, sizeof a, done));
    n = strlen(buf);
    if (rate > 0)
        snprintf(buf + n, size - n, ", %s/s", vt_fmt_bytes(r, sizeof r, (long long)rate));
    n = strlen(buf);
    if (eta >= 0 && total > 0 && done < total)
        snprintf(buf + n, size - n, ", ETA: %s", vt_fmt_eta(t, sizeof t, eta));
    return buf;
}

/* ---- worker threads and their wake-up pipes ---------------------------------------------------------------- */

int vt_wake_open(int fds[2], vt_err *err)
{
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return vt_fail(err, VT_EIO, "cannot create a wake-up pipe: %s", strerror(errno));
    return VT_OK;
}

void vt_wake_close(int fds[2])
{
    close(fds[0]);
    close(fds[1]);
    fds[0] = fds[1] = -1;
}

int vt_wake_signal(const int fds[2])
{
    char b = 1;
    return write(fds[1], &b, 1) == 1;
}

void vt_wake_drain(const int fds[2])
{
    char drain[64];
    while (read(fds[0], drain, sizeof drain) > 0)
        ;
}

int vt_thread_start(void *thread, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create((pthread_t *)thread, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* ---- labels -------------------------------------------------------------------------------------------- */

/* The length of the valid, printable UTF-8 sequence at p (1 to 4), or 0 with the reason in why. */
static int printable_at(const unsigned char *p, size_t i, char *why, size_t size)
{
    unsigned c = p[i];
    int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0)
        return snprintf(why, size, "byte %zu (0x%02x) is not UTF-8", i + 1, c), 0;
    unsigned cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len; k++) {
        if ((p[i + k] & 0xC0) != 0x80)
            return snprintf(why, size, "byte %zu starts a broken UTF-8 sequence", i + 1), 0;
        cp = cp << 6 | (p[i + k] & 0x3F);
    }
    static const unsigned min_of[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_of[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return snprintf(why, size, "byte %zu starts an invalid UTF-8 sequence", i + 1), 0;
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
        return snprintf(why, size, "byte %zu is a control character (0x%02x)", i + 1, cp), 0;
    return len;
}

int vt_check_text(const char *s, size_t max, char *why, size_t size)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; p[i];) {
        int len = printable_at(p, i, why, size);
        if (!len)
            return -1;
        i += (size_t)len;
        if (i > max)
            return snprintf(why, size, "longer than %zu bytes", max), -1;
    }
    return 0;
}

void vt_scrub_text(char *s)
{
    unsigned char *p = (unsigned char *)s;
    char why[8];
    for (size_t i = 0; p[i];) {
        int len = printable_at(p, i, why, sizeof why);
        if (len) {
            i += (size_t)len;
        } else
            p[i++] = '?';
    }
}

int vt_check_label(const char *s, char *why, size_t size) { return vt_check_text(s, VT_MAX_LABEL, why, size); }

/* The piece that shows the character at in[i]: itself when printable (its length in *n), else one byte
 * escaped as ls escapes it. The piece's length. */
static int label_piece(const unsigned char *in, size_t i, int *n, char piece[8])
{
    char why[8];
    *n = in[i] == '\\' ? 0 : printable_at(in, i, why, sizeof why);
    if (*n > 0) {
        memcpy(piece, in + i, (size_t)*n);
        return *n;
    }
    *n = 1;
    const char *named = in[i] == 0x1b ? "\\e" : in[i] == '\t' ? "\\t" : in[i] == '\n' ? "\\n"
                        : in[i] == '\r' ? "\\r" : in[i] == '\\' ? "\\\\" : NULL;
    return named ? snprintf(piece, 8, "%s", named) : snprintf(piece, 8, "\\x%02x", in[i]);
}

char *vt_label_escape(const void *s, size_t len)
{
    /* A NUL-terminated copy: printable_at reads a sequence's continuation bytes up to the terminator. */
    unsigned char *in = malloc(len + 1);
    char *out = malloc(VT_MAX_LABEL + 1);
    if (!in || !out) {
        free(in);
        free(out);
        return NULL;
    }
    memcpy(in, s, len);
    in[len] = '\0';
    static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
    size_t o = 0, fits = 0; /* fits: the longest text so far that leaves room for the ellipsis */
    for (size_t i = 0; i < len;) {
        char piece[8];
        int n, w = label_piece(in, i, &n, piece);
        if (o + (size_t)w > VT_MAX_LABEL) {
            memcpy(out + fits, ellipsis, sizeof ellipsis);
            free(in);
            return out;
        }
        memcpy(out + o, piece, (size_t)w);
        o += (size_t)w;
        i += (size_t)n;
        if (o + sizeof ellipsis - 1 <= VT_MAX_LABEL)
            fits = o;
    }
    out[o] = '\0';
    free(in);
    return out;
}

