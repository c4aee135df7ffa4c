import Foundation
import GuestMemory
import KVM

// The encodings (`--json`) and human forms of MicroVM's reports: `gmem run`, `gmem run
// --snapshot`, `gmem restore` and `gmem snapshot inspect` print these and nothing else.

/// Formatting shared by the reports' human forms.
public enum ReportFormat {
    /// The version of every MicroVM report encoding; raised when a key changes meaning or goes away.
    public static let schemaVersion = 1

    /// "4 GiB", "16.0 MiB", "1.5 KiB", "12 B".
    public static func bytes(_ bytes: UInt64) -> String {
        if bytes >= 1 << 30, bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
        if bytes >= 1 << 20 { return String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        if bytes >= 1 << 10 { return String(format: "%.1f KiB", Double(bytes) / 1024) }
        return "\(bytes) B"
    }

    /// "1.25 s", "3.10 ms", "12.0 µs".
    public static func duration(_ duration: Duration) -> String {
        let ns = Double(duration.nanoseconds)
        if ns >= 1e9 { return String(format: "%.2f s", ns / 1e9) }
        if ns >= 1e6 { return String(format: "%.2f ms", ns / 1e6) }
        return String(format: "%.1f µs", ns / 1e3)
    }

    /// `0x` and the value in hexadecimal.
    public static func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
}

extension RunReport: Encodable {
    enum CodingKeys: String, CodingKey {
        case schemaVersion, guest, succeeded, status, cause, detail, vcpus, memoryBytes, parameter
        case timeToFirstExitNanoseconds, totalNanoseconds, exits, pings, passNanoseconds, regions, console, registers
    }

    struct RegionEntry: Encodable {
        let name: String
        let guestPhysicalAddress: UInt64
        let size: UInt64
        let residentBytesAtExit: UInt64
        let allocatedBytes: UInt64
        let punchedBytes: UInt64
    }

    /// The keys documented in README (`gmem run --json`), and `schemaVersion`.
    /// - Throws: What `encoder` throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ReportFormat.schemaVersion, forKey: .schemaVersion)
        try container.encode(guest, forKey: .guest)
        try container.encode(succeeded, forKey: .succeeded)
        try container.encodeIfPresent(status, forKey: .status)
        try container.encode(cause.kind, forKey: .cause)
        try container.encode(cause.description, forKey: .detail)
        try container.encode(vcpus, forKey: .vcpus)
        try container.encode(memorySize, forKey: .memoryBytes)
        try container.encode(parameter, forKey: .parameter)
        try container.encodeIfPresent(timeToFirstExit?.nanoseconds, forKey: .timeToFirstExitNanoseconds)
        try container.encode(totalTime.nanoseconds, forKey: .totalNanoseconds)
        try container.encode(exits, forKey: .exits)
        try container.encode(pings, forKey: .pings)
        try container.encode(passes.map(\.nanoseconds), forKey: .passNanoseconds)
        try container.encode(
            memory.map {
                RegionEntry(
                    name: $0.name, guestPhysicalAddress: $0.guestPhysicalAddress, size: $0.size,
                    residentBytesAtExit: $0.residentBytes ?? 0, allocatedBytes: $0.allocatedBytes,
                    punchedBytes: $0.punchedBytes)
            }, forKey: .regions)
        try container.encode(String(decoding: console, as: UTF8.self), forKey: .console)
        try container.encode(
            Dictionary(
                uniqueKeysWithValues: registerDumps.map { vcpu, registers in
                    (
                        "\(vcpu)",
                        Dictionary(registers.named.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
                    )
                }), forKey: .registers)
    }

    /// The human form `gmem run` prints after the guest's console output.
    public func formatted() -> String {
        var lines = ["", "── \(guest): \(cause)"]
        if let first = timeToFirstExit {
            lines.append("   first guest exit  \(ReportFormat.duration(first)) after KVM_CREATE_VM")
        }
        lines.append("   total             \(ReportFormat.duration(totalTime)) (build, run and teardown)")
        lines.append("   vCPUs             \(vcpus); memory \(ReportFormat.bytes(memorySize)) of guest_memfd")
        let exitText = exits.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        lines.append("   exits             \(exitText.isEmpty ? "none" : exitText)")
        if pings > 0 { lines.append("   pings             \(pings)") }
        for (index, pass) in passes.enumerated() {
            lines.append("   pass \(index + 1)            \(ReportFormat.duration(pass))")
        }
        for region in memory {
            lines.append(
                "   region \(region.name.padding(toLength: 11, withPad: " ", startingAt: 0))resident "
                    + "\(ReportFormat.bytes(region.residentBytes ?? 0)) at exit; "
                    + "allocated \(ReportFormat.bytes(region.allocatedBytes)), punched \(ReportFormat.bytes(region.punchedBytes)) "
                    + "on request; all released at teardown")
        }
        return lines.joined(separator: "\n")
    }

