package sevsnp

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"

	"github.com/mpcsigner/mpcsigner/attestation"
)

// This file holds the platform half of the policy: what a report must show besides its launch
// measurement (attestation.SEVSNPPolicy). Every refusal wraps attestation.ErrMeasurement and
// names the report field, what the report says and what the policy wants.

// checkPlatformPolicy refuses an SEV-SNP policy the verifier could not enforce as written.
func checkPlatformPolicy(p attestation.SEVSNPPolicy) error {
	if err := attestation.CheckVMPL(p.VMPL); err != nil {
		return fmt.Errorf("sevsnp: %w", err)
	}
	for _, list := range []struct {
		name    string
		digests [][]byte
	}{{"ID key", p.IDKeyDigests}, {"author key", p.AuthorKeyDigests}} {
		for i, d := range list.digests {
			if err := attestation.CheckSEVSNPDigest(d); err != nil {
				return fmt.Errorf("sevsnp: allowed %s digest %d %w", list.name, i, err)
			}
		}
	}
	return nil
}

// clonePlatformPolicy deep-copies p, so that a caller changing its slices later cannot change
// what a verifier accepts.
func clonePlatformPolicy(p attestation.SEVSNPPolicy) attestation.SEVSNPPolicy {
	cloneAll := func(in [][]byte) [][]byte {
		var out [][]byte
		for _, d := range in {
			out = append(out, bytes.Clone(d))
		}
		return out
	}
	p.IDKeyDigests = cloneAll(p.IDKeyDigests)
	p.AuthorKeyDigests = cloneAll(p.AuthorKeyDigests)
	return p
}

// checkPlatform applies the platform policy to a report whose signature has been verified.
func (v *Verifier) checkPlatform(report *spb.Report) error {
	checks := []func(*spb.Report) error{
		v.checkGuestPolicy,
		v.checkVMPL,
		v.checkIDBlock,
		v.checkTCB,
	}
	for _, check := range checks {
		if err := check(report); err != nil {
			return err
		}
	}
	return nil
}

// checkGuestPolicy refuses a migration agent, SMT when the policy forbids it, and a guest that
// would launch on firmware older than the policy's minimum ABI. (DEBUG is refused with the
// measurement, in checkLaunch.)
func (v *Verifier) checkGuestPolicy(report *spb.Report) error {
	gp, err := abi.ParseSnpPolicy(report.GetPolicy())
	if err != nil {
		return malformed("guest policy: %v", err)
	}
	if gp.MigrateMA {
		// A migration agent can export the guest's memory and its VMRK: whatever it trusts
		// can read the shares.
		return fmt.Errorf("sevsnp: guest policy %#x has MIGRATE_MA set, the policy allows no migration agent: launch with MIGRATE_MA clear: %w",
			report.GetPolicy(), attestation.ErrMeasurement)
	}
	if gp.SMT && v.platform.ForbidSMT {
		return fmt.Errorf("sevsnp: guest policy %#x has SMT allowed, the policy (smt: forbidden) requires it clear: "+
			"launch with the SMT bit clear on a host with SMT off: %w", report.GetPolicy(), attestation.ErrMeasurement)
	}
	got := attestation.SEVSNPABI{Major: gp.ABIMajor, Minor: gp.ABIMinor}
	if got.Less(v.platform.MinABI) {
		return fmt.Errorf("sevsnp: guest policy ABI minimum is %s, below the policy's min_abi %s: launch with a guest policy that requires ABI %s or later: %w",
			got, v.platform.MinABI, v.platform.MinABI, attestation.ErrMeasurement)
	}
	return nil
}

// checkVMPL refuses a report requested from another privilege level than the policy's: a
// report from a less privileged VMPL is not the guest kernel's word.
func (v *Verifier) checkVMPL(report *spb.Report) error {
	if got := report.GetVmpl(); got != uint32(v.platform.VMPL) {
		return fmt.Errorf("sevsnp: report VMPL is %d, the policy requires VMPL %d: %w", got, v.platform.VMPL, attestation.ErrMeasurement)
	}
	return nil
}

