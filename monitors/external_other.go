//go:build !unix

package monitors

import "os/exec"

// killGroupOnCancel: without process groups, only the program is killed.
func killGroupOnCancel(*exec.Cmd) {}
