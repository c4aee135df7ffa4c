/// A small deterministic generator for the property tests (SplitMix64).
public struct TestRandom {
    public var state: UInt64
    /// A generator starting from `state`.
    public init(state: UInt64) { self.state = state }
    /// The next value.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
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
