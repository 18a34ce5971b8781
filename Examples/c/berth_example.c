/*
 * berth_example.c — a C program using libberth the way a container runtime would:
 * open a controller, create a network, attach a sandbox (a named netns made with `ip netns add`),
 * check the kernel with `ip -j`, detach, delete, close.
 *
 * Build:  cc -std=c99 -o berth_example berth_example.c $(pkg-config --cflags --libs berth)
 * Run:    berth_example [HOST_NETNS_PATH [STATE_DIR]]
 *         (or env BERTH_HOST_NETNS_PATH, BERTH_STATE_DIR, BERTH_BACKEND; defaults: the caller's
 *         namespace, /var/lib/berth, iptables)
 *
 * It changes the network of the namespace it is given: run it inside a sandbox namespace
 * (`unshare --net --mount`), never on a machine whose network matters. Exit status 0 = all good.
 */
#define _POSIX_C_SOURCE 200809L
#include <berth.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NETWORK "cexample"
#define BRIDGE "br-cexample"
#define SANDBOX "berth-c-example"
#define SUBNET "10.77.0.0/24"
#define GATEWAY "10.77.0.1"
#define ADDRESS "10.77.0.10"

static const char *host_path; /* NULL = our own namespace */
static int failures;

static void check(int ok, const char *what) {
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) failures++;
}

/* Prints a failed call's error and frees it. */
static void report(const char *call, berth_status st, berth_error *err) {
    fprintf(stderr, "%s: %s (%d): %s [operation '%s', object '%s', errno %d]\n", call, berth_status_name(st), (int)st,
            berth_error_message(err), berth_error_operation(err), berth_error_object(err), (int)berth_error_errno(err));
    berth_error_free(err);
}

/* Runs a command and returns its standard output (malloc'ed, "" on failure). */
static char *run(const char *command) {
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    FILE *p;
    if (out == NULL) return NULL;
    out[0] = '\0';
    p = popen(command, "r");
    if (p == NULL) return out;
    for (;;) {
        size_t n;
        if (cap - len < 1024) {
            char *bigger = realloc(out, cap * 2);
            if (bigger == NULL) break;
            out = bigger;
            cap *= 2;
        }
        n = fread(out + len, 1, cap - len - 1, p);
        if (n == 0) break;
        len += n;
        out[len] = '\0';
    }
    pclose(p);
    return out;
}

/* `ip -j ARGS` in the host namespace (Berth's, which may not be ours). */
static char *host_ip(const char *args) {
    char command[1024];
    if (host_path != NULL)
        snprintf(command, sizeof command, "nsenter --net='%s' ip -j %s 2>/dev/null", host_path, args);
    else
        snprintf(command, sizeof command, "ip -j %s 2>/dev/null", args);
    return run(command);
}

/* `ip -j ARGS` inside the sandbox. */
static char *sandbox_ip(const char *args) {
    char command[1024];
    snprintf(command, sizeof command, "ip -n " SANDBOX " -j %s 2>/dev/null", args);
    return run(command);
}

static int contains(char *text, const char *needle) {
    int found = text != NULL && strstr(text, needle) != NULL;
    free(text);
    return found;
}

/* Copies the string value of "key" out of a flat JSON object (enough for this example). */
static int json_string(const char *json, const char *key, char *out, size_t size) {
    char pattern[64];
    const char *start, *end;
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    start = strstr(json, pattern);
    if (start == NULL) return 0;
    start += strlen(pattern);
    end = strchr(start, '"');
    if (end == NULL || (size_t)(end - start) >= size) return 0;
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = '\0';
    return 1;
}

