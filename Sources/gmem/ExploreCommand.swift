import ArgumentParser
import Foundation
import GmemExplorer
import Synchronization

/// `gmem explore`: replay the guest_memfd design debate as a bounded model checker.
struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Search a guest_memfd lifetime design for the shortest sequence that breaks it.",
        discussion: """
            Explores every sequence of userspace operations (create VMs and guest_memfd files, \
            bind and delete memslots, close fds, guests writing their secret and reading) up to \
            --depth, under one design, and checks five invariants on every step. A violation is \
            printed as numbered steps and as a scenario file for `gmem check`. Designs: the \
            upstream one (the file pins its VM, memslots do not pin the file, a file binds only \
            to its creator) and slots-pin-file (memslots pin the file, the file forgets its VM \
            when its last binding goes) with protection none, a (never another VM), b (zero on \
            unbind) or c (zero on rebind to another VM); and both-pin (both references, a cycle); \
            each in the plain, snp or tdx flavour. \
            docs/design-explorer.md walks through the results.
            """
    )

    @Option(name: .long, help: "upstream, slots-pin-file or both-pin.")
    var policy: String = "upstream"

    @Option(name: .long, help: "For slots-pin-file: none, a, b or c.")
    var protection: String = "none"

    @Option(name: .long, help: "plain, snp or tdx.")
    var flavour: String = "plain"

    @Option(name: .long, help: "The longest operation sequence searched (0–24).")
    var depth: Int = Universe.standard.depth

    @Option(name: .long, help: "VMs in the universe (1–4).")
    var vms: Int = Universe.standard.vms

    @Option(name: .long, help: "guest_memfd files in the universe (1–4).")
    var files: Int = Universe.standard.files

    @Option(name: .long, help: "Memslot numbers per VM (1–4).")
    var slots: Int = Universe.standard.slots

    @Option(name: .long, help: "Pages per file (1–8).")
    var pages: Int = Universe.standard.pagesPerFile

    @Flag(name: .long, help: "Explore every design in every flavour and print the table.")
    var all = false

    @Option(name: .long, help: "Write each trace as a scenario file into this directory.")
    var scenarios: String?

    @Flag(name: .long, help: "Print the results as JSON.")
    var json = false

    @Option(name: .long, help: "Refuse a search estimated to store more states than this, and stop one that reaches it.")
    var maxStates: Int = 4_000_000

    @Flag(name: .long, help: "Search even beyond --max-states (the estimate is still printed).")
    var force = false

    @Flag(name: .long, help: "No progress lines on stderr.")
    var quiet = false

    @Option(name: .long, help: "When a new file names a VM: at-creation (the kernel) or at-first-bind (the 2023 proposal read literally).")
    var fileNamesVm: String = ModellingChoices.FileNamesVM.atCreation.rawValue

    @Option(name: .long, help: "A file's VM pointer when its VM is torn down (designs where files do not pin the VM): cleared or kept.")
    var pointerAtTeardown: String = ModellingChoices.PointerAtTeardown.cleared.rawValue

    @Flag(name: .long, help: "Count a file freed by a memslot deletion as data destroyed (memslot-delete-keeps-data).")
    var countFreedFiles = false

    @Flag(name: .long, help: "Let a new VM get a destroyed VM's identity (kernel pointer), so a dangling pointer can match it.")
    var reuseVmIdentities = false

    @Flag(name: .long, help: "With --all: also the verdict table under each alternative modelling choice.")
    var choices = false

    @Flag(name: .long, help: "Store every state, not one per class of renamed VMs, files and memslots.")
    var noSymmetry = false

    @Option(name: .long, help: "Cores per search (0: all).")
    var threads: Int = 0

    @Option(name: .long, help: "Write each design × flavour as a Promela model for Spin into this directory, and stop.")
    var emitPromela: String?

    func run() throws {
        guard let namesVM = ModellingChoices.FileNamesVM(rawValue: fileNamesVm) else {
            fail(CommandFailure("gmem explore: --file-names-vm must be at-creation or at-first-bind (got '\(fileNamesVm)')"))
        }
        guard let teardown = ModellingChoices.PointerAtTeardown(rawValue: pointerAtTeardown) else {
            fail(CommandFailure("gmem explore: --pointer-at-teardown must be cleared or kept (got '\(pointerAtTeardown)')"))
        }
        if !(0...64).contains(threads) { fail(CommandFailure("gmem explore: --threads must be 0 to 64 (got \(threads))")) }
        if choices, !all { fail(CommandFailure("gmem explore: --choices goes with --all")) }
        let chosen = ModellingChoices(fileNamesVM: namesVM, pointerAtTeardown: teardown,
                                      countFilesFreedByDelete: countFreedFiles, vmIdentitiesReused: reuseVmIdentities)
        let universe = Universe(vms: vms, files: files, slots: slots, pagesPerFile: pages, depth: depth, choices: chosen)
        if let problem = universe.problem { fail(CommandFailure("gmem explore: \(problem)")) }
        let designs: [Design]
        if all {
            designs = Design.all
        } else {
            guard let lifetime = Design.Lifetime(rawValue: policy) else {
                fail(CommandFailure("gmem explore: --policy must be upstream, slots-pin-file or both-pin (got '\(policy)')"))
            }
            guard let protection = Design.Protection(rawValue: protection) else {
                fail(CommandFailure("gmem explore: --protection must be none, a, b or c (got '\(self.protection)')"))
            }
            guard let flavour = Design.Flavour(rawValue: flavour) else {
                fail(CommandFailure("gmem explore: --flavour must be plain, snp or tdx (got '\(self.flavour)')"))
            }
            if lifetime != .slotsPinFile, protection != .none {
                fail(CommandFailure("gmem explore: --protection applies to slots-pin-file only (\(lifetime.rawValue) binds a file to its creator for life)"))
            }
            designs = [Design(lifetime: lifetime, protection: protection, flavour: flavour)]
        }
        if let emitPromela {
            do {
                try FileManager.default.createDirectory(atPath: emitPromela, withIntermediateDirectories: true)
            } catch {
                fail(CommandFailure("gmem explore: cannot create \(emitPromela): \(error.localizedDescription)"))
            }
            for design in designs {
                let model = PromelaModel(design: design, universe: universe)
                let path = (emitPromela as NSString).appendingPathComponent(model.fileName)
                guard FileManager.default.createFile(atPath: path, contents: Data(model.text.utf8)) else {
                    fail(CommandFailure("gmem explore: cannot write \(path)"))
                }
                emit(path)
            }
            return
        }
        if let scenarios {
            do {
                try FileManager.default.createDirectory(atPath: scenarios, withIntermediateDirectories: true)
            } catch {
                fail(CommandFailure("gmem explore: cannot create \(scenarios): \(error.localizedDescription)"))
            }
        }

        if maxStates < 1 { fail(CommandFailure("gmem explore: --max-states must be at least 1 (got \(maxStates))")) }
        // The estimate comes first: a search too big for --max-states is refused before it
        // allocates anything beyond its pilot.
        let pilots = Mutex<[SearchEstimate?]>(Array(repeating: nil, count: designs.count))
        DispatchQueue.concurrentPerform(iterations: designs.count) { index in
            let estimate = Explorer(design: designs[index], universe: universe).estimate(symmetry: !noSymmetry)
            pilots.withLock { $0[index] = estimate }
        }
        let estimates = pilots.withLock { $0.compactMap { $0 } }
        for (design, estimate) in zip(designs, estimates) where estimate.states > maxStates {
            let count = estimate.states >= 1_000_000_000_000_000 ? "more than 10^15" : (estimate.exact ? "" : "about ") + estimate.states.formatted()
            let what = "\(design) in \(universe): estimated \(count) states "
                + "(\(Self.duration(estimate.seconds)), \(Self.bytes(estimate.bytes)))"
            if !force {
                fail(CommandFailure("gmem explore: \(what) exceeds --max-states \(maxStates.formatted()); "
                                    + "shrink the universe, raise --max-states, or pass --force"))
            }
            printError("gmem explore: \(what); searching anyway (--force)")
        }
        if !quiet, !all, let estimate = estimates.first {
            printError("gmem explore: estimate \(estimate.exact ? "" : "about ")\(estimate.states.formatted()) states, "
                       + "\(Self.duration(estimate.seconds)), \(Self.bytes(estimate.bytes))")
        }

        let started = ContinuousClock.now
        let limit = force ? nil : maxStates
        let quiet = self.quiet, threads = self.threads, symmetry = !noSymmetry
        // Designs are independent searches: one per core.
        let slots = Mutex<[ExplorationReport?]>(Array(repeating: nil, count: designs.count))
        DispatchQueue.concurrentPerform(iterations: designs.count) { index in
            let report = Explorer(design: designs[index], universe: universe).run(
                maxStates: limit, threads: designs.count > 1 ? 1 : threads, symmetry: symmetry, progressSeconds: 2
            ) { progress in
                if quiet { return }
                printError("gmem explore: \(progress.design): depth \(progress.depth), "
                           + "\(progress.statesExplored.formatted()) states, \(Int(progress.statesPerSecond).formatted()) states/s, "
                           + "\(String(format: "%.1f", progress.seconds)) s, states \(Self.bytes(Double(progress.bytes))), "
                           + "resident \(Self.bytes(Double(Self.residentBytes())))")
            }
            slots.withLock { $0[index] = report }
        }
        let reports = slots.withLock { $0.compactMap { $0 } }
        // The attack upstream is defended against: the shortest exposure of the unprotected
        // alternative, replayed under upstream (where the kernel refuses the cross-VM bind).
        let attack = wouldBeAttack(universe: universe, reports: reports)
        let entries = reports.map { DesignEntry(report: $0, attack: $0.design.lifetime == .upstream ? attack : nil) }
        let seconds = (ContinuousClock.now - started).seconds
        if let scenarios { try writeScenarios(entries, to: scenarios) }
        if json {
            try printJSON(ExploreJSON(universe: UniverseJSON(universe), seconds: seconds, designs: entries))
        } else if all {
            printTable(entries, universe: universe, seconds: seconds)
            if choices { printChoices(kernel: entries, universe: universe, designs: designs, limit: limit) }
        } else {
            printDesign(entries[0])
        }
    }

    static func duration(_ seconds: Double) -> String {
        seconds < 120 ? String(format: "~%.1f s", seconds) : seconds < 7200 ? String(format: "~%.0f min", seconds / 60)
            : String(format: "~%.0f h", seconds / 3600)
    }

    static func bytes(_ value: Double) -> String {
        value < 1_073_741_824 ? String(format: "%.0f MiB", value / 1_048_576) : String(format: "%.1f GiB", value / 1_073_741_824)
    }

    /// This process's resident memory (`/proc/self/statm`), or 0 where it cannot be read.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The shortest exposure trace of slots-pin-file/none (from `reports` or a quick search).
    private func wouldBeAttack(universe: Universe, reports: [ExplorationReport]) -> Finding? {
        guard reports.contains(where: { $0.design.lifetime == .upstream }) else { return nil }
        let unprotected = Design(lifetime: .slotsPinFile, protection: .none, flavour: .plain)
        if let report = reports.first(where: { $0.design == unprotected }) {
            return report.verdict(for: .noCrossVMExposure).finding
        }
        return Explorer(design: unprotected, universe: universe).run(stopWhen: .noCrossVMExposure)
            .verdict(for: .noCrossVMExposure).finding
    }

    private func writeScenarios(_ entries: [DesignEntry], to directory: String) throws {
        for entry in entries {
            for item in entry.invariants + [entry.handOff] + (entry.wouldBeAttack.map { [$0] } ?? []) {
                guard let text = item.scenario, let name = item.scenarioName else { continue }
                let path = (directory as NSString).appendingPathComponent(name + ".gmem")
                guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
                    fail(CommandFailure("gmem explore: cannot write \(path)"))
                }
            }
        }
    }

    // MARK: Human output

    private func printDesign(_ entry: DesignEntry) {
        emit("gmem explore: \(entry.name) in \(entry.universe)")
        emit("  \(entry.states.formatted()) states, \(entry.transitions.formatted()) steps, depth \(entry.depth)"
             + (entry.exhausted ? " (every state reached)" : "")
             + (entry.stoppedAtLimit ? " (STOPPED at --max-states: verdicts hold only for the states stored)" : "")
             + ", \(String(format: "%.2f", entry.seconds)) s, \(Int(entry.statesPerSecond).formatted()) states/s")
        for item in entry.invariants + [entry.handOff] {
            emit("")
            emit("\(item.name.padding(toLength: 38, withPad: " ", startingAt: 0)) \(item.verdictText(depth: entry.depth))")
            emit("  \(item.statement)")
            printTrace(item)
        }
        if let attack = entry.wouldBeAttack {
            emit("")
            emit("The attack on slots-pin-file/none, replayed under upstream (the kernel refuses the bind, GMEM-SPEC B5):")
            printTrace(attack)
        }
    }

    private func printTrace(_ item: FindingEntry, withScenario: Bool = true) {
        guard let trace = item.trace else { return }
        for (index, step) in trace.enumerated() {
            emit("  \(String(index + 1).leftPadded(to: 2)). \(step.step) → \(step.outcome)")
        }
        if let detail = item.detail { emit(item.verdict == "replayed" ? "  \(detail)." : "  At step \(trace.count): \(detail).") }
        if withScenario, let scenario = item.scenario {
            emit("  As a scenario (save it and run `gmem check FILE`, or use --scenarios DIR):")
            for line in scenario.split(separator: "\n") { emit("    \(line)") }
        }
    }

    /// The table again under each alternative reading (``ModellingChoices/alternatives``):
    /// a `*` marks a cell that differs from the kernel's reading.
    private func printChoices(kernel: [DesignEntry], universe: Universe, designs: [Design], limit: Int?) {
        for (name, alternative) in ModellingChoices.alternatives {
            let changed = Universe(vms: universe.vms, files: universe.files, slots: universe.slots,
                                   pagesPerFile: universe.pagesPerFile, depth: universe.depth, choices: alternative)
            let slots = Mutex<[ExplorationReport?]>(Array(repeating: nil, count: designs.count))
            let symmetry = !noSymmetry
            DispatchQueue.concurrentPerform(iterations: designs.count) { index in
                let report = Explorer(design: designs[index], universe: changed).run(maxStates: limit, threads: 1, symmetry: symmetry)
                slots.withLock { $0[index] = report }
            }
            let entries = slots.withLock { $0.compactMap { $0 } }.map { DesignEntry(report: $0, attack: nil) }
            emit("")
            emit("Under \"\(name)\" (\(alternative)); * = differs from the kernel's reading:")
            for (entry, base) in zip(entries, kernel) {
                let cells = zip(entry.invariants + [entry.handOff], base.invariants + [base.handOff]).map { pair in
                    (pair.0.cell + (pair.0.cell == pair.1.cell ? "" : "*")).padding(toLength: 15, withPad: " ", startingAt: 0)
                }
                emit(entry.name.padding(toLength: 30, withPad: " ", startingAt: 0) + cells.joined()
                     + String(entry.states).leftPadded(to: 10))
            }
        }
    }

    private func printTable(_ entries: [DesignEntry], universe: Universe, seconds: Double) {
        emit("gmem explore --all: \(entries.count) designs in \(universe), \(String(format: "%.1f", seconds)) s")
        emit("")
        let columns = ["exposure", "use-after-free", "confidential", "delete-keeps", "quiescence", "hand-off"]
        emit("design".padding(toLength: 30, withPad: " ", startingAt: 0)
             + columns.map { $0.padding(toLength: 15, withPad: " ", startingAt: 0) }.joined()
             + "states".leftPadded(to: 10) + "states/s".leftPadded(to: 11))
        for entry in entries {
            let cells = (entry.invariants + [entry.handOff]).map { $0.cell.padding(toLength: 15, withPad: " ", startingAt: 0) }
            emit(entry.name.padding(toLength: 30, withPad: " ", startingAt: 0) + cells.joined()
                 + String(entry.states).leftPadded(to: 10) + String(Int(entry.statesPerSecond)).leftPadded(to: 11))
        }
        for entry in entries where entry.stoppedAtLimit {
            emit("\(entry.name): STOPPED at --max-states after \(entry.states.formatted()) states; its verdicts cover only those")
        }
        emit("")
        emit("holds: no violation to depth \(universe.depth); VIOLATED(n): a shortest trace has n steps; "
             + "hand-off yes(n): a file can be bound into a second VM in n steps; n/a: not checked in this flavour.")
        for entry in entries {
            for item in entry.invariants + [entry.handOff] where item.trace != nil {
                emit("")
                emit("\(entry.name): \(item.name) \(item.verdictText(depth: universe.depth))")
                printTrace(item, withScenario: false)
            }
        }
        if scenarios == nil { emit(""); emit("Write every trace as a scenario file with --scenarios DIR.") }
    }
}

