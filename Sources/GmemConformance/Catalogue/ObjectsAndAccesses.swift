extension Catalogue {
    /// Every kind of object the language names, and host and guest accesses at any offset,
    /// width and guest-physical address the probe reaches.
    static let objectsAndAccesses = """
        scenario c5-stat-every-kind rules=C5
        kvm K
        vm A K
        vcpu C A
        stats S A
        gmem F A size=16K
        memfd M size=12K
        dup D F
        stat F -> stat type=reg mode=600 size=16384 blksize=4096 cloexec=0
        stat D -> stat type=reg size=16384 cloexec=1 ino=same:F
        stat M -> stat type=reg size=12288 ino=different:F
        stat A -> stat size=0 cloexec=1 ino=same:C
        stat S -> stat size=0 ino=same:A
        stat K -> stat type=chr size=0 cloexec=1 ino=different:A
        close D
        stat D -> EBADF

        scenario c-create-vm-through-a-descriptor rules=C1
        kvm K
        vm A K -> ok
        vm B A -> ENOTTY
        vcpu C A
        vm V C -> EINVAL
        raw N fd=-1
        vm W N -> EBADF
        gmem F A size=4K
        vm X F -> ENOTTY

        scenario c2-capabilities rules=C2
        kvm K
        vm A K
        cap K guest_memfd -> value 1
        cap A guest_memfd -> value 1
        cap A user_memory2 -> value 1
        cap A 0x100000000 -> value 0
        vcpu C A
        cap C guest_memfd -> EINVAL
        gmem F A size=4K
        cap F guest_memfd -> ENOTTY

        scenario b4-bind-standard-input rules=B4
        vm A
        raw Z fd=0
        region A slot=0 size=4K file=Z -> EINVAL
        raw N fd=-1
        region A slot=1 size=4K file=N -> EBADF
        raw Y fd=1000000
        region A slot=2 size=4K file=Y -> EBADF

        scenario f-memfd-is-an-ordinary-file rules=F1
        memfd M size=8K
        fileop M write -> ok
        fileop M read -> ok
        fileop M lseek -> ok
        fileop M pread -> ok
        stat M -> stat size=8192 mode=777
        fileop M fchmod -> ok
        stat M -> stat mode=600
        fallocate M mode=0 offset=8K len=4K -> ok
        stat M -> stat size=12288
        fallocate M mode=allocate offset=64K len=4K -> ok
        stat M -> stat size=12288
        fallocate M mode=0x10 len=4K -> EOPNOTSUPP
        fileop M ftruncate -> ok
        stat M -> stat size=0

        scenario f2-kvm-files rules=F2
        vm A
        vcpu C A
        stats S A
        kvm K
        fileop A lseek -> ok
        fileop S read -> ok
        fileop S write -> EBADF
        fileop A fchmod -> EOPNOTSUPP
        fileop K read -> EINVAL
        fallocate A len=4K -> ENODEV
        fallocate S len=4K -> EBADF
        fallocate K len=4K -> ENODEV

        scenario m-host-access-widths rules=M3
        vm A
        gmem F A size=8K flags=mmap|init_shared
        mmap P F len=8K
        write P offset=4094 width=4 value=0x11223344 -> ok
        read P offset=4094 width=2 -> value 0x3344
        read P offset=4096 width=1 -> value 0x22
        read P offset=4097 width=1 -> value 0x11
        read P offset=4094 width=4 -> value 0x11223344
        write P offset=8190 width=4 value=1 -> SIGSEGV
        read P offset=8190 width=2 -> value 0
        write P offset=8 width=8 value=0xFFFFFFFFFFFFFFFF -> ok
        read P offset=12 width=4 -> value 0xFFFFFFFF

        scenario m-mmap-of-every-kind rules=M1
        vm A
        vcpu C A
        stats S A
        kvm K
        memfd M size=8K
        mmap P A len=4K -> ENODEV
        mmap Q A len=0 -> EINVAL
        mmap R S len=4K -> EACCES
        mmap T S prot=r len=4K -> ENODEV
        mmap U K len=4K -> ENODEV
        mmap V C len=4K -> ok
        mmap W M len=8K flags=private -> ok
        write W value=9 -> ok
        mmap X M len=8K -> ok
        read X -> value 0
        read W -> value 9
        mmap Y M prot=x len=4K -> ok

        scenario m-munmap-and-madvise rules=M5
        vm A
        gmem F A size=16K flags=mmap|init_shared
        mmap P F len=8K
        write P offset=4K value=3
        madvise P len=8K advice=dontneed -> ok
        read P offset=4K -> value 3
        madvise P len=16K advice=dontneed -> ENOMEM
        madvise P len=4K advice=free -> EINVAL
        madvise P offset=4K len=4K advice=remove -> ok
        read P offset=4K -> value 0
        munmap P offset=4K len=1M -> ok
        read P offset=4K -> SIGSEGV
        read P -> value 0
        munmap P offset=1 len=4K -> EINVAL
        munmap P len=0 -> EINVAL

        scenario g1-guest-above-4g rules=G1
        vm A
        gmem F A size=16K flags=mmap|init_shared
        region A slot=0 gpa=0x100000000 size=16K file=F
        guest A gpa=0x100000000 write=5 -> written
        guest A gpa=0x100001000 read -> value 0
        mmap P F len=16K
        read P -> value 5
        vcpu C A
        guest C gpa=0x100000000 read -> value 5
        guest C gpa=0x200000000 read -> mmio
        guest A gpa=0xF00000000 read -> mmio

        scenario b-memslot-limits rules=B2
        vm A
        region A slot=32764 size=4K uaddr=0x7000000000 -> EINVAL
        region A slot=0xFFFFFFFF size=4K uaddr=0x7000000000 -> EINVAL
        vcpu C A id=0x100000000 -> EINVAL
        vcpu D A id=16384 -> EINVAL
        raw Z fd=0
        fileop A read -> EINVAL
        """
}
