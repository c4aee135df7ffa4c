import GuestImages
import GuestMemory
import KVM
import MicroVM

#if canImport(Glibc)
import Glibc
#endif

/// The restore figures of `gmem bench`: snapshot and restore bandwidth against the host's own
/// copy into a fresh guest_memfd mapping, restore-to-first-exit against a cold start, and
/// clones per second against cold starts per second, each pair measured back to back.
public enum RestoreBench {
    /// One snapshot-and-restore round of a `memory`-byte pingpong guest of which `touched` bytes
    /// (from 16 MiB up) were written by the VMM before it started: the snapshot's copy rate
    /// (mincore, CRC32C, write to the page cache; fsync excluded) and the restore's (new VM,
    /// guest_memfd, pread into its mapping, CRC32C, vCPU state), in MiB/s of saved memory.
    public static func snapshotAndRestore(memory: UInt64, touched: UInt64, directory: String) throws -> (
        snapshot: Double, restore: Double, sync: Double, saved: UInt64
    ) {
        let path = directory + "/gmem-bench-\(getpid()).gsnap"
        // SAFETY: `path` is passed as a C string alive for the call; unlink keeps no pointer.
        defer { unsafe unlink(path) }
        let machine = try MachineHandle.build(
            MachineConfig(name: "pingpong", image: GuestImages.pingpong, memorySize: memory, parameter: UInt32.max),
            prepare: { memory throws(GuestMemoryError) in
                var offset: UInt64 = 0
                let chunk = [UInt8](repeating: 0xA5, count: 1 << 20)
                while offset < touched {
                    try memory.write(chunk, at: GuestPhysicalAddress((16 << 20) + offset))
                    offset += 1 << 20
                }
            })
        try machine.start()
        try machine.pause()
        let saved = try machine.snapshot(to: path, reason: "bench")
        machine.stop()
        var options = RestoreOptions()
        options.probesPopulationPaths = false
        let (restored, report) = try Snapshot(path: path).restore(options)
        _ = restored
        let mib = Double(saved.memoryBytes) / Double(1 << 20)
        return (
            mib / saved.writeTime.seconds, mib / report.restoreTime.seconds, mib / saved.syncTime.seconds,
            saved.memoryBytes
        )
    }

    /// The host's own copy bandwidth into a fresh guest_memfd mapping, in MiB/s: a new VM and
    /// guest_memfd of `memory` bytes, then `memcpy` of `bytes` from a buffer (in cache as much
    /// as 64 MiB can be) into its shared mapping, first touch included; only the copy is timed.
    public static func hostCopy(memory: UInt64, bytes: UInt64) throws -> Double {
        let kvm = try KVMSystem()
        let vm = try kvm.createVM()
        let file = try vm.createGuestMemfd(size: memory, flags: .hostShared)
        let mapping = try file.mapShared()
        let source = [UInt8](repeating: 0xA5, count: Int(bytes))
        let start = ContinuousClock.now
        // SAFETY: withUnsafeMutableBytes checked [16 MiB, +bytes) against the shared mapping and
        // the buffer does not escape the closure; `source` holds exactly `bytes` bytes.
        try unsafe mapping.withUnsafeMutableBytes(offset: 16 << 20, count: bytes) { destination in
            // SAFETY: as above: both buffers are `bytes` long and valid for the closure.
            unsafe source.withUnsafeBytes { _ = unsafe memcpy(destination.baseAddress!, $0.baseAddress!, Int(bytes)) }
        }
        return Double(bytes) / Double(1 << 20) / (ContinuousClock.now - start).seconds
    }

    /// A snapshot of a `memory`-byte pingpong guest paused at its `exits`th exit, at `path`.
    public static func writeEarlySnapshot(memory: UInt64, exits: Int, pings: UInt32, to path: String) throws {
        let machine = try MachineHandle.build(
            MachineConfig(name: "pingpong", image: GuestImages.pingpong, memorySize: memory, parameter: pings),
            pauseAfterExits: exits)
        try machine.start()
        guard try machine.waitUntilPaused() else { throw BenchError("the pingpong guest ended before exit \(exits)") }
        _ = try machine.snapshot(to: path, reason: "exits=\(exits)")
        machine.stop()
    }

    /// From the start of a restore (file open, before KVM_CREATE_VM) to the restored guest's
    /// first exit, in µs; the machine then runs to its end.
    public static func restoreToFirstExit(_ snapshot: Snapshot) throws -> Double {
        var options = RestoreOptions()
        options.probesPopulationPaths = false
        let (machine, _) = try snapshot.restore(options)
        try machine.start()
        let report = try machine.wait()
        guard report.succeeded, let first = report.timeToFirstExit else {
            throw BenchError("the restored guest did not finish: \(report.cause)")
        }
        return Double(first.nanoseconds) / 1000
    }

    /// A cold start of the same guest: KVM_CREATE_VM to first exit, in µs.
    public static func coldStartToFirstExit(memory: UInt64, pings: UInt32) throws -> Double {
        let report = try Machine.run(
            MachineConfig(name: "pingpong", image: GuestImages.pingpong, memorySize: memory, parameter: pings))
        guard report.succeeded, let first = report.timeToFirstExit else {
            throw BenchError("the pingpong guest did not finish: \(report.cause)")
        }
        return Double(first.nanoseconds) / 1000
    }

    /// `clones` machines restored from `snapshot` and run at once, per second of wall time.
    public static func clonesPerSecond(_ snapshot: Snapshot, clones: Int) throws -> Double {
        var options = RestoreOptions()
        options.probesPopulationPaths = false
        let start = ContinuousClock.now
        let runs = try snapshot.restoreAndRun(clones: clones, options)
        guard runs.allSatisfy({ $0.run.succeeded }) else { throw BenchError("a clone did not finish") }
        return Double(clones) / (ContinuousClock.now - start).seconds
    }

    /// `count` cold starts of the same guest back to back, per second.
    public static func coldStartsPerSecond(memory: UInt64, pings: UInt32, count: Int) throws -> Double {
        let start = ContinuousClock.now
        for _ in 0..<count { _ = try coldStartToFirstExit(memory: memory, pings: pings) }
        return Double(count) / (ContinuousClock.now - start).seconds
    }
}

extension Duration {
    var seconds: Double {
        let (s, a) = components
        return Double(s) + Double(a) / 1e18
    }
}
