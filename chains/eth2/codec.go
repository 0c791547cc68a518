package eth2

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/OffchainLabs/go-bitfield"
)

// codec walks one JSON object field by field. Each container is described once, as a function
// of a codec (schema.go); the decoder fills the Go value from parsed JSON and the encoder writes
// the Go value as canonical JSON, so the two directions cannot drift apart.
type codec interface {
	// decoding reports the direction: true when filling Go values from JSON.
	decoding() bool
	// failed reports whether decoding has already failed (the encoder never fails).
	failed() bool

	// uint64 is an unsigned integer, a decimal string in JSON.
	uint64(name string, v *uint64)
	// fixed is a byte array of exactly len(v) bytes, 0x-hex in JSON.
	fixed(name string, v []byte)
	// bytesN is a byte slice of exactly n bytes, 0x-hex in JSON.
	bytesN(name string, v *[]byte, n int)
	// bitlist is an SSZ bitlist of at most maxBits bits, the 0x-hex of its serialization.
	bitlist(name string, v *bitfield.Bitlist, maxBits uint64)
	// unixTime is a timestamp in seconds, a decimal string in JSON.
	unixTime(name string, v *time.Time)
	// word is a string that must be one of allowed.
	word(name string, v *string, allowed []string)
	// object is a nested object, described by fn.
	object(name string, fn func(codec))
	// objects is an array of at most max objects: length is the encoder's count, resize
	// makes room for n decoded elements, and fn describes element i.
	objects(name string, max, length int, resize func(n int), fn func(i int, c codec))
	// uint64s is an array of at most max decimal strings.
	uint64s(name string, max int, v *[]uint64)
	// fixedList is an array of exactly count hex strings of size bytes each.
	fixedList(name string, count, size int, v *[][]byte)
	// forbid refuses the field name if the JSON has it: why says what to do instead.
	forbid(name, why string)
}

// sub returns *p for a codec to describe, allocating it when decoding. When encoding a value
// built by hand with a nil pointer, it describes a zero value without touching the caller's.
func sub[T any](c codec, p **T) *T {
	if *p == nil {
		if !c.decoding() {
			return new(T)
		}
		*p = new(T)
	}
	return *p
}

// listOf describes a list of pointers to containers, at most max long.
func listOf[T any](c codec, name string, max int, v *[]*T, fn func(codec, *T)) {
	c.objects(name, max, len(*v),
		func(n int) { *v = make([]*T, n) },
		func(i int, c codec) { fn(c, sub(c, &(*v)[i])) })
}

// fieldError is a decoding failure at a dotted path such as "beacon_block.block.slot".
type fieldError struct {
	path   string
	reason string
}

func (e *fieldError) Error() string {
	if e.path == "" {
		return e.reason
	}
	return e.path + ": " + e.reason
}

// decoder fills Go values from one parsed JSON object. It stops at the first error, which it
// stores in *err for the caller; later calls do nothing.
type decoder struct {
	path string
	obj  *jsonValue
	used map[string]bool
	err  **fieldError
}

// newDecoder walks obj (already checked to be an object) found at path.
func newDecoder(path string, obj *jsonValue, err **fieldError) *decoder {
	return &decoder{path: path, obj: obj, used: map[string]bool{}, err: err}
}

func (d *decoder) decoding() bool { return true }
func (d *decoder) failed() bool   { return *d.err != nil }

// at is the path of field name in this object.
func (d *decoder) at(name string) string {
	if d.path == "" {
		return name
	}
	return d.path + "." + name
}

// fail records the first error, at field name ("" for the object itself).
func (d *decoder) fail(name, format string, args ...any) {
	if *d.err != nil {
		return
	}
	path := d.path
	if name != "" {
		path = d.at(clip(name))
	}
	*d.err = &fieldError{path: path, reason: fmt.Sprintf(format, args...)}
}

// take returns the required member name if it has kind want; otherwise it records why not.
func (d *decoder) take(name string, want jsonKind) *jsonValue {
	if d.failed() {
		return nil
	}
	v, ok := d.obj.members[name]
	if !ok {
		if other := d.lookalike(name); other != "" {
			d.fail(name, "missing (there is %q: this API spells it %q)", clip(other), name)
			return nil
		}
		d.fail(name, "missing")
		return nil
	}
	d.used[name] = true
	if v.kind != want {
		d.fail(name, "must be %s, not %s", want, v.kind)
		return nil
	}
	return v
}

// lookalike returns a key of the object that differs from name only in case or underscores
// (camelCase for snake_case, as some of Web3Signer's own examples have it), or "".
func (d *decoder) lookalike(name string) string {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	for _, k := range d.obj.keys {
		if norm(k) == norm(name) {
			return k
		}
	}
	return ""
}

// has reports whether the object has member name (for optional fields).
func (d *decoder) has(name string) bool {
	_, ok := d.obj.members[name]
	return ok
}

// finish refuses the members nothing asked for: unknown, misspelt or wrongly cased keys.
func (d *decoder) finish() {
	for _, k := range d.obj.keys {
		if !d.used[k] {
			d.fail(k, "unknown field")
			return
		}
	}
}

