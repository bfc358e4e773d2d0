// Package atomicfile replaces a file so that a crash leaves either the old
// contents or the new, never a mix: the saved configuration (package
// ctrlplane/store) and config sync's device identity and state (package
// ha/cfgsync) are written through it. It starts no goroutine.
package atomicfile
