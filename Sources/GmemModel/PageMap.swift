/// A map from page indexes to values kept as sorted, non-overlapping extents with adjacent
/// equal extents merged, so two maps with the same contents are always `==` and hash alike.
///
/// Used for page data (inode), bindings (file page → memslot) and memory attributes; no
/// operation fails: empty ranges are ignored.
public struct PageMap<Value: Hashable & Sendable>: Hashable, Sendable {
    /// A run of pages `[start, end)` that all map to `value`.
    public struct Extent: Hashable, Sendable {
        /// The first page.
        public var start: UInt64
        /// One past the last page.
        public var end: UInt64
        /// The value of every page in the run.
        public var value: Value
    }

    /// The extents, sorted by `start`.
    public private(set) var extents: [Extent] = []

    /// An empty map.
    public init() {}

    /// Whether no page has a value.
    public var isEmpty: Bool { extents.isEmpty }

    /// The number of pages with a value.
    public var pageCount: UInt64 { extents.reduce(0) { $0 + ($1.end - $1.start) } }

    /// The index of the first extent that ends after `page`.
    @inline(__always)
    private func firstIndex(endingAfter page: UInt64) -> Int {
        var low = 0
        var high = extents.count
        while low < high {
            let mid = (low + high) >> 1
            if extents[mid].end <= page { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The value at `page`, or nil when the page has none.
    public func value(at page: UInt64) -> Value? {
        let index = firstIndex(endingAfter: page)
        guard index < extents.count, extents[index].start <= page else { return nil }
        return extents[index].value
    }

    /// The first extent that overlaps `[start, end)`, or nil.
    public func firstExtent(overlapping start: UInt64, _ end: UInt64) -> Extent? {
        guard start < end else { return nil }
        let index = firstIndex(endingAfter: start)
        guard index < extents.count, extents[index].start < end else { return nil }
        return extents[index]
    }

    /// The extents that overlap `[start, end)`, clipped to it.
    public func extents(overlapping start: UInt64, _ end: UInt64) -> [Extent] {
        guard start < end else { return [] }
        var result: [Extent] = []
        var index = firstIndex(endingAfter: start)
        while index < extents.count, extents[index].start < end {
            let extent = extents[index]
            result.append(Extent(start: max(extent.start, start), end: min(extent.end, end), value: extent.value))
            index += 1
        }
        return result
    }

    /// The number of pages in `[start, end)` with a value.
    public func pageCount(in start: UInt64, _ end: UInt64) -> UInt64 {
        extents(overlapping: start, end).reduce(0) { $0 + ($1.end - $1.start) }
    }

    /// Whether every page of `[start, end)` has `value`.
    public func allPages(in start: UInt64, _ end: UInt64, equal value: Value) -> Bool {
        var cursor = start
        for extent in extents(overlapping: start, end) {
            guard extent.start == cursor, extent.value == value else { return false }
            cursor = extent.end
        }
        return cursor >= end
    }

    /// Gives every page of `[start, end)` the value `value`.
    public mutating func set(_ start: UInt64, _ end: UInt64, to value: Value) {
        update(start, end) { _ in value }
    }

    /// Removes the values of `[start, end)`.
    public mutating func remove(_ start: UInt64, _ end: UInt64) {
        update(start, end) { _ in nil }
    }

    /// Gives `value` to the pages of `[start, end)` that have none, keeping the others.
    public mutating func fillGaps(_ start: UInt64, _ end: UInt64, with value: Value) {
        update(start, end) { $0 ?? value }
    }

    /// Rewrites every page of `[start, end)`, present or absent, through `transform`.
    public mutating func update(_ start: UInt64, _ end: UInt64, _ transform: (Value?) -> Value?) {
        guard start < end else { return }
        let low = firstIndex(endingAfter: start)
        var high = low
        while high < extents.count, extents[high].start < end { high += 1 }
        var pieces: [Extent] = []
        pieces.reserveCapacity(high - low + 3)
        var cursor = start
        for index in low..<high {
            let extent = extents[index]
            if extent.start < start {
                pieces.append(Extent(start: extent.start, end: start, value: extent.value))
            }
            let from = max(extent.start, start)
            if cursor < from, let value = transform(nil) {
                pieces.append(Extent(start: cursor, end: from, value: value))
            }
            let to = min(extent.end, end)
            if let value = transform(extent.value) {
                pieces.append(Extent(start: from, end: to, value: value))
            }
            if extent.end > end {
                pieces.append(Extent(start: end, end: extent.end, value: extent.value))
            }
            cursor = to
        }
        if cursor < end, let value = transform(nil) {
            pieces.append(Extent(start: cursor, end: end, value: value))
        }
        extents.replaceSubrange(low..<high, with: pieces)
        coalesce(from: low - 1, through: low + pieces.count)
    }

    /// Merges adjacent equal extents among indexes `[from, through]`.
    private mutating func coalesce(from: Int, through: Int) {
        var index = max(from, 0)
        var last = min(through, extents.count - 1)
        while index < last {
            if extents[index].end == extents[index + 1].start,
                extents[index].value == extents[index + 1].value
            {
                extents[index].end = extents[index + 1].end
                extents.remove(at: index + 1)
                last -= 1
            } else {
                index += 1
            }
        }
    }
}
