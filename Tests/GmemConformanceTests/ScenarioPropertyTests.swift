import Foundation
import GmemModel
import Testing

@testable import GmemConformance

/// Mutated scenario files through the parser and the model: none may trap, every file that
/// parses runs to its end on the model and prints back as the same steps.
@Suite("Scenario language: mutated files")
struct ScenarioPropertyTests {
    static let tokens = [
        "0", "-1", "-4096", "0x8000000000000000", "0xFFFFFFFFFFFFF000", "18446744073709551615", "18446744073709551616",
        "4294967296", "0x80000000", "2M+4K", "16K-1", "1T", "99999999999999999999999", "0x", "K", "+", "-", "|",
        "->", "ok", "error", "EINVAL", "value", "stat", "fault", "SIGBUS", "size=", "len=", "offset=", "slot=",
        "flags=gmem", "flags=mmap|init_shared", "file=", "uaddr=P+0x1000", "width=3", "width=1", "api=1", "mode=punch",
        "advice=remove", "ino=same:A", "type=reg", "fd=0", "fd=-1", "rules=B5", "requires=debugfs,protected-vm",
        "vm", "gmem", "raw Z fd=0", "kvm K", "cap K guest_memfd", "#", "\r", "\r\n", "\u{FEFF}", "é", "\t", "=", "==",
    ]

    static let tokenBytes = tokens.map { Array($0.utf8) }

    /// One mutation of `text` (as bytes: cheap enough for 20,000 files in a debug build).
    static func mutate(_ text: [UInt8], _ g: inout SplitMix64) -> [UInt8] {
        var words = text.split(separator: 0x20, omittingEmptySubsequences: false).map(Array.init)
        guard !words.isEmpty else { return g.pick(tokenBytes) }
        let index = Int(g.next(UInt64(words.count)))
        switch g.next(8) {
        case 0:  // a number becomes an extreme one
            if let equals = words[index].firstIndex(of: UInt8(ascii: "=")) {
                words[index] = Array(words[index][...equals]) + g.pick(tokenBytes)
            } else {
                words[index] = g.pick(tokenBytes)
            }
        case 1: words.remove(at: index)
        case 2: words.insert(words[index], at: index)
        case 3: words.insert(g.pick(tokenBytes), at: index)
        case 4: words.swapAt(index, Int(g.next(UInt64(words.count))))
        case 5:
            if !words[index].isEmpty { words[index][Int(g.next(UInt64(words[index].count)))] = UInt8(g.next(95) + 32) }
        case 6: return Array(text.prefix(Int(g.next(UInt64(text.count) + 1))))
        default:
            let end: [UInt8] = g.next(2) == 0 ? [0x0D] : [0x0D, 0x0A]
            return text.flatMap { $0 == 0x0A ? end : [$0] }
        }
        return Array(words.joined(separator: [0x20]))
    }

    /// The model's capabilities for the mutants (a low fd limit, so EMFILE is reached).
    static let capabilities: ModelCapabilities = {
        var capabilities = ModelCapabilities.referenceHost
        capabilities.descriptorLimit = 16
        return capabilities
    }()

    /// Parses and runs `bytes`; returns whether it parsed, and the printed text of a
    /// scenario that did not print back as the same steps (into `mismatches`).
    static func check(_ bytes: [UInt8], mismatches: inout [String]) -> Bool {
        guard let scenarios = try? ScenarioFormat.parse(bytes: bytes, source: "mutant") else { return false }
        for scenario in scenarios {
            let backend = ModelBackend(capabilities: capabilities)
            for step in scenario.steps { _ = backend.perform(step.action) }
            let printed = ScenarioFormat.text(of: scenario)
            let again = try? ScenarioFormat.parse(printed, source: "printed")
            if again?.first?.steps.map(\.action) != scenario.steps.map(\.action) { mismatches.append(printed) }
        }
        return true
    }

    static func check(_ text: String) -> Bool {
        var mismatches: [String] = []
        let parsed = check(Array(text.utf8), mismatches: &mismatches)
        #expect(mismatches.isEmpty, "\(mismatches)")
        return parsed
    }

