// Package sshd serves the appliance's CLI over SSH
// (golang.org/x/crypto/ssh), as the real box does: a user logs in with the
// password of an `auth user` (or a public key listed in KeysDir/USER) and gets the interactive shell of package cli
// (readline over the channel and its pty), wired in process to the
// appliance's dialects as that user, so every command is checked against
// the user's role by the dialects (config.Access). `ssh host CMD` runs one
// command. The host key (ed25519) is generated at the first start and kept
// in a file (mode 0600) next to the saved configuration. Each user's shell
// history and `cli preference` are kept across sessions in UsersDir/USER
// (mode 0700; files 0600); the pager pages to the pty's height. Failed
// logins are logged and rate limited per client address
// (lbx/internal/loginlimit).
//
// Goroutines: Serve starts the accept loop; each connection has a handler
// (the SSH handshake, then its channels one at a time) and
// x/crypto/ssh's own per-connection goroutines; each session channel
// runs its shell on the handler's goroutine plus one that discards
// out-of-band requests (window changes update the width). Close stops
// the loop, closes every connection and waits for all of them.
package sshd
