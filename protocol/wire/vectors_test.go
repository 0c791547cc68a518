package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// equateEmpty treats nil and empty slices alike: decoders return nil for an empty field, and
// a caller may well have built the value with []byte{}. Byte slices are compared whole with
// bytes.Equal (which agrees on that), because element-wise diffing of a 1 MiB payload is slow.
var equateEmpty = cmp.Options{
	cmp.Comparer(bytes.Equal),
	cmp.FilterPath(func(p cmp.Path) bool { return p.Last().Type() != reflect.TypeFor[[]byte]() }, cmpopts.EquateEmpty()),
}

// hexBytes is a JSON string of hex digits, spaces allowed between fields.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	*h = d
	return err
}

// vectors mirrors testdata/vectors.json.
type vectors struct {
	Frames []struct {
		Name string
		Type FrameType
		Body hexBytes
		Hex  hexBytes
	}
	Requests []struct {
		Name   string
		ID     uint64
		Method string
		Body   hexBytes
		Hex    hexBytes
	}
	Responses []struct {
		Name  string
		ID    uint64
		Body  hexBytes
		Error *struct {
			Code     string
			Message  string
			Culprits []protocol.PartyID
		}
		Hex hexBytes
	}
	Relays []struct {
		Name     string
		From, To protocol.PartyID
		Data     hexBytes
		Hex      hexBytes
	}
	Envelopes []struct {
		Name      string
		Kind      EnvelopeKind
		Session   string
		Round     uint16
		From, To  protocol.PartyID
		Broadcast bool
		Payload   hexBytes
		Hex       hexBytes
	}
}

func loadVectors(tb testing.TB) *vectors {
	tb.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v vectors
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("testdata/vectors.json: %v", err)
	}
	return &v
}

// hx decodes hex written with spaces between fields, for readable test inputs.
func hx(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatalf("bad hex in test: %v", err)
	}
	return b
}

func TestGoldenFrames(t *testing.T) {
	for _, v := range loadVectors(t).Frames {
		t.Run(v.Name, func(t *testing.T) {
			want := Frame{Type: v.Type, Body: v.Body}
			var buf bytes.Buffer
			if err := WriteFrame(&buf, want); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), v.Hex) {
				t.Errorf("WriteFrame = %x, want %x", buf.Bytes(), []byte(v.Hex))
			}
			got, err := ReadFrame(bytes.NewReader(v.Hex), MaxFrameBody)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
				t.Errorf("ReadFrame (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGoldenRequests(t *testing.T) {
	for _, v := range loadVectors(t).Requests {
		t.Run(v.Name, func(t *testing.T) {
			want := &Request{ID: v.ID, Method: v.Method, Body: v.Body}
			if got := want.Encode(); !bytes.Equal(got, v.Hex) {
				t.Errorf("Encode = %x, want %x", got, []byte(v.Hex))
			}
			got, err := DecodeRequest(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
				t.Errorf("DecodeRequest (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGoldenResponses(t *testing.T) {
	for _, v := range loadVectors(t).Responses {
		t.Run(v.Name, func(t *testing.T) {
			want := &Response{ID: v.ID, Body: v.Body}
			if v.Error != nil {
				want.Err = &RemoteError{Code: v.Error.Code, Message: v.Error.Message, Culprits: v.Error.Culprits}
			}
			if got := want.Encode(); !bytes.Equal(got, v.Hex) {
				t.Errorf("Encode = %x, want %x", got, []byte(v.Hex))
			}
			got, err := DecodeResponse(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
				t.Errorf("DecodeResponse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGoldenRelays(t *testing.T) {
	for _, v := range loadVectors(t).Relays {
		t.Run(v.Name, func(t *testing.T) {
			want := &Relay{From: v.From, To: v.To, Data: v.Data}
			if got := want.Encode(); !bytes.Equal(got, v.Hex) {
				t.Errorf("Encode = %x, want %x", got, []byte(v.Hex))
			}
			got, err := DecodeRelay(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
				t.Errorf("DecodeRelay (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGoldenEnvelopes(t *testing.T) {
	for _, v := range loadVectors(t).Envelopes {
		t.Run(v.Name, func(t *testing.T) {
			session, err := ParseSessionID(v.Session)
			if err != nil {
				t.Fatal(err)
			}
			want := &Envelope{Kind: v.Kind, Session: session, Round: v.Round, From: v.From, To: v.To,
				Broadcast: v.Broadcast, Payload: v.Payload}
			enc, err := want.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, v.Hex) {
				t.Errorf("Encode = %x, want %x", enc, []byte(v.Hex))
			}
			got, err := DecodeEnvelope(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
				t.Errorf("DecodeEnvelope (-want +got):\n%s", diff)
			}
		})
	}
}
