@testable import GmemConformance
import GmemModel
import Testing

@Suite("Scenario language")
struct ScenarioFormatTests {
    @Test("every catalogue scenario prints as text that parses back to the same steps")
    func roundTrip() throws {
        for scenario in Catalogue.scenarios {
            let text = ScenarioFormat.text(of: scenario)
            let parsed = try #require(try ScenarioFormat.parse(text, source: "round trip").first)
            #expect(parsed.name == scenario.name)
            #expect(parsed.rules == scenario.rules)
            #expect(parsed.requires == scenario.requires)
            #expect(parsed.steps.map(\.action) == scenario.steps.map(\.action), "\(scenario.name)")
            #expect(parsed.steps.map(\.expected) == scenario.steps.map(\.expected), "\(scenario.name)")
        }
    }

    @Test("a hand-written file parses: sizes, flags, expectations, comments")
    func handWritten() throws {
        let scenarios = try ScenarioFormat.parse("""
            # two VMs, one file
            scenario mine rules=B5
            vm A
            vm B   # the attacker
            gmem F A size=16K flags=mmap|init_shared
            region B slot=0 gpa=0x100000 size=16K file=F -> EINVAL
            mmap P F len=16K
            write P offset=4K value=7
            read P offset=4K -> value 7
            guest A gpa=0 read -> mmio
            """, source: "test")
        #expect(scenarios.count == 1)
        let steps = scenarios[0].steps
        #expect(steps.count == 8)
        #expect(steps[2].action == .createGuestMemfd(name: "F", vm: "A", size: 16384, flags: 3, reserved: 0))
        #expect(steps[3].expected == .errno(22))
        #expect(steps[3].action == .setRegion(vm: "B", version: 2, slot: 0, flags: 4, gpa: 0x10_0000, size: 16384,
                                              userspace: .literal(0), file: "F", offset: 0))
        #expect(steps[6].expected == .value(7))
    }

    @Test("errors name the line and what is wrong")
    func errors() {
        #expect(throws: ScenarioFormat.ParseError(line: 2, message: "unknown action 'frobnicate'")) {
            try ScenarioFormat.parse("vm A\nfrobnicate A", source: "x")
        }
        #expect(throws: ScenarioFormat.ParseError.self) { try ScenarioFormat.parse("gmem F A size=lots", source: "x") }
        #expect(throws: ScenarioFormat.ParseError.self) { try ScenarioFormat.parse("vm A -> EWHAT", source: "x") }
        #expect(throws: ScenarioFormat.ParseError.self) { try ScenarioFormat.parse("guest A gpa=12 read", source: "x") }
    }

    @Test("the whole catalogue passes on the model, as the reference host and as upstream")
    func catalogueOnModel() {
        for capabilities in [ModelCapabilities.referenceHost, .upstream] {
            let runner = ConformanceRunner(selection: .model, capabilities: capabilities)
            for scenario in Catalogue.scenarios {
                // a1-attributes-on-this-host has no expectation; the others must hold.
                let result = runner.run(scenario)
                #expect(result.status == .passed || result.status == .skipped, "\(scenario.name): \(result.firstProblem ?? "")")
            }
        }
    }

    @Test("random sequences are deterministic for a seed and use many kinds of action")
    func generatorIsDeterministic() {
        var a = SplitMix64(seed: 9), b = SplitMix64(seed: 9)
        let first = RandomDifferential.sequence(length: 50, generator: &a, name: "x")
        let second = RandomDifferential.sequence(length: 50, generator: &b, name: "x")
        #expect(first == second)
        #expect(Set(first.steps.map { ScenarioFormat.line(for: $0.action).split(separator: " ")[0] }).count >= 8)
    }
}
