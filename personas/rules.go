package personas

import (
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field names: the CSV columns and JSONL keys of an accounts file, also used by
// Validate, so a problem is named the same way whichever way the persona came in.
const (
	fieldID       = "id"
	fieldKind     = "kind"
	fieldUsername = "username"
	fieldPassword = "password"
	// fieldCandidatePassword is the secret the candidate holds, where it is
	// not the legacy one (a reference, as password).
	fieldCandidatePassword = "candidate_password"
	fieldWave              = "wave"
	fieldHashScheme        = "hash_scheme"
	fieldRoles             = "roles"
	fieldName              = "name"
	fieldEmail             = "email"
	fieldBirthDate         = "birth_date"
	fieldMRN               = "mrn"
	fieldNPI               = "npi"
	fieldPanel             = "panel"
	fieldBreakGlass        = "break_glass"
	fieldPermissions       = "permissions"
	// fieldAttributes is the JSONL key of the attributes; the problems of
	// attribute NAME are reported as field "attributes.NAME" (column "attr.NAME"
	// of a CSV file).
	fieldAttributes = "attributes"
)

// attrField returns the field name of attribute name in problems and JSONL errors.
func attrField(name string) string { return fieldAttributes + "." + name }

// problem is one broken rule: which persona (index in the population), which field,
// what is wrong, and for a duplicate the index of the persona that had it first.
type problem struct {
	index int
	field string
	msg   string
	first int // -1 unless the value is a duplicate of personas[first]
}

// render returns the message, naming the earlier persona of a duplicate by where.
func (pr problem) render(where func(int) string) string {
	if pr.first < 0 {
		return pr.msg
	}
	return pr.msg + " (first at " + where(pr.first) + ")"
}

// Limits on identifiers, generous for real systems, small enough for URLs and logs.
const (
	maxIDLen       = 128
	maxUsernameLen = 256
	maxTextLen     = 256
	maxAttrNameLen = 40
	maxAttrValue   = 200 // characters
)

// reservedAttrs are the built-in persona attributes reports group by
// (results.AttrKind and the others); a free-form attribute must not take one of
// their names.
var reservedAttrs = []string{"kind", "wave", "hash_scheme", "break_glass", "cohort"}

// problems lists every broken rule of the population, in persona order. It holds the
// rules once for both Validate and the importers.
func (pop Population) problems() []problem {
	var out []problem
	add := func(i int, field, format string, args ...any) {
		out = append(out, problem{index: i, field: field, msg: fmt.Sprintf(format, args...), first: -1})
	}
	// unique reports msg about a field, or else a value already seen under key.
	unique := func(i int, field, msg string, seen map[string]int, key, what string) {
		if msg != "" {
			add(i, field, "%s", msg)
		} else if j, ok := seen[key]; ok {
			out = append(out, problem{index: i, field: field, msg: "duplicate " + what, first: j})
		} else {
			seen[key] = i
		}
	}
	patients := make(map[string]bool)
	for _, p := range pop.Personas {
		if p.Kind == Patient {
			patients[p.ID] = true
		}
	}
	ids, users, mrns, npis := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for i, p := range pop.Personas {
		unique(i, fieldID, checkToken(p.ID, maxIDLen, isIDRune, idChars), ids, p.ID, fmt.Sprintf("id %q", p.ID))
		switch {
		case p.Kind == "":
			add(i, fieldKind, "required")
		case !p.Kind.Valid():
			add(i, fieldKind, "unknown kind %q; want one of %s", p.Kind, kindList())
		}
		// Case-insensitive, as SCIM userName uniqueness is (RFC 7643 s4.1.1).
		unique(i, fieldUsername, checkToken(p.Username, maxUsernameLen, isGraphic, "printable characters and no spaces"),
			users, strings.ToLower(p.Username), fmt.Sprintf("username %q", p.Username))
		if p.Secret.IsZero() {
			add(i, fieldPassword, "no secret; want a password or an env: or file: reference")
		}
		if msg := checkToken(p.Cohort.Wave, maxTextLen, isIDRune, idChars); msg != "" {
			add(i, fieldWave, "%s", msg)
		}
		switch s := p.Cohort.HashScheme; {
		case p.Kind == Service && s != "":
			add(i, fieldHashScheme, "service accounts have an API key, not a password hash; want it empty")
		case p.Kind != Service && s == "":
			add(i, fieldHashScheme, "required; want %s or %s", HashBcrypt, HashSaltedSHA256)
		case p.Kind != Service && s != HashBcrypt && s != HashSaltedSHA256:
			add(i, fieldHashScheme, "unknown scheme %q; want %s or %s", s, HashBcrypt, HashSaltedSHA256)
		}
		if p.Kind == Service && len(p.Roles) > 0 {
			add(i, fieldRoles, "service accounts hold permissions, not roles")
		} else if msg := checkList(p.Roles); msg != "" {
			add(i, fieldRoles, "%s", msg)
		}
		if strings.ContainsFunc(p.Name, unicode.IsControl) || len(p.Name) > maxTextLen {
			add(i, fieldName, "want at most %d characters and no control characters", maxTextLen)
		}
		if p.Email != "" {
			if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email || a.Name != "" {
				add(i, fieldEmail, "%q is not an address like name@example.org", p.Email)
			}
		}
		if p.BirthDate != "" {
			if _, err := time.Parse(time.DateOnly, p.BirthDate); err != nil {
				add(i, fieldBirthDate, "%q is not a date like 1990-04-23", p.BirthDate)
			}
		}
		switch {
		case p.MRN == "":
		case p.Kind != Patient:
			add(i, fieldMRN, "only patients have a medical record number")
		default:
			unique(i, fieldMRN, checkToken(p.MRN, maxIDLen, isIDRune, idChars), mrns, p.MRN, fmt.Sprintf("MRN %q", p.MRN))
		}
		switch {
		case p.NPI == "":
		case p.Kind != Clinician:
			add(i, fieldNPI, "only clinicians have an NPI")
		default:
			unique(i, fieldNPI, checkNPI(p.NPI), npis, p.NPI, fmt.Sprintf("NPI %q", p.NPI))
		}
		if len(p.Panel) > 0 && p.Kind != Clinician {
			add(i, fieldPanel, "only clinicians have a panel; patients see only themselves")
		} else if msg := checkList(p.Panel); msg != "" {
			add(i, fieldPanel, "%s", msg)
		} else {
			for _, pid := range p.Panel {
				if !patients[pid] {
					add(i, fieldPanel, "%q is not a patient of this population", pid)
				}
			}
		}
		if p.BreakGlass && p.Kind != Clinician {
			add(i, fieldBreakGlass, "only clinicians can be eligible for break-glass")
		}
		if len(p.Permissions) > 0 && p.Kind != Service {
			add(i, fieldPermissions, "only service accounts have permissions")
		} else if msg := checkList(p.Permissions); msg != "" {
			add(i, fieldPermissions, "%s", msg)
		}
		for _, name := range slices.Sorted(maps.Keys(p.Attributes)) {
			if msg := checkAttr(name, p.Attributes[name], p.Secret); msg != "" {
				add(i, attrField(name), "%s", msg)
			}
		}
	}
	return out
}

// checkAttrName returns what is wrong with the name of a free-form attribute, or "".
func checkAttrName(name string) string {
	if msg := checkToken(name, maxAttrNameLen, isIDRune, idChars); msg != "" {
		return "name " + msg
	}
	if slices.Contains(reservedAttrs, name) {
		return fmt.Sprintf("name %q is a built-in grouping; want a name other than %s", name, strings.Join(reservedAttrs, ", "))
	}
	return ""
}

// attrSecret returns the problem of an attribute whose name or value is secret, the
// persona's secret, or "". Attributes are written by exports and reports.
func attrSecret(name, value string, secret Secret) string {
	switch {
	case secret.IsZero():
	case name == secret.Reveal():
		return "name is this persona's secret; attributes must not hold secrets"
	case value == secret.Reveal():
		return "value is this persona's secret; attributes must not hold secrets"
	}
	return ""
}

// checkAttr returns what is wrong with a free-form attribute of a persona whose
// secret is secret, or "". The message never quotes the value: attributes are not
// secrets, but one that is must not be echoed.
func checkAttr(name, v string, secret Secret) string {
	if msg := attrSecret(name, v, secret); msg != "" {
		return msg
	}
	if msg := checkAttrName(name); msg != "" {
		return msg
	}
	switch {
	case v == "":
		return "empty value; want a value, or no attribute"
	case !utf8.ValidString(v):
		return "value is not UTF-8 text"
	case utf8.RuneCountInString(v) > maxAttrValue || strings.ContainsFunc(v, unicode.IsControl):
		return fmt.Sprintf("want a value of at most %d characters and no control characters", maxAttrValue)
	}
	return ""
}

// checkToken returns what is wrong with a required identifier, or "".
func checkToken(s string, maxLen int, ok func(rune) bool, want string) string {
	if s == "" {
		return "required"
	}
	if len(s) > maxLen {
		return fmt.Sprintf("%d bytes long; want at most %d", len(s), maxLen)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return !ok(r) }); i >= 0 {
		return fmt.Sprintf("%q has %q at byte %d; want only %s", s, []rune(s[i:])[0], i, want)
	}
	return ""
}

// checkList returns what is wrong with a list of roles, patient ids or permissions,
// or "". Items must survive the ';'-separated CSV column.
func checkList(items []string) string {
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if it == "" {
			return "has an empty item"
		}
		if msg := checkToken(it, maxTextLen, isListRune, "printable characters, no spaces and no ';'"); msg != "" {
			return "item " + msg
		}
		if seen[it] {
			return fmt.Sprintf("%q is listed twice", it)
		}
		seen[it] = true
	}
	return ""
}

// idChars describes the characters isIDRune admits.
const idChars = "letters, digits, '.', '_' and '-'"

func isIDRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

func isGraphic(r rune) bool { return unicode.IsGraphic(r) && !unicode.IsSpace(r) }

func isListRune(r rune) bool { return isGraphic(r) && r != ';' }

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}
