/* abi_check.c — every status path of libberth a caller can reach without special kernel state,
 * NULL and bad input on every argument, and threads sharing one controller.
 * Run:  abi_check HOST_NETNS_PATH STATE_DIR  (BERTH_BACKEND picks the backend), inside a sandbox
 * namespace (scripts/test-c-abi.sh). Prints one line per check; exit status 0 = all passed. */
#define _POSIX_C_SOURCE 200809L
#include <berth.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond, what) do { int ok_ = (cond); printf("%s %s\n", ok_ ? "ok  " : "FAIL", what); if (!ok_) failures++; } while (0)

/* Expects `call` (which takes &err as its last argument) to return `want`, with a matching error. */
static berth_error *err;
static void expect(berth_status got, berth_status want, const char *what) {
    char line[512];
    int ok = got == want && (want == BERTH_OK ? err == NULL
                                              : err != NULL && berth_error_status(err) == want && berth_error_message(err)[0] != '\0');
    snprintf(line, sizeof line, "%s -> %s (got %s%s%s)", what, berth_status_name(want), berth_status_name(got),
             err ? ": " : "", err ? berth_error_message(err) : "");
    CHECK(ok, line);
    berth_error_free(err);
    err = NULL;
}

static berth_controller *ctrl;

static void *worker(void *arg) {
    int i = (int)(long)arg, ok = 1;
    char name[32], *json = NULL, id[80] = "";
    berth_error *e = NULL;
    bool detached = false;
    const char *p;
    snprintf(name, sizeof name, "thread%d", i);
    ok &= berth_network_create(ctrl, name, NULL, NULL, &e) == BERTH_OK;
    ok &= berth_network_attach(ctrl, name, NULL, NULL, &json, &e) == BERTH_OK;
    if (json != NULL && (p = strstr(json, "\"id\":\"")) != NULL) { memcpy(id, p + 6, 64); id[64] = '\0'; }
    berth_free(json);
    json = NULL;
    ok &= berth_network_inspect(ctrl, name, &json, &e) == BERTH_OK && json != NULL && strstr(json, id) != NULL;
    berth_free(json);
    ok &= berth_network_detach(ctrl, id, &detached, &e) == BERTH_OK && detached;
    ok &= berth_network_delete(ctrl, name, false, &e) == BERTH_OK;
    if (e != NULL) { fprintf(stderr, "thread %d: %s\n", i, berth_error_message(e)); berth_error_free(e); }
    return ok ? NULL : (void *)1;
}

