import ArgumentParser
import Foundation
import KVM
import MicroVM

/// `gmem snapshot inspect FILE`: what a snapshot holds, every checksum checked.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Inspect GmemKit snapshots (docs/snapshot-format.md).",
        subcommands: [Inspect.self]
    )

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every checksum of a snapshot and show what it holds.",
            discussion: "Exit code 0 when the file is a valid snapshot for this host, 1 otherwise (one line on stderr)."
        )

        @Argument(help: "A snapshot file written by gmem run --snapshot.")
        var file: String

        @Flag(name: .long, help: "Print the contents as JSON.")
        var json = false

        func run() throws {
            let snapshot: Snapshot
            do {
                snapshot = try Snapshot(path: file)
                try snapshot.verify()
            } catch { throw CommandFailure("gmem snapshot inspect: \(error)") }
            let m = snapshot.manifest
            if json { return try printJSON(SnapshotJSON(m)) }
            emit("\(file): GmemKit snapshot, format version \(SnapshotFormat.version), \(m.pageSize)-byte pages, \(formatBytes(m.fileSize)); every checksum matches")
            emit("   guest             \(m.image.name) (image \(m.image.size) bytes, CRC32C \(hex32(m.image.crc32c)))")
            emit("   taken             \(m.machine.reason), \(formatDuration(.nanoseconds(Int64(clamping: m.machine.runNanoseconds)))) into the run")
            emit("   machine           \(m.machine.vcpus) vCPU(s), RAM \(formatBytes(m.machine.memorySize)), parameter \(m.machine.parameter)")
            emit("   devices           console \(m.devices.console.count) bytes, pings \(m.devices.pings), snapshot requests \(m.devices.snapshotRequests.count)")
            for vcpu in m.vcpus {
                let state = VCPUState(registers: vcpu.registers, specialRegisters: vcpu.specialRegisters, fpu: vcpu.fpu,
                                      events: vcpu.events, msrs: vcpu.msrs.map { .init(index: $0.index, value: $0.value) })
                let regs = state?.decodedRegisters
                let events = state?.pendingEvents
                let pending = events.map { [$0.exception ? "exception" : nil, $0.interrupt ? "interrupt" : nil, $0.nmi ? "NMI" : nil].compactMap { $0 } } ?? []
                emit("   vCPU \(vcpu.index)            " + (vcpu.exitStatus.map { "exited with status \($0); " } ?? "")
                     + "rip \(hex(regs?.rip ?? 0)) rsp \(hex(regs?.rsp ?? 0)), \(vcpu.msrs.count) MSRs, pending events: \(pending.isEmpty ? "none" : pending.joined(separator: ", "))")
            }
            for (index, region) in m.regions.enumerated() {
                let saved = m.savedBytes(region: index)
                let extents = m.extents.filter { $0.region == index }.count
                emit("   region \(region.name.padding(toLength: 11, withPad: " ", startingAt: 0))\(formatBytes(region.size)) at \(hex(region.guestPhysicalAddress)): "
                     + (region.released ? "released" : "\(formatBytes(saved)) saved in \(extents) chunk(s), \(formatBytes(region.size - saved)) holes")
                     + "; allocated \(formatBytes(region.allocatedBytes)), punched \(formatBytes(region.punchedBytes)) on request")
            }
        }
    }
}

func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
func hex32(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }

/// The JSON form of a snapshot's contents.
struct SnapshotJSON: Encodable {
    struct VCPU: Encodable {
        let index: UInt32
        let exitStatus: UInt32?
        let rip: UInt64
        let rsp: UInt64
        let msrs: [String: UInt64]
    }
    struct Region: Encodable {
        let name: String
        let guestPhysicalAddress: UInt64
        let size: UInt64
        let flags: UInt64
        let released: Bool
        let savedBytes: UInt64
        let chunks: Int
        let allocatedBytes: UInt64
        let punchedBytes: UInt64
    }
    let formatVersion: UInt32
    let pageSize: UInt32
    let fileBytes: UInt64
    let guest: String
    let imageBytes: UInt64
    let imageCRC32C: UInt32
    let reason: String
    let runNanoseconds: UInt64
    let vcpus: [VCPU]
    let memoryBytes: UInt64
    let parameter: UInt32
    let consoleBytes: Int
    let pings: UInt64
    let snapshotRequests: [UInt32]
    let regions: [Region]
    let savedBytes: UInt64

