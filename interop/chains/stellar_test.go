package chains

import (
	"bytes"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/txnbuild"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/mpcsigner/mpcsigner/interop/harness"
)

// testStellar builds transactions with go-stellar-sdk's txnbuild (a classic transaction with
// one operation of most kinds, and Soroban invocations, one from a muxed source), has the
// devnet sign them for public and for testnet, and checks each with the SDK: it parses the
// envelope (txnbuild.TransactionFromXDR), recomputes the hash for the network, and verifies
// the decorated signature with keypair.FromAddress.Verify, its hint with Hint.
func testStellar(t *testing.T, d *harness.Devnet, keyID string, pub []byte) {
	me := strkey.MustEncode(strkey.VersionByteAccountID, pub)
	for _, network := range []string{"", "testnet"} {
		if addr := apiAddress(t, d, keyID, "stellar", network); addr != me {
			t.Fatalf("API address on %q: %s, want go-stellar-sdk's %s", network, addr, me)
		}
	}
	kp, err := keypair.ParseAddress(me)
	if err != nil {
		t.Fatal(err)
	}
	muxed, err := xdr.MuxedAccountFromAccountId(me, 0xfeed)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, network, passphrase, source string
		ops                               []txnbuild.Operation
	}{
		{"classic operations, public", "", network.PublicNetworkPassphrase, me, stellarClassicOps(t, me)},
		{"classic operations, testnet", "testnet", network.TestNetworkPassphrase, me, stellarClassicOps(t, me)},
		{"payment to a contract, testnet", "testnet", network.TestNetworkPassphrase, me, []txnbuild.Operation{stellarPaymentToContract(t, me)}},
		{"contract call from a muxed source", "public", network.PublicNetworkPassphrase, muxed.Address(), []txnbuild.Operation{stellarContractCall(me)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx := stellarTx(t, c.source, c.ops)
			unsigned, err := tx.Base64()
			if err != nil {
				t.Fatal(err)
			}
			wantHash, err := tx.HashHex(c.passphrase)
			if err != nil {
				t.Fatal(err)
			}
			signed := apiSign(t, d, keyID, "stellar", c.network, unsigned)
			parsed, err := txnbuild.TransactionFromXDR(signed.Transaction)
			if err != nil {
				t.Fatalf("go-stellar-sdk cannot parse the signed envelope: %v", err)
			}
			got, ok := parsed.Transaction()
			if !ok {
				t.Fatal("the signed envelope is not a v1 transaction")
			}
			hash, err := got.Hash(c.passphrase)
			if err != nil {
				t.Fatal(err)
			}
			sigs := got.Signatures()
			if len(sigs) != 1 || sigs[0].Hint != kp.Hint() {
				t.Fatalf("%d signatures, the first with hint %x (the key's is %x)", len(sigs), sigs[0].Hint, kp.Hint())
			}
			if err := kp.Verify(hash[:], sigs[0].Signature); err != nil {
				t.Fatalf("go-stellar-sdk: %v", err)
			}
			if signed.TxID != wantHash || hex.EncodeToString(hash[:]) != wantHash {
				t.Fatalf("txid %s; go-stellar-sdk's hash of the unsigned transaction %s", signed.TxID, wantHash)
			}
			if status := apiSignStatus(t, d, keyID, "stellar", c.network, signed.Transaction); status != http.StatusBadRequest {
				t.Fatalf("signing an already signed envelope: status %d, want 400", status)
			}
		})
	}
	t.Run("refused: another source account", func(t *testing.T) {
		other, err := keypair.Random()
		if err != nil {
			t.Fatal(err)
		}
		env, err := stellarTx(t, other.Address(), []txnbuild.Operation{&txnbuild.BumpSequence{BumpTo: 9}}).Base64()
		if err != nil {
			t.Fatal(err)
		}
		if status := apiSignStatus(t, d, keyID, "stellar", "", env); status != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", status)
		}
	})
}

func stellarTx(t *testing.T, source string, ops []txnbuild.Operation) *txnbuild.Transaction {
	t.Helper()
	tx, err := txnbuild.NewTransaction(txnbuild.TransactionParams{
		SourceAccount:        &txnbuild.SimpleAccount{AccountID: source, Sequence: 4_000_000_000},
		IncrementSequenceNum: true,
		Operations:           ops,
		BaseFee:              txnbuild.MinBaseFee,
		Memo:                 txnbuild.MemoText("mpcsigner interop"),
		Preconditions:        txnbuild.Preconditions{TimeBounds: txnbuild.NewTimeout(300), LedgerBounds: &txnbuild.LedgerBounds{MinLedger: 1, MaxLedger: 0}},
	})
	if err != nil {
		t.Fatalf("txnbuild: %v", err)
	}
	return tx
}

