import ArgumentParser
import GmemBench

/// `gmem bench`: each hot path of GmemKit against the same operations in plain C, interleaved
/// in one run, as ratios (``BenchSuite``).
struct BenchCommand: LoggedCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure GmemKit's hot paths against a raw C baseline in the same run.",
        discussion: """
            Each figure runs the Swift path and the C baseline (Sources/CBaseline) in turn, \
            --rounds times, alternating which goes first, and prints the median of each, the spread ((max-min)/median) and \
            the ratio Swift/C, against the goal of BENCHMARKS.md. Build with -c release: a \
            debug build measures unoptimised code, not what a user ships. Figures: exit-roundtrip, \
            cold-start, churn, populate, guest-touch, density, restore (restore-snapshot, restore-copy, \
            restore-first-exit, restore-clones), model-ops, explore-states, explore-time, check-wall.
            """
    )

    @Option(name: .long, help: "Run only figures whose name contains this.") var filter: String?
    @Option(
        name: .long,
        help:
            "Rounds per figure (median and spread are over them); guest-touch runs three times as many, density at most 3."
    )
    var rounds: Int = 5
    @Option(name: .long, help: "Round trips per exit-roundtrip round.") var pings: UInt32 = 20_000
    @Option(name: .customLong("populate-mib"), help: "guest_memfd for populate, in MiB.") var populateMiB: UInt64 = 1024
    @Option(name: .customLong("density-vms"), help: "VMs kept alive at once for density.") var densityVMs: Int = 1000
    @Flag(
        name: .long,
        help:
            "Populate only: run the C baseline in the Swift column too, to see what ratio the host's noise alone gives."
    )
    var control = false
    @Flag(name: .long, help: "Print the figures as JSON.") var json = false
    @OptionGroup var logging: LoggingOptions

    var options: BenchSuite.Options {
        var options = BenchSuite.Options()
        (options.filter, options.rounds, options.pings) = (filter, rounds, pings)
        (options.populateMiB, options.densityVMs, options.control) = (populateMiB, densityVMs, control)
        return options
    }

    func validate() throws { try OptionValues.require(noProblem: options.problem) }

    func run() throws {
        let options = self.options
        #if DEBUG
        printError("gmem bench: this is a debug build; its Swift figures are not GmemKit's (swift build -c release)")
        #endif
        let report = try attempt("gmem bench") {
            try BenchSuite.run(options) { name in if !json { printError("gmem bench: \(name) done") } }
        }
        if json { try printJSON(report) } else { emit(report.formatted()) }
    }
}
