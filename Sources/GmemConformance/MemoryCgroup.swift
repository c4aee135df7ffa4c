import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A memory cgroup around the checker itself, as a backstop behind ``MemoryBudget``: a
/// child of the process's own memory cgroup (cgroup v2 where the memory controller is
/// there, else the v1 memory hierarchy), limited to the budget plus what gmem check itself
/// needs, so that even a charge the budget misses ends in this cgroup's OOM, never the host's.
public enum MemoryCgroup {
    /// What gmem check needs besides what scenarios allocate and its per-step records
    /// (binary, runtime, buffers).
    public static let ownAllowance: UInt64 = 256 << 20

    /// The most memory gmem check keeps per scenario step while it runs a file (the parsed
    /// step, each backend's outcome, the report's record of it), with a margin: the cgroup
    /// allows this much per step beside ``ownAllowance``, and a file whose steps would not fit
    /// in the host's memory is refused before it runs (``ConformanceCheck``).
    /// (Measured: 312 bytes a step, 192 of them the parsed step.)
    public static let perStepAllowance: UInt64 = 512

    /// The most memory gmem check keeps per step when it prints every step (`--verbose`,
    /// `--json`: the report's text, JSONEncoder's tree of it), with a margin. (Measured: 1,242
    /// bytes a step with `--json`, 686 with `--verbose`.)
    public static let perPrintedStepAllowance: UInt64 = 2048

    /// What gmem check itself needs for `steps` scenario steps: ``ownAllowance`` plus
    /// ``perStepAllowance`` per step (``perPrintedStepAllowance`` when every step is
    /// `printed`); nil on overflow.
    public static func allowance(steps: Int, printed: Bool = false) -> UInt64? {
        let (perStep, overflow) = UInt64(max(steps, 0)).multipliedReportingOverflow(
            by: printed ? perPrintedStepAllowance : perStepAllowance)
        guard !overflow else { return nil }
        let (total, overflow2) = perStep.addingReportingOverflow(ownAllowance)
        return overflow2 ? nil : total
    }

    /// Moves this process into a new child memory cgroup limited to `limit` plus
    /// ``allowance(steps:printed:)`` and removes it again at exit, or at SIGINT, SIGTERM or SIGHUP;
    /// first removes the `gmem-check-PID` cgroups beside it whose process is gone (left by a
    /// run that was killed). Returns a note saying what was done, or why not (not root, no
    /// writable memory controller).
    public static func enter(limit: UInt64, steps: Int = 0, printed: Bool = false) -> String? {
        let own = allowance(steps: steps, printed: printed) ?? .max
        let (total, overflow) = limit.addingReportingOverflow(own)
        guard !overflow else {
            return "a memory budget of \(MemoryBudget.text(limit)) leaves no room for a cgroup limit: not entering one"
        }
        guard let (directory, version) = childDirectory() else {
            return "no writable memory cgroup here: the kernel backend is bounded by the memory budget alone"
        }
        let parent = String(directory[..<(directory.lastIndex(of: "/") ?? directory.endIndex)])
        let removed = removeStale(in: parent)
        let made = HostCall.makeDirectory(directory, mode: 0o755)
        guard made == 0 || made == EEXIST else {
            return
                "cannot create the memory cgroup \(directory) (errno \(made)): the kernel backend is bounded by the memory budget alone"
        }
        let limitFile = version == 2 ? "memory.max" : "memory.limit_in_bytes"
        guard write(String(total), to: "\(directory)/\(limitFile)"),
            write(String(getpid()), to: "\(directory)/cgroup.procs")
        else {
            HostCall.removeDirectory(directory)
            return
                "cannot limit the memory cgroup \(directory): the kernel backend is bounded by the memory budget alone"
        }
        if version == 1 { _ = write("0", to: "\(directory)/memory.swappiness") }
        cgroupPath.withLock { $0 = directory }
        atexit { MemoryCgroup.leave() }
        installSignalCleanup(directory: directory, parent: parent)
        let stale =
            removed.isEmpty ? "" : "; removed \(removed.count) stale gmem-check cgroup\(removed.count == 1 ? "" : "s")"
        let bytes = printed ? perPrintedStepAllowance : perStepAllowance
        let perStep =
            steps > 0 ? " and \(bytes) bytes for each of its \(steps) scenario step\(steps == 1 ? "" : "s")" : ""
        return
            "running in memory cgroup \(directory) (v\(version)) limited to \(MemoryBudget.text(total)) (the budget plus \(MemoryBudget.text(ownAllowance)) for gmem check itself\(perStep))\(stale)"
    }

    /// Removes the `gmem-check-PID` directories in `parent` whose process is gone (no
    /// /proc/PID, or one that is not gmem) and whose `cgroup.procs` lists no task, leaving this
    /// process's own; returns the paths removed. A cgroup with a task is never removed (rmdir
    /// refuses it too).
    @discardableResult
    public static func removeStale(in parent: String) -> [String] {
        var removed: [String] = []
        for name in HostCall.directoryEntries(parent) ?? [] where name.hasPrefix("gmem-check-") {
            guard let pid = Int32(name.dropFirst("gmem-check-".count)), pid > 0, pid != getpid() else { continue }
            if let comm = read("/proc/\(pid)/comm"), comm.hasPrefix("gmem") { continue }
            let path = "\(parent)/\(name)"
            let tasks = read("\(path)/cgroup.procs") ?? ""
            guard !tasks.contains(where: { $0.isNumber }) else { continue }
            if HostCall.removeDirectory(path) == 0 { removed.append(path) }
        }
        return removed
    }

