import Foundation
import KVM
import Synchronization

/// Prints `value` as stable, pretty JSON (sorted keys) on standard output.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    emit(String(decoding: data, as: UTF8.self))
}

/// Writes one line to standard output, unbuffered, so it stays in order with the guest's
/// console output and with errors on standard error.
func emit(_ line: String = "") {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Writes one line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// A failure the CLI reports as one readable line on stderr and a non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    let exitCode: Int32
    init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }
    var description: String { message }
}

/// Opens /dev/kvm or fails with the fix in one line.
func openKVM() throws -> KVMSystem {
    do {
        return try KVMSystem()
    } catch {
        throw CommandFailure("gmem: " + KVMHost.describeOpenFailure(error.errno, path: "/dev/kvm"))
    }
}

/// Turns any error into the CLI's one-line form and exits non-zero.
func fail(_ error: any Error) -> Never {
    switch error {
    case let failure as CommandFailure:
        printError(failure.message)
        exit(failure.exitCode)
    case let error as KVMError:
        printError("gmem: \(error)")
        exit(1)
    default:
        printError("gmem: \(error)")
        exit(1)
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
        // Sound because: write(2) reads only the `raw.count - offset` bytes left in the buffer.
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(STDOUT_FILENO, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
