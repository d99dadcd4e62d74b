// Package browser drives `wsx ui` in a real browser: Debian's chromium,
// headless, through the DevTools protocol (chromedp). It is a module of
// its own so that chromedp never enters wsx's go.mod.
//
// The test builds wsx as `make build` does, starts an agent in a fresh
// WSX_HOME, locks it, runs `wsx ui` with no xdg-open on PATH (so it prints
// the address), and then, in the browser: unlocks, adds a token through
// the form, sees it listed, rotates it and undoes the rotation, adds the
// project's missing secret in place on the Templates page, deletes it,
// reads the audit page and its chart. Plain net/http requests check that
// a request without the cookie, with another Host, or from another Origin
// is refused. Every page is screenshotted under the test's temp dir
// (WSX_SCREENSHOTS=DIR copies them there), and a canary value typed into
// the forms must appear in no response body, no page text and no log.
package browser

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

const (
	canary     = "wsx-ui-canary-Hq2Lm9ZtXv"
	passphrase = "browser test passphrase, long enough"
)

// findChromium returns the browser, or skips (fails under CI) without one.
func findChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is missing; scripts/deps.sh installs it (apt-get install chromium)")
	}
	t.Skip("chromium is missing: the browser test of `wsx ui` is skipped (install it with: apt-get install chromium)")
	return ""
}

// buildWSX builds wsx into dir as `make build` does.
func buildWSX(t *testing.T, dir string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	out := filepath.Join(dir, "wsx")
	build := exec.Command("go", "build", "-trimpath", "-tags", "urfave_cli_no_docs", "-ldflags", "-s -w", "-o", out, "./cmd/wsx")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build wsx: %v\n%s", err, b)
	}
	return out
}

// env is the environment of every wsx process here: its own home, and a
// PATH with wsx alone (no xdg-open: `wsx ui` prints its address).
type env struct {
	t         *testing.T
	wsx, home string
	vars      []string
	logs      []string // files that must not hold the canary
}

