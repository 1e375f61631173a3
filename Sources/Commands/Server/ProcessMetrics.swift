import RESP
import SystemShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Facts about the process and machine that INFO reports.
enum ProcessMetrics {
    /// Bytes the allocator has handed out and not taken back (see AllocationCounter.c).
    static func allocatedBytes() -> Int {
        Int(needletail_allocated_bytes())
    }

    /// Bytes the allocator holds from the system.
    static func allocatorActiveBytes() -> Int {
        Int(needletail_allocator_active_bytes())
    }

    /// Resident set size from /proc/self/statm.
    static func residentBytes() -> Int {
        guard let text = readFile("/proc/self/statm") else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func totalSystemMemory() -> Int {
        Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// (user, system) CPU seconds of the whole process, or of the calling thread.
    static func cpuSeconds(thread: Bool = false) -> (user: Double, system: Double) {
        if thread {
            var user = 0.0, system = 0.0
            needletail_thread_cpu(&user, &system)
            return (user, system)
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return (seconds(usage.ru_utime), seconds(usage.ru_stime))
    }

    /// `Linux 6.1.0 x86_64`, as INFO `os`.
    static func operatingSystem() -> String {
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return "\(field(name.sysname)) \(field(name.release)) \(field(name.machine))"
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, 4096) != nil else { return "" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(fd, &buffer, 4096)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0 ..< count], as: UTF8.self)
    }

    /// `1.50M`, `1015.55K`, `23.54G`: Redis's human-readable byte counts.
    static func human(_ bytes: Int) -> String {
        let value = Double(bytes)
        let units: [(Double, String)] = [(0x1p60, "E"), (0x1p50, "P"), (0x1p40, "T"), (0x1p30, "G"), (0x1p20, "M"), (0x1p10, "K")]
        for (size, unit) in units where value >= size {
            return ReplyWriter.formatC("%.2f", value / size) + unit
        }
        return "\(bytes)B"
    }
}
