import Hummingbird
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// What the server knows of one request besides the request itself: where it
/// came from, so that the dashboard can be shown to this machine's own
/// browser without a token when the server was started to allow that.
public struct LedgerRequestContext: RequestContext {
    /// Hummingbird's own part of the context.
    public var coreContext: CoreRequestContextStorage
    /// The client's address; nil when there is no network peer (in-process tests).
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// Whether the request came over the loopback interface (127.0.0.0/8 or ::1).
    public var isFromThisMachine: Bool {
        guard let remoteAddress else { return false }
        switch remoteAddress {
        case .v4(let address):
            return (UInt32(bigEndian: address.address.sin_addr.s_addr) >> 24) == 127
        case .v6:
            return remoteAddress.ipAddress == "::1"
        case .unixDomainSocket:
            return true
        }
    }
}
