@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import CNftnl
import Testing
@_spi(BerthInternal) @testable import BerthFirewall

/// The nftables channel over a scripted transport (no privileges): the nf_tables exchanges go
/// through the Netlink engine, and every failure is a `FirewallError` that keeps its cause.
@Suite("nftables channel over the netlink engine (no privileges)")
struct NftChannelTests {
    static let object = "ip berth in test"

    static func channel(_ mock: NftMockTransport, firstSequence: UInt32 = 1000) -> NftChannel {
        NftChannel(transport: mock, object: object, firstSequence: firstSequence)
    }

    static let commands: [NftCommand] = [.addTable, .addChain("a", hook: nil), .addChain("b", hook: nil), .flushChain("c")]

    @Test func commitSendsOneBatchMatchedBySequence() throws {
        let mock = NftMockTransport()
        mock.replies = [{ seqs in seqs[1...4].reversed().flatMap { NftReply.ack(seq: $0) } }]
        try Self.channel(mock).commit(Self.commands, encoder: NftMessageEncoder(table: "berth"), operation: .test)
        #expect(mock.sent.count == 1)
        let messages = mock.lastMessages
        #expect(messages.map(\.sequence) == Array(1000...1005))
        #expect(messages.first?.type == UInt16(NFNL_MSG_BATCH_BEGIN) && messages.last?.type == UInt16(NFNL_MSG_BATCH_END))
        // Apart from nlmsg_seq, each message is exactly what the encoder builds.
        let encoder = NftMessageEncoder(table: "berth")
        for (i, command) in Self.commands.enumerated() {
            #expect(messages[i + 1].wireBytes == (try encoder.encode(command, seq: UInt32(1001 + i), setID: 0)))
        }
        #expect(mock.reserved.count == 1 && mock.reserved[0].receive == 1 << 18 && mock.reserved[0].send == 0)
    }

    @Test func commitErrorNamesTheFailingCommandAndCountsTheOthers() {
        let mock = NftMockTransport()
        mock.replies = [
            { s in NftReply.ack(seq: s[1]) + NftReply.ack(seq: s[3], errno: 2) },
            { s in NftReply.ack(seq: s[2], errno: 17, extAck: "Chain exists") + NftReply.ack(seq: s[4]) },
        ]
        do {
            try Self.channel(mock).commit(Self.commands, encoder: NftMessageEncoder(table: "berth"), operation: OperationName("add network"))
            Issue.record("expected an error")
        } catch {
            // The first failing command in batch order, not in arrival order.
            #expect(error.code == .rejected && error.errno == 17)
            #expect(error.description == "add network ip berth in test: add chain a: Chain exists (File exists); 1 more message(s) failed")
            guard case .netlink(let cause)? = error.cause else { Issue.record("no netlink cause"); return }
            #expect(cause.isRefusal && cause.errno == 17 && cause.code == .exists && cause.kernelMessage == "Chain exists")
        }
    }

