import Foundation
import GmemModel

/// The result of a catalogue or file run of `gmem check`: totals, per-rule and per-scenario
/// aggregation. `--json` is its encoding (stable keys, documented in README and
/// docs/scenario-language.md); ``formatted(verbose:)`` is the human form of the same value.
public struct ConformanceReport: Codable, Sendable, Equatable {
    /// The version of this encoding; raised when a key changes meaning or goes away.
    public static let currentSchemaVersion = 1

    /// How one rule fared over every scenario that names it.
    public struct RuleCount: Codable, Sendable, Equatable {
        /// The rule id (`B5`).
        public let rule: String
        /// Scenarios naming the rule that passed, failed, diverged, or were kernel-skipped.
        public var passed = 0, failed = 0, diverged = 0, skipped = 0
        /// Scenarios naming the rule that differed only by a known kernel bug (`KnownKernelBug`).
        public var kernelBug = 0
        /// A count of zero for `rule`.
        public init(rule: String) { self.rule = rule }
    }

    /// One step with each backend's outcome, in scenario-file syntax.
    public struct StepEntry: Codable, Sendable, Equatable {
        /// The step's line in its file (0 for generated steps).
        public let line: Int
        /// The action in scenario syntax.
        public let action: String
        /// The expected outcome, if the step states one.
        public let expected: String?
        /// What the model answered, if it ran.
        public let model: String?
        /// What the kernel answered, if it ran.
        public let kernel: String?
        /// Everything wrong with the step.
        public let problems: [String]
    }

    /// One scenario's verdict.
    public struct ScenarioEntry: Codable, Sendable, Equatable {
        /// The scenario's name.
        public let name: String
        /// Where it came from (`catalogue: ...` or a file path).
        public let source: String
        /// The rule ids it checks.
        public let rules: [String]
        /// passed, failed, diverged, kernel-bug or skipped.
        public let status: String
        /// The ids of the known kernel bugs (`KnownKernelBug`) its divergences were, in step order.
        public let knownKernelBugs: [String]
        /// The first problem, if any.
        public let problem: String?
        /// Every problem, with its line.
        public let problems: [String]
        /// Why the kernel side was skipped, when it was.
        public let skipReason: String?
        /// Each step with its outcomes (rendered on each call from the run's step results,
        /// which the entry keeps instead: see ``forEachStep(_:)``).
        public var steps: [StepEntry]? {
            guard let records = stepRecords else { return nil }
            var entries: [StepEntry] = []
            entries.reserveCapacity(records.count)
            forEachStep { entries.append($0) }
            return entries
        }
        /// For a failed or diverged scenario: the command that writes its C reproducer.
        public let reproduce: String?

        /// The steps as the run left them (each text rendered only when printed or encoded:
        /// strings per step cost a 1,000,000-step file hundreds of MiB), or as decoded.
        enum StepRecords: Sendable {
            case results([StepResult])
            case entries([StepEntry])

            var count: Int {
                switch self {
                case .results(let results): results.count
                case .entries(let entries): entries.count
                }
            }
        }

        let stepRecords: StepRecords?

        init(
            name: String, source: String, rules: [String], status: String, knownKernelBugs: [String],
            problem: String?, problems: [String], skipReason: String?, stepRecords: StepRecords?, reproduce: String?
        ) {
            self.name = name
            self.source = source
            self.rules = rules
            self.status = status
            self.knownKernelBugs = knownKernelBugs
            self.problem = problem
            self.problems = problems
            self.skipReason = skipReason
            self.stepRecords = stepRecords
            self.reproduce = reproduce
        }

        /// Calls `body` with each step's entry in order, rendering one at a time.
        /// - Throws: What `body` throws (the steps after it are not rendered).
        public func forEachStep(_ body: (StepEntry) throws -> Void) rethrows {
            switch stepRecords {
            case .results(let results):
                for result in results {
                    try body(
                        StepEntry(
                            line: result.step.line, action: ScenarioFormat.line(for: result.step.action),
                            expected: result.step.expected.map(ScenarioFormat.outcomeText),
                            model: result.model.map(ScenarioFormat.outcomeText),
                            kernel: result.kernel.map(ScenarioFormat.outcomeText), problems: result.problems))
                }
            case .entries(let entries): for entry in entries { try body(entry) }
            case nil: break
            }
        }

