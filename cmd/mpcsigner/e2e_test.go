package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	gnark "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// TestDevnetEndToEnd is the whole product as a user meets it: the real binary, a devnet of six
// processes, the CLI. Every signature is checked with go-ethereum's libsecp256k1 binding.
func TestDevnetEndToEnd(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	d := startDevnet(t, data, "--restart-delay", "6s", "--sign-timeout", "15s")

	var key api.Key
	d.cliJSON(t, &key, "key", "create", "--scheme", "ecdsa-secp256k1", "--label", "treasury")
	if len(key.ID) != 32 || key.Label != "treasury" || key.Scheme != "ecdsa-secp256k1" {
		t.Fatalf("key create printed %+v", key)
	}
	if pub, err := hex.DecodeString(key.PublicKey); err != nil || len(pub) != 33 {
		t.Fatalf("public_key %q is not a 33-byte compressed key", key.PublicKey)
	}

	t.Run("list and show", func(t *testing.T) {
		var list api.KeyList
		d.cliJSON(t, &list, "key", "list")
		if len(list.Keys) != 1 || list.Keys[0].ID != key.ID {
			t.Fatalf("key list printed %+v", list)
		}
		for _, ref := range []string{"treasury", key.ID} {
			var shown api.Key
			d.cliJSON(t, &shown, "key", "show", ref)
			if shown.PublicKey != key.PublicKey {
				t.Fatalf("key show %s printed %+v", ref, shown)
			}
		}
	})

	t.Run("healthcheck: every party attested by the simulated CA", func(t *testing.T) {
		for p := 1; p <= 3; p++ {
			hc := d.healthcheck(p)
			if hc.Status != "ok" || len(hc.Parties) != 3 {
				t.Fatalf("host %d: %+v", p, hc)
			}
			for _, pa := range hc.Parties {
				if pa.Kind != "sim" || !pa.Verified || !pa.Fresh || len(pa.Measurements) != 3 {
					t.Errorf("host %d reports party %d as %+v", p, pa.Party, pa)
				}
				if int(pa.Party) != p && !pa.Accepted {
					t.Errorf("host %d: its enclave has not accepted party %d", p, pa.Party)
				}
			}
		}
	})

	t.Run("sign and verify independently", func(t *testing.T) {
		signAndVerify(t, d, key, nil)
	})

	t.Run("P-256 key, verified by OpenSSL", func(t *testing.T) {
		openssl, err := exec.LookPath("openssl")
		if err != nil {
			t.Skip("openssl is not installed: cannot verify P-256 signatures independently")
		}
		var p256 api.Key
		d.cliJSON(t, &p256, "key", "create", "--scheme", "ecdsa-p256", "--label", "legacy-p256")
		if p256.Scheme != "ecdsa-p256" {
			t.Fatalf("key create printed %+v", p256)
		}
		digest := randomHex32()
		var sig api.SignResponse
		d.cliJSON(t, &sig, "sign", "--key", "legacy-p256", "--digest", digest)
		verifyP256WithOpenSSL(t, openssl, p256.PublicKey, digest, sig.Signature)
	})

	t.Run("BLS12-381 key, verified by gnark-crypto", func(t *testing.T) {
		var bk api.Key
		d.cliJSON(t, &bk, "key", "create", "--scheme", "bls12-381", "--label", "validator-1")
		if pub, err := hex.DecodeString(bk.PublicKey); err != nil || len(pub) != 48 {
			t.Fatalf("BLS key create printed %+v", bk)
		}
		// Validator keys sign only Ethereum messages, through the Web3Signer API (see
		// TestEth2EndToEnd for the rest of it).
		golden, err := os.ReadFile(filepath.Join("..", "..", "chains", "eth2", "testdata", "openapi", "attestation.json"))
		if err != nil {
			t.Fatal(err)
		}
		var ex struct {
			SigningRoot string `json:"signingRoot"`
		}
		if err := json.Unmarshal(golden, &ex); err != nil {
			t.Fatal(err)
		}
		status, sig := w3sSign(t, d.info.Web3Signer, "0x"+bk.PublicKey, string(golden))
		if status != 200 {
			t.Fatalf("eth2 sign: %d %s", status, sig)
		}
		verifyBLSWithGnark(t, bk.PublicKey, strings.TrimPrefix(ex.SigningRoot, "0x"), sig)
	})

	t.Run("errors", func(t *testing.T) {
		_, stderr, code := d.cli(t, "sign", "--key", "nosuchkey", "--digest", randomHex32())
		if code != 1 || !strings.Contains(stderr, "nosuchkey") || !strings.Contains(stderr, "404") {
			t.Errorf("sign with an unknown key: exit %d, %q", code, stderr)
		}
		_, stderr, code = d.cli(t, "sign", "--key", "treasury", "--digest", "abc")
		if code != 1 || !strings.Contains(stderr, "400") {
			t.Errorf("sign with a malformed digest: exit %d, %q", code, stderr)
		}
		_, stderr, code = d.cli(t, "key", "create", "--label", "treasury")
		if code != 1 || !strings.Contains(stderr, "409") {
			t.Errorf("key create with a label in use: exit %d, %q", code, stderr)
		}
		_, _, code = d.cli(t, "sign", "--key", "treasury")
		if code != 2 {
			t.Errorf("sign without --digest: exit %d, want 2 (usage)", code)
		}
		tokenBytes, err := os.ReadFile(d.info.TokenFile)
		if err != nil {
			t.Fatal(err)
		}
		token := strings.TrimSpace(string(tokenBytes))
		signURL := d.info.API + "/v1/keys/treasury/sign"
		body := `{"digest":"` + randomHex32() + `"}`
		for _, tc := range []struct {
			name, token, url, body string
			status                 int
		}{
			{"no token", "", signURL, body, http.StatusUnauthorized},
			{"wrong token", strings.Repeat("0", len(token)), signURL, body, http.StatusUnauthorized},
			{"unknown key", token, d.info.API + "/v1/keys/ghost/sign", body, http.StatusNotFound},
			{"short digest", token, signURL, `{"digest":"00ff"}`, http.StatusBadRequest},
			{"zero digest", token, signURL, `{"digest":"` + strings.Repeat("0", 64) + `"}`, http.StatusBadRequest},
			{"unknown field", token, signURL, `{"digest":"` + randomHex32() + `","extra":1}`, http.StatusBadRequest},
			{"not json", token, signURL, `digest=1`, http.StatusBadRequest},
			{"one signer", token, signURL, `{"digest":"` + randomHex32() + `","parties":[1]}`, http.StatusBadRequest},
			{"huge body", token, signURL, `{"digest":"` + strings.Repeat("a", 100000) + `"}`, http.StatusBadRequest},
		} {
			status, e := rawRequest(t, http.MethodPost, tc.url, tc.token, tc.body)
			if status != tc.status || e.Message == "" {
				t.Errorf("%s: HTTP %d %+v, want %d with a message", tc.name, status, e, tc.status)
			}
		}
	})

	t.Run("one enclave killed: the other two sign", func(t *testing.T) {
		old := d.refresh().Parties[2].EnclavePID
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "host 1 to see party 3 unreachable", 10*time.Second, func() bool {
			h := d.health(1)
			return len(h.Parties) == 3 && !h.Parties[2].Reachable
		})
		got := signAndVerify(t, d, key, nil)
		if !slices.Equal(got.Parties, []uint16{1, 2}) {
			t.Fatalf("signed with %v while party 3 was down", got.Parties)
		}
		waitFor(t, "the devnet to restart enclave 3", 30*time.Second, func() bool {
			p := d.refresh().Parties[2].EnclavePID
			return p != old && processAlive(p) && d.health(1).Reachable == 3
		})
		got = signAndVerify(t, d, key, []uint16{1, 3})
		if !slices.Equal(got.Parties, []uint16{1, 3}) {
			t.Fatalf("asked for signers 1,3, got %v", got.Parties)
		}
		signAndVerify(t, d, key, []uint16{2, 3})
	})

	t.Run("quorum lost: 503 without hanging", func(t *testing.T) {
		info := d.refresh()
		for _, p := range []int{1, 2} {
			if err := syscall.Kill(info.Parties[p].EnclavePID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "host 1 to see parties 2 and 3 unreachable", 10*time.Second, func() bool { return d.health(1).Reachable == 1 })
		start := time.Now()
		_, stderr, code := d.cli(t, "sign", "--key", "treasury", "--digest", randomHex32(), "--timeout", "60s")
		if code != 1 || !strings.Contains(stderr, "503") {
			t.Fatalf("with two enclaves down: exit %d, %q; want a 503", code, stderr)
		}
		t.Logf("lost quorum answered in %s: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(stderr))
		waitFor(t, "the devnet to restart enclaves 2 and 3", 40*time.Second, func() bool { return d.health(1).Reachable == 3 })
		signAndVerify(t, d, key, []uint16{2, 3})
	})

	t.Run("party with an unallowed measurement: refused, the other two sign", func(t *testing.T) {
		cfgPath := filepath.Join(data, "party-3", "enclave.yaml")
		original, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		// Enclave 3 now measures as another image (its config names a file to measure).
		rogueImage := filepath.Join(t.TempDir(), "rogue-image")
		if err := os.WriteFile(rogueImage, []byte("not the build the policy pins"), 0o600); err != nil {
			t.Fatal(err)
		}
		rogue := strings.Replace(string(original), "measure_file: \"\"", "measure_file: "+rogueImage, 1)
		if rogue == string(original) {
			t.Fatalf("enclave.yaml has no measure_file to change:\n%s", original)
		}
		restartEnclave := func(config []byte) {
			if err := os.WriteFile(cfgPath, config, 0o600); err != nil {
				t.Fatal(err)
			}
			old := d.refresh().Parties[2].EnclavePID
			if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the devnet to restart enclave 3", 30*time.Second, func() bool {
				p := d.refresh().Parties[2].EnclavePID
				return p != old && processAlive(p)
			})
		}
		restartEnclave([]byte(rogue))
		var refused api.PartyAttestation
		waitFor(t, "host 1 to report party 3's attestation refused", 30*time.Second, func() bool {
			hc := d.healthcheck(1)
			if len(hc.Parties) != 3 {
				return false
			}
			refused = hc.Parties[2]
			return hc.Parties[2].Reachable && !hc.Parties[2].Verified && !hc.Parties[2].Accepted
		})
		if !strings.Contains(refused.Error, "measurement") {
			t.Errorf("party 3's refusal does not say why: %q", refused.Error)
		}
		got := signAndVerify(t, d, key, nil)
		if !slices.Equal(got.Parties, []uint16{1, 2}) {
			t.Fatalf("signed with %v while party 3 was unattested", got.Parties)
		}
		_, stderr, code := d.cli(t, "sign", "--key", "treasury", "--digest", randomHex32(), "--parties", "1,3")
		if code != 1 || !strings.Contains(stderr, "503") || !strings.Contains(stderr, "party 3") {
			t.Fatalf("signing with the unattested party: exit %d, %q; want a 503 naming party 3", code, stderr)
		}
		restartEnclave(original)
		waitFor(t, "party 3 accepted again by every host", 30*time.Second, d.allHealthy)
		signAndVerify(t, d, key, []uint16{1, 3})
	})

	t.Run("metrics", func(t *testing.T) {
		resp, err := http.Get(d.refresh().Parties[0].Metrics)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`mpcsigner_protocol_runs_total{op="sign",result="ok",scheme="ecdsa-secp256k1"}`,
			`mpcsigner_protocol_run_seconds_bucket{op="keygen"`,
			`mpcsigner_api_requests_total{op="sign",result="not_found"}`,
			`mpcsigner_host_parties_reachable 3`,
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})

	t.Run("whole devnet restarted: same key signs", func(t *testing.T) {
		info := d.refresh()
		d.stop()
		for _, p := range info.Parties {
			if processAlive(p.HostPID) || processAlive(p.EnclavePID) {
				t.Fatalf("party %d's processes outlived the devnet", p.Party)
			}
		}
		if _, err := os.Stat(filepath.Join(data, devnetFileName)); !os.IsNotExist(err) {
			t.Fatalf("devnet.json left behind after a clean stop: %v", err)
		}
		d2 := startDevnet(t, data)
		var shown api.Key
		d2.cliJSON(t, &shown, "key", "show", key.ID)
		if shown.PublicKey != key.PublicKey {
			t.Fatalf("after restart the key is %+v, was %+v", shown, key)
		}
		signAndVerify(t, d2, key, nil)
	})
}

