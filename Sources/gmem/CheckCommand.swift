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
            scenario file (docs/scenario-language.md). With --random N, runs N random operations \
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

    @Option(name: .long, help: "The most host memory one scenario may make the kernel allocate (e.g. 256M, 1G).")
    var memoryBudget: String = "256M"

    @Option(name: .long, help: "The kernel profile the model answers like: 6.18 or next (default: the one this host's release and capabilities name).")
    var profile: String?

    @Option(name: .customLong("emit-c"), help: ArgumentHelp("Write each scenario as a standalone C reproducer into DIR instead of running it (with --random: the shrunk divergence).", valueName: "DIR"))
    var emitC: String?

    @Option(name: .long, help: "Only the scenario with this name (of the catalogue or the FILEs).")
    var only: String?

    @Flag(name: .long, help: "Print every scenario and every step with the model's and the kernel's outcome.")
    var verbose = false

    @Flag(name: .long, help: "Print the results as JSON.")
    var json = false

    func run() throws {
        guard var selection = BackendSelection(rawValue: backend) else {
            fail(CommandFailure("gmem check: --backend must be model, kernel or both (got '\(backend)')"))
        }
        guard let budget = parseSize(memoryBudget) else {
            fail(CommandFailure("gmem check: --memory-budget must be a size such as 256M or 1G (got '\(memoryBudget)')"))
        }
        if random != nil, !files.isEmpty {
            fail(CommandFailure("gmem check: --random generates its own scenarios; it does not take FILE arguments (got \(files.joined(separator: " ")))"))
        }
        let hostCapabilities = ConformanceRunner.hostCapabilities()
        var notes: [String] = []
        if hostCapabilities == nil, selection != .model {
            if selection == .kernel { fail(CommandFailure("gmem check: " + (KVMHost.unavailableReason ?? "no usable /dev/kvm"))) }
            notes.append("no usable /dev/kvm (\(KVMHost.unavailableReason ?? "unknown")): running the model alone")
            selection = .model
        }
        if selection != .model, let refusal = MemoryBudget.refusal(limit: budget, available: MemoryBudget.hostAvailable()) {
            fail(CommandFailure("gmem check: --memory-budget \(memoryBudget): \(refusal)"))
        }
        if selection != .model, let note = MemoryCgroup.enter(limit: budget) { notes.append(note) }
        var runner = ConformanceRunner(selection: selection, capabilities: hostCapabilities ?? .referenceHost, memoryBudget: budget)
        let host = KernelProfile.host()
        runner.hostProfile = hostCapabilities == nil ? nil : host.profile
        runner.profile = host.profile
        if let profile {
            switch KernelProfile.parse(profile) {
            case .success(let chosen): runner.profile = chosen
            case .failure(let error): fail(CommandFailure("gmem check: --profile: \(error)"))
            }
            notes.insert("kernel profile \(runner.profile.name) (--profile; this host answers like \(host.profile.name): \(host.reason))", at: 0)
        } else {
            notes.insert("kernel profile \(runner.profile.name) (picked: \(host.reason))", at: 0)
        }
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
                // Bounded before reading: a 1,000,000-step scenario is about 30 MiB; a 1,000 MiB
                // file of zeros once cost 3 GiB of memory and 25 s to report its first byte.
                let limit = 64 << 20
                if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber, size.uint64Value > UInt64(limit) {
                    fail(CommandFailure("gmem check: \(path): \(size.uint64Value) bytes; a scenario file may be at most 64 MiB"))
                }
                guard let data = FileManager.default.contents(atPath: path) else {
                    fail(CommandFailure("gmem check: cannot read \(path)"))
                }
                guard data.count <= limit else {
                    fail(CommandFailure("gmem check: \(path): more than 64 MiB; a scenario file may be at most 64 MiB"))
                }
                guard let text = String(validating: data, as: UTF8.self) else {
                    fail(CommandFailure("gmem check: \(path): not UTF-8 text"))
                }
                do {
                    scenarios += try ScenarioFormat.parse(text, source: path)
                } catch {
                    fail(CommandFailure("gmem check: \(error)"))
                }
            }
        }
        if let only {
            scenarios = scenarios.filter { $0.name == only }
            if scenarios.isEmpty { fail(CommandFailure("gmem check: --only: no scenario named '\(only)'")) }
        }
        if let directory = emitC {
            emitReproducers(scenarios, runner: runner, directory: directory, notes: notes)
            return
        }
        let started = ContinuousClock.now
        let results = scenarios.map(runner.run)
        let elapsed = ContinuousClock.now - started
        let summary = CheckSummary(results: results, selection: selection, notes: notes, seconds: elapsed.seconds, verbose: verbose || json)
        if json {
            try printJSON(summary)
        } else {
            printHuman(summary, results: results, selection: selection)
        }
        if summary.failed + summary.diverged > 0 { throw ExitCode(1) }
    }

    private func printHuman(_ summary: CheckSummary, results: [ScenarioResult], selection: BackendSelection) {
        for note in summary.notes { emit("note: \(note)") }
        for result in results where verbose || result.status == .failed || result.status == .diverged {
            emit("\(result.status.rawValue.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)) \(result.scenario.name) [\(result.scenario.rules.joined(separator: ","))]")
            for problem in result.problems { emit("         \(problem)") }
            if result.status == .failed || result.status == .diverged { emit("         reproduce in C: \(reproduceCommand(result.scenario))") }
            if result.status == .skipped || (verbose && result.skipReason != nil), let reason = result.skipReason { emit("         kernel-skipped: \(reason)") }
            if verbose {
                for step in result.steps {
                    let line = ScenarioFormat.line(for: step.step.action)
                    let expected = step.step.expected.map { " -> \(ScenarioFormat.outcomeText($0))" } ?? ""
                    var sides: [String] = []
                    if let model = step.model { sides.append("model \(model)") }
                    if let kernel = step.kernel { sides.append("kernel \(kernel)") }
                    if sides.isEmpty { sides.append("not run") }
                    emit("         \(step.step.line > 0 ? "\(step.step.line): " : "")\(line)\(expected)   [\(sides.joined(separator: ", "))]\(step.problems.isEmpty ? "" : "  <-- PROBLEM")")
                }
            }
        }
        emit("Rules:")
        for rule in summary.rules {
            var parts = ["\(rule.passed) passed", "\(rule.failed) failed"]
            if selection == .both { parts.append("\(rule.diverged) diverged") }
            if selection != .model { parts.append("\(rule.skipped) kernel-skipped") }
            emit("  \(rule.rule.padding(toLength: 4, withPad: " ", startingAt: 0)) \(parts.joined(separator: ", "))")
        }
        let what: String
        switch selection {
        case .both: what = "on the model and the kernel"
        case .model: what = "on the model only"
        case .kernel: what = "on the kernel only"
        }
        var counts = ["\(summary.passed) passed", "\(summary.failed) failed"]
        if selection == .both { counts.append("\(summary.diverged) diverged") }
        if selection == .both, summary.skipped > 0 { counts.append("\(summary.skipped) kernel-skipped (a requires= capability this kernel lacks, or a profile= this kernel does not answer like: checked on the model only)") }
        if selection == .kernel, summary.skipped > 0 { counts.append("\(summary.skipped) not run (a requires= capability this kernel lacks)") }
        if summary.budgetRefusals > 0 { counts.append("\(summary.budgetRefusals) refused by the memory budget") }
        emit("\(summary.scenarios) scenarios \(what): \(counts.joined(separator: ", ")) in \(String(format: "%.2f", summary.seconds)) s")
    }

    /// The one command that writes `scenario`'s C reproducer.
    private func reproduceCommand(_ scenario: Scenario) -> String {
        let file = files.contains(scenario.source) ? " \(scenario.source)" : ""
        return "gmem check\(profile.map { " --profile \($0)" } ?? "") --emit-c repro-c --only \(scenario.name)\(file)"
    }

    /// `--emit-c DIR`: writes the C files and names them.
    private func emitReproducers(_ scenarios: [Scenario], runner: ConformanceRunner, directory: String, notes: [String]) {
        for note in notes { emit("note: \(note)") }
        do {
            let paths = try CReproducer.write(scenarios, runner: runner, into: directory,
                                              command: (["gmem"] + CommandLine.arguments.dropFirst()).joined(separator: " "))
            for path in paths { emit("wrote \(path)") }
            emit("\(paths.count) C reproducers in \(directory), expecting the model's outcomes under kernel profile \(runner.profile.name) (a scenario with profile= under its own) "
                 + "(build and run each: cc -Wall -Werror FILE.c -o FILE && ./FILE; TAP output, exit status 0 when every step matches)")
        } catch {
            fail(CommandFailure("gmem check: --emit-c: \(error)"))
        }
    }

    private func runRandom(runner: ConformanceRunner, count: Int, notes: [String]) throws {
        let started = ContinuousClock.now
        let report = RandomDifferential(runner: runner).run(seed: seed, operations: count)
        let seconds = (ContinuousClock.now - started).seconds
        if let directory = emitC {
            guard let divergence = report.divergence else {
                for note in notes { emit("note: \(note)") }
                emit("no divergence in \(report.operationsRun) random operations (seed \(seed)): no C reproducer written")
                return
            }
            emitReproducers([divergence.minimal], runner: runner, directory: directory, notes: notes)
            throw ExitCode(1)
        }
        if json {
            try printJSON(RandomJSON(report: report, seconds: seconds, notes: notes, backends: runner.selection.rawValue))
        } else {
            for note in notes { emit("note: \(note)") }
            if let divergence = report.divergence {
                emit("DIVERGED after \(report.operationsRun) operations (seed \(seed)): \(divergence.problem)")
                emit("Minimal scenario (\(divergence.minimal.steps.count) steps):")
                emit(ScenarioFormat.text(of: divergence.minimal))
                emit("reproduce in C: gmem check --random \(count) --seed \(seed)\(profile.map { " --profile \($0)" } ?? "") --emit-c repro-c")
            }
            let compared = runner.selection == .both ? "\(report.divergence == nil ? 0 : 1) divergences" : "model only, nothing compared"
            emit("random on \(runner.selection == .both ? "the model and the kernel" : "the model"): \(report.operationsRun) operations in \(report.sequences) sequences, seed \(seed): "
                 + "\(compared), \(report.failedSequences) sequences the kernel backend could not finish or refused, "
                 + "in \(String(format: "%.2f", seconds)) s (\(Int(Double(report.operationsRun) / max(seconds, 1e-9))) operations/s)")
            if let failure = report.firstFailure { emit("first sequence the kernel backend could not finish: \(failure)") }
            let low = report.coverage.filter { $0.value < 1000 }.map(\.key).sorted()
            emit("coverage: \(report.coverage.count) actions reached; \(low.isEmpty ? "every one at least 1,000 times" : "under 1,000: \(low.joined(separator: ", "))")")
        }
        if report.divergence != nil || report.failedSequences > 0 { throw ExitCode(1) }
    }
}

