package ctlsock

import "errors"

// UserApp is the appliance as one user's shell sees it, in process: a
// tmsh session (the first dialect, which also takes pushes) and an Alteon
// session, each run as that user, so the user's role decides what they
// may do. The SSH server and the VM's console login give it to the CLI.
type UserApp struct {
	user      string
	tmsh, alt Session
	push      UserDialect
}

// NewUserApp opens user's sessions in dialects (tmsh first).
func NewUserApp(dialects []Dialect, user string) (*UserApp, error) {
	app := &UserApp{user: user}
	for i, d := range dialects {
		ud, ok := d.(UserDialect)
		if !ok {
			continue
		}
		ss, err := ud.NewSessionAs(user)
		if err != nil {
			return nil, err
		}
		switch {
		case i == 0:
			app.tmsh, app.push = ss, ud
		case d.Name() == "alteon":
			app.alt = ss
		}
	}
	if app.tmsh == nil {
		return nil, errors.New("the appliance's default dialect does not run commands for a user")
	}
	return app, nil
}

// User is the user the sessions run as.
func (a *UserApp) User() string { return a.user }

// Exec runs a tmsh line.
func (a *UserApp) Exec(line string) (string, error) { return a.tmsh.Exec(line) }

// Push applies a script as the user.
func (a *UserApp) Push(text string) (string, error) { return a.push.PushAs(a.user, text) }

// ExecState runs a tmsh line and returns the unit's part of the tmsh
// prompt after it (see Client.ExecState).
func (a *UserApp) ExecState(line string) (string, string, error) {
	if line == "" { // asks for the state alone
		return "", a.tmsh.Prompt(), nil
	}
	out, err := a.tmsh.Exec(line)
	return out, a.tmsh.Prompt(), err
}

// ExecAlteon runs an Alteon line and returns the menu's prompt after it.
func (a *UserApp) ExecAlteon(line string) (string, string, error) {
	if a.alt == nil {
		return "", "", errors.New("this appliance does not speak the Alteon dialect")
	}
	out, err := a.alt.Exec(line)
	return out, a.alt.Prompt(), err
}
