package config

import (
	"errors"
	"fmt"
)

// Config sync (package ha/cfgsync) shares part of the configuration
// between the units of a device group and leaves the rest to each unit:
//
//   - shared: nodes, monitors, persistence and ltm profiles, pools,
//     policies, SNAT pools, virtual servers, sys files (certificates and
//     keys), and the floating self IPs (traffic-group-1);
//   - device-local: non-floating self IPs (and the boot config's), routes,
//     auth users, and the stanzas kept verbatim (sys, net vlan, …); the
//     boot config (ports, management, ha) is never in the Config at all.

// floating reports whether a self IP is shared: a floating one, not from
// the boot config.
func (s *SelfIP) floating() bool { return !s.Boot && s.TrafficGroup == TrafficGroup1 }

// SharedPart returns a copy of the shared part of c.
func (c *Config) SharedPart() *Config {
	out := c.Clone()
	out.Routes, out.Users, out.Unknown = map[string]*Route{}, map[string]*User{}, nil
	for n, s := range out.Selfs {
		if !s.floating() {
			delete(out.Selfs, n)
		}
	}
	return out
}

// WithShared returns a copy of c whose shared part is shared's: c's
// device-local objects are kept. shared must hold shared objects only: a
// route, a user, a kept stanza or a non-floating self IP in it is refused,
// naming it, as is a floating self IP whose name a device-local one of c
// has.
func (c *Config) WithShared(shared *Config) (*Config, error) {
	var errs []error
	for n := range shared.Routes {
		errs = append(errs, fmt.Errorf("%s: device-local, not synced", ObjectName(KindRoute, "", n)))
	}
	for n := range shared.Users {
		errs = append(errs, fmt.Errorf("%s: device-local, not synced", ObjectName(KindUser, "", n)))
	}
	for _, u := range shared.Unknown {
		errs = append(errs, fmt.Errorf("%s: device-local, not synced", u.Header))
	}
	for n, s := range shared.Selfs {
		switch {
		case !s.floating():
			errs = append(errs, fmt.Errorf("%s: not floating (traffic-group %s): device-local, not synced", ObjectName(KindSelf, "", n), s.TrafficGroup))
		case c.Selfs[n] != nil && !c.Selfs[n].floating():
			errs = append(errs, fmt.Errorf("%s: a floating self IP of that name would replace this device's own", ObjectName(KindSelf, "", n)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sh := shared.Clone()
	out := c.Clone()
	out.Nodes, out.Monitors, out.Persistence, out.Profiles = sh.Nodes, sh.Monitors, sh.Persistence, sh.Profiles
	out.Pools, out.Policies, out.SNATPools, out.Virtuals, out.Files = sh.Pools, sh.Policies, sh.SNATPools, sh.Virtuals, sh.Files
	for n, s := range out.Selfs {
		if s.floating() {
			delete(out.Selfs, n)
		}
	}
	for n, s := range sh.Selfs {
		out.Selfs[n] = s
	}
	out.EnsureMaps()
	return out, nil
}
