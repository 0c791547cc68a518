package bitcoin

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// Key is one threshold key that SignPSBT may sign with.
type Key struct {
	// ID names the key in errors and results.
	ID string
	// Signer is the key: ecdsa-secp256k1 (spends P2WPKH) or bip340 (spends P2TR by key
	// path; its public key is the BIP86 output key).
	Signer chains.Signer
	// InternalKey is a bip340 key's untweaked x-only internal key, when known: it is
	// checked against the output key and written to PSBT_IN_TAP_INTERNAL_KEY.
	InternalKey []byte
}

// SignOptions tunes SignPSBT.
type SignOptions struct {
	// Finalize finalizes the inputs signed and, when every input is then final, extracts
	// the network transaction.
	Finalize bool
}

// Result is what SignPSBT produced.
type Result struct {
	// PSBT is the updated PSBT, serialized.
	PSBT []byte
	// SignedInputs are the inputs signed, ascending.
	SignedInputs []int
	// Signatures are the signatures made, by input, as the PSBT carries them: DER plus the
	// sighash byte for P2WPKH, 64 or 65 bytes for taproot.
	Signatures []InputSignature
	// Complete reports whether every input is final.
	Complete bool
	// Tx is the signed network transaction, when Finalize was asked and Complete holds;
	// TxID is its id as explorers show it.
	Tx   []byte
	TxID string
}

// InputSignature is one signature SignPSBT made.
type InputSignature struct {
	Input     int
	KeyID     string
	Signature []byte
}

// SignPSBT signs every input of a PSBT that spends P2WPKH of one of keys' ECDSA keys or P2TR
// (key path) of one of their BIP340 output keys, and leaves every other input as it was.
// Each digest is computed from the PSBT's own UTXO data, and each signature is verified
// before it is written; if any input of ours cannot be signed safely (see planInput), or any
// signature fails, nothing is signed and the error says why. net names addresses in
// errors; the bytes signed do not depend on it.
func SignPSBT(ctx context.Context, net *Network, keys []Key, raw []byte, opt SignOptions) (*Result, error) {
	if net == nil {
		return nil, errors.New("bitcoin: SignPSBT needs a network")
	}
	sks, err := newSigningKeys(net, keys)
	if err != nil {
		return nil, err
	}
	pkt, err := ParsePSBT(raw)
	if err != nil {
		return nil, err
	}
	prevs := collectPrevOutputs(pkt)
	jobs, err := planJobs(pkt, prevs, sks)
	if err != nil {
		return nil, err
	}
	sigs, err := signJobs(ctx, jobs)
	if err != nil {
		return nil, err
	}
	return finish(pkt, prevs, jobs, sigs, opt)
}

// finish writes the checked signatures into the PSBT, finalizes and extracts when asked,
// and serializes the result.
func finish(pkt *psbt.Packet, prevs *prevOutputs, jobs []*job, sigs [][]byte, opt SignOptions) (*Result, error) {
	res := &Result{}
	for i, j := range jobs {
		j.write(pkt, sigs[i])
		res.SignedInputs = append(res.SignedInputs, j.input)
		res.Signatures = append(res.Signatures, InputSignature{Input: j.input, KeyID: j.key.ID, Signature: sigs[i]})
	}
	if opt.Finalize {
		if err := finalizeJobs(pkt, jobs); err != nil {
			return nil, err
		}
	}
	res.Complete = pkt.IsComplete()
	if opt.Finalize && res.Complete {
		tx, err := extractVerified(pkt, prevs, jobs)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := tx.Serialize(&buf); err != nil {
			return nil, fmt.Errorf("bitcoin: serializing the signed transaction: %w", err)
		}
		res.Tx, res.TxID = buf.Bytes(), tx.TxHash().String()
	}
	var buf bytes.Buffer
	if err := pkt.Serialize(&buf); err != nil {
		return nil, fmt.Errorf("bitcoin: serializing the PSBT: %w", err)
	}
	res.PSBT = buf.Bytes()
	return res, nil
}

// signingKey is a Key with what signing needs derived from its public key.
type signingKey struct {
	Key
	scheme    protocol.Scheme
	pub       []byte           // Signer.PublicKey()
	verifyKey *btcec.PublicKey // the key signatures verify under (BIP340: the output key)
	script    []byte           // the output script the key spends
	address   string
}

