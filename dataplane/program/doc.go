// Package program is the Program the dataplane runs: the immutable
// compiled configuration (self IPs, L4 and HTTP virtual servers, routes)
// that ctrlplane's compile builds and finalizes and Engine.Install takes,
// with the lookups the engine makes in it per packet (virtual by
// destination, most specific network virtual first; VIP, SNAT and self
// addresses). Package dataplane names its types too (Program, Virtual,
// SelfIP, Route), so callers need not import this one.
package program
