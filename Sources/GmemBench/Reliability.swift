import Foundation
import GmemModel
import GuestImages
import KVM
import Logging
import MicroVM

/// What this process holds that a leak would grow: descriptors, threads, resident memory.
public struct ProcessResources: Codable, Equatable, Sendable {
    public let descriptors: Int
    public let threads: Int
    public let residentBytes: UInt64

    public static func now() -> ProcessResources {
        let fm = FileManager.default
        let fds = (try? fm.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
        let threads = (try? fm.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
        let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let pages = statm.split(separator: " ").dropFirst().first.flatMap { UInt64($0) } ?? 0
        return ProcessResources(descriptors: fds, threads: threads, residentBytes: pages * 4096)
    }
}

/// `gmem fuzz`: random byte strings run as the CPL3 payload with random register states;
/// every run must end classified, with nothing leaked.
public struct GuestFuzzReport: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 1

    /// What to run (the `gmem fuzz` options).
    public struct Options: Sendable {
        public var runs = 1000
        public var seed: UInt64 = 1
        public var timeoutMilliseconds = 20
        public var length = 96
        public init() {}
    }

    public let schemaVersion: Int
    public let runs: Int
    public let seed: UInt64
    public let outcomes: [String: Int]
    public let hostErrors: Int
    public let before: ProcessResources
    public let after: ProcessResources
    public let leaked: Bool
    public let seconds: Double

    public var succeeded: Bool { hostErrors == 0 && !leaked }

    /// Runs `options.runs` random payloads; `progress` is told every 10,000 runs.
    public static func run(
        _ options: Options, logger: Logger = Logger(label: "gmemkit.reliability"),
        progress: (String) -> Void = { _ in }
    ) throws(BenchError) -> GuestFuzzReport {
        guard options.runs > 0, options.timeoutMilliseconds > 0, (1...4096).contains(options.length) else {
            throw BenchError("--runs and --timeout-ms must be positive and --length 1…4096")
        }
        if let reason = KVMHost.unavailableReason { throw BenchError(reason) }
        var random = SplitMix64(seed: options.seed)
        var outcomes: [String: Int] = [:]
        var hostErrors = 0
        // Warm up once so lazily created process state does not count as a leak.
        _ = try? Machine.run(MachineConfig(image: ELFImage.minimal(code: [0xE7, 0xF4]), memorySize: 4 << 20))
        let before = ProcessResources.now()
        let started = ContinuousClock.now
        for index in 0..<options.runs {
            let code = (0..<options.length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let values = (0..<16).map { _ in random.next() }
            var config = MachineConfig(
                name: "fuzz-\(index)", image: ELFImage.minimal(code: code), memorySize: 4 << 20,
                timeout: .milliseconds(options.timeoutMilliseconds), consoleLimit: 256)
            config.adjustEntryRegisters = { _, registers in
                registers.rax = values[0]
                registers.rbx = values[1]
                registers.rcx = values[2]
                registers.rdx = values[3]
                registers.rsi = values[4]
                registers.rdi = values[5]
                registers.rbp = values[6]
                registers.r8 = values[7]
                registers.r9 = values[8]
                registers.r10 = values[9]
                registers.r11 = values[10]
                registers.r12 = values[11]
                registers.r13 = values[12]
                registers.r14 = values[13]
                registers.r15 = values[14]
                // Arithmetic flags, direction, trap and alignment-check bits at random; IOPL 3 kept.
                registers.rflags = 0x3002 | (values[15] & 0x4_0DD5)
            }
            do {
                let report = try Machine.run(config)
                outcomes[report.cause.kind, default: 0] += 1
            } catch {
                hostErrors += 1
                outcomes["host-error: \(error)", default: 0] += 1
                logger.warning("host error", metadata: ["run": "\(index)", "error": "\(error)"])
            }
            if (index + 1) % 10_000 == 0 { progress("\(index + 1) runs, \(outcomes.count) kinds of outcome") }
        }
        let after = ProcessResources.now()
        let leaked = after.descriptors != before.descriptors || after.threads > before.threads
        return GuestFuzzReport(
            schemaVersion: currentSchemaVersion, runs: options.runs, seed: options.seed, outcomes: outcomes,
            hostErrors: hostErrors, before: before, after: after, leaked: leaked,
            seconds: (ContinuousClock.now - started).seconds)
    }

    public func formatted() -> String {
        var lines = outcomes.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }).map {
            "  \($0.key.padding(toLength: 20, withPad: " ", startingAt: 0)) \($0.value)"
        }
        lines.append(
            "descriptors \(before.descriptors) → \(after.descriptors), threads \(before.threads) → \(after.threads)")
        lines.append(
            "fuzz: \(runs) runs of random guest code (seed \(seed)) in \(String(format: "%.1f", seconds)) s: "
                + "\(hostErrors) host errors, \(leaked ? "LEAKED" : "no leaks")")
        return lines.joined(separator: "\n")
    }
}

