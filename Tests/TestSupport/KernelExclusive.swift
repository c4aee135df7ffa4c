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
    public static var running: Int { state.withLock { $0.holder == .kernel ? 1 : 0 } }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? nil : self  // the lock is held per test case, never across a suite
    }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        if await Self.acquire(.kernel) {
            // The lock kept the two apart, but the serialized parent should have: a suite outside it.
            Issue.record(
                "\(test.name) had to wait for another kernel test case: its suite is not serialized under KernelTests")
        }
        defer { Self.release() }
        try await function()
    }

    /// Who holds the lock: a kernel test case, or a test case outside the kernel tree that
    /// spawns processes or holds descriptors for long (``DescriptorExclusiveTrait``).
    enum Holder { case kernel, descriptors }

    private struct State: ~Copyable {
        var holder: Holder?
        var contended = 0
        /// Each waiter, its kind, and whether it is a kernel test case waiting for another.
        var waiters: [(continuation: CheckedContinuation<Bool, Never>, holder: Holder, contended: Bool)] = []
    }

    private static let state = Mutex(State())

    /// Takes the lock for `holder`; returns whether a kernel test case had to wait for another
    /// kernel test case (waiting for a descriptor holder, or as one, is expected, not a fault).
    static func acquire(_ holder: Holder) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let resumeNow = state.withLock { state in
                guard let current = state.holder else {
                    state.holder = holder
                    return true
                }
                let contended = holder == .kernel && current == .kernel
                if contended { state.contended += 1 }
                state.waiters.append((continuation, holder, contended))
                return false
            }
            if resumeNow { continuation.resume(returning: false) }
        }
    }

    /// Hands the lock to the oldest waiter, or frees it.
    static func release() {
        let next = state.withLock { state -> (CheckedContinuation<Bool, Never>, Bool)? in
            if state.waiters.isEmpty {
                state.holder = nil
                return nil
            }
            let next = state.waiters.removeFirst()
            state.holder = next.holder
            return (next.continuation, next.contended)
        }
        if let (continuation, contended) = next { continuation.resume(returning: contended) }
    }
}

/// A trait for suites outside ``KernelTests`` whose test cases spawn processes or hold
/// descriptors for long (pipes to a child for its whole run, say): each test case holds the
/// kernel lock while it runs, so no kernel test case runs beside it. A kernel test case places
/// its objects at the descriptor numbers the model predicts and may lower `RLIMIT_NOFILE`
/// (`limit fds=`); a descriptor another test holds meanwhile moves the one, and the other's
/// `pipe(2)` fails under the lowered limit. Not recursive beyond its suite's test cases; waiting
/// for a kernel test (or a kernel test waiting for one of these) is not an issue.
public struct DescriptorExclusiveTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? nil : self
    }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        _ = await KernelExclusiveTrait.acquire(.descriptors)
        defer { KernelExclusiveTrait.release() }
        try await function()
    }
}

extension Trait where Self == DescriptorExclusiveTrait {
    /// Each test case below holds the process-wide kernel lock while it runs, without being a
    /// kernel test (``DescriptorExclusiveTrait``).
    public static var descriptorExclusive: Self { DescriptorExclusiveTrait() }
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
