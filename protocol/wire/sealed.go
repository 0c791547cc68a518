package wire

import (
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// A key import hands one enclave, the dealer, an existing secret (an EIP-2335 keystore and its
// password). The operator's machine seals it with HPKE (RFC 9180: DHKEM(X25519, HKDF-SHA256),
// HKDF-SHA256, ChaCha20-Poly1305) to the X25519 key the dealer's attestation document carries
// in public_key, after verifying that document. Only that enclave can open it; the host carries
// ciphertext. The HPKE info binds the sealed blob to the dealer, the key's public key and label,
// so a host cannot replay it into another import.
//
// The recipient key is the enclave's Noise static key. Using one X25519 key in both Noise and
// HPKE is safe here because both only ever use it for X25519 Diffie-Hellman with a KDF bound to
// the protocol's own labels; it is what the enclave attests to, so no second key needs binding.

// MaxSealedImport bounds a sealed import (a keystore is about 1 KiB).
const MaxSealedImport = 16 << 10

var importSuite = struct {
	kdf  hpke.KDF
	aead hpke.AEAD
}{hpke.HKDFSHA256(), hpke.ChaCha20Poly1305()}

// ImportInfo is the HPKE info of a sealed import.
func ImportInfo(dealer protocol.PartyID, publicKeyHex, label string) []byte {
	return sealInfo("mpcsigner/v1 sealed key import", dealer, publicKeyHex, label)
}

// RestoreInfo is the HPKE info of a recovery identity sealed to one enclave for restoring
// one key from one bundle: it opens nowhere else.
func RestoreInfo(party protocol.PartyID, keyID string, bundleDigestHex string) []byte {
	return sealInfo("mpcsigner/v1 sealed recovery identity", party, keyID, bundleDigestHex)
}

// sealInfo encodes a domain, the recipient party and fields, each string length-prefixed, so
// that no two different contexts share an info.
func sealInfo(domain string, party protocol.PartyID, fields ...string) []byte {
	var b []byte
	field := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	field(domain)
	b = binary.BigEndian.AppendUint16(b, uint16(party))
	for _, f := range fields {
		field(f)
	}
	return b
}

// SealImport encrypts plaintext to the enclave whose attested X25519 key is recipient.
func SealImport(recipient []byte, info, plaintext []byte) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(recipient)
	if err != nil {
		return nil, fmt.Errorf("recipient key: %w", err)
	}
	pk, err := hpke.NewDHKEMPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return hpke.Seal(pk, importSuite.kdf, importSuite.aead, info, plaintext)
}

// OpenImport decrypts a sealed import with the enclave's X25519 private key.
func OpenImport(private []byte, info, sealed []byte) ([]byte, error) {
	if len(sealed) > MaxSealedImport {
		return nil, fmt.Errorf("sealed import of %d bytes exceeds %d: %w", len(sealed), MaxSealedImport, ErrMalformed)
	}
	priv, err := ecdh.X25519().NewPrivateKey(private)
	if err != nil {
		return nil, err
	}
	k, err := hpke.NewDHKEMPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	out, err := hpke.Open(k, importSuite.kdf, importSuite.aead, info, sealed)
	if err != nil {
		return nil, errors.New("the sealed payload does not open with this enclave's key for this party, key and label (or bundle)")
	}
	return out, nil
}

// ImportPayload is what a sealed import contains.
type ImportPayload struct {
	Keystore []byte `json:"keystore"` // the EIP-2335 keystore JSON
	Password []byte `json:"password"`
}

// ImportArgs makes a keygen session an import: the dealer opens Sealed and deals shares of the
// secret inside; every party checks the result against PublicKey.
type ImportArgs struct {
	Dealer    protocol.PartyID `json:"dealer"`
	PublicKey string           `json:"public_key"` // hex, the key being imported
	Sealed    []byte           `json:"sealed"`     // SealImport(dealer key, ImportInfo(...), ImportPayload JSON)
}
