// CKVM: the subset of the Linux 6.18 KVM UAPI that GmemKit uses, pinned here so that the
// build does not depend on the system's <linux/kvm.h> (this host ships 6.1 headers, which
// predate guest_memfd). Values are from include/uapi/linux/kvm.h and
// arch/x86/include/uapi/asm/kvm.h of Linux 6.18; struct sizes are checked at compile time in
// ckvm.c. Every wrapper has a fixed arity (Swift cannot call the variadic ioctl) and returns
// the kernel's non-negative result, or -errno on failure.
//
// Names carry a `ckvm_`/`CKVM_` prefix so they can never collide with a system header.

#ifndef CKVM_H
#define CKVM_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Capabilities (KVM_CHECK_EXTENSION)

#define CKVM_CAP_IRQCHIP 0
#define CKVM_CAP_HLT 1
#define CKVM_CAP_USER_MEMORY 3
#define CKVM_CAP_SET_TSS_ADDR 4
#define CKVM_CAP_EXT_CPUID 7
#define CKVM_CAP_NR_VCPUS 9
#define CKVM_CAP_NR_MEMSLOTS 10
#define CKVM_CAP_SYNC_MMU 16
#define CKVM_CAP_IRQFD 32
#define CKVM_CAP_PIT2 33
#define CKVM_CAP_IOEVENTFD 36
#define CKVM_CAP_MAX_VCPUS 66
#define CKVM_CAP_READONLY_MEM 81
#define CKVM_CAP_MAX_VCPU_ID 128
#define CKVM_CAP_IMMEDIATE_EXIT 136
#define CKVM_CAP_BINARY_STATS_FD 203
#define CKVM_CAP_USER_MEMORY2 231
#define CKVM_CAP_MEMORY_FAULT_INFO 232
#define CKVM_CAP_MEMORY_ATTRIBUTES 233
#define CKVM_CAP_GUEST_MEMFD 234
#define CKVM_CAP_VM_TYPES 235
#define CKVM_CAP_PRE_FAULT_MEMORY 236
#define CKVM_CAP_GUEST_MEMFD_FLAGS 244

// MARK: - VM types (x86)

#define CKVM_X86_DEFAULT_VM 0
#define CKVM_X86_SW_PROTECTED_VM 1

// MARK: - Memslot, guest_memfd and attribute flags

#define CKVM_MEM_LOG_DIRTY_PAGES (1u << 0)
#define CKVM_MEM_READONLY (1u << 1)
#define CKVM_MEM_GUEST_MEMFD (1u << 2)

#define CKVM_GUEST_MEMFD_FLAG_MMAP (1ull << 0)
#define CKVM_GUEST_MEMFD_FLAG_INIT_SHARED (1ull << 1)

#define CKVM_MEMORY_ATTRIBUTE_PRIVATE (1ull << 3)
#define CKVM_MEMORY_EXIT_FLAG_PRIVATE (1ull << 3)

// MARK: - Exit reasons (kvm_run.exit_reason)

#define CKVM_EXIT_UNKNOWN 0
#define CKVM_EXIT_EXCEPTION 1
#define CKVM_EXIT_IO 2
#define CKVM_EXIT_HYPERCALL 3
#define CKVM_EXIT_DEBUG 4
#define CKVM_EXIT_HLT 5
#define CKVM_EXIT_MMIO 6
#define CKVM_EXIT_IRQ_WINDOW_OPEN 7
#define CKVM_EXIT_SHUTDOWN 8
#define CKVM_EXIT_FAIL_ENTRY 9
#define CKVM_EXIT_INTR 10
#define CKVM_EXIT_INTERNAL_ERROR 17
#define CKVM_EXIT_SYSTEM_EVENT 24
#define CKVM_EXIT_MEMORY_FAULT 39

#define CKVM_EXIT_IO_IN 0
#define CKVM_EXIT_IO_OUT 1

// MARK: - Structures

/// KVM_CREATE_GUEST_MEMFD argument (64 bytes).
struct ckvm_create_guest_memfd {
    uint64_t size;
    uint64_t flags;
    uint64_t reserved[6];
};

/// KVM_SET_USER_MEMORY_REGION argument (32 bytes): the v1 memslot call.
struct ckvm_userspace_memory_region {
    uint32_t slot;
    uint32_t flags;
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
};

/// KVM_SET_USER_MEMORY_REGION2 argument (160 bytes).
struct ckvm_userspace_memory_region2 {
    uint32_t slot;
    uint32_t flags;
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t guest_memfd_offset;
    uint32_t guest_memfd;
    uint32_t pad1;
    uint64_t pad2[14];
};

/// KVM_SET_MEMORY_ATTRIBUTES argument (32 bytes).
struct ckvm_memory_attributes {
    uint64_t address;
    uint64_t size;
    uint64_t attributes;
    uint64_t flags;
};

