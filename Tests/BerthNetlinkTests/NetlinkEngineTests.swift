@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import Testing

/// The engine's exchanges and reply checks over the scripted transport (no privileges).
@Suite("Netlink engine: exchanges and reply checks (no privileges)")
struct NetlinkEngineTests {
    /// A request of `type` with NLM_F_REQUEST|NLM_F_ACK and one u32 attribute, seq 0.
    static func message(_ type: UInt16 = 100, value: UInt32 = 0) -> [UInt8] {
        var b = NetlinkMessageBuilder(type: type, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK)
        b.attribute(1, u32: value)
        return b.finish(sequence: 0)
    }

    static func sequences(_ datagram: [UInt8]) throws -> [UInt32] {
        try NetlinkParser.messages(in: datagram, operation: .test, object: "t").map(\.sequence)
    }

    @Test func requestStampsOnlyTheSequence() throws {
        let mock = MockTransport()
        mock.replies = [{ Reply.message(type: 101, seq: $0, payload: [1, 2, 3, 4]) + Reply.ack(seq: $0) }]
        let engine = NetlinkEngine(transport: mock, firstSequence: 77)
        let request = Self.message()
        let objects = try engine.request(request, operation: .test, object: "t")
        #expect(objects.map(\.type) == [101] && objects.first?.payload == [1, 2, 3, 4])
        var expected = request
        expected[8] = 77
        #expect(mock.sent == [expected])
        #expect(mock.reserved.isEmpty)
    }

    @Test func sequenceRangesNeverContainZero() throws {
        let mock = MockTransport()
        mock.replies = [{ Reply.ack(seq: $0) + Reply.ack(seq: $0 + 1) + Reply.ack(seq: $0 + 2) }, { Reply.ack(seq: $0) }]
        let engine = NetlinkEngine(transport: mock, firstSequence: UInt32.max - 1)
        _ = try engine.query([Self.message(), Self.message(), Self.message()], operation: .test, object: "t")
        _ = try engine.request(Self.message(), operation: .test, object: "t")
        #expect(try Self.sequences(mock.sent[0]) == [1, 2, 3])
        #expect(try Self.sequences(mock.sent[1]) == [4])
    }

    @Test func queryMatchesRepliesBySequenceInAnyOrder() throws {
        let mock = MockTransport()
        mock.replies = [
            { Reply.ack(seq: $0 + 2) + Reply.ack(seq: $0 + 1, errno: 2, extAck: "No such table") },
            { Reply.message(type: 110, seq: $0, payload: [9, 9, 9, 9]) + Reply.ack(seq: $0) },
        ]
        let engine = NetlinkEngine(transport: mock, firstSequence: 500)
        let replies = try engine.query([Self.message(), Self.message(), Self.message()], operation: .test, object: "t")
        #expect(mock.sent.count == 1)
        #expect(try Self.sequences(mock.sent[0]) == [500, 501, 502])
        #expect(replies.count == 3)
        #expect(replies[0].error == nil && replies[0].messages.map(\.payload) == [[9, 9, 9, 9]])
        #expect(replies[1].messages.isEmpty && replies[1].error?.errno == 2 && replies[1].error?.isRefusal == true)
        #expect(replies[1].error?.code == .notFound && replies[1].error?.kernelMessage == "No such table")
        #expect(replies[2] == NetlinkReply())
        // Up to two page-sized skbs per answer, at least 256 KiB.
        #expect(mock.reserved.map(\.receive) == [1 << 18] && mock.reserved.map(\.send) == [0])
    }

