import CChecksum

// The GmemKit snapshot file format, version 1 (docs/snapshot-format.md): the values a
// snapshot holds, their encoding, and the parser. Depends on nothing but CRC32C and
// GuestABI's limits, so that Fuzz/Snapshot can compile it alone.

/// Why a snapshot file cannot be read. Every value is checked before it is used: a bad file
/// is one of these, never a trap.
public enum SnapshotFormatError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file does not start with GmemKit's magic.
    case foreign
    /// A format version this build does not read.
    case unsupportedVersion(UInt32)
    /// The snapshot was taken on a host with another page size.
    case pageSize(file: UInt32, host: UInt32)
    /// The file ends before a part it announces.
    case truncated(String)
    /// A checksum does not match: the bytes changed after they were written.
    case corrupted(String)
    /// A value is out of range or inconsistent with the rest (regions that do not fit …).
    case invalid(String)
    /// Reading the file failed (errno).
    case io(String, Int32)

    /// One line naming what is wrong with the file.
    public var description: String {
        switch self {
        case .foreign: "not a GmemKit snapshot (no GMEMKIT SNAPSHOT magic)"
        case .unsupportedVersion(let version):
            "snapshot format version \(version); this gmem reads version \(SnapshotFormat.version)"
        case .pageSize(let file, let host): "taken on a host with \(file)-byte pages; this host's are \(host) bytes"
        case .truncated(let what): "truncated: \(what)"
        case .corrupted(let what): "corrupted: \(what)"
        case .invalid(let what): "invalid: \(what)"
        case .io(let what, let code): "\(what): errno \(code)"
        }
    }
}

/// The guest image a snapshot was taken from: its name, size and CRC32C.
public struct SnapshotImage: Hashable, Sendable {
    /// The image's name.
    public var name: String
    /// Its size in bytes.
    public var size: UInt64
    /// The CRC32C of its bytes.
    public var crc32c: UInt32
    /// An image record; every value is taken as given.
    public init(name: String, size: UInt64, crc32c: UInt32) {
        self.name = name
        self.size = size
        self.crc32c = crc32c
    }
}

/// The machine's configuration and why and when the snapshot was taken.
public struct SnapshotMachine: Hashable, Sendable {
    /// RAM in bytes.
    public var memorySize: UInt64
    /// The number of vCPUs.
    public var vcpus: UInt32
    /// The value the guest reads from `GuestABI.Port.parameter`.
    public var parameter: UInt32
    /// At most this many console bytes are kept in a report.
    public var consoleLimit: UInt64
    /// What triggered the snapshot ("exits=100000", "ms=5", "guest request 0x1", "api").
    public var reason: String
    /// From the start of the run to the pause (paused time of earlier snapshots excluded).
    public var runNanoseconds: UInt64
    /// A machine record; every value is taken as given (the parser checks a file's).
    public init(
        memorySize: UInt64, vcpus: UInt32, parameter: UInt32, consoleLimit: UInt64, reason: String,
        runNanoseconds: UInt64
    ) {
        self.memorySize = memorySize
        self.vcpus = vcpus
        self.parameter = parameter
        self.consoleLimit = consoleLimit
        self.reason = reason
        self.runNanoseconds = runNanoseconds
    }
}

/// Device state: the console's output so far, the ping device's counter and the guest's
/// snapshot requests. (The exit device's statuses are per vCPU; the parameter is the
/// machine's; the memory-request device keeps its state in the regions.)
public struct SnapshotDevices: Hashable, Sendable {
    /// The console output so far.
    public var console: [UInt8]
    /// The ping device's counter.
    public var pings: UInt64
    /// The values the guest wrote to the snapshot port, in order.
    public var snapshotRequests: [UInt32]
    /// A device record; every value is taken as given.
    public init(console: [UInt8], pings: UInt64, snapshotRequests: [UInt32]) {
        self.console = console
        self.pings = pings
        self.snapshotRequests = snapshotRequests
    }
}

