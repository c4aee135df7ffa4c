// Fixed-arity wrappers over the KVM ioctls GmemKit uses. Each builds nothing and decides
// nothing: it calls the kernel and maps a failure to -errno. Policy lives in Swift.

#define _GNU_SOURCE
#include "ckvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ioctl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/userfaultfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// MARK: - The pinned ABI, checked

_Static_assert(sizeof(struct ckvm_create_guest_memfd) == 64, "kvm_create_guest_memfd is 64 bytes");
_Static_assert(sizeof(struct ckvm_userspace_memory_region) == 32, "kvm_userspace_memory_region is 32 bytes");
_Static_assert(sizeof(struct ckvm_userspace_memory_region2) == 160, "kvm_userspace_memory_region2 is 160 bytes");
_Static_assert(sizeof(struct ckvm_memory_attributes) == 32, "kvm_memory_attributes is 32 bytes");
_Static_assert(sizeof(struct ckvm_regs) == 144, "kvm_regs is 144 bytes");
_Static_assert(sizeof(struct ckvm_segment) == 24, "kvm_segment is 24 bytes");
_Static_assert(sizeof(struct ckvm_dtable) == 16, "kvm_dtable is 16 bytes");
_Static_assert(sizeof(struct ckvm_sregs) == 312, "kvm_sregs is 312 bytes");
_Static_assert(sizeof(union ckvm_run_exit) == 256, "the kvm_run exit union is 256 bytes");
_Static_assert(offsetof(struct ckvm_run, exit_reason) == 8, "kvm_run.exit_reason at 8");
_Static_assert(offsetof(struct ckvm_run, exit) == 32, "kvm_run exit union at 32");
_Static_assert(offsetof(struct ckvm_run, kvm_valid_regs) == 288, "kvm_run.kvm_valid_regs at 288");
_Static_assert(offsetof(union ckvm_run_exit, memory_fault.gpa) == 8, "memory_fault.gpa at 8");
_Static_assert(offsetof(union ckvm_run_exit, io.data_offset) == 8, "io.data_offset at 8");
_Static_assert(offsetof(union ckvm_run_exit, mmio.len) == 16, "mmio.len at 16");
_Static_assert(offsetof(union ckvm_run_exit, system_event.flags) == 8, "system_event.flags at 8");

// MARK: - ioctl numbers (KVMIO = 0xAE)

#define CKVMIO 0xAE
#define CKVM_GET_API_VERSION _IO(CKVMIO, 0x00)
#define CKVM_CREATE_VM _IO(CKVMIO, 0x01)
#define CKVM_CHECK_EXTENSION _IO(CKVMIO, 0x03)
#define CKVM_GET_VCPU_MMAP_SIZE _IO(CKVMIO, 0x04)
#define CKVM_CREATE_VCPU _IO(CKVMIO, 0x41)
#define CKVM_SET_USER_MEMORY_REGION _IOW(CKVMIO, 0x46, struct ckvm_userspace_memory_region)
#define CKVM_SET_TSS_ADDR _IO(CKVMIO, 0x47)
#define CKVM_SET_USER_MEMORY_REGION2 _IOW(CKVMIO, 0x49, struct ckvm_userspace_memory_region2)
#define CKVM_CREATE_IRQCHIP _IO(CKVMIO, 0x60)
#define CKVM_RUN _IO(CKVMIO, 0x80)
#define CKVM_GET_REGS _IOR(CKVMIO, 0x81, struct ckvm_regs)
#define CKVM_SET_REGS _IOW(CKVMIO, 0x82, struct ckvm_regs)
#define CKVM_GET_SREGS _IOR(CKVMIO, 0x83, struct ckvm_sregs)
#define CKVM_SET_SREGS _IOW(CKVMIO, 0x84, struct ckvm_sregs)
#define CKVM_GET_STATS_FD _IO(CKVMIO, 0xce)
#define CKVM_SET_MEMORY_ATTRIBUTES _IOW(CKVMIO, 0xd2, struct ckvm_memory_attributes)
#define CKVM_CREATE_GUEST_MEMFD _IOWR(CKVMIO, 0xd4, struct ckvm_create_guest_memfd)

