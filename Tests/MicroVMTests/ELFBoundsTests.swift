import Foundation
import GuestImages
import TestSupport
import Testing

@testable import MicroVM

/// A source that serves zeros for a file of any claimed size (a header can be laid over
/// them) and counts what the parser reads.
final class CountingSource: ELFSource {
    let count: UInt64
    let prefix: [UInt8]
    private(set) var bytesRead = 0
    init(count: UInt64, prefix: [UInt8]) {
        self.count = count
        self.prefix = prefix
    }
    func read(at offset: UInt64, length: Int) throws(ELFError) -> [UInt8] {
        bytesRead += length
        return (0..<length).map { i in
            let position = offset + UInt64(i)
            return position < UInt64(prefix.count) ? prefix[Int(position)] : 0
        }
    }
}

/// An ELF header with `phnum` program headers of `segment` each at successive pages.
func elfWithHeaders(_ phnum: Int, fileSize: UInt64 = 0x1000, overlapEvery: Int? = nil) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: 64 + 56 * phnum)
    func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for (i, b) in littleEndianBytes(value).enumerated() { bytes[offset + i] = b }
    }
    bytes.replaceSubrange(0..<7, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1])
    put(UInt16(2), at: 16)
    put(UInt16(62), at: 18)
    put(UInt32(1), at: 20)
    put(UInt64(0x20_0000), at: 24)
    put(UInt64(64), at: 32)
    put(UInt16(64), at: 52)
    put(UInt16(56), at: 54)
    put(UInt16(truncatingIfNeeded: phnum), at: 56)
    for index in 0..<phnum {
        let base = 64 + 56 * index
        let page = overlapEvery.map { index % $0 == 0 && index > 0 ? index - 1 : index } ?? index
        put(UInt32(1), at: base)
        put(UInt32(5), at: base + 4)
        put(UInt64(0), at: base + 8)
        put(UInt64(0x20_0000 + page * 0x1000), at: base + 24)
        put(UInt64(0), at: base + 32)
        put(fileSize, at: base + 40)
    }
    return bytes
}

@Suite("ELF loader: bounded cost")
struct ELFBoundsTests {
    @Test("the program-header count is capped at one page of table, as Linux loads")
    func headerCap() throws {
        let most = ELFImage.maximumProgramHeaders
        #expect(try ELFImage(elfWithHeaders(most)).segments.count == most)
        #expect(throws: ELFError.self) { try ELFImage(elfWithHeaders(most + 1)) }
        #expect(throws: ELFError.self) { try ELFImage(elfWithHeaders(65_535)) }
    }

    @Test("the sorted overlap check agrees with the pairwise one on 5,000 random segment sets")
    func overlapsAgree() {
        var random = TestRandom(state: 21)
        for _ in 0..<5000 {
            let segments = (0..<Int(random.next() % 12)).map { _ in
                ELFImage.Segment(
                    physicalAddress: random.next() % 64 * 0x1000, fileOffset: 0, fileSize: 0,
                    memorySize: random.next() % 5 * 0x800, executable: true)
            }
            var pairwise = false
            for (i, a) in segments.enumerated() {
                for b in segments[(i + 1)...]
                where a.memorySize > 0 && b.memorySize > 0
                    && a.physicalAddress < b.physicalAddress + b.memorySize
                    && b.physicalAddress < a.physicalAddress + a.memorySize
                {
                    pairwise = true
                }
            }
            let sorted = (try? Layout.checkOverlaps(segments)) == nil
            #expect(sorted == pairwise, "\(segments)")
        }
        #expect(throws: ELFError.self) { try ELFImage(elfWithHeaders(40, overlapEvery: 7)) }
    }

