// Package store is the durable key-value store of one enclave process.
//
// Every value is sealed with the enclave's data key (see package seal)
// before it leaves the enclave's memory, so a copied, moved or altered value
// does not open.
//
// This package must never store a value unsealed, and every write (Put,
// Delete, Apply) is durable before it returns and before it is visible.
//
// Pebble is the on-disk implementation: values sealed one by one and bound to
// their record's name, which is stored in the clear. Hosted keeps its durable
// copy on the enclave's untrusted host, for enclaves without a disk: each
// committed write is one sealed record (names included) in a hash-chained log
// the host keeps, which it can withhold or roll back to an older prefix but
// not read or alter (see Hosted). Mem is an in-memory double with the same
// semantics for tests.
package store

import (
	"bytes"
	"errors"
	"fmt"
)

// Limits on record names and values.
const (
	// MaxKeyLen is the longest record name, in bytes.
	MaxKeyLen = 256
	// MaxValueLen is the largest value, in bytes.
	MaxValueLen = 16 << 20
	// MaxBatchLen bounds the total of names and values in one Batch, so a
	// runaway batch fails cleanly instead of exhausting memory.
	MaxBatchLen = 64 << 20
)

// Sentinel errors that callers branch on. Returned errors wrap them with %w
// and name the record or directory involved.
var (
	// ErrNotFound means no record has the requested name.
	ErrNotFound = errors.New("record not found")
	// ErrClosed means the Store was closed.
	ErrClosed = errors.New("store is closed")
	// ErrInvalidKey means a record name (or List prefix) is empty, longer
	// than MaxKeyLen, or not printable ASCII.
	ErrInvalidKey = errors.New("invalid record name")
	// ErrTooLarge means a value exceeds MaxValueLen or a batch exceeds
	// MaxBatchLen.
	ErrTooLarge = errors.New("value too large")
	// ErrWrongKey means an existing store was sealed under a different data
	// key. Nothing on disk was changed.
	ErrWrongKey = errors.New("wrong sealing key")
	// ErrUnrecognized means a directory holds a database with records but
	// no seal check, so it was not made by this package or is damaged.
	ErrUnrecognized = errors.New("not a sealed enclave store")
	// ErrInUse means the store is already open, in this process or another.
	ErrInUse = errors.New("store already open")
)

// Store is a durable map from record names to values.
//
// Record names are 1 to MaxKeyLen bytes of printable ASCII (0x20-0x7E);
// anything else fails with ErrInvalidKey. Values are at most MaxValueLen
// bytes (else ErrTooLarge); a nil value is stored as an empty one. Values
// passed in are copied, and values returned are copies the caller may keep
// and modify. After Close every method returns ErrClosed.
//
// Implementations are safe for concurrent use.
type Store interface {
	// Get returns the value of record key, or an error wrapping
	// ErrNotFound (and naming key) if there is none.
	Get(key string) ([]byte, error)
	// Put sets record key to value; it is on disk when Put returns.
	Put(key string, value []byte) error
	// Apply performs all the puts and deletes in b, in order, atomically
	// and durably: after it returns either all of them happened or, on
	// error, none did. An empty or nil batch does nothing.
	Apply(b *Batch) error
	// Delete removes record key durably. Deleting an absent record is not
	// an error.
	Delete(key string) error
	// List returns the names of records starting with prefix, sorted
	// ascending (bytewise). The empty prefix lists every record.
	List(prefix string) ([]string, error)
	// Close releases the store. The first call returns nil or the error of
	// releasing it; later calls return ErrClosed.
	Close() error
}

// Batch collects puts and deletes for Store.Apply. Nothing is checked until
// Apply, which refuses the whole batch if any operation is invalid. A zero
// Batch is ready to use; a Batch is not safe for concurrent use.
type Batch struct {
	ops []op
}

type op struct {
	key    string
	value  []byte
	delete bool
}

// NewBatch returns an empty Batch.
func NewBatch() *Batch { return &Batch{} }

// Put adds setting record key to value. The value is copied, so the caller
// may reuse it at once.
func (b *Batch) Put(key string, value []byte) {
	b.ops = append(b.ops, op{key: key, value: copyValue(value)})
}

// Delete adds removing record key.
func (b *Batch) Delete(key string) {
	b.ops = append(b.ops, op{key: key, delete: true})
}

// Len returns the number of operations in the batch.
func (b *Batch) Len() int {
	if b == nil {
		return 0
	}
	return len(b.ops)
}

// validate checks every operation in b so that Apply can refuse the whole
// batch before changing anything.
func (b *Batch) validate() error {
	if b == nil {
		return nil
	}
	total := 0
	for i, o := range b.ops {
		err := validateKey(o.key)
		if err == nil && !o.delete {
			err = validateValue(o.key, o.value)
		}
		if err != nil {
			return fmt.Errorf("batch operation %d: %w; nothing in the batch was applied", i, err)
		}
		total += len(o.key) + len(o.value)
		if total > MaxBatchLen {
			return fmt.Errorf("store: batch holds more than %d bytes by operation %d: split it into smaller batches: %w",
				MaxBatchLen, i, ErrTooLarge)
		}
	}
	return nil
}

// validatePut checks the arguments of a put.
func validatePut(key string, value []byte) error {
	if err := validateKey(key); err != nil {
		return err
	}
	return validateValue(key, value)
}

// validateKey enforces the record-name rules.
func validateKey(key string) error {
	if key == "" {
		return fmt.Errorf("store: record name is empty: %w", ErrInvalidKey)
	}
	return validateName("record name", key)
}

// validatePrefix enforces the record-name rules on a List prefix, which may
// be empty.
func validatePrefix(prefix string) error {
	return validateName("list prefix", prefix)
}

func validateName(what, name string) error {
	if len(name) > MaxKeyLen {
		return fmt.Errorf("store: %s %q... is %d bytes, longer than the %d-byte limit: %w",
			what, name[:32], len(name), MaxKeyLen, ErrInvalidKey)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("store: %s %q has byte 0x%02x at offset %d: use printable ASCII only: %w",
				what, name, c, i, ErrInvalidKey)
		}
	}
	return nil
}

// validateValue enforces the value size limit.
func validateValue(key string, value []byte) error {
	if len(value) > MaxValueLen {
		return fmt.Errorf("store: value for %q is %d bytes, over the %d-byte limit: store large data elsewhere: %w",
			key, len(value), MaxValueLen, ErrTooLarge)
	}
	return nil
}

// copyValue returns a copy of v that is never nil, so that an empty value
// reads back the same way from every Store.
func copyValue(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return bytes.Clone(v)
}

func notFound(key string) error {
	return fmt.Errorf("store: record %q: %w", key, ErrNotFound)
}

func closedErr(op string) error {
	return fmt.Errorf("store: %s: %w: open it again to use it", op, ErrClosed)
}
