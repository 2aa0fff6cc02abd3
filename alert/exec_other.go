//go:build !unix

package alert

import "os/exec"

// killGroupOnCancel leaves exec.CommandContext's default: the process
// itself is killed when its context is done.
func killGroupOnCancel(*exec.Cmd) {}
