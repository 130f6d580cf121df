import Dispatch
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import LedgerApp
import LedgerDomain
import LedgerProjections
import LedgerValues
import NIOCore

/// How the server is set up: where it listens, what it accepts.
public struct ServerSettings: Sendable {
    /// The address to listen on.
    public var host: String
    /// The port to listen on (0: any free port).
    public var port: Int
    /// The largest request body accepted; a larger one is refused (413) before it is read whole.
    public var maxBodyBytes: Int
    /// Whether the dashboard is shown without a token to clients on this machine.
    public var allowsLocalDashboard: Bool

    /// 8 MiB: a batch of about twenty thousand events.
    public static let defaultMaxBodyBytes = 8 << 20

    public init(
        host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = ServerSettings.defaultMaxBodyBytes,
        allowsLocalDashboard: Bool = false
    ) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.allowsLocalDashboard = allowsLocalDashboard
    }
}

/// The HTTP API of one ledger: its routes and what answers them.
///
/// The ledger's work is blocking (LMDB, fsync), so it runs off Swift's
/// cooperative threads: writes on the `AppendQueue`, the ledger's one writer
/// in this process (other processes queue behind its writer lock), and reads
/// on a concurrent queue, each in a read transaction of its own.
public struct LedgerAPI: Sendable {
    let ledger: Ledger
    let settings: ServerSettings
    let report: KPIReport
    /// The fold at the head, for the figures "now" (see `HeadFold`).
    let headFold: HeadFold
    let units: [(code: String, label: Label)]
    let gate: Gate
    let metrics = ServerMetrics()
    let appends: AppendQueue
    let readers = DispatchQueue(label: "sunledger.readers", qos: .userInitiated, attributes: .concurrent)

    /// The API of `ledger`, with the KPI catalogue and the units' names read from the seed data.
    public init(ledger: Ledger, settings: ServerSettings) throws {
        self.ledger = ledger
        self.settings = settings
        report = try KPIReport(ledger: ledger)
        headFold = HeadFold(ledger: ledger)
        units = try KPIReport.loadUnitLabels()
        gate = Gate(ledger: ledger)
        appends = AppendQueue(ledger: ledger)
    }

    /// One endpoint: its method, its path (`:name` stands for one segment), the
    /// query parameters it reads, who may call it, and what answers it.
    struct Endpoint: Sendable {
        let method: HTTPRequest.Method
        let path: String
        /// The query parameters it reads, each at most once; anything else in the query is refused.
        var query: [String] = []
        /// Of those, the ones given more than once on purpose (`knownAt=T1&knownAt=T2`).
        var repeatable: Set<String> = []
        let answer: Answer

        /// Who may call an endpoint, and the code that answers it.
        enum Answer: Sendable {
            /// For a bearer token whose role may `permission` (nil: any valid
            /// token). The caller is admitted before the query is looked at:
            /// one who may not ask learns nothing about the asking.
            case token(
                Permission?, @Sendable (LedgerAPI, Request, Caller, LedgerRequestContext) async throws -> Response)
            /// For a browser: the page admits its reader itself (a cookie, or
            /// this machine) and answers a stranger with the sign-in page.
            case browser(@Sendable (LedgerAPI, Request, LedgerRequestContext) async throws -> Response)
        }

        /// Whether `path` (of a request) is this endpoint's.
        func serves(_ requested: String) -> Bool {
            let pattern = path.split(separator: "/")
            let segments = requested.split(separator: "/")
            return pattern.count == segments.count
                && zip(pattern, segments).allSatisfy { $0.first == ":" || $0 == $1 }
        }

        /// Refuses (400) a query parameter the endpoint does not read, and one
        /// it reads once given more than once: a mistyped `asof` would
        /// otherwise answer, without a word, for today.
        func checkQuery(of request: Request) throws {
            var seen: [String: Int] = [:]
            for (given, value) in request.uri.queryParameters {
                // An empty segment (`?asOf=…&`, as scripts leave them) carries nothing.
                if given.isEmpty && value.isEmpty { continue }
                // Names are judged as sent: the router reads them undecoded, so
                // a percent-encoded `as%4Ff` would otherwise pass here and be ignored there.
                let name = String(given)
                guard query.contains(name) else { throw unknownParameter(name) }
                seen[name, default: 0] += 1
            }
            for name in query where !repeatable.contains(name) {
                if let times = seen[name], times > 1 {
                    throw APIProblem.badRequest("\(name) is given \(times) times; give it once")
                }
            }
        }

