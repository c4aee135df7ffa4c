import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A new, empty directory of the test's own under the temporary directory (mkdtemp(3), so no
/// other test or process has it), removed with everything in it when the value is released.
/// Use ``withScratchDirectory(_:_:)`` to tie its lifetime to a closure.
public final class ScratchDirectory: Sendable {
    /// The directory's absolute path.
    public let path: String

    /// Creates `$TMPDIR/gmemkit-PID-LABEL-XXXXXX` (the pid lets a test find its own files among
    /// the process's descriptors).
    public init(_ label: String) throws {
        var template = Array((NSTemporaryDirectory() + "gmemkit-\(getpid())-\(label)-XXXXXX").utf8CString)
        // SAFETY: `template` is a NUL-terminated buffer that mkdtemp rewrites in place (its last
        // six characters), alive for the call; mkdtemp keeps no pointer.
        guard unsafe mkdtemp(&template) != nil else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The path of `name` inside the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// The names in the directory, sorted.
    public func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }

    /// Removes the directory and everything in it now (`defer { scratch.remove() }` also keeps
    /// the value alive to the end of the scope); idempotent.
    public func remove() { try? FileManager.default.removeItem(atPath: path) }

    deinit { remove() }
}

/// The value of `body`, given a new ``ScratchDirectory``, which is removed when `body` returns or throws.
public func withScratchDirectory<T>(_ label: String, _ body: (ScratchDirectory) throws -> T) throws -> T {
    let directory = try ScratchDirectory(label)
    return try withExtendedLifetime(directory) { try body(directory) }
}
