// Guest runtime: the memory-request device (port 0x510).
//
// The guest fills a 32-byte block in its own memory,
//     { u32 op; u32 status; u64 gpa; u64 size; u64 result }
// and writes the block's guest-physical address (< 4 GiB) to port 0x510
// with `outl`. The VMM performs the request synchronously and writes
// `status` (0 = ok, else a positive errno) and, for a report, `result`
// before it re-enters the guest. The block is accessed with volatile
// loads and stores so the compiler neither caches nor drops them around
// the `outl`.

import _Volatile

/// What the guest asks the VMM to do with its memory.
enum MemoryOperation: UInt32 {
    /// Punch a hole over `[gpa, gpa + size)`: the range reads back as zero.
    case punchHole = 1
    /// Allocate (preallocate) `[gpa, gpa + size)`.
    case allocate = 2
    /// Report in `result` the bytes of `[gpa, gpa + size)` resident in the guest_memfd.
    case report = 3
    /// Release the guest_memfd of the region containing `gpa` (its memslot stays).
    case release = 4
}

/// The VMM's answer to one request.
struct MemoryReply {
    /// 0 on success, else a positive errno.
    var status: UInt32
    /// For `.report`: resident bytes of the range; otherwise 0.
    var result: UInt64
}

/// The request block: a 32-byte, 8-byte-aligned global in .bss, so its
/// address is inside the image (2 MiB + a little) and below 4 GiB.
struct RequestBlock {
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
}
nonisolated(unsafe) var requestBlock = RequestBlock()

/// Sends one request to the VMM and returns its reply.
func requestMemory(_ op: MemoryOperation, gpa: Int = 0, size: Int = 0) -> MemoryReply {
    let base = withUnsafeMutablePointer(to: &requestBlock) { UInt(bitPattern: $0) }
    let opField = VolatileMappedRegister<UInt32>(unsafeBitPattern: base + 0)
    let statusField = VolatileMappedRegister<UInt32>(unsafeBitPattern: base + 4)
    let gpaField = VolatileMappedRegister<UInt64>(unsafeBitPattern: base + 8)
    let sizeField = VolatileMappedRegister<UInt64>(unsafeBitPattern: base + 16)
    let resultField = VolatileMappedRegister<UInt64>(unsafeBitPattern: base + 24)

    opField.store(op.rawValue)
    statusField.store(UInt32.max)  // the VMM must overwrite it
    gpaField.store(UInt64(UInt(bitPattern: gpa)))
    sizeField.store(UInt64(UInt(bitPattern: size)))
    resultField.store(0)

    outl(Port.memoryRequest, UInt32(truncatingIfNeeded: base))

    return MemoryReply(status: statusField.load(), result: resultField.load())
}
