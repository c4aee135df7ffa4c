import Foundation
import GmemModel
import Testing

@testable import GmemConformance

/// The translated upstream selftests (Scenarios/upstream/, GMEM-SPEC V): they pass on the model
/// under profile `next`, and a kernel that lacks what they require skips them with the
/// capability named, never fails them.
@Suite("Scenarios/upstream: the conversion selftests, translated")
struct UpstreamScenarioTests {
    static let folder = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appending(path: "Scenarios/upstream")

    static func scenarios() throws -> [Scenario] {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path(percentEncoded: false))
            .filter { $0.hasSuffix(".gmem") }.sorted()
        return try files.flatMap { name in
            try ScenarioFormat.parse(String(contentsOf: folder.appending(path: name), encoding: .utf8), source: name)
        }
    }

    @Test("every file parses, pins profile next, requires a capability and cites its selftest line on every step")
    func wellFormed() throws {
        // GMEM-V1–V8
        let all = try Self.scenarios()
        #expect(all.count >= 20)
        for scenario in all {
            #expect(scenario.profile == "next", "\(scenario.name)")
            #expect(!scenario.requires.isEmpty, "\(scenario.name)")
            #expect(!scenario.rules.isEmpty, "\(scenario.name) cites no rule")
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.folder.path(percentEncoded: false))
        where name.hasSuffix(".gmem") {
            let text = try String(contentsOf: Self.folder.appending(path: name), encoding: .utf8)
            let source = String(name.prefix { $0 != "-" })
            for line in text.split(separator: "\n")
            where !line.hasPrefix("#") && !line.hasPrefix("scenario") && !line.isEmpty {
                #expect(line.contains("# \(source).c:"), "\(name): a step without its selftest line: \(line)")
            }
        }
    }

    @Test("they pass on the model under profile next, and the reference host skips them naming the capability")
    func passOnModel() throws {
        // GMEM-V1–V8
        let runner = ConformanceRunner(selection: .model, capabilities: .referenceHost)
        for scenario in try Self.scenarios() {
            let result = runner.run(scenario)
            #expect(result.status == .passed, "\(scenario.name): \(result.firstProblem ?? "")")
            // What the kernel side would say here: the lacking capability by its kernel name.
            let reason = result.skipReason ?? ""
            let lacking = scenario.requires.filter { !ConformanceRunner.modelSupports($0, .referenceHost) }
            #expect(
                !lacking.isEmpty && lacking.allSatisfy { reason.contains($0.capabilityName) },
                "\(scenario.name): \(reason)")
        }
    }
}
