package cosmos

import (
	"bytes"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainkey"
	"github.com/mpcsigner/mpcsigner/chains/internal/pbwire"
)

// Field numbers of the AuthInfo messages read here (cosmos-sdk proto/cosmos/tx/v1beta1/tx.proto,
// google/protobuf/any.proto, proto/cosmos/crypto/secp256k1/keys.proto).
const (
	authInfoSignerInfos protowire.Number = 1 // repeated SignerInfo
	authInfoFee         protowire.Number = 2
	authInfoTip         protowire.Number = 3 // deprecated, still in the schema

	signerInfoPublicKey protowire.Number = 1 // Any
	signerInfoModeInfo  protowire.Number = 2
	signerInfoSequence  protowire.Number = 3

	anyTypeURL protowire.Number = 1
	anyValue   protowire.Number = 2

	pubKeyKey protowire.Number = 1

	modeInfoSingle protowire.Number = 1
	modeInfoMulti  protowire.Number = 2
	singleMode     protowire.Number = 1
)

// secp256k1PubKeyType is the Any type URL of a plain secp256k1 account key.
const secp256k1PubKeyType = "/cosmos.crypto.secp256k1.PubKey"

// signModeDirect is cosmos.tx.signing.v1beta1.SignMode SIGN_MODE_DIRECT.
const signModeDirect = 1

// checkSigner checks that authInfo names exactly one signer, the key pub, signing with
// SIGN_MODE_DIRECT. One signer only: with several, the TxRaw needs every signature, in
// signer order, and a single key cannot complete it.
func checkSigner(authInfo, pub []byte) error {
	infos, err := signerInfos(authInfo)
	if err != nil {
		return err
	}
	if len(infos) != 1 {
		return chains.Invalid("cosmos: AuthInfo has %d signer_infos, want exactly one (this key)", len(infos))
	}
	return checkSignerInfo(infos[0], pub)
}

// signerInfos returns the SignerInfo messages of an AuthInfo, checking its other fields'
// framing only: fee and tip do not decide who signs.
func signerInfos(authInfo []byte) ([][]byte, error) {
	const what = "cosmos: AuthInfo"
	fields, err := pbwire.ReadFields(what, authInfo)
	if err != nil {
		return nil, err
	}
	var infos [][]byte
	seen := singular{}
	for _, f := range fields {
		switch f.Num {
		case authInfoSignerInfos:
			if err := seen.take(what, f, protowire.BytesType, true); err != nil {
				return nil, err
			}
			infos = append(infos, f.Bytes)
		case authInfoFee, authInfoTip:
			if err := seen.take(what, f, protowire.BytesType, false); err != nil {
				return nil, err
			}
		default:
			return nil, chains.Invalid("%s: unknown field %d", what, f.Num)
		}
	}
	return infos, nil
}

// checkSignerInfo checks one SignerInfo: public_key is our key, mode_info is single DIRECT.
func checkSignerInfo(info, pub []byte) error {
	const what = "cosmos: SignerInfo"
	fields, err := pbwire.ReadFields(what, info)
	if err != nil {
		return err
	}
	var key, mode []byte
	seen := singular{}
	for _, f := range fields {
		switch f.Num {
		case signerInfoPublicKey:
			key = f.Bytes
			err = seen.take(what, f, protowire.BytesType, false)
		case signerInfoModeInfo:
			mode = f.Bytes
			err = seen.take(what, f, protowire.BytesType, false)
		case signerInfoSequence:
			err = seen.take(what, f, protowire.VarintType, false)
		default:
			err = chains.Invalid("%s: unknown field %d", what, f.Num)
		}
		if err != nil {
			return err
		}
	}
	if !seen[signerInfoPublicKey] {
		return chains.Invalid("%s: no public_key: the signer must carry this key", what)
	}
	if err := checkPubKeyAny(key, pub); err != nil {
		return err
	}
	return checkModeDirect(mode)
}

