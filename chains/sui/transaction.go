package sui

import (
	"fmt"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/bcs"
)

const (
	// MaxTransactionBytes is Sui's max_tx_size_bytes protocol limit (128 KiB).
	MaxTransactionBytes = 128 << 10

	// AddressSize is an address's and an object id's; DigestSize an object digest's and a
	// chain identifier's.
	AddressSize = 32
	DigestSize  = 32

	// maxTypeArgumentDepth is the protocol's max_type_argument_depth: a type argument at the
	// top of a call is at depth 1, and a node refuses depth 16.
	maxTypeArgumentDepth = 16
)

// ObjectRef names one version of an object.
type ObjectRef struct {
	ID      [AddressSize]byte
	Version uint64
	Digest  [DigestSize]byte
}

// CommandKind is a programmable transaction command's kind, its variant index.
type CommandKind int

const (
	MoveCall CommandKind = iota
	TransferObjects
	SplitCoins
	MergeCoins
	Publish
	MakeMoveVec
	Upgrade
	commandKinds
)

func (k CommandKind) String() string {
	return [...]string{"MoveCall", "TransferObjects", "SplitCoins", "MergeCoins", "Publish", "MakeMoveVec", "Upgrade"}[k]
}

// Command is one command of a programmable transaction. Target is "package::module::function"
// for a MoveCall (the package in 0x-prefixed hex) and empty otherwise.
type Command struct {
	Kind   CommandKind
	Target string
}

// ValidDuring is the ValidDuring expiration: the transaction is valid only within these
// bounds, on the chain whose genesis checkpoint digest is Chain.
type ValidDuring struct {
	MinEpoch, MaxEpoch, MinTimestampSeconds, MaxTimestampSeconds *uint64
	Chain                                                        [DigestSize]byte
	Nonce                                                        uint32
}

// TransactionData is a decoded BCS TransactionData (V1) with a programmable transaction.
type TransactionData struct {
	// Inputs counts the programmable transaction's inputs.
	Inputs   int
	Commands []Command
	Sender   [AddressSize]byte
	// GasPayment, GasOwner, GasPrice and GasBudget are the gas data; the owner differs from
	// the sender in a sponsored transaction.
	GasPayment []ObjectRef
	GasOwner   [AddressSize]byte
	GasPrice   uint64
	GasBudget  uint64
	// ExpirationEpoch is set for an Epoch expiration, ValidDuring for a ValidDuring one;
	// neither is set for None.
	ExpirationEpoch *uint64
	ValidDuring     *ValidDuring
}

// DecodeTransactionData decodes a BCS TransactionData strictly: only V1 with a programmable
// transaction (the other transaction kinds are the system's, never a user's), only known
// enum variants, canonical BCS, 32-byte digests, Move identifiers, type arguments nested less
// than the protocol allows, and nothing after the end. Every error wraps chains.ErrInvalid.
func DecodeTransactionData(b []byte) (*TransactionData, error) {
	if len(b) > MaxTransactionBytes {
		return nil, chains.Invalid("sui: transaction is %d bytes, more than %d", len(b), MaxTransactionBytes)
	}
	r := bcs.NewReader("sui", b)
	if v, err := r.Variant("TransactionData"); err != nil {
		return nil, err
	} else if v != 0 {
		return nil, chains.Invalid("sui: TransactionData: variant %d is not V1 (0)", v)
	}
	if v, err := r.Variant("kind"); err != nil {
		return nil, err
	} else if v != 0 {
		return nil, chains.Invalid("sui: kind: variant %d is not ProgrammableTransaction (0): the other kinds are system transactions", v)
	}
	tx := &TransactionData{}
	var err error
	if tx.Inputs, err = inputs(r); err != nil {
		return nil, err
	}
	if tx.Commands, err = commands(r); err != nil {
		return nil, err
	}
	if tx.Sender, err = r.Bytes32("sender"); err != nil {
		return nil, err
	}
	if err := tx.gasData(r); err != nil {
		return nil, err
	}
	if err := tx.expiration(r); err != nil {
		return nil, err
	}
	if err := r.End("the transaction data"); err != nil {
		return nil, err
	}
	return tx, nil
}