/// One vCPU: its exit status if it already exited, and its state as the kernel's structures.
public struct SnapshotVCPU: Hashable, Sendable {
    /// One model-specific register and its value.
    public struct MSR: Hashable, Sendable {
        /// The MSR's index.
        public var index: UInt32
        /// Its value.
        public var value: UInt64
        /// An MSR and its value.
        public init(index: UInt32, value: UInt64) {
            self.index = index
            self.value = value
        }
    }
    /// The vCPU's index (0 is the boot vCPU).
    public var index: UInt32
    /// The status it wrote to `GuestABI.Port.exit`, or nil while it still runs.
    public var exitStatus: UInt32?
    /// `kvm_regs`, ``SnapshotFormat/registersSize`` bytes.
    public var registers: [UInt8]
    /// `kvm_sregs`, ``SnapshotFormat/specialRegistersSize`` bytes.
    public var specialRegisters: [UInt8]
    /// `kvm_fpu`, ``SnapshotFormat/fpuSize`` bytes.
    public var fpu: [UInt8]
    /// `kvm_vcpu_events`, ``SnapshotFormat/eventsSize`` bytes.
    public var events: [UInt8]
    /// The MSRs, at most ``SnapshotFormat/maximumMSRs``.
    public var msrs: [MSR]
    /// A vCPU record; every value is taken as given (the parser checks a file's sizes).
    public init(
        index: UInt32, exitStatus: UInt32?, registers: [UInt8], specialRegisters: [UInt8], fpu: [UInt8],
        events: [UInt8], msrs: [MSR]
    ) {
        self.index = index
        self.exitStatus = exitStatus
        self.registers = registers
        self.specialRegisters = specialRegisters
        self.fpu = fpu
        self.events = events
        self.msrs = msrs
    }
}

/// One region: where it is, its guest_memfd flags, whether it was released, and its
/// accounting (bytes preallocated and punched on the guest's requests).
public struct SnapshotRegion: Hashable, Sendable {
    /// The region's name.
    public var name: String
    /// Where it starts in guest-physical memory.
    public var guestPhysicalAddress: UInt64
    /// Its length in bytes.
    public var size: UInt64
    /// The flags of its guest_memfd (`MMAP`, `INIT_SHARED`).
    public var flags: UInt64
    /// Whether its file had been released (no pages are saved then).
    public var released: Bool
    /// Bytes preallocated on the guest's requests.
    public var allocatedBytes: UInt64
    /// Bytes punched on the guest's requests.
    public var punchedBytes: UInt64
    /// A region record; every value is taken as given (the parser checks a file's).
    public init(
        name: String, guestPhysicalAddress: UInt64, size: UInt64, flags: UInt64, released: Bool, allocatedBytes: UInt64,
        punchedBytes: UInt64
    ) {
        self.name = name
        self.guestPhysicalAddress = guestPhysicalAddress
        self.size = size
        self.flags = flags
        self.released = released
        self.allocatedBytes = allocatedBytes
        self.punchedBytes = punchedBytes
    }
}

/// A run of saved pages: `length` bytes at `offset` of region `region`, whose bytes are at
/// `fileOffset` in the file with CRC32C `crc32c` (over the chunk's arguments and the bytes).
public struct SnapshotExtent: Hashable, Sendable {
    /// The index of the region in ``SnapshotManifest/regions``.
    public var region: Int
    /// Where the run starts in the region.
    public var offset: UInt64
    /// Its length in bytes (at most ``SnapshotFormat/maximumExtent``).
    public var length: UInt64
    /// Where its bytes are in the file.
    public var fileOffset: UInt64
    /// The chunk's CRC32C (over its region index, offset and bytes).
    public var crc32c: UInt32
}

/// Everything a snapshot file says, but the page bytes themselves (`extents` locate them).
public struct SnapshotManifest: Hashable, Sendable {
    /// The page size of the host the snapshot was taken on.
    public var pageSize: UInt32
    /// The guest image the machine ran.
    public var image: SnapshotImage
    /// The machine's configuration and why and when the snapshot was taken.
    public var machine: SnapshotMachine
    /// The devices' state.
    public var devices: SnapshotDevices
    /// Every vCPU's state, by index.
    public var vcpus: [SnapshotVCPU]
    /// Every region of guest memory.
    public var regions: [SnapshotRegion]
    /// Where each run of saved pages is in the file.
    public var extents: [SnapshotExtent]
    /// The file's size in bytes.
    public var fileSize: UInt64

    /// Bytes of guest memory saved per region.
    public func savedBytes(region: Int) -> UInt64 {
        extents.reduce(0) { $1.region == region ? $0 + $1.length : $0 }
    }
    /// Bytes of guest memory saved in all.
    public var savedBytes: UInt64 { extents.reduce(0) { $0 + $1.length } }
}

/// Constants and encoding of the format (docs/snapshot-format.md).
public enum SnapshotFormat {
    /// The 16 bytes every snapshot starts with.
    public static let magic: [UInt8] = Array("GMEMKIT SNAPSHOT".utf8)
    /// The version this build writes and reads.
    public static let version: UInt32 = 1
    static let headerSize = 64
    static let chunkHeaderSize = 40
    /// The largest memory chunk the writer makes: one CRC per MiB, checked while cache-hot.
    public static let maximumExtent: UInt64 = 1 << 20
    /// Bounds on what a file may ask for, checked before anything is allocated.
    static let maximumName = 256
    static let maximumConsole: UInt64 = 16 << 20
    static let maximumRequests = 65_536
    static let maximumRegions = 32
    static let maximumVCPUs: UInt32 = 64
    static let maximumMetadataChunk: UInt64 = maximumConsole + (1 << 20)
    /// The sizes of the kernel's vCPU structures the format stores (`kvm_regs` 144, `kvm_sregs`
    /// 312, `kvm_fpu` 416, `kvm_vcpu_events` 64 bytes) and the most MSRs per vCPU (32).
    public static let registersSize = 144, specialRegistersSize = 312, fpuSize = 416, eventsSize = 64, maximumMSRs = 32
    /// guest_memfd flags a region may have (MMAP | INIT_SHARED).
    static let knownFlags: UInt64 = 0x3

