// berth_c_probe.c — the "Berth through the C ABI" contestant of compare-peers.sh: the same loop as
// `BerthProbe loop`, but through include/berth.h (libberth).
//
//   usage: berth_c_probe STATE BACKEND HOSTNS NETWORK PREFIX FROM TO
//
// Opens a controller (printed as "open 0 <us>"), then for i in FROM..TO attaches the sandbox named
// PREFIX<i> to NETWORK and detaches the endpoint again (by the ID from the attach's JSON), printing
// "attach <i> <us>" and "detach <i> <us>" (CLOCK_MONOTONIC). Refuses to run unless BERTH_SANDBOX=1
// and outside the machine's own network namespace (kthreadd's, pid 2).
//
// build: cc -O2 -Wall -I../include berth_c_probe.c -L<dir of libBerthC.so> -lBerthC -Wl,-rpath,<dir>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "berth.h"

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *what, berth_status st, berth_error *err) {
    fprintf(stderr, "berth_c_probe: %s: %s: %s\n", what, berth_status_name(st), berth_error_message(err));
    berth_error_free(err);
    exit(1);
}

// Copies the value of the top-level "id" key of an endpoint object into `out`.
static int endpoint_id(const char *json, char *out, size_t size) {
    const char *p = strstr(json, "\"id\"");
    if (!p) return -1;
    p = strchr(p + 4, '"');
    if (!p) return -1;
    const char *end = strchr(++p, '"');
    if (!end || (size_t)(end - p) >= size) return -1;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = 0;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: berth_c_probe STATE BACKEND HOSTNS NETWORK PREFIX FROM TO\n");
        return 2;
    }
    const char *flag = getenv("BERTH_SANDBOX");
    struct stat mine, initial;
    if (!flag || strcmp(flag, "1") != 0 || stat("/proc/self/ns/net", &mine) != 0 ||
        (stat("/proc/2/ns/net", &initial) == 0 && initial.st_ino == mine.st_ino && initial.st_dev == mine.st_dev)) {
        fprintf(stderr, "berth_c_probe: refusing to run outside the sandbox\n");
        return 2;
    }
    int from = atoi(argv[6]), to = atoi(argv[7]);
    berth_controller *c = NULL;
    berth_error *err = NULL;
    uint64_t t0 = now_us();
    berth_status st = berth_controller_open(argv[1], argv[2], argv[3], &c, &err);
    if (st != BERTH_OK) die("open", st, err);
    uint64_t t1 = now_us();
    static char lines[1 << 20];
    size_t used = (size_t)snprintf(lines, sizeof lines, "open 0 %llu\n", (unsigned long long)(t1 - t0));
    char sandbox[256], id[128];
    for (int i = from; i <= to; i++) {
        snprintf(sandbox, sizeof sandbox, "%s%d", argv[5], i);
        char *json = NULL;
        uint64_t a = now_us();
        st = berth_network_attach(c, argv[4], sandbox, NULL, &json, &err);
        uint64_t b = now_us();
        if (st != BERTH_OK) die("attach", st, err);
        if (endpoint_id(json, id, sizeof id) != 0) { fprintf(stderr, "berth_c_probe: no id in %s\n", json); return 1; }
        berth_free(json);
        bool detached = false;
        uint64_t b2 = now_us();
        st = berth_network_detach(c, id, &detached, &err);
        uint64_t d = now_us();
        if (st != BERTH_OK || !detached) die("detach", st, err);
        if (used + 128 < sizeof lines)
            used += (size_t)snprintf(lines + used, sizeof lines - used, "attach %d %llu\ndetach %d %llu\n", i,
                                     (unsigned long long)(b - a), i, (unsigned long long)(d - b2));
    }
    berth_controller_close(c);
    fwrite(lines, 1, used, stdout);
    return 0;
}
