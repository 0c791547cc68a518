package keystore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"unicode/utf8"

	blst "github.com/supranational/blst/bindings/go"
	"golang.org/x/crypto/scrypt"
	"golang.org/x/text/unicode/norm"
)

// Decrypt derives the decryption key from password, checks it against the checksum and returns
// the 32-byte big-endian secret key. The caller owns the secret and must wipe it (clear) once
// it has been split.
//
// Errors: ErrWrongPassword when the checksum does not match; ErrInvalidSecret when the
// decrypted bytes are not a valid secret key; ErrPubkeyMismatch when they are not the key of
// k.Pubkey; another error when the password is not UTF-8.
func (k *Keystore) Decrypt(password []byte) (secret []byte, err error) {
	dk, err := deriveKey(k.kdf, password)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	if sum := checksum(dk, k.message[:]); subtle.ConstantTimeCompare(sum[:], k.checksum[:]) != 1 {
		return nil, ErrWrongPassword
	}
	secret, err = aes128CTR(dk[:16], k.iv[:], k.message[:])
	if err != nil {
		return nil, err
	}
	pk, err := PublicKey(secret)
	if err != nil {
		clear(secret)
		return nil, err
	}
	if k.Pubkey != nil && subtle.ConstantTimeCompare(pk, k.Pubkey) != 1 {
		clear(secret)
		return nil, ErrPubkeyMismatch
	}
	return secret, nil
}

// NormalizePassword processes a password as EIP-2335 says: NFKD, then the C0, C1 and DEL
// control codes are stripped; the result is UTF-8. It fails if password is not UTF-8. The
// caller wipes the result.
func NormalizePassword(password []byte) ([]byte, error) {
	if !utf8.Valid(password) {
		return nil, errors.New("keystore: the password is not valid UTF-8")
	}
	nfkd := norm.NFKD.Bytes(password) // may be password itself
	out := make([]byte, 0, len(nfkd))
	for i := 0; i < len(nfkd); {
		r, size := utf8.DecodeRune(nfkd[i:])
		if !(r <= 0x1f || (r >= 0x7f && r <= 0x9f)) {
			out = append(out, nfkd[i:i+size]...)
		}
		i += size
	}
	if len(nfkd) > 0 && len(password) > 0 && &nfkd[0] != &password[0] {
		clear(nfkd)
	}
	return out, nil
}

// deriveKey runs the keystore's KDF on the processed password. p has been checked against the
// bounds by Parse (or comes from Encrypt).
func deriveKey(p kdfParams, password []byte) ([]byte, error) {
	pw, err := NormalizePassword(password)
	if err != nil {
		return nil, err
	}
	defer clear(pw)
	switch p.function {
	case "scrypt":
		dk, err := scrypt.Key(pw, p.salt, p.n, p.r, p.p, dkLen)
		if err != nil {
			return nil, fmt.Errorf("keystore: scrypt: %w", err)
		}
		return dk, nil
	case "pbkdf2":
		// crypto/pbkdf2 takes the password as a string: that copy cannot be wiped.
		dk, err := pbkdf2.Key(sha256.New, string(pw), p.salt, p.c, dkLen)
		if err != nil {
			return nil, fmt.Errorf("keystore: pbkdf2: %w", err)
		}
		return dk, nil
	}
	return nil, fmt.Errorf("keystore: unsupported kdf %q", p.function)
}

// checksum is SHA-256(dk[16:32] | message), the EIP's password check.
func checksum(dk, message []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write(dk[16:32])
	h.Write(message)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// aes128CTR en- or decrypts in with AES-128-CTR.
func aes128CTR(key, iv, in []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keystore: aes: %w", err)
	}
	out := make([]byte, len(in))
	cipher.NewCTR(block, iv).XORKeyStream(out, in)
	return out, nil
}

// PublicKey checks that secret is a valid BLS12-381 secret key (32 bytes big-endian, non-zero,
// below the group order; otherwise ErrInvalidSecret) and returns its 48-byte compressed G1
// public key, sk·G1, as Ethereum's proof-of-possession ciphersuite defines it. Use it for a
// keystore without a pubkey.
func PublicKey(secret []byte) ([]byte, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("%w: %d bytes (want %d)", ErrInvalidSecret, len(secret), SecretSize)
	}
	sk := new(blst.SecretKey)
	defer sk.Zeroize() // Deserialize fills sk even when it refuses the value
	if sk.Deserialize(secret) == nil {
		return nil, ErrInvalidSecret
	}
	return new(blst.P1Affine).From(sk).Compress(), nil
}
