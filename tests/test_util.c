/* Unit tests of util: the random generator (same seed, same stream; bounded draws cover their range), whole
 * files (atomic replacement, sizes and reads that name what is wrong, FIFOs, loops and oversized files refused
 * at once), the UTC stamp, number parsing and formatting (thousands separators, Keras' progress line, bytes
 * and transfer rates), exit statuses, growing strings, the wake pipe, and label text checks. Expected values
 * are written here by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vggtop/util.h"
#include "testing.h"

static void rng_same_seed_same_stream(void **state)
{
    (void)state;
    vt_rng a, b, c;
    vt_rng_seed(&a, 42);
    vt_rng_seed(&b, 42);
    vt_rng_seed(&c, 43);
    int differs = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = vt_rng_next(&a);
        assert_int_equal(x, vt_rng_next(&b));
        differs |= x != vt_rng_next(&c);
    }
    assert_true(differs);
}

static void rng_below_is_in_range_and_covers(void **state)
{
    (void)state;
    vt_rng r;
    vt_rng_seed(&r, 7);
    int seen[10] = {0};
    for (int i = 0; i < 10000; i++) {
        uint32_t v = vt_rng_below(&r, 10);
        assert_true(v < 10);
        seen[v]++;
    }
    for (int i = 0; i < 10; i++)
        assert_in_range(seen[i], 850, 1150);
    double u = vt_rng_uniform(&r);
    assert_true(u >= 0.0 && u < 1.0);
}

static void atomic_write_replaces_whole_file(void **state)
{
    (void)state;
    char dir[TMPDIR_SIZE];
    assert_int_equal(tmpdir_make(dir, "util"), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/a.txt", dir);
    vt_err err;
    assert_int_equal(vt_write_file_atomic(path, "first", 5, &err), VT_OK);
    vt_afile af;
    assert_int_equal(vt_afile_open(&af, path, &err), VT_OK);
    fputs("second", af.f);
    /* Before commit the old content is still whole. */
    char *data;
    size_t len;
    assert_int_equal(vt_read_file(path, 0, &data, &len, &err), VT_OK);
    assert_string_equal(data, "first");
    free(data);
    vt_afile_abort(&af);
    assert_int_equal(access(af.tmp, F_OK), -1);
    assert_int_equal(vt_read_file(path, 0, &data, &len, &err), VT_OK);
    assert_string_equal(data, "first");
    free(data);
    assert_int_equal(vt_write_file_atomic(path, "second", 6, &err), VT_OK);
    assert_int_equal(vt_read_file(path, 0, &data, &len, &err), VT_OK);
    assert_string_equal(data, "second");
    assert_int_equal(len, 6);
    free(data);
    /* The temporary file's name is predictable: a link there is not written through (the file it points at
     * stays as it was), a FIFO there is not waited on (the alarm fails the test if it ever is). */
    char tmp[300], victim[256];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    snprintf(victim, sizeof victim, "%s/victim", dir);
    assert_int_equal(vt_write_file_atomic(victim, "precious", 8, &err), VT_OK);
    assert_int_equal(symlink(victim, tmp), 0);
    assert_int_equal(vt_write_file_atomic(path, "third", 5, &err), VT_EIO);
    assert_non_null(strstr(err.msg, "cannot create"));
    assert_int_equal(vt_read_file(victim, 0, &data, &len, &err), VT_OK);
    assert_string_equal(data, "precious");
    free(data);
    unlink(tmp);
    assert_int_equal(mkfifo(tmp, 0600), 0);
    alarm(20);
    assert_int_equal(vt_write_file_atomic(path, "third", 5, &err), VT_EIO);
    alarm(0);
    tmpdir_remove(dir);
}

static void read_missing_file_names_it(void **state)
{
    (void)state;
    vt_err err;
    char *data;
    assert_int_equal(vt_read_file("/nonexistent/x.bin", 0, &data, NULL, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "/nonexistent/x.bin"));
    assert_null(data);
}

