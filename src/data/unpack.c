/* data/unpack: CIFAR-100's binary tarball unpacked into a folder of its own, and that folder's life.
 * Only the data set's four files are written (libarchive reads the tarball; every other member is refused
 * with one line), into "<target>.tmp.XXXXXX" next to the target: made new by mkdtemp and locked (flock) for
 * as long as its download runs, so a download that starts later removes the folders of one that was killed
 * mid-unpack (unlocked) and leaves a live one's alone. */
#include "data_internal.h"

#include <archive.h>
#include <archive_entry.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The members a CIFAR-100 binary tarball may hold (under its cifar-100-binary/ folder), with the most bytes
 * each may have: the records of the official files, and a few kB of names. */
static const struct member {
    const char *name;
    long long max;
} members[] = {
    {"train.bin", 50000LL * 3074},
    {"test.bin", 10000LL * 3074},
    {"fine_label_names.txt", 65536},
    {"coarse_label_names.txt", 65536},
};
enum { N_MEMBERS = sizeof members / sizeof members[0] };
#define TOP_FOLDER "cifar-100-binary"

/* ---- the temporary folder ------------------------------------------------------------------------------ */

int data_tmpdir_make(const char *target, char *dir, size_t size, int *fd, vt_err *err)
{
    *fd = -1;
    snprintf(dir, size, "%s.tmp.XXXXXX", target);
    if (!mkdtemp(dir))
        return vt_fail(err, VT_EIO, "%s: cannot create: %s", dir, strerror(errno));
    /* new and ours (a name planted there, a link to someone's data, is never reused nor followed) */
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0 || flock(d, LOCK_EX | LOCK_NB) != 0 || fchmod(d, 0755) != 0) {
        int rc = vt_fail(err, VT_EIO, "%s: cannot lock or open it to others: %s", dir, strerror(errno));
        if (d >= 0)
            close(d);
        rmdir(dir);
        return rc;
    }
    *fd = d;
    return VT_OK;
}

void data_tmpdir_remove(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    for (int i = 0; i < N_MEMBERS; i++)
        unlinkat(fd, members[i].name, 0);
    close(fd);
    rmdir(dir);
}

/* Whether name is "<base>.tmp." and six mkdtemp characters. */
static int is_tmp_name(const char *name, const char *base)
{
    size_t n = strlen(base);
    if (strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp.", 5) != 0 || strlen(name + n + 5) != 6)
        return 0;
    for (const char *p = name + n + 5; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return 0;
    return 1;
}

int data_tmpdir_sweep(const char *target)
{
    char a[VT_PATH_MAX], b[VT_PATH_MAX];
    snprintf(a, sizeof a, "%s", target);
    snprintf(b, sizeof b, "%s", target);
    const char *parent = dirname(a), *base = basename(b);
    DIR *d = opendir(parent);
    if (!d)
        return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_tmp_name(e->d_name, base))
            continue;
        char path[VT_PATH_MAX + VT_PATH_EXTRA];
        snprintf(path, sizeof path, "%s/%s", parent, e->d_name);
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) /* not a folder, or a link: not one of ours */
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) { /* no download holds it: its own was killed */
            data_tmpdir_remove(path);
            removed += access(path, F_OK) != 0;
        }
        close(fd);
    }
    closedir(d);
    return removed;
}

/* ---- the tarball --------------------------------------------------------------------------------------- */

static int has_dotdot(const char *path)
{
    for (const char *p = path; *p;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 1;
        p += n;
        while (*p == '/')
            p++;
    }
    return 0;
}

/* Which of the expected files a member is: its index, -2 for the top folder itself, -1 for none. */
static int member_index(const char *name)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    size_t top = strlen(TOP_FOLDER);
    if (strncmp(name, TOP_FOLDER, top) != 0)
        return -1;
    const char *rest = name + top;
    if (rest[0] == '\0' || (rest[0] == '/' && rest[1] == '\0'))
        return -2;
    if (rest[0] != '/')
        return -1;
    rest++;
    size_t n = strlen(rest);
    while (n > 0 && rest[n - 1] == '/') /* a folder named like a file is caught as not a regular file */
        n--;
    for (int i = 0; i < N_MEMBERS; i++)
        if (strlen(members[i].name) == n && strncmp(rest, members[i].name, n) == 0)
            return i;
    return -1;
}

