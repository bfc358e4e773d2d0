// Package policy evaluates BIG-IP local traffic policies (`ltm policy`)
// on HTTP requests: the HTTP proxy turns each request into a Request
// (FromHTTP), and the Compiled form of the policies attached to its
// virtual server (Compile, once per configuration apply) returns the
// Decision: the actions that fired, in order (forward to a pool, member
// or node; redirect; reset; insert, replace or remove a header; set a
// cookie; log), and the rules that matched, for counters and logs.
//
// Conditions are compiled once: values lowered for the case-insensitive
// comparisons (BIG-IP's default), regular expressions compiled, address
// prefixes parsed, header names canonicalised. Evaluating a request
// allocates nothing beyond the Decision's slices, and EvaluateInto reuses
// those.
//
// Strategies, as BIG-IP defines them: first-match (the first matching
// rule by ordinal acts), all-match (every matching rule acts, in ordinal
// order) and best-match (the most specific matching rule acts: the most
// conditions, then the longest matched values, then the lowest ordinal).
// A request has one target: where two matching rules choose one (forward,
// redirect, reset), in all-match or across policies, the first stands and
// the later target actions are dropped (their rules are still reported).
//
// Goroutines: none. A Compiled is immutable and safe for concurrent use.
package policy
