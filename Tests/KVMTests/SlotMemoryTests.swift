import Foundation
@_spi(Unchecked) import KVM
import SystemPackage
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension KernelTests {
    @Suite("Memslots keep their host memory alive (issue 14 item 1)")
    struct SlotMemoryTests {
        /// A VM whose slot 0 maps `TinyGuest.code` through a mapping the caller no longer holds.
        @Test("a slot's mapping stays valid after the caller drops its handle, until the slot is deleted")
        func mappingOutlivesHandle() throws {
            let vm = try makeVM()
            weak var weakMapping: HostMapping?
            do {
                let file = try vm.createGuestMemfd(size: TinyGuest.memorySize)
                let mapping = try file.mapShared()
                try mapping.write(TinyGuest.code, at: TinyGuest.entry)
                try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: TinyGuest.memorySize, hostMemory: mapping)
                weakMapping = mapping
            }  // the caller's file and mapping handles are gone here
            #expect(weakMapping != nil, "the VM must keep the slot's host memory alive")
            let vcpu = try vm.createVCPU(id: 0)
            var sregs = try vcpu.specialRegisters()
            sregs.cs.base = 0
            sregs.cs.selector = 0
            try vcpu.setSpecialRegisters(sregs)
            var regs = Registers()
            regs.rip = TinyGuest.entry
            regs.rflags = 0x2
            try vcpu.setRegisters(regs)
            // Real-mode code: fetched through userspace_addr where the host emulates it (PVM).
            #expect(try vcpu.run() == .ioOut(port: TinyGuest.port, size: 1, count: 1, value: TinyGuest.value))
            try vm.deleteMemorySlot(0)
            #expect(weakMapping == nil, "deleting the slot releases its host memory")
        }

        @Test("the host memory lives while a vCPU does, even after the VM value is dropped")
        func vcpuKeepsMemory() throws {
            weak var weakMemory: HostMapping?
            var vm: VirtualMachine? = try makeVM()
            do {
                let memory = try HostMapping.anonymous(length: 64 * 1024)
                try vm!.setMemorySlot(0, guestPhysicalAddress: 0, size: 64 * 1024, memory: memory)
                weakMemory = memory
            }
            let vcpu = try vm!.createVCPU(id: 0)
            vm = nil
            #expect(weakMemory != nil, "the kernel's VM and its memslots live while the vCPU fd does")
            _ = consume vcpu
            #expect(weakMemory == nil)
        }

        @Test("bind refuses another file's mapping and memory shorter than the slot, before the syscall")
        func wrongMemory() throws {
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 8 * 4096)
            let other = try vm.createGuestMemfd(size: 8 * 4096)
            let otherMapping = try other.mapShared()
            let short = try HostMapping.anonymous(length: 4096)
            for memory in [otherMapping, short] {
                do {
                    try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: 8 * 4096, hostMemory: memory)
                    Issue.record("bound with unsuitable host memory")
                } catch {
                    #expect(error.refusal != nil && error.errno == .invalidArgument, "\(error)")
                }
            }
            let own = try file.mapShared()
            do {
                try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: 8 * 4096, fileOffset: 4096, hostMemory: own)
            } catch {
                #expect(error.refusal != nil, "a file range past the mapping is refused: \(error)")
            }
            try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: 4 * 4096, fileOffset: 4096, hostMemory: own)
        }
    }
}

@Suite("Only the unchecked (SPI) API takes a host address")
struct HostAddressAPITests {
    /// The public declarations of `directory` whose signature names a host address, and
    /// whether each is `@_spi(Unchecked)` (on itself or on its enclosing top-level type).
    static func addressDeclarations(in directory: String) throws -> [(String, Bool)] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(directory)
        var found: [(String, Bool)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: root.path) where name.hasSuffix(".swift") {
            let lines = try String(contentsOf: root.appendingPathComponent(name), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            var typeIsSPI = false
            for (index, line) in lines.enumerated() {
                let previous = index > 0 ? lines[index - 1] : ""
                if !line.hasPrefix(" "), line.hasPrefix("public ") || line.hasPrefix("extension ") {
                    typeIsSPI = previous.contains("@_spi(Unchecked)")
                }
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard trimmed.hasPrefix("public ") else { continue }
                // The whole signature: while its parameter list is open.
                var signature = trimmed
                var next = index + 1
                while signature.filter({ $0 == "(" }).count > signature.filter({ $0 == ")" }).count, next < lines.count
                {
                    signature += lines[next]
                    next += 1
                }
                let header = signature.split(separator: "{").first.map(String.init) ?? signature
                let namesAddress = [
                    "userspaceAddress", "hostAddress", "UnsafeMutableRawPointer", "UnsafeRawPointer", "OpaquePointer",
                ]
                .contains { header.contains($0) }
                guard namesAddress else { continue }
                found.append(("\(name): \(trimmed)", typeIsSPI || previous.contains("@_spi(Unchecked)")))
            }
        }
        return found
    }

    @Test("no public, non-SPI declaration of KVM or GuestMemory takes or gives a host address")
    func onlyUncheckedTakesAddresses() throws {
        var declarations: [(String, Bool)] = []
        for directory in ["Sources/KVM", "Sources/GuestMemory"] {
            declarations += try Self.addressDeclarations(in: directory)
        }
        for (declaration, isSPI) in declarations {
            #expect(isSPI, "\(declaration) is public API naming a host address")
        }
        // The scan sees the unchecked variants, so it would see a safe one too.
        #expect(declarations.contains { $0.0.contains("bindUnchecked") || $0.0.contains("setMemorySlotUnchecked") })
        #expect(declarations.contains { $0.0.contains("var hostAddress") })
    }
}
