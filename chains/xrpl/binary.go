package xrpl

import (
	"bytes"

	"github.com/mpcsigner/mpcsigner/chains"
)

// Type codes of the binary format (rippled include/xrpl/protocol/SField.h, the TYPES of
// definitions.json).
const (
	typeUInt16       = 1
	typeUInt32       = 2
	typeUInt64       = 3
	typeHash128      = 4
	typeHash256      = 5
	typeAmount       = 6
	typeBlob         = 7
	typeAccountID    = 8
	typeObject       = 14
	typeArray        = 15
	typeUInt8        = 16
	typeHash160      = 17
	typePathSet      = 18
	typeVector256    = 19
	typeUInt96       = 20
	typeHash192      = 21
	typeUInt384      = 22
	typeUInt512      = 23
	typeIssue        = 24
	typeXChainBridge = 25
	typeCurrency     = 26
)

// fixedSizes are the types whose values have a fixed length in bytes.
var fixedSizes = map[int]int{
	typeUInt16: 2, typeUInt32: 4, typeUInt64: 8, typeHash128: 16, typeHash256: 32,
	typeUInt8: 1, typeHash160: 20, typeUInt96: 12, typeHash192: 24, typeUInt384: 48,
	typeUInt512: 64, typeCurrency: 20,
}

// fieldID is a field's type code and field code; canonical order sorts by type, then field.
type fieldID struct{ typ, nth int }

func (a fieldID) before(b fieldID) bool {
	return a.typ < b.typ || (a.typ == b.typ && a.nth < b.nth)
}

// The fields Sign looks for or refuses (definitions.json FIELDS).
var (
	fieldTransactionType = fieldID{typeUInt16, 2}
	fieldSigningPubKey   = fieldID{typeBlob, 3}
	fieldTxnSignature    = fieldID{typeBlob, 4}
	fieldAccount         = fieldID{typeAccountID, 1}
	objectEnd            = fieldID{typeObject, 1}
	arrayEnd             = fieldID{typeArray, 1}
)

// nonSigningFields are serialized in a transaction but left out of its signing data
// (isSigningField false in definitions.json). Signing a blob that holds one would sign other
// bytes than nodes check, so they are refused wherever they appear.
var nonSigningFields = map[fieldID]string{
	fieldTxnSignature: "TxnSignature (the transaction is already signed)",
	{typeBlob, 6}:     "Signature",
	{typeBlob, 18}:    "MasterSignature",
	{typeArray, 3}:    "Signers (multi-signing is not supported)",
	{typeArray, 31}:   "BatchSigners",
}

// maxDepth is rippled's limit on nested objects (STObject: "Maximum nesting depth").
const maxDepth = 10

// Path step flags of a PathSet (rippled STPathElement).
const (
	pathEnd      = 0x00
	pathBoundary = 0xff
	stepAccount  = 0x01
	stepCurrency = 0x10
	stepIssuer   = 0x20
)

// topField is a field of the transaction's top level: its id, where its header starts, and
// its value (without the length prefix of variable-length fields).
type topField struct {
	id    fieldID
	start int
	value []byte
}

// parser walks the binary format. It never guesses: anything it cannot frame exactly is an
// error that wraps chains.ErrInvalid.
type parser struct {
	b   []byte
	pos int
}

// parseTransaction walks a whole serialized transaction and returns its top-level fields.
func parseTransaction(b []byte) ([]topField, error) {
	p := &parser{b: b}
	var fields []topField
	err := p.object(0, false, func(id fieldID, start int, value []byte) {
		fields = append(fields, topField{id, start, value})
	})
	if err != nil {
		return nil, err
	}
	return fields, nil
}

func (p *parser) fail(format string, args ...any) error {
	return chains.Invalid("xrpl: at byte %d: "+format, append([]any{p.pos}, args...)...)
}

