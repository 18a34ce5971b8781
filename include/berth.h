/*
 * berth.h — the C ABI of Berth: Docker-style bridge networking without a daemon.
 *
 * This header is the single source of truth of the ABI. The library implements it in Swift with
 * `@c @implementation` (Sources/BerthC), so a declaration here that the implementation does not
 * match exactly fails the library's build.
 *
 * Conventions
 * -----------
 * - Every fallible call returns a `berth_status` (BERTH_OK = 0 on success) and, when the caller
 *   passes a non-NULL `out_error`, stores a new error object there on failure (NULL on success).
 *   The caller frees it with berth_error_free(). Passing NULL for `out_error` is allowed: only
 *   the status is reported then.
 * - Structured results are UTF-8 JSON strings allocated by the library; the caller frees them
 *   with berth_free(). Output pointers are set to NULL first, and set to a string only on success.
 * - Input strings must be NUL-terminated UTF-8. A NULL where a value is required, invalid UTF-8,
 *   JSON that does not parse, an unknown JSON key or a value of the wrong JSON type returns
 *   BERTH_ERR_INVALID_ARGUMENT and changes nothing. No call aborts the process on bad input.
 * - Names: a network is found by name, full ID or unique ID prefix (as Docker resolves); an
 *   endpoint by full ID or unique ID prefix.
 * - Thread safety: every function may be called from any thread. Calls on one controller are
 *   serialized inside the library (and across processes sharing a state directory by an flock on
 *   it). The only exception is berth_controller_close(): no other call may be using the same
 *   controller, or start using it, while it runs or afterwards. Error objects are immutable and
 *   may be read from several threads; berth_error_free() must be the last use.
 * - Calls block: they talk netlink to the kernel, may run iptables-restore, and read/write the
 *   state directory. Deleting links waits for the kernel (tens of milliseconds).
 * - Privileges: CAP_NET_ADMIN (in practice root) in the host network namespace; without it the
 *   calls return BERTH_ERR_PERMISSION_DENIED.
 *
 * JSON shapes (snake_case keys; keys of unset optional values are absent)
 * ----------------------------------------------------------------------
 * network:  {"id","name","bridge","subnet":"a.b.c.d/n","gateway","ip_range","mtu","is_internal",
 *            "icc","masquerade","hairpin","isolated","loopback_local",
 *            "direct_routing","trusted_interfaces":[],"labels":{},"bridge_mac","created","is_default","owns_bridge",
 *            "subnet_configured","gateway_configured","in_delete","enable_ipv6","subnet6":"x::/n",
 *            "gateway6","ip_range6","mac_derived6","gateway6_configured"}
 *           (in_delete: a removal was interrupted; the next change or berth_reconcile finishes it;
 *            subnet6, gateway6, ip_range6: only on an IPv6 network, ip_range6 only when set)
 * inspect:  a network object plus "endpoints":[endpoint, ...] (sorted by address)
 * endpoint: {"id","network_id","network_name","sandbox_path","sandbox_name","sandbox_device",
 *            "sandbox_inode","created_sandbox","host_interface","interface_name","address",
 *            "prefix_length","cidr","gateway","mac","ports":[port, ...],"sequence","owner":owner,
 *            "address6","prefix_length6","cidr6","gateway6"}
 *            (sequence: attach order; owner: only for the sandbox of a `berth run`; the *6 keys
 *            only on an IPv6 network)
 * owner:    {"pid","start_time"}   (start_time: field 22 of /proc/PID/stat, clock ticks after boot)
 * port:     {"proto","host_ip","host_ip6","host_port","container_port","count"}
 *            (count consecutive ports: host_port+i goes to container_port+i; 1 for one port;
 *            host_ip6 for a binding on an IPv6 host address, "::" for all; such a binding is IPv6 only)
 * Every field of Berth's own records (the state directory's networks/<id>.json and
 * endpoints/<id>.json, camelCase there) is in these objects under its snake_case name;
 * scripts/test-c-abi.sh checks both that and these lists against what the calls return.
 *
 * Versioning: the status enum and the function list are append-only; BERTH_ABI_VERSION grows when
 * something is added. An incompatible change would change the SONAME (libberth.so.0).
 */
#ifndef BERTH_H
#define BERTH_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Nullability ------------------------------------------------------------------------- */

/*
 * BERTH_NULLABLE / BERTH_NONNULL expand to clang's `_Nullable` / `_Nonnull` and to nothing for
 * compilers without them (GCC). BERTH_REQUIRED marks an argument that must not be NULL: C callers
 * see `_Nonnull` (and get a warning for a literal NULL), while the Swift implementation imports
 * it as nullable (`__swift__` is defined by Swift's Clang importer) so that it can check it and
 * return BERTH_ERR_INVALID_ARGUMENT instead of crashing.
 */
