import CKVM
import Foundation
import GmemModel
@_spi(Unchecked) import KVM
import TestSupport
import Testing

@testable import GmemConformance
@testable import MicroVM

#if canImport(Glibc)
import Glibc
#endif

/// The repository's Guests/ directory (the guests are built by the plugin, not imported).
private let guestsDirectory = repositoryRoot.appendingPathComponent("Guests")

/// `static let NAME: TYPE = VALUE` and `case NAME = VALUE` lines of a Swift source file.
private func constants(in file: String) throws -> [String: UInt64] {
    let text = try String(contentsOf: guestsDirectory.appendingPathComponent(file), encoding: .utf8)
    var found: [String: UInt64] = [:]
    for line in text.split(separator: "\n") {
        let words = line.split(whereSeparator: { " :=".contains($0) })
        guard let name = words.firstIndex(where: { $0 == "let" || $0 == "case" }).map({ words.index(after: $0) }),
            name < words.endIndex, let valueWord = words.last
        else { continue }
        let value = valueWord.hasPrefix("0x") ? UInt64(valueWord.dropFirst(2), radix: 16) : UInt64(valueWord)
        if let value { found[String(words[name])] = value }
    }
    return found
}

@Suite("ABI numbers: every copy agrees with its one source")
struct ABIAgreementTests {
    @Test("CKVM's pinned UAPI, KVM's Swift types and GmemModel's GmemABI name the same numbers")
    func kernelABI() {
        #expect(CKVM_MEM_LOG_DIRTY_PAGES == GmemABI.MemslotFlag.logDirtyPages)
        #expect(CKVM_MEM_READONLY == GmemABI.MemslotFlag.readonly)
        #expect(CKVM_MEM_GUEST_MEMFD == GmemABI.MemslotFlag.guestMemfd)
        #expect(MemoryRegion.Flags.guestMemfd.rawValue == GmemABI.MemslotFlag.guestMemfd)
        #expect(MemoryRegion.Flags.readonly.rawValue == GmemABI.MemslotFlag.readonly)
        #expect(MemoryRegion.Flags.logDirtyPages.rawValue == GmemABI.MemslotFlag.logDirtyPages)
        #expect(UInt64(CKVM_GUEST_MEMFD_FLAG_MMAP) == GmemABI.CreateFlag.mmap)
        #expect(UInt64(CKVM_GUEST_MEMFD_FLAG_INIT_SHARED) == GmemABI.CreateFlag.initShared)
        #expect(GuestMemfdFlags.mmap.rawValue == GmemABI.CreateFlag.mmap)
        #expect(GuestMemfdFlags.initShared.rawValue == GmemABI.CreateFlag.initShared)
        #expect(UInt64(CKVM_MEMORY_ATTRIBUTE_PRIVATE) == GmemABI.MemoryAttribute.private)
        #expect(MemoryAttributes.private.rawValue == GmemABI.MemoryAttribute.private)
        #expect(UInt64(CKVM_MEMORY_EXIT_FLAG_PRIVATE) == GmemABI.MemoryFaultFlag.private)
        #expect(UInt64(CKVM_X86_DEFAULT_VM) == GmemABI.VMType.default)
        #expect(UInt64(CKVM_X86_SW_PROTECTED_VM) == GmemABI.VMType.softwareProtected)
        #expect(UInt64(VMType.softwareProtected.rawValue) == GmemABI.VMType.softwareProtected)
    }

    @Test(
        "fallocate, mmap and protection numbers: Glibc, KVM.FallocateMode and GmemABI agree; punchHole (0x02) and punchHoleKeepSize (0x03) are distinct names"
    )
    func fileABI() {
        #expect(FallocateMode.keepSize.rawValue == GmemABI.FallocateMode.keepSize)
        #expect(
            FallocateMode.punchHoleKeepSize.rawValue == GmemABI.FallocateMode.punchHole | GmemABI.FallocateMode.keepSize
        )
        #expect(FallocateMode.punchHoleKeepSize.rawValue == 0x03 && GmemABI.FallocateMode.punchHole == 0x02)
        #expect(FallocateMode.punchHole.rawValue == GmemABI.FallocateMode.punchHole)
        #expect(
            PROT_READ == GmemABI.Protection.read && PROT_WRITE == GmemABI.Protection.write
                && PROT_EXEC == GmemABI.Protection.exec)
        #expect(MAP_SHARED == GmemABI.MapFlag.shared && MAP_PRIVATE == GmemABI.MapFlag.private)
        #expect(Int32(sysconf(Int32(_SC_PAGESIZE))) == Int32(GmemABI.pageSize))
    }

    @Test(
        "the guests' Ports (Guests/Runtime/Ports.swift) are GuestABI.Port, name for name, and the guest README cites each"
    )
    func guestPorts() throws {
        let guest = try constants(in: "Runtime/Ports.swift")
        #expect(guest.mapValues(UInt16.init) == GuestABI.Port.all, "guest \(guest) vs VMM \(GuestABI.Port.all)")
        let readme = try String(contentsOf: guestsDirectory.appendingPathComponent("README.md"), encoding: .utf8)
            .lowercased()
        for (name, port) in GuestABI.Port.all {
            #expect(readme.contains("0x" + String(port, radix: 16)), "Guests/README.md does not mention port \(name)")
        }
    }

    @Test("the guests' memory-request operations and layout are the VMM's")
    func guestRequestsAndLayout() throws {
        let operations = try constants(in: "Runtime/MemoryRequest.swift")
        let device: [String: UInt64] = [
            "punchHole": UInt64(MemoryRequestDevice.Operation.punchHole.rawValue),
            "allocate": UInt64(MemoryRequestDevice.Operation.allocate.rawValue),
            "report": UInt64(MemoryRequestDevice.Operation.report.rawValue),
            "release": UInt64(MemoryRequestDevice.Operation.release.rawValue),
        ]
        #expect(operations.filter { device.keys.contains($0.key) } == device)
        let linker = try String(
            contentsOf: guestsDirectory.appendingPathComponent("Runtime/linker.ld"), encoding: .utf8)
        #expect(linker.contains(". = 0x" + String(GuestABI.imageBase, radix: 16) + ";"))
        let layout = try String(
            contentsOf: guestsDirectory.appendingPathComponent("Runtime/Layout.swift"), encoding: .utf8)
        #expect(GuestABI.stackSize == 64 * 1024 && layout.contains("let stackSizePerCPU = 64 * 1024"))
    }

    @Test("the conformance guest probe's code writes the ports it waits for, in a slot and vCPU id the kernel accepts")
    func guestProbe() {
        let code = GuestProbe.code
        let outs = zip(code, code.dropFirst()).filter { $0.0 == 0xE6 }.map(\.1)  // out imm8, al
        #expect(Set(outs) == [UInt8(GuestProbe.readPort), UInt8(GuestProbe.writePort)])
        #expect(GuestProbe.slot < GmemABI.userMemorySlots)
        #expect(GuestProbe.vcpuID < GmemABI.maxVCPUIDs)
        #expect(GuestProbe.base % GmemABI.pageSize == 0 && GuestProbe.base + GuestProbe.size <= 1 << 32)
        #expect(GuestProbe.codeOffset + UInt64(code.count) <= GuestProbe.size)
    }
}
