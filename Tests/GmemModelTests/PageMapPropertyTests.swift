import Testing

@testable import GmemModel

/// Random set/remove/fillGaps/update sequences on `PageMap`, against a page-by-page dictionary,
/// in windows near page 0, in the middle and at the top of the page space; small chunk
/// capacities make few extents span many chunks, so chunk splits, merges and removals happen
/// on every few operations.
@Suite("PageMap properties")
struct PageMapPropertyTests {
    typealias Map = PageMap<UInt8>

    /// A window of `width` pages starting at `base`; `base + width` is at most `UInt64.max`
    /// (page `UInt64.max` itself cannot be in a range: `end` is exclusive).
    struct Window: CustomTestStringConvertible {
        var base: UInt64
        var width: Int
        var testDescription: String { "\(width) pages at \(base)" }
        func page(_ offset: Int) -> UInt64 { base + UInt64(offset) }
    }

    static let windows: [Window] = [
        Window(base: 0, width: 96),
        Window(base: 1 << 40, width: 96),
        Window(base: UInt64.max - 96, width: 96),
    ]

    /// One random operation over offsets `[from, to)` of a window.
    enum Operation {
        case set(Int, Int, UInt8)
        case remove(Int, Int)
        case fillGaps(Int, Int, UInt8)
        /// Rotates present values (0 → 1 → 2 → absent) and gives absent pages `0`.
        case rotate(Int, Int)

        static func random(width: Int, maximumLength: Int, using random: inout SplitMix64) -> Operation {
            let from = Int.random(in: 0..<width, using: &random)
            let longest = min(width - from, Int.random(in: 0..<8, using: &random) == 0 ? width : maximumLength)
            let to = from + Int.random(in: 0...longest, using: &random)  // sometimes empty
            let value = UInt8.random(in: 0..<3, using: &random)
            switch Int.random(in: 0..<8, using: &random) {
            case 0..<3: return .set(from, to, value)
            case 3..<5: return .remove(from, to)
            case 5..<7: return .fillGaps(from, to, value)
            default: return .rotate(from, to)
            }
        }

        static func rotated(_ value: UInt8?) -> UInt8? {
            guard let value else { return 0 }
            return value == 2 ? nil : value + 1
        }

        func apply(to map: inout Map, in window: Window) {
            switch self {
            case .set(let from, let to, let value): map.set(window.page(from), window.page(to), to: value)
            case .remove(let from, let to): map.remove(window.page(from), window.page(to))
            case .fillGaps(let from, let to, let value): map.fillGaps(window.page(from), window.page(to), with: value)
            case .rotate(let from, let to): map.update(window.page(from), window.page(to), Self.rotated)
            }
        }

        func apply(to reference: inout [Int: UInt8]) {
            switch self {
            case .set(let from, let to, let value):
                for offset in from..<max(from, to) { reference[offset] = value }
            case .remove(let from, let to):
                for offset in from..<max(from, to) { reference[offset] = nil }
            case .fillGaps(let from, let to, let value):
                for offset in from..<max(from, to) where reference[offset] == nil { reference[offset] = value }
            case .rotate(let from, let to):
                for offset in from..<max(from, to) { reference[offset] = Self.rotated(reference[offset]) }
            }
        }
    }

    /// The canonical extents of `reference` in `window`: maximal runs of equal values.
    static func runs(of reference: [Int: UInt8], in window: Window) -> [Map.Extent] {
        var result: [Map.Extent] = []
        for offset in 0..<window.width {
            guard let value = reference[offset] else { continue }
            let page = window.page(offset)
            if let last = result.last, last.end == page, last.value == value {
                result[result.count - 1].end = page + 1
            } else {
                result.append(Map.Extent(start: page, end: page + 1, value: value))
            }
        }
        return result
    }

