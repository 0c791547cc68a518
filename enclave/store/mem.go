package store

import (
	"slices"
	"strings"
	"sync"
)

// Mem is an in-memory Store for tests, with the same validation, errors,
// ordering and copying as Pebble. It keeps values unsealed in memory and
// nothing survives Close, so it must not be used for real key shares.
type Mem struct {
	mu     sync.RWMutex
	closed bool
	data   map[string][]byte
}

var _ Store = (*Mem)(nil)

// NewMem returns an empty Mem.
func NewMem() *Mem { return &Mem{data: make(map[string][]byte)} }

// Get implements Store.
func (m *Mem) Get(key string) ([]byte, error) {
	if err := validateKey(key); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, closedErr("get")
	}
	v, ok := m.data[key]
	if !ok {
		return nil, notFound(key)
	}
	return copyValue(v), nil
}

// Put implements Store.
func (m *Mem) Put(key string, value []byte) error {
	if err := validatePut(key, value); err != nil {
		return err
	}
	return m.commit("put", []op{{key: key, value: copyValue(value)}})
}

// Delete implements Store.
func (m *Mem) Delete(key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	return m.commit("delete", []op{{key: key, delete: true}})
}

// Apply implements Store. The batch is validated in full before anything
// changes, which is what makes it all-or-nothing.
func (m *Mem) Apply(b *Batch) error {
	if err := b.validate(); err != nil {
		return err
	}
	var ops []op
	if b != nil {
		ops = b.ops
	}
	return m.commit("apply", ops)
}

// commit applies already-validated operations in order under the lock.
func (m *Mem) commit(opName string, ops []op) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return closedErr(opName)
	}
	for _, o := range ops {
		if o.delete {
			delete(m.data, o.key)
		} else {
			m.data[o.key] = copyValue(o.value)
		}
	}
	return nil
}

// List implements Store.
func (m *Mem) List(prefix string) ([]string, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, closedErr("list")
	}
	keys := []string{}
	for k := range m.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// Close implements Store.
func (m *Mem) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return closedErr("close")
	}
	m.closed = true
	m.data = nil
	return nil
}
