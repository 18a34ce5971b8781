@_spi(BerthInternal) import BerthNamespace
// berth_network_create's options_json (include/berth.h) → the façade's NetworkOptions.

import Berth

/// `berth_network_create` options → `NetworkOptions`.
func networkOptions(name: String, json: String?) throws(CallError) -> NetworkOptions {
    let op = OperationName.createNetwork
    let o = try JSONOptions(json, allowed: ["subnet", "gateway", "ip_range", "internal", "options", "labels",
                                                   "ipv6", "subnet6", "gateway6", "ip_range6"], operation: op, object: name)
    var options = NetworkOptions(name: name)
    options.subnet = try o.string("subnet")
    options.gateway = try o.string("gateway")
    options.ipRange = try o.string("ip_range")
    options.isInternal = try o.bool("internal") ?? false
    options.enableIPv6 = try o.bool("ipv6") ?? false
    options.subnet6 = try o.string("subnet6")
    options.gateway6 = try o.string("gateway6")
    options.ipRange6 = try o.string("ip_range6")
    options.labels = try o.stringMap("labels", lenient: false)
    for (key, value) in try o.stringMap("options", lenient: true).sorted(by: { $0.key < $1.key }) {
        try api { () throws(BerthError) in try options.apply(option: key, value: value) }
    }
    return options
}
