/// A static x86-64 ELF64 executable, parsed and validated for loading into a micro-VM.
///
/// Every field the loader uses is checked: a malformed or hostile file gives an
/// `ELFError`, never a crash or an access outside the file's bytes. Parsing reads the
/// bytes through bounds-checked little-endian loads; nothing here is unsafe.
public struct ELFImage: Sendable {
    /// One `PT_LOAD` segment: `fileSize` bytes from the file, zero-filled to `memorySize`.
    public struct Segment: Hashable, Sendable {
        public let physicalAddress: UInt64
        public let fileOffset: UInt64
        public let fileSize: UInt64
        public let memorySize: UInt64
        public let executable: Bool
    }

    /// The entry point (a guest-physical address: guests are identity-mapped).
    public let entry: UInt64
    /// The loadable segments, in file order.
    public let segments: [Segment]
    /// The file's bytes.
    public let bytes: [UInt8]

    /// Parses `bytes`; throws `ELFError` for anything that is not a well-formed static
    /// x86-64 ELF64 executable.
    public init(_ bytes: [UInt8]) throws(ELFError) {
        let reader = ByteReader(bytes)
        guard bytes.count >= 64 else { throw .truncated(what: "ELF header", needed: 64, available: bytes.count) }
        guard bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else { throw .notELF }
        guard bytes[4] == 2 else { throw .unsupported("not ELF64 (class \(bytes[4]))") }
        guard bytes[5] == 1 else { throw .unsupported("not little-endian (data \(bytes[5]))") }
        guard bytes[6] == 1 else { throw .unsupported("ELF version \(bytes[6])") }
        let type = try reader.u16(16)
        guard type == 2 else { throw .unsupported(type == 3 ? "a shared object or PIE (ET_DYN), not a static executable" : "ELF type \(type), not ET_EXEC") }
        let machine = try reader.u16(18)
        guard machine == 62 else { throw .unsupported("machine \(machine), not x86-64 (62)") }
        let entry = try reader.u64(24)
        let phoff = try reader.u64(32)
        let phentsize = try reader.u16(54)
        let phnum = try reader.u16(56)
        guard phnum > 0 else { throw .noLoadableSegments }
        guard phentsize == 56 else { throw .malformed("program header size \(phentsize), expected 56") }
        let tableSize = UInt64(phnum) * 56
        guard phoff <= UInt64(bytes.count), tableSize <= UInt64(bytes.count) - phoff else {
            throw .truncated(what: "program header table", needed: Int(clamping: phoff &+ tableSize), available: bytes.count)
        }
        var segments: [Segment] = []
        for index in 0..<Int(phnum) {
            let base = Int(phoff) + index * 56
            let kind = try reader.u32(base)
            if kind == 3 { throw .unsupported("an interpreter (PT_INTERP): dynamically linked") }
            guard kind == 1 else { continue }  // PT_LOAD only
            let flags = try reader.u32(base + 4)
            let offset = try reader.u64(base + 8)
            let paddr = try reader.u64(base + 24)
            let filesz = try reader.u64(base + 32)
            let memsz = try reader.u64(base + 40)
            guard filesz <= memsz else { throw .malformed("segment \(index): file size \(filesz) exceeds memory size \(memsz)") }
            guard offset <= UInt64(bytes.count), filesz <= UInt64(bytes.count) - offset else {
                throw .truncated(what: "segment \(index)", needed: Int(clamping: offset &+ filesz), available: bytes.count)
            }
            guard !paddr.addingReportingOverflow(memsz).overflow else { throw .malformed("segment \(index) wraps the address space") }
            segments.append(Segment(physicalAddress: paddr, fileOffset: offset, fileSize: filesz, memorySize: memsz,
                                    executable: flags & 1 != 0))
        }
        guard !segments.isEmpty else { throw .noLoadableSegments }
        for (i, a) in segments.enumerated() {
            for b in segments[(i + 1)...] where a.physicalAddress < b.physicalAddress + b.memorySize
                && b.physicalAddress < a.physicalAddress + a.memorySize && a.memorySize > 0 && b.memorySize > 0 {
                throw .malformed("segments at 0x\(String(a.physicalAddress, radix: 16)) and 0x\(String(b.physicalAddress, radix: 16)) overlap")
            }
        }
        guard segments.contains(where: { $0.executable && entry >= $0.physicalAddress && entry < $0.physicalAddress + $0.memorySize }) else {
            throw .malformed("entry point 0x\(String(entry, radix: 16)) is not inside an executable segment")
        }
        self.entry = entry
        self.segments = segments
        self.bytes = bytes
    }

