package daemon

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// RunUI is `wsx ui`: it starts the agent when none serves the store (as
// `wsx agent` does, its variables unprinted), has it serve the settings
// page, opens the page in the browser (xdg-open) or prints its address
// when it cannot or noBrowser, and waits until the command is stopped
// (SIGINT, SIGTERM, SIGHUP) or the page stops on its own.
func (l *Launch) RunUI(ctx context.Context, o UIOptions, noBrowser bool) error {
	_, running, err := Running(l.RunDir, l.Home, dialTimeout)
	if err != nil {
		return err
	}
	if !running {
		quiet := *l
		quiet.Stdout = io.Discard
		if err := quiet.startAgent(Args{LockAfter: DefaultLockAfter}); err != nil {
			return err
		}
		fmt.Fprintln(l.Stderr, "wsx: started the wsx agent; it keeps running after the page stops")
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	c := NewClient(filepath.Join(l.RunDir, APISocketName))
	defer c.Close()
	why, err := c.ServeUI(ctx, o, func(url string) error {
		if !noBrowser && openBrowser(url) {
			fmt.Fprintln(l.Stderr, "wsx: the settings page is open in your browser; it stops when this command ends (Ctrl-C)")
			return nil
		}
		fmt.Fprintln(l.Stdout, url)
		fmt.Fprintln(l.Stderr, "wsx: open the address above in your browser (it works once); the page stops when this command ends (Ctrl-C)")
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(l.Stderr, "wsx: the settings page stopped (%s)\n", why)
	return nil
}

// openBrowser opens url with xdg-open, when it is on PATH: false when it
// is not, or fails (no display) within a few seconds.
func openBrowser(url string) bool {
	path, err := exec.LookPath("xdg-open")
	if err != nil {
		return false
	}
	cmd := exec.Command(path, url)
	if err := cmd.Start(); err != nil {
		return false
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err == nil
	case <-time.After(5 * time.Second):
		return true
	}
}
