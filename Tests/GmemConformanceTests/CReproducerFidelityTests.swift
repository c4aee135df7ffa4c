import Foundation
import GmemModel
import TestSupport
import Testing

@testable import GmemConformance

/// `--emit-c` writes its files safely: never through a symbolic link at DIR/NAME.c.
@Suite("C reproducer files")
struct CReproducerFileTests {
    @Test(
        "a symbolic link at DIR/NAME.c is refused with one line and its target left alone; a regular file is replaced")
    func symlinkRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appending(
            path: "gmem-repro-link-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let scenario = try #require(try ScenarioFormat.parse("scenario linked\nkvm K\n", source: "t").first)
        let runner = ConformanceRunner(selection: .model, capabilities: .referenceHost)
        let victim = directory.appending(path: "victim.txt").path
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
        let link = directory.appending(path: "linked.c").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: victim)
        #expect {
            _ = try CReproducer.write([scenario], runner: runner, into: directory.path, command: "test")
        } throws: { error in
            "\(error)" == "\(link) exists and is a symbolic link: not writing through it"
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == victim)
        // A regular file at the name is replaced, and no temporary file is left behind.
        try FileManager.default.removeItem(atPath: link)
        try "old\n".write(toFile: link, atomically: false, encoding: .utf8)
        let paths = try CReproducer.write([scenario], runner: runner, into: directory.path, command: "test")
        #expect(paths == [link])
        #expect(try String(contentsOfFile: link, encoding: .utf8).contains("int main(void)"))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["linked.c", "victim.txt"])
    }
}

extension KernelTests {
    /// Reproducers that must answer as the kernel backend does, and never pass by skipping.
    @Suite("C reproducer fidelity")
    struct CReproducerFidelityTests {
        /// Builds `text`'s first scenario as a C reproducer and runs it: exit status and TAP.
        static func buildAndRun(_ text: String) throws -> (status: Int32, output: String, tap: [Int: String?]) {
            let compiler = try #require(CReproducerTests.compiler, "no C compiler (cc, gcc or clang) on this machine")
            let scenario = try #require(try ScenarioFormat.parse(text, source: "fidelity").first)
            var runner = ConformanceRunner(
                selection: .model, capabilities: ConformanceRunner.hostCapabilities() ?? .referenceHost)
            runner.profile = KernelProfile.host().profile
            let directory = FileManager.default.temporaryDirectory.appending(
                path: "gmem-repro-fidelity-\(getpid())-\(UInt32.random(in: 0 ... .max))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = try CReproducer.write([scenario], runner: runner, into: directory.path, command: "test")[0]
            let build = try CReproducerTests.run(compiler, ["-Wall", "-Werror", path, "-o", String(path.dropLast(2))])
            try #require(build.status == 0, "the reproducer does not build:\n\(build.output)")
            let (status, output) = try CReproducerTests.run(String(path.dropLast(2)), [])
            return (status, output, CReproducerTests.parseTAP(output))
        }

        @Test("guest through /dev/kvm, fd -1 and a closed-range fd: the C answers KVM_RUN's errno, as the backend")
        func guestOnNonVM() throws {
            let text = """
                scenario c-guest-nonvm
                kvm K
                guest K gpa=0 read -> EINVAL
                raw N fd=-1
                guest N gpa=0 read -> EBADF
                memfd M size=4K
                guest M gpa=0 read -> ENOTTY
                """
            let kernel = try KernelBackend()
            let scenario = try #require(try ScenarioFormat.parse(text, source: "t").first)
            let backend = scenario.steps.map { kernel.perform($0.action) }
            let run = try Self.buildAndRun(text)
            #expect(run.status == 0, "\(run.output)")
            for (index, outcome) in backend.enumerated() {
                #expect(run.tap[index + 1] == ScenarioFormat.outcomeText(outcome), "step \(index + 1): \(run.output)")
            }
        }

        @Test("a pin's pipe is the program's own under limit fds=0, as the backend's: every later step runs")
        func pinUnderDescriptorLimit() throws {
            let run = try Self.buildAndRun(
                """
                scenario c-pin-limit
                memfd M size=16K
                mmap P M len=16K
                limit fds=0
                pin P len=4K -> ok
                dup D M -> EMFILE
                unpin P
                limit fds=8
                dup D M -> ok
                """)
            #expect(run.status == 0, "\(run.output)")
            #expect(!run.output.contains("SKIP"), "\(run.output)")
            #expect(run.tap[4] == "ok" && run.tap[5] == "EMFILE" && run.tap[8] == "ok", "\(run.output)")
        }

        @Test("a step the C cannot reproduce is a failure with its reason, the rest not run, and the program exits 2")
        func unreproducibleStepFails() throws {
            let run = try Self.buildAndRun(
                """
                scenario c-unreproducible
                memfd M size=4K
                mmap P M len=4K
                pin P offset=8K len=4K
                stat M
                """)
            #expect(run.status == 2, "\(run.output)")
            #expect(run.output.contains("not ok 3 - pin P offset=8K len=4K"), "\(run.output)")
            #expect(run.output.contains("# cannot reproduce in C: pin outside the mapping"), "\(run.output)")
            #expect(run.output.contains("# SKIP not run: step 3 could not be reproduced in C"), "\(run.output)")
            #expect(
                run.output.contains("# step 3 could not be reproduced in C; 1 later step(s) not run"), "\(run.output)")
        }
    }
}
