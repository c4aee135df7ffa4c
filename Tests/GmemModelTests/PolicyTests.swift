import GmemModel
import Testing

/// The lifetime designs of the design thread, run on the same scenario: VM A writes a secret,
/// its memslots are deleted, and VM B tries to bind the same file and read it.
@Suite("Policies: the design thread's alternatives")
struct PolicyTests {
    /// Runs the attack; returns what VM B's bind returned and what B read (if it could bind).
    func attack(_ policy: Policy) throws -> (
        bind: Result<Void, ModelErrno>, read: ModelKernel.GuestAccessOutcome?, kernel: ModelKernel
    ) {
        var f = try Fixture(policy: policy)
        let victim = f.vm
        let fd = try f.gmem(pages: 2)
        #expect(f.bind(fd, slot: 0, gpaPage: 0, pages: 2, vm: victim) == .success(()))
        #expect(try f.guestWrite(1, 0x5EC12E7, fd: victim) == .written)
        #expect(f.delete(slot: 0, vm: victim) == .success(()))
        let attacker = try f.kernel.createVM().get()
        let bind = f.bind(fd, slot: 0, gpaPage: 0, pages: 2, vm: attacker)
        guard case .success = bind else { return (bind, nil, f.kernel) }
        return (bind, try f.guestRead(1, fd: attacker), f.kernel)
    }

    @Test("upstream: a file never binds to another VM")
    func upstreamBlocksAttack() throws {
        // GMEM-B5
        let result = try attack(.upstream)
        #expect(result.bind.failure == .EINVAL)
    }

    @Test("memslots pin the file, owner cleared on last unbind: the other VM reads the secret")
    func unprotectedDesignLeaks() throws {
        let result = try attack(.memslotsPinFile)
        #expect(result.bind == .success(()))
        #expect(result.read == .value(0x5EC12E7))
    }

    @Test("(a) never another VM: the bind is refused")
    func protectionA() throws {
        let result = try attack(.memslotsPinFileNeverAnotherVM)
        #expect(result.bind.failure == .EINVAL)
    }

    @Test("(b) zero on unbind: the secret is gone, and so is the victim's data on delete")
    func protectionB() throws {
        let result = try attack(.memslotsPinFileZeroOnUnbind)
        #expect(result.bind == .success(()))
        #expect(result.read == .value(0))
        // The cost: deleting a memslot destroyed data, even for the owner.
        var f = try Fixture(policy: .memslotsPinFileZeroOnUnbind)
        let fd = try f.gmem(pages: 1)
        #expect(f.bind(fd, pages: 1) == .success(()))
        #expect(try f.guestWrite(0, 9) == .written)
        #expect(f.delete() == .success(()))
        #expect(f.kernel.peek(fd: fd, page: 0) == .success(nil))
    }

    @Test("(c) zero on rebind to another VM: the secret is gone; the same VM keeps its data")
    func protectionC() throws {
        let result = try attack(.memslotsPinFileZeroOnRebind)
        #expect(result.bind == .success(()))
        #expect(result.read == .value(0))
        var f = try Fixture(policy: .memslotsPinFileZeroOnRebind)
        let fd = try f.gmem(pages: 1)
        #expect(f.bind(fd, pages: 1) == .success(()))
        #expect(try f.guestWrite(0, 9) == .written)
        #expect(f.delete() == .success(()))
        #expect(f.bind(fd, pages: 1) == .success(()))
        #expect(try f.guestRead(0) == .value(9))
    }

    @Test("memslots pin the file: closing every fd leaves the file alive while bound")
    func memslotPinsFile() throws {
        var f = try Fixture(policy: .memslotsPinFile)
        let fd = try f.gmem(pages: 1)
        #expect(f.bind(fd, pages: 1) == .success(()))
        #expect(f.kernel.close(fd) == .success(()))
        #expect(f.kernel.liveGuestMemfds.count == 1)
        #expect(try f.guestWrite(0, 4) == .written)
        #expect(f.delete() == .success(()))
        #expect(f.kernel.liveGuestMemfds.isEmpty)
    }

    @Test("memslots pin the file: memory outlives the VM it belonged to")
    func memoryOutlivesVM() throws {
        // GMEM-L6 is what this design breaks.
        var f = try Fixture(policy: .memslotsPinFile)
        let fd = try f.gmem(pages: 1)
        #expect(f.kernel.fallocate(fd: fd, mode: keepSize, offset: 0, length: Int64(page)) == .success(()))
        #expect(f.bind(fd, pages: 1) == .success(()))
        #expect(f.kernel.close(f.vm) == .success(()))
        #expect(f.kernel.liveVMs.isEmpty)
        #expect(f.kernel.allocatedGuestMemfdPages == 1)
        #expect(f.kernel.liveGuestMemfds.first?.owner == FileOwner.none)
    }

    @Test("(a) after its VM is destroyed, a file binds nowhere, even to a VM that reuses the id")
    func protectionAAfterDestruction() throws {
        var f = try Fixture(policy: .memslotsPinFileNeverAnotherVM)
        let fd = try f.gmem(pages: 1)
        #expect(f.kernel.close(f.vm) == .success(()))
        let next = try f.kernel.createVM().get()
        #expect(f.kernel.liveVMs.map(\.id) == [0])
        #expect(f.bind(fd, pages: 1, vm: next).failure == .EINVAL)
    }

    @Test("policy decisions")
    func decisions() {
        #expect(Policy.upstream.fileHoldsVMReference && !Policy.upstream.memslotHoldsFileReference)
        for policy in Policy.allCases where policy != .upstream && policy != .bothPin {
            #expect(!policy.fileHoldsVMReference && policy.memslotHoldsFileReference, "\(policy)")
        }
        #expect(Policy.bothPin.fileHoldsVMReference && Policy.bothPin.memslotHoldsFileReference)
        #expect(!Policy.memslotsPinFileNeverAnotherVM.clearsOwnerOnLastUnbind)
        #expect(Policy.upstream.mayBind(owner: .machine(1), to: 1))
        #expect(!Policy.upstream.mayBind(owner: .machine(1), to: 2))
        #expect(!Policy.upstream.mayBind(owner: .destroyedMachine, to: 2))
    }
}
