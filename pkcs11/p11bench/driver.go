// Package p11bench is the PKCS#11 driver of `mpcsigner bench`: it signs through a PKCS#11
// module loaded into this process (libmpcsigner-pkcs11.so, or SoftHSM2 for the baseline) with
// github.com/miekg/pkcs11, the path a C or Go custody application takes: C_Initialize,
// C_OpenSession per worker, C_Login, C_FindObjects, then C_SignInit and C_Sign per signature.
// It also sets up a throw-away SoftHSM2 token (softhsm.go).
//
// It lives under pkcs11/ because miekg/pkcs11 is cgo (it dlopens the module); package bench
// stays pure Go and knows it only as a bench.Driver. It must never print the PIN, sign with a
// key other than the bench keys it was given or generated, or leave a temporary token behind
// after Close.
package p11bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/miekg/pkcs11"

	"github.com/mpcsigner/mpcsigner/bench"
	"github.com/mpcsigner/mpcsigner/pkcs11/token"
)

// Schemes are the schemes a PKCS#11 token signs here: ECDSA with CKM_ECDSA over a 32-byte
// digest, Ed25519 with CKM_EDDSA over a 32-byte message.
var Schemes = []string{bench.SchemeSecp256k1, bench.SchemeP256, bench.SchemeEd25519}

// mechanismOf is each scheme's signing mechanism, key-generation mechanism and CKA_EC_PARAMS
// (a DER OBJECT IDENTIFIER: secp256k1 1.3.132.0.10, prime256v1 1.2.840.10045.3.1.7,
// id-Ed25519 1.3.101.112 per RFC 8410).
var mechanismOf = map[string]struct {
	sign, keyGen uint
	params       []byte
}{
	bench.SchemeSecp256k1: {pkcs11.CKM_ECDSA, pkcs11.CKM_EC_KEY_PAIR_GEN, []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a}},
	bench.SchemeP256:      {pkcs11.CKM_ECDSA, pkcs11.CKM_EC_KEY_PAIR_GEN, []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}},
	bench.SchemeEd25519:   {token.CKM_EDDSA, token.CKM_EC_EDWARDS_KEY_PAIR_GEN, []byte{0x06, 0x03, 0x2b, 0x65, 0x70}},
}

// Options says which module, token and keys to use.
type Options struct {
	Name   string // in reports: "pkcs11" or "softhsm"
	Module string // path of the shared library
	PIN    string // the user PIN
	Scheme string
	// TokenLabel picks the slot whose token has this label; "" picks the first slot whose
	// token offers the scheme's mechanism (the mpcsigner module shows ECDSA keys in one slot
	// and Ed25519 keys in another).
	TokenLabel string
	// Labels names existing keys to sign with (CKA_LABEL); or Generate > 0 generates that many
	// token keys labelled bench.KeyLabel(scheme, i) first.
	Labels   []string
	Generate int
}

// Driver signs through one PKCS#11 module; it implements bench.Driver.
type Driver struct {
	opts Options
	mod  *pkcs11.Ctx
	mech []*pkcs11.Mechanism
	// login is the session C_Login ran on, kept open: closing an application's last session
	// logs it out.
	login pkcs11.SessionHandle
	keys  []key
	next  atomic.Uint64
}

type key struct {
	label string
	priv  pkcs11.ObjectHandle
	pub   []byte // in bench.Verify's encoding
}