    init(_ m: SnapshotManifest) {
        formatVersion = SnapshotFormat.version
        pageSize = m.pageSize
        fileBytes = m.fileSize
        guest = m.image.name
        imageBytes = m.image.size
        imageCRC32C = m.image.crc32c
        reason = m.machine.reason
        runNanoseconds = m.machine.runNanoseconds
        vcpus = m.vcpus.map { vcpu in
            let regs = VCPUState(registers: vcpu.registers, specialRegisters: vcpu.specialRegisters, fpu: vcpu.fpu,
                                 events: vcpu.events, msrs: [])?.decodedRegisters
            return VCPU(index: vcpu.index, exitStatus: vcpu.exitStatus, rip: regs?.rip ?? 0, rsp: regs?.rsp ?? 0,
                        msrs: Dictionary(vcpu.msrs.map { (hex(UInt64($0.index)), $0.value) }, uniquingKeysWith: { a, _ in a }))
        }
        memoryBytes = m.machine.memorySize
        parameter = m.machine.parameter
        consoleBytes = m.devices.console.count
        pings = m.devices.pings
        snapshotRequests = m.devices.snapshotRequests
        regions = m.regions.enumerated().map { index, r in
            Region(name: r.name, guestPhysicalAddress: r.guestPhysicalAddress, size: r.size, flags: r.flags, released: r.released,
                   savedBytes: m.savedBytes(region: index), chunks: m.extents.filter { $0.region == index }.count,
                   allocatedBytes: r.allocatedBytes, punchedBytes: r.punchedBytes)
        }
        savedBytes = m.savedBytes
    }
}

extension RunCommand {
    /// `gmem run GUEST --snapshot FILE [--snapshot-at exits=N|ms=T]`.
    func runWithSnapshot(_ config: MachineConfig) throws {
        guard let path = snapshot else { throw CommandFailure("gmem run: --snapshot-at needs --snapshot FILE") }
        var trigger = SnapshotTrigger.guestRequest
        if let text = snapshotAt {
            guard let parsed = SnapshotTrigger(parsing: text) else {
                throw CommandFailure("gmem run: cannot read --snapshot-at '\(text)': use exits=N (N ≥ 1) or ms=T (0 to 86400000)")
            }
            trigger = parsed
        }
        let console = ConsoleWriter()
        let live = !json
        let outcome: SnapshotRunReport
        do {
            outcome = try Machine.run(config, snapshotTo: path, at: trigger, console: { byte in if live { console.write(byte) } })
        } catch {
            throw CommandFailure("gmem run: \(error)")
        }
        console.flush()
        if json {
            try printJSON(SnapshotRunJSON(run: RunReportJSON(outcome.run), snapshots: outcome.snapshots.map(SnapshotWriteJSON.init), missed: outcome.missed))
        } else {
            printHuman(outcome.run)
            for saved in outcome.snapshots {
                emit("   snapshot          \(saved.path) at \(saved.reason): \(formatBytes(saved.fileBytes)), \(formatBytes(saved.memoryBytes)) of memory in "
                     + saved.regions.map { "\($0.name) \($0.released ? "released" : formatBytes($0.savedBytes))" }.joined(separator: ", ")
                     + "; \(saved.vcpus) vCPU(s), \(saved.msrs) MSRs; written in \(formatDuration(saved.writeTime)), synced in \(formatDuration(saved.syncTime))")
            }
        }
        if let missed = outcome.missed {
            printError("gmem run: no snapshot written: \(missed)")
            throw ExitCode(1)
        }
        guard outcome.run.succeeded else {
            printError("gmem run: \(outcome.run.cause)")
            throw ExitCode(1)
        }
    }
}

struct SnapshotWriteJSON: Encodable {
    let path: String
    let reason: String
    let fileBytes: UInt64
    let memoryBytes: UInt64
    let regions: [String: UInt64]
    let vcpus: Int
    let writeNanoseconds: Int64
    let syncNanoseconds: Int64
    init(_ r: SnapshotReport) {
        path = r.path; reason = r.reason; fileBytes = r.fileBytes; memoryBytes = r.memoryBytes
        regions = Dictionary(r.regions.map { ($0.name, $0.savedBytes) }, uniquingKeysWith: { a, _ in a })
        vcpus = r.vcpus; writeNanoseconds = r.writeTime.nanoseconds; syncNanoseconds = r.syncTime.nanoseconds
    }
}

struct SnapshotRunJSON: Encodable {
    let run: RunReportJSON
    let snapshots: [SnapshotWriteJSON]
    let missed: String?
}
