package sevsnp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"

	"github.com/mpcsigner/mpcsigner/attestation"
)

// milanTCB encodes a Milan/Genoa TCB_VERSION with go-sev-guest's kds package, an encoder
// independent of the decoder under test.
func milanTCB(t testing.TB, bootloader, tee, snp, microcode uint8) uint64 {
	t.Helper()
	v, err := kds.ComposeTCBParts(kds.TCBParts{BlSpl: bootloader, TeeSpl: tee, SnpSpl: snp, UcodeSpl: microcode})
	if err != nil {
		t.Fatalf("ComposeTCBParts: %v", err)
	}
	return uint64(v)
}

// turinTCB encodes a Turin TCB_VERSION by hand: FMC, bootloader, TEE and SNP in bytes 0-3,
// microcode in byte 7 (SEV-SNP firmware ABI, TCB_VERSION for family 1Ah; the same layout as
// virtee/sev's TcbVersion for Turin).
func turinTCB(fmc, bootloader, tee, snp, microcode uint8) uint64 {
	return uint64(fmc) | uint64(bootloader)<<8 | uint64(tee)<<16 | uint64(snp)<<24 | uint64(microcode)<<56
}

// withTCBs sets the report's four TCB fields.
func withTCBs(reported, committed, current, launch uint64) func(*spb.Report) {
	return func(r *spb.Report) {
		r.ReportedTcb, r.CommittedTcb, r.CurrentTcb, r.LaunchTcb = reported, committed, current, launch
	}
}

// docWith attests the test fields with a fake secure processor whose report edit changes.
func docWith(t *testing.T, edit func(*spb.Report)) []byte {
	t.Helper()
	qp := newFake(t)
	qp.edit = edit
	return genuineDoc(t, qp)
}

// policyWith is the test policy with p as its platform part.
func policyWith(p attestation.SEVSNPPolicy) attestation.Policy {
	pol := testPolicy()
	pol.SEVSNP = p
	return pol
}

// wantRefusal checks that err wraps want and mentions every piece of text in parts.
func wantRefusal(t *testing.T, err, want error, parts ...string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("Verify = %v, want success", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("Verify = %v, want %v", err, want)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("Verify error %q does not mention %q", err, p)
		}
	}
}

func TestVerifyTCBMinimum(t *testing.T) {
	upToDate := milanTCB(t, 10, 0, 23, 213)
	minimum := attestation.SEVSNPTCB{Bootloader: 10, TEE: 0, SNP: 23, Microcode: 213}
	raise := func(f func(*attestation.SEVSNPTCB)) attestation.SEVSNPTCB {
		m := minimum
		f(&m)
		return m
	}
	cases := []struct {
		name   string
		launch uint64
		min    attestation.SEVSNPTCB
		want   error
		parts  []string
	}{
		{"no minimum", upToDate, attestation.SEVSNPTCB{}, nil, nil},
		{"at the minimum", upToDate, minimum, nil, nil},
		{"bootloader below", upToDate, raise(func(m *attestation.SEVSNPTCB) { m.Bootloader = 11 }),
			attestation.ErrMeasurement, []string{"REPORTED_TCB bootloader is 10", "min_tcb.bootloader 11"}},
		{"tee below", upToDate, raise(func(m *attestation.SEVSNPTCB) { m.TEE = 1 }),
			attestation.ErrMeasurement, []string{"REPORTED_TCB tee is 0", "min_tcb.tee 1"}},
		{"snp below", upToDate, raise(func(m *attestation.SEVSNPTCB) { m.SNP = 24 }),
			attestation.ErrMeasurement, []string{"REPORTED_TCB snp is 23", "min_tcb.snp 24"}},
		{"microcode below", upToDate, raise(func(m *attestation.SEVSNPTCB) { m.Microcode = 214 }),
			attestation.ErrMeasurement, []string{"REPORTED_TCB microcode is 213", "min_tcb.microcode 214"}},
		// Milan has no FMC: a minimum for it concerns Turin reports only.
		{"fmc minimum on a Milan report", upToDate, raise(func(m *attestation.SEVSNPTCB) { m.FMC = 9 }), nil, nil},
		{"launched on older firmware", milanTCB(t, 10, 0, 21, 213), minimum,
			attestation.ErrMeasurement, []string{"LAUNCH_TCB snp is 21", "min_tcb.snp 23"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := docWith(t, withTCBs(upToDate, upToDate, upToDate, tc.launch))
			v := newTestVerifier(t, policyWith(attestation.SEVSNPPolicy{MinTCB: tc.min}))
			_, err := v.Verify(doc, testNow)
			wantRefusal(t, err, tc.want, tc.parts...)
		})
	}
}

