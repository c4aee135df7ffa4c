#if canImport(Glibc)
import Glibc
#endif

/// The file-system calls of MicroVM (guest images, snapshots), gathered here with their C
/// string and pointer conversions: callers pass Swift strings and values and get the errno of
/// the call back (captured right after it, never read later from the global).
enum HostFile {
    /// open(2): the descriptor and 0, or -1 and the errno.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) -> (fd: Int32, errno: Int32) {
        // SAFETY: Swift passes `path` as a NUL-terminated C string alive for the call; open(2)
        // does not keep the pointer.
        let fd = unsafe Glibc.open(path, flags, mode)
        return (fd, fd < 0 ? errno : 0)
    }

    /// fstat(2): the status, or nil and the errno.
    static func status(of fd: Int32) -> (status: stat?, errno: Int32) {
        var status = stat()
        // SAFETY: `&status` points to a local `stat` for the duration of the call, the type
        // fstat(2) fills.
        guard unsafe fstat(fd, &status) == 0 else { return (nil, errno) }
        return (status, 0)
    }

    /// lstat(2) of `path` (the link itself), or nil when it does not exist or cannot be read.
    static func linkStatus(of path: String) -> stat? {
        var status = stat()
        // SAFETY: `path` is a C string alive for the call; `&status` points to a local `stat`.
        guard unsafe lstat(path, &status) == 0 else { return nil }
        return status
    }

    /// unlink(2); 0 or the errno.
    @discardableResult
    static func unlink(_ path: String) -> Int32 {
        // SAFETY: `path` is a C string alive for the call; unlink(2) does not keep it.
        unsafe Glibc.unlink(path) == 0 ? 0 : errno
    }

    /// rename(2); 0 or the errno.
    static func rename(_ from: String, to: String) -> Int32 {
        // SAFETY: both paths are C strings alive for the call; rename(2) does not keep them.
        unsafe Glibc.rename(from, to) == 0 ? 0 : errno
    }

    /// What a complete positioned read ended with.
    enum ReadEnd: Equatable { case complete, endOfFile, failed(errno: Int32), offsetTooLarge }

    /// Fills `buffer` with the bytes at `offset` (`pread` until done, EINTR retried).
    static func read(_ fd: Int32, at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> ReadEnd {
        guard let base = buffer.baseAddress else { return .complete }
        var done = 0
        while done < buffer.count {
            let (position, overflow) = offset.addingReportingOverflow(UInt64(done))
            guard !overflow, position <= UInt64(Int64.max) else { return .offsetTooLarge }
            // SAFETY: the caller's buffer is valid for `buffer.count` bytes for this call (the
            // parameter's contract), so `base + done` has `buffer.count - done` writable bytes.
            let n = unsafe pread(fd, base + done, buffer.count - done, off_t(position))
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                return .failed(errno: code)
            }
            if n == 0 { return .endOfFile }
            done += n
        }
        return .complete
    }

    /// `count` bytes at `offset`, read into a new array.
    static func read(_ fd: Int32, at offset: UInt64, count: Int) -> (bytes: [UInt8], end: ReadEnd) {
        var bytes = [UInt8](repeating: 0, count: max(count, 0))
        // SAFETY: the array's storage is valid and exclusively borrowed for the closure.
        let end = unsafe bytes.withUnsafeMutableBytes { unsafe read(fd, at: offset, into: $0) }
        return (bytes, end)
    }

    /// Writes all of `bytes` at `offset` (`pwrite` until done, EINTR retried); 0 or the errno.
    static func write(_ fd: Int32, at offset: UInt64, from bytes: UnsafeRawBufferPointer) -> Int32 {
        guard let base = bytes.baseAddress else { return 0 }
        var done = 0
        while done < bytes.count {
            let (position, overflow) = offset.addingReportingOverflow(UInt64(done))
            guard !overflow, position <= UInt64(Int64.max) else { return EFBIG }
            // SAFETY: the caller's buffer is valid for `bytes.count` bytes for this call, so
            // `base + done` has `bytes.count - done` readable bytes.
            let n = unsafe pwrite(fd, base + done, bytes.count - done, off_t(position))
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                return code
            }
            done += n
        }
        return 0
    }

    /// Writes all of `bytes` at `offset`; 0 or the errno.
    static func write(_ fd: Int32, at offset: UInt64, from bytes: [UInt8]) -> Int32 {
        // SAFETY: the array's storage is valid for the closure.
        unsafe bytes.withUnsafeBytes { unsafe write(fd, at: offset, from: $0) }
    }

    /// The first `limit` bytes of a small file such as /proc/meminfo, nil when unreadable.
    static func contents(of path: String, limit: Int) -> [UInt8]? {
        let (fd, _) = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: limit)
        // SAFETY: read(2) writes at most `$0.count` bytes into the array's storage, valid
        // for the closure.
        let count = unsafe buffer.withUnsafeMutableBytes { unsafe Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return Array(buffer[0..<count])
    }

    /// getrlimit(2) of RLIMIT_NOFILE, nil when it fails.
    static func descriptorLimit() -> rlimit? {
        var limit = rlimit()
        // SAFETY: `&limit` points to a local rlimit for the call, the type getrlimit fills.
        guard unsafe getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return limit
    }

    /// strerror(3)'s text for `code`.
    static func describe(errno code: Int32) -> String {
        // SAFETY: strerror returns a NUL-terminated string that stays valid until the next
        // strerror call on this thread; it is copied into a Swift String at once.
        unsafe String(cString: strerror(code))
    }
}
