package main

import (
	"bytes"
	"context"
	endian "encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// TestLitecoindRegtest locks regtest coinbases to a threshold ECDSA key (P2WPKH) and a threshold
// BIP340 key (P2TR), spends them with PSBTs signed by the cluster, through the native API and
// through the Bitcoin Core external-signer command, and has litecoind, a consensus validator
// that shares no code with the signer or with btcd, accept and confirm every spend and refuse
// one whose signature was altered by a single bit.
func TestLitecoindRegtest(t *testing.T) {
	bin := requireLitecoind(t, "spending P2WPKH and P2TR outputs with PSBTs signed by /v1/psbt/sign and `mpcsigner bitcoin-signer`")
	node := startLitecoind(t, bin)
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"))
	client, err := api.NewClient(api.ClientOptions{URL: d.info.API, TokenFile: d.info.TokenFile})
	if err != nil {
		t.Fatal(err)
	}

	// The node's wallet only provides addresses to mine to and to pay; it never signs.
	node.must(t, nil, "createwallet", "sink")
	sinkAddr, sinkScript := node.newAddress(t)

	keys := []*regtestKey{
		newRegtestKey(t, d, client, node, "ecdsa-secp256k1"),
		newRegtestKey(t, d, client, node, "bip340"),
	}
	for _, k := range keys {
		k.fund(t, node, coinsPerKey)
	}
	node.mine(t, coinbaseMaturity+1, sinkAddr)

	t.Run("psbt api", func(t *testing.T) {
		for _, k := range keys {
			t.Run(k.key.Scheme, func(t *testing.T) {
				tx := signThroughAPI(t, client, spendPSBT(t, k.coins[coinAPI], sinkScript))
				node.broadcastAndConfirm(t, tx, sinkAddr)
			})
		}
	})

	t.Run("tampered signature", func(t *testing.T) {
		for _, k := range keys {
			t.Run(k.key.Scheme, func(t *testing.T) {
				tx := signThroughAPI(t, client, spendPSBT(t, k.coins[coinTampered], sinkScript))
				// The untouched transaction is the control: only the flipped bit may change
				// the node's answer.
				if v := node.testMempoolAccept(t, tx); !v.Allowed {
					t.Fatalf("litecoind rejects the untampered transaction: %s", v.RejectReason)
				}
				bad := tx.Copy()
				flipSignatureBit(t, bad, k.key.Scheme)
				want := tamperReasons[k.key.Scheme]
				v := node.testMempoolAccept(t, bad)
				t.Logf("testmempoolaccept, tampered %s spend: allowed=%v reject-reason=%q", k.key.Scheme, v.Allowed, v.RejectReason)
				if v.Allowed {
					t.Fatalf("litecoind accepts a transaction whose signature has a flipped bit: %s", txHex(bad))
				}
				if !strings.Contains(v.RejectReason, "script-verify-flag") || !strings.Contains(v.RejectReason, want.mempool) {
					t.Fatalf("reject reason %q is not the script failure %q", v.RejectReason, want.mempool)
				}
				// A block holding it is refused by consensus, not only by mempool policy.
				err := node.mineWith(bad, sinkAddr)
				t.Logf("generateblock with the tampered %s spend: %v", k.key.Scheme, err)
				var ne *nodeError
				if !errors.As(err, &ne) || !strings.Contains(ne.Message, "TestBlockValidity failed") || !strings.Contains(ne.Message, want.block) {
					t.Fatalf("generateblock with the tampered transaction: %v, want a refusal naming %q", err, want.block)
				}
				node.broadcastAndConfirm(t, tx, sinkAddr)
			})
		}
	})

	t.Run("bitcoin-signer", func(t *testing.T) {
		signers := matchSigners(t, d, node, keys)
		for _, k := range keys {
			t.Run(k.key.Scheme, func(t *testing.T) {
				desc := signers[k.key.ID]
				// As Bitcoin Core calls it, the address is Bitcoin's; --coin litecoin gives
				// the one litecoind checked.
				wantBitcoin := apiAddress(t, client, k.key.ID, "bitcoin", "regtest")
				showAddress(t, d, desc, wantBitcoin, "--fingerprint", desc.fingerprint, "--chain", "regtest")
				showAddress(t, d, desc, k.addr, "--coin", "litecoin", "--fingerprint", desc.fingerprint, "--chain", "regtest")
				for _, mode := range []struct {
					name string
					coin int
					sign func(b64 string) (stdin string, args []string)
				}{
					{"signtx argument", coinSigntxArg, func(b64 string) (string, []string) {
						return "", []string{"--fingerprint", desc.fingerprint, "--chain", "regtest", "signtx", b64}
					}},
					// Bitcoin Core's form: the PSBT on standard input, quoted.
					{"signtx --stdin", coinSigntxStdin, func(b64 string) (string, []string) {
						return "signtx \"" + b64 + "\"\n", []string{"--stdin", "--fingerprint", desc.fingerprint, "--chain", "regtest"}
					}},
				} {
					t.Run(mode.name, func(t *testing.T) {
						p := spendPSBT(t, k.coins[mode.coin], sinkScript)
						desc.addOrigin(t, p)
						stdin, args := mode.sign(encodePSBT(t, p))
						var out struct {
							PSBT  string `json:"psbt"`
							Error string `json:"error"`
						}
						runBitcoinSigner(t, d, &out, stdin, args...)
						if out.Error != "" || out.PSBT == "" {
							t.Fatalf("signtx answered %+v", out)
						}
						tx := finalizeSignerPSBT(t, p, out.PSBT, k)
						node.broadcastAndConfirm(t, tx, sinkAddr)
					})
				}
			})
		}
	})
}

const (
	// coinbaseMaturity is the number of blocks before a coinbase output may be spent.
	coinbaseMaturity = 100
	// spendFee is the fee of every spend, in litoshis: about 90 per vbyte for these one-input,
	// one-output transactions, far above the node's relay minimum.
	spendFee = 10_000
)

// tamperReasons are the script errors litecoind gives for a signature with one bit flipped:
// the mempool checks policy flags (for ECDSA, NULLFAIL fires first), a block consensus flags
// only. Bitcoin Core 0.21 calls both "non-mandatory-script-verify-flag" because its mandatory
// set is P2SH alone, so the tests match the script error, not that prefix.
var tamperReasons = map[string]struct{ mempool, block string }{
	"ecdsa-secp256k1": {
		mempool: "Signature must be zero for failed CHECK(MULTI)SIG operation",
		block:   "Script evaluated without error but finished with a false/empty top stack element",
	},
	"bip340": {mempool: "Invalid Schnorr signature", block: "Invalid Schnorr signature"},
}

// Each key gets one coinbase for each way it is spent.
const (
	coinAPI = iota
	coinTampered
	coinSigntxArg
	coinSigntxStdin
	coinsPerKey
)

// regtestKey is a cluster key, its regtest Litecoin address and the coins locked to it.
type regtestKey struct {
	key    api.Key
	pub    []byte // 33-byte compressed (ECDSA) or 32-byte x-only output key (BIP340)
	addr   string
	script []byte
	coins  []coin
}

// coin is one spendable output and the whole transaction that made it.
type coin struct {
	prev *wire.MsgTx
	vout uint32
}

// newRegtestKey creates a key with the CLI, asks the host for its regtest address and has the
// node confirm that the address locks to the key.
func newRegtestKey(t *testing.T, d *devnetProc, client *api.Client, node *litecoind, scheme string) *regtestKey {
	t.Helper()
	k := &regtestKey{}
	d.cliJSON(t, &k.key, "key", "create", "--scheme", scheme, "--label", "ltc-"+scheme)
	pub, err := hex.DecodeString(k.key.PublicKey)
	if err != nil {
		t.Fatalf("key create printed public key %q: %v", k.key.PublicKey, err)
	}
	k.pub = pub
	var prefix string
	switch scheme {
	case "ecdsa-secp256k1":
		if _, err := btcec.ParsePubKey(pub); err != nil || len(pub) != 33 {
			t.Fatalf("ECDSA public key %x is not 33-byte compressed SEC1 (%v)", pub, err)
		}
		k.script = append([]byte{txscript.OP_0, txscript.OP_DATA_20}, btcutil.Hash160(pub)...)
		prefix = "rltc1q"
	case "bip340":
		if _, err := schnorr.ParsePubKey(pub); err != nil {
			t.Fatalf("BIP340 public key %x is not an x-only key (%v)", pub, err)
		}
		k.script = append([]byte{txscript.OP_1, txscript.OP_DATA_32}, pub...)
		prefix = "rltc1p"
	}
	k.addr = apiAddress(t, client, k.key.ID, "litecoin", "regtest")
	if !strings.HasPrefix(k.addr, prefix) {
		t.Fatalf("the %s key's regtest Litecoin address is %s, want %s...", scheme, k.addr, prefix)
	}
	if got := node.scriptPubKey(t, k.addr); !bytes.Equal(got, k.script) {
		t.Fatalf("litecoind decodes %s to scriptPubKey %x, want %x for public key %x", k.addr, got, k.script, pub)
	}
	return k
}

// apiAddress asks the host for a key's address on a chain and network.
func apiAddress(t *testing.T, client *api.Client, keyID, chain, network string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr, err := client.Address(ctx, keyID, chain, network)
	if err != nil {
		t.Fatalf("GET %s?chain=%s&network=%s for %s: %v", api.PathAddress, chain, network, keyID, err)
	}
	want := api.Address{KeyID: keyID, Chain: chain, Network: network, Address: addr.Address}
	if diff := cmp.Diff(want, *addr); diff != "" || addr.Address == "" {
		t.Fatalf("GET %s?chain=%s&network=%s for %s (-want +got):\n%s", api.PathAddress, chain, network, keyID, diff)
	}
	return addr.Address
}

// showAddress runs displayaddress for the descriptor and requires the address want.
func showAddress(t *testing.T, d *devnetProc, desc signerDescriptor, want string, flags ...string) {
	t.Helper()
	var shown struct {
		Address string `json:"address"`
	}
	runBitcoinSigner(t, d, &shown, "", append(flags, "displayaddress", "--desc", desc.text)...)
	if shown.Address != want {
		t.Fatalf("bitcoin-signer %s displayaddress --desc %s: %q, want the API's %s", strings.Join(flags, " "), desc.text, shown.Address, want)
	}
}

// fund mines count blocks whose coinbases pay the key, one coin each.
func (k *regtestKey) fund(t *testing.T, node *litecoind, count int) {
	t.Helper()
	for _, hash := range node.mine(t, count, k.addr) {
		var block struct {
			Tx []string `json:"tx"`
		}
		node.must(t, &block, "getblock", hash)
		if len(block.Tx) == 0 {
			t.Fatalf("block %s has no transactions", hash)
		}
		prev := node.rawTx(t, block.Tx[0])
		vout := -1
		for i, out := range prev.TxOut {
			if bytes.Equal(out.PkScript, k.script) {
				if vout >= 0 {
					t.Fatalf("coinbase %s pays %s twice", block.Tx[0], k.addr)
				}
				vout = i
			}
		}
		if vout < 0 {
			t.Fatalf("coinbase %s does not pay %s", block.Tx[0], k.addr)
		}
		k.coins = append(k.coins, coin{prev: prev, vout: uint32(vout)})
	}
}

// spendPSBT is the wallet's side: a PSBT that sends c, minus the fee, to dest, with both the
// spent output and the whole transaction that made it.
func spendPSBT(t *testing.T, c coin, dest []byte) *psbt.Packet {
	t.Helper()
	spent := c.prev.TxOut[c.vout]
	p, err := psbt.New(
		[]*wire.OutPoint{wire.NewOutPoint(ptr(c.prev.TxHash()), c.vout)},
		[]*wire.TxOut{wire.NewTxOut(spent.Value-spendFee, dest)},
		2, 0, []uint32{wire.MaxTxInSequenceNum - 2})
	if err != nil {
		t.Fatal(err)
	}
	p.Inputs[0].WitnessUtxo = wire.NewTxOut(spent.Value, spent.PkScript)
	p.Inputs[0].NonWitnessUtxo = c.prev
	return p
}

func ptr[T any](v T) *T { return &v }

func encodePSBT(t *testing.T, p *psbt.Packet) string {
	t.Helper()
	s, err := p.B64Encode()
	if err != nil {
		t.Fatalf("encoding the PSBT: %v", err)
	}
	return s
}

// signThroughAPI signs and finalizes the PSBT with POST /v1/psbt/sign and returns the
// extracted transaction after checking it is the one the PSBT describes.
func signThroughAPI(t *testing.T, client *api.Client, p *psbt.Packet) *wire.MsgTx {
	t.Helper()
	req := api.PSBTRequest{PSBT: encodePSBT(t, p), Chain: "litecoin", Network: "regtest", Finalize: true}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := client.SignPSBT(ctx, req)
	if err != nil {
		t.Fatalf("POST %s {chain litecoin, network regtest, finalize}: %v\npsbt: %s", api.PathPSBT, err, req.PSBT)
	}
	if !cmp.Equal(resp.SignedInputs, []int{0}) || !resp.Complete || resp.Transaction == "" {
		t.Fatalf("POST %s: signed_inputs %v complete %v transaction %q, want [0], true and a transaction",
			api.PathPSBT, resp.SignedInputs, resp.Complete, resp.Transaction)
	}
	tx := decodeTxHex(t, resp.Transaction)
	if tx.TxHash() != p.UnsignedTx.TxHash() {
		t.Fatalf("the signed transaction %s is not the PSBT's %s", tx.TxHash(), p.UnsignedTx.TxHash())
	}
	// The returned PSBT must carry the same finalized transaction.
	signed, err := psbt.NewFromRawBytes(strings.NewReader(resp.PSBT), true)
	if err != nil {
		t.Fatalf("POST %s returned a PSBT that does not decode: %v", api.PathPSBT, err)
	}
	extracted, err := psbt.Extract(signed)
	if err != nil {
		t.Fatalf("the returned PSBT is not finalized: %v", err)
	}
	if txHex(extracted) != resp.Transaction {
		t.Fatalf("the returned PSBT extracts to %s, the response's transaction is %s", txHex(extracted), resp.Transaction)
	}
	return tx
}

// flipSignatureBit flips the lowest bit of the last byte of s in the input's signature: the
// DER encoding (ECDSA) stays well formed and s stays low, so only the signature check can fail.
func flipSignatureBit(t *testing.T, tx *wire.MsgTx, scheme string) {
	t.Helper()
	w := tx.TxIn[0].Witness
	var at int
	switch {
	case scheme == "ecdsa-secp256k1" && len(w) == 2 && len(w[0]) > 9:
		at = len(w[0]) - 2 // the last byte is the sighash type
	case scheme == "bip340" && len(w) == 1 && (len(w[0]) == 64 || len(w[0]) == 65):
		at = 63
	default:
		t.Fatalf("unexpected %s witness %x", scheme, w)
	}
	w[0][at] ^= 1
}

// signerDescriptor is one descriptor the external signer gives for a key:
// wpkh([fingerprint]pubkey)#checksum or tr([fingerprint]internal-key)#checksum.
type signerDescriptor struct {
	text        string
	fn          string // wpkh or tr
	fingerprint string
	key         []byte // compressed public key (wpkh) or x-only internal key (tr)
}

var fingerprintPattern = regexp.MustCompile(`^[0-9a-f]{8}$`)

var descriptorPattern = regexp.MustCompile(`^(wpkh|tr)\(\[([0-9a-f]{8})\]([0-9a-f]+)\)#([a-z0-9]{8})$`)

// parseDescriptor reads one single-key descriptor with a key origin of no path.
func parseDescriptor(t *testing.T, s string) signerDescriptor {
	t.Helper()
	m := descriptorPattern.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("descriptor %q is not wpkh([fp]key)#checksum or tr([fp]key)#checksum", s)
	}
	key, err := hex.DecodeString(m[3])
	if err != nil || (m[1] == "wpkh" && len(key) != 33) || (m[1] == "tr" && len(key) != 32) {
		t.Fatalf("descriptor %q: key of the wrong size", s)
	}
	return signerDescriptor{text: s, fn: m[1], fingerprint: m[2], key: key}
}

