import Foundation
import GmemModel
import TestSupport
import Testing

@testable import GmemConformance

/// The C reproducers of the whole built-in catalogue: each compiles with `cc -Wall -Werror`,
/// and where /dev/kvm opens, each runs and every step's outcome equals the kernel backend's
/// (two independent implementations of the kernel side: Swift through KVM, and plain C).
@Suite("C reproducers", .serialized, .descriptorExclusive)
struct CReproducerTests {
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
            if line.contains(" # SKIP ") || line.contains(" # cannot reproduce in C: ") {
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
                Set(scenario.steps.compactMap(\.action.binds)).count < CReproducer.combinedTableSize, "\(scenario.name)"
            )
            let source = CReproducer.source(for: scenario, runner: runner, command: "swift test")
            let url = directory.appending(path: CReproducer.fileName(for: scenario))
            try source.write(to: url, atomically: false, encoding: .utf8)
            paths.append(url.path)
        }
        let bySize = Catalogue.scenarios.indices.sorted {
            Catalogue.scenarios[$0].steps.count < Catalogue.scenarios[$1].steps.count
        }
        for index in Set([bySize.first!, bySize.last!]) {
            let alone = try run(compiler, ["-Wall", "-Werror", paths[index], "-o", String(paths[index].dropLast(2))])
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
        "every catalogue scenario's C builds with cc -Wall -Werror (run against the kernel where /dev/kvm can be used)",
        .enabled(
            if: !KVMAvailability.isAvailable,
            "with /dev/kvm, CReproducerKernelTests builds the reproducers and runs them against the kernel backend"))
    func catalogueBuilds() throws {
        let built = try Self.buildCatalogue(runner: ConformanceRunner(selection: .model, capabilities: .referenceHost))
        defer { try? FileManager.default.removeItem(at: built.directory) }
        // Without /dev/kvm every reproducer skips, saying why, and exits 0.
        let (status, output) = try Self.run(built.program, ["0"])
        #expect(status == 0 && output.hasPrefix("1..0 # SKIP cannot open /dev/kvm"), "\(output)")
    }

    @Test("a reproducer inlines its UAPI, names its command, and prints a failing step with what it got")
    func shape() throws {
        let scenario = try #require(
            try ScenarioFormat.parse(
                """
                scenario shape rules=B6 profile=next
                vm A
                gmem F A size=32K
                region A slot=0 gpa=0 size=16K file=F -> ok
                region A slot=1 gpa=0x100000 size=16K file=F offset=12K -> EEXIST
                """, source: "test"
            ).first)
        let runner = ConformanceRunner(selection: .model, capabilities: .referenceHost)
        let expected = CReproducer.expectedOutcomes(of: scenario, runner: runner, askKernel: false)
        // The scenario's own profile decides: next gives EEXIST for the overlapping file range.
        #expect(expected.last == .errno(17))
        let source = CReproducer.source(
            for: scenario, runner: runner, command: "gmem check --emit-c out x.gmem", askKernel: false)
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
