import Foundation
import GmemConformance
import GmemModel
import Testing

/// `gmem check`'s reports are library values: the JSON is their encoding (it decodes back to
/// the same value) and the human text a formatter of the same value.
@Suite("Conformance reports")
struct ConformanceReportTests {
    /// The catalogue on the model, as `gmem check --backend model` runs it (no /dev/kvm).
    static func catalogueReport() throws -> ConformanceReport {
        var request = ConformanceCheck.Request()
        request.backend = "model"
        guard case .scenarios(let report) = try ConformanceCheck.run(request) else {
            Issue.record("the catalogue did not give a scenario report")
            throw ConformanceCheck.Failure("no report")
        }
        return report
    }

    @Test("the catalogue report aggregates per rule in GMEM-SPEC order and round-trips through JSON")
    func catalogueRoundTrip() throws {
        let report = try Self.catalogueReport()
        #expect(report.schemaVersion == ConformanceReport.currentSchemaVersion)
        #expect(report.scenarios == Catalogue.scenarios.count)
        #expect(report.passed + report.failed + report.diverged + report.skipped == report.scenarios)
        // Every rule a scenario names is counted once per scenario naming it.
        let named = Catalogue.scenarios.flatMap(\.rules)
        #expect(report.rules.map { $0.passed + $0.failed + $0.diverged + $0.skipped }.reduce(0, +) == named.count)
        // Sections in the specification's order: C before F before … P.
        let sections = ContractRule.Section.allCases.map(\.rawValue)
        let order = report.rules.compactMap { rule in rule.rule.first.flatMap { sections.firstIndex(of: $0) } }
        #expect(order == order.sorted())
        #expect(ConformanceReport.ruleOrder("C2") < ConformanceReport.ruleOrder("C10"))
        #expect(ConformanceReport.ruleOrder("P1") < ConformanceReport.ruleOrder("Z1"))
        let data = try JSONEncoder().encode(report)
        #expect(try JSONDecoder().decode(ConformanceReport.self, from: data) == report)
        let keys = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]).keys
        #expect(
            Set([
                "schemaVersion", "backends", "scenarios", "passed", "failed", "diverged", "skipped", "budgetRefusals",
                "seconds", "notes", "rules", "results",
            ]).isSubset(of: Set(keys)))
    }

    @Test("the human text is the same value: one line per rule and the totals last")
    func humanText() throws {
        let report = try Self.catalogueReport()
        let lines = report.formatted().split(separator: "\n", omittingEmptySubsequences: false)
        #expect(
            lines.last?.hasPrefix("\(report.scenarios) scenarios on the model only: \(report.passed) passed") == true)
        #expect(lines.filter { $0.hasPrefix("  ") && $0.contains(" passed, ") }.count == report.rules.count)
        #expect(report.formatted(verbose: true).split(separator: "\n").count > lines.count)
    }

    @Test("a random run's report round-trips through JSON and says it compared nothing on the model alone")
    func randomRoundTrip() throws {
        var request = ConformanceCheck.Request()
        request.backend = "model"
        request.random = 300
        guard case .random(let report) = try ConformanceCheck.run(request) else {
            Issue.record("--random did not give a random report")
            return
        }
        #expect(report.operations >= 300 && report.succeeded)
        #expect(try JSONDecoder().decode(RandomCheckReport.self, from: JSONEncoder().encode(report)) == report)
        #expect(report.formatted().contains("model only, nothing compared"))
    }

    @Test(
        "a bad request is a one-line failure, not a trap",
        arguments: [
            ("backend", "--backend must be"), ("only", "no scenario named"), ("file", "cannot read"),
        ])
    func refusals(field: String, message: String) {
        var request = ConformanceCheck.Request()
        request.backend = "model"
        switch field {
        case "backend": request.backend = "bogus"
        case "only": request.only = "no-such-scenario"
        default: request.files = ["/nonexistent/scenario.gmem"]
        }
        #expect { try ConformanceCheck.run(request) } throws: { error in
            "\(error)".contains(message) && !"\(error)".contains("\n")
        }
    }
}
