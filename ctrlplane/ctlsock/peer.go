package ctlsock

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// UserDialect is a Dialect that runs a request as a named user, with that
// user's role (Request.User): the dialect looks the user up and checks
// every command against the role.
type UserDialect interface {
	NewSessionAs(user string) (Session, error)
	PushAs(user, text string) (string, error)
}

// peerUID is the uid of the process at the other end of a unix socket
// connection (SO_PEERCRED).
func peerUID(c net.Conn) (uint32, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, fmt.Errorf("control socket: peer credentials: %T is not a unix socket", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("control socket: peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		cred, gerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, fmt.Errorf("control socket: peer credentials: %w", err)
	}
	if gerr != nil {
		return 0, fmt.Errorf("control socket: peer credentials: %w", gerr)
	}
	return cred.Uid, nil
}

// peerAllowed is the rule of who may use the socket: root, and the uid
// the appliance itself runs as (which owns the socket and the saved
// configuration anyway). Both act as admin, as root on the real box
// does; any other local user is refused and logs in over SSH instead,
// where its `auth user` role applies.
func peerAllowed(uid uint32, self int) bool { return uid == 0 || int64(uid) == int64(self) }

// checkPeer refuses a connection from a peer peerAllowed does not allow.
func checkPeer(c net.Conn) error {
	uid, err := peerUID(c)
	if err != nil {
		return err
	}
	if !peerAllowed(uid, os.Geteuid()) {
		return fmt.Errorf("control socket: uid %d may not use the control socket (root only; log in over SSH as an auth user)", uid)
	}
	return nil
}
