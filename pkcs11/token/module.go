package token

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// Backend is the part of the native API client the module uses (*api.Client satisfies it).
type Backend interface {
	ListKeys(ctx context.Context) ([]api.Key, error)
	GetKey(ctx context.Context, key string) (*api.Key, error)
	CreateKey(ctx context.Context, req api.CreateKeyRequest) (*api.Key, error)
	Sign(ctx context.Context, key string, req api.SignRequest) (*api.SignResponse, error)
	Random(ctx context.Context, req api.RandomRequest) (*api.RandomResponse, error)
	DeleteKey(ctx context.Context, key string) (*api.KeyDeleted, error)
}

// Slots: ECDSA keys (secp256k1 and P-256) in slot 0; Ed25519 keys in slot 1 of their own,
// because OpenSSL's libp11 engine crashes on a token that also holds an Ed25519 key. A key is
// visible in its curve's slot only (Curve.Slot).
const (
	SlotECDSA uint = 0
	SlotEdDSA uint = 1
	numSlots       = 2
)

// MaxPINLen bounds C_Login's PIN.
const MaxPINLen = 4096

// Module is one initialized instance of the library (from C_Initialize to C_Finalize).
type Module struct {
	cfg     *Config
	backend Backend
	handles *Handles
	ctx     context.Context
	cancel  context.CancelFunc

	mu          sync.Mutex
	sessions    map[uint]*session
	nextSession uint
	loggedIn    bool
	keys        map[string]*keyObject // by key id: the last list from the host
}

type session struct {
	slot uint
	rw   bool

	mu      sync.Mutex
	find    []uint // remaining handles of an active search; nil when none
	finding bool
	sign    *signOp
	verify  *signOp
}

// signOp is an active sign or verify operation.
type signOp struct {
	key     *keyObject
	mech    uint
	hash    hash.Hash // CKM_ECDSA_SHA256: the running digest of the parts
	msg     []byte    // CKM_EDDSA: the parts so far (PureEdDSA signs the message, not a hash of it)
	updated bool      // C_*Update was called: only C_*Final may follow
}

// Open loads the configuration named by the environment and connects a Module to its host.
func Open(getenv func(string) string, handles *Handles) (*Module, error) {
	cfg, err := LoadConfig(ConfigPath(getenv))
	if err != nil {
		return nil, err
	}
	c, err := api.NewClient(api.ClientOptions{URL: cfg.API, TokenFile: cfg.TokenFile, CAFile: cfg.CAFile, Timeout: time.Duration(cfg.KeygenTimeout)})
	if err != nil {
		return nil, err
	}
	return NewModule(cfg, c, handles), nil
}

// NewModule makes a Module over any Backend.
func NewModule(cfg *Config, b Backend, handles *Handles) *Module {
	ctx, cancel := context.WithCancel(context.Background())
	return &Module{cfg: cfg, backend: b, handles: handles, ctx: ctx, cancel: cancel,
		sessions: map[uint]*session{}, keys: map[string]*keyObject{}}
}

// Close ends the module (C_Finalize): API calls in flight are cancelled.
func (m *Module) Close() {
	m.cancel()
	m.mu.Lock()
	m.sessions = map[uint]*session{}
	m.loggedIn = false
	m.mu.Unlock()
}

// callContext bounds one API call.
func (m *Module) callContext(d Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(m.ctx, time.Duration(d))
}

// CheckInitArgs applies C_Initialize's rules to a CK_C_INITIALIZE_ARGS: the four mutex
// callbacks must be all NULL or all set, and pReserved must be NULL.
func CheckInitArgs(mutexFuncsSet int, flags uint, reservedSet bool) uint {
	switch {
	case reservedSet:
		return CKR_ARGUMENTS_BAD
	case mutexFuncsSet != 0 && mutexFuncsSet != 4:
		return CKR_ARGUMENTS_BAD
	}
	// CKF_LIBRARY_CANT_CREATE_OS_THREADS is accepted: the Go runtime's threads exist from the
	// moment the library is loaded, before C_Initialize, and C_Initialize starts none of its
	// own. (p11-kit, and so GnuTLS's p11tool, sets the flag; refusing it made them unusable.)
	// Application mutex callbacks, with or without CKF_OS_LOCKING_OK, are accepted and not
	// called: every shared structure in the module is guarded by its own locks, so the
	// application's add nothing. (GnuTLS's p11tool passes callbacks without the flag; refusing
	// with CKR_CANT_LOCK made it unusable.)
	return CKR_OK
}

// SlotList returns the slot ids (both slots always hold a token).
func SlotList() []uint { return []uint{SlotECDSA, SlotEdDSA} }

// SlotInfo describes a slot.
type SlotInfo struct {
	Description, Manufacturer string
	Flags                     uint
}

