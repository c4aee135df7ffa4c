/// The C that every reproducer starts with (after its two size macros): libc headers only,
/// the pinned UAPI subset, outcomes printed as scenario files write them, TAP, the guest probe
/// (CPL3 code in a hidden memslot, as `GuestProbe` does), host accesses probed in this
/// process with the signal caught, and the few helpers the step functions call. `CReproducer` writes the rest.
enum CRuntime {
    static let source = #"""
        #define _GNU_SOURCE
        #include <errno.h>
        #include <fcntl.h>
        #include <inttypes.h>
        #include <pthread.h>
        #include <setjmp.h>
        #include <signal.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/ioctl.h>
        #include <sys/mman.h>
        #include <sys/mount.h>
        #include <sys/resource.h>
        #include <sys/stat.h>
        #include <sys/syscall.h>
        #include <sys/uio.h>
        #include <sys/utsname.h>
        #include <sys/wait.h>
        #include <unistd.h>

        /* Helpers a reproducer may not call are not warnings. */
        #define GM_HELPER static __attribute__((unused))

        /* ---- The pinned UAPI subset (Linux 6.18, x86-64), as GmemKit's CKVM pins it. ---- */
        struct gm_create_guest_memfd { uint64_t size, flags, reserved[6]; };
        struct gm_region { uint32_t slot, flags; uint64_t guest_phys_addr, memory_size, userspace_addr; };
        struct gm_region2 {
            uint32_t slot, flags;
            uint64_t guest_phys_addr, memory_size, userspace_addr, guest_memfd_offset;
            uint32_t guest_memfd, pad1;
            uint64_t pad2[14];
        };
        struct gm_memory_attributes { uint64_t address, size, attributes, flags; };
        /* In-place conversion v13 and KVM_LINK_GUEST_MEMFD RFC v2: provisional numbers. */
        struct gm_memory_attributes2 { uint64_t offset, size, attributes, flags, error_offset, reserved[11]; };
        struct gm_link_guest_memfd { uint64_t fd, flags, reserved[6]; };
        struct gm_regs { uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags; };
        struct gm_segment {
            uint64_t base; uint32_t limit; uint16_t selector; uint8_t type;
            uint8_t present, dpl, db, s, l, g, avl, unusable, padding;
        };
        struct gm_dtable { uint64_t base; uint16_t limit, padding[3]; };
        struct gm_sregs {
            struct gm_segment cs, ds, es, fs, gs, ss, tr, ldt;
            struct gm_dtable gdt, idt;
            uint64_t cr0, cr2, cr3, cr4, cr8, efer, apic_base, interrupt_bitmap[4];
        };
        _Static_assert(sizeof(struct gm_create_guest_memfd) == 64, "kvm_create_guest_memfd");
        _Static_assert(sizeof(struct gm_region) == 32, "kvm_userspace_memory_region");
        _Static_assert(sizeof(struct gm_region2) == 160, "kvm_userspace_memory_region2");
        _Static_assert(sizeof(struct gm_memory_attributes) == 32, "kvm_memory_attributes");
        _Static_assert(sizeof(struct gm_memory_attributes2) == 128, "kvm_memory_attributes2");
        _Static_assert(sizeof(struct gm_link_guest_memfd) == 64, "kvm_link_guest_memfd");
        _Static_assert(sizeof(struct gm_regs) == 144, "kvm_regs");
        _Static_assert(sizeof(struct gm_sregs) == 312, "kvm_sregs");

        #define GM_IOC(dir, nr, size) ((unsigned long)(((unsigned long)(dir) << 30) | ((unsigned long)(size) << 16) | (0xAEul << 8) | (unsigned long)(nr)))
        #define KVM_CREATE_VM GM_IOC(0, 0x01, 0)
        #define KVM_CHECK_EXTENSION GM_IOC(0, 0x03, 0)
        #define KVM_GET_VCPU_MMAP_SIZE GM_IOC(0, 0x04, 0)
        #define KVM_CREATE_VCPU GM_IOC(0, 0x41, 0)
        #define KVM_SET_USER_MEMORY_REGION GM_IOC(1, 0x46, sizeof(struct gm_region))
        #define KVM_SET_USER_MEMORY_REGION2 GM_IOC(1, 0x49, sizeof(struct gm_region2))
        #define KVM_RUN GM_IOC(0, 0x80, 0)
        #define KVM_GET_REGS GM_IOC(2, 0x81, sizeof(struct gm_regs))
        #define KVM_SET_REGS GM_IOC(1, 0x82, sizeof(struct gm_regs))
        #define KVM_GET_SREGS GM_IOC(2, 0x83, sizeof(struct gm_sregs))
        #define KVM_SET_SREGS GM_IOC(1, 0x84, sizeof(struct gm_sregs))
        #define KVM_GET_STATS_FD GM_IOC(0, 0xce, 0)
        #define KVM_SET_MEMORY_ATTRIBUTES GM_IOC(1, 0xd2, sizeof(struct gm_memory_attributes))
        #define KVM_CREATE_GUEST_MEMFD GM_IOC(3, 0xd4, sizeof(struct gm_create_guest_memfd))
        #define KVM_SET_MEMORY_ATTRIBUTES2 GM_IOC(3, 0xd2, sizeof(struct gm_memory_attributes2))
        #define KVM_LINK_GUEST_MEMFD GM_IOC(3, 0xd6, sizeof(struct gm_link_guest_memfd))
        #define KVM_CAP_MEMORY_ATTRIBUTES 233
        #define KVM_CAP_VM_TYPES 235
        #define KVM_MEMORY_ATTRIBUTE_PRIVATE (1ull << 3)
        #define KVM_EXIT_IO 2
        #define KVM_EXIT_MMIO 6
        #define KVM_EXIT_INTR 10
        #define KVM_EXIT_MEMORY_FAULT 39
        /* struct kvm_run: the fields read here, by offset. */
        #define RUN_IMMEDIATE_EXIT 1
        #define RUN_EXIT_REASON 8
        #define RUN_IO_DIRECTION 32
        #define RUN_IO_PORT 34
        #define RUN_MMIO_DATA 40
        #define RUN_MMIO_IS_WRITE 52
        #define RUN_FAULT_FLAGS 32
        #define RUN_FAULT_GPA 40
        #define RUN_FAULT_SIZE 48

