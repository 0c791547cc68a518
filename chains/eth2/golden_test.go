package eth2

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestantio/go-eth2-client/spec/phase0"
	"github.com/google/go-cmp/cmp"
)

// readTestdata returns a file under testdata/.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// root32 decodes a 0x-prefixed 32-byte hex root.
func root32(t testing.TB, s string) [32]byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != 32 {
		t.Fatalf("bad root %q", s)
	}
	return [32]byte(b)
}

// mainnet is the built-in mainnet network.
func mainnet(t testing.TB) *Network {
	t.Helper()
	n, err := LookupNetwork("mainnet")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// minimalNetwork is the consensus specs' minimal configuration (configs/minimal.yaml), whose
// genesis fork version the OpenAPI examples were signed with.
var minimalNetwork = &Network{Name: "minimal", GenesisForkVersion: phase0.Version{0x00, 0x00, 0x00, 0x01}}

// TestOpenAPIExamples recomputes the signing root of each of Web3Signer's OpenAPI examples and
// compares it with the example's own signingRoot (ParseRequest keeps it as SuppliedRoot, and
// SigningRoot refuses a mismatch, so a pass means both agree).
func TestOpenAPIExamples(t *testing.T) {
	tests := []struct {
		file string
		net  *Network // nil: mainnet
		want string
	}{
		{file: "openapi/block_v2_phase_0.json", want: "0x23181cd23aa0ce5aed8628d4efc404e173ac4b72943ddb0e60129b4884aa8a4f"},
		{file: "openapi/block_v2_bellatrix.json", want: "0x26d0ee0b6c2261cd6010112a024de4f3d2e1e9844d11d60b057fac344c745464"},
		{file: "openapi/block_v2_capella.json", want: "0xaa2e0c465c1a45d7b6637fcce4ad6ceb71fc12064b548078d619a411f0de8adc"},
		{file: "openapi/block_v2_deneb.json", want: "0xaa2e0c465c1a45d7b6637fcce4ad6ceb71fc12064b548078d619a411f0de8adc"},
		{file: "openapi/block_v2_electra.json", want: "0xaa2e0c465c1a45d7b6637fcce4ad6ceb71fc12064b548078d619a411f0de8adc"},
		{file: "openapi/block_v2_fulu.json", want: "0xaa2e0c465c1a45d7b6637fcce4ad6ceb71fc12064b548078d619a411f0de8adc"},
		{file: "openapi/attestation.json", want: "0x548c9a015f4c96cb8b1ddbbdfca85846f85bf9f344a434c140f378cdfb5341f0"},
		{file: "openapi/aggregate_and_proof_deprecated.json", want: "0x8d777156899cb02e0e66217afd832886239752a59a393218f6c603bcf615b4f8"},
		{file: "openapi/aggregate_and_proof_v2_phase_0.json", want: "0x8d777156899cb02e0e66217afd832886239752a59a393218f6c603bcf615b4f8"},
		{file: "openapi/aggregate_and_proof_v2_altair.json", want: "0x8d777156899cb02e0e66217afd832886239752a59a393218f6c603bcf615b4f8"},
		{file: "openapi/aggregate_and_proof_v2_bellatrix.json", want: "0x8d777156899cb02e0e66217afd832886239752a59a393218f6c603bcf615b4f8"},
		{file: "openapi/aggregate_and_proof_v2_capella.json", want: "0x8d777156899cb02e0e66217afd832886239752a59a393218f6c603bcf615b4f8"},
		{file: "openapi/aggregate_and_proof_v2_deneb.json", want: "0x8d777156899cb02e0e66217afd832886239752a59a393218f6c603bcf615b4f8"},
		{file: "openapi/randao_reveal.json", want: "0x3d047c51a8b03630781dc4c5519c17f7de87174246ff2deed0f195c6c775f91e"},
		{file: "openapi/voluntary_exit.json", want: "0x38e9f1cfe7926ce5366b633b7fc7113129025737394002d2637faaeefc56913d"},
		{file: "openapi/sync_committee_message.json", want: "0xa6f60df2817ea5b52eed1fefebbad746ef64c6249fc05c90c9e0f520cc75bb95"},
		{file: "openapi/sync_committee_selection_proof.json", want: "0x50d85c783ab27c1eb3f3efa914b91cb93ffd677137b15c27ba5bb548306e6963"},
		{file: "openapi/deposit.json", want: "0x3a49cdd70862ee95fed10e7494a8caa16af1be2f53612fc74dad27260bb2d711"},
		// Signed for the minimal network's genesis fork version, 0x00000001.
		{file: "openapi/validator_registration.json", net: minimalNetwork, want: "0xe4d2b3dd1e23807b90af0b1768cc7de12d4353320adb486f1bdaeed6b67009ea"},
		// The examples' camelCase keys corrected (see testdata/README).
		{file: "openapi-edited/block_deprecated.json", want: "0xf6ab1a0a4a712f544f99b53cb8c2c2625859a134fb5c9f1b2cb96e13dd88bd62"},
		{file: "openapi-edited/aggregation_slot.json", want: "0x1fb90dd6e8b2670e6949347bc4eaacd37f9b6cc6e42c559973e362c800e853b9"},
		// aggregation_bits padded from the minimal preset's 1 byte to mainnet's 16.
		{file: "openapi-edited/sync_committee_contribution_and_proof.json", want: "0xae94702468b584a3b1c422bc1b39cc523d9175ba3b9ac1cccb699c00507cc1a5"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			net := tt.net
			if net == nil {
				net = mainnet(t)
			}
			req, err := ParseRequest(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if req.SuppliedRoot == nil {
				t.Fatal("the example's signingRoot was not kept")
			}
			got, err := req.SigningRoot(net)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(root32(t, tt.want), got); diff != "" {
				t.Errorf("root (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOpenAPIExamplesRefusedVerbatim pins what happens to the examples that cannot be taken as
// they are, so that a change in behaviour is a decision.
func TestOpenAPIExamplesRefusedVerbatim(t *testing.T) {
	tests := []struct {
		file    string
		wantErr string
	}{
		{"openapi/block_deprecated.json", `fork_info.fork.previous_version: missing (there is "previousVersion"`},
		{"openapi/aggregation_slot.json", `fork_info.fork.previous_version: missing (there is "previousVersion"`},
		{"openapi/block_v2_altair.json", "beacon_block.block.body.sync_aggregate.sync_committee_bits: has 4 bytes, want 64"},
		{"openapi/sync_committee_contribution_and_proof.json", "contribution_and_proof.contribution.aggregation_bits: has 1 bytes, want 16"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := ParseRequest(readTestdata(t, tt.file))
			if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseRequest error = %v, want ErrBadRequest containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestOpenAPIValidatorRegistrationIsNotMainnet shows why the registration example needs the
// minimal network: with mainnet's genesis fork version its root differs.
func TestOpenAPIValidatorRegistrationIsNotMainnet(t *testing.T) {
	req, err := ParseRequest(readTestdata(t, "openapi/validator_registration.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := req.SigningRoot(mainnet(t)); !errors.Is(err, ErrRootMismatch) {
		t.Fatalf("SigningRoot(mainnet) error = %v, want ErrRootMismatch", err)
	}
}

// TestOpenAPIElectraAggregateExamples pins the one example that reproduces under no preset: the
// Electra (and identical Fulu) AGGREGATE_AND_PROOF_V2. go-eth2-client and the hand-written SSZ
// below agree on a root other than the example's.
func TestOpenAPIElectraAggregateExamples(t *testing.T) {
	const specRoot = "0x247535806f76143fe4798427b2a79b85340c1a029a9e08581995b60e4e45c9e0"
	for _, file := range []string{"openapi/aggregate_and_proof_v2_electra.json", "openapi/aggregate_and_proof_v2_fulu.json"} {
		t.Run(file, func(t *testing.T) {
			req, err := ParseRequest(readTestdata(t, file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(root32(t, specRoot), *req.SuppliedRoot); diff != "" {
				t.Fatalf("supplied root (-want +got):\n%s", diff)
			}
			if _, err := req.SigningRoot(mainnet(t)); !errors.Is(err, ErrRootMismatch) {
				t.Fatalf("SigningRoot error = %v, want ErrRootMismatch", err)
			}
			req.SuppliedRoot = nil
			got, err := req.SigningRoot(mainnet(t))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(handAggregateAndProofRoot(t, req), got); diff != "" {
				t.Errorf("root (-hand +library):\n%s", diff)
			}
		})
	}
}

// TestOpenAPIAltairExampleIsMinimalPreset reproduces the ALTAIR block example by hand with the
// minimal preset's 32-bit sync committee, which the mainnet types cannot represent: the
// example is right, for another preset.
func TestOpenAPIAltairExampleIsMinimalPreset(t *testing.T) {
	// Parse the mainnet-sized copy for every other field, then hash its body by hand with the
	// example's own 4-byte bitvector in place of the padded one.
	req, err := ParseRequest(readTestdata(t, "openapi-edited/block_v2_altair.json"))
	if err != nil {
		t.Fatal(err)
	}
	block := req.BeaconBlock.Altair
	minimalBits := []byte{0x01, 0x00, 0x00, 0x00}
	bodyRoot := handAltairBodyRoot(t, block.Body, minimalBits)
	blockRoot := container(u64(uint64(block.Slot)), u64(uint64(block.ProposerIndex)), block.ParentRoot, block.StateRoot, bodyRoot)
	got := signingRootByHand(blockRoot, domainBeaconProposer, req.ForkInfo.Fork.PreviousVersion, req.ForkInfo.GenesisValidatorsRoot)
	want := root32(t, "0xcd9b9a5884d4ba2a42d19570421f0625e9841e905fcca363c371ea311dd923bc")
	if diff := cmp.Diff(want, [32]byte(got)); diff != "" {
		t.Errorf("root (-want +got):\n%s", diff)
	}
}