func (d *decoder) uint64(name string, v *uint64) {
	if s := d.take(name, kindString); s != nil {
		n, err := parseUint64(s.text)
		if err != nil {
			d.fail(name, "%v", err)
			return
		}
		*v = n
	}
}

func (d *decoder) fixed(name string, v []byte) {
	if s := d.take(name, kindString); s != nil {
		b, err := parseHex(s.text, len(v))
		if err != nil {
			d.fail(name, "%v", err)
			return
		}
		copy(v, b)
	}
}

func (d *decoder) bytesN(name string, v *[]byte, n int) {
	*v = make([]byte, n)
	d.fixed(name, *v)
}

func (d *decoder) bitlist(name string, v *bitfield.Bitlist, maxBits uint64) {
	if s := d.take(name, kindString); s != nil {
		b, err := parseBitlist(s.text, maxBits)
		if err != nil {
			d.fail(name, "%v", err)
			return
		}
		*v = b
	}
}

func (d *decoder) unixTime(name string, v *time.Time) {
	var secs uint64
	d.uint64(name, &secs)
	if d.failed() {
		return
	}
	// time.Time holds seconds since year 1 in an int64, so the largest Unix times do not
	// survive the round trip go-eth2-client's hashing makes through Time.Unix. No real
	// registration is anywhere near that (it is billions of years away).
	t := time.Unix(int64(secs), 0).UTC()
	if secs > math.MaxInt64 || uint64(t.Unix()) != secs {
		d.fail(name, "%d is beyond the largest timestamp this signer can represent", secs)
		return
	}
	*v = t
}

func (d *decoder) word(name string, v *string, allowed []string) {
	if s := d.take(name, kindString); s != nil {
		if !slices.Contains(allowed, s.text) {
			d.fail(name, "%q is not one of %s", clip(s.text), strings.Join(allowed, ", "))
			return
		}
		*v = s.text
	}
}

func (d *decoder) object(name string, fn func(codec)) {
	if o := d.take(name, kindObject); o != nil {
		child := newDecoder(d.at(name), o, d.err)
		fn(child)
		child.finish()
	}
}

func (d *decoder) objects(name string, max, _ int, resize func(int), fn func(int, codec)) {
	a := d.take(name, kindArray)
	if a == nil {
		return
	}
	if len(a.items) > max {
		d.fail(name, "has %d elements, more than the limit of %d", len(a.items), max)
		return
	}
	resize(len(a.items))
	for i, item := range a.items {
		path := fmt.Sprintf("%s[%d]", d.at(name), i)
		if item.kind != kindObject {
			*d.err = &fieldError{path: path, reason: fmt.Sprintf("must be an object, not %s", item.kind)}
			return
		}
		child := newDecoder(path, item, d.err)
		fn(i, child)
		child.finish()
		if d.failed() {
			return
		}
	}
}

// stringArray reads an array of strings of at most max (and at least min) elements.
func (d *decoder) stringArray(name string, min, max int) []string {
	a := d.take(name, kindArray)
	if a == nil {
		return nil
	}
	if len(a.items) < min || len(a.items) > max {
		if min == max {
			d.fail(name, "has %d elements, not %d", len(a.items), min)
		} else {
			d.fail(name, "has %d elements, more than the limit of %d", len(a.items), max)
		}
		return nil
	}
	out := make([]string, len(a.items))
	for i, item := range a.items {
		if item.kind != kindString {
			d.fail(fmt.Sprintf("%s[%d]", name, i), "must be a string, not %s", item.kind)
			return nil
		}
		out[i] = item.text
	}
	return out
}

func (d *decoder) uint64s(name string, max int, v *[]uint64) {
	ss := d.stringArray(name, 0, max)
	if d.failed() {
		return
	}
	*v = make([]uint64, len(ss))
	for i, s := range ss {
		n, err := parseUint64(s)
		if err != nil {
			d.fail(fmt.Sprintf("%s[%d]", name, i), "%v", err)
			return
		}
		(*v)[i] = n
	}
}

func (d *decoder) fixedList(name string, count, size int, v *[][]byte) {
	ss := d.stringArray(name, count, count)
	if d.failed() {
		return
	}
	*v = make([][]byte, len(ss))
	for i, s := range ss {
		b, err := parseHex(s, size)
		if err != nil {
			d.fail(fmt.Sprintf("%s[%d]", name, i), "%v", err)
			return
		}
		(*v)[i] = b
	}
}

func (d *decoder) forbid(name, why string) {
	if _, ok := d.obj.members[name]; ok {
		d.used[name] = true
		d.fail(name, "not allowed here: %s", why)
	}
}

// parseUint64 reads the beacon API's integer form: a decimal string with no sign, space or
// leading zero, at most 2^64-1.
func parseUint64(s string) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("must be a decimal string such as \"1\", not an empty string")
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal string of digits", clip(s))
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%q has a leading zero", clip(s))
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q overflows uint64", clip(s))
	}
	return n, nil
}

