import Foundation
import GmemConformance
import GmemModel
import TestSupport
import Testing

/// Every scenario of the example files in Scenarios/, with the file it is in.
func exampleScenarios() throws -> [(file: String, scenario: Scenario)] {
    let directory = repositoryRoot.appendingPathComponent("Scenarios")
    let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".gmem") }
    #expect(files.count >= 2)
    return try files.sorted().flatMap { file in
        let text = try String(contentsOfFile: directory.appendingPathComponent(file).path, encoding: .utf8)
        return try ScenarioFormat.parse(text, source: file).map { (file, $0) }
    }
}

/// What a user without /dev/kvm gets from the example files: the model alone, with the
/// reference host's capabilities (a 1024-descriptor process). A file that passes only because
/// the kernel backend told the model this host's limits would fail there.
@Suite("Scenario files on the model alone")
struct ScenarioFilesModelTests {
    @Test("the example scenario files in Scenarios/ pass on the model alone (no /dev/kvm, a 1024-fd process)")
    func exampleFilesOnTheModel() throws {
        for (file, scenario) in try exampleScenarios() {
            let result = ConformanceRunner(selection: .model, capabilities: .referenceHost).run(scenario)
            #expect(result.status == .passed, "\(file) \(scenario.name): \(result.firstProblem ?? "")")
        }
    }
}
