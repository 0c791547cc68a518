package hostsvc

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// The methods of the stream (see the package comment for their bodies).
const (
	MethodLogRead     = "log.read"
	MethodLogAppend   = "log.append"
	MethodLogCompact  = "log.compact"
	MethodBlobGet     = "blob.get"
	MethodBlobPut     = "blob.put"
	MethodCredentials = "aws.credentials"
)

// ReadRequest asks for bytes of the log image.
type ReadRequest struct {
	Offset uint64
	Max    uint32
}

const readRequestLen = 8 + 4

// Encode returns r's encoding.
func (r ReadRequest) Encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, readRequestLen), r.Offset)
	return binary.BigEndian.AppendUint32(b, r.Max)
}

// DecodeReadRequest decodes a log.read request body.
func DecodeReadRequest(b []byte) (ReadRequest, error) {
	if len(b) != readRequestLen {
		return ReadRequest{}, malformed("log.read request of %d bytes, want %d", len(b), readRequestLen)
	}
	r := ReadRequest{Offset: binary.BigEndian.Uint64(b), Max: binary.BigEndian.Uint32(b[8:])}
	if r.Max == 0 || r.Max > MaxChunk {
		return ReadRequest{}, malformed("log.read of %d bytes, want 1 to %d", r.Max, MaxChunk)
	}
	return r, nil
}

// ReadReply carries bytes of the log image and the image's size when they were read.
type ReadReply struct {
	Size uint64
	Data []byte
}

// Encode returns r's encoding.
func (r ReadReply) Encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(r.Data)), r.Size)
	return append(b, r.Data...)
}

// DecodeReadReply decodes the reply to req: the data must be exactly what req asked for of an
// image of the reported size.
func DecodeReadReply(b []byte, req ReadRequest) (ReadReply, error) {
	if len(b) < 8 {
		return ReadReply{}, malformed("log.read reply of %d bytes is shorter than its 8-byte size", len(b))
	}
	r := ReadReply{Size: binary.BigEndian.Uint64(b), Data: b[8:]}
	if r.Size > MaxImageSize {
		return ReadReply{}, malformed("log image of %d bytes exceeds the %d-byte limit", r.Size, MaxImageSize)
	}
	if req.Offset > r.Size {
		return ReadReply{}, malformed("log.read at offset %d of a %d-byte image", req.Offset, r.Size)
	}
	if want := min(uint64(req.Max), r.Size-req.Offset); uint64(len(r.Data)) != want {
		return ReadReply{}, malformed("log.read reply has %d bytes at offset %d of a %d-byte image, want %d",
			len(r.Data), req.Offset, r.Size, want)
	}
	return r, nil
}

// Chunk is one piece of an entry body being uploaded (log.append, log.compact).
type Chunk struct {
	Seq    uint64
	Total  uint32
	Offset uint32
	Data   []byte
}

const chunkHeaderLen = 8 + 4 + 4

// Encode returns c's encoding.
func (c Chunk) Encode() []byte {
	b := make([]byte, 0, chunkHeaderLen+len(c.Data))
	b = binary.BigEndian.AppendUint64(b, c.Seq)
	b = binary.BigEndian.AppendUint32(b, c.Total)
	b = binary.BigEndian.AppendUint32(b, c.Offset)
	return append(b, c.Data...)
}

// Last reports whether c completes its entry body.
func (c Chunk) Last() bool { return uint64(c.Offset)+uint64(len(c.Data)) == uint64(c.Total) }

// DecodeChunk decodes a log.append or log.compact request body. Data aliases b.
func DecodeChunk(b []byte) (Chunk, error) {
	if len(b) < chunkHeaderLen {
		return Chunk{}, malformed("upload chunk of %d bytes is shorter than its %d-byte header", len(b), chunkHeaderLen)
	}
	c := Chunk{
		Seq:    binary.BigEndian.Uint64(b),
		Total:  binary.BigEndian.Uint32(b[8:]),
		Offset: binary.BigEndian.Uint32(b[12:]),
		Data:   b[chunkHeaderLen:],
	}
	switch {
	case c.Seq == 0:
		return Chunk{}, malformed("upload chunk for sequence number 0, want 1 or more")
	case c.Total == 0 || c.Total > MaxEntryBody:
		return Chunk{}, malformed("upload of a %d-byte body, want 1 to %d", c.Total, MaxEntryBody)
	case len(c.Data) == 0 || len(c.Data) > MaxChunk:
		return Chunk{}, malformed("upload chunk of %d bytes, want 1 to %d", len(c.Data), MaxChunk)
	case uint64(c.Offset)+uint64(len(c.Data)) > uint64(c.Total):
		return Chunk{}, malformed("upload chunk of %d bytes at offset %d runs past the %d-byte body", len(c.Data), c.Offset, c.Total)
	}
	return c, nil
}

