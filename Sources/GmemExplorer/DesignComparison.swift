import Foundation
import GmemModel
import Logging
import Synchronization

/// `gmem explore` as one library call: the designs asked for, searched in parallel (one per
/// core) after a pilot estimate each, the upstream design's would-be attack replayed, and
/// the table under each alternative modelling choice. The CLI parses arguments into a
/// ``Request`` and prints the ``Outcome``.
public enum Exploration {
    /// What to explore (the `gmem explore` options).
    public struct Request: Sendable {
        public var policy = "upstream"
        public var protection = "none"
        public var flavour = "plain"
        public var depth = Universe.standard.depth
        public var vms = Universe.standard.vms
        public var files = Universe.standard.files
        public var slots = Universe.standard.slots
        public var pages = Universe.standard.pagesPerFile
        /// Every design in every flavour.
        public var all = false
        /// Write each trace as a scenario file into this directory.
        public var scenarios: String?
        public var maxStates = 4_000_000
        public var force = false
        /// No progress messages (the estimate and the search's progress).
        public var quiet = false
        public var fileNamesVM = ModellingChoices.FileNamesVM.atCreation.rawValue
        public var pointerAtTeardown = ModellingChoices.PointerAtTeardown.cleared.rawValue
        public var countFreedFiles = false
        public var reuseVMIdentities = false
        /// With `all`: the table under each alternative modelling choice too.
        public var choices = false
        public var symmetry = true
        /// Cores per search (0: all).
        public var threads = 0
        /// Write each design × flavour as a Promela model into this directory instead of searching.
        public var emitPromela: String?
        /// With `all`: the universe the designs after 2023 (conversion, linking, the derived
        /// link precondition) are searched in; nil leaves them out.
        public var after2023: HostUniverse? = .standard
        public init() {}
    }

    /// A refusal of the request, as one line.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// What an exploration produced.
    public enum Outcome: Sendable, Encodable {
        case comparison(DesignComparison)
        /// The Promela files written.
        case promela([String])

        public func formatted() -> String {
            switch self {
            case .comparison(let comparison): comparison.formatted()
            case .promela(let paths): paths.joined(separator: "\n")
            }
        }

        private enum PromelaKeys: String, CodingKey { case schemaVersion, paths }

        /// The comparison's own encoding, or `{schemaVersion, paths}` for the Promela files:
        /// every `--json` object carries `schemaVersion`, whatever the options.
        public func encode(to encoder: any Encoder) throws {
            switch self {
            case .comparison(let comparison): try comparison.encode(to: encoder)
            case .promela(let paths):
                var container = encoder.container(keyedBy: PromelaKeys.self)
                try container.encode(DesignComparison.currentSchemaVersion, forKey: .schemaVersion)
                try container.encode(paths, forKey: .paths)
            }
        }
    }

