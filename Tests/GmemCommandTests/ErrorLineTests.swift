import Foundation
import TestSupport
import Testing

/// The one line `gmem` prints for an error keeps the parser's words: quoted words are cut only
/// when one of them is long, never the text between two of them.
@Suite(
    "gmem: the error line keeps every quoted word", .serialized, .descriptorExclusive,
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: gmemBinary), "the gmem binary is not built next to the tests"))
struct ErrorLineTests {
    /// Runs `gmem check --backend model` on a scenario file holding `text`; its stderr.
    func checkError(_ text: String) throws -> ChildResult {
        let path = NSTemporaryDirectory() + "gmem-error-line-\(UInt64.random(in: 0...UInt64.max)).gmem"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try runGmem(["check", "--backend", "model", path], output: .file("/dev/null"))
    }

    @Test(
        "a nearest-spelling hint reaches the user whole: the list of keys and 'did you mean' are not cut",
        arguments: [
            ("vm A\ngmem F A size=4K flag=mmap -> ok\n", "did you mean 'flags'?"),
            ("vm A\ngmem F A size=4K -> EINVL\n", "did you mean 'EINVAL'?"),
            ("scenario s rules=ZZ9\nvm A\n", "did you mean"),
        ])
    func hints(scenario: String, hint: String) throws {
        let result = try checkError(scenario)
        #expect(result.signal == 0 && result.status == 1, "exit \(result.status): \(result.standardError)")
        #expect(result.standardError.split(separator: "\n").count == 1, "stderr: \(result.standardError)")
        #expect(result.standardError.contains(hint), "stderr: \(result.standardError)")
        #expect(!result.standardError.contains("…"), "a short quoted word was cut: \(result.standardError)")
    }

    @Test("a long word is echoed as its first 32 characters and …, with the line and column kept")
    func longValue() throws {
        let digits = String(repeating: "7", count: 4000)
        let result = try checkError("vm A\ngmem F A size=\(digits) -> ok\n")
        #expect(result.signal == 0 && result.status == 1, "exit \(result.status): \(result.standardError)")
        // The word as written (`size=777…`), cut at 32 characters.
        #expect(
            result.standardError.contains("size=" + String(repeating: "7", count: 27) + "…"), "\(result.standardError)")
        #expect(!result.standardError.contains(String(repeating: "7", count: 33)), "\(result.standardError)")
        #expect(result.standardError.count < 400, "stderr: \(result.standardError)")
        #expect(result.standardError.contains(":2:"), "no line and column: \(result.standardError)")
    }

    @Test("--random refuses what it would ignore: FILEs, --only, --verbose (usage errors, exit 64)")
    func randomRefusesIgnoredOptions() throws {
        for arguments in [
            ["check", "--random", "5", "--only", "x"], ["check", "--random", "1", "--verbose"],
            ["check", "--random", "5", "Scenarios/cross-vm-attack.gmem"],
        ] {
            let result = try runGmem(arguments, output: .file("/dev/null"))
            #expect(result.signal == 0 && result.status == 64, "\(arguments): exit \(result.status)")
            #expect(result.standardError.split(separator: "\n").count == 1, "\(arguments): \(result.standardError)")
            #expect(result.standardError.contains("--random"), "\(arguments): \(result.standardError)")
        }
    }

    @Test("FILE arguments: an empty one, a symlink loop, the same file twice, one name in two files")
    func fileArguments() throws {
        try withScratchDirectory("error-line") { directory in
            let loop = directory.file("loop.gmem")
            try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
            let a = directory.file("a.gmem")
            let b = directory.file("b.gmem")
            try "scenario same\nvm A\n".write(toFile: a, atomically: false, encoding: .utf8)
            try "scenario same\nvm B\n".write(toFile: b, atomically: false, encoding: .utf8)
            for (files, text) in [
                ([""], "an empty FILE argument"), ([loop], "ELOOP"), ([a, a], "\(a) is given twice"),
                ([a, b], "scenario 'same' is in both \(a) and \(b)"),
            ] {
                let result = try runGmem(["check", "--backend", "model"] + files, output: .file("/dev/null"))
                #expect(result.signal == 0 && result.status == 1, "\(files): exit \(result.status)")
                #expect(result.standardError.split(separator: "\n").count == 1, "\(files): \(result.standardError)")
                #expect(result.standardError.contains(text), "\(files): \(result.standardError)")
            }
        }
    }
}
