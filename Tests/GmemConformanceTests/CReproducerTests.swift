import Foundation
@testable import GmemConformance
import GmemModel
import Testing

/// The C reproducers of the whole built-in catalogue: each compiles with `cc -Wall -Werror`,
/// and where /dev/kvm opens, each runs and every step's outcome equals the kernel backend's
/// (two independent implementations of the kernel side: Swift through KVM, and plain C).
@Suite("C reproducers", .serialized)
struct CReproducerTests {
    static let kvmOpens = access("/dev/kvm", R_OK | W_OK) == 0
    static let compiler: String? = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].first { FileManager.default.isExecutableFile(atPath: $0) }

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
            if line.contains(" # SKIP ") { steps[number] = .some(nil); continue }
            if let got = line.range(of: " # got ") {
                steps[number] = String(line[got.upperBound...])
            } else if let arrow = line.range(of: " -> ", options: .backwards) {
                steps[number] = String(line[arrow.upperBound...])
            }
        }
        return steps
    }

    @Test("every catalogue scenario's C compiles with -Wall -Werror; where /dev/kvm opens, every step equals the kernel backend's")
    func catalogue() throws {
        let compiler = try #require(Self.compiler, "no C compiler (cc, gcc or clang) on this machine")
        let directory = FileManager.default.temporaryDirectory.appending(path: "gmem-repro-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var runner = ConformanceRunner(selection: .model, capabilities: ConformanceRunner.hostCapabilities() ?? .referenceHost)
        runner.profile = KernelProfile.host().profile
        var files: [(Scenario, URL)] = []
        for scenario in Catalogue.scenarios {
            let source = CReproducer.source(for: scenario, runner: runner, command: "swift test")
            #expect(!source.contains("#include <linux/"), "\(scenario.name) includes a kernel header")
            let url = directory.appending(path: CReproducer.fileName(for: scenario))
            try source.write(to: url, atomically: false, encoding: .utf8)
            files.append((scenario, url))
        }
        // Two files on their own (the smallest and the largest), as a user builds them.
        let paths = files.map(\.1.path)
        let bySize = files.sorted { $0.0.steps.count < $1.0.steps.count }.map(\.1)
        for url in Set([bySize.first!, bySize.last!]) {
            let alone = try Self.run(compiler, ["-Wall", "-Werror", url.path, "-o", url.deletingPathExtension().path])
            #expect(alone.status == 0, "\(url.lastPathComponent) does not build alone:\n\(alone.output)")
        }
        // All of them as one program, compiled and linked once (the cheap way to build every
        // file with -Wall -Werror): the files' guards share one runtime, each main becomes scenario_N.
        var combined = "#define GM_OBJECTS 256\n#define GM_MAPPINGS 256\n"
        for (index, path) in paths.enumerated() {
            combined += "#define main scenario_\(index)\n#include \"\(path)\"\n#undef main\n"
        }
        combined += "int main(int argc, char **argv) {\n    switch (argc > 1 ? atoi(argv[1]) : -1) {\n"
        for index in paths.indices { combined += "    case \(index): return scenario_\(index)();\n" }
        combined += "    default: return 2;\n    }\n}\n"
        let program = directory.appending(path: "all").path
        try combined.write(toFile: program + ".c", atomically: false, encoding: .utf8)
        let build = try Self.run(compiler, ["-Wall", "-Werror", "-O0", program + ".c", "-o", program])
        try #require(build.status == 0, "the combined program does not build:\n\(build.output)")
        for (scenario, _) in files {
            #expect(Set(scenario.steps.compactMap(\.action.binds)).count < 256, "\(scenario.name) has more names than the combined tables")
        }
        guard Self.kvmOpens else { return }
        var ran = 0
        for (index, (scenario, _)) in files.enumerated() {
            let (status, output) = try Self.run(program, [String(index)])
            let tap = Self.parseTAP(output)
            if output.hasPrefix("1..0 # SKIP") {
                // Kernel-skipped by gmem check too: a requirement or a pinned profile this host lacks.
                #expect(status == 0 && (!scenario.requires.isEmpty || scenario.profile != nil), "\(scenario.name): \(output)")
                continue
            }
            // The kernel backend, step by step, on the same scenario.
            let kernel = try KernelBackend()
            var differences: [String] = []
            for (index, step) in scenario.steps.enumerated() {
                let swift = kernel.perform(step.action)
                guard let got = tap[index + 1] else { differences.append("step \(index + 1): no TAP line"); continue }
                guard let c = got else { continue }
                if case .unsupported = swift { continue }
                let expected = ScenarioFormat.outcomeText(swift)
                if c != expected { differences.append("step \(index + 1) \(ScenarioFormat.line(for: step.action)): C \(c), kernel backend \(expected)") }
            }
            #expect(differences.isEmpty, "\(scenario.name):\n\(differences.joined(separator: "\n"))\n\(output)")
            // The catalogue passes on this host, so every reproducer meets the model's outcomes.
            #expect(status == 0, "\(scenario.name) exited \(status):\n\(output)")
            ran += 1
        }
        #expect(ran > 50, "only \(ran) reproducers ran")
    }

    @Test("a reproducer inlines its UAPI, names its command, and prints a failing step with what it got")
    func shape() throws {
        let scenario = try #require(try ScenarioFormat.parse("""
            scenario shape rules=B6 profile=next
            vm A
            gmem F A size=32K
            region A slot=0 gpa=0 size=16K file=F -> ok
            region A slot=1 gpa=0x100000 size=16K file=F offset=12K -> EEXIST
            """, source: "test").first)
        let runner = ConformanceRunner(selection: .model, capabilities: .referenceHost)
        let expected = CReproducer.expectedOutcomes(of: scenario, runner: runner)
        // The scenario's own profile decides: next gives EEXIST for the overlapping file range.
        #expect(expected.last == .errno(17))
        let source = CReproducer.source(for: scenario, runner: runner, command: "gmem check --emit-c out x.gmem")
        #expect(source.contains("Written by: gmem check --emit-c out x.gmem"))
        #expect(source.contains("kernel profile next"))
        #expect(source.contains("gm_start(NULL, \"next\", 4)"))
        #expect(source.contains("static struct gm_outcome shape_step_4(void)"))
        #expect(source.contains("KVM_SET_USER_MEMORY_REGION2, &region"))
        #expect(source.contains("{ .kind = GM_ERRNO, .a = 17 } /* EEXIST */"))
        let includes = source.split(separator: "\n").filter { $0.hasPrefix("#include") }
        #expect(!includes.isEmpty && includes.allSatisfy { !$0.contains("linux/") && !$0.contains("\"") })
        #expect(CReproducer.fileName(for: scenario) == "shape.c")
    }

    @Test("C literals and comments survive any text")
    func literals() {
        #expect(CReproducer.literal("a\"b\\c??=d\n") == #""a\"b\\c\?\?=d\012""#)
        #expect(CReproducer.comment("x */ y /* z \\ ??/") == "x * / y / * z / __/")
        #expect(CReproducer.u64(5) == "5ull" && CReproducer.u64(0x1000) == "0x1000ull")
        #expect(CReproducer.i64(-4096) == "(-0x1000ll)" && CReproducer.i64(.min) == "(-0x7fffffffffffffffll - 1)")
    }
}
