package keystore

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
)

// The EIP's work factors, which Encrypt uses.
const (
	DefaultScryptN = 1 << 18 // with r = 8, p = 1
	DefaultPBKDF2C = 1 << 18
)

// Encrypt returns a keystore (version 4, cipher aes-128-ctr, checksum sha256) holding secret,
// a 32-byte big-endian BLS12-381 secret key, under password. kdf is "scrypt" (n = 2^18, r = 8,
// p = 1) or "pbkdf2" (c = 2^18, hmac-sha256), the EIP's parameters. The salt (32 bytes), the
// iv and the UUID (version 4) come from rng. path and description are empty; pubkey is the
// secret's public key.
func Encrypt(secret, password []byte, kdf string, rng io.Reader) ([]byte, error) {
	cost := DefaultScryptN
	if kdf == "pbkdf2" {
		cost = DefaultPBKDF2C
	}
	return EncryptWithCost(secret, password, kdf, cost, rng)
}

// EncryptWithCost is Encrypt with another work factor: cost is scrypt's n (a power of two from
// 2 to MaxScryptN; r = 8, p = 1) or pbkdf2's c (1 to MaxPBKDF2C). A small cost (16, say) is for
// tests only: such a keystore falls to a password search at once.
func EncryptWithCost(secret, password []byte, kdf string, cost int, rng io.Reader) ([]byte, error) {
	pubkey, err := PublicKey(secret)
	if err != nil {
		return nil, err
	}
	p := kdfParams{function: kdf}
	switch kdf {
	case "scrypt":
		if cost < 2 || cost > MaxScryptN || cost&(cost-1) != 0 {
			return nil, fmt.Errorf("keystore: scrypt n %d is not a power of two from 2 to %d", cost, MaxScryptN)
		}
		p.n, p.r, p.p = cost, 8, 1
	case "pbkdf2":
		if cost < 1 || cost > MaxPBKDF2C {
			return nil, fmt.Errorf("keystore: pbkdf2 c %d is out of range [1, %d]", cost, MaxPBKDF2C)
		}
		p.c = cost
	default:
		return nil, fmt.Errorf("keystore: unsupported kdf %q (want scrypt or pbkdf2)", kdf)
	}
	var salt [32]byte
	var iv [ivSize]byte
	var id [16]byte
	for _, b := range [][]byte{salt[:], iv[:], id[:]} {
		if _, err := io.ReadFull(rng, b); err != nil {
			return nil, fmt.Errorf("keystore: reading randomness: %w", err)
		}
	}
	p.salt = salt[:]
	return encrypt(secret, pubkey, password, p, iv, uuidV4(id))
}

// encrypt writes a keystore holding secret (which it does not check) under password; pubkey
// nil leaves the keystore's pubkey empty.
func encrypt(secret, pubkey, password []byte, p kdfParams, iv [ivSize]byte, uuid string) ([]byte, error) {
	dk, err := deriveKey(p, password)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	message, err := aes128CTR(dk[:16], iv[:], secret)
	if err != nil {
		return nil, err
	}
	sum := checksum(dk, message)

	var kdfParamsJSON any
	if p.function == "scrypt" {
		kdfParamsJSON = scryptJSON{DKLen: dkLen, N: p.n, P: p.p, R: p.r, Salt: hex.EncodeToString(p.salt)}
	} else {
		kdfParamsJSON = pbkdf2JSON{DKLen: dkLen, C: p.c, PRF: "hmac-sha256", Salt: hex.EncodeToString(p.salt)}
	}
	ks := keystoreJSON{
		Crypto: cryptoJSON{
			KDF:      moduleJSON{Function: p.function, Params: kdfParamsJSON, Message: ""},
			Checksum: moduleJSON{Function: "sha256", Params: struct{}{}, Message: hex.EncodeToString(sum[:])},
			Cipher:   moduleJSON{Function: "aes-128-ctr", Params: cipherJSON{IV: hex.EncodeToString(iv[:])}, Message: hex.EncodeToString(message)},
		},
		Description: "",
		Pubkey:      hex.EncodeToString(pubkey),
		Path:        "",
		UUID:        uuid,
		Version:     Version,
	}
	return json.MarshalIndent(ks, "", "  ")
}

// uuidV4 formats 16 random bytes as an RFC 4122 version 4 UUID.
func uuidV4(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// The JSON layout Encrypt writes, in the EIP's field order.
type keystoreJSON struct {
	Crypto      cryptoJSON `json:"crypto"`
	Description string     `json:"description"`
	Pubkey      string     `json:"pubkey"`
	Path        string     `json:"path"`
	UUID        string     `json:"uuid"`
	Version     int        `json:"version"`
}

type cryptoJSON struct {
	KDF      moduleJSON `json:"kdf"`
	Checksum moduleJSON `json:"checksum"`
	Cipher   moduleJSON `json:"cipher"`
}

type moduleJSON struct {
	Function string `json:"function"`
	Params   any    `json:"params"`
	Message  string `json:"message"`
}

type scryptJSON struct {
	DKLen int    `json:"dklen"`
	N     int    `json:"n"`
	P     int    `json:"p"`
	R     int    `json:"r"`
	Salt  string `json:"salt"`
}

type pbkdf2JSON struct {
	DKLen int    `json:"dklen"`
	C     int    `json:"c"`
	PRF   string `json:"prf"`
	Salt  string `json:"salt"`
}

type cipherJSON struct {
	IV string `json:"iv"`
}
