extension Catalogue {
    /// GMEM-SPEC sections L (lifetime), G (guest access) and A (memory attributes).
    static let lifetimeGuestAndAttributes = """
        scenario l1-file-pins-vm rules=L1
        vm A
        gmem F A size=16K
        close A
        alive A -> value 1
        close F
        alive A -> value 0

        scenario l1-vm-on-a-pinned-vm-fd-number rules=L1
        vm A
        gmem F A size=16K
        close A
        vm B
        alive A -> value 1
        close F
        alive A -> value 0
        alive B -> value 1

        scenario c-emfile-at-the-fd-limit rules=C1
        # limit fds=N: the scenario may hold N descriptors besides fds 0–2 (the kernel backend
        # sets RLIMIT_NOFILE net of gmem check's own); one more is EMFILE, checked first.
        vm A
        limit fds=3
        gmem F A size=4K
        kvm K
        memfd M size=4K -> EMFILE
        dup D A -> EMFILE
        vcpu C A -> EMFILE
        gmem G A size=4097 -> EINVAL
        close K
        memfd M2 size=4K -> ok
        limit fds=0
        vm B -> EMFILE
        limit fds=8
        vm B -> ok

        scenario l1-dup-pins-vm rules=L1
        vm A
        gmem F A size=16K
        dup G F
        close A
        close F
        alive A -> value 1
        close G
        alive A -> value 0

        scenario l2-vcpu-runs-after-vm-fd-closed rules=L2,G1
        vm A
        gmem F A size=16K flags=mmap|init_shared
        mmap P F len=16K
        write P value=3
        region A slot=0 gpa=0 size=16K file=F
        vcpu C A id=0
        close A
        guest C gpa=0 read -> value 3
        guest C gpa=4K write=4 -> written
        read P offset=4K -> value 4
        alive A -> value 1

        scenario l3-file-works-after-vm-fd-closed rules=L3
        vm A
        gmem F A size=16K flags=mmap|init_shared
        close A
        fallocate F mode=allocate offset=0 len=16K -> ok
        fallocate F mode=punch offset=0 len=4K -> ok
        mmap P F len=16K -> ok
        write P value=12 -> ok
        read P -> value 12

        scenario l4-memslots-do-not-pin-file rules=L4
        vm A
        gmem F A size=32K flags=mmap|init_shared
        mmap P F len=32K
        write P offset=20K value=2
        region A slot=0 gpa=0 size=16K file=F
        region A slot=1 gpa=16K size=16K file=F offset=16K
        delete A slot=0
        delete A slot=1
        read P offset=20K -> value 2
        region A slot=2 gpa=0 size=32K file=F -> ok

        scenario l5-release-keeps-memslot rules=L5,G2
        vm A
        gmem F A size=16K flags=mmap|init_shared
        region A slot=0 gpa=0x100000 size=16K file=F
        vcpu C A id=0
        guest C gpa=0x100000 write=5 -> written
        close F
        guest C gpa=0x100000 read -> fault gpa=0x100000
        region A slot=1 gpa=0x100000 size=4K uaddr=0x7000dead0000 -> EEXIST

        scenario l5-release-drops-vm-reference rules=L5
        vm A
        gmem F A size=16K
        region A slot=0 gpa=0 size=16K file=F
        close A
        alive A -> value 1
        close F
        alive A -> value 0

        scenario l6-vcpu-last-reference rules=L6,L2
        vm A
        vcpu C A id=0
        close A
        alive A -> value 1
        close C
        alive A -> value 0

        scenario l6-stats-fd-pins-vm rules=L6
        vm A
        stats S A
        close A
        alive A -> value 1
        close S
        alive A -> value 0

        scenario l6-every-reference rules=L6,L1
        vm A
        vcpu C A id=0
        gmem F A size=16K
        close A
        close C
        alive A -> value 1
        close F
        alive A -> value 0

        scenario g1-guest-and-host-share-file-data rules=G1,G4
        vm A
        gmem F A size=16K flags=mmap|init_shared
        mmap P F len=16K
        region A slot=0 gpa=0x100000 size=16K file=F
        write P offset=8K value=11
        guest A gpa=0x102000 read -> value 11
        guest A gpa=0x103000 write=12 -> written
        read P offset=12K -> value 12

        scenario g-without-mmap-shared-access-uses-userspace-addr rules=B10,G1
        # Without MMAP, a shared access is served from userspace_addr: 0 here, so KVM_RUN
        # fails with a bare EFAULT (no memory-fault information).
        vm A
        gmem F A size=16K
        region A slot=0 gpa=0x100000 size=16K file=F
        guest A gpa=0x100000 read -> efault

        scenario g1-no-memslot-is-mmio rules=G1
        vm A
        guest A gpa=0x300000 read -> mmio
        guest A gpa=0x300000 write=1 -> mmio

        scenario g2-released-file-faults-other-slots-work rules=G2,L5,G4
        # MMAP makes the memslots guest_memfd-only: shared accesses are served by the file
        # (without it they would go to userspace_addr, GMEM-SPEC B10).
        vm A
        gmem F A size=16K flags=mmap|init_shared
        gmem G A size=16K flags=mmap|init_shared
        region A slot=0 gpa=0x100000 size=16K file=F
        region A slot=1 gpa=0x200000 size=16K file=G
        guest A gpa=0x200000 write=21 -> written
        close F
        guest A gpa=0x101000 read -> fault gpa=0x101000
        guest A gpa=0x101000 write=1 -> fault gpa=0x101000
        guest A gpa=0x200000 read -> value 21

        scenario g2-fault-after-release-with-mapping-gone rules=G2,M5
        vm A
        gmem F A size=16K flags=mmap|init_shared
        mmap P F len=16K
        region A slot=0 gpa=0 size=16K file=F
        vcpu C A id=0
        guest C gpa=0 write=9 -> written
        close F
        guest C gpa=0 read -> value 9
        munmap P len=16K
        guest C gpa=0 read -> fault gpa=0

        scenario g3-private-attribute-mismatch rules=G3,A1,A2 requires=memory-attributes
        vm A type=1
        gmem F A size=16K flags=0
        anon U len=16K
        region A slot=0 gpa=0 size=16K file=F uaddr=U
        attrs A gpa=0 size=4K attrs=private -> ok
        guest A gpa=0 read -> fault gpa=0
        guest A gpa=0 write=3 private -> written
        guest A gpa=0 read private -> value 3

        scenario g3-private-access-without-gmem rules=G3 requires=memory-attributes
        vm A type=1
        anon U len=16K
        region A slot=0 gpa=0 size=16K uaddr=U
        attrs A gpa=0 size=16K attrs=private -> ok
        guest A gpa=0 read private -> fault gpa=0 flags=8

        scenario a1-attributes-on-this-host rules=A1
        # No expectation: on the reference host the ioctl is absent (ENOTTY); elsewhere the
        # default VM refuses PRIVATE (EINVAL). The model, given this host's capabilities,
        # must agree with the kernel either way.
        vm A
        attrs A gpa=0 size=4K attrs=private

        scenario a1-argument-checks rules=A1 requires=memory-attributes
        vm A type=1
        attrs A gpa=1 size=4K attrs=private -> EINVAL
        attrs A gpa=0 size=0 attrs=private -> EINVAL
        attrs A gpa=0 size=4K attrs=private flags=1 -> EINVAL
        attrs A gpa=0 size=4K attrs=1 -> EINVAL
        attrs A gpa=0 size=4K attrs=private -> ok

        scenario a2-default-vm-refuses-private rules=A2 requires=memory-attributes
        vm A
        attrs A gpa=0 size=4K attrs=private -> EINVAL

        scenario a3-conversion-does-not-move-data rules=A3,G3,B10 requires=memory-attributes
        vm A type=1
        gmem F A size=16K flags=0
        anon U len=16K
        write U value=55
        region A slot=0 gpa=0 size=16K file=F uaddr=U
        attrs A gpa=0 size=4K attrs=private
        guest A gpa=0 write=66 private -> written
        attrs A gpa=0 size=4K attrs=none
        guest A gpa=0 read -> value 55
        attrs A gpa=0 size=4K attrs=private
        guest A gpa=0 read private -> value 66
        fallocate F mode=punch offset=0 len=4K -> ok
        guest A gpa=0 read private -> value 0
        """
}
