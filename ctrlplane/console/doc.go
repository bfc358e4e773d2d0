// Package console is the appliance's login on a terminal device: the VM
// appliance's serial console (ttyS0) and VGA (tty1). It asks for a user
// name and password, checks them against the running configuration's
// `auth user`s (the bcrypt users SSH and REST use; a no-access user may
// not log in), and runs the interactive CLI (package cli) as that user in
// the appliance's dialects, in process, as SSH does. It never starts a
// shell or any other program.
//
// One goroutine per terminal reads the device and hands its bytes to
// whoever reads the terminal now (the login prompt, the first-boot
// password question, the CLI's readline), so a session that ends leaves
// no reader behind to swallow the next login's input.
package console
