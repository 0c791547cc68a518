package ethereum

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
)

// Limits on EIP-712 documents. go-ethereum's encoder re-validates every type and recomputes
// the type string once per struct value it encodes (see structCost), so a small document can
// cost seconds; these bounds keep the worst accepted document to about 200 ms on this
// project's machines while leaving room for the largest real ones (Seaport bulk orders of up
// to 256 orders, Permit2 batches).
const (
	// MaxTypedDataBytes caps an EIP-712 JSON document.
	MaxTypedDataBytes = 1 << 20
	// MaxTypedDataTypes caps the number of struct types, EIP712Domain included.
	MaxTypedDataTypes = 128
	// MaxTypedDataFields caps the fields of all struct types together.
	MaxTypedDataFields = 1024
	// MaxTypedDataStructs caps the struct values in the message and the domain together.
	MaxTypedDataStructs = 4096
	// MaxTypedDataWork caps go-ethereum's encoding cost as structCost estimates it, in units
	// of about 0.75 µs on this project's machines: the worst documents within it take 50 to
	// 80 ms. A Seaport bulk order of 128 orders needs about 20k. Without this bound a 70 KB
	// document (4096 structs, 1024 fields) took 3 s, and a 14 KB one (1000 structs of a type
	// with a chain of 126 dependencies) 5 s.
	MaxTypedDataWork = 1 << 16
	// depMergeSteps is how many steps of go-ethereum's dependency merge cost one work unit.
	depMergeSteps = 300
	// maxTypedDataValues caps the JSON values of a document: a megabyte of "1," is half a
	// million values, which would take seconds to check and encode, while a Seaport bulk
	// order of 128 orders has about 10k. Long strings (bytes fields) are few values.
	maxTypedDataValues = 1 << 16
	// typedDataDepth bounds JSON nesting (a Seaport bulk order of height 24 nests ~30 deep).
	typedDataDepth = 64
	// maxSafeInteger is the largest JSON number accepted: beyond 2^53 JavaScript clients
	// have already rounded the value the user saw, so the digest would be of another number.
	maxSafeInteger = 1 << 53
)

// domainType is the reserved struct type of the EIP-712 domain.
const domainType = "EIP712Domain"

var (
	// identifierRE is a Solidity identifier: what struct type names and field names must be,
	// because EIP-712 writes them into the type string unescaped, and names containing
	// "(", "," or " " could make two different type sets share one type hash.
	identifierRE = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)
	// typeRE is a base type followed by array dimensions, fixed ([N], N > 0 without leading
	// zeros) or dynamic ([]).
	typeRE = regexp.MustCompile(`^([A-Za-z_$][A-Za-z0-9_$]*)((?:\[(?:[1-9][0-9]*)?\])*)$`)
)

// ParseTypedData strictly decodes an EIP-712 document ({types, primaryType, domain, message},
// as eth_signTypedData_v4 sends it), checks it as TypedDataDigest does, and returns it. On top
// of the JSON strictness of the package comment it refuses JSON numbers that are not integers
// or exceed 2^53 (send those as strings), names that are not identifiers, struct types
// without fields or named like a primitive, a missing EIP712Domain or primaryType, message or
// domain members that the types do not declare or that are missing, arrays of the wrong fixed
// length, and integers out of their type's range.
func ParseTypedData(b []byte) (*apitypes.TypedData, error) {
	rules := jsonRules{what: "typed data", maxBytes: MaxTypedDataBytes, maxDepth: typedDataDepth, maxValues: maxTypedDataValues, number: safeInteger}
	if err := checkJSON(b, rules); err != nil {
		return nil, err
	}
	td := new(apitypes.TypedData)
	err := decodeObject(b, "", []field{
		{"types", true, typesInto(&td.Types)},
		{"primaryType", true, &td.PrimaryType},
		{"domain", true, domainInto(&td.Domain)},
		{"message", true, messageInto(&td.Message)},
	})
	if err != nil {
		return nil, err
	}
	if _, err := TypedDataDigest(td); err != nil {
		return nil, err
	}
	return td, nil
}

