package record

// Step names: the vocabulary journeys record under and the comparison reads.
const (
	StepLogin = "login"
	// StepLoginWrongPassword is a sign-in the journey makes with a wrong
	// password on purpose: it must be refused, and it counts toward a lockout.
	StepLoginWrongPassword = "login.wrong_password"
	StepProbe              = "probe"
	StepRefresh            = "refresh"
	StepRefreshReplay      = "refresh.replay"
	StepRefreshFamily      = "refresh.family"
	StepLogout             = "logout"
	StepLogoutProbe        = "logout.probe"
	StepLogoutRefresh      = "logout.refresh"
	StepLogoutIntrospect   = "logout.introspect"
	StepBreakglass         = "breakglass.request"
	StepBreakglassNoReason = "breakglass.no_reason"
	StepBreakglassAccess   = "breakglass.access"
	StepBreakglassExpired  = "breakglass.expired"
	StepBreakglassInelig   = "breakglass.ineligible"
	StepBreakglassAudit    = "breakglass.audit"
	StepServiceToken       = "service.token"
	StepServiceProbe       = "service.probe"
	StepAudit              = "audit"
	// Browser journeys: a real browser's login and its probe after logout.
	StepBrowserLogin       = "browser.login"
	StepBrowserLogoutProbe = "browser.logout.probe"
)

// StepNames lists every step name records use.
var StepNames = []string{
	StepLogin, StepLoginWrongPassword, StepProbe, StepRefresh, StepRefreshReplay, StepRefreshFamily, StepLogout, StepLogoutProbe,
	StepLogoutRefresh, StepLogoutIntrospect, StepBreakglass, StepBreakglassNoReason, StepBreakglassAccess,
	StepBreakglassExpired, StepBreakglassInelig, StepBreakglassAudit, StepServiceToken, StepServiceProbe, StepAudit,
}