// parseHex reads 0x-prefixed hex of exactly size bytes.
func parseHex(s string, size int) ([]byte, error) {
	b, err := parseHexAny(s)
	if err != nil {
		return nil, err
	}
	if len(b) != size {
		return nil, fmt.Errorf("has %d bytes, want %d (%d hex digits after 0x)", len(b), size, 2*size)
	}
	return b, nil
}

// parseHexAny reads 0x-prefixed hex of any length.
func parseHexAny(s string) ([]byte, error) {
	digits, ok := strings.CutPrefix(s, "0x")
	if !ok {
		return nil, fmt.Errorf("must be hex starting with 0x")
	}
	b, err := hex.DecodeString(digits)
	if err != nil {
		return nil, fmt.Errorf("is not valid hex: %v", err)
	}
	return b, nil
}

// parseBitlist reads the hex of an SSZ bitlist: its last byte holds the delimiter bit that
// marks the length, so it cannot be empty or end in a zero byte, and the length must not pass
// the list's limit.
func parseBitlist(s string, maxBits uint64) (bitfield.Bitlist, error) {
	b, err := parseHexAny(s)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[len(b)-1] == 0 {
		return nil, fmt.Errorf("is not an SSZ bitlist: its last byte must hold the length bit")
	}
	if uint64(len(b)) > maxBits/8+1 {
		return nil, fmt.Errorf("has %d bytes, more than a bitlist of at most %d bits needs", len(b), maxBits)
	}
	n := uint64(len(b)-1)*8 + uint64(bits.Len8(b[len(b)-1])) - 1
	if n > maxBits {
		return nil, fmt.Errorf("has %d bits, more than the limit of %d", n, maxBits)
	}
	return bitfield.Bitlist(b), nil
}

// encoder writes one JSON object in the order fields are described.
type encoder struct {
	buf   *bytes.Buffer
	first bool
}

// encodeObject writes the object fn describes to buf.
func encodeObject(buf *bytes.Buffer, fn func(codec)) {
	buf.WriteByte('{')
	fn(&encoder{buf: buf, first: true})
	buf.WriteByte('}')
}

func (e *encoder) decoding() bool { return false }
func (e *encoder) failed() bool   { return false }

// key writes the separator and the member's key. Keys and every string value this package
// writes are plain ASCII with nothing to escape.
func (e *encoder) key(name string) {
	if !e.first {
		e.buf.WriteByte(',')
	}
	e.first = false
	e.str(name)
	e.buf.WriteByte(':')
}

func (e *encoder) str(s string) {
	e.buf.WriteByte('"')
	e.buf.WriteString(s)
	e.buf.WriteByte('"')
}

func (e *encoder) hex(b []byte) {
	e.buf.WriteString(`"0x`)
	e.buf.WriteString(hex.EncodeToString(b))
	e.buf.WriteByte('"')
}

func (e *encoder) uint64(name string, v *uint64) {
	e.key(name)
	e.str(strconv.FormatUint(*v, 10))
}

func (e *encoder) fixed(name string, v []byte) {
	e.key(name)
	e.hex(v)
}

func (e *encoder) bytesN(name string, v *[]byte, n int) {
	e.key(name)
	// A hand-built value of the wrong length is written as a zero value of the right one
	// rather than as something ParseRequest would refuse.
	if len(*v) != n {
		e.hex(make([]byte, n))
		return
	}
	e.hex(*v)
}

func (e *encoder) bitlist(name string, v *bitfield.Bitlist, _ uint64) {
	e.key(name)
	// A hand-built empty bitlist is written as the empty list (just the length bit) rather
	// than as "0x", which is not a bitlist.
	if len(*v) == 0 {
		e.hex([]byte{1})
		return
	}
	e.hex(*v)
}

func (e *encoder) unixTime(name string, v *time.Time) {
	e.key(name)
	e.str(strconv.FormatUint(uint64(v.Unix()), 10))
}

func (e *encoder) word(name string, v *string, _ []string) {
	e.key(name)
	// Parsed words come from fixed lists of plain names; a hand-built one may hold anything,
	// so it is escaped rather than trusted.
	b, _ := json.Marshal(*v)
	e.buf.Write(b)
}

func (e *encoder) object(name string, fn func(codec)) {
	e.key(name)
	encodeObject(e.buf, fn)
}

func (e *encoder) objects(name string, _, length int, _ func(int), fn func(int, codec)) {
	e.key(name)
	e.buf.WriteByte('[')
	for i := range length {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		encodeObject(e.buf, func(c codec) { fn(i, c) })
	}
	e.buf.WriteByte(']')
}

func (e *encoder) uint64s(name string, _ int, v *[]uint64) {
	e.key(name)
	e.buf.WriteByte('[')
	for i, n := range *v {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		e.str(strconv.FormatUint(n, 10))
	}
	e.buf.WriteByte(']')
}

func (e *encoder) fixedList(name string, _, _ int, v *[][]byte) {
	e.key(name)
	e.buf.WriteByte('[')
	for i, b := range *v {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		e.hex(b)
	}
	e.buf.WriteByte(']')
}

func (e *encoder) forbid(string, string) {}

// clip shortens client-supplied text (a value or a key) quoted in an error, so that the error,
// and the log line it ends up in, stays short whatever the body holds.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
