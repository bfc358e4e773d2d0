//go:build unix

package monitors

import (
	"os/exec"
	"syscall"
)

// killGroupOnCancel runs the program in its own process group and kills the
// whole group when the probe's context ends, so children a script started
// (curl, sleep...) die with it.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
