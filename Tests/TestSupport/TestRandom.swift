import GmemModel

/// A small deterministic generator for the property tests: GmemModel's ``SplitMix64`` (the same
/// sequence for the same start), plus ``edgy()``.
public struct TestRandom {
    private var generator: SplitMix64
    /// A generator starting from `state` (SplitMix64's seed).
    public init(state: UInt64) { generator = SplitMix64(seed: state) }
    /// The next value.
    public mutating func next() -> UInt64 { generator.next() }
    /// A value biased to the edges: 0, small, page multiples, around powers of two and 2^64.
    public mutating func edgy() -> UInt64 {
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
