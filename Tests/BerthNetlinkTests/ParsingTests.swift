@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import Testing

@Suite("Netlink reply parsing and session validation (no privileges)")
struct ParsingTests {
    @Test func severalMessagesInOneBuffer() throws {
        let buffer = Reply.message(type: RTNL.RTM_NEWLINK, flags: RTNL.NLM_F_MULTI, seq: 9, payload: Reply.link(index: 1, name: "lo"))
            + Reply.message(type: RTNL.RTM_NEWLINK, flags: RTNL.NLM_F_MULTI, seq: 9, payload: Reply.link(index: 2, name: "br0", kind: "bridge"))
            + Reply.done(seq: 9)
        let messages = try NetlinkParser.messages(in: buffer, operation: .test, object: "t")
        #expect(messages.map(\.type) == [RTNL.RTM_NEWLINK, RTNL.RTM_NEWLINK, RTNL.NLMSG_DONE])
        let link = try RouteDecoding.link(messages[1], operation: .test, object: "t")
        #expect(link.name == "br0" && link.kind == "bridge" && link.index == 2 && link.mtu == 1500)
    }

    @Test func dumpOverMockSessionCollectsEveryDatagramUntilDone() throws {
        let mock = MockTransport()
        mock.replies = [
            { Reply.message(type: RTNL.RTM_NEWLINK, flags: RTNL.NLM_F_MULTI, seq: $0, payload: Reply.link(index: 1, name: "lo")) },
            { Reply.message(type: RTNL.RTM_NEWLINK, flags: RTNL.NLM_F_MULTI, seq: $0, payload: Reply.link(index: 7, name: "eth0"))
                + Reply.done(seq: $0) },
        ]
        let session = NetlinkSession(transport: mock)
        let links = try session.links()
        #expect(links.map(\.name) == ["lo", "eth0"])
        // The request was a dump with our port id and sequence 1.
        let sent = try #require(mock.sent.first)
        #expect(ByteReader(sent).read(UInt16.self, at: 6) == RTNL.NLM_F_REQUEST | RTNL.NLM_F_DUMP)
        #expect(ByteReader(sent).read(UInt32.self, at: 8) == 1)
        #expect(ByteReader(sent).read(UInt32.self, at: 12) == 4242)
    }

    @Test func eachRequestGetsItsOwnSequenceNumber() throws {
        let mock = MockTransport()
        mock.replies = [{ Reply.ack(seq: $0) }, { Reply.ack(seq: $0) }]
        let session = NetlinkSession(transport: mock, firstSequence: 100)
        _ = try session.request(LinkRequest.delete(index: 3), operation: .test, object: "t")
        _ = try session.request(LinkRequest.delete(index: 4), operation: .test, object: "t")
        #expect(mock.sent.map { ByteReader($0).read(UInt32.self, at: 8) } == [100, 101])
    }

    @Test func interruptedDumpIsRetried() throws {
        let mock = MockTransport()
        mock.replies = [
            { Reply.message(type: RTNL.RTM_NEWLINK, flags: RTNL.NLM_F_MULTI | RTNL.NLM_F_DUMP_INTR, seq: $0, payload: Reply.link(index: 1, name: "stale"))
                + Reply.done(seq: $0, flags: RTNL.NLM_F_MULTI | RTNL.NLM_F_DUMP_INTR) },
            { Reply.message(type: RTNL.RTM_NEWLINK, flags: RTNL.NLM_F_MULTI, seq: $0, payload: Reply.link(index: 1, name: "fresh"))
                + Reply.done(seq: $0) },
        ]
        let links = try NetlinkSession(transport: mock).links()
        #expect(links.map(\.name) == ["fresh"])
        #expect(mock.sent.count == 2)
    }

