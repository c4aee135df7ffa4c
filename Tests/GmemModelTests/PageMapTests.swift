import GmemModel
import Testing

@Suite("PageMap")
struct PageMapTests {
    @Test("set, remove and fill keep extents canonical")
    func canonical() {
        var map = PageMap<UInt64>()
        map.set(0, 4, to: 0)
        map.set(4, 8, to: 0)
        #expect(map.extents.count == 1)
        map.set(2, 3, to: 7)
        #expect(map.extents.map(\.value) == [0, 7, 0])
        #expect(map.value(at: 2) == 7)
        map.set(2, 3, to: 0)
        #expect(map.extents.count == 1)
        map.remove(3, 5)
        #expect(map.pageCount == 6)
        #expect(map.value(at: 4) == nil)
        map.fillGaps(0, 10, with: 1)
        #expect(map.extents.map(\.value) == [0, 1, 0, 1])
        #expect(map.pageCount == 10)
        #expect(map.allPages(in: 3, 5, equal: 1))
        #expect(!map.allPages(in: 2, 5, equal: 1))
        #expect(map.firstExtent(overlapping: 10, 20) == nil)
        #expect(map.firstExtent(overlapping: 9, 20)?.value == 1)
    }

    @Test("random updates agree with a page-by-page reference")
    func againstReference() {
        var random = SplitMix64(seed: 7)
        var map = PageMap<UInt8>()
        var reference = [UInt8?](repeating: nil, count: 64)
        for _ in 0..<2_000 {
            let start = UInt64.random(in: 0..<64, using: &random)
            let end = UInt64.random(in: start...64, using: &random)
            let value = UInt8.random(in: 0..<3, using: &random)
            switch Int.random(in: 0..<3, using: &random) {
            case 0:
                map.set(start, end, to: value)
                for index in start..<end { reference[Int(index)] = value }
            case 1:
                map.remove(start, end)
                for index in start..<end { reference[Int(index)] = nil }
            default:
                map.fillGaps(start, end, with: value)
                for index in start..<end where reference[Int(index)] == nil { reference[Int(index)] = value }
            }
        }
        for index in 0..<64 { #expect(map.value(at: UInt64(index)) == reference[index]) }
        var rebuilt = PageMap<UInt8>()
        for index in 0..<64 {
            if let value = reference[index] { rebuilt.set(UInt64(index), UInt64(index) + 1, to: value) }
        }
        #expect(rebuilt == map)
    }
}