static void file_size_names_what_is_wrong(void **state)
{
    (void)state;
    char dir[TMPDIR_SIZE];
    assert_int_equal(tmpdir_make(dir, "util"), 0);
    char path[256];
    long long size = -1;
    vt_err err;
    assert_int_equal(vt_file_size(dir, &size, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "not a regular file"));
    snprintf(path, sizeof path, "%s/empty", dir);
    assert_int_equal(vt_write_file_atomic(path, "", 0, &err), VT_OK);
    assert_int_equal(vt_file_size(path, &size, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "empty"));
    assert_int_equal(vt_write_file_atomic(path, "12345", 5, &err), VT_OK);
    assert_int_equal(vt_file_size(path, &size, &err), VT_OK);
    assert_int_equal(size, 5);
    unlink(path);
    assert_int_equal(vt_file_size(path, &size, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, path));
    tmpdir_remove(dir);
}

static void utc_stamp_has_the_format(void **state)
{
    (void)state;
    char buf[32];
    vt_utc_stamp(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ");
    assert_int_equal(strlen(buf), 20);
    assert_true(buf[4] == '-' && buf[10] == 'T' && buf[19] == 'Z');
    assert_true(strncmp(buf, "20", 2) == 0);
}

static void thousands_separators(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(vt_fmt_thousands(buf, sizeof buf, 34006948), "34,006,948");
    assert_string_equal(vt_fmt_thousands(buf, sizeof buf, 0), "0");
    assert_string_equal(vt_fmt_thousands(buf, sizeof buf, 999), "999");
    assert_string_equal(vt_fmt_thousands(buf, sizeof buf, 1000), "1,000");
    assert_string_equal(vt_fmt_thousands(buf, sizeof buf, -1234567), "-1,234,567");
}

static void parsing_rejects_garbage(void **state)
{
    (void)state;
    long l;
    double d;
    assert_int_equal(vt_parse_long("32", 1, 100, &l), 0);
    assert_int_equal(l, 32);
    assert_int_equal(vt_parse_long("32x", 1, 100, &l), -1);
    assert_int_equal(vt_parse_long("", 1, 100, &l), -1);
    assert_int_equal(vt_parse_long("0", 1, 100, &l), -1);
    assert_int_equal(vt_parse_double("0.01", 0, 10, &d), 0);
    assert_true(d == 0.01);
    assert_int_equal(vt_parse_double("nan", 0, 10, &d), -1);
    assert_int_equal(vt_parse_double("-1", 0, 10, &d), -1);
}


/* The statuses the man page documents: 0 success, 1 a system or internal error, 2 a usage or data error. */
static void exit_statuses_as_documented(void **state)
{
    (void)state;
    assert_int_equal(vt_exit_status(VT_OK), 0);
    assert_int_equal(vt_exit_status(VT_EIO), 1);
    assert_int_equal(vt_exit_status(VT_EUSAGE), 2);
    assert_int_equal(vt_exit_status(VT_EINTERNAL), 1);
    vt_err err;
    long v;
    assert_int_equal(vt_flag_long("--top", "7", 1, 10, &v, &err), VT_OK);
    assert_int_equal(v, 7);
    assert_int_equal(vt_flag_long("--top", "x", 1, 10, &v, &err), VT_EUSAGE);
    assert_string_equal(err.msg, "--top: 'x' is not a whole number in 1..10");
    assert_int_equal(vt_exit_status(VT_ESIGINT), 130);
    assert_int_equal(vt_exit_status(VT_ESIGTERM), 143);
    assert_int_equal(vt_signal_code(SIGINT), VT_ESIGINT);
    assert_int_equal(vt_signal_code(SIGTERM), VT_ESIGTERM);
}

/* The flag parsers every command shares: the value in range is taken, anything else is VT_EUSAGE with one
 * line naming the flag, and the output is left alone. */
static void flag_parsers_check_ranges(void **state)
{
    (void)state;
    vt_err err;
    int i = -7;
    assert_int_equal(vt_flag_int("--digits", "10", 0, 10, &i, &err), VT_OK);
    assert_int_equal(i, 10);
    assert_int_equal(vt_flag_int("--digits", "11", 0, 10, &i, &err), VT_EUSAGE);
    assert_int_equal(vt_flag_int("--digits", "3x", 0, 10, &i, &err), VT_EUSAGE);
    assert_int_equal(vt_flag_int("--digits", "", 0, 10, &i, &err), VT_EUSAGE);
    assert_int_equal(i, 10);
    assert_string_equal(err.msg, "--digits: '' is not a whole number in 0..10");

    double d = -1;
    assert_int_equal(vt_flag_double("--wait", "0.5", 0, 86400, "a number of seconds", &d, &err), VT_OK);
    assert_true(d == 0.5);
    assert_int_equal(vt_flag_double("--wait", "-1", 0, 86400, "a number of seconds", &d, &err), VT_EUSAGE);
    assert_string_equal(err.msg, "--wait: '-1' is not a number of seconds in 0..86400");
    assert_int_equal(vt_flag_double("--wait", "nan", 0, 86400, NULL, &d, &err), VT_EUSAGE);
    assert_string_equal(err.msg, "--wait: 'nan' is not a number in 0..86400");
    assert_true(d == 0.5);

    static const char *const names[] = {"loss", "acc", "val_acc", NULL};
    int k = -1;
    assert_int_equal(vt_flag_choice("--metric", "val_acc", names, &k, &err), VT_OK);
    assert_int_equal(k, 2);
    assert_int_equal(vt_flag_choice("--metric", "val", names, &k, &err), VT_EUSAGE);
    assert_string_equal(err.msg, "--metric: 'val' is not one of loss, acc, val_acc");
    assert_int_equal(k, 2);

    const char *p = NULL;
    assert_int_equal(vt_flag_path("--data", "d", &p, &err), VT_OK);
    assert_string_equal(p, "d");
    assert_int_equal(vt_flag_path("--data", "", &p, &err), VT_OK); /* the CLI refuses it first (cli_parse) */
    assert_string_equal(p, "");
    char *long_path = malloc(VT_PATH_MAX + 1);
    assert_non_null(long_path);
    memset(long_path, 'a', VT_PATH_MAX);
    long_path[VT_PATH_MAX] = '\0';
    assert_int_equal(vt_flag_path("--data", long_path, &p, &err), VT_EUSAGE);
    long_path[VT_PATH_MAX - 1] = '\0';
    assert_int_equal(vt_flag_path("--data", long_path, &p, &err), VT_OK);
    free(long_path);
}

/* Keras' Progbar, by hand from its source: '%d' of a float truncates, the ranges compare the float. */
static void keras_progress_formats(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(vt_fmt_eta(buf, sizeof buf, 59.7), "59s");
    assert_string_equal(vt_fmt_eta(buf, sizeof buf, 60.5), "1:00");
    assert_string_equal(vt_fmt_eta(buf, sizeof buf, 3600.5), "1:00:00");
    assert_string_equal(vt_fmt_eta(buf, sizeof buf, -3), "0s");
    assert_string_equal(vt_fmt_per_unit(buf, sizeof buf, 0.035, "sample"), "35ms/sample");
    assert_string_equal(vt_fmt_per_unit(buf, sizeof buf, 0, "step"), "0s/step");
    /* metrics: 4 decimals, scientific where 4 decimals would say 0.0000, "-" before the first batch */
    assert_string_equal(vt_fmt_metric(buf, sizeof buf, 0.12345), "0.1235");
    assert_string_equal(vt_fmt_metric(buf, sizeof buf, 3.8e-05), "3.8000e-05");
    assert_string_equal(vt_fmt_metric(buf, sizeof buf, 0), "0.0000");
    assert_string_equal(vt_fmt_metric(buf, sizeof buf, NAN), "-");
    /* durations for the whole-run time left */
    assert_string_equal(vt_fmt_duration(buf, sizeof buf, 44.6), "45 s");
    assert_string_equal(vt_fmt_duration(buf, sizeof buf, 12 * 60 + 10), "12 min");
    assert_string_equal(vt_fmt_duration(buf, sizeof buf, 3599), "1 h");
    assert_string_equal(vt_fmt_duration(buf, sizeof buf, 4800), "1 h 20 min");
    assert_string_equal(vt_fmt_duration(buf, sizeof buf, 2 * 86400 + 3 * 3600 + 100), "2 d 3 h");
    assert_string_equal(vt_fmt_duration(buf, sizeof buf, NAN), "-");
    assert_int_equal(vt_fmt_progbar(buf, sizeof buf, 5, 10, 10), (int)strlen(" 5/10 [====>.....]"));
    assert_string_equal(buf, " 5/10 [====>.....]");
    vt_fmt_progbar(buf, sizeof buf, 10, 10, 4);
    assert_string_equal(buf, "10/10 [====]");
    /* A buffer too small is cut, never overrun. */
    char tiny[8];
    vt_fmt_progbar(tiny, sizeof tiny, 5, 10, 10);
    assert_true(strlen(tiny) < sizeof tiny);
}

static void bytes_and_transfer_lines(void **state)
{
    (void)state;
    char b[32], buf[256];
    assert_string_equal(vt_fmt_bytes(b, sizeof b, 0), "0 B");
    assert_string_equal(vt_fmt_bytes(b, sizeof b, 999), "999 B");
    assert_string_equal(vt_fmt_bytes(b, sizeof b, 40200), "40.2 kB");
    assert_string_equal(vt_fmt_bytes(b, sizeof b, 168513733), "168.5 MB");
    assert_string_equal(vt_fmt_bytes(b, sizeof b, 1500000000LL), "1.50 GB");
    /* 42,128,434 of 168,513,733 bytes (a quarter, rounded up; percent and bar truncate): 2 cells of 10, so
     * '=', '>' then 8 dots, as Keras' bar. */
    assert_string_equal(vt_fmt_transfer(buf, sizeof buf, 42128434, 168513733, 5.2e6, 24.3, 10),
                        "[=>........]  25%  42.1 MB of 168.5 MB, 5.2 MB/s, ETA: 24s");
    assert_string_equal(vt_fmt_transfer(buf, sizeof buf, 168513733, 168513733, 5.2e6, 0, 4),
                        "[====] 100%  168.5 MB of 168.5 MB, 5.2 MB/s");
    /* No bar for a log; no total known; no rate yet. */
    assert_string_equal(vt_fmt_transfer(buf, sizeof buf, 500, 1000, 0, -1, 0), " 50%  500 B of 1.0 kB");
    assert_string_equal(vt_fmt_transfer(buf, sizeof buf, 2500000, 0, 1e6, 3, 10), "2.5 MB, 1.0 MB/s");
    /* A small buffer is cut, never overrun. */
    char small[8];
    assert_true(strlen(vt_fmt_transfer(small, sizeof small, 1, 2, 1, 1, 30)) < sizeof small);
}

static void growing_strings(void **state)
{
    (void)state;
    vt_buf b = {0};
    char *empty = vt_buf_take(&b);
    assert_string_equal(empty, "");
    free(empty);
    for (int i = 0; i < 1000; i++)
        vt_buf_printf(&b, "%d,", i % 10);
    vt_buf_add(&b, "end");
    char *s = vt_buf_take(&b);
    assert_int_equal(strlen(s), 2003);
    assert_memory_equal(s, "0,1,2,", 6);
    assert_string_equal(s + 2000, "end");
    free(s);
    assert_null(b.s);
    /* man page text: a minus the reader can type, a backslash that prints as one */
    vt_buf_roff(&b, "--run-dir a\\b");
    s = vt_buf_take(&b);
    assert_string_equal(s, "\\-\\-run\\-dir a\\eb");
    free(s);
}

static void wake_pipe_wakes_and_drains(void **state)
{
    (void)state;
    int fds[2];
    vt_err err;
    assert_int_equal(vt_wake_open(fds, &err), VT_OK);
    assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(fds[1], F_GETFL) & O_NONBLOCK);
    assert_int_equal(vt_wake_signal(fds), 1);
    struct pollfd p = {fds[0], POLLIN, 0};
    assert_int_equal(poll(&p, 1, 0), 1);
    vt_wake_drain(fds);
    assert_int_equal(poll(&p, 1, 0), 0);
    vt_wake_close(fds);
}


