package emulator

import "strings"

// The signal names the emulator reports, as Safe-e spells them.
const (
	SignalNewDevice                 = "new_device"
	SignalNewIP                     = "new_ip"
	SignalNewCountry                = "new_country"
	SignalImpossibleTravel          = "impossible_travel"
	SignalDatacenterIP              = "datacenter_ip"
	SignalProxyIP                   = "proxy_ip"
	SignalTorIP                     = "tor_ip"
	SignalCredentialStuffing        = "credential_stuffing"
	SignalBotBehavior               = "bot_behavior"
	SignalGeneratedEmail            = "generated_email"
	SignalDisposableEmail           = "disposable_email"
	SignalHighActivityAccount       = "high_activity_account"
	SignalMultipleAccountsPerDevice = "multiple_accounts_per_device"
)

// signal is one of the signals above; its order is the order of a
// response's signals array.
type signal uint8

const (
	sigNewDevice signal = iota
	sigNewIP
	sigNewCountry
	sigImpossibleTravel
	sigDatacenterIP
	sigProxyIP
	sigTorIP
	sigCredentialStuffing
	sigBotBehavior
	sigGeneratedEmail
	sigDisposableEmail
	sigHighActivityAccount
	sigMultipleAccountsPerDevice
	numSignals
)

func (s signal) name() string {
	switch s {
	case sigNewDevice:
		return SignalNewDevice
	case sigNewIP:
		return SignalNewIP
	case sigNewCountry:
		return SignalNewCountry
	case sigImpossibleTravel:
		return SignalImpossibleTravel
	case sigDatacenterIP:
		return SignalDatacenterIP
	case sigProxyIP:
		return SignalProxyIP
	case sigTorIP:
		return SignalTorIP
	case sigCredentialStuffing:
		return SignalCredentialStuffing
	case sigBotBehavior:
		return SignalBotBehavior
	case sigGeneratedEmail:
		return SignalGeneratedEmail
	case sigDisposableEmail:
		return SignalDisposableEmail
	case sigHighActivityAccount:
		return SignalHighActivityAccount
	case sigMultipleAccountsPerDevice:
		return SignalMultipleAccountsPerDevice
	}
	return "unknown"
}

// signalSet is a set of signals.
type signalSet uint16

func (s signalSet) has(x signal) bool { return s&(1<<x) != 0 }
func (s *signalSet) add(x signal)     { *s |= 1 << x }
func (s signalSet) any(xs ...signal) bool {
	for _, x := range xs {
		if s.has(x) {
			return true
		}
	}
	return false
}

// names returns the set's signal names in reporting order, never nil.
func (s signalSet) names() []string {
	out := make([]string, 0, numSignals)
	for x := range numSignals {
		if s.has(x) {
			out = append(out, x.name())
		}
	}
	return out
}

// botMarkers are lower-case fragments of user agents that scripts, headless
// browsers and crawlers send.
var botMarkers = [...]string{
	"headless", "phantomjs", "selenium", "puppeteer", "playwright",
	"python-requests", "python-urllib", "aiohttp", "curl/", "wget/",
	"go-http-client", "axios/", "node-fetch", "scrapy", "java/",
	"libwww-perl", "httpclient", "bot/", "bot;", "spider", "crawler",
}

// scriptedAgent reports whether a user agent looks headless or scripted. An
// empty agent counts: every browser sends one.
func scriptedAgent(ua string) bool {
	ua = strings.ToLower(strings.TrimSpace(ua))
	if ua == "" {
		return true
	}
	for _, m := range botMarkers {
		if strings.Contains(ua, m) {
			return true
		}
	}
	return false
}

// disposableDomains are well-known throwaway mail providers.
var disposableDomains = [...]string{
	"mailinator.com", "guerrillamail.com", "10minutemail.com", "tempmail.net",
	"yopmail.com", "trashmail.com", "sharklasers.com", "dispostable.com",
	"throwawaymail.com", "temp-mail.org", "getnada.com", "maildrop.cc",
}

// splitEmail returns the lower-case local part (without any +tag) and
// domain of an address, ok false if it has no "@" between non-empty parts.
func splitEmail(email string) (local, domain string, ok bool) {
	email = strings.ToLower(strings.TrimSpace(email))
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 {
		return "", "", false
	}
	local, domain = email[:at], email[at+1:]
	if i := strings.IndexByte(local, '+'); i >= 0 {
		local = local[:i]
	}
	return local, domain, local != ""
}

// disposableEmail reports whether an address is at a throwaway provider or
// one of its subdomains.
func disposableEmail(email string) bool {
	_, domain, ok := splitEmail(email)
	if !ok {
		return false
	}
	for _, d := range disposableDomains {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// generatedEmail reports whether an address's local part looks machine-made:
// five or more digits ("anna482913"), or at least eight characters that
// switch between letters and digits three or more times ("kx83qm2vz71").
// Birth years and short suffixes ("maria.lopez1987", "mgarcia84") pass.
func generatedEmail(email string) bool {
	local, _, ok := splitEmail(email)
	if !ok {
		return false
	}
	const (
		other = iota
		letter
		digit
	)
	digits, switches, prev := 0, 0, other
	for i := 0; i < len(local); i++ {
		c, class := local[i], other
		switch {
		case c >= '0' && c <= '9':
			class = digit
			digits++
		case c >= 'a' && c <= 'z':
			class = letter
		}
		if class != other && prev != other && class != prev {
			switches++
		}
		prev = class
	}
	return digits >= 5 || (len(local) >= 8 && switches >= 3)
}
