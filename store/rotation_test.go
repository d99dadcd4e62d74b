package store

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"
)

// TestRotationKeepUndoFinish walks the safe order: rotate keeps the old
// value, undo brings it back with its facts, finish deletes it.
func TestRotationKeepUndoFinish(t *testing.T) {
	s, clock := newTestStore(t)
	added := mustAdd(t, s, "API_TOKEN", TypeToken, "first-value")

	clock.advance(24 * time.Hour)
	m, err := s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("second-value")), Rotate: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 2 || !m.Rotated.Equal(clock.now()) {
		t.Errorf("Rotate: version %d rotated %v", m.Version, m.Rotated)
	}
	if m.Previous == nil || m.Previous.Version != 1 || m.Previous.Type != TypeToken || !m.Previous.Rotated.IsZero() {
		t.Fatalf("Rotate kept %+v, want version 1 of type token never rotated", m.Previous)
	}
	// The kept value survives a reopen, and List shows that one is kept.
	o := reopen(t, s, testPass)
	got, err := o.Get("API_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Value.Equal(NewValue([]byte("second-value"))) || !got.PreviousValue.Equal(NewValue([]byte("first-value"))) {
		t.Error("after Rotate: not the new value with the old one kept")
	}
	metas, err := o.List()
	if err != nil || len(metas) != 1 || metas[0].Previous == nil {
		t.Fatalf("List after Rotate: %+v %v", metas, err)
	}

	// A second rotation before finishing is refused, whatever the value.
	_, err = s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("third-value")), Rotate: true})
	wantErr(t, "Rotate while a rotation is pending", err, ErrRotationPending, "API_TOKEN", "version 1")
	// A metadata update keeps the previous value.
	if _, err := s.Update("API_TOKEN", func(sec *Secret) error { sec.Description = "d"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get("API_TOKEN"); got.Previous == nil || !got.PreviousValue.Equal(NewValue([]byte("first-value"))) {
		t.Error("Update of the description dropped the previous value")
	}

	clock.advance(time.Hour)
	m, err = s.Edit("API_TOKEN", Edit{Undo: true})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get("API_TOKEN")
	if !got.Value.Equal(NewValue([]byte("first-value"))) || got.Previous != nil || !got.PreviousValue.IsZero() {
		t.Error("UndoRotation: not the first value back with nothing kept")
	}
	if m.Version != 4 || !m.Rotated.IsZero() || !m.Created.Equal(added.Created) || !m.Updated.Equal(clock.now()) {
		t.Errorf("UndoRotation meta: version %d rotated %v, want 4 and the first value's (zero) rotation time", m.Version, m.Rotated)
	}
	_, err = s.Edit("API_TOKEN", Edit{Undo: true})
	wantErr(t, "UndoRotation twice", err, ErrNoPrevious, "API_TOKEN")
	_, err = s.Edit("API_TOKEN", Edit{Finish: true})
	wantErr(t, "FinishRotation with nothing kept", err, ErrNoPrevious, "API_TOKEN")

	clock.advance(time.Hour)
	rotatedAt := clock.now()
	if _, err := s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("third-value")), Rotate: true}); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Hour)
	m, err = s.Edit("API_TOKEN", Edit{Finish: true})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get("API_TOKEN")
	if !got.Value.Equal(NewValue([]byte("third-value"))) || got.Previous != nil || !got.PreviousValue.IsZero() || m.Previous != nil {
		t.Error("FinishRotation: previous value still kept, or the value changed")
	}
	if !m.Rotated.Equal(rotatedAt) {
		t.Errorf("FinishRotation moved Rotated to %v, want the rotation's %v", m.Rotated, rotatedAt)
	}
	raw, err := os.ReadFile(itemPath(s, "API_TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("first-value")) || bytes.Contains(raw, []byte("second-value")) {
		t.Error("an old value is in the item file in clear")
	}

	// Rotating to the current value is refused; a missing secret is not found.
	_, err = s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("third-value")), Rotate: true})
	wantErr(t, "Rotate to the same value", err, ErrInvalidValue, "same")
	_, err = s.Edit("NO_SUCH_TOKEN", Edit{Undo: true})
	wantErr(t, "UndoRotation missing", err, ErrNotFound, "NO_SUCH_TOKEN")
}