    /// For a run that did not succeed: its cause and each register dump, for stderr.
    public var failureLines: [String] {
        guard !succeeded else { return [] }
        return ["\(cause)"]
            + registerDumps.sorted(by: { $0.key < $1.key }).map { vcpu, registers in
                "  vCPU \(vcpu): "
                    + registers.named.map { "\($0.name)=0x\(String($0.value, radix: 16))" }.joined(separator: " ")
            }
    }
}

extension SnapshotReport: Encodable {
    enum CodingKeys: String, CodingKey {
        case path, reason, fileBytes, memoryBytes, regions, vcpus, writeNanoseconds, syncNanoseconds
    }

    /// Encodes the report as `gmem run --snapshot --json` prints it, with `schemaVersion`.
    /// - Throws: What `encoder` throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(reason, forKey: .reason)
        try container.encode(fileBytes, forKey: .fileBytes)
        try container.encode(memoryBytes, forKey: .memoryBytes)
        try container.encode(
            Dictionary(regions.map { ($0.name, $0.savedBytes) }, uniquingKeysWith: { first, _ in first }),
            forKey: .regions)
        try container.encode(vcpus, forKey: .vcpus)
        try container.encode(writeTime.nanoseconds, forKey: .writeNanoseconds)
        try container.encode(syncTime.nanoseconds, forKey: .syncNanoseconds)
    }

    /// One line for the run's report.
    public func formatted() -> String {
        "   snapshot          \(path) at \(reason): \(ReportFormat.bytes(fileBytes)), \(ReportFormat.bytes(memoryBytes)) of memory in "
            + regions.map { "\($0.name) \($0.released ? "released" : ReportFormat.bytes($0.savedBytes))" }.joined(
                separator: ", ")
            + "; \(vcpus) vCPU(s), \(msrs) MSRs; written in \(ReportFormat.duration(writeTime)), "
            + "synced in \(ReportFormat.duration(syncTime))"
    }
}

extension SnapshotRunReport: Encodable {
    enum CodingKeys: String, CodingKey { case schemaVersion, run, snapshots, missed }

    /// Encodes the run and its snapshots as `gmem run --snapshot --json` prints them, with `schemaVersion`.
    /// - Throws: What `encoder` throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ReportFormat.schemaVersion, forKey: .schemaVersion)
        try container.encode(run, forKey: .run)
        try container.encode(snapshots, forKey: .snapshots)
        try container.encodeIfPresent(missed, forKey: .missed)
    }

    /// Whether the command succeeds: a snapshot was written and the guest exited 0.
    public var succeeded: Bool { missed == nil && run.succeeded }

    /// The human form: the run's report and one line per snapshot written (or why none was).
    public func formatted() -> String {
        ([run.formatted()] + snapshots.map { $0.formatted() }).joined(separator: "\n")
    }

    /// Why the command fails, for stderr.
    public var failureLines: [String] {
        if let missed { return ["no snapshot written: \(missed)"] }
        return run.succeeded ? [] : ["\(run.cause)"]
    }
}

/// `gmem restore`'s report: the snapshot and every clone's restore and run.
public struct RestoreSummary: Encodable, Sendable {
    /// The snapshot file restored.
    public let file: String
    /// Every clone's restore and run, in order.
    public let runs: [RestoredRun]

    /// A summary of `runs` restored from `file`.
    public init(file: String, runs: [RestoredRun]) {
        self.file = file
        self.runs = runs
    }

    /// Whether every clone's guest exited with status 0 (the command's exit status is 0).
    public var succeeded: Bool { runs.allSatisfy { $0.run.succeeded } }

    struct Clone: Encodable {
        let index: Int
        let vm: String
        let guestMemfds: Int
        let restoreNanoseconds: Int64
        let run: RunReport
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion, snapshot, guest, reason, population, probe, memoryBytesPerClone, succeeded, clones
    }

