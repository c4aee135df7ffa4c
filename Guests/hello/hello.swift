// Guest `hello`: the guest_memfd smoke test.
//
// Checks that (1) the console works, (2) every byte of free memory can be
// written and read back, (3) a punch-hole request makes exactly the punched
// range read back as zero while the bytes before and after it keep their
// pattern, and (4) the VMM answers a report request on the free area.
// Exit status: 0 on success; 1 = punch request failed, 2 = punched range not zero,
// 3 = pattern damaged outside the hole, 4 = report request failed,
// 5 = free area too small.

/// The 64-bit word expected at `address` before the punch: derived from the
/// address so that misplaced or stale data is detected, and never zero.
@inline(__always) func pattern(at address: Int) -> UInt64 {
    (UInt64(UInt(bitPattern: address)) &* 0x9E37_79B9_7F4A_7C15) | 1
}

/// Index of the first word in `range` (8-byte aligned) that differs from
/// `expected(address)`, or nil if all match.
func firstMismatch(in range: Range<Int>, expected: (Int) -> UInt64) -> Int? {
    var address = range.lowerBound
    while address < range.upperBound {
        if words(at: address).pointee != expected(address) { return address }
        address += 8
    }
    return nil
}

@_cdecl("guest_main")
public func guestMain(cpu: Int, cpus: Int, memorySize: Int) -> Int32 {
    let layout = GuestLayout(cpus: cpus, memorySize: memorySize)
    Console.write("hello from a guest_memfd-backed guest (vCPU ")
    Console.write(cpu)
    Console.write(" of ")
    Console.write(cpus)
    Console.write(", ")
    Console.writeSize(memorySize)
    Console.write(")\n")

    // 1. Fill all free memory with the address-derived pattern.
    let free = layout.free
    let holeSize = 64 * kiB
    guard free.count >= 4 * holeSize else { return 5 }
    var address = free.lowerBound
    while address < free.upperBound {
        words(at: address).pointee = pattern(at: address)
        address += 8
    }
    Console.write("filled ")
    Console.writeSize(free.count)
    Console.write(" at ")
    Console.writeHex(free.lowerBound)
    Console.write("\n")

    // 2. Punch a 64 KiB hole in the middle of the free area: at a 2 MiB
    //    boundary if one lies well inside it, else 64 KiB-aligned.
    let middle = free.lowerBound + free.count / 2
    var holeStart = alignDown(middle, 2 * miB)
    if holeStart - holeSize < free.lowerBound || holeStart + 2 * holeSize > free.upperBound {
        holeStart = alignDown(middle, holeSize)
    }
    let hole = holeStart..<holeStart + holeSize
    let punch = requestMemory(.punchHole, gpa: hole.lowerBound, size: hole.count)
    guard punch.status == 0 else {
        Console.write("punch failed, errno ")
        Console.write(Int(punch.status))
        Console.write("\n")
        return 1
    }

    // 3. The hole reads back zero; everything else keeps its pattern. The
    //    `outl` above is an opaque call, so these loads really read memory.
    if let bad = firstMismatch(in: hole, expected: { _ in 0 }) {
        Console.write("punched memory not zero at ")
        Console.writeHex(bad)
        Console.write("\n")
        return 2
    }
    if let bad = firstMismatch(in: free.lowerBound..<hole.lowerBound, expected: pattern)
        ?? firstMismatch(in: hole.upperBound..<free.upperBound, expected: pattern)
    {
        Console.write("pattern damaged at ")
        Console.writeHex(bad)
        Console.write("\n")
        return 3
    }
    Console.write("punched ")
    Console.writeSize(hole.count)
    Console.write(" at ")
    Console.writeHex(hole.lowerBound)
    Console.write(": reads back zero; pattern intact elsewhere\n")

    // 4. Ask how much of the free area is resident now (the VMM's memory,
    //    GPA 0 ..< 2 MiB, is not the guest's to ask about).
    let report = requestMemory(.report, gpa: free.lowerBound, size: free.count)
    guard report.status == 0, report.result <= UInt64(free.count) else {
        Console.write("report failed, errno ")
        Console.write(Int(report.status))
        Console.write("\n")
        return 4
    }
    Console.write("resident in the free area: ")
    Console.write(Int(truncatingIfNeeded: report.result))
    Console.write(" bytes\n")
    return 0
}
