package config

import (
	"fmt"
	"reflect"
)

// Access is who runs a command: a user and the role it acts with. Every
// way into the appliance (the control socket, SSH, the CLI) runs commands
// with one, and the dialects check it where they classify their commands.
type Access struct {
	User string
	Role Role
}

// Root is the access of root on the host (the local control socket) and
// of the appliance itself: admin, as on the real box.
var Root = Access{User: "root", Role: RoleAdmin}

// Admin reports whether a may run anything.
func (a Access) Admin() bool { return a.Role >= RoleAdmin }

// Allows reports whether a's role is need or above it. The roles are
// ordered: no-access < guest (read everything) < operator (also enable,
// disable and force offline members and nodes) < admin (everything).
func (a Access) Allows(need Role) bool { return a.Role >= need }

// Check returns nil when a may run action, or the refusal naming the role
// that would allow it.
func (a Access) Check(need Role, action string) error {
	if a.Allows(need) {
		return nil
	}
	return &AccessDeniedError{User: a.User, Role: a.Role, Need: need, Action: action}
}

// AccessDeniedError is a command the user's role does not allow. Its text
// follows BIG-IP's access-denied error and adds the roles that may.
type AccessDeniedError struct {
	User   string
	Role   Role
	Need   Role   // the least role that may
	Action string // "modify ltm pool /Common/web"
	Why    string // optional: what the role may do instead
}

func (e *AccessDeniedError) Error() string {
	may := "admin may"
	switch e.Need {
	case RoleOperator:
		may = "operator or admin may"
	case RoleGuest, RoleNoAccess:
		may = "guest, operator or admin may"
	}
	s := fmt.Sprintf("01070822:1: Access Denied: User (%s) may not %s (role %s; %s)", e.User, e.Action, e.Role, may)
	if e.Why != "" {
		s += ": " + e.Why
	}
	return s
}

// OperatorWhy says what an operator may change, for a refusal.
const OperatorWhy = "an operator only enables, disables and forces offline members and nodes"

// OperationalOnly reports whether after differs from before at most in
// the session and state of nodes and pool members (enable, disable, force
// offline): the changes an operator may make.
func OperationalOnly(before, after *Config) bool {
	return reflect.DeepEqual(withoutOperational(before), withoutOperational(after))
}

func withoutOperational(c *Config) *Config {
	c = c.Clone()
	for _, n := range c.Nodes {
		n.Session, n.State = SessionUserEnabled, StateUserUp
	}
	for _, p := range c.Pools {
		for i := range p.Members {
			p.Members[i].Session, p.Members[i].State = SessionUserEnabled, StateUserUp
		}
	}
	return c
}
