package slashing

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mpcsigner/mpcsigner/enclave/store"
)

// Pubkey is a validator's BLS public key (compressed G1 point). The
// package treats it as an opaque name.
type Pubkey [48]byte

// HighWatermark is the database-wide limit at and above which nothing is
// signed: blocks with slot >= Slot, attestations with source or target
// >= Epoch.
type HighWatermark struct {
	Slot  uint64
	Epoch uint64
}

// Options tune a DB. The zero value means the defaults.
type Options struct {
	// RetainBlocks is how many of a validator's most recent blocks are
	// kept (at least 1; default DefaultRetainBlocks). Up to a quarter more
	// are kept before pruning runs.
	RetainBlocks int
	// RetainAttestations is how many of a validator's most recent
	// attestations are kept (at least 1; default
	// DefaultRetainAttestations). Up to a quarter more are kept before
	// pruning runs.
	RetainAttestations int
}

// Defaults for Options. Retention only avoids false refusals of
// out-of-order requests; safety comes from the watermarks (see the package
// comment). 32 epochs is 3.4 hours, far beyond when an attestation can
// still be included.
const (
	DefaultRetainBlocks       = 16
	DefaultRetainAttestations = 32
)

// DB is the slashing protection database of one enclave. It is safe for
// concurrent use.
type DB struct {
	st     store.Store
	prefix string
	opts   Options
	c      *committer

	// mu is held for reading by every request that may write through the
	// committer, and for writing by Import and SetHighWatermark, which
	// apply their own batch after everything in flight has landed.
	mu  sync.RWMutex
	hwm *HighWatermark // guarded by mu

	gvrMu sync.Mutex               // serializes binding the genesis root
	gvr   atomic.Pointer[[32]byte] // nil until bound

	vmu  sync.RWMutex
	vals map[Pubkey]*validator
}

// validator is the in-memory index of one validator.
type validator struct {
	mu   sync.Mutex
	pk   Pubkey
	st   vstate
	last *flight // the latest write for this validator since Open
}

// vstate is the state the rules read: a copyable value.
type vstate struct {
	stored         bool // its meta record exists (or is on its way)
	enabled        bool
	hasSourceFloor bool
	sourceFloor    uint64
	blocks         []blockRec // ascending, unique slots
	atts           []attRec   // ascending, unique targets
}

type blockRec struct {
	slot  uint64
	known bool
	root  [32]byte
}

type attRec struct {
	target         uint64
	srcMin, srcMax uint64 // equal unless two sources were merged at one target
	known          bool
	root           [32]byte
}

func (s vstate) clone() vstate {
	s.blocks = slices.Clone(s.blocks)
	s.atts = slices.Clone(s.atts)
	return s
}

// Open loads the slashing protection records under prefix from st into
// memory and returns a DB that keeps them there. prefix must be printable
// ASCII ending in "/" (for example "slashing/"); nothing else may write
// under it. Records Open cannot read make it fail with ErrCorrupt rather
// than start with less protection than was recorded.
func Open(st store.Store, prefix string) (*DB, error) {
	return OpenOptions(st, prefix, Options{})
}

// OpenOptions is Open with Options.
func OpenOptions(st store.Store, prefix string, opts Options) (*DB, error) {
	if st == nil {
		return nil, errors.New("slashing: no store given")
	}
	if prefix == "" || !strings.HasSuffix(prefix, "/") || len(prefix) > maxPrefixLen {
		return nil, fmt.Errorf("slashing: record prefix %q must end in \"/\" and be at most %d bytes", prefix, maxPrefixLen)
	}
	if opts.RetainBlocks == 0 {
		opts.RetainBlocks = DefaultRetainBlocks
	}
	if opts.RetainAttestations == 0 {
		opts.RetainAttestations = DefaultRetainAttestations
	}
	if opts.RetainBlocks < 1 || opts.RetainAttestations < 1 {
		return nil, fmt.Errorf("slashing: retention (%d blocks, %d attestations) must be at least 1",
			opts.RetainBlocks, opts.RetainAttestations)
	}
	db := &DB{st: st, prefix: prefix, opts: opts, c: newCommitter(st), vals: make(map[Pubkey]*validator)}
	if err := db.load(); err != nil {
		return nil, err
	}
	return db, nil
}

