package ethereum

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
)

// SignFunc signs a 32-byte digest with the key of `from` and returns R||S||V, V the recovery id 0 or 1, S low.
//
// It is the only way this package gets anything signed: the threshold protocol lives behind
// it. Every result is checked (see checkSignature) before this package returns it.
type SignFunc func(ctx context.Context, from common.Address, digest [32]byte) ([65]byte, error)

// legacyVOffset turns a recovery id into the V of eth_sign, personal_sign and EIP-712 answers
// (27 or 28), which is what ecrecover and wallets expect.
const legacyVOffset = 27

// PersonalMessageHash is the EIP-191 version 0x45 digest of msg, the one personal_sign and
// eth_sign sign: keccak256("\x19Ethereum Signed Message:\n" + decimal len(msg) + msg).
func PersonalMessageHash(msg []byte) [32]byte {
	return [32]byte(accounts.TextHash(msg))
}

// SignPersonal signs msg as an EIP-191 personal message for `from` and returns R||S||V with V
// 27 or 28, after checking that the signature recovers to `from`.
func SignPersonal(ctx context.Context, from common.Address, msg []byte, sign SignFunc) ([65]byte, error) {
	return signWithLegacyV(ctx, from, PersonalMessageHash(msg), sign)
}

// SignTypedData signs the EIP-712 digest of td for `from` and returns R||S||V with V 27 or
// 28, after checking td (see TypedDataDigest) and that the signature recovers to `from`.
func SignTypedData(ctx context.Context, from common.Address, td *apitypes.TypedData, sign SignFunc) ([65]byte, error) {
	digest, err := TypedDataDigest(td)
	if err != nil {
		return [65]byte{}, err
	}
	return signWithLegacyV(ctx, from, digest, sign)
}

// signWithLegacyV is signDigest with V moved to 27/28 for the message-signing APIs.
func signWithLegacyV(ctx context.Context, from common.Address, digest [32]byte, sign SignFunc) ([65]byte, error) {
	sig, err := signDigest(ctx, from, digest, sign)
	if err != nil {
		return [65]byte{}, err
	}
	sig[64] += legacyVOffset
	return sig, nil
}

// signDigest asks sign for a signature over digest and returns it only if it is one that
// Ethereum accepts from `from`: recovery id 0 or 1, R and S in range with S low (EIP-2), and
// recovering to `from`. Recovering is what catches a backend that signed with another share
// set or over another digest.
func signDigest(ctx context.Context, from common.Address, digest [32]byte, sign SignFunc) ([65]byte, error) {
	if sign == nil {
		return [65]byte{}, fmt.Errorf("ethereum: no SignFunc given")
	}
	sig, err := sign(ctx, from, digest)
	if err != nil {
		return [65]byte{}, fmt.Errorf("ethereum: signing for %s: %w", from, err)
	}
	if err := checkSignature(from, digest, sig); err != nil {
		return [65]byte{}, err
	}
	return sig, nil
}

// checkSignature verifies a R||S||V signature (V the recovery id) over digest against from.
func checkSignature(from common.Address, digest [32]byte, sig [65]byte) error {
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:64])
	if !crypto.ValidateSignatureValues(sig[64], r, s, true) {
		return fmt.Errorf("%w: signer returned an invalid signature (recovery id %d, or R/S out of range, or S not low)", ErrSignature, sig[64])
	}
	pub, err := crypto.SigToPub(digest[:], sig[:])
	if err != nil {
		return fmt.Errorf("%w: signature does not recover: %w", ErrSignature, err)
	}
	if got := crypto.PubkeyToAddress(*pub); got != from {
		return fmt.Errorf("%w: signature recovers to %s, not %s", ErrSignature, got, from)
	}
	return nil
}
