// Guest runtime: the port-I/O ABI between a guest and the GmemKit VMM.
//
// The instructions themselves live in entry.S (Embedded Swift has no inline
// assembly); these wrappers give them Swift names and types.

@_extern(c, "gmem_out8") func _out8(_ port: UInt16, _ value: UInt8)
@_extern(c, "gmem_out32") func _out32(_ port: UInt16, _ value: UInt32)
@_extern(c, "gmem_in32") func _in32(_ port: UInt16) -> UInt32
@_extern(c, "gmem_pause") func _pause()
@_extern(c, "gmem_image_end") func _imageEnd() -> UInt

/// The I/O ports the VMM implements.
enum Port {
    /// `outb`: one console byte.
    static let console: UInt16 = 0x3F8
    /// `outl`: exit with this status (0 = success). Written by entry.S.
    static let exit: UInt16 = 0xF4
    /// `outl`: guest-physical address (< 4 GiB) of a 32-byte memory request block.
    static let memoryRequest: UInt16 = 0x510
    /// `inl`: the 32-bit parameter the VMM supplies to this guest.
    static let parameter: UInt16 = 0x511
    /// `outl`: one ping; the VMM counts it and re-enters the guest.
    static let ping: UInt16 = 0x512
    /// `outl`: a pass of the `touch` guest finished (value = pass number).
    static let passDone: UInt16 = 0x513
    /// `outl`: ask the VMM for a snapshot of this machine now (value = a tag).
    static let snapshot: UInt16 = 0x514
}

/// Writes `value` to `port` with `outl`; exits to the VMM.
@inline(__always) func outl(_ port: UInt16, _ value: UInt32) { _out32(port, value) }

/// Writes `value` to `port` with `outb`; exits to the VMM.
@inline(__always) func outb(_ port: UInt16, _ value: UInt8) { _out8(port, value) }

/// Reads 32 bits from `port` with `inl`; exits to the VMM.
@inline(__always) func inl(_ port: UInt16) -> UInt32 { _in32(port) }

/// Spin-loop hint (`pause`).
@inline(__always) func spinPause() { _pause() }

/// The guest parameter the VMM supplies on port 0x511.
func guestParameter() -> UInt32 { inl(Port.parameter) }