func TestVerifyTCBOrder(t *testing.T) {
	snp := func(n uint8) uint64 { return milanTCB(t, 10, 0, n, 213) }
	cases := []struct {
		name                                 string
		reported, committed, current, launch uint64
		min                                  attestation.SEVSNPTCB
		want                                 error
		parts                                []string
	}{
		{"all equal", snp(23), snp(23), snp(23), snp(23), attestation.SEVSNPTCB{}, nil, nil},
		{"reported above committed", snp(23), snp(22), snp(23), snp(23), attestation.SEVSNPTCB{},
			attestation.ErrMeasurement, []string{"REPORTED_TCB snp is 23, above COMMITTED_TCB snp 22"}},
		{"committed above current", milanTCB(t, 10, 0, 23, 213), milanTCB(t, 10, 0, 23, 214), milanTCB(t, 10, 0, 23, 213), snp(23),
			attestation.SEVSNPTCB{}, attestation.ErrMeasurement, []string{"COMMITTED_TCB microcode is 214, above CURRENT_TCB microcode 213"}},
		// New firmware installed, not yet committed: the committed floor is what counts.
		{"provisional firmware", snp(22), snp(22), snp(23), snp(23), attestation.SEVSNPTCB{SNP: 22}, nil, nil},
		// The host reports an older TCB than it runs (to share one VCEK level across a fleet):
		// fine, unless that is below the minimum.
		{"reported held back", snp(21), snp(23), snp(23), snp(23), attestation.SEVSNPTCB{}, nil, nil},
		{"reported held back below the minimum", snp(21), snp(23), snp(23), snp(23), attestation.SEVSNPTCB{SNP: 22},
			attestation.ErrMeasurement, []string{"REPORTED_TCB snp is 21", "min_tcb.snp 22"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := docWith(t, withTCBs(tc.reported, tc.committed, tc.current, tc.launch))
			_, err := newTestVerifier(t, policyWith(attestation.SEVSNPPolicy{MinTCB: tc.min})).Verify(doc, testNow)
			wantRefusal(t, err, tc.want, tc.parts...)
		})
	}
}

func TestVerifyTCBReservedBytes(t *testing.T) {
	tcb := milanTCB(t, 10, 0, 23, 213) | 1<<24 // byte 3 is reserved on Milan
	doc := docWith(t, withTCBs(tcb, tcb, tcb, tcb))
	_, err := newTestVerifier(t, testPolicy()).Verify(doc, testNow)
	wantRefusal(t, err, attestation.ErrMalformed, "reserved byte 3")
}

// TestTCBLayouts checks the decoder against both encoders, and that the layout follows the
// CPUID family of the report. (The fake AMD chain is Milan's, so Turin is checked here on the
// report structure rather than through a signed document.)
func TestTCBLayouts(t *testing.T) {
	got, err := tcbLayout{}.decode("t", milanTCB(t, 1, 2, 3, 4))
	if want := (tcbParts{bootloader: 1, tee: 2, snp: 3, microcode: 4}); err != nil || got != want {
		t.Errorf("Milan decode = %+v, %v; want %+v", got, err, want)
	}
	got, err = tcbLayout{turin: true}.decode("t", turinTCB(5, 1, 2, 3, 4))
	if want := (tcbParts{fmc: 5, bootloader: 1, tee: 2, snp: 3, microcode: 4}); err != nil || got != want {
		t.Errorf("Turin decode = %+v, %v; want %+v", got, err, want)
	}
	if _, err := (tcbLayout{turin: true}).decode("t", turinTCB(5, 1, 2, 3, 4)|1<<40); !errors.Is(err, attestation.ErrMalformed) {
		t.Errorf("Turin decode with reserved byte 5 set = %v, want ErrMalformed", err)
	}

	families := []struct {
		name    string
		version uint32
		fms     uint32
		turin   bool
		wantErr bool
	}{
		{"v2 report", 2, 0, false, false},
		{"Milan", 3, abi.FmsToCpuid1Eax(0x19, 0x01, 1), false, false},
		{"Genoa", 3, abi.FmsToCpuid1Eax(0x19, 0x11, 1), false, false},
		{"Turin", 3, abi.FmsToCpuid1Eax(0x1A, 0x02, 0), true, false},
		{"Zen 2 (no SEV-SNP TCB layout known)", 3, abi.FmsToCpuid1Eax(0x17, 0x31, 0), false, true},
	}
	for _, f := range families {
		l, err := tcbLayoutOf(&spb.Report{Version: f.version, Cpuid1EaxFms: f.fms})
		if (err != nil) != f.wantErr || (err == nil && l.turin != f.turin) {
			t.Errorf("%s: layout turin=%v, err %v; want turin=%v, error %v", f.name, l.turin, err, f.turin, f.wantErr)
		}
	}
}