// Open loads the module, logs in and finds (or generates) the keys.
func Open(o Options) (*Driver, error) {
	m, ok := mechanismOf[o.Scheme]
	if !ok {
		return nil, fmt.Errorf("PKCS#11 cannot sign %q here: use one of %s", o.Scheme, strings.Join(Schemes, ", "))
	}
	if (len(o.Labels) == 0) == (o.Generate == 0) {
		return nil, errors.New("give either key labels or a number of keys to generate")
	}
	mod := pkcs11.New(o.Module)
	if mod == nil {
		return nil, fmt.Errorf("cannot load the PKCS#11 module %s", o.Module)
	}
	d := &Driver{opts: o, mod: mod, mech: []*pkcs11.Mechanism{pkcs11.NewMechanism(m.sign, nil)}}
	if err := mod.Initialize(); err != nil {
		mod.Destroy()
		return nil, fmt.Errorf("%s: C_Initialize: %w", o.Module, err)
	}
	if err := d.start(m.keyGen, m.params); err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

func (d *Driver) start(keyGen uint, params []byte) error {
	slot, err := d.findSlot()
	if err != nil {
		return err
	}
	if d.login, err = d.mod.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION); err != nil {
		return fmt.Errorf("C_OpenSession: %w", err)
	}
	if err := d.mod.Login(d.login, pkcs11.CKU_USER, d.opts.PIN); err != nil && !isCKR(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
		return fmt.Errorf("C_Login: %w", err)
	}
	labels := d.opts.Labels
	for i := range d.opts.Generate {
		label := bench.KeyLabel(d.opts.Scheme, i)
		if err := d.generate(label, keyGen, params); err != nil {
			return err
		}
		labels = append(labels, label)
	}
	for _, label := range labels {
		k, err := d.find(label, params)
		if err != nil {
			return err
		}
		d.keys = append(d.keys, k)
	}
	return nil
}

// findSlot picks the slot to use (see Options.TokenLabel).
func (d *Driver) findSlot() (uint, error) {
	slots, err := d.mod.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("C_GetSlotList: %w", err)
	}
	for _, s := range slots {
		if d.opts.TokenLabel != "" {
			ti, err := d.mod.GetTokenInfo(s)
			if err != nil || strings.TrimRight(ti.Label, " \x00") != d.opts.TokenLabel {
				continue
			}
		}
		mechs, err := d.mod.GetMechanismList(s)
		if err != nil {
			continue
		}
		if slices.ContainsFunc(mechs, func(m *pkcs11.Mechanism) bool { return m.Mechanism == d.mech[0].Mechanism }) {
			return s, nil
		}
	}
	return 0, fmt.Errorf("no slot of %s offers mechanism 0x%X for %s (token label %q)", d.opts.Module, d.mech[0].Mechanism, d.opts.Scheme, d.opts.TokenLabel)
}

func (d *Driver) generate(label string, keyGen uint, params []byte) error {
	_, _, err := d.mod.GenerateKeyPair(d.login, []*pkcs11.Mechanism{pkcs11.NewMechanism(keyGen, nil)},
		[]*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params), pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		},
		[]*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
			pkcs11.NewAttribute(pkcs11.CKA_SIGN, true), pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		})
	if err != nil {
		return fmt.Errorf("C_GenerateKeyPair %s: %w", label, err)
	}
	return nil
}

// find looks up the private key labelled label and its public half, and checks the key's
// curve.
func (d *Driver) find(label string, params []byte) (key, error) {
	priv, err := d.findOne(pkcs11.CKO_PRIVATE_KEY, label)
	if err != nil {
		return key{}, err
	}
	pubObj, err := d.findOne(pkcs11.CKO_PUBLIC_KEY, label)
	if err != nil {
		return key{}, err
	}
	attrs, err := d.mod.GetAttributeValue(d.login, pubObj, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, nil), pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil),
	})
	if err != nil || len(attrs) != 2 {
		return key{}, fmt.Errorf("key %q: reading CKA_EC_PARAMS and CKA_EC_POINT: %v", label, err)
	}
	if !bytes.Equal(attrs[0].Value, params) {
		return key{}, fmt.Errorf("key %q is not a %s key (CKA_EC_PARAMS %x)", label, d.opts.Scheme, attrs[0].Value)
	}
	pub, err := DecodeECPoint(d.opts.Scheme, attrs[1].Value)
	if err != nil {
		return key{}, fmt.Errorf("key %q: %w", label, err)
	}
	return key{label: label, priv: priv, pub: pub}, nil
}

func (d *Driver) findOne(class uint, label string) (pkcs11.ObjectHandle, error) {
	if err := d.mod.FindObjectsInit(d.login, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, class), pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
	}); err != nil {
		return 0, fmt.Errorf("C_FindObjectsInit: %w", err)
	}
	objs, _, err := d.mod.FindObjects(d.login, 2)
	if ferr := d.mod.FindObjectsFinal(d.login); err == nil {
		err = ferr
	}
	switch {
	case err != nil:
		return 0, fmt.Errorf("C_FindObjects %q: %w", label, err)
	case len(objs) != 1:
		return 0, fmt.Errorf("%d objects of class %d labelled %q, want exactly one", len(objs), class, label)
	}
	return objs[0], nil
}

