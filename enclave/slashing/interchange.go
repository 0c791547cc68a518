package slashing

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/mpcsigner/mpcsigner/enclave/store"
)

// MaxInterchangeSize is the largest interchange Import accepts, in bytes.
// A larger history must be split into several files by validator.
const MaxInterchangeSize = 32 << 20

// InterchangeVersion is the EIP-3076 interchange format version Import
// accepts and Export writes.
const InterchangeVersion = "5"

// The interchange as decoded: pointers tell a missing field from an empty
// one.
type icIn struct {
	Metadata *icMetaIn        `json:"metadata"`
	Data     *[]icValidatorIn `json:"data"`
}

type icMetaIn struct {
	Version *string `json:"interchange_format_version"`
	GVR     *string `json:"genesis_validators_root"`
}

type icValidatorIn struct {
	Pubkey       *string      `json:"pubkey"`
	Blocks       *[]icBlockIn `json:"signed_blocks"`
	Attestations *[]icAttIn   `json:"signed_attestations"`
}

type icBlockIn struct {
	Slot        *string `json:"slot"`
	SigningRoot *string `json:"signing_root"`
}

type icAttIn struct {
	Source      *string `json:"source_epoch"`
	Target      *string `json:"target_epoch"`
	SigningRoot *string `json:"signing_root"`
}

// The interchange as written.
type icOut struct {
	Metadata icMetaOut        `json:"metadata"`
	Data     []icValidatorOut `json:"data"`
}

type icMetaOut struct {
	Version string `json:"interchange_format_version"`
	GVR     string `json:"genesis_validators_root"`
}

type icValidatorOut struct {
	Pubkey       string       `json:"pubkey"`
	Blocks       []icBlockOut `json:"signed_blocks"`
	Attestations []icAttOut   `json:"signed_attestations"`
}

type icBlockOut struct {
	Slot        string `json:"slot"`
	SigningRoot string `json:"signing_root,omitempty"`
}

type icAttOut struct {
	Source      string `json:"source_epoch"`
	Target      string `json:"target_epoch"`
	SigningRoot string `json:"signing_root,omitempty"`
}

// history is one validator's history from an interchange, with records at
// one slot or target already merged.
type history struct {
	pk     Pubkey
	blocks []blockRec // ascending
	atts   []attRec   // ascending
}

type interchange struct {
	gvr  [32]byte
	vals []*history // in order of first appearance, one per pubkey
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("slashing: interchange: %s: %w", fmt.Sprintf(format, args...), ErrInvalidInterchange)
}

