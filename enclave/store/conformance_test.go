package store

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMemConformance and TestPebbleConformance run the same suite, so the
// double cannot drift from the real store.
func TestMemConformance(t *testing.T) {
	runConformance(t, func(t *testing.T) Store { return NewMem() })
}

func TestPebbleConformance(t *testing.T) {
	runConformance(t, func(t *testing.T) Store { return openTestPebble(t, t.TempDir(), testKey(1)) })
}

// runConformance checks the Store contract against stores made by open.
// Each subtest gets a fresh, empty store.
func runConformance(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGet", testPutGet},
		{"EmptyValue", testEmptyValue},
		{"Delete", testDelete},
		{"List", testList},
		{"Batch", testBatch},
		{"BatchOrder", testBatchOrder},
		{"BatchInvalidKeyAppliesNothing", testBatchInvalidKeyAppliesNothing},
		{"BatchTooLargeAppliesNothing", testBatchTooLargeAppliesNothing},
		{"EmptyBatch", testEmptyBatch},
		{"KeyValidation", testKeyValidation},
		{"ValueSize", testValueSize},
		{"Copies", testCopies},
		{"Closed", testClosed},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func mustPut(t *testing.T, s Store, key, value string) {
	t.Helper()
	if err := s.Put(key, []byte(value)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func wantValue(t *testing.T, s Store, key, want string) {
	t.Helper()
	got, err := s.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if string(got) != want {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

func wantAbsent(t *testing.T, s Store, key string) {
	t.Helper()
	if _, err := s.Get(key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(%q): err = %v, want ErrNotFound", key, err)
	}
}

func wantList(t *testing.T, s Store, prefix string, want []string) {
	t.Helper()
	got, err := s.List(prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	if got == nil {
		t.Fatalf("List(%q) returned nil, want a non-nil slice", prefix)
	}
	if want == nil {
		want = []string{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("List(%q) mismatch (-want +got):\n%s", prefix, diff)
	}
}

func testGetMissing(t *testing.T, s Store) {
	_, err := s.Get("shares/absent")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "shares/absent") {
		t.Errorf("error %q does not name the key", err)
	}
}

func testPutGet(t *testing.T, s Store) {
	mustPut(t, s, "a", "one")
	wantValue(t, s, "a", "one")
	mustPut(t, s, "a", "two")
	wantValue(t, s, "a", "two")
	binary := []byte{0, 1, 2, 0xff, 0xfe, 0}
	if err := s.Put("bin", binary); err != nil {
		t.Fatal(err)
	}
	wantValue(t, s, "bin", string(binary))
	// The full range of legal name bytes.
	name := " !~" + strings.Repeat("k", MaxKeyLen-3)
	mustPut(t, s, name, "edge")
	wantValue(t, s, name, "edge")
}

func testEmptyValue(t *testing.T, s Store) {
	for _, v := range [][]byte{nil, {}} {
		if err := s.Put("empty", v); err != nil {
			t.Fatalf("Put(%v): %v", v, err)
		}
		got, err := s.Get("empty")
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || len(got) != 0 {
			t.Fatalf("Get = %#v, want a non-nil empty slice", got)
		}
	}
}

func testDelete(t *testing.T, s Store) {
	mustPut(t, s, "a", "1")
	mustPut(t, s, "b", "2")
	if err := s.Delete("a"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantAbsent(t, s, "a")
	wantValue(t, s, "b", "2")
	if err := s.Delete("a"); err != nil {
		t.Fatalf("Delete of an absent key: %v", err)
	}
	if err := s.Delete("never-existed"); err != nil {
		t.Fatalf("Delete of a never-written key: %v", err)
	}
	wantList(t, s, "", []string{"b"})
}

func testList(t *testing.T, s Store) {
	wantList(t, s, "", nil)
	for _, k := range []string{"shares/b", "shares/a", "sharesX", "share", "meta/x", "~last", " first", "shares/a/1"} {
		mustPut(t, s, k, "v")
	}
	wantList(t, s, "", []string{" first", "meta/x", "share", "shares/a", "shares/a/1", "shares/b", "sharesX", "~last"})
	wantList(t, s, "shares/", []string{"shares/a", "shares/a/1", "shares/b"})
	wantList(t, s, "shares", []string{"shares/a", "shares/a/1", "shares/b", "sharesX"})
	wantList(t, s, "shares/a", []string{"shares/a", "shares/a/1"})
	wantList(t, s, "~", []string{"~last"})
	wantList(t, s, "nothing", nil)
	// Internal records (the seal check) must never be listed.
	wantList(t, s, "m", []string{"meta/x"})
}

func testBatch(t *testing.T, s Store) {
	mustPut(t, s, "old", "x")
	b := NewBatch()
	b.Put("k1", []byte("v1"))
	b.Put("k2", []byte("v2"))
	b.Delete("old")
	if b.Len() != 3 {
		t.Fatalf("Len = %d, want 3", b.Len())
	}
	if err := s.Apply(b); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	wantValue(t, s, "k1", "v1")
	wantValue(t, s, "k2", "v2")
	wantAbsent(t, s, "old")
	// A zero Batch works too.
	var z Batch
	z.Put("k3", []byte("v3"))
	if err := s.Apply(&z); err != nil {
		t.Fatalf("Apply zero Batch: %v", err)
	}
	wantValue(t, s, "k3", "v3")
}

func testBatchOrder(t *testing.T, s Store) {
	b := NewBatch()
	b.Put("a", []byte("1"))
	b.Delete("a")
	b.Delete("b")
	b.Put("b", []byte("2"))
	b.Put("c", []byte("first"))
	b.Put("c", []byte("last"))
	if err := s.Apply(b); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, s, "a")
	wantValue(t, s, "b", "2")
	wantValue(t, s, "c", "last")
}

func testBatchInvalidKeyAppliesNothing(t *testing.T, s Store) {
	mustPut(t, s, "keep", "kept")
	b := NewBatch()
	b.Put("new1", []byte("v"))
	b.Delete("keep")
	b.Put("new2", []byte("v"))
	b.Put("bad\x00key", []byte("v"))
	err := s.Apply(b)
	if !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("err = %v, want ErrInvalidKey", err)
	}
	wantAbsent(t, s, "new1")
	wantAbsent(t, s, "new2")
	wantValue(t, s, "keep", "kept")
	wantList(t, s, "", []string{"keep"})

	b = NewBatch()
	b.Put("new1", []byte("v"))
	b.Delete("")
	if err := s.Apply(b); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("batch with an empty delete key: err = %v, want ErrInvalidKey", err)
	}
	wantAbsent(t, s, "new1")
}

func testBatchTooLargeAppliesNothing(t *testing.T, s Store) {
	b := NewBatch()
	b.Put("small", []byte("v"))
	b.Put("huge", make([]byte, MaxValueLen+1))
	if err := s.Apply(b); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	wantAbsent(t, s, "small")

	// Each value is legal but together they exceed MaxBatchLen.
	big := make([]byte, MaxValueLen)
	b = NewBatch()
	for i := range MaxBatchLen/MaxValueLen + 1 {
		b.Put(fmt.Sprintf("big/%d", i), big)
	}
	if err := s.Apply(b); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized batch: err = %v, want ErrTooLarge", err)
	}
	wantList(t, s, "", nil)
}

func testEmptyBatch(t *testing.T, s Store) {
	if err := s.Apply(NewBatch()); err != nil {
		t.Fatalf("Apply(empty): %v", err)
	}
	if err := s.Apply(nil); err != nil {
		t.Fatalf("Apply(nil): %v", err)
	}
	if n := (*Batch)(nil).Len(); n != 0 {
		t.Fatalf("nil Batch Len = %d", n)
	}
	wantList(t, s, "", nil)
}

var badKeys = map[string]string{
	"empty":      "",
	"too long":   strings.Repeat("k", MaxKeyLen+1),
	"NUL":        "a\x00b",
	"newline":    "a\nb",
	"tab":        "a\tb",
	"DEL":        "a\x7f",
	"non-ASCII":  "clé",
	"high byte":  "a\xff",
	"escape seq": "\x1b[31m",
}

func testKeyValidation(t *testing.T, s Store) {
	for name, key := range badKeys {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Get(key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Get: err = %v, want ErrInvalidKey", err)
			}
			if err := s.Put(key, []byte("v")); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Put: err = %v, want ErrInvalidKey", err)
			}
			if err := s.Delete(key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Delete: err = %v, want ErrInvalidKey", err)
			}
			b := NewBatch()
			b.Put(key, []byte("v"))
			if err := s.Apply(b); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Apply: err = %v, want ErrInvalidKey", err)
			}
			if key != "" {
				if _, err := s.List(key); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("List: err = %v, want ErrInvalidKey", err)
				}
			}
		})
	}
	// A name of exactly MaxKeyLen bytes is fine.
	mustPut(t, s, strings.Repeat("k", MaxKeyLen), "v")
	wantList(t, s, "", []string{strings.Repeat("k", MaxKeyLen)})
}