        /// The endpoint as the README writes it: `GET /proofs/{seq}`.
        var name: String {
            let segments = path.split(separator: "/").map { $0.first == ":" ? "{\($0.dropFirst())}" : String($0) }
            return "\(method.rawValue) /\(segments.joined(separator: "/"))"
        }

        private func unknownParameter(_ given: String) -> APIProblem {
            guard !query.isEmpty else {
                return .badRequest("\(name) takes no query parameters (got \(Echo.quoted(given)))")
            }
            let meant = query.first { $0.lowercased() == given.lowercased() }.map { " (did you mean \($0)?)" } ?? ""
            return .badRequest(
                "\(name) takes no query parameter \(Echo.quoted(given))\(meant); it takes \(query.joined(separator: ", "))"
            )
        }
    }

    /// Every endpoint of the API.
    static let endpoints: [Endpoint] = [
        Endpoint(
            method: .post, path: "/events",
            answer: .token(.append) { api, request, caller, _ in
                try await api.append(request, caller: caller)
            }),
        Endpoint(
            method: .get, path: "/streams/:stream", query: ["knownAt", "pii"],
            answer: .token(.read) {
                api, request, caller, context in
                try await api.stream(request, caller: caller, name: context.parameters.get("stream") ?? "")
            }),
        Endpoint(
            method: .get, path: "/kpis", query: LedgerAPI.figureParameters,
            answer: .token(.read) {
                api, request, _, _ in try await api.kpis(request)
            }),
        Endpoint(
            method: .get, path: "/caseload", query: LedgerAPI.figureParameters,
            answer: .token(.read) {
                api, request, _, _ in try await api.caseload(request)
            }),
        Endpoint(
            method: .get, path: "/restatements", query: ["asOf", "knownAt"], repeatable: ["knownAt"],
            answer: .token(.read) { api, request, _, _ in try await api.restatement(request) }),
        Endpoint(
            method: .get, path: "/returns/:year", query: ["knownAt"],
            answer: .token(.read) {
                api, request, _, context in
                try await api.returns(request, year: context.parameters.get("year") ?? "")
            }),
        Endpoint(
            method: .get, path: "/export", query: ["fromSeq", "toSeq", "pii"],
            answer: .token(.read) {
                api, request, caller, _ in try await api.export(request, caller: caller)
            }),
        Endpoint(method: .get, path: "/digest", answer: .token(.read) { api, _, _, _ in try await api.digest() }),
        Endpoint(
            method: .get, path: "/proofs/:seq", query: ["treeSize"],
            answer: .token(.prove) {
                api, request, _, context in
                try await api.inclusionProof(request, seq: context.parameters.get("seq") ?? "")
            }),
        Endpoint(
            method: .get, path: "/consistency/:fromSize", query: ["treeSize"],
            answer: .token(.prove) {
                api, request, _, context in
                try await api.consistencyProof(request, fromSize: context.parameters.get("fromSize") ?? "")
            }),
        Endpoint(
            method: .get, path: "/bundles/:stream", query: ["asOf", "knownAt"],
            answer: .token(.prove) {
                api, request, caller, context in
                try await api.bundle(request, caller: caller, stream: context.parameters.get("stream") ?? "")
            }),
        Endpoint(
            method: .post, path: "/erasures",
            answer: .token(.erase) { api, request, caller, _ in
                try await api.erase(request, caller: caller)
            }),
        Endpoint(
            method: .get, path: "/access-log", query: ["person", "stream"],
            answer: .token(.readAccessLog) { api, request, _, _ in try await api.accessLog(request) }),
        Endpoint(method: .get, path: "/health", answer: .token(nil) { api, _, _, _ in try await api.health() }),
        Endpoint(method: .get, path: "/metrics", answer: .token(.read) { api, _, _, _ in try await api.metricsText() }),
        Endpoint(
            method: .get, path: "/", query: ["asOf", "knownAt"],
            answer: .browser { api, request, context in
                try await api.dashboard(request, context)
            }),
        Endpoint(
            method: .post, path: "/sign-in", answer: .browser { api, request, _ in try await api.signIn(request) }),
    ]

    /// Answers `request` at `endpoint`: the caller admitted, the query checked, then the endpoint's answer.
    func answer(_ request: Request, at endpoint: Endpoint, _ context: LedgerRequestContext) async throws -> Response {
        switch endpoint.answer {
        case .token(let permission, let answer):
            let caller = try permission.map { try gate.admit(request, for: $0) } ?? gate.identify(request)
            try endpoint.checkQuery(of: request)
            return try await answer(self, request, caller, context)
        case .browser(let answer):
            try endpoint.checkQuery(of: request)
            return try await answer(self, request, context)
        }
    }

