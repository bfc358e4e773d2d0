package testbed

import "testing"

func TestNewPassword(t *testing.T) {
	a, err := newPassword()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newPassword()
	if len(a) != 24 || a == b {
		t.Errorf("passwords %q and %q: want 24 characters, different each time", a, b)
	}
	for _, r := range a {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			t.Errorf("password %q has %q, which a shell or URL would need quoted", a, r)
		}
	}
}