// TokenInfo describes a slot's token.
type TokenInfo struct {
	Label, Manufacturer, Model, Serial string
	Flags                              uint
	Sessions, RWSessions               uint
	MinPINLen, MaxPINLen               uint
}

const manufacturer = "mpcsigner"

// GetSlotInfo answers C_GetSlotInfo.
func GetSlotInfo(slot uint) (SlotInfo, error) {
	if slot >= numSlots {
		return SlotInfo{}, ckr(CKR_SLOT_ID_INVALID, "slot %d", slot)
	}
	return SlotInfo{Description: slotLabel(slot) + " (threshold signer)", Manufacturer: manufacturer, Flags: CKF_TOKEN_PRESENT | CKF_HW_SLOT}, nil
}

func slotLabel(slot uint) string {
	if slot == SlotEdDSA {
		return "mpcsigner EdDSA"
	}
	return "mpcsigner ECDSA"
}

// GetTokenInfo answers C_GetTokenInfo.
func (m *Module) GetTokenInfo(slot uint) (TokenInfo, error) {
	if slot >= numSlots {
		return TokenInfo{}, ckr(CKR_SLOT_ID_INVALID, "slot %d", slot)
	}
	ti := TokenInfo{Label: slotLabel(slot), Manufacturer: manufacturer, Model: "threshold", Serial: fmt.Sprintf("mpcsigner-%d", slot),
		Flags: CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_RNG, MinPINLen: 1, MaxPINLen: MaxPINLen}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sessions {
		if s.slot == slot {
			ti.Sessions++
			if s.rw {
				ti.RWSessions++
			}
		}
	}
	return ti, nil
}

// MechanismInfo describes a mechanism.
type MechanismInfo struct{ MinKeySize, MaxKeySize, Flags uint }

// Mechanism is a CK_MECHANISM as the C layer hands it over: the type and the bytes of its
// parameter block (empty when there is none). Param may view the caller's memory: it is read
// during the call and never kept.
type Mechanism struct {
	Type  uint
	Param []byte
}

// slotMechanisms are each slot's mechanisms. CKF_HW because the enclaves sign, not the module
// (pkcs11-tool, without --allow-sw, only picks a mechanism that has it). Slot 1 cannot
// generate keys yet: Ed25519 keys are made with the CLI or the native API.
var slotMechanisms = [numSlots]map[uint]MechanismInfo{
	SlotECDSA: {
		CKM_EC_KEY_PAIR_GEN: {256, 256, CKF_HW | CKF_GENERATE_KEY_PAIR | CKF_EC_F_P | CKF_EC_OID | CKF_EC_UNCOMPRESS},
		CKM_ECDSA:           {256, 256, CKF_HW | CKF_SIGN | CKF_VERIFY | CKF_EC_F_P | CKF_EC_OID | CKF_EC_UNCOMPRESS},
		CKM_ECDSA_SHA256:    {256, 256, CKF_HW | CKF_SIGN | CKF_VERIFY | CKF_EC_F_P | CKF_EC_OID | CKF_EC_UNCOMPRESS},
	},
	SlotEdDSA: {
		CKM_EDDSA: {256, 256, CKF_HW | CKF_SIGN | CKF_VERIFY},
	},
}

// MechanismList answers C_GetMechanismList, in ascending order.
func MechanismList(slot uint) ([]uint, error) {
	if slot >= numSlots {
		return nil, ckr(CKR_SLOT_ID_INVALID, "slot %d", slot)
	}
	return slices.Sorted(maps.Keys(slotMechanisms[slot])), nil
}

// GetMechanismInfo answers C_GetMechanismInfo.
func GetMechanismInfo(slot, mech uint) (MechanismInfo, error) {
	if slot >= numSlots {
		return MechanismInfo{}, ckr(CKR_SLOT_ID_INVALID, "slot %d", slot)
	}
	mi, ok := slotMechanisms[slot][mech]
	if !ok {
		return MechanismInfo{}, ckr(CKR_MECHANISM_INVALID, "mechanism 0x%X", mech)
	}
	return mi, nil
}

// checkMechanismParam checks a mechanism's parameter block: CKM_EDDSA takes an optional
// CK_EDDSA_PARAMS, every other mechanism of the module none.
func checkMechanismParam(mech Mechanism) error {
	if mech.Type == CKM_EDDSA {
		return checkEdDSAParams(mech.Param)
	}
	if len(mech.Param) != 0 {
		return ckr(CKR_MECHANISM_PARAM_INVALID, "mechanism 0x%X takes no parameter", mech.Type)
	}
	return nil
}

