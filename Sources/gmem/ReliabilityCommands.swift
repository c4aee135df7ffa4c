import ArgumentParser
import Foundation
import GmemBench
import GmemModel
import GuestImages
import KVM
import MicroVM

/// What this process holds that a leak would grow: descriptors, threads, resident memory.
struct ProcessResources: Encodable, Equatable {
    let descriptors: Int
    let threads: Int
    let residentBytes: UInt64

    static func now() -> ProcessResources {
        let fm = FileManager.default
        let fds = (try? fm.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
        let threads = (try? fm.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
        let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let pages = statm.split(separator: " ").dropFirst().first.flatMap { UInt64($0) } ?? 0
        return ProcessResources(descriptors: fds, threads: threads, residentBytes: pages * 4096)
    }
}

/// `Unevictable` of /proc/meminfo in bytes: memory pinned by guest_memfd (GMEM-SPEC F5).
func unevictableBytes() -> UInt64 {
    HostUsage.bytes("Unevictable", in: HostUsage.procText("/proc/meminfo"))
}

/// `gmem fuzz`: random byte strings run as the CPL3 payload with random register states.
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Run random guest code at CPL3 and check that every run ends classified, with nothing leaked.",
        discussion: "Exits non-zero if a run ends in a host-side error or descriptors or threads leak."
    )

    @Option(name: .long, help: "Number of runs.") var runs: Int = 1000
    @Option(name: .long, help: "Seed of the random payloads and registers.") var seed: UInt64 = 1
    @Option(name: .long, help: "Per-run wall-clock limit in milliseconds.") var timeoutMs: Int = 20
    @Option(name: .long, help: "Payload length in bytes.") var length: Int = 96
    @Flag(name: .long, help: "Print the result as JSON.") var json = false

    struct Result: Encodable {
        let runs: Int
        let seed: UInt64
        let outcomes: [String: Int]
        let hostErrors: Int
        let before: ProcessResources
        let after: ProcessResources
        let leaked: Bool
        let seconds: Double
    }

    func run() throws {
        guard runs > 0, timeoutMs > 0, (1...4096).contains(length) else {
            throw CommandFailure("gmem fuzz: --runs and --timeout-ms must be positive and --length 1…4096")
        }
        if let reason = KVMHost.unavailableReason { throw CommandFailure("gmem fuzz: \(reason)") }
        var random = SplitMix64(seed: seed)
        var outcomes: [String: Int] = [:]
        var hostErrors = 0
        // Warm up once so lazily created process state does not count as a leak.
        _ = try? Machine.run(MachineConfig(image: ELFImage.minimal(code: [0xE7, 0xF4]), memorySize: 4 << 20))
        let before = ProcessResources.now()
        let started = ContinuousClock.now
        for index in 0..<runs {
            let code = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let values = (0..<16).map { _ in random.next() }
            var config = MachineConfig(name: "fuzz-\(index)", image: ELFImage.minimal(code: code), memorySize: 4 << 20,
                                       timeout: .milliseconds(timeoutMs), consoleLimit: 256)
            config.adjustEntryRegisters = { _, registers in
                registers.rax = values[0]; registers.rbx = values[1]; registers.rcx = values[2]; registers.rdx = values[3]
                registers.rsi = values[4]; registers.rdi = values[5]; registers.rbp = values[6]; registers.r8 = values[7]
                registers.r9 = values[8]; registers.r10 = values[9]; registers.r11 = values[10]; registers.r12 = values[11]
                registers.r13 = values[12]; registers.r14 = values[13]; registers.r15 = values[14]
                // Arithmetic flags, direction, trap and alignment-check bits at random; IOPL 3 kept.
                registers.rflags = 0x3002 | (values[15] & 0x4_0DD5)
            }
            do {
                let report = try Machine.run(config)
                outcomes[report.cause.kind, default: 0] += 1
            } catch {
                hostErrors += 1
                outcomes["host-error: \(error)", default: 0] += 1
            }
            if !json, (index + 1) % 10_000 == 0 {
                printError("gmem fuzz: \(index + 1) runs, \(outcomes.count) kinds of outcome")
            }
        }
        let after = ProcessResources.now()
        let leaked = after.descriptors != before.descriptors || after.threads > before.threads
        let result = Result(runs: runs, seed: seed, outcomes: outcomes, hostErrors: hostErrors, before: before,
                            after: after, leaked: leaked, seconds: (ContinuousClock.now - started).seconds)
        if json {
            try printJSON(result)
        } else {
            for (kind, count) in outcomes.sorted(by: { $0.value > $1.value }) { emit("  \(kind.padding(toLength: 20, withPad: " ", startingAt: 0)) \(count)") }
            emit("descriptors \(before.descriptors) → \(after.descriptors), threads \(before.threads) → \(after.threads)")
            emit("fuzz: \(runs) runs of random guest code (seed \(seed)) in \(String(format: "%.1f", result.seconds)) s: "
                 + "\(hostErrors) host errors, \(leaked ? "LEAKED" : "no leaks")")
        }
        if hostErrors > 0 || leaked { throw ExitCode(1) }
    }
}

