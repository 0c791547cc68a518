package hostsvc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"

	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// Limits. The enclave's store keeps its own limits below these (a test in package enclave
// checks that they line up), so everything it writes can be read back.
const (
	// MaxEntryBody is the largest sealed body of one log entry (a record or a snapshot).
	MaxEntryBody = 384 << 20
	// MaxImageSize is the largest log image, magic and every entry included.
	MaxImageSize = 1 << 30
	// MaxChunk is the most bytes of an entry or of the image one frame carries; with its
	// header it stays under wire.MaxFrameBody.
	MaxChunk = 768 << 10
	// MaxBlob is the largest KMS data key blob (KMS's own CiphertextBlob limit).
	MaxBlob = 6144
)

// ImageMagic starts every log image; its last byte is the format version.
const ImageMagic = "MPCSLOG\x01"

// EntryKind says what an entry's body is.
type EntryKind uint8

// Entry kinds.
const (
	// EntrySnapshot is a sealed snapshot of the whole store as of its seq; it replaces every
	// entry before it.
	EntrySnapshot EntryKind = 1
	// EntryRecord is one sealed committed batch.
	EntryRecord EntryKind = 2
)

func (k EntryKind) String() string {
	switch k {
	case EntrySnapshot:
		return "snapshot"
	case EntryRecord:
		return "record"
	}
	return "EntryKind(" + strconv.Itoa(int(k)) + ")"
}

// entryHeaderLen is kind, seq and len; entryTrailerLen is the CRC.
const (
	entryHeaderLen  = 1 + 8 + 4
	entryTrailerLen = 4
	// EntryOverhead is what an entry adds to its body in the image.
	EntryOverhead = entryHeaderLen + entryTrailerLen
)

// Entry is one entry of a log image.
type Entry struct {
	Kind EntryKind
	Seq  uint64
	Body []byte
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendEntry appends e's encoding to dst. It does not check e; the log and the client check
// what they write before they call it.
func AppendEntry(dst []byte, e Entry) []byte {
	start := len(dst)
	dst = append(dst, byte(e.Kind))
	dst = binary.BigEndian.AppendUint64(dst, e.Seq)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(e.Body)))
	dst = append(dst, e.Body...)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// errTorn marks an entry cut short by the end of the input, or whose CRC does not match: what
// a crash during an append leaves at the end of a file.
var errTorn = errors.New("entry torn or damaged")

// errShort marks an entry that runs past the end of the input: torn, and certainly the last.
var errShort = fmt.Errorf("entry runs past the end: %w", errTorn)

// readEntry reads one entry from r, which holds remaining more bytes. At a clean end of input
// it returns io.EOF; an entry cut short or failing its CRC wraps errTorn; anything else that
// is wrong wraps wire.ErrMalformed. It allocates a body only once remaining shows it is there.
func readEntry(r io.Reader, remaining int64) (Entry, error) {
	var hdr [entryHeaderLen]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return Entry{}, io.EOF
		}
		return Entry{}, fmt.Errorf("entry header: %d of %d bytes: %w", n, entryHeaderLen, errShort)
	}
	e, n, err := decodeHeader(hdr[:])
	if err != nil {
		return Entry{}, err
	}
	if int64(entryHeaderLen+n+entryTrailerLen) > remaining {
		return Entry{}, fmt.Errorf("%s %d: %d of %d bytes: %w", e.Kind, e.Seq, remaining, entryHeaderLen+n+entryTrailerLen, errShort)
	}
	rest := make([]byte, n+entryTrailerLen)
	if got, err := io.ReadFull(r, rest); err != nil {
		return Entry{}, fmt.Errorf("%s %d: %d of %d bytes: %w", e.Kind, e.Seq, entryHeaderLen+got, entryHeaderLen+len(rest), errTorn)
	}
	e.Body = rest[:n:n]
	return e, checkCRC(e, hdr[:], rest[n:])
}

