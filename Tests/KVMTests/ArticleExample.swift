// swift-format-ignore-file
// (This file is laid out as the document that shows it: a test compares them byte for byte.)
// The DocC getting-started article "A VMM on guest_memfd in one page"
// (Sources/KVM/KVM.docc/GettingStarted.md), compiled in this target so `swift test` builds and
// runs it. ArticleExampleTests checks that the article's ```swift blocks, in order and without
// their `import` lines, are the lines between the markers verbatim; edit both together.
import KVM
import Synchronization

/// What the article's program printed (its `print` calls resolve to the one below, in this file only).
let articleExampleOutput = Mutex<[String]>([])
fileprivate func print(_ line: String) { articleExampleOutput.withLock { $0.append(line) } }

func articleExample() throws {
// ARTICLE BEGIN
let kvm = try KVMSystem()                       // /dev/kvm
let vm = try kvm.createVM()
let ram = try vm.createGuestMemfd(size: 2 << 20, flags: .hostShared)   // MMAP|INIT_SHARED
let host = try ram.mapShared()                  // bounds-checked; refused for private memory
// GDT, TSS and identity-mapping page tables at GPA 0 ..< LongMode.tablesSize (0xA069)
try host.write(LongMode.tables(base: 0, identityMap: ram.size), at: 0)
let entry: UInt64 = 0x10_0000                   // the code goes above the tables
try host.write([
    0xB0, 0x48, 0xE6, 0x10,                     // mov al, 'H'; out 0x10, al
    0xB0, 0x69, 0xE6, 0x10,                     // mov al, 'i'; out 0x10, al
    0xE6, 0x11,                                 // out 0x11, al: done
    0xEB, 0xFE,                                 // jmp $
], at: entry)
try vm.bind(ram, slot: 0, guestPhysicalAddress: 0, size: ram.size, hostMemory: host)  // the VM keeps `host` alive
let vcpu = try vm.createVCPU(id: 0)
try vcpu.enterLongMode(at: entry, stackPointer: ram.size, tablesAt: 0)  // 64-bit, CPL3, IOPL 3
var console = ""
exits: while true {
    switch try vcpu.run() {                     // allocation-free; exits are an enum
    case .ioOut(port: 0x10, size: 1, count: 1, let value):
        console.append(Character(Unicode.Scalar(UInt8(truncatingIfNeeded: value))))
    case .ioOut(port: 0x11, size: 1, count: 1, _):
        break exits                             // the guest says it is done
    case .interrupted:
        continue                                // a kick (another thread, a KickTimer): run again
    case let exit:
        throw VCPUExit.Unexpected(exit)         // anything else is a bug in this VMM or its guest
    }
}
print("the guest wrote \(console)")
// ARTICLE END
}
