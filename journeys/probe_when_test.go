package journeys

import (
	"testing"

	"github.com/cutover-dev/cutover/personas"
)

// TestProbeRowsNarrowedByFacts: two service accounts of one kind with opposite
// rights each get their own row, and the rows never share a record target.
func TestProbeRowsNarrowedByFacts(t *testing.T) {
	lab := personas.Persona{ID: "s1", Kind: personas.Service, Permissions: []string{"labs.feed.read"}, Cohort: personas.Cohort{Wave: "wave-1", HashScheme: "bcrypt"}}
	export := personas.Persona{ID: "s2", Kind: personas.Service, Permissions: []string{"analytics.export"}, Attributes: map[string]string{"site": "north"}}
	feed := Probe{Kind: personas.Service, Action: "read", Resource: "labs:any", Expect: "allow", When: map[string]string{"permission": "labs.feed.read"}}
	noFeed := Probe{Kind: personas.Service, Action: "read", Resource: "labs:any", Expect: "deny", When: map[string]string{"permission": "!labs.feed.read"}}
	for _, tt := range []struct {
		p    Probe
		who  personas.Persona
		want bool
	}{
		{feed, lab, true}, {feed, export, false}, {noFeed, lab, false}, {noFeed, export, true},
		{Probe{Kind: personas.Service, When: map[string]string{"site": "north"}}, export, true},
		{Probe{Kind: personas.Service, When: map[string]string{"site": "north"}}, lab, false},
		{Probe{Kind: personas.Service, When: map[string]string{"wave": "wave-1", "hash_scheme": "bcrypt"}}, lab, true},
		{Probe{Kind: personas.Service, When: map[string]string{"cohort": "wave-1/bcrypt"}}, lab, true},
		{Probe{Kind: personas.Service, When: map[string]string{"break_glass": "False"}}, lab, true},
		{Probe{Kind: personas.Patient}, lab, false},
	} {
		if got := tt.p.Applies(tt.who); got != tt.want {
			t.Errorf("row %+v applies to %s: %t; want %t", tt.p.When, tt.who.ID, got, tt.want)
		}
	}
	if feed.Target() == noFeed.Target() || feed.Target() != "read labs:any when permission=labs.feed.read" {
		t.Errorf("targets %q and %q; want them apart, naming the facts", feed.Target(), noFeed.Target())
	}
}
