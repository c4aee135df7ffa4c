@_spi(Unchecked) import KVM
import SystemPackage
import Testing

@testable import GuestMemory
@testable import MicroVM

#if canImport(Glibc)
import Glibc
#endif

/// A small deterministic generator for the property tests (SplitMix64).
struct TestRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A value biased to the edges: 0, small, page multiples, around powers of two and 2^64.
    mutating func edgy() -> UInt64 {
        switch next() % 8 {
        case 0: return next() % 16
        case 1: return (next() % 8) * 4096
        case 2: return UInt64.max &- next() % 4097
        case 3: return (UInt64(1) << (next() % 64)) &+ (next() % 3) &- 1
        case 4: return UInt64(bitPattern: -Int64(next() % 8192))
        default: return next()
        }
    }
}

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
            #expect(throws: KVMError.self) { try mapping.unmapUnchecked(offset: offset, count: count) }
        }
        try mapping.unmapUnchecked(offset: 4096, count: 4096)
        #expect(mapping.probeInChild(offset: 4096, write: false) == SIGSEGV)
        #expect(mapping.probeInChild(offset: 0, write: true) == 0)
    }
}

@Suite("No user value traps: GuestMemory and MicroVM values")
struct ValueTrapTests {
    @Test("GuestPhysicalAddress.isAligned takes any alignment, 0 included")
    func alignment() {
        var random = TestRandom(state: 3)
        for _ in 0..<5000 {
            let address = GuestPhysicalAddress(random.edgy())
            let alignment = random.edgy()
            #expect(address.isAligned(to: alignment) == (alignment != 0 && address.rawValue % alignment == 0))
        }
        #expect(!GuestPhysicalAddress(0).isAligned(to: 0))
    }

    @Test("layouts of any sizes and starts are validated, never trapping (20,000 random layouts)")
    func layouts() {
        var random = TestRandom(state: 5)
        for _ in 0..<20_000 {
            let count = Int(random.next() % 4)
            let specs = (0..<count).map { index in
                GuestMemoryMap.RegionSpec(
                    name: "r\(index)", start: GuestPhysicalAddress(random.edgy()), size: random.edgy())
            }
            do {
                try GuestMemoryMap.validate(specs.sorted { $0.start < $1.start })
                for spec in specs { #expect(spec.start.advanced(by: spec.size) != nil && spec.size > 0) }
            } catch {
                if case .invalidLayout = error {} else { Issue.record("unexpected \(error)") }
            }
        }
        let tooMany = (0...GuestMemoryMap.maximumRegions).map {
            GuestMemoryMap.RegionSpec(name: "r", start: GuestPhysicalAddress(UInt64($0) << 21), size: 2 << 20)
        }
        #expect(throws: GuestMemoryError.self) { try GuestMemoryMap.validate(tooMany) }
    }

    @Test("MachineConfig.validate takes any sizes: --extra 17592186044414M is a configuration error")
    func machineConfigs() {
        var config = MachineConfig(image: [])
        config.extraRegions = [17_592_186_044_414 << 20]
        #expect(config.addressSpaceEnd == .max)
        #expect(throws: MachineError.self) { try config.validate() }
        var random = TestRandom(state: 9)
        for _ in 0..<20_000 {
            var config = MachineConfig(
                image: [], memorySize: random.edgy(), vcpus: Int(truncatingIfNeeded: random.edgy()))
            config.extraRegions = (0..<Int(random.next() % 4)).map { _ in random.edgy() }
            config.consoleLimit = Int(truncatingIfNeeded: random.edgy())
            do {
                try config.validate()
                #expect(config.addressSpaceEnd <= GuestABI.maximumMemory && (1...64).contains(config.vcpus))
            } catch {}
            _ = LongMode.entryRegisters(
                entry: random.next(), index: config.vcpus, count: config.vcpus, memorySize: config.memorySize)
            _ = LongMode.tables(base: random.edgy() & ~4095, identityMap: random.edgy())
        }
    }

    @Test("Duration.nanoseconds saturates instead of trapping")
    func durations() {
        #expect(Duration.seconds(Int64.max).nanoseconds == .max)
        #expect(Duration.seconds(Int64.min).nanoseconds == .min)
        #expect(Duration.milliseconds(1500).nanoseconds == 1_500_000_000)
        #expect(Duration.nanoseconds(-7).nanoseconds == -7)
    }

    @Test("ELFImage.checkFits takes any vCPU count and memory size")
    func checkFits() throws {
        let image = try ELFImage(ELFImage.minimal(code: [0xEB, 0xFE]))
        for vcpus in [Int.min, -1, 0, 65, Int.max] {
            #expect(throws: ELFError.self) { try image.checkFits(memorySize: 16 << 20, vcpus: vcpus) }
        }
        for memory: UInt64 in [0, 1, .max] { _ = try? image.checkFits(memorySize: memory, vcpus: 1) }
    }
}
