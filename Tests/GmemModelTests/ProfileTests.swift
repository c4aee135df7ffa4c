import GmemModel
import Testing

/// The rules that differ between kernel profiles, checked on the model under every profile:
/// each profile's answer, and that nothing else changes with the profile.
@Suite("Kernel profiles on the model")
struct ProfileTests {
    @Test(
        "overlapping file ranges: EINVAL on 6.18, EEXIST on next; overlapping guest ranges EEXIST on both",
        arguments: KernelProfile.all)
    func bindingOverlap(profile: KernelProfile) throws {
        // GMEM-B6 under each profile; GMEM-B8 (after a delete the range binds again)
        var f = try Fixture(profile.capabilities(.referenceHost))
        let fd = try f.gmem(pages: 8)
        #expect(f.bind(fd, slot: 0, gpaPage: 0, pages: 4, offsetPage: 0) == .success(()))
        let fileOverlap = f.bind(fd, slot: 1, gpaPage: 16, pages: 4, offsetPage: 3).failure
        #expect(fileOverlap == profile.overlappingBindingErrno)
        #expect(fileOverlap == (profile == .v6_18 ? .EINVAL : .EEXIST))
        #expect(f.bind(fd, slot: 1, gpaPage: 2, pages: 4, offsetPage: 4).failure == .EEXIST)
        #expect(f.delete(slot: 0) == .success(()))
        #expect(f.bind(fd, slot: 1, gpaPage: 16, pages: 4, offsetPage: 3) == .success(()))
        // The registry says the same.
        let b6 = RuleRegistry.rule("B6")!
        #expect(b6.statement(on: profile).contains(profile == .v6_18 ? "with `EINVAL`" : "with `EEXIST`"))
    }

    @Test("the other binding checks come first on every profile (B3, B5 before B6)", arguments: KernelProfile.all)
    func orderUnchanged(profile: KernelProfile) throws {
        // GMEM-B3, GMEM-B5, GMEM-B6
        var f = try Fixture(profile.capabilities(.referenceHost))
        let other = try f.kernel.createVM().get()
        let own = try f.gmem(pages: 4)
        let foreign = try f.gmem(pages: 4, vm: other)
        #expect(f.bind(own, slot: 0, gpaPage: 0, pages: 2) == .success(()))
        // Past the end and overlapping: B3's EINVAL wins over B6 on every profile.
        #expect(f.bind(own, slot: 1, gpaPage: 16, pages: 4, offsetPage: 1).failure == .EINVAL)
        // Another VM's file: B5's EINVAL.
        #expect(f.bind(foreign, slot: 2, gpaPage: 32, pages: 1).failure == .EINVAL)
        #expect(
            GmemRules.validateBinding(
                isGuestMemfd: true, ownedByBindingVM: true, offset: 0, size: page, fileSize: 4 * page,
                rangeIsUnbound: false, overlapErrno: profile.overlappingBindingErrno) == profile.overlappingBindingErrno
        )
    }

    @Test("a profile changes only the version's facts, not the host's configuration")
    func capabilitiesKept() {
        for base in [ModelCapabilities.referenceHost, .upstream] {
            for profile in KernelProfile.all {
                var applied = profile.capabilities(base)
                #expect(applied.overlappingBindingErrno == profile.overlappingBindingErrno)
                applied.overlappingBindingErrno = base.overlappingBindingErrno
                #expect(applied == base)
            }
        }
        #expect(ModelCapabilities.referenceHost.overlappingBindingErrno == KernelProfile.v6_18.overlappingBindingErrno)
    }
}