    enum Kind: UInt32 {
        case machine = 1, devices = 2, vcpu = 3, region = 4, memory = 5, end = 6
        var name: String {
            switch self {
            case .machine: "machine"
            case .devices: "devices"
            case .vcpu: "vCPU"
            case .region: "region"
            case .memory: "memory"
            case .end: "end"
            }
        }
    }

    /// CRC32C of `bytes`, extending `crc`.
    public static func crc32c(_ bytes: UnsafeRawBufferPointer, extending crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        // SAFETY: the caller's buffer is valid for `bytes.count` bytes for this call;
        // gmem_crc32c reads exactly that many from `base` and keeps no pointer.
        return unsafe gmem_crc32c(crc, base, bytes.count)
    }

    static func crc32c(_ bytes: [UInt8], extending crc: UInt32 = 0) -> UInt32 {
        // SAFETY: the array's storage is valid for the closure, which only reads it.
        unsafe bytes.withUnsafeBytes { unsafe crc32c($0, extending: crc) }
    }

    // MARK: Encoding

    static func header(pageSize: UInt32, fileSize: UInt64, chunks: UInt64) -> [UInt8] {
        var w = SnapshotWriter()
        w.bytes(magic)
        w.u32(version)
        w.u32(UInt32(headerSize))
        w.u32(pageSize)
        w.u32(0)
        w.u64(fileSize)
        w.u64(chunks)
        w.bytes([UInt8](repeating: 0, count: 12))
        w.u32(crc32c(w.data))
        return w.data
    }

    static func chunkHeader(_ kind: Kind, length: UInt64, arguments: (UInt64, UInt64) = (0, 0), payloadCRC: UInt32)
        -> [UInt8]
    {
        var w = SnapshotWriter()
        w.u32(kind.rawValue)
        w.u32(0)
        w.u64(length)
        w.u64(arguments.0)
        w.u64(arguments.1)
        w.u32(payloadCRC)
        w.u32(crc32c(w.data))
        return w.data
    }

    static func encode(_ image: SnapshotImage, _ machine: SnapshotMachine, regions: Int) -> [UInt8] {
        var w = SnapshotWriter()
        w.string(image.name)
        w.u64(image.size)
        w.u32(image.crc32c)
        w.u64(machine.memorySize)
        w.u32(machine.vcpus)
        w.u32(machine.parameter)
        w.u64(machine.consoleLimit)
        w.u32(UInt32(regions))
        w.string(machine.reason)
        w.u64(machine.runNanoseconds)
        return w.data
    }

    static func encode(_ devices: SnapshotDevices) -> [UInt8] {
        var w = SnapshotWriter()
        w.u32(UInt32(devices.console.count))
        w.bytes(devices.console)
        w.u64(devices.pings)
        w.u32(UInt32(devices.snapshotRequests.count))
        devices.snapshotRequests.forEach { w.u32($0) }
        return w.data
    }

    static func encode(_ vcpu: SnapshotVCPU) -> [UInt8] {
        var w = SnapshotWriter()
        w.u32(vcpu.index)
        w.u8(vcpu.exitStatus == nil ? 0 : 1)
        w.u32(vcpu.exitStatus ?? 0)
        w.bytes(vcpu.registers)
        w.bytes(vcpu.specialRegisters)
        w.bytes(vcpu.fpu)
        w.bytes(vcpu.events)
        w.u32(UInt32(vcpu.msrs.count))
        vcpu.msrs.forEach {
            w.u32($0.index)
            w.u64($0.value)
        }
        return w.data
    }

    static func encode(_ region: SnapshotRegion) -> [UInt8] {
        var w = SnapshotWriter()
        w.string(region.name)
        w.u64(region.guestPhysicalAddress)
        w.u64(region.size)
        w.u64(region.flags)
        w.u8(region.released ? 1 : 0)
        w.u64(region.allocatedBytes)
        w.u64(region.punchedBytes)
        return w.data
    }