func newSigningKeys(net *Network, keys []Key) ([]*signingKey, error) {
	if len(keys) == 0 {
		return nil, chains.Invalid("no keys to sign with")
	}
	out := make([]*signingKey, 0, len(keys))
	seen := map[string]string{}
	for _, k := range keys {
		sk, err := newSigningKey(net, k)
		if err != nil {
			return nil, err
		}
		if other, dup := seen[string(sk.script)]; dup {
			return nil, chains.Invalid("keys %q and %q are the same key", other, k.ID)
		}
		seen[string(sk.script)] = k.ID
		out = append(out, sk)
	}
	return out, nil
}

func newSigningKey(net *Network, k Key) (*signingKey, error) {
	if k.Signer == nil {
		return nil, chains.Invalid("key %q: no signer", k.ID)
	}
	sk := &signingKey{Key: k, scheme: k.Signer.Scheme(), pub: k.Signer.PublicKey()}
	var err error
	switch sk.scheme {
	case protocol.SchemeECDSASecp256k1:
		err = sk.deriveWPKH(net)
	case protocol.SchemeBIP340:
		err = sk.deriveTaproot(net)
	default:
		err = chains.Invalid("scheme %s: Bitcoin spends with %s (P2WPKH) or %s (P2TR) keys", sk.scheme, protocol.SchemeECDSASecp256k1, protocol.SchemeBIP340)
	}
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", k.ID, err)
	}
	return sk, nil
}

func (sk *signingKey) deriveWPKH(net *Network) error {
	var err error
	if sk.verifyKey, err = parseECDSAKey(sk.pub); err != nil {
		return err
	}
	if sk.script, err = P2WPKHScript(sk.pub); err != nil {
		return err
	}
	sk.address, err = P2WPKHAddress(net, sk.pub)
	return err
}

func (sk *signingKey) deriveTaproot(net *Network) error {
	var err error
	if sk.verifyKey, err = parseXOnlyKey("output key", sk.pub); err != nil {
		return err
	}
	if err := checkInternalKey(sk.InternalKey, sk.pub); err != nil {
		return err
	}
	if sk.script, err = P2TRScript(sk.pub); err != nil {
		return err
	}
	sk.address, err = P2TRAddress(net, sk.pub)
	return err
}

// checkInternalKey checks that an internal key, when given, is the BIP86 internal key of
// outputKey.
func checkInternalKey(internalKey, outputKey []byte) error {
	if internalKey == nil {
		return nil
	}
	q, err := TaprootOutputKey(internalKey)
	if err != nil {
		return err
	}
	if !bytes.Equal(q, outputKey) {
		return chains.Invalid("internal key %x tweaks (BIP86) to %x, not to the output key %x", internalKey, q, outputKey)
	}
	return nil
}

// job is one signature to make: an input of ours and the digest its key signs.
type job struct {
	input    int
	key      *signingKey
	taproot  bool
	hashType txscript.SigHashType
	digest   [32]byte
	prevOut  *wire.TxOut
}

// planJobs finds the inputs keys sign and computes their digests, or refuses the PSBT.
func planJobs(pkt *psbt.Packet, prevs *prevOutputs, keys []*signingKey) ([]*job, error) {
	hashes := txscript.NewTxSigHashes(pkt.UnsignedTx, prevs)
	var jobs []*job
	for i := range pkt.Inputs {
		j, err := planInput(pkt, i, prevs, hashes, keys)
		if err != nil {
			return nil, err
		}
		if j != nil {
			jobs = append(jobs, j)
		}
	}
	return jobs, nil
}

