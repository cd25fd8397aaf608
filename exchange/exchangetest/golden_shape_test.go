package exchangetest

import (
	"bytes"
	"encoding/json"
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
	case json.Number:
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

// shapeDiff lists where got departs from the shape of the example doc.
func shapeDiff(doc, got any, path string, free map[string]bool) []string {
	return shapeDiffEmpty(doc, got, path, free, nil)
}

// shapeDiffEmpty is shapeDiff with arrays at the paths in empty allowed to
// be empty.
func shapeDiffEmpty(doc, got any, path string, free, empty map[string]bool) []string {
	if doc == nil {
		return nil
	}
	if jsonKind(doc) != jsonKind(got) {
		return []string{path + ": " + jsonKind(got) + ", documented " + jsonKind(doc)}
	}
	var out []string
	switch d := doc.(type) {
	case []any:
		g := got.([]any)
		if len(d) > 0 && len(g) == 0 && !empty[path] {
			return []string{path + ": empty, so its elements cannot be held against the example"}
		}
		if len(d) > 0 {
			for _, e := range g {
				out = append(out, shapeDiffEmpty(d[0], e, path+"[]", free, empty)...)
			}
		}
	case map[string]any:
		g := got.(map[string]any)
		if free[path] {
			var one any
			for _, v := range d {
				one = v
				break
			}
			for k, v := range g {
				out = append(out, shapeDiffEmpty(one, v, path+"."+k, free, empty)...)
			}
			return out
		}
		for k, v := range d {
			gv, ok := g[k]
			if !ok {
				out = append(out, path+"."+k+": missing")
				continue
			}
			out = append(out, shapeDiffEmpty(v, gv, path+"."+k, free, empty)...)
		}
		for k := range g {
			if _, ok := d[k]; !ok {
				out = append(out, path+"."+k+": not in the documented example")
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// checkGolden fails t where body departs from the documented example.
func checkGolden(t *testing.T, venue string, c goldenCase, body []byte) {
	t.Helper()
	free, empty := map[string]bool{}, map[string]bool{}
	for _, f := range c.free {
		free[f] = true
	}
	for _, e := range c.empty {
		empty[e] = true
	}
	if diff := shapeDiffEmpty(loadGolden(t, venue, c.name), decodeJSON(t, body), "$", free, empty); len(diff) > 0 {
		t.Errorf("%s departs from the example of %s:\n  %s\nanswer: %s", c.name, c.doc, strings.Join(diff, "\n  "), body)
	}
}

func TestShapeDiff(t *testing.T) {
	doc := decodeJSON(t, []byte(`{"a":"1","b":[{"c":1}],"d":null,"r":{"X":"1"}}`))
	free := map[string]bool{"$.r": true}
	if d := shapeDiff(doc, decodeJSON(t, []byte(`{"a":"2","b":[{"c":2},{"c":3}],"d":{"any":1},"r":{"Y":"2","Z":"3"}}`)), "$", free); len(d) != 0 {
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
		if d := shapeDiff(doc, decodeJSON(t, []byte(bad)), "$", free); len(d) == 0 {
			t.Errorf("%s passed as the documented shape", bad)
		}
	}
}