// maxECPoint caps a CKA_EC_POINT value: a DER OCTET STRING of at most 65 bytes.
const maxECPoint = 128

// DecodeECPoint decodes CKA_EC_POINT (a DER OCTET STRING, PKCS#11 3.0 section 2.3.3 and
// 2.3.6) into the encoding bench.Verify takes: an uncompressed SEC1 point for ECDSA, the 32-byte
// key for Ed25519. It refuses anything else: raw unwrapped points, trailing bytes, wrong sizes.
func DecodeECPoint(scheme string, der []byte) ([]byte, error) {
	if len(der) > maxECPoint {
		return nil, fmt.Errorf("%w: CKA_EC_POINT of %d bytes", bench.ErrInvalid, len(der))
	}
	var point []byte
	rest, err := asn1.Unmarshal(der, &point)
	if err != nil {
		return nil, fmt.Errorf("%w: CKA_EC_POINT is not a DER OCTET STRING: %v", bench.ErrInvalid, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after CKA_EC_POINT's OCTET STRING", bench.ErrInvalid, len(rest))
	}
	switch scheme {
	case bench.SchemeSecp256k1, bench.SchemeP256:
		if len(point) != 65 || point[0] != 0x04 {
			return nil, fmt.Errorf("%w: CKA_EC_POINT is not a 65-byte uncompressed point", bench.ErrInvalid)
		}
	case bench.SchemeEd25519:
		if len(point) != 32 {
			return nil, fmt.Errorf("%w: an Ed25519 CKA_EC_POINT holds %d bytes, want 32", bench.ErrInvalid, len(point))
		}
	default:
		return nil, fmt.Errorf("no PKCS#11 key encoding for scheme %q", scheme)
	}
	return point, nil
}

// Name names the driver in reports.
func (d *Driver) Name() string { return d.opts.Name }

// Keys is the number of keys the driver signs with.
func (d *Driver) Keys() int { return len(d.keys) }

// NewWorker opens the worker's own session (sessions are not shared between threads).
func (d *Driver) NewWorker(context.Context, int, int) (bench.Worker, error) {
	slot, err := d.mod.GetSessionInfo(d.login)
	if err != nil {
		return nil, fmt.Errorf("C_GetSessionInfo: %w", err)
	}
	sh, err := d.mod.OpenSession(slot.SlotID, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		return nil, fmt.Errorf("C_OpenSession: %w", err)
	}
	return &worker{d: d, session: sh}, nil
}

// Close closes the login session and unloads the module.
func (d *Driver) Close() error {
	if d.login != 0 {
		_ = d.mod.CloseSession(d.login)
	}
	err := d.mod.Finalize()
	d.mod.Destroy()
	return err
}

type worker struct {
	d       *Driver
	session pkcs11.SessionHandle
}

func (w *worker) Close() error { return w.d.mod.CloseSession(w.session) }

// Sign runs C_SignInit and C_Sign over a fresh 32-byte message with the next key in turn.
func (w *worker) Sign(context.Context) (bench.Signed, error) {
	d := w.d
	k := d.keys[(d.next.Add(1)-1)%uint64(len(d.keys))]
	msg := make([]byte, 32)
	_, _ = rand.Read(msg) // never fails (crypto/rand crashes the program instead)
	if err := d.mod.SignInit(w.session, d.mech, k.priv); err != nil {
		return bench.Signed{}, ckrError("C_SignInit", err)
	}
	sig, err := d.mod.Sign(w.session, msg)
	if err != nil {
		return bench.Signed{}, ckrError("C_Sign", err)
	}
	return bench.Signed{Scheme: d.opts.Scheme, PublicKey: k.pub, Message: msg, Signature: sig}, nil
}

// ckrError counts a PKCS#11 error under its CKR_* name.
func ckrError(call string, err error) error {
	var e pkcs11.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("%s: %w", call, err)
	}
	name := err.Error()
	if i := strings.LastIndex(name, ": "); i >= 0 {
		name = name[i+2:]
	}
	if !strings.HasPrefix(name, "CKR_") {
		name = fmt.Sprintf("CKR 0x%X", uint(e))
	}
	return &bench.KindError{Kind: name, Err: fmt.Errorf("%s: %w", call, err)}
}

func isCKR(err error, code uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == code
}
