package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// errIperfBusy is iperf3's refusal while its server runs another test.
var errIperfBusy = errors.New("iperf3 server busy")

// iperfResult is what one iperf3 -J client run reports.
type iperfResult struct {
	Gbps        float64 // received by the server, over the run
	Retransmits int64   // the sender's TCP retransmissions
}

// parseIperf reads iperf3's JSON (-J): the end summary of the receiving
// side, and the sender's retransmissions. A run with an "error" field
// (the server refused, the control connection broke) is an error.
func parseIperf(out []byte) (iperfResult, error) {
	var v struct {
		Error string `json:"error"`
		End   struct {
			SumSent struct {
				Retransmits int64 `json:"retransmits"`
			} `json:"sum_sent"`
			SumReceived *struct {
				Bps float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return iperfResult{}, fmt.Errorf("iperf3: output: %w", err)
	}
	if v.Error != "" {
		if strings.Contains(v.Error, "server is busy") {
			return iperfResult{}, fmt.Errorf("iperf3: %s: %w", v.Error, errIperfBusy)
		}
		return iperfResult{}, fmt.Errorf("iperf3: %s", v.Error)
	}
	if v.End.SumReceived == nil {
		return iperfResult{}, errors.New("iperf3: output lacks end.sum_received")
	}
	return iperfResult{Gbps: v.End.SumReceived.Bps / 1e9, Retransmits: v.End.SumSent.Retransmits}, nil
}
