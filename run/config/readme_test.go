package config_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/run/config"
)

// TestReadmeProviderFragments loads every configuration fragment of the
// README's "Pointing cutover at your provider" section as the candidate of the
// demo's rehearsal file: each must load and validate as written (its keys exist,
// its values are ones the configuration accepts), with the files it references
// (keys) present.
func TestReadmeProviderFragments(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "\n## Pointing cutover at your provider")
	if start < 0 {
		t.Fatal(`README has no "Pointing cutover at your provider" section`)
	}
	text = text[start+1:]
	if end := strings.Index(text, "\n## "); end > 0 {
		text = text[:end]
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(text, -1)
	if len(blocks) < 8 {
		t.Fatalf("%d fragments in the section; want one per provider family", len(blocks))
	}
	for i, b := range blocks {
		fragment := b[1]
		var frag struct {
			Candidate yaml.Node `yaml:"candidate"`
		}
		if err := yaml.Unmarshal([]byte(fragment), &frag); err != nil || frag.Candidate.Kind == 0 {
			t.Errorf("fragment %d is not a candidate: mapping: %v\n%s", i, err, fragment)
			continue
		}
		dir := t.TempDir()
		for _, m := range regexp.MustCompile(`\{file: ([^}\s]+)\}`).FindAllStringSubmatch(fragment, -1) {
			writeKey(t, filepath.Join(dir, m[1]))
		}
		data := withCandidate(t, examples.Demo, &frag.Candidate, hosts(fragment))
		env := func(k string) string {
			if strings.HasSuffix(k, "_URL") {
				return "http://127.0.0.1:1"
			}
			return "placeholder-" + strings.ToLower(k)
		}
		if _, err := config.Parse(filepath.Join(dir, "rehearsal.yaml"), data, env); err != nil {
			t.Errorf("fragment %d does not load:\n%v\n%s", i, err, fragment)
		}
	}
}

// withCandidate returns the rehearsal file demo with stacks.candidate replaced
// by cand and the fragment's hosts allowed.
func withCandidate(t *testing.T, demo []byte, cand *yaml.Node, allow []string) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(demo, &doc); err != nil {
		t.Fatal(err)
	}
	stacks := value(doc.Content[0], "stacks")
	set(stacks, "candidate", cand)
	hostsNode := value(stacks, "allow_hosts")
	for _, h := range allow {
		hostsNode.Content = append(hostsNode.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: h})
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func value(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func set(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
}

// hosts are the hosts of the URLs a fragment names.
func hosts(fragment string) []string {
	var out []string
	for _, u := range regexp.MustCompile(`https?://[^\s"']+`).FindAllString(fragment, -1) {
		if p, err := url.Parse(u); err == nil {
			out = append(out, p.Hostname())
		}
	}
	return out
}

// writeKey writes a fresh P-256 private key in PEM at path.
func writeKey(t *testing.T, path string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
