/* data/download: getting CIFAR-100 the way keras.datasets does, without hand-written HTTP, tar or MD5:
 * libcurl fetches the tarball into "<dir>.tar.gz.part" (resuming with a Range request what an earlier
 * attempt or run left), libcrypto's EVP checks its MD5, and unpack.c writes its members into a new
 * temporary folder next to dir that becomes dir (one rename) only once everything checked out.
 * data_fetch runs on the caller's thread (the CLI); data_fetch_start runs it on a thread of its own and
 * publishes its progress under a mutex (the front end). */
#include "data_internal.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* FLOOR: the slowest transfer kept going (bytes/s): below it for the timeout, an attempt is given up. */
enum { ATTEMPTS = 3, DEFAULT_TIMEOUT = 30, FLOOR = 1024 };
#define MAX_UNKNOWN_SIZE (1LL << 30) /* a mirror's tarball of unknown size: no CIFAR-100 copy is near 1 GiB */


/* ---- one download ------------------------------------------------------------------------------------ */

typedef struct fetch {
    const data_fetch_options *opt;
    const char *url;
    char md5[33];            /* expected, lower case */
    long long expect_size;   /* 0: unknown (a --md5 of a mirror's own tarball) */
    int timeout;
    char target[VT_PATH_MAX], part[VT_PATH_MAX + VT_PATH_EXTRA], tmpdir[VT_PATH_MAX + VT_PATH_EXTRA];
    CURL *curl;
    FILE *f;
    long long offset;        /* bytes on disk when this attempt started */
    long long written;       /* bytes this attempt wrote */
    long long best;          /* the most bytes the part file has held: progress is going past it */
    int write_errno, too_big;
    data_fetch_progress p;
    double last_report, rate_t, started;
    long long rate_b;
    char curl_err[CURL_ERROR_SIZE];
} fetch;

static void report(fetch *F, data_fetch_phase phase, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(fetch *F, data_fetch_phase phase, const char *fmt, ...)
{
    F->p.phase = phase;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(F->p.message, sizeof F->p.message, fmt, ap);
    va_end(ap);
    if (F->opt->progress)
        F->opt->progress(&F->p, F->opt->arg);
    F->last_report = vt_now();
}

static int cancelled(const fetch *F) { return F->opt->cancelled && F->opt->cancelled(F->opt->arg); }

static size_t on_data(char *ptr, size_t sz, size_t n, void *arg)
{
    fetch *F = arg;
    size_t len = sz * n;
    long long limit = F->expect_size ? F->expect_size : MAX_UNKNOWN_SIZE;
    if (F->offset + F->written + (long long)len > limit) {
        F->too_big = 1;
        return 0;
    }
    /* Flushed at once: what arrived is on disk for a resume even if the process is killed next. */
    if (fwrite(ptr, 1, len, F->f) != len || fflush(F->f) != 0) {
        F->write_errno = errno ? errno : EIO;
        return 0;
    }
    F->written += (long long)len;
    return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    fetch *F = arg;
    if (cancelled(F))
        return 1;
    double now = vt_now();
    if (now - F->last_report < 0.1)
        return 0;
    F->p.done = F->offset + F->written;
    F->p.total = dltotal > 0 ? F->offset + (long long)dltotal : F->expect_size;
    /* The rate over windows of about two seconds, smoothed so the ETA does not jump. */
    if (now - F->rate_t >= 2.0 || (F->p.rate == 0 && now - F->rate_t >= 0.5)) {
        double r = (double)(F->p.done - F->rate_b) / (now - F->rate_t);
        F->p.rate = F->p.rate > 0 ? 0.6 * F->p.rate + 0.4 * r : r;
        F->rate_t = now;
        F->rate_b = F->p.done;
    }
    F->p.eta = F->p.rate > 0 && F->p.total > 0 ? (double)(F->p.total - F->p.done) / F->p.rate : -1;
    if (F->written > 0 || dltotal > 0)
        report(F, FETCH_DOWNLOADING, "downloading %s", F->url);
    else
        report(F, FETCH_CONNECTING, "connecting to %s", F->url);
    return 0;
}

/* One transfer of the rest of the file (from the size on disk). Returns libcurl's code; *http the status. */
static CURLcode attempt(fetch *F, long *http)
{
    struct stat st;
    F->offset = stat(F->part, &st) == 0 ? (long long)st.st_size : 0;
    F->written = 0;
    F->write_errno = F->too_big = 0;
    F->curl_err[0] = '\0';
    F->p.resumed_from = F->offset;
    F->p.done = F->offset;
    F->p.rate = 0;
    F->rate_t = vt_now();
    F->rate_b = F->offset;
    *http = 0;
    /* O_NOFOLLOW: the part file is the download's own (checked when it was locked), never a link's target. */
    int fd = open(F->part, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || !(F->f = fdopen(fd, "ab"))) {
        F->write_errno = errno;
        if (fd >= 0)
            close(fd);
        return CURLE_WRITE_ERROR;
    }
    CURL *c = F->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, F->url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, F);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, F);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, F->curl_err);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "vggtop");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)F->timeout);
    /* A stall or a trickle: under the floor rate for `timeout` seconds ends the attempt. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, (long)FLOOR);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)F->timeout);
    curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)F->offset);
    /* Proxies: libcurl reads http_proxy, https_proxy, ALL_PROXY and NO_PROXY itself. */
    char at[32];
    if (F->offset > 0)
        report(F, FETCH_CONNECTING, "connecting to %s (resuming at %s)", F->url,
               vt_fmt_bytes(at, sizeof at, F->offset));
    else
        report(F, FETCH_CONNECTING, "connecting to %s", F->url);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
    if (fflush(F->f) != 0 || fsync(fileno(F->f)) != 0) {
        if (rc == CURLE_OK && !F->write_errno) {
            F->write_errno = errno;
            rc = CURLE_WRITE_ERROR;
        }
    }
    if (fclose(F->f) != 0 && rc == CURLE_OK) {
        F->write_errno = errno;
        rc = CURLE_WRITE_ERROR;
    }
    F->f = NULL;
    return rc;
}