/// struct kvm_regs (x86, 144 bytes).
struct ckvm_regs {
    uint64_t rax, rbx, rcx, rdx;
    uint64_t rsi, rdi, rsp, rbp;
    uint64_t r8, r9, r10, r11;
    uint64_t r12, r13, r14, r15;
    uint64_t rip, rflags;
};

/// struct kvm_segment (24 bytes).
struct ckvm_segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type;
    uint8_t present, dpl, db, s, l, g, avl;
    uint8_t unusable;
    uint8_t padding;
};

/// struct kvm_dtable (16 bytes).
struct ckvm_dtable {
    uint64_t base;
    uint16_t limit;
    uint16_t padding[3];
};

/// struct kvm_sregs (x86, 312 bytes).
struct ckvm_sregs {
    struct ckvm_segment cs, ds, es, fs, gs, ss;
    struct ckvm_segment tr, ldt;
    struct ckvm_dtable gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8;
    uint64_t efer;
    uint64_t apic_base;
    uint64_t interrupt_bitmap[4];
};

/// The exit-information union of struct kvm_run (256 bytes at offset 32): the members
/// GmemKit decodes.
union ckvm_run_exit {
    struct { uint64_t hardware_exit_reason; } hw;
    struct { uint64_t hardware_entry_failure_reason; uint32_t cpu; } fail_entry;
    struct { uint32_t exception; uint32_t error_code; } ex;
    struct {
        uint8_t direction;
        uint8_t size;
        uint16_t port;
        uint32_t count;
        uint64_t data_offset;
    } io;
    struct {
        uint64_t phys_addr;
        uint8_t data[8];
        uint32_t len;
        uint8_t is_write;
    } mmio;
    struct { uint32_t suberror; uint32_t ndata; uint64_t data[16]; } internal;
    struct {
        uint32_t type;
        uint32_t ndata;
        union { uint64_t flags; uint64_t data[16]; };
    } system_event;
    struct { uint64_t flags; uint64_t gpa; uint64_t size; } memory_fault;
    char padding[256];
};

/// The head of struct kvm_run, the page shared between KVM and the VMM per vCPU (the
/// synchronized-register area after it is not used by GmemKit).
struct ckvm_run {
    uint8_t request_interrupt_window;
    uint8_t immediate_exit;  // `immediate_exit__unsafe` in 6.18's header; same byte.
    uint8_t padding1[6];
    uint32_t exit_reason;
    uint8_t ready_for_interrupt_injection;
    uint8_t if_flag;
    uint16_t flags;
    uint64_t cr8;
    uint64_t apic_base;
    union ckvm_run_exit exit;
    uint64_t kvm_valid_regs;
    uint64_t kvm_dirty_regs;
};

// MARK: - /dev/kvm and system ioctls

/// open(path, O_RDWR | O_CLOEXEC): fd or -errno.
int ckvm_open(const char *path);
/// KVM_GET_API_VERSION.
int ckvm_get_api_version(int kvm_fd);
/// KVM_CHECK_EXTENSION on /dev/kvm or a VM fd.
int ckvm_check_extension(int fd, long capability);
/// KVM_GET_VCPU_MMAP_SIZE.
int ckvm_get_vcpu_mmap_size(int kvm_fd);
/// KVM_CREATE_VM: the new VM fd.
int ckvm_create_vm(int kvm_fd, unsigned long type);

// MARK: - VM ioctls

/// KVM_CREATE_VCPU: the new vCPU fd.
int ckvm_create_vcpu(int vm_fd, unsigned long vcpu_id);
/// KVM_CREATE_GUEST_MEMFD: the new guest_memfd fd.
int ckvm_create_guest_memfd(int vm_fd, const struct ckvm_create_guest_memfd *arg);
/// KVM_SET_USER_MEMORY_REGION (v1).
int ckvm_set_user_memory_region(int vm_fd, const struct ckvm_userspace_memory_region *arg);
/// KVM_SET_USER_MEMORY_REGION2.
int ckvm_set_user_memory_region2(int vm_fd, const struct ckvm_userspace_memory_region2 *arg);
/// KVM_SET_MEMORY_ATTRIBUTES.
int ckvm_set_memory_attributes(int vm_fd, const struct ckvm_memory_attributes *arg);
/// KVM_CREATE_IRQCHIP.
int ckvm_create_irqchip(int vm_fd);
/// KVM_SET_TSS_ADDR.
int ckvm_set_tss_addr(int vm_fd, unsigned long address);
/// KVM_GET_STATS_FD (on a VM or vCPU fd): the new stats fd.
int ckvm_get_stats_fd(int fd);

// MARK: - Post-6.18 ioctls (profile `next`; numbers provisional)

