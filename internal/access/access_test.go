package access

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	owner = 1000
	alice = 1001
	bob   = 1002
	carol = 1003
	dev   = 2000
	ops   = 2001
)

// fakeProc is /proc as the tests want it: pid -> identity.
type fakeProc map[int]Identity

func (f fakeProc) identify(pid, uid int) (Identity, error) {
	id, ok := f[pid]
	if !ok {
		return Identity{}, errors.New("no such process")
	}
	if id.UID != uid {
		return Identity{}, errors.New("another uid now")
	}
	return id, nil
}

func checker(gs *Grants, proc fakeProc, locked *bool) *Checker {
	return &Checker{
		Owner:    owner,
		Grants:   func() (Grants, error) { return *gs, nil },
		Identify: proc.identify,
		Locked:   func() bool { return *locked },
	}
}

// The role table: what each role may do, as README and the issue say.
func TestRoleTable(t *testing.T) {
	want := map[Role][]Action{
		None:  {},
		View:  {Connect, Status, Read},
		Edit:  {Connect, Status, Read, Use, Sign},
		Admin: {Connect, Status, Read, Use, Sign, Write, Lock, Share},
		Owner: {Connect, Status, Read, Use, Sign, Write, Lock, Unlock, Share, ShareAdmin, Passwd},
	}
	for role, allowed := range want {
		set := map[Action]bool{}
		for _, a := range allowed {
			set[a] = true
		}
		for a := Connect; a <= Passwd; a++ {
			if got := role.Allows(a); got != set[a] {
				t.Errorf("%s allows %s: %v, want %v", role, a, got, set[a])
			}
		}
	}
}

