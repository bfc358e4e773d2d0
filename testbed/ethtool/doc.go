// Package ethtool changes a network device's offloads (the SIOCETHTOOL
// ioctl, as ethtool -K does) and writes its sysfs files, each inside a
// named network namespace. The testbed uses it to set up the veth pairs
// of its switch: transmit checksum offload for the TAP offload tests, and
// TSO, GRO and threaded NAPI on AF_XDP ports' pairs (VethGRO).
package ethtool
