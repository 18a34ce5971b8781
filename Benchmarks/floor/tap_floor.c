/* tap_floor.c — issue 16: the kernel and disk floors under a library TAP attach, in the same
 * sandbox and run (inside `unshare --net --mount`). Times, per iteration (CLOCK_MONOTONIC, µs):
 *   tunsetiff: open(/dev/net/tun, O_CLOEXEC) + TUNSETIFF(IFF_TAP|IFF_NO_PI|IFF_VNET_HDR) +
 *              TUNSETPERSIST 1 + close          (the device's creation; deleted unmeasured)
 *   record:    write a 1 KiB file, fsync, rename, fsync the directory (what a state record costs)
 * Build: gcc -O2 -o tap_floor tap_floor.c; run: tap_floor [N] [DIR]  (default 200, /tmp)
 * Prints median and p90 of each. The netlink part (master/mtu/up) is the attach floor's. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, int n) {
    qsort(v, n, sizeof *v, cmp);
    printf("%s: n=%d median %.0f us p90 %.0f us\n", name, n, v[n / 2], v[n * 9 / 10]);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 200;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    double *tun = calloc(n, sizeof *tun), *rec = calloc(n, sizeof *rec);
    char buf[1024], path[512], tmp[512];
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < n; i++) {
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
        snprintf(ifr.ifr_name, IFNAMSIZ, "flt%d", i % 8);
        double t0 = now_us();
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0 || ioctl(fd, TUNSETPERSIST, 1UL) != 0) { perror("tun"); return 1; }
        close(fd);
        tun[i] = now_us() - t0;
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);  /* unmeasured: make it non-persistent, it goes on close */
        if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0 || ioctl(fd, TUNSETPERSIST, 0UL) != 0) { perror("tun del"); return 1; }
        close(fd);

        snprintf(path, sizeof path, "%s/tap_floor.json", dir);
        snprintf(tmp, sizeof tmp, "%s/.tap_floor.json.%d.tmp", dir, getpid());
        t0 = now_us();
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf || fsync(fd) != 0) { perror("record"); return 1; }
        close(fd);
        if (rename(tmp, path) != 0) { perror("rename"); return 1; }
        int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0 || fsync(d) != 0) { perror("dir fsync"); return 1; }
        close(d);
        rec[i] = now_us() - t0;
    }
    unlink(path);
    report("tunsetiff+persist+close", tun, n);
    report("record write+fsync+rename+dir fsync", rec, n);
    return 0;
}