static int transient(CURLcode rc, long http)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    case CURLE_HTTP_RETURNED_ERROR: return http == 408 || http == 429 || http >= 500;
    default: return 0;
    }
}

/* Why an attempt failed, in words. */
static void describe(const fetch *F, CURLcode rc, long http, char *buf, size_t size)
{
    const char *detail = F->curl_err[0] ? F->curl_err : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        curl_off_t connect = 0;
        curl_easy_getinfo(F->curl, CURLINFO_CONNECT_TIME_T, &connect);
        if (connect == 0 && F->written == 0 && http == 0)
            snprintf(buf, size, "could not connect within %d s (offline, or a proxy needed? libcurl reads "
                     "https_proxy)", F->timeout);
        else if (F->written == 0)
            snprintf(buf, size, "the download stalled: nothing received for %d s", F->timeout);
        else
            snprintf(buf, size, "the download stalled: under %d kB/s for %d s", FLOOR / 1024, F->timeout);
    } else if (rc == CURLE_HTTP_RETURNED_ERROR) {
        snprintf(buf, size, "the server answered HTTP %ld", http);
    } else if (rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING) {
        snprintf(buf, size, "the connection was cut (%s)", detail);
    } else {
        snprintf(buf, size, "%s", detail);
    }
}

/* Sleeps s seconds in slices, so a cancel is seen. Returns 1 when cancelled. */
static int wait_or_cancel(const fetch *F, double s)
{
    double end = vt_now() + s;
    while (vt_now() < end) {
        if (cancelled(F))
            return 1;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return cancelled(F);
}

static long long file_size_or_0(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* The tarball's part file, after it is of no use (an HTTP error, a bad checksum): gone. An empty one
 * (created only for the lock) goes too. */
static void drop_part(const fetch *F) { unlink(F->part); }
static void drop_part_if_empty(const fetch *F)
{
    if (file_size_or_0(F->part) == 0)
        unlink(F->part);
}

/* Whether a failed attempt made progress: new bytes kept, past the most the part file ever held (a server
 * that ignores Range and cuts sends the same first bytes again and again), and, for an attempt given up
 * under the floor rate, at least a timeout's worth at that rate (a server that trickles a byte now and then
 * keeps "new" bytes forever). */
static int made_progress(fetch *F, CURLcode rc)
{
    long long have = F->offset + F->written;
    int progress = have > F->best &&
                   (rc != CURLE_OPERATION_TIMEDOUT || have - F->best >= (long long)FLOOR * F->timeout);
    if (have > F->best)
        F->best = have;
    return progress;
}

/* Whether url is a file:// URL naming something other than a regular file (a FIFO would block the open
 * forever, a device never end). */
static int file_url_not_regular(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *path = NULL;
    int bad = 0;
    if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK && strcmp(scheme, "file") == 0 &&
        curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) == CURLUE_OK) {
        struct stat st;
        bad = stat(path, &st) == 0 && !S_ISREG(st.st_mode);
    }
    curl_free(scheme);
    curl_free(path);
    curl_url_cleanup(u);
    return bad;
}

