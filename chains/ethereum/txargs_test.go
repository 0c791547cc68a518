package ethereum

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

// cmpBig compares hexutil.Big values by value (big.Int has unexported fields).
var cmpBig = cmp.Comparer(func(x, y *hexutil.Big) bool {
	if x == nil || y == nil {
		return x == y
	}
	return x.ToInt().Cmp(y.ToInt()) == 0
})

func u64(v uint64) *hexutil.Uint64 { return (*hexutil.Uint64)(&v) }
func hbig(v int64) *hexutil.Big    { return (*hexutil.Big)(big.NewInt(v)) }
func hbytes(s string) *hexutil.Bytes {
	b := hexutil.Bytes(hexutil.MustDecode(s))
	return &b
}

// TestParseTxArgs decodes complete objects and compares every field.
func TestParseTxArgs(t *testing.T) {
	to := common.HexToAddress("0x3535353535353535353535353535353535353535")
	from := common.HexToAddress("0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F")
	tests := []struct {
		name string
		json string
		want TxArgs
	}{
		{"EIP-155 example", eip155Args, TxArgs{From: from, To: &to, Nonce: u64(9), GasPrice: hbig(20e9), Gas: u64(21000), Value: (*hexutil.Big)(big.NewInt(1e18))}},
		{"null means absent", `{"from":"0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f","to":null,"nonce":null,"input":"0x"}`, TxArgs{From: from, Input: hbytes("0x")}},
		{"1559 with access list and type", `{"from":"` + from.Hex() + `","maxFeePerGas":"0x10","maxPriorityFeePerGas":"0x0","chainId":"0x1","type":"0x2","data":"0x00ff",
			"accessList":[{"address":"` + to.Hex() + `","storageKeys":[]}]}`,
			TxArgs{From: from, MaxFeePerGas: hbig(16), MaxPriorityFeePerGas: hbig(0), ChainID: hbig(1), Type: u64(2), Data: hbytes("0x00ff"),
				AccessList: &types.AccessList{{Address: to, StorageKeys: []common.Hash{}}}}},
		{"blob fields", `{"from":"` + from.Hex() + `","maxFeePerBlobGas":"0x1","blobVersionedHashes":["` + blobHash + `"]}`,
			TxArgs{From: from, MaxFeePerBlobGas: hbig(1), BlobVersionedHashes: []common.Hash{common.HexToHash(blobHash)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTxArgs([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tc.want, got, cmpBig); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseTxArgsRefuses feeds malformed transaction objects: each is refused with an input
// error that names the field.
func TestParseTxArgsRefuses(t *testing.T) {
	const from = `"from":"0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f"`
	auth, _ := signedAuthorizationJSON(t)
	tests := []struct {
		name, json, want string
	}{
		{"not JSON", `{"from":`, "malformed JSON"},
		{"not an object", `["from"]`, "want a JSON object"},
		{"empty", ``, "empty input"},
		{"trailing data", `{` + from + `} {}`, "trailing data"},
		{"trailing garbage", `{` + from + `}x`, "transaction"},
		{"oversize", `{` + from + `,"data":"0x` + strings.Repeat("00", MaxTxArgsBytes/2) + `"}`, "more than the limit"},
		{"invalid UTF-8", `{` + from + `,"x":"` + "\xff" + `"}`, "UTF-8"},
		{"too deep", `{` + from + `,"accessList":[{"storageKeys":[[]]}]}`, "nested deeper"},
		{"unknown field", `{` + from + `,"gasLimit":"0x5208"}`, "gasLimit: unknown field"},
		{"field in other case", `{` + from + `,"GAS":"0x5208"}`, "GAS: unknown field"},
		{"duplicate field", `{` + from + `,"gas":"0x1","gas":"0x2"}`, `duplicate key "gas"`},
		{"missing from", `{"gas":"0x1"}`, "from: missing"},
		{"null from", `{"from":null}`, "from: missing"},
		{"short address", `{"from":"0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a"}`, "from: "},
		{"address without 0x", `{"from":"9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f"}`, "from: "},
		{"bad checksum", `{"from":"0x9D8A62f656a8d1615C1294fd71e9CFb3E4855A4F"}`, "from: 0x9D8A62f656a8d1615C1294fd71e9CFb3E4855A4F has mixed case"},
		{"bad hex", `{` + from + `,"gas":"0xzz"}`, "gas: "},
		{"quantity without 0x", `{` + from + `,"nonce":"10"}`, "nonce: "},
		{"quantity as number", `{` + from + `,"nonce":10}`, "nonce: "},
		{"leading zeros", `{` + from + `,"gasPrice":"0x01"}`, "gasPrice: hex number with leading zero digits"},
		{"empty quantity", `{` + from + `,"value":"0x"}`, "value: "},
		{"gas over 64 bits", `{` + from + `,"gas":"0x10000000000000000"}`, "gas: hex number > 64 bits"},
		{"nonce over 64 bits", `{` + from + `,"nonce":"0x10000000000000000"}`, "nonce: hex number > 64 bits"},
		{"fee over 256 bits", `{` + from + `,"maxFeePerGas":"0x1` + strings.Repeat("0", 64) + `"}`, "maxFeePerGas: hex number > 256 bits"},
		{"value over 256 bits", `{` + from + `,"value":"0x1` + strings.Repeat("0", 64) + `"}`, "value: hex number > 256 bits"},
		{"odd-length data", `{` + from + `,"data":"0x123"}`, "data: "},
		{"data and input differ", `{` + from + `,"data":"0x01","input":"0x02"}`, "input: both data and input given and they differ"},
		{"access list not a list", `{` + from + `,"accessList":{}}`, "accessList: want a JSON array"},
		{"access tuple unknown field", `{` + from + `,"accessList":[{"address":"0x3535353535353535353535353535353535353535","storageKeys":[],"x":1}]}`, "accessList[0].x: unknown field"},
		{"access tuple without keys", `{` + from + `,"accessList":[{"address":"0x3535353535353535353535353535353535353535"}]}`, "accessList[0].storageKeys: missing"},
		{"short storage key", `{` + from + `,"accessList":[{"address":"0x3535353535353535353535353535353535353535","storageKeys":["0x01"]}]}`, "accessList[0].storageKeys: "},
		{"empty blob hashes", `{` + from + `,"blobVersionedHashes":[]}`, "blobVersionedHashes: empty list"},
		{"empty authorization list", `{` + from + `,"authorizationList":[]}`, "authorizationList: empty list"},
		{"authorization unknown field", `{` + from + `,"authorizationList":[` + strings.Replace(auth, `{`, `{"v":"0x1",`, 1) + `]}`, "authorizationList[0].v: unknown field"},
		{"authorization missing r", `{` + from + `,"authorizationList":[` + strings.Replace(auth, `"r":`, `"q":`, 1) + `]}`, "authorizationList[0].q: unknown field"},
		{"authorization yParity 2", `{` + from + `,"authorizationList":[` + strings.NewReplacer(`"yParity":"0x0"`, `"yParity":"0x2"`, `"yParity":"0x1"`, `"yParity":"0x2"`).Replace(auth) + `]}`, "authorizationList[0].yParity: 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseTxArgs([]byte(tc.json))
			if a != nil {
				t.Errorf("returned args alongside the error")
			}
			chaintest.WantInvalid(t, err, tc.want)
		})
	}
}

// TestTransactionRefuses feeds well-formed objects that do not make one valid transaction.
func TestTransactionRefuses(t *testing.T) {
	const base = `"from":"0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f","nonce":"0x1","gas":"0x5208"`
	const to = `"to":"0x3535353535353535353535353535353535353535"`
	const fees = `"maxFeePerGas":"0x2","maxPriorityFeePerGas":"0x1"`
	blobs := func(n int) string {
		return `"maxFeePerBlobGas":"0x1","blobVersionedHashes":[` + strings.TrimSuffix(strings.Repeat(`"`+blobHash+`",`, n), ",") + `]`
	}
	auth, _ := signedAuthorizationJSON(t)
	tests := []struct {
		name, json string
		chainID    *big.Int
		want       string
	}{
		{"missing nonce", `{"from":"0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f","gas":"0x5208","gasPrice":"0x1"}`, mainnet, "nonce: missing"},
		{"missing gas", `{"from":"0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f","nonce":"0x0","gasPrice":"0x1"}`, mainnet, "gas: missing"},
		{"nonce 2^64-1", `{"from":"0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f","nonce":"0xffffffffffffffff","gas":"0x5208","gasPrice":"0x1"}`, mainnet, "nonce: 2^64-1"},
		{"no fee", `{` + base + `}`, mainnet, "gasPrice: missing"},
		{"access list without fee", `{` + base + `,"accessList":[]}`, mainnet, "gasPrice: missing"},
		{"gasPrice with maxFeePerGas", `{` + base + `,"gasPrice":"0x1","maxFeePerGas":"0x2"}`, mainnet, "gasPrice: cannot be combined"},
		{"gasPrice with maxPriorityFeePerGas", `{` + base + `,"gasPrice":"0x1","maxPriorityFeePerGas":"0x2"}`, mainnet, "gasPrice: cannot be combined"},
		{"maxFeePerGas alone", `{` + base + `,"maxFeePerGas":"0x2"}`, mainnet, "maxPriorityFeePerGas: missing"},
		{"maxPriorityFeePerGas alone", `{` + base + `,"maxPriorityFeePerGas":"0x2"}`, mainnet, "maxFeePerGas: missing"},
		{"tip above cap", `{` + base + `,"maxFeePerGas":"0x1","maxPriorityFeePerGas":"0x2"}`, mainnet, "maxPriorityFeePerGas: higher than maxFeePerGas"},
		{"wrong chain id", `{` + base + `,"gasPrice":"0x1","chainId":"0x5"}`, mainnet, "chain id"},
		{"no signer chain id", `{` + base + `,"gasPrice":"0x1"}`, nil, "chain id"},
		{"negative signer chain id", `{` + base + `,"gasPrice":"0x1"}`, big.NewInt(-1), "chain id"},
		{"declared type differs", `{` + base + `,"gasPrice":"0x1","type":"0x2"}`, mainnet, "type: 0x2 declared"},
		{"blob without to", `{` + base + `,` + fees + `,` + blobs(1) + `}`, mainnet, "to: missing: blob"},
		{"blob without fees", `{` + base + `,` + to + `,` + blobs(1) + `}`, mainnet, "maxFeePerGas: missing"},
		{"blob with gasPrice", `{` + base + `,` + to + `,"gasPrice":"0x1",` + blobs(1) + `}`, mainnet, "maxFeePerGas: missing"},
		{"blob fee without hashes", `{` + base + `,` + to + `,` + fees + `,"maxFeePerBlobGas":"0x1"}`, mainnet, "blobVersionedHashes: missing"},
		{"blob hashes without fee", `{` + base + `,` + to + `,` + fees + `,"blobVersionedHashes":["` + blobHash + `"]}`, mainnet, "maxFeePerBlobGas: missing"},
		{"too many blobs", `{` + base + `,` + to + `,` + fees + `,` + blobs(7) + `}`, mainnet, "7 hashes"},
		{"blob hash version", `{` + base + `,` + to + `,` + fees + `,"maxFeePerBlobGas":"0x1","blobVersionedHashes":["0x02` + blobHash[4:] + `"]}`, mainnet, "blobVersionedHashes[0]: version byte 0x02"},
		{"set code without to", `{` + base + `,` + fees + `,"authorizationList":[` + auth + `]}`, mainnet, "to: missing: set-code"},
		{"set code with blobs", `{` + base + `,` + to + `,` + fees + `,` + blobs(1) + `,"authorizationList":[` + auth + `]}`, mainnet, "authorizationList: cannot be combined with blob fields"},
		{"set code without fees", `{` + base + `,` + to + `,"authorizationList":[` + auth + `]}`, mainnet, "maxFeePerGas: missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseTxArgs([]byte(tc.json))
			if err != nil {
				t.Fatalf("ParseTxArgs refused what Transaction should refuse: %v", err)
			}
			tx, err := a.Transaction(tc.chainID)
			if tx != nil {
				t.Errorf("returned a transaction alongside the error")
			}
			chaintest.WantInvalid(t, err, tc.want)
		})
	}
}

// TestTransactionChainIDError checks that a chain id mismatch can be told apart.
func TestTransactionChainIDError(t *testing.T) {
	a, err := ParseTxArgs([]byte(`{"from":"0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f","nonce":"0x1","gas":"0x5208","gasPrice":"0x1","chainId":"0x5"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Transaction(mainnet)
	if !errors.Is(err, ErrChainID) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v, want one wrapping ErrChainID and ErrInvalid", err)
	}
	if _, err := a.Transaction(big.NewInt(5)); err != nil {
		t.Fatalf("matching chain id refused: %v", err)
	}
}

// TestTransactionChecksGoValues holds TxArgs built in Go (which bypass the JSON decoder's
// range checks) to the same limits.
func TestTransactionChecksGoValues(t *testing.T) {
	huge := (*hexutil.Big)(new(big.Int).Lsh(big.NewInt(1), 256))
	neg := hbig(-1)
	to := common.HexToAddress("0x3535353535353535353535353535353535353535")
	base := func() TxArgs { return TxArgs{Nonce: u64(0), Gas: u64(21000), To: &to} }
	tests := []struct {
		name string
		edit func(*TxArgs)
		want string
	}{
		{"gasPrice over 256 bits", func(a *TxArgs) { a.GasPrice = huge }, "gasPrice: more than 256 bits"},
		{"maxFeePerGas over 256 bits", func(a *TxArgs) { a.MaxFeePerGas, a.MaxPriorityFeePerGas = huge, hbig(1) }, "maxFeePerGas: more than 256 bits"},
		{"maxFeePerBlobGas over 256 bits", func(a *TxArgs) {
			a.MaxFeePerGas, a.MaxPriorityFeePerGas, a.MaxFeePerBlobGas = hbig(2), hbig(1), huge
			a.BlobVersionedHashes = []common.Hash{common.HexToHash(blobHash)}
		}, "maxFeePerBlobGas: more than 256 bits"},
		{"negative value", func(a *TxArgs) { a.GasPrice, a.Value = hbig(1), neg }, "value: negative"},
		{"empty authorization list", func(a *TxArgs) {
			a.MaxFeePerGas, a.MaxPriorityFeePerGas = hbig(2), hbig(1)
			a.AuthorizationList = []types.SetCodeAuthorization{}
		}, "authorizationList: empty"},
		{"authorization V 27", func(a *TxArgs) {
			a.MaxFeePerGas, a.MaxPriorityFeePerGas = hbig(2), hbig(1)
			a.AuthorizationList = []types.SetCodeAuthorization{{V: 27}}
		}, "authorizationList[0].yParity: 27"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := base()
			tc.edit(&a)
			tx, err := a.Transaction(mainnet)
			if tx != nil {
				t.Errorf("returned a transaction alongside the error")
			}
			chaintest.WantInvalid(t, err, tc.want)
		})
	}
}
