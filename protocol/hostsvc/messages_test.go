package hostsvc

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

func TestReadMessages(t *testing.T) {
	req := ReadRequest{Offset: 5, Max: 10}
	got, err := DecodeReadRequest(req.Encode())
	if err != nil || got != req {
		t.Fatalf("DecodeReadRequest(Encode(%+v)) = %+v, %v", req, got, err)
	}
	for name, b := range map[string][]byte{
		"short":     req.Encode()[:11],
		"long":      append(req.Encode(), 0),
		"max 0":     ReadRequest{Max: 0}.Encode(),
		"max large": ReadRequest{Max: MaxChunk + 1}.Encode(),
	} {
		if _, err := DecodeReadRequest(b); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("%s: DecodeReadRequest = %v, want ErrMalformed", name, err)
		}
	}

	cases := []struct {
		name string
		req  ReadRequest
		rep  ReadReply
		ok   bool
	}{
		{"whole", ReadRequest{0, 10}, ReadReply{Size: 4, Data: []byte("abcd")}, true},
		{"middle", ReadRequest{1, 2}, ReadReply{Size: 4, Data: []byte("bc")}, true},
		{"at the end", ReadRequest{4, 2}, ReadReply{Size: 4, Data: nil}, true},
		{"too little", ReadRequest{0, 10}, ReadReply{Size: 4, Data: []byte("abc")}, false},
		{"too much", ReadRequest{0, 2}, ReadReply{Size: 4, Data: []byte("abc")}, false},
		{"past the end", ReadRequest{5, 2}, ReadReply{Size: 4}, false},
		{"huge image", ReadRequest{0, 2}, ReadReply{Size: MaxImageSize + 1, Data: []byte("ab")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeReadReply(tc.rep.Encode(), tc.req)
			if tc.ok != (err == nil) {
				t.Fatalf("DecodeReadReply = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if err == nil && (got.Size != tc.rep.Size || !bytes.Equal(got.Data, tc.rep.Data)) {
				t.Fatalf("got %+v, want %+v", got, tc.rep)
			}
		})
	}
	if _, err := DecodeReadReply([]byte{1, 2, 3}, req); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("3-byte reply: %v", err)
	}
}

func TestChunks(t *testing.T) {
	body := bytes.Repeat([]byte{7}, 2*MaxChunk+5)
	cs := chunks(9, body)
	if len(cs) != 3 {
		t.Fatalf("%d chunks, want 3", len(cs))
	}
	var joined []byte
	for i, c := range cs {
		got, err := DecodeChunk(c.Encode())
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if got.Seq != 9 || got.Total != uint32(len(body)) || int(got.Offset) != len(joined) {
			t.Fatalf("chunk %d: %+v", i, got)
		}
		if got.Last() != (i == 2) {
			t.Fatalf("chunk %d: Last = %v", i, got.Last())
		}
		joined = append(joined, got.Data...)
	}
	if !bytes.Equal(joined, body) {
		t.Fatal("chunks do not join to the body")
	}
	for name, c := range map[string]Chunk{
		"seq 0":        {Seq: 0, Total: 1, Data: []byte("x")},
		"total 0":      {Seq: 1, Total: 0, Data: []byte("x")},
		"empty":        {Seq: 1, Total: 1},
		"past the end": {Seq: 1, Total: 2, Offset: 1, Data: []byte("xy")},
		"too big":      {Seq: 1, Total: MaxEntryBody + 1, Data: []byte("x")},
		"huge chunk":   {Seq: 1, Total: MaxChunk + 1, Data: make([]byte, MaxChunk+1)},
	} {
		if _, err := DecodeChunk(c.Encode()); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("%s: DecodeChunk = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := DecodeChunk(make([]byte, chunkHeaderLen-1)); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("short header: %v", err)
	}
}

func TestBlobAndSaved(t *testing.T) {
	for _, n := range []int{0, MaxBlob + 1} {
		if _, err := DecodeBlob(make([]byte, n)); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("%d-byte blob: %v", n, err)
		}
	}
	for _, v := range []bool{true, false} {
		if got, err := DecodeSaved(EncodeSaved(v)); err != nil || got != v {
			t.Errorf("DecodeSaved(EncodeSaved(%v)) = %v, %v", v, got, err)
		}
	}
	for _, b := range [][]byte{nil, {2}, {0, 0}} {
		if _, err := DecodeSaved(b); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("DecodeSaved(%x) = %v", b, err)
		}
	}
}

