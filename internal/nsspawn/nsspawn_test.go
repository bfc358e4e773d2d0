package nsspawn

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// TestPdeathsigSurvivesRetiredThreads starts a child with a parent-death
// signal, then makes the runtime retire many threads (goroutines that end
// locked to theirs); the child must still be running. Started from a
// pooled thread instead, it would be killed as soon as its thread retired.
func TestPdeathsigSurvivesRetiredThreads(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := Start("", cmd); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })

	for range 64 {
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread() // never unlocked: the thread is retired
			close(done)
		}()
		<-done
	}
	select {
	case err := <-exited:
		t.Fatalf("the child died when unrelated threads retired: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("child not running: %v", err)
	}
}

// TestStartInNamespace: a child started in a named namespace is in it.
func TestStartInNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	const name = "lbx-nsspawn-test"
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	h, err := netns.NewNamed(name)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	h.Close()
	if err := netns.Set(orig); err != nil {
		t.Fatal(err) // the thread stays locked and retires with the test
	}
	orig.Close()
	runtime.UnlockOSThread()
	t.Cleanup(func() { netns.DeleteNamed(name) })

	readlink := func(ns string) string {
		t.Helper()
		cmd := exec.Command("readlink", "/proc/self/ns/net")
		var out strings.Builder
		cmd.Stdout = &out
		if err := Start(ns, cmd); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out.String())
	}
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	in := readlink(name)
	if in == self {
		t.Fatalf("started in %s, still in this process's namespace %s", name, self)
	}
	// Back in the process's own namespace for "", whatever the thread
	// entered last.
	if got := readlink(""); got != self {
		t.Fatalf(`Start(""): child in %s, want %s`, got, self)
	}
	if err := Start("lbx-nsspawn-missing", exec.Command("true")); err == nil || !strings.Contains(err.Error(), "lbx-nsspawn-missing") {
		t.Fatalf("missing namespace: %v, want an error naming it", err)
	}
}
