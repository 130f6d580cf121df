import Foundation
import HummingbirdTesting
import LedgerServer
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Whether `bytes` hold a whole HTTP response: its head, and as many body
/// bytes as its Content-Length says.
private func holdsWholeResponse(_ bytes: [UInt8]) -> Bool {
    let text = String(decoding: bytes, as: UTF8.self)
    guard let headEnd = text.range(of: "\r\n\r\n") else { return false }
    let length =
        text[..<headEnd.lowerBound].split(separator: "\r\n")
        .first { $0.lowercased().hasPrefix("content-length:") }
        .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
    return text.utf8.distance(from: text.utf8.startIndex, to: headEnd.upperBound) + length <= bytes.count
}

/// What one connection to the server at 127.0.0.1:`port` brought back for
/// `request`: the first response, read whole (however long a busy machine
/// takes), and whether the server then closed the connection within `linger`
/// seconds. Blocking: call it off the concurrency pool (`exchangeAside`).
private func exchange(_ request: String, port: Int, linger: Int) throws -> (answer: String, closed: Bool) {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    func wait(seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
    let bytes = Array(request.utf8)
    guard send(socket, bytes, bytes.count, 0) == bytes.count else { throw POSIXError(.EIO) }
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    // A parallel test run can keep the server's handlers waiting for minutes:
    // the other tests hold the concurrency pool's few threads.
    wait(seconds: 240)
    while !holdsWholeResponse(answer) {
        let count = recv(socket, &buffer, buffer.count, 0)
        guard count > 0 else { return (String(decoding: answer, as: UTF8.self), count == 0) }
        answer += buffer[..<count]
    }
    // Then: 0 is the server closing the connection; -1 (EAGAIN) the time running out with it open.
    wait(seconds: linger)
    while true {
        let count = recv(socket, &buffer, buffer.count, 0)
        guard count > 0 else { return (String(decoding: answer, as: UTF8.self), count == 0) }
        answer += buffer[..<count]
    }
}

/// `exchange` on a thread of its own: a blocking read on one of the few
/// threads of the concurrency pool could starve the server it waits for.
private func exchangeAside(
    _ request: String, port: Int, linger: Int = 30
) async throws -> (
    answer: String, closed: Bool
) {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try exchange(request, port: port, linger: linger) })
        }
    }
}

@Suite("Connections")
struct ConnectionTests {
    @Test(
        "an HTTP/1.0 request is answered and its connection closed, unless it asked to keep it; HTTP/1.1 keeps it until told"
    )
    func http10Closes() async throws {
        try await withOffice(settings: ServerSettings(port: 0), setup: .live) { _, client in
            let port = try #require(client.port)
            let plain = try await exchangeAside("GET /digest HTTP/1.0\r\n\r\n", port: port)
            #expect(plain.closed)
            #expect(plain.answer.hasPrefix("HTTP/1.1 401"), "\(plain.answer)")
            // A second request on the same connection is not answered: it was closed after the first.
            let two = try await exchangeAside("GET /digest HTTP/1.0\r\n\r\nGET /digest HTTP/1.0\r\n\r\n", port: port)
            #expect(two.closed)
            #expect(two.answer.components(separatedBy: "HTTP/1.1 401").count == 2, "\(two.answer)")

            let kept = try await exchangeAside(
                "GET /digest HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", port: port, linger: 2)
            #expect(!kept.closed)
            #expect(kept.answer.hasPrefix("HTTP/1.1 401"))
            let http11 = try await exchangeAside("GET /digest HTTP/1.1\r\nHost: ledger\r\n\r\n", port: port, linger: 2)
            #expect(!http11.closed)
            let told = try await exchangeAside(
                "GET /digest HTTP/1.1\r\nHost: ledger\r\nConnection: close\r\n\r\n", port: port)
            #expect(told.closed)
        }
    }
}