    /// The child cgroup entered, until it is left at exit.
    static let cgroupPath = Mutex<String?>(nil)

    /// Moves back to the parent cgroup and removes the child (at exit).
    static func leave() {
        guard
            let path = cgroupPath.withLock({ path in
                defer { path = nil }
                return path
            })
        else { return }
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
        _ = write(String(getpid()), to: "\(parent)/cgroup.procs")
        HostCall.removeDirectory(path)
    }

    /// What the signal handler needs, as C strings built before it is installed: the parent's
    /// `cgroup.procs`, the child directory, this process's id.
    @unsafe struct SignalCleanup {
        let parentProcs: UnsafeMutablePointer<CChar>
        let directory: UnsafeMutablePointer<CChar>
        let pid: UnsafeMutablePointer<CChar>
        let pidLength: Int
    }

    /// Set once, before the handler is installed, and never freed: the handler only reads it.
    nonisolated(unsafe) static var signalCleanup: SignalCleanup?

    /// On SIGINT, SIGTERM and SIGHUP: move back to the parent cgroup and remove the child,
    /// then die of the signal as before (the handler resets itself to the default action).
    static func installSignalCleanup(directory: String, parent: String) {
        let pid = String(getpid())
        // SAFETY: strdup copies each NUL-terminated string into memory that is never freed, so
        // the pointers stay valid for the handler for the life of the process.
        guard let parentProcs = unsafe strdup("\(parent)/cgroup.procs"), let directory = unsafe strdup(directory),
            let pidText = unsafe strdup(pid)
        else { return }
        // SAFETY: as above; set before any handler that reads it is installed.
        unsafe signalCleanup = unsafe SignalCleanup(
            parentProcs: parentProcs, directory: directory, pid: pidText, pidLength: pid.utf8.count)
        // A mask inherited blocked (a test runner's thread, a service manager) would hold the
        // signal back until exit: this thread takes them, so that one ends the run as it should.
        var unblock = sigset_t()
        // SAFETY: a local sigset_t the calls fill and read.
        unsafe sigemptyset(&unblock)
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            // SAFETY: as above.
            unsafe sigaddset(&unblock, signalNumber)
        }
        // SAFETY: as above; no old mask is asked for.
        unsafe pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            var old = sigaction()
            // SAFETY: a local sigaction the call fills; no new action is set.
            unsafe sigaction(signalNumber, nil, &old)
            // An ignored signal stays ignored (`nohup`, a background job's SIGINT): SIG_IGN is 1.
            // SAFETY: the handler is an optional C function pointer, the size of an Int.
            if unsafe unsafeBitCast(old.__sigaction_handler.sa_handler, to: Int.self) == 1 { continue }
            var action = sigaction()
            // SAFETY: the handler is a C function pointer with no context; it reads only signalCleanup.
            unsafe action.__sigaction_handler.sa_handler = { signalNumber in MemoryCgroup.cleanUpOnSignal(signalNumber)
            }
            action.sa_flags = Int32(truncatingIfNeeded: SA_RESETHAND)  // 0x80000000
            // SAFETY: a local sigaction the call reads; no old action is asked for.
            unsafe sigaction(signalNumber, &action, nil)
        }
    }

    /// The signal handler: only async-signal-safe calls (open, write, close, rmdir, raise) on
    /// the strings built before it was installed.
    static func cleanUpOnSignal(_ signalNumber: Int32) {
        // SAFETY: set once before the handler was installed, only read here.
        if let cleanup = unsafe signalCleanup {
            // SAFETY: the strings were strdup'ed before the handler was installed and are never freed.
            let fd = unsafe open(cleanup.parentProcs, O_WRONLY)
            if fd >= 0 {
                // SAFETY: write reads pidLength bytes of the NUL-terminated pid string.
                _ = unsafe Glibc.write(fd, cleanup.pid, cleanup.pidLength)
                close(fd)
            }
            // SAFETY: as above.
            _ = unsafe rmdir(cleanup.directory)
        }
        // SA_RESETHAND restored the default action: the signal ends the process once delivered.
        raise(signalNumber)
    }

    /// The directory for a child of this process's memory cgroup, and the cgroup version.
    static func childDirectory() -> (String, Int)? {
        guard geteuid() == 0, let text = read("/proc/self/cgroup") else { return nil }
        let name = "gmem-check-\(getpid())"
        if let controllers = read("/sys/fs/cgroup/cgroup.controllers"),
            controllers.split(separator: " ").contains(where: { $0.hasPrefix("memory") })
        {
            for line in text.split(separator: "\n") where line.hasPrefix("0::") {
                let own = line.dropFirst(3)
                return ("/sys/fs/cgroup\(own == "/" ? "" : own)/\(name)", 2)
            }
        }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[1].split(separator: ",").contains("memory") else { continue }
            guard HostCall.writable("/sys/fs/cgroup/memory/cgroup.procs") else { return nil }
            let own = parts[2]
            return ("/sys/fs/cgroup/memory\(own == "/" ? "" : own)/\(name)", 1)
        }
        return nil
    }

    static func read(_ path: String) -> String? {
        HostCall.readFile(path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func write(_ text: String, to path: String) -> Bool {
        HostCall.writeFile(Array(text.utf8), to: path)
    }
}
