import Foundation
import GmemExplorer
import Testing

/// `gmem explore`'s result is a library value: JSON is its encoding, the text its formatter.
@Suite("Design comparison")
struct DesignComparisonTests {
    static func small() -> Exploration.Request {
        var request = Exploration.Request()
        (request.vms, request.files, request.slots, request.pages, request.depth) = (2, 1, 1, 1, 8)
        request.quiet = true
        return request
    }

    @Test("upstream's comparison carries the replayed would-be attack and round-trips through JSON")
    func upstreamRoundTrip() throws {
        guard case .comparison(let comparison) = try Exploration.run(Self.small()) else {
            Issue.record("no comparison")
            return
        }
        #expect(comparison.schemaVersion == DesignComparison.currentSchemaVersion)
        let upstream = try #require(comparison.designs.first)
        #expect(upstream.lifetime == "upstream")
        #expect(upstream.invariants.allSatisfy { $0.verdict != "violated" })
        let attack = try #require(upstream.wouldBeAttack, "upstream carries the unprotected design's attack, replayed")
        #expect(
            attack.verdict == "replayed" && attack.detail?.contains("no guest ever reads another VM's secret") == true)
        let data = try JSONEncoder().encode(comparison)
        #expect(try JSONDecoder().decode(DesignComparison.self, from: data) == comparison)
        #expect(comparison.formatted().hasPrefix("gmem explore: \(upstream.name) in \(upstream.universe)"))
    }

    @Test("--all gives the table with one row per design; the unprotected design's exposure is VIOLATED")
    func allTable() throws {
        var request = Self.small()
        request.all = true
        // The designs after 2023 in their smallest universe (After2023Tests search the others).
        request.after2023 = HostUniverse(vms: 1, files: 1, slots: 1, pages: 1, depth: 6)
        guard case .comparison(let comparison) = try Exploration.run(request) else {
            Issue.record("no comparison")
            return
        }
        #expect(comparison.designs.count == Design.all.count)
        let none = try #require(comparison.designs.first { $0.name.hasPrefix("slots-pin-file/none") })
        #expect(none.invariants.first { $0.name == "no-cross-vm-exposure" }?.verdict == "violated")
        let text = comparison.formatted()
        #expect(text.hasPrefix("gmem explore --all: \(Design.all.count) designs"))
        #expect(text.contains("VIOLATED("))
        let after = try #require(comparison.after2023)
        #expect(after.designs.map(\.name) == After2023Comparison.designs.map(\.name))
        #expect(text.contains("After 2023: in-place conversion and linking"))
    }

    @Test(
        "a bad request is refused before any search",
        arguments: [
            ("policy", "--policy must be"), ("protection", "applies to slots-pin-file only"),
            ("threads", "--threads must be"),
            ("choices", "--choices goes with --all"), ("states", "exceeds --max-states"),
        ])
    func refusals(field: String, message: String) {
        var request = Self.small()
        switch field {
        case "policy": request.policy = "bogus"
        case "protection": request.protection = "a"
        case "threads": request.threads = 65
        case "choices": request.choices = true
        default: request.maxStates = 1
        }
        #expect { try Exploration.run(request) } throws: { "\($0)".contains(message) }
    }
}