#if defined(__has_feature)
#  if __has_feature(nullability)
#    define BERTH_HAVE_NULLABILITY 1
#  endif
#endif
#if defined(BERTH_HAVE_NULLABILITY)
   /* The annotations are a Clang extension; keep -pedantic builds of clients quiet. */
#  pragma clang diagnostic push
#  pragma clang diagnostic ignored "-Wnullability-extension"
#  define BERTH_NULLABLE _Nullable
#  define BERTH_NONNULL _Nonnull
#else
#  define BERTH_NULLABLE
#  define BERTH_NONNULL
#endif
#if defined(__swift__)
#  define BERTH_REQUIRED BERTH_NULLABLE
#else
#  define BERTH_REQUIRED BERTH_NONNULL
#endif

/* ---- Versions and status codes ----------------------------------------------------------- */

/** The ABI version this header describes; compare with berth_abi_version() at run time. */
#define BERTH_ABI_VERSION 3

/*
 * BERTH_CLOSED_ENUM marks an enum whose enumerators are all its values (clang's
 * `enum_extensibility(closed)`; nothing for compilers without it). Swift imports such an enum as a
 * frozen Swift enum, so the library's exhaustive switches over it fail to build when a status is
 * added without its name and mapping.
 */
#if defined(__has_attribute)
#  if __has_attribute(enum_extensibility)
#    define BERTH_CLOSED_ENUM __attribute__((enum_extensibility(closed)))
#  endif
#endif
#if !defined(BERTH_CLOSED_ENUM)
#  define BERTH_CLOSED_ENUM
#endif

/**
 * Status codes (append-only: values never change, new codes are only added at the end with the
 * next value, so the values are exactly 0 up to the last one). One per Berth error code, plus
 * BERTH_ERR_INTERNAL. berth_status_name() returns each one's own spelling below.
 */
enum BERTH_CLOSED_ENUM berth_status_code {
    /** Success. */
    BERTH_OK = 0,
    /** A network name outside Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, or empty. */
    BERTH_ERR_INVALID_NAME = 1,
    /** Another network has that name. */
    BERTH_ERR_DUPLICATE_NAME = 2,
    /** A bridge or interface name outside 1-15 bytes of [A-Za-z0-9_.-] (not starting with '-', not
        '.' or '..'): what the kernel, iptables and nftables all take literally. */
    BERTH_ERR_INVALID_INTERFACE_NAME = 3,
    /** A bad argument: NULL where a value is required, invalid UTF-8, JSON that does not parse,
     *  an unknown key or option, a value of the wrong type, a malformed address/subnet/MAC/port. */
    BERTH_ERR_INVALID_ARGUMENT = 4,
    /** The gateway lies outside the subnet (or is its network/broadcast address). */
    BERTH_ERR_GATEWAY_OUTSIDE_SUBNET = 5,
    /** The ip_range is not inside the subnet. */
    BERTH_ERR_IP_RANGE_OUTSIDE_SUBNET = 6,
    /** The subnet overlaps another network's or an on-link route of the host. */
    BERTH_ERR_SUBNET_OVERLAP = 7,
    /** No free subnet is left in the default pools. */
    BERTH_ERR_SUBNETS_EXHAUSTED = 8,
    /** No such network. */
    BERTH_ERR_NETWORK_NOT_FOUND = 9,
    /** No such endpoint (or an ambiguous ID prefix). */
    BERTH_ERR_ENDPOINT_NOT_FOUND = 10,
    /** The sandbox path, name or pid does not exist. */
    BERTH_ERR_SANDBOX_NOT_FOUND = 11,
    /** The sandbox path exists but is not a network namespace. */
    BERTH_ERR_NOT_A_NETWORK_NAMESPACE = 12,
    /** The interface name is already used inside the sandbox. */
    BERTH_ERR_INTERFACE_IN_USE = 13,
    /** The requested address is held by another endpoint (or is the gateway). */
    BERTH_ERR_ADDRESS_IN_USE = 14,
    /** The requested address is outside the subnet, or its network/broadcast address. */
    BERTH_ERR_ADDRESS_OUTSIDE_SUBNET = 15,
    /** No free address is left in the subnet (or ip_range). */
    BERTH_ERR_ADDRESSES_EXHAUSTED = 16,
    /** The network still has endpoints; detach them or pass force. */
    BERTH_ERR_HAS_ACTIVE_ENDPOINTS = 17,
    /** The default network `bridge` cannot be removed. */
    BERTH_ERR_PREDEFINED_NETWORK = 18,
    /** The caller lacks CAP_NET_ADMIN or permission on the state directory. */
    BERTH_ERR_PERMISSION_DENIED = 19,
    /** The state directory cannot be read or written, or holds a record that does not decode. */
    BERTH_ERR_STATE = 20,
    /** A lower layer (netlink, firewall, namespace) failed; see berth_error_errno() and the message. */
    BERTH_ERR_SYSTEM = 21,
    /** Several errors from one best-effort operation (detach, delete); the message lists all. */
    BERTH_ERR_MULTIPLE = 22,
    /** A failure inside the library that is not the caller's (e.g. a result that does not encode). */
    BERTH_ERR_INTERNAL = 23,
    /** The host port is already published by another endpoint ("port is already allocated"). */
    BERTH_ERR_PORT_ALLOCATED = 24,
    /** The state directory belongs to another backend or host namespace. */
    BERTH_ERR_STATE_CONFLICT = 25,
    /** The TAP is single-queue and its one queue is attached (the kernel's EBUSY). */
    BERTH_ERR_TAP_BUSY = 26,
    /** A TAP of that name exists with other flags (the kernel's EINVAL); the message names the flag. */
    BERTH_ERR_TAP_FLAG_MISMATCH = 27,
    /** /dev/net/tun is missing or cannot be opened. */
    BERTH_ERR_TUN_UNAVAILABLE = 28,
    /** IPv6 was asked for but the host namespace has none (net.ipv6.conf.all.disable_ipv6=1). */
    BERTH_ERR_IPV6_UNAVAILABLE = 29
};

