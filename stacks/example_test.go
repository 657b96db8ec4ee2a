package stacks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/stacks"
)

func ExampleStart() {
	pop, err := personas.Generate(1, personas.GenerateOptions{Count: 20})
	if err != nil {
		panic(err)
	}
	drifts, err := stacks.ParseDrifts("refresh-not-rotated")
	if err != nil {
		panic(err)
	}
	pair, err := stacks.Start(context.Background(), stacks.Options{Population: pop, Drifts: drifts})
	if err != nil {
		panic(err)
	}
	defer pair.Close()

	resp, err := http.Get(pair.CandidateURL + "/.well-known/openid-configuration")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var disc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&disc); err != nil {
		panic(err)
	}
	fmt.Println(disc.Issuer == pair.CandidateURL, pair.Drifts, pair.IntrospectionClientSecret)
	// Output: true refresh-not-rotated [redacted]
}

func ExampleParseDrifts() {
	d, err := stacks.ParseDrifts("flaky-5xx=0.1, slow-token")
	fmt.Println(d, err)
	_, err = stacks.ParseDrifts("slow-tokens")
	fmt.Println(err != nil)
	// Output:
	// slow-token=40ms,flaky-5xx=0.1 <nil>
	// true
}
