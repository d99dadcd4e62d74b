package audit

import (
	"testing"
	"time"
)

func TestFetchedLine(t *testing.T) {
	at := time.Date(2024, 6, 12, 14, 31, 1, 0, time.UTC)
	for _, tc := range []struct {
		r    Record
		want string
	}{
		{Record{Seq: 1, Time: at, Event: EventFetched, Secret: "DATABASE_URL", Via: ViaCLI, Result: ResultOK, Detail: "vault secret/app v3"},
			"2024-06-12 14:31:01 - Secret fetched: DATABASE_URL (vault secret/app v3)"},
		{Record{Seq: 1, Time: at, Event: EventFetched, Secret: "DATABASE_URL", Via: ViaExec, Result: ResultError, Detail: "failed: vault secret/app: refused\x1b[2J",
			Context: &Context{Command: "wsx exec"}},
			`2024-06-12 14:31:01 - Secret fetched: DATABASE_URL (failed: vault secret/app: refused\x1b[2J)`},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
		if err := validate(tc.r); err != nil {
			t.Errorf("a fetched record does not validate: %v", err)
		}
	}
}
