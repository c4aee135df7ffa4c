import Foundation
import TestSupport
import Testing

@testable import MicroVM

#if canImport(Glibc)
import Glibc
#endif

/// Paths a user may name for a snapshot that are not regular files: reading never blocks, writing
/// never replaces them (rename(2) replaces whatever the name points at, device nodes included).
@Suite("Snapshot paths that are not regular files are refused, never waited on or replaced")
struct SnapshotPathTests {
    /// A FIFO, a symlink to a regular file and a directory, in a fresh temporary directory.
    static func specialPaths() throws -> (
        scratch: ScratchDirectory, directory: String, fifo: String, link: String, target: String
    ) {
        let scratch = try ScratchDirectory("paths")
        let directory = scratch.path
        let (fifo, link, target) = (scratch.file("fifo"), scratch.file("link"), scratch.file("target"))
        #expect(makeFIFO(fifo))
        #expect(FileManager.default.createFile(atPath: target, contents: Data("keep".utf8)))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        return (scratch, directory, fifo, link, target)
    }

    @Test("opening a FIFO, a directory or /dev/null as a snapshot returns at once with 'not a regular file'")
    func readingSpecialFiles() throws {
        let paths = try Self.specialPaths()
        defer { paths.scratch.remove() }
        for path in [paths.fifo, paths.directory, "/dev/null"] {
            // A blocking open of the FIFO would wait for a writer forever; this must return.
            #expect(throws: SnapshotError.self, "\(path)") { _ = try Snapshot(path: path) }
            do { _ = try Snapshot(path: path) } catch {
                #expect(
                    error.description.contains("not a regular file") || error.description.contains("Is a directory"),
                    "\(path): \(error)")
            }
        }
    }

    @Test("writing a snapshot over a FIFO, a symlink or a directory is refused and leaves it as it was")
    func writingOverSpecialFiles() throws {
        let paths = try Self.specialPaths()
        defer { paths.scratch.remove() }
        for path in [paths.fifo, paths.link, paths.directory] {
            let kind = linkStatus(path)
            #expect(kind != nil)
            do {
                _ = try AtomicFile(path: path)
                Issue.record("\(path): a snapshot file was opened over a non-regular file")
            } catch {
                #expect(error.description.contains("not a regular file"), "\(path): \(error)")
            }
            let after = linkStatus(path)
            #expect(
                after != nil && after.map { $0.st_mode & S_IFMT } == kind.map { $0.st_mode & S_IFMT },
                "\(path) unchanged")
        }
        #expect((try? String(contentsOfFile: paths.target, encoding: .utf8)) == "keep")
        #expect(
            (try FileManager.default.contentsOfDirectory(atPath: paths.directory)).sorted() == [
                "fifo", "link", "target",
            ], "no temporary left")
    }

    @Test("a regular file, existing or not, is still written through a temporary and renamed")
    func regularFileStillWritten() throws {
        let paths = try Self.specialPaths()
        defer { paths.scratch.remove() }
        for path in [paths.target, paths.directory + "/new.gsnap"] {
            let file = try AtomicFile(path: path)
            var position: UInt64 = 0
            try file.write(Array("data".utf8), at: &position)
            try file.commit()
            #expect((try? String(contentsOfFile: path, encoding: .utf8)) == "data")
        }
    }
}
