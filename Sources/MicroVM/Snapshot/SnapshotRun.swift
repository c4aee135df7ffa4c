#if canImport(Glibc)
import Glibc
#endif

/// When `Machine.run(_:snapshotTo:at:)` takes its snapshot.
public enum SnapshotTrigger: Hashable, Sendable, CustomStringConvertible {
    /// When vCPU 0 has handled this many exits.
    case exits(Int)
    /// This long after the run started.
    case elapsed(Duration)
    /// Only when the guest asks (`GuestABI.Port.snapshot`).
    case guestRequest

    /// Parses "exits=N" (N ≥ 1) or "ms=T" (T ≥ 0, at most one day); nil otherwise.
    public init?(parsing text: String) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        switch parts[0] {
        case "exits":
            guard let count = Int(parts[1]), count >= 1 else { return nil }
            self = .exits(count)
        case "ms":
            guard let ms = Int64(parts[1]), ms >= 0, ms <= 86_400_000 else { return nil }
            self = .elapsed(.milliseconds(ms))
        default:
            return nil
        }
    }

    /// `exits=N`, `ms=T` or `guest`, as ``init(parsing:)`` reads it.
    public var description: String {
        switch self {
        case .exits(let count): "exits=\(count)"
        case .elapsed(let duration): "ms=\(duration.nanoseconds / 1_000_000)"
        case .guestRequest: "guest request"
        }
    }
}

/// A run that took snapshots: the run's report and one report per snapshot written.
public struct SnapshotRunReport: Sendable {
    /// The run's report.
    public let run: RunReport
    /// One report per snapshot written, in order.
    public let snapshots: [SnapshotReport]
    /// Set when the trigger never fired: why no snapshot was written.
    public let missed: String?
}

extension Machine {
    /// Runs `config` like `run(_:)`, writing a snapshot to `path` when `trigger` fires and
    /// whenever the guest asks for one (each replaces the last, atomically); the machine
    /// resumes after each snapshot and runs to its end.
    /// - Parameters:
    ///   - config: The machine to run.
    ///   - path: Where each snapshot goes.
    ///   - trigger: When to take the snapshot.
    ///   - console: Receives each console byte as it is written.
    /// - Throws: ``SnapshotError``: `machine` when the machine cannot be built or driven, `file` when
    ///   a snapshot cannot be written.
    public static func run(
        _ config: MachineConfig, snapshotTo path: String, at trigger: SnapshotTrigger,
        console: @escaping @Sendable (UInt8) -> Void = { _ in }
    ) throws(SnapshotError) -> SnapshotRunReport {
        let exits: Int
        if case .exits(let count) = trigger { exits = count } else { exits = 0 }
        let machine: MachineHandle
        do {
            machine = try MachineHandle.build(
                config, pauseAfterExits: exits, pausesOnGuestRequest: true, console: console)
        } catch { throw .machine(error) }
        do { try machine.start() } catch { throw .machine(error) }
        var snapshots: [SnapshotReport] = []
        var missed: String?
        if case .elapsed(let delay) = trigger {
            let deadline = ContinuousClock.now + delay
            while ContinuousClock.now < deadline, machine.liveVCPUs > 0, machine.state == .running { usleep(200) }
            do {
                if machine.state == .running { try machine.pause() }
                snapshots.append(try machine.snapshot(to: path, reason: trigger.description))
                try machine.resume()
            } catch let error as MachineError {
                missed = "the guest ended before \(trigger) (\(error))"
            } catch let error as SnapshotError {
                machine.stop()
                throw error
            } catch {
                missed = "\(error)"
            }
        }
        var requests = 0
        while true {
            let paused: Bool
            do { paused = try machine.waitUntilPaused() } catch { break }
            guard paused else { break }
            let count = machine.snapshotRequests.count
            let reason: String
            if count > requests, let tag = machine.snapshotRequests.last {
                reason = "guest request \(tag)"
                requests = count
            } else {
                reason = trigger.description
            }
            do {
                snapshots.append(try machine.snapshot(to: path, reason: reason))
                try machine.resume()
            } catch let error as MachineError {
                machine.stop()
                throw .machine(error)
            } catch let error as SnapshotError {
                machine.stop()
                throw error
            } catch {
                break
            }
        }
        let report: RunReport
        do { report = try machine.wait() } catch { throw .machine(error) }
        if snapshots.isEmpty, missed == nil {
            missed =
                trigger == .guestRequest ? "the guest never asked for a snapshot" : "the guest ended before \(trigger)"
        }
        return SnapshotRunReport(run: report, snapshots: snapshots, missed: snapshots.isEmpty ? missed : nil)
    }
}

/// One restored machine's run.
public struct RestoredRun: Sendable {
    /// What the restore did.
    public let restore: RestoreReport
    /// How the restored machine's run ended.
    public let run: RunReport
    /// The identity of the VM it ran in (a new one per clone).
    public let vm: String
}