// MARK: - Helpers

/// Calls ioctl, retrying on EINTR (for every request but KVM_RUN, EINTR carries no meaning).
static int ioctl_retrying(int fd, unsigned long request, unsigned long arg) {
    for (;;) {
        int r = ioctl(fd, request, arg);
        if (r >= 0) return r;
        if (errno != EINTR) return -errno;
    }
}

#define PTR(p) ((unsigned long)(uintptr_t)(p))

int ckvm_open(const char *path) {
    for (;;) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd >= 0) return fd;
        if (errno != EINTR) return -errno;
    }
}

int ckvm_get_api_version(int kvm_fd) { return ioctl_retrying(kvm_fd, CKVM_GET_API_VERSION, 0); }
int ckvm_check_extension(int fd, long capability) {
    return ioctl_retrying(fd, CKVM_CHECK_EXTENSION, (unsigned long)capability);
}
int ckvm_get_vcpu_mmap_size(int kvm_fd) { return ioctl_retrying(kvm_fd, CKVM_GET_VCPU_MMAP_SIZE, 0); }
int ckvm_create_vm(int kvm_fd, unsigned long type) { return ioctl_retrying(kvm_fd, CKVM_CREATE_VM, type); }

int ckvm_create_vcpu(int vm_fd, unsigned long vcpu_id) {
    return ioctl_retrying(vm_fd, CKVM_CREATE_VCPU, vcpu_id);
}
int ckvm_create_guest_memfd(int vm_fd, const struct ckvm_create_guest_memfd *arg) {
    return ioctl_retrying(vm_fd, CKVM_CREATE_GUEST_MEMFD, PTR(arg));
}
int ckvm_set_user_memory_region(int vm_fd, const struct ckvm_userspace_memory_region *arg) {
    return ioctl_retrying(vm_fd, CKVM_SET_USER_MEMORY_REGION, PTR(arg));
}
int ckvm_set_user_memory_region2(int vm_fd, const struct ckvm_userspace_memory_region2 *arg) {
    return ioctl_retrying(vm_fd, CKVM_SET_USER_MEMORY_REGION2, PTR(arg));
}
int ckvm_set_memory_attributes(int vm_fd, const struct ckvm_memory_attributes *arg) {
    return ioctl_retrying(vm_fd, CKVM_SET_MEMORY_ATTRIBUTES, PTR(arg));
}
int ckvm_create_irqchip(int vm_fd) { return ioctl_retrying(vm_fd, CKVM_CREATE_IRQCHIP, 0); }
int ckvm_set_tss_addr(int vm_fd, unsigned long address) {
    return ioctl_retrying(vm_fd, CKVM_SET_TSS_ADDR, address);
}
int ckvm_get_stats_fd(int fd) { return ioctl_retrying(fd, CKVM_GET_STATS_FD, 0); }

int ckvm_run(int vcpu_fd) {
    int r = ioctl(vcpu_fd, CKVM_RUN, 0);
    return r < 0 ? -errno : r;
}
int ckvm_get_regs(int vcpu_fd, struct ckvm_regs *regs) {
    return ioctl_retrying(vcpu_fd, CKVM_GET_REGS, PTR(regs));
}
int ckvm_set_regs(int vcpu_fd, const struct ckvm_regs *regs) {
    return ioctl_retrying(vcpu_fd, CKVM_SET_REGS, PTR(regs));
}
int ckvm_get_sregs(int vcpu_fd, struct ckvm_sregs *sregs) {
    return ioctl_retrying(vcpu_fd, CKVM_GET_SREGS, PTR(sregs));
}
int ckvm_set_sregs(int vcpu_fd, const struct ckvm_sregs *sregs) {
    return ioctl_retrying(vcpu_fd, CKVM_SET_SREGS, PTR(sregs));
}