/** A status: one of `enum berth_status_code` (fixed width, so the ABI does not depend on enum size). */
typedef int32_t berth_status;

/** An open controller (opaque). */
typedef struct berth_controller berth_controller;

/** An error object (opaque, immutable). */
typedef struct berth_error berth_error;

/* ---- Library ----------------------------------------------------------------------------- */

/**
 * The ABI version of the loaded library (BERTH_ABI_VERSION it was built from). A program built
 * against version N works with any library whose version is >= N.
 * Thread-safe; never fails.
 */
uint32_t berth_abi_version(void);

/**
 * The constant name of a status ("BERTH_OK", "BERTH_ERR_NETWORK_NOT_FOUND", ...), or
 * "BERTH_ERR_UNKNOWN" for a value this library does not know.
 * Ownership: a static string; do not free. Thread-safe; never fails.
 */
const char *BERTH_NONNULL berth_status_name(berth_status status);

/**
 * Frees a string returned by the library (JSON results). NULL is ignored.
 * Thread-safe. Must be the last use of the string.
 */
void berth_free(void *BERTH_NULLABLE pointer);

/* ---- Errors ------------------------------------------------------------------------------ */

/** The status of an error (BERTH_OK for NULL). Thread-safe. */
berth_status berth_error_status(const berth_error *BERTH_NULLABLE error);

/** The errno behind an error (0 when none, or for NULL). Thread-safe. */
int32_t berth_error_errno(const berth_error *BERTH_NULLABLE error);

/**
 * What was being done ("create network", "attach", "open controller", ...).
 * Ownership: owned by the error, valid until berth_error_free(); never NULL ("" for NULL).
 */
const char *BERTH_NONNULL berth_error_operation(const berth_error *BERTH_NULLABLE error);

/**
 * What it was done to (a network name, an endpoint ID, a state directory, ...).
 * Ownership: owned by the error, valid until berth_error_free(); never NULL ("" for NULL).
 */
const char *BERTH_NONNULL berth_error_object(const berth_error *BERTH_NULLABLE error);

/**
 * A human-readable message: "<operation> <object>: <detail>", with the kernel's or the firewall
 * tool's own text when there is one, and every error of a BERTH_ERR_MULTIPLE.
 * Ownership: owned by the error, valid until berth_error_free(); never NULL ("" for NULL).
 */
const char *BERTH_NONNULL berth_error_message(const berth_error *BERTH_NULLABLE error);

/** Frees an error. NULL is ignored. Must be the last use of the error. */
void berth_error_free(berth_error *BERTH_NULLABLE error);

/* ---- Controller -------------------------------------------------------------------------- */

