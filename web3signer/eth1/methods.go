package eth1

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"mime"
	"slices"
	"strings"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/mpcsigner/mpcsigner/chains/ethereum"
)

// ExternalAPIVersion is the version account_version reports: clef's external API version
// (go-ethereum signer/core/api.go, ExternalAPIVersion), whose methods and results this package
// serves.
const ExternalAPIVersion = "6.1.0"

type method func(ctx context.Context, req *request) (any, error)

// handler returns the method this signer serves under name, or nil when the request is to be
// proxied to the downstream node.
func (s *Server) handler(name string) method {
	switch name {
	case "eth_accounts":
		return s.ethAccounts
	case "eth_sign":
		return s.ethSign
	case "eth_signTransaction":
		return s.ethSignTransaction
	case "eth_signTypedData", "eth_signTypedData_v4":
		return s.ethSignTypedData
	case "eth_sendTransaction":
		return s.ethSendTransaction
	case "health_status":
		return s.healthStatus
	case "account_version":
		return s.accountVersion
	case "account_list":
		return s.accountList
	case "account_signData":
		return s.accountSignData
	case "account_signTransaction":
		return s.accountSignTransaction
	case "account_signTypedData":
		return s.accountSignTypedData
	}
	return nil
}

// badParams is an ErrBadRequest naming the method and the problem.
func badParams(req *request, format string, args ...any) error {
	return fmt.Errorf("invalid params of %s: %s: %w", req.method, fmt.Sprintf(format, args...), ErrBadRequest)
}

// positional returns the params as an array of min to max values.
func positional(req *request, min, max int, shape string) ([]json.RawMessage, error) {
	var list []json.RawMessage
	switch jsonKind(req.params) {
	case 0:
	case '[':
		if err := json.Unmarshal(req.params, &list); err != nil {
			return nil, badParams(req, "%v", err)
		}
	default:
		return nil, badParams(req, "params must be an array %s", shape)
	}
	if len(list) < min || len(list) > max {
		if min == max {
			return nil, badParams(req, "want %d params %s, got %d", min, shape, len(list))
		}
		return nil, badParams(req, "want %d to %d params %s, got %d", min, max, shape, len(list))
	}
	return list, nil
}

// stringParam decodes params[i], which must be a JSON string.
func stringParam(req *request, list []json.RawMessage, i int, name string) (string, error) {
	var v string
	if jsonKind(list[i]) != '"' || json.Unmarshal(list[i], &v) != nil {
		return "", badParams(req, "param %d (%s) must be a string", i, name)
	}
	return v, nil
}

// addressParam decodes params[i] as an address: 40 hex digits, 0x optional (Web3Signer
// normalises identifiers that way); a mixed-case address must carry a valid EIP-55 checksum.
func addressParam(req *request, list []json.RawMessage, i int) (common.Address, error) {
	s, err := stringParam(req, list, i, "address")
	if err != nil {
		return common.Address{}, err
	}
	a, err := parseAddress(s)
	if err != nil {
		return a, badParams(req, "param %d (address): %v", i, err)
	}
	return a, nil
}

func parseAddress(s string) (common.Address, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(h) != 40 {
		return common.Address{}, fmt.Errorf("%q is not a 20-byte hex address", truncate(s, 60))
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return common.Address{}, fmt.Errorf("%q is not a 20-byte hex address", truncate(s, 60))
	}
	a := common.BytesToAddress(b)
	if h != strings.ToLower(h) && h != strings.ToUpper(h) && a.Hex()[2:] != h {
		return common.Address{}, fmt.Errorf("%s has an invalid EIP-55 checksum", s)
	}
	return a, nil
}

// objectParam returns the one object param: params [obj] (with up to extra more values after
// it) or params given as the object itself, as Web3Signer takes transactions.
func objectParam(req *request, extra int, shape string) (json.RawMessage, []json.RawMessage, error) {
	if jsonKind(req.params) == '{' {
		return req.params, nil, nil
	}
	list, err := positional(req, 1, 1+extra, shape)
	if err != nil {
		return nil, nil, err
	}
	if jsonKind(list[0]) != '{' {
		return nil, nil, badParams(req, "param 0 must be a transaction object")
	}
	return list[0], list[1:], nil
}

