// Package arr reads the configuration of Microsoft's Application Request
// Routing, the third dialect lbx understands: an IIS applicationHost.config
// whose <webFarms> (servers, ports, weights, affinity and its cookie,
// health test URL, load-balancing algorithm) and URL Rewrite
// <globalRules> (conditions on {HTTP_HOST}, {URL}, {HTTP_USER_AGENT},
// {HTTP_COOKIE}, {QUERY_STRING}…, regular expressions, wildcards,
// negate, MatchAll/MatchAny, Rewrite to http://FARM/{R:0},
// stopProcessing) become lbx objects: a pool and an http monitor per
// farm, a cookie persistence profile per farm with affinity (its cookie
// name templated with the pool, COOKIE_%pool%, so that farms sharing a
// virtual keep one cookie each), and one ltm policy holding the rules. Import returns them as a config fragment
// (printed as tmsh stanzas by `lbx import arr`, ready to push) and the
// list of what it could not translate, each with its line.
//
// The XML is read with encoding/xml (no external entities, no DTDs),
// bounded in size (MaxInput) and depth (MaxDepth).
//
// Goroutines: none. Import is a pure function of its input.
package arr
