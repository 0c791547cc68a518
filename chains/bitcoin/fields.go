package bitcoin

import "fmt"

// The PSBT key types of BIP174 (version 0), BIP371 (taproot) and BIP370 (version 2, whose
// fields a version 0 PSBT must not carry), with what their key data and values may be.
// Types not listed here are unknown to this package: BIP174 requires a signer to keep them
// untouched, so they pass through.

type fieldRule struct {
	name   string
	key    lengthRule // allowed lengths of the key data (after the key type)
	value  lengthRule // allowed lengths of the value; nil: any
	v2Only bool       // a PSBT version 2 field, forbidden in version 0
}

// lengthRule reports whether a length is allowed and, when it is not, says what is.
type lengthRule func(n int) (ok bool, want string)

func exactly(ns ...int) lengthRule {
	return func(n int) (bool, string) {
		for _, m := range ns {
			if n == m {
				return true, ""
			}
		}
		if len(ns) == 1 {
			return false, fmt.Sprintf("%d bytes", ns[0])
		}
		return false, fmt.Sprintf("one of %v bytes", ns)
	}
}

// steps allows base, base+step, base+2*step, ... up to base+maxSteps*step (maxSteps < 0: no
// upper bound).
func steps(base, step, maxSteps int) lengthRule {
	return func(n int) (bool, string) {
		k := (n - base) / step
		if n >= base && (n-base)%step == 0 && (maxSteps < 0 || k <= maxSteps) {
			return true, ""
		}
		if maxSteps < 0 {
			return false, fmt.Sprintf("%d + %d·k bytes", base, step)
		}
		return false, fmt.Sprintf("%d + %d·k bytes with k ≤ %d", base, step, maxSteps)
	}
}

// atLeast allows n bytes or more.
func atLeast(n int) lengthRule {
	return func(m int) (bool, string) {
		return m >= n, fmt.Sprintf("at least %d bytes", n)
	}
}

var (
	noKeyData = exactly(0)
	pubKey    = exactly(33, 65)
	xOnlyKey  = exactly(32)
	// A BIP32 derivation is a 4-byte fingerprint and zero or more 4-byte indices.
	derivation = steps(4, 4, -1)
	// A BIP341 control block is 33 bytes and up to 128 32-byte hashes.
	controlBlock  = steps(33, 32, 128)
	schnorrSigLen = exactly(64, 65)
)

var globalFields = map[uint64]fieldRule{
	0x00: {name: "PSBT_GLOBAL_UNSIGNED_TX", key: noKeyData},
	0x01: {name: "PSBT_GLOBAL_XPUB", key: exactly(78), value: derivation},
	0x02: {name: "PSBT_GLOBAL_TX_VERSION", v2Only: true},
	0x03: {name: "PSBT_GLOBAL_FALLBACK_LOCKTIME", v2Only: true},
	0x04: {name: "PSBT_GLOBAL_INPUT_COUNT", v2Only: true},
	0x05: {name: "PSBT_GLOBAL_OUTPUT_COUNT", v2Only: true},
	0x06: {name: "PSBT_GLOBAL_TX_MODIFIABLE", v2Only: true},
	0xfb: {name: "PSBT_GLOBAL_VERSION", key: noKeyData, value: exactly(4)},
}

// Input key types this package reads by name.
const (
	inNonWitnessUTXO     = 0x00
	inWitnessUTXO        = 0x01
	inFinalScriptWitness = 0x08
	inTapBIP32Derivation = 0x16
)

var inputFields = map[uint64]fieldRule{
	0x00: {name: "PSBT_IN_NON_WITNESS_UTXO", key: noKeyData},
	0x01: {name: "PSBT_IN_WITNESS_UTXO", key: noKeyData},
	0x02: {name: "PSBT_IN_PARTIAL_SIG", key: pubKey},
	0x03: {name: "PSBT_IN_SIGHASH_TYPE", key: noKeyData, value: exactly(4)},
	0x04: {name: "PSBT_IN_REDEEM_SCRIPT", key: noKeyData},
	0x05: {name: "PSBT_IN_WITNESS_SCRIPT", key: noKeyData},
	0x06: {name: "PSBT_IN_BIP32_DERIVATION", key: pubKey, value: derivation},
	0x07: {name: "PSBT_IN_FINAL_SCRIPTSIG", key: noKeyData},
	0x08: {name: "PSBT_IN_FINAL_SCRIPTWITNESS", key: noKeyData},
	0x09: {name: "PSBT_IN_POR_COMMITMENT", key: noKeyData},
	0x0a: {name: "PSBT_IN_RIPEMD160", key: exactly(20)},
	0x0b: {name: "PSBT_IN_SHA256", key: exactly(32)},
	0x0c: {name: "PSBT_IN_HASH160", key: exactly(20)},
	0x0d: {name: "PSBT_IN_HASH256", key: exactly(32)},
	0x0e: {name: "PSBT_IN_PREVIOUS_TXID", v2Only: true},
	0x0f: {name: "PSBT_IN_OUTPUT_INDEX", v2Only: true},
	0x10: {name: "PSBT_IN_SEQUENCE", v2Only: true},
	0x11: {name: "PSBT_IN_REQUIRED_TIME_LOCKTIME", v2Only: true},
	0x12: {name: "PSBT_IN_REQUIRED_HEIGHT_LOCKTIME", v2Only: true},
	0x13: {name: "PSBT_IN_TAP_KEY_SIG", key: noKeyData, value: schnorrSigLen},
	0x14: {name: "PSBT_IN_TAP_SCRIPT_SIG", key: exactly(64), value: schnorrSigLen},
	0x15: {name: "PSBT_IN_TAP_LEAF_SCRIPT", key: controlBlock, value: atLeast(1)},
	0x16: {name: "PSBT_IN_TAP_BIP32_DERIVATION", key: xOnlyKey},
	0x17: {name: "PSBT_IN_TAP_INTERNAL_KEY", key: noKeyData, value: exactly(32)},
	0x18: {name: "PSBT_IN_TAP_MERKLE_ROOT", key: noKeyData, value: exactly(32)},
}

// Output key types this package reads by name.
const outTapBIP32Derivation = 0x07

var outputFields = map[uint64]fieldRule{
	0x00: {name: "PSBT_OUT_REDEEM_SCRIPT", key: noKeyData},
	0x01: {name: "PSBT_OUT_WITNESS_SCRIPT", key: noKeyData},
	0x02: {name: "PSBT_OUT_BIP32_DERIVATION", key: pubKey, value: derivation},
	0x03: {name: "PSBT_OUT_AMOUNT", v2Only: true},
	0x04: {name: "PSBT_OUT_SCRIPT", v2Only: true},
	0x05: {name: "PSBT_OUT_TAP_INTERNAL_KEY", key: noKeyData, value: exactly(32)},
	0x06: {name: "PSBT_OUT_TAP_TREE", key: noKeyData},
	0x07: {name: "PSBT_OUT_TAP_BIP32_DERIVATION", key: xOnlyKey},
}

// fieldName names a key type for error messages.
func fieldName(rules map[uint64]fieldRule, keyType uint64) string {
	if r, ok := rules[keyType]; ok {
		return r.name
	}
	return fmt.Sprintf("key type %#x", keyType)
}
