package hostsvc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

func openTestLog(t *testing.T, dir string) *FileLog {
	t.Helper()
	l, err := OpenFileLog(dir, nil)
	if err != nil {
		t.Fatalf("OpenFileLog: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// readAll reads the whole image through Read, as the server does for a client.
func readAll(t *testing.T, l *FileLog) []Entry {
	t.Helper()
	var image []byte
	for {
		rep, err := l.Read(uint64(len(image)), 5) // small reads: exercise the offsets
		if err != nil {
			t.Fatal(err)
		}
		image = append(image, rep.Data...)
		if uint64(len(image)) == rep.Size {
			break
		}
	}
	entries, err := ParseImage(image)
	if err != nil {
		t.Fatalf("the log serves an image that does not parse: %v", err)
	}
	return entries
}

func mustAppend(t *testing.T, l *FileLog, seq uint64, body string) {
	t.Helper()
	if err := l.Append(seq, []byte(body)); err != nil {
		t.Fatalf("Append(%d): %v", seq, err)
	}
}

func TestFileLogAppendCompactReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	l := openTestLog(t, dir)
	if got := readAll(t, l); len(got) != 0 {
		t.Fatalf("a new log has %d entries", len(got))
	}
	mustAppend(t, l, 1, "one")
	mustAppend(t, l, 2, "two")
	if diff := cmp.Diff([]Entry{rec(1, "one"), rec(2, "two")}, readAll(t, l)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if err := l.Compact(2, []byte("snapshot at 2")); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	mustAppend(t, l, 3, "three")
	want := []Entry{snap(2, "snapshot at 2"), rec(3, "three")}
	if diff := cmp.Diff(want, readAll(t, l)); diff != "" {
		t.Fatalf("after compaction (-want +got):\n%s", diff)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTestLog(t, dir)
	if diff := cmp.Diff(want, readAll(t, l)); diff != "" {
		t.Fatalf("after reopening (-want +got):\n%s", diff)
	}
	mustAppend(t, l, 4, "four")
	for _, name := range []string{dir, filepath.Join(dir, logFileName)} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %04o: readable by others", name, fi.Mode().Perm())
		}
	}
}

func TestFileLogRepeatsAndConflicts(t *testing.T) {
	l := openTestLog(t, t.TempDir())
	if err := l.Append(2, []byte("x")); !errors.Is(err, ErrConflict) {
		t.Fatalf("first append at 2: %v, want ErrConflict", err)
	}
	if err := l.Compact(0, []byte("x")); !errors.Is(err, ErrConflict) {
		t.Fatalf("compacting an empty log: %v, want ErrConflict", err)
	}
	mustAppend(t, l, 1, "one")
	size := l.Size()
	mustAppend(t, l, 1, "one") // a repeat after a lost acknowledgement
	if l.Size() != size {
		t.Fatal("a repeated append wrote again")
	}
	if err := l.Append(1, []byte("other")); !errors.Is(err, ErrConflict) {
		t.Fatalf("another record 1: %v, want ErrConflict", err)
	}
	if err := l.Append(3, []byte("x")); !errors.Is(err, ErrConflict) {
		t.Fatalf("a gap: %v, want ErrConflict", err)
	}
	if err := l.Compact(2, []byte("s")); !errors.Is(err, ErrConflict) {
		t.Fatalf("compacting past the end: %v, want ErrConflict", err)
	}
	if err := l.Compact(1, []byte("s")); err != nil {
		t.Fatal(err)
	}
	size = l.Size()
	if err := l.Compact(1, []byte("s")); err != nil || l.Size() != size {
		t.Fatalf("a repeated compaction: %v, size %d -> %d", err, size, l.Size())
	}
	// A snapshot of the same state sealed again (another nonce) may replace it.
	if err := l.Compact(1, []byte("s, sealed again")); err != nil {
		t.Fatalf("another snapshot at 1: %v", err)
	}
	if err := l.Compact(1, []byte("s")); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(1, []byte("one")); !errors.Is(err, ErrConflict) {
		t.Fatalf("record 1 again after the snapshot: %v, want ErrConflict", err)
	}
	if err := l.Append(2, nil); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("an empty record: %v, want ErrMalformed", err)
	}
	if diff := cmp.Diff([]Entry{snap(1, "s")}, readAll(t, l)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if _, err := l.Read(uint64(l.Size())+1, 1); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("reading past the end: %v", err)
	}
}

func TestFileLogCutsTornTail(t *testing.T) {
	good := EncodeImage([]Entry{rec(1, "one"), rec(2, "two")})
	whole := len(EncodeImage([]Entry{rec(1, "one")}))
	damagedLast := bytes.Clone(good)
	damagedLast[len(damagedLast)-5] ^= 1 // a body byte of the last entry
	cases := map[string][]byte{
		"half an entry":          good[:len(good)-3],
		"half a header":          good[:whole+4],
		"last entry damaged":     damagedLast,
		"zeros after an entry":   append(bytes.Clone(good[:whole]), make([]byte, 40)...),
		"torn while being made":  []byte("MPCS"),
		"nothing yet (created)":  nil,
		"zeros after the header": append([]byte(ImageMagic), make([]byte, 3)...),
		"part of a header":       append(bytes.Clone(good[:whole]), oversizedHeader()[len(ImageMagic):len(ImageMagic)+9]...),
		// Cut off without reading (or allocating) the body the header claims.
		"a large body cut short": append(bytes.Clone(good[:whole]), maxBodyHeader(2)...),
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, logFileName), content, 0o600); err != nil {
				t.Fatal(err)
			}
			l := openTestLog(t, dir)
			entries := readAll(t, l)
			if len(entries) > 1 {
				t.Fatalf("%d entries survived; the torn one should be gone", len(entries))
			}
			// Appending continues where the intact part ends.
			mustAppend(t, l, uint64(len(entries))+1, "next")
		})
	}
}

