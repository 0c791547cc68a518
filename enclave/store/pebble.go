package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"

	"github.com/mpcsigner/mpcsigner/enclave/seal"

	"github.com/mpcsigner/mpcsigner/internal/durable"
)

// On-disk layout. Records live under recordPrefix, so user names can never
// collide with the store's own metadata, which lives under metaPrefix. Each
// value is sealed with the full on-disk key as AAD, which binds it to its
// record name.
const (
	recordPrefix = "r/"
	metaPrefix   = "m/"
)

// The seal check: a known plaintext sealed under the data key when the store
// is created. Opening it proves the key is right before anything is written.
var (
	sealCheckKey       = []byte(metaPrefix + "seal-check")
	sealCheckPlaintext = []byte("mpcsigner enclave store seal check v1")
)

// Memory settings. Many enclave processes share one small machine, so each
// store keeps pebble's caches well below its defaults.
const (
	blockCacheSize = 4 << 20
	memTableSize   = 4 << 20
	maxOpenFiles   = 64
)

// Pebble is the on-disk Store, built on github.com/cockroachdb/pebble.
// Values are sealed with seal.AEAD; record names are stored in the clear.
// Writes use pebble.Sync, so they are in the write-ahead log and fsynced
// before they return.
//
// Records are stored under the prefix "r/" and sealed with that full key
// as AAD. The seal check lives at "m/seal-check", outside the record name
// space, so no caller can overwrite it and List never returns it.
//
// Pebble's own logging is silenced so that daemons log only through slog.
// If pebble reports an unrecoverable storage failure (for instance a failed
// WAL or MANIFEST sync), the process logs it through slog and exits:
// continuing would acknowledge writes that are not on disk.
type Pebble struct {
	dir     string
	aead    *seal.AEAD
	release func()

	// mu guards db: methods hold it shared while they use db and Close
	// holds it exclusively, because pebble panics if used after Close.
	mu sync.RWMutex
	db *pebble.DB // nil once closed
}

var _ Store = (*Pebble)(nil)