// checkPubKeyAny checks that an Any holds a /cosmos.crypto.secp256k1.PubKey equal to pub.
func checkPubKeyAny(anyBytes, pub []byte) error {
	const what = "cosmos: SignerInfo.public_key"
	fields, err := pbwire.ReadFields(what, anyBytes)
	if err != nil {
		return err
	}
	var typeURL string
	var value []byte
	seen := singular{}
	for _, f := range fields {
		switch f.Num {
		case anyTypeURL:
			if err := seen.take(what, f, protowire.BytesType, false); err != nil {
				return err
			}
			if typeURL, err = text(what+" type_url", f); err != nil {
				return err
			}
		case anyValue:
			value = f.Bytes
			err = seen.take(what, f, protowire.BytesType, false)
		default:
			err = chains.Invalid("%s: unknown field %d", what, f.Num)
		}
		if err != nil {
			return err
		}
	}
	if typeURL != secp256k1PubKeyType {
		return chains.Invalid("%s: type %q, want %q", what, typeURL, secp256k1PubKeyType)
	}
	key, err := pubKeyBytes(value)
	if err != nil {
		return err
	}
	if !bytes.Equal(key, pub) {
		return chains.Invalid("%s: the transaction's signer is key %x, not this key %x", what, key, pub)
	}
	return nil
}

// pubKeyBytes returns the key of a cosmos.crypto.secp256k1.PubKey message.
func pubKeyBytes(msg []byte) ([]byte, error) {
	const what = "cosmos: secp256k1.PubKey"
	fields, err := pbwire.ReadFields(what, msg)
	if err != nil {
		return nil, err
	}
	var key []byte
	seen := singular{}
	for _, f := range fields {
		if f.Num != pubKeyKey {
			return nil, chains.Invalid("%s: unknown field %d", what, f.Num)
		}
		if err := seen.take(what, f, protowire.BytesType, false); err != nil {
			return nil, err
		}
		key = f.Bytes
	}
	if len(key) != chainkey.Secp256k1KeySize {
		return nil, chains.Invalid("%s: key is %d bytes, want %d", what, len(key), chainkey.Secp256k1KeySize)
	}
	return key, nil
}

// checkModeDirect checks that a ModeInfo is single with mode SIGN_MODE_DIRECT, the mode whose
// sign bytes are the SignDoc.
func checkModeDirect(modeInfo []byte) error {
	const what = "cosmos: SignerInfo.mode_info"
	fields, err := pbwire.ReadFields(what, modeInfo)
	if err != nil {
		return err
	}
	var single []byte
	seen := singular{}
	for _, f := range fields {
		switch f.Num {
		case modeInfoSingle:
			single = f.Bytes
			err = seen.take(what, f, protowire.BytesType, false)
		case modeInfoMulti:
			err = chains.Invalid("%s: multisig mode is not supported: the key signs alone", what)
		default:
			err = chains.Invalid("%s: unknown field %d", what, f.Num)
		}
		if err != nil {
			return err
		}
	}
	if !seen[modeInfoSingle] {
		return chains.Invalid("%s: no single mode: want SIGN_MODE_DIRECT", what)
	}
	mode, err := singleSignMode(single)
	if err != nil {
		return err
	}
	if mode != signModeDirect {
		return chains.Invalid("%s: sign mode %d, want SIGN_MODE_DIRECT (%d), the mode whose sign bytes are the SignDoc", what, mode, signModeDirect)
	}
	return nil
}

// singleSignMode returns the mode of a ModeInfo.Single (0, SIGN_MODE_UNSPECIFIED, if absent).
func singleSignMode(msg []byte) (uint64, error) {
	const what = "cosmos: ModeInfo.Single"
	fields, err := pbwire.ReadFields(what, msg)
	if err != nil {
		return 0, err
	}
	var mode uint64
	seen := singular{}
	for _, f := range fields {
		if f.Num != singleMode {
			return 0, chains.Invalid("%s: unknown field %d", what, f.Num)
		}
		if err := seen.take(what, f, protowire.VarintType, false); err != nil {
			return 0, err
		}
		mode = f.Varint
	}
	return mode, nil
}