        /* ---- Outcomes, printed exactly as `gmem check` prints them. ---- */
        enum gm_kind { GM_OK, GM_VALUE, GM_WRITTEN, GM_ERRNO, GM_ANY_ERROR, GM_SIGNAL, GM_FAULT, GM_MMIO, GM_EFAULT, GM_STATUS, GM_UNSUPPORTED,
                       GM_ERRNO_AT };
        enum { GM_ST_TYPE = 1, GM_ST_MODE = 2, GM_ST_SIZE = 4, GM_ST_BLKSIZE = 8, GM_ST_CLOEXEC = 16, GM_ST_INO = 32 };
        struct gm_outcome {
            int kind;
            uint64_t a, b, c;               /* value | errno | signal | fault gpa, size, flags */
            unsigned fields;                /* status: which of the following are set */
            const char *type;
            uint64_t mode, size, blksize, cloexec, same_inode;
            const char *why;
        };

        GM_HELPER const char *gm_errno_name(int code);

        GM_HELPER void gm_number(char *out, size_t space, uint64_t value) {
            if (value < 4096) snprintf(out, space, "%" PRIu64, value);
            else snprintf(out, space, "0x%" PRIx64, value);
        }

        GM_HELPER void gm_describe(const struct gm_outcome *o, char *out, size_t space) {
            char number[32];
            switch (o->kind) {
            case GM_OK: snprintf(out, space, "ok"); break;
            case GM_VALUE: snprintf(out, space, "value %" PRIu64, o->a); break;
            case GM_WRITTEN: snprintf(out, space, "written"); break;
            case GM_ANY_ERROR: snprintf(out, space, "error"); break;
            case GM_ERRNO: {
                const char *name = gm_errno_name((int)o->a);
                if (name) snprintf(out, space, "%s", name); else snprintf(out, space, "errno %d", (int)o->a);
                break;
            }
            case GM_SIGNAL:
                if (o->a == SIGBUS) snprintf(out, space, "SIGBUS");
                else if (o->a == SIGSEGV) snprintf(out, space, "SIGSEGV");
                else snprintf(out, space, "signal %d", (int)o->a);
                break;
            case GM_FAULT: {
                size_t used;
                gm_number(number, sizeof number, o->a);
                used = (size_t)snprintf(out, space, "fault gpa=%s", number);
                if (o->b != 4096 && used < space) used += (size_t)snprintf(out + used, space - used, " size=%" PRIu64, o->b);
                if (o->c != 0 && used < space) snprintf(out + used, space - used, " flags=%" PRIu64, o->c);
                break;
            }
            case GM_ERRNO_AT: {
                const char *name = gm_errno_name((int)o->a);
                gm_number(number, sizeof number, o->b);
                if (name) snprintf(out, space, "%s error_offset=%s", name, number);
                else snprintf(out, space, "errno %d error_offset=%s", (int)o->a, number);
                break;
            }
            case GM_MMIO: snprintf(out, space, "mmio"); break;
            case GM_EFAULT: snprintf(out, space, "efault"); break;
            case GM_STATUS: {
                size_t used = (size_t)snprintf(out, space, "stat");
                if ((o->fields & GM_ST_TYPE) && used < space) used += (size_t)snprintf(out + used, space - used, " type=%s", o->type);
                if ((o->fields & GM_ST_MODE) && used < space) used += (size_t)snprintf(out + used, space - used, " mode=%" PRIo64, o->mode);
                if ((o->fields & GM_ST_SIZE) && used < space) used += (size_t)snprintf(out + used, space - used, " size=%" PRIu64, o->size);
                if ((o->fields & GM_ST_BLKSIZE) && used < space) used += (size_t)snprintf(out + used, space - used, " blksize=%" PRIu64, o->blksize);
                if ((o->fields & GM_ST_CLOEXEC) && used < space) used += (size_t)snprintf(out + used, space - used, " cloexec=%d", o->cloexec ? 1 : 0);
                if ((o->fields & GM_ST_INO) && used < space) snprintf(out + used, space - used, " ino=%s", o->same_inode ? "same" : "different");
                break;
            }
            case GM_UNSUPPORTED: snprintf(out, space, "unsupported (%s)", o->why ? o->why : ""); break;
            }
        }

        /* Whether `got` meets `want` (a status compares only the fields `want` sets). */
        GM_HELPER int gm_meets(const struct gm_outcome *want, const struct gm_outcome *got) {
            if (want->kind == GM_ANY_ERROR) return got->kind == GM_ERRNO || got->kind == GM_ERRNO_AT;
            if (want->kind != got->kind) return 0;
            switch (want->kind) {
            case GM_VALUE: case GM_ERRNO: case GM_SIGNAL: return want->a == got->a;
            case GM_FAULT: return want->a == got->a && want->b == got->b && want->c == got->c;
            case GM_ERRNO_AT: return want->a == got->a && want->b == got->b;
            case GM_STATUS:
                if ((want->fields & GM_ST_TYPE) && (!(got->fields & GM_ST_TYPE) || strcmp(want->type, got->type) != 0)) return 0;
                if ((want->fields & GM_ST_MODE) && want->mode != got->mode) return 0;
                if ((want->fields & GM_ST_SIZE) && want->size != got->size) return 0;
                if ((want->fields & GM_ST_BLKSIZE) && want->blksize != got->blksize) return 0;
                if ((want->fields & GM_ST_CLOEXEC) && want->cloexec != got->cloexec) return 0;
                if ((want->fields & GM_ST_INO) && want->same_inode != got->same_inode) return 0;
                return 1;
            default: return 1;
            }
        }

        GM_HELPER struct gm_outcome gm_ok(void) { struct gm_outcome o = { .kind = GM_OK }; return o; }
        GM_HELPER struct gm_outcome gm_errno_outcome(int code) { struct gm_outcome o = { .kind = GM_ERRNO, .a = (uint64_t)code }; return o; }
        GM_HELPER struct gm_outcome gm_value(uint64_t value) { struct gm_outcome o = { .kind = GM_VALUE, .a = value }; return o; }
        GM_HELPER struct gm_outcome gm_signal(int signal) { struct gm_outcome o = { .kind = GM_SIGNAL, .a = (uint64_t)signal }; return o; }
        GM_HELPER struct gm_outcome gm_unsupported(const char *why) { struct gm_outcome o = { .kind = GM_UNSUPPORTED, .why = why }; return o; }
        GM_HELPER struct gm_outcome gm_result(long result) { return result < 0 ? gm_errno_outcome(errno) : gm_ok(); }