// signAndVerify signs a random digest through the CLI and checks the signature with
// go-ethereum: it verifies under the key, is low-S, and its recovery id recovers the key.
func signAndVerify(t *testing.T, d *devnetProc, key api.Key, parties []uint16) api.SignResponse {
	t.Helper()
	digest := randomHex32()
	args := []string{"sign", "--key", key.Label, "--digest", digest}
	if len(parties) > 0 {
		var ps []string
		for _, p := range parties {
			ps = append(ps, string(rune('0'+p)))
		}
		args = append(args, "--parties", strings.Join(ps, ","))
	}
	var sig api.SignResponse
	d.cliJSON(t, &sig, args...)
	sigBytes, err := hex.DecodeString(sig.Signature)
	if err != nil || len(sigBytes) != 64 {
		t.Fatalf("signature %q is not 64 bytes of hex", sig.Signature)
	}
	pub, _ := hex.DecodeString(key.PublicKey)
	dig, _ := hex.DecodeString(digest)
	if !crypto.VerifySignature(pub, dig, sigBytes) {
		t.Fatalf("go-ethereum rejects signature %s over %s", sig.Signature, digest)
	}
	if sig.RecoveryID == nil {
		t.Fatal("an ECDSA signature came without its recovery id")
	}
	recovered, err := crypto.SigToPub(dig, append(sigBytes, byte(*sig.RecoveryID)))
	if err != nil {
		t.Fatalf("recovering with id %d: %v", *sig.RecoveryID, err)
	}
	if hex.EncodeToString(crypto.CompressPubkey(recovered)) != key.PublicKey {
		t.Fatalf("recovery id %d recovers another key", *sig.RecoveryID)
	}
	return sig
}