int ckvm_fallocate(int fd, int mode, uint64_t offset, uint64_t length) {
    for (;;) {
        if (fallocate(fd, mode, (off_t)offset, (off_t)length) == 0) return 0;
        if (errno != EINTR) return -errno;
    }
}

int ckvm_mbind(uint64_t address, uint64_t length, int mode, uint64_t node_mask) {
    unsigned long mask = (unsigned long)node_mask;
    long result = syscall(SYS_mbind, (unsigned long)address, (unsigned long)length, (unsigned long)mode,
                          mode == 0 ? (unsigned long)0 : (unsigned long)&mask, mode == 0 ? 0ul : 64ul, 0ul);
    return result < 0 ? -errno : 0;
}

int ckvm_memfd_create(void) {
    int fd = memfd_create("gmemkit", MFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int ckvm_ftruncate(int fd, uint64_t size) {
    for (;;) {
        if (ftruncate(fd, (off_t)size) == 0) return 0;
        if (errno != EINTR) return -errno;
    }
}

int ckvm_dup_cloexec(int fd) {
    int r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    return r < 0 ? -errno : r;
}

int ckvm_open_flags(const char *path, int flags) {
    for (;;) {
        int fd = open(path, flags | O_CLOEXEC);
        if (fd >= 0) return fd;
        if (errno != EINTR) return -errno;
    }
}

// MARK: - Host mappings

int ckvm_mmap(uint64_t length, int prot, int flags, int fd, uint64_t offset, void **out) {
    void *p = mmap(NULL, (size_t)length, prot, flags, fd, (off_t)offset);
    if (p == MAP_FAILED) return -errno;
    *out = p;
    return 0;
}

int ckvm_mmap_fixed_none(void *address, uint64_t length) {
    void *p = mmap(address, (size_t)length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    return p == MAP_FAILED ? -errno : 0;
}

int ckvm_munmap(void *address, uint64_t length) {
    return munmap(address, (size_t)length) == 0 ? 0 : -errno;
}

int ckvm_mincore(void *address, uint64_t length, unsigned char *vector) {
    return mincore(address, (size_t)length, vector) == 0 ? 0 : -errno;
}

// MARK: - Kicks

void ckvm_set_immediate_exit(struct ckvm_run *run, uint8_t value) {
    __atomic_store_n(&run->immediate_exit, value, __ATOMIC_SEQ_CST);
}

// 0 until chosen: SIGRTMIN is not a constant (glibc reserves the first real-time signals).
static _Atomic int kick_signo = 0;
static pthread_mutex_t kick_lock = PTHREAD_MUTEX_INITIALIZER;
/// The signal whose handler this library installed last (a fast path for every run).
static _Atomic int installed_signo = 0;

int ckvm_kick_signal(void) {
    int signo = atomic_load(&kick_signo);
    return signo != 0 ? signo : SIGRTMIN + 3;
}

static void kick_handler(int signo) { (void)signo; }

/// Installs kick_handler for `signo` unless it is there already; -EBUSY when another
/// handler is. Called with kick_lock held.
static int install_handler_locked(int signo) {
    struct sigaction old;
    if (sigaction(signo, NULL, &old) != 0) return -errno;
    if (old.sa_handler == kick_handler) return 0;
    if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) return -EBUSY;
    struct sigaction action = {0};
    action.sa_handler = kick_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
    return sigaction(signo, &action, NULL) == 0 ? 0 : -errno;
}

int ckvm_sigrtmin(void) { return SIGRTMIN; }
int ckvm_sigrtmax(void) { return SIGRTMAX; }

int ckvm_set_kick_signal(int signo) {
    if (signo < SIGRTMIN || signo > SIGRTMAX) return -EINVAL;
    pthread_mutex_lock(&kick_lock);
    int r = install_handler_locked(signo);
    if (r == 0) {
        atomic_store(&kick_signo, signo);
        atomic_store(&installed_signo, signo);
    }
    pthread_mutex_unlock(&kick_lock);
    return r;
}

int ckvm_install_kick_handler(void) {
    int signo = ckvm_kick_signal();
    if (atomic_load(&installed_signo) == signo) return 0;
    pthread_mutex_lock(&kick_lock);
    int r = install_handler_locked(signo);
    if (r == 0) atomic_store(&installed_signo, signo);
    pthread_mutex_unlock(&kick_lock);
    return r;
}

int ckvm_unblock_kick_signal(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, ckvm_kick_signal());
    int r = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return r == 0 ? 0 : -r;
}

int ckvm_kick_thread(unsigned long thread) {
    int r = pthread_kill((pthread_t)thread, ckvm_kick_signal());
    return r == 0 ? 0 : -r;
}

int ckvm_kick_timer_start(uint64_t first_ns, uint64_t interval_ns, uintptr_t *timer) {
    struct sigevent event = {0};
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = ckvm_kick_signal();
    event._sigev_un._tid = gettid();
    timer_t id;
    if (timer_create(CLOCK_MONOTONIC, &event, &id) != 0) return -errno;
    struct itimerspec spec = {
        .it_value = { .tv_sec = (time_t)(first_ns / 1000000000u), .tv_nsec = (long)(first_ns % 1000000000u) },
        .it_interval = { .tv_sec = (time_t)(interval_ns / 1000000000u), .tv_nsec = (long)(interval_ns % 1000000000u) },
    };
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;  // 0 would disarm
    if (timer_settime(id, 0, &spec, NULL) != 0) {
        int error = errno;
        timer_delete(id);
        return -error;
    }
    *timer = (uintptr_t)id;
    return 0;
}

int ckvm_kick_timer_stop(uintptr_t timer) {
    return timer_delete((timer_t)timer) == 0 ? 0 : -errno;
}

unsigned long ckvm_current_thread(void) { return (unsigned long)pthread_self(); }
void ckvm_name_current_thread(const char *name) { pthread_setname_np(pthread_self(), name); }
int ckvm_current_tid(void) { return (int)gettid(); }

// MARK: - Probes

int ckvm_probe_access(volatile uint8_t *address, int write) {
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid == 0) {
        // The child touches the byte and exits; only async-signal-safe calls here.
        signal(SIGBUS, SIG_DFL);
        signal(SIGSEGV, SIG_DFL);
        if (write) {
            *address = 0x5a;
        } else {
            uint8_t value = *address;
            (void)value;
        }
        _exit(0);
    }
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, 0);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) return -errno;
    }
    if (WIFSIGNALED(status)) return WTERMSIG(status);
    return 0;
}

