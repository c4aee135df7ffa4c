// CBaseline: the C side of every `gmem bench` figure. Straight-line C over the CKVM wrappers,
// no abstraction the Swift side does not also have, so a ratio against it is the cost of
// GmemKit's safety and structure.
#include "cbaseline.h"
#include "ckvm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum {
    PORT_CONSOLE = 0x3F8,
    PORT_EXIT = 0xF4,
    PORT_PARAMETER = 0x511,
    PORT_PING = 0x512,
    PORT_PASS = 0x513,
};

uint64_t cb_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/// One VM built from a cb_boot: what cb_run_guest runs and cb_density_up keeps alive.
struct cb_vm {
    int vm, gmem, vcpu, run_size;
    uint8_t *memory;
    struct ckvm_run *run;
    uint64_t memory_size;
};

/// A VM on `kvm` and a guest_memfd of `size` bytes with MMAP|INIT_SHARED, mapped shared.
/// Returns 0 or -errno; what it opened before failing is left in *vm, *gmem, *memory.
static int open_vm_memory(int kvm, uint64_t size, int *vm, int *gmem, uint8_t **memory) {
    if ((*vm = ckvm_create_vm(kvm, CKVM_X86_DEFAULT_VM)) < 0) return *vm;
    struct ckvm_create_guest_memfd create = {
        .size = size, .flags = CKVM_GUEST_MEMFD_FLAG_MMAP | CKVM_GUEST_MEMFD_FLAG_INIT_SHARED,
    };
    if ((*gmem = ckvm_create_guest_memfd(*vm, &create)) < 0) return *gmem;
    *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *gmem, 0);
    return *memory == MAP_FAILED ? -errno : 0;
}

static void cb_vm_free(struct cb_vm *v) {
    if (v->run != MAP_FAILED && v->run != NULL) munmap(v->run, (size_t)v->run_size);
    if (v->vcpu >= 0) close(v->vcpu);
    if (v->memory != MAP_FAILED && v->memory != NULL) munmap(v->memory, v->memory_size);
    if (v->gmem >= 0) close(v->gmem);
    if (v->vm >= 0) close(v->vm);
}

/// Builds `v` from `boot` up to the first KVM_RUN: VM, guest_memfd mapped with the boot bytes
/// copied in and bound as memslot 0, vCPU 0 with its run page and registers. 0 or -errno;
/// on failure cb_vm_free(v) closes what was opened.
static int cb_vm_boot(int kvm, int run_size, const struct cb_boot *boot, struct cb_vm *v) {
    *v = (struct cb_vm){ .vm = -1, .gmem = -1, .vcpu = -1, .run_size = run_size, .memory = MAP_FAILED,
                         .run = MAP_FAILED, .memory_size = boot->memory_size };
    int rc;
    if ((rc = open_vm_memory(kvm, boot->memory_size, &v->vm, &v->gmem, &v->memory)) < 0) return rc;
    memcpy(v->memory, boot->low, boot->low_length);
    memcpy(v->memory + boot->image_gpa, boot->image, boot->image_length);
    struct ckvm_userspace_memory_region2 region = {
        .slot = 0, .flags = CKVM_MEM_GUEST_MEMFD, .guest_phys_addr = 0, .memory_size = boot->memory_size,
        .userspace_addr = (uint64_t)(uintptr_t)v->memory, .guest_memfd_offset = 0, .guest_memfd = (uint32_t)v->gmem,
    };
    if ((rc = ckvm_set_user_memory_region2(v->vm, &region)) < 0) return rc;
    if ((v->vcpu = ckvm_create_vcpu(v->vm, 0)) < 0) return v->vcpu;
    v->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
    if (v->run == MAP_FAILED) return -errno;
    struct ckvm_sregs sregs;
    if ((rc = ckvm_get_sregs(v->vcpu, &sregs)) < 0) return rc;
    memcpy(&sregs, boot->sregs, sizeof sregs);
    if ((rc = ckvm_set_sregs(v->vcpu, &sregs)) < 0) return rc;
    return ckvm_set_regs(v->vcpu, (const struct ckvm_regs *)boot->regs);
}

static int cb_loop_run(int vcpu, struct ckvm_run *run, const struct cb_boot *boot, struct cb_result *result);

int cb_run_guest(const struct cb_boot *boot, struct cb_result *result) {
    memset(result, 0, sizeof *result);
    if (boot->sregs_length != sizeof(struct ckvm_sregs) || boot->regs_length != sizeof(struct ckvm_regs)) {
        return (int)(result->status = -EINVAL);
    }
    uint64_t start = cb_now_ns();
    int rc = 0, kvm = -1, run_size = 0;
    struct cb_vm v = { .vm = -1, .gmem = -1, .vcpu = -1, .memory = MAP_FAILED, .run = MAP_FAILED };
    uint64_t created = 0;

    if ((kvm = ckvm_open("/dev/kvm")) < 0) { rc = kvm; goto out; }
    if ((run_size = ckvm_get_vcpu_mmap_size(kvm)) < 0) { rc = run_size; goto out; }
    created = cb_now_ns();
    if ((rc = cb_vm_boot(kvm, run_size, boot, &v)) < 0) goto out;
    rc = cb_loop_run(v.vcpu, v.run, boot, result);
out:
    cb_vm_free(&v);
    if (kvm >= 0) close(kvm);
    result->total_ns = cb_now_ns() - start;
    if (result->first_exit_ns != 0) result->first_exit_ns -= created;  // the loop stores the time
    if (rc < 0) result->status = rc;
    return rc < 0 ? rc : 0;
}

