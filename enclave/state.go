package enclave

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flynn/noise"

	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/bls"
	"github.com/mpcsigner/mpcsigner/protocol/frost/taproot"
	"github.com/mpcsigner/mpcsigner/protocol/sharecache"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// Store layout (every value sealed by the store):
//
//	identity/party        the party number this store belongs to (decimal)
//	identity/noise        this enclave's Noise static key pair (JSON)
//	key/<id>              a keyRecord (JSON): public description and this party's share
//	label/<label>         the id of the key with that label
//	pub/<public key>      the id of the key with that public key (hex)
//	p11id/<hex>           the id of the key with that application (PKCS#11) id
//	preparams/<seq>       one unused set of pre-parameters
const (
	recParty        = "identity/party"
	recNoise        = "identity/noise"
	prefixKey       = "key/"
	prefixPublicKey = "pub/"
	prefixLabel     = "label/"
	prefixPKCS11ID  = "p11id/"
	prefixPreParams = "preparams/"
)

var (
	labelPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	keyIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	// An application id: 1 to 64 bytes in lowercase hex.
	pkcs11IDPattern = regexp.MustCompile(`^([0-9a-f]{2}){1,64}$`)
	// A public key as a reference: a BLS key (48 bytes) or a compressed EC point (33 bytes),
	// the way validator clients and wallets name keys.
	publicKeyPattern = regexp.MustCompile(`^(0x)?([0-9a-f]{96}|[0-9a-f]{66})$`)
)

// Roster is the cluster an enclave belongs to: who the parties are, how many must sign, and
// the epoch. Parties prove who they are by attestation, bound to the roster's hash; the roster
// holds no keys.
type Roster struct {
	Version   int                `json:"version"`
	ClusterID string             `json:"cluster_id"`
	Threshold int                `json:"threshold"`
	Epoch     uint64             `json:"epoch"`
	Parties   []protocol.PartyID `json:"parties"`
}

// LoadRoster reads and checks a roster file.
func LoadRoster(path string) (*Roster, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading roster: %w", err)
	}
	var r Roster
	if err := wire.DecodeJSON(b, &r); err != nil {
		return nil, fmt.Errorf("roster %s: %w", path, err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("roster %s: %w", path, err)
	}
	return &r, nil
}

// Validate checks that the roster describes a usable cluster.
func (r *Roster) Validate() error {
	if r.Version != 1 {
		return fmt.Errorf("version %d is not supported (want 1)", r.Version)
	}
	if r.ClusterID == "" {
		return errors.New("cluster_id is empty")
	}
	if r.Epoch == 0 {
		return errors.New("epoch must be 1 or more")
	}
	n := len(r.Parties)
	if n < 2 || r.Threshold < 2 || r.Threshold > n {
		return fmt.Errorf("threshold %d of %d parties is not usable (need 2 <= t <= n)", r.Threshold, n)
	}
	for i, p := range r.Parties {
		if p != protocol.PartyID(i+1) {
			return fmt.Errorf("parties must be 1..%d in order; entry %d is %d", n, i+1, p)
		}
	}
	return nil
}

func (r *Roster) ids() []protocol.PartyID { return slices.Clone(r.Parties) }

// Hash identifies the cluster configuration; attestations bind it, so an enclave of one
// cluster, or of an older epoch, is not accepted by another.
func (r *Roster) Hash() []byte {
	h := sha256.New()
	fmt.Fprintf(h, "mpcsigner/v1 roster\x00%d\x00%s\x00%d\x00%d", r.Version, r.ClusterID, r.Threshold, r.Epoch)
	for _, p := range r.Parties {
		_ = binary.Write(h, binary.BigEndian, uint16(p))
	}
	return h.Sum(nil)
}

// IdentityUserData is what party p's attestation carries as user data: a hash of the domain,
// the party, the roster hash and the epoch. A document made for another party, cluster or
// epoch does not match.
func (r *Roster) IdentityUserData(p protocol.PartyID) []byte {
	h := sha256.New()
	h.Write([]byte("mpcsigner/v1 enclave identity\x00"))
	_ = binary.Write(h, binary.BigEndian, uint16(p))
	h.Write(r.Hash())
	_ = binary.Write(h, binary.BigEndian, r.Epoch)
	return h.Sum(nil)
}

