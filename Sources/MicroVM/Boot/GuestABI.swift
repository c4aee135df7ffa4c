import KVM

/// The contract between the VMM and a guest image (Guests/README.md): memory layout,
/// entry registers and I/O ports.
public enum GuestABI {
    /// GPA 0 ..< `imageBase` belongs to the VMM: the long-mode tables (`KVM.LongMode`,
    /// `LongMode.tablesSize` bytes at GPA 0).
    public static let imageBase: UInt64 = 0x20_0000

    /// Each vCPU's stack: vCPU i's top is `memorySize - i * stackSize`.
    public static let stackSize: UInt64 = LongMode.stackSize
    /// Memory sizes the VMM accepts: 2 MiB pages, one page directory per GiB.
    public static let minimumMemory: UInt64 = 4 << 20
    /// The most memory a guest may have: 4 GiB.
    public static let maximumMemory: UInt64 = 4 << 30
    /// Memory sizes are multiples of this: 2 MiB, one large page of the identity map.
    public static let memoryGranule: UInt64 = 2 << 20

    /// The I/O ports of the VMM's devices.
    public enum Port {
        /// `outb`: one byte of console output.
        public static let console: UInt16 = 0x3F8
        /// `outl`: the vCPU's exit status (0 = success).
        public static let exit: UInt16 = 0xF4
        /// `outl`: the GPA of a 32-byte memory request block.
        public static let memoryRequest: UInt16 = 0x510
        /// `inl`: the guest's parameter.
        public static let parameter: UInt16 = 0x511
        /// `outl`: one ping (exit round trip).
        public static let ping: UInt16 = 0x512
        /// `outl`: a pass over memory is done.
        public static let passDone: UInt16 = 0x513
        /// `outl`: the guest asks for a snapshot of itself now (the value is a tag kept in the
        /// snapshot). Under `gmem run --snapshot FILE` the VMM pauses every vCPU after this
        /// exit, writes the snapshot and resumes; otherwise the request is only counted.
        public static let snapshot: UInt16 = 0x514

        /// Every port by name: the table the guest runtime's copy (Guests/Runtime/Ports.swift,
        /// which Embedded Swift guests compile without MicroVM) is checked against.
        public static let all: [String: UInt16] = [
            "console": console, "exit": exit, "memoryRequest": memoryRequest, "parameter": parameter,
            "ping": ping, "passDone": passDone, "snapshot": snapshot,
        ]
    }
}
