package token

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// Attribute is one entry of an input template (C_FindObjectsInit, C_GenerateKeyPair).
type Attribute struct {
	Type  uint
	Value []byte
}

// AttrSlot is one entry of a C_GetAttributeValue template. Query is true when pValue is NULL;
// otherwise Buf is the caller's buffer. Fill sets Len to the value's length or to
// CK_UNAVAILABLE_INFORMATION.
type AttrSlot struct {
	Type  uint
	Query bool
	Buf   []byte
	Len   uint
}

// Template limits (trust rule 5: every decoder of outside input has size limits).
const (
	MaxTemplateLen  = 256
	MaxAttributeLen = 64 << 10
)

// ulongBytes encodes a CK_ULONG attribute value (native byte order, C unsigned long).
func ulongBytes(v uint) []byte {
	b := make([]byte, strconv.IntSize/8)
	if strconv.IntSize == 64 {
		binary.NativeEndian.PutUint64(b, uint64(v))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(v))
	}
	return b
}

// ulongValue decodes a CK_ULONG attribute value.
func ulongValue(b []byte) (uint, bool) {
	switch {
	case strconv.IntSize == 64 && len(b) == 8:
		return uint(binary.NativeEndian.Uint64(b)), true
	case strconv.IntSize == 32 && len(b) == 4:
		return uint(binary.NativeEndian.Uint32(b)), true
	}
	return 0, false
}

func boolBytes(v bool) []byte {
	if v {
		return []byte{1}
	}
	return []byte{0}
}

// boolValue decodes a CK_BBOOL attribute value.
func boolValue(b []byte) (bool, bool) {
	if len(b) != 1 {
		return false, false
	}
	return b[0] != 0, true
}

// keyObject is one threshold key as the module shows it: public information only.
type keyObject struct {
	id    string
	label string
	// ckaID is CKA_ID: the application id asked for at generation, or else the bytes of the
	// key id.
	ckaID []byte
	curve *Curve
	point []byte // the content of CKA_EC_POINT: 04||X||Y for ECDSA, the 32-byte key for Ed25519
}

// newKeyObject checks an API key and decodes its public key; ok is false for schemes no slot
// shows.
func newKeyObject(k api.Key) (*keyObject, bool, error) {
	c := curveByScheme(k.Scheme)
	if c == nil {
		return nil, false, nil
	}
	pt, err := c.publicPoint(k.PublicKey)
	if err != nil {
		return nil, false, err
	}
	ckaID := []byte(k.ID)
	if k.PKCS11ID != "" {
		if ckaID, err = hex.DecodeString(k.PKCS11ID); err != nil || len(ckaID) > api.MaxPKCS11IDBytes {
			return nil, false, fmt.Errorf("pkcs11_id %q is not 1 to %d bytes of hex", k.PKCS11ID, api.MaxPKCS11IDBytes)
		}
	}
	return &keyObject{id: k.ID, label: k.Label, ckaID: ckaID, curve: c, point: pt}, true, nil
}

// Handles assigns stable object handles to key ids: key n (from 1) has public key handle 2n
// and private key handle 2n+1. A handle never changes meaning while the library is loaded,
// so it survives host reconnects and C_Finalize/C_Initialize cycles. The handles of a key this
// library destroyed stay invalid for as long as it is loaded.
type Handles struct {
	mu        sync.Mutex
	byID      map[string]uint
	ids       []string
	destroyed map[string]bool
}

// NewHandles makes an empty handle table.
func NewHandles() *Handles { return &Handles{byID: map[string]uint{}, destroyed: map[string]bool{}} }

// destroy makes the handles of key id invalid from now on.
func (h *Handles) destroy(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.destroyed[id] = true
}

// isDestroyed reports whether this library destroyed key id.
func (h *Handles) isDestroyed(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.destroyed[id]
}

// index returns the key's index, assigning the next one on first sight.
func (h *Handles) index(id string) uint {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n, ok := h.byID[id]; ok {
		return n
	}
	h.ids = append(h.ids, id)
	n := uint(len(h.ids))
	h.byID[id] = n
	return n
}

// Public and Private return the handles of a key's two objects.
func (h *Handles) Public(id string) uint  { return 2 * h.index(id) }
func (h *Handles) Private(id string) uint { return 2*h.index(id) + 1 }

// lookup returns the key id and class behind a handle.
func (h *Handles) lookup(handle uint) (string, uint, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := handle / 2
	if n == 0 || n > uint(len(h.ids)) || h.destroyed[h.ids[n-1]] {
		return "", 0, false
	}
	class := CKO_PUBLIC_KEY
	if handle%2 == 1 {
		class = CKO_PRIVATE_KEY
	}
	return h.ids[n-1], class, true
}

