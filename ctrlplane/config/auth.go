package config

import (
	"slices"
	"strconv"
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
	return "role-" + strconv.Itoa(int(r))
}

// User is an `auth user`: an administrator account. Its password is stored
// only as a hash: `password CLEAR` is hashed with bcrypt at once, and
// `encrypted-password HASH` (as saved) is kept as given; the clear text is
// never stored nor printed. Its Role is the Access of what it runs
// (access.go).
type User struct {
	Name         string // not in a partition: "admin"
	Description  string
	Role         Role
	PasswordHash string // crypt(3)-style: "$2a$10$…" (bcrypt) or BIG-IP's "$6$…"
	Extras
}

func (u *User) Clone() *User { x := *u; x.Extras = u.Extras.Clone(); return &x }

// MaxPasswordLen is the longest password a user may have: bcrypt reads no
// further.
const MaxPasswordLen = 72

// CheckPassword reports whether clear is the user's password. Only bcrypt
// hashes can be checked; any other (a BIG-IP "$6$" hash) never matches.
func (u *User) CheckPassword(clear string) bool {
	if !strings.HasPrefix(u.PasswordHash, "$2") {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(clear)) == nil
}

// RoleNames returns the roles' tmsh names, in Role order.
func RoleNames() []string { return slices.Clone(roleNames) }
