import GmemModel
import Testing

/// The model places each host mapping at the lowest address where it and its guard meet no
/// live mapping's window, and reuses a window's range once its last page is unmapped, as Linux
/// reuses an unmapped range (it once only moved on: after about 114,000 mmap/munmap pairs
/// every mmap was `ENOMEM`).
@Suite("Mappings: address ranges are reused, first fit")
struct MappingReuseTests {
    static let page: UInt64 = 4096
    static let guardLength = ModelKernel.mappingGuard
    static let base = ModelKernel.mappingBase

    @Test("200,000 mmap/munmap pairs all succeed, each at the first address")
    func loopsNeverRunOut() throws {
        var kernel = ModelKernel()
        for round in 0..<200_000 {
            let address = try kernel.mapAnonymous(length: Self.page).get()
            if address != Self.base {
                Issue.record("round \(round): placed at \(address)")
                return
            }
            try kernel.munmap(address: address, length: Self.page).get()
        }
        #expect(kernel.mappingCount == 0)
    }

    @Test("a freed window in the middle is reused by a mapping that fits it with its guard, not by a larger one")
    func firstFitReusesTheGap() throws {
        var kernel = ModelKernel()
        let a = try kernel.mapAnonymous(length: Self.page).get()
        let b = try kernel.mapAnonymous(length: 4 * Self.page).get()
        let c = try kernel.mapAnonymous(length: Self.page).get()
        #expect(b == a + Self.page + Self.guardLength)
        #expect(c == b + 4 * Self.page + Self.guardLength)
        try kernel.munmap(address: b, length: 4 * Self.page).get()
        // 5 pages and a guard do not fit between A's window and C: past C.
        let large = try kernel.mapAnonymous(length: 5 * Self.page).get()
        #expect(large == c + Self.page + Self.guardLength)
        // 4 pages do.
        let d = try kernel.mapAnonymous(length: 4 * Self.page).get()
        #expect(d == b)
        // A write through the new mapping reads back; the old one's data is gone (zeroed anon).
        try kernel.hostWrite(address: d, width: 8, value: 7).get()
        #expect(try kernel.hostRead(address: d, width: 8).get() == 7)
    }

    @Test("a window with a mapped page left stays; it goes with the last page")
    func partialUnmapKeepsTheWindow() throws {
        var kernel = ModelKernel()
        let a = try kernel.mapAnonymous(length: 2 * Self.page).get()
        try kernel.munmap(address: a, length: Self.page).get()
        let b = try kernel.mapAnonymous(length: Self.page).get()
        #expect(b == a + 2 * Self.page + Self.guardLength)
        try kernel.munmap(address: a + Self.page, length: Self.page).get()
        #expect(try kernel.mapAnonymous(length: Self.page).get() == a)
        // An unmap of the guard alone (nothing mapped there) frees nothing.
        try kernel.munmap(address: b + Self.page, length: Self.guardLength).get()
        #expect(try kernel.mapAnonymous(length: Self.page).get() == b + Self.page + Self.guardLength)
    }

    @Test("a split mapping counts one per piece")
    func piecesAreCounted() throws {
        var kernel = ModelKernel()
        let a = try kernel.mapAnonymous(length: 3 * Self.page).get()
        #expect(kernel.mappingCount == 1)
        try kernel.munmap(address: a + Self.page, length: Self.page).get()
        #expect(kernel.mappingCount == 2)
        try kernel.munmap(address: a, length: 3 * Self.page).get()
        #expect(kernel.mappingCount == 0)
    }

    @Test("first fit over windows: gaps, the tail, the end of user space, overflow")
    func firstFit() {
        let g = Self.guardLength
        let limit: UInt64 = 0x7FFF_FFFF_F000
        #expect(ModelKernel.firstFit(length: Self.page, windows: [], limit: limit) == Self.base)
        let windows: [(UInt64, UInt64)] = [(Self.base + 2 * g, Self.base + 3 * g)]
        // The gap before the window holds a mapping of up to g bytes with its guard.
        #expect(ModelKernel.firstFit(length: g, windows: windows, limit: limit) == Self.base)
        #expect(ModelKernel.firstFit(length: g + Self.page, windows: windows, limit: limit) == Self.base + 3 * g)
        #expect(ModelKernel.firstFit(length: limit, windows: [], limit: limit) == nil)
        #expect(ModelKernel.firstFit(length: UInt64.max & ~4095, windows: windows, limit: limit) == nil)
        // The mapping may end at the limit exactly (its guard is past it, as it always was).
        #expect(ModelKernel.firstFit(length: limit - Self.base, windows: [], limit: limit) == Self.base)
    }

    @Test("placement is deterministic: the same operations give the same addresses")
    func deterministic() throws {
        func run() throws -> [UInt64] {
            var kernel = ModelKernel()
            var live: [UInt64] = []
            var addresses: [UInt64] = []
            var random = SplitMix64(seed: 9)
            for _ in 0..<2_000 {
                if !live.isEmpty, random.next() % 2 == 0 {
                    let address = live.remove(at: Int(random.next() % UInt64(live.count)))
                    try kernel.munmap(address: address, length: 3 * Self.page).get()
                } else {
                    let pages = random.next() % 3 + 1
                    let address = try kernel.mapAnonymous(length: pages * Self.page).get()
                    live.append(address)
                    addresses.append(address)
                }
            }
            return addresses
        }
        let first = try run()
        #expect(first == (try run()))
        // Reuse keeps the span small: 2,000 operations never go past a few hundred windows.
        #expect(first.max()! < Self.base + 300 * (Self.guardLength + 3 * Self.page))
    }
}
