package solana

import (
	"bytes"
	"fmt"

	"github.com/mpcsigner/mpcsigner/chains"
)

const (
	// MaxTransactionBytes is Solana's PACKET_DATA_SIZE: the IPv6 minimum MTU (1280) less the
	// IPv6 (40) and fragment (8) headers. A larger transaction cannot be sent.
	MaxTransactionBytes = 1280 - 40 - 8

	// SignatureSize and KeySize are Ed25519's.
	SignatureSize = 64
	KeySize       = 32

	// maxAccounts is the most accounts a message can reference: indexes are one byte.
	maxAccounts = 256
	// versionPrefix marks a versioned message; the low seven bits are the version.
	versionPrefix = 0x80
)

// Version is a message format.
type Version int

const (
	// Legacy is the original message format, which has no version prefix.
	Legacy Version = iota
	// V0 is the versioned message format 0, which adds address table lookups.
	V0
)

func (v Version) String() string {
	if v == V0 {
		return "v0"
	}
	return "legacy"
}

// Header counts the message's signers and read-only accounts.
type Header struct {
	NumRequiredSignatures uint8
	NumReadonlySigned     uint8
	NumReadonlyUnsigned   uint8
}

// Instruction is one compiled instruction: indexes into the message's accounts.
type Instruction struct {
	ProgramIDIndex uint8
	Accounts       []uint8
	Data           []byte
}

// LookupTable is a v0 address table lookup: indexes into an on-chain address lookup table.
type LookupTable struct {
	Account  [KeySize]byte
	Writable []uint8
	Readonly []uint8
}

// Transaction is a decoded wire transaction.
type Transaction struct {
	Signatures [][SignatureSize]byte
	// Message is the message exactly as it appears on the wire: the bytes every signer signs.
	Message         []byte
	Version         Version
	Header          Header
	AccountKeys     [][KeySize]byte
	RecentBlockhash [KeySize]byte
	Instructions    []Instruction
	LookupTables    []LookupTable
}

// DecodeTransaction decodes a wire transaction strictly (see the package doc for what it
// refuses). Every error wraps chains.ErrInvalid.
func DecodeTransaction(wire []byte) (*Transaction, error) {
	if len(wire) > MaxTransactionBytes {
		return nil, chains.Invalid("solana: transaction is %d bytes, more than a packet (%d)", len(wire), MaxTransactionBytes)
	}
	c := &cursor{b: wire}
	n, err := c.shortvec("signature count")
	if err != nil {
		return nil, err
	}
	tx := &Transaction{}
	for i := range n {
		sig, err := c.take(SignatureSize, fmt.Sprintf("signatures[%d]", i))
		if err != nil {
			return nil, err
		}
		tx.Signatures = append(tx.Signatures, [SignatureSize]byte(sig))
	}
	tx.Message = wire[c.pos:]
	if err := tx.decodeMessage(c); err != nil {
		return nil, err
	}
	if err := tx.sanitize(); err != nil {
		return nil, err
	}
	return tx, nil
}

// decodeMessage reads the message from c to the end of the input.
func (tx *Transaction) decodeMessage(c *cursor) error {
	first, err := c.byte("message")
	if err != nil {
		return err
	}
	if first&versionPrefix != 0 {
		if v := first &^ versionPrefix; v != 0 {
			return chains.Invalid("solana: message version %d is not supported (only legacy and v0)", v)
		}
		tx.Version = V0
		if first, err = c.byte("message header"); err != nil {
			return err
		}
	}
	tx.Header.NumRequiredSignatures = first
	if tx.Header.NumReadonlySigned, err = c.byte("message header"); err != nil {
		return err
	}
	if tx.Header.NumReadonlyUnsigned, err = c.byte("message header"); err != nil {
		return err
	}
	if tx.AccountKeys, err = keys(c, "account keys"); err != nil {
		return err
	}
	hash, err := c.take(KeySize, "recent blockhash")
	if err != nil {
		return err
	}
	tx.RecentBlockhash = [KeySize]byte(hash)
	if tx.Instructions, err = instructions(c); err != nil {
		return err
	}
	if tx.Version == V0 {
		if tx.LookupTables, err = lookupTables(c); err != nil {
			return err
		}
	}
	if rest := len(c.b) - c.pos; rest != 0 {
		return chains.Invalid("solana: %d trailing bytes after the message", rest)
	}
	return nil
}

