package wire

import (
	"bytes"
	"testing"
)

// The fuzz targets check two things on arbitrary input: decoding never panics, and whatever
// decodes re-encodes to exactly the input, so no value has a second encoding. The seed corpus
// is the golden vectors.

func FuzzReadFrame(f *testing.F) {
	for _, v := range loadVectors(f).Frames {
		f.Add([]byte(v.Hex))
	}
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		for {
			start := len(in) - r.Len()
			fr, err := ReadFrame(r, 1<<12)
			if err != nil {
				return
			}
			var out bytes.Buffer
			if err := WriteFrame(&out, fr); err != nil {
				t.Fatalf("a frame ReadFrame accepted does not write: %v", err)
			}
			if consumed := in[start : len(in)-r.Len()]; !bytes.Equal(out.Bytes(), consumed) {
				t.Fatalf("frame read from %x writes as %x", consumed, out.Bytes())
			}
		}
	})
}

func FuzzDecodeRequest(f *testing.F) {
	for _, v := range loadVectors(f).Requests {
		f.Add([]byte(v.Hex))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := DecodeRequest(in)
		if err != nil {
			return
		}
		if out := r.Encode(); !bytes.Equal(out, in) {
			t.Fatalf("request decoded from %x encodes as %x", in, out)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	for _, v := range loadVectors(f).Responses {
		f.Add([]byte(v.Hex))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := DecodeResponse(in)
		if err != nil {
			return
		}
		if r.Err != nil {
			_ = r.Err.Error() // must not panic either
		}
		if out := r.Encode(); !bytes.Equal(out, in) {
			t.Fatalf("response decoded from %x encodes as %x", in, out)
		}
	})
}

func FuzzDecodeRelay(f *testing.F) {
	for _, v := range loadVectors(f).Relays {
		f.Add([]byte(v.Hex))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := DecodeRelay(in)
		if err != nil {
			return
		}
		if out := r.Encode(); !bytes.Equal(out, in) {
			t.Fatalf("relay decoded from %x encodes as %x", in, out)
		}
	})
}

func FuzzDecodeEnvelope(f *testing.F) {
	for _, v := range loadVectors(f).Envelopes {
		f.Add([]byte(v.Hex))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := DecodeEnvelope(in)
		if err != nil {
			return
		}
		out, err := e.Encode()
		if err != nil {
			t.Fatalf("an envelope DecodeEnvelope accepted does not encode: %v", err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("envelope decoded from %x encodes as %x", in, out)
		}
	})
}
