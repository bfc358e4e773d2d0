package tmsh

import (
	"errors"
	"strings"

	"lbx/ctrlplane/config"

	"golang.org/x/crypto/bcrypt"
)

func parseRole(c *cursor, u *config.User) error {
	i, err := wordValue(c, "role", config.RoleNames()...)
	u.Role = config.Role(i)
	return err
}

var userProps = []property[config.User]{
	textProp("description", "free text", func(u *config.User) *string { return &u.Description }),
	{"encrypted-password", "the password's hash, as saved", func(c *cursor, u *config.User, _ propMode) error {
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
	{"partition-access", "{ all-partitions { role ROLE } }, as BIG-IP saves it", func(c *cursor, u *config.User, _ propMode) error {
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
		return nestedErr("partition-access all-partitions", parseProps(inner, u, []property[config.User]{{"role", "", func(c *cursor, u *config.User, _ propMode) error { return parseRole(c, u) }}}, inFile))
	}},
	{"password", "the password in clear; only its bcrypt hash is kept", func(c *cursor, u *config.User, _ propMode) error {
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
	{"role", "admin, operator, guest or no-access", func(c *cursor, u *config.User, _ propMode) error { return parseRole(c, u) }},
}

func printUser(b *strings.Builder, _ *config.Config, u *config.User, all bool) {
	b.WriteString("auth user " + u.Name + " {\n")
	descProp(b, 1, u.Description, all)
	textPropOut(b, 1, "encrypted-password", u.PasswordHash, all)
	propIf(b, 1, "role", u.Role.String(), u.Role != config.RoleNoAccess, all)
	extrasOut(b, 1, u.Extras)
	b.WriteString("}\n")
}

var userKind = func() *objKind {
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
