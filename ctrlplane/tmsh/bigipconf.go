package tmsh

import (
	"lbx/ctrlplane/config"
	"lbx/ctrlplane/tmsh/conf"
)

// The bigip.conf language is package conf; these are its names as tmsh
// has always offered them, for the store's wiring and the tests.

// Codec is the bigip.conf format the store saves in (conf.Codec).
type Codec = conf.Codec

// Text prints a configuration as bigip.conf (conf.Text).
func Text(c *config.Config) string { return conf.Text(c) }

// ParseConfig reads bigip.conf text into a configuration (conf.ParseConfig).
func ParseConfig(text string) (*config.Config, error) { return conf.ParseConfig(text) }

// FilestoreFor is where a Codec keeps the keys of a configuration saved
// at savedPath (conf.FilestoreFor).
func FilestoreFor(savedPath string) string { return conf.FilestoreFor(savedPath) }
