package browser

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// pages serves each path's HTML (path "/204" answers 204 No Content), and
// every other path a page that names it.
func pages(t *testing.T, html map[string]string) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/204" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		body, ok := html[r.URL.Path]
		if !ok {
			body = "<p>" + r.URL.Path + "</p>"
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<!doctype html><html><body>"+body+"</body></html>")
	}))
	t.Cleanup(ts.Close)
	return ts
}

// openTab opens a slot of the shared browser for one test, with a deadline.
func openTab(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	s, err := shared.openSlot(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	ctx, cancel := context.WithTimeout(s.tab, d)
	t.Cleanup(cancel)
	return ctx
}

// TestLoadAfter: a click that leads nowhere new ends as a click that loads a
// page does, not at the step's deadline: a single-page app's router changing
// the address (history.pushState), a link answered with 204 No Content.
func TestLoadAfter(t *testing.T) {
	ts := pages(t, map[string]string{
		"/app": `<a id="next" href="/next">next</a>` +
			`<button id="push" onclick="history.pushState({}, '', '/signed-out')">Sign out</button>` +
			`<a id="nothing" href="/204">nothing</a>`,
	})
	tests := []struct{ name, click, want string }{
		{"new document", "#next", "/next"},
		{"history.pushState", "#push", "/signed-out"},
		{"204 No Content", "#nothing", "/app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := openTab(t, 30*time.Second)
			if err := loadAfter(tab, goTo(ts.URL+"/app")); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(tab, 10*time.Second)
			defer cancel()
			if err := loadAfter(ctx, click(tt.click)); err != nil {
				t.Fatalf("loadAfter(click(%s)) = %v; want nil", tt.click, err)
			}
			pg, err := status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if u, _ := url.Parse(pg.URL); u == nil || u.Path != tt.want {
				t.Errorf("after click(%s), the page is at %s; want %s", tt.click, pg.URL, tt.want)
			}
		})
	}
}

// TestClick: click finds its control where a user would: below the fold of a
// page that scrolls smoothly, after fields its script renders late (filled, as
// the form sends them); and it says what covers a control it cannot reach.
func TestClick(t *testing.T) {
	const form = `<form id="f" action="/sent"><input name="username" id="username"><button id="go" type="submit">Go</button></form>`
	ts := pages(t, map[string]string{
		"/smooth": `<style>html { scroll-behavior: smooth }</style><div style="height: 3000px"></div>` + form,
		"/late": `<form id="f" action="/sent"><button id="go" type="submit">Go</button></form>` +
			`<script>setTimeout(() => { const i = document.createElement("input"); i.name = i.id = "username"; document.forms[0].prepend(i); }, 300)</script>`,
		"/covered": form + `<div id="overlay" class="modal open" style="position: fixed; inset: 0; background: #fff"></div>`,
	})
	fill := [2]string{"#username", "alice"}
	tests := []struct {
		name, page, wantURL, wantErr string
	}{
		{"below the fold, smooth scrolling", "/smooth", "/sent?username=alice", ""},
		{"fields rendered late", "/late", "/sent?username=alice", ""},
		{"covered", "/covered", "", "#go is covered by div#overlay.modal.open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := openTab(t, 30*time.Second)
			if err := loadAfter(tab, goTo(ts.URL+tt.page)); err != nil {
				t.Fatal(err)
			}
			// A covered control is reported at the deadline (an overlay may
			// fade out before): a short one.
			d := 10 * time.Second
			if tt.wantErr != "" {
				d = time.Second
			}
			ctx, cancel := context.WithTimeout(tab, d)
			defer cancel()
			err := loadAfter(ctx, click("#go", fill))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("click = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("click = %v; want the form sent", err)
			}
			pg, err := status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(pg.URL, tt.wantURL) {
				t.Errorf("after the click, the page is at %s; want %s", pg.URL, tt.wantURL)
			}
		})
	}
}