        /* ---- TAP, on a descriptor of its own (a scenario may close fd 0-2). ---- */
        static int gm_failures;
        /* The number of the step that could not be reproduced, once one could not: the rest are not
           run (their outcomes depend on it), and the program fails. */
        static int gm_stopped;
        static int gm_not_run_count;
        static FILE *gm_tap;

        GM_HELPER void gm_report(int number, const char *text, struct gm_outcome got, const struct gm_outcome *want) {
            char wanted[256], actual[256];
            gm_describe(want, wanted, sizeof wanted);
            gm_describe(&got, actual, sizeof actual);
            if (want->kind == GM_UNSUPPORTED) {
                fprintf(gm_tap, "ok %d - %s # SKIP %s\n", number, text, want->why);
            } else if (got.kind == GM_UNSUPPORTED && gm_stopped) {
                gm_not_run_count++;
                fprintf(gm_tap, "ok %d - %s -> %s # SKIP not run: step %d could not be reproduced in C\n", number, text,
                        wanted, gm_stopped);
            } else if (got.kind == GM_UNSUPPORTED) {
                /* A step gmem check ran that this program cannot: a failure with its reason, never a
                   silent skip (the later steps are not run, and the program exits 2: not checked). */
                gm_stopped = number;
                fprintf(gm_tap, "not ok %d - %s -> %s # cannot reproduce in C: %s\n", number, text, wanted, got.why);
            } else if (gm_meets(want, &got)) {
                fprintf(gm_tap, "ok %d - %s -> %s\n", number, text, actual);
            } else {
                gm_failures++;
                fprintf(gm_tap, "not ok %d - %s -> %s # got %s\n", number, text, wanted, actual);
            }
            fflush(gm_tap);
        }

        /* A step the model refused by the memory budget (MemoryBudget): gmem check runs nothing past
           it, and the model did not perform it, so this program does neither (exit 2: not checked). */
        GM_HELPER void gm_refused(int number, const char *text, const char *why) {
            if (gm_stopped) {
                gm_not_run_count++;
                fprintf(gm_tap, "ok %d - %s # SKIP not run: step %d could not be reproduced in C\n", number, text, gm_stopped);
            } else {
                gm_stopped = number;
                fprintf(gm_tap, "not ok %d - %s # cannot reproduce in C: the model refuses it (%s); nothing after it is run\n",
                        number, text, why);
            }
            fflush(gm_tap);
        }

        GM_HELPER struct gm_outcome gm_not_run(void) { return gm_unsupported("an earlier step could not be reproduced in C"); }

        GM_HELPER int gm_finish(void) {
            if (gm_failures) fprintf(gm_tap, "# %d step(s) differ from the expected outcomes\n", gm_failures);
            if (gm_stopped)
                fprintf(gm_tap, "# step %d could not be reproduced in C; %d later step(s) not run: nothing after it was checked\n",
                        gm_stopped, gm_not_run_count);
            fflush(gm_tap);
            return gm_failures ? 1 : gm_stopped ? 2 : 0;
        }

        /* ---- Named objects: descriptors and host mappings. ---- */
        #define GM_INVALID_FD 1000000
        /* The lowest fd number for the program's own descriptors made during the scenario: above
           every number a scenario's `limit fds=` (at most 4096) lets it reach. */
        #define GM_HIGH_FD 4352
        #define GM_PROBE_BASE 0xFFE00000ull
        #define GM_PROBE_SIZE (2ull << 20)
        #define GM_PROBE_SLOT 32763u
        #define GM_PROBE_VCPU 4095u
        #define GM_LOWEST_PROBE_VCPU 1023u
        #define GM_PROBE_CODE 0x10000ull
        enum gm_object_kind { GM_NONE, GM_VM, GM_VCPU, GM_STATS, GM_GMEM, GM_MEMFD, GM_OTHER };
        struct gm_object {
            int fd, kind;
            uint64_t size, flags;
            unsigned vcpu_id;
            int vm;                         /* the object whose probe a VM, vCPU or dup uses */
            unsigned char *run;             /* a vCPU's kvm_run, mapped on first guest access */
            unsigned char *probe;           /* a VM's probe memory */
            unsigned next_probe_id;
            int probe_fd;                   /* a VM's probe vCPU (while probe_run is set) */
            unsigned char *probe_run;
            char debugfs[64];
        };
        #define GM_PIN_PIPES 32
        /* A mapping, and the pipes `pin` filled through it (read and write ends; -1 when free). */
        struct gm_mapping { unsigned char *base; uint64_t length; int pins[GM_PIN_PIPES]; int pin_count; };
        static struct gm_object gm_objects[GM_OBJECTS];
        static struct gm_mapping gm_mappings[GM_MAPPINGS];
        static int gm_kvm = -1;
        static long gm_run_size;

        GM_HELPER int gm_fd(int object) { return object < 0 ? GM_INVALID_FD : gm_objects[object].fd; }

        GM_HELPER struct gm_outcome gm_bind(int object, long fd, int kind, uint64_t size, uint64_t flags, unsigned vcpu_id, int vm) {
            struct gm_object *o = &gm_objects[object];
            o->kind = kind;
            o->size = size;
            o->flags = flags;
            o->vcpu_id = vcpu_id;
            o->vm = vm;
            o->run = NULL;
            if (fd < 0) {
                int code = errno;
                o->fd = GM_INVALID_FD;
                return gm_errno_outcome(code);
            }
            o->fd = (int)fd;
            return gm_ok();
        }

        GM_HELPER uint64_t gm_address(int mapping, uint64_t offset) {
            return mapping < 0 ? offset : (uint64_t)(uintptr_t)gm_mappings[mapping].base + offset;
        }

