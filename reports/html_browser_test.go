package reports

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssebench/ssebench/reports/browsertest"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser test opens the HTML reports in a real headless Chromium: the
// charts must lay out with a size and drawn paths, the page must log no
// error, fetch nothing from the network, and keep its labels apart. It saves
// full-page screenshots for a person to look at.
//
// Chromium is found at $TEST_CHROMIUM, /usr/bin/chromium, or as
// chromium / chromium-browser on PATH. Without one the test skips, except
// when CI=true, where it fails (CI installs Debian's chromium package).
// Screenshots go to $TEST_ARTIFACTS, else to testdata/html/out/
// (gitignored).

// browserTimeout bounds the whole browser session.
const browserTimeout = 60 * time.Second

func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "html", "out")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifact dir: %v", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// chartBox is what the page reports about one svg[data-chart].
type chartBox struct {
	Name     string   `json:"name"`
	Width    float64  `json:"width"`
	Height   float64  `json:"height"`
	Drawn    int      `json:"drawn"`    // paths with data and a non-empty box
	Longest  float64  `json:"longest"`  // longest path, px
	Overlaps []string `json:"overlaps"` // tick labels that overlap each other
	Outside  []string `json:"outside"`  // text that sticks out of the svg
}

// pageReport is what the page reports about itself.
type pageReport struct {
	Charts      []chartBox `json:"charts"`
	ScrollWidth float64    `json:"scrollWidth"`
	Fonts       string     `json:"fonts"`
}

// inspectJS measures every chart and its labels after layout.
const inspectJS = `(() => {
  const boxes = (els) => Array.from(els).map(e => ({t: e.textContent, r: e.getBoundingClientRect()}));
  const hit = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const charts = [];
  for (const s of document.querySelectorAll('svg[data-chart]')) {
    const r = s.getBoundingClientRect();
    let drawn = 0, longest = 0;
    for (const p of s.querySelectorAll('path')) {
      const d = (p.getAttribute('d') || '').trim();
      if (d.length < 3) continue;
      const b = p.getBBox();
      if (b.width > 0 || b.height > 0) drawn++;
      longest = Math.max(longest, p.getTotalLength());
    }
    const overlaps = [];
    for (const sel of ['.xlab text', '.ylab text']) {
      const ts = boxes(s.querySelectorAll(sel));
      for (let i = 0; i < ts.length; i++)
        for (let j = i + 1; j < ts.length; j++)
          if (hit(ts[i].r, ts[j].r)) overlaps.push(ts[i].t + ' / ' + ts[j].t);
    }
    const outside = [];
    const fig = s.closest('figure') || s;
    const fr = fig.getBoundingClientRect();
    for (const t of boxes(s.querySelectorAll('text'))) {
      if (t.r.width === 0) continue;
      if (t.r.left < fr.left - 1 || t.r.right > fr.right + 1 || t.r.top < r.top - 1 || t.r.bottom > r.bottom + 1)
        outside.push(t.t);
    }
    charts.push({name: s.dataset.chart, width: r.width, height: r.height, drawn, longest, overlaps, outside});
  }
  return {charts, scrollWidth: document.documentElement.scrollWidth,
          fonts: getComputedStyle(document.body).fontFamily};
})()`

// browserLog collects what the page says while it loads.
type browserLog struct {
	mu       sync.Mutex
	errors   []string
	requests []string
}