static __thread sigjmp_buf *ckvm_probe_jump;

static void ckvm_probe_handler(int signal) {
    siglongjmp(*ckvm_probe_jump, signal);
}

int ckvm_probe_access_here(volatile uint8_t *address, int write) {
    struct sigaction action, old_bus, old_segv;
    memset(&action, 0, sizeof action);
    action.sa_handler = ckvm_probe_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_NODEFER;
    if (sigaction(SIGBUS, &action, &old_bus) != 0) return -errno;
    if (sigaction(SIGSEGV, &action, &old_segv) != 0) {
        int error = errno;
        sigaction(SIGBUS, &old_bus, NULL);
        return -error;
    }
    sigjmp_buf jump;
    ckvm_probe_jump = &jump;
    volatile int result = sigsetjmp(jump, 1);
    if (result == 0) {
        if (write) {
            __asm__ volatile("lock orb $0, %0" : "+m"(*address) : : "memory");
        } else {
            uint8_t value = *address;
            (void)value;
        }
    }
    ckvm_probe_jump = NULL;
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    return result;
}

// MARK: - vCPU state for snapshots

_Static_assert(sizeof(struct ckvm_vcpu_events) == 64, "kvm_vcpu_events is 64 bytes");
_Static_assert(sizeof(struct ckvm_fpu) == 416, "kvm_fpu is 416 bytes");

