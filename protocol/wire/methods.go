package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// The methods a host may call on its enclave (the Method of a Request). Bodies are JSON objects,
// decoded strictly by DecodeJSON: unknown fields, trailing data and bodies over MaxFrameBody are
// errors.
const (
	// MethodHello makes the calling connection the enclave's primary one: relays the enclave
	// emits go there. Body: none. Reply: StatusReply.
	MethodHello = "hello"
	// MethodStatus reports the enclave's identity and readiness. Reply: StatusReply.
	MethodStatus = "status"
	// MethodKeysList lists the keys this enclave holds a share of. Reply: KeysReply.
	MethodKeysList = "keys.list"
	// MethodKeyGet finds one key by id or label. Args: KeyRef. Reply: KeyInfo.
	MethodKeyGet = "keys.get"
	// MethodKeyDelete deletes this party's share of a key, with its record and indexes, in one
	// synced batch. Args: KeyRef naming the key by id only. A key the party does not hold is
	// no error (Deleted false), so a retry after a partial deletion completes it. Validator
	// (BLS) keys are refused: the Keymanager API disables them and keeps their slashing
	// protection history. Reply: KeyDeleteReply.
	MethodKeyDelete = "keys.delete"
	// MethodKeyRetire erases this party's share of a key that a reshare moved to a committee
	// without this party (or to a newer epoch this party missed). Args: KeyRetireArgs. Reply:
	// KeyDeleteReply. A share at the given epoch or later is kept: a host cannot use this to
	// delete a current share (it could with keys.delete, which validator keys refuse).
	MethodKeyRetire = "keys.retire"
	// MethodKeyDerive returns a key's child public key at a non-hardened path, computed with the
	// key's chain code, which never leaves the enclave except inside an xpub asked for. Args:
	// DeriveArgs. Reply: DeriveReply.
	MethodKeyDerive = "keys.derive"
	// MethodBackupExport seals this party's share of a key (with its chain code) to the given
	// age recipients inside the enclave, after checking the operators' approval. Args:
	// BackupExportArgs. Reply: BackupEntry.
	MethodBackupExport = "backup.export"
	// MethodBackupRestore loads this party's share from a backup bundle: the enclave opens the
	// recovery identity sealed to its attested key, decrypts its own entry with it, checks the
	// entry against the bundle, and saves the key. Args: BackupRestoreArgs. Reply: KeyInfo.
	MethodBackupRestore = "backup.restore"
	// MethodPrepare readies one protocol run; the enclave checks the request and claims what the
	// run needs, but sends nothing yet. Args: PrepareArgs.
	MethodPrepare = "session.prepare"
	// MethodStart starts a prepared run and replies when it ends. Args: SessionRef.
	// Reply: SessionResult.
	MethodStart = "session.start"
	// MethodAbort abandons a run. Args: SessionRef.
	MethodAbort = "session.abort"
	// MethodIdentity returns the enclave's attested identity: a document over its Noise static
	// key and its own binding (party, cluster, epoch). It takes no arguments: what an enclave
	// attests is its own choice, never the host's. Reply: IdentityReply.
	MethodIdentity = "identity"
	// MethodPeerLearn hands the enclave a peer's identity document, fetched by the host. The
	// enclave verifies it and only then uses the key it attests. Args: PeerDocument.
	MethodPeerLearn = "peer.learn"
	// MethodPeerReset tells the enclave that a peer's enclave restarted, so its channel to that
	// peer must be renegotiated. A lying host only causes extra handshakes. Args: PeerRef.
	MethodPeerReset = "peer.reset"

	// MethodRandom asks for bytes from the enclave's own random generator (crypto/rand inside
	// the enclave; on Nitro the enclave kernel's, which the kernel and init nitro-cli ships seed
	// from the NSM), for clients that want randomness the host did not make. Args: RandomArgs.
	// Reply: RandomReply.
	MethodRandom = "random"

	// MethodEth2Sign asks for this party's partial BLS signature over an Ethereum consensus
	// message. The enclave parses the request itself, recomputes its signing root, and applies
	// its own slashing protection (recorded durably) before it answers. Args: Eth2SignArgs.
	// Reply: Eth2Partial.
	MethodEth2Sign = "eth2.sign"
	// MethodEth2SignBatch asks for several partial signatures at once. Args: Eth2SignBatch
	// (1 to MaxEth2Batch items); reply: Eth2PartialBatch, one result per item in order. Each
	// item is checked and recorded exactly as an eth2.sign call of its own, and fails on its
	// own: one item refused by slashing protection does not fail the others.
	MethodEth2SignBatch = "eth2.sign.batch"
	// MethodEth2Import imports EIP-3076 slashing protection data. Args: Eth2Interchange.
	MethodEth2Import = "eth2.slashing.import"
	// MethodEth2Export exports EIP-3076 slashing protection data. Args: Eth2Pubkeys (none:
	// all). Reply: Eth2Interchange.
	MethodEth2Export = "eth2.slashing.export"
	// MethodEth2Disable makes the enclave refuse to sign with the keys until an import
	// re-enables them. Args: Eth2Pubkeys. Reply: Eth2Pubkeys (those it holds a share of).
	MethodEth2Disable = "eth2.disable"
	// MethodEth2Enable lets disabled keys sign again (a Keymanager import of a deleted key).
	// Args: Eth2Pubkeys.
	MethodEth2Enable = "eth2.enable"
	// MethodEth2Watermark reports the high watermark; with Eth2SetWatermark args it first sets
	// or clears it (a lying host can only stop signing, which it can anyway). Reply:
	// Eth2Watermark.
	MethodEth2Watermark = "eth2.watermark"
)

