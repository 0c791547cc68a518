package eth2

import (
	apiv1 "github.com/attestantio/go-eth2-client/api/v1"
	"github.com/attestantio/go-eth2-client/spec/altair"
	"github.com/attestantio/go-eth2-client/spec/electra"
	"github.com/attestantio/go-eth2-client/spec/phase0"
)

// SSZ list and vector sizes of the mainnet preset (consensus-specs presets/mainnet), the
// preset go-eth2-client's hash tree roots are generated for.
const (
	maxProposerSlashings       = 16
	maxAttesterSlashings       = 2
	maxAttestations            = 128
	maxDeposits                = 16
	maxVoluntaryExits          = 16
	maxValidatorsPerCommittee  = 2048
	maxCommitteesPerSlot       = 64
	depositProofLength         = 33 // DEPOSIT_CONTRACT_TREE_DEPTH + 1
	syncCommitteeBitsBytes     = 512 / 8
	syncContributionBitsBytes  = 512 / 4 / 8 // SYNC_COMMITTEE_SIZE / SYNC_COMMITTEE_SUBNET_COUNT bits
	committeeBitsBytes         = maxCommitteesPerSlot / 8
	electraAggregationBitsMax  = maxValidatorsPerCommittee * maxCommitteesPerSlot
	phase0AggregationBitsMax   = maxValidatorsPerCommittee
	indexedAttestationIndexMax = maxValidatorsPerCommittee
)

// The descriptions below follow the field order of the consensus specs' containers, which is
// the order of Web3Signer's JSON and the order Canonical writes.

func forkInfoSchema(c codec, f *ForkInfo) {
	c.object("fork", func(c codec) { forkSchema(c, &f.Fork) })
	c.fixed("genesis_validators_root", f.GenesisValidatorsRoot[:])
}

func forkSchema(c codec, f *phase0.Fork) {
	c.fixed("previous_version", f.PreviousVersion[:])
	c.fixed("current_version", f.CurrentVersion[:])
	c.uint64("epoch", (*uint64)(&f.Epoch))
}

func checkpointSchema(c codec, cp *phase0.Checkpoint) {
	c.uint64("epoch", (*uint64)(&cp.Epoch))
	c.fixed("root", cp.Root[:])
}

func attestationDataSchema(c codec, a *phase0.AttestationData) {
	c.uint64("slot", (*uint64)(&a.Slot))
	c.uint64("index", (*uint64)(&a.Index))
	c.fixed("beacon_block_root", a.BeaconBlockRoot[:])
	c.object("source", func(c codec) { checkpointSchema(c, sub(c, &a.Source)) })
	c.object("target", func(c codec) { checkpointSchema(c, sub(c, &a.Target)) })
}

func phase0AttestationSchema(c codec, a *phase0.Attestation) {
	c.bitlist("aggregation_bits", &a.AggregationBits, phase0AggregationBitsMax)
	c.object("data", func(c codec) { attestationDataSchema(c, sub(c, &a.Data)) })
	c.fixed("signature", a.Signature[:])
}

func electraAttestationSchema(c codec, a *electra.Attestation) {
	c.bitlist("aggregation_bits", &a.AggregationBits, electraAggregationBitsMax)
	c.object("data", func(c codec) { attestationDataSchema(c, sub(c, &a.Data)) })
	c.fixed("signature", a.Signature[:])
	c.bytesN("committee_bits", (*[]byte)(&a.CommitteeBits), committeeBitsBytes)
}

func phase0AggregateAndProofSchema(c codec, a *phase0.AggregateAndProof) {
	c.uint64("aggregator_index", (*uint64)(&a.AggregatorIndex))
	c.object("aggregate", func(c codec) { phase0AttestationSchema(c, sub(c, &a.Aggregate)) })
	c.fixed("selection_proof", a.SelectionProof[:])
}

func electraAggregateAndProofSchema(c codec, a *electra.AggregateAndProof) {
	c.uint64("aggregator_index", (*uint64)(&a.AggregatorIndex))
	c.object("aggregate", func(c codec) { electraAttestationSchema(c, sub(c, &a.Aggregate)) })
	c.fixed("selection_proof", a.SelectionProof[:])
}

func blockHeaderSchema(c codec, h *phase0.BeaconBlockHeader) {
	c.uint64("slot", (*uint64)(&h.Slot))
	c.uint64("proposer_index", (*uint64)(&h.ProposerIndex))
	c.fixed("parent_root", h.ParentRoot[:])
	c.fixed("state_root", h.StateRoot[:])
	c.fixed("body_root", h.BodyRoot[:])
}

func signedBlockHeaderSchema(c codec, h *phase0.SignedBeaconBlockHeader) {
	c.object("message", func(c codec) { blockHeaderSchema(c, sub(c, &h.Message)) })
	c.fixed("signature", h.Signature[:])
}

