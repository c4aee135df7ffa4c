import CChecksum
import Foundation
import GuestImages
import KVM
import TestSupport
import Testing

@testable import MicroVM

#if canImport(Glibc)
import Glibc
#endif

/// A small valid snapshot built from parts: one vCPU, RAM of `memory` bytes, one saved page.
func syntheticSnapshot(
    memory: UInt64 = 4 << 20, vcpus: UInt32 = 1, regions: [SnapshotRegion]? = nil,
    runs: [(region: Int, offset: UInt64, bytes: [UInt8])] = [(0, 0x20_0000, [UInt8](repeating: 0xAB, count: 4096))],
    exited: UInt32? = nil, console: [UInt8] = Array("hi\n".utf8), pageSize: UInt32 = 4096
) -> [UInt8] {
    let vcpu = SnapshotVCPU(
        index: 0, exitStatus: exited, registers: [UInt8](repeating: 1, count: 144),
        specialRegisters: [UInt8](repeating: 2, count: 312), fpu: [UInt8](repeating: 0, count: 416),
        events: [UInt8](repeating: 0, count: 64), msrs: [.init(index: 0x10, value: 42)])
    let all = (0..<vcpus).map { index in
        var each = vcpu
        each.index = index
        if index > 0 { each.exitStatus = nil }
        return each
    }
    return SnapshotFormat.encodeFile(
        pageSize: pageSize, image: SnapshotImage(name: "test", size: 100, crc32c: 7),
        machine: SnapshotMachine(
            memorySize: memory, vcpus: vcpus, parameter: 5, consoleLimit: 1 << 20, reason: "api", runNanoseconds: 9),
        devices: SnapshotDevices(console: console, pings: 3, snapshotRequests: [1]),
        vcpus: all,
        regions: regions ?? [
            SnapshotRegion(
                name: "ram", guestPhysicalAddress: 0, size: memory, flags: 3, released: false, allocatedBytes: 0,
                punchedBytes: 0)
        ],
        memory: runs)
}

/// CRC32C of `bytes` by CChecksum's C: the SSE4.2 path where the CPU has it, or (`software`)
/// the table fallback; `seed` continues an earlier CRC.
func checksum(_ bytes: ArraySlice<UInt8>, seed: UInt32 = 0, software: Bool = false) -> UInt32 {
    // SAFETY: the buffer covers exactly `bytes` for the call; the C functions read `count` bytes and keep no pointer.
    unsafe bytes.withUnsafeBytes { raw in
        // SAFETY: `raw` is the buffer above, valid for the call, `raw.count` bytes long.
        unsafe software
            ? gmem_crc32c_software(seed, raw.baseAddress, raw.count) : gmem_crc32c(seed, raw.baseAddress, raw.count)
    }
}

/// The header with `field` (a byte offset) replaced and the header checksum fixed up.
func withHeaderField(_ bytes: [UInt8], at offset: Int, _ value: UInt32) -> [UInt8] {
    var copy = bytes
    copy.replaceSubrange(offset..<offset + 4, with: littleEndianBytes(value))
    let crc = checksum(copy[..<60])
    copy.replaceSubrange(60..<64, with: littleEndianBytes(crc))
    return copy
}

