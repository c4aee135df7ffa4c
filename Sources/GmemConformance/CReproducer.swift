import GmemModel
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Writes a scenario as one standalone C program: the way to hand a model-versus-kernel
/// difference to a kernel developer who has a C compiler and no Swift toolchain.
///
/// The program includes only libc headers (the UAPI subset GmemKit pins is inlined), runs
/// one function per step, prints TAP (`ok 3 - region A slot=1 … -> EINVAL`), compares every
/// step with the outcome the model gives under the chosen kernel profile, and exits 0 when
/// all steps meet them, 1 when one does not, 2 when a step cannot be reproduced in C (a
/// `not ok` line with the reason; the later steps are not run, so nothing after it is checked). Guest accesses run a small CPL3 probe (like
/// `GuestProbe`); host accesses are tried in a forked child first, so `SIGBUS` is an
/// outcome, not a crash. A scenario whose requirement the host lacks prints a TAP skip.
///
/// The emitter switches exhaustively over `Action` and `Outcome`: a new action or outcome
/// does not compile until it is written out here.
public enum CReproducer {
    /// The C file's name for `scenario`: its name with anything but letters, digits, `-`,
    /// `_` and `.` replaced, plus `.c`.
    public static func fileName(for scenario: Scenario) -> String {
        let safe = scenario.name.map {
            $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") ? $0 : "_"
        }
        let name = String(safe).isEmpty || safe.first == "." ? "scenario" + String(safe) : String(safe)
        return name + ".c"
    }

    /// The outcome each step has on the model as `runner` runs it (the scenario's profile,
    /// the capabilities `gmem check` gives the model): what the reproducer expects.
    /// `askKernel: false` keeps /dev/kvm closed (the model's capabilities as given).
    public static func expectedOutcomes(of scenario: Scenario, runner: ConformanceRunner, askKernel: Bool = true)
        -> [Outcome]
    {
        var capabilities = runner.modelCapabilities(for: scenario)
        // As the runner does where the kernel runs the scenario: the kernel backend's view of
        // this host (descriptor limits, /dev/kvm's mode …), under the scenario's profile.
        if askKernel, scenario.requires.allSatisfy({ ConformanceRunner.modelSupports($0, runner.capabilities) }),
            let backend = try? KernelBackend()
        {
            backend.describe(into: &capabilities)
            capabilities = runner.profile(for: scenario).capabilities(capabilities)
        }
        let model = ModelBackend(capabilities: capabilities)
        return scenario.steps.map { model.perform($0.action) }
    }

    /// The C program for `scenario` expecting what the model gives as `runner` runs it.
    public static func source(
        for scenario: Scenario, runner: ConformanceRunner, command: String, askKernel: Bool = true
    ) -> String {
        source(
            for: scenario, expected: expectedOutcomes(of: scenario, runner: runner, askKernel: askKernel),
            profile: runner.profile(for: scenario),
            command: command)
    }