    /// A whole snapshot file in memory, from its parts and the bytes of each saved run (each
    /// at most `maximumExtent` bytes): for tests, fuzzing seeds and tools. `MachineHandle`'s
    /// writer produces the same layout straight from guest memory to a file.
    public static func encodeFile(
        pageSize: UInt32, image: SnapshotImage, machine: SnapshotMachine, devices: SnapshotDevices,
        vcpus: [SnapshotVCPU], regions: [SnapshotRegion], memory: [(region: Int, offset: UInt64, bytes: [UInt8])]
    ) -> [UInt8] {
        var chunks: [[UInt8]] = []
        func chunk(_ kind: Kind, _ payload: [UInt8], arguments: (UInt64, UInt64) = (0, 0), crc: UInt32? = nil) {
            chunks.append(
                chunkHeader(
                    kind, length: UInt64(payload.count), arguments: arguments, payloadCRC: crc ?? crc32c(payload))
                    + payload)
        }
        chunk(.machine, encode(image, machine, regions: regions.count))
        chunk(.devices, encode(devices))
        vcpus.forEach { chunk(.vcpu, encode($0)) }
        regions.forEach { chunk(.region, encode($0)) }
        for run in memory {
            // SAFETY: the array's storage is valid for the closure, which only reads it.
            let crc = unsafe run.bytes.withUnsafeBytes { unsafe extentCRC(region: run.region, offset: run.offset, $0) }
            chunk(.memory, run.bytes, arguments: (UInt64(run.region), run.offset), crc: crc)
        }
        chunk(.end, [])
        let body = chunks.joined()
        return header(pageSize: pageSize, fileSize: UInt64(headerSize + body.count), chunks: UInt64(chunks.count))
            + body
    }

    // MARK: Parsing

