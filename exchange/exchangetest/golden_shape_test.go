package exchangetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The golden JSON tests hold each simulated answer against the example the
// venue documents for the endpoint (testdata/golden/<venue>/<name>.json,
// copied from the page cited in the test table). Values differ; the shape
// must not: the same keys at every level, and the same JSON kind (string,
// number, boolean, array, object) for every value. A null in the example
// admits any value; an array's elements are each held against the
// example's first element, so the simulator must answer a non-empty list
// wherever the example shows one.

// goldenCase is one endpoint held against one documented example.
type goldenCase struct {
	name string // testdata/golden/<venue>/<name>.json
	doc  string // the page the example comes from
	// free lists the paths (dot-separated, [] for array elements) of
	// objects whose keys are data (a map of currency to rate): only their
	// values' kinds are compared.
	free []string
	// empty lists the paths of arrays the simulator may answer empty
	// where the example shows elements.
	empty []string
}

// loadGolden reads a documented example.
func loadGolden(t *testing.T, venue, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", venue, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, b)
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return v
}

// jsonKind names the JSON kind of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// shapeRules say how strictly an answer is held against a documented
// example. The KuCoin and Coinbase tests are strict (no field beyond the
// example, no empty list where it shows elements, a null in the example
// admits anything); the Binance tests admit newer fields and empty lists
// and want a null where the example has one.
type shapeRules struct {
	free     map[string]bool // objects whose keys are data: only their values are compared
	empty    map[string]bool // arrays that may be empty although the example shows elements
	extraOK  bool            // fields the example lacks are admitted
	emptyOK  bool            // every array may be empty
	nullOnly bool            // a null in the example wants a null
}

// diff lists where got departs from the shape of the example doc, sorted.
// An array whose example elements are of mixed kinds (a kline) is a
// tuple, held position by position; any other array is a list, each
// element held against the example's first.
func (r shapeRules) diff(doc, got any, path string) []string {
	if doc == nil && !r.nullOnly {
		return nil
	}
	if jsonKind(doc) != jsonKind(got) {
		return []string{path + ": " + jsonKind(got) + ", documented " + jsonKind(doc)}
	}
	var out []string
	switch d := doc.(type) {
	case []any:
		g := got.([]any)
		switch {
		case len(d) == 0:
		case isTuple(d):
			if len(g) != len(d) {
				return []string{fmt.Sprintf("%s: %d elements, documented %d", path, len(g), len(d))}
			}
			for i := range d {
				out = append(out, r.diff(d[i], g[i], fmt.Sprintf("%s[%d]", path, i))...)
			}
		case len(g) == 0 && !r.emptyOK && !r.empty[path]:
			return []string{path + ": empty, so its elements cannot be held against the example"}
		default:
			for _, e := range g {
				out = append(out, r.diff(d[0], e, path+"[]")...)
			}
		}
	case map[string]any:
		g := got.(map[string]any)
		if r.free[path] {
			var one any
			for _, v := range d {
				one = v
				break
			}
			for k, v := range g {
				out = append(out, r.diff(one, v, path+"."+k)...)
			}
			return out
		}
		for k, v := range d {
			gv, ok := g[k]
			if !ok {
				out = append(out, path+"."+k+": missing")
				continue
			}
			out = append(out, r.diff(v, gv, path+"."+k)...)
		}
		if !r.extraOK {
			for k := range g {
				if _, ok := d[k]; !ok {
					out = append(out, path+"."+k+": not in the documented example")
				}
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// isTuple reports whether an example array mixes kinds of elements.
func isTuple(a []any) bool {
	for _, e := range a[1:] {
		if jsonKind(e) != jsonKind(a[0]) {
			return true
		}
	}
	return false
}

// checkGolden fails t where body departs from the documented example.
func checkGolden(t *testing.T, venue string, c goldenCase, body []byte) {
	t.Helper()
	r := shapeRules{free: map[string]bool{}, empty: map[string]bool{}}
	for _, f := range c.free {
		r.free[f] = true
	}
	for _, e := range c.empty {
		r.empty[e] = true
	}
	if diff := r.diff(loadGolden(t, venue, c.name), decodeJSON(t, body), "$"); len(diff) > 0 {
		t.Errorf("%s departs from the example of %s:\n  %s\nanswer: %s", c.name, c.doc, strings.Join(diff, "\n  "), body)
	}
}

func TestShapeRulesStrict(t *testing.T) {
	doc := decodeJSON(t, []byte(`{"a":"1","b":[{"c":1}],"d":null,"r":{"X":"1"}}`))
	strict := shapeRules{free: map[string]bool{"$.r": true}}
	if d := strict.diff(doc, decodeJSON(t, []byte(`{"a":"2","b":[{"c":2},{"c":3}],"d":{"any":1},"r":{"Y":"2","Z":"3"}}`)), "$"); len(d) != 0 {
		t.Errorf("same shape reported as %v", d)
	}
	for _, bad := range []string{
		`{"a":2,"b":[{"c":1}],"d":null,"r":{}}`,           // a is a number
		`{"a":"1","b":[],"d":null,"r":{}}`,                // empty list
		`{"a":"1","b":[{"c":"1"}],"d":null,"r":{}}`,       // c is a string
		`{"a":"1","b":[{"c":1}],"r":{}}`,                  // d missing
		`{"a":"1","b":[{"c":1}],"d":null,"e":1,"r":{}}`,   // e extra
		`{"a":"1","b":[{"c":1}],"d":null,"r":{"Y":true}}`, // a rate is not a string
	} {
		if d := strict.diff(doc, decodeJSON(t, []byte(bad)), "$"); len(d) == 0 {
			t.Errorf("%s passed as the documented shape", bad)
		}
	}
}
