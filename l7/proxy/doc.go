// Package proxy is the layer-7 full proxy of an HTTP virtual server: it
// terminates the client's TCP (optionally TLS) connection, reads HTTP/1.1
// requests one after the other (keep-alive; pipelined requests are read in
// order and answered serially), picks a pool member per request through
// the pools package (the same runtime pools, member states, connection
// counts and persistence table the layer-4 path uses) and forwards the
// request over a server-side connection it dials itself.
//
// Parsing is net/http's (http.ReadRequest, http.ReadResponse,
// Request.Write, Response.Write); the proxy adds the limits and the
// appliance's behaviour around it:
//
//   - a header size limit (the http profile's max-header-size) and
//     request and idle timeouts; malformed requests are answered 400 and
//     counted, oversized headers 431;
//   - Expect: 100-continue is answered by the proxy itself when the
//     request body is first read (as net/http's server does), and the
//     header is not forwarded;
//   - server-side connections: without a one-connect profile one per
//     client connection, chosen at its first request and kept for the
//     next ones (BIG-IP's per-connection balancing); with one-connect every
//     request is balanced and idle server connections are reused across
//     client connections whose source addresses match under the profile's
//     source mask, up to max-reuse uses and for idle-timeout;
//   - a member that fails before anything of its answer arrived is
//     replaced by another choice (reselect) when nothing of the request
//     body was consumed yet, or when the failed connection was a reused
//     one; otherwise the client gets a 502 and the connection is closed;
//   - cookie persistence (insert: the BIGipServer<pool> cookie in F5's
//     encoding, pools.EncodeCookie; rewrite: the member's cookie gets that
//     value; passive; hash: records keyed on the hash of the member's own
//     cookie, consistent hashing without one) and universal persistence
//     on a request header (Host: host-name affinity), falling back to the
//     virtual's source-address persistence;
//   - the http profile's header edits (insert-xforwarded-for,
//     header-insert, header-erase), redirect-rewrite and server-agent-name;
//   - counters per proxy (Counters: requests, responses by status class,
//     the proxy's own errors, server connections and reuses, bytes), all
//     atomic: no lock is taken per request.
//
// A Router, called once per request with the parsed request and the
// client's address, may send the request to another pool or member, answer
// it, reset the connection, or edit headers: the hook local traffic
// policies plug into. Without one every request goes to the virtual's pool.
//
// A Proxy serves any number of listeners (Serve) and takes its
// configuration atomically (SetConfig), so an apply changes profiles
// without dropping connections. Close stops everything it started.
package proxy