#define CKVM_GET_MSRS _IOWR(CKVMIO, 0x88, struct ckvm_msrs_head)
#define CKVM_SET_MSRS _IOW(CKVMIO, 0x89, struct ckvm_msrs_head)
#define CKVM_GET_FPU _IOR(CKVMIO, 0x8c, struct ckvm_fpu)
#define CKVM_SET_FPU _IOW(CKVMIO, 0x8d, struct ckvm_fpu)
#define CKVM_GET_VCPU_EVENTS _IOR(CKVMIO, 0x9f, struct ckvm_vcpu_events)
#define CKVM_SET_VCPU_EVENTS _IOW(CKVMIO, 0xa0, struct ckvm_vcpu_events)

/// struct kvm_msrs without its flexible array (8 bytes: the size the ioctl number encodes).
struct ckvm_msrs_head { uint32_t nmsrs; uint32_t pad; };
struct ckvm_msr_entry { uint32_t index; uint32_t reserved; uint64_t data; };
struct ckvm_msrs { struct ckvm_msrs_head head; struct ckvm_msr_entry entries[CKVM_MAX_MSRS]; };
_Static_assert(sizeof(struct ckvm_msrs_head) == 8, "kvm_msrs is 8 bytes before its entries");
_Static_assert(sizeof(struct ckvm_msr_entry) == 16, "kvm_msr_entry is 16 bytes");

int ckvm_get_msrs(int vcpu_fd, uint32_t count, const uint32_t *indices, uint64_t *values) {
    if (count > CKVM_MAX_MSRS) return -EINVAL;
    struct ckvm_msrs msrs = {0};
    msrs.head.nmsrs = count;
    for (uint32_t i = 0; i < count; i++) msrs.entries[i].index = indices[i];
    int r = ioctl_retrying(vcpu_fd, CKVM_GET_MSRS, PTR(&msrs));
    if (r < 0) return r;
    for (int i = 0; i < r && i < (int)count; i++) values[i] = msrs.entries[i].data;
    return r;
}

int ckvm_set_msrs(int vcpu_fd, uint32_t count, const uint32_t *indices, const uint64_t *values) {
    if (count > CKVM_MAX_MSRS) return -EINVAL;
    struct ckvm_msrs msrs = {0};
    msrs.head.nmsrs = count;
    for (uint32_t i = 0; i < count; i++) {
        msrs.entries[i].index = indices[i];
        msrs.entries[i].data = values[i];
    }
    return ioctl_retrying(vcpu_fd, CKVM_SET_MSRS, PTR(&msrs));
}

int ckvm_get_vcpu_events(int vcpu_fd, struct ckvm_vcpu_events *events) {
    return ioctl_retrying(vcpu_fd, CKVM_GET_VCPU_EVENTS, PTR(events));
}
int ckvm_set_vcpu_events(int vcpu_fd, const struct ckvm_vcpu_events *events) {
    return ioctl_retrying(vcpu_fd, CKVM_SET_VCPU_EVENTS, PTR(events));
}
int ckvm_get_fpu(int vcpu_fd, struct ckvm_fpu *fpu) { return ioctl_retrying(vcpu_fd, CKVM_GET_FPU, PTR(fpu)); }
int ckvm_set_fpu(int vcpu_fd, const struct ckvm_fpu *fpu) { return ioctl_retrying(vcpu_fd, CKVM_SET_FPU, PTR(fpu)); }

// MARK: - Population probes

int64_t ckvm_pwrite(int fd, const void *buffer, uint64_t length, uint64_t offset) {
    for (;;) {
        ssize_t n = pwrite(fd, buffer, (size_t)length, (off_t)offset);
        if (n >= 0) return (int64_t)n;
        if (errno != EINTR) return -errno;
    }
}

