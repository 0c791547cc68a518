package sevsnp

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
)

// maxCertEntries bounds the certificate table: AMD defines a handful of GUIDs.
const maxCertEntries = 32

// parseCertTable reads the certificate table of an extended report (the GHCB GUID table: 24-byte
// entries of GUID, offset, length, ended by an all-zero entry, followed by the blobs).
//
// go-sev-guest has a parser for it, but that one adds offset and length in 32 bits and slices
// with the wrapped sum, which panics on a crafted table; this one checks every range in 64 bits
// and refuses duplicate GUIDs, so a document cannot carry two different VCEKs.
func parseCertTable(table []byte) (*spb.CertificateChain, error) {
	chain := &spb.CertificateChain{Extras: map[string][]byte{}}
	if len(table) == 0 {
		return chain, nil
	}
	type entry struct {
		guid           string
		offset, length uint32
	}
	var entries []entry
	seen := map[string]bool{}
	headerEnd := 0
	for {
		if len(entries) > maxCertEntries {
			return nil, malformed("certificate table has more than %d entries", maxCertEntries)
		}
		if len(table)-headerEnd < abi.CertTableEntrySize {
			return nil, malformed("certificate table ends without its all-zero terminating entry")
		}
		raw := table[headerEnd : headerEnd+abi.CertTableEntrySize]
		headerEnd += abi.CertTableEntrySize
		if isZero(raw) {
			break
		}
		e := entry{
			guid:   formatGUID(raw[:abi.GUIDSize]),
			offset: binary.LittleEndian.Uint32(raw[abi.GUIDSize:]),
			length: binary.LittleEndian.Uint32(raw[abi.GUIDSize+4:]),
		}
		if seen[e.guid] {
			return nil, malformed("certificate table lists GUID %s twice", e.guid)
		}
		seen[e.guid] = true
		entries = append(entries, e)
	}
	for _, e := range entries {
		start, end := uint64(e.offset), uint64(e.offset)+uint64(e.length)
		if start < uint64(headerEnd) || end > uint64(len(table)) {
			return nil, malformed("certificate table entry %s covers bytes %d..%d, outside the data area %d..%d",
				e.guid, start, end, headerEnd, len(table))
		}
		assign(chain, e.guid, table[start:end])
	}
	return chain, nil
}

// assign files one certificate table blob under its GUID.
func assign(chain *spb.CertificateChain, guid string, blob []byte) {
	b := append([]byte(nil), blob...)
	switch guid {
	case abi.VcekGUID:
		chain.VcekCert = b
	case abi.VlekGUID:
		chain.VlekCert = b
	case abi.AskGUID:
		chain.AskCert = b
	case abi.ArkGUID:
		chain.ArkCert = b
	default:
		// Kept for go-sev-guest, which reads the product from the platform-info entry.
		chain.Extras[guid] = b
	}
}

// formatGUID spells 16 bytes as go-sev-guest's GUID constants do (lower-case 8-4-4-4-12, bytes
// in order).
func formatGUID(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// isZero reports whether every byte of b is zero.
func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
