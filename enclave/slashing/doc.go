// Package slashing is the slashing protection of one enclave: before the
// enclave releases its partial BLS signature over an Ethereum block or
// attestation, it asks this package, which refuses anything slashable with
// respect to what this enclave has already signed or imported, and records
// what it allows durably before saying yes (DESIGN.md, trust rule 4). Every
// enclave holds its own copy, so the host cannot get a slashable message
// signed by routing requests to different enclaves: each one refuses on its
// own.
//
// This package must never allow a block or attestation that the rules
// below refuse, never return success before the record of it is synced to
// the enclave's store, and never import host, web3signer or pkcs11 (the
// rules live in the enclave because that is where they must hold).
//
// # Rules
//
// They follow Web3Signer's slashing protection
// (slashing-protection/.../DbSlashingProtection.java, validator/BlockValidator.java,
// validator/AttestationValidator.java, interchange/BlockImporter.java,
// interchange/AttestationImporter.java, DbPruner.java) and the conditions of
// EIP-3076, taking the stricter reading wherever the two differ.
//
// Checked for every request, in this order:
//
//  1. Genesis: a database serves one chain. The first import or signing
//     (or BindGenesis) binds its genesis validators root; any other root is
//     refused (WrongGenesis).
//  2. Disabled: a validator disabled with Disable (keymanager DELETE)
//     refuses everything until an import that names it, or Enable (the
//     keymanager import of its keystore), enables it again (Disabled).
//  3. Attestations only: source epoch after target epoch is refused
//     (SourceAfterTarget).
//  4. High watermark: when set, a block at or above its slot, and an
//     attestation whose source or target is at or above its epoch, is
//     refused (AboveHighWatermark), as Web3Signer does.
//  5. Low watermarks: a block below the lowest retained block slot is
//     refused, and so is one at that slot unless it repeats the record
//     there (EIP-3076 condition 2 at all times). An attestation whose source
//     is below the source watermark, or whose target is below the lowest
//     retained target, is refused; at that target only a repeat passes
//     (conditions 4 and 5) (BelowWatermark).
//  6. Double proposal / double vote: another block at the same slot, or
//     another attestation with the same target, whose signing root differs
//     or is unknown, is refused (DoubleProposal, DoubleVote). A repeat (same
//     slot, or same source and target, and the same known signing root) is
//     allowed and records nothing new.
//  7. Surround: an attestation that surrounds a retained one (lower source,
//     higher target) or is surrounded by one is refused (Surrounding,
//     Surrounded). Repeats are checked too.
//
// Web3Signer does not refuse a block merely because a later slot was
// signed, and neither does this package: slashing is only two blocks at one
// slot, and every block at or above the low watermark is retained, so the
// double-proposal check sees it.
//
// An imported message without a signing root has an unknown one: nothing
// repeats it, so nothing else at its slot or target is ever allowed. When an
// import or a merge puts two different messages at one slot or target, the
// record keeps the root as unknown and, for attestations, the lowest and
// highest source seen, which keeps every refusal either message caused.
//
// # Bounded storage
//
// A validator keeps its most recent Options.RetainBlocks blocks (by slot)
// and Options.RetainAttestations attestations (by target), plus a quarter
// more before pruning runs, so storage per validator is bounded. Pruning is
// safe because:
//
//   - Blocks: the low watermark is the lowest retained slot and every block
//     at or above it is retained, so a request either falls below the
//     watermark (refused) or meets every block it could conflict with.
//   - Attestations: the target watermark is the lowest retained target and
//     every attestation at or above it is retained. A dropped attestation P
//     has target below the watermark, so a new one (s, t) that passes the
//     target check has t above P's target: it cannot be surrounded by P or
//     double-vote with it, and it surrounds P only if s is below P's
//     source. Pruning raises the source watermark to the highest source of
//     anything dropped, so such an s is refused. This is stricter than
//     Web3Signer, which takes the source of the oldest retained attestation
//     and is only safe when the history held no slashable pair.
//
// An import raises the watermarks to the lowest slot, source and target it
// carries when those are higher (the stricter of old and new, as
// Web3Signer does), and drops what falls below, so signing in a gap between
// two imports is refused (EIP-3076, "Advice for Complete Databases").
//
// # Durability and concurrency
//
// Each validator has a lock; checking and recording one request happens
// under it, so of two conflicting requests exactly one succeeds. The record
// is added to a shared batch and the caller waits until a batch containing
// it has been applied to the store (group commit): concurrent requests for
// different validators share one synced write, and nobody returns before
// its own record is durable. A repeat waits for the record it repeats. If a
// write fails, the database refuses everything (ErrFailed) until it is
// opened again from the store, because its memory may then hold records
// that are not on disk.
//
// # Store layout
//
// Under the caller's prefix P (which ends in "/"), every value starting
// with a format byte (1):
//
//	P genesis                           gvr (32 bytes)
//	P high-watermark                    slot, epoch (8 bytes each, big endian)
//	P v/<pubkey hex>/meta               flags (bit 0 enabled, bit 1 source watermark set), source watermark
//	P v/<pubkey hex>/b/<slot %016x>     flags (bit 0 root known), root
//	P v/<pubkey hex>/a/<target %016x>   flags (bit 0 root known), lowest source, highest source, root
//
// Open reads all of it into memory, so a check never reads the store;
// anything under P it does not understand makes Open fail rather than guess.
//
// # Interchange
//
// Import and Export speak EIP-3076 interchange format version 5 (the only
// version the EIP defines; earlier drafts are not compatible and are
// refused, as Web3Signer refuses them). Import is strict (unknown fields,
// malformed numbers or hex, trailing data and files over
// MaxInterchangeSize are refused), all or nothing, and merges with what is
// there. Export writes every retained record and, when the source
// watermark is above the lowest retained source, one extra attestation
// without a signing root at (source watermark, target watermark), so that
// an importer following EIP-3076 refuses at least what this database
// refuses.
package slashing
