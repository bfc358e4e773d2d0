package appliance

import (
	"errors"
	"fmt"
	"log/slog"

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
	log  *slog.Logger
}

var _ cfgsync.Local = syncLocal{}

// syncCodec prints the shared part with keys and passphrases in full: sys
// files are shared, so a profile synced to a peer finds its key there.
// The payload travels only over the trust domain's mutually authenticated
// TLS 1.3 and is not shown; each unit keeps its keys hidden in its own
// bigip.conf and filestore.
var syncCodec = tmsh.Codec{Reveal: true}

func (l syncLocal) Version() uint64 { return l.st.Version() }

func (l syncLocal) Shared() (string, error) {
	return syncCodec.Format(l.st.Running().SharedPart())
}

func (l syncLocal) ApplyShared(text string) (string, error) {
	shared, _, err := syncCodec.Parse(text)
	if err != nil {
		return "", fmt.Errorf("the configuration received does not parse: %w", err)
	}
	var applied *config.Config
	_, err = l.st.Update(func(t *store.Txn) error {
		cand, err := t.Config().WithShared(shared)
		if err != nil {
			return err
		}
		t.Load(cand)
		// The candidate becomes the running configuration (completed by
		// the apply) and is never changed after: a later commit replaces it.
		applied = t.Config()
		return nil
	})
	if err != nil {
		return "", err
	}
	// Applied: a failed save does not undo that, so it is this unit's
	// problem to report, not a refusal.
	if l.save {
		if err := l.st.Save(); err != nil {
			l.log.Error("config sync: applied the group's configuration but could not save it", "err", err)
		}
	}
	return syncCodec.Format(applied.SharedPart())
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