func (db *DB) load() error {
	names, err := db.st.List(db.prefix)
	if err != nil {
		return fmt.Errorf("slashing: listing records under %q: %w", db.prefix, err)
	}
	corrupt := func(name string, err error) error {
		return fmt.Errorf("slashing: record %q: %v: %w", name, err, ErrCorrupt)
	}
	metas := make(map[Pubkey]bool)
	for _, name := range names {
		kind, pk, n, err := parseName(name[len(db.prefix):])
		if err != nil {
			return corrupt(name, err)
		}
		val, err := db.st.Get(name)
		if err != nil {
			return fmt.Errorf("slashing: reading %q: %w", name, err)
		}
		switch kind {
		case kindGenesis:
			gvr, err := decodeGenesis(val)
			if err != nil {
				return corrupt(name, err)
			}
			db.gvr.Store(&gvr)
		case kindHighWatermark:
			h, err := decodeHighWatermark(val)
			if err != nil {
				return corrupt(name, err)
			}
			db.hwm = &h
		case kindMeta:
			v := db.loadValidator(pk)
			if err := decodeMeta(val, &v.st); err != nil {
				return corrupt(name, err)
			}
			v.st.stored = true
			metas[pk] = true
		case kindBlock:
			r, err := decodeBlock(n, val)
			if err != nil {
				return corrupt(name, err)
			}
			v := db.loadValidator(pk)
			v.st.blocks = append(v.st.blocks, r) // List is sorted, so slots ascend
		case kindAtt:
			r, err := decodeAtt(n, val)
			if err != nil {
				return corrupt(name, err)
			}
			v := db.loadValidator(pk)
			v.st.atts = append(v.st.atts, r)
		}
	}
	for pk, v := range db.vals {
		if !metas[pk] {
			return fmt.Errorf("slashing: validator 0x%x has records but no %q record: %w", pk, nameMeta[1:], ErrCorrupt)
		}
		if (len(v.st.blocks) > 0 || len(v.st.atts) > 0) && db.gvr.Load() == nil {
			return fmt.Errorf("slashing: validator 0x%x has records but no genesis validators root is bound: %w", pk, ErrCorrupt)
		}
		if len(v.st.atts) > 0 && !v.st.hasSourceFloor {
			return fmt.Errorf("slashing: validator 0x%x has attestations but no source watermark: %w", pk, ErrCorrupt)
		}
	}
	return nil
}

func (db *DB) loadValidator(pk Pubkey) *validator {
	v := db.vals[pk]
	if v == nil {
		v = &validator{pk: pk}
		db.vals[pk] = v
	}
	return v
}

// validator returns pk's index entry, creating an enabled, empty one that
// is not yet stored.
func (db *DB) validator(pk Pubkey) *validator {
	db.vmu.RLock()
	v := db.vals[pk]
	db.vmu.RUnlock()
	if v != nil {
		return v
	}
	db.vmu.Lock()
	defer db.vmu.Unlock()
	if v = db.vals[pk]; v == nil {
		v = &validator{pk: pk, st: vstate{enabled: true}}
		db.vals[pk] = v
	}
	return v
}

// GenesisValidatorsRoot returns the genesis validators root bound to the
// database, if any.
func (db *DB) GenesisValidatorsRoot() ([32]byte, bool) {
	if g := db.gvr.Load(); g != nil {
		return *g, true
	}
	return [32]byte{}, false
}

// BindGenesis binds gvr to the database if none is bound yet (durably,
// before it returns), and refuses with WrongGenesis if another one is. An
// enclave that knows its chain calls it at start-up.
func (db *DB) BindGenesis(gvr [32]byte) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	f, err := db.bindGenesis(gvr)
	if err != nil || f == nil {
		return err
	}
	return db.c.wait(f)
}

// checkGenesis refuses gvr if another root is bound.
func (db *DB) checkGenesis(gvr [32]byte) error {
	if g := db.gvr.Load(); g != nil && *g != gvr {
		return &WrongGenesis{Requested: gvr, Bound: *g}
	}
	return nil
}