// Identity is what an enclave is: its party number and its Noise static key pair, generated
// inside it on first start and kept only in its sealed store.
type Identity struct {
	Party  protocol.PartyID
	Static noise.DHKey
}

// PublicKeyHex is the Noise static public key in hex, as rosters list it.
func (id *Identity) PublicKeyHex() string { return hex.EncodeToString(id.Static.Public) }

// LoadIdentity returns the identity recorded in st, creating it on first use. A store that
// belongs to another party is refused.
func LoadIdentity(st store.Store, party protocol.PartyID) (*Identity, error) {
	if party == 0 {
		return nil, errors.New("party must be 1 or more")
	}
	recorded, err := st.Get(recParty)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return createIdentity(st, party)
	case err != nil:
		return nil, err
	}
	if string(recorded) != fmt.Sprint(uint16(party)) {
		return nil, fmt.Errorf("this store belongs to party %s, not %s: check the data directory", recorded, party)
	}
	raw, err := st.Get(recNoise)
	if err != nil {
		return nil, fmt.Errorf("reading the noise key: %w", err)
	}
	var kp noise.DHKey
	if err := json.Unmarshal(raw, &kp); err != nil || len(kp.Private) != 32 || len(kp.Public) != 32 {
		return nil, errors.New("the stored noise key is damaged")
	}
	return &Identity{Party: party, Static: kp}, nil
}

func createIdentity(st store.Store, party protocol.PartyID) (*Identity, error) {
	kp, err := generateStatic()
	if err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(kp)
	b := store.NewBatch()
	b.Put(recNoise, raw)
	b.Put(recParty, []byte(fmt.Sprint(uint16(party))))
	if err := st.Apply(b); err != nil {
		return nil, fmt.Errorf("saving the new identity: %w", err)
	}
	return &Identity{Party: party, Static: kp}, nil
}

// keyRecord is what an enclave keeps for one key.
type keyRecord struct {
	Info  wire.KeyInfo `json:"info"`
	Share []byte       `json:"share"`
	// ChainCode is the key's secret chain code for non-hardened derivation (32 bytes), drawn
	// by all holders together; nil until then, and for schemes without derivation.
	ChainCode []byte `json:"chain_code,omitempty"`
}

// describe is the key's public description. It adds what hosts need besides the group key
// and what never changes: for a BLS key every party's public share (to combine partial
// signatures), for a BIP340 key the untweaked internal key (for PSBTs and tr() descriptors).
func (rec *keyRecord) describe() wire.KeyInfo {
	info := rec.Info
	info.ChainCodeID = chainCodeID(rec.ChainCode)
	switch {
	case info.Scheme == protocol.SchemeBLS12381 && info.PublicShares == nil:
		_, shares, err := bls.PublicShares(rec.Share)
		if err != nil {
			return info // the share is checked again, with a clear error, when it is used
		}
		info.PublicShares = make(map[protocol.PartyID]string, len(shares))
		for p, s := range shares {
			info.PublicShares[p] = hex.EncodeToString(s)
		}
	case info.Scheme == protocol.SchemeBIP340 && info.InternalKey == "":
		if p, err := taproot.InternalKey(rec.Share); err == nil {
			info.InternalKey = hex.EncodeToString(p)
		}
	}
	return info
}

// keyring reads and writes key records.
type keyring struct {
	st store.Store
	mu sync.Mutex // serializes label checks with saves
	// changed hear of every key whose share was replaced or deleted, so that what was made
	// from the old share (the eth2 signer's decoded shares, parked presignatures) is dropped.
	// Set before the enclave serves.
	changed []func(info wire.KeyInfo)
}

func (k *keyring) notify(info wire.KeyInfo) {
	for _, f := range k.changed {
		f(info)
	}
}

// resolve finds a key by id, label or public key.
func (k *keyring) resolve(ref string) (*keyRecord, error) {
	id := ref
	if publicKeyPattern.MatchString(strings.ToLower(ref)) {
		var err error
		if id, err = k.byPublicKey(strings.TrimPrefix(strings.ToLower(ref), "0x")); err != nil {
			return nil, err
		}
	} else if !keyIDPattern.MatchString(ref) {
		b, err := k.st.Get(prefixLabel + ref)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("no key with id or label %q: %w", ref, errNotFound)
		} else if err != nil {
			return nil, err
		}
		id = string(b)
	}
	raw, err := k.st.Get(prefixKey + id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no key with id or label %q: %w", ref, errNotFound)
	} else if err != nil {
		return nil, err
	}
	var rec keyRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("key %s: stored record is damaged: %w", id, err)
	}
	return &rec, nil
}

