// Package filexfer is iControl REST's file transfer for the REST server
// (package rest): the upload directory that POST
// /mgmt/shared/file-transfer/uploads/NAME writes in chunks (Content-Range
// start-end/total, as Ansible's f5_modules and go-bigip send them), which
// a sys file's sourcePath file:/var/config/rest/downloads/NAME names, and
// /mgmt/tm/util/unix-rm of such a file; and the JSON of sys file objects
// (Render: keys hidden). It serializes writes with one mutex and starts
// no goroutine.
package filexfer