        enum CodingKeys: String, CodingKey {
            case name, source, rules, status, knownKernelBugs, problem, problems, skipReason, steps, reproduce
        }

        /// Decodes an entry as ``encode(to:)`` writes it.
        /// - Throws: `DecodingError` for a missing key or a value of the wrong type.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            source = try container.decode(String.self, forKey: .source)
            rules = try container.decode([String].self, forKey: .rules)
            status = try container.decode(String.self, forKey: .status)
            knownKernelBugs = try container.decode([String].self, forKey: .knownKernelBugs)
            problem = try container.decodeIfPresent(String.self, forKey: .problem)
            problems = try container.decode([String].self, forKey: .problems)
            skipReason = try container.decodeIfPresent(String.self, forKey: .skipReason)
            stepRecords = try container.decodeIfPresent([StepEntry].self, forKey: .steps).map { .entries($0) }
            reproduce = try container.decodeIfPresent(String.self, forKey: .reproduce)
        }

        /// Encodes the entry, each step rendered as it is written.
        /// - Throws: What `encoder` throws.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(source, forKey: .source)
            try container.encode(rules, forKey: .rules)
            try container.encode(status, forKey: .status)
            try container.encode(knownKernelBugs, forKey: .knownKernelBugs)
            try container.encodeIfPresent(problem, forKey: .problem)
            try container.encode(problems, forKey: .problems)
            try container.encodeIfPresent(skipReason, forKey: .skipReason)
            if stepRecords != nil {
                var steps = container.nestedUnkeyedContainer(forKey: .steps)
                try forEachStep { try steps.encode($0) }
            }
            try container.encodeIfPresent(reproduce, forKey: .reproduce)
        }

        /// Whether two entries say the same: every field, and every step as rendered.
        public static func == (left: ScenarioEntry, right: ScenarioEntry) -> Bool {
            left.name == right.name && left.source == right.source && left.rules == right.rules
                && left.status == right.status && left.knownKernelBugs == right.knownKernelBugs
                && left.problem == right.problem && left.problems == right.problems
                && left.skipReason == right.skipReason && left.reproduce == right.reproduce
                && left.steps == right.steps
        }
    }

    /// The encoding's version (``currentSchemaVersion`` when written by this build).
    public let schemaVersion: Int
    /// model, kernel or both.
    public let backends: String
    /// Scenarios run.
    public let scenarios: Int
    /// Scenarios that passed.
    public let passed: Int
    /// Scenarios that failed (an unmet expectation, a step the kernel backend could not perform).
    public let failed: Int
    /// Scenarios in which the model and the kernel disagreed.
    public let diverged: Int
    /// Scenarios whose kernel side was skipped for a capability this host lacks.
    public let skipped: Int
    /// Scenarios in which the model and the kernel differed only by a known kernel bug
    /// (`KnownKernelBug`; status `kernel-bug`): not agreement, not another divergence.
    public let kernelBugs: Int
    /// Whether a known kernel bug leaves the exit status 0 (`--allow-known-kernel-bugs`).
    public var allowsKnownKernelBugs = false
    /// Scenarios with a step the memory budget refused.
    public let budgetRefusals: Int
    /// Wall-clock seconds the run took.
    public let seconds: Double
    /// Notes printed before the results (the profile picked, the memory cgroup ...).
    public let notes: [String]
    /// Per rule id, in GMEM-SPEC order (section, then number).
    public let rules: [RuleCount]
    /// Every scenario's verdict, in the order run.
    public let results: [ScenarioEntry]

    /// Whether nothing failed or diverged, and no known kernel bug showed unless they are
    /// allowed (the command's exit status is 0).
    public var succeeded: Bool { failed + diverged == 0 && (kernelBugs == 0 || allowsKnownKernelBugs) }

    /// Aggregates `results`; `reproduce` names the command that writes a scenario's C reproducer.
    public init(
        results: [ScenarioResult], selection: BackendSelection, notes: [String], seconds: Double,
        reproduce: (Scenario) -> String = { _ in "" }
    ) {
        schemaVersion = Self.currentSchemaVersion
        backends = selection.rawValue
        scenarios = results.count
        passed = results.filter { $0.status == .passed }.count
        failed = results.filter { $0.status == .failed }.count
        diverged = results.filter { $0.status == .diverged }.count
        skipped = results.filter { $0.status == .skipped }.count
        kernelBugs = results.filter { $0.status == .kernelBug }.count
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
                case .kernelBug: count.kernelBug += 1
                }
                byRule[rule] = count
            }
        }
        rules = byRule.values.sorted { Self.ruleOrder($0.rule) < Self.ruleOrder($1.rule) }
        self.results = results.map { result in
            ScenarioEntry(
                name: result.scenario.name, source: result.scenario.source, rules: result.scenario.rules,
                status: result.status.rawValue, knownKernelBugs: result.knownKernelBugs,
                problem: result.firstProblem, problems: result.problems,
                skipReason: result.skipReason, stepRecords: .results(result.steps),
                reproduce: result.status == .failed || result.status == .diverged || result.status == .kernelBug
                    ? reproduce(result.scenario) : nil)
        }
    }

    /// Sorts rule ids by section in GMEM-SPEC order (`ContractRule.Section`), then number;
    /// an id outside every section sorts last, by name.
    public static func ruleOrder(_ rule: String) -> (Int, Int, String) {
        let sections = ContractRule.Section.allCases.map(\.rawValue)
        let section = rule.first.flatMap { sections.firstIndex(of: $0) } ?? sections.count
        return (section, Int(rule.dropFirst()) ?? 0, rule)
    }

    /// The human form: notes, each failed or diverged scenario (every scenario and step with
    /// `verbose`), the per-rule table and the totals.
    public func formatted(verbose: Bool = false) -> String {
        let selection = BackendSelection(rawValue: backends) ?? .both
        var lines = notes.map { "note: \($0)" }
        for result in results
        where verbose || result.status == "failed" || result.status == "diverged" || result.status == "kernel-bug" {
            let label =
                result.status == "kernel-bug"
                ? "KERNELBUG" : result.status.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)
            lines.append(
                "\(label) "
                    + "\(result.name) [\(result.rules.joined(separator: ","))]")
            for problem in result.problems { lines.append("         \(problem)") }
            if let reproduce = result.reproduce { lines.append("         reproduce in C: \(reproduce)") }
            if result.status == "skipped" || verbose, let reason = result.skipReason {
                lines.append("         kernel-skipped: \(reason)")
            }
            if verbose {
                result.forEachStep { step in
                    let expected = step.expected.map { " -> \($0)" } ?? ""
                    var sides: [String] = []
                    if let model = step.model { sides.append("model \(model)") }
                    if let kernel = step.kernel { sides.append("kernel \(kernel)") }
                    if sides.isEmpty { sides.append("not run") }
                    lines.append(
                        "         \(step.line > 0 ? "\(step.line): " : "")\(step.action)\(expected)   "
                            + "[\(sides.joined(separator: ", "))]\(step.problems.isEmpty ? "" : "  <-- PROBLEM")")
                }
            }
        }
        lines.append("Rules:")
        for rule in rules {
            var parts = ["\(rule.passed) passed", "\(rule.failed) failed"]
            if selection == .both { parts.append("\(rule.diverged) diverged") }
            if rule.kernelBug > 0 { parts.append("\(rule.kernelBug) known kernel bug") }
            if selection != .model { parts.append("\(rule.skipped) kernel-skipped") }
            lines.append(
                "  \(rule.rule.padding(toLength: 4, withPad: " ", startingAt: 0)) \(parts.joined(separator: ", "))")
        }
        let what: String
        switch selection {
        case .both: what = "on the model and the kernel"
        case .model: what = "on the model only"
        case .kernel: what = "on the kernel only"
        }
        var counts = ["\(passed) passed", "\(failed) failed"]
        if selection == .both { counts.append("\(diverged) diverged") }
        if kernelBugs > 0 {
            let ids = Set(results.flatMap(\.knownKernelBugs)).sorted().joined(separator: ", ")
            counts.append(
                "\(kernelBugs) kernel bug (known: \(ids); the kernel is not conformant"
                    + (allowsKnownKernelBugs ? ", allowed by --allow-known-kernel-bugs)" : ")"))
        }
        if selection == .both, skipped > 0 {
            counts.append(
                "\(skipped) kernel-skipped (a requires= capability this kernel lacks, or a profile= this kernel "
                    + "does not answer like: checked on the model only)")
        }
        if selection == .kernel, skipped > 0 {
            counts.append("\(skipped) not run (a requires= capability this kernel lacks)")
        }
        if budgetRefusals > 0 { counts.append("\(budgetRefusals) refused by the memory budget") }
        lines.append(
            "\(scenarios) scenarios \(what): \(counts.joined(separator: ", ")) in \(String(format: "%.2f", seconds)) s")
        return lines.joined(separator: "\n")
    }
}

