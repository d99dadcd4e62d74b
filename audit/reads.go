package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"text/tabwriter"
	"time"
)

// Read is where programs read a secret: one file and line, from the
// `accessed` records of the runs that read it there.
type Read struct {
	Secret string    `json:"secret"`
	File   string    `json:"file"`
	Line   int       `json:"line,omitempty"`
	Runs   int       `json:"runs"` // accessed records: one per run and place
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
}

// Reads gathers the `accessed` records that f matches by secret and
// place, most read first within each secret.
func Reads(recs []Record, f Filter) []Read {
	type key struct {
		secret, file string
		line         int
	}
	at := map[key]*Read{}
	for _, r := range recs {
		if r.Event != EventAccessed || r.Result != ResultOK || r.Context == nil || !f.Match(r) {
			continue
		}
		k := key{r.Secret, r.Context.File, r.Context.Line}
		rd := at[k]
		if rd == nil {
			rd = &Read{Secret: k.secret, File: k.file, Line: k.line, First: r.Time}
			at[k] = rd
		}
		rd.Runs++
		if r.Time.After(rd.Last) {
			rd.Last = r.Time
		}
		if r.Time.Before(rd.First) {
			rd.First = r.Time
		}
	}
	out := make([]Read, 0, len(at))
	for _, rd := range at {
		out = append(out, *rd)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Secret != b.Secret {
			return a.Secret < b.Secret
		}
		if a.Runs != b.Runs {
			return a.Runs > b.Runs
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return out
}

// NeverRead lists the secrets that `wsx exec` gave programs over at
// least period before now and that no run reported reading, in a log
// where runs did report reads of other secrets (so the runtime hooks
// work in this workspace). They are candidates for removal.
func NeverRead(recs []Record, now time.Time, period time.Duration) []string {
	firstUse := map[string]time.Time{}
	read := map[string]bool{}
	var firstRead time.Time
	for _, r := range recs {
		switch {
		case r.Event == EventUsed && r.Via == ViaExec && r.Result == ResultOK && r.Secret != "":
			if t, ok := firstUse[r.Secret]; !ok || r.Time.Before(t) {
				firstUse[r.Secret] = r.Time
			}
		case r.Event == EventAccessed && r.Result == ResultOK:
			read[r.Secret] = true
			if firstRead.IsZero() || r.Time.Before(firstRead) {
				firstRead = r.Time
			}
		}
	}
	var out []string
	for name, t := range firstUse {
		// Reads were reported since the secret was first given: the
		// hooks were there to see it read.
		if !read[name] && !firstRead.IsZero() && now.Sub(t) >= period && now.Sub(firstRead) >= period {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// ReadLog reads the records of the log at path; none when there is no log.
func ReadLog(path string) ([]Record, error) {
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	defer file.Close()
	return ReadRecords(bufio.NewReader(file))
}

// ShowReads is `wsx audit --accessed`: where each secret f matches was
// read, as a table in local time or as JSON.
func ShowReads(w io.Writer, recs []Record, f Filter, asJSON bool) error {
	reads := Reads(recs, f)
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(reads)
	}
	if len(reads) == 0 {
		_, err := fmt.Fprintln(w, "no reads recorded: `wsx exec` records where node and python programs read the secrets it gives them")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SECRET\tREAD AT\tRUNS\tLAST")
	for _, rd := range reads {
		place := rd.File
		if rd.Line > 0 {
			place = fmt.Sprintf("%s:%d", rd.File, rd.Line)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", rd.Secret, place, rd.Runs, rd.Last.In(time.Local).Format(TimeLayout))
	}
	return tw.Flush()
}

// Print is `wsx audit`: what the log at path holds that f matches: its
// records (Show), or with reads where programs read each secret
// (ShowReads).
func Print(w io.Writer, path string, f Filter, asJSON, reads bool) error {
	if !reads {
		return Show(w, path, f, asJSON)
	}
	recs, err := ReadLog(path)
	if err != nil {
		return err
	}
	return ShowReads(w, recs, f, asJSON)
}
