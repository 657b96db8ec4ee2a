package lockout

import (
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := New(3, time.Minute, func() time.Time { return now })
	steps := []struct {
		do         string
		advance    time.Duration
		wantLocked bool
	}{
		{"fail", 0, false},
		{"fail", 0, false},
		{"fail", 0, true},
		{"check", 59 * time.Second, true},
		{"check", time.Second, false},
		{"fail", 0, false}, // counting starts afresh after a lock ran out
		{"reset", 0, false},
		{"fail", 0, false},
		{"fail", 0, false},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		switch s.do {
		case "fail":
			tr.Fail("u")
		case "reset":
			tr.Reset("u")
		}
		if got := tr.Locked("u"); got != s.wantLocked {
			t.Errorf("step %d (%s): Locked = %t; want %t", i, s.do, got, s.wantLocked)
		}
	}
	if tr.Locked("other") {
		t.Error("Locked(other) = true; want keys independent")
	}
}

func TestDisabled(t *testing.T) {
	tr := New(0, time.Minute, time.Now)
	for range 10 {
		if tr.Fail("u") {
			t.Fatal("Fail with threshold 0 locked; want never")
		}
	}
}