/**
 * Opens a controller. Opening changes nothing in the kernel: Docker's host set-up
 * (berth_host_setup()) and the reconciliation of state and kernel (berth_reconcile()) run by
 * themselves, once per controller, before its first call that changes something, or when the
 * caller calls them.
 *
 * @param state_dir        state directory; NULL = "/var/lib/berth".
 * @param backend          "iptables" or "nftables"; NULL = "iptables".
 * @param host_netns_path  nsfs path of the namespace treated as the host (e.g. "/run/netns/NAME",
 *                         "/proc/PID/ns/net"); NULL = the calling thread's namespace.
 * @param out_controller   receives the controller (NULL on failure); required.
 *                         Ownership: the caller closes it with berth_controller_close().
 * @param out_error        optional; receives an error on failure (free with berth_error_free()).
 * @return BERTH_OK, BERTH_ERR_INVALID_ARGUMENT (NULL out_controller, bad UTF-8, unknown backend),
 *         BERTH_ERR_PERMISSION_DENIED, BERTH_ERR_STATE, BERTH_ERR_STATE_CONFLICT, BERTH_ERR_SANDBOX_NOT_FOUND or
 *         BERTH_ERR_NOT_A_NETWORK_NAMESPACE (host_netns_path), BERTH_ERR_SYSTEM, BERTH_ERR_INTERNAL.
 * Thread-safe.
 */
berth_status berth_controller_open(const char *BERTH_NULLABLE state_dir,
                                   const char *BERTH_NULLABLE backend,
                                   const char *BERTH_NULLABLE host_netns_path,
                                   berth_controller *BERTH_NULLABLE *BERTH_REQUIRED out_controller,
                                   berth_error *BERTH_NULLABLE *BERTH_NULLABLE out_error);

/**
 * Opens a controller as berth_controller_open() does, with controller-wide options. Added in ABI 3.
 *
 * @param options_json  NULL or a JSON object; keys (all optional):
 *                      "userland_proxy": bool — dockerd's --userland-proxy (default true: one
 *                        berth-proxy process per published port, Docker 20.10's default rules;
 *                        false: Docker's --userland-proxy=false rules, route_localnet=1 on every
 *                        bridge, hairpin on every bridge port, no proxy). Recorded in the state
 *                        directory; a controller opened with the other value reprograms rules,
 *                        sysctls and proxies at its first change (as a dockerd restart).
 *                      "userland_proxy_path": string — dockerd's --userland-proxy-path, an
 *                        absolute path (default "/usr/local/bin/berth-proxy", where
 *                        scripts/install.sh puts it).
 *                      "fixed_cidr_v6": string — dockerd's --ipv6 --fixed-cidr-v6 for the
 *                        default network (docker0): an IPv6 prefix of at most /80, endpoints'
 *                        IPv6 addresses derived from their MACs. Fixed when the default network
 *                        is first set up (another value later: BERTH_ERR_STATE_CONFLICT).
 *                      "forward_drop": "docker" (default) | "always" — when the iptables backend
 *                        sets the filter FORWARD policy to DROP: as dockerd, only when Berth
 *                        turns net.ipv4.ip_forward on itself (IPv6: all.forwarding, as Docker
 *                        28), or always. Decided at the state directory's first host set-up and
 *                        recorded there.
 * Other parameters and return values as berth_controller_open(); an unknown key, a value of the
 * wrong type or a relative userland_proxy_path is BERTH_ERR_INVALID_ARGUMENT naming it.
 * With the proxy on, berth_network_attach returns BERTH_ERR_PORT_ALLOCATED when another program
 * holds a published host port (nothing is changed), BERTH_ERR_SYSTEM when the proxy cannot start.
 * Thread-safe.
 */
berth_status berth_controller_open_with_options(const char *BERTH_NULLABLE state_dir,
                                                const char *BERTH_NULLABLE backend,
                                                const char *BERTH_NULLABLE host_netns_path,
                                                const char *BERTH_NULLABLE options_json,
                                                berth_controller *BERTH_NULLABLE *BERTH_REQUIRED out_controller,
                                                berth_error *BERTH_NULLABLE *BERTH_NULLABLE out_error);

/* Removal through the C ABI is synchronous: berth_network_detach and berth_network_delete return
 * once the kernel has deleted the veth / bridge (the Swift API's waitForKernel: true). Links left
 * pending by Swift or CLI users of the same state are deleted by berth_reconcile and berth_gc. */

/**
 * Closes a controller and frees it. Networks, endpoints and rules stay as they are (they live in
 * the kernel and the state directory). NULL is ignored.
 * Thread safety: no other call may use this controller concurrently or afterwards.
 */
void berth_controller_close(berth_controller *BERTH_NULLABLE controller);

