package stellar

// operationNames are OperationType's names by value, for error messages.
var operationNames = [...]string{
	"CREATE_ACCOUNT", "PAYMENT", "PATH_PAYMENT_STRICT_RECEIVE", "MANAGE_SELL_OFFER",
	"CREATE_PASSIVE_SELL_OFFER", "SET_OPTIONS", "CHANGE_TRUST", "ALLOW_TRUST", "ACCOUNT_MERGE",
	"INFLATION", "MANAGE_DATA", "BUMP_SEQUENCE", "MANAGE_BUY_OFFER", "PATH_PAYMENT_STRICT_SEND",
	"CREATE_CLAIMABLE_BALANCE", "CLAIM_CLAIMABLE_BALANCE", "BEGIN_SPONSORING_FUTURE_RESERVES",
	"END_SPONSORING_FUTURE_RESERVES", "REVOKE_SPONSORSHIP", "CLAWBACK", "CLAWBACK_CLAIMABLE_BALANCE",
	"SET_TRUST_LINE_FLAGS", "LIQUIDITY_POOL_DEPOSIT", "LIQUIDITY_POOL_WITHDRAW",
	"INVOKE_HOST_FUNCTION", "EXTEND_FOOTPRINT_TTL", "RESTORE_FOOTPRINT",
}

// operationBodies are the walkers of Operation.body's arms, by OperationType.
var operationBodies = [len(operationNames)]walker{
	// CREATE_ACCOUNT
	fields(field{"destination", accountID}, field{"startingBalance", int64x}),
	// PAYMENT
	fields(field{"destination", muxed}, field{"asset", asset}, field{"amount", int64x}),
	// PATH_PAYMENT_STRICT_RECEIVE
	fields(field{"sendAsset", asset}, field{"sendMax", int64x}, field{"destination", muxed},
		field{"destAsset", asset}, field{"destAmount", int64x}, field{"path", arrayOf(5, asset)}),
	// MANAGE_SELL_OFFER
	fields(field{"selling", asset}, field{"buying", asset}, field{"amount", int64x},
		field{"price", price}, field{"offerID", int64x}),
	// CREATE_PASSIVE_SELL_OFFER
	fields(field{"selling", asset}, field{"buying", asset}, field{"amount", int64x}, field{"price", price}),
	// SET_OPTIONS
	fields(field{"inflationDest", optional(accountID)}, field{"clearFlags", optional(uint32x)},
		field{"setFlags", optional(uint32x)}, field{"masterWeight", optional(uint32x)},
		field{"lowThreshold", optional(uint32x)}, field{"medThreshold", optional(uint32x)},
		field{"highThreshold", optional(uint32x)}, field{"homeDomain", optional(bounded(32))},
		field{"signer", optional(signer)}),
	// CHANGE_TRUST
	fields(field{"line", changeTrustAsset}, field{"limit", int64x}),
	// ALLOW_TRUST
	fields(field{"trustor", accountID}, field{"asset", assetCode}, field{"authorize", uint32x}),
	// ACCOUNT_MERGE
	muxed,
	// INFLATION
	none,
	// MANAGE_DATA
	fields(field{"dataName", bounded(64)}, field{"dataValue", optional(bounded(64))}),
	// BUMP_SEQUENCE
	fields(field{"bumpTo", int64x}),
	// MANAGE_BUY_OFFER
	fields(field{"selling", asset}, field{"buying", asset}, field{"buyAmount", int64x},
		field{"price", price}, field{"offerID", int64x}),
	// PATH_PAYMENT_STRICT_SEND
	fields(field{"sendAsset", asset}, field{"sendAmount", int64x}, field{"destination", muxed},
		field{"destAsset", asset}, field{"destMin", int64x}, field{"path", arrayOf(5, asset)}),
	// CREATE_CLAIMABLE_BALANCE
	fields(field{"asset", asset}, field{"amount", int64x}, field{"claimants", arrayOf(10, claimant)}),
	// CLAIM_CLAIMABLE_BALANCE
	fields(field{"balanceID", claimableBalanceID}),
	// BEGIN_SPONSORING_FUTURE_RESERVES
	fields(field{"sponsoredID", accountID}),
	// END_SPONSORING_FUTURE_RESERVES
	none,
	// REVOKE_SPONSORSHIP
	union(map[uint32]walker{
		0: fields(field{"ledgerKey", ledgerKey}),
		1: fields(field{"accountID", accountID}, field{"signerKey", signerKey}),
	}),
	// CLAWBACK
	fields(field{"asset", asset}, field{"from", muxed}, field{"amount", int64x}),
	// CLAWBACK_CLAIMABLE_BALANCE
	fields(field{"balanceID", claimableBalanceID}),
	// SET_TRUST_LINE_FLAGS
	fields(field{"trustor", accountID}, field{"asset", asset}, field{"clearFlags", uint32x}, field{"setFlags", uint32x}),
	// LIQUIDITY_POOL_DEPOSIT
	fields(field{"liquidityPoolID", poolID}, field{"maxAmountA", int64x}, field{"maxAmountB", int64x},
		field{"minPrice", price}, field{"maxPrice", price}),
	// LIQUIDITY_POOL_WITHDRAW
	fields(field{"liquidityPoolID", poolID}, field{"amount", int64x}, field{"minAmountA", int64x}, field{"minAmountB", int64x}),
	// INVOKE_HOST_FUNCTION
	fields(field{"hostFunction", hostFunction}, field{"auth", arrayOf(0, sorobanAuthorizationEntry)}),
	// EXTEND_FOOTPRINT_TTL
	fields(field{"ext", extensionPoint}, field{"extendTo", uint32x}),
	// RESTORE_FOOTPRINT
	fields(field{"ext", extensionPoint}),
}
