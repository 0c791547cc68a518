package aptos

import (
	"fmt"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/bcs"
)

const (
	// MaxTransactionBytes is Aptos's max_transaction_size_in_bytes for ordinary transactions
	// (64 KiB; only approved governance transactions may be larger, and this package does not
	// sign those).
	MaxTransactionBytes = 64 << 10

	// AddressSize is an account address's.
	AddressSize = 32

	// maxTypeTagNesting is Move's MAX_TYPE_TAG_NESTING: how many vector, struct and function
	// type tags may enclose one another when a node deserializes a transaction.
	maxTypeTagNesting = 8
	// abilityMask covers the four abilities: copy, drop, store, key.
	abilityMask = 0x0f
)

// PayloadKind is the kind of a transaction payload.
type PayloadKind int

const (
	PayloadScript PayloadKind = iota
	PayloadEntryFunction
	PayloadMultisig
	// PayloadV1 is TransactionPayload::Payload(TransactionPayloadInner::V1): an executable
	// (script, entry function or none) with extra configuration (a multisig address, a replay
	// protection nonce for orderless transactions).
	PayloadV1
)

// payloadKinds are TransactionPayload's variants by index; ModuleBundle (1) is deprecated and
// refused.
var payloadKinds = map[uint32]PayloadKind{0: PayloadScript, 2: PayloadEntryFunction, 3: PayloadMultisig, 4: PayloadV1}

func (k PayloadKind) String() string {
	return [...]string{"script", "entry function", "multisig", "v1 payload"}[k]
}

// RawTransaction is a decoded BCS RawTransaction.
type RawTransaction struct {
	Sender                  [AddressSize]byte
	SequenceNumber          uint64
	Payload                 Payload
	MaxGasAmount            uint64
	GasUnitPrice            uint64
	ExpirationTimestampSecs uint64
	ChainID                 uint8
}

// Payload is what a transaction runs.
type Payload struct {
	Kind PayloadKind
	// EntryFunction is the function the payload calls, when it names one: an entry function
	// payload, a multisig payload that carries one, a v1 payload that executes one.
	EntryFunction *EntryFunction
	// MultisigAddress is the multisig account a multisig or v1 payload acts for, if any.
	MultisigAddress *[AddressSize]byte
	// ReplayProtectionNonce is a v1 payload's nonce for orderless transactions, if any.
	ReplayProtectionNonce *uint64
}

// EntryFunction is a call of a Move entry function.
type EntryFunction struct {
	ModuleAddress [AddressSize]byte
	Module        string
	Function      string
	// Args are the BCS-encoded arguments, which only the function's signature can decode.
	Args [][]byte
}

// DecodeRawTransaction decodes a BCS RawTransaction strictly: it refuses unknown or
// deprecated variants, non-canonical BCS, identifiers Move does not allow, type tags nested
// deeper than Move allows, and trailing bytes. Every error wraps chains.ErrInvalid.
func DecodeRawTransaction(b []byte) (*RawTransaction, error) {
	if len(b) > MaxTransactionBytes {
		return nil, chains.Invalid("aptos: transaction is %d bytes, more than %d", len(b), MaxTransactionBytes)
	}
	r := bcs.NewReader("aptos", b)
	tx := &RawTransaction{}
	var err error
	if tx.Sender, err = r.Bytes32("sender"); err != nil {
		return nil, err
	}
	if tx.SequenceNumber, err = r.U64("sequence_number"); err != nil {
		return nil, err
	}
	if tx.Payload, err = payload(r); err != nil {
		return nil, err
	}
	if tx.MaxGasAmount, err = r.U64("max_gas_amount"); err != nil {
		return nil, err
	}
	if tx.GasUnitPrice, err = r.U64("gas_unit_price"); err != nil {
		return nil, err
	}
	if tx.ExpirationTimestampSecs, err = r.U64("expiration_timestamp_secs"); err != nil {
		return nil, err
	}
	if tx.ChainID, err = r.U8("chain_id"); err != nil {
		return nil, err
	}
	if err := r.End("the raw transaction"); err != nil {
		return nil, err
	}
	return tx, nil
}

func payload(r *bcs.Reader) (Payload, error) {
	v, err := r.Variant("payload")
	if err != nil {
		return Payload{}, err
	}
	kind, ok := payloadKinds[v]
	if !ok {
		return Payload{}, chains.Invalid("aptos: payload: variant %d is not script (0), entry function (2), multisig (3) or v1 payload (4)", v)
	}
	p := Payload{Kind: kind}
	switch kind {
	case PayloadScript:
		err = script(r, "payload.script")
	case PayloadEntryFunction:
		p.EntryFunction, err = entryFunction(r, "payload.entry_function")
	case PayloadMultisig:
		err = multisig(r, &p)
	case PayloadV1:
		err = payloadV1(r, &p)
	}
	return p, err
}