/// `gmem soak`: many whole VM lifecycles in one process, checking nothing accumulates.
struct SoakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Run the hello guest many times in one process and check nothing leaks.",
        discussion: "Checks that descriptors stay constant, resident memory grows under 1 MiB and Unevictable returns to its start. Exits non-zero otherwise."
    )

    @Option(name: .long, help: "Number of VM lifecycles.") var cycles: Int = 1000
    @Option(name: .long, help: "Guest RAM per VM, e.g. 4M.") var memory: String = "4M"
    @Flag(name: .long, help: "Print the result as JSON.") var json = false

    struct Result: Encodable {
        let cycles: Int
        let failures: Int
        let before: ProcessResources
        let after: ProcessResources
        let residentGrowthBytes: Int64
        let unevictableBeforeBytes: UInt64
        let unevictableAfterBytes: UInt64
        let passed: Bool
        let seconds: Double
    }

    func run() throws {
        guard cycles > 0, let bytes = parseSize(memory) else { throw CommandFailure("gmem soak: --cycles must be positive and --memory a size") }
        if let reason = KVMHost.unavailableReason { throw CommandFailure("gmem soak: \(reason)") }
        let config = MachineConfig(name: "hello", image: GuestImages.hello, memorySize: bytes)
        do { try config.validate() } catch { throw CommandFailure("gmem soak: \(error)") }
        // Warm-up cycles: allocator pools and lazily created state settle first.
        for _ in 0..<20 { _ = try? Machine.run(config) }
        let before = ProcessResources.now()
        let unevictableBefore = unevictableBytes()
        let started = ContinuousClock.now
        var failures = 0
        for index in 0..<cycles {
            do {
                if try !Machine.run(config).succeeded { failures += 1 }
            } catch {
                failures += 1
            }
            if !json, (index + 1) % 1000 == 0 { printError("gmem soak: \(index + 1) cycles") }
        }
        let after = ProcessResources.now()
        let unevictableAfter = unevictableBytes()
        let growth = Int64(after.residentBytes) - Int64(before.residentBytes)
        let passed = failures == 0 && after.descriptors == before.descriptors && after.threads <= before.threads
            && growth < 1 << 20 && unevictableAfter <= unevictableBefore + (1 << 20)
        let result = Result(cycles: cycles, failures: failures, before: before, after: after, residentGrowthBytes: growth,
                            unevictableBeforeBytes: unevictableBefore, unevictableAfterBytes: unevictableAfter,
                            passed: passed, seconds: (ContinuousClock.now - started).seconds)
        if json {
            try printJSON(result)
        } else {
            emit("descriptors \(before.descriptors) → \(after.descriptors); threads \(before.threads) → \(after.threads); "
                 + "resident \(formatBytes(before.residentBytes)) → \(formatBytes(after.residentBytes)) (\(growth) bytes); "
                 + "Unevictable \(formatBytes(unevictableBefore)) → \(formatBytes(unevictableAfter))")
            emit("soak: \(cycles) lifecycles in \(String(format: "%.1f", result.seconds)) s "
                 + "(\(String(format: "%.0f", Double(cycles) / max(result.seconds, 1e-9)))/s), \(failures) failed runs: \(passed ? "no leaks" : "LEAK OR FAILURE")")
        }
        if !passed { throw ExitCode(1) }
    }
}
