package seal

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mpcsigner/mpcsigner/internal/durable"
)

// KeyFile is the development Sealer: the data key lives in a private file
// on local disk. It offers no protection against anyone who can read the
// file as the enclave's user; production enclaves use a KMS-backed Sealer.
//
// On first use, if Path does not exist, KeyFile creates its directory
// (mode 0700) and writes a fresh random key (mode 0600) atomically. After
// that it only reads, and refuses a file that is not regular, is accessible
// to group or others, or is not exactly KeySize bytes. Path may be a
// symlink (as with mounted secrets); the file it points to is checked.
type KeyFile struct {
	Path string
}

var _ Sealer = KeyFile{}

// DataKey returns the key stored at k.Path, creating the file first if it
// does not exist. Errors wrap ErrInsecure or ErrNotKeyFile when the file or
// its directory is unacceptable.
func (k KeyFile) DataKey(ctx context.Context) ([]byte, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, fmt.Errorf("seal: key file %s: %w", k.Path, err)
	}
	if k.Path == "" {
		return nil, errors.New("seal: key file path is empty: configure the path of the sealing key file")
	}
	key, err := readKeyFile(k.Path)
	if err == nil || !isNotExist(err) {
		return key, err
	}
	if err := createKeyFile(k.Path); err != nil {
		return nil, err
	}
	// Read back rather than returning the generated key, so that the caller
	// gets whatever is on disk: ours, or a concurrent creator's if it won.
	return readKeyFile(k.Path)
}

// readKeyFile reads and checks an existing key file. If the file is absent
// the error wraps fs.ErrNotExist.
func readKeyFile(path string) ([]byte, error) {
	// Stat before opening so that a FIFO or device at path is refused
	// without opening it (opening a FIFO would block).
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("seal: key file %s: %w", path, err)
	}
	if err := checkKeyFileInfo(path, fi); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seal: open key file %s: %w", path, err)
	}
	defer f.Close()
	// Check the opened file again: the path may have been swapped between
	// the stat and the open.
	ofi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal: stat key file %s: %w", path, err)
	}
	if !os.SameFile(fi, ofi) {
		return nil, fmt.Errorf("seal: key file %s was replaced while being read: retry, and find what else writes it", path)
	}
	if err := checkKeyFileInfo(path, ofi); err != nil {
		return nil, err
	}
	return readKey(path, f)
}

// checkKeyFileInfo refuses a key file that is not private or has the wrong
// size.
func checkKeyFileInfo(path string, fi fs.FileInfo) error {
	if err := checkPrivateInfo("key file", path, fi); err != nil {
		return err
	}
	if fi.Size() != KeySize {
		return wrongSize(path, fi.Size())
	}
	return nil
}

// readKey reads exactly KeySize bytes from f, failing if the file turns out
// shorter or longer than its stat said.
func readKey(path string, f io.Reader) ([]byte, error) {
	buf := make([]byte, KeySize+1)
	defer clear(buf)
	n, err := io.ReadFull(f, buf)
	switch {
	case n == KeySize && errors.Is(err, io.ErrUnexpectedEOF):
		key := make([]byte, KeySize)
		copy(key, buf)
		return key, nil
	case err == nil || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return nil, wrongSize(path, int64(n))
	default:
		return nil, fmt.Errorf("seal: read key file %s: %w", path, err)
	}
}

func wrongSize(path string, n int64) error {
	return fmt.Errorf("seal: key file %s is %d bytes, want %d: it is not a sealing key file: %w",
		path, n, KeySize, ErrNotKeyFile)
}

// createKeyFile writes a new random key to path unless a file appears there
// first. It returns nil both when it created the file and when a concurrent
// creator won the race.
func createKeyFile(path string) error {
	dir, base := filepath.Split(path)
	if base == "" {
		return fmt.Errorf("seal: key file path %q names a directory: give a file path", path)
	}
	if dir == "" {
		dir = "."
	}
	if err := ensurePrivateDir(dir); err != nil {
		return err
	}
	key := make([]byte, KeySize)
	defer clear(key)
	// crypto/rand.Read never fails on supported platforms; it aborts the
	// process instead of returning weak bytes.
	_, _ = rand.Read(key)
	tmp, err := durable.WriteTemp(dir, base, key, 0o600)
	if err != nil {
		return fmt.Errorf("seal: write key file %s: %w", path, err)
	}
	defer os.Remove(tmp)
	// Publish with link rather than rename: link fails if path exists, so a
	// key another process already created (and may already be using) is
	// never replaced. The file appears complete or not at all.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return fmt.Errorf("seal: install key file %s: %w", path, err)
	}
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("seal: remove temporary key file %s: %w", tmp, err)
	}
	if err := durable.SyncDir(dir); err != nil {
		return fmt.Errorf("seal: key file %s created but not yet durable: %w", path, err)
	}
	return nil
}