// take returns the next n bytes.
func (p *parser) take(n int, what string) ([]byte, error) {
	if n > len(p.b)-p.pos {
		return nil, p.fail("%s needs %d bytes, %d left", what, n, len(p.b)-p.pos)
	}
	v := p.b[p.pos : p.pos+n]
	p.pos += n
	return v, nil
}

func (p *parser) byte1(what string) (int, error) {
	v, err := p.take(1, what)
	if err != nil {
		return 0, err
	}
	return int(v[0]), nil
}

// fieldID reads a field header as rippled's SerialIter::getFieldID does: type and field
// codes below 16 share the first byte; larger ones follow it, and must be at least 16, so
// that every field has exactly one encoding.
func (p *parser) fieldID() (fieldID, error) {
	b0, err := p.byte1("field header")
	if err != nil {
		return fieldID{}, err
	}
	id := fieldID{typ: b0 >> 4, nth: b0 & 0x0f}
	if id.typ == 0 {
		if id.typ, err = p.byte1("field type code"); err != nil {
			return fieldID{}, err
		}
		if id.typ < 16 {
			return fieldID{}, p.fail("type code %d written in the long form", id.typ)
		}
	}
	if id.nth == 0 {
		if id.nth, err = p.byte1("field code"); err != nil {
			return fieldID{}, err
		}
		if id.nth < 16 {
			return fieldID{}, p.fail("field code %d written in the long form", id.nth)
		}
	}
	return id, nil
}

// vl reads a variable-length value: a 1-, 2- or 3-byte length (rippled
// Serializer::decodeVLLength), then that many bytes.
func (p *parser) vl(what string) ([]byte, error) {
	b1, err := p.byte1(what + " length")
	if err != nil {
		return nil, err
	}
	n := b1
	switch {
	case b1 <= 192:
	case b1 <= 240:
		b2, err := p.byte1(what + " length")
		if err != nil {
			return nil, err
		}
		n = 193 + (b1-193)*256 + b2
	case b1 <= 254:
		rest, err := p.take(2, what+" length")
		if err != nil {
			return nil, err
		}
		n = 12481 + (b1-241)*65536 + int(rest[0])*256 + int(rest[1])
	default:
		return nil, p.fail("%s has an invalid length prefix 0xff", what)
	}
	return p.take(n, what)
}

// object reads the fields of an object: to the end of the input at the top level, or to the
// object end marker when inner. It checks canonical order and refuses non-signing fields;
// each top-level field is reported to visit.
func (p *parser) object(depth int, inner bool, visit func(fieldID, int, []byte)) error {
	var prev fieldID
	for p.pos < len(p.b) {
		start := p.pos
		id, err := p.fieldID()
		if err != nil {
			return err
		}
		switch {
		case id == objectEnd && inner:
			return nil
		case id == objectEnd:
			return p.fail("object end marker outside an object")
		case id == arrayEnd:
			return p.fail("array end marker inside an object")
		case nonSigningFields[id] != "":
			return p.fail("field %s is not part of the signing data, so it cannot be signed as given", nonSigningFields[id])
		case prev != (fieldID{}) && !prev.before(id):
			return p.fail("field (type %d, field %d) after (type %d, field %d): fields must be unique and in canonical order", id.typ, id.nth, prev.typ, prev.nth)
		}
		prev = id
		value, err := p.value(id, depth)
		if err != nil {
			return err
		}
		if visit != nil {
			visit(id, start, value)
		}
	}
	if inner {
		return p.fail("object has no end marker")
	}
	return nil
}

// array reads the elements of an array, each an object field, to the array end marker.
func (p *parser) array(depth int) error {
	for p.pos < len(p.b) {
		id, err := p.fieldID()
		if err != nil {
			return err
		}
		switch {
		case id == arrayEnd:
			return nil
		case id.typ != typeObject || id == objectEnd:
			return p.fail("array element (type %d, field %d) is not an object", id.typ, id.nth)
		}
		if err := p.nested(depth, func() error { return p.object(depth+1, true, nil) }); err != nil {
			return err
		}
	}
	return p.fail("array has no end marker")
}