// decodeInterchange strictly decodes an EIP-3076 version 5 interchange.
func decodeInterchange(data []byte) (*interchange, error) {
	if len(data) > MaxInterchangeSize {
		return nil, invalid("%d bytes is over the %d-byte limit: split it by validator", len(data), MaxInterchangeSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var in icIn
	if err := dec.Decode(&in); err != nil {
		return nil, invalid("%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("trailing data after the top-level object")
	}
	if in.Metadata == nil || in.Data == nil {
		return nil, invalid(`"metadata" and "data" are required`)
	}
	if in.Metadata.Version == nil || in.Metadata.GVR == nil {
		return nil, invalid(`"metadata" needs "interchange_format_version" and "genesis_validators_root"`)
	}
	if v := *in.Metadata.Version; v != InterchangeVersion {
		return nil, invalid("interchange_format_version %q is not supported: only version %s (EIP-3076) is", v, InterchangeVersion)
	}
	ic := &interchange{}
	if err := parseHex(ic.gvr[:], *in.Metadata.GVR); err != nil {
		return nil, invalid("genesis_validators_root: %v", err)
	}
	byPK := make(map[Pubkey]*history)
	for i, v := range *in.Data {
		if v.Pubkey == nil || v.Blocks == nil || v.Attestations == nil {
			return nil, invalid(`data[%d]: "pubkey", "signed_blocks" and "signed_attestations" are required`, i)
		}
		var pk Pubkey
		if err := parseHex(pk[:], *v.Pubkey); err != nil {
			return nil, invalid("data[%d].pubkey: %v", i, err)
		}
		h := byPK[pk]
		if h == nil {
			h = &history{pk: pk}
			byPK[pk] = h
			ic.vals = append(ic.vals, h)
		}
		for j, b := range *v.Blocks {
			if b.Slot == nil {
				return nil, invalid("data[%d].signed_blocks[%d]: slot is required", i, j)
			}
			slot, err := parseUint(*b.Slot)
			if err != nil {
				return nil, invalid("data[%d].signed_blocks[%d].slot: %v", i, j, err)
			}
			r := blockRec{slot: slot}
			if r.known, r.root, err = parseRoot(b.SigningRoot); err != nil {
				return nil, invalid("data[%d].signed_blocks[%d].signing_root: %v", i, j, err)
			}
			h.blocks = append(h.blocks, r)
		}
		for j, a := range *v.Attestations {
			if a.Source == nil || a.Target == nil {
				return nil, invalid("data[%d].signed_attestations[%d]: source_epoch and target_epoch are required", i, j)
			}
			src, err := parseUint(*a.Source)
			if err != nil {
				return nil, invalid("data[%d].signed_attestations[%d].source_epoch: %v", i, j, err)
			}
			tgt, err := parseUint(*a.Target)
			if err != nil {
				return nil, invalid("data[%d].signed_attestations[%d].target_epoch: %v", i, j, err)
			}
			r := attRec{target: tgt, srcMin: src, srcMax: src}
			if r.known, r.root, err = parseRoot(a.SigningRoot); err != nil {
				return nil, invalid("data[%d].signed_attestations[%d].signing_root: %v", i, j, err)
			}
			h.atts = append(h.atts, r)
		}
	}
	for _, h := range ic.vals {
		h.blocks = mergeBlocks(h.blocks)
		h.atts = mergeAtts(h.atts)
	}
	return ic, nil
}

// parseUint parses a decimal uint64 as EIP-3076 writes it: digits only, no
// sign, no leading zeros.
func parseUint(s string) (uint64, error) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%.40q is not a decimal number", s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return n, nil
}

// parseHex decodes a 0x-prefixed hex string of exactly len(dst) bytes.
func parseHex(dst []byte, s string) error {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok || len(h) != 2*len(dst) {
		return fmt.Errorf("%.40q is not 0x and %d hex digits", s, 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(h)); err != nil {
		return fmt.Errorf("%.40q is not hex", s)
	}
	return nil
}

func parseRoot(s *string) (bool, [32]byte, error) {
	var root [32]byte
	if s == nil {
		return false, root, nil
	}
	if err := parseHex(root[:], *s); err != nil {
		return false, root, err
	}
	return true, root, nil
}

// mergeBlocks sorts rs by slot and merges records at one slot: the merged
// record keeps the root only if all of them know the same root.
func mergeBlocks(rs []blockRec) []blockRec {
	slices.SortStableFunc(rs, func(a, b blockRec) int { return cmpU64(a.slot, b.slot) })
	out := rs[:0]
	for _, r := range rs {
		n := len(out)
		if n == 0 || out[n-1].slot != r.slot {
			out = append(out, r)
			continue
		}
		if o := out[n-1]; !(o.known && r.known && o.root == r.root) {
			out[n-1] = blockRec{slot: r.slot}
		}
	}
	return out
}

// mergeAtts sorts rs by target and merges records at one target into one
// spanning all their sources, which keeps the root only if all of them are
// the same attestation with a known root.
func mergeAtts(rs []attRec) []attRec {
	slices.SortStableFunc(rs, func(a, b attRec) int { return cmpU64(a.target, b.target) })
	out := rs[:0]
	for _, r := range rs {
		n := len(out)
		if n == 0 || out[n-1].target != r.target {
			out = append(out, r)
			continue
		}
		o := out[n-1]
		if !(o.known && r.known && o.root == r.root && o.srcMin == r.srcMin && o.srcMax == r.srcMax) {
			out[n-1] = attRec{target: r.target, srcMin: min(o.srcMin, r.srcMin), srcMax: max(o.srcMax, r.srcMax)}
		}
	}
	return out
}

// Import merges an EIP-3076 interchange (format version 5) into the
// database, all or nothing: on error nothing changed. It binds the
// interchange's genesis validators root if none is bound and refuses one
// that differs (WrongGenesis). Each validator it names is enabled again.
// Watermarks only rise: the stricter of the old and the imported ones is
// kept. Slashable data in the file is accepted (it is history); it only
// makes more requests refused.
func (db *DB) Import(interchangeJSON []byte) error {
	ic, err := decodeInterchange(interchangeJSON)
	if err != nil {
		return err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if err := db.c.err(); err != nil {
		return err
	}
	if err := db.checkGenesis(ic.gvr); err != nil {
		return fmt.Errorf("slashing: import: %w", err)
	}
	b := store.NewBatch()
	bind := db.gvr.Load() == nil
	if bind {
		b.Put(db.prefix+nameGenesis, encodeGenesis(ic.gvr))
	}
	states := make([]vstate, len(ic.vals))
	for i, h := range ic.vals {
		var old vstate
		db.vmu.RLock()
		v := db.vals[h.pk]
		db.vmu.RUnlock()
		if v != nil {
			v.mu.Lock()
			old = v.st // no request can change it while db.mu is held for writing
			v.mu.Unlock()
		}
		states[i] = db.merge(old, h)
		fill(db.diff(h.pk, old, states[i]))(b)
	}
	if err := db.c.applyNow(b); err != nil {
		return fmt.Errorf("slashing: import: writing to the store: %w; nothing was imported", err)
	}
	if bind {
		gvr := ic.gvr
		db.gvr.Store(&gvr)
	}
	db.vmu.Lock()
	defer db.vmu.Unlock()
	for i, h := range ic.vals {
		v := db.vals[h.pk]
		if v == nil {
			v = &validator{pk: h.pk}
			db.vals[h.pk] = v
		}
		v.mu.Lock()
		v.st, v.last = states[i], nil
		v.mu.Unlock()
	}
	return nil
}

// merge returns old with the history h merged in, following Web3Signer's
// importers: records are added, each watermark becomes the higher of the
// old one and the lowest imported value, records below the new watermarks
// are dropped (raising the source watermark over what is dropped), and
// the validator is enabled.
func (db *DB) merge(old vstate, h *history) vstate {
	s := old.clone()
	s.stored, s.enabled = true, true
	if len(h.blocks) > 0 {
		floor := h.blocks[0].slot
		if len(s.blocks) > 0 {
			floor = max(floor, s.blocks[0].slot)
		}
		s.blocks = mergeBlocks(append(s.blocks, h.blocks...))
		i, _ := slices.BinarySearchFunc(s.blocks, floor, func(b blockRec, s uint64) int { return cmpU64(b.slot, s) })
		s.blocks = slices.Delete(s.blocks, 0, i)
		if n := len(s.blocks) - db.opts.RetainBlocks; n > db.slack(db.opts.RetainBlocks) {
			s.blocks = slices.Delete(s.blocks, 0, n)
		}
	}
	if len(h.atts) > 0 {
		floor := h.atts[0].target
		if len(s.atts) > 0 {
			floor = max(floor, s.atts[0].target)
		}
		srcFloor := h.atts[0].srcMin
		for _, r := range h.atts {
			srcFloor = min(srcFloor, r.srcMin)
		}
		if s.hasSourceFloor {
			srcFloor = max(srcFloor, s.sourceFloor)
		}
		s.atts = mergeAtts(append(s.atts, h.atts...))
		i, _ := slices.BinarySearchFunc(s.atts, floor, func(a attRec, t uint64) int { return cmpU64(a.target, t) })
		drop := i
		if n := len(s.atts) - drop - db.opts.RetainAttestations; n > db.slack(db.opts.RetainAttestations) {
			drop += n
		}
		for _, d := range s.atts[:drop] {
			srcFloor = max(srcFloor, d.srcMax)
		}
		s.atts = slices.Delete(s.atts, 0, drop)
		s.hasSourceFloor, s.sourceFloor = true, srcFloor
	}
	return s
}

// diff returns the writes that turn the stored records of old into those
// of s.
func (db *DB) diff(pk Pubkey, old, s vstate) []write {
	var ws []write
	if !old.stored || old.enabled != s.enabled || old.hasSourceFloor != s.hasSourceFloor || old.sourceFloor != s.sourceFloor {
		ws = append(ws, write{db.metaName(pk), encodeMeta(&s)})
	}
	newB := make(map[uint64]blockRec, len(s.blocks))
	for _, r := range s.blocks {
		newB[r.slot] = r
	}
	for _, r := range old.blocks {
		if _, ok := newB[r.slot]; !ok {
			ws = append(ws, write{name: db.blockName(pk, r.slot)})
		}
	}
	oldB := make(map[uint64]blockRec, len(old.blocks))
	for _, r := range old.blocks {
		oldB[r.slot] = r
	}
	for _, r := range s.blocks {
		if o, ok := oldB[r.slot]; !ok || o != r {
			ws = append(ws, write{db.blockName(pk, r.slot), encodeBlock(r)})
		}
	}
	newA := make(map[uint64]attRec, len(s.atts))
	for _, r := range s.atts {
		newA[r.target] = r
	}
	for _, r := range old.atts {
		if _, ok := newA[r.target]; !ok {
			ws = append(ws, write{name: db.attName(pk, r.target)})
		}
	}
	oldA := make(map[uint64]attRec, len(old.atts))
	for _, r := range old.atts {
		oldA[r.target] = r
	}
	for _, r := range s.atts {
		if o, ok := oldA[r.target]; !ok || o != r {
			ws = append(ws, write{db.attName(pk, r.target), encodeAtt(r)})
		}
	}
	return ws
}

// Export writes the history of the given validators (all of them when
// pubkeys is empty; unknown ones are skipped), disabled ones included, as
// an EIP-3076 version 5 interchange. An importer that follows EIP-3076
// refuses at least what this database refuses for them. It fails with
// ErrNoGenesis when no genesis validators root is bound yet.
func (db *DB) Export(pubkeys []Pubkey) ([]byte, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if err := db.c.err(); err != nil {
		return nil, err
	}
	gvr := db.gvr.Load()
	if gvr == nil {
		return nil, fmt.Errorf("slashing: export: %w: nothing has been signed or imported", ErrNoGenesis)
	}
	db.vmu.RLock()
	var vs []*validator
	if len(pubkeys) == 0 {
		for _, v := range db.vals {
			vs = append(vs, v)
		}
	} else {
		for _, pk := range pubkeys {
			if v := db.vals[pk]; v != nil {
				vs = append(vs, v)
			}
		}
	}
	db.vmu.RUnlock()
	slices.SortFunc(vs, func(a, b *validator) int { return bytes.Compare(a.pk[:], b.pk[:]) })
	vs = slices.Compact(vs)

	out := icOut{
		Metadata: icMetaOut{Version: InterchangeVersion, GVR: "0x" + hex.EncodeToString(gvr[:])},
		Data:     []icValidatorOut{},
	}
	for _, v := range vs {
		v.mu.Lock()
		s := v.st.clone()
		v.mu.Unlock()
		if !s.stored {
			continue
		}
		out.Data = append(out.Data, exportValidator(v.pk, s))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("slashing: export: %w", err)
	}
	return b, nil
}

func exportValidator(pk Pubkey, s vstate) icValidatorOut {
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	root := func(known bool, r [32]byte) string {
		if !known {
			return ""
		}
		return "0x" + hex.EncodeToString(r[:])
	}
	o := icValidatorOut{
		Pubkey:       "0x" + hex.EncodeToString(pk[:]),
		Blocks:       []icBlockOut{},
		Attestations: []icAttOut{},
	}
	for _, r := range s.blocks {
		o.Blocks = append(o.Blocks, icBlockOut{Slot: u(r.slot), SigningRoot: root(r.known, r.root)})
	}
	if len(s.atts) == 0 {
		return o
	}
	minSrc := s.atts[0].srcMin
	for _, r := range s.atts {
		minSrc = min(minSrc, r.srcMin)
		o.Attestations = append(o.Attestations, icAttOut{Source: u(r.srcMin), Target: u(r.target), SigningRoot: root(r.known, r.root)})
		if r.srcMax != r.srcMin {
			o.Attestations = append(o.Attestations, icAttOut{Source: u(r.srcMax), Target: u(r.target)})
		}
	}
	if s.hasSourceFloor && minSrc < s.sourceFloor {
		// The importer's source watermark will be the lowest source here;
		// this entry makes it refuse, by surround, every lower source with a
		// target above the target watermark, as this database does.
		o.Attestations = append(o.Attestations, icAttOut{Source: u(s.sourceFloor), Target: u(s.atts[0].target)})
	}
	return o
}
