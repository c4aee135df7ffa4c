// CBaseline: plain C loops over the same ioctls as GmemKit's hot paths, used only by
// `gmem bench` to report every figure as a ratio against C in the same run. It calls the
// CKVM wrappers (each one `ioctl`/syscall returning -errno), exactly what the Swift side calls.
#ifndef CBASELINE_H
#define CBASELINE_H

#include <stddef.h>
#include <stdint.h>

/// What a guest needs to boot: bytes at GPA 0 (GDT, page tables, TSS), the image at
/// `image_gpa`, and the vCPU's special and general registers as `struct ckvm_sregs` /
/// `struct ckvm_regs` bytes (computed once by MicroVM, as a C VMM would have them as constants).
struct cb_boot {
    const uint8_t *low;
    size_t low_length;
    const uint8_t *image;
    size_t image_length;
    uint64_t image_gpa;
    uint64_t memory_size;
    const void *sregs;
    size_t sregs_length;
    const void *regs;
    size_t regs_length;
    uint32_t parameter;
};

/// What one run did.
struct cb_result {
    /// The guest's exit status (>= 0), or -errno of the failing call, or -1000 - exit reason.
    int64_t status;
    uint64_t pings;
    uint64_t exits;
    /// KVM_CREATE_VM → first exit, and open(/dev/kvm) → after full teardown, in ns.
    uint64_t first_exit_ns;
    uint64_t total_ns;
    /// First exit → each pass-done port write, in ns (at most 4).
    uint64_t pass_ns[4];
    int passes;
};

/// Boots `boot` from nothing (/dev/kvm, VM, guest_memfd of `memory_size` with MMAP|INIT_SHARED,
/// copy, memslot, vCPU, registers), runs it until the guest writes the exit port, tears
/// everything down. Returns 0 or -errno (also in result->status).
int cb_run_guest(const struct cb_boot *boot, struct cb_result *result);

/// One guest_memfd for the populate figure, opened by cb_gmem_open: /dev/kvm, a VM, a
/// guest_memfd of `size` bytes with MMAP|INIT_SHARED, and its shared mapping.
struct cb_gmem {
    int kvm, vm, gmem;
    uint8_t *memory;
    uint64_t size;
};

/// Opens `g` (see struct cb_gmem). Returns 0 or -errno (nothing stays open on failure).
int cb_gmem_open(uint64_t size, struct cb_gmem *g);
/// fallocate(KEEP_SIZE) of [offset, offset + length), timed in *ns. 0 or -errno.
int cb_gmem_allocate(const struct cb_gmem *g, uint64_t offset, uint64_t length, uint64_t *ns);
/// First touch: one byte written per page of [offset, offset + length) through the mapping, timed.
void cb_gmem_touch(const struct cb_gmem *g, uint64_t offset, uint64_t length, uint64_t *ns);
/// fallocate(PUNCH_HOLE|KEEP_SIZE) of [offset, offset + length), timed in *ns. 0 or -errno.
int cb_gmem_punch(const struct cb_gmem *g, uint64_t offset, uint64_t length, uint64_t *ns);
/// Unmaps and closes everything cb_gmem_open opened.
void cb_gmem_close(struct cb_gmem *g);

/// memset of `size` bytes of fresh anonymous memory (first touch), in ns; 0 or -errno.
int cb_memset_anonymous(uint64_t size, uint64_t *ns);

/// Density: builds `count` VMs from `boot` (one /dev/kvm fd for all; per VM: VM, guest_memfd
/// mapped and bound, vCPU with its run page, run to its first exit) and keeps them alive until
/// cb_density_down. Returns how many were built (== count on success) or -errno.
int cb_density_up(const struct cb_boot *boot, int count);

/// Tears down everything cb_density_up built.
void cb_density_down(void);

/// Monotonic clock, ns.
uint64_t cb_now_ns(void);

#endif
