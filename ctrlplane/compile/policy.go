package compile

import (
	"lbx/ctrlplane/config"
	"lbx/l7/policy"
	"lbx/pools"
)

// compilePolicies builds the evaluator of an HTTP virtual's local traffic
// policies and the pools they forward to (besides the virtual's own),
// which the runtime builds with it so the proxy selects from them. A pool
// that did not build has its own error.
func compilePolicies(c *config.Config, v *config.Virtual, built map[string]*pools.PoolConfig, add func(obj config.Ref, prop string, err error)) (*policy.Compiled, []*pools.PoolConfig) {
	obj := config.Ref{Kind: config.KindVirtual, Name: v.Name}
	pc, err := policy.Compile(c, v.Policies)
	if err != nil {
		add(obj, "policies", err)
		return nil, nil
	}
	var extra []*pools.PoolConfig
	seen := map[string]bool{v.Pool: true}
	for _, name := range v.Policies {
		for _, r := range c.Policies[name].Rules {
			for _, a := range r.Actions {
				if a.Kind != config.ActionForwardPool || seen[a.Pool] {
					continue
				}
				seen[a.Pool] = true
				if rp := built[a.Pool]; rp != nil {
					extra = append(extra, rp)
				}
			}
		}
	}
	return pc, extra
}