// planInput returns the job for input i, nil if the input is not ours to sign, or an error
// if it is ours but cannot be signed safely. An input is ours when the output it spends is
// one of our keys' scripts; one that gives no spent output but names one of our keys is
// refused rather than skipped, since it is most likely ours and missing its data.
func planInput(pkt *psbt.Packet, i int, prevs *prevOutputs, hashes *txscript.TxSigHashes, keys []*signingKey) (*job, error) {
	in := &pkt.Inputs[i]
	if in.FinalScriptSig != nil || in.FinalScriptWitness != nil {
		return nil, nil // already final: someone signed it
	}
	spent := spentOutput(pkt, i)
	if spent == nil {
		if k := keyNamedBy(in, keys); k != nil {
			return nil, chains.Invalid("input %d: names key %q (%s) but carries neither PSBT_IN_NON_WITNESS_UTXO nor PSBT_IN_WITNESS_UTXO, so what it spends cannot be checked", i, k.ID, k.address)
		}
		return nil, nil
	}
	k := keyForScript(keys, spent.PkScript)
	if k == nil {
		return nil, nil
	}
	j := &job{input: i, key: k, prevOut: spent, taproot: k.scheme == protocol.SchemeBIP340}
	var err error
	if j.taproot {
		err = planTaproot(pkt, j, prevs, hashes)
	} else {
		err = planWPKH(pkt, j, hashes)
	}
	if err != nil {
		return nil, err
	}
	return j, nil
}

// planWPKH prepares a P2WPKH input. BIP143 commits to the amount of the input signed but
// not to the others', so a PSBT could lie about amounts across two signing rounds and make
// the fee arbitrarily large (CVE-2020-14199); the whole previous transaction, whose txid
// ParsePSBT checked against the outpoint, is the only proof of the amount.
func planWPKH(pkt *psbt.Packet, j *job, hashes *txscript.TxSigHashes) error {
	in := &pkt.Inputs[j.input]
	if in.NonWitnessUtxo == nil {
		return chains.Invalid("input %d: spends P2WPKH of key %q (%s) but has no PSBT_IN_NON_WITNESS_UTXO: a segwit v0 signature commits to its amount, which only the full previous transaction proves (CVE-2020-14199)", j.input, j.key.ID, j.key.address)
	}
	ht, err := sigHashType(in, false)
	if err != nil {
		return chains.Invalid("input %d: %v", j.input, err)
	}
	j.hashType = ht
	if j.digest, err = witnessV0Digest(pkt.UnsignedTx, hashes, j.input, j.prevOut, ht); err != nil {
		return chains.Invalid("input %d: sighash: %v", j.input, err)
	}
	return nil
}

// planTaproot prepares a P2TR key-path input. BIP341 commits to the amount and script of
// every input, so each must be given; our keys are BIP86 (no script tree), so a merkle root
// or an internal key that does not tweak to the output key contradicts the key.
func planTaproot(pkt *psbt.Packet, j *job, prevs *prevOutputs, hashes *txscript.TxSigHashes) error {
	in := &pkt.Inputs[j.input]
	if len(prevs.missing) > 0 {
		return chains.Invalid("input %d: a taproot signature commits to the amount and script of every input, but input %d has neither PSBT_IN_WITNESS_UTXO nor PSBT_IN_NON_WITNESS_UTXO", j.input, prevs.missing[0])
	}
	if in.TaprootMerkleRoot != nil {
		return chains.Invalid("input %d: has PSBT_IN_TAP_MERKLE_ROOT, but key %q is a BIP86 key with no script tree", j.input, j.key.ID)
	}
	if in.TaprootInternalKey != nil {
		if err := checkInternalKey(in.TaprootInternalKey, j.key.pub); err != nil {
			return chains.Invalid("input %d: PSBT_IN_TAP_INTERNAL_KEY: %v", j.input, err)
		}
	}
	ht, err := sigHashType(in, true)
	if err != nil {
		return chains.Invalid("input %d: %v", j.input, err)
	}
	j.hashType = ht
	if j.digest, err = taprootDigest(pkt.UnsignedTx, hashes, prevs, j.input, ht); err != nil {
		return chains.Invalid("input %d: sighash: %v", j.input, err)
	}
	return nil
}

// keyForScript is the key whose output script is spk, or nil.
func keyForScript(keys []*signingKey, spk []byte) *signingKey {
	for _, k := range keys {
		if bytes.Equal(k.script, spk) {
			return k
		}
	}
	return nil
}

