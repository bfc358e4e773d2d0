package porttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"lbx/dataplane"
)

const hostNIC tcpip.NICID = 1

const (
	hostFrameLen  = 1514 // Ethernet header + 1500 bytes MTU
	hostQueue     = 512  // frames the netstack may queue to send
	hostBatch     = 32
	listenBacklog = 128
)

// HostConfig describes one host.
type HostConfig struct {
	Name string
	// Port is the host's NIC; the Host owns it from NewHost on and closes
	// it on Close.
	Port dataplane.Port
	// Addr is the host's address and the length of its connected network.
	Addr netip.Prefix
	// Gateway, when valid, is the default route's next hop (for a server,
	// the appliance's self IP, so that replies to clients it does not
	// reach directly go back through the appliance).
	Gateway netip.Addr
	Logger  *slog.Logger // nil: discard
}

// Host is a machine on one port with its own TCP/IP stack (gVisor's
// netstack, with ARP): what the testbed's namespaces are, in process.
type Host struct {
	name string
	addr netip.Prefix
	port dataplane.Port
	log  *slog.Logger

	ns *stack.Stack
	ep *channel.Endpoint

	nextPort atomic.Uint32 // DialTCP's cursor in the ephemeral range

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// NewHost builds the host's stack on cfg.Port and starts it.
func NewHost(cfg HostConfig) (*Host, error) {
	if cfg.Port == nil {
		return nil, fmt.Errorf("porttest: host %s: port: must be set", cfg.Name)
	}
	if !cfg.Addr.Addr().Is4() {
		return nil, fmt.Errorf("porttest: host %s: address %s: want IPv4 address/prefix", cfg.Name, cfg.Addr)
	}
	if cfg.Gateway.IsValid() && (!cfg.Gateway.Is4() || !cfg.Addr.Contains(cfg.Gateway)) {
		return nil, fmt.Errorf("porttest: host %s: gateway %s: not on %s", cfg.Name, cfg.Gateway, cfg.Addr.Masked())
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ns := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	ep := channel.New(hostQueue, hostFrameLen, tcpip.LinkAddress(cfg.Port.MAC()))
	fail := func(what string, err tcpip.Error) (*Host, error) {
		ns.Destroy()
		return nil, fmt.Errorf("porttest: host %s: %s: %s", cfg.Name, what, err)
	}
	if err := ns.CreateNIC(hostNIC, ethernet.New(ep)); err != nil {
		return fail("create NIC", err)
	}
	pa := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(cfg.Addr.Addr().As4()), PrefixLen: cfg.Addr.Bits()},
	}
	if err := ns.AddProtocolAddress(hostNIC, pa, stack.AddressProperties{}); err != nil {
		return fail("address "+cfg.Addr.String(), err)
	}
	subnet := pa.AddressWithPrefix.Subnet()
	routes := []tcpip.Route{{Destination: subnet, NIC: hostNIC}}
	if cfg.Gateway.IsValid() {
		routes = append(routes, tcpip.Route{Destination: header.IPv4EmptySubnet, Gateway: tcpip.AddrFrom4(cfg.Gateway.As4()), NIC: hostNIC})
	}
	ns.SetRouteTable(routes)
	ctx, cancel := context.WithCancel(context.Background())
	h := &Host{name: cfg.Name, addr: cfg.Addr, port: cfg.Port, log: cfg.Logger, ns: ns, ep: ep, cancel: cancel}
	h.wg.Add(2)
	go h.receive()
	go h.transmit(ctx)
	return h, nil
}

// Name returns the host's name.
func (h *Host) Name() string { return h.name }

// Addr returns the host's address.
func (h *Host) Addr() netip.Addr { return h.addr.Addr() }

// Close stops the host: its port is closed, every connection and listener
// on it is torn down, and its goroutines have ended when it returns.
func (h *Host) Close() error {
	var err error
	h.closeOnce.Do(func() {
		h.cancel()
		err = h.port.Close()
		h.wg.Wait()
		h.ep.Close()
		h.ns.Destroy()
	})
	return err
}

