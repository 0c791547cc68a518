package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// TestReshareEndToEnd runs share refreshes and committee changes from the CLI on a devnet of
// five parties, while a client keeps signing through the native API: no request may fail,
// the public key never changes, every signature verifies with crypto/ed25519, and after each
// step only the new committee signs. The committee goes 2-of-3 {1,2,3} -> refresh -> 3-of-5
// -> 2-of-3 {2,4,5}: parties 1 and 3 then hold nothing.
func TestReshareEndToEnd(t *testing.T) {
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"), "--parties", "5", "--threshold", "3")
	t.Cleanup(func() {
		if t.Failed() {
			out := d.output.String()
			t.Logf("devnet output (last 8 KiB):\n%s", out[max(0, len(out)-8192):])
		}
	})

	var key api.Key
	d.cliJSON(t, &key, "key", "create", "--scheme", "ed25519", "--label", "vault", "--parties", "1,2,3", "--threshold", "2")
	if key.Threshold != 2 || !slices.Equal(key.Parties, []uint16{1, 2, 3}) || key.Epoch != 0 {
		t.Fatalf("key create printed %+v; want 2 of [1 2 3] at epoch 0", key)
	}
	pub, _ := hex.DecodeString(key.PublicKey)

	// The committee change needs every new party: wait until every host has them attested.
	waitFor(t, "every party attested by every host", 3*time.Minute, func() bool {
		for p := range 5 {
			resp, err := http.Get(d.info.Parties[p].API + api.PathHealthcheck)
			if err != nil {
				t.Logf("host %d: %v", p+1, err)
				return false
			}
			var hc api.Healthcheck
			err = json.NewDecoder(resp.Body).Decode(&hc)
			resp.Body.Close()
			if why := allAttested(hc, p+1); err != nil || why != "" {
				t.Logf("host %d: %s (%v)", p+1, why, err)
				return false
			}
		}
		return true
	})

	load := startSigningLoad(t, d, key.ID, pub)
	steps := []struct {
		args      []string
		threshold int
		parties   []uint16
	}{
		{[]string{"key", "refresh", "vault"}, 2, []uint16{1, 2, 3}},
		{[]string{"key", "reshare", "vault", "--parties", "1,2,3,4,5", "--threshold", "3"}, 3, []uint16{1, 2, 3, 4, 5}},
		{[]string{"key", "reshare", "vault", "--parties", "2,4,5", "--threshold", "2"}, 2, []uint16{2, 4, 5}},
	}
	for i, step := range steps {
		var got api.Key
		d.cliJSON(t, &got, step.args...)
		if got.PublicKey != key.PublicKey || got.Epoch != uint64(i+1) || got.Threshold != step.threshold || !slices.Equal(got.Parties, step.parties) {
			t.Fatalf("%v printed %+v; want public key %s, epoch %d, %d of %v", step.args, got, key.PublicKey, i+1, step.threshold, step.parties)
		}
		load.waitForMore(t, 3)
		signEverySet(t, d, key.ID, pub, got)
	}
	signed, failed := load.stop()
	if len(failed) > 0 {
		t.Fatalf("%d of %d signings under the reshares failed; first: %s", len(failed), signed+len(failed), failed[0])
	}
	t.Logf("%d signatures under load, all verified, none failed", signed)

	// Parties 1 and 3 left the committee: naming them as signers is refused, and the cluster's
	// description of the key no longer lists them.
	_, stderr, code := d.cli(t, "sign", "--key", "vault", "--digest", randomHex32(), "--parties", "1,2")
	if code != 1 || !strings.Contains(stderr, "400") || !strings.Contains(stderr, "party 1 holds no share") {
		t.Fatalf("signing with party 1 after it left: exit %d, %q", code, stderr)
	}
	var vault api.Key
	d.cliJSON(t, &vault, "key", "show", "vault")
	if !slices.Equal(vault.Parties, []uint16{2, 4, 5}) || vault.Epoch != 3 {
		t.Fatalf("the key after the committee changes: %+v", vault)
	}

	// A validator key (2t > n: 3 of 5) refreshes; its committee cannot grow (a new party would
	// have no slashing protection history). Host 2, which did not run the refresh and cached the
	// old public shares, still combines the new partials; gnark checks the signatures.
	var v api.Key
	d.cliJSON(t, &v, "key", "create", "--scheme", "bls12-381", "--label", "validator", "--parties", "1,2,3,4", "--threshold", "3")
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
	host2 := d.info.Parties[1].Web3Signer
	if status, sig := w3sSign(t, host2, "0x"+v.PublicKey, string(golden)); status != 200 {
		t.Fatalf("attestation before the refresh: %d %s", status, sig)
	} else {
		verifyBLSWithGnark(t, v.PublicKey, strings.TrimPrefix(ex.SigningRoot, "0x"), sig)
	}
	d.cliJSON(t, &v, "key", "refresh", "validator")
	if v.Epoch != 1 {
		t.Fatalf("validator refresh printed %+v", v)
	}
	// The same attestation again (identical messages may be signed again), now from new shares.
	if status, sig := w3sSign(t, host2, "0x"+v.PublicKey, string(golden)); status != 200 {
		t.Fatalf("attestation after the refresh, through a host that cached the old shares: %d %s", status, sig)
	} else {
		verifyBLSWithGnark(t, v.PublicKey, strings.TrimPrefix(ex.SigningRoot, "0x"), sig)
	}
	if _, stderr, code := d.cli(t, "key", "reshare", "validator", "--parties", "1,2,3,4,5", "--threshold", "4"); code != 1 || !strings.Contains(stderr, "412") || !strings.Contains(stderr, "slashing protection history") {
		t.Fatalf("growing a validator key's committee: exit %d, %q", code, stderr)
	}

	// A BIP340 key through a committee change, checked with btcec's schnorr.
	var tr api.Key
	d.cliJSON(t, &tr, "key", "create", "--scheme", "bip340", "--label", "taproot", "--parties", "3,4,5", "--threshold", "2")
	d.cliJSON(t, &tr, "key", "reshare", "taproot", "--parties", "1,2,3,4,5", "--threshold", "3")
	trPub, err := schnorr.ParsePubKey(mustHex(t, tr.PublicKey))
	if err != nil || tr.Epoch != 1 {
		t.Fatalf("taproot key %+v (%v)", tr, err)
	}
	for _, parties := range []string{"1,2,3", "2,4,5", "1,3,5"} {
		digest := randomHex32()
		var sig api.SignResponse
		d.cliJSON(t, &sig, "sign", "--key", "taproot", "--digest", digest, "--parties", parties)
		s, err := schnorr.ParseSignature(mustHex(t, sig.Signature))
		if err != nil || !s.Verify(mustHex(t, digest), trPub) {
			t.Fatalf("BIP340 signature by %s after the committee change does not verify (%v)", parties, err)
		}
	}

	// Bad requests change nothing.
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"key", "reshare", "vault", "--parties", "2,4,9"}, "not in this cluster"},
		{[]string{"key", "reshare", "vault", "--threshold", "4"}, "at most the 3 new parties"},
		{[]string{"key", "reshare", "vault", "--parties", "2,2,4"}, "twice"},
		{[]string{"key", "refresh", "no-such-key"}, "404"},
	} {
		_, stderr, code := d.cli(t, bad.args...)
		if code != 1 || !strings.Contains(stderr, bad.want) {
			t.Errorf("%v: exit %d, %q; want a failure mentioning %q", bad.args, code, stderr, bad.want)
		}
	}
	if _, stderr, code := d.cli(t, "key", "reshare", "vault"); code != 2 || !strings.Contains(stderr, "key refresh") {
		t.Errorf("key reshare with nothing to change: exit %d, %q", code, stderr)
	}
	var after api.Key
	d.cliJSON(t, &after, "key", "show", "vault")
	if after.Epoch != 3 || after.PublicKey != key.PublicKey {
		t.Fatalf("after refused reshares the key is %+v", after)
	}
	signEverySet(t, d, key.ID, pub, after)
}

