import NIOCore
import NIOHTTP1

/// Closes the connection after answering an HTTP/1.0 request that did not ask
/// for it to be kept alive, as HTTP/1.0 clients expect (RFC 9112 §9.3): a
/// monitoring probe or a benchmark that speaks HTTP/1.0 reads until the
/// connection closes, and would otherwise wait for the idle timeout.
///
/// The router sees requests as HTTPTypes values, which carry no version, and
/// closes a connection only for a request that says `Connection: close`. So
/// this handler reads each request head as it comes from the HTTP/1 decoder,
/// before it is converted, and says `Connection: close` for such a request.
final class HTTP10Close: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data), head.version == .http1_0, !head.isKeepAlive else {
            context.fireChannelRead(data)
            return
        }
        head.headers.replaceOrAdd(name: "connection", value: "close")
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    /// The handler that puts an `HTTP10Close` right after the HTTP/1 decoder,
    /// and then leaves: the server's own handlers are added after the conversion
    /// to HTTPTypes, where the version is already gone.
    final class Placement: ChannelInboundHandler, RemovableChannelHandler, Sendable {
        typealias InboundIn = Never

        func handlerAdded(context: ChannelHandlerContext) {
            let pipeline = context.pipeline.syncOperations
            do {
                let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
                try pipeline.addHandler(HTTP10Close(), position: .after(decoder))
            } catch {
                // Without the decoder there are no HTTP/1 heads to read.
            }
            pipeline.removeHandler(context: context, promise: nil)
        }
    }
}
