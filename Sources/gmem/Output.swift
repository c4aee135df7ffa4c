import ArgumentParser
import KVM
import MicroVM

/// Prints `value` as stable, pretty JSON on standard output (``StandardStreams/printJSON(_:)``).
func printJSON(_ value: some Encodable) throws { try StandardStreams.printJSON(value) }

/// Writes one line to standard output; a failed write ends the process with one line on
/// stderr and exit 1 (``StandardStreams/printLine(_:)``).
func emit(_ line: String = "") { StandardStreams.printLine(line) }

/// Writes one line to standard error.
func printError(_ line: String) { StandardStreams.printError(line) }

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
        throw CommandFailure("gmem: " + (error.hint ?? KVMHost.describeOpenFailure(error.errno, path: "/dev/kvm")))
    }
}

extension KVMError {
    /// True for a failure to open /dev/kvm, or of the `KVM_GET_API_VERSION` check that opening
    /// makes (a node that is not KVM): its hint is the fix, whatever the command.
    fileprivate var isDeviceFailure: Bool { operation == .openDevice || operation == .getAPIVersion }
}

/// The value of `body`, or a ``CommandFailure`` that is `command: ` and the error in one line
/// (a failure to open /dev/kvm is the fix, whatever the command; a `CommandFailure` as it is).
func attempt<T>(_ command: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let failure as CommandFailure {
        throw failure
    } catch MachineError.kernel(let kernel) where kernel.isDeviceFailure {
        throw CommandFailure("gmem: " + (kernel.hint ?? KVMHost.describeOpenFailure(kernel.errno, path: "/dev/kvm")))
    } catch SnapshotError.machine(.kernel(let kernel)) where kernel.isDeviceFailure {
        throw CommandFailure("gmem: " + (kernel.hint ?? KVMHost.describeOpenFailure(kernel.errno, path: "/dev/kvm")))
    } catch {
        throw CommandFailure("\(command): \(error)")
    }
}
