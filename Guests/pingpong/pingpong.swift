// Guest `pingpong`: measures the port-I/O exit round trip.
//
// Reads N from the parameter port (0x511; the VMM's default is 1,000,000),
// then writes the loop counter to the ping port (0x512) N times; each write
// is one exit to the VMM and one re-entry. Checks nothing itself: the VMM
// counts the pings. Exit status 0.

@_cdecl("guest_main")
public func guestMain(cpu: Int, cpus: Int, memorySize: Int) -> Int32 {
    let rounds = guestParameter()
    var i: UInt32 = 0
    while i < rounds {
        outl(Port.ping, i)
        i &+= 1
    }
    return 0
}