func testValueSize(t *testing.T, s Store) {
	if err := s.Put("big", make([]byte, MaxValueLen+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	wantAbsent(t, s, "big")
	max := bytes.Repeat([]byte{0xa5}, MaxValueLen)
	if err := s.Put("big", max); err != nil {
		t.Fatalf("Put of exactly MaxValueLen bytes: %v", err)
	}
	got, err := s.Get("big")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, max) {
		t.Fatal("MaxValueLen value did not round-trip")
	}
}

func testCopies(t *testing.T, s Store) {
	v := []byte("original")
	if err := s.Put("k", v); err != nil {
		t.Fatal(err)
	}
	copy(v, "MUTATED!")
	wantValue(t, s, "k", "original")

	got, err := s.Get("k")
	if err != nil {
		t.Fatal(err)
	}
	copy(got, "MUTATED!")
	wantValue(t, s, "k", "original")

	bv := []byte("batched")
	b := NewBatch()
	b.Put("b", bv)
	copy(bv, "CHANGED")
	if err := s.Apply(b); err != nil {
		t.Fatal(err)
	}
	wantValue(t, s, "b", "batched")
}

func testClosed(t *testing.T, s Store) {
	mustPut(t, s, "k", "v")
	if err := s.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", op, err)
		}
	}
	_, err := s.Get("k")
	check("Get", err)
	check("Put", s.Put("k", []byte("v")))
	check("Delete", s.Delete("k"))
	b := NewBatch()
	b.Put("k", []byte("v"))
	check("Apply", s.Apply(b))
	check("Apply(empty)", s.Apply(NewBatch()))
	_, err = s.List("")
	check("List", err)
	check("second Close", s.Close())
	check("third Close", s.Close())
}

func testConcurrent(t *testing.T, s Store) {
	const workers, each = 4, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("w%d/%02d", w, i)
				if err := s.Put(key, []byte(key)); err != nil {
					errs <- err
					return
				}
				if got, err := s.Get(key); err != nil || string(got) != key {
					errs <- fmt.Errorf("Get(%q) = %q, %v", key, got, err)
					return
				}
				if _, err := s.List(fmt.Sprintf("w%d/", w)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	keys, err := s.List("w")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != workers*each {
		t.Fatalf("List found %d keys, want %d", len(keys), workers*each)
	}
}
