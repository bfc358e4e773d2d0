package config

import "testing"

func TestAccessCheck(t *testing.T) {
	for _, tc := range []struct {
		a    Access
		need Role
		want string // "" allowed
	}{
		{Access{"ann", RoleAdmin}, RoleAdmin, ""},
		{Root, RoleAdmin, ""},
		{Access{"olga", RoleOperator}, RoleOperator, ""},
		{Access{"olga", RoleOperator}, RoleAdmin, "01070822:1: Access Denied: User (olga) may not create ltm pool /Common/q (role operator; admin may)"},
		{Access{"bob", RoleGuest}, RoleOperator, "01070822:1: Access Denied: User (bob) may not create ltm pool /Common/q (role guest; operator or admin may)"},
		{Access{"nina", RoleNoAccess}, RoleGuest, "01070822:1: Access Denied: User (nina) may not create ltm pool /Common/q (role no-access; guest, operator or admin may)"},
	} {
		err := tc.a.Check(tc.need, "create ltm pool /Common/q")
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%v needs %v: got %q, want %q", tc.a, tc.need, got, tc.want)
		}
	}
}

func TestOperationalOnly(t *testing.T) {
	base := NewConfig()
	n := NewNode("/Common/10.0.0.1")
	base.Nodes[n.Name] = n
	p := NewPool("/Common/p")
	p.Members = []Member{NewMember("/Common/10.0.0.1", 80)}
	base.Pools[p.Name] = p
	edit := func(f func(c *Config)) *Config { c := base.Clone(); f(c); return c }
	for _, tc := range []struct {
		name string
		c    *Config
		want bool
	}{
		{"unchanged", base.Clone(), true},
		{"member disabled", edit(func(c *Config) { c.Pools["/Common/p"].Members[0].Session = SessionUserDisabled }), true},
		{"node forced down", edit(func(c *Config) { c.Nodes["/Common/10.0.0.1"].State = StateUserDown }), true},
		{"member ratio", edit(func(c *Config) { c.Pools["/Common/p"].Members[0].Ratio = 5 }), false},
		{"member added", edit(func(c *Config) {
			c.Pools["/Common/p"].Members = append(c.Pools["/Common/p"].Members, NewMember("/Common/10.0.0.1", 81))
		}), false},
		{"pool added", edit(func(c *Config) { c.Pools["/Common/q"] = NewPool("/Common/q") }), false},
		{"virtual disabled", edit(func(c *Config) { v := NewVirtual("/Common/vs"); c.Virtuals[v.Name] = v }), false},
	} {
		if got := OperationalOnly(base, tc.c); got != tc.want {
			t.Errorf("%s: OperationalOnly = %v, want %v", tc.name, got, tc.want)
		}
	}
}
