@_spi(Unchecked) import KVM
import MicroVM

/// How the kernel backend makes a real guest access: each VM it creates gets a hidden
/// memslot high in guest-physical memory holding long-mode tables (identity-mapping the
/// first 64 GiB with 2 MiB user pages: the low 4 GiB by `LongMode.tables`, the rest by
/// page directories of the probe's own) and a few instructions that read or write the 8
/// bytes at `rbx` and report with a port write. The tables never change after creation (a
/// shadow MMU, as on PVM hosts, would not see the host rewrite them). The vCPU has no
/// CPUID, so the guest's MAXPHYADDR is 36: a GPA of 64 GiB or more cannot be put in a page
/// table, and such an access is a step the backend cannot perform (a failure naming why),
/// never a silent skip. Accesses run at CPL3, so on PVM hosts they fault through
/// the guest_memfd rather than the CPL0 emulator (GMEM-SPEC G4).
///
/// Scenarios must leave the probe's resources alone: guest-physical addresses from
/// `GuestProbe.base` and memslot `GuestProbe.slot`. Accesses through a VM fd run on one probe
/// vCPU per VM: in the kernel backend with the highest id the scenario has not used (its
/// `ProbeState`); in the C reproducer with ids from `vcpuID` down (scenarios' ids there stay
/// up to `lowestVCPUID`).
struct GuestProbe {
    static let base: UInt64 = 0xFFE0_0000
    static let size: UInt64 = 2 << 20
    static let slot: UInt32 = 32763
    /// The C reproducer's probe vCPUs take ids from 4095 down (a new one only when the last
    /// ended an access in `unsupported`); its scenarios use ids up to `lowestVCPUID`.
    static let vcpuID: UInt32 = 4095
    static let lowestVCPUID: UInt32 = 1023
    static let codeOffset: UInt64 = 0x10000
    /// Where the probe's own page directories (GiB 4–63) start in its memory.
    static let highDirectories: UInt64 = 0x20000
    /// The guest's physical-address width without CPUID (`cpuid_maxphyaddr`'s default).
    static let guestPhysicalBits: UInt64 = 36
    static let readPort: UInt16 = 0x10
    static let writePort: UInt16 = 0x11

    /// test ecx, ecx; jnz write; mov rax, [rbx]; out 0x10, al; jmp $
    /// write: mov [rbx], rax; out 0x11, al; jmp $
    static let code: [UInt8] = [
        0x85, 0xC9,  // test ecx, ecx
        0x75, 0x07,  // jnz +7
        0x48, 0x8B, 0x03,  // mov rax, [rbx]
        0xE6, 0x10,  // out 0x10, al
        0xEB, 0xFE,  // jmp $
        0x48, 0x89, 0x03,  // mov [rbx], rax
        0xE6, 0x11,  // out 0x11, al
        0xEB, 0xFE,  // jmp $
    ]

    /// The page directories for GiB 4–63 and the PDPT entries pointing at them (built once:
    /// they depend only on `base`).
    static let highTables: (directories: [UInt8], entries: [UInt8]) = {
        // PDPT (at 0x2000, from LongMode.tables) entries 4–63 → directories of 2 MiB user pages.
        let gibibytes = UInt64(1) << (guestPhysicalBits - 30)
        var directories = [UInt8](repeating: 0, count: Int((gibibytes - 4) * 4096))
        var entries = [UInt8](repeating: 0, count: Int((gibibytes - 4) * 8))
        for g in 4..<gibibytes {
            let directory = highDirectories + (g - 4) * 4096
            entries.replaceSubrange(Int((g - 4) * 8)..<Int((g - 3) * 8), with: littleEndian((base + directory) | 0x7))
            for entry in 0..<UInt64(512) {
                let page = (g << 30 + entry << 21) | 0x87
                let at = Int((g - 4) * 4096 + entry * 8)
                directories.replaceSubrange(at..<at + 8, with: littleEndian(page))
            }
        }
        return (directories, entries)
    }()

    /// The 8 bytes of `value`, least significant first.
    static func littleEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// Whether `[gpa, gpa + size)` reaches the probe's own guest-physical range.
    static func overlaps(gpa: UInt64, size: UInt64) -> Bool {
        let (end, overflow) = gpa.addingReportingOverflow(size)
        return size != 0 && (overflow || end > base) && gpa < base + Self.size
    }

    /// The probe's memory (anonymous host memory behind the hidden memslot).
    let memory: HostMapping

    /// Creates the probe memory and binds it into the VM behind `vmFD`.
    init(vmFD: Int32) throws(KVMError) {
        memory = try HostMapping.anonymous(length: Self.size)
        let tables = LongMode.tables(base: Self.base, identityMap: 4 << 30)
        try memory.write(tables, at: 0)
        try memory.write(Self.code, at: Self.codeOffset)
        let (directories, entries) = Self.highTables
        try memory.write(directories, at: Self.highDirectories)
        try memory.write(entries, at: 0x2000 + 4 * 8)
        var region = MemoryRegion(
            slot: Self.slot, guestPhysicalAddress: Self.base, size: Self.size,
            userspaceAddress: memory.hostAddress)
        region.flags = []
        try UncheckedKVM.setUserMemoryRegion2(vmFD: vmFD, region)
    }

    /// Runs one access on `vcpu` and returns what it ended in.
    func access(on vcpu: borrowing VCPU, gpa: UInt64, write: UInt64?) -> Outcome {
        guard gpa >> Self.guestPhysicalBits == 0 else {
            return .unsupported(
                "the guest probe reaches guest-physical addresses below 2^\(Self.guestPhysicalBits) (its vCPU has no CPUID, so MAXPHYADDR is \(Self.guestPhysicalBits)); gpa \(hexOrDecimal(gpa)) is beyond"
            )
        }
        return Self.run(on: vcpu, address: gpa, write: write)
    }

    /// Runs the probe code on `vcpu` with `rbx = address` (a virtual address).
    static func run(on vcpu: borrowing VCPU, address gpa: UInt64, write: UInt64?) -> Outcome {
        do {
            try vcpu.setSpecialRegisters(LongMode.specialRegisters(from: try vcpu.specialRegisters(), base: base))
            var registers = Registers()
            registers.rip = base + codeOffset
            registers.rbx = gpa
            registers.rax = write ?? 0
            registers.rcx = write == nil ? 0 : 1
            registers.rflags = 0x3002
            try vcpu.setRegisters(registers)
        } catch {
            return .unsupported("cannot set up the probe vCPU: \(error)")
        }
        var sawMMIO = false
        for _ in 0..<16 {
            let exit: VCPUExit
            do {
                exit = try vcpu.run()
            } catch {
                if error.operation == .run, error.errno == .badAddress { return .userspaceFault }
                return .unsupported("KVM_RUN: \(error)")
            }
            switch exit {
            case .ioOut(let port, _, _, _) where port == readPort:
                if sawMMIO { return .mmio }
                guard let registers = try? vcpu.registers() else { return .unsupported("KVM_GET_REGS failed") }
                return .value(registers.rax)
            case .ioOut(let port, _, _, _) where port == writePort:
                return sawMMIO ? .mmio : .written
            case .mmioRead:
                sawMMIO = true
                vcpu.completeInput(0)  // complete the read, then let the probe reach its port
            case .mmioWrite:
                sawMMIO = true
            case .memoryFault(let flags, let address, let size):
                return .memoryFault(gpa: address.rawValue, size: size, flags: flags)
            case .interrupted:
                continue
            default:
                return .unsupported("unexpected exit \(exit) during a guest access")
            }
        }
        return .unsupported("the guest access did not finish")
    }
}
