// Package bitcoin is everything chain-specific about spending Bitcoin (and chains with the
// same script and sighash rules, such as Litecoin, which configure it with their own
// network parameters) that the signer's front doors need: addresses of threshold keys,
// output descriptors for Bitcoin Core's external-signer interface, and PSBT signing.
//
// # Keys and outputs
//
// An ecdsa-secp256k1 key (33-byte compressed) spends P2WPKH outputs (BIP141/143). A bip340
// key's public key is the x-only BIP86 output key Q and spends P2TR outputs by key path
// (BIP341); its untweaked internal key P may be known too, for tr() descriptors and
// PSBT_IN_TAP_INTERNAL_KEY. Nothing else is signed: no legacy, nested or script-path
// spends, and no multisig.
//
// # PSBTs
//
// DecodePSBT and ParsePSBT are the decoders of untrusted input (trust rule 5). They cap the
// size (MaxPSBTBytes, MaxPSBTInputs, MaxPSBTOutputs), walk every length before btcd's
// parser allocates for it, accept version 0 only, and refuse duplicate keys, fields of the
// wrong length, trailing bytes and PSBTs whose parts disagree (a previous transaction with
// the wrong txid, a witness_utxo unlike it, scripts that do not hash to what they spend).
// Errors wrap chains.ErrInvalid and name the map and the field ("input 2:
// PSBT_IN_WITNESS_UTXO: ...").
//
// SignPSBT signs the inputs that spend one of the given keys' outputs and leaves every
// other input untouched. It computes each digest itself, with txscript, from the PSBT's own
// UTXO data, and refuses, rather than skips, an input of ours it cannot sign safely: a
// P2WPKH input without its full previous transaction (BIP143 commits only to the input's
// own amount: CVE-2020-14199), a taproot input when any input of the transaction lacks its
// spent output (BIP341 commits to all of them), a sighash type other than ALL (or DEFAULT
// for taproot). Every signature a Signer returns is verified with btcec against the digest
// before it is written; if any check fails, nothing is written. With Finalize, the inputs
// it signed are finalized, and a complete transaction is extracted, and the inputs signed
// run through txscript's engine with the standardness flags, before it is returned.
//
// It must never hold or derive a private key, sign a digest it did not compute from the
// PSBT, write a signature it has not verified, do I/O, or import host or enclave.
package bitcoin