func (e *env) run(args ...string) string {
	e.t.Helper()
	cmd := exec.Command(e.wsx, args...)
	cmd.Env = e.vars
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("wsx %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestBrowser(t *testing.T) {
	chromium := findChromium(t)
	tmp := t.TempDir()
	// Sockets need a short path.
	short, err := os.MkdirTemp("", "wsxb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(short) })
	bin := filepath.Join(short, "bin")
	os.Mkdir(bin, 0o700)
	e := &env{t: t, wsx: buildWSX(t, bin), home: filepath.Join(short, "home")}
	passFile := filepath.Join(short, "pass")
	if err := os.WriteFile(passFile, []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.vars = []string{"HOME=" + short, "PATH=" + bin, "WSX_HOME=" + e.home, "TMPDIR=" + short}
	e.vars = append(e.vars, "WSX_PASSPHRASE_FILE="+passFile)
	e.run("init", "--kdf-memory", "8", "--kdf-time", "1")

	// The agent in the foreground with its log in a file, which the
	// canary check reads.
	agentLog := filepath.Join(tmp, "agent.log")
	e.logs = append(e.logs, agentLog)
	lf, _ := os.Create(agentLog)
	agent := exec.Command(e.wsx, "agent", "-d")
	agent.Env, agent.Stdout, agent.Stderr = e.vars, io.Discard, lf
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		agent.Process.Signal(syscall.SIGTERM)
		agent.Wait()
		lf.Close()
	})
	waitFor(t, func() bool { _, err := os.Stat(filepath.Join(e.home, "run", "api.sock")); return err == nil })
	e.run("lock")

	// A project that declares a secret the store does not have.
	project := filepath.Join(short, "project")
	os.MkdirAll(filepath.Join(project, ".git"), 0o700)
	toml := "[[secret]]\nname = \"GITHUB_TOKEN\"\nhosts = [\"github.com\"]\n\n[[secret]]\nname = \"NPM_TOKEN\"\ndescription = \"npm publish\"\n"
	if err := os.WriteFile(filepath.Join(project, "wsx.toml"), []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}

	printed, stopUI := startUI(t, e, project)
	defer stopUI()
	u, _ := url.Parse(printed)
	base := "http://" + u.Host

	shots := filepath.Join(tmp, "screenshots")
	os.Mkdir(shots, 0o700)
	b := newBrowser(t, chromium, tmp)

	// The one-time address: in, and the token gone from the address bar.
	b.do(chromedp.Navigate(printed))
	b.do(chromedp.WaitVisible(chromedp.ID("unlock")))
	if loc := b.location(); strings.Contains(loc, "token") || !strings.HasSuffix(loc, "/unlock") {
		t.Fatalf("after login the address is %s", loc)
	}
	b.shot(shots, "unlock")
	b.do(chromedp.SendKeys(chromedp.ID("passphrase"), passphrase), chromedp.Click(chromedp.ID("unlock-submit")))
	b.waitText("main", "Unlocked the store.")

	// Add a token through the form, with the naming advice live.
	b.do(chromedp.Navigate(base+"/add"), chromedp.SendKeys(chromedp.ID("name"), "github_token"))
	b.waitText("#advice", "GITHUB_TOKEN")
	b.do(chromedp.Navigate(base+"/add"), chromedp.SendKeys(chromedp.ID("name"), "GITHUB_TOKEN"))
	b.waitText("#advice", "GITHUB_TOKEN is a good name")
	b.do(chromedp.SendKeys(chromedp.ID("value"), canary),
		chromedp.SendKeys(chromedp.ID("description"), "GitHub API, repo scope"),
		chromedp.SendKeys(chromedp.ID("hosts"), "github.com"))
	b.shot(shots, "add")
	b.do(chromedp.Click(chromedp.ID("add-submit")))
	b.waitText("main", "Added GITHUB_TOKEN.")
	b.do(chromedp.WaitVisible(chromedp.CSS(`tr[data-name="GITHUB_TOKEN"]`)))
	if row := b.text(`tr[data-name="GITHUB_TOKEN"]`); !strings.Contains(row, "github.com") || !strings.Contains(row, "due in") {
		t.Fatalf("listed as %q", row)
	}
	b.shot(shots, "secrets")

	// Rotate, then undo.
	b.do(chromedp.Click(chromedp.ID("rotate-GITHUB_TOKEN")), chromedp.WaitVisible(chromedp.ID("rotate")),
		chromedp.SendKeys(chromedp.ID("value"), canary+"-next"))
	b.shot(shots, "rotate")
	b.do(chromedp.Click(chromedp.ID("rotate-submit")))
	b.waitText("main", "Rotated GITHUB_TOKEN")
	b.waitText(`tr[data-name="GITHUB_TOKEN"]`, "old value (version 1) kept")
	b.shot(shots, "rotated")
	b.do(chromedp.Click(chromedp.ID("undo-GITHUB_TOKEN")))
	b.waitText("main", "Undid the rotation of GITHUB_TOKEN")
	b.do(chromedp.WaitVisible(chromedp.ID("rotate-GITHUB_TOKEN")))

	// The project's missing secret, added in place, then deleted.
	b.do(chromedp.Navigate(base + "/templates"))
	b.waitText("main", "1 missing")
	b.shot(shots, "templates")
	b.do(chromedp.SendKeys(chromedp.CSS(`input[aria-label="value of NPM_TOKEN"]`), canary+"-npm"),
		chromedp.Click(chromedp.CSS(`form.inplace button`)))
	b.waitText("main", "all in the store")
	b.do(chromedp.Navigate(base+"/"), chromedp.Click(chromedp.ID("delete-NPM_TOKEN")), chromedp.WaitVisible(chromedp.ID("delete")))
	b.shot(shots, "delete")
	b.do(chromedp.SendKeys(chromedp.ID("confirm"), "NPM_TOKEN"), chromedp.Click(chromedp.ID("delete-submit")))
	b.waitText("main", "Deleted NPM_TOKEN.")
	if strings.Contains(b.text("#secrets"), "NPM_TOKEN") {
		t.Fatal("NPM_TOKEN still listed after delete")
	}

	// Uses for the chart, then the audit page.
	e.run("exec", "--only", "GITHUB_TOKEN", "--", "/bin/true")
	e.run("exec", "--only", "GITHUB_TOKEN", "--", "/bin/true")
	b.do(chromedp.Navigate(base + "/audit?secret=GITHUB_TOKEN"))
	b.do(chromedp.WaitVisible(chromedp.CSS("#chart rect.bar")))
	if svg, err := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.ID("chart"))); err != nil || !strings.Contains(svg, "GITHUB_TOKEN used 2 times") {
		t.Fatalf("chart: %v %.1000s", err, svg)
	}
	records := b.text("#records")
	for _, want := range []string{"created", "rotated", "used", "ui"} {
		if !strings.Contains(records, want) {
			t.Errorf("audit records lack %q: %s", want, records)
		}
	}
	b.shot(shots, "audit")
	b.do(chromedp.Navigate(base + "/status"))
	b.waitText("#status", "unlocked")
	b.shot(shots, "status")

	// Share the workspace from the page: the grant is the agent's (`wsx
	// share --list`), recorded as `wsx share` records it, via ui; then
	// revoke it.
	b.do(chromedp.Navigate(base + "/sharing"))
	b.do(chromedp.WaitVisible(chromedp.ID("no-grants")))
	b.do(chromedp.SendKeys(chromedp.ID("subject"), "nobody"), chromedp.SetValue(chromedp.ID("role"), "edit"),
		chromedp.Click(chromedp.ID("share-submit")))
	b.waitText("main", "Shared with nobody: edit.")
	b.waitText(`tr[data-subject="nobody"]`, "edit")
	b.shot(shots, "sharing")
	if list := e.run("share", "--list"); !regexp.MustCompile(`(?m)^nobody +edit$`).MatchString(list) {
		t.Fatalf("wsx share --list after sharing from the page:\n%s", list)
	}
	if rec := lastRecord(t, e); rec["event"] != "granted" || rec["via"] != "ui" || rec["detail"] != "nobody edit" {
		t.Fatalf("the grant is recorded as %v", rec)
	}
	if log := e.run("audit"); !strings.Contains(log, "Access granted: nobody edit") {
		t.Fatalf("wsx audit:\n%s", log)
	}
	b.do(chromedp.Click(chromedp.ID("revoke-nobody")))
	b.waitText("main", "Unshared: nobody had edit.")
	b.do(chromedp.WaitVisible(chromedp.ID("no-grants")))
	if list := e.run("share", "--list"); strings.Contains(list, "nobody") {
		t.Fatalf("wsx share --list after revoking from the page:\n%s", list)
	}
	if rec := lastRecord(t, e); rec["event"] != "revoked" || rec["via"] != "ui" || rec["detail"] != "nobody edit" {
		t.Fatalf("the revoke is recorded as %v", rec)
	}

	// The browser's cookie: HttpOnly and SameSite=Strict.
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
	if err != nil || len(cookies.Cookies) != 1 {
		t.Fatalf("cookies: %v %v", cookies, err)
	}
	ck := cookies.Cookies[0]
	if !ck.HTTPOnly || ck.SameSite != network.CookieSameSiteStrict {
		t.Errorf("cookie %s: HttpOnly %v, SameSite %v", ck.Name, ck.HTTPOnly, ck.SameSite)
	}
	refusals(t, base, ck.Name+"="+ck.Value)

	checkNonBlank(t, filepath.Join(shots, "secrets.png"))
	if dir := os.Getenv("WSX_SCREENSHOTS"); dir != "" {
		copyDir(t, shots, dir)
	}

	b.close()
	stopUI()
	for _, body := range b.responses() {
		if strings.Contains(body, canary) {
			t.Errorf("a response body holds the canary: %.300s", body)
		}
	}
	for _, text := range b.texts {
		if strings.Contains(text, canary) {
			t.Errorf("a page's text holds the canary: %.300s", text)
		}
	}
	for _, f := range append(e.logs, filepath.Join(e.home, "audit.log")) {
		if b, _ := os.ReadFile(f); bytes.Contains(b, []byte(canary)) {
			t.Errorf("%s holds the canary", f)
		}
	}
	if n := len(b.responses()); n < 10 {
		t.Errorf("only %d response bodies captured", n)
	}
}