func (b *browserLog) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value))
			}
			b.errors = append(b.errors, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
		}
	case *runtime.EventExceptionThrown:
		b.errors = append(b.errors, "exception: "+ev.ExceptionDetails.Text)
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			b.errors = append(b.errors, fmt.Sprintf("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	}
}

func TestBrowserHTMLReports(t *testing.T) {
	exe := browsertest.FindChromium(t)
	out := artifactDir(t)
	pages := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(pages, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	runPage := write("report.html", renderHTMLRun(t, htmlRampFixture.build(t)))
	defaultPage := write("report-default.html", renderHTMLRun(t, htmlDefaultRunFile(t)))
	confPage := write("conformance.html", renderHTMLConformance(t, htmlConformanceFixture()))

	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	browserCtx, stop := browsertest.Start(t, ctx, exe, chromedp.WindowSize(1280, 900))
	defer stop() // close the browser and wait for its process to exit, whatever happens

	tests := []struct {
		name, path, shot string
		wantCharts       []string
		extraShots       bool
	}{
		{"run", runPage, "report.png", htmlWantRunCharts, true},
		{"default run", defaultPage, "report-default.png", htmlWantSteadyCharts, false},
		{"conformance", confPage, "conformance.png", []string{"conformance-summary"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tabCtx, cancelTab := chromedp.NewContext(browserCtx)
			defer cancelTab()
			var bl browserLog
			if err := chromedp.Listen(tabCtx, bl.listen); err != nil {
				t.Fatalf("listen: %v", err)
			}
			if err := chromedp.Do(tabCtx,
				chromedp.EmulateViewport(1280, 900),
				chromedp.Navigate("file://"+filepath.ToSlash(tt.path)),
			); err != nil {
				t.Fatalf("load %s: %v", tt.path, err)
			}
			rep, err := chromedp.Run(tabCtx, chromedp.Evaluate[pageReport](inspectJS))
			if err != nil {
				t.Fatalf("inspect: %v", err)
			}
			checkPage(t, rep, tt.wantCharts)

			shot, err := chromedp.Run(tabCtx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			saveShot(t, filepath.Join(out, tt.shot), shot)

			if tt.extraShots {
				// How the page prints, and how it looks to a reader with
				// deuteranopia (the commonest colour-vision deficiency).
				if err := setMedia(tabCtx, "print", ""); err != nil {
					t.Fatalf("print media: %v", err)
				}
				if shot, err = chromedp.Run(tabCtx, chromedp.FullScreenshot(100)); err != nil {
					t.Fatalf("print screenshot: %v", err)
				}
				saveShot(t, filepath.Join(out, "report-print.png"), shot)
				if err := setMedia(tabCtx, "", emulation.SetEmulatedVisionDeficiencyTypeDeuteranopia); err != nil {
					t.Fatalf("vision emulation: %v", err)
				}
				if shot, err = chromedp.Run(tabCtx, chromedp.FullScreenshot(100)); err != nil {
					t.Fatalf("deuteranopia screenshot: %v", err)
				}
				saveShot(t, filepath.Join(out, "report-deuteranopia.png"), shot)
			}

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
		})
	}
}

func checkPage(t *testing.T, rep pageReport, want []string) {
	t.Helper()
	got := map[string]chartBox{}
	for _, c := range rep.Charts {
		got[c.Name] = c
	}
	if len(rep.Charts) != len(want) {
		t.Errorf("page has %d charts, want %d: %v", len(rep.Charts), len(want), want)
	}
	for _, name := range want {
		c, ok := got[name]
		switch {
		case !ok:
			t.Errorf("chart %s is missing", name)
		case c.Width < 100 || c.Height < 20:
			t.Errorf("chart %s laid out at %.0f×%.0f px", name, c.Width, c.Height)
		case c.Drawn == 0 || c.Longest <= 0:
			t.Errorf("chart %s draws nothing (drawn paths %d, longest %.0f px)", name, c.Drawn, c.Longest)
		}
		for _, o := range c.Overlaps {
			t.Errorf("chart %s: tick labels overlap: %s", name, o)
		}
		for _, o := range c.Outside {
			t.Errorf("chart %s: text %q sticks out of the chart", name, o)
		}
	}
	if rep.ScrollWidth > 1280 {
		t.Errorf("page is %.0f px wide at a 1280 px viewport: it scrolls sideways", rep.ScrollWidth)
	}
}

func setMedia(ctx context.Context, media string, vision emulation.SetEmulatedVisionDeficiencyType) error {
	return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: media}); err != nil {
			return fmt.Errorf("set media %q: %w", media, err)
		}
		if vision == "" {
			return nil
		}
		if _, err := cdp.Call(ctx, t, emulation.SetEmulatedVisionDeficiency, emulation.SetEmulatedVisionDeficiencyParams{Type: vision}); err != nil {
			return fmt.Errorf("set vision deficiency %q: %w", vision, err)
		}
		return nil
	}))
}

func saveShot(t *testing.T, path string, png []byte) {
	t.Helper()
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
}
