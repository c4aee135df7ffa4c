/// Puts a vCPU straight into 64-bit long mode at CPL3 (HOST-NOTES.md): the VMM writes a
/// GDT, a TSS with an all-allowing I/O bitmap and identity-mapping page tables (2 MiB user
/// pages) into guest memory, then loads the matching special registers.
///
/// The tables are position-independent: `tables(base:identityMap:)` builds them for any
/// page-aligned guest-physical `base` (the micro-VM uses 0; the conformance kernel backend
/// puts them in a hidden memslot high in the address space). They occupy
/// `[base, base + tablesSize)`; keep guest code and data out of that range.
///
/// ```swift
/// try host.write(LongMode.tables(base: 0, identityMap: ram.size), at: 0)
/// try vcpu.enterLongMode(at: 0x10_0000, stackPointer: ram.size, tablesAt: 0)
/// ```
public enum LongMode {
    /// Bytes the tables occupy from their base (0xA069: GDT at +0x800, PML4 at +0x1000,
    /// PDPT at +0x2000, page directories from +0x3000, TSS and I/O bitmap at +0x8000).
    public static let tablesSize: UInt64 = Layout.tss + Layout.tssLimit + 1
    /// The most the tables identity-map: 4 GiB (one page directory per GiB).
    public static let maximumIdentityMap: UInt64 = 4 << 30
    /// The page size of the identity map: 2 MiB user pages.
    public static let identityPageSize: UInt64 = 2 << 20

    /// Offsets of the tables from their base, and the selectors they define.
    enum Layout {
        static let gdtBase: UInt64 = 0x800
        static let pml4: UInt64 = 0x1000
        static let pdpt: UInt64 = 0x2000
        static let firstPageDirectory: UInt64 = 0x3000
        static let tss: UInt64 = 0x8000
        /// The TSS's I/O-permission bitmap follows its 104-byte body; PVM checks it for every
        /// CPL3 `in`/`out` (RFLAGS.IOPL is not honoured there), so it must allow every port.
        static let tssIOMapOffset: UInt64 = 0x68
        static let tssLimit: UInt64 = 0x68 + 8192
        /// Selectors of the flat 64-bit user segments (the Linux layout).
        static let userCodeSelector: UInt16 = 0x33
        static let userDataSelector: UInt16 = 0x2b
        static let tssSelector: UInt16 = 0x38
    }

    /// The table bytes to place at `base`, identity-mapping `[0, identityMap)` (rounded up
    /// to 2 MiB, at most 4 GiB). Addresses wrap rather than trap for a `base` near 2^64.
    public static func tables(base: UInt64, identityMap: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(tablesSize))
        func put<T: FixedWidthInteger>(_ value: T, at offset: UInt64) {
            // Little-endian bytes by shifting: no pointers, and every offset is a constant
            // below `tablesSize`.
            for i in 0..<(T.bitWidth / 8) { bytes[Int(offset) + i] = UInt8(truncatingIfNeeded: value >> (i * 8)) }
        }
        // GDT: null, kernel code/data (unused), user data 0x2b, user code 0x33, TSS 0x38.
        let tss = base &+ Layout.tss
        let limit = Layout.tssLimit
        let gdt: [UInt64] = [
            0, 0,
            0x00af_9b00_0000_ffff,  // 0x10 kernel code, L=1
            0x00cf_9300_0000_ffff,  // 0x18 kernel data
            0,
            0x00cf_f300_0000_ffff,  // 0x28 user data: DPL 3, DB=1
            0x00af_fb00_0000_ffff,  // 0x30 user code: DPL 3, L=1
            (limit & 0xffff) | (tss & 0xff_ffff) << 16 | 0x8b << 40 | ((limit >> 16) & 0xf) << 48 | ((tss >> 24) & 0xff)
                << 56,
            tss >> 32,  // 0x38 busy 64-bit TSS (two slots)
        ]
        for (index, entry) in gdt.enumerated() { put(entry, at: Layout.gdtBase + UInt64(index) * 8) }
        // TSS: iomap_base at 0x66 points at an all-zero bitmap (every port allowed), which
        // must be followed by a 0xFF byte. PVM checks it for every CPL3 in/out.
        put(UInt16(Layout.tssIOMapOffset), at: Layout.tss + 0x66)
        put(UInt8(0xff), at: Layout.tss + limit)

