// The value and error types of the lower layers that the façade's API carries, re-exported so a
// Swift user needs `import Berth` only. Everything else of BerthNamespace, BerthNetlink and
// BerthFirewall is `package` (the wire layer is not part of the public API).
@_exported import struct BerthNetlink.IPv4Address
@_exported import struct BerthNetlink.IPv6Address
@_exported import enum BerthNetlink.IPAddress
@_exported import struct BerthNetlink.IPv4Subnet
@_exported import struct BerthNetlink.IPv6Subnet
@_exported import struct BerthNetlink.MACAddress
@_exported import struct BerthNetlink.NetlinkError
@_exported import struct BerthFirewall.PortMapping
@_exported import enum BerthFirewall.DirectRoutingProtection
@_exported import enum BerthFirewall.FirewallBackendKind
@_exported import enum BerthFirewall.ForwardDropMode
@_exported import struct BerthFirewall.FirewallError
@_exported import struct BerthNamespace.NamespaceError
@_exported import struct BerthNamespace.ProcessFailure
@_exported import struct BerthNamespace.Errno
@_exported import struct BerthNamespace.ErrorContext
@_exported import protocol BerthNamespace.LayerError
@_exported import struct BerthNamespace.OperationName
