import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A memory cgroup around the checker itself, as a backstop behind ``MemoryBudget``: a
/// child of the process's own memory cgroup (cgroup v2 where the memory controller is
/// there, else the v1 memory hierarchy), limited to the budget plus what gmem check itself
/// needs, so that even a charge the budget misses ends in this cgroup's OOM, never the host's.
public enum MemoryCgroup {
    /// What gmem check needs besides what scenarios allocate (binary, runtime, buffers).
    public static let ownAllowance: UInt64 = 256 << 20

    /// Moves this process into a new child memory cgroup limited to `limit` plus
    /// ``ownAllowance`` and removes it again at exit; returns a note saying what was done,
    /// or why not (not root, no writable memory controller).
    public static func enter(limit: UInt64) -> String? {
        let (total, overflow) = limit.addingReportingOverflow(ownAllowance)
        guard !overflow else {
            return "a memory budget of \(MemoryBudget.text(limit)) leaves no room for a cgroup limit: not entering one"
        }
        guard let (directory, version) = childDirectory() else {
            return "no writable memory cgroup here: the kernel backend is bounded by the memory budget alone"
        }
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
        return
            "running in memory cgroup \(directory) (v\(version)) limited to \(MemoryBudget.text(total)) (the budget plus \(MemoryBudget.text(ownAllowance)) for gmem check itself)"
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