// checkIDBlock applies the ID-key and author-key allow-lists, when the policy has them.
func (v *Verifier) checkIDBlock(report *spb.Report) error {
	if len(v.platform.IDKeyDigests) > 0 && !containsDigest(v.platform.IDKeyDigests, report.GetIdKeyDigest()) {
		return fmt.Errorf("sevsnp: ID_KEY_DIGEST %x is not one of the policy's id_key_digests [%s]: launch with an ID block signed by an allowed key: %w",
			report.GetIdKeyDigest(), hexList(v.platform.IDKeyDigests), attestation.ErrMeasurement)
	}
	if len(v.platform.AuthorKeyDigests) == 0 {
		return nil
	}
	info, err := abi.ParseSignerInfo(report.GetSignerInfo())
	if err != nil {
		return malformed("report signer info: %v", err)
	}
	if !info.AuthorKeyEn {
		// Without AUTHOR_KEY_EN the AUTHOR_KEY_DIGEST field means nothing.
		return fmt.Errorf("sevsnp: AUTHOR_KEY_EN is 0 (the ID key was not signed by an author key), the policy requires one of author_key_digests [%s]: %w",
			hexList(v.platform.AuthorKeyDigests), attestation.ErrMeasurement)
	}
	if !containsDigest(v.platform.AuthorKeyDigests, report.GetAuthorKeyDigest()) {
		return fmt.Errorf("sevsnp: AUTHOR_KEY_DIGEST %x is not one of the policy's author_key_digests [%s]: %w",
			report.GetAuthorKeyDigest(), hexList(v.platform.AuthorKeyDigests), attestation.ErrMeasurement)
	}
	return nil
}

// checkTCB refuses TCB values out of AMD's order, and a REPORTED_TCB or LAUNCH_TCB below the
// policy's minimum in any component.
//
// Order: AMD's attestation guidance has REPORTED_TCB ≤ COMMITTED_TCB ≤ CURRENT_TCB. COMMITTED_TCB
// is the floor the secure processor's firmware can be rolled back to; holding REPORTED_TCB at or
// below it makes the minimum on REPORTED_TCB (the level the signing VCEK is certified for) a
// minimum on that floor as well. COMMITTED_TCB below CURRENT_TCB (firmware installed but not yet
// committed) is accepted: the floor is what counts.
//
// LAUNCH_TCB is held to the same minimum because a guest launched on older firmware may have
// been tampered with before the update, whatever the firmware is now.
func (v *Verifier) checkTCB(report *spb.Report) error {
	layout, err := tcbLayoutOf(report)
	if err != nil {
		return err
	}
	parts := map[string]tcbParts{}
	for _, f := range []struct {
		name string
		raw  uint64
	}{
		{"REPORTED_TCB", report.GetReportedTcb()},
		{"COMMITTED_TCB", report.GetCommittedTcb()},
		{"CURRENT_TCB", report.GetCurrentTcb()},
		{"LAUNCH_TCB", report.GetLaunchTcb()},
	} {
		p, err := layout.decode(f.name, f.raw)
		if err != nil {
			return err
		}
		parts[f.name] = p
	}
	for _, pair := range [][2]string{{"REPORTED_TCB", "COMMITTED_TCB"}, {"COMMITTED_TCB", "CURRENT_TCB"}} {
		lo, hi := parts[pair[0]], parts[pair[1]]
		if c, ok := firstAbove(lo, hi); ok {
			return fmt.Errorf("sevsnp: %s %s is %d, above %s %s %d: AMD's order REPORTED_TCB ≤ COMMITTED_TCB ≤ CURRENT_TCB does not hold: %w",
				pair[0], c.name, c.lo, pair[1], c.name, c.hi, attestation.ErrMeasurement)
		}
	}
	minimum := policyTCB(v.platform.MinTCB, layout)
	for _, field := range []string{"REPORTED_TCB", "LAUNCH_TCB"} {
		if c, ok := firstAbove(minimum, parts[field]); ok {
			return fmt.Errorf("sevsnp: %s %s is %d, below the policy's min_tcb.%s %d: update the host's firmware (or relaunch the guest after an update): %w",
				field, c.name, c.hi, c.name, c.lo, attestation.ErrMeasurement)
		}
	}
	return nil
}