// inputs reads the programmable transaction's Vec<CallArg> and returns its length.
func inputs(r *bcs.Reader) (int, error) {
	return r.Sequence("inputs", 2, func(where string) error { return callArg(r, where) })
}

// callArg reads one CallArg: Pure(Vec<u8>), Object(ObjectArg) or FundsWithdrawal.
func callArg(r *bcs.Reader, where string) error {
	v, err := r.Variant(where)
	if err != nil {
		return err
	}
	switch v {
	case 0: // Pure
		_, err = r.Bytes(where + ".Pure")
		return err
	case 1:
		return objectArg(r, where+".Object")
	case 2:
		return fundsWithdrawal(r, where+".FundsWithdrawal")
	default:
		return chains.Invalid("sui: %s: variant %d is not Pure (0), Object (1) or FundsWithdrawal (2)", where, v)
	}
}

// objectArg reads ObjectArg: ImmOrOwnedObject(ObjectRef), SharedObject { id,
// initial_shared_version, mutability }, Receiving(ObjectRef).
func objectArg(r *bcs.Reader, where string) error {
	v, err := r.Variant(where)
	if err != nil {
		return err
	}
	switch v {
	case 0, 2:
		_, err = objectRef(r, where)
		return err
	case 1:
		if _, err := r.Take(AddressSize+8, where+".SharedObject"); err != nil {
			return err
		}
		// SharedObjectMutability: Immutable, Mutable, NonExclusiveWrite. (It was a bool, which
		// encodes the same for the first two.)
		if m, err := r.Variant(where + ".SharedObject.mutability"); err != nil {
			return err
		} else if m > 2 {
			return chains.Invalid("sui: %s.SharedObject.mutability: variant %d is not Immutable (0), Mutable (1) or NonExclusiveWrite (2)", where, m)
		}
		return nil
	default:
		return chains.Invalid("sui: %s: variant %d is not ImmOrOwnedObject (0), SharedObject (1) or Receiving (2)", where, v)
	}
}

// fundsWithdrawal reads FundsWithdrawalArg { reservation: Reservation, type_arg:
// WithdrawalTypeArg, withdraw_from: WithdrawFrom }.
func fundsWithdrawal(r *bcs.Reader, where string) error {
	switch v, err := r.Variant(where + ".reservation"); {
	case err != nil:
		return err
	case v == 1: // MaxAmountU64
		if _, err := r.U64(where + ".reservation.MaxAmountU64"); err != nil {
			return err
		}
	case v != 0: // EntireBalance
		return chains.Invalid("sui: %s.reservation: variant %d is not EntireBalance (0) or MaxAmountU64 (1)", where, v)
	}
	if v, err := r.Variant(where + ".type_arg"); err != nil {
		return err
	} else if v != 0 {
		return chains.Invalid("sui: %s.type_arg: variant %d is not Balance (0)", where, v)
	}
	if err := typeInput(r, where+".type_arg.Balance", 1); err != nil {
		return err
	}
	if v, err := r.Variant(where + ".withdraw_from"); err != nil {
		return err
	} else if v > 1 {
		return chains.Invalid("sui: %s.withdraw_from: variant %d is not Sender (0) or Sponsor (1)", where, v)
	}
	return nil
}

func objectRef(r *bcs.Reader, where string) (ObjectRef, error) {
	var ref ObjectRef
	var err error
	if ref.ID, err = r.Bytes32(where + ".id"); err != nil {
		return ref, err
	}
	if ref.Version, err = r.U64(where + ".version"); err != nil {
		return ref, err
	}
	ref.Digest, err = digest(r, where+".digest")
	return ref, err
}

// digest reads a Digest, which BCS writes as a length-prefixed byte string of exactly 32.
func digest(r *bcs.Reader, where string) ([DigestSize]byte, error) {
	b, err := r.Bytes(where)
	if err != nil {
		return [DigestSize]byte{}, err
	}
	if len(b) != DigestSize {
		return [DigestSize]byte{}, chains.Invalid("sui: %s: %d bytes, want %d", where, len(b), DigestSize)
	}
	return [DigestSize]byte(b), nil
}