    /// The router of every endpoint, each `GET` answering `HEAD` as well (its
    /// status and headers, no body); any other method or path is answered in
    /// JSON too: 405 (with `Allow`) for a path the API has, else 404.
    public func router() -> Router<LedgerRequestContext> {
        let router = Router(context: LedgerRequestContext.self, options: .autoGenerateHeadEndpoints)
        let api = self
        for endpoint in LedgerAPI.endpoints {
            router.on(RouterPath(endpoint.path), method: endpoint.method) { request, context in
                await api.answer { try await api.answer(request, at: endpoint, context) }
            }
        }
        // The router looks no further than the deepest node a path reaches: every
        // endpoint's path and each of its prefixes take the other methods themselves.
        var paths = Set(["/", "**"])
        for endpoint in LedgerAPI.endpoints {
            let segments = endpoint.path.split(separator: "/")
            for count in 1...max(segments.count, 1) where !segments.isEmpty {
                paths.insert("/" + segments.prefix(count).joined(separator: "/"))
            }
            if !segments.isEmpty { paths.insert(endpoint.path + "/**") }
        }
        for path in paths {
            var taken = Set(LedgerAPI.endpoints.filter { $0.path == path }.map(\.method))
            if taken.contains(.get) { taken.insert(.head) }
            for method: HTTPRequest.Method in [.get, .post, .put, .delete, .patch, .head, .options]
            where !taken.contains(method) {
                router.on(RouterPath(path), method: method) { request, _ in LedgerAPI.unrouted(request) }
            }
        }
        return router
    }

    /// The answer to a request no endpoint takes.
    static func unrouted(_ request: Request) -> Response {
        let path = request.uri.path
        let allowed = endpoints.filter { $0.serves(path) }.flatMap {
            $0.method == .get ? ["GET", "HEAD"] : [$0.method.rawValue]
        }
        guard !allowed.isEmpty else {
            return APIProblem.notFound(
                "there is no \(request.method.rawValue) \(path): see the API's endpoints in the README"
            )
            .response
        }
        var response = APIProblem(
            status: .methodNotAllowed,
            message: "\(path) answers \(allowed.joined(separator: ", ")), not \(request.method.rawValue)"
        ).response
        response.headers[.allow] = allowed.joined(separator: ", ")
        return response
    }