    /// Encodes the summary as `gmem restore --json` prints it, with `schemaVersion`.
    /// - Throws: What `encoder` throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ReportFormat.schemaVersion, forKey: .schemaVersion)
        try container.encode(file, forKey: .snapshot)
        if let first = runs.first?.restore {
            try container.encode(first.image.name, forKey: .guest)
            try container.encode(first.reason, forKey: .reason)
            try container.encode(first.population, forKey: .population)
            try container.encode(first.probe, forKey: .probe)
            try container.encode(first.memoryBytes, forKey: .memoryBytesPerClone)
        }
        try container.encode(succeeded, forKey: .succeeded)
        try container.encode(
            runs.enumerated().map { index, restored in
                Clone(
                    index: index, vm: restored.vm, guestMemfds: restored.restore.regions.count,
                    restoreNanoseconds: restored.restore.restoreTime.nanoseconds, run: restored.run)
            }, forKey: .clones)
    }

    /// The human form: the restore and the run of each clone.
    public func formatted() -> String {
        guard let first = runs.first?.restore else { return "" }
        var lines = [
            "", "── restored \(first.image.name) from \(file) (taken at \(first.reason)) into \(runs.count) new VM(s)",
        ]
        lines.append("   path              \(first.population)")
        for line in first.probe { lines.append("   probe             \(line)") }
        lines.append(
            "   memory            \(ReportFormat.bytes(first.memoryBytes)) in \(first.extents) chunk(s) per VM; regions "
                + first.regions.map { "\($0.name) \($0.released ? "released" : ReportFormat.bytes($0.size))" }.joined(
                    separator: ", "))
        for (index, restored) in runs.enumerated() {
            let run = restored.run
            lines.append(
                "   clone \(index)".padding(toLength: 21, withPad: " ", startingAt: 0)
                    + "\(restored.vm): \(run.cause); restored in \(ReportFormat.duration(restored.restore.restoreTime)), "
                    + "first guest exit \(run.timeToFirstExit.map(ReportFormat.duration) ?? "none") after restore began, "
                    + "pings \(run.pings)")
        }
        return lines.joined(separator: "\n")
    }

    /// Each clone that did not succeed, for stderr.
    public var failureLines: [String] {
        runs.enumerated().filter { !$0.element.run.succeeded }.map { "clone \($0.offset): \($0.element.run.cause)" }
    }
}

/// `gmem snapshot inspect`'s report: what a verified snapshot holds.
public struct SnapshotInspection: Encodable, Sendable {
    /// One vCPU as the snapshot holds it.
    public struct VCPU: Encodable, Sendable {
        /// The vCPU's index.
        public let index: UInt32
        /// The status it wrote to the exit port, or nil while it still ran.
        public let exitStatus: UInt32?
        /// Its instruction pointer.
        public let rip: UInt64
        /// Its stack pointer.
        public let rsp: UInt64
        /// Its saved MSRs, by hexadecimal index (`0xc0000080`).
        public let msrs: [String: UInt64]
        /// Pending exception, interrupt, NMI (not encoded: the human form shows them).
        let pending: [String]
        enum CodingKeys: String, CodingKey { case index, exitStatus, rip, rsp, msrs }
    }
    /// One region as the snapshot holds it.
    public struct Region: Encodable, Sendable {
        /// The region's name.
        public let name: String
        /// Where it starts in guest-physical memory.
        public let guestPhysicalAddress: UInt64
        /// Its size in bytes.
        public let size: UInt64
        /// The flags of its guest_memfd.
        public let flags: UInt64
        /// Whether its file had been released.
        public let released: Bool
        /// Bytes of it saved.
        public let savedBytes: UInt64
        /// Memory chunks holding them.
        public let chunks: Int
        /// Bytes preallocated on the guest's requests.
        public let allocatedBytes: UInt64
        /// Bytes punched on the guest's requests.
        public let punchedBytes: UInt64
    }
    /// The encoding's version (``ReportFormat/schemaVersion``).
    public let schemaVersion: Int
    /// The snapshot file.
    public let file: String
    /// The snapshot format's version (``SnapshotFormat/version``).
    public let formatVersion: UInt32
    /// The page size of the host it was taken on.
    public let pageSize: UInt32
    /// The file's size in bytes.
    public let fileBytes: UInt64
    /// The guest image's name.
    public let guest: String
    /// The guest image's size in bytes.
    public let imageBytes: UInt64
    /// The guest image's CRC32C.
    public let imageCRC32C: UInt32
    /// Why the snapshot was taken.
    public let reason: String
    /// How long the guest had run when it was taken.
    public let runNanoseconds: UInt64
    /// Every vCPU.
    public let vcpus: [VCPU]
    /// The machine's RAM in bytes.
    public let memoryBytes: UInt64
    /// The guest's parameter.
    public let parameter: UInt32
    /// Console bytes saved.
    public let consoleBytes: Int
    /// The ping device's counter.
    public let pings: UInt64
    /// The values the guest wrote to the snapshot port.
    public let snapshotRequests: [UInt32]
    /// Every region.
    public let regions: [Region]
    /// Bytes of guest memory saved in all.
    public let savedBytes: UInt64
    /// vCPUs of the machine (the human form's count).
    let machineVCPUs: Int

    enum CodingKeys: String, CodingKey {
        case schemaVersion, formatVersion, pageSize, fileBytes, guest, imageBytes, imageCRC32C, reason, runNanoseconds
        case vcpus, memoryBytes, parameter, consoleBytes, pings, snapshotRequests, regions, savedBytes
    }

