import GmemConformance
import GmemModel
import Testing

/// `MemoryBudget.mappingLimit` on the model backend: the step past it is refused before the
/// call, as on the kernel backend, and reported as a budget refusal (a failure, not a pass).
@Suite("Mapping limit: the model backend refuses the mapping past it")
struct MappingLimitTests {
    static let limit = MemoryBudget.mappingLimit

    static func scenario(_ text: String) throws -> Scenario {
        try #require(try ScenarioFormat.parse(text, source: "limit.gmem").first)
    }

    @Test("the mmap past the limit is a budget refusal and nothing after it runs")
    func mmapPastTheLimit() throws {
        var text = "scenario many\nmemfd M size=4K\n"
        for index in 0...Self.limit { text += "mmap P\(index) M len=4K -> ok\n" }
        text += "write P0 value=1 -> ok\n"
        let result = ConformanceRunner(selection: .model, capabilities: .referenceHost).run(try Self.scenario(text))
        #expect(result.status == .failed && result.budgetRefused)
        #expect(result.steps.count == 2 + Self.limit, "\(result.steps.count)")
        let problem = try #require(result.firstProblem)
        #expect(problem.contains("mmap P\(Self.limit) ") && problem.contains("at most \(Self.limit)"), "\(problem)")
        #expect(result.problems.count == 1, "\(result.problems)")
    }

    @Test("at the limit a munmap that splits a piece is refused; one that removes a piece is not, and frees room")
    func munmapAtTheLimit() throws {
        let backend = ModelBackend()
        #expect(backend.perform(.mapAnonymous(name: "A", length: 3 * 4096, protection: 3)) == .ok)
        for index in 1..<Self.limit {
            #expect(backend.perform(.mapAnonymous(name: "P\(index)", length: 4096, protection: 3)) == .ok)
        }
        guard case .budgetRefusal = backend.perform(.mapAnonymous(name: "X", length: 4096, protection: 3)) else {
            Issue.record("the mapping past the limit was not refused")
            return
        }
        guard case .budgetRefusal = backend.perform(.munmap(mapping: "A", offset: 4096, length: 4096)) else {
            Issue.record("a splitting munmap at the limit was not refused")
            return
        }
        #expect(backend.kernel.mappingCount == Self.limit)
        // Trimming A's first page leaves one piece: allowed.
        #expect(backend.perform(.munmap(mapping: "A", offset: 0, length: 4096)) == .ok)
        #expect(backend.perform(.munmap(mapping: "P1", offset: 0, length: 4096)) == .ok)
        #expect(backend.perform(.mapAnonymous(name: "X", length: 4096, protection: 3)) == .ok)
    }

    @Test("mmap/munmap loops far past the limit never meet it")
    func loopsStayUnder() throws {
        var text = "scenario loop\nmemfd M size=4K\n"
        for _ in 0..<(3 * Self.limit) {
            text += "mmap P M len=4K -> ok\nwrite P value=1 -> ok\nmunmap P len=4K -> ok\n"
        }
        let result = ConformanceRunner(selection: .model, capabilities: .referenceHost).run(try Self.scenario(text))
        #expect(result.status == .passed, "\(result.firstProblem ?? "")")
    }
}
