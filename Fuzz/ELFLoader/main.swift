// libFuzzer target over the micro-VM's ELF loader and guest-memory placement.
//
// Built from source by Scripts/fuzz-elf.sh with `swiftc -sanitize=fuzzer,address`, compiling
// ELFImage.swift, HostFiles.swift and GuestABI.swift directly (they depend on nothing else). Every input must
// parse or be refused with an ELFError; any crash, trap, hang or out-of-bounds access is a bug.
// Crashers found are kept as regression inputs in Fuzz/ELFLoader/regressions/ and replayed by
// the test suite (ELFImageTests).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let image = try? ELFImage(bytes) else { return 0 }
    precondition(image.segments.count <= ELFImage.maximumProgramHeaders)
    // Placement against a few memory sizes, as `Machine.run` does before loading.
    for (memory, vcpus) in [(UInt64(4) << 20, 1), (UInt64(16) << 20, 2), (UInt64(4) << 30, 64)] {
        guard (try? image.checkFits(memorySize: memory, vcpus: vcpus)) != nil else { continue }
        // Every byte the loader would copy must come from inside the file.
        for (index, segment) in image.segments.enumerated() {
            let start = Int(segment.fileOffset)
            let end = start + Int(segment.fileSize)
            precondition(start >= 0 && end <= bytes.count && segment.fileSize <= segment.memorySize)
            precondition(
                segment.physicalAddress >= GuestABI.imageBase
                    && segment.physicalAddress + segment.memorySize <= memory)
            // The bytes the loader copies are exactly the segment's range of the file.
            precondition(image.fileBytes(ofSegment: index).elementsEqual(bytes[start..<end]))
        }
    }
    return 0
}
