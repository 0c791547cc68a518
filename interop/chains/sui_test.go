package chains

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/block-vision/sui-go-sdk/constant"
	"github.com/block-vision/sui-go-sdk/models"
	"github.com/block-vision/sui-go-sdk/mystenbcs"
	"github.com/block-vision/sui-go-sdk/utils"
	"golang.org/x/crypto/blake2b"

	"github.com/mpcsigner/mpcsigner/interop/harness"
)

// testSui encodes TransactionData with sui-go-sdk's BCS codec (mystenbcs), has the devnet
// sign it, and checks the result with the SDK: its address rule
// (models.Ed25519PublicKeyToSuiAddress), its transaction digest (utils.GetTxDigest), its
// serialized-signature parser (models.FromSerializedSignature) and its intent framing
// (models.NewMessageWithIntent with TransactionDataIntentScope), and verifies the Ed25519
// signature over blake2b-256 of the intent message, which is how Sui validators verify it.
//
// Two gaps in sui-go-sdk v1.1.2 shape this test. Its transaction builder (package transaction)
// needs modules that interop/chains/go.sum does not list, so the TransactionData types are
// declared below, field for field from sui-types' transaction.rs, and encoded by the SDK's
// codec. And its VerifyTransaction frames the transaction bytes as a BCS vector (a length
// prefix) before the intent, as for personal messages, so it rejects genuine transaction
// signatures; the check below is calibrated instead on a transaction the SDK's own tests
// carry with the signature Sui tooling made for it.
func testSui(t *testing.T, d *harness.Devnet, keyID string, pub []byte) {
	suiCalibrate(t)
	me := models.Ed25519PublicKeyToSuiAddress(pub)
	for _, network := range []string{"", "testnet"} {
		if addr := apiAddress(t, d, keyID, "sui", network); addr != me {
			t.Fatalf("API address on %q: %s, want sui-go-sdk's %s", network, addr, me)
		}
	}
	sender := suiAddressBytes(t, me)
	epoch := uint64(812)
	for name, data := range map[string]*suiTxData{
		"transfer SUI":                    suiTransfer(sender, nil),
		"shared object, epoch expiration": suiMoveCall(sender, &suiExpiration{Epoch: &epoch}),
	} {
		t.Run(name, func(t *testing.T) {
			raw, err := mystenbcs.Marshal(data)
			if err != nil {
				t.Fatal(err)
			}
			b64 := base64.StdEncoding.EncodeToString(raw)
			signed := apiSign(t, d, keyID, "sui", "testnet", b64)
			if signed.Transaction != b64 {
				t.Fatal("the signed transaction's bytes are not the unsigned ones")
			}
			sigBytes, err := hex.DecodeString(signed.Signature)
			if err != nil {
				t.Fatal(err)
			}
			suiVerify(t, raw, base64.StdEncoding.EncodeToString(sigBytes), me)
			digest, err := utils.GetTxDigest(b64)
			if err != nil || signed.TxID != digest {
				t.Fatalf("txid %s, sui-go-sdk's digest %s (%v)", signed.TxID, digest, err)
			}
			var back suiTxData
			if n, err := mystenbcs.Unmarshal(raw, &back); err != nil || n != len(raw) || back.V1.Sender != sender {
				t.Fatalf("sui-go-sdk decodes %d of %d bytes and a sender other than the key's (%v)", n, len(raw), err)
			}
		})
	}
	t.Run("refused: another sender", func(t *testing.T) {
		raw, err := mystenbcs.Marshal(suiTransfer(models.SuiAddressBytes{31: 1}, nil))
		if err != nil {
			t.Fatal(err)
		}
		if status := apiSignStatus(t, d, keyID, "sui", "", base64.StdEncoding.EncodeToString(raw)); status != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", status)
		}
	})
}

// suiVerify parses a serialized signature (base64) with sui-go-sdk and verifies it over the
// transaction as Sui does, for the key whose address is addr.
func suiVerify(t *testing.T, tx []byte, serialized, addr string) {
	t.Helper()
	pair, err := models.FromSerializedSignature(serialized)
	if err != nil {
		t.Fatal(err)
	}
	if pair.SignatureScheme != "ED25519" || len(pair.Signature) != ed25519.SignatureSize || len(pair.PubKey) != ed25519.PublicKeySize {
		t.Fatalf("sui-go-sdk reads the signature as %s with a %d-byte signature and %d-byte key", pair.SignatureScheme, len(pair.Signature), len(pair.PubKey))
	}
	if got := models.Ed25519PublicKeyToSuiAddress(pair.PubKey); got != addr {
		t.Fatalf("the signature carries the key of %s, want %s", got, addr)
	}
	digest := blake2b.Sum256(models.NewMessageWithIntent(tx, constant.TransactionDataIntentScope))
	if !ed25519.Verify(pair.PubKey, digest[:], pair.Signature) {
		t.Fatal("the signature does not verify over blake2b(intent message)")
	}
}

