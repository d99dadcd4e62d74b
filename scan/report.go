package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteText prints one line per finding:
//
//	config.js:3:9  GITHUB_TOKEN  token = "***"
//	0a1b2c3d:deploy.sh:12:5  aws-access-key-id  export AWS_ACCESS_KEY_ID=AKIA***
//
// a history finding led by its commit, as `git grep` does.
func WriteText(w io.Writer, res Result) error {
	for _, f := range res.Findings {
		loc := fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
		if f.Commit != "" {
			loc = shortCommit(f.Commit) + ":" + loc
		}
		name := f.Name()
		if f.Previous {
			name += " (previous value)"
		}
		if _, err := fmt.Fprintf(w, "%s  %s  %s\n", loc, name, f.Preview); err != nil {
			return err
		}
	}
	return nil
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// WriteJSON prints res as one JSON object: {"findings": [...], "files":
// N, ...}. Fields are only ever added.
func WriteJSON(w io.Writer, res Result) error {
	if res.Findings == nil {
		res.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// SARIF 2.1.0, the parts wsx fills in.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		InformationURI string      `json:"informationUri"`
		Version        string      `json:"version,omitempty"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID               string       `json:"id"`
		Name             string       `json:"name,omitempty"`
		ShortDescription sarifMessage `json:"shortDescription"`
		DefaultConfig    sarifConfig  `json:"defaultConfiguration"`
	}
	sarifConfig struct {
		Level string `json:"level"`
	}
	sarifMessage struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             sarifMessage      `json:"message"`
		Locations           []sarifLocation   `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           sarifRegion   `json:"region"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine   int           `json:"startLine"`
		StartColumn int           `json:"startColumn"`
		EndLine     int           `json:"endLine"`
		EndColumn   int           `json:"endColumn"`
		Snippet     *sarifMessage `json:"snippet,omitempty"`
	}
)

// SARIFSchema is the schema a SARIF log names.
const SARIFSchema = "https://json.schemastore.org/sarif-2.1.0.json"

// WriteSARIF prints res as a SARIF 2.1.0 log, for code scanning in CI.
// Stored secrets share the rule StoredRule; the message names the secret.
func WriteSARIF(w io.Writer, res Result, version string) error {
	rules := []sarifRule{{
		ID: StoredRule, Name: "StoredSecret",
		ShortDescription: sarifMessage{"a value kept in the wsx store"},
		DefaultConfig:    sarifConfig{"error"},
	}}
	index := map[string]int{StoredRule: 0}
	for _, r := range Rules() {
		index[r.ID] = len(rules)
		rules = append(rules, sarifRule{ID: r.ID, ShortDescription: sarifMessage{r.Description}, DefaultConfig: sarifConfig{"error"}})
	}
	results := []sarifResult{}
	for _, f := range res.Findings {
		i, ok := index[f.Rule]
		if !ok {
			continue
		}
		msg := "known secret format " + f.Rule + " found"
		if f.Secret != "" {
			msg = "stored secret " + f.Secret + " found; rotate it (wsx rotate " + f.Secret + ") if this was ever pushed"
			if f.Previous {
				msg = "the previous value of stored secret " + f.Secret + " found"
			}
		}
		if f.Commit != "" {
			msg += " (added in commit " + f.Commit + ")"
		}
		results = append(results, sarifResult{
			RuleID: f.Rule, RuleIndex: i, Level: "error",
			Message: sarifMessage{msg},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: uriPath(f.File)},
				Region: sarifRegion{StartLine: f.Line, StartColumn: f.Column, EndLine: f.EndLine, EndColumn: f.EndColumn,
					Snippet: &sarifMessage{f.Preview}},
			}}},
			PartialFingerprints: map[string]string{"wsx/v1": f.Fingerprint},
		})
	}
	log := sarifLog{
		Schema: SARIFSchema, Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:    sarifTool{Driver: sarifDriver{Name: "wsx", InformationURI: "https://github.com/wsxdev/wsx", Version: version, Rules: rules}},
			Results: results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// uriPath escapes a relative / separated path for a SARIF uri.
func uriPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < 0x21 || c >= 0x7f || slices.Contains([]byte(`"%<>\^`+"`"+`{|}#?`), c) {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
