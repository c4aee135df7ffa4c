import ArgumentParser
import Foundation
import GmemConformance
import GmemModel
import KVM

/// `gmem check`: hold this host's kernel against the model of GMEM-SPEC, errno for errno.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check this host's guest_memfd against the model of GMEM-SPEC, errno for errno.",
        discussion: """
            With no FILE, runs the built-in catalogue (every rule of GMEM-SPEC). Each FILE is a \
            scenario file (README, "Scenario files"). With --random N, runs N random operations \
            from --seed on both backends, comparing every step; a divergence is shrunk to a \
            minimal scenario and printed. Exits non-zero on any divergence or failure. Without \
            /dev/kvm only the model runs, and the output says so.
            """
    )

    @Argument(help: "Scenario files to run instead of the built-in catalogue.")
    var files: [String] = []

    @Option(name: .long, help: "model, kernel or both.")
    var backend: String = "both"

    @Option(name: .long, help: "Run this many random operations instead of the catalogue.")
    var random: Int?

    @Option(name: .long, help: "Seed of the random operations.")
    var seed: UInt64 = 1

    @Flag(name: .long, help: "List every scenario, not only the failing ones.")
    var verbose = false

    @Flag(name: .long, help: "Print the results as JSON.")
    var json = false

    func run() throws {
        guard var selection = BackendSelection(rawValue: backend) else {
            fail(CommandFailure("gmem check: --backend must be model, kernel or both (got '\(backend)')"))
        }
        let hostCapabilities = ConformanceRunner.hostCapabilities()
        var notes: [String] = []
        if hostCapabilities == nil, selection != .model {
            if selection == .kernel { fail(CommandFailure("gmem check: " + (KVMHost.unavailableReason ?? "no usable /dev/kvm"))) }
            notes.append("no usable /dev/kvm (\(KVMHost.unavailableReason ?? "unknown")): running the model alone")
            selection = .model
        }
        let runner = ConformanceRunner(selection: selection, capabilities: hostCapabilities ?? .referenceHost)
        if let count = random {
            guard count > 0 else { fail(CommandFailure("gmem check: --random needs a positive count")) }
            guard selection != .kernel else { fail(CommandFailure("gmem check: --random runs on the model, or on both to compare them; not on the kernel alone")) }
            try runRandom(runner: runner, count: count, notes: notes)
            return
        }
        var scenarios: [Scenario] = []
        if files.isEmpty {
            scenarios = Catalogue.scenarios
        } else {
            for path in files {
                guard let data = FileManager.default.contents(atPath: path) else {
                    fail(CommandFailure("gmem check: cannot read \(path)"))
                }
                do {
                    scenarios += try ScenarioFormat.parse(String(decoding: data, as: UTF8.self), source: path)
                } catch {
                    fail(CommandFailure("gmem check: \(path): \(error)"))
                }
            }
        }
        let started = ContinuousClock.now
        let results = scenarios.map(runner.run)
        let elapsed = ContinuousClock.now - started
        let summary = CheckSummary(results: results, selection: selection, notes: notes, seconds: elapsed.seconds)
        if json {
            try printJSON(summary)
        } else {
            printHuman(summary, results: results)
        }
        if summary.failed + summary.diverged > 0 { throw ExitCode(1) }
    }

    private func printHuman(_ summary: CheckSummary, results: [ScenarioResult]) {
        for note in summary.notes { emit("note: \(note)") }
        for result in results where verbose || result.status == .failed || result.status == .diverged {
            emit("\(result.status.rawValue.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)) \(result.scenario.name) [\(result.scenario.rules.joined(separator: ","))]")
            if let problem = result.firstProblem { emit("         \(problem)") }
            if verbose, result.status == .skipped, let reason = result.skipReason { emit("         \(reason)") }
        }
        emit("Rules:")
        for rule in summary.rules {
            emit("  \(rule.rule.padding(toLength: 4, withPad: " ", startingAt: 0)) \(rule.passed) passed, \(rule.failed) failed, \(rule.skipped) kernel-skipped")
        }
        emit("\(summary.scenarios) scenarios on \(summary.backends): \(summary.passed) passed, \(summary.failed) failed, "
             + "\(summary.diverged) diverged, \(summary.skipped) kernel-skipped (model only) in \(String(format: "%.2f", summary.seconds)) s")
    }

    private func runRandom(runner: ConformanceRunner, count: Int, notes: [String]) throws {
        let started = ContinuousClock.now
        let report = RandomDifferential(runner: runner).run(seed: seed, operations: count)
        let seconds = (ContinuousClock.now - started).seconds
        if json {
            try printJSON(RandomJSON(report: report, seconds: seconds))
        } else {
            for note in notes { emit("note: \(note)") }
            if let divergence = report.divergence {
                emit("DIVERGED after \(report.operationsRun) operations (seed \(seed)): \(divergence.problem)")
                emit("Minimal scenario (\(divergence.minimal.steps.count) steps):")
                emit(ScenarioFormat.text(of: divergence.minimal))
            }
            emit("random on \(runner.selection.rawValue): \(report.operationsRun) operations in \(report.sequences) sequences, seed \(seed): "
                 + "\(report.divergence == nil ? 0 : 1) divergences, \(report.skippedSequences) sequences cut short by the kernel backend, "
                 + "in \(String(format: "%.2f", seconds)) s (\(Int(Double(report.operationsRun) / max(seconds, 1e-9))) operations/s)")
        }
        if report.divergence != nil { throw ExitCode(1) }
    }
}