// OpenPebble opens the store in dir, sealed under key (seal.KeySize bytes),
// creating dir (mode 0700) and the store if they do not exist.
//
// An existing store is first opened read-only and its seal check verified;
// if key is wrong OpenPebble returns an error wrapping ErrWrongKey and has
// changed nothing on disk. A database without a seal check but with records
// is refused with ErrUnrecognized. A store already open, in this process or
// another, is refused with ErrInUse.
func OpenPebble(dir string, key []byte) (*Pebble, error) {
	aead, err := seal.NewAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	if dir == "" {
		return nil, errors.New("store: store directory is empty: configure the directory of the enclave store")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	release, err := claimDir(abs)
	if err != nil {
		return nil, err
	}
	db, err := openSealed(abs, aead)
	if err != nil {
		release()
		return nil, err
	}
	return &Pebble{dir: abs, aead: aead, release: release, db: db}, nil
}

// openSealed opens (or creates) the database in dir read-write, but only
// after a read-only open has shown the seal check opens under aead.
func openSealed(dir string, aead *seal.AEAD) (*pebble.DB, error) {
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	desc, err := pebble.Peek(dir, vfs.Default)
	if err != nil {
		return nil, fmt.Errorf("store: inspect %s: %w", dir, err)
	}
	if desc.Exists {
		if err := checkReadOnly(dir, aead); err != nil {
			return nil, err
		}
	}
	db, err := openDB(dir, desc.Exists, false)
	if err != nil {
		return nil, err
	}
	// Check again now that this process holds the write lock: another
	// process could have replaced the store since the read-only check.
	needCheck, err := inspect(db, dir, aead, false)
	if err == nil && needCheck {
		err = writeSealCheck(db, dir, aead)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// checkReadOnly opens an existing store read-only, through a file system
// that refuses every write, and verifies its seal check.
func checkReadOnly(dir string, aead *seal.AEAD) error {
	db, err := openDB(dir, true, true)
	if err != nil {
		return err
	}
	_, err = inspect(db, dir, aead, true)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("store: close read-only check of %s: %w", dir, cerr)
	}
	return err
}

// openDB opens pebble with this package's options.
func openDB(dir string, mustExist, readOnly bool) (*pebble.DB, error) {
	cache := pebble.NewCache(blockCacheSize)
	// The database takes its own reference; drop ours whatever happens.
	defer cache.Unref()
	opts := &pebble.Options{
		Cache:            cache,
		MemTableSize:     memTableSize,
		MaxOpenFiles:     maxOpenFiles,
		ErrorIfNotExists: mustExist,
		ReadOnly:         readOnly,
		Logger:           pebbleLogger{dir: dir},
		EventListener: &pebble.EventListener{
			BackgroundError: func(err error) {
				slog.Warn("store: pebble background error", "dir", dir, "err", err)
			},
		},
	}
	if readOnly {
		opts.FS = readOnlyFS{FS: vfs.Default}
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		if isLockConflict(err) {
			return nil, fmt.Errorf("store: store at %s is open in another process: stop that process first: %w", dir, ErrInUse)
		}
		return nil, fmt.Errorf("store: open pebble database at %s: %w", dir, err)
	}
	return db, nil
}

// inspect verifies the seal check. It reports needCheck when the check is
// absent from an otherwise empty database (a store whose creation was
// interrupted, or a new one), so the caller should write it.
func inspect(db *pebble.DB, dir string, aead *seal.AEAD, readOnly bool) (needCheck bool, err error) {
	sealed, closer, err := db.Get(sealCheckKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return checkEmpty(db, dir)
	}
	if err != nil {
		return false, fmt.Errorf("store: read seal check of %s: %w", dir, err)
	}
	defer closer.Close()
	plaintext, err := aead.Open(sealed, sealCheckKey)
	if err != nil {
		unchanged := ""
		if readOnly {
			unchanged = "; nothing was changed"
		}
		return false, fmt.Errorf("store: store at %s is sealed under a different key; check the sealer's key file%s: %w",
			dir, unchanged, ErrWrongKey)
	}
	if !bytes.Equal(plaintext, sealCheckPlaintext) {
		return false, fmt.Errorf("store: store at %s has a seal check with unexpected contents: it was made by other software: %w",
			dir, ErrUnrecognized)
	}
	return false, nil
}

// checkEmpty reports whether db holds no keys at all, and refuses one that
// holds data but no seal check, which could be anyone's database.
func checkEmpty(db *pebble.DB, dir string) (bool, error) {
	iter, err := db.NewIter(nil)
	if err != nil {
		return false, fmt.Errorf("store: scan %s: %w", dir, err)
	}
	empty := !iter.First()
	if err := errors.Join(iter.Error(), iter.Close()); err != nil {
		return false, fmt.Errorf("store: scan %s: %w", dir, err)
	}
	if !empty {
		return false, fmt.Errorf("store: %s holds a database with records but no seal check: it was not made by this package or is damaged; point the store at another directory; nothing was changed: %w",
			dir, ErrUnrecognized)
	}
	return true, nil
}

func writeSealCheck(db *pebble.DB, dir string, aead *seal.AEAD) error {
	if err := db.Set(sealCheckKey, aead.Seal(sealCheckPlaintext, sealCheckKey), pebble.Sync); err != nil {
		return fmt.Errorf("store: write seal check to %s: %w", dir, err)
	}
	return nil
}

// ensureDir creates dir with mode 0700 if it does not exist, and makes its
// creation durable.
func ensureDir(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("store: %s is not a directory: point the store at a directory", dir)
		}
		return nil
	}
	if !os.IsNotExist(err) {
		return fmt.Errorf("store: check directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: create directory %s: %w", dir, err)
	}
	if err := durable.SyncDir(filepath.Dir(dir)); err != nil {
		return fmt.Errorf("store: create directory %s: %w", dir, err)
	}
	return nil
}

// claimed holds the directories of stores open in this process. Opening a
// store twice in one process would defeat pebble's file lock (POSIX locks
// are per process) and the read-only check would release the other handle's
// lock when it closes.
var claimed = struct {
	sync.Mutex
	dirs map[string]bool
}{dirs: make(map[string]bool)}

func claimDir(dir string) (release func(), err error) {
	claimed.Lock()
	defer claimed.Unlock()
	if claimed.dirs[dir] {
		return nil, fmt.Errorf("store: store at %s is already open in this process: share the open Store: %w", dir, ErrInUse)
	}
	claimed.dirs[dir] = true
	return func() {
		claimed.Lock()
		defer claimed.Unlock()
		delete(claimed.dirs, dir)
	}, nil
}

// recordKey is the on-disk key of record name; it is also the AAD its value
// is sealed with.
func recordKey(name string) []byte {
	return append([]byte(recordPrefix), name...)
}