// multisig reads Multisig { multisig_address, transaction_payload: Option<EntryFunction> }.
func multisig(r *bcs.Reader, p *Payload) error {
	addr, err := r.Bytes32("payload.multisig.multisig_address")
	if err != nil {
		return err
	}
	p.MultisigAddress = &addr
	some, err := r.Flag("payload.multisig.transaction_payload option")
	if err != nil || !some {
		return err
	}
	// MultisigTransactionPayload has one variant, EntryFunction.
	if v, err := r.Variant("payload.multisig.transaction_payload"); err != nil {
		return err
	} else if v != 0 {
		return chains.Invalid("aptos: payload.multisig.transaction_payload: variant %d is not entry function (0)", v)
	}
	p.EntryFunction, err = entryFunction(r, "payload.multisig.transaction_payload")
	return err
}

// payloadV1 reads TransactionPayloadInner::V1 { executable, extra_config }.
func payloadV1(r *bcs.Reader, p *Payload) error {
	if v, err := r.Variant("payload.inner"); err != nil {
		return err
	} else if v != 0 {
		return chains.Invalid("aptos: payload.inner: variant %d is not V1 (0)", v)
	}
	v, err := r.Variant("payload.inner.executable")
	if err != nil {
		return err
	}
	switch v {
	case 0:
		err = script(r, "payload.inner.executable.script")
	case 1:
		p.EntryFunction, err = entryFunction(r, "payload.inner.executable.entry_function")
	case 2: // Empty: a multisig transaction whose payload is stored on chain
	default:
		return chains.Invalid("aptos: payload.inner.executable: variant %d is not script (0), entry function (1) or empty (2)", v)
	}
	if err != nil {
		return err
	}
	return extraConfig(r, p)
}

// extraConfig reads TransactionExtraConfig::V1 { multisig_address: Option<address>,
// replay_protection_nonce: Option<u64> }.
func extraConfig(r *bcs.Reader, p *Payload) error {
	const where = "payload.inner.extra_config"
	if v, err := r.Variant(where); err != nil {
		return err
	} else if v != 0 {
		return chains.Invalid("aptos: %s: variant %d is not V1 (0)", where, v)
	}
	if some, err := r.Flag(where + ".multisig_address option"); err != nil {
		return err
	} else if some {
		addr, err := r.Bytes32(where + ".multisig_address")
		if err != nil {
			return err
		}
		p.MultisigAddress = &addr
	}
	if some, err := r.Flag(where + ".replay_protection_nonce option"); err != nil {
		return err
	} else if some {
		n, err := r.U64(where + ".replay_protection_nonce")
		if err != nil {
			return err
		}
		p.ReplayProtectionNonce = &n
	}
	return nil
}