// verifyP256WithOpenSSL checks a hex r||s signature over a hex digest under a hex compressed
// P-256 key with `openssl pkeyutl -verify`.
func verifyP256WithOpenSSL(t *testing.T, openssl, pubHex, digestHex, sigHex string) {
	t.Helper()
	pub, _ := hex.DecodeString(pubHex)
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), pub)
	if x == nil {
		t.Fatalf("%s is not a compressed P-256 key", pubHex)
	}
	spki, err := x509.MarshalPKIXPublicKey(&ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y})
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := hex.DecodeString(sigHex)
	if len(sig) != 64 {
		t.Fatalf("signature %q is not 64 bytes", sigHex)
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := hex.DecodeString(digestHex)
	dir := t.TempDir()
	files := map[string][]byte{"pub.pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), "sig.der": der, "digest.bin": digest}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-sigfile", "sig.der", "-in", "digest.bin")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl rejects the P-256 signature: %v\n%s", err, out)
	}
}

// verifyBLSWithGnark checks an Ethereum BLS signature (proof-of-possession ciphersuite) with
// gnark-crypto, which shares no code with the blst library the engine uses.
func verifyBLSWithGnark(t *testing.T, pubHex, msgHex, sigHex string) {
	t.Helper()
	pubB, _ := hex.DecodeString(pubHex)
	msg, _ := hex.DecodeString(msgHex)
	sigB, _ := hex.DecodeString(sigHex)
	var pk gnark.G1Affine
	if _, err := pk.SetBytes(pubB); err != nil {
		t.Fatalf("public key: %v", err)
	}
	var sig gnark.G2Affine
	if _, err := sig.SetBytes(sigB); err != nil {
		t.Fatalf("signature: %v", err)
	}
	h, err := gnark.HashToG2(msg, []byte("BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, g1, _ := gnark.Generators()
	var negG1 gnark.G1Affine
	negG1.Neg(&g1)
	ok, err := gnark.PairingCheck([]gnark.G1Affine{pk, negG1}, []gnark.G2Affine{h, sig})
	if err != nil || !ok {
		t.Fatalf("gnark-crypto rejects the BLS signature (%v)", err)
	}
}

func randomHex32() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