        /* ---- Placement: each mapping where the model and the kernel backend put it, not where
           mmap(NULL) and ASLR would: what the kernel does can depend on the address (do_fault_around's
           64 KiB window is aligned in the address space, not in the mapping), and a stale name reads
           whatever now lies at its address. A window is a mapping and the 1 GiB PROT_NONE guard after
           it; a new one goes first fit among the live windows from ModelKernel.mappingBase
           (ModelKernel.firstFit), and a window stops being live when the last page of it is unmapped
           (ModelKernel.releaseWindows). Its guard stays reserved until a new window is placed over it,
           as the kernel backend's retired windows do, so a stale name's access there is SIGSEGV. ---- */
        #ifndef MAP_FIXED_NOREPLACE
        #define MAP_FIXED_NOREPLACE 0x100000
        #endif
        #define GM_MAPPING_BASE 0x100000000000ull
        #define GM_GUARD (1ull << 30)
        #define GM_USER_END 0x7ffffffff000ull
        /* MemoryBudget.mappingAreaEnd: the kernel backend places no window ending past it. */
        #define GM_AREA_END 0x400000000000ull
        /* MemoryBudget.mappingLimit live pieces, and one more so a split can be recorded. */
        #define GM_PIECES 4097
        struct gm_range { uint64_t start, end; };
        struct gm_window { uint64_t start, mapped_end, end; };
        static struct gm_window gm_windows[GM_PIECES]; /* the live windows, sorted by start */
        static int gm_window_count;
        static struct gm_range gm_pieces[GM_PIECES];   /* the live mapped pieces, in no order */
        static int gm_piece_count;
        /* Why the last gm_mmap could not place its mapping where the model does (NULL: it could). */
        static const char *gm_place_why;
        static char gm_place_text[200];

        /* ModelKernel.firstFit: the lowest address from the base where `length` bytes and a guard
           meet no live window, the mapping ending at most at GM_USER_END; 0 when nothing fits. */
        GM_HELPER int gm_first_fit(uint64_t length, uint64_t *at) {
            uint64_t candidate = GM_MAPPING_BASE;
            for (int i = 0; i < gm_window_count; i++) {
                if (length <= UINT64_MAX - candidate && candidate + length <= UINT64_MAX - GM_GUARD
                    && candidate + length + GM_GUARD <= gm_windows[i].start) {
                    *at = candidate;
                    return candidate + length <= GM_USER_END;
                }
                if (gm_windows[i].end > candidate) candidate = gm_windows[i].end;
            }
            *at = candidate;
            return length <= UINT64_MAX - candidate && candidate + length <= GM_USER_END;
        }

        GM_HELPER void *gm_mmap(uint64_t length, int prot, int flags, int fd, off_t offset) {
            uint64_t rounded = (length + 4095) & ~4095ull, at;
            gm_place_why = NULL;
            int fits = gm_first_fit(rounded, &at);
            /* No room (the model's ENOMEM): past the last live window, as the kernel backend does. */
            if (!fits) at = gm_window_count ? gm_windows[gm_window_count - 1].end : GM_MAPPING_BASE;
            if (!fits || length == 0 || rounded == 0) {
                /* No window: the real call at the same address, replacing nothing, gives the kernel's answer. */
                void *p = mmap((void *)(uintptr_t)at, (size_t)length, prot, flags | MAP_FIXED_NOREPLACE, fd, offset);
                if (p == MAP_FAILED) return MAP_FAILED;
                munmap(p, (size_t)length);
                errno = EEXIST;
                return MAP_FAILED;
            }
            if (at + rounded > GM_AREA_END - GM_GUARD) {
                snprintf(gm_place_text, sizeof gm_place_text,
                         "the model places this mapping at 0x%" PRIx64 ", where its window (it and a 1 GiB guard) ends past 64 TiB, "
                         "the end of the range kept for scenario mappings", at);
                gm_place_why = gm_place_text;
                return MAP_FAILED;
            }
            if (gm_piece_count >= GM_PIECES - 1) {
                gm_place_why = "more live mappings than the model allows (MemoryBudget.mappingLimit)";
                return MAP_FAILED;
            }
            void *want = (void *)(uintptr_t)at;
            /* [at, at + rounded + guard) meets no live window (first fit): what may lie there is the
               reservation left of windows no longer live, which the new window replaces. Nothing else of
               this program's is below 64 TiB (mmap(NULL) allocates downwards from near the top). */
            munmap(want, (size_t)(rounded + GM_GUARD));
            void *window = mmap(want, (size_t)(rounded + GM_GUARD), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
            if (window != MAP_FAILED && window != want) { munmap(window, (size_t)(rounded + GM_GUARD)); window = MAP_FAILED; }
            if (window == MAP_FAILED) {
                snprintf(gm_place_text, sizeof gm_place_text,
                         "cannot reserve the window at 0x%" PRIx64 " where the model places this mapping", at);
                gm_place_why = gm_place_text;
                return MAP_FAILED;
            }
            void *p = mmap(window, (size_t)rounded, prot, flags | MAP_FIXED, fd, offset);
            if (p == MAP_FAILED) { int code = errno; munmap(window, (size_t)(rounded + GM_GUARD)); errno = code; return MAP_FAILED; }
            int index = gm_window_count;
            while (index > 0 && gm_windows[index - 1].start > at) { gm_windows[index] = gm_windows[index - 1]; index--; }
            gm_windows[index].start = at;
            gm_windows[index].mapped_end = at + rounded;
            gm_windows[index].end = at + rounded + GM_GUARD;
            gm_window_count++;
            gm_pieces[gm_piece_count].start = at;
            gm_pieces[gm_piece_count].end = at + rounded;
            gm_piece_count++;
            return p;
        }

        /* munmap, then the model's bookkeeping: the pieces lose [address, end), and each window that
           range meets is no longer live once none of its pages is mapped. */
        GM_HELPER struct gm_outcome gm_munmap(uint64_t address, uint64_t length) {
            if (gm_piece_count >= GM_PIECES) return gm_unsupported("more mapping pieces than the C reproducer keeps");
            if (munmap((void *)(uintptr_t)address, (size_t)length) != 0) return gm_errno_outcome(errno);
            uint64_t end = address + ((length + 4095) & ~4095ull);
            for (int i = 0; i < gm_piece_count; i++) {
                struct gm_range *piece = &gm_pieces[i];
                if (piece->end <= address || end <= piece->start) continue;
                if (piece->start < address && piece->end > end) {
                    gm_pieces[gm_piece_count].start = end;
                    gm_pieces[gm_piece_count].end = piece->end;
                    gm_piece_count++;
                    piece->end = address;
                } else if (piece->start < address) {
                    piece->end = address;
                } else if (piece->end > end) {
                    piece->start = end;
                } else {
                    gm_pieces[i--] = gm_pieces[--gm_piece_count];
                }
            }
            for (int w = 0; w < gm_window_count; w++) {
                if (gm_windows[w].end <= address || end <= gm_windows[w].start) continue;
                int mapped = 0;
                for (int i = 0; i < gm_piece_count && !mapped; i++)
                    mapped = gm_pieces[i].start < gm_windows[w].mapped_end && gm_pieces[i].end > gm_windows[w].start;
                if (mapped) continue;
                for (int v = w; v + 1 < gm_window_count; v++) gm_windows[v] = gm_windows[v + 1];
                gm_window_count--;
                w--;
            }
            return gm_ok();
        }

        /* ---- The guest probe: CPL3 code in a hidden memslot that reads or writes [rbx]. ---- */
        static const unsigned char gm_probe_code[] = {
            0x85, 0xC9,             /* test ecx, ecx */
            0x75, 0x07,             /* jnz write */
            0x48, 0x8B, 0x03,       /* mov rax, [rbx] */
            0xE6, 0x10,             /* out 0x10, al */
            0xEB, 0xFE,             /* jmp $ */
            0x48, 0x89, 0x03,       /* write: mov [rbx], rax */
            0xE6, 0x11,             /* out 0x11, al */
            0xEB, 0xFE,             /* jmp $ */
        };

        GM_HELPER void gm_put64(unsigned char *memory, uint64_t offset, uint64_t value) { memcpy(memory + offset, &value, 8); }

        /* Long-mode tables at GM_PROBE_BASE identity-mapping the low 4 GiB with 2 MiB user pages, a
           GDT with flat user segments and a TSS whose I/O bitmap allows every port (PVM checks it for
           CPL3 port I/O and ignores RFLAGS.IOPL). The layout is MicroVM's LongMode.tables. */
        GM_HELPER int gm_probe_setup(int object) {
            struct gm_object *vm = &gm_objects[object];
            unsigned char *memory = mmap(NULL, GM_PROBE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (memory == MAP_FAILED) return -1;
            uint64_t base = GM_PROBE_BASE, tss = base + 0x8000, limit = 0x68 + 8192;
            uint64_t gdt[9] = {
                0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0,
                0x00cff3000000ffffull, 0x00affb000000ffffull,
                (limit & 0xffff) | (tss & 0xffffff) << 16 | 0x8bull << 40 | ((limit >> 16) & 0xf) << 48 | ((tss >> 24) & 0xff) << 56,
                tss >> 32,
            };
            for (int i = 0; i < 9; i++) gm_put64(memory, 0x800 + (uint64_t)i * 8, gdt[i]);
            uint16_t iomap = 0x68;
            memcpy(memory + 0x8000 + 0x66, &iomap, 2);
            memory[0x8000 + limit] = 0xff;
            gm_put64(memory, 0x1000, (base + 0x2000) | 7);
            for (uint64_t g = 0; g < 4; g++) {
                uint64_t pd = 0x3000 + g * 0x1000;
                gm_put64(memory, 0x2000 + g * 8, (base + pd) | 7);
                for (uint64_t entry = 0; entry < 512; entry++) gm_put64(memory, pd + entry * 8, ((g << 30) + entry * (2ull << 20)) | 0x87);
            }
            memcpy(memory + GM_PROBE_CODE, gm_probe_code, sizeof gm_probe_code);
            struct gm_region2 region = { .slot = GM_PROBE_SLOT, .guest_phys_addr = base, .memory_size = GM_PROBE_SIZE,
                                         .userspace_addr = (uint64_t)(uintptr_t)memory };
            if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION2, &region) < 0) { munmap(memory, GM_PROBE_SIZE); return -1; }
            vm->probe = memory;
            vm->next_probe_id = GM_PROBE_VCPU;
            vm->probe_fd = -1;
            vm->probe_run = NULL;
            return 0;
        }

