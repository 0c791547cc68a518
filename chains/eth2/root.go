package eth2

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/attestantio/go-eth2-client/spec/phase0"
)

// Domain types, from the consensus specs (specs/phase0/beacon-chain.md and
// specs/altair/beacon-chain.md, "Domain types") and the builder specs
// (specs/bellatrix/builder.md, DOMAIN_APPLICATION_BUILDER).
var (
	domainBeaconProposer              = phase0.DomainType{0x00, 0x00, 0x00, 0x00}
	domainBeaconAttester              = phase0.DomainType{0x01, 0x00, 0x00, 0x00}
	domainRandao                      = phase0.DomainType{0x02, 0x00, 0x00, 0x00}
	domainDeposit                     = phase0.DomainType{0x03, 0x00, 0x00, 0x00}
	domainVoluntaryExit               = phase0.DomainType{0x04, 0x00, 0x00, 0x00}
	domainSelectionProof              = phase0.DomainType{0x05, 0x00, 0x00, 0x00}
	domainAggregateAndProof           = phase0.DomainType{0x06, 0x00, 0x00, 0x00}
	domainSyncCommittee               = phase0.DomainType{0x07, 0x00, 0x00, 0x00}
	domainSyncCommitteeSelectionProof = phase0.DomainType{0x08, 0x00, 0x00, 0x00}
	domainContributionAndProof        = phase0.DomainType{0x09, 0x00, 0x00, 0x00}
	domainApplicationBuilder          = phase0.DomainType{0x00, 0x00, 0x00, 0x01}
)

// slotsPerEpoch is SLOTS_PER_EPOCH of the mainnet preset, which every built-in network uses.
const slotsPerEpoch = 32

// errNoNetwork is a caller's mistake, not the client's: it does not wrap ErrBadRequest.
var errNoNetwork = errors.New("eth2: SigningRoot needs the network (see LookupNetwork)")

// SigningRoot recomputes the 32-byte root a validator signs for r: compute_signing_root of the
// request's object under its domain. net supplies what the request does not carry: the genesis
// fork version of VALIDATOR_REGISTRATION and the EIP-7044 rule of VOLUNTARY_EXIT. When r carries
// a signingRoot that differs, the error wraps ErrRootMismatch and names both roots.
func (r *Request) SigningRoot(net *Network) ([32]byte, error) {
	if net == nil {
		return [32]byte{}, errNoNetwork
	}
	object, domain, err := r.objectAndDomain(net)
	if err != nil {
		return [32]byte{}, err
	}
	root, err := computeSigningRoot(object, domain)
	if err != nil {
		return [32]byte{}, err
	}
	if r.SuppliedRoot != nil && *r.SuppliedRoot != root {
		return [32]byte{}, fmt.Errorf("%w: the request says %#x, its content hashes to %#x", ErrRootMismatch, r.SuppliedRoot[:], root[:])
	}
	return root, nil
}

// objectAndDomain returns the hash tree root of the signed object and the domain it is signed
// under, per type.
func (r *Request) objectAndDomain(net *Network) (phase0.Root, phase0.Domain, error) {
	spec, ok := typeSpecs[r.Type]
	if !ok {
		return phase0.Root{}, phase0.Domain{}, fmt.Errorf("%w: unknown type %q; supported types: %s", ErrBadRequest, clip(string(r.Type)), typeList())
	}
	if spec.forkInfo && r.ForkInfo == nil {
		return phase0.Root{}, phase0.Domain{}, fmt.Errorf("%w: type %s needs fork_info", ErrBadRequest, r.Type)
	}
	switch r.Type {
	case TypeBlock, TypeBlockV2:
		return r.blockRoot()
	case TypeAttestation:
		return r.attestationRoot()
	case TypeAggregationSlot:
		return r.aggregationSlotRoot()
	case TypeAggregateAndProof, TypeAggregateAndProofV2:
		return r.aggregateAndProofRoot()
	case TypeDeposit:
		return r.depositRoot()
	case TypeRandaoReveal:
		return r.randaoRevealRoot()
	case TypeVoluntaryExit:
		return r.voluntaryExitRoot(net)
	case TypeSyncCommitteeMessage:
		return r.syncCommitteeMessageRoot()
	case TypeSyncCommitteeSelectionProof:
		return r.syncSelectionProofRoot()
	case TypeSyncCommitteeContributionAndProof:
		return r.contributionAndProofRoot()
	case TypeValidatorRegistration:
		return r.validatorRegistrationRoot(net)
	}
	return phase0.Root{}, phase0.Domain{}, fmt.Errorf("%w: no signing root for type %s", ErrBadRequest, r.Type)
}