/* Writes the current member's data to path, at most max bytes. */
static int write_member(struct archive *ar, const char *label, const char *path, const char *name, long long max,
                        vt_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
    if (fd < 0 && errno == EEXIST)
        return vt_fail(err, VT_EUSAGE, "%s: member '%s' appears twice: refused", label, name);
    if (fd < 0)
        return vt_fail(err, VT_EIO, "%s: cannot create: %s", path, strerror(errno));
    char buf[1 << 16];
    long long total = 0;
    int rc = VT_OK;
    for (;;) {
        la_ssize_t n = archive_read_data(ar, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0) {
            rc = vt_fail(err, VT_EUSAGE, "%s: member '%s': %s", label, name, archive_error_string(ar));
            break;
        }
        total += n;
        if (total > max) {
            rc = vt_fail(err, VT_EUSAGE, "%s: member '%s': more than %lld bytes, larger than CIFAR-100's: refused",
                         label, name, max);
            break;
        }
        for (la_ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0) {
                rc = vt_fail(err, VT_EIO, "%s: cannot write: %s", path, strerror(errno));
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    if (rc == VT_OK && fsync(fd) != 0)
        rc = vt_fail(err, VT_EIO, "%s: cannot write: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == VT_OK)
        rc = vt_fail(err, VT_EIO, "%s: cannot write: %s", path, strerror(errno));
    return rc;
}

int data_tar_open(const char *path, const char *label, struct archive **out, int *fd, vt_err *err)
{
    *out = NULL;
    struct archive *ar = archive_read_new();
    if (!ar)
        return vt_fail(err, VT_EIO, "out of memory");
    archive_read_support_filter_gzip(ar);
    archive_read_support_format_tar(ar);
    int rc = vt_open_regular(path, 0, fd, NULL, err);
    if (rc) {
        archive_read_free(ar);
        return rc;
    }
    if (archive_read_open_fd(ar, *fd, 1 << 16) != ARCHIVE_OK) {
        rc = vt_fail(err, VT_EUSAGE, "%s: not a gzip'ed tar file: %s", label, archive_error_string(ar));
        archive_read_free(ar);
        close(*fd);
        return rc;
    }
    *out = ar;
    return VT_OK;
}

int data_tar_next(struct archive *ar, const char *label, struct archive_entry **e, vt_err *err)
{
    int r = archive_read_next_header(ar, e);
    if (r == ARCHIVE_EOF)
        return 0;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        return -vt_fail(err, VT_EUSAGE, "%s: not a valid gzip'ed tar file: %s", label, archive_error_string(ar));
    return 1;
}

int data_unpack_cifar100(const char *tarball, const char *label, const char *dir, vt_err *err)
{
    struct archive *ar;
    int fd;
    int rc = data_tar_open(tarball, label, &ar, &fd, err);
    if (rc)
        return rc;
    unsigned seen = 0;
    for (;;) {
        struct archive_entry *e;
        int r = data_tar_next(ar, label, &e, err);
        if (r <= 0) {
            rc = -r;
            break;
        }
        const char *name = archive_entry_pathname(e);
        if (!name || !*name) {
            rc = vt_fail(err, VT_EUSAGE, "%s: a member without a name: refused", label);
            break;
        }
        if (name[0] == '/') {
            rc = vt_fail(err, VT_EUSAGE, "%s: member '%s' has an absolute path: refused", label, name);
            break;
        }
        if (has_dotdot(name)) {
            rc = vt_fail(err, VT_EUSAGE, "%s: member '%s' leaves the directory (..): refused", label, name);
            break;
        }
        const char *link = archive_entry_hardlink(e);
        if (!link && archive_entry_filetype(e) == AE_IFLNK)
            link = archive_entry_symlink(e);
        if (link) {
            int leaves = link[0] == '/' || has_dotdot(link);
            rc = vt_fail(err, VT_EUSAGE, "%s: member '%s' is a link to '%s'%s: refused", label, name, link,
                         leaves ? ", which leaves the directory" : " (CIFAR-100 holds plain files only)");
            break;
        }
        int idx = member_index(name);
        if (idx == -2 && archive_entry_filetype(e) == AE_IFDIR)
            continue;
        if (idx < 0) {
            rc = vt_fail(err, VT_EUSAGE, "%s: member '%s' is not one of CIFAR-100's files (" TOP_FOLDER "/train.bin, "
                         "test.bin, fine_label_names.txt, coarse_label_names.txt): refused", label, name);
            break;
        }
        if (archive_entry_filetype(e) != AE_IFREG) {
            rc = vt_fail(err, VT_EUSAGE, "%s: member '%s' is not a regular file: refused", label, name);
            break;
        }
        if (archive_entry_size_is_set(e) && archive_entry_size(e) > members[idx].max) {
            rc = vt_fail(err, VT_EUSAGE, "%s: member '%s' is %lld bytes, more than CIFAR-100's %lld: refused",
                         label, name, (long long)archive_entry_size(e), members[idx].max);
            break;
        }
        char path[VT_PATH_MAX + 2 * VT_PATH_EXTRA];
        snprintf(path, sizeof path, "%s/%s", dir, members[idx].name);
        if ((rc = write_member(ar, label, path, name, members[idx].max, err)))
            break;
        seen |= 1u << idx;
    }
    archive_read_free(ar);
    close(fd);
    if (rc == VT_OK && (seen & 3u) != 3u)
        rc = vt_fail(err, VT_EUSAGE, "%s: no " TOP_FOLDER "/%s in it: not the CIFAR-100 binary version", label,
                     (seen & 1u) ? "test.bin" : "train.bin");
    return rc;
}
