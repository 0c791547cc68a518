package tron

import (
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/pbwire"
	"github.com/mpcsigner/mpcsigner/chains/internal/txtext"
)

// Field numbers of protocol.Transaction (java-tron protocol/src/main/protos/core/Tron.proto).
const (
	txRawData   protowire.Number = 1
	txSignature protowire.Number = 2 // repeated bytes
)

// The messages read, by field number (java-tron core/Tron.proto, google/protobuf/any.proto).
var (
	transactionSchema = schema{
		txRawData:   {"raw_data", message},
		txSignature: {"signature (the transaction is already signed)", unsupported},
		5:           {"ret (a result, which unsigned transactions do not carry)", unsupported},
	}
	rawSchema = schema{
		1:  {"ref_block_bytes", scalarBytes},
		3:  {"ref_block_num", scalarVarint},
		4:  {"ref_block_hash", scalarBytes},
		8:  {"expiration", scalarVarint},
		9:  {"auths", unsupported},
		10: {"data", scalarBytes},
		11: {"contract", repeatedMessage},
		12: {"scripts", scalarBytes},
		14: {"timestamp", scalarVarint},
		18: {"fee_limit", scalarVarint},
	}
	contractSchema = schema{
		1: {"type", scalarVarint},
		2: {"parameter", message},
		3: {"provider", scalarBytes},
		4: {"ContractName", scalarBytes},
		5: {"Permission_id (another permission's keys would sign)", unsupported},
	}
	anySchema = schema{
		1: {"type_url", scalarBytes},
		2: {"value", scalarBytes},
	}
)

const (
	rawContract      protowire.Number = 11
	contractType     protowire.Number = 1
	contractParam    protowire.Number = 2
	anyTypeURL       protowire.Number = 1
	anyValue         protowire.Number = 2
	ownerAddressSize                  = 21 // 0x41 || 20-byte account id
)

// unsignedTx is what Sign needs of a transaction: the raw_data bytes, which are hashed and
// signed as they are, and the owner of its one contract.
type unsignedTx struct {
	raw   []byte
	owner []byte
}

// decodeRequest decodes the hex text of an unsigned Transaction.
func decodeRequest(text string) (*unsignedTx, error) {
	b, err := txtext.Hex("tron", "a protobuf Transaction (without 0x)", text)
	if err != nil {
		return nil, err
	}
	return decodeTransaction(b)
}

// decodeTransaction decodes an unsigned Transaction: raw_data and nothing else.
func decodeTransaction(b []byte) (*unsignedTx, error) {
	fields, err := pbwire.ReadFields("tron: Transaction", b)
	if err != nil {
		return nil, err
	}
	if err := transactionSchema.check("tron: Transaction", fields); err != nil {
		return nil, err
	}
	if len(fields) != 1 {
		return nil, chains.Invalid("tron: Transaction has no raw_data")
	}
	raw := fields[0].Bytes
	owner, err := decodeRaw(raw)
	if err != nil {
		return nil, err
	}
	return &unsignedTx{raw: raw, owner: owner}, nil
}

// decodeRaw checks a Transaction.raw and returns the owner_address of its one contract.
func decodeRaw(raw []byte) ([]byte, error) {
	const what = "tron: raw_data"
	fields, err := pbwire.ReadFields(what, raw)
	if err != nil {
		return nil, err
	}
	if err := rawSchema.check(what, fields); err != nil {
		return nil, err
	}
	var contracts [][]byte
	for _, f := range fields {
		if f.Num == rawContract {
			contracts = append(contracts, f.Bytes)
		}
	}
	if len(contracts) != 1 {
		return nil, chains.Invalid("%s: %d contracts, want exactly one (java-tron refuses others)", what, len(contracts))
	}
	return contractOwner(contracts[0])
}

// contractOwner checks a Transaction.Contract and returns its owner_address.
func contractOwner(contract []byte) ([]byte, error) {
	const what = "tron: raw_data.contract"
	fields, err := pbwire.ReadFields(what, contract)
	if err != nil {
		return nil, err
	}
	if err := contractSchema.check(what, fields); err != nil {
		return nil, err
	}
	var typ uint64 // absent is 0, AccountCreateContract
	var param []byte
	for _, f := range fields {
		switch f.Num {
		case contractType:
			typ = f.Varint
		case contractParam:
			param = f.Bytes
		}
	}
	kind, ok := contractKinds[typ]
	if !ok {
		return nil, chains.Invalid("%s: contract type %d is not one whose owner_address this package knows", what, typ)
	}
	if param == nil {
		return nil, chains.Invalid("%s: no parameter", what)
	}
	value, err := unpackParameter(param, kind.name)
	if err != nil {
		return nil, err
	}
	return ownerAddress(value, kind)
}

// unpackParameter checks that the Any param holds a protocol.<name> and returns its value.
func unpackParameter(param []byte, name string) ([]byte, error) {
	const what = "tron: contract parameter"
	fields, err := pbwire.ReadFields(what, param)
	if err != nil {
		return nil, err
	}
	if err := anySchema.check(what, fields); err != nil {
		return nil, err
	}
	var typeURL, value []byte
	for _, f := range fields {
		switch f.Num {
		case anyTypeURL:
			typeURL = f.Bytes
		case anyValue:
			value = f.Bytes
		}
	}
	if want := typeURLPrefix + name; string(typeURL) != want {
		if !utf8.Valid(typeURL) {
			return nil, chains.Invalid("%s: type_url is not UTF-8", what)
		}
		return nil, chains.Invalid("%s: type_url %q does not match the contract type: want %q", what, typeURL, want)
	}
	return value, nil
}

// ownerAddress returns the owner_address field of a contract message. The rest of the
// message is only framed: it is signed as it is, and what it does is for policy to judge.
func ownerAddress(msg []byte, kind contractKind) ([]byte, error) {
	what := "tron: " + kind.name
	fields, err := pbwire.ReadFields(what, msg)
	if err != nil {
		return nil, err
	}
	var owner []byte
	for _, f := range fields {
		if f.Num != kind.owner {
			continue
		}
		if f.Type != protowire.BytesType || owner != nil {
			return nil, chains.Invalid("%s: owner_address (field %d) is malformed or appears twice", what, kind.owner)
		}
		owner = f.Bytes
	}
	if len(owner) != ownerAddressSize || owner[0] != addressPrefix {
		return nil, chains.Invalid("%s: owner_address is %x, want 21 bytes starting 0x41", what, owner)
	}
	return owner, nil
}

// encodeSigned is the Transaction with its raw_data and the one signature.
func encodeSigned(raw, sig []byte) []byte {
	b := protowire.AppendTag(nil, txRawData, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	b = protowire.AppendTag(b, txSignature, protowire.BytesType)
	return protowire.AppendBytes(b, sig)
}
