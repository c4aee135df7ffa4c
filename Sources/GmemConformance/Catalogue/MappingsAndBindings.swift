extension Catalogue {
    /// GMEM-SPEC sections M (host mappings) and B (binding).
    static let mappingsAndBindings = """
        scenario m1-no-mmap-flag rules=M1
        vm A
        gmem F A size=16K flags=0
        mmap P F len=16K -> ENODEV

        scenario m2-map-private rules=M2
        vm A
        gmem F A size=16K flags=mmap|init_shared
        mmap P F flags=private len=16K -> EINVAL

        scenario m2-prot-exec rules=M2
        vm A
        gmem F A size=16K flags=mmap|init_shared
        mmap P F prot=rx len=16K -> EPERM

        scenario m2-read-only-mapping rules=M2
        vm A
        gmem F A size=16K flags=mmap|init_shared
        mmap P F prot=r len=16K -> ok
        read P -> value 0
        write P value=1 -> SIGSEGV

        scenario m3-private-memory-sigbus rules=M3,P3
        vm A
        gmem F A size=16K flags=mmap
        mmap P F len=16K -> ok
        read P -> SIGBUS
        write P offset=4K value=1 -> SIGBUS

        scenario m4-past-end-sigbus rules=M4
        vm A
        gmem F A size=4K flags=mmap|init_shared
        mmap P F len=8K -> ok
        read P -> value 0
        read P offset=4K -> SIGBUS

        scenario m5-mapping-keeps-file rules=M5,L1
        vm A
        gmem F A size=16K flags=mmap|init_shared
        mmap P F len=16K
        write P value=5
        close F
        close A
        read P -> value 5
        alive A -> value 1
        munmap P len=16K -> ok
        alive A -> value 0

        scenario m-munmap-then-access rules=M5
        vm A
        gmem F A size=16K flags=mmap|init_shared
        mmap P F len=16K
        munmap P offset=4K len=4K -> ok
        read P -> value 0
        read P offset=4K -> SIGSEGV

        scenario b1-v1-refuses-gmem rules=B1
        vm A
        gmem F A size=16K
        region A slot=0 flags=gmem gpa=0 size=16K file=F api=1 -> EINVAL

        scenario b2-log-dirty rules=B2
        vm A
        gmem F A size=16K
        region A slot=0 flags=gmem|log_dirty gpa=0 size=16K file=F -> EINVAL

        scenario b2-readonly rules=B2
        vm A
        gmem F A size=16K
        region A slot=0 flags=gmem|readonly gpa=0 size=16K file=F -> EINVAL

        scenario b3-unaligned-offset rules=B3
        vm A
        gmem F A size=16K
        region A slot=0 gpa=0 size=4K file=F offset=512 -> EINVAL

        scenario b3-range-past-end rules=B3
        vm A
        gmem F A size=16K
        region A slot=0 gpa=0 size=16K file=F offset=4K -> EINVAL
        region A slot=0 gpa=0 size=32K file=F -> EINVAL
        region A slot=0 gpa=0 size=4K file=F offset=12K -> ok

        scenario b4-memfd rules=B4
        vm A
        memfd M size=16K
        region A slot=0 flags=gmem gpa=0 size=16K file=M -> EINVAL

        scenario b4-vm-fd-is-not-gmem rules=B4
        vm A
        region A slot=0 flags=gmem gpa=0 size=16K file=A -> EINVAL

        scenario b4-closed-fd rules=B4
        vm A
        gmem F A size=16K
        close F
        region A slot=0 flags=gmem gpa=0 size=16K file=F -> EBADF

        scenario b5-other-vm rules=B5,P3
        vm A
        vm B
        gmem F A size=16K
        region B slot=0 gpa=0 size=16K file=F -> EINVAL
        region A slot=0 gpa=0 size=16K file=F -> ok

        scenario b5-owner-fd-closed rules=B5,P3,L1
        vm A
        vm B
        gmem F A size=16K
        close A
        region B slot=0 gpa=0 size=16K file=F -> EINVAL

        scenario b5-attack-unbind-and-rebind rules=B5,P3,B8
        # The attack on the rejected "memslots pin the file" design: write a secret as VM A's
        # guest, delete A's memslot, then try to bind the same file into VM B.
        vm A
        vm B
        gmem F A size=16K flags=mmap|init_shared
        region A slot=0 gpa=0 size=16K file=F
        vcpu C A id=0
        guest C gpa=0 write=0x5ec2e7 -> written
        delete A slot=0 -> ok
        close C
        close A
        region B slot=0 gpa=0 size=16K file=F -> EINVAL
        vcpu D B id=0
        guest D gpa=0 read -> mmio

        # Linux 6.18 refuses a binding whose file range overlaps a bound one with EINVAL; the
        # current upstream tree (and its selftest) with EEXIST: one scenario per profile.
        scenario b6-file-range-overlap rules=B6,P1 profile=6.18
        vm A
        gmem F A size=32K
        region A slot=0 gpa=0 size=16K file=F -> ok
        region A slot=1 gpa=0x100000 size=16K file=F offset=12K -> EINVAL
        region A slot=1 gpa=0x100000 size=16K file=F offset=16K -> ok

        scenario b6-file-range-overlap-next rules=B6,P1 profile=next
        vm A
        gmem F A size=32K
        region A slot=0 gpa=0 size=16K file=F -> ok
        region A slot=1 gpa=0x100000 size=16K file=F offset=12K -> EEXIST
        region A slot=1 gpa=0x100000 size=16K file=F offset=16K -> ok

        scenario b6-gpa-overlap rules=B6,P1
        vm A
        gmem F A size=32K
        region A slot=0 gpa=0 size=16K file=F -> ok
        region A slot=1 gpa=12K size=16K file=F offset=16K -> EEXIST
        region A slot=1 gpa=16K size=16K file=F offset=16K -> ok

        scenario b6-two-files-same-vm rules=B6
        vm A
        gmem F A size=16K
        gmem G A size=16K
        region A slot=0 gpa=0 size=16K file=F -> ok
        region A slot=1 gpa=16K size=16K file=G -> ok

        scenario b7-move rules=B7
        vm A
        gmem F A size=16K
        region A slot=0 gpa=0 size=16K file=F
        region A slot=0 gpa=0x100000 size=16K file=F -> EINVAL

        scenario b7-flags-change rules=B7
        vm A
        gmem F A size=16K
        region A slot=0 gpa=0 size=16K file=F
        region A slot=0 flags=gmem|log_dirty gpa=0 size=16K file=F -> EINVAL

        scenario b7-identical-resubmit rules=B7
        vm A
        gmem F A size=16K
        region A slot=0 gpa=0 size=16K file=F
        region A slot=0 gpa=0 size=16K file=F -> EINVAL

        scenario b7-delete-and-recreate rules=B7,B8
        vm A
        gmem F A size=16K
        region A slot=0 gpa=0 size=16K file=F
        delete A slot=0 -> ok
        region A slot=0 gpa=0x100000 size=16K file=F -> ok

        scenario b8-delete-keeps-data rules=B8,L4
        vm A
        gmem F A size=16K flags=mmap|init_shared
        mmap P F len=16K
        write P value=88
        region A slot=0 gpa=0 size=16K file=F
        delete A slot=0
        read P -> value 88
        region A slot=3 gpa=0x200000 size=16K file=F -> ok
        vcpu C A id=0
        guest C gpa=0x200000 read -> value 88

        scenario b9-userspace-address-not-validated rules=B9
        vm A
        gmem F A size=32K
        region A slot=0 gpa=0 size=16K file=F uaddr=0 -> ok
        region A slot=1 gpa=16K size=16K file=F offset=16K uaddr=0x7000dead0000 -> ok

        scenario b9-guest-faults-from-file rules=B9,G1
        vm A
        gmem F A size=16K flags=mmap|init_shared
        mmap P F len=16K
        write P offset=4K value=42
        region A slot=0 gpa=0 size=16K file=F uaddr=0
        vcpu C A id=0
        guest C gpa=4K read -> value 42

        scenario b10-shared-side-is-userspace-memory rules=B10
        vm A
        gmem F A size=16K flags=0
        anon U len=16K
        write U value=77
        region A slot=0 gpa=0 size=16K file=F uaddr=U
        vcpu C A id=0
        guest C gpa=0 read -> value 77
        guest C gpa=4K write=6 -> written
        read U offset=4K -> value 6

        scenario b10-write-only-shared-mapping-reads-by-page-table rules=B10
        # KVM reads userspace memory with gup-fast first, which checks the page-table entry
        # (x86 cannot express write-only: a present writable entry is readable), and falls
        # back to get_user_pages, which needs VM_READ (EFAULT). So a guest read through a
        # PROT_WRITE-only mapping succeeds exactly where the host page is mapped.
        vm A
        anon U len=64K prot=w
        region A slot=0 gpa=0 size=64K uaddr=U
        guest A gpa=0 read -> efault
        write U value=5
        guest A gpa=0 read -> value 5
        guest A gpa=8K write=3 -> written
        guest A gpa=8K read -> value 3
        madvise U len=4K advice=dontneed
        guest A gpa=0 read -> efault
        guest A gpa=12K read -> efault

        scenario b10-write-only-fault-around rules=B10
        # A host read fault on shmem maps the up-to-date neighbours in its 64 KiB window
        # (do_fault_around), not the pages fallocate allocated and nothing wrote yet.
        vm A
        memfd M size=64K
        mmap P M len=64K prot=w
        region A slot=0 gpa=0 size=64K uaddr=P
        fileop M write
        fallocate M mode=allocate offset=8K len=4K
        write P offset=12K value=5
        madvise P offset=12K len=4K advice=dontneed
        read P offset=4K -> value 0
        guest A gpa=0 read -> value 0
        guest A gpa=8K read -> efault
        guest A gpa=12K read -> value 5
        guest A gpa=16K read -> efault
        fallocate M mode=punch offset=12K len=4K
        guest A gpa=12K read -> efault

        scenario b10-write-only-private-mapping rules=B10
        # Through a private mapping only a written (copied-on-write) page has a writable
        # entry; a read maps the file's page read-only.
        vm A
        memfd M size=64K
        mmap P M len=64K prot=w flags=private
        region A slot=0 gpa=0 size=64K uaddr=P
        write P value=5
        guest A gpa=0 read -> value 5
        read P offset=4K -> value 0
        guest A gpa=4K read -> efault
        write P offset=12K value=6
        read P offset=40K -> value 0
        guest A gpa=12K read -> value 6
        region A slot=1 gpa=0x100000 size=64K uaddr=P flags=readonly
        guest A gpa=0x100000 read -> efault

        scenario b-delete-missing-slot rules=B8
        # Deleting a memslot that does not exist is refused (the kernel checked wins over
        # the intuition that delete is idempotent).
        vm A
        delete A slot=5 -> EINVAL
        """
}