// hashable is a container go-eth2-client can hash.
type hashable interface{ HashTreeRoot() ([32]byte, error) }

// hashObject hashes obj, blaming the request for anything the library refuses (it rechecks
// bitlists and sizes ParseRequest has already checked).
func hashObject(name string, obj hashable) (phase0.Root, error) {
	root, err := obj.HashTreeRoot()
	if err != nil {
		return phase0.Root{}, fmt.Errorf("%w: %s: %v", ErrBadRequest, name, err)
	}
	return root, nil
}

// missing is the error for a request built without the payload or fork its type needs.
func missing(r *Request, what string) (phase0.Root, phase0.Domain, error) {
	return phase0.Root{}, phase0.Domain{}, fmt.Errorf("%w: type %s has no %s", ErrBadRequest, r.Type, what)
}

// withDomain hashes obj and pairs it with the fork-dependent domain at epoch.
func (r *Request) withDomain(name string, obj hashable, dt phase0.DomainType, epoch phase0.Epoch) (phase0.Root, phase0.Domain, error) {
	root, err := hashObject(name, obj)
	if err != nil {
		return phase0.Root{}, phase0.Domain{}, err
	}
	domain, err := getDomain(r.ForkInfo, dt, epoch)
	return root, domain, err
}

func (r *Request) blockRoot() (phase0.Root, phase0.Domain, error) {
	obj, slot, ok := r.block()
	if !ok {
		return missing(r, "block of the shape its version needs")
	}
	return r.withDomain("block", obj, domainBeaconProposer, epochAtSlot(slot))
}

// block returns the object a BLOCK or BLOCK_V2 request signs and its slot: the Phase0 block,
// the Altair block, or from Bellatrix on the block header, as the version says. Its root is
// the block's root either way: a header is the block with its body replaced by the body's
// root, which is how every client sends post-Bellatrix blocks.
func (r *Request) block() (hashable, phase0.Slot, bool) {
	if r.Type == TypeBlock && r.Block != nil {
		return r.Block, r.Block.Slot, true
	}
	b := r.BeaconBlock
	if r.Type != TypeBlockV2 || b == nil {
		return nil, 0, false
	}
	switch {
	case b.Version == VersionPhase0 && b.Phase0 != nil:
		return b.Phase0, b.Phase0.Slot, true
	case b.Version == VersionAltair && b.Altair != nil:
		return b.Altair, b.Altair.Slot, true
	case b.Version != VersionPhase0 && b.Version != VersionAltair && b.Header != nil:
		return b.Header, b.Header.Slot, true
	}
	return nil, 0, false
}

func (r *Request) attestationRoot() (phase0.Root, phase0.Domain, error) {
	a := r.Attestation
	if a == nil || a.Target == nil {
		return missing(r, "attestation")
	}
	// get_attestation_signature signs under the domain of the target epoch.
	return r.withDomain("attestation", a, domainBeaconAttester, a.Target.Epoch)
}

func (r *Request) aggregationSlotRoot() (phase0.Root, phase0.Domain, error) {
	if r.AggregationSlot == nil {
		return missing(r, "aggregation_slot")
	}
	slot := r.AggregationSlot.Slot
	domain, err := getDomain(r.ForkInfo, domainSelectionProof, epochAtSlot(slot))
	return uint64Root(uint64(slot)), domain, err
}

