package reports

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ssebench/ssebench/reports/browsertest"
)

// TestBrowserCapacityHTML opens the capacity report in headless Chromium,
// as TestBrowserHTMLReports does the run reports: every chart lays out
// with drawn paths and unclipped labels, the page logs no error and fetches
// nothing, and a full-page screenshot (capacity.png) is saved for a person
// to look at. The page must show the knee: the passing region and the knee
// line are drawn in each chart.
func TestBrowserCapacityHTML(t *testing.T) {
	exe := browsertest.FindChromium(t)
	out := artifactDir(t)
	var b bytes.Buffer
	if err := WriteCapacityHTML(&b, capacityFixture()); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "capacity.html")
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	browserCtx, stop := browsertest.Start(t, ctx, exe, chromedp.WindowSize(1280, 900))
	defer stop() // close the browser and wait for its process to exit
	var bl browserLog
	if err := chromedp.Listen(browserCtx, bl.listen); err != nil {
		t.Fatalf("listen: %v", err)
	}
	if err := chromedp.Do(browserCtx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate("file://"+filepath.ToSlash(page))); err != nil {
		t.Fatalf("load %s: %v", page, err)
	}
	rep, err := chromedp.Run(browserCtx, chromedp.Evaluate[pageReport](inspectJS))
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	checkPage(t, rep, []string{"capacity-throughput", "capacity-slo-0", "capacity-slo-1"})
	// The knee and the passing region have a size on screen in every chart.
	marks, err := chromedp.Run(browserCtx, chromedp.Evaluate[[]float64](`Array.from(document.querySelectorAll('svg[data-chart] path.knee, svg[data-chart] path.passing')).map(p => { const b = p.getBBox(); return b.width + b.height; })`))
	if err != nil {
		t.Fatalf("inspect the knee: %v", err)
	}
	if len(marks) != 6 {
		t.Errorf("%d knee and passing-region marks, want 6 (2 per chart)", len(marks))
	}
	for i, m := range marks {
		if m <= 0 {
			t.Errorf("mark %d has no size", i)
		}
	}
	shot, err := chromedp.Run(browserCtx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	saveShot(t, filepath.Join(out, "capacity.png"), shot)
	bl.mu.Lock()
	defer bl.mu.Unlock()
	for _, e := range bl.errors {
		t.Errorf("browser reported an error: %s", e)
	}
	for _, u := range bl.requests {
		if !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "about:") {
			t.Errorf("the page fetched %s: reports must work offline", u)
		}
	}
}