/**
 * Docker's host set-up, as dockerd does at start: records the backend and host namespace in the
 * state directory, the firewall base (DOCKER chains, FORWARD policy DROP; nftables: Berth's table),
 * net.ipv4.ip_forward=1 and the default network `bridge` on docker0 (172.17.0.1/16). Idempotent.
 * Added in ABI 2.
 *
 * @return BERTH_OK, BERTH_ERR_INVALID_ARGUMENT (NULL controller), BERTH_ERR_STATE_CONFLICT,
 *         BERTH_ERR_PERMISSION_DENIED, BERTH_ERR_STATE, BERTH_ERR_SYSTEM.
 * Thread-safe.
 */
berth_status berth_host_setup(berth_controller *BERTH_REQUIRED controller,
                              berth_error *BERTH_NULLABLE *BERTH_NULLABLE out_error);

/**
 * Makes the kernel match the records: recreates missing bridges, addresses and rules, puts host
 * ends back on their bridge, releases endpoints whose sandbox is gone, removes unrecorded veths
 * of Berth's on its bridges. Idempotent. Added in ABI 2.
 *
 * @return BERTH_OK, BERTH_ERR_INVALID_ARGUMENT (NULL controller), BERTH_ERR_PERMISSION_DENIED,
 *         BERTH_ERR_STATE, BERTH_ERR_SYSTEM.
 * Thread-safe.
 */
berth_status berth_reconcile(berth_controller *BERTH_REQUIRED controller,
                             berth_error *BERTH_NULLABLE *BERTH_NULLABLE out_error);

/* ---- Networks ---------------------------------------------------------------------------- */

/**
 * Creates a bridge network (`docker network create`).
 *
 * @param name          the network name (Docker's rule `[a-zA-Z0-9][a-zA-Z0-9_.-]*`); required.
 * @param options_json  NULL or a JSON object, every key optional:
 *                      {"subnet":"10.1.0.0/24", "gateway":"10.1.0.1", "ip_range":"10.1.0.128/25",
 *                       "internal":true, "options":{"com.docker.network.bridge.name":"br0",
 *                       "com.docker.network.bridge.enable_icc":"false",
 *                       "com.docker.network.bridge.enable_ip_masquerade":"false",
 *                       "com.docker.network.driver.mtu":"1400"}, "labels":{"k":"v"},
 *                       "ipv6":true, "subnet6":"fd00:1::/64", "gateway6":"fd00:1::1",
 *                       "ip_range6":"fd00:1::/80"}. IPv6 (`--ipv6`) needs "subnet6" (Docker 20.10
 *                      has no default IPv6 pool); the *6 keys without "ipv6":true are refused.
 *                      Option values are strings (JSON booleans and integers are accepted too).
 * @param out_json      optional; receives the network as JSON (free with berth_free()).
 * @param out_error     optional; receives an error on failure.
 * @return BERTH_OK, BERTH_ERR_INVALID_ARGUMENT, BERTH_ERR_INVALID_NAME, BERTH_ERR_DUPLICATE_NAME,
 *         BERTH_ERR_INVALID_INTERFACE_NAME, BERTH_ERR_GATEWAY_OUTSIDE_SUBNET,
 *         BERTH_ERR_IP_RANGE_OUTSIDE_SUBNET, BERTH_ERR_SUBNET_OVERLAP, BERTH_ERR_SUBNETS_EXHAUSTED,
 *         BERTH_ERR_PERMISSION_DENIED, BERTH_ERR_STATE, BERTH_ERR_SYSTEM, BERTH_ERR_INTERNAL,
 *         BERTH_ERR_IPV6_UNAVAILABLE (IPv6 asked for, the host has none).
 * Thread-safe. On failure nothing is left behind (no bridge, no rules, no record).
 */
berth_status berth_network_create(berth_controller *BERTH_REQUIRED controller,
                                  const char *BERTH_REQUIRED name,
                                  const char *BERTH_NULLABLE options_json,
                                  char *BERTH_NULLABLE *BERTH_NULLABLE out_json,
                                  berth_error *BERTH_NULLABLE *BERTH_NULLABLE out_error);

/**
 * Deletes a network (`docker network rm`): its rules, its bridge (when Berth created it) and its
 * record. Refused while endpoints are attached unless `force`, which detaches them first.
 *
 * @param name_or_id  network name, ID or unique ID prefix; required.
 * @return BERTH_OK, BERTH_ERR_INVALID_ARGUMENT, BERTH_ERR_NETWORK_NOT_FOUND,
 *         BERTH_ERR_PREDEFINED_NETWORK, BERTH_ERR_HAS_ACTIVE_ENDPOINTS, BERTH_ERR_MULTIPLE,
 *         BERTH_ERR_PERMISSION_DENIED, BERTH_ERR_STATE, BERTH_ERR_SYSTEM.
 * Thread-safe.
 */
