package store

import (
	"testing"
	"time"
)

func TestRotationDue(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rotated := created.Add(10 * 24 * time.Hour)
	every := 90 * 24 * time.Hour
	tests := []struct {
		name string
		m    Meta
		due  time.Time
		ok   bool
	}{
		{"never rotated", Meta{Created: created, RotateEvery: every}, created.Add(every), true},
		{"rotated", Meta{Created: created, Rotated: rotated, RotateEvery: every}, rotated.Add(every), true},
		{"no period", Meta{Created: created}, time.Time{}, false},
		{"no date", Meta{RotateEvery: every}, time.Time{}, false},
	}
	for _, tt := range tests {
		due, ok := tt.m.RotationDue()
		if ok != tt.ok || !due.Equal(tt.due) {
			t.Errorf("%s: RotationDue() = %v, %v; want %v, %v", tt.name, due, ok, tt.due, tt.ok)
		}
	}
}
