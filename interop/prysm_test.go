package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/OffchainLabs/prysm/v7/beacon-chain/core/signing"
	"github.com/OffchainLabs/prysm/v7/config/params"
	"github.com/OffchainLabs/prysm/v7/consensus-types/primitives"
	enginev1 "github.com/OffchainLabs/prysm/v7/proto/engine/v1"
	ethpb "github.com/OffchainLabs/prysm/v7/proto/prysm/v1alpha1"
	validatorpb "github.com/OffchainLabs/prysm/v7/proto/prysm/v1alpha1/validator-client"
	remoteweb3signer "github.com/OffchainLabs/prysm/v7/validator/keymanager/remote-web3signer"
	fssz "github.com/prysmaticlabs/fastssz"
	"github.com/sirupsen/logrus"
	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/interop/harness"
)

// blsDST is the ciphersuite of Ethereum's BLS signatures (min-pk, proof of possession).
const blsDST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"

// The fork data the test signs under. Prysm's Web3Signer client takes fork_info from its beacon
// configuration at the signing slot; its default configuration is mainnet's, whose fork
// versions and epochs are restated here so that the signing roots the test computes do not
// depend on what Prysm sends. The genesis validators root is the test's own.
var (
	genesisForkVersion = []byte{0, 0, 0, 0}
	capellaForkVersion = []byte{3, 0, 0, 0}
	denebForkVersion   = []byte{4, 0, 0, 0}
	electraForkVersion = []byte{5, 0, 0, 0}
	fuluForkVersion    = []byte{6, 0, 0, 0}

	electraForkEpoch = primitives.Epoch(364032)
	fuluForkEpoch    = primitives.Epoch(411392)

	genesisValidatorsRoot = sha256.Sum256([]byte("mpcsigner interop: a genesis validators root of our own"))
)

// The epochs signed at. fuluEpoch is recent: on mainnet it lies after the blob-parameter-only
// forks, so Prysm sends a fork_info whose previous and current versions are both Fulu's and
// whose epoch is the last BPO fork's, as a live Prysm validator does.
const (
	electraEpoch = primitives.Epoch(364032 + 100) // 100 epochs into Electra
	fuluEpoch    = primitives.Epoch(490000)
	slotInEpoch  = 5
)

// TestPrysmWeb3Signer points Prysm's own Web3Signer client (its remote-web3signer keymanager,
// used as a library) at a devnet, signs every kind of duty a validator has through Prysm's Sign,
// verifies each signature with blst over a signing root computed independently with Prysm's
// signing helpers, and checks, as Prysm sees them, slashing protection (412 for a second block
// at a slot and a double vote, a repeat signs again) and that a claimed signing root that does
// not match the request is refused (400).
func TestPrysmWeb3Signer(t *testing.T) {
	d := harness.Start(t)

	key := d.CreateKey(t, "bls12-381", "prysm-validator")
	pub, err := hex.DecodeString(strings.TrimPrefix(key.PublicKey, "0x"))
	if err != nil || len(pub) != 48 || key.Scheme != "bls12-381" {
		t.Fatalf("key create printed %+v: want a bls12-381 key with a 48-byte public key", key)
	}
	t.Logf("validator key %s (%s): %#x", key.ID, key.Label, pub)

	base := d.Web3SignerURL(t)
	harness.WaitUpcheck(t, base)
	prysmDuties(t, base, pub)
}

