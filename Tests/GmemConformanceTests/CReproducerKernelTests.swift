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
            var incomplete: [String] = []
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
                // After a `limit fds=`, this process's fd count is shared with suites running in
                // parallel, so the in-process backend's EMFILE point can move; the reproducer's
                // own exit status (below) still checks each such step against the model.
                var limited = false
                for (index, step) in scenario.steps.enumerated() {
                    if case .limitDescriptors = step.action { limited = true }
                    let swift = kernel.perform(step.action)
                    if limited { continue }
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
                // The catalogue passes on this host, so every reproducer meets the model's outcomes,
                // or (exit 2) names the step it cannot reproduce in C, never passing by skipping it.
                if status == 2, output.contains(" # cannot reproduce in C: "),
                    output.contains("could not be reproduced in C;")
                {
                    incomplete.append(scenario.name)
                } else {
                    #expect(status == 0, "\(scenario.name) exited \(status):\n\(output)")
                }
                ran += 1
            }
            #expect(ran > 50, "only \(ran) reproducers ran")
            // Four catalogue scenarios have a step beyond the C runtime (an access past a mapping's
            // end, madvise outside a mapping, a guest address above 4 GiB, a vCPU id the probe
            // reserves): more would mean the C runtime lost ground.
            #expect(incomplete.count <= 4, "not reproducible in C: \(incomplete)")
        }

        @Test(
            "a reproducer sets RLIMIT_NOFILE for limit fds= as the kernel backend does: EMFILE at the same step, the probe's vCPU exempt"
        )
        func descriptorLimit() throws {
            let compiler = try #require(CReproducerTests.compiler, "no C compiler (cc, gcc or clang) on this machine")
            let scenario = try #require(
                try ScenarioFormat.parse(
                    """
                    scenario c-limit-fds rules=C1
                    vm A
                    gmem F A size=16K flags=mmap|init_shared
                    region A slot=0 gpa=0 size=16K file=F
                    limit fds=3
                    dup G F -> ok
                    guest A gpa=0 write=5 -> written
                    dup H F -> EMFILE
                    vcpu C A id=0 -> EMFILE
                    close G
                    vcpu C A id=0 -> ok
                    guest C gpa=0 read -> value 5
                    guest A gpa=4K read -> value 0
                    limit fds=1
                    kvm K -> EMFILE
                    """, source: "limit"
                ).first)
            var runner = ConformanceRunner(
                selection: .model, capabilities: ConformanceRunner.hostCapabilities() ?? .referenceHost)
            runner.profile = KernelProfile.host().profile
            let directory = FileManager.default.temporaryDirectory.appending(
                path: "gmem-repro-limit-\(getpid())-\(UInt32.random(in: 0 ... .max))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appending(path: CReproducer.fileName(for: scenario)).path
            try CReproducer.source(for: scenario, runner: runner, command: "swift test")
                .write(toFile: path, atomically: false, encoding: .utf8)
            let build = try CReproducerTests.run(compiler, ["-Wall", "-Werror", path, "-o", String(path.dropLast(2))])
            try #require(build.status == 0, "the reproducer does not build:\n\(build.output)")
            let (status, output) = try CReproducerTests.run(String(path.dropLast(2)), [])
            #expect(!output.contains("SKIP"), "\(output)")
            #expect(status == 0, "\(output)")
            let tap = CReproducerTests.parseTAP(output)
            #expect(tap[7] == "EMFILE" && tap[8] == "EMFILE" && tap[14] == "EMFILE", "\(output)")
            #expect(tap[6] == "written" && tap[11] == "value 5", "\(output)")
        }

    }
}
