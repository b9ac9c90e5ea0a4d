/* Unit tests of the data module's download (src/data/download.c), without network: tarballs are written
 * here with libarchive's writer (good ones and every kind the unpacker must refuse), downloads read them
 * through file:// URLs, and the threaded job is cancelled while it waits on a 127.0.0.1 socket that never
 * answers. MD5s are computed here with libcrypto, independently of the code under test. Also runs under
 * ThreadSanitizer (make test's unit-tsan). */
/* unit: timed (it asserts on the clock, so make test runs it at normal priority: tests/tools/run-e2e.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "../src/data/data_internal.h"
#include "vggtop/data.h"

#include "testing.h"

static int setup(void **state)
{
    (void)state;
    return test_dir_make("dl");
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* n CIFAR-100 records whose fine label is (r * 37 + 19) % 100 and coarse label the published superclass. */
static uint8_t *records(long first, long n, size_t *len)
{
    *len = (size_t)n * 3074;
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    for (long i = 0; i < n; i++) {
        uint8_t *p = buf + (size_t)i * 3074;
        int fine = (int)(((first + i) * 37 + 19) % 100);
        p[0] = (uint8_t)names_cifar100_fine_to_coarse[fine];
        p[1] = (uint8_t)fine;
        for (int k = 0; k < 3072; k++)
            p[2 + k] = (uint8_t)((first + i) * 5 + k * 3);
    }
    return buf;
}

/* A tarball member: a regular file (data), a directory, or a link to target. */
typedef struct tmember {
    const char *name;
    int type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, or 1 for a hard link */
    const void *data;
    size_t len;
    const char *target;
} tmember;

static void write_tarball(const char *path, const tmember *m, int n)
{
    struct archive *a = archive_write_new();
    assert_non_null(a);
    assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (int i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_perm(e, 0644);
        if (m[i].type == 1) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, m[i].target);
        } else {
            archive_entry_set_filetype(e, (unsigned)m[i].type);
            if (m[i].type == AE_IFLNK)
                archive_entry_set_symlink(e, m[i].target);
            if (m[i].type == AE_IFREG)
                archive_entry_set_size(e, (la_int64_t)m[i].len);
        }
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (m[i].type == AE_IFREG && m[i].len)
            assert_int_equal(archive_write_data(a, m[i].data, m[i].len), (la_ssize_t)m[i].len);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

/* The good tarball: 3 training and 2 test records, the published names; extra members appended. */
static uint8_t *train_rec, *test_rec;
static size_t train_len, test_len;
static void good_tarball(const char *path, const tmember *extra, int n_extra)
{
    free(train_rec);
    free(test_rec);
    train_rec = records(0, 3, &train_len);
    test_rec = records(50, 2, &test_len);
    tmember m[12] = {
        {"cifar-100-binary/", AE_IFDIR, NULL, 0, NULL},
        {"cifar-100-binary/train.bin", AE_IFREG, train_rec, train_len, NULL},
        {"cifar-100-binary/test.bin", AE_IFREG, test_rec, test_len, NULL},
    };
    int n = 3;
    for (int i = 0; i < n_extra && n < 12; i++)
        m[n++] = extra[i];
    write_tarball(path, m, n);
}

static void md5_hex(const char *path, char out[33])
{
    char *buf;
    size_t len;
    vt_err err;
    assert_int_equal(vt_read_file(path, 1LL << 30, &buf, &len, &err), VT_OK);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(buf, len, md, &n, EVP_md5(), NULL), 1);
    assert_int_equal(n, 16);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    free(buf);
}

static void assert_file_equals(const char *path, const void *data, size_t len)
{
    char *buf;
    size_t got;
    vt_err err;
    assert_int_equal(vt_read_file(path, 1LL << 30, &buf, &got, &err), VT_OK);
    assert_int_equal(got, len);
    assert_memory_equal(buf, data, len);
    free(buf);
}

/* ---- unpacking ---------------------------------------------------------------------------------------- */

