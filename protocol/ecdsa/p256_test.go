package ecdsa

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// P-256 keys: a 2-of-3 keygen and signatures by two signer pairs, each verified by OpenSSL (a
// separate implementation from Go's crypto/ecdsa and tss-lib), and their recovery ids checked.
func TestP256KeygenAndSign(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping a P-256 keygen in -short mode")
	}
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed: P-256 signatures not verified by an independent implementation")
	}
	parties := []protocol.PartyID{1, 2, 3}
	nonce := newNonce()
	runs := map[protocol.PartyID]protocol.Run{}
	for _, p := range parties {
		pp, err := loadPreParams(int(p) + 3) // fixtures 4-6: not shared with the secp256k1 suite's key
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewKeygen(KeygenConfig{Self: p, Parties: parties, Threshold: 2, SessionNonce: nonce, PreParams: pp, Curve: CurveP256})
		if err != nil {
			t.Fatal(err)
		}
		runs[p] = r
	}
	results, err := execute(runs, nil, keygenTimeout)
	if err != nil {
		t.Fatal(err)
	}
	shares := map[protocol.PartyID][]byte{}
	var pub []byte
	for p, res := range results {
		if res.Err != nil {
			t.Fatalf("%s: %v", p, res.Err)
		}
		shares[p] = res.Keygen.Share
		pub = res.Keygen.PublicKey
	}
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), pub)
	if x == nil {
		t.Fatalf("public key %x is not a compressed P-256 point", pub)
	}
	if s, err := DecodeShare(shares[1]); err != nil || s.curve != p256Curve {
		t.Fatalf("share does not decode as P-256: %v", err)
	}
	dir := t.TempDir()
	der, err := x509.MarshalPKIXPublicKey(&ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y})
	if err != nil {
		t.Fatal(err)
	}
	pubPath := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, signers := range [][]protocol.PartyID{{1, 2}, {2, 3}} {
		var digest [32]byte
		_, _ = rand.Read(digest[:])
		runs, err := signRuns(shares, signers, digest, newNonce(), nil)
		if err != nil {
			t.Fatal(err)
		}
		results, err := execute(runs, nil, signTimeout)
		if err != nil {
			t.Fatal(err)
		}
		sig := results[signers[0]].Signature
		if sig == nil {
			t.Fatalf("%v: %v", signers, results[signers[0]].Err)
		}
		verifyWithOpenSSL(t, openssl, dir, pubPath, digest, sig)
		qx, qy, ok := recoverP256(new(big.Int).SetBytes(sig.R[:]), new(big.Int).SetBytes(sig.S[:]), digest, sig.RecoveryID)
		if !ok || qx.Cmp(x) != 0 || qy.Cmp(y) != 0 {
			t.Fatalf("recovery id %d does not recover the key", sig.RecoveryID)
		}
	}
}

// verifyWithOpenSSL checks an ECDSA signature over a digest with `openssl pkeyutl -verify`.
func verifyWithOpenSSL(t *testing.T, openssl, dir, pubPath string, digest [32]byte, sig *protocol.Signature) {
	t.Helper()
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig.R[:]), new(big.Int).SetBytes(sig.S[:])})
	if err != nil {
		t.Fatal(err)
	}
	sigPath, digPath := filepath.Join(dir, "sig.der"), filepath.Join(dir, "digest.bin")
	if err := os.WriteFile(sigPath, der, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(digPath, digest[:], 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-sigfile", sigPath, "-in", digPath).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl rejects the P-256 signature: %v\n%s", err, out)
	}
	// A wrong digest must fail, or the check above proves nothing.
	digest[0] ^= 1
	if err := os.WriteFile(digPath, digest[:], 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-sigfile", sigPath, "-in", digPath).CombinedOutput(); err == nil {
		t.Fatalf("openssl accepted the signature over another digest:\n%s", out)
	}
}
