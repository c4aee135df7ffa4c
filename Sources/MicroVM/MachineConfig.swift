import KVM

/// What to boot and how: a value, validated by `validate()` before anything is created.
public struct MachineConfig: Sendable {
    /// A name for the guest, used in reports.
    public var name: String
    /// The guest image: a static x86-64 ELF64 executable following `GuestABI`. Ignored when
    /// `parsedImage` is set.
    public var image: [UInt8]
    /// The guest image already parsed, e.g. by `ELFImage.load(path:memorySize:vcpus:)`, which
    /// reads from a file only what the guest can hold; when set, `image` is not used.
    public var parsedImage: ELFImage?
    /// Guest RAM in bytes: a multiple of 2 MiB from 4 MiB to 4 GiB, all of it guest_memfd.
    public var memorySize: UInt64
    /// Number of vCPUs (1 … 64); vCPU 0's exit status is the VM's.
    public var vcpus: Int
    /// Wall-clock limit of the run; the run stops with `.timeout` after it.
    public var timeout: Duration
    /// The value the guest reads from the parameter port (`GuestABI.Port.parameter`).
    public var parameter: UInt32
    /// Sizes of further regions, each its own guest_memfd and memslot, placed one after the
    /// other from the end of RAM (named "extra1", "extra2" …). Each a multiple of 2 MiB.
    public var extraRegions: [UInt64] = []
    /// The guest_memfd flags of the extra regions (RAM is always `MMAP|INIT_SHARED`, since
    /// the VMM writes the tables and the image through it). Without `MMAP|INIT_SHARED` an
    /// extra region's shared side is anonymous host memory (GMEM-SPEC B10).
    public var extraRegionFlags: GuestMemfdFlags = .hostShared
    /// Adjusts each vCPU's entry registers (vCPU index, registers) after the ABI's defaults
    /// are set: for fuzzing with random register states. nil leaves the ABI's values.
    public var adjustEntryRegisters: (@Sendable (Int, inout Registers) -> Void)?
    /// At most this many console bytes are kept in the report (all are passed to the sink).
    public var consoleLimit: Int
    /// Whether the report measures each region's resident bytes at exit (`RunReport.memory`):
    /// `mincore` over all guest memory, about 50 µs per 4 MiB on the reference host (a tenth
    /// of a whole 4 MiB cold start, 50 ms for 4 GiB), so off unless asked for.
    public var measuresResidency = false

    /// A configuration; ``validate()`` checks it (``Machine`` calls it first).
    /// - Parameters:
    ///   - name: The guest's name, for reports and logs.
    ///   - image: The guest's ELF image (static x86-64 ELF64).
    ///   - memorySize: RAM in bytes (a multiple of 2 MiB, 4 MiB to 4 GiB).
    ///   - vcpus: 1 to 64.
    ///   - timeout: The run's wall-clock limit.
    ///   - parameter: The value the guest reads from `GuestABI.Port.parameter`.
    ///   - consoleLimit: At most this many console bytes are kept in the report.
    public init(
        name: String = "guest", image: [UInt8], memorySize: UInt64 = 16 << 20, vcpus: Int = 1,
        timeout: Duration = .seconds(30), parameter: UInt32 = 1, consoleLimit: Int = 1 << 20
    ) {
        self.name = name
        self.image = image
        self.memorySize = memorySize
        self.vcpus = vcpus
        self.timeout = timeout
        self.parameter = parameter
        self.consoleLimit = consoleLimit
    }

    /// A configuration for an image that is already parsed (`parsedImage`).
    public init(
        name: String = "guest", parsedImage: ELFImage, memorySize: UInt64 = 16 << 20, vcpus: Int = 1,
        timeout: Duration = .seconds(30), parameter: UInt32 = 1, consoleLimit: Int = 1 << 20
    ) {
        self.init(
            name: name, image: [], memorySize: memorySize, vcpus: vcpus, timeout: timeout,
            parameter: parameter, consoleLimit: consoleLimit)
        self.parsedImage = parsedImage
    }

    /// The end of the last region: RAM, then the extra regions; `UInt64.max` when the sizes
    /// add up past 2^64 (which `validate()` refuses).
    public var addressSpaceEnd: UInt64 {
        var end = memorySize
        for size in extraRegions {
            let (sum, overflow) = end.addingReportingOverflow(size)
            if overflow { return .max }
            end = sum
        }
        return end
    }

    /// Checks the values; throws `MachineError.invalidConfiguration` naming the first bad one.
    /// - Throws: ``MachineError`` `invalidConfiguration` naming the first value out of range.
    public func validate() throws(MachineError) {
        guard memorySize >= GuestABI.minimumMemory, memorySize <= GuestABI.maximumMemory,
            memorySize % GuestABI.memoryGranule == 0
        else {
            throw .invalidConfiguration(
                "memory must be a multiple of 2 MiB between 4 MiB and 4 GiB (got \(memorySize) bytes)")
        }
        guard (1...64).contains(vcpus) else {
            throw .invalidConfiguration("vCPUs must be between 1 and 64 (got \(vcpus))")
        }
        guard UInt64(vcpus) * GuestABI.stackSize + GuestABI.imageBase < memorySize else {
            throw .invalidConfiguration(
                "\(vcpus) vCPU stacks of 64 KiB leave no room for the image in \(memorySize) bytes")
        }
        guard timeout > .zero else { throw .invalidConfiguration("the timeout must be positive") }
        for size in extraRegions where size == 0 || size % GuestABI.memoryGranule != 0 {
            throw .invalidConfiguration("extra regions must be non-empty multiples of 2 MiB (got \(size) bytes)")
        }
        guard addressSpaceEnd <= GuestABI.maximumMemory else {
            throw .invalidConfiguration("RAM and extra regions together exceed 4 GiB")
        }
        guard consoleLimit >= 0 else {
            throw .invalidConfiguration("the console limit must not be negative (got \(consoleLimit))")
        }
    }
}