// TypedDataDigest returns the EIP-712 digest keccak256(0x19 0x01 || domainSeparator ||
// hashStruct(message)) computed by apitypes.TypedDataAndHash, after the structural checks
// ParseTypedData describes (so a TypedData built in Go is held to the same rules).
func TypedDataDigest(td *apitypes.TypedData) ([32]byte, error) {
	if td == nil {
		return [32]byte{}, invalid("typed data", "missing")
	}
	fields, err := checkTypes(td.Types, td.PrimaryType)
	if err != nil {
		return [32]byte{}, err
	}
	w := newWalker(td.Types, fields)
	if err := w.structValue(domainType, td.Domain.Map(), rootPath("domain"), 0); err != nil {
		return [32]byte{}, err
	}
	if err := w.structValue(td.PrimaryType, td.Message, rootPath("message"), 0); err != nil {
		return [32]byte{}, err
	}
	digest, _, err := apitypes.TypedDataAndHash(*td)
	if err != nil {
		return [32]byte{}, invalidErr("typed data", err)
	}
	return [32]byte(digest), nil
}

// safeInteger is the number rule of typed data documents (see maxSafeInteger).
func safeInteger(n json.Number) error {
	if len(n) > len("-9007199254740992") { // before parsing: a long literal would be slow to parse
		return fmt.Errorf("number %.20s... is longer than any integer up to 2^53; send it as a string", n)
	}
	v, ok := new(big.Int).SetString(n.String(), 10)
	if !ok {
		return fmt.Errorf("number %s is not an integer; send it as a string", n)
	}
	if v.CmpAbs(big.NewInt(maxSafeInteger)) > 0 {
		return fmt.Errorf("number %s is beyond 2^53, where JSON numbers lose precision; send it as a string", n)
	}
	return nil
}

// typesInto decodes the "types" member: struct names to non-null field lists with exact keys.
func typesInto(dst *apitypes.Types) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		var lists map[string]json.RawMessage
		if err := json.Unmarshal(raw, &lists); err != nil || lists == nil {
			return invalid(path, "want a JSON object")
		}
		types := make(apitypes.Types, len(lists))
		for name, list := range lists {
			fields, err := decodeTypeFields(list, join(path, name))
			if err != nil {
				return err
			}
			types[name] = fields
		}
		*dst = types
		return nil
	}
}

// decodeTypeFields decodes one struct type's field list.
func decodeTypeFields(raw json.RawMessage, path string) ([]apitypes.Type, error) {
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil || entries == nil {
		return nil, invalid(path, "want a JSON array of {name, type}")
	}
	fields := make([]apitypes.Type, len(entries))
	for i, e := range entries {
		err := decodeObject(e, index(path, i), []field{
			{"name", true, &fields[i].Name},
			{"type", true, &fields[i].Type},
		})
		if err != nil {
			return nil, err
		}
	}
	return fields, nil
}

// domainInto decodes the "domain" member with exact keys.
func domainInto(dst *apitypes.TypedDataDomain) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		return decodeObject(raw, path, []field{
			{"name", false, &dst.Name},
			{"version", false, &dst.Version},
			{"chainId", false, &dst.ChainId},
			{"verifyingContract", false, &dst.VerifyingContract},
			{"salt", false, &dst.Salt},
		})
	}
}

// messageInto decodes the "message" member, which must be an object.
func messageInto(dst *apitypes.TypedDataMessage) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		if err := json.Unmarshal(raw, dst); err != nil || *dst == nil {
			return invalid(path, "want a JSON object")
		}
		return nil
	}
}

