package decision

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
)

// Dimension is a property of a decision that explain breaks a window down
// by and that links and policies group on. Each has a name (SPEC section
// 11), the values a decision has for it (Values) and a filter term that
// selects a value (Term).
type Dimension uint8

// The dimensions, in the order explain lists them.
const (
	DimType Dimension = iota
	DimStatus
	DimAction
	DimSignal
	DimCountry
	DimIP
	DimIP24
	DimEmailDomain
	DimUAFamily
	DimPolicy
	DimShadowRule
	NumDimensions
)

var dimNames = [NumDimensions]string{
	DimType: "type", DimStatus: "status", DimAction: "action", DimSignal: "signal",
	DimCountry: "country", DimIP: "ip", DimIP24: "ip24", DimEmailDomain: "email_domain",
	DimUAFamily: "ua_family", DimPolicy: "policy", DimShadowRule: "shadow_rule",
}

// dimFields is the filter field that selects each dimension's values.
var dimFields = [NumDimensions]string{
	DimType: "type", DimStatus: "status", DimAction: "action", DimSignal: "signal",
	DimCountry: "country", DimIP: "ip", DimIP24: "ip", DimEmailDomain: "domain",
	DimUAFamily: "ua", DimPolicy: "policy", DimShadowRule: "rule",
}

// String returns the dimension's name as SPEC section 11 spells it.
func (dim Dimension) String() string {
	if dim >= NumDimensions {
		return fmt.Sprintf("dimension(%d)", int(dim))
	}
	return dimNames[dim]
}

// ParseDimension reads a dimension name.
func ParseDimension(s string) (Dimension, error) {
	for i, n := range dimNames {
		if n == s {
			return Dimension(i), nil
		}
	}
	return 0, fmt.Errorf("unknown dimension %q (want %s)", s, strings.Join(dimNames[:], ", "))
}

// MarshalText writes the dimension's name.
func (dim Dimension) MarshalText() ([]byte, error) {
	if dim >= NumDimensions {
		return nil, fmt.Errorf("unknown dimension %d", int(dim))
	}
	return []byte(dimNames[dim]), nil
}

// UnmarshalText reads a name as ParseDimension does.
func (dim *Dimension) UnmarshalText(b []byte) error {
	v, err := ParseDimension(string(b))
	if err != nil {
		return err
	}
	*dim = v
	return nil
}

// Values appends to buf the values d has for dim and returns the result:
// one value for most dimensions, none when the field is empty (no email,
// no user agent, no shadow rule) or not an address (DimIP), one per signal
// for DimSignal. IPs are in canonical form; other values are as stored, and
// the filter terms of all but DimIP compare them without regard to case.
func (dim Dimension) Values(d *Decision, buf []string) []string {
	one := func(v string) []string {
		if v == "" {
			return buf
		}
		return append(buf, v)
	}
	switch dim {
	case DimType:
		return one(d.Type)
	case DimStatus:
		return one(d.Status)
	case DimAction:
		return one(string(d.Action))
	case DimSignal:
		return append(buf, d.Signals...)
	case DimCountry:
		return one(d.Country)
	case DimIP:
		return one(canonicalIP(d.IP))
	case DimIP24:
		return one(IP24(d.IP))
	case DimEmailDomain:
		return one(EmailDomain(d.Email))
	case DimUAFamily:
		return one(ClassifyUA(d.UserAgent).Family)
	case DimPolicy:
		return one(d.Policy)
	case DimShadowRule:
		return one(d.ShadowRule)
	}
	return buf
}

// Term returns the filter term that selects decisions whose dim has value
// (dim must be one of the dimensions),
// quoted where the value needs it: type:$login, ip:203.0.113.0/24,
// domain:example.com, ua:curl.
func (dim Dimension) Term(value string) string {
	var b strings.Builder
	b.WriteString(dimFields[dim])
	b.WriteByte(':')
	writeValue(&b, value)
	return b.String()
}

// canonicalIP returns ip in its canonical form (IPv4-mapped addresses as
// IPv4), or "" when it is not an address.
func canonicalIP(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return ""
	}
	return a.Unmap().String()
}

// IP24 returns the network an address belongs to for grouping: its /24 for
// IPv4 (and IPv4-mapped IPv6), its /48 for IPv6, as CIDR text
// ("203.0.113.0/24"); "" when ip is not an address.
func IP24(ip string) string {
	if i := strings.IndexByte(ip, '%'); i >= 0 {
		ip = ip[:i]
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p.String()
}

// EmailDomain returns the lower-cased domain of an email address, the part
// after its last "@"; "" when there is none.
func EmailDomain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 || i == len(email)-1 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(email[i+1:]))
}

// DeviceKey stands for the device behind a user agent when linking
// accounts: a short digest of the exact user agent string, so that two
// accounts share a key only when their clients sent identical user agents.
// It is "" when there is no user agent.
func DeviceKey(ua string) string {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(ua))
	return "ua-" + hex.EncodeToString(sum[:8])
}
