// Guest `touch`: measures first-touch and re-touch cost of guest memory.
//
// Reads the number of passes from the parameter port (0x511; default 1).
// Each pass writes one byte into every 4 KiB page of the free area
// (`__image_end` up to the stack area), then writes the pass number to
// port 0x513 so the VMM can time the pass. Pass 1 faults every page in
// through the guest_memfd; later passes touch populated pages. Checks
// nothing itself. Exit status 0.

@_cdecl("guest_main")
public func guestMain(cpu: Int, cpus: Int, memorySize: Int) -> Int32 {
    let free = GuestLayout(cpus: cpus, memorySize: memorySize).free
    let passes = guestParameter()
    var pass: UInt32 = 1
    while pass <= passes {
        var page = free.lowerBound
        while page < free.upperBound {
            byte(at: page).pointee = UInt8(truncatingIfNeeded: pass)
            page += pageSize
        }
        outl(Port.passDone, pass)
        pass += 1
    }
    return 0
}
