package hostsvc

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/mpcsigner/mpcsigner/internal/durable"
)

// Sentinel errors. Errors crossing the stream keep their meaning: the server maps each to one
// wire error code, and the client maps the code back.
var (
	// ErrConflict means an append or compaction does not continue the log where it ends: the
	// enclave and the log disagree about the last sequence number (another writer, a log
	// restored from elsewhere, or a host serving a stale log).
	ErrConflict = errors.New("hostsvc: the log does not end where the write expects")
	// ErrLogFull means an append would grow the log image past MaxImageSize.
	ErrLogFull = errors.New("hostsvc: the log is full")
	// ErrNotOffered means the host does not offer what was asked (no log directory, no
	// credentials) or its log is unusable until the host restarts.
	ErrNotOffered = errors.New("hostsvc: not offered by this host")
	// errInUse means another process holds the log directory.
	errInUse = errors.New("the log directory is in use by another process")
)

// Files in a FileLog directory.
const (
	logFileName  = "log"
	blobFileName = "kms-blob"
	lockFileName = "LOCK"
	compactTemp  = "log.compacting"
)

// FileLog is the host's side of its enclave's storage: the log image in DIR/log and the KMS
// data key blob in DIR/kms-blob, kept durable (every acknowledged write is fsynced, file and
// directory) and handed back as they were written. It never opens what it keeps.
//
// On open it checks the image's framing and cuts off a torn last entry (an append that a crash
// interrupted, which was therefore never acknowledged); damage anywhere else makes it refuse
// to open rather than guess. Only one process may hold a directory (a lock on DIR/LOCK).
type FileLog struct {
	dir     string
	log     *slog.Logger
	release func() error

	mu      sync.Mutex
	f       *os.File
	size    int64
	entries int
	last    Entry // the last entry's kind and seq (no body)
	lastSum [sha256.Size]byte
	broken  error // set when a failed write could not be undone: refuse writes until reopened
	closed  bool
}

// OpenFileLog opens (creating it if needed, mode 0700) the log directory dir.
func OpenFileLog(dir string, logger *slog.Logger) (*FileLog, error) {
	if dir == "" {
		return nil, errors.New("hostsvc: the enclave store directory is empty: configure one")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("hostsvc: create %s: %w", dir, err)
	}
	release, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	l := &FileLog{dir: dir, log: logger, release: release}
	if err := l.open(); err != nil {
		_ = release()
		return nil, err
	}
	return l, nil
}

// lockDir takes DIR/LOCK, which outlives every replacement of the log file.
func lockDir(dir string) (func() error, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("hostsvc: lock %s: %w", dir, err)
	}
	if err := lockFile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("hostsvc: lock %s: %w: run one host per enclave store directory", dir, err)
	}
	return f.Close, nil
}

