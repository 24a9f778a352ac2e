package checks

import (
	"os"
	"strings"
	"testing"

	"github.com/ssebench/ssebench/reports/golden"
)

// The catalogue section of the package doc (doc.go), between these two
// lines, is rendered from the catalogue: TestDocCatalogue holds them equal
// and -update rewrites it.
const (
	docBegin = "// # Catalogue\n"
	docEnd   = "//\n// (End of the catalogue.)\n"
)

// renderDocCatalogue is the catalogue section of the package doc: every
// check in report order with its level, rule, reason and spec link.
func renderDocCatalogue() string {
	var b strings.Builder
	b.WriteString(docBegin)
	b.WriteString("//\n// Every check, in report order: ID (level), the rule, why it matters, and\n")
	b.WriteString("// the section of the standard it rests on.\n")
	group := ""
	for _, c := range All() {
		if c.Group != group {
			group = c.Group
			b.WriteString("//\n// Group " + group + ":\n")
		}
		b.WriteString("//\n")
		writeWrapped(&b, c.ID+" ("+string(c.Level)+"): "+c.Rule+". "+upperFirst(c.Why)+".", "    ")
		b.WriteString("//     " + c.Spec + "\n")
	}
	b.WriteString(docEnd)
	return b.String()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// writeWrapped writes a list item, "  - " then text, as comment lines of
// at most 77 columns, the continuation lines indented by indent.
func writeWrapped(b *strings.Builder, text, indent string) {
	line := "  -"
	for _, w := range strings.Fields(text) {
		if len(line)+1+len(w) > 74 && strings.TrimSpace(line) != "-" {
			b.WriteString("// " + line + "\n")
			line = indent + w
			continue
		}
		line += " " + w
	}
	b.WriteString("// " + line + "\n")
}

// TestDocCatalogue: the package doc lists every check of the catalogue
// with its level, rule and spec link, and no other (go test -update
// rewrites the section of doc.go).
func TestDocCatalogue(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	i, j := strings.Index(doc, docBegin), strings.Index(doc, docEnd)
	if i < 0 || j < i {
		t.Fatalf("doc.go has no catalogue section (%q ... %q)", docBegin, docEnd)
	}
	want := renderDocCatalogue()
	if golden.Update() {
		if err := os.WriteFile("doc.go", []byte(doc[:i]+want+doc[j+len(docEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got := doc[i : j+len(docEnd)]
	ids := map[string]bool{}
	for _, c := range All() {
		ids[c.ID] = true
		if !strings.Contains(got, "  - "+c.ID+" ("+string(c.Level)+"): ") {
			t.Errorf("the package doc does not list %s (%s)", c.ID, c.Level)
		}
	}
	for _, line := range strings.Split(got, "\n") {
		if id, ok := strings.CutPrefix(line, "//   - "); ok {
			id, _, _ = strings.Cut(id, " ")
			if !ids[id] {
				t.Errorf("the package doc lists %s, which is not in the catalogue", id)
			}
		}
	}
	if msg := golden.Diff([]byte(got), []byte(want)); msg != "" {
		t.Errorf("doc.go's catalogue differs from the catalogue (go test ./conformance/checks -run TestDocCatalogue -update rewrites it): %s", msg)
	}
}
