package cosmos

import (
	"bytes"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/pbwire"
	"github.com/mpcsigner/mpcsigner/chains/internal/txtext"
)

// Field numbers of cosmos.tx.v1beta1.SignDoc and TxRaw (cosmos-sdk proto/cosmos/tx/v1beta1/tx.proto).
const (
	fieldBodyBytes     protowire.Number = 1 // SignDoc and TxRaw
	fieldAuthInfoBytes protowire.Number = 2 // SignDoc and TxRaw
	fieldChainID       protowire.Number = 3 // SignDoc
	fieldAccountNumber protowire.Number = 4 // SignDoc
	fieldSignatures    protowire.Number = 3 // TxRaw, repeated
)

// maxChainIDLen is CometBFT's limit on a chain id (types.MaxChainIDLen).
const maxChainIDLen = 50

// signDoc is a SIGN_MODE_DIRECT SignDoc.
type signDoc struct {
	bodyBytes     []byte
	authInfoBytes []byte
	chainID       string
	accountNumber uint64
}

// decodeRequest decodes the base64 text of a SignDoc and returns it with its bytes.
func decodeRequest(text string) (*signDoc, []byte, error) {
	raw, err := txtext.Base64("cosmos", "a SignDoc", text)
	if err != nil {
		return nil, nil, err
	}
	doc, err := decodeSignDoc(raw)
	if err != nil {
		return nil, nil, err
	}
	return doc, raw, nil
}

// decodeSignDoc decodes a SignDoc and insists on its canonical encoding. Nodes do not verify
// the bytes a client signed: they rebuild the SignDoc from the TxRaw, the chain id and the
// account number and verify against that encoding. A SignDoc in any other encoding
// (reordered fields, zero values written out) would yield a signature no node accepts.
func decodeSignDoc(b []byte) (*signDoc, error) {
	fields, err := pbwire.ReadFields("cosmos: SignDoc", b)
	if err != nil {
		return nil, err
	}
	var d signDoc
	seen := singular{}
	for _, f := range fields {
		if err := d.set(seen, f); err != nil {
			return nil, err
		}
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	if !bytes.Equal(d.encode(), b) {
		return nil, chains.Invalid("cosmos: SignDoc is not in its canonical encoding (fields out of order or zero values written), so nodes would verify other bytes")
	}
	return &d, nil
}

// set stores one SignDoc field.
func (d *signDoc) set(seen singular, f pbwire.Field) error {
	const what = "cosmos: SignDoc"
	switch f.Num {
	case fieldBodyBytes:
		d.bodyBytes = f.Bytes
		return seen.take(what, f, protowire.BytesType, false)
	case fieldAuthInfoBytes:
		d.authInfoBytes = f.Bytes
		return seen.take(what, f, protowire.BytesType, false)
	case fieldChainID:
		if err := seen.take(what, f, protowire.BytesType, false); err != nil {
			return err
		}
		id, err := text(what+" chain_id", f)
		d.chainID = id
		return err
	case fieldAccountNumber:
		d.accountNumber = f.Varint
		return seen.take(what, f, protowire.VarintType, false)
	default:
		return chains.Invalid("%s: unknown field %d", what, f.Num)
	}
}

// check refuses a SignDoc that no node would accept as signed.
func (d *signDoc) check() error {
	switch {
	case len(d.bodyBytes) == 0:
		return chains.Invalid("cosmos: SignDoc has no body_bytes")
	case len(d.authInfoBytes) == 0:
		return chains.Invalid("cosmos: SignDoc has no auth_info_bytes")
	case d.chainID == "":
		return chains.Invalid("cosmos: SignDoc has no chain_id")
	case len(d.chainID) > maxChainIDLen:
		return chains.Invalid("cosmos: SignDoc chain_id is %d bytes, more than CometBFT's %d", len(d.chainID), maxChainIDLen)
	}
	return nil
}

// encode is the canonical encoding: fields in number order, zero values left out (proto3).
func (d *signDoc) encode() []byte {
	b := appendBytesField(nil, fieldBodyBytes, d.bodyBytes)
	b = appendBytesField(b, fieldAuthInfoBytes, d.authInfoBytes)
	b = appendBytesField(b, fieldChainID, []byte(d.chainID))
	if d.accountNumber != 0 {
		b = protowire.AppendTag(b, fieldAccountNumber, protowire.VarintType)
		b = protowire.AppendVarint(b, d.accountNumber)
	}
	return b
}

// txRaw is the signed transaction nodes accept: the SignDoc's body and auth info and the one
// signature, in the canonical order ADR-027 requires of a TxRaw.
func (d *signDoc) txRaw(sig []byte) []byte {
	b := appendBytesField(nil, fieldBodyBytes, d.bodyBytes)
	b = appendBytesField(b, fieldAuthInfoBytes, d.authInfoBytes)
	return appendBytesField(b, fieldSignatures, sig)
}

// appendBytesField appends a length-delimited field, unless v is empty (proto3 leaves it out).
func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}