    @Test func refusalOfTheWholeBatch() {
        let mock = NftMockTransport()
        mock.replies = [{ s in NftReply.ack(seq: s[0], errno: 1) }]  // EPERM on BATCH_BEGIN, nothing else follows
        #expect { try Self.channel(mock).commit(Self.commands, encoder: NftMessageEncoder(table: "berth"), operation: .test) } throws: {
            guard let e = $0 as? FirewallError, case .netlink(let cause)? = e.cause else { return false }
            return e.code == .missingCapability && e.errno == 1 && e.detail == "batch: Operation not permitted"
                && cause.isRefusal && cause.code == .permissionDenied
        }
        let bad = NftMockTransport()
        bad.replies = [{ s in NftReply.ack(seq: s[5], errno: 22, extAck: "bad batch") }]  // EINVAL on BATCH_END
        #expect { try Self.channel(bad).commit(Self.commands, encoder: NftMessageEncoder(table: "berth"), operation: .test) } throws: {
            ($0 as? FirewallError)?.code == .rejected && ($0 as? FirewallError)?.detail == "batch: bad batch (Invalid argument)"
        }
    }

    @Test func dumpIsRetriedWhileInterrupted() throws {
        let mock = NftMockTransport()
        let intr = RTNL.NLM_F_MULTI | RTNL.NLM_F_DUMP_INTR
        mock.replies = [
            { s in NftReply.table("stale", seq: s[0], flags: intr) + NftReply.done(seq: s[0], flags: intr) },
            { s in NftReply.table("berth", seq: s[0]) },
            { s in NftReply.table("other", seq: s[0]) + NftReply.done(seq: s[0]) },
        ]
        let tables = try Self.channel(mock).dump(NFT_MSG_GETTABLE, table: nil, operation: .test)
        #expect(mock.sent.count == 2)
        #expect(try tables.map { try $0.attributes(operation: .test, object: "t")[1]?.netlinkString } == ["berth", "other"])
        #expect(tables.first?.bytes == NftReply.table("berth", seq: 1001))
        // The request is the encoder's, with the engine's sequence number.
        #expect(mock.sent[1] == (try NftMessageEncoder.dumpRequest(NFT_MSG_GETTABLE, table: nil, seq: 1001)))
        #expect(mock.reserved.isEmpty)
    }

    @Test func dumpFailsAfterTheRetryLimit() {
        let mock = NftMockTransport()
        mock.replies = Array(repeating: { s in NftReply.done(seq: s[0], flags: RTNL.NLM_F_MULTI | RTNL.NLM_F_DUMP_INTR) },
                             count: NetlinkEngine.dumpAttempts)
        #expect { try Self.channel(mock).dump(NFT_MSG_GETRULE, table: "berth", operation: .test) } throws: {
            guard let e = $0 as? FirewallError, case .netlink(let cause)? = e.cause else { return false }
            return e.code == .system && e.errno == nil && cause.code == .dumpInterrupted
        }
        #expect(mock.sent.count == NetlinkEngine.dumpAttempts)
    }

    @Test func dumpRefusalIsRejectedWithTheKernelText() {
        let mock = NftMockTransport()
        mock.replies = [{ s in NftReply.ack(seq: s[0], errno: 2, extAck: "No such set") }]
        #expect { try Self.channel(mock).dump(NFT_MSG_GETSETELEM, table: "berth", set: "x", operation: .test) } throws: {
            guard let e = $0 as? FirewallError, case .netlink(let cause)? = e.cause else { return false }
            return e.code == .rejected && e.errno == 2 && e.detail == "No such set (No such file or directory)" && cause.isRefusal
        }
    }

    @Test func queryMatchesEachAnswerBySequence() throws {
        let mock = NftMockTransport()
        let queries: [NftQuery] = [.table, .chain("forward"), .set("bridges")]
        mock.replies = [
            { s in NftReply.ack(seq: s[2]) + NftReply.ack(seq: s[1], errno: 2) },
            { s in NftReply.table("berth", seq: s[0], flags: 0) + NftReply.ack(seq: s[0]) },
        ]
        let replies = try Self.channel(mock).query(queries, table: "berth", operation: .test)
        #expect(mock.sent.count == 1 && mock.lastMessages.count == 3)
        #expect(replies.map(\.errno) == [0, 2, 0])
        #expect(replies.map(\.messages.count) == [1, 0, 0])
        #expect(replies[1].error?.isRefusal == true)
        #expect(mock.reserved.count == 1 && mock.reserved[0].receive == 1 << 18)
    }

    @Test func queryRefusalReachesTheSnapshotReaderWithItsCause() {
        let mock = NftMockTransport()
        // The table GET is refused with EINVAL; every other lookup says "absent".
        mock.replies = [{ s in NftReply.ack(seq: s[0], errno: 22, extAck: "bad table") + s.dropFirst().flatMap { NftReply.ack(seq: $0, errno: 2) } }]
        #expect { try NftSnapshotReader.read(table: "berth", scope: .network("br0"), channel: Self.channel(mock)) } throws: {
            guard let e = $0 as? FirewallError, case .netlink(let cause)? = e.cause else { return false }
            return e.code == .rejected && e.errno == 22 && e.detail == "table: bad table" && cause.kernelMessage == "bad table"
        }
    }

    @Test func repliesForAnotherPortOrFromAnotherSenderAreRejected() {
        for sender in [UInt32(0), 4321] {
            let mock = NftMockTransport()
            mock.senderPort = sender
            mock.replies = [{ s in NftReply.ack(seq: s[1], port: sender == 0 ? 9 : 777) }]
            #expect { try Self.channel(mock).commit([.addTable], encoder: NftMessageEncoder(table: "berth"), operation: .test) } throws: {
                guard let e = $0 as? FirewallError, case .netlink(let cause)? = e.cause else { return false }
                return e.code == .system && e.errno == nil && cause.code == .malformedReply && e.description.hasPrefix("t ip berth in test: netlink: reply ")
            }
        }
    }

    @Test func lateRepliesToAnEarlierExchangeAreSkipped() throws {
        let mock = NftMockTransport()
        mock.replies = [{ s in NftReply.ack(seq: s[0] - 2, errno: 17) + NftReply.ack(seq: s[1]) }]
        try Self.channel(mock, firstSequence: 50).commit([.addTable], encoder: NftMessageEncoder(table: "berth"), operation: .test)
    }

    @Test func socketFailuresAreSystemErrorsWithTheirCause() {
        let mock = NftMockTransport()  // no reply scripted: the receive times out
        #expect { try Self.channel(mock).commit([.addTable], encoder: NftMessageEncoder(table: "berth"), operation: .test) } throws: {
            guard let e = $0 as? FirewallError, case .netlink(let cause)? = e.cause else { return false }
            return e.code == .system && e.errno == 11 && cause.code == .timeout
        }
    }
}
