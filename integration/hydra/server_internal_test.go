package hydra

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gone reports whether no process of pid's group is left.
func gone(pid int) bool {
	return errors.Is(syscall.Kill(-pid, 0), syscall.ESRCH)
}

// waitClosed waits, within a deadline, for s to finish closing.
func waitClosed(t *testing.T, s *Server) {
	t.Helper()
	select {
	case <-s.closed:
	case <-time.After(30 * time.Second):
		t.Fatal("server not closed 30s after its context was cancelled")
	}
}

// TestCloseLeavesNoProcess stops a real Hydra both ways and checks its process group
// is gone and its configuration (which holds the secrets) removed.
func TestCloseLeavesNoProcess(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(*testing.T, *Server, context.CancelFunc)
	}{
		{"Close", func(t *testing.T, s *Server, _ context.CancelFunc) {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		}},
		{"context cancelled", func(t *testing.T, s *Server, cancel context.CancelFunc) {
			cancel()
			waitClosed(t, s)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			s, err := Start(ctx, Options{})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			pid := s.cmd.Process.Pid
			if gone(pid) {
				t.Fatalf("hydra (pid %d) not running after Start", pid)
			}
			tc.stop(t, s, cancel)
			if !gone(pid) {
				t.Errorf("process group %d still alive after stop", pid)
			}
			if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
				t.Errorf("work dir %s still there after stop (err %v)", s.dir, err)
			}
			if resp, err := s.http.Get(s.LoginURL + pathLoggedOut); err == nil {
				resp.Body.Close()
				t.Errorf("login app still answers after stop")
			}
		})
	}
}

// fakeHydra writes an executable shell script standing in for hydra and returns its
// path. The script may start children of its own.
func fakeHydra(t *testing.T, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hydra")
	// The migration before serve succeeds; the script plays serve.
	if err := os.WriteFile(p, []byte("#!/bin/sh\n[ \"$1\" = migrate ] && exit 0\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStartFailures checks Start's errors and that a failed start leaves nothing
// behind, including children of the process.
func TestStartFailures(t *testing.T) {
	childPID := filepath.Join(t.TempDir(), "child.pid")
	for _, tc := range []struct {
		name    string
		opt     func() Options
		want    []string // substrings of the error
		wantErr error
		child   bool // the fake started a child whose pid is in childPID
	}{
		{
			name:    "missing binary",
			opt:     func() Options { return Options{Binary: filepath.Join(t.TempDir(), "nope")} },
			want:    []string{"integration/hydra/build.sh"},
			wantErr: ErrNoBinary,
		},
		{
			name: "not executable",
			opt: func() Options {
				p := filepath.Join(t.TempDir(), "hydra")
				os.WriteFile(p, nil, 0o644)
				return Options{Binary: p}
			},
			want:    []string{"not an executable", "build.sh --force"},
			wantErr: ErrNoBinary,
		},
		{
			name: "exits at once",
			opt:  func() Options { return Options{Binary: fakeHydra(t, `echo "bad config: no such key" >&2; exit 3`)} },
			want: []string{"exited before ready", "bad config: no such key"},
		},
		{
			name: "never ready",
			opt: func() Options {
				return Options{
					Binary:       fakeHydra(t, `sleep 600 & echo $! > `+childPID+`; echo starting; wait`),
					StartTimeout: 300 * time.Millisecond,
				}
			},
			want:  []string{"not ready", "/health/ready", "starting"},
			child: true,
		},
		{
			name: "invalid options",
			opt: func() Options {
				return Options{AccessTokens: "paseto", RotationGracePeriod: time.Hour, Users: []User{{ID: "a"}, {ID: "a"}}}
			},
			want: []string{"paseto", "grace period", `duplicate id "a"`, "empty password", "empty username"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(childPID)
			s, err := Start(t.Context(), tc.opt())
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded; want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Start error %q does not mention %q", err, w)
				}
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Start error %v is not %v", err, tc.wantErr)
			}
			if !tc.child {
				return
			}
			b, rerr := os.ReadFile(childPID)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			if rerr != nil || pid == 0 {
				t.Fatalf("the fake hydra wrote no child pid (%v)", rerr)
			}
			// The child was killed with its group; it may linger as a zombie until its
			// parent's reaper (init) collects it, so look at its state, not its pid.
			if !diesWithin(pid, 10*time.Second) {
				t.Errorf("child process %d of the fake hydra survived the failed start", pid)
			}
		})
	}
}

// alive reports whether pid is a process that is neither gone nor a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state is the field after the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

// diesWithin polls, up to a deadline, until pid is no longer alive: a SIGKILLed
// process takes a moment to finish exiting.
func diesWithin(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for alive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
