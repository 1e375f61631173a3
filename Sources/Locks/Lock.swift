import Synchronization

#if NEEDLETAIL_TSAN
@usableFromInline @_silgen_name("__tsan_acquire") func tsanAcquire(_ address: UnsafeRawPointer)
@usableFromInline @_silgen_name("__tsan_release") func tsanRelease(_ address: UnsafeRawPointer)
#endif

/// The standard library's `Mutex`, as every piece of shared state here is guarded, with one
/// addition for sanitizer builds: ThreadSanitizer cannot see the lock's contended path (it waits
/// in a futex inside the uninstrumented runtime), so a build with `-DNEEDLETAIL_TSAN` tells it of
/// every acquire and release. In every other build `withLock` is `Mutex.withLock` itself.
///
/// Store it in a `let` only, as a `Mutex`.
public struct Lock<Value: ~Copyable>: ~Copyable {
    @usableFromInline let mutex: Mutex<Value>

    public init(_ value: consuming sending Value) {
        mutex = Mutex(value)
    }

    @inlinable
    public borrowing func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        #if NEEDLETAIL_TSAN
        // The lock's own address names it (taken before locking: touching the value first
        // would be an access the sanitizer sees as unguarded).
        let address = withUnsafePointer(to: self) { UnsafeRawPointer($0) }
        #endif
        return try mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            #if NEEDLETAIL_TSAN
            tsanAcquire(address)
            defer { tsanRelease(address) }
            #endif
            return try body(&value)
        }
    }
}

extension Lock: @unchecked Sendable where Value: ~Copyable {}
