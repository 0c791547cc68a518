package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// The plaintexts a Hosted store seals, and how they are bound to their place in the log.
//
// A record (one committed group of batches) is
//
//	version u8 (1) | count u32 | count × op
//	op = kind u8 (1 put, 2 delete) | keylen u16 | key | (put only) vallen u32 | value
//
// and a snapshot (the whole store) is
//
//	version u8 (1) | count u32 | count × (keylen u16 | key | vallen u32 | value)
//
// with keys in strictly ascending order. Both are sealed with seal.AEAD under the data key.
// Record n is sealed with AAD recordLabel | n | head(n-1), and the chain head after it is
// SHA-256(chainLabel | n | head(n-1) | sealed record n); head(0) is 32 zero bytes. A snapshot at
// n is stored as head(n) | sealed, sealed with AAD snapshotLabel | n | head(n), so the chain
// continues across a compaction with the same heads as without it.
//
// The decoders read only what this enclave sealed (a body that fails to open never reaches
// them), but they are strict all the same: they are the last line if a bug ever writes
// something else.

const (
	codecVersion  = 1
	opPut         = 1
	opDelete      = 2
	recordLabel   = "mpcsigner/v1 hosted store record"
	snapshotLabel = "mpcsigner/v1 hosted store snapshot"
	chainLabel    = "mpcsigner/v1 hosted store chain"
)

// Sizes of the codec's fixed parts.
const (
	codecHeaderLen = 1 + 4
	putOverhead    = 1 + 2 + 4 // kind, key length, value length
	deleteOverhead = 1 + 2
	entryOverhead  = 2 + 4 // a snapshot entry's key and value lengths
)

// errCodec marks a record or snapshot plaintext that does not decode.
var errCodec = errors.New("sealed plaintext does not decode")

func codecErr(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, errCodec)...)
}

// encodedLen is the size of ops' record encoding.
func encodedLen(ops []op) int {
	n := codecHeaderLen
	for _, o := range ops {
		n += opLen(o)
	}
	return n
}

func opLen(o op) int {
	if o.delete {
		return deleteOverhead + len(o.key)
	}
	return putOverhead + len(o.key) + len(o.value)
}

// encodeRecord encodes ops.
func encodeRecord(ops []op) []byte {
	b := make([]byte, 0, encodedLen(ops))
	b = append(b, codecVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ops)))
	for _, o := range ops {
		if o.delete {
			b = append(b, opDelete)
			b = appendKey(b, o.key)
			continue
		}
		b = append(b, opPut)
		b = appendKey(b, o.key)
		b = binary.BigEndian.AppendUint32(b, uint32(len(o.value)))
		b = append(b, o.value...)
	}
	return b
}

func appendKey(b []byte, key string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(key)))
	return append(b, key...)
}

// codecReader reads the codec's fields, failing on the first short read.
type codecReader struct {
	b   []byte
	err error
}

func (r *codecReader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = codecErr("%s: need %d bytes, have %d", what, n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *codecReader) u8(what string) byte {
	if v := r.take(1, what); v != nil {
		return v[0]
	}
	return 0
}

func (r *codecReader) u32(what string) uint32 {
	if v := r.take(4, what); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *codecReader) key() string {
	v := r.take(2, "key length")
	if v == nil {
		return ""
	}
	k := string(r.take(int(binary.BigEndian.Uint16(v)), "key"))
	if r.err == nil {
		if err := validateKey(k); err != nil {
			r.err = codecErr("%v", err)
		}
	}
	return k
}

func (r *codecReader) value(key string) []byte {
	n := r.u32("value length")
	if r.err == nil && n > MaxValueLen {
		r.err = codecErr("value of %q is %d bytes, over %d", key, n, MaxValueLen)
		return nil
	}
	return r.take(int(n), "value")
}

// header reads the version and count, refusing a count the remaining bytes cannot hold (so
// the count is safe to size an allocation with once r.err is nil).
func (r *codecReader) header(minEach int) int {
	if v := r.u8("version"); r.err == nil && v != codecVersion {
		r.err = codecErr("version %d, want %d", v, codecVersion)
	}
	n := r.u32("count")
	if r.err == nil && uint64(n)*uint64(minEach) > uint64(len(r.b)) {
		r.err = codecErr("%d entries cannot fit in %d bytes", n, len(r.b))
	}
	return int(n)
}

// end refuses trailing bytes.
func (r *codecReader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = codecErr("%d bytes after the last entry", len(r.b))
	}
	return r.err
}

// decodeRecord decodes a record's ops; values alias b.
func decodeRecord(b []byte) ([]op, error) {
	if len(b) > maxRecordPlain {
		return nil, codecErr("record of %d bytes, over %d", len(b), maxRecordPlain)
	}
	r := &codecReader{b: b}
	n := r.header(deleteOverhead + 1)
	if r.err != nil {
		return nil, r.err
	}
	ops := make([]op, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		switch kind := r.u8("op kind"); {
		case r.err != nil:
		case kind == opDelete:
			ops = append(ops, op{key: r.key(), delete: true})
		case kind == opPut:
			k := r.key()
			ops = append(ops, op{key: k, value: r.value(k)})
		default:
			r.err = codecErr("op %d has kind %d, want 1 (put) or 2 (delete)", i, kind)
		}
	}
	return ops, r.end()
}

// encodeSnapshot encodes data in ascending key order.
func encodeSnapshot(data map[string][]byte) []byte {
	keys := make([]string, 0, len(data))
	size := codecHeaderLen
	for k, v := range data {
		keys = append(keys, k)
		size += entryOverhead + len(k) + len(v)
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	b = append(b, codecVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		b = appendKey(b, k)
		b = binary.BigEndian.AppendUint32(b, uint32(len(data[k])))
		b = append(b, data[k]...)
	}
	return b
}

// decodeSnapshot decodes a snapshot into a new map of copied values.
func decodeSnapshot(b []byte) (map[string][]byte, error) {
	if len(b) > maxSnapshotPlain {
		return nil, codecErr("snapshot of %d bytes, over %d", len(b), maxSnapshotPlain)
	}
	r := &codecReader{b: b}
	n := r.header(entryOverhead + 1)
	if r.err != nil {
		return nil, r.err
	}
	data := make(map[string][]byte, n)
	prev := ""
	for i := 0; i < n && r.err == nil; i++ {
		k := r.key()
		v := r.value(k)
		if r.err == nil && i > 0 && k <= prev {
			r.err = codecErr("snapshot key %q follows %q: keys must be strictly ascending", k, prev)
		}
		data[k], prev = bytes.Clone(v), k
		if data[k] == nil {
			data[k] = []byte{}
		}
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return data, nil
}

// recordAAD binds record seq to the chain head before it.
func recordAAD(seq uint64, prev [32]byte) []byte {
	return boundAAD(recordLabel, seq, prev)
}

// snapshotAAD binds a snapshot at seq to the chain head at seq.
func snapshotAAD(seq uint64, head [32]byte) []byte {
	return boundAAD(snapshotLabel, seq, head)
}

func boundAAD(label string, seq uint64, head [32]byte) []byte {
	b := make([]byte, 0, len(label)+8+len(head))
	b = append(b, label...)
	b = binary.BigEndian.AppendUint64(b, seq)
	return append(b, head[:]...)
}

// nextHead is the chain head after sealed record seq, which followed prev.
func nextHead(seq uint64, prev [32]byte, sealed []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(chainLabel))
	h.Write(binary.BigEndian.AppendUint64(nil, seq))
	h.Write(prev[:])
	h.Write(sealed)
	return [32]byte(h.Sum(nil))
}