        GM_HELPER struct gm_segment gm_segment(uint16_t selector, uint8_t type, uint8_t dpl, int code) {
            struct gm_segment s = { .limit = 0xffffffff, .selector = selector, .type = type, .present = 1, .dpl = dpl, .s = 1, .g = 1 };
            if (code) s.l = 1; else s.db = 1;
            return s;
        }

        GM_HELPER struct gm_outcome gm_probe_access(int vcpu_fd, unsigned char *run, uint64_t gpa, int write, uint64_t value) {
            struct gm_sregs sregs;
            if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0) return gm_unsupported("cannot set up the probe vCPU: KVM_GET_SREGS failed");
            struct gm_segment data = gm_segment(0x2b, 3, 3, 0);
            sregs.cs = gm_segment(0x33, 11, 3, 1);
            sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
            struct gm_segment tr = { .base = GM_PROBE_BASE + 0x8000, .limit = 0x68 + 8192, .selector = 0x38, .type = 11, .present = 1 };
            struct gm_segment ldt = { .type = 2, .unusable = 1 };
            sregs.tr = tr;
            sregs.ldt = ldt;
            sregs.gdt.base = GM_PROBE_BASE + 0x800;
            sregs.gdt.limit = 9 * 8 - 1;
            sregs.idt.base = 0;
            sregs.idt.limit = 0;
            sregs.cr0 = 0x80050033;
            sregs.cr3 = GM_PROBE_BASE + 0x1000;
            sregs.cr4 = 0x20;
            sregs.efer = 0x500;
            struct gm_regs regs = { .rip = GM_PROBE_BASE + GM_PROBE_CODE, .rbx = gpa, .rax = write ? value : 0,
                                    .rcx = write ? 1 : 0, .rflags = 0x3002 };
            if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
                return gm_unsupported("cannot set up the probe vCPU: KVM_SET_REGS failed");
            int saw_mmio = 0;
            for (int round = 0; round < 16; round++) {
                uint32_t reason;
                if (ioctl(vcpu_fd, KVM_RUN, 0) < 0) {
                    int code = errno;
                    memcpy(&reason, run + RUN_EXIT_REASON, 4);
                    if (code == EINTR) { run[RUN_IMMEDIATE_EXIT] = 0; continue; }
                    if (code == EFAULT && reason == KVM_EXIT_MEMORY_FAULT) {
                        struct gm_outcome o = { .kind = GM_FAULT };
                        memcpy(&o.c, run + RUN_FAULT_FLAGS, 8);
                        memcpy(&o.a, run + RUN_FAULT_GPA, 8);
                        memcpy(&o.b, run + RUN_FAULT_SIZE, 8);
                        return o;
                    }
                    if (code == EFAULT) { struct gm_outcome o = { .kind = GM_EFAULT }; return o; }
                    return gm_unsupported("KVM_RUN failed");
                }
                memcpy(&reason, run + RUN_EXIT_REASON, 4);
                if (reason == KVM_EXIT_IO && run[RUN_IO_DIRECTION] == 1) {
                    uint16_t port;
                    memcpy(&port, run + RUN_IO_PORT, 2);
                    if (port == 0x10) {
                        if (saw_mmio) { struct gm_outcome o = { .kind = GM_MMIO }; return o; }
                        if (ioctl(vcpu_fd, KVM_GET_REGS, &regs) < 0) return gm_unsupported("KVM_GET_REGS failed");
                        return gm_value(regs.rax);
                    }
                    if (port == 0x11) { struct gm_outcome o = { .kind = saw_mmio ? GM_MMIO : GM_WRITTEN }; return o; }
                    return gm_unsupported("unexpected port write during a guest access");
                }
                if (reason == KVM_EXIT_MMIO) {
                    saw_mmio = 1;
                    if (!run[RUN_MMIO_IS_WRITE]) memset(run + RUN_MMIO_DATA, 0, 8);
                    continue;
                }
                if (reason == KVM_EXIT_MEMORY_FAULT) {
                    struct gm_outcome o = { .kind = GM_FAULT };
                    memcpy(&o.c, run + RUN_FAULT_FLAGS, 8);
                    memcpy(&o.a, run + RUN_FAULT_GPA, 8);
                    memcpy(&o.b, run + RUN_FAULT_SIZE, 8);
                    return o;
                }
                if (reason == KVM_EXIT_INTR) continue;
                return gm_unsupported("unexpected exit during a guest access");
            }
            return gm_unsupported("the guest access did not finish");
        }

        /* ---- Host accesses: each page probed first here with SIGBUS and SIGSEGV caught, by the
           access's own kind of fault (a load, or a store that keeps the byte); nothing is forked,
           since fork write-protects this program's private copied-on-write pages (which KVM's
           gup-fast then refuses). ---- */
        static sigjmp_buf *gm_probe_jump;
        static void gm_probe_handler(int signal) { siglongjmp(*gm_probe_jump, signal); }

        GM_HELPER int gm_probe_here(volatile unsigned char *p, int write) {
            struct sigaction action, old_bus, old_segv;
            memset(&action, 0, sizeof action);
            action.sa_handler = gm_probe_handler;
            sigemptyset(&action.sa_mask);
            action.sa_flags = SA_NODEFER;
            sigaction(SIGBUS, &action, &old_bus);
            sigaction(SIGSEGV, &action, &old_segv);
            sigjmp_buf jump;
            gm_probe_jump = &jump;
            volatile int result = sigsetjmp(jump, 1);
            if (result == 0) {
                if (write) __asm__ volatile("lock orb $0, %0" : "+m"(*p) : : "memory");
                else (void)*p;
            }
            sigaction(SIGSEGV, &old_segv, NULL);
            sigaction(SIGBUS, &old_bus, NULL);
            return result;
        }

        GM_HELPER uint64_t gm_load(const unsigned char *p, int width) {
            switch (width) {
            case 1: return *(const volatile uint8_t *)p;
            case 2: return *(const volatile uint16_t *)(const void *)p;
            case 4: return *(const volatile uint32_t *)(const void *)p;
            default: return *(const volatile uint64_t *)(const void *)p;
            }
        }

        GM_HELPER void gm_store(unsigned char *p, int width, uint64_t value) {
            switch (width) {
            case 1: *(volatile uint8_t *)p = (uint8_t)value; break;
            case 2: *(volatile uint16_t *)(void *)p = (uint16_t)value; break;
            case 4: *(volatile uint32_t *)(void *)p = (uint32_t)value; break;
            default: *(volatile uint64_t *)(void *)p = value; break;
            }
        }

        GM_HELPER struct gm_outcome gm_host_access(int mapping, uint64_t offset, int width, int write, uint64_t value) {
            if (mapping < 0 || !gm_mappings[mapping].base) return gm_signal(SIGSEGV);
            if (offset >= gm_mappings[mapping].length) return gm_signal(SIGSEGV);
            if ((uint64_t)width > gm_mappings[mapping].length - offset)
                return gm_unsupported("an access that runs past the mapping's end is not reproduced in C");
            unsigned char *p = gm_mappings[mapping].base + offset;
            unsigned char *last = (unsigned char *)(((uintptr_t)p + (uintptr_t)width - 1) & ~(uintptr_t)4095);
            int signal = gm_probe_here(p, write);
            if (signal == 0 && last > p) signal = gm_probe_here(last, write);
            if (signal) return gm_signal(signal);
            if (write) { gm_store(p, width, value); return gm_ok(); }
            return gm_value(gm_load(p, width));
        }

        /* ---- Everything else a scenario does. ---- */
        GM_HELPER const char *gm_file_type(mode_t mode) {
            switch (mode & S_IFMT) {
            case S_IFREG: return "reg";
            case S_IFDIR: return "dir";
            case S_IFCHR: return "chr";
            case S_IFBLK: return "blk";
            case S_IFIFO: return "fifo";
            case S_IFSOCK: return "sock";
            case S_IFLNK: return "lnk";
            default: return "none";
            }
        }

        struct gm_vm_request { int device; unsigned long type; int next; long fd; int error; long tid; };

        static void *gm_vm_thread(void *context) {
            struct gm_vm_request *request = context;
            request->tid = (long)syscall(SYS_gettid);
            char path[96];
            snprintf(path, sizeof path, "/sys/kernel/debug/kvm/%ld-%d", request->tid, request->next);
            if (access(path, F_OK) == 0) return NULL;
            request->fd = ioctl(request->device, KVM_CREATE_VM, request->type);
            request->error = errno;
            return NULL;
        }

        /* KVM_CREATE_VM from a thread whose debugfs folder "<tid>-<fd>" is free: KVM makes no folder
           for a VM when that name is taken (a VM still alive, pinned by a guest_memfd, whose fd
           number was reused). The creating thread's id goes to *tid. */
        GM_HELPER long gm_create_vm(int device, unsigned long type, long *tid) {
            *tid = (long)syscall(SYS_gettid);
            int next = fcntl(2, F_DUPFD, 0);
            if (next >= 0) close(next);
            char path[96];
            snprintf(path, sizeof path, "/sys/kernel/debug/kvm/%ld-%d", *tid, next);
            if (next < 0 || access(path, F_OK) != 0) return ioctl(device, KVM_CREATE_VM, type);
            for (int attempt = 0; attempt < 4; attempt++) {
                struct gm_vm_request request = { device, type, next, -2, 0, 0 };
                pthread_t thread;
                if (pthread_create(&thread, NULL, gm_vm_thread, &request) != 0) break;
                pthread_join(thread, NULL);
                if (request.fd == -2) continue;
                *tid = request.tid;
                errno = request.error;
                return request.fd;
            }
            return ioctl(device, KVM_CREATE_VM, type);
        }

        GM_HELPER int gm_debugfs_ready(void) {
            if (access("/sys/kernel/debug/kvm", F_OK) == 0) return 1;
            (void)mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
            return access("/sys/kernel/debug/kvm", F_OK) == 0;
        }

        GM_HELPER struct gm_outcome gm_alive(int object) {
            if (!gm_objects[object].debugfs[0]) return gm_value(0);
            if (!gm_debugfs_ready()) return gm_unsupported("KVM's debugfs (/sys/kernel/debug/kvm) is not mounted: VM lifetime is not observable");
            char path[128];
            snprintf(path, sizeof path, "/sys/kernel/debug/kvm/%s", gm_objects[object].debugfs);
            /* VM destruction can trail the last close by a moment (deferred fput). */
            for (int i = 0; i < 25; i++) {
                if (access(path, F_OK) != 0) return gm_value(0);
                usleep(2000);
            }
            return gm_value(1);
        }

        GM_HELPER void gm_drop_probe_vcpu(struct gm_object *vm) {
            if (!vm->probe_run) return;
            munmap(vm->probe_run, (size_t)gm_run_size);
            close(vm->probe_fd);
            vm->probe_run = NULL;
            vm->probe_fd = -1;
        }

        /* A pin's pipe is the program's own, not the scenario's (as the kernel backend's): made at the
           hard fd limit (a `limit fds=` does not cover it) and moved above the scenario's numbers. */
        GM_HELPER int gm_pin_pipe(int ends[2]) {
            struct rlimit scenario, full;
            int limited = getrlimit(RLIMIT_NOFILE, &scenario) == 0;
            if (limited) { full = scenario; full.rlim_cur = full.rlim_max; setrlimit(RLIMIT_NOFILE, &full); }
            int made = pipe2(ends, O_CLOEXEC);
            int code = errno;
            if (made == 0) {
                for (int i = 0; i < 2; i++) {
                    int high = fcntl(ends[i], F_DUPFD_CLOEXEC, GM_HIGH_FD);
                    if (high >= 0) { close(ends[i]); ends[i] = high; }
                }
            }
            if (limited) setrlimit(RLIMIT_NOFILE, &scenario);
            errno = code;
            return made;
        }

        GM_HELPER struct gm_outcome gm_guest(int via, uint64_t gpa, int write, uint64_t value) {
            struct gm_object *o = &gm_objects[via];
            if (o->fd == GM_INVALID_FD) return gm_errno_outcome(EBADF);
            if (o->kind == GM_VCPU) {
                if (!o->run) {
                    void *run = mmap(NULL, (size_t)gm_run_size, PROT_READ | PROT_WRITE, MAP_SHARED, o->fd, 0);
                    if (run == MAP_FAILED) return gm_unsupported("cannot map the vCPU's kvm_run");
                    o->run = run;
                }
                if (gpa >= (4ull << 30)) return gm_unsupported("the C probe maps guest addresses below 4 GiB only");
                return gm_probe_access(o->fd, o->run, gpa, write, value);
            }
            if (o->kind != GM_VM) {
                /* Neither a VM nor a vCPU (/dev/kvm, a raw fd, a file): the real KVM_RUN on it, which
                   refuses it as the kernel backend's does (/dev/kvm: EINVAL, fd -1: EBADF, a file: ENOTTY). */
                if (ioctl(o->fd, KVM_RUN, 0) < 0) return gm_errno_outcome(errno);
                return gm_unsupported("KVM_RUN succeeded on a descriptor that is not a vCPU");
            }
            if (gpa >= (4ull << 30)) return gm_unsupported("the C probe maps guest addresses below 4 GiB only");
            if (o->vm < 0 || !gm_objects[o->vm].probe) return gm_unsupported("no guest probe for this VM");
            struct gm_object *vm = &gm_objects[o->vm];
            /* One probe vCPU per VM for every access through its fds (a vCPU lives as long as its VM,
               so one per access would reach KVM_CAP_MAX_VCPUS), kept while a VM fd of it is open
               (gm_vm_closed) and moved above the scenario's fd numbers. */
            if (!vm->probe_run) {
                if (vm->next_probe_id <= GM_LOWEST_PROBE_VCPU) return gm_unsupported("the guest probe ran out of vCPU ids");
                /* The probe's descriptor is the program's own, not the scenario's: made at the hard fd
                   limit (a `limit fds=` does not cover it) and moved above the scenario's numbers. */
                struct rlimit scenario, full;
                int limited = getrlimit(RLIMIT_NOFILE, &scenario) == 0;
                if (limited) { full = scenario; full.rlim_cur = full.rlim_max; setrlimit(RLIMIT_NOFILE, &full); }
                int fd = (int)ioctl(o->fd, KVM_CREATE_VCPU, (unsigned long)vm->next_probe_id--);
                if (fd >= 0) {
                    int high = fcntl(fd, F_DUPFD_CLOEXEC, GM_HIGH_FD);
                    if (high >= 0) { close(fd); fd = high; }
                }
                if (limited) setrlimit(RLIMIT_NOFILE, &scenario);
                if (fd < 0) return gm_unsupported("cannot create a probe vCPU");
                void *run = mmap(NULL, (size_t)gm_run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                if (run == MAP_FAILED) { close(fd); return gm_unsupported("cannot map the probe vCPU's kvm_run"); }
                vm->probe_fd = fd;
                vm->probe_run = run;
            }
            struct gm_outcome outcome = gm_probe_access(vm->probe_fd, vm->probe_run, gpa, write, value);
            /* A vCPU left in a state the probe did not expect is not used again. */
            if (outcome.kind == GM_UNSUPPORTED) gm_drop_probe_vcpu(vm);
            return outcome;
        }

        /* The descriptors the program holds itself (0-2, its TAP stream, /dev/kvm), sorted, as found
           when gm_start is done: the scenario's take the other numbers, lowest first. */
        #define GM_OWN_FDS 64
        static int gm_own_fds[GM_OWN_FDS];
        static int gm_own_count;

        GM_HELPER void gm_note_own_fds(void) {
            gm_own_count = 0;
            for (int fd = 0; fd < GM_HIGH_FD && gm_own_count < GM_OWN_FDS; fd++)
                if (fcntl(fd, F_GETFD) != -1) gm_own_fds[gm_own_count++] = fd;
        }

        /* `limit fds=N`: RLIMIT_NOFILE's soft limit such that the scenario may hold N descriptors
           besides the program's own below it (as the kernel backend sets it besides gmem check's). */
        GM_HELPER struct gm_outcome gm_limit_fds(uint64_t count) {
            struct rlimit limit;
            if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return gm_errno_outcome(errno);
            uint64_t soft = count;
            for (int i = 0; i < gm_own_count && (uint64_t)gm_own_fds[i] <= soft; i++) soft++;
            if (limit.rlim_max != RLIM_INFINITY && soft > (uint64_t)limit.rlim_max)
                return gm_unsupported("limit fds= needs a soft RLIMIT_NOFILE above this process's hard limit");
            limit.rlim_cur = (rlim_t)soft;
            return setrlimit(RLIMIT_NOFILE, &limit) == 0 ? gm_ok() : gm_errno_outcome(errno);
        }

        /* After a VM fd closes: when no fd of that VM is open any more, its probe vCPU closes too,
           so that it pins the VM no longer than the scenario's own descriptors. */
        GM_HELPER void gm_vm_closed(int object) {
            struct gm_object *o = &gm_objects[object];
            if (o->kind != GM_VM || o->vm < 0) return;
            for (int i = 0; i < GM_OBJECTS; i++)
                if (gm_objects[i].kind == GM_VM && gm_objects[i].vm == o->vm && gm_objects[i].fd != GM_INVALID_FD) return;
            gm_drop_probe_vcpu(&gm_objects[o->vm]);
        }

        /* The kernel profile this host answers like, as GmemKit's KernelProfile.detect picks it: a
           kernel reporting in-place conversion (capability 250, provisional) or a release after 6.18
           is "next"; 6.18 and older releases are "6.18". */
        GM_HELPER const char *gm_host_profile(char *release, size_t space) {
            struct utsname name;
            int major = 0, minor = 0;
            snprintf(release, space, "unknown");
            if (uname(&name) == 0) {
                snprintf(release, space, "%s", name.release);
                if (sscanf(name.release, "%d.%d", &major, &minor) != 2) major = minor = 0;
            }
            if (ioctl(gm_kvm, KVM_CHECK_EXTENSION, 250) > 0) return "next";
            return major > 6 || (major == 6 && minor > 18) ? "next" : "6.18";
        }

        /* Opens /dev/kvm and checks what the scenario requires (capabilities, and the kernel profile
           it is pinned to, unless GMEM_ANY_PROFILE is set); prints the TAP plan or a skip. */
        GM_HELPER void gm_start(const char *requirement, const char *profile, int steps) {
            int tap = fcntl(1, F_DUPFD_CLOEXEC, 900);
            gm_tap = tap >= 0 ? fdopen(tap, "w") : NULL;
            if (!gm_tap) gm_tap = stdout;
            gm_kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
            if (gm_kvm < 0) {
                fprintf(gm_tap, "1..0 # SKIP cannot open /dev/kvm: %s\n", strerror(errno));
                exit(0);
            }
            gm_run_size = ioctl(gm_kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
            if (gm_run_size <= 0) {
                fprintf(gm_tap, "1..0 # SKIP KVM_GET_VCPU_MMAP_SIZE failed: %s\n", strerror(errno));
                exit(0);
            }
            for (int i = 0; i < GM_OBJECTS; i++) { gm_objects[i].fd = GM_INVALID_FD; gm_objects[i].vm = -1; }
            if (profile && !getenv("GMEM_ANY_PROFILE")) {
                char release[128];
                const char *host = gm_host_profile(release, sizeof release);
                if (strcmp(host, profile) != 0) {
                    fprintf(gm_tap, "1..0 # SKIP the scenario is pinned to kernel profile %s; this kernel (release %s) answers like %s "
                            "(set GMEM_ANY_PROFILE=1 to run it anyway)\n", profile, release, host);
                    exit(0);
                }
            }
            if (requirement) {
                const char *missing = NULL;
                if (strstr(requirement, "memory-attributes") &&
                    !(ioctl(gm_kvm, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES) > 0 &&
                      (ioctl(gm_kvm, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES) & KVM_MEMORY_ATTRIBUTE_PRIVATE)))
                    missing = "this kernel has no KVM_MEMORY_ATTRIBUTE_PRIVATE (KVM_CAP_MEMORY_ATTRIBUTES = 0)";
                else if (strstr(requirement, "protected-vm") && !(ioctl(gm_kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES) > 0 &&
                                                                  (ioctl(gm_kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES) & 2)))
                    missing = "this kernel offers no KVM_X86_SW_PROTECTED_VM (KVM_CAP_VM_TYPES)";
                else if (strstr(requirement, "debugfs") && !gm_debugfs_ready())
                    missing = "KVM's debugfs (/sys/kernel/debug/kvm) is not available";
                else if (strstr(requirement, "gmem-attributes") && !(ioctl(gm_kvm, KVM_CHECK_EXTENSION, 250) > 0 &&
                                                                     (ioctl(gm_kvm, KVM_CHECK_EXTENSION, 250) & KVM_MEMORY_ATTRIBUTE_PRIVATE)))
                    missing = "this kernel has no in-place conversion on guest_memfd (KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES = 0)";
                else if (strstr(requirement, "gmem-link")) {
                    /* No capability (RFC v2): the ioctl with fd -1 is EINVAL where it exists, ENOTTY where not. */
                    struct gm_link_guest_memfd probe = { .fd = (uint64_t)(int64_t)-1 };
                    long vm = ioctl(gm_kvm, KVM_CREATE_VM, 0);
                    if (vm < 0 || (ioctl((int)vm, KVM_LINK_GUEST_MEMFD, &probe) < 0 && errno == ENOTTY))
                        missing = "this kernel has no KVM_LINK_GUEST_MEMFD (the VM ioctl answers ENOTTY)";
                    if (vm >= 0) close((int)vm);
                }
                if (missing) {
                    fprintf(gm_tap, "1..0 # SKIP %s\n", missing);
                    exit(0);
                }
            }
            fprintf(gm_tap, "1..%d\n", steps);
            fflush(gm_tap);
            gm_note_own_fds();
        }
        """#
}