extension Snapshot {
    /// The most clones one call restores.
    public static let maximumClones = 64

    /// Restores `clones` machines from this snapshot (each its own VM and guest_memfds), starts
    /// them all, so they run at once, and waits for every one. The first failure to restore
    /// stops the ones already built and is thrown.
    /// - Parameters:
    ///   - clones: How many machines (1 to ``maximumClones``).
    ///   - options: The runs' limits, console and logger.
    /// - Throws: ``SnapshotError``: `unsupported` for a clone count out of range, otherwise the first
    ///   restore's or run's failure.
    public func restoreAndRun(clones: Int = 1, _ options: RestoreOptions = RestoreOptions()) throws(SnapshotError)
        -> [RestoredRun]
    {
        guard (1...Self.maximumClones).contains(clones) else {
            throw .unsupported("--clones must be between 1 and \(Self.maximumClones) (got \(clones))")
        }
        try checkHostCanHold(clones: clones)
        var machines: [(MachineHandle, RestoreReport)] = []
        for index in 0..<clones {
            var each = options
            each.probesPopulationPaths = options.probesPopulationPaths && index == 0
            machines.append(try restore(each))
        }
        for (machine, _) in machines {
            do { try machine.start() } catch {
                machines.forEach { $0.0.stop() }
                throw .machine(error)
            }
        }
        var runs: [RestoredRun] = []
        for (machine, report) in machines {
            let run: RunReport
            do { run = try machine.wait() } catch { throw .machine(error) }
            runs.append(RestoredRun(restore: report, run: run, vm: machine.vm.identity.description))
        }
        return runs
    }
}

extension Snapshot {
    /// Refuses, before any VM exists, a restore whose guest memory the host cannot hold or
    /// whose descriptors exceed the process's limit: each clone needs its regions in new
    /// guest_memfds, and a VM fd, a vCPU fd per vCPU and a guest_memfd per region.
    func checkHostCanHold(clones: Int) throws(SnapshotError) {
        // Each clone's guest can fault in all of its regions' guest_memfds, not only the pages
        // the snapshot saved: that is what the host must be able to give.
        var regionBytes: UInt64 = 0
        for region in manifest.regions where !region.released {
            let (sum, overflow) = regionBytes.addingReportingOverflow(region.size)
            regionBytes = overflow ? .max : sum
        }
        let perClone = max(manifest.savedBytes, regionBytes)
        if let available = Self.memAvailable(),
            let refusal = Self.memoryRefusal(bytesPerClone: perClone, clones: clones, available: available)
        {
            throw .unsupported(refusal)
        }
        let descriptorsPerClone = 2 + manifest.vcpus.count + manifest.regions.count
        if let limit = HostFile.descriptorLimit(), limit.rlim_cur != rlim_t.max,
            UInt64(clones * descriptorsPerClone + 32) > UInt64(limit.rlim_cur)
        {
            throw .unsupported(
                "\(clones) clone(s) need \(clones * descriptorsPerClone) descriptors; the limit is \(limit.rlim_cur) (ulimit -n)"
            )
        }
    }

    /// Why `clones` restores of `bytesPerClone` each do not fit in `available` bytes of host memory
    /// less a reserve (an eighth of it, at least ``minimumReserve``: guest_memfd pages are
    /// unevictable, so a restore must stop well short of the OOM killer), or nil when they fit.
    static func memoryRefusal(bytesPerClone: UInt64, clones: Int, available: UInt64) -> String? {
        let (memory, overflow) = bytesPerClone.multipliedReportingOverflow(by: UInt64(max(clones, 0)))
        let reserve = max(available / 8, minimumReserve)
        let usable = available > reserve ? available - reserve : 0
        guard overflow || memory > usable else { return nil }
        return "\(clones) restore(s) of a guest that can fault in \(mebibytes(bytesPerClone)) need "
            + (overflow ? "more than 2^64 bytes" : mebibytes(memory))
            + "; the host has \(mebibytes(available)) available and keeps \(mebibytes(reserve)) in reserve (use fewer --clones)"
    }

    /// The least memory a restore leaves the host (guest_memfd pages cannot be reclaimed).
    static let minimumReserve: UInt64 = 256 << 20

    /// `bytes` in MiB, rounded up, for messages.
    static func mebibytes(_ bytes: UInt64) -> String {
        "\(bytes / (1 << 20) + (bytes % (1 << 20) == 0 ? 0 : 1)) MiB"
    }

    /// `MemAvailable` of /proc/meminfo in bytes, nil when unreadable.
    static func memAvailable() -> UInt64? {
        guard let contents = HostFile.contents(of: "/proc/meminfo", limit: 8192) else { return nil }
        let text = String(decoding: contents, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = UInt64(fields[1]) {
                return kib.multipliedReportingOverflow(by: 1024).partialValue
            }
        }
        return nil
    }
}
