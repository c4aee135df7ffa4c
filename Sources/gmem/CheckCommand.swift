import ArgumentParser
import GmemConformance
import MicroVM

/// `gmem check`: hold this host's kernel against the model of GMEM-SPEC, errno for errno.
struct CheckCommand: LoggedCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check this host's guest_memfd against the model of GMEM-SPEC, errno for errno.",
        discussion: """
            With no FILE, runs the built-in catalogue (every rule of GMEM-SPEC). Each FILE is a \
            scenario file (docs/scenario-language.md). With --random N, runs N random operations \
            from --seed on both backends, comparing every step; a divergence is shrunk to a \
            minimal scenario and printed. Exits non-zero on any divergence or failure. Without \
            /dev/kvm only the model runs, and the output says so.
            """
    )

    @Argument(help: "Scenario files to run instead of the built-in catalogue.") var files: [String] = []
    @Option(name: .long, help: "model, kernel or both.") var backend: String = "both"
    @Option(name: .long, help: "Run this many random operations instead of the catalogue.") var random: Int?
    @Option(name: .long, help: "Seed of the random operations.") var seed: UInt64 = 1
    @Option(name: .long, help: "The most host memory one scenario may make the kernel allocate (e.g. 256M, 1G).")
    var memoryBudget: String = "256M"
    @Option(
        name: .long,
        help:
            "The kernel profile the model answers like: 6.18 or next (default: the one this host's release and capabilities name)."
    )
    var profile: String?
    @Option(
        name: .customLong("emit-c"),
        help: ArgumentHelp(
            "Write each scenario as a standalone C reproducer into DIR instead of running it (with --random: the shrunk divergence).",
            valueName: "DIR"))
    var emitC: String?
    @Option(name: .long, help: "Only the scenario with this name (of the catalogue or the FILEs).") var only: String?
    @Flag(name: .long, help: "Print every scenario and every step with the model's and the kernel's outcome.")
    var verbose = false
    @Flag(name: .long, help: "Print the results as JSON.") var json = false
    @Flag(
        name: .long,
        help:
            "Exit 0 when the only divergences are known kernel bugs (GMEM-SPEC, Known kernel bugs); they are still reported and counted."
    )
    var allowKnownKernelBugs = false
    @OptionGroup var logging: LoggingOptions

    /// A value out of an option's range is a usage error (exit 64, one line naming the option),
    /// as one ArgumentParser cannot read at all already is.
    func validate() throws {
        if let random { try OptionValues.require(random, in: 1...Int.max, option: "--random") }
        // --random makes its own scenarios and prints the shrunk divergence, not scenarios' steps:
        // an option about scenarios beside it would be ignored, so it is refused.
        if random != nil {
            if !files.isEmpty {
                throw ValidationError(
                    "--random generates its own scenarios; it takes no FILE (got \(files.joined(separator: " ")))")
            }
            if let only {
                throw ValidationError(
                    "--only selects a scenario of the catalogue or the FILEs; --random has none (got '\(only)')")
            }
            if verbose {
                throw ValidationError(
                    "--verbose prints scenarios' steps; --random prints its shrunk divergence (--json: its coverage)")
            }
        }
        _ = try OptionValues.size(memoryBudget, option: "--memory-budget")
    }

    func run() throws {
        let budget = try OptionValues.size(memoryBudget, option: "--memory-budget")
        var request = ConformanceCheck.Request()
        (request.files, request.backend, request.random, request.seed) = (files, backend, random, seed)
        (request.memoryBudget, request.memoryBudgetText, request.profile) = (budget, memoryBudget, profile)
        (request.emitC, request.only, request.entersMemoryCgroup) = (emitC, only, true)
        request.allowsKnownKernelBugs = allowKnownKernelBugs
        request.printsEveryStep = json || verbose
        request.commandLine = (["gmem"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        let outcome = try attempt("gmem check") { try ConformanceCheck.run(request) }
        if json { try printJSON(outcome) } else { emit(outcome.formatted(verbose: verbose)) }
        if !outcome.succeeded { throw ExitCode(1) }
    }
}
