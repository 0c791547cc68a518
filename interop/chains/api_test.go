package chains

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/mpcsigner/mpcsigner/interop/harness"
)

// The native API's address and sign calls that every chain's test uses. The JSON shapes are
// the API's (host/api), declared here because this module must not import the product.

type addressResponse struct {
	KeyID   string `json:"key_id"`
	Chain   string `json:"chain"`
	Network string `json:"network"`
	Address string `json:"address"`
}

type signRequest struct {
	Key         string `json:"key"`
	Transaction string `json:"transaction"`
	Network     string `json:"network,omitempty"`
}

type signResponse struct {
	KeyID       string `json:"key_id"`
	Chain       string `json:"chain"`
	Network     string `json:"network"`
	Transaction string `json:"transaction"`
	TxID        string `json:"txid"`
	Signature   string `json:"signature"`
}

// apiAddress asks the API for the key's address on chain and network ("" for the default).
func apiAddress(t *testing.T, d *harness.Devnet, keyID, chain, network string) string {
	t.Helper()
	q := url.Values{"chain": {chain}}
	if network != "" {
		q.Set("network", network)
	}
	path := "/v1/keys/" + url.PathEscape(keyID) + "/address?" + q.Encode()
	var out addressResponse
	if status := d.API(t, http.MethodGet, path, nil, &out); status != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, status)
	}
	if out.KeyID != keyID || out.Chain != chain || out.Address == "" {
		t.Fatalf("GET %s answered %+v", path, out)
	}
	return out.Address
}

// apiSign has the API sign tx and requires success.
func apiSign(t *testing.T, d *harness.Devnet, keyID, chain, network, tx string) signResponse {
	t.Helper()
	var out signResponse
	if status := apiPost(t, d, keyID, chain, network, tx, &out); status != http.StatusOK {
		t.Fatalf("signing on %s: status %d", chain, status)
	}
	if out.KeyID != keyID || out.Chain != chain || out.Transaction == "" || out.Signature == "" {
		t.Fatalf("signing on %s answered %+v", chain, out)
	}
	return out
}

// apiSignWithID is apiSign for chains whose signed transaction always has an id.
func apiSignWithID(t *testing.T, d *harness.Devnet, keyID, chain, network, tx string) signResponse {
	t.Helper()
	out := apiSign(t, d, keyID, chain, network, tx)
	if out.TxID == "" {
		t.Fatalf("signing on %s answered no transaction id: %+v", chain, out)
	}
	return out
}

// apiSignStatus has the API sign tx and returns the HTTP status, for refusals.
func apiSignStatus(t *testing.T, d *harness.Devnet, keyID, chain, network, tx string) int {
	t.Helper()
	return apiPost(t, d, keyID, chain, network, tx, nil)
}

func apiPost(t *testing.T, d *harness.Devnet, keyID, chain, network, tx string, out any) int {
	t.Helper()
	return d.API(t, http.MethodPost, "/v1/chains/"+url.PathEscape(chain)+"/sign", signRequest{Key: keyID, Transaction: tx, Network: network}, out)
}