// prysmDuties signs a validator's duties through Prysm's keymanager pointed at the Web3Signer
// API at base, for the key pub.
func prysmDuties(t *testing.T, base string, pub []byte) {
	pk := new(blst.P1Affine).Uncompress(pub)
	if pk == nil || !pk.KeyValidate() {
		t.Fatalf("public key %x is not a valid BLS12-381 G1 point", pub)
	}
	// Cleanups run last in, first out: logrus goes back to its default output before the
	// writer to t.Log closes.
	logrus.SetOutput(harness.NewLogWriter(t))
	t.Cleanup(func() { logrus.SetOutput(logrusDefaultOutput) })
	rec := harness.RecordDefaultTransport(t)

	checkPrysmForkInfo(t)
	ctx := context.Background()
	km, err := remoteweb3signer.NewKeymanager(ctx, &remoteweb3signer.SetupConfig{
		BaseEndpoint:          base,
		GenesisValidatorsRoot: genesisValidatorsRoot[:],
		ProvidedPublicKeys:    []string{hexutil(pub)},
	})
	if err != nil {
		t.Fatalf("Prysm's NewKeymanager: %v", err)
	}
	keys, err := km.FetchValidatingPublicKeys(ctx)
	if err != nil || len(keys) != 1 || !bytes.Equal(keys[0][:], pub) {
		t.Fatalf("Prysm's keymanager lists %x (%v), want exactly our key", keys, err)
	}
	s := &prysmSigner{km: km, pub: pub, pk: pk, rec: rec}

	t.Run("public keys listed for Prysm's --validators-external-signer-public-keys URL", func(t *testing.T) {
		url := base + "/api/v1/eth2/publicKeys"
		n := rec.Count()
		km2, err := remoteweb3signer.NewKeymanager(ctx, &remoteweb3signer.SetupConfig{
			BaseEndpoint:          base,
			GenesisValidatorsRoot: genesisValidatorsRoot[:],
			PublicKeysURL:         url,
		})
		if err != nil {
			t.Fatalf("Prysm's NewKeymanager with PublicKeysURL %s: %v\n%s", url, err, describe(rec.Since(n, "")))
		}
		listed, _ := km2.FetchValidatingPublicKeys(ctx)
		if len(listed) != 1 || !bytes.Equal(listed[0][:], pub) {
			t.Fatalf("Prysm loaded %x from %s, want exactly our key\n%s", listed, url, describe(rec.Since(n, "")))
		}
	})

	electraSlot := startSlot(electraEpoch) + slotInEpoch
	slot := startSlot(fuluEpoch) + slotInEpoch
	blockRoot := fill(32, 0xb1) // the head block the duties below vote for

	// A proposal as Prysm's validator client makes it: the randao reveal first, then the block
	// carrying it, sent as BLOCK_V2 with only the block header.
	var randaoElectra, randao []byte
	t.Run("randao reveal (Electra)", func(t *testing.T) {
		epoch := primitives.SSZUint64(electraEpoch)
		dom := domain(t, params.BeaconConfig().DomainRandao, electraForkVersion)
		randaoElectra = s.sign(t, &validatorpb.SignRequest{
			Object:      &validatorpb.SignRequest_Epoch{Epoch: electraEpoch},
			SigningSlot: electraSlot,
		}, dom, root(t, &epoch, dom))
	})
	t.Run("block (Electra, BLOCK_V2)", func(t *testing.T) {
		b := block(electraSlot, 7, orInfinity(randaoElectra), "electra")
		dom := domain(t, params.BeaconConfig().DomainBeaconProposer, electraForkVersion)
		s.sign(t, &validatorpb.SignRequest{
			Object:      &validatorpb.SignRequest_BlockElectra{BlockElectra: b},
			SigningSlot: electraSlot,
		}, dom, root(t, b, dom))
	})
	t.Run("randao reveal (Fulu)", func(t *testing.T) {
		epoch := primitives.SSZUint64(fuluEpoch)
		dom := domain(t, params.BeaconConfig().DomainRandao, fuluForkVersion)
		randao = s.sign(t, &validatorpb.SignRequest{
			Object:      &validatorpb.SignRequest_Epoch{Epoch: fuluEpoch},
			SigningSlot: slot,
		}, dom, root(t, &epoch, dom))
	})
	t.Run("block (Fulu, BLOCK_V2) and slashing protection", func(t *testing.T) {
		dom := domain(t, params.BeaconConfig().DomainBeaconProposer, fuluForkVersion)
		first := block(slot, 7, orInfinity(randao), "first")
		req := func(b *ethpb.BeaconBlockElectra) *validatorpb.SignRequest {
			return &validatorpb.SignRequest{Object: &validatorpb.SignRequest_BlockFulu{BlockFulu: b}, SigningSlot: slot}
		}
		sig := s.sign(t, req(first), dom, root(t, first, dom))

		second := block(slot, 7, orInfinity(randao), "second") // same slot, another body
		s.refused(t, req(second), dom, root(t, second, dom))

		again := s.sign(t, req(block(slot, 7, orInfinity(randao), "first")), dom, root(t, first, dom))
		if !bytes.Equal(again, sig) {
			t.Errorf("signing the same block again gave %x, first %x", again, sig)
		}
	})

	att := &ethpb.AttestationData{
		Slot: slot, CommitteeIndex: 0, BeaconBlockRoot: blockRoot,
		Source: &ethpb.Checkpoint{Epoch: fuluEpoch - 1, Root: fill(32, 0x5a)},
		Target: &ethpb.Checkpoint{Epoch: fuluEpoch, Root: fill(32, 0x7a)},
	}
	var attSig []byte
	t.Run("attestation and slashing protection", func(t *testing.T) {
		dom := domain(t, params.BeaconConfig().DomainBeaconAttester, fuluForkVersion)
		req := func(a *ethpb.AttestationData) *validatorpb.SignRequest {
			return &validatorpb.SignRequest{Object: &validatorpb.SignRequest_AttestationData{AttestationData: a}, SigningSlot: a.Slot}
		}
		attSig = s.sign(t, req(att), dom, root(t, att, dom))

		double := &ethpb.AttestationData{ // a double vote: same target, another head
			Slot: slot, CommitteeIndex: 0, BeaconBlockRoot: fill(32, 0xb2),
			Source: att.Source, Target: att.Target,
		}
		s.refused(t, req(double), dom, root(t, double, dom))

		again := s.sign(t, req(att), dom, root(t, att, dom))
		if !bytes.Equal(again, attSig) {
			t.Errorf("signing the same attestation again gave %x, first %x", again, attSig)
		}
	})

	var selectionProof []byte
	t.Run("aggregation slot (selection proof)", func(t *testing.T) {
		v := primitives.SSZUint64(slot)
		dom := domain(t, params.BeaconConfig().DomainSelectionProof, fuluForkVersion)
		selectionProof = s.sign(t, &validatorpb.SignRequest{
			Object:      &validatorpb.SignRequest_Slot{Slot: slot},
			SigningSlot: slot,
		}, dom, root(t, &v, dom))
	})
	t.Run("aggregate and proof (AGGREGATE_AND_PROOF_V2)", func(t *testing.T) {
		agg := &ethpb.AggregateAttestationAndProofElectra{
			AggregatorIndex: 7,
			Aggregate: &ethpb.AttestationElectra{
				AggregationBits: []byte{0x0b}, // three committee members, the first two attesting
				Data:            att,
				Signature:       orInfinity(attSig),
				CommitteeBits:   []byte{1, 0, 0, 0, 0, 0, 0, 0},
			},
			SelectionProof: orInfinity(selectionProof),
		}
		dom := domain(t, params.BeaconConfig().DomainAggregateAndProof, fuluForkVersion)
		s.sign(t, &validatorpb.SignRequest{
			Object:      &validatorpb.SignRequest_AggregateAttestationAndProofElectra{AggregateAttestationAndProofElectra: agg},
			SigningSlot: slot,
		}, dom, root(t, agg, dom))
	})

	t.Run("a signing root that does not match the request is refused", func(t *testing.T) {
		// The API must compute the root from the object and fork_info, never sign the
		// client's claim; Web3Signer answers 400 to a mismatch.
		wrong := slot + 1
		v := primitives.SSZUint64(wrong)
		dom := domain(t, params.BeaconConfig().DomainSelectionProof, fuluForkVersion)
		s.rejected(t, &validatorpb.SignRequest{
			Object:      &validatorpb.SignRequest_Slot{Slot: slot},
			SigningSlot: slot,
		}, dom, root(t, &v, dom), 400)
	})

	var syncSig []byte
	t.Run("sync committee message", func(t *testing.T) {
		r := primitives.SSZBytes(blockRoot)
		dom := domain(t, params.BeaconConfig().DomainSyncCommittee, fuluForkVersion)
		syncSig = s.sign(t, &validatorpb.SignRequest{
			Object:      &validatorpb.SignRequest_SyncMessageBlockRoot{SyncMessageBlockRoot: blockRoot},
			SigningSlot: slot,
		}, dom, root(t, &r, dom))
	})
	var syncSelectionProof []byte
	t.Run("sync committee selection proof", func(t *testing.T) {
		data := &ethpb.SyncAggregatorSelectionData{Slot: slot, SubcommitteeIndex: 1}
		dom := domain(t, params.BeaconConfig().DomainSyncCommitteeSelectionProof, fuluForkVersion)
		syncSelectionProof = s.sign(t, &validatorpb.SignRequest{
			Object:      &validatorpb.SignRequest_SyncAggregatorSelectionData{SyncAggregatorSelectionData: data},
			SigningSlot: slot,
		}, dom, root(t, data, dom))
	})
	t.Run("sync committee contribution and proof", func(t *testing.T) {
		bits := make([]byte, 16)
		bits[0] = 0x01
		cp := &ethpb.ContributionAndProof{
			AggregatorIndex: 7,
			Contribution: &ethpb.SyncCommitteeContribution{
				Slot: slot, BlockRoot: blockRoot, SubcommitteeIndex: 1,
				AggregationBits: bits, Signature: orInfinity(syncSig),
			},
			SelectionProof: orInfinity(syncSelectionProof),
		}
		dom := domain(t, params.BeaconConfig().DomainContributionAndProof, fuluForkVersion)
		s.sign(t, &validatorpb.SignRequest{
			Object:      &validatorpb.SignRequest_ContributionAndProof{ContributionAndProof: cp},
			SigningSlot: slot,
		}, dom, root(t, cp, dom))
	})

	t.Run("voluntary exit (EIP-7044: Capella domain)", func(t *testing.T) {
		// As Prysm's validator client does: fork_info for the exit epoch, while the signing
		// root uses the Capella fork version, as a beacon node's DomainData gives it from Deneb
		// on and as process_voluntary_exit verifies it.
		exit := &ethpb.VoluntaryExit{Epoch: fuluEpoch, ValidatorIndex: 7}
		dom := domain(t, params.BeaconConfig().DomainVoluntaryExit, capellaForkVersion)
		s.sign(t, &validatorpb.SignRequest{
			Object:      &validatorpb.SignRequest_Exit{Exit: exit},
			SigningSlot: startSlot(fuluEpoch),
		}, dom, root(t, exit, dom))
	})

	t.Run("validator registration", func(t *testing.T) {
		// The builder domain: the genesis fork version and a zero genesis validators root.
		reg := &ethpb.ValidatorRegistrationV1{
			FeeRecipient: fill(20, 0xfe),
			GasLimit:     36_000_000,
			Timestamp:    1_790_000_000,
			Pubkey:       pub,
		}
		dom, err := signing.ComputeDomain(params.BeaconConfig().DomainApplicationBuilder, genesisForkVersion, make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		s.sign(t, &validatorpb.SignRequest{
			Object: &validatorpb.SignRequest_Registration{Registration: reg},
		}, dom, root(t, reg, dom))
	})
}

// logrusDefaultOutput is where Prysm's logs go when no test is running.
var logrusDefaultOutput = logrus.StandardLogger().Out

// checkPrysmForkInfo makes sure the fork_info Prysm will send at the test's epochs carries the
// fork versions the test computes its signing roots with, and logs it.
func checkPrysmForkInfo(t *testing.T) {
	t.Helper()
	for _, c := range []struct {
		epoch       primitives.Epoch
		prev, cur   []byte
		atLeastFork primitives.Epoch
	}{
		{electraEpoch, denebForkVersion, electraForkVersion, electraForkEpoch},
		{fuluEpoch, nil, fuluForkVersion, fuluForkEpoch},
	} {
		f, err := params.Fork(c.epoch)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("Prysm's fork_info at epoch %d: previous %#x, current %#x, epoch %d", c.epoch, f.PreviousVersion, f.CurrentVersion, f.Epoch)
		if !bytes.Equal(f.CurrentVersion, c.cur) || (c.prev != nil && !bytes.Equal(f.PreviousVersion, c.prev)) || f.Epoch < c.atLeastFork || f.Epoch > c.epoch {
			t.Fatalf("Prysm's configuration is not mainnet's as this test expects (fork at epoch %d: %+v)", c.epoch, f)
		}
	}
}

// prysmSigner signs through Prysm's keymanager and checks what comes back.
type prysmSigner struct {
	km  *remoteweb3signer.Keymanager
	pub []byte
	pk  *blst.P1Affine
	rec *harness.Recorder
}

// sign has Prysm sign req, whose signing root and domain the test computed, and verifies the
// signature with blst under the key's group public key.
func (s *prysmSigner) sign(t *testing.T, req *validatorpb.SignRequest, dom []byte, root [32]byte) []byte {
	t.Helper()
	req.PublicKey, req.SigningRoot, req.SignatureDomain = s.pub, root[:], dom
	n := s.rec.Count()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	sig, err := s.km.Sign(ctx, req)
	took := time.Since(start)
	sent := s.rec.Since(n, "")
	if err != nil {
		t.Fatalf("Prysm's Sign failed: %v\n%s", err, describe(sent))
	}
	raw := sig.Marshal()
	p := new(blst.P2Affine).Uncompress(raw)
	if p == nil || !p.Verify(true, s.pk, true, root[:], []byte(blsDST)) {
		t.Fatalf("the signature %#x does not verify under %#x over signing root %#x\n%s", raw, s.pub, root, describe(sent))
	}
	t.Logf("%s: verified over signing root %#x (%s)", summarize(sent), root, took.Round(time.Millisecond))
	return raw
}

// refused has Prysm sign req and requires Web3Signer's slashing-protection refusal (412).
func (s *prysmSigner) refused(t *testing.T, req *validatorpb.SignRequest, dom []byte, root [32]byte) {
	t.Helper()
	s.rejected(t, req, dom, root, 412)
}

// rejected has Prysm sign req and requires an error, with the API answering status.
func (s *prysmSigner) rejected(t *testing.T, req *validatorpb.SignRequest, dom []byte, root [32]byte, status int) {
	t.Helper()
	req.PublicKey, req.SigningRoot, req.SignatureDomain = s.pub, root[:], dom
	n := s.rec.Count()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sig, err := s.km.Sign(ctx, req)
	sent := s.rec.Since(n, "")
	if err == nil {
		t.Fatalf("Prysm's Sign returned a signature %#x, want the API to answer %d\n%s", sig.Marshal(), status, describe(sent))
	}
	// The status is read from the wire, not from Prysm's message: on any answer but 200,
	// Prysm v7's client first dumps the request it already sent, which fails on the consumed
	// body, so Sign returns "http: ContentLength=N with Body length 0" instead of its own
	// message for the status (seen in OffchainLabs/prysm#11507 too). Either way the
	// validator client gets an error and no signature.
	if len(sent) == 0 || sent[len(sent)-1].Status != status {
		t.Fatalf("Prysm's Sign failed with %q; want the Web3Signer API to answer %d\n%s", err, status, describe(sent))
	}
	t.Logf("%s: refused as it should be; Prysm's error: %v", summarize(sent), err)
}

// summarize names the request type and the answer of the last exchange.
func summarize(ex []harness.Exchange) string {
	if len(ex) == 0 {
		return "no HTTP request was made"
	}
	e := ex[len(ex)-1]
	var body struct {
		Type        string `json:"type"`
		BeaconBlock *struct {
			Version string `json:"version"`
		} `json:"beacon_block"`
	}
	_ = json.Unmarshal(e.ReqBody, &body)
	what := body.Type
	if body.BeaconBlock != nil {
		what += " " + body.BeaconBlock.Version
	}
	return fmt.Sprintf("%s %s -> %d %s", what, e.URL, e.Status, e.RespHeader.Get("Content-Type"))
}

func describe(ex []harness.Exchange) string {
	if len(ex) == 0 {
		return "(Prysm made no HTTP request)"
	}
	var parts []string
	for _, e := range ex {
		parts = append(parts, e.String())
	}
	return strings.Join(parts, "\n")
}

// domain computes a signature domain with Prysm's helper for a fork version the test chose.
func domain(t *testing.T, domainType [4]byte, forkVersion []byte) []byte {
	t.Helper()
	d, err := signing.ComputeDomain(domainType, forkVersion, genesisValidatorsRoot[:])
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// root computes a signing root with Prysm's helper.
func root(t *testing.T, obj fssz.HashRoot, dom []byte) [32]byte {
	t.Helper()
	r, err := signing.ComputeSigningRoot(obj, dom)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// block is a complete Electra-shaped beacon block (Fulu blocks have the same shape).
func block(slot primitives.Slot, proposer primitives.ValidatorIndex, randao []byte, graffiti string) *ethpb.BeaconBlockElectra {
	g := make([]byte, 32)
	copy(g, graffiti)
	return &ethpb.BeaconBlockElectra{
		Slot:          slot,
		ProposerIndex: proposer,
		ParentRoot:    fill(32, 0x01),
		StateRoot:     fill(32, 0x02),
		Body: &ethpb.BeaconBlockBodyElectra{
			RandaoReveal: randao,
			Eth1Data:     &ethpb.Eth1Data{DepositRoot: fill(32, 0x03), DepositCount: 1, BlockHash: fill(32, 0x04)},
			Graffiti:     g,
			SyncAggregate: &ethpb.SyncAggregate{
				SyncCommitteeBits:      make([]byte, 64),
				SyncCommitteeSignature: infinity(),
			},
			ExecutionPayload: &enginev1.ExecutionPayloadDeneb{
				ParentHash:    fill(32, 0x05),
				FeeRecipient:  fill(20, 0xfe),
				StateRoot:     fill(32, 0x06),
				ReceiptsRoot:  fill(32, 0x07),
				LogsBloom:     make([]byte, 256),
				PrevRandao:    fill(32, 0x08),
				BlockNumber:   uint64(slot),
				GasLimit:      36_000_000,
				GasUsed:       21_000,
				Timestamp:     1_606_824_023 + 12*uint64(slot),
				ExtraData:     []byte("mpcsigner interop"),
				BaseFeePerGas: fill(32, 0x00),
				BlockHash:     fill(32, 0x09),
				Transactions:  [][]byte{},
				Withdrawals:   []*enginev1.Withdrawal{},
			},
			BlsToExecutionChanges: []*ethpb.SignedBLSToExecutionChange{},
			BlobKzgCommitments:    [][]byte{},
			ExecutionRequests:     &enginev1.ExecutionRequests{},
		},
	}
}

func startSlot(e primitives.Epoch) primitives.Slot {
	return primitives.Slot(uint64(e) * uint64(params.BeaconConfig().SlotsPerEpoch))
}

func fill(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// infinity is the compressed G2 point at infinity, a well-formed stand-in signature.
func infinity() []byte {
	s := make([]byte, 96)
	s[0] = 0xc0
	return s
}

// orInfinity is sig, or the stand-in when an earlier step failed to produce it.
func orInfinity(sig []byte) []byte {
	if len(sig) == 96 {
		return sig
	}
	return infinity()
}

func hexutil(b []byte) string { return "0x" + hex.EncodeToString(b) }
