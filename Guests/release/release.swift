// Guest `release`: what a guest sees when its guest_memfd is released under it.
//
// Needs a second memory region (the VMM's `extra` region) whose guest-physical
// address, in MiB, is the guest parameter. The guest (1) writes a pattern into
// the extra region and reads it back (GMEM-SPEC G1), (2) asks the VMM to
// release that region's guest_memfd (memory request op 4; the memslot stays),
// (3) checks that its own RAM still works, then (4) reads the extra region
// again: that access cannot be served and the VMM sees a memory-fault exit at
// the region's first page (GMEM-SPEC G2). Reaching the end is a failure.
// Exit status: 1 = no extra region given, 2 = pattern mismatch before the
// release, 3 = release refused, 4 = RAM damaged, 5 = the released region
// was still readable.

@_cdecl("guest_main")
public func guestMain(cpu: Int, cpus: Int, memorySize: Int) -> Int32 {
    let extra = Int(guestParameter()) * miB
    guard extra >= memorySize else { return 1 }
    let words = 512  // one page

    for i in 0..<words { UnsafeMutablePointer<UInt64>(bitPattern: extra + 8 * i)!.pointee = UInt64(i) &* 0x0101_0101 }
    for i in 0..<words
    where UnsafeMutablePointer<UInt64>(bitPattern: extra + 8 * i)!.pointee != UInt64(i) &* 0x0101_0101 {
        return 2
    }
    Console.write("extra region at ")
    Console.writeHex(extra)
    Console.write(": written and read back\n")

    let reply = requestMemory(.release, gpa: extra, size: 0)
    guard reply.status == 0 else { return 3 }
    Console.write("extra region released by the VMM\n")

    let free = GuestLayout(cpus: cpus, memorySize: memorySize).free
    let probe = UnsafeMutablePointer<UInt64>(bitPattern: free.lowerBound)!
    probe.pointee = 0x600D_F00D
    guard probe.pointee == 0x600D_F00D else { return 4 }
    Console.write("RAM still works; touching the released region\n")

    let value = UnsafeMutablePointer<UInt64>(bitPattern: extra)!.pointee
    Console.write("released region still readable: ")
    Console.writeHex(Int(truncatingIfNeeded: value))
    Console.write("\n")
    return 5
}
