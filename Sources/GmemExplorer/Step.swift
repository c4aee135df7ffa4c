/// One userspace operation the explorer may take, over objects named in creation order:
/// VMs `A`, `B`, … and guest_memfd files `F`, `G`, ….
///
/// The universe is deliberately the one the design thread argues about: VMs, files, memslots
/// that bind a whole file, closing descriptors, and guests writing their secret and reading.
public enum ExplorerStep: Hashable, Sendable, CustomStringConvertible {
    /// `KVM_CREATE_VM`: the next VM.
    case createVM(vm: Int)
    /// `KVM_CREATE_GUEST_MEMFD` on `vm`'s fd: the next file.
    case createFile(file: Int, vm: Int)
    /// `KVM_SET_USER_MEMORY_REGION2`: bind all of `file` as memslot `slot` of `vm`.
    case bind(vm: Int, slot: Int, file: Int)
    /// `KVM_SET_USER_MEMORY_REGION2` with size 0: delete memslot `slot` of `vm`.
    case deleteSlot(vm: Int, slot: Int)
    /// `close()` of `vm`'s fd.
    case closeVM(vm: Int)
    /// `close()` of `file`'s fd.
    case closeFile(file: Int)
    /// `vm`'s guest writes its secret to page `page` of memslot `slot`.
    case guestWrite(vm: Int, slot: Int, page: Int)
    /// `vm`'s guest reads page `page` of memslot `slot`.
    case guestRead(vm: Int, slot: Int, page: Int)

    /// The name of the `index`-th VM created: `A`, `B`, ….
    public static func vmName(_ index: Int) -> String { letter(index, from: "A") }
    /// The name of the `index`-th file created: `F`, `G`, ….
    public static func fileName(_ index: Int) -> String { letter(index, from: "F") }

    private static func letter(_ index: Int, from first: Unicode.Scalar) -> String {
        String(Character(Unicode.Scalar(first.value + UInt32(index))!))
    }

    /// The content token the `vm`-th VM's guest writes: recognisably its own (`0x5ec1` for A).
    public static func secret(ofVM vm: Int) -> UInt64 { 0x5EC0 + UInt64(vm) + 1 }

    /// The VM whose secret `token` is, or nil for zero and other values.
    public static func writer(of token: UInt64) -> Int? {
        token > 0x5EC0 && token <= 0x5EC0 + 26 ? Int(token - 0x5EC0 - 1) : nil
    }

    public var description: String {
        let vm = Self.vmName
        let file = Self.fileName
        switch self {
        case .createVM(let v): return "create VM \(vm(v))"
        case .createFile(let f, let v): return "create guest_memfd \(file(f)) from VM \(vm(v))"
        case .bind(let v, let s, let f): return "bind \(file(f)) into VM \(vm(v)) as memslot \(s)"
        case .deleteSlot(let v, let s): return "delete memslot \(s) of VM \(vm(v))"
        case .closeVM(let v): return "close VM \(vm(v))'s fd"
        case .closeFile(let f): return "close \(file(f))'s fd"
        case .guestWrite(let v, let s, let p):
            return "VM \(vm(v))'s guest writes its secret \(hex(Self.secret(ofVM: v))) to page \(p) of memslot \(s)"
        case .guestRead(let v, let s, let p): return "VM \(vm(v))'s guest reads page \(p) of memslot \(s)"
        }
    }
}

func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