func proposerSlashingSchema(c codec, s *phase0.ProposerSlashing) {
	c.object("signed_header_1", func(c codec) { signedBlockHeaderSchema(c, sub(c, &s.SignedHeader1)) })
	c.object("signed_header_2", func(c codec) { signedBlockHeaderSchema(c, sub(c, &s.SignedHeader2)) })
}

func indexedAttestationSchema(c codec, a *phase0.IndexedAttestation) {
	c.uint64s("attesting_indices", indexedAttestationIndexMax, &a.AttestingIndices)
	c.object("data", func(c codec) { attestationDataSchema(c, sub(c, &a.Data)) })
	c.fixed("signature", a.Signature[:])
}

func attesterSlashingSchema(c codec, s *phase0.AttesterSlashing) {
	c.object("attestation_1", func(c codec) { indexedAttestationSchema(c, sub(c, &s.Attestation1)) })
	c.object("attestation_2", func(c codec) { indexedAttestationSchema(c, sub(c, &s.Attestation2)) })
}

func depositDataSchema(c codec, d *phase0.DepositData) {
	c.fixed("pubkey", d.PublicKey[:])
	c.bytesN("withdrawal_credentials", &d.WithdrawalCredentials, 32)
	c.uint64("amount", (*uint64)(&d.Amount))
	c.fixed("signature", d.Signature[:])
}

func depositSchema(c codec, d *phase0.Deposit) {
	c.fixedList("proof", depositProofLength, 32, &d.Proof)
	c.object("data", func(c codec) { depositDataSchema(c, sub(c, &d.Data)) })
}

func voluntaryExitSchema(c codec, e *phase0.VoluntaryExit) {
	c.uint64("epoch", (*uint64)(&e.Epoch))
	c.uint64("validator_index", (*uint64)(&e.ValidatorIndex))
}

func signedVoluntaryExitSchema(c codec, e *phase0.SignedVoluntaryExit) {
	c.object("message", func(c codec) { voluntaryExitSchema(c, sub(c, &e.Message)) })
	c.fixed("signature", e.Signature[:])
}

func eth1DataSchema(c codec, e *phase0.ETH1Data) {
	c.fixed("deposit_root", e.DepositRoot[:])
	c.uint64("deposit_count", &e.DepositCount)
	c.bytesN("block_hash", &e.BlockHash, 32)
}

// phase0BodyFields are the body fields Phase0 and Altair share; the two body types are distinct
// Go types, so they come in as pointers to each field.
type phase0BodyFields struct {
	randaoReveal      []byte
	eth1Data          **phase0.ETH1Data
	graffiti          []byte
	proposerSlashings *[]*phase0.ProposerSlashing
	attesterSlashings *[]*phase0.AttesterSlashing
	attestations      *[]*phase0.Attestation
	deposits          *[]*phase0.Deposit
	voluntaryExits    *[]*phase0.SignedVoluntaryExit
}

func phase0BodyFieldsSchema(c codec, b phase0BodyFields) {
	c.fixed("randao_reveal", b.randaoReveal)
	c.object("eth1_data", func(c codec) { eth1DataSchema(c, sub(c, b.eth1Data)) })
	c.fixed("graffiti", b.graffiti)
	listOf(c, "proposer_slashings", maxProposerSlashings, b.proposerSlashings, proposerSlashingSchema)
	listOf(c, "attester_slashings", maxAttesterSlashings, b.attesterSlashings, attesterSlashingSchema)
	listOf(c, "attestations", maxAttestations, b.attestations, phase0AttestationSchema)
	listOf(c, "deposits", maxDeposits, b.deposits, depositSchema)
	listOf(c, "voluntary_exits", maxVoluntaryExits, b.voluntaryExits, signedVoluntaryExitSchema)
}

func phase0BodySchema(c codec, b *phase0.BeaconBlockBody) {
	phase0BodyFieldsSchema(c, phase0BodyFields{
		b.RANDAOReveal[:], &b.ETH1Data, b.Graffiti[:], &b.ProposerSlashings,
		&b.AttesterSlashings, &b.Attestations, &b.Deposits, &b.VoluntaryExits,
	})
}

func altairBodySchema(c codec, b *altair.BeaconBlockBody) {
	phase0BodyFieldsSchema(c, phase0BodyFields{
		b.RANDAOReveal[:], &b.ETH1Data, b.Graffiti[:], &b.ProposerSlashings,
		&b.AttesterSlashings, &b.Attestations, &b.Deposits, &b.VoluntaryExits,
	})
	c.object("sync_aggregate", func(c codec) { syncAggregateSchema(c, sub(c, &b.SyncAggregate)) })
}

func syncAggregateSchema(c codec, s *altair.SyncAggregate) {
	c.bytesN("sync_committee_bits", (*[]byte)(&s.SyncCommitteeBits), syncCommitteeBitsBytes)
	c.fixed("sync_committee_signature", s.SyncCommitteeSignature[:])
}

