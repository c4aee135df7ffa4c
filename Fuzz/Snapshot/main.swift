// libFuzzer target over the snapshot parser (SnapshotFormat.parse and verifyExtents).
//
// Built by Scripts/fuzz-snapshot.sh with `swiftc -sanitize=fuzzer,address`, compiling
// SnapshotFormat.swift and GuestABI.swift directly with the CChecksum C file. Each input is
// parsed twice: as is (any mutation must fail a checksum or a check, never trap) and with the
// checksums skipped, so that mutations reach the decoding behind them. Whatever parses must
// be self-consistent: every extent inside its region, inside the file, in order.

import CChecksum

#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let source = SnapshotBytes(Array(UnsafeBufferPointer(start: data, count: size)))
    for checksums in [true, false] {
        guard let manifest = try? SnapshotFormat.parse(source, hostPageSize: 4096, checksums: checksums) else {
            continue
        }
        precondition(manifest.fileSize == UInt64(size))
        precondition(!manifest.regions.isEmpty && manifest.regions[0].guestPhysicalAddress == 0)
        precondition(manifest.vcpus.count >= 1 && manifest.vcpus.count <= 64)
        var previous = [UInt64](repeating: 0, count: manifest.regions.count)
        for extent in manifest.extents {
            let region = manifest.regions[extent.region]
            precondition(extent.offset >= previous[extent.region] && extent.offset + extent.length <= region.size)
            precondition(extent.fileOffset + extent.length <= manifest.fileSize)
            previous[extent.region] = extent.offset + extent.length
        }
        _ = try? SnapshotFormat.verifyExtents(of: manifest, in: source)
    }
    return 0
}

#if MAKE_SEED
/// `fuzz-snapshot-seed PATH`: writes a small valid snapshot (one vCPU, 4 MiB RAM, two saved
/// pages, an extra region released) as a seed; built by Scripts/fuzz-snapshot.sh.
@main
struct MakeSeed {
    static func main() {
        let vcpu = SnapshotVCPU(
            index: 0, exitStatus: nil, registers: [UInt8](repeating: 1, count: 144),
            specialRegisters: [UInt8](repeating: 2, count: 312), fpu: [UInt8](repeating: 0, count: 416),
            events: [UInt8](repeating: 0, count: 64), msrs: [.init(index: 0x10, value: 42)])
        let bytes = SnapshotFormat.encodeFile(
            pageSize: 4096, image: SnapshotImage(name: "seed", size: 1, crc32c: 2),
            machine: SnapshotMachine(
                memorySize: 4 << 20, vcpus: 1, parameter: 5, consoleLimit: 4096, reason: "seed", runNanoseconds: 1),
            devices: SnapshotDevices(console: Array("seed\n".utf8), pings: 3, snapshotRequests: [1]),
            vcpus: [vcpu],
            regions: [
                SnapshotRegion(
                    name: "ram", guestPhysicalAddress: 0, size: 4 << 20, flags: 3, released: false, allocatedBytes: 0,
                    punchedBytes: 0),
                SnapshotRegion(
                    name: "extra1", guestPhysicalAddress: 4 << 20, size: 2 << 20, flags: 3, released: true,
                    allocatedBytes: 0, punchedBytes: 4096),
            ],
            memory: [
                (0, 0x20_0000, [UInt8](repeating: 0x90, count: 4096)),
                (0, 0x3F_F000, [UInt8](repeating: 7, count: 4096)),
            ])
        let path = CommandLine.arguments[1]
        let file = fopen(path, "wb")!
        bytes.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
    }
}
#endif