    /// Reads and checks everything but the page bytes: the header, every chunk header, every
    /// metadata chunk (checksums included) and the placement of every memory chunk. Memory
    /// chunks' checksums are checked when their bytes are read (`verifyExtents` or a restore).
    /// `checksums: false` skips the CRC comparisons (only for the fuzzer, to reach the decoding
    /// behind them); everything else is checked the same.
    /// - Parameters:
    ///   - source: The file's bytes.
    ///   - hostPageSize: This host's page size; a snapshot from another is refused.
    ///   - checksums: Whether to compare the CRCs (only the fuzzer passes false).
    /// - Throws: ``SnapshotFormatError`` for the first problem: `foreign`, `unsupportedVersion`,
    ///   `pageSize`, `truncated`, `corrupted`, `invalid`, or `io` when reading fails.
    public static func parse(_ source: some SnapshotSource, hostPageSize: UInt32, checksums: Bool = true)
        throws(SnapshotFormatError) -> SnapshotManifest
    {
        let fileSize = source.size
        guard fileSize >= UInt64(magic.count) else {
            throw fileSize == 0 ? .truncated("the file is empty") : .foreign
        }
        let head = try source.bytes(at: 0, count: UInt64(min(UInt64(headerSize), fileSize)))
        guard Array(head.prefix(magic.count)) == magic else { throw .foreign }
        guard head.count == headerSize else { throw .truncated("the \(headerSize)-byte header") }
        var r = SnapshotReader(head, what: "header")
        r.skip(magic.count)
        let version = try r.u32()
        let size = try r.u32()
        let pageSize = try r.u32()
        let flags = try r.u32()
        let declaredSize = try r.u64()
        let chunkCount = try r.u64()
        let headerCRC = try SnapshotReader(head, what: "header").u32(at: 60)
        guard !checksums || crc32c(Array(head[0..<60])) == headerCRC else {
            throw .corrupted("the header's checksum does not match")
        }
        guard version == Self.version else { throw .unsupportedVersion(version) }
        guard size == headerSize, flags == 0, head[48..<60].allSatisfy({ $0 == 0 }) else {
            throw .invalid("header fields this version leaves zero are set")
        }
        guard pageSize == hostPageSize else { throw .pageSize(file: pageSize, host: hostPageSize) }
        guard declaredSize == fileSize else {
            throw declaredSize > fileSize
                ? .truncated("the header says \(declaredSize) bytes, the file has \(fileSize)")
                : .invalid("\(fileSize - declaredSize) bytes after the declared end")
        }

        var cursor = UInt64(headerSize)
        var seen: UInt64 = 0
        var image: SnapshotImage?
        var machine: SnapshotMachine?
        var regionCount = 0
        var devices: SnapshotDevices?
        var vcpus: [SnapshotVCPU] = []
        var regions: [SnapshotRegion] = []
        var extents: [SnapshotExtent] = []
        var lastKind = Kind.machine.rawValue
        var regionEnds: [UInt64] = []
        var ended = false
        while !ended {
            guard seen < chunkCount else {
                throw .invalid(
                    seen == 0
                        ? "the header declares 0 chunks, but the file has chunks after its header"
                        : "the header declares \(counted(chunkCount, "chunk")), but chunk \(seen - 1), the last of them, is not the end chunk"
                )
            }
            guard fileSize - cursor >= UInt64(chunkHeaderSize) else {
                throw .truncated("chunk \(seen)'s header at byte \(cursor)")
            }
            let raw = try source.bytes(at: cursor, count: UInt64(chunkHeaderSize))
            var h = SnapshotReader(raw, what: "chunk \(seen)")
            let kindValue = try h.u32()
            let chunkFlags = try h.u32()
            let length = try h.u64()
            let argument0 = try h.u64()
            let argument1 = try h.u64()
            let payloadCRC = try h.u32()
            let headerCRC = try h.u32()
            guard !checksums || crc32c(Array(raw[0..<36])) == headerCRC else {
                throw .corrupted("chunk \(seen)'s header checksum does not match")
            }
            guard let kind = Kind(rawValue: kindValue), chunkFlags == 0 else {
                throw .invalid("chunk \(seen) has unknown kind \(kindValue) or flags \(chunkFlags)")
            }
            cursor += UInt64(chunkHeaderSize)
            guard length <= fileSize - cursor else {
                throw .truncated("chunk \(seen) (\(kind.name)) of \(length) bytes at byte \(cursor)")
            }
            // Order: machine, devices, vCPUs, regions, memory…, end.
            let order: [Kind: UInt32] = [.machine: 1, .devices: 2, .vcpu: 3, .region: 4, .memory: 5, .end: 6]
            guard (seen == 0) == (kind == .machine), order[kind]! >= lastKind,
                kind == .vcpu || kind == .region || kind == .memory || order[kind]! > lastKind || seen == 0
            else {
                throw .invalid("chunk \(seen) (\(kind.name)) is out of order")
            }
            lastKind = order[kind]!
            if kind != .memory {
                guard length <= maximumMetadataChunk else {
                    throw .invalid("the \(kind.name) chunk claims \(length) bytes")
                }
                guard argument0 == 0, argument1 == 0 else { throw .invalid("the \(kind.name) chunk has arguments set") }
                let payload = try source.bytes(at: cursor, count: length)
                guard !checksums || crc32c(payload) == payloadCRC else {
                    throw .corrupted("the \(kind.name) chunk's checksum does not match")
                }
                var p = SnapshotReader(payload, what: "the \(kind.name) chunk")
                switch kind {
                case .machine:
                    let parsed = try parseMachine(&p)
                    (image, machine, regionCount) = parsed
                case .devices:
                    devices = try parseDevices(&p, machine: machine!)
                case .vcpu:
                    guard vcpus.count < Int(machine!.vcpus) else {
                        throw .invalid(
                            "chunk \(seen) is vCPU chunk \(vcpus.count + 1), but the machine chunk declares \(counted(machine!.vcpus, "vCPU"))"
                        )
                    }
                    vcpus.append(try parseVCPU(&p, index: UInt32(vcpus.count)))
                case .region:
                    guard devices != nil else {
                        throw .invalid("chunk \(seen) (region) comes before any devices chunk, which must precede it")
                    }
                    guard vcpus.count == Int(machine!.vcpus) else {
                        throw .invalid(
                            "chunk \(seen) (region) follows \(counted(vcpus.count, "vCPU chunk")), but the machine chunk declares \(counted(machine!.vcpus, "vCPU"))"
                        )
                    }
                    guard regions.count < regionCount else {
                        throw .invalid(
                            "chunk \(seen) is region chunk \(regions.count + 1), but the machine chunk declares \(counted(regionCount, "region"))"
                        )
                    }
                    let region = try parseRegion(
                        &p, index: regions.count, previous: regions.last, memorySize: machine!.memorySize)
                    regions.append(region)
                    regionEnds.append(0)
                case .end:
                    guard length == 0 else { throw .invalid("the end chunk has a payload") }
                    guard regions.count == regionCount else {
                        throw .invalid(
                            "the end chunk (chunk \(seen)) follows \(counted(regions.count, "region chunk")), but the machine chunk declares \(counted(regionCount, "region"))"
                        )
                    }
                    ended = true
                case .memory:
                    break
                }
                try p.expectEnd()
            } else {
                guard regions.count == regionCount else {
                    throw .invalid(
                        "chunk \(seen) (memory) follows \(counted(regions.count, "region chunk")), but the machine chunk declares \(counted(regionCount, "region")): every region chunk must precede the memory"
                    )
                }
                guard argument0 < UInt64(regions.count) else {
                    throw .invalid(
                        "memory chunk \(seen) names region \(argument0), but the regions are numbered 0 to \(regions.count - 1)"
                    )
                }
                let index = Int(argument0)
                let region = regions[index]
                let page = UInt64(hostPageSize)
                guard !region.released, region.flags == knownFlags else {
                    throw .invalid(
                        "memory chunk \(seen) for region \(region.name), which is released or private to the guest")
                }
                guard length > 0, length % page == 0, argument1 % page == 0, length <= maximumExtent else {
                    throw .invalid(
                        "memory chunk \(seen): offset \(argument1) or length \(length) is not a page multiple up to \(maximumExtent)"
                    )
                }
                let (end, overflow) = argument1.addingReportingOverflow(length)
                guard !overflow, end <= region.size else {
                    throw .invalid(
                        "memory chunk \(seen): [\(argument1), +\(length)) does not fit region \(region.name) of \(region.size) bytes"
                    )
                }
                guard argument1 >= regionEnds[index] else {
                    throw .invalid("memory chunk \(seen) overlaps or precedes the one before it in \(region.name)")
                }
                regionEnds[index] = end
                extents.append(
                    SnapshotExtent(
                        region: index, offset: argument1, length: length, fileOffset: cursor, crc32c: payloadCRC))
            }
            cursor += length
            seen += 1
        }
        guard seen == chunkCount else {
            throw .invalid(
                "the end chunk is chunk \(seen - 1), so the file has \(counted(seen, "chunk")), but the header declares \(chunkCount)"
            )
        }
        guard cursor == fileSize else { throw .invalid("bytes after the end chunk") }
        guard let image, let machine else { throw .invalid("the machine chunk is missing") }
        guard let devices else {
            throw .invalid("the devices chunk is missing (the file has none before its end chunk)")
        }
        guard vcpus.count == Int(machine.vcpus) else {
            throw .invalid(
                "the file has \(counted(vcpus.count, "vCPU chunk")), but the machine chunk declares \(counted(machine.vcpus, "vCPU"))"
            )
        }
        guard vcpus.first?.exitStatus == nil else {
            throw .invalid("vCPU 0 has exited: the guest had ended, nothing to resume")
        }
        return SnapshotManifest(
            pageSize: pageSize, image: image, machine: machine, devices: devices, vcpus: vcpus,
            regions: regions, extents: extents, fileSize: fileSize)
    }

