/// The universe and a design as a Promela model for Spin: a second, independent encoding of
/// the semantics the explorer searches, so the two can disagree.
///
/// The encoding is deliberately not the explorer's. The explorer derives references (a VM is
/// pinned while its fd is open or a live file names it) and keeps one table of bindings (the
/// memslots); this model keeps the kernel's objects: explicit reference counts on VMs and
/// files, the memslot table *and* each file's own binding record (the kernel's
/// `gmem->bindings`), and it releases objects through a work list (the kernel's deferred
/// puts) instead of recursive calls. Invariants are assertions, one selected per run with a
/// `-D` flag, so Spin's breadth-first search gives the shortest violation of each.
///
/// Each step is one `d_step` (one transition), so Spin's search depth is the explorer's step
/// count: `pan -m<depth>` bounds it the same way. A trail replays with `spin -t`, which prints
/// one `STEP` line per step (``PromelaModel/steps(fromTrailOutput:)``).
public struct PromelaModel: Sendable {
    public let design: Design
    public let universe: Universe

    public init(design: Design, universe: Universe) {
        self.design = design
        self.universe = universe
    }

    /// The `-D` macro that selects what a run checks.
    public enum Check: String, Sendable, CaseIterable {
        case exposure = "CHECK_EXPOSURE"
        case useAfterFree = "CHECK_UAF"
        case confidential = "CHECK_CONFIDENTIAL"
        case deletion = "CHECK_DELETE"
        case quiescence = "CHECK_QUIESCENCE"
        case handOff = "CHECK_HANDOFF"

        public init(_ invariant: Invariant?) {
            switch invariant {
            case .noCrossVMExposure: self = .exposure
            case .noUseAfterFree: self = .useAfterFree
            case .confidentialMemoryDiesWithVM: self = .confidential
            case .deleteKeepsData: self = .deletion
            case .quiescenceFreesEverything: self = .quiescence
            case nil: self = .handOff
            }
        }
    }

    /// Which check an assertion `pan` reports belongs to (by the text of the assertion).
    public static func check(ofAssertion text: Substring) -> Check? {
        if text.contains("uaf_ok") { return .useAfterFree }
        if text.contains("quiet_ok") { return .quiescence }
        if text.contains("before_creator") { return .handOff }
        if text.contains("step_value") { return .exposure }
        if text.contains("before_page") { return .deletion }
        if text.contains("vm_alive") || text.contains("before_secrets") { return .confidential }
        return nil
    }

    /// The file name: `<design>-<flavour>.pml`.
    public var fileName: String {
        let name =
            design.lifetime == .slotsPinFile ? "slots-pin-file-\(design.protection.rawValue)" : design.lifetime.rawValue
        return "\(name)-\(design.flavour.rawValue).pml"
    }