berth_status berth_network_delete(berth_controller *BERTH_REQUIRED controller,
                                  const char *BERTH_REQUIRED name_or_id,
                                  bool force,
                                  berth_error *BERTH_NULLABLE *BERTH_NULLABLE out_error);

/**
 * Lists every network, oldest first (`docker network ls`).
 *
 * @param out_json   receives a JSON array of network objects (free with berth_free()); required.
 * @return BERTH_OK, BERTH_ERR_INVALID_ARGUMENT, BERTH_ERR_STATE, BERTH_ERR_INTERNAL.
 * Thread-safe.
 */
berth_status berth_network_list(berth_controller *BERTH_REQUIRED controller,
                                char *BERTH_NULLABLE *BERTH_REQUIRED out_json,
                                berth_error *BERTH_NULLABLE *BERTH_NULLABLE out_error);

/**
 * Inspects one network (`docker network inspect`): the network object plus "endpoints".
 *
 * @param name_or_id  network name, ID or unique ID prefix; required.
 * @param out_json    receives the JSON object (free with berth_free()); required.
 * @return BERTH_OK, BERTH_ERR_INVALID_ARGUMENT, BERTH_ERR_NETWORK_NOT_FOUND, BERTH_ERR_STATE,
 *         BERTH_ERR_INTERNAL.
 * Thread-safe.
 */
berth_status berth_network_inspect(berth_controller *BERTH_REQUIRED controller,
                                   const char *BERTH_REQUIRED name_or_id,
                                   char *BERTH_NULLABLE *BERTH_REQUIRED out_json,
                                   berth_error *BERTH_NULLABLE *BERTH_NULLABLE out_error);

/* ---- Endpoints --------------------------------------------------------------------------- */

/**
 * Attaches a sandbox (a network namespace) to a network, as Docker does when a container joins
 * it: a veth pair whose peer is created inside the sandbox (default name eth0), the lowest free
 * address (or a static one), lo up, a default route via the gateway (none on an internal
 * network), the host end on the bridge, and the published ports.
 *
 * @param network       network name, ID or unique ID prefix; required.
 * @param sandbox       which namespace: a string starting with '/' is an nsfs path
 *                      ("/run/netns/NAME", "/proc/PID/ns/net"); any other string is a name under
 *                      /run/netns. NULL means: Berth creates a new named namespace (name generated)
 *                      and deletes it again on detach.
 * @param options_json  NULL or a JSON object, every key optional:
 *                      {"interface":"eth0", "ip":"10.1.0.5", "ip6":"fd00:1::5",
 *                       "mac":"02:42:0a:01:00:05",
 *                       "ports":[{"host_port":8080, "container_port":80, "proto":"tcp",
 *                                 "host_ip":"0.0.0.0"}],
 *                      ("ip6" only on an IPv6 network; "host_ip" may be IPv6, e.g. "::": an
 *                      IPv6-only binding; without "host_ip" the binding is IPv4 and, for an
 *                      endpoint with IPv6, also IPv6 on "::", as Docker 20.10),
 *                      a port is Docker's -p: "proto" tcp (default), udp or sctp; optional
 *                      "host_port_end" / "container_port_end" for ranges (equal lengths, or a
 *                      host range to one container port: its first free port); "host_port"
 *                      absent or 0: a free port of the host's ip_local_port_range. Reversed
 *                      ranges, port 0 in a container port, > 65535 and other protocols are
 *                      BERTH_ERR_INVALID_ARGUMENT; a host port already published (ranges
 *                      included) is BERTH_ERR_PORT_ALLOCATED; either way nothing changes.
 *                       "create_sandbox":true}
 *                      "create_sandbox": the named `sandbox` does not exist yet; Berth creates it
 *                      (like `ip netns add`) and deletes it on detach.
 * @param out_json      optional; receives the endpoint as JSON (free with berth_free()).
 * @return BERTH_OK, BERTH_ERR_INVALID_ARGUMENT, BERTH_ERR_NETWORK_NOT_FOUND,
 *         BERTH_ERR_SANDBOX_NOT_FOUND, BERTH_ERR_NOT_A_NETWORK_NAMESPACE,
 *         BERTH_ERR_INVALID_INTERFACE_NAME, BERTH_ERR_INTERFACE_IN_USE, BERTH_ERR_ADDRESS_IN_USE,
 *         BERTH_ERR_ADDRESS_OUTSIDE_SUBNET, BERTH_ERR_ADDRESSES_EXHAUSTED, BERTH_ERR_PORT_ALLOCATED,
 *         BERTH_ERR_INVALID_NAME (sandbox name), BERTH_ERR_PERMISSION_DENIED, BERTH_ERR_STATE,
 *         BERTH_ERR_SYSTEM, BERTH_ERR_INTERNAL.
 * Thread-safe. On failure every step is undone.
 */
