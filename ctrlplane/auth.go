package ctrlplane

import (
	"errors"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Role is an `auth user`'s role. The zero value is BIG-IP's default for a
// new user, no-access.
type Role uint8

const (
	RoleNoAccess Role = iota
	RoleGuest
	RoleOperator
	RoleAdmin
)

var roleNames = []string{"no-access", "guest", "operator", "admin"}

func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "role-" + u32(uint32(r))
}

// User is an `auth user`: an administrator account. Its password is stored
// only as a hash: `password CLEAR` is hashed with bcrypt at once, and
// `encrypted-password HASH` (as saved) is kept as given; the clear text is
// never stored nor printed. Users have no effect on the control socket yet.
type User struct {
	Name         string // not in a partition: "admin"
	Description  string
	Role         Role
	PasswordHash string // crypt(3)-style: "$2a$10$…" (bcrypt) or BIG-IP's "$6$…"
	Extras
}

func (u *User) clone() *User { x := *u; x.Extras = u.Extras.clone(); return &x }

// CheckPassword reports whether clear is the user's password. Only bcrypt
// hashes can be checked; any other (a BIG-IP "$6$" hash) never matches.
func (u *User) CheckPassword(clear string) bool {
	if !strings.HasPrefix(u.PasswordHash, "$2") {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(clear)) == nil
}

func parseRole(c *cursor, u *User) error {
	i, err := wordValue(c, "role", roleNames...)
	u.Role = Role(i)
	return err
}

var userProps = []property[User]{
	textProp("description", "free text", func(u *User) *string { return &u.Description }),
	{"encrypted-password", "the password's hash, as saved", func(c *cursor, u *User, _ propMode) error {
		t, err := c.value("encrypted-password")
		if err != nil {
			return err
		}
		if t.isWord("none") {
			u.PasswordHash = ""
			return nil
		}
		if !strings.HasPrefix(t.text, "$") || strings.ContainsAny(t.text, " \t\r\n") {
			return lineErrorf(t.line, "encrypted-password: want a crypt hash such as $2a$…")
		}
		u.PasswordHash = t.text
		return nil
	}},
	{"partition-access", "{ all-partitions { role ROLE } }, as BIG-IP saves it", func(c *cursor, u *User, _ propMode) error {
		blk, err := c.block("partition-access")
		if err != nil {
			return err
		}
		pt, err := blk.value("partition-access")
		if err != nil {
			return err
		}
		if !pt.isWord("all-partitions") {
			return lineErrorf(pt.line, "partition-access %q: partitions: not supported yet (all-partitions)", pt.text)
		}
		inner, err := blk.block("partition-access all-partitions")
		if err != nil {
			return err
		}
		if !blk.done() {
			t := blk.next()
			return lineErrorf(t.line, "partition-access: partitions: not supported yet (all-partitions), got %s", t.describe())
		}
		return nestedErr("partition-access all-partitions", parseProps(inner, u, []property[User]{{"role", "", func(c *cursor, u *User, _ propMode) error { return parseRole(c, u) }}}, inFile))
	}},
	{"password", "the password in clear; only its bcrypt hash is kept", func(c *cursor, u *User, _ propMode) error {
		t, err := c.value("password")
		if err != nil {
			return err
		}
		if t.text == "" {
			return lineErrorf(t.line, "password: empty")
		}
		h, err := bcrypt.GenerateFromPassword([]byte(t.text), bcrypt.DefaultCost)
		if err != nil {
			if errors.Is(err, bcrypt.ErrPasswordTooLong) {
				return lineErrorf(t.line, "password: longer than 72 bytes")
			}
			return lineErrorf(t.line, "password: %w", err)
		}
		u.PasswordHash = string(h)
		return nil
	}},
	{"role", "admin, operator, guest or no-access", func(c *cursor, u *User, _ propMode) error { return parseRole(c, u) }},
}

func printUser(b *strings.Builder, _ *Config, u *User, all bool) {
	b.WriteString("auth user " + u.Name + " {\n")
	descProp(b, 1, u.Description, all)
	textPropOut(b, 1, "encrypted-password", u.PasswordHash, all)
	propIf(b, 1, "role", u.Role.String(), u.Role != RoleNoAccess, all)
	extrasOut(b, 1, u.Extras)
	b.WriteString("}\n")
}

var userKind = func() *objKind {
	k := newKind(kindSpec[User]{
		module: "auth", kind: "user", title: "User", plural: "users", createArgs: "role ROLE password PASSWORD",
		props:   userProps,
		objects: func(c *Config) map[string]*User { return c.Users },
		newObj:  func(name string) *User { return &User{Name: name} },
		print:   printUser,
	})
	k.plainNames = true
	return k
}()