    /// The application that serves the API at the settings' address.
    public func application() -> some ApplicationProtocol {
        Application(
            router: router(),
            // A connection that sends nothing for this long, half a request included, is closed;
            // so is one whose HTTP/1.0 request did not ask to keep it.
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [HTTP10Close.Placement()], idleTimeout: .seconds(LedgerAPI.idleSeconds))),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "sunledger"))
    }

    /// Serves the API at the settings' address until the process is told to
    /// stop. An address that cannot be listened on (in use, not this machine's,
    /// a port below 1024 for a user) is said in words, as an `AppError.io`; a
    /// host that names no address, as `AppError.usage`.
    public func serve() async throws {
        do {
            try await application().runService()
        } catch let error as IOError {
            throw AppError.io(
                "cannot listen on \(settings.host) port \(settings.port): \(String(cString: strerror(error.errnoCode)))"
            )
        } catch is SocketAddressError {
            throw AppError.usage(
                "cannot listen on \(settings.host): no such host is known here; give --host an address")
        }
    }

    /// Seconds a connection may stay silent before the server closes it.
    static let idleSeconds: Int64 = 30

    // MARK: Answers

    /// Runs `body`, answering any error as its JSON problem.
    func answer(_ body: () async throws -> Response) async -> Response {
        do { return try await body() } catch { return APIProblem.from(error).response }
    }

    /// Runs `body` on `queue`, off the cooperative threads.
    func on<T: Sendable>(_ queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Reads with the ledger, on the readers' queue.
    func reading<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await on(readers, body)
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    static func encode(_ object: JSONObject) -> String {
        String(decoding: CanonicalJSON.encode(.object(object)), as: UTF8.self)
    }

    /// A query parameter, percent-decoded.
    static func parameter(_ request: Request, _ name: String) -> String? {
        request.uri.queryParameters.get(name)
    }

    // MARK: Appending

    /// `POST /events`: one event (a JSON object) or a batch (a JSON array) in
    /// the interchange form, stored all or nothing.
    func append(_ request: Request, caller: Caller) async throws -> Response {
        try LedgerAPI.acceptJSON(request)
        let body = try await collectBody(request)
        let batch = try EventBatch(body: body)
        // An erasure cannot be undone: only a role that may erase appends one,
        // and then through POST /erasures, recorded as the token's holder.
        if !caller.role.may(.erase), batch.holds(type: EventType.personPiiErased.rawValue) {
            throw Gate.forbidden(caller.role, .erase)
        }
        // A stored event sent again is judged with its personal data: "duplicate"
        // or "other pii" would tell a role that may not read that data whether a
        // guess of it is right. Such a role may not send an event with personal
        // data again; one answer, whatever the data.
        if !caller.role.may(.readPersonalData) {
            for id in batch.idsWithPersonalData {
                if let seq = try ledger.log.seq(ofID: id) {
                    throw APIProblem(
                        status: .conflict,
                        message:
                            "\"\(id)\" is already stored as seq \(seq); an event with personal data is not judged again for a role that may not read it"
                    )
                }
            }
        }
        let started = ContinuousClock.now
        do {
            let result = try await appends.append(batch.lines, count: batch.count)
            metrics.appended(
                seconds: started.duration(to: .now).seconds, stored: result.stored, duplicates: result.duplicates)
            return LedgerAPI.json(batch.answer(result))
        } catch {
            metrics.rejected(seconds: started.duration(to: .now).seconds)
            throw error
        }
    }

    /// The media types a JSON body may be sent as: one event or erasure, a
    /// batch, or events one per line.
    static let jsonMediaTypes: Set<String> = ["application/json", "application/x-ndjson", "application/jsonl"]

    /// Refuses (415) a body sent as something other than JSON, such as the
    /// form encoding `curl -d` uses unless told otherwise. A body sent without
    /// a Content-Type is read as JSON.
    static func acceptJSON(_ request: Request) throws {
        guard let stated = request.headers[.contentType] else { return }
        let mediaType = stated.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard jsonMediaTypes.contains(mediaType) else {
            throw APIProblem(
                status: .unsupportedMediaType,
                message:
                    "the body is sent as \(stated); send it as JSON, with Content-Type: application/json (or application/x-ndjson for one event a line)"
            )
        }
    }

    /// The request's body, refused with 413 when it is larger than allowed:
    /// by its stated length before any of it is read, else as soon as what
    /// has arrived passes the limit.
    func collectBody(_ request: Request) async throws -> [UInt8] {
        let limit = settings.maxBodyBytes
        let tooLarge = APIProblem(
            status: .contentTooLarge,
            message: "the request body is larger than the \(limit) bytes allowed; send smaller batches")
        if let stated = request.headers[.contentLength].flatMap(Int.init), stated > limit { throw tooLarge }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        } catch {
            // A body that breaks HTTP's framing (a bad chunk size, say) is the client's fault.
            throw APIProblem.badRequest("the request body cannot be read: \(error)")
        }
    }

    /// `POST /erasures`: `{"person": "P000123", "reason": "…", "orgUnit"?, "on"?}`
    /// appends the person's `PersonPiiErased`, recorded as the token's holder.
    func erase(_ request: Request, caller: Caller) async throws -> Response {
        try LedgerAPI.acceptJSON(request)
        let body = try await collectBody(request)
        let shape =
            "an erasure is {\"person\": \"P000123\", \"reason\": \"…\"}, with orgUnit and on (YYYY-MM-DD) if needed"
        let parsed: JSONValue
        do { parsed = try JSONParser.parse(body) } catch {
            throw APIProblem.badRequest("\(shape); the body is not JSON: \(error)")
        }
        // An erasure cannot be undone: every field it is given must be one it takes, as a string.
        guard case .object(let object) = parsed else { throw APIProblem.badRequest(shape) }
        for (key, value) in object {
            guard ["person", "reason", "orgUnit", "on"].contains(key) else {
                throw APIProblem.badRequest("\(shape); \(Echo.quoted(key)) is not one of its fields")
            }
            guard value.stringValue != nil else {
                throw APIProblem.badRequest("\(shape); \(Echo.quoted(key)) must be a string")
            }
        }
        guard let person = object["person"]?.stringValue, let reason = object["reason"]?.stringValue else {
            throw APIProblem.badRequest(shape)
        }
        let erasure = Erasure(
            person: person, reason: reason, actor: caller.name, orgUnit: object["orgUnit"]?.stringValue,
            on: object["on"]?.stringValue)
        let ledger = self.ledger
        let report = try await appends.exclusively { try erasure.append(to: ledger) }
        var answer = JSONObject()
        answer["stream"] = .string(erasure.stream)
        answer["seq"] = .integer(report.lastSeq ?? 0)
        answer["personalDataErased"] = .integer(Int64(report.personalDataErased))
        return LedgerAPI.json(LedgerAPI.encode(answer))
    }

    // MARK: Reading

    /// How much personal data a caller gets, from `?pii=none|masked|full`
    /// (default: masked where the role may see it, else none); `full` needs
    /// the privacy role and a purpose in the `X-Purpose` header, and is written
    /// to the access log, as `what`, before anything is read.
    func exposure(
        _ request: Request, caller: Caller, reading what: String, of scope: AccessLog.Scope
    ) async throws -> PIIExposure {
        let asked = LedgerAPI.parameter(request, "pii")
        switch asked {
        case nil:
            return caller.role.may(.readMasked) ? .masked : .none
        case "none":
            return .none
        case "masked":
            guard caller.role.may(.readMasked) else { throw Gate.forbidden(caller.role, .readMasked) }
            return .masked
        case "full":
            guard caller.role.may(.readPersonalData) else { throw Gate.forbidden(caller.role, .readPersonalData) }
            let header = request.headers[HTTPField.Name("X-Purpose")!]
            let purpose = try AccessLog.checkPurpose(
                header.map { $0.removingPercentEncoding ?? $0 }, for: what, option: "X-Purpose")
            let ledger = self.ledger
            let who = caller.name
            _ = try await appends.exclusively {
                try AccessLog.record(in: ledger, who: who, what: what, purpose: purpose, scope: scope)
            }
            return .full
        case let other?:
            throw APIProblem.badRequest("pii must be none, masked or full (got \(Echo.quoted(other)))")
        }
    }

    /// `GET /streams/{stream}`: the stream's records as stored, with their
    /// hashes, in version order; `?knownAt=` keeps those recorded by then.
    func stream(_ request: Request, caller: Caller, name: String) async throws -> Response {
        guard StreamKind.parse(streamName: name) != nil else {
            throw APIProblem.badRequest("the stream " + StreamKind.rule(refusing: name))
        }
        let knownAt = LedgerAPI.parameter(request, "knownAt")
        let limit = knownAt.flatMap(Instant.init(rfc3339:))
        if let knownAt, limit == nil {
            throw APIProblem.badRequest(FigureQuery.notAnInstant(knownAt, given: "knownAt"))
        }
        let exposure = try await exposure(request, caller: caller, reading: "GET /streams/\(name)", of: .stream(name))
        let ledger = self.ledger
        let entries = try await reading {
            try ledger.log.history(of: name, withVault: exposure != .none).filter { entry in
                limit.map { entry.record.recordedAt <= $0 } ?? true
            }
        }
        guard !entries.isEmpty else {
            throw APIProblem.notFound(
                "\(name): no events" + (limit.map { " recorded by \($0)" } ?? ""))
        }
        let events: [JSONValue] = entries.map { entry in
            var object = entry.record.jsonObject
            object["hash"] = .string(Hex.encode(entry.hash))
            if let vault = entry.vault {
                switch exposure {
                case .none: break
                case .masked: object["piiMasked"] = .object(Masking.mask(vault.pii))
                case .full:
                    object["pii"] = .object(vault.pii)
                    object["piiSalt"] = .string(Hex.encode(vault.salt))
                }
            }
            return .object(object)
        }
        var answer = JSONObject()
        answer["stream"] = .string(name)
        answer["events"] = .array(events)
        return LedgerAPI.json(LedgerAPI.encode(answer))
    }

    /// The query parameters of a figure query.
    static let figureParameters = ["asOf", "knownAt", "throughSeq"]

    /// The figure query of a request's `asOf`, `knownAt` and `throughSeq`.
    static func figureQuery(_ request: Request) throws -> FigureQuery {
        try FigureQuery(
            asOf: parameter(request, "asOf"), knownAt: parameter(request, "knownAt"),
            throughSeq: parameter(request, "throughSeq"), spelling: .query)
    }

    /// `GET /kpis`: the KPI document of kpis.md, byte for byte what `kpi --json` prints.
    func kpis(_ request: Request) async throws -> Response {
        let query = try LedgerAPI.figureQuery(request)
        let report = self.report
        let headFold = self.headFold
        let document = try await reading {
            guard query.limit == .everything else {
                return try report.document(asOf: query.asOf, limit: query.limit).json
            }
            return try headFold.withFold { fold in
                KPIDocument(figures: fold.figures(asOf: query.asOf), knownAt: nil, catalogue: report.catalogue).json
            }
        }
        return LedgerAPI.json(document)
    }

    /// `GET /caseload`: the open cases by unit, service type and worker, as `caseload --json`.
    func caseload(_ request: Request) async throws -> Response {
        let query = try LedgerAPI.figureQuery(request)
        let report = self.report
        let headFold = self.headFold
        let caseload = try await reading {
            guard query.limit == .everything else {
                return try report.caseload(asOf: query.asOf, limit: query.limit).json(knownAt: query.limit.knownAt)
            }
            return try headFold.withFold { $0.caseload(asOf: query.asOf).json(knownAt: nil) }
        }
        return LedgerAPI.json(caseload)
    }

    /// `GET /restatements?asOf&knownAt=T1&knownAt=T2`: the numbers of the KPI
    /// document for `asOf` that differ between what the ledger knew at T1 and at
    /// T2, each with the late events that changed it, as `restatement --json`.
    func restatement(_ request: Request) async throws -> Response {
        let asOf = try FigureQuery(
            asOf: LedgerAPI.parameter(request, "asOf"), knownAt: nil, throughSeq: nil, spelling: .query
        ).asOf
        let given = request.uri.queryParameters.getAll("knownAt")
        guard given.count == 2 else {
            throw APIProblem.badRequest(
                "knownAt must be given exactly twice, T1 then T2 (got it \(given.count) time\(given.count == 1 ? "" : "s"))"
            )
        }
        let instants = try given.map { text in
            guard let instant = Instant(rfc3339: text) else {
                throw APIProblem.badRequest(FigureQuery.notAnInstant(text, given: "knownAt"))
            }
            return instant
        }
        guard instants[0] < instants[1] else {
            throw APIProblem.badRequest(
                "knownAt: the first instant (T1, \(Echo.quoted(given[0]))) must be earlier than the second (T2, \(Echo.quoted(given[1])))"
            )
        }
        let report = self.report
        let document = try await reading {
            try report.restatement(asOf: asOf, knownAt: instants[0], instants[1]).json
        }
        return LedgerAPI.json(document)
    }

    /// `GET /returns/{year}?knownAt`: the year-end statistical returns of the
    /// year from what the ledger knew at `knownAt` (everything stored without
    /// it), byte for byte the document `report --format json` prints.
    func returns(_ request: Request, year text: String) async throws -> Response {
        guard let year = Int(text), (1900...2100).contains(year) else {
            throw APIProblem.badRequest(
                "the year must be a year of the ledger's dates, 1900–2100 (got \(Echo.quoted(text)))")
        }
        let knownAt = try LedgerAPI.parameter(request, "knownAt").map { given in
            guard let instant = Instant(rfc3339: given) else {
                throw APIProblem.badRequest(FigureQuery.notAnInstant(given, given: "knownAt"))
            }
            return instant
        }
        let ledger = self.ledger
        let document = try await reading { () -> [UInt8] in
            let (returns, stamp) = try ComplianceReport(ledger: ledger).returns(year: year, knownAt: knownAt)
            return ComplianceReport.files(of: returns, stamp: stamp, format: .json)[0].bytes
        }
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: document)))
    }

    /// `GET /export?fromSeq&toSeq&pii`: the chained records as JSON Lines, as
    /// `sunledger export` writes them, streamed a few thousand records at a time.
    func export(_ request: Request, caller: Caller) async throws -> Response {
        let from = try LedgerAPI.seqParameter(request, "fromSeq") ?? 1
        let to = try LedgerAPI.seqParameter(request, "toSeq")
        if let to, to < from { throw APIProblem.badRequest("toSeq must not be below fromSeq") }
        let ledger = self.ledger
        // Pinned to the head before the trace is written, so that the trace names every record sent.
        let head = try await reading { try ledger.log.head().seq }
        let through = min(to ?? head, head)
        let exposure = try await exposure(
            request, caller: caller, reading: "GET /export pii seq \(from)–" + (to.map(String.init) ?? "end"),
            of: .seqs(from: from, through: through))
        let readers = self.readers
        let api = self
        let body = ResponseBody { writer in
            var next = from
            while next <= through {
                let start = next
                let end = min(through, next + 1999)
                let bytes = try await api.on(readers) {
                    try Exporter(ledger: ledger).lines(from: start, through: end, pii: exposure)
                }
                try await writer.write(ByteBuffer(bytes: bytes))
                next = end + 1
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson; charset=utf-8"], body: body)
    }

    static func seqParameter(_ request: Request, _ name: String) throws -> Int64? {
        guard let text = parameter(request, name) else { return nil }
        guard let seq = Int64(text), seq >= 1 else {
            throw APIProblem.badRequest("\(name) must be a seq: a whole number, at least 1 (got \(Echo.quoted(text)))")
        }
        return seq
    }

    /// `GET /digest`: `{"seq","hash","recordedAt","merkleRoot"}` of the last record.
    func digest() async throws -> Response {
        let ledger = self.ledger
        return LedgerAPI.json(try await reading { try ledger.digest().json })
    }

    /// `GET /access-log?person&stream`: every reading of personal data, or
    /// those that covered one person's or stream's, as JSON Lines: what
    /// `sunledger access-log --json` prints.
    func accessLog(_ request: Request) async throws -> Response {
        let concerning = try AccessLog.stream(
            person: LedgerAPI.parameter(request, "person"), stream: LedgerAPI.parameter(request, "stream"),
            options: ("person", "stream"))
        let ledger = self.ledger
        let entries = try await reading {
            try concerning.map { try AccessLog.entries(of: ledger, concerning: $0) } ?? AccessLog.entries(of: ledger)
        }
        let lines = entries.map { $0.json + "\n" }.joined()
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: lines)))
    }

    /// `GET /proofs/{seq}?treeSize=N`: the inclusion proof of events.md §7.
    func inclusionProof(_ request: Request, seq text: String) async throws -> Response {
        guard let seq = Int64(text), seq >= 1 else {
            throw APIProblem.badRequest(
                "the seq to prove must be a whole number, at least 1 (got \(Echo.quoted(text)))")
        }
        let size = try LedgerAPI.seqParameter(request, "treeSize")
        let ledger = self.ledger
        return LedgerAPI.json(try await reading { try ledger.inclusionProof(seq: seq, treeSize: size) })
    }

    /// `GET /consistency/{fromSize}?treeSize=N`: the consistency proof of events.md §7.
    func consistencyProof(_ request: Request, fromSize text: String) async throws -> Response {
        guard let from = Int64(text), from >= 0 else {
            throw APIProblem.badRequest(
                "the size to prove consistent with must be a whole number (got \(Echo.quoted(text)))")
        }
        let size = try LedgerAPI.seqParameter(request, "treeSize")
        let ledger = self.ledger
        return LedgerAPI.json(try await reading { try ledger.consistencyProof(fromSize: from, treeSize: size) })
    }

    /// `GET /bundles/{stream}?asOf&knownAt`: the audit bundle of a stream (as
    /// `sunledger bundle --stream` writes it: records, an inclusion proof each,
    /// the digest, the KPI document when `asOf` is given, the manifest), without
    /// personal data, as one JSON object `{"files": {"name": "contents", …}}`.
    func bundle(_ request: Request, caller: Caller, stream: String) async throws -> Response {
        guard StreamKind.parse(streamName: stream) != nil else {
            throw APIProblem.badRequest("the stream " + StreamKind.rule(refusing: stream))
        }
        var asOf: LocalDate?
        if let text = LedgerAPI.parameter(request, "asOf") {
            guard let date = LocalDate(iso: text) else {
                throw APIProblem.badRequest(FigureQuery.notADate(text, given: "asOf"))
            }
            asOf = date
        }
        var knownAt: Instant?
        if let text = LedgerAPI.parameter(request, "knownAt") {
            guard let instant = Instant(rfc3339: text) else {
                throw APIProblem.badRequest(FigureQuery.notAnInstant(text, given: "knownAt"))
            }
            knownAt = instant
        }
        let ask = AuditBundle.Request(selection: .stream(stream), asOf: asOf, knownAt: knownAt, who: caller.name)
        let ledger = self.ledger
        let recordedBy = knownAt
        let files = try await reading { () -> [(String, String)] in
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
                "sunledger-bundle-\(UUID().uuidString)"
            ).path
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            // As GET /streams answers: a stream with nothing recorded by knownAt is not found.
            let recorded = try ledger.log.history(of: stream).contains { entry in
                recordedBy.map { entry.record.recordedAt <= $0 } ?? true
            }
            guard recorded else {
                throw APIProblem.notFound("\(stream): no events" + (recordedBy.map { " recorded by \($0)" } ?? ""))
            }
            let written = try AuditBundle(ledger: ledger).write(ask, to: scratch)
            return try written.files.map { name in
                (name, try String(contentsOfFile: scratch + "/" + name, encoding: .utf8))
            }
        }
        var contents = JSONObject()
        for (name, text) in files { contents[name] = .string(text) }
        var answer = JSONObject()
        answer["files"] = .object(contents)
        return LedgerAPI.json(LedgerAPI.encode(answer))
    }

    /// `GET /health`: the server is up and the ledger readable; any valid token.
    func health() async throws -> Response {
        let ledger = self.ledger
        let seq = try await reading { try ledger.log.head().seq }
        var answer = JSONObject()
        answer["status"] = .string("ok")
        answer["seq"] = .integer(seq)
        // An archived ledger on read-only media answers reads only.
        answer["readOnly"] = .bool(ledger.log.isReadOnly)
        return LedgerAPI.json(LedgerAPI.encode(answer))
    }

    /// `GET /metrics`: Prometheus's text format.
    func metricsText() async throws -> Response {
        let ledger = self.ledger
        let (stored, lag) = try await reading { (try ledger.log.head().seq, try ledger.figuresLag()) }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.text(recordsStored: stored, projectionLag: lag))))
    }
}

