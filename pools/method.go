package pools

import (
	"errors"
	"fmt"
)

// Method is a pool's load-balancing method. The names are BIG-IP's tmsh
// load-balancing-mode values, plus lbx extensions for SafeKit farm hashing,
// Alteon metrics and Maglev.
type Method uint8

// Load-balancing methods. The zero value is round-robin, BIG-IP's default.
const (
	MethodRoundRobin                     Method = iota // round-robin
	MethodRatioMember                                  // ratio-member
	MethodRatioNode                                    // ratio-node
	MethodLeastConnectionsMember                       // least-connections-member
	MethodLeastConnectionsNode                         // least-connections-node
	MethodWeightedLeastConnectionsMember               // weighted-least-connections-member
	MethodWeightedLeastConnectionsNode                 // weighted-least-connections-node
	MethodRatioLeastConnectionsMember                  // ratio-least-connections-member
	MethodRatioLeastConnectionsNode                    // ratio-least-connections-node
	MethodObservedMember                               // observed-member
	MethodObservedNode                                 // observed-node
	MethodPredictiveMember                             // predictive-member
	MethodPredictiveNode                               // predictive-node
	MethodFastestNode                                  // fastest-node
	MethodFastestAppResponse                           // fastest-app-response
	MethodDynamicRatioMember                           // dynamic-ratio-member
	MethodDynamicRatioNode                             // dynamic-ratio-node
	MethodLeastSessions                                // least-sessions
	MethodRatioSession                                 // ratio-session
	MethodSourceAddressHash                            // source-address-hash (lbx: SafeKit farm on_addr)
	MethodSourceAddressPortHash                        // source-address-port-hash (lbx: SafeKit farm on_port)
	MethodAlteonMinMisses                              // alteon-minmisses (lbx: Alteon minmisses metric)
	MethodAlteonHash                                   // alteon-hash (lbx: Alteon hash metric)
	MethodMaglev                                       // maglev (lbx: Maglev consistent hashing)
	numMethods
)

var methodNames = [numMethods]string{
	MethodRoundRobin:                     "round-robin",
	MethodRatioMember:                    "ratio-member",
	MethodRatioNode:                      "ratio-node",
	MethodLeastConnectionsMember:         "least-connections-member",
	MethodLeastConnectionsNode:           "least-connections-node",
	MethodWeightedLeastConnectionsMember: "weighted-least-connections-member",
	MethodWeightedLeastConnectionsNode:   "weighted-least-connections-node",
	MethodRatioLeastConnectionsMember:    "ratio-least-connections-member",
	MethodRatioLeastConnectionsNode:      "ratio-least-connections-node",
	MethodObservedMember:                 "observed-member",
	MethodObservedNode:                   "observed-node",
	MethodPredictiveMember:               "predictive-member",
	MethodPredictiveNode:                 "predictive-node",
	MethodFastestNode:                    "fastest-node",
	MethodFastestAppResponse:             "fastest-app-response",
	MethodDynamicRatioMember:             "dynamic-ratio-member",
	MethodDynamicRatioNode:               "dynamic-ratio-node",
	MethodLeastSessions:                  "least-sessions",
	MethodRatioSession:                   "ratio-session",
	MethodSourceAddressHash:              "source-address-hash",
	MethodSourceAddressPortHash:          "source-address-port-hash",
	MethodAlteonMinMisses:                "alteon-minmisses",
	MethodAlteonHash:                     "alteon-hash",
	MethodMaglev:                         "maglev",
}

// ErrUnknownMethod is wrapped by ParseMethod for a name it does not know.
var ErrUnknownMethod = errors.New("unknown load-balancing method")

// String returns the tmsh name, e.g. "least-connections-member".
func (m Method) String() string {
	if m < numMethods {
		return methodNames[m]
	}
	return fmt.Sprintf("method(%d)", uint8(m))
}

// Methods returns every method in declaration order (for help and
// completion).
func Methods() []Method {
	ms := make([]Method, numMethods)
	for i := range ms {
		ms[i] = Method(i)
	}
	return ms
}

// ParseMethod parses a tmsh load-balancing-mode name. It is exact: tmsh
// names are lower case.
func ParseMethod(s string) (Method, error) {
	for i, n := range methodNames {
		if n == s {
			return Method(i), nil
		}
	}
	return 0, fmt.Errorf("load-balancing-mode %q: %w", s, ErrUnknownMethod)
}

// sampled reports whether the method ranks members from samples taken by
// Pool.Tick.
func (m Method) sampled() bool {
	switch m {
	case MethodObservedMember, MethodObservedNode, MethodPredictiveMember, MethodPredictiveNode:
		return true
	}
	return false
}