berth_status berth_network_attach(berth_controller *BERTH_REQUIRED controller,
                                  const char *BERTH_REQUIRED network,
                                  const char *BERTH_NULLABLE sandbox,
                                  const char *BERTH_NULLABLE options_json,
                                  char *BERTH_NULLABLE *BERTH_NULLABLE out_json,
                                  berth_error *BERTH_NULLABLE *BERTH_NULLABLE out_error);

/**
 * Attaches a micro-VM TAP device to a network's bridge (issue 16; or, with "sandbox", in
 * tc-redirect mode): TUNSETIFF with
 * IFF_TAP|IFF_NO_PI (|IFF_VNET_HDR unless "vnet_hdr":false, |IFF_MULTI_QUEUE when queues > 1)
 * in the host namespace, the TAP on the bridge with the bridge's MTU, up; the guest gets the
 * lowest free address (or "ip") and MAC 02:42 + IPv4 (or "mac"); the network's firewall rules
 * apply to the guest address, "ports" are published to it. Detach with berth_network_detach.
 *
 * @param network   network name, ID or unique ID prefix; required.
 * @param tap_json  required JSON object: {"name":"vmtap%d" (required; 1-15 bytes, one %d
 *                  template allowed), "sandbox":"/run/netns/jail" or "jail" (tc-redirect mode:
 *                  a veth endpoint into that existing netns, the TAP made there and joined to
 *                  the veth by ingress qdiscs and u32 + mirred redirect filters both ways; the
 *                  guest takes the veth's MAC and address), "queues":1 (1-256), "owner":UID, "group":GID,
 *                  "vnet_hdr":true, "custody":"persistent"|"fd", "ip":"10.1.0.5",
 *                  "mac":"02:42:0a:01:00:05", "ports":[...as berth_network_attach]}.
 *                  "persistent": the TAP outlives Berth's fd (TUNSETPERSIST) and the VMM opens
 *                  it by name; "fd": the queue fds are returned and the device dies with the
 *                  last of them.
 * @param out_json  optional; receives {"endpoint":{endpoint}, "guest":{"mac", "address",
 *                  "prefix_length", "netmask", "gateway", "mtu", "dns":[...], "tap",
 *                  "guest_interface", "boot_parameter":"ip=<client>::<gw>:<netmask>::eth0:off"}}
 *                  (free with berth_free()).
 * @param fds       fd custody: an array of *n_fds ints that receives one fd per queue
 *                  (O_CLOEXEC). OWNERSHIP: the fds are the caller's from BERTH_OK on; close each
 *                  (the TAP goes with the last) or pass them on (SCM_RIGHTS, a VMM's fd=). On any
 *                  other status nothing is written and no fd is open. May be NULL in persistent custody.
 * @param n_fds     in: the capacity of fds (at least queues in fd custody, else
 *                  BERTH_ERR_INVALID_ARGUMENT before anything changes); out: the number of fds
 *                  written (0 in persistent custody).
 * @return BERTH_OK, BERTH_ERR_INVALID_ARGUMENT, BERTH_ERR_NETWORK_NOT_FOUND,
 *         BERTH_ERR_INVALID_INTERFACE_NAME, BERTH_ERR_INTERFACE_IN_USE (a link of that name exists),
 *         BERTH_ERR_TAP_BUSY, BERTH_ERR_TAP_FLAG_MISMATCH, BERTH_ERR_TUN_UNAVAILABLE,
 *         BERTH_ERR_ADDRESS_IN_USE, BERTH_ERR_ADDRESS_OUTSIDE_SUBNET, BERTH_ERR_ADDRESSES_EXHAUSTED,
 *         BERTH_ERR_PORT_ALLOCATED, BERTH_ERR_PERMISSION_DENIED, BERTH_ERR_STATE, BERTH_ERR_SYSTEM,
 *         BERTH_ERR_INTERNAL.
 * Thread-safe. On failure every step is undone.
 */
berth_status berth_network_attach_tap(berth_controller *BERTH_REQUIRED controller,
                                      const char *BERTH_REQUIRED network,
                                      const char *BERTH_REQUIRED tap_json,
                                      char *BERTH_NULLABLE *BERTH_NULLABLE out_json,
                                      int *BERTH_NULLABLE fds,
                                      size_t *BERTH_NULLABLE n_fds,
                                      berth_error *BERTH_NULLABLE *BERTH_NULLABLE out_error);

