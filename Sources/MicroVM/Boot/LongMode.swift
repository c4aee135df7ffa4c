import GuestMemory
import KVM

/// Puts a vCPU straight into 64-bit long mode at CPL3 (HOST-NOTES.md): the VMM writes a
/// GDT, a TSS with an all-allowing I/O bitmap and identity-mapping page tables (2 MiB user
/// pages) into guest memory, then loads the matching special registers.
///
/// The tables are position-independent: `tables(base:identityMap:)` builds them for any
/// page-aligned guest-physical `base` (the micro-VM uses 0; the conformance kernel backend
/// puts them in a hidden memslot high in the address space).
public enum LongMode {
    /// Bytes the tables occupy from their base.
    public static let tablesSize: UInt64 = GuestABI.tss + GuestABI.tssLimit + 1

    /// The table bytes to place at `base`, identity-mapping `[0, identityMap)` (rounded up
    /// to 2 MiB, at most 4 GiB). Addresses wrap rather than trap for a `base` near 2^64.
    public static func tables(base: UInt64, identityMap: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(tablesSize))
        func put<T: FixedWidthInteger>(_ value: T, at offset: UInt64) {
            withUnsafeBytes(of: value.littleEndian) { raw in
                for (i, byte) in raw.enumerated() { bytes[Int(offset) + i] = byte }
            }
        }
        // GDT: null, kernel code/data (unused), user data 0x2b, user code 0x33, TSS 0x38.
        let tss = base &+ GuestABI.tss, limit = GuestABI.tssLimit
        let gdt: [UInt64] = [
            0, 0,
            0x00af_9b00_0000_ffff,  // 0x10 kernel code, L=1
            0x00cf_9300_0000_ffff,  // 0x18 kernel data
            0,
            0x00cf_f300_0000_ffff,  // 0x28 user data: DPL 3, DB=1
            0x00af_fb00_0000_ffff,  // 0x30 user code: DPL 3, L=1
            (limit & 0xffff) | (tss & 0xff_ffff) << 16 | 0x8b << 40 | ((limit >> 16) & 0xf) << 48 | ((tss >> 24) & 0xff) << 56,
            tss >> 32,              // 0x38 busy 64-bit TSS (two slots)
        ]
        for (index, entry) in gdt.enumerated() { put(entry, at: GuestABI.gdtBase + UInt64(index) * 8) }
        // TSS: iomap_base at 0x66 points at an all-zero bitmap (every port allowed), which
        // must be followed by a 0xFF byte. PVM checks it for every CPL3 in/out.
        put(UInt16(GuestABI.tssIOMapOffset), at: GuestABI.tss + 0x66)
        put(UInt8(0xff), at: GuestABI.tss + limit)

        // Page tables: PML4[0] → PDPT; PDPT[g] → PD g; PD entries map 2 MiB user pages.
        let userTable: UInt64 = 0x7  // present | writable | user
        put((base &+ GuestABI.pdpt) | userTable, at: GuestABI.pml4)
        let mapped = min(identityMap, GuestABI.maximumMemory)
        let gibibytes = (mapped + (1 << 30) - 1) >> 30
        for g in 0..<gibibytes {
            let pd = GuestABI.firstPageDirectory + g * 0x1000
            put((base &+ pd) | userTable, at: GuestABI.pdpt + g * 8)
            for entry in 0..<UInt64(512) {
                let address = (g << 30) + entry * GuestABI.memoryGranule
                guard address < mapped else { break }
                put(address | 0x87, at: pd + entry * 8)  // + page size
            }
        }
        return bytes
    }

    /// Writes the tables for `[0, memorySize)` at GPA 0 of `memory` (the micro-VM layout).
    static func writeTables(into memory: GuestMemoryMap, memorySize: UInt64) throws(GuestMemoryError) {
        try memory.write(tables(base: 0, identityMap: memorySize), at: GuestPhysicalAddress(0))
    }

    /// The special registers for CPL3 long mode with tables at `base`, starting from the
    /// vCPU's reset state.
    public static func specialRegisters(from reset: SpecialRegisters, base: UInt64 = 0) -> SpecialRegisters {
        var sregs = reset
        var code = Segment()
        code.selector = GuestABI.userCodeSelector
        code.type = 11
        code.present = true
        code.dpl = 3
        code.s = true
        code.l = true
        code.g = true
        code.limit = 0xffff_ffff
        var data = Segment()
        data.selector = GuestABI.userDataSelector
        data.type = 3
        data.present = true
        data.dpl = 3
        data.s = true
        data.db = true
        data.g = true
        data.limit = 0xffff_ffff
        sregs.cs = code
        sregs.ds = data; sregs.es = data; sregs.fs = data; sregs.gs = data; sregs.ss = data
        var tr = Segment()
        tr.base = base &+ GuestABI.tss
        tr.limit = UInt32(GuestABI.tssLimit)
        tr.selector = GuestABI.tssSelector
        tr.type = 11
        tr.present = true
        sregs.tr = tr
        var ldt = Segment()
        ldt.type = 2
        ldt.unusable = true
        sregs.ldt = ldt
        sregs.gdt = DescriptorTable(base: base &+ GuestABI.gdtBase, limit: 9 * 8 - 1)
        sregs.idt = DescriptorTable(base: 0, limit: 0)
        sregs.cr0 = 0x8005_0033  // PG | WP | NE | ET | MP | PE
        sregs.cr3 = base &+ GuestABI.pml4
        sregs.cr4 = 0x20         // PAE
        sregs.efer = 0x500       // LME | LMA
        return sregs
    }

    /// The general registers at entry for vCPU `index` of `count`.
    public static func entryRegisters(entry: UInt64, index: Int, count: Int, memorySize: UInt64) -> Registers {
        var regs = Registers()
        regs.rip = entry
        // Bit patterns and wrapping arithmetic: a caller's out-of-range index gives registers
        // the guest cannot use, never a trap (Machine passes only validated values).
        regs.rdi = UInt64(truncatingIfNeeded: index)
        regs.rsi = UInt64(truncatingIfNeeded: count)
        regs.rdx = memorySize
        regs.rsp = memorySize &- UInt64(truncatingIfNeeded: index) &* GuestABI.stackSize
        regs.rflags = 0x3002  // IOPL 3 (for VMX/SVM), reserved bit 1
        return regs
    }
}