// bindGenesis binds gvr if nothing is bound. The binding joins the open
// flight at the moment it becomes visible, so every record written by a
// request that saw it lands in the same or a later flight. It returns that
// flight when it bound gvr, nil when gvr was already bound.
func (db *DB) bindGenesis(gvr [32]byte) (*flight, error) {
	if g := db.gvr.Load(); g != nil {
		return nil, db.checkGenesis(gvr)
	}
	db.gvrMu.Lock()
	defer db.gvrMu.Unlock()
	if g := db.gvr.Load(); g != nil {
		return nil, db.checkGenesis(gvr)
	}
	return db.c.add(func(b *store.Batch) {
		b.Put(db.prefix+nameGenesis, encodeGenesis(gvr))
		db.gvr.Store(&gvr)
	})
}

// HighWatermark returns the high watermark, if one is set.
func (db *DB) HighWatermark() (HighWatermark, bool) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.hwm == nil {
		return HighWatermark{}, false
	}
	return *db.hwm, true
}

// SetHighWatermark sets the database's high watermark (durably, before it
// returns): from then on no block at or above slot and no attestation with
// source or target at or above epoch is signed.
func (db *DB) SetHighWatermark(slot, epoch uint64) error {
	h := HighWatermark{Slot: slot, Epoch: epoch}
	b := store.NewBatch()
	b.Put(db.prefix+nameHighWatermark, encodeHighWatermark(h))
	db.mu.Lock()
	defer db.mu.Unlock()
	if err := db.c.applyNow(b); err != nil {
		return fmt.Errorf("slashing: setting the high watermark: %w", err)
	}
	db.hwm = &h
	return nil
}

// ClearHighWatermark removes the high watermark (durably, before it
// returns).
func (db *DB) ClearHighWatermark() error {
	b := store.NewBatch()
	b.Delete(db.prefix + nameHighWatermark)
	db.mu.Lock()
	defer db.mu.Unlock()
	if err := db.c.applyNow(b); err != nil {
		return fmt.Errorf("slashing: clearing the high watermark: %w", err)
	}
	db.hwm = nil
	return nil
}

// write is one store operation for a validator's records.
type write struct {
	name  string
	value []byte // nil: delete
}

func fill(ws []write) func(*store.Batch) {
	return func(b *store.Batch) {
		for _, w := range ws {
			if w.value == nil {
				b.Delete(w.name)
			} else {
				b.Put(w.name, w.value)
			}
		}
	}
}

// SignBlock decides whether validator pk may sign a block proposal at slot
// with signingRoot on the chain gvr. It returns nil only once the record
// of the block is durable (or, for a repeat, once the record it repeats
// is). A refusal is an error wrapping ErrSlashable; any other error also
// means the block must not be signed.
func (db *DB) SignBlock(gvr [32]byte, pk Pubkey, slot uint64, signingRoot [32]byte) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if err := db.c.err(); err != nil {
		return err
	}
	if err := db.checkGenesis(gvr); err != nil {
		return err
	}
	v := db.validator(pk)
	v.mu.Lock()
	repeat, err := v.st.checkBlock(pk, db.hwm, slot, signingRoot)
	if err != nil {
		v.mu.Unlock()
		return err
	}
	if repeat {
		f := v.last
		v.mu.Unlock()
		if f == nil {
			return nil // loaded from the store at Open: durable
		}
		return db.c.wait(f)
	}
	if _, err := db.bindGenesis(gvr); err != nil {
		v.mu.Unlock()
		return err
	}
	ws := db.recordBlock(v, blockRec{slot: slot, known: true, root: signingRoot})
	f, err := db.c.add(fill(ws))
	if err == nil {
		v.last = f
	}
	v.mu.Unlock()
	if err != nil {
		return err
	}
	return db.c.wait(f)
}