// TestCheckTCBTurin runs the TCB check on a Turin report structure: the FMC level counts there.
func TestCheckTCBTurin(t *testing.T) {
	tcb := turinTCB(3, 1, 2, 40, 90)
	report := &spb.Report{
		Version: 3, Cpuid1EaxFms: abi.FmsToCpuid1Eax(0x1A, 0x02, 0),
		ReportedTcb: tcb, CommittedTcb: tcb, CurrentTcb: tcb, LaunchTcb: tcb,
	}
	ok := &Verifier{platform: attestation.SEVSNPPolicy{MinTCB: attestation.SEVSNPTCB{FMC: 3, Bootloader: 1, TEE: 2, SNP: 40, Microcode: 90}}}
	if err := ok.checkTCB(report); err != nil {
		t.Errorf("checkTCB(Turin at the minimum) = %v", err)
	}
	high := &Verifier{platform: attestation.SEVSNPPolicy{MinTCB: attestation.SEVSNPTCB{FMC: 4}}}
	wantRefusal(t, high.checkTCB(report), attestation.ErrMeasurement, "REPORTED_TCB fmc is 3", "min_tcb.fmc 4")
}

func TestVerifyVMPL(t *testing.T) {
	cases := []struct {
		name         string
		report, want int
		err          error
	}{
		{"VMPL 0, default policy", 0, 0, nil},
		{"VMPL 1, default policy", 1, 0, attestation.ErrMeasurement},
		{"VMPL 1, policy 1", 1, 1, nil},
		{"VMPL 0, policy 2", 0, 2, attestation.ErrMeasurement},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := docWith(t, func(r *spb.Report) { r.Vmpl = uint32(tc.report) })
			_, err := newTestVerifier(t, policyWith(attestation.SEVSNPPolicy{VMPL: tc.want})).Verify(doc, testNow)
			var parts []string
			if tc.err != nil {
				parts = []string{"report VMPL is " + strconv.Itoa(tc.report), "requires VMPL " + strconv.Itoa(tc.want)}
			}
			wantRefusal(t, err, tc.err, parts...)
		})
	}
}

var (
	idKey     = bytes.Repeat([]byte{0x1d}, abi.IDKeyDigestSize)
	authorKey = bytes.Repeat([]byte{0xa7}, abi.AuthorKeyDigestSize)
	otherKey  = bytes.Repeat([]byte{0x2e}, abi.IDKeyDigestSize)
)

// withIDBlock sets the report's ID block fields.
func withIDBlock(id, author []byte, authorKeyEn bool) func(*spb.Report) {
	return func(r *spb.Report) {
		r.IdKeyDigest = bytes.Clone(id)
		r.AuthorKeyDigest = bytes.Clone(author)
		r.SignerInfo = abi.ComposeSignerInfo(abi.SignerInfo{SigningKey: abi.VcekReportSigner, AuthorKeyEn: authorKeyEn})
	}
}

