package stellar

import (
	"fmt"

	"github.com/mpcsigner/mpcsigner/chains"
)

const (
	// MaxEnvelopeBytes caps a transaction envelope: 132 KiB, the txMaxSizeBytes network setting
	// for Soroban transactions at the time of writing, which is above the 100 KiB
	// stellar-core allows a classic transaction.
	MaxEnvelopeBytes = 132 << 10

	// KeySize and SignatureSize are Ed25519's.
	KeySize       = 32
	SignatureSize = 64

	// envelopeTypeTx is ENVELOPE_TYPE_TX: a v1 transaction envelope, and the tag of a
	// transaction in the signature payload.
	envelopeTypeTx = 2
	// maxOperations is MAX_OPS_PER_TX, maxSignatures the DecoratedSignature array's bound.
	maxOperations = 100
	maxSignatures = 20

	keyTypeEd25519      = 0
	keyTypeMuxedEd25519 = 0x100
)

// Envelope is a decoded v1 transaction envelope (TransactionV1Envelope).
type Envelope struct {
	// SourceAccount is the ed25519 key of the transaction's source account, and MuxedID its
	// multiplexed id when the source is a muxed account (M...).
	SourceAccount [KeySize]byte
	MuxedID       *uint64
	Fee           uint32
	SeqNum        int64
	Operations    []Operation
	// Transaction is the Transaction's XDR exactly as in the envelope: what the signature
	// payload hashes.
	Transaction []byte
	// Signatures counts the envelope's DecoratedSignatures.
	Signatures int
}

// Operation is one operation of a transaction: its type (OperationType, 0 to 26) and the key
// of its own source account, if it names one.
type Operation struct {
	Type          uint32
	SourceAccount *[KeySize]byte
}

// DecodeEnvelope decodes the XDR of a TransactionEnvelope that must be ENVELOPE_TYPE_TX. It
// walks the whole Transaction (every operation body, Soroban data included) to find where it
// ends, so that it can refuse anything it cannot parse exactly: unknown union arms, values
// over their XDR bounds, non-zero padding, nesting deeper than maxDepth, trailing bytes.
// Every error wraps chains.ErrInvalid.
func DecodeEnvelope(b []byte) (*Envelope, error) {
	if len(b) > MaxEnvelopeBytes {
		return nil, chains.Invalid("stellar: envelope is %d bytes, more than %d", len(b), MaxEnvelopeBytes)
	}
	r := &reader{b: b}
	typ, err := r.u32("envelope type")
	if err != nil {
		return nil, err
	}
	if typ != envelopeTypeTx {
		return nil, chains.Invalid("stellar: envelope type %d is not ENVELOPE_TYPE_TX (2): v0 and fee-bump envelopes are not signed here", int32(typ))
	}
	e := &Envelope{}
	start := r.pos
	if err := e.transaction(r); err != nil {
		return nil, err
	}
	e.Transaction = b[start:r.pos]
	err = r.each("signatures", maxSignatures, func(i int) error {
		e.Signatures++
		where := fmt.Sprintf("signatures[%d]", i)
		if err := r.skip(4, where+".hint"); err != nil {
			return err
		}
		_, err := r.opaque(where+".signature", SignatureSize)
		return err
	})
	if err != nil {
		return nil, err
	}
	if r.left() != 0 {
		return nil, chains.Invalid("stellar: %d trailing bytes after the envelope", r.left())
	}
	return e, nil
}

// transaction reads a Transaction: sourceAccount, fee, seqNum, cond, memo, operations, ext.
func (e *Envelope) transaction(r *reader) error {
	src, id, err := muxedAccount(r, "tx.sourceAccount")
	if err != nil {
		return err
	}
	e.SourceAccount, e.MuxedID = src, id
	if e.Fee, err = r.u32("tx.fee"); err != nil {
		return err
	}
	seq, err := r.u64("tx.seqNum")
	if err != nil {
		return err
	}
	e.SeqNum = int64(seq)
	if err := preconditions(r); err != nil {
		return err
	}
	if err := memo(r); err != nil {
		return err
	}
	err = r.each("tx.operations", maxOperations, func(i int) error {
		op, err := operation(r, fmt.Sprintf("tx.operations[%d]", i))
		e.Operations = append(e.Operations, op)
		return err
	})
	if err != nil {
		return err
	}
	switch v, err := r.enum("tx.ext", 2); {
	case err != nil:
		return err
	case v == 1:
		return sorobanTransactionData(r, "tx.ext.sorobanData")
	}
	return nil
}

// muxedAccount reads a MuxedAccount: an ed25519 key, or a multiplexed id and a key.
func muxedAccount(r *reader, where string) ([KeySize]byte, *uint64, error) {
	typ, err := r.u32(where + " type")
	if err != nil {
		return [KeySize]byte{}, nil, err
	}
	var id *uint64
	switch typ {
	case keyTypeEd25519:
	case keyTypeMuxedEd25519:
		n, err := r.u64(where + ".id")
		if err != nil {
			return [KeySize]byte{}, nil, err
		}
		id = &n
	default:
		return [KeySize]byte{}, nil, chains.Invalid("stellar: %s: key type %#x is not KEY_TYPE_ED25519 or KEY_TYPE_MUXED_ED25519", where, typ)
	}
	key, err := r.take(KeySize, where+".ed25519")
	if err != nil {
		return [KeySize]byte{}, nil, err
	}
	return [KeySize]byte(key), id, nil
}

// preconditions reads Preconditions: none, TimeBounds, or PreconditionsV2.
func preconditions(r *reader) error {
	switch v, err := r.enum("tx.cond", 3); {
	case err != nil:
		return err
	case v == 1:
		return r.skip(16, "tx.cond.timeBounds")
	case v == 2:
		for _, f := range []struct {
			name string
			size int
		}{{"timeBounds", 16}, {"ledgerBounds", 8}, {"minSeqNum", 8}} {
			where := "tx.cond.v2." + f.name
			if some, err := r.optional(where); err != nil {
				return err
			} else if some {
				if err := r.skip(f.size, where); err != nil {
					return err
				}
			}
		}
		if err := r.skip(8+4, "tx.cond.v2.minSeqAge and minSeqLedgerGap"); err != nil {
			return err
		}
		return r.each("tx.cond.v2.extraSigners", 2, func(i int) error {
			return signerKey(r, fmt.Sprintf("tx.cond.v2.extraSigners[%d]", i))
		})
	}
	return nil
}

// memo reads a Memo: none, text<28>, id, hash or return hash.
func memo(r *reader) error {
	switch v, err := r.enum("tx.memo", 5); {
	case err != nil:
		return err
	case v == 1:
		_, err := r.opaque("tx.memo.text", 28)
		return err
	case v == 2:
		return r.skip(8, "tx.memo.id")
	case v >= 3:
		return r.skip(32, "tx.memo.hash")
	}
	return nil
}

// operation reads an Operation: an optional source account and the body.
func operation(r *reader, where string) (Operation, error) {
	var op Operation
	if some, err := r.optional(where + ".sourceAccount"); err != nil {
		return op, err
	} else if some {
		key, _, err := muxedAccount(r, where+".sourceAccount")
		if err != nil {
			return op, err
		}
		op.SourceAccount = &key
	}
	typ, err := r.enum(where+".body type", uint32(len(operationBodies)))
	if err != nil {
		return op, err
	}
	op.Type = typ
	return op, operationBodies[typ](r, fmt.Sprintf("%s.body(%s)", where, operationNames[typ]))
}