// outputKey is the key the descriptor's address locks to: the key itself for wpkh, the BIP86
// tweak of the internal key for tr (computed by btcd).
func (sd signerDescriptor) outputKey(t *testing.T) []byte {
	t.Helper()
	if sd.fn == "wpkh" {
		return sd.key
	}
	internal, err := schnorr.ParsePubKey(sd.key)
	if err != nil {
		t.Fatalf("descriptor %s: internal key: %v", sd.text, err)
	}
	return schnorr.SerializePubKey(txscript.ComputeTaprootKeyNoScript(internal))
}

// addOrigin adds what Bitcoin Core adds from the descriptor's key origin, so the external
// signer recognizes the input as its own.
func (sd signerDescriptor) addOrigin(t *testing.T, p *psbt.Packet) {
	t.Helper()
	fp, err := hex.DecodeString(sd.fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	// PSBT keeps the fingerprint's bytes in order; btcutil holds them as a little-endian uint32.
	master := endian.LittleEndian.Uint32(fp)
	in := &p.Inputs[0]
	switch sd.fn {
	case "wpkh":
		in.Bip32Derivation = []*psbt.Bip32Derivation{{PubKey: sd.key, MasterKeyFingerprint: master}}
	case "tr":
		in.TaprootInternalKey = sd.key
		in.TaprootBip32Derivation = []*psbt.TaprootBip32Derivation{{XOnlyPubKey: sd.key, MasterKeyFingerprint: master}}
	}
}

// matchSigners enumerates the external signers, reads each one's descriptors, has the node
// check them, and returns the descriptor of each test key by key id.
func matchSigners(t *testing.T, d *devnetProc, node *litecoind, keys []*regtestKey) map[string]signerDescriptor {
	t.Helper()
	var signers []struct {
		Fingerprint string `json:"fingerprint"`
		Model       string `json:"model"`
		Error       string `json:"error"`
	}
	runBitcoinSigner(t, d, &signers, "", "--chain", "regtest", "enumerate")
	if len(signers) != len(keys) {
		t.Fatalf("enumerate lists %d signers, want one for each of the %d keys: %+v", len(signers), len(keys), signers)
	}
	found := map[string]signerDescriptor{}
	for _, s := range signers {
		if s.Error != "" || !fingerprintPattern.MatchString(s.Fingerprint) {
			t.Fatalf("enumerate entry %+v: want an 8-hex-digit fingerprint and no error", s)
		}
		var descs struct {
			Receive  []string `json:"receive"`
			Internal []string `json:"internal"`
		}
		runBitcoinSigner(t, d, &descs, "", "--fingerprint", s.Fingerprint, "--chain", "regtest", "getdescriptors", "--account", "0")
		if len(descs.Receive) == 0 || len(descs.Internal) == 0 {
			t.Fatalf("getdescriptors for %s: %+v, want receive and internal descriptors", s.Fingerprint, descs)
		}
		var k *regtestKey
		var receive signerDescriptor
		for i, text := range append(descs.Receive, descs.Internal...) {
			sd := parseDescriptor(t, text)
			node.checkDescriptorChecksum(t, sd.text)
			owner := keyWithOutputKey(keys, sd.outputKey(t))
			if sd.fingerprint != s.Fingerprint || owner == nil || (k != nil && owner != k) {
				t.Fatalf("signer %s gives descriptor %s, not of one of its test keys with its fingerprint", s.Fingerprint, text)
			}
			if i == 0 {
				k, receive = owner, sd
			}
		}
		if _, dup := found[k.key.ID]; dup {
			t.Fatalf("two signers give descriptors of key %s", k.key.ID)
		}
		if want := map[string]string{"ecdsa-secp256k1": "wpkh", "bip340": "tr"}[k.key.Scheme]; receive.fn != want {
			t.Fatalf("the %s key's receive descriptor is %s, want %s()", k.key.Scheme, receive.text, want)
		}
		switch receive.fn {
		case "wpkh":
			node.checkWPKHDescriptor(t, receive.text, k.addr)
		case "tr":
			// litecoind (Bitcoin Core 0.21 rules) has no tr(): btcd's BIP86 tweak above tied
			// the internal key to the address; it must also be the one the API reports.
			if hex.EncodeToString(receive.key) != k.key.InternalKey {
				t.Fatalf("descriptor %s: internal key differs from the API's %q", receive.text, k.key.InternalKey)
			}
		}
		found[k.key.ID] = receive
	}
	return found
}

// keyWithOutputKey is the test key whose public key is out, or nil.
func keyWithOutputKey(keys []*regtestKey, out []byte) *regtestKey {
	for _, k := range keys {
		if bytes.Equal(k.pub, out) {
			return k
		}
	}
	return nil
}

var computedChecksum = regexp.MustCompile(`does not match computed checksum '([a-z0-9]{8})'`)

// checkDescriptorChecksum has the node compute the descriptor's checksum. The node verifies a
// checksum before it parses the descriptor and names the one it computed when they differ, so
// asking with a wrong one works even for tr(), which Bitcoin Core 0.21's rules cannot parse.
func (n *litecoind) checkDescriptorChecksum(t *testing.T, desc string) {
	t.Helper()
	body, sum, _ := strings.Cut(desc, "#")
	probe := "qqqqqqqq"
	if sum == probe {
		probe = "pppppppp"
	}
	_, err := n.call("getdescriptorinfo", body+"#"+probe)
	var ne *nodeError
	if !errors.As(err, &ne) {
		t.Fatalf("getdescriptorinfo %s#%s: %v, want a checksum mismatch", body, probe, err)
	}
	m := computedChecksum.FindStringSubmatch(ne.Message)
	if m == nil || m[1] != sum {
		t.Fatalf("litecoind computes the checksum of %s as %q (%s), the signer gave %q", body, m, ne.Message, sum)
	}
}

// checkWPKHDescriptor has the node parse a wpkh() descriptor and derive its address.
func (n *litecoind) checkWPKHDescriptor(t *testing.T, desc, addr string) {
	t.Helper()
	var info struct {
		Descriptor string `json:"descriptor"`
		IsSolvable bool   `json:"issolvable"`
	}
	n.must(t, &info, "getdescriptorinfo", desc)
	if info.Descriptor != desc || !info.IsSolvable {
		t.Fatalf("litecoind reads %s as %+v", desc, info)
	}
	var addrs []string
	n.must(t, &addrs, "deriveaddresses", desc)
	if !cmp.Equal(addrs, []string{addr}) {
		t.Fatalf("litecoind derives %v from %s, the API gives %s", addrs, desc, addr)
	}
}

// finalizeSignerPSBT is the wallet's side after signtx: check the signer signed input 0 and
// nothing else changed, then finalize and extract with btcutil.
func finalizeSignerPSBT(t *testing.T, sent *psbt.Packet, b64 string, k *regtestKey) *wire.MsgTx {
	t.Helper()
	p, err := psbt.NewFromRawBytes(strings.NewReader(b64), true)
	if err != nil {
		t.Fatalf("signtx returned a PSBT that does not decode: %v", err)
	}
	if p.UnsignedTx.TxHash() != sent.UnsignedTx.TxHash() {
		t.Fatalf("signtx changed the transaction: %s, sent %s", p.UnsignedTx.TxHash(), sent.UnsignedTx.TxHash())
	}
	in := p.Inputs[0]
	if in.FinalScriptWitness != nil || in.FinalScriptSig != nil {
		t.Fatalf("signtx finalized the input; Bitcoin Core expects partial signatures")
	}
	switch k.key.Scheme {
	case "ecdsa-secp256k1":
		if len(in.PartialSigs) != 1 || !bytes.Equal(in.PartialSigs[0].PubKey, k.pub) {
			t.Fatalf("signtx left partial signatures %+v, want one by %x", in.PartialSigs, k.pub)
		}
	case "bip340":
		if n := len(in.TaprootKeySpendSig); n != 64 && n != 65 {
			t.Fatalf("signtx left a taproot key-spend signature of %d bytes", n)
		}
	}
	if err := psbt.MaybeFinalizeAll(p); err != nil {
		t.Fatalf("btcutil cannot finalize the signed PSBT: %v", err)
	}
	tx, err := psbt.Extract(p)
	if err != nil {
		t.Fatalf("btcutil cannot extract the signed transaction: %v", err)
	}
	return tx
}

// runBitcoinSigner runs `mpcsigner bitcoin-signer` as Bitcoin Core's -signer does, against the
// devnet, and decodes the one JSON value it prints into v.
func runBitcoinSigner(t *testing.T, d *devnetProc, v any, stdin string, args ...string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(d.bin, append([]string{"bitcoin-signer"}, args...)...)
	cmd.Env = append(os.Environ(), "MPCSIGNER_DATA="+d.data, "MPCSIGNER_API=", "MPCSIGNER_TOKEN_FILE=")
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mpcsigner bitcoin-signer %s: %v\nstdout: %s\nstderr: %s", briefArgs(args), err, stdout.String(), stderr.String())
	}
	dec := json.NewDecoder(&stdout)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("mpcsigner bitcoin-signer %s printed %q: %v", briefArgs(args), stdout.String(), err)
	}
	if dec.More() {
		t.Fatalf("mpcsigner bitcoin-signer %s printed more than one JSON value", briefArgs(args))
	}
}

// briefArgs renders a command line for an error message without a whole PSBT in it.
func briefArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) > 80 {
			a = a[:80] + "..."
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
