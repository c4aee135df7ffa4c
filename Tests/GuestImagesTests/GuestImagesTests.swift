import Foundation
import GuestImages
import TestSupport
import Testing

/// Reads little-endian integers out of an ELF image.
private struct ELFReader {
    let bytes: [UInt8]
    func u16(_ offset: Int) -> UInt64 { read(offset, 2) }
    func u32(_ offset: Int) -> UInt64 { read(offset, 4) }
    func u64(_ offset: Int) -> UInt64 { read(offset, 8) }
    private func read(_ offset: Int, _ count: Int) -> UInt64 {
        (0..<count).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }
}

@Suite("Guest images: built by GuestBuilder during swift build")
struct GuestImagesTests {
    @Test("every guest directory is embedded, in name order")
    func allGuestsPresent() {
        #expect(GuestImages.all.map(\.name) == ["hello", "pingpong", "release", "smp", "snapshot", "touch"])
        #expect(GuestImages.image(named: "hello") == GuestImages.hello)
        #expect(GuestImages.image(named: "nope") == nil)
    }

    @Test(
        "each image is a static ELF64 x86-64 executable entered at 2 MiB",
        arguments: GuestImages.all.map(\.name))
    func elfHeader(name: String) throws {
        let image = try #require(GuestImages.image(named: name))
        let elf = ELFReader(bytes: image)
        #expect(Array(image.prefix(4)) == [0x7F, 0x45, 0x4C, 0x46])
        #expect(image[4] == 2 && image[5] == 1)  // ELFCLASS64, little-endian
        #expect(elf.u16(16) == 2)  // ET_EXEC
        #expect(elf.u16(18) == 62)  // EM_X86_64
        #expect(elf.u64(24) == 0x200000)  // entry: _start at 2 MiB
    }

    @Test(
        "the loadable segment sits at 2 MiB and its memsz ends page-aligned (bss included)",
        arguments: GuestImages.all.map(\.name))
    func loadSegment(name: String) throws {
        let image = try #require(GuestImages.image(named: name))
        let elf = ELFReader(bytes: image)
        let (phoff, phentsize, phnum) = (Int(elf.u64(32)), Int(elf.u16(54)), Int(elf.u16(56)))
        let loads = (0..<phnum).map { phoff + $0 * phentsize }.filter { elf.u32($0) == 1 }  // PT_LOAD
        try #require(loads.count == 1)
        let ph = loads[0]
        let (offset, paddr, filesz, memsz) = (elf.u64(ph + 8), elf.u64(ph + 24), elf.u64(ph + 32), elf.u64(ph + 40))
        #expect(paddr == 0x200000)
        #expect(memsz >= filesz)
        #expect((paddr + memsz) % 4096 == 0)
        #expect(offset + filesz <= UInt64(image.count))
        #expect(paddr + memsz < 0x400000)  // fits a 4 MiB guest with room to spare
    }
}

/// The toolchain's disassembler: next to `swift` on PATH (the toolchain ships it).
private let objdump: String? = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/llvm-objdump"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}()

@Suite("Guest images: instruction set", .descriptorExclusive)
struct GuestInstructionTests {
    // The guests must not use SSE/AVX (PVM's guest CPUID offers little and CPL0 emulation
    // does not cover them; HOST-NOTES.md), nor instructions a CPL3 payload cannot run.
    @Test(
        "no image uses an SSE/AVX register or a forbidden instruction",
        .enabled(if: objdump != nil, "needs llvm-objdump (shipped with the Swift toolchain) on PATH"),
        arguments: GuestImages.all.map(\.name))
    func noSSE(name: String) throws {
        let image = try #require(GuestImages.image(named: name))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gmemkit-\(name)-\(getpid()).elf")
        try Data(image).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: objdump!)
        process.arguments = ["-d", "--no-show-raw-insn", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let instructions = output.split(separator: "\n").filter {
            $0.hasPrefix("  ") && $0.contains(":") && $0.contains("\t")
        }
        #expect(instructions.count > 10, "the disassembly must show the guest's code")
        #expect(output.contains("<guest_main>"))
        let sse = instructions.filter { $0.contains("%xmm") || $0.contains("%ymm") || $0.contains("%zmm") }
        #expect(sse.isEmpty, "SSE/AVX instructions: \(sse.prefix(5))")
        let forbidden = ["int3", "\tint\t", "\thlt", "\tcli", "\tsti", "cmpxchg16b", "xsave", "xrstor", "sysret"]
        let bad = instructions.filter { line in forbidden.contains { line.contains($0) } }
        #expect(bad.isEmpty, "forbidden instructions: \(bad.prefix(5))")
    }
}