func keys(c *cursor, what string) ([][KeySize]byte, error) {
	n, err := c.count(KeySize, what)
	if err != nil {
		return nil, err
	}
	out := make([][KeySize]byte, n)
	for i := range out {
		k, _ := c.take(KeySize, what) // count checked the length
		out[i] = [KeySize]byte(k)
	}
	return out, nil
}

func instructions(c *cursor) ([]Instruction, error) {
	n, err := c.count(3, "instruction count") // each instruction takes at least 3 bytes
	if err != nil {
		return nil, err
	}
	out := make([]Instruction, n)
	for i := range out {
		where := fmt.Sprintf("instructions[%d]", i)
		if out[i].ProgramIDIndex, err = c.byte(where + ".program_id_index"); err != nil {
			return nil, err
		}
		if out[i].Accounts, err = c.bytes(where + ".accounts"); err != nil {
			return nil, err
		}
		if out[i].Data, err = c.bytes(where + ".data"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func lookupTables(c *cursor) ([]LookupTable, error) {
	n, err := c.count(KeySize+2, "address table lookup count")
	if err != nil {
		return nil, err
	}
	out := make([]LookupTable, n)
	for i := range out {
		where := fmt.Sprintf("address_table_lookups[%d]", i)
		k, err := c.take(KeySize, where+".account_key")
		if err != nil {
			return nil, err
		}
		out[i].Account = [KeySize]byte(k)
		if out[i].Writable, err = c.bytes(where + ".writable_indexes"); err != nil {
			return nil, err
		}
		if out[i].Readonly, err = c.bytes(where + ".readonly_indexes"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sanitize applies the consistency rules Solana's own sanitize step applies before it looks
// at signatures, and the ones that would make the runtime refuse the transaction outright
// (duplicate keys, a signature count that is not the header's).
func (tx *Transaction) sanitize() error {
	h := tx.Header
	nKeys := len(tx.AccountKeys)
	switch {
	case h.NumRequiredSignatures == 0:
		return chains.Invalid("solana: message header: no required signatures (the fee payer must sign)")
	case h.NumReadonlySigned >= h.NumRequiredSignatures:
		return chains.Invalid("solana: message header: %d of %d signers are read-only (the fee payer must be writable)", h.NumReadonlySigned, h.NumRequiredSignatures)
	case int(h.NumRequiredSignatures)+int(h.NumReadonlyUnsigned) > nKeys:
		return chains.Invalid("solana: message header: %d signers and %d read-only unsigned accounts, but only %d account keys", h.NumRequiredSignatures, h.NumReadonlyUnsigned, nKeys)
	case len(tx.Signatures) != int(h.NumRequiredSignatures):
		return chains.Invalid("solana: %d signature slots for %d required signatures", len(tx.Signatures), h.NumRequiredSignatures)
	}
	if i, j, dup := duplicateKey(tx.AccountKeys); dup {
		return chains.Invalid("solana: account keys %d and %d are the same key", i, j)
	}
	total := nKeys
	for i, t := range tx.LookupTables {
		if len(t.Writable)+len(t.Readonly) == 0 {
			return chains.Invalid("solana: address_table_lookups[%d] looks up no accounts", i)
		}
		total += len(t.Writable) + len(t.Readonly)
	}
	if total > maxAccounts {
		return chains.Invalid("solana: message references %d accounts, more than %d", total, maxAccounts)
	}
	for i, in := range tx.Instructions {
		// Programs must be static keys (not looked up), and the fee payer cannot be one.
		if in.ProgramIDIndex == 0 || int(in.ProgramIDIndex) >= nKeys {
			return chains.Invalid("solana: instructions[%d].program_id_index %d is not a static account key other than the fee payer (1 to %d)", i, in.ProgramIDIndex, nKeys-1)
		}
		for j, a := range in.Accounts {
			if int(a) >= total {
				return chains.Invalid("solana: instructions[%d].accounts[%d] is index %d, but the message has %d accounts", i, j, a, total)
			}
		}
	}
	return nil
}

func duplicateKey(ks [][KeySize]byte) (int, int, bool) {
	seen := make(map[[KeySize]byte]int, len(ks))
	for j, k := range ks {
		if i, ok := seen[k]; ok {
			return i, j, true
		}
		seen[k] = j
	}
	return 0, 0, false
}

// SignerIndex is the position of pub among a decoded transaction's signers (the first
// num_required_signatures account keys), which is also the index of its signature slot.
func (tx *Transaction) SignerIndex(pub [KeySize]byte) (int, bool) {
	for i, k := range tx.AccountKeys[:tx.Header.NumRequiredSignatures] {
		if k == pub {
			return i, true
		}
	}
	return 0, false
}

// Encode is the wire transaction: the signature count, the signatures, the message.
func (tx *Transaction) Encode() []byte {
	out := appendShortvec(nil, len(tx.Signatures))
	for _, s := range tx.Signatures {
		out = append(out, s[:]...)
	}
	return append(out, tx.Message...)
}

// cursor reads a wire transaction; every error names the field being read.
type cursor struct {
	b   []byte
	pos int
}

func (c *cursor) take(n int, what string) ([]byte, error) {
	if left := len(c.b) - c.pos; n > left {
		return nil, chains.Invalid("solana: %s: %d bytes needed at offset %d, %d left", what, n, c.pos, left)
	}
	out := c.b[c.pos : c.pos+n]
	c.pos += n
	return out, nil
}

func (c *cursor) byte(what string) (byte, error) {
	b, err := c.take(1, what)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// shortvec reads a compact-u16: seven bits per byte, low bits first, at most three bytes,
// refusing the encodings Solana refuses (a zero final byte after the first, which would let
// one length have two encodings, and values over 0xffff).
func (c *cursor) shortvec(what string) (int, error) {
	v := 0
	for i := range 3 {
		b, err := c.byte(what)
		if err != nil {
			return 0, err
		}
		v |= int(b&0x7f) << (7 * i)
		if b&0x80 != 0 {
			continue
		}
		switch {
		case i > 0 && b == 0:
			return 0, chains.Invalid("solana: %s: compact-u16 is not in its shortest form", what)
		case v > 0xffff:
			return 0, chains.Invalid("solana: %s: compact-u16 overflows 16 bits", what)
		}
		return v, nil
	}
	return 0, chains.Invalid("solana: %s: compact-u16 longer than three bytes", what)
}

// count reads a compact-u16 element count and checks that the input can hold that many
// elements of at least size bytes, so that nothing is allocated for data that is not there.
func (c *cursor) count(size int, what string) (int, error) {
	n, err := c.shortvec(what)
	if err != nil {
		return 0, err
	}
	if left := len(c.b) - c.pos; n*size > left {
		return 0, chains.Invalid("solana: %s: %d elements of %d bytes or more, but %d bytes left", what, n, size, left)
	}
	return n, nil
}

// bytes reads a compact-u16 length and that many bytes.
func (c *cursor) bytes(what string) ([]byte, error) {
	n, err := c.count(1, what)
	if err != nil {
		return nil, err
	}
	b, _ := c.take(n, what) // count checked the length
	return bytes.Clone(b), nil
}

func appendShortvec(out []byte, n int) []byte {
	for n >= 0x80 {
		out = append(out, byte(n)|0x80)
		n >>= 7
	}
	return append(out, byte(n))
}