func TestVerifyIDKeyDigests(t *testing.T) {
	zero := make([]byte, abi.IDKeyDigestSize)
	cases := []struct {
		name    string
		report  []byte
		allowed [][]byte
		want    error
		parts   []string
	}{
		{"no allow-list", idKey, nil, nil, nil},
		{"allowed", idKey, [][]byte{otherKey, idKey}, nil, nil},
		{"not allowed", idKey, [][]byte{otherKey}, attestation.ErrMeasurement,
			[]string{"ID_KEY_DIGEST " + hex.EncodeToString(idKey), hex.EncodeToString(otherKey)}},
		{"launched without an ID block", zero, [][]byte{idKey}, attestation.ErrMeasurement,
			[]string{"ID_KEY_DIGEST " + hex.EncodeToString(zero), hex.EncodeToString(idKey)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := docWith(t, withIDBlock(tc.report, zero, false))
			_, err := newTestVerifier(t, policyWith(attestation.SEVSNPPolicy{IDKeyDigests: tc.allowed})).Verify(doc, testNow)
			wantRefusal(t, err, tc.want, tc.parts...)
		})
	}
}

func TestVerifyAuthorKeyDigests(t *testing.T) {
	cases := []struct {
		name    string
		author  []byte
		enabled bool
		allowed [][]byte
		want    error
		parts   []string
	}{
		{"no allow-list, no author key", make([]byte, abi.AuthorKeyDigestSize), false, nil, nil, nil},
		{"allowed", authorKey, true, [][]byte{authorKey}, nil, nil},
		{"AUTHOR_KEY_EN clear", authorKey, false, [][]byte{authorKey}, attestation.ErrMeasurement,
			[]string{"AUTHOR_KEY_EN is 0", hex.EncodeToString(authorKey)}},
		{"not allowed", otherKey, true, [][]byte{authorKey}, attestation.ErrMeasurement,
			[]string{"AUTHOR_KEY_DIGEST " + hex.EncodeToString(otherKey), hex.EncodeToString(authorKey)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := docWith(t, withIDBlock(idKey, tc.author, tc.enabled))
			_, err := newTestVerifier(t, policyWith(attestation.SEVSNPPolicy{
				IDKeyDigests: [][]byte{idKey}, AuthorKeyDigests: tc.allowed,
			})).Verify(doc, testNow)
			wantRefusal(t, err, tc.want, tc.parts...)
		})
	}
}

func TestVerifyGuestPolicy(t *testing.T) {
	guest := func(p abi.SnpPolicy) func(*spb.Report) {
		return func(r *spb.Report) { r.Policy = abi.SnpPolicyToBytes(p) }
	}
	abi155 := abi.SnpPolicy{ABIMajor: 1, ABIMinor: 55}
	with := func(f func(*abi.SnpPolicy)) abi.SnpPolicy {
		p := abi155
		f(&p)
		return p
	}
	cases := []struct {
		name   string
		guest  abi.SnpPolicy
		policy attestation.SEVSNPPolicy
		want   error
		parts  []string
	}{
		{"plain guest, default policy", abi155, attestation.SEVSNPPolicy{}, nil, nil},
		{"migration agent", with(func(p *abi.SnpPolicy) { p.MigrateMA = true }), attestation.SEVSNPPolicy{},
			attestation.ErrMeasurement, []string{"MIGRATE_MA"}},
		{"SMT allowed, policy allows it", with(func(p *abi.SnpPolicy) { p.SMT = true }), attestation.SEVSNPPolicy{}, nil, nil},
		{"SMT allowed, policy forbids it", with(func(p *abi.SnpPolicy) { p.SMT = true }), attestation.SEVSNPPolicy{ForbidSMT: true},
			attestation.ErrMeasurement, []string{"SMT allowed", "smt: forbidden"}},
		{"SMT clear, policy forbids it", abi155, attestation.SEVSNPPolicy{ForbidSMT: true}, nil, nil},
		{"ABI at the minimum", abi155, attestation.SEVSNPPolicy{MinABI: attestation.SEVSNPABI{Major: 1, Minor: 55}}, nil, nil},
		{"ABI minor below", abi155, attestation.SEVSNPPolicy{MinABI: attestation.SEVSNPABI{Major: 1, Minor: 56}},
			attestation.ErrMeasurement, []string{"ABI minimum is 1.55", "min_abi 1.56"}},
		{"ABI major below", abi155, attestation.SEVSNPPolicy{MinABI: attestation.SEVSNPABI{Major: 2}},
			attestation.ErrMeasurement, []string{"ABI minimum is 1.55", "min_abi 2.0"}},
		{"ABI major above", abi.SnpPolicy{ABIMajor: 2}, attestation.SEVSNPPolicy{MinABI: attestation.SEVSNPABI{Major: 1, Minor: 56}}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := docWith(t, guest(tc.guest))
			_, err := newTestVerifier(t, policyWith(tc.policy)).Verify(doc, testNow)
			wantRefusal(t, err, tc.want, tc.parts...)
		})
	}
}