/// `bytes` with the payload of chunk `number` (not a memory chunk) changed in place by `change`
/// and both of that chunk's checksums fixed up, so that only the change itself is wrong.
func withChunkPayload(_ bytes: [UInt8], chunk number: Int, _ change: (inout [UInt8]) -> Void) -> [UInt8] {
    func length(at cursor: Int) -> Int { bytes[cursor + 8..<cursor + 16].reversed().reduce(0) { $0 << 8 | Int($1) } }
    func put32(_ value: UInt32, at offset: Int, in array: inout [UInt8]) {
        for i in 0..<4 { array[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }
    var cursor = SnapshotFormat.headerSize
    for _ in 0..<number { cursor += SnapshotFormat.chunkHeaderSize + length(at: cursor) }
    let start = cursor + SnapshotFormat.chunkHeaderSize
    var payload = Array(bytes[start..<start + length(at: cursor)])
    change(&payload)
    var copy = bytes
    copy.replaceSubrange(start..<start + payload.count, with: payload)
    put32(SnapshotFormat.crc32c(payload), at: cursor + 32, in: &copy)
    put32(SnapshotFormat.crc32c(Array(copy[cursor..<cursor + 36])), at: cursor + 36, in: &copy)
    return copy
}

func parseError(_ bytes: [UInt8]) -> SnapshotFormatError? {
    let source = SnapshotBytes(bytes)
    do {
        let manifest = try SnapshotFormat.parse(source, hostPageSize: 4096)
        try SnapshotFormat.verifyExtents(of: manifest, in: source)
        return nil
    } catch { return error }
}

@Suite("Snapshot format: every bad file is refused with one clear reason, never a trap")
struct SnapshotFormatTests {
    @Test("CRC32C: the standard check value, and the SSE4.2 and table paths agree")
    func crc32c() {
        let check = Array("123456789".utf8)
        #expect(checksum(check[...]) == 0xE306_9283)
        #expect(checksum(check[...], software: true) == 0xE306_9283)
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 7, 8, 9, 63, 4096, 100_003] {
            let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let hw = checksum(data[...])
            let sw = checksum(data[...], software: true)
            #expect(hw == sw, "length \(length)")
            let split = length / 3
            let pieces = checksum(data[split...], seed: checksum(data[..<split]))
            #expect(pieces == hw, "length \(length) in two pieces")
        }
    }

    @Test("restore admits clones by the memory their guests can fault in, less a host reserve")
    func cloneAdmission() {
        let gib: UInt64 = 1 << 30
        // 64 clones of a 256 MiB guest on 22 GiB: 16 GiB fits beside the 2.75 GiB reserve.
        #expect(Snapshot.memoryRefusal(bytesPerClone: gib / 4, clones: 64, available: 22 * gib) == nil)
        // 64 clones of a 4 GiB guest: 256 GiB is refused, naming the figures and the fix.
        let refusal = Snapshot.memoryRefusal(bytesPerClone: 4 * gib, clones: 64, available: 22 * gib)
        #expect(
            refusal
                == "64 restore(s) of a guest that can fault in 4096 MiB need 262144 MiB; the host has 22528 MiB available and keeps 2816 MiB in reserve (use fewer --clones)"
        )
        // Up to the reserve, not up to the last byte; at least 256 MiB is kept.
        #expect(Snapshot.memoryRefusal(bytesPerClone: 7 * gib + 896 << 20, clones: 1, available: 9 * gib) == nil)
        #expect(Snapshot.memoryRefusal(bytesPerClone: 7 * gib + 896 << 20 + 1, clones: 1, available: 9 * gib) != nil)
        #expect(Snapshot.memoryRefusal(bytesPerClone: 1 << 20, clones: 1, available: 256 << 20) != nil)
        // A product past 2^64 is refused, not wrapped.
        #expect(
            Snapshot.memoryRefusal(bytesPerClone: .max / 2, clones: 3, available: .max)?.contains(
                "more than 2^64 bytes") == true)
    }

    @Test("a file built from parts parses back to the same parts")
    func roundTrip() throws {
        let manifest = try SnapshotFormat.parse(SnapshotBytes(syntheticSnapshot()), hostPageSize: 4096)
        #expect(manifest.image.name == "test" && manifest.machine.parameter == 5 && manifest.devices.pings == 3)
        #expect(manifest.devices.console == Array("hi\n".utf8) && manifest.devices.snapshotRequests == [1])
        #expect(manifest.vcpus.count == 1 && manifest.vcpus[0].msrs == [.init(index: 0x10, value: 42)])
        #expect(manifest.extents.count == 1 && manifest.extents[0].offset == 0x20_0000 && manifest.savedBytes == 4096)
        #expect(parseError(syntheticSnapshot()) == nil)
    }

    @Test("foreign, empty, wrong-version and other-page-size files are named as such")
    func headerErrors() {
        let good = syntheticSnapshot()
        #expect(parseError([]) == .truncated("the file is empty"))
        #expect(parseError(GuestImages.hello) == .foreign)
        #expect(parseError(Array("GMEMKIT SNAPSHOX".utf8) + good.dropFirst(16)) == .foreign)
        #expect(parseError(withHeaderField(good, at: 16, 2)) == .unsupportedVersion(2))
        #expect(parseError(withHeaderField(good, at: 24, 16384)) == .pageSize(file: 16384, host: 4096))
        #expect(parseError(syntheticSnapshot(pageSize: 65536)) == .pageSize(file: 65536, host: 4096))
        guard case .truncated = parseError(Array(good.prefix(40))) else {
            Issue.record("a 40-byte file")
            return
        }
    }

    @Test("regions that do not fit, extents outside their region, and impossible machines are invalid")
    func invalidValues() {
        func invalid(_ bytes: [UInt8], _ sourceLocation: SourceLocation = #_sourceLocation) {
            guard case .invalid = parseError(bytes) else {
                Issue.record(
                    "accepted or misnamed: \(String(describing: parseError(bytes)))", sourceLocation: sourceLocation)
                return
            }
        }
        let ram = SnapshotRegion(
            name: "ram", guestPhysicalAddress: 0, size: 4 << 20, flags: 3, released: false, allocatedBytes: 0,
            punchedBytes: 0)
        var huge = ram
        huge.name = "extra1"
        huge.guestPhysicalAddress = 4 << 20
        huge.size = 4 << 30
        invalid(syntheticSnapshot(regions: [ram, huge]))  // past 4 GiB
        var gap = huge
        gap.size = 2 << 20
        gap.guestPhysicalAddress = 8 << 20
        invalid(syntheticSnapshot(regions: [ram, gap]))  // not contiguous
        var smallRAM = ram
        smallRAM.size = 2 << 20
        invalid(syntheticSnapshot(regions: [smallRAM]))  // RAM != machine memory
        var privateRAM = ram
        privateRAM.flags = 0
        invalid(syntheticSnapshot(regions: [privateRAM]))
        var oddFlags = ram
        oddFlags.flags = 1 << 9
        invalid(syntheticSnapshot(regions: [oddFlags]))
        // past the region's end
        invalid(syntheticSnapshot(runs: [(0, (4 << 20) - 4096, [UInt8](repeating: 1, count: 8192))]))
        invalid(syntheticSnapshot(runs: [(0, 4096, [UInt8](repeating: 1, count: 100))]))  // not a page multiple
        invalid(
            syntheticSnapshot(runs: [
                (0, 8192, [UInt8](repeating: 1, count: 4096)), (0, 4096, [UInt8](repeating: 1, count: 8192)),
            ]))  // overlap
        invalid(syntheticSnapshot(runs: [(1, 0, [UInt8](repeating: 1, count: 4096))]))  // no region 1
        invalid(syntheticSnapshot(memory: 3 << 20))
        invalid(syntheticSnapshot(memory: 8 << 30))
        invalid(syntheticSnapshot(vcpus: 65))
        invalid(syntheticSnapshot(exited: 0))  // vCPU 0 had ended
        var released = huge
        released.size = 2 << 20
        released.released = true
        invalid(syntheticSnapshot(regions: [ram, released], runs: [(1, 0, [UInt8](repeating: 1, count: 4096))]))
        invalid(syntheticSnapshot(console: [UInt8](repeating: 0x41, count: (1 << 20) + 1)))
        #expect(
            parseError(syntheticSnapshot(regions: [ram, released], runs: [])) == nil,
            "a released region with no pages is fine")
        #expect(parseError(syntheticSnapshot() + [0]) == .invalid("1 bytes after the declared end"))
    }

    @Test(
        "a count that disagrees with the machine chunk or the header says what was declared and what was found, where")
    func countMismatches() {
        let vcpu = SnapshotVCPU(
            index: 0, exitStatus: nil, registers: [UInt8](repeating: 1, count: 144),
            specialRegisters: [UInt8](repeating: 2, count: 312), fpu: [UInt8](repeating: 0, count: 416),
            events: [UInt8](repeating: 0, count: 64), msrs: [])
        func file(declaring declared: UInt32, vcpus: Int) -> [UInt8] {
            SnapshotFormat.encodeFile(
                pageSize: 4096, image: SnapshotImage(name: "test", size: 100, crc32c: 7),
                machine: SnapshotMachine(
                    memorySize: 4 << 20, vcpus: declared, parameter: 5, consoleLimit: 1 << 20, reason: "api",
                    runNanoseconds: 9),
                devices: SnapshotDevices(console: [], pings: 0, snapshotRequests: []),
                vcpus: (0..<vcpus).map { index in
                    var each = vcpu
                    each.index = UInt32(index)
                    return each
                },
                regions: [
                    SnapshotRegion(
                        name: "ram", guestPhysicalAddress: 0, size: 4 << 20, flags: 3, released: false,
                        allocatedBytes: 0, punchedBytes: 0)
                ],
                memory: [])
        }
        // Chunks: 0 machine, 1 devices, 2… vCPUs, then the region and the end chunk.
        #expect(
            parseError(file(declaring: 2, vcpus: 1))
                == .invalid("chunk 3 (region) follows 1 vCPU chunk, but the machine chunk declares 2 vCPUs"))
        #expect(
            parseError(file(declaring: 2, vcpus: 3))
                == .invalid("chunk 4 is vCPU chunk 3, but the machine chunk declares 2 vCPUs"))
        // The machine chunk's region count (after the 4-byte name "test": byte 44) set to 2.
        func declaringRegions(_ count: UInt8, _ bytes: [UInt8]) -> [UInt8] {
            withChunkPayload(bytes, chunk: 0) { $0[44] = count }
        }
        #expect(
            parseError(declaringRegions(2, syntheticSnapshot()))
                == .invalid(
                    "chunk 4 (memory) follows 1 region chunk, but the machine chunk declares 2 regions: every region chunk must precede the memory"
                ))
        #expect(
            parseError(declaringRegions(2, syntheticSnapshot(runs: [])))
                == .invalid("the end chunk (chunk 4) follows 1 region chunk, but the machine chunk declares 2 regions"))
        let ram = SnapshotRegion(
            name: "ram", guestPhysicalAddress: 0, size: 4 << 20, flags: 3, released: false, allocatedBytes: 0,
            punchedBytes: 0)
        var extra = ram
        extra.name = "extra1"
        extra.guestPhysicalAddress = 4 << 20
        extra.size = 2 << 20
        #expect(
            parseError(declaringRegions(1, syntheticSnapshot(regions: [ram, extra], runs: [])))
                == .invalid("chunk 4 is region chunk 2, but the machine chunk declares 1 region"))
        #expect(
            parseError(syntheticSnapshot(runs: [(1, 0, [UInt8](repeating: 1, count: 4096))]))
                == .invalid("memory chunk 4 names region 1, but the regions are numbered 0 to 0"))
        // The header's chunk count (bytes 40–47) one too many, then one too few.
        let good = syntheticSnapshot()
        let chunks = UInt32(good[40])
        #expect(
            parseError(withHeaderField(good, at: 40, chunks + 1))
                == .invalid(
                    "the end chunk is chunk \(chunks - 1), so the file has \(chunks) chunks, but the header declares \(chunks + 1)"
                ))
        #expect(
            parseError(withHeaderField(good, at: 40, chunks - 1))
                == .invalid(
                    "the header declares \(chunks - 1) chunks, but chunk \(chunks - 2), the last of them, is not the end chunk"
                ))
    }

    @Test("every single-bit flip and every truncation of a synthetic snapshot is refused")
    func everyFlip() {
        let good = syntheticSnapshot()
        var accepted: [Int] = []
        for offset in good.indices {
            var bad = good
            bad[offset] ^= 1 << UInt8(offset % 8)
            if parseError(bad) == nil { accepted.append(offset) }
        }
        #expect(accepted.isEmpty, "flips accepted at \(accepted.prefix(10))")
        for length in stride(from: 0, to: good.count, by: 37) {
            #expect(parseError(Array(good.prefix(length))) != nil, "a file cut at \(length) bytes")
        }
    }
}