func noParams(req *request) error {
	_, err := positional(req, 0, 0, "(none)")
	return err
}

func (s *Server) healthStatus(ctx context.Context, req *request) (any, error) {
	return "OK", nil
}

// ethAccounts answers the addresses, lower-case and sorted, as Web3Signer does.
func (s *Server) ethAccounts(ctx context.Context, req *request) (any, error) {
	if err := noParams(req); err != nil {
		return nil, err
	}
	accts, err := s.backend.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(accts))
	for i, a := range accts {
		out[i] = strings.ToLower(a.Address.Hex())
	}
	slices.Sort(out)
	return out, nil
}

// ethSign is eth_sign [address, data]: an EIP-191 personal message. As in Web3Signer, data
// starting with 0x is hex, anything else is the message's UTF-8 text.
func (s *Server) ethSign(ctx context.Context, req *request) (any, error) {
	list, err := positional(req, 2, 2, "[address, data]")
	if err != nil {
		return nil, err
	}
	from, err := addressParam(req, list, 0)
	if err != nil {
		return nil, err
	}
	data, err := stringParam(req, list, 1, "data")
	if err != nil {
		return nil, err
	}
	msg := []byte(data)
	if strings.HasPrefix(strings.ToLower(data), "0x") {
		if msg, err = hex.DecodeString(data[2:]); err != nil {
			return nil, badParams(req, "param 1 (data) starts with 0x but is not hex: %v", err)
		}
	}
	return s.signPersonal(ctx, from, msg)
}

// signPersonal signs an EIP-191 personal message; V 27/28.
func (s *Server) signPersonal(ctx context.Context, from common.Address, msg []byte) (hexutil.Bytes, error) {
	if _, err := s.findByAddress(ctx, from); err != nil {
		return nil, err
	}
	sig, err := ethereum.SignPersonal(ctx, from, msg, s.sign)
	if err != nil {
		return nil, signErr(err)
	}
	// Checked against go-ethereum's own hash of the message, not the one that was signed.
	if err := checkSignature(from, [32]byte(accounts.TextHash(msg)), sig, 27); err != nil {
		return nil, err
	}
	return sig[:], nil
}

// ethSignTypedData is eth_signTypedData(_v4) [address, typedData]: typed data as an object or
// as a JSON string.
func (s *Server) ethSignTypedData(ctx context.Context, req *request) (any, error) {
	list, err := positional(req, 2, 2, "[address, typedData]")
	if err != nil {
		return nil, err
	}
	from, err := addressParam(req, list, 0)
	if err != nil {
		return nil, err
	}
	var doc []byte
	switch jsonKind(list[1]) {
	case '{':
		doc = list[1]
	case '"':
		str, err := stringParam(req, list, 1, "typedData")
		if err != nil {
			return nil, err
		}
		doc = []byte(str)
	default:
		return nil, badParams(req, "param 1 (typedData) must be an object or a JSON string")
	}
	return s.signTyped(ctx, req, from, doc)
}

// signTyped signs EIP-712 typed data given as JSON; V 27/28.
func (s *Server) signTyped(ctx context.Context, req *request, from common.Address, doc []byte) (hexutil.Bytes, error) {
	td, err := ethereum.ParseTypedData(doc)
	if err != nil {
		return nil, badParams(req, "typed data: %v", err)
	}
	// As MetaMask does for eth_signTypedData_v4: a domain naming another chain is refused.
	if id := td.Domain.ChainId; id != nil && (*big.Int)(id).Cmp(s.cfg.ChainID) != 0 {
		return nil, fmt.Errorf("%s refused: typed data domain chainId %v: %w: the signer serves chain id %v",
			req.method, (*big.Int)(id), ethereum.ErrChainID, s.cfg.ChainID)
	}
	if _, err := s.findByAddress(ctx, from); err != nil {
		return nil, err
	}
	// go-ethereum's own digest of the document, to check the signature against.
	want, _, err := apitypes.TypedDataAndHash(*td)
	if err != nil {
		return nil, badParams(req, "typed data: %v", err)
	}
	sig, err := ethereum.SignTypedData(ctx, from, td, s.sign)
	if err != nil {
		return nil, signErr(err)
	}
	if err := checkSignature(from, [32]byte(want), sig, 27); err != nil {
		return nil, err
	}
	return sig[:], nil
}