    @Test("a 1 GiB file with a bad magic number costs 64 bytes of reading; its headers alone are read otherwise")
    func readsOnlyHeaders() throws {
        let bad = CountingSource(count: 1 << 30, prefix: Array("not an ELF".utf8))
        #expect(throws: ELFError.notELF) { _ = try Layout(bad) }
        #expect(bad.bytesRead == 64)
        let claims = CountingSource(count: 1 << 30, prefix: elfWithHeaders(1, fileSize: 1 << 28))
        let layout = try Layout(claims)
        #expect(layout.segments.count == 1 && layout.segments[0].memorySize == 1 << 28)
        #expect(claims.bytesRead == 64 + 56)
    }

    @Test("ELFImage.load reads the segments only after they fit, and agrees with the in-memory parser")
    func loadFromFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gmem-elf-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // A sparse 1 GiB file whose one segment claims all of it: refused by checkFits, not read.
        let big = directory.appendingPathComponent("big.elf").path
        var header = makeELF(code: [0xEB, 0xFE], memorySize: 1 << 30)
        header.replaceSubrange(96..<104, with: littleEndianBytes(UInt64(1 << 30 - 120)))
        #expect(FileManager.default.createFile(atPath: big, contents: Data(header)))
        #expect(setFileSize(big, 1 << 30))
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(throws: ELFError.self) { _ = try ELFImage.load(path: big, memorySize: 16 << 20, vcpus: 1) }
        }
        #expect(elapsed < .seconds(1), "refusing took \(elapsed): the file was read")
        // Every built guest loads from a file exactly as from its bytes.
        for guest in GuestImages.all {
            let path = directory.appendingPathComponent(guest.name).path
            #expect(FileManager.default.createFile(atPath: path, contents: Data(guest.image)))
            let fromFile = try ELFImage.load(path: path, memorySize: 16 << 20, vcpus: 2)
            let fromBytes = try ELFImage(guest.image)
            #expect(fromFile.segments == fromBytes.segments && fromFile.entry == fromBytes.entry)
            for index in fromFile.segments.indices {
                #expect(fromFile.fileBytes(ofSegment: index).elementsEqual(fromBytes.fileBytes(ofSegment: index)))
            }
        }
        #expect(throws: ELFError.notRegularFile(path: directory.path)) {
            _ = try ELFImage.load(path: directory.path, memorySize: 16 << 20, vcpus: 1)
        }
        #expect(throws: ELFError.self) {
            _ = try ELFImage.load(path: directory.path + "/missing", memorySize: 16 << 20, vcpus: 1)
        }
    }

    @Test("20,000 mutated images parse or are refused with an ELFError; accepted ones only name bytes of the file")
    func mutations() throws {
        var random = TestRandom(state: 33)
        let seeds =
            GuestImages.all.map { Array($0.image.prefix(4096)) } + [
                ELFImage.minimal(code: [0xEB, 0xFE]), elfWithHeaders(5),
            ]
        var accepted = 0
        for _ in 0..<20_000 {
            var bytes = seeds[Int(random.next() % UInt64(seeds.count))]
            for _ in 0..<Int(1 + random.next() % 6) {
                let position = Int(random.next() % UInt64(min(bytes.count, 64 + 56 * 6)))
                switch random.next() % 4 {
                case 0: bytes[position] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes[position] ^= 1 << (random.next() % 8)
                case 2:
                    let value = random.edgy()
                    for i in 0..<8 where position + i < bytes.count {
                        bytes[position + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))
                    }
                default: bytes.removeLast(Int(random.next() % UInt64(bytes.count / 2 + 1)))
                }
                if bytes.isEmpty { break }
            }
            guard let image = try? ELFImage(bytes) else { continue }
            accepted += 1
            for (index, segment) in image.segments.enumerated() {
                #expect(segment.fileOffset + segment.fileSize <= UInt64(bytes.count))
                #expect(image.fileBytes(ofSegment: index).count == Int(segment.fileSize))
            }
            _ = try? image.checkFits(memorySize: 16 << 20, vcpus: 2)
        }
        #expect(accepted > 0, "no mutant parsed: the mutations never exercise the accepting path")
    }
}
