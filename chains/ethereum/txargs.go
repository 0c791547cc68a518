package ethereum

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
)

// MaxTxArgsBytes caps a transaction object. The largest honest one is a contract deployment:
// EIP-3860 allows 48 KiB of init code, 96 KiB as hex, and the transaction pool's 128 KiB
// size limit bounds call data at 256 KiB of hex; the rest is room for access lists.
const MaxTxArgsBytes = 512 << 10

// txArgsDepth is the deepest nesting a transaction object has (accessList[i].storageKeys[j]).
const txArgsDepth = 4

// TxArgs is the transaction object of eth_signTransaction / eth_sendTransaction / account_signTransaction
// (from, to, gas, gasPrice, maxFeePerGas, maxPriorityFeePerGas, value, nonce, data|input, chainId,
// accessList, maxFeePerBlobGas, blobVersionedHashes, authorizationList), hex quantities as JSON-RPC sends them.
//
// A nil pointer (or nil slice) is an absent field. Type is an addition to that list: ethers
// and MetaMask send the transaction type they mean, and Transaction refuses a transaction
// whose fields make another type than the one declared.
type TxArgs struct {
	From                 common.Address  `json:"from"`
	To                   *common.Address `json:"to,omitempty"`
	Gas                  *hexutil.Uint64 `json:"gas,omitempty"`
	GasPrice             *hexutil.Big    `json:"gasPrice,omitempty"`
	MaxFeePerGas         *hexutil.Big    `json:"maxFeePerGas,omitempty"`
	MaxPriorityFeePerGas *hexutil.Big    `json:"maxPriorityFeePerGas,omitempty"`
	Value                *hexutil.Big    `json:"value,omitempty"`
	Nonce                *hexutil.Uint64 `json:"nonce,omitempty"`
	// Data and Input are the same field under its old and new name; both may be sent only
	// if equal.
	Data                *hexutil.Bytes               `json:"data,omitempty"`
	Input               *hexutil.Bytes               `json:"input,omitempty"`
	ChainID             *hexutil.Big                 `json:"chainId,omitempty"`
	AccessList          *types.AccessList            `json:"accessList,omitempty"`
	MaxFeePerBlobGas    *hexutil.Big                 `json:"maxFeePerBlobGas,omitempty"`
	BlobVersionedHashes []common.Hash                `json:"blobVersionedHashes,omitempty"`
	AuthorizationList   []types.SetCodeAuthorization `json:"authorizationList,omitempty"`
	Type                *hexutil.Uint64              `json:"type,omitempty"`
}

// ParseTxArgs strictly decodes a JSON-RPC transaction object: see the package comment for
// what is refused. It checks syntax and field-level rules only; Transaction checks that the
// fields make one valid transaction.
func ParseTxArgs(b []byte) (*TxArgs, error) {
	if err := checkJSON(b, jsonRules{what: "transaction", maxBytes: MaxTxArgsBytes, maxDepth: txArgsDepth}); err != nil {
		return nil, err
	}
	a := new(TxArgs)
	var from, to *common.Address
	err := decodeObject(b, "", []field{
		{"from", true, addressInto(&from)},
		{"to", false, addressInto(&to)},
		{"gas", false, &a.Gas},
		{"gasPrice", false, &a.GasPrice},
		{"maxFeePerGas", false, &a.MaxFeePerGas},
		{"maxPriorityFeePerGas", false, &a.MaxPriorityFeePerGas},
		{"value", false, &a.Value},
		{"nonce", false, &a.Nonce},
		{"data", false, &a.Data},
		{"input", false, &a.Input},
		{"chainId", false, &a.ChainID},
		{"accessList", false, accessListInto(&a.AccessList)},
		{"maxFeePerBlobGas", false, &a.MaxFeePerBlobGas},
		{"blobVersionedHashes", false, nonEmptyInto(&a.BlobVersionedHashes)},
		{"authorizationList", false, authListInto(&a.AuthorizationList)},
		{"type", false, &a.Type},
	})
	if err != nil {
		return nil, err
	}
	a.From, a.To = *from, to
	if _, err := a.calldata(); err != nil {
		return nil, err
	}
	return a, nil
}

// addressInto decodes an address, refusing a mixed-case one whose EIP-55 checksum is wrong:
// mixed case is a claim of a checksum, and a wrong one most likely means a mistyped address.
func addressInto(dst **common.Address) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		addr, err := decodeAddress(raw, path)
		if err != nil {
			return err
		}
		*dst = &addr
		return nil
	}
}