// keyNamedBy is one of our keys that an input names in a key-carrying field, or nil.
func keyNamedBy(in *psbt.PInput, keys []*signingKey) *signingKey {
	for _, k := range keys {
		for _, d := range in.Bip32Derivation {
			if bytes.Equal(d.PubKey, k.pub) {
				return k
			}
		}
		for _, s := range in.PartialSigs {
			if bytes.Equal(s.PubKey, k.pub) {
				return k
			}
		}
		for _, d := range in.TaprootBip32Derivation {
			if bytes.Equal(d.XOnlyPubKey, k.pub) || (k.InternalKey != nil && bytes.Equal(d.XOnlyPubKey, k.InternalKey)) {
				return k
			}
		}
		if k.InternalKey != nil && bytes.Equal(in.TaprootInternalKey, k.InternalKey) {
			return k
		}
	}
	return nil
}

// signJobs has each job's key sign its digest and checks every signature; it returns the
// signatures as the PSBT will carry them, or the first failure.
func signJobs(ctx context.Context, jobs []*job) ([][]byte, error) {
	sigs := make([][]byte, len(jobs))
	for i, j := range jobs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sig, err := j.sign(ctx)
		if err != nil {
			return nil, fmt.Errorf("bitcoin: input %d, key %q: %w", j.input, j.key.ID, err)
		}
		sigs[i] = sig
	}
	return sigs, nil
}

func (j *job) sign(ctx context.Context) ([]byte, error) {
	sig, err := j.key.Signer.SignDigest(ctx, j.digest)
	if err != nil {
		return nil, err
	}
	if j.taproot {
		s, err := schnorrSig(sig, j.digest, j.key.verifyKey)
		if err != nil {
			return nil, err
		}
		if j.hashType != txscript.SigHashDefault {
			s = append(s, byte(j.hashType))
		}
		return s, nil
	}
	der, err := ecdsaDER(sig, j.digest, j.key.verifyKey)
	if err != nil {
		return nil, err
	}
	return append(der, byte(j.hashType)), nil
}

// write puts a checked signature into the PSBT. It also records the spent output as
// witness_utxo, as BIP174 asks for segwit inputs and as psbt's finalizer needs.
func (j *job) write(pkt *psbt.Packet, sig []byte) {
	in := &pkt.Inputs[j.input]
	if in.WitnessUtxo == nil {
		in.WitnessUtxo = wire.NewTxOut(j.prevOut.Value, append([]byte(nil), j.prevOut.PkScript...))
	}
	if j.taproot {
		in.TaprootKeySpendSig = sig
		if in.TaprootInternalKey == nil && j.key.InternalKey != nil {
			in.TaprootInternalKey = append([]byte(nil), j.key.InternalKey...)
		}
		return
	}
	for _, ps := range in.PartialSigs {
		if bytes.Equal(ps.PubKey, j.key.pub) {
			ps.Signature = sig
			return
		}
	}
	in.PartialSigs = append(in.PartialSigs, &psbt.PartialSig{PubKey: append([]byte(nil), j.key.pub...), Signature: sig})
}

// finalizeJobs finalizes the inputs just signed. Inputs signed by others are left for their
// signers or a finalizer: this signer finalizes only what it has verified.
func finalizeJobs(pkt *psbt.Packet, jobs []*job) error {
	for _, j := range jobs {
		if _, err := psbt.MaybeFinalize(pkt, j.input); err != nil {
			return chains.Invalid("input %d: cannot be finalized: %v", j.input, err)
		}
	}
	return nil
}

// extractVerified extracts the network transaction of a complete PSBT and runs the script
// of every input signed here through txscript's engine, with the standardness flags, so that
// a finalization that went wrong is an error rather than an unspendable transaction.
func extractVerified(pkt *psbt.Packet, prevs *prevOutputs, jobs []*job) (*wire.MsgTx, error) {
	tx, err := psbt.Extract(pkt)
	if err != nil {
		return nil, chains.Invalid("cannot extract the transaction: %v", err)
	}
	hashes := txscript.NewTxSigHashes(tx, prevs)
	for _, j := range jobs {
		vm, err := txscript.NewEngine(j.prevOut.PkScript, tx, j.input, txscript.StandardVerifyFlags, nil, hashes, j.prevOut.Value, prevs)
		if err == nil {
			err = vm.Execute()
		}
		if err != nil {
			return nil, fmt.Errorf("bitcoin: input %d: the finalized spend does not verify: %w", j.input, err)
		}
	}
	return tx, nil
}