// suiCalibrate runs suiVerify on a transaction signed by Sui tooling: sui-go-sdk v1.1.2
// sui/sui_test.go (TestOnWriteTransactionToSui) submits these TxBytes with this signature.
func suiCalibrate(t *testing.T) {
	t.Helper()
	const (
		txBytes   = "AAACAQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABQEAAAAAAAAAAQEAjgDW4hJZlqvw654RGR3SdndKkdjoC0pzXQLxja/NUahLowQAAAAAACBEQGwClI9RQX68dzbN7PN29/Pw/Sc1hbtZwNAny7wZ+wEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAMKc3VpX3N5c3RlbRZyZXF1ZXN0X3dpdGhkcmF3X3N0YWtlAAIBAAABAQC3+Y0yfxn2dDR+HkBkFAglMULW5+UJOnyW7ajN/X2btQEqzrI5x8BMQ6LjmCSgAykfjisdYCcyTfW79nyzDB/PvtZBpwAAAAAAIAm+IREDziwoZLm7lc4ZKegZ2J5viEgoss9zgrFkHLh6t/mNMn8Z9nQ0fh5AZBQIJTFC1uflCTp8lu2ozf19m7XoAwAAAAAAAFDhjyoAAAAAAA=="
		signature = "ALISOTYXKlmBvQ1Uc4UrlWieczU9cGwkyT0Mg65Y2r6VvriElBGB63JDjqg1714Z8B0m84g3S4yrJIIws+leugKOjKY5Wf3dV/la/GVL26whJPWy7WsrWUH2wtmlmcgN6w=="
		signer    = "0xb7f98d327f19f674347e1e40641408253142d6e7e5093a7c96eda8cdfd7d9bb5"
	)
	tx, _ := base64.StdEncoding.DecodeString(txBytes)
	var data suiTxData
	if n, err := mystenbcs.Unmarshal(tx, &data); err != nil || n != len(tx) || "0x"+hex.EncodeToString(data.V1.Sender[:]) != signer {
		t.Fatalf("the calibration transaction does not decode to its signer (%v)", err)
	}
	suiVerify(t, tx, signature, signer)
	// And the check refuses the signature over a changed transaction.
	changed := bytes.Clone(tx)
	changed[len(changed)-2] ^= 1
	digest := blake2b.Sum256(models.NewMessageWithIntent(changed, constant.TransactionDataIntentScope))
	pair, _ := models.FromSerializedSignature(signature)
	if ed25519.Verify(pair.PubKey, digest[:], pair.Signature) {
		t.Fatal("the signature verifies over a changed transaction")
	}
}

func suiAddressBytes(t *testing.T, addr string) models.SuiAddressBytes {
	t.Helper()
	b, err := hex.DecodeString(addr[2:])
	if err != nil || len(b) != 32 {
		t.Fatalf("address %s is not 0x and 32 bytes of hex", addr)
	}
	return models.SuiAddressBytes(b)
}

// suiTransfer is what the SDKs build to send SUI: split 1000 MIST off the gas coin and
// transfer the new coin to the sender.
func suiTransfer(sender models.SuiAddressBytes, expiry *suiExpiration) *suiTxData {
	amount, to := uint16(0), uint16(1)
	split, sub := uint16(0), uint16(0)
	return suiTx(sender, expiry, []*suiCallArg{
		{Pure: &suiPure{Bytes: []byte{0xe8, 3, 0, 0, 0, 0, 0, 0}}},
		{Pure: &suiPure{Bytes: sender[:]}},
	}, []*suiCommand{
		{SplitCoins: &suiSplitCoins{Coin: &suiArgument{GasCoin: &struct{}{}}, Amounts: []*suiArgument{{Input: &amount}}}},
		{TransferObjects: &suiTransferObjects{Objects: []*suiArgument{{NestedResult: &suiNestedResult{split, sub}}}, Address: &suiArgument{Input: &to}}},
	})
}