// parseEntry decodes the entry at the start of b and returns it (its body aliasing b) with the
// bytes after it. Errors are as readEntry's.
func parseEntry(b []byte) (Entry, []byte, error) {
	if len(b) < entryHeaderLen {
		return Entry{}, nil, fmt.Errorf("entry header: %d of %d bytes: %w", len(b), entryHeaderLen, errTorn)
	}
	hdr := b[:entryHeaderLen]
	e, n, err := decodeHeader(hdr)
	if err != nil {
		return Entry{}, nil, err
	}
	rest := b[entryHeaderLen:]
	if len(rest) < n+entryTrailerLen {
		return Entry{}, nil, fmt.Errorf("%s %d: %d of %d bytes: %w", e.Kind, e.Seq, len(b), entryHeaderLen+n+entryTrailerLen, errTorn)
	}
	e.Body = rest[:n:n]
	return e, rest[n+entryTrailerLen:], checkCRC(e, hdr, rest[n:n+entryTrailerLen])
}

// decodeHeader checks an entry header and returns the entry (without its body) and the body's
// length.
func decodeHeader(hdr []byte) (Entry, int, error) {
	e := Entry{Kind: EntryKind(hdr[0]), Seq: binary.BigEndian.Uint64(hdr[1:9])}
	n := binary.BigEndian.Uint32(hdr[9:13])
	if e.Kind != EntrySnapshot && e.Kind != EntryRecord {
		return Entry{}, 0, malformed("entry kind %d is neither a snapshot (1) nor a record (2)", hdr[0])
	}
	if n == 0 || n > MaxEntryBody {
		return Entry{}, 0, malformed("%s %d has a %d-byte body, want 1 to %d", e.Kind, e.Seq, n, MaxEntryBody)
	}
	return e, int(n), nil
}

// checkCRC compares an entry's CRC field with the CRC of its header and body.
func checkCRC(e Entry, hdr, field []byte) error {
	sum := crc32.Update(crc32.Checksum(hdr, castagnoli), castagnoli, e.Body)
	if binary.BigEndian.Uint32(field) != sum {
		return fmt.Errorf("%s %d: CRC mismatch: %w", e.Kind, e.Seq, errTorn)
	}
	return nil
}

// sequence checks that entries follow each other: only the first may be a snapshot, and
// sequence numbers start at 1 (or at the snapshot's) and go up by one.
type sequence struct {
	last    uint64
	entries int
}

func (s *sequence) next(e Entry) error {
	switch {
	case e.Kind == EntrySnapshot && s.entries > 0:
		return malformed("snapshot %d is entry %d: only the first entry may be a snapshot", e.Seq, s.entries+1)
	case e.Kind == EntrySnapshot && e.Seq == 0:
		return malformed("snapshot at sequence number 0, want 1 or more")
	case e.Kind == EntryRecord && e.Seq != s.last+1:
		return malformed("record %d follows entry %d: sequence numbers must go up by one", e.Seq, s.last)
	}
	s.last = e.Seq
	s.entries++
	return nil
}

// ParseImage decodes a whole log image, as an enclave does after reading it from its host:
// strictly, refusing a torn or damaged entry anywhere (an honest host cuts a torn tail off
// before it serves the log), entries out of sequence, and trailing bytes. The entries' bodies
// alias b.
func ParseImage(b []byte) ([]Entry, error) {
	if len(b) > MaxImageSize {
		return nil, malformed("log image of %d bytes exceeds the %d-byte limit", len(b), MaxImageSize)
	}
	if !bytes.HasPrefix(b, []byte(ImageMagic)) {
		return nil, malformed("log image does not start with %q", ImageMagic)
	}
	rest := b[len(ImageMagic):]
	var seq sequence
	var out []Entry
	for len(rest) > 0 {
		off := len(b) - len(rest)
		e, next, err := parseEntry(rest)
		if err != nil {
			if errors.Is(err, errTorn) {
				err = fmt.Errorf("%w (%w)", err, wire.ErrMalformed)
			}
			return nil, fmt.Errorf("log image at byte %d: %w", off, err)
		}
		if err := seq.next(e); err != nil {
			return nil, fmt.Errorf("log image at byte %d: %w", off, err)
		}
		out = append(out, e)
		rest = next
	}
	return out, nil
}

// EncodeImage is ParseImage's inverse: the image holding entries, in order.
func EncodeImage(entries []Entry) []byte {
	out := []byte(ImageMagic)
	for _, e := range entries {
		out = AppendEntry(out, e)
	}
	return out
}

// malformed reports bytes that do not decode, saying why.
func malformed(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, wire.ErrMalformed)...)
}
