# The candidate's entitlement policy for the embedded stacks' health records,
# in Rego (Open Policy Agent): roles map to permissions, as the legacy's
# homegrown code decides them. Behind an OpenID AuthZEN endpoint it answers
# `cutover shadow`'s questions; run/shadow's tests load this file into a real
# OPA and shadow the embedded legacy's access log against it: unchanged, it
# agrees with every legacy decision.
#
# Input: an AuthZEN evaluation, {subject: {type, id, properties: {roles,
# perms}}, action: {name}, resource: {type, id}, context: {via}}.
# Data: data.panels, each clinician's patients.
package cutover

default allow := false

roles := object.get(input.subject.properties, "roles", [])

perms := split(object.get(input.subject.properties, "perms", ""), " ")

action := input.action.name

type := input.resource.type

# What a role may do on every resource of a type.
grants := {
	"billing-clerk": {"read": {"bills", "claims"}},
	"admin": {"read": {"users"}},
	"auditor": {"read": {"audit"}},
}

# What a clinician may do on the patients of its panel.
panel_ops := {["read", "record"], ["read", "notes"], ["write", "notes"], ["read", "appointments"]}

# What a service account's permissions allow.
service_perms := {
	["read", "lab-results"]: "lab-results:read",
	["write", "lab-results"]: "lab-results:write",
	["export", "analytics"]: "analytics:export",
}

# A rule may block what the others permit.
default blocked := false

allow if {
	permit
	not blocked
}

permit if {
	some r in roles
	type in grants[r][action]
}

# A patient reads its own record, appointments and bills.
permit if {
	"patient" in roles
	action == "read"
	type in {"record", "appointments", "bills"}
	input.resource.id == input.subject.id
}

# A clinician works on the patients of its panel.
permit if {
	"clinician" in roles
	input.resource.id in object.get(data.panels, input.subject.id, [])
	[action, type] in panel_ops
}

# An eligible clinician under a break-glass grant (the legacy's decision says
# it rested on one: context.via) reads and writes that patient's record and
# notes.
permit if {
	"clinician" in roles
	"breakglass-eligible" in roles
	input.context.via == "breakglass"
	type in {"record", "notes"}
}

permit if {
	service_perms[[action, type]] in perms
}