// TestScheduledRefresh: with refresh.every set on host 1, the keys' shares are refreshed on
// their own (the epoch rises, the public key stays) and they keep signing.
func TestScheduledRefresh(t *testing.T) {
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"), "--refresh-every", "2s")
	var key api.Key
	d.cliJSON(t, &key, "key", "create", "--scheme", "ed25519", "--label", "rotating")
	waitFor(t, "two scheduled refreshes", time.Minute, func() bool {
		var k api.Key
		d.cliJSON(t, &k, "key", "show", "rotating")
		if k.PublicKey != key.PublicKey {
			t.Fatalf("a scheduled refresh changed the public key: %+v", k)
		}
		return k.Epoch >= 2
	})
	var k api.Key
	d.cliJSON(t, &k, "key", "show", "rotating")
	pub, _ := hex.DecodeString(key.PublicKey)
	signEverySet(t, d, key.ID, pub, k)
}

// TestDerivationAndECDSARefreshEndToEnd derives BIP32 children of a threshold ECDSA key from
// the CLI and checks them against btcutil's hdkeychain working from the exported xpub alone:
// addresses, and signatures by the child key (go-ethereum's crypto recovers the child, not the
// parent). Then it refreshes the key (tss-lib resharing): the public key and the xpub stay, and
// the refreshed shares sign for the parent and for the child.
func TestDerivationAndECDSARefreshEndToEnd(t *testing.T) {
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"))
	var key api.Key
	d.cliJSON(t, &key, "key", "create", "--scheme", "ecdsa-secp256k1", "--label", "hot")

	var xpub api.XPub
	d.cliJSON(t, &xpub, "key", "xpub", "hot", "--network", "mainnet")
	if xpub.PublicKey != key.PublicKey || !strings.HasPrefix(xpub.XPub, "xpub") {
		t.Fatalf("key xpub printed %+v for key %s", xpub, key.PublicKey)
	}
	root, err := hdkeychain.NewKeyFromString(xpub.XPub)
	if err != nil {
		t.Fatalf("hdkeychain cannot read %s: %v", xpub.XPub, err)
	}
	child := hdChild(t, root, 0, 7)

	// Addresses at m/0/7, as the chains compute them from hdkeychain's child key.
	var addr api.Address
	d.cliJSON(t, &addr, "address", "--key", "hot", "--path", "m/0/7", "--chain", "ethereum")
	if want := crypto.PubkeyToAddress(*child).Hex(); addr.Address != want {
		t.Fatalf("address at m/0/7 is %s; hdkeychain's child gives %s", addr.Address, want)
	}
	d.cliJSON(t, &addr, "address", "--key", "hot", "--path", "m/0/7", "--chain", "bitcoin", "--network", "regtest")
	wpkh, err := btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(crypto.CompressPubkey(child)), &chaincfg.RegressionNetParams)
	if err != nil || addr.Address != wpkh.EncodeAddress() {
		t.Fatalf("bitcoin address at m/0/7 is %s; hdkeychain's child gives %v (%v)", addr.Address, wpkh, err)
	}

	checkSig := func(path string, want *ecdsa.PublicKey, parties string) {
		t.Helper()
		digest := randomHex32()
		args := []string{"sign", "--key", "hot", "--digest", digest, "--parties", parties}
		if path != "" {
			args = append(args, "--path", path)
		}
		var sig api.SignResponse
		d.cliJSON(t, &sig, args...)
		raw, _ := hex.DecodeString(sig.Signature)
		msg, _ := hex.DecodeString(digest)
		got, err := crypto.SigToPub(msg, append(raw, byte(*sig.RecoveryID)))
		// Compared as bytes: go-ethereum's and btcec's curve objects differ, so Equal would not.
		if err != nil || !bytes.Equal(crypto.CompressPubkey(got), crypto.CompressPubkey(want)) {
			t.Fatalf("signature at path %q by %s recovers to another key (%v)", path, parties, err)
		}
	}
	parent, err := crypto.DecompressPubkey(mustHex(t, key.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	checkSig("m/0/7", child, "1,2")
	checkSig("", parent, "2,3")

	_, stderr, code := d.cli(t, "address", "--key", "hot", "--path", "m/0'/7", "--chain", "ethereum")
	if code != 1 || !strings.Contains(stderr, "hardened") {
		t.Fatalf("a hardened path: exit %d, %q; want a refusal explaining hardened derivation", code, stderr)
	}

	var got api.Key
	d.cliJSON(t, &got, "key", "refresh", "hot")
	if got.PublicKey != key.PublicKey || got.Epoch != 1 || got.Threshold != 2 || !slices.Equal(got.Parties, []uint16{1, 2, 3}) {
		t.Fatalf("key refresh printed %+v", got)
	}
	var after api.XPub
	d.cliJSON(t, &after, "key", "xpub", "hot", "--network", "mainnet")
	if after.XPub != xpub.XPub {
		t.Fatalf("the refresh changed the xpub: %s, was %s", after.XPub, xpub.XPub)
	}
	for _, parties := range []string{"1,2", "1,3", "2,3"} {
		checkSig("", parent, parties)
	}
	checkSig("m/0/7", child, "1,3")
}

// hdChild derives a non-hardened child with hdkeychain and returns its public key.
func hdChild(t *testing.T, k *hdkeychain.ExtendedKey, path ...uint32) *ecdsa.PublicKey {
	t.Helper()
	for _, i := range path {
		var err error
		if k, err = k.Derive(i); err != nil {
			t.Fatal(err)
		}
	}
	pub, err := k.ECPubKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub.ToECDSA()
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signEverySet signs with every threshold-sized set of the key's committee and checks each
// signature with crypto/ed25519.
func signEverySet(t *testing.T, d *devnetProc, keyID string, pub []byte, k api.Key) {
	t.Helper()
	for _, set := range subsets(k.Parties, k.Threshold) {
		names := make([]string, len(set))
		for i, p := range set {
			names[i] = string(rune('0' + p))
		}
		digest := randomHex32()
		var sig api.SignResponse
		d.cliJSON(t, &sig, "sign", "--key", keyID, "--digest", digest, "--parties", strings.Join(names, ","))
		msg, _ := hex.DecodeString(digest)
		raw, _ := hex.DecodeString(sig.Signature)
		if !ed25519.Verify(pub, msg, raw) {
			t.Fatalf("signers %v at epoch %d: crypto/ed25519 rejects %s", set, k.Epoch, sig.Signature)
		}
	}
}

func subsets(ps []uint16, k int) [][]uint16 {
	if k == 0 {
		return [][]uint16{nil}
	}
	if len(ps) < k {
		return nil
	}
	var out [][]uint16
	for _, rest := range subsets(ps[1:], k-1) {
		out = append(out, append([]uint16{ps[0]}, rest...))
	}
	return append(out, subsets(ps[1:], k)...)
}

// signingLoad keeps one client signing with a key through the native API and verifies every
// signature with crypto/ed25519.
type signingLoad struct {
	cancel context.CancelFunc
	done   chan struct{}
	signed atomic.Int64
	mu     sync.Mutex
	failed []string
}

func startSigningLoad(t *testing.T, d *devnetProc, keyID string, pub []byte) *signingLoad {
	t.Helper()
	client, err := api.NewClient(api.ClientOptions{URL: d.info.API, TokenFile: d.info.TokenFile, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &signingLoad{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ctx.Err() == nil {
			msg := make([]byte, 32)
			_, _ = rand.Read(msg)
			resp, err := client.Sign(ctx, keyID, api.SignRequest{Digest: hex.EncodeToString(msg)})
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				raw, _ := hex.DecodeString(resp.Signature)
				if !ed25519.Verify(pub, msg, raw) {
					err = errBadSignature
				}
			}
			if err != nil {
				l.mu.Lock()
				l.failed = append(l.failed, err.Error())
				l.mu.Unlock()
				continue
			}
			l.signed.Add(1)
		}
	}()
	t.Cleanup(func() { l.stop() })
	return l
}

var errBadSignature = &api.Error{Message: "crypto/ed25519 rejects the signature"}

// waitForMore waits until n more signatures than now have been made.
func (l *signingLoad) waitForMore(t *testing.T, n int64) {
	t.Helper()
	target := l.signed.Load() + n
	waitFor(t, "signing to go on", time.Minute, func() bool { return l.signed.Load() >= target })
}

func (l *signingLoad) stop() (signed int, failed []string) {
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.signed.Load()), slices.Clone(l.failed)
}

// TestRestoreLostPartyByReshare: party 3's enclave loses its sealed state (its store is
// deleted while it is down) and comes back as a fresh enclave with a new attested identity.
// It holds nothing, so it cannot sign; the other two refresh the key to it, and it signs
// again with each of them, for the same public key (checked with crypto/ed25519).
func TestRestoreLostPartyByReshare(t *testing.T) {
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"), "--restart-delay", "5s")
	var key api.Key
	d.cliJSON(t, &key, "key", "create", "--scheme", "ed25519", "--label", "vault")
	pub := mustHex(t, key.PublicKey)

	old := d.refresh().Parties[2].EnclavePID
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "enclave 3 to exit", 10*time.Second, func() bool { return !processAlive(old) })
	if err := os.RemoveAll(filepath.Join(d.data, "party-3", "enclave")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "enclave 3 back, fresh", time.Minute, func() bool {
		p := d.refresh().Parties[2].EnclavePID
		return p != old && processAlive(p)
	})
	waitFor(t, "every party attested by every host", 2*time.Minute, d.allHealthy)

	if _, stderr, code := d.cli(t, "sign", "--key", "vault", "--digest", randomHex32(), "--parties", "1,3"); code != 1 || !strings.Contains(stderr, "404") {
		t.Fatalf("signing with the party that lost its state: exit %d, %q", code, stderr)
	}
	var got api.Key
	d.cliJSON(t, &got, "key", "refresh", "vault")
	if got.PublicKey != key.PublicKey || got.Epoch != 1 || !slices.Equal(got.Parties, []uint16{1, 2, 3}) {
		t.Fatalf("the refresh that restores party 3 printed %+v", got)
	}
	signEverySet(t, d, key.ID, pub, got)
}