    /// The whole C program for `scenario`, expecting `expected` (one outcome per step).
    ///
    /// `command` is the command line that wrote it (printed in its header comment).
    public static func source(
        for scenario: Scenario, expected: [Outcome], profile: KernelProfile,
        command: String
    ) -> String {
        var names = NameTable()
        for step in scenario.steps { names.declare(step.action) }
        var out = header(scenario, profile: profile, command: command, names: names)
        // The guards let a test build many reproducers as one program (one runtime, table
        // sizes of its own); compiled alone, a file defines everything itself.
        out += "#ifndef GM_OBJECTS\n#define GM_OBJECTS \(max(names.descriptors.count, 1))\n#endif\n"
        out += "#ifndef GM_MAPPINGS\n#define GM_MAPPINGS \(max(names.mappings.count, 1))\n#endif\n"
        out += "#ifndef GM_RUNTIME\n#define GM_RUNTIME\n"
        out += CRuntime.source
        out += errnoNames()
        out += "#endif /* GM_RUNTIME */\n"
        let prefix = identifier(scenario.name)
        for (index, step) in scenario.steps.enumerated() {
            out +=
                "\n/* step \(index + 1)" + (step.line > 0 ? ", line \(step.line)" : "") + ": "
                + comment(ScenarioFormat.line(for: step.action)) + " */\n"
            // A step the model refused is never called (gm_refused): unused is no warning.
            var refused = false
            if index < expected.count, case .budgetRefusal = expected[index] { refused = true }
            out += "\(refused ? "GM_HELPER" : "static") struct gm_outcome \(prefix)_step_\(index + 1)(void) {\n"
            out += body(step.action, names: names).map { "    " + $0 + "\n" }.joined()
            out += "}\n"
        }
        out += "\nint main(void) {\n"
        let requirement =
            scenario.requires.isEmpty ? "NULL" : literal(scenario.requires.map(\.rawValue).joined(separator: ","))
        let pinned = scenario.profile.map(literal) ?? "NULL"
        out += "    gm_start(\(requirement), \(pinned), \(scenario.steps.count));\n"
        for (index, step) in scenario.steps.enumerated() {
            let want = index < expected.count ? expected[index] : .unsupported("no expected outcome")
            if case .budgetRefusal(let why) = want {
                // The model did not perform it and gmem check runs nothing past it: neither does the C.
                out +=
                    "    gm_refused(\(index + 1), \(literal(ScenarioFormat.line(for: step.action))), \(literal("the memory budget: " + why)));\n"
                continue
            }
            out += "    {\n"
            out += "        struct gm_outcome want = \(outcomeLiteral(want));\n"
            out +=
                "        gm_report(\(index + 1), \(literal(ScenarioFormat.line(for: step.action))), gm_stopped ? gm_not_run() : \(prefix)_step_\(index + 1)(), &want);\n"
            out += "    }\n"
        }
        out += "    return gm_finish();\n}\n"
        return out
    }

    // MARK: - Names

    /// The C index of every scenario name: descriptors in `gm_objects`, mappings in `gm_mappings`.
    struct NameTable {
        var descriptors: [String] = []
        var mappings: [String] = []

        mutating func declare(_ action: Action) {
            guard let name = action.binds else { return }
            if action.bindsMapping {
                if !mappings.contains(name) { mappings.append(name) }
            } else if !descriptors.contains(name) {
                descriptors.append(name)
            }
        }

        /// The index of a descriptor name, or -1 (never bound: an invalid descriptor).
        func object(_ name: String) -> Int { descriptors.firstIndex(of: name) ?? -1 }
        /// The index of a mapping name, or -1 (never bound: address 0).
        func mapping(_ name: String) -> Int { mappings.firstIndex(of: name) ?? -1 }
    }