static void unpack_writes_the_members(void **state)
{
    (void)state;
    static const char names[] = "a\nb\n";
    tmember extra[] = {{"./cifar-100-binary/fine_label_names.txt", AE_IFREG, names, 4, NULL}};
    good_tarball(at("t.tar.gz"), extra, 1);
    assert_int_equal(mkdir(at("out"), 0755), 0);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(data_unpack_cifar100(at("t.tar.gz"), "T", at("out"), &err), VT_OK);
    assert_file_equals(at("out/train.bin"), train_rec, train_len);
    assert_file_equals(at("out/test.bin"), test_rec, test_len);
    assert_file_equals(at("out/fine_label_names.txt"), names, 4);
    assert_false(exists(at("out/coarse_label_names.txt")));
}

/* Each refused tarball: the message's words, and nothing written outside out/. */
static void expect_refused(const tmember *m, int n, const char *words)
{
    write_tarball(at("bad.tar.gz"), m, n);
    sh("rm -rf '%s/out' && mkdir '%s/out'", test_dir, test_dir);
    vt_err err;
    vt_err_clear(&err);
    int rc = data_unpack_cifar100(at("bad.tar.gz"), "URL", at("out"), &err);
    if (rc != VT_EUSAGE || !strstr(err.msg, words) || strncmp(err.msg, "URL: ", 5) != 0)
        fail_msg("expected VT_EUSAGE saying '%s', got %d: %s", words, rc, err.msg);
    assert_null(strchr(err.msg, '\n'));
    assert_false(exists(at("evil")));
}

static void unpack_refuses_what_is_not_the_data_set(void **state)
{
    (void)state;
    size_t tl;
    uint8_t *tr = records(0, 2, &tl);
    const tmember dir = {"cifar-100-binary", AE_IFDIR, NULL, 0, NULL};
    const tmember train = {"cifar-100-binary/train.bin", AE_IFREG, tr, tl, NULL};
    const tmember test = {"cifar-100-binary/test.bin", AE_IFREG, tr, tl, NULL};
    {
        tmember m[] = {dir, train, test, {"cifar-100-binary/../evil", AE_IFREG, "x", 1, NULL}};
        expect_refused(m, 4, "member 'cifar-100-binary/../evil' leaves the directory (..): refused");
    }
    {
        tmember m[] = {dir, {"../evil", AE_IFREG, "x", 1, NULL}, train, test};
        expect_refused(m, 4, "member '../evil' leaves the directory");
    }
    {
        tmember m[] = {dir, train, test, {"/tmp/evil", AE_IFREG, "x", 1, NULL}};
        expect_refused(m, 4, "member '/tmp/evil' has an absolute path: refused");
    }
    {
        tmember m[] = {dir, train, {"cifar-100-binary/test.bin", AE_IFLNK, NULL, 0, "/etc/passwd"}};
        expect_refused(m, 3, "is a link to '/etc/passwd', which leaves the directory: refused");
    }
    {
        tmember m[] = {dir, train, {"cifar-100-binary/test.bin", AE_IFLNK, NULL, 0, "train.bin"}};
        expect_refused(m, 3, "is a link to 'train.bin' (CIFAR-100 holds plain files only): refused");
    }
    {
        tmember m[] = {dir, train, {"cifar-100-binary/test.bin", 1, NULL, 0, "cifar-100-binary/train.bin"}};
        expect_refused(m, 3, "member 'cifar-100-binary/test.bin' is a link to 'cifar-100-binary/train.bin'");
    }
    {
        tmember m[] = {dir, train, test, {"cifar-100-binary/notes.txt", AE_IFREG, "x", 1, NULL}};
        expect_refused(m, 4, "member 'cifar-100-binary/notes.txt' is not one of CIFAR-100's files");
    }
    {
        tmember m[] = {{"cifar-100-python/", AE_IFDIR, NULL, 0, NULL}, train, test};
        expect_refused(m, 3, "member 'cifar-100-python/' is not one of CIFAR-100's files");
    }
    {
        tmember m[] = {dir, train, test, {"cifar-100-binary/train.bin/", AE_IFDIR, NULL, 0, NULL}};
        expect_refused(m, 4, "is not a regular file: refused");
    }
    {
        tmember m[] = {dir, train, train, test};
        expect_refused(m, 4, "member 'cifar-100-binary/train.bin' appears twice: refused");
    }
    {
        tmember m[] = {dir, train};
        expect_refused(m, 2, "no cifar-100-binary/test.bin in it");
    }
    {
        /* A names file larger than any CIFAR-100's: refused from its header, before a byte is written. */
        size_t big = 70000;
        char *text = malloc(big);
        assert_non_null(text);
        memset(text, 'a', big);
        tmember m[] = {dir, train, test, {"cifar-100-binary/fine_label_names.txt", AE_IFREG, text, big, NULL}};
        expect_refused(m, 4, "is 70000 bytes, more than CIFAR-100's 65536: refused");
        free(text);
    }
    free(tr);
    /* Not a tarball at all. */
    FILE *f = fopen(at("bad.tar.gz"), "wb");
    assert_non_null(f);
    fputs("hello", f);
    fclose(f);
    vt_err err;
    assert_int_equal(data_unpack_cifar100(at("bad.tar.gz"), "URL", at("out"), &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "not a gzip'ed tar file"));
}