    public var text: String {
        let policy = design.policy
        let choices = universe.choices
        let nv = universe.vms
        let nf = universe.files
        let ns = universe.slots
        let np = universe.pagesPerFile
        func flag(_ value: Bool) -> String { value ? "1" : "0" }
        var lines: [String] = []
        func add(_ line: String = "") { lines.append(line) }
        add("/* gmem explore --emit-promela: \(design) in \(universe).")
        add("   A second encoding of the explorer's semantics (docs/design-explorer.md, \"Held against Spin\").")
        add(
            "   One check:   spin -DCHECK_EXPOSURE -a \(fileName) && cc -O1 -DBFS -DSAFETY -DNOCLAIM -o pan pan.c && ./pan -m\(universe.depth)"
        )
        add(
            "   All checks:  spin -DCHECK_ALL -a \(fileName) && cc ... && ./pan -m\(universe.depth) -c0   (every violation, with its depth)"
        )
        add("   Checks: CHECK_EXPOSURE CHECK_UAF CHECK_CONFIDENTIAL CHECK_DELETE CHECK_QUIESCENCE CHECK_HANDOFF. */")
        add()
        add("#ifdef CHECK_ALL")
        for check in Check.allCases { add("#define \(check.rawValue)") }
        add("#endif")
        add()
        add("#define NV \(nv)")
        add("#define NF \(nf)")
        add("#define NS \(ns)")
        add("#define NP \(np)")
        add("/* The design: who references whom, and what binding and unbinding do. */")
        add("#define FILE_PINS_VM \(flag(policy.fileHoldsVMReference))")
        add("#define SLOT_PINS_FILE \(flag(policy.memslotHoldsFileReference))")
        add("#define CLEAR_ON_LAST_UNBIND \(flag(policy.clearsOwnerOnLastUnbind))")
        add("#define ZERO_ON_UNBIND \(flag(policy.zeroesOnUnbind))")
        add("#define ZERO_ON_REBIND \(flag(policy.zeroesOnRebindToAnotherVM))")
        add("/* The modelling choices (docs/design-explorer.md, \"Modelling choices\"). */")
        add("#define NAMES_AT_CREATION \(flag(choices.fileNamesVM == .atCreation || policy.fileHoldsVMReference))")
        add(
            "#define CLEAR_AT_TEARDOWN \(flag(policy.clearsOwnerOnLastUnbind && choices.pointerAtTeardown == .cleared))"
        )
        add("#define REUSE_IDS \(flag(choices.vmIdentitiesReused))")
        add("#define COUNT_FREED \(flag(choices.countFilesFreedByDelete))")
        add("#define FLAVOUR_SNP \(flag(design.flavour == .snp))")
        add("#define FLAVOUR_TDX \(flag(design.flavour == .tdx))")
        add("#define DANGLING 15")
        add()
        add(Self.body)
        add()
        add("active proctype userspace() {")
        add("end:\n  do")
        add("  :: d_step { nvms < NV -> BEGIN(); create_vm(); CHECK(0); END() }")
        for v in 0..<nv {
            add("  :: d_step { nfiles < NF && vm_fd[\(v)] -> BEGIN(); create_file(\(v)); CHECK(0); END() }")
        }
        for v in 0..<nv {
            for s in 0..<ns {
                for f in 0..<nf {
                    add(
                        "  :: d_step { vm_fd[\(v)] && file_fd[\(f)] -> BEGIN(); bind(\(v), \(s), \(f)); CHECK(\(f)); END() }"
                    )
                }
            }
        }
        for v in 0..<nv {
            for s in 0..<ns {
                for p in 0..<np {
                    add("  :: d_step { vm_fd[\(v)] -> BEGIN(); guest_write(\(v), \(s), \(p)); CHECK(0); END() }")
                    add("  :: d_step { vm_fd[\(v)] -> BEGIN(); guest_read(\(v), \(s), \(p)); CHECK(0); END() }")
                }
            }
        }
        for v in 0..<nv {
            for s in 0..<ns { add("  :: d_step { vm_fd[\(v)] -> BEGIN(); delete_slot(\(v), \(s)); CHECK(0); END() }") }
        }
        for v in 0..<nv { add("  :: d_step { vm_fd[\(v)] -> BEGIN(); close_vm(\(v)); CHECK(0); END() }") }
        for f in 0..<nf { add("  :: d_step { file_fd[\(f)] -> BEGIN(); close_file(\(f)); CHECK(0); END() }") }
        add("  od")
        add("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The objects, the operations and the checks (the part every design shares; the
    /// design's rules are the macros above it).
    static let body = #"""
        /* ---- VMs: a reference count (its fd, plus each file that pins it), an identity (the
           kernel pointer files compare), and its memslot table. */
        byte nvms;
        bool vm_fd[NV];
        bool vm_alive[NV];
        byte vm_refs[NV];
        byte vm_id[NV];
        /* memslot[v*NS+s]: 0 none, 1 a memslot whose file binding was invalidated, 2+f bound to f */
        byte memslot[NV*NS];

        /* ---- Files: the file view (fd, references) and its inode (pages), the file's VM pointer
           (gmem->kvm: 0 none, 1+identity, DANGLING), the VM its data belongs to (protection c),
           and its own binding record (gmem->bindings: at most one, it covers the whole file). */
        byte nfiles;
        bool file_fd[NF];
        byte file_refs[NF];
        bool inode_alive[NF];
        byte file_creator[NF];
        byte file_ptr[NF];
        byte file_data_vm[NF];
        bool file_bound[NF];
        byte file_bound_vm[NF];
        byte file_bound_slot[NF];
        /* page[f*NP+p]: 0 a hole, 1 zero, 2+w VM w's secret */
        byte page[NF*NP];

        /* ---- What a step did, the state before it, and scratch variables. Spin's breadth-first
           search cannot use `hidden`, so END() zeroes them after every step: they never tell two
           stored states apart. */
        byte step_kind;      /* 1 bind ok, 2 read, 3 delete ok */
        byte step_vm;
        byte step_value;
        byte before_secrets[NV];
        byte before_vm_alive[NV];
        byte before_page[NF*NP];
        byte before_inode[NF];
        byte before_creator[NF];
        /* the release work list: objects whose last reference went */
        byte kill_vm[NV];
        byte kill_file[NF];
        byte i;
        byte j;
        byte k;
        byte n;
        byte uf;
        byte busy;
        byte ok;
        byte uaf_ok;
        byte quiet_ok;

        inline END() {
          step_kind = 0; step_vm = 0; step_value = 0;
          for (i : 0 .. NV-1) { before_secrets[i] = 0; before_vm_alive[i] = 0 }
          for (i : 0 .. NF*NP-1) { before_page[i] = 0 }
          for (i : 0 .. NF-1) { before_inode[i] = 0; before_creator[i] = 0 }
          i = 0; j = 0; k = 0; n = 0; uf = 0; busy = 0; ok = 0; uaf_ok = 0; quiet_ok = 0
        }

        inline secrets_of(w, out) {
          out = 0;
          for (k : 0 .. NF*NP-1) {
            if
            :: inode_alive[k / NP] && page[k] == 2 + w -> out++
            :: else -> skip
            fi
          }
        }

        inline BEGIN() {
          step_kind = 0; step_vm = 0; step_value = 0;
          for (i : 0 .. NV-1) {
            before_vm_alive[i] = vm_alive[i];
            secrets_of(i, n);
            before_secrets[i] = n
          }
          for (i : 0 .. NF*NP-1) { before_page[i] = page[i] }
          for (i : 0 .. NF-1) { before_inode[i] = inode_alive[i]; before_creator[i] = file_creator[i] }
        }

        /* Drop the references queued on the work list until none is left. */
        inline settle() {
          busy = true;
          do
          :: busy ->
             busy = false;
             for (i : 0 .. NV-1) {
               if
               :: kill_vm[i] ->
                  kill_vm[i] = false; busy = true;
                  /* VM teardown: every memslot goes, each binding with it. */
                  for (j : 0 .. NS-1) {
                    if
                    :: memslot[i*NS+j] >= 2 -> uf = memslot[i*NS+j] - 2; unbind_file(uf)
                    :: else -> skip
                    fi;
                    memslot[i*NS+j] = 0
                  }
                  /* the files that still name this VM */
                  for (j : 0 .. NF-1) {
                    if
                    :: inode_alive[j] && file_ptr[j] == vm_id[i] + 1 ->
                       if
                       :: CLEAR_AT_TEARDOWN -> file_ptr[j] = 0
                       :: !CLEAR_AT_TEARDOWN && REUSE_IDS -> skip
                       :: else -> file_ptr[j] = DANGLING
                       fi
                    :: else -> skip
                    fi;
                    if
                    :: inode_alive[j] && file_data_vm[j] == vm_id[i] + 1 && !REUSE_IDS -> file_data_vm[j] = DANGLING
                    :: else -> skip
                    fi
                  }
                  vm_alive[i] = false; vm_id[i] = 0; vm_refs[i] = 0
               :: else -> skip
               fi
             }
             for (i : 0 .. NF-1) {
               if
               :: kill_file[i] ->
                  kill_file[i] = false; busy = true;
                  /* kvm_gmem_release: the binding is invalidated, the memslot stays */
                  if
                  :: file_bound[i] ->
                     memslot[file_bound_vm[i]*NS + file_bound_slot[i]] = 1;
                     file_bound[i] = false
                  :: else -> skip
                  fi;
                  if
                  :: FILE_PINS_VM ->
                     vm_refs[file_creator[i]]--;
                     if
                     :: vm_refs[file_creator[i]] == 0 -> kill_vm[file_creator[i]] = true
                     :: else -> skip
                     fi
                  :: else -> skip
                  fi;
                  inode_alive[i] = false;
                  for (j : 0 .. NP-1) { page[i*NP+j] = 0 }
                  file_creator[i] = 0; file_ptr[i] = 0; file_data_vm[i] = 0;
                  file_bound_vm[i] = 0; file_bound_slot[i] = 0; file_refs[i] = 0
               :: else -> skip
               fi
             }
          :: else -> break
          od
        }

        inline unbind_file(f) {
          file_bound[f] = false; file_bound_vm[f] = 0; file_bound_slot[f] = 0;
          if
          :: ZERO_ON_UNBIND -> for (k : 0 .. NP-1) { page[f*NP+k] = 0 }
          :: else -> skip
          fi;
          if
          :: CLEAR_ON_LAST_UNBIND -> file_ptr[f] = 0
          :: else -> skip
          fi;
          if
          :: SLOT_PINS_FILE ->
             file_refs[f]--;
             if
             :: file_refs[f] == 0 -> kill_file[f] = true
             :: else -> skip
             fi
          :: else -> skip
          fi
        }

        inline create_vm() {
          vm_fd[nvms] = true; vm_alive[nvms] = true; vm_refs[nvms] = 1;
          if
          :: REUSE_IDS ->
             /* the lowest identity no live VM holds */
             n = 0;
             do
             :: n < NV ->
                ok = true;
                for (i : 0 .. NV-1) {
                  if
                  :: vm_alive[i] && i != nvms && vm_id[i] == n -> ok = false
                  :: else -> skip
                  fi
                }
                if
                :: ok -> break
                :: else -> n++
                fi
             :: else -> break
             od;
             vm_id[nvms] = n
          :: else -> vm_id[nvms] = nvms
          fi;
          printf("STEP createVM %d\n", nvms);
          nvms++
        }

        inline create_file(v) {
          file_fd[nfiles] = true; file_refs[nfiles] = 1; inode_alive[nfiles] = true; file_creator[nfiles] = v;
          if
          :: NAMES_AT_CREATION -> file_ptr[nfiles] = vm_id[v] + 1
          :: else -> file_ptr[nfiles] = 0
          fi;
          if
          :: ZERO_ON_REBIND -> file_data_vm[nfiles] = file_ptr[nfiles]
          :: else -> skip
          fi;
          if
          :: FILE_PINS_VM -> vm_refs[v]++
          :: else -> skip
          fi;
          printf("STEP createFile %d %d\n", nfiles, v);
          nfiles++
        }

        inline bind(v, s, f) {
          printf("STEP bind %d %d %d\n", v, s, f);
          if
          :: memslot[v*NS+s] != 0 -> skip   /* the memslot exists: EINVAL */
          :: memslot[v*NS+s] == 0 && file_bound[f] -> skip   /* already bound: EINVAL */
          :: memslot[v*NS+s] == 0 && !file_bound[f] && file_ptr[f] != 0 && file_ptr[f] != vm_id[v] + 1 -> skip  /* another VM's: EINVAL */
          :: else ->
             if
             :: ZERO_ON_REBIND && file_data_vm[f] != vm_id[v] + 1 -> for (k : 0 .. NP-1) { page[f*NP+k] = 0 }
             :: else -> skip
             fi;
             if
             :: ZERO_ON_REBIND -> file_data_vm[f] = vm_id[v] + 1
             :: else -> skip
             fi;
             file_ptr[f] = vm_id[v] + 1;
             memslot[v*NS+s] = 2 + f;
             file_bound[f] = true; file_bound_vm[f] = v; file_bound_slot[f] = s;
             if
             :: SLOT_PINS_FILE -> file_refs[f]++
             :: else -> skip
             fi;
             step_kind = 1; step_vm = v
          fi
        }

        inline guest_write(v, s, p) {
          printf("STEP write %d %d %d\n", v, s, p);
          if
          :: memslot[v*NS+s] >= 2 -> page[(memslot[v*NS+s] - 2)*NP + p] = 2 + v
          :: else -> skip   /* no memslot: MMIO exit; binding gone: memory-fault exit */
          fi
        }

        inline guest_read(v, s, p) {
          printf("STEP read %d %d %d\n", v, s, p);
          if
          :: memslot[v*NS+s] >= 2 ->
             n = (memslot[v*NS+s] - 2)*NP + p;
             if
             :: page[n] == 0 -> page[n] = 1   /* a read allocates a zero page */
             :: else -> skip
             fi;
             step_kind = 2; step_vm = v; step_value = page[n]
          :: else -> skip
          fi
        }

        inline delete_slot(v, s) {
          printf("STEP delete %d %d\n", v, s);
          if
          :: memslot[v*NS+s] == 0 -> skip   /* no such memslot: EINVAL */
          :: else ->
             n = memslot[v*NS+s];
             memslot[v*NS+s] = 0;
             if
             :: n >= 2 -> uf = n - 2; unbind_file(uf)
             :: else -> skip
             fi;
             settle();
             step_kind = 3
          fi
        }

        inline close_vm(v) {
          printf("STEP closeVM %d\n", v);
          vm_fd[v] = false;
          vm_refs[v]--;
          if
          :: vm_refs[v] == 0 -> kill_vm[v] = true
          :: else -> skip
          fi;
          settle()
        }

        inline close_file(f) {
          printf("STEP closeFile %d\n", f);
          file_fd[f] = false;
          file_refs[f]--;
          if
          :: file_refs[f] == 0 -> kill_file[f] = true
          :: else -> skip
          fi;
          settle()
        }

        /* ---- The invariants: the one selected with -D is asserted after every step. */
        inline CHECK(bound) {
        #ifdef CHECK_EXPOSURE
          assert(!(step_kind == 2 && step_value >= 2 && step_value - 2 != step_vm));
        #endif
        #ifdef CHECK_HANDOFF
          assert(!(step_kind == 1 && before_creator[bound] != step_vm));
        #endif
        #ifdef CHECK_UAF
          for (i : 0 .. NF-1) {
            if
            :: inode_alive[i] && file_ptr[i] != 0 ->
               uaf_ok = false;
               for (j : 0 .. NV-1) {
                 if
                 :: vm_alive[j] && file_ptr[i] == vm_id[j] + 1 -> uaf_ok = true
                 :: else -> skip
                 fi
               }
               assert(uaf_ok)
            :: else -> skip
            fi
          }
        #endif
        #ifdef CHECK_CONFIDENTIAL
          for (i : 0 .. NV-1) {
            secrets_of(i, n);
            if
            :: FLAVOUR_SNP -> assert(!(i < nvms && !vm_alive[i] && n > 0))
            :: FLAVOUR_TDX -> assert(!(!before_vm_alive[i] && i < nvms && n < before_secrets[i]))
            :: else -> skip
            fi
          }
        #endif
        #ifdef CHECK_DELETE
          if
          :: step_kind == 3 ->
             for (i : 0 .. NF-1) {
               if
               :: inode_alive[i] ->
                  for (j : 0 .. NP-1) { assert(page[i*NP+j] == before_page[i*NP+j]) }
               :: !inode_alive[i] && before_inode[i] && COUNT_FREED ->
                  for (j : 0 .. NP-1) { assert(before_page[i*NP+j] == 0) }
               :: else -> skip
               fi
             }
          :: else -> skip
          fi;
        #endif
        #ifdef CHECK_QUIESCENCE
          quiet_ok = false;   /* some fd still open */
          busy = false; /* something still alive */
          for (i : 0 .. NV-1) { quiet_ok = quiet_ok || vm_fd[i]; busy = busy || vm_alive[i] }
          for (i : 0 .. NF-1) { quiet_ok = quiet_ok || file_fd[i]; busy = busy || inode_alive[i] }
          assert(quiet_ok || !busy);
        #endif
          skip
        }
        """#

    /// The steps of a trail, from the `STEP` lines `spin -t` prints.
    public static func steps(fromTrailOutput output: String) -> [ExplorerStep] {
        output.split(separator: "\n").compactMap { line -> ExplorerStep? in
            let words = line.split(separator: " ").drop { $0 != "STEP" }.dropFirst()
            guard let kind = words.first else { return nil }
            let n = words.dropFirst().compactMap { Int($0) }
            switch (kind, n.count) {
            case ("createVM", 1): return .createVM(vm: n[0])
            case ("createFile", 2): return .createFile(file: n[0], vm: n[1])
            case ("bind", 3): return .bind(vm: n[0], slot: n[1], file: n[2])
            case ("write", 3): return .guestWrite(vm: n[0], slot: n[1], page: n[2])
            case ("read", 3): return .guestRead(vm: n[0], slot: n[1], page: n[2])
            case ("delete", 2): return .deleteSlot(vm: n[0], slot: n[1])
            case ("closeVM", 1): return .closeVM(vm: n[0])
            case ("closeFile", 1): return .closeFile(file: n[0])
            default: return nil
            }
        }
    }
}
