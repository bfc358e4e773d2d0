package conf

import "lbx/ctrlplane/config"

// Codec reads and writes bigip.conf for the store.
type Codec struct{}

// Parse reads bigip.conf text, with the line each object is defined at.
func (Codec) Parse(text string) (*config.Config, map[string]int, error) { return parseConfig(text) }

// Format prints a configuration as bigip.conf.
func (Codec) Format(c *config.Config) string { return Text(c) }
