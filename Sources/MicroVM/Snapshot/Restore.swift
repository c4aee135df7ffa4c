import GuestMemory
import KVM
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// How to restore a snapshot.
public struct RestoreOptions: Sendable {
    /// The restored run's wall-clock limit.
    public var timeout: Duration = .seconds(30)
    /// Whether the report measures each region's residency at exit.
    public var measuresResidency = false
    /// Whether to probe write(2) and userfaultfd population first (one throwaway VM).
    public var probesPopulationPaths = true
    /// Receives each console byte of the restored run, as it is written.
    public var console: @Sendable (UInt8) -> Void = { _ in }
    /// Where the restored machine logs (swift-log).
    public var logger = Logger(label: "gmemkit.microvm")
    /// The defaults: 30 s, no residency measurement, population paths probed.
    public init() {}
}

/// A snapshot opened and checked, ready to restore into one machine or many (clones).
///
/// Opening reads and checks everything but the page bytes (`SnapshotFormat.parse`); each
/// restore creates a new VM, a new guest_memfd per region created by *that* VM, and copies the
/// pages into the new file's own shared mapping, checking every memory chunk's CRC32C as it
/// lands. A guest_memfd is never bound to a VM other than its creator (GMEM-SPEC B5).
public final class Snapshot: Sendable {
    /// The snapshot file's path.
    public let path: String
    /// Everything the file says but the page bytes, checked.
    public let manifest: SnapshotManifest
    let file: SnapshotFile

    /// Opens `path` and checks its header, chunk headers and metadata.
    /// - Throws: ``SnapshotError`` `file` when the file cannot be opened or read, `format` when it is
    ///   not a valid snapshot (truncated, corrupted, foreign, another version or page size).
    public init(path: String) throws(SnapshotError) {
        let file = try SnapshotFile(path: path)
        do { manifest = try SnapshotFormat.parse(file, hostPageSize: hostPageSize) } catch {
            throw .format(path: path, error)
        }
        self.path = path
        self.file = file
    }

    /// Checks the CRC32C of every memory chunk (reads the whole file).
    /// - Throws: ``SnapshotError`` `format` (`corrupted`) for the first chunk whose checksum does not
    ///   match, or `file` when reading fails.
    public func verify() throws(SnapshotError) {
        do { try SnapshotFormat.verifyExtents(of: manifest, in: file) } catch { throw .format(path: path, error) }
    }

    /// The configuration the snapshot's machine had (no image bytes: memory holds the image).
    public func config(_ options: RestoreOptions) -> MachineConfig {
        var config = MachineConfig(
            name: manifest.image.name, image: [], memorySize: manifest.machine.memorySize,
            vcpus: Int(manifest.machine.vcpus), timeout: options.timeout,
            parameter: manifest.machine.parameter, consoleLimit: Int(manifest.machine.consoleLimit))
        config.extraRegions = manifest.regions.dropFirst().map(\.size)
        config.measuresResidency = options.measuresResidency
        return config
    }

    /// The population paths this host offers (cached: probed once per process).
    public static func probePopulationPaths() -> [String] {
        probeResult.withLock { cached in
            if let cached { return cached }
            let lines: [String]
            do { lines = try PopulationProbe.run(on: KVMSystem()).summary } catch { lines = ["probe failed: \(error)"] }
            cached = lines
            return lines
        }
    }
    private static let probeResult = PthreadLock<[String]?>(nil)

    /// The path every restore takes on this kernel.
    public static let populationPath =
        "shared mapping (pread from the snapshot into the new guest_memfd's MMAP|INIT_SHARED mapping)"

    static func createVCPU(on vm: borrowing VirtualMachine, _ index: UInt32) throws(SnapshotError) -> VCPU {
        do { return try vm.createVCPU(id: index) } catch { throw .machine(.kernel(error)) }
    }

    /// Applies vCPU `saved`'s state (`state`) to `vcpu`; a refusal names the vCPU and, for
    /// `KVM_SET_MSRS`, the first MSR refused.
    static func apply(_ state: VCPUState, of saved: SnapshotVCPU, to vcpu: borrowing VCPU, path: String)
        throws(SnapshotError)
    {
        do { try vcpu.applyState(state) } catch {
            let refused = error.operation == .setMSRs ? firstRefusedMSR(of: saved, on: vcpu) : nil
            throw .vcpuState(path: path, vcpu: saved.index, error, refusedMSR: refused)
        }
    }

    /// The first of `saved`'s MSRs that the kernel refuses on `vcpu`, with its position in
    /// the saved list: each MSR applied alone, in order, as `KVM_SET_MSRS` applies them (it
    /// reports only how many it set). Nil when each is taken alone.
    static func firstRefusedMSR(of saved: SnapshotVCPU, on vcpu: borrowing VCPU) -> (
        position: Int, msr: SnapshotVCPU.MSR
    )? {
        for (position, msr) in saved.msrs.enumerated() {
            guard
                let single = VCPUState(
                    registers: saved.registers, specialRegisters: saved.specialRegisters, fpu: saved.fpu,
                    events: saved.events, msrs: [.init(index: msr.index, value: msr.value)])
            else { return nil }
            do { try vcpu.applyState(single) } catch {
                if error.operation == .setMSRs { return (position, msr) }
                return nil
            }
        }
        return nil
    }

