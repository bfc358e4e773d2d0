package main

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	Requests int64         // completed requests
	Duration time.Duration // as wrk measured it
	RPS      float64       // "Requests/sec:"
	P50, P99 time.Duration // from --latency's distribution
	// SocketErrors is the sum of wrk's connect, read, write and timeout
	// errors; Non2xx counts answers with another status.
	SocketErrors int64
	Non2xx       int64
}

// parseWrk reads the text wrk 4.x prints with --latency:
//
//	Latency Distribution
//	   50%  410.00us
//	   99%    2.13ms
//	  51234 requests in 5.00s, 8.12MB read
//	  Socket errors: connect 0, read 3, write 0, timeout 0
//	  Non-2xx or 3xx responses: 2
//	Requests/sec:  10246.80
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveRPS, haveReq, have50, have99 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("wrk: requests/sec %q: %w", f[1], err)
			}
			r.RPS, haveRPS = v, true
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk: requests %q: %w", f[0], err)
			}
			d, err := parseWrkDuration(strings.TrimSuffix(f[3], ","))
			if err != nil {
				return r, err
			}
			r.Requests, r.Duration, haveReq = n, d, true
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return r, err
			}
			if f[0] == "50%" {
				r.P50, have50 = d, true
			} else {
				r.P99, have99 = d, true
			}
		case strings.HasPrefix(line, "Socket errors:"):
			// connect N, read N, write N, timeout N
			for _, part := range strings.Split(strings.TrimPrefix(line, "Socket errors:"), ",") {
				kv := strings.Fields(part)
				if len(kv) != 2 {
					return r, fmt.Errorf("wrk: socket errors %q", line)
				}
				n, err := strconv.ParseInt(kv[1], 10, 64)
				if err != nil {
					return r, fmt.Errorf("wrk: socket errors %q: %w", line, err)
				}
				r.SocketErrors += n
			}
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "Non-2xx or 3xx responses:")), 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk: non-2xx %q: %w", line, err)
			}
			r.Non2xx = n
		}
	}
	var missing []string
	for _, m := range []struct {
		ok   bool
		name string
	}{{haveRPS, "Requests/sec"}, {haveReq, "requests in"}, {have50, "50% latency"}, {have99, "99% latency"}} {
		if !m.ok {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return r, fmt.Errorf("wrk: output lacks %s (was --latency given?)", strings.Join(missing, ", "))
	}
	return r, nil
}

// parseWrkDuration reads wrk's time format: a number with one of the units
// us, ms, s, m, h (wrk's units.c).
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		d      time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || v < 0 {
			break
		}
		return time.Duration(v * float64(u.d)), nil
	}
	return 0, errors.New("wrk: bad duration " + strconv.Quote(s))
}