func TestNewVerifierPlatformPolicy(t *testing.T) {
	cases := map[string]attestation.SEVSNPPolicy{
		"VMPL 4":                 {VMPL: 4},
		"VMPL -1":                {VMPL: -1},
		"short ID key digest":    {IDKeyDigests: [][]byte{idKey[:32]}},
		"zero author key digest": {AuthorKeyDigests: [][]byte{make([]byte, 48)}},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := NewVerifier(policyWith(p), WithTrustedRoots(fakeRoots(signer(t)))); err == nil {
				t.Fatalf("NewVerifier(%s) succeeded", name)
			}
		})
	}
}

// TestVerifierKeepsItsPolicy changes the caller's allow-list after NewVerifier: what the
// verifier accepts must not change with it.
func TestVerifierKeepsItsPolicy(t *testing.T) {
	allowed := [][]byte{bytes.Clone(idKey)}
	v := newTestVerifier(t, policyWith(attestation.SEVSNPPolicy{IDKeyDigests: allowed}))
	allowed[0][0] ^= 1
	doc := docWith(t, withIDBlock(idKey, make([]byte, 48), false))
	if _, err := v.Verify(doc, testNow); err != nil {
		t.Fatalf("Verify after the caller changed its slice = %v", err)
	}
}

// TestVerifyIDKeyInsteadOfMeasurement pins only keys, as an enclave's own policy must (its image
// cannot contain its own measurement): any measurement is accepted from a launch whose ID block
// an allowed key signed, and nothing else.
func TestVerifyIDKeyInsteadOfMeasurement(t *testing.T) {
	zero := make([]byte, abi.IDKeyDigestSize)
	otherImage := func(r *spb.Report) { r.Measurement = bytes.Clone(otherMeasurement) }
	both := func(fs ...func(*spb.Report)) func(*spb.Report) {
		return func(r *spb.Report) {
			for _, f := range fs {
				f(r)
			}
		}
	}
	cases := []struct {
		name   string
		policy attestation.SEVSNPPolicy
		edit   func(*spb.Report)
		want   error
	}{
		{"allowed ID key, any image", attestation.SEVSNPPolicy{IDKeyDigests: [][]byte{idKey}},
			both(otherImage, withIDBlock(idKey, zero, false)), nil},
		{"other ID key", attestation.SEVSNPPolicy{IDKeyDigests: [][]byte{idKey}},
			both(otherImage, withIDBlock(otherKey, zero, false)), attestation.ErrMeasurement},
		{"no ID block", attestation.SEVSNPPolicy{IDKeyDigests: [][]byte{idKey}},
			both(otherImage, withIDBlock(zero, zero, false)), attestation.ErrMeasurement},
		{"allowed author key", attestation.SEVSNPPolicy{AuthorKeyDigests: [][]byte{authorKey}},
			both(otherImage, withIDBlock(otherKey, authorKey, true)), nil},
		{"author key not enabled", attestation.SEVSNPPolicy{AuthorKeyDigests: [][]byte{authorKey}},
			both(otherImage, withIDBlock(otherKey, authorKey, false)), attestation.ErrMeasurement},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, attestation.Policy{SEVSNP: tc.policy})
			got, err := v.Verify(docWith(t, tc.edit), testNow)
			wantRefusal(t, err, tc.want)
			if err == nil && !bytes.Equal(got.Measurements[0], otherMeasurement) {
				t.Errorf("document measurement = %x, want the report's %x", got.Measurements[0], otherMeasurement)
			}
		})
	}
}
