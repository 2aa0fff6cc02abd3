package emulator

import (
	"hash/fnv"
	"net/netip"
)

// The kinds of address Geo reports.
const (
	KindResidential = "residential"
	KindDatacenter  = "datacenter"
	KindProxy       = "proxy"
	KindTor         = "tor"
	// KindPrivate covers private, loopback, link-local, shared (CGNAT) and
	// unspecified addresses; they geolocate to UnknownCountry.
	KindPrivate = "private"
	// KindInvalid is reported for a string that is not an IP address.
	KindInvalid = "invalid"
)

// UnknownCountry is the country of an address that cannot be placed:
// private, missing or invalid ("ZZ" is the ISO 3166 user-assigned code
// conventionally used for "unknown").
const UnknownCountry = "ZZ"

// Range is one entry of the emulator's fixed address table.
type Range struct {
	Prefix  netip.Prefix
	Country string
	Kind    string
}

// geoTable is the fixed, never modified address table. All of it lies in
// ranges reserved for documentation and benchmarking (RFC 5737, RFC 2544,
// RFC 3849), so no real user is ever mislabelled:
//
//	198.18.0.0/15  residential, split into one /18 per home country
//	203.0.113.0/24 datacenters
//	198.51.100.0/24 open proxies
//	192.0.2.0/24   tor exits
//	2001:db8::/32  a few IPv6 counterparts
var geoTable = [...]Range{
	{netip.MustParsePrefix("198.18.0.0/18"), "US", KindResidential},
	{netip.MustParsePrefix("198.18.64.0/18"), "GB", KindResidential},
	{netip.MustParsePrefix("198.18.128.0/18"), "DE", KindResidential},
	{netip.MustParsePrefix("198.18.192.0/18"), "FR", KindResidential},
	{netip.MustParsePrefix("198.19.0.0/18"), "BR", KindResidential},
	{netip.MustParsePrefix("198.19.64.0/18"), "IN", KindResidential},
	{netip.MustParsePrefix("198.19.128.0/18"), "JP", KindResidential},
	{netip.MustParsePrefix("198.19.192.0/18"), "AU", KindResidential},
	{netip.MustParsePrefix("203.0.113.0/25"), "US", KindDatacenter},
	{netip.MustParsePrefix("203.0.113.128/26"), "NL", KindDatacenter},
	{netip.MustParsePrefix("203.0.113.192/26"), "SG", KindDatacenter},
	{netip.MustParsePrefix("198.51.100.0/25"), "US", KindProxy},
	{netip.MustParsePrefix("198.51.100.128/25"), "RU", KindProxy},
	{netip.MustParsePrefix("192.0.2.0/25"), "DE", KindTor},
	{netip.MustParsePrefix("192.0.2.128/25"), "NL", KindTor},
	{netip.MustParsePrefix("2001:db8:0::/48"), "US", KindResidential},
	{netip.MustParsePrefix("2001:db8:1::/48"), "GB", KindResidential},
	{netip.MustParsePrefix("2001:db8:2::/48"), "DE", KindResidential},
	{netip.MustParsePrefix("2001:db8:a0::/48"), "US", KindDatacenter},
	{netip.MustParsePrefix("2001:db8:b0::/48"), "NL", KindProxy},
	{netip.MustParsePrefix("2001:db8:c0::/48"), "DE", KindTor},
}

// cgnat is the shared address space of RFC 6598, not covered by
// netip.Addr.IsPrivate.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// fallbackCountries places public addresses outside the table: an address's
// /8 (IPv4) or /32 (IPv6) always maps to the same one of these.
var fallbackCountries = [...]string{
	"US", "GB", "DE", "FR", "BR", "IN", "JP", "AU",
	"CA", "NL", "ES", "IT", "MX", "PL", "SE", "KR",
}

// Ranges returns a copy of the fixed address table Geo consults first.
func Ranges() []Range {
	out := make([]Range, len(geoTable))
	copy(out, geoTable[:])
	return out
}

// Geo places an IP address: its two-letter country and its kind (one of the
// Kind constants). Addresses in the fixed table (see Ranges) get the table's
// answer; private addresses are (UnknownCountry, KindPrivate); any other
// public address is residential in a country derived from its /8 (IPv4) or
// /32 (IPv6), so the answer never changes. A string that is not an address
// is (UnknownCountry, KindInvalid).
func Geo(ip string) (country, kind string) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return UnknownCountry, KindInvalid
	}
	return geoAddr(addr)
}

// geoAddr is Geo for a parsed address.
func geoAddr(addr netip.Addr) (country, kind string) {
	addr = addr.Unmap().WithZone("")
	for _, r := range geoTable {
		if r.Prefix.Contains(addr) {
			return r.Country, r.Kind
		}
	}
	if !addr.IsGlobalUnicast() || addr.IsPrivate() || cgnat.Contains(addr) {
		return UnknownCountry, KindPrivate
	}
	h := fnv.New32a()
	b := addr.AsSlice()
	if addr.Is4() {
		h.Write(b[:1])
	} else {
		h.Write(b[:4])
	}
	return fallbackCountries[h.Sum32()%uint32(len(fallbackCountries))], KindResidential
}
