import Locks
import Commands
import Config
internal import Dispatch
import Engine
import Logging
import Persistence
import Replication
internal import NIOCore
internal import NIOPosix
import RESP
import Synchronization
import SystemShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The running server: event loops, listeners, the periodic cron, signals and shutdown.
public final class NeedletailServer: ServerControl, Sendable {
    public let state: ServerState
    public let logger: Logger
    /// The event loops that own client connections.
    private let group: MultiThreadedEventLoopGroup
    /// One loop for the listening sockets only, so a CONFIG SET port issued on a client loop
    /// can wait for the new listener without waiting on its own loop.
    private let acceptor = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    /// Event loop → index of its statistics slab.
    private let loopIndexes: [ObjectIdentifier: Int]
    /// Per event loop, in the order of `loopIndexes`.
    private let pendingWrites: [PendingWrites]
    let persistence: Persistence
    let replication: Replication
    /// The TCP listeners (`bind`, `port`), and the Unix-domain one (`unixsocket`).
    private let listeners = Lock<[Channel]>([])
    private let unixListener = Lock<Channel?>(nil)
    let shutdownProgress = Lock(ShutdownProgress.running)
    private let exitCode = Lock<Int32>(0)
    private let done = DispatchSemaphore(value: 0)

    /// The program as it was started (`argv[0]`), the `{title}` of the process title.
    private let title = CommandLine.arguments.first ?? "needletail"

    public init(configuration: Configuration, executable: String, logger: Logger) {
        let threads = configuration.integer("threads")
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        var indexes: [ObjectIdentifier: Int] = [:]
        for (index, loop) in group.makeIterator().enumerated() { indexes[ObjectIdentifier(loop)] = index }
        loopIndexes = indexes
        pendingWrites = group.makeIterator().map { PendingWrites(eventLoop: $0) }
        let persistence = Persistence()
        self.persistence = persistence
        let replication = Replication()
        self.replication = replication
        state = ServerState(config: configuration, eventLoops: threads, executable: executable,
                            families: [DumpCommands.table, persistence.commands, replication.commands])
        persistence.attach(to: state)
        let linkLoop = group.next()
        replication.attach(to: state, persistence: persistence, linkLoop: linkLoop,
                           statistics: state.statistics.loops[indexes[ObjectIdentifier(linkLoop)] ?? 0])
        self.logger = logger
        state.control = self
        observeConfiguration()
    }

    func requestLimits() -> RequestParser.Limits {
        RequestParser.Limits(maxBulkLength: state.config.integer("proto-max-bulk-len"))
    }

    // MARK: Running

    /// Binds the listeners and serves until shutdown; returns the exit code.
    public func run() -> Int32 {
        raiseOpenFilesLimit()
        if state.config.bool("use-exit-on-panic") { needletail_exit_on_crash() }
        if state.config.bool("disable-thp") { _ = needletail_disable_transparent_huge_pages() }
        showProcessTitle()
        let port = state.config.integer("port")
        let socketPath = state.config["unixsocket"]
        do {
            if port != 0 { try bind(port: port) }
        } catch {
            logger.warning("Failed listening on port \(port) (tcp), aborting.")
            return abortStart()
        }
        if !socketPath.isEmpty {
            do {
                try bindUnixSocket(socketPath)
            } catch {
                logger.warning("Failed opening Unix socket: \(error)")
                return abortStart()
            }
        }
        if port == 0 && socketPath.isEmpty {
            logger.warning("Configured to not listen anywhere, exiting.")
            return abortStart()
        }
        let signals = installSignalHandlers()
        startCron()
        writePidFile()
        state.recordStartupMemory()
        logger.notice("Server initialized")
        replication.takeConfiguredRole()
        guard persistence.loadAtStartup() else {
            removePidFile()
            return abortStart()
        }
        replication.start()
        if port != 0 { logger.notice("Ready to accept connections") }
        if !socketPath.isEmpty { logger.notice("The server is now ready to accept connections at \(socketPath)") }
        done.wait()
        withExtendedLifetime(signals) {}
        return exitCode.withLock { $0 }
    }

