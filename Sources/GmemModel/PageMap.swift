/// A map from page indexes to values kept as sorted, non-overlapping extents with adjacent
/// equal extents merged, so two maps with the same contents are always `==` and hash alike.
///
/// Used for page data (inode), bindings (file page → memslot) and memory attributes; no
/// operation fails: empty ranges are ignored.
///
/// The extents are stored in sorted chunks of at most 128 extents, found by binary search on each
/// chunk's last end, so an update that splits or inserts extents costs O(log n + chunk size)
/// and not a shift of the whole sequence. How the extents fall into chunks depends on the
/// history of the map; `==` and `hash(into:)` read the sequence of extents only.
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

    /// A position in the extent sequence: extent `index` of chunk `chunk`; `(chunks.count, 0)`
    /// is the end.
    private struct Position {
        var chunk: Int
        var index: Int
    }

    /// The most extents a chunk holds; one that outgrows it is split into chunks of half as many.
    let chunkCapacity: Int

    /// The extents, sorted by `start`, in non-empty chunks of at most `chunkCapacity`.
    private var chunks: [[Extent]] = []
    /// The number of pages with a value (at most `UInt64.max`: page `UInt64.max` has none).
    private var totalPages: UInt64 = 0
    /// The number of extents across the chunks.
    private var extentCount = 0

    /// An empty map.
    public init() { chunkCapacity = 128 }

    /// An empty map whose chunks hold at most `chunkCapacity` extents (at least 4), for tests
    /// that need many chunks from few extents.
    init(chunkCapacity: Int) {
        precondition(chunkCapacity >= 4, "a chunk holds at least 4 extents")
        self.chunkCapacity = chunkCapacity
    }

    /// The extents, sorted by `start` (built on each call: O(extents)).
    public var extents: [Extent] {
        var result: [Extent] = []
        result.reserveCapacity(extentCount)
        for chunk in chunks { result.append(contentsOf: chunk) }
        return result
    }

    /// The number of extents in each chunk, for tests of the representation.
    var chunkSizes: [Int] { chunks.map(\.count) }

    /// Whether no page has a value.
    public var isEmpty: Bool { chunks.isEmpty }

    /// The number of pages with a value.
    public var pageCount: UInt64 { totalPages }

    /// The position of the first extent that ends after `page`, or the end.
    private func position(endingAfter page: UInt64) -> Position {
        var low = 0
        var high = chunks.count
        while low < high {
            let mid = (low + high) >> 1
            if chunks[mid][chunks[mid].count - 1].end <= page { low = mid + 1 } else { high = mid }
        }
        guard low < chunks.count else { return Position(chunk: low, index: 0) }
        let chunk = chunks[low]
        var first = 0
        var last = chunk.count - 1  // chunk[last].end > page
        while first < last {
            let mid = (first + last) >> 1
            if chunk[mid].end <= page { first = mid + 1 } else { last = mid }
        }
        return Position(chunk: low, index: first)
    }

    /// The extent at `position`, which is not the end.
    @inline(__always)
    private func extent(at position: Position) -> Extent { chunks[position.chunk][position.index] }

    /// The position after `position`, which is not the end.
    @inline(__always)
    private func advanced(_ position: Position) -> Position {
        position.index + 1 < chunks[position.chunk].count
            ? Position(chunk: position.chunk, index: position.index + 1) : Position(chunk: position.chunk + 1, index: 0)
    }

    /// The position before `position`, or nil at the start.
    private func preceding(_ position: Position) -> Position? {
        if position.index > 0 { return Position(chunk: position.chunk, index: position.index - 1) }
        guard position.chunk > 0 else { return nil }
        return Position(chunk: position.chunk - 1, index: chunks[position.chunk - 1].count - 1)
    }

    /// The value at `page`, or nil when the page has none.
    public func value(at page: UInt64) -> Value? {
        let position = position(endingAfter: page)
        guard position.chunk < chunks.count else { return nil }
        let extent = extent(at: position)
        return extent.start <= page ? extent.value : nil
    }

    /// The first extent that overlaps `[start, end)`, or nil.
    public func firstExtent(overlapping start: UInt64, _ end: UInt64) -> Extent? {
        guard start < end else { return nil }
        let position = position(endingAfter: start)
        guard position.chunk < chunks.count else { return nil }
        let extent = extent(at: position)
        return extent.start < end ? extent : nil
    }

    /// The extents that overlap `[start, end)`, clipped to it.
    public func extents(overlapping start: UInt64, _ end: UInt64) -> [Extent] {
        guard start < end else { return [] }
        var result: [Extent] = []
        var position = position(endingAfter: start)
        while position.chunk < chunks.count {
            let extent = extent(at: position)
            guard extent.start < end else { break }
            result.append(Extent(start: max(extent.start, start), end: min(extent.end, end), value: extent.value))
            position = advanced(position)
        }
        return result
    }

    /// The number of pages in `[start, end)` with a value.
    public func pageCount(in start: UInt64, _ end: UInt64) -> UInt64 {
        guard start < end else { return 0 }
        var count: UInt64 = 0
        var position = position(endingAfter: start)
        while position.chunk < chunks.count {
            let extent = extent(at: position)
            guard extent.start < end else { break }
            count += min(extent.end, end) - max(extent.start, start)
            position = advanced(position)
        }
        return count
    }

    /// Whether every page of `[start, end)` has `value`.
    public func allPages(in start: UInt64, _ end: UInt64, equal value: Value) -> Bool {
        guard start < end else { return true }
        var cursor = start
        var position = position(endingAfter: start)
        while cursor < end, position.chunk < chunks.count {
            let extent = extent(at: position)
            guard extent.start <= cursor, extent.value == value else { return false }
            cursor = extent.end
            position = advanced(position)
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

    /// Appends `piece` to `pieces`, merged into the last one when it touches it with the same value.
    @inline(__always)
    private static func append(_ piece: Extent, to pieces: inout [Extent]) {
        if let last = pieces.last, last.end == piece.start, last.value == piece.value {
            pieces[pieces.count - 1].end = piece.end
        } else {
            pieces.append(piece)
        }
    }

    /// Rewrites every page of `[start, end)`, present or absent, through `transform`.
    public mutating func update(_ start: UInt64, _ end: UInt64, _ transform: (Value?) -> Value?) {
        guard start < end else { return }
        var lower = position(endingAfter: start)
        var upper = lower
        var pieces: [Extent] = []
        var removedPages: UInt64 = 0
        var cursor = start
        while upper.chunk < chunks.count {
            let extent = extent(at: upper)
            guard extent.start < end else { break }
            if extent.start < start {
                Self.append(Extent(start: extent.start, end: start, value: extent.value), to: &pieces)
            }
            let from = max(extent.start, start)
            if cursor < from, let value = transform(nil) {
                Self.append(Extent(start: cursor, end: from, value: value), to: &pieces)
            }
            let to = min(extent.end, end)
            if let value = transform(extent.value) {
                Self.append(Extent(start: from, end: to, value: value), to: &pieces)
            }
            if extent.end > end {
                Self.append(Extent(start: end, end: extent.end, value: extent.value), to: &pieces)
            }
            removedPages += extent.end - extent.start
            cursor = to
            upper = advanced(upper)
        }
        if cursor < end, let value = transform(nil) {
            Self.append(Extent(start: cursor, end: end, value: value), to: &pieces)
        }
        guard !pieces.isEmpty || removedPages > 0 else { return }
        let addedPages = pieces.reduce(0) { $0 + ($1.end - $1.start) }
        // removedPages <= totalPages, and the result counts distinct pages below UInt64.max.
        totalPages = totalPages - removedPages + addedPages
        // Merge with the untouched neighbours: before, pieces start at or after the end of the
        // preceding extent, and end at or before the start of the following one.
        if let first = pieces.first, let before = preceding(lower) {
            let extent = extent(at: before)
            if extent.end == first.start, extent.value == first.value {
                pieces[0].start = extent.start
                lower = before
            }
        }
        if let last = pieces.last, upper.chunk < chunks.count {
            let extent = extent(at: upper)
            if last.end == extent.start, last.value == extent.value {
                pieces[pieces.count - 1].end = extent.end
                upper = advanced(upper)
            }
        }
        replace(from: lower, to: upper, with: pieces)
    }

    /// Replaces the extents in `[lower, upper)` with `pieces`, keeping the chunks non-empty and
    /// at most `chunkCapacity` long.
    private mutating func replace(from lower: Position, to upper: Position, with pieces: [Extent]) {
        var lower = lower
        var upper = upper
        var replaced = 0
        if lower.chunk == upper.chunk {
            replaced = upper.index - lower.index
        } else {
            replaced = chunks[lower.chunk].count - lower.index + upper.index
            for chunk in (lower.chunk + 1)..<min(upper.chunk, chunks.count) { replaced += chunks[chunk].count }
        }
        extentCount += pieces.count - replaced
        guard !chunks.isEmpty else {
            insertChunks(splitting: pieces, at: 0)
            return
        }
        // Past the end means after the last chunk's last extent.
        let lastChunk = chunks.count - 1
        if lower.chunk == chunks.count { lower = Position(chunk: lastChunk, index: chunks[lastChunk].count) }
        if upper.chunk == chunks.count { upper = Position(chunk: lastChunk, index: chunks[lastChunk].count) }
        if lower.chunk == upper.chunk {
            chunks[lower.chunk].replaceSubrange(lower.index..<upper.index, with: pieces)
            normalize(lower.chunk)
        } else {
            chunks[lower.chunk].replaceSubrange(lower.index..., with: pieces)
            chunks[upper.chunk].removeSubrange(..<upper.index)
            chunks.removeSubrange((lower.chunk + 1)..<upper.chunk)
            normalize(lower.chunk + 1)
            normalize(lower.chunk)
        }
    }

    /// Removes chunk `index` when empty, splits it when over capacity, and merges it into a
    /// neighbour when it is under a quarter full and both fit in one chunk.
    private mutating func normalize(_ index: Int) {
        guard index < chunks.count else { return }
        let count = chunks[index].count
        let capacity = chunkCapacity
        if count == 0 {
            chunks.remove(at: index)
        } else if count > capacity {
            let chunk = chunks[index]
            chunks.remove(at: index)
            insertChunks(splitting: chunk, at: index)
        } else if count < capacity / 4 {
            if index + 1 < chunks.count, count + chunks[index + 1].count <= capacity {
                let next = chunks.remove(at: index + 1)
                chunks[index].append(contentsOf: next)
            } else if index > 0, count + chunks[index - 1].count <= capacity {
                let chunk = chunks.remove(at: index)
                chunks[index - 1].append(contentsOf: chunk)
            }
        }
    }

    /// Inserts `extents` at chunk index `index` as chunks of at most half the capacity.
    private mutating func insertChunks(splitting extents: [Extent], at index: Int) {
        guard !extents.isEmpty else { return }
        let size = chunkCapacity / 2
        var parts: [[Extent]] = []
        parts.reserveCapacity((extents.count + size - 1) / size)
        var from = 0
        while from < extents.count {
            let to = min(from + size, extents.count)
            parts.append(Array(extents[from..<to]))
            from = to
        }
        chunks.insert(contentsOf: parts, at: index)
    }

    /// Whether two maps have the same extents, however they are split into chunks.
    public static func == (lhs: PageMap, rhs: PageMap) -> Bool {
        guard lhs.totalPages == rhs.totalPages, lhs.extentCount == rhs.extentCount else { return false }
        var left = Position(chunk: 0, index: 0)
        var right = Position(chunk: 0, index: 0)
        while left.chunk < lhs.chunks.count {
            guard lhs.extent(at: left) == rhs.extent(at: right) else { return false }
            left = lhs.advanced(left)
            right = rhs.advanced(right)
        }
        return true
    }

    /// Hashes the sequence of extents (as `[Extent]` would), however they are split into chunks.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(extentCount)
        for chunk in chunks {
            for extent in chunk { hasher.combine(extent) }
        }
    }
}