    /// "1 vCPU", "3 vCPUs": a count and its noun.
    static func counted(_ count: some BinaryInteger, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }

    static func parseMachine(_ p: inout SnapshotReader) throws(SnapshotFormatError) -> (
        SnapshotImage, SnapshotMachine, Int
    ) {
        let image = SnapshotImage(name: try p.string(max: maximumName), size: try p.u64(), crc32c: try p.u32())
        let memorySize = try p.u64()
        let vcpus = try p.u32()
        let parameter = try p.u32()
        let consoleLimit = try p.u64()
        let regions = try p.u32()
        let machine = SnapshotMachine(
            memorySize: memorySize, vcpus: vcpus, parameter: parameter, consoleLimit: consoleLimit,
            reason: try p.string(max: maximumName), runNanoseconds: try p.u64())
        guard memorySize >= GuestABI.minimumMemory, memorySize <= GuestABI.maximumMemory,
            memorySize % GuestABI.memoryGranule == 0
        else {
            throw .invalid("RAM of \(memorySize) bytes (a multiple of 2 MiB from 4 MiB to 4 GiB)")
        }
        guard (1...maximumVCPUs).contains(vcpus) else { throw .invalid("\(vcpus) vCPUs (1 to \(maximumVCPUs))") }
        guard UInt64(vcpus) * GuestABI.stackSize + GuestABI.imageBase < memorySize else {
            throw .invalid("\(vcpus) vCPU stacks do not fit \(memorySize) bytes")
        }
        guard consoleLimit <= maximumConsole else { throw .invalid("a console limit of \(consoleLimit) bytes") }
        guard (1...UInt32(maximumRegions)).contains(regions) else {
            throw .invalid("\(regions) regions (1 to \(maximumRegions))")
        }
        return (image, machine, Int(regions))
    }

    static func parseDevices(_ p: inout SnapshotReader, machine: SnapshotMachine) throws(SnapshotFormatError)
        -> SnapshotDevices
    {
        let consoleCount = try p.u32()
        guard UInt64(consoleCount) <= machine.consoleLimit else {
            throw .invalid("\(consoleCount) console bytes over the limit \(machine.consoleLimit)")
        }
        let console = try p.bytes(Int(consoleCount))
        let pings = try p.u64()
        let requestCount = try p.u32()
        guard requestCount <= maximumRequests else { throw .invalid("\(requestCount) snapshot requests") }
        var requests: [UInt32] = []
        for _ in 0..<requestCount { requests.append(try p.u32()) }
        return SnapshotDevices(console: console, pings: pings, snapshotRequests: requests)
    }

