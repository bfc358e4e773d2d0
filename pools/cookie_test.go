package pools

import (
	"errors"
	"net/netip"
	"testing"
)

func TestCookieDocumentedExample(t *testing.T) {
	a := netip.MustParseAddr("10.1.1.100")
	if got := EncodeCookie(a, 80); got != "1677787402.20480.0000" {
		t.Fatalf("EncodeCookie(10.1.1.100, 80) = %q, want 1677787402.20480.0000", got)
	}
	ga, gp, err := DecodeCookie("1677787402.20480.0000")
	if err != nil || ga != a || gp != 80 {
		t.Fatalf("DecodeCookie = %v, %d, %v; want 10.1.1.100, 80", ga, gp, err)
	}
	if got := CookieName("/Common/web_pool"); got != "BIGipServer~Common~web_pool" {
		t.Errorf("CookieName = %q", got)
	}
}

func TestCookieRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		addr string
		port uint16
	}{
		{"0.0.0.0", 0}, {"255.255.255.255", 65535}, {"192.168.0.1", 443}, {"198.18.2.11", 8080},
		{"2001:db8::30", 80}, {"::ffff:10.0.0.1", 80}, {"fe80::1", 1},
	} {
		a := netip.MustParseAddr(tc.addr)
		v := EncodeCookie(a, tc.port)
		ga, gp, err := DecodeCookie(v)
		if err != nil || ga != a.Unmap() || gp != tc.port {
			t.Errorf("%s:%d → %q → %v:%d, %v", tc.addr, tc.port, v, ga, gp, err)
		}
	}
	v6 := EncodeCookie(netip.MustParseAddr("2001:0112::30"), 80)
	if v6 != "vi20010112000000000000000000000030.20480" {
		t.Errorf("IPv6 cookie = %q", v6)
	}
}

func TestDecodeCookieErrors(t *testing.T) {
	for _, v := range []string{
		"", "1677787402", "1677787402.20480", "1677787402.20480.0001", "4294967296.20480.0000",
		"1.65536.0000", "x.1.0000", "vi2001.80", "vi2001011200000000000000000000003g.80",
		"vi20010112000000000000000000000030.70000", "rd5o00000000000000000000ffffc0000201o80",
	} {
		if _, _, err := DecodeCookie(v); !errors.Is(err, ErrBadCookie) {
			t.Errorf("DecodeCookie(%q) error = %v, want ErrBadCookie", v, err)
		}
	}
}

func FuzzDecodeCookie(f *testing.F) {
	f.Add("1677787402.20480.0000")
	f.Add("vi20010112000000000000000000000030.20480")
	f.Add("..")
	f.Add("vi.")
	f.Fuzz(func(t *testing.T, v string) {
		a, p, err := DecodeCookie(v)
		if err != nil {
			return
		}
		a2, p2, err := DecodeCookie(EncodeCookie(a, p))
		if err != nil || a2 != a.Unmap() || p2 != p {
			t.Fatalf("%q decodes to %v:%d which does not round-trip (%v:%d, %v)", v, a, p, a2, p2, err)
		}
	})
}

// CookieNameFor: the default BIGipServer name, a fixed name, and the
// %pool% template with the pool's base name made a token.
func TestCookieNameFor(t *testing.T) {
	for _, tc := range []struct{ name, pool, want string }{
		{"", "/Common/web", "BIGipServer~Common~web"},
		{"ARRAffinity", "/Common/web", "ARRAffinity"},
		{"ARRAffinity_%pool%", "/Common/appFarm", "ARRAffinity_appFarm"},
		{"%pool%-%pool%", "/Common/a.b", "a.b-a.b"},
		{"x_%pool%", "/Common/2001:db8::1", "x_2001_db8__1"},
	} {
		if got := CookieNameFor(tc.name, tc.pool); got != tc.want {
			t.Errorf("CookieNameFor(%q, %q) = %q, want %q", tc.name, tc.pool, got, tc.want)
		}
	}
}
