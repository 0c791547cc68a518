// Package api holds the native HTTP API's request and response types and its Go client. The
// CLI, the PKCS#11 module and the bench tool use it to talk to a host.
//
// It imports nothing else of host and must stay light: no protocol engines, no storage, no
// server code. It must never log or print the bearer token.
package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Routes of the native API (all under the host's API listener, all needing the bearer token
// except /v1/health).
const (
	PathKeys   = "/v1/keys"            // GET: list; POST: create (CreateKeyRequest)
	PathKey    = "/v1/keys/{key}"      // GET: one key by id or label; DELETE: KeyDeleted
	PathSign   = "/v1/keys/{key}/sign" // POST: SignRequest -> SignResponse
	PathHealth = "/v1/health"          // GET: Health (no token needed)
	// PathIdentity is the attested identity of this host's enclave, the dealer of imports
	// through this host: verify it, then seal the key to the X25519 key it attests.
	PathIdentity = "/v1/identity" // GET: Identity (?party=N: another party's, fetched through its host)
	// PathImport imports an existing key sealed to the dealer enclave.
	PathImport = "/v1/keys/import" // POST: ImportKeyRequest -> Key
	// PathHighWatermark is the eth2 high watermark of every enclave: nothing at or beyond it is
	// signed (Web3Signer's watermark-repair).
	PathHighWatermark = "/v1/eth2/high-watermark" // GET, PUT: HighWatermark; DELETE clears
	// PathAddress is a key's address on a chain: ?chain=C[&network=N].
	PathAddress = "/v1/keys/{key}/address" // GET: Address (&path=m/0/7 for a derived key)
	// PathChainSign signs an unsigned transaction of a chain with a key.
	PathChainSign = "/v1/chains/{chain}/sign" // POST: ChainSignRequest -> ChainSignResponse
	// PathPSBT signs the inputs of a Bitcoin-family PSBT that belong to the cluster's keys.
	PathPSBT = "/v1/psbt/sign" // POST: PSBTRequest -> PSBTResponse
	// PathChains lists the chains the host signs for.
	PathChains = "/v1/chains" // GET: ChainList
	// PathBackupExport has every holder seal its share of a key to recipients, and returns
	// the assembled bundle.
	PathBackupExport = "/v1/keys/{key}/backup" // POST: BackupExportRequest -> BackupBundle
	// PathBackupRestore loads one party's share from a bundle into its enclave.
	PathBackupRestore = "/v1/backup/restore" // POST: BackupRestoreRequest -> Key
	// PathXPub is a secp256k1 key's BIP32 extended public key at ?path=m/...&network=mainnet|testnet.
	PathXPub = "/v1/keys/{key}/xpub" // GET: XPub
	// PathReshare moves a key to new shares with the same public key: a refresh (no body
	// fields: the same parties and threshold) or a committee change.
	PathReshare = "/v1/keys/{key}/reshare" // POST: ReshareRequest -> Key
	// PathRandom gives bytes from the random generator of the host's own enclave.
	PathRandom = "/v1/random" // POST: RandomRequest -> RandomResponse
)

// MaxRandomBytes is the most one RandomRequest gives (the enclave's limit per call).
const MaxRandomBytes = 4096

// RandomRequest is the body of POST /v1/random.
type RandomRequest struct {
	Bytes int `json:"bytes"` // 1 to MaxRandomBytes
}

// RandomResponse carries the enclave's random bytes.
type RandomResponse struct {
	Random string `json:"random"` // hex, exactly the bytes asked for
}

// Address is a key's address on one chain and network.
type Address struct {
	KeyID   string `json:"key_id"`
	Chain   string `json:"chain"`
	Network string `json:"network"`
	Address string `json:"address"`
	Path    string `json:"path,omitempty"` // the derivation path below the key, if any
}

// ChainInfo describes one chain the host signs for.
type ChainInfo struct {
	Name     string   `json:"name"`
	Schemes  []string `json:"schemes"`
	Networks []string `json:"networks"` // the default first
}

// ChainList is the body of GET /v1/chains.
type ChainList struct {
	Chains []ChainInfo `json:"chains"`
}

// ChainSignRequest is the body of POST /v1/chains/{chain}/sign.
type ChainSignRequest struct {
	Key string `json:"key"` // id or label
	// Transaction is the unsigned transaction in the chain's customary encoding (docs/chains.md).
	Transaction string `json:"transaction"`
	Network     string `json:"network,omitempty"` // "" means the chain's default
	// Path signs with the key's non-hardened BIP32 child at this path (secp256k1 keys only).
	Path string `json:"path,omitempty"`
}

// ChainSignResponse is a signed transaction.
type ChainSignResponse struct {
	KeyID       string `json:"key_id"`
	Chain       string `json:"chain"`
	Network     string `json:"network"`
	Transaction string `json:"transaction"` // same encoding as the request's
	TxID        string `json:"txid,omitempty"`
	Signature   string `json:"signature"` // hex, as the chain encodes it
}

// PSBTRequest is the body of POST /v1/psbt/sign.
type PSBTRequest struct {
	PSBT    string `json:"psbt"`              // base64 (BIP174 v0, with BIP371 taproot fields)
	Chain   string `json:"chain,omitempty"`   // bitcoin (default) or litecoin
	Network string `json:"network,omitempty"` // mainnet (default), testnet, signet, regtest
	// Keys limits signing to these keys (ids or labels); empty means every key of the cluster.
	Keys []string `json:"keys,omitempty"`
	// Finalize finalizes every input once it is fully signed, and extracts the transaction
	// when all are.
	Finalize bool `json:"finalize,omitempty"`
}

// PSBTResponse is the updated PSBT.
type PSBTResponse struct {
	PSBT         string `json:"psbt"`                  // base64
	SignedInputs []int  `json:"signed_inputs"`         // indexes of the inputs signed now
	Complete     bool   `json:"complete"`              // every input is finalized
	Transaction  string `json:"transaction,omitempty"` // hex, when Finalize and Complete
}

// HighWatermark is a slot and epoch at or beyond which no block or attestation is signed.
// Set is false when none is set.
type HighWatermark struct {
	Set   bool   `json:"set"`
	Slot  uint64 `json:"slot"`
	Epoch uint64 `json:"epoch"`
}

// Identity is an enclave's attested identity document.
type Identity struct {
	Party    uint16 `json:"party"`
	Kind     string `json:"kind"`     // nitro, sevsnp or sim
	Document []byte `json:"document"` // base64 in JSON
}

// ImportKeyRequest is the body of POST /v1/keys/import.
type ImportKeyRequest struct {
	Scheme    string `json:"scheme"` // bls12-381
	Label     string `json:"label"`
	PublicKey string `json:"public_key"` // hex: the key being imported
	Dealer    uint16 `json:"dealer"`     // the party whose attested key Sealed is sealed to
	// Sealed is the HPKE-sealed keystore and password (see protocol/wire.SealImport).
	Sealed []byte `json:"sealed"`
}

// Key describes a threshold key. PublicKey is hex: 33-byte compressed SEC1 for ECDSA keys.
type Key struct {
	ID        string   `json:"id"`
	Label     string   `json:"label"`
	Scheme    string   `json:"scheme"`
	PublicKey string   `json:"public_key"`
	Threshold int      `json:"threshold"`
	Parties   []uint16 `json:"parties"`
	Created   string   `json:"created"`
	// InternalKey is a BIP340 key's untweaked x-only internal key (hex); PublicKey is its
	// BIP86 output key.
	InternalKey string `json:"internal_key,omitempty"`
	// PKCS11ID is the application id asked for at creation (hex), which the PKCS#11 module
	// shows as CKA_ID; empty when none was asked.
	PKCS11ID string `json:"pkcs11_id,omitempty"`
	// Epoch counts the reshares (refreshes and committee changes) of the key.
	Epoch uint64 `json:"epoch,omitempty"`
}

// BackupExportRequest is the body of POST /v1/keys/{key}/backup.
type BackupExportRequest struct {
	Recipients []string   `json:"recipients"` // age X25519 ("age1...") or "ssh-ed25519 AAAA..." keys
	Approvals  *Approvals `json:"approvals,omitempty"`
}

// BackupBundle is an assembled backup bundle, byte for byte as it is to be stored.
type BackupBundle struct {
	Bundle []byte `json:"bundle"` // base64 in JSON
	// Missing lists holders that did not export (unreachable): the bundle still has at least
	// the threshold of entries.
	Missing []uint16 `json:"missing,omitempty"`
}

// BackupRestoreRequest is the body of POST /v1/backup/restore.
type BackupRestoreRequest struct {
	Bundle []byte `json:"bundle"`
	Party  uint16 `json:"party"`
	// SealedIdentity is the recovery identity sealed to the party's attested enclave key.
	SealedIdentity []byte     `json:"sealed_identity"`
	Approvals      *Approvals `json:"approvals,omitempty"`
}

// XPub is an extended public key for watch-only wallets.
type XPub struct {
	KeyID     string `json:"key_id"`
	Path      string `json:"path"`
	Network   string `json:"network"`
	PublicKey string `json:"public_key"` // hex, the compressed key at Path
	XPub      string `json:"xpub"`
}

// ReshareRequest is the body of POST /v1/keys/{key}/reshare. Empty fields keep the key's
// current parties and threshold: an empty body is a share refresh.
type ReshareRequest struct {
	Parties   []uint16 `json:"parties,omitempty"`
	Threshold int      `json:"threshold,omitempty"`
	// Approvals is the operators' approval, when the enclaves require one.
	Approvals *Approvals `json:"approvals,omitempty"`
}

// Approvals is an operator approval statement (mpcsigner operator statement) and the
// operators' approvals of it (mpcsigner operator approve), passed to the enclaves unchanged:
// each checks them against its own policy.
type Approvals struct {
	Statement json.RawMessage `json:"statement"`
	Approvals json.RawMessage `json:"approvals"` // a JSON array of approvals
}

// KeyDeleted answers DELETE /v1/keys/{key}: enough parties have deleted their shares that no
// threshold of shares remains.
type KeyDeleted struct {
	KeyID string `json:"key_id"`
	// Deleted lists the parties that hold no share of the key any more (deleted now or before).
	Deleted []uint16 `json:"deleted"`
	// Remaining lists the parties that did not answer and may still hold a share: fewer than
	// the threshold, so the key cannot sign, but deleting again removes them.
	Remaining []uint16 `json:"remaining,omitempty"`
}

// KeyList is the body of GET /v1/keys.
type KeyList struct {
	Keys []Key `json:"keys"`
}

// CreateKeyRequest is the body of POST /v1/keys.
type CreateKeyRequest struct {
	Scheme string `json:"scheme"`
	Label  string `json:"label"`
	// Parties and Threshold choose the key's committee; empty: every party of the cluster and
	// the cluster's threshold.
	Parties   []uint16 `json:"parties,omitempty"`
	Threshold int      `json:"threshold,omitempty"`
	// PKCS11ID optionally gives the key an application id: hex, 1 to MaxPKCS11IDBytes bytes,
	// unique in the cluster like a label (a PKCS#11 client's CKA_ID).
	PKCS11ID string `json:"pkcs11_id,omitempty"`
}

// MaxPKCS11IDBytes is the longest application id a key can have.
const MaxPKCS11IDBytes = 64

// MaxMessageBytes caps a message given to SignRequest.Message: room for the largest Aptos
// signing message (a 64 KiB transaction after a 32-byte prefix). It equals
// protocol.MaxMessageBytes, which the enclaves enforce.
const MaxMessageBytes = 80 << 10

// SignRequest is the body of POST /v1/keys/{key}/sign: exactly one of Digest and Message.
type SignRequest struct {
	// Digest is the 32-byte message digest to sign, in hex (ECDSA, BIP340; an Ed25519 key
	// signs these 32 bytes as its message).
	Digest string `json:"digest,omitempty"`
	// Message is a whole message to sign, in hex, up to MaxMessageBytes: Ed25519 keys only,
	// which hash the message themselves (PureEdDSA), as Solana, Aptos and CKM_EDDSA need.
	Message string `json:"message,omitempty"`
	// Parties optionally names the signers to use; by default the host picks reachable ones.
	Parties []uint16 `json:"parties,omitempty"`
	// Path signs with the key's non-hardened BIP32 child at this path ("m/0/7"; secp256k1
	// ECDSA keys only).
	Path string `json:"path,omitempty"`
}

// SignResponse carries an ordinary signature under the key.
type SignResponse struct {
	KeyID     string `json:"key_id"`
	Signature string `json:"signature"` // ECDSA: hex r||s, 64 bytes, low-S; BLS: 96-byte compressed G2
	// RecoveryID is ECDSA's recovery id (0-3); absent for other schemes.
	RecoveryID *int     `json:"recovery_id,omitempty"`
	Parties    []uint16 `json:"parties"`
}

// Health reports what a host can reach.
type Health struct {
	Status    string        `json:"status"` // "ok" or "degraded" (fewer than threshold reachable)
	Party     uint16        `json:"party"`
	Threshold int           `json:"threshold"`
	Reachable int           `json:"reachable"`
	Parties   []PartyHealth `json:"parties"`
}

// PartyHealth is one party as seen from a host.
type PartyHealth struct {
	Party          uint16 `json:"party"`
	Reachable      bool   `json:"reachable"`
	BootID         string `json:"boot_id,omitempty"`
	PreParamsReady int    `json:"preparams_ready"`
	LastSeen       string `json:"last_seen,omitempty"`
	Error          string `json:"error,omitempty"`
}

// Error is the body of every non-2xx response.
type Error struct {
	Status   int      `json:"-"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Culprits []uint16 `json:"culprits,omitempty"`
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
	return s
}

// Client talks to one host's native API.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// ClientOptions configures NewClient.
type ClientOptions struct {
	URL       string // e.g. http://127.0.0.1:7001
	TokenFile string
	CAFile    string // for https URLs with a private CA
	Timeout   time.Duration
}

// NewClient builds a client, reading the token from its file.
func NewClient(o ClientOptions) (*Client, error) {
	if o.URL == "" {
		return nil, errors.New("no API address: pass --api, set MPCSIGNER_API, or run a devnet")
	}
	tok, err := ReadToken(o.TokenFile)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", o.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	return &Client{BaseURL: strings.TrimRight(o.URL, "/"), Token: tok, HTTP: &http.Client{Transport: tr, Timeout: o.Timeout}}, nil
}

// ReadToken reads a bearer token file (trimmed of surrounding white space).
func ReadToken(path string) (string, error) {
	if path == "" {
		return "", errors.New("no token file: pass --token-file, set MPCSIGNER_TOKEN_FILE, or run a devnet")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", path)
	}
	return tok, nil
}

// ListKeys returns every key.
func (c *Client) ListKeys(ctx context.Context) ([]Key, error) {
	var out KeyList
	err := c.do(ctx, http.MethodGet, PathKeys, nil, &out)
	return out.Keys, err
}

// GetKey returns one key by id or label.
func (c *Client) GetKey(ctx context.Context, key string) (*Key, error) {
	var out Key
	if err := c.do(ctx, http.MethodGet, keyPath(PathKey, key), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateKey runs a distributed key generation.
func (c *Client) CreateKey(ctx context.Context, req CreateKeyRequest) (*Key, error) {
	var out Key
	if err := c.do(ctx, http.MethodPost, PathKeys, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExportBackup has a key's holders seal their shares to recipients and returns the bundle.
func (c *Client) ExportBackup(ctx context.Context, key string, req BackupExportRequest) (*BackupBundle, error) {
	var out BackupBundle
	if err := c.do(ctx, http.MethodPost, keyPath(PathBackupExport, key), req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RestoreBackup loads one party's share from a bundle.
func (c *Client) RestoreBackup(ctx context.Context, req BackupRestoreRequest) (*Key, error) {
	var out Key
	if err := c.do(ctx, http.MethodPost, PathBackupRestore, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// IdentityOf returns party p's attested identity (through this host).
func (c *Client) IdentityOf(ctx context.Context, party uint16) (*Identity, error) {
	var out Identity
	if err := c.do(ctx, http.MethodGet, PathIdentity+"?party="+strconv.Itoa(int(party)), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// XPub returns a secp256k1 key's extended public key at path for network (mainnet or testnet).
func (c *Client) XPub(ctx context.Context, key, path, network string) (*XPub, error) {
	q := url.Values{}
	if path != "" {
		q.Set("path", path)
	}
	if network != "" {
		q.Set("network", network)
	}
	var out XPub
	if err := c.do(ctx, http.MethodGet, keyPath(PathXPub, key)+"?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Reshare moves a key (by id or label) to fresh shares: an empty request refreshes them.
func (c *Client) Reshare(ctx context.Context, key string, req ReshareRequest) (*Key, error) {
	var out Key
	if err := c.do(ctx, http.MethodPost, keyPath(PathReshare, key), req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteKey deletes a key (by id or label) across the cluster.
func (c *Client) DeleteKey(ctx context.Context, key string) (*KeyDeleted, error) {
	var out KeyDeleted
	if err := c.do(ctx, http.MethodDelete, keyPath(PathKey, key), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Identity fetches the attested identity of the host's enclave.
func (c *Client) Identity(ctx context.Context) (*Identity, error) {
	var out Identity
	if err := c.do(ctx, http.MethodGet, PathIdentity, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Address returns a key's address on a chain; network "" means the chain's default.
func (c *Client) Address(ctx context.Context, key, chain, network string) (*Address, error) {
	return c.AddressAt(ctx, key, chain, network, "")
}

// AddressAt is the address of the key's non-hardened child at path ("": the key itself).
func (c *Client) AddressAt(ctx context.Context, key, chain, network, path string) (*Address, error) {
	q := url.Values{"chain": {chain}}
	if network != "" {
		q.Set("network", network)
	}
	if path != "" {
		q.Set("path", path)
	}
	var out Address
	if err := c.do(ctx, http.MethodGet, keyPath(PathAddress, key)+"?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Chains lists the chains the host signs for.
func (c *Client) Chains(ctx context.Context) ([]ChainInfo, error) {
	var out ChainList
	err := c.do(ctx, http.MethodGet, PathChains, nil, &out)
	return out.Chains, err
}

// SignTransaction signs an unsigned transaction of a chain.
func (c *Client) SignTransaction(ctx context.Context, chain string, req ChainSignRequest) (*ChainSignResponse, error) {
	var out ChainSignResponse
	path := strings.Replace(PathChainSign, "{chain}", url.PathEscape(chain), 1)
	if err := c.do(ctx, http.MethodPost, path, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SignPSBT signs the inputs of a PSBT that belong to the cluster's keys.
func (c *Client) SignPSBT(ctx context.Context, req PSBTRequest) (*PSBTResponse, error) {
	var out PSBTResponse
	if err := c.do(ctx, http.MethodPost, PathPSBT, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// HighWatermark reads (hw nil), sets or clears (clear) the eth2 high watermark.
func (c *Client) HighWatermark(ctx context.Context, hw *HighWatermark, clear bool) (*HighWatermark, error) {
	var out HighWatermark
	method, body := http.MethodGet, any(nil)
	switch {
	case clear:
		method = http.MethodDelete
	case hw != nil:
		method, body = http.MethodPut, hw
	}
	if err := c.do(ctx, method, PathHighWatermark, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ImportKey imports a sealed key.
func (c *Client) ImportKey(ctx context.Context, req ImportKeyRequest) (*Key, error) {
	var out Key
	if err := c.do(ctx, http.MethodPost, PathImport, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) Sign(ctx context.Context, key string, req SignRequest) (*SignResponse, error) {
	var out SignResponse
	if err := c.do(ctx, http.MethodPost, keyPath(PathSign, key), req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Random asks for random bytes made by the host's enclave. The caller checks the answer's
// length and encoding: the host is not trusted to get them right.
func (c *Client) Random(ctx context.Context, req RandomRequest) (*RandomResponse, error) {
	var out RandomResponse
	if err := c.do(ctx, http.MethodPost, PathRandom, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Health returns the host's view of the cluster.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var out Health
	err := c.do(ctx, http.MethodGet, PathHealth, nil, &out)
	return &out, err
}

func keyPath(pattern, key string) string {
	return strings.Replace(pattern, "{key}", urlPathEscape(key), 1)
}

func urlPathEscape(s string) string {
	var b strings.Builder
	for _, r := range []byte(s) {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteByte(r)
		} else {
			fmt.Fprintf(&b, "%%%02X", r)
		}
	}
	return b.String()
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("calling %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("reading the response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		apiErr := &Error{Status: resp.StatusCode}
		if json.Unmarshal(raw, apiErr) != nil || apiErr.Code == "" {
			apiErr.Code, apiErr.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(raw))
		}
		// Health answers 503 with a full body when degraded; keep it for the caller.
		if out != nil && path == PathHealth {
			_ = json.Unmarshal(raw, out)
		}
		return apiErr
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding the response: %w", err)
	}
	return nil
}

// PathHealthcheck reports, per party, reachability and whether its attestation is verified
// and fresh (no token needed). 200 when at least a threshold of parties are reachable with a
// verified, fresh attestation; 503 otherwise.
const PathHealthcheck = "/healthcheck"

// Healthcheck is the body of GET /healthcheck.
type Healthcheck struct {
	Status  string             `json:"status"` // "ok" or "degraded"
	Checks  []Check            `json:"checks"`
	Parties []PartyAttestation `json:"parties"`
}

// Check is one named check.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "ok" or "failed"
	Detail string `json:"detail,omitempty"`
}

// PartyAttestation is one party's attestation as this host last checked it.
type PartyAttestation struct {
	Party     uint16 `json:"party"`
	Reachable bool   `json:"reachable"`
	Kind      string `json:"kind,omitempty"` // the configured attestation kind: nitro, sevsnp or sim
	Verified  bool   `json:"verified"`
	Fresh     bool   `json:"fresh"`
	// Accepted: our enclave verified this peer's identity and uses its key (peers only).
	Accepted     bool              `json:"accepted"`
	Timestamp    string            `json:"timestamp,omitempty"`
	NotAfter     string            `json:"not_after,omitempty"`
	Measurements map[string]string `json:"measurements,omitempty"`
	Error        string            `json:"error,omitempty"`
}