// lastRecord is the audit log's last record, as `wsx audit --json` prints it.
func lastRecord(t *testing.T, e *env) map[string]any {
	t.Helper()
	out := strings.TrimSpace(e.run("audit", "--json"))
	line := out[strings.LastIndex(out, "\n")+1:]
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("wsx audit --json: last line %q: %v", line, err)
	}
	return rec
}

// startUI runs `wsx ui` in dir and returns the address it printed and a
// func that stops it.
func startUI(t *testing.T, e *env, dir string) (string, func()) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "ui.log")
	e.logs = append(e.logs, logPath)
	lf, _ := os.Create(logPath)
	cmd := exec.Command(e.wsx, "ui")
	cmd.Env, cmd.Dir, cmd.Stderr = e.vars, dir, lf
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			lf.Close()
		})
	}
	t.Cleanup(stop)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(lf, out)
	}()
	select {
	case line := <-lines:
		if !strings.HasPrefix(line, "http://127.0.0.1:") || !strings.Contains(line, "/login?token=") {
			t.Fatalf("wsx ui printed %q", line)
		}
		lf.WriteString(line + "\n")
		return line, stop
	case <-time.After(20 * time.Second):
		b, _ := os.ReadFile(logPath)
		t.Fatalf("wsx ui printed no address:\n%s", b)
	}
	return "", stop
}

