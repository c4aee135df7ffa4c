import KVM
import Testing

/// One vCPU running a tiny real-mode loop from guest_memfd memory of a VM the caller owns:
/// by default `mov al, 0x42; out 0x10, al; jmp back`, so every `run()` returns
/// `.ioOut(0x10, 0x42)`; with `spin: true`, `jmp $`, which never exits by itself.
/// Real-mode code runs at CPL0 (emulated on PVM, HOST-NOTES.md), which is fine for a loop
/// this small; the emulator fetches through the memslot's `userspace_addr`, so the slot
/// is given the file's own host mapping (GMEM-SPEC G4).
struct TinyGuest: ~Copyable {
    static let port: UInt16 = 0x10
    static let value: UInt32 = 0x42
    static let code: [UInt8] = [0xB0, 0x42, 0xE6, 0x10, 0xEB, 0xFA]
    static let spinCode: [UInt8] = [0xEB, 0xFE]
    static let entry: UInt64 = 0x1000
    static let memorySize: UInt64 = 64 * 1024

    let file: GuestMemfd
    let map: HostMapping
    let vcpu: VCPU

    init(in vm: borrowing VirtualMachine, spin: Bool = false) throws {
        let file = try vm.createGuestMemfd(size: Self.memorySize)
        let map = try file.mapShared()
        try map.write(spin ? Self.spinCode : Self.code, at: Self.entry)
        try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: Self.memorySize, hostMemory: map)
        let vcpu = try vm.createVCPU(id: 0)
        var sregs = try vcpu.specialRegisters()
        sregs.cs.base = 0
        sregs.cs.selector = 0
        try vcpu.setSpecialRegisters(sregs)
        var regs = Registers()
        regs.rip = Self.entry
        regs.rflags = 0x2
        try vcpu.setRegisters(regs)
        self.file = file
        self.map = map
        self.vcpu = vcpu
    }
}