// object is one PKCS#11 object: a key and which half of it.
type object struct {
	key   *keyObject
	class uint
}

// attribute returns an attribute's value, or an *Error with CKR_ATTRIBUTE_SENSITIVE or
// CKR_ATTRIBUTE_TYPE_INVALID.
func (o object) attribute(t uint) ([]byte, error) {
	priv := o.class == CKO_PRIVATE_KEY
	switch t {
	case CKA_CLASS:
		return ulongBytes(o.class), nil
	case CKA_TOKEN, CKA_LOCAL:
		return boolBytes(true), nil
	case CKA_PRIVATE:
		return boolBytes(priv), nil
	case CKA_MODIFIABLE, CKA_COPYABLE, CKA_DERIVE:
		return boolBytes(false), nil
	case CKA_DESTROYABLE:
		return boolBytes(true), nil
	case CKA_LABEL:
		return []byte(o.key.label), nil
	case CKA_ID:
		return bytes.Clone(o.key.ckaID), nil
	case CKA_KEY_TYPE:
		return ulongBytes(o.key.curve.KeyType), nil
	case CKA_START_DATE, CKA_END_DATE, CKA_SUBJECT:
		return []byte{}, nil
	case CKA_KEY_GEN_MECHANISM:
		return ulongBytes(o.key.curve.keyGen), nil
	case CKA_ALLOWED_MECHANISMS:
		var out []byte
		for _, m := range o.key.curve.mechanisms {
			out = append(out, ulongBytes(m)...)
		}
		return out, nil
	case CKA_EC_PARAMS:
		return bytes.Clone(o.key.curve.ECParams), nil
	}
	if priv {
		return o.privateAttribute(t)
	}
	return o.publicAttribute(t)
}

func (o object) privateAttribute(t uint) ([]byte, error) {
	switch t {
	case CKA_SENSITIVE, CKA_SIGN, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE:
		return boolBytes(true), nil
	case CKA_DECRYPT, CKA_SIGN_RECOVER, CKA_UNWRAP, CKA_EXTRACTABLE, CKA_WRAP_WITH_TRUSTED, CKA_ALWAYS_AUTHENTICATE:
		return boolBytes(false), nil
	case CKA_VALUE:
		return nil, ckr(CKR_ATTRIBUTE_SENSITIVE, "the private key exists only as shares in the enclaves")
	}
	return nil, ckr(CKR_ATTRIBUTE_TYPE_INVALID, "attribute 0x%X", t)
}

func (o object) publicAttribute(t uint) ([]byte, error) {
	switch t {
	case CKA_VERIFY:
		return boolBytes(true), nil
	case CKA_ENCRYPT, CKA_VERIFY_RECOVER, CKA_WRAP, CKA_TRUSTED:
		return boolBytes(false), nil
	case CKA_EC_POINT:
		return derOctetString(o.key.point), nil
	}
	return nil, ckr(CKR_ATTRIBUTE_TYPE_INVALID, "attribute 0x%X", t)
}

// matches reports whether the object has every attribute of the template with an equal
// value. An attribute the object lacks (or a sensitive one) matches nothing.
func (o object) matches(tmpl []Attribute) bool {
	for _, a := range tmpl {
		v, err := o.attribute(a.Type)
		if err != nil || !bytes.Equal(v, a.Value) {
			return false
		}
	}
	return true
}

// fillAttributes implements C_GetAttributeValue's rules for each entry: a sensitive or
// unknown attribute gets CK_UNAVAILABLE_INFORMATION, a query gets the length, a large enough
// buffer gets the value, a short one gets CK_UNAVAILABLE_INFORMATION. Every entry is
// processed; the result is CKR_OK or one of the per-entry errors.
func (o object) fillAttributes(slots []AttrSlot) uint {
	rv := CKR_OK
	for i := range slots {
		s := &slots[i]
		v, err := o.attribute(s.Type)
		switch {
		case err != nil:
			s.Len = CK_UNAVAILABLE_INFORMATION
			rv = ToCKR(OpOther, err)
		case s.Query:
			s.Len = uint(len(v))
		case len(s.Buf) >= len(v):
			copy(s.Buf, v)
			s.Len = uint(len(v))
		default:
			s.Len = CK_UNAVAILABLE_INFORMATION
			rv = CKR_BUFFER_TOO_SMALL
		}
	}
	return rv
}