static void special_files_are_refused_at_once(void **state)
{
    (void)state;
    char dir[TMPDIR_SIZE];
    assert_int_equal(tmpdir_make(dir, "util"), 0);
    char fifo[TMPDIR_SIZE + 8], big[TMPDIR_SIZE + 8], loop[TMPDIR_SIZE + 8];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(big, sizeof big, "%s/big", dir);
    snprintf(loop, sizeof loop, "%s/loop", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(symlink(loop, loop), 0);
    assert_int_equal(vt_write_file_atomic(big, "0123456789", 10, NULL), VT_OK);
    vt_err err;
    char *data;
    /* A FIFO with no writer would block a plain open forever: this returns at once, naming it. */
    assert_int_equal(vt_read_file(fifo, 0, &data, NULL, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "is a FIFO"));
    assert_int_equal(vt_read_file("/dev/zero", 0, &data, NULL, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "character device"));
    assert_int_equal(vt_read_file(dir, 0, &data, NULL, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "is a directory"));
    assert_int_equal(vt_read_file(loop, 0, &data, NULL, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "loop of symbolic links"));
    assert_int_equal(vt_read_file(big, 9, &data, NULL, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "too large: 10 bytes"));
    size_t len;
    assert_int_equal(vt_read_file(big, 10, &data, &len, &err), VT_OK);
    assert_int_equal(len, 10);
    free(data);
    tmpdir_remove(dir);
}

static void labels_must_be_printable_utf8(void **state)
{
    (void)state;
    char why[128];
    assert_int_equal(vt_check_label("apple", why, sizeof why), 0);
    assert_int_equal(vt_check_label("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x8d\x8e", why, sizeof why), 0);
    assert_int_equal(vt_check_label("x\x1b]0;t\x07", why, sizeof why), -1);
    assert_string_equal(why, "byte 2 is a control character (0x1b)");
    assert_int_equal(vt_check_label("\x7f", why, sizeof why), -1);
    assert_int_equal(vt_check_label("\xc2\x9b", why, sizeof why), -1); /* C1 CSI */
    assert_int_equal(vt_check_label("ab\xff", why, sizeof why), -1);
    assert_string_equal(why, "byte 3 (0xff) is not UTF-8");
    assert_int_equal(vt_check_label("\xc3", why, sizeof why), -1);     /* cut short */
    assert_int_equal(vt_check_label("\xc0\xaf", why, sizeof why), -1); /* overlong '/' */
    assert_int_equal(vt_check_label("\xed\xa0\x80", why, sizeof why), -1); /* a surrogate */
    char longer[VT_MAX_LABEL + 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(vt_check_label(longer, why, sizeof why), -1);
    char shown[] = "ok\x1b[2J\xff!";
    vt_scrub_text(shown);
    assert_string_equal(shown, "ok?[2J?!");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rng_same_seed_same_stream),
        cmocka_unit_test(rng_below_is_in_range_and_covers),
        cmocka_unit_test(atomic_write_replaces_whole_file),
        cmocka_unit_test(read_missing_file_names_it),
        cmocka_unit_test(file_size_names_what_is_wrong),
        cmocka_unit_test(utc_stamp_has_the_format),
        cmocka_unit_test(thousands_separators),
        cmocka_unit_test(parsing_rejects_garbage),
        cmocka_unit_test(exit_statuses_as_documented),
        cmocka_unit_test(flag_parsers_check_ranges),
        cmocka_unit_test(keras_progress_formats),
        cmocka_unit_test(bytes_and_transfer_lines),
        cmocka_unit_test(growing_strings),
        cmocka_unit_test(wake_pipe_wakes_and_drains),
        cmocka_unit_test(special_files_are_refused_at_once),
        cmocka_unit_test(labels_must_be_printable_utf8),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
