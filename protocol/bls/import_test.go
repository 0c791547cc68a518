package bls

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// The secret and public key of the EIP-2335 test keystores: importing that secret must give
// exactly that validator public key.
const (
	eip2335Secret = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
	eip2335Pubkey = "9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07"
)

func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newSecret returns a fresh random secret key and its public key.
func newSecret(t testing.TB) (secret, pub []byte) {
	t.Helper()
	x, err := randomScalar(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Zeroize()
	return x.Serialize(), g1Mul(x).ToAffine().Compress()
}

// importRuns returns the runs of an import of secret (whose public key is pub) dealt by
// dealer among parties 1..n: only the dealer is given the secret.
func importRuns(t testing.TB, n, threshold int, dealer protocol.PartyID, secret, pub, nonce []byte) map[protocol.PartyID]protocol.Run {
	t.Helper()
	parties := make([]protocol.PartyID, n)
	for i := range parties {
		parties[i] = protocol.PartyID(i + 1)
	}
	runs := make(map[protocol.PartyID]protocol.Run, n)
	for _, p := range parties {
		r, err := Engine{}.Keygen(importParams(p, parties, threshold, dealer, secret, pub, nonce))
		if err != nil {
			t.Fatalf("Keygen(%s, import): %v", p, err)
		}
		runs[p] = r
	}
	return runs
}

func importParams(self protocol.PartyID, parties []protocol.PartyID, threshold int, dealer protocol.PartyID, secret, pub, nonce []byte) protocol.KeygenParams {
	imp := &protocol.ImportParams{Dealer: dealer, PublicKey: pub}
	if self == dealer {
		imp.Secret = bytes.Clone(secret)
	}
	return protocol.KeygenParams{Self: self, Parties: parties, Threshold: threshold, SessionNonce: nonce, Import: imp}
}

// runImport imports secret and returns the parties' shares as a fixture.
func runImport(t testing.TB, n, threshold int, dealer protocol.PartyID, secret, pub []byte) *keygenFixture {
	t.Helper()
	results := execute(t, importRuns(t, n, threshold, dealer, secret, pub, newNonce(t)), nil)
	fx := &keygenFixture{n: n, threshold: threshold, publicKey: pub, shares: make(map[protocol.PartyID][]byte)}
	for p, res := range results {
		if res.Err != nil || res.Keygen == nil {
			t.Fatalf("import %d-of-%d: %s: %+v", threshold, n, p, res)
		}
		if !bytes.Equal(res.Keygen.PublicKey, pub) {
			t.Fatalf("import %d-of-%d: %s ends with group key %x, want %x", threshold, n, p, res.Keygen.PublicKey, pub)
		}
		fx.shares[p] = res.Keygen.Share
	}
	if len(fx.shares) != n {
		t.Fatalf("%d results for %d parties", len(fx.shares), n)
	}
	return fx
}

func TestImportAndSign(t *testing.T) {
	randomSecret, randomPub := newSecret(t)
	for _, tc := range []struct {
		name         string
		n, threshold int
		dealer       protocol.PartyID
		secret, pub  []byte
		signerSets   [][]protocol.PartyID
	}{
		{"2-of-3 EIP-2335 key", 3, 2, 1, hexBytes(t, eip2335Secret), hexBytes(t, eip2335Pubkey),
			[][]protocol.PartyID{protocoltest.IDs(1, 2), protocoltest.IDs(1, 3), protocoltest.IDs(2, 3)}},
		{"3-of-5 random key", 5, 3, 4, randomSecret, randomPub,
			[][]protocol.PartyID{protocoltest.IDs(1, 2, 3), protocoltest.IDs(1, 3, 5), protocoltest.IDs(2, 4, 5), protocoltest.IDs(3, 4, 5), protocoltest.IDs(1, 2, 5)}},
		{"3-of-3", 3, 3, 3, randomSecret, randomPub, [][]protocol.PartyID{protocoltest.IDs(1, 2, 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := runImport(t, tc.n, tc.threshold, tc.dealer, tc.secret, tc.pub)
			for _, set := range tc.signerSets {
				if got := reconstructSecret(t, fx, set); !bytes.Equal(got, tc.secret) {
					t.Fatalf("secret reconstructed from %v = %x, want the imported %x", set, got, tc.secret)
				}
			}
			digest := protocoltest.DigestOf("import " + tc.name)
			var first []byte
			for _, signers := range tc.signerSets {
				sig := signOnce(t, fx, signers, digest)
				gnarkVerify(t, tc.pub, digest, sig)
				if first == nil {
					first = sig
				}
				if !bytes.Equal(sig, first) {
					t.Fatalf("signers %v produced another signature than %v", signers, tc.signerSets[0])
				}
			}
			// The threshold signature is the one the imported key makes alone.
			sk := new(blst.SecretKey).Deserialize(tc.secret)
			if want := new(blst.P2Affine).Sign(sk, digest[:], dst).Compress(); !bytes.Equal(first, want) {
				t.Fatalf("threshold signature %x, the imported key's own %x", first, want)
			}
			gnarkRecompute(t, fx, tc.signerSets[0], digest, first)
			checkNoSecretInShares(t, fx, tc.secret)
		})
	}
}

// checkNoSecretInShares checks that no party's share encoding holds the imported secret, in
// any of the encodings a share could carry it, and that no share is the secret itself.
func checkNoSecretInShares(t *testing.T, fx *keygenFixture, secret []byte) {
	t.Helper()
	forms := [][]byte{
		secret,
		[]byte(base64.StdEncoding.EncodeToString(secret)),
		[]byte(base64.StdEncoding.EncodeToString(secret)[:40]),
		[]byte(hex.EncodeToString(secret)),
	}
	for p, enc := range fx.shares {
		for _, f := range forms {
			if bytes.Contains(enc, f) {
				t.Fatalf("the share of %s contains the imported secret", p)
			}
		}
		s, err := decodeShare(enc)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(s.secret.Serialize(), secret) {
			t.Fatalf("the share of %s is the imported secret", p)
		}
		s.wipe()
	}
}

func TestImportDealerWithAnotherKeyIsBlamed(t *testing.T) {
	// Every party expects pub; the dealer deals a polynomial whose constant term is another
	// key (it was given that key and its matching public key).
	_, pub := newSecret(t)
	other, otherPub := newSecret(t)
	parties := protocoltest.IDs(1, 2, 3)
	nonce := newNonce(t)
	runs := map[protocol.PartyID]protocol.Run{}
	for _, p := range parties {
		params := importParams(p, parties, 2, 1, nil, pub, nonce)
		if p == 1 {
			params = importParams(p, parties, 2, 1, other, otherPub, nonce)
		}
		r, err := Engine{}.Keygen(params)
		if err != nil {
			t.Fatal(err)
		}
		runs[p] = r
	}
	results := execute(t, runs, nil)
	for _, p := range protocoltest.IDs(2, 3) {
		protocoltest.WantCulprits(t, results[p], 1)
		if !strings.Contains(results[p].Err.Error(), "not of the imported key") {
			t.Fatalf("%s: %v", p, results[p].Err)
		}
	}
}

func TestImportTamperedCommitmentsBlameDealer(t *testing.T) {
	secret, pub := newSecret(t)
	otherPoint := g1Mul(indexScalar(7)).ToAffine().Compress()
	for _, k := range []int{0, 1, 2} { // the constant commitment, then the others
		t.Run(fmt.Sprintf("commitment %d", k), func(t *testing.T) {
			tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
				if from == 2 && to == 3 && broadcast {
					copy(payload[headerSize+2+k*PublicKeySize:], otherPoint)
				}
				return payload
			}
			results := execute(t, importRuns(t, 4, 3, 2, secret, pub, newNonce(t)), tamper)
			protocoltest.WantCulprits(t, results[3], 2)
			for _, p := range protocoltest.IDs(1, 2, 4) {
				if results[p].Err != nil {
					t.Fatalf("%s: %v", p, results[p].Err)
				}
			}
		})
	}
}

func TestImportTamperedShareBlamesDealer(t *testing.T) {
	secret, pub := newSecret(t)
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == 1 && to == 3 && !broadcast {
			payload[len(payload)-1] ^= 1 // still a valid scalar, but not f(3)
		}
		return payload
	}
	results := execute(t, importRuns(t, 3, 2, 1, secret, pub, newNonce(t)), tamper)
	protocoltest.WantCulprits(t, results[3], 1)
	if results[2].Err != nil {
		t.Fatalf("party 2: %v", results[2].Err)
	}
}

