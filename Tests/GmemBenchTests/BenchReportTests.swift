import Foundation
import GmemBench
import Testing

/// `gmem bench`'s figures are a library value: the JSON decodes back to it (the derived
/// medians and ratios recomputed), and the table is its text form.
@Suite("Bench: the report is a Codable value")
struct BenchReportTests {
    static let figures = [
        Figure(
            name: "exit-roundtrip", unit: "ns/round trip", swift: [110, 100, 120], c: [100, 100, 100],
            lowerIsBetter: true,
            goal: 1.05, command: "gmem bench --filter exit-roundtrip", note: "synthetic"),
        Figure(
            name: "model-ops", unit: "operations/s", swift: [5, 7], c: [], lowerIsBetter: false, goal: nil,
            command: "gmem bench --filter model-ops", note: "synthetic"),
    ]

    @Test("the report round-trips through JSON and its table has one row per figure")
    func roundTrip() throws {
        var options = BenchSuite.Options()
        options.rounds = 3
        let report = BenchReport(options: options, figures: Self.figures)
        let data = try JSONEncoder().encode(report)
        let decoded = try JSONDecoder().decode(BenchReport.self, from: data)
        #expect(decoded.figures == report.figures)
        #expect(decoded.schemaVersion == BenchReport.currentSchemaVersion && decoded.rounds == 3)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let first = try #require((object["figures"] as? [[String: Any]])?.first)
        #expect(first["ratio"] as? Double == 1.1)
        #expect(first["met"] as? Bool == false)
        let lines = report.formatted().split(separator: "\n")
        #expect(lines.count == 2 + Self.figures.count)
        #expect(lines[1].hasPrefix("exit-roundtrip") && lines[1].contains("MISSED"))
        #expect(lines.last?.hasPrefix("median of 3 rounds") == true)
    }

    @Test(
        "out-of-range options are refused before anything runs",
        arguments: [
            ("rounds", "--rounds must be 1 to 100"), ("pings", "--pings must be at least 100"),
            ("density", "--density-vms must be 10 to 4000"), ("populate", "--populate-mib must be 2 to 16384"),
        ])
    func refused(field: String, message: String) {
        var options = BenchSuite.Options()
        switch field {
        case "rounds": options.rounds = 0
        case "pings": options.pings = 99
        case "density": options.densityVMs = 4001
        default: options.populateMiB = 1
        }
        #expect(options.problem == message)
        #expect { try BenchSuite.run(options) } throws: { "\($0)" == message }
    }

    @Test("a filter that matches no figure is an error, not an empty table")
    func noFigure() {
        var options = BenchSuite.Options()
        options.filter = "no-such-figure"
        #expect { try BenchSuite.run(options) } throws: {
            "\($0)".contains("no figure matches --filter no-such-figure")
        }
    }
}