/* The command that resumes this download, with the --data, --url and --md5 it was given (the hint said only
 * "vggtop data --download", which fetched the published tarball into the default folder instead). */
static const char *again_command(const fetch *F, char *buf, size_t size)
{
    const data_fetch_options *o = F->opt;
    int n = snprintf(buf, size, "vggtop data --download");
    if (o->dir && *o->dir && strcmp(o->dir, DATA_DEFAULT_DIR) != 0 && n < (int)size)
        n += snprintf(buf + n, size - (size_t)n, " --data %s", o->dir);
    if (o->url && *o->url && n < (int)size)
        n += snprintf(buf + n, size - (size_t)n, " --url %s", o->url);
    if (o->md5 && *o->md5 && n < (int)size)
        snprintf(buf + n, size - (size_t)n, " --md5 %s", o->md5);
    return buf;
}

/* Downloads until the part file holds the whole tarball (as far as the server says). */
static int download(fetch *F, vt_err *err)
{
    int fails = 0;
    F->best = file_size_or_0(F->part);
    if (file_url_not_regular(F->url)) {
        drop_part_if_empty(F);
        return vt_fail(err, VT_EUSAGE, "%s: not a regular file (check --url)", F->url);
    }
    char why[600], kept[32], again[3 * VT_PATH_MAX];
    for (;;) {
        long http = 0;
        F->p.attempt = fails + 1;
        F->p.attempts = ATTEMPTS;
        CURLcode rc = attempt(F, &http);
        if (rc == CURLE_OK) {
            F->p.done = F->offset + F->written;
            F->p.total = F->p.done;
            F->p.eta = 0;
            report(F, FETCH_DOWNLOADING, "downloaded %s", F->url);
            return VT_OK;
        }
        /* A server that answers a Range with the whole file: start the file over, at once. */
        if (rc == CURLE_RANGE_ERROR && F->offset > 0) {
            if (truncate(F->part, 0) != 0)
                return vt_fail(err, VT_EIO, "%s: cannot truncate: %s", F->part, strerror(errno));
            report(F, FETCH_RETRYING, "the server does not resume downloads: starting over");
            continue;
        }
        if (cancelled(F) || rc == CURLE_ABORTED_BY_CALLBACK) {
            vt_fmt_bytes(kept, sizeof kept, file_size_or_0(F->part));
            drop_part_if_empty(F);
            return vt_fail(err, VT_EIO, "download interrupted: %s kept in %s; run %s again to resume", kept, F->part,
                           again_command(F, again, sizeof again));
        }
        if (F->write_errno)
            return vt_fail(err, VT_EIO, "%s: cannot write: %s", F->part, strerror(F->write_errno));
        if (F->too_big) {
            drop_part(F);
            vt_fmt_bytes(kept, sizeof kept, F->expect_size ? F->expect_size : MAX_UNKNOWN_SIZE);
            return vt_fail(err, VT_EUSAGE, "%s: the server sends more than %s%s: not cifar-100-binary.tar.gz "
                           "(deleted)", F->url, kept, F->expect_size ? ", the size of the published tarball" : "");
        }
        /* 416 to a Range from the end of the file: an earlier run got it all; the checksum tells. */
        if (rc == CURLE_HTTP_RETURNED_ERROR && http == 416 && F->offset > 0)
            return VT_OK;
        describe(F, rc, http, why, sizeof why);
        if (!transient(rc, http)) {
            drop_part_if_empty(F);
            return vt_fail(err, VT_EUSAGE, "%s: %s%s", F->url, why,
                           rc == CURLE_HTTP_RETURNED_ERROR || rc == CURLE_FILE_COULDNT_READ_FILE
                               ? " (check --url)" : "");
        }
        fails = made_progress(F, rc) ? 1 : fails + 1;
        if (fails >= ATTEMPTS) {
            long long have = file_size_or_0(F->part);
            drop_part_if_empty(F);
            if (have > 0)
                return vt_fail(err, VT_EIO, "%s: %s (%d attempts); %s kept in %s: run %s again to resume", F->url,
                               why, ATTEMPTS, vt_fmt_bytes(kept, sizeof kept, have), F->part,
                               again_command(F, again, sizeof again));
            return vt_fail(err, VT_EIO, "%s: %s (%d attempts)", F->url, why, ATTEMPTS);
        }
        int delay = 1 << (fails - 1);
        F->p.attempt = fails + 1;
        report(F, FETCH_RETRYING, "%s; retrying in %d s (attempt %d of %d)", why, delay, fails + 1, ATTEMPTS);
        if (wait_or_cancel(F, delay)) {
            vt_fmt_bytes(kept, sizeof kept, file_size_or_0(F->part));
            drop_part_if_empty(F);
            return vt_fail(err, VT_EIO, "download interrupted: %s kept in %s; run %s again to resume", kept, F->part,
                           again_command(F, again, sizeof again));
        }
    }
}

