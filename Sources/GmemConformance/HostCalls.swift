#if canImport(Glibc)
import Glibc
#endif

/// The libc calls of GmemConformance that take a pointer, each behind a signature without one:
/// paths as `String`, results as values, errno captured by the wrapper right after its call.
///
/// With ``ArenaMapping`` (the scenario's mapping windows) and the thread that creates a VM in
/// `KernelBackend.createVMWithOwnFolder`, this is the module's pointer code; every other file
/// calls these.
enum HostCall {
    /// Whether `path` exists (`access(F_OK)`).
    static func exists(_ path: String) -> Bool {
        // SAFETY: the String is passed as a NUL-terminated C string valid for the call.
        unsafe access(path, F_OK) == 0
    }

    /// Whether this process may write `path` (`access(W_OK)`).
    static func writable(_ path: String) -> Bool {
        // SAFETY: the String is passed as a NUL-terminated C string valid for the call.
        unsafe access(path, W_OK) == 0
    }

    /// `stat(path)`: the status, or the errno.
    static func status(ofPath path: String) -> Result<Glibc.stat, SystemErrno> {
        var status = Glibc.stat()
        // SAFETY: a C string valid for the call, and a local stat the call fills.
        guard unsafe stat(path, &status) == 0 else { return .failure(SystemErrno(errno)) }
        return .success(status)
    }

    /// `lstat(path)`: the status of `path` itself (a symbolic link is not followed), or the errno.
    static func linkStatus(ofPath path: String) -> Result<Glibc.stat, SystemErrno> {
        var status = Glibc.stat()
        // SAFETY: a C string valid for the call, and a local stat the call fills.
        guard unsafe lstat(path, &status) == 0 else { return .failure(SystemErrno(errno)) }
        return .success(status)
    }

    /// `rename(from, to)`: 0, or the errno.
    static func rename(_ from: String, to: String) -> Int32 {
        // SAFETY: both Strings are passed as NUL-terminated C strings valid for the call.
        unsafe Glibc.rename(from, to) == 0 ? 0 : errno
    }

    /// `unlink(path)`: 0, or the errno.
    @discardableResult
    static func unlink(_ path: String) -> Int32 {
        // SAFETY: the String is passed as a NUL-terminated C string valid for the call.
        unsafe Glibc.unlink(path) == 0 ? 0 : errno
    }

    /// `fstat(fd)`: the status, or the errno.
    static func status(ofDescriptor fd: Int32) -> Result<Glibc.stat, SystemErrno> {
        var status = Glibc.stat()
        // SAFETY: a local stat the call fills.
        guard unsafe fstat(fd, &status) == 0 else { return .failure(SystemErrno(errno)) }
        return .success(status)
    }

    /// `getrlimit(RLIMIT_NOFILE)`: the limits, or the errno.
    static func descriptorLimit() -> Result<rlimit, SystemErrno> {
        var limit = rlimit()
        // SAFETY: a local rlimit the call fills.
        guard unsafe getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return .failure(SystemErrno(errno)) }
        return .success(limit)
    }

    /// `setrlimit(RLIMIT_NOFILE, limit)`: 0, or the errno.
    @discardableResult
    static func setDescriptorLimit(_ limit: rlimit) -> Int32 {
        var limit = limit
        // SAFETY: a local rlimit the call reads.
        return unsafe setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? 0 : errno
    }

    /// `mkdir(path, mode)`: 0, or the errno.
    static func makeDirectory(_ path: String, mode: mode_t) -> Int32 {
        // SAFETY: the String is passed as a NUL-terminated C string valid for the call.
        unsafe mkdir(path, mode) == 0 ? 0 : errno
    }

    /// `rmdir(path)`: 0, or the errno.
    @discardableResult
    static func removeDirectory(_ path: String) -> Int32 {
        // SAFETY: the String is passed as a NUL-terminated C string valid for the call.
        unsafe rmdir(path) == 0 ? 0 : errno
    }

    /// `mount("debugfs", "/sys/kernel/debug", "debugfs")`: 0, or the errno.
    @discardableResult
    static func mountDebugfs() -> Int32 {
        // SAFETY: three C strings valid for the call and no mount data.
        unsafe mount("debugfs", "/sys/kernel/debug", "debugfs", 0, nil) == 0 ? 0 : errno
    }

    /// `open(path, flags)`: the descriptor, or -1 (errno set).
    static func open(_ path: String, _ flags: Int32) -> Int32 {
        // SAFETY: the String is passed as a NUL-terminated C string valid for the call.
        unsafe Glibc.open(path, flags)
    }

    /// Up to `limit` bytes of the file at `path`, or nil when it cannot be opened.
    static func readFile(_ path: String, limit: Int = 1 << 20) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit {
            // SAFETY: read(2) writes at most buffer.count bytes into the buffer's own storage.
            let count = unsafe buffer.withUnsafeMutableBytes { unsafe Glibc.read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += buffer.prefix(count)
        }
        return bytes
    }

    /// Writes `bytes` to the file at `path` (opened for writing, not created) in one call;
    /// whether all of them were written.
    static func writeFile(_ bytes: [UInt8], to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // SAFETY: write(2) reads at most bytes.count bytes from the array's own storage.
        return unsafe bytes.withUnsafeBytes { unsafe Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    /// One 8-byte `read`, `write`, `pread` or `pwrite` at offset 0 (the bytes are zeros and
    /// what is read is dropped): the call's result, or -1 (errno set).
    static func eightBytes(_ fd: Int32, write: Bool, positioned: Bool) -> Int {
        var buffer = [UInt8](repeating: 0, count: 8)
        // SAFETY: each call reads or writes at most 8 bytes, the size of the buffer's own storage.
        return unsafe buffer.withUnsafeMutableBytes { raw in
            unsafe positioned
                ? (write ? pwrite(fd, raw.baseAddress, 8, 0) : pread(fd, raw.baseAddress, 8, 0))
                : (write ? Glibc.write(fd, raw.baseAddress, 8) : Glibc.read(fd, raw.baseAddress, 8))
        }
    }

    /// The descriptor numbers open in this process, sorted (nil when /proc is not readable).
    static func openDescriptors() -> [Int32]? {
        // SAFETY: a C string valid for the call; the stream is closed below and not used after.
        guard let directory = unsafe opendir("/proc/self/fd") else { return nil }
        // SAFETY: `directory` is the open stream.
        let own = unsafe dirfd(directory)
        var numbers: [Int32] = []
        // SAFETY: each entry readdir returns is valid until the next readdir or closedir on
        // the stream; its name is read at once, within the fixed-size d_name array.
        while let entry = unsafe readdir(directory) {
            let name = unsafe withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                unsafe String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let number = Int32(name), number != own { numbers.append(number) }
        }
        // SAFETY: the stream opened above, closed once.
        unsafe closedir(directory)
        return numbers.sorted()
    }

    /// The names in directory `path` (without `.` and `..`), or nil when it cannot be opened.
    static func directoryEntries(_ path: String) -> [String]? {
        // SAFETY: a C string valid for the call; the stream is closed below and not used after.
        guard let directory = unsafe opendir(path) else { return nil }
        var names: [String] = []
        // SAFETY: each entry readdir returns is valid until the next readdir or closedir on
        // the stream; its name is read at once, within the fixed-size d_name array.
        while let entry = unsafe readdir(directory) {
            let name = unsafe withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                unsafe String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        // SAFETY: the stream opened above, closed once.
        unsafe closedir(directory)
        return names
    }
}