// suiMoveCall merges an owned coin into the gas coin, then calls a Move function with a
// shared object and a receiving object.
func suiMoveCall(sender models.SuiAddressBytes, expiry *suiExpiration) *suiTxData {
	coin, shared, receiving := uint16(0), uint16(1), uint16(2)
	pkg := models.SuiAddressBytes{31: 0x2}
	return suiTx(sender, expiry, []*suiCallArg{
		{Object: &suiObjectArg{ImmOrOwnedObject: suiRef(0x11)}},
		{Object: &suiObjectArg{SharedObject: &suiSharedObject{ID: models.SuiAddressBytes{31: 6}, InitialSharedVersion: 1, Mutable: false}}},
		{Object: &suiObjectArg{Receiving: suiRef(0x12)}},
	}, []*suiCommand{
		{MergeCoins: &suiMergeCoins{Destination: &suiArgument{GasCoin: &struct{}{}}, Sources: []*suiArgument{{Input: &coin}}}},
		{MoveCall: &suiMoveCallCmd{Package: pkg, Module: "clock", Function: "timestamp_ms", Arguments: []*suiArgument{{Input: &shared}, {Input: &receiving}}}},
	})
}

func suiTx(sender models.SuiAddressBytes, expiry *suiExpiration, inputs []*suiCallArg, commands []*suiCommand) *suiTxData {
	if expiry == nil {
		expiry = &suiExpiration{None: &struct{}{}}
	}
	return &suiTxData{V1: &suiTxDataV1{
		Kind:       &suiTxKind{ProgrammableTransaction: &suiPTB{Inputs: inputs, Commands: commands}},
		Sender:     sender,
		GasData:    suiGasData{Payment: []*suiObjectRef{suiRef(0x9a)}, Owner: sender, Price: 1000, Budget: 10_000_000},
		Expiration: expiry,
	}}
}

func suiRef(id byte) *suiObjectRef {
	return &suiObjectRef{ObjectID: models.SuiAddressBytes{31: id}, Version: 77, Digest: bytes.Repeat([]byte{id}, 32)}
}

// The TransactionData schema (sui-types transaction.rs), as sui-go-sdk's codec encodes Rust
// enums: a struct marked by IsBcsEnum whose one non-nil field is the variant, by position.
// The methods have value receivers because the codec looks for them on the value when an
// enum is the payload of another enum's variant.

type suiTxData struct{ V1 *suiTxDataV1 }

func (suiTxData) IsBcsEnum() {}

type suiTxDataV1 struct {
	Kind       *suiTxKind
	Sender     models.SuiAddressBytes
	GasData    suiGasData
	Expiration *suiExpiration
}

type suiTxKind struct{ ProgrammableTransaction *suiPTB }

func (suiTxKind) IsBcsEnum() {}

type suiPTB struct {
	Inputs   []*suiCallArg
	Commands []*suiCommand
}

type suiCallArg struct {
	Pure   *suiPure
	Object *suiObjectArg
}

func (suiCallArg) IsBcsEnum() {}

type suiPure struct{ Bytes []byte }

type suiObjectArg struct {
	ImmOrOwnedObject *suiObjectRef
	SharedObject     *suiSharedObject
	Receiving        *suiObjectRef
}

func (suiObjectArg) IsBcsEnum() {}

type suiObjectRef struct {
	ObjectID models.SuiAddressBytes
	Version  uint64
	Digest   models.ObjectDigestBytes
}

type suiSharedObject struct {
	ID                   models.SuiAddressBytes
	InitialSharedVersion uint64
	Mutable              bool
}

type suiCommand struct {
	MoveCall        *suiMoveCallCmd
	TransferObjects *suiTransferObjects
	SplitCoins      *suiSplitCoins
	MergeCoins      *suiMergeCoins
}

func (suiCommand) IsBcsEnum() {}

type suiMoveCallCmd struct {
	Package       models.SuiAddressBytes
	Module        string
	Function      string
	TypeArguments []*suiArgument // always empty here: no TypeInput is declared
	Arguments     []*suiArgument
}

type suiTransferObjects struct {
	Objects []*suiArgument
	Address *suiArgument
}

type suiSplitCoins struct {
	Coin    *suiArgument
	Amounts []*suiArgument
}

type suiMergeCoins struct {
	Destination *suiArgument
	Sources     []*suiArgument
}

type suiArgument struct {
	GasCoin      *struct{}
	Input        *uint16
	Result       *uint16
	NestedResult *suiNestedResult
}

func (suiArgument) IsBcsEnum() {}

type suiNestedResult struct{ Command, Result uint16 }

type suiGasData struct {
	Payment []*suiObjectRef
	Owner   models.SuiAddressBytes
	Price   uint64
	Budget  uint64
}

type suiExpiration struct {
	None  *struct{}
	Epoch *uint64
}

func (suiExpiration) IsBcsEnum() {}