    static func parseVCPU(_ p: inout SnapshotReader, index: UInt32) throws(SnapshotFormatError) -> SnapshotVCPU {
        let stored = try p.u32()
        guard stored == index else { throw .invalid("vCPU chunk \(index) is for vCPU \(stored)") }
        let exited = try p.u8()
        let status = try p.u32()
        guard exited <= 1 else { throw .invalid("vCPU \(index)'s exit flag is \(exited)") }
        let registers = try p.bytes(registersSize)
        let sregs = try p.bytes(specialRegistersSize)
        let fpu = try p.bytes(fpuSize)
        let events = try p.bytes(eventsSize)
        let count = try p.u32()
        guard count <= maximumMSRs else { throw .invalid("vCPU \(index) has \(count) MSRs (at most \(maximumMSRs))") }
        var msrs: [SnapshotVCPU.MSR] = []
        for _ in 0..<count { msrs.append(.init(index: try p.u32(), value: try p.u64())) }
        return SnapshotVCPU(
            index: index, exitStatus: exited == 1 ? status : nil, registers: registers, specialRegisters: sregs,
            fpu: fpu, events: events, msrs: msrs)
    }

    static func parseRegion(_ p: inout SnapshotReader, index: Int, previous: SnapshotRegion?, memorySize: UInt64)
        throws(SnapshotFormatError) -> SnapshotRegion
    {
        let region = SnapshotRegion(
            name: try p.string(max: maximumName), guestPhysicalAddress: try p.u64(), size: try p.u64(),
            flags: try p.u64(), released: try p.u8() != 0, allocatedBytes: try p.u64(), punchedBytes: try p.u64())
        let expectedStart = previous.map { $0.guestPhysicalAddress &+ $0.size } ?? 0
        guard region.guestPhysicalAddress == expectedStart else {
            throw .invalid(
                "region \(region.name) starts at \(region.guestPhysicalAddress), not \(expectedStart) where the one before ends"
            )
        }
        guard region.size > 0, region.size % GuestABI.memoryGranule == 0, region.size <= GuestABI.maximumMemory,
            region.guestPhysicalAddress <= GuestABI.maximumMemory - region.size
        else {
            throw .invalid(
                "region \(region.name) of \(region.size) bytes at \(region.guestPhysicalAddress) does not fit the 4 GiB guest address space in 2 MiB units"
            )
        }
        guard region.flags & ~knownFlags == 0 else {
            throw .invalid("region \(region.name) has unknown guest_memfd flags \(region.flags)")
        }
        if index == 0 {
            guard region.size == memorySize, region.flags == knownFlags, !region.released else {
                throw .invalid("region 0 must be RAM: \(memorySize) bytes, MMAP|INIT_SHARED, not released")
            }
        }
        guard region.allocatedBytes <= region.size, region.punchedBytes <= UInt64.max / 2 else {
            throw .invalid("region \(region.name)'s accounting exceeds its size")
        }
        return region
    }

    /// Reads the bytes of every memory chunk and checks its checksum (what `gmem snapshot
    /// inspect` does); a restore checks each chunk as it copies it instead.
    /// - Throws: ``SnapshotFormatError`` `corrupted` for the first chunk whose checksum does not match,
    ///   `truncated` or `io` when reading fails.
    public static func verifyExtents(of manifest: SnapshotManifest, in source: some SnapshotSource)
        throws(SnapshotFormatError)
    {
        var buffer = [UInt8](repeating: 0, count: Int(manifest.extents.map(\.length).max() ?? 0))
        for (number, extent) in manifest.extents.enumerated() {
            let length = Int(extent.length)
            // SAFETY: the buffer holds the largest extent, so [0, length) is inside its storage,
            // valid and exclusively borrowed for the closure; `read` writes only inside `slice`.
            let result = unsafe buffer.withUnsafeMutableBytes { raw -> Result<UInt32, SnapshotFormatError> in
                // SAFETY: as above.
                let slice = unsafe UnsafeMutableRawBufferPointer(rebasing: raw[0..<length])
                // SAFETY: as above.
                do throws(SnapshotFormatError) { try unsafe source.read(at: extent.fileOffset, into: slice) } catch {
                    return .failure(error)
                }
                // SAFETY: as above; the read-only view aliases the same valid bytes.
                return .success(unsafe extentCRC(extent, UnsafeRawBufferPointer(slice)))
            }
            let crc = try result.get()
            guard crc == extent.crc32c else {
                throw .corrupted(
                    "memory chunk \(number) (region \(manifest.regions[extent.region].name), offset \(extent.offset)) checksum does not match"
                )
            }
        }
    }

