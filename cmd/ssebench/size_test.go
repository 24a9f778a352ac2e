package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Size rules for the code outside tests: a function holds at most
// maxFuncLines lines (from its signature to its closing brace, comments
// inside included) and a file at most maxFileLines. Past them a newcomer
// can no longer read a unit at once; split along the code's own seams.
// Test files and testdata are exempt (tables and fixtures are long by
// nature).
const (
	maxFuncLines = 100
	maxFileLines = 700
)

// TestCodeSize enforces the size rules on every non-test Go file of the
// module (node_modules and testdata folders aside).
func TestCodeSize(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, v := range codeSizeViolations(t, root) {
		t.Error(v)
	}
}

// TestCodeSizeCatches shows that the rules catch what they promise to: a
// function one line too long and a file one line too long.
func TestCodeSizeCatches(t *testing.T) {
	dir := t.TempDir()
	var long strings.Builder
	long.WriteString("package p\n\nfunc f() {\n")
	for range maxFuncLines - 2 { // signature and brace are lines too
		long.WriteString("\t_ = 0\n")
	}
	long.WriteString("\t_ = 1\n}\n")
	writeSizeFixture(t, filepath.Join(dir, "long.go"), long.String())
	writeSizeFixture(t, filepath.Join(dir, "long_test.go"), long.String()) // exempt
	var big strings.Builder
	big.WriteString("package p\n")
	for i := range maxFileLines {
		fmt.Fprintf(&big, "var v%d = %d\n", i, i)
	}
	writeSizeFixture(t, filepath.Join(dir, "big.go"), big.String())
	got := codeSizeViolations(t, dir)
	if len(got) != 2 || !strings.Contains(got[0]+got[1], "big.go has 701 lines") || !strings.Contains(got[0]+got[1], "func f has 101 lines") {
		t.Errorf("violations = %q, want big.go's 701 lines and long.go's func f of 101 lines", got)
	}
}

func writeSizeFixture(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// codeSizeViolations lists the functions and files under root that break
// the size rules, as "path:line: ..." messages.
func codeSizeViolations(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if n := fset.File(f.Pos()).LineCount(); n > maxFileLines {
			out = append(out, fmt.Sprintf("%s has %d lines, over %d: split it along its sections", path, n, maxFileLines))
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			from, to := fset.Position(fd.Pos()), fset.Position(fd.End())
			if n := to.Line - from.Line + 1; n > maxFuncLines {
				out = append(out, fmt.Sprintf("%s:%d: func %s has %d lines, over %d: decompose it", path, from.Line, fd.Name.Name, n, maxFuncLines))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
