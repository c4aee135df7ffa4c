@_spi(Unchecked) import KVM
import SystemPackage
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("No user value traps: HostMapping")
struct HostMappingTrapTests {
    @Test("mmap lengths the kernel refuses (2^63, -4096, any 64-bit value) are its errno, never a trap")
    func hugeLengths() {
        for length: UInt64 in [0x8000_0000_0000_0000, UInt64(bitPattern: -4096), .max, 0] {
            do {
                _ = try UncheckedKVM.map(
                    fd: -1, length: length, protection: PROT_READ | PROT_WRITE,
                    flags: MAP_SHARED | MAP_ANONYMOUS)
                Issue.record("mmap of \(length) bytes succeeded")
            } catch {
                // As from C: ENOMEM for a length beyond the address space, EINVAL for 0.
                #expect(error.errno == (length == 0 ? .invalidArgument : .noMemory), "\(length): \(error)")
            }
        }
        var random = TestRandom(state: 12)
        for _ in 0..<2000 {
            let length = random.edgy() | 1 << 47  // always beyond the 47-bit user address space
            #expect(throws: KVMError.self) {
                _ = try UncheckedKVM.map(
                    fd: -1, length: length, protection: PROT_READ, flags: MAP_SHARED | MAP_ANONYMOUS)
            }
        }
    }

    @Test("every accessor takes any offset and count: inside is done, outside a KVMError (20,000 cases)")
    func accessorsAcceptAnyRange() throws {
        let size: UInt64 = 8192
        let mapping = try HostMapping.anonymous(length: size)
        var random = TestRandom(state: 7)
        for _ in 0..<20_000 {
            let offset = random.next() % 3 == 0 ? random.next() % (size + 16) : random.edgy()
            let count = random.next() % 3 == 0 ? random.next() % (size + 16) : random.edgy()
            let inside = offset <= size && count <= size - offset
            func expectOutcome(_ what: String, _ body: () throws(KVMError) -> Void) {
                do {
                    try body()
                    #expect(inside, "\(what) at \(offset) of \(count) bytes succeeded outside the mapping")
                } catch {
                    #expect(!inside || error.refusal != nil, "\(what) at \(offset) count \(count): \(error)")
                    #expect(error.errno == .invalidArgument)
                }
            }
            expectOutcome("fill") { () throws(KVMError) in try mapping.fill(0xA5, at: offset, count: count) }
            let small = Int(truncatingIfNeeded: count % 64)
            let smallInside = offset <= size && UInt64(small) <= size - offset
            do {
                let bytes = try mapping.read(at: offset, count: small)
                #expect(smallInside && bytes.count == small)
            } catch { #expect(!smallInside) }
            let eightInside = offset <= size && 8 <= size - offset
            do {
                _ = try mapping.load(UInt64.self, at: offset)
                #expect(eightInside)
            } catch { #expect(!eightInside) }
            do {
                try mapping.store(UInt64(1), at: offset)
                #expect(eightInside)
            } catch { #expect(!eightInside) }
            do {
                try mapping.write([1, 2, 3], at: offset)
                #expect(offset <= size && 3 <= size - offset)
            } catch {
                #expect(!(offset <= size && 3 <= size - offset))
            }
            do { _ = try mapping.residentBytes(offset: offset, count: count) } catch {
                #expect(!inside || offset % 4096 != 0)
            }
        }
    }

    @Test("a negative count is a refusal, never a trap")
    func negativeCount() throws {
        let mapping = try HostMapping.anonymous(length: 4096)
        for count in [-1, -4096, Int.min] {
            #expect(throws: KVMError.self) { _ = try mapping.read(at: 0, count: count) }
        }
        #expect(try mapping.read(at: 4096, count: 0) == [])
    }

    @Test("unmapUnchecked refuses ranges outside the mapping or unaligned before the MAP_FIXED call")
    func unmapOutside() throws {
        let mapping = try UncheckedKVM.map(
            fd: -1, length: 8192, protection: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_ANONYMOUS)
        for (offset, count) in [(UInt64(0), UInt64(12288)), (4096, 8192), (.max, 4096), (0, .max), (1, 4096), (0, 0)] {
            do {
                // SAFETY: every range here is refused before the MAP_FIXED call, so nothing is unmapped.
                try unsafe mapping.unmapUnchecked(offset: offset, count: count)
                Issue.record("unmapUnchecked(offset: \(offset), count: \(count)) was not refused")
            } catch {}
        }
        // SAFETY: nothing else uses the second page of this test's own mapping; no pointer into it exists.
        try unsafe mapping.unmapUnchecked(offset: 4096, count: 4096)
        // SAFETY: the probes run in a forked child; the SIGSEGV of the unmapped page kills only that child.
        #expect(unsafe mapping.probeInChild(offset: 4096, write: false) == SIGSEGV)
        // SAFETY: as above, in a forked child; the first page is still mapped.
        #expect(unsafe mapping.probeInChild(offset: 0, write: true) == 0)
    }
}
