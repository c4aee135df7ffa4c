// swift-format-ignore-file
// (This file is laid out as the document that shows it: a test compares them byte for byte.)
// The README's "Using the bindings" example, compiled in this target so `swift test` builds
// and runs it. ReadmeExampleTests checks that `import KVM` plus the lines between the markers
// are the README's fenced block verbatim; edit both together.
import KVM
import Synchronization

/// What the example printed (its `print` calls resolve to the one below, in this file only).
let readmeExampleOutput = Mutex<[String]>([])
fileprivate func print(_ line: String) { readmeExampleOutput.withLock { $0.append(line) } }

func readmeExample() throws {
// README BEGIN
let kvm = try KVMSystem()                       // /dev/kvm
let vm = try kvm.createVM()
let ram = try vm.createGuestMemfd(size: 2 << 20, flags: .hostShared)   // MMAP|INIT_SHARED
let host = try ram.mapShared()                  // bounds-checked; refused for private memory
// GDT, TSS and identity-mapping page tables at GPA 0 ..< LongMode.tablesSize (0xA069)
try host.write(LongMode.tables(base: 0, identityMap: ram.size), at: 0)
let entry: UInt64 = 0x10_0000                   // the code goes above the tables
try host.write([0xB0, 42, 0xE6, 0x10, 0xEB, 0xFE], at: entry)      // mov al, 42; out 0x10, al; jmp $
try vm.bind(ram, slot: 0, guestPhysicalAddress: 0, size: ram.size, hostMemory: host)  // the VM keeps `host` alive
let vcpu = try vm.createVCPU(id: 0)
try vcpu.enterLongMode(at: entry, stackPointer: ram.size, tablesAt: 0)  // 64-bit, CPL3, IOPL 3
let exit = try vcpu.run()                       // allocation-free; exits are an enum
guard case .ioOut(port: 0x10, size: 1, count: 1, let value) = exit else {
    throw VCPUExit.Unexpected(exit)             // says what happened, e.g. an emulation failure
}
print("the guest wrote \(value) to port 0x10")
// README END
}
