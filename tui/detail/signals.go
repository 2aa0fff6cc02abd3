package detail

// signalDescriptions explains the signals Safe-e is known to name, in one
// line each. Unknown signals are shown without a description.
var signalDescriptions = map[string]string{
	"proxy_ip":                     "The IP belongs to a public, residential or anonymising proxy.",
	"datacenter_ip":                "The IP is in a hosting or cloud provider's range, not a consumer network.",
	"tor_ip":                       "The IP is a Tor exit node.",
	"bot_behavior":                 "Request patterns look automated: headless or scripted client, inhuman timing.",
	"credential_stuffing":          "Many logins for different users from one source: a password list being tried.",
	"generated_email":              "The email address looks machine-generated (random local part, number runs).",
	"disposable_email":             "The email domain belongs to a throwaway mailbox provider.",
	"high_activity_account":        "The account is far more active than usual for it.",
	"new_device":                   "First time this user is seen with this device (user agent).",
	"new_ip":                       "First time this user is seen from this IP address.",
	"new_country":                  "First time this user is seen from this country.",
	"impossible_travel":            "The user moved between distant places faster than anyone could travel.",
	"multiple_accounts_per_device": "Several accounts are used from the same device.",
}

// Describe returns the one-line description of a signal, or "" when the
// signal is not known.
func Describe(signal string) string {
	return signalDescriptions[signal]
}
