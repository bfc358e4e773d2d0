package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

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
		return iperfResult{}, fmt.Errorf("iperf3: %s", v.Error)
	}
	if v.End.SumReceived == nil {
		return iperfResult{}, errors.New("iperf3: output lacks end.sum_received")
	}
	return iperfResult{Gbps: v.End.SumReceived.Bps / 1e9, Retransmits: v.End.SumSent.Retransmits}, nil
}

// iperfTries bounds the runs of one bulk measurement that iperfRetryable
// lets be tried again.
const iperfTries = 5

// iperfRetryable reports whether an iperf3 client run failed because its
// server was still busy with (or tearing down) the previous test, not
// because of the contender: "the server is busy running a test", or the
// control connection refused or reset.
func iperfRetryable(out []byte) bool {
	for _, m := range []string{"server is busy", "unable to connect to server", "unable to receive control message"} {
		if bytes.Contains(out, []byte(m)) {
			return true
		}
	}
	return false
}
