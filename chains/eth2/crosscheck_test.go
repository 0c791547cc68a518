package eth2

import (
	"fmt"
	"testing"

	"github.com/attestantio/go-eth2-client/spec/altair"
	"github.com/attestantio/go-eth2-client/spec/phase0"
	"github.com/google/go-cmp/cmp"
)

// Hand-written hash tree roots of the signed containers, from sszhand_test.go's primitives.

func handCheckpoint(c *phase0.Checkpoint) chunk {
	return container(u64(uint64(c.Epoch)), c.Root)
}

func handAttestationData(a *phase0.AttestationData) chunk {
	return container(u64(uint64(a.Slot)), u64(uint64(a.Index)), a.BeaconBlockRoot, handCheckpoint(a.Source), handCheckpoint(a.Target))
}

func handHeader(h *phase0.BeaconBlockHeader) chunk {
	return container(u64(uint64(h.Slot)), u64(uint64(h.ProposerIndex)), h.ParentRoot, h.StateRoot, h.BodyRoot)
}

// handAggregateAndProofRoot is the whole signing root of an aggregate request, by hand.
func handAggregateAndProofRoot(t *testing.T, req *Request) [32]byte {
	t.Helper()
	a := req.AggregateAndProof
	var object chunk
	var slot phase0.Slot
	if a.Electra != nil {
		e := a.Electra
		att := container(bitlistRoot(e.Aggregate.AggregationBits, 2048*64), handAttestationData(e.Aggregate.Data),
			fixedBytes(e.Aggregate.Signature[:]), bitvector(e.Aggregate.CommitteeBits))
		object = container(u64(uint64(e.AggregatorIndex)), att, fixedBytes(e.SelectionProof[:]))
		slot = e.Aggregate.Data.Slot
	} else {
		p := a.Phase0
		att := container(bitlistRoot(p.Aggregate.AggregationBits, 2048), handAttestationData(p.Aggregate.Data), fixedBytes(p.Aggregate.Signature[:]))
		object = container(u64(uint64(p.AggregatorIndex)), att, fixedBytes(p.SelectionProof[:]))
		slot = p.Aggregate.Data.Slot
	}
	version := req.ForkInfo.Fork.CurrentVersion
	if uint64(slot)/32 < uint64(req.ForkInfo.Fork.Epoch) {
		version = req.ForkInfo.Fork.PreviousVersion
	}
	return signingRootByHand(object, domainAggregateAndProof, version, req.ForkInfo.GenesisValidatorsRoot)
}

// handAltairBodyRoot hashes an Altair body with syncBits as its sync committee bitvector of
// whatever size. The list elements (slashings, attestations, ...) are hashed by the library;
// the body, the lists and the bitvector by hand.
func handAltairBodyRoot(t *testing.T, b *altair.BeaconBlockBody, syncBits []byte) chunk {
	t.Helper()
	eth1 := container(b.ETH1Data.DepositRoot, u64(b.ETH1Data.DepositCount), fixedBytes(b.ETH1Data.BlockHash))
	return container(
		fixedBytes(b.RANDAOReveal[:]),
		eth1,
		fixedBytes(b.Graffiti[:]),
		listRoot(t, b.ProposerSlashings, 16),
		listRoot(t, b.AttesterSlashings, 2),
		listRoot(t, b.Attestations, 128),
		listRoot(t, b.Deposits, 16),
		listRoot(t, b.VoluntaryExits, 16),
		container(bitvector(syncBits), fixedBytes(b.SyncAggregate.SyncCommitteeSignature[:])),
	)
}

// listRoot is the root of a List[T, limit] whose elements the library hashes.
func listRoot[T interface{ HashTreeRoot() ([32]byte, error) }](t *testing.T, items []T, limit int) chunk {
	t.Helper()
	var roots []chunk
	for _, it := range items {
		r, err := it.HashTreeRoot()
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, r)
	}
	return listOfRoots(roots, limit)
}

// testGVR is the genesis validators root of the test bodies.
const testGVR = "0x4b363db94e286120d76eb905340fcd44e4f3e5ad2e5d5f8c4b7c5b8e8d3a2f10"

// forkInfoJSON is a fork_info object for a fork from 0x03000000 to 0x04000000 at forkEpoch.
func forkInfoJSON(forkEpoch uint64) string {
	return fmt.Sprintf(`{"fork":{"previous_version":"0x03000000","current_version":"0x04000000","epoch":"%d"},"genesis_validators_root":"%s"}`, forkEpoch, testGVR)
}

// testBody is a request of type typ with forkInfoJSON(forkEpoch) and the payload member.
func testBody(typ string, forkEpoch uint64, payload string) string {
	return `{"type":"` + typ + `","fork_info":` + forkInfoJSON(forkEpoch) + `,` + payload + `}`
}