func (r *Request) aggregateAndProofRoot() (phase0.Root, phase0.Domain, error) {
	a := r.AggregateAndProof
	switch {
	case a == nil:
		return missing(r, "aggregate_and_proof")
	case r.Type == TypeAggregateAndProof && a.Version != "":
		return missing(r, "legacy aggregate_and_proof (it has a version)")
	case isElectraOrLater(a.Version) && a.Electra != nil && a.Electra.Aggregate != nil && a.Electra.Aggregate.Data != nil:
		return r.withDomain("aggregate_and_proof", a.Electra, domainAggregateAndProof, epochAtSlot(a.Electra.Aggregate.Data.Slot))
	case !isElectraOrLater(a.Version) && a.Phase0 != nil && a.Phase0.Aggregate != nil && a.Phase0.Aggregate.Data != nil:
		return r.withDomain("aggregate_and_proof", a.Phase0, domainAggregateAndProof, epochAtSlot(a.Phase0.Aggregate.Data.Slot))
	}
	return missing(r, "aggregate of the shape its version needs")
}

func (r *Request) depositRoot() (phase0.Root, phase0.Domain, error) {
	d := r.Deposit
	if d == nil {
		return missing(r, "deposit")
	}
	root, err := hashObject("deposit", &d.Message)
	if err != nil {
		return phase0.Root{}, phase0.Domain{}, err
	}
	// compute_domain(DOMAIN_DEPOSIT) with the deposit's own fork version and a zero genesis
	// validators root: deposits are valid across forks and signed before genesis.
	domain, err := computeDomain(domainDeposit, d.GenesisForkVersion, phase0.Root{})
	return root, domain, err
}

func (r *Request) randaoRevealRoot() (phase0.Root, phase0.Domain, error) {
	if r.RandaoReveal == nil {
		return missing(r, "randao_reveal")
	}
	epoch := r.RandaoReveal.Epoch
	domain, err := getDomain(r.ForkInfo, domainRandao, epoch)
	return uint64Root(uint64(epoch)), domain, err
}

func (r *Request) voluntaryExitRoot(net *Network) (phase0.Root, phase0.Domain, error) {
	e := r.VoluntaryExit
	if e == nil {
		return missing(r, "voluntary_exit")
	}
	root, err := hashObject("voluntary_exit", e)
	if err != nil {
		return phase0.Root{}, phase0.Domain{}, err
	}
	domain, err := voluntaryExitDomain(r.ForkInfo, e.Epoch, net)
	return root, domain, err
}

// voluntaryExitDomain does what Web3Signer does (SigningRootUtil.signingRootForSignVoluntaryExit
// calls Teku's Spec.getVoluntaryExitDomain): it looks up which fork fork_info.fork.epoch falls in
// on the configured network; from Deneb on it signs under
// compute_domain(DOMAIN_VOLUNTARY_EXIT, CAPELLA_FORK_VERSION, genesis_validators_root)
// (EIP-7044: exits stay valid forever), ignoring fork_info's versions and the exit's epoch;
// before Deneb it is get_domain at the exit's epoch. Lodestar sends the Capella fork as
// fork_info for such exits, which gives the same domain either way. A network without a known
// Deneb epoch (VoluntaryExitFork nil) always takes fork_info.
func voluntaryExitDomain(fi *ForkInfo, exitEpoch phase0.Epoch, net *Network) (phase0.Domain, error) {
	if ef := net.VoluntaryExitFork; ef != nil && fi.Fork.Epoch >= ef.DenebForkEpoch {
		return computeDomain(domainVoluntaryExit, ef.CapellaForkVersion, fi.GenesisValidatorsRoot)
	}
	return getDomain(fi, domainVoluntaryExit, exitEpoch)
}

func (r *Request) syncCommitteeMessageRoot() (phase0.Root, phase0.Domain, error) {
	m := r.SyncCommitteeMessage
	if m == nil {
		return missing(r, "sync_committee_message")
	}
	// A sync committee member signs the block root itself: hash_tree_root(Root) is the root.
	domain, err := getDomain(r.ForkInfo, domainSyncCommittee, epochAtSlot(m.Slot))
	return m.BeaconBlockRoot, domain, err
}