// receive hands every frame the port reads to the netstack.
func (h *Host) receive() {
	defer h.wg.Done()
	mem := make([]byte, hostBatch*hostFrameLen)
	bufs := make([][]byte, hostBatch)
	for i := range bufs {
		bufs[i] = mem[i*hostFrameLen : (i+1)*hostFrameLen : (i+1)*hostFrameLen]
	}
	sizes := make([]int, hostBatch)
	for {
		n, err := h.port.ReadBatch(bufs, sizes)
		for i := range n {
			pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(bufs[i][:sizes[i]])})
			h.ep.InjectInbound(0, pkt) // the ethernet endpoint reads the type
			pkt.DecRef()
		}
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				h.log.Error("porttest: host read failed", "host", h.name, "err", err)
			}
			return
		}
	}
}

// transmit writes every frame the netstack sends to the port.
func (h *Host) transmit(ctx context.Context) {
	defer h.wg.Done()
	frame := make([][]byte, 1)
	for {
		pkt := h.ep.ReadContext(ctx)
		if pkt == nil {
			return
		}
		v := pkt.ToView()
		frame[0] = v.AsSlice()
		_, err := h.port.WriteBatch(frame)
		v.Release()
		pkt.DecRef()
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

func fullAddr(ap netip.AddrPort) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: hostNIC, Addr: tcpip.AddrFrom4(ap.Addr().As4()), Port: ap.Port()}
}

// Ephemeral ports a Host dials from: Linux's default range.
const (
	ephemeralFirst = 32768
	ephemeralCount = 61000 - ephemeralFirst
)

// DialTCP connects to dst from the host's address.
//
// Local ports are handed out in turn through the ephemeral range, as
// Linux does for connections to one destination, not at random as
// gVisor's netstack would: a quick series of connections then never
// reuses a port whose flow an appliance on the way still remembers as
// closing, and a test through a virtual server sees one new flow per
// connection, as it does on the namespace testbed.
func (h *Host) DialTCP(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
	if !dst.Addr().Is4() {
		return nil, fmt.Errorf("porttest: host %s: dial %s: want IPv4", h.name, dst)
	}
	fail := func(err any) (net.Conn, error) {
		return nil, fmt.Errorf("porttest: host %s: dial %s: %v", h.name, dst, err)
	}
	var wq waiter.Queue
	ep, terr := h.ns.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		return fail(terr)
	}
	bound := false
	for range ephemeralCount {
		port := ephemeralFirst + uint16(h.nextPort.Add(1)%ephemeralCount)
		if ep.Bind(fullAddr(netip.AddrPortFrom(h.Addr(), port))) == nil {
			bound = true
			break
		}
	}
	if !bound {
		ep.Close()
		return fail("no free local port")
	}
	entry, connected := waiter.NewChannelEntry(waiter.WritableEvents)
	wq.EventRegister(&entry)
	defer wq.EventUnregister(&entry)
	terr = ep.Connect(fullAddr(dst))
	if _, started := terr.(*tcpip.ErrConnectStarted); started {
		select {
		case <-ctx.Done():
			ep.Close()
			return nil, fmt.Errorf("porttest: host %s: dial %s: %w", h.name, dst, ctx.Err())
		case <-connected:
		}
		terr = ep.LastError()
	}
	if terr != nil {
		ep.Close()
		return fail(terr)
	}
	return gonet.NewTCPConn(&wq, ep), nil
}

// ListenTCP accepts TCP connections on the host's address and port. The
// address is reusable at once, as with Go's net.Listen (SO_REUSEADDR): a
// server stopped and started again binds its port although connections it
// closed still wait in TIME-WAIT.
func (h *Host) ListenTCP(port uint16) (net.Listener, error) {
	var wq waiter.Queue
	ep, terr := h.ns.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		return nil, fmt.Errorf("porttest: host %s: listen tcp %d: %s", h.name, port, terr)
	}
	ep.SocketOptions().SetReuseAddress(true)
	if terr := ep.Bind(fullAddr(netip.AddrPortFrom(h.Addr(), port))); terr != nil {
		ep.Close()
		return nil, fmt.Errorf("porttest: host %s: listen tcp %d: bind: %s", h.name, port, terr)
	}
	if terr := ep.Listen(listenBacklog); terr != nil {
		ep.Close()
		return nil, fmt.Errorf("porttest: host %s: listen tcp %d: %s", h.name, port, terr)
	}
	return gonet.NewTCPListener(h.ns, &wq, ep), nil
}