// checkTypes checks the type definitions: sizes, names, field types, EIP712Domain and
// primaryType. It returns the number of fields of all types.
func checkTypes(types apitypes.Types, primaryType string) (int, error) {
	if len(types) > MaxTypedDataTypes {
		return 0, invalid("types", "%d struct types, more than the limit of %d", len(types), MaxTypedDataTypes)
	}
	total := 0
	for _, name := range slices.Sorted(maps.Keys(types)) { // sorted: the first error is reproducible
		fields := types[name]
		if err := checkStructType(types, name, fields); err != nil {
			return 0, err
		}
		total += len(fields)
	}
	if total > MaxTypedDataFields {
		return 0, invalid("types", "%d fields, more than the limit of %d", total, MaxTypedDataFields)
	}
	if _, ok := types[domainType]; !ok {
		return 0, invalid("types", "no %s type", domainType)
	}
	if _, ok := types[primaryType]; !ok {
		return 0, invalid("primaryType", "%q is not a type defined in types", primaryType)
	}
	return total, nil
}

// checkStructType checks one struct type's name and fields.
func checkStructType(types apitypes.Types, name string, fields []apitypes.Type) error {
	path := "types." + name
	if !identifierRE.MatchString(name) {
		return invalid(path, "type name is not an identifier")
	}
	if isPrimitive(name) {
		return invalid(path, "type name is a primitive type's name")
	}
	if len(fields) == 0 {
		return invalid(path, "struct type without fields")
	}
	seen := make(map[string]bool, len(fields))
	for i, f := range fields {
		fpath := index(path, i)
		if !identifierRE.MatchString(f.Name) {
			return invalid(fpath, "field name %q is not an identifier", f.Name)
		}
		if seen[f.Name] {
			return invalid(fpath, "duplicate field name %q", f.Name)
		}
		seen[f.Name] = true
		if err := checkFieldType(types, f.Type); err != nil {
			return invalid(fpath, "%v", err)
		}
	}
	return nil
}

// checkFieldType requires a primitive or defined struct type with well-formed dimensions.
func checkFieldType(types apitypes.Types, typ string) error {
	base, _, ok := splitType(typ)
	if !ok {
		return fmt.Errorf("malformed type %q", typ)
	}
	if _, isStruct := types[base]; !isStruct && !isPrimitive(base) {
		return fmt.Errorf("type %q is neither primitive nor defined in types", base)
	}
	return nil
}

// splitType splits "T[2][]" into "T" and its dimensions, innermost first ([2, -1]);
// -1 is a dynamic dimension.
func splitType(typ string) (base string, dims []int, ok bool) {
	m := typeRE.FindStringSubmatch(typ)
	if m == nil {
		return "", nil, false
	}
	for _, d := range strings.Split(m[2], "]") {
		if d == "" {
			continue
		}
		n := -1
		if d != "[" {
			v, err := strconv.Atoi(d[1:])
			if err != nil || v > MaxTypedDataBytes { // no honest fixed array is longer than the document
				return "", nil, false
			}
			n = v
		}
		dims = append(dims, n)
	}
	return m[1], dims, true
}

// isPrimitive reports whether name is an EIP-712 atomic or dynamic type.
func isPrimitive(name string) bool {
	switch name {
	case "address", "bool", "string", "bytes", "int", "uint":
		return true
	}
	if n, ok := typeSize(name, "bytes"); ok {
		return n >= 1 && n <= 32
	}
	if n, ok := intBits(name); ok {
		return n%8 == 0 && n >= 8 && n <= 256
	}
	return false
}

// intBits returns N for "intN"/"uintN" (256 for "int"/"uint").
func intBits(name string) (int, bool) {
	if name == "int" || name == "uint" {
		return 256, true
	}
	if n, ok := typeSize(name, "uint"); ok {
		return n, true
	}
	return typeSize(name, "int")
}

