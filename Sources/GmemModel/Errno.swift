/// An error number as the Linux x86-64 kernel reports it, without depending on swift-system.
///
/// Every model operation fails with exactly one of these; the raw values are Linux x86-64's.
public struct ModelErrno: Error, Hashable, Sendable, CustomStringConvertible {
    /// The numeric errno (Linux x86-64).
    public let rawValue: Int32

    /// Wraps a raw errno value; never fails.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Operation not permitted (e.g. `PROT_EXEC` on the noexec gmem mount).
    public static let EPERM = ModelErrno(rawValue: 1)
    /// No such file (reopening a closed fd through /proc).
    public static let ENOENT = ModelErrno(rawValue: 2)
    /// I/O error.
    public static let EIO = ModelErrno(rawValue: 5)
    /// No such device or address (reopening a guest_memfd, C6).
    public static let ENXIO = ModelErrno(rawValue: 6)
    /// Bad file descriptor (closed fd).
    public static let EBADF = ModelErrno(rawValue: 9)
    /// Try again (a conversion to private while the host holds a page pinned, GMEM-SPEC V4).
    public static let EAGAIN = ModelErrno(rawValue: 11)
    /// Out of memory (or of address space for a mapping).
    public static let ENOMEM = ModelErrno(rawValue: 12)
    /// Permission denied.
    public static let EACCES = ModelErrno(rawValue: 13)
    /// Bad address (`KVM_RUN` with a memory-fault exit).
    public static let EFAULT = ModelErrno(rawValue: 14)
    /// Already exists (overlapping guest physical ranges, duplicate vCPU id).
    public static let EEXIST = ModelErrno(rawValue: 17)
    /// No such device (mmap without `MMAP`, fallocate on a non-regular file).
    public static let ENODEV = ModelErrno(rawValue: 19)
    /// Invalid argument: the contract's most common refusal.
    public static let EINVAL = ModelErrno(rawValue: 22)
    /// Too many open files (the process's fd limit).
    public static let EMFILE = ModelErrno(rawValue: 24)
    /// Inappropriate ioctl (unknown or unsupported ioctl, e.g. memory attributes on the reference host).
    public static let ENOTTY = ModelErrno(rawValue: 25)
    /// File too large (fallocate offset + length overflows).
    public static let EFBIG = ModelErrno(rawValue: 27)
    /// Illegal seek (pread, pwrite, lseek on a guest_memfd).
    public static let ESPIPE = ModelErrno(rawValue: 29)
    /// Value too large (mmap page offset overflows).
    public static let EOVERFLOW = ModelErrno(rawValue: 75)
    /// Operation not supported (fallocate modes other than the two accepted).
    public static let EOPNOTSUPP = ModelErrno(rawValue: 95)

    /// The symbolic name (`"EINVAL"`), or `"errno N"` for a value the model never produces.
    public var name: String {
        switch rawValue {
        case 1: "EPERM"
        case 2: "ENOENT"
        case 5: "EIO"
        case 6: "ENXIO"
        case 9: "EBADF"
        case 11: "EAGAIN"
        case 12: "ENOMEM"
        case 13: "EACCES"
        case 14: "EFAULT"
        case 17: "EEXIST"
        case 19: "ENODEV"
        case 22: "EINVAL"
        case 24: "EMFILE"
        case 25: "ENOTTY"
        case 27: "EFBIG"
        case 29: "ESPIPE"
        case 75: "EOVERFLOW"
        case 95: "EOPNOTSUPP"
        default: "errno \(rawValue)"
        }
    }

    /// The errno's name (`EINVAL`), or `errno N` for a number this type does not name.
    public var description: String { name }
}
