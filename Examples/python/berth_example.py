#!/usr/bin/env python3
"""berth_example.py — libberth from Python through ctypes.

Opens a controller, creates a network, attaches a sandbox that Berth creates itself (sandbox NULL),
checks the kernel with `ip -j`, detaches, deletes, closes.

Run:  berth_example.py [HOST_NETNS_PATH [STATE_DIR]]
      (or env BERTH_HOST_NETNS_PATH, BERTH_STATE_DIR, BERTH_BACKEND; BERTH_LIBRARY = path of
      libberth.so.0, default: found like the dynamic linker does)

It changes the network of the namespace it is given: run it inside a sandbox namespace
(`unshare --net --mount`), never on a machine whose network matters. Exit status 0 = all good.
"""
import ctypes
import ctypes.util
import json
import os
import subprocess
import sys

NETWORK = "pyexample"
SUBNET = "10.78.0.0/24"
GATEWAY = "10.78.0.1"

# Status codes (include/berth.h, enum berth_status_code; append-only, so fixed numbers are safe).
BERTH_OK = 0
BERTH_ERR_INVALID_ARGUMENT = 4
BERTH_ERR_NETWORK_NOT_FOUND = 9


def load_library():
    path = os.environ.get("BERTH_LIBRARY") or ctypes.util.find_library("berth") or "libberth.so.0"
    lib = ctypes.CDLL(path)
    # Results the caller frees are declared as c_void_p, so Python does not copy and lose them.
    char_out = ctypes.POINTER(ctypes.c_void_p)
    err_out = ctypes.POINTER(ctypes.c_void_p)
    sigs = {
        "berth_abi_version": (ctypes.c_uint32, []),
        "berth_status_name": (ctypes.c_char_p, [ctypes.c_int32]),
        "berth_free": (None, [ctypes.c_void_p]),
        "berth_error_status": (ctypes.c_int32, [ctypes.c_void_p]),
        "berth_error_errno": (ctypes.c_int32, [ctypes.c_void_p]),
        "berth_error_operation": (ctypes.c_char_p, [ctypes.c_void_p]),
        "berth_error_object": (ctypes.c_char_p, [ctypes.c_void_p]),
        "berth_error_message": (ctypes.c_char_p, [ctypes.c_void_p]),
        "berth_error_free": (None, [ctypes.c_void_p]),
        "berth_controller_open": (ctypes.c_int32, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                                   ctypes.POINTER(ctypes.c_void_p), err_out]),
        "berth_controller_open_with_options": (ctypes.c_int32, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                                                ctypes.POINTER(ctypes.c_void_p), err_out]),
        "berth_controller_close": (None, [ctypes.c_void_p]),
        "berth_network_create": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, char_out, err_out]),
        "berth_network_delete": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_bool, err_out]),
        "berth_network_list": (ctypes.c_int32, [ctypes.c_void_p, char_out, err_out]),
        "berth_network_inspect": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_char_p, char_out, err_out]),
        "berth_network_attach": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                                  char_out, err_out]),
        "berth_network_detach": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_bool), err_out]),
        "berth_endpoint_list": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_char_p, char_out, err_out]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


class BerthError(Exception):
    def __init__(self, lib, call, status, err):
        self.status = status
        self.status_name = lib.berth_status_name(status).decode()
        self.errno = lib.berth_error_errno(err)
        self.operation = lib.berth_error_operation(err).decode()
        self.object = lib.berth_error_object(err).decode()
        self.message = lib.berth_error_message(err).decode()
        lib.berth_error_free(err)
        super().__init__(f"{call}: {self.status_name}: {self.message}")


class Berth:
    """A thin Pythonic wrapper: every call raises BerthError on failure and returns parsed JSON."""

    def __init__(self, state_dir=None, backend=None, host_netns_path=None, options=None):
        """options: controller-wide options of berth_controller_open_with_options (e.g.
        {"userland_proxy": False}); None opens with berth_controller_open."""
        self.lib = load_library()
        handle = ctypes.c_void_p()
        if options is None:
            self._call("berth_controller_open", _b(state_dir), _b(backend), _b(host_netns_path), ctypes.byref(handle))
        else:
            self._call("berth_controller_open_with_options", _b(state_dir), _b(backend), _b(host_netns_path),
                       json.dumps(options).encode(), ctypes.byref(handle))
        self.handle = handle

    def _call(self, name, *args):
        err = ctypes.c_void_p()
        status = getattr(self.lib, name)(*args, ctypes.byref(err))
        if status != BERTH_OK:
            raise BerthError(self.lib, name, status, err)

    def _json_call(self, name, *args):
        out = ctypes.c_void_p()
        self._call(name, *args, ctypes.byref(out))
        try:
            return json.loads(ctypes.string_at(out.value).decode())
        finally:
            self.lib.berth_free(out)

    def create_network(self, name, **options):
        return self._json_call("berth_network_create", self.handle, name.encode(), json.dumps(options).encode())

    def networks(self):
        return self._json_call("berth_network_list", self.handle)

    def inspect(self, name):
        return self._json_call("berth_network_inspect", self.handle, name.encode())

    def attach(self, network, sandbox=None, **options):
        return self._json_call("berth_network_attach", self.handle, network.encode(), _b(sandbox), json.dumps(options).encode())

    def endpoints(self, network=None):
        return self._json_call("berth_endpoint_list", self.handle, _b(network))

    def detach(self, endpoint_id):
        detached = ctypes.c_bool(False)
        self._call("berth_network_detach", self.handle, endpoint_id.encode(), ctypes.byref(detached))
        return detached.value

    def delete_network(self, name, force=False):
        self._call("berth_network_delete", self.handle, name.encode(), force)

    def close(self):
        if self.handle:
            self.lib.berth_controller_close(self.handle)
            self.handle = None