/// `gmem soak`: many whole VM lifecycles in one process, checking nothing accumulates.
public struct SoakReport: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 1

    public let schemaVersion: Int
    public let cycles: Int
    public let failures: Int
    public let before: ProcessResources
    public let after: ProcessResources
    public let residentGrowthBytes: Int64
    public let unevictableBeforeBytes: UInt64
    public let unevictableAfterBytes: UInt64
    public let passed: Bool
    public let seconds: Double

    /// Runs the hello guest `cycles` times with `memory` bytes of RAM; `progress` is told every 1,000.
    public static func run(
        cycles: Int, memory: UInt64, logger: Logger = Logger(label: "gmemkit.reliability"),
        progress: (String) -> Void = { _ in }
    ) throws(BenchError) -> SoakReport {
        guard cycles > 0 else { throw BenchError("--cycles must be positive and --memory a size") }
        if let reason = KVMHost.unavailableReason { throw BenchError(reason) }
        let config = MachineConfig(name: "hello", image: GuestImages.hello, memorySize: memory)
        do { try config.validate() } catch { throw BenchError("\(error)") }
        // Warm-up cycles: allocator pools and lazily created state settle first.
        for _ in 0..<20 { _ = try? Machine.run(config) }
        let before = ProcessResources.now()
        let unevictableBefore = unevictable()
        let started = ContinuousClock.now
        var failures = 0
        for index in 0..<cycles {
            do {
                if try !Machine.run(config).succeeded { failures += 1 }
            } catch {
                failures += 1
                logger.warning("cycle failed", metadata: ["cycle": "\(index)", "error": "\(error)"])
            }
            if (index + 1) % 1000 == 0 { progress("\(index + 1) cycles") }
        }
        let after = ProcessResources.now()
        let unevictableAfter = unevictable()
        let growth = Int64(clamping: after.residentBytes) &- Int64(clamping: before.residentBytes)
        let passed =
            failures == 0 && after.descriptors == before.descriptors && after.threads <= before.threads
            && growth < 1 << 20 && unevictableAfter <= unevictableBefore + (1 << 20)
        return SoakReport(
            schemaVersion: currentSchemaVersion, cycles: cycles, failures: failures, before: before, after: after,
            residentGrowthBytes: growth, unevictableBeforeBytes: unevictableBefore,
            unevictableAfterBytes: unevictableAfter, passed: passed, seconds: (ContinuousClock.now - started).seconds)
    }

    /// `Unevictable` of /proc/meminfo in bytes: memory pinned by guest_memfd (GMEM-SPEC F5).
    static func unevictable() -> UInt64 {
        HostUsage.bytes("Unevictable", in: HostUsage.procText("/proc/meminfo"))
    }

    public func formatted() -> String {
        [
            "descriptors \(before.descriptors) → \(after.descriptors); threads \(before.threads) → \(after.threads); "
                + "resident \(ReportFormat.bytes(before.residentBytes)) → \(ReportFormat.bytes(after.residentBytes)) "
                + "(\(residentGrowthBytes) bytes); "
                + "Unevictable \(ReportFormat.bytes(unevictableBeforeBytes)) → \(ReportFormat.bytes(unevictableAfterBytes))",
            "soak: \(cycles) lifecycles in \(String(format: "%.1f", seconds)) s "
                + "(\(String(format: "%.0f", Double(cycles) / max(seconds, 1e-9)))/s), \(failures) failed runs: "
                + (passed ? "no leaks" : "LEAK OR FAILURE"),
        ].joined(separator: "\n")
    }
}
