package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ThalesGroup/crypto11"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/miekg/pkcs11"
)

// TestGoPKCS11ClientsAgainstDevnet uses the module the way Go custody software does: through
// github.com/miekg/pkcs11 (raw PKCS#11: a secp256k1 key, verified with go-ethereum) and through
// github.com/ThalesGroup/crypto11 (a crypto.Signer: a P-256 key, since crypto11 cannot use
// secp256k1; verified with OpenSSL).
func TestGoPKCS11ClientsAgainstDevnet(t *testing.T) {
	module := buildPKCS11Module(t)
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"))
	t.Setenv("MPCSIGNER_PKCS11_CONF", d.info.PKCS11.Config)

	t.Run("miekg/pkcs11, secp256k1", func(t *testing.T) {
		p := pkcs11.New(module)
		if p == nil {
			t.Fatal("the module does not load")
		}
		if err := p.Initialize(); err != nil {
			t.Fatal(err)
		}
		defer p.Destroy()
		defer p.Finalize()
		slots, err := p.GetSlotList(true)
		if err != nil || len(slots) != 2 {
			t.Fatalf("slots %v, %v", slots, err)
		}
		sh, err := p.OpenSession(slots[0], pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
		if err != nil {
			t.Fatal(err)
		}
		defer p.CloseSession(sh)
		if err := p.Login(sh, pkcs11.CKU_USER, "wrong-pin"); err == nil {
			t.Fatal("a wrong PIN was accepted")
		}
		if err := p.Login(sh, pkcs11.CKU_USER, d.info.PKCS11.UserPIN); err != nil {
			t.Fatal(err)
		}
		secp256k1OID := []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a}
		pubH, privH, err := p.GenerateKeyPair(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)},
			[]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, secp256k1OID), pkcs11.NewAttribute(pkcs11.CKA_LABEL, "miekg-k1"), pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true)},
			[]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, "miekg-k1"), pkcs11.NewAttribute(pkcs11.CKA_SIGN, true), pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true)})
		if err != nil {
			t.Fatal(err)
		}
		attrs, err := p.GetAttributeValue(sh, pubH, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil)})
		if err != nil {
			t.Fatal(err)
		}
		var point []byte
		if _, err := asn1.Unmarshal(attrs[0].Value, &point); err != nil {
			t.Fatalf("CKA_EC_POINT is not a DER OCTET STRING: %v", err)
		}
		pub, err := ethcrypto.UnmarshalPubkey(point)
		if err != nil {
			t.Fatalf("CKA_EC_POINT is not a secp256k1 point: %v", err)
		}
		if _, err := p.GetAttributeValue(sh, privH, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)}); err == nil {
			t.Fatal("the private key's CKA_VALUE was readable")
		}
		digest := make([]byte, 32)
		_, _ = rand.Read(digest)
		if err := p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}, privH); err != nil {
			t.Fatal(err)
		}
		sig, err := p.Sign(sh, digest) // a length query, then the signature
		if err != nil {
			t.Fatal(err)
		}
		if len(sig) != 64 || !ethcrypto.VerifySignature(ethcrypto.CompressPubkey(pub), digest, sig) {
			t.Fatalf("go-ethereum rejects the signature %x", sig)
		}
	})

	t.Run("crypto11, P-256", func(t *testing.T) {
		openssl, err := exec.LookPath("openssl")
		if err != nil {
			t.Skip("openssl is not installed: the crypto11 signature cannot be verified independently")
		}
		ctx, err := crypto11.Configure(&crypto11.Config{Path: module, TokenLabel: "mpcsigner ECDSA", Pin: d.info.PKCS11.UserPIN})
		if err != nil {
			t.Fatal(err)
		}
		defer ctx.Close()
		signer, err := ctx.GenerateECDSAKeyPairWithLabel([]byte("c11"), []byte("crypto11-p256"), elliptic.P256())
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte("custody withdrawal #1")
		sum := sha256.Sum256(msg)
		der, err := signer.Sign(rand.Reader, sum[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &rs); err != nil {
			t.Fatalf("crypto11 returned no DER signature: %v", err)
		}
		raw := make([]byte, 64)
		rs.R.FillBytes(raw[:32])
		rs.S.FillBytes(raw[32:])
		pub, ok := signer.Public().(*ecdsa.PublicKey)
		if !ok {
			t.Fatalf("crypto11's public key is %T", signer.Public())
		}
		compressed := elliptic.MarshalCompressed(elliptic.P256(), pub.X, pub.Y)
		verifyP256WithOpenSSL(t, openssl, hex.EncodeToString(compressed), hex.EncodeToString(sum[:]), hex.EncodeToString(raw))
		// The key is found again by label, as a fresh process would.
		again, err := ctx.FindKeyPair(nil, []byte("crypto11-p256"))
		if err != nil || again == nil {
			t.Fatalf("FindKeyPair by label: %v", err)
		}
	})
}
