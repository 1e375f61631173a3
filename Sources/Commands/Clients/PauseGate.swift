import Locks
import Engine
import Synchronization

/// CLIENT PAUSE: the gate that postpones commands, never refuses them.
///
/// Pauses are kept per purpose (an operator's CLIENT PAUSE; later FAILOVER and shutdown); the
/// gate applies the strictest active mode. A command the gate holds is not run and not
/// consumed: its client waits, in `blocked_clients` with flag `b`, and when the gate opens
/// (UNPAUSE, the deadline, or a milder mode) every waiting client re-processes its pending
/// requests from scratch, in the order the clients were stopped.
///
/// While any pause is active, expired keys read as missing but are not deleted (lazily or
/// actively): their deletions happen after the pause.
public final class PauseGate: Sendable {
    public enum Mode: Int, Sendable, Comparable {
        case none, write, all

        public static func < (lhs: Mode, rhs: Mode) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public enum Purpose: Sendable {
        case client, failover, shutdown
    }

    private struct State {
        var pauses: [Purpose: (mode: Mode, until: Int64)] = [:]
        /// Clients stopped by the gate, in the order they stopped.
        var waiting: [ClientSession] = []
    }

    private let state = Lock(State())
    /// The strictest active mode, for the dispatcher's lock-free check on every command.
    private let current = Atomic<Int>(Mode.none.rawValue)
    private let keyspace: Keyspace

    init(keyspace: Keyspace) {
        self.keyspace = keyspace
    }

    public var mode: Mode { Mode(rawValue: current.load(ordering: .relaxed)) ?? .none }

    /// How many clients wait at the gate (they count as blocked).
    public var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// Ten years, in ms: a pause that only its purpose's end lifts (a failover, a shutdown
    /// waiting for replicas), still a deadline the timer can be armed with.
    public static let indefinitely: Int64 = 10 * 365 * 24 * 3600 * 1000

    /// Pauses for `purpose` until `until` (Unix ms). A repeated pause keeps the later deadline
    /// and the stricter mode. Returns the deadline in force, for the caller to arm a timer.
    @discardableResult
    public func pause(_ purpose: Purpose, _ mode: Mode, until: Int64) -> Int64 {
        state.withLock { state in
            var pause = state.pauses[purpose] ?? (mode, until)
            pause.mode = max(pause.mode, mode)
            pause.until = max(pause.until, until)
            state.pauses[purpose] = pause
            apply(state)
            return pause.until
        }
    }

    /// Lifts the pause of `purpose`; returns the clients to resume if the gate opened wider.
    public func unpause(_ purpose: Purpose) -> [ClientSession] {
        state.withLock { state in
            state.pauses[purpose] = nil
            return release(&state)
        }
    }

    /// Ends the pauses whose deadline passed; returns the clients to resume, if any.
    public func expire(now: Int64) -> [ClientSession] {
        state.withLock { state in
            state.pauses = state.pauses.filter { $0.value.until > now }
            return release(&state)
        }
    }

    /// The earliest deadline of an active pause, or nil when none.
    public var nextDeadline: Int64? {
        state.withLock { $0.pauses.values.map(\.until).min() }
    }

    /// Whether `command` must wait, for a normal client, in the current mode. `flags` are the
    /// command's, with its queue's for EXEC. Replica links are never held, nor is CLIENT
    /// UNPAUSE (a Needletail difference: Redis holds it under `ALL`, so a `PAUSE ... ALL` cannot
    /// be cut short there).
    func holds(_ command: Command, flags: CommandFlags, _ session: ClientSession) -> Bool {
        let mode = self.mode
        guard mode != .none, !session.flags.contains(.replica), !command.flags.contains(.passesPause) else { return false }
        if mode == .all { return true }
        return flags.contains(.write) || flags.contains(.mayReplicate)
    }

    /// Stops `session` at the gate; false when the gate opened meanwhile (then run the command).
    func postpone(_ session: ClientSession, _ command: Command, flags: CommandFlags) -> Bool {
        state.withLock { state in
            guard holds(command, flags: flags, session) else { return false }
            state.waiting.append(session)
            return true
        }
    }

    public func isWaiting(_ session: ClientSession) -> Bool {
        state.withLock { $0.waiting.contains { $0 === session } }
    }

    /// Forgets a client that went away while waiting.
    func forget(_ session: ClientSession) {
        state.withLock { $0.waiting.removeAll { $0 === session } }
    }

    private func apply(_ state: State) {
        let mode = state.pauses.values.map(\.mode).max() ?? .none
        current.store(mode.rawValue, ordering: .relaxed)
        if mode == .none { keyspace.release(.paused) } else { keyspace.hold(.paused) }
    }

    /// Recomputes the mode; when it got milder, every waiting client goes back to re-process
    /// (those still held will stop again).
    private func release(_ state: inout State) -> [ClientSession] {
        let before = mode
        apply(state)
        guard mode < before else { return [] }
        defer { state.waiting = [] }
        return state.waiting
    }
}