    @Test func transactionCollectsEveryMessagesAnswer() throws {
        let mock = MockTransport()
        // begin = s, messages s+1…s+3, end = s+4; answers arrive out of order over two datagrams.
        mock.replies = [
            { Reply.ack(seq: $0 + 3, errno: 17, extAck: "exists") + Reply.ack(seq: $0 + 1) },
            { Reply.ack(seq: $0 + 2, errno: 2) },
        ]
        let engine = NetlinkEngine(transport: mock, firstSequence: 40)
        let reply = try engine.transaction(begin: Self.message(16), [Self.message(), Self.message(), Self.message()],
                                           end: Self.message(17), operation: .test, object: "t")
        #expect(try Self.sequences(mock.sent[0]) == [40, 41, 42, 43, 44])
        #expect(reply.refusal == nil && !reply.succeeded)
        #expect(reply.errors.map { $0?.errno } == [nil, 2, 17])
        #expect(reply.failures.map(\.index) == [1, 2])
        #expect(reply.errors[2]?.kernelMessage == "exists" && reply.errors[2]?.code == .exists)
        #expect(mock.reserved.count == 1 && mock.reserved[0].receive == 1 << 18)
    }

    @Test func errorOnBatchBeginOrEndRefusesTheWholeBatch() throws {
        for end in [false, true] {
            let mock = MockTransport()
            // Only the refusal comes back: the engine must not wait for per-message answers.
            mock.replies = [{ Reply.ack(seq: end ? $0 + 3 : $0, errno: 1) }]
            let reply = try NetlinkEngine(transport: mock).transaction(
                begin: Self.message(16), [Self.message(), Self.message()], end: Self.message(17), operation: .test, object: "t")
            #expect(reply.refusal?.errno == 1 && reply.refusal?.code == .permissionDenied && reply.refusal?.isRefusal == true)
            #expect(reply.errors == [nil, nil] && reply.failures.isEmpty && !reply.succeeded)
        }
    }