// byPublicKey finds the id of the key with public key pubHex (lower-case hex), through the
// index written with every new key, or by a scan for keys older than the index.
func (k *keyring) byPublicKey(pubHex string) (string, error) {
	b, err := k.st.Get(prefixPublicKey + pubHex)
	if err == nil {
		return string(b), nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	infos, err := k.list()
	if err != nil {
		return "", err
	}
	for _, info := range infos {
		if info.PublicKey == pubHex {
			return info.ID, nil
		}
	}
	return "", fmt.Errorf("no key with public key %s: %w", pubHex, errNotFound)
}

func (k *keyring) list() ([]wire.KeyInfo, error) {
	names, err := k.st.List(prefixKey)
	if err != nil {
		return nil, err
	}
	infos := make([]wire.KeyInfo, 0, len(names))
	for _, name := range names {
		rec, err := k.resolve(name[len(prefixKey):])
		if err != nil {
			return nil, err
		}
		infos = append(infos, rec.describe())
	}
	wire.SortKeyInfos(infos)
	return infos, nil
}

// checkNew refuses an id, label or application id already in use.
func (k *keyring) checkNew(info *wire.KeyInfo) error {
	if _, err := k.st.Get(prefixKey + info.ID); err == nil {
		return fmt.Errorf("key id %s is already in use: %w", info.ID, errConflict)
	}
	if _, err := k.st.Get(prefixLabel + info.Label); err == nil {
		return fmt.Errorf("label %q is already in use: %w", info.Label, errConflict)
	}
	if info.PKCS11ID == "" {
		return nil
	}
	if _, err := k.st.Get(prefixPKCS11ID + info.PKCS11ID); err == nil {
		return fmt.Errorf("PKCS#11 id %s is already in use: %w", info.PKCS11ID, errConflict)
	}
	// A key without an application id shows the bytes of its key id as CKA_ID: an application
	// id equal to those bytes would give two keys one CKA_ID.
	if raw, _ := hex.DecodeString(info.PKCS11ID); keyIDPattern.Match(raw) {
		if _, err := k.st.Get(prefixKey + string(raw)); err == nil {
			return fmt.Errorf("PKCS#11 id %s is the CKA_ID key %s already shows: %w", info.PKCS11ID, raw, errConflict)
		}
	}
	return nil
}

// save writes a new key and its indexes in one synced batch.
func (k *keyring) save(rec *keyRecord) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.checkNew(&rec.Info); err != nil {
		return err
	}
	return k.writeLocked(rec)
}

// writeLocked writes a key's record and its indexes in one synced batch; k.mu is held. The
// public shares and the internal key change only with the share: they are recorded with it
// instead of being decoded from the share on every list.
func (k *keyring) writeLocked(rec *keyRecord) error {
	rec.Info = rec.describe()
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	b := store.NewBatch()
	b.Put(prefixKey+rec.Info.ID, raw)
	b.Put(prefixLabel+rec.Info.Label, []byte(rec.Info.ID))
	b.Put(prefixPublicKey+rec.Info.PublicKey, []byte(rec.Info.ID))
	if rec.Info.PKCS11ID != "" {
		b.Put(prefixPKCS11ID+rec.Info.PKCS11ID, []byte(rec.Info.ID))
	}
	return k.st.Apply(b)
}

// delete removes this party's share of a key: its record and every index that names it, in
// one synced batch. A key this party does not hold is not an error (deleted is false), so that
// a retry after a partial deletion succeeds here. Validator keys are refused: the Keymanager
// API disables them instead, which keeps their slashing protection history.
func (k *keyring) delete(id string) (deleted bool, err error) {
	return k.remove(id, func(rec *keyRecord) error {
		if rec.Info.Scheme == protocol.SchemeBLS12381 {
			return fmt.Errorf("key %s is a validator key: delete it through the Keymanager API (DELETE /eth/v1/keystores), which keeps its slashing protection history: %w", id, errBadRequest)
		}
		return nil
	})
}

