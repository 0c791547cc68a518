// Package wire is the neutral ground between an enclave and its untrusted host: how a byte
// stream is cut into frames, and how the messages carried in those frames are encoded. Both
// sides import it, and every decoder here is fed bytes from a party that may be hostile.
//
// It must never: depend on anything that holds a secret; allocate according to a length it
// has not first checked against a limit; panic on any input; or accept more than one encoding
// of a value. Every decoder accepts exactly the bytes its encoder produces, so
// Decode(Encode(x)) == x and Encode(Decode(b)) == b: a message cannot be smuggled past a
// check in a second spelling, and two parties that agree on a value agree on its bytes.
//
// # Conventions
//
// All integers are unsigned and big-endian. In the layouts below each line gives the offset
// of a field, its size in bytes, and what it holds; "..." means "all remaining bytes". A
// party ID (protocol.PartyID) is 2 bytes and is never 0.
//
// # Frames
//
// A byte stream carries a sequence of frames, each:
//
//	offset  size  field
//	0       4     N = 1 + length of the body; N >= 1, and N-1 <= the reader's limit
//	                  (MaxFrameBody unless the reader chose a smaller one)
//	4       1     frame type: 1 request, 2 response, 3 relay (FrameType)
//	5       N-1   body: an encoded Request, Response or Relay
//
// A stream may end only between two frames; ending anywhere else is ErrTruncated.
//
// # Request (body of a request frame, host to enclave)
//
// On the host-services stream (package protocol/hostsvc), which the enclave dials, the
// directions of requests and responses are reversed: the enclave asks, the host answers.
//
//	offset  size  field
//	0       8     ID, chosen by the caller and echoed in the Response
//	8       1     M = length of the method, 1..64
//	9       M     method, ASCII characters from [a-z0-9._-]
//	9+M     ...   body, possibly empty
//
// # Response (body of a response frame, enclave to host)
//
//	offset  size  field
//	0       8     ID of the Request answered
//	8       1     status: 0 ok, 1 error; any other value is malformed
//
// With status 0 the rest is the body:
//
//	9       ...   body, possibly empty
//
// With status 1 a RemoteError follows, then the body:
//
//	9       1     C = length of the error code, 1..64
//	10      C     code, ASCII characters from [a-z0-9_]
//	10+C    2     L = length of the message, 0..4096
//	12+C    L     message, valid UTF-8
//	12+C+L  1     K = number of culprits, 0..64
//	13+C+L  2K    culprits, K party IDs
//	13+C+L+2K ... body, possibly empty
//
// # Relay (body of a relay frame: one party-to-party message being carried)
//
//	offset  size  field
//	0       2     from, a party ID
//	2       2     to, a party ID
//	4       4     D = length of the data, 1..MaxFrameBody-8
//	8       D     data (opaque: Noise ciphertext); nothing may follow it
//
// # Envelope (the plaintext inside the Noise channel between two enclaves)
//
//	offset  size  field
//	0       1     version, 1
//	1       1     kind: 1 protocol payload, 2 abort (EnvelopeKind)
//	2       1     flags: bit 0 set = broadcast; every other bit must be 0
//	3       16    session ID
//	19      2     round
//	21      2     from, a party ID
//	23      2     to, a party ID different from from (the one recipient, even of a
//	                  broadcast copy)
//	25      4     P = length of the payload, 0..MaxPayload
//	29      P     payload; nothing may follow it. For an abort it is the reason, valid
//	                  UTF-8 of at most 1024 bytes.
//
// # Method bodies
//
// The Body of a Request and of a successful Response is a JSON object whose type is named by
// the method (methods.go: MethodPrepare takes PrepareArgs, MethodStart answers SessionResult,
// and so on). DecodeJSON reads them strictly: at most MaxFrameBody bytes, unknown fields and
// trailing data refused, ErrMalformed on failure. A Response with ID 0 is a notice: the
// enclave refused an input that had no request of its own (a relay), and Err says why.
//
// # Errors
//
// ReadFrame reports ErrTruncated, ErrMalformed, ErrFrameTooLarge and ErrUnknownFrameType.
// Every message decoder reports ErrMalformed for anything that does not decode; a length over
// its limit is reported as ErrFrameTooLarge as well as ErrMalformed.
package wire
