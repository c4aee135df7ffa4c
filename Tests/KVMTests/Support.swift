import CKVM
@_spi(Unchecked) import KVM
import SystemPackage
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Expects `body` to throw a `KVMError` with `errno`, and returns it.
@discardableResult
func expectErrno(
    _ errno: Errno, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> KVMError? {
    do {
        try body()
        Issue.record("expected \(errno.symbolicName), but the operation succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as KVMError {
        #expect(error.errno == errno, "expected \(errno.symbolicName), got \(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a KVMError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The errno of a libc call that returns -1 on failure, or nil when it succeeded.
func libcErrno(_ result: Int) -> Errno? {
    result < 0 ? Errno(rawValue: errno) : nil
}

/// A new VM of the default type (the /dev/kvm handle it came from is closed again: a VM
/// does not need it).
func makeVM() throws -> VirtualMachine {
    try KVMSystem().createVM()
}

/// The `Unevictable` figure of /proc/meminfo, in bytes (GMEM-SPEC F5).
func unevictableBytes() -> UInt64 {
    guard let text = readTextFile("/proc/meminfo") else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("Unevictable:") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if fields.count >= 2, let kib = UInt64(fields[1]) { return kib * 1024 }
    }
    return 0
}

func readTextFile(_ path: String) -> String? {
    let fd = openFile(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        // SAFETY: the closure's buffer covers `chunk`'s 4096 bytes for the call; read fills at most 4096 and keeps no pointer.
        let n = unsafe chunk.withUnsafeMutableBytes { unsafe read(fd, $0.baseAddress, 4096) }
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The number of open file descriptors of this process.
func openDescriptorCount() -> Int {
    // SAFETY: the path literal is a C string alive for the call; `dir` is closed once, by the defer, after its last use.
    guard let dir = unsafe opendir("/proc/self/fd") else { return -1 }
    // SAFETY: `dir` came from opendir above and is not used after this.
    defer { unsafe closedir(dir) }
    var count = 0
    // SAFETY: `dir` is open; the entry readdir returns is only compared with nil, never read.
    while unsafe readdir(dir) != nil { count += 1 }
    return count - 3  // ".", "..", and the directory's own fd
}

/// Where KVM's debugfs shows live VMs: one directory `<tid>-<vm fd>` per VM object (the id
/// of the *thread* that created it: the kernel uses task_pid_nr(current)), which disappears
/// when the kernel destroys the VM. Used as the oracle for lifetime rules (L1, L5, L6).
enum VMLiveness {
    static let root = "/sys/kernel/debug/kvm"

    /// True when the oracle can be used; tries to mount debugfs once (as root) if needed.
    static let isAvailable: Bool = {
        if fileExists(root) { return true }
        // SAFETY: the string literals are C strings alive for the call; mount keeps no pointer.
        _ = unsafe mount("debugfs", "/sys/kernel/debug", "debugfs", 0, nil)
        return fileExists(root)
    }()

    /// Whether the VM created as `vmFD` by thread `thread` is still alive in the kernel.
    static func isAlive(vmFD: Int32, thread: Int32 = ckvm_current_tid()) -> Bool {
        fileExists("\(root)/\(thread)-\(vmFD)")
    }
}

/// Waits briefly for the kernel's deferred work (VM destruction may run after the last
/// fput returns) by polling a condition; returns whether it became true. Not a timing
/// assertion: the bound only keeps a broken kernel from hanging the suite.
func eventually(_ condition: () -> Bool) -> Bool {
    for _ in 0..<200 {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}
