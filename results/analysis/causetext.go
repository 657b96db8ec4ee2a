package analysis

import (
	"fmt"
	"slices"
	"strings"
)

// CountText says what Occurrences counts: occurrences, or for the step-level
// classes the candidate samples of the slow steps and the candidate errors.
func (cc CauseClass) CountText() string {
	switch cc.Class {
	case LatencyRegression:
		return fmt.Sprintf("%d candidate %s", cc.Occurrences, plural(cc.Occurrences, "sample"))
	case ErrorRateRegression:
		return fmt.Sprintf("%d candidate %s", cc.Occurrences, plural(cc.Occurrences, "error"))
	}
	return fmt.Sprintf("%d %s", cc.Occurrences, plural(cc.Occurrences, "occurrence"))
}

// FactorText names what the cause's findings have in common, for reports.
func (c *Cause) FactorText() string {
	unit := c.unitName() + "s"
	if c.Level == LevelStep {
		unit = "steps"
	}
	switch c.ExplainedBy {
	case ExplainedByFactor:
		return factorSet(c.Factors).String()
	case ExplainedUniform:
		return "every " + strings.TrimSuffix(unit, "s") + " exercised"
	default:
		return "no single factor (" + unit + ")"
	}
}

// unitName is what one unit of the cause is called: step, or at the persona
// level CauseOptions.Unit.
func (c *Cause) unitName() string {
	switch {
	case c.Level == LevelStep:
		return "step"
	case c.unit != "":
		return c.unit
	}
	return LevelPersona
}

func causeTitle(c *Cause) string {
	var parts []string
	for _, cc := range c.Classes {
		unit := c.unitName()
		name := string(cc.Class)
		if checks := c.checks(cc.Class); len(checks) > 0 {
			name += " (" + strings.Join(checks, ", ") + ")"
		}
		parts = append(parts, fmt.Sprintf("%s on %d %s", name, cc.Affected, plural(cc.Affected, unit)))
	}
	title := c.FactorText()
	if c.Level == LevelStep && c.ExplainedBy != ExplainedByFactor && len(c.Findings) <= 3 {
		var steps []string
		for _, f := range c.Findings {
			steps = append(steps, f.Journey+"/"+f.Step)
		}
		title += " [" + strings.Join(steps, ", ") + "]"
	}
	if len(c.Equivalent) > 0 {
		title += " (same " + c.Level + "s: " + strings.Join(c.Equivalent, ", ") + ")"
	}
	return title + ": " + strings.Join(parts, ", ")
}

// evidenceText says how strongly a group explains a class, with the counts on
// both sides of the split; unit names one unit (persona, step, entitlement).
func evidenceText(unit string, cls Class, g group, cc CauseClass) string {
	switch g.how {
	case ExplainedByFactor:
		one := cc.Affected == 1
		have := verb(one, "has ", "have ") + g.factors.String()
		if unit == "step" && len(g.factors) == 1 {
			switch f := g.factors[0]; f.Name {
			case FactEndpoint:
				have = verb(one, "calls ", "call ") + f.Value
			case FactHost:
				have = verb(one, "sends to ", "send to ") + "host " + f.Value
			case FactGroup:
				have = verb(one, "is", "are") + " in step group " + f.Value
			case FactJourney:
				have = verb(one, "is", "are") + " in journey " + f.Value
			}
		}
		text := fmt.Sprintf("%d of %d %s with %s %s; it hits %d of %d with the factor, %d of %d without",
			cc.Affected, cc.ClassUnits, plural(cc.ClassUnits, unit), cls, have,
			cc.WithFactorAffected, cc.WithFactor, cc.OthersAffected, cc.Others)
		switch {
		case cc.OthersAffected > 0 && cc.othersElsewhere == cc.OthersAffected:
			text += " (all under other causes)"
		case cc.othersElsewhere > 0:
			text += fmt.Sprintf(" (%d of them under other causes)", cc.othersElsewhere)
		}
		return text
	case ExplainedUniform:
		return fmt.Sprintf("%d of %d %s that could show %s show it: no narrower factor", cc.Affected, cc.WithFactor, plural(cc.WithFactor, unit), cls)
	default:
		return fmt.Sprintf("no single factor: %d of %d %s that could show %s show it", cc.Affected, cc.WithFactor, plural(cc.WithFactor, unit), cls)
	}
}

func verb(one bool, singular, pl string) string {
	if one {
		return singular
	}
	return pl
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// checks lists the token checks the cause's findings of class failed, once each.
func (c *Cause) checks(class Class) []string {
	var out []string
	for _, f := range c.Findings {
		if f.Class == class && f.Check != "" && !slices.Contains(out, f.Check) {
			out = append(out, f.Check)
		}
	}
	return out
}
