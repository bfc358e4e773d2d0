package conf

import (
	"errors"
	"strings"

	"lbx/ctrlplane/config"

	"golang.org/x/crypto/bcrypt"
)

func parseRole(c *Cursor, u *config.User) error {
	i, err := wordValue(c, "role", config.RoleNames()...)
	u.Role = config.Role(i)
	return err
}

var userProps = []property[config.User]{
	textProp("description", "free text", func(u *config.User) *string { return &u.Description }),
	{"encrypted-password", "the password's hash, as saved", func(c *Cursor, u *config.User, _ PropMode) error {
		t, err := c.Value("encrypted-password")
		if err != nil {
			return err
		}
		if t.IsWord("none") {
			u.PasswordHash = ""
			return nil
		}
		if !strings.HasPrefix(t.Text, "$") || strings.ContainsAny(t.Text, " \t\r\n") {
			return LineErrorf(t.Line, "encrypted-password: want a crypt hash such as $2a$…")
		}
		u.PasswordHash = t.Text
		return nil
	}},
	{"partition-access", "{ all-partitions { role ROLE } }, as BIG-IP saves it", func(c *Cursor, u *config.User, _ PropMode) error {
		blk, err := c.Block("partition-access")
		if err != nil {
			return err
		}
		pt, err := blk.Value("partition-access")
		if err != nil {
			return err
		}
		if !pt.IsWord("all-partitions") {
			return LineErrorf(pt.Line, "partition-access %q: partitions: not supported yet (all-partitions)", pt.Text)
		}
		inner, err := blk.Block("partition-access all-partitions")
		if err != nil {
			return err
		}
		if !blk.Done() {
			t := blk.Next()
			return LineErrorf(t.Line, "partition-access: partitions: not supported yet (all-partitions), got %s", t.Describe())
		}
		return nestedErr("partition-access all-partitions", parseProps(inner, u, []property[config.User]{{"role", "", func(c *Cursor, u *config.User, _ PropMode) error { return parseRole(c, u) }}}, InFile))
	}},
	{"password", "the password in clear; only its bcrypt hash is kept", func(c *Cursor, u *config.User, _ PropMode) error {
		t, err := c.Value("password")
		if err != nil {
			return err
		}
		if t.Text == "" {
			return LineErrorf(t.Line, "password: empty")
		}
		h, err := bcrypt.GenerateFromPassword([]byte(t.Text), bcrypt.DefaultCost)
		if err != nil {
			if errors.Is(err, bcrypt.ErrPasswordTooLong) {
				return LineErrorf(t.Line, "password: longer than %d bytes", config.MaxPasswordLen)
			}
			return LineErrorf(t.Line, "password: %w", err)
		}
		u.PasswordHash = string(h)
		return nil
	}},
	{"role", "admin, operator, guest or no-access", func(c *Cursor, u *config.User, _ PropMode) error { return parseRole(c, u) }},
}

func printUser(b *strings.Builder, _ *config.Config, u *config.User, all bool) {
	b.WriteString("auth user " + u.Name + " {\n")
	descProp(b, 1, u.Description, all)
	textPropOut(b, 1, "encrypted-password", u.PasswordHash, all)
	propIf(b, 1, "role", u.Role.String(), u.Role != config.RoleNoAccess, all)
	extrasOut(b, 1, u.Extras)
	b.WriteString("}\n")
}

var UserKind = func() *ObjKind {
	k := newKind(kindSpec[config.User]{
		module: "auth", kind: "user", ckind: config.KindUser, title: "User", plural: "users", createArgs: "role ROLE password PASSWORD",
		props:   userProps,
		objects: func(c *config.Config) map[string]*config.User { return c.Users },
		newObj:  func(name string) *config.User { return &config.User{Name: name} },
		print:   printUser,
	})
	k.plainNames = true
	return k
}()
