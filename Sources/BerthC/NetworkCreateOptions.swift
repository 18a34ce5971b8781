@_spi(BerthInternal) import BerthNamespace
// berth_network_create's options_json (include/berth.h) → the façade's NetworkOptions.

import Berth

/// `berth_network_create` options → `NetworkOptions`.
func networkOptions(name: String, json: String?) throws(CallError) -> NetworkOptions {
    let op = OperationName.createNetwork
    let o = try JSONOptions(json, allowed: ["subnet", "gateway", "ip_range", "internal", "options", "labels"], operation: op, object: name)
    var options = NetworkOptions(name: name)
    options.subnet = try o.string("subnet")
    options.gateway = try o.string("gateway")
    options.ipRange = try o.string("ip_range")
    options.isInternal = try o.bool("internal") ?? false
    options.labels = try o.stringMap("labels", lenient: false)
    for (key, value) in try o.stringMap("options", lenient: true).sorted(by: { $0.key < $1.key }) {
        try api { () throws(BerthError) in try options.apply(option: key, value: value) }
    }
    return options
}