    /// Restores the snapshot into a new machine, built but not started. On any failure
    /// nothing is left behind: the VM, its guest_memfds and mappings close as the error
    /// propagates.
    /// - Parameter options: The restored run's limits, console and logger.
    /// - Returns: The machine, built and not started, and what the restore did.
    /// - Throws: ``SnapshotError``: `format` for a chunk whose checksum does not match as it is
    ///   copied, `machine` when the VM or its memory cannot be built, `vcpuState` when the kernel
    ///   refuses a vCPU's saved registers or MSRs (naming the vCPU and, for MSRs, the first one
    ///   refused), `file` when reading fails.
    public func restore(_ options: RestoreOptions = RestoreOptions()) throws(SnapshotError) -> (
        MachineHandle, RestoreReport
    ) {
        let probe = options.probesPopulationPaths ? Self.probePopulationPaths() : []
        let started = ContinuousClock.now
        let config = config(options)
        do { try config.validate() } catch { throw .machine(error) }
        let logger = options.logger

        let vm: VirtualMachine
        do { vm = try KVMSystem(logger: logger).createVM() } catch { throw .machine(.kernel(error)) }
        let layout = manifest.regions.map {
            GuestMemoryMap.RegionSpec(
                name: $0.name, start: GuestPhysicalAddress($0.guestPhysicalAddress), size: $0.size,
                flags: GuestMemfdFlags(rawValue: $0.flags))
        }
        let memory: GuestMemoryMap
        do { memory = try GuestMemoryMap(vm: vm, layout: layout, logger: logger) } catch {
            throw .machine(.memory(error))
        }

        // Pages: straight from the file into each new guest_memfd's shared mapping.
        for (number, extent) in manifest.extents.enumerated() {
            let region = memory.regions[extent.region]
            let outcome: Result<UInt32, SnapshotFormatError>
            do {
                // SAFETY: the region's bytes are valid for the closure (withSharedBytes checked the
                // range and holds the region's lock); the file fills them and they are
                // checksummed there, not kept.
                outcome = try unsafe region.withSharedBytes(offset: extent.offset, count: extent.length) { bytes in
                    // SAFETY: as above; `read` writes only inside `bytes`.
                    do throws(SnapshotFormatError) { try unsafe file.read(at: extent.fileOffset, into: bytes) } catch {
                        return .failure(error)
                    }
                    // SAFETY: as above; the read-only view aliases the same valid bytes.
                    return .success(unsafe SnapshotFormat.extentCRC(extent, UnsafeRawBufferPointer(bytes)))
                }
            } catch { throw .machine(.memory(error)) }
            let crc: UInt32
            do { crc = try outcome.get() } catch { throw .format(path: path, error) }
            guard crc == extent.crc32c else {
                throw .format(
                    path: path,
                    .corrupted(
                        "memory chunk \(number) (region \(region.name), offset \(extent.offset)) checksum does not match"
                    ))
            }
        }
        for (region, saved) in zip(memory.regions, manifest.regions) {
            region.carryOverAccounting(allocatedBytes: saved.allocatedBytes, punchedBytes: saved.punchedBytes)
            // its memslot stays; the next guest access faults (GMEM-SPEC L5, G2)
            if saved.released { region.release() }
        }

        // vCPUs and devices.
        let live = manifest.vcpus.filter { $0.exitStatus == nil }.map { Int($0.index) }
        let control = RunControl()
        let state = RunState(control: control, started: started, vcpus: live.count)
        state.console.withLock { $0 = manifest.devices.console }
        state.pings.store(manifest.devices.pings, ordering: .relaxed)
        state.snapshotRequests.withLock { $0 = manifest.devices.snapshotRequests }
        state.statuses.withLock { statuses in
            for vcpu in manifest.vcpus { if let status = vcpu.exitStatus { statuses[Int(vcpu.index)] = status } }
        }
        var runners: [VCPURunner] = []
        for saved in manifest.vcpus {
            guard
                let vcpuState = VCPUState(
                    registers: saved.registers, specialRegisters: saved.specialRegisters, fpu: saved.fpu,
                    events: saved.events, msrs: saved.msrs.map { .init(index: $0.index, value: $0.value) })
            else {
                throw .format(
                    path: path, .invalid("vCPU \(saved.index)'s state has the wrong size for this host's KVM"))
            }
            let vcpu = try Self.createVCPU(on: vm, saved.index)
            try Self.apply(vcpuState, of: saved, to: vcpu, path: path)
            control.kickers.withLock { $0.append(vcpu.kicker) }
            runners.append(
                VCPURunner(
                    index: Int(saved.index), vcpu: vcpu, state: state, memory: memory,
                    parameter: config.parameter, consoleLimit: config.consoleLimit, consoleSink: options.console))
        }
        let restoreTime = ContinuousClock.now - started
        let handle = MachineHandle(
            config: config, vm: vm, memory: memory, runners: runners, live: live, run: state,
            control: control, logger: logger, restoredImage: manifest.image)
        let report = RestoreReport(
            path: path, image: manifest.image, reason: manifest.machine.reason,
            memoryBytes: manifest.savedBytes, extents: manifest.extents.count, regions: manifest.regions,
            population: Self.populationPath, probe: probe, restoreTime: restoreTime)
        return (handle, report)
    }
}
