import CBaseline
import KVM

/// One side of the populate figure: a guest_memfd with its shared mapping, whose ranges are
/// allocated, first-touched (one byte per page) and punched, each call timed in nanoseconds.
/// `gmem bench` interleaves the two sides chunk by chunk, so both draw pages from the same
/// host state (on the reference host the first write to a page is bimodal: BENCHMARKS.md).
public protocol PopulateSide: AnyObject {
    func allocate(offset: UInt64, length: UInt64) throws -> UInt64
    func touch(offset: UInt64, length: UInt64) throws -> UInt64
    func punch(offset: UInt64, length: UInt64) throws -> UInt64
}

/// The Swift side: GmemKit's `GuestMemfd` and its bounds-checked `HostMapping`.
public final class GmemKitPopulateFile: PopulateSide {
    let kvm: KVMSystem
    let vm: VirtualMachine
    let file: GuestMemfd
    let mapping: HostMapping

    public init(size: UInt64) throws {
        kvm = try KVMSystem()
        vm = try kvm.createVM()
        file = try vm.createGuestMemfd(size: size, flags: .hostShared)
        mapping = try file.mapShared()
    }

    public func allocate(offset: UInt64, length: UInt64) throws -> UInt64 {
        let start = ContinuousClock.now
        try file.allocate(offset: offset, length: length)
        return Self.nanoseconds(since: start)
    }

    public func touch(offset: UInt64, length: UInt64) throws -> UInt64 {
        let start = ContinuousClock.now
        var at = offset
        while at < offset + length {
            try mapping.store(UInt8(1), at: at)
            at += HostMapping.pageSize
        }
        return Self.nanoseconds(since: start)
    }

    public func punch(offset: UInt64, length: UInt64) throws -> UInt64 {
        let start = ContinuousClock.now
        try file.punchHole(offset: offset, length: length)
        return Self.nanoseconds(since: start)
    }

    static func nanoseconds(since start: ContinuousClock.Instant) -> UInt64 {
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}

/// The C side: the same calls as plain C (`cb_gmem_*` in Sources/CBaseline), timed in C.
///
/// `@safe`: the C handle holds the guest_memfd and its mapping's base address; only the C
/// functions below read it, each bounds-checking against `handle.size` (touch is checked here
/// first too), and it is closed once, in deinit.
@safe public final class CBaselinePopulateFile: PopulateSide {
    // SAFETY: a zeroed handle (no descriptor, no mapping) until cb_gmem_open fills it.
    private var handle = unsafe cb_gmem()

    public init(size: UInt64) throws(BenchError) {
        // SAFETY: `&handle` is this object's stored handle, which cb_gmem_open fills; C keeps
        // no pointer to the handle itself.
        let rc = unsafe cb_gmem_open(size, &handle)
        guard rc == 0 else { throw BenchError("the C populate baseline could not open a guest_memfd (errno \(-rc))") }
    }

    // SAFETY: the handle was opened in init (or left zeroed, which cb_gmem_close accepts) and
    // nothing can use it after deinit.
    deinit { unsafe cb_gmem_close(&handle) }

    public func allocate(offset: UInt64, length: UInt64) throws -> UInt64 {
        var ns: UInt64 = 0
        // SAFETY: the handle is open (init) and `&ns` is a local; C keeps neither pointer.
        let rc = unsafe cb_gmem_allocate(&handle, offset, length, &ns)
        guard rc == 0 else { throw BenchError("the C baseline's fallocate failed (errno \(-rc))") }
        return ns
    }

    public func touch(offset: UInt64, length: UInt64) throws -> UInt64 {
        // SAFETY: reads the handle's size field, a plain integer set by cb_gmem_open.
        let size = unsafe handle.size
        precondition(offset <= size && length <= size - offset, "touch outside the C baseline's mapping")
        var ns: UInt64 = 0
        // SAFETY: [offset, offset + length) is inside the C mapping (the precondition above);
        // the handle is open and `&ns` is a local; C keeps neither pointer.
        unsafe cb_gmem_touch(&handle, offset, length, &ns)
        return ns
    }

    public func punch(offset: UInt64, length: UInt64) throws -> UInt64 {
        var ns: UInt64 = 0
        // SAFETY: the handle is open (init) and `&ns` is a local; C keeps neither pointer.
        let rc = unsafe cb_gmem_punch(&handle, offset, length, &ns)
        guard rc == 0 else { throw BenchError("the C baseline's punch failed (errno \(-rc))") }
        return ns
    }
}

/// Runs the three phases over `size` bytes on both sides, `chunk` bytes at a time, side by
/// side: allocate chunk 0 on one side then the other, chunk 1 the other way round, and so on;
/// then the touches, then the punches. Returns the total ns per phase of each side.
public func populateInterleaved(_ first: PopulateSide, _ second: PopulateSide, size: UInt64, chunk: UInt64)
    throws -> (first: [UInt64], second: [UInt64])
{
    var a: [UInt64] = [0, 0, 0]
    var b: [UInt64] = [0, 0, 0]
    let phases: [(PopulateSide, UInt64, UInt64) throws -> UInt64] = [
        { try $0.allocate(offset: $1, length: $2) },
        { try $0.touch(offset: $1, length: $2) },
        { try $0.punch(offset: $1, length: $2) },
    ]
    for (phase, run) in phases.enumerated() {
        var offset: UInt64 = 0
        var index = 0
        while offset < size {
            let length = min(chunk, size - offset)
            if index.isMultiple(of: 2) {
                a[phase] += try run(first, offset, length)
                b[phase] += try run(second, offset, length)
            } else {
                b[phase] += try run(second, offset, length)
                a[phase] += try run(first, offset, length)
            }
            offset += length
            index += 1
        }
    }
    return (a, b)
}
