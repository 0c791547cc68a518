// Package backup is mpcsigner's disaster-recovery format and the code on either side of it:
// the age encryption of one key share inside the enclave that holds it (SealShare), the
// bundle the host assembles from the enclaves' encrypted entries and checks (Assemble,
// ParseBundle, Verify), the Shamir splitting of an operator's recovery identity into k-of-m
// pieces (SplitIdentity, CombinePieces), and the offline reconstruction of a whole key from t
// decrypted shares (Reconstruct), for `mpcsigner recover --i-understand-this-reconstructs-the-key`.
//
// What it must never do: be used by the untrusted host for anything but assembling and
// checking bundles (the host never holds a share, a chain code, a recovery identity or a
// piece, so it has nothing to give SealShare, OpenShare, CombinePieces or Reconstruct); put a
// share, a chain code or an identity in an error, a log or a String; or write a chain code
// in the clear: it travels inside each encrypted entry only. Reconstruct makes a whole
// private key, which trust rule 1 allows only in an explicit, quorum-approved restore.
//
// # Entries
//
// SealShare runs inside an enclave. It checks the share against the metadata it is given
// (party, threshold, parties, group key: the engine decodes the share), then encrypts with
// age (age-encryption.org/v1, binary, not armored) to every recipient: age X25519
// recipients ("age1...") and OpenSSH "ssh-ed25519 AAAA..." keys, 1 to MaxRecipients of them,
// no duplicates. The plaintext is one JSON object:
//
//	{"version":1,"key_id":"...","scheme":"bip340","public_key":"<hex>","threshold":2,
//	 "parties":[1,2,3],"party":2,"public_share":"<hex>","share":"<base64 of the engine's share>",
//	 "chain_code":"<64 hex digits, only for keys that have one>"}
//
// so that a restore gets the share, the chain code and the metadata to check them against.
// An Entry in a bundle is
//
//	{"party":2,"public_share":"<hex, optional>","ciphertext":"<base64 of the age file>",
//	 "ciphertext_sha256":"<hex>"}
//
// An operator can open an entry by hand: base64-decode "ciphertext" and give it to `age -d`.
//
// # Bundles
//
// A bundle is one indented JSON object (Marshal writes it, ParseBundle reads it):
//
//	{
//	  "version": 1,
//	  "key_id": "0f1e...",
//	  "key_label": "treasury",
//	  "scheme": "bip340",
//	  "public_key": "<hex: the engine's public key encoding>",
//	  "threshold": 2,
//	  "parties": [1, 2, 3],
//	  "recipients": ["age1...", "ssh-ed25519 AAAA..."],
//	  "entries": [ <Entry>, ... one per party that sealed its share, ascending ],
//	  "created": "2025-01-02T03:04:05Z",
//	  "digest": "<hex SHA-256>"
//	}
//
// The digest is SHA-256 over "mpcsigner-backup-bundle-v1\n" followed by the compact JSON of
// the bundle with "digest" set to "". ParseBundle decodes strictly (size limit, unknown
// fields, trailing data), checks every field, every entry's SHA-256, the digest, and each
// entry's age header against the bundle's recipients, and finally that the input is exactly
// what Marshal writes for what it decoded (so that no byte, not even one that decodes to the
// same value, can change unnoticed). A bundle may hold fewer entries than parties (an
// enclave was down), but never fewer than the threshold.
//
// What these checks are worth: the digest and hashes detect damage (truncation, a flipped
// byte, a lost entry), not forgery: whoever writes a bundle can recompute them, and anyone
// can encrypt to a public recipient. Authenticity comes at restore time: Bundle.Open checks
// that the decrypted metadata is the bundle's, and Reconstruct checks that the shares
// interpolate to the key's public key, which the operator compares with the key they know.
// age headers carry no identifier of an X25519 recipient, so the header check can only count
// X25519 stanzas; ssh-ed25519 stanzas name their key by a 4-byte tag, which is checked.
//
// # Recovery identities
//
// An operator team can hold an age X25519 identity split k-of-m with Shamir's scheme over
// GF(2^8) (github.com/hashicorp/vault/shamir) instead of one person holding it. A piece is one
// line, "mpcsigner-recovery-piece-<i>:" followed by unpadded base32 of: version 1, k, m, i
// (one byte each), the identity's 32-byte X25519 public key, vault's 33-byte share of the
// 32-byte secret scalar, and the first 8 bytes of SHA-256 over the domain
// "mpcsigner-recovery-piece-v1\n" and the preceding bytes, so that a mistyped piece is
// caught. CombinePieces accepts k or more pieces of one identity and checks that they combine
// to the recorded public key.
package backup