// entryFunction reads EntryFunction { module: ModuleId, function, ty_args, args }.
func entryFunction(r *bcs.Reader, where string) (*EntryFunction, error) {
	f := &EntryFunction{}
	var err error
	if f.ModuleAddress, err = r.Bytes32(where + ".module.address"); err != nil {
		return nil, err
	}
	if f.Module, err = identifier(r, where+".module.name"); err != nil {
		return nil, err
	}
	if f.Function, err = identifier(r, where+".function"); err != nil {
		return nil, err
	}
	if err = typeTags(r, where+".ty_args", 0); err != nil {
		return nil, err
	}
	n, err := r.Length(where+".args", 1)
	if err != nil {
		return nil, err
	}
	f.Args = make([][]byte, n)
	for i := range f.Args {
		if f.Args[i], err = r.Bytes(fmt.Sprintf("%s.args[%d]", where, i)); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// script reads Script { code, ty_args, args: Vec<TransactionArgument> }.
func script(r *bcs.Reader, where string) error {
	if _, err := r.Bytes(where + ".code"); err != nil {
		return err
	}
	if err := typeTags(r, where+".ty_args", 0); err != nil {
		return err
	}
	_, err := r.Sequence(where+".args", 2, func(at string) error { return transactionArgument(r, at) })
	return err
}

// argumentSizes are the fixed sizes of TransactionArgument's variants by index; -1 marks the
// two that are byte vectors (U8Vector, Serialized) and -2 the bool.
var argumentSizes = [...]int{
	1, 8, 16, AddressSize, -1, -2, 2, 4, 32, // U8 U64 U128 Address U8Vector Bool U16 U32 U256
	-1,                 // Serialized
	1, 2, 4, 8, 16, 32, // I8 I16 I32 I64 I128 I256
}

func transactionArgument(r *bcs.Reader, where string) error {
	v, err := r.Variant(where)
	if err != nil {
		return err
	}
	if int(v) >= len(argumentSizes) {
		return chains.Invalid("aptos: %s: variant %d is not a transaction argument (0 to %d)", where, v, len(argumentSizes)-1)
	}
	switch size := argumentSizes[v]; size {
	case -1:
		_, err = r.Bytes(where)
	case -2:
		_, err = r.Flag(where + " bool")
	default:
		_, err = r.Take(size, where)
	}
	return err
}

func typeTags(r *bcs.Reader, where string, depth int) error {
	_, err := r.Sequence(where, 1, func(at string) error { return typeTag(r, at, depth) })
	return err
}

// TypeTag's variants: 0-5 bool u8 u64 u128 address signer, 6 vector, 7 struct, 8-10 u16
// u32 u256, 11 function, 12-17 i8 i16 i32 i64 i128 i256.
const (
	typeTagVector   = 6
	typeTagStruct   = 7
	typeTagFunction = 11
	typeTagCount    = 18
)

// typeTag reads a TypeTag; depth counts the vector, struct and function tags around it.
func typeTag(r *bcs.Reader, where string, depth int) error {
	v, err := r.Variant(where)
	if err != nil {
		return err
	}
	if v >= typeTagCount {
		return chains.Invalid("aptos: %s: variant %d is not a type tag (0 to %d)", where, v, typeTagCount-1)
	}
	if v != typeTagVector && v != typeTagStruct && v != typeTagFunction {
		return nil
	}
	if depth >= maxTypeTagNesting {
		return chains.Invalid("aptos: %s: type tags nested more than %d deep", where, maxTypeTagNesting)
	}
	switch v {
	case typeTagVector:
		return typeTag(r, where+".vector", depth+1)
	case typeTagStruct:
		return structTag(r, where+".struct", depth+1)
	default:
		return functionTag(r, where+".function", depth+1)
	}
}

// structTag reads StructTag { address, module, name, type_args }.
func structTag(r *bcs.Reader, where string, depth int) error {
	if _, err := r.Bytes32(where + ".address"); err != nil {
		return err
	}
	if _, err := identifier(r, where+".module"); err != nil {
		return err
	}
	if _, err := identifier(r, where+".name"); err != nil {
		return err
	}
	return typeTags(r, where+".type_args", depth)
}

// functionTag reads FunctionTag { args, results: Vec<FunctionParamOrReturnTag>, abilities }.
func functionTag(r *bcs.Reader, where string, depth int) error {
	for _, list := range []string{".args", ".results"} {
		if _, err := r.Sequence(where+list, 2, func(at string) error { return functionParam(r, at, depth) }); err != nil {
			return err
		}
	}
	abilities, err := r.U8(where + ".abilities")
	if err != nil {
		return err
	}
	if abilities&^abilityMask != 0 {
		return chains.Invalid("aptos: %s.abilities: %#x has bits other than copy, drop, store and key", where, abilities)
	}
	return nil
}

// functionParam reads a FunctionParamOrReturnTag: Reference, MutableReference or Value, each
// a TypeTag.
func functionParam(r *bcs.Reader, at string, depth int) error {
	if v, err := r.Variant(at); err != nil {
		return err
	} else if v > 2 {
		return chains.Invalid("aptos: %s: variant %d is not reference (0), mutable reference (1) or value (2)", at, v)
	}
	return typeTag(r, at, depth)
}

// identifier reads a Move identifier: ASCII letters, digits, '_' and '$', starting with a
// letter, or with '_' or '$' followed by at least one more character.
func identifier(r *bcs.Reader, where string) (string, error) {
	s, err := r.Text(where)
	if err != nil {
		return "", err
	}
	if !validIdentifier(s) {
		return "", chains.Invalid("aptos: %s: %q is not a Move identifier", where, s)
	}
	return s, nil
}

func validIdentifier(s string) bool {
	if s == "" {
		return false
	}
	switch c := s[0]; {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
	case (c == '_' || c == '$') && len(s) > 1:
	default:
		return false
	}
	for _, c := range []byte(s[1:]) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '$') {
			return false
		}
	}
	return true
}