    @Test func transactionRefusesMessagesThatAskForNoAnswer() {
        let mock = MockTransport()
        let silent = NetlinkMessageBuilder(type: 100, flags: RTNL.NLM_F_REQUEST).finish(sequence: 0)
        #expect { try NetlinkEngine(transport: mock).transaction(begin: Self.message(16), [Self.message(), silent],
                                                                  end: Self.message(17), operation: .test, object: "t") } throws: {
            ($0 as? NetlinkError)?.code == .invalidArgument
        }
        #expect(mock.sent.isEmpty)
    }

    @Test func largeBatchGrowsTheSendBuffer() throws {
        let mock = MockTransport()
        var big = NetlinkMessageBuilder(type: 100, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK)
        big.attribute(1, [UInt8](repeating: 7, count: 4000))
        let messages = [[UInt8]](repeating: big.finish(sequence: 0), count: 300)
        mock.replies = [{ first in (1...300).flatMap { Reply.ack(seq: first + UInt32($0)) } }]
        let reply = try NetlinkEngine(transport: mock).transaction(begin: Self.message(16), messages, end: Self.message(17),
                                                                   operation: .test, object: "t")
        #expect(reply.succeeded)
        let size = mock.sent[0].count
        #expect(size > 100_000)
        #expect(mock.reserved.count == 1 && mock.reserved[0].receive == 300 * 1024 && mock.reserved[0].send == size + 65536)
    }

    @Test func dumpRetriesWhileInterruptedThenGivesUp() {
        let mock = MockTransport()
        mock.replies = Array(repeating: { Reply.done(seq: $0, flags: RTNL.NLM_F_MULTI | RTNL.NLM_F_DUMP_INTR) },
                             count: NetlinkEngine.dumpAttempts)
        let dump = NetlinkMessageBuilder(type: RTNL.RTM_GETLINK, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_DUMP).finish(sequence: 0)
        #expect { try NetlinkEngine(transport: mock).dump(dump, operation: .test, object: "t") } throws: {
            ($0 as? NetlinkError)?.code == .dumpInterrupted && ($0 as? NetlinkError)?.isRefusal == false
        }
        #expect(mock.sent.count == NetlinkEngine.dumpAttempts)
    }

    @Test func dumpErrorsAreRefusals() {
        let dump = NetlinkMessageBuilder(type: RTNL.RTM_GETLINK, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_DUMP).finish(sequence: 0)
        let viaError = MockTransport()
        viaError.replies = [{ Reply.ack(seq: $0, errno: 2) }]
        let viaDone = MockTransport()
        viaDone.replies = [{ Reply.message(type: RTNL.NLMSG_DONE, flags: RTNL.NLM_F_MULTI, seq: $0, payload: withUnsafeBytes(of: Int32(-1)) { Array($0) }) }]
        for (mock, errno) in [(viaError, Int32(2)), (viaDone, Int32(1))] {
            #expect { try NetlinkEngine(transport: mock).dump(dump, operation: .test, object: "t") } throws: {
                ($0 as? NetlinkError)?.errno == Errno(errno) && ($0 as? NetlinkError)?.isRefusal == true
            }
        }
    }

    @Test func repliesFromOtherSendersPortsOrFutureSequencesAreRejected() {
        func expectMalformed(_ configure: (MockTransport) -> Void) {
            let mock = MockTransport()
            configure(mock)
            #expect { try NetlinkEngine(transport: mock).request(Self.message(), operation: .test, object: "t") } throws: {
                ($0 as? NetlinkError)?.code == .malformedReply
            }
        }
        expectMalformed { $0.replies = [{ Reply.ack(seq: $0) }]; $0.senderPort = 99 }     // not the kernel
        expectMalformed { $0.replies = [{ Reply.ack(seq: $0, port: 1) }] }                // another port
        expectMalformed { $0.replies = [{ Reply.ack(seq: $0 &+ 1) }] }                    // never sent
    }

    @Test func lateRepliesToEarlierExchangesAreSkipped() throws {
        let mock = MockTransport()
        mock.replies = [{ Reply.ack(seq: $0 - 3, errno: 17) + Reply.ack(seq: $0 - 1) }, { Reply.ack(seq: $0 + 1) + Reply.ack(seq: $0) }]
        let reply = try NetlinkEngine(transport: mock, firstSequence: 10).transaction(
            begin: Self.message(16), [Self.message()], end: Self.message(17), operation: .test, object: "t")
        #expect(reply.succeeded)
    }

    @Test func truncatedDatagramsOverrunsAndBrokenRequestsAreTypedErrors() {
        final class Truncating: NetlinkTransport, @unchecked Sendable {
            let portID: UInt32 = 4242
            func send(_ bytes: [UInt8], operation: OperationName, object: String) throws(NetlinkError) {}
            func receive(operation: OperationName, object: String) throws(NetlinkError) -> NetlinkDatagram {
                NetlinkDatagram(Reply.ack(seq: 1), truncated: true)
            }
        }
        #expect { try NetlinkEngine(transport: Truncating()).request(Self.message(), operation: .test, object: "t") } throws: {
            ($0 as? NetlinkError)?.code == .truncatedReply && ($0 as? NetlinkError)?.errno == nil
        }
        let overrun = MockTransport()
        overrun.replies = [{ Reply.message(type: RTNL.NLMSG_OVERRUN, seq: $0, payload: []) }]
        #expect { try NetlinkEngine(transport: overrun).request(Self.message(), operation: .test, object: "t") } throws: {
            ($0 as? NetlinkError)?.code == .socket
        }
        let cut = MockTransport()
        cut.replies = [{ Array(Reply.ack(seq: $0).dropLast(3)) }]
        #expect { try NetlinkEngine(transport: cut).request(Self.message(), operation: .test, object: "t") } throws: {
            ($0 as? NetlinkError)?.code == .truncatedReply
        }
        // A request whose nlmsg_len does not match its bytes is refused before anything is sent.
        let mock = MockTransport()
        var broken = Self.message()
        broken[0] = 200
        #expect { try NetlinkEngine(transport: mock).request(broken, operation: .test, object: "t") } throws: {
            ($0 as? NetlinkError)?.code == .invalidArgument
        }
        #expect(mock.sent.isEmpty)
    }
}
