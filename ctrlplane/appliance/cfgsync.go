package appliance

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh"
	"lbx/ha/cfgsync"
)

// syncLocal is the store as config sync sees it: the shared part of the
// running configuration as bigip.conf text, applied on a peer through the
// same all-or-nothing apply as any change, keeping the peer's
// device-local objects, and saved when the appliance saves.
type syncLocal struct {
	st   *store.Store
	save bool // the appliance has a saved configuration: a sync is saved as BIG-IP saves one
}

var _ cfgsync.Local = syncLocal{}

func (l syncLocal) Version() uint64 { return l.st.Version() }

func (l syncLocal) Shared() (string, error) {
	return tmsh.Codec{}.Format(l.st.Running().SharedPart()), nil
}

func (l syncLocal) ApplyShared(text string) error {
	shared, _, err := tmsh.Codec{}.Parse(text)
	if err != nil {
		return fmt.Errorf("the configuration received does not parse: %w", err)
	}
	_, err = l.st.Update(func(t *store.Txn) error {
		cand, err := t.Config().WithShared(shared)
		if err != nil {
			return err
		}
		t.Load(cand)
		if l.save {
			t.SaveOnCommit()
		}
		return nil
	})
	return err
}

// Authenticate accepts an auth user of role admin with its password: who
// may add this unit to a trust domain.
func (l syncLocal) Authenticate(user, password string) error {
	u := l.st.Running().Users[user]
	switch {
	case u == nil:
		return fmt.Errorf("user %q: no such auth user", user)
	case u.Role != config.RoleAdmin:
		return fmt.Errorf("user %q: role %s, trust needs admin", user, u.Role)
	case u.PasswordHash == "":
		return fmt.Errorf("user %q: has no password", user)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)); err != nil {
		return errors.New("bad password")
	}
	return nil
}

// Sync returns the appliance's config sync; nil without one.
func (a *Appliance) Sync() *cfgsync.Syncer { return a.sync }
