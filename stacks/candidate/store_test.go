package candidate

import (
	"testing"
	"time"
)

func TestPruneForgetsOnlyDeadState(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := New(Config{Issuer: "http://127.0.0.1:1", Now: func() time.Time { return now }})
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	s.tokens.grants["live"] = &grant{id: "live", expires: future, jtis: []string{"a-live", "a-dead"}}
	s.tokens.grants["old"] = &grant{id: "old", expires: past}
	s.tokens.access["a-live"] = &accessToken{grant: "live", expires: future}
	s.tokens.access["a-dead"] = &accessToken{grant: "live", expires: past}
	s.tokens.refresh[digest("r-live")] = &refreshToken{grant: "live"}
	s.tokens.refresh[digest("r-old")] = &refreshToken{grant: "old"}
	s.tokens.codes["c"] = &code{authRequest: authRequest{expires: past}}
	s.tokens.sessions["s"] = &ssoSession{expires: past}
	s.prune(now)
	checks := []struct {
		what      string
		got, want bool
	}{
		{"live grant", s.tokens.grants["live"] != nil, true},
		{"expired grant", s.tokens.grants["old"] != nil, false},
		{"live access token", s.tokens.access["a-live"] != nil, true},
		{"expired access token", s.tokens.access["a-dead"] != nil, false},
		{"refresh token of the live grant", s.tokens.refresh[digest("r-live")] != nil, true},
		{"refresh token of the expired grant", s.tokens.refresh[digest("r-old")] != nil, false},
		{"expired code", s.tokens.codes["c"] != nil, false},
		{"expired session", s.tokens.sessions["s"] != nil, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("after prune, %s kept = %t; want %t", c.what, c.got, c.want)
		}
	}
	if got := s.tokens.grants["live"].jtis; len(got) != 1 || got[0] != "a-live" {
		t.Errorf("live grant jtis = %v; want [a-live]", got)
	}
}