// tcbLayout says where each component sits in a 64-bit TCB_VERSION, which depends on the CPU
// generation: Milan and Genoa (family 19h) put the bootloader, TEE, SNP and microcode levels in
// bytes 0, 1, 6 and 7; Turin (family 1Ah) puts the FMC, bootloader, TEE, SNP and microcode
// levels in bytes 0, 1, 2, 3 and 7. The other bytes are reserved and must be zero.
type tcbLayout struct {
	turin bool
}

// CPU families whose TCB layout this verifier knows.
const (
	familyZen3Zen4 = 0x19
	familyZen5     = 0x1A
)

// tcbLayoutOf picks the layout from the CPUID family a version 3 or later report carries.
// Version 2 reports have no CPUID field and come only from Milan and Genoa firmware.
func tcbLayoutOf(report *spb.Report) (tcbLayout, error) {
	if report.GetVersion() < abi.ReportVersion3 {
		return tcbLayout{}, nil
	}
	family, _, _ := abi.FmsFromCpuid1Eax(report.GetCpuid1EaxFms())
	switch family {
	case familyZen3Zen4:
		return tcbLayout{}, nil
	case familyZen5:
		return tcbLayout{turin: true}, nil
	}
	return tcbLayout{}, malformed("report CPUID family %#x: the TCB layout is known only for families %#x (Milan, Genoa) and %#x (Turin)",
		family, familyZen3Zen4, familyZen5)
}

// tcbParts is a TCB version by component. fmc is zero on layouts that have none.
type tcbParts struct {
	fmc, bootloader, tee, snp, microcode uint8
}

// decode splits raw (the field named field) into its components, refusing non-zero reserved
// bytes: they would mean a layout this verifier does not know.
func (l tcbLayout) decode(field string, raw uint64) (tcbParts, error) {
	b := func(i int) uint8 { return uint8(raw >> (8 * i)) }
	var p tcbParts
	var reserved []int
	if l.turin {
		p = tcbParts{fmc: b(0), bootloader: b(1), tee: b(2), snp: b(3), microcode: b(7)}
		reserved = []int{4, 5, 6}
	} else {
		p = tcbParts{bootloader: b(0), tee: b(1), snp: b(6), microcode: b(7)}
		reserved = []int{2, 3, 4, 5}
	}
	for _, i := range reserved {
		if b(i) != 0 {
			return tcbParts{}, malformed("%s %#016x has reserved byte %d set: unknown TCB layout", field, raw, i)
		}
	}
	return p, nil
}

// policyTCB is the policy's minimum in the report's layout: FMC counts only where there is one.
func policyTCB(m attestation.SEVSNPTCB, l tcbLayout) tcbParts {
	p := tcbParts{bootloader: m.Bootloader, tee: m.TEE, snp: m.SNP, microcode: m.Microcode}
	if l.turin {
		p.fmc = m.FMC
	}
	return p
}

// component is one TCB component of two TCBs being compared.
type component struct {
	name   string
	lo, hi uint8
}

// firstAbove returns the first component in which lo is greater than hi.
func firstAbove(lo, hi tcbParts) (component, bool) {
	for _, c := range []component{
		{"bootloader", lo.bootloader, hi.bootloader},
		{"tee", lo.tee, hi.tee},
		{"snp", lo.snp, hi.snp},
		{"microcode", lo.microcode, hi.microcode},
		{"fmc", lo.fmc, hi.fmc},
	} {
		if c.lo > c.hi {
			return c, true
		}
	}
	return component{}, false
}

// containsDigest reports whether list holds d.
func containsDigest(list [][]byte, d []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, d) {
			return true
		}
	}
	return false
}

// hexList formats digests for an error.
func hexList(list [][]byte) string {
	out := make([]string, len(list))
	for i, d := range list {
		out[i] = hex.EncodeToString(d)
	}
	return strings.Join(out, " ")
}
