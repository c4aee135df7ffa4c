import KVM
import SystemPackage

// ELFError's text, apart from ELFImage.swift so that the loader itself imports only the C library
// (Scripts/fuzz-elf.sh compiles ELFImage.swift and HostFiles.swift alone): the errno's symbolic
// name comes from KVM's one table (`Errno.symbolicName`), as in every other error of the package.
extension ELFError: CustomStringConvertible {
    /// One line naming what is wrong with the image.
    public var description: String {
        switch self {
        case .notELF: "not an ELF file (bad magic number)"
        case .truncated(let what, let needed, let available):
            "truncated ELF: \(what) needs \(needed) bytes, the file has \(available)"
        case .unsupported(let what): "unsupported ELF: \(what)"
        case .malformed(let what): "malformed ELF: \(what)"
        case .noLoadableSegments: "malformed ELF: no PT_LOAD segment"
        case .doesNotFit(let what): "guest image does not fit: \(what)"
        case .unreadable(let path, let errno):
            "cannot read guest image \(path): \(Errno(rawValue: errno).symbolicName) (\(HostFile.describe(errno: errno)))"
        case .notRegularFile(let path): "guest image \(path) is not a regular file"
        }
    }
}
