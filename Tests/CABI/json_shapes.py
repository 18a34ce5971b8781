#!/usr/bin/env python3
"""json_shapes.py HEADER HOST_NETNS_PATH STATE_DIR — the JSON and error objects of libberth.

Checks, through the Python ctypes wrapper of Examples/python/berth_example.py:
  1. every object returned by berth_network_create / _list / _inspect, berth_network_attach and
     berth_endpoint_list has exactly the keys that HEADER (include/berth.h, "JSON shapes")
     documents for it (objects with every optional value set; the others a subset);
  2. every field of Berth's own records in STATE_DIR (networks/<id>.json, endpoints/<id>.json,
     camelCase) is in the returned object under its snake_case name — the ABI mirror of the
     model cannot lose a field (the network's "hairpin" once went missing);
  3. error objects: berth_error_status() is the returned status, berth_status_name() its own
     name, the message is "<operation> <object>: <detail>", errno 0 for these caller errors.
Changes the network of HOST_NETNS_PATH: run it in a sandbox (scripts/test-c-abi.sh does).
BERTH_LIBRARY (path of libberth.so.0) and BERTH_BACKEND as for the example. Exit status 0 = all good.
"""
import glob
import json
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "Examples", "python"))
from berth_example import Berth, BerthError  # noqa: E402

failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1


def documented_shapes(header_text):
    """{"network": {...keys}, "inspect": ..., "endpoint": ..., "port": ...} from berth.h's comment."""
    section = header_text.split("JSON shapes", 1)[1].split("Versioning:", 1)[0]
    blocks, label = {}, None
    for line in section.splitlines():
        line = re.sub(r"^ \* ?", "", line)
        start = re.match(r"^(\w+):\s+(.*)", line)
        if start:
            label = start.group(1)
            blocks[label] = start.group(2)
        elif label and line.startswith(" "):
            blocks[label] += " " + line.strip()
        else:
            label = None
    # A key is a quoted snake_case word followed by ':', ',' or '}' (values such as "a.b.c.d/n" are not).
    shapes = {name: set(re.findall(r'"([a-z_]+)"(?=\s*[:,}])', text)) for name, text in blocks.items()}
    shapes["inspect"] |= shapes["network"]
    return shapes


