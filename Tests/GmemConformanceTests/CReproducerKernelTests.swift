import Foundation
@_spi(Unchecked) import GmemConformance
import GmemModel
import TestSupport
import Testing

extension KernelTests {
    /// The C reproducers of the whole built-in catalogue against this kernel: each builds with
    /// `cc -Wall -Werror`, runs, and every step's outcome equals the kernel backend's (two
    /// independent implementations of the kernel side, Swift through KVM and plain C). Nested in
    /// KernelTests: the kernel backend places mappings where the model does, so only one may
    /// live in the process at a time. The helpers (building and running the catalogue, reading
    /// TAP) are CReproducerTests' own, shared with the build-only test used without /dev/kvm.
    @Suite("C reproducers against the kernel backend")
    struct CReproducerKernelTests {
        @Test(
            "every catalogue scenario's C builds with cc -Wall -Werror, runs, and every step equals the kernel backend's"
        )
        func catalogue() throws {
            var runner = ConformanceRunner(
                selection: .model, capabilities: ConformanceRunner.hostCapabilities() ?? .referenceHost)
            runner.profile = KernelProfile.host().profile
            let built = try CReproducerTests.buildCatalogue(runner: runner)
            defer { try? FileManager.default.removeItem(at: built.directory) }
            var ran = 0
            for (index, scenario) in built.scenarios.enumerated() {
                let (status, output) = try CReproducerTests.run(built.program, [String(index)])
                let tap = CReproducerTests.parseTAP(output)
                if output.hasPrefix("1..0 # SKIP") {
                    // Kernel-skipped by gmem check too: a requirement or a pinned profile this host lacks.
                    #expect(
                        status == 0 && (!scenario.requires.isEmpty || scenario.profile != nil),
                        "\(scenario.name): \(output)")
                    continue
                }
                // The kernel backend, step by step, on the same scenario.
                let kernel = try KernelBackend()
                var differences: [String] = []
                for (index, step) in scenario.steps.enumerated() {
                    let swift = kernel.perform(step.action)
                    guard let got = tap[index + 1] else {
                        differences.append("step \(index + 1): no TAP line")
                        continue
                    }
                    guard let c = got else { continue }
                    if case .unsupported = swift { continue }
                    let expected = ScenarioFormat.outcomeText(swift)
                    if c != expected {
                        differences.append(
                            "step \(index + 1) \(ScenarioFormat.line(for: step.action)): C \(c), kernel backend \(expected)"
                        )
                    }
                }
                #expect(differences.isEmpty, "\(scenario.name):\n\(differences.joined(separator: "\n"))\n\(output)")
                // The catalogue passes on this host, so every reproducer meets the model's outcomes.
                #expect(status == 0, "\(scenario.name) exited \(status):\n\(output)")
                ran += 1
            }
            #expect(ran > 50, "only \(ran) reproducers ran")
        }

    }
}
