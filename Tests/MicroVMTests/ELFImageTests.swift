import Foundation
import GuestImages
import TestSupport
import Testing

@testable import MicroVM

@Suite("ELF loader: every field validated")
struct ELFImageTests {
    @Test("the built-in guests parse", arguments: GuestImages.all.map(\.name))
    func builtInGuestsParse(name: String) throws {
        let image = try ELFImage(try #require(GuestImages.image(named: name)))
        #expect(image.entry >= GuestABI.imageBase)
        #expect(image.segments.contains { $0.executable })
    }

    @Test("text, truncation and garbage are typed errors")
    func garbage() {
        #expect(throws: ELFError.notELF) {
            try ELFImage(Array("root:x:0:0:root:/root:/bin/bash\n".utf8) + [UInt8](repeating: 0, count: 64))
        }
        #expect(throws: ELFError.truncated(what: "ELF header", needed: 64, available: 10)) {
            try ELFImage([0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0, 0, 0])
        }
        let good = makeELF(code: Code.exit(0))
        for length in [64, 100, 119] {
            #expect(throws: ELFError.self) { try ELFImage(Array(good.prefix(length))) }
        }
        #expect(throws: ELFError.self) { try ELFImage(Array(good.prefix(121))) }  // segment cut short
    }

    @Test("hostile headers are refused, never followed")
    func hostile() {
        var wrongMachine = makeELF(code: Code.exit(0))
        wrongMachine[18] = 40
        #expect(throws: ELFError.unsupported("machine 40, not x86-64 (62)")) { try ELFImage(wrongMachine) }
        var dynamic = makeELF(code: Code.exit(0))
        dynamic[16] = 3
        #expect(throws: ELFError.self) { try ELFImage(dynamic) }
        var class32 = makeELF(code: Code.exit(0))
        class32[4] = 1
        #expect(throws: ELFError.self) { try ELFImage(class32) }
        var hugeTable = makeELF(code: Code.exit(0))
        hugeTable[56] = 0xFF
        hugeTable[57] = 0xFF
        #expect(throws: ELFError.self) { try ELFImage(hugeTable) }
        var farOffset = makeELF(code: Code.exit(0))
        farOffset[79] = 0x7F
        #expect(throws: ELFError.self) { try ELFImage(farOffset) }
        #expect(throws: ELFError.self) { try ELFImage(makeELF(code: Code.exit(0), memorySize: 2)) }  // filesz > memsz
        #expect(throws: ELFError.self) { try ELFImage(makeELF(code: Code.exit(0), entry: 0x10_0000)) }  // entry outside
        #expect(throws: ELFError.self) { try ELFImage(makeELF(code: Code.exit(0), flags: 6)) }  // entry not executable
        #expect(throws: ELFError.self) { try ELFImage(makeELF(code: Code.exit(0), address: .max - 10)) }  // wraps
    }

    @Test("a truncation names the exact end asked for: offset + size, never wrapped or clamped")
    func exactTruncation() {
        var farTable = makeELF(code: Code.exit(0))
        for index in 32..<40 { farTable[index] = 0xFF }  // e_phoff = 2^64 - 1
        #expect(
            throws: ELFError.truncated(
                what: "program header table", needed: UInt128(UInt64.max) + 56, available: farTable.count)
        ) {
            try ELFImage(farTable)
        }
        var hugeSegment = makeELF(code: Code.exit(0))
        for index in 96..<112 { hugeSegment[index] = 0xFF }  // p_filesz = p_memsz = 2^64 - 1
        #expect(
            throws: ELFError.truncated(
                what: "segment 0", needed: 120 + UInt128(UInt64.max), available: hugeSegment.count)
        ) {
            try ELFImage(hugeSegment)
        }
        let message = ELFError.truncated(what: "segment 0", needed: 120 + UInt128(UInt64.max), available: 132)
            .description
        #expect(message == "truncated ELF: segment 0 needs 18446744073709551735 bytes, the file has 132")
    }

    @Test("an image outside the guest's loadable area does not boot")
    func doesNotFit() {
        let low = makeELF(code: Code.exit(0), address: 0x1000)
        let config = MachineConfig(image: low, memorySize: 4 << 20)
        #expect(throws: MachineError.self) { try Machine.run(config) }
        let high = makeELF(code: Code.exit(0), address: 0x3F_F000)
        #expect(throws: MachineError.self) { try Machine.run(MachineConfig(image: high, memorySize: 4 << 20)) }
    }
}

@Suite("ELF loader: fuzzer regressions")
struct ELFRegressionTests {
    @Test("every input the fuzzer ever crashed on now parses or is refused with an ELFError")
    func replayRegressions() throws {
        let directory = repositoryRoot.appendingPathComponent("Fuzz/ELFLoader")
        var inputs: [[UInt8]] = []
        for folder in ["regressions", "seeds"] {
            let path = directory.appendingPathComponent(folder).path
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where !name.hasPrefix(".") {
                inputs.append([UInt8](try Data(contentsOf: URL(fileURLWithPath: path).appendingPathComponent(name))))
            }
        }
        // The built guests are seeds too; with them the replay can never be empty.
        inputs += GuestImages.all.map(\.image)
        for bytes in inputs {
            if let image = try? ELFImage(bytes) {
                _ = try? image.checkFits(memorySize: 16 << 20, vcpus: 2)
                for segment in image.segments { #expect(segment.fileOffset + segment.fileSize <= UInt64(bytes.count)) }
            }
        }
        #expect(inputs.count >= GuestImages.all.count)
    }

    @Test("ELFImage.minimal builds an image the loader accepts")
    func minimal() throws {
        let image = try ELFImage(ELFImage.minimal(code: [0xEB, 0xFE]))
        #expect(image.entry == GuestABI.imageBase)
        #expect(image.segments.count == 1)
        try image.checkFits(memorySize: 4 << 20, vcpus: 1)
    }
}