/// The JSON form of a catalogue or file run (stable keys, documented in README).
struct CheckSummary: Encodable {
    struct RuleCount: Encodable {
        let rule: String
        var passed = 0, failed = 0, skipped = 0
    }
    struct ScenarioEntry: Encodable {
        let name: String
        let rules: [String]
        let status: String
        let problem: String?
        let skipReason: String?
    }
    let backends: String
    let scenarios: Int
    let passed: Int
    let failed: Int
    let diverged: Int
    let skipped: Int
    let seconds: Double
    let notes: [String]
    let rules: [RuleCount]
    let results: [ScenarioEntry]

    init(results: [ScenarioResult], selection: BackendSelection, notes: [String], seconds: Double) {
        backends = selection.rawValue
        scenarios = results.count
        passed = results.filter { $0.status == .passed }.count
        failed = results.filter { $0.status == .failed }.count
        diverged = results.filter { $0.status == .diverged }.count
        skipped = results.filter { $0.status == .skipped }.count
        self.seconds = seconds
        self.notes = notes
        var byRule: [String: RuleCount] = [:]
        for result in results {
            for rule in result.scenario.rules {
                var count = byRule[rule] ?? RuleCount(rule: rule)
                switch result.status {
                case .passed: count.passed += 1
                case .failed, .diverged: count.failed += 1
                case .skipped: count.skipped += 1
                }
                byRule[rule] = count
            }
        }
        rules = byRule.values.sorted { ruleOrder($0.rule) < ruleOrder($1.rule) }
        self.results = results.map {
            ScenarioEntry(name: $0.scenario.name, rules: $0.scenario.rules, status: $0.status.rawValue,
                          problem: $0.firstProblem, skipReason: $0.skipReason)
        }
    }
}

/// Sorts rule ids by section in GMEM-SPEC order, then number: C1 < C2 < … < F1 … < P3.
func ruleOrder(_ rule: String) -> (Int, Int) {
    let sections = Array("CFMBLGAP")
    let section = rule.first.flatMap { sections.firstIndex(of: $0) } ?? sections.count
    return (section, Int(rule.dropFirst()) ?? 0)
}

struct RandomJSON: Encodable {
    let seed: UInt64
    let operations: Int
    let sequences: Int
    let divergences: Int
    let skippedSequences: Int
    let seconds: Double
    let operationsPerSecond: Int
    let minimalScenario: String?
    let problem: String?

    init(report: RandomDifferential.Report, seconds: Double) {
        seed = report.seed
        operations = report.operationsRun
        sequences = report.sequences
        divergences = report.divergence == nil ? 0 : 1
        skippedSequences = report.skippedSequences
        self.seconds = seconds
        operationsPerSecond = Int(Double(report.operationsRun) / max(seconds, 1e-9))
        minimalScenario = report.divergence.map { ScenarioFormat.text(of: $0.minimal) }
        problem = report.divergence?.problem
    }
}

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
