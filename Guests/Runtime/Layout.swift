// Guest runtime: where things are in guest memory.
//
// GPA 0 ..< 2 MiB     VMM (page tables, GDT, request blocks)
// 2 MiB ..< imageEnd  this image (text, data, bss), see linker.ld
// imageEnd ..< stackAreaStart   free memory for the guest
// stackAreaStart ..< memorySize one 64 KiB stack per vCPU; vCPU i's stack
//                               top is memorySize - i * 64 KiB

let kiB = 1024
let miB = 1024 * 1024
let pageSize = 4096
let stackSizePerCPU = 64 * 1024

/// The guest's view of its memory, from the entry registers and `__image_end`.
struct GuestLayout {
    let cpus: Int
    let memorySize: Int

    /// First byte after the loaded image (page-aligned).
    var imageEnd: Int { Int(bitPattern: _imageEnd()) }

    /// Lowest byte of the vCPU stacks.
    var stackAreaStart: Int { memorySize - cpus * stackSizePerCPU }

    /// Memory the guest may use freely: `imageEnd ..< stackAreaStart`.
    var free: Range<Int> { imageEnd..<max(imageEnd, stackAreaStart) }
}

@inline(__always) func alignDown(_ value: Int, _ alignment: Int) -> Int {
    value & ~(alignment - 1)
}

@inline(__always) func alignUp(_ value: Int, _ alignment: Int) -> Int {
    (value + alignment - 1) & ~(alignment - 1)
}

/// Memory at a guest address (identity mapping: virtual == physical).
@inline(__always) func words(at address: Int) -> UnsafeMutablePointer<UInt64> {
    UnsafeMutablePointer(bitPattern: address)!
}

/// One byte of memory at a guest address.
@inline(__always) func byte(at address: Int) -> UnsafeMutablePointer<UInt8> {
    UnsafeMutablePointer(bitPattern: address)!
}
