import Locks
import Synchronization

/// `instantaneous_ops_per_sec` and friends: rates over the last 16 samples, one sample every
/// 100 ms, as Redis computes them.
final class InstantaneousMetrics: Sendable {
    enum Metric: Int, CaseIterable {
        case commands, inputBytes, outputBytes
    }

    private struct State {
        var lastTime: Int64 = 0
        var lastValues = [Int](repeating: 0, count: Metric.allCases.count)
        var samples = [[Double]](repeating: [Double](repeating: 0, count: 16), count: Metric.allCases.count)
        var index = 0
    }

    private let state = Lock(State())

    /// Records the counters' current totals at `now` (milliseconds).
    func sample(now: Int64, values: [Int]) {
        state.withLock { state in
            defer {
                state.lastTime = now
                state.lastValues = values
            }
            guard state.lastTime != 0, now > state.lastTime else { return }
            let elapsed = Double(now - state.lastTime)
            for metric in Metric.allCases {
                let delta = Double(values[metric.rawValue] - state.lastValues[metric.rawValue])
                state.samples[metric.rawValue][state.index] = delta * 1000 / elapsed
            }
            state.index = (state.index + 1) % 16
        }
    }

    /// The average rate per second.
    func rate(_ metric: Metric) -> Double {
        state.withLock { $0.samples[metric.rawValue].reduce(0, +) / 16 }
    }
}
