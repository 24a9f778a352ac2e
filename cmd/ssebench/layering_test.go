package main

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The import rules the package docs promise, enforced. Imports point down:
// cmd imports everything and nothing imports cmd; the leaves use the
// standard library only; the mock shares nothing with the code that judges
// it; one package owns each heavy dependency; nothing but cmd prints or
// exits. A package that is not in layers fails the test: a new package
// must say where it stands.

const module = "github.com/ssebench/ssebench"

// layers maps each package (relative to the module) to the ssebench
// packages it may import. A trailing "/..." admits a subtree.
var layers = map[string][]string{
	"conformance/sse":      {},
	"scenarios/pacer":      {},
	"scenarios/secret":     {},
	"scenarios/health":     {},
	"scenarios":            {"scenarios/pacer", "scenarios/secret"},
	"scenarios/swarm":      {"scenarios", "scenarios/pacer", "scenarios/secret", "scenarios/health", "conformance/sse"},
	"scenarios/capacity":   {"scenarios", "scenarios/pacer", "scenarios/secret", "scenarios/health", "reports"},
	"conformance/checks":   {"conformance/sse"},
	"conformance":          {"conformance/checks", "conformance/sse", "reports", "scenarios/secret", "scenarios/health"},
	"mockserver":           {},
	"mockserver/fleet":     {"mockserver"},
	"reports":              {"scenarios", "scenarios/secret", "scenarios/health"},
	"reports/progress":     {},
	"reports/live":         {"reports", "scenarios", "scenarios/health", "scenarios/secret"},
	"reports/wire":         {"reports", "scenarios", "scenarios/health"},
	"cmd/ssebench":         {"..."},
	"cmd/sse-bare":         {},
	"conformance/hostile":  {},
	"reports/golden":       {},
	"reports/browsertest":  {},
	"scenarios/kubernetes": {},
}

// stdlibOnly packages import nothing outside the standard library.
var stdlibOnly = []string{"conformance/sse", "scenarios/pacer", "scenarios/secret", "scenarios/health"}

// owners: a third-party module that only the named package may import.
var owners = map[string]string{
	"github.com/HdrHistogram/hdrhistogram-go": "reports",
	"github.com/vbauerster/mpb/v8":            "reports/progress",
}

type listedPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
}

// listPackages returns the module's packages as go list sees them
// (production files only: tests may import what they need).
func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, errb.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// isStdlib reports whether an import path is in the standard library: its
// first element has no dot.
func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func allowed(rules []string, imp string) bool {
	for _, r := range rules {
		if r == "..." || r == imp {
			return true
		}
		if sub, ok := strings.CutSuffix(r, "/..."); ok && (imp == sub || strings.HasPrefix(imp, sub+"/")) {
			return true
		}
	}
	return false
}

// checkImports returns every violation of the rules by pkgs.
func checkImports(pkgs []listedPackage) []string {
	var bad []string
	for _, p := range pkgs {
		name, _ := rel(p.ImportPath)
		rules, known := layers[name]
		if !known {
			bad = append(bad, name+": not in the layering rules (add it to layers in cmd/ssebench/layering_test.go)")
			continue
		}
		for _, imp := range p.Imports {
			if r, ours := rel(imp); ours {
				switch {
				case strings.HasPrefix(r, "cmd/"):
					bad = append(bad, name+" imports "+r+": nothing imports cmd")
				case !allowed(rules, r):
					bad = append(bad, name+" imports "+r+": not one of the packages below it")
				}
				continue
			}
			if slices.Contains(stdlibOnly, name) && !isStdlib(imp) {
				bad = append(bad, name+" imports "+imp+": it uses the standard library only")
			}
			for mod, owner := range owners {
				if (imp == mod || strings.HasPrefix(imp, mod+"/")) && name != owner {
					bad = append(bad, name+" imports "+imp+": only "+owner+" may")
				}
			}
		}
	}
	return bad
}

// forbiddenCalls are what only cmd may use: the process's exit and its
// standard streams.
var forbiddenCalls = map[string][]string{
	"os":  {"Exit", "Stdout", "Stderr", "Stdin"},
	"fmt": {"Print", "Printf", "Println"},
	"log": {"Print", "Printf", "Println", "Fatal", "Fatalf", "Fatalln", "Panic", "Panicf", "Panicln"},
}

// checkNoPrinting returns every use of forbiddenCalls (and the print
// builtins) in the production files of packages outside cmd.
func checkNoPrinting(t *testing.T, pkgs []listedPackage) []string {
	t.Helper()
	var bad []string
	fset := token.NewFileSet()
	for _, p := range pkgs {
		name, _ := rel(p.ImportPath)
		if strings.HasPrefix(name, "cmd/") {
			continue
		}
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("parse %s: %v", path, err)
			}
			imported := map[string]string{} // local name -> import path
			for _, im := range file.Imports {
				ip := strings.Trim(im.Path.Value, `"`)
				local := ip[strings.LastIndex(ip, "/")+1:]
				if im.Name != nil {
					local = im.Name.Name
				}
				imported[local] = ip
			}
			ast.Inspect(file, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.SelectorExpr:
					id, ok := x.X.(*ast.Ident)
					if !ok {
						return true
					}
					if slices.Contains(forbiddenCalls[imported[id.Name]], x.Sel.Name) {
						bad = append(bad, fset.Position(x.Pos()).String()+": "+imported[id.Name]+"."+x.Sel.Name+" outside cmd")
					}
				case *ast.CallExpr:
					if id, ok := x.Fun.(*ast.Ident); ok && (id.Name == "print" || id.Name == "println") && id.Obj == nil {
						bad = append(bad, fset.Position(x.Pos()).String()+": the "+id.Name+" builtin outside cmd")
					}
				}
				return true
			})
		}
	}
	return bad
}

func TestLayering(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	pkgs := listPackages(t)
	for _, b := range checkImports(pkgs) {
		t.Error(b)
	}
	for _, b := range checkNoPrinting(t, pkgs) {
		t.Error(b)
	}
}

// TestLayeringCatches: the rules themselves catch each kind of violation
// (a check that cannot fail proves nothing).
func TestLayeringCatches(t *testing.T) {
	pkg := func(name string, imports ...string) listedPackage {
		return listedPackage{ImportPath: module + "/" + name, Imports: imports}
	}
	ours := func(name string) string { return module + "/" + name }
	for _, tt := range []struct {
		p    listedPackage
		want string
	}{
		{pkg("conformance/sse", "github.com/klauspost/compress/zstd"), "standard library only"},
		{pkg("mockserver", ours("conformance/checks")), "not one of the packages below it"},
		{pkg("scenarios", ours("scenarios/swarm")), "not one of the packages below it"},
		{pkg("reports/progress", "github.com/HdrHistogram/hdrhistogram-go"), "only reports may"},
		{pkg("reports", "github.com/vbauerster/mpb/v8"), "only reports/progress may"},
		{pkg("reports", ours("cmd/ssebench")), "nothing imports cmd"},
		{pkg("brand/new"), "not in the layering rules"},
	} {
		got := strings.Join(checkImports([]listedPackage{tt.p}), "\n")
		if !strings.Contains(got, tt.want) {
			t.Errorf("%s importing %v: got %q, want %q", tt.p.ImportPath, tt.p.Imports, got, tt.want)
		}
	}
	if got := checkImports([]listedPackage{pkg("scenarios/swarm", ours("scenarios"), "net/http")}); len(got) != 0 {
		t.Errorf("a legal package was flagged: %v", got)
	}
}
