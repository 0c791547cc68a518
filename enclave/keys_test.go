package enclave

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// A PKCS#11 id asked for at generation is kept by every party, unique like a label, and is
// never part of a signing.
func TestKeygenKeepsThePKCS11ID(t *testing.T) {
	c, ecdsaKey := clusterWithKey(t)
	pkcs11ID := newID()[:8]
	// BLS: its keygen needs no pre-parameters, which the shared cluster has spent.
	res, err := c.run(wire.PrepareArgs{
		Session: newID(), Kind: wire.KindKeygen, Scheme: protocol.SchemeBLS12381,
		Parties: []protocol.PartyID{1, 2, 3}, Threshold: 2, KeyID: newID(), Label: "with-p11-id", PKCS11ID: pkcs11ID,
	})
	if err != nil {
		t.Fatal(err)
	}
	key := res[1].Key
	for p := 1; p <= 3; p++ {
		if res[protocol.PartyID(p)].Key.PKCS11ID != pkcs11ID {
			t.Fatalf("party %d's result has PKCS#11 id %q", p, res[protocol.PartyID(p)].Key.PKCS11ID)
		}
		body, err := c.call(p, wire.MethodKeyGet, wire.KeyRef{Key: key.ID})
		if err != nil {
			t.Fatal(err)
		}
		var info wire.KeyInfo
		if err := wire.DecodeJSON(body, &info); err != nil {
			t.Fatal(err)
		}
		if info.PKCS11ID != pkcs11ID {
			t.Fatalf("party %d stored PKCS#11 id %q, want %q", p, info.PKCS11ID, pkcs11ID)
		}
	}
	keygen := func(f func(*wire.PrepareArgs)) wire.PrepareArgs {
		a := wire.PrepareArgs{Session: newID(), Kind: wire.KindKeygen, Scheme: protocol.SchemeBLS12381, Parties: []protocol.PartyID{1, 2, 3}, Threshold: 2, KeyID: newID(), Label: "fresh-" + newID()[:6]}
		f(&a)
		return a
	}
	for _, tc := range []struct {
		name string
		args wire.PrepareArgs
		code string
	}{
		{"id in use", keygen(func(a *wire.PrepareArgs) { a.PKCS11ID = pkcs11ID }), wire.CodeConflict},
		{"the CKA_ID another key shows", keygen(func(a *wire.PrepareArgs) { a.PKCS11ID = hex.EncodeToString([]byte(ecdsaKey.ID)) }), wire.CodeConflict},
		{"upper case", keygen(func(a *wire.PrepareArgs) { a.PKCS11ID = "0A0B" }), wire.CodeBadRequest},
		{"odd length", keygen(func(a *wire.PrepareArgs) { a.PKCS11ID = "0a0" }), wire.CodeBadRequest},
		{"65 bytes", keygen(func(a *wire.PrepareArgs) { a.PKCS11ID = strings.Repeat("ab", 65) }), wire.CodeBadRequest},
		{"not hex", keygen(func(a *wire.PrepareArgs) { a.PKCS11ID = "zz" }), wire.CodeBadRequest},
		{"in a signing", wire.PrepareArgs{Session: newID(), Kind: wire.KindSign, Scheme: ecdsaKey.Scheme, Parties: []protocol.PartyID{1, 2},
			KeyID: ecdsaKey.ID, Digest: hex.EncodeToString(randomDigest()), PKCS11ID: "0a"}, wire.CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.call(1, wire.MethodPrepare, tc.args)
			assertCode(t, err, tc.code)
		})
	}
}

// The PKCS#11 id index is written with the key and checked like the label's.
func TestKeyringPKCS11IDIndex(t *testing.T) {
	k := &keyring{st: store.NewMem()}
	rec := testRecord("a", protocol.SchemeECDSAP256)
	rec.Info.PKCS11ID = "0a0b"
	if err := k.save(rec); err != nil {
		t.Fatal(err)
	}
	if id, err := k.st.Get(prefixPKCS11ID + "0a0b"); err != nil || string(id) != rec.Info.ID {
		t.Fatalf("index holds %q, %v", id, err)
	}
	other := testRecord("b", protocol.SchemeECDSAP256)
	other.Info.PKCS11ID = "0a0b"
	if err := k.save(other); !errors.Is(err, errConflict) {
		t.Fatalf("a second key with the same PKCS#11 id: %v", err)
	}
}

// testRecord is a key record with a made-up share, for keyring tests that run no protocol.
func testRecord(label string, scheme protocol.Scheme) *keyRecord {
	return &keyRecord{
		Info: wire.KeyInfo{ID: newID(), Label: label, Scheme: scheme, PublicKey: "02" + newID() + newID(),
			Threshold: 2, Parties: []protocol.PartyID{1, 2, 3}, Created: "2025-01-01T00:00:00Z"},
		Share: []byte("not a real share of " + label),
	}
}