// Error codes carried in RemoteError.Code. The host maps them to HTTP statuses in one place.
const (
	CodeBadRequest  = "bad_request" // the request itself is wrong
	CodeNotFound    = "not_found"   // unknown key or session
	CodeConflict    = "conflict"    // e.g. a label already in use, a session id reused
	CodeNotReady    = "not_ready"   // e.g. pre-parameters still being generated
	CodeProtocol    = "protocol"    // a protocol run failed; Culprits may name parties
	CodeTimeout     = "timeout"     // a run did not finish in time
	CodeUnavailable = "unavailable" // a party could not be reached
	CodeInternal    = "internal"    // a fault inside the enclave
	CodeRejected    = "rejected"    // an input from the host was refused (notice, ID 0)
	CodePolicy      = "policy"      // the enclave's own rules refuse it (slashing protection)
	CodeStaleKey    = "stale_key"   // a signing named a key epoch this party has moved past (or not reached)
)

// Session kinds.
const (
	KindKeygen = "keygen"
	KindSign   = "sign"
	// KindImport is a keygen whose secret is an existing key one party (the dealer) opens
	// from a sealed import and deals; PrepareArgs.Import says which.
	KindImport = "import"
	// KindReshare moves a key to new shares with the same public key: a refresh (the same
	// parties) or a committee change. Parties lists every participant (old and new);
	// PrepareArgs.Reshare says who deals and who receives.
	KindReshare = "reshare"
	// KindChainCode has every party of a secp256k1 ECDSA key draw the key's secret chain code
	// together (commit-reveal), for BIP32-style derivation below the key. Parties lists every
	// holder; a party that already holds a chain code for the key refuses.
	KindChainCode = "chaincode"
	// KindPresign runs the message-independent part of a signing ahead of time among Parties
	// (exactly the key's threshold of its holders) for KeyID at Epoch (and Path). Each party
	// parks its presignature in memory under the session id; a later KindSign names it in
	// Presignature and runs only the online rounds.
	KindPresign = "presign"
)

// DeriveArgs asks for a key's non-hardened child public key, and with XPub for the extended
// public key at that path (which reveals the chain code below it: a watch-only wallet needs it).
type DeriveArgs struct {
	Key  string `json:"key"`
	Path string `json:"path"`           // "m/0/7"
	XPub string `json:"xpub,omitempty"` // "", "mainnet" (xpub...) or "testnet" (tpub...)
}

// DeriveReply is a derived public key.
type DeriveReply struct {
	PublicKey string `json:"public_key"` // hex, 33-byte compressed
	Path      string `json:"path"`
	XPub      string `json:"xpub,omitempty"`
}