    /// A memory chunk's checksum: over its region index and offset, then its bytes.
    static func extentCRC(_ extent: SnapshotExtent, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        // SAFETY: `bytes` is valid for this call (the caller's contract) and only read.
        unsafe extentCRC(region: extent.region, offset: extent.offset, bytes)
    }

    static func extentCRC(region: Int, offset: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var w = SnapshotWriter()
        w.u64(UInt64(region))
        w.u64(offset)
        // SAFETY: `bytes` is valid for this call (the caller's contract) and only read.
        return unsafe crc32c(bytes, extending: crc32c(w.data))
    }
}

/// Where a snapshot is read from: a file (`SnapshotFile`) or bytes in memory.
public protocol SnapshotSource {
    /// The total size in bytes.
    var size: UInt64 { get }
    /// Fills `buffer` with the bytes at `offset`; throws `.truncated` when the source ends first.
    /// - Throws: ``SnapshotFormatError`` `truncated` when the source ends first, `io` when reading fails.
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(SnapshotFormatError)
}

extension SnapshotSource {
    /// `count` bytes at `offset` (the caller has bounded `count`).
    func bytes(at offset: UInt64, count: UInt64) throws(SnapshotFormatError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(count))
        // SAFETY: the array's storage is valid and exclusively borrowed for the closure, and
        // `read` writes only inside it.
        let result = unsafe bytes.withUnsafeMutableBytes { raw -> Result<Void, SnapshotFormatError> in
            // SAFETY: as above.
            do throws(SnapshotFormatError) { try unsafe read(at: offset, into: raw) } catch { return .failure(error) }
            return .success(())
        }
        try result.get()
        return bytes
    }
}

/// A snapshot held in memory (tests, the fuzzer).
public struct SnapshotBytes: SnapshotSource {
    /// The snapshot's bytes.
    public let bytes: [UInt8]
    /// A source over `bytes`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var size: UInt64 { UInt64(bytes.count) }
    /// Copies the bytes at `offset` into `buffer`.
    /// - Throws: ``SnapshotFormatError`` `truncated` when the bytes end first.
    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(SnapshotFormatError) {
        guard offset <= UInt64(bytes.count), UInt64(buffer.count) <= UInt64(bytes.count) - offset else {
            throw .truncated("\(buffer.count) bytes at \(offset) of \(bytes.count)")
        }
        // SAFETY: [offset, offset + buffer.count) is inside `bytes` (checked above) and `buffer`
        // is valid for its count (the caller's contract); the two do not overlap.
        unsafe bytes.withUnsafeBytes { source in
            // SAFETY: as above.
            unsafe buffer.copyMemory(
                from: UnsafeRawBufferPointer(rebasing: source[Int(offset)..<Int(offset) + buffer.count]))
        }
    }
}

/// Little-endian encoding.
struct SnapshotWriter {
    var data: [UInt8] = []
    mutating func u8(_ v: UInt8) { data.append(v) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { data.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { data.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func bytes(_ b: [UInt8]) { data.append(contentsOf: b) }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8.prefix(SnapshotFormat.maximumName))
        u32(UInt32(utf8.count))
        bytes(utf8)
    }
}

/// Little-endian decoding with every read bounds-checked.
struct SnapshotReader {
    let data: [UInt8]
    let what: String
    var position = 0
    init(_ data: [UInt8], what: String) {
        self.data = data
        self.what = what
    }

    mutating func skip(_ count: Int) { position += count }

    mutating func bytes(_ count: Int) throws(SnapshotFormatError) -> [UInt8] {
        guard count >= 0, count <= data.count - position else { throw .invalid("\(what) ends early") }
        defer { position += count }
        return Array(data[position..<position + count])
    }
    mutating func u8() throws(SnapshotFormatError) -> UInt8 { try bytes(1)[0] }
    mutating func u32() throws(SnapshotFormatError) -> UInt32 {
        let b = try bytes(4)
        return b.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
    mutating func u64() throws(SnapshotFormatError) -> UInt64 {
        let b = try bytes(8)
        return b.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
    func u32(at offset: Int) throws(SnapshotFormatError) -> UInt32 {
        var copy = self
        copy.position = offset
        return try copy.u32()
    }
    mutating func string(max: Int) throws(SnapshotFormatError) -> String {
        let count = try u32()
        guard count <= UInt32(max) else { throw .invalid("\(what): a string of \(count) bytes (at most \(max))") }
        let b = try bytes(Int(count))
        guard let s = String(validating: b, as: UTF8.self) else {
            throw .invalid("\(what): a string that is not UTF-8")
        }
        return s
    }
    func expectEnd() throws(SnapshotFormatError) {
        guard position == data.count else { throw .invalid("\(what) has \(data.count - position) bytes left over") }
    }
}