// typeSize parses the decimal size after prefix, without sign or leading zeros.
func typeSize(name, prefix string) (int, bool) {
	digits, ok := strings.CutPrefix(name, prefix)
	if !ok || digits == "" || digits[0] == '0' || len(digits) > 3 {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// tdWalker checks message and domain values against the types, which go-ethereum's encoder
// does only loosely: it lets through members the type does not declare (when as many are
// missing), fixed arrays of any length, nested lists where one dimension is declared, and
// intN values beyond intN's range.
type tdWalker struct {
	types   apitypes.Types
	fields  int            // fields of all types
	structs int            // struct values seen so far
	work    int            // estimated encoding cost so far, see structCost
	cost    map[string]int // structCost by type
	split   map[string]splitResult
}

// splitResult caches splitType, which runs once per array item.
type splitResult struct {
	base string
	dims []int
	ok   bool
}

// newWalker makes a walker for types, which have fields fields in all.
func newWalker(types apitypes.Types, fields int) *tdWalker {
	return &tdWalker{types: types, fields: fields, cost: map[string]int{}, split: map[string]splitResult{}}
}

// structCost estimates what go-ethereum spends encoding one value of struct type typ, in
// units of one field validation: EncodeData re-validates every field of every type, then
// recomputes typ's dependencies (Dependencies), which for each field of each type it reaches
// merges lists as long as the number of those types, pairwise.
func (w *tdWalker) structCost(typ string) int {
	if c, ok := w.cost[typ]; ok {
		return c
	}
	types, fields := w.reachable(typ)
	c := w.fields + fields*types*types/depMergeSteps
	w.cost[typ] = c
	return c
}

// reachable counts the struct types typ depends on, itself included, and their fields.
func (w *tdWalker) reachable(typ string) (types, fields int) {
	seen := map[string]bool{typ: true}
	queue := []string{typ}
	for len(queue) > 0 {
		t := queue[0]
		queue = queue[1:]
		fields += len(w.types[t])
		for _, f := range w.types[t] {
			base, _, _ := w.splitType(f.Type)
			if _, isStruct := w.types[base]; isStruct && !seen[base] {
				seen[base] = true
				queue = append(queue, base)
			}
		}
	}
	return len(seen), fields
}

// splitType is the package's splitType, cached.
func (w *tdWalker) splitType(typ string) (string, []int, bool) {
	r, ok := w.split[typ]
	if !ok {
		r.base, r.dims, r.ok = splitType(typ)
		w.split[typ] = r
	}
	return r.base, r.dims, r.ok
}

// structValue checks a struct value: exactly the declared members, each valid.
func (w *tdWalker) structValue(typ string, v any, path *tdPath, depth int) error {
	w.structs++
	if w.structs > MaxTypedDataStructs {
		return invalid(path.String(), "more than %d struct values in the document", MaxTypedDataStructs)
	}
	w.work += w.structCost(typ)
	if w.work > MaxTypedDataWork {
		return invalid(path.String(), "too costly to encode: %d struct values of %d types with %d fields in all exceed the work limit of %d", w.structs, len(w.types), w.fields, MaxTypedDataWork)
	}
	if depth > typedDataDepth {
		return invalid(path.String(), "nested deeper than %d levels", typedDataDepth)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return invalid(path.String(), "want an object for struct type %s", typ)
	}
	fields := w.types[typ]
	declared := make(map[string]bool, len(fields))
	for _, f := range fields {
		declared[f.Name] = true
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !declared[k] {
			return invalid(path.member(k).String(), "not a field of type %s", typ)
		}
	}
	for _, f := range fields {
		member, ok := obj[f.Name]
		if !ok || member == nil {
			return invalid(path.member(f.Name).String(), "missing (type %s)", f.Type)
		}
		if err := w.value(f.Type, member, path.member(f.Name), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// value checks one value of a field type.
func (w *tdWalker) value(typ string, v any, path *tdPath, depth int) error {
	base, dims, ok := w.splitType(typ)
	if !ok {
		return invalid(path.String(), "malformed type %q", typ)
	}
	if len(dims) > 0 {
		return w.arrayValue(typ, dims[len(dims)-1], v, path, depth)
	}
	if _, isStruct := w.types[base]; isStruct {
		return w.structValue(base, v, path, depth)
	}
	return primitiveValue(base, v, path)
}

// arrayValue checks a list against its outermost dimension (n, or -1 for dynamic) and its
// items against the element type.
func (w *tdWalker) arrayValue(typ string, n int, v any, path *tdPath, depth int) error {
	rv := reflect.ValueOf(v)
	if v == nil || rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() == reflect.Uint8 {
		return invalid(path.String(), "want an array for type %s", typ)
	}
	if n >= 0 && rv.Len() != n {
		return invalid(path.String(), "%d items for type %s", rv.Len(), typ)
	}
	elem := typ[:strings.LastIndexByte(typ, '[')]
	for i := range rv.Len() {
		if err := w.value(elem, rv.Index(i).Interface(), path.item(i), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// primitiveValue refuses lists and objects where a primitive is declared, and integers out
// of the declared range; go-ethereum's encoder checks the rest.
func primitiveValue(typ string, v any, path *tdPath) error {
	switch v.(type) {
	case map[string]any, []any:
		return invalid(path.String(), "want a %s, not an object or array", typ)
	}
	bits, ok := intBits(typ)
	if !ok {
		return nil
	}
	n, err := integerValue(v)
	if err != nil {
		return invalid(path.String(), "%v for type %s", err, typ)
	}
	return checkIntRange(n, bits, strings.HasPrefix(typ, "int"), typ, path)
}

// integerValue reads an integer the way go-ethereum's encoder does: a JSON number (already
// limited to safe integers), a hex or decimal string, or a big integer built in Go.
func integerValue(v any) (*big.Int, error) {
	switch x := v.(type) {
	case float64:
		if x != float64(int64(x)) {
			return nil, fmt.Errorf("%v is not an integer", x)
		}
		return big.NewInt(int64(x)), nil
	case string:
		n, ok := math.ParseBig256(x)
		if !ok {
			return nil, fmt.Errorf("%q is not a hex or decimal integer", x)
		}
		return n, nil
	case *math.HexOrDecimal256:
		if x != nil {
			return (*big.Int)(x), nil
		}
	case *big.Int:
		if x != nil {
			return x, nil
		}
	}
	return nil, fmt.Errorf("%v is not an integer", v)
}

// checkIntRange requires n to fit intN (two's complement) or uintN.
func checkIntRange(n *big.Int, bits int, signed bool, typ string, path *tdPath) error {
	if !signed {
		if n.Sign() < 0 || n.BitLen() > bits {
			return invalid(path.String(), "%s out of range for %s", n, typ)
		}
		return nil
	}
	limit := new(big.Int).Lsh(big.NewInt(1), uint(bits-1)) // 2^(N-1)
	if n.Cmp(limit) >= 0 || n.Cmp(new(big.Int).Neg(limit)) < 0 {
		return invalid(path.String(), "%s out of range for %s", n, typ)
	}
	return nil
}

// tdPath is the location of a value in a document, kept as a linked list and rendered
// ("message.items[3].to") only for an error: building strings for every array item would
// cost more than checking them.
type tdPath struct {
	parent *tdPath
	name   string // member name, or "" for an array item
	index  int
}

// rootPath is a top-level member.
func rootPath(name string) *tdPath { return &tdPath{name: name} }

// member is the path of a struct member.
func (p *tdPath) member(name string) *tdPath { return &tdPath{parent: p, name: name} }

// item is the path of an array item.
func (p *tdPath) item(i int) *tdPath { return &tdPath{parent: p, index: i} }

// String renders the path.
func (p *tdPath) String() string {
	if p == nil {
		return ""
	}
	if p.name == "" {
		return index(p.parent.String(), p.index)
	}
	return join(p.parent.String(), p.name)
}
