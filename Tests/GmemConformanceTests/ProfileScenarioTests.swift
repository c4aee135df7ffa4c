import GmemModel
import Testing

@testable import GmemConformance

/// Kernel profiles in the scenario language and the runner: `profile=` pins a scenario, the
/// runner's profile drives the rest, and the catalogue passes on the model under every profile.
@Suite("Kernel profiles in scenarios")
struct ProfileScenarioTests {
    @Test("the whole catalogue passes on the model under every profile", arguments: KernelProfile.all)
    func cataloguePasses(profile: KernelProfile) {
        // GMEM-B6: the one rule whose errno differs; its scenarios pin their profile.
        var runner = ConformanceRunner(selection: .model, capabilities: .referenceHost)
        runner.profile = profile
        let failing = Catalogue.scenarios.map(runner.run).filter { $0.status != .passed }
        #expect(failing.isEmpty, "\(failing.map { "\($0.scenario.name): \($0.firstProblem ?? "")" })")
    }

    @Test("a pinned scenario runs under its own profile whatever the run's; an unpinned one under the run's")
    func pinning() throws {
        let text = """
            scenario pinned rules=B6 profile=next
            vm A
            gmem F A size=32K
            region A slot=0 gpa=0 size=16K file=F -> ok
            region A slot=1 gpa=0x100000 size=16K file=F offset=12K -> EEXIST

            scenario unpinned rules=B6
            vm A
            gmem F A size=32K
            region A slot=0 gpa=0 size=16K file=F -> ok
            region A slot=1 gpa=0x100000 size=16K file=F offset=12K -> EINVAL
            """
        let scenarios = try ScenarioFormat.parse(text, source: "test")
        #expect(scenarios.map(\.profile) == ["next", nil])
        for profile in KernelProfile.all {
            var runner = ConformanceRunner(selection: .model, capabilities: .referenceHost)
            runner.profile = profile
            #expect(runner.run(scenarios[0]).status == .passed)
            #expect(runner.run(scenarios[1]).status == (profile == .v6_18 ? .passed : .failed))
            #expect(runner.profile(for: scenarios[0]) == .next && runner.profile(for: scenarios[1]) == profile)
        }
        // The printed form keeps the pin, and parses back to it.
        let printed = ScenarioFormat.text(of: scenarios[0])
        #expect(printed.hasPrefix("scenario pinned rules=B6 profile=next\n"))
        #expect(try ScenarioFormat.parse(printed, source: "round trip").first?.profile == "next")
    }

    @Test("a scenario pinned to a profile the host does not answer like is kernel-skipped, with the reason")
    func kernelSkip() throws {
        let scenario = try #require(
            try ScenarioFormat.parse("scenario s rules=C1 profile=next\nvm A -> ok\n", source: "test").first)
        var runner = ConformanceRunner(selection: .both, capabilities: .referenceHost)
        runner.hostProfile = .v6_18
        let result = runner.run(scenario)
        #expect(result.status == .skipped)
        #expect(result.skipReason?.contains("pinned to kernel profile next; this kernel answers like 6.18") == true)
    }

    @Test("profile= takes only a known profile, once")
    func parseErrors() {
        for (text, message) in [
            ("scenario s rules=C1 profile=6.19\nvm A\n", "unknown kernel profile '6.19' (expected 6.18 or next"),
            ("scenario s profile=next profile=6.18\nvm A\n", "profile= given twice"),
            ("scenario s profil=next\nvm A\n", "did you mean 'profile'"),
        ] {
            #expect(throws: ScenarioFormat.ParseError.self) { try ScenarioFormat.parse(text, source: "t") }
            do {
                _ = try ScenarioFormat.parse(text, source: "t")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }
}
