package browser_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/browser"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/stacks"
)

// A patient signs in to both embedded stacks in a real browser, out again, and the
// landing page then demands a login.
func ExampleRunner_Run() {
	ctx := context.Background()
	pop, err := personas.Generate(1, personas.GenerateOptions{Count: 10})
	if err != nil {
		log.Fatal(err)
	}
	pair, err := stacks.Start(ctx, stacks.Options{Population: pop})
	if err != nil {
		log.Fatal(err)
	}
	defer pair.Close()

	chromium, err := browser.Start(ctx, browser.Options{})
	if err != nil {
		log.Fatal(err) // names the install command when Chromium is missing
	}
	defer chromium.Close()
	r := browser.NewRunner(chromium, browser.RunnerOptions{Sites: map[record.Side]browser.Site{
		record.Legacy:    browser.LegacySite(pair.LegacyURL),
		record.Candidate: browser.PortalSite(pair.CandidateURL),
	}})
	patient := pop.ByKind(personas.Patient)[0]
	for _, side := range []record.Side{record.Legacy, record.Candidate} {
		r.Run(ctx, side, patient, journeys.Iteration{N: 1}, func(rec *record.Record) {
			fmt.Println(strings.TrimSpace(fmt.Sprint(rec.Side, " ", rec.Step, " ", rec.Outcome, " ", rec.Facts.Decision)))
		})
	}
	// Output:
	// legacy browser.navigate ok
	// legacy browser.login ok allow
	// legacy browser.logout ok allow
	// legacy browser.logout.probe ok deny
	// legacy browser.total ok
	// candidate browser.navigate ok
	// candidate browser.login ok allow
	// candidate browser.logout ok allow
	// candidate browser.logout.probe ok deny
	// candidate browser.total ok
}
