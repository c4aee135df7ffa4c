import Synchronization

/// The designs after 2023 side by side: the conversion designs, linking as posted and with
/// the migration flow's preconditions, and the derived weakest link precondition, as the
/// lines `gmem explore --all` prints after the 2023 table.
public struct After2023Comparison: Sendable {
    public let universe: HostUniverse
    /// The conversion designs, linking as posted, linking with the migration preconditions.
    public let reports: [HostReport]
    public let derivation: LinkDerivation
    public let seconds: Double

    /// The designs `gmem explore --all` searches.
    public static let designs: [HostDesign] = HostDesign.conversions + [.linkAsPosted, .linkWithMigrationPreconditions]

    /// Searches every design and derives the link precondition (the designs run in parallel).
    public static func run(universe: HostUniverse = .standard) -> After2023Comparison {
        let clock = ContinuousClock()
        let start = clock.now
        let box = ResultBox(count: designs.count)
        let designs = Self.designs
        parallel(threads: 0, designs.count + 1) { index in
            if index == designs.count {
                box.setDerivation(LinkDerivation.derive(universe: universe))
            } else {
                box.set(index, HostExplorer(design: designs[index], universe: universe).run())
            }
        }
        let elapsed = clock.now - start
        return After2023Comparison(
            universe: universe, reports: box.reports, derivation: box.derivation!,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// Every trace as a scenario file: (name, text).
    public var scenarios: [(name: String, text: String)] {
        var files: [(String, String)] = []
        for report in reports {
            for invariant in HostInvariant.allCases {
                guard let finding = report.finding(invariant) else { continue }
                files.append(
                    (
                        HostScenarioText.name(design: report.design, invariant: invariant),
                        HostScenarioText.text(
                            of: finding, invariant: invariant, design: report.design, universe: universe)
                    ))
            }
        }
        for weaker in derivation.weaker {
            let design = HostDesign(link: weaker.precondition)
            files.append(
                (
                    HostScenarioText.name(design: design, invariant: weaker.invariant),
                    HostScenarioText.text(
                        of: weaker.finding, invariant: weaker.invariant, design: design, universe: universe)
                ))
        }
        return files
    }

    /// The section as text lines.
    public var lines: [String] {
        var out: [String] = []
        out.append(
            "After 2023: in-place conversion and linking, \(reports.count) designs in \(universe), "
                + String(format: "%.1f s", seconds))
        out.append("")
        let columns = HostInvariant.allCases.map(\.rawValue)
        let short = ["host-reads-private", "conversion-shows", "convert-while-ref", "stays-with-its-vm"]
        out.append(pad("design", 52) + short.map { pad($0, 20) }.joined() + "states".leftPadded(to: 9))
        for report in reports {
            let cells = HostInvariant.allCases.map { invariant in
                pad(report.finding(invariant).map { "VIOLATED(\($0.steps.count))" } ?? "holds", 20)
            }
            out.append(pad(report.design.name, 52) + cells.joined() + String(report.states).leftPadded(to: 9))
        }
        out.append("")
        for (name, invariant) in zip(short, HostInvariant.allCases) {
            out.append("  \(pad(name, 20)) \(invariant.rawValue): \(invariant.statement)")
        }
        _ = columns
        out.append("holds: no violation to depth \(universe.depth); VIOLATED(n): a shortest trace has n steps.")
        for report in reports {
            for invariant in HostInvariant.allCases {
                guard let finding = report.finding(invariant) else { continue }
                out.append("")
                out.append("\(report.design.name): \(invariant.rawValue) VIOLATED in \(finding.steps.count) steps")
                out += Self.traceLines(finding)
            }
        }
        out.append("")
        out += derivationLines
        return out
    }

    /// The derivation's lines.
    public var derivationLines: [String] {
        var out: [String] = []
        let d = derivation
        out.append(
            "The weakest link precondition, derived: \(d.candidates) conjunctions of "
                + "\(LinkPredicate.allCases.count) predicates over the link-time state: \(d.searched) searched, "
                + "\(d.replayed) broken by replaying a weaker one's attack, "
                + "\(d.candidates - d.searched - d.replayed) safe as supersets of a safe one; "
                + String(format: "%.1f s", d.seconds))
        for predicate in LinkPredicate.allCases {
            out.append("  \(pad(predicate.rawValue, 20)) \(predicate.statement)")
        }
        if d.minimal.isEmpty {
            out.append("No conjunction keeps every invariant to depth \(d.universe.depth).")
        }
        for (minimal, report) in zip(d.minimal, d.reports) {
            out.append(
                "MINIMAL: link only when " + minimal.predicates.map(\.statement).joined(separator: " and ")
                    + " \(minimal): every invariant holds to depth \(d.universe.depth) (\(report.states) states)"
                    + (report.allHold ? "" : " -- NOT confirmed by the full search"))
        }
        for weaker in d.weaker {
            out.append("")
            out.append(
                "link/\(weaker.precondition): \(weaker.invariant.rawValue) VIOLATED in \(weaker.finding.steps.count) steps"
            )
            out += Self.traceLines(weaker.finding)
        }
        return out
    }

    static func traceLines(_ finding: HostFinding) -> [String] {
        var out: [String] = []
        for (n, (step, outcome)) in zip(finding.steps, finding.outcomes).enumerated() {
            out.append("  \(String(n + 1).leftPadded(to: 2)). \(step) → \(outcome)")
        }
        out.append("  At step \(finding.steps.count): \(finding.detail).")
        return out
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.padding(toLength: width, withPad: " ", startingAt: 0)
    }
}

extension After2023Comparison {
    /// The comparison as a value of ``DesignComparison`` (JSON and text).
    public var summary: After2023Summary {
        After2023Summary(
            universe: universe.description, seconds: seconds,
            invariants: HostInvariant.allCases.map { .init(name: $0.rawValue, statement: $0.statement) },
            designs: reports.map { report in
                .init(
                    name: report.design.name, states: report.states, exhausted: report.exhausted,
                    cells: HostInvariant.allCases.map {
                        report.finding($0).map { "VIOLATED(\($0.steps.count))" } ?? "holds"
                    })
            },
            minimalLinkPreconditions: derivation.minimal.map { $0.predicates.map(\.rawValue) },
            lines: lines,
            scenarios: scenarios.map { file in
                .init(name: file.name, text: file.text, replayable: !file.text.contains("# Not replayable"))
            })
    }
}

/// The designs after 2023 as ``DesignComparison`` carries them: the table's cells, the
/// derived link preconditions, the text, and every trace as a scenario.
public struct After2023Summary: Codable, Sendable, Equatable {
    public struct InvariantEntry: Codable, Sendable, Equatable {
        public let name: String
        public let statement: String
    }

    public struct DesignRow: Codable, Sendable, Equatable {
        public let name: String
        public let states: Int
        public let exhausted: Bool
        /// Per invariant (``invariants`` order): "holds" or "VIOLATED(n)".
        public let cells: [String]
    }

    public struct ScenarioFile: Codable, Sendable, Equatable {
        public let name: String
        public let text: String
        /// Whether every step has a scenario action (a GUP pin, stopping vCPUs and marking a
        /// VM dead have none).
        public let replayable: Bool
    }

    public let universe: String
    public let seconds: Double
    public let invariants: [InvariantEntry]
    public let designs: [DesignRow]
    /// The minimal link preconditions, each a list of predicates.
    public let minimalLinkPreconditions: [[String]]
    /// The section as text.
    public let lines: [String]
    public let scenarios: [ScenarioFile]
}

/// Results of the parallel tasks.
private final class ResultBox: Sendable {
    private let items: Mutex<[HostReport?]>
    private let derived = Mutex<LinkDerivation?>(nil)

    init(count: Int) { items = Mutex(Array(repeating: nil, count: count)) }

    func set(_ index: Int, _ report: HostReport) { items.withLock { $0[index] = report } }
    func setDerivation(_ value: LinkDerivation) { derived.withLock { $0 = value } }
    var reports: [HostReport] { items.withLock { $0.map { $0! } } }
    var derivation: LinkDerivation? { derived.withLock { $0 } }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