        // Page tables: PML4[0] → PDPT; PDPT[g] → PD g; PD entries map 2 MiB user pages.
        let userTable: UInt64 = 0x7  // present | writable | user
        put((base &+ Layout.pdpt) | userTable, at: Layout.pml4)
        let mapped = min(identityMap, maximumIdentityMap)
        let gibibytes = (mapped + (1 << 30) - 1) >> 30
        for g in 0..<gibibytes {
            let pd = Layout.firstPageDirectory + g * 0x1000
            put((base &+ pd) | userTable, at: Layout.pdpt + g * 8)
            for entry in 0..<UInt64(512) {
                let address = (g << 30) + entry * identityPageSize
                guard address < mapped else { break }
                put(address | 0x87, at: pd + entry * 8)  // + page size
            }
        }
        return bytes
    }

    /// A flat 4 GiB present DPL 3 code or data segment descriptor (`s`, page-granular):
    /// `longMode` sets L (a 64-bit code segment), otherwise DB.
    private static func userSegment(selector: UInt16, type: UInt8, longMode: Bool) -> Segment {
        var segment = Segment()
        segment.selector = selector
        segment.type = type
        segment.present = true
        segment.dpl = 3
        segment.s = true
        segment.l = longMode
        segment.db = !longMode
        segment.g = true
        segment.limit = 0xffff_ffff
        return segment
    }

    /// The special registers for CPL3 long mode with tables at `base`, starting from the
    /// vCPU's reset state.
    public static func specialRegisters(from reset: SpecialRegisters, base: UInt64 = 0) -> SpecialRegisters {
        var sregs = reset
        // CS: execute/read, accessed (11), 64-bit (L); the data segments: read/write,
        // accessed (3), 32-bit default size (DB, ignored in 64-bit mode but checked on entry).
        let code = userSegment(selector: Layout.userCodeSelector, type: 11, longMode: true)
        let data = userSegment(selector: Layout.userDataSelector, type: 3, longMode: false)
        sregs.cs = code
        sregs.ds = data
        sregs.es = data
        sregs.fs = data
        sregs.gs = data
        sregs.ss = data
        var tr = Segment()
        tr.base = base &+ Layout.tss
        tr.limit = UInt32(Layout.tssLimit)
        tr.selector = Layout.tssSelector
        tr.type = 11
        tr.present = true
        sregs.tr = tr
        var ldt = Segment()
        ldt.type = 2
        ldt.unusable = true
        sregs.ldt = ldt
        sregs.gdt = DescriptorTable(base: base &+ Layout.gdtBase, limit: 9 * 8 - 1)
        sregs.idt = DescriptorTable(base: 0, limit: 0)
        sregs.cr0 = 0x8005_0033  // PG | WP | NE | ET | MP | PE
        sregs.cr3 = base &+ Layout.pml4
        sregs.cr4 = 0x20  // PAE
        sregs.efer = 0x500  // LME | LMA
        return sregs
    }

    /// Each vCPU's stack in `entryRegisters`: vCPU i's top is `memorySize - i * stackSize`.
    public static let stackSize: UInt64 = 64 * 1024

    /// The general registers at entry for vCPU `index` of `count` (the micro-VM's guest ABI:
    /// `rdi` = index, `rsi` = count, `rdx` = memory size, each vCPU's stack
    /// `stackSize` below the previous one's).
    public static func entryRegisters(entry: UInt64, index: Int, count: Int, memorySize: UInt64) -> Registers {
        var regs = Registers()
        regs.rip = entry
        // Bit patterns and wrapping arithmetic: a caller's out-of-range index gives registers
        // the guest cannot use, never a trap (Machine passes only validated values).
        regs.rdi = UInt64(truncatingIfNeeded: index)
        regs.rsi = UInt64(truncatingIfNeeded: count)
        regs.rdx = memorySize
        regs.rsp = memorySize &- UInt64(truncatingIfNeeded: index) &* stackSize
        regs.rflags = 0x3002  // IOPL 3 (for VMX/SVM), reserved bit 1
        return regs
    }
}

extension VCPU {
    /// Puts this vCPU in 64-bit long mode at CPL3, about to run the instruction at `entry`
    /// with `rsp` = `stackPointer`, using tables the caller wrote at guest-physical
    /// `tablesAt` (the bytes of `LongMode.tables(base: tablesAt, identityMap: …)`, in memory
    /// a memslot backs). `RFLAGS.IOPL` is 3, so the guest may use `in`/`out`; the other
    /// general registers are zero.
    ///
    /// Without this (or equivalent register writes) a new vCPU starts in real mode at
    /// `0xFFFF_FFF0`, and its first `run()` typically returns `.internalError` with an
    /// emulation failure.
    /// - Throws: `KVMError` with `.getSpecialRegisters`, `.setSpecialRegisters` or
    ///   `.setRegisters` and the kernel's errno (`EINVAL` for a `tablesAt` that is not
    ///   page-aligned or not a canonical address).
    public func enterLongMode(at entry: UInt64, stackPointer: UInt64, tablesAt base: UInt64 = 0) throws(KVMError) {
        try setSpecialRegisters(LongMode.specialRegisters(from: try specialRegisters(), base: base))
        var regs = Registers()
        regs.rip = entry
        regs.rsp = stackPointer
        regs.rflags = 0x3002  // IOPL 3, reserved bit 1
        try setRegisters(regs)
    }
}
