package bitcoin

import (
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"

	"github.com/mpcsigner/mpcsigner/chains"
)

// parseECDSAKey parses a 33-byte compressed secp256k1 key. Segwit v0 standardness
// (BIP143) admits compressed keys only, so an uncompressed one is refused here rather than
// made into an address whose coins could not be spent by standard transactions.
func parseECDSAKey(pub []byte) (*btcec.PublicKey, error) {
	if len(pub) != btcec.PubKeyBytesLenCompressed || (pub[0] != 0x02 && pub[0] != 0x03) {
		return nil, chains.Invalid("public key: want a 33-byte compressed secp256k1 key, got %d bytes", len(pub))
	}
	k, err := btcec.ParsePubKey(pub)
	if err != nil {
		return nil, chains.Invalid("public key: %v", err)
	}
	return k, nil
}

// parseXOnlyKey parses a 32-byte BIP340 x-only key.
func parseXOnlyKey(what string, key []byte) (*btcec.PublicKey, error) {
	if len(key) != schnorr.PubKeyBytesLen {
		return nil, chains.Invalid("%s: want a 32-byte x-only key, got %d bytes", what, len(key))
	}
	k, err := schnorr.ParsePubKey(key)
	if err != nil {
		return nil, chains.Invalid("%s: %v", what, err)
	}
	return k, nil
}

// P2WPKHScript is the output script that pays to the compressed secp256k1 key pub:
// OP_0 <HASH160(pub)>.
func P2WPKHScript(pub []byte) ([]byte, error) {
	if _, err := parseECDSAKey(pub); err != nil {
		return nil, err
	}
	return txscript.NewScriptBuilder().AddOp(txscript.OP_0).AddData(btcutil.Hash160(pub)).Script()
}

// P2TRScript is the output script that pays to the taproot output key Q (x-only, as a
// BIP340 Signer's public key): OP_1 <Q>.
func P2TRScript(outputKey []byte) ([]byte, error) {
	k, err := parseXOnlyKey("output key", outputKey)
	if err != nil {
		return nil, err
	}
	return txscript.PayToTaprootScript(k)
}

// P2WPKHAddress is the bech32 (BIP173) address of P2WPKHScript(pub) on net.
func P2WPKHAddress(net *Network, pub []byte) (string, error) {
	if _, err := parseECDSAKey(pub); err != nil {
		return "", err
	}
	a, err := btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(pub), net.params)
	if err != nil {
		return "", chains.Invalid("public key: %v", err)
	}
	return a.EncodeAddress(), nil
}

// P2TRAddress is the bech32m (BIP350) address of P2TRScript(outputKey) on net.
func P2TRAddress(net *Network, outputKey []byte) (string, error) {
	if _, err := parseXOnlyKey("output key", outputKey); err != nil {
		return "", err
	}
	a, err := btcutil.NewAddressTaproot(outputKey, net.params)
	if err != nil {
		return "", chains.Invalid("output key: %v", err)
	}
	return a.EncodeAddress(), nil
}

// TaprootOutputKey is the BIP86 output key Q = P + H_TapTweak(P)·G of an internal key P
// with no script tree (both x-only). A BIP340 Signer's public key is such a Q.
func TaprootOutputKey(internalKey []byte) ([]byte, error) {
	p, err := parseXOnlyKey("internal key", internalKey)
	if err != nil {
		return nil, err
	}
	return schnorr.SerializePubKey(txscript.ComputeTaprootKeyNoScript(p)), nil
}