// parseTx decodes a transaction object (from is required) and returns it with its sender.
func (s *Server) parseTx(req *request, obj json.RawMessage) (*ethereum.TxArgs, common.Address, error) {
	args, err := ethereum.ParseTxArgs(obj)
	if err != nil {
		return nil, common.Address{}, badParams(req, "transaction: %v", err)
	}
	return args, args.From, nil
}

// signTx builds, signs and checks a transaction: the result is released only when its
// recovered sender is from.
func (s *Server) signTx(ctx context.Context, req *request, args *ethereum.TxArgs, from common.Address) (*types.Transaction, error) {
	tx, err := s.buildTx(req, args)
	if err != nil {
		return nil, err
	}
	signed, err := ethereum.SignTransaction(ctx, from, tx, s.cfg.ChainID, s.sign)
	if err != nil {
		return nil, signErr(err)
	}
	sender, err := types.Sender(types.LatestSignerForChainID(s.cfg.ChainID), signed)
	if err != nil {
		return nil, fmt.Errorf("%w: the signed transaction has no valid sender: %v", errSigning, err)
	}
	if sender != from {
		return nil, fmt.Errorf("%w: the signed transaction recovers to %s, not %s; refused", errSigning, sender.Hex(), from.Hex())
	}
	if signed.ChainId().Sign() != 0 && signed.ChainId().Cmp(s.cfg.ChainID) != 0 {
		return nil, fmt.Errorf("%w: the signed transaction is for chain %v, not %v; refused", errSigning, signed.ChainId(), s.cfg.ChainID)
	}
	return signed, nil
}

// buildTx builds the unsigned transaction for the configured chain.
func (s *Server) buildTx(req *request, args *ethereum.TxArgs) (*types.Transaction, error) {
	tx, err := args.Transaction(s.cfg.ChainID)
	if err != nil {
		if errors.Is(err, ethereum.ErrChainID) {
			return nil, fmt.Errorf("%s refused: %w", req.method, err)
		}
		return nil, badParams(req, "transaction: %v", err)
	}
	return tx, nil
}

// ethSignTransaction is eth_signTransaction [tx]: the raw signed transaction as hex, as
// Web3Signer answers it. The nonce is required.
func (s *Server) ethSignTransaction(ctx context.Context, req *request) (any, error) {
	signed, err := s.signTxRequest(ctx, req, 0)
	if err != nil {
		return nil, err
	}
	raw, err := signed.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return hexutil.Bytes(raw), nil
}

func (s *Server) signTxRequest(ctx context.Context, req *request, extra int) (*types.Transaction, error) {
	obj, rest, err := objectParam(req, extra, "[transaction]")
	if err != nil {
		return nil, err
	}
	for i, r := range rest { // clef's optional method selector
		if k := jsonKind(r); k != '"' && k != 'n' {
			return nil, badParams(req, "param %d (method selector) must be a string", i+1)
		}
	}
	args, from, err := s.parseTx(req, obj)
	if err != nil {
		return nil, err
	}
	if args.Nonce == nil {
		return nil, badParams(req, "transaction: nonce is required")
	}
	if _, err := s.findByAddress(ctx, from); err != nil {
		return nil, err
	}
	return s.signTx(ctx, req, args, from)
}

