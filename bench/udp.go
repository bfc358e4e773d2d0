package main

// The UDP workload's two ends run as this same executable in the
// testbed's namespaces (argv[1] names the role, see roleMain): a sender in
// the client namespace and a counting sink in each server namespace.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// udpPayload is the datagram size the sender sends: 14 (Ethernet) + 20
// (IPv4) + 8 (UDP) + 18 + 4 (FCS) = a 64-byte frame on the wire.
const udpPayload = 18

// roleMain runs a helper role if argv[1] names one, and reports whether
// it did.
func roleMain(args []string) (bool, error) {
	if len(args) < 2 {
		return false, nil
	}
	switch args[1] {
	case "udp-sink":
		return true, udpSink(args[2:], os.Stdin, os.Stdout)
	case "udp-send":
		return true, udpSend(args[2:], os.Stdin, os.Stdout)
	}
	return false, nil
}

// udpSink counts the datagrams arriving on -listen until its standard
// input ends, then prints "received N". It prints "ready" once bound.
func udpSink(args []string, stdin io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("udp-sink", flag.ContinueOnError)
	listen := fs.String("listen", fmt.Sprintf(":%d", udpPort), "address to count datagrams on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp4", *listen)
	if err != nil {
		return err
	}
	if uc, ok := pc.(*net.UDPConn); ok {
		uc.SetReadBuffer(4 << 20)
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 2 { // two readers on one socket: the sink must not be the bottleneck
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 2048)
			for {
				if _, _, err := pc.ReadFrom(buf); err != nil {
					return
				}
				n.Add(1)
			}
		}()
	}
	fmt.Fprintln(out, "ready")
	io.Copy(io.Discard, stdin)
	pc.Close()
	wg.Wait()
	fmt.Fprintf(out, "received %d\n", n.Load())
	return nil
}

// udpSend sends udpPayload-byte datagrams to -to from -flows sockets (one
// source port, so one flow, each) for -for, as fast as it can or at -pps
// in all, then prints "sent N". Send errors (a full socket buffer, an
// ICMP error) are not counted as sent.
func udpSend(args []string, stdin io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("udp-send", flag.ContinueOnError)
	to := fs.String("to", "", "destination ADDR:PORT")
	flows := fs.Int("flows", 6, "sockets, each its own source port")
	dur := fs.Duration("for", 5*time.Second, "how long to send; 0: until standard input ends")
	pps := fs.Int("pps", 0, "datagrams per second in all; 0: as fast as possible")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" || *flows < 1 {
		return errors.New("udp-send: want -to ADDR:PORT and -flows >= 1")
	}
	var sent atomic.Int64
	var seq atomic.Uint64
	var done atomic.Bool
	if *dur > 0 {
		t := time.AfterFunc(*dur, func() { done.Store(true) })
		defer t.Stop()
	} else {
		go func() { io.Copy(io.Discard, stdin); done.Store(true) }()
	}
	var wg sync.WaitGroup
	for range *flows {
		conn, err := net.Dial("udp4", *to)
		if err != nil {
			return err
		}
		defer conn.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, udpPayload)
			var n int64
			perMs := float64(*pps) / float64(*flows) / 1000
			start := time.Now()
			for i := 0; ; i++ {
				if i%64 == 0 && done.Load() {
					break
				}
				if *pps > 0 {
					// Pace: never ahead of the schedule.
					due := time.Duration(float64(n) / perMs * float64(time.Millisecond))
					if d := due - time.Since(start); d > 0 {
						time.Sleep(d)
					}
				}
				binary.BigEndian.PutUint64(buf, seq.Add(1))
				if _, err := conn.Write(buf); err == nil {
					n++
				}
			}
			sent.Add(n)
		}()
	}
	wg.Wait()
	fmt.Fprintf(out, "sent %d\n", sent.Load())
	return nil
}

// parseCount reads the "WORD N" line a role prints last.
func parseCount(out, word string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == word {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %q line in %q", word, out)
}

// parseSnmpUDP reads /proc/net/snmp's two "Udp:" lines (names, then
// values) and returns InDatagrams + RcvbufErrors.
func parseSnmpUDP(text string) (int64, error) {
	var names []string
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f[1:]
			continue
		}
		var sum int64
		found := 0
		for i, n := range names {
			if (n == "InDatagrams" || n == "RcvbufErrors") && i+1 < len(f) {
				v, err := strconv.ParseInt(f[i+1], 10, 64)
				if err != nil {
					return 0, fmt.Errorf("snmp: Udp %s %q: %w", n, f[i+1], err)
				}
				sum += v
				found++
			}
		}
		if found != 2 {
			return 0, errors.New("snmp: Udp lacks InDatagrams or RcvbufErrors")
		}
		return sum, nil
	}
	return 0, errors.New("snmp: no Udp lines")
}
