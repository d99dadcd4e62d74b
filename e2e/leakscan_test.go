package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"
)

// cmdSARIF checks that FILE is a SARIF 2.1.0 log with N results, by the
// structure the standard requires of what wsx writes: `sarif FILE N`.
func cmdSARIF(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: sarif FILE N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	if err := checkSARIF([]byte(ts.ReadFile(args[0])), n); err != nil {
		ts.Fatalf("%s: %v", args[0], err)
	}
}

type sarifLog struct {
	Schema  *string `json:"$schema"`
	Version *string `json:"version"`
	Runs    []struct {
		Tool *struct {
			Driver *struct {
				Name  string `json:"name"`
				Rules []struct {
					ID               string `json:"id"`
					ShortDescription *struct {
						Text string `json:"text"`
					} `json:"shortDescription"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results *[]struct {
			RuleID    string  `json:"ruleId"`
			RuleIndex *int    `json:"ruleIndex"`
			Level     *string `json:"level"`
			Message   *struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation *struct {
					ArtifactLocation *struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
					Region *struct {
						StartLine   int `json:"startLine"`
						StartColumn int `json:"startColumn"`
						EndLine     int `json:"endLine"`
						EndColumn   int `json:"endColumn"`
					} `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
		} `json:"results"`
	} `json:"runs"`
}

// checkSARIF checks the parts of SARIF 2.1.0 (sarif-schema-2.1.0.json) a
// code scanning service reads: version and schema, one run with a named
// tool, rule ids unique, each result's ruleId and ruleIndex naming the
// same rule, a level from the standard's set, a message text, and a
// location with a relative URI and a region whose lines and columns
// count from 1 and do not end before they start.
func checkSARIF(b []byte, want int) error {
	var log sarifLog
	if err := json.Unmarshal(b, &log); err != nil {
		return err
	}
	if log.Version == nil || *log.Version != "2.1.0" {
		return fmt.Errorf("version is not 2.1.0")
	}
	if log.Schema == nil || *log.Schema == "" {
		return fmt.Errorf("no $schema")
	}
	if len(log.Runs) != 1 || log.Runs[0].Tool == nil || log.Runs[0].Tool.Driver == nil || log.Runs[0].Tool.Driver.Name == "" {
		return fmt.Errorf("want one run with tool.driver.name")
	}
	run := log.Runs[0]
	var ids []string
	for _, r := range run.Tool.Driver.Rules {
		if r.ID == "" || slices.Contains(ids, r.ID) || r.ShortDescription == nil || r.ShortDescription.Text == "" {
			return fmt.Errorf("rule %q: empty, repeated or without shortDescription", r.ID)
		}
		ids = append(ids, r.ID)
	}
	if run.Results == nil {
		return fmt.Errorf("no results array")
	}
	if len(*run.Results) != want {
		return fmt.Errorf("%d results, want %d", len(*run.Results), want)
	}
	for i, r := range *run.Results {
		if r.RuleIndex == nil || *r.RuleIndex < 0 || *r.RuleIndex >= len(ids) || ids[*r.RuleIndex] != r.RuleID {
			return fmt.Errorf("result %d: ruleId %q and ruleIndex disagree", i, r.RuleID)
		}
		if r.Level == nil || !slices.Contains([]string{"none", "note", "warning", "error"}, *r.Level) {
			return fmt.Errorf("result %d: bad level", i)
		}
		if r.Message == nil || r.Message.Text == "" {
			return fmt.Errorf("result %d: no message text", i)
		}
		if len(r.Locations) == 0 || r.Locations[0].PhysicalLocation == nil ||
			r.Locations[0].PhysicalLocation.ArtifactLocation == nil || r.Locations[0].PhysicalLocation.Region == nil {
			return fmt.Errorf("result %d: no physical location", i)
		}
		loc := r.Locations[0].PhysicalLocation
		if u := loc.ArtifactLocation.URI; u == "" || u[0] == '/' {
			return fmt.Errorf("result %d: uri %q is not relative", i, u)
		}
		g := loc.Region
		if g.StartLine < 1 || g.StartColumn < 1 || g.EndLine < g.StartLine || (g.EndLine == g.StartLine && g.EndColumn < g.StartColumn) {
			return fmt.Errorf("result %d: bad region %+v", i, *g)
		}
		if len(r.PartialFingerprints) == 0 {
			return fmt.Errorf("result %d: no partialFingerprints", i)
		}
	}
	return nil
}

// TestPreCommitHooksFile keeps the copy of .pre-commit-hooks.yaml that
// scan_precommit.txtar installs equal to the one this repository ships.
func TestPreCommitHooksFile(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join("..", ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ar, err := txtar.ParseFile(filepath.Join("testdata", "scan_precommit.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ar.Files {
		if f.Name == "hooks/.pre-commit-hooks.yaml" {
			if !bytes.Equal(f.Data, shipped) {
				t.Fatal("scan_precommit.txtar's hooks/.pre-commit-hooks.yaml differs from ../.pre-commit-hooks.yaml")
			}
			return
		}
	}
	t.Fatal("scan_precommit.txtar has no hooks/.pre-commit-hooks.yaml")
}
