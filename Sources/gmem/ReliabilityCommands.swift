import ArgumentParser
import GmemBench
import MicroVM

/// `gmem fuzz`: random byte strings run as the CPL3 payload with random register states.
struct FuzzCommand: LoggedCommand {
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
    @OptionGroup var logging: LoggingOptions

    /// The ranges `GuestFuzzReport.run` checks again (it has no check apart from the run).
    func validate() throws {
        try OptionValues.require(runs, in: 1...Int.max, option: "--runs")
        try OptionValues.require(timeoutMs, in: 1...Int.max, option: "--timeout-ms")
        try OptionValues.require(length, in: 1...4096, option: "--length")
    }

    func run() throws {
        var options = GuestFuzzReport.Options()
        (options.runs, options.seed, options.timeoutMilliseconds, options.length) = (runs, seed, timeoutMs, length)
        let report = try attempt("gmem fuzz") {
            try GuestFuzzReport.run(options) { line in if !json { printError("gmem fuzz: \(line)") } }
        }
        if json { try printJSON(report) } else { emit(report.formatted()) }
        if !report.succeeded { throw ExitCode(1) }
    }
}

/// `gmem soak`: many whole VM lifecycles in one process, checking nothing accumulates.
struct SoakCommand: LoggedCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Run the hello guest many times in one process and check nothing leaks.",
        discussion:
            "Checks that descriptors stay constant, resident memory grows under 1 MiB and Unevictable returns to its start. Exits non-zero otherwise."
    )

    @Option(name: .long, help: "Number of VM lifecycles.") var cycles: Int = 1000
    @Option(name: .long, help: "Guest RAM per VM, e.g. 4M.") var memory: String = "4M"
    @Flag(name: .long, help: "Print the result as JSON.") var json = false
    @OptionGroup var logging: LoggingOptions

    /// `--memory` as the machine `SoakReport.run` boots takes it (`MachineConfig.validate()`).
    func validate() throws {
        try OptionValues.require(cycles, in: 1...Int.max, option: "--cycles")
        let bytes = try OptionValues.size(memory, option: "--memory")
        try OptionValues.checked { try MachineConfig(name: "hello", image: [], memorySize: bytes).validate() }
    }

    func run() throws {
        let bytes = try OptionValues.size(memory, option: "--memory")
        let report = try attempt("gmem soak") {
            try SoakReport.run(cycles: cycles, memory: bytes) { line in if !json { printError("gmem soak: \(line)") } }
        }
        if json { try printJSON(report) } else { emit(report.formatted()) }
        if !report.passed { throw ExitCode(1) }
    }
}
