import CKVM

/// The general-purpose registers of a vCPU (`struct kvm_regs`).
public struct Registers: Hashable, Sendable {
    var raw: ckvm_regs

    /// All registers zero.
    public init() { raw = ckvm_regs() }
    init(raw: ckvm_regs) { self.raw = raw }

    /// `rax`.
    public var rax: UInt64 {
        get { raw.rax }
        set { raw.rax = newValue }
    }
    /// `rbx`.
    public var rbx: UInt64 {
        get { raw.rbx }
        set { raw.rbx = newValue }
    }
    /// `rcx`.
    public var rcx: UInt64 {
        get { raw.rcx }
        set { raw.rcx = newValue }
    }
    /// `rdx`.
    public var rdx: UInt64 {
        get { raw.rdx }
        set { raw.rdx = newValue }
    }
    /// `rsi`.
    public var rsi: UInt64 {
        get { raw.rsi }
        set { raw.rsi = newValue }
    }
    /// `rdi`.
    public var rdi: UInt64 {
        get { raw.rdi }
        set { raw.rdi = newValue }
    }
    /// `rsp`: the stack pointer.
    public var rsp: UInt64 {
        get { raw.rsp }
        set { raw.rsp = newValue }
    }
    /// `rbp`: the frame pointer.
    public var rbp: UInt64 {
        get { raw.rbp }
        set { raw.rbp = newValue }
    }
    /// `r8`.
    public var r8: UInt64 {
        get { raw.r8 }
        set { raw.r8 = newValue }
    }
    /// `r9`.
    public var r9: UInt64 {
        get { raw.r9 }
        set { raw.r9 = newValue }
    }
    /// `r10`.
    public var r10: UInt64 {
        get { raw.r10 }
        set { raw.r10 = newValue }
    }
    /// `r11`.
    public var r11: UInt64 {
        get { raw.r11 }
        set { raw.r11 = newValue }
    }
    /// `r12`.
    public var r12: UInt64 {
        get { raw.r12 }
        set { raw.r12 = newValue }
    }
    /// `r13`.
    public var r13: UInt64 {
        get { raw.r13 }
        set { raw.r13 = newValue }
    }
    /// `r14`.
    public var r14: UInt64 {
        get { raw.r14 }
        set { raw.r14 = newValue }
    }
    /// `r15`.
    public var r15: UInt64 {
        get { raw.r15 }
        set { raw.r15 = newValue }
    }
    /// `rip`: the instruction pointer: where the vCPU resumes.
    public var rip: UInt64 {
        get { raw.rip }
        set { raw.rip = newValue }
    }
    /// `rflags`: the flags register (bit 1 is always set; IOPL in bits 12–13).
    public var rflags: UInt64 {
        get { raw.rflags }
        set { raw.rflags = newValue }
    }

    /// Name and value of every register, in `kvm_regs` order (for register dumps).
    public var named: [(name: String, value: UInt64)] {
        [
            ("rax", rax), ("rbx", rbx), ("rcx", rcx), ("rdx", rdx), ("rsi", rsi), ("rdi", rdi),
            ("rsp", rsp), ("rbp", rbp), ("r8", r8), ("r9", r9), ("r10", r10), ("r11", r11),
            ("r12", r12), ("r13", r13), ("r14", r14), ("r15", r15), ("rip", rip), ("rflags", rflags),
        ]
    }

    /// Whether every register is equal.
    public static func == (lhs: Registers, rhs: Registers) -> Bool { lhs.named.map(\.value) == rhs.named.map(\.value) }
    /// Hashes every register's value.
    public func hash(into hasher: inout Hasher) { for (_, value) in named { hasher.combine(value) } }
}

/// A segment register as KVM sees it (`struct kvm_segment`).
public struct Segment: Hashable, Sendable {
    /// The segment's base address.
    public var base: UInt64 = 0
    /// The segment's limit (in bytes, or 4 KiB units when ``g`` is set).
    public var limit: UInt32 = 0
    /// The selector loaded into the register.
    public var selector: UInt16 = 0
    /// The type field (code/data or system type, with accessed and read/write bits).
    public var type: UInt8 = 0
    /// Whether the segment is present (P bit).
    public var present: Bool = false
    /// The descriptor privilege level (DPL, 0–3).
    public var dpl: UInt8 = 0
    /// Default operand size (D/B bit).
    public var db: Bool = false
    /// Code/data (true) rather than system segment.
    public var s: Bool = false
    /// 64-bit code segment (L bit).
    public var l: Bool = false
    /// Granularity: limit in 4 KiB units.
    public var g: Bool = false
    /// Available for system software (AVL bit).
    public var avl: Bool = false
    /// Whether the register holds no usable segment (KVM's `unusable`).
    public var unusable: Bool = false

