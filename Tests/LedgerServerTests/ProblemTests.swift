import EventStore
import HTTPTypes
import Testing

@testable import LedgerServer

@Suite("Errors as HTTP problems")
struct ProblemTests {
    @Test("a full disk is 507, in a client's words: nothing of the request stored, nothing before lost, send it again")
    func fullDisk() {
        let problem = APIProblem.from(LedgerError.outOfSpace(detail: "mdb_txn_commit: No space left on device"))
        #expect(problem.status.code == 507)
        #expect(
            problem.message
                == "the ledger's disk is full (mdb_txn_commit: No space left on device): nothing of this request "
                + "was stored, and nothing stored before was lost; send it again once space is freed")
    }

    @Test("a ledger on read-only media is served for reading; a write is 503, saying why")
    func readOnlyLedger() {
        let problem = APIProblem.from(LedgerError.readOnly(path: "/archive/ledger"))
        #expect(problem.status == .serviceUnavailable)
        #expect(problem.message.hasPrefix("the ledger at /archive/ledger is on a read-only file system"))
    }
}
