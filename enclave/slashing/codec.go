package slashing

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Record names under the caller's prefix; see the package comment.
const (
	nameGenesis       = "genesis"
	nameHighWatermark = "high-watermark"
	nameValidators    = "v/"
	nameMeta          = "/meta"
	nameBlock         = "/b/"
	nameAttestation   = "/a/"

	// formatV1 is the first byte of every value.
	formatV1 = 1

	// maxPrefixLen keeps the longest record name (prefix + 2 + 96 + 3 + 16)
	// within store.MaxKeyLen.
	maxPrefixLen = 128
)

// Flag bits.
const (
	flagEnabled        = 1 << 0 // meta
	flagHasSourceFloor = 1 << 1 // meta
	flagRootKnown      = 1 << 0 // block, attestation
)

func (db *DB) validatorPrefix(pk Pubkey) string {
	return db.prefix + nameValidators + hex.EncodeToString(pk[:])
}

func (db *DB) metaName(pk Pubkey) string { return db.validatorPrefix(pk) + nameMeta }

func (db *DB) blockName(pk Pubkey, slot uint64) string {
	return fmt.Sprintf("%s%s%016x", db.validatorPrefix(pk), nameBlock, slot)
}

func (db *DB) attName(pk Pubkey, target uint64) string {
	return fmt.Sprintf("%s%s%016x", db.validatorPrefix(pk), nameAttestation, target)
}

func encodeGenesis(gvr [32]byte) []byte {
	return append([]byte{formatV1}, gvr[:]...)
}

func decodeGenesis(v []byte) ([32]byte, error) {
	var gvr [32]byte
	if len(v) != 33 || v[0] != formatV1 {
		return gvr, fmt.Errorf("genesis record of %d bytes is not format %d", len(v), formatV1)
	}
	copy(gvr[:], v[1:])
	return gvr, nil
}

func encodeHighWatermark(h HighWatermark) []byte {
	v := make([]byte, 17)
	v[0] = formatV1
	binary.BigEndian.PutUint64(v[1:], h.Slot)
	binary.BigEndian.PutUint64(v[9:], h.Epoch)
	return v
}

func decodeHighWatermark(v []byte) (HighWatermark, error) {
	if len(v) != 17 || v[0] != formatV1 {
		return HighWatermark{}, fmt.Errorf("high watermark record of %d bytes is not format %d", len(v), formatV1)
	}
	return HighWatermark{Slot: binary.BigEndian.Uint64(v[1:]), Epoch: binary.BigEndian.Uint64(v[9:])}, nil
}

func encodeMeta(v *vstate) []byte {
	b := make([]byte, 10)
	b[0] = formatV1
	if v.enabled {
		b[1] |= flagEnabled
	}
	if v.hasSourceFloor {
		b[1] |= flagHasSourceFloor
	}
	binary.BigEndian.PutUint64(b[2:], v.sourceFloor)
	return b
}

func decodeMeta(b []byte, v *vstate) error {
	if len(b) != 10 || b[0] != formatV1 || b[1]&^(flagEnabled|flagHasSourceFloor) != 0 {
		return fmt.Errorf("validator record of %d bytes is not format %d", len(b), formatV1)
	}
	v.enabled = b[1]&flagEnabled != 0
	v.hasSourceFloor = b[1]&flagHasSourceFloor != 0
	v.sourceFloor = binary.BigEndian.Uint64(b[2:])
	if !v.hasSourceFloor && v.sourceFloor != 0 {
		return fmt.Errorf("validator record has a source watermark value without its flag")
	}
	return nil
}

func encodeRoot(b []byte, known bool, root [32]byte) []byte {
	if !known {
		return append(b, 0)
	}
	b = append(b, flagRootKnown)
	return append(b, root[:]...)
}

func decodeRoot(b []byte) (known bool, root [32]byte, err error) {
	switch {
	case len(b) == 1 && b[0] == 0:
		return false, root, nil
	case len(b) == 33 && b[0] == flagRootKnown:
		copy(root[:], b[1:])
		return true, root, nil
	}
	return false, root, fmt.Errorf("signing root field of %d bytes is malformed", len(b))
}

func encodeBlock(r blockRec) []byte {
	return encodeRoot([]byte{formatV1}, r.known, r.root)
}

func decodeBlock(slot uint64, b []byte) (blockRec, error) {
	if len(b) < 1 || b[0] != formatV1 {
		return blockRec{}, fmt.Errorf("block record is not format %d", formatV1)
	}
	k, root, err := decodeRoot(b[1:])
	return blockRec{slot: slot, known: k, root: root}, err
}

func encodeAtt(r attRec) []byte {
	b := make([]byte, 17, 17+33)
	b[0] = formatV1
	binary.BigEndian.PutUint64(b[1:], r.srcMin)
	binary.BigEndian.PutUint64(b[9:], r.srcMax)
	return encodeRoot(b, r.known, r.root)
}

func decodeAtt(target uint64, b []byte) (attRec, error) {
	if len(b) < 17 || b[0] != formatV1 {
		return attRec{}, fmt.Errorf("attestation record is not format %d", formatV1)
	}
	r := attRec{target: target, srcMin: binary.BigEndian.Uint64(b[1:]), srcMax: binary.BigEndian.Uint64(b[9:])}
	var err error
	r.known, r.root, err = decodeRoot(b[17:])
	if err == nil && (r.srcMin > r.srcMax || (r.known && r.srcMin != r.srcMax)) {
		err = fmt.Errorf("attestation record has sources %d..%d with a known root", r.srcMin, r.srcMax)
	}
	return r, err
}

// recordKind is what a record name under the prefix denotes.
type recordKind int

const (
	kindGenesis recordKind = iota
	kindHighWatermark
	kindMeta
	kindBlock
	kindAtt
)

// parseName splits a record name (without the prefix) into its kind,
// validator and number, refusing anything this package does not write.
func parseName(name string) (kind recordKind, pk Pubkey, n uint64, err error) {
	switch name {
	case nameGenesis:
		return kindGenesis, pk, 0, nil
	case nameHighWatermark:
		return kindHighWatermark, pk, 0, nil
	}
	rest, ok := strings.CutPrefix(name, nameValidators)
	if !ok || len(rest) < 2*len(pk) {
		return 0, pk, 0, fmt.Errorf("unknown record name %q", name)
	}
	hexPK, rest := rest[:2*len(pk)], rest[2*len(pk):]
	if err := decodeLowerHex(pk[:], hexPK); err != nil {
		return 0, pk, 0, fmt.Errorf("record name %q: %v", name, err)
	}
	if rest == nameMeta {
		return kindMeta, pk, 0, nil
	}
	var num string
	switch {
	case strings.HasPrefix(rest, nameBlock):
		kind, num = kindBlock, rest[len(nameBlock):]
	case strings.HasPrefix(rest, nameAttestation):
		kind, num = kindAtt, rest[len(nameAttestation):]
	default:
		return 0, pk, 0, fmt.Errorf("unknown record name %q", name)
	}
	if len(num) != 16 || strings.ToLower(num) != num {
		return 0, pk, 0, fmt.Errorf("record name %q: malformed number", name)
	}
	n, err = strconv.ParseUint(num, 16, 64)
	if err != nil {
		return 0, pk, 0, fmt.Errorf("record name %q: %v", name, err)
	}
	return kind, pk, n, nil
}

func decodeLowerHex(dst []byte, s string) error {
	if strings.ToLower(s) != s || len(s) != 2*len(dst) {
		return fmt.Errorf("malformed hex %q", s)
	}
	_, err := hex.Decode(dst, []byte(s))
	return err
}
