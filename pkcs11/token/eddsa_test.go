package token

import (
	"bytes"
	"crypto/ed25519"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"slices"
	"testing"

	"github.com/mpcsigner/mpcsigner/host/api"
)

var eddsa = Mechanism{Type: CKM_EDDSA}

// loggedInSlot opens a read-only session on a slot and logs the token in through it.
func loggedInSlot(t *testing.T, f *fakeHost, m *Module, slot uint) uint {
	t.Helper()
	h, err := m.OpenSession(slot, CKF_SERIAL_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Login(h, CKU_USER, []byte(f.token)); err != nil {
		t.Fatal(err)
	}
	return h
}

// privateKey finds the one private key with a label in a session's slot.
func privateKey(t *testing.T, m *Module, h uint, label string) uint {
	t.Helper()
	got := find(t, m, h, Attribute{CKA_CLASS, ulongBytes(CKO_PRIVATE_KEY)}, Attribute{CKA_LABEL, []byte(label)})
	if len(got) != 1 {
		t.Fatalf("private key %q: found %v", label, got)
	}
	return got[0]
}

// eddsaParams lays out a CK_EDDSA_PARAMS as C does on this platform (see eddsaParamsLen); the
// padding after phFlag is filled with junk, as uninitialized C memory may be.
func eddsaParams(ph bool, ctxLen, ctxPtr uint) []byte {
	out := bytes.Repeat([]byte{0xEE}, wordLen)
	out[0] = 0
	if ph {
		out[0] = 1
	}
	out = append(out, ulongBytes(ctxLen)...)
	return append(out, ulongBytes(ctxPtr)...)
}

func TestEdDSAMechanisms(t *testing.T) {
	if l, err := MechanismList(SlotEdDSA); err != nil || !slices.Equal(l, []uint{CKM_EDDSA}) {
		t.Fatalf("slot 1 mechanisms %v, %v", l, err)
	}
	if l, err := MechanismList(SlotECDSA); err != nil || !slices.Equal(l, []uint{CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_ECDSA_SHA256}) {
		t.Fatalf("slot 0 mechanisms %v, %v", l, err)
	}
	_, err := MechanismList(2)
	wantRV(t, err, CKR_SLOT_ID_INVALID)
	mi, err := GetMechanismInfo(SlotEdDSA, CKM_EDDSA)
	if err != nil || mi.MinKeySize != 256 || mi.MaxKeySize != 256 || mi.Flags&(CKF_SIGN|CKF_VERIFY) != CKF_SIGN|CKF_VERIFY || mi.Flags&CKF_GENERATE_KEY_PAIR != 0 {
		t.Fatalf("CKM_EDDSA info %+v, %v", mi, err)
	}
	_, err = GetMechanismInfo(SlotECDSA, CKM_EDDSA)
	wantRV(t, err, CKR_MECHANISM_INVALID)
	_, err = GetMechanismInfo(SlotEdDSA, CKM_ECDSA)
	wantRV(t, err, CKR_MECHANISM_INVALID)
}

func TestEdDSAObjects(t *testing.T) {
	f, m := openTest(t)
	pub, _ := m.OpenSession(SlotEdDSA, CKF_SERIAL_SESSION)
	if got := find(t, m, pub); len(got) != 1 {
		t.Fatalf("a public session of slot 1 sees %v, want the one public key", got)
	}
	h := loggedInSlot(t, f, m, SlotEdDSA)
	all := find(t, m, h)
	if len(all) != 2 {
		t.Fatalf("slot 1 shows %v, want the Ed25519 key's two objects", all)
	}
	priv := privateKey(t, m, h, "sol-hot")
	pubH := priv - 1
	if !slices.Equal(all, []uint{pubH, priv}) {
		t.Fatalf("slot 1 shows %v, want %d and %d", all, pubH, priv)
	}
	k, _ := f.find("e1")
	want := k.ed.Public().(ed25519.PublicKey)
	for _, o := range all {
		if got := attr(t, m, h, o, CKA_KEY_TYPE); !bytes.Equal(got, ulongBytes(CKK_EC_EDWARDS)) {
			t.Fatalf("object %d: CKA_KEY_TYPE %x", o, got)
		}
		var oid asn1.ObjectIdentifier
		if rest, err := asn1.Unmarshal(attr(t, m, h, o, CKA_EC_PARAMS), &oid); err != nil || len(rest) != 0 || !oid.Equal(asn1.ObjectIdentifier{1, 3, 101, 112}) {
			t.Fatalf("object %d: CKA_EC_PARAMS is not the id-Ed25519 OID: %v %v", o, oid, err)
		}
		if string(attr(t, m, h, o, CKA_LABEL)) != "sol-hot" || string(attr(t, m, h, o, CKA_ID)) != "e1" {
			t.Fatalf("object %d: label or id", o)
		}
		if got := attr(t, m, h, o, CKA_KEY_GEN_MECHANISM); !bytes.Equal(got, ulongBytes(CKM_EC_EDWARDS_KEY_PAIR_GEN)) {
			t.Fatalf("object %d: CKA_KEY_GEN_MECHANISM %x", o, got)
		}
		if got := attr(t, m, h, o, CKA_ALLOWED_MECHANISMS); !bytes.Equal(got, ulongBytes(CKM_EDDSA)) {
			t.Fatalf("object %d: CKA_ALLOWED_MECHANISMS %x", o, got)
		}
	}
	var point []byte
	if rest, err := asn1.Unmarshal(attr(t, m, h, pubH, CKA_EC_POINT), &point); err != nil || len(rest) != 0 || !bytes.Equal(point, want) {
		t.Fatalf("CKA_EC_POINT holds %x (%v), want the DER OCTET STRING of %x", point, err, want)
	}
	if attr(t, m, h, pubH, CKA_VERIFY)[0] != 1 || attr(t, m, h, priv, CKA_SIGN)[0] != 1 || attr(t, m, h, priv, CKA_DERIVE)[0] != 0 {
		t.Fatal("usage flags")
	}
	if rv := m.GetAttributeValue(h, priv, []AttrSlot{{Type: CKA_VALUE, Query: true}}); rv != CKR_ATTRIBUTE_SENSITIVE {
		t.Fatalf("CKA_VALUE of the Ed25519 private key: 0x%X", rv)
	}
	if got := find(t, m, h, Attribute{CKA_KEY_TYPE, ulongBytes(CKK_EC_EDWARDS)}, Attribute{CKA_EC_PARAMS, Ed25519.ECParams}); len(got) != 2 {
		t.Fatalf("search by key type and params: %v", got)
	}
}

// TestEdDSASlotsApart checks that each slot shows and uses only its own keys.
func TestEdDSASlotsApart(t *testing.T) {
	f, m := openTest(t)
	h0 := loggedInSession(t, f, m)
	h1, _ := m.OpenSession(SlotEdDSA, CKF_SERIAL_SESSION)
	slot0 := find(t, m, h0)
	if len(slot0) != 4 {
		t.Fatalf("slot 0 shows %v, want the two ECDSA keys", slot0)
	}
	for _, o := range slot0 {
		if got := attr(t, m, h0, o, CKA_KEY_TYPE); !bytes.Equal(got, ulongBytes(CKK_EC)) {
			t.Fatalf("slot 0 object %d has key type %x", o, got)
		}
	}
	if got := find(t, m, h0, Attribute{CKA_KEY_TYPE, ulongBytes(CKK_EC_EDWARDS)}); len(got) != 0 {
		t.Fatalf("slot 0 finds Ed25519 objects %v", got)
	}
	ed := privateKey(t, m, h1, "sol-hot")
	k1 := privateKey(t, m, h0, "btc-hot")
	if rv := m.GetAttributeValue(h0, ed-1, []AttrSlot{{Type: CKA_LABEL, Query: true}}); rv != CKR_OBJECT_HANDLE_INVALID {
		t.Fatalf("slot 0 reads the Ed25519 key: 0x%X", rv)
	}
	if rv := m.GetAttributeValue(h1, k1, []AttrSlot{{Type: CKA_LABEL, Query: true}}); rv != CKR_OBJECT_HANDLE_INVALID {
		t.Fatalf("slot 1 reads the secp256k1 key: 0x%X", rv)
	}
	wantRV(t, m.SignInit(h0, eddsa, ed), CKR_MECHANISM_INVALID)
	wantRV(t, m.SignInit(h0, Mechanism{Type: CKM_ECDSA}, ed), CKR_KEY_HANDLE_INVALID)
	wantRV(t, m.SignInit(h1, Mechanism{Type: CKM_ECDSA}, ed), CKR_MECHANISM_INVALID)
	wantRV(t, m.SignInit(h1, eddsa, k1), CKR_KEY_HANDLE_INVALID)
	wantRV(t, m.VerifyInit(h1, eddsa, k1-1), CKR_KEY_HANDLE_INVALID)
	wantRV(t, m.DestroyObject(h1, k1), CKR_OBJECT_HANDLE_INVALID)
}

func TestEdDSASign(t *testing.T) {
	f, m := openTest(t)
	h := loggedInSlot(t, f, m, SlotEdDSA)
	k, _ := f.find("e1")
	pub := k.ed.Public().(ed25519.PublicKey)
	msg := []byte("transfer 1 SOL to the cold wallet")
	sig, priv := signWith(t, f, m, h, "sol-hot", eddsa, msg)
	if !ed25519.Verify(pub, msg, sig) {
		t.Fatal("crypto/ed25519 rejects the C_Sign signature over the message")
	}
	// C_Verify, locally, with the public key object.
	wantRV(t, m.VerifyInit(h, eddsa, priv-1), CKR_OK)
	wantRV(t, m.Verify(h, msg, sig), CKR_OK)
	wantRV(t, m.VerifyInit(h, eddsa, priv-1), CKR_OK)
	wantRV(t, m.Verify(h, msg[1:], sig), CKR_SIGNATURE_INVALID)
	wantRV(t, m.VerifyInit(h, eddsa, priv-1), CKR_OK)
	wantRV(t, m.Verify(h, msg, sig[:63]), CKR_SIGNATURE_LEN_RANGE)
	wantRV(t, m.VerifyInit(h, eddsa, priv), CKR_KEY_FUNCTION_NOT_PERMITTED)
	wantRV(t, m.SignInit(h, eddsa, priv-1), CKR_KEY_FUNCTION_NOT_PERMITTED)

	// Multi-part: the parts are buffered and the whole message is signed once, at C_SignFinal.
	wantRV(t, m.SignInit(h, eddsa, priv), CKR_OK)
	wantRV(t, m.SignUpdate(h, msg[:9]), CKR_OK)
	wantRV(t, m.SignUpdate(h, nil), CKR_OK)
	wantRV(t, m.SignUpdate(h, msg[9:]), CKR_OK)
	_, err := m.Sign(h, msg, 64, false)
	wantRV(t, err, CKR_OPERATION_ACTIVE)
	before := f.signCalls.Load()
	if sig, err := m.SignFinal(h, 0, true); err != nil || sig != nil {
		t.Fatalf("length query: %x %v", sig, err)
	}
	_, err = m.SignFinal(h, 63, false)
	wantRV(t, err, CKR_BUFFER_TOO_SMALL)
	if f.signCalls.Load() != before {
		t.Fatal("C_SignFinal's length query or short buffer called the API")
	}
	sig2, err := m.SignFinal(h, 64, false)
	if err != nil {
		t.Fatal(err)
	}
	if f.signCalls.Load() != before+1 || !ed25519.Verify(pub, msg, sig2) {
		t.Fatal("the multi-part signature does not verify over the joined parts")
	}
	_, err = m.SignFinal(h, 64, false)
	wantRV(t, err, CKR_OPERATION_NOT_INITIALIZED)
	wantRV(t, m.VerifyInit(h, eddsa, priv-1), CKR_OK)
	wantRV(t, m.VerifyUpdate(h, msg[:3]), CKR_OK)
	wantRV(t, m.VerifyUpdate(h, msg[3:]), CKR_OK)
	wantRV(t, m.VerifyFinal(h, sig2), CKR_OK)
	wantRV(t, m.VerifyInit(h, eddsa, priv-1), CKR_OK)
	wantRV(t, m.VerifyUpdate(h, msg[3:]), CKR_OK)
	wantRV(t, m.VerifyFinal(h, sig2), CKR_SIGNATURE_INVALID)
}

// TestEdDSAParams: CKM_EDDSA takes no parameter or a CK_EDDSA_PARAMS asking for plain
// Ed25519; Ed25519ph, Ed25519ctx and malformed blocks are refused before any key lookup.
func TestEdDSAParams(t *testing.T) {
	f, m := openTest(t)
	h := loggedInSlot(t, f, m, SlotEdDSA)
	priv := privateKey(t, m, h, "sol-hot")
	k, _ := f.find("e1")
	msg := []byte("pure")
	for _, p := range [][]byte{eddsaParams(false, 0, 0), eddsaParams(false, 0, 0xdead)} {
		wantRV(t, m.SignInit(h, Mechanism{Type: CKM_EDDSA, Param: p}, priv), CKR_OK)
		sig, err := m.Sign(h, msg, 64, false)
		if err != nil || !ed25519.Verify(k.ed.Public().(ed25519.PublicKey), msg, sig) {
			t.Fatalf("params %x: %v", p, err)
		}
	}
	for name, p := range map[string][]byte{
		"Ed25519ph":              eddsaParams(true, 0, 0),
		"Ed25519ctx":             eddsaParams(false, 3, 0xdead),
		"Ed25519ph with context": eddsaParams(true, 3, 0xdead),
		"short":                  eddsaParams(false, 0, 0)[:2*wordLen],
		"long":                   append(eddsaParams(false, 0, 0), 0),
		"one byte":               {0},
	} {
		t.Run(name, func(t *testing.T) {
			wantRV(t, m.SignInit(h, Mechanism{Type: CKM_EDDSA, Param: p}, priv), CKR_MECHANISM_PARAM_INVALID)
			wantRV(t, m.VerifyInit(h, Mechanism{Type: CKM_EDDSA, Param: p}, priv-1), CKR_MECHANISM_PARAM_INVALID)
		})
	}
	h0, _ := m.OpenSession(SlotECDSA, CKF_SERIAL_SESSION)
	k1 := privateKey(t, m, h0, "btc-hot")
	wantRV(t, m.SignInit(h0, Mechanism{Type: CKM_ECDSA, Param: eddsaParams(false, 0, 0)}, k1), CKR_MECHANISM_PARAM_INVALID)
}

// TestEdDSAMessageLimits: a message is 1 to api.MaxMessageBytes bytes, in one part or many; a
// refusal ends the operation without calling the host.
func TestEdDSAMessageLimits(t *testing.T) {
	f, m := openTest(t)
	h := loggedInSlot(t, f, m, SlotEdDSA)
	priv := privateKey(t, m, h, "sol-hot")
	k, _ := f.find("e1")
	pub := k.ed.Public().(ed25519.PublicKey)
	full := bytes.Repeat([]byte{0x5A}, api.MaxMessageBytes)
	before := f.signCalls.Load()

	wantRV(t, m.SignInit(h, eddsa, priv), CKR_OK)
	_, err := m.Sign(h, append(full, 1), 64, true)
	wantRV(t, err, CKR_DATA_LEN_RANGE)
	_, err = m.Sign(h, full, 64, false)
	wantRV(t, err, CKR_OPERATION_NOT_INITIALIZED)

	wantRV(t, m.SignInit(h, eddsa, priv), CKR_OK)
	wantRV(t, m.SignUpdate(h, full[:1000]), CKR_OK)
	wantRV(t, m.SignUpdate(h, full[1000:]), CKR_OK)
	wantRV(t, m.SignUpdate(h, []byte{1}), CKR_DATA_LEN_RANGE)
	_, err = m.SignFinal(h, 64, false)
	wantRV(t, err, CKR_OPERATION_NOT_INITIALIZED)

	// The API has no way to carry an empty message: refused, whether single- or multi-part.
	wantRV(t, m.SignInit(h, eddsa, priv), CKR_OK)
	_, err = m.Sign(h, nil, 64, true)
	wantRV(t, err, CKR_DATA_LEN_RANGE)
	wantRV(t, m.SignInit(h, eddsa, priv), CKR_OK)
	_, err = m.SignFinal(h, 64, false)
	wantRV(t, err, CKR_DATA_LEN_RANGE)
	wantRV(t, m.VerifyInit(h, eddsa, priv-1), CKR_OK)
	wantRV(t, m.Verify(h, append(full, 1), make([]byte, 64)), CKR_DATA_LEN_RANGE)
	if f.signCalls.Load() != before {
		t.Fatal("a refused message reached the host")
	}

	for _, parts := range [][][]byte{{full}, {full[:1], full[1:40000], full[40000:]}} {
		wantRV(t, m.SignInit(h, eddsa, priv), CKR_OK)
		var sig []byte
		if len(parts) == 1 {
			sig, err = m.Sign(h, parts[0], 64, false)
		} else {
			for _, p := range parts {
				wantRV(t, m.SignUpdate(h, p), CKR_OK)
			}
			sig, err = m.SignFinal(h, 64, false)
		}
		if err != nil || !ed25519.Verify(pub, full, sig) {
			t.Fatalf("%d parts of a %d-byte message: %v", len(parts), len(full), err)
		}
	}
}

// TestEdDSARFC8032 uses the keys of RFC 8032 section 7.1: a signature made through the
// module is the RFC's (Ed25519 is deterministic, so this shows the message reaches the host
// unchanged and unhashed), and C_Verify accepts the RFC's signature of the empty message.
func TestEdDSARFC8032(t *testing.T) {
	// RFC 8032 section 7.1, TEST 1 and TEST 2: secret key (seed), message, signature.
	vectors := []struct{ label, seed, msg, sig string }{
		{"rfc8032-1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"rfc8032-2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
	}
	f, m := openTest(t)
	for _, v := range vectors {
		seed, _ := hex.DecodeString(v.seed)
		f.addEd25519(v.label, v.label, seed)
	}
	h := loggedInSlot(t, f, m, SlotEdDSA)
	for _, v := range vectors {
		msg, _ := hex.DecodeString(v.msg)
		want, _ := hex.DecodeString(v.sig)
		priv := privateKey(t, m, h, v.label)
		wantRV(t, m.VerifyInit(h, eddsa, priv-1), CKR_OK)
		wantRV(t, m.Verify(h, msg, want), CKR_OK)
		if len(msg) == 0 {
			continue // the API cannot carry an empty message (TestEdDSAMessageLimits)
		}
		wantRV(t, m.SignInit(h, eddsa, priv), CKR_OK)
		sig, err := m.Sign(h, msg, 64, false)
		if err != nil || !bytes.Equal(sig, want) {
			t.Fatalf("%s: signature %x (%v), want %x", v.label, sig, err, want)
		}
	}
}

func TestEdDSAHostFailures(t *testing.T) {
	f, m := openTest(t)
	h := loggedInSlot(t, f, m, SlotEdDSA)
	priv := privateKey(t, m, h, "sol-hot")
	f.tamper.Store(true)
	wantRV(t, m.SignInit(h, eddsa, priv), CKR_OK)
	_, err := m.Sign(h, []byte("x"), 64, false)
	wantRV(t, err, CKR_DEVICE_ERROR)
	f.tamper.Store(false)
	f.down.Store(true)
	wantRV(t, m.SignInit(h, eddsa, priv), CKR_OK)
	wantRV(t, m.SignUpdate(h, []byte("x")), CKR_OK)
	_, err = m.SignFinal(h, 64, false)
	wantRV(t, err, CKR_DEVICE_ERROR)
	f.down.Store(false)
	// A key the host no longer has: 404 when signing.
	f.mu.Lock()
	f.keys = slices.DeleteFunc(f.keys, func(k fakeKey) bool { return k.ID == "e1" })
	f.mu.Unlock()
	wantRV(t, m.SignInit(h, eddsa, priv), CKR_OK)
	_, err = m.Sign(h, []byte("x"), 64, false)
	wantRV(t, err, CKR_KEY_HANDLE_INVALID)
}

// TestEd25519PublicKeyChecks: the host's public key must be 32 bytes encoding a point. The
// point test is checked against the curve equation (RFC 8032 5.1.3: -x^2 + y^2 = 1 + d x^2 y^2
// has a solution x exactly when u/v = (y^2-1)/(d y^2+1) is a square mod p), computed here with
// math/big rather than with the library the module uses.
func TestEd25519PublicKeyChecks(t *testing.T) {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	d := new(big.Int).Mul(big.NewInt(-121665), new(big.Int).ModInverse(big.NewInt(121666), p))
	d.Mod(d, p)
	isPoint := func(y int64) bool {
		yy := new(big.Int).Mul(big.NewInt(y), big.NewInt(y))
		u := new(big.Int).Sub(yy, big.NewInt(1))
		v := new(big.Int).Add(new(big.Int).Mul(d, yy), big.NewInt(1))
		w := new(big.Int).Mul(u, new(big.Int).ModInverse(v, p))
		w.Mod(w, p)
		return w.Sign() == 0 || big.Jacobi(w, p) == 1
	}
	encode := func(y int64) string {
		b := make([]byte, 32)
		b[0] = byte(y) // little-endian y, x sign bit clear
		return hex.EncodeToString(b)
	}
	var on, off int
	for y := int64(2); y < 64 && (on == 0 || off == 0); y++ {
		_, ok, err := newKeyObject(api.Key{ID: "e", Scheme: "ed25519", PublicKey: encode(y)})
		if isPoint(y) {
			on++
			if err != nil || !ok {
				t.Fatalf("y=%d is on the curve but refused: %v", y, err)
			}
		} else {
			off++
			if err == nil || ToCKR(OpOther, err) != CKR_DEVICE_ERROR {
				t.Fatalf("y=%d is not on the curve but accepted (%v)", y, err)
			}
		}
	}
	if on == 0 || off == 0 {
		t.Fatal("no y on and off the curve below 64")
	}
	for _, bad := range []string{"", "00", hex.EncodeToString(make([]byte, 33)), "zz" + encode(1)[2:]} {
		if _, _, err := newKeyObject(api.Key{ID: "e", Scheme: "ed25519", PublicKey: bad}); err == nil {
			t.Fatalf("public key %q accepted", bad)
		}
	}
}