    static func header(_ scenario: Scenario, profile: KernelProfile, command: String, names: NameTable) -> String {
        var lines = [
            "/* GmemKit scenario \(scenario.name) as a standalone C program.",
            " *",
            " * Written by: \(command)",
            " * Source: \(scenario.source.isEmpty ? "(not recorded)" : scenario.source)",
            " * Rules: \(scenario.rules.isEmpty ? "(none)" : scenario.rules.joined(separator: ", ")) (docs/GMEM-SPEC.md)",
            " * Expected outcomes: the GmemKit model under kernel profile \(profile.name): \(profile.summary).",
            " * Build and run: cc -Wall -Werror \(fileName(for: scenario)) -o repro && ./repro",
            " * Output is TAP; the exit status is 0 when every step meets its expected outcome, 1 when one",
            " * does not, 2 when a step cannot be reproduced in C (later steps are then not run).",
            " *",
            " * The scenario:",
        ]
        lines += ScenarioFormat.text(of: scenario).split(separator: "\n").map { " *   " + comment(String($0)) }
        if !names.descriptors.isEmpty {
            lines.append(" *")
            lines.append(
                " * Descriptors (gm_objects): "
                    + names.descriptors.enumerated().map { "\($0.offset) \(comment($0.element))" }.joined(
                        separator: ", "))
        }
        if !names.mappings.isEmpty {
            lines.append(
                " * Mappings (gm_mappings): "
                    + names.mappings.enumerated().map { "\($0.offset) \(comment($0.element))" }.joined(separator: ", "))
        }
        lines.append(" */")
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - Steps

    /// The statements of one step's function; the last one returns its outcome.
    static func body(_ action: Action, names: NameTable) -> [String] {
        func fd(_ name: String) -> String { "gm_fd(\(names.object(name)))" }
        func address(_ expression: AddressExpression) -> String {
            switch expression {
            case .literal(let value): u64(value)
            case .mapping(let name, let offset): "gm_address(\(names.mapping(name)), \(u64(offset)))"
            }
        }
        switch action {
        case .createVM(let name, let type, let device):
            let index = names.object(name)
            return [
                "long tid;",
                "long fd = gm_create_vm(\(device.map(fd) ?? "gm_kvm"), (unsigned long)\(u64(type)), &tid);",
                "struct gm_outcome outcome = gm_bind(\(index), fd, GM_VM, 0, 0, 0, \(index));",
                "if (outcome.kind != GM_OK) return outcome;",
                "snprintf(gm_objects[\(index)].debugfs, sizeof gm_objects[\(index)].debugfs, \"%ld-%ld\", tid, fd);",
                "if (gm_probe_setup(\(index)) < 0) return gm_unsupported(\"cannot set up the guest probe\");",
                "return outcome;",
            ]
        case .createVCPU(let name, let vm, let id):
            if id > UInt64(GuestProbe.lowestVCPUID) {
                return [
                    "return gm_unsupported(\(literal("vCPU ids above \(GuestProbe.lowestVCPUID) are reserved for the guest probe")));"
                ]
            }
            let owner = names.object(vm)
            return [
                "long fd = ioctl(\(fd(vm)), KVM_CREATE_VCPU, (unsigned long)\(u64(id)));",
                "return gm_bind(\(names.object(name)), fd, GM_VCPU, 0, 0, \(id)u, \(owner < 0 ? "-1" : "gm_objects[\(owner)].vm"));",
            ]
        case .createStats(let name, let of):
            return [
                "long fd = ioctl(\(fd(of)), KVM_GET_STATS_FD, 0);",
                "return gm_bind(\(names.object(name)), fd, GM_STATS, 0, 0, 0, -1);",
            ]
        case .createGuestMemfd(let name, let vm, let size, let flags, let reserved):
            let r = u64(reserved)
            return [
                "struct gm_create_guest_memfd request = { .size = \(u64(size)), .flags = \(u64(flags)), .reserved = { \(r), \(r), \(r), \(r), \(r), \(r) } };",
                "long fd = ioctl(\(fd(vm)), KVM_CREATE_GUEST_MEMFD, &request);",
                "return gm_bind(\(names.object(name)), fd, GM_GMEM, \(u64(size)), \(u64(flags)), 0, -1);",
            ]
        case .createMemfd(let name, let size):
            return [
                "int fd = memfd_create(\"gmemkit\", MFD_CLOEXEC);",
                "if (fd >= 0 && ftruncate(fd, (off_t)\(u64(size))) != 0) { int code = errno; close(fd); errno = code; fd = -1; }",
                "return gm_bind(\(names.object(name)), fd, GM_MEMFD, \(u64(size)), 0, 0, -1);",
            ]
        case .openKVM(let name):
            return [
                "int fd = open(\"/dev/kvm\", O_RDWR | O_CLOEXEC);",
                "return gm_bind(\(names.object(name)), fd, GM_OTHER, 0, 0, 0, -1);",
            ]
        case .rawDescriptor(let name, let number):
            let index = names.object(name)
            return [
                "/* A raw descriptor number, named without a syscall. */",
                "gm_bind(\(index), 0, GM_NONE, 0, 0, 0, -1);",
                "gm_objects[\(index)].fd = \(number);",
                "return gm_ok();",
            ]
        case .dup(let name, let of):
            let source = names.object(of)
            let copied =
                source < 0
                ? "GM_OTHER, 0, 0, 0, -1"
                : "gm_objects[\(source)].kind, gm_objects[\(source)].size, gm_objects[\(source)].flags, gm_objects[\(source)].vcpu_id, gm_objects[\(source)].vm"
            return [
                "long fd = fcntl(\(fd(of)), F_DUPFD_CLOEXEC, 0);",
                "return gm_bind(\(names.object(name)), fd, \(copied));",
            ]
        case .close(let name):
            let index = names.object(name)
            if index < 0 { return ["return gm_result(close(GM_INVALID_FD));"] }
            return [
                "struct gm_object *o = &gm_objects[\(index)];",
                "if (o->run) { munmap(o->run, (size_t)gm_run_size); o->run = NULL; }",
                "long result = close(o->fd);",
                "o->fd = GM_INVALID_FD;",
                "gm_vm_closed(\(index));",
                "return gm_result(result);",
            ]
        case .setRegion(
            let vm, let version, let slot, let flags, let gpa, let size, let userspace, let file, let offset):
            if slot == GuestProbe.slot {
                return ["return gm_unsupported(\(literal("memslot \(slot) is reserved for the guest probe")));"]
            }
            if version == 1 {
                return [
                    "struct gm_region region = { .slot = \(slot)u, .flags = \(flags)u, .guest_phys_addr = \(u64(gpa)), .memory_size = \(u64(size)),",
                    "                            .userspace_addr = \(address(userspace)) };",
                    "return gm_result(ioctl(\(fd(vm)), KVM_SET_USER_MEMORY_REGION, &region));",
                ]
            }
            return [
                "struct gm_region2 region = { .slot = \(slot)u, .flags = \(flags)u, .guest_phys_addr = \(u64(gpa)), .memory_size = \(u64(size)),",
                "                             .userspace_addr = \(address(userspace)), .guest_memfd_offset = \(u64(offset)),",
                "                             .guest_memfd = (uint32_t)\(file.map(fd) ?? "0") };",
                "return gm_result(ioctl(\(fd(vm)), KVM_SET_USER_MEMORY_REGION2, &region));",
            ]
        case .fallocate(let file, let mode, let offset, let length):
            return ["return gm_result(fallocate(\(fd(file)), \(mode), (off_t)\(i64(offset)), (off_t)\(i64(length))));"]
        case .fileOperation(let file, let operation):
            return [
                "unsigned char buffer[8] = { 0 };", "(void)buffer;",
                "return gm_result(\(fileOperation(operation, fd: fd(file))));",
            ]
        case .reopen(let name, let of):
            let source = names.object(of)
            return [
                "char path[64];",
                "snprintf(path, sizeof path, \"/proc/self/fd/%d\", \(fd(of)));",
                "int fd = open(path, O_RDWR | O_CLOEXEC);",
                "return gm_bind(\(names.object(name)), fd, \(source < 0 ? "GM_OTHER" : "gm_objects[\(source)].kind"), 0, 0, 0, -1);",
            ]
        case .mmap(let name, let file, let protection, let flags, let offset, let length):
            return mapping(
                names.mapping(name),
                "gm_mmap(\(u64(length)), \(protection), \(flags), \(fd(file)), (off_t)\(u64(offset)))",
                length: length)
        case .mapAnonymous(let name, let length, let protection):
            return mapping(
                names.mapping(name),
                "gm_mmap(\(u64(length)), \(protection), MAP_SHARED | MAP_ANONYMOUS, -1, 0)", length: length)
        case .munmap(let mapping, let offset, let length):
            let index = names.mapping(mapping)
            return [
                "struct gm_mapping *m = \(index < 0 ? "NULL" : "&gm_mappings[\(index)]");",
                "if (!m || !m->base) {",
                "    /* No mapping: the address is the offset itself, below vm.mmap_min_addr. */",
                "    if (\(u64(offset)) >= (1ull << 16) || \(u64(length)) >= (1ull << 16)) return gm_unsupported(\"munmap of an unmapped name far from 0\");",
                "    return gm_munmap(\(u64(offset)), \(u64(length)));",
                "}",
                "/* Only inside the mapping: anything else of this program must stay mapped. */",
                "if (\(u64(offset)) > m->length || \(u64(length)) > ((m->length + 4095) & ~4095ull) - \(u64(offset)))",
                "    return gm_unsupported(\"munmap beyond the mapping\");",
                "return gm_munmap((uint64_t)(uintptr_t)m->base + \(u64(offset)), \(u64(length)));",
            ]
        case .madvise(let mapping, let offset, let length, let advice):
            let index = names.mapping(mapping)
            return [
                "struct gm_mapping *m = \(index < 0 ? "NULL" : "&gm_mappings[\(index)]");",
                "/* Only inside the mapping: anything else of this program must stay as it is. */",
                "if (!m || !m->base || \(u64(offset)) > m->length || \(u64(length)) > ((m->length + 4095) & ~4095ull) - \(u64(offset)))",
                "    return gm_unsupported(\"madvise outside the mapping is not reproduced in C\");",
                "return gm_result(madvise(m->base + \(u64(offset)), (size_t)\(u64(length)), \(advice)));",
            ]
        case .hostRead(let mapping, let offset, let width):
            return ["return gm_host_access(\(names.mapping(mapping)), \(u64(offset)), \(width.rawValue), 0, 0);"]
        case .hostWrite(let mapping, let offset, let width, let value):
            return [
                "return gm_host_access(\(names.mapping(mapping)), \(u64(offset)), \(width.rawValue), 1, \(u64(value)));"
            ]
        case .setAttributes(let vm, let gpa, let size, let attributes, let flags):
            return [
                "struct gm_memory_attributes request = { .address = \(u64(gpa)), .size = \(u64(size)), .attributes = \(u64(attributes)), .flags = \(u64(flags)) };",
                "return gm_result(ioctl(\(fd(vm)), KVM_SET_MEMORY_ATTRIBUTES, &request));",
            ]
        case .guestAccess(let via, let gpa, let write, let isPrivate):
            if isPrivate {
                return ["return gm_unsupported(\"a guest cannot choose a private access on this VM type\");"]
            }
            let index = names.object(via)
            if index < 0 { return ["return gm_errno_outcome(EBADF);"] }
            return ["return gm_guest(\(index), \(u64(gpa)), \(write == nil ? 0 : 1), \(u64(write ?? 0)));"]
        case .stat(let name, let other):
            var lines = [
                "struct stat status;",
                "if (fstat(\(fd(name)), &status) != 0) return gm_errno_outcome(errno);",
                "int descriptorFlags = fcntl(\(fd(name)), F_GETFD);",
                "struct gm_outcome outcome = { .kind = GM_STATUS, .fields = GM_ST_TYPE | GM_ST_MODE | GM_ST_SIZE | GM_ST_BLKSIZE | GM_ST_CLOEXEC,",
                "                              .type = gm_file_type(status.st_mode), .mode = (uint64_t)(status.st_mode & 07777),",
                "                              .size = (uint64_t)status.st_size, .blksize = (uint64_t)status.st_blksize,",
                "                              .cloexec = descriptorFlags >= 0 && (descriptorFlags & FD_CLOEXEC) };",
            ]
            if let other {
                lines += [
                    "struct stat second;",
                    "if (fstat(\(fd(other)), &second) != 0) return gm_errno_outcome(EBADF);",
                    "outcome.fields |= GM_ST_INO;",
                    "outcome.same_inode = status.st_dev == second.st_dev && status.st_ino == second.st_ino;",
                ]
            }
            return lines + ["return outcome;"]
        case .checkExtension(let of, let capability):
            return [
                "long result = ioctl(\(fd(of)), KVM_CHECK_EXTENSION, (unsigned long)\(u64(capability)));",
                "return result < 0 ? gm_errno_outcome(errno) : gm_value((uint64_t)result);",
            ]
        case .alive(let name):
            let index = names.object(name)
            return [index < 0 ? "return gm_value(0);" : "return gm_alive(\(index));"]
        case .convert(let file, let offset, let size, let attributes, let flags):
            return [
                "/* error_offset is primed so that a field the kernel did not write can be told apart. */",
                "struct gm_memory_attributes2 request = { .offset = \(u64(offset)), .size = \(u64(size)), .attributes = \(u64(attributes)),",
                "                                         .flags = \(u64(flags)), .error_offset = ~0ull };",
                "long result;",
                "do { result = ioctl(\(fd(file)), KVM_SET_MEMORY_ATTRIBUTES2, &request); } while (result < 0 && errno == EINTR);",
                "if (result == 0) return gm_ok();",
                "if (request.error_offset == ~0ull) return gm_errno_outcome(errno);",
                "struct gm_outcome outcome = { .kind = GM_ERRNO_AT, .a = (uint64_t)errno, .b = request.error_offset };",
                "return outcome;",
            ]
        case .link(let name, let file, let vm, let flags):
            let source = names.object(file)
            let copied = source < 0 ? "0, 0" : "gm_objects[\(source)].size, gm_objects[\(source)].flags"
            return [
                "struct gm_link_guest_memfd request = { .fd = (uint64_t)(int64_t)\(fd(file)), .flags = \(u64(flags)) };",
                "long fd = ioctl(\(fd(vm)), KVM_LINK_GUEST_MEMFD, &request);",
                "return gm_bind(\(names.object(name)), fd, GM_GMEM, \(copied), 0, -1);",
            ]
        case .pin(let mapping, let offset, let length):
            let index = names.mapping(mapping)
            return [
                "struct gm_mapping *m = \(index < 0 ? "NULL" : "&gm_mappings[\(index)]");",
                "/* Only inside the mapping: anything else of this program must stay unpinned. */",
                "if (!m || !m->base || \(u64(offset)) > m->length || \(u64(length)) > ((m->length + 4095) & ~4095ull) - \(u64(offset)))",
                "    return gm_unsupported(\"pin outside the mapping is not reproduced in C\");",
                "if (m->pin_count + 2 > GM_PIN_PIPES) return gm_unsupported(\"more pins through one mapping than the C reproducer keeps\");",
                "int ends[2];",
                "if (gm_pin_pipe(ends) != 0) return gm_unsupported(\"cannot make a pipe for the pin\");",
                "struct iovec iov = { .iov_base = m->base + \(u64(offset)), .iov_len = (size_t)\(u64(length)) };",
                "long taken = vmsplice(ends[1], &iov, 1, SPLICE_F_NONBLOCK);",
                "if (taken < 0) { int code = errno; close(ends[0]); close(ends[1]); return gm_errno_outcome(code); }",
                "m->pins[m->pin_count++] = ends[0];",
                "m->pins[m->pin_count++] = ends[1];",
                "return (uint64_t)taken == \(u64(length)) ? gm_ok() : gm_value((uint64_t)taken);",
            ]
        case .unpin(let mapping):
            let index = names.mapping(mapping)
            if index < 0 { return ["return gm_ok();"] }
            return [
                "struct gm_mapping *m = &gm_mappings[\(index)];",
                "while (m->pin_count > 0) close(m->pins[--m->pin_count]);",
                "return gm_ok();",
            ]
        case .limitDescriptors(let count):
            return ["return gm_limit_fds(\(u64(UInt64(count))));"]
        }
    }

    static func mapping(_ index: Int, _ call: String, length: UInt64) -> [String] {
        [
            "void *p = \(call);",
            "if (p == MAP_FAILED) {",
            "    int code = errno;",
            "    gm_mappings[\(index)].base = NULL;",
            "    return gm_place_why ? gm_unsupported(gm_place_why) : gm_errno_outcome(code);",
            "}",
            "gm_mappings[\(index)].base = p;",
            "gm_mappings[\(index)].length = \(u64(length));",
            "return gm_ok();",
        ]
    }

    static func fileOperation(_ operation: ModelKernel.FileOperation, fd: String) -> String {
        switch operation {
        case .read: "read(\(fd), buffer, 8)"
        case .write: "write(\(fd), buffer, 8)"
        case .pread: "pread(\(fd), buffer, 8, 0)"
        case .pwrite: "pwrite(\(fd), buffer, 8, 0)"
        case .lseek: "lseek(\(fd), 0, SEEK_SET)"
        case .ftruncate: "ftruncate(\(fd), 0)"
        case .fsync: "fsync(\(fd))"
        case .fchmod: "fchmod(\(fd), 0600)"
        }
    }

    // MARK: - Outcomes

    /// `outcome` as a C `struct gm_outcome` initializer.
    static func outcomeLiteral(_ outcome: Outcome) -> String {
        switch outcome {
        case .ok: return "{ .kind = GM_OK }"
        case .value(let value): return "{ .kind = GM_VALUE, .a = \(u64(value)) }"
        case .written: return "{ .kind = GM_WRITTEN }"
        case .errno(let code): return "{ .kind = GM_ERRNO, .a = \(code) } /* \(errnoName(code)) */"
        case .anyError: return "{ .kind = GM_ANY_ERROR }"
        case .signal(let signal): return "{ .kind = GM_SIGNAL, .a = \(signal) }"
        case .memoryFault(let gpa, let size, let flags):
            return "{ .kind = GM_FAULT, .a = \(u64(gpa)), .b = \(u64(size)), .c = \(u64(flags)) }"
        case .mmio: return "{ .kind = GM_MMIO }"
        case .userspaceFault: return "{ .kind = GM_EFAULT }"
        case .errnoAt(let code, let offset):
            return "{ .kind = GM_ERRNO_AT, .a = \(code), .b = \(u64(offset)) } /* \(errnoName(code)) */"
        case .status(let pattern):
            var fields: [String] = []
            var values: [String] = []
            if let type = pattern.type {
                fields.append("GM_ST_TYPE")
                values.append(".type = \(literal(type.rawValue))")
            }
            if let mode = pattern.mode {
                fields.append("GM_ST_MODE")
                values.append(".mode = 0\(String(mode, radix: 8))")
            }
            if let size = pattern.size {
                fields.append("GM_ST_SIZE")
                values.append(".size = \(u64(size))")
            }
            if let blockSize = pattern.blockSize {
                fields.append("GM_ST_BLKSIZE")
                values.append(".blksize = \(u64(blockSize))")
            }
            if let closeOnExec = pattern.closeOnExec {
                fields.append("GM_ST_CLOEXEC")
                values.append(".cloexec = \(closeOnExec ? 1 : 0)")
            }
            if let sameInode = pattern.sameInode {
                fields.append("GM_ST_INO")
                values.append(".same_inode = \(sameInode ? 1 : 0)")
            }
            return "{ .kind = GM_STATUS, .fields = \(fields.isEmpty ? "0" : fields.joined(separator: " | "))"
                + (values.isEmpty ? "" : ", " + values.joined(separator: ", ")) + " }"
        case .unsupported(let why): return "{ .kind = GM_UNSUPPORTED, .why = \(literal("the model: " + why)) }"
        case .budgetRefusal(let why):
            return "{ .kind = GM_UNSUPPORTED, .why = \(literal("the memory budget: " + why)) }"
        }
    }

    static func errnoNames() -> String {
        var out = "\nstatic const char *gm_errno_name(int code) {\n    switch (code) {\n"
        for (name, code) in errnoTable { out += "    case \(code): return \"\(name)\";\n" }
        out += "    default: return NULL;\n    }\n}\n"
        return out
    }

    // MARK: - C literals

    static func u64(_ value: UInt64) -> String { value < 10 ? "\(value)ull" : "0x" + String(value, radix: 16) + "ull" }

    static func i64(_ value: Int64) -> String {
        value == .min
            ? "(-0x7fffffffffffffffll - 1)"
            : value < 0 ? "(-0x\(String(value.magnitude, radix: 16))ll)" : "0x\(String(value, radix: 16))ll"
    }

    /// A C string literal for `text`.
    static func literal(_ text: String) -> String {
        var out = "\""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "?"): out += "\\?"  // no trigraphs
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "\\" + String(repeating: "0", count: 3 - String(byte, radix: 8).count) + String(byte, radix: 8)
            }
        }
        return out + "\""
    }

    /// A C identifier made of `name` (letters, digits and `_`; never starting with a digit).
    static func identifier(_ name: String) -> String {
        let body = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        return body.first.map { $0.isLetter } == true ? body : "s_" + body
    }

    /// `text` safe inside a C comment (printable ASCII, no `*/`).
    static func comment(_ text: String) -> String {
        var out = ""
        var previous: Character = " "
        for scalar in text.unicodeScalars {
            var character = scalar.isASCII && scalar.value >= 0x20 && scalar.value < 0x7F ? Character(scalar) : "_"
            if character == "?" { character = "_" }  // no trigraphs
            if (previous == "*" && character == "/") || (previous == "/" && character == "*") { out.append(" ") }
            if character == "\\" { character = "/" }  // no line splice at the end of a comment line
            out.append(character)
            previous = character
        }
        return out
    }
}

