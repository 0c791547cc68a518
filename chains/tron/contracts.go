package tron

import "google.golang.org/protobuf/encoding/protowire"

// contractKind is a contract type this package signs: its protocol message name (the Any's
// type URL is typeURLPrefix + name) and the number of its owner_address field.
type contractKind struct {
	name  string
	owner protowire.Number
}

// typeURLPrefix is what protobuf's Any.pack writes before a message's full name; java-tron
// and gotron-sdk both pack contract parameters this way.
const typeURLPrefix = "type.googleapis.com/protocol."

// contractKinds maps Transaction.Contract.ContractType values to their messages, from
// java-tron's protos (core/Tron.proto for the enum, core/contract/*.proto for the messages).
// owner_address is field 1 in most, but not all (TransferAssetContract and
// AccountUpdateContract have it at 2), so only types whose message was read are listed:
// any other type is refused rather than guessed at.
var contractKinds = map[uint64]contractKind{
	0:  {"AccountCreateContract", 1},
	1:  {"TransferContract", 1},
	2:  {"TransferAssetContract", 2},
	4:  {"VoteWitnessContract", 1},
	10: {"AccountUpdateContract", 2},
	11: {"FreezeBalanceContract", 1},
	12: {"UnfreezeBalanceContract", 1},
	13: {"WithdrawBalanceContract", 1},
	30: {"CreateSmartContract", 1},
	31: {"TriggerSmartContract", 1},
	46: {"AccountPermissionUpdateContract", 1},
	54: {"FreezeBalanceV2Contract", 1},
	55: {"UnfreezeBalanceV2Contract", 1},
	56: {"WithdrawExpireUnfreezeContract", 1},
	57: {"DelegateResourceContract", 1},
	58: {"UnDelegateResourceContract", 1},
	59: {"CancelAllUnfreezeV2Contract", 1},
}
