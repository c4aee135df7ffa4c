import Foundation
@_spi(Unchecked) import GmemConformance
import GmemModel
import Testing

extension KernelTests {
    /// The C reproducers of the whole built-in catalogue against this kernel: each builds with
    /// `cc -Wall -Werror`, runs, and every step's outcome equals the kernel backend's (two
    /// independent implementations of the kernel side, Swift through KVM and plain C). Nested in
    /// KernelTests: the kernel backend places mappings where the model does, so only one may
    /// live in the process at a time.
    @Suite("C reproducers against the kernel backend")
    struct CReproducerKernelTests {
        static let kvmOpens = access("/dev/kvm", R_OK | W_OK) == 0
        static let compiler: String? = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }

        /// Runs `arguments` and returns its exit status and standard output.
        static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(filePath: executable)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }

        /// One TAP line of a reproducer: the step number, and the outcome it got (nil: skipped).
        static func parseTAP(_ output: String) -> [Int: String?] {
            var steps: [Int: String?] = [:]
            for line in output.split(separator: "\n") {
                let passed = line.hasPrefix("ok ")
                guard passed || line.hasPrefix("not ok ") else { continue }
                let rest = line.dropFirst(passed ? 3 : 7)
                guard let space = rest.firstIndex(of: " "), let number = Int(rest[..<space]) else { continue }
                if line.contains(" # SKIP ") {
                    steps[number] = .some(nil)
                    continue
                }
                if let got = line.range(of: " # got ") {
                    steps[number] = String(line[got.upperBound...])
                } else if let arrow = line.range(of: " -> ", options: .backwards) {
                    steps[number] = String(line[arrow.upperBound...])
                }
            }
            return steps
        }

        /// Writes the catalogue's reproducers into a fresh directory, builds them as one program
        /// with `cc -Wall -Werror` (and the smallest and the largest alone, as a user builds
        /// them), and returns the scenarios, the program and the directory (the caller removes it).
        static func buildCatalogue(runner: ConformanceRunner) throws -> (
            scenarios: [Scenario], program: String, directory: URL
        ) {
            let compiler = try #require(compiler, "no C compiler (cc, gcc or clang) on this machine")
            let directory = FileManager.default.temporaryDirectory.appending(
                path: "gmem-repro-\(getpid())-\(UInt32.random(in: 0 ... .max))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            var paths: [String] = []
            for scenario in Catalogue.scenarios {
                #expect(
                    Set(scenario.steps.compactMap(\.action.binds)).count < CReproducer.combinedTableSize,
                    "\(scenario.name)")
                let source = CReproducer.source(for: scenario, runner: runner, command: "swift test")
                let url = directory.appending(path: CReproducer.fileName(for: scenario))
                try source.write(to: url, atomically: false, encoding: .utf8)
                paths.append(url.path)
            }
            let bySize = Catalogue.scenarios.indices.sorted {
                Catalogue.scenarios[$0].steps.count < Catalogue.scenarios[$1].steps.count
            }
            for index in Set([bySize.first!, bySize.last!]) {
                let alone = try run(
                    compiler, ["-Wall", "-Werror", paths[index], "-o", String(paths[index].dropLast(2))])
                #expect(alone.status == 0, "\(paths[index]) does not build alone:\n\(alone.output)")
            }
            let program = directory.appending(path: "all").path
            try CReproducer.combinedProgram(including: paths).write(
                toFile: program + ".c", atomically: false, encoding: .utf8)
            let build = try run(compiler, ["-Wall", "-Werror", "-O0", program + ".c", "-o", program])
            try #require(build.status == 0, "the catalogue's reproducers do not build:\n\(build.output)")
            return (Catalogue.scenarios, program, directory)
        }

        @Test(
            "every catalogue scenario's C builds with cc -Wall -Werror, runs, and every step equals the kernel backend's"
        )
        func catalogue() throws {
            var runner = ConformanceRunner(
                selection: .model, capabilities: ConformanceRunner.hostCapabilities() ?? .referenceHost)
            runner.profile = KernelProfile.host().profile
            let built = try Self.buildCatalogue(runner: runner)
            defer { try? FileManager.default.removeItem(at: built.directory) }
            var ran = 0
            for (index, scenario) in built.scenarios.enumerated() {
                let (status, output) = try Self.run(built.program, [String(index)])
                let tap = Self.parseTAP(output)
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
