package chains

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/fbsobreira/gotron-sdk/pkg/address"
	"github.com/fbsobreira/gotron-sdk/pkg/proto/core"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/mpcsigner/mpcsigner/interop/harness"
)

// testTron builds a TransferContract transaction with gotron-sdk's protos, has the devnet sign
// it, decodes the signed Transaction with them, recomputes the id as gotron-sdk does (SHA-256
// of raw_data as protobuf writes it), recovers the signer's key from the signature and turns
// it into an address with gotron-sdk's address package, and compares that with gotron-sdk's
// address of the key. Recovery is go-ethereum's crypto.SigToPub, what gotron-sdk's own
// keystore.RecoverPubkey calls (that package itself cannot be imported here: its dependency
// github.com/deckarep/golang-set has no go.sum entry in this module).
func testTron(t *testing.T, d *harness.Devnet, keyID string, pub []byte) {
	key, err := btcec.ParsePubKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	want := address.BTCECPubkeyToAddress(key)
	addr := apiAddress(t, d, keyID, "tron", "")
	if addr != want.String() {
		t.Fatalf("API address %s, want gotron-sdk's %s", addr, want)
	}
	if nile := apiAddress(t, d, keyID, "tron", "nile"); nile != addr {
		t.Fatalf("nile address %s differs from mainnet's %s", nile, addr)
	}

	raw := tronTransfer(t, want.Bytes())
	unsigned, err := proto.Marshal(&core.Transaction{RawData: raw})
	if err != nil {
		t.Fatal(err)
	}
	signed := apiSignWithID(t, d, keyID, "tron", "", hex.EncodeToString(unsigned))

	signedBytes, err := hex.DecodeString(signed.Transaction)
	if err != nil {
		t.Fatalf("signed transaction is not hex: %v", err)
	}
	var tx core.Transaction
	if err := proto.Unmarshal(signedBytes, &tx); err != nil {
		t.Fatalf("signed Transaction does not decode: %v", err)
	}
	if !proto.Equal(tx.RawData, raw) || len(tx.Signature) != 1 {
		t.Fatalf("signed Transaction has other raw_data or %d signatures", len(tx.Signature))
	}
	rawBytes, err := proto.Marshal(tx.RawData)
	if err != nil {
		t.Fatal(err)
	}
	txid := sha256.Sum256(rawBytes)
	if signed.TxID != hex.EncodeToString(txid[:]) {
		t.Fatalf("txid %s, want %x", signed.TxID, txid)
	}
	if hex.EncodeToString(tx.Signature[0]) != signed.Signature {
		t.Fatalf("the Transaction's signature differs from the one the API reported")
	}
	recovered, err := crypto.SigToPub(txid[:], tx.Signature[0])
	if err != nil {
		t.Fatalf("the signature does not recover a key: %v", err)
	}
	if signer := address.PubkeyToAddress(*recovered); signer.String() != addr {
		t.Fatalf("signature recovers to %s, not %s", signer, addr)
	}

	// A transfer owned by another address is refused, not signed.
	other := append([]byte{address.TronBytePrefix}, make([]byte, 20)...)
	foreign, err := proto.Marshal(&core.Transaction{RawData: tronTransfer(t, other)})
	if err != nil {
		t.Fatal(err)
	}
	if status := apiSignStatus(t, d, keyID, "tron", "", hex.EncodeToString(foreign)); status != http.StatusBadRequest {
		t.Fatalf("signing another owner's transfer: status %d, want 400", status)
	}
}

// tronTransfer is the raw_data of a 1 TRX TransferContract from owner, with a reference block
// and an expiration as a node's createtransaction fills them.
func tronTransfer(t *testing.T, owner []byte) *core.TransactionRaw {
	to, err := address.Base58ToAddress("TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC")
	if err != nil {
		t.Fatal(err)
	}
	param, err := anypb.New(&core.TransferContract{OwnerAddress: owner, ToAddress: to.Bytes(), Amount: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli()
	return &core.TransactionRaw{
		RefBlockBytes: []byte{0x4e, 0x1f},
		RefBlockHash:  []byte{0x8a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81},
		Expiration:    now + 60_000,
		Timestamp:     now,
		Contract: []*core.Transaction_Contract{{
			Type:      core.Transaction_Contract_TransferContract,
			Parameter: param,
		}},
	}
}
