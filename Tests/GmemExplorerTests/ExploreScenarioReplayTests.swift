import Foundation
import GmemConformance
import GmemExplorer
import GmemModel
import Testing

/// What `gmem explore --all --scenarios DIR` writes replays under `gmem check --backend model`
/// (probe F17: four SNP-flavoured traces of the designs after 2023 wrote `vm B type=4`, which
/// the model refused with EINVAL under `requires=gmem-attributes`).
@Suite("Explorer scenarios replay on the model")
struct ExploreScenarioReplayTests {
    @Test("every scenario gmem explore --all --scenarios DIR writes (default universes) passes on the model backend")
    func everyWrittenScenarioPasses() throws {
        let directory = FileManager.default.temporaryDirectory.appending(
            path: "gmem-explore-sc-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var request = Exploration.Request()
        (request.all, request.quiet, request.scenarios) = (true, true, directory.path)
        _ = try Exploration.run(request)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".gmem") }
        #expect(names.count >= 20, "only \(names.count) scenarios written: \(names)")
        // As `gmem check --backend model` runs them: this host's capabilities, or the reference host's.
        let runner = ConformanceRunner(
            selection: .model, capabilities: ConformanceRunner.hostCapabilities() ?? .referenceHost)
        var confidential = 0
        for name in names.sorted() {
            let text = try String(contentsOf: directory.appending(path: name), encoding: .utf8)
            if text.contains(" type=4") { confidential += 1 }
            for scenario in try ScenarioFormat.parse(text, source: name) {
                let result = runner.run(scenario)
                #expect(result.status == .passed, "\(name): \(result.problems.joined(separator: "\n"))")
            }
        }
        // The SNP-flavoured traces are among them (the ones that used to fail).
        #expect(confidential >= 1)
    }
}
