package eth2

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestantio/go-eth2-client/spec/phase0"
	"github.com/google/go-cmp/cmp"
)

// goldenBodies returns every request body under testdata that ParseRequest accepts, by file.
func goldenBodies(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, dir := range []string{"openapi", "openapi-edited"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			name := filepath.Join(dir, filepath.Base(f))
			body := readTestdata(t, name)
			if _, err := ParseRequest(body); err == nil {
				out[name] = body
			}
		}
	}
	return out
}

// rootResult is SigningRoot's outcome as one comparable string.
func rootResult(r *Request, net *Network) string {
	root, err := r.SigningRoot(net)
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%#x", root)
}

// TestCanonicalRoundTrip re-parses the canonical form of every golden body, covering every
// type: the same request, the same root (or the same refusal), the same bytes again.
func TestCanonicalRoundTrip(t *testing.T) {
	net := mainnet(t)
	seen := map[Type]bool{}
	for name, body := range goldenBodies(t) {
		t.Run(name, func(t *testing.T) {
			req, err := ParseRequest(body)
			if err != nil {
				t.Fatal(err)
			}
			seen[req.Type] = true
			canon := req.Canonical()
			again, err := ParseRequest(canon)
			if err != nil {
				t.Fatalf("ParseRequest(Canonical()) = %v\n%s", err, canon)
			}
			if diff := cmp.Diff(req, again); diff != "" {
				t.Errorf("request (-original +re-parsed):\n%s", diff)
			}
			if diff := cmp.Diff(rootResult(req, net), rootResult(again, net)); diff != "" {
				t.Errorf("root (-original +re-parsed):\n%s", diff)
			}
			if diff := cmp.Diff(string(canon), string(again.Canonical())); diff != "" {
				t.Errorf("Canonical is not stable (-first +second):\n%s", diff)
			}
		})
	}
	for _, typ := range Types() {
		if !seen[typ] {
			t.Errorf("no golden body of type %s", typ)
		}
	}
}

// TestCanonicalForm pins the canonical encoding of one small request.
func TestCanonicalForm(t *testing.T) {
	body := `{
		"randao_reveal": {"epoch": "3"},
		"signing_root": "0x3D047C51A8B03630781DC4C5519C17F7DE87174246FF2DEED0F195C6C775F91E",
		"fork_info": {"genesis_validators_root": "0x04700007fabc8282644aed6d1c7c9e21d38a03a0c4ba193f3afe428824b3a673",
			"fork": {"epoch": "1", "current_version": "0x00000001", "previous_version": "0x00000001"}},
		"type": "RANDAO_REVEAL"
	}`
	want := `{"type":"RANDAO_REVEAL","fork_info":{"fork":{"previous_version":"0x00000001","current_version":"0x00000001","epoch":"1"},` +
		`"genesis_validators_root":"0x04700007fabc8282644aed6d1c7c9e21d38a03a0c4ba193f3afe428824b3a673"},` +
		`"signingRoot":"0x3d047c51a8b03630781dc4c5519c17f7de87174246ff2deed0f195c6c775f91e","randao_reveal":{"epoch":"3"}}`
	req, err := ParseRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(req.Canonical())); diff != "" {
		t.Errorf("Canonical (-want +got):\n%s", diff)
	}
	if _, err := req.SigningRoot(mainnet(t)); err != nil {
		t.Errorf("SigningRoot: %v", err)
	}
}

// TestForkInfoDroppedWhereUnused: a fork_info sent with DEPOSIT or VALIDATOR_REGISTRATION is
// checked, then dropped (Web3Signer ignores it; older Nimbus sends one).
func TestForkInfoDroppedWhereUnused(t *testing.T) {
	for _, file := range []string{"openapi/deposit.json", "openapi/validator_registration.json"} {
		t.Run(file, func(t *testing.T) {
			withFork := withField(t, readTestdata(t, file), "fork_info", json.RawMessage(forkInfoJSON(5)))
			req, err := ParseRequest(withFork)
			if err != nil {
				t.Fatal(err)
			}
			if req.ForkInfo != nil {
				t.Errorf("ForkInfo = %+v, want nil", req.ForkInfo)
			}
			if bytes.Contains(req.Canonical(), []byte("fork_info")) {
				t.Errorf("Canonical keeps fork_info: %s", req.Canonical())
			}
			bad := withField(t, readTestdata(t, file), "fork_info", json.RawMessage(`{"fork":{}}`))
			if _, err := ParseRequest(bad); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "fork_info.fork.previous_version: missing") {
				t.Errorf("malformed fork_info: error = %v", err)
			}
		})
	}
}