def _b(text):
    return None if text is None else text.encode()


failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1


def ip_json(args, netns_path=None, netns_name=None):
    """`ip -j ARGS` in a namespace given by path (nsenter) or by name (ip -n); [] on failure."""
    cmd = ["ip", "-j"] + args
    if netns_name:
        cmd = ["ip", "-n", netns_name, "-j"] + args
    elif netns_path:
        cmd = ["nsenter", "--net=" + netns_path] + cmd
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not result.stdout.strip():
        return []
    return json.loads(result.stdout)


def main():
    host = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BERTH_HOST_NETNS_PATH")) or None
    state_dir = (sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BERTH_STATE_DIR")) or None
    backend = os.environ.get("BERTH_BACKEND") or None

    # Published ports are served by the userland proxy (dockerd's default mode): BERTH_PROXY_BIN
    # names a berth-proxy that is not at /usr/local/bin/berth-proxy.
    proxy = os.environ.get("BERTH_PROXY_BIN")
    berth = Berth(state_dir, backend, host, options={"userland_proxy_path": proxy} if proxy else None)
    print(f"libberth ABI {berth.lib.berth_abi_version()}")
    try:
        net = berth.create_network(NETWORK, subnet=SUBNET, gateway=GATEWAY, internal=False,
                                   options={"com.docker.network.bridge.enable_icc": False}, labels={"example": "python"})
        print("created:", json.dumps(net))
        check(net["subnet"] == SUBNET and net["gateway"] == GATEWAY and not net["icc"], "network JSON has the options")
        bridge = net["bridge"]
        addrs = ip_json(["addr", "show", "dev", bridge], netns_path=host)
        check(any(a.get("local") == GATEWAY for link in addrs for a in link.get("addr_info", [])),
              f"bridge {bridge} has {GATEWAY}")
        check(any(n["name"] == NETWORK for n in berth.networks()), "list has the network")

        try:
            berth.create_network("bad", frobnicate=True)
            check(False, "unknown option is refused")
        except BerthError as e:
            check(e.status == BERTH_ERR_INVALID_ARGUMENT, f"unknown option -> {e.status_name} ({e.message})")

        # sandbox=None: Berth creates a named namespace itself and deletes it on detach.
        ep = berth.attach(NETWORK, None, ports=[{"host_port": 8080, "container_port": 80}])
        print("attached:", json.dumps(ep))
        sandbox = ep["sandbox_name"]
        check(ep["created_sandbox"], f"Berth created sandbox {sandbox}")
        eth0 = ip_json(["addr", "show", "dev", "eth0"], netns_name=sandbox)
        check(any(a.get("local") == ep["address"] for link in eth0 for a in link.get("addr_info", [])),
              f"eth0 in the sandbox has {ep['address']}")
        routes = ip_json(["route", "show", "default"], netns_name=sandbox)
        check(any(r.get("gateway") == GATEWAY for r in routes), f"default route via {GATEWAY}")
        veth = ip_json(["link", "show", "dev", ep["host_interface"]], netns_path=host)
        check(bool(veth) and veth[0].get("master") == bridge, f"{ep['host_interface']} is a port of {bridge}")
        check([e["id"] for e in berth.inspect(NETWORK)["endpoints"]] == [ep["id"]], "inspect lists the endpoint")

        check(berth.detach(ep["id"]), "detach released the endpoint")
        check(not any(link["ifname"] == ep["host_interface"] for link in ip_json(["link", "show"], netns_path=host)),
              "host end is gone")
        check(not os.path.exists(f"/run/netns/{sandbox}"), f"sandbox {sandbox} is gone")
    finally:
        try:
            berth.delete_network(NETWORK, force=True)
            check(True, "network deleted")
        except BerthError as e:
            check(False, f"network deleted ({e})")
    check(not any(link["ifname"] == bridge for link in ip_json(["link", "show"], netns_path=host)), f"bridge {bridge} is gone")
    try:
        berth.inspect(NETWORK)
        check(False, "inspect after delete fails")
    except BerthError as e:
        check(e.status == BERTH_ERR_NETWORK_NOT_FOUND, f"inspect after delete -> {e.status_name}")
    berth.close()
    print("berth_example.py:", "OK" if failures == 0 else "FAILED")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
