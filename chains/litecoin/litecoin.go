// Package litecoin is Litecoin for the signer's front doors. Litecoin spends with exactly
// Bitcoin's script and sighash rules (segwit v0, BIP143; taproot, BIP341), so this package
// only names its networks and their parameters and hands them to chains/bitcoin, which does
// the addresses, descriptors and PSBT signing.
//
// The parameters are Litecoin Core's (src/chainparams.cpp): bech32 prefixes ltc, tltc and
// rltc, base58 prefixes, message start bytes and default ports; the coin types are
// SLIP-44's. Of chaincfg.Params only those fields are filled: nothing here uses the rest
// (genesis, proof of work, deployments), and a copy of Bitcoin's would mislead.
//
// MWEB (Litecoin's extension blocks) is not supported: a PSBT whose previous transactions
// use the MWEB serialization is refused by the PSBT decoder.
//
// It must never hold a key, duplicate chains/bitcoin's signing logic, do I/O, or import host
// or enclave.
package litecoin

import (
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/mpcsigner/mpcsigner/chains/bitcoin"
)

// SLIP-44 coin types: 2 is Litecoin; 1 is "testnet (all coins)".
const (
	coinTypeMainnet = 2
	coinTypeTestnet = 1
)

// Litecoin's networks, the default first.
var (
	Mainnet = bitcoin.NewNetwork("mainnet", &chaincfg.Params{
		Name:             "litecoin-mainnet",
		Net:              wire.BitcoinNet(0xdbb6c0fb), // message start fb c0 b6 db
		DefaultPort:      "9333",
		Bech32HRPSegwit:  "ltc",
		PubKeyHashAddrID: 48, // L...
		ScriptHashAddrID: 50, // M... (SCRIPT_ADDRESS2; the legacy 5 gives 3... addresses)
		PrivateKeyID:     176,
		HDPublicKeyID:    [4]byte{0x04, 0x88, 0xb2, 0x1e},
		HDPrivateKeyID:   [4]byte{0x04, 0x88, 0xad, 0xe4},
		HDCoinType:       coinTypeMainnet,
	})
	Testnet = bitcoin.NewNetwork("testnet", &chaincfg.Params{
		Name:             "litecoin-testnet",
		Net:              wire.BitcoinNet(0xf1c8d2fd), // message start fd d2 c8 f1
		DefaultPort:      "19335",
		Bech32HRPSegwit:  "tltc",
		PubKeyHashAddrID: 111,
		ScriptHashAddrID: 58, // Q... (SCRIPT_ADDRESS2)
		PrivateKeyID:     239,
		HDPublicKeyID:    [4]byte{0x04, 0x35, 0x87, 0xcf},
		HDPrivateKeyID:   [4]byte{0x04, 0x35, 0x83, 0x94},
		HDCoinType:       coinTypeTestnet,
	})
	Regtest = bitcoin.NewNetwork("regtest", &chaincfg.Params{
		Name:             "litecoin-regtest",
		Net:              wire.BitcoinNet(0xdab5bffa), // message start fa bf b5 da
		DefaultPort:      "19444",
		Bech32HRPSegwit:  "rltc",
		PubKeyHashAddrID: 111,
		ScriptHashAddrID: 58,
		PrivateKeyID:     239,
		HDPublicKeyID:    [4]byte{0x04, 0x35, 0x87, 0xcf},
		HDPrivateKeyID:   [4]byte{0x04, 0x35, 0x83, 0x94},
		HDCoinType:       coinTypeTestnet,
	})
)

var chain = func() *bitcoin.Chain {
	c, err := bitcoin.NewChain("litecoin", Mainnet, Testnet, Regtest)
	if err != nil {
		panic(err)
	}
	return c
}()

// Chain is Litecoin: mainnet (the default), testnet and regtest. It is a chains.Chain whose
// transactions are base64 PSBTs; bitcoin.SignPSBT with one of its networks signs PSBTs
// directly.
func Chain() *bitcoin.Chain { return chain }
