package decision

import "strings"

// Device is what a user agent says about the client: its family and its
// operating system. Two events come from the same device, as far as the
// journey can tell, when their Devices are equal (browser versions do not
// count).
type Device struct {
	// Family is one of Chrome, Firefox, Safari, Edge, curl,
	// python-requests, Headless Chrome, Go-http-client, or "other"; ""
	// when there was no user agent.
	Family string
	// OS is Windows, macOS, iOS, Android, ChromeOS or Linux; "" when the
	// user agent does not say.
	OS string
}

// String shows the device as "Chrome/Windows", "curl", or "-" when
// unknown.
func (d Device) String() string {
	switch {
	case d.Family == "":
		return "-"
	case d.OS == "":
		return d.Family
	}
	return d.Family + "/" + d.OS
}

// uaFamilies are checked in order; the first with any of its markers in
// the (lower-cased) user agent wins. Order matters: headless and Edge user
// agents also name Chrome, Chrome's also names Safari, Opera's names Chrome.
var uaFamilies = []struct {
	family  string
	markers []string
}{
	{family: "Headless Chrome", markers: []string{"headlesschrome"}},
	{family: "python-requests", markers: []string{"python-requests/"}},
	{family: "curl", markers: []string{"curl/"}},
	{family: "Go-http-client", markers: []string{"go-http-client/"}},
	{family: "Edge", markers: []string{"edg/", "edge/", "edga/", "edgios/"}},
	{family: "other", markers: []string{"opr/", "opera"}},
	{family: "Firefox", markers: []string{"firefox/", "fxios/"}},
	{family: "Chrome", markers: []string{"chrome/", "crios/", "chromium/"}},
	{family: "Safari", markers: []string{"safari/"}},
}

// uaOS are checked in order (iPhone user agents say "like Mac OS X",
// Android ones say Linux).
var uaOS = []struct {
	os      string
	markers []string
}{
	{os: "Windows", markers: []string{"windows"}},
	{os: "iOS", markers: []string{"iphone", "ipad", "ipod"}},
	{os: "Android", markers: []string{"android"}},
	{os: "ChromeOS", markers: []string{"; cros "}},
	{os: "macOS", markers: []string{"macintosh", "mac os x"}},
	{os: "Linux", markers: []string{"linux", "x11"}},
}

// maxUALen bounds how much of a user agent is examined.
const maxUALen = 512

// ClassifyUA reads a user agent's family and operating system. It never
// fails: anything it does not recognise is family "other" with no OS.
func ClassifyUA(ua string) Device {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return Device{}
	}
	if len(ua) > maxUALen {
		ua = ua[:maxUALen]
	}
	s := strings.ToLower(ua)
	d := Device{Family: "other"}
	for _, f := range uaFamilies {
		if containsAny(s, f.markers) {
			d.Family = f.family
			break
		}
	}
	for _, o := range uaOS {
		if containsAny(s, o.markers) {
			d.OS = o.os
			break
		}
	}
	return d
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