// open opens the log file, creating an empty image, or checking and repairing an existing one.
func (l *FileLog) open() error {
	path := filepath.Join(l.dir, logFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("hostsvc: open %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() < int64(len(ImageMagic)) {
		err = l.initImage(f, fi.Size())
	}
	if err == nil {
		err = l.scan(f)
	}
	if err != nil {
		_ = f.Close()
		return err
	}
	l.f = f
	return nil
}

// initImage writes the magic into a new (or torn while being created) log file.
func (l *FileLog) initImage(f *os.File, size int64) error {
	path := f.Name()
	head := make([]byte, size)
	if _, err := f.ReadAt(head, 0); err != nil {
		return fmt.Errorf("hostsvc: read %s: %w", path, err)
	}
	if !bytes.HasPrefix([]byte(ImageMagic), head) {
		return fmt.Errorf("hostsvc: %s is %d bytes that do not start a log image: move it away: %w", path, size, errDamaged)
	}
	if _, err := f.WriteAt([]byte(ImageMagic), 0); err != nil {
		return fmt.Errorf("hostsvc: initialize %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("hostsvc: initialize %s: %w", path, err)
	}
	return durable.SyncDir(l.dir)
}

// errDamaged marks a log file that is not a log image, or is damaged before its last entry.
var errDamaged = errors.New("log file damaged")

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// scan reads the whole image, recording its last entry, and cuts off a torn last entry.
func (l *FileLog) scan(f *os.File) error {
	path := f.Name()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("hostsvc: stat %s: %w", path, err)
	}
	if fi.Size() > MaxImageSize {
		return fmt.Errorf("hostsvc: %s is %d bytes, more than any log image (%d): %w", path, fi.Size(), MaxImageSize, errDamaged)
	}
	cr := &countingReader{r: io.NewSectionReader(f, 0, fi.Size())}
	r := bufio.NewReaderSize(cr, 1<<20)
	magic := make([]byte, len(ImageMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != ImageMagic {
		return fmt.Errorf("hostsvc: %s does not start with the log image magic: move it away: %w", path, errDamaged)
	}
	var seq sequence
	pos := int64(len(ImageMagic))
	for {
		e, err := readEntry(r, fi.Size()-pos)
		if errors.Is(err, io.EOF) {
			break
		}
		atEnd := cr.n == fi.Size() && r.Buffered() == 0
		if errors.Is(err, errShort) || (errors.Is(err, errTorn) && atEnd) {
			return l.cutTornTail(f, pos, fi.Size(), err)
		}
		if err != nil && zeroTail(f, pos, fi.Size()) {
			// Some file systems leave the space an interrupted append had reserved as zeros.
			return l.cutTornTail(f, pos, fi.Size(), err)
		}
		if err == nil {
			err = seq.next(e)
		}
		if err != nil {
			return fmt.Errorf("hostsvc: %s at byte %d: %w: the log cannot be served; move it away to let the enclave start empty (it then loses its state): %w",
				path, pos, err, errDamaged)
		}
		l.noteLast(e)
		pos += int64(EntryOverhead + len(e.Body))
	}
	l.size = pos
	return nil
}

// zeroTail reports whether the file holds only zero bytes from pos to size.
func zeroTail(f *os.File, pos, size int64) bool {
	r := bufio.NewReader(io.NewSectionReader(f, pos, size-pos))
	for {
		b, err := r.ReadByte()
		if err != nil {
			return errors.Is(err, io.EOF)
		}
		if b != 0 {
			return false
		}
	}
}

// noteLast remembers e as the last entry.
func (l *FileLog) noteLast(e Entry) {
	l.entries = seqCount(l.entries, e)
	l.last = Entry{Kind: e.Kind, Seq: e.Seq}
	l.lastSum = sha256.Sum256(e.Body)
}

// seqCount is the entry count after e: a snapshot starts the log afresh.
func seqCount(n int, e Entry) int {
	if e.Kind == EntrySnapshot {
		return 1
	}
	return n + 1
}

// cutTornTail truncates the file at pos, the start of an entry that a crash tore. That entry
// was never acknowledged: appends are acknowledged only once fsynced whole.
func (l *FileLog) cutTornTail(f *os.File, pos, size int64, why error) error {
	l.log.Warn("enclave store log: cutting off a torn last entry (an append interrupted by a crash, never acknowledged)",
		"file", f.Name(), "at", pos, "bytes", size-pos, "detail", why.Error())
	if err := f.Truncate(pos); err != nil {
		return fmt.Errorf("hostsvc: truncate the torn tail of %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("hostsvc: truncate the torn tail of %s: %w", f.Name(), err)
	}
	l.size = pos
	return nil
}

// Read returns up to max bytes of the image from off, and the image's size.
func (l *FileLog) Read(off uint64, max uint32) (ReadReply, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(false); err != nil {
		return ReadReply{}, err
	}
	if off > uint64(l.size) {
		return ReadReply{}, malformed("log.read at offset %d of a %d-byte image", off, l.size)
	}
	data := make([]byte, min(uint64(max), uint64(l.size)-off))
	if _, err := l.f.ReadAt(data, int64(off)); err != nil {
		return ReadReply{}, fmt.Errorf("hostsvc: read %s: %w", l.f.Name(), err)
	}
	return ReadReply{Size: uint64(l.size), Data: data}, nil
}

// Size is the image's size in bytes.
func (l *FileLog) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size
}

// usable refuses use after Close and, for writes, after a write that could not be undone.
func (l *FileLog) usable(write bool) error {
	if l.closed {
		return fmt.Errorf("hostsvc: the log in %s is closed: %w", l.dir, ErrNotOffered)
	}
	if write && l.broken != nil {
		return fmt.Errorf("hostsvc: the log in %s is unusable until the host restarts (%v): %w", l.dir, l.broken, ErrNotOffered)
	}
	return nil
}

// Append adds a record with body as entry seq, durably, before it returns. Appending again the
// record that is already last is acknowledged without writing.
func (l *FileLog) Append(seq uint64, body []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(true); err != nil {
		return err
	}
	if l.isLast(EntryRecord, seq, body) {
		return nil
	}
	if seq != l.last.Seq+1 {
		return fmt.Errorf("hostsvc: append of record %d, but the log ends at %s %d: %w", seq, l.lastName(), l.last.Seq, ErrConflict)
	}
	e := Entry{Kind: EntryRecord, Seq: seq, Body: body}
	if err := checkBody(e); err != nil {
		return err
	}
	if l.size+int64(EntryOverhead+len(body)) > MaxImageSize {
		return fmt.Errorf("hostsvc: record %d would grow the log past %d bytes: the enclave must compact it: %w", seq, MaxImageSize, ErrLogFull)
	}
	if err := l.write(AppendEntry(nil, e)); err != nil {
		return err
	}
	l.noteLast(e)
	return nil
}

// checkBody refuses an entry body the image format cannot hold.
func checkBody(e Entry) error {
	if len(e.Body) == 0 || len(e.Body) > MaxEntryBody {
		return malformed("%s %d of %d bytes, want 1 to %d", e.Kind, e.Seq, len(e.Body), MaxEntryBody)
	}
	return nil
}

// isLast reports whether the log's last entry is exactly this one (a repeated write).
func (l *FileLog) isLast(kind EntryKind, seq uint64, body []byte) bool {
	return l.entries > 0 && l.last.Kind == kind && l.last.Seq == seq && sha256.Sum256(body) == l.lastSum
}

func (l *FileLog) lastName() string {
	if l.entries == 0 {
		return "the empty log, sequence number"
	}
	return l.last.Kind.String()
}

// write appends b at the end of the file and fsyncs it. On failure it cuts the file back so
// that no half-written entry stays, or marks the log broken if it cannot.
func (l *FileLog) write(b []byte) error {
	_, err := l.f.WriteAt(b, l.size)
	if err == nil {
		err = l.f.Sync()
	}
	if err == nil {
		l.size += int64(len(b))
		return nil
	}
	if terr := errors.Join(l.f.Truncate(l.size), l.f.Sync()); terr != nil {
		l.broken = fmt.Errorf("a failed append could not be undone: %w", terr)
	}
	return fmt.Errorf("hostsvc: append to %s: %w", l.f.Name(), err)
}

// Compact replaces the whole log by a snapshot entry at seq, which must be the log's last
// sequence number, atomically (a new file renamed over the old one). Compacting again to the
// snapshot that is already the whole log is acknowledged without writing.
func (l *FileLog) Compact(seq uint64, body []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(true); err != nil {
		return err
	}
	if l.entries == 1 && l.isLast(EntrySnapshot, seq, body) {
		return nil
	}
	if l.entries == 0 || seq != l.last.Seq {
		return fmt.Errorf("hostsvc: compaction at %d, but the log ends at %s %d: %w", seq, l.lastName(), l.last.Seq, ErrConflict)
	}
	e := Entry{Kind: EntrySnapshot, Seq: seq, Body: body}
	if err := checkBody(e); err != nil {
		return err
	}
	image := EncodeImage([]Entry{e})
	if err := l.replace(image); err != nil {
		return err
	}
	l.noteLast(e) // a snapshot restarts the entry count
	return nil
}

// replace installs image as the log file: written to a temporary file, fsynced, renamed over
// the log, the directory fsynced, and the new file reopened.
func (l *FileLog) replace(image []byte) error {
	tmp := filepath.Join(l.dir, compactTemp)
	path := filepath.Join(l.dir, logFileName)
	if err := writeSynced(tmp, image, os.O_TRUNC); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("hostsvc: write the compacted log: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("hostsvc: install the compacted log: %w", err)
	}
	err := durable.SyncDir(l.dir)
	var f *os.File
	if err == nil {
		f, err = os.OpenFile(path, os.O_RDWR, 0)
	}
	if err != nil {
		// The new log is in place but this process cannot continue from it safely.
		l.broken = fmt.Errorf("the compacted log is installed but could not be reopened: %w", err)
		return fmt.Errorf("hostsvc: %w", l.broken)
	}
	_ = l.f.Close()
	l.f, l.size = f, int64(len(image))
	return nil
}

// Blob returns the KMS data key blob, or an error wrapping fs.ErrNotExist if none was saved.
func (l *FileLog) Blob() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(false); err != nil {
		return nil, err
	}
	path := filepath.Join(l.dir, blobFileName)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hostsvc: KMS data key blob: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxBlob+1))
	if err != nil {
		return nil, fmt.Errorf("hostsvc: read %s: %w", path, err)
	}
	if _, err := DecodeBlob(b); err != nil {
		return nil, fmt.Errorf("hostsvc: %s: %w", path, err)
	}
	return b, nil
}