/// The result of `gmem check --random`: what ran, the shrunk divergence if any, and coverage.
public struct RandomCheckReport: Codable, Sendable, Equatable {
    /// The version of this encoding; raised when a key changes meaning or goes away.
    public static let currentSchemaVersion = 1

    /// Steps of one action keyword that ended in one outcome (the model's).
    public struct Cell: Codable, Sendable, Equatable {
        /// The action keyword.
        public let action: String
        /// The outcome class (`ok`, `EINVAL`, `SIGBUS` ...).
        public let outcome: String
        /// How many steps.
        public let count: Int
    }

    /// The encoding's version (``currentSchemaVersion`` when written by this build).
    public let schemaVersion: Int
    /// `model`, `kernel` or `both`.
    public let backends: String
    /// The seed: the same seed runs the same sequences again.
    public let seed: UInt64
    /// Operations run.
    public let operations: Int
    /// Sequences run.
    public let sequences: Int
    /// 1 when the model and the kernel diverged (the run stops there), else 0.
    public let divergences: Int
    /// Sequences the kernel backend could not finish or refused.
    public let failedSequences: Int
    /// Wall-clock seconds the run took.
    public let seconds: Double
    /// Operations per second.
    public let operationsPerSecond: Int
    /// The shrunk divergence as a scenario file, which `gmem check` runs again.
    public let minimalScenario: String?
    /// Steps in the minimal scenario.
    public let minimalSteps: Int?
    /// What diverged.
    public let problem: String?
    /// The first problem of a sequence the kernel backend could not finish.
    public let firstFailure: String?
    /// Notes printed before the results.
    public let notes: [String]
    /// Steps per action keyword.
    public let actions: [String: Int]
    /// Steps per action keyword and outcome (the model's).
    public let coverage: [Cell]
    /// With a divergence: the command that writes its C reproducer.
    public let reproduce: String?
    /// Sequences whose only divergence was a known kernel bug (`KnownKernelBug`).
    public let kernelBugs: Int
    /// The first of them: the sequence's name and the problem line.
    public let firstKernelBug: String?
    /// Whether a known kernel bug leaves the exit status 0 (`--allow-known-kernel-bugs`).
    public var allowsKnownKernelBugs = false

