package testbed

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"lbx/testbed/delaylink"
)

// LinkState is a bridge port of the testbed: an appliance's TAP or a
// host's veth end, and the bridge it is on.
type LinkState struct {
	Device string `json:"device"`
	Bridge string `json:"bridge"`
}

// FaultState is a fault injected on an appliance or host: a delay link
// (package delaylink) on each of its bridge ports, run by one relay
// process per port.
type FaultState struct {
	Target string      `json:"target"`
	Delay  string      `json:"delay"`
	Links  []FaultLink `json:"links"`
}

// FaultLink is one port's delay link: the port was taken off its bridge,
// the veth pair Peer (on the bridge) / Relay took its place, and the
// relay process Proc forwards between Port and Relay.
type FaultLink struct {
	Port  LinkState `json:"port"`
	Peer  string    `json:"peer"`
	Relay string    `json:"relay"`
	Proc  string    `json:"proc"`
	Queue int       `json:"queue"`
}

// targetLinks are the bridge ports of an appliance (all its ports) or a
// host (its veth end), from the state.
func (tb *Testbed) targetLinks(target string) ([]LinkState, error) {
	for _, a := range tb.State.Appliances {
		if a.Name == target {
			return a.Ports, nil
		}
	}
	if l, ok := tb.State.HostLinks[target]; ok {
		return []LinkState{l}, nil
	}
	var names []string
	for _, a := range tb.State.Appliances {
		names = append(names, a.Name)
	}
	for h := range tb.State.HostLinks {
		names = append(names, h)
	}
	slices.Sort(names)
	return nil, fmt.Errorf("testbed: fault: no appliance or host %q (%s)", target, strings.Join(names, ", "))
}

// Delay adds latency in front of an appliance or host: each frame to or
// from it waits d on the link (d each way, so its round trips grow by
// 2×d). A target that has a fault is given the new delay.
func (tb *Testbed) Delay(target string, d time.Duration) error {
	if d <= 0 || d > delaylink.MaxDelay {
		return fmt.Errorf("testbed: fault %s delay %s: want more than 0 and at most %s", target, d, delaylink.MaxDelay)
	}
	links, err := tb.targetLinks(target)
	if err != nil {
		return err
	}
	if len(links) == 0 {
		return fmt.Errorf("testbed: fault %s: it has no bridge ports", target)
	}
	if err := tb.ClearFault(target); err != nil {
		return err
	}
	f := FaultState{Target: target, Delay: d.String()}
	for _, l := range links {
		sum := fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(l.Device)))
		fl := FaultLink{Port: l, Peer: "dl" + sum + "a", Relay: "dl" + sum + "b", Proc: "delay-" + l.Device, Queue: 512}
		if err := delaylink.Insert(tb.Topo.SwitchNS, l.Device, l.Bridge, fl.Peer, fl.Relay); err != nil {
			return errors.Join(fmt.Errorf("testbed: fault %s: %w", target, err), tb.removeLinks(f))
		}
		f.Links = append(f.Links, fl)
		argv := []string{tb.opts.Binary, "testbed", "delay-link", "--a", l.Device, "--b", fl.Relay, "--delay", d.String(), "--queue", fmt.Sprint(fl.Queue)}
		if err := tb.start(fl.Proc, tb.Topo.SwitchNS, argv); err != nil {
			return errors.Join(err, tb.removeLinks(f))
		}
	}
	tb.State.Faults = append(tb.State.Faults, f)
	if err := tb.saveState(); err != nil {
		return err
	}
	// The relays are up when they have logged that they relay.
	for _, fl := range f.Links {
		if err := tb.waitLog(fl.Proc, "relaying", 5*time.Second); err != nil {
			return err
		}
	}
	fmt.Fprintf(tb.opts.Log, "testbed: %s delayed by %s each way\n", target, d)
	return nil
}

// ClearFault removes the faults of target: the relays stop and its ports
// go back on their bridges. A target without a fault is no error.
func (tb *Testbed) ClearFault(target string) error {
	var errs []error
	kept := tb.State.Faults[:0]
	for _, f := range tb.State.Faults {
		if f.Target != target {
			kept = append(kept, f)
			continue
		}
		errs = append(errs, tb.removeLinks(f))
	}
	tb.State.Faults = kept
	errs = append(errs, tb.saveState())
	return errors.Join(errs...)
}

// removeLinks stops a fault's relays and puts its ports back.
func (tb *Testbed) removeLinks(f FaultState) error {
	var errs []error
	for _, fl := range f.Links {
		for i := len(tb.State.Procs) - 1; i >= 0; i-- {
			p := tb.State.Procs[i]
			if p.Name != fl.Proc {
				continue
			}
			if isOurs(p) {
				errs = append(errs, stop(p.PID, tb.cmds[p.PID]))
			}
			delete(tb.cmds, p.PID)
			tb.State.Procs = slices.Delete(tb.State.Procs, i, i+1)
		}
		errs = append(errs, delaylink.Remove(tb.Topo.SwitchNS, fl.Port.Device, fl.Port.Bridge, fl.Peer))
	}
	return errors.Join(errs...)
}

// waitLog waits until a process's log holds want, or the process ends.
func (tb *Testbed) waitLog(name, want string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if strings.Contains(tb.logTail(name), want) {
			return nil
		}
		p, ok := tb.State.Running(name)
		if !ok || time.Now().After(deadline) {
			return fmt.Errorf("testbed: %s did not start (pid %d): %s", name, p.PID, tb.logTail(name))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Attach returns the running testbed whose state is in stateDir, for
// `lbx testbed fault`: what it starts is detached, as `lbx testbed up`'s
// processes are.
func Attach(stateDir string, log io.Writer) (*Testbed, error) {
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	st, err := ReadState(stateDir)
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	tb := &Testbed{Topo: Topology{SwitchNS: DefaultTopology().SwitchNS}, State: *st,
		opts: Options{Binary: exe, StateDir: stateDir, Detach: true, Log: log}, cmds: map[int]*exec.Cmd{}}
	return tb, nil
}