// keys.delete removes the record and its label, public key and PKCS#11 id indexes, leaves other
// keys alone, answers Deleted false for a key the party does not hold, and frees the label.
func TestKeyringDelete(t *testing.T) {
	k := &keyring{st: store.NewMem()}
	gone, kept := testRecord("gone", protocol.SchemeECDSASecp256k1), testRecord("kept", protocol.SchemeEd25519)
	gone.Info.PKCS11ID, kept.Info.PKCS11ID = "0a0b", "0c0d"
	for _, r := range []*keyRecord{gone, kept} {
		if err := k.save(r); err != nil {
			t.Fatal(err)
		}
	}
	deleted, err := k.delete(gone.Info.ID)
	if err != nil || !deleted {
		t.Fatalf("delete: %v, %v", deleted, err)
	}
	for _, name := range []string{prefixKey + gone.Info.ID, prefixLabel + "gone", prefixPublicKey + gone.Info.PublicKey, prefixPKCS11ID + "0a0b"} {
		if _, err := k.st.Get(name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s survived the deletion: %v", name, err)
		}
	}
	for _, ref := range []string{gone.Info.ID, "gone", gone.Info.PublicKey} {
		if _, err := k.resolve(ref); !errors.Is(err, errNotFound) {
			t.Errorf("the deleted key is still found by %s: %v", ref, err)
		}
	}
	for _, name := range []string{prefixKey + kept.Info.ID, prefixLabel + "kept", prefixPublicKey + kept.Info.PublicKey, prefixPKCS11ID + "0c0d"} {
		if _, err := k.st.Get(name); err != nil {
			t.Errorf("%s of the other key is gone: %v", name, err)
		}
	}
	if deleted, err := k.delete(gone.Info.ID); err != nil || deleted {
		t.Fatalf("deleting it again: %v, %v; want no error and nothing deleted", deleted, err)
	}
	again := testRecord("gone", protocol.SchemeECDSASecp256k1)
	again.Info.PKCS11ID = "0a0b"
	if err := k.save(again); err != nil {
		t.Fatalf("the label and PKCS#11 id of a deleted key cannot be used again: %v", err)
	}
	for _, bad := range []string{"gone", "", strings.ToUpper(kept.Info.ID), kept.Info.PublicKey} {
		if _, err := k.delete(bad); !errors.Is(err, errBadRequest) {
			t.Errorf("delete(%q): %v, want a bad request (keys are deleted by id only)", bad, err)
		}
	}
}

// A validator key is not deleted: the Keymanager API disables it and its slashing protection
// history stays.
func TestKeyringDeleteRefusesValidatorKeys(t *testing.T) {
	k := &keyring{st: store.NewMem()}
	v := testRecord("validator", protocol.SchemeBLS12381)
	if err := k.save(v); err != nil {
		t.Fatal(err)
	}
	if _, err := k.delete(v.Info.ID); !errors.Is(err, errBadRequest) || !strings.Contains(err.Error(), "Keymanager") {
		t.Fatalf("deleting a validator key: %v", err)
	}
	if _, err := k.resolve(v.Info.ID); err != nil {
		t.Fatalf("the refused deletion removed the key: %v", err)
	}
}

// failingApply is a store whose batches fail, as a full disk would.
type failingApply struct{ store.Store }

func (failingApply) Apply(*store.Batch) error { return errors.New("disk full") }

// The record and its indexes go in one batch: when it fails, nothing is deleted.
func TestKeyringDeleteIsOneBatch(t *testing.T) {
	mem := store.NewMem()
	rec := testRecord("k", protocol.SchemeECDSAP256)
	rec.Info.PKCS11ID = "01"
	if err := (&keyring{st: mem}).save(rec); err != nil {
		t.Fatal(err)
	}
	k := &keyring{st: failingApply{mem}}
	if _, err := k.delete(rec.Info.ID); err == nil {
		t.Fatal("a failed batch reported success")
	}
	for _, name := range []string{prefixKey + rec.Info.ID, prefixLabel + "k", prefixPublicKey + rec.Info.PublicKey, prefixPKCS11ID + "01"} {
		if _, err := mem.Get(name); err != nil {
			t.Errorf("%s is gone after a failed deletion: %v", name, err)
		}
	}
}

// Through the wire: every party deletes its share, a second deletion is no error, a deleted key
// cannot be found or sign, and a validator key is refused.
func TestKeyDeleteMethod(t *testing.T) {
	c := newTestCluster(t)
	rec, validator := testRecord("to-delete", protocol.SchemeECDSASecp256k1), testRecord("validator", protocol.SchemeBLS12381)
	for _, e := range c.enclaves {
		for _, r := range []*keyRecord{rec, validator} {
			cp := *r
			if err := e.keys.save(&cp); err != nil {
				t.Fatal(err)
			}
		}
	}
	del := func(p int, id string) (bool, error) {
		body, err := c.call(p, wire.MethodKeyDelete, wire.KeyRef{Key: id})
		if err != nil {
			return false, err
		}
		var r wire.KeyDeleteReply
		if err := wire.DecodeJSON(body, &r); err != nil {
			t.Fatalf("party %d's reply: %v", p, err)
		}
		return r.Deleted, nil
	}
	for p := 1; p <= 3; p++ {
		if deleted, err := del(p, rec.Info.ID); err != nil || !deleted {
			t.Fatalf("party %d: %v, %v", p, deleted, err)
		}
		if deleted, err := del(p, rec.Info.ID); err != nil || deleted {
			t.Fatalf("party %d, again: %v, %v; want no error and nothing deleted", p, deleted, err)
		}
		_, err := c.call(p, wire.MethodKeyGet, wire.KeyRef{Key: rec.Info.ID})
		assertCode(t, err, wire.CodeNotFound)
		_, err = del(p, validator.Info.ID)
		assertCode(t, err, wire.CodeBadRequest)
	}
	_, err := c.call(1, wire.MethodPrepare, wire.PrepareArgs{Session: newID(), Kind: wire.KindSign, Scheme: rec.Info.Scheme,
		Parties: []protocol.PartyID{1, 2}, KeyID: rec.Info.ID, Digest: hex.EncodeToString(randomDigest())})
	assertCode(t, err, wire.CodeNotFound)
	_, err = c.call(1, wire.MethodKeyDelete, map[string]any{"key": rec.Info.ID, "force": true})
	assertCode(t, err, wire.CodeBadRequest)
}