// nested runs read one level deeper, refusing to go past maxDepth.
func (p *parser) nested(depth int, read func() error) error {
	if depth+1 > maxDepth {
		return p.fail("nesting deeper than %d levels", maxDepth)
	}
	return read()
}

// value reads the value of a field of id's type and returns its bytes.
func (p *parser) value(id fieldID, depth int) ([]byte, error) {
	start := p.pos
	if n, ok := fixedSizes[id.typ]; ok {
		return p.take(n, "value")
	}
	var err error
	switch id.typ {
	case typeBlob:
		return p.vl("blob")
	case typeAccountID:
		v, err := p.vl("account id")
		if err == nil && len(v) != 20 {
			return nil, p.fail("account id of %d bytes, want 20", len(v))
		}
		return v, err
	case typeVector256:
		v, err := p.vl("vector256")
		if err == nil && len(v)%32 != 0 {
			return nil, p.fail("vector256 of %d bytes, not a multiple of 32", len(v))
		}
		return v, err
	case typeAmount:
		err = p.amount()
	case typeIssue:
		err = p.issue()
	case typePathSet:
		err = p.pathSet()
	case typeObject:
		err = p.nested(depth, func() error { return p.object(depth+1, true, nil) })
	case typeArray:
		err = p.nested(depth, func() error { return p.array(depth + 1) })
	case typeXChainBridge:
		return nil, p.fail("XChainBridge fields are not supported")
	default:
		return nil, p.fail("unknown type code %d", id.typ)
	}
	if err != nil {
		return nil, err
	}
	return p.b[start:p.pos], nil
}

// amount reads an Amount: XRP in 8 bytes, an MPT amount in 33, a token amount in 48, told
// apart by the first byte's top bits as rippled's STAmount does.
func (p *parser) amount() error {
	if p.pos >= len(p.b) {
		return p.fail("amount needs at least 8 bytes, 0 left")
	}
	n := 8 // XRP
	switch first := p.b[p.pos]; {
	case first&0x80 != 0:
		n = 48 // issued token: value, currency, issuer
	case first&0x20 != 0:
		n = 33 // MPT: header, value, issuance id
	}
	_, err := p.take(n, "amount")
	return err
}

// issue reads an Issue: 20 zero bytes for XRP, currency and issuer for a token. The MPT
// forms (an issuer followed by the noAccount or xrpAccount marker) changed with rippled
// amendments and are refused rather than guessed at.
func (p *parser) issue() error {
	currency, err := p.take(20, "issue currency")
	if err != nil {
		return err
	}
	if bytes.Equal(currency, make([]byte, 20)) {
		return nil
	}
	issuer, err := p.take(20, "issue issuer")
	if err != nil {
		return err
	}
	noAccount := append(make([]byte, 19), 1)
	if bytes.Equal(issuer, noAccount) || bytes.Equal(issuer, make([]byte, 20)) {
		return p.fail("MPT issues are not supported")
	}
	return nil
}

// pathSet reads a PathSet as rippled's STPathSet does: steps with a flag byte saying which of
// account, currency and issuer follow, paths separated by 0xff, the set ended by 0x00; no
// empty path and no unknown flag.
func (p *parser) pathSet() error {
	steps := 0
	for {
		flags, err := p.byte1("path step")
		if err != nil {
			return err
		}
		if flags == pathEnd || flags == pathBoundary {
			if steps == 0 {
				return p.fail("empty path in a path set")
			}
			if flags == pathEnd {
				return nil
			}
			steps = 0
			continue
		}
		if flags&^(stepAccount|stepCurrency|stepIssuer) != 0 {
			return p.fail("path step with unknown flags %#02x", flags)
		}
		for _, bit := range []int{stepAccount, stepCurrency, stepIssuer} {
			if flags&bit != 0 {
				if _, err := p.take(20, "path step"); err != nil {
					return err
				}
			}
		}
		steps++
	}
}
