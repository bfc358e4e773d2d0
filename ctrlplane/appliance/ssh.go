package appliance

import (
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"

	"golang.org/x/crypto/ssh"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctlsock"
	"lbx/ctrlplane/sshd"
)

// serveSSH starts the SSH server: the CLI as an auth user, in the
// appliance's dialects.
func (a *Appliance) serveSSH(cfg Config, dialects []ctlsock.Dialect, logger *slog.Logger) error {
	var key ssh.Signer
	var err error
	if cfg.SSHHostKey != "" {
		key, err = sshd.LoadOrCreateHostKey(cfg.SSHHostKey)
	} else {
		logger.Warn("ssh: no host key file; using a new key until the appliance stops")
		var priv ed25519.PrivateKey
		if _, priv, err = ed25519.GenerateKey(rand.Reader); err == nil {
			key, err = ssh.NewSignerFromKey(priv)
		}
	}
	if err != nil {
		return err
	}
	a.ssh, err = sshd.Listen(sshd.Config{
		Listen:   cfg.SSHListen,
		HostKey:  key,
		Users:    func(name string) *config.User { return a.store.Running().Users[name] },
		Dialects: dialects,
		KeysDir:  cfg.SSHKeysDir,
		UsersDir: cfg.SSHUsersDir,
		Logger:   logger,
	})
	if err != nil {
		return err
	}
	a.ssh.Serve()
	if len(a.store.Running().Users) == 0 {
		logger.Warn("ssh: no auth user can log in; set ssh.admin_password (or LBX_ADMIN_PASSWORD) or create auth user")
	}
	logger.Info("ssh serving", "addr", a.ssh.Addr().String(), "fingerprint", ssh.FingerprintSHA256(key.PublicKey()))
	return nil
}

// SSHAddr is the address the SSH server listens on; "" without one.
func (a *Appliance) SSHAddr() string {
	if a.ssh == nil {
		return ""
	}
	return a.ssh.Addr().String()
}