    /// Runs `request`; `message` receives progress lines and warnings (for stderr).
    public static func run(
        _ request: Request, logger: Logger = Logger(label: "gmemkit.explorer"),
        message: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(Failure) -> Outcome {
        guard let namesVM = ModellingChoices.FileNamesVM(rawValue: request.fileNamesVM) else {
            throw Failure("--file-names-vm must be at-creation or at-first-bind (got '\(request.fileNamesVM)')")
        }
        guard let teardown = ModellingChoices.PointerAtTeardown(rawValue: request.pointerAtTeardown) else {
            throw Failure("--pointer-at-teardown must be cleared or kept (got '\(request.pointerAtTeardown)')")
        }
        if !(0...64).contains(request.threads) { throw Failure("--threads must be 0 to 64 (got \(request.threads))") }
        if request.choices, !request.all { throw Failure("--choices goes with --all") }
        let chosen = ModellingChoices(
            fileNamesVM: namesVM, pointerAtTeardown: teardown,
            countFilesFreedByDelete: request.countFreedFiles, vmIdentitiesReused: request.reuseVMIdentities)
        let universe = Universe(
            vms: request.vms, files: request.files, slots: request.slots, pagesPerFile: request.pages,
            depth: request.depth, choices: chosen)
        if let problem = universe.problem { throw Failure(problem) }
        let designs: [Design]
        if request.all {
            designs = Design.all
        } else {
            designs = [try design(policy: request.policy, protection: request.protection, flavour: request.flavour)]
        }
        if let directory = request.emitPromela {
            try createDirectory(directory)
            var paths: [String] = []
            for design in designs {
                let model = PromelaModel(design: design, universe: universe)
                let path = (directory as NSString).appendingPathComponent(model.fileName)
                try writeFile(model.text, to: path)
                paths.append(path)
            }
            return .promela(paths)
        }
        if let directory = request.scenarios { try createDirectory(directory) }
        if request.maxStates < 1 { throw Failure("--max-states must be at least 1 (got \(request.maxStates))") }
        logger.debug("exploring", metadata: ["designs": "\(designs.count)", "universe": "\(universe)"])
        let comparison = try DesignComparison.search(designs, universe: universe, request: request, message: message)
        if let directory = request.scenarios { try comparison.writeScenarios(to: directory) }
        return .comparison(comparison)
    }

    /// The design named by the `--policy`, `--protection` and `--flavour` words.
    public static func design(policy: String, protection: String, flavour: String) throws(Failure) -> Design {
        guard let lifetime = Design.Lifetime(rawValue: policy) else {
            throw Failure("--policy must be upstream, slots-pin-file or both-pin (got '\(policy)')")
        }
        guard let chosenProtection = Design.Protection(rawValue: protection) else {
            throw Failure("--protection must be none, a, b or c (got '\(protection)')")
        }
        guard let chosenFlavour = Design.Flavour(rawValue: flavour) else {
            throw Failure("--flavour must be plain, snp or tdx (got '\(flavour)')")
        }
        if lifetime != .slotsPinFile, chosenProtection != .none {
            throw Failure(
                "--protection applies to slots-pin-file only (\(lifetime.rawValue) binds a file to its creator for life)"
            )
        }
        return Design(lifetime: lifetime, protection: chosenProtection, flavour: chosenFlavour)
    }

    private static func createDirectory(_ path: String) throws(Failure) {
        // A path that exists (symlinks followed) and is no directory: mkdir would say EEXIST.
        if FileManager.default.fileExists(atPath: path),
            (try? URL(fileURLWithPath: path).resourceValues(forKeys: [.isDirectoryKey]).isDirectory) != true
        {
            throw Failure("cannot create \(path): it exists and is not a directory (ENOTDIR)")
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            // Foundation's error names no errno: mkdir(2) of the path itself gives it.
            // SAFETY: `path` is passed as a NUL-terminated C string alive for the call; mkdir keeps no pointer.
            let code = unsafe mkdir(path, 0o755) == 0 ? 0 : errno
            guard code != 0, code != EEXIST else {
                throw Failure("cannot create \(path): \(error.localizedDescription)")
            }
            throw Failure("cannot create \(path): \(errnoPhrase(code))")
        }
    }

    /// "~1.2 s", "~3 min", "~2 h".
    public static func duration(_ seconds: Double) -> String {
        seconds < 120
            ? String(format: "~%.1f s", seconds)
            : seconds < 7200
                ? String(format: "~%.0f min", seconds / 60)
                : String(format: "~%.0f h", seconds / 3600)
    }

    /// "12 MiB", "1.5 GiB".
    public static func bytes(_ value: Double) -> String {
        value < 1_073_741_824
            ? String(format: "%.0f MiB", value / 1_048_576) : String(format: "%.1f GiB", value / 1_073_741_824)
    }

    /// This process's resident memory (`/proc/self/statm`), or 0 where it cannot be read.
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// The verdicts of one or more designs in one universe: the value `gmem explore` prints,
/// as JSON (``Codable``, stable keys documented in README) or as text (``formatted()``).
public struct DesignComparison: Codable, Sendable, Equatable {
    /// The version of this encoding; raised when a key changes meaning or goes away.
    public static let currentSchemaVersion = 1

    /// The universe searched.
    public struct UniverseSummary: Codable, Sendable, Equatable {
        public let vms, files, slots, pagesPerFile, depth: Int
        public let choices: String
        /// In words, as ``Universe/description``.
        public let summary: String
        public init(_ universe: Universe) {
            choices = universe.choices.description
            summary = universe.description
            vms = universe.vms
            files = universe.files
            slots = universe.slots
            pagesPerFile = universe.pagesPerFile
            depth = universe.depth
        }
    }

    /// One step of a trace and what it answered.
    public struct TraceStepEntry: Codable, Sendable, Equatable {
        public let step: String
        public let outcome: String
    }

    /// One invariant's verdict, or the hand-off question, or the replayed attack.
    public struct FindingEntry: Codable, Sendable, Equatable {
        public let name: String
        public let statement: String
        /// "holds", "violated", "not-applicable"; for hand-off "unreachable" or "reachable";
        /// "replayed" for the would-be attack.
        public let verdict: String
        public let steps: Int?
        public let detail: String?
        public let trace: [TraceStepEntry]?
        public let scenarioName: String?
        public let scenario: String?

        /// The table cell: "holds", "VIOLATED(n)", "yes(n)", "no", "n/a".
        public var cell: String {
            switch verdict {
            case "violated": "VIOLATED(\(steps ?? 0))"
            case "reachable": "yes(\(steps ?? 0))"
            case "unreachable": "no"
            case "not-applicable": "n/a"
            default: verdict
            }
        }

        public func verdictText(depth: Int) -> String {
            switch verdict {
            case "violated": "VIOLATED in \(steps ?? 0) steps"
            case "reachable": "REACHABLE in \(steps ?? 0) steps"
            case "unreachable": "unreachable to depth \(depth)"
            case "not-applicable": "not checked in this flavour"
            default: "holds to depth \(depth)"
            }
        }
    }

    /// One design's search and verdicts.
    public struct DesignEntry: Codable, Sendable, Equatable {
        public let name: String
        public let lifetime: String
        public let protection: String?
        public let flavour: String
        public let universe: String
        public let states: Int
        public let transitions: Int
        public let depth: Int
        public let exhausted: Bool
        public let stoppedAtLimit: Bool
        public let seconds: Double
        public let statesPerSecond: Double
        public let invariants: [FindingEntry]
        public let handOff: FindingEntry
        /// For upstream: the unprotected alternative's exposure trace replayed under upstream.
        public let wouldBeAttack: FindingEntry?

        public init(report: ExplorationReport, attack: Finding?) {
            let design = report.design
            name = design.description
            lifetime = design.lifetime.rawValue
            protection = design.lifetime == .slotsPinFile ? design.protection.rawValue : nil
            flavour = design.flavour.rawValue
            universe = report.universe.description
            states = report.statesExplored
            transitions = report.transitions
            depth = report.depthReached
            exhausted = report.exhausted
            stoppedAtLimit = report.stoppedAtLimit
            seconds = report.seconds
            statesPerSecond = report.statesPerSecond
            func entry(_ finding: Finding?, invariant: Invariant?, name: String, statement: String, verdict: String)
                -> FindingEntry
            {
                FindingEntry(
                    name: name, statement: statement, verdict: verdict, steps: finding?.trace.count,
                    detail: finding?.detail,
                    trace: finding?.trace.map { TraceStepEntry(step: $0.step.description, outcome: $0.outcome) },
                    scenarioName: finding.map { _ in ScenarioText.name(design: design, invariant: invariant) },
                    scenario: finding.map {
                        ScenarioText.text(of: $0, invariant: invariant, design: design, universe: report.universe)
                    })
            }
            invariants = report.results.map { result in
                let verdict: String
                switch result.verdict {
                case .holds: verdict = "holds"
                case .violated: verdict = "violated"
                case .notApplicable: verdict = "not-applicable"
                }
                return entry(
                    result.verdict.finding, invariant: result.invariant, name: result.invariant.rawValue,
                    statement: result.invariant.statement(for: design.flavour), verdict: verdict)
            }
            handOff = entry(
                report.handOff, invariant: nil, name: "hand-off-to-a-second-vm",
                statement: "can a file be bound into a VM other than the one that created it?",
                verdict: report.handOff == nil ? "unreachable" : "reachable")
            wouldBeAttack = attack.map { finding in
                let trace = Explorer.replay(finding.trace.map(\.step), design: design, universe: report.universe)
                let refused = trace.indices.first { trace[$0].modelOutcome != finding.trace[$0].modelOutcome }
                let detail =
                    refused.map {
                        "under upstream, step \($0 + 1) (\(trace[$0].step)) answers \(trace[$0].outcome), so no guest ever reads another VM's secret"
                    } ?? "under upstream the same steps succeed"
                let unprotected = Design(lifetime: .slotsPinFile, protection: .none, flavour: design.flavour)
                return FindingEntry(
                    name: "would-be-attack",
                    statement: "the shortest exposure trace of slots-pin-file/none, replayed under upstream",
                    verdict: "replayed", steps: trace.count, detail: detail,
                    trace: trace.map { TraceStepEntry(step: $0.step.description, outcome: $0.outcome) },
                    scenarioName: ScenarioText.name(design: unprotected, invariant: .noCrossVMExposure),
                    scenario: ScenarioText.text(
                        of: finding, invariant: .noCrossVMExposure, design: unprotected,
                        universe: report.universe))
            }
        }

        /// The invariants' verdicts and the hand-off question, in table order.
        public var findings: [FindingEntry] { invariants + [handOff] }
    }

    /// The table again under one alternative modelling choice.
    public struct AlternativeTable: Codable, Sendable, Equatable {
        public let name: String
        public let choices: String
        public let designs: [DesignEntry]
    }

    public let schemaVersion: Int
    public let universe: UniverseSummary
    /// Wall time of every search, in seconds.
    public let seconds: Double
    public let designs: [DesignEntry]
    /// Whether every design was asked for (`--all`): the human form is the table.
    public let all: Bool
    /// With `--choices`: the table under each alternative modelling choice.
    public let alternatives: [AlternativeTable]?
    /// Where the traces were written as scenario files, if they were.
    public let scenarioDirectory: String?
    /// With `all`: the designs after 2023 (issue 16).
    public var after2023: After2023Summary?

    public init(
        universe: UniverseSummary, seconds: Double, designs: [DesignEntry], all: Bool,
        alternatives: [AlternativeTable]? = nil, scenarioDirectory: String? = nil
    ) {
        schemaVersion = Self.currentSchemaVersion
        self.universe = universe
        self.seconds = seconds
        self.designs = designs
        self.all = all
        self.alternatives = alternatives
        self.scenarioDirectory = scenarioDirectory
    }

    /// Searches `designs` in `universe`, one per core, after refusing any whose pilot estimate
    /// exceeds `request.maxStates` (unless `request.force`).
    static func search(
        _ designs: [Design], universe: Universe, request: Exploration.Request,
        message: @escaping @Sendable (String) -> Void
    ) throws(Exploration.Failure) -> DesignComparison {
        let symmetry = request.symmetry
        // The estimate comes first: a search too big for --max-states is refused before it
        // allocates anything beyond its pilot.
        let pilots = Mutex<[SearchEstimate?]>(Array(repeating: nil, count: designs.count))
        // Said at once, then the pilot's progress (issue 12: a pilot that cannot finish a level
        // used to be silent for more than 30 s; it now stops at its time bound, 2 s).
        let quietPilot = request.quiet || request.all
        if !request.quiet { message("estimating (a pilot search of at most 200,000 states or 2 s per design)…") }
        DispatchQueue.concurrentPerform(iterations: designs.count) { index in
            let estimate = Explorer(design: designs[index], universe: universe).estimate(symmetry: symmetry) { pilot in
                if quietPilot { return }
                message(
                    "estimating: depth \(pilot.depth), \(pilot.statesExplored.formatted()) states, "
                        + String(format: "%.1f s", pilot.seconds))
            }
            pilots.withLock { $0[index] = estimate }
        }
        let estimates = pilots.withLock { $0.compactMap { $0 } }
        for (design, estimate) in zip(designs, estimates) where estimate.states > request.maxStates {
            let count =
                estimate.states >= 1_000_000_000_000_000
                ? "more than 10^15" : (estimate.exact ? "" : "about ") + estimate.states.formatted()
            let what =
                "\(design) in \(universe): estimated \(count) states "
                + "(\(Exploration.duration(estimate.seconds)), \(Exploration.bytes(estimate.bytes)))"
            if !request.force {
                throw Exploration.Failure(
                    "\(what) exceeds --max-states \(request.maxStates.formatted()); "
                        + "shrink the universe, raise --max-states, or pass --force")
            }
            message("\(what); searching anyway (--force)")
        }
        if !request.quiet, !request.all, let estimate = estimates.first {
            message(
                "estimate \(estimate.exact ? "" : "about ")\(estimate.states.formatted()) states, "
                    + "\(Exploration.duration(estimate.seconds)), \(Exploration.bytes(estimate.bytes))")
        }
        let started = ContinuousClock.now
        // --force lifts the refusal above, not the bound: the search still stops at
        // --max-states (its verdicts then cover the states stored), so memory stays bounded.
        let limit = request.maxStates
        let quiet = request.quiet
        let threads = request.threads
        let progress: @Sendable (ExplorationProgress) -> Void = { progress in
            if quiet { return }
            message(
                "\(progress.design): depth \(progress.depth), "
                    + "\(progress.statesExplored.formatted()) states, \(Int(progress.statesPerSecond).formatted()) states/s, "
                    + "\(String(format: "%.1f", progress.seconds)) s, states \(Exploration.bytes(Double(progress.bytes))), "
                    + "resident \(Exploration.bytes(Double(Exploration.residentBytes())))")
        }
        let reports = parallel(
            designs, universe: universe, limit: limit, threads: designs.count > 1 ? 1 : threads,
            symmetry: symmetry, progress: progress)
        // The attack upstream is defended against: the shortest exposure of the unprotected
        // alternative, replayed under upstream (where the kernel refuses the cross-VM bind).
        let attack = wouldBeAttack(universe: universe, reports: reports)
        let entries = reports.map { DesignEntry(report: $0, attack: $0.design.lifetime == .upstream ? attack : nil) }
        let elapsed = ContinuousClock.now - started
        var alternatives: [AlternativeTable]?
        if request.choices {
            alternatives = ModellingChoices.alternatives.map { name, alternative in
                let changed = Universe(
                    vms: universe.vms, files: universe.files, slots: universe.slots,
                    pagesPerFile: universe.pagesPerFile, depth: universe.depth, choices: alternative)
                let reports = parallel(
                    designs, universe: changed, limit: limit, threads: 1, symmetry: symmetry, progress: nil)
                return AlternativeTable(
                    name: name, choices: alternative.description,
                    designs: reports.map { DesignEntry(report: $0, attack: nil) })
            }
        }
        var comparison = DesignComparison(
            universe: UniverseSummary(universe),
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            designs: entries, all: request.all, alternatives: alternatives, scenarioDirectory: request.scenarios)
        if request.all, let after = request.after2023 {
            if let problem = after.problem { throw Exploration.Failure("after 2023: \(problem)") }
            comparison.after2023 = After2023Comparison.run(universe: after).summary
        }
        return comparison
    }

    /// Independent searches, one per core.
    private static func parallel(
        _ designs: [Design], universe: Universe, limit: Int?, threads: Int, symmetry: Bool,
        progress: (@Sendable (ExplorationProgress) -> Void)?
    ) -> [ExplorationReport] {
        let slots = Mutex<[ExplorationReport?]>(Array(repeating: nil, count: designs.count))
        DispatchQueue.concurrentPerform(iterations: designs.count) { index in
            let report = Explorer(design: designs[index], universe: universe).run(
                maxStates: limit, threads: threads, symmetry: symmetry, progressSeconds: 2, progress: progress)
            slots.withLock { $0[index] = report }
        }
        return slots.withLock { $0.compactMap { $0 } }
    }

    /// The shortest exposure trace of slots-pin-file/none (from `reports` or a quick search).
    private static func wouldBeAttack(universe: Universe, reports: [ExplorationReport]) -> Finding? {
        guard reports.contains(where: { $0.design.lifetime == .upstream }) else { return nil }
        let unprotected = Design(lifetime: .slotsPinFile, protection: .none, flavour: .plain)
        if let report = reports.first(where: { $0.design == unprotected }) {
            return report.verdict(for: .noCrossVMExposure).finding
        }
        return Explorer(design: unprotected, universe: universe).run(stopWhen: .noCrossVMExposure)
            .verdict(for: .noCrossVMExposure).finding
    }

    /// Writes every trace as a scenario file (`NAME.gmem`) into `directory`.
    func writeScenarios(to directory: String) throws(Exploration.Failure) {
        for file in after2023?.scenarios ?? [] {
            let path = (directory as NSString).appendingPathComponent(file.name + ".gmem")
            try writeFile(file.text, to: path)
        }
        for entry in designs {
            for item in entry.findings + (entry.wouldBeAttack.map { [$0] } ?? []) {
                guard let text = item.scenario, let name = item.scenarioName else { continue }
                let path = (directory as NSString).appendingPathComponent(name + ".gmem")
                try writeFile(text, to: path)
            }
        }
    }

    // MARK: Human output

    /// The human form: one design's verdicts with their traces, or (`all`) the table.
    public func formatted() -> String {
        var lines: [String] = []
        if all {
            table(into: &lines)
            for alternative in alternatives ?? [] { choices(alternative, into: &lines) }
            if let after2023 {
                lines.append("")
                lines += after2023.lines
            }
        } else if let entry = designs.first {
            design(entry, into: &lines)
        }
        return lines.joined(separator: "\n")
    }

    private func design(_ entry: DesignEntry, into lines: inout [String]) {
        lines.append("gmem explore: \(entry.name) in \(entry.universe)")
        lines.append(
            "  \(entry.states.formatted()) states, \(entry.transitions.formatted()) steps, depth \(entry.depth)"
                + (entry.exhausted ? " (every state reached)" : "")
                + (entry.stoppedAtLimit ? " (STOPPED at --max-states: verdicts hold only for the states stored)" : "")
                + ", \(String(format: "%.2f", entry.seconds)) s, \(Int(entry.statesPerSecond).formatted()) states/s")
        for item in entry.findings {
            lines.append("")
            lines.append(
                "\(item.name.padding(toLength: 38, withPad: " ", startingAt: 0)) \(item.verdictText(depth: entry.depth))"
            )
            lines.append("  \(item.statement)")
            trace(item, into: &lines)
        }
        if let attack = entry.wouldBeAttack {
            lines.append("")
            lines.append(
                "The attack on slots-pin-file/none, replayed under upstream (the kernel refuses the bind, GMEM-SPEC B5):"
            )
            trace(attack, into: &lines)
        }
    }

    private func trace(_ item: FindingEntry, withScenario: Bool = true, into lines: inout [String]) {
        guard let trace = item.trace else { return }
        for (index, step) in trace.enumerated() {
            lines.append("  \(Self.padded(String(index + 1), 2)). \(step.step) → \(step.outcome)")
        }
        if let detail = item.detail {
            lines.append(item.verdict == "replayed" ? "  \(detail)." : "  At step \(trace.count): \(detail).")
        }
        if withScenario, let scenario = item.scenario {
            lines.append("  As a scenario (save it and run `gmem check FILE`, or use --scenarios DIR):")
            for line in scenario.split(separator: "\n") { lines.append("    \(line)") }
        }
    }

    /// The table under one alternative reading (``ModellingChoices/alternatives``): a `*`
    /// marks a cell that differs from the kernel's reading.
    private func choices(_ alternative: AlternativeTable, into lines: inout [String]) {
        lines.append("")
        lines.append("Under \"\(alternative.name)\" (\(alternative.choices)); * = differs from the kernel's reading:")
        for (entry, base) in zip(alternative.designs, designs) {
            let cells = zip(entry.findings, base.findings).map { pair in
                (pair.0.cell + (pair.0.cell == pair.1.cell ? "" : "*")).padding(
                    toLength: 15, withPad: " ", startingAt: 0)
            }
            lines.append(
                entry.name.padding(toLength: 30, withPad: " ", startingAt: 0) + cells.joined()
                    + Self.padded(String(entry.states), 10))
        }
    }

    private func table(into lines: inout [String]) {
        lines.append(
            "gmem explore --all: \(designs.count) designs in \(universe.summary), \(String(format: "%.1f", seconds)) s")
        lines.append("")
        let columns = ["exposure", "use-after-free", "confidential", "delete-keeps", "quiescence", "hand-off"]
        lines.append(
            "design".padding(toLength: 30, withPad: " ", startingAt: 0)
                + columns.map { $0.padding(toLength: 15, withPad: " ", startingAt: 0) }.joined()
                + Self.padded("states", 10) + Self.padded("states/s", 11))
        for entry in designs {
            let cells = entry.findings.map { $0.cell.padding(toLength: 15, withPad: " ", startingAt: 0) }
            lines.append(
                entry.name.padding(toLength: 30, withPad: " ", startingAt: 0) + cells.joined()
                    + Self.padded(String(entry.states), 10) + Self.padded(String(Int(entry.statesPerSecond)), 11))
        }
        for entry in designs where entry.stoppedAtLimit {
            lines.append(
                "\(entry.name): STOPPED at --max-states after \(entry.states.formatted()) states; its verdicts cover only those"
            )
        }
        lines.append("")
        lines.append(
            "holds: no violation to depth \(universe.depth); VIOLATED(n): a shortest trace has n steps; "
                + "hand-off yes(n): a file can be bound into a second VM in n steps; n/a: not checked in this flavour.")
        for entry in designs {
            for item in entry.findings where item.trace != nil {
                lines.append("")
                lines.append("\(entry.name): \(item.name) \(item.verdictText(depth: universe.depth))")
                trace(item, withScenario: false, into: &lines)
            }
        }
        if scenarioDirectory == nil {
            lines.append("")
            lines.append("Write every trace as a scenario file with --scenarios DIR.")
        }
    }

    private static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}

/// Writes `text` to `path` (created or replaced); a failure is one line naming the path and
/// the errno, as the other file errors of `gmem explore` are.
func writeFile(_ text: String, to path: String) throws(Exploration.Failure) {
    do {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    } catch {
        let underlying = (error as? CocoaError)?.underlying
        let code =
            (underlying as? POSIXError)?.code.rawValue
            ?? (underlying as? NSError).flatMap {
                $0.domain == NSPOSIXErrorDomain ? Int32(truncatingIfNeeded: $0.code) : nil
            }
        guard let code, code > 0 else {
            throw Exploration.Failure("cannot write \(path): \(error.localizedDescription)")
        }
        throw Exploration.Failure("cannot write \(path): \(errnoPhrase(code))")
    }
}

/// "ENOENT (No such file or directory)": the errno's name and the C library's text for it.
func errnoPhrase(_ code: Int32) -> String {
    // SAFETY: strerror returns a NUL-terminated string valid until the next strerror call on
    // this thread; it is copied into a Swift String at once.
    let text = unsafe String(cString: strerror(code))
    return "\(ModelErrno(rawValue: code).name) (\(text))"
}
