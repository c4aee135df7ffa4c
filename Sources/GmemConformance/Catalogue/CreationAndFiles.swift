extension Catalogue {
    /// GMEM-SPEC sections C (creation) and F (file operations).
    static let creationAndFiles = """
        scenario c1-size-zero rules=C1
        vm A
        gmem F A size=0 -> EINVAL

        scenario c1-size-not-page-multiple rules=C1
        vm A
        gmem F A size=1 -> EINVAL
        gmem F A size=4097 -> EINVAL
        gmem F A size=12K -> ok

        scenario c1-size-one-page rules=C1
        vm A
        gmem F A size=4K flags=mmap|init_shared -> ok
        mmap P F len=4K -> ok
        read P -> value 0

        scenario c2-unknown-flag rules=C2
        vm A
        gmem F A size=4K flags=4 -> EINVAL
        gmem F A size=4K flags=0x8000000000000000 -> EINVAL
        gmem F A size=4K flags=7 -> EINVAL

        scenario c2-supported-flags rules=C2
        vm A
        gmem F A size=4K flags=mmap|init_shared -> ok
        gmem G A size=4K flags=mmap -> ok
        gmem H A size=4K flags=0 -> ok

        scenario c3-reserved-not-checked rules=C3
        vm A
        gmem F A size=4K flags=mmap|init_shared reserved=0xdead -> ok

        scenario c4-init-shared-without-mmap rules=C4,M1
        vm A
        gmem F A size=16K flags=init_shared -> ok
        mmap P F len=16K -> ENODEV

        scenario c5-fstat rules=C5
        vm A
        gmem F A size=16K flags=mmap|init_shared
        stat F -> stat mode=600 size=16384 cloexec=0

        scenario c6-no-reopen rules=C6
        vm A
        gmem F A size=4K
        reopen R F -> ENXIO

        scenario c7-each-creation-new-memory rules=C7
        vm A
        gmem F A size=4K flags=mmap|init_shared
        gmem G A size=4K flags=mmap|init_shared
        mmap P F len=4K
        mmap Q G len=4K
        write P value=41
        read Q -> value 0
        read P -> value 41

        scenario c-closed-vm-fd rules=C1
        vm A
        close A
        gmem F A size=4K -> EBADF

        scenario f1-read-write rules=F1
        vm A
        gmem F A size=16K
        fileop F read -> EINVAL
        fileop F write -> EINVAL

        scenario f1-positional rules=F1
        vm A
        gmem F A size=16K
        fileop F pread -> ESPIPE
        fileop F pwrite -> ESPIPE
        fileop F lseek -> ESPIPE

        scenario f2-size-fixed rules=F2
        vm A
        gmem F A size=16K
        fileop F ftruncate -> EINVAL
        fileop F fsync -> EINVAL
        fileop F fchmod -> EINVAL
        stat F -> stat mode=600 size=16384 cloexec=0

        scenario f3-accepted-modes rules=F3
        vm A
        gmem F A size=16K
        fallocate F mode=allocate offset=0 len=16K -> ok
        fallocate F mode=punch offset=0 len=16K -> ok

        scenario f3-other-modes rules=F3
        vm A
        gmem F A size=16K
        fallocate F mode=0 offset=0 len=4K -> EOPNOTSUPP
        fallocate F mode=2 offset=0 len=4K -> EOPNOTSUPP
        fallocate F mode=0x10 offset=0 len=4K -> EOPNOTSUPP
        fallocate F mode=0x11 offset=0 len=4K -> EOPNOTSUPP
        fallocate F mode=0x8 offset=0 len=4K -> EOPNOTSUPP

        scenario f4-alignment rules=F4
        vm A
        gmem F A size=16K
        fallocate F mode=allocate offset=1 len=4K -> EINVAL
        fallocate F mode=allocate offset=0 len=100 -> EINVAL
        fallocate F mode=punch offset=512 len=4K -> EINVAL
        fallocate F mode=punch offset=0 len=4095 -> EINVAL

        scenario f4-allocate-past-end rules=F4
        vm A
        gmem F A size=16K
        fallocate F mode=allocate offset=12K len=8K -> EINVAL
        fallocate F mode=allocate offset=16K len=4K -> EINVAL
        fallocate F mode=allocate offset=12K len=4K -> ok

        scenario f4-punch-past-end rules=F4
        vm A
        gmem F A size=16K
        fallocate F mode=punch offset=12K len=8K -> ok
        fallocate F mode=punch offset=1G len=4K -> ok

        scenario f4-zero-length rules=F4
        vm A
        gmem F A size=16K
        fallocate F mode=allocate offset=0 len=0 -> EINVAL
        fallocate F mode=punch offset=0 len=0 -> EINVAL

        scenario f5-allocated-pages-read-zero rules=F5
        vm A
        gmem F A size=64K flags=mmap|init_shared
        fallocate F mode=allocate offset=0 len=64K -> ok
        mmap P F len=64K
        read P offset=60K -> value 0

        scenario f6-punched-page-reads-zero rules=F6
        vm A
        gmem F A size=16K flags=mmap|init_shared
        mmap P F len=16K
        write P value=7
        read P -> value 7
        fallocate F mode=punch offset=0 len=4K -> ok
        read P -> value 0
        write P value=9
        read P -> value 9

        scenario f6-punch-leaves-neighbours rules=F6
        vm A
        gmem F A size=16K flags=mmap|init_shared
        mmap P F len=16K
        write P offset=0 value=1
        write P offset=4K value=2
        write P offset=8K value=3
        fallocate F mode=punch offset=4K len=4K
        read P offset=0 -> value 1
        read P offset=4K -> value 0
        read P offset=8K -> value 3

        scenario f-closed-file rules=F3
        vm A
        gmem F A size=16K
        close F
        fallocate F mode=allocate offset=0 len=4K -> EBADF
        fileop F read -> EBADF
        """
}
