import ArgumentParser
import Foundation
import KVM
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Prints `value` as stable, pretty JSON (sorted keys) on standard output.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    emit(String(decoding: data, as: UTF8.self))
}

/// Writes one line to standard output, unbuffered, so it stays in order with the guest's
/// console output and with errors on standard error. A failed write (a closed pipe, a full
/// disk, a standard output closed at start) ends the process: one line on stderr, exit 1.
func emit(_ line: String = "") {
    StandardStreams.writeOutput(Array((line + "\n").utf8))
}

/// Writes one line to standard error (failures are ignored: there is nowhere left to report).
func printError(_ line: String) {
    _ = StandardStreams.write(Array((line + "\n").utf8), to: STDERR_FILENO)
}

/// The process's standard descriptors, made safe at start and written with write(2).
enum StandardStreams {
    /// True when fd 1 was closed when the process started (it now refers to /dev/null).
    private static let outputClosedAtStart = Atomic<Bool>(false)
    /// Set by the first output failure, so that exactly one line reports it.
    private static let failing = Atomic<Bool>(false)

    /// Run first thing in `main`: reopens each of fds 0–2 that is closed (so no descriptor
    /// the program opens, /dev/kvm included, can become standard output): stdin and stderr
    /// on /dev/null, stdout on /dev/full, so that every write to it, ours or stdio's, fails
    /// and is reported as a closed standard output. Ignores SIGPIPE (a closed pipe is the
    /// write's EPIPE, reported, not a silent death), and checks at exit that what went
    /// through stdio (ArgumentParser's help and usage) was written.
    static func prepare() {
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

    /// Writes `bytes` to standard output or ends the process with one line on stderr.
    static func writeOutput(_ bytes: [UInt8]) {
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
    /// exit handlers (other threads may still be running a guest).
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
}

/// A failure the CLI reports as one readable line on stderr and a non-zero exit: commands
/// throw it from `run()`, and `GmemMain` prints it and exits with its code.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    let exitCode: Int32
    init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }
    var description: String { message }
}

/// Prints each of `lines` on stderr after `command: ` and exits 1 (through `ExitCode`) unless `succeeded`.
func failUnless(_ succeeded: Bool, _ lines: [String], command: String) throws {
    guard !succeeded else { return }
    for (index, line) in lines.enumerated() {
        printError(index == 0 || !line.hasPrefix(" ") ? "\(command): \(line)" : line)
    }
    throw ExitCode(1)
}

/// Opens /dev/kvm or fails with the fix in one line.
func openKVM() throws -> KVMSystem {
    do {
        return try KVMSystem()
    } catch {
        throw CommandFailure("gmem: " + KVMHost.describeOpenFailure(error.errno, path: "/dev/kvm"))
    }
}

/// Passes guest console bytes to standard output a line at a time, from any thread.
final class ConsoleWriter: Sendable {
    private let line = Mutex<[UInt8]>([])

    func write(_ byte: UInt8) {
        let full: [UInt8]? = line.withLock { buffer in
            buffer.append(byte)
            guard byte == 10 || buffer.count >= 4096 else { return nil }
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer
        }
        if let full { emit(full) }
    }

    func flush() {
        let rest = line.withLock { buffer in
            defer { buffer.removeAll() }
            return buffer
        }
        if !rest.isEmpty { emit(rest) }
    }

    private func emit(_ bytes: [UInt8]) {
        StandardStreams.writeOutput(bytes)
    }
}