int data_file_md5(const char *path, char hex[33], vt_err *err)
{
    FILE *f;
    int rc = vt_fopen_regular(path, 0, &f, NULL, err);
    if (rc)
        return rc;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *buf = malloc(1 << 16);
    int ok = ctx && buf && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1;
    size_t got;
    while (ok && (got = fread(buf, 1, 1 << 16, f)) > 0)
        ok = EVP_DigestUpdate(ctx, buf, got) == 1;
    int read_error = ferror(f);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    ok = ok && !read_error && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 16;
    EVP_MD_CTX_free(ctx);
    free(buf);
    fclose(f);
    if (!ok)
        return vt_fail(err, VT_EIO, "%s: cannot compute its MD5%s", path, read_error ? " (read error)" : "");
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return VT_OK;
}

/* Size and MD5 of the part file against what is expected. VT_EUSAGE (and the file deleted) when wrong. */
static int verify(fetch *F, vt_err *err)
{
    long long size = file_size_or_0(F->part);
    char a[32], b[32];
    F->p.done = F->p.total = size;
    report(F, FETCH_VERIFYING, "checking the MD5 of %s", F->part);
    if (F->expect_size && size != F->expect_size) {
        drop_part(F);
        return vt_fail(err, VT_EUSAGE, "%s: %s downloaded, not the %s of cifar-100-binary.tar.gz (deleted; a mirror "
                       "whose tarball differs needs --md5 with its MD5)", F->url, vt_fmt_bytes(a, sizeof a, size),
                       vt_fmt_bytes(b, sizeof b, F->expect_size));
    }
    char hex[33];
    int rc = data_file_md5(F->part, hex, err);
    if (rc)
        return rc;
    if (strcmp(hex, F->md5) != 0) {
        drop_part(F);
        return vt_fail(err, VT_EUSAGE, "%s: MD5 %s, expected %s: not the %s asked for (deleted%s)", F->url, hex,
                       F->md5, F->opt->file ? "file" : "tarball",
                       F->opt->file ? "" : "; a mirror that repackaged it needs --md5");
    }
    return VT_OK;
}

/* ---- the whole job ----------------------------------------------------------------------------------- */

static int parse_md5(const char *s, const char *what, char *out, vt_err *err)
{
    size_t n = strlen(s);
    int ok = n == 32;
    for (size_t i = 0; ok && i < n; i++)
        ok = isxdigit((unsigned char)s[i]) != 0;
    if (!ok)
        return vt_fail(err, VT_EUSAGE, "%s '%s': expected 32 hexadecimal digits", what, s);
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[n] = '\0';
    return VT_OK;
}

static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* Checks an unpacked or existing folder the way vggtop data does. */
static int check_cifar100(const char *dir, long *n_train, vt_err *err)
{
    data_options o = {.path = dir};
    dataset *ds;
    int rc = data_open(&o, &ds, err);
    if (rc)
        return rc;
    int ok = ds->format == DATA_CIFAR100 && strcmp(ds->path, dir) == 0;
    if (n_train)
        *n_train = ds->n_train;
    data_destroy(ds);
    return ok ? VT_OK : vt_fail(err, VT_EUSAGE, "%s: not the CIFAR-100 binary version", dir);
}