/// KVM_SET_MEMORY_ATTRIBUTES2 on a guest_memfd (in-place conversion v13): 0 or -errno;
/// `error_offset` (may be NULL) goes in as the field's initial value and comes back as the
/// kernel left it (it writes the offending offset on EAGAIN and EOPNOTSUPP).
int ckvm_set_memory_attributes2(int gmem_fd, uint64_t offset, uint64_t size, uint64_t attributes, uint64_t flags,
                                uint64_t *error_offset);
/// KVM_LINK_GUEST_MEMFD (RFC v2) on a VM fd: the new guest_memfd fd or -errno.
int ckvm_link_guest_memfd(int vm_fd, int fd, uint64_t flags);
/// KVM_PRE_FAULT_MEMORY (6.10) on a vCPU fd: 0 or -errno; `remaining` (may be NULL) gets the
/// size the kernel left unprocessed.
int ckvm_pre_fault_memory(int vcpu_fd, uint64_t gpa, uint64_t size, uint64_t flags, uint64_t *remaining);
/// vmsplice(pipe_fd, {address, length}, 1, SPLICE_F_NONBLOCK): the pipe holds a reference on
/// each page until it is closed (a page pin); the bytes taken or -errno.
long ckvm_vmsplice_pages(int pipe_fd, uint64_t address, uint64_t length);

// MARK: - vCPU ioctls

/// KVM_RUN. Not retried on EINTR: EINTR is how a kick is reported.
int ckvm_run(int vcpu_fd);
int ckvm_get_regs(int vcpu_fd, struct ckvm_regs *regs);
int ckvm_set_regs(int vcpu_fd, const struct ckvm_regs *regs);
int ckvm_get_sregs(int vcpu_fd, struct ckvm_sregs *sregs);
int ckvm_set_sregs(int vcpu_fd, const struct ckvm_sregs *sregs);

// MARK: - guest_memfd file operations

/// fallocate(fd, mode, offset, length), retried on EINTR: 0 or -errno.
int ckvm_fallocate(int fd, int mode, uint64_t offset, uint64_t length);

/// memfd_create("gmemkit", MFD_CLOEXEC): an fd that is not a guest_memfd, for conformance
/// checks (GMEM-SPEC B4). Returns the fd or -errno.
int ckvm_memfd_create(void);
/// ftruncate(fd, size), retried on EINTR: 0 or -errno.
int ckvm_ftruncate(int fd, uint64_t size);
/// fcntl(fd, F_DUPFD_CLOEXEC, 0): the new fd or -errno.
int ckvm_dup_cloexec(int fd);
/// open(path, flags | O_CLOEXEC), retried on EINTR: fd or -errno.
int ckvm_open_flags(const char *path, int flags);

// MARK: - Host mappings (each returns 0 or -errno, captured right after the call)

/// mmap(NULL, length, prot, flags, fd, offset); stores the address in *out.
int ckvm_mmap(uint64_t length, int prot, int flags, int fd, uint64_t offset, void **out);
/// mmap(address, length, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0): replaces a
/// range of a mapping this process owns by an inaccessible reservation.
int ckvm_mmap_fixed_none(void *address, uint64_t length);
/// munmap(address, length).
int ckvm_munmap(void *address, uint64_t length);
/// mincore(address, length, vector).
int ckvm_mincore(void *address, uint64_t length, unsigned char *vector);

/// mbind(addr, len, mode, {node mask}, 64, 0), raw (no libnuma): 0 or -errno. For the NUMA
/// policy facts of the kernel profiles (GMEM-SPEC M7).
int ckvm_mbind(uint64_t address, uint64_t length, int mode, uint64_t node_mask);

// MARK: - Kicking a running vCPU