// stellarClassicOps is one operation of most classic kinds, several with their own source.
func stellarClassicOps(t *testing.T, me string) []txnbuild.Operation {
	t.Helper()
	other, err := keypair.Random()
	if err != nil {
		t.Fatal(err)
	}
	usd := txnbuild.CreditAsset{Code: "USD", Issuer: other.Address()}
	long := txnbuild.CreditAsset{Code: "LONGASSET12", Issuer: other.Address()}
	pool, err := txnbuild.NewLiquidityPoolId(txnbuild.NativeAsset{}, usd)
	if err != nil {
		t.Fatal(err)
	}
	home, weight := "example.com", txnbuild.Threshold(2)
	balanceID := "00000000da0d57da7d4850e7fc10d2a9d0ebc731f7afb40574c03395b17d49149b91f5be"
	return []txnbuild.Operation{
		&txnbuild.CreateAccount{Destination: other.Address(), Amount: "10"},
		&txnbuild.Payment{Destination: other.Address(), Amount: "1.5", Asset: usd},
		&txnbuild.PathPaymentStrictSend{SendAsset: txnbuild.NativeAsset{}, SendAmount: "5", Destination: other.Address(), DestAsset: long, DestMin: "1", Path: []txnbuild.Asset{usd}},
		&txnbuild.ManageSellOffer{Selling: usd, Buying: txnbuild.NativeAsset{}, Amount: "3", Price: xdr.Price{N: 1, D: 2}},
		&txnbuild.ManageBuyOffer{Selling: txnbuild.NativeAsset{}, Buying: long, Amount: "4", Price: xdr.Price{N: 3, D: 1}, OfferID: 7},
		&txnbuild.CreatePassiveSellOffer{Selling: long, Buying: usd, Amount: "1", Price: xdr.Price{N: 1, D: 1}},
		&txnbuild.SetOptions{HomeDomain: &home, Signer: &txnbuild.Signer{Address: other.Address(), Weight: weight}},
		&txnbuild.ChangeTrust{Line: usd.MustToChangeTrustAsset(), Limit: "1000"},
		&txnbuild.ChangeTrust{Line: txnbuild.LiquidityPoolShareChangeTrustAsset{LiquidityPoolParameters: txnbuild.LiquidityPoolParameters{
			AssetA: txnbuild.NativeAsset{}, AssetB: usd, Fee: txnbuild.LiquidityPoolFeeV18}}, Limit: "100"},
		&txnbuild.ManageData{Name: "mpcsigner", Value: []byte("interop")},
		&txnbuild.BumpSequence{BumpTo: 5_000_000_000},
		&txnbuild.CreateClaimableBalance{Amount: "2", Asset: txnbuild.NativeAsset{}, Destinations: []txnbuild.Claimant{
			txnbuild.NewClaimant(other.Address(), nil),
			txnbuild.NewClaimant(me, stellarPtr(txnbuild.AndPredicate(
				txnbuild.NotPredicate(txnbuild.BeforeRelativeTimePredicate(60)),
				txnbuild.OrPredicate(txnbuild.BeforeAbsoluteTimePredicate(2_000_000_000), txnbuild.BeforeRelativeTimePredicate(3600)),
			))),
		}},
		&txnbuild.ClaimClaimableBalance{BalanceID: balanceID},
		&txnbuild.BeginSponsoringFutureReserves{SponsoredID: other.Address()},
		&txnbuild.EndSponsoringFutureReserves{SourceAccount: other.Address()},
		&txnbuild.SetTrustLineFlags{Trustor: other.Address(), Asset: usd, SetFlags: []txnbuild.TrustLineFlag{txnbuild.TrustLineAuthorized}},
		&txnbuild.LiquidityPoolDeposit{LiquidityPoolID: pool, MaxAmountA: "1", MaxAmountB: "2", MinPrice: xdr.Price{N: 1, D: 3}, MaxPrice: xdr.Price{N: 3, D: 1}},
		&txnbuild.Clawback{From: other.Address(), Amount: "1", Asset: usd, SourceAccount: other.Address()},
		&txnbuild.Inflation{},
		&txnbuild.AccountMerge{Destination: other.Address(), SourceAccount: other.Address()},
	}
}

func stellarPtr[T any](v T) *T { return &v }

