package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"lbx/ctrlplane/config"
)

// body is a request's JSON object: its properties, undecoded.
type body map[string]json.RawMessage

// parseBody reads a request body as one JSON object. An empty body is an
// empty object.
func parseBody(b []byte) (body, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return body{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var m body
	if err := dec.Decode(&m); err != nil {
		return nil, errf(400, "Malformed JSON body: %v", err)
	}
	if m == nil {
		return nil, errf(400, "Malformed JSON body: want an object")
	}
	if dec.More() {
		return nil, errf(400, "Malformed JSON body: data after the object")
	}
	return m, nil
}

// setter sets one property of an object of type T from its JSON value.
// A nil setter is a property that is read only, or accepted as what lbx
// always has: it is ignored.
type setter[T any] func(x *T, v json.RawMessage) error

// fields maps property names to setters.
type fields[T any] map[string]setter[T]

// apply sets every property of b on x, in name order; a property fields
// does not know is refused as F5 does.
func (f fields[T]) apply(x *T, b body, item string) error {
	keys := make([]string, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		set, ok := f[k]
		if !ok {
			return errf(400, "Found unexpected json pair at configuration item /%s: %q.", item, k)
		}
		if set == nil {
			continue
		}
		if err := set(x, b[k]); err != nil {
			return errf(400, "Invalid value for property %q of /%s: %v", k, item, err)
		}
	}
	return nil
}

// isNull reports whether v is null or an empty placeholder ("", {}, []),
// which the clients send to mean "unset".
func isNull(v json.RawMessage) bool {
	switch string(bytes.TrimSpace(v)) {
	case "null", `""`, "{}", "[]":
		return true
	}
	return false
}

func str(v json.RawMessage) (string, error) {
	if string(bytes.TrimSpace(v)) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("want a string")
	}
	return s, nil
}

// u32 reads a number (or a string of one, as tmsh-minded clients send).
func u32(v json.RawMessage) (uint32, error) {
	s := strings.Trim(string(bytes.TrimSpace(v)), `"`)
	if s == "null" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("want a whole number 0-4294967295, not %s", v)
	}
	return uint32(n), nil
}

// word reads a string that must be one of allowed.
func word(v json.RawMessage, allowed ...string) (string, error) {
	s, err := str(v)
	if err != nil {
		return "", err
	}
	if !slices.Contains(allowed, s) {
		return "", fmt.Errorf("%q: want one of %s", s, strings.Join(allowed, ", "))
	}
	return s, nil
}

// onlyDefault accepts a property lbx has no setting for when it holds
// what lbx always does (or a placeholder), and refuses anything else.
func onlyDefault[T any](defaults ...string) setter[T] {
	return func(_ *T, v json.RawMessage) error {
		if isNull(v) {
			return nil
		}
		s := strings.Trim(string(bytes.TrimSpace(v)), `"`)
		if slices.Contains(defaults, s) {
			return nil
		}
		return fmt.Errorf("%s: %w (lbx has only %s)", v, config.ErrNotSupportedYet, strings.Join(defaults, ", "))
	}
}

// noFQDN accepts an fqdn property only when it names no FQDN (tmName
// empty): lbx has no FQDN nodes or members yet. what is "nodes" or
// "members".
func noFQDN[T any](what string) setter[T] {
	return func(_ *T, v json.RawMessage) error {
		var f map[string]any
		if err := json.Unmarshal(v, &f); err != nil && !isNull(v) {
			return fmt.Errorf("want an object")
		}
		if tm, _ := f["tmName"].(string); tm != "" {
			return fmt.Errorf("FQDN %s: %w", what, config.ErrNotSupportedYet)
		}
		return nil
	}
}

// ratio reads a node's or member's ratio; 0 means the default, 1.
func ratio(v json.RawMessage) (uint32, error) {
	n, err := u32(v)
	if err == nil && n == 0 {
		n = 1
	}
	return n, err
}

// sessionState reads a session or state as the clients send it.
func session(v json.RawMessage) (config.Session, error) {
	s, err := word(v, "user-enabled", "user-disabled", "monitor-enabled")
	if s == "user-disabled" {
		return config.SessionUserDisabled, nil
	}
	return config.SessionUserEnabled, err
}

func state(v json.RawMessage) (config.State, error) {
	// The monitor states a read reports (up, down, …) mean "not forced
	// offline" when written back.
	s, err := word(v, "user-up", "user-down", "up", "down", "unchecked", "checking")
	if s == "user-down" {
		return config.StateUserDown, nil
	}
	return config.StateUserUp, err
}

// monitorRule reads a monitor property: "/Common/a", "/Common/a and
// /Common/b", "min 1 of { /Common/a /Common/b }"; "", "none" and
// "default" are none.
func monitorRule(v json.RawMessage) (config.MonitorRule, error) {
	s, err := str(v)
	if err != nil {
		return config.MonitorRule{}, err
	}
	w := strings.Fields(s)
	var r config.MonitorRule
	if len(w) == 0 || len(w) == 1 && (w[0] == "none" || w[0] == "default") {
		return r, nil
	}
	names := w
	if w[0] == "min" {
		if len(w) < 5 || w[2] != "of" || w[3] != "{" || w[len(w)-1] != "}" {
			return r, fmt.Errorf("%q: want min N of { MONITOR … }", s)
		}
		n, err := strconv.ParseUint(w[1], 10, 32)
		if err != nil || n == 0 {
			return r, fmt.Errorf("%q: min wants a number > 0", s)
		}
		r.Min = uint32(n)
		names = w[4 : len(w)-1]
	} else {
		names = nil
		for i, x := range w {
			if i%2 == 1 {
				if x != "and" {
					return r, fmt.Errorf("%q: want MONITOR [and MONITOR …]", s)
				}
				continue
			}
			names = append(names, x)
		}
		if len(w)%2 == 0 {
			return r, fmt.Errorf("%q: want MONITOR [and MONITOR …]", s)
		}
	}
	for _, n := range names {
		full, err := config.FullName(n)
		if err != nil {
			return r, fmt.Errorf("monitor %q: %w", n, err)
		}
		r.Names = append(r.Names, full)
	}
	return r, nil
}

// fullName reads an object reference: a full path or a bare name.
func fullName(v json.RawMessage) (string, error) {
	s, err := str(v)
	if err != nil || s == "" {
		return "", err
	}
	return config.FullName(strings.TrimSpace(s))
}

func addr(v json.RawMessage) (netip.Addr, error) {
	s, err := str(v)
	if err != nil {
		return netip.Addr{}, err
	}
	// A route domain (%N) is not supported: the parse refuses it.
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, fmt.Errorf("%q: not an IP address", s)
	}
	return a, nil
}

// enabledWord reads "enabled"/"disabled" (or yes/no, true/false).
func enabledWord(v json.RawMessage) (bool, error) {
	s := strings.Trim(string(bytes.TrimSpace(v)), `"`)
	switch s {
	case "enabled", "yes", "true":
		return true, nil
	case "disabled", "no", "false":
		return false, nil
	}
	return false, fmt.Errorf("%s: want enabled or disabled", v)
}

func boolean(v json.RawMessage) (bool, error) {
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return false, fmt.Errorf("want true or false")
	}
	return b, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func enabledDisabled(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}
