package eth2

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// typeSpec is what one request type carries.
type typeSpec struct {
	// field is the JSON field of the payload.
	field string
	// forkInfo says whether the type's domain depends on the chain's fork (every type except
	// DEPOSIT and VALIDATOR_REGISTRATION), so that fork_info is required.
	forkInfo bool
	// schema describes the payload object into its field of Request.
	schema func(codec, *Request)
}

var typeSpecs = map[Type]typeSpec{
	TypeBlock: {"block", true, func(c codec, r *Request) {
		phase0BlockSchema(c, sub(c, &r.Block))
	}},
	TypeBlockV2: {"beacon_block", true, func(c codec, r *Request) {
		beaconBlockSchema(c, sub(c, &r.BeaconBlock))
	}},
	TypeAttestation: {"attestation", true, func(c codec, r *Request) {
		attestationDataSchema(c, sub(c, &r.Attestation))
	}},
	TypeAggregationSlot: {"aggregation_slot", true, func(c codec, r *Request) {
		aggregationSlotSchema(c, sub(c, &r.AggregationSlot))
	}},
	TypeAggregateAndProof: {"aggregate_and_proof", true, func(c codec, r *Request) {
		// The legacy shape is the Phase0 AggregateAndProof itself. Web3Signer also guesses
		// the shape from the presence of "version" and "data"; here the type decides.
		c.forbid("version", "{version, data} is the AGGREGATE_AND_PROOF_V2 shape")
		c.forbid("data", "{version, data} is the AGGREGATE_AND_PROOF_V2 shape")
		phase0AggregateAndProofSchema(c, sub(c, &sub(c, &r.AggregateAndProof).Phase0))
	}},
	TypeAggregateAndProofV2: {"aggregate_and_proof", true, func(c codec, r *Request) {
		aggregateAndProofV2Schema(c, sub(c, &r.AggregateAndProof))
	}},
	TypeDeposit: {"deposit", false, func(c codec, r *Request) {
		depositMessageSchema(c, sub(c, &r.Deposit))
	}},
	TypeRandaoReveal: {"randao_reveal", true, func(c codec, r *Request) {
		randaoRevealSchema(c, sub(c, &r.RandaoReveal))
	}},
	TypeVoluntaryExit: {"voluntary_exit", true, func(c codec, r *Request) {
		voluntaryExitSchema(c, sub(c, &r.VoluntaryExit))
	}},
	TypeSyncCommitteeMessage: {"sync_committee_message", true, func(c codec, r *Request) {
		syncCommitteeMessageSchema(c, sub(c, &r.SyncCommitteeMessage))
	}},
	TypeSyncCommitteeSelectionProof: {"sync_aggregator_selection_data", true, func(c codec, r *Request) {
		syncAggregatorSelectionDataSchema(c, sub(c, &r.SyncAggregatorSelectionData))
	}},
	TypeSyncCommitteeContributionAndProof: {"contribution_and_proof", true, func(c codec, r *Request) {
		contributionAndProofSchema(c, sub(c, &r.ContributionAndProof))
	}},
	TypeValidatorRegistration: {"validator_registration", false, func(c codec, r *Request) {
		validatorRegistrationSchema(c, sub(c, &r.ValidatorRegistration))
	}},
}

