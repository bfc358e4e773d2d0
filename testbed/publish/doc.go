// Package publish is the testbed's relay of the appliances' management
// listeners (SSH, HTTPS) from the host's loopback into the switch
// namespace, as a container runtime publishes a port (`lbx testbed
// publish`). See testbed's publish.go for why.
//
// Goroutines: Publish runs an accept loop per listener and two copies per
// connection, and returns when all have ended, after its context does.
package publish
