#if canImport(Glibc)
import Glibc
#endif

extension ELFImage {
    /// Loads the image at `path` for a guest of `memorySize` bytes and `vcpus` vCPUs,
    /// reading only the ELF header, the program-header table and, once every segment is
    /// known to fit (`checkFits`), the segments' file bytes: a file that is not an ELF costs
    /// 64 bytes of reading whatever its size, and at most `memorySize` bytes are read in all.
    ///
    /// Throws `.unreadable` when the file cannot be opened, is not a regular file or a read
    /// fails, and the parser's `ELFError` otherwise.
    /// - Parameters:
    ///   - path: The image file.
    ///   - memorySize: The guest's memory size in bytes.
    ///   - vcpus: The number of vCPUs (each takes a stack at the top of memory).
    /// - Throws: ``ELFError``: `unreadable` or `notRegularFile` for the file, `doesNotFit` when a
    ///   segment falls outside the guest's memory, any other case for a malformed image.
    public static func load(path: String, memorySize: UInt64, vcpus: Int) throws(ELFError) -> ELFImage {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        let (fd, openErrno) = HostFile.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .unreadable(path: path, errno: openErrno) }
        defer { close(fd) }
        let (found, statErrno) = HostFile.status(of: fd)
        guard let status = found else { throw .unreadable(path: path, errno: statErrno) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .notRegularFile(path: path) }
        let source = FileSource(fd: fd, path: path, count: UInt64(clamping: status.st_size))
        let layout = try Layout(source)
        try checkFits(layout.segments, memorySize: memorySize, vcpus: vcpus)
        var contents: [ArraySlice<UInt8>] = []
        contents.reserveCapacity(layout.segments.count)
        for segment in layout.segments {
            // Fits in guest memory (≤ 4 GiB, checked above), so the size is a valid Int.
            contents.append(ArraySlice(try source.read(at: segment.fileOffset, length: Int(segment.fileSize))))
        }
        return ELFImage(layout: layout, contents: contents)
    }
}

/// A regular file read with `pread`, only where the parser asks.
struct FileSource: ELFSource {
    let fd: Int32
    let path: String
    let count: UInt64

    func read(at offset: UInt64, length: Int) throws(ELFError) -> [UInt8] {
        guard length >= 0, offset <= count, UInt64(length) <= count - offset else {
            throw .truncated(
                what: "range at offset \(offset)", needed: UInt128(offset) + UInt128(clamping: length),
                available: Int(clamping: count))
        }
        let (bytes, end) = HostFile.read(fd, at: offset, count: length)
        if case .failed(let code) = end { throw .unreadable(path: path, errno: code) }
        if end != .complete {  // the file shrank under us
            throw .truncated(
                what: "range at offset \(offset) (the file shrank while loading)",
                needed: UInt128(offset) + UInt128(clamping: length),
                available: Int(clamping: count))
        }
        return bytes
    }
}
