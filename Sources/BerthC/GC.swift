@_spi(BerthInternal) import BerthNamespace
import Berth
import CBerth

/// `berth_gc` (include/berth.h): `NetworkController.gc(validEndpoints:dryRun:)`.
@c @implementation
public func berth_gc(_ controller: OpaquePointer?, _ optionsJSON: UnsafePointer<CChar>?,
                     _ outJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                     _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    outJSON?.pointee = nil
    return perform(outError) { () throws(CallError) in
        let op = OperationName.gc
        let ctrl = try requiredController(controller, op)
        let options = try JSONOptions(try optionalString(optionsJSON, "options_json", op), allowed: ["dry_run", "valid_endpoints"],
                                      operation: op, object: "options_json")
        let dryRun = try options.bool("dry_run") ?? false
        var valid: [String]?
        switch options.fields["valid_endpoints"] {
        case nil, .null?: valid = nil
        case .array(let items)?:
            valid = []
            for item in items {
                guard case .string(let id) = item else { throw options.wrongType("valid_endpoints", "an array of strings", item) }
                valid?.append(id)
            }
        case let v?: throw options.wrongType("valid_endpoints", "an array of strings", v)
        }
        let report = try api { () throws(BerthError) in try ctrl.gc(validEndpoints: valid, dryRun: dryRun) }
        try storeJSON(GCReportJSON(report), into: outJSON, op, "report")
    }
}

/// `{"dry_run": bool, "removed": [{"kind","name","reason"}], "repaired": [...]}`.
struct GCReportJSON: Encodable {
    struct Item: Encodable {
        var kind: String
        var name: String
        var reason: String
    }

    var dry_run: Bool
    var removed: [Item]
    var repaired: [Item]

    init(_ r: GCReport) {
        dry_run = r.dryRun
        removed = r.removed.map { Item(kind: $0.kind, name: $0.name, reason: $0.reason) }
        repaired = r.repaired.map { Item(kind: $0.kind, name: $0.name, reason: $0.reason) }
    }
}
