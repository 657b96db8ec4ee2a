package hydra_test

import (
	"context"
	"fmt"

	"github.com/cutover-dev/cutover/integration/hydra"
	"github.com/cutover-dev/cutover/personas"
)

// ExampleStart starts Hydra with one user and registers a service account. The
// client prints without its secret.
func ExampleStart() {
	ctx := context.Background()
	s, err := hydra.Start(ctx, hydra.Options{
		AccessTokens: hydra.JWT,
		Users: []hydra.User{{
			ID: "clinician-00001", Username: "dr.grey",
			Password: personas.NewSecret("correct horse battery"),
			Roles:    []string{"clinician"},
		}},
	})
	if err != nil {
		fmt.Println(err) // names integration/hydra/build.sh when the binary is missing
		return
	}
	defer s.Close()

	c, err := s.CreateClient(ctx, hydra.ServiceClient("lab-feed", personas.NewSecret("s3cret-lab-feed"), "lab-results:read"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c)
	// Output: client lab-feed (auth client_secret_basic, grants client_credentials, scopes lab-results:read)
}