const (
	testAKID   = "ASIAEXAMPLEEXAMPLE12"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testToken  = "IQoJb3JpZ2luX2VjEXAMPLETOKEN"
)

func testCreds() Credentials {
	return Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: testToken,
		Expiration: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func TestCredentials(t *testing.T) {
	c := testCreds()
	got, err := DecodeCredentials(EncodeCredentials(c))
	if err != nil || got != c {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "creds", c)
	for _, shown := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %x %q", c, c, c, c, c, c), logged.String()} {
		if strings.Contains(shown, testSecret) || strings.Contains(shown, testToken) {
			t.Fatalf("a secret part shows: %s", shown)
		}
		if !strings.Contains(shown, testAKID) {
			t.Fatalf("the access key id does not show: %s", shown)
		}
	}
	bad := map[string]string{
		"unknown field":    `{"access_key_id":"` + testAKID + `","secret_access_key":"s","x":1}`,
		"short akid":       `{"access_key_id":"ASIA","secret_access_key":"s"}`,
		"no secret":        `{"access_key_id":"` + testAKID + `","secret_access_key":""}`,
		"space in secret":  `{"access_key_id":"` + testAKID + `","secret_access_key":"a b"}`,
		"trailing":         `{"access_key_id":"` + testAKID + `","secret_access_key":"s"} {}`,
		"not an object":    `[]`,
		"bad expiration":   `{"access_key_id":"` + testAKID + `","secret_access_key":"s","expiration":"soon"}`,
		"token too long":   `{"access_key_id":"` + testAKID + `","secret_access_key":"s","session_token":"` + strings.Repeat("t", maxSessionToken+1) + `"}`,
		"non-ASCII secret": `{"access_key_id":"` + testAKID + `","secret_access_key":"é"}`,
	}
	for name, body := range bad {
		if _, err := DecodeCredentials([]byte(body)); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("%s: DecodeCredentials = %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzDecodeReadRequest(f *testing.F) {
	f.Add(ReadRequest{Offset: 1, Max: 2}.Encode())
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := DecodeReadRequest(in)
		if err == nil && !bytes.Equal(r.Encode(), in) {
			t.Fatalf("%x re-encodes as %x", in, r.Encode())
		}
	})
}

func FuzzDecodeReadReply(f *testing.F) {
	f.Add(ReadReply{Size: 4, Data: []byte("ab")}.Encode(), uint64(0), uint32(2))
	f.Fuzz(func(t *testing.T, in []byte, off uint64, max uint32) {
		r, err := DecodeReadReply(in, ReadRequest{Offset: off, Max: max})
		if err == nil && !bytes.Equal(r.Encode(), in) {
			t.Fatalf("%x re-encodes as %x", in, r.Encode())
		}
	})
}

func FuzzDecodeChunk(f *testing.F) {
	f.Add(Chunk{Seq: 1, Total: 3, Offset: 1, Data: []byte("ab")}.Encode())
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := DecodeChunk(in)
		if err == nil && !bytes.Equal(c.Encode(), in) {
			t.Fatalf("%x re-encodes as %x", in, c.Encode())
		}
	})
}

func FuzzDecodeCredentials(f *testing.F) {
	f.Add(EncodeCredentials(testCreds()))
	f.Add([]byte(`{"access_key_id":"` + testAKID + `","secret_access_key":"s"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := DecodeCredentials(in)
		if err != nil {
			return
		}
		again, err := DecodeCredentials(EncodeCredentials(c))
		if err != nil || !again.Expiration.Equal(c.Expiration) || again.AccessKeyID != c.AccessKeyID ||
			again.SecretAccessKey != c.SecretAccessKey || again.SessionToken != c.SessionToken {
			t.Fatalf("credentials do not survive re-encoding: %v", err)
		}
	})
}

func FuzzDecodeSavedAndBlob(f *testing.F) {
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, in []byte) {
		if v, err := DecodeSaved(in); err == nil && !bytes.Equal(EncodeSaved(v), in) {
			t.Fatalf("%x re-encodes as %x", in, EncodeSaved(v))
		}
		if b, err := DecodeBlob(in); err == nil && !bytes.Equal(b, in) {
			t.Fatal("a blob decodes to other bytes")
		}
	})
}
