package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/protocol"
)

func TestRequestRoundTrip(t *testing.T) {
	for _, r := range []*Request{
		{ID: 0, Method: "a"},
		{ID: 1, Method: "keygen.start", Body: []byte("{}")},
		{ID: 1<<64 - 1, Method: strings.Repeat("z", MaxMethodLen), Body: bytes.Repeat([]byte{0}, 1000)},
		{ID: 42, Method: "0123456789._-abcdefghijklmnopqrstuvwxyz", Body: []byte{}},
	} {
		got, err := DecodeRequest(r.Encode())
		if err != nil {
			t.Fatalf("DecodeRequest(Encode(%+v)): %v", r, err)
		}
		if diff := cmp.Diff(r, got, equateEmpty); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestResponseRoundTrip(t *testing.T) {
	for _, r := range []*Response{
		{ID: 1},
		{ID: 2, Body: []byte("result")},
		{ID: 3, Err: &RemoteError{Code: "x"}},
		{ID: 4, Err: &RemoteError{Code: "not_found", Message: "no key «k1»"}, Body: []byte{1, 2}},
		{ID: 5, Err: &RemoteError{
			Code:     strings.Repeat("a", MaxCodeLen),
			Message:  strings.Repeat("é", MaxMessageLen/2),
			Culprits: culprits(MaxCulprits),
		}},
	} {
		got, err := DecodeResponse(r.Encode())
		if err != nil {
			t.Fatalf("DecodeResponse(Encode(%+v)): %v", r, err)
		}
		if diff := cmp.Diff(r, got, equateEmpty); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestRelayRoundTrip(t *testing.T) {
	for _, r := range []*Relay{
		{From: 1, To: 2, Data: []byte{0}},
		{From: 65535, To: 1, Data: bytes.Repeat([]byte{0xab}, MaxRelayData)},
	} {
		got, err := DecodeRelay(r.Encode())
		if err != nil {
			t.Fatalf("DecodeRelay(Encode(from %d to %d)): %v", r.From, r.To, err)
		}
		if diff := cmp.Diff(r, got, equateEmpty); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	session := SessionID{0: 0xde, 15: 0xad}
	for _, e := range []*Envelope{
		{Kind: KindProtocol, Session: session, Round: 1, From: 1, To: 2},
		{Kind: KindProtocol, Session: session, Round: 65535, From: 3, To: 2, Broadcast: true, Payload: []byte("p")},
		{Kind: KindProtocol, From: 1, To: 65535, Payload: bytes.Repeat([]byte{7}, MaxPayload)},
		{Kind: KindAbort, Session: session, From: 2, To: 1, Payload: []byte("peer 3 sent garbage")},
		{Kind: KindAbort, Session: session, From: 2, To: 1, Broadcast: true, Payload: []byte(strings.Repeat("€", MaxAbortReason/3))},
	} {
		enc, err := e.Encode()
		if err != nil {
			t.Fatalf("Encode(%v from %d to %d): %v", e.Kind, e.From, e.To, err)
		}
		got, err := DecodeEnvelope(enc)
		if err != nil {
			t.Fatalf("DecodeEnvelope(Encode(%v from %d to %d)): %v", e.Kind, e.From, e.To, err)
		}
		if diff := cmp.Diff(e, got, equateEmpty); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

// TestDecodeDoesNotAlias checks that decoded values own their bytes: the caller's buffer may
// be reused for the next frame.
func TestDecodeDoesNotAlias(t *testing.T) {
	b := (&Request{ID: 1, Method: "m", Body: []byte("body")}).Encode()
	r, err := DecodeRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if string(r.Body) != "body" {
		t.Errorf("request body changed with the input buffer: %q", r.Body)
	}
}

// culprits returns parties 1..n.
func culprits(n int) []protocol.PartyID {
	out := make([]protocol.PartyID, n)
	for i := range out {
		out[i] = protocol.PartyID(i + 1)
	}
	return out
}

// decodeCase is one input a decoder must refuse, and the sentinel it must refuse it with.
type decodeCase struct {
	name string
	in   []byte
	want error
}

func runDecodeCases(t *testing.T, decode func([]byte) error, cases []decodeCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := decode(c.in)
			if !errors.Is(err, c.want) {
				t.Fatalf("decoding %x: got %v, want an error wrapping %v", c.in, err, c.want)
			}
			t.Log(err)
		})
	}
}

func TestDecodeRequestMalformed(t *testing.T) {
	runDecodeCases(t, func(b []byte) error { _, err := DecodeRequest(b); return err }, []decodeCase{
		{"empty", nil, ErrMalformed},
		{"truncated header", hx(t, "00000000000000"), ErrMalformed},
		{"no method length", hx(t, "0000000000000001"), ErrMalformed},
		{"zero method length", hx(t, "0000000000000001 00"), ErrMalformed},
		{"method length past end", hx(t, "0000000000000001 05 61626364"), ErrMalformed},
		{"method too long", append(hx(t, "0000000000000001 41"), strings.Repeat("a", 65)...), ErrMalformed},
		{"bad method chars: uppercase", hx(t, "0000000000000001 04 5369676e"), ErrMalformed},
		{"bad method chars: slash", hx(t, "0000000000000001 03 612f62"), ErrMalformed},
		{"bad method chars: space", hx(t, "0000000000000001 03 612062"), ErrMalformed},
		{"bad method chars: NUL", hx(t, "0000000000000001 01 00"), ErrMalformed},
		{"bad method chars: high byte", hx(t, "0000000000000001 02 c3a9"), ErrMalformed},
	})
}

func TestDecodeResponseMalformed(t *testing.T) {
	longMsg := append(hx(t, "0000000000000001 01 01 65 1001"), bytes.Repeat([]byte{'a'}, 4097)...)
	longMsg = append(longMsg, 0)
	tooManyCulprits := append(hx(t, "0000000000000001 01 01 65 0000 41"), bytes.Repeat([]byte{0, 1}, 65)...)
	runDecodeCases(t, func(b []byte) error { _, err := DecodeResponse(b); return err }, []decodeCase{
		{"empty", nil, ErrMalformed},
		{"truncated header", hx(t, "0000000000000001"), ErrMalformed},
		{"unknown status", hx(t, "0000000000000001 02"), ErrMalformed},
		{"unknown status 255", hx(t, "0000000000000001 ff 6f6b"), ErrMalformed},
		{"error without code", hx(t, "0000000000000001 01"), ErrMalformed},
		{"zero code length", hx(t, "0000000000000001 01 00 0000 00"), ErrMalformed},
		{"code too long", append(hx(t, "0000000000000001 01 41"), strings.Repeat("a", 65)...), ErrMalformed},
		{"bad code chars: dot", hx(t, "0000000000000001 01 03 612e62 0000 00"), ErrMalformed},
		{"bad code chars: uppercase", hx(t, "0000000000000001 01 01 41 0000 00"), ErrMalformed},
		{"code past end", hx(t, "0000000000000001 01 05 6161"), ErrMalformed},
		{"message length missing", hx(t, "0000000000000001 01 01 65 00"), ErrMalformed},
		{"message past end", hx(t, "0000000000000001 01 01 65 0005 6161 00"), ErrMalformed},
		{"oversized message", longMsg, ErrFrameTooLarge},
		{"oversized message is malformed", longMsg, ErrMalformed},
		{"bad UTF-8 message", hx(t, "0000000000000001 01 01 65 0002 c328 00"), ErrMalformed},
		{"bad UTF-8 message: lone continuation", hx(t, "0000000000000001 01 01 65 0001 80 00"), ErrMalformed},
		{"culprit count missing", hx(t, "0000000000000001 01 01 65 0000"), ErrMalformed},
		{"too many culprits", tooManyCulprits, ErrMalformed},
		{"culprits past end", hx(t, "0000000000000001 01 01 65 0000 02 0001"), ErrMalformed},
		{"culprit zero", hx(t, "0000000000000001 01 01 65 0000 01 0000"), ErrMalformed},
	})
}

func TestDecodeRelayMalformed(t *testing.T) {
	huge := hx(t, "0001 0002 00100000")
	huge = append(huge, make([]byte, 1<<20)...)
	runDecodeCases(t, func(b []byte) error { _, err := DecodeRelay(b); return err }, []decodeCase{
		{"empty", nil, ErrMalformed},
		{"truncated header", hx(t, "0001 0002 000000"), ErrMalformed},
		{"from zero", hx(t, "0000 0002 00000001 aa"), ErrMalformed},
		{"to zero", hx(t, "0001 0000 00000001 aa"), ErrMalformed},
		{"zero length", hx(t, "0001 0002 00000000"), ErrMalformed},
		{"length mismatch: short", hx(t, "0001 0002 00000002 aa"), ErrMalformed},
		{"trailing byte", hx(t, "0001 0002 00000001 aa bb"), ErrMalformed},
		{"oversized", huge, ErrFrameTooLarge},
		{"oversized length, no data", hx(t, "0001 0002 ffffffff"), ErrFrameTooLarge},
	})
}

func TestDecodeEnvelopeMalformed(t *testing.T) {
	const session = "000102030405060708090a0b0c0d0e0f"
	// env builds an envelope from its fields in hex, so each case changes one thing.
	env := func(version, kind, flags, from, to, length, payload string) []byte {
		return hx(t, version+kind+flags+session+"0003"+from+to+length+payload)
	}
	oversized := env("01", "01", "00", "0001", "0002", "000fff01", "")
	oversized = append(oversized, make([]byte, MaxPayload+1)...)
	longReason := env("01", "02", "00", "0001", "0002", "00000401", "")
	longReason = append(longReason, bytes.Repeat([]byte{'a'}, MaxAbortReason+1)...)
	if _, err := DecodeEnvelope(env("01", "01", "00", "0001", "0002", "00000001", "aa")); err != nil {
		t.Fatalf("the base case must decode: %v", err)
	}
	runDecodeCases(t, func(b []byte) error { _, err := DecodeEnvelope(b); return err }, []decodeCase{
		{"empty", nil, ErrMalformed},
		{"truncated header", env("01", "01", "00", "0001", "0002", "000000", ""), ErrMalformed},
		{"bad version 0", env("00", "01", "00", "0001", "0002", "00000001", "aa"), ErrMalformed},
		{"bad version 2", env("02", "01", "00", "0001", "0002", "00000001", "aa"), ErrMalformed},
		{"bad kind 0", env("01", "00", "00", "0001", "0002", "00000001", "aa"), ErrMalformed},
		{"bad kind 3", env("01", "03", "00", "0001", "0002", "00000001", "aa"), ErrMalformed},
		{"bad flags bit 1", env("01", "01", "02", "0001", "0002", "00000001", "aa"), ErrMalformed},
		{"bad flags bit 7 with broadcast", env("01", "01", "81", "0001", "0002", "00000001", "aa"), ErrMalformed},
		{"from zero", env("01", "01", "00", "0000", "0002", "00000001", "aa"), ErrMalformed},
		{"to zero", env("01", "01", "00", "0001", "0000", "00000001", "aa"), ErrMalformed},
		{"from==to", env("01", "01", "00", "0002", "0002", "00000001", "aa"), ErrMalformed},
		{"length mismatch: short", env("01", "01", "00", "0001", "0002", "00000002", "aa"), ErrMalformed},
		{"trailing byte", env("01", "01", "00", "0001", "0002", "00000001", "aabb"), ErrMalformed},
		{"oversized", oversized, ErrFrameTooLarge},
		{"oversized length, no payload", env("01", "01", "00", "0001", "0002", "ffffffff", ""), ErrFrameTooLarge},
		{"abort reason too long", longReason, ErrMalformed},
		{"abort reason bad UTF-8", env("01", "02", "00", "0001", "0002", "00000002", "c328"), ErrMalformed},
	})
}

// TestEncodeRefusesInvalid checks that an invalid value is never encoded as something that
// decodes: Encode returns nil (or an error), and Validate says why.
func TestEncodeRefusesInvalid(t *testing.T) {
	for name, v := range map[string]interface {
		Validate() error
		Encode() []byte
	}{
		"request with empty method":     &Request{ID: 1},
		"request with uppercase method": &Request{ID: 1, Method: "Sign"},
		"request with 256-byte method":  &Request{ID: 1, Method: strings.Repeat("a", 256)},
		"nil request":                   (*Request)(nil),
		"response with empty code":      &Response{ID: 1, Err: &RemoteError{}},
		"response with bad UTF-8":       &Response{ID: 1, Err: &RemoteError{Code: "c", Message: "\xff"}},
		"response with 65536-byte msg":  &Response{ID: 1, Err: &RemoteError{Code: "c", Message: strings.Repeat("a", 65536)}},
		"response with culprit zero":    &Response{ID: 1, Err: &RemoteError{Code: "c", Culprits: []protocol.PartyID{0}}},
		"response with 256 culprits":    &Response{ID: 1, Err: &RemoteError{Code: "c", Culprits: culprits(256)}},
		"nil response":                  (*Response)(nil),
		"relay from zero":               &Relay{To: 1, Data: []byte{1}},
		"relay with no data":            &Relay{From: 1, To: 2},
		"relay with too much data":      &Relay{From: 1, To: 2, Data: make([]byte, MaxRelayData+1)},
		"nil relay":                     (*Relay)(nil),
	} {
		if v.Validate() == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
		if b := v.Encode(); b != nil {
			t.Errorf("%s: Encode = %x, want nil", name, b)
		}
	}
}

func TestEnvelopeEncodeRefusesInvalid(t *testing.T) {
	for _, c := range []struct {
		name string
		e    *Envelope
		want error
	}{
		{"nil", nil, ErrMalformed},
		{"kind zero", &Envelope{From: 1, To: 2}, ErrMalformed},
		{"from zero", &Envelope{Kind: KindProtocol, To: 2}, ErrMalformed},
		{"to zero", &Envelope{Kind: KindProtocol, From: 1}, ErrMalformed},
		{"from==to", &Envelope{Kind: KindProtocol, From: 1, To: 1}, ErrMalformed},
		{"oversized", &Envelope{Kind: KindProtocol, From: 1, To: 2, Payload: make([]byte, MaxPayload+1)}, ErrFrameTooLarge},
		{"abort reason too long", &Envelope{Kind: KindAbort, From: 1, To: 2, Payload: make([]byte, MaxAbortReason+1)}, ErrFrameTooLarge},
		{"abort reason bad UTF-8", &Envelope{Kind: KindAbort, From: 1, To: 2, Payload: []byte{0xff}}, ErrMalformed},
	} {
		b, err := c.e.Encode()
		if !errors.Is(err, c.want) || b != nil {
			t.Errorf("%s: Encode = %x, %v; want nil, an error wrapping %v", c.name, b, err, c.want)
		}
	}
}

func TestRemoteErrorString(t *testing.T) {
	for _, c := range []struct {
		e    *RemoteError
		want string
	}{
		{&RemoteError{Code: "protocol", Message: "sign failed", Culprits: []protocol.PartyID{2}}, "protocol: sign failed (culprits: party 2)"},
		{&RemoteError{Code: "protocol", Message: "sign failed", Culprits: []protocol.PartyID{2, 3}}, "protocol: sign failed (culprits: party 2, party 3)"},
		{&RemoteError{Code: "busy", Message: "try later"}, "busy: try later"},
		{&RemoteError{Code: "busy"}, "busy"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
	var err error = &RemoteError{Code: "x"}
	var re *RemoteError
	if !errors.As(err, &re) {
		t.Error("*RemoteError is not usable with errors.As")
	}
}

func TestSessionID(t *testing.T) {
	id := SessionID{0: 0x01, 1: 0xab, 15: 0xff}
	s := id.String()
	if s != "01ab00000000000000000000000000ff" {
		t.Errorf("String() = %q", s)
	}
	back, err := ParseSessionID(s)
	if err != nil || back != id {
		t.Errorf("ParseSessionID(%q) = %v, %v; want %v", s, back, err, id)
	}
	for _, bad := range []string{
		"",
		"01ab00000000000000000000000000f",   // 31 digits
		"01ab00000000000000000000000000fff", // 33 digits
		"01AB00000000000000000000000000FF",  // uppercase
		"01ab0000000000000000000000000 ff",  // space
		"0xab00000000000000000000000000ff",  // prefix
	} {
		if _, err := ParseSessionID(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseSessionID(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{FrameRequest.String(), "request"},
		{FrameResponse.String(), "response"},
		{FrameRelay.String(), "relay"},
		{FrameType(9).String(), "FrameType(9)"},
		{KindProtocol.String(), "protocol"},
		{KindAbort.String(), "abort"},
		{EnvelopeKind(0).String(), "EnvelopeKind(0)"},
	} {
		if c.got != c.want {
			t.Errorf("String() = %q, want %q", c.got, c.want)
		}
	}
}