// prefixEnd returns the smallest key greater than every key starting with
// prefix, or nil if there is none.
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Get implements Store. A value that does not open returns an error
// wrapping seal.ErrUnseal and naming the record.
func (p *Pebble) Get(key string) ([]byte, error) {
	if err := validateKey(key); err != nil {
		return nil, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.db == nil {
		return nil, closedErr("get")
	}
	rk := recordKey(key)
	sealed, closer, err := p.db.Get(rk)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, notFound(key)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get %q from %s: %w", key, p.dir, err)
	}
	defer closer.Close()
	value, err := p.aead.Open(sealed, rk)
	if err != nil {
		return nil, fmt.Errorf("store: record %q in %s does not open: it was damaged or copied from another record: %w",
			key, p.dir, err)
	}
	// Open allocated value, so it is already the caller's own copy.
	if value == nil {
		value = []byte{}
	}
	return value, nil
}

// Put implements Store.
func (p *Pebble) Put(key string, value []byte) error {
	if err := validatePut(key, value); err != nil {
		return err
	}
	rk := recordKey(key)
	sealed := p.aead.Seal(value, rk)
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.db == nil {
		return closedErr("put")
	}
	if err := p.db.Set(rk, sealed, pebble.Sync); err != nil {
		return fmt.Errorf("store: put %q to %s: %w", key, p.dir, err)
	}
	return nil
}

// Delete implements Store.
func (p *Pebble) Delete(key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.db == nil {
		return closedErr("delete")
	}
	if err := p.db.Delete(recordKey(key), pebble.Sync); err != nil {
		return fmt.Errorf("store: delete %q from %s: %w", key, p.dir, err)
	}
	return nil
}

// Apply implements Store. The batch is validated and sealed in full before
// anything is written, and then committed as one synced pebble batch.
func (p *Pebble) Apply(b *Batch) error {
	if err := b.validate(); err != nil {
		return err
	}
	sealed := p.sealOps(b)
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.db == nil {
		return closedErr("apply")
	}
	if len(sealed) == 0 {
		return nil
	}
	pb := p.db.NewBatch()
	defer pb.Close()
	for _, o := range sealed {
		var err error
		if o.delete {
			err = pb.Delete(o.key, nil)
		} else {
			err = pb.Set(o.key, o.value, nil)
		}
		if err != nil {
			return fmt.Errorf("store: build batch for %s: %w; nothing was applied", p.dir, err)
		}
	}
	if err := p.db.Apply(pb, pebble.Sync); err != nil {
		return fmt.Errorf("store: apply batch of %d operations to %s: %w", len(sealed), p.dir, err)
	}
	return nil
}

// sealedOp is a batch operation in on-disk form.
type sealedOp struct {
	key, value []byte
	delete     bool
}

// sealOps converts b's operations to on-disk keys and sealed values.
func (p *Pebble) sealOps(b *Batch) []sealedOp {
	out := make([]sealedOp, 0, b.Len())
	for i := range b.Len() {
		o := b.ops[i]
		rk := recordKey(o.key)
		if o.delete {
			out = append(out, sealedOp{key: rk, delete: true})
		} else {
			out = append(out, sealedOp{key: rk, value: p.aead.Seal(o.value, rk)})
		}
	}
	return out
}

// List implements Store. The seal check and other metadata are never
// listed: they live outside the record key space.
func (p *Pebble) List(prefix string) ([]string, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.db == nil {
		return nil, closedErr("list")
	}
	lower := recordKey(prefix)
	iter, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return nil, fmt.Errorf("store: list %q in %s: %w", prefix, p.dir, err)
	}
	keys := []string{}
	for valid := iter.First(); valid; valid = iter.Next() {
		keys = append(keys, string(iter.Key()[len(recordPrefix):]))
	}
	if err := errors.Join(iter.Error(), iter.Close()); err != nil {
		return nil, fmt.Errorf("store: list %q in %s: %w", prefix, p.dir, err)
	}
	return keys, nil
}

// Close implements Store.
func (p *Pebble) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.db == nil {
		return closedErr("close")
	}
	err := p.db.Close()
	p.db = nil
	p.release()
	if err != nil {
		return fmt.Errorf("store: close %s: %w", p.dir, err)
	}
	return nil
}

// exitProcess is os.Exit; tests replace it.
var exitProcess = os.Exit

// pebbleLogger silences pebble's informational logging, which would
// otherwise go to the standard logger as plain text, and turns its fatal
// errors into one slog record followed by exit.
type pebbleLogger struct{ dir string }

func (pebbleLogger) Infof(string, ...any) {}

// Fatalf must not return: pebble calls it when its commit pipeline or
// MANIFEST is broken and, if it returned, would report a write as done that
// is not on disk.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	slog.Error("store: unrecoverable storage failure; exiting so no unsynced write is acknowledged",
		"dir", l.dir, "detail", fmt.Sprintf(format, args...))
	exitProcess(1)
}
