import Synchronization
import Testing

/// A trait that runs each test case below it while holding the process-wide kernel lock
/// (see ``KernelTests``). Recursive: applied to `KernelTests`, it reaches every kernel suite of
/// every test target.
public struct KernelExclusiveTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    /// The times a kernel test case had to wait for another: 0 while the serialized parent
    /// keeps kernel suites apart by itself.
    public static var contendedAcquisitions: Int { state.withLock { $0.contended } }

    /// The kernel test cases running now (0 or 1; read from inside a kernel test it is 1).
    public static var running: Int { state.withLock { $0.held ? 1 : 0 } }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? nil : self  // the lock is held per test case, never across a suite
    }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        if await Self.acquire() {
            // The lock kept the two apart, but the serialized parent should have: a suite outside it.
            Issue.record(
                "\(test.name) had to wait for another kernel test case: its suite is not serialized under KernelTests")
        }
        defer { Self.release() }
        try await function()
    }

    private struct State: ~Copyable {
        var held = false
        var contended = 0
        var waiters: [CheckedContinuation<Bool, Never>] = []
    }

    private static let state = Mutex(State())

    /// Takes the lock; returns whether it had to wait for another test case to release it.
    private static func acquire() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let resumeNow = state.withLock { state in
                if !state.held {
                    state.held = true
                    return true
                }
                state.contended += 1
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume(returning: false) }
        }
    }

    /// Hands the lock to the oldest waiter, or frees it.
    private static func release() {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if state.waiters.isEmpty {
                state.held = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume(returning: true)
    }
}

extension Trait where Self == KernelExclusiveTrait {
    /// Each test case below holds the process-wide kernel lock while it runs (``KernelTests``).
    public static var kernelExclusive: Self { KernelExclusiveTrait() }
}

/// Checks, from inside a kernel test, that it runs under ``KernelTests``' lock (the recursive
/// trait reached it across modules) and that no kernel test case has had to wait so far (the
/// serialized parent kept them apart). Each test target with kernel suites calls it once.
public func expectKernelExclusivity(sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(
        KernelExclusiveTrait.running == 1,
        "this kernel test does not hold the kernel lock: it is not under KernelTests",
        sourceLocation: sourceLocation)
    #expect(
        KernelExclusiveTrait.contendedAcquisitions == 0,
        "\(KernelExclusiveTrait.contendedAcquisitions) kernel test cases had to wait for another",
        sourceLocation: sourceLocation)
}