/* Is the target free to be created? VT_OK with *present 1 when it already holds a CIFAR-100 that loads. */
static int check_target(fetch *F, int *present, vt_err *err)
{
    struct stat st;
    *present = 0;
    if (stat(F->target, &st) != 0)
        return errno == ENOENT ? VT_OK : vt_fail(err, VT_EIO, "%s: %s", F->target, strerror(errno));
    if (F->opt->file)
        return vt_fail(err, VT_EUSAGE, "%s exists already: move it away to download it again", F->target);
    if (!S_ISDIR(st.st_mode))
        return vt_fail(err, VT_EUSAGE, "%s exists and is not a folder: move it away or give another --data",
                       F->target);
    if (dir_is_empty(F->target))
        return VT_OK;
    if (data_detect(F->target) != DATA_CIFAR100)
        return vt_fail(err, VT_EUSAGE, "%s exists and does not hold CIFAR-100 (train.bin, test.bin): move it away "
                       "or give another --data", F->target);
    report(F, FETCH_CHECKING_TARGET, "checking the CIFAR-100 already in %s", F->target);
    vt_err why;
    vt_err_clear(&why);
    if (check_cifar100(F->target, NULL, &why) != VT_OK)
        return vt_fail(err, VT_EUSAGE, "%s holds a CIFAR-100 that does not load (%.300s): move it away and run "
                       "again", F->target, why.msg);
    *present = 1;
    return VT_OK;
}

static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* The part file downloaded (resumed where it can be) and verified, on the caller's lock. */
static int download_verified(fetch *F, vt_err *err)
{
    int rc = VT_OK;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, curl_init_once);
    if (!(F->curl = curl_easy_init()))
        return vt_fail(err, VT_EIO, "cannot start libcurl");
    F->started = vt_now();
    /* A resumed download that does not verify may have resumed someone else's file: once more from zero. */
    for (int round = 0; round < 2; round++) {
        long long had = file_size_or_0(F->part);
        if ((rc = download(F, err)))
            break;
        vt_err why;
        vt_err_clear(&why);
        if ((rc = verify(F, &why)) == VT_OK)
            break;
        if (rc != VT_EUSAGE || had == 0 || round == 1) {
            *err = why;
            break;
        }
        report(F, FETCH_RETRYING, "the resumed download did not verify; starting over");
    }
    curl_easy_cleanup(F->curl);
    F->curl = NULL;
    return rc;
}

/* One vggtop at a time per target: the lock is on the part file itself, which must be a regular file of its
 * own: a link there would have the download appended to (and truncated, deleted) whatever it points at, a
 * FIFO would take the bytes away. *fd: the locked part file, open. */