    /// Checks `map` against `reference`: the extents are exactly the canonical runs (so sorted,
    /// non-overlapping and with no two touching equal ones), the chunks are non-empty and within
    /// capacity, and the counts agree.
    static func expectAgrees(_ map: Map, _ reference: [Int: UInt8], in window: Window, everyPage: Bool) {
        let extents = map.extents
        let expected = runs(of: reference, in: window)
        #expect(extents == expected)
        for (left, right) in zip(extents, extents.dropFirst()) {
            #expect(left.start < left.end && left.end <= right.start)
            #expect(left.end < right.start || left.value != right.value)
        }
        #expect(map.pageCount == UInt64(reference.count))
        #expect(map.isEmpty == reference.isEmpty)
        #expect(map.chunkSizes.allSatisfy { $0 >= 1 && $0 <= map.chunkCapacity })
        #expect(map.chunkSizes.reduce(0, +) == extents.count)
        if everyPage {
            for offset in 0..<window.width { #expect(map.value(at: window.page(offset)) == reference[offset]) }
        }
    }

    /// The same content built three other ways, with other capacities: page by page upwards,
    /// page by page downwards, and by filling the window, overwriting it and punching the gaps.
    static func rebuilt(_ reference: [Int: UInt8], in window: Window) -> [Map] {
        var ascending = Map()
        for offset in 0..<window.width {
            if let value = reference[offset] { ascending.set(window.page(offset), window.page(offset + 1), to: value) }
        }
        var descending = Map(chunkCapacity: 4)
        for offset in (0..<window.width).reversed() {
            if let value = reference[offset] { descending.set(window.page(offset), window.page(offset + 1), to: value) }
        }
        var overwritten = Map(chunkCapacity: 6)
        overwritten.set(window.page(0), window.page(window.width), to: 7)
        for offset in 0..<window.width {
            let page = window.page(offset)
            if let value = reference[offset] {
                overwritten.set(page, page + 1, to: value)
            } else {
                overwritten.set(page, page + 1, to: 9)
            }
        }
        for offset in 0..<window.width where reference[offset] == nil {
            overwritten.remove(window.page(offset), window.page(offset + 1))
        }
        return [ascending, descending, overwritten]
    }

    @Test("random operations agree with a dictionary, page by page", arguments: windows, [4, 8, 128])
    func againstDictionary(window: Window, capacity: Int) {
        var random = SplitMix64(seed: window.base ^ UInt64(capacity))
        var map = Map(chunkCapacity: capacity)
        var reference: [Int: UInt8] = [:]
        var maximumChunks = 0
        for step in 0..<3_000 {
            let operation = Operation.random(width: window.width, maximumLength: 6, using: &random)
            operation.apply(to: &map, in: window)
            operation.apply(to: &reference)
            Self.expectAgrees(map, reference, in: window, everyPage: true)
            maximumChunks = max(maximumChunks, map.chunkSizes.count)
            if step % 25 == 0 {
                for other in Self.rebuilt(reference, in: window) {
                    #expect(other == map)
                    #expect(other.hashValue == map.hashValue)
                }
            }
        }
        // With a small capacity the window's extents span many chunks.
        if capacity < 10 { #expect(maximumChunks >= 8) }
    }

    @Test("thousands of extents across many chunks, near page 0 and at the top")
    func manyExtents() {
        for window in [Window(base: 0, width: 12_000), Window(base: UInt64.max - 12_000, width: 12_000)] {
            var random = SplitMix64(seed: 14 ^ window.base)
            var map = Map()
            var reference: [Int: UInt8] = [:]
            // Every other page: 6,000 extents, inserted in a scattered order.
            var offsets = Array(stride(from: 0, to: window.width, by: 2))
            offsets.shuffle(using: &random)
            for offset in offsets {
                map.set(window.page(offset), window.page(offset + 1), to: 1)
                reference[offset] = 1
            }
            Self.expectAgrees(map, reference, in: window, everyPage: true)
            #expect(map.extents.count == 6_000)
            #expect(map.chunkSizes.count >= 6_000 / 128)
            for step in 0..<4_000 {
                let operation = Operation.random(width: window.width, maximumLength: 3, using: &random)
                operation.apply(to: &map, in: window)
                operation.apply(to: &reference)
                // Every page of the operation's neighbourhood after each step, the whole map
                // every 200 steps.
                switch operation {
                case .set(let from, let to, _), .remove(let from, let to), .fillGaps(let from, let to, _),
                    .rotate(let from, let to):
                    for offset in max(from - 2, 0)..<min(to + 2, window.width) {
                        #expect(map.value(at: window.page(offset)) == reference[offset])
                    }
                }
                #expect(map.pageCount == UInt64(reference.count))
                if step % 200 == 0 { Self.expectAgrees(map, reference, in: window, everyPage: true) }
            }
            Self.expectAgrees(map, reference, in: window, everyPage: true)
            for other in Self.rebuilt(reference, in: window) {
                #expect(other == map)
                #expect(other.hashValue == map.hashValue)
            }
            // Removing everything leaves the empty map, equal to a fresh one.
            map.remove(window.page(0), window.page(window.width))
            #expect(map.isEmpty && map.pageCount == 0 && map.chunkSizes.isEmpty)
            #expect(map == Map() && map.hashValue == Map().hashValue)
        }
    }

    @Test("range queries clip to the range")
    func rangeQueries() {
        let window = Window(base: UInt64.max - 64, width: 64)
        var random = SplitMix64(seed: 3)
        var map = Map(chunkCapacity: 4)
        var reference: [Int: UInt8] = [:]
        for _ in 0..<500 {
            let operation = Operation.random(width: window.width, maximumLength: 5, using: &random)
            operation.apply(to: &map, in: window)
            operation.apply(to: &reference)
            let from = Int.random(in: 0...window.width, using: &random)
            let to = Int.random(in: from...window.width, using: &random)
            let (start, end) = (window.page(from), window.page(to))
            let present = (from..<to).filter { reference[$0] != nil }
            #expect(map.pageCount(in: start, end) == UInt64(present.count))
            #expect(
                map.extents(overlapping: start, end).reduce(0) { $0 + ($1.end - $1.start) } == UInt64(present.count))
            #expect(map.extents(overlapping: start, end).allSatisfy { $0.start >= start && $0.end <= end })
            let first = map.firstExtent(overlapping: start, end)
            if let offset = present.first {
                let page = window.page(offset)
                #expect(first.map { $0.start <= page && page < $0.end && $0.value == reference[offset] } == true)
            } else {
                #expect(first == nil)
            }
            let value = UInt8.random(in: 0..<3, using: &random)
            #expect(map.allPages(in: start, end, equal: value) == (from..<to).allSatisfy { reference[$0] == value })
        }
    }
}
