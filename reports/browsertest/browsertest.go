// Package browsertest starts the headless Chromium of the browser tests
// (the HTML reports, the mock's CORS): one way to find the browser, one set
// of flags, one way to close it. Only tests import it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// FindChromium returns the Chromium to run: $TEST_CHROMIUM, else the first
// of chromium and chromium-browser on PATH. Without one the test is skipped,
// or fails under CI=true, where .ci/run installs Debian's package.
func FindChromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TEST_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("TEST_CHROMIUM=%s: %v", p, err)
		}
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "/usr/bin/chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found (CI=true): install Debian's chromium package or set TEST_CHROMIUM")
	}
	t.Skip("no Chromium found: install chromium or set TEST_CHROMIUM to run the browser test")
	return ""
}

// Start starts exe headless, with a fresh profile, no sandbox, no GPU, no
// QUIC and no background traffic (plus extra options), for as long as ctx
// lives. It returns the browser's context and stop, which closes the
// browser and waits for its process to exit: defer it.
func Start(t testing.TB, ctx context.Context, exe string, extra ...chromedp.ExecAllocatorOption) (browser context.Context, stop func()) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(opts, extra...)...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	stop = func() {
		if err := chromedp.Cancel(browserCtx); err != nil && ctx.Err() == nil {
			t.Logf("closing the browser: %v", err)
		}
		cancelBrowser()
		cancelAlloc()
	}
	if err := chromedp.Do(browserCtx); err != nil {
		stop()
		t.Fatalf("start %s: %v", exe, err)
	}
	return browserCtx, stop
}