func (r *Request) syncSelectionProofRoot() (phase0.Root, phase0.Domain, error) {
	s := r.SyncAggregatorSelectionData
	if s == nil {
		return missing(r, "sync_aggregator_selection_data")
	}
	return r.withDomain("sync_aggregator_selection_data", s, domainSyncCommitteeSelectionProof, epochAtSlot(s.Slot))
}

func (r *Request) contributionAndProofRoot() (phase0.Root, phase0.Domain, error) {
	p := r.ContributionAndProof
	if p == nil || p.Contribution == nil {
		return missing(r, "contribution_and_proof")
	}
	return r.withDomain("contribution_and_proof", p, domainContributionAndProof, epochAtSlot(p.Contribution.Slot))
}

func (r *Request) validatorRegistrationRoot(net *Network) (phase0.Root, phase0.Domain, error) {
	v := r.ValidatorRegistration
	if v == nil {
		return missing(r, "validator_registration")
	}
	root, err := hashObject("validator_registration", v)
	if err != nil {
		return phase0.Root{}, phase0.Domain{}, err
	}
	// The builder specs sign registrations with compute_domain(DOMAIN_APPLICATION_BUILDER),
	// i.e. the network's genesis fork version and a zero genesis validators root, so that a
	// registration is valid whatever the fork.
	domain, err := computeDomain(domainApplicationBuilder, net.GenesisForkVersion, phase0.Root{})
	return root, domain, err
}

// epochAtSlot is compute_epoch_at_slot.
func epochAtSlot(slot phase0.Slot) phase0.Epoch {
	return phase0.Epoch(slot / slotsPerEpoch)
}

// forkVersionAt is the fork version get_domain uses at epoch: the previous version before the
// fork's epoch, the current one from it on.
func forkVersionAt(f *phase0.Fork, epoch phase0.Epoch) phase0.Version {
	if epoch < f.Epoch {
		return f.PreviousVersion
	}
	return f.CurrentVersion
}

// getDomain is the consensus specs' get_domain with the fork and genesis validators root from
// the request's fork_info in place of the beacon state.
func getDomain(fi *ForkInfo, dt phase0.DomainType, epoch phase0.Epoch) (phase0.Domain, error) {
	return computeDomain(dt, forkVersionAt(&fi.Fork, epoch), fi.GenesisValidatorsRoot)
}

// computeDomain is the consensus specs' compute_domain: the domain type followed by the first
// 28 bytes of the fork data root.
func computeDomain(dt phase0.DomainType, version phase0.Version, genesisValidatorsRoot phase0.Root) (phase0.Domain, error) {
	forkDataRoot, err := (&phase0.ForkData{CurrentVersion: version, GenesisValidatorsRoot: genesisValidatorsRoot}).HashTreeRoot()
	if err != nil {
		return phase0.Domain{}, fmt.Errorf("eth2: hashing fork data: %v", err)
	}
	var d phase0.Domain
	copy(d[:4], dt[:])
	copy(d[4:], forkDataRoot[:28])
	return d, nil
}

// computeSigningRoot is the consensus specs' compute_signing_root: the root of SigningData.
func computeSigningRoot(object phase0.Root, domain phase0.Domain) ([32]byte, error) {
	root, err := (&phase0.SigningData{ObjectRoot: object, Domain: domain}).HashTreeRoot()
	if err != nil {
		return [32]byte{}, fmt.Errorf("eth2: hashing signing data: %v", err)
	}
	return root, nil
}

// uint64Root is hash_tree_root of a uint64 (a slot or an epoch): SSZ packs a basic value into
// one 32-byte chunk, little-endian and zero-padded, and a single chunk is its own root. No
// go-eth2-client type wraps a bare integer, so this one line stands in for it.
func uint64Root(v uint64) phase0.Root {
	var root phase0.Root
	binary.LittleEndian.PutUint64(root[:8], v)
	return root
}
