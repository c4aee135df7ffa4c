import GmemConformance
import GmemExplorer
import GmemModel
import TestSupport
import Testing

extension KernelTests {
    /// Spin's counterexamples, like the explorer's own traces, replayed on this kernel.
    @Suite("Spin's traces on the kernel")
    struct SpinTraceTests {
        static let capabilities = ConformanceRunner.hostCapabilities() ?? .referenceHost

        @Test(
            "every counterexample Spin finds on the emitted models replays on this kernel as upstream expects (GMEM-B5)",
            .enabled(if: Spin.unavailable() == nil, "needs spin and cc: \(Spin.unavailable() ?? "")"))
        func spinTracesReplay() throws {
            let check = try SpinCrossCheck.standard.get()
            var replayed = 0
            for row in check.rows where row.design.flavour == .plain {
                guard let trail = row.spinTrail else { continue }
                let finding = Finding(
                    detail: "Spin's counterexample", trace: Explorer.replay(trail, design: row.design))
                let text = ScenarioText.text(
                    of: finding, invariant: row.invariant, design: row.design, universe: check.universe)
                let scenario = try #require(try ScenarioFormat.parse(text, source: "spin").first)
                let result = ConformanceRunner(selection: .both, capabilities: Self.capabilities).run(scenario)
                #expect(result.status == .passed, "\(scenario.name): \(result.firstProblem ?? "")\n\(text)")
                replayed += 1
            }
            #expect(replayed >= 7)
        }
    }
}