    /// A null segment: every field zero or false.
    public init() {}

    init(_ raw: ckvm_segment) {
        base = raw.base
        limit = raw.limit
        selector = raw.selector
        type = raw.type
        present = raw.present != 0
        dpl = raw.dpl
        db = raw.db != 0
        s = raw.s != 0
        l = raw.l != 0
        g = raw.g != 0
        avl = raw.avl != 0
        unusable = raw.unusable != 0
    }

    var raw: ckvm_segment {
        var r = ckvm_segment()
        r.base = base
        r.limit = limit
        r.selector = selector
        r.type = type
        r.present = present ? 1 : 0
        r.dpl = dpl
        r.db = db ? 1 : 0
        r.s = s ? 1 : 0
        r.l = l ? 1 : 0
        r.g = g ? 1 : 0
        r.avl = avl ? 1 : 0
        r.unusable = unusable ? 1 : 0
        return r
    }
}

/// A descriptor-table register (`struct kvm_dtable`): GDTR or IDTR.
public struct DescriptorTable: Hashable, Sendable {
    /// The table's base address.
    public var base: UInt64 = 0
    /// The table's limit: its size in bytes minus one.
    public var limit: UInt16 = 0
    /// A table register.
    /// - Parameters:
    ///   - base: The table's base address.
    ///   - limit: Its size in bytes minus one.
    public init(base: UInt64 = 0, limit: UInt16 = 0) {
        self.base = base
        self.limit = limit
    }
}

/// The special registers of a vCPU (`struct kvm_sregs`): segments, descriptor tables,
/// control registers and EFER.
public struct SpecialRegisters: Hashable, Sendable {
    /// The segment registers CS, DS, ES, FS, GS and SS.
    public var cs = Segment(), ds = Segment(), es = Segment(), fs = Segment(), gs = Segment(), ss = Segment()
    /// The task register and the local descriptor table register.
    public var tr = Segment(), ldt = Segment()
    /// The global and interrupt descriptor table registers.
    public var gdt = DescriptorTable(), idt = DescriptorTable()
    /// The control registers CR0, CR2, CR3 (the page-table root), CR4 and CR8.
    public var cr0: UInt64 = 0, cr2: UInt64 = 0, cr3: UInt64 = 0, cr4: UInt64 = 0, cr8: UInt64 = 0
    /// The extended feature enable register (`IA32_EFER`: LME, LMA, NXE ...).
    public var efer: UInt64 = 0
    /// The local APIC's base address MSR.
    public var apicBase: UInt64 = 0
    /// The pending-interrupt bitmap, kept as read so a read-modify-write preserves it.
    var interruptBitmap: [UInt64] = [0, 0, 0, 0]

    /// All registers zero (a vCPU's state is read with `VCPU.specialRegisters()` and changed from there).
    public init() {}

    init(_ raw: ckvm_sregs) {
        cs = Segment(raw.cs)
        ds = Segment(raw.ds)
        es = Segment(raw.es)
        fs = Segment(raw.fs)
        gs = Segment(raw.gs)
        ss = Segment(raw.ss)
        tr = Segment(raw.tr)
        ldt = Segment(raw.ldt)
        gdt = DescriptorTable(base: raw.gdt.base, limit: raw.gdt.limit)
        idt = DescriptorTable(base: raw.idt.base, limit: raw.idt.limit)
        cr0 = raw.cr0
        cr2 = raw.cr2
        cr3 = raw.cr3
        cr4 = raw.cr4
        cr8 = raw.cr8
        efer = raw.efer
        apicBase = raw.apic_base
        interruptBitmap = [
            raw.interrupt_bitmap.0, raw.interrupt_bitmap.1, raw.interrupt_bitmap.2, raw.interrupt_bitmap.3,
        ]
    }

    var raw: ckvm_sregs {
        var r = ckvm_sregs()
        r.cs = cs.raw
        r.ds = ds.raw
        r.es = es.raw
        r.fs = fs.raw
        r.gs = gs.raw
        r.ss = ss.raw
        r.tr = tr.raw
        r.ldt = ldt.raw
        r.gdt.base = gdt.base
        r.gdt.limit = gdt.limit
        r.idt.base = idt.base
        r.idt.limit = idt.limit
        r.cr0 = cr0
        r.cr2 = cr2
        r.cr3 = cr3
        r.cr4 = cr4
        r.cr8 = cr8
        r.efer = efer
        r.apic_base = apicBase
        r.interrupt_bitmap = (interruptBitmap[0], interruptBitmap[1], interruptBitmap[2], interruptBitmap[3])
        return r
    }
}
