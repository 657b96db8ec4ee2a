// Command peers is the Go half of cutover's peer benchmark (`make bench-peers`,
// driven by run.sh beside it): it measures a load generator's process and turns
// the runs of cutover, Locust, Artillery and vegeta into one table.
//
//	peers creds   -accounts FILE -secrets FILE -out FILE
//	                                             the accounts' usernames and passwords, as CSV, for the peers
//	peers token   -issuer URL -client-id ID -secret-file FILE -scope S
//	                                             a client_credentials access token (for SCIM provisioning)
//	peers measure -out FILE -port P -load D -- CMD [ARG...]
//	                                             run CMD, and write its CPU, peak RSS and the load average
//	peers wire    -out FILE -port P -- CMD [ARG...]
//	                                             run CMD, counting on the wire the HTTP requests sent to P
//	peers tally   DIR                            DIR/runs/* into DIR/results.md and DIR/results.json
//
// It is a benchmark tool, not part of cutover: nothing imports it, and it
// imports nothing of cutover: it reads the files cutover and the tools write.
package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		var ee exitError
		if errors.As(err, &ee) && ee.code > 0 {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}

const usage = "want creds, token, measure, wire or tally (see bench/peers/main.go)"

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "creds":
		return creds(args[1:])
	case "token":
		return token(args[1:], stdout)
	case "measure":
		return measure(args[1:])
	case "wire":
		return wire(args[1:])
	case "tally":
		return tally(args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q; %s", args[0], usage)
}

// creds writes the usernames and passwords of the accounts file `cutover
// personas generate --secret-ref file:SECRETS` wrote, joined with SECRETS by
// persona id, to a CSV file only its owner reads: the peers sign in with them.
func creds(args []string) error {
	fs := flag.NewFlagSet("creds", flag.ContinueOnError)
	accounts := fs.String("accounts", "", "accounts file (JSONL) of `cutover personas generate`")
	secrets := fs.String("secrets", "", "its secrets file (JSON: persona id to password)")
	out := fs.String("out", "", "CSV file to write (mode 0600)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *accounts == "" || *secrets == "" || *out == "" {
		return errors.New("creds: want -accounts FILE -secrets FILE -out FILE")
	}
	rows, err := readCreds(*accounts, *secrets)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(f)
	_ = cw.Write([]string{"username", "password"})
	_ = cw.WriteAll(rows)
	if err := cw.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readCreds returns a row of username and password for every human persona
// of the accounts file, in its order.
func readCreds(accountsPath, secretsPath string) ([][]string, error) {
	data, err := os.ReadFile(secretsPath)
	if err != nil {
		return nil, err
	}
	var secrets map[string]string
	if err := json.Unmarshal(data, &secrets); err != nil {
		return nil, fmt.Errorf("creds: %s: %w", secretsPath, err)
	}
	data, err = os.ReadFile(accountsPath)
	if err != nil {
		return nil, err
	}
	var rows [][]string
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		var p struct{ ID, Kind, Username string }
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			return nil, fmt.Errorf("creds: %s:%d: %w", accountsPath, n, err)
		}
		if p.Kind == "service" {
			continue
		}
		pw, ok := secrets[p.ID]
		if !ok || p.Username == "" {
			return nil, fmt.Errorf("creds: %s:%d: %s has no username or no secret in %s", accountsPath, n, p.ID, secretsPath)
		}
		rows = append(rows, []string{p.Username, pw})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("creds: no human persona in %s", accountsPath)
	}
	return rows, nil
}

// token prints an access token of a confidential client (client_credentials,
// HTTP Basic): the SCIM token `cutover personas provision` needs.
func token(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	issuer := fs.String("issuer", "", "the provider's base URL (its token endpoint is ISSUER/token)")
	id := fs.String("client-id", "", "client id")
	secretFile := fs.String("secret-file", "", "file holding the client secret")
	scope := fs.String("scope", "", "scope to ask for")
	if err := fs.Parse(args); err != nil {
		return err
	}
	secret, err := os.ReadFile(*secretFile)
	if err != nil {
		return err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {*scope}}
	req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(*issuer, "/")+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(*id), url.QueryEscape(strings.TrimSpace(string(secret))))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return fmt.Errorf("token: %s answered %s", req.URL, resp.Status)
	}
	_, err = fmt.Fprintln(stdout, tok.AccessToken)
	return err
}
