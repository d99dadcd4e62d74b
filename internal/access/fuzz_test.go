package access

import (
	"errors"
	"testing"
)

// FuzzOpen: whatever the grants file holds, Open refuses it with
// ErrDamaged or returns grants that pass their checks; /proc status text
// never panics the parser.
func FuzzOpen(f *testing.F) {
	key, _ := KeyFrom(make([]byte, 32))
	good, err := Seal(key, "s", Grants{{Kind: User, ID: 1001, Name: "alice", Role: "edit"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"v":1,"nonce":"","ct":""}`))
	f.Add([]byte("Uid:\t1 1 1 1\nGid:\t2 2 2 2\nGroups:\t3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		gs, err := Open(key, "s", data)
		if err != nil && !errors.Is(err, ErrDamaged) {
			t.Fatalf("error %v is not ErrDamaged", err)
		}
		if err == nil {
			if cerr := gs.check(); cerr != nil {
				t.Fatalf("opened grants fail their checks: %v", cerr)
			}
		}
		parseStatus(data, 1)
	})
}
