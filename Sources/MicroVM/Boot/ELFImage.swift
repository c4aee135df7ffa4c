#if canImport(Glibc)
import Glibc
#endif

/// A static x86-64 ELF64 executable, parsed and validated for loading into a micro-VM.
///
/// Every field the loader uses is checked: a malformed or hostile file gives an
/// `ELFError`, never a crash or an access outside the file's bytes. Parsing reads the
/// bytes through bounds-checked little-endian loads; nothing here is unsafe.
///
/// The cost is bounded by the file's headers, not its size or its claims: at most
/// `maximumProgramHeaders` program headers (the table fits in one page, as Linux's own ELF
/// loader requires), overlaps found in O(n log n), and `ELFImage.load(path:memorySize:vcpus:)`
/// reads from a file only the ELF header, the program-header table and the segments, after
/// checking that they fit in guest memory.
public struct ELFImage: Sendable {
    /// One `PT_LOAD` segment: `fileSize` bytes from the file, zero-filled to `memorySize`.
    public struct Segment: Hashable, Sendable {
        /// The guest-physical address the segment is loaded at (`p_paddr`).
        public let physicalAddress: UInt64
        /// Where its bytes start in the file (`p_offset`).
        public let fileOffset: UInt64
        /// How many bytes come from the file (`p_filesz`).
        public let fileSize: UInt64
        /// Its size in memory (`p_memsz`, at least `fileSize`; the rest is zero).
        public let memorySize: UInt64
        /// Whether the segment is executable (`PF_X`).
        public let executable: Bool
    }

    /// The most program headers an image may have: 73 entries of 56 bytes fill one 4 KiB
    /// page, the limit of Linux's `load_elf_phdrs` (a larger table is `ENOEXEC` there too).
    public static let maximumProgramHeaders = 4096 / 56

    /// The entry point (a guest-physical address: guests are identity-mapped).
    public let entry: UInt64
    /// The loadable segments, in file order.
    public let segments: [Segment]
    /// The file bytes of each segment (`segments[i].fileSize` bytes), in the same order.
    let contents: [ArraySlice<UInt8>]

    /// Parses `bytes`; throws `ELFError` for anything that is not a well-formed static
    /// x86-64 ELF64 executable.
    /// - Throws: ``ELFError`` for a file that is not a well-formed static x86-64 ELF64 executable.
    public init(_ bytes: [UInt8]) throws(ELFError) {
        let layout = try Layout(ByteSource(bytes))
        var contents: [ArraySlice<UInt8>] = []
        contents.reserveCapacity(layout.segments.count)
        // Layout checked every segment's file range against the array.
        for segment in layout.segments {
            let start = Int(segment.fileOffset)
            contents.append(bytes[start..<start + Int(segment.fileSize)])
        }
        self.init(layout: layout, contents: contents)
    }

    init(layout: Layout, contents: [ArraySlice<UInt8>]) {
        self.entry = layout.entry
        self.segments = layout.segments
        self.contents = contents
    }

    /// The bytes segment `index` holds in the file (`segments[index].fileSize` of them).
    public func fileBytes(ofSegment index: Int) -> ArraySlice<UInt8> {
        contents.indices.contains(index) ? contents[index] : []
    }

    /// Checks that every segment lies between the VMM's area (`GuestABI.imageBase`) and the
    /// stacks of `vcpus` vCPUs at the top of `memorySize` bytes; throws `.doesNotFit`.
    /// - Throws: ``ELFError`` `doesNotFit` naming the segment (or the vCPU count) that does not fit.
    public func checkFits(memorySize: UInt64, vcpus: Int) throws(ELFError) {
        try Self.checkFits(segments, memorySize: memorySize, vcpus: vcpus)
    }

    static func checkFits(_ segments: [Segment], memorySize: UInt64, vcpus: Int) throws(ELFError) {
        guard vcpus > 0, vcpus <= 64 else { throw .doesNotFit("\(vcpus) vCPUs: the VMM runs 1 to 64") }
        let stacks = UInt64(vcpus) * GuestABI.stackSize
        guard stacks < memorySize else { throw .doesNotFit("no memory left after \(vcpus) vCPU stacks") }
        let limit = memorySize - stacks
        let (low, high) = span(of: segments)
        guard low >= GuestABI.imageBase, high <= limit else {
            throw .doesNotFit(
                "the image spans [0x\(String(low, radix: 16)), 0x\(String(high, radix: 16))); guests load between 0x\(String(GuestABI.imageBase, radix: 16)) and the stacks at 0x\(String(limit, radix: 16))"
            )
        }
    }