int main(int argc, char **argv) {
    const char *host = argc > 1 ? argv[1] : NULL, *state = argc > 2 ? argv[2] : NULL;
    const char *backend = getenv("BERTH_BACKEND");
    char *json = (char *)"sentinel", *ep = NULL, *range = NULL;
    berth_controller *none = (berth_controller *)"sentinel";
    bool detached = true;
    pthread_t threads[6];
    int i, thread_failures = 0;

    CHECK(berth_abi_version() == BERTH_ABI_VERSION, "berth_abi_version() == BERTH_ABI_VERSION");
    CHECK(strcmp(berth_status_name(BERTH_OK), "BERTH_OK") == 0, "status name of BERTH_OK");
    CHECK(strcmp(berth_status_name(BERTH_ERR_INTERNAL), "BERTH_ERR_INTERNAL") == 0, "status name of BERTH_ERR_INTERNAL");
    /* Regression: the name table stopped at BERTH_ERR_INTERNAL (every status is checked by the
     * program gen_status_names.py generates from berth.h). */
    CHECK(strcmp(berth_status_name(BERTH_ERR_PORT_ALLOCATED), "BERTH_ERR_PORT_ALLOCATED") == 0, "status name of BERTH_ERR_PORT_ALLOCATED");
    CHECK(strcmp(berth_status_name(BERTH_ERR_STATE_CONFLICT), "BERTH_ERR_STATE_CONFLICT") == 0, "status name of BERTH_ERR_STATE_CONFLICT");
    CHECK(strcmp(berth_status_name(9999), "BERTH_ERR_UNKNOWN") == 0 && strcmp(berth_status_name(-1), "BERTH_ERR_UNKNOWN") == 0,
          "status name of unknown values");
    CHECK(berth_error_status(NULL) == BERTH_OK && berth_error_errno(NULL) == 0 && berth_error_message(NULL)[0] == '\0'
              && berth_error_operation(NULL)[0] == '\0' && berth_error_object(NULL)[0] == '\0',
          "error accessors accept NULL");
    berth_error_free(NULL);
    berth_free(NULL);
    berth_controller_close(NULL);

    /* Opening. */
    expect(berth_controller_open(state, backend, host, NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "open: NULL out_controller");
    expect(berth_controller_open(state, "ebpf", host, &none, &err), BERTH_ERR_INVALID_ARGUMENT, "open: unknown backend");
    CHECK(none == NULL, "open: out_controller is NULL after a failure");
    expect(berth_controller_open("/tmp/\xff\xfe", backend, host, &none, &err), BERTH_ERR_INVALID_ARGUMENT, "open: invalid UTF-8");
    expect(berth_controller_open(state, backend, "/nonexistent/netns", &none, &err), BERTH_ERR_SANDBOX_NOT_FOUND, "open: missing host namespace");
    expect(berth_controller_open(state, backend, "/etc/hostname", &none, &err), BERTH_ERR_NOT_A_NETWORK_NAMESPACE, "open: host path not a netns");
    CHECK(berth_controller_open(state, backend, "/nonexistent/netns", &none, NULL) == BERTH_ERR_SANDBOX_NOT_FOUND, "open: NULL out_error still reports the status");
    /* Controller-wide options (ABI 3): only known keys of the right type, an absolute proxy path. */
    expect(berth_controller_open_with_options(state, backend, host, "{", &none, &err), BERTH_ERR_INVALID_ARGUMENT, "open with options: bad JSON");
    expect(berth_controller_open_with_options(state, backend, host, "{\"hairpin\":true}", &none, &err), BERTH_ERR_INVALID_ARGUMENT,
           "open with options: unknown key");
    expect(berth_controller_open_with_options(state, backend, host, "{\"userland_proxy\":\"no\"}", &none, &err), BERTH_ERR_INVALID_ARGUMENT,
           "open with options: userland_proxy not a bool");
    expect(berth_controller_open_with_options(state, backend, host, "{\"userland_proxy_path\":\"berth-proxy\"}", &none, &err),
           BERTH_ERR_INVALID_ARGUMENT, "open with options: relative userland_proxy_path");
    CHECK(none == NULL, "open with options: out_controller is NULL after a failure");
    expect(berth_controller_open_with_options(state, backend, host, "{\"userland_proxy\":true,\"userland_proxy_path\":\"/usr/local/bin/berth-proxy\"}",
                                              &none, &err), BERTH_OK, "open with options");
    berth_controller_close(none);
    none = NULL;
    CHECK(berth_abi_version() == 3 && BERTH_ABI_VERSION == 3, "ABI version 3");
    /* Published ports need the userland proxy (the default mode): the one installed with the
     * library when the test script names it, else Docker's proxy-less mode. */
    char proxy_options[4200];
    const char *proxy = getenv("BERTH_PROXY_BIN");
    if (proxy != NULL && proxy[0] == '/' && strlen(proxy) < 4000) {
        snprintf(proxy_options, sizeof proxy_options, "{\"userland_proxy_path\":\"%s\"}", proxy);
    } else {
        snprintf(proxy_options, sizeof proxy_options, "{\"userland_proxy\":false}");
    }
    expect(berth_controller_open_with_options(state, backend, host, proxy_options, &ctrl, &err), BERTH_OK, "open");
    if (ctrl == NULL) return 1;
    /* Opening touches nothing; the host set-up records the backend, after which the other
     * backend is refused. */
    expect(berth_host_setup(NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "host setup: NULL controller");
    expect(berth_host_setup(ctrl, &err), BERTH_OK, "host setup");
    expect(berth_reconcile(ctrl, &err), BERTH_OK, "reconcile");
    expect(berth_controller_open(state, strcmp(backend ? backend : "iptables", "iptables") == 0 ? "nftables" : "iptables", host, &none, &err),
           BERTH_ERR_STATE_CONFLICT, "open: the state directory belongs to the other backend");

    /* Networks: NULLs, bad JSON, each validation status. */
    expect(berth_network_create(NULL, "n", NULL, &json, &err), BERTH_ERR_INVALID_ARGUMENT, "create: NULL controller");
    CHECK(json == NULL, "create: out_json is NULL after a failure");
    expect(berth_network_create(ctrl, NULL, NULL, NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "create: NULL name");
    expect(berth_network_create(ctrl, "bad name", NULL, NULL, &err), BERTH_ERR_INVALID_NAME, "create: invalid name");
    expect(berth_network_create(ctrl, "n", "{", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "create: JSON that does not parse");
    expect(berth_network_create(ctrl, "n", "[1]", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "create: JSON not an object");
    expect(berth_network_create(ctrl, "n", "{\"subnt\":\"10.9.0.0/24\"}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "create: unknown key");
    expect(berth_network_create(ctrl, "n", "{\"internal\":\"yes\"}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "create: wrong JSON type");
    expect(berth_network_create(ctrl, "n", "{\"options\":{\"com.docker.network.foo\":\"1\"}}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "create: unknown driver option");
    expect(berth_network_create(ctrl, "n", "{\"options\":{\"com.docker.network.driver.mtu\":\"abc\"}}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "create: bad mtu");
    expect(berth_network_create(ctrl, "n", "{\"labels\":{\"a\":1}}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "create: label not a string");
    expect(berth_network_create(ctrl, "n", "{\"subnet\":\"10.9.0.0/33\"}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "create: bad subnet");
    expect(berth_network_create(ctrl, "n", "{\"subnet\":\"10.9.0.0/24\",\"gateway\":\"10.8.0.1\"}", NULL, &err), BERTH_ERR_GATEWAY_OUTSIDE_SUBNET, "create: gateway outside subnet");
    expect(berth_network_create(ctrl, "n", "{\"subnet\":\"10.9.0.0/24\",\"ip_range\":\"10.8.0.0/25\"}", NULL, &err), BERTH_ERR_IP_RANGE_OUTSIDE_SUBNET, "create: ip_range outside subnet");
    expect(berth_network_create(ctrl, "n", "{\"subnet\":\"172.17.5.0/24\"}", NULL, &err), BERTH_ERR_SUBNET_OVERLAP, "create: subnet overlaps docker0");
    expect(berth_network_create(ctrl, "n", "{\"options\":{\"com.docker.network.bridge.name\":\"a-bridge-name-too-long\"}}", NULL, &err), BERTH_ERR_INVALID_INTERFACE_NAME, "create: bridge name too long");
    expect(berth_network_create(ctrl, "bridge", NULL, NULL, &err), BERTH_ERR_DUPLICATE_NAME, "create: duplicate name");
    expect(berth_network_create(ctrl, "tiny", "{\"subnet\":\"10.9.0.0/30\",\"internal\":true,\"options\":{\"com.docker.network.bridge.enable_icc\":false,\"com.docker.network.driver.mtu\":1400}}", &json, &err), BERTH_OK, "create: /30 network");
    CHECK(json != NULL && strstr(json, "\"is_internal\":true") && strstr(json, "\"icc\":false") && strstr(json, "\"mtu\":1400"), "create: JSON reflects the options");
    berth_free(json);
    json = NULL;

    expect(berth_network_list(ctrl, NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "list: NULL out_json");
    expect(berth_network_list(ctrl, &json, &err), BERTH_OK, "list");
    CHECK(json != NULL && json[0] == '[' && strstr(json, "\"name\":\"bridge\"") && strstr(json, "\"name\":\"tiny\""), "list: JSON array with bridge and tiny");
    berth_free(json);
    json = NULL;
    expect(berth_network_inspect(ctrl, "nope", &json, &err), BERTH_ERR_NETWORK_NOT_FOUND, "inspect: unknown network");
    expect(berth_network_inspect(ctrl, "tiny", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "inspect: NULL out_json");
    expect(berth_network_delete(ctrl, "bridge", false, &err), BERTH_ERR_PREDEFINED_NETWORK, "delete: predefined network");
    expect(berth_network_delete(ctrl, "nope", false, &err), BERTH_ERR_NETWORK_NOT_FOUND, "delete: unknown network");

    /* Attach: sandbox and option errors. */
    expect(berth_network_attach(ctrl, NULL, NULL, NULL, NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "attach: NULL network");
    expect(berth_network_attach(ctrl, "nope", NULL, NULL, NULL, &err), BERTH_ERR_NETWORK_NOT_FOUND, "attach: unknown network");
    expect(berth_network_attach(ctrl, "tiny", "/nonexistent/ns", NULL, NULL, &err), BERTH_ERR_SANDBOX_NOT_FOUND, "attach: missing sandbox path");
    expect(berth_network_attach(ctrl, "tiny", "no-such-netns", NULL, NULL, &err), BERTH_ERR_SANDBOX_NOT_FOUND, "attach: missing sandbox name");
    expect(berth_network_attach(ctrl, "tiny", "/etc/hostname", NULL, NULL, &err), BERTH_ERR_NOT_A_NETWORK_NAMESPACE, "attach: sandbox not a netns");
    expect(berth_network_attach(ctrl, "tiny", "/run/netns/x", "{\"create_sandbox\":true}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "attach: create_sandbox with a path");
    expect(berth_network_attach(ctrl, "tiny", NULL, "{\"interface\":\"an-interface-too-long\"}", NULL, &err), BERTH_ERR_INVALID_INTERFACE_NAME, "attach: interface name too long");
    expect(berth_network_attach(ctrl, "tiny", NULL, "{\"ip\":\"10.9.1.2\"}", NULL, &err), BERTH_ERR_ADDRESS_OUTSIDE_SUBNET, "attach: address outside subnet");
    expect(berth_network_attach(ctrl, "tiny", NULL, "{\"ip\":\"10.9.0.1\"}", NULL, &err), BERTH_ERR_ADDRESS_IN_USE, "attach: the gateway's address");
    expect(berth_network_attach(ctrl, "tiny", NULL, "{\"ip\":\"nope\"}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "attach: bad address");
    expect(berth_network_attach(ctrl, "tiny", NULL, "{\"mac\":\"01:00:5e:00:00:01\"}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "attach: multicast MAC");
    /* Docker's -p rules (PortSpec): container port 0, > 65535, reversed or unequal ranges, unknown protocols. */
    expect(berth_network_attach(ctrl, "tiny", NULL, "{\"ports\":[{\"host_port\":80,\"container_port\":0}]}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "attach: container port 0");
    expect(berth_network_attach(ctrl, "tiny", NULL, "{\"ports\":[{\"host_port\":65536,\"container_port\":80}]}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "attach: port > 65535");
    expect(berth_network_attach(ctrl, "tiny", NULL, "{\"ports\":[{\"host_port\":8009,\"host_port_end\":8000,\"container_port\":80}]}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "attach: reversed range");
    expect(berth_network_attach(ctrl, "tiny", NULL, "{\"ports\":[{\"host_port\":8000,\"host_port_end\":8001,\"container_port\":80,\"container_port_end\":82}]}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "attach: ranges of different lengths");
    expect(berth_network_attach(ctrl, "tiny", NULL, "{\"ports\":[{\"host_port\":80,\"container_port\":80,\"proto\":\"icmp\"}]}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "attach: unknown proto");
    expect(berth_network_attach(ctrl, "tiny", NULL, "{\"ports\":{}}", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "attach: ports not an array");
    expect(berth_network_attach(ctrl, "tiny", "abi-sbx", "{\"create_sandbox\":true}", &ep, &err), BERTH_OK, "attach: create named sandbox");
    CHECK(ep != NULL && strstr(ep, "\"address\":\"10.9.0.2\"") && strstr(ep, "\"sandbox_name\":\"abi-sbx\""), "attach: endpoint JSON");
    expect(berth_network_attach(ctrl, "tiny", NULL, NULL, NULL, &err), BERTH_ERR_ADDRESSES_EXHAUSTED, "attach: /30 exhausted");
    expect(berth_network_attach(ctrl, "bridge", "abi-pub", "{\"create_sandbox\":true,\"ports\":[{\"host_port\":8080,\"container_port\":80}]}", NULL, &err),
           BERTH_OK, "attach: publish host port 8080");
    expect(berth_network_attach(ctrl, "bridge", NULL, "{\"ports\":[{\"host_port\":8080,\"container_port\":81}]}", NULL, &err),
           BERTH_ERR_PORT_ALLOCATED, "attach: host port 8080 published already");
    expect(berth_network_attach(ctrl, "bridge", "abi-rng", "{\"create_sandbox\":true,\"ports\":[{\"host_port\":9000,\"host_port_end\":9009,\"container_port\":9000,\"container_port_end\":9009}]}", &range, &err),
           BERTH_OK, "attach: publish the range 9000-9009");
    CHECK(range != NULL && strstr(range, "\"count\":10"), "attach: the range is one port object with count 10");
    berth_free(range);
    expect(berth_network_attach(ctrl, "bridge", NULL, "{\"ports\":[{\"host_port\":9005,\"container_port\":81}]}", NULL, &err),
           BERTH_ERR_PORT_ALLOCATED, "attach: 9005 is inside a published range");
    expect(berth_network_detach_sandbox(ctrl, "bridge", "abi-rng", &detached, &err), BERTH_OK, "detach the publisher of the range");
    expect(berth_network_detach_sandbox(ctrl, "bridge", "abi-pub", &detached, &err), BERTH_OK, "detach the publisher of 8080");
    expect(berth_network_delete(ctrl, "tiny", false, &err), BERTH_ERR_HAS_ACTIVE_ENDPOINTS, "delete: active endpoints");
    expect(berth_endpoint_list(ctrl, "tiny", &json, &err), BERTH_OK, "endpoint list");
    CHECK(json != NULL && strstr(json, "abi-sbx") != NULL, "endpoint list: has the endpoint");
    berth_free(json);
    json = NULL;
    expect(berth_endpoint_list(ctrl, "nope", &json, &err), BERTH_ERR_NETWORK_NOT_FOUND, "endpoint list: unknown network");

    /* Detach. */
    expect(berth_network_detach(ctrl, NULL, NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "detach: NULL id");
    expect(berth_network_detach(ctrl, "", NULL, &err), BERTH_ERR_INVALID_ARGUMENT, "detach: empty id");
    expect(berth_network_detach(ctrl, "00000000000", &detached, &err), BERTH_OK, "detach: unknown endpoint");
    CHECK(!detached, "detach: unknown endpoint is not detached");
    expect(berth_network_detach_sandbox(ctrl, "tiny", NULL, &detached, &err), BERTH_ERR_INVALID_ARGUMENT, "detach sandbox: NULL sandbox");
    expect(berth_network_detach_sandbox(ctrl, "tiny", "abi-sbx", &detached, &err), BERTH_OK, "detach sandbox by name");
    CHECK(detached, "detach sandbox: released");
    berth_free(ep);
    expect(berth_network_delete(ctrl, "tiny", false, &err), BERTH_OK, "delete");

    /* Threads sharing the controller. */
    for (i = 0; i < 6; i++) pthread_create(&threads[i], NULL, worker, (void *)(long)i);
    for (i = 0; i < 6; i++) { void *r; pthread_join(threads[i], &r); if (r != NULL) thread_failures++; }
    CHECK(thread_failures == 0, "6 threads: create, attach, inspect, detach, delete on one controller");
    expect(berth_network_list(ctrl, &json, &err), BERTH_OK, "list after the threads");
    CHECK(json != NULL && strstr(json, "thread") == NULL, "threads left no network");
    berth_free(json);

    berth_controller_close(ctrl);
    printf("abi_check: %s\n", failures == 0 ? "OK" : "FAILED");
    return failures == 0 ? 0 : 1;
}