/// The JSON form of a catalogue or file run (stable keys, documented in docs/scenario-language.md).
struct CheckSummary: Encodable {
    struct RuleCount: Encodable {
        let rule: String
        var passed = 0, failed = 0, diverged = 0, skipped = 0
    }
    struct StepEntry: Encodable {
        let line: Int
        let action: String
        let expected: String?
        let model: String?
        let kernel: String?
        let problems: [String]
    }
    struct ScenarioEntry: Encodable {
        let name: String
        let source: String
        let rules: [String]
        let status: String
        let problem: String?
        let problems: [String]
        let skipReason: String?
        let steps: [StepEntry]?
    }
    let backends: String
    let scenarios: Int
    let passed: Int
    let failed: Int
    let diverged: Int
    let skipped: Int
    let budgetRefusals: Int
    let seconds: Double
    let notes: [String]
    let rules: [RuleCount]
    let results: [ScenarioEntry]

    init(results: [ScenarioResult], selection: BackendSelection, notes: [String], seconds: Double, verbose: Bool) {
        backends = selection.rawValue
        scenarios = results.count
        passed = results.filter { $0.status == .passed }.count
        failed = results.filter { $0.status == .failed }.count
        diverged = results.filter { $0.status == .diverged }.count
        skipped = results.filter { $0.status == .skipped }.count
        budgetRefusals = results.filter(\.budgetRefused).count
        self.seconds = seconds
        self.notes = notes
        var byRule: [String: RuleCount] = [:]
        for result in results {
            for rule in result.scenario.rules {
                var count = byRule[rule] ?? RuleCount(rule: rule)
                switch result.status {
                case .passed: count.passed += 1
                case .failed: count.failed += 1
                case .diverged: count.diverged += 1
                case .skipped: count.skipped += 1
                }
                byRule[rule] = count
            }
        }
        rules = byRule.values.sorted { ruleOrder($0.rule) < ruleOrder($1.rule) }
        self.results = results.map { result in
            ScenarioEntry(name: result.scenario.name, source: result.scenario.source, rules: result.scenario.rules, status: result.status.rawValue,
                          problem: result.firstProblem, problems: result.problems, skipReason: result.skipReason,
                          steps: verbose ? result.steps.map {
                              StepEntry(line: $0.step.line, action: ScenarioFormat.line(for: $0.step.action),
                                        expected: $0.step.expected.map(ScenarioFormat.outcomeText), model: $0.model.map(ScenarioFormat.outcomeText),
                                        kernel: $0.kernel.map(ScenarioFormat.outcomeText), problems: $0.problems)
                          } : nil)
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
    struct Cell: Encodable {
        let action: String
        let outcome: String
        let count: Int
    }
    let backends: String
    let seed: UInt64
    let operations: Int
    let sequences: Int
    let divergences: Int
    let failedSequences: Int
    let seconds: Double
    let operationsPerSecond: Int
    let minimalScenario: String?
    let problem: String?
    let firstFailure: String?
    let notes: [String]
    /// Steps per action keyword.
    let actions: [String: Int]
    /// Steps per action keyword and outcome (the model's).
    let coverage: [Cell]

    init(report: RandomDifferential.Report, seconds: Double, notes: [String], backends: String) {
        self.backends = backends
        seed = report.seed
        operations = report.operationsRun
        sequences = report.sequences
        divergences = report.divergence == nil ? 0 : 1
        failedSequences = report.failedSequences
        self.seconds = seconds
        operationsPerSecond = Int(Double(report.operationsRun) / max(seconds, 1e-9))
        minimalScenario = report.divergence.map { ScenarioFormat.text(of: $0.minimal) }
        problem = report.divergence?.problem
        firstFailure = report.firstFailure
        self.notes = notes
        actions = report.coverage
        coverage = report.outcomes.map { Cell(action: $0.key.action, outcome: $0.key.outcome, count: $0.value) }
            .sorted { ($0.action, $0.outcome) < ($1.action, $1.outcome) }
    }
}

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
