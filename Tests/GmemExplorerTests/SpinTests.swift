import GmemConformance
import GmemExplorer
import GmemModel
import Testing

/// The explorer held against Spin: the same universe written as Promela (an independent
/// encoding of the semantics), searched breadth-first by Spin's compiled verifier.
@Suite("Explorer held against Spin")
struct SpinTests {
    @Test(
        "Spin gives every design × flavour × invariant the explorer's verdict, shortest-trace length and hand-off answer",
        .enabled(if: Spin.unavailable() == nil, "needs spin and cc: \(Spin.unavailable() ?? "")"))
    func sameVerdicts() throws {
        let check = try SpinCrossCheck.standard.get()
        print(check.table)
        #expect(check.rows.count == Design.all.count * 5 + Design.all.filter { $0.flavour != .plain }.count)
        for row in check.rows {
            #expect(
                row.explorer == row.spin,
                "\(row.design) \(row.invariant?.rawValue ?? "hand-off"): explorer \(row.explorer.map(String.init) ?? "holds"), Spin \(row.spin.map(String.init) ?? "holds")"
            )
            #expect(
                row.spinTrail?.count == row.spin,
                "\(row.design): the trail has \(row.spinTrail?.count ?? 0) steps, pan says \(row.spin ?? 0)")
            #expect(row.spinStates > 0)
        }
        // Both sides found something to disagree about.
        #expect(check.rows.contains { $0.spin != nil })
        #expect(check.rows.contains { $0.spin == nil })
    }

    @Test(
        "every Spin counterexample breaks the same invariant on GmemModel and replays as a `gmem check` scenario",
        .enabled(if: Spin.unavailable() == nil, "needs spin and cc: \(Spin.unavailable() ?? "")"))
    func trailsReplay() throws {
        let check = try SpinCrossCheck.standard.get()
        for row in check.rows {
            guard let trail = row.spinTrail else { continue }
            #expect(
                Explorer.confirms(trail, design: row.design, invariant: row.invariant),
                "\(row.design) \(row.invariant?.rawValue ?? "hand-off"): Spin's trail does not break it on GmemModel: \(trail)"
            )
            let finding = Finding(detail: "Spin's counterexample", trace: Explorer.replay(trail, design: row.design))
            let text = ScenarioText.text(of: finding, invariant: row.invariant, design: row.design, universe: .standard)
            let scenario = try #require(try ScenarioFormat.parse(text, source: "spin").first)
            let result = ConformanceRunner(selection: .model, capabilities: .referenceHost).run(scenario)
            #expect(result.status == .passed, "\(scenario.name): \(result.firstProblem ?? "")\n\(text)")
        }
    }

    @Test(
        "the emitted model without symmetry stores exactly the explorer's states (same universe, same depth)",
        .enabled(if: Spin.unavailable() == nil, "needs spin and cc: \(Spin.unavailable() ?? "")"))
    func sameStateCount() throws {
        let check = try SpinCrossCheck.standard.get()
        for design in Design.all {
            // pan runs on through violations (-c0), so it stores the whole bounded space.
            let row = try #require(check.rows.first { $0.design == design })
            let explorer = Explorer(design: design).run(threads: 1, symmetry: false)
            #expect(row.spinStates == explorer.statesExplored, "\(design)")
        }
    }

    @Test("a Spin trail's STEP lines become explorer steps; other lines are ignored")
    func trailParsing() {
        let output =
            "      STEP createVM 0\nspin: trail ends after 3 steps\n  STEP createFile 0 0\n STEP bind 0 1 0\n#processes: 1\n STEP bogus 1\n"
        #expect(
            PromelaModel.steps(fromTrailOutput: output) == [
                .createVM(vm: 0), .createFile(file: 0, vm: 0), .bind(vm: 0, slot: 1, file: 0),
            ])
    }
}