// MARK: - JSON (and the values the human output prints)

struct UniverseJSON: Encodable {
    let vms, files, slots, pagesPerFile, depth: Int
    let choices: String
    init(_ universe: Universe) {
        choices = universe.choices.description
        vms = universe.vms; files = universe.files; slots = universe.slots
        pagesPerFile = universe.pagesPerFile; depth = universe.depth
    }
}

struct ExploreJSON: Encodable {
    let universe: UniverseJSON
    let seconds: Double
    let designs: [DesignEntry]
}

struct StepJSON: Encodable {
    let step: String
    let outcome: String
}

/// One invariant's verdict, or the hand-off question, or the replayed attack.
struct FindingEntry: Encodable {
    let name: String
    let statement: String
    /// "holds", "violated", "not-applicable"; for hand-off "unreachable" or "reachable".
    let verdict: String
    let steps: Int?
    let detail: String?
    let trace: [StepJSON]?
    let scenarioName: String?
    let scenario: String?

    var cell: String {
        switch verdict {
        case "violated": "VIOLATED(\(steps!))"
        case "reachable": "yes(\(steps!))"
        case "unreachable": "no"
        case "not-applicable": "n/a"
        default: verdict
        }
    }

    func verdictText(depth: Int) -> String {
        switch verdict {
        case "violated": "VIOLATED in \(steps!) steps"
        case "reachable": "REACHABLE in \(steps!) steps"
        case "unreachable": "unreachable to depth \(depth)"
        case "not-applicable": "not checked in this flavour"
        default: "holds to depth \(depth)"
        }
    }
}

