package reports

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// junitSchema is the Jenkins xunit plugin's JUnit schema (see
// testdata/junit/README.md).
var junitSchema = filepath.Join("testdata", "junit", "junit-10.xsd")

// xmllint returns the path of xmllint, skipping the test when it is not
// installed, except under CI=true, where .ci/run installs it.
func xmllint(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint is not installed (Debian: apt-get install libxml2-utils); CI must validate JUnit")
		}
		t.Skip("xmllint is not installed (Debian: apt-get install libxml2-utils)")
	}
	return p
}

// validateJUnit validates doc against the schema with xmllint.
func validateJUnit(t *testing.T, lint, name string, doc []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".xml")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(lint, "--noout", "--schema", junitSchema, path).CombinedOutput()
	if err != nil {
		t.Errorf("%s does not validate against junit-10.xsd: %v\n%s\n%s", name, err, out, doc)
	}
}

// conformanceJUnitFixture is a conformance report with every status,
// evidence with control bytes, and a time that %g would write with an
// exponent.
func conformanceJUnitFixture() *ConformanceReport {
	r := htmlConformanceFixture()
	r.DurationS = 1.0246e-05
	for i := range r.Checks {
		r.Checks[i].DurationS = 3.5e-06 * float64(i)
	}
	return r
}

// TestJUnitValidates: every JUnit document ssebench writes is valid
// against junit-10.xsd: run (with and without a baseline), comparison,
// conformance.
func TestJUnitValidates(t *testing.T) {
	lint := xmllint(t)
	files := goldenFiles(t)
	docs := map[string]func(*bytes.Buffer) error{
		"run closed": func(b *bytes.Buffer) error { return WriteJUnit(b, files["closed"]) },
		"run open":   func(b *bytes.Buffer) error { return WriteJUnit(b, files["open"]) },
		"run + baseline": func(b *bytes.Buffer) error {
			return WriteRunJUnit(b, files["closed"], Compare(files["open"], files["closed"], CompareOptions{}))
		},
		"comparison": func(b *bytes.Buffer) error {
			return WriteComparisonJUnit(b, Compare(files["open"], files["closed"], CompareOptions{}))
		},
		"conformance": func(b *bytes.Buffer) error { return WriteConformanceJUnit(b, conformanceJUnitFixture()) },
		"conformance, empty": func(b *bytes.Buffer) error {
			r := &ConformanceReport{}
			r.Summarize()
			return WriteConformanceJUnit(b, r)
		},
	}
	for name, write := range docs {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		validateJUnit(t, lint, strings.ReplaceAll(name, " ", "-"), b.Bytes())
	}
}

// TestRunJUnitWithBaseline: the run document with a baseline holds the
// run's suites and the baseline suite, with the totals of both.
func TestRunJUnitWithBaseline(t *testing.T) {
	files := goldenFiles(t)
	cmp := Compare(files["open"], files["closed"], CompareOptions{})
	var a, b, both bytes.Buffer
	if err := WriteJUnit(&a, files["closed"]); err != nil {
		t.Fatal(err)
	}
	if err := WriteComparisonJUnit(&b, cmp); err != nil {
		t.Fatal(err)
	}
	if err := WriteRunJUnit(&both, files["closed"], cmp); err != nil {
		t.Fatal(err)
	}
	type doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name string `xml:"name,attr"`
		} `xml:"testsuite"`
	}
	var da, db, dboth doc
	for _, p := range []struct {
		b *bytes.Buffer
		d *doc
	}{{&a, &da}, {&b, &db}, {&both, &dboth}} {
		if err := xml.Unmarshal(p.b.Bytes(), p.d); err != nil {
			t.Fatal(err)
		}
	}
	if dboth.Tests != da.Tests+db.Tests || dboth.Failures != da.Failures+db.Failures ||
		len(dboth.Suites) != 3 || dboth.Suites[2].Name != "baseline" {
		t.Errorf("run + baseline: %+v (run %+v, baseline %+v)", dboth, da, db)
	}
	// Without a baseline it is the run document, byte for byte.
	var alone bytes.Buffer
	if err := WriteRunJUnit(&alone, files["closed"], nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(alone.Bytes(), a.Bytes()) {
		t.Error("WriteRunJUnit without a baseline differs from WriteJUnit")
	}
}

// TestConformanceJUnitMapping: a MUST failure is a failure, a warning a
// skipped case marked WARN with its finding as system-out, a skip a
// skipped case marked SKIP; times are plain decimals; no source path or
// working directory appears.
func TestConformanceJUnitMapping(t *testing.T) {
	r := conformanceJUnitFixture()
	var b bytes.Buffer
	if err := WriteConformanceJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Time     string `xml:"time,attr"`
		Suites   []struct {
			Name    string `xml:"name,attr"`
			Skipped int    `xml:"skipped,attr"`
			Cases   []struct {
				Name    string `xml:"name,attr"`
				Time    string `xml:"time,attr"`
				Failure *struct {
					Type    string `xml:"type,attr"`
					Message string `xml:"message,attr"`
				} `xml:"failure"`
				Skipped *struct {
					Message string `xml:"message,attr"`
				} `xml:"skipped"`
				Out string `xml:"system-out"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != len(r.Checks) || doc.Failures != r.Summary.Fail || doc.Time != "0.000" {
		t.Errorf("totals %d tests, %d failures, time %q", doc.Tests, doc.Failures, doc.Time)
	}
	var groups []string
	for _, s := range doc.Suites {
		groups = append(groups, s.Name)
		for _, c := range s.Cases {
			var want ConformanceCheck
			for _, rc := range r.Checks {
				if rc.ID == c.Name {
					want = rc
				}
			}
			if !regexp.MustCompile(`^[0-9]+\.[0-9]{3}$`).MatchString(c.Time) {
				t.Errorf("%s: time %q", c.Name, c.Time)
			}
			switch want.Status {
			case "fail":
				if c.Failure == nil || c.Failure.Type != "MUST" || !strings.Contains(c.Out+c.Failure.Message, want.Message) {
					t.Errorf("%s: a failed MUST is not a failure: %+v", c.Name, c)
				}
			case "warn":
				if c.Failure != nil || c.Skipped == nil || !strings.HasPrefix(c.Skipped.Message, "WARN (SHOULD, not a failure): ") || !strings.Contains(c.Out, "evidence") && want.Evidence.Bytes != "" {
					t.Errorf("%s: a warning is not marked: %+v", c.Name, c)
				}
			case "skip":
				if c.Skipped == nil || !strings.HasPrefix(c.Skipped.Message, "SKIP: ") {
					t.Errorf("%s: a skip is not skipped: %+v", c.Name, c)
				}
			case "pass":
				if c.Failure != nil || c.Skipped != nil {
					t.Errorf("%s: a pass is not plain: %+v", c.Name, c)
				}
			}
		}
	}
	if strings.Join(groups, " ") != "http stream framing resume reconnect lifecycle" {
		t.Errorf("suites %q: not the console's groups", groups)
	}
	wd, _ := os.Getwd()
	if s := b.String(); strings.Contains(s, wd) || strings.Contains(s, ".go:") || strings.Contains(s, "e-0") {
		t.Errorf("the JUnit document names a path or writes an exponent:\n%s", s)
	}
}
