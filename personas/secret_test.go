package personas

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestRedact(t *testing.T) {
	const s = `pa"ss\wo<rd>&é`
	j, _ := json.Marshal(map[string]string{"password": s})
	tests := []struct{ msg, want string }{
		{"plain " + s, "plain [redacted]"},
		{fmt.Sprintf("quoted %q", s), `quoted "[redacted]"`},
		{"json " + string(j), `json {"password":"[redacted]"}`},
		{"nothing here", "nothing here"},
	}
	for _, tt := range tests {
		if got := redact(tt.msg, s); got != tt.want {
			t.Errorf("redact(%q) = %q; want %q", tt.msg, got, tt.want)
		}
	}
	if got := redact("kept", ""); got != "kept" {
		t.Errorf(`redact("kept", "") = %q; want "kept"`, got)
	}
}

func TestSecretFormatting(t *testing.T) {
	s := NewSecret("hunter2-hunter2")
	j, _ := json.Marshal(struct{ S Secret }{s})
	for _, got := range []string{fmt.Sprint(s), fmt.Sprintf("%#v", s), fmt.Sprintf("%+v", s), string(j), s.LogValue().String()} {
		if got != redacted && got != `{"S":"[redacted]"}` {
			t.Errorf("formatted secret = %q; want [redacted]", got)
		}
	}
	if got, want := s.Hash(), NewSecret("hunter2-hunter2").Hash(); got != want || len(got) != 12 {
		t.Errorf("Hash() = %q, %q; want equal 12-hex fingerprints", got, want)
	}
}