func TestImportDroppedShareStalls(t *testing.T) {
	// A party whose share never arrives does not finish (the coordinator's timeout aborts it);
	// it must not finish with a key made of the commitments alone.
	secret, pub := newSecret(t)
	nonce := newNonce(t)
	runs := importRuns(t, 3, 2, 1, secret, pub, nonce)
	for _, r := range runs {
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, r := range runs {
			r.Abort(nil)
		}
	}()
	var commitments []byte
	for commitments == nil {
		if o := <-runs[1].Outgoing(); o.Broadcast {
			commitments = o.Payload
		}
	}
	if err := runs[2].Handle(1, true, commitments); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-runs[2].Done():
		t.Fatalf("party 2 finished without its share: %+v", res)
	default:
	}
}

func TestImportNonDealerDealingIsRefused(t *testing.T) {
	secret, pub := newSecret(t)
	t.Run("payloads", func(t *testing.T) {
		nonce := newNonce(t)
		cs := []*blst.P1Affine{g1Mul(indexScalar(2)).ToAffine(), g1Mul(indexScalar(3)).ToAffine()}
		for _, tc := range []struct {
			name      string
			broadcast bool
			payload   []byte
		}{
			{"commitments", true, encodeCommitments(nonce, 3, cs)},
			{"share", false, encodeShare(nonce, 3, 2, indexScalar(5))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				runs := importRuns(t, 3, 2, 1, secret, pub, nonce)
				r := runs[2]
				if err := r.Start(); err != nil {
					t.Fatal(err)
				}
				defer r.Abort(nil)
				err := r.Handle(3, tc.broadcast, tc.payload)
				if pe := protocoltest.ProtoErr(t, err); !slicesEqual(pe.Culprits, protocoltest.IDs(3)) || !strings.Contains(err.Error(), "only the dealer") {
					t.Fatalf("dealing from a non-dealer: %v", err)
				}
				protocoltest.WantCulprits(t, protocoltest.AwaitDone(t, r), 3)
			})
		}
	})
	t.Run("a party running a plain keygen", func(t *testing.T) {
		// Party 3 was started as a DKG party and deals: party 2 blames it for the first of
		// its payloads, whichever it is.
		nonce := newNonce(t)
		r2 := importRuns(t, 3, 2, 1, secret, pub, nonce)[2]
		r3, err := Engine{}.Keygen(protocol.KeygenParams{Self: 3, Parties: protocoltest.IDs(1, 2, 3), Threshold: 2, SessionNonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []protocol.Run{r2, r3} {
			if err := r.Start(); err != nil {
				t.Fatal(err)
			}
			defer r.Abort(nil)
		}
		for {
			o := <-r3.Outgoing()
			if o.Broadcast || o.To[0] == 2 {
				if err := r2.Handle(3, o.Broadcast, o.Payload); err == nil {
					t.Fatal("party 2 accepted a dealing from party 3")
				}
				break
			}
		}
		protocoltest.WantCulprits(t, protocoltest.AwaitDone(t, r2), 3)
	})
}

func TestImportParamsValidation(t *testing.T) {
	secret, pub := newSecret(t)
	_, otherPub := newSecret(t)
	nonce := newNonce(t)
	parties := protocoltest.IDs(1, 2, 3)
	zero := make([]byte, scalarSize)
	order := bytes.Repeat([]byte{0xff}, scalarSize)
	for _, tc := range []struct {
		name string
		self protocol.PartyID
		imp  protocol.ImportParams
		want string
	}{
		{"dealer not a party", 1, protocol.ImportParams{Dealer: 4, PublicKey: pub}, "not one of the parties"},
		{"dealer 0", 1, protocol.ImportParams{Dealer: 0, PublicKey: pub}, "not one of the parties"},
		{"no public key", 2, protocol.ImportParams{Dealer: 1}, "public key"},
		{"public key not a point", 2, protocol.ImportParams{Dealer: 1, PublicKey: bytes.Repeat([]byte{0x8a}, PublicKeySize)}, "public key"},
		{"public key short", 2, protocol.ImportParams{Dealer: 1, PublicKey: pub[:47]}, "public key"},
		{"dealer without the secret", 1, protocol.ImportParams{Dealer: 1, PublicKey: pub}, "secret"},
		{"dealer with a short secret", 1, protocol.ImportParams{Dealer: 1, Secret: secret[:31], PublicKey: pub}, "secret"},
		{"dealer with a zero secret", 1, protocol.ImportParams{Dealer: 1, Secret: zero, PublicKey: pub}, "secret"},
		{"dealer with a secret above the order", 1, protocol.ImportParams{Dealer: 1, Secret: order, PublicKey: pub}, "secret"},
		{"dealer with another key's public key", 1, protocol.ImportParams{Dealer: 1, Secret: secret, PublicKey: otherPub}, "not the secret key of the public key"},
		{"non-dealer given the secret", 2, protocol.ImportParams{Dealer: 1, Secret: secret, PublicKey: pub}, "only the dealer may hold it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imp := tc.imp
			r, err := Engine{}.Keygen(protocol.KeygenParams{Self: tc.self, Parties: parties, Threshold: 2, SessionNonce: nonce, Import: &imp})
			if err == nil {
				r.Abort(nil)
				t.Fatal("Keygen accepted the import")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
			for _, form := range []string{hex.EncodeToString(secret), fmt.Sprint(secret), base64.StdEncoding.EncodeToString(secret)} {
				if strings.Contains(err.Error(), form) {
					t.Fatal("error quotes the secret")
				}
			}
		})
	}
	imp := protocol.ImportParams{Dealer: 1, Secret: secret, PublicKey: pub}
	for _, s := range []string{imp.String(), fmt.Sprintf("%v %+v %#v", imp, imp, imp), fmt.Sprintf("%v", &imp)} {
		if strings.Contains(s, hex.EncodeToString(secret)) || strings.Contains(s, fmt.Sprint(secret)) || strings.Contains(s, fmt.Sprintf("%x", secret)) {
			t.Fatalf("ImportParams prints its secret: %s", s)
		}
	}
}

func TestImportDealerWipesSecret(t *testing.T) {
	secret, pub := newSecret(t)
	parties := protocoltest.IDs(1, 2, 3)
	zero := new(blst.Scalar)
	t.Run("after dealing", func(t *testing.T) {
		r, err := newKeygen(importParams(1, parties, 2, 1, secret, pub, newNonce(t)), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		x := r.imp.secret
		if !bytes.Equal(x.Serialize(), secret) {
			t.Fatal("the run does not hold the secret before Start")
		}
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		res := protocoltest.AwaitDone(t, r) // the dealer ends at once: it waits for nobody
		if res.Err != nil || res.Keygen == nil || !bytes.Equal(res.Keygen.PublicKey, pub) {
			t.Fatalf("dealer result %+v", res)
		}
		r.Mu.Lock()
		defer r.Mu.Unlock()
		if r.imp.secret != nil || !x.Equals(zero) {
			t.Fatal("the dealer kept the imported secret after dealing")
		}
		if !r.ownShare.Equals(zero) {
			t.Fatal("the dealer kept its own share in the run after the end")
		}
	})
	t.Run("aborted before Start", func(t *testing.T) {
		r, err := newKeygen(importParams(1, parties, 2, 1, secret, pub, newNonce(t)), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		x := r.imp.secret
		r.Abort(nil)
		protocoltest.CheckAbortedOnce(t, r, "keygen")
		if !x.Equals(zero) {
			t.Fatal("an aborted dealer kept the imported secret")
		}
	})
	t.Run("the caller's slice is the caller's", func(t *testing.T) {
		p := importParams(1, parties, 2, 1, secret, pub, newNonce(t))
		r, err := newKeygen(p, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Abort(nil)
		clear(p.Import.Secret) // as the caller does once Keygen has returned
		if !bytes.Equal(r.imp.secret.Serialize(), secret) {
			t.Fatal("the run shares memory with the caller's secret")
		}
	})
}
