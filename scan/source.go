package scan

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// source produces the units of one scan.
type source struct {
	o     Options
	top   string // the work tree's top; "" outside git
	allow *allowlist
}

func openSource(ctx context.Context, o Options) (*source, error) {
	s := &source{o: o}
	if o.Mode != ModeStdin {
		top, err := s.git(ctx, "rev-parse", "--show-toplevel")
		switch {
		case err == nil:
			s.top = strings.TrimRight(string(top), "\n")
		case o.Mode == ModeStaged || o.Mode == ModeHistory:
			return nil, fmt.Errorf("%s: %w", o.Dir, ErrNotRepository)
		}
	}
	ignore := filepath.Join(o.Dir, IgnoreFile)
	if s.top != "" {
		ignore = filepath.Join(s.top, IgnoreFile)
	}
	a, err := readAllowlist(ignore)
	if err != nil {
		return nil, err
	}
	s.allow = a
	return s, nil
}

// git runs git in the scan's directory and returns its output.
func (s *source) git(ctx context.Context, args ...string) ([]byte, error) {
	cmd := osexec.CommandContext(ctx, s.o.Git, args...)
	cmd.Dir = s.o.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// produce sends the units to out and returns the files it skipped and,
// for history, the commits it read.
func (s *source) produce(ctx context.Context, out chan<- unit) ([]Skipped, int, error) {
	switch s.o.Mode {
	case ModeStdin:
		if s.o.Stdin == nil {
			return nil, 0, errors.New("no standard input to scan")
		}
		b, err := io.ReadAll(io.LimitReader(s.o.Stdin, MaxFileSize+1))
		if err != nil {
			return nil, 0, fmt.Errorf("read standard input: %w", err)
		}
		if len(b) > MaxFileSize {
			return []Skipped{{"stdin", "larger than 256 MiB"}}, 0, nil
		}
		return nil, 0, send(ctx, out, unit{path: "stdin", data: b, line: 1})
	case ModeStaged:
		if err := s.runDiff(ctx, out, &diffParser{}, "-c", "core.quotePath=false", "diff", "--cached"); err != nil {
			return nil, 0, err
		}
		return s.stagedBinaries(ctx, out)
	case ModeHistory:
		if _, err := s.git(ctx, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"); err != nil {
			return nil, 0, nil // no commit yet: no history
		}
		total := 0
		if n, err := s.git(ctx, "rev-list", "--count", "HEAD"); err == nil {
			total, _ = strconv.Atoi(strings.TrimSpace(string(n)))
		}
		if s.o.Progress != nil {
			s.o.Progress(0, total)
		}
		var commits int
		p := &diffParser{onCommit: func() {
			commits++
			if s.o.Progress != nil {
				s.o.Progress(commits, total)
			}
		}}
		err := s.runDiff(ctx, out, p, "-c", "core.quotePath=false", "log", "-p", "--format=commit %H", "HEAD")
		return nil, commits, err
	}
	return s.tree(ctx, out)
}

func send(ctx context.Context, out chan<- unit, u unit) error {
	select {
	case out <- u:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runDiff runs git with args (a diff or a log -p) and sends the lines it
// adds.
func (s *source) runDiff(ctx context.Context, out chan<- unit, p *diffParser, args ...string) error {
	args = append(args, "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "-M",
		"--src-prefix=a/", "--dst-prefix=b/", "--")
	cmd := osexec.CommandContext(ctx, s.o.Git, args...)
	cmd.Dir = s.o.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git %s: %w", args[2], err)
	}
	p.emit = func(u unit) error {
		if s.allow.allowsPath(u.path) {
			return nil
		}
		return send(ctx, out, u)
	}
	perr := p.parse(bufio.NewReaderSize(stdout, 64<<10))
	if perr != nil {
		_, _ = io.Copy(io.Discard, stdout)
	}
	werr := cmd.Wait()
	if perr != nil {
		return perr
	}
	if werr != nil {
		return fmt.Errorf("git %s: %w: %s", args[2], werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// stagedBinaries scans whole the staged binary files a diff shows no
// lines of (a key file, an archive with a value inside).
func (s *source) stagedBinaries(ctx context.Context, out chan<- unit) ([]Skipped, int, error) {
	list, err := s.git(ctx, "diff", "--cached", "--numstat", "-z", "--no-renames", "--diff-filter=AM")
	if err != nil {
		return nil, 0, err
	}
	var skipped []Skipped
	for rec := range bytes.SplitSeq(bytes.TrimSuffix(list, []byte{0}), []byte{0}) {
		path, ok := bytes.CutPrefix(rec, []byte("-\t-\t"))
		if !ok || s.allow.allowsPath(string(path)) {
			continue
		}
		size, err := s.git(ctx, "cat-file", "-s", ":"+string(path))
		if n, _ := strconv.ParseInt(strings.TrimSpace(string(size)), 10, 64); err != nil || n > MaxFileSize {
			skipped = append(skipped, Skipped{string(path), "staged binary file larger than 256 MiB or unreadable"})
			continue
		}
		b, err := s.git(ctx, "cat-file", "blob", ":"+string(path))
		if err != nil {
			return nil, 0, err
		}
		if err := send(ctx, out, unit{path: string(path), data: b, line: 1}); err != nil {
			return nil, 0, err
		}
	}
	return skipped, 0, nil
}

// tree scans files: those git lists in a work tree, else a walk.
func (s *source) tree(ctx context.Context, out chan<- unit) ([]Skipped, int, error) {
	paths := s.o.Paths
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var skipped []Skipped
	seq := 0
	read := func(rel, file string) error {
		if s.allow.allowsPath(rel) {
			return nil
		}
		fi, err := os.Lstat(file)
		if err != nil || !fi.Mode().IsRegular() {
			return nil // gone since listed, or a link: not content of the tree
		}
		if fi.Size() > MaxFileSize {
			skipped = append(skipped, Skipped{rel, "larger than 256 MiB"})
			return nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			skipped = append(skipped, Skipped{rel, err.Error()})
			return nil
		}
		seq++
		return send(ctx, out, unit{seq: seq, path: rel, data: b, line: 1})
	}
	// Paths inside the work tree are listed by git; others are walked.
	var inTree, outside []string
	for _, p := range paths {
		abs := p
		if !filepath.IsAbs(p) {
			abs = filepath.Join(s.o.Dir, p)
		}
		if abs, err := filepath.Abs(abs); s.top != "" && err == nil && within(s.top, abs) {
			inTree = append(inTree, p)
		} else {
			outside = append(outside, p)
		}
	}
	if len(inTree) > 0 {
		args := append([]string{"ls-files", "-z", "--full-name", "--cached", "--others", "--exclude-standard", "--deduplicate", "--"}, inTree...)
		list, err := s.git(ctx, args...)
		if err != nil {
			return nil, 0, err
		}
		for rel := range bytes.SplitSeq(bytes.TrimSuffix(list, []byte{0}), []byte{0}) {
			if len(rel) == 0 {
				continue
			}
			if err := read(string(rel), filepath.Join(s.top, filepath.FromSlash(string(rel)))); err != nil {
				return nil, 0, err
			}
		}
	}
	for _, p := range outside {
		root := p
		if !filepath.IsAbs(p) {
			root = filepath.Join(s.o.Dir, p)
		}
		err := filepath.WalkDir(root, func(file string, d fs.DirEntry, err error) error {
			if err != nil {
				if file == root {
					return err
				}
				skipped = append(skipped, Skipped{file, err.Error()})
				return nil
			}
			if d.IsDir() && d.Name() == ".git" {
				return filepath.SkipDir
			}
			if !d.Type().IsRegular() {
				return nil
			}
			rel := file
			if !filepath.IsAbs(p) {
				if r, err := filepath.Rel(s.o.Dir, file); err == nil {
					rel = r
				}
			}
			return read(filepath.ToSlash(rel), file)
		})
		if err != nil {
			return nil, 0, err
		}
	}
	return skipped, 0, nil
}

// within reports whether path is dir or below it; both are absolute.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// diffParser reads `git diff -U0` or `git log -p -U0` output and emits a
// unit per hunk: the lines it adds, with the line number of the first.
type diffParser struct {
	emit     func(unit) error
	onCommit func()

	commit string
	path   string // "" while the file is deleted or binary
	seq    int
}

func (p *diffParser) parse(r *bufio.Reader) error {
	var added []byte
	for {
		line, err := r.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		switch {
		case bytes.HasPrefix(line, []byte("commit ")):
			p.commit = string(bytes.TrimSpace(line[len("commit "):]))
			p.seq++
			if p.onCommit != nil {
				p.onCommit()
			}
		case bytes.HasPrefix(line, []byte("diff --git ")):
			p.path = ""
		case bytes.HasPrefix(line, []byte("+++ ")):
			p.path = diffPath(bytes.TrimRight(line[4:], "\r\n"))
		case bytes.HasPrefix(line, []byte("@@ ")):
			oldN, newStart, newN, ok := hunkHeader(line)
			if !ok {
				return fmt.Errorf("git diff: cannot read hunk header %q", bytes.TrimSpace(line))
			}
			added = added[:0]
			for oldN > 0 || newN > 0 {
				l, err := r.ReadBytes('\n')
				if len(l) == 0 {
					if err == nil || err == io.EOF {
						return errors.New("git diff: output ends inside a hunk")
					}
					return err
				}
				switch l[0] {
				case '+':
					added = append(added, l[1:]...)
					newN--
				case '-':
					oldN--
				case ' ':
					oldN--
					newN--
				case '\\': // "\ No newline at end of file"
				default:
					return fmt.Errorf("git diff: unexpected line in a hunk")
				}
			}
			if p.path != "" && len(added) > 0 {
				u := unit{seq: p.seq, path: p.path, commit: p.commit, data: bytes.Clone(added), line: newStart}
				if err := p.emit(u); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// diffPath returns the path of a "+++ " line: "" for /dev/null.
func diffPath(b []byte) string {
	s := string(b)
	if strings.HasPrefix(s, `"`) {
		if u, err := strconv.Unquote(s); err == nil {
			s = u
		}
	}
	if s == "/dev/null" {
		return ""
	}
	return strings.TrimPrefix(s, "b/")
}

// hunkHeader reads "@@ -a[,b] +c[,d] @@".
func hunkHeader(line []byte) (oldN, newStart, newN int, ok bool) {
	f := strings.Fields(string(line))
	if len(f) < 4 || !strings.HasPrefix(f[1], "-") || !strings.HasPrefix(f[2], "+") {
		return 0, 0, 0, false
	}
	count := func(s string) (int, int, bool) {
		a, b, has := strings.Cut(s, ",")
		start, err := strconv.Atoi(a)
		if err != nil {
			return 0, 0, false
		}
		if !has {
			return start, 1, true
		}
		n, err := strconv.Atoi(b)
		return start, n, err == nil
	}
	_, oldN, ok1 := count(f[1][1:])
	newStart, newN, ok2 := count(f[2][1:])
	return oldN, newStart, newN, ok1 && ok2
}