def snake(key):
    """The ABI spelling of a record key: networkID -> network_id, bridgeMAC -> bridge_mac."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower()


# Keys the C ABI cannot set: the owner of a sandbox is only recorded by `berth run`. A port has
# host_ip or host_ip6, never both (the IPv6 one is checked on its own below).
NOT_SETTABLE = {"owner", "host_ip", "host_ip6"}


def same_keys(obj, keys, what):
    keys = keys - (NOT_SETTABLE - obj.keys())
    missing, extra = sorted(keys - obj.keys()), sorted(obj.keys() - keys)
    check(not missing and not extra, f"{what}: keys as berth.h documents (missing {missing}, undocumented {extra})")


def sub_keys(obj, keys, what):
    extra = sorted(obj.keys() - keys)
    check(not extra, f"{what}: only keys berth.h documents (undocumented {extra})")


def record_keys_present(record_path, obj, what):
    with open(record_path) as f:
        record = json.load(f)
    missing = sorted(snake(k) for k in record if snake(k) not in obj)
    check(not missing, f"{what}: every field of {os.path.basename(os.path.dirname(record_path))}/"
                       f"{os.path.basename(record_path)[:12]}… (missing {missing})")
    return record


def expect_error(berth, status_name, what, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
        check(False, f"{what} -> {status_name} (it succeeded)")
        return
    except BerthError as e:
        prefix = f"{e.operation} {e.object}: " if e.object else f"{e.operation}: "
        check(e.status_name == status_name and berth.lib.berth_status_name(e.status).decode() == status_name,
              f"{what} -> {status_name} (got {e.status_name})")
        check(e.operation != "" and e.message.startswith(prefix) and len(e.message) > len(prefix) and e.errno == 0,
              f"{what}: error object operation '{e.operation}', object '{e.object}', message '{e.message}', errno {e.errno}")


def main():
    header, host, state = sys.argv[1], sys.argv[2], sys.argv[3]
    backend = os.environ.get("BERTH_BACKEND") or "iptables"
    shapes = documented_shapes(open(header).read())
    check({"network", "inspect", "endpoint", "port"} <= shapes.keys() and all(shapes.values()),
          f"berth.h documents network, inspect, endpoint and port keys ({sorted(shapes)})")

    # The shapes need no proxy process: Docker's --userland-proxy=false mode unless a proxy is given.
    proxy = os.environ.get("BERTH_PROXY_BIN")
    berth = Berth(state, backend, host, options={"userland_proxy_path": proxy} if proxy else {"userland_proxy": False})
    try:
        # Every optional value set: ip_range, mtu; labels; IPv6 with its gateway and range; a static
        # address (both families), a port with host_ip and one with an IPv6 host_ip.
        net = berth.create_network("shapes", subnet="10.79.0.0/24", gateway="10.79.0.1", ip_range="10.79.0.128/25",
                                   ipv6=True, subnet6="fd00:79::/64", gateway6="fd00:79::1", ip_range6="fd00:79::/80",
                                   options={"com.docker.network.driver.mtu": "1400",
                                            "com.docker.network.bridge.hairpin": "true"},
                                   labels={"camelCase.key": "v"})
        same_keys(net, shapes["network"], "create")
        check(net["labels"] == {"camelCase.key": "v"} and net["hairpin"] is True and net["mtu"] == 1400,
              "create: label keys are not renamed; hairpin and mtu as given")
        record_keys_present(os.path.join(state, "networks", net["id"] + ".json"), net, "create")

        listed = berth.networks()
        for n in listed:
            sub_keys(n, shapes["network"], f"list: {n['name']}")
        mine = [n for n in listed if n["id"] == net["id"]]
        check(len(mine) == 1, "list: has the network")
        if mine:
            same_keys(mine[0], shapes["network"], "list: shapes")
            record_keys_present(os.path.join(state, "networks", net["id"] + ".json"), mine[0], "list")

        ep = berth.attach("shapes", "shapes-sbx", create_sandbox=True, ip="10.79.0.5", ip6="fd00:79::5", mac="02:42:0a:4f:00:05",
                          ports=[{"host_port": 8081, "container_port": 80, "proto": "tcp", "host_ip": "0.0.0.0"},
                                 {"host_port": 8082, "container_port": 80, "proto": "tcp", "host_ip": "::"}])
        same_keys(ep, shapes["endpoint"], "attach")
        check(net.get("subnet6") == "fd00:79::/64" and net.get("enable_ipv6") is True, "create: IPv6 subnet as given")
        check(ep.get("cidr6") == "fd00:79::5/64" and ep.get("gateway6") == "fd00:79::1", "attach: IPv6 address and gateway")
        check(len(ep["ports"]) == 2 and ep["ports"][1].get("host_ip6") == "::" and "host_ip" not in ep["ports"][1]
              and ep["ports"][0].get("host_ip") == "0.0.0.0", "attach: two ports, the second IPv6 only on ::")
        for p in ep["ports"]:
            same_keys(p, shapes["port"], "attach: port")
        record = record_keys_present(os.path.join(state, "endpoints", ep["id"] + ".json"), ep, "attach")
        for i, p in enumerate(record.get("ports", [])):
            missing = sorted(snake(k) for k in p if snake(k) not in ep["ports"][i])
            check(not missing, f"attach: every field of the record's ports[{i}] (missing {missing})")

        listed_eps = berth.endpoints("shapes")
        check([e["id"] for e in listed_eps] == [ep["id"]], "endpoint list: has the endpoint")
        for e in listed_eps:
            same_keys(e, shapes["endpoint"], "endpoint list")
            record_keys_present(os.path.join(state, "endpoints", e["id"] + ".json"), e, "endpoint list")

        details = berth.inspect("shapes")
        same_keys(details, shapes["inspect"], "inspect")
        record_keys_present(os.path.join(state, "networks", net["id"] + ".json"), details, "inspect")
        for e in details.get("endpoints", []):
            same_keys(e, shapes["endpoint"], "inspect: endpoint")
            for p in e["ports"]:
                same_keys(p, shapes["port"], "inspect: endpoint port")
        check(len(glob.glob(os.path.join(state, "endpoints", "*.json"))) == 1, "the state directory holds one endpoint record")

        # Error objects, one per kind of status the ABI maps (the two newest included).
        expect_error(berth, "BERTH_ERR_NETWORK_NOT_FOUND", "inspect an unknown network", berth.inspect, "nope")
        expect_error(berth, "BERTH_ERR_DUPLICATE_NAME", "create a second 'shapes'", berth.create_network, "shapes")
        expect_error(berth, "BERTH_ERR_INVALID_ARGUMENT", "create with an unknown key", berth.create_network, "x", subnt="1")
        expect_error(berth, "BERTH_ERR_PORT_ALLOCATED", "publish host port 8081 twice", berth.attach, "shapes", None,
                     ports=[{"host_port": 8081, "container_port": 81}])
        other = "nftables" if backend == "iptables" else "iptables"
        expect_error(berth, "BERTH_ERR_STATE_CONFLICT", f"open the state directory with {other}", Berth, state, other, host)

        check(berth.detach(ep["id"]), "detach")
    finally:
        try:
            berth.delete_network("shapes", force=True)
        except BerthError as e:
            check(False, f"delete the network ({e})")
        berth.close()
    print("json_shapes.py:", "OK" if failures == 0 else "FAILED")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
