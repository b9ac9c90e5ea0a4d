/* train/runlock: exactly one process writes a run directory. The writer (a new run, a resume, `vggtop
 * evaluate`) holds an exclusive flock on <run>/run.lock for as long as it lives: the kernel drops it when the
 * process ends, however it ends, so a killed run is free at once and a recycled pid means nothing. "Is this
 * run live?" is the same question asked without taking it: the lock is held. The file holds the holder's pid
 * for the messages only; the lock, not the pid, decides. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train_internal.h"

/* The pid written in an open lock file ("<pid> <what it does>\n"), 0 when there is none to read; what it does
 * ("trained", "evaluated") into role. */
static long lock_pid(int fd, char *role, size_t size)
{
    char buf[64];
    snprintf(role, size, "used");
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    if (pid <= 0 || (*end != ' ' && *end != '\n'))
        return 0;
    if (*end == ' ') {
        size_t len = strcspn(end + 1, "\n");
        if (len > 0 && len < size && strncmp(end + 1, "trained", len) == 0)
            snprintf(role, size, "trained");
        else if (len > 0 && len < size && strncmp(end + 1, "evaluated", len) == 0)
            snprintf(role, size, "evaluated");
    }
    return pid;
}

/* The pid of a held lock's holder (lock_pid), 0 when the file names a process that is gone: an earlier
 * holder's, still there while the holder now has not claimed the run (run_lock_claim) yet. */
static long holder_pid(int fd, char *role, size_t size)
{
    long pid = lock_pid(fd, role, size);
    if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        pid = 0;
    return pid;
}

/* Locks this process made the file of and has not claimed yet: a refusal gives the file back (run_lock_release
 * removes it), so a refused command leaves a run without run.lock as it found it. Few at once (a trainer, an
 * evaluation); the front end's threads share the table. */
#define MADE_MAX 16
static struct made_lock {
    int fd;
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
} made[MADE_MAX];
static int n_made;
static pthread_mutex_t made_lock = PTHREAD_MUTEX_INITIALIZER;

static void made_add(int fd, const char *path)
{
    pthread_mutex_lock(&made_lock);
    if (n_made < MADE_MAX) {
        made[n_made].fd = fd;
        snprintf(made[n_made].path, sizeof made[n_made].path, "%s", path);
        n_made++;
    }
    pthread_mutex_unlock(&made_lock);
}

/* Takes fd out of the table; 1 with its path when it was there. */
static int made_take(int fd, char *path, size_t size)
{
    int found = 0;
    pthread_mutex_lock(&made_lock);
    for (int i = 0; i < n_made; i++)
        if (made[i].fd == fd) {
            snprintf(path, size, "%s", made[i].path);
            made[i] = made[--n_made];
            found = 1;
            break;
        }
    pthread_mutex_unlock(&made_lock);
    return found;
}

/* Opens the run's lock file; with create, makes it when missing (*created 1). */
static int open_lock(const char *dir, int create, int *fd, int *created, char *path, size_t size, vt_err *err)
{
    *created = 0;
    int rc = run_path(path, size, dir, RUN_LOCK, err);
    if (rc)
        return rc;
    /* O_NOFOLLOW and O_NONBLOCK: a link or a FIFO put in its place is refused, never followed or waited on. */
    const int flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
    int f = open(path, (create ? O_RDWR : O_RDONLY) | flags);
    if (f < 0 && errno == ENOENT && create) {
        f = open(path, O_RDWR | O_CREAT | O_EXCL | flags, 0644);
        if (f >= 0)
            *created = 1;
        else if (errno == EEXIST) /* another process made it meanwhile */
            f = open(path, O_RDWR | flags);
    }
    if (f < 0)
        return errno == ENOENT && !create ? (*fd = -1, VT_OK)
                                          : vt_fail(err, errno == EACCES || errno == EROFS ? VT_EIO : VT_EUSAGE,
                                                    "%s: cannot open the run's lock: %s", path, strerror(errno));
    struct stat st;
    if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(f);
        return vt_fail(err, VT_EUSAGE, "%s: not a regular file (the run's lock must be one)", path);
    }
    *fd = f;
    return VT_OK;
}

/* Whether path still names the file open in fd (a lock file given back by a refusal is removed: a process
 * that opened it before then must not hold a lock on a file no one else can see). */
static int still_there(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int run_lock_take(const char *dir, int *fd, long *holder, vt_err *err)
{
    *fd = -1;
    if (holder)
        *holder = 0;
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    for (int attempt = 0; attempt < 8; attempt++) {
        int f, created;
        int rc = open_lock(dir, 1, &f, &created, path, sizeof path, err);
        if (rc)
            return rc;
        if (flock(f, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            char what[16];
            long pid = holder_pid(f, what, sizeof what);
            close(f);
            if (e != EWOULDBLOCK)
                return vt_fail(err, VT_EIO, "%s: cannot lock the run: %s", dir, strerror(e));
            if (holder)
                *holder = pid ? pid : -1;
            if (pid)
                return vt_fail(err, VT_EUSAGE, "%s is being %s by process %ld (one process at a time: stop it first)",
                               dir, what, pid);
            return vt_fail(err, VT_EUSAGE, "%s is in use by another vggtop (one process at a time: stop it first)",
                           dir);
        }
        if (!still_there(f, path)) { /* given back by a refused process after this one opened it: again */
            close(f);
            continue;
        }
        if (created)
            made_add(f, path);
        *fd = f;
        return VT_OK;
    }
    return vt_fail(err, VT_EIO, "%s: the run's lock kept changing under this process", dir);
}

int run_lock_claim(int fd, const char *dir, const char *role, vt_err *err)
{
    char made_path[VT_PATH_MAX + VT_PATH_EXTRA];
    made_take(fd, made_path, sizeof made_path); /* claimed: the file stays */
    char line[64];
    int len = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), role);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)len, 0) != len)
        return vt_fail(err, VT_EIO, "%s: cannot write the run's lock: %s", dir, strerror(errno));
    return VT_OK;
}

void run_lock_release(int fd)
{
    if (fd < 0)
        return;
    /* A lock file this process made and never claimed goes, removed while the lock is still held. */
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    if (made_take(fd, path, sizeof path) && still_there(fd, path))
        unlink(path);
    close(fd); /* closing the last descriptor drops the flock */
}

long run_live_holder(const char *dir, char *role, size_t size)
{
    int f, created;
    vt_err ignored;
    char what[16] = "", path[VT_PATH_MAX + VT_PATH_EXTRA];
    long live = 0;
    if (open_lock(dir, 0, &f, &created, path, sizeof path, &ignored) == VT_OK && f >= 0) {
        if (flock(f, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
            live = holder_pid(f, what, sizeof what);
            if (!live) {
                live = -1; /* held, by a process that has not written its pid yet */
                what[0] = '\0';
            }
        }
        close(f); /* also drops the shared lock, if it was taken */
    }
    if (role && size)
        snprintf(role, size, "%s", live > 0 ? what : "");
    return live;
}

long run_live_pid(const char *dir) { return run_live_holder(dir, NULL, 0); }
