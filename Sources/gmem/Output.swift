import Foundation
import KVM

/// Prints `value` as stable, pretty JSON (sorted keys) on standard output.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    print(String(decoding: data, as: UTF8.self))
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