// ReshareArgs describes a reshare. Every participant checks what it can: a dealer that its share
// is of PublicKey at Epoch, a receiver that the dealt sharing is of PublicKey.
type ReshareArgs struct {
	// OldParties deal: exactly the key's current threshold of its current holders.
	OldParties []protocol.PartyID `json:"old_parties"`
	// NewParties receive the new shares; NewThreshold of them sign afterwards.
	NewParties   []protocol.PartyID `json:"new_parties"`
	NewThreshold int                `json:"new_threshold"`
	PublicKey    string             `json:"public_key"` // hex, the key's public key
	// Epoch is the key's current epoch at the dealers; the new shares are at Epoch+1.
	Epoch uint64 `json:"epoch"`
	// Created and PKCS11ID describe the key to a party that does not hold it yet.
	Created  string `json:"created"`
	PKCS11ID string `json:"pkcs11_id,omitempty"`
}

// BackupExportArgs asks for this party's sealed backup entry of a key.
type BackupExportArgs struct {
	Key        string     `json:"key"`        // id
	Recipients []string   `json:"recipients"` // age X25519 ("age1...") or "ssh-ed25519 ..." keys
	Approvals  *Approvals `json:"approvals,omitempty"`
}

// BackupEntry is one party's sealed entry (backup.Entry JSON).
type BackupEntry struct {
	Entry json.RawMessage `json:"entry"`
}

// BackupRestoreArgs restores this party's share from a bundle.
type BackupRestoreArgs struct {
	Bundle []byte `json:"bundle"` // the bundle file, exactly as written (base64 in JSON)
	// SealedIdentity is the age identity (or OpenSSH ed25519 private key) that opens the
	// entries, sealed with SealImport to this enclave's attested key under RestoreInfo.
	SealedIdentity []byte     `json:"sealed_identity"`
	Approvals      *Approvals `json:"approvals,omitempty"`
}

// KeyRetireArgs asks a party that is no longer in a key's committee to erase its share: it
// does so only if its share is older than Epoch, the epoch a reshare moved the key to.
type KeyRetireArgs struct {
	Key   string `json:"key"` // id
	Epoch uint64 `json:"epoch"`
}

// StatusReply describes an enclave.
type StatusReply struct {
	Party          protocol.PartyID `json:"party"`
	NoisePublicKey string           `json:"noise_public_key"` // hex X25519
	BootID         string           `json:"boot_id"`          // new at every start
	PreParamsReady int              `json:"preparams_ready"`
	PreParamsWant  int              `json:"preparams_want"`
	Keys           int              `json:"keys"`
	Sessions       int              `json:"sessions"`
	// Presignatures is how many presignatures are parked in memory, waiting for a request.
	Presignatures int `json:"presignatures"`
}

// MaxRandomBytes is the most MethodRandom gives in one call.
const MaxRandomBytes = 4096

// RandomArgs asks for Bytes random bytes, 1 to MaxRandomBytes.
type RandomArgs struct {
	Bytes int `json:"bytes"`
}

// RandomReply carries the bytes (base64 in JSON).
type RandomReply struct {
	Random []byte `json:"random"`
}

// KeyRef names a key by id or label.
type KeyRef struct {
	Key string `json:"key"`
}

// KeyDeleteReply says whether the party held a share of the key and deleted it now.
type KeyDeleteReply struct {
	Deleted bool `json:"deleted"`
}

// KeyInfo is the public description of a key.
type KeyInfo struct {
	ID        string             `json:"id"`
	Label     string             `json:"label"`
	Scheme    protocol.Scheme    `json:"scheme"`
	PublicKey string             `json:"public_key"` // hex
	Threshold int                `json:"threshold"`
	Parties   []protocol.PartyID `json:"parties"`
	Created   string             `json:"created"` // RFC 3339
	// PKCS11ID is the application id asked for at generation (hex), if any.
	PKCS11ID string `json:"pkcs11_id,omitempty"`
	// PublicShares holds, for BLS keys, every party's public share x_m·G1 (hex), which a host
	// needs to combine partial signatures and to name a party whose partial is wrong.
	PublicShares map[protocol.PartyID]string `json:"public_shares,omitempty"`
	// InternalKey is, for BIP340 keys, the untweaked x-only internal key P (hex) whose BIP86
	// output key is PublicKey: PSBT_IN_TAP_INTERNAL_KEY and tr() descriptors name it.
	InternalKey string `json:"internal_key,omitempty"`
	// Disabled is set on a validator key whose signing was stopped (Keymanager DELETE).
	Disabled bool `json:"disabled,omitempty"`
	// Epoch counts the reshares of this key (0 for a key never reshared). A party signs only
	// with a request for its own epoch, so old and new shares are never mixed.
	Epoch uint64 `json:"epoch,omitempty"`
	// ChainCodeID names the key's secret chain code (a hash of it, revealing nothing), so that a
	// host can see that every party has the same one; empty when the key has none.
	ChainCodeID string `json:"chain_code_id,omitempty"`
}