    /// Whether nothing diverged and every sequence finished, and no known kernel bug showed
    /// unless they are allowed (the exit status is 0).
    public var succeeded: Bool {
        divergences == 0 && failedSequences == 0 && (kernelBugs == 0 || allowsKnownKernelBugs)
    }

    /// Summarises a run.
    /// - Parameters:
    ///   - report: What ``RandomDifferential/run(seed:operations:)`` returned.
    ///   - seconds: How long it took.
    ///   - notes: Notes to print before the results.
    ///   - backends: Which backends ran.
    ///   - reproduce: The command that writes the divergence's C reproducer.
    public init(
        report: RandomDifferential.Report, seconds: Double, notes: [String], backends: BackendSelection,
        reproduce: String?
    ) {
        schemaVersion = Self.currentSchemaVersion
        self.backends = backends.rawValue
        seed = report.seed
        operations = report.operationsRun
        sequences = report.sequences
        divergences = report.divergence == nil ? 0 : 1
        failedSequences = report.failedSequences
        self.seconds = seconds
        operationsPerSecond = Int(Double(report.operationsRun) / max(seconds, 1e-9))
        minimalScenario = report.divergence.map { ScenarioFormat.text(of: $0.minimal) }
        minimalSteps = report.divergence?.minimal.steps.count
        problem = report.divergence?.problem
        firstFailure = report.firstFailure
        self.notes = notes
        actions = report.coverage
        coverage = report.outcomes.map { Cell(action: $0.key.action, outcome: $0.key.outcome, count: $0.value) }
            .sorted { ($0.action, $0.outcome) < ($1.action, $1.outcome) }
        self.reproduce = report.divergence == nil ? nil : reproduce
        kernelBugs = report.knownKernelBugs
        firstKernelBug = report.firstKnownKernelBug
    }

