package tron

import (
	"bytes"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

// FuzzDecodeTransaction checks that decodeTransaction never panics, that every refusal wraps
// chains.ErrInvalid, and that what it accepts is raw_data and nothing else, with an owner
// taken from inside it.
func FuzzDecodeTransaction(f *testing.F) {
	key, _ := btcec.ParsePubKey(chaintest.Secp256k1("tron").PublicKey())
	owner := addressBytes(key)
	f.Add(transferTx(owner))
	f.Add(transaction(raw(contract(2, param("TransferAssetContract", chaintest.Cat(chaintest.PBBytes(1, []byte("1")), chaintest.PBBytes(2, owner)))))))
	f.Add(transaction(raw()))
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := decodeTransaction(b)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if !bytes.Equal(transaction(tx.raw), b) {
			t.Fatalf("accepted a Transaction that is more than raw_data: %x", b)
		}
		if len(tx.owner) != ownerAddressSize || !bytes.Contains(tx.raw, tx.owner) {
			t.Fatalf("owner %x is not 21 bytes from raw_data", tx.owner)
		}
	})
}
