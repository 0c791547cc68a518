package ethereum

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func timeDoc(t *testing.T, name, doc string) {
	start := time.Now()
	_, err := ParseTypedData([]byte(doc))
	t.Logf("%s: %d bytes, err %v, %v", name, len(doc), err, time.Since(start))
}

func chainDoc(n, prims, items int) string {
	types := []string{`"EIP712Domain":[{"name":"name","type":"string"}]`, `"Root":[{"name":"items","type":"A0[]"}]`}
	for i := 0; i < n-1; i++ {
		fs := []string{fmt.Sprintf(`{"name":"n","type":"A%d[]"}`, i+1)}
		for j := 0; j < prims; j++ {
			fs = append(fs, fmt.Sprintf(`{"name":"p%d","type":"uint8[]"}`, j))
		}
		types = append(types, fmt.Sprintf(`"A%d":[%s]`, i, strings.Join(fs, ",")))
	}
	types = append(types, fmt.Sprintf(`"A%d":[{"name":"v","type":"uint8"}]`, n-1))
	var vals []string
	vals = append(vals, `"n":[]`)
	for j := 0; j < prims; j++ {
		vals = append(vals, fmt.Sprintf(`"p%d":[]`, j))
	}
	item := "{" + strings.Join(vals, ",") + "}"
	its := strings.TrimSuffix(strings.Repeat(item+",", items), ",")
	return `{"types":{` + strings.Join(types, ",") + `},"primaryType":"Root","domain":{"name":"x"},"message":{"items":[` + its + `]}}`
}

func TestWorstCaseTiming(t *testing.T) {
	for _, c := range []struct{ n, prims, items int }{{126, 0, 1000}, {126, 0, 16}, {110, 8, 1}, {110, 8, 2}, {60, 15, 100}, {30, 30, 100}, {10, 100, 100}, {2, 500, 4000}} {
		timeDoc(t, fmt.Sprintf("chain %v", c), chainDoc(c.n, c.prims, c.items))
	}
}

func TestWorstWide(t *testing.T) {
	for _, n := range []int{28, 12} {
		types := []string{`"EIP712Domain":[{"name":"name","type":"string"}]`, `"Leaf":[{"name":"v","type":"uint8"}]`, `"Root":[{"name":"items","type":"Leaf[]"}]`}
		var fs []string
		for j := 0; j < n; j++ {
			fs = append(fs, fmt.Sprintf(`{"name":"f%d","type":"Leaf[2][3]"}`, j))
		}
		types = append(types, `"Pad":[`+strings.Join(fs, ",")+`]`)
		items := strings.TrimSuffix(strings.Repeat(`{"v":1},`, 4094), ",")
		timeDoc(t, "wide", `{"types":{`+strings.Join(types, ",")+`},"primaryType":"Root","domain":{"name":"x"},"message":{"items":[`+items+`]}}`)
	}
}