// KeysReply lists keys, in SortKeyInfos's order.
type KeysReply struct {
	Keys []KeyInfo `json:"keys"`
}

// SortKeyInfos puts keys in the order every key list uses: oldest first (creation time, then
// id), so that an enclave's list and a host's merged list of several enclaves' agree.
func SortKeyInfos(infos []KeyInfo) {
	slices.SortStableFunc(infos, func(a, b KeyInfo) int { return strings.Compare(a.Created+a.ID, b.Created+b.ID) })
}

// PrepareArgs describes one protocol run. Every participant receives the same value; each
// derives the run's session nonce from it, so the nonce is unique per session id.
type PrepareArgs struct {
	Session   string             `json:"session"` // 32 hex digits, fresh for every run
	Kind      string             `json:"kind"`    // KindKeygen or KindSign
	Scheme    protocol.Scheme    `json:"scheme"`
	Parties   []protocol.PartyID `json:"parties"` // keygen: all n; sign: exactly t signers
	Threshold int                `json:"threshold,omitempty"`
	KeyID     string             `json:"key_id"`
	Label     string             `json:"label,omitempty"`  // keygen only
	Digest    string             `json:"digest,omitempty"` // sign only: 64 hex digits
	// PKCS11ID is an optional application id for a keygen (lowercase hex, 1 to 64 bytes, unique
	// in the cluster like a label): what a PKCS#11 client asked as CKA_ID.
	PKCS11ID string `json:"pkcs11_id,omitempty"`
	// Message is a whole message to sign instead of Digest (hex, Ed25519 keys only, up to
	// protocol.MaxMessageBytes).
	Message string      `json:"message,omitempty"`
	Import  *ImportArgs `json:"import,omitempty"` // import only
	// Path, for a signing, signs with the key's non-hardened child at this BIP32 path ("m/0/7").
	Path string `json:"path,omitempty"`
	// Epoch is, for a signing, the key epoch the host expects (KeyInfo.Epoch): a party whose
	// share is of another epoch refuses, so a signing never mixes shares across a reshare.
	Epoch   uint64       `json:"epoch,omitempty"`
	Reshare *ReshareArgs `json:"reshare,omitempty"` // reshare only
	// Approvals carries the operators' approval of a lifecycle operation (reshare), which every
	// participant checks against its own policy.
	Approvals *Approvals `json:"approvals,omitempty"`
	// Presignature, for a signing, is the session id of a presign run among the same signers
	// for the same key, epoch and path: the signing binds its digest to that presignature and
	// runs only the online rounds. Each party uses a presignature at most once.
	Presignature string `json:"presignature,omitempty"`
	// Batch, for a signing, signs several payloads with the same key, epoch, path and signers
	// in one session (2 to protocol.MaxBatch items), each protocol round crossing as one
	// envelope; Digest, Message and Presignature are then empty, and every item sets its own.
	Batch []BatchItem `json:"batch,omitempty"`
}

// BatchItem is one payload of a batched signing: exactly one of Digest and Message, and
// optionally the presignature it binds.
type BatchItem struct {
	Digest       string `json:"digest,omitempty"`
	Message      string `json:"message,omitempty"`
	Presignature string `json:"presignature,omitempty"`
}

// BatchSignature is one signature of a batched signing, in the items' order.
type BatchSignature struct {
	Signature  string `json:"signature"`
	RecoveryID *int   `json:"recovery_id,omitempty"`
}

// Approvals is an approval statement (enclave/approval JSON) and the operators' signatures of
// it (a JSON array of approvals), passed through the host unchanged.
type Approvals struct {
	Statement json.RawMessage `json:"statement"`
	Approvals json.RawMessage `json:"approvals"`
}

// SessionRef names a session.
type SessionRef struct {
	Session string `json:"session"`
	Reason  string `json:"reason,omitempty"`
}

// IdentityReply is an enclave's attested identity.
type IdentityReply struct {
	Party    protocol.PartyID `json:"party"`
	Kind     string           `json:"kind"`     // attestation kind: nitro, sevsnp or sim
	Document []byte           `json:"document"` // the attestation document
}