    /// The human form: notes, the divergence and its minimal scenario, totals and coverage.
    public func formatted() -> String {
        var lines = notes.map { "note: \($0)" }
        let both = backends == BackendSelection.both.rawValue
        if let problem, let minimalScenario {
            lines.append("DIVERGED after \(operations) operations (seed \(seed)): \(problem)")
            lines.append("Minimal scenario (\(minimalSteps ?? 0) steps):")
            lines.append(minimalScenario)
            if let reproduce { lines.append("reproduce in C: \(reproduce)") }
        }
        let compared = both ? "\(divergences) divergences" : "model only, nothing compared"
        lines.append(
            "random on \(both ? "the model and the kernel" : "the model"): \(operations) operations in "
                + "\(sequences) sequences, seed \(seed): \(compared), \(failedSequences) sequences the kernel backend "
                + "could not finish or refused, in \(String(format: "%.2f", seconds)) s "
                + "(\(operationsPerSecond) operations/s)")
        if let firstFailure { lines.append("first sequence the kernel backend could not finish: \(firstFailure)") }
        if let firstKernelBug {
            lines.append(
                "KERNELBUG \(kernelBugs) sequences met a known kernel bug (the kernel is not conformant"
                    + (allowsKnownKernelBugs ? "; allowed by --allow-known-kernel-bugs" : "")
                    + "); the first: \(firstKernelBug)")
        }
        let low = actions.filter { $0.value < 1000 }.map(\.key).sorted()
        lines.append(
            "coverage: \(actions.count) actions reached; "
                + (low.isEmpty ? "every one at least 1,000 times" : "under 1,000: \(low.joined(separator: ", "))"))
        return lines.joined(separator: "\n")
    }
}

/// What `gmem check --emit-c DIR` wrote.
public struct ReproducerReport: Codable, Sendable, Equatable {
    /// The version of this encoding; raised when a key changes meaning or goes away.
    public static let currentSchemaVersion = 1
    /// The encoding's version (``currentSchemaVersion`` when written by this build).
    public let schemaVersion: Int
    /// Notes printed before the results.
    public let notes: [String]
    /// The directory written into.
    public let directory: String
    /// The C files written, in order.
    public let paths: [String]
    /// The kernel profile whose expectations the programs carry.
    public let profile: String
    /// Set when `--random` found nothing to write.
    public let noDivergence: String?
    /// Whether the command succeeded: false when these reproduce a random divergence.
    public let succeeded: Bool

    /// A report; every value is taken as given.
    public init(
        notes: [String], directory: String, paths: [String], profile: String, noDivergence: String? = nil,
        succeeded: Bool = true
    ) {
        schemaVersion = Self.currentSchemaVersion
        self.notes = notes
        self.directory = directory
        self.paths = paths
        self.profile = profile
        self.noDivergence = noDivergence
        self.succeeded = succeeded
    }

    /// The human form: notes, one `wrote PATH` line per file and how to build and run them (or why
    /// nothing was written).
    public func formatted() -> String {
        var lines = notes.map { "note: \($0)" }
        if let noDivergence {
            lines.append(noDivergence)
            return lines.joined(separator: "\n")
        }
        lines += paths.map { "wrote \($0)" }
        lines.append(
            "\(paths.count) C reproducers in \(directory), expecting the model's outcomes under kernel profile "
                + "\(profile) (a scenario with profile= under its own) (build and run each: cc -Wall -Werror FILE.c -o FILE "
                + "&& ./FILE; TAP output, exit status 0 when every step matches, 1 when one differs, 2 when one cannot be reproduced in C)"
        )
        return lines.joined(separator: "\n")
    }
}
