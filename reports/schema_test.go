package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ssebench/ssebench/reports/golden"
)

// resultSchemaPath is the JSON Schema of the result file, committed for
// other tools; TestResultSchemaMatchesFile derives it from File and
// -update rewrites it.
var resultSchemaPath = filepath.Join("schema", "result.schema.json")

// schemaOf derives the JSON Schema of Go type t the way encoding/json
// encodes it: a struct is an object of its json-tagged fields, required
// unless omitempty, and nothing else; slices, maps and pointers may be
// null; time.Time is an RFC 3339 string; json.RawMessage is any JSON.
func schemaOf(t reflect.Type, defs map[string]any) any {
	nullable := func(s map[string]any) map[string]any {
		s["type"] = []any{s["type"], "null"}
		return s
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return map[string]any{"type": "string", "format": "date-time"}
	case t == reflect.TypeFor[json.RawMessage]():
		return true
	}
	switch t.Kind() {
	case reflect.Pointer:
		return map[string]any{"anyOf": []any{schemaOf(t.Elem(), defs), map[string]any{"type": "null"}}}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		return nullable(map[string]any{"type": "array", "items": schemaOf(t.Elem(), defs)})
	case reflect.Map:
		return nullable(map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), defs)})
	case reflect.Struct:
		name := t.Name()
		if _, ok := defs[name]; !ok {
			defs[name] = nil // placeholder against recursion
			props := map[string]any{}
			required := []string{} // never null: the metaschema wants an array
			for f := range t.Fields() {
				tag, ok := f.Tag.Lookup("json")
				if !ok || tag == "-" || !f.IsExported() {
					continue
				}
				key, opts, _ := strings.Cut(tag, ",")
				props[key] = schemaOf(f.Type, defs)
				if !slices.Contains(strings.Split(opts, ","), "omitempty") {
					required = append(required, key)
				}
			}
			slices.Sort(required)
			defs[name] = map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	}
	panic("schemaOf: unsupported " + t.String())
}

// resultSchema is the JSON Schema of File, as committed.
func resultSchema(t *testing.T) []byte {
	defs := map[string]any{}
	root := schemaOf(reflect.TypeFor[File](), defs)
	s := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://github.com/ssebench/ssebench/reports/schema/result.schema.json",
		"title":       "ssebench result file",
		"description": "The JSON result of an ssebench run or of merged shards (schema 1), as written by ssebench run --out and ssebench report --format json. Latencies are milliseconds; histograms are HdrHistogram V2 compressed, base64. Derived from the Go type reports.File.",
		"$ref":        root.(map[string]any)["$ref"],
		"$defs":       defs,
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestResultSchemaMatchesFile: the committed schema is the one File's
// fields give (go test ./reports -run TestResultSchema -update rewrites it).
func TestResultSchemaMatchesFile(t *testing.T) {
	golden.Check(t, resultSchemaPath, resultSchema(t))
}

// compileSchema compiles the JSON Schema file at path.
func compileSchema(t *testing.T, path string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(abs)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return s
}

// TestResultSchemaValidatesGoldens: the golden result files satisfy the
// schema, and files broken in the ways a consumer would trip on do not.
func TestResultSchemaValidatesGoldens(t *testing.T) {
	s := compileSchema(t, resultSchemaPath)
	for _, name := range []string{"closed.json", "open.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "golden", name))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(doc); err != nil {
			t.Errorf("%s does not satisfy %s: %v", name, resultSchemaPath, err)
		}
	}
	good, err := os.ReadFile(filepath.Join("testdata", "golden", "closed.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, breakIt := range map[string]func(m map[string]any){
		"no schema":             func(m map[string]any) { delete(m, "schema") },
		"unknown top-level key": func(m map[string]any) { m["extra"] = 1 },
		"counter as a string":   func(m map[string]any) { m["counters"].(map[string]any)["events"] = "12" },
		"started not a time":    func(m map[string]any) { m["started"] = "yesterday" },
		"metric without count": func(m map[string]any) {
			for _, v := range m["metrics"].(map[string]any) {
				delete(v.(map[string]any), "count")
			}
		},
	} {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		breakIt(m)
		if err := s.Validate(m); err == nil {
			t.Errorf("%s: the broken file satisfies the schema", name)
		}
	}
}
