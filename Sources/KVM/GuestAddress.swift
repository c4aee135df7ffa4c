/// A guest-physical address: the one address type of GmemKit's public API (memslots, memory
/// attributes, exits, GuestMemory's regions and MicroVM's reports). Host addresses are never
/// this type, and no safe API takes one as an integer.
///
/// An integer literal is a guest-physical address (`bind(…, guestPhysicalAddress: 0x10_0000, …)`);
/// a computed `UInt64` is converted with `GuestPhysicalAddress(value)`.
public struct GuestPhysicalAddress: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    /// The address as a number.
    public let rawValue: UInt64
    /// Any address.
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// Any address (unlabelled, as `GuestPhysicalAddress(0x10_0000)`).
    public init(_ value: UInt64) { self.rawValue = value }
    /// An address written as an integer literal (`guestPhysicalAddress: 0x10_0000`).
    public init(integerLiteral value: UInt64) { self.rawValue = value }

    /// Orders addresses numerically.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The address `offset` bytes further, or nil on overflow.
    public func advanced(by offset: UInt64) -> GuestPhysicalAddress? {
        let (sum, overflow) = rawValue.addingReportingOverflow(offset)
        return overflow ? nil : GuestPhysicalAddress(sum)
    }

    /// True when the address is a multiple of `alignment`; false for an alignment of 0.
    public func isAligned(to alignment: UInt64) -> Bool { alignment != 0 && rawValue % alignment == 0 }

    /// The address in hexadecimal (`0x100000`).
    public var description: String { "0x" + String(rawValue, radix: 16) }
}

/// A half-open guest-physical range `[start, start + size)`.
public struct GuestRange: Hashable, Sendable, CustomStringConvertible {
    /// The first address of the range.
    public let start: GuestPhysicalAddress
    /// The range's length in bytes (0 for an empty range).
    public let size: UInt64

    /// A range; any values (`end` saturates rather than wraps).
    public init(start: GuestPhysicalAddress, size: UInt64) {
        self.start = start
        self.size = size
    }

    /// The first address past the range (saturating at 2^64).
    public var end: UInt64 { start.rawValue.addingReportingOverflow(size).overflow ? .max : start.rawValue + size }

    /// True when `[address, address + count)` lies inside the range.
    public func contains(_ address: GuestPhysicalAddress, count: UInt64 = 1) -> Bool {
        guard address.rawValue >= start.rawValue else { return false }
        let offset = address.rawValue - start.rawValue
        return offset <= size && count <= size - offset
    }

    /// True when the two ranges share at least one byte.
    public func overlaps(_ other: GuestRange) -> Bool {
        start.rawValue < other.end && other.start.rawValue < end && size > 0 && other.size > 0
    }

    /// `[start, end)` in hexadecimal.
    public var description: String { "[\(start), 0x\(String(end, radix: 16)))" }
}
