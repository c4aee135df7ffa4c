import GmemModel

/// The invariant checks: each looks at one transition (the state before, the step, what it
/// returned, the state after) and says what broke, in words, or nil. A check that is about
/// states looks only at `after`; one about actions (a read, a deletion, a reclaim) at the step.
struct Checks {
    let design: Design

    func violation(
        of invariant: Invariant, before: ExplorerState, step: ExplorerStep,
        outcome: ModelOutcome, after: ExplorerState
    ) -> String? {
        switch invariant {
        case .noCrossVMExposure: exposure(step: step, outcome: outcome)
        case .noUseAfterFree: useAfterFree(after)
        case .confidentialMemoryDiesWithVM: confidential(before: before, after: after)
        case .deleteKeepsData: deletion(before: before, step: step, outcome: outcome, after: after)
        case .quiescenceFreesEverything: quiescence(after)
        }
    }

    /// A guest read that returns another VM's secret.
    func exposure(step: ExplorerStep, outcome: ModelOutcome) -> String? {
        guard case .guestRead(let reader, _, _) = step, case .guest(.value(let token)) = outcome,
            let writer = ExplorerStep.writer(of: token), writer != reader
        else { return nil }
        return
            "VM \(ExplorerStep.vmName(reader))'s guest read \(hex(token)), the secret VM \(ExplorerStep.vmName(writer))'s guest wrote"
    }

    /// A live file whose VM pointer names a destroyed VM, or a binding to a destroyed VM.
    func useAfterFree(_ state: ExplorerState) -> String? {
        for file in state.files.indices where state.files[file].alive {
            if state.kernel.owner(ofGuestMemfd: state.files[file].id) == .destroyedMachine {
                return "\(ExplorerStep.fileName(file)) is alive but its VM pointer (gmem->kvm) names a destroyed VM: "
                    + "the file does not pin the VM, yet must remember it to refuse every other VM"
            }
        }
        for file in state.files.indices where state.files[file].alive {
            for extent in state.kernel.bindings(ofGuestMemfd: state.files[file].id)
            where !state.kernel.vmExists(extent.value.machine) {
                return "a binding of \(ExplorerStep.fileName(file)) refers to a destroyed VM"
            }
        }
        return nil
    }

    /// SNP-like: after the step, a destroyed VM still has pages assigned (its ASID cannot be
    /// reused). TDX-like: during the step, a page of an already destroyed VM was reclaimed.
    func confidential(before: ExplorerState, after: ExplorerState) -> String? {
        switch design.flavour {
        case .plain:
            return nil
        case .snp:
            let pages = after.secretPages()
            for vm in after.vms.indices where !after.vms[vm].alive && pages[vm] > 0 {
                return
                    "VM \(ExplorerStep.vmName(vm)) is destroyed but \(pages[vm]) page(s) of its memory are still assigned to it: "
                    + "its ASID cannot be reused"
            }
            return nil
        case .tdx:
            let was = before.secretPages()
            let now = after.secretPages()
            for vm in before.vms.indices where !before.vms[vm].alive && now[vm] < was[vm] {
                return "\(was[vm] - now[vm]) page(s) of destroyed VM \(ExplorerStep.vmName(vm)) had to be reclaimed "
                    + "without its VM (TDX reclaim needs the TD's TDMR)"
            }
            // A VM that dies in this step may take its pages with it (the reclaim happens while
            // it is still being torn down); only a later reclaim is without the VM.
            return nil
        }
    }

    /// A memslot deletion that changed the data of a file that is still alive.
    func deletion(before: ExplorerState, step: ExplorerStep, outcome: ModelOutcome, after: ExplorerState) -> String? {
        guard case .deleteSlot = step, case .done = outcome else { return nil }
        for file in after.files.indices where after.files[file].alive {
            guard let was = before.contents(ofFile: file), let now = after.contents(ofFile: file), was != now else {
                continue
            }
            return
                "deleting the memslot freed \(was.pageCount - min(was.pageCount, now.pageCount)) page(s) of \(ExplorerStep.fileName(file)), "
                + "which is still open"
        }
        return nil
    }

    /// No descriptor or mapping left, yet a VM, a file or a page lives on.
    func quiescence(_ state: ExplorerState) -> String? {
        guard state.vms.allSatisfy({ $0.fd == nil }), state.files.allSatisfy({ $0.fd == nil }),
            state.kernel.openDescriptors.isEmpty, state.kernel.hostMappings.isEmpty
        else { return nil }
        let vms = state.kernel.liveVMs.count
        let files = state.kernel.liveGuestMemfds.count
        let pages = state.kernel.allocatedGuestMemfdPages
        guard vms > 0 || files > 0 || pages > 0 else { return nil }
        return "every fd is closed, yet \(vms) VM(s), \(files) file(s) and \(pages) page(s) remain"
    }

    /// A bind of a file into a VM other than the one that created it that succeeded.
    func handOff(before: ExplorerState, step: ExplorerStep, outcome: ModelOutcome) -> String? {
        guard case .bind(let vm, _, let file) = step, case .done = outcome, before.files[file].creator != vm else {
            return nil
        }
        return "\(ExplorerStep.fileName(file)), created from VM \(ExplorerStep.vmName(before.files[file].creator)), "
            + "is now bound into VM \(ExplorerStep.vmName(vm))"
    }
}