// TestHandSSZCrossCheck computes signing roots of the small containers a second way, by hand
// with crypto/sha256, and compares them with SigningRoot (go-eth2-client's hashing) on both
// sides of a fork boundary.
func TestHandSSZCrossCheck(t *testing.T) {
	prev, cur := phase0.Version{0x03, 0, 0, 0}, phase0.Version{0x04, 0, 0, 0}
	gvr := chunk(root32(t, testGVR))
	tests := []struct {
		name    string
		body    string
		domain  phase0.DomainType
		version phase0.Version
		gvr     chunk
		object  func(*Request) chunk
	}{
		{
			name:   "attestation target before fork",
			body:   testBody("ATTESTATION", 100, `"attestation":{"slot":"3199","index":"7","beacon_block_root":"0x1111111111111111111111111111111111111111111111111111111111111111","source":{"epoch":"98","root":"0x2222222222222222222222222222222222222222222222222222222222222222"},"target":{"epoch":"99","root":"0x3333333333333333333333333333333333333333333333333333333333333333"}}`),
			domain: domainBeaconAttester, version: prev, gvr: gvr,
			object: func(r *Request) chunk { return handAttestationData(r.Attestation) },
		},
		{
			name:   "attestation target at fork",
			body:   testBody("ATTESTATION", 100, `"attestation":{"slot":"3200","index":"0","beacon_block_root":"0x1111111111111111111111111111111111111111111111111111111111111111","source":{"epoch":"99","root":"0x2222222222222222222222222222222222222222222222222222222222222222"},"target":{"epoch":"100","root":"0x3333333333333333333333333333333333333333333333333333333333333333"}}`),
			domain: domainBeaconAttester, version: cur, gvr: gvr,
			object: func(r *Request) chunk { return handAttestationData(r.Attestation) },
		},
		{
			name:   "block_v2 header last slot before fork",
			body:   testBody("BLOCK_V2", 100, `"beacon_block":{"version":"DENEB","block_header":{"slot":"3199","proposer_index":"12345","parent_root":"0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","state_root":"0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","body_root":"0xcccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"}}`),
			domain: domainBeaconProposer, version: prev, gvr: gvr,
			object: func(r *Request) chunk { return handHeader(r.BeaconBlock.Header) },
		},
		{
			name:   "block_v2 header first slot of fork",
			body:   testBody("BLOCK_V2", 100, `"beacon_block":{"version":"ELECTRA","block_header":{"slot":"3200","proposer_index":"18446744073709551615","parent_root":"0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","state_root":"0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","body_root":"0xcccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"}}`),
			domain: domainBeaconProposer, version: cur, gvr: gvr,
			object: func(r *Request) chunk { return handHeader(r.BeaconBlock.Header) },
		},
		{
			name:   "aggregation slot",
			body:   testBody("AGGREGATION_SLOT", 100, `"aggregation_slot":{"slot":"3201"}`),
			domain: domainSelectionProof, version: cur, gvr: gvr,
			object: func(r *Request) chunk { return u64(uint64(r.AggregationSlot.Slot)) },
		},
		{
			name:   "randao reveal",
			body:   testBody("RANDAO_REVEAL", 100, `"randao_reveal":{"epoch":"99"}`),
			domain: domainRandao, version: prev, gvr: gvr,
			object: func(r *Request) chunk { return u64(uint64(r.RandaoReveal.Epoch)) },
		},
		{
			name:   "voluntary exit",
			body:   testBody("VOLUNTARY_EXIT", 100, `"voluntary_exit":{"epoch":"100","validator_index":"42"}`),
			domain: domainVoluntaryExit, version: cur, gvr: gvr,
			object: func(r *Request) chunk {
				return container(u64(uint64(r.VoluntaryExit.Epoch)), u64(uint64(r.VoluntaryExit.ValidatorIndex)))
			},
		},
		{
			name:   "sync committee message",
			body:   testBody("SYNC_COMMITTEE_MESSAGE", 100, `"sync_committee_message":{"beacon_block_root":"0x5555555555555555555555555555555555555555555555555555555555555555","slot":"3232"}`),
			domain: domainSyncCommittee, version: cur, gvr: gvr,
			object: func(r *Request) chunk { return r.SyncCommitteeMessage.BeaconBlockRoot },
		},
		{
			name:   "sync committee selection proof",
			body:   testBody("SYNC_COMMITTEE_SELECTION_PROOF", 100, `"sync_aggregator_selection_data":{"slot":"3100","subcommittee_index":"3"}`),
			domain: domainSyncCommitteeSelectionProof, version: prev, gvr: gvr,
			object: func(r *Request) chunk {
				return container(u64(uint64(r.SyncAggregatorSelectionData.Slot)), u64(r.SyncAggregatorSelectionData.SubcommitteeIndex))
			},
		},
		{
			name:   "contribution and proof",
			body:   testBody("SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF", 100, `"contribution_and_proof":{"aggregator_index":"9","contribution":{"slot":"3300","beacon_block_root":"0x6666666666666666666666666666666666666666666666666666666666666666","subcommittee_index":"2","aggregation_bits":"0xff00000000000000000000000000f001","signature":"0x`+hex96(0x77)+`"},"selection_proof":"0x`+hex96(0x88)+`"}`),
			domain: domainContributionAndProof, version: cur, gvr: gvr,
			object: func(r *Request) chunk {
				c := r.ContributionAndProof.Contribution
				contribution := container(u64(uint64(c.Slot)), c.BeaconBlockRoot, u64(c.SubcommitteeIndex), bitvector(c.AggregationBits), fixedBytes(c.Signature[:]))
				return container(u64(uint64(r.ContributionAndProof.AggregatorIndex)), contribution, fixedBytes(r.ContributionAndProof.SelectionProof[:]))
			},
		},
		{
			name: "deposit",
			body: `{"type":"DEPOSIT","deposit":{"pubkey":"0x` + hex48(0x99) + `","withdrawal_credentials":"0x0100000000000000000000001111111111111111111111111111111111111111","amount":"32000000000","genesis_fork_version":"0x10000910"}}`,
			// compute_domain(DOMAIN_DEPOSIT, the deposit's fork version, zero root).
			domain: domainDeposit, version: phase0.Version{0x10, 0x00, 0x09, 0x10},
			object: func(r *Request) chunk {
				m := r.Deposit.Message
				return container(fixedBytes(m.PublicKey[:]), fixedBytes(m.WithdrawalCredentials), u64(uint64(m.Amount)))
			},
		},
		{
			name: "validator registration",
			body: `{"type":"VALIDATOR_REGISTRATION","validator_registration":{"fee_recipient":"0xabcdefabcdefabcdefabcdefabcdefabcdefabcd","gas_limit":"36000000","timestamp":"1700000000","pubkey":"0x` + hex48(0x99) + `"}}`,
			// compute_domain(DOMAIN_APPLICATION_BUILDER, mainnet's genesis fork version, zero root).
			domain: domainApplicationBuilder, version: phase0.Version{},
			object: func(r *Request) chunk {
				v := r.ValidatorRegistration
				return container(fixedBytes(v.FeeRecipient[:]), u64(v.GasLimit), u64(uint64(v.Timestamp.Unix())), fixedBytes(v.Pubkey[:]))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseRequest([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := req.SigningRoot(mainnet(t))
			if err != nil {
				t.Fatal(err)
			}
			want := signingRootByHand(tt.object(req), tt.domain, tt.version, tt.gvr)
			if diff := cmp.Diff([32]byte(want), got); diff != "" {
				t.Errorf("root (-hand +library):\n%s", diff)
			}
		})
	}
}

// TestHandSSZCrossCheckAggregates compares the aggregate roots of both shapes with the hand
// computation, on either side of a fork.
func TestHandSSZCrossCheckAggregates(t *testing.T) {
	att := func(slot, extra string) string {
		return `"aggregate":{"aggregation_bits":"0x0f0001","data":{"slot":"` + slot + `","index":"0","beacon_block_root":"0x1111111111111111111111111111111111111111111111111111111111111111","source":{"epoch":"1","root":"0x2222222222222222222222222222222222222222222222222222222222222222"},"target":{"epoch":"2","root":"0x3333333333333333333333333333333333333333333333333333333333333333"}},"signature":"0x` + hex96(0x44) + `"` + extra + `}`
	}
	tests := []struct {
		name string
		body string
	}{
		{"legacy before fork", testBody("AGGREGATE_AND_PROOF", 100, `"aggregate_and_proof":{"aggregator_index":"5",`+att("3199", "")+`,"selection_proof":"0x`+hex96(0x55)+`"}`)},
		{"v2 deneb at fork", testBody("AGGREGATE_AND_PROOF_V2", 100, `"aggregate_and_proof":{"version":"DENEB","data":{"aggregator_index":"5",`+att("3200", "")+`,"selection_proof":"0x`+hex96(0x55)+`"}}`)},
		{"v2 electra", testBody("AGGREGATE_AND_PROOF_V2", 100, `"aggregate_and_proof":{"version":"ELECTRA","data":{"aggregator_index":"5",`+att("3300", `,"committee_bits":"0x0100000000000080"`)+`,"selection_proof":"0x`+hex96(0x55)+`"}}`)},
		{"v2 fulu before fork", testBody("AGGREGATE_AND_PROOF_V2", 100, `"aggregate_and_proof":{"version":"FULU","data":{"aggregator_index":"5",`+att("31", `,"committee_bits":"0x0000000000000001"`)+`,"selection_proof":"0x`+hex96(0x55)+`"}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseRequest([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
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

// TestUint64Root checks the one piece of SSZ this package writes itself against the hand
// implementation's packing.
func TestUint64Root(t *testing.T) {
	for _, v := range []uint64{0, 1, 119, 1 << 32, 1<<64 - 1} {
		if diff := cmp.Diff([32]byte(u64(v)), [32]byte(uint64Root(v))); diff != "" {
			t.Errorf("uint64Root(%d) (-hand +got):\n%s", v, diff)
		}
	}
}

// hex96 and hex48 are 96 and 48 bytes of b, in hex.
func hex96(b byte) string { return repeatHex(b, 96) }
func hex48(b byte) string { return repeatHex(b, 48) }

func repeatHex(b byte, n int) string {
	s := fmt.Sprintf("%02x", b)
	out := ""
	for range n {
		out += s
	}
	return out
}
