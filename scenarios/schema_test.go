package scenarios

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// scenarioSchemaPath is the JSON Schema of scenario files, committed for
// editors and other tools.
var scenarioSchemaPath = filepath.Join("schema", "scenario.schema.json")

func compileScenarioSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	abs, err := filepath.Abs(scenarioSchemaPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jsonschema.NewCompiler().Compile(abs)
	if err != nil {
		t.Fatalf("compile %s: %v", scenarioSchemaPath, err)
	}
	return s
}

// yamlDoc decodes YAML into the JSON data model the schema validator
// takes (through JSON, so that numbers are float64 or json.Number).
func yamlDoc(t *testing.T, src []byte) any {
	t.Helper()
	var x any
	if err := yaml.Unmarshal(src, &x); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(jsonable(x))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytesReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestScenarioSchemaKeys: the schema's top-level keys are the decoder's.
func TestScenarioSchemaKeys(t *testing.T) {
	var raw struct {
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(mustRead(t, scenarioSchemaPath), &raw); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := slices.Sorted(slices.Values(topKeys))
	if !slices.Equal(keys, want) {
		t.Errorf("schema keys %q\n  decoder keys %q", keys, want)
	}
}

// TestScenarioSchemaValidatesExamples: every example and the embedded
// default satisfy the schema, which rejects files broken in ways the
// decoder rejects too.
func TestScenarioSchemaValidatesExamples(t *testing.T) {
	s := compileScenarioSchema(t)
	files, err := filepath.Glob(filepath.Join("examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	files = append(files, "default.yaml")
	for _, f := range files {
		if err := s.Validate(yamlDoc(t, mustRead(t, f))); err != nil {
			t.Errorf("%s does not satisfy %s: %v", f, scenarioSchemaPath, err)
		}
	}
	// What a result file records as its scenario (MarshalJSON) is a
	// scenario file too.
	for _, f := range files {
		sc, err := load(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(sc)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(yamlDoc(t, b)); err != nil {
			t.Errorf("%s as recorded in a result file does not satisfy %s: %v\n%s", f, scenarioSchemaPath, err, b)
		}
	}
	for name, src := range map[string]string{
		"no url":               "load: {connections: 1}\n",
		"unknown key":          "url: http://127.0.0.1/\nconections: 5\n",
		"unknown load key":     "url: http://127.0.0.1/\nload: {conections: 5}\n",
		"duration no unit":     "url: http://127.0.0.1/\nduration: 10\n",
		"rate per week":        "url: http://127.0.0.1/\nload: {model: open, rate: 5/week}\n",
		"unknown model":        "url: http://127.0.0.1/\nload: {model: half-open}\n",
		"threshold no op":      "url: http://127.0.0.1/\nthresholds: [ttft.p99]\n",
		"stage without target": "url: http://127.0.0.1/\nload: {stages: [{duration: 10s}]}\n",
	} {
		if err := s.Validate(yamlDoc(t, []byte(src))); err == nil {
			t.Errorf("%s: the broken scenario satisfies the schema:\n%s", name, src)
		}
		if _, err := parse(name+".yaml", []byte(src)); err == nil {
			t.Errorf("%s: the decoder accepts what the schema rejects:\n%s", name, src)
		}
	}
}