/// Atomically stores `value` into run->immediate_exit (safe from any thread).
void ckvm_set_immediate_exit(struct ckvm_run *run, uint8_t value);
/// The signal GmemKit uses to kick a vCPU thread out of KVM_RUN: SIGRTMIN + 3 unless an
/// embedder chose another with ckvm_set_kick_signal.
int ckvm_kick_signal(void);
/// Makes `signo` (SIGRTMIN … SIGRTMAX) the kick signal: installs the no-op handler
/// (without SA_RESTART) for it, then uses it for every later kick. Fails with -EINVAL for
/// a signal outside the real-time range and -EBUSY when the signal already has a handler
/// that is not GmemKit's (the embedder's own use of it). Returns 0 or -errno.
int ckvm_set_kick_signal(int signo);
/// SIGRTMIN and SIGRTMAX of this process (glibc macros that Swift cannot import).
int ckvm_sigrtmin(void);
int ckvm_sigrtmax(void);
/// Installs a no-op handler for the kick signal, without SA_RESTART (once per signal).
/// Returns 0 or -errno.
int ckvm_install_kick_handler(void);
/// Unblocks the kick signal in the calling thread. Returns 0 or -errno.
int ckvm_unblock_kick_signal(void);
/// pthread_kill(thread, kick signal). Returns 0 or -errno.
int ckvm_kick_thread(unsigned long thread);
/// Arms a CLOCK_MONOTONIC timer that sends the kick signal to the calling thread after
/// `first_ns`, then every `interval_ns` (0: once), so a deadline interrupts KVM_RUN on that
/// thread without another thread to wait for it. Stores the timer in *timer; 0 or -errno.
int ckvm_kick_timer_start(uint64_t first_ns, uint64_t interval_ns, uintptr_t *timer);
/// Deletes a timer from ckvm_kick_timer_start. Returns 0 or -errno.
int ckvm_kick_timer_stop(uintptr_t timer);
/// pthread_self() as an integer.
unsigned long ckvm_current_thread(void);
/// Names the calling thread (at most 15 bytes are kept), as shown in /proc/self/task/*/comm.
void ckvm_name_current_thread(const char *name);
/// The kernel's id of the calling thread (gettid), which names KVM's per-VM debugfs folder.
int ckvm_current_tid(void);

// MARK: - Probing host accesses in a child process

/// The outcome of ckvm_probe_access: the signal that ended the child, or 0 when the access
/// completed, or -errno when the child could not be forked or waited for.
/// Forks; the child reads (or writes, when `write` is non-zero) one byte at `address` and
/// exits 0. Used to check the SIGBUS rules (GMEM-SPEC M3, M4) without risking this process.
int ckvm_probe_access(volatile uint8_t *address, int write);

/// Probes one byte at `address` in this process, with the fault the access itself would
/// take: a load, or for `write` a `lock or $0` (a write fault that leaves the byte as it
/// was). SIGBUS and SIGSEGV are caught for the duration (sigsetjmp, the previous handlers
/// restored after). Returns the signal the access raised, 0, or -errno. Unlike
/// ckvm_probe_access it does not fork, so it never write-protects this process's private
/// pages (fork's copy-on-write), and the page-table entries it creates are the access's own.
/// Not for concurrent use from several threads of the same process.
int ckvm_probe_access_here(volatile uint8_t *address, int write);


// MARK: - vCPU state for snapshots (MSRs, pending events, FPU)

/// struct kvm_vcpu_events (x86, 64 bytes), kept opaque: GmemKit saves and restores it whole
/// and decodes only the fields it reports (offsets in ckvm.c's static asserts).
struct ckvm_vcpu_events { uint8_t raw[64]; };
/// struct kvm_fpu (x86, 416 bytes), kept opaque.
struct ckvm_fpu { uint8_t raw[416]; };

/// The most MSRs one ckvm_get_msrs/ckvm_set_msrs call moves.
#define CKVM_MAX_MSRS 32

/// KVM_GET_MSRS of `count` (<= CKVM_MAX_MSRS) MSRs named by `indices` into `values`: the
/// number read (the kernel stops at the first MSR it cannot read), or -errno.
int ckvm_get_msrs(int vcpu_fd, uint32_t count, const uint32_t *indices, uint64_t *values);
/// KVM_SET_MSRS: the number written (stops at the first refused MSR), or -errno.
int ckvm_set_msrs(int vcpu_fd, uint32_t count, const uint32_t *indices, const uint64_t *values);
/// KVM_GET_VCPU_EVENTS / KVM_SET_VCPU_EVENTS.
int ckvm_get_vcpu_events(int vcpu_fd, struct ckvm_vcpu_events *events);
int ckvm_set_vcpu_events(int vcpu_fd, const struct ckvm_vcpu_events *events);
/// KVM_GET_FPU / KVM_SET_FPU.
int ckvm_get_fpu(int vcpu_fd, struct ckvm_fpu *fpu);
int ckvm_set_fpu(int vcpu_fd, const struct ckvm_fpu *fpu);

// MARK: - Probes of the population paths a restore may use

/// pwrite(fd, buffer, length, offset), retried on EINTR: bytes written or -errno.
int64_t ckvm_pwrite(int fd, const void *buffer, uint64_t length, uint64_t offset);
/// Opens a userfaultfd (user-mode faults only), completes the UFFDIO_API handshake and tries
/// UFFDIO_REGISTER over [address, address + length) in MISSING (`minor` 0) or MINOR mode;
/// unregisters and closes again. Returns 0 when registration worked, else -errno of the first
/// step that failed, with that step in *stage (0 userfaultfd(2), 1 UFFDIO_API, 2 UFFDIO_REGISTER).
int ckvm_probe_userfaultfd(void *address, uint64_t length, int minor, int *stage);

#ifdef __cplusplus
}
#endif

#endif  // CKVM_H