// chunks cuts body into the chunks that upload it as entry seq.
func chunks(seq uint64, body []byte) []Chunk {
	var out []Chunk
	for off := 0; off < len(body); off += MaxChunk {
		end := min(off+MaxChunk, len(body))
		out = append(out, Chunk{Seq: seq, Total: uint32(len(body)), Offset: uint32(off), Data: body[off:end]})
	}
	return out
}

// DecodeBlob decodes a blob.put request or a blob.get reply: the blob itself.
func DecodeBlob(b []byte) ([]byte, error) {
	if len(b) == 0 || len(b) > MaxBlob {
		return nil, malformed("KMS data key blob of %d bytes, want 1 to %d", len(b), MaxBlob)
	}
	return b, nil
}

// EncodeSaved encodes a blob.put reply.
func EncodeSaved(saved bool) []byte {
	if saved {
		return []byte{1}
	}
	return []byte{0}
}

// DecodeSaved decodes a blob.put reply.
func DecodeSaved(b []byte) (bool, error) {
	if len(b) != 1 || b[0] > 1 {
		return false, malformed("blob.put reply %x, want one byte 00 or 01", b)
	}
	return b[0] == 1, nil
}

// Credentials are AWS temporary credentials: the instance role's, which the host fetched from
// the instance metadata service. They authorize KMS calls; they do not protect the data key
// (the KMS key policy, which requires the enclave's attestation, does). Formatting and logging
// a Credentials never shows the secret parts.
type Credentials struct {
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token,omitempty"`
	Expiration      time.Time `json:"expiration,omitzero"` // zero: does not expire
}

// Limits of Credentials' fields (AWS documents access key ids of 16 to 128 characters; session
// tokens have no documented maximum and are around 1 KiB today).
const (
	maxAccessKeyID  = 128
	maxSecretKey    = 128
	maxSessionToken = 8192
)

// Validate checks c's fields: present, within their limits, printable ASCII.
func (c Credentials) Validate() error {
	for _, f := range []struct {
		name     string
		v        string
		min, max int
	}{
		{"access_key_id", c.AccessKeyID, 16, maxAccessKeyID},
		{"secret_access_key", c.SecretAccessKey, 1, maxSecretKey},
		{"session_token", c.SessionToken, 0, maxSessionToken},
	} {
		if len(f.v) < f.min || len(f.v) > f.max {
			return malformed("credentials: %s of %d characters, want %d to %d", f.name, len(f.v), f.min, f.max)
		}
		for i := 0; i < len(f.v); i++ {
			if c := f.v[i]; c <= 0x20 || c > 0x7e {
				// Say where, never what: the field may be a secret.
				return malformed("credentials: %s has a byte outside printable ASCII at offset %d", f.name, i)
			}
		}
	}
	return nil
}

// EncodeCredentials encodes an aws.credentials reply.
func EncodeCredentials(c Credentials) []byte { return wire.EncodeJSON(c) }

// DecodeCredentials decodes an aws.credentials reply strictly.
func DecodeCredentials(b []byte) (Credentials, error) {
	var c Credentials
	if err := wire.DecodeJSON(b, &c); err != nil {
		return Credentials{}, fmt.Errorf("aws.credentials reply: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Credentials{}, err
	}
	return c, nil
}

// String names the access key id only.
func (c Credentials) String() string {
	return fmt.Sprintf("hostsvc.Credentials{AccessKeyID: %s, secret: [redacted]}", c.AccessKeyID)
}

// GoString keeps the secret parts out of %#v.
func (c Credentials) GoString() string { return c.String() }

// Format keeps the secret parts out of every fmt verb.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue keeps the secret parts out of slog.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key_id", c.AccessKeyID), slog.Time("expiration", c.Expiration))
}
