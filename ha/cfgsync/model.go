package cfgsync

import (
	"errors"
	"fmt"
	"slices"
)

// MaxDevices is the most devices a device group holds (BIG-IP's eight).
const MaxDevices = 8

// Group types: sync-failover (config sync and failover between the
// units, traffic-group-1) and sync-only (config sync alone).
const (
	TypeSyncFailover = "sync-failover"
	TypeSyncOnly     = "sync-only"
)

// Gen is a generation of the shared configuration: a sequence number and
// the device whose change made it. Two units hold the same configuration
// when they hold the same generation. Digest is the local digest of the
// shared part when this unit took the generation (never sent).
type Gen struct {
	Seq    uint64 `json:"seq"`
	Origin string `json:"origin,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// Same reports whether g and o are one generation.
func (g Gen) Same(o Gen) bool { return g.Seq == o.Seq && g.Origin == o.Origin }

// Newer reports whether g comes after o (sequence, then origin's name to
// order two changes of the same number).
func (g Gen) Newer(o Gen) bool {
	if g.Seq != o.Seq {
		return g.Seq > o.Seq
	}
	return g.Origin > o.Origin
}

// IsZero reports a generation never set (no common generation yet).
func (g Gen) IsZero() bool { return g.Seq == 0 && g.Origin == "" }

func (g Gen) String() string {
	if g.IsZero() {
		return "none"
	}
	return fmt.Sprintf("%d (%s)", g.Seq, g.Origin)
}

// wire is the generation as sent: without the local digest.
func (g Gen) wire() Gen { return Gen{Seq: g.Seq, Origin: g.Origin} }

// Group is a device group (cm device-group): the devices that share the
// configuration. Rev orders changes to the definition, so the units
// converge on the newest one.
type Group struct {
	Name            string   `json:"name"`
	Type            string   `json:"type"`
	AutoSync        bool     `json:"auto_sync"`
	NetworkFailover bool     `json:"network_failover"`
	Devices         []string `json:"devices"`
	Rev             Gen      `json:"rev"`
}

// Has reports whether device is a member.
func (g *Group) Has(device string) bool { return slices.Contains(g.Devices, device) }

// Check reports what is wrong with a group definition, naming the field.
func (g *Group) Check() error {
	var errs []error
	if err := checkName(g.Name); err != nil {
		errs = append(errs, fmt.Errorf("cm device-group %q: name: %w", g.Name, err))
	}
	if g.Type != TypeSyncFailover && g.Type != TypeSyncOnly {
		errs = append(errs, fmt.Errorf("cm device-group %s: type %q: want %s or %s", g.Name, g.Type, TypeSyncFailover, TypeSyncOnly))
	}
	if len(g.Devices) > MaxDevices {
		errs = append(errs, fmt.Errorf("cm device-group %s: devices: %d, at most %d", g.Name, len(g.Devices), MaxDevices))
	}
	seen := map[string]bool{}
	for _, d := range g.Devices {
		if err := checkName(d); err != nil {
			errs = append(errs, fmt.Errorf("cm device-group %s: devices: %q: %w", g.Name, d, err))
		}
		if seen[d] {
			errs = append(errs, fmt.Errorf("cm device-group %s: devices: %s twice", g.Name, d))
		}
		seen[d] = true
	}
	if g.Rev.Origin != "" {
		if err := checkName(g.Rev.Origin); err != nil {
			errs = append(errs, fmt.Errorf("cm device-group %s: revision origin: %w", g.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Peer is a trusted device: its name, config-sync address and
// certificate (DER), the only one its connections are accepted with.
type Peer struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
	Cert []byte `json:"cert"`
}

// checkName accepts a device or group name: 1 to 63 characters, letters,
// digits and . _ -, starting with a letter or digit.
func checkName(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > 63 {
		return fmt.Errorf("%d characters, at most 63", len(s))
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '.' || r == '_' || r == '-')
		if !ok {
			return fmt.Errorf("character %q at %d: want letters, digits, '.', '_' or '-'", r, i+1)
		}
	}
	return nil
}

// CheckName is checkName for the commands.
func CheckName(s string) error { return checkName(s) }
