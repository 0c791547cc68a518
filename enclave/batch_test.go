package enclave

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// batchArgs is a batched signing of digests by signers, item i binding presigs[i] if given.
func batchArgs(key *wire.KeyInfo, digests [][]byte, presigs []string, signers ...protocol.PartyID) wire.PrepareArgs {
	args := wire.PrepareArgs{Session: newID(), Kind: wire.KindSign, Scheme: key.Scheme, Parties: signers, KeyID: key.ID, Epoch: key.Epoch}
	for i, d := range digests {
		item := wire.BatchItem{Digest: hex.EncodeToString(d)}
		if presigs != nil {
			item.Presignature = presigs[i]
		}
		args.Batch = append(args.Batch, item)
	}
	return args
}

// checkBatch checks every signer returned the same signatures, one per digest, and go-ethereum
// verifies each over its own digest.
func checkBatch(t *testing.T, key *wire.KeyInfo, digests [][]byte, res map[protocol.PartyID]*wire.SessionResult) {
	t.Helper()
	var first []wire.BatchSignature
	for p, r := range res {
		if len(r.Batch) != len(digests) {
			t.Fatalf("%s returned %d signatures for %d digests", p, len(r.Batch), len(digests))
		}
		if first == nil {
			first = r.Batch
			continue
		}
		for i := range r.Batch {
			if r.Batch[i].Signature != first[i].Signature {
				t.Fatalf("%s returned another signature for item %d", p, i)
			}
		}
	}
	for i, b := range first {
		sig, err := hex.DecodeString(b.Signature)
		if err != nil || b.RecoveryID == nil {
			t.Fatalf("item %d: %+v", i, b)
		}
		verifyWithGeth(t, key.PublicKey, digests[i], sig, *b.RecoveryID)
	}
}

// A batch signs each item with its own presignature, or by the full protocol, in one session;
// each signature is over its own item's digest.
func TestBatchedSigning(t *testing.T) {
	c, key := clusterWithKey(t)
	signers := []protocol.PartyID{1, 2}
	digests := [][]byte{randomDigest(), randomDigest(), randomDigest()}
	presigs := []string{c.presign(t, key, signers...), c.presign(t, key, signers...), c.presign(t, key, signers...)}
	res, err := c.run(batchArgs(key, digests, presigs, signers...))
	if err != nil {
		t.Fatalf("batch of presigned signings: %v", err)
	}
	checkBatch(t, key, digests, res)
	// Every signer recorded every item's binding (in one synced write) before signing.
	for _, e := range c.enclaves[:2] {
		names, err := e.presigs.st.List(prefixPresignUsed)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range presigs {
			if !slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, "/"+id) }) {
				t.Fatalf("party %s has no binding record of presignature %s: %v", e.cfg.Identity.Party, id, names)
			}
		}
	}
	if _, err := c.run(batchArgs(key, digests, presigs, signers...)); err == nil {
		t.Fatal("a batch of used presignatures signed again")
	}
	// A batch naming one unknown presignature is refused whole, and burns the others it
	// claimed: they never sign.
	fresh := c.presign(t, key, signers...)
	spare := c.presign(t, key, signers...)
	if _, err := c.run(batchArgs(key, digests[:2], []string{fresh, newID()}, signers...)); err == nil {
		t.Fatal("a batch with an unknown presignature signed")
	}
	if _, err := c.run(signArgs(key, digests[0], fresh, signers...)); err == nil {
		t.Fatal("a presignature claimed by a refused batch signed afterwards")
	}
	if _, err := c.run(signArgs(key, digests[0], spare, signers...)); err != nil {
		t.Fatalf("a presignature no batch claimed: %v", err)
	}

	digests = digests[:2]
	res, err = c.run(batchArgs(key, digests, nil, 2, 3))
	if err != nil {
		t.Fatalf("batch of full signings: %v", err)
	}
	checkBatch(t, key, digests, res)
}

func TestBatchRefusals(t *testing.T) {
	c, key := clusterWithKey(t)
	one := batchArgs(key, [][]byte{randomDigest()}, nil, 1, 2)
	_, err := c.call(1, wire.MethodPrepare, one)
	assertCode(t, err, wire.CodeBadRequest)
	mixed := batchArgs(key, [][]byte{randomDigest(), randomDigest()}, nil, 1, 2)
	mixed.Digest = hex.EncodeToString(randomDigest())
	_, err = c.call(1, wire.MethodPrepare, mixed)
	assertCode(t, err, wire.CodeBadRequest)
	bad := batchArgs(key, [][]byte{randomDigest(), {1, 2}}, nil, 1, 2)
	_, err = c.call(1, wire.MethodPrepare, bad)
	assertCode(t, err, wire.CodeBadRequest)
	if n := c.enclaves[0].sessions.count(); n != 0 {
		t.Fatalf("refused batches left %d sessions", n)
	}
}
