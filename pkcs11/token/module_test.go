package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	becdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// openTest opens a module on a fake host; extra lines are added to its configuration file.
func openTest(t *testing.T, extra ...string) (*fakeHost, *Module) {
	t.Helper()
	f := newFakeHost(t)
	conf := f.writeConfig(t, extra...)
	m, err := Open(func(k string) string {
		if k == ConfigEnv {
			return conf
		}
		return ""
	}, NewHandles())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return f, m
}

func wantRV(t *testing.T, err error, rv uint) {
	t.Helper()
	if got := ToCKR(OpOther, err); got != rv {
		t.Fatalf("got CKR 0x%X (%v), want 0x%X", got, err, rv)
	}
}

func loggedInSession(t *testing.T, f *fakeHost, m *Module) uint {
	t.Helper()
	h, err := m.OpenSession(SlotECDSA, CKF_SERIAL_SESSION|CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Login(h, CKU_USER, []byte(f.token)); err != nil {
		t.Fatal(err)
	}
	return h
}

func find(t *testing.T, m *Module, h uint, tmpl ...Attribute) []uint {
	t.Helper()
	if err := m.FindObjectsInit(h, tmpl); err != nil {
		t.Fatal(err)
	}
	out, err := m.FindObjects(h, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.FindObjectsFinal(h); err != nil {
		t.Fatal(err)
	}
	return out
}

func attr(t *testing.T, m *Module, h, obj, typ uint) []byte {
	t.Helper()
	s := []AttrSlot{{Type: typ, Query: true}}
	if rv := m.GetAttributeValue(h, obj, s); rv != CKR_OK {
		t.Fatalf("length query of 0x%X: CKR 0x%X", typ, rv)
	}
	s[0].Query, s[0].Buf = false, make([]byte, s[0].Len)
	if rv := m.GetAttributeValue(h, obj, s); rv != CKR_OK {
		t.Fatalf("attribute 0x%X: CKR 0x%X", typ, rv)
	}
	return s[0].Buf[:s[0].Len]
}

func TestConfigStrict(t *testing.T) {
	if _, err := ParseConfig([]byte("api: x\ntoken_file: y\nbogus: 1\n")); err == nil {
		t.Fatal("unknown key accepted")
	}
	c, err := ParseConfig([]byte(`{"api": "http://127.0.0.1:1", "token_file": "/t", "timeout": "2s"}`))
	if err != nil || c.Timeout != Duration(2e9) || c.KeygenTimeout != Duration(DefaultKeygenTimeout) {
		t.Fatalf("JSON config: %+v %v", c, err)
	}
	if _, err := ParseConfig([]byte("token_file: y\n")); err == nil {
		t.Fatal("missing api accepted")
	}
	if c, err := ParseConfig([]byte("api: x\ntoken_file: y\nallow_key_deletion: true\n")); err != nil || !c.AllowKeyDeletion {
		t.Fatalf("allow_key_deletion: true read as %+v, %v", c, err)
	}
	if c.AllowKeyDeletion {
		t.Fatal("key deletion allowed by a configuration that does not mention it")
	}
}

func TestInitArgs(t *testing.T) {
	for _, c := range []struct {
		set      int
		flags    uint
		reserved bool
		want     uint
	}{
		{0, 0, false, CKR_OK}, {4, CKF_OS_LOCKING_OK, false, CKR_OK}, {0, CKF_OS_LOCKING_OK, false, CKR_OK},
		{2, 0, false, CKR_ARGUMENTS_BAD}, {0, 0, true, CKR_ARGUMENTS_BAD}, {4, 0, false, CKR_OK},
		{0, CKF_LIBRARY_CANT_CREATE_OS_THREADS, false, CKR_OK},
	} {
		if got := CheckInitArgs(c.set, c.flags, c.reserved); got != c.want {
			t.Errorf("%+v: got 0x%X", c, got)
		}
	}
}

func TestLogin(t *testing.T) {
	f, m := openTest(t)
	h, _ := m.OpenSession(SlotECDSA, CKF_SERIAL_SESSION)
	wantRV(t, m.Login(h, CKU_USER, []byte("wrong")), CKR_PIN_INCORRECT)
	wantRV(t, m.Login(h, CKU_SO, []byte(f.token)), CKR_USER_TYPE_INVALID)
	wantRV(t, m.Login(h, CKU_USER, []byte(f.token)), CKR_OK)
	wantRV(t, m.Login(h, CKU_USER, []byte(f.token)), CKR_USER_ALREADY_LOGGED_IN)
	wantRV(t, m.Logout(h), CKR_OK)
	wantRV(t, m.Logout(h), CKR_USER_NOT_LOGGED_IN)
	_, err := m.OpenSession(SlotECDSA, 0)
	wantRV(t, err, CKR_SESSION_PARALLEL_NOT_SUPPORTED)
	_, err = m.OpenSession(7, CKF_SERIAL_SESSION)
	wantRV(t, err, CKR_SLOT_ID_INVALID)
	f.down.Store(true)
	wantRV(t, m.Login(h, CKU_USER, []byte(f.token)), CKR_DEVICE_ERROR)
}

func TestFindAndAttributes(t *testing.T) {
	f, m := openTest(t)
	pub, _ := m.OpenSession(SlotECDSA, CKF_SERIAL_SESSION)
	if got := find(t, m, pub); len(got) != 2 {
		t.Fatalf("public session sees %v, want the two public keys", got)
	}
	if rv := m.GetAttributeValue(pub, 3, []AttrSlot{{Type: CKA_LABEL, Query: true}}); rv != CKR_OBJECT_HANDLE_INVALID {
		t.Fatalf("private object visible without login: 0x%X", rv)
	}
	h := loggedInSession(t, f, m)
	if got := find(t, m, h); len(got) != 4 {
		t.Fatalf("logged in sees %v", got)
	}
	calls := f.listCalls.Load()
	if got := find(t, m, h, Attribute{CKA_CLASS, ulongBytes(CKO_CERTIFICATE)}); len(got) != 0 {
		t.Fatalf("certificates: %v", got)
	}
	if f.listCalls.Load() != calls {
		t.Fatal("a certificate search asked the host")
	}
	if got := find(t, m, h, Attribute{0xDEAD, []byte{1}}); len(got) != 0 {
		t.Fatalf("unknown attribute matched %v", got)
	}
	priv := find(t, m, h, Attribute{CKA_CLASS, ulongBytes(CKO_PRIVATE_KEY)}, Attribute{CKA_LABEL, []byte("legacy")})
	if len(priv) != 1 {
		t.Fatalf("by label: %v", priv)
	}
	if got := find(t, m, h, Attribute{CKA_ID, []byte("p1")}, Attribute{CKA_TOKEN, []byte{1}}, Attribute{CKA_KEY_TYPE, ulongBytes(CKK_EC)}); len(got) != 2 {
		t.Fatalf("by id: %v", got)
	}
	if !bytes.Equal(attr(t, m, h, priv[0], CKA_EC_PARAMS), P256.ECParams) {
		t.Fatal("EC params")
	}
	pubH := priv[0] - 1
	pt := attr(t, m, h, pubH, CKA_EC_POINT)
	if len(pt) != 67 || pt[0] != 4 || pt[1] != 65 || pt[2] != 4 {
		t.Fatalf("EC point %x", pt)
	}
	if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt[2:]); err != nil {
		t.Fatal(err)
	}
	// CKA_VALUE of the private key is sensitive; a short buffer is CKR_BUFFER_TOO_SMALL; the
	// other entries are still filled.
	s := []AttrSlot{{Type: CKA_VALUE, Query: true}, {Type: CKA_LABEL, Buf: make([]byte, 2)}, {Type: CKA_SIGN, Buf: make([]byte, 1)}}
	rv := m.GetAttributeValue(h, priv[0], s)
	if rv != CKR_ATTRIBUTE_SENSITIVE && rv != CKR_BUFFER_TOO_SMALL {
		t.Fatalf("rv 0x%X", rv)
	}
	if s[0].Len != CK_UNAVAILABLE_INFORMATION || s[1].Len != CK_UNAVAILABLE_INFORMATION || s[2].Len != 1 || s[2].Buf[0] != 1 {
		t.Fatalf("slots %+v", s)
	}
	if rv := m.GetAttributeValue(h, 9999, s[:1]); rv != CKR_OBJECT_HANDLE_INVALID {
		t.Fatalf("bad handle: 0x%X", rv)
	}
	wantRV(t, m.SetAttributeValue(h, priv[0], []Attribute{{CKA_LABEL, []byte("x")}}), CKR_ATTRIBUTE_READ_ONLY)
	if got := attr(t, m, h, priv[0], CKA_DESTROYABLE); !bytes.Equal(got, []byte{1}) {
		t.Fatalf("CKA_DESTROYABLE %x", got)
	}
	// Handles survive a new module (C_Finalize + C_Initialize) sharing the table.
	m2 := NewModule(m.cfg, m.backend, m.handles)
	h2 := loggedInSession(t, f, m2)
	if got := find(t, m2, h2, Attribute{CKA_LABEL, []byte("legacy")}, Attribute{CKA_CLASS, ulongBytes(CKO_PRIVATE_KEY)}); len(got) != 1 || got[0] != priv[0] {
		t.Fatalf("handle changed: %v vs %v", got, priv)
	}
	f.down.Store(true)
	wantRV(t, m.FindObjectsInit(h, nil), CKR_DEVICE_ERROR)
}

func signWith(t *testing.T, f *fakeHost, m *Module, h uint, label string, mech Mechanism, data []byte) ([]byte, uint) {
	t.Helper()
	priv := find(t, m, h, Attribute{CKA_CLASS, ulongBytes(CKO_PRIVATE_KEY)}, Attribute{CKA_LABEL, []byte(label)})
	if err := m.SignInit(h, mech, priv[0]); err != nil {
		t.Fatal(err)
	}
	before := f.signCalls.Load()
	if sig, err := m.Sign(h, data, 0, true); err != nil || sig != nil {
		t.Fatalf("length query: %v", err)
	}
	_, err := m.Sign(h, data, 10, false)
	wantRV(t, err, CKR_BUFFER_TOO_SMALL)
	if f.signCalls.Load() != before {
		t.Fatal("length query or short buffer called the API")
	}
	sig, err := m.Sign(h, data, 64, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Sign(h, data, 64, false)
	wantRV(t, err, CKR_OPERATION_NOT_INITIALIZED)
	return sig, priv[0]
}

func TestSignSecp256k1(t *testing.T) {
	f, m := openTest(t)
	h := loggedInSession(t, f, m)
	msg := []byte("hello custody")
	sig, priv := signWith(t, f, m, h, "btc-hot", Mechanism{Type: CKM_ECDSA_SHA256}, msg)
	k, _ := f.find("k1")
	var r, s btcec.ModNScalar
	r.SetByteSlice(sig[:32])
	s.SetByteSlice(sig[32:])
	d := sha256.Sum256(msg)
	if !becdsa.NewSignature(&r, &s).Verify(d[:], k.k1.PubKey()) {
		t.Fatal("secp256k1 signature does not verify with btcec")
	}
	// Local C_Verify with the public key object.
	wantRV(t, m.VerifyInit(h, Mechanism{Type: CKM_ECDSA_SHA256}, priv-1), CKR_OK)
	wantRV(t, m.Verify(h, msg, sig), CKR_OK)
	wantRV(t, m.VerifyInit(h, Mechanism{Type: CKM_ECDSA_SHA256}, priv-1), CKR_OK)
	wantRV(t, m.Verify(h, []byte("other"), sig), CKR_SIGNATURE_INVALID)
	wantRV(t, m.VerifyInit(h, Mechanism{Type: CKM_ECDSA}, priv-1), CKR_OK)
	wantRV(t, m.Verify(h, d[:], sig[:10]), CKR_SIGNATURE_LEN_RANGE)
	wantRV(t, m.VerifyInit(h, Mechanism{Type: CKM_ECDSA}, priv), CKR_KEY_FUNCTION_NOT_PERMITTED)
}

func TestSignP256MultiPartAndTruncation(t *testing.T) {
	f, m := openTest(t)
	h := loggedInSession(t, f, m)
	k, _ := f.find("p1")
	long := bytes.Repeat([]byte{0xAB}, 48) // e.g. a SHA-384 hash: leftmost 32 bytes are signed
	sig, priv := signWith(t, f, m, h, "legacy", Mechanism{Type: CKM_ECDSA}, long)
	if !ecdsa.Verify(&k.p256.PublicKey, long[:32], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("P-256 signature of a truncated hash does not verify")
	}
	short := []byte{1, 2, 3}
	wantRV(t, m.SignInit(h, Mechanism{Type: CKM_ECDSA}, priv), CKR_OK)
	sig, err := m.Sign(h, short, 64, false)
	if err != nil {
		t.Fatal(err)
	}
	padded := make([]byte, 32)
	copy(padded[29:], short)
	if !ecdsa.Verify(&k.p256.PublicKey, padded, new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("short hash not left-padded")
	}
	wantRV(t, m.SignInit(h, Mechanism{Type: CKM_ECDSA_SHA256}, priv), CKR_OK)
	wantRV(t, m.SignInit(h, Mechanism{Type: CKM_ECDSA_SHA256}, priv), CKR_OPERATION_ACTIVE)
	wantRV(t, m.SignUpdate(h, []byte("part one, ")), CKR_OK)
	wantRV(t, m.SignUpdate(h, []byte("part two")), CKR_OK)
	_, err = m.SignFinal(h, 3, false)
	wantRV(t, err, CKR_BUFFER_TOO_SMALL)
	sig, err = m.SignFinal(h, 64, false)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("part one, part two"))
	if !ecdsa.Verify(&k.p256.PublicKey, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("multi-part signature does not verify")
	}
	wantRV(t, m.SignInit(h, Mechanism{Type: CKM_ECDSA}, priv-1), CKR_KEY_FUNCTION_NOT_PERMITTED)
	wantRV(t, m.SignInit(h, Mechanism{Type: CKM_ECDSA}, 4242), CKR_KEY_HANDLE_INVALID)
	wantRV(t, m.SignInit(h, Mechanism{Type: 0x1}, priv), CKR_MECHANISM_INVALID)
}

func TestSignErrors(t *testing.T) {
	f, m := openTest(t)
	h := loggedInSession(t, f, m)
	priv := find(t, m, h, Attribute{CKA_CLASS, ulongBytes(CKO_PRIVATE_KEY)}, Attribute{CKA_LABEL, []byte("btc-hot")})[0]
	wantRV(t, m.SignInit(h, Mechanism{Type: CKM_ECDSA}, priv), CKR_OK)
	f.down.Store(true)
	_, err := m.Sign(h, make([]byte, 32), 64, false)
	wantRV(t, err, CKR_DEVICE_ERROR)
	f.down.Store(false)
	// A key that vanished from the host: 404 when signing is CKR_KEY_HANDLE_INVALID.
	f.mu.Lock()
	f.keys = f.keys[1:]
	f.mu.Unlock()
	wantRV(t, m.SignInit(h, Mechanism{Type: CKM_ECDSA}, priv), CKR_OK)
	_, err = m.Sign(h, make([]byte, 32), 64, false)
	wantRV(t, err, CKR_KEY_HANDLE_INVALID)
	// Not logged in.
	h2, _ := m.OpenSession(SlotECDSA, CKF_SERIAL_SESSION)
	m.Logout(h)
	wantRV(t, m.SignInit(h2, Mechanism{Type: CKM_ECDSA}, priv), CKR_USER_NOT_LOGGED_IN)
}

func TestGenerateKeyPair(t *testing.T) {
	f, m := openTest(t)
	h := loggedInSession(t, f, m)
	pubT := []Attribute{{CKA_EC_PARAMS, Secp256k1.ECParams}, {CKA_LABEL, []byte("new-key")}, {CKA_TOKEN, []byte{1}}}
	privT := []Attribute{{CKA_SENSITIVE, []byte{1}}, {CKA_EXTRACTABLE, []byte{0}}, {CKA_ID, []byte{1, 2}}}
	pub, priv, err := m.GenerateKeyPair(h, Mechanism{Type: CKM_EC_KEY_PAIR_GEN}, pubT, privT)
	if err != nil {
		t.Fatal(err)
	}
	if priv != pub+1 || string(attr(t, m, h, priv, CKA_LABEL)) != "new-key" {
		t.Fatalf("handles %d %d", pub, priv)
	}
	sig, _ := signWith(t, f, m, h, "new-key", Mechanism{Type: CKM_ECDSA_SHA256}, []byte("x"))
	if len(sig) != 64 {
		t.Fatal(sig)
	}
	_, _, err = m.GenerateKeyPair(h, Mechanism{Type: CKM_EC_KEY_PAIR_GEN}, []Attribute{{CKA_LABEL, []byte("x")}}, nil)
	wantRV(t, err, CKR_TEMPLATE_INCOMPLETE)
	_, _, err = m.GenerateKeyPair(h, Mechanism{Type: CKM_EC_KEY_PAIR_GEN}, []Attribute{{CKA_EC_PARAMS, []byte{6, 3, 1, 2, 3}}}, nil)
	wantRV(t, err, CKR_CURVE_NOT_SUPPORTED)
	_, _, err = m.GenerateKeyPair(h, Mechanism{Type: CKM_EC_KEY_PAIR_GEN}, pubT, []Attribute{{CKA_EXTRACTABLE, []byte{1}}})
	wantRV(t, err, CKR_TEMPLATE_INCONSISTENT)
	ro, _ := m.OpenSession(SlotECDSA, CKF_SERIAL_SESSION)
	_, _, err = m.GenerateKeyPair(ro, Mechanism{Type: CKM_EC_KEY_PAIR_GEN}, pubT, nil)
	wantRV(t, err, CKR_SESSION_READ_ONLY)
	// Ed25519 keys are not generated through PKCS#11 (neither by EC params in slot 0 nor in slot 1).
	_, _, err = m.GenerateKeyPair(h, Mechanism{Type: CKM_EC_KEY_PAIR_GEN}, []Attribute{{CKA_EC_PARAMS, Ed25519.ECParams}}, nil)
	wantRV(t, err, CKR_CURVE_NOT_SUPPORTED)
	_, _, err = m.GenerateKeyPair(h, Mechanism{Type: CKM_EC_KEY_PAIR_GEN, Param: []byte{1}}, pubT, nil)
	wantRV(t, err, CKR_MECHANISM_PARAM_INVALID)
	ed, _ := m.OpenSession(SlotEdDSA, CKF_SERIAL_SESSION|CKF_RW_SESSION)
	_, _, err = m.GenerateKeyPair(ed, Mechanism{Type: CKM_EC_EDWARDS_KEY_PAIR_GEN}, []Attribute{{CKA_EC_PARAMS, Ed25519.ECParams}}, nil)
	wantRV(t, err, CKR_MECHANISM_INVALID)
}

func TestConcurrentSessions(t *testing.T) {
	f, m := openTest(t)
	h0 := loggedInSession(t, f, m)
	priv := find(t, m, h0, Attribute{CKA_CLASS, ulongBytes(CKO_PRIVATE_KEY)})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := m.OpenSession(SlotECDSA, CKF_SERIAL_SESSION)
			if err == nil {
				err = m.SignInit(h, Mechanism{Type: CKM_ECDSA_SHA256}, priv[i%len(priv)])
			}
			if err == nil {
				_, err = m.Sign(h, []byte{byte(i)}, 64, false)
			}
			if err == nil {
				err = m.CloseSession(h)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestDigestRules(t *testing.T) {
	if got := hex.EncodeToString(ecdsaDigest([]byte{7})); got != "0000000000000000000000000000000000000000000000000000000000000007" {
		t.Fatal(got)
	}
}

// C_GenerateRandom returns exactly the bytes the host served (its enclave's), fetched in
// pieces of at most api.MaxRandomBytes, and fails with CKR_DEVICE_ERROR rather than making
// its own when the host cannot answer or answers wrongly.
func TestGenerateRandomFromTheHost(t *testing.T) {
	f, m := openTest(t)
	h, _ := m.OpenSession(SlotECDSA, CKF_SERIAL_SESSION)
	for _, c := range []struct{ n, calls int }{{0, 0}, {1, 1}, {api.MaxRandomBytes, 1}, {api.MaxRandomBytes + 1, 2}, {10000, 3}} {
		f.mu.Lock()
		f.random.Reset()
		f.mu.Unlock()
		before := f.randomCalls.Load()
		out := make([]byte, c.n)
		if err := m.GenerateRandom(h, out); err != nil {
			t.Fatalf("%d bytes: %v", c.n, err)
		}
		if got := f.randomCalls.Load() - before; got != int64(c.calls) {
			t.Errorf("%d bytes took %d calls, want %d", c.n, got, c.calls)
		}
		f.mu.Lock()
		served := bytes.Clone(f.random.Bytes())
		f.mu.Unlock()
		if !bytes.Equal(out, served) {
			t.Fatalf("%d bytes: the module's output is not what the host served", c.n)
		}
	}
	wantRV(t, m.GenerateRandom(4242, make([]byte, 8)), CKR_SESSION_HANDLE_INVALID)
	f.shortRandom.Store(true)
	wantRV(t, m.GenerateRandom(h, make([]byte, 8)), CKR_DEVICE_ERROR)
	f.shortRandom.Store(false)
	f.down.Store(true)
	wantRV(t, m.GenerateRandom(h, make([]byte, 8)), CKR_DEVICE_ERROR)
}

// A CKA_ID asked for at generation is sent to the host, shown as both objects' CKA_ID, and
// finds them; a key generated without one shows the bytes of its key id, as before.
func TestGenerateKeyPairKeepsCKAID(t *testing.T) {
	f, m := openTest(t)
	h := loggedInSession(t, f, m)
	mech := Mechanism{Type: CKM_EC_KEY_PAIR_GEN}
	pubT := []Attribute{{CKA_EC_PARAMS, P256.ECParams}, {CKA_ID, []byte{0x0a, 0x0b}}}
	pub, priv, err := m.GenerateKeyPair(h, mech, pubT, []Attribute{{CKA_ID, []byte{0x0a, 0x0b}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range []uint{pub, priv} {
		if got := attr(t, m, h, obj, CKA_ID); !bytes.Equal(got, []byte{0x0a, 0x0b}) {
			t.Fatalf("object %d has CKA_ID %x, want 0a0b", obj, got)
		}
	}
	if got := string(attr(t, m, h, priv, CKA_LABEL)); got != "0a0b" {
		t.Fatalf("without CKA_LABEL the label is %q, want the id in hex", got)
	}
	withID, _ := f.find("0a0b")
	if withID.PKCS11ID != "0a0b" {
		t.Fatalf("the host was asked to store %q", withID.PKCS11ID)
	}
	byID := find(t, m, h, Attribute{CKA_ID, []byte{0x0a, 0x0b}})
	if len(byID) != 2 || byID[0] != pub || byID[1] != priv {
		t.Fatalf("finding by CKA_ID gave %v, want [%d %d]", byID, pub, priv)
	}
	if len(find(t, m, h, Attribute{CKA_ID, []byte(withID.ID)})) != 0 {
		t.Fatal("a key with an application id is also found by its key id")
	}
	// The same id again is refused by the host (409).
	_, _, err = m.GenerateKeyPair(h, mech, []Attribute{{CKA_EC_PARAMS, P256.ECParams}, {CKA_ID, []byte{0x0a, 0x0b}}, {CKA_LABEL, []byte("other")}}, nil)
	wantRV(t, err, CKR_FUNCTION_REJECTED)
	// Without CKA_ID: the key id's bytes.
	_, priv2, err := m.GenerateKeyPair(h, mech, []Attribute{{CKA_EC_PARAMS, P256.ECParams}, {CKA_LABEL, []byte("no-id")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := f.find("no-id")
	if got := attr(t, m, h, priv2, CKA_ID); string(got) != k.ID {
		t.Fatalf("CKA_ID %q, want the key id %q", got, k.ID)
	}
	for name, c := range map[string]struct {
		pub, priv []Attribute
		rv        uint
	}{
		"empty CKA_ID":       {[]Attribute{{CKA_EC_PARAMS, P256.ECParams}, {CKA_ID, []byte{}}}, nil, CKR_ATTRIBUTE_VALUE_INVALID},
		"65-byte CKA_ID":     {[]Attribute{{CKA_EC_PARAMS, P256.ECParams}, {CKA_ID, make([]byte, 65)}}, nil, CKR_ATTRIBUTE_VALUE_INVALID},
		"two different ids":  {[]Attribute{{CKA_EC_PARAMS, P256.ECParams}, {CKA_ID, []byte{1}}}, []Attribute{{CKA_ID, []byte{2}}}, CKR_TEMPLATE_INCONSISTENT},
		"twice in one templ": {[]Attribute{{CKA_EC_PARAMS, P256.ECParams}, {CKA_ID, []byte{1}}, {CKA_ID, []byte{3}}}, nil, CKR_TEMPLATE_INCONSISTENT},
	} {
		_, _, err := m.GenerateKeyPair(h, mech, c.pub, c.priv)
		if got := ToCKR(OpOther, err); got != c.rv {
			t.Errorf("%s: CKR 0x%X (%v), want 0x%X", name, got, err, c.rv)
		}
	}
	// A host that does not keep the id yields an error, not a key with another CKA_ID.
	f.dropPKCS11ID.Store(true)
	_, _, err = m.GenerateKeyPair(h, mech, []Attribute{{CKA_EC_PARAMS, P256.ECParams}, {CKA_ID, []byte{0x0c}}}, nil)
	wantRV(t, err, CKR_DEVICE_ERROR)
}

// C_DestroyObject on either object of a key pair deletes the key on the host; afterwards both
// handles are invalid in every session, including one in the middle of a signature, and stay so
// even if a party that missed the deletion still lists the key.
func TestDestroyObjectDeletesTheKey(t *testing.T) {
	f, m := openTest(t, "allow_key_deletion: true")
	h := loggedInSession(t, f, m)
	other, _ := m.OpenSession(SlotECDSA, CKF_SERIAL_SESSION) // the login is the token's, not the session's
	priv := find(t, m, h, Attribute{CKA_CLASS, ulongBytes(CKO_PRIVATE_KEY)}, Attribute{CKA_LABEL, []byte("btc-hot")})[0]
	pub := priv - 1
	wantRV(t, m.SignInit(other, Mechanism{Type: CKM_ECDSA}, priv), CKR_OK)

	wantRV(t, m.DestroyObject(h, priv), CKR_OK)
	if _, ok := f.find("k1"); ok {
		t.Fatal("the host still has the key")
	}
	for _, sess := range []uint{h, other} {
		for _, obj := range []uint{priv, pub} {
			if rv := m.GetAttributeValue(sess, obj, []AttrSlot{{Type: CKA_LABEL, Query: true}}); rv != CKR_OBJECT_HANDLE_INVALID {
				t.Errorf("session %d, object %d after C_DestroyObject: CKR 0x%X", sess, obj, rv)
			}
		}
	}
	_, err := m.Sign(other, make([]byte, 32), 64, false)
	wantRV(t, err, CKR_KEY_HANDLE_INVALID)
	wantRV(t, m.SignInit(other, Mechanism{Type: CKM_ECDSA}, priv), CKR_KEY_HANDLE_INVALID)
	wantRV(t, m.DestroyObject(h, pub), CKR_OBJECT_HANDLE_INVALID)
	if got := find(t, m, h, Attribute{CKA_LABEL, []byte("btc-hot")}); len(got) != 0 {
		t.Fatalf("the deleted key is still found: %v", got)
	}

	// The public object deletes the pair too; a party still listing it does not bring it back,
	// not even to a module re-initialized with the same handle table.
	f.staleAfterDelete.Store(true)
	p256 := find(t, m, h, Attribute{CKA_CLASS, ulongBytes(CKO_PUBLIC_KEY)}, Attribute{CKA_LABEL, []byte("legacy")})[0]
	wantRV(t, m.DestroyObject(h, p256), CKR_OK)
	m2 := NewModule(m.cfg, m.backend, m.handles)
	h2 := loggedInSession(t, f, m2)
	if got := find(t, m2, h2, Attribute{CKA_LABEL, []byte("legacy")}); len(got) != 0 {
		t.Fatalf("a key this library destroyed came back as %v", got)
	}
}

// With deletion allowed, C_DestroyObject still needs a read/write session and a login, and leaves
// the key alone when the host cannot delete it.
func TestDestroyObjectRefusals(t *testing.T) {
	f, m := openTest(t, "allow_key_deletion: true")
	h := loggedInSession(t, f, m)
	priv := find(t, m, h, Attribute{CKA_CLASS, ulongBytes(CKO_PRIVATE_KEY)}, Attribute{CKA_LABEL, []byte("legacy")})[0]
	ro, _ := m.OpenSession(SlotECDSA, CKF_SERIAL_SESSION)
	wantRV(t, m.DestroyObject(ro, priv), CKR_SESSION_READ_ONLY)
	wantRV(t, m.DestroyObject(4242, priv), CKR_SESSION_HANDLE_INVALID)
	wantRV(t, m.DestroyObject(h, 9999), CKR_OBJECT_HANDLE_INVALID)
	f.deleteQuorumLost.Store(true)
	wantRV(t, m.DestroyObject(h, priv), CKR_DEVICE_ERROR)
	if _, ok := f.find("p1"); !ok {
		t.Fatal("a failed deletion removed the key")
	}
	if got := attr(t, m, h, priv, CKA_LABEL); string(got) != "legacy" {
		t.Fatalf("after a failed deletion the handle shows %q", got)
	}
	f.deleteQuorumLost.Store(false)
	wantRV(t, m.Logout(h), CKR_OK)
	wantRV(t, m.DestroyObject(h, priv), CKR_OBJECT_HANDLE_INVALID) // private objects are invisible
	wantRV(t, m.DestroyObject(h, priv-1), CKR_USER_NOT_LOGGED_IN)
	if calls := f.deleteCalls.Load(); calls != 1 {
		t.Fatalf("%d deletions reached the host, want only the one that lost its quorum", calls)
	}
}

// Without allow_key_deletion (the default), C_DestroyObject refuses with CKR_ACTION_PROHIBITED
// in a logged-in read/write session, sends nothing to the host, and leaves the key usable; a
// bad handle still gets its own error. "false" written out means the same as leaving it out.
func TestDestroyObjectNeedsConfirmation(t *testing.T) {
	for name, extra := range map[string][]string{"default": nil, "explicit false": {"allow_key_deletion: false"}} {
		t.Run(name, func(t *testing.T) {
			f, m := openTest(t, extra...)
			if m.cfg.AllowKeyDeletion {
				t.Fatal("key deletion allowed without being configured")
			}
			h := loggedInSession(t, f, m)
			priv := find(t, m, h, Attribute{CKA_CLASS, ulongBytes(CKO_PRIVATE_KEY)}, Attribute{CKA_LABEL, []byte("btc-hot")})[0]
			wantRV(t, m.DestroyObject(h, priv), CKR_ACTION_PROHIBITED)
			wantRV(t, m.DestroyObject(h, priv-1), CKR_ACTION_PROHIBITED)
			wantRV(t, m.DestroyObject(h, 9999), CKR_OBJECT_HANDLE_INVALID)
			if calls := f.deleteCalls.Load(); calls != 0 {
				t.Fatalf("%d deletions reached the host", calls)
			}
			if _, ok := f.find("k1"); !ok {
				t.Fatal("the host no longer has the key")
			}
			if got := attr(t, m, h, priv, CKA_LABEL); string(got) != "btc-hot" {
				t.Fatalf("after the refusal the handle shows %q", got)
			}
			d := sha256.Sum256([]byte("still here"))
			wantRV(t, m.SignInit(h, Mechanism{Type: CKM_ECDSA}, priv), CKR_OK)
			sig, err := m.Sign(h, d[:], 64, false)
			if err != nil || len(sig) != 64 {
				t.Fatalf("signing after the refusal: %x, %v", sig, err)
			}
			k, _ := f.find("k1")
			var r, s btcec.ModNScalar
			r.SetByteSlice(sig[:32])
			s.SetByteSlice(sig[32:])
			if !becdsa.NewSignature(&r, &s).Verify(d[:], k.k1.PubKey()) {
				t.Fatal("the signature made after the refusal does not verify with btcec")
			}
		})
	}
}
