package slashing

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// Sentinel errors that callers branch on.
var (
	// ErrSlashable means the request was refused by a slashing-protection
	// rule. Every refusal wraps it and is one of the typed errors below.
	ErrSlashable = errors.New("refused by slashing protection")
	// ErrInvalidInterchange means an interchange file could not be
	// imported because it is malformed, too large or of another version.
	// Nothing was changed.
	ErrInvalidInterchange = errors.New("invalid slashing protection interchange")
	// ErrFailed means a write to the store failed earlier. The database
	// refuses every request until it is opened again from the store.
	ErrFailed = errors.New("slashing protection database failed")
	// ErrNoGenesis means nothing has bound a genesis validators root yet
	// (nothing was signed or imported), so there is nothing to export.
	ErrNoGenesis = errors.New("no genesis validators root bound yet")
	// ErrCorrupt means Open found records under the prefix that this
	// package did not write or cannot read.
	ErrCorrupt = errors.New("slashing protection records unreadable")
)

// Root is a signing root as it appears in an error: known or not.
type Root struct {
	Value [32]byte
	Known bool
}

func (r Root) String() string {
	if !r.Known {
		return "an unknown signing root (imported without one)"
	}
	return "signing root 0x" + hex.EncodeToString(r.Value[:])
}

func known(r [32]byte) Root { return Root{Value: r, Known: true} }

func short(pk Pubkey) string { return "validator 0x" + hex.EncodeToString(pk[:]) }

// DoubleProposal refuses a block at a slot that already holds a different
// block (or one with an unknown signing root).
type DoubleProposal struct {
	Pubkey    Pubkey
	Slot      uint64
	Requested Root
	Existing  Root
}

func (e *DoubleProposal) Error() string {
	return fmt.Sprintf("%s: block at slot %d with %s conflicts with the block already signed at that slot with %s (double proposal)",
		short(e.Pubkey), e.Slot, e.Requested, e.Existing)
}

// Unwrap makes errors.Is(err, ErrSlashable) true.
func (e *DoubleProposal) Unwrap() error { return ErrSlashable }

// DoubleVote refuses an attestation whose target epoch already holds a
// different attestation (or one with an unknown signing root).
type DoubleVote struct {
	Pubkey         Pubkey
	Source, Target uint64
	Requested      Root
	// ExistingSource is the source of the attestation already signed for
	// Target (the lowest one if several were imported).
	ExistingSource uint64
	Existing       Root
}

func (e *DoubleVote) Error() string {
	return fmt.Sprintf("%s: attestation source %d target %d with %s conflicts with the attestation already signed for target %d (source %d, %s) (double vote)",
		short(e.Pubkey), e.Source, e.Target, e.Requested, e.Target, e.ExistingSource, e.Existing)
}

// Unwrap makes errors.Is(err, ErrSlashable) true.
func (e *DoubleVote) Unwrap() error { return ErrSlashable }

// Surrounding refuses an attestation that would surround one already
// signed: lower source and higher target.
type Surrounding struct {
	Pubkey                         Pubkey
	Source, Target                 uint64
	ExistingSource, ExistingTarget uint64
}

func (e *Surrounding) Error() string {
	return fmt.Sprintf("%s: attestation source %d target %d surrounds the attestation already signed with source %d target %d (surround vote)",
		short(e.Pubkey), e.Source, e.Target, e.ExistingSource, e.ExistingTarget)
}

// Unwrap makes errors.Is(err, ErrSlashable) true.
func (e *Surrounding) Unwrap() error { return ErrSlashable }

// Surrounded refuses an attestation that an already signed one surrounds.
type Surrounded struct {
	Pubkey                         Pubkey
	Source, Target                 uint64
	ExistingSource, ExistingTarget uint64
}

func (e *Surrounded) Error() string {
	return fmt.Sprintf("%s: attestation source %d target %d is surrounded by the attestation already signed with source %d target %d (surround vote)",
		short(e.Pubkey), e.Source, e.Target, e.ExistingSource, e.ExistingTarget)
}

// Unwrap makes errors.Is(err, ErrSlashable) true.
func (e *Surrounded) Unwrap() error { return ErrSlashable }

// Which names the quantity a BelowWatermark refers to.
type Which string

// The quantities that have low watermarks.
const (
	BlockSlot         Which = "block slot"
	AttestationSource Which = "attestation source epoch"
	AttestationTarget Which = "attestation target epoch"
)

// BelowWatermark refuses a request below a low watermark (set by import,
// the first signing, or pruning), or at it without repeating the record
// there.
type BelowWatermark struct {
	Pubkey    Pubkey
	Which     Which
	Value     uint64
	Watermark uint64
}

func (e *BelowWatermark) Error() string {
	return fmt.Sprintf("%s: %s %d is below the low watermark %d: history below it is unknown or pruned, so nothing there may be signed",
		short(e.Pubkey), e.Which, e.Value, e.Watermark)
}

// Unwrap makes errors.Is(err, ErrSlashable) true.
func (e *BelowWatermark) Unwrap() error { return ErrSlashable }

// SourceAfterTarget refuses an attestation whose source epoch is after its
// target epoch.
type SourceAfterTarget struct {
	Pubkey         Pubkey
	Source, Target uint64
}

func (e *SourceAfterTarget) Error() string {
	return fmt.Sprintf("%s: attestation source epoch %d is after its target epoch %d",
		short(e.Pubkey), e.Source, e.Target)
}

// Unwrap makes errors.Is(err, ErrSlashable) true.
func (e *SourceAfterTarget) Unwrap() error { return ErrSlashable }

// Disabled refuses every request for a validator disabled by Disable.
type Disabled struct {
	Pubkey Pubkey
}

func (e *Disabled) Error() string {
	return fmt.Sprintf("%s is disabled (deleted through the keymanager API): import its keystore or slashing protection interchange to enable it again",
		short(e.Pubkey))
}

// Unwrap makes errors.Is(err, ErrSlashable) true.
func (e *Disabled) Unwrap() error { return ErrSlashable }

// AboveHighWatermark refuses a request at or above the database's high
// watermark.
type AboveHighWatermark struct {
	Pubkey    Pubkey
	Which     Which
	Value     uint64
	Watermark uint64
}

func (e *AboveHighWatermark) Error() string {
	return fmt.Sprintf("%s: %s %d is at or above the high watermark %d set for this database",
		short(e.Pubkey), e.Which, e.Value, e.Watermark)
}

// Unwrap makes errors.Is(err, ErrSlashable) true.
func (e *AboveHighWatermark) Unwrap() error { return ErrSlashable }

// WrongGenesis refuses a request or an import for a chain other than the
// one whose genesis validators root is bound to the database.
type WrongGenesis struct {
	Requested, Bound [32]byte
}

func (e *WrongGenesis) Error() string {
	return fmt.Sprintf("genesis validators root 0x%x does not match 0x%x, the one this slashing protection database is bound to: this is another chain",
		e.Requested, e.Bound)
}

// Unwrap makes errors.Is(err, ErrSlashable) true.
func (e *WrongGenesis) Unwrap() error { return ErrSlashable }