extension CReproducer {
    /// Why the reproducers could not be written.
    public struct WriteError: Error, CustomStringConvertible {
        /// What went wrong, naming the path.
        public let description: String
    }

    /// Writes one C file per scenario into `directory` (created when missing) and returns
    /// their paths, in order. Names that two scenarios share get `-2`, `-3` … appended.
    /// - Parameters:
    ///   - scenarios: The scenarios to write, one program each.
    ///   - runner: The runner whose model and profile give each program its expected outcomes.
    ///   - directory: Where the files go.
    ///   - command: The command line that produced them, quoted in each file's header.
    /// - Throws: ``CReproducer/WriteError`` when `directory` is empty, cannot be created, is not a
    ///   directory, or a file in it cannot be written.
    public static func write(
        _ scenarios: [Scenario], runner: ConformanceRunner, into directory: String,
        command: String
    ) throws(WriteError) -> [String] {
        guard !directory.isEmpty else { throw WriteError(description: "the directory name is empty") }
        let made = HostCall.makeDirectory(directory, mode: 0o755)
        if made != 0, made != EEXIST {
            throw WriteError(
                description: "cannot create \(directory): \(errnoName(made)) (\(Errno(rawValue: made).description))")
        }
        guard case .success(let status) = HostCall.status(ofPath: directory), status.st_mode & S_IFMT == S_IFDIR else {
            throw WriteError(description: "\(directory) is not a directory")
        }
        var used: Set<String> = []
        var paths: [String] = []
        for scenario in scenarios {
            var name = fileName(for: scenario)
            var suffix = 2
            while used.contains(name) {
                name = String(fileName(for: scenario).dropLast(2)) + "-\(suffix).c"
                suffix += 1
            }
            used.insert(name)
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            let text = source(for: scenario, runner: runner, command: command)
            // Never through a symbolic link (or onto a device, a FIFO …) at the name: a root tool
            // writing into a shared directory such as /tmp must not clobber a link's target.
            if case .success(let existing) = HostCall.linkStatus(ofPath: path), existing.st_mode & S_IFMT != S_IFREG {
                let what = existing.st_mode & S_IFMT == S_IFLNK ? "a symbolic link" : "not a regular file"
                throw WriteError(description: "\(path) exists and is \(what): not writing through it")
            }
            // A new file of this process's own (O_EXCL|O_NOFOLLOW) renamed over the name: a link
            // made at the name after the check above is replaced, its target never written.
            let temporary =
                (directory.hasSuffix("/") ? directory : directory + "/") + ".\(name).\(getpid()).tmp"
            let fd: FileDescriptor
            do {
                fd = try FileDescriptor.open(
                    FilePath(temporary), .writeOnly, options: [.create, .exclusiveCreate, .noFollow],
                    permissions: [.ownerReadWrite, .groupRead, .otherRead])
            } catch {
                throw WriteError(description: "cannot create \(temporary): \(error)")
            }
            do {
                try fd.closeAfter { _ = try fd.writeAll(Array(text.utf8)) }
            } catch {
                HostCall.unlink(temporary)
                throw WriteError(description: "cannot write \(temporary): \(error)")
            }
            let renamed = HostCall.rename(temporary, to: path)
            if renamed != 0 {
                HostCall.unlink(temporary)
                throw WriteError(
                    description: "cannot write \(path): \(errnoName(renamed)) (\(Errno(rawValue: renamed).description))"
                )
            }
            paths.append(path)
        }
        return paths
    }
}

extension CReproducer {
    /// One C program that includes every reproducer at `paths` (absolute) and runs the one
    /// whose index its first argument names: the cheap way to build many with one compiler
    /// run. Each file's guards share one runtime; each file's `main` becomes `scenario_N`.
    public static func combinedProgram(including paths: [String]) -> String {
        var out = "/* Every reproducer below, built as one program: ./all INDEX runs one. */\n"
        out += "#define GM_OBJECTS 256\n#define GM_MAPPINGS 256\n"
        for (index, path) in paths.enumerated() {
            out += "#define main scenario_\(index)\n#include \(literal(path))\n#undef main\n"
        }
        out += "int main(int argc, char **argv) {\n    switch (argc > 1 ? atoi(argv[1]) : -1) {\n"
        for index in paths.indices { out += "    case \(index): return scenario_\(index)();\n" }
        out += "    default: return 2;\n    }\n}\n"
        return out
    }

    /// The most names (descriptors or mappings) one scenario may bind to be part of a
    /// `combinedProgram`.
    public static let combinedTableSize = 256
}