// remove deletes this party's record of key id unless refuse objects to it. A key this party
// does not hold is not an error (deleted is false), so that a retry completes a partial run.
func (k *keyring) remove(id string, refuse func(*keyRecord) error) (deleted bool, err error) {
	if !keyIDPattern.MatchString(id) {
		return false, fmt.Errorf("key id %q must be 32 lowercase hex digits: %w", truncateString(id, 80), errBadRequest)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	rec, err := k.resolve(id)
	if errors.Is(err, errNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := refuse(rec); err != nil {
		return false, err
	}
	return true, k.deleteLocked(rec)
}

// deleteLocked removes a key's record and the indexes that name it in one synced batch; k.mu
// is held.
func (k *keyring) deleteLocked(rec *keyRecord) error {
	id := rec.Info.ID
	b := store.NewBatch()
	b.Delete(prefixKey + id)
	for _, index := range []string{prefixLabel + rec.Info.Label, prefixPublicKey + rec.Info.PublicKey, prefixPKCS11ID + rec.Info.PKCS11ID} {
		if err := k.deleteIndex(b, index, id); err != nil {
			return err
		}
	}
	if err := k.st.Apply(b); err != nil {
		return fmt.Errorf("deleting key %s: %w", id, err)
	}
	// The engines keep decoded shares in memory for signing: the deleted one goes now, not when
	// it would have idled out.
	sharecache.Forget(rec.Share)
	k.notify(rec.Info)
	return nil
}

// deleteIndex adds the removal of an index record to b if it names key id; an index that is
// absent (a key older than the index) or names another key is left alone.
func (k *keyring) deleteIndex(b *store.Batch, name, id string) error {
	if strings.HasSuffix(name, "/") {
		return nil // an empty label or PKCS#11 id: no index was written
	}
	v, err := k.st.Get(name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	case string(v) == id:
		b.Delete(name)
	}
	return nil
}

// preParamsPool keeps a few sets of pre-parameters ready so a keygen does not wait for safe
// primes. Each set is claimed (deleted, synced) before use, so no two keys share one.
type preParamsPool struct {
	st       store.Store
	want     int
	generate func(context.Context) ([]byte, error)
	log      *slog.Logger

	mu     sync.Mutex
	seq    uint64
	wakeup chan struct{}
}

func (p *preParamsPool) ready() int {
	names, err := p.st.List(prefixPreParams)
	if err != nil {
		return 0
	}
	return len(names)
}

// seed adds fixture pre-parameters when the pool is empty (tests only).
func (p *preParamsPool) seed(fixtures [][]byte) error {
	if len(fixtures) == 0 || p.ready() > 0 {
		return nil
	}
	p.log.Warn("seeding pre-parameters from test fixtures: never do this for real keys", "count", len(fixtures))
	for _, f := range fixtures {
		if err := p.add(f); err != nil {
			return err
		}
	}
	return nil
}

func (p *preParamsPool) add(pp []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	name := fmt.Sprintf("%s%020d-%06d", prefixPreParams, time.Now().UnixNano(), p.seq)
	return p.st.Put(name, pp)
}

// claim takes one set out of the pool durably.
func (p *preParamsPool) claim() ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.poke()
	names, err := p.st.List(prefixPreParams)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 && p.want == 0 {
		// Nothing will come: waiting would never end.
		return nil, fmt.Errorf("no pre-parameters are left and this enclave generates none (preparams.want is 0; a devnet seeded with --test-preparams has one set per party): %w", errPolicy)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("pre-parameters are still being generated (0 of %d ready); this takes up to a minute per party after the first start: %w", p.want, errNotReady)
	}
	pp, err := p.st.Get(names[0])
	if err != nil {
		return nil, err
	}
	if err := p.st.Delete(names[0]); err != nil {
		return nil, err
	}
	return pp, nil
}

func (p *preParamsPool) poke() {
	select {
	case p.wakeup <- struct{}{}:
	default:
	}
}

// fill generates pre-parameters in the background until ctx ends, keeping want ready.
func (p *preParamsPool) fill(ctx context.Context) {
	for {
		if p.ready() < p.want {
			start := time.Now()
			pp, err := p.generate(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				p.log.Error("generating pre-parameters", "err", err)
			} else if err := p.add(pp); err != nil {
				p.log.Error("saving pre-parameters", "err", err)
			} else {
				p.log.Info("pre-parameters ready", "seconds", time.Since(start).Seconds(), "ready", p.ready(), "want", p.want)
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wakeup:
		case <-time.After(10 * time.Second):
		}
	}
}
