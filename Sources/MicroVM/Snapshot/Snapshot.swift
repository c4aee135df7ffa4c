import CChecksum
import GuestMemory
import KVM
import Logging
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Why a snapshot could not be taken or restored: one readable line each.
public enum SnapshotError: Error, Sendable, CustomStringConvertible {
    /// The snapshot file is unusable (truncated, corrupted, foreign, another version …).
    case format(path: String, SnapshotFormatError)
    /// Building or driving the machine failed.
    case machine(MachineError)
    /// A file operation failed (errno).
    case file(operation: String, path: String, errno: Int32)
    /// The machine cannot be snapshotted as it is.
    case unsupported(String)
    /// The kernel refused vCPU `vcpu`'s saved state on restore (`error` names the ioctl and
    /// errno). For `KVM_SET_MSRS`, `refusedMSR` is the first saved MSR it did not set: its
    /// position in the vCPU's saved list and the MSR (the ioctl sets MSRs in order and stops
    /// at the first it refuses).
    case vcpuState(path: String, vcpu: UInt32, KVMError, refusedMSR: (position: Int, msr: SnapshotVCPU.MSR)?)

    /// One line: the path and what is wrong, or the underlying error's own words.
    public var description: String {
        switch self {
        case .format(let path, let error): "\(path): \(error)"
        case .machine(let error): error.description
        case .file(let operation, let path, let code):
            "\(operation) \(path): \(Errno(rawValue: code).symbolicName) (\(HostFile.describe(errno: code)))"
        case .unsupported(let what): what
        case .vcpuState(let path, let vcpu, let error, let refused):
            "\(path): restoring vCPU \(vcpu)'s saved state: \(error)"
                + (refused.map {
                    "; it set the first \($0.position) of the vCPU's saved MSRs and refused the next (number \($0.position) from 0): MSR 0x\(String($0.msr.index, radix: 16)) = 0x\(String($0.msr.value, radix: 16))"
                } ?? "")
        }
    }
}

/// What a snapshot saved.
public struct SnapshotReport: Sendable {
    /// What was saved of one region.
    public struct Region: Sendable {
        /// The region's name.
        public let name: String
        /// Its size in bytes.
        public let size: UInt64
        /// Bytes of it saved (resident pages only).
        public let savedBytes: UInt64
        /// Runs of saved pages.
        public let extents: Int
        /// Whether its file had been released (nothing saved).
        public let released: Bool
    }
    /// Where the snapshot was written.
    public let path: String
    /// Why it was taken (`api`, `exits=N`, `guest request 0x1` ...).
    public let reason: String
    /// The file's size in bytes.
    public let fileBytes: UInt64
    /// Bytes of guest memory saved.
    public let memoryBytes: UInt64
    /// What was saved of each region.
    public let regions: [Region]
    /// vCPUs saved.
    public let vcpus: Int
    /// MSRs saved in all.
    public let msrs: Int
    /// Reading residency, checksumming and writing (the file in the page cache).
    public let writeTime: Duration
    /// `fsync` of the file and of its directory.
    public let syncTime: Duration
}

/// What a restore did.
public struct RestoreReport: Sendable {
    /// The snapshot restored.
    public let path: String
    /// The guest image the machine ran.
    public let image: SnapshotImage
    /// Why the snapshot was taken.
    public let reason: String
    /// Bytes of guest memory copied into the new guest_memfds.
    public let memoryBytes: UInt64
    /// Runs of pages copied.
    public let extents: Int
    /// The regions restored.
    public let regions: [SnapshotRegion]
    /// The population path that ran ("shared mapping"), and what the probe found of the others.
    public let population: String
    /// What the population probe found of the paths not taken (empty when not probed).
    public let probe: [String]
    /// From opening the file to a machine ready to start (VM, guest_memfds, pages, vCPUs).
    public let restoreTime: Duration
}

/// A snapshot file opened for reading: `pread` at offsets, the descriptor closed in deinit.
final class SnapshotFile: SnapshotSource, @unchecked Sendable {
    // SAFETY (Sendable): `fd` and `size` never change; pread is safe from any thread.
    let fd: Int32
    let size: UInt64
    let path: String

    init(path: String) throws(SnapshotError) {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; the file type is checked next.
        let (fd, openErrno) = HostFile.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .file(operation: "open", path: path, errno: openErrno) }
        let (status, statErrno) = HostFile.status(of: fd)
        guard let info = status else {
            close(fd)
            throw .file(operation: "stat", path: path, errno: statErrno)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .format(path: path, .invalid("not a regular file"))
        }
        self.fd = fd
        self.size = UInt64(info.st_size)
        self.path = path
    }

    deinit { close(fd) }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(SnapshotFormatError) {
        // SAFETY: `buffer` is valid for its count during this call (SnapshotSource's contract),
        // and HostFile.read writes only inside it.
        switch unsafe HostFile.read(fd, at: offset, into: buffer) {
        case .complete: return
        case .offsetTooLarge: throw .truncated("an offset past the end")
        case .failed(let code): throw .io("read", code)
        case .endOfFile: throw .truncated("\(buffer.count) bytes at byte \(offset)")
        }
    }
}

