package main

import (
	"fmt"
	"log/slog"
	"syscall"
)

// raiseFDLimit raises the soft limit on open files to the hard limit, so
// that a client holding connections runs the control socket out of its
// cap (which refuses the extra ones) long before the process runs out of
// descriptors. The Go runtime does the same at start since Go 1.19; this
// makes it explicit and says in the log what the appliance runs with.
func raiseFDLimit(logger *slog.Logger) (syscall.Rlimit, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return r, fmt.Errorf("open files limit: %w", err)
	}
	if r.Cur >= r.Max {
		logger.Info("open files limit", "soft", r.Cur, "hard", r.Max)
		return r, nil
	}
	was := r.Cur
	r.Cur = r.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		r.Cur = was
		logger.Warn("open files limit: cannot raise the soft limit to the hard one", "soft", was, "hard", r.Max, "err", err)
		return r, fmt.Errorf("open files limit: raise %d to %d: %w", was, r.Max, err)
	}
	logger.Info("open files limit raised", "soft", r.Cur, "was", was, "hard", r.Max)
	return r, nil
}