// DialUDP returns a UDP socket connected to dst.
func (h *Host) DialUDP(dst netip.AddrPort) (net.Conn, error) {
	if !dst.Addr().Is4() {
		return nil, fmt.Errorf("porttest: host %s: dial udp %s: want IPv4", h.name, dst)
	}
	ra := fullAddr(dst)
	c, err := gonet.DialUDP(h.ns, nil, &ra, ipv4.ProtocolNumber)
	if err != nil {
		return nil, fmt.Errorf("porttest: host %s: dial udp %s: %w", h.name, dst, err)
	}
	return c, nil
}

// ListenUDP returns a UDP socket bound to the host's address and port.
func (h *Host) ListenUDP(port uint16) (net.PacketConn, error) {
	la := fullAddr(netip.AddrPortFrom(h.Addr(), port))
	c, err := gonet.DialUDP(h.ns, &la, nil, ipv4.ProtocolNumber)
	if err != nil {
		return nil, fmt.Errorf("porttest: host %s: listen udp %d: %w", h.name, port, err)
	}
	return c, nil
}

// Get fetches url (http://ADDR:PORT/PATH) over a new connection from the
// host and returns the body of a 200 answer.
func (h *Host) Get(ctx context.Context, url string) (string, error) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return nil, err
			}
			return h.DialTCP(ctx, ap)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", fmt.Errorf("porttest: host %s: %w", h.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("porttest: host %s: get %s: %w", h.name, url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("porttest: host %s: get %s: %s", h.name, url, resp.Status)
	}
	return string(body), nil
}

// Server is an HTTP server on a Host.
type Server struct {
	srv  *http.Server
	done chan struct{}
}

// IdentityHandler answers every request as the testbed's emulated servers
// do: "server=NAME addr=LOCAL peer=REMOTE", so a test sees which server
// answered and which source address it saw; the request's X-Client
// header values come back as X-Seen-Client, and ?set-cookie=NAME=VALUE
// sets that cookie.
func IdentityHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		if ck := r.URL.Query().Get("set-cookie"); ck != "" {
			w.Header().Add("Set-Cookie", ck) // a member's own cookie, for cookie persistence
		}
		w.Header().Set("X-Server", name)
		w.Header().Set("Content-Type", "text/plain")
		if v := r.Header.Values("X-Client"); len(v) > 0 {
			// What a policy's or profile's header edit left: echoed back.
			w.Header()["X-Seen-Client"] = v
		}
		fmt.Fprintf(w, "server=%s addr=%v peer=%s\n", name, local, r.RemoteAddr)
	})
}

// ServeHTTP serves IdentityHandler(name) on the host's TCP port until the
// Server is closed. The port accepts connections when it returns.
func (h *Host) ServeHTTP(port uint16, name string) (*Server, error) {
	ln, err := h.ListenTCP(port)
	if err != nil {
		return nil, err
	}
	s := &Server{
		srv:  &http.Server{Handler: IdentityHandler(name), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelDebug)},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops listening at once and closes every connection; new
// connections are refused (RST) from when it returns, and the server's
// goroutines have ended.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}

// ServerName returns the NAME of an identity answer ("server=NAME ..."),
// or "".
func ServerName(body string) string {
	var name string
	if _, err := fmt.Sscanf(body, "server=%s", &name); err != nil {
		return ""
	}
	return name
}

// UDPEcho is a UDP echo server on a Host.
type UDPEcho struct {
	pc   net.PacketConn
	done chan struct{}
}

// ServeUDPEcho answers every datagram on the host's UDP port with "NAME "
// and the datagram, as the testbed's emulated servers do, until Close.
func (h *Host) ServeUDPEcho(port uint16, name string) (*UDPEcho, error) {
	pc, err := h.ListenUDP(port)
	if err != nil {
		return nil, err
	}
	e := &UDPEcho{pc: pc, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		buf := make([]byte, 65536)
		for {
			n, peer, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			if _, err := pc.WriteTo(fmt.Appendf(nil, "%s %s", name, buf[:n]), peer); err != nil {
				h.log.Debug("porttest: udp echo", "host", h.name, "peer", peer, "err", err)
			}
		}
	}()
	return e, nil
}

// Close stops the echo server and waits for its goroutine.
func (e *UDPEcho) Close() error {
	err := e.pc.Close()
	<-e.done
	return err
}
