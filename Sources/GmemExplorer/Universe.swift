import GmemModel

/// The bounded universe a search runs in: how many VMs, files and memslots userspace may
/// create, how big a file is, and how many operations a sequence may have.
public struct Universe: Hashable, Sendable, CustomStringConvertible {
    /// VMs userspace may create (named A, B, …).
    public var vms: Int
    /// guest_memfd files userspace may create (named F, G, …).
    public var files: Int
    /// Memslot numbers per VM (0 ..< slots).
    public var slots: Int
    /// Pages per file; a binding always covers the whole file.
    public var pagesPerFile: Int
    /// The longest operation sequence searched.
    public var depth: Int
    /// The readings of the design the verdicts may rest on (default: the kernel's).
    public var choices: ModellingChoices

    /// The bound: 2 VMs, 2 files, 2 slots, 2 pages, depth 10.
    public static let standard = Universe(vms: 2, files: 2, slots: 2, pagesPerFile: 2, depth: 10)

    public init(
        vms: Int = 2, files: Int = 2, slots: Int = 2, pagesPerFile: Int = 2, depth: Int = 10,
        choices: ModellingChoices = .kernel
    ) {
        self.choices = choices
        self.vms = vms
        self.files = files
        self.slots = slots
        self.pagesPerFile = pagesPerFile
        self.depth = depth
    }

    /// Why this universe cannot be searched, or nil when it can.
    public var problem: String? {
        if !(1...4).contains(vms) { return "VMs must be 1 to 4 (got \(vms))" }
        if !(1...4).contains(files) { return "files must be 1 to 4 (got \(files))" }
        if !(1...4).contains(slots) { return "memslots must be 1 to 4 (got \(slots))" }
        if !(1...8).contains(pagesPerFile) { return "pages per file must be 1 to 8 (got \(pagesPerFile))" }
        if !(0...24).contains(depth) { return "depth must be 0 to 24 (got \(depth))" }
        return nil
    }

    /// The size of every file, in bytes.
    public var fileSize: UInt64 { UInt64(pagesPerFile) << GmemABI.pageShift }

    /// Where memslot `slot` starts in guest-physical memory: 1 MiB apart, so slot 0 is at 0.
    public func guestPhysicalAddress(slot: Int, page: Int = 0) -> UInt64 {
        UInt64(slot) << 20 + UInt64(page) << GmemABI.pageShift
    }

    public var description: String {
        "\(vms) VMs, \(files) files, \(slots) memslots, \(pagesPerFile) pages, depth \(depth)"
            + (choices.isKernel ? "" : " (\(choices))")
    }
}