// PeerDocument is a peer's identity document for MethodPeerLearn.
type PeerDocument struct {
	Party    protocol.PartyID `json:"party"`
	Document []byte           `json:"document"`
}

// PeerRef names a peer party.
type PeerRef struct {
	Party protocol.PartyID `json:"party"`
}

// SessionResult is what a finished run returns: the key for a keygen, the signature for a sign.
type SessionResult struct {
	Key        *KeyInfo `json:"key,omitempty"`
	Signature  string   `json:"signature,omitempty"` // hex r||s
	RecoveryID *int     `json:"recovery_id,omitempty"`
	// Presigned reports a presign run that ended with this party's presignature parked.
	Presigned bool `json:"presigned,omitempty"`
	// Batch holds a batched signing's signatures, in its items' order.
	Batch []BatchSignature `json:"batch,omitempty"`
}

// Eth2SignArgs is one eth2 signing request for MethodEth2Sign.
type Eth2SignArgs struct {
	PublicKey string `json:"public_key"` // hex, 48 bytes: the validator key
	// Request is the Web3Signer request body (canonical form); the enclave decodes it itself.
	Request json.RawMessage `json:"request"`
	// GenesisForkVersion is the network's (hex, 4 bytes), for VALIDATOR_REGISTRATION.
	GenesisForkVersion string `json:"genesis_fork_version"`
	// ExitDenebEpoch and ExitCapellaVersion carry the network's EIP-7044 rule for voluntary
	// exits (Capella's fork version from Deneb on), when the network has one.
	ExitDenebEpoch     *uint64 `json:"exit_deneb_epoch,omitempty"`
	ExitCapellaVersion string  `json:"exit_capella_version,omitempty"`
}

// MaxEth2Batch bounds the items of one MethodEth2SignBatch call.
const MaxEth2Batch = 64

// Eth2SignBatch is several eth2 signing requests for MethodEth2SignBatch.
type Eth2SignBatch struct {
	Items []Eth2SignArgs `json:"items"`
}

// Eth2PartialBatch answers an Eth2SignBatch: for each item, a partial signature or an error.
type Eth2PartialBatch struct {
	Items []Eth2PartialResult `json:"items"`
}

// Eth2PartialResult is one item's answer: exactly one of Partial and Error.
type Eth2PartialResult struct {
	Partial *Eth2Partial `json:"partial,omitempty"`
	Error   *ItemError   `json:"error,omitempty"`
}

// ItemError is one item's failure in a batched reply, with the codes of RemoteError.
type ItemError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Eth2Partial is one party's partial signature.
type Eth2Partial struct {
	Party   protocol.PartyID `json:"party"`
	Partial string           `json:"partial"` // hex, 96 bytes
}

// Eth2Interchange carries EIP-3076 JSON.
type Eth2Interchange struct {
	Interchange json.RawMessage `json:"interchange"`
}

// Eth2Pubkeys names validator keys (hex).
type Eth2Pubkeys struct {
	Pubkeys []string `json:"pubkeys"`
}

// Eth2Watermark is the high watermark; Set is false when there is none.
type Eth2Watermark struct {
	Set   bool   `json:"set"`
	Slot  uint64 `json:"slot,omitempty"`
	Epoch uint64 `json:"epoch,omitempty"`
}

// Eth2SetWatermark sets the high watermark (Clear false) or removes it (Clear true).
type Eth2SetWatermark struct {
	Slot  uint64 `json:"slot"`
	Epoch uint64 `json:"epoch"`
	Clear bool   `json:"clear,omitempty"`
}

// EncodeJSON encodes a method body.
func EncodeJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the fixed types above are encoded; failing here is a programming error.
		panic(fmt.Sprintf("wire: encoding %T: %v", v, err))
	}
	return b
}

// DecodeJSON decodes a method body strictly into v.
func DecodeJSON(b []byte, v any) error {
	if len(b) > MaxFrameBody {
		return fmt.Errorf("body of %d bytes exceeds %d: %w", len(b), MaxFrameBody, ErrFrameTooLarge)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding %T: %v: %w", v, err, ErrMalformed)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("decoding %T: trailing data after the object: %w", v, ErrMalformed)
	}
	return nil
}