int ckvm_probe_userfaultfd(void *address, uint64_t length, int minor, int *stage) {
    *stage = 0;
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (fd < 0) return -errno;
    struct uffdio_api api = { .api = UFFD_API, .features = minor ? UFFD_FEATURE_MINOR_SHMEM : 0 };
    *stage = 1;
    if (ioctl(fd, UFFDIO_API, &api) != 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    struct uffdio_register reg = {
        .range = { .start = (uint64_t)(uintptr_t)address, .len = length },
        .mode = minor ? UFFDIO_REGISTER_MODE_MINOR : UFFDIO_REGISTER_MODE_MISSING,
    };
    *stage = 2;
    if (ioctl(fd, UFFDIO_REGISTER, &reg) != 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    ioctl(fd, UFFDIO_UNREGISTER, &reg.range);
    close(fd);
    return 0;
}

// MARK: - Post-6.18 surfaces (profile `next`; numbers provisional: probe, never assume)

/// struct kvm_memory_attributes2 (in-place conversion v8–v13): 128 bytes.
struct ckvm_memory_attributes2 {
    uint64_t offset;
    uint64_t size;
    uint64_t attributes;
    uint64_t flags;
    uint64_t error_offset;
    uint64_t reserved[11];
};
_Static_assert(sizeof(struct ckvm_memory_attributes2) == 128, "kvm_memory_attributes2 is 128 bytes");

/// struct kvm_link_guest_memfd (KVM_LINK_GUEST_MEMFD RFC v2): 64 bytes.
struct ckvm_link_guest_memfd {
    uint64_t fd;
    uint64_t flags;
    uint64_t reserved[6];
};
_Static_assert(sizeof(struct ckvm_link_guest_memfd) == 64, "kvm_link_guest_memfd is 64 bytes");

/// struct kvm_pre_fault_memory (6.10): 64 bytes.
struct ckvm_pre_fault_memory {
    uint64_t gpa;
    uint64_t size;
    uint64_t flags;
    uint64_t padding[5];
};
_Static_assert(sizeof(struct ckvm_pre_fault_memory) == 64, "kvm_pre_fault_memory is 64 bytes");

#define CKVM_SET_MEMORY_ATTRIBUTES2 _IOWR(CKVMIO, 0xd2, struct ckvm_memory_attributes2)
#define CKVM_LINK_GUEST_MEMFD _IOWR(CKVMIO, 0xd6, struct ckvm_link_guest_memfd)
#define CKVM_PRE_FAULT_MEMORY _IOWR(CKVMIO, 0xd5, struct ckvm_pre_fault_memory)

int ckvm_set_memory_attributes2(int gmem_fd, uint64_t offset, uint64_t size, uint64_t attributes, uint64_t flags,
                                uint64_t *error_offset) {
    struct ckvm_memory_attributes2 arg = { .offset = offset, .size = size, .attributes = attributes, .flags = flags,
                                           .error_offset = error_offset ? *error_offset : 0 };
    int r = ioctl_retrying(gmem_fd, CKVM_SET_MEMORY_ATTRIBUTES2, PTR(&arg));
    if (error_offset) *error_offset = arg.error_offset;
    return r;
}

int ckvm_link_guest_memfd(int vm_fd, int fd, uint64_t flags) {
    // The fd field is a __u64: a negative fd travels sign-extended, as C callers pass it.
    struct ckvm_link_guest_memfd arg = { .fd = (uint64_t)(int64_t)fd, .flags = flags };
    return ioctl_retrying(vm_fd, CKVM_LINK_GUEST_MEMFD, PTR(&arg));
}

int ckvm_pre_fault_memory(int vcpu_fd, uint64_t gpa, uint64_t size, uint64_t flags, uint64_t *remaining) {
    struct ckvm_pre_fault_memory arg = { .gpa = gpa, .size = size, .flags = flags };
    int r = ioctl_retrying(vcpu_fd, CKVM_PRE_FAULT_MEMORY, PTR(&arg));
    if (remaining) *remaining = arg.size;
    return r;
}

long ckvm_vmsplice_pages(int pipe_fd, uint64_t address, uint64_t length) {
    struct iovec iov = { .iov_base = (void *)(uintptr_t)address, .iov_len = (size_t)length };
    for (;;) {
        ssize_t r = vmsplice(pipe_fd, &iov, 1, SPLICE_F_NONBLOCK);
        if (r >= 0) return (long)r;
        if (errno != EINTR) return -errno;
    }
}