// Types returns the supported request types, sorted.
func Types() []Type {
	out := make([]Type, 0, len(typeSpecs))
	for t := range typeSpecs {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// typeList is the supported types for error messages.
func typeList() string {
	var names []string
	for _, t := range Types() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// isPayloadField reports whether name is some type's payload field.
func isPayloadField(name string) bool {
	for _, s := range typeSpecs {
		if s.field == name {
			return true
		}
	}
	return false
}

// The two spellings of the optional signing root: the OpenAPI spec's and the alias Web3Signer
// also reads.
const (
	fieldSigningRoot      = "signingRoot"
	fieldSigningRootAlias = "signing_root"
)

// ParseRequest decodes and validates one signing request body (see the package comment for the
// rules). Every error wraps ErrBadRequest and names the field at fault.
func ParseRequest(body []byte) (*Request, error) {
	if len(body) > MaxRequestBytes {
		return nil, fmt.Errorf("%w: body has %d bytes, more than the limit of %d", ErrBadRequest, len(body), MaxRequestBytes)
	}
	root, err := parseJSON(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if root.kind != kindObject {
		return nil, fmt.Errorf("%w: the body must be a JSON object, not %s", ErrBadRequest, root.kind)
	}
	var ferr *fieldError
	r := &Request{}
	decodeRequest(newDecoder("", root, &ferr), r)
	if ferr != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, ferr)
	}
	return r, nil
}

// decodeRequest fills r from the top-level object.
func decodeRequest(d *decoder, r *Request) {
	spec, ok := decodeType(d, r)
	if !ok {
		return
	}
	refuseOtherPayloads(d, r.Type, spec)
	decodeForkInfo(d, r, spec)
	decodeSigningRoot(d, r)
	d.object(spec.field, func(c codec) { spec.schema(c, r) })
	d.finish()
}

// decodeType reads "type" and looks it up.
func decodeType(d *decoder, r *Request) (typeSpec, bool) {
	v := d.take("type", kindString)
	if v == nil {
		return typeSpec{}, false
	}
	spec, ok := typeSpecs[Type(v.text)]
	if !ok {
		d.fail("type", "unknown type %q; supported types: %s", clip(v.text), typeList())
		return typeSpec{}, false
	}
	r.Type = Type(v.text)
	return spec, true
}

// refuseOtherPayloads refuses the payload field of any other type, so that what gets signed
// is never ambiguous.
func refuseOtherPayloads(d *decoder, t Type, spec typeSpec) {
	for _, k := range d.obj.keys {
		if k != spec.field && isPayloadField(k) {
			d.fail(k, "not allowed with type %s, whose payload is %q", t, spec.field)
			return
		}
	}
}

// decodeForkInfo reads fork_info: required where the type's domain needs it; elsewhere checked
// and dropped, as Web3Signer ignores it there.
func decodeForkInfo(d *decoder, r *Request, spec typeSpec) {
	if spec.forkInfo {
		d.object("fork_info", func(c codec) { forkInfoSchema(c, sub(c, &r.ForkInfo)) })
		return
	}
	if d.has("fork_info") {
		var ignored ForkInfo
		d.object("fork_info", func(c codec) { forkInfoSchema(c, &ignored) })
	}
}

// decodeSigningRoot reads the optional signing root under either spelling.
func decodeSigningRoot(d *decoder, r *Request) {
	name := fieldSigningRoot
	switch {
	case d.has(fieldSigningRoot) && d.has(fieldSigningRootAlias):
		d.fail(fieldSigningRootAlias, "send %s or %s, not both", fieldSigningRoot, fieldSigningRootAlias)
		return
	case d.has(fieldSigningRootAlias):
		name = fieldSigningRootAlias
	case !d.has(fieldSigningRoot):
		return
	}
	var root [32]byte
	d.fixed(name, root[:])
	if !d.failed() {
		r.SuppliedRoot = &root
	}
}

// Canonical returns the deterministic JSON encoding of r: the request's fields in the order of
// the consensus specs, lowercase hex, no spaces, the signing root as "signingRoot" and no
// fork_info where the type has none. ParseRequest accepts it and it hashes to r's root; the host
// forwards it, not the client's bytes, to the enclaves.
func (r *Request) Canonical() []byte {
	var buf bytes.Buffer
	encodeObject(&buf, func(c codec) { encodeRequest(c, r) })
	return buf.Bytes()
}

// encodeRequest writes the top-level object.
func encodeRequest(c codec, r *Request) {
	t := string(r.Type)
	c.word("type", &t, nil)
	spec, ok := typeSpecs[r.Type]
	if ok && spec.forkInfo {
		c.object("fork_info", func(c codec) { forkInfoSchema(c, sub(c, &r.ForkInfo)) })
	}
	if r.SuppliedRoot != nil {
		c.fixed(fieldSigningRoot, r.SuppliedRoot[:])
	}
	if ok {
		c.object(spec.field, func(c codec) { spec.schema(c, r) })
	}
}