    private func abortStart() -> Int32 {
        try? group.syncShutdownGracefully()
        try? acceptor.syncShutdownGracefully()
        return 1
    }

    /// Listens at the Unix-domain socket `path` (a stale socket file there is replaced), with
    /// the permissions of `unixsocketperm` when set.
    private func bindUnixSocket(_ path: String) throws {
        let channel = try Self.waitWithoutLoop(bootstrap(tcp: false).bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true))
        unixListener.withLock { $0 = channel }
        if let permissions = Int(state.config["unixsocketperm"], radix: 8), permissions != 0 {
            chmod(path, mode_t(permissions))
        }
    }

    /// Binds every `bind` address on `port`. An address written with a leading `-` may be
    /// unavailable (say, no IPv6); any other failure is fatal.
    private func bind(port: Int) throws {
        var bound: [Channel] = []
        for word in state.config["bind"].split(separator: " ").map(String.init) {
            let optional = word.hasPrefix("-")
            var host = optional ? String(word.dropFirst()) : word
            if host == "*" { host = "0.0.0.0" }
            if host == "::*" { host = "::" }
            do {
                bound.append(try Self.waitWithoutLoop(bootstrap().bind(host: host, port: port)))
            } catch {
                if optional { continue }
                logger.warning("Warning: Could not create server TCP listening socket \(host):\(port): \(error)")
                for channel in bound { channel.close(promise: nil) }
                throw error
            }
        }
        guard !bound.isEmpty else { throw ChannelError.unknownLocalAddress }
        listeners.withLock { $0 = bound }
    }

    /// Waits for a future of the acceptor loop from any thread but that loop. (NIO refuses
    /// `wait()` on every event loop; waiting here from a client loop is safe because the future
    /// completes on the acceptor.)
    private static func waitWithoutLoop<Value: Sendable>(_ future: EventLoopFuture<Value>) throws -> Value {
        let done = DispatchSemaphore(value: 0)
        let result = Lock<Result<Value, any Error>?>(nil)
        future.whenComplete { outcome in
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }

    /// `tcp`: a TCP listener (TCP options set on its connections), or a Unix-domain one.
    private func bootstrap(tcp: Bool = true) -> ServerBootstrap {
        var bootstrap = ServerBootstrap(group: acceptor, childGroup: group)
            .serverChannelOption(ChannelOptions.backlog, value: Int32(clamping: state.config.integer("tcp-backlog")))
        if tcp {
            bootstrap = bootstrap
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
        }
        // `tcp-keepalive N`, as Redis sets it: probes after N idle seconds, then every N/3,
        // and the peer is declared dead after three unanswered ones.
        let keepalive = state.config.integer("tcp-keepalive")
        if tcp && keepalive > 0 {
            let tcp = SocketOptionLevel(IPPROTO_TCP)
            bootstrap = bootstrap
                .childChannelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
                .childChannelOption(ChannelOptions.socket(tcp, SocketOptionName(TCP_KEEPIDLE)), value: keepalive)
                .childChannelOption(ChannelOptions.socket(tcp, SocketOptionName(TCP_KEEPINTVL)), value: max(1, keepalive / 3))
                .childChannelOption(ChannelOptions.socket(tcp, SocketOptionName(TCP_KEEPCNT)), value: 3)
        }
        return bootstrap
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(makeHandler(for: channel))
                }
            }
    }

    private func makeHandler(for channel: Channel) -> ConnectionHandler {
        let loopIndex = loopIndexes[ObjectIdentifier(channel.eventLoop)] ?? 0
        let link = ConnectionLink(channel: channel)
        // A Unix-domain client is named by the socket's path, as Redis names it (`path:0`).
        let unixPath: String? = if case .unixDomainSocket = channel.localAddress { state.config["unixsocket"] + ":0" } else { nil }
        let session = ClientSession(id: state.clients.makeID(), address: unixPath ?? ClientSession.describe(channel.remoteAddress),
                                    localAddress: unixPath ?? ClientSession.describe(channel.localAddress), fd: Self.descriptor(of: channel),
                                    createdAt: Clock.now(), authenticated: !state.requiresPassword, isUnixSocket: unixPath != nil,
                                    connection: link)
        return ConnectionHandler(server: self, session: session, link: link, statistics: state.statistics.loops[loopIndex],
                                 pendingWrites: pendingWrites[loopIndex],
                                 allocator: channel.allocator)
    }

    /// The socket's file descriptor for CLIENT LIST `fd=`. NIO does not expose it; its
    /// channel description does (`... fd=12 ...`). -1, Redis's "no socket", if that changes.
    static func descriptor(of channel: Channel) -> Int {
        let text = Substring(String(describing: channel))
        guard let start = text.indices.first(where: { text[$0...].hasPrefix("fd=") }) else { return -1 }
        return Int(text[text.index(start, offsetBy: 3)...].prefix { $0.isNumber }) ?? -1
    }

    public func schedule(afterMilliseconds milliseconds: Int64, _ work: @escaping @Sendable () -> Void) {
        group.next().scheduleTask(in: .milliseconds(milliseconds)) { work() }
    }

    /// `maxclients` connections need as many descriptors, plus 32 for the server's own (as
    /// Redis reserves): the soft limit is raised as far as the hard one allows, and
    /// `maxclients` lowered, with Redis's warning, when that is not enough.
    private func raiseOpenFilesLimit() {
        let reserved = 32
        let wanted = state.config.integer("maxclients") + reserved
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, Int(limit.rlim_cur) < wanted else { return }
        let previous = Int(limit.rlim_cur)
        limit.rlim_cur = rlim_t(min(wanted, Int(limit.rlim_max)))
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        var granted = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &granted)
        let available = max(Int(granted.rlim_cur), previous)
        guard available < wanted else { return }
        let clients = max(1, available - reserved)
        logger.warning("You requested maxclients of \(wanted - reserved) requiring at least \(wanted) max file descriptors.")
        logger.warning("Server can't set maximum open files to \(wanted) because of OS error: Operation not permitted.")
        logger.warning("Current maximum open files is \(available). maxclients has been reduced to \(clients) to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.")
        try? state.config.set([("maxclients", String(clients))])
    }

    /// The cron: `hz` times a second on the first loop (expiry, rates, idle clients).
    private func startCron() {
        let loop = group.next()
        @Sendable func schedule() {
            let hz = state.adaptHz()
            loop.scheduleTask(in: .milliseconds(Int64(1000 / hz))) { [self] in
                let now = Clock.now()
                state.cron(now: now)
                persistence.cron(now: now)
                replication.cron(now: now)
                closeIdleClients(now: now)
                shutdownCron(now: now)
                schedule()
            }
        }
        schedule()
    }

    /// `timeout`: closes normal clients idle for longer (never replicas, masters, blocked or
    /// subscribed clients).
    private func closeIdleClients(now: Int64) {
        let timeout = state.config.integer("timeout")
        guard timeout > 0 else { return }
        for session in state.clients.all() {
            let published = session.published.withLock { $0 }
            let exempt: ClientFlags = [.replica, .master, .blocked, .pubsub]
            guard published.flags.isDisjoint(with: exempt), published.subscriptions + published.patternSubscriptions == 0,
                  session.blocked.withLock({ $0 == nil }), !state.pause.isWaiting(session) else { continue }
            if now - published.lastInteraction > Int64(timeout) * 1000 {
                logger.info("Closing idle client")
                session.connection?.close()
            }
        }
    }

    // MARK: Configuration changes

    private func observeConfiguration() {
        let config = state.config
        config.observe("loglevel") { RedisLogHandler.output.setLevel($0) }
        config.observe("port") { [self] value throws(ConfigError) in
            try rebind(port: Int(value) ?? 0)
        }
        config.observe("bind") { [self] _ throws(ConfigError) in
            try rebind(port: state.config.integer("port"))
        }
        config.observe("proc-title-template") { [self] _ in showProcessTitle() }
    }

    /// `set-proc-title`: `ps` shows the process as `proc-title-template` says
    /// (`needletail 127.0.0.1:6379` by default), within the room its command line had.
    private func showProcessTitle() {
        let config = state.config
        guard config.bool("set-proc-title") else { return }
        let port = config["port"], bind = config["bind"].split(separator: " ").first.map(String.init) ?? "*"
        let values = ["title": title, "listen-addr": port != "0" ? "\(bind):\(port)" : "unixsocket:\(config["unixsocket"])",
                      "server-mode": "", "config-file": config.file ?? "-", "port": port, "tls-port": config["tls-port"],
                      "unixsocket": config["unixsocket"]]
        guard let text = ProcessTitle.expand(config["proc-title-template"], { values[$0] ?? "" }) else { return }
        _ = needletail_set_process_title(text)
    }

    /// CONFIG SET port / bind: listen on the new addresses first, then close the old listeners.
    /// Port 0 listens on no TCP port at all, as in Redis.
    private func rebind(port: Int) throws(ConfigError) {
        let old = listeners.withLock { $0 }
        do {
            if port == 0 { listeners.withLock { $0 = [] } } else { try bind(port: port) }
        } catch {
            listeners.withLock { $0 = old }
            throw ConfigError.invalid("Failed to bind to specified addresses.")
        }
        for channel in old { channel.close(promise: nil) }
    }

    // MARK: Shutdown

    /// SIGTERM and SIGINT shut down cleanly, as `shutdown-on-sigterm` and `shutdown-on-sigint`
    /// say; the returned sources must be kept alive.
    private func installSignalHandlers() -> [DispatchSourceSignal] {
        signal(SIGPIPE, SIG_IGN)
        var sources: [DispatchSourceSignal] = []
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                if name == "SIGINT", case .waitingForReplicas = shutdownProgress.withLock({ $0 }) {
                    logger.warning("You insist... exiting now.")
                    exit(1)
                }
                logger.warning("Received \(name) scheduling shutdown...")
                let flags = state.config["shutdown-on-\(name.lowercased())"].split(separator: " ")
                shutdown(ShutdownRequest(save: flags.contains("save") ? .save : flags.contains("nosave") ? .noSave : .configured,
                                             now: flags.contains("now"), force: flags.contains("force")), waiting: nil)
            }
            source.resume()
            sources.append(source)
        }
        return sources
    }

    func stop() {
        for channel in listeners.withLock({ $0 }) { try? channel.close().wait() }
        if let channel = unixListener.withLock({ $0 }) {
            try? channel.close().wait()
            unlink(state.config["unixsocket"])
        }
        for session in state.clients.all() { session.connection?.close() }
        removePidFile()
        logger.warning("Needletail is now ready to exit, bye bye...")
        try? group.syncShutdownGracefully()
        try? acceptor.syncShutdownGracefully()
        done.signal()
    }

    public func log(_ message: String) {
        logger.notice("\(message)")
    }

    public func warn(_ message: String) {
        logger.warning("\(message)")
    }

    // MARK: Pid file

    private func writePidFile() {
        let path = state.config["pidfile"]
        guard !path.isEmpty else { return }
        let text = "\(getpid())\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            logger.warning("Failed to write PID file: errno \(errno)")
            return
        }
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    private func removePidFile() {
        let path = state.config["pidfile"]
        guard !path.isEmpty else { return }
        logger.notice("Removing the pid file.")
        unlink(path)
    }
}