// stellarPaymentToContract is the SDK's own Soroban builder: a native payment to a contract,
// with its authorization and footprint.
func stellarPaymentToContract(t *testing.T, me string) txnbuild.Operation {
	t.Helper()
	contract := strkey.MustEncode(strkey.VersionByteContract, bytes.Repeat([]byte{0xc0}, 32))
	op, err := txnbuild.NewPaymentToContract(txnbuild.PaymentToContractParams{
		NetworkPassphrase: network.TestNetworkPassphrase,
		Destination:       contract,
		Amount:            "12.5",
		Asset:             txnbuild.NativeAsset{},
		SourceAccount:     me,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &op
}

// stellarContractCall invokes a contract with arguments of many SCVal kinds, an
// authorization with a sub-invocation, and Soroban data whose footprint has several ledger key
// kinds.
func stellarContractCall(me string) txnbuild.Operation {
	contractID := xdr.ContractId(bytes.Repeat([]byte{0xc1}, 32))
	contract := xdr.ScAddress{Type: xdr.ScAddressTypeScAddressTypeContract, ContractId: &contractID}
	account := xdr.MustAddress(me)
	sym, str := xdr.ScSymbol("transfer"), xdr.ScString("a string")
	b, u32 := true, xdr.Uint32(7)
	inner := &xdr.ScVec{{Type: xdr.ScValTypeScvBool, B: &b}, {Type: xdr.ScValTypeScvU32, U32: &u32}}
	vec := &xdr.ScVec{{Type: xdr.ScValTypeScvVec, Vec: &inner}, {Type: xdr.ScValTypeScvString, Str: &str}}
	m := &xdr.ScMap{{Key: xdr.ScVal{Type: xdr.ScValTypeScvSymbol, Sym: &sym}, Val: xdr.ScVal{Type: xdr.ScValTypeScvBytes, Bytes: &xdr.ScBytes{1, 2, 3}}}}
	args := xdr.ScVec{
		{Type: xdr.ScValTypeScvAddress, Address: &xdr.ScAddress{Type: xdr.ScAddressTypeScAddressTypeAccount, AccountId: &account}},
		{Type: xdr.ScValTypeScvI128, I128: &xdr.Int128Parts{Hi: -1, Lo: 5}},
		{Type: xdr.ScValTypeScvU256, U256: &xdr.UInt256Parts{LoLo: 9}},
		{Type: xdr.ScValTypeScvVec, Vec: &vec},
		{Type: xdr.ScValTypeScvMap, Map: &m},
		{Type: xdr.ScValTypeScvVoid},
	}
	invoke := xdr.InvokeContractArgs{ContractAddress: contract, FunctionName: sym, Args: args}
	auth := xdr.SorobanAuthorizationEntry{
		Credentials: xdr.SorobanCredentials{Type: xdr.SorobanCredentialsTypeSorobanCredentialsSourceAccount},
		RootInvocation: xdr.SorobanAuthorizedInvocation{
			Function: xdr.SorobanAuthorizedFunction{Type: xdr.SorobanAuthorizedFunctionTypeSorobanAuthorizedFunctionTypeContractFn, ContractFn: &invoke},
			SubInvocations: []xdr.SorobanAuthorizedInvocation{{
				Function: xdr.SorobanAuthorizedFunction{Type: xdr.SorobanAuthorizedFunctionTypeSorobanAuthorizedFunctionTypeContractFn, ContractFn: &xdr.InvokeContractArgs{ContractAddress: contract, FunctionName: "inner"}},
			}},
		},
	}
	codeHash := xdr.Hash(bytes.Repeat([]byte{0xc2}, 32))
	footprint := xdr.LedgerFootprint{
		ReadOnly: []xdr.LedgerKey{
			{Type: xdr.LedgerEntryTypeContractData, ContractData: &xdr.LedgerKeyContractData{Contract: contract, Key: xdr.ScVal{Type: xdr.ScValTypeScvLedgerKeyContractInstance}, Durability: xdr.ContractDataDurabilityPersistent}},
			{Type: xdr.LedgerEntryTypeContractCode, ContractCode: &xdr.LedgerKeyContractCode{Hash: codeHash}},
		},
		ReadWrite: []xdr.LedgerKey{
			{Type: xdr.LedgerEntryTypeAccount, Account: &xdr.LedgerKeyAccount{AccountId: account}},
			{Type: xdr.LedgerEntryTypeContractData, ContractData: &xdr.LedgerKeyContractData{Contract: contract, Key: xdr.ScVal{Type: xdr.ScValTypeScvSymbol, Sym: &sym}, Durability: xdr.ContractDataDurabilityTemporary}},
		},
	}
	return &txnbuild.InvokeHostFunction{
		HostFunction: xdr.HostFunction{Type: xdr.HostFunctionTypeHostFunctionTypeInvokeContract, InvokeContract: &invoke},
		Auth:         []xdr.SorobanAuthorizationEntry{auth},
		Ext: xdr.TransactionExt{V: 1, SorobanData: &xdr.SorobanTransactionData{
			Resources:   xdr.SorobanResources{Footprint: footprint, Instructions: 1_000_000, DiskReadBytes: 2000, WriteBytes: 1000},
			ResourceFee: 100_000,
		}},
	}
}
