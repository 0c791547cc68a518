// Package hostsvc is what an enclave asks of its own host: keeping the enclave's sealed data
// (an append-only log of sealed records, and the KMS-encrypted data key) on the host's disk,
// and handing over the instance's AWS credentials. A Nitro enclave has no disk and no network;
// this is how it gets both without trusting the host with anything it could abuse.
//
// The enclave dials the host on a second stream, separate from the host channel the host
// dials (see Client and Server). The enclave needs its store before it can serve anything (its
// identity lives there), and this stream exists before the enclave's own listener does; it also
// keeps the host channel's one-way request model intact.
//
// Everything that crosses here is either sealed by the enclave (records, snapshots, the KMS
// blob) or already the host's (its instance credentials). The host can refuse, delay, drop or
// serve an older copy of what it keeps — deny service, or roll the enclave back to an earlier
// state, which the enclave's store documents — but it cannot read or forge a sealed record.
//
// This package must never open or interpret a sealed body beyond its framing, never log a
// body or a credential, and never allocate according to a length it has not checked against a
// limit. Its decoders refuse rather than guess: trailing bytes, wrong lengths and unknown
// versions are errors wrapping wire.ErrMalformed.
//
// # Stream
//
// The stream carries wire frames (protocol/wire): the enclave sends request frames, the host
// answers each with a response frame of the same id, one request at a time. Request bodies
// and successful response bodies are the binary layouts below (all integers big-endian),
// except aws.credentials, whose reply is JSON. Errors travel as wire.RemoteError with the
// codes not_found, conflict (the write does not continue the log), full (the log would pass
// MaxImageSize), bad_request, unavailable (not offered by this host) and internal.
//
//	method           request body                         reply body
//	log.read         offset u64 | max u32                 size u64 | data
//	log.append       seq u64 | total u32 | offset u32 | chunk          (empty)
//	log.compact      seq u64 | total u32 | offset u32 | chunk          (empty)
//	blob.get         (empty)                              blob (1..MaxBlob bytes), or not_found
//	blob.put         blob (1..MaxBlob bytes)              saved u8 (0 kept the existing blob, 1 saved)
//	aws.credentials  (empty)                              JSON Credentials
//
// log.read returns the bytes of the log image (below) from offset, at most max (1..MaxChunk)
// bytes, with the image's size at the time; the enclave reads from 0 until it has size bytes
// and refuses an image whose size changes meanwhile. log.append and log.compact upload one
// entry body of total bytes (1..MaxEntryBody) in chunks of 1..MaxChunk bytes sent in order from
// offset 0; the reply to the last chunk comes only after the entry is durable (fsynced). An
// append of seq adds a record after the log's last entry seq-1; a compaction at seq replaces
// the whole log by one snapshot entry, and needs the log's last entry to be seq. Both are
// idempotent: repeating the last append or compaction with the same body is acknowledged
// again, so an enclave that lost an acknowledgement can simply send again.
//
// # Log image
//
//	image = magic entry*
//	magic = "MPCSLOG" 0x01                           (8 bytes)
//	entry = kind u8 | seq u64 | len u32 | body | crc u32
//
// kind is 1 for a snapshot, 2 for a record; len is 1..MaxEntryBody; crc is CRC-32C
// (Castagnoli) of kind, seq, len and body. Only the first entry may be a snapshot; sequence
// numbers start at 1 (or at the snapshot's seq) and go up by one. The CRC only lets the host
// find a write torn by a crash; what protects the contents is the enclave's seal on each body.
package hostsvc