/**
 * Detaches an endpoint by ID or unique ID prefix: removes its port rules and veth, deletes the
 * sandbox when Berth created it, releases its address. Idempotent and best-effort: detaching an
 * unknown endpoint succeeds and sets *out_detached to false.
 *
 * @param endpoint_id   endpoint ID or unique ID prefix; required.
 * @param out_detached  optional; receives true when an endpoint was released.
 * @return BERTH_OK, BERTH_ERR_INVALID_ARGUMENT, BERTH_ERR_ENDPOINT_NOT_FOUND (ambiguous prefix),
 *         BERTH_ERR_MULTIPLE, BERTH_ERR_PERMISSION_DENIED, BERTH_ERR_STATE, BERTH_ERR_SYSTEM.
 * Thread-safe.
 */
berth_status berth_network_detach(berth_controller *BERTH_REQUIRED controller,
                                  const char *BERTH_REQUIRED endpoint_id,
                                  bool *BERTH_NULLABLE out_detached,
                                  berth_error *BERTH_NULLABLE *BERTH_NULLABLE out_error);

/**
 * Detaches the endpoint joining `sandbox` to `network` (`docker network disconnect`).
 *
 * @param network       network name, ID or unique ID prefix; required.
 * @param sandbox       nsfs path (starts with '/') or name under /run/netns; required.
 * @param out_detached  optional; receives false when no such endpoint exists (nothing changed).
 * @return BERTH_OK, BERTH_ERR_INVALID_ARGUMENT, BERTH_ERR_NETWORK_NOT_FOUND, BERTH_ERR_MULTIPLE,
 *         BERTH_ERR_PERMISSION_DENIED, BERTH_ERR_STATE, BERTH_ERR_SYSTEM.
 * Thread-safe.
 */
berth_status berth_network_detach_sandbox(berth_controller *BERTH_REQUIRED controller,
                                          const char *BERTH_REQUIRED network,
                                          const char *BERTH_REQUIRED sandbox,
                                          bool *BERTH_NULLABLE out_detached,
                                          berth_error *BERTH_NULLABLE *BERTH_NULLABLE out_error);

/**
 * Lists endpoints as a JSON array, of one network or (network NULL) of all networks.
 *
 * @param network   NULL, or a network name, ID or unique ID prefix.
 * @param out_json  receives the JSON array (free with berth_free()); required.
 * @return BERTH_OK, BERTH_ERR_INVALID_ARGUMENT, BERTH_ERR_NETWORK_NOT_FOUND, BERTH_ERR_STATE,
 *         BERTH_ERR_INTERNAL.
 * Thread-safe.
 */
berth_status berth_endpoint_list(berth_controller *BERTH_REQUIRED controller,
                                 const char *BERTH_NULLABLE network,
                                 char *BERTH_NULLABLE *BERTH_REQUIRED out_json,
                                 berth_error *BERTH_NULLABLE *BERTH_NULLABLE out_error);

/**
 * Garbage collection (`berth gc`, `NetworkController.gc`): the host set-up unless dry_run, then
 * the reconciler, which removes everything of Berth's that no record explains (objects of
 * operations that were killed, endpoints whose sandbox, veth or owner process is gone,
 * unrecorded br-<12 hex> bridges and veth<7 hex> ports on Berth's bridges, rules and DNATs of
 * unknown networks or endpoints) and repairs what records say must exist.
 *
 * @param options_json  NULL, or {"dry_run": bool, "valid_endpoints": ["<64-hex id>", ...]}:
 *                      with valid_endpoints (CNI GC's list), every recorded endpoint not listed
 *                      is released too; dry_run reports without changing anything.
 * @param out_json      receives {"dry_run": bool, "removed": [{"kind", "name", "reason"}, ...],
 *                      "repaired": [...]} (free with berth_free()); required.
 * @return BERTH_OK, BERTH_ERR_INVALID_ARGUMENT, BERTH_ERR_STATE, BERTH_ERR_STATE_CONFLICT,
 *         BERTH_ERR_PERMISSION_DENIED, BERTH_ERR_MULTIPLE, BERTH_ERR_SYSTEM, BERTH_ERR_INTERNAL.
 * Thread-safe.
 */
berth_status berth_gc(berth_controller *BERTH_REQUIRED controller,
                      const char *BERTH_NULLABLE options_json,
                      char *BERTH_NULLABLE *BERTH_REQUIRED out_json,
                      berth_error *BERTH_NULLABLE *BERTH_NULLABLE out_error);

#ifdef __cplusplus
} /* extern "C" */
#endif

#if defined(BERTH_HAVE_NULLABILITY)
#  pragma clang diagnostic pop
#endif

#endif /* BERTH_H */
