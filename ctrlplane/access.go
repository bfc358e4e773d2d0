package ctrlplane

import (
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctlsock"
	"lbx/ctrlplane/store"
)

// UserAccess is the access of the `auth user` name in s's running
// configuration: its role. An unknown user, or one with role no-access,
// is refused.
func UserAccess(s *store.Store, name string) (config.Access, error) {
	u := s.Running().Users[name]
	if u == nil {
		return config.Access{}, fmt.Errorf("user %q: no such auth user", name)
	}
	if u.Role == config.RoleNoAccess {
		return config.Access{}, fmt.Errorf("user %q: role no-access may not log in", name)
	}
	return config.Access{User: name, Role: u.Role}, nil
}

// The dialects run control-socket requests for a user (Request.User) with
// that user's role.
var (
	_ ctlsock.UserDialect = tmshDialect{}
	_ ctlsock.UserDialect = alteonDialect{}
)

func (t tmshDialect) NewSessionAs(user string) (ctlsock.Session, error) {
	a, err := UserAccess(t.d.Store(), user)
	if err != nil {
		return nil, err
	}
	return tmshSession{t.d.NewSessionAs(a), t.d}, nil
}

func (t tmshDialect) PushAs(user, text string) (string, error) {
	a, err := UserAccess(t.d.Store(), user)
	if err != nil {
		return "", err
	}
	return t.d.PushAs(a, text)
}

func (x alteonDialect) NewSessionAs(user string) (ctlsock.Session, error) {
	a, err := UserAccess(x.d.Store(), user)
	if err != nil {
		return nil, err
	}
	return alteonSession{x.d.NewSessionAs(a)}, nil
}

func (x alteonDialect) PushAs(user, text string) (string, error) {
	a, err := UserAccess(x.d.Store(), user)
	if err != nil {
		return "", err
	}
	return x.d.PushAs(a, text)
}

// EnsureAdmin creates the auth user admin (role admin) with password, as
// a bcrypt hash, when the running configuration has no user of that name:
// the first admin's password comes from the boot config or the
// environment, never a fixed default. It reports whether it created one.
func EnsureAdmin(s *store.Store, password string) (bool, error) {
	if password == "" || s.Running().Users["admin"] != nil {
		return false, nil
	}
	if len(password) > config.MaxPasswordLen {
		return false, fmt.Errorf("admin password: longer than %d bytes", config.MaxPasswordLen)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return false, fmt.Errorf("admin password: %w", err)
	}
	_, err = s.Update(func(t *store.Txn) error {
		return t.Create(&config.User{Name: "admin", Role: config.RoleAdmin, PasswordHash: string(hash)})
	})
	if err != nil {
		return false, fmt.Errorf("create auth user admin: %w", err)
	}
	return true, nil
}
