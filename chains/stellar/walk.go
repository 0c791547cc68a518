package stellar

import (
	"fmt"

	"github.com/mpcsigner/mpcsigner/chains"
)

// A walker reads one XDR type and checks it, keeping nothing. The operation bodies and the
// types they use are declared with the combinators below, in the order of the .x files they
// transcribe (Stellar-transaction.x, Stellar-ledger-entries.x, Stellar-types.x,
// Stellar-contract.x, as go-stellar-sdk v0.7.3 ships them).
type walker func(r *reader, where string) error

// field is one member of a struct.
type field struct {
	name string
	walk walker
}

// none reads nothing: a void union arm.
func none(*reader, string) error { return nil }

// fixed reads a fixed-size item this package does not interpret: an int64, a Hash, an
// AssetCode4, ....
func fixed(n int) walker {
	return func(r *reader, where string) error { return r.skip(n, where) }
}

// bounded reads a variable-length opaque or string of at most max bytes (0: unbounded).
func bounded(max uint32) walker {
	return func(r *reader, where string) error {
		_, err := r.opaque(where, max)
		return err
	}
}

// enumOf reads an enum that has n values, 0 to n-1.
func enumOf(n uint32) walker {
	return func(r *reader, where string) error {
		_, err := r.enum(where, n)
		return err
	}
}

func fields(fs ...field) walker {
	return func(r *reader, where string) error {
		for _, f := range fs {
			if err := f.walk(r, where+"."+f.name); err != nil {
				return err
			}
		}
		return nil
	}
}

// union reads a discriminant and the arm it selects; a discriminant with no arm is refused.
func union(arms map[uint32]walker) walker {
	return func(r *reader, where string) error {
		d, err := r.u32(where + " discriminant")
		if err != nil {
			return err
		}
		arm, ok := arms[d]
		if !ok {
			return chains.Invalid("stellar: %s: discriminant %d is not one this union has", where, int32(d))
		}
		return arm(r, where)
	}
}

func optional(w walker) walker {
	return func(r *reader, where string) error {
		if some, err := r.optional(where); err != nil || !some {
			return err
		}
		return w(r, where)
	}
}

// arrayOf reads an array of at most max elements (0: unbounded).
func arrayOf(max uint32, w walker) walker {
	return func(r *reader, where string) error {
		return r.each(where, max, func(i int) error { return w(r, fmt.Sprintf("%s[%d]", where, i)) })
	}
}

// Stellar-types.x.
var (
	int32x  = fixed(4)
	uint32x = fixed(4)
	int64x  = fixed(8)
	uint64x = fixed(8)
	hash    = fixed(32)
	uint256 = fixed(32)

	// extensionPoint is `union switch (int v) { case 0: void; }`.
	extensionPoint = union(map[uint32]walker{0: none})
	// accountID is a PublicKey: PUBLIC_KEY_TYPE_ED25519 only.
	accountID          = union(map[uint32]walker{keyTypeEd25519: uint256})
	claimableBalanceID = union(map[uint32]walker{0: hash})
	poolID             = hash
)

func muxed(r *reader, where string) error {
	_, _, err := muxedAccount(r, where)
	return err
}

// signerKey is a SignerKey: an ed25519 key, a pre-authorized transaction hash, a hash(x), or
// an ed25519 key with a payload<64>.
var signerKey = union(map[uint32]walker{
	0: uint256, 1: uint256, 2: uint256,
	3: fields(field{"ed25519", uint256}, field{"payload", bounded(64)}),
})

// Stellar-ledger-entries.x.
var (
	alphaNum4  = fields(field{"assetCode", fixed(4)}, field{"issuer", accountID})
	alphaNum12 = fields(field{"assetCode", fixed(12)}, field{"issuer", accountID})
	// asset, changeTrustAsset and trustLineAsset switch on AssetType: native, alphanum4,
	// alphanum12, and for the last two a pool share.
	asset            = union(map[uint32]walker{0: none, 1: alphaNum4, 2: alphaNum12})
	assetCode        = union(map[uint32]walker{1: fixed(4), 2: fixed(12)})
	changeTrustAsset = union(map[uint32]walker{0: none, 1: alphaNum4, 2: alphaNum12, 3: liquidityPoolParameters})
	trustLineAsset   = union(map[uint32]walker{0: none, 1: alphaNum4, 2: alphaNum12, 3: poolID})

	liquidityPoolParameters = union(map[uint32]walker{
		0: fields(field{"assetA", asset}, field{"assetB", asset}, field{"fee", int32x}),
	})
	price    = fields(field{"n", int32x}, field{"d", int32x})
	signer   = fields(field{"key", signerKey}, field{"weight", uint32x})
	claimant = union(map[uint32]walker{0: fields(field{"destination", accountID}, field{"predicate", claimPredicate})})

	// ledgerKey switches on LedgerEntryType.
	ledgerKey = union(map[uint32]walker{
		0: fields(field{"accountID", accountID}),
		1: fields(field{"accountID", accountID}, field{"asset", trustLineAsset}),
		2: fields(field{"sellerID", accountID}, field{"offerID", int64x}),
		3: fields(field{"accountID", accountID}, field{"dataName", bounded(64)}),
		4: fields(field{"balanceID", claimableBalanceID}),
		5: fields(field{"liquidityPoolID", poolID}),
		6: fields(field{"contract", scAddress}, field{"key", scVal}, field{"durability", enumOf(2)}),
		7: fields(field{"hash", hash}),
		8: fields(field{"configSettingID", enumOf(21)}), // CONFIG_SETTING_CONTRACT_MAX_SIZE_BYTES to _FREEZE_BYPASS_TXS_DELTA
		9: fields(field{"keyHash", hash}),
	})
)

// claimPredicate reads a ClaimPredicate, which nests: and/or of two, not of one.
func claimPredicate(r *reader, where string) error {
	if err := r.enter(where); err != nil {
		return err
	}
	defer r.leave()
	typ, err := r.enum(where+" type", 6)
	if err != nil {
		return err
	}
	switch typ {
	case 1, 2: // and, or
		return arrayOf(2, claimPredicate)(r, where)
	case 3: // not
		return optional(claimPredicate)(r, where)
	case 4, 5: // before absolute time, before relative time
		return r.skip(8, where)
	}
	return nil // unconditional
}