/// This host's page size.
var hostPageSize: UInt32 { UInt32(truncatingIfNeeded: sysconf(Int32(_SC_PAGESIZE))) }

extension MachineHandle {
    /// Writes a snapshot of this paused machine to `path`, atomically: a temporary file in the
    /// same directory, `fsync`, `rename`, `fsync` of the directory. A crash at any point leaves
    /// the previous file at `path` (or none), never a partial one.
    ///
    /// Memory is saved per region, only the pages `mincore` reports resident in the
    /// guest_memfd's shared mapping (touched and not punched); holes stay holes.
    /// - Parameters:
    ///   - path: Where the snapshot goes (replaced atomically).
    ///   - reason: Why it was taken, kept in the file (`api`, `exits=N`, ...).
    /// - Throws: ``SnapshotError``: `machine` when the machine is not paused or a vCPU's state cannot
    ///   be read, `file` when writing, syncing or renaming fails (the previous file stays).
    public func snapshot(to path: String, reason: String = "api") throws(SnapshotError) -> SnapshotReport {
        guard state == .paused else { throw .machine(.invalidTransition(action: "snapshot", state: state.rawValue)) }
        let started = ContinuousClock.now
        let statuses = run.statuses.withLock { $0 }
        var vcpus: [SnapshotVCPU] = []
        for runner in runners {
            let state: VCPUState
            do { state = try runner.vcpu.captureState() } catch { throw .machine(.kernel(error)) }
            vcpus.append(
                SnapshotVCPU(
                    index: UInt32(runner.index), exitStatus: statuses[runner.index],
                    registers: state.registers, specialRegisters: state.specialRegisters, fpu: state.fpu,
                    events: state.events, msrs: state.msrs.map { .init(index: $0.index, value: $0.value) }))
        }
        let devices = SnapshotDevices(
            console: run.console.withLock { $0 }, pings: run.pings.load(ordering: .relaxed),
            snapshotRequests: run.snapshotRequests.withLock { $0 })
        let elapsed = ContinuousClock.now - run.started - run.gate.totalPaused
        let machine = SnapshotMachine(
            memorySize: config.memorySize, vcpus: UInt32(config.vcpus), parameter: config.parameter,
            consoleLimit: UInt64(min(max(config.consoleLimit, 0), Int(SnapshotFormat.maximumConsole))),
            reason: reason, runNanoseconds: UInt64(max(elapsed.nanoseconds, 0)))
        let image =
            restoredImage
            ?? SnapshotImage(
                name: config.name, size: UInt64(config.image.count),
                crc32c: SnapshotFormat.crc32c(config.image))

        // Regions and their resident runs.
        var regions: [SnapshotRegion] = []
        var extents: [(region: Int, offset: UInt64, length: UInt64)] = []
        for (index, region) in memory.regions.enumerated() {
            let usage = region.usage(measuringResidency: false)
            regions.append(
                SnapshotRegion(
                    name: region.name, guestPhysicalAddress: region.range.start.rawValue, size: region.range.size,
                    flags: region.flags.rawValue, released: !region.isLive,
                    allocatedBytes: usage.allocatedBytes, punchedBytes: usage.punchedBytes))
            guard region.isLive else { continue }
            guard region.flags.isSuperset(of: .hostShared), region.sharedSideIsFile else {
                throw .unsupported(
                    "region \(region.name) is private to the guest (its guest_memfd lacks MMAP|INIT_SHARED): the VMM cannot read it to snapshot it"
                )
            }
            for (offset, length) in try Self.residentRuns(of: region) { extents.append((index, offset, length)) }
        }

        // Layout: header, machine, devices, vCPUs, regions, memory…, end.
        var metadata: [(SnapshotFormat.Kind, [UInt8])] = [
            (.machine, SnapshotFormat.encode(image, machine, regions: regions.count)),
            (.devices, SnapshotFormat.encode(devices)),
        ]
        metadata += vcpus.map { (.vcpu, SnapshotFormat.encode($0)) }
        metadata += regions.map { (.region, SnapshotFormat.encode($0)) }
        let header = UInt64(SnapshotFormat.headerSize)
        let chunkHeader = UInt64(SnapshotFormat.chunkHeaderSize)
        var fileSize = header + metadata.reduce(0) { $0 + chunkHeader + UInt64($1.1.count) }
        let memoryStart = fileSize
        fileSize += extents.reduce(0) { $0 + chunkHeader + $1.length } + chunkHeader
        let chunks = UInt64(metadata.count + extents.count + 1)

        let writer = try AtomicFile(path: path)
        var position: UInt64 = 0
        try writer.write(
            SnapshotFormat.header(pageSize: hostPageSize, fileSize: fileSize, chunks: chunks), at: &position)
        for (kind, payload) in metadata {
            try writer.write(
                SnapshotFormat.chunkHeader(
                    kind, length: UInt64(payload.count), payloadCRC: SnapshotFormat.crc32c(payload)), at: &position)
            try writer.write(payload, at: &position)
        }
        precondition(position == memoryStart)
        for extent in extents {
            let region = memory.regions[extent.region]
            let headerAt = position
            position += chunkHeader
            let result: Result<UInt32, SnapshotError>
            do {
                // SAFETY: the region's bytes are valid for the closure (withSharedBytes checked the
                // range and holds the region's lock); they are checksummed and written, not kept.
                result = try unsafe region.withSharedBytes(offset: extent.offset, count: extent.length) { bytes in
                    let view = UnsafeRawBufferPointer(bytes)
                    // SAFETY: as above: `view` aliases the valid bytes and is only read.
                    let crc = unsafe SnapshotFormat.extentCRC(region: extent.region, offset: extent.offset, view)
                    // SAFETY: as above.
                    do throws(SnapshotError) { try unsafe writer.write(view, at: &position) } catch {
                        return .failure(error)
                    }
                    return .success(crc)
                }
            } catch { throw .machine(.memory(error)) }
            let crc = try result.get()
            var at = headerAt
            try writer.write(
                SnapshotFormat.chunkHeader(
                    .memory, length: extent.length, arguments: (UInt64(extent.region), extent.offset), payloadCRC: crc),
                at: &at)
        }
        try writer.write(SnapshotFormat.chunkHeader(.end, length: 0, payloadCRC: 0), at: &position)
        precondition(position == fileSize)
        let written = ContinuousClock.now
        try writer.commit()
        let synced = ContinuousClock.now

        let saved = regions.indices.map { index in extents.filter { $0.region == index } }
        logger.debug("snapshot of \(config.name) to \(path): \(fileSize) bytes")
        return SnapshotReport(
            path: path, reason: reason, fileBytes: fileSize, memoryBytes: extents.reduce(0) { $0 + $1.length },
            regions: regions.enumerated().map { index, region in
                .init(
                    name: region.name, size: region.size, savedBytes: saved[index].reduce(0) { $0 + $1.length },
                    extents: saved[index].count, released: region.released)
            },
            vcpus: vcpus.count, msrs: vcpus.reduce(0) { $0 + $1.msrs.count },
            writeTime: written - started, syncTime: synced - written)
    }