static int lock_part(fetch *F, int *fd, vt_err *err)
{
    int lock = open(F->part, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (lock < 0 && (errno == ELOOP || errno == EISDIR))
        return vt_fail(err, VT_EUSAGE, "%s: %s, not a partial download (remove it)", F->part,
                       errno == ELOOP ? "a symbolic link" : "a directory");
    if (lock < 0)
        return vt_fail(err, VT_EIO, "%s: cannot create: %s", F->part, strerror(errno));
    struct stat st;
    if (fstat(lock, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(lock);
        return vt_fail(err, VT_EUSAGE, "%s: not a regular file, not a partial download (remove it)", F->part);
    }
    if (flock(lock, LOCK_EX | LOCK_NB) != 0) {
        close(lock);
        return vt_fail(err, VT_EUSAGE, "%s: another vggtop is downloading into it", F->part);
    }
    *fd = lock;
    return VT_OK;
}

static int fetch_run(fetch *F, vt_err *err)
{
    int present;
    int rc = check_target(F, &present, err);
    if (rc)
        return rc;
    if (present) {
        report(F, FETCH_DONE, "%s already holds CIFAR-100: nothing to download", F->target);
        return VT_OK;
    }
    char copy[VT_PATH_MAX], parent[VT_PATH_MAX];
    snprintf(copy, sizeof copy, "%s", F->target);
    snprintf(parent, sizeof parent, "%s", dirname(copy));
    if ((rc = vt_mkdirs(parent, err)))
        return rc;
    int lock = -1;
    if ((rc = lock_part(F, &lock, err)))
        return rc;
    /* The one download of this target now: an unpacking folder left beside it is a killed run's. */
    int stale = F->opt->file ? 0 : data_tmpdir_sweep(F->target);
    if (stale > 0)
        report(F, FETCH_CONNECTING, "removed %d unpacking folder%s a killed download left beside %s", stale,
               stale == 1 ? "" : "s", F->target);
    if ((rc = download_verified(F, err))) {
        close(lock);
        return rc;
    }
    if (F->opt->file) { /* a single file (Keras' weights): the verified part file becomes it */
        if (rename(F->part, F->target) != 0)
            rc = vt_fail(err, VT_EIO, "%s: cannot rename %s to it: %s", F->target, F->part, strerror(errno));
        else
            fsync_dir(parent);
        close(lock);
        if (!rc)
            report(F, FETCH_DONE, "downloaded %s", F->target);
        return rc;
    }
    report(F, FETCH_EXTRACTING, "unpacking %s", F->part);
    int tmpfd;
    if ((rc = data_tmpdir_make(F->target, F->tmpdir, sizeof F->tmpdir, &tmpfd, err))) {
        close(lock);
        return rc;
    }
    vt_err why;
    vt_err_clear(&why);
    rc = data_unpack_cifar100(F->part, F->url, F->tmpdir, &why);
    if (rc == VT_OK) {
        report(F, FETCH_CHECKING_DATA, "checking the unpacked files");
        long n_train = 0;
        if ((rc = check_cifar100(F->tmpdir, &n_train, &why)) == VT_OK) {
            /* An empty target folder is replaced by the rename. */
            if (rename(F->tmpdir, F->target) != 0)
                rc = vt_fail(&why, VT_EIO, "%s: cannot rename %s to it: %s", F->target, F->tmpdir, strerror(errno));
            else
                fsync_dir(parent);
        }
    }
    if (rc)
        data_tmpdir_remove(F->tmpdir);
    close(tmpfd);
    if (rc) {
        if (rc == VT_EUSAGE)
            drop_part(F); /* a tarball that does not unpack or load will not get better */
        close(lock);
        return vt_fail(err, rc, "%.500s", why.msg);
    }
    drop_part(F);
    close(lock);
    report(F, FETCH_DONE, "CIFAR-100 is in %s", F->target);
    return VT_OK;
}

/* data_fetch of one file (opt->file): url and md5 are the caller's, dir the file's path. Frees F. */
static int fetch_file(fetch *F, char *installed, size_t size, vt_err *err)
{
    const data_fetch_options *opt = F->opt;
    F->url = opt->url ? opt->url : "";
    F->timeout = opt->timeout > 0 ? opt->timeout : DEFAULT_TIMEOUT;
    F->p.eta = -1;
    int rc = parse_md5(opt->md5 ? opt->md5 : "", "the file's MD5", F->md5, err);
    if (!rc && (!opt->dir || !*opt->dir || strlen(opt->dir) >= 4000 || !*F->url))
        rc = vt_fail(err, VT_EUSAGE, "a file download needs a URL and a path shorter than 4000 bytes");
    if (!rc) {
        snprintf(F->target, sizeof F->target, "%s", opt->dir);
        snprintf(F->part, sizeof F->part, "%s.part", F->target);
        rc = fetch_run(F, err);
    }
    if (rc == VT_OK && installed)
        snprintf(installed, size, "%s", F->target);
    free(F);
    return rc;
}

int data_fetch(const data_fetch_options *opt, char *installed, size_t size, vt_err *err)
{
    fetch *F = calloc(1, sizeof *F);
    if (!F)
        return vt_fail(err, VT_EIO, "out of memory");
    F->opt = opt;
    if (opt->file)
        return fetch_file(F, installed, size, err);
    /* A mirror for every download of this environment (the front end's too), unless the caller names one. */
    const char *env_url = getenv("VGGTOP_CIFAR100_URL"), *env_md5 = getenv("VGGTOP_CIFAR100_MD5");
    const char *md5 = opt->md5 && *opt->md5 ? opt->md5 : env_md5 && *env_md5 ? env_md5 : NULL;
    F->url = opt->url && *opt->url ? opt->url : env_url && *env_url ? env_url : DATA_CIFAR100_URL;
    F->timeout = opt->timeout > 0 ? opt->timeout : DEFAULT_TIMEOUT;
    F->p.eta = -1;
    int rc = VT_OK;
    if (md5) {
        rc = parse_md5(md5, md5 == env_md5 ? "$VGGTOP_CIFAR100_MD5" : "--md5", F->md5, err);
        F->expect_size = strcmp(F->md5, DATA_CIFAR100_MD5) == 0 ? DATA_CIFAR100_BYTES : 0;
    } else {
        snprintf(F->md5, sizeof F->md5, "%s", DATA_CIFAR100_MD5);
        F->expect_size = DATA_CIFAR100_BYTES;
    }
    const char *dir = opt->dir && *opt->dir ? opt->dir : DATA_DEFAULT_DIR;
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (rc == VT_OK && (len >= 4000 || len == 0))
        rc = vt_fail(err, VT_EUSAGE, "--data '%s': path too long", dir);
    if (rc == VT_OK) {
        snprintf(F->target, sizeof F->target, "%.*s", (int)len, dir);
        snprintf(F->part, sizeof F->part, "%s.tar.gz.part", F->target);
        rc = fetch_run(F, err);
    }
    if (rc == VT_OK && installed)
        snprintf(installed, size, "%s", F->target);
    free(F);
    return rc;
}

/* ---- on a thread: the front end's download ----------------------------------------------------------- */

struct data_fetch_job {
    pthread_t thread;
    pthread_mutex_t mu;
    int cancel;
    data_fetch_status st;    /* what the thread publishes */
    char dir[VT_PATH_MAX], url[VT_PATH_MAX], md5[64];
    data_fetch_options opt;
    int pipe_fd[2];
};

static void job_wake(data_fetch_job *j) { vt_wake_signal(j->pipe_fd); }

static void job_progress(const data_fetch_progress *p, void *arg)
{
    data_fetch_job *j = arg;
    pthread_mutex_lock(&j->mu);
    j->st.progress = *p;
    pthread_mutex_unlock(&j->mu);
    job_wake(j);
}

static int job_cancelled(void *arg)
{
    data_fetch_job *j = arg;
    pthread_mutex_lock(&j->mu);
    int c = j->cancel;
    pthread_mutex_unlock(&j->mu);
    return c;
}

static void *job_main(void *arg)
{
    data_fetch_job *j = arg;
    vt_err err;
    vt_err_clear(&err);
    char installed[VT_PATH_MAX] = "";
    int rc = data_fetch(&j->opt, installed, sizeof installed, &err);
    pthread_mutex_lock(&j->mu);
    j->st.rc = rc;
    j->st.err = err;
    snprintf(j->st.installed, sizeof j->st.installed, "%s", installed);
    j->st.finished = 1;
    pthread_mutex_unlock(&j->mu);
    job_wake(j);
    return NULL;
}

int data_fetch_start(const data_fetch_options *opt, data_fetch_job **out, vt_err *err)
{
    *out = NULL;
    data_fetch_job *j = calloc(1, sizeof *j);
    if (!j)
        return vt_fail(err, VT_EIO, "out of memory");
    snprintf(j->dir, sizeof j->dir, "%s", opt->dir ? opt->dir : "");
    snprintf(j->url, sizeof j->url, "%s", opt->url ? opt->url : "");
    snprintf(j->md5, sizeof j->md5, "%s", opt->md5 ? opt->md5 : "");
    j->opt = (data_fetch_options){.dir = j->dir, .url = j->url, .md5 = j->md5, .timeout = opt->timeout,
                                  .progress = job_progress, .cancelled = job_cancelled, .arg = j};
    j->st.progress.eta = -1;
    int rc = vt_wake_open(j->pipe_fd, err);
    if (rc) {
        free(j);
        return rc;
    }
    pthread_mutex_init(&j->mu, NULL);
    /* The caller's thread (the UI's) keeps the signals. */
    if (vt_thread_start(&j->thread, job_main, j) != 0) {
        vt_wake_close(j->pipe_fd);
        pthread_mutex_destroy(&j->mu);
        free(j);
        return vt_fail(err, VT_EIO, "cannot start the download thread");
    }
    *out = j;
    return VT_OK;
}

void data_fetch_poll(data_fetch_job *j, data_fetch_status *st)
{
    vt_wake_drain(j->pipe_fd);
    pthread_mutex_lock(&j->mu);
    *st = j->st;
    pthread_mutex_unlock(&j->mu);
}

void data_fetch_cancel(data_fetch_job *j)
{
    pthread_mutex_lock(&j->mu);
    j->cancel = 1;
    pthread_mutex_unlock(&j->mu);
}

int data_fetch_wake_fd(const data_fetch_job *j) { return j->pipe_fd[0]; }

void data_fetch_destroy(data_fetch_job *j)
{
    if (!j)
        return;
    data_fetch_cancel(j);
    pthread_join(j->thread, NULL);
    vt_wake_close(j->pipe_fd);
    pthread_mutex_destroy(&j->mu);
    free(j);
}