extension KernelTests {
    // These open files: inside the serialized Kernel suite, so that they never run while a
    // kernel test counts this process's descriptors.
    @Suite("Snapshot files are replaced atomically")
    struct AtomicFileTests {
        @Test("a write that never commits leaves the previous file as it was and no temporary file")
        func uncommittedWriteLeavesOldFile() throws {
            let scratch = try ScratchDirectory("atomic")
            defer { scratch.remove() }
            let path = scratch.file("atomic.gsnap")
            #expect(FileManager.default.createFile(atPath: path, contents: Data("old".utf8)))
            do {
                let file = try AtomicFile(path: path)
                var position: UInt64 = 0
                try file.write(Array("half of a new snapshot".utf8), at: &position)
                #expect(fileExists(file.temporary))
            }  // dropped before commit(), as when the writer fails or the process dies mid-write
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "old")
            #expect(try scratch.contents() == ["atomic.gsnap"], "a temporary file was left behind")
            let file = try AtomicFile(path: path)
            var position: UInt64 = 0
            try file.write(Array("new".utf8), at: &position)
            try file.commit()
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
            #expect(!fileExists(file.temporary))
        }
    }

    @Suite("Snapshot parser: fuzzer regressions")
    struct SnapshotRegressionTests {
        @Test("every input the snapshot fuzzer ever crashed on is now parsed or refused, with and without checksums")
        func replayRegressions() throws {
            let directory = repositoryRoot.appendingPathComponent("Fuzz/Snapshot/regressions")
            var inputs: [[UInt8]] = [syntheticSnapshot()]  // never empty
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            where !name.hasPrefix(".") {
                inputs.append([UInt8](try Data(contentsOf: directory.appendingPathComponent(name))))
            }
            for bytes in inputs {
                for checksums in [true, false] {
                    let source = SnapshotBytes(bytes)
                    guard let manifest = try? SnapshotFormat.parse(source, hostPageSize: 4096, checksums: checksums)
                    else { continue }
                    #expect(manifest.fileSize == UInt64(bytes.count))
                    #expect(manifest.extents.allSatisfy { $0.offset + $0.length <= manifest.regions[$0.region].size })
                    _ = try? SnapshotFormat.verifyExtents(of: manifest, in: source)
                }
            }
        }
    }

    @Suite("Snapshot input: a corrupted real snapshot is refused cleanly, leaving nothing behind")
    struct SnapshotCorruptionTests {
        @Test(
            "byte flips across a real snapshot file (every header byte, a spread of the rest): each refused with one line, no fd or VM left"
        )
        func flipsAcrossRealFile() throws {
            let scratch = try ScratchDirectory("flips")
            defer { scratch.remove() }
            let (path, bad) = (scratch.file("flips.gsnap"), scratch.file("flipped.gsnap"))
            _ = try snapshotAtExits(
                MachineConfig(name: "pingpong", image: GuestImages.pingpong, parameter: 2_000), exits: 1_000, to: path)
            let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let snapshot = try Snapshot(path: path)
            // Every byte of the header and of every chunk header, and every 257th byte elsewhere.
            var offsets = Set(0..<SnapshotFormat.headerSize)
            var cursor = SnapshotFormat.headerSize
            while cursor < good.count {
                offsets.formUnion(cursor..<cursor + SnapshotFormat.chunkHeaderSize)
                let length = good[cursor + 8..<cursor + 16].reversed().reduce(0) { $0 << 8 | Int($1) }
                cursor += SnapshotFormat.chunkHeaderSize + length
            }
            offsets.formUnion(stride(from: 0, to: good.count, by: 257))
            #expect(
                snapshot.manifest.extents.allSatisfy { extent in
                    offsets.contains {
                        UInt64($0) >= extent.fileOffset && UInt64($0) < extent.fileOffset + extent.length
                    }
                },
                "some flips land in every memory chunk")
            // This process's descriptors of snapshot files (other suites open and close fds in
            // parallel, so the process-wide count is not this test's to compare).
            func snapshotDescriptors() -> Int {
                let fm = FileManager.default
                return (try? fm.contentsOfDirectory(atPath: "/proc/self/fd"))?.filter { fd in
                    ((try? fm.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) ?? "").contains(
                        "gmemkit-\(getpid())")
                }.count ?? -1
            }
            let before = kvmResources()
            let descriptors = snapshotDescriptors()
            var accepted: [Int] = []
            for offset in offsets.sorted() {
                var flipped = good
                flipped[offset] ^= 1 << UInt8(offset % 8)
                #expect(FileManager.default.createFile(atPath: bad, contents: Data(flipped)))
                do {
                    let (machine, _) = try Snapshot(path: bad).restore(RestoreOptions())
                    _ = machine
                    accepted.append(offset)
                } catch {
                    guard case .format = error else {
                        Issue.record("flip at \(offset): not a format error: \(error)")
                        continue
                    }
                    #expect(!error.description.contains("\n"))
                }
            }
            #expect(accepted.isEmpty, "flips restored at \(accepted.prefix(10))")
            #expect(
                kvmResources() == before && snapshotDescriptors() == descriptors,
                "no VM, vCPU, guest_memfd or snapshot file descriptor left")
            for length in [0, 10, 64, 100, good.count / 2, good.count - 1] {
                #expect(FileManager.default.createFile(atPath: bad, contents: Data(good.prefix(length))))
                #expect(throws: SnapshotError.self) { try Snapshot(path: bad).restore(RestoreOptions()) }
            }
            #expect(snapshotDescriptors() == descriptors)
            #expect(descriptors == 1, "only the good snapshot this test holds open")
            _ = snapshot
        }

        @Test("a saved vCPU state the kernel refuses names the vCPU, and for KVM_SET_MSRS the first MSR it refused")
        func refusedVCPUState() throws {
            let scratch = try ScratchDirectory("state")
            defer { scratch.remove() }
            let (path, bad) = (scratch.file("state.gsnap"), scratch.file("state-bad.gsnap"))
            _ = try snapshotAtExits(
                MachineConfig(name: "pingpong", image: GuestImages.pingpong, parameter: 2_000), exits: 100, to: path)
            let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let saved = try #require(try Snapshot(path: path).manifest.vcpus.first)
            try #require(saved.msrs.count >= 2)
            let vcpuChunk = 2  // machine, devices, then vCPU 0
            let registers = 9  // index, exit flag, exit status
            let specialRegisters = registers + SnapshotFormat.registersSize
            func restoreError(_ bytes: [UInt8]) -> SnapshotError? {
                _ = FileManager.default.createFile(atPath: bad, contents: Data(bytes))
                do {
                    _ = try Snapshot(path: bad).restore(RestoreOptions())
                    return nil
                } catch { return error }
            }

            // MSR 1 of vCPU 0 replaced by an index no CPU has: KVM_SET_MSRS sets MSR 0, stops there.
            let unknown: UInt32 = 0x0BAD_0000
            let badMSR = withChunkPayload(good, chunk: vcpuChunk) { payload in
                let at = payload.count - 12 * saved.msrs.count + 12
                for i in 0..<4 { payload[at + i] = UInt8(truncatingIfNeeded: unknown >> (8 * i)) }
            }
            let msrError = try #require(restoreError(badMSR))
            guard case .vcpuState(let file, let vcpu, let error, let refused) = msrError else {
                Issue.record("not a vCPU state error: \(msrError)")
                return
            }
            #expect(file == bad && vcpu == 0 && error.operation == .setMSRs)
            #expect(refused?.position == 1)
            #expect(refused?.msr == SnapshotVCPU.MSR(index: unknown, value: saved.msrs[1].value))
            #expect(msrError.description.contains("vCPU 0"), "\(msrError)")
            #expect(msrError.description.contains("MSR 0xbad0000"), "\(msrError)")
            #expect(!msrError.description.contains("\n"))

            // CR0 (byte 224 of kvm_sregs) with paging but not protection: KVM_SET_SREGS is EINVAL.
            let badCR0 = withChunkPayload(good, chunk: vcpuChunk) { payload in
                let cr0: UInt64 = 0x8000_0000
                for i in 0..<8 { payload[specialRegisters + 224 + i] = UInt8(truncatingIfNeeded: cr0 >> (8 * i)) }
            }
            let sregsError = try #require(restoreError(badCR0))
            guard case .vcpuState(_, let vcpu, let error, let refused) = sregsError else {
                Issue.record("not a vCPU state error: \(sregsError)")
                return
            }
            #expect(vcpu == 0 && error.operation == .setSpecialRegisters && refused == nil)
            #expect(sregsError.description.contains("restoring vCPU 0's saved state: "), "\(sregsError)")
        }
    }
}