// maxBodyHeader is the header of record seq claiming a MaxEntryBody-byte body.
func maxBodyHeader(seq uint64) []byte {
	b := []byte{byte(EntryRecord)}
	b = binary.BigEndian.AppendUint64(b, seq)
	return binary.BigEndian.AppendUint32(b, MaxEntryBody)
}

func TestFileLogRefusesDamage(t *testing.T) {
	good := EncodeImage([]Entry{rec(1, "one"), rec(2, "two")})
	damagedFirst := bytes.Clone(good)
	damagedFirst[len(ImageMagic)+entryHeaderLen] ^= 1
	cases := map[string][]byte{
		"not a log":                []byte("some other file entirely"),
		"damage before the end":    damagedFirst,
		"out of sequence":          EncodeImage([]Entry{rec(1, "a"), rec(3, "c")}),
		"snapshot after a record":  EncodeImage([]Entry{rec(1, "a"), snap(2, "s")}),
		"garbage after the header": append([]byte(ImageMagic), 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9),
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, logFileName)
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := OpenFileLog(dir, nil); !errors.Is(err, errDamaged) {
				t.Fatalf("OpenFileLog = %v, want errDamaged", err)
			}
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(after, content) {
				t.Fatal("a refused open changed the file")
			}
		})
	}
}

func TestFileLogOneProcessPerDirectory(t *testing.T) {
	dir := t.TempDir()
	l := openTestLog(t, dir)
	if _, err := OpenFileLog(dir, nil); !errors.Is(err, errInUse) {
		t.Fatalf("second open = %v, want errInUse", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	openTestLog(t, dir)
}

func TestFileLogBlob(t *testing.T) {
	dir := t.TempDir()
	l := openTestLog(t, dir)
	if _, err := l.Blob(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Blob before any: %v, want fs.ErrNotExist", err)
	}
	if saved, err := l.PublishBlob([]byte("first")); err != nil || !saved {
		t.Fatalf("PublishBlob: %v, %v", saved, err)
	}
	if saved, err := l.PublishBlob([]byte("second")); err != nil || saved {
		t.Fatalf("PublishBlob over an existing blob: saved %v, %v; want kept", saved, err)
	}
	if b, err := l.Blob(); err != nil || string(b) != "first" {
		t.Fatalf("Blob = %q, %v", b, err)
	}
	if _, err := l.PublishBlob(make([]byte, MaxBlob+1)); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("oversized blob: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, blobFileName), make([]byte, MaxBlob+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Blob(); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("Blob of an oversized file: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != logFileName && e.Name() != blobFileName && e.Name() != lockFileName {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestFileLogClosed(t *testing.T) {
	l := openTestLog(t, t.TempDir())
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(1, []byte("x")); !errors.Is(err, ErrNotOffered) {
		t.Fatalf("Append after Close: %v", err)
	}
	if _, err := l.Read(0, 1); !errors.Is(err, ErrNotOffered) {
		t.Fatalf("Read after Close: %v", err)
	}
}