// SignAttestation decides whether validator pk may sign an attestation
// with the given source and target epochs and signingRoot on the chain
// gvr. It returns nil only once the record of the attestation is durable
// (or, for a repeat, once the record it repeats is). A refusal is an error
// wrapping ErrSlashable; any other error also means the attestation must
// not be signed.
func (db *DB) SignAttestation(gvr [32]byte, pk Pubkey, source, target uint64, signingRoot [32]byte) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if err := db.c.err(); err != nil {
		return err
	}
	if err := db.checkGenesis(gvr); err != nil {
		return err
	}
	v := db.validator(pk)
	v.mu.Lock()
	repeat, err := v.st.checkAtt(pk, db.hwm, source, target, signingRoot)
	if err != nil {
		v.mu.Unlock()
		return err
	}
	if repeat {
		f := v.last
		v.mu.Unlock()
		if f == nil {
			return nil
		}
		return db.c.wait(f)
	}
	if _, err := db.bindGenesis(gvr); err != nil {
		v.mu.Unlock()
		return err
	}
	ws := db.recordAtt(v, attRec{target: target, srcMin: source, srcMax: source, known: true, root: signingRoot})
	f, err := db.c.add(fill(ws))
	if err == nil {
		v.last = f
	}
	v.mu.Unlock()
	if err != nil {
		return err
	}
	return db.c.wait(f)
}

// Disable makes pk refuse every request (keymanager DELETE) until an
// import that names it or Enable. It returns once that is durable. Its history stays,
// and Export still includes it.
func (db *DB) Disable(pk Pubkey) error { return db.setEnabled(pk, false) }

// Enable lets a disabled pk sign again (the keymanager import of its
// keystore, as Web3Signer does), durably before it returns. It grants
// nothing an Import naming pk would not, and every other rule still holds.
func (db *DB) Enable(pk Pubkey) error { return db.setEnabled(pk, true) }

// setEnabled records pk's enabled flag durably; setting it to what it is waits only for the
// record that last set it.
func (db *DB) setEnabled(pk Pubkey, enabled bool) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if err := db.c.err(); err != nil {
		return err
	}
	v := db.validator(pk)
	v.mu.Lock()
	if v.st.enabled == enabled && (v.st.stored || enabled) {
		f := v.last
		v.mu.Unlock()
		if f == nil {
			return nil
		}
		return db.c.wait(f)
	}
	v.st.enabled = enabled
	v.st.stored = true
	f, err := db.c.add(fill([]write{{db.metaName(pk), encodeMeta(&v.st)}}))
	if err == nil {
		v.last = f
	}
	v.mu.Unlock()
	if err != nil {
		return err
	}
	return db.c.wait(f)
}