int main(int argc, char **argv) {
    const char *state_dir = argc > 2 ? argv[2] : getenv("BERTH_STATE_DIR");
    const char *backend = getenv("BERTH_BACKEND");
    berth_controller *ctrl = NULL;
    berth_error *err = NULL;
    berth_status st;
    char *json = NULL;
    char endpoint_id[80] = "", veth[32] = "", probe[128];
    bool detached = false;

    host_path = argc > 1 ? argv[1] : getenv("BERTH_HOST_NETNS_PATH");
    if (host_path != NULL && host_path[0] == '\0') host_path = NULL;

    printf("libberth ABI %u (header %d)\n", (unsigned)berth_abi_version(), BERTH_ABI_VERSION);
    check(berth_abi_version() >= BERTH_ABI_VERSION, "library ABI is at least the header's");

    /* Open (touches nothing), then Docker's host set-up as an explicit step (the first change
     * would otherwise run it). */
    st = berth_controller_open(state_dir, backend, host_path, &ctrl, &err);
    if (st != BERTH_OK) {
        report("berth_controller_open", st, err);
        return 1;
    }
    st = berth_host_setup(ctrl, &err);
    if (st != BERTH_OK) {
        report("berth_host_setup", st, err);
        return 1;
    }
    check(berth_reconcile(ctrl, NULL) == BERTH_OK, "reconcile on a fresh host");
    check(contains(host_ip("addr show dev docker0"), "172.17.0.1"), "docker0 has 172.17.0.1");

    /* Create a network with Docker-style options. */
    st = berth_network_create(ctrl, NETWORK,
                              "{\"subnet\":\"" SUBNET "\",\"gateway\":\"" GATEWAY "\","
                              "\"options\":{\"com.docker.network.bridge.name\":\"" BRIDGE "\"},"
                              "\"labels\":{\"example\":\"c\"}}",
                              &json, &err);
    if (st != BERTH_OK) {
        report("berth_network_create", st, err);
        berth_controller_close(ctrl);
        return 1;
    }
    printf("created: %s\n", json);
    berth_free(json);
    json = NULL;
    check(contains(host_ip("addr show dev " BRIDGE), "\"local\":\"" GATEWAY "\""), "bridge " BRIDGE " has " GATEWAY);

    /* A bad argument is a status, never a crash. */
    st = berth_network_create(ctrl, "other", "{\"subnet\": 42}", NULL, &err);
    check(st == BERTH_ERR_INVALID_ARGUMENT && err != NULL, "bad options JSON -> BERTH_ERR_INVALID_ARGUMENT");
    if (err != NULL) printf("     (%s)\n", berth_error_message(err));
    berth_error_free(err);
    err = NULL;
    st = berth_network_create(ctrl, NETWORK, NULL, NULL, &err);
    check(st == BERTH_ERR_DUPLICATE_NAME, "same name again -> BERTH_ERR_DUPLICATE_NAME");
    berth_error_free(err);
    err = NULL;

    /* A sandbox, made the way a runtime would (`ip netns add`), attached with a static address. */
    if (system("ip netns add " SANDBOX) != 0) {
        fprintf(stderr, "ip netns add " SANDBOX " failed\n");
        failures++;
        goto cleanup;
    }
    st = berth_network_attach(ctrl, NETWORK, SANDBOX, "{\"ip\":\"" ADDRESS "\"}", &json, &err);
    if (st != BERTH_OK) {
        report("berth_network_attach", st, err);
        failures++;
        goto cleanup;
    }
    printf("attached: %s\n", json);
    check(json_string(json, "id", endpoint_id, sizeof endpoint_id), "endpoint JSON has an id");
    check(json_string(json, "host_interface", veth, sizeof veth), "endpoint JSON has a host_interface");
    berth_free(json);
    json = NULL;

    check(contains(sandbox_ip("addr show dev eth0"), "\"local\":\"" ADDRESS "\""), "eth0 in the sandbox has " ADDRESS);
    check(contains(sandbox_ip("route show default"), "\"gateway\":\"" GATEWAY "\""), "sandbox default route via " GATEWAY);
    snprintf(probe, sizeof probe, "link show dev %s", veth);
    check(contains(host_ip(probe), "\"master\":\"" BRIDGE "\""), "host end is a port of " BRIDGE);

    st = berth_network_inspect(ctrl, NETWORK, &json, &err);
    check(st == BERTH_OK && json != NULL && strstr(json, endpoint_id) != NULL, "inspect lists the endpoint");
    if (st != BERTH_OK) report("berth_network_inspect", st, err);
    berth_free(json);
    json = NULL;
    err = NULL;

    st = berth_network_delete(ctrl, NETWORK, false, &err);
    check(st == BERTH_ERR_HAS_ACTIVE_ENDPOINTS, "delete with an endpoint -> BERTH_ERR_HAS_ACTIVE_ENDPOINTS");
    berth_error_free(err);
    err = NULL;

    /* Detach: the veth goes (its peer with it), the address is released. */
    st = berth_network_detach(ctrl, endpoint_id, &detached, &err);
    if (st != BERTH_OK) report("berth_network_detach", st, err);
    check(st == BERTH_OK && detached, "detach released the endpoint");
    err = NULL;
    check(!contains(host_ip("link show"), veth), "host end is gone");
    check(!contains(sandbox_ip("link show"), "\"ifname\":\"eth0\""), "eth0 is gone from the sandbox");
    st = berth_network_detach(ctrl, endpoint_id, &detached, NULL);
    check(st == BERTH_OK && !detached, "detaching again is a no-op");

cleanup:
    /* Delete (force: also detaches whatever a failed run left attached) and close. */
    st = berth_network_delete(ctrl, NETWORK, true, &err);
    if (st != BERTH_OK) report("berth_network_delete", st, err);
    check(st == BERTH_OK, "network deleted");
    err = NULL;
    check(!contains(host_ip("link show"), BRIDGE), "bridge " BRIDGE " is gone");
    st = berth_network_inspect(ctrl, NETWORK, &json, &err);
    check(st == BERTH_ERR_NETWORK_NOT_FOUND && json == NULL, "inspect after delete -> BERTH_ERR_NETWORK_NOT_FOUND");
    berth_error_free(err);
    berth_controller_close(ctrl);
    if (system("ip netns del " SANDBOX " 2>/dev/null") != 0) { /* already gone */ }

    printf("berth_example: %s\n", failures == 0 ? "OK" : "FAILED");
    return failures == 0 ? 0 : 1;
}
