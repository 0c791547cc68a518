package eth2

import (
	"errors"

	apiv1 "github.com/attestantio/go-eth2-client/api/v1"
	"github.com/attestantio/go-eth2-client/spec/altair"
	"github.com/attestantio/go-eth2-client/spec/electra"
	"github.com/attestantio/go-eth2-client/spec/phase0"
)

// MaxRequestBytes is the largest body ParseRequest accepts. The largest legitimate request is a
// PHASE0 or ALTAIR BLOCK_V2 carrying a full block at every SSZ list limit (128 attestations, 2
// attester slashings of 2048 indices each, 16 deposits with their proofs, ...), which stays well
// under 1 MiB as JSON; every later fork sends only the 5-field block header.
const MaxRequestBytes = 1 << 20

// Errors callers branch on.
var (
	// ErrBadRequest is wrapped by every error of ParseRequest, and by the errors of SigningRoot
	// that the request itself causes: the body is malformed, or is not one of the supported
	// requests.
	ErrBadRequest = errors.New("eth2: bad signing request")
	// ErrRootMismatch means the request's signingRoot differs from the root of its own content.
	ErrRootMismatch = errors.New("eth2: supplied signingRoot does not match the request")
)

// Type is a request's "type": which message is signed, and so which payload field it carries.
type Type string

// The supported types, with their payload field.
const (
	TypeBlock                             Type = "BLOCK"                                 // "block", a phase0 block
	TypeBlockV2                           Type = "BLOCK_V2"                              // "beacon_block" {version, block | block_header}
	TypeAttestation                       Type = "ATTESTATION"                           // "attestation", an AttestationData
	TypeAggregationSlot                   Type = "AGGREGATION_SLOT"                      // "aggregation_slot" {slot}
	TypeAggregateAndProof                 Type = "AGGREGATE_AND_PROOF"                   // "aggregate_and_proof", a phase0 AggregateAndProof
	TypeAggregateAndProofV2               Type = "AGGREGATE_AND_PROOF_V2"                // "aggregate_and_proof" {version, data}
	TypeDeposit                           Type = "DEPOSIT"                               // "deposit"
	TypeRandaoReveal                      Type = "RANDAO_REVEAL"                         // "randao_reveal" {epoch}
	TypeVoluntaryExit                     Type = "VOLUNTARY_EXIT"                        // "voluntary_exit"
	TypeSyncCommitteeMessage              Type = "SYNC_COMMITTEE_MESSAGE"                // "sync_committee_message"
	TypeSyncCommitteeSelectionProof       Type = "SYNC_COMMITTEE_SELECTION_PROOF"        // "sync_aggregator_selection_data"
	TypeSyncCommitteeContributionAndProof Type = "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF" // "contribution_and_proof"
	TypeValidatorRegistration             Type = "VALIDATOR_REGISTRATION"                // "validator_registration"
)

// Version names a consensus fork, as BLOCK_V2 and AGGREGATE_AND_PROOF_V2 requests spell it.
type Version string

// The fork names the V2 requests accept, oldest first.
const (
	VersionPhase0    Version = "PHASE0"
	VersionAltair    Version = "ALTAIR"
	VersionBellatrix Version = "BELLATRIX"
	VersionCapella   Version = "CAPELLA"
	VersionDeneb     Version = "DENEB"
	VersionElectra   Version = "ELECTRA"
	VersionFulu      Version = "FULU"
)

// versions lists the accepted fork names in order, for parsing and for error messages.
var versions = []string{
	string(VersionPhase0), string(VersionAltair), string(VersionBellatrix), string(VersionCapella),
	string(VersionDeneb), string(VersionElectra), string(VersionFulu),
}

// Request is one validated signing request. Type says which single payload field is set; the
// others are nil.
type Request struct {
	Type Type
	// ForkInfo is set for every type except DEPOSIT and VALIDATOR_REGISTRATION, whose domains do
	// not depend on the chain's fork (a fork_info sent with those two is checked and dropped, as
	// Web3Signer ignores it; older Nimbus releases send one).
	ForkInfo *ForkInfo
	// SuppliedRoot is the client's "signingRoot", if it sent one; SigningRoot refuses a request
	// whose content hashes to another root.
	SuppliedRoot *[32]byte

	Block                       *phase0.BeaconBlock                 // BLOCK
	BeaconBlock                 *BeaconBlock                        // BLOCK_V2
	Attestation                 *phase0.AttestationData             // ATTESTATION
	AggregationSlot             *AggregationSlot                    // AGGREGATION_SLOT
	AggregateAndProof           *AggregateAndProof                  // AGGREGATE_AND_PROOF and AGGREGATE_AND_PROOF_V2
	Deposit                     *Deposit                            // DEPOSIT
	RandaoReveal                *RandaoReveal                       // RANDAO_REVEAL
	VoluntaryExit               *phase0.VoluntaryExit               // VOLUNTARY_EXIT
	SyncCommitteeMessage        *SyncCommitteeMessage               // SYNC_COMMITTEE_MESSAGE
	SyncAggregatorSelectionData *altair.SyncAggregatorSelectionData // SYNC_COMMITTEE_SELECTION_PROOF
	ContributionAndProof        *altair.ContributionAndProof        // SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF
	ValidatorRegistration       *apiv1.ValidatorRegistration        // VALIDATOR_REGISTRATION
}

