package main

import (
	"lbx/cli"
	"lbx/ctrlplane/ctlsock"
)

// The shell asks the control socket's client whether the Alteon session
// holds changes before leaving.
var (
	_ cli.AlteonAppliance  = (*ctlsock.Client)(nil)
	_ cli.PendingAppliance = (*ctlsock.Client)(nil)
)