// decodeAddress is the body of addressInto.
func decodeAddress(raw json.RawMessage, path string) (common.Address, error) {
	var addr common.Address
	if err := json.Unmarshal(raw, &addr); err != nil {
		return common.Address{}, invalidErr(path, jsonCause(err))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return common.Address{}, invalidErr(path, err)
	}
	if digits := s[2:]; isMixedCase(digits) && digits != addr.Hex()[2:] {
		return common.Address{}, invalid(path, "%s has mixed case but a wrong EIP-55 checksum (want %s)", s, addr.Hex())
	}
	return addr, nil
}

// isMixedCase reports whether hex digits contain both upper- and lower-case letters.
func isMixedCase(digits string) bool {
	return digits != strings.ToLower(digits) && digits != strings.ToUpper(digits)
}

// nonEmptyInto decodes a list of hashes that, when present, must not be empty: an empty
// blobVersionedHashes would otherwise read as "a blob transaction without blobs".
func nonEmptyInto(dst *[]common.Hash) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		if err := json.Unmarshal(raw, dst); err != nil {
			return invalidErr(path, jsonCause(err))
		}
		if len(*dst) == 0 {
			return invalid(path, "empty list; leave the field out instead")
		}
		return nil
	}
}

// accessListInto decodes an EIP-2930 access list with exact keys in every entry (the
// generated types.AccessTuple decoder would ignore unknown ones).
func accessListInto(dst **types.AccessList) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		var entries []json.RawMessage
		if err := json.Unmarshal(raw, &entries); err != nil || entries == nil {
			return invalid(path, "want a JSON array")
		}
		al := make(types.AccessList, len(entries))
		for i, e := range entries {
			var addr *common.Address
			var keys *[]common.Hash
			err := decodeObject(e, index(path, i), []field{
				{"address", true, addressInto(&addr)},
				{"storageKeys", true, &keys},
			})
			if err != nil {
				return err
			}
			al[i] = types.AccessTuple{Address: *addr, StorageKeys: *keys}
			if al[i].StorageKeys == nil {
				al[i].StorageKeys = []common.Hash{}
			}
		}
		*dst = &al
		return nil
	}
}

// authListInto decodes an EIP-7702 authorization list with exact keys, every member required,
// and strict quantities (hexutil.U256 would take "" as zero).
func authListInto(dst *[]types.SetCodeAuthorization) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		var entries []json.RawMessage
		if err := json.Unmarshal(raw, &entries); err != nil || entries == nil {
			return invalid(path, "want a JSON array")
		}
		if len(entries) == 0 {
			return invalid(path, "empty list; leave the field out instead")
		}
		list := make([]types.SetCodeAuthorization, len(entries))
		for i, e := range entries {
			auth, err := decodeAuthorization(e, index(path, i))
			if err != nil {
				return err
			}
			list[i] = auth
		}
		*dst = list
		return nil
	}
}

// decodeAuthorization decodes one signed EIP-7702 authorization tuple.
func decodeAuthorization(raw json.RawMessage, path string) (types.SetCodeAuthorization, error) {
	var (
		addr           *common.Address
		chainID, r, s  *hexutil.Big
		nonce, yParity *hexutil.Uint64
	)
	err := decodeObject(raw, path, []field{
		{"chainId", true, &chainID},
		{"address", true, addressInto(&addr)},
		{"nonce", true, &nonce},
		{"yParity", true, &yParity},
		{"r", true, &r},
		{"s", true, &s},
	})
	if err != nil {
		return types.SetCodeAuthorization{}, err
	}
	if *yParity > 1 {
		return types.SetCodeAuthorization{}, invalid(join(path, "yParity"), "%d, want 0 or 1", *yParity)
	}
	return types.SetCodeAuthorization{
		ChainID: *uint256.MustFromBig(chainID.ToInt()), // hexutil.Big is at most 256 bits
		Address: *addr,
		Nonce:   uint64(*nonce),
		V:       uint8(*yParity),
		R:       *uint256.MustFromBig(r.ToInt()),
		S:       *uint256.MustFromBig(s.ToInt()),
	}, nil
}

// index extends an error path with a list index.
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// calldata returns data or input, refusing both when they differ: a client that sends two
// different payloads has no single meaning to sign.
func (a *TxArgs) calldata() ([]byte, error) {
	switch {
	case a.Data != nil && a.Input != nil:
		if !bytes.Equal(*a.Data, *a.Input) {
			return nil, invalid("input", "both data and input given and they differ")
		}
		return *a.Input, nil
	case a.Input != nil:
		return *a.Input, nil
	case a.Data != nil:
		return *a.Data, nil
	}
	return nil, nil
}

