// Package ctlsock is the appliance's control socket: a unix socket on
// which a client (lbx -c, lbx push, lbx cli, the testbed) sends one JSON
// Request and reads one JSON Response. The server keeps a registry of
// Dialects (tmsh, the Alteon menus) and routes each request to the one it
// names, or to the first that claims its text, or to the default; named
// sessions (an interactive CLI's open transaction or menu) live on the
// server between requests, one per name and dialect, dropped after an hour
// idle. Ops are exec, push and complete: complete answers a command
// line's next words (Candidates) from a dialect, or a named session, that
// implements Completer; the shell's TAB and `?` ask it. A push with Check
// is a dry run and an exec with Output "json" asks for JSON, for dialects
// that implement the optional Checker and JSONShower; others refuse them
// by name. Only root and the appliance's own uid may connect (SO_PEERCRED,
// peer.go); a request naming a User runs in a UserDialect with that
// user's role. Client is the other end. It imports nothing of lbx: dialects
// satisfy its small interfaces.
//
// The socket bounds what a client can make it hold (wire.go and the
// constants in server.go): a message is at most MaxMessage bytes and its
// JSON nests at most 8 deep, and the requests being read or run together
// at most twice that; at most 64 connections are open at once, a
// new one taking the place of the one idle longest (waiting for its
// request), or answered "busy" when all are running one; a request must
// arrive within 10 s and the answer be taken within 10 s. Accept errors
// (EMFILE) are retried with a doubling pause, so running out of
// descriptors never ends the loop.
//
// Goroutines: Serve starts the accept loop and one handler per
// connection; Close stops the loop (also while it backs off), closes the
// open connections and waits for all of them.
package ctlsock