// An undone key rotation restores the old key's type and SSH facts; the
// agent serves only the current key (Meta.SSH), never the kept one.
func TestRotationOfKeys(t *testing.T) {
	keys := testKeys(t)
	s, _ := newTestStore(t)
	if _, err := s.Add(Secret{Meta: Meta{Name: "DEPLOY_KEY", Type: TypeKey}, Value: NewValue(keys[0].pem)}); err != nil {
		t.Fatal(err)
	}
	m, err := s.Edit("DEPLOY_KEY", Edit{Value: NewValue(keys[1].pem), Rotate: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.SSH == nil || m.SSH.Fingerprint != keys[1].fprint || m.Previous == nil || m.Previous.SSH == nil || m.Previous.SSH.Fingerprint != keys[0].fprint {
		t.Fatalf("Rotate key: SSH %+v previous %+v", m.SSH, m.Previous)
	}
	// The previous key's facts are recomputed, not taken from the caller.
	m, err = s.Update("DEPLOY_KEY", func(sec *Secret) error {
		sec.Previous.SSH = &SSHKey{Fingerprint: "SHA256:forged"}
		return nil
	})
	if err != nil || m.Previous.SSH.Fingerprint != keys[0].fprint {
		t.Errorf("Update forged the previous key's facts: %+v %v", m.Previous, err)
	}
	// A type change keeps the previous value with its own type.
	m, err = s.Update("DEPLOY_KEY", func(sec *Secret) error {
		sec.Type, sec.Value = TypeFile, NewValue([]byte("file bytes"))
		return nil
	})
	if err != nil || m.SSH != nil || m.Previous == nil || m.Previous.Type != TypeKey {
		t.Fatalf("type change: %+v %v", m, err)
	}
	m, err = s.Edit("DEPLOY_KEY", Edit{Undo: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != TypeKey || m.SSH == nil || m.SSH.Fingerprint != keys[0].fprint {
		t.Errorf("UndoRotation of a key: type %s SSH %+v, want the first key back", m.Type, m.SSH)
	}
	got, _ := s.Get("DEPLOY_KEY")
	checkCanonical(t, "undone", keys[0], got.Value.Bytes(), got.SSH)
}

// The caller cannot plant a previous value that does not hold together.
func TestRotationValidation(t *testing.T) {
	s, _ := newTestStore(t)
	// Add ignores a previous value given with the secret.
	m, err := s.Add(Secret{Meta: Meta{Name: "API_TOKEN", Type: TypeToken, Previous: &PreviousMeta{Version: 1, Type: TypeToken}},
		Value: NewValue([]byte("value")), PreviousValue: NewValue([]byte("planted"))})
	if err != nil || m.Previous != nil {
		t.Fatalf("Add with a previous value: %+v %v", m.Previous, err)
	}
	if got, _ := s.Get("API_TOKEN"); !got.PreviousValue.IsZero() {
		t.Fatal("Add stored a previous value")
	}
	bad := map[string]func(*Secret){
		"value without description": func(sec *Secret) { sec.PreviousValue = NewValue([]byte("x")) },
		"empty previous token":      func(sec *Secret) { sec.Previous = &PreviousMeta{Version: 1, Type: TypeToken} },
		"version 0": func(sec *Secret) {
			sec.Previous, sec.PreviousValue = &PreviousMeta{Type: TypeToken}, NewValue([]byte("x"))
		},
		"newer version": func(sec *Secret) {
			sec.Previous, sec.PreviousValue = &PreviousMeta{Version: 9, Type: TypeToken}, NewValue([]byte("x"))
		},
		"bad type": func(sec *Secret) {
			sec.Previous, sec.PreviousValue = &PreviousMeta{Version: 1, Type: "banana"}, NewValue([]byte("x"))
		},
		"broken previous key": func(sec *Secret) {
			sec.Previous = &PreviousMeta{Version: 1, Type: TypeKey}
			sec.PreviousValue = NewValue([]byte("-----BEGIN OPENSSH PRIVATE KEY-----\nbroken\n"))
		},
	}
	for what, edit := range bad {
		_, err := s.Update("API_TOKEN", func(sec *Secret) error { edit(sec); return nil })
		if err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
	if got, _ := s.Get("API_TOKEN"); got.Version != 1 || got.Previous != nil {
		t.Errorf("refused updates changed the secret: version %d", got.Version)
	}
}

// The previous value is sealed with the same guarantees as the current
// one: a forged description, an item moved to another name, or a sealed
// previous value that disagrees with its description all fail to open.
func TestRotationIntegrity(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "API_TOKEN", TypeToken, "first-value")
	mustAdd(t, s, "OTHER_TOKEN", TypeToken, "other-value")
	if _, err := s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("second-value")), Rotate: true}); err != nil {
		t.Fatal(err)
	}
	item, err := os.ReadFile(itemPath(s, "API_TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(item, []byte("first-value")) {
		t.Fatal("the previous value is in the item in clear")
	}
	// Flip a byte of the ciphertext: the previous value is under the tag.
	var e envelope
	if err := json.Unmarshal(item, &e); err != nil {
		t.Fatal(err)
	}
	e.CT[len(e.CT)/2] ^= 1
	flipped, _ := json.Marshal(e)
	if err := os.WriteFile(itemPath(s, "OTHER_TOKEN"), item, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = s.Get("OTHER_TOKEN")
	wantErr(t, "item with a previous value under another name", err, ErrIntegrity, "OTHER_TOKEN")
	if err := os.WriteFile(itemPath(s, "API_TOKEN"), flipped, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = s.Get("API_TOKEN")
	wantErr(t, "flipped ciphertext", err, ErrIntegrity, "API_TOKEN")

	// Authentic seals whose plaintext does not hold together.
	g, id, err := s.reader()
	if err != nil {
		t.Fatal(err)
	}
	forged := map[string]Secret{
		"previous not older": {Meta: Meta{Name: "API_TOKEN", Type: TypeToken, Version: 2,
			Previous: &PreviousMeta{Version: 2, Type: TypeToken}}, Value: NewValue([]byte("v")), PreviousValue: NewValue([]byte("p"))},
		"value without description": {Meta: Meta{Name: "API_TOKEN", Type: TypeToken, Version: 2},
			Value: NewValue([]byte("v")), PreviousValue: NewValue([]byte("p"))},
		"previous of no type": {Meta: Meta{Name: "API_TOKEN", Type: TypeToken, Version: 2,
			Previous: &PreviousMeta{Version: 1, Type: "banana"}}, Value: NewValue([]byte("v")), PreviousValue: NewValue([]byte("p"))},
	}
	for what, sec := range forged {
		data, err := sealItem(g, id, sec)
		if err != nil {
			t.Fatal(err)
		}
		_, err = openItem(g, id, "API_TOKEN", data)
		wantErr(t, what, err, ErrIntegrity, "API_TOKEN")
	}

	// An item written before previous values existed still opens.
	data, err := sealItem(g, id, Secret{Meta: Meta{Name: "API_TOKEN", Type: TypeToken, Version: 3}, Value: NewValue([]byte("v"))})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := openItem(g, id, "API_TOKEN", data); err != nil || got.Previous != nil || !got.PreviousValue.IsZero() {
		t.Errorf("item without a previous value: %v", err)
	}
}

// Names needs no unlock: a locked store still tells which secrets exist.
func TestNamesLocked(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "B_TOKEN", TypeToken, "b")
	mustAdd(t, s, "A_TOKEN", TypeToken, "a")
	s.Lock()
	names, err := s.Names()
	if err != nil || len(names) != 2 || names[0] != "A_TOKEN" || names[1] != "B_TOKEN" {
		t.Errorf("Names of a locked store = %v, %v", names, err)
	}
}
