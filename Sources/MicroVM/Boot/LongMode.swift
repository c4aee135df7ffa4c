import GuestMemory
import KVM

/// Puts a vCPU straight into 64-bit long mode at CPL3 (HOST-NOTES.md): the VMM writes a
/// GDT, a TSS with an all-allowing I/O bitmap and identity-mapping page tables (2 MiB user
/// pages) into guest memory, then loads the matching special registers.
enum LongMode {
    /// Writes the GDT, TSS and page tables identity-mapping `[0, memorySize)` (every region).
    static func writeTables(into memory: GuestMemoryMap, memorySize: UInt64) throws(GuestMemoryError) {
        try memory.fill(0, at: GuestPhysicalAddress(0), count: GuestABI.tss + GuestABI.tssLimit + 1)

        // GDT: null, kernel code/data (unused), user data 0x2b, user code 0x33, TSS 0x38.
        let tss = GuestABI.tss, limit = GuestABI.tssLimit
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
        for (index, entry) in gdt.enumerated() {
            try memory.store(entry, at: GuestPhysicalAddress(GuestABI.gdtBase + UInt64(index) * 8))
        }
        // TSS: iomap_base at 0x66 points at an all-zero bitmap (every port allowed), which
        // must be followed by a 0xFF byte.
        try memory.store(UInt16(GuestABI.tssIOMapOffset), at: GuestPhysicalAddress(tss + 0x66))
        try memory.store(UInt8(0xff), at: GuestPhysicalAddress(tss + limit))

        // Page tables: PML4[0] → PDPT; PDPT[g] → PD g; PD entries map 2 MiB user pages.
        let userTable: UInt64 = 0x7  // present | writable | user
        try memory.store(GuestABI.pdpt | userTable, at: GuestPhysicalAddress(GuestABI.pml4))
        let gibibytes = (memorySize + (1 << 30) - 1) >> 30
        for g in 0..<gibibytes {
            let pd = GuestABI.firstPageDirectory + g * 0x1000
            try memory.store(pd | userTable, at: GuestPhysicalAddress(GuestABI.pdpt + g * 8))
            for entry in 0..<UInt64(512) {
                let address = (g << 30) + entry * GuestABI.memoryGranule
                guard address < memorySize else { break }
                try memory.store(address | 0x87, at: GuestPhysicalAddress(pd + entry * 8))  // + page size
            }
        }
    }

    /// The special registers for CPL3 long mode, starting from the vCPU's reset state.
    static func specialRegisters(from reset: SpecialRegisters) -> SpecialRegisters {
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
        tr.base = GuestABI.tss
        tr.limit = UInt32(GuestABI.tssLimit)
        tr.selector = GuestABI.tssSelector
        tr.type = 11
        tr.present = true
        sregs.tr = tr
        var ldt = Segment()
        ldt.type = 2
        ldt.unusable = true
        sregs.ldt = ldt
        sregs.gdt = DescriptorTable(base: GuestABI.gdtBase, limit: 9 * 8 - 1)
        sregs.idt = DescriptorTable(base: 0, limit: 0)
        sregs.cr0 = 0x8005_0033  // PG | WP | NE | ET | MP | PE
        sregs.cr3 = GuestABI.pml4
        sregs.cr4 = 0x20         // PAE
        sregs.efer = 0x500       // LME | LMA
        return sregs
    }

    /// The general registers at entry for vCPU `index` of `count`.
    static func entryRegisters(entry: UInt64, index: Int, count: Int, memorySize: UInt64) -> Registers {
        var regs = Registers()
        regs.rip = entry
        regs.rdi = UInt64(index)
        regs.rsi = UInt64(count)
        regs.rdx = memorySize
        regs.rsp = memorySize - UInt64(index) * GuestABI.stackSize
        regs.rflags = 0x3002  // IOPL 3 (for VMX/SVM), reserved bit 1
        return regs
    }
}
