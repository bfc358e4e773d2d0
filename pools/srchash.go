package pools

import "strconv"

// sourceHash is source-address-hash (SafeKit farm on_addr) and
// source-address-port-hash (on_port): rendezvous (highest random weight)
// hashing of the client address — and port — over the available members.
// Every member scores hrw(key, member) = mix64(key ^ H(member name)); the
// highest score wins (ties, which need a 64-bit collision, go to the lower
// member index). A member that leaves or joins moves only the clients whose
// top score it holds: about 1/N of them. Slow ramp does not apply.
type sourceHash struct {
	withPort bool
	mh       []uint64 // member identity hashes
}

var _ selector = (*sourceHash)(nil)

// seedSourceHash separates source-hash member hashes from other uses.
const seedSourceHash = 0x5afe_c17e_0000_0001

// memberIdentity is the name a member hashes by: its tmsh name, or
// "addr:port" when it has none.
func memberIdentity(m *Member) string {
	if m.Name != "" {
		return m.Name
	}
	return m.Addr.String() + ":" + strconv.Itoa(int(m.Port))
}

func newSourceHash(p *Pool, withPort bool) *sourceHash {
	h := &sourceHash{withPort: withPort, mh: make([]uint64, len(p.Members))}
	for i := range p.Members {
		h.mh[i] = hashString(seedSourceHash, memberIdentity(&p.Members[i]))
	}
	return h
}

func (h *sourceHash) pick(p *Pool, c []int32, r *Request, _ *Scratch) int {
	return hrwPick(c, hashAddr(r.Client, r.ClientPort, h.withPort), h.mh)
}

// hrwPick returns the candidate with the highest rendezvous score.
func hrwPick(c []int32, k uint64, mh []uint64) int {
	best, bs := -1, uint64(0)
	for _, i := range c {
		if sc := hrwScore(k, mh[i]); best < 0 || sc > bs {
			best, bs = int(i), sc
		}
	}
	return best
}
