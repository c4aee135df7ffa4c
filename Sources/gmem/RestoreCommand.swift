import ArgumentParser
import Foundation
import KVM
import MicroVM

/// `gmem restore FILE [--clones N] [--json]`: resume a snapshot in new VMs.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Resume a snapshot in a new VM whose guest_memfd is its own: memory is copied, never rebound.",
        discussion: """
            Each restore creates a new VM, a new guest_memfd per region created by that VM, and copies \
            the saved pages into the new file's shared mapping, checking each chunk's CRC32C. With \
            --clones N, N machines are restored from the one file and run at once. The exit code is 0 \
            when every guest exits with status 0; a bad snapshot gives one line on stderr and exit code 1.
            """
    )

    @Argument(help: "A snapshot file written by gmem run --snapshot.")
    var file: String

    @Option(name: .long, help: "How many machines to restore from the snapshot and run at once (1 to \(Snapshot.maximumClones)).")
    var clones: Int = 1

    @Option(name: .long, help: "Wall-clock limit of each restored run in seconds (default 30 per clone per host CPU: clones share the CPUs).")
    var timeout: Double?

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    func run() throws {
        // --clones first: the default timeout is computed from it (Int.max clones overflowed there).
        guard (1...Snapshot.maximumClones).contains(clones) else {
            throw CommandFailure("gmem restore: --clones must be between 1 and \(Snapshot.maximumClones) (got \(clones))")
        }
        let cpus = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let timeout = self.timeout ?? 30 * Double((clones + cpus - 1) / cpus)
        guard timeout >= 0.001, timeout.isFinite, timeout <= 86_400 else {
            throw CommandFailure("gmem restore: --timeout must be from 0.001 to 86400 seconds (got \(timeout))")
        }
        let console = ConsoleWriter()
        var options = RestoreOptions()
        options.timeout = .milliseconds(Int64(timeout * 1000))
        options.measuresResidency = true
        let live = !json && clones == 1
        options.console = { byte in if live { console.write(byte) } }
        let runs: [RestoredRun]
        do {
            runs = try Snapshot(path: file).restoreAndRun(clones: clones, options)
        } catch {
            if case .machine(.kernel(let kernel)) = error, kernel.operation == .openDevice {
                throw CommandFailure("gmem: " + KVMHost.describeOpenFailure(kernel.errno, path: "/dev/kvm"))
            }
            throw CommandFailure("gmem restore: \(error)")
        }
        console.flush()
        let all = runs.allSatisfy { $0.run.succeeded }
        if json {
            try printJSON(RestoreJSON(file: file, runs: runs))
        } else {
            let first = runs[0].restore
            emit()
            emit("── restored \(first.image.name) from \(file) (taken at \(first.reason)) into \(runs.count) new VM(s)")
            emit("   path              \(first.population)")
            for line in first.probe { emit("   probe             \(line)") }
            emit("   memory            \(formatBytes(first.memoryBytes)) in \(first.extents) chunk(s) per VM; regions "
                 + first.regions.map { "\($0.name) \($0.released ? "released" : formatBytes($0.size))" }.joined(separator: ", "))
            for (index, restored) in runs.enumerated() {
                let run = restored.run
                emit("   clone \(index)".padding(toLength: 21, withPad: " ", startingAt: 0)
                     + "\(restored.vm): \(run.cause); restored in \(formatDuration(restored.restore.restoreTime)), "
                     + "first guest exit \(run.timeToFirstExit.map(formatDuration) ?? "none") after restore began, pings \(run.pings)")
            }
        }
        guard all else {
            for (index, restored) in runs.enumerated() where !restored.run.succeeded {
                printError("gmem restore: clone \(index): \(restored.run.cause)")
            }
            throw ExitCode(1)
        }
    }
}

struct RestoreJSON: Encodable {
    struct Clone: Encodable {
        let index: Int
        let vm: String
        let guestMemfds: Int
        let restoreNanoseconds: Int64
        let run: RunReportJSON
    }
    let snapshot: String
    let guest: String
    let reason: String
    let population: String
    let probe: [String]
    let memoryBytesPerClone: UInt64
    let succeeded: Bool
    let clones: [Clone]

    init(file: String, runs: [RestoredRun]) {
        let first = runs[0].restore
        snapshot = file
        guest = first.image.name
        reason = first.reason
        population = first.population
        probe = first.probe
        memoryBytesPerClone = first.memoryBytes
        succeeded = runs.allSatisfy { $0.run.succeeded }
        clones = runs.enumerated().map { index, restored in
            Clone(index: index, vm: restored.vm, guestMemfds: restored.restore.regions.count,
                  restoreNanoseconds: restored.restore.restoreTime.nanoseconds, run: RunReportJSON(restored.run))
        }
    }
}
