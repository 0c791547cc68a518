package wire

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func TestFrameRoundTrip(t *testing.T) {
	frames := []Frame{
		{Type: FrameRequest, Body: []byte("hello")},
		{Type: FrameResponse},
		{Type: FrameRelay, Body: bytes.Repeat([]byte{0x5a}, MaxFrameBody)},
	}
	var buf bytes.Buffer
	for _, f := range frames {
		if err := WriteFrame(&buf, f); err != nil {
			t.Fatal(err)
		}
	}
	// Reads of half what was asked, so many read boundaries inside frames are exercised.
	r := iotest.HalfReader(&buf)
	for i, want := range frames {
		got, err := ReadFrame(r, MaxFrameBody)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
			t.Errorf("frame %d (-want +got):\n%s", i, diff)
		}
	}
	if _, err := ReadFrame(r, MaxFrameBody); err != io.EOF {
		t.Errorf("after the last frame: got %v, want io.EOF exactly", err)
	}
}

// writeCounter counts Write calls.
type writeCounter struct {
	bytes.Buffer
	calls int
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.calls++
	return w.Buffer.Write(p)
}

func TestWriteFrameIsOneWrite(t *testing.T) {
	var w writeCounter
	if err := WriteFrame(&w, Frame{Type: FrameRelay, Body: make([]byte, 1000)}); err != nil {
		t.Fatal(err)
	}
	if w.calls != 1 || w.Len() != 1005 {
		t.Errorf("WriteFrame made %d Write calls of %d bytes in all; want 1 call of 1005", w.calls, w.Len())
	}
}

func TestWriteFrameRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		f    Frame
		want error
	}{
		{"type 0", Frame{Type: 0}, ErrUnknownFrameType},
		{"type 4", Frame{Type: 4, Body: []byte{1}}, ErrUnknownFrameType},
		{"oversized", Frame{Type: FrameRelay, Body: make([]byte, MaxFrameBody+1)}, ErrFrameTooLarge},
	} {
		var w writeCounter
		err := WriteFrame(&w, c.f)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want an error wrapping %v", c.name, err, c.want)
		}
		if w.calls != 0 {
			t.Errorf("%s: wrote %d bytes of a refused frame", c.name, w.Len())
		}
	}
}

func TestWriteFrameWriterError(t *testing.T) {
	boom := errors.New("boom")
	err := WriteFrame(errWriter{boom}, Frame{Type: FrameRequest})
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want the writer's error", err)
	}
	err = WriteFrame(shortWriter{}, Frame{Type: FrameRequest, Body: []byte{1}})
	if !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("short write: got %v, want io.ErrShortWrite", err)
	}
}

// shortWriter accepts one byte less than offered and says nothing, as a broken writer might.
type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return max(len(p)-1, 0), nil }

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

func TestReadFrameErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		in      string // hex
		maxBody int
		want    error
	}{
		{"truncated header: 1 byte", "00", MaxFrameBody, ErrTruncated},
		{"truncated header: 3 bytes", "000000", MaxFrameBody, ErrTruncated},
		{"truncated: length but no type", "00000002", MaxFrameBody, ErrTruncated},
		{"truncated body", "00000004 01 aabb", MaxFrameBody, ErrTruncated},
		{"truncated wraps io.ErrUnexpectedEOF", "00000004 01 aabb", MaxFrameBody, io.ErrUnexpectedEOF},
		{"zero length", "00000000 01", MaxFrameBody, ErrMalformed},
		{"oversized", "00100002 01", MaxFrameBody, ErrFrameTooLarge},
		{"oversized for a small limit", "0000000b 01 00000000000000000000", 9, ErrFrameTooLarge},
		{"negative limit allows only empty bodies", "00000002 01 00", -1, ErrFrameTooLarge},
		{"unknown type 0", "00000001 00", MaxFrameBody, ErrUnknownFrameType},
		{"unknown type 4", "00000002 04 00", MaxFrameBody, ErrUnknownFrameType},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadFrame(bytes.NewReader(hx(t, c.in)), c.maxBody)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want an error wrapping %v", err, c.want)
			}
			if err == io.EOF || errors.Is(err, io.EOF) {
				t.Fatalf("got %v, which a caller would take for a clean end", err)
			}
		})
	}
}

func TestReadFrameCleanEOF(t *testing.T) {
	_, err := ReadFrame(bytes.NewReader(nil), MaxFrameBody)
	if err != io.EOF {
		t.Errorf("empty stream: got %v, want io.EOF exactly", err)
	}
}

func TestReadFramePassesReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	_, err := ReadFrame(iotest.ErrReader(boom), MaxFrameBody)
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want the reader's error", err)
	}
}

// hugeHeader yields a frame header claiming a 4 GiB body, then fails the test if anyone
// reads further: ReadFrame must refuse before reading, let alone allocating, the body.
type hugeHeader struct {
	tb   testing.TB
	sent bool
}

func (h *hugeHeader) Read(p []byte) (int, error) {
	if h.sent {
		h.tb.Error("ReadFrame read past the length of an oversized frame")
		return 0, io.EOF
	}
	h.sent = true
	return copy(p, []byte{0xff, 0xff, 0xff, 0xff}), nil
}

func TestReadFrameOversizedDoesNotAllocate(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadFrame(&hugeHeader{tb: t}, MaxFrameBody)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("got %v, want ErrFrameTooLarge", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
		t.Errorf("refusing an oversized frame allocated %d bytes", grew)
	}
}