// Enabled reports whether pk may sign (true for a validator never seen).
func (db *DB) Enabled(pk Pubkey) bool {
	db.vmu.RLock()
	v := db.vals[pk]
	db.vmu.RUnlock()
	if v == nil {
		return true
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.st.enabled
}

// checkBlock applies the block rules. repeat means the request repeats a
// retained record exactly and needs no new one.
func (s *vstate) checkBlock(pk Pubkey, hwm *HighWatermark, slot uint64, root [32]byte) (repeat bool, err error) {
	if !s.enabled {
		return false, &Disabled{Pubkey: pk}
	}
	if hwm != nil && slot >= hwm.Slot {
		return false, &AboveHighWatermark{Pubkey: pk, Which: BlockSlot, Value: slot, Watermark: hwm.Slot}
	}
	if len(s.blocks) == 0 {
		return false, nil
	}
	if low := s.blocks[0].slot; slot < low {
		return false, &BelowWatermark{Pubkey: pk, Which: BlockSlot, Value: slot, Watermark: low}
	}
	i, found := slices.BinarySearchFunc(s.blocks, slot, func(r blockRec, s uint64) int { return cmpU64(r.slot, s) })
	if !found {
		return false, nil
	}
	r := s.blocks[i]
	if r.known && r.root == root {
		return true, nil
	}
	return false, &DoubleProposal{Pubkey: pk, Slot: slot, Requested: known(root), Existing: Root{Value: r.root, Known: r.known}}
}

// checkAtt applies the attestation rules.
func (s *vstate) checkAtt(pk Pubkey, hwm *HighWatermark, source, target uint64, root [32]byte) (repeat bool, err error) {
	if !s.enabled {
		return false, &Disabled{Pubkey: pk}
	}
	if source > target {
		return false, &SourceAfterTarget{Pubkey: pk, Source: source, Target: target}
	}
	if hwm != nil {
		// source <= target, so target reaching it covers both.
		if target >= hwm.Epoch {
			return false, &AboveHighWatermark{Pubkey: pk, Which: AttestationTarget, Value: target, Watermark: hwm.Epoch}
		}
	}
	if s.hasSourceFloor && source < s.sourceFloor {
		return false, &BelowWatermark{Pubkey: pk, Which: AttestationSource, Value: source, Watermark: s.sourceFloor}
	}
	if len(s.atts) == 0 {
		return false, nil
	}
	if low := s.atts[0].target; target < low {
		return false, &BelowWatermark{Pubkey: pk, Which: AttestationTarget, Value: target, Watermark: low}
	}
	for _, r := range s.atts {
		switch {
		case r.target == target:
			if r.known && r.root == root && r.srcMin == source && r.srcMax == source {
				repeat = true
				continue
			}
			return false, &DoubleVote{Pubkey: pk, Source: source, Target: target, Requested: known(root),
				ExistingSource: r.srcMin, Existing: Root{Value: r.root, Known: r.known}}
		case source < r.srcMax && target > r.target:
			return false, &Surrounding{Pubkey: pk, Source: source, Target: target, ExistingSource: r.srcMax, ExistingTarget: r.target}
		case r.srcMin < source && r.target > target:
			return false, &Surrounded{Pubkey: pk, Source: source, Target: target, ExistingSource: r.srcMin, ExistingTarget: r.target}
		}
	}
	return repeat, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (db *DB) slack(retain int) int { return max(1, retain/4) }

// recordBlock adds a new block (whose slot holds no record) to v, prunes,
// and returns the writes that make the store match.
func (db *DB) recordBlock(v *validator, r blockRec) []write {
	s := &v.st
	i, _ := slices.BinarySearchFunc(s.blocks, r.slot, func(b blockRec, s uint64) int { return cmpU64(b.slot, s) })
	s.blocks = slices.Insert(s.blocks, i, r)
	ws := []write{{db.blockName(v.pk, r.slot), encodeBlock(r)}}
	if !s.stored {
		s.stored = true
		ws = append(ws, write{db.metaName(v.pk), encodeMeta(s)})
	}
	if n := len(s.blocks) - db.opts.RetainBlocks; n > db.slack(db.opts.RetainBlocks) {
		for _, d := range s.blocks[:n] {
			ws = append(ws, write{name: db.blockName(v.pk, d.slot)})
		}
		s.blocks = slices.Delete(s.blocks, 0, n)
	}
	return ws
}

// recordAtt adds a new attestation (whose target holds no record) to v,
// prunes, and returns the writes that make the store match.
func (db *DB) recordAtt(v *validator, r attRec) []write {
	s := &v.st
	i, _ := slices.BinarySearchFunc(s.atts, r.target, func(a attRec, t uint64) int { return cmpU64(a.target, t) })
	s.atts = slices.Insert(s.atts, i, r)
	ws := []write{{db.attName(v.pk, r.target), encodeAtt(r)}}
	metaChanged := !s.stored
	s.stored = true
	if !s.hasSourceFloor {
		// The first attestation sets the source watermark, as in
		// Web3Signer's AttestationValidator.persist.
		s.hasSourceFloor, s.sourceFloor = true, r.srcMin
		metaChanged = true
	}
	if n := len(s.atts) - db.opts.RetainAttestations; n > db.slack(db.opts.RetainAttestations) {
		for _, d := range s.atts[:n] {
			ws = append(ws, write{name: db.attName(v.pk, d.target)})
			if d.srcMax > s.sourceFloor {
				s.sourceFloor = d.srcMax
				metaChanged = true
			}
		}
		s.atts = slices.Delete(s.atts, 0, n)
	}
	if metaChanged {
		ws = append(ws, write{db.metaName(v.pk), encodeMeta(s)})
	}
	return ws
}
