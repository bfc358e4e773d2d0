// Package proxy is the layer-7 full proxy of an HTTP virtual server: it
// terminates the client's TCP (optionally TLS) connection, reads HTTP/1.1
// requests one after the other (keep-alive; pipelined requests are read in
// order and answered serially), picks a pool member per request through
// the pools package (the same runtime pools, member states, connection
// counts and persistence table the layer-4 path uses) and forwards the
// request over a server-side connection it dials itself.
//
// Parsing and writing are the proxy's own for the common case (h1.go,
// fast.go): on a virtual without a Router or with a ViewRouter, a request with one Host, an
// origin-form target and a Content-Length or (HTTP/1.1) chunked body or
// none (no Expect) is parsed in place in the client
// connection's buffer (its header table reused from request to request),
// written to the member with the http profile's edits and hop-by-hop
// removal as it is copied, its body streamed; the member's answer, when it
// is HTTP/1.1 with a final status and a Content-Length, a chunked body
// (relayed as it comes, chunk by chunk, trailer included) or none
// (HEAD, 204, 304), is relayed the same way. No allocation per keep-alive
// request. The own parser is strict: what it declines — any other
// request, 1xx answers, HTTP/1.0 or close-delimited answers, a chunked
// answer to an HTTP/1.0 client, cookie persistence of method hash or
// rewrite — is read from the same buffered bytes by net/http
// (http.ReadRequest, http.ReadResponse, Request.Write, Response.Write),
// as it was before; FuzzFastRequest and FuzzFastResponse check it against
// net/http. Around either, the proxy adds the limits and the appliance's
// behaviour:
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
// A ViewRouter (the appliance's policy router is one) also decides on the
// fast path's requests, from a RequestView into the proxy's buffer; a
// plain Router sends every request through net/http.
//
// A Proxy serves any number of listeners (Serve) and takes its
// configuration atomically (SetConfig), so an apply changes profiles
// without dropping connections. Close stops everything it started.
package proxy