struct DesignEntry: Encodable {
    let name: String
    let lifetime: String
    let protection: String?
    let flavour: String
    let universe: String
    let states: Int
    let transitions: Int
    let depth: Int
    let exhausted: Bool
    let stoppedAtLimit: Bool
    let seconds: Double
    let statesPerSecond: Double
    let invariants: [FindingEntry]
    let handOff: FindingEntry
    /// For upstream: the unprotected alternative's exposure trace replayed under upstream.
    let wouldBeAttack: FindingEntry?

    init(report: ExplorationReport, attack: Finding?) {
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
        func entry(_ finding: Finding?, invariant: Invariant?, name: String, statement: String, verdict: String) -> FindingEntry {
            FindingEntry(
                name: name, statement: statement, verdict: verdict, steps: finding?.trace.count, detail: finding?.detail,
                trace: finding?.trace.map { StepJSON(step: $0.step.description, outcome: $0.outcome) },
                scenarioName: finding.map { _ in ScenarioText.name(design: design, invariant: invariant) },
                scenario: finding.map { ScenarioText.text(of: $0, invariant: invariant, design: design, universe: report.universe) })
        }
        invariants = report.results.map { result in
            let verdict: String
            switch result.verdict {
            case .holds: verdict = "holds"
            case .violated: verdict = "violated"
            case .notApplicable: verdict = "not-applicable"
            }
            return entry(result.verdict.finding, invariant: result.invariant, name: result.invariant.rawValue,
                         statement: result.invariant.statement(for: design.flavour), verdict: verdict)
        }
        handOff = entry(report.handOff, invariant: nil, name: "hand-off-to-a-second-vm",
                        statement: "can a file be bound into a VM other than the one that created it?",
                        verdict: report.handOff == nil ? "unreachable" : "reachable")
        wouldBeAttack = attack.map { finding in
            let trace = Explorer.replay(finding.trace.map(\.step), design: design, universe: report.universe)
            let refused = trace.indices.first { trace[$0].modelOutcome != finding.trace[$0].modelOutcome }
            let detail = refused.map { "under upstream, step \($0 + 1) (\(trace[$0].step)) answers \(trace[$0].outcome), so no guest ever reads another VM's secret" }
                ?? "under upstream the same steps succeed"
            let replay = Finding(detail: detail, trace: trace)
            return FindingEntry(
                name: "would-be-attack", statement: "the shortest exposure trace of slots-pin-file/none, replayed under upstream",
                verdict: "replayed", steps: replay.trace.count, detail: replay.detail,
                trace: replay.trace.map { StepJSON(step: $0.step.description, outcome: $0.outcome) },
                scenarioName: ScenarioText.name(design: Design(lifetime: .slotsPinFile, protection: .none, flavour: design.flavour),
                                                invariant: .noCrossVMExposure),
                scenario: ScenarioText.text(of: finding, invariant: .noCrossVMExposure,
                                            design: Design(lifetime: .slotsPinFile, protection: .none, flavour: design.flavour),
                                            universe: report.universe))
        }
    }
}