    @Test func kernelErrorCarriesErrnoOperationObjectAndExtAck() {
        let mock = MockTransport()
        mock.replies = [{ Reply.ack(seq: $0, errno: 17, extAck: "Link already exists") }]
        let session = NetlinkSession(transport: mock)
        do {
            _ = try session.request(LinkRequest.newBridge(name: "br-1a2b3c4d5e6f"), operation: .createBridge, object: "br-1a2b3c4d5e6f")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .exists)
            #expect(error.errno == 17)
            #expect(error.kernelMessage == "Link already exists")
            #expect(error.description == "create bridge br-1a2b3c4d5e6f: File exists (Link already exists)")
        }
    }

    @Test func replyForAnotherPortOrSequenceIsRejected() {
        let wrongPort = MockTransport()
        wrongPort.replies = [{ Reply.ack(seq: $0, port: 1) }]
        #expect { try NetlinkSession(transport: wrongPort).request(LinkRequest.delete(index: 1), operation: .test, object: "t") } throws: {
            ($0 as? NetlinkError)?.code == .malformedReply
        }
        let futureSeq = MockTransport()
        futureSeq.replies = [{ Reply.ack(seq: $0 + 5) }]
        #expect { try NetlinkSession(transport: futureSeq).request(LinkRequest.delete(index: 1), operation: .test, object: "t") } throws: {
            ($0 as? NetlinkError)?.code == .malformedReply
        }
        // A late reply to an earlier request is skipped, then our ACK is taken.
        let stale = MockTransport()
        stale.replies = [{ Reply.ack(seq: $0 - 1) + Reply.ack(seq: $0) }]
        #expect(throws: Never.self) {
            try NetlinkSession(transport: stale, firstSequence: 10).request(LinkRequest.delete(index: 1), operation: .test, object: "t")
        }
    }

    @Test func truncatedRepliesAreTypedErrors() throws {
        let full = Reply.message(type: RTNL.RTM_NEWLINK, seq: 1, payload: Reply.link(index: 2, name: "br0", kind: "bridge"))
        for cut in [3, 15, 20, full.count - 1] {
            #expect { try NetlinkParser.messages(in: Array(full.prefix(cut)), operation: .test, object: "t") } throws: {
                ($0 as? NetlinkError)?.code == .truncatedReply
            }
        }
        // A header that claims less than its own size.
        var short = full
        short[0] = 8; short[1] = 0; short[2] = 0; short[3] = 0
        #expect { try NetlinkParser.messages(in: short, operation: .test, object: "t") } throws: {
            ($0 as? NetlinkError)?.code == .malformedReply
        }
        // A message whose payload is shorter than struct ifinfomsg.
        let tiny = NetlinkMessage(type: RTNL.RTM_NEWLINK, flags: 0, sequence: 1, portID: 0, payload: [0, 0, 1])
        #expect { try RouteDecoding.link(tiny, operation: .test, object: "t") } throws: {
            ($0 as? NetlinkError)?.code == .truncatedReply
        }
    }

    @Test func garbageNeverCrashes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let count = Int.random(in: 0...96, using: &generator)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if let messages = try? NetlinkParser.messages(in: bytes, operation: .test, object: "t") {
                for m in messages {
                    _ = try? RouteDecoding.link(m, operation: .test, object: "t")
                    _ = try? RouteDecoding.address(m, operation: .test, object: "t")
                    _ = try? RouteDecoding.route(m, operation: .test, object: "t")
                    _ = try? RouteDecoding.error(m, operation: .test, object: "t")
                }
            }
        }
    }

    @Test(arguments: ["", "a-name-of-16-byt", "with/slash", "with space", "with:colon", "tab\tname", ".", ".."])
    func invalidLinkNamesAreRefusedBeforeSending(_ name: String) {
        let mock = MockTransport()
        #expect { try NetlinkSession(transport: mock).createBridge(name: name) } throws: {
            ($0 as? NetlinkError)?.code == .invalidName
        }
        #expect(mock.sent.isEmpty)
    }

    @Test func addressAndSubnetParsing() throws {
        #expect(IPv4Address("172.17.0.1")?.description == "172.17.0.1")
        #expect(IPv4Address("256.1.1.1") == nil)
        #expect(IPv4Address("1.2.3") == nil)
        #expect(IPv4Address("01.2.3.4a") == nil)
        #expect(IPv4Address("010.1.0.0") == nil)   // leading zero: octal or decimal? refused
        #expect(IPv4Address("10.0.0.0")?.description == "10.0.0.0")
        let s = try #require(IPv4Subnet("172.18.5.9/16"))
        #expect(s.network.description == "172.18.0.0" && s.broadcast.description == "172.18.255.255")
        #expect(s.overlaps(try #require(IPv4Subnet("172.18.128.0/20"))))
        #expect(!s.overlaps(try #require(IPv4Subnet("172.19.0.0/16"))))
        #expect(IPv4Subnet("10.0.0.0/33") == nil)
        #expect(MACAddress.docker(for: try #require(IPv4Address("172.17.0.2"))).description == "02:42:ac:11:00:02")
        #expect(IPv6Address("fe80::1")?.description == "fe80::1")
    }
}
