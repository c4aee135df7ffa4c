// Guest `smp`: all vCPUs run the same image at once.
//
// The free area is split into `cpus` equal, page-aligned regions. Every vCPU
// fills its own region with a pattern derived from its index and the
// address, then increments a shared atomic counter (`lock xadd`). vCPU 0
// waits (with `pause`) until the counter equals `cpus`, then checks every
// region and prints one line per region. Checks: every vCPU ran, and each
// region holds exactly the writes of its own vCPU. Exit status: vCPU 0
// returns 0 on success, 10 + i if region i is wrong, 9 if the free area is
// too small; the other vCPUs return 0 after signalling.

import Synchronization

/// vCPUs that have finished filling their region. A zero-initialised global
/// in .bss, shared by all vCPUs because they share the image.
let finishedCPUs = Atomic<Int>(0)

/// The word vCPU `cpu` writes at `address`.
@inline(__always) func pattern(cpu: Int, at address: Int) -> UInt64 {
    (UInt64(cpu + 1) << 56) ^ UInt64(UInt(bitPattern: address))
}

@_cdecl("guest_main")
public func guestMain(cpu: Int, cpus: Int, memorySize: Int) -> Int32 {
    let free = GuestLayout(cpus: cpus, memorySize: memorySize).free
    let regionSize = alignDown(free.count / cpus, pageSize)
    guard regionSize > 0 else { return 9 }
    func region(_ index: Int) -> Range<Int> {
        let start = free.lowerBound + index * regionSize
        return start..<start + regionSize
    }

    // Fill this vCPU's region, then signal (lock xadd: a full barrier, so
    // the fill is visible to whoever sees the new count).
    var address = region(cpu).lowerBound
    while address < region(cpu).upperBound {
        words(at: address).pointee = pattern(cpu: cpu, at: address)
        address += 8
    }
    finishedCPUs.wrappingAdd(1, ordering: .releasing)
    guard cpu == 0 else { return 0 }

    // vCPU 0: wait for everyone, then check every region.
    while finishedCPUs.load(ordering: .acquiring) < cpus { spinPause() }
    for index in 0..<cpus {
        let checked = region(index)
        var address = checked.lowerBound
        while address < checked.upperBound {
            if words(at: address).pointee != pattern(cpu: index, at: address) {
                Console.write("vCPU ")
                Console.write(index)
                Console.write(" region: wrong word at ")
                Console.writeHex(address)
                Console.write("\n")
                return Int32(10 + index)
            }
            address += 8
        }
        Console.write("vCPU ")
        Console.write(index)
        Console.write(" region [")
        Console.writeHex(checked.lowerBound)
        Console.write(", ")
        Console.writeHex(checked.upperBound)
        Console.write(") holds its pattern (")
        Console.writeSize(checked.count)
        Console.write(")\n")
    }
    return 0
}
