package config

import (
	"fmt"
	"strings"
	"testing"
)

// withThresholds replaces the demo's thresholds section.
func withThresholds(t *testing.T, section string) []byte {
	t.Helper()
	demo, _, ok := strings.Cut(string(readDemo(t)), "\nthresholds:\n")
	if !ok {
		t.Fatal("demo.yaml has no thresholds section")
	}
	return []byte(demo + "\nthresholds:\n" + section + "\n")
}

func TestThresholdProblems(t *testing.T) {
	bad := `  fail_on: [critical]
  latency_ratio: 0.9
  error_rate_delta: 1.5
  classes:
    OVER_PERMISION: {fail: false}
    GENERATOR_SATURATED: {severity: high}
    AUTHZ_ERROR: {severity: urgent}
  steps:
    login: {latency_ratio: 2}
    checkout/login: {latency_ratio: 2}
    session/dance: {error_rate_delta: -1}`
	doc := withThresholds(t, bad)
	_, err := Parse("demo.yaml", doc, demoEnv)
	if err == nil {
		t.Fatal("Parse accepted broken thresholds")
	}
	for _, want := range []string{
		"thresholds.latency_ratio: is 0.9; want > 1",
		"thresholds.error_rate_delta: is 1.5; want in [0, 1)",
		`thresholds.classes.OVER_PERMISION: "OVER_PERMISION" is not a regression class`,
		`thresholds.classes.GENERATOR_SATURATED: "GENERATOR_SATURATED" is not a regression class`,
		`thresholds.classes.AUTHZ_ERROR.severity: "urgent" is not a severity`,
		"thresholds.steps.login: want journey/step",
		`thresholds.steps.checkout/login: no journey named "checkout"`,
		`thresholds.steps.session/dance: "dance" is not a step`,
		"thresholds.steps.session/dance.error_rate_delta: is -1; want in [0, 1)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if want := fmt.Sprintf("demo.yaml:%d: thresholds.latency_ratio", lineOf(t, string(doc), "latency_ratio: 0.9")); !strings.Contains(err.Error(), want) {
		t.Errorf("errors lack %q:\n%v", want, err)
	}
}
