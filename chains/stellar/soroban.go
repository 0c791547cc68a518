package stellar

// Stellar-contract.x and the Soroban parts of Stellar-transaction.x.
var (
	// scAddress switches on SCAddressType: account, contract, muxed account, claimable
	// balance, liquidity pool.
	scAddress = union(map[uint32]walker{
		0: accountID,
		1: hash,
		2: fields(field{"id", uint64x}, field{"ed25519", uint256}),
		3: claimableBalanceID,
		4: poolID,
	})
	// scError switches on SCErrorType: a contract's own code, or one of ten SCErrorCodes.
	scError = union(map[uint32]walker{
		0: uint32x,
		1: enumOf(10), 2: enumOf(10), 3: enumOf(10), 4: enumOf(10), 5: enumOf(10),
		6: enumOf(10), 7: enumOf(10), 8: enumOf(10), 9: enumOf(10),
	})
	// contractExecutable switches on ContractExecutableType: wasm hash, Stellar asset, external
	// reference.
	contractExecutable = union(map[uint32]walker{
		0: hash,
		1: none,
		2: fields(field{"executable_owner", scAddress}, field{"tag", bounded(0)}),
	})
	contractIDPreimage = union(map[uint32]walker{
		0: fields(field{"address", scAddress}, field{"salt", uint256}),
		1: asset,
	})

	invokeContractArgs = fields(field{"contractAddress", scAddress}, field{"functionName", bounded(32)},
		field{"args", arrayOf(0, scVal)})
	createContractArgs   = fields(field{"contractIDPreimage", contractIDPreimage}, field{"executable", contractExecutable})
	createContractArgsV2 = fields(field{"contractIDPreimage", contractIDPreimage}, field{"executable", contractExecutable},
		field{"constructorArgs", arrayOf(0, scVal)})

	// hostFunction switches on HostFunctionType: invoke, create, upload wasm, create v2.
	hostFunction = union(map[uint32]walker{
		0: invokeContractArgs,
		1: createContractArgs,
		2: bounded(0),
		3: createContractArgsV2,
	})
	sorobanAuthorizedFunction = union(map[uint32]walker{
		0: invokeContractArgs,
		1: createContractArgs,
		2: createContractArgsV2,
	})
	sorobanAddressCredentials = fields(field{"address", scAddress}, field{"nonce", int64x},
		field{"signatureExpirationLedger", uint32x}, field{"signature", scVal})
	// sorobanCredentials switches on SorobanCredentialsType: source account, address, address
	// v2, address with delegates.
	sorobanCredentials = union(map[uint32]walker{
		0: none,
		1: sorobanAddressCredentials,
		2: sorobanAddressCredentials,
		3: fields(field{"addressCredentials", sorobanAddressCredentials},
			field{"delegates", arrayOf(0, sorobanDelegateSignature)}),
	})
	sorobanAuthorizationEntry = fields(field{"credentials", sorobanCredentials},
		field{"rootInvocation", sorobanAuthorizedInvocation})

	sorobanTransactionData = fields(
		field{"ext", union(map[uint32]walker{0: none, 1: fields(field{"archivedSorobanEntries", arrayOf(0, uint32x)})})},
		field{"resources", fields(
			field{"footprint", fields(field{"readOnly", arrayOf(0, ledgerKey)}, field{"readWrite", arrayOf(0, ledgerKey)})},
			field{"instructions", uint32x}, field{"diskReadBytes", uint32x}, field{"writeBytes", uint32x})},
		field{"resourceFee", int64x},
	)
)

// scValSizes are the sizes of the SCVal arms that are fixed-size, by SCValType: u32, i32,
// u64, i64, timepoint, duration, u128, i128, u256, i256.
var scValSizes = map[uint32]int{3: 4, 4: 4, 5: 8, 6: 8, 7: 8, 8: 8, 9: 16, 10: 16, 11: 32, 12: 32, 21: 8}

// scVal reads an SCVal, which nests through vectors, maps and contract instances.
func scVal(r *reader, where string) error {
	if err := r.enter(where); err != nil {
		return err
	}
	defer r.leave()
	typ, err := r.enum(where+" type", 23)
	if err != nil {
		return err
	}
	if size, ok := scValSizes[typ]; ok {
		return r.skip(size, where)
	}
	switch typ {
	case 0: // bool
		_, err = r.enum(where+" bool", 2)
	case 2:
		err = scError(r, where+".error")
	case 13, 14, 22: // bytes, string, executable tag
		_, err = r.opaque(where, 0)
	case 15: // symbol
		_, err = r.opaque(where+".sym", 32)
	case 16:
		err = optional(arrayOf(0, scVal))(r, where+".vec")
	case 17:
		err = optional(scMap)(r, where+".map")
	case 18:
		err = scAddress(r, where+".address")
	case 19:
		err = fields(field{"executable", contractExecutable}, field{"storage", optional(scMap)})(r, where+".instance")
	}
	return err // 1 (void) and 20 (ledger key contract instance) have no body
}

// scMap reads an SCMap: an array of key-value entries.
func scMap(r *reader, where string) error {
	return arrayOf(0, fields(field{"key", scVal}, field{"val", scVal}))(r, where)
}

// sorobanAuthorizedInvocation reads a SorobanAuthorizedInvocation: a function and the
// invocations it authorizes in turn.
func sorobanAuthorizedInvocation(r *reader, where string) error {
	if err := r.enter(where); err != nil {
		return err
	}
	defer r.leave()
	return fields(field{"function", sorobanAuthorizedFunction},
		field{"subInvocations", arrayOf(0, sorobanAuthorizedInvocation)})(r, where)
}

// sorobanDelegateSignature reads a SorobanDelegateSignature, which nests its own delegates.
func sorobanDelegateSignature(r *reader, where string) error {
	if err := r.enter(where); err != nil {
		return err
	}
	defer r.leave()
	return fields(field{"address", scAddress}, field{"signature", scVal},
		field{"nestedDelegates", arrayOf(0, sorobanDelegateSignature)})(r, where)
}
