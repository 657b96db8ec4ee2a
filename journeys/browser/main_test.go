package browser

import (
	"context"
	"crypto/rand"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/stacks"
)

// The test binary shares one browser (a tab per test) and one population; the
// stacks are cheap and each test that needs a drift starts its own pair.
var (
	shared *Chromium
	pop    personas.Population
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	pop, err = personas.Generate(7, personas.GenerateOptions{Count: 40, LegacySHA256Share: 0.5})
	if err != nil {
		fmt.Fprintln(os.Stderr, "personas:", err)
		return 2
	}
	// A missing browser fails the tests: it is never a skip.
	shared, err = Start(context.Background(), Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer shared.Close()
	return m.Run()
}

// startStacks starts the embedded stacks with the drifts named (none: "").
func startStacks(t testing.TB, drifts string) *stacks.Pair {
	t.Helper()
	d, err := stacks.ParseDrifts(drifts)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := stacks.Start(t.Context(), stacks.Options{Population: pop, Drifts: d})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pair.Close() })
	return pair
}

// sites is how the browser meets the embedded stacks.
func sites(pair *stacks.Pair) map[record.Side]Site {
	return map[record.Side]Site{record.Legacy: LegacySite(pair.LegacyURL), record.Candidate: PortalSite(pair.CandidateURL)}
}

// recorder collects records from concurrent journeys.
type recorder struct {
	mu   sync.Mutex
	recs []*record.Record
}

func (r *recorder) emit(rec *record.Record) {
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
}

// find returns the record of persona, side and step, or nil.
func (r *recorder) find(persona string, side record.Side, step string) *record.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.recs {
		if rec.Persona == persona && rec.Side == side && rec.Step == step {
			return rec
		}
	}
	return nil
}

// findings compares everything recorded.
func (r *recorder) findings() []analysis.Finding {
	c := analysis.NewComparer(analysis.CompareOptions{})
	r.mu.Lock()
	for _, rec := range r.recs {
		c.Add(rec)
	}
	r.mu.Unlock()
	return c.Findings()
}

// both runs persona p's browser journey on both sides at once, as a rehearsal does.
func both(ctx context.Context, r *Runner, p personas.Persona, n uint64, emit func(*record.Record)) {
	var wg sync.WaitGroup
	for _, side := range []record.Side{record.Legacy, record.Candidate} {
		wg.Go(func() { r.Run(ctx, side, p, journeys.Iteration{N: n}, emit) })
	}
	wg.Wait()
}

// humans returns n human personas of the population, of varied kinds, whose legacy
// hash is scheme ("" any).
func humans(n int, scheme string) []personas.Persona {
	var out []personas.Persona
	for _, k := range personas.Kinds {
		for _, p := range pop.ByKind(k) {
			if p.Human() && (scheme == "" || p.Cohort.HashScheme == scheme) &&
				!slices.ContainsFunc(out, func(q personas.Persona) bool { return q.Kind == p.Kind }) {
				out = append(out, p)
			}
		}
	}
	for _, p := range pop.Personas {
		if len(out) >= n {
			break
		}
		if p.Human() && (scheme == "" || p.Cohort.HashScheme == scheme) && !slices.ContainsFunc(out, func(q personas.Persona) bool { return q.ID == p.ID }) {
			out = append(out, p)
		}
	}
	return out[:min(n, len(out))]
}

// fakeStack is a stack of a few pages for one persona, for the ways of signing
// out and the pages the embedded stacks do not have. /start shows the login
// form, which signs the persona in with a session cookie; /home greets a
// signed-in persona (with the page's extra HTML) and shows the login form to
// anyone else; the sign-out posts to /logout, which answers with the page
// logout when set (it must lead on to /end-session by itself), else redirects
// to /end-session; /end-session ends the session and redirects to /bye.
type fakeStack struct {
	site Site
	mu   sync.Mutex
	live map[string]bool // session cookies signed in
	ends int             // sign-outs that reached /end-session
}

// startFake starts a fakeStack for p; see fakeStack for extra and logout.
func startFake(t *testing.T, p personas.Persona, extra, logout string) *fakeStack {
	t.Helper()
	fs := &fakeStack{live: map[string]bool{}}
	page := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<!doctype html><html><body>"+body+"</body></html>")
	}
	const form = `<form id="login-form" method="post" action="/login"><input name="username"><input name="password" type="password"><button type="submit">Sign in</button></form>`
	signedIn := func(r *http.Request) bool {
		ck, err := r.Cookie("sid")
		fs.mu.Lock()
		defer fs.mu.Unlock()
		return err == nil && fs.live[ck.Value]
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", func(w http.ResponseWriter, _ *http.Request) { page(w, form) })
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("username") != p.Username || r.PostFormValue("password") != p.Secret.Reveal() {
			page(w, form+`<p id="error">Invalid username or password.</p>`)
			return
		}
		sid := rand.Text()
		fs.mu.Lock()
		fs.live[sid] = true
		fs.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true})
		http.Redirect(w, r, "/home", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /home", func(w http.ResponseWriter, r *http.Request) {
		if !signedIn(r) {
			page(w, form)
			return
		}
		page(w, `<h1 id="welcome">Welcome, `+html.EscapeString(p.Name)+`</h1>`+extra+
			`<form id="logout-form" method="post" action="/logout"><button type="submit">Sign out</button></form>`)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if logout != "" {
			page(w, logout)
			return
		}
		http.Redirect(w, r, "/end-session", http.StatusSeeOther)
	})
	mux.HandleFunc("/end-session", func(w http.ResponseWriter, r *http.Request) {
		if ck, err := r.Cookie("sid"); err == nil {
			fs.mu.Lock()
			delete(fs.live, ck.Value)
			fs.ends++
			fs.mu.Unlock()
		}
		http.Redirect(w, r, "/bye", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /bye", func(w http.ResponseWriter, _ *http.Request) { page(w, "<p>Signed out.</p>") })
	mux.HandleFunc("GET /blank", func(w http.ResponseWriter, _ *http.Request) { page(w, "") })
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	site, err := Site{Start: "/start", Landing: "/home"}.Resolve(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	fs.site = site
	return fs
}

// ended returns how many sign-outs reached /end-session.
func (fs *fakeStack) ended() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.ends
}