func commands(r *bcs.Reader) ([]Command, error) {
	n, err := r.Length("commands", 2)
	if err != nil {
		return nil, err
	}
	out := make([]Command, n)
	for i := range out {
		where := fmt.Sprintf("commands[%d]", i)
		v, err := r.Variant(where)
		if err != nil {
			return nil, err
		}
		if v >= uint32(commandKinds) {
			return nil, chains.Invalid("sui: %s: variant %d is not a command (0 to %d)", where, v, commandKinds-1)
		}
		out[i].Kind = CommandKind(v)
		if out[i].Target, err = command(r, out[i].Kind, where+"."+out[i].Kind.String()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// command reads the body of one command; for a MoveCall it returns the call's target.
func command(r *bcs.Reader, kind CommandKind, where string) (string, error) {
	switch kind {
	case MoveCall:
		return moveCall(r, where)
	case TransferObjects:
		if err := arguments(r, where+".objects"); err != nil {
			return "", err
		}
		return "", argument(r, where+".address")
	case SplitCoins, MergeCoins:
		if err := argument(r, where+".coin"); err != nil {
			return "", err
		}
		return "", arguments(r, where+".others")
	case Publish:
		return "", modulesAndDeps(r, where)
	case MakeMoveVec:
		if some, err := r.Flag(where + ".type option"); err != nil {
			return "", err
		} else if some {
			if err := typeInput(r, where+".type", 1); err != nil {
				return "", err
			}
		}
		return "", arguments(r, where+".elements")
	default: // Upgrade
		if err := modulesAndDeps(r, where); err != nil {
			return "", err
		}
		if _, err := r.Bytes32(where + ".package"); err != nil {
			return "", err
		}
		return "", argument(r, where+".ticket")
	}
}

// moveCall reads ProgrammableMoveCall { package, module, function, type_arguments, arguments }.
func moveCall(r *bcs.Reader, where string) (string, error) {
	pkg, err := r.Bytes32(where + ".package")
	if err != nil {
		return "", err
	}
	module, err := identifier(r, where+".module")
	if err != nil {
		return "", err
	}
	function, err := identifier(r, where+".function")
	if err != nil {
		return "", err
	}
	if err := typeInputs(r, where+".type_arguments", 1); err != nil {
		return "", err
	}
	if err := arguments(r, where+".arguments"); err != nil {
		return "", err
	}
	return fmt.Sprintf("0x%x::%s::%s", pkg, module, function), nil
}

// modulesAndDeps reads Publish's and Upgrade's Vec<Vec<u8>> modules and Vec<ObjectID>
// dependencies.
func modulesAndDeps(r *bcs.Reader, where string) error {
	_, err := r.Sequence(where+".modules", 1, func(at string) error {
		_, err := r.Bytes(at)
		return err
	})
	if err != nil {
		return err
	}
	deps, err := r.Length(where+".dependencies", AddressSize)
	if err != nil {
		return err
	}
	_, err = r.Take(deps*AddressSize, where+".dependencies")
	return err
}

func arguments(r *bcs.Reader, where string) error {
	_, err := r.Sequence(where, 1, func(at string) error { return argument(r, at) })
	return err
}

// argumentSizes are the sizes of Argument's variants after the index: GasCoin, Input(u16),
// Result(u16), NestedResult(u16, u16).
var argumentSizes = [...]int{0, 2, 2, 4}

func argument(r *bcs.Reader, where string) error {
	v, err := r.Variant(where)
	if err != nil {
		return err
	}
	if int(v) >= len(argumentSizes) {
		return chains.Invalid("sui: %s: variant %d is not GasCoin (0), Input (1), Result (2) or NestedResult (3)", where, v)
	}
	_, err = r.Take(argumentSizes[v], where)
	return err
}

func typeInputs(r *bcs.Reader, where string, depth int) error {
	_, err := r.Sequence(where, 1, func(at string) error { return typeInput(r, at, depth) })
	return err
}

// TypeInput's variants: 0-5 bool u8 u64 u128 address signer, 6 vector, 7 struct, 8-10 u16
// u32 u256.
const (
	typeInputVector = 6
	typeInputStruct = 7
	typeInputCount  = 11
)

// typeInput reads a TypeInput at depth (1 for a call's own type arguments).
func typeInput(r *bcs.Reader, where string, depth int) error {
	if depth >= maxTypeArgumentDepth {
		return chains.Invalid("sui: %s: type argument nested %d deep, the protocol allows %d", where, depth, maxTypeArgumentDepth-1)
	}
	v, err := r.Variant(where)
	if err != nil {
		return err
	}
	switch {
	case v >= typeInputCount:
		return chains.Invalid("sui: %s: variant %d is not a type (0 to %d)", where, v, typeInputCount-1)
	case v == typeInputVector:
		return typeInput(r, where+".vector", depth+1)
	case v == typeInputStruct:
		where += ".struct"
		if _, err := r.Bytes32(where + ".address"); err != nil {
			return err
		}
		if _, err := identifier(r, where+".module"); err != nil {
			return err
		}
		if _, err := identifier(r, where+".name"); err != nil {
			return err
		}
		return typeInputs(r, where+".type_params", depth+1)
	}
	return nil
}

func (tx *TransactionData) gasData(r *bcs.Reader) error {
	n, err := r.Length("gas_data.payment", AddressSize+8+1+DigestSize)
	if err != nil {
		return err
	}
	tx.GasPayment = make([]ObjectRef, n)
	for i := range tx.GasPayment {
		if tx.GasPayment[i], err = objectRef(r, fmt.Sprintf("gas_data.payment[%d]", i)); err != nil {
			return err
		}
	}
	if tx.GasOwner, err = r.Bytes32("gas_data.owner"); err != nil {
		return err
	}
	if tx.GasPrice, err = r.U64("gas_data.price"); err != nil {
		return err
	}
	tx.GasBudget, err = r.U64("gas_data.budget")
	return err
}

// expiration reads TransactionExpiration: None, Epoch(u64) or ValidDuring.
func (tx *TransactionData) expiration(r *bcs.Reader) error {
	v, err := r.Variant("expiration")
	if err != nil {
		return err
	}
	switch v {
	case 0:
		return nil
	case 1:
		e, err := r.U64("expiration.Epoch")
		tx.ExpirationEpoch = &e
		return err
	case 2:
		tx.ValidDuring, err = validDuring(r)
		return err
	default:
		return chains.Invalid("sui: expiration: variant %d is not None (0), Epoch (1) or ValidDuring (2)", v)
	}
}

func validDuring(r *bcs.Reader) (*ValidDuring, error) {
	vd := &ValidDuring{}
	for _, f := range []struct {
		name string
		dst  **uint64
	}{
		{"min_epoch", &vd.MinEpoch}, {"max_epoch", &vd.MaxEpoch},
		{"min_timestamp_seconds", &vd.MinTimestampSeconds}, {"max_timestamp_seconds", &vd.MaxTimestampSeconds},
	} {
		where := "expiration.ValidDuring." + f.name
		some, err := r.Flag(where + " option")
		if err != nil {
			return nil, err
		}
		if some {
			v, err := r.U64(where)
			if err != nil {
				return nil, err
			}
			*f.dst = &v
		}
	}
	var err error
	if vd.Chain, err = digest(r, "expiration.ValidDuring.chain"); err != nil {
		return nil, err
	}
	nonce, err := r.Take(4, "expiration.ValidDuring.nonce")
	if err != nil {
		return nil, err
	}
	vd.Nonce = uint32(nonce[0]) | uint32(nonce[1])<<8 | uint32(nonce[2])<<16 | uint32(nonce[3])<<24
	return vd, nil
}

// identifier reads a Move identifier as Sui's Move checks it: ASCII letters, digits and '_',
// starting with a letter, or with '_' and at least one more character.
func identifier(r *bcs.Reader, where string) (string, error) {
	s, err := r.Text(where)
	if err != nil {
		return "", err
	}
	if !validIdentifier(s) {
		return "", chains.Invalid("sui: %s: %q is not a Move identifier", where, s)
	}
	return s, nil
}

func validIdentifier(s string) bool {
	if s == "" || s == "_" {
		return false
	}
	for i, c := range []byte(s) {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && c != '_' && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