    /// The lowest and highest guest-physical address the image occupies.
    public var span: (low: UInt64, high: UInt64) { Self.span(of: segments) }

    static func span(of segments: [Segment]) -> (low: UInt64, high: UInt64) {
        // Layout refused every segment whose end wraps.
        (segments.map(\.physicalAddress).min() ?? 0, segments.map { $0.physicalAddress + $0.memorySize }.max() ?? 0)
    }
}

/// Where the parser reads an image from: its size, and bounds-checked reads of ranges.
protocol ELFSource {
    /// The size of the whole file.
    var count: UInt64 { get }
    /// `length` bytes at `offset`; the caller has checked that they lie inside `count`.
    func read(at offset: UInt64, length: Int) throws(ELFError) -> [UInt8]
}

/// An image already in memory.
struct ByteSource: ELFSource {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var count: UInt64 { UInt64(bytes.count) }
    func read(at offset: UInt64, length: Int) throws(ELFError) -> [UInt8] {
        guard offset <= count, UInt64(length) <= count - offset else {
            throw .truncated(
                what: "range at offset \(offset)", needed: UInt128(offset) + UInt128(length), available: bytes.count)
        }
        return Array(bytes[Int(offset)..<Int(offset) + length])
    }
}

/// The headers of an image: its entry and segments, read and checked through a source
/// without touching the segments' bytes.
struct Layout {
    let entry: UInt64
    let segments: [ELFImage.Segment]

    init(_ source: some ELFSource) throws(ELFError) {
        let available = Int(clamping: source.count)
        guard source.count >= 64 else { throw .truncated(what: "ELF header", needed: 64, available: available) }
        let header = try source.read(at: 0, length: 64)
        let reader = ByteReader(header)
        guard header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C, header[3] == 0x46 else { throw .notELF }
        guard header[4] == 2 else { throw .unsupported("not ELF64 (class \(header[4]))") }
        guard header[5] == 1 else { throw .unsupported("not little-endian (data \(header[5]))") }
        guard header[6] == 1 else { throw .unsupported("ELF version \(header[6])") }
        let type = try reader.u16(16)
        guard type == 2 else {
            throw .unsupported(
                type == 3 ? "a shared object or PIE (ET_DYN), not a static executable" : "ELF type \(type), not ET_EXEC"
            )
        }
        let machine = try reader.u16(18)
        guard machine == 62 else { throw .unsupported("machine \(machine), not x86-64 (62)") }
        let entry = try reader.u64(24)
        let phoff = try reader.u64(32)
        let phentsize = try reader.u16(54)
        let phnum = try reader.u16(56)
        guard phnum > 0 else { throw .noLoadableSegments }
        guard phentsize == 56 else { throw .malformed("program header size \(phentsize), expected 56") }
        guard Int(phnum) <= ELFImage.maximumProgramHeaders else {
            throw .unsupported(
                "\(phnum) program headers: at most \(ELFImage.maximumProgramHeaders) (one page of table, as Linux loads)"
            )
        }
        let tableSize = UInt64(phnum) * 56
        guard phoff <= source.count, tableSize <= source.count - phoff else {
            throw .truncated(
                what: "program header table", needed: UInt128(phoff) + UInt128(tableSize), available: available)
        }
        let table = ByteReader(try source.read(at: phoff, length: Int(tableSize)))
        var segments: [ELFImage.Segment] = []
        for index in 0..<Int(phnum) {
            let base = index * 56
            let kind = try table.u32(base)
            if kind == 3 { throw .unsupported("an interpreter (PT_INTERP): dynamically linked") }
            guard kind == 1 else { continue }  // PT_LOAD only
            let flags = try table.u32(base + 4)
            let offset = try table.u64(base + 8)
            let paddr = try table.u64(base + 24)
            let filesz = try table.u64(base + 32)
            let memsz = try table.u64(base + 40)
            guard filesz <= memsz else {
                throw .malformed("segment \(index): file size \(filesz) exceeds memory size \(memsz)")
            }
            guard offset <= source.count, filesz <= source.count - offset else {
                throw .truncated(
                    what: "segment \(index)", needed: UInt128(offset) + UInt128(filesz), available: available)
            }
            guard !paddr.addingReportingOverflow(memsz).overflow else {
                throw .malformed("segment \(index) wraps the address space")
            }
            segments.append(
                ELFImage.Segment(
                    physicalAddress: paddr, fileOffset: offset, fileSize: filesz, memorySize: memsz,
                    executable: flags & 1 != 0))
        }
        guard !segments.isEmpty else { throw .noLoadableSegments }
        try Self.checkOverlaps(segments)
        guard
            segments.contains(where: {
                $0.executable && entry >= $0.physicalAddress && entry < $0.physicalAddress + $0.memorySize
            })
        else {
            throw .malformed("entry point 0x\(String(entry, radix: 16)) is not inside an executable segment")
        }
        self.entry = entry
        self.segments = segments
    }