/* ---- whole downloads through file:// ------------------------------------------------------------------- */

typedef struct seen {
    int phases[16];
    int reports;
} seen;

static void count(const data_fetch_progress *p, void *arg)
{
    seen *s = arg;
    s->reports++;
    if (p->phase >= 0 && p->phase < 16)
        s->phases[p->phase]++;
}

static void fetch_file_url_installs_and_then_leaves_alone(void **state)
{
    (void)state;
    good_tarball(at("c.tar.gz"), NULL, 0);
    char url[600], md5[33], dir[4096];
    snprintf(url, sizeof url, "file://%s", at("c.tar.gz"));
    md5_hex(at("c.tar.gz"), md5);
    seen s = {0};
    char target[512]; /* at()'s buffers are reused */
    snprintf(target, sizeof target, "%s", at("sub/cifar-100-binary/"));
    data_fetch_options o = {.dir = target, .url = url, .md5 = md5, .progress = count, .arg = &s};
    vt_err err;
    vt_err_clear(&err);
    if (data_fetch(&o, dir, sizeof dir, &err) != VT_OK)
        fail_msg("%s", err.msg);
    assert_string_equal(dir, at("sub/cifar-100-binary")); /* the trailing slash dropped */
    assert_file_equals(at("sub/cifar-100-binary/train.bin"), train_rec, train_len);
    assert_file_equals(at("sub/cifar-100-binary/test.bin"), test_rec, test_len);
    assert_false(exists(at("sub/cifar-100-binary.tar.gz.part")));
    for (int ph = FETCH_CONNECTING; ph <= FETCH_DONE; ph++)
        if (ph != FETCH_RETRYING && ph != FETCH_CHECKING_TARGET && s.phases[ph] == 0)
            fail_msg("phase %d never reported", ph);
    /* It loads as CIFAR-100. */
    data_options d = {.path = at("sub")};
    dataset *ds;
    assert_int_equal(data_open(&d, &ds, &err), VT_OK);
    assert_int_equal(ds->format, DATA_CIFAR100);
    assert_int_equal(ds->n_train, 3);
    data_destroy(ds);
    /* Again: already there, so the tarball is not even read (it is gone now). */
    unlink(at("c.tar.gz"));
    memset(&s, 0, sizeof s);
    if (data_fetch(&o, dir, sizeof dir, &err) != VT_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(s.phases[FETCH_CHECKING_TARGET], 1);
    assert_int_equal(s.phases[FETCH_CONNECTING], 0);
}

static void fetch_refuses_and_leaves_nothing(void **state)
{
    (void)state;
    good_tarball(at("c.tar.gz"), NULL, 0);
    char url[600];
    snprintf(url, sizeof url, "file://%s", at("c.tar.gz"));
    vt_err err;
    /* A wrong MD5: the part file is deleted, nothing installed. */
    data_fetch_options o = {.dir = at("cifar-100-binary"), .url = url, .md5 = "00000000000000000000000000000000"};
    assert_int_equal(data_fetch(&o, NULL, 0, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "expected 00000000000000000000000000000000"));
    assert_false(exists(at("cifar-100-binary")));
    assert_false(exists(at("cifar-100-binary.tar.gz.part")));
    /* The published MD5 and size, for a made-up tarball: the size is wrong first. */
    o.md5 = NULL;
    assert_int_equal(data_fetch(&o, NULL, 0, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "not the 168.5 MB of cifar-100-binary.tar.gz"));
    assert_non_null(strstr(err.msg, "needs --md5")); /* a mirror of another size: what to give */
    assert_false(exists(at("cifar-100-binary.tar.gz.part")));
    /* Bad options and targets. */
    o.md5 = "xyz";
    assert_int_equal(data_fetch(&o, NULL, 0, &err), VT_EUSAGE);
    assert_string_equal(err.msg, "--md5 'xyz': expected 32 hexadecimal digits");
    o.md5 = "0123456789abcdef0123456789abcdeg";
    assert_int_equal(data_fetch(&o, NULL, 0, &err), VT_EUSAGE);
    o.md5 = NULL;
    FILE *f = fopen(at("plain"), "w");
    assert_non_null(f);
    fclose(f);
    o.dir = at("plain");
    assert_int_equal(data_fetch(&o, NULL, 0, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "exists and is not a folder"));
    /* A file:// that does not exist: a usage error, not retried, no part left. */
    snprintf(url, sizeof url, "file://%s", at("missing.tar.gz"));
    o.dir = at("m/cifar-100-binary");
    assert_int_equal(data_fetch(&o, NULL, 0, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "(check --url)"));
    assert_false(exists(at("m/cifar-100-binary.tar.gz.part")));
    /* A tarball whose records do not load: refused after unpacking, the temporary folder removed. */
    size_t tl;
    uint8_t *tr = records(0, 2, &tl);
    tr[1] = 100; /* fine label out of range */
    tmember m[] = {{"cifar-100-binary/train.bin", AE_IFREG, tr, tl, NULL},
                   {"cifar-100-binary/test.bin", AE_IFREG, tr + 3074, 3074, NULL}};
    write_tarball(at("labels.tar.gz"), m, 2);
    free(tr);
    char md5[33];
    md5_hex(at("labels.tar.gz"), md5);
    snprintf(url, sizeof url, "file://%s", at("labels.tar.gz"));
    o = (data_fetch_options){.dir = at("l/cifar-100-binary"), .url = url, .md5 = md5};
    assert_int_equal(data_fetch(&o, NULL, 0, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "fine label 100 is out of range"));
    sh("test -z \"$(ls -A '%s/l')\"", test_dir); /* no part, no .tmp folder, no target */
}

/* A link planted where the temporary folder of an older vggtop was (<target>.tmp.<pid>) and pointing at
 * someone's data: the download makes a folder of its own, follows no link and removes nothing outside it. */
static void fetch_follows_no_planted_link(void **state)
{
    (void)state;
    good_tarball(at("c.tar.gz"), NULL, 0);
    char url[600], md5[33], link[600], victim[600];
    snprintf(url, sizeof url, "file://%s", at("c.tar.gz"));
    md5_hex(at("c.tar.gz"), md5);
    snprintf(victim, sizeof victim, "%s", at("victim"));
    sh("mkdir -p '%s' && cd '%s' && for f in train.bin test.bin fine_label_names.txt coarse_label_names.txt; do "
       "echo mine > $f; done", victim, victim);
    snprintf(link, sizeof link, "%s/p/cifar-100-binary.tmp.%ld", test_dir, (long)getpid());
    sh("mkdir -p '%s/p' && ln -s '%s' '%s'", test_dir, victim, link);
    char target[600];
    snprintf(target, sizeof target, "%s/p/cifar-100-binary", test_dir);
    data_fetch_options o = {.dir = target, .url = url, .md5 = md5};
    vt_err err;
    vt_err_clear(&err);
    if (data_fetch(&o, NULL, 0, &err) != VT_OK)
        fail_msg("%s", err.msg);
    sh("cd '%s' && for f in train.bin test.bin fine_label_names.txt coarse_label_names.txt; do "
       "test \"$(cat $f)\" = mine || exit 1; done", victim);
    sh("test -L '%s'", link); /* the link itself is not ours either */
    char path[700];
    snprintf(path, sizeof path, "%s/train.bin", target);
    assert_file_equals(path, train_rec, train_len);
    /* And when unpacking is refused, the removal of the temporary folder spares the link's target too. */
    sh("rm -rf '%s'", target);
    size_t tl;
    uint8_t *tr = records(0, 2, &tl);
    tr[1] = 100;
    tmember m[] = {{"cifar-100-binary/train.bin", AE_IFREG, tr, tl, NULL},
                   {"cifar-100-binary/test.bin", AE_IFREG, tr + 3074, 3074, NULL}};
    write_tarball(at("labels.tar.gz"), m, 2);
    free(tr);
    md5_hex(at("labels.tar.gz"), md5);
    snprintf(url, sizeof url, "file://%s", at("labels.tar.gz"));
    assert_int_equal(data_fetch(&o, NULL, 0, &err), VT_EUSAGE);
    sh("cd '%s' && test \"$(cat train.bin)\" = mine", victim);
    sh("test -L '%s' && test \"$(ls '%s/p' | wc -l)\" = 1", link, test_dir); /* only the link is left */
}

/* A download killed while unpacking leaves "<target>.tmp.XXXXXX" behind. The next download of that target
 * removes such folders when no process holds them (flock), and leaves alone one a live download holds, a
 * name that only looks like one, a folder holding something else, and a link. */
static void fetch_sweeps_what_a_killed_download_left(void **state)
{
    (void)state;
    good_tarball(at("c.tar.gz"), NULL, 0);
    char url[600], md5[33], target[600], live[700];
    snprintf(url, sizeof url, "file://%s", at("c.tar.gz"));
    md5_hex(at("c.tar.gz"), md5);
    snprintf(target, sizeof target, "%s/p/cifar-100-binary", test_dir);
    sh("mkdir -p '%s/p/cifar-100-binary.tmp.Ab12Z9' '%s/p/cifar-100-binary.tmp.zz' '%s/p/cifar-100-binary.tmp.KEEPME' "
       "'%s/victim' && echo x > '%s/p/cifar-100-binary.tmp.Ab12Z9/train.bin' && "
       "echo mine > '%s/p/cifar-100-binary.tmp.KEEPME/notes.txt' && echo mine > '%s/victim/train.bin' && "
       "ln -s '%s/victim' '%s/p/cifar-100-binary.tmp.LnK000'",
       test_dir, test_dir, test_dir, test_dir, test_dir, test_dir, test_dir, test_dir, test_dir);
    int held;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(data_tmpdir_make(target, live, sizeof live, &held, &err), VT_OK);
    data_fetch_options o = {.dir = target, .url = url, .md5 = md5};
    if (data_fetch(&o, NULL, 0, &err) != VT_OK)
        fail_msg("%s", err.msg);
    assert_false(exists(at("p/cifar-100-binary.tmp.Ab12Z9"))); /* the killed one's, with its file */
    assert_true(exists(live));                                 /* held by a live download */
    assert_true(exists(at("p/cifar-100-binary.tmp.zz")));      /* not a mkdtemp name */
    assert_true(exists(at("p/cifar-100-binary.tmp.KEEPME/notes.txt"))); /* not only the data set's files */
    sh("test -L '%s/p/cifar-100-binary.tmp.LnK000' && test \"$(cat '%s/victim/train.bin')\" = mine", test_dir,
       test_dir);
    /* once its holder is gone, the live one is a leftover too */
    close(held);
    assert_int_equal(data_tmpdir_sweep(target), 1);
    assert_false(exists(live));
}

static void fetch_resumes_a_partial_file(void **state)
{
    (void)state;
    good_tarball(at("c.tar.gz"), NULL, 0);
    char *whole;
    size_t len;
    vt_err err;
    assert_int_equal(vt_read_file(at("c.tar.gz"), 1LL << 30, &whole, &len, &err), VT_OK);
    /* What an interrupted run left: the first 100 bytes. */
    FILE *f = fopen(at("cifar-100-binary.tar.gz.part"), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(whole, 1, 100, f), 100);
    fclose(f);
    free(whole);
    char url[600], md5[33];
    snprintf(url, sizeof url, "file://%s", at("c.tar.gz"));
    md5_hex(at("c.tar.gz"), md5);
    data_fetch_options o = {.dir = at("cifar-100-binary"), .url = url, .md5 = md5};
    if (data_fetch(&o, NULL, 0, &err) != VT_OK)
        fail_msg("%s", err.msg);
    assert_file_equals(at("cifar-100-binary/train.bin"), train_rec, train_len);
    /* A partial file of another tarball: the resumed file fails its MD5, and one fresh start fixes it. */
    sh("rm -rf '%s/cifar-100-binary' && head -c 200 /dev/urandom >'%s/cifar-100-binary.tar.gz.part'", test_dir,
       test_dir);
    if (data_fetch(&o, NULL, 0, &err) != VT_OK)
        fail_msg("%s", err.msg);
    assert_file_equals(at("cifar-100-binary/test.bin"), test_rec, test_len);
}

/* ---- the threaded job ------------------------------------------------------------------------------------ */

static void job_downloads_on_its_thread(void **state)
{
    (void)state;
    good_tarball(at("c.tar.gz"), NULL, 0);
    char url[600], md5[33];
    snprintf(url, sizeof url, "file://%s", at("c.tar.gz"));
    md5_hex(at("c.tar.gz"), md5);
    data_fetch_options o = {.dir = at("cifar-100-binary"), .url = url, .md5 = md5};
    data_fetch_job *job;
    vt_err err;
    assert_int_equal(data_fetch_start(&o, &job, &err), VT_OK);
    data_fetch_status st;
    double until = vt_now() + 30;
    do {
        usleep(10000);
        data_fetch_poll(job, &st);
    } while (!st.finished && vt_now() < until);
    assert_true(st.finished);
    if (st.rc != VT_OK)
        fail_msg("%s", st.err.msg);
    assert_string_equal(st.installed, at("cifar-100-binary"));
    assert_int_equal(st.progress.phase, FETCH_DONE);
    data_fetch_destroy(job);
    assert_file_equals(at("cifar-100-binary/train.bin"), train_rec, train_len);
}

static void job_cancels_a_stalled_download(void **state)
{
    (void)state;
    /* A socket that listens but never accepts: the connection is made (backlog) and nothing ever comes. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(s, 4), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/cifar-100-binary.tar.gz", ntohs(sa.sin_port));
    data_fetch_options o = {.dir = at("cifar-100-binary"), .url = url, .md5 = DATA_CIFAR100_MD5, .timeout = 60};
    data_fetch_job *job;
    vt_err err;
    assert_int_equal(data_fetch_start(&o, &job, &err), VT_OK);
    data_fetch_status st;
    double until = vt_now() + 10;
    do { /* until it is connecting: the cancel then lands inside libcurl's transfer */
        usleep(10000);
        data_fetch_poll(job, &st);
    } while (st.progress.phase != FETCH_CONNECTING && vt_now() < until);
    assert_int_equal(st.progress.phase, FETCH_CONNECTING);
    double t0 = vt_now();
    data_fetch_cancel(job);
    do {
        usleep(10000);
        data_fetch_poll(job, &st);
    } while (!st.finished && vt_now() < until);
    assert_true(st.finished);
    assert_true(vt_now() - t0 < 5);
    assert_int_equal(st.rc, VT_EIO);
    assert_non_null(strstr(st.err.msg, "download interrupted"));
    /* the command it suggests resumes this download: its folder, URL and MD5 kept (issue 21) */
    char again[700];
    snprintf(again, sizeof again, "run vggtop data --download --data %s --url %s --md5 %s again", o.dir, url,
             DATA_CIFAR100_MD5);
    if (!strstr(st.err.msg, again)) {
        print_error("'%s' does not suggest '%s'\n", st.err.msg, again);
        fail();
    }
    data_fetch_destroy(job);
    close(s);
    assert_false(exists(at("cifar-100-binary")));
    assert_false(exists(at("cifar-100-binary.tar.gz.part"))); /* nothing arrived: nothing kept */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unpack_writes_the_members, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(unpack_refuses_what_is_not_the_data_set, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(fetch_file_url_installs_and_then_leaves_alone, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(fetch_refuses_and_leaves_nothing, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(fetch_follows_no_planted_link, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(fetch_sweeps_what_a_killed_download_left, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(fetch_resumes_a_partial_file, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(job_downloads_on_its_thread, setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(job_cancels_a_stalled_download, setup, test_dir_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    free(train_rec);
    free(test_rec);
    return failed;
}