extension LedgerAPI {
    /// `GET /`: the dashboard, for any role that may read, or for a browser on
    /// this machine when the server allows that. `asOf` and `knownAt` come from
    /// its form: `knownAt` as Shanghai local time (`2025-01-15T08:00`), or as
    /// an RFC 3339 instant.
    func dashboard(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        if !(settings.allowsLocalDashboard && context.isFromThisMachine), try gate.dashboardReader(request) == nil {
            return LedgerAPI.html(Dashboard.signInPage(problem: nil), status: .unauthorized)
        }
        let asOf = LedgerAPI.parameter(request, "asOf").flatMap { $0.isEmpty ? nil : $0 }
        let knownAt = LedgerAPI.parameter(request, "knownAt").flatMap { $0.isEmpty ? nil : $0 }
        let query = try FigureQuery(
            asOf: asOf, knownAt: knownAt.map(LedgerAPI.shanghaiInstant), throughSeq: nil, spelling: .query)
        let report = self.report
        let headFold = self.headFold
        let (document, caseload) = try await reading {
            func figures(_ fold: KPIProjection) -> (KPIDocument, Caseload) {
                (
                    KPIDocument(
                        figures: fold.figures(asOf: query.asOf), knownAt: query.limit.knownAt,
                        catalogue: report.catalogue),
                    fold.caseload(asOf: query.asOf)
                )
            }
            guard query.limit == .everything else { return figures(try report.projection(within: query.limit)) }
            return try headFold.withFold(figures)
        }
        let page = Dashboard(
            document: document, caseload: caseload, catalogue: report.catalogue, units: units,
            vocabulary: ledger.vocabulary, askedAsOf: asOf, askedKnownAt: knownAt)
        return LedgerAPI.html(page.html)
    }

