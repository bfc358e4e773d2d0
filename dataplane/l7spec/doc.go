// Package l7spec is what the dataplane's Program carries for an HTTP
// (layer-7) virtual server: the compiled http, one-connect, TLS and cookie
// persistence settings, the pools its policies forward to and its
// compiled policies. The dataplane only hands such a virtual's packets to
// the local stack and builds its pools; the appliance's proxy (package
// l7/proxy) reads the rest.
package l7spec