func phase0BlockSchema(c codec, b *phase0.BeaconBlock) {
	c.uint64("slot", (*uint64)(&b.Slot))
	c.uint64("proposer_index", (*uint64)(&b.ProposerIndex))
	c.fixed("parent_root", b.ParentRoot[:])
	c.fixed("state_root", b.StateRoot[:])
	c.object("body", func(c codec) { phase0BodySchema(c, sub(c, &b.Body)) })
}

func altairBlockSchema(c codec, b *altair.BeaconBlock) {
	c.uint64("slot", (*uint64)(&b.Slot))
	c.uint64("proposer_index", (*uint64)(&b.ProposerIndex))
	c.fixed("parent_root", b.ParentRoot[:])
	c.fixed("state_root", b.StateRoot[:])
	c.object("body", func(c codec) { altairBodySchema(c, sub(c, &b.Body)) })
}

// beaconBlockSchema is BLOCK_V2's {version, block | block_header}: the version decides which
// of the two the object must carry.
func beaconBlockSchema(c codec, b *BeaconBlock) {
	c.word("version", (*string)(&b.Version), versions)
	if c.failed() {
		return
	}
	// The wrong one of the two is refused first: it says more than "missing" would.
	switch b.Version {
	case VersionPhase0:
		c.forbid("block_header", "a PHASE0 request carries the full block in \"block\"")
		c.object("block", func(c codec) { phase0BlockSchema(c, sub(c, &b.Phase0)) })
	case VersionAltair:
		c.forbid("block_header", "an ALTAIR request carries the full block in \"block\"")
		c.object("block", func(c codec) { altairBlockSchema(c, sub(c, &b.Altair)) })
	default:
		c.forbid("block", "from BELLATRIX on a request carries only \"block_header\"")
		c.object("block_header", func(c codec) { blockHeaderSchema(c, sub(c, &b.Header)) })
	}
}

// aggregateAndProofV2Schema is AGGREGATE_AND_PROOF_V2's {version, data}: ELECTRA and later
// aggregates have the Electra shape, earlier ones the Phase0 shape.
func aggregateAndProofV2Schema(c codec, a *AggregateAndProof) {
	c.word("version", (*string)(&a.Version), versions)
	if c.failed() {
		return
	}
	if isElectraOrLater(a.Version) {
		c.object("data", func(c codec) { electraAggregateAndProofSchema(c, sub(c, &a.Electra)) })
		return
	}
	c.object("data", func(c codec) { phase0AggregateAndProofSchema(c, sub(c, &a.Phase0)) })
}

// isElectraOrLater reports whether v has the Electra attestation shape (EIP-7549).
func isElectraOrLater(v Version) bool {
	return v == VersionElectra || v == VersionFulu
}

func aggregationSlotSchema(c codec, a *AggregationSlot) {
	c.uint64("slot", (*uint64)(&a.Slot))
}

func randaoRevealSchema(c codec, r *RandaoReveal) {
	c.uint64("epoch", (*uint64)(&r.Epoch))
}

func depositMessageSchema(c codec, d *Deposit) {
	c.fixed("pubkey", d.Message.PublicKey[:])
	c.bytesN("withdrawal_credentials", &d.Message.WithdrawalCredentials, 32)
	c.uint64("amount", (*uint64)(&d.Message.Amount))
	c.fixed("genesis_fork_version", d.GenesisForkVersion[:])
}

func syncCommitteeMessageSchema(c codec, m *SyncCommitteeMessage) {
	c.fixed("beacon_block_root", m.BeaconBlockRoot[:])
	c.uint64("slot", (*uint64)(&m.Slot))
}

func syncAggregatorSelectionDataSchema(c codec, s *altair.SyncAggregatorSelectionData) {
	c.uint64("slot", (*uint64)(&s.Slot))
	c.uint64("subcommittee_index", &s.SubcommitteeIndex)
}

func syncCommitteeContributionSchema(c codec, s *altair.SyncCommitteeContribution) {
	c.uint64("slot", (*uint64)(&s.Slot))
	c.fixed("beacon_block_root", s.BeaconBlockRoot[:])
	c.uint64("subcommittee_index", &s.SubcommitteeIndex)
	c.bytesN("aggregation_bits", (*[]byte)(&s.AggregationBits), syncContributionBitsBytes)
	c.fixed("signature", s.Signature[:])
}

func contributionAndProofSchema(c codec, p *altair.ContributionAndProof) {
	c.uint64("aggregator_index", (*uint64)(&p.AggregatorIndex))
	c.object("contribution", func(c codec) { syncCommitteeContributionSchema(c, sub(c, &p.Contribution)) })
	c.fixed("selection_proof", p.SelectionProof[:])
}

func validatorRegistrationSchema(c codec, v *apiv1.ValidatorRegistration) {
	c.fixed("fee_recipient", v.FeeRecipient[:])
	c.uint64("gas_limit", &v.GasLimit)
	c.unixTime("timestamp", &v.Timestamp)
	c.fixed("pubkey", v.Pubkey[:])
}
