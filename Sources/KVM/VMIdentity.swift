import Synchronization

/// The identity of a VM object created through GmemKit, unique within the process.
///
/// A guest_memfd remembers the identity of the VM that created it; binding it to any other
/// VM is refused before the syscall (GMEM-SPEC B5, P3).
public struct VMIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The number, counted from 1 in the order VMs were created.
    public let rawValue: UInt64

    private static let counter = Atomic<UInt64>(0)

    static func next() -> VMIdentity {
        VMIdentity(rawValue: counter.add(1, ordering: .relaxed).newValue)
    }

    /// `vm#N`.
    public var description: String { "vm#\(rawValue)" }
}