// refusals checks with plain requests that the page refuses a request
// without the cookie, for another Host, and from another Origin.
func refusals(t *testing.T, base, cookie string) {
	t.Helper()
	send := func(method, path, host, origin, cookie string) int {
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader("confirm=GITHUB_TOKEN")
		}
		req, _ := http.NewRequest(method, base+path, body)
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	port := base[strings.LastIndex(base, ":"):]
	for _, c := range []struct {
		what                       string
		method, host, origin, ckie string
		want                       int
	}{
		{"with the cookie", "GET", "", "", cookie, 200},
		{"without the cookie", "GET", "", "", "", 401},
		{"with another Host (DNS rebinding)", "GET", "evil.test" + port, "", cookie, 403},
		{"from another Origin", "POST", "", "http://evil.test", cookie, 403},
		{"a cross-site form without its CSRF token", "POST", "", base, cookie, 403},
	} {
		path := "/secrets/GITHUB_TOKEN/delete"
		if c.method == "GET" {
			path = "/"
		}
		if got := send(c.method, path, c.host, c.origin, c.ckie); got != c.want {
			t.Errorf("a request %s: %d, want %d", c.what, got, c.want)
		}
	}
}

// browser is a headless chromium tab that keeps every response body and
// every page text it saw.
type browser struct {
	t      *testing.T
	ctx    context.Context
	cancel func()
	texts  []string

	mu     sync.Mutex
	bodies []string
	wg     sync.WaitGroup
}

func newBrowser(t *testing.T, chromium, tmp string) *browser {
	profile := filepath.Join(tmp, "profile")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1100, 700),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: ctx, cancel: func() { cancel(); acancel() }}
	t.Cleanup(b.close)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Every response's body, fetched when it has loaded.
	finished := make(chan network.RequestID, 256)
	if err := chromedp.Listen(ctx, func(ev any) {
		if lf, ok := ev.(*network.EventLoadingFinished); ok {
			select {
			case finished <- lf.RequestID:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			select {
			case id := <-finished:
				res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
				if err == nil {
					b.mu.Lock()
					b.bodies = append(b.bodies, string(res.Body))
					b.mu.Unlock()
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return b
}

func (b *browser) close() {
	b.cancel()
	b.wg.Wait()
}

func (b *browser) responses() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.bodies...)
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		b.t.Fatalf("browser: %v\npage: %.2000s", err, html)
	}
}

func (b *browser) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return loc
}

func (b *browser) text(css string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// waitText waits until the element's text holds want.
func (b *browser) waitText(css, want string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		got, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
		cancel()
		if strings.Contains(got, want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	b.t.Fatalf("%s never showed %q; it shows %q\npage: %.2000s", css, want, got, html)
}

// shot saves a full-page screenshot as name.png, and keeps the page's text.
func (b *browser) shot(dir, name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o600); err != nil {
		b.t.Fatal(err)
	}
	b.texts = append(b.texts, b.text("body"))
}

// checkNonBlank decodes a screenshot and counts its colours: a page drawn
// has many, a blank one one or two.
func checkNonBlank(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	colours := map[[4]uint32]bool{}
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 2 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) < 20 || bounds.Dx() < 400 || bounds.Dy() < 300 {
		t.Fatalf("%s looks blank: %d colours, %v", path, len(colours), bounds)
	}
	t.Logf("%s: %dx%d, %d colours", path, bounds.Dx(), bounds.Dy(), len(colours))
}

func copyDir(t *testing.T, from, to string) {
	os.MkdirAll(to, 0o755)
	fs.WalkDir(os.DirFS(from), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(filepath.Join(from, p))
			os.WriteFile(filepath.Join(to, p), b, 0o644)
		}
		return nil
	})
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