    /// Checks that every segment lies between the VMM's area (`GuestABI.imageBase`) and the
    /// stacks of `vcpus` vCPUs at the top of `memorySize` bytes; throws `.doesNotFit`.
    public func checkFits(memorySize: UInt64, vcpus: Int) throws(ELFError) {
        let stacks = UInt64(vcpus) * GuestABI.stackSize
        guard stacks < memorySize else { throw .doesNotFit("no memory left after \(vcpus) vCPU stacks") }
        let limit = memorySize - stacks
        let (low, high) = span
        guard low >= GuestABI.imageBase, high <= limit else {
            throw .doesNotFit("the image spans [0x\(String(low, radix: 16)), 0x\(String(high, radix: 16))); guests load between 0x\(String(GuestABI.imageBase, radix: 16)) and the stacks at 0x\(String(limit, radix: 16))")
        }
    }

    /// The lowest and highest guest-physical address the image occupies.
    public var span: (low: UInt64, high: UInt64) {
        (segments.map(\.physicalAddress).min() ?? 0, segments.map { $0.physicalAddress + $0.memorySize }.max() ?? 0)
    }
}

extension ELFImage {
    /// A minimal static ELF64 x86-64 executable: one read-write-execute `PT_LOAD` segment
    /// holding `code` at `address` (the entry), a page of memory at least. For payloads
    /// generated at run time (guest-code fuzzing, tests).
    public static func minimal(code: [UInt8], at address: UInt64 = GuestABI.imageBase) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 120)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
        }
        bytes.replaceSubrange(0..<7, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1])
        put(UInt16(2), at: 16); put(UInt16(62), at: 18); put(UInt32(1), at: 20)
        put(address, at: 24); put(UInt64(64), at: 32)
        put(UInt16(64), at: 52); put(UInt16(56), at: 54); put(UInt16(1), at: 56)
        put(UInt32(1), at: 64); put(UInt32(7), at: 68); put(UInt64(120), at: 72)
        put(address, at: 80); put(address, at: 88)
        put(UInt64(code.count), at: 96)
        put(max(UInt64(code.count) + 4095 & ~4095, 4096), at: 104)
        put(UInt64(4096), at: 112)
        return bytes + code
    }
}

/// Why a guest image cannot be loaded.
public enum ELFError: Error, Hashable, Sendable, CustomStringConvertible {
    case notELF
    case truncated(what: String, needed: Int, available: Int)
    case unsupported(String)
    case malformed(String)
    case noLoadableSegments
    /// A segment, or the entry, falls outside the guest memory the VMM gives the image.
    case doesNotFit(String)

    public var description: String {
        switch self {
        case .notELF: "not an ELF file (bad magic number)"
        case .truncated(let what, let needed, let available): "truncated ELF: \(what) needs \(needed) bytes, the file has \(available)"
        case .unsupported(let what): "unsupported ELF: \(what)"
        case .malformed(let what): "malformed ELF: \(what)"
        case .noLoadableSegments: "malformed ELF: no PT_LOAD segment"
        case .doesNotFit(let what): "guest image does not fit: \(what)"
        }
    }
}

/// Bounds-checked little-endian reads from a byte array.
struct ByteReader {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func value<T: FixedWidthInteger & UnsignedInteger>(_ offset: Int, _: T.Type) throws(ELFError) -> T {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset <= bytes.count - size else {
            throw .truncated(what: "field at offset \(offset)", needed: offset + size, available: bytes.count)
        }
        var result: T = 0
        for i in 0..<size { result |= T(bytes[offset + i]) << (8 * i) }
        return result
    }

    func u16(_ offset: Int) throws(ELFError) -> UInt16 { try value(offset, UInt16.self) }
    func u32(_ offset: Int) throws(ELFError) -> UInt32 { try value(offset, UInt32.self) }
    func u64(_ offset: Int) throws(ELFError) -> UInt64 { try value(offset, UInt64.self) }
}
