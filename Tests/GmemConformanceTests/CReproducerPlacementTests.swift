import Foundation
@_spi(Unchecked) import GmemConformance
import GmemModel
import TestSupport
import Testing

extension KernelTests {
    /// The C runtime places mappings as the model does (first fit among the live windows, a
    /// window freed when its last page is unmapped), and stops at a step it cannot reproduce:
    /// one the memory budget refused on the model, or a window the kernel backend would not place.
    @Suite("C reproducer placement")
    struct CReproducerPlacementTests {
        /// Writes `scenario` as C (expecting `expected`, or the model's outcomes), builds it with
        /// `cc -Wall -Werror` and runs it: its exit status, output and parsed TAP.
        static func buildAndRun(_ scenario: Scenario, expected: [Outcome]? = nil) throws -> (
            status: Int32, output: String, tap: [Int: String?]
        ) {
            let compiler = try #require(CReproducerTests.compiler, "no C compiler (cc, gcc or clang) on this machine")
            var runner = ConformanceRunner(
                selection: .model, capabilities: ConformanceRunner.hostCapabilities() ?? .referenceHost)
            runner.profile = KernelProfile.host().profile
            let directory = FileManager.default.temporaryDirectory.appending(
                path: "gmem-repro-placement-\(getpid())-\(UInt32.random(in: 0 ... .max))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appending(path: CReproducer.fileName(for: scenario)).path
            let source =
                if let expected {
                    CReproducer.source(
                        for: scenario, expected: expected, profile: runner.profile(for: scenario), command: "swift test"
                    )
                } else {
                    CReproducer.source(for: scenario, runner: runner, command: "swift test")
                }
            try source.write(toFile: path, atomically: false, encoding: .utf8)
            let build = try CReproducerTests.run(compiler, ["-Wall", "-Werror", path, "-o", String(path.dropLast(2))])
            try #require(build.status == 0, "the reproducer does not build:\n\(build.output)")
            let (status, output) = try CReproducerTests.run(String(path.dropLast(2)), [])
            return (status, output, CReproducerTests.parseTAP(output))
        }

        static func scenario(_ text: String) throws -> Scenario {
            try #require(try ScenarioFormat.parse(text, source: "placement").first)
        }

        @Test(
            "a mapping after a munmap reuses the freed window in C as on the model and the kernel backend: a stale name reads the new mapping"
        )
        func reusedWindow() throws {
            // A at the base; B after A's window; C first fit in A's freed window (8K + guard fit
            // before B), so the stale name A reads C. C's first page keeps its window live after
            // the partial munmap (D goes past B); once C's window is freed, E takes it again.
            let scenario = try Self.scenario(
                """
                scenario c-placement-reuse rules=M5
                anon A len=16K
                anon B len=8K
                write B value=7
                munmap A len=16K -> ok
                read A -> SIGSEGV
                anon C len=8K
                write C value=5
                read A -> value 5
                munmap C offset=4K len=4K -> ok
                read C offset=4K -> SIGSEGV
                read A offset=4K -> SIGSEGV
                read A -> value 5
                anon D len=4K
                write D value=3
                read A -> value 5
                munmap C len=4K -> ok
                anon E len=4K
                write E value=9
                read A -> value 9
                read C -> value 9
                read B -> value 7
                read D -> value 3
                """)
            let (status, output, tap) = try Self.buildAndRun(scenario)
            #expect(!output.contains("SKIP") && !output.contains("cannot reproduce"), "\(output)")
            #expect(status == 0, "\(output)")
            // The old placement (each mapping after the previous one) read SIGSEGV here: A's
            // range stayed unmapped.
            #expect(tap[8] == "value 5" && tap[12] == "value 5" && tap[15] == "value 5", "\(output)")
            #expect(tap[19] == "value 9" && tap[20] == "value 9", "\(output)")
            // The kernel backend, step by step, on the same scenario: every step equals the C's.
            let kernel = try KernelBackend()
            var differences: [String] = []
            for (index, step) in scenario.steps.enumerated() {
                let swift = ScenarioFormat.outcomeText(kernel.perform(step.action))
                let c = tap[index + 1] ?? nil
                if c != swift {
                    differences.append(
                        "step \(index + 1) \(ScenarioFormat.line(for: step.action)): C \(c ?? "none"), kernel backend \(swift)"
                    )
                }
            }
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))\n\(output)")
        }

        @Test(
            "a step the memory budget refused on the model is not run in C: not ok with the reason, the rest not run, exit 2"
        )
        func budgetRefusal() throws {
            let scenario = try Self.scenario(
                """
                scenario c-placement-refused rules=M5
                anon A len=4K
                anon B len=4K
                write A value=1
                """)
            // As the model answers the 4,097th live mapping (MemoryBudget.mappingLimit).
            let refused = Outcome.budgetRefusal(MemoryBudget.mappingLimitRefusal("B"))
            let (status, output, tap) = try Self.buildAndRun(scenario, expected: [.ok, refused, .ok])
            #expect(status == 2, "\(output)")
            #expect(tap[1] == "ok", "\(output)")
            #expect(
                output.contains(
                    "not ok 2 - anon B len=4K # cannot reproduce in C: the model refuses it (the memory budget: "),
                "\(output)")
            #expect(output.contains("ok 3 - write A value=1 -> ok # SKIP not run: step 2"), "\(output)")
        }

        @Test(
            "a mapping whose window would end past 64 TiB is not placed in C (as the kernel backend refuses it): not ok with the reason, exit 2"
        )
        func pastTheMappingArea() throws {
            let scenario = try Self.scenario(
                """
                scenario c-placement-far rules=M5
                anon A len=0x300000000000
                anon B len=4K
                """)
            let (status, output, _) = try Self.buildAndRun(scenario)
            #expect(status == 2, "\(output)")
            #expect(
                output.contains("not ok 1 - ") && output.contains("# cannot reproduce in C: ")
                    && output.contains("ends past 64 TiB"), "\(output)")
        }
    }
}