    /// Opens `path`, checks every checksum and describes what it holds.
    /// - Throws: ``SnapshotError``: `file` when the file cannot be read, `format` when it is not a
    ///   valid snapshot or a checksum does not match.
    public static func inspect(path: String) throws(SnapshotError) -> SnapshotInspection {
        let snapshot = try Snapshot(path: path)
        try snapshot.verify()
        return SnapshotInspection(file: path, manifest: snapshot.manifest)
    }

    /// Describes `manifest`, read from `file` (no check: ``inspect(path:)`` checks).
    public init(file: String, manifest m: SnapshotManifest) {
        schemaVersion = ReportFormat.schemaVersion
        self.file = file
        formatVersion = SnapshotFormat.version
        pageSize = m.pageSize
        fileBytes = m.fileSize
        guest = m.image.name
        imageBytes = m.image.size
        imageCRC32C = m.image.crc32c
        reason = m.machine.reason
        runNanoseconds = m.machine.runNanoseconds
        vcpus = m.vcpus.map { vcpu in
            let state = VCPUState(
                registers: vcpu.registers, specialRegisters: vcpu.specialRegisters, fpu: vcpu.fpu,
                events: vcpu.events, msrs: vcpu.msrs.map { .init(index: $0.index, value: $0.value) })
            let regs = state?.decodedRegisters
            let events = state?.pendingEvents
            let pending =
                events.map {
                    [$0.exception ? "exception" : nil, $0.interrupt ? "interrupt" : nil, $0.nmi ? "NMI" : nil]
                        .compactMap { $0 }
                } ?? []
            return VCPU(
                index: vcpu.index, exitStatus: vcpu.exitStatus, rip: regs?.rip ?? 0, rsp: regs?.rsp ?? 0,
                msrs: Dictionary(
                    vcpu.msrs.map { (ReportFormat.hex(UInt64($0.index)), $0.value) }, uniquingKeysWith: { a, _ in a }),
                pending: pending)
        }
        memoryBytes = m.machine.memorySize
        parameter = m.machine.parameter
        consoleBytes = m.devices.console.count
        pings = m.devices.pings
        snapshotRequests = m.devices.snapshotRequests
        regions = m.regions.enumerated().map { index, r in
            Region(
                name: r.name, guestPhysicalAddress: r.guestPhysicalAddress, size: r.size, flags: r.flags,
                released: r.released,
                savedBytes: m.savedBytes(region: index), chunks: m.extents.filter { $0.region == index }.count,
                allocatedBytes: r.allocatedBytes, punchedBytes: r.punchedBytes)
        }
        savedBytes = m.savedBytes
        machineVCPUs = Int(m.machine.vcpus)
    }

    /// The human form of `gmem snapshot inspect`.
    public func formatted() -> String {
        var lines = [
            "\(file): GmemKit snapshot, format version \(formatVersion), \(pageSize)-byte pages, "
                + "\(ReportFormat.bytes(fileBytes)); every checksum matches"
        ]
        lines.append(
            "   guest             \(guest) (image \(imageBytes) bytes, CRC32C \(ReportFormat.hex(UInt64(imageCRC32C))))"
        )
        lines.append(
            "   taken             \(reason), \(ReportFormat.duration(.nanoseconds(Int64(clamping: runNanoseconds)))) into the run"
        )
        lines.append(
            "   machine           \(machineVCPUs) vCPU(s), RAM \(ReportFormat.bytes(memoryBytes)), parameter \(parameter)"
        )
        lines.append(
            "   devices           console \(consoleBytes) bytes, pings \(pings), snapshot requests \(snapshotRequests.count)"
        )
        for vcpu in vcpus {
            lines.append(
                "   vCPU \(vcpu.index)            " + (vcpu.exitStatus.map { "exited with status \($0); " } ?? "")
                    + "rip \(ReportFormat.hex(vcpu.rip)) rsp \(ReportFormat.hex(vcpu.rsp)), \(vcpu.msrs.count) MSRs, "
                    + "pending events: \(vcpu.pending.isEmpty ? "none" : vcpu.pending.joined(separator: ", "))")
        }
        for region in regions {
            lines.append(
                "   region \(region.name.padding(toLength: 11, withPad: " ", startingAt: 0))\(ReportFormat.bytes(region.size)) "
                    + "at \(ReportFormat.hex(region.guestPhysicalAddress)): "
                    + (region.released
                        ? "released"
                        : "\(ReportFormat.bytes(region.savedBytes)) saved in \(region.chunks) chunk(s), "
                            + "\(ReportFormat.bytes(region.size - region.savedBytes)) holes")
                    + "; allocated \(ReportFormat.bytes(region.allocatedBytes)), punched \(ReportFormat.bytes(region.punchedBytes)) on request"
            )
        }
        return lines.joined(separator: "\n")
    }
}
