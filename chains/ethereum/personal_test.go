package ethereum

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/google/go-cmp/cmp"
)

// TestPersonalMessageHash compares the EIP-191 digest with go-ethereum's accounts.TextHash,
// with the prefix written out by hand, and where known with a published value (alloy's
// eip191_hash_message example).
func TestPersonalMessageHash(t *testing.T) {
	tests := []struct {
		name string
		msg  []byte
		want string // published digest, if any
	}{
		{"alloy example", []byte("hello_world"), "0xd52de6e039c023a7c77752126e4d9d99e2a7dacea3d19e97e9c2ebcb3ecf1c00"},
		{"empty", nil, ""},
		{"binary", []byte{0x00, 0xff, 0x19, 0x45}, ""},
		{"32 bytes, looks like a digest", make([]byte, 32), ""},
		{"multi-digit length", make([]byte, 1000), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PersonalMessageHash(tc.msg)
			if diff := cmp.Diff(accounts.TextHash(tc.msg), got[:]); diff != "" {
				t.Errorf("against accounts.TextHash (-want +got):\n%s", diff)
			}
			byHand := crypto.Keccak256([]byte("\x19Ethereum Signed Message:\n" + strconv.Itoa(len(tc.msg)) + string(tc.msg)))
			if diff := cmp.Diff(byHand, got[:]); diff != "" {
				t.Errorf("against the EIP-191 formula (-want +got):\n%s", diff)
			}
			if tc.want != "" {
				if diff := cmp.Diff(tc.want, common.Hash(got).Hex()); diff != "" {
					t.Errorf("against the published digest (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestSignPersonal signs with a fixed key and verifies the result with go-ethereum's
// crypto.SigToPub and with btcec.
func TestSignPersonal(t *testing.T) {
	k := fixedKeySigner(t, "0x4646464646464646464646464646464646464646464646464646464646464646")
	for _, msg := range []string{"hello_world", "", "Example `personal_sign` message"} {
		t.Run(fmt.Sprintf("%q", msg), func(t *testing.T) {
			sig, err := SignPersonal(context.Background(), k.addr, []byte(msg), k.sign)
			if err != nil {
				t.Fatal(err)
			}
			if sig[64] != 27 && sig[64] != 28 {
				t.Fatalf("V = %d, want 27 or 28", sig[64])
			}
			digest := accounts.TextHash([]byte(msg))
			rsv := append(sig[:64:64], sig[64]-27)
			pub, err := crypto.SigToPub(digest, rsv)
			if err != nil {
				t.Fatal(err)
			}
			if got := crypto.PubkeyToAddress(*pub); got != k.addr {
				t.Errorf("recovers %s, want %s", got, k.addr)
			}
			btcecVerify(t, k.compressed(), digest, rsv)
		})
	}
}

// TestSignChecksTheSigner feeds SignPersonal signers that misbehave: each must produce an
// error wrapping ErrSignature (or the signer's own error), never a signature.
func TestSignChecksTheSigner(t *testing.T) {
	k := newKeySigner(t)
	other := newKeySigner(t)
	boom := errors.New("quorum lost")
	tests := []struct {
		name string
		sign SignFunc
		want error
	}{
		{"another key", func(ctx context.Context, _ common.Address, d [32]byte) ([65]byte, error) {
			return other.sign(ctx, other.addr, d)
		}, ErrSignature},
		{"another digest", func(ctx context.Context, from common.Address, d [32]byte) ([65]byte, error) {
			d[0] ^= 1
			return k.sign(ctx, from, d)
		}, ErrSignature},
		{"V as 27/28", func(ctx context.Context, from common.Address, d [32]byte) ([65]byte, error) {
			sig, err := k.sign(ctx, from, d)
			sig[64] += 27
			return sig, err
		}, ErrSignature},
		{"high S", func(ctx context.Context, from common.Address, d [32]byte) ([65]byte, error) {
			sig, err := k.sign(ctx, from, d)
			return highS(sig), err
		}, ErrSignature},
		{"zero", func(context.Context, common.Address, [32]byte) ([65]byte, error) {
			return [65]byte{}, nil
		}, ErrSignature},
		{"signer error", func(context.Context, common.Address, [32]byte) ([65]byte, error) {
			return [65]byte{}, boom
		}, boom},
		{"no signer", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := SignPersonal(context.Background(), k.addr, []byte("hi"), tc.sign)
			if err == nil {
				t.Fatalf("accepted signature %x", sig)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %q, want %q", err, tc.want)
			}
			if sig != [65]byte{} {
				t.Errorf("returned %x alongside the error", sig)
			}
		})
	}
}

// highS turns a low-S signature into its high-S twin (n - S, flipped recovery id), which
// verifies mathematically but Ethereum refuses (EIP-2).
func highS(sig [65]byte) [65]byte {
	s := new(big.Int).SetBytes(sig[32:64])
	s.Sub(crypto.S256().Params().N, s)
	s.FillBytes(sig[32:64])
	sig[64] ^= 1
	return sig
}