// SECURITY 58: view reads names only, edit uses and signs but cannot
// write or lock, admin does everything but unlock, share admin and
// passwd; the owner and root everything; revoking cuts the next request.
func TestCheckRoles(t *testing.T) {
	gs := Grants{
		{Kind: User, ID: alice, Name: "alice", Role: "view"},
		{Kind: User, ID: bob, Name: "bob", Role: "edit"},
		{Kind: Group, ID: ops, Name: "ops", Role: "admin"},
	}
	proc := fakeProc{
		11: {UID: alice, GIDs: []int{alice}},
		12: {UID: bob, GIDs: []int{bob, dev}},
		13: {UID: carol, GIDs: []int{carol, ops}},
		14: {UID: 1004, GIDs: []int{1004}},
	}
	locked := false
	c := checker(&gs, proc, &locked)
	cases := []struct {
		p    Peer
		a    Action
		role Role
		ok   bool
	}{
		{Peer{owner, 10}, Passwd, Owner, true},
		{Peer{0, 1}, ShareAdmin, Owner, true},
		{Peer{alice, 11}, Read, View, true},
		{Peer{alice, 11}, Use, View, false},
		{Peer{alice, 11}, Sign, View, false},
		{Peer{bob, 12}, Use, Edit, true},
		{Peer{bob, 12}, Sign, Edit, true},
		{Peer{bob, 12}, Write, Edit, false},
		{Peer{bob, 12}, Lock, Edit, false},
		{Peer{bob, 12}, Share, Edit, false},
		{Peer{carol, 13}, Write, Admin, true},
		{Peer{carol, 13}, Share, Admin, true},
		{Peer{carol, 13}, ShareAdmin, Admin, false},
		{Peer{carol, 13}, Unlock, Admin, false},
		{Peer{carol, 13}, Passwd, Admin, false},
		{Peer{1004, 14}, Connect, None, false},
		{Peer{alice, 99}, Connect, None, false}, // the process is gone
		{Peer{bob, 11}, Connect, None, false},   // pid 11 is alice's: reused
		{Peer{-1, -1}, Connect, None, false},
	}
	for _, tc := range cases {
		role, err := c.Check(tc.p, tc.a)
		if (err == nil) != tc.ok || role != tc.role {
			t.Errorf("uid %d pid %d %s: role %s, err %v; want %s, ok %v", tc.p.UID, tc.p.PID, tc.a, role, err, tc.role, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrDenied) {
			t.Errorf("uid %d %s: %v, want ErrDenied", tc.p.UID, tc.a, err)
		}
	}

	// Revoked: the next check refuses.
	gs = gs.Without(User, bob)
	if _, err := c.Check(Peer{bob, 12}, Use); !errors.Is(err, ErrDenied) {
		t.Fatalf("after revoking bob: %v", err)
	}
	// A group grant now gives bob a role: his groups are read again.
	gs, _ = gs.Set(Grant{Kind: Group, ID: dev, Name: "dev", Role: "view"})
	if role, err := c.Check(Peer{bob, 12}, Read); err != nil || role != View {
		t.Fatalf("bob through @dev: %s, %v", role, err)
	}
	proc[12] = Identity{UID: bob, GIDs: []int{bob}} // left the group
	if _, err := c.Check(Peer{bob, 12}, Read); !errors.Is(err, ErrDenied) {
		t.Fatalf("bob out of @dev: %v", err)
	}
}

// A user's own grant decides over the user's groups'; among groups the
// highest wins.
func TestRoleOfPrecedence(t *testing.T) {
	gs := Grants{
		{Kind: Group, ID: dev, Name: "dev", Role: "edit"},
		{Kind: Group, ID: ops, Name: "ops", Role: "admin"},
		{Kind: User, ID: alice, Name: "alice", Role: "view"},
	}
	if r := RoleOf(owner, gs, Identity{UID: alice, GIDs: []int{dev, ops}}); r != View {
		t.Errorf("alice: %s, want view (her own grant)", r)
	}
	if r := RoleOf(owner, gs, Identity{UID: bob, GIDs: []int{dev, ops}}); r != Admin {
		t.Errorf("bob: %s, want admin (his highest group)", r)
	}
	if r := RoleOf(owner, gs, Identity{UID: owner}); r != Owner {
		t.Errorf("owner: %s", r)
	}
}

// Guests never unlock: while locked, a guest is told to ask the owner;
// the owner is let through (its request unlocks or fails as locked).
func TestCheckLocked(t *testing.T) {
	gs := Grants{{Kind: User, ID: bob, Name: "bob", Role: "admin"}}
	locked := true
	c := checker(&gs, fakeProc{12: {UID: bob}}, &locked)
	if _, err := c.Check(Peer{bob, 12}, Use); !errors.Is(err, ErrGuestLocked) {
		t.Fatalf("guest while locked: %v", err)
	}
	if _, err := c.Check(Peer{bob, 12}, Status); err != nil {
		t.Fatalf("guest status while locked: %v", err)
	}
	if _, err := c.Check(Peer{bob, 12}, Unlock); !errors.Is(err, ErrDenied) {
		t.Fatalf("guest unlock: %v", err)
	}
	if _, err := c.Check(Peer{owner, 10}, Unlock); err != nil {
		t.Fatalf("owner unlock: %v", err)
	}
}

// Grants that cannot be read refuse every guest, never the owner.
func TestCheckFailsClosed(t *testing.T) {
	c := &Checker{Owner: owner, Identify: fakeProc{}.identify,
		Grants: func() (Grants, error) { return nil, ErrDamaged }}
	if _, err := c.Check(Peer{alice, 11}, Connect); !errors.Is(err, ErrDenied) {
		t.Fatalf("damaged grants: %v", err)
	}
	if _, err := c.Check(Peer{owner, 10}, Write); err != nil {
		t.Fatalf("owner with damaged grants: %v", err)
	}
	var zero Checker
	zero.Owner = owner
	if _, err := zero.Check(Peer{alice, 11}, Connect); !errors.Is(err, ErrDenied) {
		t.Fatalf("no grants source: %v", err)
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tsh\nUid:\t1001\t1001\t1001\t1001\nGid:\t1001\t1005\t1001\t1001\nGroups:\t2000 2001 \n"
	id, err := parseStatus([]byte(status), 1001)
	if err != nil {
		t.Fatal(err)
	}
	if id.UID != 1001 || len(id.GIDs) != 3 || id.GIDs[0] != 1005 || id.GIDs[2] != 2001 {
		t.Fatalf("identity %+v", id)
	}
	if _, err := parseStatus([]byte(status), 1002); err == nil {
		t.Fatal("another uid accepted")
	}
	for _, bad := range []string{"Uid:\t1001\n", "Uid:\tx y\nGid:\t1 1\nGroups:\n", "Uid:\t1001 1001\nGid:\t1 1\nGroups:\tz\n"} {
		if _, err := parseStatus([]byte(bad), 1001); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// This process, read for real.
	id, err = ProcIdentity(os.Getpid(), os.Geteuid())
	if err != nil || id.UID != os.Geteuid() || len(id.GIDs) == 0 || id.GIDs[0] != os.Getegid() {
		t.Fatalf("own identity %+v, %v", id, err)
	}
}

func TestParseSubjectAndRole(t *testing.T) {
	for in, want := range map[string]Kind{"alice": User, "@dev": Group} {
		k, _, err := ParseSubject(in)
		if err != nil || k != want {
			t.Errorf("%q: %s, %v", in, k, err)
		}
	}
	for _, bad := range []string{"", "@", "a b", "a/b", "@@x", "x:y"} {
		if _, _, err := ParseSubject(bad); !errors.Is(err, ErrInvalidGrant) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, bad := range []string{"owner", "none", "Admin", ""} {
		if _, err := ParseRole(bad); !errors.Is(err, ErrInvalidGrant) {
			t.Errorf("role %q: %v", bad, err)
		}
	}
}

// Grants are sealed: they open with the store's key and id only, and a
// change to the file refuses every guest.
func TestSealedFile(t *testing.T) {
	home := t.TempDir()
	key, err := KeyFrom(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := NewFile(home, "store-1")
	gs, err := f.Load(key)
	if err != nil || len(gs) != 0 {
		t.Fatalf("no file: %v, %v", gs, err)
	}
	gs, err = f.Update(key, func(gs Grants) (Grants, error) {
		return gs.Set(Grant{Kind: User, ID: alice, Name: "alice", Role: "edit"})
	})
	if err != nil || len(gs) != 1 {
		t.Fatalf("update: %v, %v", gs, err)
	}
	data, err := os.ReadFile(filepath.Join(home, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(home, FileName)); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	for _, word := range []string{"alice", "edit"} {
		if strings.Contains(string(data), word) {
			t.Errorf("sealed file shows %q", word)
		}
	}
	// Another reader (the agent) sees it; locked, it keeps what it read.
	g := NewFile(home, "store-1")
	if gs, err := g.Load(key); err != nil || gs[0].Role != "edit" {
		t.Fatalf("load: %v, %v", gs, err)
	}
	if gs, err := g.Load(nil); err != nil || len(gs) != 1 {
		t.Fatalf("load unchanged while locked: %v, %v", gs, err)
	}
	// Changed behind its back while locked: guests are told it is locked.
	if _, err := f.Update(key, func(gs Grants) (Grants, error) { return gs.Without(User, alice), nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Load(nil); !errors.Is(err, ErrGuestLocked) {
		t.Fatalf("changed while locked: %v", err)
	}
	if gs, err := g.Load(key); err != nil || len(gs) != 0 {
		t.Fatalf("revoked: %v, %v", gs, err)
	}
	// Another store's key or id, or a flipped byte: damaged.
	if _, err := NewFile(home, "store-2").Load(key); !errors.Is(err, ErrDamaged) {
		t.Fatalf("other store id: %v", err)
	}
	other, _ := KeyFrom(make([]byte, 31))
	if _, err := NewFile(home, "store-1").Load(other); !errors.Is(err, ErrDamaged) {
		t.Fatalf("other key: %v", err)
	}
	data, _ = os.ReadFile(filepath.Join(home, FileName))
	if _, err := Open(key, "store-1", append(append([]byte(nil), data...), " {}"...)); !errors.Is(err, ErrDamaged) {
		t.Fatalf("data after the grants: %v", err)
	}
	data[len(data)-5] ^= 1
	os.WriteFile(filepath.Join(home, FileName), data, 0o600)
	if _, err := NewFile(home, "store-1").Load(key); !errors.Is(err, ErrDamaged) {
		t.Fatalf("flipped byte: %v", err)
	}
}

// Who may change which grant: admin needs the owner; edit and view share
// nothing; the owner and root are never granted a role.
func TestChange(t *testing.T) {
	gs := Grants{{Kind: User, ID: alice, Name: "alice", Role: "admin"}}
	edit := Grant{Kind: User, ID: bob, Name: "bob", Role: "edit"}
	if out, _, err := Change(gs, Admin, edit, false, owner); err != nil || len(out) != 2 {
		t.Fatalf("admin shares edit: %v %v", out, err)
	}
	for _, by := range []Role{View, Edit} {
		if _, _, err := Change(gs, by, edit, false, owner); !errors.Is(err, ErrDenied) {
			t.Errorf("%s shares: %v", by, err)
		}
	}
	admin := Grant{Kind: User, ID: bob, Name: "bob", Role: "admin"}
	if _, _, err := Change(gs, Admin, admin, false, owner); !errors.Is(err, ErrDenied) {
		t.Errorf("admin grants admin: %v", err)
	}
	if _, _, err := Change(gs, Admin, Grant{Kind: User, ID: alice, Name: "alice"}, true, owner); !errors.Is(err, ErrDenied) {
		t.Errorf("admin revokes an admin: %v", err)
	}
	out, prev, err := Change(gs, Owner, Grant{Kind: User, ID: alice, Name: "alice"}, true, owner)
	if err != nil || len(out) != 0 || prev.Role != "admin" {
		t.Errorf("owner revokes admin: %v %v %v", out, prev, err)
	}
	if _, _, err := Change(gs, Owner, Grant{Kind: User, ID: carol, Name: "carol"}, true, owner); !errors.Is(err, ErrNotGranted) {
		t.Errorf("revoke of nobody: %v", err)
	}
	for _, id := range []int{owner, 0} {
		if _, _, err := Change(gs, Owner, Grant{Kind: User, ID: id, Name: "x", Role: "view"}, false, owner); !errors.Is(err, ErrInvalidGrant) {
			t.Errorf("grant to uid %d: %v", id, err)
		}
	}
}

// Grants changed while the workspace is locked cannot be read: guests are
// told it is locked.
func TestCheckGrantsLocked(t *testing.T) {
	c := &Checker{Owner: owner, Identify: fakeProc{11: {UID: alice}}.identify,
		Grants: func() (Grants, error) { return nil, ErrGuestLocked }}
	if _, err := c.Check(Peer{alice, 11}, Read); !errors.Is(err, ErrGuestLocked) {
		t.Fatalf("%v", err)
	}
}

// The check's cost per request: the owner's (the uid alone) and a
// guest's (a stat of the grants file and a read of /proc/PID/status).
func BenchmarkCheck(b *testing.B) {
	home := b.TempDir()
	key, _ := KeyFrom(make([]byte, 32))
	f := NewFile(home, "s")
	me := os.Geteuid()
	if _, err := f.Update(key, func(gs Grants) (Grants, error) {
		return gs.Set(Grant{Kind: User, ID: me, Name: "me", Role: "edit"})
	}); err != nil {
		b.Fatal(err)
	}
	c := &Checker{Owner: me, Grants: func() (Grants, error) { return f.Load(key) }, Identify: ProcIdentity}
	b.Run("owner", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.Check(Peer{me, os.Getpid()}, Use); err != nil {
				b.Fatal(err)
			}
		}
	})
	guest := *c
	guest.Owner = me + 1 // this process as a guest (root stays the owner)
	if me == 0 {
		b.Skip("root is always the owner")
	}
	b.Run("guest", func(b *testing.B) {
		for b.Loop() {
			if _, err := guest.Check(Peer{me, os.Getpid()}, Use); err != nil {
				b.Fatal(err)
			}
		}
	})
}
