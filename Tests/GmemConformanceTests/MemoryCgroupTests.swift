import Foundation
import GmemModel
import TestSupport
import Testing

@testable import GmemConformance

#if canImport(Glibc)
import Glibc
#endif

/// gmem check's own memory: a scenario file too large for the host is refused before it runs
/// with one line (an 800,000-step file was once OOM-killed in gmem check's cgroup, exit 137 and
/// nothing printed), and the `gmem-check-PID` cgroups a killed run leaves are removed by the next.
@Suite("gmem check's own memory: step allowance, refusal, stale cgroups", .serialized, .descriptorExclusive)
struct MemoryCgroupTests {
    static let gib: UInt64 = 1 << 30

    @Test("the largest file the format allows (2^24 steps) is refused on a 4 GiB host with one line naming the count")
    func refusesTooManySteps() throws {
        let refusal = try #require(
            ConformanceCheck.stepRefusal(steps: 1 << 24, budget: 256 << 20, available: 4 * Self.gib))
        #expect(refusal.contains("16777216 scenario steps"), "\(refusal)")
        #expect(refusal.contains("\(MemoryCgroup.perStepAllowance) bytes per step"), "\(refusal)")
        #expect(refusal.contains("4 GiB available"), "\(refusal)")
        #expect(!refusal.contains("\n"))
    }

    @Test("a 1,000,000-step file fits a host with 2 GiB available; the refusal edge is the allowance exactly")
    func acceptsMillion() throws {
        #expect(ConformanceCheck.stepRefusal(steps: 1_000_000, budget: 256 << 20, available: 2 * Self.gib) == nil)
        let needed = try #require(MemoryCgroup.allowance(steps: 1_000_000)) + (256 << 20)
        #expect(ConformanceCheck.stepRefusal(steps: 1_000_000, budget: 256 << 20, available: needed) == nil)
        #expect(ConformanceCheck.stepRefusal(steps: 1_000_000, budget: 256 << 20, available: needed - 1) != nil)
        #expect(ConformanceCheck.stepRefusal(steps: 1 << 24, budget: 256 << 20, available: nil) == nil)
    }

    @Test("printing every step (--verbose, --json) counts its text: 1,000,000 such steps need more than 2 GiB")
    func printedSteps() throws {
        let refusal = try #require(
            ConformanceCheck.stepRefusal(steps: 1_000_000, printed: true, budget: 256 << 20, available: 2 * Self.gib))
        #expect(refusal.contains("1000000 scenario steps") && refusal.contains("--json"), "\(refusal)")
        #expect(refusal.contains("\(MemoryCgroup.perPrintedStepAllowance) bytes per step"))
        #expect(
            ConformanceCheck.stepRefusal(steps: 1_000_000, printed: true, budget: 256 << 20, available: 4 * Self.gib)
                == nil)
        #expect(MemoryCgroup.perPrintedStepAllowance > MemoryCgroup.perStepAllowance)
    }

    @Test("an allowance past 2^64 is refused, not wrapped")
    func overflow() {
        #expect(MemoryCgroup.allowance(steps: Int.max) == nil)
        let refusal = ConformanceCheck.stepRefusal(steps: Int.max, budget: .max, available: .max)
        #expect(refusal?.contains("more than") == true, "\(refusal ?? "accepted")")
        #expect(MemoryCgroup.allowance(steps: 0) == MemoryCgroup.ownAllowance)
    }

    @Test("a run's report renders each step's texts only when asked, the same as before")
    func lazySteps() throws {
        let scenario = try #require(
            try ScenarioFormat.parse("memfd M size=4K\nstat M -> stat size=4K\nclose M\nclose M -> EBADF", source: "t")
                .first)
        let result = ConformanceRunner(selection: .model, capabilities: .referenceHost).run(scenario)
        let report = ConformanceReport(results: [result], selection: .model, notes: [], seconds: 0)
        let steps = try #require(report.results.first?.steps)
        #expect(steps.map(\.action) == ["memfd M size=4K", "stat M", "close M", "close M"])
        #expect(steps.map(\.line) == [1, 2, 3, 4])
        #expect(steps[1].expected == "stat size=4096", "\(steps[1].expected ?? "nil")")
        #expect(steps[3].model == "EBADF" && steps[3].kernel == nil && steps[3].problems.isEmpty)
        let data = try JSONEncoder().encode(report)
        let decoded = try JSONDecoder().decode(ConformanceReport.self, from: data)
        #expect(decoded == report)
        #expect(decoded.results.first?.steps == steps)
        #expect(report.formatted(verbose: true).contains("3: close M   [model ok]"))
    }

    /// The cgroup directory this process may make children in, or the reason it cannot.
    static func ownCgroup() -> (String, String?) {
        guard let (child, _) = MemoryCgroup.childDirectory() else {
            return ("", "not root, or no memory cgroup controller here")
        }
        let parent = String(child[..<(child.lastIndex(of: "/") ?? child.endIndex)])
        guard HostCall.writable(parent) else { return ("", "\(parent) is not writable") }
        return (parent, nil)
    }

    /// A pid no process has now.
    static func deadPID() -> Int32 {
        var pid: Int32 = 4_000_000
        while HostCall.exists("/proc/\(pid)") { pid -= 1 }
        return pid
    }

    @Test(
        "a stale gmem-check cgroup (dead pid, no task) is removed; one holding a task, and other names, are kept",
        .enabled(if: ownCgroup().1 == nil, "needs root and a writable memory cgroup: \(ownCgroup().1 ?? "")"))
    func removesStale() throws {
        let (own, _) = Self.ownCgroup()
        // A private parent, so that the test sees only its own directories.
        let parent = "\(own)/gmem-test-\(getpid())"
        #expect(HostCall.makeDirectory(parent, mode: 0o755) == 0)
        defer { HostCall.removeDirectory(parent) }
        let dead = Self.deadPID()
        let stale = "\(parent)/gmem-check-\(dead)"
        let busy = "\(parent)/gmem-check-\(dead - 1)"
        let other = "\(parent)/other-\(dead)"
        for path in [stale, busy, other] { #expect(HostCall.makeDirectory(path, mode: 0o755) == 0, "\(path)") }
        defer { for path in [stale, busy, other] { HostCall.removeDirectory(path) } }
        // A live task in `busy`: a child process moved into it.
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        defer {
            // SIGKILL: a test runner may pass SIGTERM on ignored.
            if sleeper.isRunning { kill(sleeper.processIdentifier, SIGKILL) }
            sleeper.waitUntilExit()
        }
        #expect(MemoryCgroup.write(String(sleeper.processIdentifier), to: "\(busy)/cgroup.procs"))

        let removed = MemoryCgroup.removeStale(in: parent)
        #expect(removed == [stale])
        #expect(!HostCall.exists(stale))
        #expect(HostCall.exists(busy) && HostCall.exists(other))

        kill(sleeper.processIdentifier, SIGKILL)
        sleeper.waitUntilExit()
        #expect(MemoryCgroup.removeStale(in: parent) == [busy])
        #expect(HostCall.exists(other))
    }

    /// The built `gmem` next to the test binary (`swift test` builds every product first).
    static let gmemBinary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<3
        where !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("gmem").path) {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("gmem").path
    }()

    @Test(
        "gmem check killed by SIGTERM inside its cgroup removes the cgroup and still dies of SIGTERM",
        .enabled(if: ownCgroup().1 == nil, "needs root and a writable memory cgroup: \(ownCgroup().1 ?? "")"),
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: gmemBinary),
            "the gmem binary is not built next to the tests"))
    func sigtermCleansUp() throws {
        let (parent, _) = Self.ownCgroup()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gmem-sigterm-\(getpid()).gmem")
        // Long enough that the run is still going when the signal comes (it parses first).
        let text = "memfd M size=4K\n" + String(repeating: "stat M\n", count: 1_000_000)
        try Data(text.utf8).write(to: scratch)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: Self.gmemBinary)
        child.arguments = ["check", "--backend", "both", scratch.path]
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        defer {
            if child.isRunning { kill(child.processIdentifier, SIGKILL) }
            child.waitUntilExit()
        }
        let directory = "\(parent)/gmem-check-\(child.processIdentifier)"
        let deadline = ContinuousClock.now + .seconds(120)
        while child.isRunning, ContinuousClock.now < deadline {
            if let procs = MemoryCgroup.read("\(directory)/cgroup.procs"), procs.contains(where: { $0.isNumber }) {
                break
            }
            usleep(20_000)
        }
        try #require(child.isRunning, "gmem check ended before it was seen in \(directory)")
        kill(child.processIdentifier, SIGTERM)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal && child.terminationStatus == SIGTERM)
        #expect(!HostCall.exists(directory), "\(directory) left behind")
    }
}
