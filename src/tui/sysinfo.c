/* tui/sysinfo: the machine beside a run, for the Dashboard's system line: the training process's CPU use per
 * core, its resident memory and thread count, from /proc (/proc/<pid>/task/<tid>/stat and
 * /proc/<pid>/status). Sampling reads a few small files; the UI does it on its own clock, about once a
 * second, never inside a draw. The parsers are pure, for the tests. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vggtop/tui.h"

int tui_parse_stat(const char *line, long long *ticks, int *cpu)
{
    /* "tid (comm) state ppid ...": comm may hold spaces and parentheses, so fields count from the last ')'.
     * utime and stime are fields 14 and 15, processor field 39 (proc(5)). */
    const char *p = strrchr(line, ')');
    if (!p)
        return -1;
    p++;
    long long utime = 0, stime = 0;
    int processor = -1;
    for (int field = 3; field <= 39; field++) {
        while (*p == ' ')
            p++;
        if (!*p)
            return -1;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (field == 14)
            utime = v;
        else if (field == 15)
            stime = v;
        else if (field == 39)
            processor = (int)v;
        if (field > 3 && end == p)
            return -1; /* every field after the state is a number */
        p = field == 3 ? p + 1 : end;
    }
    if (utime < 0 || stime < 0 || processor < 0)
        return -1;
    *ticks = utime + stime;
    *cpu = processor;
    return 0;
}

int tui_parse_status(const char *text, long *rss_kb, int *threads)
{
    *rss_kb = -1;
    *threads = -1;
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            *rss_kb = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "Threads:", 8) == 0)
            *threads = (int)strtol(line + 8, NULL, 10);
    }
    return *rss_kb >= 0 && *threads >= 0 ? 0 : -1;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int tui_sysinfo_sample(long pid, tui_sysinfo_prev *prev, tui_sysinfo *out)
{
    memset(out, 0, sizeof *out);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    out->cores = cores > 0 && cores <= TUI_SYS_MAX_CORES ? (int)cores : TUI_SYS_MAX_CORES;
    char path[96], *text;
    vt_err ignored;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    if (pid <= 0 || vt_read_file(path, 1 << 16, &text, NULL, &ignored) != VT_OK)
        return -1;
    int rc = tui_parse_status(text, &out->rss_kb, &out->threads);
    free(text);
    if (rc)
        return -1;
    /* Each thread's CPU time since the last sample, put on the core it last ran on. */
    long long ticks[TUI_SYS_MAX_CORES] = {0};
    snprintf(path, sizeof path, "/proc/%ld/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char stat_path[128];
        snprintf(stat_path, sizeof stat_path, "/proc/%ld/task/%.20s/stat", pid, e->d_name);
        long long t;
        int cpu;
        if (vt_read_file(stat_path, 1 << 12, &text, NULL, &ignored) != VT_OK)
            continue; /* a thread that ended meanwhile */
        if (tui_parse_stat(text, &t, &cpu) == 0 && cpu < TUI_SYS_MAX_CORES)
            ticks[cpu] += t;
        free(text);
    }
    closedir(d);
    double now = seconds_now(), hz = (double)sysconf(_SC_CLK_TCK);
    if (prev->valid && prev->pid == pid && now > prev->t && hz > 0) {
        /* A thread moving between cores shifts ticks from one to another: per-core shares are approximate, the
         * total is exact; none goes below 0 or above 1. */
        double span = (now - prev->t) * hz;
        for (int c = 0; c < out->cores; c++) {
            double share = (double)(ticks[c] - prev->ticks[c]) / span;
            out->cpu[c] = share < 0 ? 0 : share > 1 ? 1 : share;
            out->cpu_total += out->cpu[c];
        }
        out->has_cpu = 1;
    }
    memcpy(prev->ticks, ticks, sizeof ticks);
    prev->t = now;
    prev->pid = pid;
    prev->valid = 1;
    return 0;
}

char *tui_sysinfo_line(char *buf, size_t size, const tui_sysinfo *s, double img_per_s)
{
    size_t n = 0;
    buf[0] = '\0';
    if (s->has_cpu) {
        n += (size_t)snprintf(buf + n, size - n, "cpu");
        for (int c = 0; c < s->cores && n < size; c++)
            n += (size_t)snprintf(buf + n, size - n, " %.0f%%", 100 * s->cpu[c]);
        if (n < size)
            n += (size_t)snprintf(buf + n, size - n, " - ");
    }
    if (n < size)
        n += (size_t)snprintf(buf + n, size - n, "rss %.0f MiB - %d threads", (double)s->rss_kb / 1024, s->threads);
    if (img_per_s >= 0 && n < size)
        snprintf(buf + n, size - n, " - %.0f img/s over the last minute", img_per_s);
    return buf;
}
