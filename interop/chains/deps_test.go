package chains

import (
	_ "cosmossdk.io/api/cosmos/tx/v1beta1"
	_ "github.com/Peersyst/xrpl-go/binary-codec"
	_ "github.com/aptos-labs/aptos-go-sdk"
	_ "github.com/block-vision/sui-go-sdk/models"
	_ "github.com/fbsobreira/gotron-sdk/pkg/address"
	_ "github.com/gagliardetto/solana-go"
	_ "github.com/mpcsigner/mpcsigner/interop/harness"
	_ "github.com/stellar/go-stellar-sdk/txnbuild"
)
