package ctrlplane

// sysCommands act on the system: saving and loading the configuration,
// transactions, dataplane counters.
var sysCommands = []Command{
	{Verb: "show", Module: "sys", Kind: "dataplane", Help: "port, ARP/ICMP and drop counters by reason, flow count", ReadOnly: true, run: runShowDataplane},
	{Verb: "save", Module: "sys", Kind: "config", Help: "write the running configuration to disk (the previous copy is kept as .bak)", run: runSave},
}

func runSave(x *execCtx, cmd *Command, args *cursor) (string, error) {
	if !args.done() {
		t := args.next()
		return "", lineErrorf(t.line, "save sys config: unexpected %s", t.describe())
	}
	x.save = true
	return "", nil
}
