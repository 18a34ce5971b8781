/* tap_check.c — berth_network_attach_tap (issue 16) through the C ABI: fd custody hands back one
 * O_CLOEXEC fd per queue that carries the guest's frames (an ARP request for the gateway is
 * answered on them), the TAP dies with the last fd, persistent custody returns no fd and detach
 * removes the TAP; bad input is a typed status and changes nothing.
 * Run:  tap_check HOST_NETNS_PATH STATE_DIR  (BERTH_BACKEND picks the backend), inside a sandbox
 * namespace (scripts/test-c-abi.sh). Prints one line per check; exit status 0 = all passed. */
#define _GNU_SOURCE
#include <berth.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;
#define CHECK(cond, what) do { int ok_ = (cond); printf("%s %s\n", ok_ ? "ok  " : "FAIL", what); if (!ok_) failures++; } while (0)

static berth_error *err;
static void expect(berth_status got, berth_status want, const char *what) {
    char line[512];
    snprintf(line, sizeof line, "%s -> %s (got %s%s%s)", what, berth_status_name(want), berth_status_name(got),
             err ? ": " : "", err ? berth_error_message(err) : "");
    CHECK(got == want, line);
    berth_error_free(err);
    err = NULL;
}

/* The guest: ARP who-has 10.83.0.1 from 02:42:0a:53:00:02 / 10.83.0.2, with a zero virtio_net_hdr. */
static int arp_answered(int *fds, size_t n) {
    unsigned char frame[10 + 42] = {0};
    unsigned char mac[6] = {0x02, 0x42, 0x0a, 0x53, 0x00, 0x02};
    unsigned char *f = frame + 10;
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08; f[13] = 0x06; f[14] = 0; f[15] = 1; f[16] = 0x08; f[17] = 0; f[18] = 6; f[19] = 4; f[20] = 0; f[21] = 1;
    memcpy(f + 22, mac, 6);
    f[28] = 10; f[29] = 83; f[30] = 0; f[31] = 2;
    f[38] = 10; f[39] = 83; f[40] = 0; f[41] = 1;
    for (int attempt = 0; attempt < 3; attempt++) {
        if (write(fds[0], frame, sizeof frame) != (ssize_t)sizeof frame) return 0;
        for (int round = 0; round < 20; round++) {
            struct pollfd p[8];
            for (size_t i = 0; i < n; i++) { p[i].fd = fds[i]; p[i].events = POLLIN; p[i].revents = 0; }
            if (poll(p, n, 100) <= 0) continue;
            for (size_t i = 0; i < n; i++) {
                unsigned char buf[2048];
                if (!(p[i].revents & POLLIN)) continue;
                ssize_t got = read(fds[i], buf, sizeof buf);
                unsigned char *r = buf + 10;
                if (got >= 10 + 42 && r[12] == 0x08 && r[13] == 0x06 && r[21] == 2 && r[28] == 10 && r[29] == 83 && r[31] == 1) return 1;
            }
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *host = argc > 1 ? argv[1] : NULL, *state = argc > 2 ? argv[2] : NULL;
    berth_controller *ctrl = NULL;
    char *json = NULL, id[80] = "", path[128];
    const char *p;
    int fds[4] = {-1, -1, -1, -1};
    size_t n = 4;
    bool detached = false;

    expect(berth_controller_open(state, getenv("BERTH_BACKEND"), host, &ctrl, &err), BERTH_OK, "open");
    if (ctrl == NULL) return 1;
    expect(berth_network_create(ctrl, "vms", "{\"subnet\":\"10.83.0.0/24\"}", NULL, &err), BERTH_OK, "create network vms");

    /* Bad input: nothing attached, no fd written. */
    n = 1;
    expect(berth_network_attach_tap(ctrl, "vms", "{\"name\":\"ctap\",\"custody\":\"fd\",\"queues\":2}", NULL, fds, &n, &err),
           BERTH_ERR_INVALID_ARGUMENT, "fd custody with room for 1 fd and 2 queues");
    CHECK(n == 0 && fds[0] == -1, "no fd written on failure");
    expect(berth_network_attach_tap(ctrl, "vms", "{\"name\":\"a-tap-name-too-long\"}", NULL, NULL, NULL, &err),
           BERTH_ERR_INVALID_INTERFACE_NAME, "name longer than 15 bytes");
    expect(berth_network_attach_tap(ctrl, "vms", "{\"name\":\"ctap\",\"queues\":0}", NULL, NULL, NULL, &err),
           BERTH_ERR_INVALID_ARGUMENT, "queues 0");
    expect(berth_network_attach_tap(ctrl, "vms", NULL, NULL, NULL, NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "NULL tap_json");
    expect(berth_network_attach_tap(ctrl, "nope", "{\"name\":\"ctap\"}", NULL, NULL, NULL, &err), BERTH_ERR_NETWORK_NOT_FOUND,
           "unknown network");

    /* fd custody, two queues. */
    n = 4;
    expect(berth_network_attach_tap(ctrl, "vms", "{\"name\":\"ctap\",\"custody\":\"fd\",\"queues\":2}", &json, fds, &n, &err),
           BERTH_OK, "attach tap ctap, fd custody, 2 queues");
    CHECK(n == 2 && fds[0] >= 0 && fds[1] >= 0, "two fds returned");
    CHECK(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, "fds are close-on-exec");
    CHECK(json != NULL && strstr(json, "\"boot_parameter\":\"ip=10.83.0.2::10.83.0.1:255.255.255.0::eth0:off\"") != NULL,
          "guest boot_parameter");
    CHECK(json != NULL && strstr(json, "\"mac\":\"02:42:0a:53:00:02\"") != NULL, "guest MAC 02:42 + IPv4");
    if (json != NULL && (p = strstr(json, "\"id\":\"")) != NULL) { memcpy(id, p + 6, 64); id[64] = '\0'; }
    berth_free(json);
    json = NULL;
    CHECK(arp_answered(fds, n), "ARP for the gateway answered on the custody fds");
    /* A second attach of the name, single-queue: the kernel's flag mismatch, typed. */
    expect(berth_network_attach_tap(ctrl, "vms", "{\"name\":\"ctap\"}", NULL, NULL, NULL, &err), BERTH_ERR_TAP_FLAG_MISMATCH,
           "second single-queue attach of a multiqueue TAP");
    close(fds[0]);
    close(fds[1]);
    expect(berth_network_detach(ctrl, id, &detached, &err), BERTH_OK, "detach after the TAP died with its fds");

    /* Persistent custody: no fd; the device is there until detach. */
    n = 4;
    expect(berth_network_attach_tap(ctrl, "vms", "{\"name\":\"ptap%d\",\"owner\":1000}", &json, fds, &n, &err), BERTH_OK,
           "attach tap ptap%d, persistent");
    CHECK(n == 0, "no fd in persistent custody");
    CHECK(json != NULL && strstr(json, "\"tap\":\"ptap0\"") != NULL, "template expanded to ptap0");
    if (json != NULL && (p = strstr(json, "\"id\":\"")) != NULL) { memcpy(id, p + 6, 64); id[64] = '\0'; }
    berth_free(json);
    json = NULL;
    expect(berth_network_detach(ctrl, id, &detached, &err), BERTH_OK, "detach ptap0");
    CHECK(detached, "released");
    snprintf(path, sizeof path, "ip -n %s link show ptap0 >/dev/null 2>&1", strrchr(host, '/') + 1);
    CHECK(system(path) != 0, "ptap0 is gone");
    /* tc-redirect mode into a netns made here (ip netns add), the guest on the veth's identity. */
    CHECK(system("ip netns add tapcjail") == 0, "ip netns add tapcjail");
    n = 4;
    expect(berth_network_attach_tap(ctrl, "vms", "{\"name\":\"rtap\",\"sandbox\":\"tapcjail\",\"custody\":\"fd\"}", &json, fds, &n, &err),
           BERTH_OK, "attach tap rtap in tc-redirect mode");
    CHECK(n == 1, "one fd");
    CHECK(system("tc -n tapcjail filter show dev eth0 ingress | grep -q 'Egress Redirect to device rtap'") == 0,
          "tc shows eth0 ingress redirected to rtap");
    if (json != NULL && (p = strstr(json, "\"id\":\"")) != NULL) { memcpy(id, p + 6, 64); id[64] = '\0'; }
    berth_free(json);
    json = NULL;
    CHECK(arp_answered(fds, n), "ARP for the gateway answered through the redirect");
    expect(berth_network_detach(ctrl, id, &detached, &err), BERTH_OK, "detach rtap");
    if (n == 1) close(fds[0]);
    CHECK(system("ip -n tapcjail link show rtap >/dev/null 2>&1") != 0, "rtap is gone");
    CHECK(system("ip netns del tapcjail") == 0, "ip netns del tapcjail");
    expect(berth_network_delete(ctrl, "vms", false, &err), BERTH_OK, "delete network");
    berth_controller_close(ctrl);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