// signTransactionResult is go-ethereum's ethapi.SignTransactionResult, what clef's
// account_signTransaction answers and accounts/external decodes.
type signTransactionResult struct {
	Raw hexutil.Bytes      `json:"raw"`
	Tx  *types.Transaction `json:"tx"`
}

// accountSignTransaction is clef's account_signTransaction [SendTxArgs, methodSelector?].
func (s *Server) accountSignTransaction(ctx context.Context, req *request) (any, error) {
	signed, err := s.signTxRequest(ctx, req, 1)
	if err != nil {
		return nil, err
	}
	raw, err := signed.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return signTransactionResult{Raw: raw, Tx: signed}, nil
}

func (s *Server) accountVersion(ctx context.Context, req *request) (any, error) {
	if err := noParams(req); err != nil {
		return nil, err
	}
	return ExternalAPIVersion, nil
}

// accountList is clef's account_list: the addresses (go-ethereum encodes them lower-case).
func (s *Server) accountList(ctx context.Context, req *request) (any, error) {
	if err := noParams(req); err != nil {
		return nil, err
	}
	accts, err := s.backend.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]common.Address, len(accts))
	for i, a := range accts {
		out[i] = a.Address
	}
	return out, nil
}

// accountSignData is clef's account_signData [contentType, address, data]. text/plain: data is
// the hex of the message, signed as an EIP-191 personal message. data/typed: data is the hex of
// the EIP-712 JSON document (an object is taken too). Other content types (clique headers,
// intended-validator data) are refused. V is 27/28, as clef answers both.
func (s *Server) accountSignData(ctx context.Context, req *request) (any, error) {
	list, err := positional(req, 3, 3, "[contentType, address, data]")
	if err != nil {
		return nil, err
	}
	ct, err := stringParam(req, list, 0, "contentType")
	if err != nil {
		return nil, err
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, badParams(req, "param 0 (contentType) %q: %v", truncate(ct, 60), err)
	}
	from, err := addressParam(req, list, 1)
	if err != nil {
		return nil, err
	}
	switch mt {
	case accounts.MimetypeTextPlain:
		msg, err := hexParam(req, list, 2, "data")
		if err != nil {
			return nil, err
		}
		return s.signPersonal(ctx, from, msg)
	case accounts.MimetypeTypedData:
		doc := []byte(list[2])
		if jsonKind(list[2]) != '{' {
			if doc, err = hexParam(req, list, 2, "data"); err != nil {
				return nil, err
			}
		}
		return s.signTyped(ctx, req, from, doc)
	}
	return nil, badParams(req, "content type %q is not supported: this signer signs %s (EIP-191 personal messages) and %s (EIP-712 typed data)",
		truncate(mt, 60), accounts.MimetypeTextPlain, accounts.MimetypeTypedData)
}

// hexParam decodes params[i] as 0x-prefixed hex, as clef reads it.
func hexParam(req *request, list []json.RawMessage, i int, name string) ([]byte, error) {
	str, err := stringParam(req, list, i, name)
	if err != nil {
		return nil, err
	}
	b, err := hexutil.Decode(str)
	if err != nil {
		return nil, badParams(req, "param %d (%s) is not 0x-prefixed hex: %v", i, name, err)
	}
	return b, nil
}

// accountSignTypedData is clef's account_signTypedData [address, typedData].
func (s *Server) accountSignTypedData(ctx context.Context, req *request) (any, error) {
	return s.ethSignTypedData(ctx, req)
}

// signErr classifies an error from signing: the backend's kinds and chains/ethereum's pass
// through, anything else is a signing failure.
func signErr(err error) error {
	for _, known := range []error{ErrUnknownAccount, ErrBadRequest, ErrUnavailable, ethereum.ErrInvalid,
		ethereum.ErrChainID, errSigning, context.DeadlineExceeded, context.Canceled} {
		if errors.Is(err, known) {
			return err
		}
	}
	return fmt.Errorf("%w: %v", errSigning, err)
}
