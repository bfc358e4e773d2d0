package porttest

import (
	"fmt"
	"sync"
)

// Switch is one Ethernet segment joining any number of ports, like a
// learning bridge: it learns each source MAC's port, sends unicast frames
// to the port their destination was learnt on, and floods broadcast,
// multicast and unknown destinations to every other port. It forwards on
// the writer's goroutine and has none of its own.
type Switch struct {
	mu    sync.RWMutex // guards ports and fdb
	ports []*Port
	fdb   map[[6]byte]*Port
}

// NewSwitch returns a switch with no ports.
func NewSwitch() *Switch {
	return &Switch{fdb: map[[6]byte]*Port{}}
}

// Port plugs a new port into the switch and returns it; its owner reads
// and writes it as a NIC on the segment.
func (s *Switch) Port(c Config) (*Port, error) {
	p, err := newPort(c)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.ports {
		if q.name == p.name {
			return nil, fmt.Errorf("porttest: switch: port %s: duplicate name", p.name)
		}
	}
	p.link = s.forward
	s.ports = append(s.ports, p)
	return p, nil
}

// forward carries frame f written by from.
func (s *Switch) forward(from *Port, f []byte) {
	if len(f) < 14 {
		from.drops.Add(1)
		return
	}
	var dst, src [6]byte
	copy(dst[:], f[0:6])
	copy(src[:], f[6:12])
	s.mu.RLock()
	learnt := s.fdb[src] == from
	to := s.fdb[dst]
	s.mu.RUnlock()
	if !learnt && src[0]&1 == 0 {
		s.mu.Lock()
		s.fdb[src] = from
		s.mu.Unlock()
	}
	if dst[0]&1 == 0 && to != nil {
		if to != from {
			to.deliver(f)
		}
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.ports {
		if p != from {
			p.deliver(f)
		}
	}
}
