package store

import (
	"errors"
	"fmt"
	"io/fs"

	"lbx/ctrlplane/config"
)

// SavedPath is where a save writes and Boot reads; "" when none is
// configured.
func (s *Store) SavedPath() string { return s.savedPath }

// Saved reads and parses the saved configuration file, with defaults
// applied, without changing anything: what Boot would load (Alteon's
// "flash"), before the boot config's self IPs are merged in. A missing file is an empty configuration, as Boot takes it.
func (s *Store) Saved() (*config.Config, error) {
	if s.savedPath == "" {
		return nil, errors.New("saved config: no saved config path is configured")
	}
	data, err := ReadConfigFile(s.savedPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return config.NewConfig(), nil
	case err != nil:
		return nil, fmt.Errorf("saved config: %w", err)
	}
	c, _, err := s.codec.Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("saved config %s: %w", s.savedPath, err)
	}
	c.ApplyDefaults()
	return c, nil
}
