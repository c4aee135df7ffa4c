import GmemConformance
import GmemModel
import TestSupport
import Testing

extension KernelTests {
    /// Limits on the kernel backend's mappings that keep a scenario from reaching gmem check's
    /// own memory or the host's: page tables are charged to the budget, and a mapping the model
    /// places past the scenario address range is refused, never answered `EEXIST`.
    @Suite("Mapping limits: page tables, placement range")
    struct MappingLimitKernelTests {
        static func outcomes(_ text: String, budget: UInt64 = MemoryBudget.defaultLimit) throws -> [Outcome] {
            let scenario = try #require(try ScenarioFormat.parse(text, source: "limits.gmem").first)
            let backend = try KernelBackend(budget: MemoryBudget(limit: budget))
            return scenario.steps.map { backend.perform($0.action) }
        }

        @Test("one-byte writes 2 MiB apart are charged a page-table page each, so the budget refuses them in time")
        func pageTablesAreCharged() throws {
            // 64 writes in 64 fresh 2 MiB spans: 64 pages and 64 PTE pages (plus one table of
            // each upper level) = 528 KiB; a 512 KiB budget refuses the last writes. Charged the
            // pages alone (256 KiB) they all passed, and 65,000 such writes had gmem check
            // OOM-killed with 228 MB of page tables (the probe's oom/pte.gmem).
            var text = "scenario pte\nmemfd M size=1G\nmmap P M len=1G\n"
            for index in 0..<64 { text += "write P offset=\(index * 2)M width=1 value=1\n" }
            let outcomes = try Self.outcomes(text, budget: 512 << 10)
            #expect(Array(outcomes.prefix(2)) == [.ok, .ok])
            let refused = outcomes.firstIndex { if case .budgetRefusal = $0 { true } else { false } }
            // 2 + n writes pass while 8 KiB × n + 12 KiB ≤ 512 KiB: n = 62.
            #expect(refused == 2 + 62, "\(outcomes)")
            if let refused, case .budgetRefusal(let why) = outcomes[refused] {
                #expect(why.contains("page tables"), "\(why)")
            }
        }

        @Test("writes in one 2 MiB span are charged one page-table page in all")
        func oneSpanOneTable() throws {
            var text = "scenario span\nmemfd M size=2M\nmmap P M len=2M\n"
            for index in 0..<16 { text += "write P offset=\(index * 4)K width=1 value=1\n" }
            // 16 pages + 4 table pages = 80 KiB: fits exactly.
            let outcomes = try Self.outcomes(text, budget: 80 << 10)
            #expect(outcomes == Array(repeating: .ok, count: 18), "\(outcomes)")
        }

        @Test("a mapping the model places past the scenario range is refused, never EEXIST")
        func hugeMappingIsRefused() throws {
            let text = """
                scenario bigmap
                memfd M size=4K
                mmap P M len=70T
                """
            let outcomes = try Self.outcomes(text)
            #expect(outcomes.first == .ok)
            guard case .budgetRefusal(let why) = outcomes[1] else {
                Issue.record("a 70 TiB mapping was not refused: \(outcomes[1])")
                return
            }
            #expect(why.contains("64 TiB") && why.contains("P"), "\(why)")
        }

        @Test("1 TiB mappings fit until the range ends, then are refused; the kernel never answers EEXIST")
        func rangeEnds() throws {
            var text = "scenario bigmaps\nmemfd M size=4K\n"
            for index in 0..<60 { text += "mmap P\(index) M len=1T\n" }
            let outcomes = try Self.outcomes(text)
            #expect(!outcomes.contains(.errno(17)), "\(outcomes)")
            let refused = try #require(outcomes.firstIndex { if case .budgetRefusal = $0 { true } else { false } })
            // Windows of 1 TiB + 1 GiB from 16 TiB: 47 end below 64 TiB.
            #expect(refused == 1 + 47, "\(outcomes)")
            #expect(outcomes[1..<refused].allSatisfy { $0 == .ok })
        }

        static let capabilities = ConformanceRunner.hostCapabilities() ?? .referenceHost

        static func run(_ text: String) throws -> ScenarioResult {
            let scenario = try #require(try ScenarioFormat.parse(text, source: "limits.gmem").first)
            return ConformanceRunner(selection: .both, capabilities: capabilities).run(scenario)
        }

        @Test("mmap/munmap loops reuse the window on both backends; a stale name reaches the new mapping or SIGSEGV")
        func reuseAgrees() throws {
            var text = "scenario reuse\nmemfd M size=8K\n"
            for round in 0..<3_000 {
                text += "mmap P M len=4K -> ok\nwrite P value=\(round) -> ok\nread P -> value \(round)\n"
                text += "munmap P len=4K -> ok\nread P -> SIGSEGV\n"
            }
            // A window reused by another name: the stale name's address is the new mapping's.
            text += "mmap A M len=4K\nmmap B M len=8K\nmunmap A len=4K\nmmap C M offset=4K len=4K\n"
            text += "write C value=5\nread A -> value 5\nmunmap B len=4K\nread B offset=4K\nread B -> SIGSEGV\n"
            let result = try Self.run(text)
            #expect(result.status == .passed, "\(result.problems.prefix(3))")
        }

        @Test("the mapping past the limit is refused on both backends alike: a refusal, not a divergence")
        func limitAgrees() throws {
            var text = "scenario many\nmemfd M size=4K\n"
            for index in 0...MemoryBudget.mappingLimit { text += "mmap P\(index) M len=4K\n" }
            let result = try Self.run(text)
            #expect(result.status == .failed && result.budgetRefused, "\(result.status)")
            #expect(result.problems.count == 1, "\(result.problems)")
            #expect(result.steps.count == 2 + MemoryBudget.mappingLimit)
            #expect(result.steps.last?.kernel == nil)
        }

        @Test("at the limit a splitting munmap is refused by the kernel backend too")
        func splitAtTheLimit() throws {
            let backend = try KernelBackend()
            #expect(backend.perform(.mapAnonymous(name: "A", length: 3 * 4096, protection: 3)) == .ok)
            for index in 1..<MemoryBudget.mappingLimit {
                #expect(backend.perform(.mapAnonymous(name: "P\(index)", length: 4096, protection: 3)) == .ok)
            }
            guard case .budgetRefusal = backend.perform(.munmap(mapping: "A", offset: 4096, length: 4096)) else {
                Issue.record("a splitting munmap at the limit was performed")
                return
            }
            #expect(backend.perform(.munmap(mapping: "A", offset: 0, length: 4096)) == .ok)
            guard case .budgetRefusal = backend.perform(.mapAnonymous(name: "X", length: 4096, protection: 3)) else {
                Issue.record("the mapping past the limit was performed")
                return
            }
            #expect(backend.perform(.munmap(mapping: "P1", offset: 0, length: 4096)) == .ok)
            #expect(backend.perform(.mapAnonymous(name: "X", length: 4096, protection: 3)) == .ok)
        }
    }
}
