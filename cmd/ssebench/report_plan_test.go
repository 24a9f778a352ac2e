package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssebench/ssebench/reports"
)

// TestReportRefusesOtherPlans: 'report a.json b.json' refuses results of
// different plans (exit 2, naming --force); with --force it merges them
// with a note; files of one plan merge without one.
func TestReportRefusesOtherPlans(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, src, plan string) string {
		f, err := reports.ReadFile(fixture(src))
		if err != nil {
			t.Fatal(err)
		}
		f.Plan = plan
		p := filepath.Join(dir, name)
		w, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := reports.WriteJSON(w, f); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := write("a.json", "shard1.json", "1111111111111111"), write("b.json", "shard2.json", "2222222222222222")
	code, _, errs := reportRun(t, a, b)
	if code != exitUsage || !strings.Contains(errs, "different plans") || !strings.Contains(errs, "--force") {
		t.Errorf("different plans: exit %d, want 2 naming --force:\n%s", code, errs)
	}
	code, out, errs := reportRun(t, "--force", "--format", "json", a, b)
	if code == exitUsage || !strings.Contains(out, "merged results of different plans (--force)") {
		t.Errorf("--force: exit %d\n%s\n%s", code, clipOut(out), errs)
	}
	b = write("b.json", "shard2.json", "1111111111111111")
	code, out, errs = reportRun(t, "--format", "json", a, b)
	if code == exitUsage || strings.Contains(out, "different plans") || !strings.Contains(out, `"plan": "1111111111111111"`) {
		t.Errorf("one plan: exit %d\n%s\n%s", code, clipOut(out), errs)
	}
}