// ForkInfo is the chain context of a request: the fork at the signing epoch and the chain's
// genesis validators root, which together pick the signature domain.
type ForkInfo struct {
	Fork                  phase0.Fork
	GenesisValidatorsRoot phase0.Root
}

// BeaconBlock is a BLOCK_V2 payload. PHASE0 carries a full Phase0 block, ALTAIR a full Altair
// block, and every later fork only the block header (its root is the block's root, so the
// signer needs no execution payload).
type BeaconBlock struct {
	Version Version
	Phase0  *phase0.BeaconBlock
	Altair  *altair.BeaconBlock
	Header  *phase0.BeaconBlockHeader
}

// AggregateAndProof is an AGGREGATE_AND_PROOF payload (Version empty, Phase0 set) or an
// AGGREGATE_AND_PROOF_V2 one: PHASE0 to DENEB carry the Phase0 shape, ELECTRA and FULU the
// Electra shape (EIP-7549 moved the committee index into committee_bits).
type AggregateAndProof struct {
	Version Version
	Phase0  *phase0.AggregateAndProof
	Electra *electra.AggregateAndProof
}

// AggregationSlot is an AGGREGATION_SLOT payload: the slot whose selection proof is signed.
type AggregationSlot struct {
	Slot phase0.Slot
}

// RandaoReveal is a RANDAO_REVEAL payload: the epoch whose RANDAO reveal is signed.
type RandaoReveal struct {
	Epoch phase0.Epoch
}

// Deposit is a DEPOSIT payload: the deposit message and the fork version of the chain it is
// meant for (deposits are signed before the depositor knows any chain state).
type Deposit struct {
	Message            phase0.DepositMessage
	GenesisForkVersion phase0.Version
}

// SyncCommitteeMessage is a SYNC_COMMITTEE_MESSAGE payload: the block root a sync committee
// member signs at a slot.
type SyncCommitteeMessage struct {
	BeaconBlockRoot phase0.Root
	Slot            phase0.Slot
}

// SlashKind says which slashing protection rule a request falls under.
type SlashKind int

// The kinds of request slashing protection distinguishes.
const (
	SlashNone        SlashKind = iota // nothing to check: signing it twice cannot be slashed
	SlashBlock                        // a block proposal: one per slot
	SlashAttestation                  // an attestation: no double or surround votes
)

// String names the kind for logs and metric labels.
func (k SlashKind) String() string {
	switch k {
	case SlashNone:
		return "none"
	case SlashBlock:
		return "block"
	case SlashAttestation:
		return "attestation"
	}
	return "unknown"
}

// Slashable is what slashing protection checks about a request (EIP-3076 keeps its records per
// genesis validators root). Slot is set for SlashBlock, the epochs for SlashAttestation.
type Slashable struct {
	Kind                  SlashKind
	Slot                  uint64
	SourceEpoch           uint64
	TargetEpoch           uint64
	GenesisValidatorsRoot [32]byte
}

// Slashable returns the facts slashing protection checks: BLOCK and BLOCK_V2 are blocks at their
// slot, ATTESTATION an attestation with its source and target epochs, everything else none.
func (r *Request) Slashable() Slashable {
	var s Slashable
	if r.ForkInfo != nil {
		s.GenesisValidatorsRoot = r.ForkInfo.GenesisValidatorsRoot
	}
	// The kind follows the type alone, so that a request built by hand with its payload missing
	// is still checked as what it claims to be (and SigningRoot refuses it anyway).
	switch r.Type {
	case TypeBlock, TypeBlockV2:
		s.Kind = SlashBlock
		// The same block SigningRoot signs, chosen by the same version.
		_, slot, _ := r.block()
		s.Slot = uint64(slot)
	case TypeAttestation:
		s.Kind = SlashAttestation
		if a := r.Attestation; a != nil && a.Source != nil && a.Target != nil {
			s.SourceEpoch, s.TargetEpoch = uint64(a.Source.Epoch), uint64(a.Target.Epoch)
		}
	}
	return s
}
