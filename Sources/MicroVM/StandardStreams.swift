import Foundation
import KVM
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The process's standard descriptors for a VMM that prints: made safe at start and written
/// with write(2), so that what a program prints (a report, a guest's console) can never be
/// lost silently or kill the process.
///
/// Call ``prepare()`` first thing in `main`. Afterwards no descriptor the program opens
/// (/dev/kvm included) can become fd 0, 1 or 2, and a write to standard output that fails (a
/// closed pipe: `EPIPE`; a full disk: `ENOSPC`; a standard output closed at start) ends the
/// process with exactly one line on standard error and exit status 1.
public enum StandardStreams {
    /// True when fd 1 was closed when the process started (it now refers to /dev/full).
    private static let outputClosedAtStart = Atomic<Bool>(false)
    /// Set by the first output failure, so that exactly one line reports it.
    private static let failing = Atomic<Bool>(false)

    /// Run first thing in `main`: reopens each of fds 0–2 that is closed (so no descriptor
    /// the program opens, /dev/kvm included, can become standard output): stdin and stderr
    /// on /dev/null, stdout on /dev/full, so that every write to it, ours or stdio's, fails
    /// and is reported as a closed standard output. Ignores SIGPIPE (a closed pipe is the
    /// write's EPIPE, reported, not a silent death), and checks at exit that what went
    /// through stdio (for example a command-line parser's help) was written.
    public static func prepare() {
        for fd in Int32(0)...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let opened =
                // SAFETY: the paths are string literals passed as C strings alive for the call.
                unsafe fd == STDOUT_FILENO
                ? open("/dev/full", O_WRONLY) : open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            if opened >= 0, opened != fd {
                dup2(opened, fd)
                close(opened)
            }
            if fd == STDOUT_FILENO { outputClosedAtStart.store(true, ordering: .sequentiallyConsistent) }
        }
        signal(SIGPIPE, SIG_IGN)
        atexit {
            // fflush(NULL) flushes every stdio stream; only stdout carries anything here.
            if fflush(nil) != 0 { StandardStreams.outputFailed(errno) }
        }
    }

    /// Writes `line` and a newline to standard output, unbuffered (so it stays in order with
    /// a guest's console output and with standard error), or ends the process as
    /// ``writeOutput(_:)`` does.
    public static func printLine(_ line: String = "") {
        writeOutput(Array((line + "\n").utf8))
    }

    /// Prints `value` as stable, pretty JSON (sorted keys, slashes unescaped) on standard
    /// output, as ``printLine(_:)`` does.
    /// - Throws: `EncodingError` when `value` cannot be encoded.
    public static func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        printLine(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Writes `line` and a newline to standard error; a failure is ignored (there is nowhere
    /// left to report it).
    public static func printError(_ line: String) {
        _ = write(Array((line + "\n").utf8), to: STDERR_FILENO)
    }

    /// Writes `bytes` to standard output, or, when that fails, writes one line naming the
    /// errno (or that standard output was closed at start) to standard error and ends the
    /// process with status 1, without running exit handlers (other threads may still be
    /// running a guest).
    public static func writeOutput(_ bytes: [UInt8]) {
        if outputClosedAtStart.load(ordering: .sequentiallyConsistent) { outputFailed(EBADF) }
        let error = write(bytes, to: STDOUT_FILENO)
        if error != 0 { outputFailed(error) }
    }

    /// Writes all of `bytes` to `fd`; 0, or the errno of the failed write(2).
    static func write(_ bytes: [UInt8], to fd: Int32) -> Int32 {
        // SAFETY: the array's storage is valid for the closure, which only reads it.
        unsafe bytes.withUnsafeBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return 0 }
            var offset = 0
            while offset < raw.count {
                // SAFETY: write(2) reads only the `raw.count - offset` bytes left in `raw`.
                let written = unsafe Glibc.write(fd, base + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if written == 0 { return EIO }
                offset += written
            }
            return 0
        }
    }

    /// strerror(3)'s text for `code`.
    private static func errorText(_ code: Int32) -> String {
        // SAFETY: strerror returns a NUL-terminated string valid until the next strerror call
        // on this thread; it is copied into a Swift String at once.
        unsafe String(cString: strerror(code))
    }

    /// Reports that standard output cannot be written, once, and exits 1 without running
    /// exit handlers.
    static func outputFailed(_ error: Int32) -> Never {
        if !failing.exchange(true, ordering: .sequentiallyConsistent) {
            let reason =
                outputClosedAtStart.load(ordering: .sequentiallyConsistent)
                ? "standard output is closed"
                : "cannot write standard output: \(Errno(rawValue: error).symbolicName) (\(errorText(error)))"
            _ = write(Array("gmem: \(reason)\n".utf8), to: STDERR_FILENO)
        }
        _exit(1)
    }

    /// Ends a command that failed: `message` as one line on standard error and, when `json`
    /// (the command was asked for `--json`), also `{"schemaVersion": 1, "error": message,
    /// "exitCode": exitCode}` on standard output, so that a program reading standard output
    /// gets JSON whether the command succeeded or not; then exits with `exitCode`.
    public static func fail(_ message: String, exitCode: Int32, json: Bool) -> Never {
        printError(message)
        if json { try? printJSON(ErrorReport(error: message, exitCode: exitCode)) }
        exit(exitCode)
    }

    /// What `--json` prints for a command that failed before producing its report.
    struct ErrorReport: Encodable {
        var schemaVersion = 1
        let error: String
        let exitCode: Int32
    }
}

/// Passes a guest's console bytes to standard output a line at a time (or every 4 KiB), from
/// any thread, through ``StandardStreams/writeOutput(_:)``: use it as the `console` sink of
/// ``Machine/run(_:control:console:prepare:logger:)`` and call ``flush()`` after the run.
public final class ConsoleLineWriter: Sendable {
    private let line = Mutex<[UInt8]>([])

    /// A writer with nothing buffered.
    public init() {}

    /// Buffers `byte`; writes the line when it is a newline or the buffer holds 4 KiB.
    public func write(_ byte: UInt8) {
        let full: [UInt8]? = line.withLock { buffer in
            buffer.append(byte)
            guard byte == 10 || buffer.count >= 4096 else { return nil }
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer
        }
        if let full { StandardStreams.writeOutput(full) }
    }

    /// Writes what is buffered (a last line without its newline).
    public func flush() {
        let rest = line.withLock { buffer in
            defer { buffer.removeAll() }
            return buffer
        }
        if !rest.isEmpty { StandardStreams.writeOutput(rest) }
    }
}