/// The KVM_RUN loop: until the guest writes the exit port; 0 or -errno / -1000 - reason.
static int cb_loop_run(int vcpu, struct ckvm_run *run, const struct cb_boot *boot, struct cb_result *result) {
    int rc;
    uint64_t first = 0, last_pass = 0;
    for (;;) {
        if ((rc = ckvm_run(vcpu)) < 0) return rc;
        result->exits++;
        if (first == 0) {
            first = cb_now_ns();
            result->first_exit_ns = first;
            last_pass = first;
        }
        if (run->exit_reason != CKVM_EXIT_IO) return -1000 - (int)run->exit_reason;
        uint8_t *data = (uint8_t *)run + run->exit.io.data_offset;
        uint16_t port = run->exit.io.port;
        if (run->exit.io.direction == CKVM_EXIT_IO_OUT) {
            if (port == PORT_PING) {
                result->pings++;
            } else if (port == PORT_EXIT) {
                uint32_t status;
                memcpy(&status, data, sizeof status);
                result->status = status;
                return 0;
            } else if (port == PORT_PASS) {
                uint64_t now = cb_now_ns();
                if (result->passes < 4) result->pass_ns[result->passes++] = now - last_pass;
                last_pass = now;
            } else if (port != PORT_CONSOLE) {
                return -1000 - CKVM_EXIT_IO;
            }
        } else if (port == PORT_PARAMETER) {
            memcpy(data, &boot->parameter, run->exit.io.size < 4 ? run->exit.io.size : 4);
        } else {
            return -1000 - CKVM_EXIT_IO;
        }
    }
}

int cb_gmem_open(uint64_t size, struct cb_gmem *g) {
    *g = (struct cb_gmem){ .kvm = -1, .vm = -1, .gmem = -1, .memory = MAP_FAILED, .size = size };
    int rc;
    if ((g->kvm = ckvm_open("/dev/kvm")) < 0) { rc = g->kvm; goto fail; }
    if ((rc = open_vm_memory(g->kvm, size, &g->vm, &g->gmem, &g->memory)) < 0) goto fail;
    return 0;
fail:
    cb_gmem_close(g);
    return rc;
}

int cb_gmem_allocate(const struct cb_gmem *g, uint64_t offset, uint64_t length, uint64_t *ns) {
    uint64_t t0 = cb_now_ns();
    int rc = ckvm_fallocate(g->gmem, 1 /* KEEP_SIZE */, offset, length);
    *ns = cb_now_ns() - t0;
    return rc;
}

void cb_gmem_touch(const struct cb_gmem *g, uint64_t offset, uint64_t length, uint64_t *ns) {
    uint64_t t0 = cb_now_ns();
    for (uint64_t at = offset; at < offset + length; at += 4096) ((volatile uint8_t *)g->memory)[at] = 1;
    *ns = cb_now_ns() - t0;
}

int cb_gmem_punch(const struct cb_gmem *g, uint64_t offset, uint64_t length, uint64_t *ns) {
    uint64_t t0 = cb_now_ns();
    int rc = ckvm_fallocate(g->gmem, 3 /* PUNCH_HOLE|KEEP_SIZE */, offset, length);
    *ns = cb_now_ns() - t0;
    return rc;
}

void cb_gmem_close(struct cb_gmem *g) {
    if (g->memory != MAP_FAILED && g->memory != NULL) munmap(g->memory, g->size);
    if (g->gmem >= 0) close(g->gmem);
    if (g->vm >= 0) close(g->vm);
    if (g->kvm >= 0) close(g->kvm);
    *g = (struct cb_gmem){ .kvm = -1, .vm = -1, .gmem = -1, .memory = MAP_FAILED, .size = 0 };
}

int cb_memset_anonymous(uint64_t size, uint64_t *ns) {
    uint8_t *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return -errno;
    uint64_t t0 = cb_now_ns();
    memset(memory, 1, size);
    *ns = cb_now_ns() - t0;
    munmap(memory, size);
    return 0;
}

static struct cb_vm *density_vms;
static int density_count = -1;
static int density_kvm = -1;

static int density_one(int kvm, int run_size, const struct cb_boot *boot, struct cb_vm *v) {
    int rc;
    if ((rc = cb_vm_boot(kvm, run_size, boot, v)) < 0) return rc;
    if ((rc = ckvm_run(v->vcpu)) < 0) return rc;  // the first exit: the guest reads its parameter
    return v->run->exit_reason == CKVM_EXIT_IO ? 0 : -1000 - (int)v->run->exit_reason;
}

int cb_density_up(const struct cb_boot *boot, int count) {
    if (density_count >= 0 || count <= 0) return -EINVAL;
    if ((density_kvm = ckvm_open("/dev/kvm")) < 0) return density_kvm;
    int run_size = ckvm_get_vcpu_mmap_size(density_kvm);
    if (run_size < 0) { close(density_kvm); density_kvm = -1; return run_size; }
    density_vms = calloc((size_t)count, sizeof *density_vms);
    if (density_vms == NULL) { close(density_kvm); density_kvm = -1; return -ENOMEM; }
    density_count = 0;
    for (int i = 0; i < count; i++) {
        int rc = density_one(density_kvm, run_size, boot, &density_vms[i]);
        density_count = i + 1;
        if (rc < 0) { cb_density_down(); return rc; }
    }
    return density_count;
}

void cb_density_down(void) {
    for (int i = 0; i < density_count; i++) cb_vm_free(&density_vms[i]);
    free(density_vms);
    density_vms = NULL;
    density_count = -1;
    if (density_kvm >= 0) close(density_kvm);
    density_kvm = -1;
}