    /// `POST /sign-in`: a browser gives a token (the form field `token`) and,
    /// when it is valid for reading, gets it back as a cookie that only the
    /// dashboard reads (HttpOnly, SameSite=Strict; the API takes bearer
    /// tokens only), and is sent to the dashboard.
    func signIn(_ request: Request) async throws -> Response {
        let body = try await collectBody(request)
        let fields = String(decoding: body, as: UTF8.self).split(separator: "&").map {
            $0.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
        }
        let secret = fields.first { $0.first == "token" && $0.count == 2 }?[1].trimmingCharacters(in: .whitespaces)
        guard let secret, let token = try AccessTokens.holder(of: secret, in: ledger), token.role.may(.read) else {
            return LedgerAPI.html(
                Dashboard.signInPage(problem: "令牌无效、已撤销或已过期。The token is not valid, has been revoked, or has expired."),
                status: .unauthorized)
        }
        return Response(
            status: .seeOther,
            headers: [
                .location: "/", .setCookie: "\(Gate.cookie)=\(secret); Path=/; HttpOnly; SameSite=Strict",
            ])
    }

    static func html(_ page: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    /// A local date and time without a zone (what a `datetime-local` field
    /// sends) read as Shanghai time; anything else as given.
    static func shanghaiInstant(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let isDigit = { (byte: UInt8) in (0x30...0x39).contains(byte) }
        let shape = bytes.count == 16 || bytes.count == 19
        guard shape, bytes[10] == UInt8(ascii: "T"), bytes[4] == UInt8(ascii: "-"), bytes[13] == UInt8(ascii: ":"),
            bytes.enumerated().allSatisfy({ [4, 7, 10, 13, 16].contains($0.offset) || isDigit($0.element) })
        else { return text }
        return text + (bytes.count == 16 ? ":00" : "") + "+08:00"
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