    /// The seeds: each catalogue scenario's header and first steps (small files, so that
    /// 20,000 mutants stay cheap in a debug build), and short random sequences.
    static func seeds() -> [[UInt8]] {
        var generator = SplitMix64(seed: 2026)
        var seeds = Catalogue.scenarios.map { scenario in
            var head = scenario
            head.steps = Array(scenario.steps.prefix(4))
            return Array(ScenarioFormat.text(of: head).utf8)
        }
        for index in 0..<40 {
            seeds.append(
                Array(
                    ScenarioFormat.text(
                        of: RandomDifferential.sequence(length: 4, generator: &generator, name: "seed\(index)")
                    ).utf8))
        }
        return seeds
    }

    @Test("20,000 mutated scenario files go through the parser and the model without a trap")
    func mutatedFiles() {
        var generator = SplitMix64(seed: 2027)
        let seeds = Self.seeds()
        var parsed = 0
        var mismatches: [String] = []
        let total = 20_000
        for index in 0..<total {
            var text = seeds[index % seeds.count]
            for _ in 0...(generator.next(4) == 0 ? 1 : 0) { text = Self.mutate(text, &generator) }
            if Self.check(text, mismatches: &mismatches) { parsed += 1 }
        }
        #expect(mismatches.isEmpty, "printed back differently: \(mismatches.prefix(3))")
        // Enough of them parse to exercise the model, enough fail to exercise the errors.
        #expect(parsed > total / 20 && parsed < total * 19 / 20, "\(parsed) of \(total) parsed")
    }

    @Test("the fuzzer's regression inputs parse or are refused, and run, without a trap")
    func fuzzRegressions() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/Scenario/regressions")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for file in files where !file.hasPrefix(".") {
            let data = try Data(contentsOf: directory.appendingPathComponent(file))
            _ = Self.check(String(decoding: data, as: UTF8.self))
        }
    }

    @Test("the inputs that trapped gmem check before are refused or answered with an errno")
    func knownTraps() throws {
        let cases: [(String, Outcome?)] = [
            ("anon U len=0xFFFFFFFFFFFFF000", .errno(12)),
            ("anon U len=0x8000000000000000", .errno(12)),
            ("anon U len=-4096", .errno(12)),
            ("memfd M size=4K\nmmap P M len=0x8000000000000000", .errno(12)),
            ("memfd M size=4K\nmmap P M len=-4096", .errno(12)),
            ("vm A\ngmem F A size=4K flags=mmap\nmmap P F len=4K prot=0x80000000", .ok),
            ("vm A\nregion A slot=0 size=0xFFFFFFFFFFFFF000 uaddr=0x1000", .errno(22)),
            (
                "vm A\ngmem F A size=4K\nfallocate F mode=allocate offset=0x7FFFFFFFFFFFF000 len=0x7FFFFFFFFFFFF000",
                .errno(27)
            ),
            ("memfd M size=4K\nfallocate M mode=allocate len=0x7FFFFFFFFFFFF000", .ok),
            ("vm A\nattrs A gpa=0xFFFFFFFFFFFFF000 size=0x2000 attrs=private", .errno(25)),
        ]
        for (text, outcome) in cases {
            let scenario = try #require(try ScenarioFormat.parse(text, source: "trap").first)
            let backend = ModelBackend(capabilities: .referenceHost)
            var last: Outcome?
            for step in scenario.steps { last = backend.perform(step.action) }
            #expect(last == outcome, "\(text)")
        }
        for text in [
            "vm A\nregion A slot=0 size=4K flags=4294967296", "vm A\nregion A slot=0 size=4K api=18446744073709551615",
            "vm A\ngmem F A size=4K\nfallocate F mode=0x100000000 len=4K", "anon U len=18446744073709551616",
        ] {
            #expect(throws: ScenarioFormat.ParseError.self) { try ScenarioFormat.parse(text, source: "trap") }
        }
    }
}
