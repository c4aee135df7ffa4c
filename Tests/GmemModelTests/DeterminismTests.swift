import GmemModel
import Testing

/// Random operation sequences over a small universe, for determinism, hashing and speed.
/// Each operation is drawn from the current state (mostly open fds, sometimes stale ones), and
/// creations stop while many fds are open, so the state stays small as in an explorer.
struct RandomOperations {
    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func next(for kernel: ModelKernel) -> ModelOperation {
        let open = kernel.openDescriptors
        let fd =
            open.isEmpty || random.next() % 10 == 0
            ? Int32.random(in: 3...12, using: &random) : open[Int(random.next() % UInt64(open.count))]
        let pageIndex = UInt64.random(in: 0..<8, using: &random)
        let base = ModelKernel.mappingBase
        var choice = Int.random(in: 0..<16, using: &random)
        if open.count > 10, choice < 5 { choice = 5 }
        switch choice {
        case 0: return .createVM(type: UInt64.random(in: 0...1, using: &random))
        case 1: return .createVCPU(vmFD: fd, id: UInt32.random(in: 0..<2, using: &random))
        case 2:
            return .createGuestMemfd(
                vmFD: fd, size: UInt64.random(in: 1...4, using: &random) * page,
                flags: UInt64.random(in: 0...3, using: &random))
        case 3: return .dup(fd: fd)
        case 4: return .mmap(fd: fd, prot: readWrite, flags: mapShared, offset: 0, length: 2 * page)
        case 5, 6: return .close(fd: fd)
        case 7:
            let region = GmemRules.MemoryRegion(
                slot: UInt32.random(in: 0..<3, using: &random), flags: gmemSlot,
                guestPhysicalAddress: pageIndex * page, memorySize: UInt64.random(in: 0...2, using: &random) * page,
                userspaceAddress: 0, guestMemfdOffset: UInt64.random(in: 0..<3, using: &random) * page,
                guestMemfd: UInt32(open.isEmpty ? 3 : open[Int(random.next() % UInt64(open.count))]))
            return .setUserMemoryRegion2(vmFD: fd, region)
        case 8:
            return .fallocate(
                fd: fd, mode: Bool.random(using: &random) ? keepSize : punch, offset: Int64(pageIndex * page),
                length: Int64(page))
        case 9: return .munmap(address: base + pageIndex * page, length: 16 * page)
        case 10: return .hostRead(address: base + pageIndex * page)
        case 11: return .hostWrite(address: base + pageIndex * page, value: random.next() & 0xFF)
        case 12:
            return .guestAccess(
                fd: fd, guestPhysicalAddress: pageIndex * page, .read, isPrivate: Bool.random(using: &random))
        case 13:
            return .guestAccess(
                fd: fd, guestPhysicalAddress: pageIndex * page, .write(random.next() & 0xFF), isPrivate: false)
        case 14:
            return .setMemoryAttributes(
                vmFD: fd, address: pageIndex * page, size: page,
                attributes: Bool.random(using: &random) ? privateAttribute : 0, flags: 0)
        default: return .fileOperation(.read, fd: fd)
        }
    }

    /// Draws and applies `count` operations; returns them with their outcomes.
    static func run(count: Int, seed: UInt64, on kernel: inout ModelKernel) -> (
        operations: [ModelOperation], outcomes: [ModelOutcome]
    ) {
        var generator = RandomOperations(seed: seed)
        var operations: [ModelOperation] = []
        var outcomes: [ModelOutcome] = []
        for _ in 0..<count {
            let operation = generator.next(for: kernel)
            operations.append(operation)
            outcomes.append(kernel.apply(operation))
        }
        return (operations, outcomes)
    }
}

@Suite("Determinism and hashing")
struct DeterminismTests {
    @Test(
        "the same operations give the same outcomes and equal, equally hashed states", arguments: [1, 2, 3] as [UInt64])
    func deterministic(seed: UInt64) {
        for capabilities in [ModelCapabilities.referenceHost, .upstream] {
            var first = ModelKernel(capabilities: capabilities)
            var second = ModelKernel(capabilities: capabilities)
            let (operations, a) = RandomOperations.run(count: 2_000, seed: seed, on: &first)
            let b = operations.map { second.apply($0) }
            #expect(a == b)
            #expect(first == second)
            #expect(first.hashValue == second.hashValue)
            #expect(Set([first, second]).count == 1)
            // The sequence did real work, not only refusals.
            #expect(a.filter { if case .failed = $0 { false } else { true } }.count > 200)
        }
    }

    @Test("states reached by different paths to the same contents are equal")
    func canonicalStates() throws {
        var a = try Fixture()
        var b = try Fixture()
        let fa = try a.gmem(pages: 4)
        let fb = try b.gmem(pages: 4)
        // a: allocate everything at once; b: page by page in another order, plus a refused op.
        #expect(a.kernel.fallocate(fd: fa, mode: keepSize, offset: 0, length: Int64(4 * page)) == .success(()))
        for index: Int64 in [3, 0, 2, 1] {
            #expect(
                b.kernel.fallocate(fd: fb, mode: keepSize, offset: index * Int64(page), length: Int64(page))
                    == .success(()))
        }
        _ = b.kernel.fallocate(fd: fb, mode: 0, offset: 0, length: Int64(page))
        #expect(a.kernel == b.kernel)
        // Create and close a VM: ids and fds are reused, so the state returns to what it was.
        let before = a.kernel
        let extra = try a.kernel.createVM().get()
        #expect(a.kernel != before)
        #expect(a.kernel.close(extra) == .success(()))
        #expect(a.kernel == before)
    }

    @Test("every failed outcome left the state unchanged")
    func failuresAreAtomic() {
        // GMEM-P1
        for policy in Policy.allCases {
            var kernel = ModelKernel(capabilities: .upstream, policy: policy)
            var generator = RandomOperations(seed: 42)
            for _ in 0..<1_500 {
                let operation = generator.next(for: kernel)
                let before = kernel
                if case .failed = kernel.apply(operation) {
                    #expect(kernel == before, "\(operation)")
                }
            }
        }
    }
}