// Transaction builds the unsigned transaction the args describe, for chainID. The type
// follows from the fields present: authorizationList -> SetCode (0x04), maxFeePerBlobGas or
// blobVersionedHashes -> Blob (0x03), maxFeePerGas or maxPriorityFeePerGas -> DynamicFee (0x02),
// accessList with gasPrice -> AccessList (0x01), gasPrice alone -> Legacy (signed with EIP-155).
// Nonce and gas are required: filling them in needs chain state, which is the caller's.
// A chainId in the args that differs from chainID is refused with ErrChainID.
func (a *TxArgs) Transaction(chainID *big.Int) (*types.Transaction, error) {
	if err := checkChainID(chainID); err != nil {
		return nil, err
	}
	if a.ChainID != nil && a.ChainID.ToInt().Cmp(chainID) != 0 {
		return nil, chainIDError("chainId", a.ChainID.ToInt(), chainID)
	}
	f, err := a.common()
	if err != nil {
		return nil, err
	}
	txType, err := a.txType()
	if err != nil {
		return nil, err
	}
	if a.Type != nil && uint64(*a.Type) != uint64(txType) {
		return nil, invalid("type", "%#x declared, but the fields given make a type %#x transaction", uint64(*a.Type), txType)
	}
	var data types.TxData
	switch txType {
	case types.LegacyTxType:
		data = &types.LegacyTx{Nonce: f.nonce, GasPrice: f.gasPrice, Gas: f.gas, To: a.To, Value: f.value, Data: f.data}
	case types.AccessListTxType:
		data = &types.AccessListTx{ChainID: chainID, Nonce: f.nonce, GasPrice: f.gasPrice, Gas: f.gas, To: a.To, Value: f.value, Data: f.data, AccessList: f.accessList}
	case types.DynamicFeeTxType:
		data = &types.DynamicFeeTx{ChainID: chainID, Nonce: f.nonce, GasTipCap: f.tipCap, GasFeeCap: f.feeCap, Gas: f.gas, To: a.To, Value: f.value, Data: f.data, AccessList: f.accessList}
	case types.BlobTxType:
		data, err = a.blobTx(chainID, f)
	case types.SetCodeTxType:
		data, err = a.setCodeTx(chainID, f)
	}
	if err != nil {
		return nil, err
	}
	return types.NewTx(data), nil
}

// txFields are the checked values shared by every transaction type.
type txFields struct {
	nonce, gas               uint64
	gasPrice, feeCap, tipCap *big.Int
	value                    *big.Int
	data                     []byte
	accessList               types.AccessList
}

// common checks and converts the fields every type uses.
func (a *TxArgs) common() (txFields, error) {
	var f txFields
	if a.Nonce == nil {
		return f, invalid("nonce", "missing (fill it in from the pending nonce before building the transaction)")
	}
	if uint64(*a.Nonce) == math.MaxUint64 {
		return f, invalid("nonce", "2^64-1 is not a valid nonce (EIP-2681)")
	}
	if a.Gas == nil {
		return f, invalid("gas", "missing")
	}
	f.nonce, f.gas = uint64(*a.Nonce), uint64(*a.Gas)
	var err error
	if f.gasPrice, err = quantity("gasPrice", a.GasPrice); err != nil {
		return f, err
	}
	if f.feeCap, err = quantity("maxFeePerGas", a.MaxFeePerGas); err != nil {
		return f, err
	}
	if f.tipCap, err = quantity("maxPriorityFeePerGas", a.MaxPriorityFeePerGas); err != nil {
		return f, err
	}
	if f.value, err = quantity("value", a.Value); err != nil {
		return f, err
	}
	if f.value == nil {
		f.value = new(big.Int)
	}
	if f.data, err = a.calldata(); err != nil {
		return f, err
	}
	if a.AccessList != nil {
		f.accessList = *a.AccessList
	}
	return f, nil
}

// quantity checks a 256-bit unsigned quantity: hexutil.Big enforces the range when decoding
// JSON, but TxArgs built in Go bypass the decoder.
func quantity(name string, q *hexutil.Big) (*big.Int, error) {
	if q == nil {
		return nil, nil
	}
	v := q.ToInt()
	if v.Sign() < 0 {
		return nil, invalid(name, "negative")
	}
	if v.BitLen() > 256 {
		return nil, invalid(name, "more than 256 bits")
	}
	return new(big.Int).Set(v), nil
}

// txType decides the transaction type from the fields present and refuses combinations that
// have no single meaning.
func (a *TxArgs) txType() (uint8, error) {
	eip1559 := a.MaxFeePerGas != nil || a.MaxPriorityFeePerGas != nil
	blob := a.MaxFeePerBlobGas != nil || a.BlobVersionedHashes != nil
	setCode := a.AuthorizationList != nil
	if a.GasPrice != nil && eip1559 {
		return 0, invalid("gasPrice", "cannot be combined with maxFeePerGas/maxPriorityFeePerGas")
	}
	if eip1559 || blob || setCode {
		if err := a.checkFeeCaps(); err != nil {
			return 0, err
		}
	}
	switch {
	case setCode && blob:
		return 0, invalid("authorizationList", "cannot be combined with blob fields")
	case setCode:
		return types.SetCodeTxType, nil
	case blob:
		return types.BlobTxType, nil
	case eip1559:
		return types.DynamicFeeTxType, nil
	case a.GasPrice == nil:
		return 0, invalid("gasPrice", "missing: give gasPrice, or maxFeePerGas and maxPriorityFeePerGas")
	case a.AccessList != nil:
		return types.AccessListTxType, nil
	}
	return types.LegacyTxType, nil
}

