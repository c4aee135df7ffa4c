// Guest `snapshot`: asks the VMM for a snapshot of itself, then checks that nothing of it
// was lost, so that the same check passes in the original run and in every restore.
//
// Fills 1 MiB of free memory with an address-derived pattern, pings N/2 times (parameter N,
// default 1,000), writes 1 to the snapshot port (0x514: under `gmem run --snapshot FILE` the
// VMM pauses every vCPU there and writes FILE), pings the other half, then checks the
// pattern and that its ping counter, kept in memory, reached N. Exit status: 0 on success,
// 1 = pattern damaged, 2 = counter wrong, 3 = free area too small.

@inline(__always) func pattern(at address: Int) -> UInt64 {
    (UInt64(UInt(bitPattern: address)) &* 0xD6E8_FEB8_6659_FD93) | 1
}

@_cdecl("guest_main")
public func guestMain(cpu: Int, cpus: Int, memorySize: Int) -> Int32 {
    let free = GuestLayout(cpus: cpus, memorySize: memorySize).free
    guard free.count >= 2 * miB else { return 3 }
    let area = free.lowerBound..<free.lowerBound + miB
    let counter = words(at: area.upperBound)
    var address = area.lowerBound
    while address < area.upperBound {
        words(at: address).pointee = pattern(at: address)
        address += 8
    }
    let rounds = Int(guestParameter())
    counter.pointee = 0
    while counter.pointee < UInt64(rounds / 2) {
        outl(Port.ping, UInt32(truncatingIfNeeded: counter.pointee))
        counter.pointee &+= 1
    }
    Console.write("asking for a snapshot after ")
    Console.write(rounds / 2)
    Console.write(" pings\n")
    outl(Port.snapshot, 1)
    while counter.pointee < UInt64(rounds) {
        outl(Port.ping, UInt32(truncatingIfNeeded: counter.pointee))
        counter.pointee &+= 1
    }
    address = area.lowerBound
    while address < area.upperBound {
        if words(at: address).pointee != pattern(at: address) {
            Console.write("pattern damaged at ")
            Console.writeHex(address)
            Console.write("\n")
            return 1
        }
        address += 8
    }
    guard counter.pointee == UInt64(rounds) else { return 2 }
    Console.write("after the snapshot: ")
    Console.write(rounds)
    Console.write(" pings, 1 MiB pattern intact\n")
    return 0
}
