/// The guest_memfd contract, rule by rule: the registry that code, tests and scenarios cite
/// and from which `docs/GMEM-SPEC.md` is generated (`gmem rules --markdown`).
///
/// The facts were measured on the reference host (Linux 6.18.44, kvm_pvm) or read in the
/// kernel source and selftests (`docs/UPSTREAM.md`); the statements are this project's own.
/// A test holds the registry against the source tree: every cited id exists here, every rule
/// is checked by a scenario or test, and every check listed here exists and cites its rule.
public enum RuleRegistry {
    /// Every rule, in the specification's order (section by section, then by number).
    public static let rules: [ContractRule] = [
        ContractRule(
            "C1", .host,
            "`KVM_CREATE_GUEST_MEMFD` refuses a size that is zero, negative as `loff_t` or not a whole number of pages with `EINVAL`.",
            mirrors: ["kvm_gmem_create", "selftest guest_memfd_test.c: test_create_guest_memfd_invalid_sizes"],
            verifiedBy: [
                .scenario("c1-size-zero"),
                .scenario("c1-size-not-page-multiple"),
                .scenario("c1-size-one-page"),
                .scenario("c-closed-vm-fd"),
                .test("Tests/GmemModelTests/CreationTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
                .test("Tests/KVMTests/CreationTests.swift"),
            ]),
        ContractRule(
            "C2", .host,
            "Creation flags outside the mask that `KVM_CAP_GUEST_MEMFD_FLAGS` reports for the VM are refused with `EINVAL` (a VM with private memory gets no `INIT_SHARED`).",
            mirrors: [
                "kvm_gmem_create", "kvm_gmem_get_supported_flags",
                "selftest guest_memfd_test.c: test_guest_memfd_flags",
            ],
            verifiedBy: [
                .scenario("c2-unknown-flag"),
                .scenario("c2-supported-flags"),
                .test("Tests/GmemModelTests/CreationTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
                .test("Tests/KVMTests/CreationTests.swift"),
            ]),
        ContractRule(
            "C3", .host,
            "The six `reserved` words of the creation request are not checked: non-zero values are accepted, and nothing may rely on that staying so.",
            mirrors: ["kvm_gmem_create"],
            verifiedBy: [
                .scenario("c3-reserved-not-checked"),
                .test("Tests/GmemModelTests/CreationTests.swift"),
                .test("Tests/KVMTests/CreationTests.swift"),
            ]),
        ContractRule(
            "C4", .host,
            "`INIT_SHARED` without `MMAP` is accepted, and the file still cannot be mapped.",
            mirrors: ["kvm_gmem_create", "kvm_gmem_mmap"],
            verifiedBy: [
                .scenario("c4-init-shared-without-mmap"),
                .test("Tests/GmemModelTests/CreationTests.swift"),
                .test("Tests/KVMTests/CreationTests.swift"),
            ]),
        ContractRule(
            "C5", .host,
            "The new descriptor is not close-on-exec, and `fstat` shows a regular file with mode 0600, the requested size and no blocks.",
            mirrors: ["__kvm_gmem_create (anon_inode_create_getfile)", "selftest guest_memfd_test.c: test_file_size"],
            verifiedBy: [
                .scenario("c5-fstat"),
                .test("Tests/GmemModelTests/CreationTests.swift"),
                .test("Tests/KVMTests/CreationTests.swift"),
            ]),
        ContractRule(
            "C6", .host,
            "A guest_memfd cannot be opened again through `/proc/self/fd/N`: the open fails with `ENXIO`.",
            mirrors: ["__kvm_gmem_create (no open in the anonymous inode's file operations)"],
            verifiedBy: [
                .scenario("c6-no-reopen"),
                .test("Tests/GmemModelTests/CreationTests.swift"),
                .test("Tests/KVMTests/CreationTests.swift"),
            ]),
        ContractRule(
            "C7", .upstream,
            "Every creation makes a new inode (new, zeroed memory) whose file records its owning VM for the rest of its life.",
            mirrors: [
                "__kvm_gmem_create (gmem->kvm)", "selftest guest_memfd_test.c: test_create_guest_memfd_multiple",
            ],
            verifiedBy: [
                .scenario("c7-each-creation-new-memory"),
                .test("Tests/GmemModelTests/CreationTests.swift"),
                .test("Tests/KVMTests/CreationTests.swift"),
            ]),
        ContractRule(
            "F1", .host,
            "`read` and `write` on a guest_memfd fail with `EINVAL`; `pread`, `pwrite` and `lseek` with `ESPIPE`.",
            mirrors: ["kvm_gmem_fops (no read, write or llseek)", "selftest guest_memfd_test.c: test_file_read_write"],
            verifiedBy: [
                .scenario("f1-read-write"),
                .scenario("f1-positional"),
                .test("Tests/GmemModelTests/FileTests.swift"),
                .test("Tests/KVMTests/FileOperationTests.swift"),
            ]),
        ContractRule(
            "F2", .host,
            "The size is fixed at creation: `ftruncate`, `fsync` and `fchmod` fail with `EINVAL`.",
            mirrors: ["kvm_gmem_setattr", "vfs_fsync_range"],
            verifiedBy: [
                .scenario("f2-size-fixed"),
                .test("Tests/GmemModelTests/FileTests.swift"),
                .test("Tests/KVMTests/FileOperationTests.swift"),
            ]),
        ContractRule(
            "F3", .host,
            "`fallocate` takes exactly two modes, both with `KEEP_SIZE`: allocate (`KEEP_SIZE`) and punch (`PUNCH_HOLE|KEEP_SIZE`); every other mode is `EOPNOTSUPP`.",
            mirrors: ["vfs_fallocate", "kvm_gmem_fallocate", "selftest guest_memfd_test.c: test_fallocate"],
            verifiedBy: [
                .scenario("f3-accepted-modes"),
                .scenario("f3-other-modes"),
                .scenario("f-closed-file"),
                .test("Tests/GmemModelTests/FileTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
                .test("Tests/KVMTests/FileOperationTests.swift"),
            ]),
        ContractRule(
            "F4", .host,
            "`fallocate` offsets and lengths must be whole pages (`EINVAL`), allocating past the end of the file is `EINVAL`, and punching past the end is accepted.",
            mirrors: [
                "kvm_gmem_fallocate", "kvm_gmem_allocate",
                "selftest guest_memfd_test.c: test_fallocate, test_invalid_punch_hole",
            ],
            verifiedBy: [
                .scenario("f4-alignment"),
                .scenario("f4-allocate-past-end"),
                .scenario("f4-punch-past-end"),
                .scenario("f4-zero-length"),
                .test("Tests/GmemModelTests/FileTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
                .test("Tests/KVMTests/FileOperationTests.swift"),
            ]),
        ContractRule(
            "F5", .host,
            "Allocated guest_memfd memory is pinned (counted as `Unevictable` in `/proc/meminfo`) until it is punched or the file is released.",
            mirrors: ["__kvm_gmem_create (mapping_set_unevictable)", "kvm_gmem_allocate"],
            verifiedBy: [
                .scenario("f5-allocated-pages-read-zero"),
                .test("Tests/GmemModelTests/FileTests.swift"),
                .test("Tests/KVMTests/FileOperationTests.swift"),
                .test("Tests/KVMTests/Support.swift"),
            ]),
        ContractRule(
            "F6", .host,
            "A punched page reads back as zero and is allocated again on its next touch; its neighbours keep their data.",
            mirrors: ["kvm_gmem_punch_hole (truncate_inode_pages_range)"],
            verifiedBy: [
                .scenario("f6-punched-page-reads-zero"),
                .scenario("f6-punch-leaves-neighbours"),
                .test("Tests/GmemModelTests/FileTests.swift"),
                .test("Tests/KVMTests/FileOperationTests.swift"),
                .test("Tests/MicroVMTests/MachineTests.swift"),
            ]),
        ContractRule(
            "M1", .host,
            "Mapping a guest_memfd created without `MMAP` fails with `ENODEV`.",
            mirrors: ["kvm_gmem_mmap", "selftest guest_memfd_test.c: test_mmap_not_supported"],
            verifiedBy: [
                .scenario("c4-init-shared-without-mmap"),
                .scenario("m1-no-mmap-flag"),
                .test("Tests/GmemModelTests/MappingTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
                .test("Tests/KVMTests/MappingTests.swift"),
            ]),
        ContractRule(
            "M2", .host,
            "Only a shared mapping is possible: `MAP_PRIVATE` is `EINVAL` and `PROT_EXEC` is `EPERM` (the guest_memfd mount is noexec).",
            mirrors: ["do_mmap", "kvm_gmem_mmap", "selftest guest_memfd_test.c: test_mmap_supported"],
            verifiedBy: [
                .scenario("m2-map-private"),
                .scenario("m2-prot-exec"),
                .scenario("m2-read-only-mapping"),
                .test("Tests/GmemModelTests/MappingTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
                .test("Tests/KVMTests/MappingTests.swift"),
            ]),
        ContractRule(
            "M3", .host,
            "With `MMAP` but not `INIT_SHARED` the mapping succeeds, yet every host access to it raises `SIGBUS`: the memory is the guest's.",
            mirrors: ["kvm_gmem_fault_user_mapping", "selftest guest_memfd_test.c: test_fault_private"],
            verifiedBy: [
                .scenario("m3-private-memory-sigbus"),
                .test("Tests/GmemModelTests/MappingTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
                .test("Tests/KVMTests/MappingTests.swift"),
            ]),
        ContractRule(
            "M4", .host,
            "A host access through a mapping beyond the end of the file raises `SIGBUS`.",
            mirrors: ["kvm_gmem_fault_user_mapping", "selftest guest_memfd_test.c: test_fault_overflow"],
            verifiedBy: [
                .scenario("m4-past-end-sigbus"),
                .test("Tests/GmemModelTests/MappingTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
                .test("Tests/KVMTests/MappingTests.swift"),
            ]),
        ContractRule(
            "M5", .host,
            "A mapping holds the file, and through it the VM, after every descriptor of the file is closed.",
            mirrors: ["mmap's file reference (vma->vm_file)", "kvm_gmem_release"],
            verifiedBy: [
                .scenario("g2-fault-after-release-with-mapping-gone"),
                .scenario("m5-mapping-keeps-file"),
                .scenario("m-munmap-then-access"),
                .test("Tests/GmemModelTests/MappingTests.swift"),
                .test("Tests/KVMTests/MappingTests.swift"),
            ]),
        ContractRule(
            "M6", .host,
            "`madvise(MADV_COLLAPSE)` on a guest_memfd mapping fails with `EINVAL`, on a huge-page-aligned range too: guest_memfd memory is never collapsed into huge pages.",
            mirrors: ["madvise_collapse (thp_vma_allowable_order)", "selftest guest_memfd_test.c: test_collapse"],
            verifiedBy: [
                .test("Tests/KVMTests/ProfileFactsTests.swift")
            ]),
        ContractRule(
            "M7", .host,
            "`mbind` on a guest_memfd mapping is accepted (on 6.18 the policy is the mapping's; from 6.19 the file keeps a shared policy that steers its allocations).",
            mirrors: ["vma_replace_policy", "kvm_gmem_set_policy (6.19)", "selftest guest_memfd_test.c: test_mbind"],
            verifiedBy: [
                .test("Tests/KVMTests/ProfileFactsTests.swift")
            ]),
        ContractRule(
            "B1", .host,
            "The version 1 `KVM_SET_USER_MEMORY_REGION` with `KVM_MEM_GUEST_MEMFD` is `EINVAL`.",
            mirrors: [
                "kvm_vm_ioctl (KVM_SET_USER_MEMORY_REGION flag mask)",
                "selftest set_memory_region_test.c: test_add_private_memory_region",
            ],
            verifiedBy: [
                .scenario("b1-v1-refuses-gmem"),
                .test("Tests/GmemModelTests/BindingTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
                .test("Tests/KVMTests/BindingTests.swift"),
            ]),
        ContractRule(
            "B2", .host,
            "A guest_memfd memslot cannot also carry `LOG_DIRTY_PAGES` or `READONLY`: `EINVAL`.",
            mirrors: ["check_memory_region_flags"],
            verifiedBy: [
                .scenario("b2-log-dirty"),
                .scenario("b2-readonly"),
                .test("Tests/GmemModelTests/BindingTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
                .test("Tests/KVMTests/BindingTests.swift"),
            ]),
        ContractRule(
            "B3", .host,
            "A binding whose `guest_memfd_offset` is not page-aligned or whose range ends past the file is `EINVAL`.",
            mirrors: [
                "kvm_set_memory_region", "kvm_gmem_bind",
                "selftest set_memory_region_test.c: test_add_private_memory_region",
            ],
            verifiedBy: [
                .scenario("b3-unaligned-offset"),
                .scenario("b3-range-past-end"),
                .test("Tests/GmemModelTests/BindingTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
                .test("Tests/KVMTests/BindingTests.swift"),
            ]),
        ContractRule(
            "B4", .host,
            "Binding a descriptor that is not a guest_memfd (a memfd, a VM fd) is `EINVAL`; a closed descriptor is `EBADF`.",
            mirrors: ["kvm_gmem_bind", "selftest set_memory_region_test.c: test_add_private_memory_region"],
            verifiedBy: [
                .scenario("b4-memfd"),
                .scenario("b4-vm-fd-is-not-gmem"),
                .scenario("b4-closed-fd"),
                .test("Tests/GmemModelTests/BindingTests.swift"),
                .test("Tests/KVMTests/BindingTests.swift"),
            ]),
        ContractRule(
            "B5", .host,
            "A guest_memfd binds only to the VM that created it: any other VM gets `EINVAL`, whatever has happened to the owner since.",
            mirrors: [
                "kvm_gmem_bind (gmem->kvm != kvm)", "selftest set_memory_region_test.c: test_add_private_memory_region",
            ],
            verifiedBy: [
                .scenario("b5-other-vm"),
                .scenario("b5-owner-fd-closed"),
                .scenario("b5-attack-unbind-and-rebind"),
                .test("Tests/GmemConformanceTests/ConformanceTests.swift"),
                .test("Tests/GmemExplorerTests/ExplorerTests.swift"),
                .test("Tests/GmemModelTests/BindingTests.swift"),
                .test("Tests/GmemModelTests/PolicyTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
                .test("Tests/KVMTests/BindingTests.swift"),
            ]),
        ContractRule(
            "B6", .host,
            "Two bindings whose file ranges overlap are refused with `EINVAL`; two memslots whose guest-physical ranges overlap with `EEXIST`.",
            holdsFor: ["6.18"],
            elsewhere: [
                .init(
                    "next",
                    "Two bindings whose file ranges overlap are refused with `EEXIST`, as are two memslots whose guest-physical ranges overlap (the selftest asserts `EEXIST`)."
                )
            ],
            mirrors: [
                "kvm_gmem_bind", "kvm_set_memory_region",
                "selftest set_memory_region_test.c: test_add_overlapping_private_memory_regions",
            ],
            verifiedBy: [
                .scenario("b6-file-range-overlap"),
                .scenario("b6-file-range-overlap-next"),
                .scenario("b6-gpa-overlap"),
                .scenario("b6-two-files-same-vm"),
                .test("Tests/GmemModelTests/BindingTests.swift"),
                .test("Tests/GmemModelTests/ProfileTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
                .test("Tests/KVMTests/BindingTests.swift"),
            ]),
        ContractRule(
            "B7", .host,
            "A guest_memfd memslot is immutable: moving it or changing its flags is `EINVAL`; delete it and create it again.",
            mirrors: ["kvm_set_memory_region (KVM_MR_MOVE, KVM_MR_FLAGS_ONLY)"],
            verifiedBy: [
                .scenario("b7-move"),
                .scenario("b7-flags-change"),
                .scenario("b7-identical-resubmit"),
                .scenario("b7-delete-and-recreate"),
                .test("Tests/GmemModelTests/BindingTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
                .test("Tests/KVMTests/BindingTests.swift"),
            ]),
        ContractRule(
            "B8", .host,
            "Deleting a memslot frees its file range for a new binding and leaves the data in the range untouched.",
            mirrors: [
                "kvm_gmem_unbind", "selftest set_memory_region_test.c: test_add_overlapping_private_memory_regions",
            ],
            verifiedBy: [
                .scenario("b5-attack-unbind-and-rebind"),
                .scenario("b7-delete-and-recreate"),
                .scenario("b8-delete-keeps-data"),
                .scenario("b-delete-missing-slot"),
                .test("Tests/GmemExplorerTests/ExplorerTests.swift"),
                .test("Tests/GmemModelTests/BindingTests.swift"),
                .test("Tests/KVMTests/BindingTests.swift"),
            ]),
        ContractRule(
            "B9", .host,
            "A guest_memfd memslot's `userspace_addr` may be 0 and is not checked beyond `access_ok`; with `MMAP|INIT_SHARED` the guest faults from the file itself.",
            mirrors: [
                "kvm_set_memory_region", "kvm_gmem_get_pfn",
                "selftest guest_memfd_test.c: test_bind_guest_memfd_wrt_userspace_addr",
            ],
            verifiedBy: [
                .scenario("b9-userspace-address-not-validated"),
                .scenario("b9-guest-faults-from-file"),
                .test("Tests/GmemModelTests/BindingTests.swift"),
                .test("Tests/KVMTests/BindingTests.swift"),
            ]),
        ContractRule(
            "B10", .upstream,
            "Without `MMAP`, the shared side of a guest_memfd memslot is the memory at `userspace_addr` and only the private side is the file.",
            mirrors: ["kvm_mmu_faultin_pfn (kvm_mem_is_private)"],
            verifiedBy: [
                .scenario("g-without-mmap-shared-access-uses-userspace-addr"),
                .scenario("a3-conversion-does-not-move-data"),
                .scenario("b10-shared-side-is-userspace-memory"),
                .test("Tests/GmemModelTests/BindingTests.swift"),
                .test("Tests/MicroVMTests/MachineTests.swift"),
            ]),
        ContractRule(
            "L1", .host,
            "Any reference to a guest_memfd (descriptor, dup, inherited descriptor, mapping) keeps its VM alive after the VM fd is closed.",
            mirrors: ["__kvm_gmem_create (kvm_get_kvm)", "kvm_gmem_release (kvm_put_kvm)"],
            verifiedBy: [
                .scenario("l1-file-pins-vm"),
                .scenario("l1-dup-pins-vm"),
                .scenario("l6-every-reference"),
                .scenario("m5-mapping-keeps-file"),
                .scenario("b5-owner-fd-closed"),
                .test("Tests/GmemExplorerTests/ExplorerTests.swift"),
                .test("Tests/GmemModelTests/LifetimeTests.swift"),
                .test("Tests/GmemModelTests/MappingTests.swift"),
                .test("Tests/KVMTests/LifetimeTests.swift"),
                .test("Tests/KVMTests/MappingTests.swift"),
            ]),
        ContractRule(
            "L2", .host,
            "A vCPU keeps running after its VM's fd is closed.",
            mirrors: ["kvm_vm_ioctl_create_vcpu (kvm_get_kvm)", "kvm_vcpu_release"],
            verifiedBy: [
                .scenario("l2-vcpu-runs-after-vm-fd-closed"),
                .scenario("l6-vcpu-last-reference"),
                .test("Tests/GmemModelTests/LifetimeTests.swift"),
                .test("Tests/KVMTests/LifetimeTests.swift"),
            ]),
        ContractRule(
            "L3", .host,
            "With the VM fd closed, a guest_memfd still allocates, punches and maps.",
            mirrors: ["kvm_gmem_fallocate", "kvm_gmem_mmap"],
            verifiedBy: [
                .scenario("l3-file-works-after-vm-fd-closed"),
                .test("Tests/GmemModelTests/LifetimeTests.swift"),
                .test("Tests/KVMTests/LifetimeTests.swift"),
            ]),
        ContractRule(
            "L4", .host,
            "Memslots hold no reference on the file: deleting every memslot leaves the file and its data intact.",
            mirrors: ["kvm_gmem_bind (no get_file)"],
            verifiedBy: [
                .scenario("l4-memslots-do-not-pin-file"),
                .scenario("b8-delete-keeps-data"),
                .test("Tests/GmemModelTests/LifetimeTests.swift"),
                .test("Tests/KVMTests/LifetimeTests.swift"),
            ]),
        ContractRule(
            "L5", .host,
            "Releasing the file's last reference invalidates its bindings (the memslots stay), drops its VM reference and frees its memory.",
            mirrors: ["kvm_gmem_release"],
            verifiedBy: [
                .scenario("l5-release-keeps-memslot"),
                .scenario("l5-release-drops-vm-reference"),
                .scenario("g2-released-file-faults-other-slots-work"),
                .test("Tests/GmemModelTests/LifetimeTests.swift"),
                .test("Tests/KVMTests/LifetimeTests.swift"),
                .test("Tests/MicroVMTests/MachineTests.swift"),
            ]),
        ContractRule(
            "L6", .upstream,
            "A VM is destroyed when its last reference goes (VM fd, vCPU fds, guest_memfd files, stats fds), so guest memory never outlives its VM.",
            mirrors: ["kvm_put_kvm", "kvm_destroy_vm"],
            verifiedBy: [
                .scenario("l6-vcpu-last-reference"),
                .scenario("l6-stats-fd-pins-vm"),
                .scenario("l6-every-reference"),
                .test("Tests/GmemExplorerTests/ExplorerTests.swift"),
                .test("Tests/GmemModelTests/LifetimeTests.swift"),
                .test("Tests/GmemModelTests/PolicyTests.swift"),
                .test("Tests/KVMTests/LifetimeTests.swift"),
            ]),
        ContractRule(
            "G1", .host,
            "A guest access to a bound page of a live file is served from the file: the guest and a host mapping see the same data.",
            mirrors: ["kvm_gmem_get_pfn", "selftest guest_memfd_test.c: test_guest_memfd_guest"],
            verifiedBy: [
                .scenario("l2-vcpu-runs-after-vm-fd-closed"),
                .scenario("g1-guest-and-host-share-file-data"),
                .scenario("g-without-mmap-shared-access-uses-userspace-addr"),
                .scenario("g1-no-memslot-is-mmio"),
                .scenario("b9-guest-faults-from-file"),
                .test("Tests/GmemModelTests/GuestTests.swift"),
                .test("Tests/MicroVMTests/MachineTests.swift"),
            ]),
        ContractRule(
            "G2", .host,
            "After a still-bound file is released, a guest access through it makes `KVM_RUN` fail with `EFAULT` and a memory-fault exit (flags 0, the page's address, size 4096); other memslots keep working.",
            mirrors: ["kvm_gmem_get_pfn", "kvm_prepare_memory_fault_exit"],
            verifiedBy: [
                .scenario("l5-release-keeps-memslot"),
                .scenario("g2-released-file-faults-other-slots-work"),
                .scenario("g2-fault-after-release-with-mapping-gone"),
                .test("Tests/GmemModelTests/GuestTests.swift"),
                .test("Tests/MicroVMTests/MachineTests.swift"),
            ]),
        ContractRule(
            "G3", .upstream,
            "A private access to a memslot without guest_memfd, or one whose private or shared kind disagrees with the page's attribute, exits with a memory fault (flag `PRIVATE` for a private access) so that userspace can convert and retry.",
            mirrors: [
                "kvm_mmu_faultin_pfn (kvm_mmu_prepare_memory_fault_exit)", "selftest private_mem_kvm_exits_test.c",
            ],
            verifiedBy: [
                .scenario("g3-private-attribute-mismatch"),
                .scenario("g3-private-access-without-gmem"),
                .scenario("a3-conversion-does-not-move-data"),
                .test("Tests/GmemModelTests/GuestTests.swift"),
            ]),
        ContractRule(
            "G4", .host,
            "On PVM hosts guest code at CPL0 is emulated and the emulator reads memory through `userspace_addr`, so checks of guest access run guest code at CPL3.",
            mirrors: ["PVM's instruction emulator (a property of the host, not of guest_memfd)"],
            verifiedBy: [
                .scenario("g1-guest-and-host-share-file-data"),
                .scenario("g2-released-file-faults-other-slots-work"),
                .test("Tests/MicroVMTests/MachineTests.swift"),
                .test("Tests/KVMTests/TinyGuest.swift"),
            ]),
        ContractRule(
            "A1", .upstream,
            "`KVM_SET_MEMORY_ATTRIBUTES` takes a non-empty, page-aligned, non-wrapping range, zero flags and supported attributes, else `EINVAL`; a kernel without memory attributes answers `ENOTTY`.",
            mirrors: ["kvm_vm_ioctl_set_mem_attributes"],
            verifiedBy: [
                .scenario("g3-private-attribute-mismatch"),
                .scenario("a1-attributes-on-this-host"),
                .scenario("a1-argument-checks"),
                .test("Tests/GmemModelTests/AttributeTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
            ]),
        ContractRule(
            "A2", .upstream,
            "Only VM types with private memory (such as `KVM_X86_SW_PROTECTED_VM`) accept the `PRIVATE` attribute.",
            mirrors: ["kvm_supported_mem_attributes"],
            verifiedBy: [
                .scenario("g3-private-attribute-mismatch"),
                .scenario("a2-default-vm-refuses-private"),
                .test("Tests/GmemModelTests/AttributeTests.swift"),
                .test("Tests/GmemModelTests/RulesTests.swift"),
            ]),
        ContractRule(
            "A3", .upstream,
            "Converting a range between private and shared moves no data between files; userspace punches the side it no longer needs.",
            mirrors: ["kvm_vm_set_mem_attributes", "selftest private_mem_conversions_test.c"],
            verifiedBy: [
                .scenario("a3-conversion-does-not-move-data"),
                .test("Tests/GmemModelTests/AttributeTests.swift"),
            ]),
        ContractRule(
            "V1", .upstream,
            "With in-place conversion the guest_memfd inode holds each page's shared or private state: a page starts shared with `INIT_SHARED` and private without it, `KVM_SET_MEMORY_ATTRIBUTES2` on the file changes it, and every file of the inode (a linked one too) sees the same state.",
            holdsFor: ["next"],
            elsewhere: [
                .init(
                    "6.18",
                    "A guest_memfd has no per-page state: the whole file is shared with `INIT_SHARED` and private without it, for its whole life (M3)."
                )
            ],
            mirrors: [
                "in-place conversion v13: kvm_gmem_set_attributes (the inode's attribute maple tree)",
                "selftest guest_memfd_conversions_test.c: init_private, init_shared, indexing",
            ],
            verifiedBy: [
                .test("Tests/GmemModelTests/ConversionTests.swift"),
                .test("Scenarios/upstream/guest_memfd_conversions_test-init_private.gmem"),
                .test("Scenarios/upstream/guest_memfd_conversions_test-init_shared.gmem"),
                .test("Scenarios/upstream/guest_memfd_conversions_test-indexing.gmem"),
            ]),
        ContractRule(
            "V2", .upstream,
            "`KVM_SET_MEMORY_ATTRIBUTES2` on a guest_memfd takes at most one content mode (`ZERO` or `PRESERVE`), only attributes its VM supports (`PRIVATE` for VMs with private memory) and a non-empty, page-aligned range inside the file; anything else is `EINVAL` before the range is looked at, with `error_offset` left alone.",
            holdsFor: ["next"],
            elsewhere: [
                .init("6.18", "`KVM_SET_MEMORY_ATTRIBUTES2` does not exist: on a guest_memfd it is `ENOTTY` (V9).")
            ],
            mirrors: ["in-place conversion v13: kvm_gmem_set_attributes"],
            verifiedBy: [.test("Tests/GmemModelTests/ConversionTests.swift")]),
        ContractRule(
            "V3", .upstream,
            "`ZERO` makes every page of a conversion to shared read zero (also when the range is shared already); `ZERO` to private, or a mode the VM type lacks (software-protected VMs have both, SNP and TDX only `ZERO`), is `EOPNOTSUPP` with `error_offset` at the range's start; `PRESERVE` and no mode keep the contents on a software-protected VM.",
            holdsFor: ["next"],
            elsewhere: [
                .init(
                    "6.18",
                    "There are no content modes: conversion happens only through the VM's `KVM_SET_MEMORY_ATTRIBUTES`, which moves no data (A3)."
                )
            ],
            mirrors: [
                "in-place conversion v13: kvm_gmem_content_mode_is_supported, kvm_arch_gmem_supported_content_modes",
                "selftest guest_memfd_conversions_test.c: init_private (no mode keeps the guest's data)",
            ],
            verifiedBy: [
                .test("Tests/GmemModelTests/ConversionTests.swift"),
                .test("Scenarios/upstream/guest_memfd_conversions_test-init_private.gmem"),
            ]),
        ContractRule(
            "V4", .upstream,
            "A conversion to private first unmaps the range from every host mapping; if the host still holds a reference on a page (a pin, such as a page `vmsplice`d into a pipe) it fails with `EAGAIN`, changes nothing and names the first such page in `error_offset`; mappings alone never block it.",
            holdsFor: ["next"],
            elsewhere: [
                .init(
                    "6.18",
                    "There is no conversion on the file to refuse; a pinned page of a guest_memfd mapping stays the host's until the pipe is closed."
                )
            ],
            mirrors: [
                "in-place conversion v13: kvm_gmem_is_safe_for_conversion, unmap_mapping_pages",
                "selftest guest_memfd_conversions_test.c: elevated_refcount, unallocated_folios, forked_accesses",
            ],
            verifiedBy: [
                .test("Tests/GmemModelTests/ConversionTests.swift"),
                .test("Scenarios/upstream/guest_memfd_conversions_test-elevated_refcount.gmem"),
                .test("Scenarios/upstream/guest_memfd_conversions_test-unallocated_folios.gmem"),
                .test("Scenarios/upstream/guest_memfd_conversions_test-forked_accesses.gmem"),
            ]),
        ContractRule(
            "V5", .upstream,
            "A host access through any mapping of the file to a page that is private now raises `SIGBUS`, and works again once the page is converted back to shared.",
            holdsFor: ["next"],
            elsewhere: [
                .init(
                    "6.18",
                    "A host access raises `SIGBUS` exactly when the file was created without `INIT_SHARED` (M3).")
            ],
            mirrors: [
                "kvm_gmem_fault_user_mapping (in-place conversion v13)",
                "selftest guest_memfd_conversions_test.c: test_private, forked_accesses",
            ],
            verifiedBy: [
                .test("Tests/GmemModelTests/ConversionTests.swift"),
                .test("Scenarios/upstream/guest_memfd_conversions_test-init_shared.gmem"),
                .test("Scenarios/upstream/guest_memfd_conversions_test-forked_accesses.gmem"),
            ]),
        ContractRule(
            "V6", .upstream,
            "A guest access to a guest_memfd memslot is private exactly where the bound file says the page is private: an access of the other kind exits with a memory fault (flag `PRIVATE` for a private access), a private page is served from the file, a shared one from the file (`MMAP`) or `userspace_addr`.",
            holdsFor: ["next"],
            elsewhere: [
                .init(
                    "6.18",
                    "Which accesses are private is the VM's memory attributes' business (G3), where the kernel has them."
                )
            ],
            mirrors: [
                "kvm_mem_is_private with guest_memfd attributes (in-place conversion v13)",
                "selftest guest_memfd_conversions_test.c: run_guest_do_rmw", "selftest private_mem_kvm_exits_test.c",
            ],
            verifiedBy: [
                .test("Tests/GmemModelTests/ConversionTests.swift"),
                .test("Scenarios/upstream/guest_memfd_conversions_test-init_private.gmem"),
                .test("Scenarios/upstream/private_mem_kvm_exits_test-test_private_access_memslot_deleted.gmem"),
            ]),
        ContractRule(
            "V7", .upstream,
            "A conversion of pages not allocated yet is recorded all the same, and allocating them later neither resets nor changes their state.",
            holdsFor: ["next"],
            elsewhere: [.init("6.18", "There is no per-page state to record (V1).")],
            mirrors: [
                "in-place conversion v13: kvm_gmem_set_attributes (state kept apart from the folios)",
                "selftest guest_memfd_conversions_test.c: before_allocation_shared, before_allocation_private, unallocated_folios",
            ],
            verifiedBy: [
                .test("Tests/GmemModelTests/ConversionTests.swift"),
                .test("Scenarios/upstream/guest_memfd_conversions_test-before_allocation_shared.gmem"),
                .test("Scenarios/upstream/guest_memfd_conversions_test-before_allocation_private.gmem"),
                .test("Scenarios/upstream/guest_memfd_conversions_test-unallocated_folios.gmem"),
            ]),
        ContractRule(
            "V8", .upstream,
            "Punching a converted range frees its pages, which read zero next, but keeps their shared or private state; a punched page's pin no longer blocks a conversion.",
            holdsFor: ["next"],
            elsewhere: [.init("6.18", "Punching frees pages that read zero next (F6); there is no state to keep.")],
            mirrors: [
                "kvm_gmem_punch_hole (in-place conversion v13)", "selftest guest_memfd_conversions_test.c: truncate",
                "selftest private_mem_conversions_test.c: guest_test_punch_hole",
            ],
            verifiedBy: [
                .test("Tests/GmemModelTests/ConversionTests.swift"),
                .test("Scenarios/upstream/guest_memfd_conversions_test-truncate.gmem"),
                .test("Scenarios/upstream/private_mem_conversions_test-guest_test_punch_hole.gmem"),
            ]),
        ContractRule(
            "V9", .upstream,
            "`KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES` (250, provisional) reports `PRIVATE` when the guest_memfd holds the state: then the VM's `KVM_SET_MEMORY_ATTRIBUTES` is gone and a VM with private memory may create `INIT_SHARED` files; without it `KVM_SET_MEMORY_ATTRIBUTES2` on a guest_memfd answers `ENOTTY`.",
            mirrors: [
                "kvm_vm_ioctl_check_extension_generic (in-place conversion v13)",
                "selftest guest_memfd_conversions_test.c: main (TEST_REQUIRE)",
            ],
            verifiedBy: [
                .test("Tests/GmemModelTests/ConversionTests.swift"),
                .test("Tests/KVMTests/PostSixEighteenTests.swift"),
            ]),
        ContractRule(
            "V10", .upstream,
            "`KVM_LINK_GUEST_MEMFD` (RFC v2, provisional) on VM B with a guest_memfd of VM A returns a new file owned by B on the same inode (same data, state and `st_ino`); flags must be 0 and the source a guest_memfd of another VM, else `EINVAL`; nothing is checked about A or its bindings.",
            holdsFor: ["next"],
            elsewhere: [
                .init("6.18", "`KVM_LINK_GUEST_MEMFD` does not exist: the VM ioctl answers `ENOTTY` (measured).")
            ],
            mirrors: [
                "kvm_gmem_link (KVM_LINK_GUEST_MEMFD RFC v2, May 2025)",
                "selftest guest_memfd_test.c: test_link (RFC v2)",
            ],
            verifiedBy: [
                .test("Tests/GmemModelTests/ConversionTests.swift"), .test("Tests/KVMTests/PostSixEighteenTests.swift"),
            ]),
        ContractRule(
            "N1", .host,
            "`KVM_PRE_FAULT_MEMORY` (vCPU ioctl, 6.10) maps guest memory ahead of the guest only where `KVM_CAP_PRE_FAULT_MEMORY` is reported; this host (PVM, no TDP) does not report it and answers `EOPNOTSUPP` (flags other than 0: `EINVAL`).",
            mirrors: ["kvm_arch_vcpu_pre_fault_memory", "selftest pre_fault_memory_test.c"],
            verifiedBy: [.test("Tests/KVMTests/PostSixEighteenTests.swift")]),
        ContractRule(
            "N2", .upstream,
            "`GUEST_MEMFD_FLAG_WRITE` (provisional, unmerged; 1<<3 in Firecracker's branch) would let `pwrite` fill shared pages; where `KVM_CAP_GUEST_MEMFD_FLAGS` lacks it the flag is refused at creation (C2) and `pwrite` stays `ESPIPE` (F1).",
            mirrors: ["write(2) population series (Kalyazin), unmerged", "kvm_gmem_create"],
            verifiedBy: [.test("Tests/KVMTests/PostSixEighteenTests.swift")]),
        ContractRule(
            "N3", .upstream,
            "`GUEST_MEMFD_FLAG_NO_DIRECT_MAP` (provisional, 1<<2, direct-map removal v12, unmerged) would take the file's pages out of the kernel's direct map; where `KVM_CAP_GUEST_MEMFD_FLAGS` lacks it the flag is refused at creation (C2).",
            mirrors: ["direct-map removal series v12 (AS_NO_DIRECT_MAP), unmerged", "kvm_gmem_create"],
            verifiedBy: [.test("Tests/KVMTests/PostSixEighteenTests.swift")]),
        ContractRule(
            "N4", .host,
            "userfaultfd cannot register a guest_memfd mapping here: `UFFDIO_REGISTER` in MISSING and in MINOR mode is `EINVAL`, so lazy (post-copy) restore through userfaultfd cannot run.",
            mirrors: ["vma_can_userfault", "userfaultfd on guest_memfd series (Rapoport, Kalyazin)"],
            verifiedBy: [.test("Tests/KVMTests/PostSixEighteenTests.swift")]),
        ContractRule(
            "P1", .project,
            "Every kernel error reaches the caller as a typed error naming the operation and the errno, and a refused operation changes none of the library's or the model's own state.",
            mirrors: [],
            verifiedBy: [
                .scenario("b6-file-range-overlap"),
                .scenario("b6-file-range-overlap-next"),
                .scenario("b6-gpa-overlap"),
                .test("Tests/GmemModelTests/DeterminismTests.swift"),
                .test("Tests/GmemModelTests/FileTests.swift"),
            ]),
        ContractRule(
            "P2", .project,
            "The library checks what it can before the syscall and gives the errno the kernel would, from one shared set of rules (`GmemRules`) that the model also uses.",
            mirrors: [],
            verifiedBy: [
                .test("Tests/GmemModelTests/RulesTests.swift")
            ]),
        ContractRule(
            "P3", .project,
            "The safe API cannot touch private guest memory from the host (no `SIGBUS`) and cannot bind a file to a VM other than its creator.",
            mirrors: [],
            verifiedBy: [
                .scenario("m3-private-memory-sigbus"),
                .scenario("b5-other-vm"),
                .scenario("b5-owner-fd-closed"),
                .scenario("b5-attack-unbind-and-rebind"),
                .test("Tests/KVMTests/BindingTests.swift"),
                .test("Tests/KVMTests/MappingTests.swift"),
            ]),
    ]

    /// Every rule id, in the specification's order.
    public static let ids: [String] = rules.map(\.id)

    /// The rule with `id` ("B5"), or nil.
    public static func rule(_ id: String) -> ContractRule? {
        rules.first { $0.id == id }
    }

    /// The rules of one section, in order.
    public static func rules(in section: ContractRule.Section) -> [ContractRule] {
        rules.filter { $0.section == section }
    }

    /// The rules whose statement differs between profiles (they are checked under each).
    public static var profileDependent: [ContractRule] {
        rules.filter { $0.holdsFor.count != KernelProfile.all.count || !$0.elsewhere.isEmpty }
    }
}
