package testbed

import (
	"fmt"

	"lbx/testbed/ethtool"
)

// SetSwitchTxChecksum turns transmit checksum offload of a switch end (a
// veth end in the switch namespace, Host.SwEnd) on or off. Off, the kernel
// computes in software the checksum of every frame it sends into the host
// (and segments GSO frames, as segmentation offload needs checksum
// offload), so that the host's TCP verifies what a partial checksum from
// the appliance became instead of trusting it as a veth peer does.
func (tb *Testbed) SetSwitchTxChecksum(swEnd string, on bool) error {
	if err := ethtool.Set(tb.Topo.SwitchNS, swEnd, ethtool.TxChecksum, on); err != nil {
		return fmt.Errorf("testbed: set tx checksum %v: %w", on, err)
	}
	return nil
}