// checkFeeCaps requires both EIP-1559 fees, the tip not above the cap: a signer cannot fill
// in a missing fee from chain state, and a tip above the cap makes an invalid transaction.
func (a *TxArgs) checkFeeCaps() error {
	switch {
	case a.MaxFeePerGas == nil:
		return invalid("maxFeePerGas", "missing (required with maxPriorityFeePerGas, blob fields or authorizationList)")
	case a.MaxPriorityFeePerGas == nil:
		return invalid("maxPriorityFeePerGas", "missing (required with maxFeePerGas)")
	case a.MaxPriorityFeePerGas.ToInt().Cmp(a.MaxFeePerGas.ToInt()) > 0:
		return invalid("maxPriorityFeePerGas", "higher than maxFeePerGas")
	}
	return nil
}

// blobTx builds an EIP-4844 transaction. It carries no sidecar: the signing hash commits to
// the versioned hashes only, and the blobs travel separately.
func (a *TxArgs) blobTx(chainID *big.Int, f txFields) (types.TxData, error) {
	if a.To == nil {
		return nil, invalid("to", "missing: blob transactions cannot create contracts")
	}
	if a.MaxFeePerBlobGas == nil {
		return nil, invalid("maxFeePerBlobGas", "missing (required with blobVersionedHashes)")
	}
	if err := checkBlobHashes(a.BlobVersionedHashes); err != nil {
		return nil, err
	}
	blobFee, err := quantity("maxFeePerBlobGas", a.MaxFeePerBlobGas)
	if err != nil {
		return nil, err
	}
	return &types.BlobTx{
		ChainID: u256(chainID), Nonce: f.nonce, GasTipCap: u256(f.tipCap), GasFeeCap: u256(f.feeCap),
		Gas: f.gas, To: *a.To, Value: u256(f.value), Data: f.data, AccessList: f.accessList,
		BlobFeeCap: u256(blobFee), BlobHashes: a.BlobVersionedHashes,
	}, nil
}

// checkBlobHashes requires 1 to params.BlobTxMaxBlobs hashes, each with the KZG version byte.
func checkBlobHashes(hashes []common.Hash) error {
	if len(hashes) == 0 {
		return invalid("blobVersionedHashes", "missing or empty (required with maxFeePerBlobGas)")
	}
	if len(hashes) > params.BlobTxMaxBlobs {
		return invalid("blobVersionedHashes", "%d hashes, more than the %d a transaction may carry", len(hashes), params.BlobTxMaxBlobs)
	}
	for i, h := range hashes {
		if !kzg4844.IsValidVersionedHash(h[:]) {
			return invalid(index("blobVersionedHashes", i), "version byte %#02x, want 0x01 (KZG)", h[0])
		}
	}
	return nil
}

// setCodeTx builds an EIP-7702 transaction.
func (a *TxArgs) setCodeTx(chainID *big.Int, f txFields) (types.TxData, error) {
	if a.To == nil {
		return nil, invalid("to", "missing: set-code transactions cannot create contracts")
	}
	if len(a.AuthorizationList) == 0 {
		return nil, invalid("authorizationList", "empty")
	}
	for i, auth := range a.AuthorizationList {
		if auth.V > 1 {
			return nil, invalid(index("authorizationList", i)+".yParity", "%d, want 0 or 1", auth.V)
		}
	}
	return &types.SetCodeTx{
		ChainID: u256(chainID), Nonce: f.nonce, GasTipCap: u256(f.tipCap), GasFeeCap: u256(f.feeCap),
		Gas: f.gas, To: *a.To, Value: u256(f.value), Data: f.data, AccessList: f.accessList,
		AuthList: a.AuthorizationList,
	}, nil
}

// u256 converts a value already checked by quantity or checkChainID (so at most 256 bits).
func u256(v *big.Int) *uint256.Int {
	return uint256.MustFromBig(v)
}

// checkChainID requires a positive chain id of at most 256 bits: without one a legacy
// transaction would be signed without replay protection.
func checkChainID(chainID *big.Int) error {
	if chainID == nil || chainID.Sign() <= 0 {
		return invalid("chain id", "the signer's chain id must be positive")
	}
	if chainID.BitLen() > 256 {
		return invalid("chain id", "more than 256 bits")
	}
	return nil
}