// PublishBlob saves blob unless a blob is already saved, and reports whether it saved this one.
// The blob is written whole (temporary file, fsync, link, directory fsync) or not at all, and
// an existing blob is never replaced: the enclave may already be using its key.
func (l *FileLog) PublishBlob(blob []byte) (bool, error) {
	if _, err := DecodeBlob(blob); err != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(true); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(l.dir, "."+blobFileName+".tmp-*")
	if err != nil {
		return false, fmt.Errorf("hostsvc: save the KMS data key blob: %w", err)
	}
	defer os.Remove(tmp.Name())
	_ = tmp.Close()
	if err := writeSynced(tmp.Name(), blob, os.O_TRUNC); err != nil {
		return false, fmt.Errorf("hostsvc: save the KMS data key blob: %w", err)
	}
	if err := os.Link(tmp.Name(), filepath.Join(l.dir, blobFileName)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("hostsvc: save the KMS data key blob: %w", err)
	}
	if err := durable.SyncDir(l.dir); err != nil {
		return false, fmt.Errorf("hostsvc: KMS data key blob saved but not yet durable: %w", err)
	}
	return true, nil
}

// Close releases the log and its directory.
func (l *FileLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return errors.Join(l.f.Close(), l.release())
}

// writeSynced writes data to path (mode 0600) and fsyncs it.
func writeSynced(path string, data []byte, flag int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|flag, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
