/* wire: an Ethernet switch in one process, with a cable delay and a line rate, for the multi-host tests
 * (tests/e2e/lib/netns.sh) on kernels without netem.
 *
 *     wire [--delay-us D] [--gbit G] TAP...
 *
 * Makes one tap device per name (gone again when wire exits), says "ready" on stdout, and then forwards
 * every frame read from one tap to the tap its destination MAC was last seen on (to every other tap when
 * unknown or broadcast), D microseconds after it arrived and no sooner than the output port has sent the
 * frames before it at G Gbit/s (0: no rate limit). Runs until SIGTERM or SIGINT. Not part of vggtop: a test
 * tool, built by `make test` where it is used. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 8
#define FRAME_MAX 65600
#define MAC_SLOTS 64

typedef struct frame {
    struct frame *next;
    double due;
    size_t len;
    unsigned char data[];
} frame;

typedef struct {
    int fd;
    frame *head, *tail; /* frames waiting to go out of this port, in order of their due times */
    double free_at;     /* when the port has sent the last frame queued */
} port;

static volatile sig_atomic_t stop;
static void on_signal(int sig) { stop = sig; }

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int tap_open(const char *name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static struct {
    unsigned char mac[6];
    int port;
} macs[MAC_SLOTS];
static int nmacs;

static int mac_port(const unsigned char *mac)
{
    for (int i = 0; i < nmacs; i++)
        if (memcmp(macs[i].mac, mac, 6) == 0)
            return macs[i].port;
    return -1;
}

static void mac_learn(const unsigned char *mac, int p)
{
    if (mac[0] & 1)
        return; /* a multicast source is no station */
    for (int i = 0; i < nmacs; i++)
        if (memcmp(macs[i].mac, mac, 6) == 0) {
            macs[i].port = p;
            return;
        }
    if (nmacs < MAC_SLOTS) {
        memcpy(macs[nmacs].mac, mac, 6);
        macs[nmacs++].port = p;
    }
}

static void enqueue(port *o, const unsigned char *data, size_t len, double arrived, double delay, double gbit)
{
    frame *f = malloc(sizeof *f + len);
    if (!f)
        return; /* dropped, as a full switch would */
    memcpy(f->data, data, len);
    f->len = len;
    f->next = NULL;
    double start = arrived > o->free_at ? arrived : o->free_at;
    o->free_at = start + (gbit > 0 ? 8.0 * (double)len / (gbit * 1e9) : 0.0);
    f->due = o->free_at + delay;
    if (o->tail)
        o->tail->next = f;
    else
        o->head = f;
    o->tail = f;
}

int main(int argc, char **argv)
{
    double delay = 0, gbit = 0;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        char *end;
        double v = strtod(argv[i + 1], &end);
        if (*end || v < 0 || v > 1e7) {
            fprintf(stderr, "wire: %s: '%s' is not a number in 0..1e7\n", argv[i], argv[i + 1]);
            return 2;
        }
        if (strcmp(argv[i], "--delay-us") == 0)
            delay = v * 1e-6;
        else if (strcmp(argv[i], "--gbit") == 0)
            gbit = v;
        else {
            fprintf(stderr, "wire: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    int n = argc - i;
    if (n < 2 || n > MAX_PORTS) {
        fprintf(stderr, "usage: wire [--delay-us D] [--gbit G] TAP TAP [TAP...] (2 to %d taps)\n", MAX_PORTS);
        return 2;
    }
    port ports[MAX_PORTS];
    struct pollfd pfd[MAX_PORTS];
    memset(ports, 0, sizeof ports);
    for (int p = 0; p < n; p++) {
        if ((ports[p].fd = tap_open(argv[i + p])) < 0) {
            fprintf(stderr, "wire: cannot make tap %s: %s\n", argv[i + p], strerror(errno));
            return 1;
        }
        pfd[p].fd = ports[p].fd;
    }
    prctl(PR_SET_TIMERSLACK, 1UL); /* wake for a frame when it is due, not up to 50 us later */
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("ready\n");
    fflush(stdout);
    static unsigned char buf[FRAME_MAX];
    while (!stop) {
        /* Sleep until a frame comes in or the next one is due. */
        double next = -1, t = now();
        for (int p = 0; p < n; p++)
            if (ports[p].head && (next < 0 || ports[p].head->due < next))
                next = ports[p].head->due;
        struct timespec ts, *tp = NULL;
        if (next >= 0) {
            double wait = next > t ? next - t : 0;
            ts.tv_sec = (time_t)wait;
            ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
            tp = &ts;
        }
        for (int p = 0; p < n; p++)
            pfd[p].events = POLLIN;
        if (ppoll(pfd, (nfds_t)n, tp, NULL) < 0 && errno != EINTR)
            break;
        t = now();
        for (int p = 0; p < n; p++) {
            ssize_t len;
            while ((pfd[p].revents & POLLIN) && (len = read(ports[p].fd, buf, sizeof buf)) >= 14) {
                mac_learn(buf + 6, p);
                int to = buf[0] & 1 ? -1 : mac_port(buf);
                for (int q = 0; q < n; q++)
                    if (q != p && (to < 0 || to == q))
                        enqueue(&ports[q], buf, (size_t)len, t, delay, gbit);
            }
        }
        for (int p = 0; p < n; p++)
            while (ports[p].head && ports[p].head->due <= t) {
                frame *f = ports[p].head;
                if (write(ports[p].fd, f->data, f->len) < 0 && errno == EAGAIN)
                    break; /* the host's queue is full: try again at the next turn */
                ports[p].head = f->next;
                if (!ports[p].head)
                    ports[p].tail = NULL;
                free(f);
            }
    }
    return 0;
}