    /// The resident runs of a region's shared mapping (`mincore`), each at most
    /// `SnapshotFormat.maximumExtent` bytes.
    static func residentRuns(of region: GuestMemoryRegion) throws(SnapshotError) -> [(UInt64, UInt64)] {
        let page = HostMapping.pageSize
        let vector: [Bool]
        do { vector = try region.residentPages() } catch { throw .machine(.memory(error)) }
        let pages = vector.count
        var runs: [(UInt64, UInt64)] = []
        var index = 0
        let most = Int(SnapshotFormat.maximumExtent / page)
        while index < pages {
            guard vector[index] else {
                index += 1
                continue
            }
            let start = index
            while index < pages, vector[index], index - start < most { index += 1 }
            runs.append((UInt64(start) * page, UInt64(index - start) * page))
        }
        return runs
    }
}

/// A file written under a temporary name and renamed over `path` only when complete and
/// synced; removed if dropped before `commit()`.
final class AtomicFile {
    let path: String
    let temporary: String
    private var fd: Int32
    private var committed = false

    init(path: String) throws(SnapshotError) {
        self.path = path
        // rename(2) would replace whatever `path` names: refuse a device, FIFO, socket, directory
        // or symlink there (`--snapshot /dev/full` once replaced the device node with a file).
        if let existing = HostFile.linkStatus(of: path), (existing.st_mode & S_IFMT) != S_IFREG {
            throw .format(
                path: path, .invalid("exists and is not a regular file; a snapshot replaces only a regular file"))
        }
        temporary = path + ".tmp-\(getpid())"
        let (fd, code) = HostFile.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o600)
        guard fd >= 0 else { throw .file(operation: "create", path: temporary, errno: code) }
        self.fd = fd
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { HostFile.unlink(temporary) }
    }

    func write(_ bytes: [UInt8], at position: inout UInt64) throws(SnapshotError) {
        let code = HostFile.write(fd, at: position, from: bytes)
        guard code == 0 else { throw .file(operation: "write", path: temporary, errno: code) }
        position += UInt64(bytes.count)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at position: inout UInt64) throws(SnapshotError) {
        // SAFETY: `bytes` is valid for its count during this call (the caller's closure).
        let code = unsafe HostFile.write(fd, at: position, from: bytes)
        guard code == 0 else { throw .file(operation: "write", path: temporary, errno: code) }
        position += UInt64(bytes.count)
    }

    /// fsync, rename over `path`, fsync the directory.
    func commit() throws(SnapshotError) {
        guard fsync(fd) == 0 else { throw .file(operation: "fsync", path: temporary, errno: errno) }
        close(fd)
        fd = -1
        let renamed = HostFile.rename(temporary, to: path)
        guard renamed == 0 else { throw .file(operation: "rename to \(path)", path: temporary, errno: renamed) }
        committed = true
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let (dirFD, code) = HostFile.open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { throw .file(operation: "open directory", path: directory, errno: code) }
        defer { close(dirFD) }
        guard fsync(dirFD) == 0 else { throw .file(operation: "fsync directory", path: directory, errno: errno) }
    }
}