// withField returns body with the top-level field name set to v.
func withField(t testing.TB, body []byte, name string, v any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if v == nil {
		delete(m, name)
	} else {
		m[name] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestForkVersionByEpoch checks get_domain's choice at the fork boundary: the previous version
// before fork.epoch, the current one from it on, for the epoch each type signs at.
func TestForkVersionByEpoch(t *testing.T) {
	prev, cur := phase0.Version{0x03, 0, 0, 0}, phase0.Version{0x04, 0, 0, 0}
	gvr := chunk(root32(t, testGVR))
	tests := []struct {
		name      string
		forkEpoch uint64
		payload   string
		typ       string
		object    chunk
		domain    phase0.DomainType
		want      phase0.Version
	}{
		{"randao epoch before fork", 10, `"randao_reveal":{"epoch":"9"}`, "RANDAO_REVEAL", u64(9), domainRandao, prev},
		{"randao epoch at fork", 10, `"randao_reveal":{"epoch":"10"}`, "RANDAO_REVEAL", u64(10), domainRandao, cur},
		{"randao epoch after fork", 10, `"randao_reveal":{"epoch":"11"}`, "RANDAO_REVEAL", u64(11), domainRandao, cur},
		{"fork at genesis", 0, `"randao_reveal":{"epoch":"0"}`, "RANDAO_REVEAL", u64(0), domainRandao, cur},
		{"fork never", 1<<64 - 1, `"randao_reveal":{"epoch":"18446744073709551614"}`, "RANDAO_REVEAL", u64(1<<64 - 2), domainRandao, prev},
		{"slot 319 is epoch 9", 10, `"aggregation_slot":{"slot":"319"}`, "AGGREGATION_SLOT", u64(319), domainSelectionProof, prev},
		{"slot 320 is epoch 10", 10, `"aggregation_slot":{"slot":"320"}`, "AGGREGATION_SLOT", u64(320), domainSelectionProof, cur},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseRequest([]byte(testBody(tt.typ, tt.forkEpoch, tt.payload)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := req.SigningRoot(mainnet(t))
			if err != nil {
				t.Fatal(err)
			}
			want := signingRootByHand(tt.object, tt.domain, tt.want, gvr)
			if diff := cmp.Diff([32]byte(want), got); diff != "" {
				t.Errorf("root (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAttestationDomainFollowsTarget: an attestation is signed at its target epoch, even when
// its slot and source lie before the fork.
func TestAttestationDomainFollowsTarget(t *testing.T) {
	body := testBody("ATTESTATION", 10, `"attestation":{"slot":"319","index":"0","beacon_block_root":"0x1111111111111111111111111111111111111111111111111111111111111111","source":{"epoch":"9","root":"0x2222222222222222222222222222222222222222222222222222222222222222"},"target":{"epoch":"10","root":"0x3333333333333333333333333333333333333333333333333333333333333333"}}`)
	req, err := ParseRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := req.SigningRoot(mainnet(t))
	if err != nil {
		t.Fatal(err)
	}
	want := signingRootByHand(handAttestationData(req.Attestation), domainBeaconAttester, phase0.Version{0x04, 0, 0, 0}, root32(t, testGVR))
	if diff := cmp.Diff([32]byte(want), got); diff != "" {
		t.Errorf("root (-want +got):\n%s", diff)
	}
}

// TestVoluntaryExitEIP7044 checks the Web3Signer rule for exits: when fork_info's epoch is in
// Deneb or later on the network, the domain uses the network's Capella fork version.
func TestVoluntaryExitEIP7044(t *testing.T) {
	capella := phase0.Version{0x03, 0, 0, 0}
	gvr := chunk(root32(t, testGVR))
	exitAt := func(prevV, curV string, forkEpoch, exitEpoch uint64) string {
		return `{"type":"VOLUNTARY_EXIT","fork_info":{"fork":{"previous_version":"` + prevV + `","current_version":"` + curV + `","epoch":"` +
			fmt.Sprint(forkEpoch) + `"},"genesis_validators_root":"` + testGVR + `"},"voluntary_exit":{"epoch":"` + fmt.Sprint(exitEpoch) + `","validator_index":"7"}}`
	}
	noDeneb := &Network{Name: "custom", GenesisForkVersion: phase0.Version{}}
	tests := []struct {
		name string
		net  *Network
		body string
		want phase0.Version
	}{
		{"electra fork_info signs with capella", nil, exitAt("0x04000000", "0x05000000", 364032, 364100), capella},
		{"deneb's first epoch signs with capella", nil, exitAt("0x03000000", "0x04000000", 269568, 269568), capella},
		{"capella fork_info as Lodestar sends it", nil, exitAt("0x02000000", "0x03000000", 194048, 400000), capella},
		{"before deneb: fork_info at the exit epoch", nil, exitAt("0x02000000", "0x03000000", 194048, 194047), phase0.Version{0x02, 0, 0, 0}},
		{"last epoch before deneb: fork_info", nil, exitAt("0x07000000", "0x08000000", 269567, 269567), phase0.Version{0x08, 0, 0, 0}},
		{"network without a deneb epoch: fork_info", noDeneb, exitAt("0x04000000", "0x05000000", 364032, 364100), phase0.Version{0x05, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := tt.net
			if net == nil {
				net = mainnet(t)
			}
			req, err := ParseRequest([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := req.SigningRoot(net)
			if err != nil {
				t.Fatal(err)
			}
			object := container(u64(uint64(req.VoluntaryExit.Epoch)), u64(uint64(req.VoluntaryExit.ValidatorIndex)))
			want := signingRootByHand(object, domainVoluntaryExit, tt.want, gvr)
			if diff := cmp.Diff([32]byte(want), got); diff != "" {
				t.Errorf("root (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSuppliedRoot covers the optional signingRoot: kept, checked, under either spelling.
func TestSuppliedRoot(t *testing.T) {
	body := readTestdata(t, "openapi/attestation.json")
	const good = "0x548c9a015f4c96cb8b1ddbbdfca85846f85bf9f344a434c140f378cdfb5341f0"
	const bad = "0x548c9a015f4c96cb8b1ddbbdfca85846f85bf9f344a434c140f378cdfb5341f1"
	tests := []struct {
		name      string
		body      []byte
		parseErr  string
		rootErr   error
		errDetail []string
	}{
		{name: "matching", body: body},
		{name: "absent", body: withField(t, body, "signingRoot", nil)},
		{name: "alias signing_root", body: withField(t, withField(t, body, "signingRoot", nil), "signing_root", good)},
		{name: "uppercase hex", body: withField(t, body, "signingRoot", "0x"+strings.ToUpper(good[2:]))},
		{name: "mismatch", body: withField(t, body, "signingRoot", bad), rootErr: ErrRootMismatch, errDetail: []string{bad, good}},
		{name: "mismatch under alias", body: withField(t, withField(t, body, "signingRoot", nil), "signing_root", bad), rootErr: ErrRootMismatch},
		{name: "both spellings", body: withField(t, body, "signing_root", good), parseErr: "signing_root: send signingRoot or signing_root, not both"},
		{name: "short", body: withField(t, body, "signingRoot", good[:64]), parseErr: "signingRoot: has 31 bytes, want 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseRequest(tt.body)
			if tt.parseErr != "" {
				if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tt.parseErr) {
					t.Fatalf("ParseRequest error = %v, want %q", err, tt.parseErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			root, err := req.SigningRoot(mainnet(t))
			if tt.rootErr != nil {
				if !errors.Is(err, tt.rootErr) {
					t.Fatalf("SigningRoot error = %v, want %v", err, tt.rootErr)
				}
				for _, s := range tt.errDetail {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not name %s", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(root32(t, good), root); diff != "" {
				t.Errorf("root (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSlashable checks the facts handed to slashing protection, per type.
func TestSlashable(t *testing.T) {
	gvr := root32(t, "0x04700007fabc8282644aed6d1c7c9e21d38a03a0c4ba193f3afe428824b3a673")
	tests := []struct {
		file string
		want Slashable
	}{
		{"openapi-edited/block_deprecated.json", Slashable{Kind: SlashBlock, Slot: 0, GenesisValidatorsRoot: gvr}},
		{"openapi/block_v2_phase_0.json", Slashable{Kind: SlashBlock, Slot: 0, GenesisValidatorsRoot: gvr}},
		{"openapi-edited/block_v2_altair.json", Slashable{Kind: SlashBlock, Slot: 0, GenesisValidatorsRoot: gvr}},
		{"openapi/block_v2_capella.json", Slashable{Kind: SlashBlock, Slot: 0, GenesisValidatorsRoot: gvr}},
		{"openapi/attestation.json", Slashable{Kind: SlashAttestation, SourceEpoch: 0, TargetEpoch: 0, GenesisValidatorsRoot: gvr}},
		{"openapi/randao_reveal.json", Slashable{Kind: SlashNone, GenesisValidatorsRoot: gvr}},
		{"openapi/aggregate_and_proof_v2_electra.json", Slashable{Kind: SlashNone, GenesisValidatorsRoot: gvr}},
		{"openapi/voluntary_exit.json", Slashable{Kind: SlashNone, GenesisValidatorsRoot: gvr}},
		{"openapi/deposit.json", Slashable{Kind: SlashNone}},
		{"openapi/validator_registration.json", Slashable{Kind: SlashNone}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			req, err := ParseRequest(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, req.Slashable()); diff != "" {
				t.Errorf("Slashable (-want +got):\n%s", diff)
			}
		})
	}
	// Non-zero values, so that a swapped field shows.
	body := testBody("ATTESTATION", 1, `"attestation":{"slot":"3300","index":"1","beacon_block_root":"0x1111111111111111111111111111111111111111111111111111111111111111","source":{"epoch":"101","root":"0x2222222222222222222222222222222222222222222222222222222222222222"},"target":{"epoch":"103","root":"0x3333333333333333333333333333333333333333333333333333333333333333"}}`)
	req, err := ParseRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := Slashable{Kind: SlashAttestation, SourceEpoch: 101, TargetEpoch: 103, GenesisValidatorsRoot: root32(t, testGVR)}
	if diff := cmp.Diff(want, req.Slashable()); diff != "" {
		t.Errorf("attestation Slashable (-want +got):\n%s", diff)
	}
	body = testBody("BLOCK_V2", 1, `"beacon_block":{"version":"FULU","block_header":{"slot":"123456789","proposer_index":"1","parent_root":"0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","state_root":"0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","body_root":"0xcccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"}}`)
	if req, err = ParseRequest([]byte(body)); err != nil {
		t.Fatal(err)
	}
	want = Slashable{Kind: SlashBlock, Slot: 123456789, GenesisValidatorsRoot: root32(t, testGVR)}
	if diff := cmp.Diff(want, req.Slashable()); diff != "" {
		t.Errorf("block Slashable (-want +got):\n%s", diff)
	}
}

// TestHandBuiltRequests: requests built in code without their payload or fork_info are refused
// by SigningRoot and never panic; a block without its payload is still a block to slashing
// protection.
func TestHandBuiltRequests(t *testing.T) {
	for _, typ := range Types() {
		t.Run(string(typ), func(t *testing.T) {
			for _, req := range []*Request{{Type: typ}, {Type: typ, ForkInfo: &ForkInfo{}}} {
				if _, err := req.SigningRoot(mainnet(t)); !errors.Is(err, ErrBadRequest) {
					t.Errorf("SigningRoot(%+v) error = %v, want ErrBadRequest", req, err)
				}
				_ = req.Canonical()
			}
			wantKind := map[Type]SlashKind{TypeBlock: SlashBlock, TypeBlockV2: SlashBlock, TypeAttestation: SlashAttestation}[typ]
			if got := (&Request{Type: typ}).Slashable().Kind; got != wantKind {
				t.Errorf("Slashable().Kind = %v, want %v", got, wantKind)
			}
		})
	}
	if _, err := (&Request{Type: "NOPE"}).SigningRoot(mainnet(t)); !errors.Is(err, ErrBadRequest) {
		t.Errorf("unknown type: error = %v", err)
	}
	req, err := ParseRequest(readTestdata(t, "openapi/attestation.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := req.SigningRoot(nil); err == nil || errors.Is(err, ErrBadRequest) {
		t.Errorf("SigningRoot(nil) error = %v, want a non-request error", err)
	}
}

// TestTypes lists the supported types.
func TestTypes(t *testing.T) {
	want := []Type{
		"AGGREGATE_AND_PROOF", "AGGREGATE_AND_PROOF_V2", "AGGREGATION_SLOT", "ATTESTATION", "BLOCK", "BLOCK_V2", "DEPOSIT",
		"RANDAO_REVEAL", "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF", "SYNC_COMMITTEE_MESSAGE", "SYNC_COMMITTEE_SELECTION_PROOF",
		"VALIDATOR_REGISTRATION", "VOLUNTARY_EXIT",
	}
	if diff := cmp.Diff(want, Types()); diff != "" {
		t.Errorf("Types (-want +got):\n%s", diff)
	}
}
