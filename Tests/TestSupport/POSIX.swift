#if canImport(Glibc)
import Glibc
#endif

// The libc calls the tests make on paths and descriptors, each behind a safe function: the
// path strings are bridged to NUL-terminated C strings that live for the call, and the stat
// buffers are locals the kernel fills. The tests call these instead of libc, so their own
// files need no `unsafe`.

/// `unlink(path)`; whether it succeeded (a missing file is fine for cleanup).
@discardableResult
public func removeFile(_ path: String) -> Bool {
    // SAFETY: `path` is bridged to a NUL-terminated C string alive for the call; unlink keeps no pointer.
    unsafe unlink(path) == 0
}

/// `access(path, F_OK) == 0`: whether the path names something (following a final symlink).
public func fileExists(_ path: String) -> Bool {
    // SAFETY: `path` is bridged to a NUL-terminated C string alive for the call; access only stats it.
    unsafe access(path, F_OK) == 0
}

/// `access(path, R_OK | W_OK) == 0`: whether this process may read and write `path`.
public func fileIsReadWrite(_ path: String) -> Bool {
    // SAFETY: `path` is bridged to a NUL-terminated C string alive for the call; access only stats it.
    unsafe access(path, R_OK | W_OK) == 0
}

/// `truncate(path, size)`: sets an existing file's size (sparse when it grows); whether it succeeded.
public func setFileSize(_ path: String, _ size: Int) -> Bool {
    // SAFETY: `path` is bridged to a NUL-terminated C string alive for the call; truncate keeps no pointer.
    unsafe truncate(path, off_t(size)) == 0
}

/// `mkfifo(path, mode)`; whether it succeeded.
public func makeFIFO(_ path: String, mode: mode_t = 0o600) -> Bool {
    // SAFETY: `path` is bridged to a NUL-terminated C string alive for the call; mkfifo keeps no pointer.
    unsafe mkfifo(path, mode) == 0
}

/// `lstat(path)`: the path's own status (a symlink's, not its target's), or nil when it fails.
public func linkStatus(_ path: String) -> stat? {
    var status = stat()
    // SAFETY: `path` is bridged to a C string alive for the call; `status` is a local the call fills.
    return unsafe lstat(path, &status) == 0 ? status : nil
}

/// `fstat(fd)`: the descriptor's status, or nil when it fails.
public func descriptorStatus(_ fd: Int32) -> stat? {
    var status = stat()
    // SAFETY: `status` is a local the call fills; fstat keeps no pointer.
    return unsafe fstat(fd, &status) == 0 ? status : nil
}

/// `open(path, flags)`: a descriptor (the caller closes it) or -1 with errno set.
public func openFile(_ path: String, _ flags: Int32) -> Int32 {
    // SAFETY: `path` is bridged to a NUL-terminated C string alive for the call; open keeps no pointer.
    unsafe open(path, flags)
}

/// The little-endian bytes of `value` (as a file format stores it).
public func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}