    /// Refuses two non-empty segments that share a byte: sorted by start, each must begin at
    /// or after the end of the one before (O(n log n)).
    static func checkOverlaps(_ segments: [ELFImage.Segment]) throws(ELFError) {
        let sorted = segments.filter { $0.memorySize > 0 }.sorted { $0.physicalAddress < $1.physicalAddress }
        for (previous, next) in zip(sorted, sorted.dropFirst())
        where next.physicalAddress < previous.physicalAddress + previous.memorySize {
            throw .malformed(
                "segments at 0x\(String(previous.physicalAddress, radix: 16)) and 0x\(String(next.physicalAddress, radix: 16)) overlap"
            )
        }
    }
}

extension ELFImage {
    /// A minimal static ELF64 x86-64 executable: one read-write-execute `PT_LOAD` segment
    /// holding `code` at `address` (the entry), a page of memory at least. For payloads
    /// generated at run time (guest-code fuzzing, tests).
    public static func minimal(code: [UInt8], at address: UInt64 = GuestABI.imageBase) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 120)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            for i in 0..<T.bitWidth / 8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        }
        bytes.replaceSubrange(0..<7, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1])
        put(UInt16(2), at: 16)
        put(UInt16(62), at: 18)
        put(UInt32(1), at: 20)
        put(address, at: 24)
        put(UInt64(64), at: 32)
        put(UInt16(64), at: 52)
        put(UInt16(56), at: 54)
        put(UInt16(1), at: 56)
        put(UInt32(1), at: 64)
        put(UInt32(7), at: 68)
        put(UInt64(120), at: 72)
        put(address, at: 80)
        put(address, at: 88)
        put(UInt64(code.count), at: 96)
        put(max(UInt64(code.count) + 4095 & ~4095, 4096), at: 104)
        put(UInt64(4096), at: 112)
        return bytes + code
    }
}

/// Why a guest image cannot be loaded.
///
/// Its one-line text (`description`) is in ELFErrorText.swift, the one part of the loader that
/// names an errno through KVM: this file needs only the C library, so Scripts/fuzz-elf.sh
/// compiles it as it is.
public enum ELFError: Error, Hashable, Sendable {
    /// The file does not start with the ELF magic number.
    case notELF
    /// `needed` is the exact end of what was asked for (offset + size, never wrapped or clamped).
    case truncated(what: String, needed: UInt128, available: Int)
    /// A well-formed ELF the VMM does not load (not x86-64, not ELF64, not static, ...).
    case unsupported(String)
    /// A field is out of range or inconsistent (overlapping segments, a bad table size ...).
    case malformed(String)
    /// The image has no `PT_LOAD` segment.
    case noLoadableSegments
    /// A segment, or the entry, falls outside the guest memory the VMM gives the image.
    case doesNotFit(String)
    /// The file could not be opened or read (`errno`).
    case unreadable(path: String, errno: Int32)
    /// The path names a directory, device, FIFO or socket, not a regular file.
    case notRegularFile(path: String)
}

/// Bounds-checked little-endian reads from a byte array.
struct ByteReader {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func value<T: FixedWidthInteger & UnsignedInteger>(_ offset: Int, _: T.Type) throws(ELFError) -> T {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset <= bytes.count - size else {
            throw .truncated(
                what: "field at offset \(offset)", needed: UInt128(clamping: Int128(offset) + Int128(size)),
                available: bytes.count)
        }
        var result: T = 0
        for i in 0..<size { result |= T(bytes[offset + i]) << (8 * i) }
        return result
    }

    func u16(_ offset: Int) throws(ELFError) -> UInt16 { try value(offset, UInt16.self) }
    func u32(_ offset: Int) throws(ELFError) -> UInt32 { try value(offset, UInt32.self) }
    func u64(_ offset: Int) throws(ELFError) -> UInt64 { try value(offset, UInt64.self) }
}