// OpenSession answers C_OpenSession.
func (m *Module) OpenSession(slot, flags uint) (uint, error) {
	if slot >= numSlots {
		return 0, ckr(CKR_SLOT_ID_INVALID, "slot %d", slot)
	}
	if flags&CKF_SERIAL_SESSION == 0 {
		return 0, ckr(CKR_SESSION_PARALLEL_NOT_SUPPORTED, "CKF_SERIAL_SESSION is required")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextSession++
	h := m.nextSession
	m.sessions[h] = &session{slot: slot, rw: flags&CKF_RW_SESSION != 0}
	return h, nil
}

// CloseSession answers C_CloseSession; closing the last session logs the user out.
func (m *Module) CloseSession(h uint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[h]; !ok {
		return ckr(CKR_SESSION_HANDLE_INVALID, "session %d", h)
	}
	delete(m.sessions, h)
	m.logoutIfIdleLocked()
	return nil
}

// CloseAllSessions answers C_CloseAllSessions.
func (m *Module) CloseAllSessions(slot uint) error {
	if slot >= numSlots {
		return ckr(CKR_SLOT_ID_INVALID, "slot %d", slot)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, s := range m.sessions {
		if s.slot == slot {
			delete(m.sessions, h)
		}
	}
	m.logoutIfIdleLocked()
	return nil
}

func (m *Module) logoutIfIdleLocked() {
	if len(m.sessions) == 0 {
		m.loggedIn = false
	}
}

// session finds a session.
func (m *Module) session(h uint) (*session, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[h]
	if !ok {
		return nil, false, ckr(CKR_SESSION_HANDLE_INVALID, "session %d", h)
	}
	return s, m.loggedIn, nil
}

// SessionInfo describes a session.
type SessionInfo struct{ Slot, State, Flags uint }

// GetSessionInfo answers C_GetSessionInfo.
func (m *Module) GetSessionInfo(h uint) (SessionInfo, error) {
	s, in, err := m.session(h)
	if err != nil {
		return SessionInfo{}, err
	}
	si := SessionInfo{Slot: s.slot, Flags: CKF_SERIAL_SESSION}
	switch {
	case s.rw && in:
		si.State, si.Flags = CKS_RW_USER_FUNCTIONS, si.Flags|CKF_RW_SESSION
	case s.rw:
		si.State, si.Flags = CKS_RW_PUBLIC_SESSION, si.Flags|CKF_RW_SESSION
	case in:
		si.State = CKS_RO_USER_FUNCTIONS
	default:
		si.State = CKS_RO_PUBLIC_SESSION
	}
	return si, nil
}

// Login answers C_Login (token-wide). The PIN is compared in constant time with pin_file or,
// without one, with the API token; the host is then asked for its key list, so a token the
// host refuses is reported as CKR_PIN_INCORRECT and an unreachable host as CKR_DEVICE_ERROR.
func (m *Module) Login(h, userType uint, pin []byte) error {
	if _, _, err := m.session(h); err != nil {
		return err
	}
	if userType != CKU_USER {
		return ckr(CKR_USER_TYPE_INVALID, "only CKU_USER exists on this token")
	}
	if len(pin) > MaxPINLen {
		return ckr(CKR_PIN_LEN_RANGE, "PIN longer than %d bytes", MaxPINLen)
	}
	m.mu.Lock()
	in := m.loggedIn
	m.mu.Unlock()
	if in {
		return ckr(CKR_USER_ALREADY_LOGGED_IN, "already logged in")
	}
	want, err := m.expectedPIN()
	if err != nil {
		return ckr(CKR_GENERAL_ERROR, "%v", err)
	}
	a, b := sha256.Sum256(pin), sha256.Sum256(want)
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return ckr(CKR_PIN_INCORRECT, "wrong PIN")
	}
	if err := m.refreshKeys(); err != nil {
		return &Error{RV: ToCKR(OpLogin, err), Msg: err.Error()}
	}
	m.mu.Lock()
	m.loggedIn = true
	m.mu.Unlock()
	return nil
}

func (m *Module) expectedPIN() ([]byte, error) {
	path := m.cfg.PINFile
	if path == "" {
		path = m.cfg.TokenFile
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v := strings.TrimSpace(string(raw))
	if v == "" {
		return nil, errors.New("empty PIN file")
	}
	return []byte(v), nil
}

// Logout answers C_Logout; active operations on private keys end with the login.
func (m *Module) Logout(h uint) error {
	if _, _, err := m.session(h); err != nil {
		return err
	}
	m.mu.Lock()
	if !m.loggedIn {
		m.mu.Unlock()
		return ckr(CKR_USER_NOT_LOGGED_IN, "not logged in")
	}
	m.loggedIn = false
	sessions := make([]*session, 0, len(m.sessions))
	for _, s := range m.sessions {
		sessions = append(sessions, s)
	}
	m.mu.Unlock()
	// Lock order is session, then module: never take a session lock under m.mu.
	for _, s := range sessions {
		s.mu.Lock()
		s.sign, s.find, s.finding = nil, nil, false
		s.mu.Unlock()
	}
	return nil
}

// refreshKeys replaces the key cache with the host's list.
func (m *Module) refreshKeys() error {
	ctx, cancel := m.callContext(m.cfg.Timeout)
	defer cancel()
	list, err := m.backend.ListKeys(ctx)
	if err != nil {
		return err
	}
	keys := map[string]*keyObject{}
	for _, k := range list {
		if m.handles.isDestroyed(k.ID) {
			continue // a party that missed the deletion may still list it
		}
		ko, ok, err := newKeyObject(k)
		if err != nil {
			return fmt.Errorf("key %s: %w", k.ID, err)
		}
		if ok {
			keys[ko.id] = ko
			m.handles.index(ko.id)
		}
	}
	m.mu.Lock()
	m.keys = keys
	m.mu.Unlock()
	return nil
}

// object resolves a handle visible to a session: private keys only when logged in, and only
// keys of the session's slot.
func (m *Module) object(s *session, loggedIn bool, h uint) (object, error) {
	id, class, ok := m.handles.lookup(h)
	if !ok || (class == CKO_PRIVATE_KEY && !loggedIn) {
		return object{}, ckr(CKR_OBJECT_HANDLE_INVALID, "object %d", h)
	}
	m.mu.Lock()
	ko := m.keys[id]
	m.mu.Unlock()
	if ko == nil {
		k, err := m.fetchKey(id)
		if err != nil {
			return object{}, err
		}
		ko = k
	}
	if ko.curve.Slot != s.slot {
		return object{}, ckr(CKR_OBJECT_HANDLE_INVALID, "object %d is in slot %d", h, ko.curve.Slot)
	}
	return object{key: ko, class: class}, nil
}

// fetchKey gets one key the cache does not hold (after C_Finalize/C_Initialize).
func (m *Module) fetchKey(id string) (*keyObject, error) {
	ctx, cancel := m.callContext(m.cfg.Timeout)
	defer cancel()
	k, err := m.backend.GetKey(ctx, id)
	if err != nil {
		return nil, &Error{RV: ToCKR(OpOther, err), Msg: err.Error()}
	}
	ko, ok, err := newKeyObject(*k)
	if err != nil || !ok {
		return nil, ckr(CKR_OBJECT_HANDLE_INVALID, "key %s", id)
	}
	m.mu.Lock()
	m.keys[id] = ko
	m.mu.Unlock()
	return ko, nil
}

// GetAttributeValue answers C_GetAttributeValue; the returned value is the call's CKR.
func (m *Module) GetAttributeValue(h, obj uint, slots []AttrSlot) uint {
	s, in, err := m.session(h)
	if err != nil {
		return ToCKR(OpOther, err)
	}
	o, err := m.object(s, in, obj)
	if err != nil {
		return ToCKR(OpOther, err)
	}
	return o.fillAttributes(slots)
}

// SetAttributeValue answers C_SetAttributeValue: every attribute is read-only, CKA_LABEL
// included, until the API can relabel a key.
func (m *Module) SetAttributeValue(h, obj uint, tmpl []Attribute) error {
	s, in, err := m.session(h)
	if err != nil {
		return err
	}
	if _, err := m.object(s, in, obj); err != nil {
		return err
	}
	return ckr(CKR_ATTRIBUTE_READ_ONLY, "objects are read-only (the API cannot relabel keys yet)")
}

// DestroyObject answers C_DestroyObject: destroying either object of a key pair deletes the key
// across the cluster (DELETE /v1/keys/{id}), so it needs allow_key_deletion in the configuration
// (otherwise CKR_ACTION_PROHIBITED) and a logged-in read/write session. Once the host confirms,
// both objects' handles are invalid in every session; if it cannot (too few parties
// reachable), the key stays and the call fails with CKR_DEVICE_ERROR.
func (m *Module) DestroyObject(h, obj uint) error {
	s, in, err := m.session(h)
	if err != nil {
		return err
	}
	o, err := m.object(s, in, obj)
	if err != nil {
		return err
	}
	// Checked after the handles so a bad handle still gets its own error code, and before
	// anything reaches the host.
	if !m.cfg.AllowKeyDeletion {
		return ckr(CKR_ACTION_PROHIBITED, "key deletion is disabled: set allow_key_deletion: true in the PKCS#11 configuration")
	}
	if !s.rw {
		return ckr(CKR_SESSION_READ_ONLY, "destroying a token object needs a read/write session")
	}
	if !in {
		return ckr(CKR_USER_NOT_LOGGED_IN, "destroying a key pair needs a login")
	}
	ctx, cancel := m.callContext(m.cfg.Timeout)
	defer cancel()
	if _, err := m.backend.DeleteKey(ctx, o.key.id); err != nil {
		rv := ToCKR(OpOther, err)
		if rv == CKR_OBJECT_HANDLE_INVALID {
			m.forget(o.key.id) // deleted already, by another client
		}
		return &Error{RV: rv, Msg: err.Error()}
	}
	m.forget(o.key.id)
	return nil
}

// forget drops a deleted key: its handles become invalid in every session.
func (m *Module) forget(id string) {
	m.handles.destroy(id)
	m.mu.Lock()
	delete(m.keys, id)
	m.mu.Unlock()
}

// FindObjectsInit answers C_FindObjectsInit. A class other than a key finds nothing without
// asking the host; otherwise the key list is refreshed from the host.
func (m *Module) FindObjectsInit(h uint, tmpl []Attribute) error {
	s, in, err := m.session(h)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finding {
		return ckr(CKR_OPERATION_ACTIVE, "a search is active")
	}
	found := []uint{}
	if mayMatchKeys(tmpl) {
		if err := m.refreshKeys(); err != nil {
			return &Error{RV: ToCKR(OpFind, err), Msg: err.Error()}
		}
		found = m.matching(s.slot, tmpl, in)
	}
	s.find, s.finding = found, true
	return nil
}

// mayMatchKeys is false when the template's CKA_CLASS is not a key class.
func mayMatchKeys(tmpl []Attribute) bool {
	for _, a := range tmpl {
		if a.Type == CKA_CLASS {
			c, ok := ulongValue(a.Value)
			return ok && (c == CKO_PUBLIC_KEY || c == CKO_PRIVATE_KEY)
		}
	}
	return true
}

// matching lists the handles of the cached keys of a slot matching a template, in handle order.
func (m *Module) matching(slot uint, tmpl []Attribute, loggedIn bool) []uint {
	m.mu.Lock()
	keys := make([]*keyObject, 0, len(m.keys))
	for _, k := range m.keys {
		if k.curve.Slot == slot {
			keys = append(keys, k)
		}
	}
	m.mu.Unlock()
	var out []uint
	for _, k := range keys {
		if (object{k, CKO_PUBLIC_KEY}).matches(tmpl) {
			out = append(out, m.handles.Public(k.id))
		}
		if loggedIn && (object{k, CKO_PRIVATE_KEY}).matches(tmpl) {
			out = append(out, m.handles.Private(k.id))
		}
	}
	sortUints(out)
	return out
}

func sortUints(a []uint) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// FindObjects answers C_FindObjects.
func (m *Module) FindObjects(h uint, max int) ([]uint, error) {
	s, _, err := m.session(h)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.finding {
		return nil, ckr(CKR_OPERATION_NOT_INITIALIZED, "no active search")
	}
	n := min(max, len(s.find))
	out := s.find[:n:n]
	s.find = s.find[n:]
	return out, nil
}

// FindObjectsFinal answers C_FindObjectsFinal.
func (m *Module) FindObjectsFinal(h uint) error {
	s, _, err := m.session(h)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.finding {
		return ckr(CKR_OPERATION_NOT_INITIALIZED, "no active search")
	}
	s.find, s.finding = nil, false
	return nil
}

// newOp checks a mechanism and key for C_SignInit / C_VerifyInit: a mechanism of the session's
// slot that signs (or verifies), with a parameter block it accepts, and the private (or public)
// half of a key of that slot.
func (m *Module) newOp(s *session, in bool, mech Mechanism, key, wantClass uint) (*signOp, error) {
	use := uint(CKF_SIGN)
	if wantClass == CKO_PUBLIC_KEY {
		use = CKF_VERIFY
	}
	if mi, ok := slotMechanisms[s.slot][mech.Type]; !ok || mi.Flags&use == 0 {
		return nil, ckr(CKR_MECHANISM_INVALID, "mechanism 0x%X in slot %d", mech.Type, s.slot)
	}
	if err := checkMechanismParam(mech); err != nil {
		return nil, err
	}
	o, err := m.object(s, in, key)
	if err != nil {
		if ToCKR(OpOther, err) == CKR_OBJECT_HANDLE_INVALID {
			return nil, ckr(CKR_KEY_HANDLE_INVALID, "key %d", key)
		}
		return nil, err
	}
	if o.class != wantClass {
		return nil, ckr(CKR_KEY_FUNCTION_NOT_PERMITTED, "key %d cannot do this", key)
	}
	if !o.key.curve.allows(mech.Type) {
		return nil, ckr(CKR_KEY_TYPE_INCONSISTENT, "a %s key cannot use mechanism 0x%X", o.key.curve.Name, mech.Type)
	}
	op := &signOp{key: o.key, mech: mech.Type}
	if mech.Type == CKM_ECDSA_SHA256 {
		op.hash = sha256.New()
	}
	return op, nil
}

// SignInit answers C_SignInit.
func (m *Module) SignInit(h uint, mech Mechanism, key uint) error {
	s, in, err := m.session(h)
	if err != nil {
		return err
	}
	if !in {
		return ckr(CKR_USER_NOT_LOGGED_IN, "login required to sign")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sign != nil {
		return ckr(CKR_OPERATION_ACTIVE, "a signing operation is active")
	}
	op, err := m.newOp(s, in, mech, key, CKO_PRIVATE_KEY)
	if err != nil {
		return err
	}
	s.sign = op
	return nil
}

// Sign answers C_Sign. A length query (query true) and a too-small buffer return the
// signature length without calling the host and keep the operation active; any other outcome,
// data the mechanism refuses included, ends it.
func (m *Module) Sign(h uint, data []byte, capacity int, query bool) ([]byte, error) {
	s, _, err := m.session(h)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.sign
	if op == nil {
		return nil, ckr(CKR_OPERATION_NOT_INITIALIZED, "no signing operation")
	}
	if op.updated {
		return nil, ckr(CKR_OPERATION_ACTIVE, "a multi-part signature is active: use C_SignFinal")
	}
	payload, err := op.payload(data)
	if err == nil {
		err = checkSignable(op.key, payload)
	}
	if err != nil {
		s.sign = nil
		return nil, err
	}
	if query {
		return nil, nil
	}
	if capacity < SignatureLen {
		return nil, ckr(CKR_BUFFER_TOO_SMALL, "a signature is %d bytes", SignatureLen)
	}
	s.sign = nil
	return m.sign(op.key, payload)
}

// payload returns what the host signs, and what a signature is checked against, for
// single-part data: a 32-byte digest for ECDSA, the message itself for EdDSA.
func (op *signOp) payload(data []byte) ([]byte, error) {
	switch op.mech {
	case CKM_ECDSA_SHA256:
		d := sha256.Sum256(data)
		return d[:], nil
	case CKM_EDDSA:
		if err := checkMessageLen(len(data)); err != nil {
			return nil, err
		}
		return data, nil
	}
	if len(data) == 0 {
		return nil, ckr(CKR_DATA_LEN_RANGE, "CKM_ECDSA needs a hash")
	}
	return ecdsaDigest(data), nil
}

// multiPart reports whether the operation's mechanism takes C_*Update and C_*Final.
func (op *signOp) multiPart() bool { return op.mech != CKM_ECDSA }

// update adds a part to a multi-part operation. CKM_EDDSA copies the part: it may view the
// caller's memory.
func (op *signOp) update(part []byte) error {
	switch op.mech {
	case CKM_ECDSA_SHA256:
		op.hash.Write(part)
	case CKM_EDDSA:
		if err := checkMessageLen(len(op.msg) + len(part)); err != nil {
			return err
		}
		op.msg = append(op.msg, part...)
	default:
		return ckr(CKR_FUNCTION_NOT_SUPPORTED, "CKM_ECDSA is single-part only")
	}
	op.updated = true
	return nil
}

// finalPayload returns what a multi-part operation signs or checks.
func (op *signOp) finalPayload() []byte {
	if op.mech == CKM_EDDSA {
		return op.msg
	}
	return op.hash.Sum(nil)
}

// SignUpdate answers C_SignUpdate (CKM_ECDSA_SHA256 and CKM_EDDSA).
func (m *Module) SignUpdate(h uint, part []byte) error {
	s, _, err := m.session(h)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return updateOp(&s.sign, part)
}

// updateOp feeds a part to the operation in *slot; an error ends the operation.
func updateOp(slot **signOp, part []byte) error {
	op := *slot
	if op == nil {
		return ckr(CKR_OPERATION_NOT_INITIALIZED, "no operation")
	}
	if err := op.update(part); err != nil {
		*slot = nil
		return err
	}
	return nil
}

// SignFinal answers C_SignFinal, with the length rules of Sign.
func (m *Module) SignFinal(h uint, capacity int, query bool) ([]byte, error) {
	s, _, err := m.session(h)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.sign
	if op == nil {
		return nil, ckr(CKR_OPERATION_NOT_INITIALIZED, "no signing operation")
	}
	if !op.multiPart() {
		s.sign = nil
		return nil, ckr(CKR_FUNCTION_NOT_SUPPORTED, "CKM_ECDSA is single-part only")
	}
	payload := op.finalPayload()
	if err := checkSignable(op.key, payload); err != nil {
		s.sign = nil
		return nil, err
	}
	if query {
		return nil, nil
	}
	if capacity < SignatureLen {
		return nil, ckr(CKR_BUFFER_TOO_SMALL, "a signature is %d bytes", SignatureLen)
	}
	s.sign = nil
	return m.sign(op.key, payload)
}

// sign asks the host for a signature of a payload, within the call deadline, and checks it
// against the public key before returning it.
func (m *Module) sign(k *keyObject, payload []byte) ([]byte, error) {
	ctx, cancel := m.callContext(m.cfg.Timeout)
	defer cancel()
	resp, err := m.backend.Sign(ctx, k.id, k.curve.signRequest(payload))
	if err != nil {
		return nil, &Error{RV: ToCKR(OpSign, err), Msg: err.Error()}
	}
	sig, err := hex.DecodeString(resp.Signature)
	if err != nil || !k.curve.verify(k.point, payload, sig) {
		return nil, &Error{RV: ToCKR(OpSign, errBackend), Msg: "the host returned a signature that does not verify"}
	}
	return sig, nil
}

// VerifyInit answers C_VerifyInit (local verification with the public key).
func (m *Module) VerifyInit(h uint, mech Mechanism, key uint) error {
	s, in, err := m.session(h)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.verify != nil {
		return ckr(CKR_OPERATION_ACTIVE, "a verification is active")
	}
	op, err := m.newOp(s, in, mech, key, CKO_PUBLIC_KEY)
	if err != nil {
		return err
	}
	s.verify = op
	return nil
}

// Verify answers C_Verify; the operation ends whatever the outcome.
func (m *Module) Verify(h uint, data, sig []byte) error {
	s, _, err := m.session(h)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.verify
	if op == nil {
		return ckr(CKR_OPERATION_NOT_INITIALIZED, "no verification")
	}
	s.verify = nil
	if op.updated {
		return ckr(CKR_OPERATION_ACTIVE, "a multi-part verification was active")
	}
	payload, err := op.payload(data)
	if err != nil {
		return err
	}
	return checkSignature(op.key, payload, sig)
}

func checkSignature(k *keyObject, payload, sig []byte) error {
	if len(sig) != SignatureLen {
		return ckr(CKR_SIGNATURE_LEN_RANGE, "a signature is %d bytes", SignatureLen)
	}
	if !k.curve.verify(k.point, payload, sig) {
		return ckr(CKR_SIGNATURE_INVALID, "signature invalid")
	}
	return nil
}

// VerifyUpdate answers C_VerifyUpdate (CKM_ECDSA_SHA256 and CKM_EDDSA).
func (m *Module) VerifyUpdate(h uint, part []byte) error {
	s, _, err := m.session(h)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return updateOp(&s.verify, part)
}

// VerifyFinal answers C_VerifyFinal.
func (m *Module) VerifyFinal(h uint, sig []byte) error {
	s, _, err := m.session(h)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.verify
	if op == nil {
		return ckr(CKR_OPERATION_NOT_INITIALIZED, "no verification")
	}
	s.verify = nil
	if !op.multiPart() {
		return ckr(CKR_FUNCTION_NOT_SUPPORTED, "CKM_ECDSA is single-part only")
	}
	return checkSignature(op.key, op.finalPayload(), sig)
}

// GenerateKeyPair answers C_GenerateKeyPair: a DKG on the host, bounded by keygen_timeout.
// CKA_EC_PARAMS (public template) picks the curve; CKA_LABEL (either template) names the key.
// A CKA_ID (1 to 64 bytes, either template) is stored with the key by every enclave and is the
// objects' CKA_ID from then on; it also serves as the label, in hex, when no CKA_LABEL is given.
// Without one, CKA_ID is the bytes of the host's key id.
func (m *Module) GenerateKeyPair(h uint, mech Mechanism, pub, priv []Attribute) (uint, uint, error) {
	s, in, err := m.session(h)
	if err != nil {
		return 0, 0, err
	}
	if mech.Type != CKM_EC_KEY_PAIR_GEN || s.slot != SlotECDSA {
		return 0, 0, ckr(CKR_MECHANISM_INVALID, "mechanism 0x%X in slot %d", mech.Type, s.slot)
	}
	if err := checkMechanismParam(mech); err != nil {
		return 0, 0, err
	}
	if !in {
		return 0, 0, ckr(CKR_USER_NOT_LOGGED_IN, "login required")
	}
	if !s.rw {
		return 0, 0, ckr(CKR_SESSION_READ_ONLY, "token objects need a read/write session")
	}
	req, err := keygenRequest(pub, priv)
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := m.callContext(m.cfg.KeygenTimeout)
	defer cancel()
	k, err := m.backend.CreateKey(ctx, req)
	if err != nil {
		return 0, 0, &Error{RV: ToCKR(OpGenerate, err), Msg: err.Error()}
	}
	ko, ok, err := newKeyObject(*k)
	if err != nil || !ok || ko.curve.Scheme != req.Scheme || k.PKCS11ID != req.PKCS11ID {
		return 0, 0, ckr(CKR_DEVICE_ERROR, "the host returned an unusable key, or not the one asked for")
	}
	m.mu.Lock()
	m.keys[ko.id] = ko
	m.mu.Unlock()
	return m.handles.Public(ko.id), m.handles.Private(ko.id), nil
}

// keygenRequest checks C_GenerateKeyPair's templates and builds the API request.
func keygenRequest(pub, priv []Attribute) (api.CreateKeyRequest, error) {
	var curve *Curve
	var label, id []byte
	for i, tmpl := range [][]Attribute{pub, priv} {
		class := CKO_PUBLIC_KEY
		if i == 1 {
			class = CKO_PRIVATE_KEY
		}
		for _, a := range tmpl {
			if err := checkKeygenAttribute(a, class); err != nil {
				return api.CreateKeyRequest{}, err
			}
			switch a.Type {
			case CKA_EC_PARAMS:
				if curve = keygenCurveByParams(a.Value); curve == nil {
					return api.CreateKeyRequest{}, ckr(CKR_CURVE_NOT_SUPPORTED, "only secp256k1 and P-256")
				}
			case CKA_LABEL:
				if label != nil && string(label) != string(a.Value) {
					return api.CreateKeyRequest{}, ckr(CKR_TEMPLATE_INCONSISTENT, "two different labels")
				}
				label = a.Value
			case CKA_ID:
				if len(a.Value) == 0 || len(a.Value) > api.MaxPKCS11IDBytes {
					return api.CreateKeyRequest{}, ckr(CKR_ATTRIBUTE_VALUE_INVALID, "CKA_ID must be 1 to %d bytes", api.MaxPKCS11IDBytes)
				}
				if id != nil && !bytes.Equal(id, a.Value) {
					return api.CreateKeyRequest{}, ckr(CKR_TEMPLATE_INCONSISTENT, "two different CKA_IDs")
				}
				id = a.Value
			}
		}
	}
	if curve == nil {
		return api.CreateKeyRequest{}, ckr(CKR_TEMPLATE_INCOMPLETE, "CKA_EC_PARAMS is required")
	}
	if label == nil && id != nil {
		label = []byte(hex.EncodeToString(id))
	}
	req := api.CreateKeyRequest{Scheme: curve.Scheme, Label: string(label)}
	if id != nil {
		req.PKCS11ID = hex.EncodeToString(id)
	}
	return req, nil
}

// checkKeygenAttribute refuses template values the module cannot honour.
func checkKeygenAttribute(a Attribute, class uint) error {
	bad := func() error { return ckr(CKR_TEMPLATE_INCONSISTENT, "attribute 0x%X cannot have that value", a.Type) }
	switch a.Type {
	case CKA_CLASS, CKA_KEY_TYPE:
		v, ok := ulongValue(a.Value)
		if !ok {
			return ckr(CKR_ATTRIBUTE_VALUE_INVALID, "attribute 0x%X", a.Type)
		}
		if (a.Type == CKA_CLASS && v != class) || (a.Type == CKA_KEY_TYPE && v != CKK_EC) {
			return bad()
		}
	case CKA_TOKEN, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_PRIVATE, CKA_SIGN, CKA_VERIFY, CKA_DERIVE,
		CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP, CKA_MODIFIABLE:
		v, ok := boolValue(a.Value)
		if !ok {
			return ckr(CKR_ATTRIBUTE_VALUE_INVALID, "attribute 0x%X", a.Type)
		}
		want, fixed := fixedKeygenBool(a.Type, class)
		if fixed && v != want {
			return bad()
		}
	}
	return nil
}

// fixedKeygenBool gives the value a boolean attribute must have, when it is not free. Only the
// promises about the secret are enforced (it stays on the token, sensitive, never extractable).
// Usage flags such as CKA_DERIVE are accepted and ignored, because clients such as pkcs11-tool
// ask for them by default; the key only ever signs, and any other operation is refused when tried.
func fixedKeygenBool(t, class uint) (bool, bool) {
	switch t {
	case CKA_TOKEN, CKA_SENSITIVE:
		return true, t == CKA_TOKEN || class == CKO_PRIVATE_KEY
	case CKA_EXTRACTABLE:
		return false, true
	}
	return false, false
}

// GenerateRandom answers C_GenerateRandom with bytes from the host's enclave, asked for in
// pieces of at most api.MaxRandomBytes. The module never falls back to a generator of its own:
// when the enclave cannot answer, the call fails (CKR_DEVICE_ERROR).
func (m *Module) GenerateRandom(h uint, out []byte) error {
	if _, _, err := m.session(h); err != nil {
		return err
	}
	for len(out) > 0 {
		n := min(len(out), api.MaxRandomBytes)
		if err := m.randomInto(out[:n]); err != nil {
			return err
		}
		out = out[n:]
	}
	return nil
}

// randomInto fills out (at most api.MaxRandomBytes) from the host, checking the answer.
func (m *Module) randomInto(out []byte) error {
	ctx, cancel := m.callContext(m.cfg.Timeout)
	defer cancel()
	resp, err := m.backend.Random(ctx, api.RandomRequest{Bytes: len(out)})
	if err != nil {
		return &Error{RV: ToCKR(OpOther, err), Msg: err.Error()}
	}
	b, err := hex.DecodeString(resp.Random)
	if err != nil || len(b) != len(out) {
		return &Error{RV: ToCKR(OpOther, errBackend), Msg: fmt.Sprintf("the host returned an unusable random answer for %d bytes", len(out))}
	}
	copy(out, b)
	return nil
}
